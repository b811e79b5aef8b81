/* Tests for p2p:// URIs and ICE server settings.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

static guint8 key[SWARM_PUBLIC_KEY_LEN];
static gchar *sid;              /* swarm id of key */

static void
setup (void)
{
  for (guint i = 0; i < SWARM_PUBLIC_KEY_LEN; i++)
    key[i] = (guint8) (i * 37 + 11);
  sid = swarm_id_encode (key);
}

static void
teardown (void)
{
  g_clear_pointer (&sid, g_free);
}

static SwarmUri *
parse_ok (const gchar * text)
{
  GError *err = NULL;
  SwarmUri *uri = swarm_uri_parse (text, &err);

  fail_unless (uri != NULL, "%s: %s", text, err ? err->message : "");
  return uri;
}

/* Returns the error message for the caller to inspect. */
static gchar *
parse_fails (const gchar * text, gint code)
{
  GError *err = NULL;
  SwarmUri *uri = swarm_uri_parse (text, &err);
  gchar *msg;

  fail_unless (uri == NULL, "accepted %s", text);
  fail_unless (g_error_matches (err, SWARM_URI_ERROR, code),
      "%s: expected code %d, got %s", text, code, err ? err->message : "-");
  msg = g_strdup (err->message);
  GST_INFO ("expected error: %s", msg);
  g_error_free (err);
  return msg;
}

static void
assert_fails_quoting (const gchar * text, gint code, const gchar * needle)
{
  gchar *msg = parse_fails (text, code);

  fail_unless (strstr (msg, needle) != NULL, "“%s” not in: %s", needle, msg);
  g_free (msg);
}

GST_START_TEST (test_parse_basic)
{
  gchar *text = g_strdup_printf ("p2p://tracker.example.org:8000/%s", sid);
  SwarmUri *uri = parse_ok (text);
  gchar *s;

  fail_unless_equals_string (uri->host, "tracker.example.org");
  fail_unless_equals_int (uri->port, 8000);
  fail_unless_equals_string (uri->swarm_id, sid);
  fail_unless_equals_int (memcmp (uri->swarm_key, key, sizeof (key)), 0);
  fail_unless (uri->stun_server == NULL);
  fail_unless (uri->turn_server == NULL);

  s = swarm_uri_to_string (uri);
  fail_unless_equals_string (s, text);
  g_free (s);
  s = swarm_uri_get_tracker_url (uri);
  fail_unless_equals_string (s, "ws://tracker.example.org:8000/announce");
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);

  /* upper-case swarm id is accepted and made canonical */
  {
    gchar *upper = g_ascii_strup (sid, -1);

    text = g_strdup_printf ("P2P://127.0.0.1:1/%s", upper);
    uri = parse_ok (text);
    fail_unless_equals_string (uri->host, "127.0.0.1");
    fail_unless_equals_int (uri->port, 1);
    fail_unless_equals_string (uri->swarm_id, sid);
    g_free (upper);
    g_free (text);
    swarm_uri_free (uri);
  }

  text = g_strdup_printf ("p2p://h:65535/%s", sid);
  uri = parse_ok (text);
  fail_unless_equals_int (uri->port, 65535);
  swarm_uri_free (uri);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_parse_ipv6)
{
  gchar *text = g_strdup_printf ("p2p://[2001:db8::1]:9000/%s", sid);
  SwarmUri *uri = parse_ok (text);
  gchar *s;

  fail_unless_equals_string (uri->host, "2001:db8::1");
  fail_unless_equals_int (uri->port, 9000);
  s = swarm_uri_to_string (uri);
  fail_unless_equals_string (s, text);
  g_free (s);
  s = swarm_uri_get_tracker_url (uri);
  fail_unless_equals_string (s, "ws://[2001:db8::1]:9000/announce");
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);

  text = g_strdup_printf ("p2p://[::1]:80/%s", sid);
  uri = parse_ok (text);
  fail_unless_equals_string (uri->host, "::1");
  swarm_uri_free (uri);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_parse_params)
{
  /* Query values are percent-decoded once; the TURN credentials inside
   * are percent-encoded again, so they arrive here double-encoded. */
  gchar *text = g_strdup_printf ("p2p://example.org:8000/%s"
      "?stun-server=stun%%3A%%2F%%2Fstun.example.org%%3A19302"
      "&turn-server=turn://al%%2540ice:p%%2526ss%%253Dw@turn.example.org:3479"
      "%%3Ftransport%%3Dtcp", sid);
  SwarmUri *uri = parse_ok (text), *again;
  SwarmIceServer *turn;
  gchar *s;

  fail_unless_equals_string (uri->stun_server,
      "stun://stun.example.org:19302");
  fail_unless (g_str_equal (uri->turn_server,
          "turn://al%40ice:p%26ss%3Dw@turn.example.org:3479?transport=tcp"));
  turn = swarm_ice_server_parse (uri->turn_server, TRUE, NULL);
  fail_unless (turn != NULL);
  fail_unless_equals_string (turn->username, "al@ice");
  fail_unless_equals_string (turn->password, "p&ss=w");
  fail_unless_equals_string (turn->host, "turn.example.org");
  fail_unless_equals_int (turn->port, 3479);
  fail_unless (turn->tcp);
  swarm_ice_server_free (turn);

  /* to_string escapes what must be escaped (but not ':' '/' '@'), and
   * parses back the same */
  s = swarm_uri_to_string (uri);
  g_free (text);
  text = g_strdup_printf ("p2p://example.org:8000/%s"
      "?stun-server=stun://stun.example.org:19302"
      "&turn-server=turn://al%%2540ice:p%%2526ss%%253Dw@turn.example.org:3479"
      "%%3Ftransport%%3Dtcp", sid);
  fail_unless (g_str_equal (s, text), "%s", s);
  again = parse_ok (s);
  fail_unless_equals_string (again->host, uri->host);
  fail_unless_equals_int (again->port, uri->port);
  fail_unless_equals_string (again->swarm_id, uri->swarm_id);
  fail_unless_equals_string (again->stun_server, uri->stun_server);
  fail_unless (g_str_equal (again->turn_server, uri->turn_server));
  swarm_uri_free (again);
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);

  /* an '&' or '=' inside a value survives to_string and back */
  text = g_strdup_printf ("p2p://h:1/%s?turn-server=turn://u:a%%26b%%3Dc@h",
      sid);
  uri = parse_ok (text);
  fail_unless_equals_string (uri->turn_server, "turn://u:a&b=c@h");
  s = swarm_uri_to_string (uri);
  fail_unless (g_str_equal (s, text), "%s", s);
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);

  /* one parameter, trailing '&' tolerated */
  text = g_strdup_printf ("p2p://h:1/%s?turn-server=turn://u:p@h&", sid);
  uri = parse_ok (text);
  fail_unless (uri->stun_server == NULL);
  fail_unless_equals_string (uri->turn_server, "turn://u:p@h");
  s = swarm_uri_to_string (uri);
  fail_unless (g_str_has_suffix (s, "?turn-server=turn://u:p@h"), "%s", s);
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_parse_errors)
{
  gchar *t;

  /* scheme */
  assert_fails_quoting ("http://h:1/x", SWARM_URI_ERROR_SCHEME,
      "http://h:1/x");
  g_free (parse_fails ("", SWARM_URI_ERROR_SCHEME));
  g_free (parse_fails ("p2p:/h:1/x", SWARM_URI_ERROR_SCHEME));

  /* host */
#define FAILS(fmt, code, needle) G_STMT_START { \
    t = g_strdup_printf (fmt, sid); \
    assert_fails_quoting (t, code, needle); \
    g_free (t); } G_STMT_END
  FAILS ("p2p://:8000/%s", SWARM_URI_ERROR_HOST, "p2p://:8000/");
  FAILS ("p2p://bad host:8000/%s", SWARM_URI_ERROR_HOST, "bad host");
  FAILS ("p2p://[::1:8000/%s", SWARM_URI_ERROR_HOST, "[::1:8000");
  FAILS ("p2p://[not-v6]:8000/%s", SWARM_URI_ERROR_HOST, "not-v6");
  FAILS ("p2p://[1.2.3.4]:8000/%s", SWARM_URI_ERROR_HOST, "1.2.3.4");
  FAILS ("p2p://::1:8000/%s", SWARM_URI_ERROR_HOST, "::1:8000");

  /* port */
  FAILS ("p2p://h/%s", SWARM_URI_ERROR_PORT, "p2p://h/");
  FAILS ("p2p://h:/%s", SWARM_URI_ERROR_PORT, "p2p://h:/");
  FAILS ("p2p://h:0/%s", SWARM_URI_ERROR_PORT, "“0”");
  FAILS ("p2p://h:65536/%s", SWARM_URI_ERROR_PORT, "65536");
  FAILS ("p2p://h:123456/%s", SWARM_URI_ERROR_PORT, "123456");
  FAILS ("p2p://h:8o/%s", SWARM_URI_ERROR_PORT, "8o");
  FAILS ("p2p://h:-1/%s", SWARM_URI_ERROR_PORT, "-1");
  FAILS ("p2p://[::1]/%s", SWARM_URI_ERROR_PORT, "[::1]");
  FAILS ("p2p://[::1]x:1/%s", SWARM_URI_ERROR_PORT, "[::1]x");

  /* swarm id */
  g_free (parse_fails ("p2p://h:1", SWARM_URI_ERROR_SWARM_ID));
  g_free (parse_fails ("p2p://h:1/", SWARM_URI_ERROR_SWARM_ID));
  g_free (parse_fails ("p2p://h:1/?stun-server=stun://s", SWARM_URI_ERROR_SWARM_ID));
  assert_fails_quoting ("p2p://h:1/notaswarmid", SWARM_URI_ERROR_SWARM_ID,
      "notaswarmid");
  FAILS ("p2p://h:1/%s/", SWARM_URI_ERROR_SWARM_ID, "/”");
  FAILS ("p2p://h:1/%s#frag", SWARM_URI_ERROR_SWARM_ID, "#frag");
  FAILS ("p2p://h:1/x/%s", SWARM_URI_ERROR_SWARM_ID, "x/");

  /* parameters */
  FAILS ("p2p://h:1/%s?bogus=1", SWARM_URI_ERROR_PARAMETER, "“bogus”");
  FAILS ("p2p://h:1/%s?stun-server", SWARM_URI_ERROR_PARAMETER,
      "stun-server");
  FAILS ("p2p://h:1/%s?stun-server=", SWARM_URI_ERROR_PARAMETER,
      "stun-server");
  FAILS ("p2p://h:1/%s?stun-server=stun://a&stun-server=stun://b",
      SWARM_URI_ERROR_PARAMETER, "more than once");
  FAILS ("p2p://h:1/%s?stun-server=stun%%zz", SWARM_URI_ERROR_PARAMETER,
      "stun%zz");
  FAILS ("p2p://h:1/%s?stun-server=http://s:1", SWARM_URI_ERROR_SCHEME,
      "http://s:1");
  FAILS ("p2p://h:1/%s?stun-server=stun://s:99999", SWARM_URI_ERROR_PORT,
      "99999");
  FAILS ("p2p://h:1/%s?turn-server=turn://nocreds:1",
      SWARM_URI_ERROR_PARAMETER, "turn-server");
#undef FAILS
}

GST_END_TEST;

GST_START_TEST (test_errors_hide_turn_password)
{
  gchar *t = g_strdup_printf ("p2p://h:1/%s?turn-server=turn://u:"
      "s3cret@h:0", sid);
  gchar *msg = parse_fails (t, SWARM_URI_ERROR_PORT);

  fail_unless (strstr (msg, "s3cret") == NULL, "%s", msg);
  fail_unless (strstr (msg, "turn://u:***@h:0") != NULL, "%s", msg);
  g_free (msg);
  g_free (t);

  t = g_strdup_printf ("p2p://h:99999/%s?turn-server=turn://u:s3cret@h", sid);
  msg = parse_fails (t, SWARM_URI_ERROR_PORT);
  fail_unless (strstr (msg, "s3cret") == NULL, "%s", msg);
  g_free (msg);
  g_free (t);
}

GST_END_TEST;

/* secret=: parsed, percent-decoded, round-tripped by to_string, left out of
 * to_public_string and never echoed in errors. */
GST_START_TEST (test_secret_param)
{
  gchar *t = g_strdup_printf ("p2p://h:1/%s?stun-server=stun://s:1"
      "&secret=two%%20words%%26more", sid);
  SwarmUri *uri = parse_ok (t);
  gchar *full, *shown, *msg;
  SwarmUri *again;

  fail_unless_equals_string (uri->secret, "two words&more");
  full = swarm_uri_to_string (uri);
  again = parse_ok (full);
  fail_unless_equals_string (again->secret, "two words&more");
  shown = swarm_uri_to_public_string (uri);
  fail_if (strstr (shown, "secret"), "%s", shown);
  fail_if (strstr (shown, "two"), "%s", shown);
  fail_unless (strstr (shown, "stun-server=stun://s:1") != NULL, "%s", shown);
  swarm_uri_free (again);
  again = parse_ok (shown);
  fail_unless (again->secret == NULL);
  swarm_uri_free (again);
  g_free (full);
  g_free (shown);
  swarm_uri_free (uri);
  g_free (t);

  /* twice, empty, badly encoded, too long: refused without the value */
  t = g_strdup_printf ("p2p://h:1/%s?secret=a1b2&secret=c3d4", sid);
  msg = parse_fails (t, SWARM_URI_ERROR_PARAMETER);
  fail_if (strstr (msg, "a1b2") || strstr (msg, "c3d4"), "%s", msg);
  g_free (msg);
  g_free (t);
  t = g_strdup_printf ("p2p://h:1/%s?secret=", sid);
  g_free (parse_fails (t, SWARM_URI_ERROR_PARAMETER));
  g_free (t);
  t = g_strdup_printf ("p2p://h:1/%s?secret=s3cr%%zz", sid);
  msg = parse_fails (t, SWARM_URI_ERROR_PARAMETER);
  fail_if (strstr (msg, "s3cr"), "%s", msg);
  g_free (msg);
  g_free (t);
  {
    gchar *long_secret = g_strnfill (SWARM_URI_MAX_SECRET_LEN + 1, 'q');
    t = g_strdup_printf ("p2p://h:1/%s?secret=%s", sid, long_secret);
    msg = parse_fails (t, SWARM_URI_ERROR_PARAMETER);
    fail_if (strstr (msg, "qqqq"), "%s", msg);
    g_free (msg);
    g_free (t);
    g_free (long_secret);
  }
}

GST_END_TEST;

static SwarmIceServer *
ice_ok (const gchar * text, gboolean turn)
{
  GError *err = NULL;
  SwarmIceServer *s = swarm_ice_server_parse (text, turn, &err);

  fail_unless (s != NULL, "%s: %s", text, err ? err->message : "");
  return s;
}

static void
ice_fails (const gchar * text, gboolean turn, gint code, const gchar * needle)
{
  GError *err = NULL;
  SwarmIceServer *s = swarm_ice_server_parse (text, turn, &err);

  fail_unless (s == NULL, "accepted %s", text);
  fail_unless (g_error_matches (err, SWARM_URI_ERROR, code),
      "%s: expected code %d, got %s", text, code, err ? err->message : "-");
  if (needle)
    fail_unless (strstr (err->message, needle) != NULL, "%s", err->message);
  GST_INFO ("expected error: %s", err->message);
  g_error_free (err);
}

GST_START_TEST (test_ice_servers)
{
  SwarmIceServer *s;

  s = ice_ok ("stun://stun.l.google.com:19302", FALSE);
  fail_unless_equals_string (s->host, "stun.l.google.com");
  fail_unless_equals_int (s->port, 19302);
  fail_unless (s->username == NULL && s->password == NULL);
  fail_if (s->tcp);
  swarm_ice_server_free (s);

  s = ice_ok ("stun://10.0.0.1", FALSE);
  fail_unless_equals_string (s->host, "10.0.0.1");
  fail_unless_equals_int (s->port, 3478);
  swarm_ice_server_free (s);

  s = ice_ok ("stun://[fe80::2]:5000", FALSE);
  fail_unless_equals_string (s->host, "fe80::2");
  fail_unless_equals_int (s->port, 5000);
  swarm_ice_server_free (s);

  s = ice_ok ("turn://alice:wonder%40land@turn.example.org", TRUE);
  fail_unless_equals_string (s->host, "turn.example.org");
  fail_unless_equals_int (s->port, 3478);
  fail_unless_equals_string (s->username, "alice");
  fail_unless_equals_string (s->password, "wonder@land");
  fail_if (s->tcp);
  swarm_ice_server_free (s);

  s = ice_ok ("turn://a%20b:c:d@[::1]:443?transport=tcp", TRUE);
  fail_unless_equals_string (s->host, "::1");
  fail_unless_equals_int (s->port, 443);
  fail_unless_equals_string (s->username, "a b");
  fail_unless_equals_string (s->password, "c:d");
  fail_unless (s->tcp);
  swarm_ice_server_free (s);

  s = ice_ok ("turn://u:p@h:1?transport=udp", TRUE);
  fail_if (s->tcp);
  swarm_ice_server_free (s);

  /* errors */
  ice_fails ("turn://u:p@h", FALSE, SWARM_URI_ERROR_SCHEME, "turn://u:***@h");
  ice_fails ("stun://h", TRUE, SWARM_URI_ERROR_SCHEME, "stun://h");
  ice_fails ("stun:h:1", FALSE, SWARM_URI_ERROR_SCHEME, "stun:h:1");
  ice_fails ("stun://u@h", FALSE, SWARM_URI_ERROR_HOST, "stun://u@h");
  ice_fails ("stun://h?transport=tcp", FALSE, SWARM_URI_ERROR_PARAMETER,
      NULL);
  ice_fails ("stun://h/path", FALSE, SWARM_URI_ERROR_HOST, "stun://h/path");
  ice_fails ("stun://", FALSE, SWARM_URI_ERROR_HOST, NULL);
  ice_fails ("stun://h:0", FALSE, SWARM_URI_ERROR_PORT, "“0”");
  ice_fails ("stun://h:x", FALSE, SWARM_URI_ERROR_PORT, "“x”");
  ice_fails ("turn://h:1", TRUE, SWARM_URI_ERROR_PARAMETER, "turn://h:1");
  ice_fails ("turn://user@h:1", TRUE, SWARM_URI_ERROR_PARAMETER, NULL);
  ice_fails ("turn://:p@h:1", TRUE, SWARM_URI_ERROR_PARAMETER, NULL);
  ice_fails ("turn://u:@h:1", TRUE, SWARM_URI_ERROR_PARAMETER, NULL);
  ice_fails ("turn://u%zz:p@h:1", TRUE, SWARM_URI_ERROR_PARAMETER, NULL);
  ice_fails ("turn://u:p@h:1?transport=sctp", TRUE,
      SWARM_URI_ERROR_PARAMETER, "transport=sctp");
  ice_fails ("turn://u:p@:1", TRUE, SWARM_URI_ERROR_HOST, NULL);
  /* the password never shows up in an error */
  ice_fails ("turn://u:hunter2@h:77777", TRUE, SWARM_URI_ERROR_PORT,
      "turn://u:***@h:77777");
}

GST_END_TEST;

static void
assert_strv (gchar ** got, const gchar * const *want)
{
  guint i;

  for (i = 0; want[i]; i++) {
    fail_unless (got[i] != NULL, "missing “%s”", want[i]);
    fail_unless_equals_string (got[i], want[i]);
  }
  fail_unless (got[i] == NULL, "unexpected “%s”", got[i]);
}

GST_START_TEST (test_tracker_param)
{
  gchar *text, *s;
  gchar **urls;
  SwarmUri *uri, *again;

  /* HOST:PORT plus two more trackers, one repeated parameter and one
   * comma-separated; the default tracker named again is listed once */
  text = g_strdup_printf ("p2p://127.0.0.1:8000/%s"
      "?tracker=ws://127.0.0.1:9000/announce"
      "&tracker=wss%%3A%%2F%%2Ftracker.example.org%%2Fws%%3Fa%%3Db,"
      "ws://127.0.0.1:8000/announce&stun-server=stun://s:1", sid);
  uri = parse_ok (text);
  fail_unless_equals_string (uri->host, "127.0.0.1");
  fail_unless_equals_int (uri->port, 8000);
  {
    const gchar *want[] = { "ws://127.0.0.1:9000/announce",
      "wss://tracker.example.org/ws?a=b", "ws://127.0.0.1:8000/announce",
      NULL
    };
    assert_strv (uri->trackers, want);
  }
  urls = swarm_uri_get_tracker_urls (uri);
  {
    const gchar *want[] = { "ws://127.0.0.1:8000/announce",
      "ws://127.0.0.1:9000/announce", "wss://tracker.example.org/ws?a=b",
      NULL
    };
    assert_strv (urls, want);
  }
  g_strfreev (urls);
  s = swarm_uri_get_tracker_url (uri);
  fail_unless_equals_string (s, "ws://127.0.0.1:8000/announce");
  g_free (s);

  /* printed one tracker= each, ':' and '/' readable, the rest escaped */
  s = swarm_uri_to_string (uri);
  g_free (text);
  text = g_strdup_printf ("p2p://127.0.0.1:8000/%s"
      "?tracker=ws://127.0.0.1:9000/announce"
      "&tracker=wss://tracker.example.org/ws%%3Fa%%3Db"
      "&tracker=ws://127.0.0.1:8000/announce&stun-server=stun://s:1", sid);
  fail_unless_equals_string (s, text);
  again = parse_ok (s);
  assert_strv (again->trackers, (const gchar * const *) uri->trackers);
  swarm_uri_free (again);
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);

  /* no authority: the trackers are only in the query */
  text = g_strdup_printf ("p2p:///%s?tracker=wss://t.example.org/", sid);
  uri = parse_ok (text);
  fail_unless (uri->host == NULL);
  fail_unless_equals_int (uri->port, 0);
  s = swarm_uri_get_tracker_url (uri);
  fail_unless_equals_string (s, "wss://t.example.org/");
  g_free (s);
  s = swarm_uri_to_public_string (uri);
  fail_unless_equals_string (s, text);
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);

  /* a ',' inside one URL is escaped, so it stays one URL */
  text = g_strdup_printf ("p2p:///%s?tracker=ws://h:1/a%%2Cb", sid);
  uri = parse_ok (text);
  {
    const gchar *want[] = { "ws://h:1/a,b", NULL };
    assert_strv (uri->trackers, want);
  }
  s = swarm_uri_to_string (uri);
  fail_unless_equals_string (s, text);
  g_free (s);
  swarm_uri_free (uri);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_tracker_param_errors)
{
  gchar *t;
  GString *many;

#define FAILS(fmt, code, needle) G_STMT_START { \
    t = g_strdup_printf (fmt, sid); \
    assert_fails_quoting (t, code, needle); \
    g_free (t); } G_STMT_END
  FAILS ("p2p:///%s", SWARM_URI_ERROR_TRACKER, "names no tracker");
  FAILS ("p2p:///%s?stun-server=stun://s", SWARM_URI_ERROR_TRACKER,
      "names no tracker");
  FAILS ("p2p://h:1/%s?tracker=", SWARM_URI_ERROR_PARAMETER, "tracker");
  FAILS ("p2p://h:1/%s?tracker=http://h:1/announce", SWARM_URI_ERROR_TRACKER,
      "http://h:1/announce");
  FAILS ("p2p://h:1/%s?tracker=h:1", SWARM_URI_ERROR_TRACKER, "“h:1”");
  FAILS ("p2p://h:1/%s?tracker=ws:///announce", SWARM_URI_ERROR_TRACKER,
      "ws:///announce");
  FAILS ("p2p://h:1/%s?tracker=ws://u:pw@h:1/", SWARM_URI_ERROR_TRACKER,
      "ws://u:***@h:1/");
  FAILS ("p2p://h:1/%s?tracker=ws://h:1/%%23frag", SWARM_URI_ERROR_TRACKER,
      "#frag");
  FAILS ("p2p://h:1/%s?tracker=ws%%zz", SWARM_URI_ERROR_TRACKER, "ws%zz");
  FAILS ("p2p:///%s?tracker=ws://h:1/%%00", SWARM_URI_ERROR_TRACKER,
      "%00");
#undef FAILS

  many = g_string_new (NULL);
  g_string_printf (many, "p2p:///%s?", sid);
  for (guint i = 0; i <= SWARM_URI_MAX_TRACKERS; i++)
    g_string_append_printf (many, "tracker=ws://h:%u/&", i + 1);
  g_free (parse_fails (many->str, SWARM_URI_ERROR_TRACKER));
  g_string_free (many, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_uri_for_trackers)
{
  GError *err = NULL;
  SwarmUri *uri, *again;
  gchar *s, *want, **urls;

  /* the common case keeps the short form */
  {
    const gchar *in[] = { "ws://192.0.2.7:8800/announce", NULL };
    uri = swarm_uri_new_for_trackers (key, in, &err);
    fail_unless (uri != NULL);
    s = swarm_uri_to_string (uri);
    want = g_strdup_printf ("p2p://192.0.2.7:8800/%s", sid);
    fail_unless_equals_string (s, want);
    g_free (want);
    g_free (s);
    swarm_uri_free (uri);
  }
  /* default port, IPv6, then others in tracker= */
  {
    const gchar *in[] = { "ws://[::1]/announce", "wss://t.example.org/",
      "ws://h:2/other", NULL
    };
    uri = swarm_uri_new_for_trackers (key, in, &err);
    fail_unless (uri != NULL);
    s = swarm_uri_to_public_string (uri);
    want = g_strdup_printf ("p2p://[::1]:80/%s?tracker=wss://t.example.org/"
        "&tracker=ws://h:2/other", sid);
    fail_unless_equals_string (s, want);
    again = parse_ok (s);
    urls = swarm_uri_get_tracker_urls (again);
    {
      const gchar *out[] = { "ws://[::1]:80/announce", "wss://t.example.org/",
        "ws://h:2/other", NULL
      };
      assert_strv (urls, out);
    }
    g_strfreev (urls);
    swarm_uri_free (again);
    g_free (want);
    g_free (s);
    swarm_uri_free (uri);
  }
  /* a first tracker that does not fit HOST:PORT: empty authority */
  {
    const gchar *in[] = { "ws://h:1/announce?x=1", "ws://h:2/announce", NULL };
    uri = swarm_uri_new_for_trackers (key, in, &err);
    fail_unless (uri != NULL);
    fail_unless (uri->host == NULL);
    s = swarm_uri_to_string (uri);
    want = g_strdup_printf ("p2p:///%s?tracker=ws://h:1/announce%%3Fx%%3D1"
        "&tracker=ws://h:2/announce", sid);
    fail_unless_equals_string (s, want);
    g_free (want);
    g_free (s);
    swarm_uri_free (uri);
  }
  /* refused */
  {
    const gchar *none[] = { NULL };
    const gchar *bad[] = { "ws://h:1/announce", "udp://h:2", NULL };
    fail_unless (swarm_uri_new_for_trackers (key, none, &err) == NULL);
    fail_unless (g_error_matches (err, SWARM_URI_ERROR,
            SWARM_URI_ERROR_TRACKER));
    g_clear_error (&err);
    fail_unless (swarm_uri_new_for_trackers (key, bad, &err) == NULL);
    fail_unless (strstr (err->message, "udp://h:2") != NULL, "%s",
        err->message);
    g_clear_error (&err);
  }
}

GST_END_TEST;

static Suite *
uri_suite (void)
{
  Suite *s = suite_create ("swarm-uri");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_parse_basic);
  tcase_add_test (tc, test_parse_ipv6);
  tcase_add_test (tc, test_parse_params);
  tcase_add_test (tc, test_parse_errors);
  tcase_add_test (tc, test_errors_hide_turn_password);
  tcase_add_test (tc, test_secret_param);
  tcase_add_test (tc, test_ice_servers);
  tcase_add_test (tc, test_tracker_param);
  tcase_add_test (tc, test_tracker_param_errors);
  tcase_add_test (tc, test_uri_for_trackers);
  return s;
}

GST_CHECK_MAIN (uri);

/* Swarms on existing trackers: the npm bittorrent-tracker server, one or
 * several at once, lost and regained mid-stream; and every message we send
 * checked against the limits of aquatic_ws, the other tracker we aim at
 * (docs/tracker-protocol.md).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <swarm/swarm-internal.h>
#include "p2p-test-util.h"
#include "bt-tracker.h"

#define WAIT_MS TEST_MS (40000)

/* ---- aquatic_ws conformance ------------------------------------------ */

typedef struct {
  guint frames;
  guint started;
  guint stopped;
  guint with_offers;            /* announces carrying offers */
  guint offers;
  guint answers;
  guint max_offers;
  gsize max_bytes;
} FrameCounts;

static gboolean
is_ascii_id (JsonObject * o, const gchar * key)
{
  const gchar *v;

  if (!json_object_has_member (o, key)
      || !JSON_NODE_HOLDS_VALUE (json_object_get_member (o, key))
      || json_node_get_value_type (json_object_get_member (o, key)) !=
      G_TYPE_STRING)
    return FALSE;
  v = json_object_get_string_member (o, key);
  if (strlen (v) != SWARM_TRACKER_ID_LEN)
    return FALSE;
  for (const gchar * p = v; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      return FALSE;
  return TRUE;
}

static gboolean
is_whole_number (JsonObject * o, const gchar * key)
{
  JsonNode *n = json_object_get_member (o, key);

  return n && JSON_NODE_HOLDS_VALUE (n)
      && json_node_get_value_type (n) == G_TYPE_INT64
      && json_node_get_int (n) >= 0;
}

/* {"type": @type, "sdp": "..."} and nothing else: aquatic keeps no other
 * field, and browsers' peers expect exactly this. */
static void
check_description (JsonObject * o, const gchar * key, const gchar * type,
    const gchar * text)
{
  JsonNode *n = json_object_get_member (o, key);
  JsonObject *d;

  fail_unless (n && JSON_NODE_HOLDS_OBJECT (n), "%s is not an object: %s",
      key, text);
  d = json_node_get_object (n);
  fail_unless_equals_int (json_object_get_size (d), 2);
  fail_unless_equals_string (json_object_get_string_member_with_default (d,
          "type", ""), type);
  fail_unless (json_object_has_member (d, "sdp")
      && json_node_get_value_type (json_object_get_member (d, "sdp")) ==
      G_TYPE_STRING, "%s without an sdp string: %s", key, text);
}

static void
check_announce (JsonObject * o, const gchar * text, FrameCounts * c)
{
  static const gchar *events[] = { "started", "stopped", "completed",
    "update", NULL
  };
  const gchar *event = NULL;

  fail_unless (is_ascii_id (o, "info_hash"), "info_hash: %s", text);
  fail_unless (is_ascii_id (o, "peer_id"), "peer_id: %s", text);
  /* aquatic reads null as a leecher, bittorrent-tracker as a seeder */
  fail_unless (is_whole_number (o, "left"), "left is not a number: %s", text);
  if (json_object_has_member (o, "numwant"))
    fail_unless (is_whole_number (o, "numwant"), "numwant: %s", text);
  if (json_object_has_member (o, "uploaded"))
    fail_unless (is_whole_number (o, "uploaded"), "uploaded: %s", text);
  if (json_object_has_member (o, "downloaded"))
    fail_unless (is_whole_number (o, "downloaded"), "downloaded: %s", text);
  if (json_object_has_member (o, "event")) {
    event = json_object_get_string_member_with_default (o, "event", "");
    fail_unless (g_strv_contains (events, event), "event “%s”", event);
    c->started += g_str_equal (event, "started");
    c->stopped += g_str_equal (event, "stopped");
  }

  if (json_object_has_member (o, "offers")) {
    JsonNode *n = json_object_get_member (o, "offers");
    JsonArray *a;
    guint len;

    fail_unless (JSON_NODE_HOLDS_ARRAY (n), "offers: %s", text);
    fail_unless (!json_object_has_member (o, "answer"), "offers and answer");
    fail_unless (g_strcmp0 (event, "stopped") != 0, "offers when stopping");
    a = json_node_get_array (n);
    len = json_array_get_length (a);
    fail_unless (len <= SWARM_TRACKER_MAX_OFFERS, "%u offers at once", len);
    for (guint i = 0; i < len; i++) {
      JsonObject *offer = json_array_get_object_element (a, i);

      fail_unless (offer != NULL, "offer %u: %s", i, text);
      fail_unless_equals_int (json_object_get_size (offer), 2);
      fail_unless (is_ascii_id (offer, "offer_id"), "offer_id: %s", text);
      check_description (offer, "offer", "offer", text);
    }
    c->with_offers += len > 0;
    c->offers += len;
    c->max_offers = MAX (c->max_offers, len);
  }
  if (json_object_has_member (o, "answer")) {
    check_description (o, "answer", "answer", text);
    fail_unless (is_ascii_id (o, "to_peer_id"), "to_peer_id: %s", text);
    fail_unless (is_ascii_id (o, "offer_id"), "offer_id: %s", text);
    c->answers++;
  } else {
    fail_unless (!json_object_has_member (o, "to_peer_id")
        && !json_object_has_member (o, "offer_id"), "stray answer field: %s",
        text);
  }
}

/* Checks every line of a bittorrent-tracker --record file. */
static void
check_frames (const gchar * record, FrameCounts * c)
{
  static const gchar *known[] = { "action", "info_hash", "peer_id",
    "numwant", "uploaded", "downloaded", "left", "event", "offers",
    "answer", "to_peer_id", "offer_id", NULL
  };
  gchar *contents = NULL;
  gchar **lines;

  memset (c, 0, sizeof *c);
  fail_unless (g_file_get_contents (record, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    JsonParser *entry_parser, *parser;
    JsonObject *entry, *o;
    const gchar *text, *action;
    GList *members;

    if (*lines[i] == '\0')
      continue;
    entry_parser = json_parser_new ();
    fail_unless (json_parser_load_from_data (entry_parser, lines[i], -1,
            NULL));
    entry = json_node_get_object (json_parser_get_root (entry_parser));
    fail_if (json_object_has_member (entry, "refused"),
        "bittorrent-tracker refused a request: %s",
        json_object_get_string_member (entry, "refused"));
    fail_if (json_object_get_boolean_member (entry, "binary"));
    text = json_object_get_string_member (entry, "text");
    c->frames++;
    c->max_bytes = MAX (c->max_bytes,
        (gsize) json_object_get_int_member (entry, "bytes"));
    /* aquatic_ws: 16 KiB per frame (we send one frame per message) */
    fail_unless (json_object_get_int_member (entry, "bytes") <
        16 * 1024, "a %" G_GINT64_FORMAT "-byte frame",
        json_object_get_int_member (entry, "bytes"));

    parser = json_parser_new ();
    fail_unless (json_parser_load_from_data (parser, text, -1, NULL), "not "
        "JSON: %s", text);
    fail_unless (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
    o = json_node_get_object (json_parser_get_root (parser));
    members = json_object_get_members (o);
    for (GList * m = members; m; m = m->next)
      fail_unless (g_strv_contains (known, m->data), "unknown key “%s”: %s",
          (gchar *) m->data, text);
    g_list_free (members);
    action = json_object_get_string_member_with_default (o, "action", "");
    if (g_str_equal (action, "announce")) {
      check_announce (o, text, c);
    } else {
      fail_unless_equals_string (action, "scrape");
      fail_unless (is_ascii_id (o, "info_hash"), "scrape: %s", text);
    }
    g_object_unref (parser);
    g_object_unref (entry_parser);
  }
  g_strfreev (lines);
  g_free (contents);
  g_print ("%u frames: %u started, %u stopped, %u offers in %u announces "
      "(at most %u), %u answers, largest %" G_GSIZE_FORMAT " bytes\n",
      c->frames, c->started, c->stopped, c->offers, c->with_offers,
      c->max_offers, c->answers, c->max_bytes);
}

static gchar *
temp_record (void)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("p2p-tracker-XXXXXX.jsonl", &path, NULL);

  fail_unless (fd >= 0);
  close (fd);
  return path;
}

/* ---- helpers ---------------------------------------------------------- */

static gchar *
origin_uri_property (TestOrigin * o)
{
  gchar *uri = NULL;

  g_object_get (o->sink, "uri", &uri, NULL);
  return uri;
}

static guint64
viewer_u64 (TestViewer * v, const gchar * field)
{
  GstStructure *s = test_viewer_stats (v);
  guint64 x = test_stat_u64 (s, field);

  gst_structure_free (s);
  return x;
}

static gdouble
viewer_continuity (TestViewer * v)
{
  GstStructure *s = test_viewer_stats (v);
  gdouble x = 0;

  fail_unless (gst_structure_get_double (s, "continuity", &x));
  gst_structure_free (s);
  return x;
}

/* No error on the bus so far (warnings are fine: a tracker went away). */
static void
assert_no_error (GstElement * pipeline, const gchar * who)
{
  GstMessage *msg = test_wait_message (pipeline, GST_MESSAGE_ERROR, NULL, 0);

  if (msg) {
    GError *e = NULL;

    gst_message_parse_error (msg, &e, NULL);
    fail ("%s posted an error: %s", who, e->message);
  }
}

/* ---- tests ------------------------------------------------------------ */

/* Origin and viewers meet only through bittorrent-tracker; the viewers
 * know nothing but the URI p2psink posted. */
GST_START_TEST (test_swarm_through_bittorrent_tracker)
{
  gchar *record = temp_record ();
  BtTracker *t = bt_tracker_start (0, record);
  gchar *url = bt_tracker_url (t);
  gchar *props = g_strdup_printf ("tracker=%s max-peers=2", url);
  TestOrigin *origin = test_origin_start (props);
  gchar *uri = origin_uri_property (origin), *want;
  SwarmUri *parsed;
  gchar **urls;
  TestViewer *v[3];
  guint64 from_peers = 0;
  FrameCounts c;
  guint i;

  /* the URI names the external tracker, in the short form */
  parsed = swarm_uri_parse (uri, NULL);
  fail_unless (parsed != NULL, "%s", uri);
  want = g_strdup_printf ("p2p://127.0.0.1:%u/%s", t->port, parsed->swarm_id);
  fail_unless_equals_string (uri, want);
  fail_unless_equals_string (origin->uri, uri);
  urls = swarm_uri_get_tracker_urls (parsed);
  fail_unless_equals_string (urls[0], url);
  fail_unless (urls[1] == NULL);
  g_strfreev (urls);
  swarm_uri_free (parsed);

  for (i = 0; i < 3; i++) {
    v[i] = test_viewer_start (uri, "latency=1000 max-peers=3");
    g_usleep (300 * 1000);
  }
  for (i = 0; i < 3; i++)
    fail_unless (test_viewer_wait (v[i], 300, WAIT_MS),
        "viewer %u stalled at %u buffers", i, test_viewer_count (v[i]));
  for (i = 0; i < 3; i++) {
    fail_unless (test_viewer_verify (v[i]) >= 299);
    from_peers += viewer_u64 (v[i], "bytes-from-peers");
  }
  /* max-peers=2 on the origin: someone was served by another viewer */
  fail_unless (from_peers > 0, "no viewer got data from another viewer");

  for (i = 0; i < 3; i++) {
    test_viewer_stop (v[i]);
    test_viewer_free (v[i]);
  }
  test_origin_stop (origin);
  bt_tracker_settle (t);
  bt_tracker_free (t);

  /* what the viewers and the origin told the tracker fits aquatic_ws too */
  check_frames (record, &c);
  fail_unless (c.started >= 4, "%u started", c.started);
  fail_unless (c.with_offers >= 1 && c.answers >= 1);

  g_unlink (record);
  g_free (record);
  g_free (want);
  g_free (uri);
  g_free (props);
  g_free (url);
}

GST_END_TEST;

/* Two trackers named in one URI.  One dies, then both, for seconds: the
 * viewers keep playing (partners and PEX need no tracker), a viewer joins
 * through the one left, and another joins once a tracker is back. */
GST_START_TEST (test_tracker_outage)
{
  BtTracker *a = bt_tracker_start (0, NULL), *b = bt_tracker_start (0, NULL);
  gchar *url_a = bt_tracker_url (a), *url_b = bt_tracker_url (b);
  gchar *props = g_strdup_printf ("tracker=%s,%s max-peers=2", url_a, url_b);
  TestOrigin *origin = test_origin_start (props);
  TestViewer *v[5];
  guint before[5], i;
  SwarmUri *parsed;
  gchar *want;

  /* the first tracker in HOST:PORT, the other as a parameter */
  parsed = swarm_uri_parse (origin->uri, NULL);
  fail_unless (parsed != NULL);
  want = g_strdup_printf ("p2p://127.0.0.1:%u/%s?tracker=%s", a->port,
      parsed->swarm_id, url_b);
  fail_unless_equals_string (origin->uri, want);
  swarm_uri_free (parsed);
  g_free (want);

  for (i = 0; i < 3; i++) {
    v[i] = test_viewer_start (origin->uri, "latency=1000 max-peers=3");
    g_usleep (300 * 1000);
  }
  for (i = 0; i < 3; i++)
    fail_unless (test_viewer_wait (v[i], 200, WAIT_MS),
        "viewer %u stalled at %u buffers", i, test_viewer_count (v[i]));

  /* one tracker gone: a newcomer joins through the other */
  bt_tracker_kill (a);
  v[3] = test_viewer_start (origin->uri, "latency=1000 max-peers=3");
  fail_unless (test_viewer_wait (v[3], 100, WAIT_MS),
      "no join with one tracker down (%u buffers)", test_viewer_count (v[3]));

  /* both gone for 5 s: 500 buffers go out, every viewer keeps up */
  bt_tracker_kill (b);
  for (i = 0; i < 4; i++)
    before[i] = test_viewer_count (v[i]);
  g_usleep (5 * G_USEC_PER_SEC);
  for (i = 0; i < 4; i++) {
    fail_unless (test_viewer_count (v[i]) >= before[i] + 400,
        "viewer %u played %u buffers in 5 s without trackers", i,
        test_viewer_count (v[i]) - before[i]);
    assert_no_error (v[i]->pipeline, "a viewer");
  }
  assert_no_error (origin->pipeline, "the origin");

  /* a tracker back on its port: a newcomer finds the swarm again, once
   * the origin and the viewers have come back to it, which their reconnect
   * backoff (doubling to 8 s) may take 8 s to do: the newcomer waits that
   * long on top of the usual join-timeout (under ASan 10 s in all was not
   * always enough) */
  bt_tracker_restart (a);
  {
    gchar *v4_props = g_strdup_printf ("latency=1000 max-peers=3 "
        "join-timeout=%u", TEST_MS (20000));

    v[4] = test_viewer_start (origin->uri, v4_props);
    g_free (v4_props);
  }
  fail_unless (test_viewer_wait (v[4], 100, WAIT_MS),
      "no join after the tracker came back (%u buffers)",
      test_viewer_count (v[4]));
  /* and everyone plays on together */
  for (i = 0; i < 5; i++)
    before[i] = test_viewer_count (v[i]);
  for (i = 0; i < 5; i++) {
    fail_unless (test_viewer_wait (v[i], before[i] + 100, WAIT_MS),
        "viewer %u stalled at %u buffers", i, test_viewer_count (v[i]));
    fail_unless (test_viewer_verify (v[i]) >= 100);
  }
  /* the three that watched it all lost nothing on the way */
  for (i = 0; i < 3; i++) {
    g_print ("viewer %u: continuity %.3f, %" G_GUINT64_FORMAT " missed\n", i,
        viewer_continuity (v[i]), viewer_u64 (v[i], "segments-missed"));
    fail_unless (viewer_continuity (v[i]) >= 0.98, "viewer %u continuity "
        "%.3f", i, viewer_continuity (v[i]));
  }

  for (i = 0; i < 5; i++) {
    test_viewer_stop (v[i]);
    test_viewer_free (v[i]);
  }
  test_origin_stop (origin);
  bt_tracker_free (a);
  bt_tracker_free (b);
  g_free (props);
  g_free (url_a);
  g_free (url_b);
}

GST_END_TEST;

/* A private swarm's sealed descriptions are the largest we send; many
 * viewers with room for many partners make full offer rounds.  Every
 * message must still fit aquatic_ws. */
GST_START_TEST (test_messages_fit_aquatic)
{
  gchar *record = temp_record ();
  BtTracker *t = bt_tracker_start (0, record);
  gchar *url = bt_tracker_url (t);
  gchar *props = g_strdup_printf ("tracker=%s max-peers=2 "
      "secret=conformance-3f9c1a7e5b2d8064", url);
  TestOrigin *origin = test_origin_start (props);
  gchar *uri = g_strdup_printf ("%s?secret=conformance-3f9c1a7e5b2d8064",
      origin->uri);
  TestViewer *v[4];
  FrameCounts c;
  guint i;

  for (i = 0; i < 4; i++)
    v[i] = test_viewer_start (uri, "latency=1000 max-peers=12");
  for (i = 0; i < 4; i++)
    fail_unless (test_viewer_wait (v[i], 150, WAIT_MS),
        "viewer %u stalled at %u buffers", i, test_viewer_count (v[i]));
  for (i = 0; i < 4; i++) {
    fail_unless (test_viewer_verify (v[i]) >= 149);
    test_viewer_stop (v[i]);
    test_viewer_free (v[i]);
  }
  test_origin_stop (origin);
  bt_tracker_settle (t);
  bt_tracker_free (t);

  check_frames (record, &c);
  fail_unless_equals_int (c.started, 5);
  /* everyone said goodbye */
  fail_unless_equals_int (c.stopped, 5);
  /* max-peers=12: full rounds of SWARM_TRACKER_MAX_OFFERS */
  fail_unless_equals_int (c.max_offers, SWARM_TRACKER_MAX_OFFERS);
  fail_unless (c.answers >= 1);

  g_unlink (record);
  g_free (record);
  g_free (uri);
  g_free (props);
  g_free (url);
}

GST_END_TEST;

/* The origin never offers, so only its periodic announces keep it listed:
 * aquatic_ws forgets a peer after 180 s of silence. */
GST_START_TEST (test_announces_every_interval)
{
  gchar *record = temp_record ();
  BtTracker *t = bt_tracker_start_full (0, record, 10);
  gchar *url = bt_tracker_url (t);
  gchar *props = g_strdup_printf ("tracker=%s", url);
  TestOrigin *origin = test_origin_start (props);
  gchar *contents = NULL;
  gchar **lines;
  guint started = 0, updates = 0;

  g_usleep (13 * G_USEC_PER_SEC);
  bt_tracker_settle (t);
  fail_unless (g_file_get_contents (record, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (strstr (lines[i], "\\\"event\\\":\\\"started\\\""))
      started++;
    else if (strstr (lines[i], "\\\"action\\\":\\\"announce\\\""))
      updates++;
  }
  /* 10 s after "started", a plain announce; not more often */
  fail_unless_equals_int (started, 1);
  fail_unless_equals_int (updates, 1);

  test_origin_stop (origin);
  bt_tracker_free (t);
  g_strfreev (lines);
  g_free (contents);
  g_unlink (record);
  g_free (record);
  g_free (props);
  g_free (url);
}

GST_END_TEST;

static Suite *
trackers_suite (void)
{
  Suite *s = suite_create ("trackers");
  TCase *tc = test_tcase_create ("general");

  tcase_set_timeout (tc, 180);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_swarm_through_bittorrent_tracker);
  tcase_add_test (tc, test_tracker_outage);
  tcase_add_test (tc, test_messages_fit_aquatic);
  tcase_add_test (tc, test_announces_every_interval);
  return s;
}

int
main (int argc, char **argv)
{
  gint ret;

  gst_check_init (&argc, &argv);
  ret = bt_tracker_prepare ();
  if (ret != 0)
    return ret;
  return test_run_suite (trackers_suite (), "trackers", __FILE__);
}

/* p2p:// URIs and ICE server settings.
 *
 * These strings come from people (command lines, gst-launch pipelines), so
 * every error names the part that is wrong and quotes it.  Quotes never
 * include a TURN password: error messages end up in logs and bug reports.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gio/gio.h>

#include "swarm-uri.h"
#include "swarm-secret.h"
#include "swarm-private.h"

#define SCHEME "p2p://"
#define DEFAULT_ICE_PORT 3478
/* Longest piece of input an error message quotes. */
#define MAX_QUOTE 200

G_DEFINE_QUARK (swarm-uri-error-quark, swarm_uri_error);

/* Input made fit for an error message: valid UTF-8, bounded length, and
 * for URLs with credentials, the password replaced by "***". */
static gchar *
quote (const gchar * text, gssize len)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  gchar *valid, *at, *sep, *colon, *out;
  gboolean cut = FALSE;

  if (n > MAX_QUOTE) {
    n = MAX_QUOTE;
    cut = TRUE;
  }
  valid = g_utf8_make_valid (text, n);

  sep = strstr (valid, "://");
  at = sep ? strchr (sep + 3, '@') : NULL;
  colon = sep ? strchr (sep + 3, ':') : NULL;
  if (at && colon && colon < at) {
    *colon = '\0';
    out = g_strconcat (valid, ":***", at, cut ? "…" : "", NULL);
  } else {
    out = g_strconcat (valid, cut ? "…" : "", NULL);
  }
  g_free (valid);
  return out;
}

/* The part of a p2p:// URI worth quoting when its authority or path is
 * wrong: everything before the query, which may hold TURN credentials. */
static gchar *
quote_uri (const gchar * uri)
{
  const gchar *q = strchr (uri, '?');

  return quote (uri, q ? q - uri : -1);
}

static gboolean
parse_port (const gchar * text, gsize len, guint16 * port)
{
  guint v = 0;

  if (len == 0 || len > 5)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
    v = v * 10 + (text[i] - '0');
  }
  if (v < 1 || v > 65535)
    return FALSE;
  *port = v;
  return TRUE;
}

static gboolean
is_hostname (const gchar * host)
{
  if (*host == '\0')
    return FALSE;
  for (const gchar * p = host; *p; p++) {
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
      return FALSE;
  }
  return TRUE;
}

/* Parses "host:port", "[v6]:port" and, if @default_port is non-zero,
 * the same without ":port".  @quoted is what error messages show. */
static gboolean
parse_host_port (const gchar * text, gsize len, guint16 default_port,
    const gchar * quoted, gchar ** host_out, guint16 * port_out,
    GError ** error)
{
  const gchar *end = text + len;
  const gchar *host_end, *port_start = NULL;
  gchar *host;

  if (len > 0 && text[0] == '[') {
    const gchar *close = memchr (text, ']', len);

    if (close == NULL) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_HOST,
          _("Missing “]” after the IPv6 address in “%s”"), quoted);
      return FALSE;
    }
    host = g_strndup (text + 1, close - text - 1);
    if (!strchr (host, ':') || !g_hostname_is_ip_address (host)) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_HOST,
          _("“%s” holds “[%s]”, which is not an IPv6 address"), quoted, host);
      g_free (host);
      return FALSE;
    }
    host_end = close + 1;
    if (host_end < end) {
      if (*host_end != ':') {
        g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PORT,
            _("Expected “:PORT” after the IPv6 address in “%s”"), quoted);
        g_free (host);
        return FALSE;
      }
      port_start = host_end + 1;
    }
  } else {
    const gchar *colon = memchr (text, ':', len);

    host_end = colon ? colon : end;
    port_start = colon ? colon + 1 : NULL;
    host = g_strndup (text, host_end - text);
    if (!is_hostname (host)) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_HOST,
          *host ? _("“%s” does not start with a valid host name or address "
              "(IPv6 addresses go in brackets: [::1]:PORT)") :
          _("“%s” has no host"), quoted);
      g_free (host);
      return FALSE;
    }
  }

  if (port_start == NULL) {
    if (default_port == 0) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PORT,
          _("“%s” has no port; write HOST:PORT"), quoted);
      g_free (host);
      return FALSE;
    }
    *port_out = default_port;
  } else if (!parse_port (port_start, end - port_start, port_out)) {
    gchar *shown = quote (port_start, end - port_start);

    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PORT,
        _("Invalid port “%s” in “%s”: a port is a number from 1 to 65535"),
        shown, quoted);
    g_free (shown);
    g_free (host);
    return FALSE;
  }

  *host_out = host;
  return TRUE;
}

/* A bracketed host for URLs if it is an IPv6 address. */
static gchar *
host_for_url (const gchar * host)
{
  if (strchr (host, ':'))
    return g_strdup_printf ("[%s]", host);
  return g_strdup (host);
}

SwarmIceServer *
swarm_ice_server_copy (const SwarmIceServer * server)
{
  SwarmIceServer *copy;

  if (server == NULL)
    return NULL;
  copy = g_new0 (SwarmIceServer, 1);
  *copy = *server;
  copy->host = g_strdup (server->host);
  copy->username = g_strdup (server->username);
  copy->password = g_strdup (server->password);
  return copy;
}

G_DEFINE_BOXED_TYPE (SwarmIceServer, swarm_ice_server, swarm_ice_server_copy,
    swarm_ice_server_free);

void
swarm_ice_server_free (SwarmIceServer * server)
{
  if (server == NULL)
    return;
  g_free (server->host);
  g_free (server->username);
  if (server->password) {
    memset (server->password, 0, strlen (server->password));
    g_free (server->password);
  }
  g_free (server);
}

static gboolean
parse_turn_query (const gchar * query, const gchar * quoted,
    SwarmIceServer * server, GError ** error)
{
  if (g_str_equal (query, "transport=tcp")) {
    server->tcp = TRUE;
  } else if (g_str_equal (query, "transport=udp")) {
    server->tcp = FALSE;
  } else {
    gchar *shown = quote (query, -1);

    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
        _("Unsupported option “%s” in TURN server “%s”; only "
            "transport=tcp or transport=udp is understood"), shown, quoted);
    g_free (shown);
    return FALSE;
  }
  return TRUE;
}

SwarmIceServer *
swarm_ice_server_parse (const gchar * text, gboolean turn, GError ** error)
{
  const gchar *scheme = turn ? "turn://" : "stun://";
  const gchar *rest, *query, *at, *authority_end;
  SwarmIceServer *server;
  gchar *quoted;

  g_return_val_if_fail (text != NULL, NULL);

  quoted = quote (text, -1);
  server = g_new0 (SwarmIceServer, 1);

  if (g_ascii_strncasecmp (text, scheme, strlen (scheme)) != 0) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_SCHEME,
        turn ? _("TURN server “%s” must look like "
            "turn://USER:PASSWORD@HOST:PORT") :
        _("STUN server “%s” must look like stun://HOST:PORT"), quoted);
    goto fail;
  }
  rest = text + strlen (scheme);
  query = strchr (rest, '?');
  authority_end = query ? query : rest + strlen (rest);
  if (memchr (rest, '/', authority_end - rest)) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_HOST,
        _("ICE server “%s” must not have a path"), quoted);
    goto fail;
  }

  /* The last '@' ends the credentials: an unescaped '@' in a password
   * is a common slip, and the host never contains one. */
  at = g_strrstr_len (rest, authority_end - rest, "@");
  if (turn) {
    const gchar *colon;
    gchar *user, *pass;

    colon = at ? memchr (rest, ':', at - rest) : NULL;
    if (at == NULL || colon == NULL || colon == rest || colon + 1 == at) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("TURN server “%s” needs a user name and a password: "
              "turn://USER:PASSWORD@HOST:PORT"), quoted);
      goto fail;
    }
    user = g_strndup (rest, colon - rest);
    pass = g_strndup (colon + 1, at - colon - 1);
    server->username = g_uri_unescape_string (user, NULL);
    server->password = g_uri_unescape_string (pass, NULL);
    memset (pass, 0, strlen (pass));
    g_free (user);
    g_free (pass);
    if (server->username == NULL || server->password == NULL) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("TURN server “%s” has a badly percent-encoded user name or "
              "password"), quoted);
      goto fail;
    }
    rest = at + 1;
    if (query && !parse_turn_query (query + 1, quoted, server, error))
      goto fail;
  } else {
    if (at) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_HOST,
          _("STUN server “%s” must not have a user name or password"),
          quoted);
      goto fail;
    }
    if (query) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("STUN server “%s” takes no options"), quoted);
      goto fail;
    }
  }

  if (!parse_host_port (rest, authority_end - rest, DEFAULT_ICE_PORT, quoted,
          &server->host, &server->port, error))
    goto fail;

  g_free (quoted);
  return server;

fail:
  g_free (quoted);
  swarm_ice_server_free (server);
  return NULL;
}

void
swarm_uri_free (SwarmUri * uri)
{
  if (uri == NULL)
    return;
  g_free (uri->host);
  g_free (uri->swarm_id);
  g_free (uri->stun_server);
  g_free (uri->turn_server);
  g_strfreev (uri->trackers);
  /* a credential: not left in freed memory */
  swarm_secret_clear_string (&uri->secret);
  g_free (uri);
}

gboolean
swarm_uri_check_tracker_url (const gchar * url, GError ** error)
{
  g_autoptr (GUri) parsed = NULL;
  g_autofree gchar *quoted = NULL;
  const gchar *scheme;

  g_return_val_if_fail (url != NULL, FALSE);

  quoted = quote (url, -1);
  parsed = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  scheme = parsed ? g_uri_get_scheme (parsed) : NULL;
  if (scheme == NULL || (g_ascii_strcasecmp (scheme, "ws") != 0
          && g_ascii_strcasecmp (scheme, "wss") != 0)) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("Tracker “%s” is not a valid WebSocket URL (ws://HOST:PORT/PATH or "
            "wss://HOST/PATH)"), quoted);
    return FALSE;
  }
  if (g_uri_get_host (parsed) == NULL || *g_uri_get_host (parsed) == '\0') {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("Tracker “%s” has no host"), quoted);
    return FALSE;
  }
  if (g_uri_get_userinfo (parsed) || g_uri_get_fragment (parsed)) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("Tracker “%s” must not have a user name or a “#” fragment"),
        quoted);
    return FALSE;
  }
  if (g_ascii_strcasecmp (scheme, "wss") == 0
      && !g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("Tracker “%s” uses wss://, but GIO has no TLS support here "
            "(install glib-networking)"), quoted);
    return FALSE;
  }
  return TRUE;
}

/* Adds the comma-separated, percent-encoded tracker URLs in @raw. */
static gboolean
add_trackers (SwarmUri * uri, const gchar * raw, GError ** error)
{
  g_auto (GStrv) pieces = g_strsplit (raw, ",", -1);
  guint n = uri->trackers ? g_strv_length (uri->trackers) : 0;

  for (guint i = 0; pieces[i]; i++) {
    gchar *url;

    if (*pieces[i] == '\0')
      continue;
    url = g_uri_unescape_string (pieces[i], NULL);
    if (url == NULL) {
      gchar *shown = quote (pieces[i], -1);

      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
          _("Parameter “tracker” in p2p:// URI has a badly percent-encoded "
              "value “%s”"), shown);
      g_free (shown);
      return FALSE;
    }
    if (!swarm_uri_check_tracker_url (url, error)) {
      g_prefix_error (error, _("Parameter “tracker” in p2p:// URI: "));
      g_free (url);
      return FALSE;
    }
    if (n == SWARM_URI_MAX_TRACKERS) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
          _("p2p:// URI names more than %u trackers"),
          SWARM_URI_MAX_TRACKERS);
      g_free (url);
      return FALSE;
    }
    uri->trackers = g_renew (gchar *, uri->trackers, n + 2);
    uri->trackers[n++] = url;
    uri->trackers[n] = NULL;
  }
  return TRUE;
}

static gboolean
parse_query (SwarmUri * uri, const gchar * query, GError ** error)
{
  gchar **params = g_strsplit (query, "&", -1);
  gboolean ok = FALSE;

  for (guint i = 0; params[i]; i++) {
    gchar *name = params[i], *raw, *value, *shown;
    gchar **slot;
    gboolean turn = FALSE, is_secret = FALSE;
    SwarmIceServer *server;

    /* Tolerate "?&a=b" and a trailing '&': they name nothing. */
    if (*name == '\0')
      continue;
    raw = strchr (name, '=');
    if (raw)
      *raw++ = '\0';

    if (g_str_equal (name, "tracker")) {
      /* repeatable: every occurrence adds trackers */
      if (raw == NULL || *raw == '\0') {
        g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
            _("Parameter “%s” in p2p:// URI has no value"), name);
        goto out;
      }
      if (!add_trackers (uri, raw, error))
        goto out;
      continue;
    } else if (g_str_equal (name, "stun-server")) {
      slot = &uri->stun_server;
      turn = FALSE;
    } else if (g_str_equal (name, "turn-server")) {
      slot = &uri->turn_server;
      turn = TRUE;
    } else if (g_str_equal (name, "secret")) {
      slot = &uri->secret;
      is_secret = TRUE;
    } else {
      shown = quote (name, -1);
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("Unknown parameter “%s” in p2p:// URI; known parameters are "
              "tracker, stun-server, turn-server and secret"), shown);
      g_free (shown);
      goto out;
    }

    if (*slot != NULL) {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("Parameter “%s” appears more than once in p2p:// URI"), name);
      goto out;
    }
    if (raw == NULL || *raw == '\0') {
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("Parameter “%s” in p2p:// URI has no value"), name);
      goto out;
    }
    value = g_uri_unescape_string (raw, NULL);
    if (value == NULL && is_secret) {
      /* never echo a credential into an error message */
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("Parameter “secret” in p2p:// URI is badly percent-encoded"));
      goto out;
    }
    if (value == NULL) {
      shown = quote (raw, -1);
      g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
          _("Parameter “%s” in p2p:// URI has a badly percent-encoded "
              "value “%s”"), name, shown);
      g_free (shown);
      goto out;
    }
    if (is_secret) {
      if (strlen (value) > SWARM_URI_MAX_SECRET_LEN) {
        g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_PARAMETER,
            _("Parameter “secret” in p2p:// URI is longer than %u bytes"),
            SWARM_URI_MAX_SECRET_LEN);
        g_free (value);
        goto out;
      }
      *slot = value;
      continue;
    }
    /* Check it now so a typo fails at parse time, not when ICE starts. */
    server = swarm_ice_server_parse (value, turn, error);
    if (server == NULL) {
      g_prefix_error (error, _("Parameter “%s” in p2p:// URI: "), name);
      g_free (value);
      goto out;
    }
    swarm_ice_server_free (server);
    *slot = value;
  }
  ok = TRUE;

out:
  g_strfreev (params);
  return ok;
}

SwarmUri *
swarm_uri_parse (const gchar * text, GError ** error)
{
  SwarmUri *uri;
  const gchar *authority, *slash, *query;
  gchar *quoted, *id_text = NULL;
  GError *id_error = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  quoted = quote_uri (text);
  uri = g_new0 (SwarmUri, 1);

  if (g_ascii_strncasecmp (text, SCHEME, strlen (SCHEME)) != 0) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_SCHEME,
        _("“%s” is not a p2p:// URI (expected p2p://HOST:PORT/SWARM-ID)"),
        quoted);
    goto fail;
  }
  authority = text + strlen (SCHEME);
  query = strchr (authority, '?');
  slash = memchr (authority, '/',
      query ? (gsize) (query - authority) : strlen (authority));
  if (slash == NULL) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_SWARM_ID,
        _("URI “%s” has no swarm id (expected p2p://HOST:PORT/SWARM-ID)"),
        quoted);
    goto fail;
  }
  /* p2p:///ID: no default tracker, tracker= must name some */
  if (slash != authority && !parse_host_port (authority, slash - authority, 0,
          quoted, &uri->host, &uri->port, error))
    goto fail;

  id_text = query ? g_strndup (slash + 1, query - slash - 1) :
      g_strdup (slash + 1);
  if (*id_text == '\0') {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_SWARM_ID,
        _("URI “%s” has no swarm id (expected p2p://HOST:PORT/SWARM-ID)"),
        quoted);
    goto fail;
  }
  if (!swarm_id_decode (id_text, uri->swarm_key, &id_error)) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_SWARM_ID,
        _("URI “%s”: %s"), quoted, id_error->message);
    g_clear_error (&id_error);
    goto fail;
  }
  uri->swarm_id = swarm_id_encode (uri->swarm_key);

  if (query && !parse_query (uri, query + 1, error))
    goto fail;
  if (uri->host == NULL && uri->trackers == NULL) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("URI “%s” names no tracker: write p2p://HOST:PORT/SWARM-ID or add "
            "tracker=URL"), quoted);
    goto fail;
  }

  g_free (id_text);
  g_free (quoted);
  return uri;

fail:
  g_free (id_text);
  g_free (quoted);
  swarm_uri_free (uri);
  return NULL;
}

/* Query values keep ':', '/' and '@' readable; '&', '=', '?', '#', '%'
 * and everything outside the unreserved set are escaped. */
static void
append_param (GString * s, gboolean * first, const gchar * name,
    const gchar * value)
{
  gchar *escaped;

  if (value == NULL)
    return;
  escaped = g_uri_escape_string (value, ":/@", FALSE);
  g_string_append_printf (s, "%c%s=%s", *first ? '?' : '&', name, escaped);
  *first = FALSE;
  g_free (escaped);
}

static gchar *
uri_format (const SwarmUri * uri, gboolean with_secret)
{
  GString *s;
  gchar *host;
  gboolean first = TRUE;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (uri->host != NULL || uri->trackers != NULL, NULL);

  s = g_string_new (SCHEME);
  if (uri->host) {
    host = host_for_url (uri->host);
    g_string_append_printf (s, "%s:%u", host, uri->port);
    g_free (host);
  }
  g_string_append_c (s, '/');
  if (uri->swarm_id) {
    g_string_append (s, uri->swarm_id);
  } else {
    gchar *id = swarm_id_encode (uri->swarm_key);

    g_string_append (s, id);
    g_free (id);
  }
  for (guint i = 0; uri->trackers && uri->trackers[i]; i++)
    append_param (s, &first, "tracker", uri->trackers[i]);
  append_param (s, &first, "stun-server", uri->stun_server);
  append_param (s, &first, "turn-server", uri->turn_server);
  if (with_secret)
    append_param (s, &first, "secret", uri->secret);
  return g_string_free (s, FALSE);
}

gchar *
swarm_uri_to_string (const SwarmUri * uri)
{
  return uri_format (uri, TRUE);
}

gchar *
swarm_uri_to_public_string (const SwarmUri * uri)
{
  return uri_format (uri, FALSE);
}

gchar *
swarm_uri_redact (const gchar * text)
{
  gsize keep;
  gchar *lower, *found;

  g_return_val_if_fail (text != NULL, NULL);

  keep = strcspn (text, "?&#");
  lower = g_ascii_strdown (text, keep);
  found = strstr (lower, "secret");
  if (found)
    keep = found - lower;
  g_free (lower);
  if (text[keep] == '\0')
    return g_strdup (text);
  return g_strdup_printf ("%.*s…", (int) keep, text);
}

static gchar *
default_tracker_url (const SwarmUri * uri)
{
  gchar *host = host_for_url (uri->host);
  gchar *url = g_strdup_printf ("ws://%s:%u/announce", host, uri->port);

  g_free (host);
  return url;
}

gchar *
swarm_uri_get_tracker_url (const SwarmUri * uri)
{
  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (uri->host != NULL || uri->trackers != NULL, NULL);

  if (uri->host)
    return default_tracker_url (uri);
  return g_strdup (uri->trackers[0]);
}

gchar **
swarm_uri_get_tracker_urls (const SwarmUri * uri)
{
  GPtrArray *urls = g_ptr_array_new ();

  g_return_val_if_fail (uri != NULL, NULL);

  if (uri->host)
    g_ptr_array_add (urls, default_tracker_url (uri));
  for (guint i = 0; uri->trackers && uri->trackers[i]; i++) {
    guint j;

    for (j = 0; j < urls->len; j++)
      if (g_str_equal (g_ptr_array_index (urls, j), uri->trackers[i]))
        break;
    if (j == urls->len)
      g_ptr_array_add (urls, g_strdup (uri->trackers[i]));
  }
  g_ptr_array_add (urls, NULL);
  return (gchar **) g_ptr_array_free (urls, FALSE);
}

/* ws://HOST[:PORT]/announce, and nothing else, fits in HOST:PORT. */
static gboolean
is_default_form (const gchar * url, gchar ** host, guint16 * port)
{
  g_autoptr (GUri) parsed = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  gint p;

  if (parsed == NULL || g_ascii_strcasecmp (g_uri_get_scheme (parsed),
          "ws") != 0 || !g_str_equal (g_uri_get_path (parsed), "/announce")
      || g_uri_get_query (parsed) || g_uri_get_userinfo (parsed)
      || g_uri_get_fragment (parsed))
    return FALSE;
  /* the host must print back the same way in HOST:PORT */
  if (!strchr (g_uri_get_host (parsed), ':')
      && !is_hostname (g_uri_get_host (parsed)))
    return FALSE;
  p = g_uri_get_port (parsed);
  *port = p > 0 ? p : 80;
  *host = g_strdup (g_uri_get_host (parsed));
  return TRUE;
}

SwarmUri *
swarm_uri_new_for_trackers (const guint8 swarm_key[SWARM_PUBLIC_KEY_LEN],
    const gchar * const *tracker_urls, GError ** error)
{
  SwarmUri *uri;
  guint i = 0, n;

  g_return_val_if_fail (swarm_key != NULL, NULL);
  g_return_val_if_fail (tracker_urls != NULL, NULL);

  n = g_strv_length ((gchar **) tracker_urls);
  if (n == 0) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("A p2p:// URI needs at least one tracker"));
    return NULL;
  }
  if (n > SWARM_URI_MAX_TRACKERS) {
    g_set_error (error, SWARM_URI_ERROR, SWARM_URI_ERROR_TRACKER,
        _("A p2p:// URI names at most %u trackers"), SWARM_URI_MAX_TRACKERS);
    return NULL;
  }
  for (i = 0; i < n; i++)
    if (!swarm_uri_check_tracker_url (tracker_urls[i], error))
      return NULL;

  uri = g_new0 (SwarmUri, 1);
  memcpy (uri->swarm_key, swarm_key, SWARM_PUBLIC_KEY_LEN);
  uri->swarm_id = swarm_id_encode (swarm_key);
  i = is_default_form (tracker_urls[0], &uri->host, &uri->port) ? 1 : 0;
  if (i < n)
    uri->trackers = g_strdupv ((gchar **) tracker_urls + i);
  return uri;
}

/* The embedded tracker under attack: raw TCP and hand-made WebSocket
 * frames against a real server over loopback, each case one way a hostile
 * client knocked the publisher's tracker over or misled it (issue 12).
 *
 * The server runs on the test's thread-default context, which the helpers
 * iterate while they wait; every wait is bounded and stretched by
 * P2P_TEST_TIME_SCALE (valgrind).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <gst/check/gstcheck.h>

#include "swarm/swarm-internal.h"
#include "../elements/p2p-test-util.h"

#define IH1 "swarm-info-hash-0001"
#define IH2 "swarm-info-hash-0002"
#define ID_ORIGIN "-GP0001-origin000001"
#define ID_VIEWER "-GP0001-viewer000001"
/* A connection's unannounced timeout in the cases that wait for it. */
#define SHORT_TIMEOUT_MS TEST_MS (400)
/* SWARM_TRACKER_MAX_MESSAGE: what one reassembled message may hold */
#define MAX_MESSAGE (64 * 1024)

static GMainContext *ctx;

static void
setup (void)
{
  swarm_init ();
  ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end) {
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (1000);
  }
}

static void
teardown (void)
{
  /* libsoup closes what it held asynchronously */
  spin (200);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  ctx = NULL;
}

/* Iterates the server until @cond or @ms; evaluates to @cond. */
#define WAIT_FOR(cond, ms) ({ \
      gint64 _end = g_get_monotonic_time () + (gint64) (ms) * 1000; \
      while (!(cond) && g_get_monotonic_time () < _end) { \
        if (!g_main_context_iteration (ctx, FALSE)) \
          g_usleep (1000); \
      } \
      (cond); })

static SwarmTrackerServer *
server_start (guint max_connections, guint unannounced_ms)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  SwarmTrackerServerLimits limits;
  GError *error = NULL;

  swarm_tracker_server_limits_init (&limits);
  if (max_connections)
    limits.max_connections = max_connections;
  if (unannounced_ms)
    limits.unannounced_timeout_ms = unannounced_ms;
  swarm_tracker_server_set_limits (s, &limits);
  fail_unless (swarm_tracker_server_listen (s, "127.0.0.1", 0, &error),
      "listen: %s", error ? error->message : "?");
  return s;
}

static SwarmTrackerServerStats
stats_of (SwarmTrackerServer * s)
{
  SwarmTrackerServerStats st;

  swarm_tracker_server_get_stats (s, &st);
  return st;
}

/* ---- a client on a raw socket ----------------------------------------- */

typedef struct {
  GSocket *sock;
  GByteArray *in;               /* received, not yet taken */
  gboolean eof;                 /* the server closed (or reset) it */
  gboolean deaf;                /* reads nothing: what it is sent backs up */
} Raw;

/* Starts connecting from @local (NULL: any loopback address) with a
 * receive buffer of @rcvbuf bytes (0: the system's); a client that does
 * not read sets a small one, so what it is sent backs up in the server. */
static Raw *
raw_open_start (SwarmTrackerServer * s, const gchar * local, gint rcvbuf)
{
  Raw *r = g_new0 (Raw, 1);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new (lo,
      swarm_tracker_server_get_port (s));
  GError *error = NULL;

  r->sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  fail_unless (r->sock != NULL);
  if (rcvbuf)
    fail_unless (g_socket_set_option (r->sock, SOL_SOCKET, SO_RCVBUF, rcvbuf,
            NULL));
  if (local) {
    GInetAddress *inet = g_inet_address_new_from_string (local);
    GSocketAddress *bind_addr = g_inet_socket_address_new (inet, 0);

    fail_unless (g_socket_bind (r->sock, bind_addr, FALSE, &error), "bind: %s",
        error ? error->message : "?");
    g_object_unref (bind_addr);
    g_object_unref (inet);
  }
  /* the server accepts only while its context is iterated */
  g_socket_set_blocking (r->sock, FALSE);
  if (!g_socket_connect (r->sock, addr, NULL, &error)) {
    fail_unless (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING),
        "connect: %s", error->message);
    g_clear_error (&error);
  }
  r->in = g_byte_array_new ();
  g_object_unref (addr);
  g_object_unref (lo);
  return r;
}

static void
raw_wait_connected (Raw * r)
{
  GError *error = NULL;

  fail_unless (WAIT_FOR (g_socket_condition_check (r->sock, G_IO_OUT),
          TEST_MS (5000)), "connect timed out");
  fail_unless (g_socket_check_connect_result (r->sock, &error),
      "connect: %s", error ? error->message : "?");
}

static Raw *
raw_open_full (SwarmTrackerServer * s, const gchar * local, gint rcvbuf)
{
  Raw *r = raw_open_start (s, local, rcvbuf);

  raw_wait_connected (r);
  return r;
}

static Raw *
raw_open (SwarmTrackerServer * s)
{
  return raw_open_full (s, NULL, 0);
}

static void
raw_free (Raw * r)
{
  g_socket_close (r->sock, NULL);
  g_object_unref (r->sock);
  g_byte_array_unref (r->in);
  g_free (r);
}

/* Reads what has arrived; notes the end of the stream. */
static void
raw_pump (Raw * r)
{
  guint8 buf[4096];

  while (!r->eof && !r->deaf) {
    GError *error = NULL;
    gssize n = g_socket_receive (r->sock, (gchar *) buf, sizeof (buf), NULL,
        &error);

    if (n > 0) {
      g_byte_array_append (r->in, buf, n);
      continue;
    }
    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free (error);
      return;
    }
    g_clear_error (&error);
    r->eof = TRUE;
  }
}

static gboolean
raw_eof (Raw * r)
{
  raw_pump (r);
  return r->eof;
}

/* Sends all of @data, iterating the server while the socket is full.
 * FALSE once the server has closed or reset the connection. */
static gboolean
raw_send (Raw * r, const void *data, gsize len)
{
  gint64 end = g_get_monotonic_time () + (gint64) TEST_MS (5000) * 1000;
  gsize off = 0;

  while (off < len) {
    GError *error = NULL;
    gssize n = g_socket_send (r->sock, (const gchar *) data + off, len - off,
        NULL, &error);

    if (n >= 0) {
      off += n;
      continue;
    }
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free (error);
      return FALSE;
    }
    g_error_free (error);
    fail_unless (g_get_monotonic_time () < end, "send stalled");
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (1000);
    raw_pump (r);
  }
  return TRUE;
}

static const gchar *upgrade_request =
    "GET /announce HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

/* A client frame: masked with a zero key, so the payload goes as is. */
static GByteArray *
frame (guint opcode, gboolean fin, const void *payload, gsize len)
{
  GByteArray *f = g_byte_array_new ();
  guint8 h[14];
  gsize hl = 2;

  h[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) {
    h[1] = 0x80 | len;
  } else if (len < 65536) {
    h[1] = 0x80 | 126;
    h[2] = len >> 8;
    h[3] = len & 0xff;
    hl = 4;
  } else {
    guint i;

    h[1] = 0x80 | 127;
    for (i = 0; i < 8; i++)
      h[2 + i] = ((guint64) len >> (56 - 8 * i)) & 0xff;
    hl = 10;
  }
  memset (h + hl, 0, 4);
  hl += 4;
  g_byte_array_append (f, h, hl);
  if (len)
    g_byte_array_append (f, payload, len);
  return f;
}

static gboolean
raw_send_text (Raw * r, const gchar * text)
{
  GByteArray *f = frame (0x1, TRUE, text, strlen (text));
  gboolean ok = raw_send (r, f->data, f->len);

  g_byte_array_unref (f);
  return ok;
}

/* The response head, once complete: "HTTP/1.1 101 ..." or NULL. */
static gchar *
raw_take_head (Raw * r)
{
  gchar *end;
  gchar *head;
  gsize n;

  raw_pump (r);
  if (r->in->len == 0)
    return NULL;
  end = g_strstr_len ((const gchar *) r->in->data, r->in->len, "\r\n\r\n");
  if (end == NULL)
    return NULL;
  n = end + 4 - (gchar *) r->in->data;
  head = g_strndup ((const gchar *) r->in->data, n);
  g_byte_array_remove_range (r->in, 0, n);
  return head;
}

/* The response head, once it has come (NULL: none in time). */
static gchar *
raw_wait_head (Raw * r)
{
  gchar *head = NULL;

  /* (the condition has a side effect: WAIT_FOR would evaluate it twice) */
  WAIT_FOR (head || (head = raw_take_head (r)) != NULL || r->eof,
      TEST_MS (5000));
  return head;
}

static guint
head_code (const gchar * head)
{
  return head && g_str_has_prefix (head, "HTTP/1.1 ") ? atoi (head + 9) : 0;
}

/* Sends the upgrade; returns the response head (NULL: none in time). */
static gchar *
raw_upgrade_head (Raw * r)
{
  if (!raw_send (r, upgrade_request, strlen (upgrade_request)))
    return NULL;
  return raw_wait_head (r);
}

/* Sends the upgrade; returns the status line's code (0: none in time). */
static guint
raw_upgrade (Raw * r)
{
  gchar *head = raw_upgrade_head (r);
  guint code = head_code (head);

  g_free (head);
  return code;
}

/* The next text message from the server, or NULL (none within @ms). */
static gchar *
raw_take_text (Raw * r, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  for (;;) {
    const guint8 *d;
    guint64 len;
    gsize hl = 2;

    raw_pump (r);
    d = r->in->data;
    if (r->in->len >= 2) {
      len = d[1] & 0x7f;
      if (len == 126 && r->in->len >= 4) {
        len = (d[2] << 8) | d[3];
        hl = 4;
      } else if (len == 127) {
        fail ("no test needs 64-bit lengths");
      }
      if (len < 126 || hl == 4) {
        if (r->in->len >= hl + len) {
          guint opcode = d[0] & 0x0f;
          gchar *text = g_strndup ((const gchar *) d + hl, len);

          g_byte_array_remove_range (r->in, 0, hl + len);
          if (opcode == 0x1)
            return text;
          g_free (text);        /* control frames */
          continue;
        }
      }
    }
    if (r->eof || g_get_monotonic_time () >= end)
      return NULL;
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (1000);
  }
}

static gchar *
announce_json (const gchar * info_hash, const gchar * peer_id,
    gboolean with_offer)
{
  return g_strdup_printf ("{\"action\":\"announce\",\"info_hash\":\"%s\","
      "\"peer_id\":\"%s\",\"left\":0,\"numwant\":%d,\"offers\":[%s]}",
      info_hash, peer_id, with_offer ? 1 : 0, with_offer ?
      "{\"offer_id\":\"offer-id-00000000001\",\"offer\":{\"type\":"
      "\"offer\",\"sdp\":\"v=0\\r\\n\"}}" : "");
}

/* Announces and returns the reply (caller frees). */
static gchar *
raw_announce (Raw * r, const gchar * info_hash, const gchar * peer_id,
    gboolean with_offer)
{
  gchar *text = announce_json (info_hash, peer_id, with_offer);

  fail_unless (raw_send_text (r, text));
  g_free (text);
  return raw_take_text (r, TEST_MS (5000));
}

static Raw *
raw_open_upgraded (SwarmTrackerServer * s)
{
  Raw *r = raw_open (s);

  fail_unless_equals_int (raw_upgrade (r), 101);
  return r;
}

/* ---- the cases -------------------------------------------------------- */

GST_START_TEST (test_default_limits)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  SwarmTrackerServerLimits l;

  swarm_tracker_server_get_limits (s, &l);
  /* what the issues ask and the README documents */
  fail_unless_equals_int (l.unannounced_timeout_ms, 10 * 1000);
  /* 10,000 viewers and their origin (issue 14), with room for stale
   * connections of viewers that came back */
  fail_unless (l.max_connections > 10001, "%u", l.max_connections);
  /* a crowd behind one NAT is one address: no count per address, a rate */
  fail_unless_equals_int (l.max_connections_per_address, 0);
  fail_unless (l.connection_rate > 0 && l.connection_burst >= 1000);
  fail_unless (l.max_queued_per_connection >= 64 * 1024);
  fail_unless (l.max_queued >= 16 * l.max_queued_per_connection);
  /* longer than the interval the tracker tells clients to announce at */
  fail_unless (l.idle_timeout_ms > 120 * 1000);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* Resident memory of this process (server and client), for the log. */
static guint64
rss_kib (void)
{
  gchar *status = NULL, *line;
  guint64 kib = 0;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      && (line = strstr (status, "VmRSS:")))
    kib = g_ascii_strtoull (line + 6, NULL, 10);
  g_free (status);
  return kib;
}

/* Unfinished continuation frames, each within the per-frame bound: the
 * server must stop reading before the message passes its bound. */
GST_START_TEST (test_fragment_flood)
{
  SwarmTrackerServer *s = server_start (0, 0);
  Raw *r = raw_open_upgraded (s), *other;
  SwarmTrackerServerStats st;
  guint8 *chunk = g_malloc0 (16 * 1024);
  gsize sent = 0;
  gboolean open = TRUE;
  gchar *reply;
  guint i;

  guint64 rss = rss_kib ();

  memset (chunk, ' ', 16 * 1024);
  for (i = 0; i < 64 && open; i++) {
    GByteArray *f = frame (i == 0 ? 0x1 : 0x0, FALSE, chunk, 16 * 1024);

    open = raw_send (r, f->data, f->len);
    if (open)
      sent += f->len;
    g_byte_array_unref (f);
    spin (5);
    open = open && !raw_eof (r);
  }
  /* 1 MiB offered: the connection is cut once the message passes 64 KiB
   * (what the kernel buffered past that is lost, not held) */
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)),
      "fragment flood not cut after %" G_GSIZE_FORMAT " bytes", sent);
  swarm_tracker_server_get_stats (s, &st);
  GST_INFO ("fragment flood: %" G_GSIZE_FORMAT " bytes sent before the cut, "
      "%" G_GSIZE_FORMAT " held at most, RSS %" G_GUINT64_FORMAT " -> %"
      G_GUINT64_FORMAT " KiB", sent, st.bytes_held_max, rss, rss_kib ());
  fail_unless_equals_int (st.connections_closed_oversize, 1);
  fail_unless (st.bytes_held_max <= MAX_MESSAGE,
      "%" G_GSIZE_FORMAT " bytes held", st.bytes_held_max);
  fail_unless (WAIT_FOR (stats_of (s).connections == 0
          && stats_of (s).bytes_held == 0, TEST_MS (5000)));
  raw_free (r);

  /* others are still served */
  other = raw_open_upgraded (s);
  reply = raw_announce (other, IH1, ID_VIEWER, FALSE);
  fail_unless (reply && strstr (reply, "\"interval\"") != NULL, "%s", reply);
  g_free (reply);
  raw_free (other);

  g_free (chunk);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* WebSockets that never announce hold no slot past the timeout. */
GST_START_TEST (test_idle_flood)
{
  SwarmTrackerServer *s = server_start (16, SHORT_TIMEOUT_MS);
  GPtrArray *idle = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_free);
  SwarmTrackerServerStats st;
  Raw *late;
  gchar *reply;
  guint i;

  for (i = 0; i < 16; i++)
    g_ptr_array_add (idle, raw_open_upgraded (s));
  /* full: a viewer is refused, and told why */
  late = raw_open (s);
  fail_unless_equals_int (raw_upgrade (late), 503);
  raw_free (late);

  for (i = 0; i < idle->len; i++)
    fail_unless (WAIT_FOR (raw_eof (g_ptr_array_index (idle, i)),
            SHORT_TIMEOUT_MS + TEST_MS (3000)), "idle connection %u kept", i);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_int (st.connections_closed_unannounced, 16);
  fail_unless_equals_int (st.connections_refused, 1);

  late = raw_open_upgraded (s);
  reply = raw_announce (late, IH1, ID_VIEWER, FALSE);
  fail_unless (reply && strstr (reply, "\"interval\"") != NULL, "%s", reply);
  g_free (reply);
  raw_free (late);

  g_ptr_array_unref (idle);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* TCP connections that never finish their HTTP request. */
GST_START_TEST (test_half_open_flood)
{
  static const gchar partial[] = "GET /announce HTTP/1.1\r\nHost: 127";
  SwarmTrackerServer *s = server_start (16, SHORT_TIMEOUT_MS);
  GPtrArray *half = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_free);
  SwarmTrackerServerStats st;
  Raw *late;
  gchar *reply;
  guint i;

  for (i = 0; i < 16; i++) {
    Raw *r = raw_open (s);

    fail_unless (raw_send (r, partial, strlen (partial)));
    g_ptr_array_add (half, r);
  }
  fail_unless (WAIT_FOR (stats_of (s).connections == 16, TEST_MS (5000)),
      "%u counted", stats_of (s).connections);
  late = raw_open (s);
  fail_unless_equals_int (raw_upgrade (late), 503);
  raw_free (late);

  for (i = 0; i < half->len; i++)
    fail_unless (WAIT_FOR (raw_eof (g_ptr_array_index (half, i)),
            SHORT_TIMEOUT_MS + TEST_MS (3000)), "half-open %u kept", i);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_int (st.connections_closed_half_open, 16);
  fail_unless (WAIT_FOR (stats_of (s).connections == 0, TEST_MS (5000)));

  late = raw_open_upgraded (s);
  reply = raw_announce (late, IH1, ID_VIEWER, FALSE);
  fail_unless (reply && strstr (reply, "\"interval\"") != NULL, "%s", reply);
  g_free (reply);
  raw_free (late);

  g_ptr_array_unref (half);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* A request head that never ends is cut at its bound, not buffered. */
GST_START_TEST (test_request_head_too_long)
{
  SwarmTrackerServer *s = server_start (0, 0);
  static const gchar start[] = "GET /announce HTTP/1.1\r\nX-Junk: ";
  Raw *r = raw_open (s);
  gchar *junk = g_strnfill (16 * 1024, 'a');

  raw_send (r, start, strlen (start));
  raw_send (r, junk, strlen (junk));
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "long head kept");
  fail_unless_equals_int (stats_of (s).connections_closed_oversize, 1);
  fail_unless (stats_of (s).bytes_held_max <= 8192);
  fail_unless (WAIT_FOR (stats_of (s).connections == 0, TEST_MS (5000)));
  raw_free (r);
  g_free (junk);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* A connection refused by a limit sends its announce (with an offer) at
 * once, without waiting for the answer to its upgrade: nothing of it may
 * reach the swarm. */
GST_START_TEST (test_refused_announce)
{
  SwarmTrackerServer *s = server_start (2, 0);
  Raw *origin = raw_open_upgraded (s), *idle = raw_open_upgraded (s), *r;
  GByteArray *f;
  gchar *text;

  text = raw_announce (origin, IH1, ID_ORIGIN, FALSE);
  fail_unless (text && strstr (text, "\"interval\"") != NULL, "%s", text);
  g_free (text);

  r = raw_open (s);
  text = announce_json (IH1, ID_VIEWER, TRUE);
  f = frame (0x1, TRUE, text, strlen (text));
  g_free (text);
  g_byte_array_prepend (f, (const guint8 *) upgrade_request,
      strlen (upgrade_request));
  raw_send (r, f->data, f->len);
  g_byte_array_unref (f);

  text = raw_take_text (origin, TEST_MS (1000));
  fail_unless (text == NULL, "offer from a refused connection relayed: %s",
      text);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 1);
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "not refused");
  raw_free (r);

  raw_free (idle);
  raw_free (origin);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* Announcing with the origin's id (seen in any answer it sends) must not
 * unlist the origin: a later viewer's offer still reaches it. */
GST_START_TEST (test_peer_id_takeover)
{
  SwarmTrackerServer *s = server_start (0, 0);
  Raw *origin = raw_open_upgraded (s), *thief, *viewer;
  SwarmTrackerServerStats st;
  gchar *text;

  text = raw_announce (origin, IH1, ID_ORIGIN, FALSE);
  fail_unless (text && strstr (text, "\"interval\"") != NULL, "%s", text);
  g_free (text);

  thief = raw_open_upgraded (s);
  text = raw_announce (thief, IH1, ID_ORIGIN, FALSE);
  fail_unless (text && strstr (text, "\"failure reason\"") != NULL,
      "takeover not refused: %s", text);
  g_free (text);
  raw_free (thief);
  spin (100);

  viewer = raw_open_upgraded (s);
  text = raw_announce (viewer, IH1, ID_VIEWER, TRUE);
  fail_unless (text && strstr (text, "\"interval\"") != NULL, "%s", text);
  g_free (text);
  text = raw_take_text (origin, TEST_MS (5000));
  fail_unless (text != NULL, "the viewer's offer did not reach the origin");
  fail_unless (strstr (text, "\"offer\"") && strstr (text, ID_VIEWER), "%s",
      text);
  g_free (text);

  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_int (st.announces_refused_peer_id, 1);
  raw_free (viewer);
  raw_free (origin);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* A publisher's tracker serves its swarm only. */
GST_START_TEST (test_info_hash_not_served)
{
  SwarmTrackerServer *s = server_start (0, 0);
  Raw *r;
  SwarmTrackerServerStats st;
  gchar *text;

  swarm_tracker_server_set_info_hash (s, IH1);
  r = raw_open_upgraded (s);
  text = raw_announce (r, IH2, ID_VIEWER, FALSE);
  fail_unless (text && strstr (text, "\"failure reason\"") &&
      strstr (text, "serves only"), "other swarm served: %s", text);
  g_free (text);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 0);
  text = raw_announce (r, IH1, ID_VIEWER, FALSE);
  fail_unless (text && strstr (text, "\"interval\"") != NULL, "%s", text);
  g_free (text);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 1);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_int (st.announces_refused_info_hash, 1);

  raw_free (r);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* A scrape naming no swarm does not list the swarms a tracker hosts. */
GST_START_TEST (test_scrape_without_info_hash)
{
  SwarmTrackerServer *s = server_start (0, 0);
  Raw *a = raw_open_upgraded (s), *b = raw_open_upgraded (s), *c;
  gchar *text;

  g_free (raw_announce (a, IH1, ID_ORIGIN, FALSE));
  g_free (raw_announce (b, IH2, ID_VIEWER, FALSE));
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 2);

  c = raw_open_upgraded (s);
  fail_unless (raw_send_text (c, "{\"action\":\"scrape\"}"));
  text = raw_take_text (c, TEST_MS (5000));
  fail_unless (text && strstr (text, "\"files\""), "%s", text);
  fail_if (strstr (text, IH1) || strstr (text, IH2), "swarms listed: %s",
      text);
  g_free (text);

  /* one serving a swarm answers for that one */
  swarm_tracker_server_set_info_hash (s, IH1);
  fail_unless (raw_send_text (c, "{\"action\":\"scrape\"}"));
  text = raw_take_text (c, TEST_MS (5000));
  fail_unless (text && strstr (text, IH1) && !strstr (text, IH2), "%s", text);
  g_free (text);

  raw_free (c);
  raw_free (b);
  raw_free (a);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

static void
on_client_error (SwarmTrackerClient * c, const GError * error,
    gpointer user_data)
{
  GError **last = user_data;

  g_clear_error (last);
  *last = g_error_copy (error);
}

/* A viewer refused by a limit is told why, and the client says so. */
GST_START_TEST (test_refusal_reason_reaches_client)
{
  static const SwarmTrackerClientCallbacks cb = {.error = on_client_error };
  SwarmTrackerServer *s = server_start (1, 0);
  Raw *holder = raw_open_upgraded (s);
  GError *last = NULL;
  gchar *url = g_strdup_printf ("ws://127.0.0.1:%u/announce",
      swarm_tracker_server_get_port (s));
  SwarmTrackerClient *c = swarm_tracker_client_new (url, IH1, ID_VIEWER, &cb,
      &last);

  swarm_tracker_client_start (c);
  fail_unless (WAIT_FOR (last != NULL, TEST_MS (5000)), "no error");
  fail_unless (g_error_matches (last, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_REFUSED), "%s", last->message);
  fail_unless (strstr (last->message, "too many connections") != NULL, "%s",
      last->message);
  swarm_tracker_client_free (c);
  g_clear_error (&last);
  g_free (url);
  raw_free (holder);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* The tracker speaks WebSocket itself: what is not an upgrade it allows
 * is answered and closed, and a client frame without a mask is cut. */
GST_START_TEST (test_not_an_upgrade)
{
  static const gchar plain[] = "GET /announce HTTP/1.1\r\nHost: x\r\n\r\n";
  SwarmTrackerServer *s = server_start (0, 0);
  gchar **parts = g_strsplit (upgrade_request, "Version: 13", 2);
  gchar *v8 = g_strjoinv ("Version: 8", parts), *head;
  guint8 unmasked[] = { 0x81, 0x02, '{', '}' };
  Raw *r;

  r = raw_open (s);
  fail_unless (raw_send (r, plain, strlen (plain)));
  head = raw_wait_head (r);
  fail_unless_equals_int (head_code (head), 400);
  g_free (head);
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "not closed");
  raw_free (r);

  r = raw_open (s);
  fail_unless (raw_send (r, v8, strlen (v8)));
  head = raw_wait_head (r);
  fail_unless_equals_int (head_code (head), 426);
  fail_unless (strstr (head, "Sec-WebSocket-Version: 13") != NULL, "%s",
      head);
  g_free (head);
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "not closed");
  raw_free (r);

  r = raw_open_upgraded (s);
  fail_unless (raw_send (r, unmasked, sizeof (unmasked)));
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "unmasked frame "
      "not cut");
  raw_free (r);
  fail_unless (WAIT_FOR (stats_of (s).connections == 0, TEST_MS (5000)));

  g_free (v8);
  g_strfreev (parts);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* ---- crowds, and the bounds that let them in ------------------------ */

/* Behind a corporate or carrier-grade NAT, a crowd is one address: with
 * the defaults, 1100 viewers from 127.0.0.1 all get in (past the old
 * bounds of 64 per address and 1024 in all), none is refused. */
GST_START_TEST (test_crowd_behind_one_address)
{
  SwarmTrackerServer *s = server_start (0, 0);
  guint64 fds = swarm_tracker_server_raise_fd_limit ();
  /* each is two descriptors here, client and server */
  guint n = MIN (1100, (fds - 100) / 2), i, answered = 0;
  GPtrArray *crowd = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_free);
  SwarmTrackerServerStats st;

  if (n < 1100)
    GST_WARNING ("descriptor limit %" G_GUINT64_FORMAT ": %u viewers", fds, n);
  fail_unless (n > 1024, "descriptor limit %" G_GUINT64_FORMAT " too low "
      "for the test", fds);
  for (i = 0; i < n; i++)
    g_ptr_array_add (crowd, raw_open_start (s, NULL, 0));
  for (i = 0; i < n; i++) {
    Raw *r = g_ptr_array_index (crowd, i);

    raw_wait_connected (r);
    fail_unless (raw_send (r, upgrade_request, strlen (upgrade_request)));
  }
  for (i = 0; i < n; i++) {
    gchar *head = raw_wait_head (g_ptr_array_index (crowd, i));

    fail_unless_equals_int (head_code (head), 101);
    g_free (head);
  }
  for (i = 0; i < n; i++) {
    gchar *id = g_strdup_printf ("-CROWD01-%011u", i);
    gchar *text = announce_json (IH1, id, FALSE);

    fail_unless (raw_send_text (g_ptr_array_index (crowd, i), text));
    g_free (text);
    g_free (id);
  }
  for (i = 0; i < n; i++) {
    gchar *reply = raw_take_text (g_ptr_array_index (crowd, i),
        TEST_MS (5000));

    if (reply && strstr (reply, "\"interval\""))
      answered++;
    g_free (reply);
  }
  fail_unless_equals_int (answered, n);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), n);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_int (st.connections_refused, 0);
  fail_unless_equals_int (st.connections, n);

  g_ptr_array_unref (crowd);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* One address opening connections faster than its rate is refused past
 * its burst, and told why; another address is not; and it gets in again
 * once its budget has refilled. */
GST_START_TEST (test_connection_rate)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  SwarmTrackerServerLimits limits;
  SwarmTrackerServerStats st;
  GPtrArray *raws = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_free);
  guint i, accepted = 0, refused = 0;
  gint64 start = g_get_monotonic_time ();
  gdouble elapsed_s;
  gchar *head;
  Raw *r;

  swarm_tracker_server_limits_init (&limits);
  limits.connection_rate = 1;
  limits.connection_burst = 10;
  swarm_tracker_server_set_limits (s, &limits);
  fail_unless (swarm_tracker_server_listen (s, "127.0.0.1", 0, NULL));

  for (i = 0; i < 20; i++) {
    r = raw_open (s);
    head = raw_upgrade_head (r);
    if (head_code (head) == 101) {
      accepted++;
    } else {
      fail_unless_equals_int (head_code (head), 503);
      fail_unless (strstr (head, "too many new connections from this "
              "address") != NULL, "%s", head);
      refused++;
    }
    g_free (head);
    g_ptr_array_add (raws, r);
  }
  /* the burst, and what refilled meanwhile (a slow machine, memcheck) */
  elapsed_s = (g_get_monotonic_time () - start) / 1e6;
  fail_unless (accepted >= 10 && accepted <= 10 + 1 + (guint) elapsed_s,
      "%u accepted in %.1f s", accepted, elapsed_s);
  fail_unless (refused > 0);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_int (st.refused_rate, refused);
  fail_unless_equals_int (st.connections_refused, refused);

  /* another address has its own budget */
  r = raw_open_full (s, "127.0.0.2", 0);
  fail_unless_equals_int (raw_upgrade (r), 101);
  g_ptr_array_add (raws, r);

  /* and this one's refills */
  spin (TEST_MS (1500));
  r = raw_open (s);
  fail_unless_equals_int (raw_upgrade (r), 101);
  g_ptr_array_add (raws, r);

  g_ptr_array_unref (raws);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* A scrape of @n swarms: a reply of about 70 bytes a swarm for 23 bytes
 * of request. */
static gchar *
scrape_json (guint n)
{
  GString *text = g_string_new ("{\"action\":\"scrape\",\"info_hash\":[");
  guint i;

  for (i = 0; i < n; i++)
    g_string_append_printf (text, "%s\"scrape-info-hash%04u\"", i ? "," : "",
        i);
  g_string_append (text, "]}");
  return g_string_free (text, FALSE);
}

/* Bytes a connection may send within @elapsed_us without being closed
 * for a byte flood (BYTES_BURST, BYTES_PER_S), with a margin. */
static gsize
byte_budget (gint64 elapsed_us)
{
  return 3 * MAX_MESSAGE + MAX_MESSAGE * 3 / 4 * elapsed_us / G_USEC_PER_SEC;
}

/* Sends @n frames of @f on @r, as fast as the byte budget lets them in,
 * until the server has cut a connection for not reading. */
static void
send_within_budget (SwarmTrackerServer * s, Raw * r, GByteArray * f, guint n)
{
  gint64 start = g_get_monotonic_time ();
  gsize sent = 0;
  guint i;

  for (i = 0; i < n && stats_of (s).connections_closed_slow == 0; i++) {
    while (sent + f->len > byte_budget (g_get_monotonic_time () - start))
      spin (5);
    if (!raw_send (r, f->data, f->len))
      break;
    sent += f->len;
    if (i % 16 == 0)
      spin (1);
  }
}

/* Sends scrapes on @r (which reads nothing) until the server has cut a
 * connection for not reading, or @max scrapes went. */
static void
scrape_without_reading (SwarmTrackerServer * s, Raw * r, guint max)
{
  gchar *scrape = scrape_json (200);
  GByteArray *f = frame (0x1, TRUE, scrape, strlen (scrape));

  send_within_budget (s, r, f, max);
  g_byte_array_unref (f);
  g_free (scrape);
}

/* A client that asks and never reads: each scrape's reply (15 kB for a
 * 4.6 kB request) waits in libsoup's queue once the socket's buffers are
 * full.  With the default bound, the connection is cut at 256 KiB. */
GST_START_TEST (test_slow_reader)
{
  SwarmTrackerServer *s = server_start (0, 0);
  Raw *r = raw_open_full (s, NULL, 4096), *other;
  SwarmTrackerServerLimits limits;
  SwarmTrackerServerStats st;
  gchar *reply;

  swarm_tracker_server_get_limits (s, &limits);
  fail_unless_equals_int (raw_upgrade (r), 101);
  r->deaf = TRUE;
  scrape_without_reading (s, r, 200);
  fail_unless (WAIT_FOR (stats_of (s).connections_closed_slow == 1,
          TEST_MS (5000)), "a client that does not read is not cut (%"
      G_GSIZE_FORMAT " bytes queued at most)", stats_of (s).bytes_queued_max);
  swarm_tracker_server_get_stats (s, &st);
  GST_INFO ("cut with %" G_GSIZE_FORMAT " bytes queued at most",
      st.bytes_queued_max);
  /* the bound, and the one reply that crossed it */
  fail_unless (st.bytes_queued_max <= limits.max_queued_per_connection +
      16 * 1024, "%" G_GSIZE_FORMAT, st.bytes_queued_max);
  r->deaf = FALSE;
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "not closed");
  fail_unless (WAIT_FOR (stats_of (s).connections == 0, TEST_MS (5000)));
  fail_unless_equals_int (stats_of (s).bytes_queued, 0);
  raw_free (r);

  other = raw_open_upgraded (s);
  reply = raw_announce (other, IH1, ID_VIEWER, FALSE);
  fail_unless (reply && strstr (reply, "\"interval\"") != NULL, "%s", reply);
  g_free (reply);
  raw_free (other);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* Pings cost the pinger 131 bytes each and queue a pong of 127 whether it
 * reads or not: they count against the same bound. */
GST_START_TEST (test_pong_flood)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  SwarmTrackerServerLimits limits;
  guint8 payload[125];
  GByteArray *ping;
  Raw *r;

  swarm_tracker_server_limits_init (&limits);
  limits.max_queued_per_connection = 64 * 1024;
  swarm_tracker_server_set_limits (s, &limits);
  fail_unless (swarm_tracker_server_listen (s, "127.0.0.1", 0, NULL));
  r = raw_open_full (s, NULL, 4096);
  fail_unless_equals_int (raw_upgrade (r), 101);
  r->deaf = TRUE;
  memset (payload, 'p', sizeof (payload));
  ping = frame (0x9, TRUE, payload, sizeof (payload));
  /* 1 MB of pings at most */
  send_within_budget (s, r, ping, 8000);
  g_byte_array_unref (ping);
  fail_unless (WAIT_FOR (stats_of (s).connections_closed_slow == 1,
          TEST_MS (10000)), "pongs nobody reads are not bounded (%"
      G_GSIZE_FORMAT " bytes queued at most)", stats_of (s).bytes_queued_max);
  /* the bound, and the pongs of what one read brought in */
  fail_unless (stats_of (s).bytes_queued_max <= 64 * 1024 + 16 * 1024,
      "%" G_GSIZE_FORMAT, stats_of (s).bytes_queued_max);
  r->deaf = FALSE;
  fail_unless (WAIT_FOR (raw_eof (r), TEST_MS (5000)), "not closed");
  raw_free (r);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* Clients each under the per-connection bound, together over the total:
 * the one holding most is cut. */
GST_START_TEST (test_queued_total)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  SwarmTrackerServerLimits limits;
  SwarmTrackerServerStats st;
  Raw *r[3];
  gchar *scrape = scrape_json (200);
  guint i, j;

  swarm_tracker_server_limits_init (&limits);
  limits.max_queued_per_connection = 16 * 1024 * 1024;
  limits.max_queued = 128 * 1024;
  swarm_tracker_server_set_limits (s, &limits);
  fail_unless (swarm_tracker_server_listen (s, "127.0.0.1", 0, NULL));
  for (i = 0; i < 3; i++) {
    r[i] = raw_open_full (s, NULL, 4096);
    fail_unless_equals_int (raw_upgrade (r[i]), 101);
    r[i]->deaf = TRUE;
  }
  /* 16 replies each (240 kB), in turns: within each one's burst */
  for (j = 0; j < 16 && stats_of (s).connections_closed_slow == 0; j++) {
    for (i = 0; i < 3; i++)
      fail_unless (raw_send_text (r[i], scrape));
    spin (5);
  }
  fail_unless (WAIT_FOR (stats_of (s).connections_closed_slow >= 1,
          TEST_MS (5000)), "all together not bounded (%" G_GSIZE_FORMAT
      " bytes queued at most)", stats_of (s).bytes_queued_max);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless (st.bytes_queued_max <= limits.max_queued + 16 * 1024, "%"
      G_GSIZE_FORMAT, st.bytes_queued_max);
  for (i = 0; i < 3; i++)
    raw_free (r[i]);
  g_free (scrape);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

/* The tracker raises the soft descriptor limit to the hard one. */
GST_START_TEST (test_fd_limit_raised)
{
  struct rlimit saved, rl;
  SwarmTrackerServer *s;

  fail_unless (getrlimit (RLIMIT_NOFILE, &saved) == 0);
  rl = saved;
  rl.rlim_cur = MIN (saved.rlim_max, 512);
  fail_unless (setrlimit (RLIMIT_NOFILE, &rl) == 0);
  s = server_start (0, 0);
  fail_unless (getrlimit (RLIMIT_NOFILE, &rl) == 0);
  fail_unless (rl.rlim_cur == saved.rlim_max, "soft limit %lu, hard %lu",
      (gulong) rl.rlim_cur, (gulong) saved.rlim_max);
  swarm_tracker_server_free (s);
  setrlimit (RLIMIT_NOFILE, &saved);
}

GST_END_TEST;

/* Out of descriptors, the tracker neither spins on accept nor leaves
 * viewers hanging: each is told why, and counted. */
GST_START_TEST (test_out_of_fds)
{
  SwarmTrackerServer *s;
  Raw *waiting[4], *late;
  struct rlimit saved, rl;
  gint lowest;
  guint i;

  /* memcheck keeps descriptors of its own and emulates the limit: accept
   * there is checked against the hard one only */
  if (g_getenv ("P2P_TEST_UNDER_VALGRIND")) {
    GST_INFO ("skipped under valgrind");
    return;
  }
  s = server_start (0, 0);
  /* connected in the kernel's queue, not yet accepted */
  for (i = 0; i < G_N_ELEMENTS (waiting); i++)
    waiting[i] = raw_open (s);
  /* no descriptor free below the limit: accept fails */
  lowest = dup (0);
  fail_unless (lowest >= 0);
  close (lowest);
  fail_unless (getrlimit (RLIMIT_NOFILE, &saved) == 0);
  rl = saved;
  rl.rlim_cur = lowest;
  fail_unless (setrlimit (RLIMIT_NOFILE, &rl) == 0);

  for (i = 0; i < G_N_ELEMENTS (waiting); i++) {
    gchar *head = raw_wait_head (waiting[i]);

    fail_unless_equals_int (head_code (head), 503);
    fail_unless (strstr (head, "out of file descriptors") != NULL, "%s",
        head);
    g_free (head);
  }
  fail_unless_equals_int (stats_of (s).refused_fds, G_N_ELEMENTS (waiting));
  fail_unless_equals_int (stats_of (s).connections_refused,
      G_N_ELEMENTS (waiting));
  fail_unless_equals_int (stats_of (s).connections, 0);
  fail_unless (setrlimit (RLIMIT_NOFILE, &saved) == 0);
  for (i = 0; i < G_N_ELEMENTS (waiting); i++)
    raw_free (waiting[i]);

  /* with descriptors again, viewers get in */
  late = raw_open (s);
  fail_unless_equals_int (raw_upgrade (late), 101);
  raw_free (late);
  swarm_tracker_server_free (s);
}

GST_END_TEST;

static Suite *
tracker_attack_suite (void)
{
  Suite *s = suite_create ("swarm-tracker-attack");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_default_limits);
  tcase_add_test (tc, test_fragment_flood);
  tcase_add_test (tc, test_idle_flood);
  tcase_add_test (tc, test_half_open_flood);
  tcase_add_test (tc, test_request_head_too_long);
  tcase_add_test (tc, test_refused_announce);
  tcase_add_test (tc, test_peer_id_takeover);
  tcase_add_test (tc, test_info_hash_not_served);
  tcase_add_test (tc, test_scrape_without_info_hash);
  tcase_add_test (tc, test_refusal_reason_reaches_client);
  tcase_add_test (tc, test_not_an_upgrade);
  tcase_add_test (tc, test_crowd_behind_one_address);
  tcase_add_test (tc, test_connection_rate);
  tcase_add_test (tc, test_slow_reader);
  tcase_add_test (tc, test_pong_flood);
  tcase_add_test (tc, test_queued_total);
  tcase_add_test (tc, test_fd_limit_raised);
  tcase_add_test (tc, test_out_of_fds);
  return s;
}

GST_CHECK_MAIN (tracker_attack);

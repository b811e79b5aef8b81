/* Embedded WebTorrent tracker: SoupServer + WebSocket on every path.
 *
 * A tracker only introduces peers: it keeps, per info_hash, which peer_id
 * is reachable on which WebSocket, hands each offer to one random other
 * peer and routes answers back.  It stores no media and no history.
 *
 * Everything runs on the thread-default GMainContext of the caller of
 * swarm_tracker_server_listen(), where SoupServer attaches its sources.
 *
 * The tracker runs inside the publisher, on a public port, so it must not
 * be easy to knock over.  It accepts TCP connections itself and counts
 * each against the limits from that moment (before any HTTP), refusing
 * over them with a 503 that says why; it gives libsoup the connection
 * through a guard stream (swarm-guard-stream.h) whose scanner
 * (swarm-ws-scan.h) bounds request heads and reassembled messages as the
 * bytes arrive, which libsoup 3.2 does not (it bounds frames only); and a
 * sweep closes connections that do not announce or go silent.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <libsoup/soup.h>

#include "swarm.h"
#include "swarm-congestion.h"
#include "swarm-private.h"
#include "swarm-tracker-message.h"
#include "swarm-tracker-pipe.h"
#include "swarm-guard-stream.h"
#include "swarm-ws-scan.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

/* The interval both reference trackers announce. */
#define ANNOUNCE_INTERVAL_S 120
/* Keeps one swarm's offer fan-out and memory bounded. */
#define MAX_PEERS_PER_SWARM 10000
/* Stops a single host from exhausting file descriptors. */
#define MAX_CONNS_PER_ADDRESS 64
/* And all hosts together: each connection holds a socket and a WebSocket
 * with its buffers (a frame is at most SWARM_TRACKER_MAX_MESSAGE). */
#define MAX_CONNECTIONS 1024
/* Swarms one connection may join: a peer takes part in one, a client
 * multiplexing a few is conceivable, thousands is an attack on memory. */
#define MAX_SWARMS_PER_CONN 16
/* Messages per connection: an honest peer announces every interval, offers
 * a round every few seconds and answers the offers it takes on (a few a
 * second); a connection flooding past this is closed. */
#define MESSAGES_BURST 64
#define MESSAGES_PER_S 16
/* Bytes per connection, whatever they carry (control frames too): an
 * honest peer's announce with its offers is a few kB every few seconds. */
#define BYTES_BURST (4 * SWARM_TRACKER_MAX_MESSAGE)
#define BYTES_PER_S (SWARM_TRACKER_MAX_MESSAGE)
/* An upgrade request is about 300 bytes; browsers add cookies. */
#define MAX_REQUEST_HEAD 8192
/* Bytes all connections together may hold in unfinished request heads
 * and WebSocket messages (each at most SWARM_TRACKER_MAX_MESSAGE). */
#define MAX_BYTES_HELD (16 * 1024 * 1024)
/* A connection (half-open HTTP included) must announce within this. */
#define UNANNOUNCED_TIMEOUT_MS (10 * 1000)
/* And say something (an announce, a ping) within this: a client
 * announces every ANNOUNCE_INTERVAL_S and pings in between. */
#define IDLE_TIMEOUT_MS ((ANNOUNCE_INTERVAL_S + 30) * 1000)
/* A peer_id silent this long on its connection has missed its announce:
 * that connection is presumed dead, and a new one may take the id over. */
#define PEER_ID_STALE_US ((ANNOUNCE_INTERVAL_S + 15) * G_USEC_PER_SEC)
/* Connections the kernel may queue before we accept them. */
#define LISTEN_BACKLOG 256
/* A connection asked to close that has not, is cut. */
#define CLOSE_GRACE_US (2 * G_USEC_PER_SEC)

typedef struct _Conn Conn;

typedef struct {
  gchar *peer_id;
  Conn *conn;
  gint64 left;                  /* -1 = unknown, counts as leecher */
} Peer;

typedef struct {
  gchar *info_hash;
  GHashTable *peers;            /* peer_id -> Peer */
  guint n_complete;
  guint downloaded;
} Swarm;

/* One accepted TCP connection, from accept to close: its HTTP upgrade,
 * then its WebSocket.  It holds a slot against the limits all along. */
struct _Conn {
  SwarmTrackerServer *server;
  GSocketConnection *tcp;
  GSocketAddress *remote;       /* the key libsoup hands back on upgrade */
  SwarmGuardInputStream *guard; /* sees each byte before libsoup */
  SwarmWsScan scan;
  gsize held;                   /* counted in server->bytes_held */
  SwarmRateLimiter *byte_budget;
  SoupWebsocketConnection *ws;  /* once upgraded */
  SwarmTrackerPipe *pipe;        /* in memory: no TCP, no HTTP, no ws */
  gchar *host;
  GHashTable *joined;           /* info_hash -> peer_id we registered */
  SwarmRateLimiter *budget;     /* messages it may still send */
  gboolean flooded;             /* closed for flooding: ignore the rest */
  gboolean announced;
  gint64 accepted_us, last_read_us;
  gint64 closing_us;            /* asked to close at; 0 = not */
};

struct _SwarmTrackerServer {
  SwarmClock *clock;             /* idle sweeps, budgets, connection ages */
  SoupServer *soup;
  GSocketService *service;
  GSource *sweeper;
  GHashTable *swarms;           /* info_hash -> Swarm */
  GHashTable *conns;            /* set of Conn */
  GHashTable *conns_by_remote;  /* GSocketAddress -> Conn */
  GHashTable *conns_per_host;   /* host -> count */
  gchar *served_info_hash;      /* NULL = any */
  guint max_connections;
  guint unannounced_timeout_ms, idle_timeout_ms;
  gsize bytes_held;
  guint port;
  gchar *memory_name;            /* listening in memory as this */
  guint memory_delay_ms;
  guint memory_conns;            /* numbers their hosts */
  SwarmTrackerServerStats stats;
};

/* ---- swarms and peers -------------------------------------------- */

static gboolean
peer_is_complete (const Peer * peer)
{
  return peer->left == 0;
}

static void
peer_free (Peer * peer)
{
  g_free (peer->peer_id);
  g_free (peer);
}

static void
swarm_free (Swarm * swarm)
{
  g_hash_table_unref (swarm->peers);
  g_free (swarm->info_hash);
  g_free (swarm);
}

static Swarm *
get_swarm (SwarmTrackerServer * s, const gchar * info_hash, gboolean create)
{
  Swarm *swarm = g_hash_table_lookup (s->swarms, info_hash);

  if (swarm == NULL && create) {
    swarm = g_new0 (Swarm, 1);
    swarm->info_hash = g_strdup (info_hash);
    swarm->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        (GDestroyNotify) peer_free);
    g_hash_table_insert (s->swarms, swarm->info_hash, swarm);
  }
  return swarm;
}

/* Removes @peer_id from @swarm, and the swarm itself once empty.  With
 * @only_conn set, a peer_id since taken over by another connection stays. */
static void
remove_peer (SwarmTrackerServer * s, Swarm * swarm, const gchar * peer_id,
    Conn * only_conn)
{
  Peer *peer = g_hash_table_lookup (swarm->peers, peer_id);

  if (peer == NULL || (only_conn && peer->conn != only_conn))
    return;

  GST_DEBUG ("peer %s leaves swarm %s", peer_id, swarm->info_hash);
  if (peer_is_complete (peer))
    swarm->n_complete--;
  if (peer->conn != only_conn)
    g_hash_table_remove (peer->conn->joined, swarm->info_hash);
  g_hash_table_remove (swarm->peers, peer_id);
  if (g_hash_table_size (swarm->peers) == 0)
    g_hash_table_remove (s->swarms, swarm->info_hash);
}

/* ---- sending ------------------------------------------------------ */

static void
conn_send (Conn * conn, const gchar * text)
{
  if (conn->pipe) {
    swarm_tracker_pipe_send (conn->pipe, text);
    return;
  }
  if (soup_websocket_connection_get_state (conn->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_text (conn->ws, text);
}

static void
conn_fail (Conn * conn, const gchar * reason)
{
  g_autofree gchar *text = swarm_tracker_message_write_failure (reason);

  GST_DEBUG ("failure to %s: %s", conn->host, reason);
  conn_send (conn, text);
}

/* ---- requests ----------------------------------------------------- */

static void
relay_answer (Conn * conn, const SwarmTrackerMessage * m)
{
  SwarmTrackerServer *s = conn->server;
  Swarm *swarm = get_swarm (s, m->info_hash, FALSE);
  Peer *self, *to;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;

  if (m->to_peer_id == NULL) {
    conn_fail (conn, "answer without \"to_peer_id\"");
    return;
  }
  self = swarm ? g_hash_table_lookup (swarm->peers, m->peer_id) : NULL;
  if (self == NULL || self->conn != conn) {
    conn_fail (conn, "answer from a peer that has not announced");
    return;
  }
  to = g_hash_table_lookup (swarm->peers, m->to_peer_id);
  if (to == NULL) {
    /* The offerer left meanwhile; dropping is what both trackers do. */
    GST_DEBUG ("answer for absent peer %s dropped", m->to_peer_id);
    return;
  }
  text = swarm_tracker_message_write_relay (m->info_hash, m->peer_id,
      m->offer_id, "answer", m->answer_sdp, &error);
  if (text == NULL) {
    conn_fail (conn, "answer too large");
    return;
  }
  conn_send (to->conn, text);
}

/* Each offer goes to a different random peer, other than the offerer. */
static void
relay_offers (Conn * conn, Swarm * swarm, const SwarmTrackerMessage * m)
{
  g_autofree Peer **others = NULL;
  GHashTableIter iter;
  gpointer value;
  guint n_others = 0, n, i;

  n = m->n_offers;
  if (m->numwant >= 0)
    n = MIN (n, (guint64) m->numwant);
  if (n == 0)
    return;

  others = g_new (Peer *, g_hash_table_size (swarm->peers));
  g_hash_table_iter_init (&iter, swarm->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Peer *peer = value;

    if (peer->conn != conn)
      others[n_others++] = peer;
  }
  n = MIN (n, n_others);

  for (i = 0; i < n; i++) {
    guint j = swarm_clock_random_int_range (conn->server->clock, i, n_others);
    Peer *tmp = others[i];
    g_autoptr (GError) error = NULL;
    g_autofree gchar *text = NULL;

    others[i] = others[j];
    others[j] = tmp;

    text = swarm_tracker_message_write_relay (m->info_hash, m->peer_id,
        m->offers[i].offer_id, "offer", m->offers[i].sdp, &error);
    if (text == NULL) {
      conn_fail (conn, "offer too large");
      continue;
    }
    GST_LOG ("offer %s from %s to %s", m->offers[i].offer_id, m->peer_id,
        others[i]->peer_id);
    conn_send (others[i]->conn, text);
  }
}

static void
handle_announce (Conn * conn, const SwarmTrackerMessage * m)
{
  SwarmTrackerServer *s = conn->server;
  const gchar *old_id;
  Swarm *swarm;
  Peer *peer;
  g_autofree gchar *reply = NULL;

  if (m->peer_id == NULL) {
    conn_fail (conn, "announce without \"peer_id\"");
    return;
  }

  if (s->served_info_hash && strcmp (m->info_hash, s->served_info_hash)) {
    GST_DEBUG ("refusing announce from %s for info_hash %s: not served",
        conn->host, m->info_hash);
    s->stats.announces_refused_info_hash++;
    conn_fail (conn, SWARM_TRACKER_REASON_OTHER_SWARM);
    return;
  }

  if (m->answer_sdp) {
    relay_answer (conn, m);
    return;
  }

  old_id = g_hash_table_lookup (conn->joined, m->info_hash);
  swarm = get_swarm (s, m->info_hash, FALSE);

  if (m->event == SWARM_TRACKER_EVENT_STOPPED) {
    if (swarm && old_id && strcmp (old_id, m->peer_id) == 0) {
      remove_peer (s, swarm, m->peer_id, conn);
      g_hash_table_remove (conn->joined, m->info_hash);
    }
    return;
  }

  /* One peer_id per swarm per connection: a new id replaces the old. */
  if (swarm && old_id && strcmp (old_id, m->peer_id) != 0) {
    remove_peer (s, swarm, old_id, conn);
    g_hash_table_remove (conn->joined, m->info_hash);
  }
  /* (Re)fetched: removing the last peer frees the swarm. */
  swarm = get_swarm (s, m->info_hash, TRUE);

  peer = g_hash_table_lookup (swarm->peers, m->peer_id);
  if (peer && peer->conn != conn) {
    /* A peer_id belongs to the connection that announced it first: any
     * answer a peer sends shows its id, so obeying a second announcer
     * would let anyone unlist anyone.  Only when the first connection has
     * missed its announce (a peer that reconnected before its old socket
     * was seen to die) may a new one take the id over. */
    if (swarm_clock_now_us (s->clock) - peer->conn->last_read_us <
        PEER_ID_STALE_US) {
      GST_INFO ("refusing announce of peer_id %s from %s: announced on "
          "another connection (from %s)", m->peer_id, conn->host,
          peer->conn->host);
      s->stats.announces_refused_peer_id++;
      conn_fail (conn, "peer_id already announced on another connection");
      return;
    }
    GST_INFO ("peer_id %s moves to a connection from %s: its old one is "
        "silent", m->peer_id, conn->host);
    remove_peer (s, swarm, m->peer_id, NULL);
    swarm = get_swarm (s, m->info_hash, TRUE);
    peer = NULL;
  }

  if (peer == NULL) {
    if (g_hash_table_size (swarm->peers) >= MAX_PEERS_PER_SWARM) {
      conn_fail (conn, "swarm is full");
      /* an empty swarm just created must not stay behind */
      if (g_hash_table_size (swarm->peers) == 0)
        g_hash_table_remove (s->swarms, swarm->info_hash);
      return;
    }
    if (g_hash_table_size (conn->joined) >= MAX_SWARMS_PER_CONN) {
      s->stats.messages_refused++;
      conn_fail (conn, "too many swarms on one connection");
      if (g_hash_table_size (swarm->peers) == 0)
        g_hash_table_remove (s->swarms, swarm->info_hash);
      return;
    }
    peer = g_new0 (Peer, 1);
    peer->peer_id = g_strdup (m->peer_id);
    peer->conn = conn;
    peer->left = -1;
    g_hash_table_insert (swarm->peers, peer->peer_id, peer);
    g_hash_table_insert (conn->joined, g_strdup (m->info_hash),
        g_strdup (m->peer_id));
    GST_DEBUG ("peer %s joins swarm %s", m->peer_id, m->info_hash);
  }
  conn->announced = TRUE;

  if (peer_is_complete (peer))
    swarm->n_complete--;
  peer->left = m->left_known ? m->left : -1;
  if (peer_is_complete (peer))
    swarm->n_complete++;
  if (m->event == SWARM_TRACKER_EVENT_COMPLETED)
    swarm->downloaded++;

  reply = swarm_tracker_message_write_announce_reply (m->info_hash,
      ANNOUNCE_INTERVAL_S, swarm->n_complete,
      g_hash_table_size (swarm->peers) - swarm->n_complete, NULL);
  conn_send (conn, reply);

  relay_offers (conn, swarm, m);
}

static void
fill_scrape_file (SwarmTrackerServer * s, SwarmTrackerScrapeFile * file,
    gchar * info_hash)
{
  Swarm *swarm = get_swarm (s, info_hash, FALSE);

  file->info_hash = info_hash;
  file->complete = swarm ? swarm->n_complete : 0;
  file->incomplete = swarm ?
      g_hash_table_size (swarm->peers) - swarm->n_complete : 0;
  file->downloaded = swarm ? swarm->downloaded : 0;
}

static void
handle_scrape (Conn * conn, const SwarmTrackerMessage * m)
{
  SwarmTrackerServer *s = conn->server;
  g_autoptr (GArray) files =
      g_array_new (FALSE, TRUE, sizeof (SwarmTrackerScrapeFile));
  g_autofree gchar *reply = NULL;
  g_autoptr (GError) error = NULL;
  guint i;

  /* Which swarms a tracker hosts is nobody's business: a scrape names the
   * swarms it asks about, and one naming none is answered for the served
   * swarm only (for none by a tracker serving any). */
  if (m->info_hashes) {
    for (i = 0; m->info_hashes[i]; i++) {
      SwarmTrackerScrapeFile file;

      fill_scrape_file (s, &file, m->info_hashes[i]);
      g_array_append_val (files, file);
    }
  } else if (s->served_info_hash) {
    SwarmTrackerScrapeFile file;

    fill_scrape_file (s, &file, s->served_info_hash);
    g_array_append_val (files, file);
  } else {
    GST_DEBUG ("scrape without info_hash from %s: answered empty", conn->host);
  }

  reply = swarm_tracker_message_write_scrape_reply (
      (SwarmTrackerScrapeFile *) files->data, files->len, &error);
  if (reply == NULL)
    conn_fail (conn, "scrape reply too large; ask for fewer info_hashes");
  else
    conn_send (conn, reply);
}

/* ---- connections -------------------------------------------------- */

static void conn_hang_up (Conn * conn);

/* One text message from @conn, however it came. */
static void
conn_on_text (Conn * conn, const char *data, gsize len)
{
  g_autoptr (SwarmTrackerMessage) m = NULL;
  g_autoptr (GError) error = NULL;

  if (conn->flooded)
    return;
  if (swarm_rate_limiter_take (conn->budget, swarm_clock_now_us (conn->server->clock), 1) == 0) {
    GST_INFO ("closing connection from %s: message flood", conn->host);
    conn->flooded = TRUE;
    conn->server->stats.connections_closed_flood++;
    conn_fail (conn, "too many messages");
    conn_hang_up (conn);
    return;
  }
  m = swarm_tracker_message_parse (data, len, &error);
  if (m == NULL) {
    conn_fail (conn, error->message);
    return;
  }

  switch (m->action) {
    case SWARM_TRACKER_ACTION_ANNOUNCE:
      if (m->failure_reason == NULL) {
        handle_announce (conn, m);
        return;
      }
      break;
    case SWARM_TRACKER_ACTION_SCRAPE:
      if (m->failure_reason == NULL) {
        handle_scrape (conn, m);
        return;
      }
      break;
    case SWARM_TRACKER_ACTION_NONE:
      break;
  }
  conn_fail (conn, "unexpected \"failure reason\" from a peer");
}

static void
on_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer user_data)
{
  Conn *conn = user_data;
  gconstpointer data;
  gsize len;

  if (type != SOUP_WEBSOCKET_DATA_TEXT && !conn->flooded) {
    conn_fail (conn, "binary frames are not part of the protocol");
    return;
  }
  data = g_bytes_get_data (message, &len);
  conn_on_text (conn, data, len);
}

static void
on_pipe_message (SwarmTrackerPipe * pipe, const gchar * data, gsize len,
    gpointer user_data)
{
  Conn *conn = user_data;

  /* what the scanner counts on a socket */
  if (len > SWARM_TRACKER_MAX_MESSAGE) {
    conn_fail (conn, "message too large");
    conn_hang_up (conn);
    return;
  }
  conn->last_read_us = swarm_clock_now_us (conn->server->clock);
  conn_on_text (conn, data, len);
}

/* Frees @conn and gives back its slot; libsoup keeps what it holds of the
 * connection and closes it in its own time. */
static void
conn_free (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  GHashTableIter iter;
  gpointer key, value;
  guint n;

  g_hash_table_iter_init (&iter, conn->joined);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Swarm *swarm = get_swarm (s, key, FALSE);

    /* remove_peer() with the owning conn leaves conn->joined alone. */
    if (swarm)
      remove_peer (s, swarm, value, conn);
  }
  g_hash_table_unref (conn->joined);

  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->conns_per_host, conn->host));
  if (n <= 1)
    g_hash_table_remove (s->conns_per_host, conn->host);
  else
    g_hash_table_insert (s->conns_per_host, g_strdup (conn->host),
        GUINT_TO_POINTER (n - 1));
  s->bytes_held -= conn->held;
  if (conn->pipe) {
    swarm_tracker_pipe_free (conn->pipe);
    swarm_rate_limiter_free (conn->budget);
    swarm_rate_limiter_free (conn->byte_budget);
    g_free (conn->host);
    g_free (conn);
    return;
  }
  g_hash_table_remove (s->conns_by_remote, conn->remote);

  swarm_guard_input_stream_detach (conn->guard);
  if (conn->ws) {
    g_signal_handlers_disconnect_by_data (conn->ws, conn);
    g_object_unref (conn->ws);
  } else if (!g_input_stream_is_closed (G_INPUT_STREAM (conn->guard))) {
    /* Not upgraded: wake libsoup's reader so it lets go. */
    swarm_guard_input_stream_kill (conn->guard);
  }
  g_object_unref (conn->guard);
  g_object_unref (conn->tcp);
  g_object_unref (conn->remote);
  swarm_rate_limiter_free (conn->budget);
  swarm_rate_limiter_free (conn->byte_budget);
  g_free (conn->host);
  g_free (conn);
}

/* Sees each chunk @conn sends before libsoup does (swarm-guard-stream.h);
 * FALSE fails libsoup's read, which closes the connection. */
static gboolean
conn_check_read (gpointer user_data, const guint8 * data, gsize len,
    GError ** error)
{
  Conn *conn = user_data;
  SwarmTrackerServer *s = conn->server;
  gint64 now = swarm_clock_now_us (s->clock);
  const gchar *why = NULL;
  gsize held;

  if (len == 0)
    return TRUE;
  conn->last_read_us = now;
  if (swarm_rate_limiter_take (conn->byte_budget, now, len) < len) {
    why = "byte flood";
    s->stats.connections_closed_flood++;
  } else if (!swarm_ws_scan_feed (&conn->scan, data, len, error)) {
    GST_INFO ("closing connection from %s: %s", conn->host,
        (*error)->message);
    s->stats.connections_closed_oversize++;
    return FALSE;
  } else {
    held = swarm_ws_scan_get_held (&conn->scan);
    s->bytes_held = s->bytes_held - conn->held + held;
    conn->held = held;
    s->stats.bytes_held_max = MAX (s->stats.bytes_held_max, s->bytes_held);
    if (s->bytes_held > MAX_BYTES_HELD) {
      why = "unfinished messages over the tracker's bound";
      s->stats.connections_closed_oversize++;
    }
  }
  if (why) {
    GST_INFO ("closing connection from %s: %s", conn->host, why);
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
        why);
    return FALSE;
  }
  return TRUE;
}

/* Closes @conn for @why: a WebSocket is told why and given CLOSE_GRACE_US
 * to close; a connection not yet upgraded, or past its grace, is cut. */
static void
conn_close (Conn * conn, const gchar * why, gint64 now)
{
  GST_INFO ("closing connection from %s: %s", conn->host, why);
  if (conn->pipe) {
    if (conn->closing_us == 0 && swarm_tracker_pipe_is_open (conn->pipe)) {
      conn_fail (conn, why);
      swarm_tracker_pipe_close (conn->pipe);
      conn->closing_us = now;
    } else {
      g_hash_table_remove (conn->server->conns, conn);
    }
    return;
  }
  if (conn->ws && conn->closing_us == 0 &&
      soup_websocket_connection_get_state (conn->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN) {
    conn_fail (conn, why);
    soup_websocket_connection_close (conn->ws,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
    conn->closing_us = now;
    return;
  }
  /* Cut: libsoup's reader fails and closes what it holds. */
  swarm_guard_input_stream_kill (conn->guard);
  g_hash_table_remove (conn->server->conns, conn);
}

/* Closes connections that have not announced in time, went silent, or
 * did not finish closing; forgets those libsoup closed before upgrading. */
static gboolean
sweep (gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  gint64 now = swarm_clock_now_us (s->clock);
  g_autoptr (GPtrArray) stale = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;
  guint i;

  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (stale, key);

  for (i = 0; i < stale->len; i++) {
    Conn *conn = g_ptr_array_index (stale, i);

    if (conn->closing_us) {
      if (now - conn->closing_us > CLOSE_GRACE_US)
        conn_close (conn, "did not close in time", now);
    } else if (!conn->ws && !conn->pipe
        && g_input_stream_is_closed (G_INPUT_STREAM (conn->guard))) {
      GST_DEBUG ("connection from %s closed before upgrading", conn->host);
      g_hash_table_remove (s->conns, conn);
    } else if (!conn->announced && now - conn->accepted_us >
        (gint64) s->unannounced_timeout_ms * 1000) {
      if (conn->ws || conn->pipe)
        s->stats.connections_closed_unannounced++;
      else
        s->stats.connections_closed_half_open++;
      conn_close (conn, conn->ws || conn->pipe ? "no announce in time" :
          "HTTP request not finished in time", now);
    } else if (now - conn->last_read_us >
        (gint64) s->idle_timeout_ms * 1000) {
      s->stats.connections_closed_idle++;
      conn_close (conn, "idle for too long", now);
    }
  }
  return G_SOURCE_CONTINUE;
}

/* Closes at once for a protocol violation (the failure is already
 * sent). */
static void
conn_hang_up (Conn * conn)
{
  if (conn->pipe)
    swarm_tracker_pipe_close (conn->pipe);
  else if (conn->ws)
    soup_websocket_connection_close (conn->ws,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
}

static void
on_pipe_closed (SwarmTrackerPipe * pipe, gpointer user_data)
{
  Conn *conn = user_data;

  GST_DEBUG ("connection from %s closed", conn->host);
  g_hash_table_remove (conn->server->conns, conn);
}

static void
on_closed (SoupWebsocketConnection * ws, gpointer user_data)
{
  Conn *conn = user_data;

  GST_DEBUG ("connection from %s closed", conn->host);
  /* The set's destroy function frees the conn. */
  g_hash_table_remove (conn->server->conns, conn);
}

static void
on_websocket (SoupServer * soup, SoupServerMessage * msg, const char *path,
    SoupWebsocketConnection * ws, gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  Conn *conn = g_hash_table_lookup (s->conns_by_remote,
      soup_server_message_get_remote_address (msg));

  if (conn == NULL || conn->ws) {
    /* Cut by a limit while libsoup was upgrading it: nothing it sends is
     * read. */
    GST_DEBUG ("upgrade of a connection already closed");
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
        NULL);
    return;
  }
  conn->ws = g_object_ref (ws);
  soup_websocket_connection_set_max_incoming_payload_size (ws,
      SWARM_TRACKER_MAX_MESSAGE);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), conn);
  GST_DEBUG ("connection from %s on %s", conn->host, path);
}

/* A connection over a limit costs no more than this: answered at once
 * (before its request, which is never read) and closed. */
static void
refuse (GSocketConnection * tcp, const gchar * why)
{
  g_autofree gchar *body = swarm_tracker_message_write_failure (why);
  g_autofree gchar *text = g_strdup_printf ("HTTP/1.1 503 %s\r\n"
      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n%s", why, strlen (body), body);
  GSocket *sock = g_socket_connection_get_socket (tcp);

  g_socket_send_with_blocking (sock, text, strlen (text), FALSE, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (tcp), NULL, NULL);
}

/* Every TCP connection is counted from here, before a byte of HTTP: a
 * half-open request holds a slot and its timeout like a WebSocket. */
static gboolean
on_incoming (GSocketService * service, GSocketConnection * tcp,
    GObject * source, gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  g_autoptr (GSocketAddress) remote = NULL, local = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) guarded = NULL;
  g_autofree gchar *host = NULL;
  Conn *conn;
  guint n;

  remote = g_socket_connection_get_remote_address (tcp, NULL);
  local = g_socket_connection_get_local_address (tcp, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (remote) || local == NULL) {
    g_io_stream_close (G_IO_STREAM (tcp), NULL, NULL);
    return TRUE;
  }
  host = g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (remote)));

  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->conns_per_host, host));
  if (n >= MAX_CONNS_PER_ADDRESS
      || g_hash_table_size (s->conns) >= s->max_connections) {
    GST_INFO ("refusing connection: %u already from %s, %u in all", n, host,
        g_hash_table_size (s->conns));
    s->stats.connections_refused++;
    refuse (tcp, n >= MAX_CONNS_PER_ADDRESS ?
        "too many connections from this address" :
        "tracker full: too many connections");
    return TRUE;
  }

  conn = g_new0 (Conn, 1);
  conn->server = s;
  conn->tcp = g_object_ref (tcp);
  conn->remote = g_object_ref (remote);
  conn->host = g_steal_pointer (&host);
  conn->joined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  conn->budget = swarm_rate_limiter_new (MESSAGES_PER_S, MESSAGES_BURST);
  conn->byte_budget = swarm_rate_limiter_new (BYTES_PER_S, BYTES_BURST);
  conn->accepted_us = conn->last_read_us = swarm_clock_now_us (conn->server->clock);
  swarm_ws_scan_init (&conn->scan, MAX_REQUEST_HEAD,
      SWARM_TRACKER_MAX_MESSAGE);
  guarded = swarm_guard_stream_new (G_IO_STREAM (tcp), conn_check_read, conn,
      &conn->guard);
  g_object_ref (conn->guard);
  g_hash_table_add (s->conns, conn);
  g_hash_table_insert (s->conns_by_remote, conn->remote, conn);
  g_hash_table_insert (s->conns_per_host, g_strdup (conn->host),
      GUINT_TO_POINTER (n + 1));

  if (!soup_server_accept_iostream (s->soup, guarded, local, remote, &error)) {
    GST_WARNING ("tracker could not take a connection: %s", error->message);
    g_hash_table_remove (s->conns, conn);
  }
  return TRUE;
}

/* ---- public API --------------------------------------------------- */

SwarmTrackerServer *
swarm_tracker_server_new (void)
{
  SwarmTrackerServer *s;

  swarm_init ();

  s = g_new0 (SwarmTrackerServer, 1);
  s->clock = swarm_clock_get_system ();
  s->soup = soup_server_new ("server-header", "gst-p2p-tracker ", NULL);
  s->swarms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) swarm_free);
  s->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_free,
      NULL);
  s->conns_by_remote = g_hash_table_new (NULL, NULL);
  s->conns_per_host = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  s->max_connections = MAX_CONNECTIONS;
  s->unannounced_timeout_ms = UNANNOUNCED_TIMEOUT_MS;
  s->idle_timeout_ms = IDLE_TIMEOUT_MS;
  /* permessage-deflate would let a small frame inflate past every bound
   * counted on the wire: the protocol's JSON does without it. */
  soup_server_remove_websocket_extension (s->soup,
      SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler (s->soup, NULL, NULL, NULL, on_websocket,
      s, NULL);
  return s;
}

void
swarm_tracker_server_set_info_hash (SwarmTrackerServer * s,
    const gchar * info_hash)
{
  g_return_if_fail (s != NULL);
  g_free (s->served_info_hash);
  s->served_info_hash = g_strdup (info_hash);
}

void
swarm_tracker_server_set_limits (SwarmTrackerServer * s,
    guint max_connections, guint unannounced_timeout_ms,
    guint idle_timeout_ms)
{
  g_return_if_fail (s != NULL && s->sweeper == NULL);
  if (max_connections)
    s->max_connections = max_connections;
  if (unannounced_timeout_ms)
    s->unannounced_timeout_ms = unannounced_timeout_ms;
  if (idle_timeout_ms)
    s->idle_timeout_ms = idle_timeout_ms;
}

void
swarm_tracker_server_get_limits (SwarmTrackerServer * s,
    guint * max_connections, guint * unannounced_timeout_ms,
    guint * idle_timeout_ms)
{
  g_return_if_fail (s != NULL);
  if (max_connections)
    *max_connections = s->max_connections;
  if (unannounced_timeout_ms)
    *unannounced_timeout_ms = s->unannounced_timeout_ms;
  if (idle_timeout_ms)
    *idle_timeout_ms = s->idle_timeout_ms;
}

void
swarm_tracker_server_set_clock (SwarmTrackerServer * s, SwarmClock * clock)
{
  swarm_clock_ref (clock);
  swarm_clock_unref (s->clock);
  s->clock = clock;
}

gboolean
swarm_tracker_server_listen (SwarmTrackerServer * s, const gchar * address,
    guint port, GError ** error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) sockaddr = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  guint period;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (s->service == NULL, FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        _("Invalid tracker listen address \"%s\""), address);
    return FALSE;
  }
  sockaddr = g_inet_socket_address_new (inet, port);
  /* We accept, count and time out every TCP connection ourselves and hand
   * libsoup only those within the limits (soup_server_accept_iostream). */
  s->service = g_socket_service_new ();
  /* GLib's default of 10 would leave a crowd joining at once (or a burst
   * of attackers' SYNs) waiting for retransmits before we even count them:
   * accepted, they are counted and refused at once if over a limit. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (s->service), LISTEN_BACKLOG);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (s->service),
          sockaddr, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
          &effective, error)) {
    g_clear_object (&s->service);
    return FALSE;
  }
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
      (effective));
  g_signal_connect (s->service, "incoming", G_CALLBACK (on_incoming), s);
  /* Accepts on the thread-default context, as libsoup's IO does. */
  g_socket_service_start (s->service);

  period = CLAMP (MIN (s->unannounced_timeout_ms, s->idle_timeout_ms) / 4,
      10, 1000);
  s->sweeper = swarm_clock_timeout_source_new (s->clock, period);
  g_source_set_callback (s->sweeper, sweep, s, NULL);
  g_source_attach (s->sweeper, g_main_context_get_thread_default ());
  GST_INFO ("tracker listening on %s port %u", address, s->port);
  return TRUE;
}

/* Trackers listening in memory, by name: process-wide, as ports are. */
static GMutex memory_lock;
static GHashTable *memory_servers;

static void
memory_registry_remove (const gchar * name, SwarmTrackerServer * s)
{
  g_mutex_lock (&memory_lock);
  if (memory_servers && g_hash_table_lookup (memory_servers, name) == s)
    g_hash_table_remove (memory_servers, name);
  g_mutex_unlock (&memory_lock);
}

gboolean
swarm_tracker_server_listen_memory (SwarmTrackerServer * s,
    const gchar * name, guint delay_ms, GError ** error)
{
  guint period;

  g_return_val_if_fail (s != NULL && name != NULL, FALSE);
  g_return_val_if_fail (s->service == NULL && s->memory_name == NULL, FALSE);
  g_mutex_lock (&memory_lock);
  if (!memory_servers)
    memory_servers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
  if (g_hash_table_contains (memory_servers, name)) {
    g_mutex_unlock (&memory_lock);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
        _("A tracker named \"%s\" already listens in memory"), name);
    return FALSE;
  }
  g_hash_table_insert (memory_servers, g_strdup (name), s);
  g_mutex_unlock (&memory_lock);
  s->memory_name = g_strdup (name);
  s->memory_delay_ms = delay_ms;
  period = CLAMP (MIN (s->unannounced_timeout_ms, s->idle_timeout_ms) / 4,
      10, 1000);
  s->sweeper = swarm_clock_timeout_source_new (s->clock, period);
  g_source_set_callback (s->sweeper, sweep, s, NULL);
  g_source_attach (s->sweeper, g_main_context_get_thread_default ());
  GST_INFO ("tracker listening in memory as %s", name);
  return TRUE;
}

SwarmTrackerPipe *
swarm_tracker_server_connect_memory (const gchar * url, SwarmClock * clock,
    GMainContext * context, GError ** error)
{
  static const SwarmTrackerPipeCallbacks pipe_callbacks = {
    .message = on_pipe_message,
    .closed = on_pipe_closed,
  };
  const gchar *name_start = url + strlen (SWARM_TRACKER_MEMORY_SCHEME);
  g_autofree gchar *name = g_strndup (name_start, strcspn (name_start, "/"));
  SwarmTrackerServer *s = NULL;
  SwarmTrackerPipe *ours, *theirs;
  Conn *conn;

  g_mutex_lock (&memory_lock);
  if (memory_servers)
    s = g_hash_table_lookup (memory_servers, name);
  g_mutex_unlock (&memory_lock);
  if (!s) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        _("No tracker named \"%s\" in this process"), name);
    return NULL;
  }
  if (g_hash_table_size (s->conns) >= s->max_connections) {
    s->stats.connections_refused++;
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        "tracker full: too many connections");
    return NULL;
  }
  swarm_tracker_pipe_new_pair (clock, context, s->memory_delay_ms, &ours,
      &theirs);
  conn = g_new0 (Conn, 1);
  conn->server = s;
  conn->pipe = ours;
  /* every in-memory client is a host of its own */
  conn->host = g_strdup_printf ("memory-%u", ++s->memory_conns);
  conn->joined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  conn->budget = swarm_rate_limiter_new (MESSAGES_PER_S, MESSAGES_BURST);
  conn->byte_budget = swarm_rate_limiter_new (BYTES_PER_S, BYTES_BURST);
  conn->accepted_us = conn->last_read_us = swarm_clock_now_us (s->clock);
  swarm_tracker_pipe_set_callbacks (ours, &pipe_callbacks, conn);
  g_hash_table_add (s->conns, conn);
  return theirs;
}

guint
swarm_tracker_server_get_port (SwarmTrackerServer * s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->port;
}

guint
swarm_tracker_server_get_n_peers (SwarmTrackerServer * s)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_return_val_if_fail (s != NULL, 0);

  g_hash_table_iter_init (&iter, s->swarms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += g_hash_table_size (((Swarm *) value)->peers);
  return n;
}

void
swarm_tracker_server_get_stats (SwarmTrackerServer * s,
    SwarmTrackerServerStats * stats)
{
  g_return_if_fail (s != NULL && stats != NULL);
  *stats = s->stats;
  stats->connections = g_hash_table_size (s->conns);
  stats->bytes_held = s->bytes_held;
}

void
swarm_tracker_server_free (SwarmTrackerServer * s)
{
  GHashTableIter iter;
  gpointer key;

  if (s == NULL)
    return;

  if (s->service) {
    g_signal_handlers_disconnect_by_data (s->service, s);
    g_socket_service_stop (s->service);
    g_socket_listener_close (G_SOCKET_LISTENER (s->service));
    g_object_unref (s->service);
  }
  if (s->sweeper) {
    g_source_destroy (s->sweeper);
    g_source_unref (s->sweeper);
  }

  /* Tell every peer we are going, so their clients reconnect elsewhere or
   * later instead of waiting for a keep-alive to time out. */
  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Conn *conn = key;

    if (conn->ws == NULL)
      continue;
    g_signal_handlers_disconnect_by_data (conn->ws, conn);
    if (soup_websocket_connection_get_state (conn->ws) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (conn->ws,
          SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  }
  /* conn_free() cuts those not upgraded */
  g_hash_table_unref (s->conns);
  g_hash_table_unref (s->swarms);
  g_hash_table_unref (s->conns_by_remote);
  g_hash_table_unref (s->conns_per_host);

  soup_server_disconnect (s->soup);
  g_object_unref (s->soup);
  if (s->memory_name)
    memory_registry_remove (s->memory_name, s);
  g_free (s->memory_name);
  g_free (s->served_info_hash);
  swarm_clock_unref (s->clock);
  g_free (s);
}

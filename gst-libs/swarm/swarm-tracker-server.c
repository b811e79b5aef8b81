/* Embedded WebTorrent tracker: SoupServer + WebSocket on every path.
 *
 * A tracker only introduces peers: it keeps, per info_hash, which peer_id
 * is reachable on which WebSocket, hands each offer to one random other
 * peer and routes answers back.  It stores no media and no history.
 *
 * Everything runs on the thread-default GMainContext of the caller of
 * swarm_tracker_server_listen(), where SoupServer attaches its sources.
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

#define GST_CAT_DEFAULT swarm_debug

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

struct _Conn {
  SwarmTrackerServer *server;
  SoupWebsocketConnection *ws;
  gchar *host;
  gboolean counted;             /* holds a slot in conns_per_host */
  GHashTable *joined;           /* info_hash -> peer_id we registered */
  SwarmRateLimiter *budget;     /* messages it may still send */
  gboolean flooded;             /* closed for flooding: ignore the rest */
};

struct _SwarmTrackerServer {
  SoupServer *soup;
  GHashTable *swarms;           /* info_hash -> Swarm */
  GHashTable *conns;            /* set of Conn */
  GHashTable *conns_per_host;   /* host -> count */
  guint port;
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
    guint j = g_random_int_range (i, n_others);
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
    /* The same peer reconnected before its old socket was seen to die. */
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

  if (m->info_hashes) {
    for (i = 0; m->info_hashes[i]; i++) {
      SwarmTrackerScrapeFile file;

      fill_scrape_file (s, &file, m->info_hashes[i]);
      g_array_append_val (files, file);
    }
  } else {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, s->swarms);
    while (g_hash_table_iter_next (&iter, &key, NULL)) {
      SwarmTrackerScrapeFile file;

      fill_scrape_file (s, &file, key);
      g_array_append_val (files, file);
    }
  }

  reply = swarm_tracker_message_write_scrape_reply (
      (SwarmTrackerScrapeFile *) files->data, files->len, &error);
  if (reply == NULL)
    conn_fail (conn, "scrape reply too large; ask for fewer info_hashes");
  else
    conn_send (conn, reply);
}

/* ---- connections -------------------------------------------------- */

static void
on_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer user_data)
{
  Conn *conn = user_data;
  g_autoptr (SwarmTrackerMessage) m = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *data;

  if (conn->flooded)
    return;
  if (swarm_rate_limiter_take (conn->budget, g_get_monotonic_time (), 1) == 0) {
    GST_INFO ("closing connection from %s: message flood", conn->host);
    conn->flooded = TRUE;
    conn->server->stats.connections_closed_flood++;
    conn_fail (conn, "too many messages");
    soup_websocket_connection_close (ws,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
    return;
  }
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    conn_fail (conn, "binary frames are not part of the protocol");
    return;
  }

  data = g_bytes_get_data (message, &len);
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
conn_free (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, conn->joined);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Swarm *swarm = get_swarm (s, key, FALSE);

    /* remove_peer() with the owning conn leaves conn->joined alone. */
    if (swarm)
      remove_peer (s, swarm, value, conn);
  }
  g_hash_table_unref (conn->joined);

  if (conn->counted) {
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (s->conns_per_host,
            conn->host));

    if (n <= 1)
      g_hash_table_remove (s->conns_per_host, conn->host);
    else
      g_hash_table_insert (s->conns_per_host, g_strdup (conn->host),
          GUINT_TO_POINTER (n - 1));
  }

  g_signal_handlers_disconnect_by_data (conn->ws, conn);
  g_object_unref (conn->ws);
  swarm_rate_limiter_free (conn->budget);
  g_free (conn->host);
  g_free (conn);
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
  const gchar *host = soup_server_message_get_remote_host (msg);
  Conn *conn;
  guint n;

  conn = g_new0 (Conn, 1);
  conn->server = s;
  conn->ws = g_object_ref (ws);
  conn->host = g_strdup (host ? host : "");
  conn->joined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  conn->budget = swarm_rate_limiter_new (MESSAGES_PER_S, MESSAGES_BURST);
  g_hash_table_add (s->conns, conn);

  soup_websocket_connection_set_max_incoming_payload_size (ws,
      SWARM_TRACKER_MAX_MESSAGE);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), conn);

  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->conns_per_host, conn->host));
  if (n >= MAX_CONNS_PER_ADDRESS
      || g_hash_table_size (s->conns) > MAX_CONNECTIONS) {
    GST_INFO ("refusing connection: %u already from %s, %u in all", n,
        conn->host, g_hash_table_size (s->conns) - 1);
    s->stats.connections_refused++;
    conn_fail (conn, n >= MAX_CONNS_PER_ADDRESS ?
        "too many connections from this address" : "too many connections");
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
        NULL);
    return;
  }
  conn->counted = TRUE;
  g_hash_table_insert (s->conns_per_host, g_strdup (conn->host),
      GUINT_TO_POINTER (n + 1));
  GST_DEBUG ("connection from %s on %s", conn->host, path);
}

/* ---- public API --------------------------------------------------- */

SwarmTrackerServer *
swarm_tracker_server_new (void)
{
  SwarmTrackerServer *s;

  swarm_init ();

  s = g_new0 (SwarmTrackerServer, 1);
  s->soup = soup_server_new ("server-header", "gst-p2p-tracker ", NULL);
  s->swarms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) swarm_free);
  s->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_free,
      NULL);
  s->conns_per_host = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  soup_server_add_websocket_handler (s->soup, NULL, NULL, NULL, on_websocket,
      s, NULL);
  return s;
}

gboolean
swarm_tracker_server_listen (SwarmTrackerServer * s, const gchar * address,
    guint port, GError ** error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) sockaddr = NULL;
  GSList *listeners, *l;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        _("Invalid tracker listen address \"%s\""), address);
    return FALSE;
  }
  sockaddr = g_inet_socket_address_new (inet, port);
  if (!soup_server_listen (s->soup, sockaddr, 0, error))
    return FALSE;

  listeners = soup_server_get_listeners (s->soup);
  for (l = listeners; l; l = l->next) {
    g_autoptr (GSocketAddress) local =
        g_socket_get_local_address (l->data, NULL);

    if (G_IS_INET_SOCKET_ADDRESS (local)) {
      s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
      break;
    }
  }
  /* the list is ours, the sockets are the server's */
  g_slist_free (listeners);
  GST_INFO ("tracker listening on %s port %u", address, s->port);
  return TRUE;
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
}

void
swarm_tracker_server_free (SwarmTrackerServer * s)
{
  GHashTableIter iter;
  gpointer key;

  if (s == NULL)
    return;

  /* Tell every peer we are going, so their clients reconnect elsewhere or
   * later instead of waiting for a keep-alive to time out. */
  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Conn *conn = key;

    g_signal_handlers_disconnect_by_data (conn->ws, conn);
    if (soup_websocket_connection_get_state (conn->ws) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (conn->ws,
          SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  }
  g_hash_table_unref (s->conns);
  g_hash_table_unref (s->swarms);
  g_hash_table_unref (s->conns_per_host);

  soup_server_disconnect (s->soup);
  g_object_unref (s->soup);
  g_free (s);
}

/* Embedded WebTorrent tracker: WebSocket on every path.
 *
 * A tracker only introduces peers: it keeps, per info_hash, which peer_id
 * is reachable on which WebSocket, hands each offer to one random other
 * peer and routes answers back.  It stores no media and no history.
 *
 * Everything runs on the thread-default GMainContext of the caller of
 * swarm_tracker_server_listen().
 *
 * The tracker runs inside the publisher, on a public port, so it must not
 * be easy to knock over, nor cost the publisher more than its crowd
 * does.  It accepts TCP connections itself and counts each against the
 * limits from that moment (before any HTTP), refusing over them with a
 * 503 that says why; it speaks WebSocket itself (swarm-ws.h), bounding
 * request heads and reassembled messages as the bytes arrive and what
 * waits for a client that does not read, on sockets all watched through
 * one epoll descriptor (swarm-tracker-server-conn.c); and a sweep closes
 * connections that do not announce or go silent.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "swarm-tracker-server-private.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

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
  g_ptr_array_unref (swarm->list);
  g_hash_table_unref (swarm->peers);
  g_free (swarm->info_hash);
  g_free (swarm);
}

Swarm *
get_swarm (SwarmTrackerServer * s, const gchar * info_hash, gboolean create)
{
  Swarm *swarm = g_hash_table_lookup (s->swarms, info_hash);

  if (swarm == NULL && create) {
    swarm = g_new0 (Swarm, 1);
    swarm->info_hash = g_strdup (info_hash);
    swarm->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        (GDestroyNotify) peer_free);
    swarm->list = g_ptr_array_new ();
    g_hash_table_insert (s->swarms, swarm->info_hash, swarm);
  }
  return swarm;
}

static Peer *
add_peer (Swarm * swarm, const gchar * peer_id, Conn * conn)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->peer_id = g_strdup (peer_id);
  peer->conn = conn;
  peer->left = -1;
  peer->index = swarm->list->len;
  g_ptr_array_add (swarm->list, peer);
  g_hash_table_insert (swarm->peers, peer->peer_id, peer);
  return peer;
}

/* Removes @peer_id from @swarm, and the swarm itself once empty.  With
 * @only_conn set, a peer_id since taken over by another connection stays. */
void
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
  /* the last one takes its place in the list */
  g_ptr_array_remove_index_fast (swarm->list, peer->index);
  if (peer->index < swarm->list->len)
    ((Peer *) g_ptr_array_index (swarm->list, peer->index))->index =
        peer->index;
  g_hash_table_remove (swarm->peers, peer_id);
  if (g_hash_table_size (swarm->peers) == 0)
    g_hash_table_remove (s->swarms, swarm->info_hash);
}

/* ---- sending ------------------------------------------------------ */

void
conn_send (Conn * conn, const gchar * text)
{
  if (conn->pipe)
    swarm_tracker_pipe_send (conn->pipe, text);
  else
    conn_send_ws (conn, text);
}

void
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

/* Each offer goes to a different random peer, other than the offerer,
 * drawn from the swarm's list: an announce costs as much in a swarm of
 * ten thousand as in one of ten. */
static void
relay_offers (Conn * conn, Swarm * swarm, const SwarmTrackerMessage * m)
{
  SwarmClock *clock = conn->server->clock;
  Peer *to[SWARM_TRACKER_MAX_OFFERS];
  guint n_others = swarm->list->len - 1;        /* the offerer is listed */
  guint n, i, j;

  n = m->n_offers;
  if (m->numwant >= 0)
    n = MIN (n, (guint64) m->numwant);
  n = MIN (n, n_others);
  if (n == 0)
    return;

  if (n_others <= 4 * n) {
    /* few peers: shuffle them all (in the table's order, as before there
     * was a list: a seed gives the same swarm), take the first n */
    g_autofree Peer **others = g_new (Peer *, n_others);
    GHashTableIter iter;
    gpointer value;
    guint k = 0;

    g_hash_table_iter_init (&iter, swarm->peers);
    while (g_hash_table_iter_next (&iter, NULL, &value)) {
      Peer *peer = value;

      if (peer->conn != conn)
        others[k++] = peer;
    }
    for (i = 0; i < n; i++) {
      Peer *tmp = others[i];

      j = swarm_clock_random_int_range (clock, i, n_others);
      others[i] = others[j];
      others[j] = tmp;
      to[i] = others[i];
    }
  } else {
    /* many: draw until n distinct others (each draw misses under 1 in 4) */
    for (i = 0; i < n;) {
      Peer *peer = g_ptr_array_index (swarm->list,
          swarm_clock_random_int_range (clock, 0, swarm->list->len));

      for (j = 0; j < i && to[j] != peer; j++);
      if (peer->conn != conn && j == i)
        to[i++] = peer;
    }
  }

  for (i = 0; i < n; i++) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *text = NULL;

    text = swarm_tracker_message_write_relay (m->info_hash, m->peer_id,
        m->offers[i].offer_id, "offer", m->offers[i].sdp, &error);
    if (text == NULL) {
      conn_fail (conn, "offer too large");
      continue;
    }
    GST_LOG ("offer %s from %s to %s", m->offers[i].offer_id, m->peer_id,
        to[i]->peer_id);
    conn_send (to[i]->conn, text);
  }
}

void
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

  /* A swarm has a peer per connection at most: max_connections bounds
   * it. */
  if (peer == NULL) {
    if (g_hash_table_size (conn->joined) >= MAX_SWARMS_PER_CONN) {
      s->stats.messages_refused++;
      conn_fail (conn, "too many swarms on one connection");
      if (g_hash_table_size (swarm->peers) == 0)
        g_hash_table_remove (s->swarms, swarm->info_hash);
      return;
    }
    peer = add_peer (swarm, m->peer_id, conn);
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
  s->stats.announces++;

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

void
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


/* ---- public API --------------------------------------------------- */

void
swarm_tracker_server_limits_init (SwarmTrackerServerLimits * limits)
{
  g_return_if_fail (limits != NULL);
  limits->max_connections = DEFAULT_MAX_CONNECTIONS;
  limits->max_connections_per_address = 0;
  limits->connection_rate = DEFAULT_CONNECTION_RATE;
  limits->connection_burst = DEFAULT_CONNECTION_BURST;
  limits->unannounced_timeout_ms = UNANNOUNCED_TIMEOUT_MS;
  limits->idle_timeout_ms = IDLE_TIMEOUT_MS;
  limits->max_queued_per_connection = DEFAULT_MAX_QUEUED_PER_CONNECTION;
  limits->max_queued = DEFAULT_MAX_QUEUED;
}

SwarmTrackerServer *
swarm_tracker_server_new (void)
{
  SwarmTrackerServer *s;

  swarm_init ();

  s = g_new0 (SwarmTrackerServer, 1);
  s->clock = swarm_clock_get_system ();
  s->swarms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) swarm_free);
  s->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_free,
      NULL);
  s->dead = g_ptr_array_new ();
  s->chunk = g_malloc (16384);
  s->addresses = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) address_free);
  s->spare_fd = s->listen_fd = s->epfd = -1;
  swarm_tracker_server_limits_init (&s->limits);
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
    const SwarmTrackerServerLimits * limits)
{
  g_return_if_fail (s != NULL && limits != NULL && s->sweeper == NULL);
  g_return_if_fail (limits->max_connections > 0);
  g_return_if_fail (limits->unannounced_timeout_ms > 0
      && limits->idle_timeout_ms > 0);
  g_return_if_fail (limits->max_queued_per_connection > 0
      && limits->max_queued > 0);
  s->limits = *limits;
  if (s->limits.connection_rate)
    s->limits.connection_burst = MAX (s->limits.connection_burst, 1);
}

void
swarm_tracker_server_get_limits (SwarmTrackerServer * s,
    SwarmTrackerServerLimits * limits)
{
  g_return_if_fail (s != NULL && limits != NULL);
  *limits = s->limits;
}

void
swarm_tracker_server_set_clock (SwarmTrackerServer * s, SwarmClock * clock)
{
  swarm_clock_replace (&s->clock, clock);
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
  stats->connections = conns_open (s);
  stats->bytes_held = s->bytes_held;
  stats->bytes_queued = s->bytes_queued;
}

void
swarm_tracker_server_free (SwarmTrackerServer * s)
{
  if (s == NULL)
    return;

  listener_close (s);
  if (s->sweeper) {
    g_source_destroy (s->sweeper);
    g_source_unref (s->sweeper);
  }
  conns_say_goodbye (s);
  /* every connection, the dead ones too: conn_free closes its socket */
  g_ptr_array_set_size (s->dead, 0);
  g_hash_table_unref (s->conns);
  g_hash_table_unref (s->swarms);
  g_hash_table_unref (s->addresses);
  g_ptr_array_unref (s->dead);
  poller_free (s);

  if (s->memory_name)
    memory_registry_remove (s->memory_name, s);
  g_free (s->memory_name);
  g_free (s->served_info_hash);
  g_free (s->chunk);
  swarm_clock_unref (s->clock);
  g_free (s);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Stats: per-partner rates and descriptions (SwarmPeerInfo), the
 * periodic stats message and swarm_session_get_stats().
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

/* Smoothed byte rates each way, sampled about every 100 ms. */
static void
peer_entry_update_rates (PeerEntry * e, gint64 now)
{
  guint64 in = swarm_peer_get_bytes_received (e->peer);
  guint64 out = swarm_peer_get_bytes_sent (e->peer);
  gdouble dt = (now - e->rate_sampled_us) / 1e6;

  if (e->rate_sampled_us && dt >= 0.05) {
    gdouble a = MIN (1.0, dt / 1.0);   /* ~1 s time constant */
    e->rate_in_bps += a * ((in - e->rate_last_in) / dt - e->rate_in_bps);
    e->rate_out_bps += a * ((out - e->rate_last_out) / dt - e->rate_out_bps);
  } else if (e->rate_sampled_us) {
    return;
  }
  e->rate_last_in = in;
  e->rate_last_out = out;
  e->rate_sampled_us = now;
}

/* The "peer" structure of one ready partner (fields in docs/stats.md). */
GstStructure *
peer_entry_describe (PeerEntry * e, gint64 now)
{
  SwarmLink *link = swarm_peer_get_link (e->peer);
  GstStructure *st;
  gchar *address;
  gint64 ice_ms, connect_ms;
  SwarmCongestionStats cc;

  address = swarm_link_get_remote_address (link);
  swarm_link_get_timing (link, &ice_ms, &connect_ms);
  swarm_congestion_get_stats (swarm_peer_get_congestion (e->peer), now, &cc);
  st = gst_structure_new ("peer",
      "id", G_TYPE_STRING, swarm_peer_get_remote_id (e->peer),
      "role", G_TYPE_STRING,
      swarm_peer_get_remote_role (e->peer) == SWARM_PEER_ROLE_ORIGIN ?
      "origin" : "viewer",
      "address", G_TYPE_STRING, address ? address : "",
      "local-candidate-type", G_TYPE_STRING,
      swarm_link_get_local_candidate_type (link) ?
      swarm_link_get_local_candidate_type (link) : "",
      "remote-candidate-type", G_TYPE_STRING,
      swarm_link_get_remote_candidate_type (link) ?
      swarm_link_get_remote_candidate_type (link) : "",
      "address-kind", G_TYPE_STRING,
      swarm_link_get_remote_candidate_type (link) ?
      swarm_link_get_remote_candidate_type (link) : "",
      "ice-ms", G_TYPE_INT64, ice_ms,
      "connect-ms", G_TYPE_INT64, connect_ms,
      "rtt-ms", G_TYPE_DOUBLE, swarm_peer_get_rtt_us (e->peer) / 1000.0,
      "rate-in-kbps", G_TYPE_DOUBLE, e->rate_in_bps * 8 / 1000,
      "rate-out-kbps", G_TYPE_DOUBLE, e->rate_out_bps * 8 / 1000,
      "cwnd-bytes", G_TYPE_UINT64,
      (guint64) swarm_congestion_get_cwnd (swarm_peer_get_congestion
          (e->peer)),
      "queuing-delay-ms", G_TYPE_DOUBLE,
      swarm_congestion_get_queuing_delay_us (swarm_peer_get_congestion
          (e->peer)) / 1000.0,
      "bytes-sent", G_TYPE_UINT64, swarm_peer_get_bytes_sent (e->peer),
      "bytes-received", G_TYPE_UINT64,
      swarm_peer_get_bytes_received (e->peer),
      "bytes-lost", G_TYPE_UINT64, cc.bytes_lost,
      "window-cuts", G_TYPE_UINT, cc.losses,
      "window-timeouts", G_TYPE_UINT, cc.timeouts, NULL);
  g_free (address);
  return st;
}

/* Whether anyone but the session holds @e's SwarmPeerInfo: with one
 * reference, nobody can read it (it was passed with peer-added and no
 * handler kept it), so describing the partner into it every 100 ms would
 * be work nobody sees. */
static gboolean
peer_info_observed (PeerEntry * e)
{
  return e->info && g_atomic_int_get (&G_OBJECT (e->info)->ref_count) > 1;
}

/* The "peer-stats" list: one "peer" structure per ready partner. */
static void
build_peer_list (SwarmSession * s, gint64 now, GValue * list)
{
  guint i;

  g_value_init (list, GST_TYPE_ARRAY);
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    GValue v = G_VALUE_INIT;

    if (!peer_entry_is_ready (e))
      continue;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, peer_entry_describe (e, now));
    gst_value_array_append_and_take_value (list, &v);
  }
}

/* Every 100 ms: the counters summed over the partners, their rates, and
 * what others may read of them.  A session on its own thread keeps the
 * "peer-stats" list ready for swarm_session_get_stats() from any thread;
 * one on its caller's context is asked on that thread, and builds the list
 * then (a simulator of thousands of sessions spent a fifth of its time
 * here, describing partners nobody read about). */
void
session_refresh_peer_stats (SwarmSession * s)
{
  GValue list = G_VALUE_INIT;
  guint64 sent = s->closed_bytes_sent;
  guint64 pushed = s->closed_segments_pushed;
  guint64 parity = s->closed_parity_sent;
  SwarmPeerAbuse abuse = s->closed_abuse;
  gint64 now = swarm_clock_now_us (s->clock);
  guint i, n_ready = 0;

  if (s->own_thread)
    g_value_init (&list, GST_TYPE_ARRAY);
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    GstStructure *st;

    sent += swarm_peer_get_bytes_sent (e->peer);
    pushed += swarm_peer_get_segments_pushed (e->peer);
    parity += swarm_peer_get_parity_sent (e->peer);
    {
      SwarmPeerAbuse a;
      swarm_peer_get_abuse (e->peer, &a);
      abuse.junk += a.junk;
      abuse.waste += a.waste;
      abuse.requests_refused += a.requests_refused;
    }
    if (!peer_entry_is_ready (e))
      continue;
    peer_entry_update_rates (e, now);
    n_ready++;
    if (!s->own_thread && !peer_info_observed (e)) {
      SwarmCongestionStats cc;

      /* what describing it would do to the controller: reading its stats
       * moves its loss epochs on (swarm_congestion_get_stats), and a
       * session must not behave differently for being read about */
      swarm_congestion_get_stats (swarm_peer_get_congestion (e->peer), now,
          &cc);
      continue;
    }
    st = peer_entry_describe (e, now);
    if (e->info)
      swarm_peer_info_update (e->info, st);
    if (s->own_thread) {
      GValue v = G_VALUE_INIT;

      g_value_init (&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (&v, st);
      gst_value_array_append_and_take_value (&list, &v);
    } else {
      gst_structure_free (st);
    }
  }

  g_mutex_lock (&s->lock);
  if (s->own_thread) {
    g_value_unset (&s->peer_stats);
    s->peer_stats = list;
  }
  s->counters.bytes_sent = sent;
  s->counters.segments_pushed = pushed;
  s->counters.parity_sent = parity;
  s->n_ready_peers = n_ready;
  s->counters.messages_junk = abuse.junk;
  s->counters.requests_refused = abuse.requests_refused;
  s->counters.transfer_bytes_now = s->transfer_bytes;
  if (s->signalling.tracker_server)
    swarm_tracker_server_get_stats (s->signalling.tracker_server, &s->tracker_stats);
  g_mutex_unlock (&s->lock);
  session_signalling_check_tracker (s);
}

gboolean
stats_cb (gpointer data)
{
  SwarmSession *s = data;
  GstStructure *st;

  session_refresh_peer_stats (s);
  st = swarm_session_get_stats (s);
  session_emit_stats (s, st);
  gst_structure_free (st);
  return G_SOURCE_CONTINUE;
}

GstStructure *
swarm_session_get_stats (SwarmSession * s)
{
  GstStructure *st;

  /* on the caller's context, the caller is the network thread: the
   * partners as they are now (session_refresh_peer_stats) */
  if (!s->own_thread) {
    GValue list = G_VALUE_INIT;

    build_peer_list (s, swarm_clock_now_us (s->clock), &list);
    g_mutex_lock (&s->lock);
    g_value_unset (&s->peer_stats);
    s->peer_stats = list;
    g_mutex_unlock (&s->lock);
  }
  g_mutex_lock (&s->lock);
  st = gst_structure_new (s->stats_name,
      "peers", G_TYPE_UINT, s->n_ready_peers,
      "bytes-sent", G_TYPE_UINT64, s->counters.bytes_sent,
      "bytes-received", G_TYPE_UINT64, s->counters.bytes_received,
      "pex-links", G_TYPE_UINT64, s->counters.pex_links,
      "segments-pushed", G_TYPE_UINT64, s->counters.segments_pushed,
      "peers-misbehaved", G_TYPE_UINT64, s->counters.peers_misbehaved,
      "messages-junk", G_TYPE_UINT64, s->counters.messages_junk,
      "chunks-unwanted", G_TYPE_UINT64, s->counters.chunks_unwanted,
      "chunks-duplicate", G_TYPE_UINT64, s->counters.chunks_duplicate,
      "bytes-wasted", G_TYPE_UINT64, s->counters.bytes_wasted,
      "chunks-repaired", G_TYPE_UINT64, s->counters.chunks_repaired,
      "chunks-rebuilt", G_TYPE_UINT64, s->counters.chunks_rebuilt,
      "parity-sent", G_TYPE_UINT64, s->counters.parity_sent,
      "parity-received", G_TYPE_UINT64, s->counters.parity_received,
      "requests-resent", G_TYPE_UINT64, s->counters.requests_resent,
      "transfers-rescued", G_TYPE_UINT64, s->counters.transfers_rescued,
      "requests-refused-busy", G_TYPE_UINT64,
      s->counters.requests_refused_busy,
      "requests-turned-away", G_TYPE_UINT64,
      s->counters.requests_turned_away,
      "requests-refused", G_TYPE_UINT64, s->counters.requests_refused,
      "offers-refused", G_TYPE_UINT64, s->counters.offers_refused,
      "offers-refused-full", G_TYPE_UINT64, s->counters.offers_refused_full,
      "partners-replaced", G_TYPE_UINT64, s->counters.partners_replaced,
      "newcomers-admitted", G_TYPE_UINT64, s->counters.newcomers_admitted,
      "partners-traded", G_TYPE_UINT64, s->counters.partners_traded,
      "signals-dropped", G_TYPE_UINT64, s->counters.signals_dropped,
      "announcements-refused", G_TYPE_UINT64, s->counters.announcements_refused,
      "publisher-restarts", G_TYPE_UINT64, s->edge.epochs,
      "address-bans", G_TYPE_UINT64, s->counters.address_bans,
      "links-refused-address", G_TYPE_UINT64, s->counters.links_refused_address,
      "edges-refused", G_TYPE_UINT64, s->edge.refused_clock,
      "clock-offset-ms", G_TYPE_INT64, s->edge.valid ?
      s->edge.clock_offset_us / 1000 : (gint64) 0,
      "transfer-bytes", G_TYPE_UINT64, s->counters.transfer_bytes_now,
      "transfer-bytes-peak", G_TYPE_UINT64, s->counters.transfer_bytes_peak,
      "descriptions-refused", G_TYPE_UINT64, s->counters.descriptions_refused, NULL);
  if (s->role == SWARM_SESSION_VIEWER) {
    gst_structure_set (st,
        "bytes-from-origin", G_TYPE_UINT64, s->counters.bytes_from_origin,
        "bytes-from-peers", G_TYPE_UINT64, s->counters.bytes_from_peers,
        "segments-received", G_TYPE_UINT64, s->counters.segments_received,
        "segments-played", G_TYPE_UINT64, s->counters.segments_played,
        "segments-missed", G_TYPE_UINT64, s->counters.segments_missed,
        "continuity", G_TYPE_DOUBLE, s->counters.segments_played + s->counters.segments_missed ?
        (gdouble) s->counters.segments_played / (s->counters.segments_played +
            s->counters.segments_missed) : 1.0,
        "segments-rejected", G_TYPE_UINT64, s->counters.segments_rejected,
        "peers-banned", G_TYPE_UINT64, s->counters.peers_banned,
        "segments-verified", G_TYPE_UINT64, s->counters.segments_verified,
        "bytes-verified", G_TYPE_UINT64, s->counters.bytes_verified,
        "verify-us", G_TYPE_UINT64, s->counters.verify_us,
        "startup-ms", G_TYPE_INT64, s->startup_ms, NULL);
  } else {
    gst_structure_set (st,
        "segments-published", G_TYPE_UINT64, s->counters.segments_published,
        "bytes-published", G_TYPE_UINT64, s->counters.bytes_published,
        "upload-copies", G_TYPE_DOUBLE, s->counters.bytes_published ?
        (gdouble) s->counters.bytes_sent / s->counters.bytes_published : 0.0,
        "tracker-port", G_TYPE_UINT, s->tracker_port,
        "tracker-connections", G_TYPE_UINT, s->tracker_stats.connections,
        "tracker-connections-refused", G_TYPE_UINT64,
        s->tracker_stats.connections_refused,
        "tracker-connections-refused-full", G_TYPE_UINT64,
        s->tracker_stats.refused_full,
        "tracker-connections-refused-address", G_TYPE_UINT64,
        s->tracker_stats.refused_address,
        "tracker-connections-refused-rate", G_TYPE_UINT64,
        s->tracker_stats.refused_rate,
        "tracker-connections-refused-fds", G_TYPE_UINT64,
        s->tracker_stats.refused_fds,
        "tracker-connections-flooding", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_flood,
        "tracker-connections-timed-out", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_unannounced +
        s->tracker_stats.connections_closed_half_open +
        s->tracker_stats.connections_closed_idle,
        "tracker-connections-oversize", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_oversize,
        "tracker-connections-slow", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_slow,
        "tracker-announces", G_TYPE_UINT64, s->tracker_stats.announces,
        "tracker-announces-refused", G_TYPE_UINT64,
        s->tracker_stats.announces_refused_peer_id +
        s->tracker_stats.announces_refused_info_hash,
        "tracker-bytes-held", G_TYPE_UINT64,
        (guint64) s->tracker_stats.bytes_held,
        "tracker-bytes-queued", G_TYPE_UINT64,
        (guint64) s->tracker_stats.bytes_queued, NULL);
  }
  gst_structure_set_value (st, "peer-stats", &s->peer_stats);
  g_mutex_unlock (&s->lock);
  return st;
}

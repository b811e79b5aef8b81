/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fetching: which segment to ask of which partner (the scheduler glue),
 * retries of stalled transfers, and the upload pump.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

/* A transfer that made no progress for a while is taken from its partner
 * (marked slow for a moment) and handed back to the scheduler, keeping the
 * chunks it already has. */
void
session_retry_transfers (SwarmSession * s, gint64 now)
{
  GHashTableIter it;
  gpointer value;
  guint64 playout;
  gboolean playout_set;

  g_mutex_lock (&s->lock);
  playout = s->playout_seq;
  playout_set = s->playout_set;
  g_mutex_unlock (&s->lock);

  g_hash_table_iter_init (&it, s->transfers);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Transfer *t = value;
    gint64 rtt, repair_after;

    if (playout_set && t->seq < playout) {
      /* played past: its source stops sending it */
      if (t->source)
        swarm_peer_cancel (t->source->peer, t->seq);
      transfer_detach (t);
      g_hash_table_iter_remove (&it);
      continue;
    }
    if (!t->source)
      continue;
    /* lost requests, tails and repairs are asked again after this */
    rtt = swarm_peer_get_rtt_us (t->source->peer);
    repair_after = rtt ? 2 * rtt + TAIL_STALL_MARGIN_US : STALL_MIN_US;
    if (t->n_got == 0 && !t->request_resent) {
      /* Not one chunk a round trip after asking: on a lossy path the
       * REQUEST itself is the likeliest loss (about as often as the path
       * loses any packet), and waiting out the stall timeout for it would
       * cost the segment its deadline.  Ask the same partner once more;
       * one still busy with its queue ignores the repeat. */
      if (rtt && now - t->last_progress_us >= repair_after) {
        t->request_resent = TRUE;
        swarm_peer_request (t->source->peer, t->seq, 0, 0, NULL);
        g_mutex_lock (&s->lock);
        s->counters.requests_resent++;
        g_mutex_unlock (&s->lock);
        continue;
      }
    }
    if (t->n_got > 0 && t->tail_repairs < TAIL_REPAIRS) {
      /* the source is sending this one: chunks at its end, or repairs,
       * were lost; asked again while the source keeps sending us data */
      if (now - t->last_progress_us < repair_after)
        continue;
      if (now - t->source->last_data_us < STALL_MIN_US) {
        PeerEntry *e = t->source;

        t->tail_repairs++;
        transfer_detach (t);
        transfer_request (s, t, e);
        g_mutex_lock (&s->lock);
        s->counters.chunks_repaired += t->chunk_count - t->n_got;
        g_mutex_unlock (&s->lock);
        continue;
      }
    }
    if (now - t->last_progress_us < MAX (STALL_MIN_US, 4 * rtt))
      continue;
    GST_DEBUG_OBJECT (s, "transfer of %" G_GUINT64_FORMAT " from %s stalled at %u/%u",
        t->seq, swarm_peer_get_remote_id (t->source->peer), t->n_got,
        t->chunk_count);
    t->source->slow_until_us = now + SLOW_PENALTY_US;
    /* someone else is asked: this one stops, or both would send it */
    swarm_peer_cancel (t->source->peer, t->seq);
    transfer_detach (t);
    /* nobody asked for a push: what it left is not worth its memory */
    if (t->pushed)
      g_hash_table_iter_remove (&it);
  }
}

static gboolean
sched_peer_has (gconstpointer peer, guint64 seq)
{
  return swarm_peer_has ((SwarmPeer *) peer, seq);
}

static void session_request_schedule_at (SwarmSession * s, gint64 at);

/* Until when the freshest segment, @newest, is left to a push parent's
 * push (see PUSH_WAIT_US); 0 if none is expected. */
static gint64
session_push_wait_until (SwarmSession * s, guint64 newest, gint64 heard_us,
    gint64 now)
{
  guint i;

  if (now >= heard_us + PUSH_WAIT_US)
    return 0;
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (peer_entry_is_ready (e) && e->pushed_seq == newest
        && e->slow_until_us <= now
        && swarm_peer_get_remote_role (e->peer) != SWARM_PEER_ROLE_ORIGIN)
      return heard_us + PUSH_WAIT_US;
  }
  return 0;
}

void
session_schedule (SwarmSession * s)
{
  GArray *wanted, *peers, *requests, *entries;
  guint64 from, to, seq;
  gboolean have_range;
  SwarmSchedView view;
  guint i, n_urgent = 0;
  gint64 now = swarm_clock_now_us (s->clock), heard_us, wait_until;

  if (s->role != SWARM_SESSION_VIEWER)
    return;
  g_mutex_lock (&s->lock);
  have_range = s->playout_set && s->newest_valid
      && s->newest_seq >= s->playout_seq;
  from = s->playout_seq;
  to = s->newest_seq;
  heard_us = s->newest_changed_us;
  g_mutex_unlock (&s->lock);
  if (!have_range)
    return;
  wait_until = session_push_wait_until (s, to, heard_us, now);
  if (wait_until) {
    session_request_schedule_at (s, wait_until);
    if (to == from)
      return;
    to--;
  }
  to = MIN (to, from + LOOKAHEAD_SEGMENTS - 1);

  if (!s->sched_wanted) {
    s->sched_wanted = g_array_sized_new (FALSE, FALSE, sizeof (guint64),
        LOOKAHEAD_SEGMENTS);
    s->sched_peers = g_array_new (FALSE, TRUE, sizeof (SwarmSchedPeer));
    s->sched_entries = g_array_new (FALSE, FALSE, sizeof (PeerEntry *));
    s->sched_requests = g_array_new (FALSE, FALSE, sizeof (SwarmSchedRequest));
  }
  wanted = s->sched_wanted;
  peers = s->sched_peers;
  entries = s->sched_entries;
  requests = s->sched_requests;
  g_array_set_size (wanted, 0);
  g_array_set_size (peers, 0);
  g_array_set_size (entries, 0);
  g_array_set_size (requests, 0);
  for (seq = from; seq <= to; seq++) {
    Transfer *t = session_find_transfer (s, seq);
    if (!swarm_store_has (s->store, seq) && (!t || !t->source)) {
      g_array_append_val (wanted, seq);
      if (seq < from + URGENT_SEGMENTS)
        n_urgent++;
    }
  }
  /* mostly so between segments: all there or on its way */
  if (wanted->len == 0)
    return;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    SwarmSchedPeer sp = { 0 };

    session_prefetch_partners (s, i);
    if (!peer_entry_is_ready (e))
      continue;
    sp.is_origin =
        swarm_peer_get_remote_role (e->peer) == SWARM_PEER_ROLE_ORIGIN;
    sp.in_flight = swarm_peer_get_in_flight (e->peer);
    sp.max_in_flight = MAX_IN_FLIGHT_PER_PEER;
    sp.rtt_us = swarm_peer_get_rtt_us (e->peer);
    sp.rate_bps = e->rate_in_bps;
    sp.slow = e->slow_until_us > now;
    sp.has = sched_peer_has;
    sp.peer = e->peer;
    g_array_append_val (peers, sp);
    g_array_append_val (entries, e);
  }

  if (peers->len > 0) {
    view.wanted = (const guint64 *) wanted->data;
    view.n_wanted = wanted->len;
    view.n_urgent = n_urgent;
    view.segment_bytes = s->segment_bytes_avg;
    view.peers = (const SwarmSchedPeer *) peers->data;
    view.n_peers = peers->len;
    s->scheduler_class->schedule (s->scheduler, &view, requests);
  }

  for (i = 0; i < requests->len; i++) {
    SwarmSchedRequest *r = &g_array_index (requests, SwarmSchedRequest, i);
    PeerEntry *e;
    Transfer *t;

    if (r->peer_index >= entries->len)
      continue;
    e = g_array_index (entries, PeerEntry *, r->peer_index);
    t = session_find_transfer (s, r->seq);
    if (t && t->source)
      continue;
    if (!t)
      t = session_add_transfer (s, r->seq, NULL);
    transfer_request (s, t, e);
  }
}

static gboolean
schedule_cb (gpointer data)
{
  SwarmSession *s = data;

  s->schedule_pending = FALSE;
  session_schedule (s);
  return G_SOURCE_CONTINUE;
}

/* Coalesces many triggers (HAVEs, completions) into one pass, on a source
 * made once and armed for the soonest time asked: every HAVE made,
 * attached and freed an idle source of its own.  Network thread only. */
static void
session_request_schedule_at (SwarmSession * s, gint64 at)
{
  if (!s->running || (s->schedule_pending && s->schedule_at_us <= at))
    return;
  if (!s->schedule_source)
    s->schedule_source = session_attach_deadline (s, schedule_cb);
  s->schedule_pending = TRUE;
  s->schedule_at_us = at;
  swarm_clock_source_set_deadline (s->clock, s->schedule_source, at);
}

void
session_request_schedule (SwarmSession * s)
{
  session_request_schedule_at (s, swarm_clock_now_us (s->clock));
}

gboolean
schedule_from_any_thread (gpointer data)
{
  session_request_schedule (data);
  return G_SOURCE_REMOVE;
}

/* The pump runs when a partner's next chunk may go (its window, pacing
 * and the upload limit say when: swarm_peer_pump), or when an ACK or a new
 * upload comes in (on_peer_upload); one timer for all partners, at the
 * soonest of their times.  No sooner than PUMP_MS after the last run,
 * though: a fast link would otherwise wake once per chunk, where a batch
 * every PUMP_MS fits the pacer's burst.  A window only an ACK can open
 * has no time of its own (G_MAXINT64): it is looked at again after
 * PUMP_IDLE_MS all the same, in case that ACK never comes. */
static void
pump_arm (SwarmSession * s, gint64 now, gint64 wait)
{
  gint64 at;

  if (wait < 0 || s->stopping)
    return;
  at = now + CLAMP (wait, PUMP_MS * 1000, PUMP_IDLE_MS * 1000);
  if (s->pump_deadline_us >= 0 && s->pump_deadline_us <= at)
    return;
  s->pump_deadline_us = at;
  swarm_clock_source_set_deadline (s->clock, s->pump_source, at);
}

static gboolean
pump_cb (gpointer data)
{
  SwarmSession *s = data;
  gint64 now = swarm_clock_now_us (s->clock), next = -1;
  guint i;

  s->pump_deadline_us = -1;
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    gint64 wait;

    session_prefetch_partners (s, i);
    if (!peer_entry_is_ready (e))
      continue;
    wait = swarm_peer_pump (e->peer, s->upload_limiter, now);
    if (wait >= 0 && (next < 0 || wait < next))
      next = wait;
  }
  pump_arm (s, now, next);
  return G_SOURCE_CONTINUE;
}

void
on_peer_upload (SwarmPeer * p, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  gint64 now = swarm_clock_now_us (s->clock);

  if (s->stopping)
    return;
  if (!s->pump_source) {
    s->pump_source = session_attach_deadline (s, pump_cb);
    s->pump_deadline_us = -1;
  }
  /* Send what the window allows right away, unless the pump runs soon
   * anyway (it batches what every partner's ACKs opened meanwhile); the
   * rest when it may go. */
  if (s->pump_deadline_us >= 0 && s->pump_deadline_us <= now + PUMP_MS * 1000)
    return;
  pump_arm (s, now, swarm_peer_pump (p, s->upload_limiter, now));
}

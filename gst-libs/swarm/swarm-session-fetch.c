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

/* Playout's word on when it gives up on a segment
 * (swarm_session_set_deadline), read once for a pass over the transfers. */
typedef struct {
  guint64 seq;                  /* 0: no word yet */
  gint64 us;
  gint64 interval_us;           /* a segment's time, 0 until measured */
} Deadlines;

/* Lock not held. */
static void
deadlines_read (SwarmSession * s, Deadlines * d)
{
  g_mutex_lock (&s->lock);
  d->seq = s->deadline_seq;
  d->us = s->deadline_us;
  g_mutex_unlock (&s->lock);
  d->interval_us = s->signalling.segment_interval_us;
}

/* When playout gives up on @seq, in *@due_us; FALSE if unknown. */
static gboolean
deadlines_due (const Deadlines * d, guint64 seq, gint64 * due_us)
{
  if (!d->seq || d->interval_us <= 0 || seq < d->seq)
    return FALSE;
  *due_us = d->us + (gint64) (seq - d->seq) * d->interval_us;
  return TRUE;
}

/* Another partner than @t's source could take @t now. */
static gboolean
transfer_has_alternative (SwarmSession * s, Transfer * t, gint64 now)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e != t->source && peer_entry_is_ready (e) && e->slow_until_us <= now
        && e->busy_until_us <= now
        && swarm_peer_get_in_flight (e->peer) < MAX_IN_FLIGHT_PER_PEER
        && swarm_peer_has (e->peer, t->seq))
      return TRUE;
  }
  return FALSE;
}

/* TRUE if @t, due at @due_us, will be late at its source's pace: a
 * holder on a thin uplink that serves several children trickles a segment
 * over seconds and never stalls, and a busy one leaves a request queued
 * past the deadline (docs/sim.md, finding 10). */
static gboolean
transfer_will_be_late (Transfer * t, gint64 due_us, gint64 now)
{
  gint64 rtt = swarm_peer_get_rtt_us (t->source->peer), pace;

  /* judged on what the current source did since it became one */
  if (t->source_got == 0)
    return due_us - now < RESCUE_IDLE_HORIZON_US
        && now - t->source_since_us >= rtt + RESCUE_IDLE_MARGIN_US;
  if (t->n_got >= t->chunk_count
      || now - t->source_first_us < RESCUE_PACE_MIN_US)
    return FALSE;
  pace = (now - t->source_first_us) / t->source_got;
  return now + pace * (gint64) (t->chunk_count - t->n_got) > due_us;
}

/* Moves @t to whoever the scheduler picks next, keeping its chunks; its
 * source is asked to stop and avoided for a while, as after a stall. */
static void
session_rescue_late (SwarmSession * s, Transfer * t, gint64 due_us, gint64 now)
{
  GST_DEBUG_OBJECT (s, "transfer of %" G_GUINT64_FORMAT " from %s too slow "
      "for its deadline in %" G_GINT64_FORMAT " ms (%u/%u chunks in %"
      G_GINT64_FORMAT " ms): asking another", t->seq,
      swarm_peer_get_remote_id (t->source->peer), (due_us - now) / 1000,
      t->n_got, t->chunk_count, (now - t->created_us) / 1000);
  t->rescues++;
  t->source->slow_until_us = now + SLOW_PENALTY_US;
  swarm_peer_cancel (t->source->peer, t->seq);
  t->stopped = t->source;
  transfer_detach (t);
  /* asked of the next source, as any segment we want */
  t->pushed = FALSE;
  g_mutex_lock (&s->lock);
  s->counters.transfers_rescued++;
  g_mutex_unlock (&s->lock);
  session_request_schedule (s);
}

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
  Deadlines deadlines;

  g_mutex_lock (&s->lock);
  playout = s->playout_seq;
  playout_set = s->playout_set;
  g_mutex_unlock (&s->lock);
  deadlines_read (s, &deadlines);

  g_hash_table_iter_init (&it, s->transfers);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Transfer *t = value;
    gint64 rtt, repair_after, due_us;

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
    if (t->rescues < RESCUES_MAX && deadlines_due (&deadlines, t->seq, &due_us)
        && transfer_will_be_late (t, due_us, now)
        && transfer_has_alternative (s, t, now)) {
      session_rescue_late (s, t, due_us, now);
      continue;
    }
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
       * were lost; asked again at once the first time (a lost last
       * chunk), then while the source keeps sending us data */
      if (now - t->last_progress_us < repair_after)
        continue;
      if (t->tail_repairs == 0
          || now - t->source->last_data_us < STALL_MIN_US) {
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
  guint i, n_urgent = 0, n_pressing = 0;
  gint64 now = swarm_clock_now_us (s->clock), heard_us, wait_until, due_us;
  Deadlines deadlines;

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
  deadlines_read (s, &deadlines);
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
      /* in playout order, so the pressing ones lead the urgent ones */
      if (n_pressing + 1 == wanted->len
          && deadlines_due (&deadlines, seq, &due_us)
          && due_us - now < PRESSING_US)
        n_pressing++;
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
    sp.busy = e->busy_until_us > now;
    sp.has = sched_peer_has;
    sp.peer = e->peer;
    g_array_append_val (peers, sp);
    g_array_append_val (entries, e);
  }

  if (peers->len > 0) {
    view.wanted = (const guint64 *) wanted->data;
    view.n_wanted = wanted->len;
    view.n_urgent = n_urgent;
    view.n_pressing = n_pressing;
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

/* Bytes queued for upload to every partner, not sent yet; in
 * @n_links (nullable), the partners they are queued for. */
static gsize
session_upload_backlog (SwarmSession * s, guint * n_links)
{
  gsize backlog = 0, link;
  guint i, n = 0;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (!e->dead && (link = swarm_peer_get_upload_backlog (e->peer))) {
      backlog += link;
      n++;
    }
  }
  if (n_links)
    *n_links = n;
  return backlog;
}

void
session_sample_upload (SwarmSession * s, gint64 now)
{
  guint64 sent = s->closed_bytes_sent;
  gdouble dt = (now - s->upload.sampled_us) / 1e6;
  gsize backlog;
  guint i;

  if (s->role != SWARM_SESSION_VIEWER
      || (s->upload.sampled_us && dt < 0.05))
    return;
  backlog = session_upload_backlog (s, NULL);
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    sent += swarm_peer_get_bytes_sent (e->peer);
  }
  /* only what was sent with a backlog at both ends of the sample says
   * what the upload can do; idle time would say how little was asked */
  if (s->upload.sampled_us && s->upload.backlogged && backlog > 0
      && sent >= s->upload.last_sent) {
    gdouble rate = (sent - s->upload.last_sent) / dt;

    s->upload.rate_Bps = s->upload.rate_Bps ?
        s->upload.rate_Bps + 0.25 * (rate - s->upload.rate_Bps) : rate;
  }
  s->upload.sampled_us = now;
  s->upload.last_sent = sent;
  s->upload.backlogged = backlog > 0;
}

gboolean
on_peer_admit (SwarmPeer * p, guint64 seq, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  gsize backlog;
  guint n_links;
  guint64 newest;

  if (s->role != SWARM_SESSION_VIEWER || s->upload.rate_Bps <= 0)
    return TRUE;
  /* Only the freshest segments draw a crowd to one holder, the only one
   * as yet; an older one's askers (a joiner filling its buffer) have
   * other holders to choose from, and time. */
  g_mutex_lock (&s->lock);
  newest = s->newest_seq;
  g_mutex_unlock (&s->lock);
  if (seq + BUSY_FRESH_SEGMENTS <= newest)
    return TRUE;
  /* A backlog for one partner only may be that link's congestion
   * window, not our upload: another partner's request has a window of
   * its own.  Queued for several, they share what the upload can do. */
  backlog = session_upload_backlog (s, &n_links);
  if (n_links < 2 || backlog < s->upload.rate_Bps * BUSY_DRAIN_US / 1e6)
    return TRUE;
  GST_LOG_OBJECT (s, "turning away %s's request for %" G_GUINT64_FORMAT
      ": %" G_GSIZE_FORMAT " bytes queued at %.0f kbit/s",
      swarm_peer_get_remote_id (p), seq, backlog,
      s->upload.rate_Bps * 8 / 1000);
  g_mutex_lock (&s->lock);
  s->counters.requests_refused_busy++;
  g_mutex_unlock (&s->lock);
  return FALSE;
}

/* A partner turned our request for @seq away (BUSY): it is not asked for
 * anything for a moment; the scheduler asks another holder, or waits for
 * one, or the origin if the segment is urgent. */
void
on_peer_busy (SwarmPeer * p, guint64 seq, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  Transfer *t = session_find_transfer (s, seq);

  e->busy_until_us = swarm_clock_now_us (s->clock) + BUSY_BACKOFF_US;
  if (t && t->source == e) {
    /* the partner asked is told nothing more: it queued nothing */
    transfer_detach (t);
    g_mutex_lock (&s->lock);
    s->counters.requests_turned_away++;
    g_mutex_unlock (&s->lock);
  }
  session_request_schedule (s);
}

typedef struct {
  SwarmSession *session;
  guint64 seq;
} MissNote;

/* One DEBUG line on why @seq missed its deadline, from the network
 * thread's view: who announced it, and what became of its transfer.  A
 * run's misses are then a grep, and their causes a count
 * (tools/sim/sim-misses.py). */
static gboolean
explain_miss (gpointer data)
{
  MissNote *note = data;
  SwarmSession *s = note->session;
  Transfer *t = session_find_transfer (s, note->seq);
  gint64 now = swarm_clock_now_us (s->clock);
  guint i, ready = 0, holders = 0, slow = 0;
  gboolean origin_partner = FALSE, origin_has = FALSE;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    gboolean origin;

    if (!peer_entry_is_ready (e))
      continue;
    ready++;
    origin = swarm_peer_get_remote_role (e->peer) == SWARM_PEER_ROLE_ORIGIN;
    origin_partner |= origin;
    if (swarm_peer_has (e->peer, note->seq)) {
      holders++;
      origin_has |= origin;
      if (e->slow_until_us > now)
        slow++;
    }
  }
  if (!t)
    GST_DEBUG_OBJECT (s, "miss %" G_GUINT64_FORMAT ": no transfer; "
        "%u of %u partners announced it (%u slow)%s%s", note->seq, holders,
        ready, slow, origin_partner ? ", origin a partner" : "",
        origin_has ? " and has it" : "");
  else
    GST_DEBUG_OBJECT (s, "miss %" G_GUINT64_FORMAT ": transfer from %s%s, "
        "%u/%u chunks, begun %" G_GINT64_FORMAT " ms ago, last progress %"
        G_GINT64_FORMAT " ms ago%s; %u of %u partners announced it (%u "
        "slow)%s%s", note->seq,
        t->source ? swarm_peer_get_remote_id (t->source->peer) : "nobody",
        t->pushed ? " (pushed)" : "", t->n_got, t->chunk_count,
        (now - t->created_us) / 1000, (now - t->last_progress_us) / 1000,
        t->request_resent ? ", request resent" : "", holders, ready, slow,
        origin_partner ? ", origin a partner" : "",
        origin_has ? " and has it" : "");
  g_object_unref (s);
  g_free (note);
  return G_SOURCE_REMOVE;
}

void
session_explain_miss (SwarmSession * s, guint64 seq)
{
  MissNote *note;

  if (gst_debug_category_get_threshold (swarm_session_debug) < GST_LEVEL_DEBUG)
    return;
  note = g_new (MissNote, 1);
  note->session = g_object_ref (s);
  note->seq = seq;
  /* at once where the context is free to take (the simulator's one
   * thread), or the transfer may be gone by the time it looks */
  if (g_main_context_acquire (s->context)) {
    explain_miss (note);
    g_main_context_release (s->context);
  } else {
    g_main_context_invoke (s->context, explain_miss, note);
  }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Publishing and announcing: what segments exist.  The origin publishes
 * segments and signs an EDGE with each; viewers believe announcements
 * (HAVE) only up to the newest EDGE, pass EDGEs on and push fresh segments
 * to their children.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

void
session_note_known (SwarmSession * s, guint64 seq, gboolean keyframe)
{
  gboolean changed = FALSE;

  g_mutex_lock (&s->lock);
  if (!s->newest_valid || seq > s->newest_seq) {
    s->newest_seq = seq;
    s->newest_valid = TRUE;
    s->newest_changed_us = swarm_clock_now_us (s->clock);
    changed = TRUE;
  }
  if (keyframe && (!s->newest_key_valid || seq > s->newest_key_seq)) {
    s->newest_key_seq = seq;
    s->newest_key_valid = TRUE;
    changed = TRUE;
  }
  if (changed)
    session_wake_waiters (s);
  g_mutex_unlock (&s->lock);
}

/* Could segment @seq exist yet?  Only up to what the publisher's newest
 * EDGE says, plus a little slack (swarm-edge.h); before the first EDGE,
 * nothing is believed.  Counts what it refuses. */
SwarmEdgeSeqVerdict
session_check_seq (SwarmSession * s, guint64 seq)
{
  SwarmEdgeSeqVerdict v;

  g_mutex_lock (&s->lock);
  v = swarm_edge_state_check_seq (&s->edge, seq, swarm_clock_now_us (s->clock));
  if (v == SWARM_EDGE_SEQ_AHEAD || v == SWARM_EDGE_SEQ_LIE)
    s->counters.announcements_refused++;
  g_mutex_unlock (&s->lock);
  return v;
}

/* Sends the newest EDGE we hold to one partner: first thing after HELLO,
 * so that its buffer map (sent next) is believed. */
void
session_send_edge (SwarmSession * s, PeerEntry * e)
{
  SwarmMessage edge;
  gboolean valid;

  g_mutex_lock (&s->lock);
  valid = s->edge.valid;
  edge = s->edge.current;
  g_mutex_unlock (&s->lock);
  if (valid)
    swarm_peer_send_message (e->peer, &edge);
}

/* A newer EDGE goes on to every partner but the one it came from. */
static void
session_forward_edge (SwarmSession * s, const SwarmMessage * edge,
    PeerEntry * from)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (e != from && peer_entry_is_ready (e))
      swarm_peer_send_message (e->peer, edge);
  }
}

void
session_announce_segment (SwarmSession * s, guint64 seq,
    SwarmSegmentFlags flags)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (peer_entry_is_ready (e))
      swarm_peer_send_have (e->peer, seq, flags);
  }
}

typedef struct {
  SwarmSession *session;
  guint64 seq;
  SwarmSegmentFlags flags;
  GBytes *bytes;
} PublishJob;

typedef struct {
  SwarmSession *session;
  guint64 seq;
  SwarmSegmentFlags flags;
} LateAnnounce;

/* The rest of the origin's partners learn of a segment now; the swarm has
 * usually spread it to them already, so they will not ask the origin. */
static gboolean
late_announce_cb (gpointer data)
{
  LateAnnounce *la = data;

  if (la->session->running && swarm_store_has (la->session->store, la->seq))
    session_announce_segment (la->session, la->seq, la->flags);
  return G_SOURCE_REMOVE;
}

/* A partner of the origin asked it for @seq: if the origin pushed @seq to
 * another partner, that one did not pass it on in time.  When half of
 * what it was pushed lately comes back so, from two partners or more (a
 * sibling's loss asks for one now and then), it rests from pushes: a thin
 * uplink holding a share of the stream first made the whole swarm wait
 * for it (docs/sim.md, finding 4). */
void
on_peer_asked (SwarmPeer * p, guint64 seq, gpointer user_data)
{
  PeerEntry *asker = user_data;
  SwarmSession *s = asker->session;
  guint i, j, returned;

  if (s->role != SWARM_SESSION_ORIGIN)
    return;
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e == asker || !peer_entry_is_ready (e))
      continue;
    for (j = 0; j < ORIGIN_PUSH_MEMORY; j++)
      if (e->origin_pushed[j] == seq && e->origin_pushed_asks[j] < G_MAXUINT8)
        e->origin_pushed_asks[j]++;
    for (j = 0, returned = 0; j < ORIGIN_PUSH_MEMORY; j++)
      if (e->origin_pushed_asks[j] >= ORIGIN_PUSH_ASKERS)
        returned++;
    if (returned >= ORIGIN_PUSH_RETURNED) {
      GST_DEBUG_OBJECT (s, "%s does not pass on what it is pushed: resting it",
          swarm_peer_get_remote_id (e->peer));
      e->origin_push_rest_until_us =
          swarm_clock_now_us (s->clock) + ORIGIN_PUSH_REST_US;
      memset (e->origin_pushed_asks, 0, sizeof (e->origin_pushed_asks));
      memset (e->origin_pushed, 0, sizeof (e->origin_pushed));
    }
  }
}

static void
origin_remember_push (PeerEntry * e, guint64 seq)
{
  guint slot = e->origin_pushed_next++ % ORIGIN_PUSH_MEMORY;

  e->origin_pushed[slot] = seq;
  e->origin_pushed_asks[slot] = 0;
}

static void
session_origin_announce (SwarmSession * s, guint64 seq,
    SwarmSegmentFlags flags)
{
  GPtrArray *ready = g_ptr_array_new ();
  GPtrArray *pushed = g_ptr_array_new ();
  gint64 now = swarm_clock_now_us (s->clock);
  LateAnnounce *la;
  GSource *source;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (peer_entry_is_ready (e))
      g_ptr_array_add (ready, e);
  }
  /* in turn, passing over partners resting from pushes; if every one is,
   * the one whose rest ends first (the one judged last is the likeliest
   * still to be thin) */
  for (i = 0; i < ready->len && pushed->len < ORIGIN_FIRST_ANNOUNCE; i++) {
    PeerEntry *e = g_ptr_array_index (ready,
        (s->announce_cursor + i) % ready->len);
    if (e->origin_push_rest_until_us <= now)
      g_ptr_array_add (pushed, e);
  }
  if (pushed->len == 0 && ready->len > 0) {
    PeerEntry *soonest = NULL;

    for (i = 0; i < ready->len; i++) {
      PeerEntry *e = g_ptr_array_index (ready,
          (s->announce_cursor + i) % ready->len);
      if (!soonest
          || e->origin_push_rest_until_us < soonest->origin_push_rest_until_us)
        soonest = e;
    }
    g_ptr_array_add (pushed, soonest);
  }
  for (i = 0; i < pushed->len; i++) {
    PeerEntry *e = g_ptr_array_index (pushed, i);
    /* pushed, not just announced: saves the first hop a round trip */
    swarm_peer_push (e->peer, seq);
    swarm_peer_send_have (e->peer, seq, flags);
    origin_remember_push (e, seq);
  }
  g_ptr_array_unref (pushed);
  s->announce_cursor++;
  g_ptr_array_unref (ready);

  la = g_new0 (LateAnnounce, 1);
  la->session = s;
  la->seq = seq;
  la->flags = flags;
  source = swarm_clock_timeout_source_new (s->clock, ORIGIN_LATE_ANNOUNCE_MS);
  g_source_set_callback (source, late_announce_cb, la, g_free);
  g_source_attach (source, s->context);
  g_source_unref (source);
}

/* The origin's signed word that @seq is the newest segment: to every
 * partner at once, before any announcement of it. */
static void
session_origin_edge (SwarmSession * s, guint64 seq, SwarmSegmentFlags flags,
    GBytes * bytes)
{
  SwarmMessage edge = {.type = SWARM_MSG_EDGE };
  GError *error = NULL;
  gint64 published = 0;

  /* the first segment of this run opens its epoch */
  if (!s->origin_epoch_valid) {
    s->origin_epoch_seq = seq;
    s->origin_epoch_valid = TRUE;
  }
  edge.edge.epoch_seq = s->origin_epoch_seq;
  if (!swarm_segment_peek_publish_time (g_bytes_get_data (bytes, NULL),
          g_bytes_get_size (bytes), &published) || published == 0)
    published = swarm_clock_real_us (s->clock);
  edge.edge.seq = seq;
  edge.edge.publish_time_us = published;
  edge.edge.flags = flags;
  if (!swarm_edge_sign (s->identity, &edge, &error)) {
    GST_WARNING_OBJECT (s, "could not sign the EDGE of %" G_GUINT64_FORMAT ": %s", seq,
        error->message);
    g_error_free (error);
    return;
  }
  g_mutex_lock (&s->lock);
  /* our own: the time is ours, whatever it says */
  if (!s->edge.valid || seq > s->edge.current.edge.seq) {
    s->edge.current = edge;
    s->edge.valid = TRUE;
    s->edge.received_us = swarm_clock_now_us (s->clock);
  }
  g_mutex_unlock (&s->lock);
  session_forward_edge (s, &edge, NULL);
}

static gboolean
publish_on_thread (gpointer data)
{
  PublishJob *job = data;
  SwarmSession *s = job->session;

  if (swarm_store_add (s->store, job->seq, job->flags, job->bytes)) {
    session_origin_edge (s, job->seq, job->flags, job->bytes);
    session_note_known (s, job->seq,
        (job->flags & SWARM_SEGMENT_FLAG_KEYFRAME) != 0);
    session_origin_announce (s, job->seq, job->flags);
  }
  return G_SOURCE_REMOVE;
}

static void
publish_job_free (gpointer data)
{
  PublishJob *job = data;

  g_bytes_unref (job->bytes);
  g_free (job);
}

void
swarm_session_publish (SwarmSession * s, guint64 seq, SwarmSegmentFlags flags,
    GBytes * segment)
{
  PublishJob *job = g_new0 (PublishJob, 1);

  job->session = s;
  job->seq = seq;
  job->flags = flags;
  job->bytes = g_bytes_ref (segment);
  g_mutex_lock (&s->lock);
  s->counters.segments_published++;
  s->counters.bytes_published += g_bytes_get_size (segment);
  g_mutex_unlock (&s->lock);
  g_main_context_invoke_full (s->context, G_PRIORITY_DEFAULT,
      publish_on_thread, job, publish_job_free);
}

/* Fresh segments go straight down to the partners that take their
 * segments from us (at most a few), without waiting for them to ask: one
 * round trip less per hop. */
void
session_push_to_children (SwarmSession * s, guint64 seq, PeerEntry * from)
{
  guint i, pushed = 0;

  for (i = 0; i < s->peers->len && pushed < PUSH_CHILDREN; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e != from && peer_entry_is_ready (e)
        && swarm_peer_is_child (e->peer, seq) && swarm_peer_push (e->peer, seq))
      pushed++;
  }
}

void
on_peer_have (SwarmPeer * p, guint64 seq, gboolean keyframe, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  guint64 edge_seq;

  switch (session_check_seq (s, seq)) {
    case SWARM_EDGE_SEQ_LIE:
      swarm_peer_note_lie (p, "announces a segment far past the "
          "publisher's newest");
      return;
    case SWARM_EDGE_SEQ_AHEAD:
      swarm_peer_note_junk (p, "announces a segment the publisher has not "
          "published");
      return;
    case SWARM_EDGE_SEQ_NO_EDGE:
    case SWARM_EDGE_SEQ_OLD_EPOCH:
      /* not news (yet): its map is kept and looked at again when an EDGE
       * makes it credible */
      return;
    case SWARM_EDGE_SEQ_OK:
      break;
  }
  g_mutex_lock (&s->lock);
  edge_seq = s->edge.current.edge.seq;
  g_mutex_unlock (&s->lock);
  /* a start is chosen only among keyframes the publisher has vouched for */
  session_note_known (s, seq, keyframe && seq <= edge_seq);
  session_request_schedule (s);
}

/* The publisher's word on where live is, from a partner.  A newer one is
 * passed on; the first one, or one that opens a new epoch (the publisher
 * restarted), makes the partners' maps worth reading again.  A forged one
 * is junk; one whose time is too far from ours is refused but not blamed
 * (the sender's clock may agree with the publisher's). */
void
on_peer_edge (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  SwarmEdgeVerdict v;
  gboolean first, warn = FALSE;
  gint64 offset_ms = 0;
  guint i;

  /* the origin is the source of EDGEs: one passed back to it (by viewers
   * that still hold its previous run's, after a restart) is not news */
  if (s->role == SWARM_SESSION_ORIGIN)
    return;
  g_mutex_lock (&s->lock);
  first = !s->edge.valid;
  v = swarm_edge_state_offer (&s->edge, msg, swarm_clock_real_us (s->clock),
      swarm_clock_now_us (s->clock));
  if (v == SWARM_EDGE_NEW_EPOCH) {
    /* what was announced of the old run says nothing about the new one */
    s->newest_valid = FALSE;
    s->newest_key_valid = FALSE;
  }
  if (v == SWARM_EDGE_CLOCK && !s->clock_warned) {
    s->clock_warned = warn = TRUE;
    offset_ms = s->edge.last_clock_offset_us / 1000;
  }
  session_wake_waiters (s);
  g_mutex_unlock (&s->lock);

  switch (v) {
    case SWARM_EDGE_FORGED:
      swarm_peer_note_junk (p, "forged EDGE");
      return;
    case SWARM_EDGE_CLOCK:
      GST_INFO_OBJECT (s, "EDGE %" G_GUINT64_FORMAT " from %s refused: the publisher's "
          "clock is %" G_GINT64_FORMAT " ms from ours", msg->edge.seq,
          swarm_peer_get_remote_id (p), s->edge.last_clock_offset_us / 1000);
      if (warn) {
        GError *error = g_error_new (SWARM_SESSION_ERROR,
            SWARM_SESSION_ERROR_JOIN_TIMEOUT, offset_ms > 0 ?
            _("The publisher's clock is %.1f s ahead of ours, more than the "
                "%.1f s allowed (clock-tolerance): check that both keep time "
                "(NTP).") :
            _("The publisher's clock is %.1f s behind ours, more than the "
                "%.1f s allowed (clock-tolerance): check that both keep time "
                "(NTP), or the stream is an old recording."),
            ABS (offset_ms) / 1000.0, s->edge.tolerance_us / 1e6);
        session_warn (s, error);
        g_error_free (error);
      }
      return;
    case SWARM_EDGE_NOT_NEWER:
      return;
    case SWARM_EDGE_NEW_EPOCH:
      GST_INFO_OBJECT (s, "the publisher restarted: its new run begins at %"
          G_GUINT64_FORMAT, msg->edge.epoch_seq);
      /* fall through */
    case SWARM_EDGE_ACCEPTED:
      break;
  }
  session_forward_edge (s, msg, e);
  if (first || v == SWARM_EDGE_NEW_EPOCH)
    for (i = 0; i < s->peers->len; i++) {
      PeerEntry *o = g_ptr_array_index (s->peers, i);
      if (peer_entry_is_ready (o))
        /* those past the EDGE too: they are judged now, lies included */
        swarm_peer_replay_haves (o->peer, msg->edge.epoch_seq, G_MAXUINT64);
    }
  session_request_schedule (s);
}

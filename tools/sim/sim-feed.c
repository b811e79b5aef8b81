/* p2p-sim: the feed of a player run as a coroutine (see sim-feed.h).
 *
 * Each wait first asks the session with a deadline in the past (what the
 * real wait would find at once); without an answer it notes what it waits
 * for, arms its timer at the deadline and yields.  The simulator asks
 * sim_feed_should_resume() the same question before resuming it, so a
 * viewer woken by news that is not its answer costs a lookup, not a
 * switch.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim-feed.h"
#include "sim-coroutine.h"

typedef enum {
  WAIT_NONE,
  WAIT_START,                    /* any keyframe announced */
  WAIT_KEYFRAME_AFTER,
  WAIT_SEGMENT,
  WAIT_SLEEP,                    /* only time (or flushing) */
} WaitKind;

struct _SimFeed {
  SwarmFeed parent;
  SwarmSession *session;
  SwarmClock *clock;
  GSource *timer;                /* at the wait's deadline */
  void (*ready) (gpointer data);
  gpointer ready_data;
  gboolean flushing;
  WaitKind kind;
  guint64 seq;                   /* WAIT_KEYFRAME_AFTER, WAIT_SEGMENT */
  gint64 deadline_us;
};

#define FEED(f) ((SimFeed *) (f))

/* ---- the simulator's side ------------------------------------------------ */

static void
on_wake (gpointer data)
{
  SimFeed *f = data;

  /* under the session's lock: nothing but a note for the simulator */
  if (f->kind != WAIT_NONE)
    f->ready (f->ready_data);
}

static gboolean
on_deadline (gpointer data)
{
  SimFeed *f = data;

  if (f->kind != WAIT_NONE)
    f->ready (f->ready_data);
  return G_SOURCE_CONTINUE;
}

/* What the session answers now: SWARM_WAIT_TIMEOUT if nothing yet. */
static SwarmWaitResult
probe (SimFeed * f, WaitKind kind, guint64 seq, guint64 * out,
    GBytes ** segment, gint64 * arrival_us)
{
  switch (kind) {
    case WAIT_START:
      /* wait_start would also move playout there: not for a probe */
      return swarm_session_wait_keyframe_after (f->session, 0, 0, out);
    case WAIT_KEYFRAME_AFTER:
      return swarm_session_wait_keyframe_after (f->session, seq, 0, out);
    case WAIT_SEGMENT:
      return swarm_session_wait_segment (f->session, seq, 0, segment,
          arrival_us);
    default:
      return SWARM_WAIT_TIMEOUT;
  }
}

gboolean
sim_feed_should_resume (SimFeed * f)
{
  guint64 seq;
  GBytes *bytes = NULL;
  SwarmWaitResult r;

  if (f->kind == WAIT_NONE)
    return FALSE;
  if (f->flushing || swarm_clock_now_us (f->clock) >= f->deadline_us)
    return TRUE;
  r = probe (f, f->kind, f->seq, &seq, &bytes, NULL);
  if (bytes)
    g_bytes_unref (bytes);
  return r != SWARM_WAIT_TIMEOUT;
}

/* ---- the player's side: waits that yield --------------------------------- */

/* Yields until the simulator resumes the player for this wait. */
static void
block (SimFeed * f, WaitKind kind, guint64 seq, gint64 deadline_us)
{
  f->kind = kind;
  f->seq = seq;
  f->deadline_us = deadline_us;
  swarm_clock_source_set_deadline (f->clock, f->timer,
      deadline_us == G_MAXINT64 ? -1 : deadline_us);
  sim_coroutine_yield ();
  f->kind = WAIT_NONE;
  swarm_clock_source_set_deadline (f->clock, f->timer, -1);
}

static SwarmWaitResult
wait_for (SimFeed * f, WaitKind kind, guint64 seq, gint64 deadline_us,
    guint64 * out, GBytes ** segment, gint64 * arrival_us)
{
  for (;;) {
    SwarmWaitResult r = probe (f, kind, seq, out, segment, arrival_us);

    if (r != SWARM_WAIT_TIMEOUT)
      return r;
    if (f->flushing)
      return SWARM_WAIT_CANCELLED;
    if (swarm_clock_now_us (f->clock) >= deadline_us)
      return SWARM_WAIT_TIMEOUT;
    block (f, kind, seq, deadline_us);
  }
}

void
sim_feed_sleep_until (SimFeed * f, gint64 until_us)
{
  while (!f->flushing && swarm_clock_now_us (f->clock) < until_us)
    block (f, WAIT_SLEEP, 0, until_us);
}

static gint64
feed_now_us (SwarmFeed * feed)
{
  return swarm_clock_now_us (FEED (feed)->clock);
}

static SwarmWaitResult
feed_wait_start (SwarmFeed * feed, gint64 deadline_us, guint64 * seq)
{
  SwarmWaitResult r = wait_for (FEED (feed), WAIT_START, 0, deadline_us, seq,
      NULL, NULL);

  /* what the session's own wait_start does with its answer */
  if (r == SWARM_WAIT_OK)
    swarm_session_set_playout (FEED (feed)->session, *seq);
  return r;
}

static SwarmWaitResult
feed_wait_keyframe_after (SwarmFeed * feed, guint64 after, gint64 deadline_us,
    guint64 * seq)
{
  return wait_for (FEED (feed), WAIT_KEYFRAME_AFTER, after, deadline_us, seq,
      NULL, NULL);
}

static SwarmWaitResult
feed_wait_segment (SwarmFeed * feed, guint64 seq, gint64 deadline_us,
    GBytes ** segment, gint64 * arrival_us)
{
  guint64 unused;

  return wait_for (FEED (feed), WAIT_SEGMENT, seq, deadline_us, &unused,
      segment, arrival_us);
}

static gboolean
feed_get_newest_seq (SwarmFeed * feed, guint64 * seq)
{
  return swarm_session_get_newest_seq (FEED (feed)->session, seq);
}

static gboolean
feed_get_newest_keyframe_seq (SwarmFeed * feed, guint64 * seq)
{
  return swarm_session_get_newest_keyframe_seq (FEED (feed)->session, seq);
}

static gboolean
feed_get_epoch (SwarmFeed * feed, guint64 * epoch_seq, guint64 * restarts)
{
  return swarm_session_get_epoch (FEED (feed)->session, epoch_seq, restarts);
}

static gboolean
feed_find_in_hand (SwarmFeed * feed, guint64 after, gboolean keyframe,
    guint64 * seq)
{
  return swarm_session_find_in_hand (FEED (feed)->session, after, keyframe,
      seq);
}

static void
feed_set_playout (SwarmFeed * feed, guint64 seq)
{
  swarm_session_set_playout (FEED (feed)->session, seq);
}

static void
feed_set_deadline (SwarmFeed * feed, guint64 seq, gint64 deadline_us)
{
  swarm_session_set_deadline (FEED (feed)->session, seq, deadline_us);
}

static void
feed_set_flushing (SwarmFeed * feed, gboolean flushing)
{
  FEED (feed)->flushing = flushing;
  swarm_session_set_flushing (FEED (feed)->session, flushing);
}

static void
feed_note_played (SwarmFeed * feed, guint64 seq)
{
  swarm_session_note_played (FEED (feed)->session, seq);
}

static void
feed_note_missed (SwarmFeed * feed, guint64 seq)
{
  swarm_session_note_missed (FEED (feed)->session, seq);
}

static void
feed_note_missed_n (SwarmFeed * feed, guint64 count)
{
  swarm_session_note_missed_n (FEED (feed)->session, count);
}

static void
feed_note_startup (SwarmFeed * feed, gint64 startup_ms)
{
  swarm_session_note_startup (FEED (feed)->session, startup_ms);
}

static const SwarmFeedClass sim_feed_class = {
  .now_us = feed_now_us,
  .wait_start = feed_wait_start,
  .wait_keyframe_after = feed_wait_keyframe_after,
  .wait_segment = feed_wait_segment,
  .get_newest_seq = feed_get_newest_seq,
  .get_newest_keyframe_seq = feed_get_newest_keyframe_seq,
  .get_epoch = feed_get_epoch,
  .find_in_hand = feed_find_in_hand,
  .set_playout = feed_set_playout,
  .set_deadline = feed_set_deadline,
  .set_flushing = feed_set_flushing,
  .note_played = feed_note_played,
  .note_missed = feed_note_missed,
  .note_missed_n = feed_note_missed_n,
  .note_startup = feed_note_startup,
  /* the simulator frees it: sim_feed_free */
};

SimFeed *
sim_feed_new (SwarmSession * session, SwarmClock * clock,
    GMainContext * context, void (*ready) (gpointer data), gpointer data)
{
  SimFeed *f = g_new0 (SimFeed, 1);

  f->parent.klass = &sim_feed_class;
  f->session = session;
  f->clock = swarm_clock_ref (clock);
  f->ready = ready;
  f->ready_data = data;
  f->timer = swarm_clock_deadline_source_new (clock);
  swarm_clock_source_set_callback (clock, f->timer, on_deadline, f);
  g_source_attach (f->timer, context);
  swarm_session_set_wake_notify (session, on_wake, f);
  return f;
}

void
sim_feed_set_flushing (SimFeed * f)
{
  feed_set_flushing (&f->parent, TRUE);
}

SwarmFeed *
sim_feed_get_feed (SimFeed * f)
{
  return &f->parent;
}

void
sim_feed_free (SimFeed * f)
{
  if (!f)
    return;
  swarm_session_set_wake_notify (f->session, NULL, NULL);
  g_source_destroy (f->timer);
  g_source_unref (f->timer);
  swarm_clock_unref (f->clock);
  g_free (f);
}

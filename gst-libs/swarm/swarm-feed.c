/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session as a SwarmFeed: each function passes straight on to the
 * session's public viewer API.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-feed.h"

typedef struct {
  SwarmFeed parent;
  SwarmSession *session;
} SessionFeed;

#define SESSION(feed) (((SessionFeed *) (feed))->session)

/* The element's thread waits on the session's condition variables, whose
 * deadlines are on the system's monotonic clock: so is the feed's time (a
 * session on a virtual clock is driven by its caller, not waited on). */
static gint64
session_now_us (SwarmFeed * feed)
{
  return swarm_clock_now_us (swarm_clock_get_system ());
}

static SwarmWaitResult
session_wait_start (SwarmFeed * feed, gint64 deadline_us, guint64 * seq)
{
  return swarm_session_wait_start (SESSION (feed), deadline_us, seq);
}

static SwarmWaitResult
session_wait_keyframe_after (SwarmFeed * feed, guint64 after,
    gint64 deadline_us, guint64 * seq)
{
  return swarm_session_wait_keyframe_after (SESSION (feed), after,
      deadline_us, seq);
}

static SwarmWaitResult
session_wait_segment (SwarmFeed * feed, guint64 seq, gint64 deadline_us,
    GBytes ** segment, gint64 * arrival_us)
{
  return swarm_session_wait_segment (SESSION (feed), seq, deadline_us,
      segment, arrival_us);
}

static gboolean
session_get_newest_seq (SwarmFeed * feed, guint64 * seq)
{
  return swarm_session_get_newest_seq (SESSION (feed), seq);
}

static gboolean
session_get_newest_keyframe_seq (SwarmFeed * feed, guint64 * seq)
{
  return swarm_session_get_newest_keyframe_seq (SESSION (feed), seq);
}

static gboolean
session_get_epoch (SwarmFeed * feed, guint64 * epoch_seq, guint64 * restarts)
{
  return swarm_session_get_epoch (SESSION (feed), epoch_seq, restarts);
}

static gboolean
session_find_in_hand (SwarmFeed * feed, guint64 after, gboolean keyframe,
    guint64 * seq)
{
  return swarm_session_find_in_hand (SESSION (feed), after, keyframe, seq);
}

static void
session_set_playout (SwarmFeed * feed, guint64 seq)
{
  swarm_session_set_playout (SESSION (feed), seq);
}

static void
session_set_deadline (SwarmFeed * feed, guint64 seq, gint64 deadline_us)
{
  swarm_session_set_deadline (SESSION (feed), seq, deadline_us);
}

static void
session_set_flushing (SwarmFeed * feed, gboolean flushing)
{
  swarm_session_set_flushing (SESSION (feed), flushing);
}

static void
session_note_played (SwarmFeed * feed, guint64 seq)
{
  swarm_session_note_played (SESSION (feed), seq);
}

static void
session_note_missed (SwarmFeed * feed, guint64 seq)
{
  swarm_session_note_missed (SESSION (feed), seq);
}

static void
session_note_missed_n (SwarmFeed * feed, guint64 count)
{
  swarm_session_note_missed_n (SESSION (feed), count);
}

static void
session_note_startup (SwarmFeed * feed, gint64 startup_ms)
{
  swarm_session_note_startup (SESSION (feed), startup_ms);
}

static void
session_free (SwarmFeed * feed)
{
  g_object_unref (SESSION (feed));
  g_free (feed);
}

static const SwarmFeedClass session_feed_class = {
  .now_us = session_now_us,
  .wait_start = session_wait_start,
  .wait_keyframe_after = session_wait_keyframe_after,
  .wait_segment = session_wait_segment,
  .get_newest_seq = session_get_newest_seq,
  .get_newest_keyframe_seq = session_get_newest_keyframe_seq,
  .get_epoch = session_get_epoch,
  .find_in_hand = session_find_in_hand,
  .set_playout = session_set_playout,
  .set_deadline = session_set_deadline,
  .set_flushing = session_set_flushing,
  .note_played = session_note_played,
  .note_missed = session_note_missed,
  .note_missed_n = session_note_missed_n,
  .note_startup = session_note_startup,
  .free = session_free,
};

SwarmFeed *
swarm_feed_new_for_session (SwarmSession * session)
{
  SessionFeed *feed = g_new0 (SessionFeed, 1);

  feed->parent.klass = &session_feed_class;
  feed->session = g_object_ref (session);
  return &feed->parent;
}

void
swarm_feed_free (SwarmFeed * feed)
{
  if (feed && feed->klass->free)
    feed->klass->free (feed);
}

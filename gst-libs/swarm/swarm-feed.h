/* What a viewer's playout needs from the swarm, and nothing more: when a
 * start is offered, each segment as it arrives, what partners announce,
 * and somewhere to note what was played or missed.  A SwarmSession is one
 * (swarm_feed_new_for_session); a test or an embedding application can
 * supply another, scripted one, and drive SwarmViewer (swarm-viewer.h)
 * and p2psrc without a network, on its own clock.
 *
 * Every time (now_us, deadlines, arrivals) is on the feed's clock, in
 * microseconds: the session's is g_get_monotonic_time().  A wait may
 * return as soon as its answer is known; a scripted feed moves its clock
 * to the deadline instead of sleeping.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-session.h"

G_BEGIN_DECLS

typedef struct _SwarmFeed SwarmFeed;

/* The functions of a feed; all called from the viewer's streaming thread
 * but set_flushing (any thread), which must wake a wait in progress. */
typedef struct {
  gint64 (*now_us) (SwarmFeed * feed);
  /* as swarm_session_wait_start() and the other functions of the same
   * names in swarm-session.h */
  SwarmWaitResult (*wait_start) (SwarmFeed * feed, gint64 deadline_us,
      guint64 * seq);
  SwarmWaitResult (*wait_keyframe_after) (SwarmFeed * feed, guint64 after,
      gint64 deadline_us, guint64 * seq);
  SwarmWaitResult (*wait_segment) (SwarmFeed * feed, guint64 seq,
      gint64 deadline_us, GBytes ** segment, gint64 * arrival_us);
  gboolean (*get_newest_seq) (SwarmFeed * feed, guint64 * seq);
  gboolean (*get_newest_keyframe_seq) (SwarmFeed * feed, guint64 * seq);
  gboolean (*get_epoch) (SwarmFeed * feed, guint64 * epoch_seq,
      guint64 * restarts);
  gboolean (*find_in_hand) (SwarmFeed * feed, guint64 after,
      gboolean keyframe, guint64 * seq);
  void (*set_playout) (SwarmFeed * feed, guint64 seq);
  /* as swarm_session_set_deadline() (nullable: a feed with no transfers
   * to hurry) */
  void (*set_deadline) (SwarmFeed * feed, guint64 seq, gint64 deadline_us);
  void (*set_flushing) (SwarmFeed * feed, gboolean flushing);
  void (*note_played) (SwarmFeed * feed, guint64 seq);
  void (*note_missed) (SwarmFeed * feed, guint64 seq);
  void (*note_missed_n) (SwarmFeed * feed, guint64 count);
  void (*note_startup) (SwarmFeed * feed, gint64 startup_ms);
  /* swarm_feed_free(): frees the feed (nullable: a feed its creator
   * frees) */
  void (*free) (SwarmFeed * feed);
} SwarmFeedClass;

/* A feed is this, first in its implementation's struct. */
struct _SwarmFeed {
  const SwarmFeedClass *klass;
};

/* The element data key (g_object_set_data) under which p2psrc looks for
 * a SwarmFeed at start: with one there, it plays from it instead of
 * joining a swarm (no URI needed, no session, no network).  For tests and
 * embedding only; the caller keeps the feed alive until the element has
 * stopped, and frees it. */
#define SWARM_FEED_DATA_KEY "swarm-feed"

/* A feed on @session's viewer side (holds a reference to it). */
SWARM_PRIVATE_API SwarmFeed *swarm_feed_new_for_session (SwarmSession * session);
/* Calls klass->free, if any; NULL is fine. */
SWARM_PRIVATE_API void swarm_feed_free (SwarmFeed * feed);

G_END_DECLS

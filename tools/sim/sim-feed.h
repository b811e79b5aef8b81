/* p2p-sim: a viewer's feed (swarm-feed.h) for a player that runs as a
 * coroutine (sim-coroutine.h).
 *
 * SwarmViewer's waits block; here a wait that has no answer yet yields
 * instead, and the simulator resumes the player when the answer may be
 * there (the session's wake notify, swarm-session-driver.h) or its
 * deadline has come (a timer on the virtual clock).  So every viewer runs
 * the real playout policy, one at a time, at the virtual time its answer
 * came, and a run is the same for a seed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <swarm/swarm-internal.h>

G_BEGIN_DECLS

typedef struct _SimFeed SimFeed;

/* A feed on @session (borrowed: it outlives the feed), its deadlines on
 * @clock's timers in @context.  @ready(@data) is called when the player
 * should be resumed (it may be called more than once). */
SimFeed *sim_feed_new (SwarmSession * session, SwarmClock * clock,
    GMainContext * context, void (*ready) (gpointer data), gpointer data);
void sim_feed_free (SimFeed * feed);
SwarmFeed *sim_feed_get_feed (SimFeed * feed);

/* Whether the player's wait has its answer or its deadline has come:
 * resume it.  Asked without running the player. */
gboolean sim_feed_should_resume (SimFeed * feed);
/* From the player: wait until virtual time @until_us, or flushing (the
 * sink waiting for a buffer's time). */
void sim_feed_sleep_until (SimFeed * feed, gint64 until_us);
/* The viewer stops: every wait, now and later, ends. */
void sim_feed_set_flushing (SimFeed * feed);

G_END_DECLS

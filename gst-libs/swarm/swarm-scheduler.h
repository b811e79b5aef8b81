/* The scheduler decides which peer to ask for which segment.  It sees a
 * read-only snapshot of the swarm (what is wanted, what each partner holds
 * and how busy it is) and answers with requests; the session carries them
 * out, tracks transfers and re-requests lost chunks.  Replace the policy by
 * providing another SwarmSchedulerClass.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

typedef struct {
  gboolean is_origin;
  guint in_flight;               /* segment transfers running from this peer */
  guint max_in_flight;
  gint64 rtt_us;                 /* smoothed; 0 = unknown */
  gdouble rate_bps;              /* measured receive rate from it; 0 = unknown */
  gboolean slow;                 /* recently stalled a transfer: avoid if possible */
  gboolean busy;                 /* turned a request away lately: not asked,
                                  * though it still counts as a holder */
  /* Does this peer hold @seq? */
  gboolean (*has) (gconstpointer peer, guint64 seq);
  gconstpointer peer;            /* opaque handle passed to has() */
} SwarmSchedPeer;

typedef struct {
  /* Segments neither held nor being fetched, most urgent (nearest playout
   * deadline) first. */
  const guint64 *wanted;
  guint n_wanted;
  /* The first n_urgent of wanted are due soon: fetched in order, from the
   * origin too if no viewer can.  The rest go rarest first. */
  guint n_urgent;
  /* The first n_pressing of those are known (from playout's deadline) to
   * be due in a few hundred milliseconds: asked of the origin even when a
   * holder turned us away as busy.  0 when playout gave no deadline. */
  guint n_pressing;
  gsize segment_bytes;           /* typical segment size, for time estimates */
  const SwarmSchedPeer *peers;
  guint n_peers;
} SwarmSchedView;

typedef struct {
  guint64 seq;
  guint peer_index;              /* into SwarmSchedView.peers */
} SwarmSchedRequest;

typedef struct {
  const gchar *name;
  gpointer (*create) (void);
  void (*destroy) (gpointer self);
  /* Appends SwarmSchedRequest to @out. */
  void (*schedule) (gpointer self, const SwarmSchedView * view, GArray * out);
} SwarmSchedulerClass;

/* The default: urgent segments first and in order, then rarest first;
 * each request goes to the partner expected to deliver it soonest (queue
 * ahead of it, measured rate, RTT), avoiding partners that recently
 * stalled; the origin is asked only for what no viewer holds, and for
 * urgent segments no viewer can serve in time (none with room, or the
 * best one stalled lately or has a round trip stretched past 400 ms). */
SWARM_API const SwarmSchedulerClass *swarm_scheduler_default_get_class (void);

G_END_DECLS

/* Holds a viewer's playout at the right distance behind its arrivals.
 *
 * A viewer plays segment k at playout(k) and receives it at arrival(k); the
 * difference is its "slack".  A segment with too little slack misses its
 * deadline and is skipped; slack beyond what the arrivals' jitter needs is
 * latency for nothing.  Neither stays put by itself: where a viewer starts
 * depends on how fresh its first partners were, the swarm reorganises
 * under it (a partner nearer the origin shortens every arrival), and the
 * publisher's clock drifts against the viewer's.
 *
 * Fed one slack sample per segment (and a miss for each skipped one), this
 * controller keeps a low quantile of the recent samples (the second
 * smallest of the last SWARM_PLAYOUT_WINDOW, or of the newer half of all
 * samples while there are fewer than twice that) at a floor: above it by more
 * than a tolerance, playout moves earlier (the viewer catches up with
 * live); below it, later (the viewer buys margin before segments are
 * missed).  Each answer is bounded by a step, which the caller spreads
 * over the next segment's buffers, so playback runs at most that much
 * faster or slower, never jumps.  Pure logic.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

/* Ten seconds of 200 ms segments. */
#define SWARM_PLAYOUT_WINDOW 50

typedef struct {
  /* settings */
  gint64 floor_us;              /* slack the low quantile is held at */
  gint64 tolerance_us;          /* wander around the floor left alone */
  gdouble max_rate;             /* largest step, as a share of a segment */
  guint warmup;                 /* samples before the first step */
  gdouble fast_rate;            /* largest step earlier while far behind */
  gint64 fast_above_us;         /* ...that is, this far above the floor */
  gint64 behind_us;             /* known at the start, still to catch up */
  gint64 margin_max_us;         /* swarm_playout_set_margin */
  /* state */
  gint64 samples[SWARM_PLAYOUT_WINDOW];
  guint n;                      /* samples taken in all */
  gint64 total_us;              /* sum of the steps answered (+ = later) */
  gint64 earlier_us;            /* of which, steps earlier (≤ 0) */
  gint64 margin_us;             /* held over the floor now, wearing off */
} SwarmPlayout;

/* @floor_us: the slack to keep in hand for late arrivals; @max_rate: the
 * largest step as a share of the segment it is spread over (0.2: playback
 * up to 20 % faster or slower). */
SWARM_PRIVATE_API void swarm_playout_init (SwarmPlayout * p, gint64 floor_us,
    gint64 tolerance_us, gdouble max_rate);
/* Far behind live (the low quantile more than @above_us over the floor),
 * move earlier by up to @rate of a segment instead (a joiner that started
 * on stale segments, in a swarm that was itself still catching up, spends
 * seconds over its latency otherwise).  Off until set. */
SWARM_PRIVATE_API void swarm_playout_set_fast_catch_up (SwarmPlayout * p,
    gdouble rate, gint64 above_us);
/* Playout starts @behind_us later than the newest segment in hand would
 * allow (what the start anchor could not map away): caught up at the fast
 * rate from the first segment on, through segments already in hand
 * (swarm_playout_take_behind), then out of what each segment's slack has
 * over the floor, for 25 segments at most. */
SWARM_PRIVATE_API void swarm_playout_set_behind (SwarmPlayout * p, gint64 behind_us);
/* For a segment that was in hand before playout began (no slack sample):
 * the step to take of what is known to be behind (≤ 0). */
SWARM_PRIVATE_API gint64 swarm_playout_take_behind (SwarmPlayout * p,
    gint64 duration_us);
/* @slack_us: playout time minus arrival time of one segment, which lasts
 * @duration_us.  Returns the shift to spread over that segment's playout
 * (positive = later, negative = earlier); later samples already include
 * it. */
SWARM_PRIVATE_API gint64 swarm_playout_update (SwarmPlayout * p, gint64 slack_us,
    gint64 duration_us);
/* Holds @margin_us more than the floor at the start, wearing off over
 * 20 s of playout; each miss adds half of it back (up to all of it).  A
 * joiner's first seconds, on partners just found, miss most (docs/sim.md,
 * finding 11).  0 (the default): off. */
SWARM_PRIVATE_API void swarm_playout_set_margin (SwarmPlayout * p,
    gint64 margin_us);
/* A segment missed its deadline: counts as a sample with no slack. */
SWARM_PRIVATE_API void swarm_playout_note_miss (SwarmPlayout * p);

G_END_DECLS

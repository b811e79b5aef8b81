/* Absorbs clock drift between the publisher and a viewer.
 *
 * A viewer plays the publisher's timestamps on its own clock.  If the two
 * clocks run at slightly different rates (tens of ppm are normal), the time
 * between a segment's arrival and its playout (the "slack") slowly grows
 * (publisher fast: buffering grows without bound) or shrinks (publisher
 * slow: segments end up late and are skipped).  Fed one slack sample per
 * segment, this estimator learns the slack the viewer started with and
 * answers small playout shifts that hold it there.  Pure logic.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

typedef struct {
  /* settings */
  gint64 threshold_us;           /* tolerated wander before correcting */
  gint64 max_step_us;            /* largest shift per sample */
  guint warmup;                  /* samples before the target is fixed */
  /* state */
  guint n;
  gdouble avg_us;
  gint64 target_us;
  gboolean correcting;
  guint outliers;                /* far-off samples in a row */
  gint64 total_us;               /* sum of the shifts answered */
} SwarmDrift;

SWARM_API void swarm_drift_init (SwarmDrift * d, gint64 threshold_us,
    gint64 max_step_us);
/* @slack_us: playout time minus arrival time of one segment.  Returns the
 * shift to apply to playout (positive = later) before the next segment. */
SWARM_API gint64 swarm_drift_update (SwarmDrift * d, gint64 slack_us);

G_END_DECLS

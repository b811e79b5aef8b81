/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-drift.h"

#define WARMUP_SAMPLES 24
/* Far-off samples in a row after which they count as a new normal. */
#define OUTLIERS_BEFORE_STEP 50

void
swarm_drift_init (SwarmDrift * d, gint64 threshold_us, gint64 max_step_us)
{
  *d = (SwarmDrift) {
  0};
  d->threshold_us = threshold_us;
  d->max_step_us = max_step_us;
  d->warmup = WARMUP_SAMPLES;
}

gint64
swarm_drift_update (SwarmDrift * d, gint64 slack_us)
{
  gdouble err;
  gint64 shift;

  d->n++;
  if (d->n == 1) {
    d->avg_us = slack_us;
    return 0;
  }
  /* Drift moves slack by a few ms per minute; a sample far off the average
   * is an outage or a burst, not drift, and must not steer playout. */
  if (d->n > d->warmup && ABS (slack_us - d->avg_us) > 4 * d->threshold_us
      && ++d->outliers < OUTLIERS_BEFORE_STEP)
    return 0;
  /* ...unless it lasts: then the path's delay really changed */
  d->outliers = 0;
  /* Fast to learn during warm-up, slow afterwards: drift is a slow trend,
   * network jitter is not. */
  d->avg_us += (slack_us - d->avg_us) / (d->n <= d->warmup ? 4.0 : 32.0);
  if (d->n <= d->warmup) {
    d->target_us = (gint64) d->avg_us;
    return 0;
  }

  err = d->avg_us - d->target_us;
  /* hysteresis: start past the threshold, stop once back within half */
  if (!d->correcting && ABS (err) > d->threshold_us)
    d->correcting = TRUE;
  else if (d->correcting && ABS (err) < d->threshold_us / 2)
    d->correcting = FALSE;
  if (!d->correcting)
    return 0;

  /* Too much slack (publisher fast): play earlier; too little: later. */
  shift = (gint64) CLAMP (-err, -d->max_step_us, d->max_step_us);
  /* The shift moves every future slack sample by the same amount. */
  d->avg_us += shift;
  d->total_us += shift;
  return shift;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-playout.h"

/* A second of 200 ms segments before the first step: the join burst says
 * little about the steady state (and the window drops the first samples
 * once they are the older half). */
#define WARMUP_SAMPLES 5
/* Five seconds of them to play off what a start is known to be behind. */
#define BEHIND_SAMPLES 25
/* The extra margin wears off over this much playout */
#define MARGIN_WEAR_US (20 * G_USEC_PER_SEC)

void
swarm_playout_init (SwarmPlayout * p, gint64 floor_us, gint64 tolerance_us,
    gdouble max_rate)
{
  *p = (SwarmPlayout) {
  0};
  p->floor_us = floor_us;
  p->tolerance_us = MAX (tolerance_us, 0);
  p->max_rate = CLAMP (max_rate, 0.0, 1.0);
  p->warmup = WARMUP_SAMPLES;
  p->fast_rate = p->max_rate;
  p->fast_above_us = G_MAXINT64;
}

void
swarm_playout_set_fast_catch_up (SwarmPlayout * p, gdouble rate,
    gint64 above_us)
{
  p->fast_rate = CLAMP (rate, p->max_rate, 1.0);
  p->fast_above_us = MAX (above_us, 0);
}

static void
add_sample (SwarmPlayout * p, gint64 slack_us)
{
  p->samples[p->n % SWARM_PLAYOUT_WINDOW] = slack_us;
  p->n++;
}

/* How many of the latest samples speak for the path: the newer half of
 * all so far, at least the warm-up's worth, at most the window.  The
 * first segments after a join came over links just made, from partners
 * found first, and say little about the path a few seconds on; were they
 * kept for the whole window, a joiner that started far behind live would
 * wait ten seconds before catching up at all (see docs/design.md, Segments
 * and playout). */
static guint
window_count (const SwarmPlayout * p)
{
  return MIN (MIN (MAX (p->n / 2, p->warmup), SWARM_PLAYOUT_WINDOW), p->n);
}

/* The second smallest sample in the window: one late arrival in ten
 * seconds is an accident, two are the path. */
static gint64
low_quantile (const SwarmPlayout * p)
{
  guint count = window_count (p), i;
  gint64 lowest = G_MAXINT64, second = G_MAXINT64;

  for (i = 0; i < count; i++) {
    gint64 v = p->samples[(p->n - 1 - i) % SWARM_PLAYOUT_WINDOW];

    if (v < lowest) {
      second = lowest;
      lowest = v;
    } else if (v < second) {
      second = v;
    }
  }
  return count > 1 ? second : lowest;
}

/* Every sample in hand would have had that much more (or less) slack. */
static void
apply_step (SwarmPlayout * p, gint64 step)
{
  guint count = MIN (p->n, SWARM_PLAYOUT_WINDOW), i;

  for (i = 0; i < count; i++)
    p->samples[i] += step;
  p->total_us += step;
  if (step < 0)
    p->earlier_us += step;
}

void
swarm_playout_set_behind (SwarmPlayout * p, gint64 behind_us)
{
  p->behind_us = MAX (behind_us, 0);
}

/* Up to @room of what is known to be behind, at the fast rate. */
static gint64
pay_behind (SwarmPlayout * p, gint64 duration_us, gint64 room_us)
{
  gint64 step;

  if (p->behind_us <= 0 || duration_us <= 0 || room_us <= 0)
    return 0;
  step = MIN (MIN (p->behind_us, room_us),
      (gint64) (p->fast_rate * duration_us));
  p->behind_us -= step;
  apply_step (p, -step);
  return -step;
}

gint64
swarm_playout_take_behind (SwarmPlayout * p, gint64 duration_us)
{
  return pay_behind (p, duration_us, G_MAXINT64);
}

gint64
swarm_playout_update (SwarmPlayout * p, gint64 slack_us, gint64 duration_us)
{
  gint64 err, cap, step;

  add_sample (p, slack_us);
  /* what the start left behind, out of what this segment has to spare
   * over the floor (segments between the start and the newest in hand
   * often come late and out of order: they pay nothing, later ones do);
   * after BEHIND_SAMPLES the normal rule alone decides */
  if (p->behind_us > 0) {
    if (p->n > BEHIND_SAMPLES)
      p->behind_us = 0;
    else if ((step = pay_behind (p, duration_us, slack_us - p->floor_us)))
      return step;
  }
  if (duration_us > 0)
    p->margin_us = MAX (0, p->margin_us - duration_us * p->margin_max_us /
        MARGIN_WEAR_US);
  if (p->n < p->warmup || duration_us <= 0)
    return 0;

  err = low_quantile (p) - p->floor_us - p->margin_us;
  if (ABS (err) <= p->tolerance_us)
    return 0;
  /* back to the floor, as fast as the step allows */
  cap = (gint64) (p->max_rate * duration_us);
  step = CLAMP (-err, -cap, cap);
  if (err > p->fast_above_us)
    step = MAX (-err, -(gint64) (p->fast_rate * duration_us));
  if (step == 0)
    return 0;
  apply_step (p, step);
  return step;
}

void
swarm_playout_note_miss (SwarmPlayout * p)
{
  add_sample (p, 0);
  p->margin_us = MIN (p->margin_us + p->margin_max_us / 2, p->margin_max_us);
}

void
swarm_playout_set_margin (SwarmPlayout * p, gint64 margin_us)
{
  p->margin_max_us = p->margin_us = MAX (margin_us, 0);
}

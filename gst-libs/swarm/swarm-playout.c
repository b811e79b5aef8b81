/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-playout.h"

/* Two seconds of 200 ms segments before the first step: the join burst
 * and the first partners' transfers say little about the steady state. */
#define WARMUP_SAMPLES 10

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
 * wait ten seconds before catching up at all (the lab's late joiners spent
 * 10-20 s over 2 s of latency). */
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

gint64
swarm_playout_update (SwarmPlayout * p, gint64 slack_us, gint64 duration_us)
{
  gint64 err, cap, step;
  guint count, i;

  add_sample (p, slack_us);
  if (p->n < p->warmup || duration_us <= 0)
    return 0;

  err = low_quantile (p) - p->floor_us;
  if (ABS (err) <= p->tolerance_us)
    return 0;
  /* back to the floor, as fast as the step allows */
  cap = (gint64) (p->max_rate * duration_us);
  step = CLAMP (-err, -cap, cap);
  if (step == 0)
    return 0;
  /* every sample in hand would have had that much more (or less) slack */
  count = MIN (p->n, SWARM_PLAYOUT_WINDOW);
  for (i = 0; i < count; i++)
    p->samples[i] += step;
  p->total_us += step;
  if (step < 0)
    p->earlier_us += step;
  return step;
}

void
swarm_playout_note_miss (SwarmPlayout * p)
{
  add_sample (p, 0);
}

/* The playout controller on synthetic slack series.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

#define SEGMENT_US (200 * 1000)
#define FLOOR_US (250 * 1000)
#define TOLERANCE_US (50 * 1000)

/* Feeds @n samples of base + trend * i ± jitter (uniform), applying every
 * shift the controller answers to the following samples, as p2psrc does.
 * Returns the smallest slack seen after @settle samples; *largest gets the
 * largest. */
static gint64
simulate (SwarmPlayout * p, guint n, guint settle, gint64 base_us,
    gdouble trend_us, gint64 jitter_us, gint64 * largest)
{
  GRand *rand = g_rand_new_with_seed (42);
  gint64 applied = 0, smallest = G_MAXINT64, big = G_MININT64;
  guint i;

  for (i = 0; i < n; i++) {
    gint64 slack = base_us + (gint64) (trend_us * i) + applied +
        (jitter_us ? g_rand_int_range (rand, -jitter_us, jitter_us) : 0);
    gint64 shift = swarm_playout_update (p, slack, SEGMENT_US);

    fail_unless (ABS (shift) <= SEGMENT_US / 5, "step %" G_GINT64_FORMAT,
        shift);
    applied += shift;
    if (i >= settle) {
      smallest = MIN (smallest, slack);
      big = MAX (big, slack);
    }
  }
  g_rand_free (rand);
  if (largest)
    *largest = big;
  return smallest;
}

/* Slack already at the floor, with jitter above it: nothing moves. */
GST_START_TEST (test_steady_no_correction)
{
  SwarmPlayout p;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  /* 250..330 ms: the second smallest of fifty sits near 252 */
  simulate (&p, 5000, 0, 290000, 0, 40000, NULL);
  fail_unless_equals_int64 (p.total_us, 0);
}

GST_END_TEST;

/* A viewer that started 1.5 s further behind than it needs: caught up at
 * 20 % of a segment per segment (40 ms), then held. */
GST_START_TEST (test_catches_up)
{
  SwarmPlayout p;
  gint64 smallest, largest;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  smallest = simulate (&p, 200, 60, 1750000, 0, 40000, &largest);
  /* 1.46 s at 40 ms a segment: 37 segments after warm-up */
  fail_unless (p.total_us < -1400000 && p.total_us > -1560000,
      "total %" G_GINT64_FORMAT, p.total_us);
  fail_unless_equals_int64 (p.earlier_us, p.total_us);
  /* and the low quantile is back at the floor, jitter above it */
  fail_unless (smallest >= FLOOR_US - TOLERANCE_US - 40000,
      "slack fell to %" G_GINT64_FORMAT, smallest);
  fail_unless (largest < FLOOR_US + TOLERANCE_US + 80000 + 40000,
      "slack still up to %" G_GINT64_FORMAT, largest);
}

GST_END_TEST;

/* Too little slack: playout moves later before segments are missed. */
GST_START_TEST (test_backs_off)
{
  SwarmPlayout p;
  gint64 smallest;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  smallest = simulate (&p, 300, 100, 60000, 0, 40000, NULL);
  fail_unless (p.total_us > 150000 && p.total_us < 260000,
      "total %" G_GINT64_FORMAT, p.total_us);
  fail_unless_equals_int64 (p.earlier_us, 0);
  fail_unless (smallest >= FLOOR_US - TOLERANCE_US - 40000,
      "slack %" G_GINT64_FORMAT, smallest);
}

GST_END_TEST;

/* Clock drift both ways (10x real drift: 500 ppm) stays bounded. */
GST_START_TEST (test_drift_bounded)
{
  SwarmPlayout p;
  gint64 smallest, largest;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  /* publisher fast: +100 us of slack per 200 ms segment, for an hour */
  smallest = simulate (&p, 18000, 100, 300000, 100, 20000, &largest);
  fail_unless (largest < FLOOR_US + TOLERANCE_US + 2 * 20000 + 5000,
      "slack grew to %" G_GINT64_FORMAT, largest);
  fail_unless (smallest > FLOOR_US - TOLERANCE_US - 20000);
  fail_unless (p.total_us < -1700000 && p.total_us > -1900000,
      "total %" G_GINT64_FORMAT, p.total_us);

  /* publisher slow */
  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  smallest = simulate (&p, 18000, 100, 300000, -100, 20000, &largest);
  fail_unless (smallest > FLOOR_US - TOLERANCE_US - 2 * 20000 - 5000,
      "slack fell to %" G_GINT64_FORMAT, smallest);
  fail_unless (p.total_us > 1700000 && p.total_us < 1900000,
      "total %" G_GINT64_FORMAT, p.total_us);
}

GST_END_TEST;

/* One late arrival in the window is an accident and moves nothing; a
 * second one does, and a miss counts as a sample with no slack. */
GST_START_TEST (test_outliers_and_misses)
{
  SwarmPlayout p;
  guint i;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  for (i = 0; i < 20; i++)
    fail_unless_equals_int64 (swarm_playout_update (&p, FLOOR_US,
            SEGMENT_US), 0);
  fail_unless_equals_int64 (swarm_playout_update (&p, 20000, SEGMENT_US), 0);
  fail_unless_equals_int64 (swarm_playout_update (&p, FLOOR_US, SEGMENT_US),
      0);
  swarm_playout_note_miss (&p);
  /* two low samples now: later, by the most a step may move */
  fail_unless_equals_int64 (swarm_playout_update (&p, FLOOR_US, SEGMENT_US),
      SEGMENT_US / 5);
  fail_unless_equals_int64 (p.total_us, SEGMENT_US / 5);
}

GST_END_TEST;

/* Nothing moves during warm-up, nor for segments without a duration. */
GST_START_TEST (test_warmup)
{
  SwarmPlayout p;
  guint i;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  for (i = 0; i < 4; i++)
    fail_unless_equals_int64 (swarm_playout_update (&p, 2000000, SEGMENT_US),
        0);
  fail_unless_equals_int64 (swarm_playout_update (&p, 2000000, 0), 0);
  fail_unless (swarm_playout_update (&p, 2000000, SEGMENT_US) < 0);
}

GST_END_TEST;

/* A joiner whose first segments came just in time (its first partners were
 * slow; slack within the tolerance of the floor), after which everything
 * arrives 1.5 s early: those first samples leave the window once they are
 * the older half of all, so it catches up from the 17th segment on (the
 * second smallest of the newest eight), not after a whole window of ten
 * seconds, and never moves later meanwhile. */
GST_START_TEST (test_join_samples_age_out)
{
  SwarmPlayout p;
  gint64 applied = 0, shift;
  guint i, first_earlier = 0;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  for (i = 0; i < 10; i++)
    fail_unless_equals_int64 (swarm_playout_update (&p, 230000, SEGMENT_US),
        0);
  for (i = 10; i < 80; i++) {
    shift = swarm_playout_update (&p, 1500000 + applied, SEGMENT_US);
    fail_unless (shift <= 0, "moved later by %" G_GINT64_FORMAT " at %u",
        shift, i);
    if (shift < 0 && !first_earlier)
      first_earlier = i;
    applied += shift;
  }
  fail_unless_equals_int (first_earlier, 16);
  /* 60 steps of 40 ms would be 2.4 s: it stopped at the floor */
  fail_unless (1500000 + applied >= FLOOR_US);
  fail_unless (1500000 + applied <= FLOOR_US + TOLERANCE_US + SEGMENT_US / 5);
}

GST_END_TEST;

/* The join margin: 300 ms more than the floor held at the start, worn off
 * over 20 s of playout (100 segments), so that a joiner on partners just
 * found does not play at the edge of its arrivals; a miss brings half of
 * it back. */
GST_START_TEST (test_join_margin)
{
  SwarmPlayout p;
  gint64 applied = 0, shift;
  guint i;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  swarm_playout_set_margin (&p, 300000);
  /* everything 1.5 s early: it catches up, but to the floor + the margin
   * still left, not to the floor */
  for (i = 0; i < 40; i++) {
    shift = swarm_playout_update (&p, 1500000 + applied, SEGMENT_US);
    applied += shift;
  }
  /* 40 segments wore 120 ms of the 300 off */
  fail_unless_equals_int64 (p.margin_us, 180000);
  fail_unless (1500000 + applied >= FLOOR_US + 180000 - TOLERANCE_US,
      "slack %" G_GINT64_FORMAT, 1500000 + applied);
  fail_unless (1500000 + applied <= FLOOR_US + 180000 + TOLERANCE_US +
      SEGMENT_US / 5, "slack %" G_GINT64_FORMAT, 1500000 + applied);
  /* worn off after 100 segments: at the floor */
  for (i = 40; i < 160; i++) {
    shift = swarm_playout_update (&p, 1500000 + applied, SEGMENT_US);
    applied += shift;
  }
  fail_unless_equals_int64 (p.margin_us, 0);
  fail_unless (1500000 + applied <= FLOOR_US + TOLERANCE_US + SEGMENT_US / 5);
  /* a miss: half of it back */
  swarm_playout_note_miss (&p);
  fail_unless_equals_int64 (p.margin_us, 150000);
  swarm_playout_note_miss (&p);
  swarm_playout_note_miss (&p);
  fail_unless_equals_int64 (p.margin_us, 300000);
}

GST_END_TEST;

/* Fast catch-up: 1.5 s behind, steps of half a segment (100 ms) while more
 * than 250 ms above the floor, then of a fifth; never faster the other way,
 * and the floor still holds. */
GST_START_TEST (test_fast_catch_up)
{
  SwarmPlayout p;
  gint64 applied = 0, shift;
  guint i, fast = 0, slow = 0;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  swarm_playout_set_fast_catch_up (&p, 0.5, FLOOR_US);
  for (i = 0; i < 100; i++) {
    shift = swarm_playout_update (&p, 1750000 + applied, SEGMENT_US);
    fail_unless (shift >= -SEGMENT_US / 2 && shift <= 0);
    if (shift == -SEGMENT_US / 2)
      fast++;
    else if (shift < 0)
      slow++;
    applied += shift;
  }
  /* 1.5 s − 250 ms at 100 ms, then the rest at ≤ 40 ms */
  fail_unless (fast >= 12 && fast <= 13, "%u fast steps", fast);
  fail_unless (slow >= 1 && slow <= 7, "%u slow steps", slow);
  fail_unless (1750000 + applied >= FLOOR_US - TOLERANCE_US);
  fail_unless (1750000 + applied <= FLOOR_US + TOLERANCE_US);
  /* too little slack: later at the usual pace only */
  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  swarm_playout_set_fast_catch_up (&p, 0.5, FLOOR_US);
  for (i = 0; i < 20; i++)
    fail_unless (swarm_playout_update (&p, 0, SEGMENT_US) <= SEGMENT_US / 5);
}

GST_END_TEST;

/* Known to be 1 s behind at the start: paid at half a segment per segment,
 * first through segments in hand (no samples), then out of what each
 * segment's slack has over the floor, for 25 samples at most. */
GST_START_TEST (test_behind_at_start)
{
  SwarmPlayout p;
  gint64 paid = 0;
  guint i;

  swarm_playout_init (&p, FLOOR_US, TOLERANCE_US, 0.2);
  swarm_playout_set_fast_catch_up (&p, 0.5, FLOOR_US);
  swarm_playout_set_behind (&p, 1000000);
  for (i = 0; i < 4; i++)
    paid += swarm_playout_take_behind (&p, SEGMENT_US);
  fail_unless_equals_int64 (paid, -400000);
  /* slack 1.2 s (the debt included): paid on, no warm-up needed */
  fail_unless_equals_int64 (swarm_playout_update (&p, 1200000 + paid,
          SEGMENT_US), -100000);
  paid -= 100000;
  /* 30 ms above the floor: only that much */
  fail_unless_equals_int64 (swarm_playout_update (&p, FLOOR_US + 30000,
          SEGMENT_US), -30000);
  paid -= 30000;
  fail_unless_equals_int64 (p.behind_us, 1000000 + paid);
  /* at the floor: nothing paid, nothing forgotten (a late segment between
   * the start and the newest in hand) */
  fail_unless_equals_int64 (swarm_playout_update (&p, FLOOR_US, SEGMENT_US),
      0);
  fail_unless_equals_int64 (p.behind_us, 1000000 + paid);
  /* after 25 samples, the rest is forgotten */
  for (i = 0; i < 25; i++)
    swarm_playout_update (&p, FLOOR_US, SEGMENT_US);
  fail_unless_equals_int64 (p.behind_us, 0);
  fail_unless_equals_int64 (swarm_playout_take_behind (&p, SEGMENT_US), 0);
  fail_unless_equals_int64 (p.earlier_us, paid);
}

GST_END_TEST;

static Suite *
playout_suite (void)
{
  Suite *s = suite_create ("playout");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_steady_no_correction);
  tcase_add_test (tc, test_catches_up);
  tcase_add_test (tc, test_backs_off);
  tcase_add_test (tc, test_drift_bounded);
  tcase_add_test (tc, test_outliers_and_misses);
  tcase_add_test (tc, test_warmup);
  tcase_add_test (tc, test_join_samples_age_out);
  tcase_add_test (tc, test_join_margin);
  tcase_add_test (tc, test_fast_catch_up);
  tcase_add_test (tc, test_behind_at_start);
  return s;
}

GST_CHECK_MAIN (playout);

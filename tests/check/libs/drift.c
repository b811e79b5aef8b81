/* The drift estimator on synthetic slack series.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm.h>

/* Feeds @n samples of base + trend * i + jitter, applying every shift the
 * estimator answers to the following samples, as p2psrc does.  Returns the
 * largest |slack - initial slack| seen after warm-up. */
static gint64
simulate (SwarmDrift * d, guint n, gint64 base_us, gdouble trend_us,
    gint64 jitter_us)
{
  GRand *rand = g_rand_new_with_seed (42);
  gint64 applied = 0, worst = 0;
  guint i;

  for (i = 0; i < n; i++) {
    gint64 slack = base_us + (gint64) (trend_us * i) + applied +
        (jitter_us ? g_rand_int_range (rand, -jitter_us, jitter_us) : 0);
    applied += swarm_drift_update (d, slack);
    if (i > 200)
      worst = MAX (worst, ABS (slack - base_us));
  }
  g_rand_free (rand);
  return worst;
}

GST_START_TEST (test_steady_no_correction)
{
  SwarmDrift d;

  swarm_drift_init (&d, 40000, 1000);
  simulate (&d, 5000, 300000, 0, 20000);
  /* jitter alone never moves playout */
  fail_unless_equals_int64 (d.total_us, 0);
}

GST_END_TEST;

GST_START_TEST (test_fast_publisher_bounded)
{
  SwarmDrift d;
  gint64 worst;

  /* +50 us of slack per segment: 500 ppm at 10 segments/s, 10x real drift.
   * Over 36000 segments (an hour) that would be 1.8 s of extra buffering. */
  swarm_drift_init (&d, 40000, 1000);
  worst = simulate (&d, 36000, 300000, 50, 10000);
  fail_unless (worst < 80000, "slack wandered %" G_GINT64_FORMAT " us", worst);
  /* the shifts add up to the drift, played earlier */
  fail_unless (d.total_us < -1700000 && d.total_us > -1900000,
      "total %" G_GINT64_FORMAT, d.total_us);
}

GST_END_TEST;

GST_START_TEST (test_slow_publisher_bounded)
{
  SwarmDrift d;
  gint64 worst;

  swarm_drift_init (&d, 40000, 1000);
  worst = simulate (&d, 36000, 300000, -50, 10000);
  fail_unless (worst < 80000, "slack wandered %" G_GINT64_FORMAT " us", worst);
  fail_unless (d.total_us > 1700000 && d.total_us < 1900000);
}

GST_END_TEST;

GST_START_TEST (test_step_limited)
{
  SwarmDrift d;
  guint i;
  gint64 shift;

  swarm_drift_init (&d, 40000, 1000);
  for (i = 0; i < 100; i++)
    fail_unless_equals_int64 (swarm_drift_update (&d, 300000), 0);
  /* a lasting jump: corrected, but never by more than the step */
  for (i = 0; i < 2000; i++) {
    shift = swarm_drift_update (&d, 500000 + d.total_us);
    fail_unless (shift >= -1000 && shift <= 1000);
  }
  fail_unless (d.total_us < -150000 && d.total_us > -200000,
      "total %" G_GINT64_FORMAT, d.total_us);
}

GST_END_TEST;

static Suite *
drift_suite (void)
{
  Suite *s = suite_create ("drift");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_steady_no_correction);
  tcase_add_test (tc, test_fast_publisher_bounded);
  tcase_add_test (tc, test_slow_publisher_bounded);
  tcase_add_test (tc, test_step_limited);
  return s;
}

GST_CHECK_MAIN (drift);

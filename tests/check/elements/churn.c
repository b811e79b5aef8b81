/* Churn: viewers that crash (SIGKILL, no goodbye) while others watch.
 * The crashing viewers are real gst-launch-1.0 processes; the survivors run
 * in this process and are checked byte for byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>
#include "p2p-test-util.h"

#define WAIT_MS TEST_MS (40000)

static GSubprocess *
spawn_viewer (const gchar * uri)
{
  GError *error = NULL;
  gchar *arg = g_strdup_printf ("uri=%s", uri);
  GSubprocess *p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
      G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, "gst-launch-1.0", "-q",
      "p2psrc", arg, "latency=1000", "!", "fakesink", "sync=true", NULL);

  fail_unless (p != NULL, "cannot start gst-launch-1.0: %s",
      error ? error->message : "?");
  g_free (arg);
  return p;
}

GST_START_TEST (test_viewers_crash_others_keep_playing)
{
  TestOrigin *origin = test_origin_start ("max-peers=2");
  GSubprocess *crashers[4];
  TestViewer *v[2];
  guint before[2], i;
  gint64 t0;

  /* the crashers come first, so they are the origin's partners and the
   * survivors' suppliers */
  for (i = 0; i < 4; i++) {
    crashers[i] = spawn_viewer (origin->uri);
    g_usleep (300 * 1000);
  }
  g_usleep (1500 * 1000);
  for (i = 0; i < 2; i++)
    v[i] = test_viewer_start (origin->uri, "latency=1000");
  for (i = 0; i < 2; i++)
    fail_unless (test_viewer_wait (v[i], 200, WAIT_MS));

  /* two thirds of the audience vanish at once, without a word */
  for (i = 0; i < 4; i++)
    g_subprocess_force_exit (crashers[i]);
  t0 = g_get_monotonic_time ();
  for (i = 0; i < 2; i++)
    before[i] = test_viewer_count (v[i]);

  for (i = 0; i < 2; i++) {
    GstStructure *s;

    fail_unless (test_viewer_wait (v[i], before[i] + 400, WAIT_MS),
        "survivor %u stalled at %u buffers after the crash", i,
        test_viewer_count (v[i]));
    fail_unless (test_viewer_verify (v[i]) >= before[i] + 399);
    s = test_viewer_stats (v[i]);
    g_print ("survivor %u: %" G_GUINT64_FORMAT " segments missed, %.1f s to "
        "play 400 more buffers\n", i, test_stat_u64 (s, "segments-missed"),
        (g_get_monotonic_time () - t0) / 1e6);
    gst_structure_free (s);
  }

  for (i = 0; i < 4; i++) {
    g_subprocess_wait (crashers[i], NULL, NULL);
    g_object_unref (crashers[i]);
  }
  for (i = 0; i < 2; i++) {
    test_viewer_stop (v[i]);
    test_viewer_free (v[i]);
  }
  test_origin_stop (origin);
}

GST_END_TEST;

static Suite *
churn_suite (void)
{
  Suite *s = suite_create ("churn");
  TCase *tc = test_tcase_create ("general");

  tcase_set_timeout (tc, 180);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_viewers_crash_others_keep_playing);
  return s;
}

TEST_CHECK_MAIN (churn);

/* End-to-end swarms on loopback: a real p2psink origin (embedded tracker,
 * libnice, DTLS) and real p2psrc viewers, checked byte for byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "p2p-test-util.h"

#define WAIT_MS TEST_MS (40000)

static guint64
sum_stat (TestViewer ** v, guint n, const gchar * field)
{
  guint64 total = 0;
  guint i;

  for (i = 0; i < n; i++) {
    GstStructure *s = test_viewer_stats (v[i]);
    total += test_stat_u64 (s, field);
    gst_structure_free (s);
  }
  return total;
}

GST_START_TEST (test_four_viewers_byte_exact)
{
  TestOrigin *origin = test_origin_start ("max-peers=1");
  TestViewer *v[4];
  guint i, from_peers_only = 0;
  guint64 origin_sent, received, from_origin, from_peers;
  GstStructure *os;
  gint64 startup_sum = 0;

  for (i = 0; i < 4; i++) {
    v[i] = test_viewer_start (origin->uri, "latency=1000");
    g_usleep (300 * 1000);
  }
  for (i = 0; i < 4; i++)
    fail_unless (test_viewer_wait (v[i], 300, WAIT_MS),
        "viewer %u got only %u buffers", i, test_viewer_count (v[i]));

  for (i = 0; i < 4; i++) {
    GstStructure *s = test_viewer_stats (v[i]);
    gint64 startup = -1;
    guint peers = 0;

    fail_unless (test_viewer_verify (v[i]) >= 299);
    fail_unless (gst_structure_has_name (s, "p2p-stats"));
    fail_unless (gst_structure_get_int64 (s, "startup-ms", &startup));
    fail_unless (startup >= 0 && startup < WAIT_MS);
    fail_unless (gst_structure_get_uint (s, "peers", &peers));
    fail_unless (peers >= 1);
    fail_unless (test_stat_u64 (s, "segments-received") > 0);
    fail_unless_equals_uint64 (test_stat_u64 (s, "bytes-received"),
        test_stat_u64 (s, "bytes-from-origin") +
        test_stat_u64 (s, "bytes-from-peers"));
    {
      const GValue *list = gst_structure_get_value (s, "peer-stats");
      gdouble continuity = -1, rate = -1;
      guint64 played = test_stat_u64 (s, "segments-played");
      guint64 missed = test_stat_u64 (s, "segments-missed");
      const GstStructure *p;

      fail_unless (gst_structure_get_double (s, "continuity", &continuity));
      fail_unless_equals_float (continuity, (gdouble) played / (played +
              missed));
      fail_unless (played > 0);
      fail_unless (list && gst_value_array_get_size (list) == peers);
      p = gst_value_get_structure (gst_value_array_get_value (list, 0));
      fail_unless_equals_string (gst_structure_get_string (p, "address-kind"),
          "host");
      fail_unless (gst_structure_get_double (p, "rate-in-kbps", &rate));
      fail_unless (rate >= 0);
    }
    if (test_stat_u64 (s, "bytes-from-origin") == 0
        && test_stat_u64 (s, "bytes-from-peers") > 0)
      from_peers_only++;
    startup_sum += startup;
    gst_structure_free (s);
  }

  g_object_get (origin->sink, "stats", &os, NULL);
  origin_sent = test_stat_u64 (os, "bytes-sent");
  fail_unless (test_stat_u64 (os, "segments-published") > 0);
  {
    gdouble copies = -1;
    fail_unless (gst_structure_get_double (os, "upload-copies", &copies));
    fail_unless_equals_float (copies, (gdouble) origin_sent /
        test_stat_u64 (os, "bytes-published"));
    /* fresh segments are pushed to a first viewer, not just announced */
    fail_unless (test_stat_u64 (os, "segments-pushed") > 0);
    /* about one copy: the origin feeds one viewer per segment */
    fail_unless (copies > 0.5 && copies < 2.0, "origin uploaded %.2f copies",
        copies);
  }
  gst_structure_free (os);
  received = sum_stat (v, 4, "bytes-received");
  from_origin = sum_stat (v, 4, "bytes-from-origin");
  from_peers = sum_stat (v, 4, "bytes-from-peers");

  /* The origin serves one viewer directly; the others live off viewers. */
  fail_unless (from_peers > 0);
  fail_unless (from_peers_only >= 2, "only %u viewers fed purely by peers",
      from_peers_only);
  fail_unless (origin_sent < received, "origin sent %" G_GUINT64_FORMAT
      " of %" G_GUINT64_FORMAT, origin_sent, received);
  g_print ("four viewers: mean startup %" G_GINT64_FORMAT " ms, %.1f%% of "
      "bytes from peers, origin sent %.2f of the bytes viewers received\n",
      startup_sum / 4, 100.0 * from_peers / (from_origin + from_peers),
      (gdouble) origin_sent / received);

  for (i = 0; i < 4; i++) {
    test_viewer_stop (v[i]);
    test_viewer_free (v[i]);
  }
  test_origin_stop (origin);
}

GST_END_TEST;

GST_START_TEST (test_late_joiner)
{
  TestOrigin *origin = test_origin_start ("max-peers=2");
  TestViewer *early = test_viewer_start (origin->uri, NULL);
  TestViewer *late;

  fail_unless (test_viewer_wait (early, 100, WAIT_MS));
  /* well into the stream: the joiner must start on a keyframe, headers first */
  g_usleep (1500 * 1000);
  late = test_viewer_start (origin->uri, NULL);
  fail_unless (test_viewer_wait (late, 150, WAIT_MS));
  fail_unless (test_viewer_verify (late) >= 149);
  fail_unless (test_viewer_verify (early) >= 99);

  test_viewer_stop (late);
  test_viewer_stop (early);
  test_viewer_free (late);
  test_viewer_free (early);
  test_origin_stop (origin);
}

GST_END_TEST;

GST_START_TEST (test_viewer_leaves)
{
  TestOrigin *origin = test_origin_start ("max-peers=2");
  TestViewer *v[4];
  guint before[4];
  guint i;

  for (i = 0; i < 4; i++) {
    v[i] = test_viewer_start (origin->uri, "latency=1000");
    g_usleep (200 * 1000);
  }
  for (i = 0; i < 4; i++)
    fail_unless (test_viewer_wait (v[i], 150, WAIT_MS));

  /* The first viewer is a partner of the origin: its leaving must not stop
   * the others. */
  test_viewer_stop (v[0]);
  for (i = 1; i < 4; i++)
    before[i] = test_viewer_count (v[i]);
  for (i = 1; i < 4; i++) {
    fail_unless (test_viewer_wait (v[i], before[i] + 300, WAIT_MS),
        "viewer %u stalled at %u buffers after a partner left", i,
        test_viewer_count (v[i]));
    fail_unless (test_viewer_verify (v[i]) >= before[i] + 299);
  }

  test_viewer_free (v[0]);
  for (i = 1; i < 4; i++) {
    test_viewer_stop (v[i]);
    test_viewer_free (v[i]);
  }
  test_origin_stop (origin);
}

GST_END_TEST;

GST_START_TEST (test_consume_only)
{
  TestOrigin *origin = test_origin_start ("max-peers=2");
  TestViewer *metered = test_viewer_start (origin->uri, "consume-only=true");
  TestViewer *normal;
  GstStructure *ms, *ns;

  fail_unless (test_viewer_wait (metered, 50, WAIT_MS));
  normal = test_viewer_start (origin->uri, NULL);
  fail_unless (test_viewer_wait (normal, 150, WAIT_MS));
  fail_unless (test_viewer_wait (metered, 200, WAIT_MS));
  fail_unless (test_viewer_verify (metered) >= 199);
  fail_unless (test_viewer_verify (normal) >= 149);

  ms = test_viewer_stats (metered);
  ns = test_viewer_stats (normal);
  /* the metered viewer never uploads a segment byte, so the other one gets
   * everything from the origin */
  fail_unless_equals_uint64 (test_stat_u64 (ms, "bytes-sent"), 0);
  fail_unless_equals_uint64 (test_stat_u64 (ns, "bytes-from-peers"), 0);
  fail_unless (test_stat_u64 (ns, "bytes-from-origin") > 0);
  gst_structure_free (ms);
  gst_structure_free (ns);

  test_viewer_stop (normal);
  test_viewer_stop (metered);
  test_viewer_free (normal);
  test_viewer_free (metered);
  test_origin_stop (origin);
}

GST_END_TEST;

GST_START_TEST (test_upload_limit)
{
  /* the origin serves one viewer; the other depends on it, which may
   * upload only 300 kbit/s, a quarter of the stream */
  TestOrigin *origin = test_origin_start ("max-peers=1");
  TestViewer *limited = test_viewer_start (origin->uri, "upload-limit=300");
  TestViewer *other;
  GstStructure *ls;
  gint64 t0;
  guint64 sent0, sent1;
  gdouble seconds, kbps;

  fail_unless (test_viewer_wait (limited, 50, WAIT_MS));
  other = test_viewer_start (origin->uri, "latency=300");
  g_usleep (G_USEC_PER_SEC);
  ls = test_viewer_stats (limited);
  sent0 = test_stat_u64 (ls, "bytes-sent");
  gst_structure_free (ls);
  t0 = g_get_monotonic_time ();
  g_usleep (4 * G_USEC_PER_SEC);
  ls = test_viewer_stats (limited);
  sent1 = test_stat_u64 (ls, "bytes-sent");
  gst_structure_free (ls);
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  kbps = (sent1 - sent0) * 8 / 1000.0 / seconds;
  /* it did upload, but never faster than allowed (plus one 20 ms burst) */
  fail_unless (sent1 > 0);
  fail_unless (kbps < 300 * 1.1 + 8 * 4 * 1.2 / seconds,
      "uploaded %.0f kbit/s", kbps);
  g_print ("upload-limit=300: %.0f kbit/s measured over %.1f s\n", kbps,
      seconds);

  test_viewer_stop (other);
  test_viewer_free (other);
  test_viewer_stop (limited);
  test_viewer_free (limited);
  test_origin_stop (origin);
}

GST_END_TEST;

static Suite *
swarm_suite (void)
{
  Suite *s = suite_create ("swarm");
  TCase *tc = test_tcase_create ("general");

  tcase_set_timeout (tc, 240);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_four_viewers_byte_exact);
  tcase_add_test (tc, test_late_joiner);
  tcase_add_test (tc, test_viewer_leaves);
  tcase_add_test (tc, test_consume_only);
  tcase_add_test (tc, test_upload_limit);
  return s;
}

TEST_CHECK_MAIN (swarm);

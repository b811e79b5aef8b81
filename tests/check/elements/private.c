/* Private swarms: a publisher with a secret; viewers with the right one
 * play byte-exact, viewers with none or a wrong one get no segment byte and
 * a clear error, and the secret shows up in no log line, property or
 * message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "p2p-test-util.h"

#define SECRET "correct horse battery staple"

/* ---- a log sink that looks for the secret ----------------------------- */

static gint log_lines;
static gint log_leaks;

static void
log_watch (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);

  g_atomic_int_inc (&log_lines);
  if (text && strstr (text, SECRET))
    g_atomic_int_inc (&log_leaks);
}

static void
log_watch_start (void)
{
  static gsize installed;

  g_atomic_int_set (&log_lines, 0);
  g_atomic_int_set (&log_leaks, 0);
  /* debug level for our own categories: everything we say about links,
   * descriptions and URIs goes through the watch */
  gst_debug_set_threshold_for_name ("swarm*", GST_LEVEL_DEBUG);
  gst_debug_set_threshold_for_name ("p2p*", GST_LEVEL_DEBUG);
  /* installed once and never removed: GStreamer leaks the old list on
   * every removal, on purpose (another thread may be walking it) */
  if (g_once_init_enter (&installed)) {
    gst_debug_add_log_function (log_watch, NULL, NULL);
    g_once_init_leave (&installed, 1);
  }
}

static void
log_watch_stop (void)
{
  gint lines, leaks;

  gst_debug_unset_threshold_for_name ("swarm*");
  gst_debug_unset_threshold_for_name ("p2p*");
  lines = g_atomic_int_get (&log_lines);
  leaks = g_atomic_int_get (&log_leaks);
  GST_INFO ("%d log lines watched, %d held the secret", lines, leaks);
  fail_unless (lines > 100, "the log watch saw almost nothing (%d lines)",
      lines);
  fail_unless_equals_int (leaks, 0);
}

/* ---- helpers ------------------------------------------------------------ */

static TestOrigin *
private_origin_start (void)
{
  return test_origin_start ("max-peers=4 secret=\"" SECRET "\"");
}

/* Expects the viewer to fail with NOT_AUTHORIZED within @timeout_ms;
 * returns the error text. */
static gchar *
expect_not_authorized (TestViewer * v, guint timeout_ms)
{
  GstMessage *msg = test_wait_message (v->pipeline, GST_MESSAGE_ERROR, NULL,
      timeout_ms);
  GError *error = NULL;
  gchar *debug = NULL, *text;

  fail_unless (msg != NULL, "no error within %u ms", timeout_ms);
  gst_message_parse_error (msg, &error, &debug);
  GST_INFO ("viewer error: %s", error->message);
  fail_unless (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_AUTHORIZED), "error %s:%d %s",
      g_quark_to_string (error->domain), error->code, error->message);
  fail_if (strstr (error->message, SECRET));
  fail_if (debug && strstr (debug, SECRET));
  text = g_strdup (error->message);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  return text;
}

/* Not one segment byte reached @v. */
static void
assert_received_nothing (TestViewer * v)
{
  GstStructure *stats = test_viewer_stats (v);

  GST_INFO ("outsider stats: %" GST_PTR_FORMAT, stats);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "bytes-received"), 0);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-received"), 0);
  fail_unless_equals_int (test_viewer_count (v), 0);
  gst_structure_free (stats);
}

/* ---- tests ---------------------------------------------------------------- */

GST_START_TEST (test_right_secret_plays)
{
  TestOrigin *origin;
  TestViewer *by_uri, *by_property;
  gchar *uri, *shown = NULL;
  GstStructure *stats;

  log_watch_start ();
  origin = private_origin_start ();
  fail_if (strstr (origin->uri, SECRET));
  fail_if (strstr (origin->uri, "secret"));

  /* the secret in the URI (percent-encoded spaces) ... */
  uri = g_strdup_printf ("\"%s?secret=correct%%20horse%%20battery%%20staple\"",
      origin->uri);
  by_uri = test_viewer_start (uri, "join-timeout=10000");
  g_free (uri);
  /* ... or as a property */
  by_property = test_viewer_start (origin->uri,
      "join-timeout=10000 secret=\"" SECRET "\"");

  fail_unless (test_viewer_wait (by_uri, 60, 20000));
  fail_unless (test_viewer_wait (by_property, 60, 20000));
  fail_unless (test_viewer_verify (by_uri) >= 60);
  fail_unless (test_viewer_verify (by_property) >= 60);

  /* the readable uri property lost the secret, the element kept it */
  g_object_get (by_uri->src, "uri", &shown, NULL);
  fail_unless_equals_string (shown, origin->uri);
  g_free (shown);
  stats = test_viewer_stats (by_uri);
  fail_unless (test_stat_u64 (stats, "bytes-received") > 0);
  gst_structure_free (stats);

  g_object_get (origin->sink, "uri", &shown, NULL);
  fail_if (strstr (shown, SECRET));
  g_free (shown);
  g_object_get (origin->sink, "stats", &stats, NULL);
  fail_unless (gst_structure_has_field (stats, "descriptions-refused"));
  fail_unless_equals_uint64 (test_stat_u64 (stats, "descriptions-refused"), 0);
  gst_structure_free (stats);

  test_viewer_stop (by_uri);
  test_viewer_free (by_uri);
  test_viewer_stop (by_property);
  test_viewer_free (by_property);
  test_origin_stop (origin);
  log_watch_stop ();
}

GST_END_TEST;

GST_START_TEST (test_no_secret_refused)
{
  TestOrigin *origin;
  TestViewer *insider, *outsider;
  GstStructure *stats;
  gchar *text;

  log_watch_start ();
  origin = private_origin_start ();
  /* a member, so the outsider meets more than the origin */
  insider = test_viewer_start (origin->uri, "secret=\"" SECRET "\"");
  fail_unless (test_viewer_wait (insider, 30, 20000));

  outsider = test_viewer_start (origin->uri, "join-timeout=3000");
  text = expect_not_authorized (outsider, 15000);
  fail_unless (strstr (text, "private") != NULL, "unclear error: %s", text);
  fail_unless (strstr (text, "secret") != NULL, "unclear error: %s", text);
  g_free (text);
  assert_received_nothing (outsider);

  /* the origin turned its offers down and kept streaming to the member */
  g_object_get (origin->sink, "stats", &stats, NULL);
  GST_INFO ("origin stats: %" GST_PTR_FORMAT, stats);
  fail_unless (test_stat_u64 (stats, "descriptions-refused") > 0);
  gst_structure_free (stats);
  fail_unless (test_viewer_wait (insider, test_viewer_count (insider) + 30,
          10000));
  fail_unless (test_viewer_verify (insider) >= 60);

  test_viewer_stop (outsider);
  test_viewer_free (outsider);
  test_viewer_stop (insider);
  test_viewer_free (insider);
  test_origin_stop (origin);
  log_watch_stop ();
}

GST_END_TEST;

GST_START_TEST (test_wrong_secret_refused)
{
  TestOrigin *origin;
  TestViewer *outsider;
  GstStructure *stats;
  gchar *text;

  log_watch_start ();
  origin = private_origin_start ();
  outsider = test_viewer_start (origin->uri,
      "join-timeout=3000 secret=\"correct horse battery stapler\"");
  text = expect_not_authorized (outsider, 15000);
  fail_unless (strstr (text, "does not match") != NULL, "unclear error: %s",
      text);
  g_free (text);
  assert_received_nothing (outsider);

  g_object_get (origin->sink, "stats", &stats, NULL);
  fail_unless (test_stat_u64 (stats, "descriptions-refused") > 0);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "bytes-sent"), 0);
  gst_structure_free (stats);

  test_viewer_stop (outsider);
  test_viewer_free (outsider);
  test_origin_stop (origin);
  log_watch_stop ();
}

GST_END_TEST;

/* A secret given to a public swarm's viewer: it cannot open the origin's
 * plain descriptions' answers either way, and says the secret is wrong. */
GST_START_TEST (test_secret_on_public_swarm_refused)
{
  TestOrigin *origin = test_origin_start (NULL);
  TestViewer *v = test_viewer_start (origin->uri,
      "join-timeout=3000 secret=\"" SECRET "\"");
  gchar *text = expect_not_authorized (v, 15000);

  g_free (text);
  assert_received_nothing (v);
  test_viewer_stop (v);
  test_viewer_free (v);
  test_origin_stop (origin);
}

GST_END_TEST;

static Suite *
private_suite (void)
{
  Suite *s = suite_create ("private");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_right_secret_plays);
  tcase_add_test (tc, test_no_secret_refused);
  tcase_add_test (tc, test_wrong_secret_refused);
  tcase_add_test (tc, test_secret_on_public_swarm_refused);
  return s;
}

TEST_CHECK_MAIN (private);

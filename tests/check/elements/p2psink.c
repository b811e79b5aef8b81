/* p2psink: properties, the published URI, key files, bad settings, an
 * unreachable external tracker, and EOS reaching the viewers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <swarm/swarm.h>
#include "p2p-test-util.h"

GST_START_TEST (test_properties)
{
  GstElement *sink = gst_element_factory_make ("p2psink", NULL);
  gchar *address, *uri, *tracker;
  guint port, max_peers, duration, interval;
  GstStructure *stats;

  fail_unless (sink != NULL);
  g_object_get (sink, "address", &address, "port", &port, "max-peers",
      &max_peers, "segment-duration", &duration, "stats-interval", &interval,
      "uri", &uri, "tracker", &tracker, "stats", &stats, NULL);
  fail_unless_equals_string (address, "0.0.0.0");
  fail_unless_equals_int (port, 8800);
  fail_unless_equals_int (max_peers, 4);
  fail_unless_equals_int (duration, 200);
  fail_unless_equals_int (interval, 1000);
  fail_unless (uri == NULL);
  fail_unless (tracker == NULL);
  fail_unless (gst_structure_has_name (stats, "p2p-stats"));
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-published"), 0);
  gst_structure_free (stats);
  g_free (address);
  gst_object_unref (sink);
}

GST_END_TEST;

GST_START_TEST (test_published_uri_and_stats)
{
  TestOrigin *origin = test_origin_start ("segment-duration=50");
  SwarmUri *parsed;
  GstStructure *stats;
  gchar *uri;
  guint tracker_port = 0;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_object_get (origin->sink, "uri", &uri, NULL);
  fail_unless_equals_string (uri, origin->uri);
  parsed = swarm_uri_parse (uri, NULL);
  fail_unless (parsed != NULL);
  fail_unless_equals_string (parsed->host, "127.0.0.1");
  /* segments are published as buffers flow (10 ms buffers, 50 ms segments) */
  do {
    g_usleep (100 * 1000);
    g_object_get (origin->sink, "stats", &stats, NULL);
    if (test_stat_u64 (stats, "segments-published") >= 5)
      break;
    gst_structure_free (stats);
    stats = NULL;
  } while (g_get_monotonic_time () < deadline);
  fail_unless (stats != NULL, "segments are not being published");
  fail_unless (gst_structure_get_uint (stats, "tracker-port", &tracker_port));
  fail_unless_equals_int (tracker_port, parsed->port);
  gst_structure_free (stats);
  swarm_uri_free (parsed);
  g_free (uri);
  test_origin_stop (origin);
}

GST_END_TEST;

static gchar *
publish_once_with_key (const gchar * key_path)
{
  gchar *props = g_strdup_printf ("key-file=%s", key_path);
  TestOrigin *origin = test_origin_start (props);
  gchar *id = g_strdup (strrchr (origin->uri, '/') + 1);

  test_origin_stop (origin);
  g_free (props);
  return id;
}

GST_START_TEST (test_key_file)
{
  gchar *dir = g_dir_make_tmp ("p2psink-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "publisher.key", NULL);
  gchar *first, *second, *desc, *text;
  GStatBuf st;
  GstElement *pipeline;
  GstMessage *msg;
  GError *error = NULL;

  first = publish_once_with_key (path);
  fail_unless (g_stat (path, &st) == 0);
  fail_unless_equals_int (st.st_mode & 0777, 0600);
  second = publish_once_with_key (path);
  fail_unless_equals_string (first, second);

  /* readable by others: refused, with a message saying what to do */
  fail_unless (g_chmod (path, 0644) == 0);
  desc = g_strdup_printf ("appsrc is-live=true ! p2psink port=0 "
      "address=127.0.0.1 key-file=%s", path);
  pipeline = gst_parse_launch (desc, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = test_wait_message (pipeline, GST_MESSAGE_ERROR, NULL, 5000);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, &text);
  fail_unless (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ_WRITE));
  fail_unless (strstr (text, path) != NULL, "%s", text);
  g_error_free (error);
  g_free (text);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  g_unlink (path);
  g_rmdir (dir);
  g_free (desc);
  g_free (first);
  g_free (second);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

static void
expect_start_error (const gchar * props, GQuark domain, gint code,
    guint timeout_ms)
{
  gchar *desc = g_strdup_printf ("appsrc is-live=true ! p2psink port=0 "
      "address=127.0.0.1 %s", props);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = test_wait_message (pipeline, GST_MESSAGE_ERROR, NULL, timeout_ms);
  fail_unless (msg != NULL, "no error for %s", props);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (error, domain, code), "%s: %s", props,
      error->message);
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_free (desc);
}

GST_START_TEST (test_bad_settings)
{
  expect_start_error ("stun-server=http://example.com", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, 5000);
  expect_start_error ("turn-server=turn://nopassword@127.0.0.1:3478",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, 5000);
  /* tracker URLs are checked at once, every one of them */
  expect_start_error ("tracker=http://127.0.0.1:9/announce",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, 5000);
  expect_start_error ("tracker=\"ws://127.0.0.1:9/announce, 127.0.0.1:10\"",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, 5000);
  /* a tracker nobody runs: a clear error once the ready timeout passes */
  expect_start_error ("tracker=ws://127.0.0.1:9/announce", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_OPEN_WRITE, 20000);
}

GST_END_TEST;

GST_START_TEST (test_eos_reaches_viewers)
{
  TestOrigin *origin = test_origin_start (NULL);
  TestViewer *v = test_viewer_start (origin->uri, NULL);
  GstMessage *msg;

  fail_unless (test_viewer_wait (v, 30, 20000));
  /* stop pushing, then end the stream at the origin */
  test_origin_stop_pushing (origin);
  gst_app_src_end_of_stream (GST_APP_SRC (origin->appsrc));
  msg = test_wait_message (v->pipeline, GST_MESSAGE_EOS | GST_MESSAGE_ERROR,
      NULL, 10000);
  fail_unless (msg != NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  /* every buffer the origin took before EOS was played, and nothing else */
  fail_unless (test_viewer_verify (v) >= 29);
  {
    GstBuffer *last = g_ptr_array_index (v->buffers, v->buffers->len - 1);
    GstMapInfo map;

    gst_buffer_map (last, &map, GST_MAP_READ);
    fail_unless_equals_int (GST_READ_UINT32_BE (map.data),
        origin->pushed - 1);
    gst_buffer_unmap (last, &map);
  }
  test_viewer_stop (v);
  test_viewer_free (v);
  test_origin_stop (origin);
}

GST_END_TEST;

static Suite *
p2psink_suite (void)
{
  Suite *s = suite_create ("p2psink");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_published_uri_and_stats);
  tcase_add_test (tc, test_key_file);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_eos_reaches_viewers);
  return s;
}

TEST_CHECK_MAIN (p2psink);

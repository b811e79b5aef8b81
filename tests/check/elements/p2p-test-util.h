/* Shared by the element tests: a live origin fed with a known stream, and
 * viewers that record what they play, so tests can compare byte for byte.
 *
 * The stream: buffer i has 4 bytes of big-endian i then a pattern derived
 * from i, a size that varies with i, PTS = i * 10 ms, DTS = PTS on even
 * buffers and NONE on odd ones, duration 10 ms, and DELTA_UNIT except on every
 * 10th buffer (a keyframe).  The caps carry a streamheader.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/app/app.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TEST_BUFFER_INTERVAL (10 * GST_MSECOND)
#define TEST_KEYFRAME_EVERY 10
#define TEST_HEADER_BYTES "P2P-TEST-STREAM-HEADER"

/* Slow runs (valgrind: meson test --setup valgrind sets
 * P2P_TEST_TIME_SCALE) stretch bounded waits and real-time margins by this
 * factor; 1 otherwise. */
static inline guint
test_time_scale (void)
{
  const gchar *v = g_getenv ("P2P_TEST_TIME_SCALE");
  guint64 scale = v ? g_ascii_strtoull (v, NULL, 10) : 1;

  return (guint) CLAMP (scale, 1, 20);
}

#define TEST_MS(ms) ((guint) (ms) * test_time_scale ())

/* A floor on playout quality (continuity) that a run in real time must
 * meet.  Under memcheck (time scale > 1) every peer runs 20-50 times
 * slower while the stream keeps its pace, so segments come late for reasons
 * that are not the code's: there the floor is halved, still failing a
 * viewer that stopped playing, and the run is about memory errors.  (CI saw
 * 0.61 once for a hostile replay case that holds 0.9 natively and under
 * ASan.) */
static inline gdouble
test_quality_floor (gdouble native)
{
  return test_time_scale () > 1 ? native / 2 : native;
}

/* A test may give some buffers of the stream a size of their own (big
 * frames): a size, or 0 for the usual one. */
static gsize (*test_buffer_size_override) (guint i);

static inline gsize
test_buffer_size (guint i)
{
  gsize size = test_buffer_size_override ? test_buffer_size_override (i) : 0;

  return size ? size : 64 + (i * 37) % 3000;
}

static inline GstBuffer *
test_buffer_new (guint i)
{
  gsize size = test_buffer_size (i), k;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  GST_WRITE_UINT32_BE (map.data, i);
  for (k = 4; k < size; k++)
    map.data[k] = (guint8) (i * 7 + k);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = i * TEST_BUFFER_INTERVAL;
  GST_BUFFER_DTS (buf) = (i % 2 == 0) ? i * TEST_BUFFER_INTERVAL :
      GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = TEST_BUFFER_INTERVAL;
  if (i % TEST_KEYFRAME_EVERY != 0)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  return buf;
}

static inline GstCaps *
test_caps_new (void)
{
  GstCaps *caps = gst_caps_new_simple ("application/x-p2p-test",
      "stream", G_TYPE_STRING, "demo", NULL);
  GstBuffer *header = gst_buffer_new_memdup (TEST_HEADER_BYTES,
      strlen (TEST_HEADER_BYTES));
  GValue array = G_VALUE_INIT, v = G_VALUE_INIT;

  GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_HEADER);
  g_value_init (&array, GST_TYPE_ARRAY);
  g_value_init (&v, GST_TYPE_BUFFER);
  gst_value_set_buffer (&v, header);
  gst_value_array_append_and_take_value (&array, &v);
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &array);
  gst_buffer_unref (header);
  return caps;
}

/* Waits for a bus message of @types (and, for element messages, named
 * @name) until @timeout_ms.  Returns a ref or NULL. */
static inline GstMessage *
test_wait_message (GstElement * pipeline, GstMessageType types,
    const gchar * name, guint timeout_ms)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GstMessage *msg = NULL;

  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0)
      break;
    msg = gst_bus_timed_pop_filtered (bus, left * GST_USECOND, types);
    if (!msg)
      break;
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT || !name
        || gst_message_has_name (msg, name))
      break;
    gst_message_unref (msg);
    msg = NULL;
  }
  gst_object_unref (bus);
  return msg;
}

/* Starts @desc (which must fail to start) and checks the bus: one WARNING
 * per entry of @expected (each naming a property, the value set and the
 * value used, in that order of appearance), then the ERROR. */
static inline void
test_expect_setting_warnings (const gchar * desc,
    const gchar * const *expected)
{
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstMessage *msg;
  guint n = 0;

  fail_unless (pipeline != NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    GError *err = NULL;
    gchar *dbg = NULL;

    msg = test_wait_message (pipeline, GST_MESSAGE_WARNING |
        GST_MESSAGE_ERROR, NULL, TEST_MS (10000));
    fail_unless (msg != NULL, "no warning nor error");
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_unref (msg);
      break;
    }
    gst_message_parse_warning (msg, &err, &dbg);
    fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_SETTINGS), "%s", err->message);
    fail_unless (expected[n] != NULL, "unexpected warning: %s", err->message);
    fail_unless (strstr (err->message, expected[n]) != NULL,
        "warning \"%s\", expected \"%s\"", err->message, expected[n]);
    n++;
    g_clear_error (&err);
    g_free (dbg);
    gst_message_unref (msg);
  }
  fail_unless (expected[n] == NULL, "no warning \"%s\"", expected[n]);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

/* ---- origin --------------------------------------------------------- */

typedef struct {
  GstElement *pipeline;
  GstElement *appsrc;
  GstElement *sink;
  gchar *uri;
  GThread *pusher;
  gint stop;
  guint pushed;
} TestOrigin;

/* Origins and viewers still running.  Under CK_FORK=no (valgrind) a failed
 * assertion leaves the test's pipelines playing: the next test's
 * GST_END_TEST then waits in gst_task_cleanup_all() for their streaming
 * threads for ever, and a failure shows as a suite timeout with no message
 * (CI lost 44 minutes to one).  A checked teardown stops what is left. */
static GMutex test_live_lock;
static GList *test_live_origins;
static GList *test_live_viewers;

static inline void
test_live_add (GList ** list, gpointer item)
{
  g_mutex_lock (&test_live_lock);
  *list = g_list_prepend (*list, item);
  g_mutex_unlock (&test_live_lock);
}

static inline void
test_live_remove (GList ** list, gpointer item)
{
  g_mutex_lock (&test_live_lock);
  *list = g_list_remove (*list, item);
  g_mutex_unlock (&test_live_lock);
}

/* Sleeps until the monotonic time @deadline_us, if it is still ahead.  The
 * clock is read once: between two reads a slow run (memcheck) can pass the
 * deadline, and a negative wait cast to gulong sleeps for ages (a test
 * origin's pusher did, ~5 s in: the swarm starved and the test hung). */
static inline void
test_sleep_until (gint64 deadline_us)
{
  gint64 wait_us = deadline_us - g_get_monotonic_time ();

  if (wait_us > 0)
    g_usleep ((gulong) wait_us);
}

static gpointer
test_origin_push (gpointer data)
{
  TestOrigin *o = data;
  gint64 next = g_get_monotonic_time ();

  while (!g_atomic_int_get (&o->stop)) {
    GstFlowReturn ret = gst_app_src_push_buffer (GST_APP_SRC (o->appsrc),
        test_buffer_new (o->pushed));

    if (ret != GST_FLOW_OK) {
      /* the origin is gone or failed: say so, or viewers just starve */
      GST_ERROR ("origin pusher stopped at buffer %u: %s", o->pushed,
          gst_flow_get_name (ret));
      break;
    }
    o->pushed++;
    next += TEST_BUFFER_INTERVAL / GST_USECOND;
    test_sleep_until (next);
  }
  return NULL;
}

/* Starts appsrc ! p2psink (tracker on @address) with @sink_props and waits
 * for its URI. */
static inline TestOrigin *
test_origin_start_at (const gchar * address, const gchar * sink_props)
{
  TestOrigin *o = g_new0 (TestOrigin, 1);
  gchar *desc = g_strdup_printf ("appsrc name=src is-live=true format=time "
      "! p2psink name=sink port=0 address=%s sync=false %s", address,
      sink_props ? sink_props : "");
  gchar *prefix;
  GstCaps *caps = test_caps_new ();
  GstMessage *msg;
  const GstStructure *s;

  o->pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (o->pipeline != NULL);
  o->appsrc = gst_bin_get_by_name (GST_BIN (o->pipeline), "src");
  o->sink = gst_bin_get_by_name (GST_BIN (o->pipeline), "sink");
  g_object_set (o->appsrc, "caps", caps, NULL);
  gst_caps_unref (caps);
  fail_unless (gst_element_set_state (o->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  msg = test_wait_message (o->pipeline, GST_MESSAGE_ELEMENT |
      GST_MESSAGE_ERROR, "p2p-published", 15000);
  fail_unless (msg != NULL, "no p2p-published message");
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_ELEMENT);
  s = gst_message_get_structure (msg);
  o->uri = g_strdup (gst_structure_get_string (s, "uri"));
  prefix = g_strdup_printf ("p2p://%s:", address);
  fail_unless (g_str_has_prefix (o->uri, prefix), "URI %s", o->uri);
  g_free (prefix);
  gst_message_unref (msg);
  o->pusher = g_thread_new ("test-pusher", test_origin_push, o);
  test_live_add (&test_live_origins, o);
  return o;
}

/* The same on loopback. */
static inline TestOrigin *
test_origin_start (const gchar * sink_props)
{
  return test_origin_start_at ("127.0.0.1", sink_props);
}

/* Stops feeding the origin (it keeps serving what it has). */
static inline void
test_origin_stop_pushing (TestOrigin * o)
{
  g_atomic_int_set (&o->stop, 1);
  if (o->pusher)
    g_thread_join (o->pusher);
  o->pusher = NULL;
}

static inline void
test_origin_stop (TestOrigin * o)
{
  test_live_remove (&test_live_origins, o);
  test_origin_stop_pushing (o);
  gst_element_set_state (o->pipeline, GST_STATE_NULL);
  gst_object_unref (o->appsrc);
  gst_object_unref (o->sink);
  gst_object_unref (o->pipeline);
  g_free (o->uri);
  g_free (o);
}

/* ---- viewer --------------------------------------------------------- */

typedef struct {
  GstElement *pipeline;
  GstElement *src;
  GMutex lock;
  GPtrArray *buffers;           /* what appsink got, in order */
  GstCaps *caps;
} TestViewer;

static GstFlowReturn
test_viewer_new_sample (GstAppSink * sink, gpointer data)
{
  TestViewer *v = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);

  g_mutex_lock (&v->lock);
  if (!v->caps)
    v->caps = gst_caps_ref (gst_sample_get_caps (sample));
  g_ptr_array_add (v->buffers, gst_buffer_ref (gst_sample_get_buffer (sample)));
  g_mutex_unlock (&v->lock);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static inline TestViewer *
test_viewer_start (const gchar * uri, const gchar * props)
{
  TestViewer *v = g_new0 (TestViewer, 1);
  /* join-timeout stretched like every other wait; @props may set its own
   * (parse-launch applies properties in order: the last one wins) */
  gchar *desc = g_strdup_printf ("p2psrc name=src join-timeout=%u uri=%s %s "
      "! appsink name=out sync=false", TEST_MS (10000), uri,
      props ? props : "");
  GstAppSinkCallbacks callbacks = { 0 };
  GstElement *sink;

  g_mutex_init (&v->lock);
  v->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  v->pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (v->pipeline != NULL);
  v->src = gst_bin_get_by_name (GST_BIN (v->pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (v->pipeline), "out");
  callbacks.new_sample = test_viewer_new_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, v, NULL);
  gst_object_unref (sink);
  test_live_add (&test_live_viewers, v);
  fail_unless (gst_element_set_state (v->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  return v;
}

static inline guint
test_viewer_count (TestViewer * v)
{
  guint n;

  g_mutex_lock (&v->lock);
  n = v->buffers->len;
  g_mutex_unlock (&v->lock);
  return n;
}

/* Waits until @v has at least @n buffers; FALSE on timeout or error. */
static inline gboolean
test_viewer_wait (TestViewer * v, guint n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (test_viewer_count (v) < n) {
    GstMessage *err = test_wait_message (v->pipeline, GST_MESSAGE_ERROR,
        NULL, 50);
    if (err) {
      GError *e;
      gst_message_parse_error (err, &e, NULL);
      GST_WARNING ("viewer error: %s", e->message);
      g_error_free (e);
      gst_message_unref (err);
      return FALSE;
    }
    if (g_get_monotonic_time () > deadline)
      return FALSE;
  }
  return TRUE;
}

static inline GstStructure *
test_viewer_stats (TestViewer * v)
{
  GstStructure *s;

  g_object_get (v->src, "stats", &s, NULL);
  return s;
}

static inline guint64
test_stat_u64 (const GstStructure * s, const gchar * field)
{
  guint64 x = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &x), "no field %s", field);
  return x;
}

static inline void
test_viewer_stop (TestViewer * v)
{
  test_live_remove (&test_live_viewers, v);
  gst_element_set_state (v->pipeline, GST_STATE_NULL);
  gst_object_unref (v->src);
  gst_object_unref (v->pipeline);
}

static inline void
test_viewer_free (TestViewer * v)
{
  g_ptr_array_unref (v->buffers);
  gst_clear_caps (&v->caps);
  g_mutex_clear (&v->lock);
  g_free (v);
}

static inline gboolean
test_buffer_bytes_equal (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo ma, mb;
  gboolean equal;

  gst_buffer_map (a, &ma, GST_MAP_READ);
  gst_buffer_map (b, &mb, GST_MAP_READ);
  equal = ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  return equal;
}

/* Checks everything @v played against the known stream: the stream header
 * first, then a keyframe flagged DISCONT, then buffers equal to the
 * originals in bytes, flags, duration and timestamp spacing.  Gaps are
 * allowed only where the next buffer is flagged DISCONT.  Returns the number
 * of stream buffers checked. */
static inline guint
test_viewer_verify (TestViewer * v)
{
  GstCaps *expected_caps = test_caps_new ();
  GstBuffer *header;
  GstMapInfo map;
  guint i, checked = 0;
  gint64 prev = -1;
  GstClockTime pts0_out = GST_CLOCK_TIME_NONE, pts0_in = 0;

  GstStructure *stats = test_viewer_stats (v);
  gdouble net_ms = 0, earlier_ms = 0;
  GstClockTimeDiff drift_allowed;

  /* playout moved earlier by catch-up-ms in all, and later by the net
   * shift plus that: no buffer can be further off than both together */
  gst_structure_get_double (stats, "drift-correction-ms", &net_ms);
  gst_structure_get_double (stats, "catch-up-ms", &earlier_ms);
  gst_structure_free (stats);
  drift_allowed = (GstClockTimeDiff) ((earlier_ms + ABS (net_ms + earlier_ms))
      * GST_MSECOND) + GST_USECOND;

  g_mutex_lock (&v->lock);
  fail_unless (v->buffers->len >= 2);
  fail_unless (v->caps != NULL && gst_caps_is_equal (v->caps, expected_caps),
      "caps differ");
  gst_caps_unref (expected_caps);

  header = g_ptr_array_index (v->buffers, 0);
  fail_unless (GST_BUFFER_FLAG_IS_SET (header, GST_BUFFER_FLAG_HEADER));
  fail_unless (gst_buffer_memcmp (header, 0, TEST_HEADER_BYTES,
          strlen (TEST_HEADER_BYTES)) == 0);
  fail_unless_equals_int (gst_buffer_get_size (header),
      strlen (TEST_HEADER_BYTES));

  for (i = 1; i < v->buffers->len; i++) {
    GstBuffer *out = g_ptr_array_index (v->buffers, i);
    GstBuffer *in;
    guint idx;

    fail_unless (gst_buffer_get_size (out) >= 4);
    gst_buffer_map (out, &map, GST_MAP_READ);
    idx = GST_READ_UINT32_BE (map.data);
    gst_buffer_unmap (out, &map);
    in = test_buffer_new (idx);

    fail_unless_equals_int (gst_buffer_get_size (out),
        gst_buffer_get_size (in));
    fail_unless (test_buffer_bytes_equal (out, in), "bytes of buffer %u differ",
        idx);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (out,
            GST_BUFFER_FLAG_DELTA_UNIT), GST_BUFFER_FLAG_IS_SET (in,
            GST_BUFFER_FLAG_DELTA_UNIT));
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (out),
        GST_BUFFER_DURATION (in));
    fail_unless_equals_int (GST_BUFFER_DTS_IS_VALID (out),
        GST_BUFFER_DTS_IS_VALID (in));
    if (i == 1) {
      fail_unless (!GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT),
          "viewer did not start on a keyframe");
      fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DISCONT));
      pts0_out = GST_BUFFER_PTS (out);
      pts0_in = GST_BUFFER_PTS (in);
    } else {
      fail_unless ((gint64) idx > prev, "buffer %u after %" G_GINT64_FORMAT,
          idx, prev);
      if ((gint64) idx != prev + 1)
        fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DISCONT),
            "gap before %u without DISCONT", idx);
      /* same spacing as the original, rebased; only playout control
       * (drift, catch-up: reported in the stats) may have moved it */
      {
        GstClockTimeDiff got = GST_CLOCK_DIFF (pts0_out, GST_BUFFER_PTS (out));
        GstClockTimeDiff want = GST_CLOCK_DIFF (pts0_in, GST_BUFFER_PTS (in));
        fail_unless (ABS (got - want) <= drift_allowed, "buffer %u: spacing "
            "%" G_GINT64_FORMAT " ns, original %" G_GINT64_FORMAT " ns, drift "
            "correction %" G_GINT64_FORMAT " ns", idx, got, want, drift_allowed);
      }
      if (GST_BUFFER_DTS_IS_VALID (in))
        fail_unless_equals_uint64 (GST_BUFFER_DTS (out), GST_BUFFER_PTS (out));
    }
    prev = idx;
    checked++;
    gst_buffer_unref (in);
  }
  g_mutex_unlock (&v->lock);
  return checked;
}

/* Checked teardown: stops the origins and viewers a failed test left
 * running (see test_live_origins).  They are not freed: the test that
 * failed may still hold them, and the process exits after the suite. */
static inline void
test_stop_leftovers (void)
{
  GList *origins, *viewers, *l;

  g_mutex_lock (&test_live_lock);
  origins = test_live_origins;
  viewers = test_live_viewers;
  test_live_origins = test_live_viewers = NULL;
  g_mutex_unlock (&test_live_lock);
  for (l = viewers; l; l = l->next)
    gst_element_set_state (((TestViewer *) l->data)->pipeline,
        GST_STATE_NULL);
  for (l = origins; l; l = l->next) {
    test_origin_stop_pushing (l->data);
    gst_element_set_state (((TestOrigin *) l->data)->pipeline,
        GST_STATE_NULL);
  }
  if (origins || viewers)
    g_printerr ("stopped %u origins and %u viewers a failed test left "
        "running\n", g_list_length (origins), g_list_length (viewers));
  g_list_free (origins);
  g_list_free (viewers);
}

/* tcase_create() with test_stop_leftovers() as its checked teardown */
static inline TCase *
test_tcase_create (const gchar * name)
{
  TCase *tc = tcase_create (name);

  tcase_add_checked_fixture (tc, NULL, test_stop_leftovers);
  return tc;
}

/* gst_check_run_suite(), except after a failure: with CK_FORK=no
 * (valgrind) a failed test leaves its pipelines running, and gst_deinit()
 * at exit would wait for their streaming threads for ever.  Exit at once
 * instead, so that a failure is reported as one and not as a hang. */
static inline int
test_run_suite (Suite * suite, const gchar * name, const gchar * file)
{
  if (gst_check_run_suite (suite, name, file) == 0)
    return 0;
  fflush (stdout);
  fflush (stderr);
  _exit (1);
}

/* GST_CHECK_MAIN with test_run_suite() */
#define TEST_CHECK_MAIN(name)                                           \
int                                                                     \
main (int argc, char **argv)                                            \
{                                                                       \
  gst_check_init (&argc, &argv);                                        \
  return test_run_suite (name##_suite (), #name, __FILE__);             \
}

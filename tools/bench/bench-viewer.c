/* p2p-bench: the viewer child — p2psrc (or, for the baseline, tcpclientsrc
 * and gdpdepay) into an appsink that renders on time, measuring each buffer
 *
 * For every buffer the appsink renders it notes glass-to-glass latency (wall
 * clock now − the origin's stamp inside the buffer), whether it came later
 * than BENCH_LATE_MS after its due time, and holes in the sequence.  The
 * buffers it should have played are the sequence span since its first
 * buffer plus, during a stall, those due since the last one.
 *
 * The TCP viewer plays like p2psrc does: its first buffer is mapped onto the
 * running time at arrival and every buffer is delayed by --latency; a queue
 * takes what arrives meanwhile, as p2psrc's store does, so the socket is
 * read as data comes and not as the sink renders.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <gst/app/gstappsink.h>
#include <gst/base/gstbasesink.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  const BenchOptions *opts;
  BenchMode mode;
  GMainLoop *loop;
  GstElement *pipeline, *src, *sink;
  GstClock *clock;              /* TCP: the clock we chose */
  int exit_code;

  GMutex lock;
  gint64 first_us, last_us;
  guint64 first_seq, last_seq;
  guint64 rendered, on_time, late, gaps, corrupt, bytes, wire_bytes;
  gdouble lat_sum_ms;
  guint64 lat_count;
  guint32 *lat_delta;           /* since the last report */

  /* TCP: shift from the origin's timestamps to ours */
  gboolean have_shift;
  GstClockTimeDiff shift;
} Viewer;

static GstFlowReturn
on_new_sample (GstAppSink * appsink, gpointer data)
{
  Viewer *v = data;
  GstSample *sample = gst_app_sink_pull_sample (appsink);
  GstBuffer *buf;
  const GstSegment *segment;
  GstClock *clock;
  GstClockTime rt, due, now;
  gint64 now_real = g_get_real_time (), now_us = g_get_monotonic_time ();
  gint64 stamp = 0;
  guint64 seq = 0;
  gboolean ok, on_time = TRUE;

  if (!sample)
    return GST_FLOW_EOS;
  buf = gst_sample_get_buffer (sample);
  segment = gst_sample_get_segment (sample);
  clock = gst_element_get_clock (v->sink);
  rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (clock && GST_CLOCK_TIME_IS_VALID (rt)) {
    now = gst_clock_get_time (clock);
    due = gst_element_get_base_time (v->sink) + rt
        + gst_base_sink_get_latency (GST_BASE_SINK (v->sink));
    on_time = GST_CLOCK_DIFF (due, now) <= BENCH_LATE_MS * GST_MSECOND;
  }
  if (clock)
    gst_object_unref (clock);
  ok = bench_stream_parse (buf, &seq, &stamp);

  g_mutex_lock (&v->lock);
  v->bytes += gst_buffer_get_size (buf);
  if (!ok) {
    v->corrupt++;
  } else if (v->rendered > 0 && seq <= v->last_seq) {
    /* a duplicate or a step back: not a buffer the viewer should play */
  } else {
    gint64 lat_ms = (now_real - stamp) / 1000;

    if (v->rendered == 0) {
      v->first_seq = seq;
      v->first_us = now_us;
    } else {
      v->gaps += seq - v->last_seq - 1;
    }
    v->last_seq = seq;
    v->last_us = now_us;
    v->rendered++;
    if (on_time)
      v->on_time++;
    else
      v->late++;
    v->lat_sum_ms += lat_ms;
    v->lat_count++;
    v->lat_delta[CLAMP (lat_ms, 0, BENCH_LAT_BINS - 1)]++;
  }
  g_mutex_unlock (&v->lock);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void
add_int (JsonBuilder * b, const gchar * name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
report (Viewer * v, gboolean final)
{
  JsonBuilder *b = json_builder_new ();
  GstStructure *s = NULL;
  gint64 now_us = g_get_monotonic_time ();
  guint64 expected = 0;
  guint i;

  if (v->mode == BENCH_MODE_P2P)
    g_object_get (v->src, "stats", &s, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "viewer");
  add_int (b, "id", v->opts->id);
  add_int (b, "t_us", now_us);

  g_mutex_lock (&v->lock);
  if (v->rendered > 0) {
    gint64 stalled = now_us - v->last_us - BENCH_LATE_MS * 1000;

    expected = v->last_seq - v->first_seq + 1;
    if (stalled > 0)
      expected += stalled / (BENCH_BUFFER_MS * 1000);
  }
  add_int (b, "first_us", v->first_us);
  add_int (b, "rendered", v->rendered);
  add_int (b, "on_time", v->on_time);
  add_int (b, "expected", expected);
  add_int (b, "gaps", v->gaps);
  add_int (b, "late", v->late);
  add_int (b, "corrupt", v->corrupt);
  add_int (b, "bytes", v->bytes);
  json_builder_set_member_name (b, "lat_sum_ms");
  json_builder_add_double_value (b, v->lat_sum_ms);
  add_int (b, "lat_count", v->lat_count);
  /* sparse: [[ms, count], ...] rendered since the last report */
  json_builder_set_member_name (b, "lat");
  json_builder_begin_array (b);
  for (i = 0; i < BENCH_LAT_BINS; i++) {
    if (!v->lat_delta[i])
      continue;
    json_builder_begin_array (b);
    json_builder_add_int_value (b, i);
    json_builder_add_int_value (b, v->lat_delta[i]);
    json_builder_end_array (b);
    v->lat_delta[i] = 0;
  }
  json_builder_end_array (b);
  if (v->mode == BENCH_MODE_TCP)
    add_int (b, "bytes_received", v->wire_bytes);
  g_mutex_unlock (&v->lock);

  if (v->mode == BENCH_MODE_P2P) {
    add_int (b, "bytes_received", bench_stats_u64 (s, "bytes-received"));
    add_int (b, "bytes_sent", bench_stats_u64 (s, "bytes-sent"));
    add_int (b, "bytes_from_origin", bench_stats_u64 (s, "bytes-from-origin"));
    add_int (b, "bytes_from_peers", bench_stats_u64 (s, "bytes-from-peers"));
    add_int (b, "bytes_wasted", bench_stats_u64 (s, "bytes-wasted"));
    add_int (b, "requests_resent", bench_stats_u64 (s, "requests-resent"));
    add_int (b, "transfers_rescued", bench_stats_u64 (s,
            "transfers-rescued"));
    add_int (b, "requests_refused_busy", bench_stats_u64 (s,
            "requests-refused-busy"));
    add_int (b, "segments_missed", bench_stats_u64 (s, "segments-missed"));
    add_int (b, "segments_verified", bench_stats_u64 (s, "segments-verified"));
    add_int (b, "bytes_verified", bench_stats_u64 (s, "bytes-verified"));
    add_int (b, "verify_us", bench_stats_u64 (s, "verify-us"));
    add_int (b, "peers", bench_stats_u64 (s, "peers"));
  }
  if (s)
    gst_structure_free (s);
  json_builder_set_member_name (b, "final");
  json_builder_add_boolean_value (b, final);
  bench_child_add_usage (b);
  json_builder_end_object (b);
  bench_child_report (b);
  g_object_unref (b);
}

static void
report_error (Viewer * v, const gchar * message)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "error");
  add_int (b, "id", v->opts->id);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  bench_child_report (b);
  g_object_unref (b);
}

static gboolean
on_tick (gpointer data)
{
  report (data, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer data)
{
  Viewer *v = data;

  report (v, TRUE);
  g_main_loop_quit (v->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  Viewer *v = data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    report (v, TRUE);
    report_error (v, error->message);
    g_error_free (error);
    v->exit_code = 1;
    g_main_loop_quit (v->loop);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    report (v, TRUE);
    report_error (v, "end of stream");
    v->exit_code = 1;
    g_main_loop_quit (v->loop);
  }
  return G_SOURCE_CONTINUE;
}

/* TCP: the origin's segment and timestamps mean nothing here; play the
 * first buffer --latency after it arrives and keep the spacing. */
static GstPadProbeReturn
retime_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Viewer *v = data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));

    if (!v->have_shift && GST_BUFFER_PTS_IS_VALID (buf)) {
      GstClockTime now = gst_clock_get_time (v->clock)
          - gst_element_get_base_time (v->pipeline);

      v->shift = GST_CLOCK_DIFF (GST_BUFFER_PTS (buf),
          now + (GstClockTime) v->opts->latency_ms * GST_MSECOND);
      v->have_shift = TRUE;
    }
    if (GST_BUFFER_PTS_IS_VALID (buf))
      GST_BUFFER_PTS (buf) = MAX (0, (gint64) GST_BUFFER_PTS (buf) + v->shift);
    GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT) {
      GstSegment segment;

      gst_segment_init (&segment, GST_FORMAT_TIME);
      gst_event_unref (event);
      GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_segment (&segment);
    }
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
count_wire_bytes (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Viewer *v = data;

  g_mutex_lock (&v->lock);
  v->wire_bytes += gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  g_mutex_unlock (&v->lock);
  return GST_PAD_PROBE_OK;
}

static GstElement *
build_tcp (Viewer * v, GError ** error)
{
  const gchar *port = v->opts->uri ? strrchr (v->opts->uri, ':') : NULL;
  GstElement *pipeline, *depay;
  GstClock *clock;
  GstPad *pad;
  gchar *desc;

  if (!port || !g_str_has_prefix (v->opts->uri, "tcp://")) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "not a tcp:// uri: %s", v->opts->uri);
    return NULL;
  }
  desc = g_strdup_printf ("tcpclientsrc name=src host=127.0.0.1 port=%s ! "
      "gdpdepay name=depay ! queue max-size-buffers=0 max-size-bytes=0 "
      "max-size-time=0 ! appsink name=sink sync=true", port + 1);
  pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      error);
  g_free (desc);
  if (!pipeline)
    return NULL;
  /* Our own base time, fixed before data flows, so the probe knows the
   * running time of the first buffer even before the pipeline plays. */
  clock = gst_system_clock_obtain ();
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), clock);
  gst_element_set_start_time (pipeline, GST_CLOCK_TIME_NONE);
  gst_element_set_base_time (pipeline, gst_clock_get_time (clock));
  v->clock = clock;
  depay = gst_bin_get_by_name (GST_BIN (pipeline), "depay");
  pad = gst_element_get_static_pad (depay, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, retime_probe, v, NULL);
  gst_object_unref (pad);
  gst_object_unref (depay);
  return pipeline;
}

int
bench_viewer_main (const BenchOptions * opts, BenchMode mode)
{
  Viewer v = { 0 };
  GError *error = NULL;
  GstAppSinkCallbacks callbacks = { 0 };
  GstBus *bus;
  GstPad *pad;

  v.opts = opts;
  v.mode = mode;
  v.loop = g_main_loop_new (NULL, FALSE);
  v.lat_delta = g_new0 (guint32, BENCH_LAT_BINS);
  g_mutex_init (&v.lock);
  if (mode == BENCH_MODE_P2P) {
    gchar *desc = g_strdup_printf ("p2psrc name=src uri=\"%s\" latency=%d "
        "stats-interval=0 ! appsink name=sink sync=true", opts->uri,
        opts->latency_ms);

    v.pipeline = gst_parse_launch_full (desc, NULL,
        GST_PARSE_FLAG_FATAL_ERRORS, &error);
    g_free (desc);
    if (v.pipeline) {
      GstElement *src = gst_bin_get_by_name (GST_BIN (v.pipeline), "src");

      /* in the NAT lab: its coturn */
      if (opts->stun_server)
        g_object_set (src, "stun-server", opts->stun_server, NULL);
      if (opts->turn_server)
        g_object_set (src, "turn-server", opts->turn_server, NULL);
      gst_object_unref (src);
    }
  } else {
    v.pipeline = build_tcp (&v, &error);
  }
  if (!v.pipeline) {
    report_error (&v, error->message);
    return 1;
  }
  v.src = gst_bin_get_by_name (GST_BIN (v.pipeline), "src");
  v.sink = gst_bin_get_by_name (GST_BIN (v.pipeline), "sink");
  callbacks.new_sample = on_new_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (v.sink), &callbacks, &v, NULL);
  if (mode == BENCH_MODE_TCP) {
    pad = gst_element_get_static_pad (v.src, "src");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_wire_bytes, &v,
        NULL);
    gst_object_unref (pad);
  }
  bus = gst_element_get_bus (v.pipeline);
  gst_bus_add_watch (bus, on_bus, &v);
  gst_object_unref (bus);
  g_unix_signal_add (SIGTERM, on_sigterm, &v);
  g_unix_signal_add (SIGINT, on_sigterm, &v);
  g_timeout_add (BENCH_REPORT_MS, on_tick, &v);

  gst_element_set_state (v.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (v.loop);

  alarm (5);
  gst_element_set_state (v.pipeline, GST_STATE_NULL);
  gst_object_unref (v.src);
  gst_object_unref (v.sink);
  gst_object_unref (v.pipeline);
  if (v.clock)
    gst_object_unref (v.clock);
  return v.exit_code;
}

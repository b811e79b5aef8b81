/* p2p-bench: the origin child — the synthetic live stream into p2psink (or,
 * for the baseline, through gdppay into tcpserversink)
 *
 * A thread pushes one buffer every BENCH_BUFFER_MS, paced on the pipeline
 * clock, with PTS on the pipeline's running time and the wall clock stamped
 * inside.  Every BENCH_REPORT_MS the origin reports what it produced and
 * what the sink sent; on SIGTERM it reports a last time with its CPU time and
 * peak RSS and exits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <gst/app/gstappsrc.h>
#include <glib-unix.h>
#include <signal.h>
#include <unistd.h>

typedef struct
{
  const BenchOptions *opts;
  BenchMode mode;
  GMainLoop *loop;
  GstElement *pipeline, *src, *sink;
  gchar *uri;
  GThread *pusher;
  gint stop;
  guint64 pushed;
  guint64 stream_bytes;
  guint reports;
  int exit_code;
} Origin;

/* Every this many reports (and the last) the origin's log gets a line per
 * partner: how its link to each viewer fares. */
#define LOG_PARTNERS_EVERY 4

/* loopback, or the lab's public host */
static const gchar *
origin_address (const BenchOptions * opts)
{
  return opts->address ? opts->address : "127.0.0.1";
}

static gpointer
push_loop (gpointer data)
{
  Origin *o = data;
  GstClock *clock = gst_pipeline_get_clock (GST_PIPELINE (o->pipeline));
  GstClockTime base = gst_element_get_base_time (o->pipeline);
  GstClockTime t0 = gst_clock_get_time (clock) - base;
  GstClockTime dur = BENCH_BUFFER_MS * GST_MSECOND;
  gsize size = bench_stream_buffer_size (o->opts->bitrate_kbps);
  guint64 seq;

  for (seq = 0; !g_atomic_int_get (&o->stop); seq++) {
    GstClockTime pts = t0 + seq * dur;
    GstClockID id = gst_clock_new_single_shot_id (clock, base + pts);
    GstBuffer *buf;

    gst_clock_id_wait (id, NULL);
    gst_clock_id_unref (id);
    if (g_atomic_int_get (&o->stop))
      break;
    buf = bench_stream_make_buffer (seq, size);
    GST_BUFFER_PTS (buf) = pts;
    GST_BUFFER_DTS (buf) = pts;
    GST_BUFFER_DURATION (buf) = dur;
    if (seq == 0)
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    if (gst_app_src_push_buffer (GST_APP_SRC (o->src), buf) != GST_FLOW_OK)
      break;
    g_atomic_pointer_add (&o->pushed, 1);
    g_atomic_pointer_add (&o->stream_bytes, size);
  }
  gst_object_unref (clock);
  return NULL;
}

static void
log_partners (const GstStructure * s)
{
  const GValue *list = gst_structure_get_value (s, "peer-stats");
  guint i;

  for (i = 0; list && i < gst_value_array_get_size (list); i++) {
    const GstStructure *p =
        gst_value_get_structure (gst_value_array_get_value (list, i));
    gdouble rtt = 0, out = 0, queue = 0;
    guint64 cwnd = 0, lost = 0;
    guint cuts = 0, timeouts = 0;

    gst_structure_get (p, "rtt-ms", G_TYPE_DOUBLE, &rtt, "rate-out-kbps",
        G_TYPE_DOUBLE, &out, "queuing-delay-ms", G_TYPE_DOUBLE, &queue,
        "cwnd-bytes", G_TYPE_UINT64, &cwnd, "bytes-lost", G_TYPE_UINT64,
        &lost, "window-cuts", G_TYPE_UINT, &cuts, "window-timeouts",
        G_TYPE_UINT, &timeouts, NULL);
    g_printerr ("partner %s: rtt %.0f ms, out %.0f kbit/s, cwnd %"
        G_GUINT64_FORMAT " B, queue %.1f ms, lost %" G_GUINT64_FORMAT
        " B, cuts %u, timeouts %u\n", gst_structure_get_string (p, "id"),
        rtt, out, cwnd, queue, lost, cuts, timeouts);
  }
}

static void
report (Origin * o, gboolean final)
{
  JsonBuilder *b = json_builder_new ();
  guint64 sent = 0, received = 0, published = 0;
  guint peers = 0;

  if (o->mode == BENCH_MODE_P2P) {
    GstStructure *s = NULL;

    g_object_get (o->sink, "stats", &s, NULL);
    if (s && (final || ++o->reports % LOG_PARTNERS_EVERY == 0))
      log_partners (s);
    sent = bench_stats_u64 (s, "bytes-sent");
    received = bench_stats_u64 (s, "bytes-received");
    published = bench_stats_u64 (s, "segments-published");
    peers = bench_stats_u64 (s, "peers");
    if (s)
      gst_structure_free (s);
  } else {
    gint handles = 0;

    g_object_get (o->sink, "bytes-served", &sent, "num-handles", &handles,
        NULL);
    peers = MAX (handles, 0);
  }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "origin");
  json_builder_set_member_name (b, "t_us");
  json_builder_add_int_value (b, g_get_monotonic_time ());
  if (o->uri) {
    json_builder_set_member_name (b, "uri");
    json_builder_add_string_value (b, o->uri);
  }
  json_builder_set_member_name (b, "pushed");
  json_builder_add_int_value (b, g_atomic_pointer_get (&o->pushed));
  json_builder_set_member_name (b, "stream_bytes");
  json_builder_add_int_value (b, g_atomic_pointer_get (&o->stream_bytes));
  json_builder_set_member_name (b, "bytes_sent");
  json_builder_add_int_value (b, sent);
  json_builder_set_member_name (b, "bytes_received");
  json_builder_add_int_value (b, received);
  json_builder_set_member_name (b, "segments_published");
  json_builder_add_int_value (b, published);
  json_builder_set_member_name (b, "peers");
  json_builder_add_int_value (b, peers);
  json_builder_set_member_name (b, "final");
  json_builder_add_boolean_value (b, final);
  bench_child_add_usage (b);
  json_builder_end_object (b);
  bench_child_report (b);
  g_object_unref (b);
}

static void
report_error (const gchar * message)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "error");
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

static void
stop_pushing (Origin * o)
{
  g_atomic_int_set (&o->stop, 1);
  if (o->pusher)
    g_thread_join (o->pusher);
  o->pusher = NULL;
}

static gboolean
on_sigterm (gpointer data)
{
  Origin *o = data;

  stop_pushing (o);
  report (o, TRUE);
  g_main_loop_quit (o->loop);
  return G_SOURCE_REMOVE;
}

static void
on_playing (Origin * o)
{
  if (o->pusher)
    return;
  if (o->mode == BENCH_MODE_TCP) {
    gint port = 0;

    g_object_get (o->sink, "current-port", &port, NULL);
    o->uri = g_strdup_printf ("tcp://%s:%d", origin_address (o->opts), port);
  }
  o->pusher = g_thread_new ("bench-push", push_loop, o);
  g_timeout_add (BENCH_REPORT_MS, on_tick, o);
  report (o, FALSE);
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  Origin *o = data;
  const GstStructure *s;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      s = gst_message_get_structure (msg);
      if (s && gst_structure_has_name (s, "p2p-published") && !o->uri) {
        o->uri = g_strdup (gst_structure_get_string (s, "uri"));
        report (o, FALSE);
      }
      break;
    case GST_MESSAGE_STATE_CHANGED:
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (o->pipeline)) {
        GstState state;

        gst_message_parse_state_changed (msg, NULL, &state, NULL);
        if (state == GST_STATE_PLAYING)
          on_playing (o);
      }
      break;
    case GST_MESSAGE_ERROR:{
      GError *error = NULL;

      gst_message_parse_error (msg, &error, NULL);
      report_error (error->message);
      g_error_free (error);
      o->exit_code = 1;
      g_main_loop_quit (o->loop);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

int
bench_origin_main (const BenchOptions * opts, BenchMode mode)
{
  Origin o = { 0 };
  GError *error = NULL;
  GstCaps *caps;
  GstBus *bus;
  gchar *desc;

  o.opts = opts;
  o.mode = mode;
  o.loop = g_main_loop_new (NULL, FALSE);
  if (mode == BENCH_MODE_P2P)
    desc = g_strdup_printf ("appsrc name=src is-live=true format=time ! "
        "p2psink name=sink port=0 address=%s max-peers=%d "
        "segment-duration=%d stats-interval=0 sync=false async=false",
        origin_address (opts), opts->max_peers, opts->segment_ms);
  else
    desc = g_strdup_printf ("appsrc name=src is-live=true format=time ! "
        "gdppay ! tcpserversink name=sink host=%s port=0 sync=false "
        "async=false", origin_address (opts));
  /* async=false: the pipeline plays at once, and buffers flow only then */
  o.pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      &error);
  g_free (desc);
  if (!o.pipeline) {
    gchar *message = g_error_matches (error, GST_PARSE_ERROR,
        GST_PARSE_ERROR_NO_SUCH_ELEMENT) ? g_strdup_printf ("%s (is "
        "GST_PLUGIN_PATH_1_0 the build's gst/ directory?)", error->message) :
        g_strdup (error->message);

    report_error (message);
    g_free (message);
    return 1;
  }
  o.src = gst_bin_get_by_name (GST_BIN (o.pipeline), "src");
  o.sink = gst_bin_get_by_name (GST_BIN (o.pipeline), "sink");
  caps = bench_stream_caps (opts->bitrate_kbps);
  g_object_set (o.src, "caps", caps, "max-bytes", (guint64) 0, NULL);
  gst_caps_unref (caps);
  bus = gst_element_get_bus (o.pipeline);
  gst_bus_add_watch (bus, on_bus, &o);
  gst_object_unref (bus);
  g_unix_signal_add (SIGTERM, on_sigterm, &o);
  g_unix_signal_add (SIGINT, on_sigterm, &o);

  gst_element_set_state (o.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (o.loop);

  stop_pushing (&o);
  /* a teardown that hangs must not keep the run waiting */
  alarm (5);
  gst_element_set_state (o.pipeline, GST_STATE_NULL);
  gst_object_unref (o.src);
  gst_object_unref (o.sink);
  gst_object_unref (o.pipeline);
  return o.exit_code;
}

/* p2p-demo: a live swarm on this machine.
 *
 * One origin pipeline (a live test pattern through a real encoder into
 * p2psink) and N viewer pipelines (p2psrc into a decoder), joining one after
 * another.  Every couple of seconds it prints, per viewer, what arrived and
 * from whom; at the end a summary with the share the viewers carried.
 *
 *   p2p-demo [--viewers N] [--duration SECONDS] [--max-peers N] [--json FILE]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  gchar *name;
  GstElement *pipeline;
  GstElement *src;
  guint64 buffers;
  guint64 bytes;
  gboolean failed;
  gchar *error;
} Viewer;

static GMainLoop *loop;
static GPtrArray *viewers;
static GstElement *origin, *origin_sink;
static gchar *uri;
static gint n_viewers = 4;
static gint duration_s = 20;
static gint max_peers = 1;
static gchar *json_path;
static gint64 started_us;
static gboolean origin_failed;

static GOptionEntry entries[] = {
  {"viewers", 'n', 0, G_OPTION_ARG_INT, &n_viewers, "Viewers to start (4)",
      "N"},
  {"duration", 'd', 0, G_OPTION_ARG_INT, &duration_s,
      "Seconds to run (20)", "SECONDS"},
  {"max-peers", 'm', 0, G_OPTION_ARG_INT, &max_peers,
      "Viewers the origin serves directly (1)", "N"},
  {"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path,
      "Also write the final figures as JSON", "FILE"},
  {NULL}
};

static GstPadProbeReturn
count_buffers (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Viewer *v = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  g_atomic_pointer_add (&v->buffers, 1);
  v->bytes += gst_buffer_get_size (buf);
  return GST_PAD_PROBE_OK;
}

static gboolean
on_viewer_bus (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Viewer *v = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error;
    gst_message_parse_error (msg, &error, NULL);
    g_printerr ("%s: error: %s\n", v->name, error->message);
    v->failed = TRUE;
    v->error = g_strdup (error->message);
    g_error_free (error);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
    GError *error;
    gst_message_parse_warning (msg, &error, NULL);
    g_printerr ("%s: warning: %s\n", v->name, error->message);
    g_error_free (error);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
start_viewer (gpointer data)
{
  gint index = GPOINTER_TO_INT (data);
  Viewer *v = g_new0 (Viewer, 1);
  GError *error = NULL;
  gchar *desc;
  GstElement *sink;
  GstPad *pad;
  GstBus *bus;

  v->name = g_strdup_printf ("viewer-%d", index + 1);
  desc = g_strdup_printf ("p2psrc name=src uri=%s stats-interval=0 ! "
      "jpegdec ! fakesink name=out sync=true", uri);
  v->pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  if (!v->pipeline) {
    g_printerr ("cannot build a viewer: %s\n", error->message);
    exit (1);
  }
  v->src = gst_bin_get_by_name (GST_BIN (v->pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (v->pipeline), "out");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, v, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  bus = gst_element_get_bus (v->pipeline);
  gst_bus_add_watch (bus, on_viewer_bus, v);
  gst_object_unref (bus);
  g_ptr_array_add (viewers, v);
  g_print ("%s joins\n", v->name);
  gst_element_set_state (v->pipeline, GST_STATE_PLAYING);
  return G_SOURCE_REMOVE;
}

static guint64
get_u64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;
  gst_structure_get_uint64 (s, field, &v);
  return v;
}

/* "origin 1.2 MB, viewer-3 0.4 MB" from the peer-stats array. */
static gchar *
describe_sources (const GstStructure * stats)
{
  const GValue *list = gst_structure_get_value (stats, "peer-stats");
  GString *out = g_string_new (NULL);
  guint i;

  for (i = 0; list && i < gst_value_array_get_size (list); i++) {
    const GstStructure *p =
        gst_value_get_structure (gst_value_array_get_value (list, i));
    const gchar *role = gst_structure_get_string (p, "role");
    const gchar *id = gst_structure_get_string (p, "id");
    guint64 rx = get_u64 (p, "bytes-received");
    guint64 tx = get_u64 (p, "bytes-sent");

    g_string_append_printf (out, "%s%s %.8s: in %.2f MB out %.2f MB",
        out->len ? "; " : "", role, id ? id + 8 : "?", rx / 1e6, tx / 1e6);
  }
  return g_string_free (out, FALSE);
}

static void
print_table (gboolean final)
{
  guint i;
  GstStructure *os;

  g_print ("\n-- %s t=%.1fs --\n", final ? "final" : "progress",
      (g_get_monotonic_time () - started_us) / 1e6);
  g_object_get (origin_sink, "stats", &os, NULL);
  g_print ("origin: %u peers, sent %.2f MB, %" G_GUINT64_FORMAT
      " segments published\n", g_value_get_uint (gst_structure_get_value (os,
              "peers")), get_u64 (os, "bytes-sent") / 1e6, get_u64 (os,
          "segments-published"));
  gst_structure_free (os);
  g_print ("%-9s %5s %8s %9s %9s %9s %7s %6s %8s  partners\n", "viewer",
      "peers", "frames", "recv MB", "origin MB", "peers MB", "missed",
      "start", "sent MB");
  for (i = 0; i < viewers->len; i++) {
    Viewer *v = g_ptr_array_index (viewers, i);
    GstStructure *s;
    gchar *sources;
    gint64 startup = -1;
    guint peers = 0;

    g_object_get (v->src, "stats", &s, NULL);
    gst_structure_get_int64 (s, "startup-ms", &startup);
    gst_structure_get_uint (s, "peers", &peers);
    sources = describe_sources (s);
    g_print ("%-9s %5u %8" G_GUINT64_FORMAT " %9.2f %9.2f %9.2f %7"
        G_GUINT64_FORMAT " %5" G_GINT64_FORMAT "ms %8.2f  %s%s\n", v->name,
        peers, v->buffers, get_u64 (s, "bytes-received") / 1e6,
        get_u64 (s, "bytes-from-origin") / 1e6,
        get_u64 (s, "bytes-from-peers") / 1e6, get_u64 (s, "segments-missed"),
        startup, get_u64 (s, "bytes-sent") / 1e6, sources,
        v->failed ? "  FAILED" : "");
    g_free (sources);
    gst_structure_free (s);
  }
}

static gboolean
progress (gpointer data)
{
  print_table (FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
finish (gpointer data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
write_summary (void)
{
  guint64 from_origin = 0, from_peers = 0, origin_sent;
  gint64 startup_sum = 0;
  guint i, ok = 0;
  GstStructure *os;
  gdouble share;
  GString *json = g_string_new ("{\n  \"viewers\": [\n");

  g_object_get (origin_sink, "stats", &os, NULL);
  origin_sent = get_u64 (os, "bytes-sent");
  gst_structure_free (os);
  for (i = 0; i < viewers->len; i++) {
    Viewer *v = g_ptr_array_index (viewers, i);
    GstStructure *s;
    gint64 startup = -1;

    g_object_get (v->src, "stats", &s, NULL);
    gst_structure_get_int64 (s, "startup-ms", &startup);
    from_origin += get_u64 (s, "bytes-from-origin");
    from_peers += get_u64 (s, "bytes-from-peers");
    if (!v->failed && v->buffers > 0)
      ok++;
    if (startup >= 0)
      startup_sum += startup;
    g_string_append_printf (json, "    {\"name\": \"%s\", \"frames\": %"
        G_GUINT64_FORMAT ", \"bytes_from_origin\": %" G_GUINT64_FORMAT
        ", \"bytes_from_peers\": %" G_GUINT64_FORMAT ", \"startup_ms\": %"
        G_GINT64_FORMAT ", \"segments_missed\": %" G_GUINT64_FORMAT
        ", \"failed\": %s}%s\n", v->name, v->buffers,
        get_u64 (s, "bytes-from-origin"), get_u64 (s, "bytes-from-peers"),
        startup, get_u64 (s, "segments-missed"), v->failed ? "true" : "false",
        i + 1 < viewers->len ? "," : "");
    gst_structure_free (s);
  }
  share = from_origin + from_peers ?
      (gdouble) from_peers / (from_origin + from_peers) : 0;
  g_print ("\n%u of %u viewers played; viewers got %.1f%% of their bytes "
      "from other viewers; the origin sent %.2f MB; mean startup %.0f ms\n",
      ok, viewers->len, 100 * share, origin_sent / 1e6,
      viewers->len ? (gdouble) startup_sum / viewers->len : 0.0);
  g_string_append_printf (json, "  ],\n  \"share_from_peers\": %.4f,\n"
      "  \"origin_bytes_sent\": %" G_GUINT64_FORMAT ",\n  \"viewers_ok\": %u\n}\n",
      share, origin_sent, ok);
  if (json_path && !g_file_set_contents (json_path, json->str, -1, NULL))
    g_printerr ("could not write %s\n", json_path);
  g_string_free (json, TRUE);
}

static gboolean
on_origin_bus (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  const GstStructure *s;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      s = gst_message_get_structure (msg);
      if (s && gst_structure_has_name (s, "p2p-published") && !uri) {
        gint i;

        uri = g_strdup (gst_structure_get_string (s, "uri"));
        g_print ("origin publishes %s\n", uri);
        started_us = g_get_monotonic_time ();
        /* viewers arrive one after another, like a real audience */
        for (i = 0; i < n_viewers; i++)
          g_timeout_add (500 + i * 700, start_viewer, GINT_TO_POINTER (i));
        g_timeout_add_seconds (2, progress, NULL);
        g_timeout_add_seconds (duration_s, finish, NULL);
      }
      break;
    case GST_MESSAGE_ERROR:{
      GError *error;
      gst_message_parse_error (msg, &error, NULL);
      g_printerr ("origin: error: %s\n", error->message);
      g_error_free (error);
      origin_failed = TRUE;
      g_main_loop_quit (loop);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- a live p2p swarm on this machine");
  GError *error = NULL;
  GstBus *bus;
  gchar *desc;
  guint i;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);

  loop = g_main_loop_new (NULL, FALSE);
  viewers = g_ptr_array_new ();
  desc = g_strdup_printf ("videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,width=640,height=360,framerate=30/1 ! timeoverlay ! "
      "jpegenc quality=70 ! p2psink name=sink port=0 max-peers=%d "
      "stats-interval=0", max_peers);
  origin = gst_parse_launch (desc, &error);
  g_free (desc);
  if (!origin) {
    g_printerr ("cannot build the origin: %s\n", error->message);
    return 1;
  }
  origin_sink = gst_bin_get_by_name (GST_BIN (origin), "sink");
  bus = gst_element_get_bus (origin);
  gst_bus_add_watch (bus, on_origin_bus, NULL);
  gst_object_unref (bus);
  gst_element_set_state (origin, GST_STATE_PLAYING);

  g_main_loop_run (loop);
  if (!origin_failed) {
    print_table (TRUE);
    write_summary ();
  }

  for (i = 0; i < viewers->len; i++) {
    Viewer *v = g_ptr_array_index (viewers, i);
    gst_element_set_state (v->pipeline, GST_STATE_NULL);
  }
  gst_element_set_state (origin, GST_STATE_NULL);
  return origin_failed ? 1 : 0;
}

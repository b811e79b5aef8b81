/* p2p-sim: the publisher — what p2p-bench's origin child does (its
 * synthetic stream, a buffer every BENCH_BUFFER_MS with a keyframe every
 * BENCH_KEYFRAME_EVERY, stamped with the origin's wall clock) and what
 * p2psink does with it (the real segmenter cuts and signs segments, a real
 * origin SwarmSession publishes them), on virtual time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

struct _SimOrigin {
  Sim *sim;
  SwarmMemoryHost *host;
  GMainContext *context;
  SwarmSession *session;
  SwarmSegmenter *segmenter;
  GSource *frame_timer;
  gsize buffer_size;
  guint64 pushed;
  guint64 stream_bytes;
  gchar *error;
};

static void
on_error (SwarmSession * s, const GError * error, gpointer user_data)
{
  SimOrigin *o = user_data;

  if (!o->error)
    o->error = g_strdup (error->message);
}

static void
publish (SimOrigin * o, GPtrArray * out)
{
  guint i;

  for (i = 0; i < out->len; i++) {
    SwarmSegmenterOutput *seg = g_ptr_array_index (out, i);

    swarm_session_publish (o->session, seg->seq, seg->flags, seg->bytes);
    sim_note_published (o->sim, seg->seq, seg->bytes);
  }
}

static gboolean
on_frame (gpointer data)
{
  SimOrigin *o = data;
  g_autoptr (GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify)
      swarm_segmenter_output_free);
  GstClockTime dur = BENCH_BUFFER_MS * GST_MSECOND;
  GstBuffer *buf = bench_stream_make_buffer_stamped (o->pushed,
      o->buffer_size, swarm_clock_real_us (o->sim->shards[0].clock));
  GError *error = NULL;

  GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = o->pushed * dur;
  GST_BUFFER_DURATION (buf) = dur;
  if (o->pushed == 0)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  if (!swarm_segmenter_push (o->segmenter, buf, out, &error)) {
    if (!o->error)
      o->error = g_strdup (error->message);
    g_error_free (error);
  }
  gst_buffer_unref (buf);
  o->pushed++;
  o->stream_bytes += o->buffer_size;
  publish (o, out);
  return G_SOURCE_CONTINUE;
}

SimOrigin *
sim_origin_new (Sim * sim, GError ** error)
{
  static const SwarmSessionCallbacks callbacks = {
    .error = on_error,
  };
  SimOrigin *o = g_new0 (SimOrigin, 1);
  const SimOptions *opts = sim->opts;
  SwarmMemoryHostConfig net;
  gchar *trackers[] = { sim->tracker_url, NULL };
  SwarmSessionConfig config = {
    .role = SWARM_SESSION_ORIGIN,
    .identity = sim->publisher,
    .trackers = trackers,
    .max_peers = opts->bench.max_peers,
    .clock = sim->shards[0].clock,
  };
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func
      ((GDestroyNotify) swarm_segmenter_output_free);
  GstCaps *caps;

  o->sim = sim;
  sim_network_host_config (sim->network, 0, &net);
  o->host = swarm_memory_net_add_host (sim->net, &net);
  o->context = sim_context_new ();
  config.network_context = o->context;
  config.link_factory = swarm_memory_host_get_factory (o->host);
  o->session = swarm_session_new (&config, &callbacks, o);
  g_hash_table_insert (sim->ids_by_peer, g_strdup (swarm_session_get_peer_id
          (o->session)), GINT_TO_POINTER (0));
  sim_trace_name (sim, o->session, 0);
  sim_touch_context (&sim->shards[0], o->context);
  if (!swarm_session_start (o->session, error)) {
    sim_origin_free (o);
    return NULL;
  }
  o->buffer_size = bench_stream_buffer_size (opts->bench.bitrate_kbps);
  o->segmenter = swarm_segmenter_new (sim->publisher,
      (GstClockTime) opts->bench.segment_ms * GST_MSECOND, 0);
  swarm_segmenter_set_clock (o->segmenter, sim->shards[0].clock);
  caps = bench_stream_caps (opts->bench.bitrate_kbps);
  if (!swarm_segmenter_set_caps (o->segmenter, caps, out, error)) {
    gst_caps_unref (caps);
    sim_origin_free (o);
    return NULL;
  }
  gst_caps_unref (caps);
  publish (o, out);
  o->frame_timer = swarm_clock_timeout_source_new (sim->shards[0].clock,
      BENCH_BUFFER_MS);
  swarm_clock_source_set_callback (sim->shards[0].clock, o->frame_timer,
      on_frame, o);
  g_source_attach (o->frame_timer, o->context);
  return o;
}

void
sim_origin_get_counts (SimOrigin * o, guint64 * bytes_sent,
    guint64 * stream_bytes)
{
  GstStructure *s;

  sim_touch_context (&o->sim->shards[0], o->context);
  s = swarm_session_get_stats (o->session);
  *bytes_sent = bench_stats_u64 (s, "bytes-sent");
  *stream_bytes = o->stream_bytes;
  gst_structure_free (s);
}

void
sim_origin_fill_peer (SimOrigin * o, BenchPeer * peer)
{
  GstStructure *s;

  sim_touch_context (&o->sim->shards[0], o->context);
  s = swarm_session_get_stats (o->session);
  peer->bytes_sent = bench_stats_u64 (s, "bytes-sent");
  peer->bytes_received = bench_stats_u64 (s, "bytes-received");
  peer->segments_published = bench_stats_u64 (s, "segments-published");
  peer->peers = bench_stats_u64 (s, "peers");
  peer->stream_bytes = o->stream_bytes;
  peer->pushed = o->pushed;
  if (o->error)
    peer->error = g_strdup (o->error);
  gst_structure_free (s);
}

SwarmMemoryHost *
sim_origin_get_host (SimOrigin * o)
{
  return o->host;
}

void
sim_origin_stop_begin (SimOrigin * o)
{
  if (o->frame_timer) {
    g_source_destroy (o->frame_timer);
    g_clear_pointer (&o->frame_timer, g_source_unref);
  }
  sim_touch_context (&o->sim->shards[0], o->context);
  swarm_session_stop_begin (o->session);
}

gboolean
sim_origin_is_stopped (SimOrigin * o)
{
  return swarm_session_is_stopped (o->session);
}

void
sim_origin_free (SimOrigin * o)
{
  if (!o)
    return;
  if (o->frame_timer) {
    g_source_destroy (o->frame_timer);
    g_source_unref (o->frame_timer);
  }
  swarm_session_free (o->session);
  g_hash_table_remove (o->sim->shards[0].touched, o->context);
  g_clear_pointer (&o->segmenter, swarm_segmenter_free);
  g_main_context_unref (o->context);
  g_free (o->error);
  g_free (o);
}

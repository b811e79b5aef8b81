/* p2p-sim: a viewer — what p2p-bench's viewer child runs (`p2psrc !
 * appsink sync=true`, measuring every buffer it renders), on virtual time.
 *
 * Its session is a real viewer SwarmSession on the in-memory net.  Its
 * player runs p2psrc's streaming loop in a coroutine: SwarmViewer (the
 * real start and playout policy) reads the session through a SimFeed, and
 * each step goes to a model of the sink.  The sink plays a buffer at its
 * running time plus the latency p2psrc reports, or at once if it comes
 * later than that; the streaming thread waits there, so the policy is
 * asked for the next segment only once the last buffer of this one is
 * played, as in the real pipeline.  A GAP is waited for the same way.
 *
 * Each buffer is measured as bench-viewer.c measures what the appsink
 * renders (glass-to-glass latency from the origin's stamp, on time if at
 * most BENCH_LATE_MS after its due time, holes in the sequence), when its
 * time comes: a run that stops first does not count it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <math.h>

/* A buffer handed to the sink, measured at its render time. */
typedef struct {
  GstBuffer *buffer;
  gint64 due_us;
  gint64 render_us;
} Rendering;

struct _SimViewer {
  Sim *sim;
  SimShard *shard;               /* where it runs */
  BenchPeer *peer;
  SwarmMemoryHost *host;
  GMainContext *context;
  SwarmSession *session;
  SimFeed *feed;
  SwarmViewer *viewer;
  SimCoroutine *player;
  gint64 start_us;               /* running time 0: the pipeline plays */
  gboolean queued;               /* in its shard's ready queue */
  gboolean player_started;
  GArray *pending;               /* Rendering, in render order */
  guint64 first_seq, last_seq;
  gint64 last_us;
  gboolean measured;             /* for good: it left, or the run ended */
  gboolean leaving;
};

/* ---- the sink's measurements (bench-viewer.c's on_new_sample) ------------ */

static void
measure_buffer (SimViewer * v, const Rendering * r)
{
  BenchPeer *p = v->peer;
  gint64 real_us = swarm_clock_real_us (v->shard->clock) -
      (swarm_clock_now_us (v->shard->clock) - r->render_us);
  gint64 stamp = 0, lat_ms;
  guint64 seq = 0;

  p->bytes += gst_buffer_get_size (r->buffer);
  /* the bytes were verified with the segment's signature: the header is
   * what tells one buffer from another */
  if (!bench_stream_parse_header (r->buffer, &seq, &stamp)) {
    p->corrupt++;
    return;
  }
  if (p->rendered > 0 && seq <= v->last_seq)
    return;                      /* a duplicate or a step back */
  if (p->rendered == 0) {
    v->first_seq = seq;
    p->first_us = r->render_us;
  } else {
    p->gaps += seq - v->last_seq - 1;
  }
  v->last_seq = seq;
  v->last_us = r->render_us;
  p->rendered++;
  if (r->render_us - r->due_us <= BENCH_LATE_MS * 1000)
    p->on_time++;
  else
    p->late++;
  lat_ms = (real_us - stamp) / 1000;
  p->lat_sum_ms += lat_ms;
  p->lat_count++;
  /* one histogram for all: the shards' threads add to it at once */
  __atomic_fetch_add (&v->sim->run->lat_hist[CLAMP (lat_ms, 0,
              BENCH_LAT_BINS - 1)], 1, __ATOMIC_RELAXED);
}

/* What the sink has played by @now_us. */
static void
commit_rendered (SimViewer * v, gint64 now_us)
{
  guint i;

  if (v->measured)
    return;
  for (i = 0; i < v->pending->len; i++) {
    Rendering *r = &g_array_index (v->pending, Rendering, i);

    if (r->render_us > now_us)
      break;
    measure_buffer (v, r);
    gst_buffer_unref (r->buffer);
  }
  g_array_remove_range (v->pending, 0, i);
}

static void
note_sender (SwarmMemoryHost * from, guint64 bytes, gpointer data)
{
  SimFed fed = { swarm_memory_host_get_index (from), bytes };

  g_array_append_val ((GArray *) data, fed);
}

void
sim_viewer_measure (SimViewer * v, gboolean final)
{
  BenchPeer *p = v->peer;
  gint64 now = swarm_clock_now_us (v->shard->clock);

  if (v->measured)
    return;
  commit_rendered (v, now);
  p->expected = 0;
  if (p->rendered > 0) {
    gint64 stalled = now - v->last_us - BENCH_LATE_MS * 1000;

    p->expected = v->last_seq - v->first_seq + 1;
    if (stalled > 0)
      p->expected += stalled / (BENCH_BUFFER_MS * 1000);
  }
  if (final) {
    GstStructure *s;

    sim_touch_context (v->shard, v->context);
    s = swarm_session_get_stats (v->session);

    p->bytes_received = bench_stats_u64 (s, "bytes-received");
    p->bytes_sent = bench_stats_u64 (s, "bytes-sent");
    p->bytes_from_origin = bench_stats_u64 (s, "bytes-from-origin");
    p->bytes_from_peers = bench_stats_u64 (s, "bytes-from-peers");
    p->bytes_wasted = bench_stats_u64 (s, "bytes-wasted");
    p->requests_resent = bench_stats_u64 (s, "requests-resent");
    p->transfers_rescued = bench_stats_u64 (s, "transfers-rescued");
    p->requests_refused_busy = bench_stats_u64 (s, "requests-refused-busy");
    p->segments_missed = bench_stats_u64 (s, "segments-missed");
    p->segments_verified = bench_stats_u64 (s, "segments-verified");
    p->bytes_verified = bench_stats_u64 (s, "bytes-verified");
    p->peers = bench_stats_u64 (s, "peers");
    gst_structure_free (s);
    swarm_memory_host_foreach_sender (v->host, note_sender,
        g_ptr_array_index (v->sim->fed, p->id));
    v->measured = TRUE;
  }
}

/* ---- the player: p2psrc's streaming thread and the sink ------------------ */

static GstClockTime
running_time (gpointer data)
{
  SimViewer *v = data;

  return (GstClockTime) (swarm_clock_now_us (v->shard->clock) - v->start_us) *
      GST_USECOND;
}

/* When the sink plays something at running time @rt. */
static gint64
due_us (SimViewer * v, GstClockTime rt)
{
  return v->start_us + (gint64) (rt / GST_USECOND) +
      (gint64) v->sim->opts->bench.latency_ms * 1000;
}

/* Every buffer of the step to the sink, one after the other (each waits
 * for its time, or goes at once if late); returns when the last is
 * played. */
static void
play_segment (SimViewer * v, const SwarmViewerStep * step)
{
  gint64 t = swarm_clock_now_us (v->shard->clock);
  guint i;

  for (i = 0; i < step->segment->buffers->len; i++) {
    GstBuffer *b = g_ptr_array_index (step->segment->buffers, i);
    GstClockTime rt = swarm_viewer_step_time (step, GST_BUFFER_PTS (b));
    Rendering r;

    if (!GST_CLOCK_TIME_IS_VALID (rt))
      continue;
    r.buffer = gst_buffer_ref (b);
    r.due_us = due_us (v, rt);
    t = r.render_us = MAX (t, r.due_us);
    g_array_append_val (v->pending, r);
  }
  sim_feed_sleep_until (v->feed, t);
  commit_rendered (v, swarm_clock_now_us (v->shard->clock));
}

static void
note_error (SimViewer * v, const gchar * message)
{
  if (!v->peer->error)
    v->peer->error = g_strdup (message);
}

static void
player_main (gpointer data)
{
  SimViewer *v = data;
  gboolean go_on = TRUE;

  while (go_on) {
    SwarmViewerStep step;

    switch (swarm_viewer_next (v->viewer, &step)) {
      case SWARM_VIEWER_PLAY:
        play_segment (v, &step);
        break;
      case SWARM_VIEWER_GAP:
        /* the sink waits for a GAP's time as for a buffer's */
        sim_feed_sleep_until (v->feed, due_us (v, step.gap_start));
        break;
      case SWARM_VIEWER_FLUSHING:
        go_on = FALSE;
        break;
      case SWARM_VIEWER_ERROR:
        /* without one of its own, the session's error callback had it */
        if (step.error)
          note_error (v, step.error->message);
        else
          note_error (v, "the session failed");
        go_on = FALSE;
        break;
    }
    swarm_viewer_step_clear (&step);
  }
}

static void
on_player_ready (gpointer data)
{
  SimViewer *v = data;

  sim_schedule_player (v->shard, v);
}

void
sim_viewer_run_player (SimViewer * v)
{
  v->queued = FALSE;
  if (sim_coroutine_is_done (v->player) || (v->player_started
          && !sim_feed_should_resume (v->feed)))
    return;
  v->player_started = TRUE;
  sim_touch_context (v->shard, v->context);
  sim_coroutine_resume (v->player);
  /* an error ends the pipeline, and the viewer leaves as the bench's
   * viewer process does */
  if (sim_coroutine_is_done (v->player) && !v->leaving)
    sim_viewer_leave (v, FALSE);
}

/* ---- life ------------------------------------------------------------------ */

static void
on_segment (guint64 seq, const gchar * from_peer_id, gpointer data)
{
  SimViewer *v = data;

  sim_note_segment_path (v->sim, v->peer->id, seq, from_peer_id);
}

static void
on_session_error (SwarmSession * s, const GError * error, gpointer user_data)
{
  note_error (user_data, error->message);
}

SimViewer *
sim_viewer_new (Sim * sim, BenchPeer * peer, GError ** error)
{
  static const SwarmSessionCallbacks callbacks = {
    .error = on_session_error,
  };
  SimViewer *v = g_new0 (SimViewer, 1);
  gchar *trackers[] = { sim->tracker_url, NULL };
  SwarmMemoryHostConfig net;
  SwarmSessionConfig config = {
    .role = SWARM_SESSION_VIEWER,
    /* one verify-only identity for all: each signed segment and edge is
     * checked in full once, then answered by its cache of verified
     * signatures (swarm-identity.c) */
    .identity = sim_shard_of (sim, peer->id)->verifier,
    .trackers = trackers,
    .max_peers = SIM_VIEWER_MAX_PEERS,
    .join_timeout_ms = SIM_JOIN_TIMEOUT_MS,
    .clock = sim_shard_of (sim, peer->id)->clock,
  };
  SwarmViewerConfig viewer_config = {
    .latency_ms = sim->opts->bench.latency_ms,
    .join_timeout_ms = SIM_JOIN_TIMEOUT_MS,
    .running_time = running_time,
    .user_data = v,
  };

  v->sim = sim;
  v->shard = sim_shard_of (sim, peer->id);
  v->peer = peer;
  v->pending = g_array_new (FALSE, FALSE, sizeof (Rendering));
  /* host index = viewer id: the origin is host 0 */
  sim_network_host_config (sim->network, peer->id, &net);
  v->host = swarm_memory_net_add_host_to_shard (sim->net, v->shard->index,
      &net);
  g_assert (swarm_memory_host_get_index (v->host) == (guint) peer->id);
  v->context = sim_context_new ();
  config.network_context = v->context;
  config.link_factory = swarm_memory_host_get_factory (v->host);
  v->session = swarm_session_new (&config, &callbacks, v);
  g_hash_table_insert (sim->ids_by_peer, g_strdup (swarm_session_get_peer_id
          (v->session)), GINT_TO_POINTER (peer->id));
  sim_trace_name (sim, v->session, peer->id);
  swarm_session_set_segment_notify (v->session, on_segment, v);
  swarm_session_set_segment_intern (v->session, sim_intern_segment, sim);
  v->start_us = swarm_clock_now_us (v->shard->clock);
  peer->spawn_us = v->start_us;
  peer->alive = TRUE;
  peer->cpu_s = NAN;
  if (!swarm_session_start (v->session, error)) {
    swarm_session_free (v->session);
    g_main_context_unref (v->context);
    g_array_unref (v->pending);
    g_free (v);
    return NULL;
  }
  sim_touch_context (v->shard, v->context);
  v->feed = sim_feed_new (v->session, v->shard->clock, v->context,
      on_player_ready,
      v);
  /* its playout policy logs as its session, under the viewer's name
   * (--trace); the policy only logs against it, which any GObject can be */
  viewer_config.log_object = (GstObject *) v->session;
  v->viewer = swarm_viewer_new (sim_feed_get_feed (v->feed), &viewer_config);
  v->player = sim_coroutine_new (player_main, v);
  /* its first step, at the next turn: wait for a place to start */
  sim_schedule_player (v->shard, v);
  return v;
}

void
sim_viewer_leave (SimViewer * v, gboolean crash)
{
  if (v->leaving)
    return;
  v->leaving = TRUE;
  sim_touch_context (v->shard, v->context);
  sim_viewer_measure (v, TRUE);
  v->peer->alive = FALSE;
  v->peer->end_us = swarm_clock_now_us (v->shard->clock);
  if (crash)
    swarm_memory_host_set_down (v->host);
  /* the player unwinds at its next turn */
  sim_feed_set_flushing (v->feed);
  swarm_session_stop_begin (v->session);
}

gboolean
sim_viewer_is_gone (SimViewer * v)
{
  return v->leaving && !v->queued && (sim_coroutine_is_done (v->player)
      || !v->player_started) && swarm_session_is_stopped (v->session);
}

gboolean
sim_viewer_is_queued (SimViewer * v)
{
  return v->queued;
}

void
sim_viewer_set_queued (SimViewer * v)
{
  v->queued = TRUE;
}

gboolean
sim_viewer_is_playing (SimViewer * v)
{
  return !v->leaving && v->peer->rendered > 0;
}

gboolean
sim_viewer_failed (SimViewer * v)
{
  return v->peer->error != NULL;
}

SwarmMemoryHost *
sim_viewer_get_host (SimViewer * v)
{
  return v->host;
}

BenchPeer *
sim_viewer_get_peer (SimViewer * v)
{
  return v->peer;
}

void
sim_viewer_free (SimViewer * v)
{
  guint i;

  if (!v)
    return;
  g_return_if_fail (!v->queued);
  sim_coroutine_free (v->player);
  swarm_viewer_free (v->viewer);
  sim_feed_free (v->feed);
  swarm_session_free (v->session);
  g_hash_table_remove (v->shard->touched, v->context);
  g_main_context_unref (v->context);
  for (i = 0; i < v->pending->len; i++)
    gst_buffer_unref (g_array_index (v->pending, Rendering, i).buffer);
  g_array_unref (v->pending);
  g_free (v);
}

/* p2p-sim: one run — the origin, the tracker and the viewers on virtual
 * clocks, driven by one thread or two.
 *
 * Every participant (the origin, each viewer, the tracker, the net) has
 * a GMainContext of its own.  The driver asks the clock for the earliest
 * timer of all (swarm_clock_next_timer), moves virtual time there and
 * iterates that timer's context only: with one context for the whole
 * swarm, GLib would look at every source of every session at every step,
 * and a thousand viewers spent most of their time there.  Where it knows
 * what is due it does not even iterate: the net's deliveries, and a
 * participant's timer due alone (swarm_clock_dispatch_alone).  Between two
 * steps it runs the players whose waits have their answer (sim-feed.c),
 * in the order they were woken.  Nothing depends on the wall clock or on
 * addresses in memory, so a seed gives the same run, event for event.
 *
 * Two shards.  Where paths have a delay, the participants are split in
 * two shards (the origin and the tracker in shard 0, viewer i in shard
 * i % 2), each with its own clock, random draws and net queue, driven as
 * above by its own thread through windows of virtual time no longer than
 * the least one-way delay of any path (sim-network.c keeps it at 2 ms or
 * more): nothing a shard does within a window can reach the other before
 * the window ends.  What one sends the other waits in the other's
 * inbox: datagrams and link events are taken in by the other's thread
 * as it starts the next window (swarm_memory_net_take_in), the tracker's
 * messages between two windows (swarm_clock_take_mail), both in the order
 * of the shards, then as sent; the driver's own timers (joins, churn,
 * samples) run between two windows, at a window's end.  So
 * the run is the same whether one thread runs the two shards in turn or
 * two run them at once (--threads), and the same for a seed.  On a
 * network without delay (loopback) there is one shard, on the driver's
 * clock, run as it was before shards.
 *
 * The timeline follows p2p-bench's controller (bench-run.c): the origin
 * starts, viewers join (one every --join-interval ms, or all within
 * --join-window seconds at seeded random times) and the --duration clock
 * starts with the first of them; churn replaces a random viewer every
 * 60 / (viewers × PCT / 100) s, the victim crashing as SIGKILL would; a
 * sample of offload and continuity every second over the last two; at the
 * end every viewer is measured at the same instant.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

/* virtual time: any start, and a fixed wall clock so that signed
 * publication times repeat with the seed */
#define START_US (1000 * G_USEC_PER_SEC)
#define REAL_START_US G_GINT64_CONSTANT (1800000000000000)
/* the origin publishes before anyone joins, as the bench's does while
 * the controller reads its URI */
#define ORIGIN_HEAD_START_MS 500
#define SAMPLE_MS 1000
#define RATE_WINDOW_SAMPLES 2
#define PROGRESS_CHECK_MS 100
#define PROGRESS_EVERY_US (2 * G_USEC_PER_SEC)
/* segments the origin's bytes are kept for, past a viewer's store (600) */
#define PUBLISHED_KEPT 700
/* after the run, how long the goodbyes may take */
#define TEARDOWN_MS 5000
/* then how long the last mail between the shards may take (the tracker's
 * pipes are the longest way: 2 median access delays) */
#define DRAIN_MS 2000

typedef struct {
  guint64 origin_sent, received, on_time, expected;
} Totals;

typedef struct {
  Sim sim;
  GRand *rand;                   /* churn's victims, join times */
  GArray *join_at;               /* gint64 virtual µs, one per viewer */
  guint joined;
  GSource *join_timer, *churn_timer, *sample_timer, *progress_timer;
  GArray *totals;                /* Totals per sample */
  gint64 wall_start_us, wall_printed_us;
  gboolean tty;
} Run;

#define RUN(sim) ((Run *) (sim))

/* ---- contexts and players --------------------------------------------- */

/* Nothing here waits on a file descriptor: never poll. */
static gint
no_poll (GPollFD * fds, guint n_fds, gint timeout)
{
  return 0;
}

GMainContext *
sim_context_new (void)
{
  GMainContext *context = g_main_context_new ();

  g_main_context_set_poll_func (context, no_poll);
  return context;
}

void
sim_note_segment_path (Sim * sim, gint id, guint64 seq,
    const gchar * from_peer_id)
{
  gpointer from;
  SimPath *path;
  guint hops, slot = seq % SIM_PATH_RING;

  if (!g_hash_table_lookup_extended (sim->ids_by_peer, from_peer_id, NULL,
          &from))
    return;
  if (GPOINTER_TO_INT (from) == 0) {
    hops = 1;
  } else {
    SimPath *sender = &g_array_index (sim->paths, SimPath,
        GPOINTER_TO_INT (from));

    /* it had it before it sent it: unless it is long gone from its ring */
    if (sender->seq[slot] != seq || !sender->hops[slot])
      return;
    hops = MIN (sender->hops[slot] + 1, G_MAXUINT8);
  }
  path = &g_array_index (sim->paths, SimPath, id);
  path->seq[slot] = seq;
  path->hops[slot] = hops;
  path->hops_sum += hops;
  path->segments++;
  path->hops_max = MAX (path->hops_max, hops);
}

void
sim_note_published (Sim * sim, guint64 seq, GBytes * bytes)
{
  guint64 *key = g_memdup2 (&seq, sizeof seq);

  g_mutex_lock (&sim->published_lock);
  g_hash_table_replace (sim->published, key, g_bytes_ref (bytes));
  g_queue_push_tail (&sim->published_order, key);
  while (g_queue_get_length (&sim->published_order) > PUBLISHED_KEPT)
    g_hash_table_remove (sim->published,
        g_queue_pop_head (&sim->published_order));
  g_mutex_unlock (&sim->published_lock);
}

GBytes *
sim_intern_segment (guint64 seq, GBytes * bytes, gpointer data)
{
  Sim *sim = data;
  GBytes *published;

  g_mutex_lock (&sim->published_lock);
  published = g_hash_table_lookup (sim->published, &seq);
  if (published)
    g_bytes_ref (published);
  g_mutex_unlock (&sim->published_lock);
  /* verified, so the publisher's own; compared all the same */
  if (published && g_bytes_equal (published, bytes))
    return published;
  if (published)
    g_bytes_unref (published);
  return g_bytes_ref (bytes);
}

SimShard *
sim_shard_of (Sim * sim, gint id)
{
  return &sim->shards[id % sim->n_shards];
}

guint64
sim_events (Sim * sim)
{
  guint64 events = 0;
  guint i;

  for (i = 0; i < sim->n_shards; i++)
    events += sim->shards[i].events;
  return events;
}

void
sim_schedule_player (SimShard * shard, SimViewer * v)
{
  if (sim_viewer_is_queued (v))
    return;
  sim_viewer_set_queued (v);
  g_queue_push_tail (&shard->ready, v);
}

/* A player or the driver called into @context's participant from outside
 * an iteration of @context: what the call left there for it
 * (swarm_session_set_playout's g_main_context_invoke, an idle) runs at
 * the context's next iteration, so that one is GLib's.  Every source of
 * a participant's context is at G_PRIORITY_DEFAULT: one iteration runs
 * all that is ready, and the context is the clock's timers alone again. */
void
sim_touch_context (SimShard * shard, GMainContext * context)
{
  g_hash_table_add (shard->touched, context);
}

/* Whether @context holds nothing but the clock's timers: a participant's,
 * not called into since it was last iterated.  The tracker's has sources
 * of its own (its reaper, an idle), and the driver's own timers are few. */
static gboolean
context_is_timers_only (Sim * sim, SimShard * shard, GMainContext * context)
{
  return context != sim->tracker_context && context != sim->driver_context
      && !g_hash_table_contains (shard->touched, context);
}

static void
run_players (SimShard * shard)
{
  SimViewer *v;

  while ((v = g_queue_pop_head (&shard->ready)))
    sim_viewer_run_player (v);
}

static GSource *
add_timer (Sim * sim, guint interval_ms, GSourceFunc func)
{
  GSource *source = swarm_clock_timeout_source_new (sim->clock, interval_ms);

  g_source_set_callback (source, func, sim, NULL);
  g_source_attach (source, sim->driver_context);
  return source;
}

static void
drop_timer (GSource ** source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

/* the shard this thread runs now (NULL between windows) */
static __thread SimShard *running_shard;

SwarmClock *
sim_current_clock (Sim * sim)
{
  return running_shard ? running_shard->clock : sim->clock;
}

/* One step of @shard: its earliest timer, due at @deadline in @context
 * (virtual time is there). */
static void
step (Sim * sim, SimShard * shard, gint64 deadline, GMainContext * context)
{
  shard->events++;
  /* the net's context holds its deliveries alone, and a participant's
   * its timers: served directly when only the first timer is due */
  if (context == shard->net_context) {
    swarm_memory_net_dispatch_shard (sim->net, shard->index);
    return;
  }
  if (context_is_timers_only (sim, shard, context)
      && swarm_clock_dispatch_alone (shard->clock))
    return;
  if (!g_main_context_iteration (context, FALSE))
    g_error ("p2p-sim: a timer due at %" G_GINT64_FORMAT " did not fire "
        "in its context", deadline);
  g_hash_table_remove (shard->touched, context);
}

/* @shard's timers and players until virtual time @until_us (included):
 * the whole run with one shard, a window's part with several.  First
 * what the other shards sent it in the window before, on this thread
 * while they take in theirs (nothing with one shard). */
static void
drive_shard (Sim * sim, SimShard * shard, gint64 until_us)
{
  running_shard = shard;
  swarm_memory_net_take_in (sim->net, shard->index);
  for (;;) {
    GMainContext *context;
    gint64 deadline;

    run_players (shard);
    if (!swarm_clock_next_timer (shard->clock, &deadline, &context)
        || deadline > until_us) {
      swarm_clock_advance_to (shard->clock, until_us);
      running_shard = NULL;
      return;
    }
    swarm_clock_advance_to (shard->clock, deadline);
    step (sim, shard, deadline, context);
  }
}

/* ---- two threads -------------------------------------------------------- */

/* Thread @index of the pool runs the shards i with i % threads = index
 * (the caller's thread: 0) through each window. */
typedef struct {
  Sim *sim;
  guint index;
  GThread *thread;
} Worker;

struct _SimPool {
  GMutex lock;
  GCond go, done;
  guint64 generation;            /* windows handed out */
  guint running;                 /* workers not done with this one */
  gboolean quit;
  guint n_threads;
  Worker *workers;               /* n_threads - 1 of them */
};

static void
run_shards_of (Sim * sim, guint thread_index)
{
  guint i;

  /* what is due before the window's end; the clocks reach it after */
  for (i = thread_index; i < sim->n_shards; i += sim->pool->n_threads)
    drive_shard (sim, &sim->shards[i], sim->window_end_us - 1);
}

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;
  SimPool *pool = w->sim->pool;
  guint64 seen = 0;

  for (;;) {
    g_mutex_lock (&pool->lock);
    while (pool->generation == seen && !pool->quit)
      g_cond_wait (&pool->go, &pool->lock);
    if (pool->quit) {
      g_mutex_unlock (&pool->lock);
      return NULL;
    }
    seen = pool->generation;
    g_mutex_unlock (&pool->lock);
    run_shards_of (w->sim, w->index);
    g_mutex_lock (&pool->lock);
    if (--pool->running == 0)
      g_cond_signal (&pool->done);
    g_mutex_unlock (&pool->lock);
  }
}

static void
pool_start (Sim * sim, guint n_threads)
{
  SimPool *pool = g_new0 (SimPool, 1);
  guint i;

  sim->pool = pool;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->go);
  g_cond_init (&pool->done);
  pool->n_threads = MAX (1, MIN (n_threads, sim->n_shards));
  pool->workers = g_new0 (Worker, pool->n_threads);
  for (i = 1; i < pool->n_threads; i++) {
    Worker *w = &pool->workers[i];

    w->sim = sim;
    w->index = i;
    w->thread = g_thread_new ("p2p-sim-shard", worker_main, w);
  }
}

guint
sim_pool_threads (Sim * sim)
{
  return sim->pool ? sim->pool->n_threads : 1;
}

static void
pool_stop (Sim * sim)
{
  SimPool *pool = sim->pool;
  guint i;

  if (!pool)
    return;
  g_mutex_lock (&pool->lock);
  pool->quit = TRUE;
  g_cond_broadcast (&pool->go);
  g_mutex_unlock (&pool->lock);
  for (i = 1; i < pool->n_threads; i++)
    g_thread_join (pool->workers[i].thread);
  g_free (pool->workers);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->go);
  g_cond_clear (&pool->done);
  g_free (pool);
  sim->pool = NULL;
}

/* Every shard runs what is due before @end_us, each on its thread. */
static void
run_window (Sim * sim, gint64 end_us)
{
  SimPool *pool = sim->pool;

  sim->window_end_us = end_us;
  if (pool->n_threads > 1) {
    g_mutex_lock (&pool->lock);
    pool->generation++;
    pool->running = pool->n_threads - 1;
    g_cond_broadcast (&pool->go);
    g_mutex_unlock (&pool->lock);
  }
  run_shards_of (sim, 0);
  if (pool->n_threads > 1) {
    g_mutex_lock (&pool->lock);
    while (pool->running > 0)
      g_cond_wait (&pool->done, &pool->lock);
    g_mutex_unlock (&pool->lock);
  }
  sim->windows++;
}

/* Between two windows, no shard running: what the net carries from now
 * on is for the next window, and the clocks take their mail (the
 * tracker's messages: few) in, in the same order every run. */
static void
between_windows (Sim * sim)
{
  guint i;

  swarm_memory_net_next_window (sim->net);
  for (i = 0; i < sim->n_shards; i++) {
    swarm_clock_advance_to (sim->shards[i].clock, sim->window_end_us);
    swarm_clock_take_mail (sim->shards[i].clock);
  }
}

/* How far the shards may run apart: nothing one does reaches another
 * sooner than the least delay of a path (the tracker's pipes are longer:
 * sim-network.c), known for the hosts there are. */
static gint64
window_us (Sim * sim)
{
  gint64 least = swarm_memory_net_get_least_delay_us (sim->net);
  gint64 tracker = (gint64) sim_network_tracker_delay_ms (sim->network) *
      1000;

  return MAX (1, MIN (least, tracker));
}

/* Several shards: windows no longer than the least delay, the driver's
 * own timers (joins, churn, samples) run between them, at a window's end
 * before anything of the shards at that instant. */
static void
drive_windows (Sim * sim, gint64 until_us)
{
  for (;;) {
    gint64 now = swarm_clock_now_us (sim->clock), deadline, end;
    GMainContext *context;

    while (swarm_clock_next_timer (sim->clock, &deadline, &context)
        && deadline <= now) {
      if (!g_main_context_iteration (context, FALSE))
        g_error ("p2p-sim: a driver's timer due at %" G_GINT64_FORMAT
            " did not fire", deadline);
    }
    if (now > until_us)
      return;
    end = MIN (now + window_us (sim), until_us + 1);
    if (swarm_clock_next_timer (sim->clock, &deadline, &context))
      end = MIN (end, deadline);
    run_window (sim, end);
    between_windows (sim);
    swarm_clock_advance_to (sim->clock, end);
    if (end == until_us + 1)
      return;
  }
}

/* Runs every context until virtual time @until_us (included). */
static void
drive (Sim * sim, gint64 until_us)
{
  if (sim->n_shards == 1)
    drive_shard (sim, &sim->shards[0], until_us);
  else
    drive_windows (sim, until_us);
}

/* ---- joining and leaving ------------------------------------------------ */

static SimViewer *
join (Sim * sim)
{
  BenchPeer *peer = g_new0 (BenchPeer, 1);
  GError *error = NULL;
  SimViewer *v;

  peer->id = sim->run->viewers->len + 1;
  g_ptr_array_add (sim->run->viewers, peer);
  g_ptr_array_add (sim->fed, g_array_new (FALSE, FALSE, sizeof (SimFed)));
  g_array_set_size (sim->paths, peer->id + 1);
  v = sim_viewer_new (sim, peer, &error);
  if (!v) {
    peer->error = g_strdup (error->message);
    g_error_free (error);
    return NULL;
  }
  g_ptr_array_add (sim->viewers, v);
  return v;
}

static void start_timeline (Sim * sim);

static gboolean
on_join (gpointer data)
{
  Sim *sim = data;
  Run *run = RUN (sim);
  gint64 now = swarm_clock_now_us (sim->clock);

  while (run->joined < run->join_at->len
      && g_array_index (run->join_at, gint64, run->joined) <= now) {
    if (run->joined == 0)
      start_timeline (sim);
    run->joined++;
    join (sim);
  }
  if (run->joined < run->join_at->len)
    swarm_clock_source_set_deadline (sim->clock, run->join_timer,
        g_array_index (run->join_at, gint64, run->joined));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_churn (gpointer data)
{
  Sim *sim = data;
  Run *run = RUN (sim);
  GPtrArray *alive = g_ptr_array_new ();
  BenchChurn ev = { 0 };
  guint i;

  for (i = 0; i < sim->viewers->len; i++) {
    SimViewer *v = g_ptr_array_index (sim->viewers, i);

    if (sim_viewer_get_peer (v)->alive)
      g_ptr_array_add (alive, v);
  }
  if (alive->len > 0) {
    SimViewer *victim = g_ptr_array_index (alive,
        g_rand_int_range (run->rand, 0, alive->len));
    SimViewer *fresh;

    sim_viewer_get_peer (victim)->killed = TRUE;
    sim_viewer_leave (victim, TRUE);
    fresh = join (sim);
    ev.t = (swarm_clock_now_us (sim->clock) - sim->start_us) / 1e6;
    ev.killed = sim_viewer_get_peer (victim)->id;
    ev.started = fresh ? sim_viewer_get_peer (fresh)->id : -1;
    g_array_append_val (sim->run->churn, ev);
  }
  g_ptr_array_unref (alive);
  return G_SOURCE_CONTINUE;
}

/* Frees the viewers that are gone for good (their BenchPeer stays). */
static void
reap (Sim * sim)
{
  guint i;

  for (i = 0; i < sim->viewers->len;) {
    SimViewer *v = g_ptr_array_index (sim->viewers, i);

    if (sim_viewer_is_gone (v)) {
      sim_viewer_free (v);
      g_ptr_array_remove_index (sim->viewers, i);
    } else {
      i++;
    }
  }
}

/* ---- samples and progress ------------------------------------------------ */

/* bench-run.c's take_sample: offload and continuity over the last two
 * samples, from the net's counters (reading every session's stats each
 * second would cost more than the viewers' work). */
static void
take_sample (Sim * sim)
{
  Run *run = RUN (sim);
  Totals now = { 0 };
  BenchSample s = { 0 };
  guint i;

  now.origin_sent = swarm_memory_host_get_bytes_sent
      (sim_origin_get_host (sim->origin));
  for (i = 0; i < sim->viewers->len; i++) {
    SimViewer *v = g_ptr_array_index (sim->viewers, i);
    BenchPeer *p = sim_viewer_get_peer (v);

    if (p->alive) {
      sim_viewer_measure (v, FALSE);
      s.alive++;
    }
  }
  for (i = 0; i < sim->run->viewers->len; i++) {
    BenchPeer *p = g_ptr_array_index (sim->run->viewers, i);

    now.on_time += p->on_time;
    now.expected += p->expected;
  }
  {
    SwarmMemoryNetStats net;

    swarm_memory_net_get_stats (sim->net, &net);
    now.received = net.bytes_delivered - swarm_memory_host_get_bytes_received
        (sim_origin_get_host (sim->origin));
  }
  g_array_append_val (run->totals, now);
  s.t = (swarm_clock_now_us (sim->clock) - sim->start_us) / 1e6;
  s.offload = s.continuity = -1;
  if (run->totals->len > RATE_WINDOW_SAMPLES) {
    Totals *then = &g_array_index (run->totals, Totals,
        run->totals->len - 1 - RATE_WINDOW_SAMPLES);

    if (now.received > then->received)
      s.offload = 1.0 - (gdouble) (now.origin_sent - then->origin_sent) /
          (now.received - then->received);
    if (now.expected > then->expected)
      s.continuity = CLAMP ((gdouble) (now.on_time - MIN (now.on_time,
                  then->on_time)) / (now.expected - then->expected), 0, 1);
  }
  g_array_append_val (sim->run->samples, s);
}

static gboolean
on_sample (gpointer data)
{
  Sim *sim = data;

  take_sample (sim);
  reap (sim);
  return G_SOURCE_CONTINUE;
}

static void
print_progress (Sim * sim, gboolean last)
{
  Run *run = RUN (sim);
  gint64 now = swarm_clock_now_us (sim->clock);
  guint i, playing = 0;

  for (i = 0; i < sim->viewers->len; i++)
    playing += sim_viewer_is_playing (g_ptr_array_index (sim->viewers, i));
  fprintf (stderr, "%s[%6.1f/%d s simulated] %u/%d viewers playing, %"
      G_GUINT64_FORMAT " events, %.1f s wall%s",
      run->tty ? "\r" : "", sim->start_us ? (now - sim->start_us) / 1e6 : 0.0,
      sim->opts->bench.duration_s, playing, sim->opts->bench.viewers,
      sim_events (sim),
      (g_get_monotonic_time () - run->wall_start_us) / 1e6,
      run->tty && !last ? "   " : "\n");
  fflush (stderr);
  run->wall_printed_us = g_get_monotonic_time ();
}

static gboolean
on_progress (gpointer data)
{
  Sim *sim = data;

  /* the wall clock decides only whether to print, never what runs */
  if (!sim->opts->bench.quiet && g_get_monotonic_time () -
      RUN (sim)->wall_printed_us >= PROGRESS_EVERY_US)
    print_progress (sim, FALSE);
  return G_SOURCE_CONTINUE;
}

/* The first viewer joins: --duration counts from here. */
static void
start_timeline (Sim * sim)
{
  Run *run = RUN (sim);
  const SimOptions *o = sim->opts;

  sim->start_us = swarm_clock_now_us (sim->clock);
  sim->run->start_us = sim->start_us;
  sim_origin_get_counts (sim->origin, &sim->run->origin_sent_at_start,
      &sim->run->stream_at_start);
  run->sample_timer = add_timer (sim, SAMPLE_MS, on_sample);
  if (o->bench.churn_pct > 0) {
    gdouble every_s = 60.0 / (o->bench.viewers * o->bench.churn_pct / 100.0);

    run->churn_timer = add_timer (sim, MAX ((guint) (every_s * 1000), 100),
        on_churn);
  }
}

/* ---- the run --------------------------------------------------------- */

/* The swarm runs in two shards on a latent network (two threads may run
 * them), in one where paths have no delay (no window would be long
 * enough).  With one, its clock is the driver's: the run is the one the
 * simulator gave before it had shards. */
static void
shards_new (Sim * sim)
{
  const SimOptions *opts = sim->opts;
  SwarmClock *clocks[2];
  GMainContext *contexts[2];
  guint i;

  sim->n_shards = opts->bench.rtt_ms > 0 ? 2 : 1;
  sim->shards = g_new0 (SimShard, sim->n_shards);
  for (i = 0; i < sim->n_shards; i++) {
    SimShard *shard = &sim->shards[i];

    shard->index = i;
    if (sim->n_shards == 1) {
      shard->clock = swarm_clock_ref (sim->clock);
    } else {
      shard->clock = swarm_clock_new_virtual (START_US, REAL_START_US);
      swarm_clock_set_seed (shard->clock, opts->seed + 0x9e3779b9u * i);
      swarm_clock_set_shard (shard->clock, i);
    }
    shard->net_context = sim_context_new ();
    shard->touched = g_hash_table_new (NULL, NULL);
    g_queue_init (&shard->ready);
    clocks[i] = shard->clock;
    contexts[i] = shard->net_context;
  }
  if (sim->n_shards > 1)
    swarm_clock_set_shard (sim->clock, sim->n_shards);
  sim->net = swarm_memory_net_new_sharded (clocks, contexts, sim->n_shards,
      opts->seed);
  if (sim->n_shards > 1)
    /* --trace's lines come in the order things happen */
    pool_start (sim, opts->trace ? 1 : (guint) opts->threads);
}

static void
shards_free (Sim * sim)
{
  guint i;

  pool_stop (sim);
  for (i = 0; i < sim->n_shards; i++) {
    SimShard *shard = &sim->shards[i];

    g_clear_pointer (&shard->verifier, swarm_identity_unref);
    g_main_context_unref (shard->net_context);
    g_hash_table_destroy (shard->touched);
    g_queue_clear (&shard->ready);
    swarm_clock_unref (shard->clock);
  }
  g_clear_pointer (&sim->shards, g_free);
}

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

Sim *
sim_new (const SimOptions * opts, BenchRun * bench_run, GError ** error)
{
  Run *run = g_new0 (Run, 1);
  Sim *sim = &run->sim;
  GMainContext *tracker_context;
  gchar *name, *info_hash;
  gint i;

  sim->opts = opts;
  sim->run = bench_run;
  sim->clock = swarm_clock_new_virtual (START_US, REAL_START_US);
  sim->begin_us = START_US;
  swarm_clock_set_seed (sim->clock, opts->seed);
  sim->network = sim_network_new (opts);
  shards_new (sim);
  sim->driver_context = sim_context_new ();
  sim->viewers = g_ptr_array_new ();
  sim->fed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_ptr_array_add (sim->fed, g_array_new (FALSE, FALSE, sizeof (SimFed)));
  sim->paths = g_array_new (FALSE, TRUE, sizeof (SimPath));
  g_array_set_size (sim->paths, 1);
  sim->ids_by_peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  g_mutex_init (&sim->published_lock);
  /* keys owned by the table; published_order only orders them */
  sim->published = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, (GDestroyNotify) g_bytes_unref);
  g_queue_init (&sim->published_order);
  if (opts->trace)
    sim_trace_install (sim);
  run->rand = g_rand_new_with_seed (opts->seed);
  run->totals = g_array_new (FALSE, TRUE, sizeof (Totals));
  run->tty = isatty (STDERR_FILENO);
  run->wall_start_us = run->wall_printed_us = g_get_monotonic_time ();

  sim->publisher = swarm_identity_generate (error);
  if (!sim->publisher) {
    sim_free (sim);
    return NULL;
  }
  for (i = 0; i < (gint) sim->n_shards; i++)
    sim->shards[i].verifier = swarm_identity_new_from_public_key
        (swarm_identity_get_public_key (sim->publisher));

  /* the embedded tracker, in memory: it serves its publisher's swarm
   * only, and the whole crowd (its connection bound is the crowd's) */
  sim->tracker = swarm_tracker_server_new ();
  swarm_tracker_server_set_clock (sim->tracker, sim->shards[0].clock);
  info_hash = swarm_id_to_info_hash (swarm_identity_get_public_key
      (sim->publisher));
  swarm_tracker_server_set_info_hash (sim->tracker, info_hash);
  g_free (info_hash);
  {
    SwarmTrackerServerLimits limits;

    /* a flash crowd arrives over the in-memory pipes, all at once: no
     * bound on the rate of new connections */
    swarm_tracker_server_limits_init (&limits);
    limits.max_connections = MAX (limits.max_connections,
        (guint) (2 * opts->bench.viewers + 64));
    limits.max_connections_per_address = 0;
    limits.connection_rate = 0;
    swarm_tracker_server_set_limits (sim->tracker, &limits);
  }
  tracker_context = sim->tracker_context = sim_context_new ();
  /* one simulation a process; a name without the pid, since error
   * messages quote it and the JSON repeats them */
  name = g_strdup ("p2p-sim");
  sim->tracker_url = g_strdup_printf ("memory://%s/announce", name);
  /* its sweeper runs on the thread-default context */
  g_main_context_push_thread_default (tracker_context);
  if (!swarm_tracker_server_listen_memory (sim->tracker, name,
          sim_network_tracker_delay_ms (sim->network), error)) {
    g_main_context_pop_thread_default (tracker_context);
    g_free (name);
    sim_free (sim);
    return NULL;
  }
  g_main_context_pop_thread_default (tracker_context);
  g_free (name);

  sim->origin = sim_origin_new (sim, error);
  if (!sim->origin) {
    sim_free (sim);
    return NULL;
  }

  /* when each viewer joins */
  run->join_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (i = 0; i < opts->bench.viewers; i++) {
    gint64 offset_us = opts->join_window_s >= 0 ?
        (gint64) (g_rand_double (run->rand) * opts->join_window_s * 1e6) :
        (gint64) i * opts->bench.join_interval_ms * 1000;
    gint64 at = START_US + ORIGIN_HEAD_START_MS * 1000 + offset_us;

    g_array_append_val (run->join_at, at);
  }
  g_array_sort (run->join_at, (GCompareFunc) compare_gint64);
  run->join_timer = swarm_clock_deadline_source_new (sim->clock);
  g_source_set_callback (run->join_timer, on_join, sim, NULL);
  g_source_attach (run->join_timer, sim->driver_context);
  swarm_clock_source_set_deadline (sim->clock, run->join_timer,
      g_array_index (run->join_at, gint64, 0));
  /* quiet or not, the same events */
  run->progress_timer = add_timer (sim, PROGRESS_CHECK_MS, on_progress);
  return sim;
}

gboolean
sim_run (Sim * sim, GError ** error)
{
  Run *run = RUN (sim);
  BenchRun *br = sim->run;
  gint64 stop_us;
  guint i;

  /* the first viewer's join starts the clock of --duration */
  drive (sim, g_array_index (run->join_at, gint64, 0));
  stop_us = sim->start_us + (gint64) sim->opts->bench.duration_s * G_USEC_PER_SEC;
  drive (sim, stop_us);

  /* everyone measured at the same instant, as the bench's SIGTERM does */
  take_sample (sim);
  br->stop_us = swarm_clock_now_us (sim->clock);
  sim_origin_get_counts (sim->origin, &br->origin_sent_at_stop,
      &br->stream_at_stop);
  for (i = 0; i < sim->viewers->len; i++) {
    SimViewer *v = g_ptr_array_index (sim->viewers, i);
    BenchPeer *p = sim_viewer_get_peer (v);

    if (p->alive) {
      sim_viewer_measure (v, TRUE);
      p->end_us = br->stop_us;
    }
  }
  br->origin = g_new0 (BenchPeer, 1);
  sim_origin_fill_peer (sim->origin, br->origin);
  br->origin->cpu_s = NAN;
  if (!sim->opts->bench.quiet)
    print_progress (sim, TRUE);
  if (br->origin->error) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the origin failed: %s",
        br->origin->error);
    return FALSE;
  }
  return TRUE;
}

/* Everyone leaves, the goodbyes go out, and nothing is left running. */
static void
teardown (Sim * sim)
{
  Run *run = RUN (sim);
  gint64 until;
  guint i;

  drop_timer (&run->join_timer);
  drop_timer (&run->churn_timer);
  drop_timer (&run->sample_timer);
  drop_timer (&run->progress_timer);
  for (i = 0; i < sim->viewers->len; i++)
    sim_viewer_leave (g_ptr_array_index (sim->viewers, i), FALSE);
  if (sim->origin)
    sim_origin_stop_begin (sim->origin);
  until = swarm_clock_now_us (sim->clock) + TEARDOWN_MS * 1000;
  while (swarm_clock_now_us (sim->clock) < until) {
    gboolean all = !sim->origin || sim_origin_is_stopped (sim->origin);

    for (i = 0; all && i < sim->viewers->len; i++)
      all = sim_viewer_is_gone (g_ptr_array_index (sim->viewers, i));
    if (all)
      break;
    drive (sim, swarm_clock_now_us (sim->clock) + 10 * 1000);
  }
  reap (sim);
  /* any left (a goodbye that never came) stop the blocking way */
  for (i = 0; i < sim->viewers->len; i++)
    sim_viewer_free (g_ptr_array_index (sim->viewers, i));
  g_ptr_array_set_size (sim->viewers, 0);
  g_clear_pointer (&sim->origin, sim_origin_free);
}

void
sim_free (Sim * sim)
{
  Run *run = RUN (sim);

  if (!sim)
    return;
  teardown (sim);
  sim_trace_uninstall (sim);
  g_ptr_array_unref (sim->viewers);
  g_ptr_array_unref (sim->fed);
  g_array_unref (sim->paths);
  g_hash_table_destroy (sim->ids_by_peer);
  g_queue_clear (&sim->published_order);
  g_hash_table_destroy (sim->published);
  g_clear_pointer (&sim->tracker, swarm_tracker_server_free);
  /* the goodbyes between the tracker and viewers of the other shard are
   * mail, which holds their pipes, and the pipes the clocks: delivered
   * (to ends long gone), they let go */
  if (sim->n_shards > 1)
    drive (sim, swarm_clock_now_us (sim->clock) + DRAIN_MS * 1000);
  g_clear_pointer (&sim->net, swarm_memory_net_free);
  g_clear_pointer (&sim->network, sim_network_free);
  g_clear_pointer (&sim->publisher, swarm_identity_unref);
  g_clear_pointer (&sim->driver_context, g_main_context_unref);
  g_clear_pointer (&sim->tracker_context, g_main_context_unref);
  g_free (sim->tracker_url);
  shards_free (sim);
  g_mutex_clear (&sim->published_lock);
  swarm_clock_unref (sim->clock);
  if (run->rand)
    g_rand_free (run->rand);
  if (run->join_at)
    g_array_unref (run->join_at);
  g_array_unref (run->totals);
  g_free (run);
}

/* p2p-bench: the controller's side of one run — spawning the origin and
 * the viewers as children of this very binary, reading their JSON reports,
 * churning viewers, stopping everything and keeping what it measured
 *
 * Timeline of a run: the origin starts; once it reports its URI the viewers
 * start one every --join-interval ms and the clock of --duration starts;
 * at the end every child gets SIGTERM at once and answers with a last
 * report (counters, CPU time, peak RSS), so the origin's bytes and the
 * viewers' bytes are counted at the same moment.  A child that does not
 * exit within STOP_GRACE_S gets SIGKILL.  Every child has SIGKILL as its
 * parent-death signal, so none outlives the controller.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>

#define STOP_GRACE_S 10
#define TICK_MS 1000
#define OUTPUT_EVERY_TICKS 2
#define RATE_WINDOW_TICKS 2
#define START_TIMEOUT_S 30

typedef enum
{
  PHASE_STARTING,
  PHASE_RUNNING,
  PHASE_STOPPING,
  PHASE_DONE,
} Phase;

/* cumulative sums at one tick, for rates over a window */
typedef struct
{
  guint64 origin_sent, received, on_time, expected;
} Totals;

typedef struct
{
  BenchRun *run;
  const BenchOptions *opts;
  GMainLoop *loop;
  Phase phase;
  gchar *exe;
  gint to_start;
  gint next_id;
  guint start_source, churn_source, tick_source, stop_source, grace_source;
  guint start_timeout;
  guint ticks;
  GArray *totals;               /* Totals per tick */
  GRand *rand;
  gboolean tty;
} Controller;

typedef struct
{
  Controller *c;
  BenchPeer *peer;
  GDataInputStream *out;
  gboolean eof, exited;
} Child;

static Controller *current;

static void child_done (Child * child);
static void begin_stop (Controller * c);

static gboolean
all_viewers_done (Controller * c)
{
  guint i;

  for (i = 0; i < c->run->viewers->len; i++) {
    BenchPeer *p = g_ptr_array_index (c->run->viewers, i);

    if (p->proc)
      return FALSE;
  }
  return TRUE;
}

static void
kill_peer (BenchPeer * p)
{
  gdouble cpu = 0;
  guint64 rss = 0;

  if (!p->proc || !p->alive)
    return;
  /* it will not report again: take its usage now */
  if (bench_read_proc_usage (p->pid, &cpu, &rss)) {
    p->cpu_s = MAX (p->cpu_s, cpu);
    p->rss_kb = MAX (p->rss_kb, rss);
  }
  g_subprocess_send_signal (p->proc, SIGKILL);
}

void
bench_run_kill_all (void)
{
  guint i;

  if (!current)
    return;
  for (i = 0; i < current->run->viewers->len; i++)
    kill_peer (g_ptr_array_index (current->run->viewers, i));
  if (current->run->origin)
    kill_peer (current->run->origin);
}

static void
fail (Controller * c, const gchar * message)
{
  if (!c->run->failed) {
    c->run->failed = TRUE;
    c->run->failure = g_strdup (message);
    g_printerr ("p2p-bench: %s\n", message);
  }
  bench_run_kill_all ();
  c->phase = PHASE_DONE;
}

static void
update_origin (Controller * c, JsonObject * o)
{
  BenchPeer *p = c->run->origin;

  p->bytes_sent = json_object_get_int_member_with_default (o, "bytes_sent", 0);
  p->bytes_received =
      json_object_get_int_member_with_default (o, "bytes_received", 0);
  p->stream_bytes =
      json_object_get_int_member_with_default (o, "stream_bytes", 0);
  p->pushed = json_object_get_int_member_with_default (o, "pushed", 0);
  p->segments_published =
      json_object_get_int_member_with_default (o, "segments_published", 0);
  p->peers = json_object_get_int_member_with_default (o, "peers", 0);
}

static void
update_viewer (Controller * c, BenchPeer * p, JsonObject * o)
{
  JsonArray *lat;
  gint64 first;
  guint i;

#define U64(field, name) \
  p->field = json_object_get_int_member_with_default (o, name, 0)
  U64 (rendered, "rendered");
  U64 (on_time, "on_time");
  U64 (expected, "expected");
  U64 (gaps, "gaps");
  U64 (late, "late");
  U64 (corrupt, "corrupt");
  U64 (bytes, "bytes");
  U64 (lat_count, "lat_count");
  U64 (bytes_received, "bytes_received");
  U64 (bytes_sent, "bytes_sent");
  U64 (bytes_from_origin, "bytes_from_origin");
  U64 (bytes_from_peers, "bytes_from_peers");
  U64 (bytes_wasted, "bytes_wasted");
  U64 (requests_resent, "requests_resent");
  U64 (transfers_rescued, "transfers_rescued");
  U64 (requests_refused_busy, "requests_refused_busy");
  U64 (segments_missed, "segments_missed");
  U64 (segments_verified, "segments_verified");
  U64 (bytes_verified, "bytes_verified");
  U64 (verify_us, "verify_us");
  U64 (peers, "peers");
#undef U64
  p->lat_sum_ms = json_object_get_double_member_with_default (o,
      "lat_sum_ms", 0);
  first = json_object_get_int_member_with_default (o, "first_us", 0);
  if (first > 0)
    p->first_us = first;
  lat = json_object_has_member (o, "lat") ?
      json_object_get_array_member (o, "lat") : NULL;
  for (i = 0; lat && i < json_array_get_length (lat); i++) {
    JsonArray *bin = json_array_get_array_element (lat, i);
    gint64 ms, n;

    if (!bin || json_array_get_length (bin) != 2)
      continue;
    ms = json_array_get_int_element (bin, 0);
    n = json_array_get_int_element (bin, 1);
    c->run->lat_hist[CLAMP (ms, 0, BENCH_LAT_BINS - 1)] += MAX (n, 0);
  }
}

static gboolean start_next_viewer (gpointer data);
static gboolean on_tick (gpointer data);
static gboolean on_churn (gpointer data);
static gboolean on_duration (gpointer data);

static void
on_published (Controller * c, const gchar * uri)
{
  const BenchOptions *opts = c->opts;

  if (c->start_timeout)
    g_source_remove (c->start_timeout);
  c->start_timeout = 0;
  c->run->uri = g_strdup (uri);
  c->run->start_us = g_get_monotonic_time ();
  c->run->origin_sent_at_start = c->run->origin->bytes_sent;
  c->run->stream_at_start = c->run->origin->stream_bytes;
  c->phase = PHASE_RUNNING;
  if (!opts->quiet)
    g_print ("%s: origin publishes %s\n", bench_mode_name (c->run->mode), uri);
  c->to_start = opts->viewers;
  start_next_viewer (c);
  if (c->to_start > 0)
    c->start_source = g_timeout_add (MAX (opts->join_interval_ms, 1),
        start_next_viewer, c);
  c->tick_source = g_timeout_add (TICK_MS, on_tick, c);
  c->stop_source = g_timeout_add (opts->duration_s * 1000, on_duration, c);
  if (opts->churn_pct > 0 && opts->viewers > 0) {
    gdouble every_s = 60.0 / (opts->viewers * opts->churn_pct / 100.0);

    c->churn_source = g_timeout_add (MAX ((guint) (every_s * 1000), 100),
        on_churn, c);
  }
}

static void
handle_line (Child * child, const gchar * line)
{
  Controller *c = child->c;
  JsonParser *parser = json_parser_new ();
  JsonObject *o;
  const gchar *type;

  if (!json_parser_load_from_data (parser, line, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_object_unref (parser);
    return;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  type = json_object_get_string_member_with_default (o, "type", "");
  if (json_object_has_member (o, "cpu_s")) {
    child->peer->cpu_s = MAX (child->peer->cpu_s,
        json_object_get_double_member (o, "cpu_s"));
    child->peer->rss_kb = MAX (child->peer->rss_kb,
        (guint64) json_object_get_int_member_with_default (o, "rss_kb", 0));
  }
  if (json_object_get_boolean_member_with_default (o, "final", FALSE))
    child->peer->final = TRUE;

  if (!g_strcmp0 (type, "origin")) {
    const gchar *uri =
        json_object_get_string_member_with_default (o, "uri", NULL);

    update_origin (c, o);
    if (child->peer->final && c->phase == PHASE_STOPPING) {
      c->run->origin_sent_at_stop = child->peer->bytes_sent;
      c->run->stream_at_stop = child->peer->stream_bytes;
    }
    if (uri && !c->run->uri && c->phase == PHASE_STARTING)
      on_published (c, uri);
  } else if (!g_strcmp0 (type, "viewer")) {
    update_viewer (c, child->peer, o);
  } else if (!g_strcmp0 (type, "error")) {
    const gchar *msg = json_object_get_string_member_with_default (o,
        "message", "?");

    g_free (child->peer->error);
    child->peer->error = g_strdup (msg);
    if (child->peer == c->run->origin) {
      gchar *text = g_strdup_printf ("origin failed: %s", msg);

      fail (c, text);
      g_free (text);
    } else if (!c->opts->quiet) {
      g_printerr ("viewer %d: %s\n", child->peer->id, msg);
    }
  }
  g_object_unref (parser);
}

static void
on_line (GObject * source, GAsyncResult * res, gpointer data)
{
  Child *child = data;
  gchar *line = g_data_input_stream_read_line_finish (child->out, res, NULL,
      NULL);

  if (!line) {
    child->eof = TRUE;
    child_done (child);
    return;
  }
  handle_line (child, line);
  g_free (line);
  g_data_input_stream_read_line_async (child->out, G_PRIORITY_DEFAULT, NULL,
      on_line, child);
}

static void
on_child_exit (GObject * source, GAsyncResult * res, gpointer data)
{
  Child *child = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  child->peer->alive = FALSE;
  child->peer->end_us = g_get_monotonic_time ();
  child->exited = TRUE;
  child_done (child);
}

/* Both the exit and the end of its output: nothing more will come. */
static void
child_done (Child * child)
{
  Controller *c = child->c;
  BenchPeer *p = child->peer;

  if (!child->eof || !child->exited)
    return;
  g_clear_object (&p->proc);
  g_object_unref (child->out);
  g_free (child);

  if (p == c->run->origin && c->phase < PHASE_STOPPING && !c->run->failed)
    fail (c, "the origin exited early");
  if (c->phase >= PHASE_STOPPING && all_viewers_done (c)
      && !c->run->origin->proc) {
    c->phase = PHASE_DONE;
    g_main_loop_quit (c->loop);
  }
}

static void
set_death_signal (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static BenchPeer *
spawn (Controller * c, gint id)
{
  const BenchOptions *o = c->opts;
  GSubprocessLauncher *launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  BenchPeer *p = g_new0 (BenchPeer, 1);
  GError *error = NULL;
  Child *child;
  gchar *log;

  g_ptr_array_add (argv, g_strdup (c->exe));
  g_ptr_array_add (argv, g_strdup_printf ("--role=%s",
          id ? "viewer" : "origin"));
  g_ptr_array_add (argv, g_strdup_printf ("--mode=%s",
          bench_mode_name (c->run->mode)));
  g_ptr_array_add (argv, g_strdup_printf ("--parent-pid=%d", getpid ()));
  g_ptr_array_add (argv, g_strdup_printf ("--bitrate=%d", o->bitrate_kbps));
  g_ptr_array_add (argv, g_strdup_printf ("--max-peers=%d", o->max_peers));
  g_ptr_array_add (argv, g_strdup_printf ("--segment-duration=%d",
          o->segment_ms));
  g_ptr_array_add (argv, g_strdup_printf ("--latency=%d", o->latency_ms));
  if (id) {
    g_ptr_array_add (argv, g_strdup_printf ("--id=%d", id));
    g_ptr_array_add (argv, g_strdup_printf ("--uri=%s", c->run->uri));
  }
  if (c->run->lab) {
    /* the origin has a public address; viewers behind NATs need the
     * lab's STUN and TURN server */
    if (id) {
      g_ptr_array_add (argv, g_strdup_printf ("--stun-server=%s",
              bench_lab_stun_uri (c->run->lab)));
      g_ptr_array_add (argv, g_strdup_printf ("--turn-server=%s",
              bench_lab_turn_uri (c->run->lab)));
    } else {
      g_ptr_array_add (argv, g_strdup_printf ("--address=%s",
              bench_lab_origin_address (c->run->lab)));
    }
    bench_lab_wrap_argv (c->run->lab, id, argv);
  }
  g_ptr_array_add (argv, NULL);

  if (id)
    log = g_strdup_printf ("%s/%s-viewer-%d.log", o->logs_dir,
        bench_mode_name (c->run->mode), id);
  else
    log = g_strdup_printf ("%s/%s-origin.log", o->logs_dir,
        bench_mode_name (c->run->mode));
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, set_death_signal, NULL,
      NULL);
  p->id = id;
  p->spawn_us = g_get_monotonic_time ();
  p->proc = g_subprocess_launcher_spawnv (launcher,
      (const gchar * const *) argv->pdata, &error);
  g_free (log);
  g_ptr_array_unref (argv);
  g_object_unref (launcher);
  if (!p->proc) {
    gchar *text = g_strdup_printf ("cannot start a child: %s",
        error->message);

    fail (c, text);
    g_free (text);
    g_error_free (error);
    g_free (p);
    return NULL;
  }
  p->pid = atoi (g_subprocess_get_identifier (p->proc));
  p->alive = TRUE;

  child = g_new0 (Child, 1);
  child->c = c;
  child->peer = p;
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe
      (p->proc));
  g_data_input_stream_read_line_async (child->out, G_PRIORITY_DEFAULT, NULL,
      on_line, child);
  g_subprocess_wait_async (p->proc, NULL, on_child_exit, child);
  return p;
}

static BenchPeer *
start_viewer (Controller * c)
{
  BenchPeer *p = spawn (c, ++c->next_id);

  if (p)
    g_ptr_array_add (c->run->viewers, p);
  return p;
}

static gboolean
start_next_viewer (gpointer data)
{
  Controller *c = data;

  if (c->phase != PHASE_RUNNING || c->to_start <= 0) {
    c->start_source = 0;
    return G_SOURCE_REMOVE;
  }
  c->to_start--;
  start_viewer (c);
  if (c->to_start > 0)
    return G_SOURCE_CONTINUE;
  c->start_source = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
on_churn (gpointer data)
{
  Controller *c = data;
  GPtrArray *alive = g_ptr_array_new ();
  BenchChurn ev = { 0 };
  guint i;

  if (c->phase != PHASE_RUNNING) {
    g_ptr_array_unref (alive);
    c->churn_source = 0;
    return G_SOURCE_REMOVE;
  }
  for (i = 0; i < c->run->viewers->len; i++) {
    BenchPeer *p = g_ptr_array_index (c->run->viewers, i);

    if (p->alive && !p->killed)
      g_ptr_array_add (alive, p);
  }
  if (alive->len > 0) {
    BenchPeer *victim = g_ptr_array_index (alive,
        g_rand_int_range (c->rand, 0, alive->len));
    BenchPeer *fresh;

    victim->killed = TRUE;
    kill_peer (victim);
    fresh = start_viewer (c);
    ev.t = (g_get_monotonic_time () - c->run->start_us) / 1e6;
    ev.killed = victim->id;
    ev.started = fresh ? fresh->id : -1;
    g_array_append_val (c->run->churn, ev);
    if (!c->opts->quiet && !c->tty)
      g_print ("[%5.1f s] churn: viewer %d killed, viewer %d joins\n",
          ev.t, ev.killed, ev.started);
  }
  g_ptr_array_unref (alive);
  return G_SOURCE_CONTINUE;
}

static void
take_sample (Controller * c)
{
  BenchRun *run = c->run;
  Totals now = { 0 };
  BenchSample s = { 0 };
  guint i;

  now.origin_sent = run->origin->bytes_sent;
  for (i = 0; i < run->viewers->len; i++) {
    BenchPeer *p = g_ptr_array_index (run->viewers, i);

    now.received += p->bytes_received;
    now.on_time += p->on_time;
    now.expected += p->expected;
    if (p->alive && !p->killed)
      s.alive++;
  }
  g_array_append_val (c->totals, now);
  s.t = (g_get_monotonic_time () - run->start_us) / 1e6;
  s.offload = s.continuity = -1;
  if (c->totals->len > RATE_WINDOW_TICKS) {
    Totals *then = &g_array_index (c->totals, Totals,
        c->totals->len - 1 - RATE_WINDOW_TICKS);

    if (now.received > then->received) {
      gdouble sent = now.origin_sent > then->origin_sent ?
          now.origin_sent - then->origin_sent : 0;

      s.offload = 1.0 - sent / (now.received - then->received);
    }
    if (now.expected > then->expected)
      s.continuity = CLAMP ((gdouble) (now.on_time - MIN (now.on_time,
                  then->on_time)) / (now.expected - then->expected), 0, 1);
  }
  g_array_append_val (run->samples, s);
}

static gboolean
on_tick (gpointer data)
{
  Controller *c = data;

  if (c->phase != PHASE_RUNNING) {
    c->tick_source = 0;
    return G_SOURCE_REMOVE;
  }
  take_sample (c);
  if (!c->opts->quiet && ++c->ticks % OUTPUT_EVERY_TICKS == 0) {
    if (c->tty) {
      g_print ("\033[H\033[2J");
      bench_output_table (c->run, FALSE);
    } else if (c->ticks % (5 * OUTPUT_EVERY_TICKS) == 0) {
      bench_output_table (c->run, FALSE);
    }
    bench_output_progress (c->run, c->tty);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_duration (gpointer data)
{
  Controller *c = data;

  c->stop_source = 0;
  begin_stop (c);
  return G_SOURCE_REMOVE;
}

static gboolean
on_grace_over (gpointer data)
{
  Controller *c = data;
  guint i;

  c->grace_source = 0;
  for (i = 0; i < c->run->viewers->len; i++)
    kill_peer (g_ptr_array_index (c->run->viewers, i));
  kill_peer (c->run->origin);
  return G_SOURCE_REMOVE;
}

static void
begin_stop (Controller * c)
{
  BenchRun *run = c->run;
  guint i;

  if (c->phase != PHASE_RUNNING)
    return;
  if (c->start_source)
    g_source_remove (c->start_source);
  if (c->churn_source)
    g_source_remove (c->churn_source);
  if (c->tick_source)
    g_source_remove (c->tick_source);
  c->start_source = c->churn_source = c->tick_source = 0;
  take_sample (c);
  c->phase = PHASE_STOPPING;
  run->stop_us = g_get_monotonic_time ();
  /* the origin's final report replaces these, unless it never comes */
  run->origin_sent_at_stop = run->origin->bytes_sent;
  run->stream_at_stop = run->origin->stream_bytes;
  for (i = 0; i < run->viewers->len; i++) {
    BenchPeer *p = g_ptr_array_index (run->viewers, i);

    if (p->proc && p->alive)
      g_subprocess_send_signal (p->proc, SIGTERM);
  }
  if (run->origin->proc)
    g_subprocess_send_signal (run->origin->proc, SIGTERM);
  c->grace_source = g_timeout_add_seconds (STOP_GRACE_S, on_grace_over, c);
}

static gboolean
on_start_timeout (gpointer data)
{
  Controller *c = data;

  c->start_timeout = 0;
  if (c->phase == PHASE_STARTING)
    fail (c, "the origin did not publish in time");
  return G_SOURCE_REMOVE;
}

static gboolean
on_interrupt (gpointer data)
{
  Controller *c = data;

  c->run->interrupted = TRUE;
  fail (c, "interrupted");
  return G_SOURCE_CONTINUE;
}

BenchRun *
bench_run_execute (const BenchOptions * opts, BenchMode mode,
    const BenchLab * lab)
{
  Controller c = { 0 };
  BenchRun *run = bench_run_new (opts, mode);
  guint sigint, sigterm;

  run->lab = lab;
  if (lab) {
    run->add_run_json = bench_lab_add_run_json;
    run->add_viewer_json = bench_lab_add_viewer_json;
  }

  c.run = run;
  c.opts = opts;
  c.loop = g_main_loop_new (NULL, FALSE);
  c.totals = g_array_new (FALSE, TRUE, sizeof (Totals));
  c.rand = g_rand_new ();
  c.tty = isatty (STDOUT_FILENO);
  c.exe = g_file_read_link ("/proc/self/exe", NULL);
  current = &c;

  sigint = g_unix_signal_add (SIGINT, on_interrupt, &c);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &c);
  c.start_timeout = g_timeout_add_seconds (START_TIMEOUT_S, on_start_timeout,
      &c);
  run->origin = spawn (&c, 0);
  if (run->origin)
    g_main_loop_run (c.loop);

  g_source_remove (sigint);
  g_source_remove (sigterm);
  /* nothing may call back into this stack frame later */
  if (c.start_timeout)
    g_source_remove (c.start_timeout);
  if (c.start_source)
    g_source_remove (c.start_source);
  if (c.churn_source)
    g_source_remove (c.churn_source);
  if (c.tick_source)
    g_source_remove (c.tick_source);
  if (c.stop_source)
    g_source_remove (c.stop_source);
  if (c.grace_source)
    g_source_remove (c.grace_source);
  current = NULL;
  g_main_loop_unref (c.loop);
  g_array_unref (c.totals);
  g_rand_free (c.rand);
  g_free (c.exe);
  return run;
}

/* p2p-tracker-load: how many announcing viewers a tracker holds.
 *
 *   p2p-tracker-load [--peers N] [--swarms K] [--duration S] [--ramp S]
 *                    [--interval S] [--keepalive S] [--offers N]
 *                    [--spread-addresses]
 *                    [--tracker URL [--tracker-pid PID]] [--json FILE]
 *                    [--quiet] [--tracker-max-connections N]
 *                    [--tracker-max-connections-per-address N]
 *                    [--tracker-connection-rate N]
 *
 * Holds N WebSocket tracker clients (load-clients.c), split over K swarms,
 * each connecting at its turn over the first --ramp seconds, announcing
 * "started" and then again every interval the tracker names, pinging every
 * --keepalive seconds in between, as our viewers do; --duration seconds
 * more are held after the ramp.  Without
 * --tracker it starts our embedded tracker (p2psink's defaults) in a
 * child process (load-tracker.c) and reports that process's CPU time and
 * memory (/proc); --tracker-pid does the same for a tracker started
 * otherwise (the npm bittorrent-tracker: docs/tracker-load.md).  Our
 * tracker's limits can be set as p2psink's properties set them.
 * --spread-addresses binds client i to a source address of its own in
 * 127.0.0.0/8 (127.1.0.1, 127.1.0.2, ...): without it every client comes
 * from 127.0.0.1, a crowd behind one NAT.
 *
 * A progress line every second (stderr), a summary, and with --json the
 * figures (FILE, or - for stdout): peers_connected (WebSockets open whose
 * last announce was answered, at the end), connects, announces (replies),
 * errors and errors_by_kind, reasons (the text of each refusal or
 * failure), announce_latency_ms and connect_ms (p50, p99, max), and the
 * tracker's cpu_seconds, rss_kb, rss_kb_max where it is measured.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "load.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

static LoadOptions opts = {
  .peers = 1000,
  .swarms = 1,
  .duration_s = 30,
  .ramp_s = 10,
  .keepalive_s = 20,
  .max_connections = -1,
  .max_connections_per_address = -1,
  .connection_rate = -1,
};

static GOptionEntry entries[] = {
  {"peers", 'n', 0, G_OPTION_ARG_INT, &opts.peers,
      "Tracker clients to hold (1000)", "N"},
  {"swarms", 'k', 0, G_OPTION_ARG_INT, &opts.swarms,
      "Swarms the clients are split over (1)", "K"},
  {"duration", 'd', 0, G_OPTION_ARG_INT, &opts.duration_s,
      "Seconds to hold them after the ramp (30)", "S"},
  {"ramp", 'r', 0, G_OPTION_ARG_INT, &opts.ramp_s,
      "Seconds over which they connect (10)", "S"},
  {"interval", 'i', 0, G_OPTION_ARG_INT, &opts.interval_s,
      "Announce every S seconds (0: the tracker's interval)", "S"},
  {"keepalive", 0, 0, G_OPTION_ARG_INT, &opts.keepalive_s,
      "Ping every S seconds between announces, as our viewers do (20; 0: "
      "never)", "S"},
  {"offers", 0, 0, G_OPTION_ARG_INT, &opts.offers,
      "Offers in each announce, relayed to other clients (0)", "N"},
  {"spread-addresses", 's', 0, G_OPTION_ARG_NONE, &opts.spread,
      "Give each client a source address of its own in 127.0.0.0/8", NULL},
  {"tracker", 't', 0, G_OPTION_ARG_STRING, &opts.tracker,
      "Load this tracker (ws://HOST:PORT/PATH) instead of starting ours",
      "URL"},
  {"tracker-pid", 0, 0, G_OPTION_ARG_INT, &opts.tracker_pid,
      "Measure this process as the tracker (with --tracker)", "PID"},
  {"tracker-max-connections", 0, 0, G_OPTION_ARG_INT, &opts.max_connections,
      "Our tracker's limit, as p2psink's property (-1: its default)", "N"},
  {"tracker-max-connections-per-address", 0, 0, G_OPTION_ARG_INT,
        &opts.max_connections_per_address,
      "Our tracker's limit, as p2psink's property (-1: its default)", "N"},
  {"tracker-connection-rate", 0, 0, G_OPTION_ARG_INT, &opts.connection_rate,
      "Our tracker's limit, as p2psink's property (-1: its default)", "N"},
  {"json", 'j', 0, G_OPTION_ARG_FILENAME, &opts.json_path,
      "Write the figures as JSON (- for stdout)", "FILE"},
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opts.quiet,
      "No progress line", NULL},
  /* the child's side */
  {"role", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opts.role, NULL,
      NULL},
  {"parent-pid", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opts.parent_pid,
      NULL, NULL},
  {NULL}
};

static volatile sig_atomic_t interrupted;

static void
on_signal (int sig)
{
  interrupted = 1;
}

typedef struct {
  gint64 start_us;
  gboolean tty;
  FILE *out;                     /* where people read: not the JSON */
} Progress;

static void
on_progress (LoadClients * lc, gpointer user_data)
{
  Progress *pr = user_data;
  const LoadCounters *c = load_clients_get_counters (lc);

  if (opts.quiet)
    return;
  fprintf (stderr, "%s[%5.0f/%d s] %u/%d connected, %u open, %"
      G_GUINT64_FORMAT " announces, %" G_GUINT64_FORMAT " errors, "
      "latency p50 %.1f ms%s", pr->tty ? "\r" : "",
      (g_get_monotonic_time () - pr->start_us) / 1e6,
      opts.ramp_s + opts.duration_s, c->connected, opts.peers, c->open,
      c->announces, load_clients_errors (lc),
      load_clients_latency_ms (lc, 0.5), pr->tty ? "   " : "\n");
  fflush (stderr);
}

static void
add_quantiles (JsonBuilder * b, const gchar * name, gdouble p50, gdouble p99,
    gdouble max)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
#define Q(key, v) \
  json_builder_set_member_name (b, key); \
  if (isnan (v)) json_builder_add_null_value (b); \
  else json_builder_add_double_value (b, round ((v) * 100) / 100)
  Q ("p50", p50);
  Q ("p99", p99);
  Q ("max", max);
#undef Q
  json_builder_end_object (b);
}

static gboolean
write_json (LoadClients * lc, const gchar * url, const LoadProcFigures * start,
    const LoadProcFigures * ramp, const LoadProcFigures * end,
    JsonNode * tracker_stats, gdouble wall_s, GError ** error)
{
  const LoadCounters *c = load_clients_get_counters (lc);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  guint i;

  json_builder_begin_object (b);
#define INT(key, v) \
  json_builder_set_member_name (b, key); json_builder_add_int_value (b, v)
  INT ("peers", opts.peers);
  INT ("swarms", opts.swarms);
  INT ("ramp_s", opts.ramp_s);
  INT ("duration_s", opts.duration_s);
  json_builder_set_member_name (b, "spread_addresses");
  json_builder_add_boolean_value (b, opts.spread);
  INT ("interval_s", opts.interval_s ? (guint) opts.interval_s :
      c->interval_s);
  INT ("peers_connected", c->connected);
  INT ("peers_open", c->open);
  INT ("connects", c->connects);
  INT ("announces_sent", c->announces_sent);
  INT ("announces", c->announces);
  INT ("offers_sent", c->offers_sent);
  INT ("offers_received", c->offers_received);
  INT ("pings", c->pings);
  INT ("errors", load_clients_errors (lc));
  json_builder_set_member_name (b, "errors_by_kind");
  json_builder_begin_object (b);
  for (i = 0; i < LOAD_N_ERRORS; i++) {
    INT (load_error_names[i], c->errors[i]);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "reasons");
  load_clients_add_reasons (lc, b);
  add_quantiles (b, "announce_latency_ms", load_clients_latency_ms (lc, 0.5),
      load_clients_latency_ms (lc, 0.99), load_clients_latency_ms (lc, 1.0));
  add_quantiles (b, "connect_ms", load_clients_connect_ms (lc, 0.5),
      load_clients_connect_ms (lc, 0.99), load_clients_connect_ms (lc, 1.0));
  json_builder_set_member_name (b, "wall_seconds");
  json_builder_add_double_value (b, round (wall_s * 10) / 10);

  json_builder_set_member_name (b, "tracker");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  json_builder_set_member_name (b, "started_here");
  json_builder_add_boolean_value (b, opts.tracker == NULL);
  if (end->ok) {
    json_builder_set_member_name (b, "cpu_seconds");
    json_builder_add_double_value (b, round (end->cpu_seconds * 100) / 100);
    /* during the ramp, and a second after it while held */
    json_builder_set_member_name (b, "cpu_seconds_ramp");
    json_builder_add_double_value (b, round (ramp->cpu_seconds * 100) / 100);
    json_builder_set_member_name (b, "cpu_per_second_held");
    json_builder_add_double_value (b, opts.duration_s > 0 ?
        round ((end->cpu_seconds - ramp->cpu_seconds) / opts.duration_s *
            1000) / 1000 : 0);
    INT ("rss_kb", end->rss_kb);
    INT ("rss_kb_max", end->rss_kb_max);
    INT ("rss_kb_start", start->rss_kb);
  }
  if (tracker_stats) {
    json_builder_set_member_name (b, "stats");
    json_builder_add_value (b, json_node_copy (tracker_stats));
  }
  json_builder_end_object (b);
#undef INT
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  if (g_strcmp0 (opts.json_path, "-") == 0) {
    g_autofree gchar *text = json_generator_to_data (gen, NULL);

    printf ("%s\n", text);
    fflush (stdout);
    return TRUE;
  }
  return json_generator_to_file (gen, opts.json_path, error);
}

static void
print_summary (FILE * out, LoadClients * lc, const LoadProcFigures * start,
    const LoadProcFigures * ramp, const LoadProcFigures * end)
{
  const LoadCounters *c = load_clients_get_counters (lc);
  guint i;

  fprintf (out, "\n%u/%d peers connected (%u swarms%s), %" G_GUINT64_FORMAT
      " connects, %" G_GUINT64_FORMAT " announces answered of %"
      G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " errors\n", c->connected,
      opts.peers, opts.swarms, opts.spread ? ", spread over 127.0.0.0/8" :
      ", one address", c->connects, c->announces, c->announces_sent,
      load_clients_errors (lc));
  for (i = 0; i < LOAD_N_ERRORS; i++)
    if (c->errors[i])
      fprintf (out, "  %-10s %" G_GUINT64_FORMAT "\n", load_error_names[i],
          c->errors[i]);
  fprintf (out, "  announce latency p50 %.1f ms, p99 %.1f ms; connect p50 "
      "%.1f ms, p99 %.1f ms\n", load_clients_latency_ms (lc, 0.5),
      load_clients_latency_ms (lc, 0.99), load_clients_connect_ms (lc, 0.5),
      load_clients_connect_ms (lc, 0.99));
  if (end->ok)
    fprintf (out, "  tracker: %.2f CPU s (%.2f in the ramp, then %.3f a "
        "second), RSS %" G_GUINT64_FORMAT " kB (%" G_GUINT64_FORMAT " kB at "
        "the start, %" G_GUINT64_FORMAT " kB at most)\n", end->cpu_seconds,
        ramp->cpu_seconds, opts.duration_s ? (end->cpu_seconds -
            ramp->cpu_seconds) / opts.duration_s : 0.0, end->rss_kb,
        start->rss_kb, end->rss_kb_max);
}

/* Every client is a descriptor here. */
static gboolean
check_fd_limit (GError ** error)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
    return TRUE;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit (RLIMIT_NOFILE, &rl);
    getrlimit (RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY
      && rl.rlim_cur < (rlim_t) opts.peers + 64) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
        "%d clients need %d file descriptors, the limit is %lu (raise it: "
        "ulimit -n)", opts.peers, opts.peers + 64, (gulong) rl.rlim_cur);
    return FALSE;
  }
  return TRUE;
}

static int
controller_main (void)
{
  g_autoptr (GError) error = NULL;
  LoadTracker *tracker = NULL;
  LoadClients *lc;
  LoadProcFigures start = { 0 }, end = { 0 };
  JsonNode *tracker_stats = NULL;
  const gchar *url = opts.tracker;
  gint pid = opts.tracker_pid;
  Progress pr = { 0 };
  gint64 deadline, ramp_end;
  gboolean ramped = FALSE;
  LoadProcFigures ramp = { 0 };
  int status = 0;

  if (!check_fd_limit (&error)) {
    g_printerr ("p2p-tracker-load: %s\n", error->message);
    return 1;
  }
  if (url == NULL) {
    tracker = load_tracker_spawn (&opts, &error);
    if (tracker == NULL) {
      g_printerr ("p2p-tracker-load: %s\n", error->message);
      return 1;
    }
    url = load_tracker_get_url (tracker);
    pid = load_tracker_get_pid (tracker);
  }
  lc = load_clients_new (&opts, url, &error);
  if (lc == NULL) {
    g_printerr ("p2p-tracker-load: %s\n", error->message);
    load_tracker_free (tracker);
    return 1;
  }
  if (pid > 0)
    load_proc_figures (pid, &start);

  pr.start_us = g_get_monotonic_time ();
  pr.tty = isatty (STDERR_FILENO);
  if (!opts.quiet)
    fprintf (stderr, "%d peers in %d swarm%s against %s%s\n", opts.peers,
        opts.swarms, opts.swarms > 1 ? "s" : "", url, tracker ?
        " (started here)" : "");
  deadline = pr.start_us + (gint64) (opts.ramp_s + opts.duration_s) *
      G_USEC_PER_SEC;
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  load_clients_start (lc);
  ramp_end = pr.start_us + (gint64) opts.ramp_s * G_USEC_PER_SEC;
  /* a second at a time, so that a signal ends the run early */
  while (!interrupted && g_get_monotonic_time () < deadline) {
    gint64 until = MIN (deadline, g_get_monotonic_time () + G_USEC_PER_SEC);

    if (!ramped && until >= ramp_end) {
      until = ramp_end;
      ramped = TRUE;
      load_clients_run (lc, until, on_progress, &pr);
      if (pid > 0)
        load_proc_figures (pid, &ramp);
      continue;
    }
    load_clients_run (lc, until, on_progress, &pr);
  }
  if (!opts.quiet && pr.tty)
    fputc ('\n', stderr);

  /* the tracker as the load left it, before the clients hang up */
  if (pid > 0 && !load_proc_figures (pid, &end))
    g_printerr ("p2p-tracker-load: cannot read /proc/%d\n", pid);
  if (tracker)
    tracker_stats = load_tracker_stop (tracker);

  print_summary (g_strcmp0 (opts.json_path, "-") ? stdout : stderr, lc,
      &start, &ramp, &end);
  if (opts.json_path && !write_json (lc, url, &start, &ramp, &end,
          tracker_stats,
          (g_get_monotonic_time () - pr.start_us) / 1e6, &error)) {
    g_printerr ("p2p-tracker-load: %s\n", error->message);
    status = 1;
  }
  if (tracker_stats)
    json_node_unref (tracker_stats);
  load_clients_free (lc);
  load_tracker_free (tracker);
  return interrupted ? 130 : status;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- hold a crowd of announcing "
      "tracker clients");
  GError *error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("p2p-tracker-load: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);

  if (!g_strcmp0 (opts.role, "tracker"))
    return load_tracker_main (&opts);
  if (opts.role) {
    g_printerr ("p2p-tracker-load: unknown role %s\n", opts.role);
    return 2;
  }
  if (opts.peers < 1 || opts.swarms < 1 || opts.swarms > opts.peers
      || opts.duration_s < 0 || opts.ramp_s < 0 || opts.interval_s < 0
      || opts.offers < 0 || opts.offers > 10 || opts.keepalive_s < 0
      || (opts.tracker_pid && !opts.tracker)) {
    g_printerr ("p2p-tracker-load: out of range: --peers ≥ 1, 1 ≤ --swarms "
        "≤ --peers, --offers ≤ 10, the others ≥ 0; --tracker-pid with "
        "--tracker\n");
    return 2;
  }
  return controller_main ();
}

/* p2p-sim: the swarm at any size, on virtual time.
 *
 *   p2p-sim [--viewers N] [--bitrate KBIT] [--duration SECONDS]
 *           [--churn PCT] [--latency MS] [--max-peers N]
 *           [--segment-duration MS] [--json FILE] [--plot FILE.svg]
 *           [--rtt MS] [--loss PCT] [--slow-upload PCT] [--relayed PCT]
 *           [--join-window S] [--seed N] [--quiet] [--trace]
 *
 * What p2p-bench measures with one process per peer on this machine's
 * network, p2p-sim runs in one process and one thread on a virtual clock
 * over a modelled network: the origin (a real SwarmSession fed p2p-bench's
 * stream through the real segmenter, sim-origin.c), the embedded tracker
 * listening in memory, and every viewer (a real viewer SwarmSession, and
 * p2psrc's real start and playout policy, SwarmViewer, playing into a
 * model of a syncing sink, sim-viewer.c).  Scheduler, peer protocol,
 * congestion control, repair and parity, playout, signalling through the
 * tracker, PEX and Ed25519 signatures are the product's code; the network
 * (delay, upload queues, loss, NAT relays) is modelled (sim-network.c,
 * swarm-link-memory.h), DTLS is not run.  Simulated seconds cost what the
 * swarm's work costs, not wall time, and a seed gives the same run event
 * for event (sim-run.c says how).
 *
 * The options and JSON keys are p2p-bench's (docs/sim.md); the JSON adds
 * "network", per viewer "tree_depth" (hops from the origin, following who
 * fed it the most) and "upload_share" (its part of all the viewers'
 * upload), and "sim" (events, wall time, peak RSS, and what of the crypto
 * is real).  Only "wall_seconds" and "peak_rss_kb" differ between two runs
 * with one seed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <sys/resource.h>

static SimOptions opts = {
  .viewers = 8,
  .bitrate_kbps = 1000,
  .duration_s = 30,
  .latency_ms = 500,
  .max_peers = 4,
  .segment_ms = 200,
  .join_interval_ms = 200,
  .join_window_s = -1,
  .seed = 1,
};

static GOptionEntry entries[] = {
  {"viewers", 'n', 0, G_OPTION_ARG_INT, &opts.viewers,
      "Viewers watching at once (8)", "N"},
  {"bitrate", 'b', 0, G_OPTION_ARG_INT, &opts.bitrate_kbps,
      "Stream bitrate in kbit/s (1000)", "KBIT"},
  {"duration", 'd', 0, G_OPTION_ARG_INT, &opts.duration_s,
      "Simulated seconds to measure, from the first viewer's start (30)",
      "SECONDS"},
  {"churn", 'c', 0, G_OPTION_ARG_DOUBLE, &opts.churn_pct,
      "Percent of the viewers replaced per minute, each crashing (0)", "PCT"},
  {"latency", 'l', 0, G_OPTION_ARG_INT, &opts.latency_ms,
      "Viewers' playout delay in ms (500, as p2psrc)", "MS"},
  {"max-peers", 'm', 0, G_OPTION_ARG_INT, &opts.max_peers,
      "Viewers the origin serves directly (4)", "N"},
  {"segment-duration", 's', 0, G_OPTION_ARG_INT, &opts.segment_ms,
      "Origin's target segment duration in ms (200)", "MS"},
  {"join-interval", 0, 0, G_OPTION_ARG_INT, &opts.join_interval_ms,
      "Milliseconds between two viewers joining at the start (200)", "MS"},
  {"join-window", 0, 0, G_OPTION_ARG_DOUBLE, &opts.join_window_s,
      "All viewers join within this many seconds, at random (a flash "
      "crowd; instead of --join-interval)", "S"},
  {"json", 'j', 0, G_OPTION_ARG_FILENAME, &opts.json_path,
      "Write the figures as JSON", "FILE"},
  {"plot", 'p', 0, G_OPTION_ARG_FILENAME, &opts.plot_path,
      "Draw offload, continuity and latency as SVG", "FILE.svg"},
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opts.quiet,
      "Print only the final summary (no progress line)", NULL},
  {"trace", 0, 0, G_OPTION_ARG_NONE, &opts.trace,
      "Log (as GST_DEBUG chooses) on virtual time, with the participants' "
      "names (O, V1...) for their peer ids", NULL},
  {"rtt", 0, 0, G_OPTION_ARG_INT, &opts.rtt_ms,
      "Median round-trip time between two peers, log-normal spread (0)",
      "MS"},
  {"loss", 0, 0, G_OPTION_ARG_DOUBLE, &opts.loss_pct,
      "Random loss each way on every path (0)", "PCT"},
  {"slow-upload", 0, 0, G_OPTION_ARG_DOUBLE, &opts.slow_upload_pct,
      "Share of the viewers whose upload is half the bitrate (0)", "PCT"},
  {"upload", 0, 0, G_OPTION_ARG_INT, &opts.upload_kbps,
      "Every other viewer's upload capacity (0: unlimited)", "KBIT"},
  {"relayed", 0, 0, G_OPTION_ARG_DOUBLE, &opts.relayed_pct,
      "Share of the viewers behind symmetric NATs, reached through a TURN "
      "relay (0)", "PCT"},
  {"seed", 0, 0, G_OPTION_ARG_INT, &opts.seed,
      "Seed of every random draw: the same seed, the same run (1)", "N"},
  {NULL}
};

static gboolean
check_options (GError ** error)
{
  if (opts.viewers < 1 || opts.bitrate_kbps < 10 || opts.duration_s < 1
      || opts.churn_pct < 0 || opts.latency_ms < 0 || opts.max_peers < 1
      || opts.segment_ms < 1 || opts.join_interval_ms < 0
      || opts.rtt_ms < 0 || opts.loss_pct < 0 || opts.loss_pct >= 100
      || opts.slow_upload_pct < 0 || opts.slow_upload_pct > 100
      || opts.relayed_pct < 0 || opts.relayed_pct > 100
      || opts.upload_kbps < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "out of range: --viewers ≥ 1, --bitrate ≥ 10, --duration ≥ 1, "
        "--max-peers ≥ 1, --loss below 100, --slow-upload and --relayed "
        "within 0..100, the others ≥ 0");
    return FALSE;
  }
  if (opts.plot_path && !g_str_has_suffix (opts.plot_path, ".svg")) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--plot draws SVG: give a FILE.svg");
    return FALSE;
  }
  return TRUE;
}

/* p2p-bench's options, for the code the two tools share */
static void
bench_options (BenchOptions * b)
{
  memset (b, 0, sizeof *b);
  b->viewers = opts.viewers;
  b->bitrate_kbps = opts.bitrate_kbps;
  b->duration_s = opts.duration_s;
  b->churn_pct = opts.churn_pct;
  b->latency_ms = opts.latency_ms;
  b->max_peers = opts.max_peers;
  b->segment_ms = opts.segment_ms;
  b->join_interval_ms = opts.join_interval_ms;
  b->json_path = opts.json_path;
  b->plot_path = opts.plot_path;
  b->quiet = opts.quiet;
  b->loss_pct = opts.loss_pct;
  b->rtt_ms = opts.rtt_ms;
}

static guint64
peak_rss_kb (void)
{
  struct rusage ru;

  return getrusage (RUSAGE_SELF, &ru) == 0 ? (guint64) ru.ru_maxrss : 0;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx =
      g_option_context_new ("- a p2p swarm of any size on virtual time");
  BenchOptions bench;
  BenchRun *run;
  BenchFigures f;
  SimCost cost = { 0 };
  GError *error = NULL;
  gint64 wall = g_get_monotonic_time ();
  Sim *sim;
  int status = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !check_options (&error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  swarm_init ();

  bench_options (&bench);
  run = bench_run_new (&bench, BENCH_MODE_P2P);
  run->tool = "p2p-sim";
  sim = sim_new (&opts, run, &error);
  if (!sim || !sim_run (sim, &error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    g_error_free (error);
    sim_free (sim);
    bench_run_free (run);
    return 1;
  }
  sim_results_prepare (sim, &f);
  cost.events = sim->events;
  swarm_memory_net_get_stats (sim->net, &cost.net);
  cost.wall_s = (g_get_monotonic_time () - wall) / 1e6;
  cost.peak_rss_kb = peak_rss_kb ();

  bench_output_summary (&f);
  g_print ("  delivered       %.1f Mbit, %" G_GUINT64_FORMAT " signatures "
      "checked (each in full once, then from the cache)\n", f.delivered_mbit,
      f.segments_verified);
  g_print ("  simulation      %" G_GUINT64_FORMAT " events, %.1f s wall, "
      "peak RSS %.0f MB (seed %u)\n", cost.events, cost.wall_s,
      cost.peak_rss_kb / 1024.0, opts.seed);
  if (opts.json_path && !sim_results_write_json (sim, &f, &cost,
          opts.json_path, &error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  if (opts.plot_path && !bench_plot_svg (opts.plot_path, run, NULL, &error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  sim_results_clear (sim);
  sim_free (sim);
  bench_run_free (run);
  return status;
}

/* p2p-sim: the swarm at any size, on virtual time.
 *
 *   p2p-sim [--viewers N] [--bitrate KBIT] [--duration SECONDS]
 *           [--churn PCT] [--latency MS] [--max-peers N]
 *           [--segment-duration MS] [--json FILE] [--plot FILE.svg]
 *           [--rtt MS] [--loss PCT] [--slow-upload PCT] [--relayed PCT]
 *           [--join-window S] [--seed N] [--threads N] [--quiet] [--trace]
 *
 * What p2p-bench measures with one process per peer on this machine's
 * network, p2p-sim runs in one process on virtual clocks (two shards of
 * the participants on two threads where paths have a delay, sim-run.c)
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
 * upload), and "sim" (events, shards and windows, wall time, peak RSS,
 * and what of the crypto is real).  Only "threads", "wall_seconds" and
 * "peak_rss_kb" differ between two runs with one seed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static SimOptions opts = {
  .join_window_s = -1,
  .seed = 1,
  .threads = 2,
};

/* the network's, beside p2p-bench's (bench_options_add_swarm_entries) */
static GOptionEntry entries[] = {
  {"join-window", 0, 0, G_OPTION_ARG_DOUBLE, &opts.join_window_s,
      "All viewers join within this many seconds, at random (a flash "
      "crowd; instead of --join-interval)", "S"},
  {"trace", 0, 0, G_OPTION_ARG_NONE, &opts.trace,
      "Log (as GST_DEBUG chooses) on virtual time, with the participants' "
      "names (O, V1...) for their peer ids", NULL},
  {"rtt", 0, 0, G_OPTION_ARG_INT, &opts.bench.rtt_ms,
      "Median round-trip time between two peers, log-normal spread (0)",
      "MS"},
  {"slow-upload", 0, 0, G_OPTION_ARG_DOUBLE, &opts.slow_upload_pct,
      "Share of the viewers whose upload is half the bitrate (0)", "PCT"},
  {"upload", 0, 0, G_OPTION_ARG_INT, &opts.upload_kbps,
      "Every other viewer's upload capacity (0: unlimited)", "KBIT"},
  {"relayed", 0, 0, G_OPTION_ARG_DOUBLE, &opts.relayed_pct,
      "Share of the viewers behind symmetric NATs, reached through a TURN "
      "relay (0)", "PCT"},
  {"seed", 0, 0, G_OPTION_ARG_INT, &opts.seed,
      "Seed of every random draw: the same seed, the same run (1)", "N"},
  {"threads", 0, 0, G_OPTION_ARG_INT, &opts.threads,
      "Threads running the simulation (2; 1 runs its two halves in turn: "
      "the same run either way)", "N"},
  {NULL}
};

static gboolean
check_options (GError ** error)
{
  if (!bench_options_check_swarm (&opts.bench, error))
    return FALSE;
  if (opts.slow_upload_pct < 0 || opts.slow_upload_pct > 100
      || opts.relayed_pct < 0 || opts.relayed_pct > 100
      || opts.upload_kbps < 0 || opts.threads < 1) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "out of range: --slow-upload and --relayed within 0..100, "
        "--upload ≥ 0, --threads ≥ 1");
    return FALSE;
  }
  return TRUE;
}

static guint64
peak_rss_kb (void)
{
  struct rusage ru;

  return getrusage (RUSAGE_SELF, &ru) == 0 ? (guint64) ru.ru_maxrss : 0;
}

/* A big swarm's state is gigabytes read at random, a few cache lines per
 * event: with 4 KiB pages nearly every one also misses the TLB.  glibc
 * gives malloc's memory transparent huge pages when asked by a tunable,
 * read only at start, so the simulator starts itself again with it
 * (unless the user set tunables of their own): 10 % less wall time at
 * 3,000 viewers, 19 % at 10,000 (docs/sim.md).  Nothing else changes,
 * the run is the same. */
#define HUGE_PAGES_TUNABLE "glibc.malloc.hugetlb=1"

static void
restart_with_huge_pages (char **argv)
{
  const gchar *preload = g_getenv ("LD_PRELOAD");
  gchar *thp = NULL, *self;
  gboolean available;

  /* nor under valgrind, which would lose its hold on an exec */
  if (g_getenv ("GLIBC_TUNABLES") || (preload && strstr (preload, "vgpreload")))
    return;
  available = g_file_get_contents
      ("/sys/kernel/mm/transparent_hugepage/enabled", &thp, NULL, NULL)
      && !strstr (thp, "[never]");
  g_free (thp);
  if (!available)
    return;
  /* by its own path, not /proc/self/exe: the process keeps its name */
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (!self)
    return;
  g_setenv ("GLIBC_TUNABLES", HUGE_PAGES_TUNABLE, TRUE);
  execv (self, argv);
  /* could not: run as we are */
  g_unsetenv ("GLIBC_TUNABLES");
  g_free (self);
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx =
      g_option_context_new ("- a p2p swarm of any size on virtual time");
  BenchRun *run;
  BenchFigures f;
  SimCost cost = { 0 };
  GError *error = NULL;
  gint64 wall = g_get_monotonic_time ();
  Sim *sim;
  int status = 0;

  restart_with_huge_pages (argv);
  bench_options_init (&opts.bench);
  bench_options_add_swarm_entries (ctx, &opts.bench, TRUE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !check_options (&error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  swarm_init ();

  run = bench_run_new (&opts.bench, BENCH_MODE_P2P);
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
  cost.events = sim_events (sim);
  swarm_memory_net_get_stats (sim->net, &cost.net);
  cost.wall_s = (g_get_monotonic_time () - wall) / 1e6;
  cost.peak_rss_kb = peak_rss_kb ();

  bench_output_summary (&f);
  g_print ("  delivered       %.1f Mbit, %" G_GUINT64_FORMAT " signatures "
      "checked (each in full once a shard, then from the cache)\n",
      f.delivered_mbit,
      f.segments_verified);
  g_print ("  simulation      %" G_GUINT64_FORMAT " events, %.1f s wall, "
      "peak RSS %.0f MB (seed %u; %u shards on %u threads)\n", cost.events,
      cost.wall_s, cost.peak_rss_kb / 1024.0, opts.seed, sim->n_shards,
      sim_pool_threads (sim));
  if (opts.bench.json_path && !sim_results_write_json (sim, &f, &cost,
          opts.bench.json_path, &error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  if (opts.bench.plot_path && !bench_plot_svg (opts.bench.plot_path, run, NULL, &error)) {
    g_printerr ("p2p-sim: %s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  sim_results_clear (sim);
  sim_free (sim);
  bench_run_free (run);
  return status;
}

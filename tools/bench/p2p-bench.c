/* p2p-bench: what the swarm costs and delivers, measured on this machine.
 *
 *   p2p-bench [--viewers N] [--bitrate KBIT] [--duration SECONDS]
 *             [--churn PCT] [--latency MS] [--max-peers N]
 *             [--segment-duration MS] [--baseline tcp] [--json FILE]
 *             [--plot FILE.svg]
 *
 * One binary, two kinds of process.  Run by a person it is the controller:
 * it re-executes itself (/proc/self/exe) as `--role=origin` and then as
 * `--role=viewer --uri=URI --id=K`, one process per peer, so that every peer
 * has its own CPU time, memory and network threads, like the real thing.
 * Each child writes one JSON object per line on stdout every 500 ms (its
 * counters, and for viewers the latency samples since the last line) and a
 * last one, marked "final", with its getrusage() CPU time and VmHWM when it
 * gets SIGTERM.  A viewer killed by churn (SIGKILL, as a crash would) cannot
 * report: the controller reads /proc/PID/stat and /status just before.
 * Children die with the controller (PR_SET_PDEATHSIG = SIGKILL, set between
 * fork and exec and again in the child); SIGINT/SIGTERM to the controller
 * kills them all.  Children's stderr goes to --logs DIR (a fresh temporary
 * directory unless given).
 *
 * The stream (bench-stream.c) is synthetic and needs no encoder: --bitrate
 * kbit/s in 20 ms buffers, a keyframe every 25, each starting with a magic,
 * a sequence number and the origin's wall clock when pushed.  Origin:
 * `appsrc ! p2psink`; viewer: `p2psrc ! appsink sync=true`, so a buffer is
 * measured when it is rendered at its playout time.  Glass-to-glass latency
 * is the wall clock at render minus the stamp.  A buffer rendered more than
 * 100 ms after its due time, or never (a hole in the sequence, or a stall
 * in progress), is missed; continuity is on-time buffers over buffers due
 * since the viewer's first one.  Startup runs from spawning the viewer's
 * process to its first rendered buffer.
 *
 * --baseline tcp runs the same stream to the same viewers a second time
 * through `gdppay ! tcpserversink` and `tcpclientsrc ! gdpdepay`, the viewer
 * playing it like p2psrc does (first buffer at arrival + --latency), and
 * reports cpu_ratio_vs_tcp.  --mode tcp runs the baseline alone.
 *
 * The figures (bench-results.c, the README's Benchmark section):
 * origin_upload_copies = origin bytes sent / stream bytes produced, both
 * between the first viewer's start and the stop; offload = 1 − origin bytes
 * sent / bytes all viewers received; cpu_s_per_mbit = CPU seconds of every
 * child (origin, viewers, replaced viewers; not the controller) / megabits
 * rendered by the viewers' appsinks; rss_mb_max = the largest VmHWM.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static BenchOptions opts;

/* beside bench_options_add_swarm_entries () */
static GOptionEntry entries[] = {
  {"baseline", 0, 0, G_OPTION_ARG_STRING, &opts.baseline,
      "Also run the same stream through a fan-out baseline: tcp", "tcp"},
  {"mode", 0, 0, G_OPTION_ARG_STRING, &opts.mode,
      "What the main run uses: p2p (default) or tcp", "MODE"},
  {"logs", 0, 0, G_OPTION_ARG_FILENAME, &opts.logs_dir,
      "Directory for the children's stderr (a new temporary one)", "DIR"},
  {"lab", 0, 0, G_OPTION_ARG_NONE, &opts.lab,
      "Run the peers in the NAT lab (root; implied by the options below)",
      NULL},
  {"sites", 0, 0, G_OPTION_ARG_STRING, &opts.sites,
      "NAT of the viewers' sites, cycled (cone,cone,cone,symmetric)",
      "MODE,..."},
  {"viewers-per-site", 0, 0, G_OPTION_ARG_INT, &opts.viewers_per_site,
      "Viewers behind each site's NAT (1)", "N"},
  {"rtt", 0, 0, G_OPTION_ARG_INT, &opts.rtt_ms,
      "Round-trip time every path gets (0; a multiple of 4)", "MS"},
  {"rate", 0, 0, G_OPTION_ARG_INT, &opts.rate_kbps,
      "Every site's access link rate each way, tbf (0: unlimited)", "KBIT"},
  /* the children's side */
  {"role", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opts.role, NULL,
      NULL},
  {"uri", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opts.uri, NULL, NULL},
  {"id", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opts.id, NULL, NULL},
  {"parent-pid", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opts.parent_pid,
      NULL, NULL},
  {"address", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opts.address,
      NULL, NULL},
  {"stun-server", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING,
      &opts.stun_server, NULL, NULL},
  {"turn-server", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING,
      &opts.turn_server, NULL, NULL},
  {NULL}
};

static gboolean
check_options (BenchMode * mode, GError ** error)
{
  if (!bench_mode_parse (opts.mode ? opts.mode : "p2p", mode)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--mode must be p2p or tcp");
    return FALSE;
  }
  if (opts.baseline && (g_strcmp0 (opts.baseline, "tcp")
          || *mode == BENCH_MODE_TCP)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--baseline takes tcp, with a p2p main run");
    return FALSE;
  }
  if (!bench_options_check_swarm (&opts, error))
    return FALSE;
  if (opts.viewers_per_site < 1 || opts.rate_kbps < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "out of range: --viewers-per-site ≥ 1, --rate ≥ 0");
    return FALSE;
  }
  /* each end of a lab path adds RTT/4 each way: what a path gets */
  opts.rtt_ms = opts.rtt_ms / 4 * 4;
  return TRUE;
}

static gboolean
write_json (const BenchRun * run, const BenchFigures * f,
    const BenchRun * base, const BenchFigures * bf, GError ** error)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;
  gboolean ok;

  json_builder_begin_object (b);
  bench_figures_to_json (f, run, b);
  if (base) {
    json_builder_set_member_name (b, "cpu_ratio_vs_tcp");
    if (isnan (f->cpu_s_per_mbit) || isnan (bf->cpu_s_per_mbit)
        || bf->cpu_s_per_mbit <= 0)
      json_builder_add_null_value (b);
    else
      json_builder_add_double_value (b,
          round (f->cpu_s_per_mbit / bf->cpu_s_per_mbit * 1000) / 1000);
    json_builder_set_member_name (b, "baseline");
    json_builder_begin_object (b);
    bench_figures_to_json (bf, base, b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  ok = json_generator_to_file (gen, opts.json_path, error);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return ok;
}

static BenchRun *
run_one (BenchMode mode, const BenchLab * lab, BenchFigures * f)
{
  BenchRun *run = bench_run_execute (&opts, mode, lab);

  if (run->failed) {
    bench_run_free (run);
    return NULL;
  }
  bench_figures_compute (run, f);
  if (!opts.quiet)
    bench_output_table (run, TRUE);
  bench_output_summary (f);
  if (lab) {
    guint i, n_symmetric = 0, n_open = 0;

    for (i = 1; i <= bench_lab_n_sites (lab); i++) {
      n_symmetric += !g_strcmp0 (bench_lab_site_mode (lab, i), "symmetric");
      n_open += !g_strcmp0 (bench_lab_site_mode (lab, i), "open");
    }
    g_print ("  lab             %u sites (%u cone, %u symmetric, %u open), "
        "%d viewers each; every path: loss %.1f %%, RTT %d ms, "
        "access rate %s\n", bench_lab_n_sites (lab),
        bench_lab_n_sites (lab) - n_symmetric - n_open, n_symmetric, n_open,
        opts.viewers_per_site, opts.loss_pct, opts.rtt_ms,
        opts.rate_kbps ? "limited" : "unlimited");
    if (opts.rate_kbps)
      g_print ("                  access links %d kbit/s each way\n",
          opts.rate_kbps);
  }
  return run;
}

static int
controller_main (BenchMode mode)
{
  BenchRun *run, *base = NULL;
  BenchLab *lab = NULL;
  BenchFigures f, bf;
  GError *error = NULL;
  int status = 0;

  if (!opts.logs_dir) {
    opts.logs_dir = g_dir_make_tmp ("p2p-bench-XXXXXX", &error);
    if (!opts.logs_dir) {
      g_printerr ("p2p-bench: %s\n", error->message);
      return 1;
    }
  } else {
    g_mkdir_with_parents (opts.logs_dir, 0755);
  }

  if (bench_lab_wanted (&opts)) {
    lab = bench_lab_new (&opts, &error);
    if (!lab) {
      g_printerr ("p2p-bench: %s\n", error->message);
      status = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)
          ? 77 : 1;
      g_error_free (error);
      return status;
    }
  }

  run = run_one (mode, lab, &f);
  if (!run) {
    bench_lab_free (lab);
    return 1;
  }
  if (opts.baseline) {
    base = run_one (BENCH_MODE_TCP, lab, &bf);
    if (!base)
      status = 1;
    else
      g_print ("\nCPU per delivered Mbit, p2p / tcp: %.2f\n",
          f.cpu_s_per_mbit / bf.cpu_s_per_mbit);
  }
  if (opts.json_path && !write_json (run, &f, base, &bf, &error)) {
    g_printerr ("p2p-bench: %s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  if (opts.plot_path && !bench_plot_svg (opts.plot_path, run, base, &error)) {
    g_printerr ("p2p-bench: %s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  if (!opts.quiet)
    g_print ("children's logs: %s\n", opts.logs_dir);
  bench_run_free (run);
  bench_run_free (base);
  bench_lab_free (lab);
  return status;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx =
      g_option_context_new ("- benchmark a p2p swarm on this machine");
  GError *error = NULL;
  BenchMode mode;

  bench_options_init (&opts);
  bench_options_add_swarm_entries (ctx, &opts, FALSE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)
      || !check_options (&mode, &error)) {
    g_printerr ("p2p-bench: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);

  if (!g_strcmp0 (opts.role, "origin")) {
    bench_child_init (opts.parent_pid);
    return bench_origin_main (&opts, mode);
  }
  if (!g_strcmp0 (opts.role, "viewer")) {
    bench_child_init (opts.parent_pid);
    return bench_viewer_main (&opts, mode);
  }
  if (opts.role) {
    g_printerr ("p2p-bench: unknown role %s\n", opts.role);
    return 2;
  }
  return controller_main (mode);
}

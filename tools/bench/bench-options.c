/* The options p2p-bench and p2p-sim share: the swarm and the stream they
 * run, and what they write.  One table and one range check, so that the
 * two tools take the same words with the same defaults and a script can
 * move from one to the other (docs/sim.md, "Options and JSON").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <string.h>

void
bench_options_init (BenchOptions * o)
{
  memset (o, 0, sizeof *o);
  o->viewers = 8;
  o->bitrate_kbps = 1000;
  o->duration_s = 30;
  o->latency_ms = 500;
  o->max_peers = 4;
  o->segment_ms = 200;
  o->join_interval_ms = 200;
  o->viewers_per_site = 1;
}

void
bench_options_add_swarm_entries (GOptionContext * ctx, BenchOptions * o,
    gboolean simulated)
{
  /* the group keeps a copy of the entries; the strings are static */
  const GOptionEntry entries[] = {
    {"viewers", 'n', 0, G_OPTION_ARG_INT, &o->viewers,
        "Viewers watching at once (8)", "N"},
    {"bitrate", 'b', 0, G_OPTION_ARG_INT, &o->bitrate_kbps,
        "Stream bitrate in kbit/s (1000)", "KBIT"},
    {"duration", 'd', 0, G_OPTION_ARG_INT, &o->duration_s,
          simulated ?
          "Simulated seconds to measure, from the first viewer's start (30)" :
          "Seconds to measure, from the first viewer's start (30)",
        "SECONDS"},
    {"churn", 'c', 0, G_OPTION_ARG_DOUBLE, &o->churn_pct,
          simulated ?
          "Percent of the viewers replaced per minute, each crashing (0)" :
          "Percent of the viewers replaced per minute (0)", "PCT"},
    {"latency", 'l', 0, G_OPTION_ARG_INT, &o->latency_ms,
        "Viewers' playout delay in ms (500, as p2psrc)", "MS"},
    {"max-peers", 'm', 0, G_OPTION_ARG_INT, &o->max_peers,
        "Viewers the origin serves directly (4)", "N"},
    {"segment-duration", 's', 0, G_OPTION_ARG_INT, &o->segment_ms,
        "Origin's target segment duration in ms (200)", "MS"},
    {"join-interval", 0, 0, G_OPTION_ARG_INT, &o->join_interval_ms,
        "Milliseconds between two viewers joining at the start (200)", "MS"},
    {"json", 'j', 0, G_OPTION_ARG_FILENAME, &o->json_path,
        "Write the figures as JSON", "FILE"},
    {"plot", 'p', 0, G_OPTION_ARG_FILENAME, &o->plot_path,
        "Draw offload, continuity and latency as SVG", "FILE.svg"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o->quiet,
        "Print only the final summary (no progress line)", NULL},
    {"loss", 0, 0, G_OPTION_ARG_DOUBLE, &o->loss_pct,
        "Random loss each way on every path (0)", "PCT"},
    {NULL}
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
}

gboolean
bench_options_check_swarm (const BenchOptions * o, GError ** error)
{
  if (o->viewers < 1 || o->bitrate_kbps < 10 || o->duration_s < 1
      || o->churn_pct < 0 || o->latency_ms < 0 || o->max_peers < 1
      || o->segment_ms < 1 || o->join_interval_ms < 0 || o->loss_pct < 0
      || o->loss_pct >= 100 || o->rtt_ms < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "out of range: --viewers ≥ 1, --bitrate ≥ 10, --duration ≥ 1, "
        "--max-peers ≥ 1, --segment-duration ≥ 1, --loss below 100, "
        "--churn, --latency, --join-interval and --rtt ≥ 0");
    return FALSE;
  }
  if (o->plot_path && !g_str_has_suffix (o->plot_path, ".svg")) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--plot draws SVG: give a FILE.svg");
    return FALSE;
  }
  return TRUE;
}

/* p2p-sim: what a run came to — p2p-bench's figures and JSON keys
 * (bench-results.c) from the simulated viewers, plus what only a
 * simulation knows: each viewer's place in the tree the stream took, its
 * share of the viewers' upload, and what the simulation cost.
 *
 * Figures a simulation cannot give are null: CPU time and memory per
 * peer (every peer runs in one process), and the CPU time of signature
 * checks (most are answered by a shared cache, see "crypto").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <math.h>

#define CRYPTO_NOTE "real Ed25519: the origin signs every segment and " \
  "every EDGE; each viewer checks each one, the first check of a signature " \
  "in each shard of the simulation in full and the others against the " \
  "cache of verified signatures of the identity its viewers share (a " \
  "SHA-256 of the signed bytes). DTLS not run: each link's keying material comes from a secret " \
  "both ends share in memory. The tracker's WebSocket is an in-memory pipe."

typedef struct {
  Sim *sim;
  GArray *depth;                 /* gdouble per viewer id, NAN = none */
  GArray *fed_by;                /* gint per viewer id: its top sender, -1 */
  gdouble upload_total;
} Results;

/* Each viewer's tree depth: the hops its segments took from the origin,
 * in the mean (each segment's hops are one more than those of the partner
 * that completed it, the origin's being 0: sim_note_segment_path).  And
 * who fed it the most stream bytes.  In a mesh that is no parent: two
 * viewers often feed each other the most, and the chain of top feeders
 * runs in a circle; hence the hops of each segment. */
static void
compute_tree (Sim * sim, Results * r)
{
  guint n = sim->paths->len, i, j;

  g_array_set_size (r->depth, n);
  g_array_set_size (r->fed_by, n);
  for (i = 1; i < n; i++) {
    SimPath *path = &g_array_index (sim->paths, SimPath, i);
    GArray *fed = g_ptr_array_index (sim->fed, i);
    guint64 top_bytes = 0;
    gint top = -1;

    for (j = 0; j < fed->len; j++) {
      SimFed *f = &g_array_index (fed, SimFed, j);

      if (f->bytes > top_bytes) {
        top = f->from;
        top_bytes = f->bytes;
      }
    }
    g_array_index (r->fed_by, gint, i) = top;
    g_array_index (r->depth, gdouble, i) = path->segments ?
        (gdouble) path->hops_sum / path->segments : NAN;
  }
}

static void
add_network_json (const BenchRun * run, JsonBuilder * b)
{
  Results *r = run->tool_data;
  const SimOptions *o = r->sim->opts;

  json_builder_set_member_name (b, "network");
  json_builder_begin_object (b);
  bench_json_add_int (b, "rtt_ms_median", o->bench.rtt_ms);
  bench_json_add_num (b, "rtt_lognormal_sigma", SIM_RTT_SIGMA);
  bench_json_add_num (b, "loss_pct", o->bench.loss_pct);
  bench_json_add_num (b, "slow_upload_pct", o->slow_upload_pct);
  bench_json_add_int (b, "slow_upload_kbps", MAX (o->bench.bitrate_kbps / 2, 1));
  bench_json_add_int (b, "upload_kbps", o->upload_kbps);
  bench_json_add_num (b, "relayed_pct", o->relayed_pct);
  bench_json_add_int (b, "relay_delay_ms", SIM_RELAY_DELAY_MS);
  bench_json_add_num (b, "join_window_s", o->join_window_s >= 0 ?
      o->join_window_s : NAN);
  bench_json_add_int (b, "join_interval_ms", o->join_window_s >= 0 ? 0 :
      o->bench.join_interval_ms);
  bench_json_add_int (b, "tracker_delay_ms",
      sim_network_tracker_delay_ms (r->sim->network));
  bench_json_add_int (b, "seed", o->seed);
  json_builder_end_object (b);
}

static void
add_viewer_json (const BenchRun * run, const BenchPeer * v, JsonBuilder * b)
{
  Results *r = run->tool_data;
  gint fed_by = g_array_index (r->fed_by, gint, v->id);
  SwarmMemoryHostConfig net;

  sim_network_host_config (r->sim->network, v->id, &net);
  bench_json_add_num (b, "tree_depth", g_array_index (r->depth, gdouble,
          v->id));
  /* its top feeder: 0 the origin, else a viewer's id */
  json_builder_set_member_name (b, "fed_by");
  if (fed_by < 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, fed_by);
  bench_json_add_num (b, "upload_share", r->upload_total > 0 ?
      v->bytes_sent / r->upload_total : NAN);
  bench_json_add_int (b, "access_delay_ms", net.delay_ms);
  json_builder_set_member_name (b, "slow_upload");
  json_builder_add_boolean_value (b, net.upload_kbps > 0
      && net.upload_kbps == (guint) MAX (r->sim->opts->bench.bitrate_kbps / 2, 1));
  json_builder_set_member_name (b, "relayed");
  json_builder_add_boolean_value (b, net.relayed);
}

void
sim_results_prepare (Sim * sim, BenchFigures * f)
{
  BenchRun *run = sim->run;
  Results *r = g_new0 (Results, 1);
  guint i;

  r->sim = sim;
  r->depth = g_array_new (FALSE, TRUE, sizeof (gdouble));
  r->fed_by = g_array_new (FALSE, TRUE, sizeof (gint));
  compute_tree (sim, r);
  for (i = 0; i < run->viewers->len; i++)
    r->upload_total += ((BenchPeer *) g_ptr_array_index (run->viewers,
            i))->bytes_sent;
  run->tool_data = r;
  run->add_run_json = add_network_json;
  run->add_viewer_json = add_viewer_json;
  bench_figures_compute (run, f);
  /* one process for all: no figure per peer */
  f->cpu_s = f->cpu_s_per_mbit = f->rss_mb_max = NAN;
  f->verify_us_per_segment = f->verify_ms_per_mbit = NAN;
}

void
sim_results_clear (Sim * sim)
{
  Results *r = sim->run->tool_data;

  if (!r)
    return;
  g_array_unref (r->depth);
  g_array_unref (r->fed_by);
  g_free (r);
  sim->run->tool_data = NULL;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

/* Tree depths over the viewers that received anything: mean, p95, max
 * (of the viewers' means), the most hops any segment took;
 * and how many had the origin as their top feeder. */
static void
add_tree (JsonBuilder * b, const BenchRun * run)
{
  Results *r = run->tool_data;
  GArray *known = g_array_new (FALSE, FALSE, sizeof (gdouble));
  guint i, from_origin = 0;
  gdouble sum = 0;

  for (i = 1; i < r->depth->len; i++) {
    gdouble d = g_array_index (r->depth, gdouble, i);

    if (isnan (d))
      continue;
    g_array_append_val (known, d);
    sum += d;
    from_origin += g_array_index (r->fed_by, gint, i) == 0;
  }
  g_array_sort (known, compare_doubles);
  bench_json_add_num (b, "tree_depth_mean", known->len ? sum / known->len :
      NAN);
  bench_json_add_num (b, "tree_depth_p95", known->len ?
      g_array_index (known, gdouble, MAX ((guint) ceil (0.95 * known->len),
              1) - 1) : NAN);
  bench_json_add_num (b, "tree_depth_max", known->len ?
      g_array_index (known, gdouble, known->len - 1) : NAN);
  {
    guint most = 0;

    for (i = 1; i < r->sim->paths->len; i++)
      most = MAX (most, g_array_index (r->sim->paths, SimPath, i).hops_max);
    /* the longest path any segment took */
    bench_json_add_int (b, "segment_hops_max", most);
  }
  bench_json_add_int (b, "viewers_fed_most_by_origin", from_origin);
  g_array_unref (known);
}

/* What the net carried, by message: where a big swarm's events go. */
static void
add_by_type (JsonBuilder * b, const SwarmMemoryNetStats * net)
{
  static const gchar *const names[SWARM_MEMORY_NET_TYPES] = {
    [0] = "other",[SWARM_MSG_HELLO] = "hello",[SWARM_MSG_HAVE] = "have",
    [SWARM_MSG_REQUEST] = "request",[SWARM_MSG_DATA] = "data",
    [SWARM_MSG_ACK] = "ack",[SWARM_MSG_ABSENT] = "absent",
    [SWARM_MSG_PING] = "ping",[SWARM_MSG_PONG] = "pong",
    [SWARM_MSG_BYE] = "bye",[SWARM_MSG_PEX] = "pex",
    [SWARM_MSG_SIGNAL] = "signal",[SWARM_MSG_CANCEL] = "cancel",
    [SWARM_MSG_PARITY] = "parity",[SWARM_MSG_EDGE] = "edge",
    [SWARM_MSG_BUSY] = "busy",
  };
  guint t;

  json_builder_set_member_name (b, "delivered_by_message");
  json_builder_begin_object (b);
  for (t = 0; t < SWARM_MEMORY_NET_TYPES; t++)
    if (names[t])
      bench_json_add_int (b, names[t], net->delivered_by_type[t]);
  json_builder_end_object (b);
}

static void
add_sim (JsonBuilder * b, Sim * sim, const SimCost * cost)
{
  /* all of it, the origin's head start included */
  gdouble minutes = (sim->run->stop_us - sim->begin_us) / 60e6;

  json_builder_set_member_name (b, "sim");
  json_builder_begin_object (b);
  bench_json_add_int (b, "seed", sim->opts->seed);
  bench_json_add_int (b, "events", cost->events);
  bench_json_add_num (b, "events_per_simulated_minute", minutes > 0 ?
      round (cost->events / minutes) : NAN);
  bench_json_add_int (b, "datagrams", cost->net.datagrams);
  bench_json_add_int (b, "datagrams_lost", cost->net.lost);
  bench_json_add_int (b, "datagrams_queue_drops", cost->net.queue_drops);
  add_by_type (b, &cost->net);
  add_tree (b, sim->run);
  /* the participants' parts, each on its own clock, and the windows they
   * ran through (the same run however many threads ran them) */
  bench_json_add_int (b, "shards", sim->n_shards);
  bench_json_add_int (b, "windows", sim->windows);
  json_builder_set_member_name (b, "crypto");
  json_builder_add_string_value (b, CRYPTO_NOTE);
  /* what varies from run to run or with the machine, last */
  bench_json_add_int (b, "threads", sim_pool_threads (sim));
  bench_json_add_num (b, "wall_seconds", cost->wall_s);
  bench_json_add_int (b, "peak_rss_kb", cost->peak_rss_kb);
  json_builder_end_object (b);
}

gboolean
sim_results_write_json (Sim * sim, const BenchFigures * f,
    const SimCost * cost, const gchar * path, GError ** error)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;
  gboolean ok;

  json_builder_begin_object (b);
  bench_figures_to_json (f, sim->run, b);
  add_sim (b, sim, cost);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  ok = json_generator_to_file (gen, path, error);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return ok;
}

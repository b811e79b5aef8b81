/* p2p-bench: from what the children reported to the figures of a run, and
 * those figures as JSON.  Shared with p2p-sim (tools/sim), which fills a
 * BenchRun from its simulated viewers: what only one tool knows (the NAT
 * lab's sites, the simulator's tree depths) comes in through the run's
 * JSON hooks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <math.h>
#include <string.h>

#define add_num bench_json_add_num
#define add_int bench_json_add_int

const gchar *
bench_mode_name (BenchMode mode)
{
  return mode == BENCH_MODE_TCP ? "tcp" : "p2p";
}

gboolean
bench_mode_parse (const gchar * name, BenchMode * mode)
{
  if (!g_strcmp0 (name, "p2p"))
    *mode = BENCH_MODE_P2P;
  else if (!g_strcmp0 (name, "tcp"))
    *mode = BENCH_MODE_TCP;
  else
    return FALSE;
  return TRUE;
}

/* A counter of a p2p-stats structure, whatever its integer type.  Stats
 * fields come and go as the elements grow: absent reads as 0. */
guint64
bench_stats_u64 (const GstStructure * s, const gchar * field)
{
  const GValue *v = s ? gst_structure_get_value (s, field) : NULL;

  if (!v)
    return 0;
  if (G_VALUE_HOLDS_UINT64 (v))
    return g_value_get_uint64 (v);
  if (G_VALUE_HOLDS_INT64 (v))
    return MAX (g_value_get_int64 (v), 0);
  if (G_VALUE_HOLDS_UINT (v))
    return g_value_get_uint (v);
  if (G_VALUE_HOLDS_INT (v))
    return MAX (g_value_get_int (v), 0);
  return 0;
}

void
bench_peer_free (gpointer data)
{
  BenchPeer *p = data;

  g_clear_object (&p->proc);
  g_free (p->error);
  g_free (p);
}

BenchRun *
bench_run_new (const BenchOptions * opts, BenchMode mode)
{
  BenchRun *run = g_new0 (BenchRun, 1);

  run->mode = mode;
  run->opts = opts;
  run->viewers = g_ptr_array_new_with_free_func (bench_peer_free);
  run->lat_hist = g_new0 (guint64, BENCH_LAT_BINS);
  run->samples = g_array_new (FALSE, TRUE, sizeof (BenchSample));
  run->churn = g_array_new (FALSE, TRUE, sizeof (BenchChurn));
  return run;
}

void
bench_run_free (BenchRun * run)
{
  if (!run)
    return;
  g_ptr_array_unref (run->viewers);
  if (run->origin)
    bench_peer_free (run->origin);
  g_free (run->lat_hist);
  g_free (run->uri);
  g_array_unref (run->samples);
  g_array_unref (run->churn);
  g_free (run->failure);
  g_free (run);
}

/* A viewer that played nothing for this long is a failure (continuity 0);
 * one replaced sooner is left out. */
#define NEVER_PLAYED_S 5

gdouble
bench_hist_percentile (const guint64 * hist, gdouble p)
{
  guint64 total = 0, rank, seen = 0;
  guint i;

  for (i = 0; i < BENCH_LAT_BINS; i++)
    total += hist[i];
  if (!total)
    return NAN;
  rank = MAX ((guint64) ceil (p * total), 1);
  for (i = 0; i < BENCH_LAT_BINS; i++) {
    seen += hist[i];
    if (seen >= rank)
      return i;
  }
  return BENCH_LAT_BINS - 1;
}

/* < 0: not counted (replaced before it could have played) */
gdouble
bench_peer_continuity (const BenchPeer * v, gint64 now_us)
{
  gint64 end = v->end_us ? v->end_us : now_us;

  if (v->expected > 0)
    return MIN ((gdouble) v->on_time / v->expected, 1.0);
  return end - v->spawn_us > NEVER_PLAYED_S * G_USEC_PER_SEC ? 0 : -1;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
array_percentile (GArray * values, gdouble p)
{
  guint rank;

  if (!values->len)
    return NAN;
  g_array_sort (values, compare_doubles);
  rank = MAX ((guint) ceil (p * values->len), 1);
  return g_array_index (values, gdouble, rank - 1);
}

void
bench_figures_compute (const BenchRun * run, BenchFigures * f)
{
  GArray *startup = g_array_new (FALSE, FALSE, sizeof (gdouble));
  gdouble cont_sum = 0, delivered_bytes = 0;
  guint64 verified_bytes = 0, verify_us = 0;
  guint64 stream, sent;
  gint counted = 0;
  guint i;

  memset (f, 0, sizeof (*f));
  f->mode = run->mode;
  f->viewers = run->opts->viewers;
  f->viewers_started = run->viewers->len;
  f->duration_s = run->stop_us > run->start_us ?
      (run->stop_us - run->start_us) / 1e6 : 0;
  f->continuity_min = NAN;
  f->cpu_s = run->origin ? run->origin->cpu_s : 0;
  f->rss_mb_max = run->origin ? run->origin->rss_kb / 1024.0 : 0;

  for (i = 0; i < run->viewers->len; i++) {
    const BenchPeer *v = g_ptr_array_index (run->viewers, i);
    gdouble c = bench_peer_continuity (v, run->stop_us);

    if (c >= 0) {
      cont_sum += c;
      counted++;
      f->continuity_min = isnan (f->continuity_min) ? c :
          MIN (f->continuity_min, c);
    }
    if (v->first_us > 0) {
      gdouble ms = (v->first_us - v->spawn_us) / 1000.0;

      g_array_append_val (startup, ms);
    } else {
      f->viewers_never_played++;
      if (!v->killed && run->stop_us - v->spawn_us >=
          BENCH_JOIN_GRACE_S * G_USEC_PER_SEC)
        f->viewers_failed_to_play++;
    }
    if (v->error && !v->killed)
      f->errors++;
    f->viewers_bytes_received += v->bytes_received;
    f->viewers_bytes_wasted += v->bytes_wasted;
    f->gaps += v->gaps;
    f->late += v->late;
    f->corrupt += v->corrupt;
    f->segments_missed += v->segments_missed;
    f->segments_verified += v->segments_verified;
    verified_bytes += v->bytes_verified;
    verify_us += v->verify_us;
    delivered_bytes += v->bytes;
    f->cpu_s += v->cpu_s;
    f->rss_mb_max = MAX (f->rss_mb_max, v->rss_kb / 1024.0);
  }
  f->continuity_mean = counted ? cont_sum / counted : NAN;
  f->startup_ms_p50 = array_percentile (startup, 0.50);
  f->startup_ms_p95 = array_percentile (startup, 0.95);
  f->latency_ms_p50 = bench_hist_percentile (run->lat_hist, 0.50);
  f->latency_ms_p99 = bench_hist_percentile (run->lat_hist, 0.99);

  sent = run->origin_sent_at_stop - MIN (run->origin_sent_at_start,
      run->origin_sent_at_stop);
  stream = run->stream_at_stop - MIN (run->stream_at_start,
      run->stream_at_stop);
  f->origin_bytes_sent = sent;
  f->stream_bytes = stream;
  f->origin_upload_copies = stream ? (gdouble) sent / stream : NAN;
  f->offload = f->viewers_bytes_received ?
      1.0 - (gdouble) sent / f->viewers_bytes_received : NAN;
  f->delivered_mbit = delivered_bytes * 8 / 1e6;
  f->cpu_s_per_mbit = f->delivered_mbit > 0 ? f->cpu_s / f->delivered_mbit :
      NAN;
  f->verify_us_per_segment = f->segments_verified ?
      (gdouble) verify_us / f->segments_verified : NAN;
  f->verify_ms_per_mbit = verified_bytes ?
      (verify_us / 1000.0) / (verified_bytes * 8 / 1e6) : NAN;
  g_array_unref (startup);
}

void
bench_json_add_num (JsonBuilder * b, const gchar * name, gdouble value)
{
  json_builder_set_member_name (b, name);
  if (isnan (value))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, round (value * 10000) / 10000);
}

void
bench_json_add_int (JsonBuilder * b, const gchar * name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_viewers (JsonBuilder * b, const BenchRun * run)
{
  guint i;

  json_builder_set_member_name (b, "per_viewer");
  json_builder_begin_array (b);
  for (i = 0; i < run->viewers->len; i++) {
    const BenchPeer *v = g_ptr_array_index (run->viewers, i);

    json_builder_begin_object (b);
    add_int (b, "id", v->id);
    if (run->add_viewer_json)
      run->add_viewer_json (run, v, b);
    /* when it joined, after the first viewer: early misses of late
     * joiners are told from the swarm's own */
    add_num (b, "joined_s", (v->spawn_us - run->start_us) / 1e6);
    add_num (b, "startup_ms", v->first_us > 0 ?
        (v->first_us - v->spawn_us) / 1000.0 : NAN);
    add_num (b, "continuity", bench_peer_continuity (v, run->stop_us) < 0 ?
        NAN : bench_peer_continuity (v, run->stop_us));
    add_num (b, "latency_ms_mean", v->lat_count ?
        v->lat_sum_ms / v->lat_count : NAN);
    add_int (b, "rendered", v->rendered);
    add_int (b, "expected", v->expected);
    add_int (b, "gaps", v->gaps);
    add_int (b, "late", v->late);
    add_int (b, "corrupt", v->corrupt);
    add_int (b, "segments_missed", v->segments_missed);
    add_int (b, "bytes_received", v->bytes_received);
    add_int (b, "bytes_from_origin", v->bytes_from_origin);
    add_int (b, "bytes_from_peers", v->bytes_from_peers);
    add_int (b, "bytes_wasted", v->bytes_wasted);
    add_int (b, "requests_resent", v->requests_resent);
    add_int (b, "transfers_rescued", v->transfers_rescued);
    add_int (b, "requests_refused_busy", v->requests_refused_busy);
    add_int (b, "bytes_sent", v->bytes_sent);
    add_num (b, "cpu_s", v->cpu_s);
    /* unknown (a viewer killed before we read it, a simulated one): null */
    add_num (b, "rss_mb", v->rss_kb ? v->rss_kb / 1024.0 : NAN);
    json_builder_set_member_name (b, "killed");
    json_builder_add_boolean_value (b, v->killed);
    if (v->error) {
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, v->error);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
add_series (JsonBuilder * b, const BenchRun * run)
{
  guint i;

  json_builder_set_member_name (b, "timeline");
  json_builder_begin_array (b);
  for (i = 0; i < run->samples->len; i++) {
    const BenchSample *s = &g_array_index (run->samples, BenchSample, i);

    json_builder_begin_object (b);
    add_num (b, "t", s->t);
    add_int (b, "alive", s->alive);
    add_num (b, "offload", s->offload < 0 ? NAN : s->offload);
    add_num (b, "continuity", s->continuity < 0 ? NAN : s->continuity);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "churn");
  json_builder_begin_array (b);
  for (i = 0; i < run->churn->len; i++) {
    const BenchChurn *c = &g_array_index (run->churn, BenchChurn, i);

    json_builder_begin_object (b);
    add_num (b, "t", c->t);
    add_int (b, "killed", c->killed);
    add_int (b, "started", c->started);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  /* [ms, count] for every non-empty 1 ms bin */
  json_builder_set_member_name (b, "latency_histogram_ms");
  json_builder_begin_array (b);
  for (i = 0; i < BENCH_LAT_BINS; i++) {
    if (!run->lat_hist[i])
      continue;
    json_builder_begin_array (b);
    json_builder_add_int_value (b, i);
    json_builder_add_int_value (b, run->lat_hist[i]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
}

/* The members of one run's object (the caller opens and closes it). */
void
bench_figures_to_json (const BenchFigures * f, const BenchRun * run,
    JsonBuilder * b)
{
  const BenchOptions *o = run->opts;

  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b, bench_mode_name (f->mode));
  add_int (b, "viewers", f->viewers);
  add_int (b, "bitrate_kbps", o->bitrate_kbps);
  add_num (b, "duration_s", f->duration_s);
  add_num (b, "origin_upload_copies", f->origin_upload_copies);
  add_num (b, "offload", f->offload);
  add_num (b, "continuity_mean", f->continuity_mean);
  add_num (b, "continuity_min", f->continuity_min);
  add_num (b, "startup_ms_p50", f->startup_ms_p50);
  add_num (b, "startup_ms_p95", f->startup_ms_p95);
  add_num (b, "latency_ms_p50", f->latency_ms_p50);
  add_num (b, "latency_ms_p99", f->latency_ms_p99);
  add_num (b, "cpu_s_per_mbit", f->cpu_s_per_mbit);
  add_num (b, "rss_mb_max", f->rss_mb_max);
  add_int (b, "segments_verified", f->segments_verified);
  add_num (b, "verify_us_per_segment", f->verify_us_per_segment);
  add_num (b, "verify_ms_per_mbit", f->verify_ms_per_mbit);
  add_num (b, "cpu_s_total", f->cpu_s);
  add_num (b, "delivered_mbit", f->delivered_mbit);
  add_int (b, "origin_bytes_sent", f->origin_bytes_sent);
  add_int (b, "stream_bytes", f->stream_bytes);
  add_int (b, "viewers_bytes_received", f->viewers_bytes_received);
  add_int (b, "viewers_bytes_wasted", f->viewers_bytes_wasted);
  add_int (b, "viewers_started", f->viewers_started);
  add_int (b, "viewers_never_played", f->viewers_never_played);
  add_int (b, "viewers_failed_to_play", f->viewers_failed_to_play);
  add_int (b, "viewer_errors", f->errors);
  add_int (b, "churn_events", run->churn->len);
  add_num (b, "churn_pct_per_min", o->churn_pct);
  add_int (b, "buffers_gaps", f->gaps);
  add_int (b, "buffers_late", f->late);
  add_int (b, "buffers_corrupt", f->corrupt);
  add_int (b, "segments_missed", f->segments_missed);
  add_int (b, "latency_setting_ms", o->latency_ms);
  add_int (b, "max_peers", o->max_peers);
  add_int (b, "segment_duration_ms", o->segment_ms);
  if (run->add_run_json)
    run->add_run_json (run, b);
  add_series (b, run);
  add_viewers (b, run);
}

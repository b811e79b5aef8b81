/* p2p-bench: what a person watches — the per-viewer table, the progress
 * line and the final summary
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <math.h>

static const gchar *
peer_state (const BenchPeer * p)
{
  if (p->killed)
    return "killed";
  if (p->error)
    return "error";
  if (!p->alive)
    return "done";
  return p->first_us ? "live" : "joining";
}

void
bench_output_table (const BenchRun * run, gboolean final)
{
  const BenchPeer *o = run->origin;
  gint64 now = run->stop_us ? run->stop_us : g_get_monotonic_time ();
  guint i;

  g_print ("\n%s %s, t=%.1f s: origin %u peers, sent %.2f MB, "
      "%" G_GUINT64_FORMAT " buffers, %" G_GUINT64_FORMAT " segments\n",
      bench_mode_name (run->mode), final ? "final" : "running",
      run->start_us ? (now - run->start_us) / 1e6 : 0.0, o->peers,
      o->bytes_sent / 1e6, o->pushed, o->segments_published);
  g_print ("%4s %-7s %5s %7s %8s %5s %5s %5s %8s %7s %8s %8s %8s %8s\n",
      "id", "state", "peers", "played", "cont", "late", "gaps", "segmi",
      "start ms", "lat ms", "recv MB", "orig MB", "peers MB", "sent MB");
  for (i = 0; i < run->viewers->len; i++) {
    const BenchPeer *v = g_ptr_array_index (run->viewers, i);
    gdouble cont = bench_peer_continuity (v, now);

    if (!final && !v->alive && !v->killed && !v->error)
      continue;
    g_print ("%4d %-7s %5u %7" G_GUINT64_FORMAT " %8.4f %5" G_GUINT64_FORMAT
        " %5" G_GUINT64_FORMAT " %5" G_GUINT64_FORMAT " %8.0f %7.0f %8.2f %8.2f"
        " %8.2f %8.2f\n", v->id, peer_state (v), v->peers, v->rendered,
        cont < 0 ? NAN : cont, v->late, v->gaps, v->segments_missed,
        v->first_us ? (v->first_us - v->spawn_us) / 1000.0 : NAN,
        v->lat_count ? v->lat_sum_ms / v->lat_count : NAN,
        v->bytes_received / 1e6, v->bytes_from_origin / 1e6,
        v->bytes_from_peers / 1e6, v->bytes_sent / 1e6);
  }
}

void
bench_output_progress (const BenchRun * run, gboolean tty)
{
  const BenchSample *s = run->samples->len ?
      &g_array_index (run->samples, BenchSample, run->samples->len - 1) : NULL;
  guint64 on_time = 0, expected = 0;
  guint i;

  for (i = 0; i < run->viewers->len; i++) {
    const BenchPeer *v = g_ptr_array_index (run->viewers, i);

    on_time += v->on_time;
    expected += v->expected;
  }
  g_print ("[%5.1f/%d s] %s: %u/%d viewers playing, offload %.3f, "
      "continuity %.4f, latency p50 %.0f ms, %u churn events\n",
      s ? s->t : 0.0, run->opts->duration_s, bench_mode_name (run->mode),
      s ? s->alive : 0, run->opts->viewers,
      s && s->offload >= 0 ? s->offload : NAN,
      expected ? MIN ((gdouble) on_time / expected, 1.0) : NAN,
      bench_hist_percentile (run->lat_hist, 0.5), run->churn->len);
}

void
bench_output_summary (const BenchFigures * f)
{
  g_print ("\n%s: %d viewers (%d started, %d never played, %d of them "
      "failed to, %d errors), %.1f s\n", bench_mode_name (f->mode),
      f->viewers, f->viewers_started, f->viewers_never_played,
      f->viewers_failed_to_play, f->errors, f->duration_s);
  g_print ("  origin upload   %.3f copies of the stream, offload %.3f\n",
      f->origin_upload_copies, f->offload);
  g_print ("  continuity      mean %.4f, min %.4f (%" G_GUINT64_FORMAT
      " buffers missing, %" G_GUINT64_FORMAT " late, %" G_GUINT64_FORMAT
      " corrupt)\n", f->continuity_mean, f->continuity_min, f->gaps, f->late,
      f->corrupt);
  g_print ("  startup         p50 %.0f ms, p95 %.0f ms\n", f->startup_ms_p50,
      f->startup_ms_p95);
  g_print ("  latency         p50 %.0f ms, p99 %.0f ms (glass to glass)\n",
      f->latency_ms_p50, f->latency_ms_p99);
  /* a simulation runs every peer in one process: no CPU per peer */
  if (!isnan (f->cpu_s))
    g_print ("  cost            %.2f CPU s for %.1f Mbit delivered = %.4f CPU "
        "s/Mbit, max RSS %.1f MB\n", f->cpu_s, f->delivered_mbit,
        f->cpu_s_per_mbit, f->rss_mb_max);
  if (f->segments_verified && !isnan (f->verify_us_per_segment))
    g_print ("  verification    %.0f us CPU per segment, %.3f ms per Mbit "
        "(%" G_GUINT64_FORMAT " signatures checked)\n",
        f->verify_us_per_segment, f->verify_ms_per_mbit,
        f->segments_verified);
}

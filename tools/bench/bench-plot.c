/* p2p-bench: the results drawn as SVG — offload and continuity over time,
 * and the glass-to-glass latency distribution (the TCP baseline, when there
 * is one, dashed and in orange)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <math.h>

#define W 900
#define H 720
#define LEFT 70
#define RIGHT 860
#define TOP_A 60
#define BOTTOM_A 320
#define TOP_B 420
#define BOTTOM_B 660
#define HIST_BARS 60

static void
axes (GString * svg, gint top, gint bottom, const gchar * title,
    const gchar * xlabel)
{
  g_string_append_printf (svg, "<text x='%d' y='%d' font-size='16'>%s</text>\n"
      "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#444'/>\n"
      "<text x='%d' y='%d' text-anchor='middle'>%s</text>\n", LEFT, top - 12,
      title, LEFT, top, RIGHT - LEFT, bottom - top, (LEFT + RIGHT) / 2,
      bottom + 34, xlabel);
}

static void
series (GString * svg, const BenchRun * run, gdouble t_max, gboolean offload,
    const gchar * colour, gboolean dashed)
{
  gboolean pen_down = FALSE;
  guint i;

  g_string_append_printf (svg, "<path fill='none' stroke='%s' "
      "stroke-width='2'%s d='", colour,
      dashed ? " stroke-dasharray='6,4'" : "");
  for (i = 0; i < run->samples->len; i++) {
    const BenchSample *s = &g_array_index (run->samples, BenchSample, i);
    gdouble v = offload ? s->offload : s->continuity;

    if (v < 0) {
      pen_down = FALSE;
      continue;
    }
    v = CLAMP (v, 0, 1);
    g_string_append_printf (svg, "%c%.1f,%.1f ", pen_down ? 'L' : 'M',
        LEFT + (RIGHT - LEFT) * s->t / t_max,
        BOTTOM_A - (BOTTOM_A - TOP_A) * v);
    pen_down = TRUE;
  }
  g_string_append (svg, "'/>\n");
}

static void
histogram (GString * svg, const BenchRun * run, gdouble bin_ms,
    gdouble peak, gint slot, gint slots, const gchar * colour)
{
  gdouble bar_w = (gdouble) (RIGHT - LEFT) / HIST_BARS;
  guint64 total = 0;
  gint bar;
  guint i;

  for (i = 0; i < BENCH_LAT_BINS; i++)
    total += run->lat_hist[i];
  if (!total)
    return;
  for (bar = 0; bar < HIST_BARS; bar++) {
    guint64 n = 0;
    guint from = bar * bin_ms, to = (bar + 1) * bin_ms;
    gdouble h;

    for (i = from; i < to && i < BENCH_LAT_BINS; i++)
      n += run->lat_hist[i];
    if (bar == HIST_BARS - 1)
      for (; i < BENCH_LAT_BINS; i++)
        n += run->lat_hist[i];
    h = (BOTTOM_B - TOP_B) * ((gdouble) n / total) / peak;
    if (n)
      g_string_append_printf (svg, "<rect x='%.1f' y='%.1f' width='%.1f' "
          "height='%.1f' fill='%s'/>\n", LEFT + bar * bar_w + slot * bar_w /
          slots, BOTTOM_B - h, bar_w / slots, h, colour);
  }
}

static gdouble
hist_peak (const BenchRun * run, gdouble bin_ms)
{
  guint64 total = 0, best = 0;
  gint bar;
  guint i;

  for (i = 0; i < BENCH_LAT_BINS; i++)
    total += run->lat_hist[i];
  for (bar = 0; bar < HIST_BARS; bar++) {
    guint64 n = 0;

    for (i = bar * bin_ms; i < (bar + 1) * bin_ms && i < BENCH_LAT_BINS; i++)
      n += run->lat_hist[i];
    best = MAX (best, n);
  }
  return total ? (gdouble) best / total : 0;
}

gboolean
bench_plot_svg (const gchar * path, const BenchRun * run,
    const BenchRun * baseline, GError ** error)
{
  GString *svg = g_string_new (NULL);
  gdouble t_max = MAX (run->opts->duration_s, 1);
  gdouble top_ms = bench_hist_percentile (run->lat_hist, 0.999);
  gdouble bin_ms, peak;
  gboolean ok;
  gint i;

  if (baseline && !isnan (bench_hist_percentile (baseline->lat_hist, 0.999)))
    top_ms = isnan (top_ms) ? bench_hist_percentile (baseline->lat_hist,
        0.999) : MAX (top_ms, bench_hist_percentile (baseline->lat_hist,
            0.999));
  if (isnan (top_ms))
    top_ms = 1000;
  bin_ms = MAX (ceil ((top_ms + 1) / HIST_BARS), 1);
  peak = hist_peak (run, bin_ms);
  if (baseline)
    peak = MAX (peak, hist_peak (baseline, bin_ms));
  if (peak <= 0)
    peak = 1;

  g_string_append_printf (svg, "<?xml version='1.0' encoding='UTF-8'?>\n"
      "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
      "font-family='sans-serif' font-size='12'>\n"
      "<rect width='100%%' height='100%%' fill='white'/>\n"
      "<text x='%d' y='24' font-size='18'>%s: %d viewers, %d kbit/s, "
      "%d s, churn %.0f%%/min</text>\n", W, H, LEFT,
      run->tool ? run->tool : "p2p-bench", run->opts->viewers,
      run->opts->bitrate_kbps, run->opts->duration_s, run->opts->churn_pct);

  axes (svg, TOP_A, BOTTOM_A, "offload (blue) and continuity (green) over "
      "the last 2 s", "seconds since the first viewer");
  for (i = 0; i <= 10; i += 2) {
    gint y = BOTTOM_A - (BOTTOM_A - TOP_A) * i / 10;

    g_string_append_printf (svg, "<line x1='%d' x2='%d' y1='%d' y2='%d' "
        "stroke='#ddd'/><text x='%d' y='%d' text-anchor='end'>%.1f</text>\n",
        LEFT, RIGHT, y, y, LEFT - 6, y + 4, i / 10.0);
  }
  for (i = 0; i <= 10; i++)
    g_string_append_printf (svg, "<text x='%.1f' y='%d' text-anchor='middle'>"
        "%.0f</text>\n", LEFT + (RIGHT - LEFT) * i / 10.0, BOTTOM_A + 16,
        t_max * i / 10);
  series (svg, run, t_max, TRUE, "#1f5fbf", FALSE);
  series (svg, run, t_max, FALSE, "#2a9d3a", FALSE);
  if (baseline) {
    series (svg, baseline, t_max, TRUE, "#e07b00", TRUE);
    series (svg, baseline, t_max, FALSE, "#c0392b", TRUE);
  }

  axes (svg, TOP_B, BOTTOM_B, baseline ? "glass-to-glass latency: p2p "
      "(blue), tcp baseline (orange)" : "glass-to-glass latency",
      "milliseconds (share of rendered buffers)");
  for (i = 0; i <= 10; i++)
    g_string_append_printf (svg, "<text x='%.1f' y='%d' text-anchor='middle'>"
        "%.0f</text>\n", LEFT + (RIGHT - LEFT) * i / 10.0, BOTTOM_B + 16,
        bin_ms * HIST_BARS * i / 10);
  g_string_append_printf (svg, "<text x='%d' y='%d' text-anchor='end'>"
      "%.0f%%</text>\n", LEFT - 6, TOP_B + 4, peak * 100);
  histogram (svg, run, bin_ms, peak, 0, baseline ? 2 : 1, "#1f5fbf");
  if (baseline)
    histogram (svg, baseline, bin_ms, peak, 1, 2, "#e07b00");
  g_string_append (svg, "</svg>\n");

  ok = g_file_set_contents (path, svg->str, svg->len, error);
  g_string_free (svg, TRUE);
  return ok;
}

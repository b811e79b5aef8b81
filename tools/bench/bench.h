/* p2p-bench: declarations shared by its files (see p2p-bench.c for the design)
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __BENCH_H__
#define __BENCH_H__

#include <gio/gio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The synthetic stream: 20 ms buffers, a keyframe every 25 of them. */
#define BENCH_BUFFER_MS 20
#define BENCH_KEYFRAME_EVERY 25
#define BENCH_CAPS_NAME "application/x-p2p-bench"
/* magic u32 | keyframe u32 | sequence u64 | origin wall clock (µs) i64 */
#define BENCH_HEADER_SIZE 24
/* A buffer rendered later than its due time by more than this is missed. */
#define BENCH_LATE_MS 100
/* Latency histogram: 1 ms bins up to 60 s, the last one holds anything
 * later (a joiner playing from an old segment can be seconds behind). */
#define BENCH_LAT_BINS 60001
/* How often children report. */
#define BENCH_REPORT_MS 500

typedef enum
{
  BENCH_MODE_P2P,
  BENCH_MODE_TCP,
} BenchMode;

typedef struct
{
  gint viewers;
  gint bitrate_kbps;
  gint duration_s;
  gdouble churn_pct;
  gint latency_ms;
  gint max_peers;
  gint segment_ms;
  gint join_interval_ms;
  gchar *json_path;
  gchar *plot_path;
  gchar *baseline;
  gchar *mode;
  gchar *logs_dir;
  gboolean quiet;
  /* the NAT lab (bench-lab.c) */
  gboolean lab;
  gchar *sites;
  gint viewers_per_site;
  gdouble loss_pct;
  gint rtt_ms;
  gint rate_kbps;
  /* child roles */
  gchar *role;
  gchar *uri;
  gint id;
  gint parent_pid;
  gchar *address;               /* origin: where p2psink listens */
  gchar *stun_server, *turn_server;     /* viewers */
} BenchOptions;

/* bench-options.c: what p2p-bench and p2p-sim share */
void bench_options_init (BenchOptions * o);
/* --viewers, --bitrate, --duration, --churn, --latency, --max-peers,
 * --segment-duration, --join-interval, --json, --plot, --quiet, --loss;
 * @simulated words --duration and --churn for p2p-sim */
void bench_options_add_swarm_entries (GOptionContext * ctx, BenchOptions * o,
    gboolean simulated);
gboolean bench_options_check_swarm (const BenchOptions * o, GError ** error);

const gchar *bench_mode_name (BenchMode mode);
gboolean bench_mode_parse (const gchar * name, BenchMode * mode);

/* bench-stream.c: the stream format */
gsize bench_stream_buffer_size (gint bitrate_kbps);
GstCaps *bench_stream_caps (gint bitrate_kbps);
GstBuffer *bench_stream_make_buffer (guint64 seq, gsize size);
/* with @stamp_us as the origin's wall clock (a simulated one) */
GstBuffer *bench_stream_make_buffer_stamped (guint64 seq, gsize size,
    gint64 stamp_us);
gboolean bench_stream_parse (GstBuffer * buf, guint64 * seq,
    gint64 * stamp_us);
/* Only the header: magic, sequence and stamp, not every filler byte. */
gboolean bench_stream_parse_header (GstBuffer * buf, guint64 * seq,
    gint64 * stamp_us);

/* bench-child.c: what every child process does */
void bench_child_init (gint parent_pid);
void bench_child_report (JsonBuilder * b);
void bench_child_add_usage (JsonBuilder * b);
gboolean bench_read_proc_usage (GPid pid, gdouble * cpu_s, guint64 * rss_kb);

/* bench-origin.c and bench-viewer.c: the child roles, return exit codes */
int bench_origin_main (const BenchOptions * opts, BenchMode mode);
int bench_viewer_main (const BenchOptions * opts, BenchMode mode);

/* bench-lab.c: the NAT lab the peers run in, with --lab */
typedef struct _BenchLab BenchLab;

gboolean bench_lab_wanted (const BenchOptions * opts);
BenchLab *bench_lab_new (const BenchOptions * opts, GError ** error);
void bench_lab_free (BenchLab * lab);
guint bench_lab_n_sites (const BenchLab * lab);
gint bench_lab_site_of (const BenchLab * lab, gint id);
const gchar *bench_lab_site_mode (const BenchLab * lab, gint site);
const gchar *bench_lab_origin_address (const BenchLab * lab);
const gchar *bench_lab_stun_uri (const BenchLab * lab);
const gchar *bench_lab_turn_uri (const BenchLab * lab);
void bench_lab_wrap_argv (const BenchLab * lab, gint id, GPtrArray * argv);

/* bench-run.c: one run (origin + viewers) driven by the controller */
typedef struct
{
  gint id;                      /* 0 = origin */
  GSubprocess *proc;
  GPid pid;
  gint64 spawn_us;              /* monotonic */
  gint64 end_us;
  gboolean alive;
  gboolean killed;              /* by churn */
  gboolean final;               /* sent its final report */
  gchar *error;
  /* from the latest report */
  gint64 first_us;              /* monotonic time of the first render, 0 = none */
  guint64 rendered, on_time, expected, gaps, late, corrupt, bytes;
  guint64 segments_missed;
  guint64 segments_verified, bytes_verified, verify_us;
  guint64 bytes_sent, bytes_received, bytes_from_origin, bytes_from_peers;
  guint64 bytes_wasted, requests_resent, transfers_rescued;
  guint64 requests_refused_busy;
  guint64 stream_bytes, pushed, segments_published;
  guint peers;
  gdouble lat_sum_ms;
  guint64 lat_count;
  gdouble cpu_s;
  guint64 rss_kb;
} BenchPeer;

typedef struct
{
  gdouble t;
  guint alive;
  gdouble offload;              /* < 0: nothing received in the interval */
  gdouble continuity;           /* < 0: nothing due in the interval */
} BenchSample;

typedef struct
{
  gdouble t;
  gint killed;
  gint started;
} BenchChurn;

typedef struct _BenchRun BenchRun;

struct _BenchRun
{
  BenchMode mode;
  const BenchOptions *opts;
  const BenchLab *lab;          /* NULL: on loopback */
  /* what only the tool that made the run knows, in its JSON (nullable):
   * members of the run's object after the settings, and of each viewer's
   * object after its id */
  void (*add_run_json) (const BenchRun * run, JsonBuilder * b);
  void (*add_viewer_json) (const BenchRun * run, const BenchPeer * v,
      JsonBuilder * b);
  gpointer tool_data;           /* for those hooks */
  const gchar *tool;            /* in titles; NULL = "p2p-bench" */
  BenchPeer *origin;
  GPtrArray *viewers;           /* BenchPeer */
  guint64 *lat_hist;            /* BENCH_LAT_BINS */
  gchar *uri;
  gint64 start_us;              /* first viewer spawned */
  gint64 stop_us;               /* viewers told to stop */
  guint64 origin_sent_at_start, stream_at_start;
  guint64 origin_sent_at_stop, stream_at_stop;
  GArray *samples;              /* BenchSample */
  GArray *churn;                /* BenchChurn */
  gboolean failed;
  gchar *failure;
  gboolean interrupted;
};

BenchRun *bench_run_execute (const BenchOptions * opts, BenchMode mode,
    const BenchLab * lab);
void bench_run_kill_all (void);
/* bench-lab.c: the lab in a run's JSON (BenchRun's hooks) */
void bench_lab_add_run_json (const BenchRun * run, JsonBuilder * b);
void bench_lab_add_viewer_json (const BenchRun * run, const BenchPeer * v,
    JsonBuilder * b);

/* bench-results.c: the figures of a run */
/* p2psrc's join-timeout: a viewer that joined less long before the stop
 * had not yet been given its chance to play */
#define BENCH_JOIN_GRACE_S 10
typedef struct
{
  BenchMode mode;
  gint viewers;
  gint viewers_started;
  gint viewers_never_played;
  /* never played though it stayed (not killed by churn) and had joined at
   * least BENCH_JOIN_GRACE_S before the stop: "every viewer plays" */
  gint viewers_failed_to_play;
  gdouble duration_s;
  gdouble origin_upload_copies;
  gdouble offload;
  gdouble continuity_mean, continuity_min;
  gdouble startup_ms_p50, startup_ms_p95;
  gdouble latency_ms_p50, latency_ms_p99;
  gdouble cpu_s, delivered_mbit, cpu_s_per_mbit;
  gdouble rss_mb_max;
  /* signature checks: CPU time per segment and per Mbit verified */
  guint64 segments_verified;
  gdouble verify_us_per_segment, verify_ms_per_mbit;
  guint64 origin_bytes_sent, stream_bytes;
  guint64 viewers_bytes_received;
  guint64 viewers_bytes_wasted;  /* of those, unwanted or duplicate */
  guint64 gaps, late, corrupt, segments_missed;
  gint errors;
} BenchFigures;

/* An empty run (bench-results.c, with the figures) */
BenchRun *bench_run_new (const BenchOptions * opts, BenchMode mode);
void bench_run_free (BenchRun * run);
void bench_peer_free (gpointer peer);
void bench_figures_compute (const BenchRun * run, BenchFigures * f);
gdouble bench_hist_percentile (const guint64 * hist, gdouble p);
guint64 bench_stats_u64 (const GstStructure * s, const gchar * field);
gdouble bench_peer_continuity (const BenchPeer * v, gint64 now_us);
void bench_figures_to_json (const BenchFigures * f, const BenchRun * run,
    JsonBuilder * b);
/* a member: a number rounded to 4 decimals (NaN: null), an integer */
void bench_json_add_num (JsonBuilder * b, const gchar * name, gdouble value);
void bench_json_add_int (JsonBuilder * b, const gchar * name, gint64 value);

/* bench-output.c: terminal table and progress line */
void bench_output_table (const BenchRun * run, gboolean final);
void bench_output_progress (const BenchRun * run, gboolean tty);
void bench_output_summary (const BenchFigures * f);

/* bench-plot.c: SVG */
gboolean bench_plot_svg (const gchar * path, const BenchRun * run,
    const BenchRun * baseline, GError ** error);

G_END_DECLS

#endif

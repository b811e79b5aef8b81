/* p2p-sim: declarations shared by its files (see p2p-sim.c for the design)
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <swarm/swarm-internal.h>
#include "bench.h"
#include "sim-coroutine.h"
#include "sim-feed.h"

G_BEGIN_DECLS

/* What p2psrc and p2psink do unless told otherwise. */
#define SIM_VIEWER_MAX_PEERS 8
#define SIM_JOIN_TIMEOUT_MS 10000
/* The spread of access delays: log-normal with this sigma, so that a
 * tenth of the paths have under 0.6 times the median RTT and a tenth over
 * 1.6 times (--rtt names the median). */
#define SIM_RTT_SIGMA 0.5
/* What a TURN relay adds each way for a viewer behind a symmetric NAT:
 * one more hop to a relay in the same region. */
#define SIM_RELAY_DELAY_MS 10

/* p2p-bench's options (bench-options.c: the same words and defaults) and
 * the network's */
typedef struct {
  BenchOptions bench;           /* rtt_ms: the median; loss_pct: each way */
  gdouble join_window_s;         /* < 0: one viewer every join_interval_ms */
  gboolean trace;                /* GStreamer's log on virtual time, named */
  gdouble slow_upload_pct;
  gdouble relayed_pct;
  gint upload_kbps;              /* every other viewer's upload; 0 = unlimited */
  guint32 seed;
  /* threads running the shards (1: in turn, on one); the shards, and so
   * the run, are the same however many */
  gint threads;
} SimOptions;

typedef struct _Sim Sim;
typedef struct _SimShard SimShard;
typedef struct _SimPool SimPool;

typedef struct {
  guint from;                    /* host index: 0 the origin, else a viewer id */
  guint64 bytes;
} SimFed;

/* The path segments took to one viewer: hops from the origin for its
 * recent segments (what a viewer it feeds looks up), and in all. */
#define SIM_PATH_RING 64
typedef struct {
  guint64 seq[SIM_PATH_RING];
  guint8 hops[SIM_PATH_RING];    /* 0: none there */
  guint64 hops_sum, segments;
  guint hops_max;
} SimPath;
typedef struct _SimViewer SimViewer;
typedef struct _SimOrigin SimOrigin;

/* sim-network.c: each host's place in the network model */
typedef struct _SimNetwork SimNetwork;

SimNetwork *sim_network_new (const SimOptions * opts);
void sim_network_free (SimNetwork * net);
/* The config of host @index (0 = the origin, 1… the viewers in the order
 * they join), the same for a seed whatever else happens. */
void sim_network_host_config (SimNetwork * net, guint index,
    SwarmMemoryHostConfig * config);
/* One way from the tracker to anyone (its pipe's delay). */
guint sim_network_tracker_delay_ms (SimNetwork * net);

/* sim-origin.c: the publisher, a real SwarmSession fed p2p-bench's stream
 * through the real segmenter */
SimOrigin *sim_origin_new (Sim * sim, GError ** error);
void sim_origin_stop_begin (SimOrigin * o);
gboolean sim_origin_is_stopped (SimOrigin * o);
void sim_origin_free (SimOrigin * o);
/* bytes-sent of its session's stats, and the stream's bytes so far */
void sim_origin_get_counts (SimOrigin * o, guint64 * bytes_sent,
    guint64 * stream_bytes);
SwarmMemoryHost *sim_origin_get_host (SimOrigin * o);
void sim_origin_fill_peer (SimOrigin * o, BenchPeer * peer);

/* sim-viewer.c: a viewer, its session and its player (p2psrc's policy
 * into a sink playing each buffer at its time) */
SimViewer *sim_viewer_new (Sim * sim, BenchPeer * peer, GError ** error);
/* Resumes its player if it is ready to go on; FALSE once it is done. */
void sim_viewer_run_player (SimViewer * v);
/* Measures it up to now and, with @crash, takes its machine down; then
 * stops its player and starts leaving the swarm. */
void sim_viewer_leave (SimViewer * v, gboolean crash);
gboolean sim_viewer_is_gone (SimViewer * v);
/* Whether it waits in the simulator's queue of players to run. */
gboolean sim_viewer_is_queued (SimViewer * v);
void sim_viewer_set_queued (SimViewer * v);
void sim_viewer_free (SimViewer * v);
/* What it rendered up to now into its BenchPeer (expected buffers
 * included); @final also reads its session's counters. */
void sim_viewer_measure (SimViewer * v, gboolean final);
gboolean sim_viewer_is_playing (SimViewer * v);
gboolean sim_viewer_failed (SimViewer * v);
SwarmMemoryHost *sim_viewer_get_host (SimViewer * v);
BenchPeer *sim_viewer_get_peer (SimViewer * v);

/* sim-run.c: the whole run on virtual time */

/* A part of the participants with a clock of its own, run by one thread
 * through windows of virtual time (docs/sim.md, "Two cores"): the origin
 * and the tracker are in shard 0, viewer i in shard i % shards. */
struct _SimShard {
  guint index;
  SwarmClock *clock;
  GMainContext *net_context;     /* the net's deliveries to this shard */
  SwarmIdentity *verifier;       /* its viewers' one verify-only identity */
  GQueue ready;                  /* SimViewer whose player may go on */
  guint64 events;                /* contexts' dispatch rounds */
  /* contexts called into from outside their iteration (sim_touch_context):
   * GLib iterates each once more */
  GHashTable *touched;
};

struct _Sim {
  const SimOptions *opts;
  BenchRun *run;
  /* the driver's (joins, churn, samples): with one shard, that shard's */
  SwarmClock *clock;
  SimShard *shards;
  guint n_shards;
  guint64 windows;               /* with several shards: barriers passed */
  gint64 window_end_us;          /* the current window's (excluded) */
  struct _SimPool *pool;         /* the threads running them */
  SimNetwork *network;
  SwarmMemoryNet *net;
  GMainContext *driver_context;  /* joins, churn, samples */
  SwarmTrackerServer *tracker;
  GMainContext *tracker_context;
  gchar *tracker_url;
  SwarmIdentity *publisher;      /* the origin's, with its private key */
  SimOrigin *origin;
  GPtrArray *viewers;            /* SimViewer, in the order they joined */
  /* per viewer id (index 0 unused): GArray of SimFed, who sent it the
   * stream, filled when it is measured for good */
  GPtrArray *fed;
  GArray *paths;                 /* SimPath per viewer id (0 unused) */
  GHashTable *ids_by_peer;       /* peer id -> GINT id (the origin's: 0) */
  /* what the origin published, by seq (a window of the newest): each
   * viewer's store keeps these bytes, not a copy of its own */
  GHashTable *published;
  GQueue published_order;        /* guint64* seq, oldest first */
  GMutex published_lock;         /* the origin's shard writes, all read */
  gint64 begin_us;               /* virtual: the origin starts */
  gint64 start_us;               /* virtual: the first viewer joins */
  GHashTable *trace_names;       /* --trace: object -> "O", "V12"; else NULL */
};

/* A new context for one participant: iterated only when one of its
 * timers is due (swarm_clock_next_timer), never polled. */
GMainContext *sim_context_new (void);
/* A segment stored by viewer @id, completed by @from_peer_id's chunk:
 * its hops, one more than its sender's. */
void sim_note_segment_path (Sim * sim, gint id, guint64 seq,
    const gchar * from_peer_id);
/* The origin published @bytes as segment @seq. */
void sim_note_published (Sim * sim, guint64 seq, GBytes * bytes);
/* A viewer's verified segment: the bytes to keep (a reference). */
GBytes *sim_intern_segment (guint64 seq, GBytes * bytes, gpointer sim);
/* From a feed's ready callback: run @v's player at the next turn. */
void sim_schedule_player (SimShard * shard, SimViewer * v);
void sim_touch_context (SimShard * shard, GMainContext * context);
/* The shard viewer @id (the origin: 0) runs in. */
SimShard *sim_shard_of (Sim * sim, gint id);
/* The clock of what runs on this thread now: a shard's within a window,
 * the driver's between them. */
SwarmClock *sim_current_clock (Sim * sim);
/* The threads running the shards. */
guint sim_pool_threads (Sim * sim);
/* All events dispatched, over the shards. */
guint64 sim_events (Sim * sim);

Sim *sim_new (const SimOptions * opts, BenchRun * run, GError ** error);
/* Runs to the end of --duration; FALSE with @error if the run failed. */
gboolean sim_run (Sim * sim, GError ** error);
void sim_free (Sim * sim);

/* sim-trace.c: --trace, GStreamer's debug log with virtual time and the
 * participants' names (docs/sim.md) */
void sim_trace_install (Sim * sim);
void sim_trace_uninstall (Sim * sim);
/* Lines logged for @object (a session) name viewer @id, or the origin
 * (0).  Nothing unless tracing. */
void sim_trace_name (Sim * sim, gpointer object, gint id);

/* sim-results.c: what the run came to, in p2p-bench's JSON and more */
typedef struct {
  guint64 events;
  gdouble wall_s;
  guint64 peak_rss_kb;
  SwarmMemoryNetStats net;
} SimCost;

/* The figures, and the run's JSON hooks; before sim_free (the network
 * knows who fed whom).  sim_results_clear() undoes it. */
void sim_results_prepare (Sim * sim, BenchFigures * f);
void sim_results_clear (Sim * sim);
gboolean sim_results_write_json (Sim * sim, const BenchFigures * f,
    const SimCost * cost, const gchar * path, GError ** error);

G_END_DECLS

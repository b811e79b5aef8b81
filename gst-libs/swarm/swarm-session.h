/* A swarm session: one publisher (origin) or one viewer taking part in a
 * swarm.  It owns a private network thread with its own GMainContext on
 * which every link, the tracker client, the embedded tracker and all
 * timers run; elements talk to it only through these thread-safe calls and
 * the callbacks below.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "swarm-prelude.h"
#include "swarm-identity.h"
#include "swarm-segment.h"
#include "swarm-scheduler.h"
#include "swarm-uri.h"
#include "swarm-peer-info.h"
#include "swarm-clock.h"

G_BEGIN_DECLS

/* A GObject (GstSwarm.Session from bindings).  Signals, emitted on the
 * session's network thread:
 *  - "peer-added" (SwarmPeerInfo *info): a partner's link is ready;
 *  - "peer-removed" (SwarmPeerInfo *info): that partner is gone (the same
 *    object, its "connected" now FALSE);
 *  - "error" (GError *): fatal, once; "warning" (GError *): being retried;
 *  - "stats-updated" (GstStructure *): every "stats-interval" ms.
 * The configuration is construct-only properties, one per field of
 * SwarmSessionConfig below ("role", "identity", "trackers",
 * "tracker-address", "tracker-port", "tracker-max-connections",
 * "tracker-max-connections-per-address", "tracker-connection-rate",
 * "max-peers", "stun", "turn",
 * "join-timeout", "stats-interval", "stats-name", "consume-only",
 * "upload-limit", "secret", "clock-tolerance", "clock", "network-context",
 * "link-factory", "scheduler"), plus "uri" (a viewer's p2p:// URI: fills
 * identity, trackers, secret, STUN and TURN where not given).  Read-only:
 * "peer-id", "swarm-id", "stats" (as swarm_session_get_stats(); fields in
 * docs/stats.md).  What is wrong with the configuration is reported by
 * swarm_session_start() (SWARM_SESSION_ERROR_SETTINGS). */
#define SWARM_TYPE_SESSION (swarm_session_get_type ())
/* exported (G_DECLARE_FINAL_TYPE's own declaration is not) */
#ifndef __GI_SCANNER__
SWARM_API GType swarm_session_get_type (void);
#endif
G_DECLARE_FINAL_TYPE (SwarmSession, swarm_session, SWARM, SESSION, GObject)

typedef enum {
  SWARM_SESSION_ORIGIN,
  SWARM_SESSION_VIEWER,
} SwarmSessionRole;

#define SWARM_SESSION_ERROR (swarm_session_error_quark ())
typedef enum {
  SWARM_SESSION_ERROR_TRACKER,       /* tracker unreachable or gone */
  SWARM_SESSION_ERROR_JOIN_TIMEOUT,  /* no publisher / no data in time */
  SWARM_SESSION_ERROR_SETTINGS,
  SWARM_SESSION_ERROR_FAILED,
  SWARM_SESSION_ERROR_SECRET,        /* private swarm: secret missing or wrong */
} SwarmSessionError;

SWARM_API GQuark swarm_session_error_quark (void);

typedef struct {
  /* Fatal: the session cannot go on. */
  void (*error) (SwarmSession * s, const GError * error, gpointer user_data);
  /* Something went wrong and is being retried. */
  void (*warning) (SwarmSession * s, const GError * error, gpointer user_data);
  /* Every stats_interval_ms. */
  void (*stats) (SwarmSession * s, const GstStructure * stats,
      gpointer user_data);
} SwarmSessionCallbacks;

typedef struct {
  SwarmSessionRole role;
  SwarmIdentity *identity;       /* origin: with private key; viewer: the swarm's public key */
  /* Tracker URLs (ws://...).  NULL or empty on an origin = run the embedded
   * tracker on tracker_address:tracker_port. */
  gchar **trackers;
  const gchar *tracker_address;
  guint tracker_port;
  /* The embedded tracker's bounds (docs/tracker-load.md): connections
   * open at once, 0 = the default (16384); from one address (an IPv4
   * address, an IPv6 /64), 0 = no bound (the default: a crowd behind one
   * NAT is one address); new connections a second from one address after
   * a burst of ten seconds' worth, 0 = the default (200), < 0 = no bound.
   * As properties, "tracker-connection-rate" 0 is no bound. */
  guint tracker_max_connections;
  guint tracker_max_connections_per_address;
  gint tracker_connection_rate;
  guint max_peers;
  SwarmIceServer *stun;          /* nullable, borrowed during new() */
  SwarmIceServer *turn;          /* nullable, borrowed during new() */
  guint join_timeout_ms;         /* viewer: no segment within this = error */
  guint stats_interval_ms;       /* 0 = no stats callback */
  const gchar *stats_name;       /* name of the stats structure */
  const SwarmSchedulerClass *scheduler; /* NULL = default */
  gboolean consume_only;         /* viewer: never announce or serve segments */
  guint upload_limit_kbps;       /* all partners together; 0 = no limit */
  /* Private swarm's secret (copied; see swarm-secret.h); NULL = public. */
  const gchar *secret;
  /* Viewer: how far the publisher's clock may be from ours before its
   * word on where live is (EDGE) is refused; 0 = the default,
   * SWARM_EDGE_DEFAULT_TOLERANCE_MS (swarm-edge.h). */
  guint clock_tolerance_ms;
  /* Where every part of the session reads the time and makes its timers;
   * NULL = the system clock.  A virtual clock (swarm-clock.h) runs the
   * session on the caller's thread: see network_context. */
  SwarmClock *clock;
  /* NULL = the session runs its own network thread with its own context.
   * Given: the session's sources are attached to this context, no thread
   * is started, and the caller iterates it (the simulator and the
   * virtual-time tests run a whole swarm in one thread this way). */
  GMainContext *network_context;
  /* What the session makes its links with; NULL = libnice + DTLS.  An
   * in-memory network (swarm-link-memory.h) for whole swarms in one
   * process.  Borrowed: it must outlive the session. */
  const struct _SwarmLinkFactory *link_factory;
} SwarmSessionConfig;

/* g_object_new() with @config's fields as the properties; @callbacks are
 * called on the network thread, each just before its signal. */
SWARM_API SwarmSession *swarm_session_new (const SwarmSessionConfig * config,
    const SwarmSessionCallbacks * callbacks, gpointer user_data);
/* Starts the network thread; on an origin with the embedded tracker, also
 * binds it (so the port is known when this returns). */
SWARM_API gboolean swarm_session_start (SwarmSession * s, GError ** error);
/* Waits until the session is announced to a tracker, up to @timeout_ms. */
SWARM_API gboolean swarm_session_wait_ready (SwarmSession * s, guint timeout_ms,
    GError ** error);
/* Port the embedded tracker listens on (0 if none). */
SWARM_API guint swarm_session_get_tracker_port (SwarmSession * s);
/* Sends "stopped", closes every link (each partner's "peer-removed"
 * comes first), joins the thread.  Idempotent; the object stays readable
 * (stats, properties) until its last reference goes. */
SWARM_API void swarm_session_stop (SwarmSession * s);
/* swarm_session_stop() and drops the caller's reference. */
SWARM_API void swarm_session_free (SwarmSession * s);

/**
 * swarm_session_publish: (skip)
 *
 * Origin: hands a finished, signed segment to the swarm (the p2psink
 * element's job).
 */
SWARM_API void swarm_session_publish (SwarmSession * s, guint64 seq,
    SwarmSegmentFlags flags, GBytes * segment);

/* Viewer: the playout side. */
typedef enum {
  SWARM_WAIT_OK,
  SWARM_WAIT_TIMEOUT,
  SWARM_WAIT_CANCELLED,
  SWARM_WAIT_ERROR,
} SwarmWaitResult;

/* Waits until the swarm offers a place to start (the newest segment that
 * starts on a keyframe) and returns its seq. */
SWARM_API SwarmWaitResult swarm_session_wait_start (SwarmSession * s,
    gint64 deadline_us, guint64 * seq);
/* Waits until a partner announces a keyframe segment newer than @after. */
SWARM_API SwarmWaitResult swarm_session_wait_keyframe_after (SwarmSession * s,
    guint64 after, gint64 deadline_us, guint64 * seq);
/* Tells the scheduler where playout is: segments before @seq are no longer
 * wanted. */
SWARM_API void swarm_session_set_playout (SwarmSession * s, guint64 seq);
/* Playout gives up on segment @seq at @deadline_us (g_get_monotonic_time
 * base) and on each later one a segment's duration after the one before:
 * a transfer that would finish past its deadline at its source's pace is
 * moved to another partner while there is time. */
SWARM_API void swarm_session_set_deadline (SwarmSession * s, guint64 seq,
    gint64 deadline_us);
/* Waits for verified segment @seq until @deadline_us (g_get_monotonic_time
 * base).  @arrival_us (nullable): when it arrived, same base. */
SWARM_API SwarmWaitResult swarm_session_wait_segment (SwarmSession * s,
    guint64 seq, gint64 deadline_us, GBytes ** segment, gint64 * arrival_us);
/* Newest seq any partner announced (or we hold); FALSE if none yet. */
SWARM_API gboolean swarm_session_get_newest_seq (SwarmSession * s,
    guint64 * seq);
/* Newest segment starting on a keyframe that any partner announced. */
SWARM_API gboolean swarm_session_get_newest_keyframe_seq (SwarmSession * s,
    guint64 * seq);
/* The publisher's runs seen (restarts after the first) and where the
 * current one began: a viewer whose playout is before @epoch_seq follows
 * the publisher to its new run.  FALSE until the first EDGE. */
SWARM_API gboolean swarm_session_get_epoch (SwarmSession * s,
    guint64 * epoch_seq, guint64 * restarts);
/* The newest verified segment in hand after @after (a keyframe segment
 * with @keyframe): looked up in the store, never walked seq by seq. */
SWARM_API gboolean swarm_session_find_in_hand (SwarmSession * s,
    guint64 after, gboolean keyframe, guint64 * seq);
/* Wakes waiters with SWARM_WAIT_CANCELLED until unset. */
SWARM_API void swarm_session_set_flushing (SwarmSession * s, gboolean flushing);

/* Playout accounting for the stats (viewer). */
SWARM_API void swarm_session_note_played (SwarmSession * s, guint64 seq);
SWARM_API void swarm_session_note_missed (SwarmSession * s, guint64 seq);
/* @count segments skipped at once (a jump to a newer keyframe). */
SWARM_API void swarm_session_note_missed_n (SwarmSession * s, guint64 count);
SWARM_API void swarm_session_note_startup (SwarmSession * s, gint64 startup_ms);

/* Our peer id on trackers and links (20 ASCII characters). */
SWARM_API const gchar *swarm_session_get_peer_id (SwarmSession * s);
/* Closes the link to partner @peer_id, if any (it may connect again). */
SWARM_API void swarm_session_disconnect_peer (SwarmSession * s,
    const gchar * peer_id);

/* Current stats (fields in docs/stats.md). */
SWARM_API GstStructure *swarm_session_get_stats (SwarmSession * s);

G_END_DECLS

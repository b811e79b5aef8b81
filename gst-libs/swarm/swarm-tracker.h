/* WebTorrent tracker WebSocket protocol: client and embedded server.
 * Facts: docs/tracker-protocol.md.  JSON via json-glib; the client's
 * WebSocket via libsoup 3, the server's our own (swarm-ws.h).
 *
 * Portable limits we keep (aquatic_ws): <= 10 offers per announce, every
 * frame < 16 KiB, offers/answers are exactly {"type","sdp"}, ASCII ids,
 * "left" always a number.
 *
 * Threading: create, call and receive callbacks on one GMainContext, which
 * must be the thread-default context when the object is created.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include "swarm-prelude.h"
#include "swarm-clock.h"

G_BEGIN_DECLS

/* Tracker URLs with this scheme name a tracker in this process. */
#define SWARM_TRACKER_MEMORY_SCHEME "memory://"

/* The failure reason our embedded tracker gives an announce for a swarm it
 * does not serve (it serves its publisher's only): a viewer that meets it
 * came with the wrong swarm id, or without a private swarm's secret. */
#define SWARM_TRACKER_REASON_OTHER_SWARM \
  "this tracker serves only its publisher's swarm"

#define SWARM_TRACKER_MAX_OFFERS 10
#define SWARM_TRACKER_MAX_FRAME (16 * 1024 - 1)
#define SWARM_TRACKER_ID_LEN 20

#define SWARM_TRACKER_ERROR (swarm_tracker_error_quark ())
typedef enum {
  SWARM_TRACKER_ERROR_CONNECT,   /* could not connect / handshake failed */
  SWARM_TRACKER_ERROR_CLOSED,    /* the tracker closed the connection */
  SWARM_TRACKER_ERROR_FAILURE,   /* "failure reason" from the tracker */
  SWARM_TRACKER_ERROR_PROTOCOL,  /* malformed message */
  SWARM_TRACKER_ERROR_TOO_LARGE, /* message would exceed frame limit */
  SWARM_TRACKER_ERROR_REFUSED,   /* connection refused, with the reason */
} SwarmTrackerError;

GQuark swarm_tracker_error_quark (void);

/* ---- client ---------------------------------------------------------- */

typedef struct _SwarmTrackerClient SwarmTrackerClient;

typedef struct {
  const gchar *offer_id;         /* 20 ASCII chars */
  const gchar *sdp;
} SwarmTrackerOffer;

typedef struct {
  /* The WebSocket is open (first time and after every reconnect). */
  void (*connected) (SwarmTrackerClient * c, gpointer user_data);
  void (*announce_reply) (SwarmTrackerClient * c, guint complete,
      guint incomplete, guint interval_s, gpointer user_data);
  /* Another peer offers a link: answer with swarm_tracker_client_answer. */
  void (*offer) (SwarmTrackerClient * c, const gchar * peer_id,
      const gchar * offer_id, const gchar * sdp, gpointer user_data);
  /* A peer answered one of our offers. */
  void (*answer) (SwarmTrackerClient * c, const gchar * peer_id,
      const gchar * offer_id, const gchar * sdp, gpointer user_data);
  /* Connection failed or was lost, or the tracker sent "failure reason".
   * The client keeps retrying (backoff 0.5 s doubling to 8 s) until stopped.
   * While connected it announces again every interval the tracker names
   * (120 s if none; held to 10 s..30 min), so the tracker keeps it listed. */
  void (*error) (SwarmTrackerClient * c, const GError * error,
      gpointer user_data);
} SwarmTrackerClientCallbacks;

SWARM_TEST_API SwarmTrackerClient *swarm_tracker_client_new (const gchar * url,
    const gchar * info_hash, const gchar * peer_id,
    const SwarmTrackerClientCallbacks * callbacks, gpointer user_data);
/* Connects (asynchronously); reconnects after losses. */
/* Where the client's timers run (default: the system clock); before start. */
void swarm_tracker_client_set_clock (SwarmTrackerClient * c,
    SwarmClock * clock);
SWARM_TEST_API void swarm_tracker_client_start (SwarmTrackerClient * c);
SWARM_TEST_API gboolean swarm_tracker_client_is_connected (SwarmTrackerClient * c);
const gchar *swarm_tracker_client_get_url (SwarmTrackerClient * c);
/* The tracker's last reason for turning us away (a refused connection's
 * status text, or a "failure reason"), or NULL. */
const gchar *swarm_tracker_client_get_refusal (SwarmTrackerClient * c);
/* Failed connects and losses since the connection was last open: 1 is the
 * first failure of an outage, worth telling people; later ones are retries. */
guint swarm_tracker_client_get_failures (SwarmTrackerClient * c);
/* @event: "started", "stopped", "completed" or NULL (periodic update).
 * At most SWARM_TRACKER_MAX_OFFERS offers.  Fails if not connected or the
 * frame would exceed SWARM_TRACKER_MAX_FRAME. */
SWARM_TEST_API gboolean swarm_tracker_client_announce (SwarmTrackerClient * c,
    const gchar * event, gint64 left, guint numwant,
    const SwarmTrackerOffer * offers, guint n_offers, GError ** error);
SWARM_TEST_API gboolean swarm_tracker_client_answer (SwarmTrackerClient * c,
    const gchar * to_peer_id, const gchar * offer_id, const gchar * sdp,
    GError ** error);
/* Sends "stopped" if connected, closes, stops retrying; no callbacks after.
 * The close handshake goes on while the client's context is iterated (at
 * most SWARM_TRACKER_GOODBYE_MS), so that the tracker reads the goodbye:
 * a socket closed with unread data is reset, and the reset can take the
 * last frames with it. */
SWARM_TEST_API void swarm_tracker_client_free (SwarmTrackerClient * c);
/* The same, and @done (@user_data) runs on the client's context once the
 * connection is closed or given up; at once if there was none. */
void swarm_tracker_client_free_full (SwarmTrackerClient * c,
    GDestroyNotify done, gpointer user_data);

/* ---- embedded server ------------------------------------------------- */

typedef struct _SwarmTrackerServer SwarmTrackerServer;

SwarmTrackerServer *swarm_tracker_server_new (void);
/* Where the server reads the time (default: the system clock); before
 * listen. */
void swarm_tracker_server_set_clock (SwarmTrackerServer * s,
    SwarmClock * clock);
/* Listens on @address (e.g. "0.0.0.0", "127.0.0.1", "::") and @port (0 =
 * any free port); WebSocket on every path. */
gboolean swarm_tracker_server_listen (SwarmTrackerServer * s,
    const gchar * address, guint port, GError ** error);
/* Serves only @info_hash (NULL = any, the default): announces for another
 * are refused with a failure reason.  The embedded tracker of a publisher
 * serves its own swarm. */
void swarm_tracker_server_set_info_hash (SwarmTrackerServer * s,
    const gchar * info_hash);
/* What the embedded tracker lets clients hold (swarm_tracker_server_set_
 * limits).  The defaults let a crowd behind one address in (a corporate
 * NAT, carrier-grade NAT: thousands of viewers on one IP): one address is
 * held to a rate of new connections, not to a number of them, and each
 * connection and all together to bounded memory.  "One address" is an
 * IPv4 address or an IPv6 /64 (what one host is given). */
typedef struct {
  /* Connections open at once, all addresses together (default 16384),
   * counted from accept: a file descriptor and about 2 KiB each. */
  guint max_connections;
  /* From one address; 0 = no bound of its own (the default). */
  guint max_connections_per_address;
  /* New connections one address may open a second, on average, after a
   * burst of connection_burst (defaults 200 and 2000); 0 = no bound. */
  guint connection_rate;
  guint connection_burst;
  /* A connection must announce within this (default 10 s, half-open HTTP
   * requests included) and send something within this (default 150 s). */
  guint unannounced_timeout_ms;
  guint idle_timeout_ms;
  /* Bytes waiting for a connection's socket to take them (pongs too): a
   * client that does not read is closed past the first (default 256 KiB);
   * past the second, all connections together (default 64 MiB), the one
   * holding most is. */
  gsize max_queued_per_connection;
  gsize max_queued;
} SwarmTrackerServerLimits;

/* The defaults.  A crowd behind one address (a corporate NAT,
 * carrier-grade NAT) is hundreds or thousands of viewers on one IP, so no
 * address is held to a small number of connections; what one address (or
 * all) can do to the tracker is bounded by rate and by memory instead.
 *
 * Connections in all: 10,000 viewers and their origin, with room for the
 * connections of viewers that reconnected before their old socket was seen
 * to die (up to the idle timeout).  Each costs a file descriptor, about
 * 2 KiB of the process (docs/tracker-load.md) and the kernel's socket
 * buffers; what a client can make it hold beyond that is bounded
 * (swarm-tracker-server-private.h). */
#define SWARM_TRACKER_DEFAULT_MAX_CONNECTIONS 16384
/* New connections from one address: 200 a second after a burst of 2000
 * (SWARM_TRACKER_CONNECTION_BURST_S of them).  An office of 2000 joining
 * an all-hands at once gets in at once, and a carrier-grade NAT's crowd of
 * 10,000 joining within 10 s within 42 s (a refused client comes back:
 * ours after 0.5-8 s; docs/tracker-load.md).  A single host needs over a
 * minute to fill the tracker, and what it opens without announcing is
 * closed after 10 s: at most 4000 such connections at any time. */
#define SWARM_TRACKER_DEFAULT_CONNECTION_RATE 200
/* A connection rate's burst, in seconds of the rate: what one address may
 * open at once after a quiet spell (an office joining an all-hands). */
#define SWARM_TRACKER_CONNECTION_BURST_S 10

/* The defaults into @limits. */
void swarm_tracker_server_limits_init (SwarmTrackerServerLimits * limits);
/* Before listen().  For the element's properties, tests and tools. */
void swarm_tracker_server_set_limits (SwarmTrackerServer * s,
    const SwarmTrackerServerLimits * limits);
void swarm_tracker_server_get_limits (SwarmTrackerServer * s,
    SwarmTrackerServerLimits * limits);
/* Raises this process's soft RLIMIT_NOFILE to its hard limit (the
 * tracker's listen does it) and returns the soft limit now. */
guint64 swarm_tracker_server_raise_fd_limit (void);
/* Listens in this process only, as "memory://@name/announce": clients of
 * that URL talk to it over in-memory pipes with @delay_ms one way, on
 * their clock (swarm-tracker-pipe.h).  For whole swarms in one process
 * (tests, the simulator); instead of listen. */
gboolean swarm_tracker_server_listen_memory (SwarmTrackerServer * s,
    const gchar * name, guint delay_ms, GError ** error);
guint swarm_tracker_server_get_port (SwarmTrackerServer * s);
guint swarm_tracker_server_get_n_peers (SwarmTrackerServer * s);

typedef struct {
  guint connections;             /* open now */
  /* Refused at accept, before any HTTP, with a 503 saying why: the sum of
   * the four after it. */
  guint64 connections_refused;
  guint64 refused_full;          /* max_connections reached */
  guint64 refused_address;       /* max_connections_per_address reached */
  guint64 refused_rate;          /* over connection_rate */
  guint64 refused_fds;           /* out of file descriptors (EMFILE) */
  guint64 connections_closed_flood;     /* closed for sending too many messages
                                         * (or bytes) */
  guint64 messages_refused;      /* e.g. joins past the swarms-per-connection bound */
  /* Since issue 12 (hostile internet): */
  guint64 connections_closed_unannounced;       /* upgraded, no announce in time */
  guint64 connections_closed_half_open; /* HTTP request not finished in time */
  guint64 connections_closed_idle;      /* silent past the idle timeout */
  guint64 connections_closed_oversize;  /* a request head or reassembled
                                         * message over its bound, or all
                                         * unfinished ones over theirs */
  guint64 announces_refused_peer_id;    /* peer_id held by another connection */
  guint64 announces_refused_info_hash;  /* a swarm this tracker does not serve */
  gsize bytes_held;              /* in unfinished heads and messages, now */
  gsize bytes_held_max;          /* the most ever */
  /* Since issue 14 (crowds): */
  guint64 connections_closed_slow;      /* not reading: over a queue bound */
  gsize bytes_queued;            /* handed to WebSockets, not yet written */
  gsize bytes_queued_max;        /* the most ever */
  guint64 announces;             /* answered */
} SwarmTrackerServerStats;

void swarm_tracker_server_get_stats (SwarmTrackerServer * s,
    SwarmTrackerServerStats * stats);
void swarm_tracker_server_free (SwarmTrackerServer * s);

G_END_DECLS

/* The embedded tracker's state, shared by its two files:
 *   swarm-tracker-server.c       swarms and peers: announces, offers,
 *                                answers, scrapes; the public API
 *   swarm-tracker-server-conn.c  connections: accept, limits, transports,
 *                                the sweep, listening
 * Internal to the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsoup/soup.h>

#include "swarm.h"
#include "swarm-congestion.h"
#include "swarm-private.h"
#include "swarm-tracker-message.h"
#include "swarm-tracker-pipe.h"
#include "swarm-guard-stream.h"
#include "swarm-ws-scan.h"

G_BEGIN_DECLS

/* The interval both reference trackers announce. */
#define ANNOUNCE_INTERVAL_S 120
/* Keeps one swarm's offer fan-out and memory bounded. */
#define MAX_PEERS_PER_SWARM 10000
/* Stops a single host from exhausting file descriptors. */
#define MAX_CONNS_PER_ADDRESS 64
/* And all hosts together: each connection holds a socket and a WebSocket
 * with its buffers (a frame is at most SWARM_TRACKER_MAX_MESSAGE). */
#define MAX_CONNECTIONS 1024
/* Swarms one connection may join: a peer takes part in one, a client
 * multiplexing a few is conceivable, thousands is an attack on memory. */
#define MAX_SWARMS_PER_CONN 16
/* Messages per connection: an honest peer announces every interval, offers
 * a round every few seconds and answers the offers it takes on (a few a
 * second); a connection flooding past this is closed. */
#define MESSAGES_BURST 64
#define MESSAGES_PER_S 16
/* Bytes per connection, whatever they carry (control frames too): an
 * honest peer's announce with its offers is a few kB every few seconds. */
#define BYTES_BURST (4 * SWARM_TRACKER_MAX_MESSAGE)
#define BYTES_PER_S (SWARM_TRACKER_MAX_MESSAGE)
/* An upgrade request is about 300 bytes; browsers add cookies. */
#define MAX_REQUEST_HEAD 8192
/* Bytes all connections together may hold in unfinished request heads
 * and WebSocket messages (each at most SWARM_TRACKER_MAX_MESSAGE). */
#define MAX_BYTES_HELD (16 * 1024 * 1024)
/* A connection (half-open HTTP included) must announce within this. */
#define UNANNOUNCED_TIMEOUT_MS (10 * 1000)
/* And say something (an announce, a ping) within this: a client
 * announces every ANNOUNCE_INTERVAL_S and pings in between. */
#define IDLE_TIMEOUT_MS ((ANNOUNCE_INTERVAL_S + 30) * 1000)
/* A peer_id silent this long on its connection has missed its announce:
 * that connection is presumed dead, and a new one may take the id over. */
#define PEER_ID_STALE_US ((ANNOUNCE_INTERVAL_S + 15) * G_USEC_PER_SEC)
/* Connections the kernel may queue before we accept them. */
#define LISTEN_BACKLOG 256
/* A connection asked to close that has not, is cut. */
#define CLOSE_GRACE_US (2 * G_USEC_PER_SEC)

typedef struct _Conn Conn;

typedef struct {
  gchar *peer_id;
  Conn *conn;
  gint64 left;                  /* -1 = unknown, counts as leecher */
} Peer;

typedef struct {
  gchar *info_hash;
  GHashTable *peers;            /* peer_id -> Peer */
  guint n_complete;
  guint downloaded;
} Swarm;

/* One accepted TCP connection, from accept to close: its HTTP upgrade,
 * then its WebSocket.  It holds a slot against the limits all along. */
struct _Conn {
  SwarmTrackerServer *server;
  GSocketConnection *tcp;
  GSocketAddress *remote;       /* the key libsoup hands back on upgrade */
  SwarmGuardInputStream *guard; /* sees each byte before libsoup */
  SwarmWsScan scan;
  gsize held;                   /* counted in server->bytes_held */
  SwarmRateLimiter *byte_budget;
  SoupWebsocketConnection *ws;  /* once upgraded */
  SwarmTrackerPipe *pipe;        /* in memory: no TCP, no HTTP, no ws */
  gchar *host;
  GHashTable *joined;           /* info_hash -> peer_id we registered */
  SwarmRateLimiter *budget;     /* messages it may still send */
  gboolean flooded;             /* closed for flooding: ignore the rest */
  gboolean announced;
  gint64 accepted_us, last_read_us;
  gint64 closing_us;            /* asked to close at; 0 = not */
};

struct _SwarmTrackerServer {
  SwarmClock *clock;             /* idle sweeps, budgets, connection ages */
  SoupServer *soup;
  GSocketService *service;
  GSource *sweeper;
  GHashTable *swarms;           /* info_hash -> Swarm */
  GHashTable *conns;            /* set of Conn */
  GHashTable *conns_by_remote;  /* GSocketAddress -> Conn */
  GHashTable *conns_per_host;   /* host -> count */
  gchar *served_info_hash;      /* NULL = any */
  guint max_connections;
  guint unannounced_timeout_ms, idle_timeout_ms;
  gsize bytes_held;
  guint port;
  gchar *memory_name;            /* listening in memory as this */
  guint memory_delay_ms;
  guint memory_conns;            /* numbers their hosts */
  SwarmTrackerServerStats stats;
};

/* swarm-tracker-server.c */
Swarm *get_swarm (SwarmTrackerServer * s, const gchar * info_hash,
    gboolean create);
void remove_peer (SwarmTrackerServer * s, Swarm * swarm,
    const gchar * peer_id, Conn * conn);
void conn_send (Conn * conn, const gchar * text);
void conn_fail (Conn * conn, const gchar * reason);
void handle_announce (Conn * conn, const SwarmTrackerMessage * m);
void handle_scrape (Conn * conn, const SwarmTrackerMessage * m);

/* swarm-tracker-server-conn.c */
void conn_free (Conn * conn);
void conn_on_text (Conn * conn, const char *data, gsize len);
gboolean sweep (gpointer user_data);
void on_websocket (SoupServer * soup, SoupServerMessage * msg,
    const char *path, SoupWebsocketConnection * ws, gpointer user_data);
void memory_registry_remove (const gchar * name, SwarmTrackerServer * s);

G_END_DECLS

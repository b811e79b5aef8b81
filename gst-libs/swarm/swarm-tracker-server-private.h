/* The embedded tracker's state, shared by its two files:
 *   swarm-tracker-server.c       swarms and peers: announces, offers,
 *                                answers, scrapes; the public API
 *   swarm-tracker-server-conn.c  connections: accept, limits, transports,
 *                                the sweep, listening
 * Internal to the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm.h"
#include "swarm-congestion.h"
#include "swarm-private.h"
#include "swarm-tracker-message.h"
#include "swarm-tracker-pipe.h"
#include "swarm-ws.h"

#ifdef HAVE_EPOLL
#include <sys/epoll.h>
#define SWARM_POLL_IN EPOLLIN
#define SWARM_POLL_OUT EPOLLOUT
#define SWARM_POLL_HUP EPOLLHUP
#define SWARM_POLL_ERR EPOLLERR
#else
#define SWARM_POLL_IN G_IO_IN
#define SWARM_POLL_OUT G_IO_OUT
#define SWARM_POLL_HUP G_IO_HUP
#define SWARM_POLL_ERR G_IO_ERR
#endif

G_BEGIN_DECLS

/* The interval both reference trackers announce. */
#define ANNOUNCE_INTERVAL_S 120
/* The defaults of SwarmTrackerServerLimits: the connection bounds and
 * their reasons are in swarm-tracker.h (p2psink's properties use them). */
#define DEFAULT_MAX_CONNECTIONS SWARM_TRACKER_DEFAULT_MAX_CONNECTIONS
#define DEFAULT_CONNECTION_RATE SWARM_TRACKER_DEFAULT_CONNECTION_RATE
#define DEFAULT_CONNECTION_BURST \
  (DEFAULT_CONNECTION_RATE * SWARM_TRACKER_CONNECTION_BURST_S)
/* What may wait for a client that does not read: an honest one reads as
 * fast as it is sent offers (a few kB each), so 256 KiB is a hundred
 * offers behind.  All together, 64 MiB. */
#define DEFAULT_MAX_QUEUED_PER_CONNECTION (256 * 1024)
#define DEFAULT_MAX_QUEUED (64 * 1024 * 1024)
/* The kernel's send buffer of a connection (it doubles it for its own
 * bookkeeping): without it, Linux autotunes it to up to 4 MiB
 * (net.ipv4.tcp_wmem), which a client that does not read fills before
 * our queue holds a byte.  64 KiB carry a dozen offers, and 200 kB/s at
 * 300 ms of round trip. */
#define SEND_BUFFER (64 * 1024)
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
/* Connections the kernel may queue before we accept them (the kernel caps
 * it at net.core.somaxconn, 4096 since Linux 5.4): a crowd connects
 * faster than one loop iteration accepts. */
#define LISTEN_BACKLOG 4096
/* Accepted in one go before other sources get their turn. */
#define ACCEPT_BATCH 64
/* A connection asked to close that has not, is cut. */
#define CLOSE_GRACE_US (2 * G_USEC_PER_SEC)

typedef struct _Conn Conn;

typedef struct {
  gchar *peer_id;
  Conn *conn;
  gint64 left;                  /* -1 = unknown, counts as leecher */
  guint index;                  /* in its swarm's list */
} Peer;

typedef struct {
  gchar *info_hash;
  GHashTable *peers;            /* peer_id -> Peer */
  GPtrArray *list;              /* the same Peers, for random picks */
  guint n_complete;
  guint downloaded;
} Swarm;

/* One address (an IPv4 address, an IPv6 /64) with connections open or
 * opened lately; forgotten once neither holds. */
typedef struct {
  gchar *key;
  guint conns;
  SwarmRateLimiter *rate;       /* new connections; NULL = no bound */
} Address;

/* One accepted TCP connection, from accept to close: its HTTP upgrade,
 * then its WebSocket; or an in-memory pipe.  It holds a slot against the
 * limits all along. */
struct _Conn {
  SwarmTrackerServer *server;
  gint fd;                      /* -1 in memory */
  guint32 events;               /* what the poller watches; 0 = nothing */
  GSource *source;              /* without epoll: its own */
  SwarmWsReader reader;         /* what it sent, bounded as it comes */
  gsize held;                   /* counted in server->bytes_held */
  GByteArray *out;              /* what its socket has not taken yet */
  gsize queued;                 /* counted in server->bytes_queued */
  SwarmRateLimiter *byte_budget;
  gboolean upgraded;            /* WebSocket (or pipe) open */
  SwarmTrackerPipe *pipe;       /* in memory: no TCP, no HTTP, no frames */
  gchar *host;
  Address *address;             /* NULL in memory */
  GHashTable *joined;           /* info_hash -> peer_id we registered */
  SwarmRateLimiter *budget;     /* messages it may still send */
  gboolean flooded;             /* closed for flooding: ignore the rest */
  gboolean announced;
  gint64 accepted_us, last_read_us;
  gint64 closing_us;            /* asked to close at; 0 = not */
  gboolean shut_down;           /* its write side, after the last bytes */
  gboolean dead;                /* off the poller, for the reaper */
};

struct _SwarmTrackerServer {
  SwarmClock *clock;             /* idle sweeps, budgets, connection ages */
  GMainContext *context;        /* where it runs: thread-default at listen */
  GSocket *listener;
  gint listen_fd;
  gboolean listening;           /* the listener is watched */
  GSource *listen_source;       /* without epoll */
  gint epfd;                    /* every socket's readiness */
  GSource *poll_source;
  GSource *accept_resume;       /* accepting paused until this fires */
  gint spare_fd;                /* given up to refuse when out of fds */
  gint64 fds_warned_us;
  guint8 *chunk;                /* one read's bytes */
  GSource *sweeper;
  GPtrArray *dead;              /* Conns for the reaper */
  guint n_closing;              /* closing, not dead yet */
  GSource *reaper;
  GHashTable *swarms;           /* info_hash -> Swarm */
  GHashTable *conns;            /* set of Conn */
  GHashTable *addresses;        /* Address.key -> Address */
  gchar *served_info_hash;      /* NULL = any */
  SwarmTrackerServerLimits limits;
  gsize bytes_held, bytes_queued;
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
guint conns_open (SwarmTrackerServer * s);
void conn_send_ws (Conn * conn, const gchar * text);
void conn_hang_up (Conn * conn);
void conn_on_text (Conn * conn, const char *data, gsize len);
void conns_say_goodbye (SwarmTrackerServer * s);
void address_free (Address * a);
void listener_close (SwarmTrackerServer * s);
void poller_free (SwarmTrackerServer * s);
gboolean sweep (gpointer user_data);
void memory_registry_remove (const gchar * name, SwarmTrackerServer * s);

G_END_DECLS

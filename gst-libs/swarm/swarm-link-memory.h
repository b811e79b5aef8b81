/* Links between swarm sessions in one process: a simulated network.
 *
 * A SwarmMemoryNet carries datagrams between the links of its hosts on the
 * swarm's clock, so a whole swarm can run on virtual time in one thread
 * (swarm-clock.h): the same session, peer protocol, congestion control and
 * scheduler as on the real network, with the network modelled:
 *
 *  - one-way delay between two hosts: the sum of their access delays
 *    (delay_ms each), so RTT = 2 × (a + b);
 *  - each host's upload is a queue drained at upload_kbps (0 = unlimited),
 *    dropping what would wait longer than queue_ms;
 *  - each datagram is lost with the sender's loss_pct, then the
 *    receiver's, drawn from the net's seeded generator;
 *  - setting up a link costs what libnice and GnuTLS cost in the NAT lab
 *    (docs/sim.md, "Calibration"): gathering a round trip to a STUN server
 *    (two to a TURN server for a relayed host) before the description;
 *    ICE checks with nomination and a DTLS handshake with its cookie,
 *    five round trips, once both ends have the other's description (the
 *    answerer connected 9 one-way delays after the offerer has the answer,
 *    the offerer 10); each of the handshake's four flights lost with the
 *    path's loss costs the DTLS retransmission timeout, 400 ms.  No DTLS
 *    runs: keying material is a secret the two ends share in memory (the
 *    crypto of the link is modelled; segment signatures and everything
 *    above the link are real).
 *
 * Descriptions are "swarm-memory/1 <endpoint>": opaque to signalling, as an
 * SDP is.  Every link of a net runs on the net's thread: deliveries on the
 * net's context, a link's own timer on the context it was made for (one
 * per session, in the simulator).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-link.h"

G_BEGIN_DECLS

typedef struct _SwarmMemoryNet SwarmMemoryNet;
typedef struct _SwarmMemoryHost SwarmMemoryHost;

typedef struct {
  guint delay_ms;                /* access delay, one way */
  guint upload_kbps;             /* 0 = unlimited */
  guint queue_ms;                /* 0 = 250: upload queue's longest wait */
  gdouble loss_pct;              /* each datagram, sending and receiving */
  /* behind a symmetric NAT: reached through a TURN relay (candidate type
   * "relay") that adds relay_delay_ms each way */
  gboolean relayed;
  guint relay_delay_ms;
} SwarmMemoryHostConfig;

#define SWARM_MEMORY_NET_TYPES 16

typedef struct {
  guint64 datagrams;             /* handed to the net */
  guint64 delivered;
  guint64 lost;                  /* drawn as lost */
  guint64 queue_drops;           /* an upload queue was full */
  guint64 bytes_delivered;
  guint64 events;                /* deliveries and link events dispatched */
  /* delivered, by the message type in their second byte (SwarmMsgType;
   * 0: anything else) */
  guint64 delivered_by_type[SWARM_MEMORY_NET_TYPES];
} SwarmMemoryNetStats;

SwarmMemoryNet *swarm_memory_net_new (SwarmClock * clock,
    GMainContext * context, guint32 seed);
/* A net in @n_shards parts, shard i on @clocks[i], serving its deliveries
 * in @contexts[i]: a host belongs to one shard, and so do its links.  A
 * driver runs each shard's clock (each on its own thread, if it likes)
 * through windows of virtual time shorter than
 * swarm_memory_net_get_least_delay_us, calling
 * swarm_memory_net_next_window between two windows and
 * swarm_memory_net_take_in as each shard starts one (or
 * swarm_memory_net_exchange between two): what one shard sent another
 * in a window is taken in at the start of the next.  The same seed gives the same run however
 * the shards are run.  Shard 0 draws its chances as the net of one shard
 * does. */
SwarmMemoryNet *swarm_memory_net_new_sharded (SwarmClock ** clocks,
    GMainContext ** contexts, guint n_shards, guint32 seed);
guint swarm_memory_net_get_n_shards (SwarmMemoryNet * net);
/* Serves what is due in one shard (swarm_memory_net_dispatch: shard 0). */
void swarm_memory_net_dispatch_shard (SwarmMemoryNet * net, guint shard);
/* Between two windows, no shard running: what is queued from now on
 * belongs to the next window. */
void swarm_memory_net_next_window (SwarmMemoryNet * net);
/* At the start of a window, on @shard's thread: @shard takes in what the
 * others queued for it in the window before, in the order of the shards,
 * then as queued, and its datagrams they delivered then. */
void swarm_memory_net_take_in (SwarmMemoryNet * net, guint shard);
/* Both at once, no shard running (a driver on one thread). */
void swarm_memory_net_exchange (SwarmMemoryNet * net);
/* The least one-way delay of any path between two of its hosts (µs),
 * G_MAXINT64 while there are fewer than two: the longest window. */
gint64 swarm_memory_net_get_least_delay_us (SwarmMemoryNet * net);
void swarm_memory_net_free (SwarmMemoryNet * net);
/* Serves what is due now, as an iteration of the net's context would,
 * for a driver that made that context for the net alone: one step of the
 * simulation in two is a delivery, and GLib's look at the context (its
 * prepare, check and locks) cost more than finding what is due. */
void swarm_memory_net_dispatch (SwarmMemoryNet * net);
/* A host at address 10.x.y.z (from its index); @config copied. */
SwarmMemoryHost *swarm_memory_net_add_host (SwarmMemoryNet * net,
    const SwarmMemoryHostConfig * config);
/* What a session on @host makes its links with (SwarmLinkConfig.factory). */
/* A host in shard @shard (swarm_memory_net_add_host: shard 0). */
SwarmMemoryHost *swarm_memory_net_add_host_to_shard (SwarmMemoryNet * net,
    guint shard, const SwarmMemoryHostConfig * config);
const SwarmLinkFactory *swarm_memory_host_get_factory (
    SwarmMemoryHost * host);
const gchar *swarm_memory_host_get_address (SwarmMemoryHost * host);
/* Counters of one host's upload, or of the whole net. */
guint64 swarm_memory_host_get_bytes_sent (SwarmMemoryHost * host);
guint64 swarm_memory_host_get_bytes_received (SwarmMemoryHost * host);
/* The stream @host received (datagrams carrying a segment's chunks: DATA
 * and PARITY) from each host that sent it any, over its whole life (links
 * closed since included): who fed it, in host order. */
typedef void (*SwarmMemorySenderFunc) (SwarmMemoryHost * from, guint64 bytes,
    gpointer data);
void swarm_memory_host_foreach_sender (SwarmMemoryHost * host,
    SwarmMemorySenderFunc func, gpointer data);
guint swarm_memory_host_get_index (SwarmMemoryHost * host);
/* The machine is gone, as after a crash or a pulled cable: from now on
 * nothing it sends leaves, nothing reaches it, its closing links tell
 * nobody and handshakes with it never finish.  Its partners find out as
 * they would on the internet, when it stops answering. */
void swarm_memory_host_set_down (SwarmMemoryHost * host);
void swarm_memory_net_get_stats (SwarmMemoryNet * net,
    SwarmMemoryNetStats * stats);

G_END_DECLS

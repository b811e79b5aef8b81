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

typedef struct {
  guint64 datagrams;             /* handed to the net */
  guint64 delivered;
  guint64 lost;                  /* drawn as lost */
  guint64 queue_drops;           /* an upload queue was full */
  guint64 bytes_delivered;
  guint64 events;                /* deliveries and link events dispatched */
} SwarmMemoryNetStats;

SwarmMemoryNet *swarm_memory_net_new (SwarmClock * clock,
    GMainContext * context, guint32 seed);
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

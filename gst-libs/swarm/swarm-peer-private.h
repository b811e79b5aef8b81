/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The peer's state, shared by its two files:
 *   swarm-peer.c         the protocol on one link: HELLO, HAVE, ACK, PING,
 *                        PEX and SIGNAL, liveness, the public API
 *   swarm-peer-upload.c  what the partner asked of us, queued and paced out
 * Internal to the library.
 */
#pragma once

#include "swarm-peer.h"
#include "swarm-edge.h"
#include "swarm-private.h"

G_BEGIN_DECLS

/* A segment (or some of its chunks) queued for upload to this partner. */
typedef struct {
  guint64 seq;
  GBytes *bytes;
  guint chunk_count;
  guint next;                   /* next chunk index to consider; past the
                                 * chunks, the parity groups */
  guint8 *wanted;               /* NULL = every chunk, else bitmap */
  guint parity_groups;          /* PARITY messages after the chunks */
  gint64 queued_us;
  gint64 started_us;            /* first chunk sent; 0 = not yet */
} Upload;

/* Loss on a link (bytes given up on over bytes sent) above which whole
 * segments are followed by parity: at 2 % loss a third of 21-chunk
 * segments lose a chunk, and each such loss costs a round trip per hop
 * (the last chunk's, two and more); one parity chunk per 16 rebuilds a
 * lone loss in its group at once.  Loss-free links pay nothing. */
#define PARITY_LOSS_RATE 0.005
/* ...measured over at least this much sent */
#define PARITY_MIN_SENT (64 * 1024)

struct _SwarmPeer {
  GMainContext *context;
  SwarmClock *clock;             /* the session's; borrowed */
  SwarmLink *link;
  SwarmLinkRole link_role;
  SwarmPeerLocal local;
  SwarmStore *store;
  SwarmPeerCallbacks callbacks;
  gpointer user_data;

  gchar *remote_id;
  gchar *offer_id;
  SwarmPeerRole remote_role;
  gboolean link_up;
  gboolean hello_received;
  gboolean closed;

  /* beside the flags above: the pump looks at these for every partner,
   * and most have nothing queued */
  GQueue uploads;               /* Upload* */

  gboolean role_refused;        /* claimed the origin's role, no proof */

  gint64 created_us;
  gint64 last_recv_us;
  gint64 last_send_us;
  gint64 last_hello_us;
  gint64 rtt_us;
  gint64 last_ping_us;
  guint32 ping_nonce;
  guint pongs;                   /* answers to our PINGs: RTT samples */

  guint64 bytes_sent;
  guint64 bytes_received;
  guint in_flight;
  /* whole segments this partner asked us for lately: are we its parent? */
  guint64 recent_requests[4];
  guint64 recent_pushes[4];     /* segments pushed, until taken (ACKed whole) */
  guint n_pushes;
  guint n_requests;
  guint64 segments_pushed;
  guint64 parity_sent;          /* PARITY messages */
  guint64 chunks_asked_again;   /* named in REQUESTs for some chunks */
  /* BUSY answers one of our REQUESTs: those a BUSY may still answer (a
   * segment's transfer may be done or gone meanwhile, the partner is busy
   * all the same), at most BUSY_CREDIT_MAX */
  guint busy_credit;
  gboolean parity_on;           /* the link was found lossy */

  /* sender: LEDBAT window and pacing */
  SwarmCongestion *cc;
  /* receiver: what the next ACK reports */
  guint32 recv_bytes_total;
  guint32 delay_min_us;
  guint32 echo_time_us;
  guint64 last_data_seq;
  guint unacked_chunks;
  gint64 first_unacked_us;

  /* bounds on what the partner can make us do (units: messages) */
  SwarmRateLimiter *request_budget;
  SwarmRateLimiter *junk_budget;
  SwarmRateLimiter *waste_budget;
  SwarmPeerAbuse abuse;

  /* What the partner announced, for the SWARM_PEER_HAVE_WINDOW segments up
   * to the newest it announced: two bits each (1 has, 2 a keyframe) in a
   * ring indexed by seq (swarm-peer.c, have_get).  Last: a kilobyte that
   * would put the fields above on cache lines of their own. */
  gboolean have_any;
  guint64 have_newest;
  guint8 have_bits[SWARM_PEER_HAVE_WINDOW / 4];
};

/* A BUSY more than we sent REQUESTs is junk: each costs a pass of the
 * scheduler, and a stranger could send thousands a second. */
#define BUSY_CREDIT_MAX 32

/* Congestion feedback: ack every few chunks, and soon after the first. */
#define ACK_EVERY_CHUNKS 8
#define ACK_DELAY_US (10 * 1000)

/* swarm-peer.c */
guint32 peer_now_us32 (SwarmPeer * p);
void peer_send (SwarmPeer * p, const SwarmMessage * msg);
gboolean peer_spend (SwarmPeer * p, SwarmRateLimiter * budget,
    const gchar * why);

/* swarm-peer-upload.c */
void upload_free (Upload * u);
gboolean peer_queue_upload (SwarmPeer * p, guint64 seq, guint16 first,
    guint16 count, const guint8 * bits);
void peer_cancel_uploads (SwarmPeer * p, guint64 seq);
void peer_note_taken (SwarmPeer * p, guint64 seq);
void peer_note_push_taken (SwarmPeer * p, const SwarmMessage * msg);
void peer_handle_request (SwarmPeer * p, const SwarmMessage * msg);

G_END_DECLS

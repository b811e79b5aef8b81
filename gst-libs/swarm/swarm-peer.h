/* One partner in the swarm: a SwarmLink plus our datagram protocol on it
 * (HELLO, buffer maps, requests, chunk upload, acks, keep-alive).  It
 * serves requests from the store by itself and reports everything else to
 * the session.  Library-internal; runs on the session's network thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-link.h"
#include "swarm-congestion.h"
#include "swarm-store.h"
#include "swarm-wire.h"
#include "swarm-secret.h"

G_BEGIN_DECLS

typedef struct _SwarmPeer SwarmPeer;

#define SWARM_PEER_ERROR (swarm_peer_error_quark ())
typedef enum {
  SWARM_PEER_ERROR_PROTOCOL,     /* wrong swarm, identity mismatch */
  SWARM_PEER_ERROR_SILENT,       /* nothing heard for SWARM_PEER_SILENCE_US */
  SWARM_PEER_ERROR_LEFT,         /* partner said BYE */
  SWARM_PEER_ERROR_SECRET,       /* private swarm: no or a wrong proof */
  SWARM_PEER_ERROR_MISBEHAVED,   /* flooded us or kept breaking the protocol */
} SwarmPeerError;

GQuark swarm_peer_error_quark (void);

/* A partner silent for this long is dropped. */
#define SWARM_PEER_SILENCE_US (2 * G_USEC_PER_SEC)
/* We ping a partner we have not sent anything to for this long. */
#define SWARM_PEER_PING_US (400 * 1000)
/* after its first SWARM_PEER_RTT_FIRST_PONGS, a busy link's RTT is sampled
 * this often */
#define SWARM_PEER_RTT_REFRESH_US (2 * G_USEC_PER_SEC)
#define SWARM_PEER_RTT_FIRST_PONGS 4
/* Upload queue bound: requests beyond it are answered ABSENT. */
#define SWARM_PEER_MAX_UPLOADS 128
/* Buffer-map entries kept per partner. */
#define SWARM_PEER_HAVE_WINDOW 4096
/* REQUESTs a partner may send: an honest viewer asks for at most a few
 * segments in flight per partner plus re-requests of lost chunks, well
 * under 50 a second even at 10 segments a second; beyond the burst and
 * rate it is flooding us (every REQUEST can cost a segment of upload). */
#define SWARM_PEER_REQUEST_BURST 256
#define SWARM_PEER_REQUESTS_PER_S 128
/* Junk: malformed, truncated or oversized datagrams, messages before
 * HELLO, announcements or chunks that make no sense.  An honest peer
 * running our code sends none, bar the odd race; a few are forgiven. */
#define SWARM_PEER_JUNK_BURST 32
#define SWARM_PEER_JUNK_PER_S 8
/* Chunks we did not want: late duplicates, chunks of segments we already
 * hold.  Honest parents cause some (a push crossing a request), up to
 * about a segment's worth at a time; a replay flood causes many more. */
#define SWARM_PEER_WASTE_BURST 2048
#define SWARM_PEER_WASTE_PER_S 512

typedef struct {
  guint8 swarm_key[SWARM_WIRE_KEY_LEN];
  gchar peer_id[SWARM_WIRE_PEER_ID_LEN + 1];
  SwarmPeerRole role;
  /* FALSE for a consume-only viewer: announces nothing, serves nothing. */
  gboolean serve;
  /* Private swarm (nullable, borrowed for the peer's life): HELLOs carry
   * and require a proof of the secret. */
  const SwarmSecret *secret;
  /* The publisher's identity (borrowed): with its private key on the
   * origin, which proves its role in HELLO; the public key elsewhere,
   * which checks that proof. */
  SwarmIdentity *publisher;
} SwarmPeerLocal;

typedef struct {
  /* The link's local description is ready for signalling. */
  void (*description) (SwarmPeer * p, const gchar * sdp, gpointer user_data);
  /* Link up and the partner's HELLO checked out. */
  void (*ready) (SwarmPeer * p, gpointer user_data);
  /* The partner announced @seq. */
  void (*have) (SwarmPeer * p, guint64 seq, gboolean keyframe,
      gpointer user_data);
  /* The partner passed on the publisher's EDGE (not checked yet). */
  void (*edge) (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data);
  /* A chunk (DATA) or a parity chunk (PARITY) arrived. */
  void (*data) (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data);
  /* The partner queued chunks for upload: the session pumps them. */
  void (*upload) (SwarmPeer * p, gpointer user_data);
  /* The partner listed its other partners (@count ids of
   * SWARM_WIRE_PEER_ID_LEN bytes). */
  void (*pex) (SwarmPeer * p, const guint8 * ids, guint count,
      gpointer user_data);
  /* A relayed offer/answer fragment, for us or for one of our partners. */
  void (*signal) (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data);
  /* The partner does not hold @seq. */
  void (*absent) (SwarmPeer * p, guint64 seq, gpointer user_data);
  /* The partner holds @seq but turned our request away: its upload would
   * send it late. */
  void (*busy) (SwarmPeer * p, guint64 seq, gpointer user_data);
  /* The partner asked for the whole of @seq, and it is queued for it. */
  void (*asked) (SwarmPeer * p, guint64 seq, gpointer user_data);
  /* The partner asks for the whole of @seq, which we hold (nullable):
   * FALSE turns it away with BUSY, so that it asks someone else (our
   * upload would serve it late). */
  gboolean (*admit) (SwarmPeer * p, guint64 seq, gpointer user_data);
  /* Gone: link failure, silence, BYE or protocol violation.  Once. */
  void (*closed) (SwarmPeer * p, const GError * error, gpointer user_data);
} SwarmPeerCallbacks;

SwarmPeer *swarm_peer_new (GMainContext * context, SwarmLinkRole link_role,
    const SwarmLinkConfig * link_config, SwarmDtlsCredentials * credentials,
    const SwarmPeerLocal * local, SwarmStore * store,
    const SwarmPeerCallbacks * callbacks, gpointer user_data);
void swarm_peer_free (SwarmPeer * p);

gboolean swarm_peer_start (SwarmPeer * p, GError ** error);
gboolean swarm_peer_set_remote_description (SwarmPeer * p, const gchar * sdp,
    GError ** error);
/* Sends BYE if connected, closes the link; "closed" follows. */
void swarm_peer_close (SwarmPeer * p);

void swarm_peer_send_have (SwarmPeer * p, guint64 seq, SwarmSegmentFlags flags);
/* Reports again, through the "have" callback, what the partner announced
 * between @from and @to: its map became credible (swarm-edge.h). */
void swarm_peer_replay_haves (SwarmPeer * p, guint64 from, guint64 to);
/* Did this partner fetch at least two of the last few segments before
 * @seq from us?  Then we are its parent, and push it fresh ones. */
gboolean swarm_peer_is_child (SwarmPeer * p, guint64 seq);
/* Sends segment @seq unasked (it must be in the store).  FALSE if the
 * partner has it, we do not serve, or the upload queue is full. */
gboolean swarm_peer_push (SwarmPeer * p, guint64 seq);
guint64 swarm_peer_get_segments_pushed (SwarmPeer * p);
/* PARITY messages sent after whole segments (lossy links only). */
guint64 swarm_peer_get_parity_sent (SwarmPeer * p);
/* Any message the session composes itself (PEX, SIGNAL). */
void swarm_peer_send_message (SwarmPeer * p, const SwarmMessage * msg);
/* @count == 0: the whole segment; else the chunks set in @bits. */
void swarm_peer_request (SwarmPeer * p, guint64 seq, guint16 first_chunk,
    guint16 count, const guint8 * bits);
/* Tells the partner we no longer want @seq: it drops what it still has
 * queued of it. */
void swarm_peer_cancel (SwarmPeer * p, guint64 seq);
void swarm_peer_send_ack (SwarmPeer * p, guint64 seq, guint16 chunk_count,
    const guint8 * received_bits);
/* Sends queued chunks as far as congestion control and @limit (the
 * session's upload limit, nullable) allow.  Returns -1 when nothing is left
 * to send (or the link cannot send yet), else the µs until the next queued
 * chunk may go: its owner pumps again then, or when an ACK or a new upload
 * calls its upload callback, never in between (docs/design.md, Wire
 * protocol). */
gint64 swarm_peer_pump (SwarmPeer * p, SwarmRateLimiter * limit,
    gint64 now_us);
/* Acks received data that waited long enough (congestion feedback). */
void swarm_peer_flush_acks (SwarmPeer * p, gint64 now_us);
SwarmCongestion *swarm_peer_get_congestion (SwarmPeer * p);
/* Keep-alive and liveness; returns FALSE (and closes) if the partner went silent. */
gboolean swarm_peer_housekeeping (SwarmPeer * p, gint64 now_us);

/* The partner sent something senseless (@why, for the log) or a chunk we
 * did not want.  Beyond the bounds above it is closed with
 * SWARM_PEER_ERROR_MISBEHAVED; FALSE then. */
gboolean swarm_peer_note_junk (SwarmPeer * p, const gchar * why);
gboolean swarm_peer_note_waste (SwarmPeer * p);
/* The partner said something no honest peer could (a segment thousands
 * past what the publisher signed): closed and banned at once. */
void swarm_peer_note_lie (SwarmPeer * p, const gchar * why);

/* What this partner cost us: junk messages, unwanted chunks and requests
 * refused (upload queue full) since the link came up. */
typedef struct {
  guint64 junk;
  guint64 waste;
  guint64 requests_refused;
} SwarmPeerAbuse;
void swarm_peer_get_abuse (SwarmPeer * p, SwarmPeerAbuse * abuse);

gboolean swarm_peer_is_ready (SwarmPeer * p);
/* Asks for what a look at @p reads first, ahead of it (loops over many
 * partners: session_prefetch_partners). */
void swarm_peer_prefetch (SwarmPeer * p);
/* Up, greeted, and nothing received waits for its ACK: nothing for the
 * session's housekeeping to do soon (swarm-session.c). */
gboolean swarm_peer_is_settled (SwarmPeer * p);
gboolean swarm_peer_has (SwarmPeer * p, guint64 seq);
SwarmPeerRole swarm_peer_get_remote_role (SwarmPeer * p);
SwarmLinkRole swarm_peer_get_link_role (SwarmPeer * p);
const gchar *swarm_peer_get_remote_id (SwarmPeer * p);
void swarm_peer_set_remote_id (SwarmPeer * p, const gchar * peer_id);
const gchar *swarm_peer_get_offer_id (SwarmPeer * p);
void swarm_peer_set_offer_id (SwarmPeer * p, const gchar * offer_id);
gint64 swarm_peer_get_rtt_us (SwarmPeer * p);
gint64 swarm_peer_get_created_us (SwarmPeer * p);
/* When anything last came from it (0: nothing yet). */
gint64 swarm_peer_get_last_heard_us (SwarmPeer * p);
SwarmLink *swarm_peer_get_link (SwarmPeer * p);
/* Payload bytes of DATA sent to and received from this partner. */
guint64 swarm_peer_get_bytes_sent (SwarmPeer * p);
guint64 swarm_peer_get_bytes_received (SwarmPeer * p);

/* Session bookkeeping: segment transfers running from this partner. */
guint swarm_peer_get_in_flight (SwarmPeer * p);
/* Bytes queued for upload to the partner and not sent yet. */
gsize swarm_peer_get_upload_backlog (SwarmPeer * p);
void swarm_peer_set_in_flight (SwarmPeer * p, guint n);

G_END_DECLS

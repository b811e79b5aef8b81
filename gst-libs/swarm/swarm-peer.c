/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-peer.h"
#include "swarm-edge.h"
#include "swarm-private.h"

#define GST_CAT_DEFAULT swarm_peer_debug

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

  GHashTable *have;             /* seq (guint64*) -> GUINT_TO_POINTER (1 | key << 1) */
  gboolean role_refused;        /* claimed the origin's role, no proof */
  gboolean have_any;
  guint64 have_newest;

  GQueue uploads;               /* Upload* */

  gint64 created_us;
  gint64 last_recv_us;
  gint64 last_send_us;
  gint64 last_hello_us;
  gint64 rtt_us;
  gint64 last_ping_us;
  guint32 ping_nonce;

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
};

/* Congestion feedback: ack every few chunks, and soon after the first. */
#define ACK_EVERY_CHUNKS 8
#define ACK_DELAY_US (10 * 1000)

G_DEFINE_QUARK (swarm-peer-error-quark, swarm_peer_error);

static void
upload_free (Upload * u)
{
  g_bytes_unref (u->bytes);
  g_free (u->wanted);
  g_free (u);
}

static guint32
now_us32 (SwarmPeer * p)
{
  return (guint32) (swarm_clock_now_us (p->clock) & G_MAXUINT32);
}

static void
peer_send (SwarmPeer * p, const SwarmMessage * msg)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  gsize len;

  if (p->closed || !p->link_up)
    return;
  len = swarm_wire_write (msg, buf, sizeof buf);
  g_return_if_fail (len > 0);
  if (swarm_link_send (p->link, buf, len))
    p->last_send_us = swarm_clock_now_us (p->clock);
}

static void
peer_fail (SwarmPeer * p, GQuark domain, gint code, const gchar * why)
{
  GError *error;

  if (p->closed)
    return;
  error = g_error_new_literal (domain, code, why);
  GST_INFO ("peer %s: closing: %s", p->remote_id ? p->remote_id : "?", why);
  p->closed = TRUE;
  if (p->link_up) {
    SwarmMessage bye = {.type = SWARM_MSG_BYE };
    guint8 buf[16];
    gsize len = swarm_wire_write (&bye, buf, sizeof buf);
    swarm_link_send (p->link, buf, len);
  }
  swarm_link_close (p->link);
  if (p->callbacks.closed)
    p->callbacks.closed (p, error, p->user_data);
  g_error_free (error);
}

static void peer_send_full_have (SwarmPeer * p);

/* Takes one token from @budget; none left: the partner is cut off. */
static gboolean
peer_spend (SwarmPeer * p, SwarmRateLimiter * budget, const gchar * why)
{
  if (p->closed)
    return FALSE;
  if (swarm_rate_limiter_take (budget, swarm_clock_now_us (p->clock), 1) == 1)
    return TRUE;
  GST_WARNING ("peer %s misbehaves (%s): disconnecting",
      p->remote_id ? p->remote_id : "?", why);
  peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_MISBEHAVED, why);
  return FALSE;
}

gboolean
swarm_peer_note_junk (SwarmPeer * p, const gchar * why)
{
  p->abuse.junk++;
  GST_DEBUG ("peer %s: junk: %s", p->remote_id ? p->remote_id : "?", why);
  return peer_spend (p, p->junk_budget, why);
}

void
swarm_peer_note_lie (SwarmPeer * p, const gchar * why)
{
  if (p->closed)
    return;
  p->abuse.junk++;
  GST_WARNING ("peer %s lies (%s): disconnecting",
      p->remote_id ? p->remote_id : "?", why);
  peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_MISBEHAVED, why);
}

gboolean
swarm_peer_note_waste (SwarmPeer * p)
{
  p->abuse.waste++;
  return peer_spend (p, p->waste_budget, "flood of unwanted chunks");
}

void
swarm_peer_get_abuse (SwarmPeer * p, SwarmPeerAbuse * abuse)
{
  *abuse = p->abuse;
}

/* One ACK: congestion feedback for everything received on the link since
 * the last one, plus (optionally) which chunks of @seq we hold. */
static void
peer_send_ack (SwarmPeer * p, guint64 seq, guint16 count, const guint8 * bits)
{
  SwarmMessage ack = {.type = SWARM_MSG_ACK };

  ack.ack.seq = seq;
  ack.ack.echo_time_us = p->echo_time_us;
  ack.ack.recv_bytes_total = p->recv_bytes_total;
  ack.ack.delay_sample_us = p->delay_min_us;
  ack.ack.first_chunk = 0;
  ack.ack.count = count;
  ack.ack.bits = bits;
  p->unacked_chunks = 0;
  peer_send (p, &ack);
}

/* ---- link callbacks -------------------------------------------------- */

static void
on_link_description (SwarmLink * link, const gchar * sdp, gpointer user_data)
{
  SwarmPeer *p = user_data;

  if (!p->closed && p->callbacks.description)
    p->callbacks.description (p, sdp, p->user_data);
}

/* HELLO is a datagram like any other: it is sent again every
 * HELLO_RETRY_US until the partner's arrives, and a partner that says
 * HELLO again evidently lost ours.  (Its first copy can also arrive while
 * the partner's DTLS is still finishing, when it cannot be read.) */
#define HELLO_RETRY_US (200 * 1000)

static void
peer_send_hello (SwarmPeer * p)
{
  SwarmMessage hello = {.type = SWARM_MSG_HELLO };

  p->last_hello_us = swarm_clock_now_us (p->clock);
  memcpy (hello.hello.swarm_key, p->local.swarm_key, SWARM_WIRE_KEY_LEN);
  memcpy (hello.hello.peer_id, p->local.peer_id, SWARM_WIRE_PEER_ID_LEN);
  hello.hello.role = p->local.role;
  if (p->local.secret) {
    guint8 exported[SWARM_SECRET_EXPORTER_LEN];

    if (!swarm_link_export_keying_material (p->link,
            SWARM_SECRET_EXPORTER_LABEL, exported, sizeof (exported))) {
      peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_PROTOCOL,
          "could not export DTLS keying material");
      return;
    }
    swarm_secret_hello_proof (p->local.secret, exported, p->local.peer_id,
        SWARM_WIRE_PEER_ID_LEN, hello.hello.proof);
    hello.hello.has_proof = TRUE;
  }
  if (p->local.role == SWARM_PEER_ROLE_ORIGIN && p->local.publisher
      && swarm_identity_has_private_key (p->local.publisher)) {
    guint8 exported[SWARM_SECRET_EXPORTER_LEN];

    hello.hello.has_origin_proof =
        swarm_link_export_keying_material (p->link,
        SWARM_SECRET_EXPORTER_LABEL, exported, sizeof (exported))
        && swarm_edge_sign_origin_proof (p->local.publisher, exported,
        sizeof exported, hello.hello.origin_proof);
  }
  peer_send (p, &hello);
}

static void
on_link_connected (SwarmLink * link, gpointer user_data)
{
  SwarmPeer *p = user_data;

  p->link_up = TRUE;
  p->last_recv_us = swarm_clock_now_us (p->clock);
  peer_send_hello (p);
}

static void
on_link_closed (SwarmLink * link, const GError * error, gpointer user_data)
{
  SwarmPeer *p = user_data;

  if (p->closed)
    return;
  p->closed = TRUE;
  p->link_up = FALSE;
  if (p->callbacks.closed)
    p->callbacks.closed (p, error, p->user_data);
}

static void
peer_note_have (SwarmPeer * p, guint64 seq, gboolean key)
{
  guint64 *k;

  if (g_hash_table_contains (p->have, &seq))
    return;
  /* Ignore announcements far behind what this partner already told us. */
  if (p->have_any && p->have_newest > SWARM_PEER_HAVE_WINDOW
      && seq < p->have_newest - SWARM_PEER_HAVE_WINDOW)
    return;
  k = g_new (guint64, 1);
  *k = seq;
  g_hash_table_insert (p->have, k, GUINT_TO_POINTER (1 | (key ? 2 : 0)));
  if (!p->have_any || seq > p->have_newest) {
    p->have_newest = seq;
    p->have_any = TRUE;
  }
  if (g_hash_table_size (p->have) > SWARM_PEER_HAVE_WINDOW) {
    GHashTableIter it;
    gpointer kp;
    guint64 floor = p->have_newest - MIN (p->have_newest,
        SWARM_PEER_HAVE_WINDOW / 2);

    g_hash_table_iter_init (&it, p->have);
    while (g_hash_table_iter_next (&it, &kp, NULL))
      if (*(guint64 *) kp < floor)
        g_hash_table_iter_remove (&it);
  }
  if (p->callbacks.have)
    p->callbacks.have (p, seq, key, p->user_data);
}

/* Two views of the loss: chunks the partner asked for again, and what
 * congestion control gave up on (repairs that arrive are credited back to
 * it, so alone it reads low on a link whose losses are repaired).  Once
 * lossy, a link stays so: parity hides the losses it rebuilds from both,
 * and turning it off would bring them back. */
static gboolean
peer_link_is_lossy (SwarmPeer * p)
{
  SwarmCongestionStats st;

  if (p->parity_on)
    return TRUE;
  swarm_congestion_get_stats (p->cc, swarm_clock_now_us (p->clock), &st);
  if (st.bytes_sent < PARITY_MIN_SENT)
    return FALSE;
  p->parity_on = st.bytes_lost > PARITY_LOSS_RATE * st.bytes_sent
      || (gdouble) p->chunks_asked_again * SWARM_CHUNK_SIZE >
      PARITY_LOSS_RATE * st.bytes_sent;
  if (p->parity_on)
    GST_DEBUG ("peer %s: link loses %" G_GUINT64_FORMAT " chunks asked again, "
        "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes given up: "
        "parity from now on", p->remote_id, p->chunks_asked_again,
        st.bytes_lost, st.bytes_sent);
  return p->parity_on;
}

/* PARITY for group @group of @u: the XOR of its chunks, each padded with
 * zeros to a whole chunk, into @out (SWARM_CHUNK_SIZE bytes). */
static void
upload_parity (const Upload * u, guint group, guint8 * out)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (u->bytes, &size);
  guint c;

  memset (out, 0, SWARM_CHUNK_SIZE);
  for (c = group; c < u->chunk_count; c += u->parity_groups) {
    gsize off = (gsize) c * SWARM_CHUNK_SIZE;
    gsize len = MIN (SWARM_CHUNK_SIZE, size - off), i;

    for (i = 0; i < len; i++)
      out[i] ^= data[off + i];
  }
}

/* Queues (a part of) segment @seq for upload: @count == 0 the whole of it,
 * else the chunks set in @bits from @first.  FALSE if we cannot. */
static gboolean
peer_queue_upload (SwarmPeer * p, guint64 seq, guint16 first, guint16 count,
    const guint8 * bits)
{
  GBytes *bytes;
  Upload *u;
  gsize size;
  guint chunk_count;
  GList *l;

  if (!p->local.serve || p->uploads.length >= SWARM_PEER_MAX_UPLOADS
      || !(bytes = swarm_store_get (p->store, seq)))
    return FALSE;
  size = g_bytes_get_size (bytes);
  chunk_count = (size + SWARM_CHUNK_SIZE - 1) / SWARM_CHUNK_SIZE;

  /* A whole-segment upload already queued covers any new one. */
  for (l = p->uploads.head; l; l = l->next) {
    Upload *q = l->data;
    if (q->seq == seq && !q->wanted && count == 0) {
      g_bytes_unref (bytes);
      return TRUE;
    }
  }

  u = g_new0 (Upload, 1);
  u->seq = seq;
  u->bytes = bytes;
  u->chunk_count = chunk_count;
  u->queued_us = swarm_clock_now_us (p->clock);
  if (count == 0 && peer_link_is_lossy (p))
    u->parity_groups = swarm_wire_parity_groups (chunk_count);
  if (count > 0) {
    guint i;

    u->wanted = g_malloc0 ((chunk_count + 7) / 8);
    for (i = 0; i < count; i++) {
      guint c = first + i;
      if (c < chunk_count && swarm_wire_bit_get (bits, i))
        swarm_wire_bit_set (u->wanted, c);
    }
    u->next = first;
  }
  /* A re-request names the few chunks the partner lost; it goes ahead of
   * whole segments queued meanwhile, or a congestion-limited link keeps
   * sending newer data while the partner's oldest segment misses its
   * deadline for want of one chunk. */
  if (count > 0)
    g_queue_push_head (&p->uploads, u);
  else
    g_queue_push_tail (&p->uploads, u);
  GST_LOG ("peer %s: queued %" G_GUINT64_FORMAT " (%s), %u uploads queued",
      p->remote_id, seq, count ? "repair" : "whole", p->uploads.length);
  if (p->callbacks.upload)
    p->callbacks.upload (p, p->user_data);
  return TRUE;
}

/* Drops whatever is queued for @seq, the upload in progress included. */
static void
peer_cancel_uploads (SwarmPeer * p, guint64 seq)
{
  GList *l = p->uploads.head;
  guint n = 0;

  while (l) {
    GList *next = l->next;
    Upload *u = l->data;

    if (u->seq == seq) {
      upload_free (u);
      g_queue_delete_link (&p->uploads, l);
      n++;
    }
    l = next;
  }
  if (n)
    GST_LOG ("peer %s: cancelled %" G_GUINT64_FORMAT ", %u uploads queued",
        p->remote_id, seq, p->uploads.length);
}

/* The partner takes segment @seq from us whole: asked for it, or kept
 * what we pushed.  Two of the last few make it a child (swarm_peer_is_child);
 * counting the pushes it keeps holds a push chain together, where before a
 * child pushed to stopped asking, and so stopped being pushed to, after
 * four segments (in the lab one segment in ten came pushed). */
static void
peer_note_taken (SwarmPeer * p, guint64 seq)
{
  guint i;

  for (i = 0; i < MIN (p->n_requests, G_N_ELEMENTS (p->recent_requests)); i++)
    if (p->recent_requests[i] == seq)
      return;
  p->recent_requests[p->n_requests++ % G_N_ELEMENTS (p->recent_requests)] =
      seq;
}

/* An ACK reporting every chunk of a segment we pushed. */
static void
peer_note_push_taken (SwarmPeer * p, const SwarmMessage * msg)
{
  guint i, n = MIN (p->n_pushes, G_N_ELEMENTS (p->recent_pushes));

  if (msg->ack.count == 0 || msg->ack.first_chunk != 0)
    return;
  for (i = 0; i < msg->ack.count; i++)
    if (!swarm_wire_bit_get (msg->ack.bits, i))
      return;
  for (i = 0; i < n; i++)
    if (p->recent_pushes[i] == msg->ack.seq) {
      peer_note_taken (p, msg->ack.seq);
      return;
    }
}

static void
peer_handle_request (SwarmPeer * p, const SwarmMessage * msg)
{
  if (!peer_spend (p, p->request_budget, "flood of requests"))
    return;
  if (msg->request.count == 0) {
    peer_note_taken (p, msg->request.seq);
  } else {
    guint i;

    for (i = 0; i < msg->request.count; i++)
      if (swarm_wire_bit_get (msg->request.bits, i))
        p->chunks_asked_again++;
  }
  if (!peer_queue_upload (p, msg->request.seq, msg->request.first_chunk,
          msg->request.count, msg->request.bits)) {
    SwarmMessage absent = {.type = SWARM_MSG_ABSENT };

    if (p->local.serve && p->uploads.length >= SWARM_PEER_MAX_UPLOADS)
      p->abuse.requests_refused++;
    absent.absent.seq = msg->request.seq;
    peer_send (p, &absent);
  }
}

/* Private swarm: the partner must prove, on this very DTLS session, that
 * it knows the secret.  Public swarm: a partner that offers a proof is in a
 * private swarm with the same key, and we cannot follow it. */
static gboolean
peer_check_proof (SwarmPeer * p, const SwarmMessage * msg)
{
  guint8 exported[SWARM_SECRET_EXPORTER_LEN];

  if (!p->local.secret) {
    if (!msg->hello.has_proof)
      return TRUE;
    peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_SECRET,
        "partner belongs to a private swarm");
    return FALSE;
  }
  if (!msg->hello.has_proof
      || !swarm_link_export_keying_material (p->link,
          SWARM_SECRET_EXPORTER_LABEL, exported, sizeof (exported))
      || !swarm_secret_check_hello_proof (p->local.secret, exported,
          msg->hello.peer_id, SWARM_WIRE_PEER_ID_LEN, msg->hello.proof)) {
    peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_SECRET,
        "partner did not prove it knows the swarm secret");
    return FALSE;
  }
  return TRUE;
}

/* Only the publisher can sign for the origin's role, over this very
 * link's keying material: a partner that claims it without the proof is
 * a viewer, and a liar. */
static SwarmPeerRole
peer_check_role (SwarmPeer * p, const SwarmMessage * msg)
{
  guint8 exported[SWARM_SECRET_EXPORTER_LEN];

  if (msg->hello.role != SWARM_PEER_ROLE_ORIGIN)
    return SWARM_PEER_ROLE_VIEWER;
  if (p->local.publisher && msg->hello.has_origin_proof
      && swarm_link_export_keying_material (p->link,
          SWARM_SECRET_EXPORTER_LABEL, exported, sizeof (exported))
      && swarm_edge_verify_origin_proof (p->local.publisher, exported,
          sizeof exported, msg->hello.origin_proof))
    return SWARM_PEER_ROLE_ORIGIN;
  p->role_refused = TRUE;
  swarm_peer_note_junk (p, "claims to be the origin without its proof");
  return SWARM_PEER_ROLE_VIEWER;
}

static void
peer_handle (SwarmPeer * p, const SwarmMessage * msg)
{
  switch (msg->type) {
    case SWARM_MSG_HELLO:{
      gchar id[SWARM_WIRE_PEER_ID_LEN + 1];

      if (memcmp (msg->hello.swarm_key, p->local.swarm_key,
              SWARM_WIRE_KEY_LEN) != 0) {
        peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_PROTOCOL,
            "partner belongs to another swarm");
        return;
      }
      memcpy (id, msg->hello.peer_id, SWARM_WIRE_PEER_ID_LEN);
      id[SWARM_WIRE_PEER_ID_LEN] = '\0';
      if (p->remote_id && strcmp (p->remote_id, id) != 0) {
        peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_PROTOCOL,
            "partner's HELLO does not match its tracker peer id");
        return;
      }
      if (p->hello_received) {
        /* it lost ours: answer, at most once per half retry interval;
         * anything faster is not a retry */
        if (swarm_clock_now_us (p->clock) - p->last_hello_us > HELLO_RETRY_US / 2)
          peer_send_hello (p);
        else
          swarm_peer_note_junk (p, "HELLO again");
        return;
      }
      if (!peer_check_proof (p, msg))
        return;
      g_free (p->remote_id);
      p->remote_id = g_strdup (id);
      p->remote_role = peer_check_role (p, msg);
      if (p->closed)
        return;
      p->hello_received = TRUE;
      /* ready first: the session sends the publisher's EDGE, which makes
       * the map that follows credible to the partner */
      if (p->callbacks.ready)
        p->callbacks.ready (p, p->user_data);
      peer_send_full_have (p);
      break;
    }
    case SWARM_MSG_EDGE:
      if (p->callbacks.edge)
        p->callbacks.edge (p, msg, p->user_data);
      break;
    case SWARM_MSG_HAVE:{
      guint i;

      /* Newest first: a joiner waiting for a place to start must see the
       * newest keyframe of a full map before any older one. */
      for (i = msg->have.count; i-- > 0;)
        if (swarm_wire_bit_get (msg->have.have_bits, i))
          peer_note_have (p, msg->have.first_seq + i,
              swarm_wire_bit_get (msg->have.key_bits, i));
      break;
    }
    case SWARM_MSG_REQUEST:
      /* asking again for chunks of a segment: some we sent were lost */
      if (msg->request.count > 0)
        swarm_congestion_on_loss (p->cc, swarm_clock_now_us (p->clock));
      peer_handle_request (p, msg);
      break;
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:{
      /* parity is data to congestion control: sent, received, acked */
      guint32 sample = now_us32 (p) - msg->data.send_time_us;

      p->bytes_received += msg->data.payload_len;
      p->recv_bytes_total += msg->data.payload_len;
      if (p->unacked_chunks == 0
          || (gint32) (sample - p->delay_min_us) < 0)
        p->delay_min_us = sample;
      if (p->unacked_chunks++ == 0)
        p->first_unacked_us = swarm_clock_now_us (p->clock);
      p->echo_time_us = msg->data.send_time_us;
      p->last_data_seq = msg->data.seq;
      if (p->unacked_chunks >= ACK_EVERY_CHUNKS)
        peer_send_ack (p, msg->data.seq, 0, NULL);
    }
      if (p->callbacks.data)
        p->callbacks.data (p, msg, p->user_data);
      break;
    case SWARM_MSG_CANCEL:
      /* the partner gave up on this segment (played past it, or asked
       * someone else): what is still queued for it would only crowd out
       * what it wants now */
      if (peer_spend (p, p->request_budget, "flood of requests"))
        peer_cancel_uploads (p, msg->cancel.seq);
      break;
    case SWARM_MSG_ABSENT:
      g_hash_table_remove (p->have, &msg->absent.seq);
      if (p->callbacks.absent)
        p->callbacks.absent (p, msg->absent.seq, p->user_data);
      break;
    case SWARM_MSG_PING:{
      SwarmMessage pong = {.type = SWARM_MSG_PONG };

      pong.ping = msg->ping;
      peer_send (p, &pong);
      break;
    }
    case SWARM_MSG_PONG:
      if (msg->ping.nonce == p->ping_nonce) {
        gint64 sample = (guint32) (now_us32 (p) - msg->ping.time_us);
        p->rtt_us = p->rtt_us ? (7 * p->rtt_us + sample) / 8 : sample;
        swarm_congestion_on_rtt_sample (p->cc, sample, swarm_clock_now_us (p->clock));
      }
      break;
    case SWARM_MSG_BYE:
      peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_LEFT, "partner left");
      break;
    case SWARM_MSG_PEX:
      if (p->callbacks.pex)
        p->callbacks.pex (p, msg->pex.ids, msg->pex.count, p->user_data);
      break;
    case SWARM_MSG_SIGNAL:
      if (p->callbacks.signal)
        p->callbacks.signal (p, msg, p->user_data);
      break;
    case SWARM_MSG_ACK:
      peer_note_push_taken (p, msg);
      swarm_congestion_on_ack (p->cc, msg->ack.recv_bytes_total,
          msg->ack.delay_sample_us, msg->ack.echo_time_us,
          swarm_clock_now_us (p->clock));
      /* the window may have opened */
      if (!g_queue_is_empty (&p->uploads) && p->callbacks.upload)
        p->callbacks.upload (p, p->user_data);
      break;
  }
}

static void
on_link_datagram (SwarmLink * link, const guint8 * data, gsize len,
    gpointer user_data)
{
  SwarmPeer *p = user_data;
  SwarmMessage msg;
  GError *error = NULL;

  if (p->closed)
    return;
  if (!swarm_wire_parse (data, len, &msg, &error)) {
    GST_DEBUG ("peer %s: dropping bad datagram: %s",
        p->remote_id ? p->remote_id : "?", error->message);
    g_error_free (error);
    swarm_peer_note_junk (p, "malformed datagram");
    return;
  }
  p->last_recv_us = swarm_clock_now_us (p->clock);
  if (!p->hello_received && msg.type != SWARM_MSG_HELLO) {
    /* nothing counts before the partner said who it is */
    swarm_peer_note_junk (p, "message before HELLO");
    return;
  }
  peer_handle (p, &msg);
}

/* ---- public ---------------------------------------------------------- */

SwarmPeer *
swarm_peer_new (GMainContext * context, SwarmLinkRole link_role,
    const SwarmLinkConfig * link_config, SwarmDtlsCredentials * credentials,
    const SwarmPeerLocal * local, SwarmStore * store,
    const SwarmPeerCallbacks * callbacks, gpointer user_data)
{
  static const SwarmLinkCallbacks link_callbacks = {
    .description = on_link_description,
    .connected = on_link_connected,
    .datagram = on_link_datagram,
    .closed = on_link_closed,
  };
  SwarmPeer *p = g_new0 (SwarmPeer, 1);

  p->context = context;
  p->clock = link_config->clock ? link_config->clock : swarm_clock_get_system ();
  p->link_role = link_role;
  p->local = *local;
  p->store = store;
  p->callbacks = *callbacks;
  p->user_data = user_data;
  p->have = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_queue_init (&p->uploads);
  p->created_us = swarm_clock_now_us (p->clock);
  p->cc = swarm_congestion_new (NULL);
  p->request_budget = swarm_rate_limiter_new (SWARM_PEER_REQUESTS_PER_S,
      SWARM_PEER_REQUEST_BURST);
  p->junk_budget = swarm_rate_limiter_new (SWARM_PEER_JUNK_PER_S,
      SWARM_PEER_JUNK_BURST);
  p->waste_budget = swarm_rate_limiter_new (SWARM_PEER_WASTE_PER_S,
      SWARM_PEER_WASTE_BURST);
  p->link = swarm_link_new (context, link_role, link_config, credentials,
      &link_callbacks, p);
  return p;
}

void
swarm_peer_free (SwarmPeer * p)
{
  if (!p)
    return;
  p->closed = TRUE;
  swarm_link_unref (p->link);
  g_queue_clear_full (&p->uploads, (GDestroyNotify) upload_free);
  g_hash_table_destroy (p->have);
  swarm_congestion_free (p->cc);
  swarm_rate_limiter_free (p->request_budget);
  swarm_rate_limiter_free (p->junk_budget);
  swarm_rate_limiter_free (p->waste_budget);
  g_free (p->remote_id);
  g_free (p->offer_id);
  g_free (p);
}

gboolean
swarm_peer_start (SwarmPeer * p, GError ** error)
{
  return swarm_link_start (p->link, error);
}

gboolean
swarm_peer_set_remote_description (SwarmPeer * p, const gchar * sdp,
    GError ** error)
{
  return swarm_link_set_remote_description (p->link, sdp, error);
}

void
swarm_peer_close (SwarmPeer * p)
{
  if (p->closed)
    return;
  if (p->link_up) {
    SwarmMessage bye = {.type = SWARM_MSG_BYE };
    peer_send (p, &bye);
  }
  p->closed = TRUE;
  swarm_link_close (p->link);
  if (p->callbacks.closed)
    p->callbacks.closed (p, NULL, p->user_data);
}

gboolean
swarm_peer_is_child (SwarmPeer * p, guint64 seq)
{
  guint i, n = 0;

  for (i = 0; i < MIN (p->n_requests, G_N_ELEMENTS (p->recent_requests)); i++)
    if (p->recent_requests[i] + 4 >= seq)
      n++;
  return n >= 2;
}

gboolean
swarm_peer_push (SwarmPeer * p, guint64 seq)
{
  if (!swarm_peer_is_ready (p) || swarm_peer_has (p, seq)
      || !peer_queue_upload (p, seq, 0, 0, NULL))
    return FALSE;
  p->segments_pushed++;
  p->recent_pushes[p->n_pushes++ % G_N_ELEMENTS (p->recent_pushes)] = seq;
  return TRUE;
}

guint64
swarm_peer_get_segments_pushed (SwarmPeer * p)
{
  return p->segments_pushed;
}

guint64
swarm_peer_get_parity_sent (SwarmPeer * p)
{
  return p->parity_sent;
}

void
swarm_peer_send_message (SwarmPeer * p, const SwarmMessage * msg)
{
  peer_send (p, msg);
}

/* Sets the bits of [@first, @last] (@last ≥ @first) the store holds, and
 * of those that start on a keyframe; bit 0 is @first. */
static void
peer_fill_map (SwarmPeer * p, guint64 first, guint64 last, guint8 * have_bits,
    guint8 * key_bits)
{
  guint64 i;

  for (i = 0; i <= last - first; i++) {
    SwarmSegmentFlags flags;

    if (swarm_store_get_flags (p->store, first + i, &flags)) {
      swarm_wire_bit_set (have_bits, i);
      if (flags & SWARM_SEGMENT_FLAG_KEYFRAME)
        swarm_wire_bit_set (key_bits, i);
    }
  }
}

/* Each announcement repeats the map of the few segments before it: a HAVE
 * is one datagram, and one lost on the only path a segment could come by
 * left it unknown, so never asked for (in the lab bench at 2 % loss, half
 * the segments viewers missed were never requested).  What is known
 * already costs the receiver a lookup. */
#define HAVE_REPEAT 8

void
swarm_peer_replay_haves (SwarmPeer * p, guint64 from, guint64 to)
{
  GHashTableIter it;
  gpointer k, v;
  GArray *seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint i;

  if (!p->callbacks.have || p->closed)
    return;
  /* the callback may not touch the table while we walk it: copy first
   * (at most SWARM_PEER_HAVE_WINDOW entries) */
  g_hash_table_iter_init (&it, p->have);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    guint64 seq = *(guint64 *) k;
    if (seq >= from && seq <= to)
      g_array_append_val (seqs, seq);
  }
  for (i = 0; i < seqs->len && !p->closed; i++) {
    guint64 seq = g_array_index (seqs, guint64, i);
    gpointer flags = g_hash_table_lookup (p->have, &seq);

    if (flags)
      p->callbacks.have (p, seq, (GPOINTER_TO_UINT (flags) & 2) != 0,
          p->user_data);
  }
  g_array_free (seqs, TRUE);
}

void
swarm_peer_send_have (SwarmPeer * p, guint64 seq, SwarmSegmentFlags flags)
{
  SwarmMessage have = {.type = SWARM_MSG_HAVE };
  guint8 have_bits[(HAVE_REPEAT + 7) / 8] = { 0 };
  guint8 key_bits[(HAVE_REPEAT + 7) / 8] = { 0 };
  guint64 first = seq - MIN (seq, HAVE_REPEAT - 1);

  if (!p->local.serve)
    return;
  if (seq > first)
    peer_fill_map (p, first, seq - 1, have_bits, key_bits);
  swarm_wire_bit_set (have_bits, seq - first);
  if (flags & SWARM_SEGMENT_FLAG_KEYFRAME)
    swarm_wire_bit_set (key_bits, seq - first);
  have.have.first_seq = first;
  have.have.count = seq - first + 1;
  have.have.have_bits = have_bits;
  have.have.key_bits = key_bits;
  peer_send (p, &have);
}

/* The whole buffer map, right after HELLO. */
static void
peer_send_full_have (SwarmPeer * p)
{
  guint64 oldest, newest, first;
  guint8 have_bits[SWARM_WIRE_MAX_HAVE_BITS / 8] = { 0 };
  guint8 key_bits[SWARM_WIRE_MAX_HAVE_BITS / 8] = { 0 };
  SwarmMessage have = {.type = SWARM_MSG_HAVE };

  if (!p->local.serve || !swarm_store_get_range (p->store, &oldest, &newest))
    return;
  first = MAX (oldest, newest - MIN (newest, SWARM_WIRE_MAX_HAVE_BITS - 1));
  peer_fill_map (p, first, newest, have_bits, key_bits);
  have.have.first_seq = first;
  have.have.count = newest - first + 1;
  have.have.have_bits = have_bits;
  have.have.key_bits = key_bits;
  peer_send (p, &have);
}

void
swarm_peer_request (SwarmPeer * p, guint64 seq, guint16 first_chunk,
    guint16 count, const guint8 * bits)
{
  SwarmMessage req = {.type = SWARM_MSG_REQUEST };

  req.request.seq = seq;
  req.request.first_chunk = first_chunk;
  req.request.count = count;
  req.request.bits = bits;
  /* A bitmap of every chunk of a big segment may not fit one datagram:
   * split it. */
  while (req.request.count > 0 && (req.request.count + 7) / 8 + 16 >
      SWARM_WIRE_MAX_DATAGRAM) {
    SwarmMessage part = req;
    guint n = (SWARM_WIRE_MAX_DATAGRAM - 32) * 8;

    part.request.count = n;
    peer_send (p, &part);
    req.request.first_chunk += n;
    req.request.count -= n;
    req.request.bits += n / 8;
  }
  peer_send (p, &req);
}

void
swarm_peer_cancel (SwarmPeer * p, guint64 seq)
{
  SwarmMessage cancel = {.type = SWARM_MSG_CANCEL };

  if (p->closed || !p->hello_received)
    return;
  cancel.cancel.seq = seq;
  peer_send (p, &cancel);
}

void
swarm_peer_send_ack (SwarmPeer * p, guint64 seq, guint16 chunk_count,
    const guint8 * received_bits)
{
  /* A summary is enough; cap the bitmap to what fits a datagram. */
  peer_send_ack (p, seq, MIN (chunk_count, (SWARM_WIRE_MAX_DATAGRAM - 40) * 8),
      received_bits);
}

void
swarm_peer_flush_acks (SwarmPeer * p, gint64 now_us)
{
  if (p->unacked_chunks > 0 && now_us - p->first_unacked_us >= ACK_DELAY_US)
    peer_send_ack (p, p->last_data_seq, 0, NULL);
}

SwarmCongestion *
swarm_peer_get_congestion (SwarmPeer * p)
{
  return p->cc;
}

/* One line per upload, for reading a slow transfer from the sender's side
 * (tools/bench/bench-arrivals.py reads the receiver's). */
static void
upload_log_done (SwarmPeer * p, const Upload * u, gint64 now_us)
{
  SwarmCongestionStats st;

  if (gst_debug_category_get_threshold (GST_CAT_DEFAULT) < GST_LEVEL_DEBUG)
    return;
  swarm_congestion_get_stats (p->cc, now_us, &st);
  GST_DEBUG ("peer %s: sent %" G_GUINT64_FORMAT " (%s, %u chunks), waited "
      "%" G_GINT64_FORMAT " ms, sending took %" G_GINT64_FORMAT " ms, %u more "
      "queued; cwnd %" G_GSIZE_FORMAT ", in flight %" G_GSIZE_FORMAT ", srtt %"
      G_GINT64_FORMAT " ms, pacing %" G_GUINT64_FORMAT " kbit/s, %u losses, "
      "%u timeouts", p->remote_id, u->seq, u->wanted ? "repair" : "whole",
      u->chunk_count, ((u->started_us ? u->started_us : now_us) -
          u->queued_us) / 1000, u->started_us ? (now_us - u->started_us) /
      1000 : 0, p->uploads.length - 1, st.cwnd, st.in_flight,
      st.srtt_us / 1000, st.pacing_rate * 8 / 1000, st.losses, st.timeouts);
}

gboolean
swarm_peer_pump (SwarmPeer * p, SwarmRateLimiter * limit, gint64 now_us)
{
  gsize allow;

  if (p->closed || !p->hello_received)
    return FALSE;
  allow = swarm_congestion_get_allowance (p->cc, now_us);
  if (limit)
    allow = MIN (allow, swarm_rate_limiter_get_available (limit, now_us));

  swarm_link_begin_batch (p->link);
  while (!g_queue_is_empty (&p->uploads)) {
    Upload *u = g_queue_peek_head (&p->uploads);
    gsize size;
    const guint8 *data = g_bytes_get_data (u->bytes, &size);
    gboolean blocked = FALSE;

    while (u->next < u->chunk_count + u->parity_groups) {
      guint c = u->next;
      SwarmMessage msg = {.type = SWARM_MSG_DATA };
      guint8 parity[SWARM_CHUNK_SIZE];
      gsize off = (gsize) c * SWARM_CHUNK_SIZE;
      gsize len = c < u->chunk_count ? MIN (SWARM_CHUNK_SIZE, size - off) :
          SWARM_CHUNK_SIZE;

      if (c < u->chunk_count && u->wanted
          && !swarm_wire_bit_get (u->wanted, c)) {
        u->next++;
        continue;
      }
      if (len > allow) {
        blocked = TRUE;
        break;
      }
      u->next++;
      if (!u->started_us)
        u->started_us = now_us;
      msg.data.seq = u->seq;
      msg.data.chunk_index = c;
      msg.data.chunk_count = u->chunk_count;
      msg.data.segment_size = size;
      msg.data.send_time_us = now_us32 (p);
      msg.data.payload = data + off;
      msg.data.payload_len = len;
      if (c >= u->chunk_count) {
        msg.type = SWARM_MSG_PARITY;
        msg.data.chunk_index = c - u->chunk_count;
        msg.data.parity_groups = u->parity_groups;
        upload_parity (u, msg.data.chunk_index, parity);
        msg.data.payload = parity;
        p->parity_sent++;
      }
      peer_send (p, &msg);
      p->bytes_sent += len;
      allow -= len;
      swarm_congestion_on_send (p->cc, len, now_us);
      if (limit)
        swarm_rate_limiter_consume (limit, len, now_us);
    }
    if (blocked)
      break;
    upload_log_done (p, u, now_us);
    upload_free (g_queue_pop_head (&p->uploads));
  }
  swarm_link_end_batch (p->link);
  return !g_queue_is_empty (&p->uploads);
}

gboolean
swarm_peer_housekeeping (SwarmPeer * p, gint64 now_us)
{
  if (p->closed)
    return FALSE;
  if (!p->link_up)
    return TRUE;                /* the link's own connect timeout covers setup */
  if (now_us - p->last_recv_us > SWARM_PEER_SILENCE_US) {
    peer_fail (p, SWARM_PEER_ERROR, SWARM_PEER_ERROR_SILENT,
        "partner went silent");
    return FALSE;
  }
  if (!p->hello_received && now_us - p->last_hello_us > HELLO_RETRY_US)
    peer_send_hello (p);
  /* Also on a busy link: a viewer that only receives learns its RTT, which
   * times its loss repair, from nothing else. */
  if (now_us - p->last_ping_us > SWARM_PEER_PING_US) {
    SwarmMessage ping = {.type = SWARM_MSG_PING };

    p->last_ping_us = now_us;

    ping.ping.nonce = ++p->ping_nonce;
    ping.ping.time_us = now_us32 (p);
    peer_send (p, &ping);
  }
  return TRUE;
}

gboolean
swarm_peer_is_ready (SwarmPeer * p)
{
  return !p->closed && p->hello_received;
}

gboolean
swarm_peer_has (SwarmPeer * p, guint64 seq)
{
  return g_hash_table_contains (p->have, &seq);
}

SwarmPeerRole
swarm_peer_get_remote_role (SwarmPeer * p)
{
  return p->remote_role;
}

SwarmLinkRole
swarm_peer_get_link_role (SwarmPeer * p)
{
  return p->link_role;
}

const gchar *
swarm_peer_get_remote_id (SwarmPeer * p)
{
  return p->remote_id;
}

void
swarm_peer_set_remote_id (SwarmPeer * p, const gchar * peer_id)
{
  g_free (p->remote_id);
  p->remote_id = g_strdup (peer_id);
}

const gchar *
swarm_peer_get_offer_id (SwarmPeer * p)
{
  return p->offer_id;
}

void
swarm_peer_set_offer_id (SwarmPeer * p, const gchar * offer_id)
{
  g_free (p->offer_id);
  p->offer_id = g_strdup (offer_id);
}

gint64
swarm_peer_get_rtt_us (SwarmPeer * p)
{
  return p->rtt_us;
}

gint64
swarm_peer_get_created_us (SwarmPeer * p)
{
  return p->created_us;
}

SwarmLink *
swarm_peer_get_link (SwarmPeer * p)
{
  return p->link;
}

guint64
swarm_peer_get_bytes_sent (SwarmPeer * p)
{
  return p->bytes_sent;
}

guint64
swarm_peer_get_bytes_received (SwarmPeer * p)
{
  return p->bytes_received;
}

guint
swarm_peer_get_in_flight (SwarmPeer * p)
{
  return p->in_flight;
}

void
swarm_peer_set_in_flight (SwarmPeer * p, guint n)
{
  p->in_flight = n;
}

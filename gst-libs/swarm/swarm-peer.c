/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Our protocol on one link (swarm-peer.h); the uploads are in
 * swarm-peer-upload.c, the shared state in swarm-peer-private.h.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-peer-private.h"

#define GST_CAT_DEFAULT swarm_peer_debug

G_DEFINE_QUARK (swarm-peer-error-quark, swarm_peer_error);

guint32
peer_now_us32 (SwarmPeer * p)
{
  return (guint32) (swarm_clock_now_us (p->clock) & G_MAXUINT32);
}

void
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
gboolean
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

/* The partner's buffer map: a hash table of seqs was a tenth of a
 * thousand-viewer simulation (a lookup per HAVE, per segment scheduled
 * and per partner asked about it). */
static guint
have_get (SwarmPeer * p, guint64 seq)
{
  guint i = seq % SWARM_PEER_HAVE_WINDOW;

  if (!p->have_any || seq > p->have_newest
      || p->have_newest - seq >= SWARM_PEER_HAVE_WINDOW)
    return 0;
  return (p->have_bits[i / 4] >> (i % 4 * 2)) & 3;
}

/* @seq within the window */
static void
have_set (SwarmPeer * p, guint64 seq, guint flags)
{
  guint i = seq % SWARM_PEER_HAVE_WINDOW;
  guint shift = i % 4 * 2;

  p->have_bits[i / 4] = (p->have_bits[i / 4] & ~(3 << shift)) |
      (flags << shift);
}

/* The window moves up to @newest: the slots it takes over are cleared. */
static void
have_advance (SwarmPeer * p, guint64 newest)
{
  guint64 seq;

  if (!p->have_any || newest - p->have_newest >= SWARM_PEER_HAVE_WINDOW) {
    memset (p->have_bits, 0, sizeof p->have_bits);
  } else {
    for (seq = p->have_newest + 1; seq <= newest; seq++)
      have_set (p, seq, 0);
  }
  p->have_newest = newest;
  p->have_any = TRUE;
}

static void
peer_note_have (SwarmPeer * p, guint64 seq, gboolean key)
{
  if (have_get (p, seq))
    return;
  /* Ignore announcements far behind what this partner already told us. */
  if (p->have_any && seq < p->have_newest
      && p->have_newest - seq >= SWARM_PEER_HAVE_WINDOW)
    return;
  if (!p->have_any || seq > p->have_newest)
    have_advance (p, seq);
  have_set (p, seq, 1 | (key ? 2 : 0));
  if (p->callbacks.have)
    p->callbacks.have (p, seq, key, p->user_data);
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
      guint32 sample = peer_now_us32 (p) - msg->data.send_time_us;

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
    case SWARM_MSG_BUSY:
      if (p->busy_credit == 0) {
        swarm_peer_note_junk (p, "BUSY for nothing asked of it");
        break;
      }
      p->busy_credit--;
      /* it still holds the segment: its map stays as it is */
      if (p->callbacks.busy)
        p->callbacks.busy (p, msg->busy.seq, p->user_data);
      break;
    case SWARM_MSG_ABSENT:
      if (have_get (p, msg->absent.seq))
        have_set (p, msg->absent.seq, 0);
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
        gint64 sample = (guint32) (peer_now_us32 (p) - msg->ping.time_us);
        p->rtt_us = p->rtt_us ? (7 * p->rtt_us + sample) / 8 : sample;
        p->pongs++;
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
 * left it unknown, so never asked for (see docs/design.md, Push and
 * pull).  What is known already costs the receiver a lookup. */
#define HAVE_REPEAT 8

void
swarm_peer_replay_haves (SwarmPeer * p, guint64 from, guint64 to)
{
  guint64 seq, n;

  if (!p->callbacks.have || p->closed || !p->have_any)
    return;
  from = MAX (from, p->have_newest - MIN (p->have_newest,
          SWARM_PEER_HAVE_WINDOW - 1));
  to = MIN (to, p->have_newest);
  if (from > to)
    return;
  /* counted from @from: @to may be the largest seq there is; and the
   * window may move meanwhile (the callback reads newer HAVEs), what it
   * no longer holds is not replayed */
  for (n = to - from + 1, seq = from; n > 0 && !p->closed; n--, seq++) {
    guint flags = have_get (p, seq);

    if (flags)
      p->callbacks.have (p, seq, (flags & 2) != 0, p->user_data);
  }
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

  p->busy_credit = MIN (p->busy_credit + 1, BUSY_CREDIT_MAX);
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
   * times its loss repair, from nothing else.  A new link learns it from
   * its first few PONGs, then one every SWARM_PEER_RTT_REFRESH_US keeps it
   * current; a link we sent nothing on for SWARM_PEER_PING_US gets one as
   * the partner's sign of life.  One every 400 ms on every link was a
   * tenth of all datagrams in a big swarm (docs/sim.md). */
  if (now_us - p->last_ping_us > SWARM_PEER_PING_US
      && (p->pongs < SWARM_PEER_RTT_FIRST_PONGS
          || now_us - p->last_send_us > SWARM_PEER_PING_US
          || now_us - p->last_ping_us > SWARM_PEER_RTT_REFRESH_US)) {
    SwarmMessage ping = {.type = SWARM_MSG_PING };

    p->last_ping_us = now_us;

    ping.ping.nonce = ++p->ping_nonce;
    ping.ping.time_us = peer_now_us32 (p);
    peer_send (p, &ping);
  }
  return TRUE;
}

gboolean
swarm_peer_is_ready (SwarmPeer * p)
{
  return !p->closed && p->hello_received;
}

/* Asks for the line a look at @p reads first (ready, uploads queued), for
 * loops over many partners: one a step ahead arrives while this one's
 * work is done. */
void
swarm_peer_prefetch (SwarmPeer * p)
{
  __builtin_prefetch (&p->hello_received);
}

gboolean
swarm_peer_is_settled (SwarmPeer * p)
{
  return !p->closed && p->link_up && p->hello_received
      && p->unacked_chunks == 0;
}

gboolean
swarm_peer_has (SwarmPeer * p, guint64 seq)
{
  return have_get (p, seq) != 0;
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

gint64
swarm_peer_get_last_heard_us (SwarmPeer * p)
{
  return p->link_up ? p->last_recv_us : 0;
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

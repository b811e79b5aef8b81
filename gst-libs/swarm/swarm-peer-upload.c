/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A partner's uploads: what it asked of us (whole segments, repairs),
 * queued and paced out under the congestion window and the upload limit,
 * with parity on lossy links.  Part of the peer: swarm-peer.c has the
 * protocol, swarm-peer-private.h the state they share.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-peer-private.h"

#define GST_CAT_DEFAULT swarm_peer_debug

void
upload_free (Upload * u)
{
  g_bytes_unref (u->bytes);
  g_free (u->wanted);
  g_free (u);
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
    gsize len = MIN (SWARM_CHUNK_SIZE, size - off), i = 0;

    /* a word at a time (memcpy: the segment's bytes need not be
     * aligned) */
    for (; i + sizeof (guint64) <= len; i += sizeof (guint64)) {
      guint64 a, b;

      memcpy (&a, out + i, sizeof a);
      memcpy (&b, data + off + i, sizeof b);
      a ^= b;
      memcpy (out + i, &a, sizeof a);
    }
    for (; i < len; i++)
      out[i] ^= data[off + i];
  }
}

/* Queues (a part of) segment @seq for upload: @count == 0 the whole of it,
 * else the chunks set in @bits from @first.  FALSE if we cannot. */
gboolean
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
void
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
 * the pushes it keeps count too, since a child we push to stops asking and
 * would otherwise soon stop being one (see docs/design.md, Push and pull). */
void
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
void
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

static gboolean
peer_has_queued_whole (SwarmPeer * p, guint64 seq)
{
  GList *l;

  for (l = p->uploads.head; l; l = l->next) {
    Upload *q = l->data;
    if (q->seq == seq && !q->wanted)
      return TRUE;
  }
  return FALSE;
}

gsize
swarm_peer_get_upload_backlog (SwarmPeer * p)
{
  gsize chunks = 0;
  GList *l;

  for (l = p->uploads.head; l; l = l->next) {
    Upload *u = l->data;
    guint c;

    if (!u->wanted)
      chunks += u->chunk_count - MIN (u->next, u->chunk_count);
    else
      for (c = u->next; c < u->chunk_count; c++)
        chunks += swarm_wire_bit_get (u->wanted, c);
  }
  return chunks * SWARM_CHUNK_SIZE;
}

/* A whole segment asked for (not queued already) that our upload would
 * serve late: turned away (the session judges, see its admit). */
static gboolean
peer_turns_away (SwarmPeer * p, const SwarmMessage * msg)
{
  return msg->request.count == 0 && p->local.serve && p->callbacks.admit
      && !peer_has_queued_whole (p, msg->request.seq)
      && swarm_store_has (p->store, msg->request.seq)
      && !p->callbacks.admit (p, msg->request.seq, p->user_data);
}

void
peer_handle_request (SwarmPeer * p, const SwarmMessage * msg)
{
  if (!peer_spend (p, p->request_budget, "flood of requests"))
    return;
  if (peer_turns_away (p, msg)) {
    SwarmMessage busy = {.type = SWARM_MSG_BUSY };

    busy.busy.seq = msg->request.seq;
    peer_send (p, &busy);
    return;
  }
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
  } else if (msg->request.count == 0 && p->callbacks.asked) {
    p->callbacks.asked (p, msg->request.seq, p->user_data);
  }
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

/* How long until a chunk of @len bytes may go: the congestion window
 * (data given up on or an ACK timing out frees it; an ACK that opens it
 * pumps at once), the pacer and @limit's refill. */
static gint64
upload_wait_us (SwarmPeer * p, SwarmRateLimiter * limit, gsize len,
    gint64 now_us)
{
  gint64 wait = swarm_congestion_get_wait_us (p->cc, len, now_us);

  if (limit)
    wait = MAX (wait, swarm_rate_limiter_get_wait_us (limit, len, now_us));
  return wait;
}

gint64
swarm_peer_pump (SwarmPeer * p, SwarmRateLimiter * limit, gint64 now_us)
{
  gsize allow, blocked_len = 0;

  /* Most partners have nothing queued when the pump runs for another:
   * their congestion state moves on when next read (the session's stats
   * read it every 100 ms), not here. */
  if (p->closed || !p->hello_received || g_queue_is_empty (&p->uploads))
    return -1;
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
        blocked_len = len;
        break;
      }
      u->next++;
      if (!u->started_us)
        u->started_us = now_us;
      msg.data.seq = u->seq;
      msg.data.chunk_index = c;
      msg.data.chunk_count = u->chunk_count;
      msg.data.segment_size = size;
      msg.data.send_time_us = peer_now_us32 (p);
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
  if (g_queue_is_empty (&p->uploads))
    return -1;
  return upload_wait_us (p, limit, blocked_len, now_us);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/gst.h>
#include "swarm-edge.h"

/* What is signed starts with a context string, so that no signature the
 * publisher makes for one purpose (segments, EDGEs, origin proofs) can be
 * passed off as another. */
#define EDGE_CONTEXT "gst-p2p edge 1"
#define ORIGIN_CONTEXT "gst-p2p origin 1"
#define EDGE_SIGNED_LEN (sizeof EDGE_CONTEXT + SWARM_PUBLIC_KEY_LEN + 8 + 8 + 8 + 1)

G_STATIC_ASSERT (SWARM_WIRE_SIGNATURE_LEN == SWARM_SIGNATURE_LEN);

static void
edge_signed_bytes (SwarmIdentity * publisher, const SwarmMessage * msg,
    guint8 out[EDGE_SIGNED_LEN])
{
  guint8 *p = out;

  memcpy (p, EDGE_CONTEXT, sizeof EDGE_CONTEXT);
  p += sizeof EDGE_CONTEXT;
  memcpy (p, swarm_identity_get_public_key (publisher), SWARM_PUBLIC_KEY_LEN);
  p += SWARM_PUBLIC_KEY_LEN;
  GST_WRITE_UINT64_BE (p, msg->edge.seq);
  GST_WRITE_UINT64_BE (p + 8, msg->edge.epoch_seq);
  GST_WRITE_UINT64_BE (p + 16, (guint64) msg->edge.publish_time_us);
  p[24] = msg->edge.flags;
}

gboolean
swarm_edge_sign (SwarmIdentity * publisher, SwarmMessage * msg,
    GError ** error)
{
  guint8 data[EDGE_SIGNED_LEN];

  g_return_val_if_fail (msg->type == SWARM_MSG_EDGE, FALSE);
  edge_signed_bytes (publisher, msg, data);
  return swarm_identity_sign (publisher, data, sizeof data,
      msg->edge.signature, error);
}

gboolean
swarm_edge_verify (SwarmIdentity * publisher, const SwarmMessage * msg)
{
  guint8 data[EDGE_SIGNED_LEN];

  if (msg->type != SWARM_MSG_EDGE)
    return FALSE;
  edge_signed_bytes (publisher, msg, data);
  return swarm_identity_verify (publisher, data, sizeof data,
      msg->edge.signature);
}

static GBytes *
origin_signed_bytes (SwarmIdentity * publisher, const guint8 * exported,
    gsize exported_len)
{
  GByteArray *a = g_byte_array_new ();

  g_byte_array_append (a, (const guint8 *) ORIGIN_CONTEXT,
      sizeof ORIGIN_CONTEXT);
  g_byte_array_append (a, swarm_identity_get_public_key (publisher),
      SWARM_PUBLIC_KEY_LEN);
  g_byte_array_append (a, exported, exported_len);
  return g_byte_array_free_to_bytes (a);
}

gboolean
swarm_edge_sign_origin_proof (SwarmIdentity * publisher,
    const guint8 * exported, gsize exported_len,
    guint8 proof[SWARM_WIRE_SIGNATURE_LEN])
{
  GBytes *b = origin_signed_bytes (publisher, exported, exported_len);
  gsize len;
  const guint8 *data = g_bytes_get_data (b, &len);
  gboolean ok = swarm_identity_sign (publisher, data, len, proof, NULL);

  g_bytes_unref (b);
  return ok;
}

gboolean
swarm_edge_verify_origin_proof (SwarmIdentity * publisher,
    const guint8 * exported, gsize exported_len,
    const guint8 proof[SWARM_WIRE_SIGNATURE_LEN])
{
  GBytes *b = origin_signed_bytes (publisher, exported, exported_len);
  gsize len;
  const guint8 *data = g_bytes_get_data (b, &len);
  gboolean ok = swarm_identity_verify (publisher, data, len, proof);

  g_bytes_unref (b);
  return ok;
}

void
swarm_edge_state_init (SwarmEdgeState * st, SwarmIdentity * publisher,
    guint tolerance_ms)
{
  memset (st, 0, sizeof *st);
  st->publisher = publisher;
  st->tolerance_us = (gint64) (tolerance_ms ? tolerance_ms :
      SWARM_EDGE_DEFAULT_TOLERANCE_MS) * 1000;
}

SwarmEdgeVerdict
swarm_edge_state_offer (SwarmEdgeState * st, const SwarmMessage * edge,
    gint64 now_real_us, gint64 now_us)
{
  gint64 offset;
  gboolean new_epoch;

  /* Sequence numbers never go back, across restarts too (the publisher
   * keeps a reservation, swarm-sequence.h): only a higher one is news,
   * and the common case, an EDGE we already have from another partner,
   * costs no signature check. */
  if (st->valid && edge->edge.seq <= st->current.edge.seq)
    return SWARM_EDGE_NOT_NEWER;
  if (!swarm_edge_verify (st->publisher, edge)) {
    st->forged++;
    return SWARM_EDGE_FORGED;
  }
  offset = edge->edge.publish_time_us - now_real_us;
  if (ABS (offset) > st->tolerance_us) {
    st->refused_clock++;
    st->last_clock_offset_us = offset;
    return SWARM_EDGE_CLOCK;
  }
  new_epoch = st->valid && edge->edge.epoch_seq != st->current.edge.epoch_seq;
  if (new_epoch)
    st->epochs++;
  st->current = *edge;
  st->valid = TRUE;
  st->received_us = now_us;
  st->clock_offset_us = offset;
  return new_epoch ? SWARM_EDGE_NEW_EPOCH : SWARM_EDGE_ACCEPTED;
}

SwarmEdgeSeqVerdict
swarm_edge_state_check_seq (const SwarmEdgeState * st, guint64 seq,
    gint64 now_us)
{
  guint64 allow;

  if (!st->valid)
    return SWARM_EDGE_SEQ_NO_EDGE;
  if (seq < st->current.edge.epoch_seq)
    return SWARM_EDGE_SEQ_OLD_EPOCH;
  if (seq <= st->current.edge.seq)
    return SWARM_EDGE_SEQ_OK;
  allow = SWARM_EDGE_AHEAD_SLACK + (guint64) MAX (now_us - st->received_us,
      0) * SWARM_EDGE_MAX_RATE_PER_S / G_USEC_PER_SEC;
  if (seq - st->current.edge.seq <= allow)
    return SWARM_EDGE_SEQ_OK;
  return seq - st->current.edge.seq - allow > SWARM_EDGE_LIE_MARGIN ?
      SWARM_EDGE_SEQ_LIE : SWARM_EDGE_SEQ_AHEAD;
}

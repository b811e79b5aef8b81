/* The peer datagram protocol: parser and writer.
 *
 * The parser and the writer share one set of field checks, so nothing we
 * write can be refused by a peer running the same code, and nothing a peer
 * sends can put a field outside the bounds the rest of the library relies
 * on (chunk indices, segment sizes, bitmap lengths).  Error messages are
 * for debug logs only: a bad datagram is dropped, never shown to a person.
 *
 * Bodies after "u8 version | u8 type" (big-endian):
 *   HELLO    key[32] peer_id[20] role u8 [proof[32]] [origin_proof[64]]
 *   EDGE     seq u64, epoch_seq u64, publish_time_us i64, flags u8,
 *            signature[64]
 *   HAVE     first_seq u64, count u16, have_bits[(count+7)/8], key_bits[same]
 *   REQUEST  seq u64, first_chunk u16, count u16, bits[(count+7)/8]
 *   DATA     seq u64, chunk_index u16, chunk_count u16, segment_size u32,
 *            send_time_us u32, reserved u16 (zero), payload
 *   ACK      seq u64, echo_time_us u32, first_chunk u16, count u16, bits
 *   ABSENT   seq u64
 *   CANCEL   seq u64
 *   BUSY     seq u64
 *   PING     nonce u32, time_us u32 (PONG the same)
 *   BYE      reason u8
 *
 * Bitmap bits past count are padding; they are carried, not interpreted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "swarm-wire.h"
#include "swarm-private.h"

G_DEFINE_QUARK (swarm-wire-error-quark, swarm_wire_error);

/* version + type */
#define HEADER_LEN 2

#define HELLO_BODY (SWARM_WIRE_KEY_LEN + SWARM_WIRE_PEER_ID_LEN + 1)
#define HAVE_FIXED (8 + 2)
#define REQUEST_FIXED (8 + 2 + 2)
/* seq, chunk index, chunk count, segment size, send time, then two
 * reserved bytes (zero) that keep the header at SWARM_WIRE_DATA_HEADER. */
#define DATA_FIXED (8 + 2 + 2 + 4 + 4 + 2)
#define ACK_FIXED (8 + 4 + 4 + 4 + 2 + 2)
#define ABSENT_BODY 8
#define PING_BODY (4 + 4)
#define BYE_BODY 1
#define PEX_FIXED 1
#define SIGNAL_FIXED (3 * SWARM_WIRE_PEER_ID_LEN + 3)
#define EDGE_BODY (8 + 8 + 8 + 1 + SWARM_WIRE_SIGNATURE_LEN)

G_STATIC_ASSERT (HEADER_LEN + DATA_FIXED == SWARM_WIRE_DATA_HEADER);
G_STATIC_ASSERT (HEADER_LEN + SIGNAL_FIXED == SWARM_WIRE_SIGNAL_HEADER);
G_STATIC_ASSERT (HEADER_LEN + PEX_FIXED + SWARM_WIRE_MAX_PEX *
    SWARM_WIRE_PEER_ID_LEN <= SWARM_WIRE_MAX_DATAGRAM);
G_STATIC_ASSERT (SWARM_MAX_CHUNKS_PER_SEGMENT <= G_MAXUINT16);
/* The largest bitmap-carrying messages must fit one datagram. */
G_STATIC_ASSERT (HEADER_LEN + HAVE_FIXED + 2 * (SWARM_WIRE_MAX_HAVE_BITS / 8)
    <= SWARM_WIRE_MAX_DATAGRAM);
G_STATIC_ASSERT (HEADER_LEN + ACK_FIXED + SWARM_WIRE_MAX_CHUNK_BITS / 8
    <= SWARM_WIRE_MAX_DATAGRAM);
G_STATIC_ASSERT (HEADER_LEN + REQUEST_FIXED + SWARM_WIRE_MAX_CHUNK_BITS / 8
    <= SWARM_WIRE_MAX_DATAGRAM);
G_STATIC_ASSERT ((guint64) SWARM_MAX_SEGMENT_SIZE <= G_MAXUINT32);

static inline gsize
bitmap_len (guint count)
{
  return (count + 7) / 8;
}

/* Big-endian cursor over the input.  Callers check the remaining length
 * once per fixed-size part, so the getters themselves do not. */
typedef struct {
  const guint8 *p;
  gsize left;
} Reader;

static guint8
read_u8 (Reader * r)
{
  guint8 v = r->p[0];

  r->p += 1;
  r->left -= 1;
  return v;
}

static guint16
read_u16 (Reader * r)
{
  guint16 v = GST_READ_UINT16_BE (r->p);

  r->p += 2;
  r->left -= 2;
  return v;
}

static guint32
read_u32 (Reader * r)
{
  guint32 v = GST_READ_UINT32_BE (r->p);

  r->p += 4;
  r->left -= 4;
  return v;
}

static guint64
read_u64 (Reader * r)
{
  guint64 v = GST_READ_UINT64_BE (r->p);

  r->p += 8;
  r->left -= 8;
  return v;
}

static const guint8 *
read_bytes (Reader * r, gsize n)
{
  const guint8 *v = r->p;

  r->p += n;
  r->left -= n;
  return v;
}

static guint8 *
write_u8 (guint8 * p, guint8 v)
{
  *p = v;
  return p + 1;
}

static guint8 *
write_u16 (guint8 * p, guint16 v)
{
  GST_WRITE_UINT16_BE (p, v);
  return p + 2;
}

static guint8 *
write_u32 (guint8 * p, guint32 v)
{
  GST_WRITE_UINT32_BE (p, v);
  return p + 4;
}

static guint8 *
write_u64 (guint8 * p, guint64 v)
{
  GST_WRITE_UINT64_BE (p, v);
  return p + 8;
}

static guint8 *
write_bytes (guint8 * p, const guint8 * v, gsize n)
{
  if (n > 0)
    memcpy (p, v, n);
  return p + n;
}

/* Field checks shared by parser and writer.  Each returns NULL when the
 * fields are acceptable, else a static description of the first problem. */

static const gchar *
check_hello (const SwarmMessage * msg)
{
  if (msg->hello.role > SWARM_PEER_ROLE_ORIGIN)
    return "unknown peer role";
  return NULL;
}

static const gchar *
check_have (const SwarmMessage * msg)
{
  if (msg->have.count == 0 || msg->have.count > SWARM_WIRE_MAX_HAVE_BITS)
    return "HAVE count out of range";
  /* the last sequence number must not wrap */
  if (msg->have.first_seq > G_MAXUINT64 - msg->have.count)
    return "HAVE window wraps around";
  return NULL;
}

/* REQUEST and ACK describe a window of one segment's chunks. */
static const gchar *
check_chunk_window (guint first_chunk, guint count)
{
  if (count > SWARM_MAX_CHUNKS_PER_SEGMENT)
    return "chunk count out of range";
  if (first_chunk >= SWARM_MAX_CHUNKS_PER_SEGMENT
      || first_chunk + count > SWARM_MAX_CHUNKS_PER_SEGMENT)
    return "chunk window beyond the largest segment";
  return NULL;
}

/* The payload length a chunk must have; 0 if the DATA header fields are
 * inconsistent with each other. */
static gsize
data_expected_payload_len (const SwarmMessage * msg)
{
  guint count = msg->data.chunk_count;
  guint32 size = msg->data.segment_size;

  if (count == 0 || count > SWARM_MAX_CHUNKS_PER_SEGMENT)
    return 0;
  if (size == 0 || size > SWARM_MAX_SEGMENT_SIZE)
    return 0;
  /* Exactly one chunk count describes a given segment size, so both
   * ends agree on where the segment's last chunk is. */
  if (count != (size + SWARM_CHUNK_SIZE - 1) / SWARM_CHUNK_SIZE)
    return 0;
  if (msg->type == SWARM_MSG_PARITY) {
    /* every group holds a whole chunk: parity is always chunk-sized */
    if (msg->data.parity_groups == 0 || msg->data.parity_groups >= count
        || msg->data.chunk_index >= msg->data.parity_groups)
      return 0;
    return SWARM_CHUNK_SIZE;
  }
  if (msg->data.chunk_index >= count || msg->data.parity_groups != 0)
    return 0;
  if (msg->data.chunk_index + 1u < count)
    return SWARM_CHUNK_SIZE;
  return size - (gsize) (count - 1) * SWARM_CHUNK_SIZE;
}

static const gchar *
check_data (const SwarmMessage * msg)
{
  gsize expected = data_expected_payload_len (msg);

  if (expected == 0)
    return msg->type == SWARM_MSG_PARITY ? "PARITY geometry invalid" :
        "DATA segment geometry invalid";
  if (msg->data.payload_len != expected)
    return "DATA payload length does not match its chunk";
  return NULL;
}

static const gchar *
check_signal (const SwarmMessage * msg)
{
  if (msg->signal.kind != SWARM_SIGNAL_OFFER
      && msg->signal.kind != SWARM_SIGNAL_ANSWER)
    return "SIGNAL kind unknown";
  if (msg->signal.fragments == 0
      || msg->signal.fragments > SWARM_WIRE_MAX_SIGNAL_FRAGMENTS
      || msg->signal.fragment >= msg->signal.fragments)
    return "SIGNAL fragment numbering invalid";
  if (msg->signal.payload_len == 0
      || msg->signal.payload_len > SWARM_WIRE_MAX_SIGNAL_PAYLOAD)
    return "SIGNAL payload size invalid";
  return NULL;
}

static const gchar *
check_message (const SwarmMessage * msg)
{
  switch (msg->type) {
    case SWARM_MSG_HELLO:
      return check_hello (msg);
    case SWARM_MSG_HAVE:
      return check_have (msg);
    case SWARM_MSG_REQUEST:
      return check_chunk_window (msg->request.first_chunk, msg->request.count);
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:
      return check_data (msg);
    case SWARM_MSG_ACK:
      return check_chunk_window (msg->ack.first_chunk, msg->ack.count);
    case SWARM_MSG_ABSENT:
    case SWARM_MSG_CANCEL:
    case SWARM_MSG_BUSY:
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
    case SWARM_MSG_BYE:
      return NULL;
    case SWARM_MSG_PEX:
      return msg->pex.count > SWARM_WIRE_MAX_PEX ? "PEX lists too many peers"
          : NULL;
    case SWARM_MSG_SIGNAL:
      return check_signal (msg);
    case SWARM_MSG_EDGE:
      return msg->edge.epoch_seq > msg->edge.seq ?
          "EDGE epoch starts after its newest segment" : NULL;
    default:
      return "unknown message type";
  }
}

static gboolean
need (const Reader * r, gsize n, SwarmMsgType type, GError ** error)
{
  if (r->left >= n)
    return TRUE;
  g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_TRUNCATED,
      "%s message truncated: need %" G_GSIZE_FORMAT " more bytes, have %"
      G_GSIZE_FORMAT, swarm_wire_type_name (type), n, r->left);
  return FALSE;
}

gboolean
swarm_wire_parse (const guint8 * data, gsize len, SwarmMessage * msg,
    GError ** error)
{
  Reader r = { data, len };
  SwarmMessage m;
  const gchar *problem;
  guint8 version, type;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (msg != NULL, FALSE);

  if (len < HEADER_LEN) {
    g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_TRUNCATED,
        "datagram of %" G_GSIZE_FORMAT " bytes has no message header", len);
    return FALSE;
  }
  /* Nothing we write is larger: a bigger datagram is an attack or a bug. */
  if (len > SWARM_WIRE_MAX_DATAGRAM) {
    g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_INVALID,
        "datagram of %" G_GSIZE_FORMAT " bytes exceeds %u", len,
        SWARM_WIRE_MAX_DATAGRAM);
    return FALSE;
  }
  version = read_u8 (&r);
  if (version != SWARM_WIRE_VERSION) {
    g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_VERSION,
        "unsupported protocol version %u (expected %u)", version,
        SWARM_WIRE_VERSION);
    return FALSE;
  }
  type = read_u8 (&r);

  memset (&m, 0, sizeof (m));
  m.type = type;

  switch (type) {
    case SWARM_MSG_HELLO:
      if (!need (&r, HELLO_BODY, type, error))
        return FALSE;
      memcpy (m.hello.swarm_key, read_bytes (&r, SWARM_WIRE_KEY_LEN),
          SWARM_WIRE_KEY_LEN);
      memcpy (m.hello.peer_id, read_bytes (&r, SWARM_WIRE_PEER_ID_LEN),
          SWARM_WIRE_PEER_ID_LEN);
      m.hello.role = read_u8 (&r);
      /* Two optional parts, told apart by what is left: the secret's
       * proof (32), the origin's proof (64), or both (96), in that order.
       * Anything else is trailing bytes. */
      if (r.left == SWARM_WIRE_PROOF_LEN
          || r.left == SWARM_WIRE_PROOF_LEN + SWARM_WIRE_SIGNATURE_LEN) {
        m.hello.has_proof = TRUE;
        memcpy (m.hello.proof, read_bytes (&r, SWARM_WIRE_PROOF_LEN),
            SWARM_WIRE_PROOF_LEN);
      }
      if (r.left == SWARM_WIRE_SIGNATURE_LEN) {
        m.hello.has_origin_proof = TRUE;
        memcpy (m.hello.origin_proof, read_bytes (&r,
                SWARM_WIRE_SIGNATURE_LEN), SWARM_WIRE_SIGNATURE_LEN);
      }
      break;
    case SWARM_MSG_EDGE:
      if (!need (&r, EDGE_BODY, type, error))
        return FALSE;
      m.edge.seq = read_u64 (&r);
      m.edge.epoch_seq = read_u64 (&r);
      m.edge.publish_time_us = (gint64) read_u64 (&r);
      m.edge.flags = read_u8 (&r);
      memcpy (m.edge.signature, read_bytes (&r, SWARM_WIRE_SIGNATURE_LEN),
          SWARM_WIRE_SIGNATURE_LEN);
      break;
    case SWARM_MSG_HAVE:{
      gsize n;

      if (!need (&r, HAVE_FIXED, type, error))
        return FALSE;
      m.have.first_seq = read_u64 (&r);
      m.have.count = read_u16 (&r);
      /* Check the count before using it to size the bitmaps. */
      if ((problem = check_have (&m)))
        goto invalid;
      n = bitmap_len (m.have.count);
      if (!need (&r, 2 * n, type, error))
        return FALSE;
      m.have.have_bits = read_bytes (&r, n);
      m.have.key_bits = read_bytes (&r, n);
      break;
    }
    case SWARM_MSG_REQUEST:{
      gsize n;

      if (!need (&r, REQUEST_FIXED, type, error))
        return FALSE;
      m.request.seq = read_u64 (&r);
      m.request.first_chunk = read_u16 (&r);
      m.request.count = read_u16 (&r);
      if ((problem = check_chunk_window (m.request.first_chunk,
                  m.request.count)))
        goto invalid;
      n = bitmap_len (m.request.count);
      if (!need (&r, n, type, error))
        return FALSE;
      m.request.bits = n > 0 ? read_bytes (&r, n) : NULL;
      break;
    }
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:
      if (!need (&r, DATA_FIXED, type, error))
        return FALSE;
      m.data.seq = read_u64 (&r);
      m.data.chunk_index = read_u16 (&r);
      m.data.chunk_count = read_u16 (&r);
      m.data.segment_size = read_u32 (&r);
      m.data.send_time_us = read_u32 (&r);
      /* DATA: reserved, zero */
      m.data.parity_groups = read_u16 (&r);
      if (type == SWARM_MSG_DATA && m.data.parity_groups != 0) {
        problem = "DATA reserved bytes not zero";
        goto invalid;
      }
      /* The payload runs to the end of the datagram; its length must be
       * exactly what the header implies.  A short one is truncated, a
       * long one has trailing bytes. */
      {
        gsize expected = data_expected_payload_len (&m);

        if (expected == 0) {
          problem = type == SWARM_MSG_PARITY ? "PARITY geometry invalid" :
              "DATA segment geometry invalid";
          goto invalid;
        }
        if (!need (&r, expected, type, error))
          return FALSE;
        m.data.payload_len = expected;
        m.data.payload = read_bytes (&r, expected);
      }
      break;
    case SWARM_MSG_ACK:{
      gsize n;

      if (!need (&r, ACK_FIXED, type, error))
        return FALSE;
      m.ack.seq = read_u64 (&r);
      m.ack.echo_time_us = read_u32 (&r);
      m.ack.recv_bytes_total = read_u32 (&r);
      m.ack.delay_sample_us = read_u32 (&r);
      m.ack.first_chunk = read_u16 (&r);
      m.ack.count = read_u16 (&r);
      if ((problem = check_chunk_window (m.ack.first_chunk, m.ack.count)))
        goto invalid;
      n = bitmap_len (m.ack.count);
      if (!need (&r, n, type, error))
        return FALSE;
      m.ack.bits = n > 0 ? read_bytes (&r, n) : NULL;
      break;
    }
    case SWARM_MSG_ABSENT:
      if (!need (&r, ABSENT_BODY, type, error))
        return FALSE;
      m.absent.seq = read_u64 (&r);
      break;
    case SWARM_MSG_CANCEL:
      if (!need (&r, ABSENT_BODY, type, error))
        return FALSE;
      m.cancel.seq = read_u64 (&r);
      break;
    case SWARM_MSG_BUSY:
      if (!need (&r, ABSENT_BODY, type, error))
        return FALSE;
      m.busy.seq = read_u64 (&r);
      break;
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
      if (!need (&r, PING_BODY, type, error))
        return FALSE;
      m.ping.nonce = read_u32 (&r);
      m.ping.time_us = read_u32 (&r);
      break;
    case SWARM_MSG_BYE:
      if (!need (&r, BYE_BODY, type, error))
        return FALSE;
      m.bye.reason = read_u8 (&r);
      break;
    case SWARM_MSG_PEX:
      if (!need (&r, PEX_FIXED, type, error))
        return FALSE;
      m.pex.count = read_u8 (&r);
      if (m.pex.count > SWARM_WIRE_MAX_PEX) {
        problem = "PEX lists too many peers";
        goto invalid;
      }
      if (!need (&r, (gsize) m.pex.count * SWARM_WIRE_PEER_ID_LEN, type,
              error))
        return FALSE;
      m.pex.ids = m.pex.count ? read_bytes (&r,
          (gsize) m.pex.count * SWARM_WIRE_PEER_ID_LEN) : NULL;
      break;
    case SWARM_MSG_SIGNAL:
      if (!need (&r, SIGNAL_FIXED, type, error))
        return FALSE;
      memcpy (m.signal.to, read_bytes (&r, SWARM_WIRE_PEER_ID_LEN),
          SWARM_WIRE_PEER_ID_LEN);
      memcpy (m.signal.from, read_bytes (&r, SWARM_WIRE_PEER_ID_LEN),
          SWARM_WIRE_PEER_ID_LEN);
      memcpy (m.signal.offer_id, read_bytes (&r, SWARM_WIRE_PEER_ID_LEN),
          SWARM_WIRE_PEER_ID_LEN);
      m.signal.kind = read_u8 (&r);
      m.signal.fragment = read_u8 (&r);
      m.signal.fragments = read_u8 (&r);
      /* the description piece runs to the end of the datagram */
      m.signal.payload_len = r.left;
      m.signal.payload = r.left ? read_bytes (&r, r.left) : NULL;
      break;
    default:
      g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_UNKNOWN_TYPE,
          "unknown message type %u", type);
      return FALSE;
  }

  if (r.left != 0) {
    g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_INVALID,
        "%" G_GSIZE_FORMAT " trailing bytes after %s message", r.left,
        swarm_wire_type_name (type));
    return FALSE;
  }
  if ((problem = check_message (&m)))
    goto invalid;

  *msg = m;
  return TRUE;

invalid:
  g_set_error (error, SWARM_WIRE_ERROR, SWARM_WIRE_ERROR_INVALID,
      "invalid %s message: %s", swarm_wire_type_name (type), problem);
  return FALSE;
}

/* Body length of a valid message. */
static gsize
message_len (const SwarmMessage * msg)
{
  switch (msg->type) {
    case SWARM_MSG_HELLO:
      return HEADER_LEN + HELLO_BODY +
          (msg->hello.has_proof ? SWARM_WIRE_PROOF_LEN : 0) +
          (msg->hello.has_origin_proof ? SWARM_WIRE_SIGNATURE_LEN : 0);
    case SWARM_MSG_EDGE:
      return HEADER_LEN + EDGE_BODY;
    case SWARM_MSG_HAVE:
      return HEADER_LEN + HAVE_FIXED + 2 * bitmap_len (msg->have.count);
    case SWARM_MSG_REQUEST:
      return HEADER_LEN + REQUEST_FIXED + bitmap_len (msg->request.count);
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:
      return HEADER_LEN + DATA_FIXED + msg->data.payload_len;
    case SWARM_MSG_ACK:
      return HEADER_LEN + ACK_FIXED + bitmap_len (msg->ack.count);
    case SWARM_MSG_ABSENT:
    case SWARM_MSG_CANCEL:
    case SWARM_MSG_BUSY:
      return HEADER_LEN + ABSENT_BODY;
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
      return HEADER_LEN + PING_BODY;
    case SWARM_MSG_BYE:
      return HEADER_LEN + BYE_BODY;
    case SWARM_MSG_PEX:
      return HEADER_LEN + PEX_FIXED +
          (gsize) msg->pex.count * SWARM_WIRE_PEER_ID_LEN;
    case SWARM_MSG_SIGNAL:
      return HEADER_LEN + SIGNAL_FIXED + msg->signal.payload_len;
    default:
      return 0;
  }
}

gsize
swarm_wire_write (const SwarmMessage * msg, guint8 * out, gsize out_size)
{
  const gchar *problem;
  gsize len;
  guint8 *p = out;

  g_return_val_if_fail (msg != NULL, 0);
  g_return_val_if_fail (out != NULL || out_size == 0, 0);

  if ((problem = check_message (msg))) {
    GST_CAT_WARNING (swarm_debug, "not writing %s message: %s",
        swarm_wire_type_name (msg->type), problem);
    return 0;
  }
  len = message_len (msg);
  if (len > out_size)
    return 0;

  p = write_u8 (p, SWARM_WIRE_VERSION);
  p = write_u8 (p, msg->type);

  switch (msg->type) {
    case SWARM_MSG_HELLO:
      p = write_bytes (p, msg->hello.swarm_key, SWARM_WIRE_KEY_LEN);
      p = write_bytes (p, (const guint8 *) msg->hello.peer_id,
          SWARM_WIRE_PEER_ID_LEN);
      p = write_u8 (p, msg->hello.role);
      if (msg->hello.has_proof)
        p = write_bytes (p, msg->hello.proof, SWARM_WIRE_PROOF_LEN);
      if (msg->hello.has_origin_proof)
        p = write_bytes (p, msg->hello.origin_proof, SWARM_WIRE_SIGNATURE_LEN);
      break;
    case SWARM_MSG_EDGE:
      p = write_u64 (p, msg->edge.seq);
      p = write_u64 (p, msg->edge.epoch_seq);
      p = write_u64 (p, (guint64) msg->edge.publish_time_us);
      p = write_u8 (p, msg->edge.flags);
      p = write_bytes (p, msg->edge.signature, SWARM_WIRE_SIGNATURE_LEN);
      break;
    case SWARM_MSG_HAVE:
      p = write_u64 (p, msg->have.first_seq);
      p = write_u16 (p, msg->have.count);
      p = write_bytes (p, msg->have.have_bits, bitmap_len (msg->have.count));
      p = write_bytes (p, msg->have.key_bits, bitmap_len (msg->have.count));
      break;
    case SWARM_MSG_REQUEST:
      p = write_u64 (p, msg->request.seq);
      p = write_u16 (p, msg->request.first_chunk);
      p = write_u16 (p, msg->request.count);
      p = write_bytes (p, msg->request.bits, bitmap_len (msg->request.count));
      break;
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:
      p = write_u64 (p, msg->data.seq);
      p = write_u16 (p, msg->data.chunk_index);
      p = write_u16 (p, msg->data.chunk_count);
      p = write_u32 (p, msg->data.segment_size);
      p = write_u32 (p, msg->data.send_time_us);
      p = write_u16 (p, msg->type == SWARM_MSG_PARITY ?
          msg->data.parity_groups : 0);
      p = write_bytes (p, msg->data.payload, msg->data.payload_len);
      break;
    case SWARM_MSG_ACK:
      p = write_u64 (p, msg->ack.seq);
      p = write_u32 (p, msg->ack.echo_time_us);
      p = write_u32 (p, msg->ack.recv_bytes_total);
      p = write_u32 (p, msg->ack.delay_sample_us);
      p = write_u16 (p, msg->ack.first_chunk);
      p = write_u16 (p, msg->ack.count);
      p = write_bytes (p, msg->ack.bits, bitmap_len (msg->ack.count));
      break;
    case SWARM_MSG_ABSENT:
      p = write_u64 (p, msg->absent.seq);
      break;
    case SWARM_MSG_CANCEL:
      p = write_u64 (p, msg->cancel.seq);
      break;
    case SWARM_MSG_BUSY:
      p = write_u64 (p, msg->busy.seq);
      break;
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
      p = write_u32 (p, msg->ping.nonce);
      p = write_u32 (p, msg->ping.time_us);
      break;
    case SWARM_MSG_BYE:
      p = write_u8 (p, msg->bye.reason);
      break;
    case SWARM_MSG_PEX:
      p = write_u8 (p, msg->pex.count);
      p = write_bytes (p, msg->pex.ids,
          (gsize) msg->pex.count * SWARM_WIRE_PEER_ID_LEN);
      break;
    case SWARM_MSG_SIGNAL:
      p = write_bytes (p, (const guint8 *) msg->signal.to,
          SWARM_WIRE_PEER_ID_LEN);
      p = write_bytes (p, (const guint8 *) msg->signal.from,
          SWARM_WIRE_PEER_ID_LEN);
      p = write_bytes (p, (const guint8 *) msg->signal.offer_id,
          SWARM_WIRE_PEER_ID_LEN);
      p = write_u8 (p, msg->signal.kind);
      p = write_u8 (p, msg->signal.fragment);
      p = write_u8 (p, msg->signal.fragments);
      p = write_bytes (p, msg->signal.payload, msg->signal.payload_len);
      break;
    default:
      g_assert_not_reached ();
  }

  g_assert ((gsize) (p - out) == len);
  return len;
}

const gchar *
swarm_wire_type_name (SwarmMsgType type)
{
  switch (type) {
    case SWARM_MSG_HELLO:
      return "HELLO";
    case SWARM_MSG_HAVE:
      return "HAVE";
    case SWARM_MSG_REQUEST:
      return "REQUEST";
    case SWARM_MSG_DATA:
      return "DATA";
    case SWARM_MSG_ACK:
      return "ACK";
    case SWARM_MSG_ABSENT:
      return "ABSENT";
    case SWARM_MSG_CANCEL:
      return "CANCEL";
    case SWARM_MSG_BUSY:
      return "BUSY";
    case SWARM_MSG_PING:
      return "PING";
    case SWARM_MSG_PONG:
      return "PONG";
    case SWARM_MSG_BYE:
      return "BYE";
    case SWARM_MSG_PEX:
      return "PEX";
    case SWARM_MSG_SIGNAL:
      return "SIGNAL";
    case SWARM_MSG_PARITY:
      return "PARITY";
    case SWARM_MSG_EDGE:
      return "EDGE";
    default:
      return "UNKNOWN";
  }
}

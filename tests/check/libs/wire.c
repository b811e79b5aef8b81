/* Tests for the peer datagram protocol (swarm-wire).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

static guint8 have_bits[SWARM_WIRE_MAX_HAVE_BITS / 8];
static guint8 key_bits[SWARM_WIRE_MAX_HAVE_BITS / 8];
static guint8 chunk_bits[SWARM_MAX_CHUNKS_PER_SEGMENT / 8];
static guint8 payload[SWARM_CHUNK_SIZE];

static void
fill_pattern (void)
{
  for (guint i = 0; i < sizeof (have_bits); i++) {
    have_bits[i] = (guint8) (0xA5 ^ i);
    key_bits[i] = (guint8) (i * 7);
  }
  for (guint i = 0; i < sizeof (chunk_bits); i++)
    chunk_bits[i] = (guint8) (0x3C + i);
  for (guint i = 0; i < sizeof (payload); i++)
    payload[i] = (guint8) (i * 31 + 5);
}

static SwarmMessage
make_hello (void)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_HELLO;
  for (guint i = 0; i < SWARM_WIRE_KEY_LEN; i++)
    m.hello.swarm_key[i] = (guint8) (200 + i);
  memcpy (m.hello.peer_id, "-GP0100-abcdefABCDEF", SWARM_WIRE_PEER_ID_LEN);
  m.hello.role = SWARM_PEER_ROLE_ORIGIN;
  return m;
}

static SwarmMessage
make_have (guint16 count)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_HAVE;
  m.have.first_seq = G_GUINT64_CONSTANT (0x0102030405060708);
  m.have.count = count;
  m.have.have_bits = have_bits;
  m.have.key_bits = key_bits;
  return m;
}

static SwarmMessage
make_request (guint16 first, guint16 count)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_REQUEST;
  m.request.seq = 77;
  m.request.first_chunk = first;
  m.request.count = count;
  m.request.bits = count ? chunk_bits : NULL;
  return m;
}

static SwarmMessage
make_data (guint16 index, guint16 count, guint32 size)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_DATA;
  m.data.seq = G_MAXUINT64;
  m.data.chunk_index = index;
  m.data.chunk_count = count;
  m.data.segment_size = size;
  m.data.send_time_us = 0xDEADBEEF;
  m.data.payload = payload;
  m.data.payload_len = (index + 1u < count) ? SWARM_CHUNK_SIZE :
      size - (count - 1u) * SWARM_CHUNK_SIZE;
  return m;
}

static SwarmMessage
make_parity (guint16 group, guint16 groups, guint16 count, guint32 size)
{
  SwarmMessage m = make_data (0, count, size);

  m.type = SWARM_MSG_PARITY;
  m.data.chunk_index = group;
  m.data.parity_groups = groups;
  m.data.payload_len = SWARM_CHUNK_SIZE;
  return m;
}

static SwarmMessage
make_ack (guint16 first, guint16 count)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_ACK;
  m.ack.seq = 12345678901ULL;
  m.ack.echo_time_us = 0x11223344;
  m.ack.recv_bytes_total = 0xFEDCBA98;
  m.ack.delay_sample_us = 0x00ABCDEF;
  m.ack.first_chunk = first;
  m.ack.count = count;
  m.ack.bits = count ? chunk_bits : NULL;
  return m;
}

static SwarmMessage
make_simple (SwarmMsgType type)
{
  SwarmMessage m = { 0 };

  m.type = type;
  switch (type) {
    case SWARM_MSG_ABSENT:
      m.absent.seq = 0x8000000000000001ULL;
      break;
    case SWARM_MSG_CANCEL:
      m.cancel.seq = 0x0123456789ABCDEFULL;
      break;
    case SWARM_MSG_BUSY:
      m.busy.seq = 0xFEDCBA9876543210ULL;
      break;
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
      m.ping.nonce = 0xCAFEF00D;
      m.ping.time_us = 42;
      break;
    case SWARM_MSG_BYE:
      m.bye.reason = 3;
      break;
    default:
      g_assert_not_reached ();
  }
  return m;
}

static const guint8 pex_ids[SWARM_WIRE_MAX_PEX * SWARM_WIRE_PEER_ID_LEN] =
    "-GP0100-aaaaaaaaaaaa-GP0100-bbbbbbbbbbbb-GP0100-cccccccccccc";
static guint8 signal_text[SWARM_WIRE_MAX_SIGNAL_PAYLOAD];

static SwarmMessage
make_pex (guint8 count)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_PEX;
  m.pex.count = count;
  m.pex.ids = count ? pex_ids : NULL;
  return m;
}

static SwarmMessage
make_signal (guint8 kind, guint8 fragment, guint8 fragments, guint16 len)
{
  SwarmMessage m = { 0 };

  m.type = SWARM_MSG_SIGNAL;
  memcpy (m.signal.to, "-GP0100-tttttttttttt", SWARM_WIRE_PEER_ID_LEN);
  memcpy (m.signal.from, "-GP0100-ffffffffffff", SWARM_WIRE_PEER_ID_LEN);
  memcpy (m.signal.offer_id, "oooooooooooooooooooo", SWARM_WIRE_PEER_ID_LEN);
  m.signal.kind = kind;
  m.signal.fragment = fragment;
  m.signal.fragments = fragments;
  for (guint i = 0; i < sizeof (signal_text); i++)
    signal_text[i] = 'a' + i % 26;
  m.signal.payload = signal_text;
  m.signal.payload_len = len;
  return m;
}

static SwarmMessage
make_edge (guint64 seq, guint64 epoch_seq)
{
  SwarmMessage m = {.type = SWARM_MSG_EDGE };

  m.edge.seq = seq;
  m.edge.epoch_seq = epoch_seq;
  m.edge.publish_time_us = G_GINT64_CONSTANT (1733450000123456);
  m.edge.flags = SWARM_SEGMENT_FLAG_KEYFRAME;
  for (guint i = 0; i < SWARM_WIRE_SIGNATURE_LEN; i++)
    m.edge.signature[i] = (guint8) (i * 7 + 3);
  return m;
}

/* All valid sample messages, including edge sizes. */
static GArray *
all_samples (void)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (SwarmMessage));
  SwarmMessage m;

#define ADD(x) G_STMT_START { m = (x); g_array_append_val (a, m); } G_STMT_END
  ADD (make_hello ());
  ADD (make_have (1));
  ADD (make_have (9));
  ADD (make_have (SWARM_WIRE_MAX_HAVE_BITS));
  ADD (make_request (0, 0));
  ADD (make_request (5, 13));
  ADD (make_request (0, SWARM_WIRE_MAX_CHUNK_BITS));
  /* the last window of the largest segment */
  ADD (make_request (SWARM_MAX_CHUNKS_PER_SEGMENT - SWARM_WIRE_MAX_CHUNK_BITS,
          SWARM_WIRE_MAX_CHUNK_BITS));
  ADD (make_request (SWARM_MAX_CHUNKS_PER_SEGMENT - 1, 1));
  ADD (make_parity (0, 1, 2, SWARM_CHUNK_SIZE + 1));
  ADD (make_parity (1, 2, 3, 2 * SWARM_CHUNK_SIZE + 10));
  ADD (make_parity (255, 256, SWARM_MAX_CHUNKS_PER_SEGMENT,
          SWARM_MAX_SEGMENT_SIZE));
  ADD (make_data (0, 1, 1));
  ADD (make_data (0, 1, SWARM_CHUNK_SIZE));
  ADD (make_data (0, 3, 2 * SWARM_CHUNK_SIZE + 10));
  ADD (make_data (2, 3, 2 * SWARM_CHUNK_SIZE + 10));
  ADD (make_data (SWARM_MAX_CHUNKS_PER_SEGMENT - 1,
          SWARM_MAX_CHUNKS_PER_SEGMENT, SWARM_MAX_SEGMENT_SIZE));
  ADD (make_ack (0, 0));
  ADD (make_ack (100, 17));
  ADD (make_ack (0, SWARM_WIRE_MAX_CHUNK_BITS));
  ADD (make_ack (SWARM_MAX_CHUNKS_PER_SEGMENT - SWARM_WIRE_MAX_CHUNK_BITS,
          SWARM_WIRE_MAX_CHUNK_BITS));
  ADD (make_simple (SWARM_MSG_ABSENT));
  ADD (make_simple (SWARM_MSG_CANCEL));
  ADD (make_simple (SWARM_MSG_BUSY));
  ADD (make_simple (SWARM_MSG_PING));
  ADD (make_simple (SWARM_MSG_PONG));
  ADD (make_simple (SWARM_MSG_BYE));
  ADD (make_pex (0));
  ADD (make_pex (3));
  ADD (make_pex (SWARM_WIRE_MAX_PEX));
  ADD (make_signal (SWARM_SIGNAL_OFFER, 0, 1, 1));
  ADD (make_signal (SWARM_SIGNAL_ANSWER, 7, 8, SWARM_WIRE_MAX_SIGNAL_PAYLOAD));
  ADD (make_edge (0, 0));
  ADD (make_edge (G_MAXUINT64, 1));
#undef ADD
  return a;
}

static void
assert_bits_equal (const guint8 * a, const guint8 * b, guint count)
{
  if (count == 0)
    return;
  fail_unless (a != NULL && b != NULL);
  fail_unless_equals_int (memcmp (a, b, (count + 7) / 8), 0);
}

static void
assert_messages_equal (const SwarmMessage * a, const SwarmMessage * b)
{
  fail_unless_equals_int (a->type, b->type);
  switch (a->type) {
    case SWARM_MSG_HELLO:
      fail_unless_equals_int (memcmp (a->hello.swarm_key, b->hello.swarm_key,
              SWARM_WIRE_KEY_LEN), 0);
      fail_unless_equals_int (memcmp (a->hello.peer_id, b->hello.peer_id,
              SWARM_WIRE_PEER_ID_LEN), 0);
      fail_unless_equals_int (a->hello.role, b->hello.role);
      fail_unless_equals_int (a->hello.has_proof, b->hello.has_proof);
      fail_unless (!a->hello.has_proof || memcmp (a->hello.proof,
              b->hello.proof, SWARM_WIRE_PROOF_LEN) == 0);
      fail_unless_equals_int (a->hello.has_origin_proof,
          b->hello.has_origin_proof);
      fail_unless (!a->hello.has_origin_proof || memcmp
          (a->hello.origin_proof, b->hello.origin_proof,
              SWARM_WIRE_SIGNATURE_LEN) == 0);
      break;
    case SWARM_MSG_EDGE:
      fail_unless_equals_uint64 (a->edge.seq, b->edge.seq);
      fail_unless_equals_uint64 (a->edge.epoch_seq, b->edge.epoch_seq);
      fail_unless_equals_int64 (a->edge.publish_time_us,
          b->edge.publish_time_us);
      fail_unless_equals_int (a->edge.flags, b->edge.flags);
      fail_unless (memcmp (a->edge.signature, b->edge.signature,
              SWARM_WIRE_SIGNATURE_LEN) == 0);
      break;
    case SWARM_MSG_HAVE:
      fail_unless_equals_uint64 (a->have.first_seq, b->have.first_seq);
      fail_unless_equals_int (a->have.count, b->have.count);
      assert_bits_equal (a->have.have_bits, b->have.have_bits, a->have.count);
      assert_bits_equal (a->have.key_bits, b->have.key_bits, a->have.count);
      break;
    case SWARM_MSG_REQUEST:
      fail_unless_equals_uint64 (a->request.seq, b->request.seq);
      fail_unless_equals_int (a->request.first_chunk, b->request.first_chunk);
      fail_unless_equals_int (a->request.count, b->request.count);
      assert_bits_equal (a->request.bits, b->request.bits, a->request.count);
      break;
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:
      fail_unless_equals_int (a->data.parity_groups, b->data.parity_groups);
      fail_unless_equals_uint64 (a->data.seq, b->data.seq);
      fail_unless_equals_int (a->data.chunk_index, b->data.chunk_index);
      fail_unless_equals_int (a->data.chunk_count, b->data.chunk_count);
      fail_unless_equals_int (a->data.segment_size, b->data.segment_size);
      fail_unless_equals_int (a->data.send_time_us, b->data.send_time_us);
      fail_unless_equals_int (a->data.payload_len, b->data.payload_len);
      fail_unless_equals_int (memcmp (a->data.payload, b->data.payload,
              a->data.payload_len), 0);
      break;
    case SWARM_MSG_ACK:
      fail_unless_equals_uint64 (a->ack.seq, b->ack.seq);
      fail_unless_equals_int (a->ack.echo_time_us, b->ack.echo_time_us);
      fail_unless_equals_int (a->ack.recv_bytes_total,
          b->ack.recv_bytes_total);
      fail_unless_equals_int (a->ack.delay_sample_us, b->ack.delay_sample_us);
      fail_unless_equals_int (a->ack.first_chunk, b->ack.first_chunk);
      fail_unless_equals_int (a->ack.count, b->ack.count);
      assert_bits_equal (a->ack.bits, b->ack.bits, a->ack.count);
      break;
    case SWARM_MSG_ABSENT:
      fail_unless_equals_uint64 (a->absent.seq, b->absent.seq);
      break;
    case SWARM_MSG_CANCEL:
      fail_unless_equals_uint64 (a->cancel.seq, b->cancel.seq);
      break;
    case SWARM_MSG_BUSY:
      fail_unless_equals_uint64 (a->busy.seq, b->busy.seq);
      break;
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
      fail_unless_equals_int (a->ping.nonce, b->ping.nonce);
      fail_unless_equals_int (a->ping.time_us, b->ping.time_us);
      break;
    case SWARM_MSG_BYE:
      fail_unless_equals_int (a->bye.reason, b->bye.reason);
      break;
    case SWARM_MSG_PEX:
      fail_unless_equals_int (a->pex.count, b->pex.count);
      fail_unless (a->pex.count == 0 || memcmp (a->pex.ids, b->pex.ids,
              a->pex.count * SWARM_WIRE_PEER_ID_LEN) == 0);
      break;
    case SWARM_MSG_SIGNAL:
      fail_unless (memcmp (a->signal.to, b->signal.to, 20) == 0);
      fail_unless (memcmp (a->signal.from, b->signal.from, 20) == 0);
      fail_unless (memcmp (a->signal.offer_id, b->signal.offer_id, 20) == 0);
      fail_unless_equals_int (a->signal.kind, b->signal.kind);
      fail_unless_equals_int (a->signal.fragment, b->signal.fragment);
      fail_unless_equals_int (a->signal.fragments, b->signal.fragments);
      fail_unless_equals_int (a->signal.payload_len, b->signal.payload_len);
      fail_unless (memcmp (a->signal.payload, b->signal.payload,
              a->signal.payload_len) == 0);
      break;
    default:
      fail ("unexpected type %d", a->type);
  }
}

static gsize
expected_len (const SwarmMessage * m)
{
  switch (m->type) {
    case SWARM_MSG_HELLO:
      return 2 + 32 + 20 + 1 + (m->hello.has_proof ? 32 : 0) +
          (m->hello.has_origin_proof ? 64 : 0);
    case SWARM_MSG_EDGE:
      return 2 + 8 + 8 + 8 + 1 + 64;
    case SWARM_MSG_HAVE:
      return 2 + 8 + 2 + 2 * ((m->have.count + 7) / 8);
    case SWARM_MSG_REQUEST:
      return 2 + 8 + 2 + 2 + (m->request.count + 7) / 8;
    case SWARM_MSG_DATA:
    case SWARM_MSG_PARITY:
      return SWARM_WIRE_DATA_HEADER + m->data.payload_len;
    case SWARM_MSG_ACK:
      return 2 + 8 + 4 + 4 + 4 + 2 + 2 + (m->ack.count + 7) / 8;
    case SWARM_MSG_ABSENT:
    case SWARM_MSG_CANCEL:
    case SWARM_MSG_BUSY:
      return 2 + 8;
    case SWARM_MSG_PING:
    case SWARM_MSG_PONG:
      return 2 + 4 + 4;
    case SWARM_MSG_BYE:
      return 2 + 1;
    case SWARM_MSG_PEX:
      return 2 + 1 + 20 * m->pex.count;
    case SWARM_MSG_SIGNAL:
      return 2 + 60 + 3 + m->signal.payload_len;
    default:
      g_assert_not_reached ();
  }
}

static gsize
write_ok (const SwarmMessage * m, guint8 * buf)
{
  gsize len = swarm_wire_write (m, buf, SWARM_WIRE_MAX_DATAGRAM);

  fail_unless (len > 0, "writing %s failed", swarm_wire_type_name (m->type));
  fail_unless (len <= SWARM_WIRE_MAX_DATAGRAM);
  fail_unless_equals_int (len, expected_len (m));
  fail_unless_equals_int (buf[0], SWARM_WIRE_VERSION);
  fail_unless_equals_int (buf[1], m->type);
  return len;
}

static void
assert_parse_error (const guint8 * buf, gsize len, gint code)
{
  SwarmMessage out;
  GError *err = NULL;

  memset (&out, 0xEE, sizeof (out));
  fail_if (swarm_wire_parse (buf, len, &out, &err));
  fail_unless (err != NULL);
  fail_unless (g_error_matches (err, SWARM_WIRE_ERROR, code),
      "expected code %d, got %s (%d)", code, err->message, err->code);
  g_clear_error (&err);
}

/* Private swarms: HELLO carries a 32-byte proof, or nothing; a partial
 * proof is trailing garbage. */
GST_START_TEST (test_hello_proof)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  SwarmMessage m = make_hello (), out;
  GError *err = NULL;
  gsize len;

  m.hello.has_proof = TRUE;
  for (guint i = 0; i < SWARM_WIRE_PROOF_LEN; i++)
    m.hello.proof[i] = (guint8) (i * 13 + 1);
  len = write_ok (&m, buf);
  fail_unless_equals_int (len, 2 + 32 + 20 + 1 + 32);
  fail_unless (swarm_wire_parse (buf, len, &out, &err), "%s",
      err ? err->message : "");
  assert_messages_equal (&m, &out);
  fail_unless_equals_int (buf[len - 1], m.hello.proof[31]);

  /* without the proof: no proof parsed */
  m.hello.has_proof = FALSE;
  len = write_ok (&m, buf);
  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  fail_if (out.hello.has_proof);

  /* 1..31 bytes of a proof, or 33, are refused */
  m.hello.has_proof = TRUE;
  len = write_ok (&m, buf);
  for (gsize cut = 1; cut < SWARM_WIRE_PROOF_LEN; cut++)
    assert_parse_error (buf, len - cut, SWARM_WIRE_ERROR_INVALID);
  buf[len] = 0;
  assert_parse_error (buf, len + 1, SWARM_WIRE_ERROR_INVALID);
}

GST_END_TEST;

GST_START_TEST (test_round_trip_all_types)
{
  GArray *samples = all_samples ();
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  guint seen = 0;

  for (guint i = 0; i < samples->len; i++) {
    SwarmMessage *m = &g_array_index (samples, SwarmMessage, i);
    SwarmMessage out;
    GError *err = NULL;
    gsize len = write_ok (m, buf);

    fail_unless (swarm_wire_parse (buf, len, &out, &err), "%s: %s",
        swarm_wire_type_name (m->type), err ? err->message : "");
    assert_messages_equal (m, &out);
    seen |= 1u << m->type;

    /* A buffer exactly the right size is enough; one byte less is not. */
    fail_unless_equals_int (swarm_wire_write (m, buf, len), len);
    fail_unless_equals_int (swarm_wire_write (m, buf, len - 1), 0);
  }
  /* every message type covered */
  fail_unless_equals_int (seen, 0xFFFE);
  g_array_free (samples, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_exact_bytes)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  SwarmMessage m;
  static const guint8 ping[] = { 1, 7, 0xCA, 0xFE, 0xF0, 0x0D, 0, 0, 0, 42 };
  static const guint8 absent[] = { 1, 6, 0x80, 0, 0, 0, 0, 0, 0, 1 };
  static const guint8 bye[] = { 1, 9, 3 };
  static const guint8 req[] = { 1, 3, 0, 0, 0, 0, 0, 0, 0, 77, 0, 5, 0, 13,
    0x3C, 0x3D
  };
  static const guint8 have[] = { 1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 9,
    0xA5, 0xA4, 0, 7
  };
  static const guint8 ack[] = { 1, 5, 0, 0, 0, 2, 0xDF, 0xDC, 0x1C, 0x35,
    0x11, 0x22, 0x33, 0x44, 0xFE, 0xDC, 0xBA, 0x98, 0x00, 0xAB, 0xCD, 0xEF,
    0, 100, 0, 17, 0x3C, 0x3D, 0x3E
  };
  static const guint8 data_hdr[] = { 1, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0, 2, 0, 3, 0, 0, 0x09, 0x3A, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0
  };
  gsize len;

  G_STATIC_ASSERT (sizeof (data_hdr) == SWARM_WIRE_DATA_HEADER);

  m = make_simple (SWARM_MSG_PING);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, sizeof (ping));
  fail_unless_equals_int (memcmp (buf, ping, len), 0);

  m = make_simple (SWARM_MSG_ABSENT);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, sizeof (absent));
  fail_unless_equals_int (memcmp (buf, absent, len), 0);

  m = make_simple (SWARM_MSG_BYE);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, sizeof (bye));
  fail_unless_equals_int (memcmp (buf, bye, len), 0);

  m = make_request (5, 13);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, sizeof (req));
  fail_unless_equals_int (memcmp (buf, req, len), 0);

  m = make_have (9);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, sizeof (have));
  fail_unless_equals_int (memcmp (buf, have, len), 0);

  m = make_ack (100, 17);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, sizeof (ack));
  fail_unless_equals_int (memcmp (buf, ack, len), 0);

  /* 2 * 1176 + 10 = 2362 = 0x093A; last chunk carries 10 bytes */
  m = make_data (2, 3, 2 * SWARM_CHUNK_SIZE + 10);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, SWARM_WIRE_DATA_HEADER + 10);
  fail_unless_equals_int (memcmp (buf, data_hdr, sizeof (data_hdr)), 0);
  fail_unless_equals_int (memcmp (buf + SWARM_WIRE_DATA_HEADER, payload, 10),
      0);

  m = make_hello ();
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless_equals_int (len, 55);
  fail_unless_equals_int (buf[2], 200);
  fail_unless_equals_int (buf[33], 231);
  fail_unless_equals_int (memcmp (buf + 34, "-GP0100-abcdefABCDEF", 20), 0);
  fail_unless_equals_int (buf[54], 1);
}

GST_END_TEST;

GST_START_TEST (test_parse_points_into_input)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  SwarmMessage m = make_data (0, 2, SWARM_CHUNK_SIZE + 1), out;
  gsize len = write_ok (&m, buf);

  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  fail_unless (out.data.payload == buf + SWARM_WIRE_DATA_HEADER);
  fail_unless_equals_int (out.data.payload_len, SWARM_CHUNK_SIZE);
  fail_unless_equals_int (len, SWARM_WIRE_MAX_DATAGRAM);

  m = make_have (16);
  len = write_ok (&m, buf);
  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  fail_unless (out.have.have_bits == buf + 12);
  fail_unless (out.have.key_bits == buf + 14);
}

GST_END_TEST;

GST_START_TEST (test_truncated_every_length)
{
  GArray *samples = all_samples ();
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM + 1];

  for (guint i = 0; i < samples->len; i++) {
    SwarmMessage *m = &g_array_index (samples, SwarmMessage, i);
    gsize len = write_ok (m, buf);

    /* A SIGNAL's text runs to the end of the datagram: cut inside the
     * text it is a valid, shorter piece (the reassembly checks the whole),
     * cut to no text at all it is invalid. */
    gsize fixed = m->type == SWARM_MSG_SIGNAL ? SWARM_WIRE_SIGNAL_HEADER : len;

    for (gsize l = 0; l < fixed; l++)
      assert_parse_error (buf, l, SWARM_WIRE_ERROR_TRUNCATED);
  }
  g_array_free (samples, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_trailing_bytes)
{
  GArray *samples = all_samples ();
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM + 8];

  for (guint i = 0; i < samples->len; i++) {
    SwarmMessage *m = &g_array_index (samples, SwarmMessage, i);
    gsize len = write_ok (m, buf);

    if (m->type == SWARM_MSG_SIGNAL)
      continue;                 /* no trailer: its text ends the datagram */
    buf[len] = 0;
    buf[len + 1] = 0x55;
    assert_parse_error (buf, len + 1, SWARM_WIRE_ERROR_INVALID);
    assert_parse_error (buf, len + 2, SWARM_WIRE_ERROR_INVALID);
  }
  g_array_free (samples, TRUE);
}

GST_END_TEST;

/* HELLO's origin proof (64 bytes) comes alone or after the secret's
 * proof; EDGE is fixed-size and its epoch cannot start after its newest
 * segment. */
GST_START_TEST (test_origin_proof_and_edge)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  SwarmMessage m = make_hello (), out;
  gsize len;

  for (guint i = 0; i < SWARM_WIRE_SIGNATURE_LEN; i++)
    m.hello.origin_proof[i] = (guint8) (255 - i);
  m.hello.has_origin_proof = TRUE;
  len = write_ok (&m, buf);
  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  fail_if (out.hello.has_proof);
  assert_messages_equal (&m, &out);
  m.hello.has_proof = TRUE;
  len = write_ok (&m, buf);
  fail_unless_equals_int (len, 2 + 32 + 20 + 1 + 32 + 64);
  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  assert_messages_equal (&m, &out);
  /* anything but 0, 32, 64 or 96 bytes after the role is refused */
  for (gsize cut = 1; cut < 96; cut++)
    if (cut != 32 && cut != 64)
      assert_parse_error (buf, len - cut, SWARM_WIRE_ERROR_INVALID);

  m = make_edge (10, 11);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof buf), 0);
  m = make_edge (11, 10);
  len = write_ok (&m, buf);
  assert_parse_error (buf, len - 1, SWARM_WIRE_ERROR_TRUNCATED);
  buf[len] = 0;
  assert_parse_error (buf, len + 1, SWARM_WIRE_ERROR_INVALID);
  /* epoch after newest, as a peer might send it */
  GST_WRITE_UINT64_BE (buf + 2 + 8, 12);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
}

GST_END_TEST;

GST_START_TEST (test_bad_version_and_type)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  SwarmMessage m = make_simple (SWARM_MSG_PING);
  gsize len = write_ok (&m, buf);
  static const guint8 bad_versions[] = { 0, 2, 0x81, 0xFF };
  static const guint8 bad_types[] = { 0, 16, 17, 0x7F, 0xFF };

  for (guint i = 0; i < G_N_ELEMENTS (bad_versions); i++) {
    buf[0] = bad_versions[i];
    assert_parse_error (buf, len, SWARM_WIRE_ERROR_VERSION);
    /* the version is judged before anything else */
    assert_parse_error (buf, 2, SWARM_WIRE_ERROR_VERSION);
  }
  buf[0] = SWARM_WIRE_VERSION;
  for (guint i = 0; i < G_N_ELEMENTS (bad_types); i++) {
    buf[1] = bad_types[i];
    assert_parse_error (buf, len, SWARM_WIRE_ERROR_UNKNOWN_TYPE);
    assert_parse_error (buf, 2, SWARM_WIRE_ERROR_UNKNOWN_TYPE);
  }
  fail_unless_equals_string (swarm_wire_type_name (SWARM_MSG_HELLO), "HELLO");
  fail_unless_equals_string (swarm_wire_type_name (SWARM_MSG_ACK), "ACK");
  fail_unless_equals_string (swarm_wire_type_name (SWARM_MSG_BYE), "BYE");
  fail_unless_equals_string (swarm_wire_type_name (42), "UNKNOWN");
}

GST_END_TEST;

static void
put16 (guint8 * p, guint16 v)
{
  GST_WRITE_UINT16_BE (p, v);
}

static void
put32 (guint8 * p, guint32 v)
{
  GST_WRITE_UINT32_BE (p, v);
}

GST_START_TEST (test_invalid_fields)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM + 8];
  guint8 orig[SWARM_WIRE_MAX_DATAGRAM + 8];
  SwarmMessage m;
  gsize len;

  /* HELLO: unknown role */
  m = make_hello ();
  len = write_ok (&m, buf);
  buf[len - 1] = 2;
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);

  /* HAVE: count 0 and count above the maximum */
  m = make_have (8);
  len = write_ok (&m, buf);
  put16 (buf + 10, 0);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  assert_parse_error (buf, 12, SWARM_WIRE_ERROR_INVALID);
  m = make_have (SWARM_WIRE_MAX_HAVE_BITS);
  len = write_ok (&m, buf);
  put16 (buf + 10, SWARM_WIRE_MAX_HAVE_BITS + 1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  put16 (buf + 10, 0xFFFF);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  /* count says 16 bits but 8 bits' worth of bitmaps follow */
  m = make_have (8);
  len = write_ok (&m, buf);
  put16 (buf + 10, 16);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_TRUNCATED);

  /* REQUEST: window beyond the largest segment */
  m = make_request (SWARM_MAX_CHUNKS_PER_SEGMENT - SWARM_WIRE_MAX_CHUNK_BITS,
      SWARM_WIRE_MAX_CHUNK_BITS);
  len = write_ok (&m, buf);
  memcpy (orig, buf, len);
  put16 (buf + 10, SWARM_MAX_CHUNKS_PER_SEGMENT - SWARM_WIRE_MAX_CHUNK_BITS +
      1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  put16 (buf + 12, SWARM_MAX_CHUNKS_PER_SEGMENT + 1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  m = make_request (0, 0);
  len = write_ok (&m, buf);
  put16 (buf + 10, SWARM_MAX_CHUNKS_PER_SEGMENT);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  put16 (buf + 10, 0xFFFF);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);

  /* ACK: same windows (first_chunk at 22, count at 24) */
  m = make_ack (SWARM_MAX_CHUNKS_PER_SEGMENT - SWARM_WIRE_MAX_CHUNK_BITS,
      SWARM_WIRE_MAX_CHUNK_BITS);
  len = write_ok (&m, buf);
  memcpy (orig, buf, len);
  put16 (buf + 24, SWARM_MAX_CHUNKS_PER_SEGMENT + 1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  put16 (buf + 22, SWARM_MAX_CHUNKS_PER_SEGMENT - SWARM_WIRE_MAX_CHUNK_BITS +
      8);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  m = make_ack (0, 0);
  len = write_ok (&m, buf);
  put16 (buf + 22, SWARM_MAX_CHUNKS_PER_SEGMENT);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);

  /* DATA: every header field against the others */
  m = make_data (0, 3, 2 * SWARM_CHUNK_SIZE + 10);
  len = write_ok (&m, buf);
  memcpy (orig, buf, len);
  /* index == count */
  put16 (buf + 10, 3);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* count 0 */
  put16 (buf + 12, 0);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* count too large for the size */
  put16 (buf + 12, 4);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* count too small for the size */
  put16 (buf + 12, 2);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* count above the maximum, size matching it */
  put16 (buf + 12, SWARM_MAX_CHUNKS_PER_SEGMENT + 1);
  put32 (buf + 14, SWARM_MAX_SEGMENT_SIZE + 1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* size 0 */
  put32 (buf + 14, 0);
  put16 (buf + 12, 1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* size beyond the maximum */
  put32 (buf + 14, 0xFFFFFFFF);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* reserved bytes */
  buf[23] = 1;
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* a middle chunk must be full: the last chunk's length is too short */
  put16 (buf + 10, 1);
  assert_parse_error (buf, SWARM_WIRE_DATA_HEADER + 10,
      SWARM_WIRE_ERROR_TRUNCATED);
  /* the last chunk is exactly the remainder: full length is too long */
  put16 (buf + 10, 2);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  assert_parse_error (buf, SWARM_WIRE_DATA_HEADER + 9,
      SWARM_WIRE_ERROR_TRUNCATED);
  fail_unless (swarm_wire_parse (buf, SWARM_WIRE_DATA_HEADER + 10, &m, NULL));
  fail_unless_equals_int (m.data.payload_len, 10);

  /* PARITY: the group within the groups, fewer groups than chunks, always
   * a whole chunk of payload, and the segment geometry as for DATA */
  m = make_parity (1, 2, 3, 2 * SWARM_CHUNK_SIZE + 10);
  len = write_ok (&m, buf);
  memcpy (orig, buf, len);
  fail_unless (swarm_wire_parse (buf, len, &m, NULL));
  fail_unless_equals_int (m.data.chunk_index, 1);
  fail_unless_equals_int (m.data.parity_groups, 2);
  /* group == groups */
  put16 (buf + 10, 2);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* no groups */
  put16 (buf + 22, 0);
  put16 (buf + 10, 0);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* as many groups as chunks */
  put16 (buf + 22, 3);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* a one-chunk segment has no parity */
  put16 (buf + 12, 1);
  put32 (buf + 14, 10);
  put16 (buf + 10, 0);
  put16 (buf + 22, 1);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* geometry as for DATA: count too large for the size */
  put16 (buf + 12, 4);
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  memcpy (buf, orig, len);
  /* a short parity payload is truncated, a long one trailing bytes */
  assert_parse_error (buf, len - 1, SWARM_WIRE_ERROR_TRUNCATED);
  fail_unless_equals_string (swarm_wire_type_name (SWARM_MSG_PARITY),
      "PARITY");
  fail_unless_equals_int (swarm_wire_parity_groups (1), 0);
  fail_unless_equals_int (swarm_wire_parity_groups (2), 1);
  fail_unless_equals_int (swarm_wire_parity_groups (16), 1);
  fail_unless_equals_int (swarm_wire_parity_groups (17), 2);
}

GST_END_TEST;

GST_START_TEST (test_write_refuses_invalid)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  SwarmMessage m;

  m = make_have (0);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_have (SWARM_WIRE_MAX_HAVE_BITS + 1);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_request (SWARM_MAX_CHUNKS_PER_SEGMENT, 0);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_request (1, SWARM_MAX_CHUNKS_PER_SEGMENT);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_ack (10, SWARM_MAX_CHUNKS_PER_SEGMENT);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_data (0, 2, 2 * SWARM_CHUNK_SIZE);
  m.data.payload_len = 100;
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_data (1, 2, SWARM_CHUNK_SIZE + 5);
  m.data.payload_len = 6;
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_data (0, 2, SWARM_CHUNK_SIZE);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_hello ();
  m.hello.role = 7;
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_simple (SWARM_MSG_BYE);
  m.type = 0;
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m.type = 13;
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
  m = make_simple (SWARM_MSG_BYE);
  fail_unless_equals_int (swarm_wire_write (&m, buf, 2), 0);
  fail_unless_equals_int (swarm_wire_write (&m, buf, 3), 3);
}

GST_END_TEST;

GST_START_TEST (test_bit_helpers)
{
  guint8 bits[3] = { 0, 0, 0 };

  swarm_wire_bit_set (bits, 0);
  swarm_wire_bit_set (bits, 9);
  swarm_wire_bit_set (bits, 23);
  fail_unless_equals_int (bits[0], 0x80);
  fail_unless_equals_int (bits[1], 0x40);
  fail_unless_equals_int (bits[2], 0x01);
  fail_unless (swarm_wire_bit_get (bits, 9));
  fail_if (swarm_wire_bit_get (bits, 8));
}

GST_END_TEST;

GST_START_TEST (test_pex_signal_rejects)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM + 8];
  SwarmMessage m, out;
  gsize len;

  /* PEX: count beyond the bound, and a list shorter than its count */
  m = make_pex (2);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless (len > 0);
  buf[2] = SWARM_WIRE_MAX_PEX + 1;
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  buf[2] = 3;
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_TRUNCATED);
  fail_unless_equals_int (swarm_wire_write (&(SwarmMessage) {
            .type = SWARM_MSG_PEX,.pex = {SWARM_WIRE_MAX_PEX + 1, pex_ids}},
          buf, sizeof (buf)), 0);

  /* SIGNAL: kind, numbering, empty and oversized payloads */
  m = make_signal (SWARM_SIGNAL_OFFER, 0, 2, 100);
  len = swarm_wire_write (&m, buf, sizeof (buf));
  fail_unless (len > 0);
  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  buf[62] = 3;                  /* kind */
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  buf[62] = SWARM_SIGNAL_OFFER;
  buf[63] = 2;                  /* fragment == fragments */
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  buf[63] = 0;
  buf[64] = SWARM_WIRE_MAX_SIGNAL_FRAGMENTS + 1;
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
  buf[64] = 2;
  assert_parse_error (buf, SWARM_WIRE_SIGNAL_HEADER, SWARM_WIRE_ERROR_INVALID);
  assert_parse_error (buf, SWARM_WIRE_SIGNAL_HEADER - 1,
      SWARM_WIRE_ERROR_TRUNCATED);
  memset (buf + SWARM_WIRE_SIGNAL_HEADER, 'x', SWARM_WIRE_MAX_SIGNAL_PAYLOAD + 1);
  assert_parse_error (buf, SWARM_WIRE_MAX_DATAGRAM + 1,
      SWARM_WIRE_ERROR_INVALID);
  m = make_signal (SWARM_SIGNAL_ANSWER, 0, 1, SWARM_WIRE_MAX_SIGNAL_PAYLOAD + 1);
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof (buf)), 0);
}

GST_END_TEST;

/* Nothing a peer sends may be bigger than what we write, and no buffer
 * map may run past the last sequence number. */
GST_START_TEST (test_oversized_and_wrapping)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM + 64];
  guint8 bits[1] = { 0xff };
  SwarmMessage m = {.type = SWARM_MSG_PING };
  SwarmMessage out;
  gsize len;

  /* a PING padded past the limit: too large before it is anything else */
  len = swarm_wire_write (&m, buf, sizeof buf);
  fail_unless (len > 0);
  memset (buf + len, 0, sizeof buf - len);
  assert_parse_error (buf, SWARM_WIRE_MAX_DATAGRAM + 1,
      SWARM_WIRE_ERROR_INVALID);
  assert_parse_error (buf, sizeof buf, SWARM_WIRE_ERROR_INVALID);

  /* a HAVE whose window ends exactly at 2^64 - 1 is fine, one more wraps */
  m.type = SWARM_MSG_HAVE;
  m.have.first_seq = G_MAXUINT64 - 8;
  m.have.count = 8;
  m.have.have_bits = bits;
  m.have.key_bits = bits;
  len = swarm_wire_write (&m, buf, sizeof buf);
  fail_unless (len > 0);
  fail_unless (swarm_wire_parse (buf, len, &out, NULL));
  fail_unless_equals_uint64 (out.have.first_seq, G_MAXUINT64 - 8);
  m.have.first_seq = G_MAXUINT64 - 7;
  fail_unless_equals_int (swarm_wire_write (&m, buf, sizeof buf), 0);
  /* the same bytes written by hand */
  m.have.first_seq = G_MAXUINT64 - 8;
  len = swarm_wire_write (&m, buf, sizeof buf);
  buf[9] = 0xf8;                /* low byte of first_seq: 2^64 - 1 - 7 */
  assert_parse_error (buf, len, SWARM_WIRE_ERROR_INVALID);
}

GST_END_TEST;

static Suite *
wire_suite (void)
{
  Suite *s = suite_create ("swarm-wire");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  fill_pattern ();
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_round_trip_all_types);
  tcase_add_test (tc, test_hello_proof);
  tcase_add_test (tc, test_exact_bytes);
  tcase_add_test (tc, test_parse_points_into_input);
  tcase_add_test (tc, test_truncated_every_length);
  tcase_add_test (tc, test_trailing_bytes);
  tcase_add_test (tc, test_bad_version_and_type);
  tcase_add_test (tc, test_origin_proof_and_edge);
  tcase_add_test (tc, test_invalid_fields);
  tcase_add_test (tc, test_write_refuses_invalid);
  tcase_add_test (tc, test_bit_helpers);
  tcase_add_test (tc, test_pex_signal_rejects);
  tcase_add_test (tc, test_oversized_and_wrapping);
  return s;
}

GST_CHECK_MAIN (wire);

/* The peer datagram protocol: one place for its format, writer and parser.
 *
 * Every datagram travels inside one DTLS record over one unreliable ICE
 * component.  A datagram is one message:
 *
 *   u8 version (SWARM_WIRE_VERSION) | u8 type | type-specific body
 *
 * All integers are big-endian.  Parsing never allocates: variable parts
 * (bitmaps, chunk payload) point into the caller's input buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

#define SWARM_WIRE_VERSION 1
/* Largest plaintext datagram we write or accept.  1200 B of payload plus
 * DTLS (~37 B), UDP and IPv6 headers stays under a 1280 B path MTU. */
#define SWARM_WIRE_MAX_DATAGRAM 1200
/* Header of a DATA message: version, type, seq, chunk index, chunk count,
 * segment size, send time. */
#define SWARM_WIRE_DATA_HEADER 24
/* Segment payload bytes carried by one DATA message. */
#define SWARM_CHUNK_SIZE (SWARM_WIRE_MAX_DATAGRAM - SWARM_WIRE_DATA_HEADER)
/* Bounds a peer can make us hold.  A segment normally stays under 2048
 * chunks (SWARM_SEGMENTER_MAX_SIZE); a single bigger frame (a 4K intra
 * frame) travels alone in a segment of up to 16384 chunks, 18.4 MiB.  The
 * chunk index is a u16, so the bound could go higher; every memory bound
 * (transfers in flight, the store) is sized from this one. */
#define SWARM_MAX_CHUNKS_PER_SEGMENT 16384
#define SWARM_MAX_SEGMENT_SIZE (SWARM_CHUNK_SIZE * SWARM_MAX_CHUNKS_PER_SEGMENT)
/* REQUEST and ACK carry a window (first chunk, count) of a segment's chunk
 * bitmap: a window of this many bits always fits one datagram, so a
 * bigger segment's bitmap goes as several windows. */
#define SWARM_WIRE_MAX_CHUNK_BITS 8192
#define SWARM_WIRE_MAX_HAVE_BITS 2048
#define SWARM_WIRE_PEER_ID_LEN 20
#define SWARM_WIRE_KEY_LEN 32
/* HELLO's proof of the swarm secret (private swarms, see swarm-secret.h). */
#define SWARM_WIRE_PROOF_LEN 32
/* An Ed25519 signature by the publisher's key (EDGE, HELLO's origin proof). */
#define SWARM_WIRE_SIGNATURE_LEN 64

typedef enum {
  SWARM_MSG_HELLO = 1,     /* first message on a link, both ways */
  SWARM_MSG_HAVE = 2,      /* buffer map: segments held, and which start on a keyframe */
  SWARM_MSG_REQUEST = 3,   /* ask for a segment, or for some of its chunks */
  SWARM_MSG_DATA = 4,      /* one chunk of a segment */
  SWARM_MSG_ACK = 5,       /* chunks of a segment received so far */
  SWARM_MSG_ABSENT = 6,    /* "I do not hold that segment (any more)" */
  SWARM_MSG_PING = 7,      /* keep-alive and RTT probe */
  SWARM_MSG_PONG = 8,      /* answer to PING, echoes nonce and time */
  SWARM_MSG_BYE = 9,       /* orderly goodbye */
  SWARM_MSG_PEX = 10,      /* peer exchange: the sender's other partners */
  SWARM_MSG_SIGNAL = 11,   /* offer/answer relayed through a common partner */
  SWARM_MSG_CANCEL = 12,   /* "stop sending me that segment": it is no use now */
  SWARM_MSG_PARITY = 13,   /* XOR of a group of a segment's chunks: one lost
                            * chunk of the group is rebuilt without asking */
  SWARM_MSG_EDGE = 14,     /* the publisher's signed word on its newest
                            * segment: where live is (swarm-edge.h) */
  SWARM_MSG_BUSY = 15,     /* "I hold that segment, but my upload would
                            * send it late: ask someone else" */
} SwarmMsgType;

/* Chunks per parity group a sender aims at: one PARITY per 16 chunks. */
#define SWARM_PARITY_GROUP_CHUNKS 16

/* The parity groups a segment of @chunk_count chunks is dealt into (0: too
 * short to be worth it). */
static inline guint
swarm_wire_parity_groups (guint chunk_count)
{
  return chunk_count < 2 ? 0 :
      (chunk_count + SWARM_PARITY_GROUP_CHUNKS - 1) / SWARM_PARITY_GROUP_CHUNKS;
}

/* PEX lists at most this many peer ids. */
#define SWARM_WIRE_MAX_PEX 16
/* A relayed description is cut into at most this many SIGNAL fragments. */
#define SWARM_WIRE_MAX_SIGNAL_FRAGMENTS 8
/* to, from, offer id, kind, fragment index, fragment count */
#define SWARM_WIRE_SIGNAL_HEADER (2 + 3 * SWARM_WIRE_PEER_ID_LEN + 3)
#define SWARM_WIRE_MAX_SIGNAL_PAYLOAD \
  (SWARM_WIRE_MAX_DATAGRAM - SWARM_WIRE_SIGNAL_HEADER)

typedef enum {
  SWARM_SIGNAL_OFFER = 1,
  SWARM_SIGNAL_ANSWER = 2,
} SwarmSignalKind;

typedef enum {
  SWARM_PEER_ROLE_VIEWER = 0,
  SWARM_PEER_ROLE_ORIGIN = 1,
} SwarmPeerRole;

typedef struct {
  SwarmMsgType type;
  union {
    struct {
      guint8 swarm_key[SWARM_WIRE_KEY_LEN]; /* publisher public key: which swarm */
      gchar peer_id[SWARM_WIRE_PEER_ID_LEN]; /* tracker peer id, not NUL-terminated */
      guint8 role;                          /* SwarmPeerRole */
      gboolean has_proof;                   /* private swarm: proof follows */
      guint8 proof[SWARM_WIRE_PROOF_LEN];
      /* role ORIGIN: the publisher's signature over the link's DTLS
       * keying material, so that no partner can claim the role */
      gboolean has_origin_proof;
      guint8 origin_proof[SWARM_WIRE_SIGNATURE_LEN];
    } hello;
    struct {
      guint64 seq;                /* the newest segment published */
      guint64 epoch_seq;          /* the first segment of this run of the
                                   * publisher: a restart starts a new one */
      gint64 publish_time_us;     /* publisher's wall clock at @seq */
      guint8 flags;               /* SwarmSegmentFlags of @seq */
      guint8 signature[SWARM_WIRE_SIGNATURE_LEN];
    } edge;
    struct {
      guint64 first_seq;
      guint16 count;              /* 1..SWARM_WIRE_MAX_HAVE_BITS */
      const guint8 *have_bits;    /* (count+7)/8 bytes, bit i (MSB first) = first_seq+i held */
      const guint8 *key_bits;     /* same layout: segment starts on a keyframe */
    } have;
    struct {
      guint64 seq;
      guint16 first_chunk;
      guint16 count;              /* 0 = the whole segment; else bits are valid
                                   * (a window: first_chunk + count <=
                                   * SWARM_MAX_CHUNKS_PER_SEGMENT) */
      const guint8 *bits;         /* (count+7)/8 bytes: chunk first_chunk+i wanted */
    } request;
    struct {
      guint64 seq;
      guint16 chunk_index;
      guint16 chunk_count;        /* 1..SWARM_MAX_CHUNKS_PER_SEGMENT */
      guint32 segment_size;       /* 1..SWARM_MAX_SEGMENT_SIZE */
      guint32 send_time_us;       /* sender's clock, wraps; for delay-based CC */
      const guint8 *payload;
      guint16 payload_len;        /* exact: SWARM_CHUNK_SIZE except the last chunk */
      /* PARITY only (0 in DATA): chunk i is in group i % parity_groups,
       * chunk_index names the group, the payload (SWARM_CHUNK_SIZE) is the
       * XOR of the group's chunks, each padded with zeros to that size */
      guint16 parity_groups;      /* 1..chunk_count - 1 */
    } data;                       /* DATA and PARITY */
    struct {
      guint64 seq;
      guint32 echo_time_us;       /* send_time_us of the newest DATA that triggered it */
      guint32 recv_bytes_total;   /* DATA payload bytes received on the link, mod 2^32 */
      guint32 delay_sample_us;    /* min (receive − send_time_us) mod 2^32 since the last ACK */
      guint16 first_chunk;
      guint16 count;              /* bits valid for chunks first_chunk..+count */
      const guint8 *bits;         /* chunk received */
    } ack;
    struct {
      guint64 seq;
    } absent;
    struct {
      guint64 seq;
    } cancel;
    struct {
      guint64 seq;
    } busy;
    struct {
      guint32 nonce;
      guint32 time_us;
    } ping;                       /* also PONG */
    struct {
      guint8 reason;
    } bye;
    struct {
      guint8 count;               /* 0..SWARM_WIRE_MAX_PEX */
      const guint8 *ids;          /* count * SWARM_WIRE_PEER_ID_LEN bytes */
    } pex;
    struct {
      gchar to[SWARM_WIRE_PEER_ID_LEN];       /* final recipient */
      gchar from[SWARM_WIRE_PEER_ID_LEN];     /* originator */
      gchar offer_id[SWARM_WIRE_PEER_ID_LEN];
      guint8 kind;                /* SwarmSignalKind */
      guint8 fragment;            /* index, < fragments */
      guint8 fragments;           /* 1..SWARM_WIRE_MAX_SIGNAL_FRAGMENTS */
      const guint8 *payload;      /* a piece of the description text */
      guint16 payload_len;        /* 1..SWARM_WIRE_MAX_SIGNAL_PAYLOAD */
    } signal;
  };
} SwarmMessage;

#define SWARM_WIRE_ERROR (swarm_wire_error_quark ())
typedef enum {
  SWARM_WIRE_ERROR_TRUNCATED,
  SWARM_WIRE_ERROR_VERSION,
  SWARM_WIRE_ERROR_UNKNOWN_TYPE,
  SWARM_WIRE_ERROR_INVALID,
} SwarmWireError;

GQuark swarm_wire_error_quark (void);

/* Parses one datagram.  On success @msg points into @data, which must
 * outlive it.  Trailing bytes after a complete message are an error. */
SWARM_TEST_API gboolean swarm_wire_parse (const guint8 * data, gsize len,
    SwarmMessage * msg, GError ** error);

/* Writes @msg into @out (at least SWARM_WIRE_MAX_DATAGRAM bytes is always
 * enough).  Returns the length, or 0 if @msg is invalid or does not fit. */
SWARM_TEST_API gsize swarm_wire_write (const SwarmMessage * msg, guint8 * out,
    gsize out_size);

/* Bitmap helpers shared by HAVE, REQUEST and ACK (MSB-first bit order). */
static inline gboolean
swarm_wire_bit_get (const guint8 * bits, guint i)
{
  return (bits[i >> 3] >> (7 - (i & 7))) & 1;
}

static inline void
swarm_wire_bit_set (guint8 * bits, guint i)
{
  bits[i >> 3] |= (guint8) (1u << (7 - (i & 7)));
}

const gchar *swarm_wire_type_name (SwarmMsgType type);

G_END_DECLS

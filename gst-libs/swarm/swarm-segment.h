/* Segments: the unit the swarm stores, announces, requests and verifies.
 *
 * A segment carries a run of the publisher's buffers with everything the
 * viewer needs to recreate them exactly (bytes, flags, PTS/DTS/duration,
 * caps including streamheader) and the publisher's Ed25519 signature over
 * all of it.  Buffer metadata is stored as runs of buffers that share
 * timestamps and flags, so 188-byte MPEG-TS packets cost a few bytes each.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "swarm-prelude.h"
#include "swarm-identity.h"

G_BEGIN_DECLS

typedef enum {
  SWARM_SEGMENT_FLAG_KEYFRAME = 1 << 0,   /* first buffer is not a delta unit: a joiner may start here */
  SWARM_SEGMENT_FLAG_DISCONT = 1 << 1,    /* publisher saw a discontinuity before this segment */
  SWARM_SEGMENT_FLAG_EOS = 1 << 2,        /* the stream ends after this segment */
} SwarmSegmentFlags;

/* Most buffers one segment may carry; a publisher cuts its segment before
 * reaching it (and before SWARM_MAX_SEGMENT_SIZE encoded bytes, see
 * swarm_segment_builder_get_size()). */
#define SWARM_SEGMENT_MAX_BUFFERS 65536

#define SWARM_SEGMENT_ERROR (swarm_segment_error_quark ())
typedef enum {
  SWARM_SEGMENT_ERROR_TRUNCATED,
  SWARM_SEGMENT_ERROR_FORMAT,
  SWARM_SEGMENT_ERROR_SIGNATURE,
  SWARM_SEGMENT_ERROR_TOO_LARGE,
  /* the segmenter dropped one buffer larger than any segment can carry */
  SWARM_SEGMENT_ERROR_FRAME_TOO_LARGE,
} SwarmSegmentError;

SWARM_API GQuark swarm_segment_error_quark (void);

/* Builder, used by the publisher's streaming thread. */
typedef struct _SwarmSegmentBuilder SwarmSegmentBuilder;

SWARM_API SwarmSegmentBuilder *swarm_segment_builder_new (guint64 seq,
    GstCaps * caps, SwarmSegmentFlags flags);
/* Appends @buf's bytes and metadata (the builder copies what it needs). */
SWARM_API void swarm_segment_builder_add (SwarmSegmentBuilder * builder,
    GstBuffer * buf);
SWARM_API guint swarm_segment_builder_get_n_buffers (SwarmSegmentBuilder * builder);
/* The exact encoded size (metadata, payload and signature) the segment
 * would have if finished now. */
SWARM_API gsize swarm_segment_builder_get_size (SwarmSegmentBuilder * builder);
SWARM_API void swarm_segment_builder_add_flags (SwarmSegmentBuilder * builder,
    SwarmSegmentFlags flags);
/* Encodes, signs with @signer and frees the builder.  @publish_time_us is
 * the publisher's wall clock (g_get_real_time) for latency measurement. */
SWARM_API GBytes *swarm_segment_builder_finish (SwarmSegmentBuilder * builder,
    SwarmIdentity * signer, gint64 publish_time_us, GError ** error);
SWARM_API void swarm_segment_builder_free (SwarmSegmentBuilder * builder);

/* A parsed segment. */
typedef struct {
  guint64 seq;
  SwarmSegmentFlags flags;
  gint64 publish_time_us;
  GstCaps *caps;                 /* may be NULL if the publisher had none */
  GPtrArray *buffers;            /* GstBuffer*, in order, memory shared with the input bytes */
} SwarmSegment;

/* Cheap look at an encoded segment's header, without verification. */
SWARM_API gboolean swarm_segment_peek (const guint8 * data, gsize len,
    guint64 * seq, SwarmSegmentFlags * flags, GError ** error);
/* The publisher's wall clock when it cut the segment, from the same
 * header (unverified). */
SWARM_API gboolean swarm_segment_peek_publish_time (const guint8 * data,
    gsize len, gint64 * publish_time_us);
/* Checks the publisher's signature over the whole encoded segment. */
SWARM_API gboolean swarm_segment_verify (GBytes * bytes,
    SwarmIdentity * publisher, GError ** error);
/* Parses (does not verify) an encoded segment. */
SWARM_API SwarmSegment *swarm_segment_parse (GBytes * bytes, GError ** error);
SWARM_API void swarm_segment_free (SwarmSegment * segment);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmSegment, swarm_segment_free)

G_END_DECLS

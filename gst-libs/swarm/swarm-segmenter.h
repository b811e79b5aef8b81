/* Cuts the publisher's buffer stream into segments.
 *
 * A new segment starts before a keyframe once the current one holds delta
 * units or is long enough (so a joiner can always start on a keyframe), and
 * before any buffer once the current one reaches the target duration, or
 * the size bound (SWARM_SEGMENTER_MAX_SIZE).  A buffer bigger than that
 * bound travels alone, in a segment of up to SWARM_MAX_SEGMENT_SIZE.
 * Durations are measured on the buffers' timestamps where they have them,
 * on arrival time where they do not (MPEG-TS packets).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "swarm-prelude.h"
#include "swarm-identity.h"
#include "swarm-segment.h"
#include "swarm-wire.h"
#include "swarm-clock.h"

G_BEGIN_DECLS

/* Encoded bytes at which a segment is cut (2048 chunks, 2.4 MB). */
#define SWARM_SEGMENTER_MAX_SIZE (SWARM_CHUNK_SIZE * 2048)

typedef struct _SwarmSegmenter SwarmSegmenter;

typedef struct {
  guint64 seq;
  SwarmSegmentFlags flags;
  GBytes *bytes;                 /* encoded and signed */
  guint n_buffers;
} SwarmSegmenterOutput;

SWARM_PRIVATE_API SwarmSegmenter *swarm_segmenter_new (SwarmIdentity * signer,
    GstClockTime target_duration, gsize max_size);
SWARM_PRIVATE_API void swarm_segmenter_free (SwarmSegmenter * seg);
/* Where the segmenter reads the time (default: the system clock); before
 * the first buffer: the first sequence number comes from its wall clock. */
void swarm_segmenter_set_clock (SwarmSegmenter * seg,
    SwarmClock * clock);

/* New caps: the segment in progress is finished first, so every segment
 * carries the caps of all its buffers. */
SWARM_PRIVATE_API gboolean swarm_segmenter_set_caps (SwarmSegmenter * seg,
    GstCaps * caps, GPtrArray * out, GError ** error);
/* Adds @buf; appends finished segments (SwarmSegmenterOutput*, free with
 * swarm_segmenter_output_free) to @out.  A buffer too large for any
 * segment fails with SWARM_SEGMENT_ERROR_FRAME_TOO_LARGE: it is dropped,
 * what @out received is still to publish, the segmenter goes on (the next
 * segment is marked DISCONT).  Other errors are fatal. */
SWARM_PRIVATE_API gboolean swarm_segmenter_push (SwarmSegmenter * seg, GstBuffer * buf,
    GPtrArray * out, GError ** error);
/* Finishes the segment in progress (marked EOS if @eos; with @eos an empty
 * EOS segment is produced if nothing is in progress). */
SWARM_PRIVATE_API gboolean swarm_segmenter_flush (SwarmSegmenter * seg, gboolean eos,
    GPtrArray * out, GError ** error);
/* Numbers from @seq on (swarm-sequence.h says where to start). */
SWARM_PRIVATE_API void swarm_segmenter_set_next_seq (SwarmSegmenter * seg,
    guint64 seq);
guint64 swarm_segmenter_get_next_seq (SwarmSegmenter * seg);
SWARM_PRIVATE_API void swarm_segmenter_output_free (SwarmSegmenterOutput * o);

G_END_DECLS

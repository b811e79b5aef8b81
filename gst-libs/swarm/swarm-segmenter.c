/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-segmenter.h"
#include "swarm-wire.h"

/* A buffer over the cut size always fits with room for its metadata. */
G_STATIC_ASSERT (2 * SWARM_SEGMENTER_MAX_SIZE <= SWARM_MAX_SEGMENT_SIZE);

struct _SwarmSegmenter {
  SwarmClock *clock;
  SwarmIdentity *signer;
  GstClockTime target;
  gsize max_size;
  GstCaps *caps;
  guint64 next_seq;
  gboolean pending_discont;
  gboolean dropped;             /* the next buffer follows a dropped one */

  SwarmSegmentBuilder *builder; /* NULL between segments */
  gboolean has_delta;
  GstClockTime start_ts;        /* first stream timestamp in the segment */
  gint64 start_arrival_us;
};

SwarmSegmenter *
swarm_segmenter_new (SwarmIdentity * signer, GstClockTime target_duration,
    gsize max_size)
{
  SwarmSegmenter *seg = g_new0 (SwarmSegmenter, 1);

  seg->signer = swarm_identity_ref (signer);
  seg->target = target_duration;
  seg->max_size = MIN (max_size ? max_size : SWARM_SEGMENTER_MAX_SIZE,
      SWARM_SEGMENTER_MAX_SIZE);
  /* Start numbering from the wall clock so a restarted publisher does not
   * reuse sequence numbers viewers still hold. */
  seg->clock = swarm_clock_get_system ();
  seg->next_seq = (guint64) (swarm_clock_real_us (seg->clock) / 1000);
  return seg;
}

void
swarm_segmenter_set_clock (SwarmSegmenter * seg, SwarmClock * clock)
{
  swarm_clock_replace (&seg->clock, clock);
  seg->next_seq = (guint64) (swarm_clock_real_us (seg->clock) / 1000);
}

void
swarm_segmenter_free (SwarmSegmenter * seg)
{
  if (!seg)
    return;
  g_clear_pointer (&seg->builder, swarm_segment_builder_free);
  gst_clear_caps (&seg->caps);
  swarm_identity_unref (seg->signer);
  swarm_clock_unref (seg->clock);
  g_free (seg);
}

void
swarm_segmenter_output_free (SwarmSegmenterOutput * o)
{
  g_bytes_unref (o->bytes);
  g_free (o);
}

void
swarm_segmenter_set_next_seq (SwarmSegmenter * seg, guint64 seq)
{
  seg->next_seq = seq;
}

guint64
swarm_segmenter_get_next_seq (SwarmSegmenter * seg)
{
  return seg->next_seq;
}

static gboolean
segmenter_finish (SwarmSegmenter * seg, SwarmSegmentFlags extra,
    GPtrArray * out, GError ** error)
{
  SwarmSegmenterOutput *o;
  guint n;
  GBytes *bytes;

  if (!seg->builder)
    return TRUE;
  swarm_segment_builder_add_flags (seg->builder, extra);
  n = swarm_segment_builder_get_n_buffers (seg->builder);
  bytes = swarm_segment_builder_finish (seg->builder, seg->signer,
      swarm_clock_real_us (seg->clock), error);
  seg->builder = NULL;
  if (!bytes)
    return FALSE;
  o = g_new0 (SwarmSegmenterOutput, 1);
  o->seq = seg->next_seq++;
  o->bytes = bytes;
  o->n_buffers = n;
  swarm_segment_peek (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
      NULL, &o->flags, NULL);
  g_ptr_array_add (out, o);
  return TRUE;
}

gboolean
swarm_segmenter_set_caps (SwarmSegmenter * seg, GstCaps * caps,
    GPtrArray * out, GError ** error)
{
  if (seg->caps && caps && gst_caps_is_equal (seg->caps, caps))
    return TRUE;
  if (!segmenter_finish (seg, 0, out, error))
    return FALSE;
  gst_caps_replace (&seg->caps, caps);
  return TRUE;
}

static GstClockTime
buffer_time (GstBuffer * buf)
{
  return GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf) :
      GST_BUFFER_PTS (buf);
}

static gboolean
segmenter_drop (SwarmSegmenter * seg, gsize size, gsize encoded,
    GError ** error)
{
  /* whatever comes next follows a hole */
  seg->pending_discont = TRUE;
  seg->dropped = TRUE;
  g_set_error (error, SWARM_SEGMENT_ERROR,
      SWARM_SEGMENT_ERROR_FRAME_TOO_LARGE,
      "buffer of %" G_GSIZE_FORMAT " bytes (%" G_GSIZE_FORMAT " encoded) "
      "is larger than a segment can carry (%u bytes): dropped", size,
      encoded, SWARM_MAX_SEGMENT_SIZE);
  return FALSE;
}

gboolean
swarm_segmenter_push (SwarmSegmenter * seg, GstBuffer * buf, GPtrArray * out,
    GError ** error)
{
  gboolean keyframe = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  GstClockTime ts = buffer_time (buf);
  gint64 now = swarm_clock_now_us (seg->clock);
  gsize size = gst_buffer_get_size (buf);

  if (seg->builder) {
    GstClockTime elapsed;
    gboolean cut;

    if (GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (seg->start_ts))
      elapsed = ts > seg->start_ts ? ts - seg->start_ts : 0;
    else
      elapsed = (now - seg->start_arrival_us) * GST_USECOND;

    cut = elapsed >= seg->target
        || swarm_segment_builder_get_size (seg->builder) + size > seg->max_size
        || (keyframe && seg->has_delta);
    if (cut && !segmenter_finish (seg, 0, out, error))
      return FALSE;
  }
  /* Not even copied: it could never travel. */
  if (size > SWARM_MAX_SEGMENT_SIZE)
    return segmenter_drop (seg, size, size, error);

  if (!seg->builder) {
    SwarmSegmentFlags flags = keyframe ? SWARM_SEGMENT_FLAG_KEYFRAME : 0;

    if (seg->pending_discont || GST_BUFFER_IS_DISCONT (buf))
      flags |= SWARM_SEGMENT_FLAG_DISCONT;
    seg->pending_discont = FALSE;
    seg->builder = swarm_segment_builder_new (seg->next_seq, seg->caps, flags);
    seg->has_delta = FALSE;
    seg->start_ts = ts;
    seg->start_arrival_us = now;
  } else if (!GST_CLOCK_TIME_IS_VALID (seg->start_ts)) {
    seg->start_ts = ts;
  }
  if (seg->dropped) {
    /* the buffer itself says so too, for players that look at buffers
     * only (metadata copied, memory shared) */
    GstBuffer *marked = gst_buffer_copy (buf);

    GST_BUFFER_FLAG_SET (marked, GST_BUFFER_FLAG_DISCONT);
    swarm_segment_builder_add (seg->builder, marked);
    gst_buffer_unref (marked);
  } else {
    swarm_segment_builder_add (seg->builder, buf);
  }
  /* A buffer over max_size is alone in its builder (the cut above), so
   * only it can take the segment past the hard bound with its metadata. */
  if (swarm_segment_builder_get_size (seg->builder) > SWARM_MAX_SEGMENT_SIZE) {
    gsize encoded = swarm_segment_builder_get_size (seg->builder);

    g_assert (swarm_segment_builder_get_n_buffers (seg->builder) == 1);
    g_clear_pointer (&seg->builder, swarm_segment_builder_free);
    return segmenter_drop (seg, size, encoded, error);
  }
  seg->dropped = FALSE;
  if (!keyframe)
    seg->has_delta = TRUE;
  return TRUE;
}

gboolean
swarm_segmenter_flush (SwarmSegmenter * seg, gboolean eos, GPtrArray * out,
    GError ** error)
{
  if (eos && !seg->builder)
    seg->builder = swarm_segment_builder_new (seg->next_seq, seg->caps, 0);
  return segmenter_finish (seg, eos ? SWARM_SEGMENT_FLAG_EOS : 0, out, error);
}

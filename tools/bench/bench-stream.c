/* p2p-bench: the synthetic stream's buffer format, writer and parser
 *
 * Every buffer is BENCH_BUFFER_MS of a constant-bitrate stream:
 *
 *   magic "P2PB" | u32 keyframe | u64 sequence | i64 origin wall clock (µs)
 *   | filler: byte i = (sequence + i) & 0xff
 *
 * big-endian.  The filler is deterministic so that a viewer can tell a
 * corrupted buffer from a good one without any encoder or decoder.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#define BENCH_MAGIC 0x50325042u

gsize
bench_stream_buffer_size (gint bitrate_kbps)
{
  gsize size = (gsize) bitrate_kbps * 1000 / 8 * BENCH_BUFFER_MS / 1000;

  return MAX (size, BENCH_HEADER_SIZE);
}

GstCaps *
bench_stream_caps (gint bitrate_kbps)
{
  return gst_caps_new_simple (BENCH_CAPS_NAME,
      "bitrate", G_TYPE_INT, bitrate_kbps * 1000,
      "buffer-duration", G_TYPE_INT, BENCH_BUFFER_MS, NULL);
}

/* A buffer stamped with @stamp_us, or (-1) with the wall clock once it is
 * filled, as close to the push as we can. */
static GstBuffer *
make_buffer (guint64 seq, gsize size, gint64 stamp_us)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  gboolean keyframe = seq % BENCH_KEYFRAME_EVERY == 0;
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  GST_WRITE_UINT32_BE (map.data, BENCH_MAGIC);
  GST_WRITE_UINT32_BE (map.data + 4, keyframe);
  GST_WRITE_UINT64_BE (map.data + 8, seq);
  for (i = BENCH_HEADER_SIZE; i < size; i++)
    map.data[i] = (guint8) (seq + i);
  GST_WRITE_UINT64_BE (map.data + 16, (guint64) (stamp_us >= 0 ? stamp_us :
          g_get_real_time ()));
  gst_buffer_unmap (buf, &map);
  if (!keyframe)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  return buf;
}

GstBuffer *
bench_stream_make_buffer (guint64 seq, gsize size)
{
  return make_buffer (seq, size, -1);
}

GstBuffer *
bench_stream_make_buffer_stamped (guint64 seq, gsize size, gint64 stamp_us)
{
  return make_buffer (seq, size, MAX (stamp_us, 0));
}

gboolean
bench_stream_parse_header (GstBuffer * buf, guint64 * seq, gint64 * stamp_us)
{
  guint8 head[BENCH_HEADER_SIZE];

  if (gst_buffer_extract (buf, 0, head, sizeof head) != sizeof head
      || GST_READ_UINT32_BE (head) != BENCH_MAGIC)
    return FALSE;
  *seq = GST_READ_UINT64_BE (head + 8);
  *stamp_us = (gint64) GST_READ_UINT64_BE (head + 16);
  return TRUE;
}

/* FALSE for anything that is not an intact buffer of ours. */
gboolean
bench_stream_parse (GstBuffer * buf, guint64 * seq, gint64 * stamp_us)
{
  GstMapInfo map;
  gboolean ok = FALSE;
  gsize i;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return FALSE;
  if (map.size >= BENCH_HEADER_SIZE
      && GST_READ_UINT32_BE (map.data) == BENCH_MAGIC) {
    *seq = GST_READ_UINT64_BE (map.data + 8);
    *stamp_us = (gint64) GST_READ_UINT64_BE (map.data + 16);
    ok = TRUE;
    for (i = BENCH_HEADER_SIZE; ok && i < map.size; i++)
      ok = map.data[i] == (guint8) (*seq + i);
  }
  gst_buffer_unmap (buf, &map);
  return ok;
}

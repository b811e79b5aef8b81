/* Tests for segment encoding, signing and parsing.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

#define CARRIED_FLAGS (GST_BUFFER_FLAG_LIVE | GST_BUFFER_FLAG_DECODE_ONLY | \
    GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_RESYNC | \
    GST_BUFFER_FLAG_CORRUPTED | GST_BUFFER_FLAG_MARKER | \
    GST_BUFFER_FLAG_HEADER | GST_BUFFER_FLAG_GAP | GST_BUFFER_FLAG_DROPPABLE | \
    GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_SYNC_AFTER | \
    GST_BUFFER_FLAG_NON_DROPPABLE)

static SwarmIdentity *signer;

static GstBuffer *
make_buffer (gsize size, guint8 seed, GstClockTime pts, GstClockTime dts,
    GstClockTime duration, GstBufferFlags flags)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < size; i++)
    map.data[i] = (guint8) (seed + i * 7);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DTS (buf) = dts;
  GST_BUFFER_DURATION (buf) = duration;
  GST_BUFFER_FLAGS (buf) = flags;
  return buf;
}

static GstCaps *
make_streamheader_caps (void)
{
  GstCaps *caps = gst_caps_from_string ("video/mpegts, systemstream=(boolean)"
      "true, packetsize=(int)188");
  GValue array = G_VALUE_INIT, v = G_VALUE_INIT;

  g_value_init (&array, GST_TYPE_ARRAY);
  for (guint i = 0; i < 2; i++) {
    GstBuffer *hdr = make_buffer (188, 0x47 + i, GST_CLOCK_TIME_NONE,
        GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_BUFFER_FLAG_HEADER);

    g_value_init (&v, GST_TYPE_BUFFER);
    g_value_take_boxed (&v, hdr);
    gst_value_array_append_and_take_value (&array, &v);
    memset (&v, 0, sizeof (v));
  }
  gst_caps_set_value (caps, "streamheader", &array);
  g_value_unset (&array);
  return caps;
}

static void
assert_buffers_equal (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo ma, mb;

  fail_unless_equals_uint64 (GST_BUFFER_PTS (a), GST_BUFFER_PTS (b));
  fail_unless_equals_uint64 (GST_BUFFER_DTS (a), GST_BUFFER_DTS (b));
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (a),
      GST_BUFFER_DURATION (b));
  fail_unless_equals_int (GST_BUFFER_FLAGS (a) & CARRIED_FLAGS,
      GST_BUFFER_FLAGS (b) & CARRIED_FLAGS);
  fail_unless (gst_buffer_map (a, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b, &mb, GST_MAP_READ));
  fail_unless_equals_int (ma.size, mb.size);
  if (ma.size)
    fail_unless_equals_int (memcmp (ma.data, mb.data, ma.size), 0);
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
}

/* A mixed stream exercising every kind of run. */
static GPtrArray *
make_mixed_buffers (void)
{
  GPtrArray *bufs = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  GstClockTime t = 3600 * GST_SECOND;

  /* keyframe with everything set */
  g_ptr_array_add (bufs, make_buffer (1000, 1, t, t - 40 * GST_MSECOND,
          40 * GST_MSECOND, GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_HEADER
          | GST_BUFFER_FLAG_MARKER));
  /* frames with stepping PTS and DTS, constant duration, varied sizes */
  for (guint i = 1; i < 8; i++)
    g_ptr_array_add (bufs, make_buffer (100 + i * 13, i, t + i * 40 *
            GST_MSECOND, t + (i - 1) * 40 * GST_MSECOND, 40 * GST_MSECOND,
            GST_BUFFER_FLAG_DELTA_UNIT));
  /* PTS only, no DTS, no duration, equal sizes */
  for (guint i = 0; i < 5; i++)
    g_ptr_array_add (bufs, make_buffer (188, 50 + i, t + i * 7,
            GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, 0));
  /* no timestamps at all, every carried flag, and an empty buffer */
  g_ptr_array_add (bufs, make_buffer (0, 0, GST_CLOCK_TIME_NONE,
          GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, CARRIED_FLAGS));
  g_ptr_array_add (bufs, make_buffer (5, 9, GST_CLOCK_TIME_NONE,
          GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, CARRIED_FLAGS |
          GST_BUFFER_FLAG_TAG_MEMORY));
  /* timestamps at the extremes */
  g_ptr_array_add (bufs, make_buffer (3, 3, 0, 0, 0, GST_BUFFER_FLAG_GAP));
  g_ptr_array_add (bufs, make_buffer (3, 4, GST_CLOCK_TIME_NONE - 1,
          GST_CLOCK_TIME_NONE - 1, GST_CLOCK_TIME_NONE - 1, 0));
  /* going backwards starts a new run */
  g_ptr_array_add (bufs, make_buffer (7, 5, 10, GST_CLOCK_TIME_NONE, 1, 0));
  g_ptr_array_add (bufs, make_buffer (7, 6, 5, GST_CLOCK_TIME_NONE, 1, 0));
  return bufs;
}

static GBytes *
encode (guint64 seq, GstCaps * caps, SwarmSegmentFlags flags,
    GPtrArray * bufs, gint64 publish_time)
{
  SwarmSegmentBuilder *b = swarm_segment_builder_new (seq, caps, flags);
  GError *err = NULL;
  GBytes *bytes;
  gsize predicted;

  for (guint i = 0; i < bufs->len; i++)
    swarm_segment_builder_add (b, g_ptr_array_index (bufs, i));
  fail_unless_equals_int (swarm_segment_builder_get_n_buffers (b), bufs->len);
  predicted = swarm_segment_builder_get_size (b);
  bytes = swarm_segment_builder_finish (b, signer, publish_time, &err);
  fail_unless (bytes != NULL, "%s", err ? err->message : "");
  fail_unless_equals_int (g_bytes_get_size (bytes), predicted);
  return bytes;
}

static SwarmSegment *
parse_ok (GBytes * bytes)
{
  GError *err = NULL;
  SwarmSegment *seg = swarm_segment_parse (bytes, &err);

  fail_unless (seg != NULL, "%s", err ? err->message : "");
  return seg;
}

GST_START_TEST (test_round_trip)
{
  GPtrArray *bufs = make_mixed_buffers ();
  GstCaps *caps = make_streamheader_caps ();
  GBytes *bytes, *again;
  SwarmSegment *seg;
  const guint8 *data;
  gsize len;
  const GValue *sh;

  bytes = encode (G_GUINT64_CONSTANT (0x1122334455667788), caps,
      SWARM_SEGMENT_FLAG_KEYFRAME | SWARM_SEGMENT_FLAG_EOS, bufs,
      -1234567890123);
  data = g_bytes_get_data (bytes, &len);
  fail_unless_equals_int (memcmp (data, "P2PS", 4), 0);
  fail_unless (swarm_segment_verify (bytes, signer, NULL));

  seg = parse_ok (bytes);
  fail_unless_equals_uint64 (seg->seq, G_GUINT64_CONSTANT (0x1122334455667788));
  fail_unless_equals_int (seg->flags,
      SWARM_SEGMENT_FLAG_KEYFRAME | SWARM_SEGMENT_FLAG_EOS);
  fail_unless_equals_int64 (seg->publish_time_us, -1234567890123);
  fail_unless (seg->caps != NULL);
  fail_unless (gst_caps_is_equal (seg->caps, caps));
  sh = gst_structure_get_value (gst_caps_get_structure (seg->caps, 0),
      "streamheader");
  fail_unless (sh != NULL && GST_VALUE_HOLDS_ARRAY (sh));
  fail_unless_equals_int (gst_value_array_get_size (sh), 2);
  {
    GstBuffer *h = gst_value_get_buffer (gst_value_array_get_value (sh, 1));

    fail_unless_equals_int (gst_buffer_get_size (h), 188);
    fail_unless (gst_buffer_memcmp (h, 0, "\x48\x4f", 2) == 0);
  }

  fail_unless_equals_int (seg->buffers->len, bufs->len);
  for (guint i = 0; i < bufs->len; i++)
    assert_buffers_equal (g_ptr_array_index (bufs, i),
        g_ptr_array_index (seg->buffers, i));
  /* TAG_MEMORY describes memory, not the stream: never carried */
  fail_if (GST_BUFFER_FLAG_IS_SET (g_ptr_array_index (seg->buffers, 14),
          GST_BUFFER_FLAG_TAG_MEMORY));

  /* Re-encoding what was parsed gives the same bytes (Ed25519 signatures
   * are deterministic), so nothing was lost or changed. */
  again = encode (seg->seq, seg->caps, seg->flags, seg->buffers,
      seg->publish_time_us);
  fail_unless (g_bytes_equal (bytes, again));

  g_bytes_unref (again);
  swarm_segment_free (seg);
  g_bytes_unref (bytes);
  gst_caps_unref (caps);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

GST_START_TEST (test_zero_copy)
{
  GPtrArray *bufs = make_mixed_buffers ();
  GBytes *bytes = encode (1, NULL, 0, bufs, 0);
  SwarmSegment *seg = parse_ok (bytes);
  const guint8 *data;
  gsize len;
  GstMapInfo map;
  GstBuffer *first = g_ptr_array_index (seg->buffers, 0);

  fail_unless (seg->caps == NULL);
  data = g_bytes_get_data (bytes, &len);
  fail_unless (gst_buffer_map (first, &map, GST_MAP_READ));
  /* the first buffer's bytes lie inside the encoded segment */
  fail_unless (map.data >= data && map.data + map.size <= data + len);
  fail_unless (map.data + map.size + 7 * 100 <= data + len);
  gst_buffer_unmap (first, &map);
  /* and the segment outlives the GBytes the caller passed in */
  g_bytes_unref (bytes);
  fail_unless (gst_buffer_map (first, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, 1000);
  fail_unless_equals_int (map.data[999], (guint8) (1 + 999 * 7));
  gst_buffer_unmap (first, &map);

  swarm_segment_free (seg);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

GST_START_TEST (test_empty_segment)
{
  GPtrArray *bufs = g_ptr_array_new ();
  GBytes *bytes = encode (0, NULL, SWARM_SEGMENT_FLAG_DISCONT, bufs, 5);
  SwarmSegment *seg = parse_ok (bytes);

  fail_unless_equals_int (seg->buffers->len, 0);
  fail_unless_equals_int (seg->flags, SWARM_SEGMENT_FLAG_DISCONT);
  fail_unless_equals_int (g_bytes_get_size (bytes), 22 + 1 + 1 + 64);
  swarm_segment_free (seg);
  g_bytes_unref (bytes);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

GST_START_TEST (test_ts_overhead)
{
  GPtrArray *bufs = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  GstCaps *caps = gst_caps_from_string ("video/mpegts, systemstream=(boolean)"
      "true, packetsize=(int)188");
  GBytes *bytes;
  SwarmSegment *seg;
  gsize overhead;
  const guint n = 1000;

  for (guint i = 0; i < n; i++) {
    GstClockTime pts = i % 20 == 0 ?
        (GstClockTime) (7200 * GST_SECOND + i * GST_MSECOND) :
        GST_CLOCK_TIME_NONE;

    g_ptr_array_add (bufs, make_buffer (188, i, pts, GST_CLOCK_TIME_NONE,
            GST_CLOCK_TIME_NONE, i % 20 == 0 ? 0 : GST_BUFFER_FLAG_DELTA_UNIT));
  }
  bytes = encode (99, caps, SWARM_SEGMENT_FLAG_KEYFRAME, bufs,
      g_get_real_time ());
  /* everything that is not payload: header, caps, runs and signature */
  overhead = g_bytes_get_size (bytes) - n * 188;
  GST_INFO ("%u TS packets: %" G_GSIZE_FORMAT " bytes overhead, %.2f per "
      "buffer", n, overhead, (double) overhead / n);
  fail_unless (overhead < 2 * n, "overhead %" G_GSIZE_FORMAT, overhead);
  /* 50 single-buffer PTS runs (12 B) and 50 untimed runs (6 B), plus
   * header, caps and signature: about 1.1 B per buffer */
  fail_unless (overhead < 1150, "overhead %" G_GSIZE_FORMAT, overhead);

  seg = parse_ok (bytes);
  fail_unless_equals_int (seg->buffers->len, n);
  for (guint i = 0; i < n; i += 7)
    assert_buffers_equal (g_ptr_array_index (bufs, i),
        g_ptr_array_index (seg->buffers, i));
  swarm_segment_free (seg);
  g_bytes_unref (bytes);

  /* Constant-step timestamps cost nothing per buffer. */
  g_ptr_array_set_size (bufs, 0);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (bufs, make_buffer (188, i, i * 20 * GST_MSECOND,
            GST_CLOCK_TIME_NONE, 20 * GST_MSECOND, 0));
  bytes = encode (100, caps, 0, bufs, 0);
  overhead = g_bytes_get_size (bytes) - n * 188;
  fail_unless (overhead < 200, "overhead %" G_GSIZE_FORMAT, overhead);
  seg = parse_ok (bytes);
  for (guint i = 0; i < n; i++)
    fail_unless_equals_uint64 (GST_BUFFER_PTS (g_ptr_array_index
            (seg->buffers, i)), i * 20 * GST_MSECOND);
  swarm_segment_free (seg);
  g_bytes_unref (bytes);

  gst_caps_unref (caps);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

GST_START_TEST (test_signature)
{
  GPtrArray *bufs = make_mixed_buffers ();
  GstCaps *caps = make_streamheader_caps ();
  GBytes *bytes = encode (7, caps, 0, bufs, 1);
  SwarmIdentity *other = swarm_identity_generate (NULL);
  SwarmIdentity *pub = swarm_identity_new_from_public_key
      (swarm_identity_get_public_key (signer));
  const guint8 *data;
  gsize len, step;
  guint8 *copy;
  GError *err = NULL;

  fail_unless (swarm_segment_verify (bytes, pub, &err));
  fail_if (swarm_segment_verify (bytes, other, &err));
  fail_unless (g_error_matches (err, SWARM_SEGMENT_ERROR,
          SWARM_SEGMENT_ERROR_SIGNATURE));
  g_clear_error (&err);

  data = g_bytes_get_data (bytes, &len);
  copy = g_memdup2 (data, len);
  /* every header and signature byte, and a spread across the rest */
  step = MAX (len / 400, 1);
  for (gsize i = 0; i < len; i += (i < 64 || i >= len - 64) ? 1 : step) {
    for (guint bit = 0; bit < 8; bit += 7) {
      GBytes *bad;

      copy[i] ^= 1 << bit;
      bad = g_bytes_new_static (copy, len);
      fail_if (swarm_segment_verify (bad, pub, NULL),
          "verified with byte %" G_GSIZE_FORMAT " flipped", i);
      g_bytes_unref (bad);
      copy[i] ^= 1 << bit;
    }
  }
  /* truncated or extended segments fail too */
  for (gsize l = 0; l < len; l += (l < 100 ? 1 : 97)) {
    GBytes *bad = g_bytes_new_static (copy, l);

    fail_if (swarm_segment_verify (bad, pub, NULL));
    g_bytes_unref (bad);
  }

  g_free (copy);
  swarm_identity_unref (other);
  swarm_identity_unref (pub);
  g_bytes_unref (bytes);
  gst_caps_unref (caps);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

static void
assert_parse_fails (const guint8 * data, gsize len)
{
  GBytes *bytes = g_bytes_new (data, len);
  GError *err = NULL;
  SwarmSegment *seg = swarm_segment_parse (bytes, &err);

  fail_unless (seg == NULL, "parsed %" G_GSIZE_FORMAT " bytes", len);
  fail_unless (err != NULL && err->domain == SWARM_SEGMENT_ERROR);
  g_clear_error (&err);
  g_bytes_unref (bytes);
}

GST_START_TEST (test_truncations_and_corruption)
{
  GPtrArray *bufs = make_mixed_buffers ();
  GstCaps *caps = make_streamheader_caps ();
  GBytes *bytes = encode (8, caps, 0, bufs, 2);
  const guint8 *data;
  gsize len;
  guint8 *copy;

  data = g_bytes_get_data (bytes, &len);
  for (gsize l = 0; l < len; l++)
    assert_parse_fails (data, l);

  copy = g_malloc (len + 1);
  memcpy (copy, data, len);
  copy[len] = 0;
  assert_parse_fails (copy, len + 1);

  /* magic, version, unknown segment flags */
  copy[0] = 'X';
  assert_parse_fails (copy, len);
  copy[0] = 'P';
  copy[4] = 2;
  assert_parse_fails (copy, len);
  copy[4] = 1;
  copy[5] = 0x08;
  assert_parse_fails (copy, len);
  copy[5] = 0;

  /* Flipping any metadata byte either fails or still parses; it never
   * crashes (the signature is what catches it). */
  for (gsize i = 22; i < MIN (len, 22 + 3000); i++) {
    for (guint bit = 0; bit < 8; bit++) {
      GBytes *b;
      SwarmSegment *seg;

      copy[i] ^= 1 << bit;
      b = g_bytes_new_static (copy, len);
      seg = swarm_segment_parse (b, NULL);
      swarm_segment_free (seg);
      g_bytes_unref (b);
      copy[i] ^= 1 << bit;
    }
  }
  fail_unless_equals_int (memcmp (copy, data, len), 0);

  g_free (copy);
  g_bytes_unref (bytes);
  gst_caps_unref (caps);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

GST_START_TEST (test_hostile_counts)
{
  guint8 buf[256];
  gsize n = 0;

  /* header */
  memcpy (buf, "P2PS\x01\x00", 6);
  memset (buf + 6, 0, 16);
  n = 22;
  buf[n++] = 0;                 /* no caps */
  buf[n++] = 1;                 /* one run */
  buf[n++] = 0x08;              /* equal sizes, no timestamps */
  /* count = 65537: one more than allowed */
  buf[n++] = 0x81;
  buf[n++] = 0x80;
  buf[n++] = 0x04;
  buf[n++] = 0;                 /* flags */
  buf[n++] = 0;                 /* size 0 */
  memset (buf + n, 0, 64);
  assert_parse_fails (buf, n + 64);

  /* 65536 empty buffers are allowed */
  buf[n - 3] = 0x04;
  buf[n - 4] = 0x80;
  buf[n - 5] = 0x80;
  {
    GBytes *bytes = g_bytes_new (buf, n + 64);
    SwarmSegment *seg = parse_ok (bytes);

    fail_unless_equals_int (seg->buffers->len, 65536);
    swarm_segment_free (seg);
    g_bytes_unref (bytes);
  }

  /* equal size that overflows the payload limit when multiplied */
  n = 24;
  buf[n++] = 0x08;
  buf[n++] = 0x80;              /* count 0x4000 */
  buf[n++] = 0x80;
  buf[n++] = 0x01;
  buf[n++] = 0;
  buf[n++] = 0xFF;              /* size 0x3FFF */
  buf[n++] = 0x7F;
  memset (buf + n, 0, 64);
  assert_parse_fails (buf, n + 64);

  /* an over-long varint */
  n = 22;
  memset (buf + n, 0xFF, 11);
  buf[n + 11] = 0;
  assert_parse_fails (buf, n + 12 + 64);

  /* caps length beyond the input */
  n = 22;
  buf[n++] = 0xFF;
  buf[n++] = 0x01;
  memset (buf + n, 'a', 64);
  assert_parse_fails (buf, n + 64);

  /* Caps strings that GStreamer's parser would answer with a critical
   * (fatal in this test), or worse, are refused before reaching it. */
  {
    static const gchar *const bad_caps[] = { "%%%", "1video/x", "a;",
      "video/x(bad)", "video/x(memory:1)", "a, b=(buffer)4z",
      "a, b=(buffer)474", "a, b=(buffer)< 47, 4z >", "a, b=(int)[ 5, 1 ]",
      "a, b=(structure)\"1x;\"", "a, b=(GstCaps)\"1x\"",
      "audio/x-raw-int, rate=(int)1", "a, b=\"unterminated"
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad_caps); i++) {
      gsize l = strlen (bad_caps[i]);

      n = 22;
      buf[n++] = l;
      memcpy (buf + n, bad_caps[i], l);
      n += l;
      buf[n++] = 0;
      memset (buf + n, 0, 64);
      assert_parse_fails (buf, n + 64);
    }
  }
}

GST_END_TEST;

GST_START_TEST (test_peek)
{
  GPtrArray *bufs = make_mixed_buffers ();
  GBytes *bytes = encode (G_MAXUINT64 - 1, NULL, SWARM_SEGMENT_FLAG_KEYFRAME |
      SWARM_SEGMENT_FLAG_DISCONT, bufs, 3);
  const guint8 *data;
  gsize len;
  guint64 seq = 0;
  SwarmSegmentFlags flags = 0;
  GError *err = NULL;
  guint8 bad[22];

  data = g_bytes_get_data (bytes, &len);
  fail_unless (swarm_segment_peek (data, len, &seq, &flags, &err));
  fail_unless_equals_uint64 (seq, G_MAXUINT64 - 1);
  fail_unless_equals_int (flags,
      SWARM_SEGMENT_FLAG_KEYFRAME | SWARM_SEGMENT_FLAG_DISCONT);
  /* the fixed header is enough */
  seq = 0;
  fail_unless (swarm_segment_peek (data, 22, &seq, NULL, NULL));
  fail_unless_equals_uint64 (seq, G_MAXUINT64 - 1);
  fail_if (swarm_segment_peek (data, 21, &seq, &flags, &err));
  fail_unless (g_error_matches (err, SWARM_SEGMENT_ERROR,
          SWARM_SEGMENT_ERROR_TRUNCATED));
  g_clear_error (&err);

  memcpy (bad, data, 22);
  bad[1] = 'Q';
  fail_if (swarm_segment_peek (bad, 22, &seq, &flags, &err));
  fail_unless (g_error_matches (err, SWARM_SEGMENT_ERROR,
          SWARM_SEGMENT_ERROR_FORMAT));
  g_clear_error (&err);

  g_bytes_unref (bytes);
  g_ptr_array_unref (bufs);
}

GST_END_TEST;

GST_START_TEST (test_too_large)
{
  SwarmSegmentBuilder *b = swarm_segment_builder_new (1, NULL, 0);
  GstBuffer *big = gst_buffer_new_allocate (NULL, SWARM_MAX_SEGMENT_SIZE,
      NULL);
  GError *err = NULL;

  gst_buffer_memset (big, 0, 0xAB, SWARM_MAX_SEGMENT_SIZE);
  swarm_segment_builder_add (b, big);
  fail_unless (swarm_segment_builder_get_size (b) > SWARM_MAX_SEGMENT_SIZE);
  fail_unless (swarm_segment_builder_finish (b, signer, 0, &err) == NULL);
  fail_unless (g_error_matches (err, SWARM_SEGMENT_ERROR,
          SWARM_SEGMENT_ERROR_TOO_LARGE));
  g_clear_error (&err);
  gst_buffer_unref (big);

  /* a verify-only identity cannot sign */
  {
    SwarmIdentity *pub = swarm_identity_new_from_public_key
        (swarm_identity_get_public_key (signer));

    b = swarm_segment_builder_new (1, NULL, 0);
    fail_unless (swarm_segment_builder_finish (b, pub, 0, &err) == NULL);
    fail_unless (g_error_matches (err, SWARM_IDENTITY_ERROR,
            SWARM_IDENTITY_ERROR_NO_PRIVATE_KEY));
    g_clear_error (&err);
    swarm_identity_unref (pub);
  }
}

GST_END_TEST;

/* Pushes @buf, expecting success; returns what the segmenter finished. */
static GPtrArray *
segmenter_push_ok (SwarmSegmenter * seg, GstBuffer * buf)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)
      swarm_segmenter_output_free);
  GError *err = NULL;

  fail_unless (swarm_segmenter_push (seg, buf, out, &err), "%s",
      err ? err->message : "");
  gst_buffer_unref (buf);
  return out;
}

static void
assert_segment_holds (SwarmSegmenterOutput * o, GstBuffer * expected)
{
  SwarmSegment *segment;
  GstBuffer *got;

  fail_unless (swarm_segment_verify (o->bytes, signer, NULL));
  segment = swarm_segment_parse (o->bytes, NULL);
  fail_unless (segment != NULL);
  fail_unless_equals_int (segment->buffers->len, 1);
  got = g_ptr_array_index (segment->buffers, 0);
  fail_unless_equals_uint64 (gst_buffer_get_size (got),
      gst_buffer_get_size (expected));
  {
    GstMapInfo a, b;

    gst_buffer_map (got, &a, GST_MAP_READ);
    gst_buffer_map (expected, &b, GST_MAP_READ);
    fail_unless (memcmp (a.data, b.data, a.size) == 0);
    gst_buffer_unmap (expected, &b);
    gst_buffer_unmap (got, &a);
  }
  fail_unless_equals_uint64 (GST_BUFFER_PTS (got), GST_BUFFER_PTS (expected));
  swarm_segment_free (segment);
}

/* A frame bigger than the cut size travels alone in a segment of its own;
 * one bigger than any segment is dropped, not fatal, and what follows is
 * marked DISCONT. */
GST_START_TEST (test_segmenter_big_frames)
{
  SwarmSegmenter *seg = swarm_segmenter_new (signer, GST_SECOND, 0);
  gsize big_size = 12 * 1000 * 1000;
  GstBuffer *big = make_buffer (big_size, 3, 10 * GST_MSECOND,
      GST_CLOCK_TIME_NONE, GST_MSECOND, 0);
  GPtrArray *out;
  SwarmSegmenterOutput *o;
  GError *err = NULL;
  guint64 seq;

  fail_unless (big_size > SWARM_SEGMENTER_MAX_SIZE);
  fail_unless (big_size < SWARM_MAX_SEGMENT_SIZE);

  out = segmenter_push_ok (seg, make_buffer (100, 1, 0, GST_CLOCK_TIME_NONE,
          GST_MSECOND, 0));
  fail_unless_equals_int (out->len, 0);
  g_ptr_array_unref (out);

  /* the small segment is cut before the big frame */
  out = segmenter_push_ok (seg, gst_buffer_ref (big));
  fail_unless_equals_int (out->len, 1);
  o = g_ptr_array_index (out, 0);
  fail_unless_equals_int (o->n_buffers, 1);
  seq = o->seq;
  g_ptr_array_unref (out);

  /* and the big frame's segment before the next buffer */
  out = segmenter_push_ok (seg, make_buffer (100, 2, 20 * GST_MSECOND,
          GST_CLOCK_TIME_NONE, GST_MSECOND, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless_equals_int (out->len, 1);
  o = g_ptr_array_index (out, 0);
  fail_unless_equals_uint64 (o->seq, seq + 1);
  fail_unless_equals_int (o->n_buffers, 1);
  fail_unless (o->flags & SWARM_SEGMENT_FLAG_KEYFRAME);
  fail_unless (g_bytes_get_size (o->bytes) > big_size);
  assert_segment_holds (o, big);
  g_ptr_array_unref (out);
  gst_buffer_unref (big);

  /* over the hard bound: dropped before it is copied; the segment in
   * progress is still finished and handed out */
  out = g_ptr_array_new_with_free_func ((GDestroyNotify)
      swarm_segmenter_output_free);
  big = gst_buffer_new_allocate (NULL, SWARM_MAX_SEGMENT_SIZE + 1, NULL);
  GST_BUFFER_PTS (big) = 30 * GST_MSECOND;
  fail_if (swarm_segmenter_push (seg, big, out, &err));
  fail_unless (g_error_matches (err, SWARM_SEGMENT_ERROR,
          SWARM_SEGMENT_ERROR_FRAME_TOO_LARGE));
  g_clear_error (&err);
  fail_unless_equals_int (out->len, 1);
  fail_unless_equals_uint64 (((SwarmSegmenterOutput *)
          g_ptr_array_index (out, 0))->seq, seq + 2);
  gst_buffer_unref (big);
  g_ptr_array_set_size (out, 0);

  /* within it, but not with the segment's own metadata and signature */
  big = gst_buffer_new_allocate (NULL, SWARM_MAX_SEGMENT_SIZE - 8, NULL);
  gst_buffer_memset (big, 0, 0x5A, SWARM_MAX_SEGMENT_SIZE - 8);
  fail_if (swarm_segmenter_push (seg, big, out, &err));
  fail_unless (g_error_matches (err, SWARM_SEGMENT_ERROR,
          SWARM_SEGMENT_ERROR_FRAME_TOO_LARGE));
  g_clear_error (&err);
  fail_unless_equals_int (out->len, 0);
  gst_buffer_unref (big);
  g_ptr_array_unref (out);

  /* the stream goes on after a hole: no sequence number lost */
  out = segmenter_push_ok (seg, make_buffer (100, 4, 50 * GST_MSECOND,
          GST_CLOCK_TIME_NONE, GST_MSECOND, 0));
  fail_unless_equals_int (out->len, 0);
  g_ptr_array_unref (out);
  out = g_ptr_array_new_with_free_func ((GDestroyNotify)
      swarm_segmenter_output_free);
  fail_unless (swarm_segmenter_flush (seg, FALSE, out, NULL));
  fail_unless_equals_int (out->len, 1);
  o = g_ptr_array_index (out, 0);
  fail_unless_equals_uint64 (o->seq, seq + 3);
  fail_unless (o->flags & SWARM_SEGMENT_FLAG_DISCONT);
  {
    SwarmSegment *segment = swarm_segment_parse (o->bytes, NULL);

    fail_unless (GST_BUFFER_IS_DISCONT (g_ptr_array_index (segment->buffers,
                0)));
    swarm_segment_free (segment);
  }
  g_ptr_array_unref (out);

  swarm_segmenter_free (seg);
}

GST_END_TEST;

static Suite *
segment_suite (void)
{
  Suite *s = suite_create ("swarm-segment");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  signer = swarm_identity_generate (NULL);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_zero_copy);
  tcase_add_test (tc, test_empty_segment);
  tcase_add_test (tc, test_ts_overhead);
  tcase_add_test (tc, test_signature);
  tcase_add_test (tc, test_truncations_and_corruption);
  tcase_add_test (tc, test_hostile_counts);
  tcase_add_test (tc, test_peek);
  tcase_add_test (tc, test_too_large);
  tcase_add_test (tc, test_segmenter_big_frames);
  return s;
}

GST_CHECK_MAIN (segment);

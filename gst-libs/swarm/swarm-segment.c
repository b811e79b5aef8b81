/* Segments: encoding, signing, verification and parsing.
 *
 * Encoded segment (integers big-endian unless marked varint; a varint is
 * unsigned LEB128, at most 10 bytes):
 *
 *   "P2PS"                  magic
 *   u8 format version       FORMAT_VERSION
 *   u8 segment flags        SwarmSegmentFlags; unknown bits are an error
 *   u64 seq
 *   i64 publish_time_us     publisher's wall clock
 *   ---- end of the fixed header that swarm_segment_peek() reads ----
 *   varint caps_len         0 = no caps
 *   caps_len bytes          gst_caps_to_string(), no NUL
 *   varint n_runs
 *   n_runs x run            buffer metadata, see below
 *   payload                 every buffer's bytes, concatenated in order
 *   signature[64]           Ed25519 over every byte before it
 *
 * A run describes consecutive buffers whose metadata differs only in a
 * predictable way, so a stream of small packets costs a byte or two each:
 *
 *   u8 kind                 RUN_* bits; bits 6 and 7 must be zero
 *   varint count            buffers in the run, >= 1
 *   varint flags            GstBufferFlags >> 4 (mini-object bits never
 *                           travel; TAG_MEMORY describes our memory, not
 *                           the stream, so it is dropped)
 *   varint pts              if RUN_PTS, else every PTS is NONE
 *   varint pts_step         if RUN_PTS_STEP: buffer i has pts + i * step
 *   varint dts, dts_step    likewise for DTS (RUN_DTS, RUN_DTS_STEP)
 *   varint duration         if RUN_DURATION, else NONE; same for the run
 *   sizes                   RUN_EQUAL_SIZES: one varint for all buffers,
 *                           else one varint per buffer
 *
 * Nothing in a segment is trusted until the signature is verified, yet the
 * parser is written as if every byte were hostile: each read is bounds
 * checked, counts and sizes are capped before anything is allocated, the
 * payload must account for every byte up to the signature, and buffers
 * share the input's memory instead of copying it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "swarm-segment.h"
#include "swarm-wire.h"
#include "swarm-private.h"

#define MAGIC "P2PS"
#define MAGIC_LEN 4
#define FORMAT_VERSION 1
#define FIXED_HEADER_LEN (MAGIC_LEN + 1 + 1 + 8 + 8)
/* Caps carrying stream headers (hex in their string form) can be large,
 * but never this large in a sane stream. */
#define MAX_CAPS_LEN (256 * 1024)
#define MAX_VARINT_LEN 10

#define KNOWN_SEGMENT_FLAGS (SWARM_SEGMENT_FLAG_KEYFRAME | \
    SWARM_SEGMENT_FLAG_DISCONT | SWARM_SEGMENT_FLAG_EOS)

#define FLAGS_SHIFT 4
G_STATIC_ASSERT (GST_MINI_OBJECT_FLAG_LAST == 1 << FLAGS_SHIFT);
#define CARRIED_BUFFER_FLAGS (GST_BUFFER_FLAG_LIVE | \
    GST_BUFFER_FLAG_DECODE_ONLY | GST_BUFFER_FLAG_DISCONT | \
    GST_BUFFER_FLAG_RESYNC | GST_BUFFER_FLAG_CORRUPTED | \
    GST_BUFFER_FLAG_MARKER | GST_BUFFER_FLAG_HEADER | GST_BUFFER_FLAG_GAP | \
    GST_BUFFER_FLAG_DROPPABLE | GST_BUFFER_FLAG_DELTA_UNIT | \
    GST_BUFFER_FLAG_SYNC_AFTER | GST_BUFFER_FLAG_NON_DROPPABLE)

enum {
  RUN_PTS = 1 << 0,
  RUN_DTS = 1 << 1,
  RUN_DURATION = 1 << 2,
  RUN_EQUAL_SIZES = 1 << 3,
  RUN_PTS_STEP = 1 << 4,
  RUN_DTS_STEP = 1 << 5,
  RUN_KNOWN = (1 << 6) - 1,
};

G_DEFINE_QUARK (swarm-segment-error-quark, swarm_segment_error);

/* One run of buffers, as built or as parsed.  A step of 0 means all
 * buffers share the timestamp. */
typedef struct {
  guint count;
  guint flags;                  /* GstBufferFlags, CARRIED_BUFFER_FLAGS only */
  GstClockTime pts, pts_step;
  GstClockTime dts, dts_step;
  GstClockTime duration;
  guint first;                  /* index of its first buffer's size */
  gboolean equal_sizes;
  gsize sizes_len;              /* varint bytes of per-buffer sizes */
} Run;

/* LEB128 */

static guint
varint_len (guint64 v)
{
  guint n = 1;

  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static void
put_varint (GByteArray * out, guint64 v)
{
  guint8 tmp[MAX_VARINT_LEN];
  guint n = 0;

  while (v >= 0x80) {
    tmp[n++] = (guint8) (v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (guint8) v;
  g_byte_array_append (out, tmp, n);
}

typedef struct {
  const guint8 *p;
  gsize left;
} Reader;

static gboolean
get_varint (Reader * r, guint64 * out)
{
  guint64 v = 0;

  for (guint i = 0; i < MAX_VARINT_LEN && i < r->left; i++) {
    guint8 b = r->p[i];

    /* The tenth byte may only hold the top bit of a 64-bit value. */
    if (i == MAX_VARINT_LEN - 1 && b > 1)
      return FALSE;
    v |= (guint64) (b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      r->p += i + 1;
      r->left -= i + 1;
      *out = v;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
get_u8 (Reader * r, guint8 * out)
{
  if (r->left < 1)
    return FALSE;
  *out = r->p[0];
  r->p++;
  r->left--;
  return TRUE;
}

/* Run metadata, shared by the builder's size accounting and the encoder. */

static guint
run_kind (const Run * run)
{
  guint kind = 0;

  if (run->pts != GST_CLOCK_TIME_NONE)
    kind |= RUN_PTS | (run->pts_step ? RUN_PTS_STEP : 0);
  if (run->dts != GST_CLOCK_TIME_NONE)
    kind |= RUN_DTS | (run->dts_step ? RUN_DTS_STEP : 0);
  if (run->duration != GST_CLOCK_TIME_NONE)
    kind |= RUN_DURATION;
  if (run->equal_sizes)
    kind |= RUN_EQUAL_SIZES;
  return kind;
}

static gsize
run_encoded_len (const Run * run, const guint32 * sizes)
{
  guint kind = run_kind (run);
  gsize n = 1 + varint_len (run->count) +
      varint_len (run->flags >> FLAGS_SHIFT);

  if (kind & RUN_PTS)
    n += varint_len (run->pts);
  if (kind & RUN_PTS_STEP)
    n += varint_len (run->pts_step);
  if (kind & RUN_DTS)
    n += varint_len (run->dts);
  if (kind & RUN_DTS_STEP)
    n += varint_len (run->dts_step);
  if (kind & RUN_DURATION)
    n += varint_len (run->duration);
  if (run->equal_sizes)
    n += varint_len (sizes[run->first]);
  else
    n += run->sizes_len;
  return n;
}

static void
run_encode (const Run * run, const guint32 * sizes, GByteArray * out)
{
  guint8 kind = run_kind (run);

  g_byte_array_append (out, &kind, 1);
  put_varint (out, run->count);
  put_varint (out, run->flags >> FLAGS_SHIFT);
  if (kind & RUN_PTS)
    put_varint (out, run->pts);
  if (kind & RUN_PTS_STEP)
    put_varint (out, run->pts_step);
  if (kind & RUN_DTS)
    put_varint (out, run->dts);
  if (kind & RUN_DTS_STEP)
    put_varint (out, run->dts_step);
  if (kind & RUN_DURATION)
    put_varint (out, run->duration);
  if (run->equal_sizes) {
    put_varint (out, sizes[run->first]);
  } else {
    for (guint i = 0; i < run->count; i++)
      put_varint (out, sizes[run->first + i]);
  }
}

/* Builder */

struct _SwarmSegmentBuilder
{
  guint64 seq;
  SwarmSegmentFlags flags;
  gchar *caps_string;           /* NULL if no caps */
  gsize caps_len;
  GByteArray *payload;
  GArray *sizes;                /* guint32 per buffer */
  GArray *runs;                 /* Run */
  gsize closed_runs_len;        /* encoded bytes of all runs but the last */
};

SwarmSegmentBuilder *
swarm_segment_builder_new (guint64 seq, GstCaps * caps,
    SwarmSegmentFlags flags)
{
  SwarmSegmentBuilder *b = g_new0 (SwarmSegmentBuilder, 1);

  b->seq = seq;
  b->flags = flags & KNOWN_SEGMENT_FLAGS;
  if (caps) {
    b->caps_string = gst_caps_to_string (caps);
    b->caps_len = strlen (b->caps_string);
  }
  b->payload = g_byte_array_new ();
  b->sizes = g_array_new (FALSE, FALSE, sizeof (guint32));
  b->runs = g_array_new (FALSE, FALSE, sizeof (Run));
  return b;
}

void
swarm_segment_builder_free (SwarmSegmentBuilder * b)
{
  if (b == NULL)
    return;
  g_free (b->caps_string);
  g_byte_array_unref (b->payload);
  g_array_unref (b->sizes);
  g_array_unref (b->runs);
  g_free (b);
}

/* Whether timestamp @t of the buffer following @run's last one continues
 * the run; on its second buffer, a run picks up its step. */
static gboolean
timestamp_continues (GstClockTime base, GstClockTime * step, guint count,
    GstClockTime t)
{
  if (base == GST_CLOCK_TIME_NONE || t == GST_CLOCK_TIME_NONE)
    return base == t;
  if (count == 1) {
    if (t < base)
      return FALSE;
    *step = t - base;
    return TRUE;
  }
  /* base + count * step cannot overflow: each earlier one was a valid
   * timestamp and the step is bounded by the gap between two of them. */
  return t >= base && (t - base) / count == *step && (t - base) % count == 0;
}

static gboolean
run_accepts (Run * run, guint flags, GstClockTime pts, GstClockTime dts,
    GstClockTime duration)
{
  GstClockTime pts_step = run->pts_step, dts_step = run->dts_step;

  if (run->flags != flags || run->duration != duration)
    return FALSE;
  if (!timestamp_continues (run->pts, &pts_step, run->count, pts))
    return FALSE;
  if (!timestamp_continues (run->dts, &dts_step, run->count, dts))
    return FALSE;
  run->pts_step = pts_step;
  run->dts_step = dts_step;
  return TRUE;
}

void
swarm_segment_builder_add (SwarmSegmentBuilder * b, GstBuffer * buf)
{
  GstMapInfo map;
  guint flags;
  guint32 size;
  Run *last = NULL;

  g_return_if_fail (b != NULL);
  g_return_if_fail (GST_IS_BUFFER (buf));

  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    GST_CAT_ERROR (swarm_debug, "could not map buffer, dropping it");
    return;
  }
  /* Oversized input still counts, so finish() reports TOO_LARGE rather
   * than publishing a silently shortened segment. */
  size = MIN (map.size, G_MAXUINT32);
  g_byte_array_append (b->payload, map.data, size);
  gst_buffer_unmap (buf, &map);

  flags = GST_BUFFER_FLAGS (buf) & CARRIED_BUFFER_FLAGS;
  g_array_append_val (b->sizes, size);

  if (b->runs->len > 0) {
    last = &g_array_index (b->runs, Run, b->runs->len - 1);
    if (!run_accepts (last, flags, GST_BUFFER_PTS (buf),
            GST_BUFFER_DTS (buf), GST_BUFFER_DURATION (buf)))
      last = NULL;
  }

  if (last) {
    guint32 first_size = g_array_index (b->sizes, guint32, last->first);

    last->count++;
    last->equal_sizes = last->equal_sizes && size == first_size;
    last->sizes_len += varint_len (size);
  } else {
    Run run = { 0 };

    if (b->runs->len > 0)
      b->closed_runs_len +=
          run_encoded_len (&g_array_index (b->runs, Run, b->runs->len - 1),
          (const guint32 *) b->sizes->data);
    run.count = 1;
    run.flags = flags;
    run.pts = GST_BUFFER_PTS (buf);
    run.dts = GST_BUFFER_DTS (buf);
    run.duration = GST_BUFFER_DURATION (buf);
    run.first = b->sizes->len - 1;
    run.equal_sizes = TRUE;
    run.sizes_len = varint_len (size);
    g_array_append_val (b->runs, run);
  }
}

guint
swarm_segment_builder_get_n_buffers (SwarmSegmentBuilder * b)
{
  g_return_val_if_fail (b != NULL, 0);

  return b->sizes->len;
}

static gsize
metadata_len (SwarmSegmentBuilder * b)
{
  gsize n = FIXED_HEADER_LEN + varint_len (b->caps_len) + b->caps_len +
      varint_len (b->runs->len) + b->closed_runs_len;

  if (b->runs->len > 0)
    n += run_encoded_len (&g_array_index (b->runs, Run, b->runs->len - 1),
        (const guint32 *) b->sizes->data);
  return n;
}

/* The exact size the encoded segment would have if finished now. */
gsize
swarm_segment_builder_get_size (SwarmSegmentBuilder * b)
{
  g_return_val_if_fail (b != NULL, 0);

  return metadata_len (b) + b->payload->len + SWARM_SIGNATURE_LEN;
}

void
swarm_segment_builder_add_flags (SwarmSegmentBuilder * b,
    SwarmSegmentFlags flags)
{
  g_return_if_fail (b != NULL);

  b->flags |= flags & KNOWN_SEGMENT_FLAGS;
}

GBytes *
swarm_segment_builder_finish (SwarmSegmentBuilder * b,
    SwarmIdentity * signer, gint64 publish_time_us, GError ** error)
{
  GByteArray *out;
  guint8 header[FIXED_HEADER_LEN];
  gsize total;

  g_return_val_if_fail (b != NULL, NULL);
  g_return_val_if_fail (signer != NULL, NULL);

  total = swarm_segment_builder_get_size (b);
  if (total > SWARM_MAX_SEGMENT_SIZE || b->sizes->len >
      SWARM_SEGMENT_MAX_BUFFERS || b->caps_len > MAX_CAPS_LEN) {
    g_set_error (error, SWARM_SEGMENT_ERROR, SWARM_SEGMENT_ERROR_TOO_LARGE,
        "segment %" G_GUINT64_FORMAT " too large: %" G_GSIZE_FORMAT
        " bytes (max %d), %u buffers (max %d), caps %" G_GSIZE_FORMAT
        " bytes (max %d)", b->seq, total, SWARM_MAX_SEGMENT_SIZE,
        b->sizes->len, SWARM_SEGMENT_MAX_BUFFERS, b->caps_len, MAX_CAPS_LEN);
    swarm_segment_builder_free (b);
    return NULL;
  }

  out = g_byte_array_sized_new (total);
  memcpy (header, MAGIC, MAGIC_LEN);
  header[4] = FORMAT_VERSION;
  header[5] = b->flags;
  GST_WRITE_UINT64_BE (header + 6, b->seq);
  GST_WRITE_UINT64_BE (header + 14, (guint64) publish_time_us);
  g_byte_array_append (out, header, sizeof (header));

  put_varint (out, b->caps_len);
  if (b->caps_len)
    g_byte_array_append (out, (const guint8 *) b->caps_string, b->caps_len);
  put_varint (out, b->runs->len);
  for (guint i = 0; i < b->runs->len; i++)
    run_encode (&g_array_index (b->runs, Run, i),
        (const guint32 *) b->sizes->data, out);
  g_byte_array_append (out, b->payload->data, b->payload->len);

  g_byte_array_set_size (out, total);
  g_assert (out->len == total);
  if (!swarm_identity_sign (signer, out->data, total - SWARM_SIGNATURE_LEN,
          out->data + total - SWARM_SIGNATURE_LEN, error)) {
    g_byte_array_unref (out);
    swarm_segment_builder_free (b);
    return NULL;
  }

  swarm_segment_builder_free (b);
  return g_byte_array_free_to_bytes (out);
}

/* Parsing */

static gboolean
read_fixed_header (const guint8 * data, gsize len, guint64 * seq,
    SwarmSegmentFlags * flags, gint64 * publish_time_us, GError ** error)
{
  if (len < FIXED_HEADER_LEN) {
    g_set_error (error, SWARM_SEGMENT_ERROR, SWARM_SEGMENT_ERROR_TRUNCATED,
        "segment of %" G_GSIZE_FORMAT " bytes is shorter than its header",
        len);
    return FALSE;
  }
  if (memcmp (data, MAGIC, MAGIC_LEN) != 0) {
    g_set_error_literal (error, SWARM_SEGMENT_ERROR,
        SWARM_SEGMENT_ERROR_FORMAT, "not a segment (bad magic)");
    return FALSE;
  }
  if (data[4] != FORMAT_VERSION) {
    g_set_error (error, SWARM_SEGMENT_ERROR, SWARM_SEGMENT_ERROR_FORMAT,
        "unsupported segment format version %u", data[4]);
    return FALSE;
  }
  if (data[5] & ~KNOWN_SEGMENT_FLAGS) {
    g_set_error (error, SWARM_SEGMENT_ERROR, SWARM_SEGMENT_ERROR_FORMAT,
        "unknown segment flags 0x%02x", data[5]);
    return FALSE;
  }
  if (seq)
    *seq = GST_READ_UINT64_BE (data + 6);
  if (flags)
    *flags = data[5];
  if (publish_time_us)
    *publish_time_us = (gint64) GST_READ_UINT64_BE (data + 14);
  return TRUE;
}

gboolean
swarm_segment_peek (const guint8 * data, gsize len, guint64 * seq,
    SwarmSegmentFlags * flags, GError ** error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  return read_fixed_header (data, len, seq, flags, NULL, error);
}

gboolean
swarm_segment_peek_publish_time (const guint8 * data, gsize len,
    gint64 * publish_time_us)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  return read_fixed_header (data, len, NULL, NULL, publish_time_us, NULL);
}

gboolean
swarm_segment_verify (GBytes * bytes, SwarmIdentity * publisher,
    GError ** error)
{
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (publisher != NULL, FALSE);

  data = g_bytes_get_data (bytes, &len);
  if (len < FIXED_HEADER_LEN + SWARM_SIGNATURE_LEN) {
    g_set_error (error, SWARM_SEGMENT_ERROR, SWARM_SEGMENT_ERROR_TRUNCATED,
        "segment of %" G_GSIZE_FORMAT " bytes is too short to be signed",
        len);
    return FALSE;
  }
  if (!swarm_identity_verify (publisher, data, len - SWARM_SIGNATURE_LEN,
          data + len - SWARM_SIGNATURE_LEN)) {
    g_set_error_literal (error, SWARM_SEGMENT_ERROR,
        SWARM_SEGMENT_ERROR_SIGNATURE,
        "segment signature does not match the publisher's key");
    return FALSE;
  }
  return TRUE;
}

static gboolean
fail (GError ** error, gint code, const gchar * what)
{
  g_set_error (error, SWARM_SEGMENT_ERROR, code, "malformed segment: %s",
      what);
  return FALSE;
}

/* Reads a timestamp and optional step; the run's last buffer must still
 * have a valid (non-NONE) timestamp. */
static gboolean
read_timestamp (Reader * r, gboolean present, gboolean has_step,
    guint count, GstClockTime * t, GstClockTime * step, GError ** error)
{
  guint64 v = GST_CLOCK_TIME_NONE, s = 0;

  if (has_step && !present)
    return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "step without timestamp");
  if (present && !get_varint (r, &v))
    return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "timestamp");
  if (has_step && !get_varint (r, &s))
    return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "timestamp step");
  if (present) {
    if (v == GST_CLOCK_TIME_NONE)
      return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "timestamp is NONE");
    if (s != 0 && (count - 1) > (GST_CLOCK_TIME_NONE - 1 - v) / s)
      return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "timestamps overflow");
  }
  *t = v;
  *step = s;
  return TRUE;
}

/* Parses the metadata after the fixed header into @runs and @sizes,
 * checking every bound before anything is allocated per buffer.  On
 * success @r is positioned at the payload, which has @payload_len bytes. */
static gboolean
parse_metadata (Reader * r, gchar ** caps_string, GArray * runs,
    GArray * sizes, gsize * payload_len, GError ** error)
{
  guint64 caps_len, n_runs, total_buffers = 0, total_size = 0;

  if (!get_varint (r, &caps_len))
    return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "caps length");
  if (caps_len > MAX_CAPS_LEN)
    return fail (error, SWARM_SEGMENT_ERROR_TOO_LARGE, "caps too long");
  if (caps_len > r->left)
    return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "caps");
  if (caps_len > 0) {
    if (memchr (r->p, '\0', caps_len))
      return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "NUL in caps");
    *caps_string = g_strndup ((const gchar *) r->p, caps_len);
    r->p += caps_len;
    r->left -= caps_len;
  }

  if (!get_varint (r, &n_runs))
    return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "run count");
  /* Each run takes at least 4 bytes (kind, count, flags, a size). */
  if (n_runs > SWARM_SEGMENT_MAX_BUFFERS || n_runs > r->left / 4)
    return fail (error, n_runs > SWARM_SEGMENT_MAX_BUFFERS ?
        SWARM_SEGMENT_ERROR_TOO_LARGE : SWARM_SEGMENT_ERROR_TRUNCATED,
        "run count");

  for (guint64 i = 0; i < n_runs; i++) {
    Run run = { 0 };
    guint8 kind;
    guint64 count, flags, v;

    if (!get_u8 (r, &kind) || !get_varint (r, &count)
        || !get_varint (r, &flags))
      return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "run header");
    if (kind & ~RUN_KNOWN)
      return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "unknown run kind");
    if (count == 0)
      return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "empty run");
    if (count > SWARM_SEGMENT_MAX_BUFFERS - total_buffers)
      return fail (error, SWARM_SEGMENT_ERROR_TOO_LARGE, "too many buffers");
    if (flags > (G_MAXUINT >> FLAGS_SHIFT) ||
        ((guint) flags << FLAGS_SHIFT) & ~CARRIED_BUFFER_FLAGS)
      return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "unknown buffer flags");
    run.count = count;
    run.flags = (guint) flags << FLAGS_SHIFT;
    /* Where this run's sizes start: one entry if equal, else count. */
    run.first = sizes->len;

    if (!read_timestamp (r, kind & RUN_PTS, kind & RUN_PTS_STEP, count,
            &run.pts, &run.pts_step, error))
      return FALSE;
    if (!read_timestamp (r, kind & RUN_DTS, kind & RUN_DTS_STEP, count,
            &run.dts, &run.dts_step, error))
      return FALSE;
    run.duration = GST_CLOCK_TIME_NONE;
    if (kind & RUN_DURATION) {
      if (!get_varint (r, &v))
        return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "duration");
      if (v == GST_CLOCK_TIME_NONE)
        return fail (error, SWARM_SEGMENT_ERROR_FORMAT, "duration is NONE");
      run.duration = v;
    }

    run.equal_sizes = (kind & RUN_EQUAL_SIZES) != 0;
    /* Per-buffer sizes need a byte each: check before growing @sizes. */
    if (!run.equal_sizes && count > r->left)
      return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "buffer sizes");
    for (guint64 j = 0; j < (run.equal_sizes ? 1 : count); j++) {
      guint32 size32;

      if (!get_varint (r, &v))
        return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "buffer size");
      if (v > SWARM_MAX_SEGMENT_SIZE)
        return fail (error, SWARM_SEGMENT_ERROR_TOO_LARGE, "buffer size");
      total_size += run.equal_sizes ? v * count : v;
      if (total_size > SWARM_MAX_SEGMENT_SIZE)
        return fail (error, SWARM_SEGMENT_ERROR_TOO_LARGE, "payload size");
      size32 = v;
      g_array_append_val (sizes, size32);
    }
    total_buffers += count;
    g_array_append_val (runs, run);
  }

  if (r->left < SWARM_SIGNATURE_LEN
      || r->left - SWARM_SIGNATURE_LEN < total_size)
    return fail (error, SWARM_SEGMENT_ERROR_TRUNCATED, "payload");
  if (r->left - SWARM_SIGNATURE_LEN > total_size)
    return fail (error, SWARM_SEGMENT_ERROR_FORMAT,
        "bytes between payload and signature");
  *payload_len = total_size;
  return TRUE;
}

/* A caps feature name the way GStreamer insists on it: "letters:alnum",
 * e.g. "memory:DMABuf". */
static gboolean
caps_feature_is_valid (const gchar * f, gsize len)
{
  gsize i = 0;

  while (i < len && g_ascii_isalpha (f[i]))
    i++;
  if (i == 0 || i >= len || f[i] != ':')
    return FALSE;
  i++;
  if (i >= len || !g_ascii_isalpha (f[i]))
    return FALSE;
  while (i < len && g_ascii_isalnum (f[i]))
    i++;
  return i == len;
}

/* Checks "(feature, feature)" or "(ANY)" at @s; returns the position
 * after ')' or NULL. */
static const gchar *
skip_caps_features (const gchar * s)
{
  const gchar *end = strchr (s, ')');
  gchar **tokens;
  gboolean ok = TRUE;

  if (end == NULL)
    return NULL;
  {
    gchar *inner = g_strndup (s + 1, end - s - 1);

    g_strstrip (inner);
    if (g_str_equal (inner, "ANY")) {
      g_free (inner);
      return end + 1;
    }
    tokens = g_strsplit (inner, ",", -1);
    g_free (inner);
  }
  for (guint i = 0; ok && tokens[i]; i++) {
    g_strstrip (tokens[i]);
    ok = caps_feature_is_valid (tokens[i], strlen (tokens[i]));
  }
  g_strfreev (tokens);
  return ok ? end + 1 : NULL;
}

/* Checks a (buffer) value at @s: one hex string of even length, or an
 * array of them.  Returns the position after it or NULL. */
static const gchar *
skip_buffer_value (const gchar * s)
{
  gboolean grouped;
  gsize digits = 0;

  while (g_ascii_isspace (*s))
    s++;
  grouped = (*s == '<');
  if (grouped)
    s++;
  for (;; s++) {
    if (g_ascii_isxdigit (*s)) {
      digits++;
      continue;
    }
    if (digits % 2 != 0)
      return NULL;
    digits = 0;
    if (g_ascii_isspace (*s) || (grouped && *s == ','))
      continue;
    if (grouped && *s == '>')
      return s + 1;
    if (!grouped && (*s == ',' || *s == ';' || *s == '\0'))
      return s;
    return NULL;
  }
}

/* gst_caps_from_string() answers some malformed input with a g_critical
 * or g_warning instead of NULL: structure names that do not start with a
 * letter, invalid caps feature names, and nested structures, caps or tag
 * lists, which it parses recursively.  GStreamer 1.22 also touches freed
 * memory when a buffer value holds a non-hex character.  Refuse all of
 * those before handing it the string; everything else it rejects cleanly. */
static gboolean
caps_string_is_safe (const gchar * s)
{
  static const gchar *const nested_types[] = { "structure", "GstStructure",
    "caps", "GstCaps", "taglist", "GstTagList", "GstCapsFeatures",
    "sample", "GstSample", "GstSegment", "array", "GstValueArray", "list",
    "GstValueList", NULL
  };
  gboolean expect_name = TRUE, in_quote = FALSE;

  if (g_str_equal (s, "ANY") || g_str_equal (s, "EMPTY")
      || g_str_equal (s, "NONE"))
    return TRUE;

  while (*s) {
    if (in_quote) {
      if (*s == '\\' && s[1] != '\0')
        s++;
      else if (*s == '"')
        in_quote = FALSE;
      s++;
      continue;
    }
    if (expect_name) {
      while (g_ascii_isspace (*s))
        s++;
      if (!g_ascii_isalpha (*s))
        return FALSE;
      /* GStreamer warns about 0.10-era raw caps names. */
      if (g_str_has_prefix (s, "audio/x-raw-")
          || g_str_has_prefix (s, "video/x-raw-"))
        return FALSE;
      while (g_ascii_isalnum (*s) || (*s != '\0' && strchr ("_-+/:.", *s)))
        s++;
      if (*s == '(' && (s = skip_caps_features (s)) == NULL)
        return FALSE;
      expect_name = FALSE;
      continue;
    }
    if (*s == '"') {
      in_quote = TRUE;
    } else if (*s == '[' || *s == '{') {
      /* A publisher's negotiated caps are fixed: no ranges, no lists.
       * Their parser also g_critical()s on ranges like [ 5, 1 ]. */
      return FALSE;
    } else if (*s == ';') {
      expect_name = TRUE;
    } else if (*s == '(') {
      const gchar *start;
      gchar *type;
      gboolean nested, is_buffer;

      do
        s++;
      while (g_ascii_isspace (*s));
      start = s;
      while (g_ascii_isalnum (*s) || *s == '_' || *s == '-')
        s++;
      type = g_strndup (start, s - start);
      nested = g_strv_contains (nested_types, type);
      is_buffer = g_str_equal (type, "buffer") || g_str_equal (type,
          "GstBuffer");
      g_free (type);
      if (nested)
        return FALSE;
      if (is_buffer) {
        while (g_ascii_isspace (*s))
          s++;
        if (*s != ')')
          return FALSE;
        if ((s = skip_buffer_value (s + 1)) == NULL)
          return FALSE;
      }
      continue;
    }
    s++;
  }
  return !in_quote && !expect_name;
}

static GstBuffer *
buffer_from_region (GstBuffer * whole, gsize offset, gsize size)
{
  /* A zero-length region has no memory to share. */
  if (size == 0)
    return gst_buffer_new ();
  return gst_buffer_copy_region (whole, GST_BUFFER_COPY_MEMORY, offset, size);
}

SwarmSegment *
swarm_segment_parse (GBytes * bytes, GError ** error)
{
  const guint8 *data;
  gsize len, payload_len = 0, offset;
  Reader r;
  gchar *caps_string = NULL;
  GArray *runs, *sizes;
  SwarmSegment *seg = NULL;
  GstBuffer *whole;
  guint64 seq;
  SwarmSegmentFlags flags;
  gint64 publish_time_us;

  g_return_val_if_fail (bytes != NULL, NULL);

  data = g_bytes_get_data (bytes, &len);
  if (len > SWARM_MAX_SEGMENT_SIZE) {
    fail (error, SWARM_SEGMENT_ERROR_TOO_LARGE, "larger than any segment");
    return NULL;
  }
  if (!read_fixed_header (data, len, &seq, &flags, &publish_time_us, error))
    return NULL;
  r.p = data + FIXED_HEADER_LEN;
  r.left = len - FIXED_HEADER_LEN;

  runs = g_array_new (FALSE, FALSE, sizeof (Run));
  sizes = g_array_new (FALSE, FALSE, sizeof (guint32));
  if (!parse_metadata (&r, &caps_string, runs, sizes, &payload_len, error))
    goto out;

  seg = g_new0 (SwarmSegment, 1);
  seg->seq = seq;
  seg->flags = flags;
  seg->publish_time_us = publish_time_us;
  if (caps_string) {
    if (caps_string_is_safe (caps_string))
      seg->caps = gst_caps_from_string (caps_string);
    if (seg->caps == NULL) {
      fail (error, SWARM_SEGMENT_ERROR_FORMAT, "unparsable caps");
      g_clear_pointer (&seg, swarm_segment_free);
      goto out;
    }
  }

  seg->buffers = g_ptr_array_new_full (sizes->len,
      (GDestroyNotify) gst_buffer_unref);
  whole = gst_buffer_new_wrapped_bytes (bytes);
  offset = r.p - data;
  for (guint i = 0; i < runs->len; i++) {
    const Run *run = &g_array_index (runs, Run, i);

    for (guint j = 0; j < run->count; j++) {
      guint32 size = g_array_index (sizes, guint32,
          run->first + (run->equal_sizes ? 0 : j));
      GstBuffer *buf = buffer_from_region (whole, offset, size);

      offset += size;
      GST_MINI_OBJECT_FLAGS (buf) =
          (GST_MINI_OBJECT_FLAGS (buf) & (GST_MINI_OBJECT_FLAG_LAST - 1)) |
          run->flags;
      GST_BUFFER_PTS (buf) = run->pts == GST_CLOCK_TIME_NONE ?
          GST_CLOCK_TIME_NONE : run->pts + j * run->pts_step;
      GST_BUFFER_DTS (buf) = run->dts == GST_CLOCK_TIME_NONE ?
          GST_CLOCK_TIME_NONE : run->dts + j * run->dts_step;
      GST_BUFFER_DURATION (buf) = run->duration;
      g_ptr_array_add (seg->buffers, buf);
    }
  }
  g_assert (offset + SWARM_SIGNATURE_LEN == len);
  gst_buffer_unref (whole);

out:
  g_free (caps_string);
  g_array_unref (runs);
  g_array_unref (sizes);
  return seg;
}

void
swarm_segment_free (SwarmSegment * segment)
{
  if (segment == NULL)
    return;
  if (segment->caps)
    gst_caps_unref (segment->caps);
  if (segment->buffers)
    g_ptr_array_unref (segment->buffers);
  g_free (segment);
}

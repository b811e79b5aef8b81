/* libFuzzer target for the segment parser, which sees bytes from any peer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <swarm/swarm.h>

#include "fuzz-log.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);
const char *__lsan_default_suppressions (void);
const char *__asan_default_options (void);

/* GStreamer 1.22's caps parser leaks a list value on some parse errors
 * (e.g. a bad field after a "{ ... }" list).  That is upstream's leak,
 * small and bounded per caps string; keep it from hiding ours.
 *
 * Caps field names become GQuarks, and each time GLib's quark table grows
 * past a multiple of 2048 it abandons the old array on purpose (gquark.c).
 * Later arrays are allocated under gst_caps_from_string; the first one in
 * GLib's constructor, hence _dl_init: nothing of ours is allocated there. */
const char *
__lsan_default_suppressions (void)
{
  return "leak:gst_caps_from_string\nleak:_dl_init\n";
}

/* The system GStreamer has no frame pointers: only the slow unwinder
 * sees gst_caps_from_string in an allocation's stack. */
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (NULL, NULL);
  swarm_init ();
  /* GStreamer's caps parser reports some bad input with g_critical (and
   * may then misbehave); the segment parser must never let such input
   * reach it.  Its g_warnings are deprecation notices, not faults. */
  fuzz_log_set_fatal (G_LOG_LEVEL_CRITICAL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  GBytes *bytes;
  SwarmSegment *seg;
  guint64 seq;
  SwarmSegmentFlags flags;
  gboolean peeked;

  peeked = swarm_segment_peek (data, size, &seq, &flags, NULL);
  bytes = g_bytes_new (data, size);
  seg = swarm_segment_parse (bytes, NULL);
  g_bytes_unref (bytes);
  if (seg == NULL)
    return 0;

  g_assert_true (peeked);
  g_assert_cmpuint (seg->seq, ==, seq);
  g_assert_cmpint (seg->flags, ==, flags);
  /* Touch every byte of every buffer: they must all be readable and
   * outlive the GBytes we passed in. */
  for (guint i = 0; i < seg->buffers->len; i++) {
    GstBuffer *buf = g_ptr_array_index (seg->buffers, i);
    GstMapInfo map;
    guint sum = 0;

    g_assert_true (gst_buffer_map (buf, &map, GST_MAP_READ));
    for (gsize j = 0; j < map.size; j++)
      sum += map.data[j];
    gst_buffer_unmap (buf, &map);
    (void) sum;
  }
  if (seg->caps) {
    gchar *s = gst_caps_to_string (seg->caps);

    g_free (s);
  }
  swarm_segment_free (seg);
  return 0;
}

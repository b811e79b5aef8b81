/* The segment store (swarm-store.h): what it keeps, what it refuses, and
 * that its memory stays within both bounds however the segments arrive.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

/* @size bytes, every one of them @seq's low byte: a mixed-up segment shows */
static GBytes *
segment_bytes (guint64 seq, gsize size)
{
  guint8 *data = g_malloc (size);

  memset (data, (guint8) seq, size);
  return g_bytes_new_take (data, size);
}

static gboolean
add (SwarmStore * store, guint64 seq, SwarmSegmentFlags flags, gsize size)
{
  GBytes *b = segment_bytes (seq, size);
  gboolean added = swarm_store_add (store, seq, flags, b);

  g_bytes_unref (b);
  return added;
}

static void
assert_holds (SwarmStore * store, guint64 seq, gsize size)
{
  GBytes *b = swarm_store_get (store, seq);
  gsize len;
  const guint8 *data;

  fail_unless (b != NULL, "segment %" G_GUINT64_FORMAT " missing", seq);
  data = g_bytes_get_data (b, &len);
  fail_unless_equals_uint64 (len, size);
  fail_unless_equals_int (data[0], (guint8) seq);
  fail_unless_equals_int (data[len - 1], (guint8) seq);
  g_bytes_unref (b);
}

GST_START_TEST (test_add_get_and_refuse_duplicates)
{
  SwarmStore *store = swarm_store_new (10, 1 << 20);
  SwarmSegmentFlags flags = 0;
  GBytes *other = segment_bytes (99, 7);
  gint64 before = g_get_monotonic_time (), added_us = 0;
  guint64 oldest, newest;

  fail_if (swarm_store_get_range (store, &oldest, &newest));
  fail_unless (swarm_store_get (store, 5) == NULL);
  fail_unless (add (store, 5, SWARM_SEGMENT_FLAG_KEYFRAME, 100));
  fail_unless (add (store, 6, 0, 200));
  fail_unless (swarm_store_has (store, 5));
  fail_if (swarm_store_has (store, 7));
  assert_holds (store, 5, 100);
  assert_holds (store, 6, 200);
  fail_unless_equals_int (swarm_store_get_n_segments (store), 2);
  fail_unless_equals_uint64 (swarm_store_get_n_bytes (store), 300);

  fail_unless (swarm_store_get_flags (store, 5, &flags));
  fail_unless_equals_int (flags, SWARM_SEGMENT_FLAG_KEYFRAME);
  fail_if (swarm_store_get_flags (store, 8, &flags));

  /* a second copy of a held segment is refused and changes nothing: a
   * partner cannot replace what was verified */
  fail_if (swarm_store_add (store, 5, 0, other));
  assert_holds (store, 5, 100);
  fail_unless (swarm_store_get_flags (store, 5, &flags));
  fail_unless_equals_int (flags, SWARM_SEGMENT_FLAG_KEYFRAME);
  fail_unless_equals_uint64 (swarm_store_get_n_bytes (store), 300);

  g_bytes_unref (other);
  {
    GBytes *b = swarm_store_get_full (store, 6, &added_us);

    fail_unless (b != NULL);
    fail_unless (added_us >= before && added_us <= g_get_monotonic_time ());
    g_bytes_unref (b);
  }
  fail_unless (swarm_store_get_range (store, &oldest, &newest));
  fail_unless_equals_uint64 (oldest, 5);
  fail_unless_equals_uint64 (newest, 6);
  swarm_store_free (store);
}

GST_END_TEST;

GST_START_TEST (test_window_by_count)
{
  SwarmStore *store = swarm_store_new (3, 1 << 20);
  GBytes *held;
  guint64 oldest, newest;

  for (guint64 seq = 1; seq <= 3; seq++)
    fail_unless (add (store, seq, 0, 10));
  /* a reader's ref outlives the store's eviction of the segment */
  held = swarm_store_get (store, 1);
  fail_unless (add (store, 4, 0, 10));
  fail_unless_equals_int (swarm_store_get_n_segments (store), 3);
  fail_unless_equals_uint64 (swarm_store_get_n_bytes (store), 30);
  fail_if (swarm_store_has (store, 1));
  fail_unless_equals_uint64 (g_bytes_get_size (held), 10);
  fail_unless_equals_int (((const guint8 *) g_bytes_get_data (held,
              NULL))[9], 1);
  g_bytes_unref (held);

  /* what fell out of the window does not come back, nor anything older:
   * a partner replaying old segments cannot churn the store */
  fail_if (add (store, 1, 0, 10));
  fail_if (add (store, 0, 0, 10));
  fail_unless (swarm_store_get_range (store, &oldest, &newest));
  fail_unless_equals_uint64 (oldest, 2);
  fail_unless_equals_uint64 (newest, 4);
  swarm_store_free (store);
}

GST_END_TEST;

GST_START_TEST (test_window_by_bytes)
{
  SwarmStore *store = swarm_store_new (100, 1000);

  for (guint64 seq = 10; seq < 20; seq++)
    fail_unless (add (store, seq, 0, 300));
  /* 1000 bytes hold three segments of 300 */
  fail_unless_equals_int (swarm_store_get_n_segments (store), 3);
  fail_unless_equals_uint64 (swarm_store_get_n_bytes (store), 900);
  assert_holds (store, 17, 300);
  assert_holds (store, 19, 300);
  fail_if (swarm_store_has (store, 16));

  /* one segment bigger than the whole budget is kept alone (the newest
   * is always playable), and pushes everything else out */
  fail_unless (add (store, 20, 0, 5000));
  fail_unless_equals_int (swarm_store_get_n_segments (store), 1);
  fail_unless_equals_uint64 (swarm_store_get_n_bytes (store), 5000);
  assert_holds (store, 20, 5000);
  /* and goes when the next one comes */
  fail_unless (add (store, 21, 0, 300));
  fail_unless_equals_int (swarm_store_get_n_segments (store), 1);
  fail_unless_equals_uint64 (swarm_store_get_n_bytes (store), 300);
  swarm_store_free (store);
}

GST_END_TEST;

/* Segments come from several partners, out of order: the window is by
 * sequence number, not by arrival, and the oldest is what goes. */
GST_START_TEST (test_out_of_order_arrivals)
{
  SwarmStore *store = swarm_store_new (4, 1 << 20);
  const guint64 arrivals[] = { 103, 101, 104, 100, 102, 106, 105 };
  guint64 oldest, newest;

  for (guint i = 0; i < G_N_ELEMENTS (arrivals); i++)
    fail_unless (add (store, arrivals[i], 0, 10 + i), "%" G_GUINT64_FORMAT,
        arrivals[i]);
  fail_unless_equals_int (swarm_store_get_n_segments (store), 4);
  fail_unless (swarm_store_get_range (store, &oldest, &newest));
  fail_unless_equals_uint64 (oldest, 103);
  fail_unless_equals_uint64 (newest, 106);
  for (guint64 seq = 100; seq <= 102; seq++)
    fail_if (swarm_store_has (store, seq), "%" G_GUINT64_FORMAT, seq);
  assert_holds (store, 105, 16);
  assert_holds (store, 103, 10);
  swarm_store_free (store);
}

GST_END_TEST;

GST_START_TEST (test_find_newest_with_flags)
{
  SwarmStore *store = swarm_store_new (50, 1 << 20);
  guint64 seq = 0;

  fail_if (swarm_store_find_newest (store, 0, 0, &seq));
  for (guint64 s = 1; s <= 30; s++)
    fail_unless (add (store, s, s % 10 == 1 ? SWARM_SEGMENT_FLAG_KEYFRAME :
            0, 10));
  /* keyframes at 1, 11, 21 */
  fail_unless (swarm_store_find_newest (store, 0, SWARM_SEGMENT_FLAG_KEYFRAME,
          &seq));
  fail_unless_equals_uint64 (seq, 21);
  fail_unless (swarm_store_find_newest (store, 0, 0, &seq));
  fail_unless_equals_uint64 (seq, 30);
  /* strictly after @after */
  fail_unless (swarm_store_find_newest (store, 20, SWARM_SEGMENT_FLAG_KEYFRAME,
          &seq));
  fail_unless_equals_uint64 (seq, 21);
  fail_if (swarm_store_find_newest (store, 21, SWARM_SEGMENT_FLAG_KEYFRAME,
          &seq));
  /* every flag asked for must be set */
  fail_if (swarm_store_find_newest (store, 0, SWARM_SEGMENT_FLAG_KEYFRAME |
          SWARM_SEGMENT_FLAG_EOS, &seq));
  swarm_store_free (store);
}

GST_END_TEST;

/* A sequence number far from the others (a new epoch after a publisher
 * restart) is held like any other; the window then drops the old run. */
GST_START_TEST (test_far_jump)
{
  SwarmStore *store = swarm_store_new (3, 1 << 20);
  const guint64 far = G_GUINT64_CONSTANT (1) << 50;
  guint64 oldest, newest;

  for (guint64 s = 1; s <= 3; s++)
    fail_unless (add (store, s, 0, 10));
  for (guint64 s = far; s < far + 3; s++)
    fail_unless (add (store, s, 0, 10));
  fail_unless (swarm_store_get_range (store, &oldest, &newest));
  fail_unless_equals_uint64 (oldest, far);
  fail_unless_equals_uint64 (newest, far + 2);
  fail_if (add (store, 3, 0, 10));
  swarm_store_free (store);
}

GST_END_TEST;

/* Seqs that share their place in the store's index, in and out of
 * order, evicted from the middle of the runs they make: every one still
 * found, none that left. */
GST_START_TEST (test_colliding_seqs)
{
  SwarmStore *store = swarm_store_new (40, 1 << 20);
  guint64 s;

  for (s = 0; s < 200; s++) {
    /* 1024 apart: one place in the index, whatever its size */
    guint64 seq = 1000 + (s % 5) * 1024 + s / 5 * 5120 + (s % 3);

    fail_unless (add (store, seq, 0, 10));
  }
  fail_unless_equals_int (swarm_store_get_n_segments (store), 40);
  for (s = 0; s < 200; s++) {
    guint64 seq = 1000 + (s % 5) * 1024 + s / 5 * 5120 + (s % 3);

    if (s >= 160)
      assert_holds (store, seq, 10);
    else
      fail_if (swarm_store_has (store, seq));
  }
  swarm_store_free (store);
}

GST_END_TEST;

static Suite *
store_suite (void)
{
  Suite *s = suite_create ("store");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_add_get_and_refuse_duplicates);
  tcase_add_test (tc, test_window_by_count);
  tcase_add_test (tc, test_window_by_bytes);
  tcase_add_test (tc, test_out_of_order_arrivals);
  tcase_add_test (tc, test_find_newest_with_flags);
  tcase_add_test (tc, test_far_jump);
  tcase_add_test (tc, test_colliding_seqs);
  return s;
}

GST_CHECK_MAIN (store);

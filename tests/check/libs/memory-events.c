/* The in-memory net's queue of events (swarm-memory-events.h): every pop
 * is the first of what is queued then, in (time, order), whether the
 * event waited in the heap of the current slot, the ring, or past the
 * ring's reach; and what is still queued is handed back when it is freed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

static gint
event_cmp (gconstpointer a, gconstpointer b, gpointer unused)
{
  const SwarmMemoryEvent *x = a, *y = b;

  if (x->at_us != y->at_us)
    return x->at_us < y->at_us ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* A delay as the net makes them: mostly tens of ms, some at once, some
 * within one slot, some seconds on (past the ring's second). */
static gint64
draw_delay (GRand * rand)
{
  switch (g_rand_int_range (rand, 0, 10)) {
    case 0:
      return 0;
    case 1:
      return g_rand_int_range (rand, 0, 300);
    case 2:
      return g_rand_int_range (rand, 900000, 5000000);
    default:
      return g_rand_int_range (rand, 10000, 200000);
  }
}

/* Pushes and pops interleaved as a simulation makes them, against a
 * sorted tree of what is queued. */
GST_START_TEST (test_pops_in_order)
{
  SwarmMemoryEvents *q = swarm_memory_events_new ();
  GTree *model = g_tree_new_full (event_cmp, NULL, g_free, NULL);
  GRand *rand = g_rand_new_with_seed (3);
  gint64 now = 1000 * G_USEC_PER_SEC;
  guint64 order = 0, popped = 0, to_far = 0;
  guint step;

  for (step = 0; step < 200000; step++) {
    /* bursts of pushes, then a pop: the queue grows to thousands */
    if (g_rand_int_range (rand, 0, 100) < 52 || g_tree_nnodes (model) == 0) {
      SwarmMemoryEvent ev = {.at_us = now + draw_delay (rand),.order =
            order++,.endpoint = step };

      /* past the ring's reach (4096 slots of 250 µs) */
      if (ev.at_us - now > 1100000)
        to_far++;

      swarm_memory_events_push (q, &ev);
      g_tree_insert (model, g_memdup2 (&ev, sizeof ev), NULL);
    } else {
      GTreeNode *first = g_tree_node_first (model);
      const SwarmMemoryEvent *want = g_tree_node_key (first);
      const SwarmMemoryEvent *peeked = swarm_memory_events_peek (q);
      const SwarmMemoryEvent *next = swarm_memory_events_peek_next (q);
      SwarmMemoryEvent got;

      fail_unless (peeked != NULL);
      fail_unless_equals_int64 (peeked->at_us, want->at_us);
      if (next)
        fail_unless (event_cmp (next, peeked, NULL) > 0);
      fail_unless (swarm_memory_events_pop (q, &got));
      fail_unless_equals_int64 (got.at_us, want->at_us);
      fail_unless_equals_uint64 (got.order, want->order);
      fail_unless_equals_int (got.endpoint, want->endpoint);
      now = MAX (now, got.at_us);
      g_tree_remove (model, want);
      popped++;
    }
    fail_unless_equals_uint64 (swarm_memory_events_length (q),
        g_tree_nnodes (model));
  }
  /* the rest, in order */
  while (g_tree_nnodes (model) > 0) {
    const SwarmMemoryEvent *want = g_tree_node_key (g_tree_node_first (model));
    SwarmMemoryEvent got;

    fail_unless (swarm_memory_events_pop (q, &got));
    fail_unless_equals_uint64 (got.order, want->order);
    g_tree_remove (model, want);
    popped++;
  }
  fail_if (swarm_memory_events_pop (q, NULL));
  fail_unless (swarm_memory_events_peek (q) == NULL);
  fail_unless (popped > 50000);
  fail_unless (to_far > 1000, "only %" G_GUINT64_FORMAT " far events",
      to_far);
  swarm_memory_events_free (q, g_free);
  g_tree_destroy (model);
  g_rand_free (rand);
}

GST_END_TEST;

/* Queued again after a gap far past the ring: served from the new time. */
GST_START_TEST (test_empty_then_far_on)
{
  SwarmMemoryEvents *q = swarm_memory_events_new ();
  SwarmMemoryEvent a = {.at_us = 5000,.order = 1 };
  SwarmMemoryEvent b = {.at_us = G_GINT64_CONSTANT (3600000000),.order = 2 };
  SwarmMemoryEvent c = {.at_us = G_GINT64_CONSTANT (3600000010),.order = 3 };
  SwarmMemoryEvent got;

  swarm_memory_events_push (q, &a);
  fail_unless (swarm_memory_events_pop (q, &got));
  fail_unless_equals_uint64 (got.order, 1);
  swarm_memory_events_push (q, &c);
  swarm_memory_events_push (q, &b);
  fail_unless (swarm_memory_events_pop (q, &got));
  fail_unless_equals_uint64 (got.order, 2);
  /* one later than what was served, one earlier: both come, in order */
  a.at_us = G_GINT64_CONSTANT (3600000005);
  a.order = 4;
  swarm_memory_events_push (q, &a);
  fail_unless (swarm_memory_events_pop (q, &got));
  fail_unless_equals_uint64 (got.order, 4);
  fail_unless (swarm_memory_events_pop (q, &got));
  fail_unless_equals_uint64 (got.order, 3);
  fail_if (swarm_memory_events_pop (q, &got));
  swarm_memory_events_free (q, g_free);
}

GST_END_TEST;

static guint freed;

static void
count_free (gpointer data)
{
  freed++;
  g_free (data);
}

/* Freed with events in the heap, the ring and the far heap: each
 * datagram handed back once. */
GST_START_TEST (test_free_hands_back_datagrams)
{
  SwarmMemoryEvents *q = swarm_memory_events_new ();
  gint64 delays[] = { 0, 100, 50000, 700000, 3000000, 9000000 };
  guint i, k;

  freed = 0;
  for (i = 0; i < 100; i++)
    for (k = 0; k < G_N_ELEMENTS (delays); k++) {
      SwarmMemoryEvent ev = {.at_us = 1000000 + delays[k],.order =
            i * 10 + k,.datagram = g_malloc (8) };

      swarm_memory_events_push (q, &ev);
    }
  fail_unless_equals_uint64 (swarm_memory_events_length (q), 600);
  swarm_memory_events_free (q, count_free);
  fail_unless_equals_int (freed, 600);
}

GST_END_TEST;

static Suite *
memory_events_suite (void)
{
  Suite *s = suite_create ("memory-events");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_pops_in_order);
  tcase_add_test (tc, test_empty_then_far_on);
  tcase_add_test (tc, test_free_hands_back_datagrams);
  return s;
}

GST_CHECK_MAIN (memory_events);

/* The swarm's clock (swarm-clock.h): the virtual clock stands still until
 * it is run, fires timers in deadline order at their virtual time, repeats
 * intervals from the time they fired, forgets destroyed timers, and keeps
 * its wall clock in step; the system clock is GLib's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

typedef struct {
  SwarmClock *clock;
  GArray *fired_at;              /* virtual µs of each firing */
  GArray *who;                   /* which timer fired */
  guint id;
  guint remaining;               /* fire this many times, then stop */
} Probe;

static gboolean
probe_fire (gpointer data)
{
  Probe *p = data;
  gint64 now = swarm_clock_now_us (p->clock);

  g_array_append_val (p->fired_at, now);
  g_array_append_val (p->who, p->id);
  return --p->remaining > 0;
}

static GSource *
add_timer (SwarmClock * clock, GMainContext * ctx, guint ms, Probe * p)
{
  GSource *source = swarm_clock_timeout_source_new (clock, ms);

  g_source_set_callback (source, probe_fire, p, NULL);
  g_source_attach (source, ctx);
  return source;
}

#define START (1000 * G_USEC_PER_SEC)

GST_START_TEST (test_virtual_time_stands_still)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 1700000000000000);

  fail_unless (swarm_clock_is_virtual (clock));
  fail_unless_equals_int64 (swarm_clock_now_us (clock), START);
  g_usleep (20 * 1000);
  fail_unless_equals_int64 (swarm_clock_now_us (clock), START);
  fail_unless_equals_int64 (swarm_clock_real_us (clock), 1700000000000000);
  swarm_clock_advance_to (clock, START + 1500);
  fail_unless_equals_int64 (swarm_clock_now_us (clock), START + 1500);
  fail_unless_equals_int64 (swarm_clock_real_us (clock),
      1700000000000000 + 1500);
  /* never back */
  swarm_clock_advance_to (clock, START);
  fail_unless_equals_int64 (swarm_clock_now_us (clock), START + 1500);
  swarm_clock_unref (clock);
}

GST_END_TEST;

GST_START_TEST (test_timers_fire_in_order_at_their_time)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  GMainContext *ctx = g_main_context_new ();
  GArray *at = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *who = g_array_new (FALSE, FALSE, sizeof (guint));
  Probe a = { clock, at, who, 1, 3 }, b = { clock, at, who, 2, 1 };
  GSource *sa = add_timer (clock, ctx, 100, &a);
  GSource *sb = add_timer (clock, ctx, 250, &b);
  guint64 events;

  fail_unless_equals_int64 (swarm_clock_next_deadline_us (clock),
      START + 100 * 1000);
  /* nothing is due before time moves */
  fail_if (g_main_context_iteration (ctx, FALSE));
  events = swarm_clock_run (clock, ctx, START + 10 * G_USEC_PER_SEC);
  /* a at 100, 200, b at 250, a at 300 (then a stops) */
  fail_unless_equals_int (at->len, 4);
  fail_unless_equals_int64 (g_array_index (at, gint64, 0), START + 100000);
  fail_unless_equals_int (g_array_index (who, guint, 0), 1);
  fail_unless_equals_int64 (g_array_index (at, gint64, 1), START + 200000);
  fail_unless_equals_int (g_array_index (who, guint, 1), 1);
  fail_unless_equals_int64 (g_array_index (at, gint64, 2), START + 250000);
  fail_unless_equals_int (g_array_index (who, guint, 2), 2);
  fail_unless_equals_int64 (g_array_index (at, gint64, 3), START + 300000);
  fail_unless_equals_int (g_array_index (who, guint, 3), 1);
  fail_unless (events >= 4);
  /* run() ends at its horizon even with nothing left to do */
  fail_unless_equals_int64 (swarm_clock_now_us (clock),
      START + 10 * G_USEC_PER_SEC);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (clock), -1);
  g_source_unref (sa);
  g_source_unref (sb);
  g_main_context_unref (ctx);
  g_array_unref (at);
  g_array_unref (who);
  swarm_clock_unref (clock);
}

GST_END_TEST;

GST_START_TEST (test_destroyed_and_foreign_timers)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  GMainContext *ctx = g_main_context_new ();
  GMainContext *other = g_main_context_new ();
  GArray *at = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *who = g_array_new (FALSE, FALSE, sizeof (guint));
  Probe a = { clock, at, who, 1, 100 }, b = { clock, at, who, 2, 100 },
      c = { clock, at, who, 3, 1 };
  GSource *sa = add_timer (clock, ctx, 50, &a);
  GSource *sb = add_timer (clock, other, 10, &b);
  GSource *sc = add_timer (clock, ctx, 70, &c);

  g_source_destroy (sa);
  /* held but destroyed: never fires, never holds time back */
  swarm_clock_run (clock, ctx, START + G_USEC_PER_SEC);
  /* only c fired: b belongs to a context nobody iterates */
  fail_unless_equals_int (at->len, 1);
  fail_unless_equals_int (g_array_index (who, guint, 0), 3);
  fail_unless_equals_int64 (g_array_index (at, gint64, 0), START + 70000);
  g_source_destroy (sb);
  g_source_unref (sa);
  g_source_unref (sb);
  g_source_unref (sc);
  g_main_context_unref (ctx);
  g_main_context_unref (other);
  g_array_unref (at);
  g_array_unref (who);
  swarm_clock_unref (clock);
}

GST_END_TEST;

/* Many contexts, one clock: swarm_clock_next_timer names the earliest
 * timer of any context and where it is, and a driver iterating just that
 * context fires every timer in deadline order (ties: the order they were
 * made in), an idle source included. */
static gboolean
idle_fire (gpointer data)
{
  Probe *p = data;

  probe_fire (p);
  return p->remaining > 0;
}

GST_START_TEST (test_many_contexts_one_clock)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  GMainContext *ctx[3] = { g_main_context_new (), g_main_context_new (),
    g_main_context_new ()
  };
  GArray *at = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *who = g_array_new (FALSE, FALSE, sizeof (guint));
  Probe a = { clock, at, who, 1, 2 }, b = { clock, at, who, 2, 1 },
      c = { clock, at, who, 3, 1 }, idle = { clock, at, who, 4, 2 };
  GSource *sa = add_timer (clock, ctx[0], 30, &a);
  GSource *sb = add_timer (clock, ctx[1], 20, &b);
  GSource *sc = add_timer (clock, ctx[2], 30, &c);
  GSource *si;
  GMainContext *where = NULL;
  gint64 deadline = 0;
  static const guint order[] = { 4, 4, 2, 1, 3, 1 };
  guint i, rounds = 0;

  fail_unless (swarm_clock_next_timer (clock, &deadline, &where));
  fail_unless_equals_int64 (deadline, START + 20000);
  fail_unless (where == ctx[1]);
  /* an idle source is a timer due now: found first */
  si = swarm_clock_idle_source_new (clock);
  g_source_set_callback (si, idle_fire, &idle, NULL);
  g_source_attach (si, ctx[2]);
  fail_unless (swarm_clock_next_timer (clock, &deadline, &where));
  fail_unless_equals_int64 (deadline, START);
  fail_unless (where == ctx[2]);

  while (swarm_clock_next_timer (clock, &deadline, &where)
      && deadline <= START + G_USEC_PER_SEC) {
    swarm_clock_advance_to (clock, deadline);
    fail_unless (g_main_context_iteration (where, FALSE));
    fail_unless (++rounds < 100);
  }
  /* idle twice at once, b at 20, a and c at 30 (a was made first), a at 60 */
  fail_unless_equals_int (at->len, G_N_ELEMENTS (order));
  for (i = 0; i < G_N_ELEMENTS (order); i++)
    fail_unless_equals_int (g_array_index (who, guint, i), order[i]);
  fail_unless_equals_int64 (g_array_index (at, gint64, 0), START);
  fail_unless_equals_int64 (g_array_index (at, gint64, 1), START);
  fail_unless_equals_int64 (g_array_index (at, gint64, 5), START + 60000);
  fail_if (swarm_clock_next_timer (clock, &deadline, &where));

  /* the system clock's idle source is GLib's */
  {
    GSource *glib_idle = swarm_clock_idle_source_new (swarm_clock_get_system ());

    fail_unless_equals_int (g_source_get_priority (glib_idle),
        G_PRIORITY_DEFAULT_IDLE);
    g_source_unref (glib_idle);
  }
  g_source_unref (sa);
  g_source_unref (sb);
  g_source_unref (sc);
  g_source_unref (si);
  for (i = 0; i < 3; i++)
    g_main_context_unref (ctx[i]);
  g_array_unref (at);
  g_array_unref (who);
  swarm_clock_unref (clock);
}

GST_END_TEST;

/* swarm_clock_dispatch_alone runs the first timer as an iteration of its
 * context would, when that iteration would run it alone: another due
 * timer of its context, or a callback the clock was not told, leave it to
 * the iteration; another due timer of another context does not. */
GST_START_TEST (test_dispatch_alone)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  GMainContext *ctx[2] = { g_main_context_new (), g_main_context_new () };
  GArray *at = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *who = g_array_new (FALSE, FALSE, sizeof (guint));
  Probe a = { clock, at, who, 1, 2 }, b = { clock, at, who, 2, 1 },
      c = { clock, at, who, 3, 1 }, d = { clock, at, who, 4, 1 };
  GSource *sa = swarm_clock_timeout_source_new (clock, 10);
  GSource *sb = swarm_clock_timeout_source_new (clock, 10);
  GSource *sc = swarm_clock_timeout_source_new (clock, 20);
  GSource *sd = add_timer (clock, ctx[1], 40, &d);

  swarm_clock_source_set_callback (clock, sa, probe_fire, &a);
  g_source_attach (sa, ctx[0]);
  swarm_clock_source_set_callback (clock, sb, probe_fire, &b);
  g_source_attach (sb, ctx[1]);
  swarm_clock_source_set_callback (clock, sc, probe_fire, &c);
  g_source_attach (sc, ctx[0]);

  /* nothing due yet */
  fail_if (swarm_clock_dispatch_alone (clock));
  /* a and b at 10, in two contexts: each alone in its own */
  swarm_clock_advance_to (clock, START + 10000);
  fail_unless (swarm_clock_dispatch_alone (clock));
  fail_unless (swarm_clock_dispatch_alone (clock));
  fail_unless_equals_int (who->len, 2);
  fail_unless_equals_int (g_array_index (who, guint, 0), 1);
  fail_unless_equals_int (g_array_index (who, guint, 1), 2);
  /* b is done (destroyed), a repeats at 20 with c, in one context */
  fail_unless (g_source_is_destroyed (sb));
  swarm_clock_advance_to (clock, START + 20000);
  fail_if (swarm_clock_dispatch_alone (clock));
  fail_unless (g_main_context_iteration (ctx[0], FALSE));
  fail_unless_equals_int (who->len, 4);
  /* d's callback was set with g_source_set_callback: the clock leaves it */
  swarm_clock_advance_to (clock, START + 40000);
  fail_if (swarm_clock_dispatch_alone (clock));
  fail_unless (g_main_context_iteration (ctx[1], FALSE));
  fail_unless_equals_int (who->len, 5);
  fail_unless_equals_int (g_array_index (who, guint, 4), 4);

  g_source_unref (sa);
  g_source_unref (sb);
  g_source_unref (sc);
  g_source_unref (sd);
  g_main_context_unref (ctx[0]);
  g_main_context_unref (ctx[1]);
  g_array_unref (at);
  g_array_unref (who);
  swarm_clock_unref (clock);
}

GST_END_TEST;

GST_START_TEST (test_system_clock_is_glib)
{
  SwarmClock *clock = swarm_clock_get_system ();
  gint64 before = g_get_monotonic_time (), now, real;

  fail_if (swarm_clock_is_virtual (clock));
  now = swarm_clock_now_us (clock);
  fail_unless (now >= before && now <= g_get_monotonic_time ());
  real = swarm_clock_real_us (clock);
  fail_unless (ABS (real - g_get_real_time ()) < 5 * G_USEC_PER_SEC);
  /* ref/unref of the static clock do nothing */
  swarm_clock_unref (swarm_clock_ref (clock));
  fail_unless (swarm_clock_get_system () == clock);
}

GST_END_TEST;

static Suite *
clock_suite (void)
{
  Suite *s = suite_create ("clock");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_virtual_time_stands_still);
  tcase_add_test (tc, test_timers_fire_in_order_at_their_time);
  tcase_add_test (tc, test_destroyed_and_foreign_timers);
  tcase_add_test (tc, test_many_contexts_one_clock);
  tcase_add_test (tc, test_dispatch_alone);
  tcase_add_test (tc, test_system_clock_is_glib);
  return s;
}

GST_CHECK_MAIN (clock);

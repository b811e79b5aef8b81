/* Where the swarm gets its time: one clock interface for every module.
 *
 * The system clock is g_get_monotonic_time() for intervals, g_get_real_time()
 * for the wall clock, and GLib timeout sources for timers.  A virtual clock
 * stands still until its driver moves it: timers made from it fire when the
 * driver has advanced virtual time to their deadline, so a whole swarm
 * (origin, tracker, viewers) can run in one thread, as fast as the CPU goes
 * and the same way every time (swarm_clock_run).
 *
 * A module never reads the time any other way: that is what lets the
 * simulator run the real code.
 *
 * Threading: the system clock is thread-safe.  A virtual clock is meant to
 * be driven from one thread; reading it is thread-safe.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>
#include "swarm-prelude.h"

G_BEGIN_DECLS

typedef struct _SwarmClock SwarmClock;

/* The process-wide system clock (a static object: ref/unref are no-ops). */
SWARM_API SwarmClock *swarm_clock_get_system (void);
/* A virtual clock at monotonic time @start_us (> 0) whose wall clock reads
 * @real_start_us at that instant (0 = the system's wall clock now). */
SWARM_API SwarmClock *swarm_clock_new_virtual (gint64 start_us,
    gint64 real_start_us);
/* A boxed type (reference counted), for properties and bindings. */
#define SWARM_TYPE_CLOCK (swarm_clock_get_type ())
SWARM_API GType swarm_clock_get_type (void);
SWARM_API SwarmClock *swarm_clock_ref (SwarmClock * clock);
SWARM_API void swarm_clock_unref (SwarmClock * clock);
SWARM_API gboolean swarm_clock_is_virtual (SwarmClock * clock);
/* *@slot (holding a reference) becomes a reference to @clock, as
 * g_set_object does: each module's set_clock. */
SWARM_API void swarm_clock_replace (SwarmClock ** slot, SwarmClock * clock);

/* Monotonic time in µs: intervals, deadlines, rates. */
SWARM_API gint64 swarm_clock_now_us (SwarmClock * clock);
/* Wall-clock time in µs since the epoch: what is signed and compared with
 * another machine (publication times, the edge's clock). */
SWARM_API gint64 swarm_clock_real_us (SwarmClock * clock);

/* A source that fires every @interval_ms on @clock's time, like
 * g_timeout_source_new (interval 0 fires at once, then as often as the
 * context iterates).  Not attached: the caller sets the callback and
 * attaches it. */
SWARM_API GSource *swarm_clock_timeout_source_new (SwarmClock * clock,
    guint interval_ms);

/* Like g_idle_source_new: fires at the next iteration of its context, and
 * again while it returns G_SOURCE_CONTINUE.  On a virtual clock it is a
 * timer due now, so a driver of many contexts finds it
 * (swarm_clock_next_timer).  Not attached. */
SWARM_API GSource *swarm_clock_idle_source_new (SwarmClock * clock);

/* A source that fires once at a deadline the owner sets and moves
 * (swarm_clock_source_set_deadline), on @clock's time: for a queue of
 * timed events served by one source.  Not attached; no deadline yet. */
SWARM_API GSource *swarm_clock_deadline_source_new (SwarmClock * clock);
/* @deadline_us on the clock's monotonic time; -1 = none.  After firing the
 * source waits for a new deadline (set one from the callback to go on). */
SWARM_API void swarm_clock_source_set_deadline (SwarmClock * clock,
    GSource * source, gint64 deadline_us);
/* g_source_set_callback (@source, @func, @data, NULL) on one of @clock's
 * sources, told to the clock as well: a virtual clock's timer whose
 * callback the clock knows may be run by swarm_clock_dispatch_alone. */
SWARM_API void swarm_clock_source_set_callback (SwarmClock * clock,
    GSource * source, GSourceFunc func, gpointer data);

/* Chance, like time, comes from the clock: a virtual clock draws from a
 * generator seeded with swarm_clock_set_seed (0 until set), so a whole
 * swarm on it runs the same way for a seed; the system clock from
 * GnuTLS's nonce generator.  Offer ids, peer ids and the tracker's choice
 * of peers use it; keys and DTLS never do. */
SWARM_API guint32 swarm_clock_random_int (SwarmClock * clock);
/* In [begin, end). */
SWARM_API gint32 swarm_clock_random_int_range (SwarmClock * clock,
    gint32 begin, gint32 end);
SWARM_API void swarm_clock_random_bytes (SwarmClock * clock, guint8 * out,
    gsize len);

/* Virtual clocks only. */
SWARM_API void swarm_clock_set_seed (SwarmClock * clock, guint32 seed);
/* The earliest deadline of a timer attached to a context, or -1. */
SWARM_API gint64 swarm_clock_next_deadline_us (SwarmClock * clock);
/* Moves virtual time forward to @us (never back). */
SWARM_API void swarm_clock_advance_to (SwarmClock * clock, gint64 us);
/* The earliest timer attached to any context (due already, or later):
 * its deadline and its context.  FALSE if there is none.  A driver of
 * many contexts (one per session: the simulator) moves time to the
 * deadline and iterates that context, which scans only its own sources;
 * swarm_clock_run on one shared context scans every source of the swarm
 * at every step. */
SWARM_API gboolean swarm_clock_next_timer (SwarmClock * clock,
    gint64 * deadline_us, GMainContext ** context);
/* Runs the earliest timer of all (the one swarm_clock_next_timer gives),
 * due now, as an iteration of its context would, when that iteration
 * would run it alone: no other timer is due, and its callback was set
 * with swarm_clock_source_set_callback.  The caller vouches that nothing
 * else of that context may be ready (an idle, a source not on the clock).
 * FALSE, having run nothing, otherwise: iterate the context then.  GLib's
 * iteration looks at every source of the context, twice, under its lock:
 * for thousands of sessions each with a few timers, that look cost more
 * than most of what the timers do. */
SWARM_API gboolean swarm_clock_dispatch_alone (SwarmClock * clock);
/* Runs @context until virtual time @until_us: dispatches what is ready,
 * then jumps to the next deadline, and so on.  Returns the number of
 * dispatch rounds (events). */
SWARM_API guint64 swarm_clock_run (SwarmClock * clock, GMainContext * context,
    gint64 until_us);

/* Mail between virtual clocks, for a driver that runs several clocks
 * (shards of one swarm) each on its own thread through windows of virtual
 * time.  From @from's thread, asks for @func (@data) to run at @at_us on
 * @to's time, in @context (one of @to's): the post waits in @to's
 * mailbox until swarm_clock_take_mail, between two windows, so @at_us
 * must fall after the window's end.  @notify frees @data once it ran (or
 * never will).  Thread-safe. */
SWARM_API void swarm_clock_post (SwarmClock * to, SwarmClock * from,
    gint64 at_us, GMainContext * context, GSourceFunc func, gpointer data,
    GDestroyNotify notify);
/* Turns @clock's mail into timers, in the order of the senders' shards
 * (swarm_clock_set_shard), then as each posted: the same every run,
 * however the threads interleaved.  Call it when no shard runs. */
SWARM_API void swarm_clock_take_mail (SwarmClock * clock);
/* This clock's place among the shards, for the order of its mail. */
SWARM_API void swarm_clock_set_shard (SwarmClock * clock, guint shard);

G_END_DECLS

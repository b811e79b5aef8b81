/* The swarm's clock: the system's, or a virtual one a driver moves (see
 * swarm-clock.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "swarm-clock.h"

struct _SwarmClock {
  gboolean is_virtual;
  gint ref_count;
  GMutex lock;
  /* virtual: monotonic time; written under the lock, read without it
   * (every module reads the time all the time) */
  gint64 now_us;
  gint64 start_us;
  gint64 real_start_us;
  /* virtual: the timers with a deadline, a min-heap on (deadline, the
   * order they were made in), four children a node (half as deep as a
   * binary one: thousands of sessions make tens of thousands of timers):
   * finding the next one costs nothing and moving one a logarithm */
  struct _HeapSlot *heap;
  guint heap_len, heap_size;
  guint64 next_order;
  GRand *rand;                   /* virtual: seeded */
  /* virtual: what other clocks' threads posted (Mail, under the lock),
   * taken in by swarm_clock_take_mail */
  GArray *mail;
  guint shard;                   /* orders the mail of several senders */
  guint64 mail_sent;             /* posts from this clock's thread */
};

typedef struct {
  gint64 at_us;
  guint from_shard;
  guint64 from_order;
  GMainContext *context;         /* owned */
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
} Mail;

static SwarmClock system_clock = { FALSE, 1 };

SwarmClock *
swarm_clock_get_system (void)
{
  return &system_clock;
}

SwarmClock *
swarm_clock_new_virtual (gint64 start_us, gint64 real_start_us)
{
  SwarmClock *c = g_new0 (SwarmClock, 1);

  g_return_val_if_fail (start_us > 0, NULL);
  c->is_virtual = TRUE;
  c->ref_count = 1;
  g_mutex_init (&c->lock);
  c->now_us = c->start_us = start_us;
  c->real_start_us = real_start_us ? real_start_us : g_get_real_time ();
  c->rand = g_rand_new_with_seed (0);
  c->mail = g_array_new (FALSE, FALSE, sizeof (Mail));
  return c;
}

SwarmClock *
swarm_clock_ref (SwarmClock * clock)
{
  if (clock->is_virtual)
    g_atomic_int_inc (&clock->ref_count);
  return clock;
}

void
swarm_clock_unref (SwarmClock * clock)
{
  if (!clock || !clock->is_virtual)
    return;
  if (!g_atomic_int_dec_and_test (&clock->ref_count))
    return;
  /* every timer holds a ref, so none is left */
  g_free (clock->heap);
  for (guint i = 0; i < clock->mail->len; i++) {
    Mail *m = &g_array_index (clock->mail, Mail, i);

    if (m->notify)
      m->notify (m->data);
    g_main_context_unref (m->context);
  }
  g_array_unref (clock->mail);
  g_rand_free (clock->rand);
  g_mutex_clear (&clock->lock);
  g_free (clock);
}

void
swarm_clock_replace (SwarmClock ** slot, SwarmClock * clock)
{
  swarm_clock_ref (clock);
  swarm_clock_unref (*slot);
  *slot = clock;
}

gboolean
swarm_clock_is_virtual (SwarmClock * clock)
{
  return clock->is_virtual;
}

gint64
swarm_clock_now_us (SwarmClock * clock)
{
  if (!clock->is_virtual)
    return g_get_monotonic_time ();
  return __atomic_load_n (&clock->now_us, __ATOMIC_ACQUIRE);
}

gint64
swarm_clock_real_us (SwarmClock * clock)
{
  if (!clock->is_virtual)
    return g_get_real_time ();
  return clock->real_start_us + swarm_clock_now_us (clock) - clock->start_us;
}

void
swarm_clock_set_seed (SwarmClock * clock, guint32 seed)
{
  g_return_if_fail (clock->is_virtual);
  g_mutex_lock (&clock->lock);
  g_rand_set_seed (clock->rand, seed);
  g_mutex_unlock (&clock->lock);
}

void
swarm_clock_random_bytes (SwarmClock * clock, guint8 * out, gsize len)
{
  gsize i;

  if (!clock->is_virtual) {
    if (gnutls_rnd (GNUTLS_RND_NONCE, out, len) < 0)
      g_error ("GnuTLS random number generator failed");
    return;
  }
  g_mutex_lock (&clock->lock);
  for (i = 0; i < len; i++)
    out[i] = (guint8) g_rand_int_range (clock->rand, 0, 256);
  g_mutex_unlock (&clock->lock);
}

guint32
swarm_clock_random_int (SwarmClock * clock)
{
  guint32 v;

  swarm_clock_random_bytes (clock, (guint8 *) & v, sizeof v);
  return v;
}

gint32
swarm_clock_random_int_range (SwarmClock * clock, gint32 begin, gint32 end)
{
  guint32 span, limit, v;

  g_return_val_if_fail (end > begin, begin);
  span = (guint32) (end - begin);
  /* no modulo bias: draws at or above the last whole multiple go again */
  limit = G_MAXUINT32 - G_MAXUINT32 % span;
  do
    v = swarm_clock_random_int (clock);
  while (v >= limit);
  return begin + (gint32) (v % span);
}

/* A timer on virtual time. */
typedef struct _VirtualTimer {
  GSource source;
  SwarmClock *clock;             /* owned ref */
  gint64 deadline_us;            /* G_MAXINT64: none (not in the heap) */
  gint64 interval_us;           /* < 0: a deadline source (no repeats) */
  guint64 order;
  gint heap_index;               /* in clock->heap, -1 when not there */
  /* swarm_clock_source_set_callback's, for swarm_clock_dispatch_alone */
  GSourceFunc func;
  gpointer func_data;
} VirtualTimer;

/* ---- the heap of deadlines (clock->lock held) ---------------------------- */

#define HEAP_ARITY 4

/* A timer's place in the heap, with its keys: comparing children reads
 * the array, not tens of thousands of timers scattered in memory. */
typedef struct _HeapSlot {
  gint64 deadline_us;
  guint64 order;
  VirtualTimer *timer;
} HeapSlot;

static gboolean
timer_before (const VirtualTimer * x, const VirtualTimer * y)
{
  if (x->deadline_us != y->deadline_us)
    return x->deadline_us < y->deadline_us;
  return x->order < y->order;
}

static gboolean
slot_before (const HeapSlot * x, const HeapSlot * y)
{
  if (x->deadline_us != y->deadline_us)
    return x->deadline_us < y->deadline_us;
  return x->order < y->order;
}

static void
heap_place (SwarmClock * c, const HeapSlot * slot, guint i)
{
  c->heap[i] = *slot;
  slot->timer->heap_index = (gint) i;
}

static void
heap_sift_up (SwarmClock * c, guint i)
{
  HeapSlot slot = c->heap[i];

  while (i > 0 && slot_before (&slot, &c->heap[(i - 1) / HEAP_ARITY])) {
    heap_place (c, &c->heap[(i - 1) / HEAP_ARITY], i);
    i = (i - 1) / HEAP_ARITY;
  }
  heap_place (c, &slot, i);
}

static void
heap_sift_down (SwarmClock * c, guint i)
{
  HeapSlot slot = c->heap[i];

  for (;;) {
    guint first = HEAP_ARITY * i + 1, child = first, k;

    if (first >= c->heap_len)
      break;
    for (k = first + 1; k < first + HEAP_ARITY && k < c->heap_len; k++)
      if (slot_before (&c->heap[k], &c->heap[child]))
        child = k;
    if (!slot_before (&c->heap[child], &slot))
      break;
    heap_place (c, &c->heap[child], i);
    i = child;
  }
  heap_place (c, &slot, i);
}

static void
heap_remove (SwarmClock * c, VirtualTimer * t)
{
  guint i = (guint) t->heap_index;
  HeapSlot last;

  if (t->heap_index < 0)
    return;
  t->heap_index = -1;
  last = c->heap[--c->heap_len];
  if (last.timer == t)
    return;
  heap_place (c, &last, i);
  heap_sift_up (c, i);
  heap_sift_down (c, (guint) last.timer->heap_index);
}

/* @t's deadline changed (or it was just made): where it belongs now. */
static void
heap_update (SwarmClock * c, VirtualTimer * t)
{
  if (t->deadline_us == G_MAXINT64) {
    heap_remove (c, t);
    return;
  }
  if (t->heap_index < 0) {
    HeapSlot slot = { t->deadline_us, t->order, t };

    if (c->heap_len == c->heap_size) {
      c->heap_size = MAX (64, 2 * c->heap_size);
      c->heap = g_renew (HeapSlot, c->heap, c->heap_size);
    }
    heap_place (c, &slot, c->heap_len++);
    heap_sift_up (c, (guint) t->heap_index);
    return;
  }
  c->heap[t->heap_index].deadline_us = t->deadline_us;
  heap_sift_up (c, (guint) t->heap_index);
  heap_sift_down (c, (guint) t->heap_index);
}

static gboolean
timer_ready (VirtualTimer * t)
{
  return swarm_clock_now_us (t->clock) >= t->deadline_us;
}

static gboolean
timer_prepare (GSource * source, gint * timeout)
{
  /* never block: the driver moves time, not the poll */
  *timeout = -1;
  return timer_ready ((VirtualTimer *) source);
}

static gboolean
timer_check (GSource * source)
{
  return timer_ready ((VirtualTimer *) source);
}

static gboolean
timer_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  VirtualTimer *t = (VirtualTimer *) source;
  SwarmClock *c = t->clock;
  gboolean again;

  if (!callback)
    return G_SOURCE_REMOVE;
  if (t->interval_us < 0) {
    /* fired: no deadline until the owner (maybe the callback) sets one */
    swarm_clock_source_set_deadline (c, source, -1);
    return callback (user_data);
  }
  again = callback (user_data);
  if (again && !g_source_is_destroyed (source)) {
    g_mutex_lock (&c->lock);
    t->deadline_us = c->now_us + t->interval_us;
    heap_update (c, t);
    g_mutex_unlock (&c->lock);
  }
  return again;
}

static void
timer_finalize (GSource * source)
{
  VirtualTimer *t = (VirtualTimer *) source;
  SwarmClock *c = t->clock;

  g_mutex_lock (&c->lock);
  heap_remove (c, t);
  g_mutex_unlock (&c->lock);
  swarm_clock_unref (c);
}

static GSourceFuncs timer_funcs = {
  timer_prepare, timer_check, timer_dispatch, timer_finalize,
};

GSource *
swarm_clock_timeout_source_new (SwarmClock * clock, guint interval_ms)
{
  VirtualTimer *t;

  if (!clock->is_virtual)
    return g_timeout_source_new (interval_ms);
  t = (VirtualTimer *) g_source_new (&timer_funcs, sizeof (VirtualTimer));
  g_source_set_static_name (&t->source, "swarm-virtual-timer");
  t->clock = swarm_clock_ref (clock);
  t->interval_us = (gint64) interval_ms * 1000;
  g_mutex_lock (&clock->lock);
  t->deadline_us = clock->now_us + t->interval_us;
  t->order = clock->next_order++;
  t->heap_index = -1;
  heap_update (clock, t);
  g_mutex_unlock (&clock->lock);
  return &t->source;
}

GSource *
swarm_clock_idle_source_new (SwarmClock * clock)
{
  GSource *source;

  if (!clock->is_virtual)
    return g_idle_source_new ();
  /* due now, and again at once while it returns G_SOURCE_CONTINUE, as an
   * idle source is: but it is a timer, so the driver of many contexts
   * knows where it waits */
  source = swarm_clock_timeout_source_new (clock, 0);
  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  return source;
}

/* The system clock's deadline source: GLib's ready time, which is on the
 * monotonic clock too. */
static gboolean
system_deadline_dispatch (GSource * source, GSourceFunc callback,
    gpointer user_data)
{
  g_source_set_ready_time (source, -1);
  return callback ? callback (user_data) : G_SOURCE_REMOVE;
}

static GSourceFuncs system_deadline_funcs = {
  NULL, NULL, system_deadline_dispatch, NULL,
};

GSource *
swarm_clock_deadline_source_new (SwarmClock * clock)
{
  GSource *source;

  if (!clock->is_virtual) {
    source = g_source_new (&system_deadline_funcs, sizeof (GSource));
    g_source_set_static_name (source, "swarm-deadline");
    g_source_set_ready_time (source, -1);
    return source;
  }
  source = swarm_clock_timeout_source_new (clock, 0);
  ((VirtualTimer *) source)->interval_us = -1;
  swarm_clock_source_set_deadline (clock, source, -1);
  return source;
}

void
swarm_clock_source_set_deadline (SwarmClock * clock, GSource * source,
    gint64 deadline_us)
{
  VirtualTimer *t = (VirtualTimer *) source;

  if (!clock->is_virtual) {
    g_source_set_ready_time (source, deadline_us);
    return;
  }
  g_return_if_fail (t->clock == clock && t->interval_us < 0);
  g_mutex_lock (&clock->lock);
  t->deadline_us = deadline_us < 0 ? G_MAXINT64 : deadline_us;
  heap_update (clock, t);
  g_mutex_unlock (&clock->lock);
}

/* Whether @t may hold time back for a driver of @context (any context if
 * NULL): attached there and not destroyed. */
static gboolean
timer_attached_to (VirtualTimer * t, GMainContext * context)
{
  GMainContext *attached;

  /* destroyed timers wait for their last unref; unattached ones for
   * their owner to attach them */
  if (g_source_is_destroyed (&t->source))
    return FALSE;
  attached = g_source_get_context (&t->source);
  return attached && (!context || attached == context);
}

/* The earliest timer after @after_us attached to @context (any context if
 * NULL), or NULL.  Clock lock held. */
static VirtualTimer *
next_timer (SwarmClock * clock, GMainContext * context, gint64 after_us)
{
  VirtualTimer *best = NULL;
  guint i;

  /* destroyed timers never fire again: out of the way for good */
  while (clock->heap_len > 0
      && g_source_is_destroyed (&clock->heap[0].timer->source))
    heap_remove (clock, clock->heap[0].timer);
  if (clock->heap_len == 0)
    return NULL;
  /* nearly always the earliest of all */
  if (clock->heap[0].deadline_us > after_us
      && timer_attached_to (clock->heap[0].timer, context))
    return clock->heap[0].timer;
  /* a timer of another context, or one due that its context has not run:
   * look at them all */
  for (i = 0; i < clock->heap_len; i++) {
    VirtualTimer *t = clock->heap[i].timer;

    if (t->deadline_us > after_us && (!best || timer_before (t, best))
        && timer_attached_to (t, context))
      best = t;
  }
  return best;
}

static gint64
next_deadline (SwarmClock * clock, GMainContext * context, gint64 after_us)
{
  VirtualTimer *t;
  gint64 next;

  g_mutex_lock (&clock->lock);
  t = next_timer (clock, context, after_us);
  next = t ? t->deadline_us : -1;
  g_mutex_unlock (&clock->lock);
  return next;
}

void
swarm_clock_source_set_callback (SwarmClock * clock, GSource * source,
    GSourceFunc func, gpointer data)
{
  VirtualTimer *t = (VirtualTimer *) source;

  g_source_set_callback (source, func, data, NULL);
  if (!clock->is_virtual)
    return;
  g_return_if_fail (t->clock == clock);
  t->func = func;
  t->func_data = data;
}

/* Whether a timer due now below the heap's node @i is attached to
 * @context.  The timers due are the top of the heap (a node is due no
 * later than its children): the walk reads those and their children
 * only.  Many are due at once across contexts (a delivery asks several
 * sessions to schedule now), rarely two of one context.  Lock held. */
static gboolean
due_in_context (SwarmClock * c, guint i, GMainContext * context)
{
  guint k;

  for (k = HEAP_ARITY * i + 1; k <= HEAP_ARITY * i + HEAP_ARITY
      && k < c->heap_len; k++) {
    if (c->heap[k].deadline_us > c->now_us)
      continue;
    if (timer_attached_to (c->heap[k].timer, context)
        || due_in_context (c, k, context))
      return TRUE;
  }
  return FALSE;
}

gboolean
swarm_clock_dispatch_alone (SwarmClock * clock)
{
  VirtualTimer *t;
  GMainContext *context;

  g_return_val_if_fail (clock->is_virtual, FALSE);
  g_mutex_lock (&clock->lock);
  t = clock->heap_len ? clock->heap[0].timer : NULL;
  if (!t || !t->func || t->deadline_us > clock->now_us
      || !timer_attached_to (t, NULL)) {
    g_mutex_unlock (&clock->lock);
    return FALSE;
  }
  context = g_source_get_context (&t->source);
  if (due_in_context (clock, 0, context)) {
    g_mutex_unlock (&clock->lock);
    return FALSE;
  }
  g_source_ref (&t->source);
  g_mutex_unlock (&clock->lock);

  /* owned while it runs, as in an iteration: g_main_context_invoke on
   * it from the callback runs at once */
  if (!g_main_context_acquire (context)) {
    g_source_unref (&t->source);
    return FALSE;
  }
  if (!timer_dispatch (&t->source, t->func, t->func_data))
    g_source_destroy (&t->source);
  g_main_context_release (context);
  g_source_unref (&t->source);
  return TRUE;
}

gboolean
swarm_clock_next_timer (SwarmClock * clock, gint64 * deadline_us,
    GMainContext ** context)
{
  VirtualTimer *t;

  g_return_val_if_fail (clock->is_virtual, FALSE);
  g_mutex_lock (&clock->lock);
  t = next_timer (clock, NULL, G_MININT64);
  if (t) {
    *deadline_us = t->deadline_us;
    *context = g_source_get_context (&t->source);
  }
  g_mutex_unlock (&clock->lock);
  return t != NULL;
}

gint64
swarm_clock_next_deadline_us (SwarmClock * clock)
{
  g_return_val_if_fail (clock->is_virtual, -1);
  return next_deadline (clock, NULL, G_MININT64);
}

void
swarm_clock_advance_to (SwarmClock * clock, gint64 us)
{
  g_return_if_fail (clock->is_virtual);
  g_mutex_lock (&clock->lock);
  if (us > clock->now_us)
    __atomic_store_n (&clock->now_us, us, __ATOMIC_RELEASE);
  g_mutex_unlock (&clock->lock);
}

guint64
swarm_clock_run (SwarmClock * clock, GMainContext * context, gint64 until_us)
{
  guint64 rounds = 0;

  g_return_val_if_fail (clock->is_virtual, 0);
  for (;;) {
    gint64 next;

    while (g_main_context_iteration (context, FALSE))
      rounds++;
    /* a timer already due did not fire in this context: not ours */
    next = next_deadline (clock, context, swarm_clock_now_us (clock));
    if (next < 0 || next > until_us) {
      swarm_clock_advance_to (clock, until_us);
      /* what became ready exactly at until_us runs now */
      while (g_main_context_iteration (context, FALSE))
        rounds++;
      return rounds;
    }
    swarm_clock_advance_to (clock, next);
  }
}

G_DEFINE_BOXED_TYPE (SwarmClock, swarm_clock, swarm_clock_ref, swarm_clock_unref);

/* ---- mail between clocks ------------------------------------------------ */

void
swarm_clock_set_shard (SwarmClock * clock, guint shard)
{
  g_return_if_fail (clock->is_virtual);
  clock->shard = shard;
}

void
swarm_clock_post (SwarmClock * to, SwarmClock * from, gint64 at_us,
    GMainContext * context, GSourceFunc func, gpointer data,
    GDestroyNotify notify)
{
  Mail mail = { at_us, from->shard, from->mail_sent++,
    g_main_context_ref (context), func, data, notify
  };

  g_return_if_fail (to->is_virtual && from->is_virtual);
  g_mutex_lock (&to->lock);
  g_array_append_val (to->mail, mail);
  g_mutex_unlock (&to->lock);
}

static gint
mail_compare (gconstpointer a, gconstpointer b)
{
  const Mail *x = a, *y = b;

  if (x->from_shard != y->from_shard)
    return x->from_shard < y->from_shard ? -1 : 1;
  return x->from_order < y->from_order ? -1 : x->from_order > y->from_order;
}

typedef struct {
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
} Delivery;

static gboolean
mail_deliver (gpointer user_data)
{
  Delivery *d = user_data;

  d->func (d->data);
  return G_SOURCE_REMOVE;
}

static void
delivery_free (gpointer user_data)
{
  Delivery *d = user_data;

  if (d->notify)
    d->notify (d->data);
  g_free (d);
}

void
swarm_clock_take_mail (SwarmClock * clock)
{
  GArray *mail;
  guint i;

  g_return_if_fail (clock->is_virtual);
  g_mutex_lock (&clock->lock);
  mail = clock->mail;
  clock->mail = g_array_new (FALSE, FALSE, sizeof (Mail));
  g_mutex_unlock (&clock->lock);
  /* senders post from their own threads in any interleaving: sorted by
   * sender, then as each posted, the timers are made in the same order
   * every run */
  g_array_sort (mail, mail_compare);
  for (i = 0; i < mail->len; i++) {
    Mail *m = &g_array_index (mail, Mail, i);
    Delivery *d = g_new (Delivery, 1);
    GSource *source = swarm_clock_deadline_source_new (clock);

    d->func = m->func;
    d->data = m->data;
    d->notify = m->notify;
    g_source_set_callback (source, mail_deliver, d, delivery_free);
    g_source_attach (source, m->context);
    swarm_clock_source_set_deadline (clock, source,
        MAX (m->at_us, clock->now_us));
    g_source_unref (source);
    g_main_context_unref (m->context);
  }
  g_array_unref (mail);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The in-memory net's events in flight, served in (time, order).
 *
 * One heap of them all (a 4-ary heap, each node's children in two cache
 * lines) cost a tenth of a 10,000-viewer simulation: some 150,000
 * datagrams are in flight there, and taking the first out of the heap
 * read a node on each of its nine levels, most of them cache misses
 * (perf annotate: the children's times were 58 % of the deliveries'
 * own time).  So the heap holds only the events of the next SLOT_US
 * (a few hundred at that scale, in the cache).  Those after wait in a
 * ring of N_SLOTS lists, one a slot, appended to as they are queued and
 * poured into the heap when their slot comes; those past the ring's
 * reach wait in a heap of their own.  The order served is the same:
 * every event of the heap is due before any of the ring's.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-memory-events.h"

#define SLOT_US 250
#define N_SLOTS 4096             /* a power of two: the ring sees 1 s ahead */
#define SLOT_MASK (N_SLOTS - 1)
/* A slot's list is of chunks of events (1 KiB), the spare ones kept for
 * the next slots: a slot's events are read in order, and the memory of
 * the ring is what is in flight, not each slot's busiest moment. */
#define CHUNK_EVENTS 31

#define HEAP_ARITY 4
#define HEAP_ALIGN (HEAP_ARITY * sizeof (SwarmMemoryEvent))
G_STATIC_ASSERT (sizeof (SwarmMemoryEvent) == 32);
G_STATIC_ASSERT (HEAP_ALIGN == 128);

typedef struct _Chunk Chunk;
struct _Chunk {
  Chunk *next;
  guint n;
  SwarmMemoryEvent events[CHUNK_EVENTS];
};

typedef struct {
  Chunk *first, *last;
} Slot;

/* A min-heap on (time, order), the children of each node (from index 1,
 * four at a time) on a boundary of theirs. */
typedef struct {
  SwarmMemoryEvent *events;
  guint n, size;
  gpointer block;                /* what holds them */
} Heap;

struct _SwarmMemoryEvents {
  Heap near;                     /* due in slot `slot` or before */
  gint64 slot;
  Slot ring[N_SLOTS];            /* slot s in (slot, slot + N_SLOTS) at
                                  * s & SLOT_MASK */
  guint64 in_ring;
  Heap far;                      /* slot + N_SLOTS and after */
  Chunk *spare;
};

static gboolean
event_before (const SwarmMemoryEvent * x, const SwarmMemoryEvent * y)
{
  if (x->at_us != y->at_us)
    return x->at_us < y->at_us;
  return x->order < y->order;
}

static gint64
slot_of (gint64 at_us)
{
  return at_us >= 0 ? at_us / SLOT_US : -((-at_us + SLOT_US - 1) / SLOT_US);
}

/* ---- the heaps ------------------------------------------------------------ */

static void
heap_grow (Heap * h, guint size)
{
  gpointer block = g_aligned_alloc (size + HEAP_ARITY,
      sizeof (SwarmMemoryEvent), HEAP_ALIGN);
  SwarmMemoryEvent *events = (SwarmMemoryEvent *) block + HEAP_ARITY - 1;

  if (h->n)
    memcpy (events, h->events, h->n * sizeof (SwarmMemoryEvent));
  g_aligned_free (h->block);
  h->block = block;
  h->events = events;
  h->size = size;
}

static void
heap_push (Heap * h, const SwarmMemoryEvent * ev)
{
  guint i = h->n;

  if (i == h->size)
    heap_grow (h, MAX (1024, 2 * h->size));
  h->n++;
  while (i > 0 && event_before (ev, &h->events[(i - 1) / HEAP_ARITY])) {
    h->events[i] = h->events[(i - 1) / HEAP_ARITY];
    i = (i - 1) / HEAP_ARITY;
  }
  h->events[i] = *ev;
}

static void
heap_pop (Heap * h, SwarmMemoryEvent * first)
{
  SwarmMemoryEvent last = h->events[h->n - 1];
  guint n = h->n - 1, i = 0;

  *first = h->events[0];
  h->n = n;
  if (n == 0)
    return;
  for (;;) {
    guint child = HEAP_ARITY * i + 1, k, best;

    if (child >= n)
      break;
    best = child;
    for (k = child + 1; k < child + HEAP_ARITY && k < n; k++)
      if (event_before (&h->events[k], &h->events[best]))
        best = k;
    if (!event_before (&h->events[best], &last))
      break;
    h->events[i] = h->events[best];
    i = best;
  }
  h->events[i] = last;
}

static void
heap_clear (Heap * h, GDestroyNotify free_datagram)
{
  guint i;

  for (i = 0; i < h->n; i++)
    free_datagram (h->events[i].datagram);
  g_aligned_free (h->block);
}

/* ---- the ring -------------------------------------------------------------- */

static void
ring_append (SwarmMemoryEvents * q, gint64 slot, const SwarmMemoryEvent * ev)
{
  Slot *s = &q->ring[slot & SLOT_MASK];
  Chunk *c = s->last;

  if (!c || c->n == CHUNK_EVENTS) {
    if (q->spare) {
      c = q->spare;
      q->spare = c->next;
    } else {
      c = g_new (Chunk, 1);
    }
    c->next = NULL;
    c->n = 0;
    if (s->last)
      s->last->next = c;
    else
      s->first = c;
    s->last = c;
  }
  c->events[c->n++] = *ev;
  q->in_ring++;
}

/* Where @ev waits: the heap if its slot has come, else the ring or the
 * far heap. */
static void
place (SwarmMemoryEvents * q, const SwarmMemoryEvent * ev)
{
  gint64 slot = slot_of (ev->at_us);

  if (slot <= q->slot)
    heap_push (&q->near, ev);
  else if (slot - q->slot < N_SLOTS)
    ring_append (q, slot, ev);
  else
    heap_push (&q->far, ev);
}

/* The next slot's events into the heap, and the far heap's that the ring
 * now reaches into the ring. */
static void
advance (SwarmMemoryEvents * q)
{
  Slot *s;
  Chunk *c, *next;

  /* nothing in between: straight to the far heap's first */
  if (!q->in_ring)
    q->slot = slot_of (q->far.events[0].at_us) - 1;
  q->slot++;
  s = &q->ring[q->slot & SLOT_MASK];
  for (c = s->first; c; c = next) {
    guint i;

    next = c->next;
    for (i = 0; i < c->n; i++)
      heap_push (&q->near, &c->events[i]);
    q->in_ring -= c->n;
    c->next = q->spare;
    q->spare = c;
  }
  s->first = s->last = NULL;
  while (q->far.n && slot_of (q->far.events[0].at_us) - q->slot < N_SLOTS) {
    SwarmMemoryEvent ev;

    heap_pop (&q->far, &ev);
    place (q, &ev);
  }
}

/* ---- the queue ------------------------------------------------------------- */

SwarmMemoryEvents *
swarm_memory_events_new (void)
{
  return g_new0 (SwarmMemoryEvents, 1);
}

void
swarm_memory_events_free (SwarmMemoryEvents * q, GDestroyNotify free_datagram)
{
  guint i;

  if (!q)
    return;
  heap_clear (&q->near, free_datagram);
  heap_clear (&q->far, free_datagram);
  for (i = 0; i < N_SLOTS; i++) {
    Chunk *c, *next;

    for (c = q->ring[i].first; c; c = next) {
      guint j;

      next = c->next;
      for (j = 0; j < c->n; j++)
        free_datagram (c->events[j].datagram);
      g_free (c);
    }
  }
  while (q->spare) {
    Chunk *c = q->spare;

    q->spare = c->next;
    g_free (c);
  }
  g_free (q);
}

guint64
swarm_memory_events_length (SwarmMemoryEvents * q)
{
  return q->near.n + q->in_ring + q->far.n;
}

void
swarm_memory_events_push (SwarmMemoryEvents * q, const SwarmMemoryEvent * ev)
{
  /* empty: the heap's slot starts at the event's, however far on */
  if (swarm_memory_events_length (q) == 0)
    q->slot = slot_of (ev->at_us);
  place (q, ev);
}

const SwarmMemoryEvent *
swarm_memory_events_peek (SwarmMemoryEvents * q)
{
  while (q->near.n == 0 && (q->in_ring || q->far.n))
    advance (q);
  return q->near.n ? &q->near.events[0] : NULL;
}

const SwarmMemoryEvent *
swarm_memory_events_peek_next (SwarmMemoryEvents * q)
{
  const SwarmMemoryEvent *best = NULL;
  guint k;

  for (k = 1; k <= HEAP_ARITY && k < q->near.n; k++)
    if (!best || event_before (&q->near.events[k], best))
      best = &q->near.events[k];
  return best;
}

gboolean
swarm_memory_events_pop (SwarmMemoryEvents * q, SwarmMemoryEvent * first)
{
  if (!swarm_memory_events_peek (q))
    return FALSE;
  heap_pop (&q->near, first);
  return TRUE;
}

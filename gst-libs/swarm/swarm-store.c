/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-store.h"

typedef struct {
  guint64 seq;
  GBytes *bytes;
  SwarmSegmentFlags flags;
  gint64 added_us;
} StoreEntry;

/* The entries by seq: open addressing, linear probing, each slot holding
 * its seq beside its entry, so that a lookup (the scheduler asks for every
 * segment of its window, every partner's HAVE is checked) reads one cache
 * line, where a GHashTable of 64-bit keys read its hashes, its keys, and
 * the key each points at.  Seqs are consecutive: their low bits spread. */
typedef struct {
  guint64 seq;
  StoreEntry *entry;             /* NULL: free */
} StoreSlot;

struct _SwarmStore {
  SwarmClock *clock;             /* when each segment came */
  GMutex lock;
  StoreSlot *slots;
  guint n_slots;                 /* a power of two, at least twice n_entries */
  guint n_entries;
  GQueue order;                 /* StoreEntry* oldest first, for eviction */
  guint max_segments;
  gsize max_bytes;
  gsize n_bytes;
  guint64 evicted_below;        /* nothing older than this is accepted again */
};

static void
store_entry_free (StoreEntry * e)
{
  g_bytes_unref (e->bytes);
  g_free (e);
}

static guint
slot_home (SwarmStore * store, guint64 seq)
{
  return (guint) (seq ^ (seq >> 32)) & (store->n_slots - 1);
}

static StoreEntry *
store_lookup (SwarmStore * store, guint64 seq)
{
  guint i;

  for (i = slot_home (store, seq); store->slots[i].entry;
      i = (i + 1) & (store->n_slots - 1))
    if (store->slots[i].seq == seq)
      return store->slots[i].entry;
  return NULL;
}

static void
store_place (SwarmStore * store, StoreEntry * e)
{
  guint i = slot_home (store, e->seq);

  while (store->slots[i].entry)
    i = (i + 1) & (store->n_slots - 1);
  store->slots[i].seq = e->seq;
  store->slots[i].entry = e;
}

static void
store_insert (SwarmStore * store, StoreEntry * e)
{
  if (2 * (store->n_entries + 1) > store->n_slots) {
    StoreSlot *old = store->slots;
    guint i, n_old = store->n_slots;

    store->n_slots = MAX (64, 2 * n_old);
    store->slots = g_new0 (StoreSlot, store->n_slots);
    for (i = 0; i < n_old; i++)
      if (old[i].entry)
        store_place (store, old[i].entry);
    g_free (old);
  }
  store_place (store, e);
  store->n_entries++;
}

/* Takes @seq's entry out; the slots after it that probed past it move
 * back, so that no lookup stops short at the hole. */
static void
store_remove (SwarmStore * store, guint64 seq)
{
  guint mask = store->n_slots - 1, i = slot_home (store, seq), j;

  while (store->slots[i].seq != seq || !store->slots[i].entry)
    i = (i + 1) & mask;
  store->slots[i].entry = NULL;
  store->n_entries--;
  for (j = (i + 1) & mask; store->slots[j].entry; j = (j + 1) & mask) {
    guint home = slot_home (store, store->slots[j].seq);

    /* stays if its home lies cyclically in (i, j] */
    if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
      continue;
    store->slots[i] = store->slots[j];
    store->slots[j].entry = NULL;
    i = j;
  }
}

SwarmStore *
swarm_store_new (guint max_segments, gsize max_bytes)
{
  SwarmStore *store = g_new0 (SwarmStore, 1);

  store->clock = swarm_clock_get_system ();

  g_mutex_init (&store->lock);
  store->n_slots = 64;
  store->slots = g_new0 (StoreSlot, store->n_slots);
  g_queue_init (&store->order);
  store->max_segments = MAX (max_segments, 1);
  store->max_bytes = MAX (max_bytes, 1);
  return store;
}

void
swarm_store_free (SwarmStore * store)
{
  if (!store)
    return;
  g_queue_clear_full (&store->order, (GDestroyNotify) store_entry_free);
  g_free (store->slots);
  g_mutex_clear (&store->lock);
  swarm_clock_unref (store->clock);
  g_free (store);
}

static void
store_evict_locked (SwarmStore * store)
{
  while (store->order.length > 1 &&
      (store->order.length > store->max_segments
          || store->n_bytes > store->max_bytes)) {
    StoreEntry *e = g_queue_pop_head (&store->order);

    store->n_bytes -= g_bytes_get_size (e->bytes);
    store->evicted_below = MAX (store->evicted_below, e->seq + 1);
    store_remove (store, e->seq);
    store_entry_free (e);
  }
}

gboolean
swarm_store_add (SwarmStore * store, guint64 seq, SwarmSegmentFlags flags,
    GBytes * bytes)
{
  StoreEntry *e;

  g_mutex_lock (&store->lock);
  if (seq < store->evicted_below || store_lookup (store, seq)) {
    g_mutex_unlock (&store->lock);
    return FALSE;
  }
  e = g_new0 (StoreEntry, 1);
  e->seq = seq;
  e->bytes = g_bytes_ref (bytes);
  e->flags = flags;
  e->added_us = swarm_clock_now_us (store->clock);
  store_insert (store, e);
  /* kept sorted for eviction; segments come newest last, mostly, so the
   * walk starts there */
  {
    GList *after = store->order.tail;

    while (after && ((StoreEntry *) after->data)->seq > seq)
      after = after->prev;
    if (after)
      g_queue_insert_after (&store->order, after, e);
    else
      g_queue_push_head (&store->order, e);
  }
  store->n_bytes += g_bytes_get_size (bytes);
  store_evict_locked (store);
  g_mutex_unlock (&store->lock);
  return TRUE;
}

GBytes *
swarm_store_get_full (SwarmStore * store, guint64 seq, gint64 * added_us)
{
  StoreEntry *e;
  GBytes *bytes = NULL;

  g_mutex_lock (&store->lock);
  e = store_lookup (store, seq);
  if (e) {
    bytes = g_bytes_ref (e->bytes);
    if (added_us)
      *added_us = e->added_us;
  }
  g_mutex_unlock (&store->lock);
  return bytes;
}

GBytes *
swarm_store_get (SwarmStore * store, guint64 seq)
{
  return swarm_store_get_full (store, seq, NULL);
}

gboolean
swarm_store_has (SwarmStore * store, guint64 seq)
{
  gboolean has;

  g_mutex_lock (&store->lock);
  has = store_lookup (store, seq) != NULL;
  g_mutex_unlock (&store->lock);
  return has;
}

gboolean
swarm_store_get_flags (SwarmStore * store, guint64 seq,
    SwarmSegmentFlags * flags)
{
  StoreEntry *e;

  g_mutex_lock (&store->lock);
  e = store_lookup (store, seq);
  if (e && flags)
    *flags = e->flags;
  g_mutex_unlock (&store->lock);
  return e != NULL;
}

gboolean
swarm_store_get_range (SwarmStore * store, guint64 * oldest, guint64 * newest)
{
  gboolean any;

  g_mutex_lock (&store->lock);
  any = store->order.length > 0;
  if (any) {
    if (oldest)
      *oldest = ((StoreEntry *) g_queue_peek_head (&store->order))->seq;
    if (newest)
      *newest = ((StoreEntry *) g_queue_peek_tail (&store->order))->seq;
  }
  g_mutex_unlock (&store->lock);
  return any;
}

gboolean
swarm_store_find_newest (SwarmStore * store, guint64 after,
    SwarmSegmentFlags flags, guint64 * seq)
{
  GList *l;
  gboolean found = FALSE;

  g_mutex_lock (&store->lock);
  for (l = store->order.tail; l; l = l->prev) {
    StoreEntry *e = l->data;

    if (e->seq <= after)
      break;
    if ((e->flags & flags) == flags) {
      *seq = e->seq;
      found = TRUE;
      break;
    }
  }
  g_mutex_unlock (&store->lock);
  return found;
}

guint
swarm_store_get_n_segments (SwarmStore * store)
{
  guint n;

  g_mutex_lock (&store->lock);
  n = store->order.length;
  g_mutex_unlock (&store->lock);
  return n;
}

gsize
swarm_store_get_n_bytes (SwarmStore * store)
{
  gsize n;

  g_mutex_lock (&store->lock);
  n = store->n_bytes;
  g_mutex_unlock (&store->lock);
  return n;
}

void
swarm_store_set_clock (SwarmStore * store, SwarmClock * clock)
{
  swarm_clock_replace (&store->clock, clock);
}

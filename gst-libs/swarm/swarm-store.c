/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-store.h"

typedef struct {
  GBytes *bytes;
  SwarmSegmentFlags flags;
  gint64 added_us;
} StoreEntry;

struct _SwarmStore {
  SwarmClock *clock;             /* when each segment came */
  GMutex lock;
  GHashTable *entries;          /* guint64* seq -> StoreEntry* */
  GQueue order;                 /* seqs (guint64*) oldest first, for eviction */
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

SwarmStore *
swarm_store_new (guint max_segments, gsize max_bytes)
{
  SwarmStore *store = g_new0 (SwarmStore, 1);

  store->clock = swarm_clock_get_system ();

  g_mutex_init (&store->lock);
  store->entries = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      (GDestroyNotify) store_entry_free);
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
  g_queue_clear (&store->order);
  g_hash_table_destroy (store->entries);
  g_mutex_clear (&store->lock);
  swarm_clock_unref (store->clock);
  g_free (store);
}

static gint
compare_seq (gconstpointer a, gconstpointer b, gpointer unused)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

static void
store_evict_locked (SwarmStore * store)
{
  while (store->order.length > 1 &&
      (store->order.length > store->max_segments
          || store->n_bytes > store->max_bytes)) {
    guint64 *oldest = g_queue_pop_head (&store->order);
    StoreEntry *e = g_hash_table_lookup (store->entries, oldest);

    store->n_bytes -= g_bytes_get_size (e->bytes);
    store->evicted_below = MAX (store->evicted_below, *oldest + 1);
    /* the hash table owns the key: this frees @oldest too */
    g_hash_table_remove (store->entries, oldest);
  }
}

gboolean
swarm_store_add (SwarmStore * store, guint64 seq, SwarmSegmentFlags flags,
    GBytes * bytes)
{
  StoreEntry *e;
  guint64 *key;

  g_mutex_lock (&store->lock);
  if (seq < store->evicted_below
      || g_hash_table_contains (store->entries, &seq)) {
    g_mutex_unlock (&store->lock);
    return FALSE;
  }
  e = g_new0 (StoreEntry, 1);
  e->bytes = g_bytes_ref (bytes);
  e->flags = flags;
  e->added_us = swarm_clock_now_us (store->clock);
  key = g_new (guint64, 1);
  *key = seq;
  g_hash_table_insert (store->entries, key, e);
  /* kept sorted for eviction; segments come newest last, mostly, so the
   * walk starts there */
  {
    GList *after = store->order.tail;

    while (after && compare_seq (after->data, key, NULL) > 0)
      after = after->prev;
    if (after)
      g_queue_insert_after (&store->order, after, key);
    else
      g_queue_push_head (&store->order, key);
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
  e = g_hash_table_lookup (store->entries, &seq);
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
  has = g_hash_table_contains (store->entries, &seq);
  g_mutex_unlock (&store->lock);
  return has;
}

gboolean
swarm_store_get_flags (SwarmStore * store, guint64 seq,
    SwarmSegmentFlags * flags)
{
  StoreEntry *e;

  g_mutex_lock (&store->lock);
  e = g_hash_table_lookup (store->entries, &seq);
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
      *oldest = *(guint64 *) g_queue_peek_head (&store->order);
    if (newest)
      *newest = *(guint64 *) g_queue_peek_tail (&store->order);
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
    guint64 s = *(guint64 *) l->data;
    StoreEntry *e;

    if (s <= after)
      break;
    e = g_hash_table_lookup (store->entries, &s);
    if (e && (e->flags & flags) == flags) {
      *seq = s;
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

/* The segment store: verified, encoded segments by sequence number, inside
 * a sliding window so memory stays bounded however long the stream runs.
 * Thread-safe: the network thread adds, elements read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-segment.h"
#include "swarm-clock.h"

G_BEGIN_DECLS

typedef struct _SwarmStore SwarmStore;

/* Keeps at most @max_segments segments and @max_bytes bytes: the oldest go first. */
SwarmStore *swarm_store_new (guint max_segments, gsize max_bytes);
/* Where the arrival times come from (default: the system clock). */
void swarm_store_set_clock (SwarmStore * store, SwarmClock * clock);
void swarm_store_free (SwarmStore * store);

/* Takes a ref on @bytes.  Returns FALSE if @seq is already held or older
 * than the window. */
gboolean swarm_store_add (SwarmStore * store, guint64 seq,
    SwarmSegmentFlags flags, GBytes * bytes);
/* New ref, or NULL. */
GBytes *swarm_store_get (SwarmStore * store, guint64 seq);
/* Same, also telling when it was added (g_get_monotonic_time). */
GBytes *swarm_store_get_full (SwarmStore * store, guint64 seq,
    gint64 * added_us);
gboolean swarm_store_has (SwarmStore * store, guint64 seq);
gboolean swarm_store_get_flags (SwarmStore * store, guint64 seq,
    SwarmSegmentFlags * flags);
/* FALSE if empty. */
gboolean swarm_store_get_range (SwarmStore * store, guint64 * oldest,
    guint64 * newest);
guint swarm_store_get_n_segments (SwarmStore * store);
/* The newest segment held after @after with every flag of @flags set;
 * visits only what is held (newest first). */
gboolean swarm_store_find_newest (SwarmStore * store, guint64 after,
    SwarmSegmentFlags flags, guint64 * seq);
gsize swarm_store_get_n_bytes (SwarmStore * store);

G_END_DECLS

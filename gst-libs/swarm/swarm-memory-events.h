/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The in-memory net's queue of events in flight (swarm-link-memory.c):
 * datagrams and link events, served in (time, order).  Internal.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 32 bytes: copied in and out whole, with no allocation of its own. */
typedef struct {
  gint64 at_us;
  guint64 order;                 /* ties at one time: the first queued first */
  gpointer datagram;             /* owned by the net */
  guint32 endpoint;
  guint32 kind;
} SwarmMemoryEvent;

typedef struct _SwarmMemoryEvents SwarmMemoryEvents;

SwarmMemoryEvents *swarm_memory_events_new (void);
/* @free_datagram is called on each datagram still queued */
void swarm_memory_events_free (SwarmMemoryEvents * q,
    GDestroyNotify free_datagram);
void swarm_memory_events_push (SwarmMemoryEvents * q,
    const SwarmMemoryEvent * ev);
/* The first event, or NULL if none is queued. */
const SwarmMemoryEvent *swarm_memory_events_peek (SwarmMemoryEvents * q);
/* The one after the first, if it is known without work (for prefetching),
 * or NULL. */
const SwarmMemoryEvent *swarm_memory_events_peek_next (SwarmMemoryEvents * q);
/* Takes the first event out into @first; FALSE if none is queued. */
gboolean swarm_memory_events_pop (SwarmMemoryEvents * q,
    SwarmMemoryEvent * first);
guint64 swarm_memory_events_length (SwarmMemoryEvents * q);

G_END_DECLS

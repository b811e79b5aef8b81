/* Signalling through partners: descriptions (offers and answers) cut into
 * SIGNAL datagrams and put back together, so peers can connect through a
 * common partner while every tracker is unreachable (PEX).  Pure logic;
 * library-internal.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-wire.h"

G_BEGIN_DECLS

/* Cuts @text into SIGNAL messages; calls @send for each (the message
 * points into @text).  FALSE if the text needs too many fragments. */
gboolean swarm_relay_split (const gchar * to, const gchar * from,
    const gchar * offer_id, SwarmSignalKind kind, const gchar * text,
    void (*send) (const SwarmMessage * msg, gpointer user_data),
    gpointer user_data);

typedef struct _SwarmRelayAssembler SwarmRelayAssembler;

/* Bounded: at most @max_pending descriptions in progress, each dropped if
 * not complete within @timeout_us. */
SwarmRelayAssembler *swarm_relay_assembler_new (guint max_pending,
    gint64 timeout_us);
void swarm_relay_assembler_free (SwarmRelayAssembler * a);
/* Adds a fragment addressed to us; returns the whole description text
 * (free it) once the last fragment is in, else NULL. */
gchar *swarm_relay_assembler_add (SwarmRelayAssembler * a,
    const SwarmMessage * msg, gint64 now_us);
void swarm_relay_assembler_expire (SwarmRelayAssembler * a, gint64 now_us);

G_END_DECLS

/* Sequence numbers a publisher never reuses, across restarts and clock
 * steps.
 *
 * A segment is known by its sequence number: a viewer holding segment N
 * of the stream takes any validly signed segment N as the same one.  So a
 * publisher must never number two segments alike, even when it restarts
 * on the same key with its clock stepped back.  Numbers start from the
 * wall clock in milliseconds (a restart normally lands far past the old
 * run, one segment taking longer than a millisecond), and, where the
 * publisher has a key file, from past a reservation kept beside it: before
 * using numbers up to N the publisher writes N down, a block at a time, so
 * that a restart starts after N whatever the clock says.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

/* Numbers reserved at once: one write per this many segments. */
#define SWARM_SEQUENCE_BLOCK 10000

typedef struct _SwarmSequence SwarmSequence;

/* @path (nullable): the reservation file (p2psink uses KEY-FILE.seq); NULL
 * numbers from the clock alone.  @now_real_us: the wall clock.  An
 * unreadable or corrupt file is an error: numbering from the clock alone
 * could reuse numbers, and the caller should say so. */
SWARM_PRIVATE_API SwarmSequence *swarm_sequence_new (const gchar * path,
    gint64 now_real_us, GError ** error);
SWARM_PRIVATE_API void swarm_sequence_free (SwarmSequence * sq);
/* The first number this run uses. */
SWARM_PRIVATE_API guint64 swarm_sequence_first (SwarmSequence * sq);
/* About to use @seq: extends the reservation (writing the file) when
 * @seq reaches it.  FALSE (and @error) if the file cannot be written; the
 * number may still be used, but a restart could reuse it. */
SWARM_PRIVATE_API gboolean swarm_sequence_use (SwarmSequence * sq, guint64 seq,
    GError ** error);

G_END_DECLS

/* What a program that drives sessions on its own contexts needs beyond
 * the public API: a simulator running thousands of viewers in one thread
 * on virtual time (tools/sim), where nothing may block and nothing may
 * move time for the others.
 *
 *  - A viewer's waits (swarm_session_wait_segment() and the rest) block on
 *    a condition variable.  A driver that cannot block asks them with a
 *    deadline in the past instead, and is told when to ask again: the wake
 *    notify is called whenever a wait may have its answer.
 *  - Which partner each segment came from, for a picture of the tree the
 *    stream takes; and the segments' bytes kept once for all viewers.
 *  - swarm_session_stop() on the caller's context runs that context until
 *    the goodbyes are out, moving virtual time.  stop_begin() only starts
 *    it; the driver goes on running every context, and the session is
 *    stopped once swarm_session_is_stopped() says so.
 *
 * Internal to the library (not exported).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-session.h"

G_BEGIN_DECLS

/* @notify (nullable) is called on the network thread, with the session's
 * lock held, each time a waiter may have its answer: a segment stored, a
 * newer segment or keyframe announced, an EDGE, a failure, flushing.  It
 * must not call into the session. */
void swarm_session_set_wake_notify (SwarmSession * s,
    void (*notify) (gpointer data), gpointer data);

/* @notify (nullable) is called on the network thread each time a viewer
 * has stored a verified segment it received: its number and the partner
 * whose chunk completed it (how the simulator follows the path each
 * segment took, hop by hop). */
void swarm_session_set_segment_notify (SwarmSession * s,
    void (*notify) (guint64 seq, const gchar * from_peer_id, gpointer data),
    gpointer data);

/* @intern (nullable) is given each verified segment a viewer received,
 * before it is stored, and returns the bytes to keep (a reference): the
 * same bytes held once for thousands of viewers in one process, where
 * each would otherwise keep its own copy of every segment in its store
 * (600 of them: 15 MB at 1 Mbit/s).  It must return bytes equal to
 * @bytes. */
void swarm_session_set_segment_intern (SwarmSession * s,
    GBytes * (*intern) (guint64 seq, GBytes * bytes, gpointer data),
    gpointer data);

/* A started session on the caller's context (network_context given):
 * flushing, links closed, goodbyes to the trackers sent; returns at once.
 * The caller keeps iterating the contexts; swarm_session_stop() and
 * swarm_session_free() wait only for what is still outstanding. */
void swarm_session_stop_begin (SwarmSession * s);
/* Nothing more runs on its context (never started, or the goodbyes are
 * out). */
gboolean swarm_session_is_stopped (SwarmSession * s);

G_END_DECLS

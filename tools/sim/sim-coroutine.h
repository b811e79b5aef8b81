/* p2p-sim: coroutines, so that each simulated viewer runs the real,
 * blocking playout policy (swarm_viewer_next) on one thread.
 *
 * A coroutine runs on a stack of its own until it yields; resuming it
 * carries on from there.  Only one runs at a time and only when the
 * simulator resumes it, so a run is the same for a seed, with no lock and
 * no thread per viewer (see sim-feed.c for how a viewer's waits yield).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SimCoroutine SimCoroutine;

/* @func(@data) runs on the coroutine's stack at the first resume. */
SimCoroutine *sim_coroutine_new (void (*func) (gpointer data), gpointer data);
/* Runs @co until it yields or its function returns.  Not from inside a
 * coroutine. */
void sim_coroutine_resume (SimCoroutine * co);
/* From inside a coroutine: back to whoever resumed it. */
void sim_coroutine_yield (void);
/* The coroutine running now, or NULL. */
SimCoroutine *sim_coroutine_current (void);
gboolean sim_coroutine_is_done (SimCoroutine * co);
/* Only a coroutine whose function returned, or that never ran. */
void sim_coroutine_free (SimCoroutine * co);

G_END_DECLS

/* An in-memory message pipe standing in for a tracker's WebSocket: what a
 * "memory://NAME/announce" tracker client and a tracker server listening
 * in memory (swarm_tracker_server_listen_memory) talk over, so that a
 * whole swarm, its tracker included, runs in one thread on virtual time.
 *
 * Text messages arrive in order after the pipe's one-way delay, on the
 * swarm's clock.  Opening costs what a WebSocket's does (a TCP handshake,
 * then the HTTP upgrade: two round trips): what is sent before that
 * leaves once the pipe is open.  Closing is a handshake as in WebSocket: the other end
 * hears "closed" one delay later, the closing end two.
 *
 * Internal to the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "swarm-clock.h"

G_BEGIN_DECLS

typedef struct _SwarmTrackerPipe SwarmTrackerPipe;

typedef struct {
  void (*message) (SwarmTrackerPipe * pipe, const gchar * data, gsize len,
      gpointer user_data);
  /* the pipe is closed (either end closed it); no more messages */
  void (*closed) (SwarmTrackerPipe * pipe, gpointer user_data);
} SwarmTrackerPipeCallbacks;

void swarm_tracker_pipe_new_pair (SwarmClock * clock, GMainContext * context,
    guint delay_ms, SwarmTrackerPipe ** a, SwarmTrackerPipe ** b);
/* The same, end @a on @clock_a's time served in @context_a, end @b on
 * @clock_b's in @context_b: each end touched by its owner's thread alone,
 * what goes from one clock to the other by mail (swarm_clock_post), so
 * the delay must outlast the driver's window.  Made on @a's thread.
 * Mail in flight holds the pair, and the pair both clocks: the driver
 * takes and runs the clocks' mail to the end before it drops them. */
void swarm_tracker_pipe_new_pair_across (SwarmClock * clock_a,
    GMainContext * context_a, SwarmClock * clock_b, GMainContext * context_b,
    guint delay_ms, SwarmTrackerPipe ** a, SwarmTrackerPipe ** b);
void swarm_tracker_pipe_set_callbacks (SwarmTrackerPipe * pipe,
    const SwarmTrackerPipeCallbacks * callbacks, gpointer user_data);
gboolean swarm_tracker_pipe_is_open (SwarmTrackerPipe * pipe);
/* FALSE if closed or closing. */
gboolean swarm_tracker_pipe_send (SwarmTrackerPipe * pipe, const gchar * text);
void swarm_tracker_pipe_close (SwarmTrackerPipe * pipe);
/* Closes if open; no callback is invoked on this end afterwards. */
void swarm_tracker_pipe_free (SwarmTrackerPipe * pipe);

/* The client end of a new connection to the tracker listening in memory
 * under @url's name (swarm_tracker_server_listen_memory); NULL if none or
 * it is full.  Defined in swarm-tracker-server.c. */
SwarmTrackerPipe *swarm_tracker_server_connect_memory (const gchar * url,
    SwarmClock * clock, GMainContext * context, GError ** error);

G_END_DECLS

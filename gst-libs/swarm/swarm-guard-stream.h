/* An input stream that shows every chunk read from a connection to a
 * check first, and fails the read (and every later one) when the check
 * says no.  The embedded tracker wraps each accepted TCP connection in one
 * before handing it to libsoup, so it sees what each client sends before
 * libsoup buffers or reassembles it (swarm-ws-scan.h).  Its output side
 * counts what reaches the socket: the rest of what the tracker handed
 * libsoup waits in libsoup's queue, which nothing else bounds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* @len 0 is the end of the stream.  Runs on the thread reading (for the
 * tracker, the thread-default context libsoup was started on). */
typedef gboolean (*SwarmGuardCheckFunc) (gpointer user_data,
    const guint8 * data, gsize len, GError ** error);

/* @len bytes went to the socket. */
typedef void (*SwarmGuardWroteFunc) (gpointer user_data, gsize len);

#define SWARM_TYPE_GUARD_INPUT_STREAM swarm_guard_input_stream_get_type ()
G_DECLARE_FINAL_TYPE (SwarmGuardInputStream, swarm_guard_input_stream,
    SWARM, GUARD_INPUT_STREAM, GFilterInputStream)

#define SWARM_TYPE_GUARD_OUTPUT_STREAM swarm_guard_output_stream_get_type ()
G_DECLARE_FINAL_TYPE (SwarmGuardOutputStream, swarm_guard_output_stream,
    SWARM, GUARD_OUTPUT_STREAM, GFilterOutputStream)

/* A GIOStream reading through a guard (@check) and writing to @base's
 * output, telling @wrote (NULL: nobody) what was written; closing it
 * closes @base.  @input_out (transfer none) is its input. */
GIOStream *swarm_guard_stream_new (GIOStream * base,
    SwarmGuardCheckFunc check, SwarmGuardWroteFunc wrote, gpointer user_data,
    SwarmGuardInputStream ** input_out);
/* No more calls to the check or to wrote: their user data is going away. */
void swarm_guard_input_stream_detach (SwarmGuardInputStream * in);
/* Every read from now fails; a reader waiting for data is woken by
 * shutting the socket down (when @base is a GSocketConnection). */
void swarm_guard_input_stream_kill (SwarmGuardInputStream * in);

G_END_DECLS

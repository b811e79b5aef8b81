/* See swarm-guard-stream.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-guard-stream.h"

struct _SwarmGuardInputStream {
  GFilterInputStream parent;
  GIOStream *base;
  SwarmGuardCheckFunc check;
  gpointer user_data;
  gboolean killed;
};

static void swarm_guard_pollable_init (GPollableInputStreamInterface * iface);

G_DEFINE_TYPE_WITH_CODE (SwarmGuardInputStream, swarm_guard_input_stream,
    G_TYPE_FILTER_INPUT_STREAM,
    G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
        swarm_guard_pollable_init));

static GInputStream *
base_input (SwarmGuardInputStream * self)
{
  return g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (self));
}

static gboolean
refuse_killed (SwarmGuardInputStream * self, GError ** error)
{
  if (!self->killed)
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
      "connection closed by the tracker");
  return TRUE;
}

static gssize
checked (SwarmGuardInputStream * self, gpointer buffer, gssize n,
    GError ** error)
{
  if (n < 0 || self->check == NULL)
    return n;
  if (!self->check (self->user_data, buffer, n, error)) {
    self->killed = TRUE;
    return -1;
  }
  return n;
}

static gssize
guard_read (GInputStream * stream, void *buffer, gsize count,
    GCancellable * cancellable, GError ** error)
{
  SwarmGuardInputStream *self = SWARM_GUARD_INPUT_STREAM (stream);

  if (refuse_killed (self, error))
    return -1;
  return checked (self, buffer, g_input_stream_read (base_input (self),
          buffer, count, cancellable, error), error);
}

static gboolean
guard_close (GInputStream * stream, GCancellable * cancellable,
    GError ** error)
{
  SwarmGuardInputStream *self = SWARM_GUARD_INPUT_STREAM (stream);
  gboolean ok;

  ok = G_INPUT_STREAM_CLASS (swarm_guard_input_stream_parent_class)->close_fn
      (stream, cancellable, error);
  /* The base's input alone does not close its socket. */
  if (!g_io_stream_close (self->base, cancellable, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

static gboolean
guard_can_poll (GPollableInputStream * stream)
{
  GInputStream *base = base_input (SWARM_GUARD_INPUT_STREAM (stream));

  return G_IS_POLLABLE_INPUT_STREAM (base)
      && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (base));
}

static gboolean
guard_is_readable (GPollableInputStream * stream)
{
  SwarmGuardInputStream *self = SWARM_GUARD_INPUT_STREAM (stream);

  return self->killed
      || g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM
      (base_input (self)));
}

static GSource *
guard_create_source (GPollableInputStream * stream, GCancellable * cancellable)
{
  SwarmGuardInputStream *self = SWARM_GUARD_INPUT_STREAM (stream);
  GSource *base_source, *source;

  base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM
      (base_input (self)), NULL);
  source = g_pollable_source_new_full (stream, base_source, cancellable);
  g_source_unref (base_source);
  return source;
}

static gssize
guard_read_nonblocking (GPollableInputStream * stream, void *buffer,
    gsize count, GError ** error)
{
  SwarmGuardInputStream *self = SWARM_GUARD_INPUT_STREAM (stream);

  if (refuse_killed (self, error))
    return -1;
  return checked (self, buffer,
      g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM
          (base_input (self)), buffer, count, NULL, error), error);
}

static void
guard_dispose (GObject * object)
{
  SwarmGuardInputStream *self = SWARM_GUARD_INPUT_STREAM (object);

  G_OBJECT_CLASS (swarm_guard_input_stream_parent_class)->dispose (object);
  g_clear_object (&self->base);
}

static void
swarm_guard_pollable_init (GPollableInputStreamInterface * iface)
{
  iface->can_poll = guard_can_poll;
  iface->is_readable = guard_is_readable;
  iface->create_source = guard_create_source;
  iface->read_nonblocking = guard_read_nonblocking;
}

static void
swarm_guard_input_stream_class_init (SwarmGuardInputStreamClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->dispose = guard_dispose;
  input_class->read_fn = guard_read;
  input_class->close_fn = guard_close;
}

static void
swarm_guard_input_stream_init (SwarmGuardInputStream * self)
{
}

GIOStream *
swarm_guard_stream_new (GIOStream * base, SwarmGuardCheckFunc check,
    gpointer user_data, SwarmGuardInputStream ** input_out)
{
  SwarmGuardInputStream *in;
  GIOStream *io;

  in = g_object_new (SWARM_TYPE_GUARD_INPUT_STREAM,
      "base-stream", g_io_stream_get_input_stream (base), NULL);
  in->base = g_object_ref (base);
  in->check = check;
  in->user_data = user_data;
  io = g_simple_io_stream_new (G_INPUT_STREAM (in),
      g_io_stream_get_output_stream (base));
  g_object_unref (in);
  if (input_out)
    *input_out = in;
  return io;
}

void
swarm_guard_input_stream_detach (SwarmGuardInputStream * in)
{
  in->check = NULL;
  in->user_data = NULL;
}

void
swarm_guard_input_stream_kill (SwarmGuardInputStream * in)
{
  in->killed = TRUE;
  if (G_IS_SOCKET_CONNECTION (in->base))
    g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION
            (in->base)), TRUE, TRUE, NULL);
}

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
  struct _SwarmGuardOutputStream *output;      /* its twin */
};

struct _SwarmGuardOutputStream {
  GFilterOutputStream parent;
  SwarmGuardWroteFunc wrote;
  gpointer user_data;
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
  g_clear_object (&self->output);
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

/* ---- the output side: counts what reaches the socket ---------------- */

static void swarm_guard_pollable_output_init (GPollableOutputStreamInterface *
    iface);

G_DEFINE_TYPE_WITH_CODE (SwarmGuardOutputStream, swarm_guard_output_stream,
    G_TYPE_FILTER_OUTPUT_STREAM,
    G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
        swarm_guard_pollable_output_init));

static GOutputStream *
base_output (SwarmGuardOutputStream * self)
{
  return g_filter_output_stream_get_base_stream (G_FILTER_OUTPUT_STREAM
      (self));
}

static gssize
counted (SwarmGuardOutputStream * self, gssize n)
{
  if (n > 0 && self->wrote)
    self->wrote (self->user_data, n);
  return n;
}

static gssize
guard_write (GOutputStream * stream, const void *buffer, gsize count,
    GCancellable * cancellable, GError ** error)
{
  SwarmGuardOutputStream *self = SWARM_GUARD_OUTPUT_STREAM (stream);

  return counted (self, g_output_stream_write (base_output (self), buffer,
          count, cancellable, error));
}

static gboolean
guard_can_poll_output (GPollableOutputStream * stream)
{
  GOutputStream *base = base_output (SWARM_GUARD_OUTPUT_STREAM (stream));

  return G_IS_POLLABLE_OUTPUT_STREAM (base)
      && g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (base));
}

static gboolean
guard_is_writable (GPollableOutputStream * stream)
{
  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM
      (base_output (SWARM_GUARD_OUTPUT_STREAM (stream))));
}

static GSource *
guard_create_output_source (GPollableOutputStream * stream,
    GCancellable * cancellable)
{
  GSource *base_source, *source;

  base_source = g_pollable_output_stream_create_source
      (G_POLLABLE_OUTPUT_STREAM (base_output (SWARM_GUARD_OUTPUT_STREAM
              (stream))), NULL);
  source = g_pollable_source_new_full (stream, base_source, cancellable);
  g_source_unref (base_source);
  return source;
}

static gssize
guard_write_nonblocking (GPollableOutputStream * stream, const void *buffer,
    gsize count, GError ** error)
{
  SwarmGuardOutputStream *self = SWARM_GUARD_OUTPUT_STREAM (stream);

  return counted (self,
      g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM
          (base_output (self)), buffer, count, NULL, error));
}

static void
swarm_guard_pollable_output_init (GPollableOutputStreamInterface * iface)
{
  iface->can_poll = guard_can_poll_output;
  iface->is_writable = guard_is_writable;
  iface->create_source = guard_create_output_source;
  iface->write_nonblocking = guard_write_nonblocking;
}

static void
swarm_guard_output_stream_class_init (SwarmGuardOutputStreamClass * klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = guard_write;
}

static void
swarm_guard_output_stream_init (SwarmGuardOutputStream * self)
{
}

GIOStream *
swarm_guard_stream_new (GIOStream * base, SwarmGuardCheckFunc check,
    SwarmGuardWroteFunc wrote, gpointer user_data,
    SwarmGuardInputStream ** input_out)
{
  SwarmGuardInputStream *in;
  SwarmGuardOutputStream *out;
  GIOStream *io;

  in = g_object_new (SWARM_TYPE_GUARD_INPUT_STREAM,
      "base-stream", g_io_stream_get_input_stream (base), NULL);
  in->base = g_object_ref (base);
  in->check = check;
  in->user_data = user_data;
  out = g_object_new (SWARM_TYPE_GUARD_OUTPUT_STREAM,
      "base-stream", g_io_stream_get_output_stream (base), NULL);
  out->wrote = wrote;
  out->user_data = user_data;
  in->output = g_object_ref (out);
  io = g_simple_io_stream_new (G_INPUT_STREAM (in), G_OUTPUT_STREAM (out));
  g_object_unref (in);
  g_object_unref (out);
  if (input_out)
    *input_out = in;
  return io;
}

void
swarm_guard_input_stream_detach (SwarmGuardInputStream * in)
{
  in->check = NULL;
  in->user_data = NULL;
  if (in->output) {
    in->output->wrote = NULL;
    in->output->user_data = NULL;
  }
}

void
swarm_guard_input_stream_kill (SwarmGuardInputStream * in)
{
  in->killed = TRUE;
  if (G_IS_SOCKET_CONNECTION (in->base))
    g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION
            (in->base)), TRUE, TRUE, NULL);
}

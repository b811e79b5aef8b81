/* libFuzzer target for the embedded tracker's WebSocket reader
 * (swarm-ws.c), which sees every byte a client sends the tracker, and the
 * upgrade response it writes.  Beyond not crashing: what the reader hands
 * out (events and their bytes) and the verdict must not depend on how the
 * bytes are split into reads, and what it says it holds never passes its
 * bounds.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>

#include "swarm/swarm-ws.h"

int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

/* Small bounds, so inputs reach them. */
#define MAX_HEAD 256
#define MAX_MESSAGE 1024

typedef struct {
  gboolean ok;
  GChecksum *events;            /* every event and its bytes, in order */
  guint n_events;
  gsize held;
  gboolean in_frames;
} Outcome;

static void
take_events (SwarmWsReader * r, Outcome * o)
{
  for (;;) {
    GError *error = NULL;
    const guint8 *bytes;
    gsize len;
    SwarmWsEvent ev = swarm_ws_reader_next (r, &bytes, &len, &error);
    guint8 tag = ev;

    if (ev == SWARM_WS_NEED_MORE)
      return;
    if (ev == SWARM_WS_ERROR) {
      g_assert (error != NULL);
      g_error_free (error);
      o->ok = FALSE;
      return;
    }
    g_assert (error == NULL);
    if (ev == SWARM_WS_HEAD) {
      GByteArray *response = g_byte_array_new ();

      g_assert (len <= MAX_HEAD);
      swarm_ws_respond_upgrade (bytes, len, "fuzz", response);
      g_assert (response->len > 0);
      g_byte_array_unref (response);
    } else if (ev == SWARM_WS_TEXT || ev == SWARM_WS_BINARY) {
      g_assert (len <= MAX_MESSAGE);
    } else {
      g_assert (len <= 125);
    }
    o->n_events++;
    g_checksum_update (o->events, &tag, 1);
    g_checksum_update (o->events, (const guchar *) &len, sizeof (len));
    if (len)
      g_checksum_update (o->events, bytes, len);
  }
}

/* Feeds @data in chunks of @step bytes (the last may be shorter), each
 * no larger than the reader takes, taking every event after each. */
static Outcome
run (const guint8 * data, gsize size, gsize step)
{
  SwarmWsReader r;
  Outcome o = { TRUE, g_checksum_new (G_CHECKSUM_SHA256), 0, 0, FALSE };
  gsize off = 0;

  swarm_ws_reader_init (&r, MAX_HEAD, MAX_MESSAGE);
  while (off < size && o.ok) {
    gsize n = MIN (swarm_ws_reader_get_room (&r, step), size - off);
    GError *error = NULL;

    g_assert (n > 0);
    if (!swarm_ws_reader_feed (&r, data + off, n, &error)) {
      g_assert (error != NULL);
      g_error_free (error);
      o.ok = FALSE;
      break;
    }
    off += n;
    take_events (&r, &o);
    g_assert (swarm_ws_reader_get_held (&r) <= MAX (MAX_HEAD, MAX_MESSAGE));
  }
  o.held = swarm_ws_reader_get_held (&r);
  o.in_frames = swarm_ws_reader_in_frames (&r);
  swarm_ws_reader_clear (&r);
  return o;
}

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  Outcome whole, split;
  gsize step;

  if (size < 1)
    return 0;
  /* the first byte picks the second run's read size */
  step = 1 + data[0] % 7;
  data++;
  size--;

  whole = run (data, size, size ? size : 1);
  split = run (data, size, step);
  g_assert (whole.ok == split.ok);
  if (whole.ok) {
    g_assert (whole.n_events == split.n_events);
    g_assert (g_strcmp0 (g_checksum_get_string (whole.events),
            g_checksum_get_string (split.events)) == 0);
    g_assert (whole.held == split.held);
    g_assert (whole.in_frames == split.in_frames);
  }
  g_checksum_free (whole.events);
  g_checksum_free (split.events);
  return 0;
}

/* libFuzzer target for the tracker's request-head and WebSocket frame
 * scanner (swarm-ws-scan.c), which sees every byte a client sends the
 * embedded tracker.  Beyond not crashing: the verdict and the counts must
 * not depend on how the bytes are split into reads, and what the scanner
 * says is held never passes its bounds.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>

#include "swarm/swarm-ws-scan.h"

int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

/* Small bounds, so inputs reach them. */
#define MAX_HEAD 256
#define MAX_MESSAGE 1024

typedef struct {
  gboolean ok;
  gsize failed_at;              /* the chunk end where it failed */
  gsize held;
  gboolean in_frames;
  guint64 n_messages;
} Outcome;

/* Feeds @data in chunks of @step bytes (the last may be shorter). */
static Outcome
run (const guint8 * data, gsize size, gsize step)
{
  SwarmWsScan scan;
  Outcome o = { TRUE, 0, 0, FALSE, 0 };
  gsize off = 0;

  swarm_ws_scan_init (&scan, MAX_HEAD, MAX_MESSAGE);
  while (off < size) {
    gsize n = MIN (step, size - off);
    GError *error = NULL;

    if (!swarm_ws_scan_feed (&scan, data + off, n, &error)) {
      g_assert (error != NULL);
      g_error_free (error);
      o.ok = FALSE;
      o.failed_at = off;
      break;
    }
    off += n;
    g_assert (swarm_ws_scan_get_held (&scan) <= MAX (MAX_HEAD, MAX_MESSAGE));
  }
  o.held = swarm_ws_scan_get_held (&scan);
  o.in_frames = swarm_ws_scan_in_frames (&scan);
  o.n_messages = swarm_ws_scan_get_n_messages (&scan);
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
    g_assert (whole.held == split.held);
    g_assert (whole.in_frames == split.in_frames);
    g_assert (whole.n_messages == split.n_messages);
  }
  return 0;
}

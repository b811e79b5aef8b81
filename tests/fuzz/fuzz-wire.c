/* libFuzzer target for the peer datagram parser: whatever parses must
 * write back to the same bytes and parse again.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <swarm/swarm-internal.h>

#include "fuzz-log.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (NULL, NULL);
  swarm_init ();
  fuzz_log_set_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  SwarmMessage msg, again;
  guint8 out[SWARM_WIRE_MAX_DATAGRAM];
  gsize len;

  if (!swarm_wire_parse (data, size, &msg, NULL))
    return 0;

  /* Parsing is strict and the writer canonical, so a datagram that parses
   * is exactly what we would have written. */
  len = swarm_wire_write (&msg, out, sizeof (out));
  g_assert_cmpuint (len, ==, size);
  g_assert_true (memcmp (out, data, size) == 0);
  g_assert_true (swarm_wire_parse (out, len, &again, NULL));
  g_assert_cmpint (again.type, ==, msg.type);
  return 0;
}

/* libFuzzer target for sealed descriptions (private swarms): whatever a
 * stranger puts in an offer or answer reaches swarm_secret_open.  What
 * opens must be text that seals and opens back to itself.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <swarm/swarm-internal.h>
#include "fuzz-log.h"

/* The seeds in corpus/sealed were sealed with this secret and key. */
#define FUZZ_SECRET "fuzz-3f9c1a7e5b2d8064c1e9a7f3b5d2"
#define FUZZ_KEY_BYTE 0x5a

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

static SwarmSecret *secret;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN];

  fuzz_log_set_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (NULL, NULL);
  swarm_init ();
  memset (key, FUZZ_KEY_BYTE, sizeof key);
  secret = swarm_secret_new (FUZZ_SECRET, key, NULL);
  g_assert_nonnull (secret);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  gchar *text = g_strndup ((const gchar *) data, size);
  GError *error = NULL;
  gchar *opened, *resealed, *again;

  (void) swarm_secret_is_refusal (text);
  opened = swarm_secret_open (secret, text, &error);
  if (!opened) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == SWARM_SECRET_ERROR);
    g_error_free (error);
    g_free (text);
    return 0;
  }
  g_assert_true (swarm_secret_is_sealed (text));
  g_assert_true (g_utf8_validate (opened, -1, NULL));
  resealed = swarm_secret_seal (secret, opened);
  again = swarm_secret_open (secret, resealed, NULL);
  g_assert_cmpstr (again, ==, opened);
  g_free (again);
  g_free (resealed);
  g_free (opened);
  g_free (text);
  return 0;
}

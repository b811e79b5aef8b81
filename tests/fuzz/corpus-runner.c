/* Replays a fuzz target's seed corpus without libFuzzer, so the ordinary
 * build and CI run every target's entry point over every seed (a crash or
 * an assertion in a target fails the test).  For real fuzzing build with
 * -Dfuzzing=true; see README.
 *
 *   corpus-runner DIR...
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);
/* Targets that need set-up define it; the others get this weak default. */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

int
main (int argc, char **argv)
{
  guint files = 0;
  int i;

  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize (&argc, &argv);
  for (i = 1; i < argc; i++) {
    GDir *dir = g_dir_open (argv[i], 0, NULL);
    const gchar *name;

    if (!dir) {
      fprintf (stderr, "cannot open corpus %s\n", argv[i]);
      return 1;
    }
    while ((name = g_dir_read_name (dir))) {
      gchar *path = g_build_filename (argv[i], name, NULL);
      gchar *data;
      gsize len;

      if (g_file_get_contents (path, &data, &len, NULL)) {
        LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
        g_free (data);
        files++;
      }
      g_free (path);
    }
    g_dir_close (dir);
  }
  printf ("replayed %u inputs\n", files);
  return files > 0 ? 0 : 1;
}

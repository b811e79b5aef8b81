/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "swarm-sequence.h"

struct _SwarmSequence {
  gchar *path;
  guint64 first;
  guint64 reserved;             /* numbers up to here are written down */
};

static gboolean
sequence_write (SwarmSequence * sq, guint64 upto, GError ** error)
{
  gchar text[32];

  g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT "\n", upto);
  /* g_file_set_contents writes a new file and renames it over the old:
   * a crash leaves the old reservation or the new, never half of one */
  if (!g_file_set_contents (sq->path, text, -1, error))
    return FALSE;
  sq->reserved = upto;
  return TRUE;
}

SwarmSequence *
swarm_sequence_new (const gchar * path, gint64 now_real_us, GError ** error)
{
  SwarmSequence *sq = g_new0 (SwarmSequence, 1);
  guint64 from_clock = (guint64) MAX (now_real_us, 0) / 1000;
  gchar *text = NULL;
  GError *local = NULL;

  sq->first = from_clock;
  if (!path)
    return sq;
  sq->path = g_strdup (path);
  if (g_file_get_contents (path, &text, NULL, &local)) {
    gchar *end = NULL;
    guint64 reserved;

    errno = 0;
    reserved = g_ascii_strtoull (text, &end, 10);
    if (errno || end == text || (*end && *end != '\n') || reserved == G_MAXUINT64) {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
          "sequence reservation %s is corrupt", path);
      g_free (text);
      swarm_sequence_free (sq);
      return NULL;
    }
    g_free (text);
    sq->first = MAX (from_clock, reserved + 1);
  } else if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_propagate_error (error, local);
    swarm_sequence_free (sq);
    return NULL;
  }
  g_clear_error (&local);
  return sq;
}

void
swarm_sequence_free (SwarmSequence * sq)
{
  if (!sq)
    return;
  g_free (sq->path);
  g_free (sq);
}

guint64
swarm_sequence_first (SwarmSequence * sq)
{
  return sq->first;
}

gboolean
swarm_sequence_use (SwarmSequence * sq, guint64 seq, GError ** error)
{
  if (!sq->path || (sq->reserved && seq <= sq->reserved))
    return TRUE;
  return sequence_write (sq, seq + SWARM_SEQUENCE_BLOCK, error);
}

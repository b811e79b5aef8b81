/* --trace: GStreamer's debug log, readable for a whole swarm.
 *
 * The default log line carries the wall clock, a thread and an object's
 * address, none of which says anything in a simulation: every participant
 * runs on one thread, on virtual time.  A traced line says when it
 * happened on the virtual clock and who said it ("O" the origin, "V12"
 * viewer 12), and every peer id in the message is replaced by that name,
 * so one viewer's story is a grep:
 *
 *   1012.440 V13  swarm-session:on_peer_closed partner V9 closed: ...
 *
 * GST_DEBUG still chooses the categories and levels.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <string.h>

/* a peer id: "-GP0100-" and 12 characters of [A-Za-z0-9]
 * (swarm-identity.c) */
#define PEER_ID_LEN 20

static gboolean
is_id_char (gchar c)
{
  return g_ascii_isalnum (c) || c == '-';
}

/* @text with every peer id the simulation knows replaced by its name. */
static gchar *
name_peers (Sim * sim, const gchar * text)
{
  GString *out = g_string_sized_new (strlen (text));
  const gchar *p = text;

  while (*p) {
    gsize run = 0;

    while (is_id_char (p[run]))
      run++;
    if (run == PEER_ID_LEN) {
      gchar id[PEER_ID_LEN + 1];
      gpointer value;

      memcpy (id, p, PEER_ID_LEN);
      id[PEER_ID_LEN] = '\0';
      if (g_hash_table_lookup_extended (sim->ids_by_peer, id, NULL, &value)) {
        g_string_append_printf (out, GPOINTER_TO_INT (value) ? "V%d" : "O",
            GPOINTER_TO_INT (value));
        p += run;
        continue;
      }
    }
    if (run == 0)
      run = 1;
    g_string_append_len (out, p, run);
    p += run;
  }
  return g_string_free (out, FALSE);
}

static void
trace_log (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer data)
{
  Sim *sim = data;
  const gchar *who = NULL;
  gchar *text;

  if (level > gst_debug_category_get_threshold (category))
    return;
  if (object)
    who = g_hash_table_lookup (sim->trace_names, object);
  text = name_peers (sim, gst_debug_message_get (message));
  g_printerr ("%10.3f %-4s %s:%s %s\n", swarm_clock_now_us (sim_current_clock (sim)) / 1e6,
      who ? who : "-", gst_debug_category_get_name (category), function,
      text);
  g_free (text);
}

void
sim_trace_install (Sim * sim)
{
  sim->trace_names = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (trace_log, sim, NULL);
}

void
sim_trace_uninstall (Sim * sim)
{
  if (!sim->trace_names)
    return;
  gst_debug_remove_log_function (trace_log);
  gst_debug_add_log_function (gst_debug_log_default, NULL, NULL);
  g_clear_pointer (&sim->trace_names, g_hash_table_destroy);
}

void
sim_trace_name (Sim * sim, gpointer object, gint id)
{
  if (!sim->trace_names)
    return;
  g_hash_table_insert (sim->trace_names, object,
      id ? g_strdup_printf ("V%d", id) : g_strdup ("O"));
}

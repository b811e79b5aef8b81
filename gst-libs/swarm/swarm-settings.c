/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-settings.h"
#include "swarm-private.h"

#define GST_CAT_DEFAULT swarm_debug

guint
swarm_settings_clamp (GstElement * element, GPtrArray * warnings,
    const gchar * name, guint value, guint min, guint max)
{
  guint used = CLAMP (value, min, max);

  if (used != value) {
    gchar *text = g_strdup_printf (_("Property “%s” set to %u, out of "
            "its range %u-%u: using %u."), name, value, min, max, used);

    GST_WARNING_OBJECT (element, "%s", text);
    g_ptr_array_add (warnings, text);
  }
  return used;
}

void
swarm_settings_post_warnings (GstElement * element, GPtrArray ** warnings)
{
  GPtrArray *texts;

  GST_OBJECT_LOCK (element);
  texts = *warnings;
  *warnings = g_ptr_array_new_with_free_func (g_free);
  GST_OBJECT_UNLOCK (element);
  for (guint i = 0; i < texts->len; i++)
    GST_ELEMENT_WARNING (element, RESOURCE, SETTINGS, ("%s",
            (const gchar *) g_ptr_array_index (texts, i)), (NULL));
  g_ptr_array_unref (texts);
}

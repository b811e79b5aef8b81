/* Numeric element properties set out of range.  GObject refuses such a
 * value with a note on stderr and keeps the old one, so that
 * `gst-launch-1.0 p2psrc latency=70000` played at 500 ms and nothing
 * said so on the bus.  The elements declare 0..G_MAXUINT, clamp here, and
 * warn on the bus at start (a set_property has no bus to post to yet).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "swarm-prelude.h"

G_BEGIN_DECLS

/* @value of property @name clamped into @min..@max; a value out of range
 * is remembered in @warnings (gchar*) for swarm_settings_post_warnings().
 * Call with the element's object lock held. */
SWARM_PRIVATE_API guint swarm_settings_clamp (GstElement * element,
    GPtrArray * warnings, const gchar * name, guint value, guint min,
    guint max);
/* Posts, as RESOURCE SETTINGS warnings, what *@warnings holds, once: it
 * takes the object lock to swap in an empty array. */
SWARM_PRIVATE_API void swarm_settings_post_warnings (GstElement * element,
    GPtrArray ** warnings);

G_END_DECLS

/* Library-internal helpers shared by the swarm's .c files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <glib/gi18n-lib.h>
#include "swarm-internal.h"

/* One debug category per part ("swarm-link", "swarm-peer", ...;
 * GST_DEBUG=swarm*:5 shows them all); "swarm" has the rest (keys,
 * segments, wire, settings). */
GST_DEBUG_CATEGORY_EXTERN (swarm_debug);
GST_DEBUG_CATEGORY_EXTERN (swarm_link_debug);
GST_DEBUG_CATEGORY_EXTERN (swarm_dtls_debug);
GST_DEBUG_CATEGORY_EXTERN (swarm_peer_debug);
GST_DEBUG_CATEGORY_EXTERN (swarm_session_debug);
GST_DEBUG_CATEGORY_EXTERN (swarm_tracker_debug);

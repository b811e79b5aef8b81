/* gst-p2p swarm library: export macro and shared includes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#ifdef BUILDING_GST_SWARM
#define SWARM_API __attribute__ ((visibility ("default"))) extern
#else
#define SWARM_API extern
#endif

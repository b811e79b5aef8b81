/* gst-p2p swarm library: export macros and shared includes.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef GST_USE_UNSTABLE_API
#pragma message ("The swarm library from gst-p2p is unstable API and may change before 1.0.")
#pragma message ("You can define GST_USE_UNSTABLE_API to avoid this warning.")
#endif

#include <glib-object.h>

/* The library is built with -fvisibility=hidden: only what is marked below
 * is exported from libgstswarm-1.0 (docs/design.md, "Public and internal
 * API").
 *
 * SWARM_API: the public API, in the installed headers.
 * SWARM_PRIVATE_API: for our plugins and tools only; declared in headers
 *   that are not installed, may change at any time.
 * SWARM_TEST_API: only for the element tests that run the plugins in the
 *   same process and so must use the shared library; not installed.
 * Anything else is internal: the library's own tests and the fuzzers reach
 * it by linking the static gstswarm-internal library. */
#ifdef BUILDING_GST_SWARM
#define SWARM_API __attribute__ ((visibility ("default"))) extern
#else
#define SWARM_API extern
#endif
#define SWARM_PRIVATE_API SWARM_API
#define SWARM_TEST_API SWARM_API

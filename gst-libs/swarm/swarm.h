/* gst-p2p swarm library: umbrella header of the public API.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-clock.h"
#include "swarm-identity.h"
#include "swarm-uri.h"
#include "swarm-segment.h"
#include "swarm-scheduler.h"
#include "swarm-session.h"
#include "swarm-peer-info.h"
#include "swarm-enumtypes.h"

G_BEGIN_DECLS

/* Binds the translation domain and debug categories; idempotent, thread-safe. */
SWARM_API void swarm_init (void);

G_END_DECLS

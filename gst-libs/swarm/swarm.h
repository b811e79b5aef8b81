/* gst-p2p swarm library: umbrella header.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-clock.h"
#include "swarm-wire.h"
#include "swarm-identity.h"
#include "swarm-uri.h"
#include "swarm-segment.h"
#include "swarm-dtls.h"
#include "swarm-link.h"
#include "swarm-link-memory.h"
#include "swarm-tracker.h"
#include "swarm-store.h"
#include "swarm-scheduler.h"
#include "swarm-segmenter.h"
#include "swarm-playout.h"
#include "swarm-congestion.h"
#include "swarm-secret.h"
#include "swarm-edge.h"
#include "swarm-sequence.h"
#include "swarm-settings.h"
#include "swarm-session.h"
#include "swarm-feed.h"
#include "swarm-viewer.h"
#include "swarm-peer-info.h"
#include "swarm-enumtypes.h"

G_BEGIN_DECLS

/* Binds the translation domain and debug categories; idempotent, thread-safe. */
SWARM_API void swarm_init (void);

G_END_DECLS

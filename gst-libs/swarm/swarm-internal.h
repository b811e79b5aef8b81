/* gst-p2p swarm library: every header, public and internal.  For the
 * library's own sources (through swarm-private.h), its tests and fuzzers,
 * and the plugins; not installed.  Applications use swarm.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm.h"
#include "swarm-wire.h"
#include "swarm-dtls.h"
#include "swarm-link.h"
#include "swarm-link-memory.h"
#include "swarm-tracker.h"
#include "swarm-store.h"
#include "swarm-segmenter.h"
#include "swarm-playout.h"
#include "swarm-congestion.h"
#include "swarm-secret.h"
#include "swarm-edge.h"
#include "swarm-sequence.h"
#include "swarm-settings.h"
#include "swarm-feed.h"
#include "swarm-viewer.h"
#include "swarm-bans.h"
#include "swarm-session-driver.h"

/* How many Ed25519 checks swarm_identity_verify() has run for @id (the
 * rest were answered by its cache of verified signatures). */
guint swarm_identity_get_full_checks (SwarmIdentity * id);

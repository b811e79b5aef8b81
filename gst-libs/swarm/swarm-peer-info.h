/* SwarmPeerInfo: what an application may know of one partner of a
 * session (GstSwarm.PeerInfo from bindings).
 *
 * The session creates one when a partner's link is ready, passes it with
 * SwarmSession::peer-added, refreshes it with every stats round and passes
 * the same object with SwarmSession::peer-removed when the partner is
 * gone.  Its properties are read-only and safe to read from any thread;
 * they are as fresh as the session's stats-interval.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "swarm-prelude.h"

G_BEGIN_DECLS

#define SWARM_TYPE_PEER_INFO (swarm_peer_info_get_type ())
/* exported (G_DECLARE_FINAL_TYPE's own declaration is not) */
#ifndef __GI_SCANNER__
SWARM_API GType swarm_peer_info_get_type (void);
#endif
G_DECLARE_FINAL_TYPE (SwarmPeerInfo, swarm_peer_info, SWARM, PEER_INFO,
    GObject)

/**
 * swarm_peer_info_get_id:
 * @info: a #SwarmPeerInfo
 *
 * Returns: (transfer none): the partner's peer id (20 characters).
 */
SWARM_API const gchar *swarm_peer_info_get_id (SwarmPeerInfo * info);

/**
 * swarm_peer_info_get_stats:
 * @info: a #SwarmPeerInfo
 *
 * The partner's latest "peer" stats structure, the one listed in the
 * session's "peer-stats" (fields in docs/stats.md).
 *
 * Returns: (transfer full): a copy of the structure.
 */
SWARM_API GstStructure *swarm_peer_info_get_stats (SwarmPeerInfo * info);

/**
 * swarm_peer_info_is_connected:
 * @info: a #SwarmPeerInfo
 *
 * Returns: FALSE once the partner is gone (after SwarmSession::peer-removed).
 */
SWARM_API gboolean swarm_peer_info_is_connected (SwarmPeerInfo * info);

/* For the session (library-internal: not exported, not introspected). */
#ifdef BUILDING_GST_SWARM
SwarmPeerInfo *swarm_peer_info_new (const gchar * id,
    const GstStructure * stats);
void swarm_peer_info_update (SwarmPeerInfo * info,
    const GstStructure * stats);
void swarm_peer_info_set_disconnected (SwarmPeerInfo * info);
#endif

G_END_DECLS

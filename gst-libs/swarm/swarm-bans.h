/* Who is kept away: partners by peer id for a while after they lied or
 * sent forged data, and addresses that had several partners banned within
 * that while (a peer id costs nothing to make up; an address does).
 *
 * Pure state on the swarm's clock, owned by the session's network thread;
 * no locking.  Internal to the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "swarm-clock.h"

G_BEGIN_DECLS

/* A banned partner is not taken back for this long. */
#define SWARM_BAN_US (60 * G_USEC_PER_SEC)
/* Honest viewers behind the same NAT as a hostile one share the cost of
 * an address ban, which is why it takes several strikes. */
#define SWARM_BAN_ADDRESS_STRIKES 3
/* Addresses remembered at most (a flood of ids from new addresses cannot
 * grow the table past it). */
#define SWARM_BAN_ADDRESSES_MAX 4096

typedef struct _SwarmBans SwarmBans;

SwarmBans *swarm_bans_new (SwarmClock * clock);
void swarm_bans_free (SwarmBans * bans);

gboolean swarm_bans_is_banned (SwarmBans * bans, const gchar * peer_id);
/* @ip without the port; NULL is never banned. */
gboolean swarm_bans_address_is_banned (SwarmBans * bans, const gchar * ip);
/* Keeps @peer_id away for SWARM_BAN_US and strikes @ip (nullable).  TRUE if
 * this strike put the address itself away. */
gboolean swarm_bans_ban (SwarmBans * bans, const gchar * peer_id,
    const gchar * ip);
/* Forgets what expired by @now. */
void swarm_bans_prune (SwarmBans * bans, gint64 now);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Bans, the session's side: what partners and links to keep away, asked
 * of the bans module (swarm-bans.h, which owns that state), and counted
 * for the stats.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

/* The IP a partner's link came from ("ip:port" without the port), or
 * NULL before ICE chose a pair. */
static gchar *
peer_remote_ip (SwarmPeer * p)
{
  gchar *addr = swarm_link_get_remote_address (swarm_peer_get_link (p));
  gchar *colon = addr ? strrchr (addr, ':') : NULL;

  if (colon)
    *colon = '\0';
  return addr;
}

gboolean
session_is_banned (SwarmSession * s, const gchar * id)
{
  return swarm_bans_is_banned (s->bans, id);
}

gboolean
session_address_is_banned (SwarmSession * s, SwarmPeer * p)
{
  g_autofree gchar *ip = peer_remote_ip (p);

  return swarm_bans_address_is_banned (s->bans, ip);
}

/* Keeps peer @id away for SWARM_BAN_US; @p (nullable): its link, whose
 * address takes a strike.  Counted for the stats. */
void
session_ban (SwarmSession * s, const gchar * id, SwarmPeer * p)
{
  g_autofree gchar *ip = p ? peer_remote_ip (p) : NULL;
  gboolean address_banned = swarm_bans_ban (s->bans, id, ip);

  g_mutex_lock (&s->lock);
  s->counters.peers_banned++;
  if (address_banned)
    s->counters.address_bans++;
  g_mutex_unlock (&s->lock);
}

/* Forgets expired bans and old PEX attempts. */
void
session_prune (SwarmSession * s, gint64 now)
{
  swarm_bans_prune (s->bans, now);
  session_pex_prune (s, now);
}

/* Every partner that sent a chunk of a segment that failed verification is
 * cut off and kept away for a while: a forger cannot hide among honest
 * senders of the same segment for long, and honest ones reconnect later. */
void
session_ban_contributors (SwarmSession * s, Transfer * t)
{
  guint i;

  for (i = 0; t->contributors && i < t->contributors->len; i++) {
    const gchar *id = g_ptr_array_index (t->contributors, i);
    PeerEntry *e = session_find_partner (s, id, NULL);

    session_ban (s, id, e ? e->peer : NULL);
    if (e)
      swarm_peer_close (e->peer);
  }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Bans: partners that lied or sent forged data are kept away by id, and
 * repeated bans from one address keep the address away (strikes).  Owns
 * the @banned and @strikes tables.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

gboolean
session_is_banned (SwarmSession * s, const gchar * id)
{
  gint64 *until = id ? g_hash_table_lookup (s->banned, id) : NULL;

  return until && *until > swarm_clock_now_us (s->clock);
}

typedef struct {
  guint strikes;                /* bans within BAN_US of each other */
  gint64 last_us;               /* the latest */
  gint64 until_us;              /* the address is kept away until then */
} AddressStrikes;

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
session_address_is_banned (SwarmSession * s, SwarmPeer * p)
{
  g_autofree gchar *ip = peer_remote_ip (p);
  AddressStrikes *a = ip ? g_hash_table_lookup (s->strikes, ip) : NULL;

  return a && a->until_us > swarm_clock_now_us (s->clock);
}

static void
session_strike_address (SwarmSession * s, SwarmPeer * p)
{
  gchar *ip = peer_remote_ip (p);
  gint64 now = swarm_clock_now_us (s->clock);
  AddressStrikes *a;

  if (!ip)
    return;
  a = g_hash_table_lookup (s->strikes, ip);
  if (!a) {
    if (g_hash_table_size (s->strikes) >= ADDRESS_STRIKES_MAX) {
      g_free (ip);
      return;
    }
    a = g_new0 (AddressStrikes, 1);
    g_hash_table_insert (s->strikes, g_strdup (ip), a);
  }
  if (now - a->last_us > BAN_US)
    a->strikes = 0;
  a->strikes++;
  a->last_us = now;
  if (a->strikes >= ADDRESS_BAN_STRIKES && a->until_us <= now) {
    GST_WARNING ("%u partners from %s banned in %u s: keeping the address "
        "away", a->strikes, ip, (guint) (BAN_US / G_USEC_PER_SEC));
    a->until_us = now + BAN_US;
    g_mutex_lock (&s->lock);
    s->address_bans++;
    g_mutex_unlock (&s->lock);
  }
  g_free (ip);
}

/* Keeps peer @id away for BAN_US; @p (nullable): its link, whose address
 * takes a strike. */
void
session_ban (SwarmSession * s, const gchar * id, SwarmPeer * p)
{
  gint64 *until = g_new (gint64, 1);

  *until = swarm_clock_now_us (s->clock) + BAN_US;
  g_hash_table_insert (s->banned, g_strdup (id), until);
  g_mutex_lock (&s->lock);
  s->peers_banned++;
  g_mutex_unlock (&s->lock);
  if (p)
    session_strike_address (s, p);
}

/* Forgets expired bans and old PEX attempts. */
void
session_prune (SwarmSession * s, gint64 now)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->banned);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (*(gint64 *) value <= now)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, s->pex_tried);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (now - *(gint64 *) value >= PEX_RETRY_US)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, s->strikes);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    AddressStrikes *a = value;
    if (now - a->last_us > BAN_US && a->until_us <= now)
      g_hash_table_iter_remove (&it);
  }
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

/* Bans by peer id and strikes by address (swarm-bans.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm.h"
#include "swarm-bans.h"
#include "swarm-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

typedef struct {
  guint strikes;                /* bans within SWARM_BAN_US of each other */
  gint64 last_us;               /* the latest */
  gint64 until_us;              /* the address is kept away until then */
} AddressStrikes;

struct _SwarmBans {
  SwarmClock *clock;
  GHashTable *banned;           /* peer id -> gint64* until */
  GHashTable *strikes;          /* IP -> AddressStrikes* */
};

SwarmBans *
swarm_bans_new (SwarmClock * clock)
{
  SwarmBans *bans;

  swarm_init ();                /* the debug category */
  bans = g_new0 (SwarmBans, 1);
  bans->clock = swarm_clock_ref (clock);
  bans->banned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  bans->strikes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  return bans;
}

void
swarm_bans_free (SwarmBans * bans)
{
  if (!bans)
    return;
  g_hash_table_destroy (bans->banned);
  g_hash_table_destroy (bans->strikes);
  swarm_clock_unref (bans->clock);
  g_free (bans);
}

gboolean
swarm_bans_is_banned (SwarmBans * bans, const gchar * peer_id)
{
  gint64 *until = peer_id ? g_hash_table_lookup (bans->banned, peer_id) :
      NULL;

  return until && *until > swarm_clock_now_us (bans->clock);
}

gboolean
swarm_bans_address_is_banned (SwarmBans * bans, const gchar * ip)
{
  AddressStrikes *a = ip ? g_hash_table_lookup (bans->strikes, ip) : NULL;

  return a && a->until_us > swarm_clock_now_us (bans->clock);
}

static gboolean
strike_address (SwarmBans * bans, const gchar * ip, gint64 now)
{
  AddressStrikes *a = g_hash_table_lookup (bans->strikes, ip);

  if (!a) {
    if (g_hash_table_size (bans->strikes) >= SWARM_BAN_ADDRESSES_MAX)
      return FALSE;
    a = g_new0 (AddressStrikes, 1);
    g_hash_table_insert (bans->strikes, g_strdup (ip), a);
  }
  if (now - a->last_us > SWARM_BAN_US)
    a->strikes = 0;
  a->strikes++;
  a->last_us = now;
  if (a->strikes < SWARM_BAN_ADDRESS_STRIKES || a->until_us > now)
    return FALSE;
  GST_WARNING ("%u partners from %s banned in %u s: keeping the address "
      "away", a->strikes, ip, (guint) (SWARM_BAN_US / G_USEC_PER_SEC));
  a->until_us = now + SWARM_BAN_US;
  return TRUE;
}

gboolean
swarm_bans_ban (SwarmBans * bans, const gchar * peer_id, const gchar * ip)
{
  gint64 now = swarm_clock_now_us (bans->clock);
  gint64 *until = g_new (gint64, 1);

  *until = now + SWARM_BAN_US;
  g_hash_table_insert (bans->banned, g_strdup (peer_id), until);
  return ip ? strike_address (bans, ip, now) : FALSE;
}

void
swarm_bans_prune (SwarmBans * bans, gint64 now)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, bans->banned);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (*(gint64 *) value <= now)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, bans->strikes);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    AddressStrikes *a = value;

    if (now - a->last_us > SWARM_BAN_US && a->until_us <= now)
      g_hash_table_iter_remove (&it);
  }
}

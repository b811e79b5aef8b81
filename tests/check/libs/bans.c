/* Bans (swarm-bans.h) on a virtual clock: a banned id comes back after
 * SWARM_BAN_US and not before; strikes put an address away only when
 * SWARM_BAN_ADDRESS_STRIKES come within SWARM_BAN_US of each other; the
 * table of addresses stays bounded however many strangers strike.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm.h>
#include <swarm/swarm-bans.h>

#define START (100 * G_USEC_PER_SEC)

GST_START_TEST (test_ban_expires)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  SwarmBans *bans = swarm_bans_new (clock);

  fail_if (swarm_bans_is_banned (bans, "peer-a"));
  fail_if (swarm_bans_ban (bans, "peer-a", NULL));
  fail_unless (swarm_bans_is_banned (bans, "peer-a"));
  fail_if (swarm_bans_is_banned (bans, "peer-b"));
  fail_if (swarm_bans_is_banned (bans, NULL));
  swarm_clock_advance_to (clock, START + SWARM_BAN_US - 1);
  fail_unless (swarm_bans_is_banned (bans, "peer-a"));
  swarm_clock_advance_to (clock, START + SWARM_BAN_US);
  fail_if (swarm_bans_is_banned (bans, "peer-a"));
  swarm_bans_free (bans);
  swarm_clock_unref (clock);
}

GST_END_TEST;

GST_START_TEST (test_strikes_ban_an_address)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  SwarmBans *bans = swarm_bans_new (clock);
  guint i;

  /* two strikes: ids away, the address not */
  fail_if (swarm_bans_ban (bans, "id-1", "192.0.2.7"));
  fail_if (swarm_bans_ban (bans, "id-2", "192.0.2.7"));
  fail_if (swarm_bans_address_is_banned (bans, "192.0.2.7"));
  /* the third within SWARM_BAN_US: the address too, once */
  swarm_clock_advance_to (clock, START + SWARM_BAN_US / 2);
  fail_unless (swarm_bans_ban (bans, "id-3", "192.0.2.7"));
  fail_unless (swarm_bans_address_is_banned (bans, "192.0.2.7"));
  fail_if (swarm_bans_address_is_banned (bans, "192.0.2.8"));
  fail_if (swarm_bans_address_is_banned (bans, NULL));
  fail_if (swarm_bans_ban (bans, "id-4", "192.0.2.7"));
  swarm_clock_advance_to (clock, START + SWARM_BAN_US / 2 + SWARM_BAN_US);
  fail_if (swarm_bans_address_is_banned (bans, "192.0.2.7"));

  /* strikes further apart than SWARM_BAN_US never add up */
  for (i = 0; i < 5; i++) {
    gchar *id = g_strdup_printf ("slow-%u", i);

    swarm_clock_advance_to (clock, swarm_clock_now_us (clock) + SWARM_BAN_US
        + 1);
    fail_if (swarm_bans_ban (bans, id, "198.51.100.1"));
    g_free (id);
  }
  fail_if (swarm_bans_address_is_banned (bans, "198.51.100.1"));
  swarm_bans_free (bans);
  swarm_clock_unref (clock);
}

GST_END_TEST;

GST_START_TEST (test_addresses_bounded_and_pruned)
{
  SwarmClock *clock = swarm_clock_new_virtual (START, 0);
  SwarmBans *bans = swarm_bans_new (clock);
  guint i;

  /* a flood of strangers, each from a new address */
  for (i = 0; i < SWARM_BAN_ADDRESSES_MAX + 100; i++) {
    gchar *id = g_strdup_printf ("stranger-%u", i);
    gchar *ip = g_strdup_printf ("10.%u.%u.%u", i >> 16, (i >> 8) & 255,
        i & 255);

    swarm_bans_ban (bans, id, ip);
    g_free (id);
    g_free (ip);
  }
  /* addresses past the bound take no strike: three bans there do nothing */
  for (i = 0; i < SWARM_BAN_ADDRESS_STRIKES; i++) {
    gchar *id = g_strdup_printf ("late-%u", i);

    fail_if (swarm_bans_ban (bans, id, "203.0.113.9"));
    g_free (id);
  }
  fail_if (swarm_bans_address_is_banned (bans, "203.0.113.9"));
  /* once they expire, pruning makes room again */
  swarm_clock_advance_to (clock, START + 2 * SWARM_BAN_US + 1);
  swarm_bans_prune (bans, swarm_clock_now_us (clock));
  fail_if (swarm_bans_is_banned (bans, "stranger-0"));
  for (i = 0; i < SWARM_BAN_ADDRESS_STRIKES; i++) {
    gchar *id = g_strdup_printf ("later-%u", i);

    swarm_bans_ban (bans, id, "203.0.113.9");
    g_free (id);
  }
  fail_unless (swarm_bans_address_is_banned (bans, "203.0.113.9"));
  swarm_bans_free (bans);
  swarm_clock_unref (clock);
}

GST_END_TEST;

static Suite *
bans_suite (void)
{
  Suite *s = suite_create ("bans");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_ban_expires);
  tcase_add_test (tc, test_strikes_ban_an_address);
  tcase_add_test (tc, test_addresses_bounded_and_pruned);
  return s;
}

GST_CHECK_MAIN (bans);

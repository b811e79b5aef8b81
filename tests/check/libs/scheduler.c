/* The default scheduler's decisions, on hand-made swarm snapshots.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

/* A fake partner: holds the segments in [first, last]. */
typedef struct {
  guint64 first, last;
} Holding;

static gboolean
holding_has (gconstpointer peer, guint64 seq)
{
  const Holding *h = peer;
  return seq >= h->first && seq <= h->last;
}

static SwarmSchedPeer
make_peer (const Holding * h, gboolean origin, guint in_flight, guint max,
    gdouble rate_bps)
{
  SwarmSchedPeer p = { 0 };

  p.is_origin = origin;
  p.in_flight = in_flight;
  p.max_in_flight = max;
  p.rate_bps = rate_bps;
  p.rtt_us = 10000;
  p.has = holding_has;
  p.peer = h;
  return p;
}

static GArray *
run (const guint64 * wanted, guint n_wanted, guint n_urgent,
    const SwarmSchedPeer * peers, guint n_peers)
{
  const SwarmSchedulerClass *klass = swarm_scheduler_default_get_class ();
  gpointer self = klass->create ();
  SwarmSchedView view = { 0 };
  GArray *out = g_array_new (FALSE, FALSE, sizeof (SwarmSchedRequest));

  view.wanted = wanted;
  view.n_wanted = n_wanted;
  view.n_urgent = n_urgent;
  view.segment_bytes = 25000;
  view.peers = peers;
  view.n_peers = n_peers;
  klass->schedule (self, &view, out);
  klass->destroy (self);
  return out;
}

#define REQ(out, i) (g_array_index ((out), SwarmSchedRequest, (i)))

GST_START_TEST (test_urgent_before_rare)
{
  /* three partners; 12 is held by one only (rare), 10 and 11 by all */
  Holding all = { 10, 11 }, rare = { 10, 12 };
  SwarmSchedPeer peers[3];
  guint64 wanted[] = { 10, 11, 12 };
  GArray *out;

  peers[0] = make_peer (&all, FALSE, 0, 1, 1e6);
  peers[1] = make_peer (&all, FALSE, 0, 1, 1e6);
  peers[2] = make_peer (&rare, FALSE, 0, 1, 1e6);

  /* 10 is urgent: asked first; then the rare 12 before the common 11 */
  out = run (wanted, 3, 1, peers, 3);
  fail_unless_equals_int (out->len, 3);
  fail_unless_equals_uint64 (REQ (out, 0).seq, 10);
  fail_unless_equals_uint64 (REQ (out, 1).seq, 12);
  fail_unless_equals_int (REQ (out, 1).peer_index, 2);
  fail_unless_equals_uint64 (REQ (out, 2).seq, 11);
  /* the rare holder was kept free for the rare segment */
  fail_unless (REQ (out, 0).peer_index != 2);
  g_array_unref (out);

  /* with everything urgent, plain playout order */
  out = run (wanted, 3, 3, peers, 3);
  fail_unless_equals_uint64 (REQ (out, 0).seq, 10);
  fail_unless_equals_uint64 (REQ (out, 1).seq, 11);
  g_array_unref (out);
}

GST_END_TEST;

GST_START_TEST (test_origin_last_resort)
{
  Holding origin_holds = { 0, 100 }, viewer_holds = { 0, 50 };
  SwarmSchedPeer peers[2];
  guint64 w1[] = { 40 }, w2[] = { 60 }, w3[] = { 45 };
  GArray *out;

  peers[0] = make_peer (&origin_holds, TRUE, 0, 4, 50e6);
  peers[1] = make_peer (&viewer_holds, FALSE, 0, 4, 1e5);

  /* a viewer holds it: the viewer, even though the origin is faster */
  out = run (w1, 1, 1, peers, 2);
  fail_unless_equals_int (out->len, 1);
  fail_unless_equals_int (REQ (out, 0).peer_index, 1);
  g_array_unref (out);

  /* nobody but the origin holds it: the origin */
  out = run (w2, 1, 0, peers, 2);
  fail_unless_equals_int (out->len, 1);
  fail_unless_equals_int (REQ (out, 0).peer_index, 0);
  g_array_unref (out);

  /* the viewer is saturated: wait for it unless the segment is urgent */
  peers[1].in_flight = 4;
  out = run (w3, 1, 0, peers, 2);
  fail_unless_equals_int (out->len, 0);
  g_array_unref (out);
  out = run (w3, 1, 1, peers, 2);
  fail_unless_equals_int (out->len, 1);
  fail_unless_equals_int (REQ (out, 0).peer_index, 0);
  g_array_unref (out);
}

GST_END_TEST;

GST_START_TEST (test_slow_peer_abandoned)
{
  Holding h = { 0, 10 };
  SwarmSchedPeer peers[2];
  guint64 wanted[] = { 5 };
  GArray *out;

  peers[0] = make_peer (&h, FALSE, 0, 4, 10e6);
  peers[1] = make_peer (&h, FALSE, 0, 4, 1e6);
  peers[0].slow = TRUE;         /* fast on paper, but it just stalled */

  out = run (wanted, 1, 1, peers, 2);
  fail_unless_equals_int (out->len, 1);
  fail_unless_equals_int (REQ (out, 0).peer_index, 1);
  g_array_unref (out);

  /* still better than nothing when it is the only holder */
  peers[1].in_flight = 4;
  out = run (wanted, 1, 1, peers, 2);
  fail_unless_equals_int (out->len, 1);
  fail_unless_equals_int (REQ (out, 0).peer_index, 0);
  g_array_unref (out);
}

GST_END_TEST;

GST_START_TEST (test_spread_by_throughput)
{
  Holding h = { 0, 100 };
  SwarmSchedPeer peers[2];
  guint64 wanted[8];
  guint i, to_fast = 0;
  GArray *out;

  for (i = 0; i < 8; i++)
    wanted[i] = i;
  peers[0] = make_peer (&h, FALSE, 0, 8, 8e6);
  peers[1] = make_peer (&h, FALSE, 0, 8, 2e6);
  out = run (wanted, 8, 2, peers, 2);
  fail_unless_equals_int (out->len, 8);
  for (i = 0; i < out->len; i++)
    if (REQ (out, i).peer_index == 0)
      to_fast++;
  /* expected-delivery balancing (4x the rate, same RTT): 7 to 1 */
  fail_unless (to_fast >= 6, "fast partner got %u of 8", to_fast);
  fail_unless (to_fast < 8, "slow partner got nothing");
  g_array_unref (out);
}

GST_END_TEST;

static Suite *
scheduler_suite (void)
{
  Suite *s = suite_create ("scheduler");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_urgent_before_rare);
  tcase_add_test (tc, test_origin_last_resort);
  tcase_add_test (tc, test_slow_peer_abandoned);
  tcase_add_test (tc, test_spread_by_throughput);
  return s;
}

GST_CHECK_MAIN (scheduler);

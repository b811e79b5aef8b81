/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include "swarm-scheduler.h"

/* The default policy keeps no state between passes. */
static gpointer
stateless_create (void)
{
  return GINT_TO_POINTER (1);
}

static void
stateless_destroy (gpointer self)
{
}

typedef struct {
  guint64 seq;
  guint holders;                /* viewers holding it */
} Candidate;

static gint
by_rarity (gconstpointer a, gconstpointer b)
{
  const Candidate *x = a, *y = b;

  if (x->holders != y->holders)
    return x->holders < y->holders ? -1 : 1;
  return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* An urgent segment is due within a few hundred milliseconds: a viewer
 * holding it that stalled a transfer lately, or whose round trip its
 * upload queue has stretched past this, would serve it late, so the
 * origin is asked instead if it is a partner.  Otherwise a segment the
 * origin pushed to a thin partner is asked of that partner by everyone,
 * served after its deadline, and missed by the whole swarm (docs/sim.md,
 * finding 4).  The measured rate says nothing here: it is what the
 * partner sent us, not what it could. */
#define URGENT_HOLDER_MAX_RTT_US (400 * 1000)

/* Seconds until @peer would finish one more segment. */
static gdouble
expected_delivery (const SwarmSchedPeer * peer, guint load, gsize bytes)
{
  /* Unknown rates are assumed decent, so new partners get tried. */
  gdouble rate = peer->rate_bps > 0 ? peer->rate_bps : 2e6 / 8;
  gdouble t = (load + 1) * (gdouble) MAX (bytes, 1) / rate;

  t += peer->rtt_us / 1e6;
  if (peer->slow)
    t += 10.0;                  /* only when nobody else has it */
  return t;
}

static void
default_schedule (gpointer self, const SwarmSchedView * view, GArray * out)
{
  guint *load = g_newa (guint, MAX (view->n_peers, 1));
  GArray *order = g_array_sized_new (FALSE, FALSE, sizeof (Candidate),
      view->n_wanted);
  guint i, p;

  for (p = 0; p < view->n_peers; p++)
    load[p] = view->peers[p].in_flight;

  for (i = 0; i < view->n_wanted; i++) {
    Candidate c = { view->wanted[i], 0 };

    for (p = 0; p < view->n_peers; p++)
      if (!view->peers[p].is_origin
          && view->peers[p].has (view->peers[p].peer, c.seq))
        c.holders++;
    g_array_append_val (order, c);
  }
  /* urgent ones keep playout order; the rest rarest first */
  if (order->len > view->n_urgent)
    qsort (&g_array_index (order, Candidate, view->n_urgent),
        order->len - view->n_urgent, sizeof (Candidate),
        (GCompareFunc) by_rarity);

  for (i = 0; i < order->len; i++) {
    const Candidate *c = &g_array_index (order, Candidate, i);
    gboolean urgent = i < view->n_urgent;
    gboolean pressing = i < MIN (view->n_pressing, view->n_urgent);
    gint best = -1;
    gdouble best_t = 0;
    gboolean busy_holder = FALSE;

    for (p = 0; p < view->n_peers; p++) {
      const SwarmSchedPeer *peer = &view->peers[p];
      gdouble t;

      if (peer->is_origin || load[p] >= peer->max_in_flight
          || !peer->has (peer->peer, c->seq))
        continue;
      if (peer->busy) {
        busy_holder = TRUE;
        continue;
      }
      t = expected_delivery (peer, load[p], view->segment_bytes);
      if (best < 0 || t < best_t) {
        best = p;
        best_t = t;
      }
    }
    /* The origin is the supplier of last resort: for what no viewer holds
     * (someone must bring it into the swarm), or for an urgent segment no
     * viewer holding it can take on now.  Not for one whose holder turned
     * us away as busy, unless its deadline is near: it had a crowd
     * asking, who will hold it in a moment, and the crowd asking the
     * origin instead would make the origin send a copy to each. */
    if ((best < 0 && (busy_holder ? pressing : (c->holders == 0 || urgent)))
        || (best >= 0 && urgent && (view->peers[best].slow
                || view->peers[best].rtt_us > URGENT_HOLDER_MAX_RTT_US))) {
      for (p = 0; p < view->n_peers; p++) {
        const SwarmSchedPeer *peer = &view->peers[p];
        if (peer->is_origin && load[p] < peer->max_in_flight
            && peer->has (peer->peer, c->seq)) {
          best = p;
          break;
        }
      }
    }
    if (best >= 0) {
      SwarmSchedRequest req = { c->seq, best };

      g_array_append_val (out, req);
      load[best]++;
    }
  }
  g_array_unref (order);
}

static const SwarmSchedulerClass default_class = {
  .name = "default",
  .create = stateless_create,
  .destroy = stateless_destroy,
  .schedule = default_schedule,
};

const SwarmSchedulerClass *
swarm_scheduler_default_get_class (void)
{
  return &default_class;
}

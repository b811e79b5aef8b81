/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-scheduler.h"

static gpointer
simple_create (void)
{
  /* stateless */
  return GINT_TO_POINTER (1);
}

static void
simple_destroy (gpointer self)
{
}

/* TRUE if @a is a better supplier than @b for the next request. */
static gboolean
simple_better (const SwarmSchedPeer * a, guint a_load,
    const SwarmSchedPeer * b, guint b_load)
{
  /* Keep the origin's upload for what no viewer can supply. */
  if (a->is_origin != b->is_origin)
    return !a->is_origin;
  if (a_load != b_load)
    return a_load < b_load;
  if (a->rtt_us && b->rtt_us && a->rtt_us != b->rtt_us)
    return a->rtt_us < b->rtt_us;
  return a->rate_bps > b->rate_bps;
}

static void
simple_schedule (gpointer self, const SwarmSchedView * view, GArray * out)
{
  guint *load = g_newa (guint, MAX (view->n_peers, 1));
  guint i, p;

  for (p = 0; p < view->n_peers; p++)
    load[p] = view->peers[p].in_flight;

  for (i = 0; i < view->n_wanted; i++) {
    guint64 seq = view->wanted[i];
    gint best = -1;

    for (p = 0; p < view->n_peers; p++) {
      const SwarmSchedPeer *peer = &view->peers[p];

      if (load[p] >= peer->max_in_flight || !peer->has (peer->peer, seq))
        continue;
      if (best < 0 || simple_better (peer, load[p], &view->peers[best],
              load[best]))
        best = p;
    }
    if (best >= 0) {
      SwarmSchedRequest req = { seq, best };

      g_array_append_val (out, req);
      load[best]++;
    }
  }
}

static const SwarmSchedulerClass simple_class = {
  .name = "simple",
  .create = simple_create,
  .destroy = simple_destroy,
  .schedule = simple_schedule,
};

const SwarmSchedulerClass *
swarm_scheduler_simple_get_class (void)
{
  return &simple_class;
}

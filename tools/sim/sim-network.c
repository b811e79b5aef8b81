/* p2p-sim: the network each host gets — its access delay, loss, upload
 * and NAT — from the options and the seed.
 *
 * The in-memory net (swarm-link-memory.h) makes a path's one-way delay the
 * sum of its two ends' access delays.  Drawing each access delay from a
 * log-normal distribution makes the RTT of a pair (twice the sum) close to
 * log-normal too; the delays are then scaled so that the median RTT over
 * pairs of hosts is --rtt.  Loss is set per host so that a path, which
 * loses at both ends, loses --loss % each way.  --slow-upload and
 * --relayed pick an exact share of the viewers, spread evenly over the
 * order they join from a seeded offset.
 *
 * Every host's draw depends only on the seed and its index, so a viewer
 * that joins late through churn gets the same network in every run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sim.h"

#include <math.h>

/* pairs drawn to find the scale that puts the median RTT at --rtt */
#define CALIBRATION_PAIRS 20001

struct _SimNetwork {
  const SimOptions *opts;
  gdouble median_access_ms;      /* the scale of the log-normal */
  gdouble host_loss_pct;
  gdouble slow_offset, relayed_offset;
};

/* A standard normal draw (Box-Muller). */
static gdouble
normal (GRand * rand)
{
  gdouble u = g_rand_double_range (rand, 1e-12, 1.0);
  gdouble w = g_rand_double (rand);

  return sqrt (-2.0 * log (u)) * cos (2 * G_PI * w);
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

/* The median of 2 (a + b) for access delays exp (sigma z): what a median
 * access delay of 1 ms gives a pair. */
static gdouble
median_pair_rtt_per_ms (void)
{
  GRand *rand = g_rand_new_with_seed (1);
  gdouble *rtt = g_new (gdouble, CALIBRATION_PAIRS);
  gdouble median;
  guint i;

  for (i = 0; i < CALIBRATION_PAIRS; i++)
    rtt[i] = 2 * (exp (SIM_RTT_SIGMA * normal (rand)) +
        exp (SIM_RTT_SIGMA * normal (rand)));
  qsort (rtt, CALIBRATION_PAIRS, sizeof (gdouble), compare_doubles);
  median = rtt[CALIBRATION_PAIRS / 2];
  g_free (rtt);
  g_rand_free (rand);
  return median;
}

SimNetwork *
sim_network_new (const SimOptions * opts)
{
  SimNetwork *net = g_new0 (SimNetwork, 1);
  GRand *rand = g_rand_new_with_seed (opts->seed ^ 0x6e657477);

  net->opts = opts;
  net->median_access_ms = opts->bench.rtt_ms / median_pair_rtt_per_ms ();
  /* 1 - (1 - p)² = loss: each end loses p */
  net->host_loss_pct = 100.0 * (1.0 - sqrt (1.0 - opts->bench.loss_pct / 100.0));
  net->slow_offset = g_rand_double (rand);
  net->relayed_offset = g_rand_double (rand);
  g_rand_free (rand);
  return net;
}

void
sim_network_free (SimNetwork * net)
{
  g_free (net);
}

/* Whether viewer @i is among the first @pct % of an even spread. */
static gboolean
picked (guint i, gdouble pct, gdouble offset)
{
  return floor ((i + offset) * pct / 100.0) !=
      floor ((i - 1 + offset) * pct / 100.0);
}

void
sim_network_host_config (SimNetwork * net, guint index,
    SwarmMemoryHostConfig * config)
{
  const SimOptions *o = net->opts;
  guint32 seed[] = { o->seed, index, 0x686f7374 };
  GRand *rand = g_rand_new_with_seed_array (seed, G_N_ELEMENTS (seed));
  gdouble delay = net->median_access_ms;

  memset (config, 0, sizeof *config);
  config->loss_pct = net->host_loss_pct;
  if (index > 0) {
    delay *= exp (SIM_RTT_SIGMA * normal (rand));
    config->upload_kbps = picked (index, o->slow_upload_pct, net->slow_offset)
        ? (guint) MAX (o->bench.bitrate_kbps / 2, 1) : (guint) o->upload_kbps;
    config->relayed = picked (index, o->relayed_pct, net->relayed_offset);
    config->relay_delay_ms = config->relayed ? SIM_RELAY_DELAY_MS : 0;
  }
  /* the origin sits at the median, with all the upload it wants; no
   * host on a latent network is nearer than 1 ms to its peers' (the
   * simulator's shards run through windows of the least path delay) */
  config->delay_ms = (guint) lround (delay);
  if (o->bench.rtt_ms > 0)
    config->delay_ms = MAX (config->delay_ms, 1);
  g_rand_free (rand);
}

guint
sim_network_tracker_delay_ms (SimNetwork * net)
{
  /* a server at the median distance from everyone */
  return (guint) lround (2 * net->median_access_ms);
}

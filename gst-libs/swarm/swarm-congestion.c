/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-congestion.h"
#include "swarm-wire.h"

#define USEC G_GINT64_CONSTANT (1000000)

/* ---- token bucket ----------------------------------------------------- */

struct _SwarmRateLimiter {
  guint64 rate;                 /* bytes/s, 0 = unlimited */
  gsize burst;
  gint64 tokens;                /* byte·µs (bytes × 10^6); negative = debt */
  gint64 last_us;
  gboolean started;
};

static void
limiter_init (SwarmRateLimiter * lim, guint64 rate, gsize burst)
{
  lim->rate = rate;
  lim->burst = MAX (burst, 1);
  lim->tokens = (gint64) lim->burst * USEC;
  lim->started = FALSE;
}

static void
limiter_refill (SwarmRateLimiter * lim, gint64 now_us)
{
  gint64 cap = (gint64) lim->burst * USEC;
  gint64 dt;

  if (!lim->started) {
    lim->started = TRUE;
    lim->last_us = now_us;
    return;
  }
  dt = now_us - lim->last_us;
  if (dt <= 0)
    return;                     /* a clock that steps back earns nothing */
  lim->last_us = now_us;
  if (lim->rate == 0 || lim->tokens >= cap) {
    lim->tokens = MAX (lim->tokens, cap);
    if (lim->rate == 0)
      lim->tokens = cap;
    return;
  }
  /* Compare in time, not in tokens, so rate × dt cannot overflow. */
  if ((guint64) dt >= (guint64) (cap - lim->tokens) / lim->rate + 1)
    lim->tokens = cap;
  else
    lim->tokens = MIN (cap, lim->tokens + (gint64) lim->rate * dt);
}

SwarmRateLimiter *
swarm_rate_limiter_new (guint64 rate_bytes_per_s, gsize burst_bytes)
{
  SwarmRateLimiter *lim = g_new0 (SwarmRateLimiter, 1);

  limiter_init (lim, rate_bytes_per_s, burst_bytes);
  return lim;
}

void
swarm_rate_limiter_free (SwarmRateLimiter * lim)
{
  g_free (lim);
}

void
swarm_rate_limiter_set_rate (SwarmRateLimiter * lim, guint64 rate_bytes_per_s,
    gsize burst_bytes, gint64 now_us)
{
  gboolean was_unlimited = lim->rate == 0;

  limiter_refill (lim, now_us);
  lim->rate = rate_bytes_per_s;
  lim->burst = MAX (burst_bytes, 1);
  if (was_unlimited)
    lim->tokens = (gint64) lim->burst * USEC;
  else
    lim->tokens = MIN (lim->tokens, (gint64) lim->burst * USEC);
}

guint64
swarm_rate_limiter_get_rate (SwarmRateLimiter * lim)
{
  return lim->rate;
}

gsize
swarm_rate_limiter_get_burst (SwarmRateLimiter * lim)
{
  return lim->burst;
}

gsize
swarm_rate_limiter_get_available (SwarmRateLimiter * lim, gint64 now_us)
{
  if (lim->rate == 0)
    return G_MAXSIZE;
  limiter_refill (lim, now_us);
  return lim->tokens <= 0 ? 0 : (gsize) (lim->tokens / USEC);
}

void
swarm_rate_limiter_consume (SwarmRateLimiter * lim, gsize bytes, gint64 now_us)
{
  if (lim->rate == 0)
    return;
  limiter_refill (lim, now_us);
  lim->tokens -= (gint64) bytes * USEC;
}

gsize
swarm_rate_limiter_take (SwarmRateLimiter * lim, gint64 now_us, gsize bytes)
{
  gsize n = MIN (bytes, swarm_rate_limiter_get_available (lim, now_us));

  swarm_rate_limiter_consume (lim, n, now_us);
  return n;
}

gint64
swarm_rate_limiter_get_wait_us (SwarmRateLimiter * lim, gsize bytes,
    gint64 now_us)
{
  gint64 need;

  if (lim->rate == 0)
    return 0;
  limiter_refill (lim, now_us);
  need = (gint64) MIN (bytes, lim->burst) * USEC - lim->tokens;
  if (need <= 0)
    return 0;
  return (need + (gint64) lim->rate - 1) / (gint64) lim->rate;
}

/* ---- rate meter: bytes over the last second, in 100 ms buckets --------- */

#define METER_BUCKETS 10
#define METER_BUCKET_US (USEC / METER_BUCKETS)

typedef struct {
  gboolean started;
  gint64 origin_us;
  gint64 index;                 /* bucket holding "now" */
  guint64 bytes[METER_BUCKETS];
} RateMeter;

static void
meter_advance (RateMeter * m, gint64 now_us)
{
  gint64 idx = MAX (0, now_us - m->origin_us) / METER_BUCKET_US;
  gint64 i;

  for (i = m->index + 1; i <= idx && i <= m->index + METER_BUCKETS; i++)
    m->bytes[i % METER_BUCKETS] = 0;
  m->index = MAX (m->index, idx);
}

static void
meter_add (RateMeter * m, gsize bytes, gint64 now_us)
{
  if (!m->started) {
    m->started = TRUE;
    m->origin_us = now_us;
    m->index = 0;
  }
  meter_advance (m, now_us);
  m->bytes[m->index % METER_BUCKETS] += bytes;
}

static guint64
meter_rate (RateMeter * m, gint64 now_us)
{
  guint64 sum = 0;
  gint64 span;
  guint i;

  if (!m->started)
    return 0;
  meter_advance (m, now_us);
  for (i = 0; i < METER_BUCKETS; i++)
    sum += m->bytes[i];
  span = now_us - m->origin_us;
  if (m->index >= METER_BUCKETS - 1)
    span -= (m->index - (METER_BUCKETS - 1)) * METER_BUCKET_US;
  span = MAX (span, METER_BUCKET_US);
  return sum * USEC / span;
}

/* ---- congestion controller -------------------------------------------- */

/* Data sent at about the same time; acks are credited oldest first. */
typedef struct {
  gint64 time_us;
  gsize bytes;
} SentRecord;

/* Pacing runs ahead of cwnd / RTT so the window, not the pacer, is what
 * limits a busy link (as Linux TCP pacing does). */
#define PACING_GAIN_SLOW_START 2.0
#define PACING_GAIN 1.25
/* Before any RTT sample. */
#define INITIAL_RTT_US (100 * 1000)
/* Sends this close together share one record. */
#define SENT_COALESCE_US 1000
/* Random loss.  With no queue behind it (queuing delay under a quarter of
 * the target) a loss is the path's, not our queue overflowing: the window
 * is trimmed by an eighth, not halved, and grows QUEUE_FREE_GAIN times
 * faster than LEDBAT's one packet per round trip while no queue forms.
 * At 1/8 and one packet per RTT the window settles near sqrt(8 / p)
 * packets: at 4 % loss and 200 ms (two lossy access links) that is under
 * 1 Mbit/s; with the gain it is twice that.  Where losses are heavy
 * (over HEAVY_LOSS of the bytes over the last LOSS_EPOCH_US) they are
 * taken for congestion whatever the delay says (a policer drops without
 * queuing): halving and plain growth again. */
#define QUEUE_FREE_GAIN 4.0
#define HEAVY_LOSS 0.10
#define LOSS_EPOCH_US USEC

struct _SwarmCongestion {
  SwarmCongestionConfig cfg;

  gsize cwnd;
  gsize ssthresh;               /* G_MAXSIZE = none */
  gboolean slow_start;

  SentRecord *sent;             /* ring */
  guint sent_head, sent_len, sent_cap;
  gsize in_flight;
  gsize peak_flight;            /* largest in_flight since the previous ACK */
  gboolean awaiting;            /* sent something since the last ACK */
  gint64 awaiting_since_us;

  guint32 last_total;

  /* One-way delay samples, unwrapped from mod-2^32 into a running gint64. */
  gboolean have_delay;
  guint32 last_sample;
  gint64 last_unwrapped;
  gint64 *base_hist;            /* per-bucket minimum; G_MAXINT64 = empty */
  guint base_cur;
  gint64 bucket_start_us;
  gint64 *cur_hist;
  guint cur_n, cur_pos;
  gint64 base_delay;
  gint64 current_delay;

  gint64 srtt_us, rttvar_us;
  gint64 min_rtt_us;            /* 0 = no sample yet */

  /* Cumulative acked bytes at the last few ACKs: the delivery rate. */
  gint64 *ack_t;
  guint64 *ack_cum;
  guint ack_n, ack_pos;

  gboolean halved;
  gint64 last_halve_us;

  SwarmRateLimiter pacer;
  RateMeter send_meter, ack_meter;

  guint64 bytes_sent, bytes_acked, bytes_lost;
  guint losses, timeouts;

  /* loss rate over the last complete epoch (see HEAVY_LOSS) */
  gint64 epoch_start_us;
  guint64 epoch_sent, epoch_lost;
  gdouble loss_rate;
};

static void
config_fill_defaults (SwarmCongestionConfig * cfg)
{
  if (!cfg->mss)
    cfg->mss = SWARM_CHUNK_SIZE;
  if (cfg->target_us <= 0)
    cfg->target_us = 25 * 1000;
  if (cfg->gain <= 0 || cfg->gain > 1)
    cfg->gain = 1.0;
  if (!cfg->min_cwnd_packets)
    cfg->min_cwnd_packets = 2;
  if (!cfg->init_cwnd_packets)
    cfg->init_cwnd_packets = 10;
  if (!cfg->max_cwnd_bytes)
    cfg->max_cwnd_bytes = 8 * 1024 * 1024;
  if (cfg->ack_timeout_us <= 0)
    cfg->ack_timeout_us = USEC;
  if (cfg->base_bucket_us <= 0)
    cfg->base_bucket_us = 60 * USEC;
  if (!cfg->base_buckets)
    cfg->base_buckets = 10;
  if (!cfg->current_filter)
    cfg->current_filter = 4;
  if (cfg->max_ack_delay_us <= 0)
    cfg->max_ack_delay_us = 10 * 1000;
  if (!cfg->min_rate)
    cfg->min_rate = 20 * (guint64) cfg->mss;
  if (cfg->pacing_quantum_us <= 0)
    cfg->pacing_quantum_us = 4 * 1000;
  cfg->min_cwnd_packets = MAX (cfg->min_cwnd_packets, 1);
  cfg->max_cwnd_bytes = MAX (cfg->max_cwnd_bytes,
      (gsize) cfg->mss * MAX (cfg->min_cwnd_packets, cfg->init_cwnd_packets));
}

static gsize
min_cwnd (SwarmCongestion * c)
{
  return (gsize) c->cfg.mss * c->cfg.min_cwnd_packets;
}

static gint64
rtt_or_guess (SwarmCongestion * c)
{
  return c->srtt_us > 0 ? c->srtt_us : INITIAL_RTT_US;
}

/* Unacked this long, data is given up as lost. */
static gint64
loss_after_us (SwarmCongestion * c)
{
  if (c->srtt_us <= 0)
    return c->cfg.ack_timeout_us;
  return MAX (2 * c->srtt_us, c->srtt_us + 4 * c->rttvar_us) +
      c->cfg.max_ack_delay_us;
}

static gint64
ack_timeout_us (SwarmCongestion * c)
{
  gint64 rto;

  if (c->srtt_us <= 0)
    return c->cfg.ack_timeout_us;
  rto = c->srtt_us + MAX (4 * c->rttvar_us, 1000) + c->cfg.max_ack_delay_us;
  return MAX (c->cfg.ack_timeout_us, 2 * rto);
}

static void
update_pacer (SwarmCongestion * c, gint64 now_us)
{
  gdouble gain = c->slow_start ? PACING_GAIN_SLOW_START : PACING_GAIN;
  guint64 rate = (guint64) (gain * c->cwnd * USEC / rtt_or_guess (c));
  gsize burst;

  rate = MAX (rate, c->cfg.min_rate);
  burst = MAX ((gsize) 2 * c->cfg.mss,
      (gsize) (rate * c->cfg.pacing_quantum_us / USEC));
  swarm_rate_limiter_set_rate (&c->pacer, rate, burst, now_us);
}

static SentRecord *
sent_at (SwarmCongestion * c, guint i)
{
  return &c->sent[(c->sent_head + i) % c->sent_cap];
}

static void
sent_pop (SwarmCongestion * c)
{
  c->sent_head = (c->sent_head + 1) % c->sent_cap;
  c->sent_len--;
}

static void
sent_push (SwarmCongestion * c, gsize bytes, gint64 now_us)
{
  if (c->sent_len > 0) {
    SentRecord *tail = sent_at (c, c->sent_len - 1);

    if (now_us - tail->time_us < SENT_COALESCE_US) {
      tail->bytes += bytes;
      return;
    }
  }
  if (c->sent_len == c->sent_cap) {
    guint cap = MAX (64, 2 * c->sent_cap);
    SentRecord *ring = g_new (SentRecord, cap);
    guint i;

    for (i = 0; i < c->sent_len; i++)
      ring[i] = *sent_at (c, i);
    g_free (c->sent);
    c->sent = ring;
    c->sent_cap = cap;
    c->sent_head = 0;
  }
  sent_at (c, c->sent_len)->time_us = now_us;
  sent_at (c, c->sent_len)->bytes = bytes;
  c->sent_len++;
}

/* Credits @bytes to the oldest outstanding data; returns what was credited. */
static gsize
sent_credit (SwarmCongestion * c, gsize bytes)
{
  gsize done = 0;

  while (done < bytes && c->sent_len > 0) {
    SentRecord *r = sent_at (c, 0);
    gsize n = MIN (r->bytes, bytes - done);

    r->bytes -= n;
    done += n;
    if (r->bytes == 0)
      sent_pop (c);
  }
  c->in_flight -= done;
  return done;
}

static void
give_up_all (SwarmCongestion * c)
{
  c->bytes_lost += c->in_flight;
  c->in_flight = 0;
  c->sent_len = 0;
}

/* Time-driven events: data unacked too long, ACKs that stopped coming. */
static gint64 queuing_delay (SwarmCongestion * c);

/* Random loss, not congestion: see QUEUE_FREE_GAIN. */
static gboolean
queue_free (SwarmCongestion * c)
{
  return queuing_delay (c) < c->cfg.target_us / 4
      && c->loss_rate < HEAVY_LOSS;
}

static void
advance (SwarmCongestion * c, gint64 now_us)
{
  gint64 horizon = loss_after_us (c);

  if (now_us - c->epoch_start_us >= LOSS_EPOCH_US) {
    guint64 sent = c->bytes_sent - c->epoch_sent;
    guint64 lost = c->bytes_lost > c->epoch_lost ?
        c->bytes_lost - c->epoch_lost : 0;

    c->loss_rate = sent > 0 ? MIN (1.0, (gdouble) lost / sent) : 0;
    c->epoch_start_us = now_us;
    c->epoch_sent = c->bytes_sent;
    c->epoch_lost = c->bytes_lost;
  }

  while (c->sent_len > 0 && now_us - sent_at (c, 0)->time_us >= horizon) {
    SentRecord *r = sent_at (c, 0);

    c->in_flight -= r->bytes;
    c->bytes_lost += r->bytes;
    sent_pop (c);
  }

  if (c->awaiting && now_us - c->awaiting_since_us >= ack_timeout_us (c)) {
    /* RFC 6817 2.4.2: on a timeout the window collapses; slow start then
     * climbs back to half the old window. */
    c->ssthresh = MAX (c->cwnd / 2, min_cwnd (c));
    c->cwnd = min_cwnd (c);
    c->slow_start = TRUE;
    give_up_all (c);
    c->awaiting = FALSE;
    c->timeouts++;
    update_pacer (c, now_us);
  }
}

static void
note_delay_sample (SwarmCongestion * c, guint32 sample, gint64 now_us)
{
  guint n = c->cfg.base_buckets;
  gint64 d, elapsed;
  guint i;

  if (!c->have_delay) {
    c->have_delay = TRUE;
    d = sample;
    for (i = 0; i < n; i++)
      c->base_hist[i] = G_MAXINT64;
    c->base_cur = 0;
    c->bucket_start_us = now_us;
  } else {
    /* Consecutive samples differ by far less than 2^31 µs (35 min), so
     * the signed difference is the true one across a wrap. */
    d = c->last_unwrapped + (gint32) (sample - c->last_sample);
  }
  c->last_sample = sample;
  c->last_unwrapped = d;

  /* Base delay: minimum per bucket, over the last n buckets.  Buckets are
   * timed from the first sample, so the controller only ever looks at
   * time differences. */
  elapsed = now_us - c->bucket_start_us;
  if (elapsed >= c->cfg.base_bucket_us) {
    gint64 k = elapsed / c->cfg.base_bucket_us;

    for (i = 0; i < n && i < k; i++) {
      c->base_cur = (c->base_cur + 1) % n;
      c->base_hist[c->base_cur] = G_MAXINT64;
    }
    c->bucket_start_us += k * c->cfg.base_bucket_us;
  }
  c->base_hist[c->base_cur] = MIN (c->base_hist[c->base_cur], d);
  c->base_delay = G_MAXINT64;
  for (i = 0; i < n; i++)
    c->base_delay = MIN (c->base_delay, c->base_hist[i]);

  /* Current delay: minimum of the last few samples, against noise. */
  c->cur_hist[c->cur_pos] = d;
  c->cur_pos = (c->cur_pos + 1) % c->cfg.current_filter;
  c->cur_n = MIN (c->cur_n + 1, c->cfg.current_filter);
  c->current_delay = G_MAXINT64;
  for (i = 0; i < c->cur_n; i++)
    c->current_delay = MIN (c->current_delay, c->cur_hist[i]);
}

static gint64
queuing_delay (SwarmCongestion * c)
{
  if (!c->have_delay)
    return 0;
  return MAX (0, c->current_delay - c->base_delay);
}

static void
note_rtt (SwarmCongestion * c, gint64 rtt_us)
{
  if (rtt_us <= 0 || rtt_us > 60 * USEC)
    return;
  c->min_rtt_us = c->min_rtt_us ? MIN (c->min_rtt_us, rtt_us) : rtt_us;
  if (c->srtt_us <= 0) {
    c->srtt_us = rtt_us;
    c->rttvar_us = rtt_us / 2;
  } else {
    /* RFC 6298 smoothing. */
    c->rttvar_us = (3 * c->rttvar_us + ABS (c->srtt_us - rtt_us)) / 4;
    c->srtt_us = (7 * c->srtt_us + rtt_us) / 8;
  }
}

/* Bytes/s delivered over the last few ACKs; 0 = unknown. */
static gdouble
delivery_rate (SwarmCongestion * c)
{
  guint n = c->cfg.current_filter + 1;
  guint newest = (c->ack_pos + n - 1) % n;
  guint oldest = c->ack_n < n ? 0 : c->ack_pos;
  gint64 span;

  if (c->ack_n < 2)
    return 0;
  span = c->ack_t[newest] - c->ack_t[oldest];
  if (span < 1000)
    return 0;
  return (gdouble) (c->ack_cum[newest] - c->ack_cum[oldest]) * USEC / span;
}

static void
note_acked (SwarmCongestion * c, gint64 now_us)
{
  guint n = c->cfg.current_filter + 1;

  c->ack_t[c->ack_pos] = now_us;
  c->ack_cum[c->ack_pos] = c->bytes_acked;
  c->ack_pos = (c->ack_pos + 1) % n;
  c->ack_n = MIN (c->ack_n + 1, n);
}

/* Slow start doubles the window each round trip, and a queue shows only a
 * round trip after it forms, so by then the window can be twice too big.
 * Restart from what the path delivers (it is saturated: a queue formed)
 * times the round trip we aim for, so that linear LEDBAT does not need
 * seconds to drain the excess. */
static void
leave_slow_start (SwarmCongestion * c)
{
  gdouble rate = delivery_rate (c);

  c->slow_start = FALSE;
  if (rate > 0 && c->min_rtt_us > 0) {
    gdouble fit = rate * (c->min_rtt_us + c->cfg.target_us) / USEC;

    if (fit < c->cwnd)
      c->cwnd = MAX ((gsize) fit, min_cwnd (c));
  }
}

static void
grow_window (SwarmCongestion * c, gsize acked, gsize flight_before)
{
  gint64 q = queuing_delay (c);
  gdouble cwnd = c->cwnd;
  gdouble limit;

  if (c->slow_start) {
    /* The first sign of a queue ends slow start: half the target leaves
     * room for the round trip it takes the delay to show. */
    if (q > c->cfg.target_us / 2) {
      leave_slow_start (c);
      cwnd = c->cwnd;
    } else {
      cwnd += acked;
      if (c->ssthresh != G_MAXSIZE && cwnd >= c->ssthresh) {
        cwnd = c->ssthresh;
        c->slow_start = FALSE;
      }
    }
    /* Only a window actually used may double. */
    limit = 2.0 * flight_before;
  } else {
    gdouble off_target = (gdouble) (c->cfg.target_us - q) / c->cfg.target_us;
    gdouble delta = c->cfg.gain * off_target * acked * c->cfg.mss / cwnd;

    if (delta > 0 && queue_free (c))
      delta *= QUEUE_FREE_GAIN;

    /* Never shrink faster than halving per round trip. */
    cwnd += MAX (delta, -(gdouble) acked / 2);
    /* RFC 6817 max_allowed_cwnd: an application-limited sender does not
     * grow its window; unlike the RFC we do not shrink it to the flight
     * size either, since live uploads come in bursts. */
    limit = (gdouble) flight_before + 2.0 * c->cfg.mss;
  }
  if (cwnd > c->cwnd)
    cwnd = MIN (cwnd, MAX ((gdouble) c->cwnd, limit));
  cwnd = CLAMP (cwnd, (gdouble) min_cwnd (c), (gdouble) c->cfg.max_cwnd_bytes);
  c->cwnd = (gsize) cwnd;
}

SwarmCongestion *
swarm_congestion_new (const SwarmCongestionConfig * cfg)
{
  SwarmCongestion *c = g_new0 (SwarmCongestion, 1);

  if (cfg)
    c->cfg = *cfg;
  config_fill_defaults (&c->cfg);
  c->cwnd = (gsize) c->cfg.mss * MAX (c->cfg.init_cwnd_packets,
      c->cfg.min_cwnd_packets);
  c->ssthresh = G_MAXSIZE;
  c->slow_start = TRUE;
  c->base_hist = g_new (gint64, c->cfg.base_buckets);
  c->cur_hist = g_new (gint64, c->cfg.current_filter);
  c->ack_t = g_new0 (gint64, c->cfg.current_filter + 1);
  c->ack_cum = g_new0 (guint64, c->cfg.current_filter + 1);
  /* The pacer starts full, at the rate the initial window implies. */
  limiter_init (&c->pacer, 0, 1);
  update_pacer (c, 0);
  c->pacer.started = FALSE;
  c->pacer.tokens = (gint64) c->pacer.burst * USEC;
  return c;
}

void
swarm_congestion_free (SwarmCongestion * c)
{
  if (!c)
    return;
  g_free (c->sent);
  g_free (c->base_hist);
  g_free (c->cur_hist);
  g_free (c->ack_t);
  g_free (c->ack_cum);
  g_free (c);
}

void
swarm_congestion_on_send (SwarmCongestion * c, gsize bytes, gint64 now_us)
{
  advance (c, now_us);
  sent_push (c, bytes, now_us);
  c->in_flight += bytes;
  c->peak_flight = MAX (c->peak_flight, c->in_flight);
  c->bytes_sent += bytes;
  meter_add (&c->send_meter, bytes, now_us);
  swarm_rate_limiter_consume (&c->pacer, bytes, now_us);
  if (!c->awaiting) {
    c->awaiting = TRUE;
    c->awaiting_since_us = now_us;
  }
}

void
swarm_congestion_on_ack (SwarmCongestion * c, guint32 recv_bytes_total,
    guint32 delay_sample_us, guint32 echo_time_us, gint64 now_us)
{
  guint32 newly = recv_bytes_total - c->last_total;
  gsize flight_before, credited;

  advance (c, now_us);
  /* Nothing new, or an ACK overtaken by a later one. */
  if (newly == 0 || newly > G_MAXINT32)
    return;
  c->last_total = recv_bytes_total;
  /* Never credit more than was ever sent (a partner making things up). */
  newly = MIN (newly, c->bytes_sent - c->bytes_acked);
  if (newly == 0)
    return;

  flight_before = MAX (c->peak_flight, c->in_flight);
  credited = sent_credit (c, newly);
  /* Data we had given up on arrived after all. */
  c->bytes_lost -= MIN (c->bytes_lost, newly - credited);
  c->bytes_acked += newly;
  c->peak_flight = c->in_flight;
  meter_add (&c->ack_meter, newly, now_us);
  note_acked (c, now_us);

  note_rtt (c, (guint32) ((guint32) now_us - echo_time_us));
  note_delay_sample (c, delay_sample_us, now_us);
  grow_window (c, newly, flight_before);

  /* The partner is alive: the silence timeout runs again from the next
   * send.  Data still in flight (a chunk lost among those just acked) is
   * the loss horizon's to give up; were it left "awaited", a link idle
   * for a second after such a loss (a partner asking now and then) would
   * collapse its window on its next segment (see docs/design.md, Wire
   * protocol). */
  c->awaiting = FALSE;
  update_pacer (c, now_us);
}

void
swarm_congestion_on_rtt_sample (SwarmCongestion * c, gint64 rtt_us,
    gint64 now_us)
{
  note_rtt (c, rtt_us);
  update_pacer (c, now_us);
}

void
swarm_congestion_on_loss (SwarmCongestion * c, gint64 now_us)
{
  advance (c, now_us);
  if (c->halved && now_us - c->last_halve_us < rtt_or_guess (c))
    return;
  c->halved = TRUE;
  c->last_halve_us = now_us;
  /* A loss with no queue behind it is the path's random loss (radio, a
   * lossy hop), not our queue overflowing: LEDBAT already steers by delay,
   * so such a loss trims the window by an eighth instead of halving it,
   * which at 2 % loss would keep it far below what the path carries. */
  if (queue_free (c))
    c->cwnd = MAX (c->cwnd - c->cwnd / 8, min_cwnd (c));
  else
    c->cwnd = MAX (c->cwnd / 2, min_cwnd (c));
  c->slow_start = FALSE;
  c->ssthresh = c->cwnd;
  c->losses++;
  update_pacer (c, now_us);
}

gsize
swarm_congestion_get_allowance (SwarmCongestion * c, gint64 now_us)
{
  gsize window;

  advance (c, now_us);
  window = c->cwnd > c->in_flight ? c->cwnd - c->in_flight : 0;
  return MIN (window, swarm_rate_limiter_get_available (&c->pacer, now_us));
}

gint64
swarm_congestion_get_wait_us (SwarmCongestion * c, gsize bytes, gint64 now_us)
{
  gint64 pace_wait;

  advance (c, now_us);
  bytes = MIN (bytes, min_cwnd (c));
  pace_wait = swarm_rate_limiter_get_wait_us (&c->pacer, bytes, now_us);
  if (c->cwnd < c->in_flight + bytes) {
    gint64 wait = G_MAXINT64;

    if (c->sent_len > 0)
      wait = sent_at (c, 0)->time_us + loss_after_us (c) - now_us;
    if (c->awaiting)
      wait = MIN (wait, c->awaiting_since_us + ack_timeout_us (c) - now_us);
    return MAX (MAX (wait, 1), pace_wait);
  }
  return pace_wait;
}

gsize
swarm_congestion_get_cwnd (SwarmCongestion * c)
{
  return c->cwnd;
}

gsize
swarm_congestion_get_in_flight (SwarmCongestion * c)
{
  return c->in_flight;
}

gint64
swarm_congestion_get_queuing_delay_us (SwarmCongestion * c)
{
  return queuing_delay (c);
}

gint64
swarm_congestion_get_srtt_us (SwarmCongestion * c)
{
  return c->srtt_us;
}

void
swarm_congestion_get_stats (SwarmCongestion * c, gint64 now_us,
    SwarmCongestionStats * stats)
{
  advance (c, now_us);
  stats->cwnd = c->cwnd;
  stats->in_flight = c->in_flight;
  stats->slow_start = c->slow_start;
  stats->srtt_us = c->srtt_us;
  stats->rttvar_us = c->rttvar_us;
  stats->queuing_delay_us = queuing_delay (c);
  stats->base_delay_us = c->have_delay ? (guint32) c->base_delay : 0;
  stats->current_delay_us = c->have_delay ? (guint32) c->current_delay : 0;
  stats->pacing_rate = c->pacer.rate;
  stats->send_rate = meter_rate (&c->send_meter, now_us);
  stats->ack_rate = meter_rate (&c->ack_meter, now_us);
  stats->bytes_sent = c->bytes_sent;
  stats->bytes_acked = c->bytes_acked;
  stats->bytes_lost = c->bytes_lost;
  stats->losses = c->losses;
  stats->timeouts = c->timeouts;
}

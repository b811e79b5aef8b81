/* Delay-based congestion control (LEDBAT, RFC 6817) and pacing for one
 * peer link, plus a token bucket shared by the pacer and a session-wide
 * upload limit.
 *
 * Pure logic: no main loop, no sockets, no clock reads.  Every call takes
 * the caller's monotonic time in microseconds (g_get_monotonic_time ()), so
 * behaviour is deterministic and the tests drive it with a simulated clock.
 * Not thread-safe: use it from the session's network thread only.
 *
 * What the receiver must put in each ACK (proposed wire fields)
 * -------------------------------------------------------------
 *   u32 recv_bytes_total   DATA payload bytes received on this link so far,
 *                          all segments, duplicates included, modulo 2^32.
 *                          Cumulative rather than "since the previous ACK",
 *                          so a lost ACK loses no credit.
 *   u32 delay_sample_us    the smallest (recv_time_us − send_time_us) mod
 *                          2^32 over the DATA received since the previous
 *                          ACK, where recv_time_us is the receiver's
 *                          monotonic clock, low 32 bits.  Compare candidates
 *                          as (gint32) (a − b) < 0, never as plain unsigned
 *                          numbers.  The clock offset between the hosts is
 *                          part of every sample and cancels out against the
 *                          base delay; taking the minimum filters jitter.
 *   u32 echo_time_us       (exists today) send_time_us of the newest DATA
 *                          received: gives the sender an RTT sample.
 * Send an ACK every 8 DATA chunks, or 10 ms after the first chunk not yet
 * acked, whichever comes first (and at segment completion, as now): the
 * controller counts data unacked for longer than about 2 × RTT as lost.
 *
 * Integration in SwarmPeer (sender side)
 * --------------------------------------
 *   create:   p->cc = swarm_congestion_new (NULL);      (NULL = defaults)
 *   pump:     gsize allow = swarm_congestion_get_allowance (p->cc, now);
 *             allow = MIN (allow, swarm_rate_limiter_get_available
 *                 (session_limit, now));                (if upload-limit)
 *             while a chunk of len <= allow is queued:
 *               send it; swarm_congestion_on_send (p->cc, len, now);
 *               swarm_rate_limiter_consume (session_limit, len, now);
 *               allow -= len;
 *             if data is still queued, wake up after
 *               swarm_congestion_get_wait_us (p->cc, SWARM_CHUNK_SIZE, now)
 *               (and the limiter's wait), or when the next ACK arrives.
 *   ACK:      swarm_congestion_on_ack (p->cc, ack.recv_bytes_total,
 *                 ack.delay_sample_us, ack.echo_time_us, now); then pump.
 *   PONG:     swarm_congestion_on_rtt_sample (p->cc, rtt_us, now);
 *   lost:     swarm_congestion_on_loss (p->cc, now) when the partner
 *             re-requests chunks we sent it.
 *   stats:    swarm_congestion_get_stats (p->cc, now, &stats).
 * Byte counts are DATA payload bytes (what the receiver counts), so one
 * full chunk is SWARM_CHUNK_SIZE, the default segment size (MSS).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

/* ---- token bucket ----------------------------------------------------- */

/* Tokens (bytes) accrue at a rate up to a burst size.  Used per peer for
 * pacing and once per session for the `upload-limit`.  Integer arithmetic
 * on byte·microseconds, so the rate holds exactly over any span. */
typedef struct _SwarmRateLimiter SwarmRateLimiter;

/* @rate_bytes_per_s 0 = unlimited.  @burst_bytes is the most that can be
 * sent at once after idling; it must be at least one datagram, and is
 * raised to 1 if 0.  The bucket starts full. */
SwarmRateLimiter *swarm_rate_limiter_new (guint64 rate_bytes_per_s,
    gsize burst_bytes);
void swarm_rate_limiter_free (SwarmRateLimiter * lim);

/* Tokens accrued so far at the old rate are kept (up to the burst). */
void swarm_rate_limiter_set_rate (SwarmRateLimiter * lim,
    guint64 rate_bytes_per_s, gsize burst_bytes, gint64 now_us);
guint64 swarm_rate_limiter_get_rate (SwarmRateLimiter * lim);
gsize swarm_rate_limiter_get_burst (SwarmRateLimiter * lim);

/* Bytes that may be sent now; G_MAXSIZE when unlimited. */
gsize swarm_rate_limiter_get_available (SwarmRateLimiter * lim,
    gint64 now_us);
/* Spends @bytes even beyond what is available: the bucket goes into debt
 * and later sends wait for it, so traffic that must go out (control
 * messages) is still counted. */
void swarm_rate_limiter_consume (SwarmRateLimiter * lim,
    gsize bytes, gint64 now_us);
/* Spends and returns MIN (@bytes, available). */
gsize swarm_rate_limiter_take (SwarmRateLimiter * lim,
    gint64 now_us, gsize bytes);
/* Microseconds until @bytes (capped to the burst) are available; 0 = now. */
gint64 swarm_rate_limiter_get_wait_us (SwarmRateLimiter * lim,
    gsize bytes, gint64 now_us);

/* ---- congestion controller -------------------------------------------- */

typedef struct _SwarmCongestion SwarmCongestion;

/* Every field 0 = its default. */
typedef struct {
  guint mss;                    /* bytes in a full datagram's payload; SWARM_CHUNK_SIZE */
  gint64 target_us;             /* queuing delay aimed at; 25 ms */
  gdouble gain;                 /* cwnd gain, at most 1; 1 */
  guint min_cwnd_packets;       /* floor of the window; 2 */
  guint init_cwnd_packets;      /* window before any ACK; 10 */
  gsize max_cwnd_bytes;         /* ceiling of the window; 8 MB */
  gint64 ack_timeout_us;        /* no ACK for MAX (this, 2 × RTO) with data
                                 * outstanding collapses the window; 1 s */
  gint64 base_bucket_us;        /* base delay history bucket; 60 s */
  guint base_buckets;           /* buckets kept (window = buckets × bucket); 10 */
  guint current_filter;         /* current delay = min of this many last samples; 4 */
  gint64 max_ack_delay_us;      /* how long the receiver may hold an ACK; 10 ms */
  guint64 min_rate;             /* pacing floor, bytes/s; 20 × mss */
  gint64 pacing_quantum_us;     /* pacer burst = rate × this, at least 2 × mss; 4 ms */
} SwarmCongestionConfig;

typedef struct {
  gsize cwnd;                   /* congestion window, bytes */
  gsize in_flight;              /* sent, not acked, not yet given up as lost */
  gboolean slow_start;
  gint64 srtt_us;               /* 0 = no sample yet */
  gint64 rttvar_us;
  gint64 queuing_delay_us;      /* current − base; 0 before the first sample */
  guint32 base_delay_us;        /* minimum sample (includes the clock offset) */
  guint32 current_delay_us;     /* filtered current sample (same offset) */
  guint64 pacing_rate;          /* bytes/s */
  guint64 send_rate;            /* bytes/s over the last second */
  guint64 ack_rate;             /* bytes/s acked over the last second */
  guint64 bytes_sent;
  guint64 bytes_acked;
  guint64 bytes_lost;           /* given up on: unacked after about 2 × RTT */
  guint losses;                 /* times the window was halved for loss */
  guint timeouts;               /* times the window collapsed for silence */
} SwarmCongestionStats;

/* @cfg NULL = defaults; it is copied. */
SwarmCongestion *swarm_congestion_new (const SwarmCongestionConfig *
    cfg);
void swarm_congestion_free (SwarmCongestion * c);

/* @bytes of DATA payload just went out. */
void swarm_congestion_on_send (SwarmCongestion * c, gsize bytes,
    gint64 now_us);
/* An ACK arrived; see the field descriptions above.  Old or duplicate ACKs
 * (recv_bytes_total not ahead of the last one) are ignored. */
void swarm_congestion_on_ack (SwarmCongestion * c,
    guint32 recv_bytes_total, guint32 delay_sample_us, guint32 echo_time_us,
    gint64 now_us);
/* An RTT measured some other way (PING/PONG). */
void swarm_congestion_on_rtt_sample (SwarmCongestion * c,
    gint64 rtt_us, gint64 now_us);
/* The partner re-requested data we sent: halves the window, at most once
 * per RTT (RFC 6817 section 2.4.2, as TCP). */
void swarm_congestion_on_loss (SwarmCongestion * c, gint64 now_us);

/* Bytes that may be sent now: MIN (cwnd − in flight, pacer tokens).
 * Also where time-based events (loss of unacked data, ACK timeout) are
 * noticed, so the caller needs no timer of its own for them. */
gsize swarm_congestion_get_allowance (SwarmCongestion * c,
    gint64 now_us);
/* Microseconds until @bytes may be allowed, 0 = now.  When only an ACK can
 * open the window, this is the time until in-flight data would be given up
 * as lost or the ACK timeout fires, whichever is first. */
gint64 swarm_congestion_get_wait_us (SwarmCongestion * c,
    gsize bytes, gint64 now_us);

gsize swarm_congestion_get_cwnd (SwarmCongestion * c);
gsize swarm_congestion_get_in_flight (SwarmCongestion * c);
gint64 swarm_congestion_get_queuing_delay_us (SwarmCongestion * c);
gint64 swarm_congestion_get_srtt_us (SwarmCongestion * c);
void swarm_congestion_get_stats (SwarmCongestion * c,
    gint64 now_us, SwarmCongestionStats * stats);

G_END_DECLS

/* The session's insides, shared by the files that make it up, each with
 * one job:
 *
 *   swarm-session-object.c    the GObject: properties (the configuration),
 *                             signals, construction, finalization
 *   swarm-session.c           lifecycle, the network thread, partners
 *                             coming and going, housekeeping
 *   swarm-session-announce.c  publishing; HAVE and the signed live edge
 *   swarm-session-transfer.c  chunks in, reassembly, loss repair, verify
 *   swarm-session-fetch.c     what to ask of whom, retries, upload pump
 *   swarm-session-bans.c      bans by id and strikes by address
 *   swarm-session-pex.c       PEX, relayed and sealed descriptions
 *   swarm-session-stats.c     per-partner figures and the stats structure
 *   swarm-session-playout.c   the viewer element's side: join, waits
 *   swarm-session-tracker.c   announces, offers and answers via trackers
 *
 * Not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "swarm-session.h"
#include "swarm-bans.h"
#include "swarm-peer-info.h"
#include "swarm-peer.h"
#include "swarm-relay.h"
#include "swarm-store.h"
#include "swarm-tracker.h"
#include "swarm-dtls.h"
#include "swarm-edge.h"
#include "swarm-private.h"
#include "swarm.h"

G_BEGIN_DECLS

/* How much of the stream a session keeps to serve others. */
#define STORE_MAX_SEGMENTS 600
#define STORE_MAX_BYTES (96 * 1024 * 1024)
/* Segments fetched ahead of playout. */
#define LOOKAHEAD_SEGMENTS 48
/* Housekeeping runs every HOUSEKEEPING_MS while a transfer, an ACK, a
 * link or an offer is under way, every HOUSEKEEPING_IDLE_MS otherwise
 * (swarm-session.c, session_is_busy). */
#define HOUSEKEEPING_MS 20
#define HOUSEKEEPING_IDLE_MS 100
/* Partners' figures are refreshed this often. */
#define PEER_STATS_MS 100
/* The upload pump runs at most this often, and a partner waiting for its
 * window is pumped again at least this often (swarm-session-fetch.c). */
#define PUMP_MS 2
#define PUMP_IDLE_MS 1000
#define MAX_IN_FLIGHT_PER_PEER 6
/* A transfer with no new chunk for this long is re-requested. */
#define STALL_MIN_US (250 * 1000)
/* Loss repair.  A partner sends the chunks of a segment in order, so a
 * chunk still missing when one REORDER_CHUNKS further on arrives (or the
 * segment's last one) was lost: it is asked for again at once, from the
 * same partner, which is not to blame.  That catches a lost chunk in about
 * one RTT instead of a stall timeout; it applies to a chunk's first
 * request only (a repair arriving is not ordered with the rest).  What it
 * cannot see (the last chunks lost, or a lost repair) waits TAIL_STALL:
 * no new chunk for twice the RTT, plus TAIL_STALL_MARGIN_US, while the
 * partner keeps sending us data; then the missing chunks are asked for
 * again from the same partner, up to TAIL_REPAIRS times before it counts
 * as a stall. */
#define REORDER_CHUNKS 3
#define TAIL_STALL_MARGIN_US (30 * 1000)
#define TAIL_REPAIRS 3
/* A partner that sent PARITY this recently follows whole segments with it
 * (its link is lossy): a lost chunk waits for its group's parity, which
 * rebuilds one per group at once, instead of costing a round trip; what is
 * still missing then is asked for as above. */
#define PARITY_EXPECTED_US (5 * G_USEC_PER_SEC)
/* An offer nobody answered is withdrawn after this long. */
#define OFFER_EXPIRY_US (4 * G_USEC_PER_SEC)
#define OFFER_MIN_INTERVAL_US (2 * G_USEC_PER_SEC)
#define GATHER_WAIT_US (3 * G_USEC_PER_SEC)
/* How long a partner that stalled a transfer is avoided. */
#define SLOW_PENALTY_US (2 * G_USEC_PER_SEC)
/* Segments right after the playout point are urgent. */
#define URGENT_SEGMENTS 3
/* Answers a viewer with nothing of the stream yet accepts past max-peers;
 * one cut off from the stream as well. */
#define JOINING_EXTRA_PARTNERS 2
/* A playing viewer none of whose partners announced a newer segment for
 * this long is cut off from the stream (the partner that brought it
 * crashed, and its partners only have each other): it looks for new
 * partners at once, past its seek target, instead of waiting for the
 * silence timeout and a place below it (docs/sim.md, finding 5).  A
 * second: deep in a rough swarm of 1,000, announcements stop for 600 ms
 * some 20 times a second (nine in ten of those silences ended within
 * 100 ms), and taking each for a cut doubled the offers the tracker
 * relayed; a real cut lasts until new links are up. */
#define CUT_OFF_US (1000 * 1000)
/* ... or this many segments' time, where segments are longer. */
#define CUT_OFF_SEGMENTS 5
/* While cut off, offers nobody answered are withdrawn and a new round is
 * made this often (answers take a few trips to the tracker): the places
 * that free up as the partners of a crashed viewer notice it are taken
 * within a second. */
#define CUT_OFF_ROUND_US (1000 * 1000)
/* A viewer at max-peers offered a link makes room by closing a partner
 * silent this long (two pings unanswered, half the silence timeout): a
 * place held by a partner that has likely crashed is worth less than the
 * newcomer, who may be cut off by that very crash. */
#define SILENT_PLACE_US (1000 * 1000)
/* Links past max-peers a partner of the origin keeps to the origin's other
 * partners, offered through the origin (swarm-session-pex.c). */
#define SIBLING_EXTRA_PARTNERS 2
/* A viewer with nothing of the stream yet, or cut off from it, marks its
 * offers (NEWCOMER_MARK).  In a swarm where most viewers are at max-peers
 * its offers were all turned down, round after round, and it stopped
 * before its first segment (docs/sim.md, finding 13).  A viewer at
 * max-peers takes one marked offer past max-peers at most every
 * NEWCOMER_ADMIT_INTERVAL_US (a stranger marking every offer trades away
 * no more than that), and once the newcomer is a partner it closes its
 * least busy partner of NEWCOMER_SETTLED_US or more, to be back at
 * max-peers: the swarm stays as full as it was, with room for joiners. */
#define NEWCOMER_MARK "a=x-p2p-newcomer\r\n"
#define NEWCOMER_EXTRA_PARTNERS 1
#define NEWCOMER_ADMIT_INTERVAL_US (5 * G_USEC_PER_SEC)
#define NEWCOMER_SETTLED_US (5 * G_USEC_PER_SEC)
/* A viewer pushes each fresh segment to at most this many children. */
#define PUSH_CHILDREN 2
/* A viewer whose partner pushed it the segment before the freshest (its
 * push parent) waits this long after it first hears of the freshest
 * before asking anyone for it: the parent's push is likely on its way.
 * Asking at once a partner that announced it a moment sooner had both
 * send the whole segment, one copy refused or cut short: on a busy
 * machine (p2p-bench --viewers 8 beside two busy loops) viewers received a
 * tenth of their bytes for nothing, the push queued while its sender
 * waited for a CPU and the request crossing it.  Those races were 0-7 ms
 * apart; longer waits cost every hop of a deep tree whose parent does not
 * push after all (50 ms: fewer duplicates, thin partners' children
 * later), and the origin is no one's push parent (it pushes each fresh
 * segment to one partner in turn). */
#define PUSH_WAIT_US (15 * 1000)
/* PEX: lists go to partners this often; a peer we tried to reach through a
 * partner is not tried again for a while. */
#define PEX_INTERVAL_US (2 * G_USEC_PER_SEC)
#define PEX_OFFER_INTERVAL_US (G_USEC_PER_SEC)
#define PEX_RETRY_US (5 * G_USEC_PER_SEC)
/* The origin announces a new segment to one partner at once and to the
 * others only after this long: the first spreads it through the swarm, so
 * the origin uploads about one copy and stays the supplier of last resort. */
#define ORIGIN_FIRST_ANNOUNCE 1
#define ORIGIN_LATE_ANNOUNCE_MS 200
/* The origin remembers the last ORIGIN_PUSH_MEMORY segments it pushed to
 * each partner.  When at least ORIGIN_PUSH_ASKERS of its other partners
 * ask the origin itself for ORIGIN_PUSH_RETURNED of them, that partner is not passing its share on
 * (a thin uplink: everyone asks it, it serves after the deadline, and the
 * share comes back to the origin as a copy per sibling), so it is left
 * out of the pushes for ORIGIN_PUSH_REST_US (swarm-session-announce.c). */
#define ORIGIN_PUSH_MEMORY 8
#define ORIGIN_PUSH_RETURNED 4
#define ORIGIN_PUSH_ASKERS 2
#define ORIGIN_PUSH_REST_US (10 * G_USEC_PER_SEC)

/* ---- bounds on what partners can make us hold or do ---- */
/* What segments can exist is the publisher's signed word (swarm-edge.h):
 * a segment announced or pushed further past the newest EDGE than
 * SWARM_EDGE_AHEAD_SLACK, plus what a stream could have produced since,
 * does not exist yet: believing it would move playout to nothing. */
/* Bytes reserved by incomplete transfers, all partners together: a full
 * lookahead of segments of over 1 MiB, yet a partner claiming huge
 * segments cannot make us allocate more. */
#define TRANSFER_BYTES_MAX (64 * 1024 * 1024)
/* The largest segment (a big frame alone) fits the half pushes may take,
 * and the store keeps a few of them besides the stream around them. */
G_STATIC_ASSERT (SWARM_MAX_SEGMENT_SIZE <= TRANSFER_BYTES_MAX / 2);
G_STATIC_ASSERT (4 * (gsize) SWARM_MAX_SEGMENT_SIZE <= STORE_MAX_BYTES);
/* Relayed SIGNAL fragments (a description is at most
 * SWARM_WIRE_MAX_SIGNAL_FRAGMENTS) one partner may have us forward or
 * assemble: a few descriptions a second is plenty for PEX, which offers
 * once a second at most.  All partners together get a bigger share. */
#define RELAY_PARTNER_BURST 32
#define RELAY_PARTNER_PER_S 8
#define RELAY_TOTAL_BURST 128
#define RELAY_TOTAL_PER_S 64
/* Relayed descriptions being put together, and how long each may take:
 * each holds at most 8 fragments of about 1 KiB. */
#define RELAY_MAX_PENDING 32
#define RELAY_TIMEOUT_US (5 * G_USEC_PER_SEC)
/* A pushed transfer whose pusher sent nothing new for this long is taken
 * over by another partner sending the same segment: a pusher that stops
 * after a chunk must not hold a segment hostage until the stall timeout. */
#define PUSH_TAKEOVER_US (50 * 1000)
/* A viewer whose upload backlog would take longer than this to send, at
 * the rate its upload keeps while it has one, turns away requests for
 * whole segments (BUSY): the partner asks another holder, or the
 * origin for an urgent one, instead of waiting in a queue past its
 * deadline.  The origin's push went to one partner, its partners all
 * asked that one for the fresh segment, and a thin one served the last
 * of them a second later: every viewer missed it (docs/sim.md, finding
 * 10). */
#define BUSY_DRAIN_US (200 * 1000)
/* ...for one of the BUSY_FRESH_SEGMENTS newest segments it knows of */
#define BUSY_FRESH_SEGMENTS 2
/* A partner that turned a request away is not asked for anything this
 * long: about a segment's time, for its backlog to drain. */
#define BUSY_BACKOFF_US (200 * 1000)
/* A segment due this soon (by playout's deadline) is asked of the origin
 * even when its holders turned us away as busy. */
#define PRESSING_US (600 * 1000)
/* A transfer that, at its source's pace, would finish past its segment's
 * deadline is moved to another holder (session_rescue_late), at most this
 * often: each move costs the chunks in flight. */
#define RESCUES_MAX 2
/* ...judged on this much of the source's pace at least, */
#define RESCUE_PACE_MIN_US (40 * 1000)
/* ...and, while nothing has come, once the segment is due this soon and
 * the source had a round trip and this margin to start sending. */
#define RESCUE_IDLE_HORIZON_US (400 * 1000)
#define RESCUE_IDLE_MARGIN_US (50 * 1000)
/* Incoming offers (tracker or relay) taken on: each costs ICE gathering
 * and a DTLS handshake.  Viewers whose offer is refused offer again within
 * seconds, so a joining crowd is slowed, not turned away. */
#define OFFERS_BURST 16
#define OFFERS_PER_S 8
/* Links we answered that are still connecting or handshaking. */
#define MAX_HANDSHAKING 16
/* Expired bans and old PEX attempts are forgotten this often, so neither
 * table grows with every id a hostile peer makes up. */
#define PRUNE_INTERVAL_US G_USEC_PER_SEC


typedef struct _PeerEntry PeerEntry;
typedef struct _Transfer Transfer;

struct _PeerEntry {
  SwarmSession *session;
  SwarmPeer *peer;
  SwarmTrackerClient *via;      /* tracker that carried its offer (answerers) */
  gboolean dead;                /* closed: reaped on the next housekeeping */
  gboolean was_ready;           /* its HELLO arrived: a partner, not a try */
  gint64 offered_us;            /* our offer went out (tracker or relay) */
  gboolean has_remote;          /* remote description applied */
  gboolean described;           /* local description produced */
  gchar *description;           /* offerers: until announced */
  /* rates for the stats, from byte counts sampled at @rate_sampled_us */
  guint64 rate_last_in, rate_last_out;
  gint64 rate_sampled_us;
  gdouble rate_in_bps, rate_out_bps;
  gint64 slow_until_us;         /* stalled a transfer: avoided until then */
  gint64 busy_until_us;         /* turned a request away: not asked till then */
  gint64 last_data_us;          /* its latest chunk arrived then */
  guint64 pushed_seq;           /* the newest segment it pushed us, +1 (0:
                                 * none) */
  gint64 parity_seen_us;        /* its latest PARITY arrived then */
  guint late_copies;            /* chunks we asked it for twice, that may
                                 * still come after their segment: not waste */
  /* origin: what it pushed this partner lately, which of those its other
   * partners then asked the origin for, and until when it is pushed
   * nothing (ORIGIN_PUSH_*) */
  guint64 origin_pushed[ORIGIN_PUSH_MEMORY];
  guint origin_pushed_next;
  guint8 origin_pushed_asks[ORIGIN_PUSH_MEMORY];     /* others asked us */
  gint64 origin_push_rest_until_us;
  /* PEX: the partner's own partners, and signalling through a partner */
  GPtrArray *pex_ids;           /* gchar*, NULL until it sent a list */
  gchar *relay_id;              /* our offer/answer goes via this partner */
  gboolean newcomer;            /* admitted past max-peers: a partner is
                                 * traded for it once it is ready */
  SwarmRateLimiter *signal_budget;      /* SIGNAL fragments it may send us */
  /* what the application sees of it (SwarmSession::peer-added), from the
   * moment it is ready */
  SwarmPeerInfo *info;
};

struct _Transfer {
  SwarmSession *session;
  guint64 seq;
  PeerEntry *source;            /* NULL while no partner is asked */
  guint chunk_count;            /* 0 until the first chunk */
  gsize size;
  guint8 *data;
  guint8 *got;                  /* bitmap of received chunks */
  guint8 *asks;                 /* per chunk: times asked for (saturating) */
  guint repair_from;            /* chunks before it: got or asked again */
  guint n_got;
  guint tail_repairs;           /* repairs since the last new chunk */
  gboolean request_resent;      /* nothing came: the request was repeated */
  GPtrArray *contributors;      /* ids of the partners that sent chunks */
  gint64 last_progress_us;
  gsize reserved;               /* bytes counted in transfer_bytes */
  /* failed verification with chunks from several partners: fetched again
   * whole from one, so the liar can be told */
  gboolean single_source;
  gboolean pushed;              /* the source sent it unasked */
  gboolean asked_whole;         /* its source was asked for all of it */
  /* asked, then told to stop when a push took over: its chunks still on
   * the way are not taken (compared, never dereferenced) */
  PeerEntry *stopped;
  guint rescues;                /* moved off a source too slow for its deadline */
  GPtrArray *asked;             /* ids of the partners asked for it */
  /* the current source: since when, its first chunk, chunks from it */
  gint64 source_since_us;
  gint64 source_first_us;
  guint source_got;
  /* monotonic µs: the transfer began (asked for, or first pushed chunk),
   * and its first chunk came; for the per-segment debug line */
  gint64 created_us;
  gint64 first_chunk_us;
  /* forward error correction: parity per group, as it arrives */
  guint parity_groups;          /* 0 until the first PARITY */
  guint8 *parity;               /* parity_groups × SWARM_CHUNK_SIZE */
  guint8 *parity_got;           /* bitmap of groups */
};

/* PEX and relayed descriptions: owned by swarm-session-pex.c. */
typedef struct {
  SwarmRelayAssembler *relay_assembler;
  GHashTable *pex_tried;        /* peer id -> gint64* last attempt */
  gint64 last_pex_sent_us;
  gint64 last_pex_offer_us;
  SwarmRateLimiter *signal_budget;      /* SIGNAL fragments, all partners */
} SessionPex;

/* Signalling: the tracker clients, the embedded tracker and offer rounds;
 * owned by swarm-session-tracker.c. */
typedef struct {
  SwarmTrackerServer *tracker_server;
  GPtrArray *trackers;          /* SwarmTrackerClient* */
  guint goodbyes_pending;       /* at teardown: trackers still closing */
  gint64 last_offer_round_us;
  guint offers_gathering;
  gint64 offer_round_started_us;
  guint tracker_rotation;       /* spreads offer rounds over trackers */
  gboolean tracker_ever_connected;
  gchar *tracker_refusal;       /* the last refusal or failure reason */
  guint tracker_complete;
  gboolean tracker_other_swarm; /* a tracker serves another swarm only */
  /* the embedded tracker ran out of descriptors: refusals seen, warned at */
  guint64 tracker_fds_refused;
  gint64 tracker_fds_warned_us;
  SwarmRateLimiter *offer_budget;       /* offers we take on */
  gint64 newcomer_admitted_us;  /* the last marked offer taken past
                                 * max-peers (NEWCOMER_ADMIT_INTERVAL_US) */
  gboolean cut_off;             /* at the last look: see CUT_OFF_US */
  /* the stream's pace, from how the newest known segment moves on */
  guint64 paced_seq;
  gint64 paced_us;
  gint64 segment_interval_us;   /* smoothed; 0 until measured */
} SessionSignalling;

/* The session's counters, written under the session lock by the part that
 * counts, turned into the stats structure in one place
 * (swarm-session-stats.c); each field is documented in docs/stats.md. */
typedef struct {
  guint64 bytes_sent;
  guint64 bytes_received;
  guint64 bytes_from_origin;
  guint64 bytes_from_peers;
  guint64 segments_received;
  guint64 segments_rejected;
  guint64 segments_verified;    /* signature checks run, pass or fail */
  guint64 bytes_verified;
  guint64 verify_us;            /* network-thread CPU time spent on them */
  guint64 peers_banned;
  guint64 descriptions_refused; /* offers/answers that did not fit our secret */
  guint64 segments_published;
  guint64 bytes_published;
  guint64 segments_played;
  guint64 pex_links;            /* links set up through a partner */
  guint64 segments_pushed;
  guint64 segments_missed;
  guint64 peers_misbehaved;
  guint64 messages_junk;
  guint64 chunks_unwanted;
  guint64 chunks_duplicate;     /* a chunk of a segment we already had */
  /* payload received and not used: unwanted and duplicate chunks (what
   * two partners sending one segment at once cost) */
  guint64 bytes_wasted;
  guint64 chunks_repaired;      /* asked for again after a loss */
  guint64 chunks_rebuilt;       /* lost, rebuilt from parity */
  guint64 parity_received;
  guint64 parity_sent;          /* all links, closed ones included */
  guint64 requests_resent;      /* requests that may have been lost */
  guint64 transfers_rescued;    /* moved off a source too slow for the deadline */
  guint64 requests_refused;
  guint64 requests_refused_busy;        /* our upload would serve them late */
  guint64 requests_turned_away;         /* ours, by busy partners */
  guint64 offers_refused;
  guint64 offers_refused_full;  /* at max-peers, no silent partner to replace */
  guint64 partners_replaced;    /* silent ones closed for a newcomer */
  guint64 newcomers_admitted;   /* marked offers taken past max-peers */
  guint64 partners_traded;      /* least busy closed for such a newcomer */
  guint64 signals_dropped;
  guint64 announcements_refused;
  guint64 address_bans;         /* addresses kept away after strikes */
  guint64 links_refused_address;        /* links closed: address banned */
  guint64 transfer_bytes_now;
  guint64 transfer_bytes_peak;
} SessionCounters;

struct _SwarmSession {
  GObject parent_instance;

  /* configuration: construct-only properties (swarm-session-object.c) */
  SwarmSessionRole role;
  SwarmIdentity *identity;
  gchar **tracker_urls;
  gchar *tracker_address;
  guint tracker_port_wanted;
  /* the embedded tracker's bounds: swarm-tracker.h */
  guint tracker_max_connections;
  guint tracker_max_connections_per_address;
  guint tracker_connection_rate;
  guint max_peers;
  SwarmIceServer *stun;
  SwarmIceServer *turn;
  guint join_timeout_ms;
  guint stats_interval_ms;
  gchar *stats_name;
  const SwarmSchedulerClass *scheduler_class;
  guint upload_limit_kbps;
  gboolean consume_only;
  guint clock_tolerance_ms;
  gchar *uri_text;               /* the "uri" property, until constructed */
  /* what was wrong with the properties, reported by start() (a
   * constructor cannot fail) */
  GError *config_error;
  SwarmSessionCallbacks callbacks;
  gpointer user_data;

  gchar *swarm_id;
  gchar *info_hash;
  gchar *secret_text;           /* until start derives the keys, then wiped */
  SwarmSecret *secret;          /* private swarm, else NULL */
  SwarmPeerLocal local;
  SwarmDtlsCredentials *credentials;
  SwarmStore *store;

  /* network thread */
  GMainContext *context;
  SwarmClock *clock;             /* every time read and timer goes through it */
  const SwarmLinkFactory *link_factory; /* NULL = libnice + DTLS */
  gboolean own_thread;           /* FALSE: the caller iterates context */
  GMainLoop *loop;
  GThread *thread;               /* own_thread only */
  gboolean started;              /* setup done, not stopped yet */
  gboolean network_done;         /* goodbyes said, nothing more to run */
  gboolean stopping;             /* teardown begun (stop or stop_begin) */
  gboolean running;

  /* owned by the network thread */
  GPtrArray *peers;             /* PeerEntry* */
  GHashTable *transfers;        /* seq -> Transfer* */
  /* the last one found (session_find_transfer): a segment's chunks come
   * one after another, and a lookup in the table is four cache misses */
  Transfer *last_transfer;
  gpointer scheduler;
  /* session_schedule's working arrays, kept from one pass to the next
   * (it runs every HOUSEKEEPING_MS and on every HAVE): NULL until then */
  GArray *sched_wanted, *sched_peers, *sched_entries, *sched_requests;
  GSource *housekeeping_source; /* a deadline source */
  gint64 housekeeping_last_us;  /* its last run */
  gint64 housekeeping_due_us;   /* its next */
  GSource *pump_source;         /* a deadline source, made at the first upload */
  gint64 pump_deadline_us;      /* when it fires, -1 = not armed */
  GSource *stats_source;
  GSource *schedule_source;     /* a deadline source, made at the first need */
  gboolean schedule_pending;    /* armed */
  gint64 schedule_at_us;        /* armed for then (-1: not armed) */
  gint64 started_us;
  gboolean reported_failure;
  guint64 closed_bytes_sent;
  guint64 closed_segments_pushed;
  guint64 closed_parity_sent;
  gint64 peer_stats_us;         /* partners' figures last refreshed */
  guint announce_cursor;        /* origin: round-robin over partners */
  SwarmRateLimiter *upload_limiter;     /* upload-limit, NULL = none */
  SwarmBans *bans;               /* who is kept away (swarm-bans.h) */
  SessionPex pex;               /* swarm-session-pex.c */
  SessionSignalling signalling; /* swarm-session-tracker.c */
  /* our upload while it has a backlog (session_sample_upload) */
  struct {
    gint64 sampled_us;
    guint64 last_sent;
    gboolean backlogged;
    gdouble rate_Bps;           /* 0 until measured */
  } upload;
  gboolean partner_lost;        /* a ready partner went away: look again now */
  gsize segment_bytes_avg;      /* typical segment size seen */
  gboolean clock_warned;        /* told the app our clocks disagree */
  /* origin: the first segment of this run, its epoch in every EDGE */
  gboolean origin_epoch_valid;
  guint64 origin_epoch_seq;
  /* Signs that the swarm is private and our secret (or its absence) does
   * not fit: refusals of our offers, descriptions we could not open.  Only
   * used to explain a failed join: a stranger can fake them. */
  guint private_hints;
  gint64 newest_changed_us;     /* when newest_seq last moved */
  gsize transfer_bytes;         /* reserved by incomplete transfers */
  gint64 last_prune_us;
  SwarmPeerAbuse closed_abuse;  /* of partners already gone */

  /* shared with elements, under lock */
  GMutex lock;
  GCond cond;                    /* waiters: session_wake_waiters() */
  void (*wake_notify) (gpointer data);  /* swarm-session-driver.h */
  gpointer wake_data;
  void (*segment_notify) (guint64 seq, const gchar * from, gpointer data);
  gpointer segment_data;
  GBytes *(*segment_intern) (guint64 seq, GBytes * bytes, gpointer data);
  gpointer segment_intern_data;
  guint tracker_port;
  gboolean ready;
  gboolean failed;
  gboolean flushing;
  gboolean playout_set;
  guint64 playout_seq;
  guint64 deadline_seq;         /* swarm_session_set_deadline: 0 = never */
  gint64 deadline_us;
  gboolean newest_valid;
  guint64 newest_seq;
  gboolean newest_key_valid;
  guint64 newest_key_seq;
  /* the publisher's newest EDGE: what can exist (network thread writes,
   * under lock, so that the elements read it too) */
  SwarmEdgeState edge;
  /* what the stats report (swarm-session-stats.c, docs/stats.md) */
  SessionCounters counters;
  gboolean got_segment;
  guint n_ready_peers;
  gint64 startup_ms;
  /* hostile input, for the stats */
  SwarmTrackerServerStats tracker_stats;        /* embedded tracker */
  GValue peer_stats;            /* GST_TYPE_ARRAY of GstStructure */
};

/* swarm-session-pex.c: the state it owns */
void session_pex_init (SwarmSession * s);
void session_pex_clear (SwarmSession * s);
void session_pex_tick (SwarmSession * s, gint64 now);
void session_pex_soon (SwarmSession * s);
void session_pex_prune (SwarmSession * s, gint64 now);

/* swarm-session-tracker.c: the state it owns */
void session_signalling_init (SwarmSession * s);
void session_signalling_clear (SwarmSession * s);
/* Warns (at most once a minute) when the embedded tracker refused viewers
 * for lack of file descriptors since the last look. */
void session_signalling_check_tracker (SwarmSession * s);
gboolean session_signalling_start (SwarmSession * s, GError ** error);
void session_signalling_stop (SwarmSession * s);
void session_signalling_offer_gathered (SwarmSession * s);
void session_signalling_offer_lost (SwarmSession * s);

/* defined in swarm-session-object.c: the signals, each with the
 * matching callback of SwarmSessionCallbacks first */
void session_emit_peer_added (SwarmSession * s, SwarmPeerInfo * info);
void session_emit_peer_removed (SwarmSession * s, SwarmPeerInfo * info);
void session_emit_error (SwarmSession * s, const GError * error);
void session_emit_warning (SwarmSession * s, const GError * error);
void session_emit_stats (SwarmSession * s, const GstStructure * stats);

/* defined in swarm-session.c */
void session_network_done (SwarmSession * s);
/* Lock held: whoever waits may have its answer. */
void session_wake_waiters (SwarmSession * s);
gchar *random_id20 (SwarmClock * clock);
gboolean peer_entry_is_ready (PeerEntry * e);
guint session_count_partners (SwarmSession * s);
void session_prefetch_partners (SwarmSession * s, guint i);
PeerEntry *session_find_partner (SwarmSession * s, const gchar * remote_id,
    PeerEntry * except);
PeerEntry *session_find_linked (SwarmSession * s, const gchar * remote_id,
    PeerEntry * except);
guint session_seek_target (SwarmSession * s);
void session_fail (SwarmSession * s, gint code, gchar * message);
void session_warn (SwarmSession * s, const GError * error);
void on_peer_ready (SwarmPeer * p, gpointer user_data);
PeerEntry *session_add_peer (SwarmSession * s, SwarmLinkRole role);
void session_housekeeping_soon (SwarmSession * s);
GSource *session_attach_deadline (SwarmSession * s, GSourceFunc func);

/* defined in swarm-session-announce.c */
void session_note_known (SwarmSession * s, guint64 seq, gboolean keyframe);
SwarmEdgeSeqVerdict session_check_seq (SwarmSession * s, guint64 seq);
void session_send_edge (SwarmSession * s, PeerEntry * e);
void session_announce_segment (SwarmSession * s, guint64 seq,
    SwarmSegmentFlags flags);
void session_push_to_children (SwarmSession * s, guint64 seq, PeerEntry * from);
void on_peer_have (SwarmPeer * p, guint64 seq, gboolean keyframe,
    gpointer user_data);
void on_peer_edge (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data);
void on_peer_asked (SwarmPeer * p, guint64 seq, gpointer user_data);

/* defined in swarm-session-transfer.c */
Transfer *session_add_transfer (SwarmSession * s, guint64 seq,
    PeerEntry * source);
void transfer_free (Transfer * t);
Transfer *session_find_transfer (SwarmSession * s, guint64 seq);
void on_peer_data (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data);
void transfer_detach (Transfer * t);
void on_peer_absent (SwarmPeer * p, guint64 seq, gpointer user_data);
void transfer_request (SwarmSession * s, Transfer * t, PeerEntry * e);

/* defined in swarm-session-bans.c */
gboolean session_is_banned (SwarmSession * s, const gchar * id);
gboolean session_address_is_banned (SwarmSession * s, SwarmPeer * p);
void session_ban (SwarmSession * s, const gchar * id, SwarmPeer * p);
void session_prune (SwarmSession * s, gint64 now);
void session_ban_contributors (SwarmSession * s, Transfer * t);

/* defined in swarm-session-fetch.c */
void session_retry_transfers (SwarmSession * s, gint64 now);
void session_schedule (SwarmSession * s);
void session_request_schedule (SwarmSession * s);
/* DEBUG: why @seq missed its deadline (any thread) */
void session_explain_miss (SwarmSession * s, guint64 seq);
gboolean schedule_from_any_thread (gpointer data);
void on_peer_upload (SwarmPeer * p, gpointer user_data);
gboolean on_peer_admit (SwarmPeer * p, guint64 seq, gpointer user_data);
void on_peer_busy (SwarmPeer * p, guint64 seq, gpointer user_data);
/* housekeeping: what our upload delivers while it has a backlog */
void session_sample_upload (SwarmSession * s, gint64 now);

/* defined in swarm-session-pex.c */
gchar *session_outgoing_description (SwarmSession * s, const gchar * sdp,
    gboolean newcomer);
gchar *session_incoming_description (SwarmSession * s, const gchar * peer_id,
    const gchar * text, gboolean * newcomer);
gboolean session_relay_description (SwarmSession * s, PeerEntry * e,
    const gchar * sdp);
void session_send_pex (SwarmSession * s);
void on_peer_pex (SwarmPeer * p, const guint8 * ids, guint count,
    gpointer user_data);
void session_maybe_pex_offer (SwarmSession * s, gint64 now);
void on_peer_signal (SwarmPeer * p, const SwarmMessage * msg,
    gpointer user_data);
gboolean session_relay_is_origin (SwarmSession * s, const gchar * relay_id);

/* defined in swarm-session-stats.c */
GstStructure *peer_entry_describe (PeerEntry * e, gint64 now);
void session_refresh_peer_stats (SwarmSession * s);
gboolean stats_cb (gpointer data);

/* defined in swarm-session-playout.c */
void session_check_join (SwarmSession * s, gint64 now);

/* defined in swarm-session-tracker.c */
void session_maybe_offer (SwarmSession * s);
gboolean session_is_newcomer (SwarmSession * s);
void session_trade_for_newcomers (SwarmSession * s, gint64 now);
void session_accept_offer (SwarmSession * s, SwarmTrackerClient * via,
    const gchar * relay_id, const gchar * peer_id, const gchar * offer_id,
    const gchar * text);
void session_apply_answer (SwarmSession * s, const gchar * peer_id,
    const gchar * offer_id, const gchar * text);
extern const SwarmTrackerClientCallbacks tracker_callbacks;

G_END_DECLS

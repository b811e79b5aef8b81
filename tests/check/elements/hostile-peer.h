/* A hostile peer for tests: a real participant in a swarm (it announces
 * on the real tracker, answers viewers' offers, connects over a real
 * SwarmLink with ICE and DTLS, and says HELLO in our protocol) that can be
 * told to misbehave once it is somebody's partner.
 *
 * It runs on a thread of its own, like a session, so the element test
 * only starts it, reads its counters and stops it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <swarm/swarm-internal.h>

G_BEGIN_DECLS

typedef enum {
  HOSTILE_HONEST,               /* behaves: the control case */
  HOSTILE_FORGED,               /* pushes segments signed with another key */
  HOSTILE_ALTERED,              /* pushes genuine segments, one byte altered */
  HOSTILE_WRONG_SWARM,          /* HELLO for another swarm, then its segments */
  HOSTILE_REQUEST_FLOOD,        /* floods REQUESTs for what the victim holds */
  HOSTILE_GARBAGE,              /* malformed, truncated, oversized datagrams */
  HOSTILE_REPLAY,               /* one genuine segment, then its chunks replayed */
  HOSTILE_FAR_AHEAD,            /* announces segments far beyond the stream */
  HOSTILE_SIGNAL_FLOOD,         /* floods SIGNAL fragments to relay or assemble */
  HOSTILE_HUGE_SEGMENTS,        /* claims maximal segments, sends one chunk each */
  HOSTILE_OFFER_FLOOD,          /* floods the tracker with offers for everyone */
  HOSTILE_DEAF_ONCE,            /* announces genuine segments ahead of the
                                 * origin and ignores the first REQUEST for
                                 * each (as if lost), serving the second */
  HOSTILE_CROSSING_HIGH,        /* not an attack: offers to the victim right
                                 * after the victim offered to it, and
                                 * answers only once the victim answered, so
                                 * that the two links cross; its peer id
                                 * sorts above any generated one */
  HOSTILE_CROSSING_LOW,         /* the same, with an id that sorts below */
  HOSTILE_HAVE_RATCHET,         /* announces ever further ahead: +96 segments
                                 * past its last announcement, each tick */
  HOSTILE_STALE_START,          /* a recording of an earlier run: its EDGE
                                 * (genuinely signed, old), a full map of its
                                 * keyframe segments, and those segments
                                 * served on request (genuine, old) */
  HOSTILE_FUTURE_START,         /* a first map 2*10^7 segments ahead */
  HOSTILE_ROLE_CLAIM,           /* says HELLO as the origin, without proof */
  HOSTILE_FORGED_NEW_IDS,       /* forges, and comes back under a new peer
                                 * id each time it is cut off */
  HOSTILE_ID_TAKEOVER,          /* announces on the tracker under another
                                 * peer's id (the origin's: it is in every
                                 * answer the origin sends) */
  HOSTILE_BUSY,                 /* announces genuine segments ahead, answers
                                 * every request for them BUSY, then floods
                                 * BUSY for segments nobody asked of it */
} HostileAttack;

/* Builds segment @seq of the stream, signed by @signer (NULL: the real
 * publisher).  Called on the hostile peer's thread. */
typedef GBytes *(*HostileSegmentFunc) (guint64 seq, SwarmIdentity * signer,
    gpointer user_data);

typedef struct _HostilePeer HostilePeer;

typedef struct {
  guint offers;                 /* offers the tracker handed us */
  guint links_connected;        /* links that reached DTLS */
  guint links_closed;           /* connected links that closed since */
  guint hellos;                 /* victims' HELLOs received */
  guint byes;                   /* BYEs received */
  guint64 attack_messages;      /* hostile datagrams sent */
  guint recording_served;       /* stale-start: old segments sent */
  guint ids_used;               /* peer ids announced (new-ids: > 1) */
  guint64 genuine_chunks;       /* DATA we received from victims */
  guint haves;                  /* announcements after a link's first map */
  guint have_repeats;           /* ...that also named the segment before */
  /* crossing: both offers answered (0 or 1), and the first link that
   * came up: 'o' ours (the victim answered), 'a' the victim's */
  guint crossings;
  gchar first_link;
  gint64 cross_to_link_ms;      /* -1 until both happened */
} HostileStats;

/* Joins the swarm of @swarm_key through the tracker at @tracker_url. */
HostilePeer *hostile_peer_start (const gchar * tracker_url,
    const guint8 * swarm_key, HostileAttack attack,
    HostileSegmentFunc make_segment, gpointer user_data);
/* The same, announcing as @peer_id (id takeover). */
HostilePeer *hostile_peer_start_as (const gchar * tracker_url,
    const guint8 * swarm_key, HostileAttack attack,
    HostileSegmentFunc make_segment, gpointer user_data,
    const gchar * peer_id);
void hostile_peer_get_stats (HostilePeer * h, HostileStats * stats);
/* The stale-start recording: segments @first .. @first + @count - 1 of an
 * earlier run (served through make_segment), and the EDGE its publisher
 * signed then, at @publish_time_us (the test holds the key; set before
 * the peer links). */
void hostile_peer_set_recording (HostilePeer * h, guint64 first, guint count,
    const SwarmMessage * edge);
/* Our peer id on the tracker and in HELLO. */
const gchar *hostile_peer_get_id (HostilePeer * h);
void hostile_peer_stop (HostilePeer * h);

const gchar *hostile_attack_name (HostileAttack attack);

G_END_DECLS

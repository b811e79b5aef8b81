/* Where live is, on evidence a stranger cannot fake.
 *
 * Partners announce what they hold (HAVE), and a viewer must not let any
 * one of them tell it where the stream is: a hostile partner could drag
 * its playout to segments that will never exist, or hold it on an old
 * recording.  So the publisher signs, with every segment it publishes, an
 * EDGE: the newest sequence number, the first one of this run of the
 * publisher (its epoch: a restart begins a new one), its wall-clock time
 * then, and the segment's flags.  Partners pass the newest EDGE they hold
 * on; a viewer believes announcements only up to the newest valid EDGE
 * (plus a little slack for datagrams that cross), ignores those before the
 * current epoch, and takes the publisher's time against its own clock
 * within a stated tolerance, so an old recording is never live.
 *
 * The origin also proves its role on each link: its HELLO carries the
 * publisher's signature over the link's DTLS keying material, which no
 * other peer can produce or replay on another link.
 *
 * Everything here takes the time as an argument: nothing reads a clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-identity.h"
#include "swarm-wire.h"

G_BEGIN_DECLS

/* How far the publisher's clock and ours may disagree (and how old an
 * EDGE may be when it reaches us) before its EDGE is refused: NTP keeps
 * clocks within milliseconds; an unsynchronised PC drifts seconds a day.
 * A recording older than this can never pass for live. */
#define SWARM_EDGE_DEFAULT_TOLERANCE_MS 30000
/* Announcements may run this many segments past the newest EDGE (an
 * announcement overtaking its EDGE on the way, or the EDGE lost), plus
 * what the publisher could have produced since at SWARM_EDGE_MAX_RATE_PER_S. */
#define SWARM_EDGE_AHEAD_SLACK 8
#define SWARM_EDGE_MAX_RATE_PER_S 100
/* Further past the bound than this is no race nor lost EDGE but a lie. */
#define SWARM_EDGE_LIE_MARGIN 1000

/* Signs @msg->edge (seq, epoch_seq, publish_time_us and flags filled in)
 * with the publisher's private key. */
SWARM_TEST_API gboolean swarm_edge_sign (SwarmIdentity * publisher,
    SwarmMessage * msg, GError ** error);
gboolean swarm_edge_verify (SwarmIdentity * publisher,
    const SwarmMessage * msg);

/* The origin's proof of its role on one link (@exported: the link's
 * keying material, SWARM_SECRET_EXPORTER_LEN bytes). */
gboolean swarm_edge_sign_origin_proof (SwarmIdentity * publisher,
    const guint8 * exported, gsize exported_len,
    guint8 proof[SWARM_WIRE_SIGNATURE_LEN]);
gboolean swarm_edge_verify_origin_proof (SwarmIdentity * publisher,
    const guint8 * exported, gsize exported_len,
    const guint8 proof[SWARM_WIRE_SIGNATURE_LEN]);

typedef enum {
  SWARM_EDGE_ACCEPTED,          /* newer, same epoch */
  SWARM_EDGE_NEW_EPOCH,         /* newer, and the publisher restarted */
  SWARM_EDGE_NOT_NEWER,         /* nothing new (not checked: costs nothing) */
  SWARM_EDGE_FORGED,            /* bad signature: the sender lies */
  SWARM_EDGE_CLOCK,             /* the publisher's time is too far from ours */
} SwarmEdgeVerdict;

typedef enum {
  SWARM_EDGE_SEQ_OK,
  SWARM_EDGE_SEQ_NO_EDGE,       /* no EDGE yet: nothing is known */
  SWARM_EDGE_SEQ_OLD_EPOCH,     /* before the publisher's current run */
  SWARM_EDGE_SEQ_AHEAD,         /* cannot exist yet */
  SWARM_EDGE_SEQ_LIE,           /* cannot exist for a long while yet: no
                                 * honest peer says so */
} SwarmEdgeSeqVerdict;

/* A viewer's (or origin's) newest EDGE and what it has seen. */
typedef struct {
  SwarmIdentity *publisher;     /* borrowed */
  gint64 tolerance_us;
  gboolean valid;
  SwarmMessage current;         /* the newest EDGE, to pass on */
  gint64 received_us;           /* monotonic: when it was taken */
  gint64 clock_offset_us;       /* publisher's clock minus ours, then */
  guint64 epochs;               /* restarts of the publisher seen */
  guint64 refused_clock;        /* valid EDGEs refused for their time */
  gint64 last_clock_offset_us;  /* of the last one refused */
  guint64 forged;
} SwarmEdgeState;

void swarm_edge_state_init (SwarmEdgeState * st,
    SwarmIdentity * publisher, guint tolerance_ms);
/* Offers an EDGE a partner sent (or the origin made), received at
 * @now_real_us (wall clock) and @now_us (monotonic). */
SwarmEdgeVerdict swarm_edge_state_offer (SwarmEdgeState * st,
    const SwarmMessage * edge, gint64 now_real_us, gint64 now_us);
/* Could a partner honestly announce @seq at @now_us? */
SwarmEdgeSeqVerdict swarm_edge_state_check_seq (const SwarmEdgeState
    * st, guint64 seq, gint64 now_us);

G_END_DECLS

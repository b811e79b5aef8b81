/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "hostile-peer.h"

#define GST_CAT_DEFAULT hostile_debug
GST_DEBUG_CATEGORY_STATIC (hostile_debug);

/* How often an attack step runs, and how far past the victim's newest
 * segment we push: far enough that the publisher has not sent it yet (so
 * the victim takes our push), close enough to be inside its lookahead. */
#define TICK_MS 50
#define PUSH_AHEAD 4
#define MAX_LINKS 4

typedef struct {
  HostilePeer *h;
  SwarmLink *link;
  gchar *remote_id;
  gchar *offer_id;
  gboolean offerer;             /* our offer (crossing), not an answer */
  gchar *local_sdp;             /* our offer, until it is announced */
  gboolean drop_once_answered;  /* crossing: the link the rule gives up */
  gboolean connected;
  gboolean closed;
  gboolean hello;
  gboolean have_any;
  guint64 newest;               /* newest segment the victim announced */
  guint64 next_push;            /* next seq to push (0 = none yet) */
  GPtrArray *replay;            /* GBytes: datagrams to send again */
  guint64 asked_once[16];       /* deaf-once: requests ignored, newest last */
  guint n_asked;
  guint busy_answers;           /* busy: requests answered BUSY */
  guint ticks;
} HostileLink;

struct _HostilePeer {
  HostileAttack attack;
  HostileSegmentFunc make_segment;
  gpointer user_data;
  gchar *url;
  guint8 swarm_key[SWARM_WIRE_KEY_LEN];
  gchar *info_hash;
  gchar *peer_id;
  SwarmIdentity *other;         /* forger, or the other swarm's publisher */

  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SwarmDtlsCredentials *credentials;
  SwarmTrackerClient *tracker;
  GPtrArray *links;             /* HostileLink* */
  GSource *tick;

  /* crossing: the victim's first offer, held until it answered ours */
  gchar *held_from;
  gchar *held_offer_id;
  gchar *held_sdp;
  gboolean crossing_started;
  guint offers_described;
  gint64 crossed_us;

  /* stale start: an earlier run's segments and its EDGE */
  guint64 rec_first;
  guint rec_count;
  SwarmMessage rec_edge;
  gboolean has_recording;
  guint64 ratchet;              /* have ratchet: its last announcement */

  GMutex lock;
  HostileStats stats;
};

/* One offer for each other peer in the test swarm (the origin and the
 * victim): the tracker hands each offer to a different peer. */
#define CROSSING_OFFERS 2

const gchar *
hostile_attack_name (HostileAttack attack)
{
  static const gchar *names[] = {
    "honest", "forged", "altered", "wrong-swarm", "request-flood", "garbage",
    "replay", "far-ahead", "signal-flood", "huge-segments", "offer-flood",
    "deaf-once", "crossing-high", "crossing-low", "have-ratchet",
    "stale-start", "future-start", "role-claim", "forged-new-ids",
    "id-takeover", "busy",
  };
  return attack < G_N_ELEMENTS (names) ? names[attack] : "?";
}

static void
hl_free (HostileLink * hl)
{
  swarm_link_unref (hl->link);
  if (hl->replay)
    g_ptr_array_unref (hl->replay);
  g_free (hl->remote_id);
  g_free (hl->offer_id);
  g_free (hl->local_sdp);
  g_free (hl);
}

static gboolean
hostile_is_crossing (HostileAttack attack)
{
  return attack == HOSTILE_CROSSING_HIGH || attack == HOSTILE_CROSSING_LOW;
}

/* Peers whose messages count as no attack. */
static gboolean
hostile_is_benign (HostileAttack attack)
{
  return attack == HOSTILE_HONEST || hostile_is_crossing (attack);
}

/* ---- sending ---------------------------------------------------------- */

static gboolean
hl_send_raw (HostileLink * hl, const guint8 * data, gsize len)
{
  if (hl->closed || !hl->connected)
    return FALSE;
  if (!swarm_link_send (hl->link, data, len))
    return FALSE;
  g_mutex_lock (&hl->h->lock);
  hl->h->stats.attack_messages++;
  g_mutex_unlock (&hl->h->lock);
  return TRUE;
}

static gsize
hl_send (HostileLink * hl, const SwarmMessage * msg, guint8 * out)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  gsize len;

  if (!out)
    out = buf;
  len = swarm_wire_write (msg, out, SWARM_WIRE_MAX_DATAGRAM);
  g_assert (len > 0);
  if (hostile_is_benign (hl->h->attack)) {
    /* the control case counts nothing as an attack */
    if (!hl->closed && hl->connected)
      swarm_link_send (hl->link, out, len);
  } else {
    hl_send_raw (hl, out, len);
  }
  return len;
}

/* Sends every chunk of @segment as segment @seq; with @keep, the
 * datagrams are kept for replaying. */
static void
hl_push_segment (HostileLink * hl, guint64 seq, GBytes * segment,
    gboolean keep)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (segment, &size);
  guint n = (size + SWARM_CHUNK_SIZE - 1) / SWARM_CHUNK_SIZE, i;

  for (i = 0; i < n; i++) {
    SwarmMessage m = {.type = SWARM_MSG_DATA };
    guint8 out[SWARM_WIRE_MAX_DATAGRAM];
    gsize len;

    m.data.seq = seq;
    m.data.chunk_index = i;
    m.data.chunk_count = n;
    m.data.segment_size = size;
    m.data.send_time_us = (guint32) g_get_monotonic_time ();
    m.data.payload = data + (gsize) i * SWARM_CHUNK_SIZE;
    m.data.payload_len = MIN (SWARM_CHUNK_SIZE, size - (gsize) i *
        SWARM_CHUNK_SIZE);
    len = hl_send (hl, &m, out);
    if (keep)
      g_ptr_array_add (hl->replay, g_bytes_new (out, len));
  }
}

/* Announces one keyframe segment, @seq. */
static void
hl_announce_one (HostileLink * hl, guint64 seq)
{
  SwarmMessage m = {.type = SWARM_MSG_HAVE };
  guint8 bits[1] = { 0x80 };

  m.have.first_seq = seq;
  m.have.count = 1;
  m.have.have_bits = bits;
  m.have.key_bits = bits;
  hl_send (hl, &m, NULL);
}

/* A keyframe segment 2*10^7 past the newest the victim can know of. */
static void
hl_send_future (HostileLink * hl)
{
  hl_announce_one (hl, hl->h->rec_first + 20000000);
}

static void
hl_send_hello (HostileLink * hl)
{
  HostilePeer *h = hl->h;
  SwarmMessage m = {.type = SWARM_MSG_HELLO };

  memcpy (m.hello.swarm_key, h->attack == HOSTILE_WRONG_SWARM ?
      swarm_identity_get_public_key (h->other) : h->swarm_key,
      SWARM_WIRE_KEY_LEN);
  memcpy (m.hello.peer_id, h->peer_id, SWARM_WIRE_PEER_ID_LEN);
  m.hello.role = h->attack == HOSTILE_ROLE_CLAIM ? SWARM_PEER_ROLE_ORIGIN :
      SWARM_PEER_ROLE_VIEWER;
  hl_send (hl, &m, NULL);
  /* a newcomer's first impression: where live is, as we would have it */
  if (h->attack == HOSTILE_STALE_START && h->has_recording) {
    SwarmMessage map = {.type = SWARM_MSG_HAVE };
    guint8 have[SWARM_WIRE_MAX_HAVE_BITS / 8], key[SWARM_WIRE_MAX_HAVE_BITS / 8];
    guint i, n = MIN (h->rec_count, SWARM_WIRE_MAX_HAVE_BITS);

    hl_send (hl, &h->rec_edge, NULL);
    memset (have, 0, sizeof have);
    memset (key, 0, sizeof key);
    for (i = 0; i < n; i++) {
      swarm_wire_bit_set (have, i);
      swarm_wire_bit_set (key, i);
    }
    map.have.first_seq = h->rec_first;
    map.have.count = n;
    map.have.have_bits = have;
    map.have.key_bits = key;
    hl_send (hl, &map, NULL);
  } else if (h->attack == HOSTILE_FUTURE_START) {
    hl_send_future (hl);
  }
}

/* ---- attacks ---------------------------------------------------------- */

static void
attack_push (HostileLink * hl)
{
  HostilePeer *h = hl->h;
  guint64 seq;

  if (!hl->have_any)
    return;
  if (hl->next_push < hl->newest + PUSH_AHEAD)
    hl->next_push = hl->newest + PUSH_AHEAD;
  /* one segment per tick, each a little further on */
  seq = hl->next_push++;
  switch (h->attack) {
    case HOSTILE_FORGED:
    case HOSTILE_FORGED_NEW_IDS:{
      SwarmIdentity *forger = h->other;
      GBytes *b = h->make_segment (seq, forger, h->user_data);
      hl_push_segment (hl, seq, b, FALSE);
      g_bytes_unref (b);
      break;
    }
    case HOSTILE_WRONG_SWARM:{
      GBytes *b = h->make_segment (seq, h->other, h->user_data);
      SwarmMessage have = {.type = SWARM_MSG_HAVE };
      guint8 bits[1] = { 0x80 };

      have.have.first_seq = seq;
      have.have.count = 1;
      have.have.have_bits = bits;
      have.have.key_bits = bits;
      hl_send (hl, &have, NULL);
      hl_push_segment (hl, seq, b, FALSE);
      g_bytes_unref (b);
      break;
    }
    case HOSTILE_ALTERED:{
      GBytes *b = h->make_segment (seq, NULL, h->user_data);
      gsize size;
      guint8 *copy = g_bytes_unref_to_data (b, &size);
      GBytes *altered;

      /* one byte in the middle chunk: the signature covers it */
      copy[(size / SWARM_CHUNK_SIZE / 2) * SWARM_CHUNK_SIZE +
          MIN (10, size % SWARM_CHUNK_SIZE)] ^= 0x5a;
      altered = g_bytes_new_take (copy, size);
      hl_push_segment (hl, seq, altered, FALSE);
      g_bytes_unref (altered);
      break;
    }
    default:
      g_assert_not_reached ();
  }
}

static void
attack_request_flood (HostileLink * hl)
{
  guint i;

  if (!hl->have_any)
    return;
  for (i = 0; i < 100; i++) {
    SwarmMessage m = {.type = SWARM_MSG_REQUEST };

    m.request.seq = hl->newest - MIN (hl->newest, i % 20);
    hl_send (hl, &m, NULL);
  }
}

static void
attack_garbage (HostileLink * hl)
{
  guint8 buf[1400];
  guint i;

  for (i = 0; i < 8; i++) {
    gsize len = g_random_int_range (1, SWARM_WIRE_MAX_DATAGRAM + 1);
    guint j;

    /* noise */
    for (j = 0; j < len; j++)
      buf[j] = g_random_int_range (0, 256);
    hl_send_raw (hl, buf, len);
  }
  /* a truncated HAVE */
  buf[0] = SWARM_WIRE_VERSION;
  buf[1] = SWARM_MSG_HAVE;
  memset (buf + 2, 0xff, 6);
  hl_send_raw (hl, buf, 8);
  /* an unknown message type, and a version from the future */
  buf[1] = 200;
  hl_send_raw (hl, buf, 40);
  buf[0] = SWARM_WIRE_VERSION + 1;
  buf[1] = SWARM_MSG_PING;
  hl_send_raw (hl, buf, 10);
  /* a PING with trailing bytes */
  {
    SwarmMessage m = {.type = SWARM_MSG_PING };
    gsize n = swarm_wire_write (&m, buf, sizeof buf);
    hl_send_raw (hl, buf, n + 3);
  }
  /* oversized: a DATA header with more payload than any datagram holds
   * (DTLS may refuse to carry it; what it carries is counted) */
  memset (buf, 0x11, sizeof buf);
  buf[0] = SWARM_WIRE_VERSION;
  buf[1] = SWARM_MSG_DATA;
  hl_send_raw (hl, buf, sizeof buf);
  hl_send_raw (hl, buf, SWARM_WIRE_MAX_DATAGRAM + 1);
}

static void
attack_replay (HostileLink * hl)
{
  guint i, r;

  if (!hl->have_any)
    return;
  if (!hl->replay) {
    guint64 seq = hl->newest + PUSH_AHEAD;
    GBytes *b = hl->h->make_segment (seq, NULL, hl->h->user_data);

    hl->replay = g_ptr_array_new_with_free_func ((GDestroyNotify)
        g_bytes_unref);
    hl_push_segment (hl, seq, b, TRUE);
    g_bytes_unref (b);
    return;
  }
  for (r = 0; r < 30; r++)
    for (i = 0; i < hl->replay->len; i++) {
      gsize len;
      const guint8 *d = g_bytes_get_data (g_ptr_array_index (hl->replay, i),
          &len);
      hl_send_raw (hl, d, len);
    }
}

static void
attack_far_ahead (HostileLink * hl)
{
  SwarmMessage m = {.type = SWARM_MSG_HAVE };
  guint8 bits[1] = { 0xff };

  if (!hl->have_any)
    return;
  m.have.first_seq = hl->newest + 100000 + hl->ticks * 8;
  m.have.count = 8;
  m.have.have_bits = bits;
  m.have.key_bits = bits;
  hl_send (hl, &m, NULL);
}

/* Each announcement 96 segments past the last one (within what a viewer
 * used to allow per step): a stranger dragging the live edge. */
static void
attack_have_ratchet (HostileLink * hl)
{
  HostilePeer *h = hl->h;

  if (!hl->have_any)
    return;
  if (h->ratchet < hl->newest)
    h->ratchet = hl->newest;
  h->ratchet += 96;
  hl_announce_one (hl, h->ratchet);
}

/* Stale start: serves the recording, whole, as asked. */
static void
stale_start_request (HostileLink * hl, const SwarmMessage * m)
{
  HostilePeer *h = hl->h;
  GBytes *segment;

  if (m->request.seq < h->rec_first
      || m->request.seq >= h->rec_first + h->rec_count)
    return;
  segment = h->make_segment (m->request.seq, NULL, h->user_data);
  swarm_link_begin_batch (hl->link);
  hl_push_segment (hl, m->request.seq, segment, FALSE);
  if (!hl->closed)
    swarm_link_end_batch (hl->link);
  g_bytes_unref (segment);
  g_mutex_lock (&h->lock);
  h->stats.recording_served++;
  g_mutex_unlock (&h->lock);
}

static void
attack_signal_flood (HostileLink * hl)
{
  guint8 payload[1000];
  guint i;

  if (!hl->remote_id)
    return;
  memset (payload, 'a', sizeof payload);
  for (i = 0; i < 20; i++) {
    SwarmMessage m = {.type = SWARM_MSG_SIGNAL };
    gchar offer_id[SWARM_WIRE_PEER_ID_LEN + 1];

    g_snprintf (offer_id, sizeof offer_id, "%020u", hl->ticks * 20 + i);
    /* half for the victim to assemble, half for it to pass on under
     * somebody else's name */
    memcpy (m.signal.to, i % 2 ? hl->remote_id : "XXXXXXXXXXXXXXXXXXXX",
        SWARM_WIRE_PEER_ID_LEN);
    memcpy (m.signal.from, i % 2 ? hl->h->peer_id : "YYYYYYYYYYYYYYYYYYYY",
        SWARM_WIRE_PEER_ID_LEN);
    memcpy (m.signal.offer_id, offer_id, SWARM_WIRE_PEER_ID_LEN);
    m.signal.kind = SWARM_SIGNAL_OFFER;
    m.signal.fragment = 0;
    m.signal.fragments = SWARM_WIRE_MAX_SIGNAL_FRAGMENTS;
    m.signal.payload = payload;
    m.signal.payload_len = sizeof payload;
    hl_send (hl, &m, NULL);
  }
}

static void
attack_huge_segments (HostileLink * hl)
{
  static guint8 payload[SWARM_CHUNK_SIZE];
  guint i;

  if (!hl->have_any)
    return;
  for (i = 0; i < 40; i++) {
    SwarmMessage m = {.type = SWARM_MSG_DATA };

    m.data.seq = hl->newest + PUSH_AHEAD + i;
    m.data.chunk_index = 0;
    m.data.chunk_count = SWARM_MAX_CHUNKS_PER_SEGMENT;
    m.data.segment_size = SWARM_MAX_SEGMENT_SIZE;
    m.data.send_time_us = (guint32) g_get_monotonic_time ();
    m.data.payload = payload;
    m.data.payload_len = SWARM_CHUNK_SIZE;
    hl_send (hl, &m, NULL);
  }
}

/* Deaf once: announces, one per tick, the segments just ahead of what the
 * victim has (genuine: the origin publishes the same bytes later), so the
 * victim asks us first. */
static void
attack_announce_ahead (HostileLink * hl)
{
  if (!hl->have_any)
    return;
  if (hl->next_push < hl->newest + 1)
    hl->next_push = hl->newest + 1;
  if (hl->next_push > hl->newest + PUSH_AHEAD)
    return;
  hl_announce_one (hl, hl->next_push++);
}

/* Deaf once: the first REQUEST for a segment goes unanswered, as if the
 * path lost it; the second is served with the whole segment. */
static void
deaf_once_request (HostileLink * hl, const SwarmMessage * m)
{
  guint known = MIN (hl->n_asked, G_N_ELEMENTS (hl->asked_once)), i;
  GBytes *segment;

  if (m->request.count > 0)
    return;
  for (i = 0; i < known && hl->asked_once[i] != m->request.seq; i++);
  if (i == known) {
    hl->asked_once[hl->n_asked++ % G_N_ELEMENTS (hl->asked_once)] =
        m->request.seq;
    return;
  }
  segment = hl->h->make_segment (m->request.seq, NULL, hl->h->user_data);
  swarm_link_begin_batch (hl->link);
  hl_push_segment (hl, m->request.seq, segment, FALSE);
  if (!hl->closed)
    swarm_link_end_batch (hl->link);
  g_bytes_unref (segment);
}

/* Busy: every request for what it announced is turned away... */
static void
busy_request (HostileLink * hl, const SwarmMessage * m)
{
  SwarmMessage busy = {.type = SWARM_MSG_BUSY };

  busy.busy.seq = m->request.seq;
  hl_send (hl, &busy, NULL);
  hl->busy_answers++;
}

/* ...and once one was, BUSY for segments never asked of it, 40 a tick:
 * each would cost the victim a pass of its scheduler. */
#define BUSY_FLOOD_PER_TICK 40

static void
attack_busy (HostileLink * hl)
{
  guint i;

  attack_announce_ahead (hl);
  if (!hl->busy_answers)
    return;
  for (i = 0; i < BUSY_FLOOD_PER_TICK; i++) {
    SwarmMessage m = {.type = SWARM_MSG_BUSY };

    m.busy.seq = hl->newest - MIN (hl->newest, 1000 + i);
    hl_send (hl, &m, NULL);
  }
}

/* Announces rounds of offers nobody can connect to, every tick: each
 * reaches another peer of the swarm, which must not take on more
 * handshakes than it allows, and the tracker must not relay all of it.
 * FLOOD_ROUNDS_PER_TICK rounds a tick (80 messages a second) overrun the
 * tracker's budget (16 a second after a burst of 64) within a second or
 * two even when the ticks come late (memcheck); one a tick took 16 s at
 * best and never came to it under memcheck. */
#define FLOOD_ROUNDS_PER_TICK 4

static void
attack_offer_flood_round (HostilePeer * h)
{
  SwarmTrackerOffer offers[SWARM_TRACKER_MAX_OFFERS];
  gchar ids[SWARM_TRACKER_MAX_OFFERS][SWARM_TRACKER_ID_LEN + 1];
  static guint round;
  guint i;

  if (!swarm_tracker_client_is_connected (h->tracker))
    return;
  for (i = 0; i < SWARM_TRACKER_MAX_OFFERS; i++) {
    g_snprintf (ids[i], sizeof ids[i], "flood%07u%08u", round, i);
    offers[i].offer_id = ids[i];
    offers[i].sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\n";
  }
  round++;
  if (swarm_tracker_client_announce (h->tracker, NULL, 1,
          SWARM_TRACKER_MAX_OFFERS, offers, SWARM_TRACKER_MAX_OFFERS, NULL)) {
    g_mutex_lock (&h->lock);
    h->stats.attack_messages++;
    g_mutex_unlock (&h->lock);
  }
}

static void
attack_offer_flood (HostilePeer * h)
{
  guint i;

  for (i = 0; i < FLOOD_ROUNDS_PER_TICK; i++)
    attack_offer_flood_round (h);
}

static void
hl_attack (HostileLink * hl)
{
  if (hl->closed || !hl->connected || !hl->hello)
    return;
  hl->ticks++;
  /* keep-alive, as any peer: the victim hears from us even when it has
   * nothing to say itself */
  if (hl->ticks % 8 == 0) {
    SwarmMessage ping = {.type = SWARM_MSG_PING };
    guint8 buf[64];
    gsize n;

    ping.ping.nonce = hl->ticks;
    ping.ping.time_us = (guint32) g_get_monotonic_time ();
    n = swarm_wire_write (&ping, buf, sizeof buf);
    swarm_link_send (hl->link, buf, n);
  }
  swarm_link_begin_batch (hl->link);
  switch (hl->h->attack) {
    case HOSTILE_HONEST:
    case HOSTILE_CROSSING_HIGH:
    case HOSTILE_CROSSING_LOW:
      break;
    case HOSTILE_FORGED:
    case HOSTILE_FORGED_NEW_IDS:
    case HOSTILE_ALTERED:
    case HOSTILE_WRONG_SWARM:
      attack_push (hl);
      break;
    case HOSTILE_REQUEST_FLOOD:
      attack_request_flood (hl);
      break;
    case HOSTILE_GARBAGE:
      attack_garbage (hl);
      break;
    case HOSTILE_REPLAY:
      attack_replay (hl);
      break;
    case HOSTILE_FAR_AHEAD:
      attack_far_ahead (hl);
      break;
    case HOSTILE_SIGNAL_FLOOD:
      attack_signal_flood (hl);
      break;
    case HOSTILE_HUGE_SEGMENTS:
      attack_huge_segments (hl);
      break;
    case HOSTILE_OFFER_FLOOD:
      break;
    case HOSTILE_DEAF_ONCE:
      attack_announce_ahead (hl);
      break;
    case HOSTILE_HAVE_RATCHET:
      attack_have_ratchet (hl);
      break;
    case HOSTILE_BUSY:
      attack_busy (hl);
      break;
    case HOSTILE_FUTURE_START:
      /* and again, as a peer that means it */
      hl_send_future (hl);
      break;
    case HOSTILE_STALE_START:
    case HOSTILE_ROLE_CLAIM:
    case HOSTILE_ID_TAKEOVER:
      break;
  }
  if (!hl->closed)
    swarm_link_end_batch (hl->link);
}

static const SwarmTrackerClientCallbacks tracker_callbacks;

/* Cut off: comes back to the tracker as somebody else. */
static void
hostile_new_identity (HostilePeer * h)
{
  swarm_tracker_client_free (h->tracker);
  g_mutex_lock (&h->lock);
  g_free (h->peer_id);
  h->peer_id = swarm_peer_id_generate ();
  h->stats.ids_used++;
  g_mutex_unlock (&h->lock);
  GST_INFO ("back as %s", h->peer_id);
  h->tracker = swarm_tracker_client_new (h->url, h->info_hash, h->peer_id,
      &tracker_callbacks, h);
  swarm_tracker_client_start (h->tracker);
}

static gboolean
tick_cb (gpointer data)
{
  HostilePeer *h = data;
  guint i = 0;

  if (h->attack == HOSTILE_OFFER_FLOOD)
    attack_offer_flood (h);
  if (h->attack == HOSTILE_FORGED_NEW_IDS
      && h->stats.links_closed >= h->stats.ids_used) {
    gboolean linked = FALSE;

    for (i = 0; i < h->links->len; i++) {
      HostileLink *hl = g_ptr_array_index (h->links, i);
      linked |= hl->connected && !hl->closed;
    }
    i = 0;
    /* cut off everywhere: somebody new */
    if (!linked)
      hostile_new_identity (h);
  }
  while (i < h->links->len) {
    HostileLink *hl = g_ptr_array_index (h->links, i);

    if (hl->closed) {
      g_ptr_array_remove_index_fast (h->links, i);
      continue;
    }
    hl_attack (hl);
    i++;
  }
  return G_SOURCE_CONTINUE;
}

/* ---- link callbacks --------------------------------------------------- */

static void crossing_announce (HostilePeer * h);

static void
on_link_description (SwarmLink * link, const gchar * sdp, gpointer user_data)
{
  HostileLink *hl = user_data;
  GError *error = NULL;

  if (hl->offerer) {
    /* kept until every offer of the round is described */
    hl->local_sdp = g_strdup (sdp);
    hl->h->offers_described++;
    crossing_announce (hl->h);
    return;
  }
  if (!swarm_tracker_client_answer (hl->h->tracker, hl->remote_id,
          hl->offer_id, sdp, &error)) {
    GST_INFO ("could not answer: %s", error->message);
    g_error_free (error);
  }
  if (hl->drop_once_answered) {
    GST_INFO ("crossing: answered %s's offer, dropping that link",
        hl->remote_id);
    swarm_link_close (hl->link);
  }
}

static void
on_link_connected (SwarmLink * link, gpointer user_data)
{
  HostileLink *hl = user_data;

  hl->connected = TRUE;
  g_mutex_lock (&hl->h->lock);
  hl->h->stats.links_connected++;
  if (!hl->h->stats.first_link) {
    hl->h->stats.first_link = hl->offerer ? 'o' : 'a';
    if (hl->h->crossed_us)
      hl->h->stats.cross_to_link_ms =
          (g_get_monotonic_time () - hl->h->crossed_us) / 1000;
  }
  g_mutex_unlock (&hl->h->lock);
  GST_INFO ("linked to %s (%s)", hl->remote_id,
      hostile_attack_name (hl->h->attack));
  hl_send_hello (hl);
}

static void
on_link_datagram (SwarmLink * link, const guint8 * data, gsize len,
    gpointer user_data)
{
  HostileLink *hl = user_data;
  HostilePeer *h = hl->h;
  SwarmMessage m;
  guint i;

  if (!swarm_wire_parse (data, len, &m, NULL))
    return;
  switch (m.type) {
    case SWARM_MSG_HELLO:
      if (!hl->hello) {
        hl->hello = TRUE;
        g_mutex_lock (&h->lock);
        h->stats.hellos++;
        g_mutex_unlock (&h->lock);
      }
      break;
    case SWARM_MSG_HAVE:
      /* announcements repeat the segments just before (a lost one is
       * made good by the next) */
      if (hl->have_any && m.have.count >= 1
          && swarm_wire_bit_get (m.have.have_bits, m.have.count - 1)) {
        g_mutex_lock (&h->lock);
        h->stats.haves++;
        if (m.have.count >= 2
            && swarm_wire_bit_get (m.have.have_bits, m.have.count - 2))
          h->stats.have_repeats++;
        g_mutex_unlock (&h->lock);
      }
      for (i = 0; i < m.have.count; i++)
        if (swarm_wire_bit_get (m.have.have_bits, i)
            && (!hl->have_any || m.have.first_seq + i > hl->newest)) {
          hl->newest = m.have.first_seq + i;
          hl->have_any = TRUE;
        }
      break;
    case SWARM_MSG_PING:{
      SwarmMessage pong = {.type = SWARM_MSG_PONG };
      pong.ping = m.ping;
      if (!hl->closed && hl->connected) {
        guint8 buf[64];
        gsize n = swarm_wire_write (&pong, buf, sizeof buf);
        swarm_link_send (hl->link, buf, n);
      }
      break;
    }
    case SWARM_MSG_BYE:
      g_mutex_lock (&h->lock);
      h->stats.byes++;
      g_mutex_unlock (&h->lock);
      break;
    case SWARM_MSG_DATA:
      g_mutex_lock (&h->lock);
      h->stats.genuine_chunks++;
      g_mutex_unlock (&h->lock);
      break;
    case SWARM_MSG_REQUEST:
      if (h->attack == HOSTILE_DEAF_ONCE && hl->hello && !hl->closed)
        deaf_once_request (hl, &m);
      if (h->attack == HOSTILE_STALE_START && hl->hello && !hl->closed)
        stale_start_request (hl, &m);
      if (h->attack == HOSTILE_BUSY && hl->hello && !hl->closed)
        busy_request (hl, &m);
      break;
    default:
      break;
  }
}

static void
on_link_closed (SwarmLink * link, const GError * error, gpointer user_data)
{
  HostileLink *hl = user_data;

  GST_INFO ("link to %s closed: %s", hl->remote_id,
      error ? error->message : "close_notify");
  if (hl->connected) {
    g_mutex_lock (&hl->h->lock);
    hl->h->stats.links_closed++;
    g_mutex_unlock (&hl->h->lock);
  }
  hl->closed = TRUE;            /* freed by the next tick */
}

static const SwarmLinkCallbacks link_callbacks = {
  .description = on_link_description,
  .connected = on_link_connected,
  .datagram = on_link_datagram,
  .closed = on_link_closed,
};

/* ---- tracker callbacks ------------------------------------------------ */

static void
on_tracker_connected (SwarmTrackerClient * c, gpointer user_data)
{
  GError *error = NULL;

  if (!swarm_tracker_client_announce (c, "started", 1, 0, NULL, 0, &error)) {
    GST_INFO ("announce failed: %s", error->message);
    g_error_free (error);
  }
}

/* Takes up @peer_id's offer: a link as answerer, answered once gathered. */
static HostileLink *
hostile_answer_offer (HostilePeer * h, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp)
{
  SwarmLinkConfig config = { 0 };
  HostileLink *hl;
  GError *error = NULL;
  guint i, live = 0;

  for (i = 0; i < h->links->len; i++) {
    HostileLink *o = g_ptr_array_index (h->links, i);
    if (!o->closed)
      live++;
  }
  if (live >= MAX_LINKS)
    return NULL;
  config.connect_timeout_ms = 5000;
  hl = g_new0 (HostileLink, 1);
  hl->h = h;
  hl->remote_id = g_strdup (peer_id);
  hl->offer_id = g_strdup (offer_id);
  hl->link = swarm_link_new (h->context, SWARM_LINK_ANSWERER, &config,
      h->credentials, &link_callbacks, hl);
  g_ptr_array_add (h->links, hl);
  if (!swarm_link_set_remote_description (hl->link, sdp, &error)
      || !swarm_link_start (hl->link, &error)) {
    GST_INFO ("bad offer: %s", error->message);
    g_error_free (error);
    hl->closed = TRUE;
  }
  return hl;
}

/* Crossing, step 1: the victim offered; hold its offer and offer to it
 * (and to the origin, as the tracker shares offers out one per peer). */
static void
crossing_start (HostilePeer * h, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp)
{
  SwarmLinkConfig config = { 0 };
  guint i;

  h->crossing_started = TRUE;
  h->held_from = g_strdup (peer_id);
  h->held_offer_id = g_strdup (offer_id);
  h->held_sdp = g_strdup (sdp);
  config.connect_timeout_ms = 5000;
  for (i = 0; i < CROSSING_OFFERS; i++) {
    HostileLink *hl = g_new0 (HostileLink, 1);
    GError *error = NULL;

    hl->h = h;
    hl->offerer = TRUE;
    hl->offer_id = swarm_peer_id_generate ();
    hl->link = swarm_link_new (h->context, SWARM_LINK_OFFERER, &config,
        h->credentials, &link_callbacks, hl);
    g_ptr_array_add (h->links, hl);
    if (!swarm_link_start (hl->link, &error))
      g_error ("crossing: could not start an offer: %s", error->message);
  }
}

/* Step 2: every offer is described: announce them together. */
static void
crossing_announce (HostilePeer * h)
{
  SwarmTrackerOffer offers[CROSSING_OFFERS];
  GError *error = NULL;
  guint i, n = 0;

  if (h->offers_described < CROSSING_OFFERS)
    return;
  for (i = 0; i < h->links->len && n < CROSSING_OFFERS; i++) {
    HostileLink *hl = g_ptr_array_index (h->links, i);

    if (hl->offerer && hl->local_sdp) {
      offers[n].offer_id = hl->offer_id;
      offers[n].sdp = hl->local_sdp;
      n++;
    }
  }
  if (!swarm_tracker_client_announce (h->tracker, NULL, 1, n, offers, n,
          &error)) {
    GST_INFO ("crossing: announce failed: %s", error->message);
    g_error_free (error);
  }
}

static void
on_tracker_offer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  HostilePeer *h = user_data;

  g_mutex_lock (&h->lock);
  h->stats.offers++;
  g_mutex_unlock (&h->lock);
  if (hostile_is_crossing (h->attack) && !h->crossing_started) {
    crossing_start (h, peer_id, offer_id, sdp);
    return;
  }
  hostile_answer_offer (h, peer_id, offer_id, sdp);
}

/* Step 3: the victim answered our offer, so it now holds a link as
 * answerer while its own offer is still open: answer that offer now, and
 * the two links cross.  Both ends keep the link whose offerer has the
 * smaller peer id; we drop the other one ourselves, as the victim must. */
static void
on_tracker_answer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  HostilePeer *h = user_data;
  HostileLink *ours = NULL, *theirs;
  GError *error = NULL;
  gboolean keep_ours;
  guint i;

  for (i = 0; i < h->links->len && !ours; i++) {
    HostileLink *hl = g_ptr_array_index (h->links, i);
    if (hl->offerer && !hl->closed && !hl->remote_id
        && g_strcmp0 (hl->offer_id, offer_id) == 0)
      ours = hl;
  }
  if (!ours)
    return;
  if (g_strcmp0 (peer_id, h->held_from) != 0 || h->crossed_us) {
    swarm_link_close (ours->link);      /* the origin's answer: not wanted */
    return;
  }
  ours->remote_id = g_strdup (peer_id);
  if (!swarm_link_set_remote_description (ours->link, sdp, &error)) {
    GST_INFO ("crossing: bad answer: %s", error->message);
    g_error_free (error);
    swarm_link_close (ours->link);
    return;
  }
  theirs = hostile_answer_offer (h, h->held_from, h->held_offer_id,
      h->held_sdp);
  g_assert (theirs != NULL);
  h->crossed_us = g_get_monotonic_time ();
  g_mutex_lock (&h->lock);
  h->stats.crossings++;
  g_mutex_unlock (&h->lock);
  keep_ours = strcmp (h->peer_id, peer_id) < 0;
  GST_INFO ("crossing with %s: keeping %s link", peer_id,
      keep_ours ? "our" : "its");
  if (keep_ours)
    theirs->drop_once_answered = TRUE;
  else
    swarm_link_close (ours->link);
}

static const SwarmTrackerClientCallbacks tracker_callbacks = {
  .connected = on_tracker_connected,
  .offer = on_tracker_offer,
  .answer = on_tracker_answer,
};

/* ---- thread and lifecycle --------------------------------------------- */

typedef struct {
  HostilePeer *h;
  GMutex lock;
  GCond cond;
  gboolean started;
} StartSync;

static gpointer
hostile_thread (gpointer data)
{
  StartSync *sync = data;
  HostilePeer *h = sync->h;

  g_main_context_push_thread_default (h->context);
  h->tracker = swarm_tracker_client_new (h->url, h->info_hash, h->peer_id,
      &tracker_callbacks, h);
  swarm_tracker_client_start (h->tracker);
  h->tick = g_timeout_source_new (TICK_MS);
  g_source_set_callback (h->tick, tick_cb, h, NULL);
  g_source_attach (h->tick, h->context);
  g_mutex_lock (&sync->lock);
  sync->started = TRUE;
  g_cond_signal (&sync->cond);
  g_mutex_unlock (&sync->lock);

  g_main_loop_run (h->loop);
  g_main_context_pop_thread_default (h->context);
  return NULL;
}

HostilePeer *
hostile_peer_start (const gchar * tracker_url, const guint8 * swarm_key,
    HostileAttack attack, HostileSegmentFunc make_segment, gpointer user_data)
{
  return hostile_peer_start_as (tracker_url, swarm_key, attack, make_segment,
      user_data, NULL);
}

HostilePeer *
hostile_peer_start_as (const gchar * tracker_url, const guint8 * swarm_key,
    HostileAttack attack, HostileSegmentFunc make_segment, gpointer user_data,
    const gchar * peer_id)
{
  HostilePeer *h = g_new0 (HostilePeer, 1);
  StartSync sync = { 0 };

  if (!hostile_debug)
    GST_DEBUG_CATEGORY_INIT (hostile_debug, "hostile", 0, "hostile test peer");
  h->attack = attack;
  h->make_segment = make_segment;
  h->user_data = user_data;
  h->url = g_strdup (tracker_url);
  memcpy (h->swarm_key, swarm_key, SWARM_WIRE_KEY_LEN);
  h->info_hash = swarm_id_to_info_hash (swarm_key);
  /* generated ids are "-GP" + version + "-" + 12 of [0-9A-Za-z] */
  if (peer_id)
    h->peer_id = g_strdup (peer_id);
  else if (attack == HOSTILE_CROSSING_HIGH)
    h->peer_id = g_strdup ("-GP0100-zzzzzzzzzzzz");
  else if (attack == HOSTILE_CROSSING_LOW)
    h->peer_id = g_strdup ("-GP0100-000000000000");
  else
    h->peer_id = swarm_peer_id_generate ();
  h->stats.cross_to_link_ms = -1;
  h->stats.ids_used = 1;
  h->other = swarm_identity_generate (NULL);
  h->credentials = swarm_dtls_credentials_new (NULL);
  g_assert (h->credentials);
  h->links = g_ptr_array_new_with_free_func ((GDestroyNotify) hl_free);
  h->context = g_main_context_new ();
  h->loop = g_main_loop_new (h->context, FALSE);
  g_mutex_init (&h->lock);

  sync.h = h;
  g_mutex_init (&sync.lock);
  g_cond_init (&sync.cond);
  h->thread = g_thread_new ("hostile-peer", hostile_thread, &sync);
  g_mutex_lock (&sync.lock);
  while (!sync.started)
    g_cond_wait (&sync.cond, &sync.lock);
  g_mutex_unlock (&sync.lock);
  g_mutex_clear (&sync.lock);
  g_cond_clear (&sync.cond);
  return h;
}

void
hostile_peer_get_stats (HostilePeer * h, HostileStats * stats)
{
  g_mutex_lock (&h->lock);
  *stats = h->stats;
  g_mutex_unlock (&h->lock);
}

void
hostile_peer_set_recording (HostilePeer * h, guint64 first, guint count,
    const SwarmMessage * edge)
{
  g_mutex_lock (&h->lock);
  h->rec_first = first;
  h->rec_count = count;
  if (edge)
    h->rec_edge = *edge;
  h->has_recording = edge != NULL;
  g_mutex_unlock (&h->lock);
}

const gchar *
hostile_peer_get_id (HostilePeer * h)
{
  return h->peer_id;
}

static gboolean
teardown (gpointer data)
{
  HostilePeer *h = data;
  guint i;

  g_source_destroy (h->tick);
  g_source_unref (h->tick);
  for (i = 0; i < h->links->len; i++) {
    HostileLink *hl = g_ptr_array_index (h->links, i);
    if (!hl->closed)
      swarm_link_close (hl->link);
  }
  g_ptr_array_set_size (h->links, 0);
  swarm_tracker_client_free (h->tracker);
  g_main_loop_quit (h->loop);
  return G_SOURCE_REMOVE;
}

void
hostile_peer_stop (HostilePeer * h)
{
  guint i;

  g_main_context_invoke (h->context, teardown, h);
  g_thread_join (h->thread);
  /* let queued closes run */
  for (i = 0; i < 64 && g_main_context_iteration (h->context, FALSE); i++);
  g_ptr_array_unref (h->links);
  g_main_loop_unref (h->loop);
  g_main_context_unref (h->context);
  swarm_dtls_credentials_unref (h->credentials);
  swarm_identity_unref (h->other);
  g_free (h->url);
  g_free (h->info_hash);
  g_free (h->peer_id);
  g_free (h->held_from);
  g_free (h->held_offer_id);
  g_free (h->held_sdp);
  g_mutex_clear (&h->lock);
  g_free (h);
}

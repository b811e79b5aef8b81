/* Hostile input: a peer speaking our protocol over a real link joins a
 * live swarm and attacks a viewer.  Whatever it does, the viewer plays
 * only the genuine stream (byte for byte), keeps playing, cuts the peer
 * off and refuses it for a while, and stays within its memory bounds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <swarm/swarm-internal.h>
#include "p2p-test-util.h"
#include "hostile-peer.h"

/* TRANSFER_BYTES_MAX in swarm-session.c */
#define TRANSFER_BYTES_MAX (64 * 1024 * 1024)
#define SEGMENT_PERIOD_US \
  (TEST_KEYFRAME_EVERY * TEST_BUFFER_INTERVAL / GST_USECOND)

/* The origin's first segment: numbers start from the wall clock in
 * milliseconds (swarm-sequence.h), so a recording of an earlier run sits
 * below it. */
#define FIRST_SEQ G_GUINT64_CONSTANT (1000000)
/* The stale-start recording: an earlier run, this many segments back
 * (at 100 ms a segment, almost three hours) */
#define RECORDING_BACK 100000
#define RECORDING_SEGMENTS 50

/* An origin driven through the library, so the hostile peer can build the
 * very segments it publishes (and forge or alter them): segment k holds
 * stream buffers 10k..10k+9. */
typedef struct {
  SwarmIdentity *identity;
  SwarmSession *session;
  GThread *thread;
  gint stop;
  gint hold;                    /* publishes nothing until released */
  guint64 first_seq;            /* of this run */
  guint64 next_seq;             /* next to publish (origin thread) */
  gint64 t0_real;               /* when FIRST_SEQ was (or would have been) published */
  gint64 skew_us;               /* the publisher's clock minus the real one */
  guint tracker_port;           /* 0: any; a restart takes the same */
  gchar *uri;
  gchar *tracker_url;
} Origin;

static GBytes *
make_segment (guint64 seq, SwarmIdentity * signer, gpointer data)
{
  Origin *o = data;
  GstCaps *caps = test_caps_new ();
  SwarmSegmentBuilder *b = swarm_segment_builder_new (seq, caps,
      SWARM_SEGMENT_FLAG_KEYFRAME);
  GBytes *bytes;
  guint i;

  for (i = 0; i < TEST_KEYFRAME_EVERY; i++) {
    GstBuffer *buf = test_buffer_new (seq * TEST_KEYFRAME_EVERY + i);
    swarm_segment_builder_add (b, buf);
    gst_buffer_unref (buf);
  }
  /* the publishing time its schedule gives it, whoever builds it */
  bytes = swarm_segment_builder_finish (b, signer ? signer : o->identity,
      o->t0_real + ((gint64) seq - (gint64) FIRST_SEQ) * SEGMENT_PERIOD_US,
      NULL);
  g_assert (bytes != NULL);
  gst_caps_unref (caps);
  return bytes;
}

static gpointer
origin_run (gpointer data)
{
  Origin *o = data;
  gint64 t0;
  guint64 seq;

  while (g_atomic_int_get (&o->hold) && !g_atomic_int_get (&o->stop))
    g_usleep (10 * 1000);
  /* the schedule runs from now: what a real publisher's clock says */
  o->t0_real = g_get_real_time () + o->skew_us -
      ((gint64) o->first_seq - (gint64) FIRST_SEQ) * SEGMENT_PERIOD_US;
  t0 = g_get_monotonic_time ();
  for (seq = o->first_seq; !g_atomic_int_get (&o->stop); seq++) {
    GBytes *bytes = make_segment (seq, NULL, o);
    gint64 next = t0 + (gint64) (seq - o->first_seq + 1) * SEGMENT_PERIOD_US;

    swarm_session_publish (o->session, seq, SWARM_SEGMENT_FLAG_KEYFRAME,
        bytes);
    g_bytes_unref (bytes);
    o->next_seq = seq + 1;
    test_sleep_until (next);
  }
  return NULL;
}

/* Starts (or, with o->identity and o->tracker_port set, restarts) the
 * origin; with @hold, it publishes nothing until origin_release(). */
static void
origin_start_full (Origin * o, gboolean hold)
{
  SwarmSessionConfig config = { 0 };
  gchar *id;
  guint port;

  if (!o->identity)
    o->identity = swarm_identity_generate (NULL);
  if (!o->first_seq)
    o->first_seq = FIRST_SEQ;
  config.role = SWARM_SESSION_ORIGIN;
  config.identity = o->identity;
  config.tracker_address = "127.0.0.1";
  config.tracker_port = o->tracker_port;
  config.max_peers = 8;
  o->session = swarm_session_new (&config, NULL, NULL);
  fail_unless (swarm_session_start (o->session, NULL));
  fail_unless (swarm_session_wait_ready (o->session, 10000, NULL));
  port = swarm_session_get_tracker_port (o->session);
  o->tracker_port = port;
  id = swarm_identity_get_swarm_id (o->identity);
  g_free (o->uri);
  g_free (o->tracker_url);
  o->uri = g_strdup_printf ("p2p://127.0.0.1:%u/%s", port, id);
  o->tracker_url = g_strdup_printf ("ws://127.0.0.1:%u/announce", port);
  g_free (id);
  g_atomic_int_set (&o->stop, 0);
  g_atomic_int_set (&o->hold, hold);
  o->t0_real = g_get_real_time () + o->skew_us -
      ((gint64) o->first_seq - (gint64) FIRST_SEQ) * SEGMENT_PERIOD_US;
  o->next_seq = o->first_seq;
  o->thread = g_thread_new ("origin", origin_run, o);
}

static void
origin_start (Origin * o)
{
  origin_start_full (o, FALSE);
}

static void
origin_release (Origin * o)
{
  g_atomic_int_set (&o->hold, 0);
}

/* The publisher goes away; its identity stays for a restart. */
static void
origin_halt (Origin * o)
{
  g_atomic_int_set (&o->stop, 1);
  g_thread_join (o->thread);
  swarm_session_free (o->session);
  o->session = NULL;
}

static void
origin_stop (Origin * o)
{
  origin_halt (o);
  swarm_identity_unref (o->identity);
  g_free (o->uri);
  g_free (o->tracker_url);
}

/* The stale-start recording: an earlier run's segments, and the EDGE its
 * publisher signed then (the test holds the key). */
static void
set_recording (Origin * o, HostilePeer * h, HostileAttack attack)
{
  SwarmMessage edge = {.type = SWARM_MSG_EDGE };
  guint64 first = FIRST_SEQ - RECORDING_BACK;

  if (attack != HOSTILE_STALE_START) {
    hostile_peer_set_recording (h, FIRST_SEQ, 0, NULL);
    return;
  }
  edge.edge.seq = first + RECORDING_SEGMENTS - 1;
  edge.edge.epoch_seq = first - 1000;
  edge.edge.publish_time_us = o->t0_real - (gint64) (FIRST_SEQ -
      edge.edge.seq) * SEGMENT_PERIOD_US;
  edge.edge.flags = SWARM_SEGMENT_FLAG_KEYFRAME;
  fail_unless (swarm_edge_sign (o->identity, &edge, NULL));
  hostile_peer_set_recording (h, first, RECORDING_SEGMENTS, &edge);
}

/* Index of the first stream buffer the viewer played (after the header). */
static guint
test_viewer_first_index (TestViewer * v)
{
  guint idx = 0;

  g_mutex_lock (&v->lock);
  if (v->buffers->len >= 2) {
    GstMapInfo map;
    GstBuffer *b = g_ptr_array_index (v->buffers, 1);

    gst_buffer_map (b, &map, GST_MAP_READ);
    idx = GST_READ_UINT32_BE (map.data);
    gst_buffer_unmap (b, &map);
  }
  g_mutex_unlock (&v->lock);
  return idx;
}

/* A partner that claimed the origin's role without its proof counts as
 * a viewer. */
static void
check_role (TestViewer * v, const gchar * id)
{
  GstStructure *stats = test_viewer_stats (v);
  const GValue *peers = gst_structure_get_value (stats, "peer-stats");
  gboolean seen = FALSE;
  guint i;

  fail_unless (peers != NULL);
  for (i = 0; i < gst_value_array_get_size (peers); i++) {
    const GstStructure *p =
        gst_value_get_structure (gst_value_array_get_value (peers, i));
    const gchar *pid = gst_structure_get_string (p, "id");

    if (pid && g_str_equal (pid, id)) {
      fail_unless_equals_string (gst_structure_get_string (p, "role"),
          "viewer");
      seen = TRUE;
    } else {
      /* the real origin still is one */
      fail_unless_equals_string (gst_structure_get_string (p, "role"),
          "origin");
    }
  }
  fail_unless (seen, "the role claimer is not among the viewer's partners");
  fail_unless (test_stat_u64 (stats, "messages-junk") >= 1);
  gst_structure_free (stats);
}

typedef gboolean (*HostileCond) (const HostileStats * st, TestViewer * v,
    guint arg);

/* Polls @cond for up to @timeout_ms. */
static gboolean
wait_for (HostilePeer * h, TestViewer * v, HostileCond cond, guint arg,
    guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    HostileStats st;

    hostile_peer_get_stats (h, &st);
    if (cond (&st, v, arg))
      return TRUE;
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (20 * 1000);
  }
}

static gboolean
is_linked (const HostileStats * st, TestViewer * v, guint arg)
{
  return st->links_connected >= 1 && st->hellos >= 1;
}

static gboolean
is_cut_off (const HostileStats * st, TestViewer * v, guint arg)
{
  GstStructure *stats = test_viewer_stats (v);
  guint64 banned = test_stat_u64 (stats, "peers-banned");

  gst_structure_free (stats);
  return banned >= 1 && st->links_closed >= 1;
}

static gboolean
was_offered (const HostileStats * st, TestViewer * v, guint arg)
{
  return st->offers > arg;
}

typedef struct {
  HostileAttack attack;
  gboolean banned;              /* the viewer must cut it off and ban it */
  gboolean may_ban;             /* it may, once the flood runs long enough */
  const gchar *counter;         /* a viewer stat the attack must move */
  /* the hostile peer is the viewer's first impression: it links before
   * the origin publishes anything */
  gboolean first_word;
} AttackCase;

static guint64
origin_stat (Origin * o, const gchar * field)
{
  GstStructure *stats = swarm_session_get_stats (o->session);
  guint64 x = test_stat_u64 (stats, field);

  gst_structure_free (stats);
  return x;
}

/* Offers flooded through the tracker: no link to wait for; the origin
 * refuses the handshakes beyond its bound, the tracker closes the
 * flooding connection, and the viewer plays on. */
static void
run_offer_flood (Origin * o, TestViewer * v, HostilePeer * h)
{
  gint64 deadline = g_get_monotonic_time () + TEST_MS (20000) * 1000;
  guint n;

  while ((origin_stat (o, "offers-refused") == 0
          || origin_stat (o, "tracker-connections-flooding") == 0)
      && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  fail_unless (origin_stat (o, "offers-refused") >= 1,
      "the origin took on every flooded offer");
  fail_unless (origin_stat (o, "tracker-connections-flooding") >= 1,
      "the tracker relayed the whole flood");
  n = test_viewer_count (v);
  fail_unless (test_viewer_wait (v, n + 250, TEST_MS (15000)),
      "offer flood: the viewer stopped playing");
  /* the origin is still in the tracker's swarm, and the viewer still
   * linked to it: nothing the flood did cost a real partner */
  {
    GstStructure *stats = swarm_session_get_stats (o->session);
    guint peers = 0;

    fail_unless (gst_structure_get_uint (stats, "peers", &peers));
    fail_unless (peers >= 1, "the origin lost its viewer");
    gst_structure_free (stats);
  }
}

/* A forger that comes back under a new peer id each time it is cut off:
 * after SWARM_BAN_ADDRESS_STRIKES (3, swarm-bans.h) bans from one address, the address is
 * kept away, and nothing it sends is looked at again. */
static void
run_new_ids (TestViewer * v, HostilePeer * h)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) TEST_MS (60000) * 1000;
  GstStructure *stats;
  guint64 rejected, refused;
  HostileStats st;

  for (;;) {
    stats = test_viewer_stats (v);
    rejected = test_stat_u64 (stats, "segments-rejected");
    if (test_stat_u64 (stats, "address-bans") >= 1 ||
        g_get_monotonic_time () > deadline)
      break;
    gst_structure_free (stats);
    g_usleep (100 * 1000);
  }
  fail_unless (test_stat_u64 (stats, "address-bans") >= 1,
      "the forger's address was never kept away (%" G_GUINT64_FORMAT
      " peers banned)", test_stat_u64 (stats, "peers-banned"));
  fail_unless (test_stat_u64 (stats, "peers-banned") >= 3);
  refused = test_stat_u64 (stats, "links-refused-address");
  gst_structure_free (stats);
  hostile_peer_get_stats (h, &st);
  fail_unless (st.ids_used >= 3, "%u ids", st.ids_used);

  /* it keeps coming back; nothing it sends is looked at */
  fail_unless (test_viewer_wait (v, test_viewer_count (v) + 300,
          TEST_MS (20000)));
  stats = test_viewer_stats (v);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-rejected"),
      rejected);
  GST_INFO ("new ids: %u ids, %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
      " links refused by address", st.ids_used, refused,
      test_stat_u64 (stats, "links-refused-address"));
  gst_structure_free (stats);
}

/* A stranger announces under the origin's peer id: the tracker refuses
 * it, and a newcomer still finds the origin (before, the takeover
 * unlisted the origin, and newcomers failed "No publisher for swarm"). */
static void
run_takeover (Origin * o, TestViewer * v)
{
  TestViewer *v2;
  gchar *props;

  g_usleep ((gulong) TEST_MS (1000) * 1000);
  fail_unless (origin_stat (o, "tracker-announces-refused") >= 1,
      "the tracker took the origin's id from a stranger");
  props = g_strdup_printf ("latency=%u join-timeout=%u", TEST_MS (500),
      TEST_MS (10000));
  v2 = test_viewer_start (o->uri, props);
  g_free (props);
  fail_unless (test_viewer_wait (v2, 50, TEST_MS (20000)),
      "after the takeover a newcomer did not find the origin");
  test_viewer_stop (v2);
  test_viewer_free (v2);
  /* nor did the viewer already there notice anything */
  fail_unless (test_viewer_wait (v, test_viewer_count (v) + 200,
          TEST_MS (15000)));
}

/* Offers crossed (each side answered the other's): the link whose
 * offerer has the smaller peer id came up, and soon.  Were each side to
 * keep a different one, both would wait out ICE (7 s and more) on a link
 * the other side had dropped. */
static void
check_crossing (HostileAttack attack, const HostileStats * st)
{
  /* "-GP0100-zzzzzzzzzzzz" sorts above the viewer's id: its offer wins */
  gchar kept = attack == HOSTILE_CROSSING_HIGH ? 'a' : 'o';

  fail_unless_equals_int (st->crossings, 1);
  fail_unless (st->first_link == kept, "%s: first link was '%c', not '%c'",
      hostile_attack_name (attack), st->first_link, kept);
  fail_unless (st->cross_to_link_ms >= 0
      && st->cross_to_link_ms < TEST_MS (4000),
      "%s: the link came up %" G_GINT64_FORMAT " ms after the crossing",
      hostile_attack_name (attack), st->cross_to_link_ms);
}

static void
run_attack (const AttackCase * c)
{
  /* On the heap: under CK_FORK=no (valgrind) a failed assertion leaves
   * this function by longjmp while the origin's thread and the viewer
   * still run; on the stack, they crashed on the freed frame and hid
   * which assertion failed.  A failed case leaks it; a passed one frees
   * it. */
  Origin *o = g_new0 (Origin, 1);
  TestViewer *v;
  HostilePeer *h;
  HostileStats st;
  GstStructure *stats;
  guint n, connected;
  gdouble continuity = 0;
  gchar *props;

  GST_INFO ("attack: %s", hostile_attack_name (c->attack));
  origin_start_full (o, c->first_word);
  props = g_strdup_printf ("latency=%u join-timeout=%u", TEST_MS (500),
      TEST_MS (10000));
  if (c->first_word) {
    h = hostile_peer_start (o->tracker_url,
        swarm_identity_get_public_key (o->identity), c->attack, make_segment,
        o);
    set_recording (o, h, c->attack);
    v = test_viewer_start (o->uri, props);
    fail_unless (wait_for (h, v, is_linked, 0, TEST_MS (20000)),
        "%s: the hostile peer never became a partner",
        hostile_attack_name (c->attack));
    /* its word sinks in before the origin says anything */
    g_usleep ((gulong) TEST_MS (1000) * 1000);
    origin_release (o);
    fail_unless (test_viewer_wait (v, 30, TEST_MS (20000)),
        "%s: the viewer did not start", hostile_attack_name (c->attack));
  } else {
    v = test_viewer_start (o->uri, props);
    fail_unless (test_viewer_wait (v, 30, TEST_MS (20000)),
        "viewer did not start");
    h = hostile_peer_start_as (o->tracker_url,
        swarm_identity_get_public_key (o->identity), c->attack, make_segment,
        o, c->attack == HOSTILE_ID_TAKEOVER ?
        swarm_session_get_peer_id (o->session) : NULL);
  }
  g_free (props);
  if (c->attack == HOSTILE_OFFER_FLOOD) {
    run_offer_flood (o, v, h);
    goto check_viewer;
  }
  if (c->attack == HOSTILE_ID_TAKEOVER) {
    run_takeover (o, v);
    goto check_viewer;
  }
  /* the viewer looks for partners and reaches the hostile peer too */
  fail_unless (wait_for (h, v, is_linked, 0, TEST_MS (20000)),
      "%s: the hostile peer never became a partner",
      hostile_attack_name (c->attack));

  if (c->attack == HOSTILE_FORGED_NEW_IDS) {
    run_new_ids (v, h);
    goto check_viewer;
  }
  if (c->banned) {
    fail_unless (wait_for (h, v, is_cut_off, 0, TEST_MS (15000)),
        "%s: the viewer did not cut the hostile peer off",
        hostile_attack_name (c->attack));
  } else {
    g_usleep ((gulong) TEST_MS (3000) * 1000);
  }
  hostile_peer_get_stats (h, &st);
  connected = st.links_connected;
  if (c->attack == HOSTILE_CROSSING_HIGH || c->attack == HOSTILE_CROSSING_LOW)
    check_crossing (c->attack, &st);
  if (c->attack == HOSTILE_ROLE_CLAIM)
    check_role (v, hostile_peer_get_id (h));
  if (c->attack == HOSTILE_HONEST) {
    fail_unless_equals_int (st.links_closed, 0);
    /* each announcement names the segment before it too */
    fail_unless (st.haves >= 5, "%u announcements", st.haves);
    fail_unless (st.have_repeats * 10 >= st.haves * 8,
        "%u of %u announcements repeat the one before", st.have_repeats,
        st.haves);
  }

  /* it keeps playing */
  n = test_viewer_count (v);
  fail_unless (test_viewer_wait (v, n + 150, TEST_MS (15000)),
      "%s: the viewer stopped playing at %u buffers",
      hostile_attack_name (c->attack), test_viewer_count (v));

  if (c->banned) {
    /* the viewer offers again (it has too few partners) and the hostile
     * peer answers, but no link comes up while it is banned */
    fail_unless (wait_for (h, v, was_offered, st.offers, TEST_MS (15000)),
        "no new offer reached the hostile peer");
    fail_unless (test_viewer_wait (v, test_viewer_count (v) + 100, TEST_MS (15000)));
    hostile_peer_get_stats (h, &st);
    fail_unless_equals_int (st.links_connected, connected);
  }

check_viewer:
  stats = test_viewer_stats (v);
  GST_INFO ("%s: viewer stats %" GST_PTR_FORMAT,
      hostile_attack_name (c->attack), stats);
  fail_unless (test_stat_u64 (stats, "segments-played") >= 20);
  fail_unless (gst_structure_get_double (stats, "continuity", &continuity));
  fail_unless (continuity >= test_quality_floor (0.9),
      "%s: continuity %.2f", hostile_attack_name (c->attack), continuity);
  fail_unless (test_stat_u64 (stats, "transfer-bytes-peak") <=
      TRANSFER_BYTES_MAX);
  fail_unless (test_stat_u64 (stats, "transfer-bytes") <= TRANSFER_BYTES_MAX);
  if (c->banned) {
    fail_unless (test_stat_u64 (stats, "peers-banned") >= 1);
  } else if (!c->may_ban) {
    fail_unless_equals_uint64 (test_stat_u64 (stats, "peers-banned"), 0);
    fail_unless_equals_uint64 (test_stat_u64 (stats, "peers-misbehaved"), 0);
  }
  if (c->counter)
    fail_unless (test_stat_u64 (stats, c->counter) >= 1, "%s: %s is 0",
        hostile_attack_name (c->attack), c->counter);
  if (c->attack == HOSTILE_BUSY)
    fail_unless (test_stat_u64 (stats, "messages-junk") >= 1);
  if (c->attack == HOSTILE_HUGE_SEGMENTS)
    /* the claims reached the viewer, and it held only what it allows */
    fail_unless (test_stat_u64 (stats, "transfer-bytes-peak") >=
        SWARM_MAX_SEGMENT_SIZE);
  gst_structure_free (stats);

  /* only genuine buffers, in order, byte for byte */
  fail_unless (test_viewer_verify (v) >= 200);
  /* ...and only live ones: nothing of a recording played as live */
  fail_unless (test_viewer_first_index (v) >= FIRST_SEQ * TEST_KEYFRAME_EVERY,
      "%s: the viewer played buffer %u, before the live run (%"
      G_GUINT64_FORMAT ")", hostile_attack_name (c->attack),
      test_viewer_first_index (v), FIRST_SEQ * TEST_KEYFRAME_EVERY);

  hostile_peer_stop (h);
  test_viewer_stop (v);
  test_viewer_free (v);
  origin_stop (o);
  g_free (o);
}

static const AttackCase attacks[] = {
  {HOSTILE_HONEST, FALSE, FALSE, NULL},
  {HOSTILE_FORGED, TRUE, TRUE, "segments-rejected"},
  {HOSTILE_ALTERED, TRUE, TRUE, "segments-rejected"},
  {HOSTILE_WRONG_SWARM, TRUE, TRUE, "peers-misbehaved"},
  {HOSTILE_REQUEST_FLOOD, TRUE, TRUE, "peers-misbehaved"},
  {HOSTILE_GARBAGE, TRUE, TRUE, "messages-junk"},
  {HOSTILE_REPLAY, TRUE, TRUE, "chunks-unwanted"},
  {HOSTILE_FAR_AHEAD, TRUE, TRUE, "announcements-refused"},
  {HOSTILE_SIGNAL_FLOOD, TRUE, TRUE, "signals-dropped"},
  {HOSTILE_HUGE_SEGMENTS, FALSE, TRUE, "chunks-unwanted"},
  {HOSTILE_OFFER_FLOOD, FALSE, TRUE, NULL},
  /* not hostile: a partner whose first answer is lost each time; the
   * viewer asks again after two round trips, not after a stall */
  {HOSTILE_DEAF_ONCE, FALSE, FALSE, "requests-resent"},
  /* not hostile either: offers that cross (check_crossing) */
  {HOSTILE_CROSSING_HIGH, FALSE, FALSE, NULL},
  {HOSTILE_CROSSING_LOW, FALSE, FALSE, NULL},
  /* the live edge: a stranger cannot move it, nor hold a newcomer on a
   * recording, nor send it 2*10^7 segments ahead */
  {HOSTILE_HAVE_RATCHET, TRUE, TRUE, "announcements-refused"},
  {HOSTILE_STALE_START, FALSE, TRUE, "edges-refused", TRUE},
  {HOSTILE_FUTURE_START, TRUE, TRUE, "announcements-refused", TRUE},
  {HOSTILE_ROLE_CLAIM, FALSE, TRUE, NULL},
  /* bans by a made-up id alone would not hold */
  {HOSTILE_FORGED_NEW_IDS, TRUE, TRUE, "address-bans"},
  /* the tracker's side of identity */
  {HOSTILE_ID_TAKEOVER, FALSE, FALSE, NULL},
  /* a holder that turns every request away is asked nothing for a while
   * (the segments come from the origin); BUSY for what was never asked of
   * it is junk, and a flood of it cuts the peer off */
  {HOSTILE_BUSY, TRUE, TRUE, "requests-turned-away"},
};

/* HOSTILE_ATTACK=NAME[,NAME…] runs only those cases (the others pass). */
GST_START_TEST (test_attack)
{
  const gchar *only = g_getenv ("HOSTILE_ATTACK");
  const gchar *name = hostile_attack_name (attacks[__i__].attack);

  if (only) {
    g_auto (GStrv) names = g_strsplit (only, ",", -1);
    if (!g_strv_contains ((const gchar * const *) names, name))
      return;
  }
  run_attack (&attacks[__i__]);
}

GST_END_TEST;

/* Waits until the origin has @n partners. */
static gboolean
wait_origin_partners (Origin * o, guint n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint peers = 0;

  do {
    GstStructure *stats = swarm_session_get_stats (o->session);

    gst_structure_get_uint (stats, "peers", &peers);
    gst_structure_free (stats);
    if (peers >= n)
      return TRUE;
    g_usleep (20 * 1000);
  } while (g_get_monotonic_time () < deadline);
  return FALSE;
}

/* The publisher dies and comes back on the same key and port 2 s later,
 * numbering its new run far past the old one (the wall clock moved on):
 * the viewer follows it without an error, from a keyframe of the new run
 * flagged DISCONT, and counts the restart. */
GST_START_TEST (test_publisher_restart)
{
  Origin *o = g_new0 (Origin, 1);
  TestViewer *v;
  GstStructure *stats;
  guint n, i, new_from = 0;
  gchar *props;

  origin_start (o);
  props = g_strdup_printf ("latency=%u join-timeout=%u", TEST_MS (500),
      TEST_MS (10000));
  v = test_viewer_start (o->uri, props);
  g_free (props);
  fail_unless (test_viewer_wait (v, 30, TEST_MS (20000)), "viewer did not start");

  origin_halt (o);
  g_usleep ((gulong) TEST_MS (2000) * 1000);
  o->first_seq = o->next_seq + 600000;
  /* the viewer finds it before its first segment, and passes it the old
   * run's EDGE: that must not become the new run's */
  origin_start_full (o, TRUE);
  fail_unless (wait_origin_partners (o, 1, TEST_MS (10000)),
      "the viewer did not find the restarted publisher");
  g_usleep ((gulong) TEST_MS (300) * 1000);
  origin_release (o);
  n = test_viewer_count (v);
  fail_unless (test_viewer_wait (v, n + 200, TEST_MS (20000)),
      "the viewer did not follow the restarted publisher (%u buffers)",
      test_viewer_count (v));

  stats = test_viewer_stats (v);
  GST_INFO ("restart: viewer stats %" GST_PTR_FORMAT, stats);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "publisher-restarts"), 1);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "announcements-refused"),
      0);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "peers-banned"), 0);
  gst_structure_free (stats);

  /* genuine buffers throughout; the new run starts on a keyframe with
   * DISCONT, and runs on without a gap */
  g_mutex_lock (&v->lock);
  for (i = 1; i < v->buffers->len; i++) {
    GstBuffer *out = g_ptr_array_index (v->buffers, i), *in;
    GstMapInfo map;
    guint idx;

    gst_buffer_map (out, &map, GST_MAP_READ);
    idx = GST_READ_UINT32_BE (map.data);
    gst_buffer_unmap (out, &map);
    in = test_buffer_new (idx);
    fail_unless (test_buffer_bytes_equal (out, in), "buffer %u differs", idx);
    gst_buffer_unref (in);
    if (idx >= o->first_seq * TEST_KEYFRAME_EVERY && !new_from) {
      new_from = i;
      fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DISCONT),
          "the new run began without DISCONT");
      fail_if (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT));
    }
  }
  fail_unless (new_from > 0, "nothing of the new run was played");
  fail_unless (v->buffers->len - new_from >= 150);
  g_mutex_unlock (&v->lock);

  test_viewer_stop (v);
  test_viewer_free (v);
  origin_stop (o);
  g_free (o);
}

GST_END_TEST;

/* A publisher whose clock is a minute ahead: a viewer refuses its word
 * on where live is (it cannot tell it from a replay) and fails with an
 * error that says why; one told to allow two minutes plays. */
GST_START_TEST (test_publisher_clock_skew)
{
  Origin *o = g_new0 (Origin, 1);
  TestViewer *v;
  GstMessage *msg;
  GError *error = NULL;
  GstStructure *stats;
  gboolean warned = FALSE;
  gchar *props;

  o->skew_us = 60 * G_USEC_PER_SEC;
  origin_start (o);
  props = g_strdup_printf ("latency=%u join-timeout=%u", TEST_MS (500),
      TEST_MS (4000));
  v = test_viewer_start (o->uri, props);
  g_free (props);
  /* a warning that names the cause, then the error */
  while ((msg = test_wait_message (v->pipeline, GST_MESSAGE_ERROR |
              GST_MESSAGE_WARNING, NULL, TEST_MS (20000)))) {
    gboolean is_error = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR;

    if (is_error)
      gst_message_parse_error (msg, &error, NULL);
    else
      gst_message_parse_warning (msg, &error, NULL);
    GST_INFO ("clock skew: %s", error->message);
    if (!is_error && strstr (error->message, "clock"))
      warned = TRUE;
    g_clear_error (&error);
    gst_message_unref (msg);
    if (is_error)
      break;
  }
  fail_unless (msg != NULL, "the viewer played a publisher a minute ahead");
  fail_unless (warned, "no warning about the publisher's clock");
  fail_unless_equals_int (test_viewer_count (v), 0);
  stats = test_viewer_stats (v);
  fail_unless (test_stat_u64 (stats, "edges-refused") >= 1);
  gst_structure_free (stats);
  test_viewer_stop (v);
  test_viewer_free (v);

  props = g_strdup_printf ("latency=%u clock-tolerance=120000", TEST_MS (500));
  v = test_viewer_start (o->uri, props);
  g_free (props);
  fail_unless (test_viewer_wait (v, 100, TEST_MS (20000)),
      "clock-tolerance=120000 did not let the viewer play");
  stats = test_viewer_stats (v);
  {
    gint64 offset_ms = 0;

    fail_unless (gst_structure_get_int64 (stats, "clock-offset-ms",
            &offset_ms));
    fail_unless (offset_ms >= 59000 && offset_ms <= 61000,
        "clock-offset-ms %" G_GINT64_FORMAT, offset_ms);
  }
  gst_structure_free (stats);
  test_viewer_stop (v);
  test_viewer_free (v);
  origin_stop (o);
  g_free (o);
}

GST_END_TEST;

static Suite *
hostile_suite (void)
{
  Suite *s = suite_create ("hostile");
  TCase *tc = test_tcase_create ("attacks");

  tcase_set_timeout (tc, 90);
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_attack, 0, G_N_ELEMENTS (attacks));
  tcase_add_test (tc, test_publisher_restart);
  tcase_add_test (tc, test_publisher_clock_skew);
  return s;
}

TEST_CHECK_MAIN (hostile);

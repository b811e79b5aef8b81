/* p2psrc against a scripted swarm: where it starts and where that start
 * moves, what it skips, how it follows a restarted publisher, when it gives
 * up (join timeout), the GAP events and DISCONT flags it makes and the
 * buffers it plays, with no network and no waiting.  The element runs in
 * a GstHarness on a GstTestClock; a fake SwarmFeed (swarm-feed.h) given
 * under SWARM_FEED_DATA_KEY serves real segments, signed with a test key,
 * at scripted times, and moves the test clock to a wait's deadline
 * instead of sleeping: each case takes milliseconds.  The end-to-end suites
 * (elements_p2psrc, elements_swarm ...) stay as the slower tier.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <swarm/swarm-internal.h>

/* Segments of two 100 ms buffers; a keyframe segment every GOP. */
#define SEG_MS 200
#define BUF_MS 100
#define GOP 5
#define FIRST_SEQ 100
/* The test clock starts here (running time: base time 0). */
#define CLOCK_START_US G_GINT64_CONSTANT (10000000)
/* A segment is whole SEG_MS after its capture begins, and comes this much
 * later (announced and delivered). */
#define DELAY_US (50 * 1000)
#define NEVER G_MAXINT64
/* p2psrc's properties in every case but one */
#define LATENCY_MS 500
#define JOIN_TIMEOUT_MS 5000

typedef struct
{
  guint64 seq;
  gboolean keyframe;
  GBytes *bytes;
  gint64 announce_us;
  gint64 arrive_us;             /* NEVER: announced, never delivered */
  gint64 served_us;             /* first handed to the viewer, 0: never */
} FakeSegment;

/* A run of the publisher: the number of its first segment, and when (on
 * the test clock) it began capturing, its stream time 0.  A restart is a
 * new run on the same key: numbers past the old run's (swarm-sequence.h),
 * stream time from 0 again. */
typedef struct
{
  guint64 first_seq;
  gint64 start_us;
} FakeRun;

static const FakeRun first_run = { FIRST_SEQ, CLOCK_START_US };

/* From @at_us on, the publisher's EDGEs name a run beginning at @seq. */
typedef struct
{
  gint64 at_us;
  guint64 seq;
} FakeEpoch;

typedef struct
{
  SwarmFeed parent;
  GstTestClock *clock;
  GMutex lock;
  GArray *segments;             /* FakeSegment, by seq */
  GArray *restarts;             /* FakeEpoch by time: runs after the first */
  gboolean flushing;
  /* the flushing starts at this wait for segment flush_seq (0: never) */
  guint64 flush_seq;
  guint flush_at_wait;
  guint waits;                  /* in a row, with the clock standing still */
  gint64 waits_at_us;
  /* what the viewer noted, and asked for */
  GArray *played;               /* guint64 */
  GArray *missed;               /* guint64 */
  guint64 missed_n;
  guint startups;
  gint64 startup_ms;            /* the last noted */
  GArray *playouts;             /* guint64: set_playout, in order */
  /* the first ERROR the element posted, and when (test clock) */
  GstBus *bus;
  GstMessage *error;
  gint64 error_us;
  guint errors;
} FakeSwarm;

#define FAKE(feed) ((FakeSwarm *) (feed))

static SwarmIdentity *publisher;

/* ---- the scripted swarm ------------------------------------------------ */

static gint64
fake_now_locked (FakeSwarm * f)
{
  return (gint64) (gst_clock_get_time (GST_CLOCK (f->clock)) / 1000);
}

static gint64
fake_now_us (SwarmFeed * feed)
{
  return fake_now_locked (FAKE (feed));
}

/* What a wait did: the clock moves to when it returned. */
static void
fake_advance (FakeSwarm * f, gint64 to_us)
{
  if (to_us > fake_now_locked (f))
    gst_test_clock_set_time (f->clock, (GstClockTime) to_us * 1000);
}

static FakeSegment *
fake_find (FakeSwarm * f, guint64 seq)
{
  guint i;

  for (i = 0; i < f->segments->len; i++)
    if (g_array_index (f->segments, FakeSegment, i).seq == seq)
      return &g_array_index (f->segments, FakeSegment, i);
  return NULL;
}

/* The newest segment announced by @now (a keyframe one with @keyframe)
 * after @after; FALSE if none. */
static gboolean
fake_newest (FakeSwarm * f, gint64 now, gboolean keyframe, guint64 after,
    guint64 * seq)
{
  gboolean found = FALSE;
  guint i;

  for (i = 0; i < f->segments->len; i++) {
    FakeSegment *s = &g_array_index (f->segments, FakeSegment, i);

    if (s->announce_us <= now && s->seq > after && (!keyframe || s->keyframe)) {
      *seq = found ? MAX (*seq, s->seq) : s->seq;
      found = TRUE;
    }
  }
  return found;
}

/* Waits for a keyframe segment announced after @after: the earliest
 * time one is, if by the deadline. */
static SwarmWaitResult
fake_wait_keyframe (FakeSwarm * f, guint64 after, gint64 deadline,
    guint64 * seq)
{
  gint64 when = NEVER;
  guint i;

  g_mutex_lock (&f->lock);
  if (f->flushing) {
    g_mutex_unlock (&f->lock);
    return SWARM_WAIT_CANCELLED;
  }
  for (i = 0; i < f->segments->len; i++) {
    FakeSegment *s = &g_array_index (f->segments, FakeSegment, i);

    if (s->keyframe && s->seq > after)
      when = MIN (when, s->announce_us);
  }
  if (when > deadline) {
    fake_advance (f, deadline);
    g_mutex_unlock (&f->lock);
    return SWARM_WAIT_TIMEOUT;
  }
  fake_advance (f, when);
  fake_newest (f, fake_now_locked (f), TRUE, after, seq);
  g_mutex_unlock (&f->lock);
  return SWARM_WAIT_OK;
}

static SwarmWaitResult
fake_wait_start (SwarmFeed * feed, gint64 deadline_us, guint64 * seq)
{
  return fake_wait_keyframe (FAKE (feed), 0, deadline_us, seq);
}

static SwarmWaitResult
fake_wait_keyframe_after (SwarmFeed * feed, guint64 after,
    gint64 deadline_us, guint64 * seq)
{
  return fake_wait_keyframe (FAKE (feed), after, deadline_us, seq);
}

static SwarmWaitResult
fake_wait_segment (SwarmFeed * feed, guint64 seq, gint64 deadline_us,
    GBytes ** segment, gint64 * arrival_us)
{
  FakeSwarm *f = FAKE (feed);
  FakeSegment *s;
  SwarmWaitResult r;

  g_mutex_lock (&f->lock);
  s = fake_find (f, seq);
  /* a viewer that asks again and again without time moving is spinning */
  if (fake_now_locked (f) != f->waits_at_us) {
    f->waits_at_us = fake_now_locked (f);
    f->waits = 0;
  }
  fail_unless (++f->waits < 10000, "%u waits at one time: the viewer spins",
      f->waits);
  if (f->flush_seq == seq && f->flush_at_wait > 0 && --f->flush_at_wait == 0)
    f->flushing = TRUE;
  if (f->flushing) {
    r = SWARM_WAIT_CANCELLED;
  } else if (s && s->arrive_us <= MAX (deadline_us, fake_now_locked (f))) {
    fake_advance (f, s->arrive_us);
    if (!s->served_us)
      s->served_us = fake_now_locked (f);
    *segment = g_bytes_ref (s->bytes);
    if (arrival_us)
      *arrival_us = s->arrive_us;
    r = SWARM_WAIT_OK;
  } else {
    fake_advance (f, deadline_us);
    r = SWARM_WAIT_TIMEOUT;
  }
  g_mutex_unlock (&f->lock);
  return r;
}

static gboolean
fake_get_newest_seq (SwarmFeed * feed, guint64 * seq)
{
  FakeSwarm *f = FAKE (feed);
  gboolean found;

  g_mutex_lock (&f->lock);
  found = fake_newest (f, fake_now_locked (f), FALSE, 0, seq);
  g_mutex_unlock (&f->lock);
  return found;
}

static gboolean
fake_get_newest_keyframe_seq (SwarmFeed * feed, guint64 * seq)
{
  FakeSwarm *f = FAKE (feed);
  gboolean found;

  g_mutex_lock (&f->lock);
  found = fake_newest (f, fake_now_locked (f), TRUE, 0, seq);
  g_mutex_unlock (&f->lock);
  return found;
}

/* As the session: the run the newest EDGE names, and how many runs
 * began after the first one seen. */
static gboolean
fake_get_epoch (SwarmFeed * feed, guint64 * epoch_seq, guint64 * restarts)
{
  FakeSwarm *f = FAKE (feed);
  gint64 now;
  guint i;

  g_mutex_lock (&f->lock);
  now = fake_now_locked (f);
  *epoch_seq = FIRST_SEQ;
  *restarts = 0;
  for (i = 0; i < f->restarts->len; i++) {
    FakeEpoch *e = &g_array_index (f->restarts, FakeEpoch, i);

    if (e->at_us <= now) {
      *epoch_seq = e->seq;
      *restarts = i + 1;
    }
  }
  g_mutex_unlock (&f->lock);
  return TRUE;
}

static gboolean
fake_find_in_hand (SwarmFeed * feed, guint64 after, gboolean keyframe,
    guint64 * seq)
{
  FakeSwarm *f = FAKE (feed);
  gint64 now;
  gboolean found = FALSE;
  guint i;

  g_mutex_lock (&f->lock);
  now = fake_now_locked (f);
  for (i = 0; i < f->segments->len; i++) {
    FakeSegment *s = &g_array_index (f->segments, FakeSegment, i);

    if (s->arrive_us <= now && s->seq > after && (!keyframe || s->keyframe)) {
      *seq = s->seq;
      found = TRUE;
    }
  }
  g_mutex_unlock (&f->lock);
  return found;
}

static void
fake_note (FakeSwarm * f, GArray * list, guint64 seq)
{
  g_mutex_lock (&f->lock);
  g_array_append_val (list, seq);
  g_mutex_unlock (&f->lock);
}

static void
fake_set_playout (SwarmFeed * feed, guint64 seq)
{
  fake_note (FAKE (feed), FAKE (feed)->playouts, seq);
}

static void
fake_set_flushing (SwarmFeed * feed, gboolean flushing)
{
  FakeSwarm *f = FAKE (feed);

  g_mutex_lock (&f->lock);
  f->flushing = flushing;
  g_mutex_unlock (&f->lock);
}

static void
fake_note_played (SwarmFeed * feed, guint64 seq)
{
  fake_note (FAKE (feed), FAKE (feed)->played, seq);
}

static void
fake_note_missed (SwarmFeed * feed, guint64 seq)
{
  fake_note (FAKE (feed), FAKE (feed)->missed, seq);
}

static void
fake_note_missed_n (SwarmFeed * feed, guint64 count)
{
  g_mutex_lock (&FAKE (feed)->lock);
  FAKE (feed)->missed_n += count;
  g_mutex_unlock (&FAKE (feed)->lock);
}

static void
fake_note_startup (SwarmFeed * feed, gint64 startup_ms)
{
  g_mutex_lock (&FAKE (feed)->lock);
  FAKE (feed)->startups++;
  FAKE (feed)->startup_ms = startup_ms;
  g_mutex_unlock (&FAKE (feed)->lock);
}

static const SwarmFeedClass fake_class = {
  .now_us = fake_now_us,
  .wait_start = fake_wait_start,
  .wait_keyframe_after = fake_wait_keyframe_after,
  .wait_segment = fake_wait_segment,
  .get_newest_seq = fake_get_newest_seq,
  .get_newest_keyframe_seq = fake_get_newest_keyframe_seq,
  .get_epoch = fake_get_epoch,
  .find_in_hand = fake_find_in_hand,
  .set_playout = fake_set_playout,
  .set_flushing = fake_set_flushing,
  .note_played = fake_note_played,
  .note_missed = fake_note_missed,
  .note_missed_n = fake_note_missed_n,
  .note_startup = fake_note_startup,
};

/* ---- segments ---------------------------------------------------------- */

/* Stream time where segment @seq of @run begins. */
static GstClockTime
run_pts (const FakeRun * run, guint64 seq)
{
  return (seq - run->first_seq) * SEG_MS * GST_MSECOND;
}

/* When segment @seq of @run is whole and comes, on the test clock. */
static gint64
run_due_us (const FakeRun * run, guint64 seq)
{
  return run->start_us + (gint64) ((seq - run->first_seq + 1) * SEG_MS) *
      1000 + DELAY_US;
}

static gint64
seg_due_us (guint64 seq)
{
  return run_due_us (&first_run, seq);
}

/* Buffer @i of segment @seq: its bytes say which it is. */
static guint8
payload_byte (guint64 seq, guint i)
{
  return (guint8) (seq * 2 + i);
}

/* Keeps the element's first ERROR and when it came; counts them all.
 * Nothing else is wanted: every message is dropped. */
static GstBusSyncReply
fake_on_message (GstBus * bus, GstMessage * message, gpointer user_data)
{
  FakeSwarm *f = user_data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    g_mutex_lock (&f->lock);
    if (!f->error) {
      f->error = gst_message_ref (message);
      f->error_us = fake_now_locked (f);
    }
    f->errors++;
    g_mutex_unlock (&f->lock);
  }
  /* dropped here: ours to unref */
  gst_message_unref (message);
  return GST_BUS_DROP;
}

static FakeSwarm *
fake_new (GstHarness * h)
{
  FakeSwarm *f = g_new0 (FakeSwarm, 1);

  f->parent.klass = &fake_class;
  g_mutex_init (&f->lock);
  f->segments = g_array_new (FALSE, TRUE, sizeof (FakeSegment));
  f->played = g_array_new (FALSE, FALSE, sizeof (guint64));
  f->missed = g_array_new (FALSE, FALSE, sizeof (guint64));
  f->playouts = g_array_new (FALSE, FALSE, sizeof (guint64));
  f->restarts = g_array_new (FALSE, FALSE, sizeof (FakeEpoch));
  gst_harness_use_testclock (h);
  f->clock = gst_harness_get_testclock (h);
  gst_test_clock_set_time (f->clock, (GstClockTime) CLOCK_START_US * 1000);
  g_object_set_data (G_OBJECT (h->element), SWARM_FEED_DATA_KEY, f);
  /* a harness gives its element no bus */
  f->bus = gst_bus_new ();
  gst_bus_set_sync_handler (f->bus, fake_on_message, f, NULL);
  gst_element_set_bus (h->element, f->bus);
  return f;
}

static void
fake_free (FakeSwarm * f)
{
  guint i;

  for (i = 0; i < f->segments->len; i++)
    g_bytes_unref (g_array_index (f->segments, FakeSegment, i).bytes);
  g_array_unref (f->segments);
  g_array_unref (f->played);
  g_array_unref (f->missed);
  g_array_unref (f->playouts);
  g_array_unref (f->restarts);
  gst_clear_message (&f->error);
  gst_bus_set_sync_handler (f->bus, NULL, NULL, NULL);
  gst_object_unref (f->bus);
  gst_object_unref (f->clock);
  g_mutex_clear (&f->lock);
  g_free (f);
}

/* Adds segment @seq of @run: a keyframe one every GOP from the run's
 * first, two buffers, the last with EOS.  Announced at @announce_us (0:
 * when due) and delivered at @arrive_us (0: when due; NEVER: never). */
static void
fake_add_run (FakeSwarm * f, const FakeRun * run, guint64 seq, gboolean eos,
    gint64 announce_us, gint64 arrive_us)
{
  FakeSegment s = { 0 };
  GstCaps *caps = gst_caps_new_empty_simple ("video/x-test");
  SwarmSegmentBuilder *b;
  GError *error = NULL;
  guint i;

  s.seq = seq;
  s.keyframe = (seq - run->first_seq) % GOP == 0;
  b = swarm_segment_builder_new (seq, caps, (s.keyframe ?
          SWARM_SEGMENT_FLAG_KEYFRAME : 0) | (eos ? SWARM_SEGMENT_FLAG_EOS :
          0));
  for (i = 0; i < 2; i++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, 64, NULL);

    gst_buffer_memset (buf, 0, payload_byte (seq, i), 64);
    GST_BUFFER_PTS (buf) = run_pts (run, seq) + i * BUF_MS * GST_MSECOND;
    GST_BUFFER_DURATION (buf) = BUF_MS * GST_MSECOND;
    if (i > 0 || !s.keyframe)
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
    swarm_segment_builder_add (b, buf);
    gst_buffer_unref (buf);
  }
  s.bytes = swarm_segment_builder_finish (b, publisher,
      g_get_real_time (), &error);
  fail_unless (s.bytes != NULL, "%s", error ? error->message : "");
  s.announce_us = announce_us ? announce_us : run_due_us (run, seq);
  s.arrive_us = arrive_us ? arrive_us : run_due_us (run, seq);
  g_array_append_val (f->segments, s);
  gst_caps_unref (caps);
}

/* fake_add_run() for the first run. */
static void
fake_add (FakeSwarm * f, guint64 seq, gboolean eos, gint64 announce_us,
    gint64 arrive_us)
{
  fake_add_run (f, &first_run, seq, eos, announce_us, arrive_us);
}

/* The publisher restarts: @run's first EDGE comes at @at_us. */
static void
fake_restart (FakeSwarm * f, const FakeRun * run, gint64 at_us)
{
  FakeEpoch e = { at_us, run->first_seq };

  g_array_append_val (f->restarts, e);
}

/* ---- running it ---------------------------------------------------------- */

typedef struct
{
  GPtrArray *buffers;           /* GstBuffer*, in order */
  GArray *gaps;                 /* GstClockTime pairs: start, duration */
} Played;

/* Plays until EOS: every buffer and GAP event.  The fake feed never
 * sleeps, so a case takes milliseconds; a streaming task that has sent no
 * EOS after PLAY_TIMEOUT_S of real time (memcheck included) is stuck. */
#define PLAY_TIMEOUT_S 10
static Played
play_all (GstHarness * h)
{
  Played p = { g_ptr_array_new_with_free_func ((GDestroyNotify)
        gst_buffer_unref), g_array_new (FALSE, FALSE, sizeof (GstClockTime))
  };
  gint64 give_up = g_get_monotonic_time () + PLAY_TIMEOUT_S * G_USEC_PER_SEC;
  GstEvent *event;
  GstBuffer *buf;

  gst_harness_play (h);
  for (;;) {
    event = gst_harness_try_pull_event (h);
    if (!event) {
      fail_unless (g_get_monotonic_time () < give_up, "no EOS in %d s: the "
          "streaming task did not stop", PLAY_TIMEOUT_S);
      g_usleep (1000);
      continue;
    }
    if (GST_EVENT_TYPE (event) == GST_EVENT_GAP) {
      GstClockTime ts, duration;

      gst_event_parse_gap (event, &ts, &duration);
      g_array_append_val (p.gaps, ts);
      g_array_append_val (p.gaps, duration);
    }
    if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
      gst_event_unref (event);
      break;
    }
    gst_event_unref (event);
  }
  while ((buf = gst_harness_try_pull (h)))
    g_ptr_array_add (p.buffers, buf);
  return p;
}

static void
played_clear (Played * p)
{
  g_ptr_array_unref (p->buffers);
  g_array_unref (p->gaps);
}

static GstBuffer *
played_buffer (Played * p, guint i)
{
  fail_unless (i < p->buffers->len, "buffer %u of %u", i, p->buffers->len);
  return g_ptr_array_index (p->buffers, i);
}

/* Which segment and buffer @buf is, from its bytes. */
static void
assert_payload (GstBuffer * buf, guint64 seq, guint i)
{
  GstMapInfo map;
  guint k;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, 64);
  for (k = 0; k < map.size; k++)
    fail_unless (map.data[k] == payload_byte (seq, i),
        "byte %u is %u: not buffer %u of segment %" G_GUINT64_FORMAT, k,
        map.data[k], i, seq);
  gst_buffer_unmap (buf, &map);
}

static guint
count_discont (Played * p)
{
  guint i, n = 0;

  for (i = 0; i < p->buffers->len; i++)
    if (GST_BUFFER_FLAG_IS_SET (played_buffer (p, i), GST_BUFFER_FLAG_DISCONT))
      n++;
  return n;
}

static GstHarness *
harness_new (void)
{
  GstHarness *h = gst_harness_new ("p2psrc");

  /* the properties still apply without a swarm */
  g_object_set (h->element, "latency", LATENCY_MS, "join-timeout",
      JOIN_TIMEOUT_MS, NULL);
  return h;
}

/* The element's first ERROR says @text: a join timeout (RESOURCE
 * NOT_FOUND: a viewer that found no swarm to play, gst/common's mapping of
 * SWARM_SESSION_ERROR_JOIN_TIMEOUT).  Then the streaming task stopped
 * cleanly: GstBaseSrc posted the flow error it ends on (the second and
 * last ERROR), sent EOS (play_all() waited for it) and paused. */
static void
assert_join_error (GstHarness * h, FakeSwarm * f, const gchar * text)
{
  GError *error = NULL;
  gchar *debug = NULL;
  GstPad *pad;

  fail_unless (f->error != NULL, "no error posted");
  fail_unless (GST_MESSAGE_SRC (f->error) == GST_OBJECT (h->element));
  gst_message_parse_error (f->error, &error, &debug);
  fail_unless (error->domain == GST_RESOURCE_ERROR, "error domain %s",
      g_quark_to_string (error->domain));
  fail_unless_equals_int (error->code, GST_RESOURCE_ERROR_NOT_FOUND);
  fail_unless_equals_string (error->message, text);
  fail_unless_equals_int (f->errors, 2);
  pad = gst_element_get_static_pad (h->element, "src");
  fail_unless_equals_int (gst_pad_get_task_state (pad), GST_TASK_PAUSED);
  gst_object_unref (pad);
  g_error_free (error);
  g_free (debug);
}

/* ---- cases --------------------------------------------------------------- */

/* Joining mid-GOP: the viewer starts on the newest keyframe segment it
 * can play, never on a delta one, and plays from there in order. */
GST_START_TEST (test_start_on_keyframe)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  Played p;
  guint64 seq, last = FIRST_SEQ + 2 * GOP + 2;
  guint i;

  /* segments 100-107 are in hand when it starts, keyframes 100 and 105;
   * the next keyframe (110) comes more than the latency later */
  for (seq = FIRST_SEQ; seq <= last; seq++)
    fake_add (f, seq, seq == last, 0, 0);
  gst_test_clock_set_time (f->clock,
      (seg_due_us (FIRST_SEQ + GOP + 2) + 10 * 1000) * 1000);

  p = play_all (h);
  fail_unless_equals_int (p.buffers->len, (last - (FIRST_SEQ + GOP) + 1) * 2);
  assert_payload (played_buffer (&p, 0), FIRST_SEQ + GOP, 0);
  fail_if (GST_BUFFER_FLAG_IS_SET (played_buffer (&p, 0),
          GST_BUFFER_FLAG_DELTA_UNIT), "started on a delta unit");
  fail_unless (GST_BUFFER_FLAG_IS_SET (played_buffer (&p, 0),
          GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_int (count_discont (&p), 1);
  fail_unless_equals_int (p.gaps->len, 0);
  for (i = 0; i < p.buffers->len; i++) {
    assert_payload (played_buffer (&p, i), FIRST_SEQ + GOP + i / 2, i % 2);
    if (i > 0)
      fail_unless (GST_BUFFER_PTS (played_buffer (&p, i)) >
          GST_BUFFER_PTS (played_buffer (&p, i - 1)), "buffer %u", i);
  }
  fail_unless_equals_int (f->played->len, last - (FIRST_SEQ + GOP) + 1);
  fail_unless_equals_int (g_array_index (f->played, guint64, 0),
      FIRST_SEQ + GOP);
  fail_unless_equals_int (f->missed->len, 0);
  fail_unless_equals_int (f->startups, 1);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

static GstClockTime
fake_running_time (gpointer data)
{
  FakeSwarm *f = data;

  return gst_clock_get_time (GST_CLOCK (f->clock)) - CLOCK_START_US * 1000;
}

/* Stopping while the viewer looks for a fresher start (the start segment
 * is in hand, newer ones are announced and it waits for the newest): the
 * waits answer CANCELLED at once, and the viewer stops, where it used to
 * ask again until the look's deadline, spinning the CPU (and forever on
 * a clock that only waits move, as a simulator's is). */
GST_START_TEST (test_flushing_while_choosing_start)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  SwarmViewerConfig config = {
    .latency_ms = 500,
    .join_timeout_ms = 5000,
    .running_time = fake_running_time,
    .user_data = f,
  };
  SwarmViewer *v;
  SwarmViewerStep step;
  SwarmViewerResult r;
  guint steps = 0;

  fake_add (f, FIRST_SEQ, FALSE, 0, 0);
  fake_add (f, FIRST_SEQ + 1, FALSE, 0, NEVER);
  fake_add (f, FIRST_SEQ + 2, FALSE, 0, NEVER);
  gst_test_clock_set_time (f->clock,
      (seg_due_us (FIRST_SEQ + 2) + 1000) * 1000);
  /* the first wait for the newest is choosing the start (a peek at how
   * far it runs), the second the look for a fresher one */
  f->flush_seq = FIRST_SEQ + 2;
  f->flush_at_wait = 2;
  v = swarm_viewer_new (&f->parent, &config);
  do {
    r = swarm_viewer_next (v, &step);
    swarm_viewer_step_clear (&step);
    fail_unless (r == SWARM_VIEWER_PLAY || r == SWARM_VIEWER_FLUSHING,
        "step %u: %d", steps, r);
  } while (r != SWARM_VIEWER_FLUSHING && ++steps < 10);
  fail_unless_equals_int (r, SWARM_VIEWER_FLUSHING);
  fail_unless (f->flushing, "stopped before the look for a fresher start");
  swarm_viewer_free (v);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* A segment that never comes while later ones do: a GAP event where it
 * would have played, DISCONT on the next buffer, counted as missed, and
 * playback goes on. */
GST_START_TEST (test_missing_segment_gap)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, lost = FIRST_SEQ + 3, last = FIRST_SEQ + 9;
  GstBuffer *before, *after;
  GstClockTime gap_start, gap_duration;
  Played p;

  for (seq = FIRST_SEQ; seq <= last; seq++)
    fake_add (f, seq, seq == last, 0, seq == lost ? NEVER : 0);
  gst_test_clock_set_time (f->clock, (seg_due_us (FIRST_SEQ) + 10 * 1000)
      * 1000);

  p = play_all (h);
  fail_unless_equals_int (p.buffers->len, (last - FIRST_SEQ) * 2);
  fail_unless_equals_int (p.gaps->len, 2);
  gap_start = g_array_index (p.gaps, GstClockTime, 0);
  gap_duration = g_array_index (p.gaps, GstClockTime, 1);
  fail_unless_equals_uint64 (gap_duration, SEG_MS * GST_MSECOND);

  /* the last buffer of 102, then the first of 104 */
  before = played_buffer (&p, (lost - FIRST_SEQ) * 2 - 1);
  after = played_buffer (&p, (lost - FIRST_SEQ) * 2);
  assert_payload (before, lost - 1, 1);
  assert_payload (after, lost + 1, 0);
  /* the gap covers just the lost segment's time */
  fail_unless_equals_uint64 (gap_start,
      GST_BUFFER_PTS (before) + GST_BUFFER_DURATION (before));
  fail_unless_equals_uint64 (GST_BUFFER_PTS (after), gap_start + gap_duration);
  fail_unless (GST_BUFFER_FLAG_IS_SET (after, GST_BUFFER_FLAG_DISCONT));
  /* the first buffer, and the one after the hole */
  fail_unless_equals_int (count_discont (&p), 2);

  fail_unless_equals_int (f->missed->len, 1);
  fail_unless_equals_int (g_array_index (f->missed, guint64, 0), lost);
  fail_unless_equals_int (f->missed_n, 0);
  fail_unless_equals_int (f->played->len, last - FIRST_SEQ);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* Cut off for two seconds, the viewer finds the swarm far ahead when the
 * announcements come back: it gives up the segment it waited for (GAP)
 * and jumps to the newest keyframe segment instead of chasing the past,
 * skipping whole segments. */
GST_START_TEST (test_far_behind_skips_to_keyframe)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, stalled = FIRST_SEQ + 3, key = FIRST_SEQ + 2 * GOP;
  guint64 last = key + 6;
  /* by then the swarm is 11 segments past the one awaited, its newest
   * keyframe segment 4 before the newest */
  gint64 back = seg_due_us (key + 4) + 10 * 1000;
  GstBuffer *jump;
  Played p;

  for (seq = FIRST_SEQ; seq < stalled; seq++)
    fake_add (f, seq, FALSE, 0, 0);
  /* announced all at once when the link is back, never delivered */
  for (seq = stalled; seq < key; seq++)
    fake_add (f, seq, FALSE, back, NEVER);
  for (seq = key; seq <= last; seq++)
    fake_add (f, seq, seq == last, MAX (back, seg_due_us (seq)),
        MAX (back, seg_due_us (seq)));
  gst_test_clock_set_time (f->clock, (seg_due_us (FIRST_SEQ) + 10 * 1000)
      * 1000);

  p = play_all (h);
  fail_unless_equals_int (p.buffers->len,
      ((stalled - FIRST_SEQ) + (last - key + 1)) * 2);
  fail_unless_equals_int (p.gaps->len, 2);
  jump = played_buffer (&p, (stalled - FIRST_SEQ) * 2);
  assert_payload (jump, key, 0);
  fail_if (GST_BUFFER_FLAG_IS_SET (jump, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless (GST_BUFFER_FLAG_IS_SET (jump, GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_int (count_discont (&p), 2);
  fail_unless (GST_BUFFER_PTS (jump) >= g_array_index (p.gaps, GstClockTime,
          0) + g_array_index (p.gaps, GstClockTime, 1));

  /* the one waited for, then the rest up to the keyframe at once */
  fail_unless_equals_int (f->missed->len, 1);
  fail_unless_equals_int (g_array_index (f->missed, guint64, 0), stalled);
  fail_unless_equals_int (f->missed_n, key - stalled - 1);
  fail_unless_equals_int (f->played->len, (stalled - FIRST_SEQ) +
      (last - key + 1));

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* What the publisher put in a segment comes out as it was: bytes, flags,
 * durations, caps, and the spacing of PTS and DTS (rebased onto running
 * time, all by the same offset while playout has no reason to move). */
GST_START_TEST (test_buffers_keep_publisher_metadata)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  GstCaps *caps = gst_caps_from_string ("video/x-test, variant=(int)7");
  static const struct
  {
    gint pts_ms, dts_ms, duration_ms;
    GstBufferFlags flags;
  } in[] = {
    {0, 0, 40, 0},
    {120, 40, 40, GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_MARKER},
    {40, 80, 40, GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_DROPPABLE},
    {80, 120, 80, GST_BUFFER_FLAG_DELTA_UNIT},
    /* the second segment */
    {200, 200, 40, 0},
    {240, 240, 160, GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_MARKER},
  };
  const GstBufferFlags kept = GST_BUFFER_FLAG_DELTA_UNIT |
      GST_BUFFER_FLAG_MARKER | GST_BUFFER_FLAG_DROPPABLE;
  GstClockTimeDiff offset;
  GstCaps *out_caps;
  Played p;
  guint i, seg;

  for (seg = 0; seg < 2; seg++) {
    SwarmSegmentBuilder *b = swarm_segment_builder_new (FIRST_SEQ + seg,
        caps, SWARM_SEGMENT_FLAG_KEYFRAME | (seg == 1 ?
            SWARM_SEGMENT_FLAG_EOS : 0));
    FakeSegment s = { FIRST_SEQ + seg, TRUE, NULL, 0, 0, 0 };

    for (i = seg * 4; i < (seg == 0 ? 4 : G_N_ELEMENTS (in)); i++) {
      GstBuffer *buf = gst_buffer_new_allocate (NULL, 64, NULL);

      gst_buffer_memset (buf, 0, payload_byte (FIRST_SEQ, i), 64);
      GST_BUFFER_PTS (buf) = in[i].pts_ms * GST_MSECOND;
      GST_BUFFER_DTS (buf) = in[i].dts_ms * GST_MSECOND;
      GST_BUFFER_DURATION (buf) = in[i].duration_ms * GST_MSECOND;
      GST_BUFFER_FLAG_SET (buf, in[i].flags);
      swarm_segment_builder_add (b, buf);
      gst_buffer_unref (buf);
    }
    s.bytes = swarm_segment_builder_finish (b, publisher, g_get_real_time (),
        NULL);
    fail_unless (s.bytes != NULL);
    s.announce_us = s.arrive_us = seg_due_us (FIRST_SEQ + seg);
    g_array_append_val (f->segments, s);
  }
  gst_test_clock_set_time (f->clock, (seg_due_us (FIRST_SEQ) + 10 * 1000)
      * 1000);

  p = play_all (h);
  fail_unless_equals_int (p.buffers->len, G_N_ELEMENTS (in));
  offset = GST_CLOCK_DIFF (in[0].pts_ms * GST_MSECOND,
      GST_BUFFER_PTS (played_buffer (&p, 0)));
  for (i = 0; i < G_N_ELEMENTS (in); i++) {
    GstBuffer *buf = played_buffer (&p, i);

    assert_payload (buf, FIRST_SEQ, i);
    fail_unless_equals_int64 (GST_CLOCK_DIFF (in[i].pts_ms * GST_MSECOND,
            GST_BUFFER_PTS (buf)), offset);
    fail_unless_equals_int64 (GST_CLOCK_DIFF (in[i].dts_ms * GST_MSECOND,
            GST_BUFFER_DTS (buf)), offset);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf),
        in[i].duration_ms * GST_MSECOND);
    fail_unless_equals_int (GST_BUFFER_FLAGS (buf) & kept, in[i].flags);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (buf,
            GST_BUFFER_FLAG_DISCONT), i == 0);
  }
  out_caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (out_caps != NULL);
  fail_unless (gst_caps_is_equal (out_caps, caps));
  gst_caps_unref (out_caps);
  fail_unless_equals_int (f->played->len, 2);
  fail_unless_equals_int (f->missed->len, 0);

  gst_caps_unref (caps);
  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* The publisher restarts on the same key mid-stream: the old run stops
 * after segment 107, and a second later a new run begins at 5000 (numbers
 * never go back: swarm-sequence.h), its stream time from 0 again, its first
 * EDGE opening a new epoch.  The viewer follows it (swarm-viewer.c,
 * follow_restart): no error, no GAP, nothing counted missed; the new run's
 * buffers from its first keyframe on, DISCONT on the first, anchored afresh
 * on the running time (the end of the newest segment onto now, as a joiner
 * does), so running time keeps going forward across the restart. */
static void
check_publisher_restart (guint64 new_first_seq)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, old_last = FIRST_SEQ + GOP + 2;
  /* its bytes (payload_byte) differ from the old run's */
  FakeRun new_run = { new_first_seq, seg_due_us (old_last) + G_USEC_PER_SEC };
  guint64 new_last = new_run.first_seq + GOP + 1;
  guint n_old = old_last - FIRST_SEQ + 1, n_new = new_last -
      new_run.first_seq + 1;
  GstBuffer *old_end, *restart;
  gboolean jumped;
  Played p;
  guint i;

  for (seq = FIRST_SEQ; seq <= old_last; seq++)
    fake_add (f, seq, FALSE, 0, 0);
  for (seq = new_run.first_seq; seq <= new_last; seq++)
    fake_add_run (f, &new_run, seq, seq == new_last, 0, 0);
  /* the new run's first EDGE comes with its first segment */
  fake_restart (f, &new_run, run_due_us (&new_run, new_run.first_seq));
  gst_test_clock_set_time (f->clock, (seg_due_us (FIRST_SEQ) + 10 * 1000)
      * 1000);

  p = play_all (h);
  fail_unless (f->error == NULL);
  fail_unless_equals_int (p.buffers->len, (n_old + n_new) * 2);
  for (i = 0; i < p.buffers->len; i++) {
    if (i < n_old * 2)
      assert_payload (played_buffer (&p, i), FIRST_SEQ + i / 2, i % 2);
    else
      assert_payload (played_buffer (&p, i), new_run.first_seq +
          (i - n_old * 2) / 2, i % 2);
    if (i > 0)
      fail_unless (GST_BUFFER_PTS (played_buffer (&p, i)) >
          GST_BUFFER_PTS (played_buffer (&p, i - 1)), "buffer %u at %"
          GST_TIME_FORMAT ": back in time", i,
          GST_TIME_ARGS (GST_BUFFER_PTS (played_buffer (&p, i))));
  }
  old_end = played_buffer (&p, n_old * 2 - 1);
  restart = played_buffer (&p, n_old * 2);
  fail_if (GST_BUFFER_FLAG_IS_SET (restart, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless (GST_BUFFER_FLAG_IS_SET (restart, GST_BUFFER_FLAG_DISCONT));
  /* the first buffer, and the new run's first */
  fail_unless_equals_int (count_discont (&p), 2);
  fail_unless_equals_int (p.gaps->len, 0);
  /* nothing played overlaps what was: the new run comes after the old */
  fail_unless (GST_BUFFER_PTS (restart) >= GST_BUFFER_PTS (old_end) +
      GST_BUFFER_DURATION (old_end));
  /* anchored afresh when its first segment came: that segment's end (the
   * newest the swarm had) onto the running time then, which is the test
   * clock's (base time 0); then the new publisher's spacing */
  fail_unless_equals_uint64 (GST_BUFFER_PTS (restart),
      fake_find (f, new_run.first_seq)->served_us * GST_USECOND -
      SEG_MS * GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (played_buffer (&p,
              n_old * 2 + 1)), GST_BUFFER_PTS (restart) + BUF_MS * GST_MSECOND);

  /* all played, nothing missed; the restart is not a second startup */
  fail_unless_equals_int (f->played->len, n_old + n_new);
  for (i = 0; i < f->played->len; i++)
    fail_unless_equals_int (g_array_index (f->played, guint64, i),
        i < n_old ? FIRST_SEQ + i : new_run.first_seq + i - n_old);
  fail_unless_equals_int (f->missed->len, 0);
  fail_unless_equals_int (f->missed_n, 0);
  fail_unless_equals_int (f->startups, 1);
  /* it asks for the segment after the old run's last until the restart,
   * then for the new run's from its first (already asked for when the
   * new run begins right there) */
  jumped = new_run.first_seq > old_last + 1;
  fail_unless_equals_int (f->playouts->len, n_old + n_new + (jumped ? 1 : 0));
  for (i = 0; i < f->playouts->len; i++)
    fail_unless_equals_int (g_array_index (f->playouts, guint64, i),
        i < n_old ? FIRST_SEQ + i + 1 : new_run.first_seq + i - n_old +
        (jumped ? 0 : 1));

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_START_TEST (test_publisher_restart)
{
  check_publisher_restart (5000);
}

GST_END_TEST;

/* The new run's first number is the very one the viewer waits for next
 * (the publisher had used its last reserved number and its clock went
 * back): still a new run, timed afresh, with DISCONT. */
GST_START_TEST (test_publisher_restart_at_next_seq)
{
  check_publisher_restart (FIRST_SEQ + GOP + 3);
}

GST_END_TEST;

/* The viewer started at keyframe segment @key instead of its first choice
 * and played every segment to @last: bytes in order, DISCONT only on the
 * first buffer (a keyframe), no GAP, no error.  Returns that first buffer. */
static GstBuffer *
assert_played_from (FakeSwarm * f, Played * p, guint64 key, guint64 last)
{
  GstBuffer *start;
  guint i;

  fail_unless (f->error == NULL);
  fail_unless_equals_int (p->buffers->len, (last - key + 1) * 2);
  for (i = 0; i < p->buffers->len; i++)
    assert_payload (played_buffer (p, i), key + i / 2, i % 2);
  start = played_buffer (p, 0);
  fail_if (GST_BUFFER_FLAG_IS_SET (start, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless (GST_BUFFER_FLAG_IS_SET (start, GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_int (count_discont (p), 1);
  fail_unless_equals_int (p->gaps->len, 0);
  return start;
}

/* ... and told the swarm so: one startup, @key to @last played, nothing
 * missed; the swarm asked for the new start first, then what follows it. */
static void
assert_noted_from (FakeSwarm * f, guint64 key, guint64 last)
{
  guint i;

  fail_unless_equals_int (f->startups, 1);
  fail_unless_equals_int (f->played->len, last - key + 1);
  fail_unless_equals_int (g_array_index (f->played, guint64, 0), key);
  fail_unless_equals_int (f->missed->len, 0);
  fail_unless_equals_int (f->missed_n, 0);
  fail_unless_equals_int (f->playouts->len, last - key + 2);
  for (i = 0; i < f->playouts->len; i++)
    fail_unless_equals_int (g_array_index (f->playouts, guint64, i), key + i);
}

/* The start keyframe segment is announced but never comes (the partner
 * that had it left); the segments after it do.  While it is missing the
 * viewer looks for a newer keyframe every latency (swarm-viewer.c,
 * START_MOVES_MAX): at the second look (1 s in) keyframe 105 is announced,
 * and it starts there.  Nothing had played, so nothing is missed and no
 * GAP is sent; one startup, counted from the element's start. */
GST_START_TEST (test_start_moves_when_start_missing)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, key = FIRST_SEQ + GOP, last = key + 3;
  gint64 start_us = seg_due_us (FIRST_SEQ) + 10 * 1000;
  GstBuffer *start;
  Played p;

  for (seq = FIRST_SEQ; seq <= last; seq++)
    fake_add (f, seq, seq == last, 0, seq == FIRST_SEQ ? NEVER : 0);
  gst_test_clock_set_time (f->clock, start_us * 1000);

  p = play_all (h);
  start = assert_played_from (f, &p, key, last);
  /* taken at the second look, 2 x latency after the start; its end (the
   * newest segment) mapped onto the running time then */
  fail_unless_equals_int64 (fake_find (f, key)->served_us,
      start_us + 2 * LATENCY_MS * 1000);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (start),
      fake_find (f, key)->served_us * GST_USECOND - SEG_MS * GST_MSECOND);

  fail_unless_equals_int (f->startup_ms, 2 * LATENCY_MS);
  assert_noted_from (f, key, last);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* The start keyframe segment comes a second late, after the next keyframe
 * segment has: with a 2 s latency the viewer has not looked for a newer
 * one yet, but when the start segment arrives it checks it for staleness
 * (swarm-viewer.c, start_is_stale) and starts at the newest keyframe
 * segment in hand instead, the moment the late one came. */
GST_START_TEST (test_start_moves_to_newer_keyframe_in_hand)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, key = FIRST_SEQ + GOP, last = key + 3;
  gint64 start_us = seg_due_us (FIRST_SEQ) + 10 * 1000;
  gint64 late_us = seg_due_us (key) + 50 * 1000;
  GstBuffer *start;
  Played p;

  g_object_set (h->element, "latency", 2000, NULL);
  for (seq = FIRST_SEQ; seq <= last; seq++)
    fake_add (f, seq, seq == last, 0, seq == FIRST_SEQ ? late_us : 0);
  gst_test_clock_set_time (f->clock, start_us * 1000);

  p = play_all (h);
  start = assert_played_from (f, &p, key, last);
  /* the late one was looked at, and 105 (in hand) taken right then */
  fail_unless_equals_int64 (fake_find (f, FIRST_SEQ)->served_us, late_us);
  fail_unless_equals_int64 (fake_find (f, key)->served_us, late_us);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (start),
      late_us * GST_USECOND - SEG_MS * GST_MSECOND);

  fail_unless_equals_int (f->startup_ms, (late_us - start_us) / 1000);
  assert_noted_from (f, key, last);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* The start keyframe and the next two never come (their only holder
 * crashed: in p2p-sim, a viewer failed to join holding seconds of the
 * stream).  The viewer spends its start moves on keyframes announced but
 * missing (105 at the second look, 110 at the fourth), and then, rather
 * than wait out the join timeout for 110, starts on keyframe 115 once it
 * is in hand: nothing had played, so nothing is missed. */
GST_START_TEST (test_start_moves_on_when_moves_run_out)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, key = FIRST_SEQ + 3 * GOP, last = key + 3;
  gint64 start_us = seg_due_us (FIRST_SEQ) + 10 * 1000;
  Played p;

  for (seq = FIRST_SEQ; seq <= last; seq++)
    fake_add (f, seq, seq == last, 0, seq < key && (seq - FIRST_SEQ) % GOP
        == 0 ? NEVER : 0);
  gst_test_clock_set_time (f->clock, start_us * 1000);

  p = play_all (h);
  assert_played_from (f, &p, key, last);
  fail_unless_equals_int (f->startups, 1);
  fail_unless_equals_int (g_array_index (f->played, guint64, 0), key);
  fail_unless_equals_int (f->played->len, last - key + 1);
  fail_unless_equals_int (f->missed->len, 0);
  /* taken at the first look after it came, within a latency */
  fail_unless (fake_find (f, key)->served_us < seg_due_us (key) +
      LATENCY_MS * 1000);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* No publisher: nothing is ever announced.  The element posts the join
 * timeout and its streaming task stops.  When: a session checks the join
 * itself at join-timeout and posts its own error; the viewer's deadline is
 * the backstop, join-timeout + 2 s from the start (swarm-viewer.h), and a
 * fake feed has no session, so that is what shows, to the microsecond. */
GST_START_TEST (test_join_timeout_no_publisher)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  Played p;

  p = play_all (h);
  assert_join_error (h, f, "Could not join the swarm within 5000 ms.");
  fail_unless_equals_int64 (f->error_us, CLOCK_START_US +
      (JOIN_TIMEOUT_MS + 2000) * 1000);
  fail_unless_equals_int (p.buffers->len, 0);
  fail_unless_equals_int (p.gaps->len, 0);
  fail_unless_equals_int (f->startups, 0);
  fail_unless_equals_int (f->played->len, 0);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* A start keyframe is announced but never comes, and no newer one is
 * announced: the viewer looks for one a few times (nothing to move to),
 * then waits for it up to the same deadline, and fails with the other
 * join-timeout message.  What came meanwhile (delta segments) is nothing
 * to start on. */
GST_START_TEST (test_join_timeout_start_never_arrives)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq;
  Played p;

  for (seq = FIRST_SEQ; seq < FIRST_SEQ + GOP - 1; seq++)
    fake_add (f, seq, FALSE, 0, seq == FIRST_SEQ ? NEVER : 0);

  p = play_all (h);
  assert_join_error (h, f, "Joined the swarm but received no segment within "
      "5000 ms.");
  fail_unless_equals_int64 (f->error_us, CLOCK_START_US +
      (JOIN_TIMEOUT_MS + 2000) * 1000);
  fail_unless_equals_int (p.buffers->len, 0);
  fail_unless_equals_int (p.gaps->len, 0);
  fail_unless_equals_int (f->startups, 0);
  fail_unless_equals_int (f->played->len, 0);
  fail_unless_equals_int (f->missed->len, 0);
  /* never moved: there was no newer keyframe */
  fail_unless_equals_int (f->playouts->len, 0);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

/* The publisher stops mid-stream (no EOS) and never comes back: what was
 * sent plays, nothing is skipped (nothing newer exists), and join-timeout
 * after the last segment came the element says so; the viewer waits 20 ms
 * at a time by then, so the error comes within 20 ms past it. */
GST_START_TEST (test_join_timeout_publisher_gone)
{
  GstHarness *h = harness_new ();
  FakeSwarm *f = fake_new (h);
  guint64 seq, last = FIRST_SEQ + GOP - 1;
  gint64 silent_us;
  Played p;
  guint i;

  for (seq = FIRST_SEQ; seq <= last; seq++)
    fake_add (f, seq, FALSE, 0, 0);
  gst_test_clock_set_time (f->clock, (seg_due_us (FIRST_SEQ) + 10 * 1000)
      * 1000);

  p = play_all (h);
  assert_join_error (h, f, "No data from the swarm for 5000 ms: the "
      "publisher has stopped or is unreachable.");
  silent_us = f->error_us - fake_find (f, last)->served_us;
  fail_unless (silent_us > JOIN_TIMEOUT_MS * 1000 &&
      silent_us <= (JOIN_TIMEOUT_MS + 20) * 1000, "error %" G_GINT64_FORMAT
      " us after the last segment", silent_us);
  fail_unless_equals_int (p.buffers->len, (last - FIRST_SEQ + 1) * 2);
  for (i = 0; i < p.buffers->len; i++)
    assert_payload (played_buffer (&p, i), FIRST_SEQ + i / 2, i % 2);
  fail_unless_equals_int (count_discont (&p), 1);
  fail_unless_equals_int (p.gaps->len, 0);
  fail_unless_equals_int (f->played->len, last - FIRST_SEQ + 1);
  fail_unless_equals_int (f->missed->len, 0);
  fail_unless_equals_int (f->missed_n, 0);

  played_clear (&p);
  gst_harness_teardown (h);
  fake_free (f);
}

GST_END_TEST;

static Suite *
p2psrc_harness_suite (void)
{
  Suite *s = suite_create ("p2psrc-harness");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  publisher = swarm_identity_generate (NULL);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_start_on_keyframe);
  tcase_add_test (tc, test_flushing_while_choosing_start);
  tcase_add_test (tc, test_missing_segment_gap);
  tcase_add_test (tc, test_far_behind_skips_to_keyframe);
  tcase_add_test (tc, test_buffers_keep_publisher_metadata);
  tcase_add_test (tc, test_publisher_restart);
  tcase_add_test (tc, test_publisher_restart_at_next_seq);
  tcase_add_test (tc, test_start_moves_when_start_missing);
  tcase_add_test (tc, test_start_moves_to_newer_keyframe_in_hand);
  tcase_add_test (tc, test_start_moves_on_when_moves_run_out);
  tcase_add_test (tc, test_join_timeout_no_publisher);
  tcase_add_test (tc, test_join_timeout_start_never_arrives);
  tcase_add_test (tc, test_join_timeout_publisher_gone);
  return s;
}

GST_CHECK_MAIN (p2psrc_harness);

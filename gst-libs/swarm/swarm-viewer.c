/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>
#include "swarm-viewer.h"
#include "swarm-playout.h"

GST_DEBUG_CATEGORY_STATIC (swarm_viewer_debug);
#define GST_CAT_DEFAULT swarm_viewer_debug

/* While the start segment is missing, playout moves to a newer keyframe
 * every latency (at least START_MOVE_MIN_MS), at most this many times. */
#define START_MOVES_MAX 4
#define START_MOVE_MIN_MS 250
/* Playout control (swarm-playout.h): the quantile of slack it holds may
 * wander this much (at most a tenth of the latency) before playout moves,
 * by at most this share of a segment at a time. */
#define PLAYOUT_TOLERANCE_US (50 * 1000)
#define PLAYOUT_MAX_RATE 0.2
/* While far behind live a segment may play in half its time (twice as
 * fast), as low-latency players catch up; otherwise in 80 % of it. */
#define PLAYOUT_FAST_RATE 0.5
/* A joiner holds this share of the latency on top of the floor at first,
 * worn off over its first 20 s of playout (swarm_playout_set_margin): its
 * first partners were found in a hurry, and on the rough network a joiner
 * missed more in its first ten seconds than in the rest of its stay
 * (docs/sim.md, finding 11). */
#define PLAYOUT_JOIN_MARGIN 0.6
/* Missing segments while more than this many newer ones are announced:
 * jump to the newest keyframe rather than chase the past. */
#define FAR_BEHIND_SEGMENTS 8

struct _SwarmViewer
{
  SwarmFeed *feed;
  const SwarmFeedClass *f;
  GstClockTime latency;
  guint join_timeout_ms;
  GstClockTime (*running_time) (gpointer user_data);
  gpointer user_data;
  GstObject *log;

  gint64 start_us;
  gboolean started;             /* a start segment was chosen */
  guint64 next_seq;
  gboolean have_offset;
  guint start_moves;            /* times the start moved to a newer keyframe */
  guint start_checks;           /* times a start segment was checked for staleness */
  guint64 restarts_seen;        /* publisher restarts followed */
  gint64 rejoin_us;             /* the last restart followed, 0 if none */
  GstClockTimeDiff ts_offset;   /* output = stream time + offset */
  GstClockTime next_rt;         /* expected running time of the next segment */
  GstClockTime avg_segment;     /* running average of segment duration */
  gboolean discont;
  gboolean eos;
  gint64 last_segment_us;       /* when the last segment was taken */
  gint64 playing_since_us;      /* when the first segment was taken */
  SwarmPlayout playout;         /* holds arrival-to-playout slack at a floor */
};

#define NOW(v) ((v)->f->now_us ((v)->feed))

SwarmViewer *
swarm_viewer_new (SwarmFeed * feed, const SwarmViewerConfig * config)
{
  static gsize debug_initialised = 0;
  SwarmViewer *v = g_new0 (SwarmViewer, 1);
  gint64 latency_us = (gint64) config->latency_ms * 1000;

  if (g_once_init_enter (&debug_initialised)) {
    GST_DEBUG_CATEGORY_INIT (swarm_viewer_debug, "swarm-viewer", 0,
        "gst-p2p swarm: the viewer's start and playout policy");
    g_once_init_leave (&debug_initialised, 1);
  }
  v->feed = feed;
  v->f = feed->klass;
  v->latency = (GstClockTime) config->latency_ms * GST_MSECOND;
  v->join_timeout_ms = config->join_timeout_ms;
  v->running_time = config->running_time;
  v->user_data = config->user_data;
  v->log = config->log_object;
  v->start_us = NOW (v);
  v->next_rt = GST_CLOCK_TIME_NONE;
  v->discont = TRUE;
  /* Half the latency is kept in hand for late arrivals; the rest of
   * what segments bring beyond it is caught up, a segment playing in no
   * less than 80 % of its time, or in half of it while more than twice
   * that is in hand (a joiner behind live). */
  swarm_playout_init (&v->playout, latency_us / 2,
      MIN (latency_us / 10, PLAYOUT_TOLERANCE_US), PLAYOUT_MAX_RATE);
  swarm_playout_set_fast_catch_up (&v->playout, PLAYOUT_FAST_RATE,
      latency_us / 2);
  swarm_playout_set_margin (&v->playout,
      (gint64) (PLAYOUT_JOIN_MARGIN * latency_us));
  return v;
}

void
swarm_viewer_free (SwarmViewer * v)
{
  g_free (v);
}

void
swarm_viewer_get_playout (SwarmViewer * v, gdouble * drift_correction_ms,
    gdouble * catch_up_ms)
{
  *drift_correction_ms = v->playout.total_us / 1000.0;
  *catch_up_ms = -v->playout.earlier_us / 1000.0;
}

static void
set_playout (SwarmViewer * v, guint64 seq)
{
  v->next_seq = seq;
  v->f->set_playout (v->feed, seq);
}

/* ---- time ---------------------------------------------------------------- */

static GstClockTime
running_time (SwarmViewer * v)
{
  return v->running_time (v->user_data);
}

/* Deadline (feed clock) by which the next segment must be in hand to be
 * played on time: its expected running time plus the latency, less a
 * margin for the pipeline downstream. */
static gint64
segment_deadline (SwarmViewer * v)
{
  GstClockTime margin = MIN (v->latency / 4, 100 * GST_MSECOND);
  GstClockTime now = running_time (v);
  gint64 now_us = NOW (v);
  gint64 deadline;

  if (!GST_CLOCK_TIME_IS_VALID (v->next_rt) || !GST_CLOCK_TIME_IS_VALID (now))
    return now_us + (gint64) (v->latency / GST_USECOND);
  deadline = now_us + (GST_CLOCK_DIFF (now, v->next_rt + v->latency - margin))
      / 1000;
  /* Already late: still give the swarm a moment rather than spin. */
  return MAX (deadline, now_us + 20 * 1000);
}

static GstClockTime
rebase (GstClockTimeDiff offset, GstClockTime ts)
{
  GstClockTimeDiff out;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return ts;
  out = (GstClockTimeDiff) ts + offset;
  return out > 0 ? (GstClockTime) out : 0;
}

GstClockTime
swarm_viewer_step_time (const SwarmViewerStep * step, GstClockTime ts)
{
  GstClockTimeDiff part, shift = step->shift;

  if (!GST_CLOCK_TIME_IS_VALID (ts) || shift == 0)
    return rebase (step->offset, ts);
  if (ts <= step->first)
    part = 0;
  else if (ts >= step->end)
    part = shift;
  else
    part = (GstClockTimeDiff) gst_util_uint64_scale (ABS (shift),
        ts - step->first, step->end - step->first) * (shift < 0 ? -1 : 1);
  part += (GstClockTimeDiff) ts;
  return rebase (step->offset, part < 0 ? 0 : (GstClockTime) part);
}

/* First and end (last timestamp plus duration) of @seg's buffers, in
 * stream time. */
static void
segment_span (SwarmSegment * seg, GstClockTime * first, GstClockTime * end)
{
  guint i;

  *first = *end = GST_CLOCK_TIME_NONE;
  for (i = 0; i < seg->buffers->len; i++) {
    GstBuffer *b = g_ptr_array_index (seg->buffers, i);
    GstClockTime ts = GST_BUFFER_DTS_IS_VALID (b) ? GST_BUFFER_DTS (b) :
        GST_BUFFER_PTS (b);

    if (!GST_CLOCK_TIME_IS_VALID (ts))
      continue;
    if (!GST_CLOCK_TIME_IS_VALID (*first))
      *first = ts;
    *end = ts + (GST_BUFFER_DURATION_IS_VALID (b) ?
        GST_BUFFER_DURATION (b) : 0);
  }
}

/* Where segment @seq begins and ends in stream time (first timestamp;
 * last timestamp plus its duration), waiting for it until @deadline_us.
 * FALSE if it is not there in time or carries no timestamps. */
static gboolean
peek_span (SwarmViewer * v, guint64 seq, gint64 deadline_us,
    GstClockTime * first, GstClockTime * end)
{
  GBytes *bytes = NULL;
  SwarmSegment *seg;

  *first = *end = GST_CLOCK_TIME_NONE;
  if (v->f->wait_segment (v->feed, seq, deadline_us, &bytes, NULL)
      != SWARM_WAIT_OK)
    return FALSE;
  seg = swarm_segment_parse (bytes, NULL);
  g_bytes_unref (bytes);
  if (!seg)
    return FALSE;
  segment_span (seg, first, end);
  swarm_segment_free (seg);
  return GST_CLOCK_TIME_IS_VALID (*first);
}

/* The newest segment in hand after @after, and where it ends in stream
 * time; FALSE if none. */
static gboolean
newest_in_hand (SwarmViewer * v, guint64 after, GstClockTime * end)
{
  GstClockTime first;
  guint64 seq;

  /* looked up among what is held, never walked seq by seq: a partner's
   * word can put "newest" anywhere */
  return v->f->find_in_hand (v->feed, after, FALSE, &seq)
      && peek_span (v, seq, 0, &first, end);
}

/* ---- where to start -------------------------------------------------- */

/* The newest keyframe segment may be most of a GOP behind live.  If it is
 * more than half the latency behind, a newer one is usually close: wait for
 * it (at most the latency), trading a little startup for a viewer that
 * stays that much closer to live for good. */
static void
choose_start (SwarmViewer * v)
{
  gint64 peek_deadline = NOW (v) + MIN (v->latency / 2,
      300 * GST_MSECOND) / 1000;
  GstClockTime start_ts, start_end, live_first, live_ts;
  guint64 newest, newer, key;

  /* The first keyframe announced woke us; by now the partners' maps may
   * name newer ones, which some partner holds: start at the newest. */
  if (v->f->get_newest_keyframe_seq (v->feed, &key) && key > v->next_seq) {
    GST_DEBUG_OBJECT (v->log, "a newer keyframe is known: starting at %"
        G_GUINT64_FORMAT " rather than %" G_GUINT64_FORMAT, key, v->next_seq);
    set_playout (v, key);
  }
  if (!v->f->get_newest_seq (v->feed, &newest)
      || newest <= v->next_seq
      || !peek_span (v, v->next_seq, peek_deadline, &start_ts, &start_end)
      || !peek_span (v, newest, peek_deadline, &live_first, &live_ts)
      || live_ts <= start_ts + v->latency / 2)
    return;
  if (v->f->wait_keyframe_after (v->feed, v->next_seq,
          NOW (v) + v->latency / 1000, &newer) == SWARM_WAIT_OK) {
    GST_DEBUG_OBJECT (v->log, "start keyframe was %" GST_TIME_FORMAT
        " behind live: waited for a newer one",
        GST_TIME_ARGS (live_ts - start_ts));
    set_playout (v, newer);
  }
}

/* The start segment arrived.  In a swarm that is itself catching up (a
 * crowd joining at once) it is often stale: the partners held nothing
 * newer when we chose it, and newer segments follow it within a few
 * hundred milliseconds.  So wait until the newest segment any partner
 * announced is in hand, at most half the latency (300 ms at most), and
 * start at the newest keyframe segment in hand by then.  Nothing has
 * played yet, so the jump skips nothing anyone sees, and playout starts
 * that much closer to live instead of catching up for seconds.  Asked
 * again after each move (a few times at most): in a swarm still catching
 * up, newer keyframe segments keep arriving while we wait (see
 * docs/design.md, Segments and playout). */
static gboolean
start_is_stale (SwarmViewer * v, guint64 * key)
{
  gint64 deadline = NOW (v) + MIN (v->latency / 2, 300 * GST_MSECOND) / 1000;
  GstClockTime start_ts, end_ts;
  guint64 newest, seq;

  if (v->start_checks++ >= START_MOVES_MAX)
    return FALSE;
  /* what the partners announce meanwhile counts too */
  while (v->f->get_newest_seq (v->feed, &newest) && newest > v->next_seq) {
    GBytes *bytes = NULL;
    SwarmWaitResult r = v->f->wait_segment (v->feed, newest,
        MIN (deadline, NOW (v) + 20 * 1000), &bytes, NULL);

    if (bytes)
      g_bytes_unref (bytes);
    /* stopping, or the session failed: every wait would say so at once,
     * and looping on until the deadline spun the CPU (forever on virtual
     * time, where nothing moves it meanwhile) */
    if (r == SWARM_WAIT_CANCELLED || r == SWARM_WAIT_ERROR)
      break;
    if ((r == SWARM_WAIT_OK && v->f->get_newest_seq (v->feed, &seq)
            && seq == newest) || NOW (v) >= deadline)
      break;
  }
  /* The newest keyframe segment announced is often still on its way (a
   * keyframe segment is the biggest): within the same bound it beats an
   * older one in hand by up to a GOP (see docs/design.md, Segments and
   * playout). */
  if (v->f->get_newest_keyframe_seq (v->feed, &seq) && seq > v->next_seq
      && NOW (v) < deadline) {
    GBytes *bytes = NULL;

    if (v->f->wait_segment (v->feed, seq, deadline, &bytes, NULL)
        == SWARM_WAIT_OK)
      g_bytes_unref (bytes);
  }
  if (v->f->find_in_hand (v->feed, v->next_seq, TRUE, &seq)) {
    GST_DEBUG_OBJECT (v->log, "starting at %" G_GUINT64_FORMAT ", the newest "
        "keyframe segment in hand, rather than %" G_GUINT64_FORMAT, seq,
        v->next_seq);
    *key = seq;
    return TRUE;
  }
  /* Nothing newer to start at yet, but what is in hand runs more than the
   * latency past the start and a newer keyframe segment is announced:
   * look again (the caller bounds how often) rather than start that far
   * behind.  Waiting is not latency; playing seconds of debt off at twice
   * the speed is (see docs/design.md, Segments and playout). */
  if (v->f->get_newest_keyframe_seq (v->feed, &seq) && seq > v->next_seq
      && peek_span (v, v->next_seq, 0, &start_ts, &end_ts)
      && newest_in_hand (v, v->next_seq, &end_ts)
      && end_ts > start_ts + v->latency) {
    GST_DEBUG_OBJECT (v->log, "start segment %" G_GUINT64_FORMAT " is %"
        GST_TIME_FORMAT " behind the newest in hand: looking again",
        v->next_seq, GST_TIME_ARGS (end_ts - start_ts));
    *key = v->next_seq;
    return TRUE;
  }
  return FALSE;
}

/* The stream time to map onto "now" when playback starts.  A joiner starts
 * on the newest keyframe segment, which may be most of a GOP old; mapping
 * that onto now would leave the viewer that far behind live for good.  So
 * the end of the newest segment the swarm has (what was captured just
 * before now) is mapped onto now, and the older ones play out quickly, but
 * never so late that the sink would drop them: the catch-up stays within
 * three quarters of the latency. */
static GstClockTime
start_anchor (SwarmViewer * v, GstClockTime first_ts)
{
  GstClockTime live_first, live_ts, now, catch_up;
  guint64 newest;

  swarm_playout_set_behind (&v->playout, 0);
  if (!v->f->get_newest_seq (v->feed, &newest))
    return first_ts;
  /* the newest announced, or else the newest in hand by then */
  if (!peek_span (v, newest, NOW (v) + MIN (v->latency / 2,
              300 * GST_MSECOND) / 1000, &live_first, &live_ts)
      && !newest_in_hand (v, v->next_seq, &live_ts))
    return first_ts;
  if (!GST_CLOCK_TIME_IS_VALID (live_ts) || live_ts <= first_ts)
    return first_ts;
  /* never map anything before running time 0 either */
  now = running_time (v);
  catch_up = MIN (live_ts - first_ts, MIN (v->latency * 3 / 4,
          GST_CLOCK_TIME_IS_VALID (now) ? now : 0));
  GST_DEBUG_OBJECT (v->log, "start segment is %" GST_TIME_FORMAT " behind "
      "live, catching up %" GST_TIME_FORMAT,
      GST_TIME_ARGS (live_ts - first_ts), GST_TIME_ARGS (catch_up));
  /* the rest is played through faster, starting with what is in hand */
  swarm_playout_set_behind (&v->playout,
      (gint64) (live_ts - first_ts - catch_up) / GST_USECOND);
  return first_ts + catch_up;
}

/* ---- playout ------------------------------------------------------------- */

/* How long before its playout a segment spanning @first_ts..@end_ts
 * arrived, fed to the playout controller.  Returns the shift to spread
 * over this segment's buffers (positive: later). */
static GstClockTimeDiff
track_slack (SwarmViewer * v, GstClockTime first_ts, GstClockTime end_ts,
    gint64 arrival_us)
{
  GstClockTime now = running_time (v);
  gint64 now_us = NOW (v);
  GstClockTimeDiff arrival_rt, playout_rt, shift;

  if (!GST_CLOCK_TIME_IS_VALID (now) || !GST_CLOCK_TIME_IS_VALID (first_ts)
      || !GST_CLOCK_TIME_IS_VALID (end_ts) || end_ts <= first_ts)
    return 0;
  /* Segments fetched in the join burst say nothing about the path; what
   * the start left behind live is caught up through them. */
  if (arrival_us <= v->playing_since_us) {
    shift = swarm_playout_take_behind (&v->playout,
        (gint64) (end_ts - first_ts) / GST_USECOND) * GST_USECOND;
    if (shift)
      GST_DEBUG_OBJECT (v->log, "playout moves earlier by %" G_GINT64_FORMAT
          " ms, through a segment in hand (in all %" G_GINT64_FORMAT " ms)",
          ABS (shift) / GST_MSECOND, v->playout.total_us / 1000);
    return shift;
  }
  arrival_rt = (GstClockTimeDiff) now - (now_us - arrival_us) * GST_USECOND;
  playout_rt = (GstClockTimeDiff) rebase (v->ts_offset, first_ts) +
      (GstClockTimeDiff) v->latency;
  GST_LOG_OBJECT (v->log, "slack %" G_GINT64_FORMAT " us",
      (gint64) ((playout_rt - arrival_rt) / GST_USECOND));
  shift = swarm_playout_update (&v->playout,
      (playout_rt - arrival_rt) / GST_USECOND,
      (gint64) (end_ts - first_ts) / GST_USECOND) * GST_USECOND;
  if (shift)
    GST_DEBUG_OBJECT (v->log, "playout moves %s by %" G_GINT64_FORMAT
        " ms (in all %" G_GINT64_FORMAT " ms)", shift < 0 ? "earlier" :
        "later", ABS (shift) / GST_MSECOND, v->playout.total_us / 1000);
  return shift;
}

/* Parses segment @bytes into @step and times it; FALSE if unplayable. */
static gboolean
take_segment (SwarmViewer * v, GBytes * bytes, gint64 arrival_us,
    SwarmViewerStep * step)
{
  SwarmSegment *seg;
  GError *error = NULL;
  GstClockTime first, end;
  GstClockTimeDiff shift = 0;

  if (!(seg = swarm_segment_parse (bytes, &error))) {
    GST_WARNING_OBJECT (v->log, "unplayable segment: %s", error->message);
    g_error_free (error);
    return FALSE;
  }
  segment_span (seg, &first, &end);

  if (GST_CLOCK_TIME_IS_VALID (first) && !v->have_offset) {
    /* The live edge lands on the running time now; the sink adds the
     * latency. */
    GstClockTime anchor = start_anchor (v, first);
    GstClockTime now = running_time (v);

    v->ts_offset = GST_CLOCK_DIFF (anchor, GST_CLOCK_TIME_IS_VALID (now) ?
        now : 0);
    v->have_offset = TRUE;
    v->playing_since_us = NOW (v);
  } else if (GST_CLOCK_TIME_IS_VALID (first)) {
    shift = track_slack (v, first, end, arrival_us);
  }

  step->segment = seg;
  step->offset = v->ts_offset;
  step->shift = shift;
  step->first = first;
  step->end = end;
  step->discont = v->discont;
  /* a segment with no buffers passes its DISCONT on */
  if (seg->buffers->len > 0)
    v->discont = FALSE;
  v->ts_offset += shift;

  if (GST_CLOCK_TIME_IS_VALID (first) && end > first) {
    GstClockTime d = end - first;
    v->avg_segment = v->avg_segment ? (3 * v->avg_segment + d) / 4 : d;
  }
  if (GST_CLOCK_TIME_IS_VALID (end))
    v->next_rt = rebase (v->ts_offset, end);
  if (seg->flags & SWARM_SEGMENT_FLAG_EOS)
    v->eos = step->eos = TRUE;
  return TRUE;
}

/* A segment missed its deadline while later ones exist: skip it.  TRUE
 * with the gap in @step when there is a gap to tell of. */
static gboolean
skip (SwarmViewer * v, guint64 newest, SwarmViewerStep * step)
{
  gboolean gap = FALSE;
  guint64 key;

  GST_INFO_OBJECT (v->log, "segment %" G_GUINT64_FORMAT " missed its "
      "deadline", v->next_seq);
  v->f->note_missed (v->feed, v->next_seq);
  swarm_playout_note_miss (&v->playout);
  if (GST_CLOCK_TIME_IS_VALID (v->next_rt) && v->avg_segment) {
    step->gap_start = v->next_rt;
    step->gap_duration = v->avg_segment;
    v->next_rt += v->avg_segment;
    gap = TRUE;
  }
  v->discont = TRUE;
  v->next_seq++;
  /* Far behind: jump to the newest keyframe rather than chase the past. */
  if (newest > v->next_seq + FAR_BEHIND_SEGMENTS
      && v->f->get_newest_keyframe_seq (v->feed, &key) && key > v->next_seq) {
    v->f->note_missed_n (v->feed, key - v->next_seq);
    v->next_seq = key;
  }
  set_playout (v, v->next_seq);
  return gap;
}

/* The publisher restarted (same key, a new run: swarm-edge.h): what we
 * wait for will never come.  Start again at the new run, as a joiner
 * would, with timestamps anchored afresh (the new run's have nothing to do
 * with the old one's) and a DISCONT. */
/* A new run of the publisher: its stream time starts again, so the next
 * segment anchors playout afresh (not a second startup). */
static void
restart_timing (SwarmViewer * v)
{
  v->have_offset = FALSE;
  v->discont = TRUE;
  v->start_moves = 0;
  v->start_checks = 0;
  v->rejoin_us = NOW (v);
}

/* A restart not followed yet whose new run begins at @seq. */
static gboolean
restart_opens_at (SwarmViewer * v, guint64 seq)
{
  guint64 epoch_seq, restarts = 0;

  return v->f->get_epoch (v->feed, &epoch_seq, &restarts)
      && restarts != v->restarts_seen && epoch_seq == seq;
}

static gboolean
follow_restart (SwarmViewer * v)
{
  guint64 epoch_seq, restarts = 0, key;

  if (!v->f->get_epoch (v->feed, &epoch_seq, &restarts)
      || restarts == v->restarts_seen)
    return FALSE;
  v->restarts_seen = restarts;
  if (v->next_seq > epoch_seq)
    return FALSE;
  if (v->next_seq == epoch_seq) {
    /* the new run took the very number we wait for next (the publisher
     * had used its last reserved one and its clock went back): no segment
     * to skip, but a new run all the same, timed afresh */
    GST_INFO_OBJECT (v->log, "the publisher restarted at segment %"
        G_GUINT64_FORMAT ", the next we play", epoch_seq);
    restart_timing (v);
    return TRUE;
  }
  GST_INFO_OBJECT (v->log, "the publisher restarted: following it from "
      "segment %" G_GUINT64_FORMAT " to its new run at %" G_GUINT64_FORMAT,
      v->next_seq, epoch_seq);
  v->next_seq = epoch_seq;
  if (v->f->get_newest_keyframe_seq (v->feed, &key) && key > epoch_seq)
    v->next_seq = key;
  set_playout (v, v->next_seq);
  restart_timing (v);
  return TRUE;
}

static SwarmViewerResult
wait_failed (SwarmWaitResult r)
{
  /* SWARM_WAIT_ERROR: the session has posted its error */
  return r == SWARM_WAIT_CANCELLED ? SWARM_VIEWER_FLUSHING :
      SWARM_VIEWER_ERROR;
}

static SwarmViewerResult
fail_join (SwarmViewerStep * step, gchar * message)
{
  step->error = g_error_new_literal (SWARM_SESSION_ERROR,
      SWARM_SESSION_ERROR_JOIN_TIMEOUT, message);
  g_free (message);
  return SWARM_VIEWER_ERROR;
}

/* ---- the next step ------------------------------------------------------- */

SwarmViewerResult
swarm_viewer_next (SwarmViewer * v, SwarmViewerStep * step)
{
  gint64 join_deadline = MAX (v->start_us, v->rejoin_us) +
      (gint64) v->join_timeout_ms * 1000 + 2 * G_USEC_PER_SEC;
  SwarmWaitResult r;

  *step = (SwarmViewerStep) {
  0};
  if (!v->started) {
    guint64 newest = 0;

    r = v->f->wait_start (v->feed, join_deadline, &v->next_seq);
    if (r == SWARM_WAIT_TIMEOUT)
      return fail_join (step, g_strdup_printf (_("Could not join the swarm "
                  "within %u ms."), v->join_timeout_ms));
    if (r != SWARM_WAIT_OK)
      return wait_failed (r);
    v->started = TRUE;
    choose_start (v);
    v->f->get_newest_seq (v->feed, &newest);
    GST_INFO_OBJECT (v->log, "starting at segment %" G_GUINT64_FORMAT
        " (newest known %" G_GUINT64_FORMAT ")", v->next_seq, newest);
  }

  while (!v->eos) {
    GBytes *bytes = NULL;
    gint64 arrival_us = 0;
    gboolean first, rejoin;
    gint64 deadline;
    guint64 newest, key;

    if (follow_restart (v))
      join_deadline = v->rejoin_us + (gint64) v->join_timeout_ms * 1000 +
          2 * G_USEC_PER_SEC;
    first = !v->have_offset;
    rejoin = v->rejoin_us != 0;
    deadline = first ? join_deadline : segment_deadline (v);
    if (!first && v->f->set_deadline)
      v->f->set_deadline (v->feed, v->next_seq, deadline);

    /* A start segment slow to arrive is stale when it does, and playout
     * anchored on it stays that far behind live for good: while it is
     * missing, follow the newest keyframe the partners announce (which
     * the scheduler then fetches first), a few times at most so that a
     * slow swarm still starts. */
    if (first)
      deadline = MIN (deadline, NOW (v) + (gint64) MAX (v->latency /
              GST_MSECOND, START_MOVE_MIN_MS) * 1000);
    r = v->f->wait_segment (v->feed, v->next_seq, deadline, &bytes,
        &arrival_us);
    if (first && r == SWARM_WAIT_TIMEOUT && v->start_moves < START_MOVES_MAX
        && NOW (v) < join_deadline) {
      v->start_moves++;
      if (v->f->get_newest_keyframe_seq (v->feed, &key) && key > v->next_seq) {
        GST_DEBUG_OBJECT (v->log, "start segment %" G_GUINT64_FORMAT " still "
            "missing: starting at the newer keyframe %" G_GUINT64_FORMAT,
            v->next_seq, key);
        set_playout (v, key);
      }
      continue;
    }
    /* Out of moves, and the start segment still missing: its only holder
     * may have gone (a crash) and nobody else will announce a segment
     * that old.  A newer keyframe segment in hand starts at once, so
     * moving there can never keep a slow swarm from starting; waiting on
     * out the join timeout failed viewers that held seconds of the
     * stream (docs/sim.md, finding 8). */
    if (first && r == SWARM_WAIT_TIMEOUT && NOW (v) < join_deadline) {
      if (v->f->find_in_hand (v->feed, v->next_seq, TRUE, &key)) {
        GST_DEBUG_OBJECT (v->log, "start segment %" G_GUINT64_FORMAT " still "
            "missing: starting at keyframe %" G_GUINT64_FORMAT ", in hand",
            v->next_seq, key);
        set_playout (v, key);
      }
      continue;
    }
    if (r == SWARM_WAIT_OK && first && v->start_moves < START_MOVES_MAX
        && start_is_stale (v, &key)) {
      g_bytes_unref (bytes);
      v->start_moves++;
      set_playout (v, key);
      continue;
    }
    /* the segment just come may open a new run announced meanwhile */
    if (r == SWARM_WAIT_OK && !first && restart_opens_at (v, v->next_seq)
        && follow_restart (v)) {
      first = TRUE;
      rejoin = TRUE;
    }
    if (r == SWARM_WAIT_OK) {
      gboolean ok = take_segment (v, bytes, arrival_us, step);

      g_bytes_unref (bytes);
      v->last_segment_us = NOW (v);
      if (ok) {
        v->f->note_played (v->feed, v->next_seq);
        if (first && !rejoin)
          v->f->note_startup (v->feed, (NOW (v) - v->start_us) / 1000);
      } else {
        v->f->note_missed (v->feed, v->next_seq);
        v->discont = TRUE;
      }
      set_playout (v, v->next_seq + 1);
      if (ok)
        return SWARM_VIEWER_PLAY;
      continue;
    }
    if (r != SWARM_WAIT_TIMEOUT)
      return wait_failed (r);
    if (first)
      return fail_join (step, g_strdup_printf (_("Joined the swarm but "
                  "received no segment within %u ms."), v->join_timeout_ms));
    /* Skip only what the swarm has moved past; if nothing newer exists the
     * publisher is quiet, and we wait, up to join-timeout. */
    if (follow_restart (v))
      continue;
    if (v->f->get_newest_seq (v->feed, &newest) && newest > v->next_seq) {
      if (skip (v, newest, step))
        return SWARM_VIEWER_GAP;
    } else if (NOW (v) - v->last_segment_us >
        (gint64) v->join_timeout_ms * 1000) {
      return fail_join (step, g_strdup_printf (_("No data from the swarm for "
                  "%u ms: the publisher has stopped or is unreachable."),
              v->join_timeout_ms));
    }
  }
  /* past the end of the stream: nothing more will come */
  return SWARM_VIEWER_FLUSHING;
}

void
swarm_viewer_step_clear (SwarmViewerStep * step)
{
  g_clear_pointer (&step->segment, swarm_segment_free);
  g_clear_error (&step->error);
}

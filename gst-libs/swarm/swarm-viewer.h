/* A viewer's start and playout policy: where to start (the newest
 * keyframe segment, moved on while it is slow to come or stale when it
 * does), which segment plays next and when it is given up (a gap, or a
 * jump to a newer keyframe when far behind), following a publisher that
 * restarted, and how stream time maps onto the pipeline's running time
 * (anchored near live at the start, then held at a distance from the
 * arrivals by SwarmPlayout, swarm-playout.h).  docs/design.md, "Segments
 * and playout", says why each rule is there.
 *
 * It reads the swarm through a SwarmFeed (swarm-feed.h) and the
 * pipeline's running time through a callback, and answers one step at a
 * time: a segment to play with its timing, or a gap.  Turning those into
 * buffers and events is the element's (p2psrc).  Not thread-safe: one
 * streaming thread calls it; swarm_viewer_get_playout() may be read from
 * another.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "swarm-prelude.h"
#include "swarm-feed.h"
#include "swarm-segment.h"

G_BEGIN_DECLS

typedef struct _SwarmViewer SwarmViewer;

typedef struct {
  /* playout delay: how long a segment may take to arrive (p2psrc
   * "latency"); half of it is kept in hand for late arrivals */
  guint latency_ms;
  /* no segment for this long (after a start or a publisher's restart:
   * plus 2 s) is an error */
  guint join_timeout_ms;
  /* the pipeline's running time now, GST_CLOCK_TIME_NONE before it has a
   * clock */
  GstClockTime (*running_time) (gpointer user_data);
  gpointer user_data;
  /* nullable, borrowed: the object the debug log names (the element) */
  GstObject *log_object;
} SwarmViewerConfig;

typedef enum {
  SWARM_VIEWER_PLAY,            /* step.segment, timed by swarm_viewer_step_time() */
  SWARM_VIEWER_GAP,             /* nothing for step.gap_start + gap_duration */
  SWARM_VIEWER_FLUSHING,        /* the feed is flushing */
  SWARM_VIEWER_ERROR,           /* step.error, or NULL if the feed reported it */
} SwarmViewerResult;

typedef struct {
  /* SWARM_VIEWER_PLAY */
  SwarmSegment *segment;        /* parsed, not verified (the feed did) */
  gboolean discont;             /* its first buffer follows a hole */
  gboolean eos;                 /* the publisher's stream ends with it */
  /* SWARM_VIEWER_GAP: running time */
  GstClockTime gap_start;
  GstClockTime gap_duration;
  /* SWARM_VIEWER_ERROR: a SWARM_SESSION_ERROR, or NULL */
  GError *error;
  /* private: how the segment's timestamps map */
  GstClockTimeDiff offset;
  GstClockTimeDiff shift;
  GstClockTime first;
  GstClockTime end;
} SwarmViewerStep;

/* @feed is borrowed for the viewer's life. */
SWARM_PRIVATE_API SwarmViewer *swarm_viewer_new (SwarmFeed * feed,
    const SwarmViewerConfig * config);
SWARM_PRIVATE_API void swarm_viewer_free (SwarmViewer * viewer);

/* Waits (on the feed) for what comes next.  Clear @step afterwards. */
SWARM_PRIVATE_API SwarmViewerResult swarm_viewer_next (SwarmViewer * viewer,
    SwarmViewerStep * step);
SWARM_PRIVATE_API void swarm_viewer_step_clear (SwarmViewerStep * step);
/* A timestamp (PTS or DTS) of step->segment's in running time: rebased
 * onto the pipeline's, with the playout step spread over the segment (it
 * plays that much faster or slower, never jumps).  NONE stays NONE. */
SWARM_PRIVATE_API GstClockTime swarm_viewer_step_time (const SwarmViewerStep * step,
    GstClockTime ts);

/* The net shift of playout (+ = later) and how far it moved earlier in
 * all (≥ 0), in milliseconds: "drift-correction-ms" and "catch-up-ms". */
SWARM_PRIVATE_API void swarm_viewer_get_playout (SwarmViewer * viewer,
    gdouble * drift_correction_ms, gdouble * catch_up_ms);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The viewer's side for its element: joining (or failing to), waiting for
 * a start and for segments, the playout position and what was played or
 * missed.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

void
session_check_join (SwarmSession * s, gint64 now)
{
  gboolean got;
  gchar *url;

  if (s->role != SWARM_SESSION_VIEWER || s->reported_failure
      || !s->join_timeout_ms)
    return;
  g_mutex_lock (&s->lock);
  got = s->got_segment;
  g_mutex_unlock (&s->lock);
  if (got || now - s->started_us < (gint64) s->join_timeout_ms * 1000)
    return;

  url = g_strjoinv (", ", s->tracker_urls);
  if (s->private_hints > 0 && s->n_ready_peers == 0 && !s->secret)
    session_fail (s, SWARM_SESSION_ERROR_SECRET,
        g_strdup_printf (_("Swarm %s is private: set its secret (the "
                "\"secret-file\" property, P2P_SECRET or secret= in the "
                "p2p:// URI)."),
            s->swarm_id));
  else if (s->private_hints > 0 && s->n_ready_peers == 0)
    session_fail (s, SWARM_SESSION_ERROR_SECRET,
        g_strdup_printf (_("The secret does not match swarm %s: its members "
                "could not open our offers, or we theirs (waited %u ms)."),
            s->swarm_id, s->join_timeout_ms));
  else if (s->signalling.tracker_other_swarm && s->n_ready_peers == 0 && s->secret)
    /* a private swarm's members announce where the secret leads, and
     * the publisher's tracker serves only that: ours led elsewhere */
    session_fail (s, SWARM_SESSION_ERROR_SECRET,
        g_strdup_printf (_("No member of private swarm %s at the tracker %s "
                "(waited %u ms): the secret does not match (the tracker "
                "serves only its publisher's swarm)."), s->swarm_id, url,
            s->join_timeout_ms));
  else if (s->signalling.tracker_other_swarm && s->n_ready_peers == 0)
    session_fail (s, SWARM_SESSION_ERROR_JOIN_TIMEOUT,
        g_strdup_printf (_("No publisher for swarm %s at the tracker %s: it "
                "serves only its publisher's swarm (waited %u ms).  Check "
                "the swarm id; if the swarm is private, set its secret (the "
                "\"secret-file\" property, P2P_SECRET or secret= in the "
                "p2p:// URI): its members can only be found with it."),
            s->swarm_id, url, s->join_timeout_ms));
  else if (s->signalling.tracker_refusal && s->signalling.tracker_complete == 0
      && s->n_ready_peers == 0)
    session_fail (s, SWARM_SESSION_ERROR_TRACKER,
        g_strdup_printf (_("Could not join swarm %s: %s; waited %u ms."),
            s->swarm_id, s->signalling.tracker_refusal, s->join_timeout_ms));
  else if (!s->signalling.tracker_ever_connected)
    session_fail (s, SWARM_SESSION_ERROR_TRACKER,
        g_strdup_printf (_("Could not connect to the tracker at %s within "
                "%u ms."), url, s->join_timeout_ms));
  else if (s->signalling.tracker_complete == 0 && s->n_ready_peers == 0 && s->secret)
    /* a private swarm's members announce where the secret leads: with
     * the wrong secret we are alone there */
    session_fail (s, SWARM_SESSION_ERROR_SECRET,
        g_strdup_printf (_("No member of private swarm %s at the tracker %s "
                "(waited %u ms): the secret does not match, or the swarm "
                "is not live."), s->swarm_id, url, s->join_timeout_ms));
  else if (s->signalling.tracker_complete == 0 && s->n_ready_peers == 0)
    session_fail (s, SWARM_SESSION_ERROR_JOIN_TIMEOUT,
        g_strdup_printf (_("No publisher for swarm %s at the tracker %s "
                "(waited %u ms).  If the swarm is private, set its secret "
                "(the \"secret-file\" property, P2P_SECRET or secret= in "
                "the p2p:// URI): its members can only be found with it."),
            s->swarm_id, url, s->join_timeout_ms));
  else
    session_fail (s, SWARM_SESSION_ERROR_JOIN_TIMEOUT,
        g_strdup_printf (_("Joined swarm %s but received no segment within "
                "%u ms."), s->swarm_id, s->join_timeout_ms));
  g_free (url);
}

/* Waits for a keyframe segment announced by a partner: any (@any), or one
 * newer than @after. */
static SwarmWaitResult
session_wait_keyframe (SwarmSession * s, gboolean any, guint64 after,
    gint64 deadline_us, guint64 * seq)
{
  SwarmWaitResult result;

  g_mutex_lock (&s->lock);
  for (;;) {
    if (s->failed) {
      result = SWARM_WAIT_ERROR;
      break;
    }
    if (s->flushing) {
      result = SWARM_WAIT_CANCELLED;
      break;
    }
    if (s->newest_key_valid && (any || s->newest_key_seq > after)) {
      *seq = s->newest_key_seq;
      result = SWARM_WAIT_OK;
      break;
    }
    if (!g_cond_wait_until (&s->cond, &s->lock, deadline_us)) {
      result = SWARM_WAIT_TIMEOUT;
      break;
    }
  }
  g_mutex_unlock (&s->lock);
  return result;
}

SwarmWaitResult
swarm_session_wait_start (SwarmSession * s, gint64 deadline_us, guint64 * seq)
{
  SwarmWaitResult result = session_wait_keyframe (s, TRUE, 0, deadline_us,
      seq);

  if (result == SWARM_WAIT_OK)
    swarm_session_set_playout (s, *seq);
  return result;
}

SwarmWaitResult
swarm_session_wait_keyframe_after (SwarmSession * s, guint64 after,
    gint64 deadline_us, guint64 * seq)
{
  return session_wait_keyframe (s, FALSE, after, deadline_us, seq);
}

void
swarm_session_set_playout (SwarmSession * s, guint64 seq)
{
  g_mutex_lock (&s->lock);
  s->playout_seq = seq;
  s->playout_set = TRUE;
  g_mutex_unlock (&s->lock);
  g_main_context_invoke (s->context, schedule_from_any_thread, s);
}

void
swarm_session_set_deadline (SwarmSession * s, guint64 seq, gint64 deadline_us)
{
  g_mutex_lock (&s->lock);
  s->deadline_seq = seq;
  s->deadline_us = deadline_us;
  g_mutex_unlock (&s->lock);
}

SwarmWaitResult
swarm_session_wait_segment (SwarmSession * s, guint64 seq, gint64 deadline_us,
    GBytes ** segment, gint64 * arrival_us)
{
  SwarmWaitResult result;

  g_mutex_lock (&s->lock);
  for (;;) {
    if (s->flushing) {
      result = SWARM_WAIT_CANCELLED;
      break;
    }
    if ((*segment = swarm_store_get_full (s->store, seq, arrival_us))) {
      result = SWARM_WAIT_OK;
      break;
    }
    if (s->failed) {
      result = SWARM_WAIT_ERROR;
      break;
    }
    if (!g_cond_wait_until (&s->cond, &s->lock, deadline_us)) {
      result = SWARM_WAIT_TIMEOUT;
      break;
    }
  }
  g_mutex_unlock (&s->lock);
  return result;
}

gboolean
swarm_session_get_newest_seq (SwarmSession * s, guint64 * seq)
{
  gboolean valid;

  g_mutex_lock (&s->lock);
  valid = s->newest_valid;
  /* what is announced in the slack past the newest EDGE is fetched, but
   * playout decisions stop at what the publisher has vouched for */
  if (valid)
    *seq = s->edge.valid ? MIN (s->newest_seq, s->edge.current.edge.seq) :
        s->newest_seq;
  g_mutex_unlock (&s->lock);
  return valid;
}

gboolean
swarm_session_get_epoch (SwarmSession * s, guint64 * epoch_seq,
    guint64 * restarts)
{
  gboolean valid;

  g_mutex_lock (&s->lock);
  valid = s->edge.valid;
  if (valid && epoch_seq)
    *epoch_seq = s->edge.current.edge.epoch_seq;
  if (restarts)
    *restarts = s->edge.epochs;
  g_mutex_unlock (&s->lock);
  return valid;
}

gboolean
swarm_session_find_in_hand (SwarmSession * s, guint64 after,
    gboolean keyframe, guint64 * seq)
{
  return swarm_store_find_newest (s->store, after,
      keyframe ? SWARM_SEGMENT_FLAG_KEYFRAME : 0, seq);
}

gboolean
swarm_session_get_newest_keyframe_seq (SwarmSession * s, guint64 * seq)
{
  gboolean valid;

  g_mutex_lock (&s->lock);
  valid = s->newest_key_valid;
  if (valid)
    *seq = s->newest_key_seq;
  g_mutex_unlock (&s->lock);
  return valid;
}

void
swarm_session_set_flushing (SwarmSession * s, gboolean flushing)
{
  g_mutex_lock (&s->lock);
  s->flushing = flushing;
  session_wake_waiters (s);
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_played (SwarmSession * s, guint64 seq)
{
  g_mutex_lock (&s->lock);
  s->counters.segments_played++;
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_missed (SwarmSession * s, guint64 seq)
{
  g_mutex_lock (&s->lock);
  s->counters.segments_missed++;
  g_mutex_unlock (&s->lock);
  session_explain_miss (s, seq);
}

void
swarm_session_note_missed_n (SwarmSession * s, guint64 count)
{
  g_mutex_lock (&s->lock);
  s->counters.segments_missed += count;
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_startup (SwarmSession * s, gint64 startup_ms)
{
  g_mutex_lock (&s->lock);
  s->startup_ms = startup_ms;
  g_mutex_unlock (&s->lock);
}

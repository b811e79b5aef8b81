/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session's side of the trackers: announcing, the offers it makes
 * (plain or sealed for a private swarm) and the answers it takes, within
 * what aquatic_ws and bittorrent-tracker accept.  See swarm-session.c for
 * the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

/* ---- tracker ---------------------------------------------------------- */

/* @event "started" on every new connection: a tracker forgets a peer whose
 * socket closed. */
static void
session_announce (SwarmSession * s, SwarmTrackerClient * c,
    const gchar * event, const SwarmTrackerOffer * offers, guint n_offers)
{
  GError *error = NULL;
  gint64 left = s->role == SWARM_SESSION_ORIGIN ? 0 : 1;

  /* Big descriptions (many candidates, sealed) may not fit ten to a
   * frame: send fewer rather than none. */
  while (!swarm_tracker_client_announce (c, event, left, n_offers, offers,
          n_offers, &error)) {
    if (!g_error_matches (error, SWARM_TRACKER_ERROR,
            SWARM_TRACKER_ERROR_TOO_LARGE) || n_offers == 0) {
      GST_INFO_OBJECT (s, "announce failed: %s", error->message);
      g_error_free (error);
      return;
    }
    g_clear_error (&error);
    n_offers /= 2;
  }
}

/* The trackers connected now (NULL if none), in an order that rotates
 * with every call so each round's first offers do not always go to the
 * same one. */
static GPtrArray *
session_connected_trackers (SwarmSession * s)
{
  GPtrArray *up = NULL;
  guint i, n = s->signalling.trackers->len;

  for (i = 0; i < n; i++) {
    SwarmTrackerClient *c = g_ptr_array_index (s->signalling.trackers,
        (i + s->signalling.tracker_rotation) % n);
    if (!swarm_tracker_client_is_connected (c))
      continue;
    if (!up)
      up = g_ptr_array_new ();
    g_ptr_array_add (up, c);
  }
  if (up)
    s->signalling.tracker_rotation++;
  return up;
}

/* Playing, and no partner announced anything newer for CUT_OFF_US (or
 * CUT_OFF_SEGMENTS of the stream's segments, if longer): the partners we
 * have cannot bring us the stream. */
static gboolean
session_is_cut_off (SwarmSession * s, gint64 now)
{
  SessionSignalling *sig = &s->signalling;
  gboolean playing, valid;
  guint64 newest;
  gint64 changed_us;

  g_mutex_lock (&s->lock);
  playing = s->role == SWARM_SESSION_VIEWER && s->playout_set;
  valid = s->newest_valid;
  newest = s->newest_seq;
  changed_us = s->newest_changed_us;
  g_mutex_unlock (&s->lock);
  if (!valid)
    return FALSE;
  if (newest > sig->paced_seq) {
    /* the first step is where we joined, not the pace */
    if (sig->paced_us) {
      gint64 per = (changed_us - sig->paced_us) /
          (gint64) (newest - sig->paced_seq);

      sig->segment_interval_us = sig->segment_interval_us ?
          (7 * sig->segment_interval_us + per) / 8 : per;
    }
    sig->paced_seq = newest;
    sig->paced_us = changed_us;
  }
  return playing && now - changed_us > MAX (CUT_OFF_US,
      CUT_OFF_SEGMENTS * sig->segment_interval_us);
}

/* A viewer with nothing of the stream yet, or cut off from it: it marks
 * its offers (NEWCOMER_MARK), and takes answers past max-peers. */
gboolean
session_is_newcomer (SwarmSession * s)
{
  return s->role == SWARM_SESSION_VIEWER
      && (s->counters.segments_received == 0 || s->signalling.cut_off);
}

/* Partners we take answers from: past max-peers while our places may all
 * be held by peers without the stream (a joiner's other joiners, a cut off
 * viewer's cut off partners), so the one answer that has it is not
 * turned down. */
static guint
session_answer_room (SwarmSession * s)
{
  if (session_is_newcomer (s))
    return s->max_peers + JOINING_EXTRA_PARTNERS;
  return s->max_peers;
}

/* Viewers look for partners: gather a round of offers, then announce them
 * together (the protocol has no trickle). */
void
session_maybe_offer (SwarmSession * s)
{
  g_autoptr (GPtrArray) up = NULL;
  gint64 now = swarm_clock_now_us (s->clock);
  guint i, n_pending = 0, n_described = 0, partners, want;
  gboolean cut_off;

  if (s->role != SWARM_SESSION_VIEWER
      || !(up = session_connected_trackers (s)))
    return;

  /* Cut off: look now, as when a partner is lost; the offers of a round
   * in progress may still bring someone with the stream, so they stay. */
  cut_off = session_is_cut_off (s, now);
  if (cut_off && !s->signalling.cut_off) {
    GST_DEBUG_OBJECT (s, "no partner announced a newer segment lately: "
        "cut off, looking for partners");
    s->signalling.last_offer_round_us = 0;
    g_hash_table_remove_all (s->pex.pex_tried);
  }
  s->signalling.cut_off = cut_off;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e->dead || e->has_remote || e->relay_id
        || swarm_peer_get_link_role (e->peer) != SWARM_LINK_OFFERER)
      continue;
    n_pending++;
    if (e->description)
      n_described++;
  }

  /* A partner just went away: offers still waiting went to peers that did
   * not want us, or were never sent; withdraw them and look again at once
   * rather than waiting for them to expire. */
  if (s->partner_lost) {
    s->partner_lost = FALSE;
    for (i = 0; i < s->peers->len; i++) {
      PeerEntry *e = g_ptr_array_index (s->peers, i);
      if (!e->dead && !e->has_remote && !e->relay_id
          && swarm_peer_get_link_role (e->peer) == SWARM_LINK_OFFERER)
        swarm_peer_close (e->peer);
    }
    /* peers that had no room before may have some now */
    g_hash_table_remove_all (s->pex.pex_tried);
    GST_DEBUG_OBJECT (s, "lost a partner: withdrew %u offers, looking again", n_pending);
    n_pending = n_described = 0;
    s->signalling.offer_round_started_us = 0;
    s->signalling.offers_gathering = 0;
    s->signalling.last_offer_round_us = 0;
  }

  /* A round is gathering: announce once all are described, or on a deadline. */
  if (s->signalling.offer_round_started_us && n_pending > 0) {
    SwarmTrackerOffer offers[SWARM_TRACKER_MAX_OFFERS];
    guint n = 0, t;

    if (n_described < n_pending
        && now - s->signalling.offer_round_started_us < GATHER_WAIT_US)
      return;
    for (i = 0; i < s->peers->len && n < SWARM_TRACKER_MAX_OFFERS; i++) {
      PeerEntry *e = g_ptr_array_index (s->peers, i);

      if (e->dead || !e->description)
        continue;
      offers[n].offer_id = swarm_peer_get_offer_id (e->peer);
      offers[n].sdp = e->description;
      e->offered_us = now;
      n++;
    }
    s->signalling.offer_round_started_us = 0;
    /* Each offer reaches one peer through one tracker: share them out, so
     * peers known to only one tracker are found too and no offer is
     * answered twice. */
    for (t = 0; t < up->len && t < n; t++) {
      SwarmTrackerOffer share[SWARM_TRACKER_MAX_OFFERS];
      guint k = 0;

      for (i = t; i < n; i += up->len)
        share[k++] = offers[i];
      session_announce (s, g_ptr_array_index (up, t), NULL, share, k);
    }
    for (i = 0; i < s->peers->len; i++) {
      PeerEntry *e = g_ptr_array_index (s->peers, i);
      g_clear_pointer (&e->description, g_free);
    }
    return;
  }
  if (n_pending > 0 || now - s->signalling.last_offer_round_us <
      (cut_off ? CUT_OFF_ROUND_US : OFFER_MIN_INTERVAL_US))
    return;

  partners = session_count_partners (s);
  if (partners >= (cut_off ? session_answer_room (s) : session_seek_target (s)))
    return;
  /* Offer widely: each offer reaches one random peer, and in a settled
   * swarm many are full.  Answers beyond max-peers are turned down. */
  want = MIN (SWARM_TRACKER_MAX_OFFERS, s->max_peers);

  s->signalling.last_offer_round_us = now;
  s->signalling.offer_round_started_us = now;
  s->signalling.offers_gathering = 0;
  for (i = 0; i < want; i++) {
    PeerEntry *e = session_add_peer (s, SWARM_LINK_OFFERER);
    gchar *offer_id = random_id20 (s->clock);
    GError *error = NULL;

    swarm_peer_set_offer_id (e->peer, offer_id);
    g_free (offer_id);
    s->signalling.offers_gathering++;
    if (!swarm_peer_start (e->peer, &error)) {
      GST_WARNING_OBJECT (s, "could not start an offer: %s", error->message);
      g_error_free (error);
      e->dead = TRUE;
      s->signalling.offers_gathering--;
    }
  }
  GST_DEBUG_OBJECT (s, "gathering %u offers", s->signalling.offers_gathering);
}

static void
on_tracker_connected (SwarmTrackerClient * c, gpointer user_data)
{
  SwarmSession *s = user_data;

  s->signalling.tracker_ever_connected = TRUE;
  if (s->role == SWARM_SESSION_ORIGIN) {
    session_announce (s, c, "started", NULL, 0);
  } else {
    /* A plain announce so the tracker knows us (and tells us whether the
     * swarm has a publisher) while the first offers gather. */
    session_announce (s, c, "started", NULL, 0);
    s->signalling.last_offer_round_us = 0;
    session_maybe_offer (s);
  }
}

static void
on_tracker_announce_reply (SwarmTrackerClient * c, guint complete,
    guint incomplete, guint interval_s, gpointer user_data)
{
  SwarmSession *s = user_data;

  s->signalling.tracker_complete = complete;
  g_mutex_lock (&s->lock);
  if (!s->ready) {
    s->ready = TRUE;
    session_wake_waiters (s);
  }
  g_mutex_unlock (&s->lock);
}

/* Handshakes cost CPU and sockets: a bounded number at once, and a bounded
 * rate of new ones, however many offers arrive. */
static gboolean
session_may_handshake (SwarmSession * s)
{
  guint i, n = 0;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (!e->dead && !e->was_ready
        && swarm_peer_get_link_role (e->peer) == SWARM_LINK_ANSWERER)
      n++;
  }
  if (n < MAX_HANDSHAKING
      && swarm_rate_limiter_take (s->signalling.offer_budget, swarm_clock_now_us (s->clock),
          1) == 1)
    return TRUE;
  g_mutex_lock (&s->lock);
  s->counters.offers_refused++;
  g_mutex_unlock (&s->lock);
  return FALSE;
}

/* At max-peers: closes the partner silent longest if that is over
 * SILENT_PLACE_US (never the origin: its silence has the swarm's own
 * remedy, the silence timeout).  TRUE if a place came free. */
static gboolean
session_free_silent_place (SwarmSession * s)
{
  gint64 now = swarm_clock_now_us (s->clock);
  PeerEntry *quietest = NULL;
  gint64 quietest_us = 0;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    gint64 heard;

    if (!peer_entry_is_ready (e)
        || swarm_peer_get_remote_role (e->peer) == SWARM_PEER_ROLE_ORIGIN)
      continue;
    heard = swarm_peer_get_last_heard_us (e->peer);
    if (heard && now - heard > SILENT_PLACE_US
        && (!quietest || heard < quietest_us)) {
      quietest = e;
      quietest_us = heard;
    }
  }
  if (!quietest)
    return FALSE;
  GST_INFO_OBJECT (s, "partner %s silent for %" G_GINT64_FORMAT " ms: its "
      "place goes to a newcomer", swarm_peer_get_remote_id (quietest->peer),
      (now - quietest_us) / 1000);
  swarm_peer_close (quietest->peer);
  g_mutex_lock (&s->lock);
  s->counters.partners_replaced++;
  g_mutex_unlock (&s->lock);
  return TRUE;
}

/* At max-peers (@over past it), offered a link by a newcomer (marked
 * @newcomer): one past max-peers, at most every NEWCOMER_ADMIT_INTERVAL_US. */
static gboolean
session_may_admit_newcomer (SwarmSession * s, gboolean newcomer, guint over)
{
  gint64 last = s->signalling.newcomer_admitted_us;

  /* the origin's places are the roots of the swarm's trees: not traded */
  return newcomer && s->role == SWARM_SESSION_VIEWER
      && over < NEWCOMER_EXTRA_PARTNERS
      && (!last || swarm_clock_now_us (s->clock) - last >=
          NEWCOMER_ADMIT_INTERVAL_US);
}

/* Pays for the newcomers admitted past max-peers once they are partners:
 * the least busy partner (bytes both ways lately) of NEWCOMER_SETTLED_US
 * or more gives up its place, never the origin nor another newcomer.
 * Already back at max-peers (someone left), nobody is closed. */
void
session_trade_for_newcomers (SwarmSession * s, gint64 now)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    PeerEntry *idle = NULL;
    guint j;

    if (!e->newcomer || (!e->dead && !peer_entry_is_ready (e)))
      continue;
    e->newcomer = FALSE;
    if (e->dead || session_count_partners (s) <= s->max_peers)
      continue;
    for (j = 0; j < s->peers->len; j++) {
      PeerEntry *o = g_ptr_array_index (s->peers, j);

      if (o->newcomer || o == e || !peer_entry_is_ready (o)
          || swarm_peer_get_remote_role (o->peer) == SWARM_PEER_ROLE_ORIGIN
          || now - swarm_peer_get_created_us (o->peer) < NEWCOMER_SETTLED_US)
        continue;
      if (!idle || o->rate_in_bps + o->rate_out_bps <
          idle->rate_in_bps + idle->rate_out_bps)
        idle = o;
    }
    if (!idle)
      continue;
    GST_INFO_OBJECT (s, "partner %s (%.0f B/s) gives its place to newcomer %s",
        swarm_peer_get_remote_id (idle->peer),
        idle->rate_in_bps + idle->rate_out_bps,
        swarm_peer_get_remote_id (e->peer));
    swarm_peer_close (idle->peer);
    g_mutex_lock (&s->lock);
    s->counters.partners_traded++;
    g_mutex_unlock (&s->lock);
  }
}

/* Someone offers a link, through a tracker (@via) or a partner (@relay_id). */
void
session_accept_offer (SwarmSession * s, SwarmTrackerClient * via,
    const gchar * relay_id, const gchar * peer_id, const gchar * offer_id,
    const gchar * text)
{
  PeerEntry *e;
  GError *error = NULL;
  gboolean newcomer = FALSE, admitted = FALSE;
  guint partners, room;
  gchar *sdp;

  if (session_is_banned (s, peer_id)) {
    GST_DEBUG_OBJECT (s, "ignoring offer from %s: banned", peer_id);
    return;
  }
  /* Before the max-peers check: a joiner with no or the wrong secret
   * learns why, even from a full partner. */
  sdp = session_incoming_description (s, peer_id, text, &newcomer);
  if (!sdp) {
    if (via && !swarm_secret_is_refusal (text))
      swarm_tracker_client_answer (via, peer_id, offer_id,
          SWARM_SECRET_REFUSAL, NULL);
    return;
  }
  /* the origin relays offers between its partners only (siblings,
   * swarm-session-pex.c): room is kept for them past max-peers */
  partners = session_count_partners (s);
  room = s->max_peers
      + (session_relay_is_origin (s, relay_id) ? SIBLING_EXTRA_PARTNERS : 0);
  if (partners >= room && !session_free_silent_place (s)
      && !(admitted = session_may_admit_newcomer (s, newcomer,
              partners - room))) {
    GST_DEBUG_OBJECT (s, "ignoring offer from %s: at max-peers", peer_id);
    g_mutex_lock (&s->lock);
    s->counters.offers_refused_full++;
    g_mutex_unlock (&s->lock);
    g_free (sdp);
    return;
  }
  if (session_find_linked (s, peer_id, NULL)) {
    GST_DEBUG_OBJECT (s, "ignoring offer from %s: already a partner", peer_id);
    g_free (sdp);
    return;
  }
  if (!session_may_handshake (s)) {
    GST_DEBUG_OBJECT (s, "ignoring offer from %s: too many handshakes", peer_id);
    g_free (sdp);
    return;
  }
  e = session_add_peer (s, SWARM_LINK_ANSWERER);
  if (admitted) {
    GST_INFO_OBJECT (s, "newcomer %s taken past max-peers", peer_id);
    e->newcomer = TRUE;
    s->signalling.newcomer_admitted_us = swarm_clock_now_us (s->clock);
    g_mutex_lock (&s->lock);
    s->counters.newcomers_admitted++;
    g_mutex_unlock (&s->lock);
  }
  e->via = via;
  e->relay_id = g_strdup (relay_id);
  e->has_remote = TRUE;
  swarm_peer_set_remote_id (e->peer, peer_id);
  swarm_peer_set_offer_id (e->peer, offer_id);
  if (!swarm_peer_set_remote_description (e->peer, sdp, &error)
      || !swarm_peer_start (e->peer, &error)) {
    GST_INFO_OBJECT (s, "bad offer from %s: %s", peer_id, error->message);
    g_error_free (error);
    e->dead = TRUE;
  }
  g_free (sdp);
}

/* Two peers offered each other and each answered the other's offer: each
 * then holds an answerer link and gets an answer to its own offer.  Were
 * each to keep the link it had first, each would drop the link the other
 * kept, and both would wait out ICE on a half-dead pair (see
 * docs/design.md, Signalling).  Both ends keep the link whose offerer has the
 * smaller peer id, as on_peer_ready does for two links that both came up.
 * TRUE when @twin, our answerer link to the peer that just answered us,
 * is the one to drop. */
static gboolean
session_crossed_offer_loses (SwarmSession * s, PeerEntry * twin)
{
  return !twin->was_ready
      && swarm_peer_get_link_role (twin->peer) == SWARM_LINK_ANSWERER
      && strcmp (s->local.peer_id, swarm_peer_get_remote_id (twin->peer)) < 0;
}

/* Someone answered one of our offers (tracker or relayed). */
void
session_apply_answer (SwarmSession * s, const gchar * peer_id,
    const gchar * offer_id, const gchar * text)
{
  GError *error = NULL;
  PeerEntry *twin;
  gchar *sdp;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e->dead || e->has_remote
        || swarm_peer_get_link_role (e->peer) != SWARM_LINK_OFFERER
        || g_strcmp0 (swarm_peer_get_offer_id (e->peer), offer_id) != 0)
      continue;
    /* a relayed offer went to one peer: only it may answer */
    if (e->relay_id && g_strcmp0 (swarm_peer_get_remote_id (e->peer),
            peer_id) != 0)
      continue;
    twin = session_find_linked (s, peer_id, e);
    if (twin && session_crossed_offer_loses (s, twin)) {
      GST_DEBUG_OBJECT (s, "offers crossed with %s: keeping ours", peer_id);
      swarm_peer_close (twin->peer);
      twin = NULL;
    }
    /* A viewer with nothing of the stream yet keeps room for more
     * answers: in a flash crowd its places fill with other joiners (none
     * with the stream) while the origin's answer is on its way, and
     * dropping that answer leaves the origin's place held by a dead
     * handshake until its connect timeout (docs/sim.md, finding 1). */
    if (twin || session_is_banned (s, peer_id)
        || session_count_partners (s) >= MAX (session_answer_room (s),
            s->max_peers + (session_relay_is_origin (s, e->relay_id) ?
                SIBLING_EXTRA_PARTNERS : 0))) {
      swarm_peer_close (e->peer);
      return;
    }
    sdp = session_incoming_description (s, peer_id, text, NULL);
    if (!sdp) {
      swarm_peer_close (e->peer);
      return;
    }
    e->has_remote = TRUE;
    session_housekeeping_soon (s);
    swarm_peer_set_remote_id (e->peer, peer_id);
    if (!swarm_peer_set_remote_description (e->peer, sdp, &error)) {
      GST_INFO_OBJECT (s, "bad answer from %s: %s", peer_id, error->message);
      g_error_free (error);
      swarm_peer_close (e->peer);
    }
    g_free (sdp);
    return;
  }
  GST_DEBUG_OBJECT (s, "answer %s from %s matches no open offer", offer_id, peer_id);
}

static void
on_tracker_offer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  session_accept_offer (user_data, c, NULL, peer_id, offer_id, sdp);
}

static void
on_tracker_answer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  session_apply_answer (user_data, peer_id, offer_id, sdp);
}

static void
on_tracker_error (SwarmTrackerClient * c, const GError * error,
    gpointer user_data)
{
  SwarmSession *s = user_data;
  gboolean outage = g_error_matches (error, SWARM_TRACKER_ERROR,
      SWARM_TRACKER_ERROR_CONNECT) || g_error_matches (error,
      SWARM_TRACKER_ERROR, SWARM_TRACKER_ERROR_REFUSED);

  /* What the tracker said when it turned us away: a join that times out
   * tells it rather than guessing. */
  if (g_error_matches (error, SWARM_TRACKER_ERROR, SWARM_TRACKER_ERROR_REFUSED)
      || g_error_matches (error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_FAILURE)) {
    const gchar *reason = swarm_tracker_client_get_refusal (c);

    g_free (s->signalling.tracker_refusal);
    s->signalling.tracker_refusal = g_strdup_printf (g_error_matches (error,
            SWARM_TRACKER_ERROR, SWARM_TRACKER_ERROR_REFUSED) ?
        _("the tracker refused the connection: %s (%s)") :
        _("the tracker refused the announce: %s (%s)"),
        reason ? reason : error->message, swarm_tracker_client_get_url (c));
    /* told apart: with a private swarm's secret (or without it) we
     * announce where the publisher's tracker does not serve */
    if (strstr (error->message, SWARM_TRACKER_REASON_OTHER_SWARM))
      s->signalling.tracker_other_swarm = TRUE;
  }
  /* One warning per outage, not one per retry: with partners (PEX) or
   * other trackers the swarm goes on without this one. */
  if (swarm_tracker_client_get_failures (c) <= 1 || !outage)
    session_warn (user_data, error);
  else
    GST_DEBUG_OBJECT (s, "tracker still unreachable: %s", error->message);
}

/* the session's tracker clients report here (see session_start) */
const SwarmTrackerClientCallbacks tracker_callbacks = {
  .connected = on_tracker_connected,
  .announce_reply = on_tracker_announce_reply,
  .offer = on_tracker_offer,
  .answer = on_tracker_answer,
  .error = on_tracker_error,
};


/* ---- the state this part owns (SessionSignalling) ------------------ */

void
session_signalling_init (SwarmSession * s)
{
  s->signalling.trackers = g_ptr_array_new ();
  s->signalling.offer_budget = swarm_rate_limiter_new (OFFERS_PER_S,
      OFFERS_BURST);
}

void
session_signalling_clear (SwarmSession * s)
{
  g_ptr_array_unref (s->signalling.trackers);
  swarm_rate_limiter_free (s->signalling.offer_budget);
  g_clear_pointer (&s->signalling.tracker_server, swarm_tracker_server_free);
  g_free (s->signalling.tracker_refusal);
}

void
session_signalling_check_tracker (SwarmSession * s)
{
  guint64 refused = s->tracker_stats.refused_fds;
  gint64 now = swarm_clock_now_us (s->clock);
  g_autoptr (GError) error = NULL;

  if (refused <= s->signalling.tracker_fds_refused)
    return;
  s->signalling.tracker_fds_refused = refused;
  if (s->signalling.tracker_fds_warned_us
      && now - s->signalling.tracker_fds_warned_us < 60 * G_USEC_PER_SEC)
    return;
  s->signalling.tracker_fds_warned_us = now;
  /* the tracker's own ERROR in the log says the same, with the limit */
  error = g_error_new (SWARM_SESSION_ERROR, SWARM_SESSION_ERROR_TRACKER,
      _("The embedded tracker is out of file descriptors: viewers are being "
          "refused (%" G_GUINT64_FORMAT " so far).  Raise the limit (ulimit "
          "-n, LimitNOFILE= in a systemd unit) or lower "
          "tracker-max-connections."), refused);
  session_warn (s, error);
}

/* On the network thread: the embedded tracker (an origin without
 * trackers) and a client for each tracker. */
gboolean
session_signalling_start (SwarmSession * s, GError ** error)
{
  guint i;

  if (s->role == SWARM_SESSION_ORIGIN && !s->tracker_urls[0]) {
    SwarmTrackerServerLimits limits;
    const gchar *host;

    s->signalling.tracker_server = swarm_tracker_server_new ();
    swarm_tracker_server_set_clock (s->signalling.tracker_server, s->clock);
    swarm_tracker_server_get_limits (s->signalling.tracker_server, &limits);
    limits.max_connections = s->tracker_max_connections;
    limits.max_connections_per_address =
        s->tracker_max_connections_per_address;
    limits.connection_rate = s->tracker_connection_rate;
    limits.connection_burst = s->tracker_connection_rate *
        SWARM_TRACKER_CONNECTION_BURST_S;
    swarm_tracker_server_set_limits (s->signalling.tracker_server, &limits);
    /* Ours is a publisher's tracker, not a public one. */
    swarm_tracker_server_set_info_hash (s->signalling.tracker_server, s->info_hash);
    if (!swarm_tracker_server_listen (s->signalling.tracker_server, s->tracker_address,
            s->tracker_port_wanted, error))
      return FALSE;
    g_mutex_lock (&s->lock);
    s->tracker_port = swarm_tracker_server_get_port (s->signalling.tracker_server);
    g_mutex_unlock (&s->lock);
    /* Talk to our own tracker over loopback when it listens everywhere. */
    if (g_str_equal (s->tracker_address, "0.0.0.0"))
      host = "127.0.0.1";
    else if (g_str_equal (s->tracker_address, "::"))
      host = "[::1]";
    else
      host = s->tracker_address;
    g_strfreev (s->tracker_urls);
    s->tracker_urls = g_new0 (gchar *, 2);
    s->tracker_urls[0] = g_strdup_printf (strchr (host, ':') && host[0] != '['
        ? "ws://[%s]:%u/announce" : "ws://%s:%u/announce", host,
        s->tracker_port);
  }
  if (!s->tracker_urls[0]) {
    g_set_error (error, SWARM_SESSION_ERROR, SWARM_SESSION_ERROR_SETTINGS,
        _("No tracker to join the swarm through."));
    return FALSE;
  }
  for (i = 0; s->tracker_urls[i]; i++) {
    SwarmTrackerClient *c = swarm_tracker_client_new (s->tracker_urls[i],
        s->info_hash, s->local.peer_id, &tracker_callbacks, s);
    g_ptr_array_add (s->signalling.trackers, c);
    swarm_tracker_client_set_clock (c, s->clock);
    swarm_tracker_client_start (c);
  }
  return TRUE;
}

/* A tracker client said goodbye; the last one ends the network thread
 * (the embedded tracker goes last: our own client may be talking to it). */
static void
signalling_tracker_gone (gpointer data)
{
  SwarmSession *s = data;

  if (--s->signalling.goodbyes_pending > 0)
    return;
  g_clear_pointer (&s->signalling.tracker_server, swarm_tracker_server_free);
  session_network_done (s);
}

/* Says goodbye to every tracker; session_network_done follows, at once or
 * when the last has closed (bounded by the client). */
void
session_signalling_stop (SwarmSession * s)
{
  guint i;

  /* one more count covers the loop below */
  s->signalling.goodbyes_pending = s->signalling.trackers->len + 1;
  for (i = 0; i < s->signalling.trackers->len; i++)
    swarm_tracker_client_free_full (g_ptr_array_index (s->signalling.trackers,
            i), signalling_tracker_gone, s);
  g_ptr_array_set_size (s->signalling.trackers, 0);
  signalling_tracker_gone (s);
}

/* One of our offers has its description: when all have, offer them. */
void
session_signalling_offer_gathered (SwarmSession * s)
{
  if (s->signalling.offers_gathering > 0)
    s->signalling.offers_gathering--;
  if (s->signalling.offers_gathering == 0)
    session_maybe_offer (s);
}

/* One of our offers died before its description was ready. */
void
session_signalling_offer_lost (SwarmSession * s)
{
  if (s->signalling.offers_gathering > 0)
    s->signalling.offers_gathering--;
}

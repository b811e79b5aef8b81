/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session ties the swarm together on one network thread:
 *
 *   tracker client(s) ──offers/answers──▶ SwarmPeer (link + protocol)
 *   embedded tracker (origin)              │ HAVE / DATA / ABSENT
 *   scheduler ◀── wanted segments ─────────┤
 *   transfers: chunks → segment → verify → store → HAVE to partners
 *
 * Elements call in from their streaming threads; everything that touches
 * links or the tracker is marshalled onto the session's GMainContext.  The
 * few fields elements read (counters, playout position, newest known
 * segment) live under @lock, with @cond to wake waiting elements.
 *
 * The session's state and bounds are in swarm-session-private.h, which
 * also lists the files that make it up and the job of each.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"
#include "swarm-enumtypes.h"

#define GST_CAT_DEFAULT swarm_session_debug

G_DEFINE_QUARK (swarm-session-error-quark, swarm_session_error);

gchar *
random_id20 (SwarmClock * clock)
{
  static const gchar alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  guint8 rnd[20];
  gchar *id = g_malloc (21);
  guint i;

  swarm_clock_random_bytes (clock, rnd, sizeof rnd);
  for (i = 0; i < 20; i++)
    id[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
  id[20] = '\0';
  return id;
}

static gboolean
peer_entry_is_live (PeerEntry * e)
{
  return !e->dead;
}

gboolean
peer_entry_is_ready (PeerEntry * e)
{
  return !e->dead && swarm_peer_is_ready (e->peer);
}

/* In a loop over the partners, about to look at the @i-th: asks for the
 * entry two ahead and the peer of the next (whose entry came a step
 * ago).  In a crowd each is a cache miss; this way they overlap with the
 * work on this one. */
void
session_prefetch_partners (SwarmSession * s, guint i)
{
  if (i + 2 < s->peers->len)
    __builtin_prefetch (g_ptr_array_index (s->peers, i + 2));
  if (i + 1 < s->peers->len)
    swarm_peer_prefetch (((PeerEntry *) g_ptr_array_index (s->peers,
                i + 1))->peer);
}

/* Partners that count against max-peers: every live link except our own
 * offers nobody answered yet. */
guint
session_count_partners (SwarmSession * s)
{
  guint i, n = 0;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    session_prefetch_partners (s, i);
    if (peer_entry_is_live (e) && (e->has_remote
            || swarm_peer_get_link_role (e->peer) == SWARM_LINK_ANSWERER))
      n++;
  }
  return n;
}

/* The live entry for peer @remote_id other than @except.  With
 * @linked_only, our own offers nobody answered yet are skipped: they must not
 * stand in the way of a real link to the same peer. */
static PeerEntry *
session_lookup_peer (SwarmSession * s, const gchar * remote_id,
    PeerEntry * except, gboolean linked_only)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    const gchar *id = swarm_peer_get_remote_id (e->peer);

    if (e == except || !peer_entry_is_live (e) || !id
        || g_strcmp0 (id, remote_id) != 0)
      continue;
    if (!linked_only || e->has_remote
        || swarm_peer_get_link_role (e->peer) == SWARM_LINK_ANSWERER)
      return e;
  }
  return NULL;
}

PeerEntry *
session_find_partner (SwarmSession * s, const gchar * remote_id,
    PeerEntry * except)
{
  return session_lookup_peer (s, remote_id, except, FALSE);
}

PeerEntry *
session_find_linked (SwarmSession * s, const gchar * remote_id,
    PeerEntry * except)
{
  return session_lookup_peer (s, remote_id, except, TRUE);
}

/* How many partners a viewer looks for itself.  It accepts offers up to
 * max-peers, but seeks only three quarters of that, so a swarm where
 * everyone has found its partners still has room for newcomers. */
guint
session_seek_target (SwarmSession * s)
{
  return MAX (1, s->max_peers - s->max_peers / 4);
}

void
session_fail (SwarmSession * s, gint code, gchar * message)
{
  GError *error = g_error_new_literal (SWARM_SESSION_ERROR, code, message);

  g_free (message);
  /* Report before waking waiters, so the element's own error comes first
   * and the generic "streaming stopped" one second. */
  if (!s->reported_failure) {
    s->reported_failure = TRUE;
    GST_WARNING_OBJECT (s, "session failed: %s", error->message);
    session_emit_error (s, error);
  }
  g_mutex_lock (&s->lock);
  s->failed = TRUE;
  session_wake_waiters (s);
  g_mutex_unlock (&s->lock);
  g_error_free (error);
}

void
session_warn (SwarmSession * s, const GError * error)
{
  GST_INFO_OBJECT (s, "session warning: %s", error->message);
  session_emit_warning (s, error);
}

static void
on_peer_description (SwarmPeer * p, const gchar * local_sdp,
    gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  GError *error = NULL;
  gchar *sdp = session_outgoing_description (s, local_sdp,
      swarm_peer_get_link_role (p) == SWARM_LINK_OFFERER
      && session_is_newcomer (s));

  e->described = TRUE;
  if (e->relay_id) {
    e->offered_us = swarm_clock_now_us (s->clock);
    if (!session_relay_description (s, e, sdp))
      swarm_peer_close (p);
    g_free (sdp);
    return;
  }
  if (swarm_peer_get_link_role (p) == SWARM_LINK_ANSWERER) {
    if (!e->via || !swarm_tracker_client_answer (e->via,
            swarm_peer_get_remote_id (p), swarm_peer_get_offer_id (p), sdp,
            &error)) {
      GST_INFO_OBJECT (s, "could not send answer: %s", error ? error->message : "no tracker");
      g_clear_error (&error);
      swarm_peer_close (p);
    }
    g_free (sdp);
    return;
  }
  g_free (e->description);
  e->description = sdp;
  session_signalling_offer_gathered (s);
}

void
on_peer_ready (SwarmPeer * p, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  PeerEntry *twin = session_find_partner (s, swarm_peer_get_remote_id (p), e);

  if (twin && swarm_peer_is_ready (twin->peer)) {
    /* Both sides offered each other: keep the link whose offerer has the
     * smaller peer id, a rule both ends apply identically. */
    const gchar *offerer_e = swarm_peer_get_link_role (p) == SWARM_LINK_OFFERER
        ? s->local.peer_id : swarm_peer_get_remote_id (p);
    const gchar *offerer_t =
        swarm_peer_get_link_role (twin->peer) == SWARM_LINK_OFFERER
        ? s->local.peer_id : swarm_peer_get_remote_id (twin->peer);

    if (strcmp (offerer_e, offerer_t) > 0) {
      swarm_peer_close (p);
      return;
    }
    swarm_peer_close (twin->peer);
  }
  if (swarm_peer_get_remote_role (p) != SWARM_PEER_ROLE_ORIGIN
      && session_address_is_banned (s, p)) {
    GST_INFO_OBJECT (s, "partner %s comes from a banned address: closing",
        swarm_peer_get_remote_id (p));
    g_mutex_lock (&s->lock);
    s->counters.links_refused_address++;
    g_mutex_unlock (&s->lock);
    swarm_peer_close (p);
    return;
  }
  /* before our map goes out (the peer sends it after this) */
  session_send_edge (s, e);
  GST_INFO_OBJECT (s, "partner %s ready (%s, %s)", swarm_peer_get_remote_id (p),
      swarm_peer_get_remote_role (p) == SWARM_PEER_ROLE_ORIGIN ? "origin" :
      "viewer", swarm_link_get_local_candidate_type (swarm_peer_get_link (p)));
  e->was_ready = TRUE;
  g_mutex_lock (&s->lock);
  s->n_ready_peers++;
  if (e->relay_id)
    s->counters.pex_links++;
  g_mutex_unlock (&s->lock);
  if (!e->info) {
    GstStructure *st = peer_entry_describe (e, swarm_clock_now_us (s->clock));

    e->info = swarm_peer_info_new (swarm_peer_get_remote_id (p), st);
    gst_structure_free (st);
    session_emit_peer_added (s, e->info);
    /* a handler may have closed this partner */
    if (e->dead)
      return;
  }
  /* everyone learns of the newcomer with the next PEX round, soon */
  session_pex_soon (s);
  session_request_schedule (s);
}

static void
on_peer_closed (SwarmPeer * p, const GError * error, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  GHashTableIter it;
  gpointer value;

  if (e->dead)
    return;
  GST_INFO_OBJECT (s, "partner %s closed: %s",
      swarm_peer_get_remote_id (p) ? swarm_peer_get_remote_id (p) : "(unknown)",
      error ? error->message : "by us");
  /* Floods, protocol violations and failed secret proofs: kept away
   * like forgers. */
  if (error && error->domain == SWARM_PEER_ERROR
      && (error->code == SWARM_PEER_ERROR_MISBEHAVED
          || error->code == SWARM_PEER_ERROR_PROTOCOL
          || error->code == SWARM_PEER_ERROR_SECRET)
      && swarm_peer_get_remote_id (p)) {
    session_ban (s, swarm_peer_get_remote_id (p), p);
    g_mutex_lock (&s->lock);
    s->counters.peers_misbehaved++;
    g_mutex_unlock (&s->lock);
  }
  if (e->was_ready) {
    guint i;

    s->partner_lost = TRUE;
    /* offers relayed through it cannot complete any more */
    for (i = 0; i < s->peers->len; i++) {
      PeerEntry *o = g_ptr_array_index (s->peers, i);
      if (o != e && !o->dead && !o->has_remote && o->relay_id
          && g_strcmp0 (o->relay_id, swarm_peer_get_remote_id (p)) == 0)
        o->dead = TRUE;         /* reaped (and its link closed) shortly */
    }
  }
  e->dead = TRUE;
  session_housekeeping_soon (s);
  if (!e->described && swarm_peer_get_link_role (p) == SWARM_LINK_OFFERER)
    session_signalling_offer_lost (s);
  g_hash_table_iter_init (&it, s->transfers);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Transfer *t = value;
    if (t->source == e)
      t->source = NULL;
  }
  /* Freed on the next housekeeping pass: we may be deep inside its code. */
}

static const SwarmPeerCallbacks peer_callbacks = {
  .description = on_peer_description,
  .ready = on_peer_ready,
  .have = on_peer_have,
  .edge = on_peer_edge,
  .data = on_peer_data,
  .upload = on_peer_upload,
  .pex = on_peer_pex,
  .signal = on_peer_signal,
  .absent = on_peer_absent,
  .busy = on_peer_busy,
  .asked = on_peer_asked,
  .admit = on_peer_admit,
  .closed = on_peer_closed,
};

PeerEntry *
session_add_peer (SwarmSession * s, SwarmLinkRole role)
{
  SwarmLinkConfig config = { 0 };
  PeerEntry *e = g_new0 (PeerEntry, 1);

  config.stun = s->stun;
  config.turn = s->turn;
  config.connect_timeout_ms = 10000;
  config.clock = s->clock;
  config.factory = s->link_factory;
  e->session = s;
  e->signal_budget = swarm_rate_limiter_new (RELAY_PARTNER_PER_S,
      RELAY_PARTNER_BURST);
  e->peer = swarm_peer_new (s->context, role, &config, s->credentials,
      &s->local, s->store, &peer_callbacks, e);
  g_ptr_array_add (s->peers, e);
  session_housekeeping_soon (s);
  return e;
}

static void
peer_entry_free (PeerEntry * e)
{
  g_clear_object (&e->info);
  swarm_peer_free (e->peer);
  swarm_rate_limiter_free (e->signal_budget);
  g_clear_pointer (&e->pex_ids, g_ptr_array_unref);
  g_free (e->relay_id);
  g_free (e->description);
  g_free (e);
}

static void
session_reap_peers (SwarmSession * s)
{
  guint i = 0;

  while (i < s->peers->len) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (!e->dead) {
      i++;
      continue;
    }
    s->closed_bytes_sent += swarm_peer_get_bytes_sent (e->peer);
    s->closed_segments_pushed += swarm_peer_get_segments_pushed (e->peer);
    s->closed_parity_sent += swarm_peer_get_parity_sent (e->peer);
    {
      SwarmPeerAbuse a;
      swarm_peer_get_abuse (e->peer, &a);
      s->closed_abuse.junk += a.junk;
      s->closed_abuse.waste += a.waste;
      s->closed_abuse.requests_refused += a.requests_refused;
    }
    g_ptr_array_remove_index_fast (s->peers, i);
    if (e->info) {
      /* the last figures, not the ones up to 100 ms old: an app reading
       * bytes-sent in peer-removed sees the partner's whole total */
      GstStructure *last = peer_entry_describe (e, swarm_clock_now_us (s->clock));

      if (last) {
        swarm_peer_info_update (e->info, last);
        gst_structure_free (last);
      }
      swarm_peer_info_set_disconnected (e->info);
      session_emit_peer_removed (s, e->info);
    }
    peer_entry_free (e);
  }
}

/* Whether housekeeping has work due within HOUSEKEEPING_MS: a transfer to
 * watch for stalls, an ACK to flush, a link coming up, offers being
 * gathered, a partner just lost, a join not yet done.  Otherwise its
 * duties (pings, silence, PEX, offers that went out expiring after
 * seconds) keep for HOUSEKEEPING_IDLE_MS: a live viewer between two
 * segments woke 50 times a second for nothing. */
static gboolean
session_is_busy (SwarmSession * s)
{
  guint i;

  if (g_hash_table_size (s->transfers) > 0 || s->partner_lost
      || s->signalling.offer_round_started_us)
    return TRUE;
  if (s->role == SWARM_SESSION_VIEWER) {
    gboolean got;

    g_mutex_lock (&s->lock);
    got = s->got_segment;
    g_mutex_unlock (&s->lock);
    if (!got)
      return TRUE;
  }
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e->dead)
      return TRUE;
    /* an offer out waits for an answer (session_apply_answer) */
    if (!e->has_remote && e->offered_us)
      continue;
    if (!e->has_remote || !swarm_peer_is_settled (e->peer))
      return TRUE;
  }
  return FALSE;
}

static void
housekeeping_arm (SwarmSession * s, gint64 at)
{
  s->housekeeping_due_us = at;
  swarm_clock_source_set_deadline (s->clock, s->housekeeping_source, at);
}

/* Something housekeeping watches began (a transfer, data to ACK, a link):
 * back to every HOUSEKEEPING_MS, at its next step on the grid of its runs
 * (so an ACK waits as long as it did when housekeeping never slowed down).
 * Cheap when it is so already: called for every chunk received. */
void
session_housekeeping_soon (SwarmSession * s)
{
  const gint64 step = HOUSEKEEPING_MS * 1000;
  gint64 at = s->housekeeping_last_us + step, now;

  if (!s->housekeeping_source || s->housekeeping_due_us <= at)
    return;
  now = swarm_clock_now_us (s->clock);
  if (at < now)
    at += (now - at + step - 1) / step * step;
  housekeeping_arm (s, at);
}

static gboolean
housekeeping_cb (gpointer data)
{
  SwarmSession *s = data;
  gint64 now = swarm_clock_now_us (s->clock);
  gboolean lonely = session_count_partners (s) == 0;
  gint64 expiry = s->signalling.cut_off ? CUT_OFF_ROUND_US :
      lonely ? OFFER_EXPIRY_US / 2 : OFFER_EXPIRY_US;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    session_prefetch_partners (s, i);
    if (e->dead)
      continue;
    /* withdraw offers nobody answered; sooner while we have no partner,
     * or none that brings the stream */
    if (!e->has_remote && swarm_peer_get_link_role (e->peer) ==
        SWARM_LINK_OFFERER && ((e->offered_us && now - e->offered_us >
                expiry)
            || (e->described && !e->offered_us
                && now - swarm_peer_get_created_us (e->peer) >
                2 * OFFER_EXPIRY_US))) {
      swarm_peer_close (e->peer);
      continue;
    }
    swarm_peer_housekeeping (e->peer, now);
    swarm_peer_flush_acks (e->peer, now);
  }
  session_reap_peers (s);
  session_retry_transfers (s, now);
  session_sample_upload (s, now);
  session_maybe_offer (s);
  session_pex_tick (s, now);
  if (now - s->last_prune_us >= PRUNE_INTERVAL_US) {
    s->last_prune_us = now;
    session_prune (s, now);
    session_trade_for_newcomers (s, now);
  }
  session_check_join (s, now);
  if (!s->peer_stats_us || now - s->peer_stats_us >= PEER_STATS_MS * 1000) {
    s->peer_stats_us = now;
    session_refresh_peer_stats (s);
  }
  session_schedule (s);
  if (s->housekeeping_source) {
    s->housekeeping_last_us = now;
    housekeeping_arm (s, now + (session_is_busy (s) ? HOUSEKEEPING_MS :
            HOUSEKEEPING_IDLE_MS) * 1000);
  }
  return G_SOURCE_CONTINUE;
}


typedef struct {
  SwarmSession *session;
  GMutex lock;
  GCond cond;
  gboolean done;
  GError *error;
} StartJob;

static GSource *
attach_timeout (SwarmSession * s, guint ms, GSourceFunc func)
{
  GSource *source = swarm_clock_timeout_source_new (s->clock, ms);

  swarm_clock_source_set_callback (s->clock, source, func, s);
  g_source_attach (source, s->context);
  return source;
}

/* A timer of the session's that fires when it is armed for
 * (swarm_clock_source_set_deadline): housekeeping, the pump, the
 * scheduler. */
GSource *
session_attach_deadline (SwarmSession * s, GSourceFunc func)
{
  GSource *source = swarm_clock_deadline_source_new (s->clock);

  swarm_clock_source_set_callback (s->clock, source, func, s);
  g_source_attach (source, s->context);
  return source;
}

/* Runs on the network thread, with its context as thread-default. */
static gboolean
session_setup (SwarmSession * s, GError ** error)
{
  /* an ECDSA key and a certificate: needless for links without DTLS
   * (thousands of in-memory sessions made one each) */
  if (!s->link_factory || !s->link_factory->without_dtls) {
    s->credentials = swarm_dtls_credentials_new (error);
    if (!s->credentials)
      return FALSE;
  }
  s->scheduler = s->scheduler_class->create ();

  if (!session_signalling_start (s, error))
    return FALSE;

  s->started_us = swarm_clock_now_us (s->clock);
  s->housekeeping_source = session_attach_deadline (s, housekeeping_cb);
  s->housekeeping_last_us = s->started_us;
  housekeeping_arm (s, s->started_us + HOUSEKEEPING_MS * 1000);
  if (s->stats_interval_ms)
    s->stats_source = attach_timeout (s, s->stats_interval_ms, stats_cb);
  s->running = TRUE;
  return TRUE;
}

static gpointer
session_thread (gpointer data)
{
  StartJob *job = data;
  SwarmSession *s = job->session;
  GError *error = NULL;
  gboolean ok;

  g_main_context_push_thread_default (s->context);
  ok = session_setup (s, &error);
  g_mutex_lock (&job->lock);
  job->error = error;
  job->done = TRUE;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
  /* @job belongs to the starter from here on. */
  if (ok)
    g_main_loop_run (s->loop);
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

gboolean
swarm_session_start (SwarmSession * s, GError ** error)
{
  StartJob job = { 0 };

  g_return_val_if_fail (!s->started, FALSE);
  if (s->config_error) {
    g_propagate_error (error, g_error_copy (s->config_error));
    return FALSE;
  }
  if (s->secret_text) {
    GError *secret_error = NULL;

    s->secret = swarm_secret_new (s->secret_text, s->local.swarm_key,
        &secret_error);
    if (!s->secret) {
      g_set_error_literal (error, SWARM_SESSION_ERROR,
          SWARM_SESSION_ERROR_SETTINGS, secret_error->message);
      g_error_free (secret_error);
      return FALSE;
    }
    s->local.secret = s->secret;
    /* members meet where only the secret leads (see swarm-secret.h) */
    g_free (s->info_hash);
    s->info_hash = swarm_secret_info_hash (s->secret);
    /* the derived keys are all the session needs from here on */
    swarm_secret_clear_string (&s->secret_text);
  }
  if (!s->own_thread) {
    /* the caller's thread is the network thread */
    gboolean ok;

    g_main_context_push_thread_default (s->context);
    ok = session_setup (s, error);
    g_main_context_pop_thread_default (s->context);
    s->started = ok;
    return ok;
  }
  job.session = s;
  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);
  s->thread = g_thread_new ("swarm-net", session_thread, &job);
  g_mutex_lock (&job.lock);
  while (!job.done)
    g_cond_wait (&job.cond, &job.lock);
  g_mutex_unlock (&job.lock);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
  if (job.error) {
    g_propagate_error (error, job.error);
    g_thread_join (s->thread);
    s->thread = NULL;
    return FALSE;
  }
  s->started = TRUE;
  return TRUE;
}

gboolean
swarm_session_wait_ready (SwarmSession * s, guint timeout_ms, GError ** error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean ready;

  g_mutex_lock (&s->lock);
  while (!s->ready && !s->failed && !s->flushing)
    if (!g_cond_wait_until (&s->cond, &s->lock, deadline))
      break;
  ready = s->ready;
  g_mutex_unlock (&s->lock);
  if (!ready) {
    gchar *url = g_strjoinv (", ", s->tracker_urls);
    g_set_error (error, SWARM_SESSION_ERROR, SWARM_SESSION_ERROR_TRACKER,
        _("The tracker at %s did not answer within %u ms."), url, timeout_ms);
    g_free (url);
  }
  return ready;
}

guint
swarm_session_get_tracker_port (SwarmSession * s)
{
  guint port;

  g_mutex_lock (&s->lock);
  port = s->tracker_port;
  g_mutex_unlock (&s->lock);
  return port;
}

/* Every goodbye is said (session_signalling_stop): nothing more runs. */
void
session_network_done (SwarmSession * s)
{
  s->network_done = TRUE;
  g_main_loop_quit (s->loop);
}

void
session_wake_waiters (SwarmSession * s)
{
  g_cond_broadcast (&s->cond);
  if (s->wake_notify)
    s->wake_notify (s->wake_data);
}

void
swarm_session_set_wake_notify (SwarmSession * s, void (*notify) (gpointer),
    gpointer data)
{
  g_mutex_lock (&s->lock);
  s->wake_notify = notify;
  s->wake_data = data;
  g_mutex_unlock (&s->lock);
}

void
swarm_session_set_segment_notify (SwarmSession * s,
    void (*notify) (guint64, const gchar *, gpointer), gpointer data)
{
  s->segment_notify = notify;
  s->segment_data = data;
}

void
swarm_session_set_segment_intern (SwarmSession * s,
    GBytes * (*intern) (guint64, GBytes *, gpointer), gpointer data)
{
  s->segment_intern = intern;
  s->segment_intern_data = data;
}

static gboolean
session_teardown (gpointer data)
{
  SwarmSession *s = data;
  guint i;

  s->stopping = TRUE;
  s->running = FALSE;
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (!e->dead)
      swarm_peer_close (e->peer);
  }
  session_reap_peers (s);
  if (s->housekeeping_source)
    g_source_destroy (s->housekeeping_source);
  if (s->stats_source)
    g_source_destroy (s->stats_source);
  if (s->pump_source)
    g_source_destroy (s->pump_source);
  if (s->schedule_source)
    g_source_destroy (s->schedule_source);
  g_clear_pointer (&s->housekeeping_source, g_source_unref);
  g_clear_pointer (&s->stats_source, g_source_unref);
  g_clear_pointer (&s->pump_source, g_source_unref);
  g_clear_pointer (&s->schedule_source, g_source_unref);
  s->schedule_pending = FALSE;
  /* The loop runs on until every tracker has had our goodbye (bounded by
   * the client); then session_network_done. */
  session_signalling_stop (s);
  return G_SOURCE_REMOVE;
}

void
swarm_session_stop (SwarmSession * s)
{
  g_return_if_fail (SWARM_IS_SESSION (s));

  swarm_session_set_flushing (s, TRUE);
  if (s->started && !s->own_thread) {
    /* Said on the network thread: run the context until the goodbyes are
     * out (bounded by the tracker client's goodbye timer). */
    s->started = FALSE;
    g_main_context_push_thread_default (s->context);
    /* unless swarm_session_stop_begin() did */
    if (!s->stopping)
      session_teardown (s);
    while (!s->network_done) {
      if (swarm_clock_is_virtual (s->clock))
        swarm_clock_run (s->clock, s->context,
            swarm_clock_now_us (s->clock) + 10 * 1000);
      else
        g_main_context_iteration (s->context, TRUE);
    }
    g_main_context_pop_thread_default (s->context);
  }
  if (s->thread) {
    s->started = FALSE;
    g_main_context_invoke (s->context, session_teardown, s);
    g_thread_join (s->thread);
    s->thread = NULL;
    /* Let what is already queued (link and WebSocket closes) run, but do
     * not chase periodic sources: unreffing the context destroys them. */
    {
      guint i;
      for (i = 0; i < 64 && g_main_context_iteration (s->context, FALSE);
          i++);
    }
  }
}

void
swarm_session_stop_begin (SwarmSession * s)
{
  g_return_if_fail (SWARM_IS_SESSION (s));
  g_return_if_fail (!s->own_thread);

  swarm_session_set_flushing (s, TRUE);
  if (!s->started || s->stopping)
    return;
  g_main_context_push_thread_default (s->context);
  session_teardown (s);
  g_main_context_pop_thread_default (s->context);
}

gboolean
swarm_session_is_stopped (SwarmSession * s)
{
  return !s->started || s->network_done;
}

void
swarm_session_free (SwarmSession * s)
{
  if (!s)
    return;
  swarm_session_stop (s);
  g_object_unref (s);
}

const gchar *
swarm_session_get_peer_id (SwarmSession * s)
{
  return s->local.peer_id;
}

typedef struct {
  SwarmSession *session;
  gchar *peer_id;
} DisconnectJob;

static gboolean
disconnect_on_thread (gpointer data)
{
  DisconnectJob *job = data;
  PeerEntry *e = session_find_partner (job->session, job->peer_id, NULL);

  if (e)
    swarm_peer_close (e->peer);
  return G_SOURCE_REMOVE;
}

static void
disconnect_job_free (gpointer data)
{
  DisconnectJob *job = data;

  g_free (job->peer_id);
  g_free (job);
}

void
swarm_session_disconnect_peer (SwarmSession * s, const gchar * peer_id)
{
  DisconnectJob *job = g_new0 (DisconnectJob, 1);

  job->session = s;
  job->peer_id = g_strdup (peer_id);
  g_main_context_invoke_full (s->context, G_PRIORITY_DEFAULT,
      disconnect_on_thread, job, disconnect_job_free);
}

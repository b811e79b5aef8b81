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
 * The session's state and bounds are in swarm-session-private.h; the
 * tracker side (announces, offers, answers) is swarm-session-tracker.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"
#include "swarm-enumtypes.h"

#define GST_CAT_DEFAULT swarm_debug

G_DEFINE_QUARK (swarm-session-error-quark, swarm_session_error);

G_DEFINE_TYPE (SwarmSession, swarm_session, G_TYPE_OBJECT);

enum
{
  SIGNAL_PEER_ADDED,
  SIGNAL_PEER_REMOVED,
  N_SIGNALS
};

static guint session_signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_ROLE,
  PROP_PEER_ID,
  PROP_SWARM_ID,
  PROP_TRACKER_PORT,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *session_props[N_PROPS];

static void session_request_schedule (SwarmSession * s);
static void session_send_pex (SwarmSession * s);
static void session_ban_contributors (SwarmSession * s, Transfer * t);
static void transfer_repair_gaps (Transfer * t, guint idx);

/* ---- small helpers ---------------------------------------------------- */

/* A transfer for @seq, from @source (nullable: the scheduler picks one). */
static Transfer *
session_add_transfer (SwarmSession * s, guint64 seq, PeerEntry * source)
{
  Transfer *t = g_new0 (Transfer, 1);
  guint64 *key = g_new (guint64, 1);

  t->session = s;
  t->seq = seq;
  t->created_us = g_get_monotonic_time ();
  *key = seq;
  g_hash_table_insert (s->transfers, key, t);
  if (source) {
    t->source = source;
    t->last_progress_us = g_get_monotonic_time ();
    swarm_peer_set_in_flight (source->peer,
        swarm_peer_get_in_flight (source->peer) + 1);
  }
  return t;
}

/* Forgets the chunks of @t (and their size), keeping the transfer. */
static void
transfer_clear_chunks (Transfer * t)
{
  SwarmSession *s = t->session;

  s->transfer_bytes -= t->reserved;
  t->reserved = 0;
  g_clear_pointer (&t->data, g_free);
  g_clear_pointer (&t->got, g_free);
  g_clear_pointer (&t->asks, g_free);
  g_clear_pointer (&t->contributors, g_ptr_array_unref);
  g_clear_pointer (&t->parity, g_free);
  g_clear_pointer (&t->parity_got, g_free);
  t->parity_groups = 0;
  t->chunk_count = 0;
  t->size = 0;
  t->n_got = 0;
}

static void
transfer_free (Transfer * t)
{
  transfer_clear_chunks (t);
  g_free (t);
}

/* Sizes @t for a segment of @size bytes in @chunk_count chunks, within
 * TRANSFER_BYTES_MAX; pushes, which nobody asked for, within half of it,
 * so pushers claiming huge segments cannot starve what we requested.
 * FALSE if that would exceed it. */
static gboolean
transfer_reserve (Transfer * t, guint chunk_count, gsize size)
{
  SwarmSession *s = t->session;

  if (s->transfer_bytes + size > (t->pushed ? TRANSFER_BYTES_MAX / 2 :
          TRANSFER_BYTES_MAX))
    return FALSE;
  s->transfer_bytes += size;
  t->reserved = size;
  t->chunk_count = chunk_count;
  t->size = size;
  t->data = g_malloc (size);
  t->got = g_malloc0 ((chunk_count + 7) / 8);
  /* sized at the first chunk, which answers a request for all of them */
  t->asks = g_malloc (chunk_count);
  memset (t->asks, 1, chunk_count);
  t->repair_from = 0;
  g_mutex_lock (&s->lock);
  s->transfer_bytes_peak = MAX (s->transfer_bytes_peak, s->transfer_bytes);
  g_mutex_unlock (&s->lock);
  return TRUE;
}

gchar *
random_id20 (void)
{
  static const gchar alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  guint8 rnd[20];
  gchar *id = g_malloc (21);
  guint i;

  gnutls_rnd (GNUTLS_RND_NONCE, rnd, sizeof rnd);
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

static gboolean
peer_entry_is_ready (PeerEntry * e)
{
  return !e->dead && swarm_peer_is_ready (e->peer);
}

/* Partners that count against max-peers: every live link except our own
 * offers nobody answered yet. */
guint
session_count_partners (SwarmSession * s)
{
  guint i, n = 0;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
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

static PeerEntry *
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

static void
session_fail (SwarmSession * s, gint code, gchar * message)
{
  GError *error = g_error_new_literal (SWARM_SESSION_ERROR, code, message);

  g_free (message);
  /* Report before waking waiters, so the element's own error comes first
   * and the generic "streaming stopped" one second. */
  if (!s->reported_failure) {
    s->reported_failure = TRUE;
    GST_WARNING ("session failed: %s", error->message);
    if (s->callbacks.error)
      s->callbacks.error (s, error, s->user_data);
  }
  g_mutex_lock (&s->lock);
  s->failed = TRUE;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
  g_error_free (error);
}

void
session_warn (SwarmSession * s, const GError * error)
{
  GST_INFO ("session warning: %s", error->message);
  if (s->callbacks.warning)
    s->callbacks.warning (s, error, s->user_data);
}

/* ---- segments --------------------------------------------------------- */

static void
session_note_known (SwarmSession * s, guint64 seq, gboolean keyframe)
{
  gboolean changed = FALSE;

  g_mutex_lock (&s->lock);
  if (!s->newest_valid || seq > s->newest_seq) {
    s->newest_seq = seq;
    s->newest_valid = TRUE;
    s->newest_changed_us = g_get_monotonic_time ();
    changed = TRUE;
  }
  if (keyframe && (!s->newest_key_valid || seq > s->newest_key_seq)) {
    s->newest_key_seq = seq;
    s->newest_key_valid = TRUE;
    changed = TRUE;
  }
  if (changed)
    g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
}

/* Could segment @seq exist yet?  Only up to what the publisher's newest
 * EDGE says, plus a little slack (swarm-edge.h); before the first EDGE,
 * nothing is believed.  Counts what it refuses. */
static SwarmEdgeSeqVerdict
session_check_seq (SwarmSession * s, guint64 seq)
{
  SwarmEdgeSeqVerdict v;

  g_mutex_lock (&s->lock);
  v = swarm_edge_state_check_seq (&s->edge, seq, g_get_monotonic_time ());
  if (v == SWARM_EDGE_SEQ_AHEAD || v == SWARM_EDGE_SEQ_LIE)
    s->announcements_refused++;
  g_mutex_unlock (&s->lock);
  return v;
}

/* Sends the newest EDGE we hold to one partner: first thing after HELLO,
 * so that its buffer map (sent next) is believed. */
static void
session_send_edge (SwarmSession * s, PeerEntry * e)
{
  SwarmMessage edge;
  gboolean valid;

  g_mutex_lock (&s->lock);
  valid = s->edge.valid;
  edge = s->edge.current;
  g_mutex_unlock (&s->lock);
  if (valid)
    swarm_peer_send_message (e->peer, &edge);
}

/* A newer EDGE goes on to every partner but the one it came from. */
static void
session_forward_edge (SwarmSession * s, const SwarmMessage * edge,
    PeerEntry * from)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (e != from && peer_entry_is_ready (e))
      swarm_peer_send_message (e->peer, edge);
  }
}

static void
session_announce_segment (SwarmSession * s, guint64 seq,
    SwarmSegmentFlags flags)
{
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (peer_entry_is_ready (e))
      swarm_peer_send_have (e->peer, seq, flags);
  }
}

typedef struct {
  SwarmSession *session;
  guint64 seq;
  SwarmSegmentFlags flags;
  GBytes *bytes;
} PublishJob;

typedef struct {
  SwarmSession *session;
  guint64 seq;
  SwarmSegmentFlags flags;
} LateAnnounce;

/* The rest of the origin's partners learn of a segment now; the swarm has
 * usually spread it to them already, so they will not ask the origin. */
static gboolean
late_announce_cb (gpointer data)
{
  LateAnnounce *la = data;

  if (la->session->running && swarm_store_has (la->session->store, la->seq))
    session_announce_segment (la->session, la->seq, la->flags);
  return G_SOURCE_REMOVE;
}

static void
session_origin_announce (SwarmSession * s, guint64 seq,
    SwarmSegmentFlags flags)
{
  GPtrArray *ready = g_ptr_array_new ();
  LateAnnounce *la;
  GSource *source;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (peer_entry_is_ready (e))
      g_ptr_array_add (ready, e);
  }
  for (i = 0; i < MIN (ORIGIN_FIRST_ANNOUNCE, ready->len); i++) {
    PeerEntry *e = g_ptr_array_index (ready,
        (s->announce_cursor + i) % ready->len);
    /* pushed, not just announced: saves the first hop a round trip */
    swarm_peer_push (e->peer, seq);
    swarm_peer_send_have (e->peer, seq, flags);
  }
  s->announce_cursor++;
  g_ptr_array_unref (ready);

  la = g_new0 (LateAnnounce, 1);
  la->session = s;
  la->seq = seq;
  la->flags = flags;
  source = g_timeout_source_new (ORIGIN_LATE_ANNOUNCE_MS);
  g_source_set_callback (source, late_announce_cb, la, g_free);
  g_source_attach (source, s->context);
  g_source_unref (source);
}

/* The origin's signed word that @seq is the newest segment: to every
 * partner at once, before any announcement of it. */
static void
session_origin_edge (SwarmSession * s, guint64 seq, SwarmSegmentFlags flags,
    GBytes * bytes)
{
  SwarmMessage edge = {.type = SWARM_MSG_EDGE };
  GError *error = NULL;
  gint64 published = 0;

  /* the first segment of this run opens its epoch */
  if (!s->origin_epoch_valid) {
    s->origin_epoch_seq = seq;
    s->origin_epoch_valid = TRUE;
  }
  edge.edge.epoch_seq = s->origin_epoch_seq;
  if (!swarm_segment_peek_publish_time (g_bytes_get_data (bytes, NULL),
          g_bytes_get_size (bytes), &published) || published == 0)
    published = g_get_real_time ();
  edge.edge.seq = seq;
  edge.edge.publish_time_us = published;
  edge.edge.flags = flags;
  if (!swarm_edge_sign (s->identity, &edge, &error)) {
    GST_WARNING ("could not sign the EDGE of %" G_GUINT64_FORMAT ": %s", seq,
        error->message);
    g_error_free (error);
    return;
  }
  g_mutex_lock (&s->lock);
  /* our own: the time is ours, whatever it says */
  if (!s->edge.valid || seq > s->edge.current.edge.seq) {
    s->edge.current = edge;
    s->edge.valid = TRUE;
    s->edge.received_us = g_get_monotonic_time ();
  }
  g_mutex_unlock (&s->lock);
  session_forward_edge (s, &edge, NULL);
}

static gboolean
publish_on_thread (gpointer data)
{
  PublishJob *job = data;
  SwarmSession *s = job->session;

  if (swarm_store_add (s->store, job->seq, job->flags, job->bytes)) {
    session_origin_edge (s, job->seq, job->flags, job->bytes);
    session_note_known (s, job->seq,
        (job->flags & SWARM_SEGMENT_FLAG_KEYFRAME) != 0);
    session_origin_announce (s, job->seq, job->flags);
  }
  return G_SOURCE_REMOVE;
}

static void
publish_job_free (gpointer data)
{
  PublishJob *job = data;

  g_bytes_unref (job->bytes);
  g_free (job);
}

void
swarm_session_publish (SwarmSession * s, guint64 seq, SwarmSegmentFlags flags,
    GBytes * segment)
{
  PublishJob *job = g_new0 (PublishJob, 1);

  job->session = s;
  job->seq = seq;
  job->flags = flags;
  job->bytes = g_bytes_ref (segment);
  g_mutex_lock (&s->lock);
  s->segments_published++;
  s->bytes_published += g_bytes_get_size (segment);
  g_mutex_unlock (&s->lock);
  g_main_context_invoke_full (s->context, G_PRIORITY_DEFAULT,
      publish_on_thread, job, publish_job_free);
}

/* Fresh segments go straight down to the partners that take their
 * segments from us (at most a few), without waiting for them to ask: one
 * round trip less per hop. */
static void
session_push_to_children (SwarmSession * s, guint64 seq, PeerEntry * from)
{
  guint i, pushed = 0;

  for (i = 0; i < s->peers->len && pushed < PUSH_CHILDREN; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e != from && peer_entry_is_ready (e)
        && swarm_peer_is_child (e->peer, seq) && swarm_peer_push (e->peer, seq))
      pushed++;
  }
}

/* A whole segment arrived: check the publisher's signature before anyone
 * sees it. */
/* CPU time of the calling thread: what verification costs, whatever else
 * the machine is doing. */
static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Checks the publisher's signature, and counts what that cost. */
static gboolean
session_verify (SwarmSession * s, GBytes * bytes, GError ** error)
{
  gint64 t0 = thread_cpu_us ();
  gboolean ok = swarm_segment_verify (bytes, s->identity, error);
  gint64 spent = thread_cpu_us () - t0;

  g_mutex_lock (&s->lock);
  s->segments_verified++;
  s->bytes_verified += g_bytes_get_size (bytes);
  s->verify_us += MAX (spent, 0);
  g_mutex_unlock (&s->lock);
  return ok;
}

/* One line per segment received, for working out where a viewer's
 * latency goes (tools/bench-arrivals.py): how it came, how long it took,
 * how much was asked for again, and its age by the publisher's clock
 * (meaningful where both clocks agree, as in p2p-bench). */
static void
transfer_log_done (Transfer * t, GBytes * bytes, PeerEntry * last)
{
  gint64 now, published = 0;
  guint i, asked_again = 0;

  if (gst_debug_category_get_threshold (GST_CAT_DEFAULT) < GST_LEVEL_DEBUG)
    return;
  now = g_get_monotonic_time ();
  /* every chunk is asked for once with the segment */
  for (i = 0; i < t->chunk_count; i++)
    asked_again += t->asks[i] > 1 ? t->asks[i] - 1 : 0;
  swarm_segment_peek_publish_time (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), &published);
  GST_DEBUG ("segment %" G_GUINT64_FORMAT " done from %s: %s, %u chunks, "
      "%u asked again, first chunk after %" G_GINT64_FORMAT " ms, whole "
      "after %" G_GINT64_FORMAT " ms, age %" G_GINT64_FORMAT " ms", t->seq,
      swarm_peer_get_remote_id (last->peer), t->pushed ? "pushed" : "asked",
      t->chunk_count, asked_again, (t->first_chunk_us - t->created_us) / 1000,
      (now - t->created_us) / 1000,
      published ? (g_get_real_time () - published) / 1000 : -1);
}

static void
session_complete_transfer (SwarmSession * s, Transfer * t, PeerEntry * last)
{
  GBytes *bytes = g_bytes_new_take (t->data, t->size);
  GError *error = NULL;
  SwarmSegmentFlags flags = 0;
  guint64 seq = 0;
  PeerEntry *source = t->source;

  t->data = NULL;
  if (source)
    swarm_peer_set_in_flight (source->peer,
        swarm_peer_get_in_flight (source->peer) - 1);
  t->source = NULL;
  if (!swarm_segment_peek (g_bytes_get_data (bytes, NULL), t->size, &seq,
          &flags, &error) || seq != t->seq
      || !session_verify (s, bytes, &error)) {
    GST_WARNING ("segment %" G_GUINT64_FORMAT " from %s rejected: %s",
        t->seq, swarm_peer_get_remote_id (last->peer),
        error ? error->message : "sequence number mismatch");
    g_clear_error (&error);
    g_mutex_lock (&s->lock);
    s->segments_rejected++;
    g_mutex_unlock (&s->lock);
    g_bytes_unref (bytes);
    if (t->contributors && t->contributors->len > 1) {
      /* Which of them lied?  Banning all would let a liar get honest
       * partners (the origin even) banned by mixing its chunks in. */
      transfer_clear_chunks (t);
      t->single_source = TRUE;
      session_request_schedule (s);
      return;
    }
    session_ban_contributors (s, t);
    /* dropped: the scheduler fetches it again from someone else */
    g_hash_table_remove (s->transfers, &t->seq);
    return;
  }

  transfer_log_done (t, bytes, last);
  {
    /* what we asked for again may still come: the copy we took was the
     * first, not a lost one (a big segment's repairs: thousands) */
    guint i, again = 0;

    for (i = 0; i < t->chunk_count; i++)
      again += t->asks[i] > 1 ? t->asks[i] - 1 : 0;
    last->late_copies = MIN (last->late_copies + again,
        SWARM_MAX_CHUNKS_PER_SEGMENT);
  }
  swarm_peer_send_ack (last->peer, t->seq, t->chunk_count, t->got);
  s->segment_bytes_avg = s->segment_bytes_avg ?
      (7 * s->segment_bytes_avg + t->size) / 8 : t->size;
  swarm_store_add (s->store, seq, flags, bytes);
  g_hash_table_remove (s->transfers, &seq);
  g_bytes_unref (bytes);

  session_note_known (s, seq, (flags & SWARM_SEGMENT_FLAG_KEYFRAME) != 0);
  g_mutex_lock (&s->lock);
  s->segments_received++;
  s->got_segment = TRUE;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);

  session_push_to_children (s, seq, source);
  session_announce_segment (s, seq, flags);
  session_request_schedule (s);
}

static void
transfer_note_contributor (Transfer * t, const gchar * id)
{
  guint i;

  if (!id)
    return;
  if (!t->contributors)
    t->contributors = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < t->contributors->len; i++)
    if (g_str_equal (g_ptr_array_index (t->contributors, i), id))
      return;
  g_ptr_array_add (t->contributors, g_strdup (id));
}

gboolean
session_is_banned (SwarmSession * s, const gchar * id)
{
  gint64 *until = id ? g_hash_table_lookup (s->banned, id) : NULL;

  return until && *until > g_get_monotonic_time ();
}

typedef struct {
  guint strikes;                /* bans within BAN_US of each other */
  gint64 last_us;               /* the latest */
  gint64 until_us;              /* the address is kept away until then */
} AddressStrikes;

/* The IP a partner's link came from ("ip:port" without the port), or
 * NULL before ICE chose a pair. */
static gchar *
peer_remote_ip (SwarmPeer * p)
{
  gchar *addr = swarm_link_get_remote_address (swarm_peer_get_link (p));
  gchar *colon = addr ? strrchr (addr, ':') : NULL;

  if (colon)
    *colon = '\0';
  return addr;
}

gboolean
session_address_is_banned (SwarmSession * s, SwarmPeer * p)
{
  g_autofree gchar *ip = peer_remote_ip (p);
  AddressStrikes *a = ip ? g_hash_table_lookup (s->strikes, ip) : NULL;

  return a && a->until_us > g_get_monotonic_time ();
}

static void
session_strike_address (SwarmSession * s, SwarmPeer * p)
{
  gchar *ip = peer_remote_ip (p);
  gint64 now = g_get_monotonic_time ();
  AddressStrikes *a;

  if (!ip)
    return;
  a = g_hash_table_lookup (s->strikes, ip);
  if (!a) {
    if (g_hash_table_size (s->strikes) >= ADDRESS_STRIKES_MAX) {
      g_free (ip);
      return;
    }
    a = g_new0 (AddressStrikes, 1);
    g_hash_table_insert (s->strikes, g_strdup (ip), a);
  }
  if (now - a->last_us > BAN_US)
    a->strikes = 0;
  a->strikes++;
  a->last_us = now;
  if (a->strikes >= ADDRESS_BAN_STRIKES && a->until_us <= now) {
    GST_WARNING ("%u partners from %s banned in %u s: keeping the address "
        "away", a->strikes, ip, (guint) (BAN_US / G_USEC_PER_SEC));
    a->until_us = now + BAN_US;
    g_mutex_lock (&s->lock);
    s->address_bans++;
    g_mutex_unlock (&s->lock);
  }
  g_free (ip);
}

/* Keeps peer @id away for BAN_US; @p (nullable): its link, whose address
 * takes a strike. */
static void
session_ban (SwarmSession * s, const gchar * id, SwarmPeer * p)
{
  gint64 *until = g_new (gint64, 1);

  *until = g_get_monotonic_time () + BAN_US;
  g_hash_table_insert (s->banned, g_strdup (id), until);
  g_mutex_lock (&s->lock);
  s->peers_banned++;
  g_mutex_unlock (&s->lock);
  if (p)
    session_strike_address (s, p);
}

/* Forgets expired bans and old PEX attempts. */
static void
session_prune (SwarmSession * s, gint64 now)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->banned);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (*(gint64 *) value <= now)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, s->pex_tried);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (now - *(gint64 *) value >= PEX_RETRY_US)
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, s->strikes);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    AddressStrikes *a = value;
    if (now - a->last_us > BAN_US && a->until_us <= now)
      g_hash_table_iter_remove (&it);
  }
}

/* Every partner that sent a chunk of a segment that failed verification is
 * cut off and kept away for a while: a forger cannot hide among honest
 * senders of the same segment for long, and honest ones reconnect later. */
static void
session_ban_contributors (SwarmSession * s, Transfer * t)
{
  guint i;

  for (i = 0; t->contributors && i < t->contributors->len; i++) {
    const gchar *id = g_ptr_array_index (t->contributors, i);
    PeerEntry *e = session_find_partner (s, id, NULL);

    session_ban (s, id, e ? e->peer : NULL);
    if (e)
      swarm_peer_close (e->peer);
  }
}

/* A parent pushes a segment we did not ask for: take it if it is one we
 * will want, as a transfer from that parent. */
static gboolean
session_accept_push (SwarmSession * s, PeerEntry * e, guint64 seq)
{
  gboolean wanted;

  /* bounded: a partner cannot make us hold more transfers than we would
   * ever run ourselves, nor more from it than we would ask it for */
  if (s->role != SWARM_SESSION_VIEWER || swarm_store_has (s->store, seq)
      || g_hash_table_size (s->transfers) >= LOOKAHEAD_SEGMENTS
      || swarm_peer_get_in_flight (e->peer) >= MAX_IN_FLIGHT_PER_PEER)
    return FALSE;
  g_mutex_lock (&s->lock);
  wanted = !s->playout_set || (seq >= s->playout_seq
      && seq < s->playout_seq + LOOKAHEAD_SEGMENTS);
  g_mutex_unlock (&s->lock);
  if (!wanted)
    return FALSE;
  switch (session_check_seq (s, seq)) {
    case SWARM_EDGE_SEQ_OK:
      break;
    case SWARM_EDGE_SEQ_LIE:
      swarm_peer_note_lie (e->peer, "pushes a segment far past the "
          "publisher's newest");
      return FALSE;
    default:
      return FALSE;
  }
  /* not noted as known: that waits until it is verified */
  session_add_transfer (s, seq, e)->pushed = TRUE;
  return TRUE;
}

static gboolean
transfer_has_contributor (Transfer * t, const gchar * id)
{
  guint i;

  for (i = 0; id && t->contributors && i < t->contributors->len; i++)
    if (g_str_equal (g_ptr_array_index (t->contributors, i), id))
      return TRUE;
  return FALSE;
}

/* Chunks of a transfer come from the partner it was asked of (or that
 * pushed it); once it is handed back, late ones from those that already
 * contributed still help.  Anyone else's would only mix in chunks we
 * could not attribute. */
static void transfer_detach (Transfer * t);

static gboolean
transfer_accepts_from (Transfer * t, PeerEntry * e)
{
  const gchar *id = swarm_peer_get_remote_id (e->peer);

  if (t->source == e)
    return TRUE;
  if (t->source && t->pushed
      && g_get_monotonic_time () - t->last_progress_us > PUSH_TAKEOVER_US) {
    GST_DEBUG ("push of %" G_GUINT64_FORMAT " from %s stalled: taken over "
        "by %s", t->seq, swarm_peer_get_remote_id (t->source->peer), id);
    transfer_detach (t);
    /* no mixing with what the stalled pusher sent */
    if (!transfer_has_contributor (t, id))
      transfer_clear_chunks (t);
    t->source = e;
    t->last_progress_us = g_get_monotonic_time ();
    swarm_peer_set_in_flight (e->peer, swarm_peer_get_in_flight (e->peer) + 1);
    return TRUE;
  }
  if (t->source)
    return FALSE;
  return transfer_has_contributor (t, id);
}

static gsize
transfer_chunk_len (const Transfer * t, guint idx)
{
  return MIN (SWARM_CHUNK_SIZE, t->size - (gsize) idx * SWARM_CHUNK_SIZE);
}

static void transfer_take_chunk (Transfer * t, PeerEntry * e, guint idx,
    const guint8 * payload, gsize len);
static void transfer_repair_group (Transfer * t, guint group);

/* The one chunk of @group still missing, rebuilt from the group's parity
 * and its other chunks; nothing while two or more are missing.  The
 * signature check of the whole segment judges the result like any chunk,
 * and the parity's sender is among its contributors. */
static void
transfer_try_rebuild (Transfer * t, PeerEntry * e, guint group)
{
  guint8 chunk[SWARM_CHUNK_SIZE];
  guint c, missing = G_MAXUINT;
  gsize i;

  if (!t->parity || !swarm_wire_bit_get (t->parity_got, group))
    return;
  for (c = group; c < t->chunk_count; c += t->parity_groups) {
    if (swarm_wire_bit_get (t->got, c))
      continue;
    if (missing != G_MAXUINT)
      return;
    missing = c;
  }
  if (missing == G_MAXUINT)
    return;
  memcpy (chunk, t->parity + (gsize) group * SWARM_CHUNK_SIZE,
      SWARM_CHUNK_SIZE);
  for (c = group; c < t->chunk_count; c += t->parity_groups) {
    const guint8 *d = t->data + (gsize) c * SWARM_CHUNK_SIZE;
    gsize len = transfer_chunk_len (t, c);

    if (c == missing)
      continue;
    for (i = 0; i < len; i++)
      chunk[i] ^= d[i];
  }
  g_mutex_lock (&t->session->lock);
  t->session->chunks_rebuilt++;
  g_mutex_unlock (&t->session->lock);
  GST_LOG ("rebuilt chunk %u of %" G_GUINT64_FORMAT " from parity", missing,
      t->seq);
  transfer_take_chunk (t, e, missing, chunk, transfer_chunk_len (t, missing));
}

/* A PARITY for a transfer in progress (from a partner it takes chunks
 * from); any other is of no use now (the segment came whole, or was
 * never asked for) and costs nothing: a lossy link sends parity after
 * every segment, most of which need none. */
static void
session_take_parity (SwarmSession * s, PeerEntry * e, const SwarmMessage * msg)
{
  Transfer *t = g_hash_table_lookup (s->transfers, &msg->data.seq);
  guint group = msg->data.chunk_index;
  guint64 seq;

  g_mutex_lock (&s->lock);
  s->parity_received++;
  g_mutex_unlock (&s->lock);
  /* from its source or a partner that sent some of its chunks (no
   * takeover of a stalled push, as a chunk may do) */
  if (!t || t->chunk_count == 0 || t->chunk_count != msg->data.chunk_count
      || t->size != msg->data.segment_size || (t->source != e
          && !transfer_has_contributor (t, swarm_peer_get_remote_id (e->peer))))
    return;
  if (t->parity_groups != msg->data.parity_groups) {
    if (t->parity_groups != 0)
      return;                   /* one grouping per transfer */
    t->parity_groups = msg->data.parity_groups;
    t->parity = g_malloc ((gsize) t->parity_groups * SWARM_CHUNK_SIZE);
    t->parity_got = g_malloc0 ((t->parity_groups + 7) / 8);
  }
  if (swarm_wire_bit_get (t->parity_got, group))
    return;
  memcpy (t->parity + (gsize) group * SWARM_CHUNK_SIZE, msg->data.payload,
      SWARM_CHUNK_SIZE);
  swarm_wire_bit_set (t->parity_got, group);
  e->parity_seen_us = g_get_monotonic_time ();
  seq = t->seq;
  transfer_try_rebuild (t, e, group);
  if (g_hash_table_lookup (s->transfers, &seq) == t && t->source == e)
    transfer_repair_group (t, group);
}

/* Chunk @idx of @t is in hand (arrived from @e, or rebuilt from what @e
 * sent): store it, then finish the segment, or rebuild or repair what is
 * still missing. */
static void
transfer_take_chunk (Transfer * t, PeerEntry * e, guint idx,
    const guint8 * payload, gsize len)
{
  SwarmSession *s = t->session;

  memcpy (t->data + (gsize) idx * SWARM_CHUNK_SIZE, payload, len);
  swarm_wire_bit_set (t->got, idx);
  if (t->n_got++ == 0)
    t->first_chunk_us = g_get_monotonic_time ();
  transfer_note_contributor (t, swarm_peer_get_remote_id (e->peer));
  t->last_progress_us = e->last_data_us = g_get_monotonic_time ();
  t->tail_repairs = 0;
  if (t->n_got == t->chunk_count) {
    session_complete_transfer (s, t, e);
    return;
  }
  if (t->source == e)
    transfer_repair_gaps (t, idx);
  /* last: it may complete (and free) the transfer */
  if (t->parity)
    transfer_try_rebuild (t, e, idx % t->parity_groups);
}

static void
on_peer_data (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  Transfer *t;
  guint idx = msg->data.chunk_index;

  if (msg->type == SWARM_MSG_PARITY) {
    session_take_parity (s, e, msg);
    return;
  }

  g_mutex_lock (&s->lock);
  s->bytes_received += msg->data.payload_len;
  if (swarm_peer_get_remote_role (p) == SWARM_PEER_ROLE_ORIGIN)
    s->bytes_from_origin += msg->data.payload_len;
  else
    s->bytes_from_peers += msg->data.payload_len;
  g_mutex_unlock (&s->lock);

  t = g_hash_table_lookup (s->transfers, &msg->data.seq);
  if (!t && !session_accept_push (s, e, msg->data.seq)) {
    /* late duplicate, a replay, or nothing we want */
    g_mutex_lock (&s->lock);
    s->chunks_unwanted++;
    g_mutex_unlock (&s->lock);
    if (e->late_copies > 0 && swarm_store_has (s->store, msg->data.seq))
      e->late_copies--;
    else
      swarm_peer_note_waste (p);
    return;
  }
  if (!t)
    t = g_hash_table_lookup (s->transfers, &msg->data.seq);
  if (!transfer_accepts_from (t, e)) {
    g_mutex_lock (&s->lock);
    s->chunks_unwanted++;
    g_mutex_unlock (&s->lock);
    swarm_peer_note_waste (p);
    return;
  }
  if (t->chunk_count != 0 && (t->chunk_count != msg->data.chunk_count
          || t->size != msg->data.segment_size)) {
    /* Its own source changed its mind, or the chunks so far came from a
     * partner that lied about the size: start over with this one's. */
    GST_DEBUG ("chunk of %" G_GUINT64_FORMAT " disagrees on size: restarting",
        t->seq);
    if (transfer_has_contributor (t, swarm_peer_get_remote_id (p))) {
      swarm_peer_note_junk (p, "chunk disagrees on the segment size");
      if (!peer_entry_is_ready (e))
        return;
    }
    transfer_clear_chunks (t);
  }
  if (t->chunk_count == 0 && !transfer_reserve (t, msg->data.chunk_count,
          msg->data.segment_size)) {
    GST_DEBUG ("no room for a segment of %u bytes", msg->data.segment_size);
    if (t->pushed) {
      /* a push we cannot hold is as unwanted as one we refuse outright */
      g_mutex_lock (&s->lock);
      s->chunks_unwanted++;
      g_mutex_unlock (&s->lock);
      transfer_detach (t);
      g_hash_table_remove (s->transfers, &t->seq);
    }
    return;
  }
  if (swarm_wire_bit_get (t->got, idx)) {
    /* A chunk we asked for again may come twice: the first copy was late,
     * not lost.  Thousands of them after repairs of a big segment are our
     * doing, not a flood from the partner. */
    if (t->asks[idx] <= 1)
      swarm_peer_note_waste (p);
    return;
  }
  transfer_take_chunk (t, e, idx, msg->data.payload, msg->data.payload_len);
}

static void
transfer_detach (Transfer * t)
{
  if (t->source) {
    SwarmPeer *p = t->source->peer;
    guint n = swarm_peer_get_in_flight (p);
    swarm_peer_set_in_flight (p, n ? n - 1 : 0);
    t->source = NULL;
  }
}

static void
on_peer_absent (SwarmPeer * p, guint64 seq, gpointer user_data)
{
  PeerEntry *e = user_data;
  Transfer *t = g_hash_table_lookup (e->session->transfers, &seq);

  if (t && t->source == e)
    transfer_detach (t);        /* the scheduler asks someone else */
  session_request_schedule (e->session);
}

/* Chunk @idx of @t arrived from its source: the chunks before it asked
 * for once and still missing were lost (see REORDER_CHUNKS), and are asked
 * for again from the same source. */
/* Its source has been following segments with parity: losses wait for
 * it, since one per group is rebuilt without a round trip
 * (transfer_repair_group asks for the rest as each parity arrives; a lost
 * parity is a lost tail to session_retry_transfers). */
static gboolean
transfer_expects_parity (const Transfer * t)
{
  return t->source && (t->pushed || t->asked_whole)
      && t->source->parity_seen_us
      && g_get_monotonic_time () - t->source->parity_seen_us <
      PARITY_EXPECTED_US;
}

/* Asks the source again for @lost (@n_lost chunks of @t). */
static void
transfer_ask_again (Transfer * t, guint8 * lost, guint n_lost,
    const gchar * why)
{
  GST_LOG ("%s of %" G_GUINT64_FORMAT ": %u chunks lost, asking %s again",
      why, t->seq, n_lost, swarm_peer_get_remote_id (t->source->peer));
  swarm_peer_request (t->source->peer, t->seq, 0, t->chunk_count, lost);
  g_mutex_lock (&t->session->lock);
  t->session->chunks_repaired += n_lost;
  g_mutex_unlock (&t->session->lock);
}

/* Chunk @c, asked for once and still missing, was lost: marked in *@lost
 * (allocated on first use) and counted as asked again.  1 if marked. */
static guint
transfer_mark_lost (Transfer * t, guint c, guint8 ** lost)
{
  if (swarm_wire_bit_get (t->got, c) || t->asks[c] != 1)
    return 0;
  if (!*lost)
    *lost = g_malloc0 ((t->chunk_count + 7) / 8);
  swarm_wire_bit_set (*lost, c);
  t->asks[c] = 2;
  return 1;
}

/* Group @group's parity arrived and rebuilt what it could: two or more
 * chunks still missing there were lost, and are asked for again. */
static void
transfer_repair_group (Transfer * t, guint group)
{
  g_autofree guint8 *lost = NULL;
  guint c, n_lost = 0;

  for (c = group; c < t->chunk_count; c += t->parity_groups)
    n_lost += transfer_mark_lost (t, c, &lost);
  if (lost)
    transfer_ask_again (t, lost, n_lost, "parity group");
}

static void
transfer_repair_gaps (Transfer * t, guint idx)
{
  guint end = idx + 1 == t->chunk_count ? idx :
      (idx >= REORDER_CHUNKS ? idx - REORDER_CHUNKS + 1 : 0);
  g_autofree guint8 *lost = NULL;
  guint i, n_lost = 0;

  if (transfer_expects_parity (t))
    return;

  /* asks only grow: what was passed once never qualifies again */
  for (i = t->repair_from; i < end; i++)
    n_lost += transfer_mark_lost (t, i, &lost);
  t->repair_from = MAX (t->repair_from, end);
  if (lost)
    transfer_ask_again (t, lost, n_lost, "gap");
}

/* Asks @e for what @t still lacks: the whole segment, or the missing
 * chunks of a partial one. */
static void
transfer_request (SwarmSession * s, Transfer * t, PeerEntry * e)
{
  /* chunks from the previous source are not mixed in */
  if (t->single_source)
    transfer_clear_chunks (t);
  t->source = e;
  swarm_peer_set_in_flight (e->peer, swarm_peer_get_in_flight (e->peer) + 1);
  t->last_progress_us = g_get_monotonic_time ();
  t->request_resent = FALSE;
  /* parity follows whole segments only */
  t->asked_whole = t->chunk_count == 0;
  if (t->chunk_count == 0) {
    GST_LOG ("requesting %" G_GUINT64_FORMAT " from %s (%u in flight)",
        t->seq, swarm_peer_get_remote_id (e->peer),
        swarm_peer_get_in_flight (e->peer));
    swarm_peer_request (e->peer, t->seq, 0, 0, NULL);
  } else {
    guint8 *missing = g_malloc0 ((t->chunk_count + 7) / 8);
    guint i;

    for (i = 0; i < t->chunk_count; i++)
      if (!swarm_wire_bit_get (t->got, i)) {
        swarm_wire_bit_set (missing, i);
        t->asks[i] = MIN (t->asks[i] + 1, G_MAXUINT8);
      }
    swarm_peer_request (e->peer, t->seq, 0, t->chunk_count, missing);
    g_free (missing);
    GST_DEBUG ("re-requesting %u of %u chunks of %" G_GUINT64_FORMAT
        " from %s", t->chunk_count - t->n_got, t->chunk_count, t->seq,
        swarm_peer_get_remote_id (e->peer));
  }
}

/* A transfer that made no progress for a while is taken from its partner
 * (marked slow for a moment) and handed back to the scheduler, keeping the
 * chunks it already has. */
static void
session_retry_transfers (SwarmSession * s, gint64 now)
{
  GHashTableIter it;
  gpointer value;
  guint64 playout;
  gboolean playout_set;

  g_mutex_lock (&s->lock);
  playout = s->playout_seq;
  playout_set = s->playout_set;
  g_mutex_unlock (&s->lock);

  g_hash_table_iter_init (&it, s->transfers);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Transfer *t = value;
    gint64 rtt, repair_after;

    if (playout_set && t->seq < playout) {
      /* played past: its source stops sending it */
      if (t->source)
        swarm_peer_cancel (t->source->peer, t->seq);
      transfer_detach (t);
      g_hash_table_iter_remove (&it);
      continue;
    }
    if (!t->source)
      continue;
    /* lost requests, tails and repairs are asked again after this */
    rtt = swarm_peer_get_rtt_us (t->source->peer);
    repair_after = rtt ? 2 * rtt + TAIL_STALL_MARGIN_US : STALL_MIN_US;
    if (t->n_got == 0 && !t->request_resent) {
      /* Not one chunk a round trip after asking: on a lossy path the
       * REQUEST itself is the likeliest loss (about as often as the path
       * loses any packet), and waiting out the stall timeout for it would
       * cost the segment its deadline.  Ask the same partner once more;
       * one still busy with its queue ignores the repeat. */
      if (rtt && now - t->last_progress_us >= repair_after) {
        t->request_resent = TRUE;
        swarm_peer_request (t->source->peer, t->seq, 0, 0, NULL);
        g_mutex_lock (&s->lock);
        s->requests_resent++;
        g_mutex_unlock (&s->lock);
        continue;
      }
    }
    if (t->n_got > 0 && t->tail_repairs < TAIL_REPAIRS) {
      /* the source is sending this one: chunks at its end, or repairs,
       * were lost; asked again while the source keeps sending us data */
      if (now - t->last_progress_us < repair_after)
        continue;
      if (now - t->source->last_data_us < STALL_MIN_US) {
        PeerEntry *e = t->source;

        t->tail_repairs++;
        transfer_detach (t);
        transfer_request (s, t, e);
        g_mutex_lock (&s->lock);
        s->chunks_repaired += t->chunk_count - t->n_got;
        g_mutex_unlock (&s->lock);
        continue;
      }
    }
    if (now - t->last_progress_us < MAX (STALL_MIN_US, 4 * rtt))
      continue;
    GST_DEBUG ("transfer of %" G_GUINT64_FORMAT " from %s stalled at %u/%u",
        t->seq, swarm_peer_get_remote_id (t->source->peer), t->n_got,
        t->chunk_count);
    t->source->slow_until_us = now + SLOW_PENALTY_US;
    /* someone else is asked: this one stops, or both would send it */
    swarm_peer_cancel (t->source->peer, t->seq);
    transfer_detach (t);
    /* nobody asked for a push: what it left is not worth its memory */
    if (t->pushed)
      g_hash_table_iter_remove (&it);
  }
}

/* ---- scheduling ------------------------------------------------------- */

static gboolean
sched_peer_has (gconstpointer peer, guint64 seq)
{
  return swarm_peer_has ((SwarmPeer *) peer, seq);
}

static void
session_schedule (SwarmSession * s)
{
  GArray *wanted, *peers, *requests, *entries;
  guint64 from, to, seq;
  gboolean have_range;
  SwarmSchedView view;
  guint i, n_urgent = 0;
  gint64 now = g_get_monotonic_time ();

  if (s->role != SWARM_SESSION_VIEWER)
    return;
  g_mutex_lock (&s->lock);
  have_range = s->playout_set && s->newest_valid
      && s->newest_seq >= s->playout_seq;
  from = s->playout_seq;
  to = s->newest_seq;
  g_mutex_unlock (&s->lock);
  if (!have_range)
    return;
  to = MIN (to, from + LOOKAHEAD_SEGMENTS - 1);

  wanted = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (seq = from; seq <= to; seq++) {
    Transfer *t = g_hash_table_lookup (s->transfers, &seq);
    if (!swarm_store_has (s->store, seq) && (!t || !t->source)) {
      g_array_append_val (wanted, seq);
      if (seq < from + URGENT_SEGMENTS)
        n_urgent++;
    }
  }

  peers = g_array_new (FALSE, TRUE, sizeof (SwarmSchedPeer));
  entries = g_array_new (FALSE, FALSE, sizeof (PeerEntry *));
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    SwarmSchedPeer sp = { 0 };

    if (!peer_entry_is_ready (e))
      continue;
    sp.is_origin =
        swarm_peer_get_remote_role (e->peer) == SWARM_PEER_ROLE_ORIGIN;
    sp.in_flight = swarm_peer_get_in_flight (e->peer);
    sp.max_in_flight = MAX_IN_FLIGHT_PER_PEER;
    sp.rtt_us = swarm_peer_get_rtt_us (e->peer);
    sp.rate_bps = e->rate_in_bps;
    sp.slow = e->slow_until_us > now;
    sp.has = sched_peer_has;
    sp.peer = e->peer;
    g_array_append_val (peers, sp);
    g_array_append_val (entries, e);
  }

  requests = g_array_new (FALSE, FALSE, sizeof (SwarmSchedRequest));
  if (wanted->len > 0 && peers->len > 0) {
    view.wanted = (const guint64 *) wanted->data;
    view.n_wanted = wanted->len;
    view.n_urgent = n_urgent;
    view.segment_bytes = s->segment_bytes_avg;
    view.peers = (const SwarmSchedPeer *) peers->data;
    view.n_peers = peers->len;
    s->scheduler_class->schedule (s->scheduler, &view, requests);
  }

  for (i = 0; i < requests->len; i++) {
    SwarmSchedRequest *r = &g_array_index (requests, SwarmSchedRequest, i);
    PeerEntry *e;
    Transfer *t;

    if (r->peer_index >= entries->len)
      continue;
    e = g_array_index (entries, PeerEntry *, r->peer_index);
    t = g_hash_table_lookup (s->transfers, &r->seq);
    if (t && t->source)
      continue;
    if (!t)
      t = session_add_transfer (s, r->seq, NULL);
    transfer_request (s, t, e);
  }

  g_array_unref (requests);
  g_array_unref (entries);
  g_array_unref (peers);
  g_array_unref (wanted);
}

static gboolean
schedule_cb (gpointer data)
{
  SwarmSession *s = data;

  g_clear_pointer (&s->schedule_source, g_source_unref);
  session_schedule (s);
  return G_SOURCE_REMOVE;
}

/* Coalesces many triggers (HAVEs, completions) into one pass.  Network
 * thread only. */
static void
session_request_schedule (SwarmSession * s)
{
  if (s->schedule_source || !s->running)
    return;
  s->schedule_source = g_idle_source_new ();
  g_source_set_priority (s->schedule_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (s->schedule_source, schedule_cb, s, NULL);
  g_source_attach (s->schedule_source, s->context);
}

static gboolean
schedule_from_any_thread (gpointer data)
{
  session_request_schedule (data);
  return G_SOURCE_REMOVE;
}

/* ---- uploads ---------------------------------------------------------- */

static gboolean
pump_cb (gpointer data)
{
  SwarmSession *s = data;
  gint64 now = g_get_monotonic_time ();
  gboolean more = FALSE;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    if (peer_entry_is_ready (e))
      more |= swarm_peer_pump (e->peer, s->upload_limiter, now);
  }
  if (!more) {
    g_clear_pointer (&s->pump_source, g_source_unref);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
on_peer_upload (SwarmPeer * p, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;

  if (s->pump_source)
    return;
  /* Send what the window allows right away; pace the rest. */
  if (!swarm_peer_pump (p, s->upload_limiter, g_get_monotonic_time ()))
    return;
  s->pump_source = g_timeout_source_new (PUMP_MS);
  g_source_set_callback (s->pump_source, pump_cb, s, NULL);
  g_source_attach (s->pump_source, s->context);
}

static gboolean session_relay_description (SwarmSession * s, PeerEntry * e,
    const gchar * sdp);

/* ---- private swarms ---------------------------------------------------- */

/* What we signal for a local description: sealed in a private swarm, so
 * trackers and relays see neither addresses nor fingerprints. */
static gchar *
session_outgoing_description (SwarmSession * s, const gchar * sdp)
{
  return s->secret ? swarm_secret_seal (s->secret, sdp) : g_strdup (sdp);
}

static void
session_note_refused (SwarmSession * s, gboolean counted)
{
  s->private_hints++;
  if (!counted)
    return;
  g_mutex_lock (&s->lock);
  s->descriptions_refused++;
  g_mutex_unlock (&s->lock);
}

/* The usable description in what @peer_id signalled, or NULL if it does
 * not fit our secret (or its absence). */
gchar *
session_incoming_description (SwarmSession * s, const gchar * peer_id,
    const gchar * text)
{
  GError *error = NULL;
  gchar *sdp;

  if (swarm_secret_is_refusal (text)) {
    GST_INFO ("%s refused our description: the swarm is private and %s",
        peer_id, s->secret ? "our secret is not its" : "we have no secret");
    session_note_refused (s, FALSE);
    return NULL;
  }
  if (!s->secret) {
    if (!swarm_secret_is_sealed (text))
      return g_strdup (text);
    GST_INFO ("%s sent a sealed description: the swarm is private", peer_id);
    session_note_refused (s, TRUE);
    return NULL;
  }
  sdp = swarm_secret_open (s->secret, text, &error);
  if (!sdp) {
    GST_INFO ("description from %s refused: %s", peer_id, error->message);
    g_error_free (error);
    session_note_refused (s, TRUE);
  }
  return sdp;
}

/* ---- partners --------------------------------------------------------- */

static void
on_peer_description (SwarmPeer * p, const gchar * local_sdp,
    gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  GError *error = NULL;
  gchar *sdp = session_outgoing_description (s, local_sdp);

  e->described = TRUE;
  if (e->relay_id) {
    e->offered_us = g_get_monotonic_time ();
    if (!session_relay_description (s, e, sdp))
      swarm_peer_close (p);
    g_free (sdp);
    return;
  }
  if (swarm_peer_get_link_role (p) == SWARM_LINK_ANSWERER) {
    if (!e->via || !swarm_tracker_client_answer (e->via,
            swarm_peer_get_remote_id (p), swarm_peer_get_offer_id (p), sdp,
            &error)) {
      GST_INFO ("could not send answer: %s", error ? error->message : "no tracker");
      g_clear_error (&error);
      swarm_peer_close (p);
    }
    g_free (sdp);
    return;
  }
  g_free (e->description);
  e->description = sdp;
  if (s->offers_gathering > 0)
    s->offers_gathering--;
  if (s->offers_gathering == 0)
    session_maybe_offer (s);
}

static GstStructure *peer_entry_describe (PeerEntry * e, gint64 now);

static void
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
    GST_INFO ("partner %s comes from a banned address: closing",
        swarm_peer_get_remote_id (p));
    g_mutex_lock (&s->lock);
    s->links_refused_address++;
    g_mutex_unlock (&s->lock);
    swarm_peer_close (p);
    return;
  }
  /* before our map goes out (the peer sends it after this) */
  session_send_edge (s, e);
  GST_INFO ("partner %s ready (%s, %s)", swarm_peer_get_remote_id (p),
      swarm_peer_get_remote_role (p) == SWARM_PEER_ROLE_ORIGIN ? "origin" :
      "viewer", swarm_link_get_local_candidate_type (swarm_peer_get_link (p)));
  e->was_ready = TRUE;
  g_mutex_lock (&s->lock);
  s->n_ready_peers++;
  if (e->relay_id)
    s->pex_links++;
  g_mutex_unlock (&s->lock);
  if (!e->info) {
    GstStructure *st = peer_entry_describe (e, g_get_monotonic_time ());

    e->info = swarm_peer_info_new (swarm_peer_get_remote_id (p), st);
    gst_structure_free (st);
    g_signal_emit (s, session_signals[SIGNAL_PEER_ADDED], 0, e->info);
    /* a handler may have closed this partner */
    if (e->dead)
      return;
  }
  /* everyone learns of the newcomer with the next PEX round, soon */
  s->last_pex_sent_us = MIN (s->last_pex_sent_us,
      g_get_monotonic_time () - PEX_INTERVAL_US + 100 * 1000);
  session_request_schedule (s);
}

static void
on_peer_have (SwarmPeer * p, guint64 seq, gboolean keyframe, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  guint64 edge_seq;

  switch (session_check_seq (s, seq)) {
    case SWARM_EDGE_SEQ_LIE:
      swarm_peer_note_lie (p, "announces a segment far past the "
          "publisher's newest");
      return;
    case SWARM_EDGE_SEQ_AHEAD:
      swarm_peer_note_junk (p, "announces a segment the publisher has not "
          "published");
      return;
    case SWARM_EDGE_SEQ_NO_EDGE:
    case SWARM_EDGE_SEQ_OLD_EPOCH:
      /* not news (yet): its map is kept and looked at again when an EDGE
       * makes it credible */
      return;
    case SWARM_EDGE_SEQ_OK:
      break;
  }
  g_mutex_lock (&s->lock);
  edge_seq = s->edge.current.edge.seq;
  g_mutex_unlock (&s->lock);
  /* a start is chosen only among keyframes the publisher has vouched for */
  session_note_known (s, seq, keyframe && seq <= edge_seq);
  session_request_schedule (s);
}

/* The publisher's word on where live is, from a partner.  A newer one is
 * passed on; the first one, or one that opens a new epoch (the publisher
 * restarted), makes the partners' maps worth reading again.  A forged one
 * is junk; one whose time is too far from ours is refused but not blamed
 * (the sender's clock may agree with the publisher's). */
static void
on_peer_edge (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  SwarmEdgeVerdict v;
  gboolean first, warn = FALSE;
  gint64 offset_ms = 0;
  guint i;

  /* the origin is the source of EDGEs: one passed back to it (by viewers
   * that still hold its previous run's, after a restart) is not news */
  if (s->role == SWARM_SESSION_ORIGIN)
    return;
  g_mutex_lock (&s->lock);
  first = !s->edge.valid;
  v = swarm_edge_state_offer (&s->edge, msg, g_get_real_time (),
      g_get_monotonic_time ());
  if (v == SWARM_EDGE_NEW_EPOCH) {
    /* what was announced of the old run says nothing about the new one */
    s->newest_valid = FALSE;
    s->newest_key_valid = FALSE;
  }
  if (v == SWARM_EDGE_CLOCK && !s->clock_warned) {
    s->clock_warned = warn = TRUE;
    offset_ms = s->edge.last_clock_offset_us / 1000;
  }
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);

  switch (v) {
    case SWARM_EDGE_FORGED:
      swarm_peer_note_junk (p, "forged EDGE");
      return;
    case SWARM_EDGE_CLOCK:
      GST_INFO ("EDGE %" G_GUINT64_FORMAT " from %s refused: the publisher's "
          "clock is %" G_GINT64_FORMAT " ms from ours", msg->edge.seq,
          swarm_peer_get_remote_id (p), s->edge.last_clock_offset_us / 1000);
      if (warn) {
        GError *error = g_error_new (SWARM_SESSION_ERROR,
            SWARM_SESSION_ERROR_JOIN_TIMEOUT, offset_ms > 0 ?
            _("The publisher's clock is %.1f s ahead of ours, more than the "
                "%.1f s allowed (clock-tolerance): check that both keep time "
                "(NTP).") :
            _("The publisher's clock is %.1f s behind ours, more than the "
                "%.1f s allowed (clock-tolerance): check that both keep time "
                "(NTP), or the stream is an old recording."),
            ABS (offset_ms) / 1000.0, s->edge.tolerance_us / 1e6);
        session_warn (s, error);
        g_error_free (error);
      }
      return;
    case SWARM_EDGE_NOT_NEWER:
      return;
    case SWARM_EDGE_NEW_EPOCH:
      GST_INFO ("the publisher restarted: its new run begins at %"
          G_GUINT64_FORMAT, msg->edge.epoch_seq);
      /* fall through */
    case SWARM_EDGE_ACCEPTED:
      break;
  }
  session_forward_edge (s, msg, e);
  if (first || v == SWARM_EDGE_NEW_EPOCH)
    for (i = 0; i < s->peers->len; i++) {
      PeerEntry *o = g_ptr_array_index (s->peers, i);
      if (peer_entry_is_ready (o))
        /* those past the EDGE too: they are judged now, lies included */
        swarm_peer_replay_haves (o->peer, msg->edge.epoch_seq, G_MAXUINT64);
    }
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
  GST_INFO ("partner %s closed: %s",
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
    s->peers_misbehaved++;
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
  if (!e->described && swarm_peer_get_link_role (p) == SWARM_LINK_OFFERER
      && s->offers_gathering > 0)
    s->offers_gathering--;
  g_hash_table_iter_init (&it, s->transfers);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Transfer *t = value;
    if (t->source == e)
      t->source = NULL;
  }
  /* Freed on the next housekeeping pass: we may be deep inside its code. */
}

/* ---- PEX: finding and reaching peers through partners ------------------ */

static PeerEntry *
session_find_ready_partner (SwarmSession * s, const gchar * id)
{
  PeerEntry *e = session_find_partner (s, id, NULL);
  return e && peer_entry_is_ready (e) ? e : NULL;
}

typedef struct {
  SwarmPeer *via;
} RelaySend;

static void
relay_send_one (const SwarmMessage * msg, gpointer user_data)
{
  RelaySend *rs = user_data;
  swarm_peer_send_message (rs->via, msg);
}

/* Sends our offer or answer to the entry's peer through its relay. */
static gboolean
session_relay_description (SwarmSession * s, PeerEntry * e, const gchar * sdp)
{
  PeerEntry *relay = session_find_ready_partner (s, e->relay_id);
  const gchar *to = swarm_peer_get_remote_id (e->peer);
  RelaySend rs;

  if (!relay || !to)
    return FALSE;
  rs.via = relay->peer;
  return swarm_relay_split (to, s->local.peer_id,
      swarm_peer_get_offer_id (e->peer),
      swarm_peer_get_link_role (e->peer) == SWARM_LINK_OFFERER ?
      SWARM_SIGNAL_OFFER : SWARM_SIGNAL_ANSWER, sdp, relay_send_one, &rs);
}

/* Tells every partner who else we are connected to. */
static void
session_send_pex (SwarmSession * s)
{
  guint i, j;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *to = g_ptr_array_index (s->peers, i);
    guint8 ids[SWARM_WIRE_MAX_PEX * SWARM_WIRE_PEER_ID_LEN];
    SwarmMessage msg = {.type = SWARM_MSG_PEX };
    guint n = 0;

    if (!peer_entry_is_ready (to))
      continue;
    for (j = 0; j < s->peers->len && n < SWARM_WIRE_MAX_PEX; j++) {
      PeerEntry *e = g_ptr_array_index (s->peers, j);
      if (e == to || !peer_entry_is_ready (e))
        continue;
      memcpy (ids + n * SWARM_WIRE_PEER_ID_LEN,
          swarm_peer_get_remote_id (e->peer), SWARM_WIRE_PEER_ID_LEN);
      n++;
    }
    msg.pex.count = n;
    msg.pex.ids = n ? ids : NULL;
    swarm_peer_send_message (to->peer, &msg);
  }
}

static void
on_peer_pex (SwarmPeer * p, const guint8 * ids, guint count,
    gpointer user_data)
{
  PeerEntry *e = user_data;
  guint i;

  g_clear_pointer (&e->pex_ids, g_ptr_array_unref);
  e->pex_ids = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < count; i++)
    g_ptr_array_add (e->pex_ids, g_strndup ((const gchar *) ids +
            i * SWARM_WIRE_PEER_ID_LEN, SWARM_WIRE_PEER_ID_LEN));
}

/* A viewer short of partners offers a link to a peer one of its partners
 * knows, through that partner: the swarm heals even with every tracker
 * down.  One such offer at a time. */
static void
session_maybe_pex_offer (SwarmSession * s, gint64 now)
{
  PeerEntry *relay = NULL, *e;
  const gchar *target = NULL;
  gint64 *tried;
  gchar *offer_id;
  GError *error = NULL;
  guint i, j;

  if (s->role != SWARM_SESSION_VIEWER
      || now - s->last_pex_offer_us < PEX_OFFER_INTERVAL_US
      || session_count_partners (s) >= session_seek_target (s))
    return;
  for (i = 0; i < s->peers->len; i++) {
    e = g_ptr_array_index (s->peers, i);
    if (!e->dead && e->relay_id && !e->has_remote
        && swarm_peer_get_link_role (e->peer) == SWARM_LINK_OFFERER)
      return;                   /* one in progress */
  }
  for (i = 0; i < s->peers->len && !target; i++) {
    PeerEntry *r = g_ptr_array_index (s->peers, i);

    if (!peer_entry_is_ready (r) || !r->pex_ids)
      continue;
    for (j = 0; j < r->pex_ids->len && !target; j++) {
      const gchar *id = g_ptr_array_index (r->pex_ids, j);

      if (g_str_equal (id, s->local.peer_id) || session_find_partner (s, id,
              NULL) || session_is_banned (s, id))
        continue;
      tried = g_hash_table_lookup (s->pex_tried, id);
      if (tried && now - *tried < PEX_RETRY_US)
        continue;
      target = id;
      relay = r;
    }
  }
  if (!target)
    return;

  s->last_pex_offer_us = now;
  tried = g_new (gint64, 1);
  *tried = now;
  g_hash_table_insert (s->pex_tried, g_strdup (target), tried);

  e = session_add_peer (s, SWARM_LINK_OFFERER);
  offer_id = random_id20 ();
  swarm_peer_set_offer_id (e->peer, offer_id);
  g_free (offer_id);
  swarm_peer_set_remote_id (e->peer, target);
  e->relay_id = g_strdup (swarm_peer_get_remote_id (relay->peer));
  GST_DEBUG ("offering a link to %s through %s", target, e->relay_id);
  if (!swarm_peer_start (e->peer, &error)) {
    GST_INFO ("could not start a PEX offer: %s", error->message);
    g_error_free (error);
    e->dead = TRUE;
  }
}

static void
on_peer_signal (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  gchar to[SWARM_WIRE_PEER_ID_LEN + 1], from[SWARM_WIRE_PEER_ID_LEN + 1];
  gchar offer_id[SWARM_WIRE_PEER_ID_LEN + 1];
  gchar *text;

  gint64 now = g_get_monotonic_time ();

  if (swarm_rate_limiter_take (e->signal_budget, now, 1) == 0) {
    g_mutex_lock (&s->lock);
    s->signals_dropped++;
    g_mutex_unlock (&s->lock);
    swarm_peer_note_junk (p, "flood of SIGNAL");
    return;
  }
  if (swarm_rate_limiter_take (s->signal_budget, now, 1) == 0) {
    g_mutex_lock (&s->lock);
    s->signals_dropped++;
    g_mutex_unlock (&s->lock);
    return;
  }
  memcpy (to, msg->signal.to, SWARM_WIRE_PEER_ID_LEN);
  to[SWARM_WIRE_PEER_ID_LEN] = '\0';
  if (!g_str_equal (to, s->local.peer_id)) {
    /* one hop only: pass it on if the recipient is our partner, and only
     * what the sender itself says (no speaking for others) */
    PeerEntry *next = session_find_ready_partner (s, to);
    if (!swarm_peer_get_remote_id (p) || memcmp (msg->signal.from,
            swarm_peer_get_remote_id (p), SWARM_WIRE_PEER_ID_LEN) != 0) {
      swarm_peer_note_junk (p, "relays a SIGNAL it did not write");
      return;
    }
    if (next && next != e)
      swarm_peer_send_message (next->peer, msg);
    return;
  }
  text = swarm_relay_assembler_add (s->relay_assembler, msg,
      g_get_monotonic_time ());
  if (!text)
    return;
  memcpy (from, msg->signal.from, SWARM_WIRE_PEER_ID_LEN);
  from[SWARM_WIRE_PEER_ID_LEN] = '\0';
  memcpy (offer_id, msg->signal.offer_id, SWARM_WIRE_PEER_ID_LEN);
  offer_id[SWARM_WIRE_PEER_ID_LEN] = '\0';
  if (msg->signal.kind == SWARM_SIGNAL_OFFER)
    session_accept_offer (s, NULL, swarm_peer_get_remote_id (p), from,
        offer_id, text);
  else
    session_apply_answer (s, from, offer_id, text);
  g_free (text);
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
  e->session = s;
  e->signal_budget = swarm_rate_limiter_new (RELAY_PARTNER_PER_S,
      RELAY_PARTNER_BURST);
  e->peer = swarm_peer_new (s->context, role, &config, s->credentials,
      &s->local, s->store, &peer_callbacks, e);
  g_ptr_array_add (s->peers, e);
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
      GstStructure *last = peer_entry_describe (e, g_get_monotonic_time ());

      if (last) {
        swarm_peer_info_update (e->info, last);
        gst_structure_free (last);
      }
      swarm_peer_info_set_disconnected (e->info);
      g_signal_emit (s, session_signals[SIGNAL_PEER_REMOVED], 0, e->info);
    }
    peer_entry_free (e);
  }
}

/* ---- housekeeping and stats ------------------------------------------- */

/* Smoothed byte rates each way, sampled about every 100 ms. */
static void
peer_entry_update_rates (PeerEntry * e, gint64 now)
{
  guint64 in = swarm_peer_get_bytes_received (e->peer);
  guint64 out = swarm_peer_get_bytes_sent (e->peer);
  gdouble dt = (now - e->rate_sampled_us) / 1e6;

  if (e->rate_sampled_us && dt >= 0.05) {
    gdouble a = MIN (1.0, dt / 1.0);   /* ~1 s time constant */
    e->rate_in_bps += a * ((in - e->rate_last_in) / dt - e->rate_in_bps);
    e->rate_out_bps += a * ((out - e->rate_last_out) / dt - e->rate_out_bps);
  } else if (e->rate_sampled_us) {
    return;
  }
  e->rate_last_in = in;
  e->rate_last_out = out;
  e->rate_sampled_us = now;
}

/* The "peer" structure of one ready partner (fields in docs/stats.md). */
static GstStructure *
peer_entry_describe (PeerEntry * e, gint64 now)
{
  SwarmLink *link = swarm_peer_get_link (e->peer);
  GstStructure *st;
  gchar *address;
  gint64 ice_ms, connect_ms;
  SwarmCongestionStats cc;

  address = swarm_link_get_remote_address (link);
  swarm_link_get_timing (link, &ice_ms, &connect_ms);
  swarm_congestion_get_stats (swarm_peer_get_congestion (e->peer), now, &cc);
  st = gst_structure_new ("peer",
      "id", G_TYPE_STRING, swarm_peer_get_remote_id (e->peer),
      "role", G_TYPE_STRING,
      swarm_peer_get_remote_role (e->peer) == SWARM_PEER_ROLE_ORIGIN ?
      "origin" : "viewer",
      "address", G_TYPE_STRING, address ? address : "",
      "local-candidate-type", G_TYPE_STRING,
      swarm_link_get_local_candidate_type (link) ?
      swarm_link_get_local_candidate_type (link) : "",
      "remote-candidate-type", G_TYPE_STRING,
      swarm_link_get_remote_candidate_type (link) ?
      swarm_link_get_remote_candidate_type (link) : "",
      "address-kind", G_TYPE_STRING,
      swarm_link_get_remote_candidate_type (link) ?
      swarm_link_get_remote_candidate_type (link) : "",
      "ice-ms", G_TYPE_INT64, ice_ms,
      "connect-ms", G_TYPE_INT64, connect_ms,
      "rtt-ms", G_TYPE_DOUBLE, swarm_peer_get_rtt_us (e->peer) / 1000.0,
      "rate-in-kbps", G_TYPE_DOUBLE, e->rate_in_bps * 8 / 1000,
      "rate-out-kbps", G_TYPE_DOUBLE, e->rate_out_bps * 8 / 1000,
      "cwnd-bytes", G_TYPE_UINT64,
      (guint64) swarm_congestion_get_cwnd (swarm_peer_get_congestion
          (e->peer)),
      "queuing-delay-ms", G_TYPE_DOUBLE,
      swarm_congestion_get_queuing_delay_us (swarm_peer_get_congestion
          (e->peer)) / 1000.0,
      "bytes-sent", G_TYPE_UINT64, swarm_peer_get_bytes_sent (e->peer),
      "bytes-received", G_TYPE_UINT64,
      swarm_peer_get_bytes_received (e->peer),
      "bytes-lost", G_TYPE_UINT64, cc.bytes_lost,
      "window-cuts", G_TYPE_UINT, cc.losses,
      "window-timeouts", G_TYPE_UINT, cc.timeouts, NULL);
  g_free (address);
  return st;
}

static void
session_refresh_peer_stats (SwarmSession * s)
{
  GValue list = G_VALUE_INIT;
  guint64 sent = s->closed_bytes_sent;
  guint64 pushed = s->closed_segments_pushed;
  guint64 parity = s->closed_parity_sent;
  SwarmPeerAbuse abuse = s->closed_abuse;
  gint64 now = g_get_monotonic_time ();
  guint i, n_ready = 0;

  g_value_init (&list, GST_TYPE_ARRAY);
  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);
    GValue v = G_VALUE_INIT;
    GstStructure *st;

    sent += swarm_peer_get_bytes_sent (e->peer);
    pushed += swarm_peer_get_segments_pushed (e->peer);
    parity += swarm_peer_get_parity_sent (e->peer);
    {
      SwarmPeerAbuse a;
      swarm_peer_get_abuse (e->peer, &a);
      abuse.junk += a.junk;
      abuse.waste += a.waste;
      abuse.requests_refused += a.requests_refused;
    }
    if (!peer_entry_is_ready (e))
      continue;
    peer_entry_update_rates (e, now);
    n_ready++;
    st = peer_entry_describe (e, now);
    if (e->info)
      swarm_peer_info_update (e->info, st);
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, st);
    gst_value_array_append_and_take_value (&list, &v);
  }

  g_mutex_lock (&s->lock);
  g_value_unset (&s->peer_stats);
  s->peer_stats = list;
  s->bytes_sent = sent;
  s->segments_pushed = pushed;
  s->parity_sent = parity;
  s->n_ready_peers = n_ready;
  s->messages_junk = abuse.junk;
  s->requests_refused = abuse.requests_refused;
  s->transfer_bytes_now = s->transfer_bytes;
  if (s->tracker_server)
    swarm_tracker_server_get_stats (s->tracker_server, &s->tracker_stats);
  g_mutex_unlock (&s->lock);
}

static void
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
  else if (s->tracker_other_swarm && s->n_ready_peers == 0 && s->secret)
    /* a private swarm's members announce where the secret leads, and
     * the publisher's tracker serves only that: ours led elsewhere */
    session_fail (s, SWARM_SESSION_ERROR_SECRET,
        g_strdup_printf (_("No member of private swarm %s at the tracker %s "
                "(waited %u ms): the secret does not match (the tracker "
                "serves only its publisher's swarm)."), s->swarm_id, url,
            s->join_timeout_ms));
  else if (s->tracker_other_swarm && s->n_ready_peers == 0)
    session_fail (s, SWARM_SESSION_ERROR_JOIN_TIMEOUT,
        g_strdup_printf (_("No publisher for swarm %s at the tracker %s: it "
                "serves only its publisher's swarm (waited %u ms).  Check "
                "the swarm id; if the swarm is private, set its secret (the "
                "\"secret-file\" property, P2P_SECRET or secret= in the "
                "p2p:// URI): its members can only be found with it."),
            s->swarm_id, url, s->join_timeout_ms));
  else if (s->tracker_refusal && s->tracker_complete == 0
      && s->n_ready_peers == 0)
    session_fail (s, SWARM_SESSION_ERROR_TRACKER,
        g_strdup_printf (_("Could not join swarm %s: %s (waited %u ms)."),
            s->swarm_id, s->tracker_refusal, s->join_timeout_ms));
  else if (!s->tracker_ever_connected)
    session_fail (s, SWARM_SESSION_ERROR_TRACKER,
        g_strdup_printf (_("Could not connect to the tracker at %s within "
                "%u ms."), url, s->join_timeout_ms));
  else if (s->tracker_complete == 0 && s->n_ready_peers == 0 && s->secret)
    /* a private swarm's members announce where the secret leads: with
     * the wrong secret we are alone there */
    session_fail (s, SWARM_SESSION_ERROR_SECRET,
        g_strdup_printf (_("No member of private swarm %s at the tracker %s "
                "(waited %u ms): the secret does not match, or the swarm "
                "is not live."), s->swarm_id, url, s->join_timeout_ms));
  else if (s->tracker_complete == 0 && s->n_ready_peers == 0)
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

static gboolean
housekeeping_cb (gpointer data)
{
  SwarmSession *s = data;
  gint64 now = g_get_monotonic_time ();
  gboolean lonely = session_count_partners (s) == 0;
  guint i;

  for (i = 0; i < s->peers->len; i++) {
    PeerEntry *e = g_ptr_array_index (s->peers, i);

    if (e->dead)
      continue;
    /* withdraw offers nobody answered; sooner while we have no partner */
    if (!e->has_remote && swarm_peer_get_link_role (e->peer) ==
        SWARM_LINK_OFFERER && ((e->offered_us && now - e->offered_us >
                (lonely ? OFFER_EXPIRY_US / 2 : OFFER_EXPIRY_US))
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
  session_maybe_offer (s);
  if (now - s->last_pex_sent_us >= PEX_INTERVAL_US) {
    s->last_pex_sent_us = now;
    session_send_pex (s);
  }
  session_maybe_pex_offer (s, now);
  swarm_relay_assembler_expire (s->relay_assembler, now);
  if (now - s->last_prune_us >= PRUNE_INTERVAL_US) {
    s->last_prune_us = now;
    session_prune (s, now);
  }
  session_check_join (s, now);
  if (s->housekeeping_ticks++ % 5 == 0)
    session_refresh_peer_stats (s);
  session_schedule (s);
  return G_SOURCE_CONTINUE;
}

static gboolean
stats_cb (gpointer data)
{
  SwarmSession *s = data;
  GstStructure *st;

  session_refresh_peer_stats (s);
  st = swarm_session_get_stats (s);
  if (s->callbacks.stats)
    s->callbacks.stats (s, st, s->user_data);
  gst_structure_free (st);
  return G_SOURCE_CONTINUE;
}

GstStructure *
swarm_session_get_stats (SwarmSession * s)
{
  GstStructure *st;

  g_mutex_lock (&s->lock);
  st = gst_structure_new (s->stats_name,
      "peers", G_TYPE_UINT, s->n_ready_peers,
      "bytes-sent", G_TYPE_UINT64, s->bytes_sent,
      "bytes-received", G_TYPE_UINT64, s->bytes_received,
      "pex-links", G_TYPE_UINT64, s->pex_links,
      "segments-pushed", G_TYPE_UINT64, s->segments_pushed,
      "peers-misbehaved", G_TYPE_UINT64, s->peers_misbehaved,
      "messages-junk", G_TYPE_UINT64, s->messages_junk,
      "chunks-unwanted", G_TYPE_UINT64, s->chunks_unwanted,
      "chunks-repaired", G_TYPE_UINT64, s->chunks_repaired,
      "chunks-rebuilt", G_TYPE_UINT64, s->chunks_rebuilt,
      "parity-sent", G_TYPE_UINT64, s->parity_sent,
      "parity-received", G_TYPE_UINT64, s->parity_received,
      "requests-resent", G_TYPE_UINT64, s->requests_resent,
      "requests-refused", G_TYPE_UINT64, s->requests_refused,
      "offers-refused", G_TYPE_UINT64, s->offers_refused,
      "signals-dropped", G_TYPE_UINT64, s->signals_dropped,
      "announcements-refused", G_TYPE_UINT64, s->announcements_refused,
      "publisher-restarts", G_TYPE_UINT64, s->edge.epochs,
      "address-bans", G_TYPE_UINT64, s->address_bans,
      "links-refused-address", G_TYPE_UINT64, s->links_refused_address,
      "edges-refused", G_TYPE_UINT64, s->edge.refused_clock,
      "clock-offset-ms", G_TYPE_INT64, s->edge.valid ?
      s->edge.clock_offset_us / 1000 : (gint64) 0,
      "transfer-bytes", G_TYPE_UINT64, s->transfer_bytes_now,
      "transfer-bytes-peak", G_TYPE_UINT64, s->transfer_bytes_peak,
      "descriptions-refused", G_TYPE_UINT64, s->descriptions_refused, NULL);
  if (s->role == SWARM_SESSION_VIEWER) {
    gst_structure_set (st,
        "bytes-from-origin", G_TYPE_UINT64, s->bytes_from_origin,
        "bytes-from-peers", G_TYPE_UINT64, s->bytes_from_peers,
        "segments-received", G_TYPE_UINT64, s->segments_received,
        "segments-played", G_TYPE_UINT64, s->segments_played,
        "segments-missed", G_TYPE_UINT64, s->segments_missed,
        "continuity", G_TYPE_DOUBLE, s->segments_played + s->segments_missed ?
        (gdouble) s->segments_played / (s->segments_played +
            s->segments_missed) : 1.0,
        "segments-rejected", G_TYPE_UINT64, s->segments_rejected,
        "peers-banned", G_TYPE_UINT64, s->peers_banned,
        "segments-verified", G_TYPE_UINT64, s->segments_verified,
        "bytes-verified", G_TYPE_UINT64, s->bytes_verified,
        "verify-us", G_TYPE_UINT64, s->verify_us,
        "startup-ms", G_TYPE_INT64, s->startup_ms, NULL);
  } else {
    gst_structure_set (st,
        "segments-published", G_TYPE_UINT64, s->segments_published,
        "bytes-published", G_TYPE_UINT64, s->bytes_published,
        "upload-copies", G_TYPE_DOUBLE, s->bytes_published ?
        (gdouble) s->bytes_sent / s->bytes_published : 0.0,
        "tracker-port", G_TYPE_UINT, s->tracker_port,
        "tracker-connections", G_TYPE_UINT, s->tracker_stats.connections,
        "tracker-connections-refused", G_TYPE_UINT64,
        s->tracker_stats.connections_refused,
        "tracker-connections-flooding", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_flood,
        "tracker-connections-timed-out", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_unannounced +
        s->tracker_stats.connections_closed_half_open +
        s->tracker_stats.connections_closed_idle,
        "tracker-connections-oversize", G_TYPE_UINT64,
        s->tracker_stats.connections_closed_oversize,
        "tracker-announces-refused", G_TYPE_UINT64,
        s->tracker_stats.announces_refused_peer_id +
        s->tracker_stats.announces_refused_info_hash,
        "tracker-bytes-held", G_TYPE_UINT64,
        (guint64) s->tracker_stats.bytes_held, NULL);
  }
  gst_structure_set_value (st, "peer-stats", &s->peer_stats);
  g_mutex_unlock (&s->lock);
  return st;
}

/* ---- lifecycle -------------------------------------------------------- */

SwarmSession *
swarm_session_new (const SwarmSessionConfig * config,
    const SwarmSessionCallbacks * callbacks, gpointer user_data)
{
  SwarmSession *s;
  gchar *peer_id;

  swarm_init ();
  s = g_object_new (SWARM_TYPE_SESSION, NULL);
  s->role = config->role;
  s->identity = swarm_identity_ref (config->identity);
  s->tracker_urls = g_strdupv (config->trackers);
  if (!s->tracker_urls)
    s->tracker_urls = g_new0 (gchar *, 1);
  s->tracker_address = g_strdup (config->tracker_address ?
      config->tracker_address : "0.0.0.0");
  s->tracker_port_wanted = config->tracker_port;
  s->max_peers = MAX (config->max_peers, 1);
  if (config->stun) {
    s->stun = g_new0 (SwarmIceServer, 1);
    *s->stun = *config->stun;
    s->stun->host = g_strdup (config->stun->host);
  }
  if (config->turn) {
    s->turn = g_new0 (SwarmIceServer, 1);
    *s->turn = *config->turn;
    s->turn->host = g_strdup (config->turn->host);
    s->turn->username = g_strdup (config->turn->username);
    s->turn->password = g_strdup (config->turn->password);
  }
  s->join_timeout_ms = config->join_timeout_ms;
  s->stats_interval_ms = config->stats_interval_ms;
  s->stats_name = g_strdup (config->stats_name ? config->stats_name :
      "swarm-stats");
  s->scheduler_class = config->scheduler ? config->scheduler :
      swarm_scheduler_default_get_class ();
  if (callbacks)
    s->callbacks = *callbacks;
  s->user_data = user_data;

  memcpy (s->local.swarm_key, swarm_identity_get_public_key (s->identity),
      SWARM_WIRE_KEY_LEN);
  peer_id = swarm_peer_id_generate ();
  g_strlcpy (s->local.peer_id, peer_id, sizeof s->local.peer_id);
  g_free (peer_id);
  s->local.role = s->role == SWARM_SESSION_ORIGIN ? SWARM_PEER_ROLE_ORIGIN :
      SWARM_PEER_ROLE_VIEWER;
  s->local.serve = !(s->role == SWARM_SESSION_VIEWER && config->consume_only);
  s->local.publisher = s->identity;
  swarm_edge_state_init (&s->edge, s->identity, config->clock_tolerance_ms);
  s->secret_text = g_strdup (config->secret);
  if (config->upload_limit_kbps > 0) {
    guint64 rate = (guint64) config->upload_limit_kbps * 125;
    /* bursts of 20 ms, at least a few datagrams */
    s->upload_limiter = swarm_rate_limiter_new (rate,
        MAX (4 * SWARM_WIRE_MAX_DATAGRAM, rate / 50));
  }
  s->swarm_id = swarm_identity_get_swarm_id (s->identity);
  s->info_hash = swarm_id_to_info_hash (s->local.swarm_key);
  s->store = swarm_store_new (STORE_MAX_SEGMENTS, STORE_MAX_BYTES);

  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->peers = g_ptr_array_new ();
  s->trackers = g_ptr_array_new ();
  s->transfers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      (GDestroyNotify) transfer_free);
  s->relay_assembler = swarm_relay_assembler_new (RELAY_MAX_PENDING,
      RELAY_TIMEOUT_US);
  s->signal_budget = swarm_rate_limiter_new (RELAY_TOTAL_PER_S,
      RELAY_TOTAL_BURST);
  s->offer_budget = swarm_rate_limiter_new (OFFERS_PER_S, OFFERS_BURST);
  s->pex_tried = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  s->banned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->strikes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->startup_ms = -1;
  g_value_init (&s->peer_stats, GST_TYPE_ARRAY);
  return s;
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
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, s, NULL);
  g_source_attach (source, s->context);
  return source;
}

/* Runs on the network thread, with its context as thread-default. */
static gboolean
session_setup (SwarmSession * s, GError ** error)
{
  guint i;

  s->credentials = swarm_dtls_credentials_new (error);
  if (!s->credentials)
    return FALSE;
  s->scheduler = s->scheduler_class->create ();

  if (s->role == SWARM_SESSION_ORIGIN && !s->tracker_urls[0]) {
    const gchar *host;

    s->tracker_server = swarm_tracker_server_new ();
    /* Ours is a publisher's tracker, not a public one. */
    swarm_tracker_server_set_info_hash (s->tracker_server, s->info_hash);
    if (!swarm_tracker_server_listen (s->tracker_server, s->tracker_address,
            s->tracker_port_wanted, error))
      return FALSE;
    g_mutex_lock (&s->lock);
    s->tracker_port = swarm_tracker_server_get_port (s->tracker_server);
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
    g_ptr_array_add (s->trackers, c);
    swarm_tracker_client_start (c);
  }

  s->started_us = g_get_monotonic_time ();
  s->housekeeping_source = attach_timeout (s, HOUSEKEEPING_MS,
      housekeeping_cb);
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

  g_return_val_if_fail (s->thread == NULL, FALSE);
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

/* A tracker client said goodbye; the last one ends the network thread
 * (the embedded tracker goes last: our own client may be talking to it). */
static void
session_tracker_gone (gpointer data)
{
  SwarmSession *s = data;

  if (--s->goodbyes_pending > 0)
    return;
  g_clear_pointer (&s->tracker_server, swarm_tracker_server_free);
  g_main_loop_quit (s->loop);
}

static gboolean
session_teardown (gpointer data)
{
  SwarmSession *s = data;
  guint i;

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
  /* The loop runs on until every tracker has had our goodbye (bounded by
   * the client); one more count covers the loop below. */
  s->goodbyes_pending = s->trackers->len + 1;
  for (i = 0; i < s->trackers->len; i++)
    swarm_tracker_client_free_full (g_ptr_array_index (s->trackers, i),
        session_tracker_gone, s);
  g_ptr_array_set_size (s->trackers, 0);
  session_tracker_gone (s);
  return G_SOURCE_REMOVE;
}

void
swarm_session_stop (SwarmSession * s)
{
  g_return_if_fail (SWARM_IS_SESSION (s));

  swarm_session_set_flushing (s, TRUE);
  if (s->thread) {
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
swarm_session_free (SwarmSession * s)
{
  if (!s)
    return;
  swarm_session_stop (s);
  g_object_unref (s);
}

static void
swarm_session_finalize (GObject * object)
{
  SwarmSession *s = SWARM_SESSION (object);

  /* The owner stops it; a session whose last reference went without a
   * stop (an application's binding, say) is stopped here, never from its
   * own thread (handlers there run with a reference held by the emission). */
  if (s->thread)
    swarm_session_stop (s);
  if (s->scheduler)
    s->scheduler_class->destroy (s->scheduler);
  g_ptr_array_unref (s->peers);
  g_ptr_array_unref (s->trackers);
  g_hash_table_destroy (s->transfers);
  swarm_relay_assembler_free (s->relay_assembler);
  swarm_rate_limiter_free (s->signal_budget);
  swarm_rate_limiter_free (s->offer_budget);
  g_hash_table_destroy (s->pex_tried);
  g_hash_table_destroy (s->banned);
  g_hash_table_destroy (s->strikes);
  g_clear_pointer (&s->tracker_server, swarm_tracker_server_free);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  swarm_store_free (s->store);
  g_clear_pointer (&s->upload_limiter, swarm_rate_limiter_free);
  g_clear_pointer (&s->credentials, swarm_dtls_credentials_unref);
  swarm_identity_unref (s->identity);
  g_strfreev (s->tracker_urls);
  g_free (s->tracker_address);
  g_clear_pointer (&s->stun, swarm_ice_server_free);
  g_clear_pointer (&s->turn, swarm_ice_server_free);
  g_free (s->stats_name);
  g_free (s->swarm_id);
  g_free (s->tracker_refusal);
  g_free (s->info_hash);
  swarm_secret_clear_string (&s->secret_text);
  swarm_secret_free (s->secret);
  g_value_unset (&s->peer_stats);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  G_OBJECT_CLASS (swarm_session_parent_class)->finalize (object);
}

static void
swarm_session_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  SwarmSession *s = SWARM_SESSION (object);

  switch (prop_id) {
    case PROP_ROLE:
      g_value_set_enum (value, s->role);
      break;
    case PROP_PEER_ID:
      g_value_set_string (value, s->local.peer_id);
      break;
    case PROP_SWARM_ID:
      g_value_set_string (value, s->swarm_id);
      break;
    case PROP_TRACKER_PORT:
      g_value_set_uint (value, swarm_session_get_tracker_port (s));
      break;
    case PROP_STATS:
      g_value_take_boxed (value, swarm_session_get_stats (s));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
swarm_session_class_init (SwarmSessionClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  gobject_class->finalize = swarm_session_finalize;
  gobject_class->get_property = swarm_session_get_property;

  session_props[PROP_ROLE] = g_param_spec_enum ("role", "Role",
      "Publisher (origin) or viewer", SWARM_TYPE_SESSION_ROLE,
      SWARM_SESSION_VIEWER, ro);
  session_props[PROP_PEER_ID] = g_param_spec_string ("peer-id", "Peer id",
      "Our peer id on trackers and links (20 characters)", NULL, ro);
  session_props[PROP_SWARM_ID] = g_param_spec_string ("swarm-id", "Swarm id",
      "The swarm's id, derived from the publisher's public key", NULL, ro);
  session_props[PROP_TRACKER_PORT] = g_param_spec_uint ("tracker-port",
      "Tracker port", "Port of the embedded tracker (0 if none)", 0,
      G_MAXUINT16, 0, ro);
  session_props[PROP_STATS] = g_param_spec_boxed ("stats", "Stats",
      "The session's stats (fields in docs/stats.md)",
      gst_structure_get_type (),
      ro);
  g_object_class_install_properties (gobject_class, N_PROPS, session_props);

  /**
   * SwarmSession::peer-added:
   * @session: the session
   * @info: the new partner
   *
   * A partner's link is ready.  Emitted on the session's network thread.
   */
  session_signals[SIGNAL_PEER_ADDED] = g_signal_new ("peer-added",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, SWARM_TYPE_PEER_INFO);
  /**
   * SwarmSession::peer-removed:
   * @session: the session
   * @info: the partner gone, the object passed with #SwarmSession::peer-added
   *
   * A partner is gone (closed by either side, or the session stopped).
   * Emitted on the session's network thread.
   */
  session_signals[SIGNAL_PEER_REMOVED] = g_signal_new ("peer-removed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, SWARM_TYPE_PEER_INFO);
}

static void
swarm_session_init (SwarmSession * s)
{
}

/* ---- viewer playout side ---------------------------------------------- */

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
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_played (SwarmSession * s, guint64 seq)
{
  g_mutex_lock (&s->lock);
  s->segments_played++;
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_missed (SwarmSession * s, guint64 seq)
{
  g_mutex_lock (&s->lock);
  s->segments_missed++;
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_missed_n (SwarmSession * s, guint64 count)
{
  g_mutex_lock (&s->lock);
  s->segments_missed += count;
  g_mutex_unlock (&s->lock);
}

void
swarm_session_note_startup (SwarmSession * s, gint64 startup_ms)
{
  g_mutex_lock (&s->lock);
  s->startup_ms = startup_ms;
  g_mutex_unlock (&s->lock);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reaching peers through partners: PEX lists, descriptions relayed over
 * a partner link (SIGNAL), and the sealing of descriptions in a private
 * swarm.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

/* What we signal for @sdp: marked as a newcomer's (NEWCOMER_MARK) if
 * @newcomer; sealed in a private swarm, so trackers and relays see
 * neither addresses nor fingerprints. */
gchar *
session_outgoing_description (SwarmSession * s, const gchar * sdp,
    gboolean newcomer)
{
  g_autofree gchar *text = g_strconcat (newcomer ? NEWCOMER_MARK : "", sdp,
      NULL);

  return s->secret ? swarm_secret_seal (s->secret, text) :
      g_steal_pointer (&text);
}

/* The description in @text, NEWCOMER_MARK taken off (@newcomer says
 * whether it was there). */
static gchar *
take_newcomer_mark (gchar * text, gboolean * newcomer)
{
  gsize n = strlen (NEWCOMER_MARK);

  *newcomer = text && g_str_has_prefix (text, NEWCOMER_MARK);
  if (*newcomer)
    memmove (text, text + n, strlen (text + n) + 1);
  return text;
}

static void
session_note_refused (SwarmSession * s, gboolean counted)
{
  s->private_hints++;
  if (!counted)
    return;
  g_mutex_lock (&s->lock);
  s->counters.descriptions_refused++;
  g_mutex_unlock (&s->lock);
}

/* The usable description in what @peer_id signalled, or NULL if it does
 * not fit our secret (or its absence); @newcomer (may be NULL) says
 * whether a newcomer marked it (NEWCOMER_MARK). */
gchar *
session_incoming_description (SwarmSession * s, const gchar * peer_id,
    const gchar * text, gboolean * newcomer)
{
  GError *error = NULL;
  gboolean marked;
  gchar *sdp;

  if (!newcomer)
    newcomer = &marked;
  *newcomer = FALSE;
  if (swarm_secret_is_refusal (text)) {
    GST_INFO_OBJECT (s, "%s refused our description: the swarm is private and %s",
        peer_id, s->secret ? "our secret is not its" : "we have no secret");
    session_note_refused (s, FALSE);
    return NULL;
  }
  if (!s->secret) {
    if (!swarm_secret_is_sealed (text))
      return take_newcomer_mark (g_strdup (text), newcomer);
    GST_INFO_OBJECT (s, "%s sent a sealed description: the swarm is private", peer_id);
    session_note_refused (s, TRUE);
    return NULL;
  }
  sdp = swarm_secret_open (s->secret, text, &error);
  if (!sdp) {
    GST_INFO_OBJECT (s, "description from %s refused: %s", peer_id, error->message);
    g_error_free (error);
    session_note_refused (s, TRUE);
  }
  return take_newcomer_mark (sdp, newcomer);
}

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
gboolean
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
void
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

void
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

/* TRUE if @relay_id names our partner the origin. */
gboolean
session_relay_is_origin (SwarmSession * s, const gchar * relay_id)
{
  PeerEntry *r = relay_id ? session_find_ready_partner (s, relay_id) : NULL;

  return r && swarm_peer_get_remote_role (r->peer) == SWARM_PEER_ROLE_ORIGIN;
}

/* A viewer short of partners offers a link to a peer one of its partners
 * knows, through that partner: the swarm heals even with every tracker
 * down.  A partner of the origin also links up with the origin's other
 * partners, past its seek target (SIBLING_EXTRA_PARTNERS): the origin
 * pushes each of them a share of the segments, and a share that has to
 * come down the tree, or from the origin again, costs a copy.  Under
 * churn the origin's places go to newcomers who know nothing of each other
 * (p2p-sim, rough 100 viewers: 2.9 origin copies with churn, 1.1
 * without).  One such offer at a time. */
void
session_maybe_pex_offer (SwarmSession * s, gint64 now)
{
  PeerEntry *relay = NULL, *e;
  const gchar *target = NULL;
  gint64 *tried;
  gchar *offer_id;
  GError *error = NULL;
  guint i, j, partners;
  gboolean siblings_only;

  if (s->role != SWARM_SESSION_VIEWER
      || now - s->pex.last_pex_offer_us < PEX_OFFER_INTERVAL_US)
    return;
  partners = session_count_partners (s);
  if (partners >= s->max_peers + SIBLING_EXTRA_PARTNERS)
    return;
  siblings_only = partners >= session_seek_target (s);
  for (i = 0; i < s->peers->len; i++) {
    e = g_ptr_array_index (s->peers, i);
    if (!e->dead && e->relay_id && !e->has_remote
        && swarm_peer_get_link_role (e->peer) == SWARM_LINK_OFFERER)
      return;                   /* one in progress */
  }
  for (i = 0; i < s->peers->len && !target; i++) {
    PeerEntry *r = g_ptr_array_index (s->peers, i);

    if (!peer_entry_is_ready (r) || !r->pex_ids || (siblings_only
            && swarm_peer_get_remote_role (r->peer) != SWARM_PEER_ROLE_ORIGIN))
      continue;
    for (j = 0; j < r->pex_ids->len && !target; j++) {
      const gchar *id = g_ptr_array_index (r->pex_ids, j);

      if (g_str_equal (id, s->local.peer_id) || session_find_partner (s, id,
              NULL) || session_is_banned (s, id))
        continue;
      tried = g_hash_table_lookup (s->pex.pex_tried, id);
      if (tried && now - *tried < PEX_RETRY_US)
        continue;
      target = id;
      relay = r;
    }
  }
  if (!target)
    return;

  s->pex.last_pex_offer_us = now;
  tried = g_new (gint64, 1);
  *tried = now;
  g_hash_table_insert (s->pex.pex_tried, g_strdup (target), tried);

  e = session_add_peer (s, SWARM_LINK_OFFERER);
  offer_id = random_id20 (s->clock);
  swarm_peer_set_offer_id (e->peer, offer_id);
  g_free (offer_id);
  swarm_peer_set_remote_id (e->peer, target);
  e->relay_id = g_strdup (swarm_peer_get_remote_id (relay->peer));
  GST_DEBUG_OBJECT (s, "offering a link to %s through %s", target, e->relay_id);
  if (!swarm_peer_start (e->peer, &error)) {
    GST_INFO_OBJECT (s, "could not start a PEX offer: %s", error->message);
    g_error_free (error);
    e->dead = TRUE;
  }
}

void
on_peer_signal (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  gchar to[SWARM_WIRE_PEER_ID_LEN + 1], from[SWARM_WIRE_PEER_ID_LEN + 1];
  gchar offer_id[SWARM_WIRE_PEER_ID_LEN + 1];
  gchar *text;

  gint64 now = swarm_clock_now_us (s->clock);

  if (swarm_rate_limiter_take (e->signal_budget, now, 1) == 0) {
    g_mutex_lock (&s->lock);
    s->counters.signals_dropped++;
    g_mutex_unlock (&s->lock);
    swarm_peer_note_junk (p, "flood of SIGNAL");
    return;
  }
  if (swarm_rate_limiter_take (s->pex.signal_budget, now, 1) == 0) {
    g_mutex_lock (&s->lock);
    s->counters.signals_dropped++;
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
  text = swarm_relay_assembler_add (s->pex.relay_assembler, msg,
      swarm_clock_now_us (s->clock));
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

/* ---- the state this part owns (SessionPex) ------------------------- */

void
session_pex_init (SwarmSession * s)
{
  s->pex.relay_assembler = swarm_relay_assembler_new (RELAY_MAX_PENDING,
      RELAY_TIMEOUT_US);
  s->pex.signal_budget = swarm_rate_limiter_new (RELAY_TOTAL_PER_S,
      RELAY_TOTAL_BURST);
  s->pex.pex_tried = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
}

void
session_pex_clear (SwarmSession * s)
{
  swarm_relay_assembler_free (s->pex.relay_assembler);
  swarm_rate_limiter_free (s->pex.signal_budget);
  g_hash_table_destroy (s->pex.pex_tried);
}

/* Housekeeping: a PEX round every PEX_INTERVAL_US, offers through
 * partners, relayed fragments that never completed. */
void
session_pex_tick (SwarmSession * s, gint64 now)
{
  if (now - s->pex.last_pex_sent_us >= PEX_INTERVAL_US) {
    s->pex.last_pex_sent_us = now;
    session_send_pex (s);
  }
  session_maybe_pex_offer (s, now);
  swarm_relay_assembler_expire (s->pex.relay_assembler, now);
}

/* A new partner: everyone learns of it with the next round, soon. */
void
session_pex_soon (SwarmSession * s)
{
  s->pex.last_pex_sent_us = MIN (s->pex.last_pex_sent_us,
      swarm_clock_now_us (s->clock) - PEX_INTERVAL_US + 100 * 1000);
}

/* Forgets PEX attempts old enough to try again. */
void
session_pex_prune (SwarmSession * s, gint64 now)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->pex.pex_tried);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (now - *(gint64 *) value >= PEX_RETRY_US)
      g_hash_table_iter_remove (&it);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Segment transfers: chunks arriving from partners (asked for or pushed),
 * reassembly, loss repair (re-requests and parity), verification and
 * hand-over to the store.
 * Part of the session: see swarm-session.c for the whole.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"

#define GST_CAT_DEFAULT swarm_session_debug

static void transfer_repair_gaps (Transfer * t, guint idx);

/* @e becomes @t's source: its pace is measured afresh. */
static void
transfer_set_source (Transfer * t, PeerEntry * e)
{
  t->source = e;
  t->source_since_us = swarm_clock_now_us (t->session->clock);
  t->source_got = 0;
  swarm_peer_set_in_flight (e->peer, swarm_peer_get_in_flight (e->peer) + 1);
}

static gboolean
id_in (GPtrArray * ids, const gchar * id)
{
  guint i;

  for (i = 0; id && ids && i < ids->len; i++)
    if (g_str_equal (g_ptr_array_index (ids, i), id))
      return TRUE;
  return FALSE;
}

/* A transfer for @seq, from @source (nullable: the scheduler picks one). */
Transfer *
session_add_transfer (SwarmSession * s, guint64 seq, PeerEntry * source)
{
  Transfer *t = g_new0 (Transfer, 1);
  guint64 *key = g_new (guint64, 1);

  t->session = s;
  t->seq = seq;
  t->created_us = swarm_clock_now_us (s->clock);
  *key = seq;
  g_hash_table_insert (s->transfers, key, t);
  session_housekeeping_soon (s);
  if (source) {
    transfer_set_source (t, source);
    t->last_progress_us = swarm_clock_now_us (s->clock);
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

/* The table's destroy notify: every transfer leaves it here. */
void
transfer_free (Transfer * t)
{
  if (t->session->last_transfer == t)
    t->session->last_transfer = NULL;
  transfer_clear_chunks (t);
  g_clear_pointer (&t->asked, g_ptr_array_unref);
  g_free (t);
}

/* The transfer of @seq, or NULL. */
Transfer *
session_find_transfer (SwarmSession * s, guint64 seq)
{
  Transfer *t = s->last_transfer;

  if (t && t->seq == seq)
    return t;
  t = g_hash_table_lookup (s->transfers, &seq);
  if (t)
    s->last_transfer = t;
  return t;
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
  s->counters.transfer_bytes_peak = MAX (s->counters.transfer_bytes_peak, s->transfer_bytes);
  g_mutex_unlock (&s->lock);
  return TRUE;
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
  s->counters.segments_verified++;
  s->counters.bytes_verified += g_bytes_get_size (bytes);
  s->counters.verify_us += MAX (spent, 0);
  g_mutex_unlock (&s->lock);
  return ok;
}

/* One line per segment received, for working out where a viewer's
 * latency goes (tools/bench/bench-arrivals.py): how it came, how long it took,
 * how much was asked for again, and its age by the publisher's clock
 * (meaningful where both clocks agree, as in p2p-bench). */
static void
transfer_log_done (Transfer * t, GBytes * bytes, PeerEntry * last)
{
  gint64 now, published = 0;
  guint i, asked_again = 0;

  if (gst_debug_category_get_threshold (GST_CAT_DEFAULT) < GST_LEVEL_DEBUG)
    return;
  now = swarm_clock_now_us (t->session->clock);
  /* every chunk is asked for once with the segment */
  for (i = 0; i < t->chunk_count; i++)
    asked_again += t->asks[i] > 1 ? t->asks[i] - 1 : 0;
  swarm_segment_peek_publish_time (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), &published);
  GST_DEBUG_OBJECT (t->session, "segment %" G_GUINT64_FORMAT " done from %s: %s, %u chunks, "
      "%u asked again, first chunk after %" G_GINT64_FORMAT " ms, whole "
      "after %" G_GINT64_FORMAT " ms, age %" G_GINT64_FORMAT " ms", t->seq,
      swarm_peer_get_remote_id (last->peer), t->pushed ? "pushed" : "asked",
      t->chunk_count, asked_again, (t->first_chunk_us - t->created_us) / 1000,
      (now - t->created_us) / 1000,
      published ? (swarm_clock_real_us (t->session->clock) - published) / 1000 : -1);
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
    GST_WARNING_OBJECT (s, "segment %" G_GUINT64_FORMAT " from %s rejected: %s",
        t->seq, swarm_peer_get_remote_id (last->peer),
        error ? error->message : "sequence number mismatch");
    g_clear_error (&error);
    g_mutex_lock (&s->lock);
    s->counters.segments_rejected++;
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
  if (s->segment_intern) {
    GBytes *kept = s->segment_intern (seq, bytes, s->segment_intern_data);

    g_bytes_unref (bytes);
    bytes = kept;
  }
  swarm_store_add (s->store, seq, flags, bytes);
  g_hash_table_remove (s->transfers, &seq);
  g_bytes_unref (bytes);

  session_note_known (s, seq, (flags & SWARM_SEGMENT_FLAG_KEYFRAME) != 0);
  g_mutex_lock (&s->lock);
  s->counters.segments_received++;
  s->got_segment = TRUE;
  session_wake_waiters (s);
  g_mutex_unlock (&s->lock);
  if (s->segment_notify)
    s->segment_notify (seq, swarm_peer_get_remote_id (last->peer),
        s->segment_data);

  session_push_to_children (s, seq, source);
  session_announce_segment (s, seq, flags);
  session_request_schedule (s);
}

/* Adds @id to *@ids (made on first use) unless there already. */
static void
ids_note (GPtrArray ** ids, const gchar * id)
{
  if (!id || id_in (*ids, id))
    return;
  if (!*ids)
    *ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (*ids, g_strdup (id));
}

static void
transfer_note_contributor (Transfer * t, const gchar * id)
{
  ids_note (&t->contributors, id);
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
  e->pushed_seq = MAX (e->pushed_seq, seq + 1);
  return TRUE;
}

static gboolean
transfer_has_contributor (Transfer * t, const gchar * id)
{
  return id_in (t->contributors, id);
}

/* Chunks of a transfer come from the partner it was asked of (or that
 * pushed it); once it is handed back, late ones from those that already
 * contributed still help.  Anyone else's would only mix in chunks we
 * could not attribute, with two exceptions.  A push that stalls is taken
 * over by whoever sends the segment now.  And a partner sending a
 * segment unasked (a parent pushing what it just completed, at its full
 * rate) takes over a request that has brought nothing yet: the partner
 * asked, the first to announce the segment, is often one on a thin uplink
 * serving several others, and while only pushes could be taken over the
 * parent's push was refused and the segment missed its deadline, for the
 * viewer and everyone below it (docs/sim.md, finding 3).  The partner
 * asked is told to stop, and what it still sends cannot take the segment
 * back; nor can a partner that stalled a transfer lately (what it sends
 * now is what we gave up waiting for). */
static gboolean
transfer_accepts_from (Transfer * t, PeerEntry * e)
{
  const gchar *id = swarm_peer_get_remote_id (e->peer);
  gint64 now = swarm_clock_now_us (t->session->clock);

  if (t->source == e)
    return TRUE;
  if (t->single_source)
    return FALSE;
  /* a partner asked for it before a rescue or a repair went elsewhere
   * still sends what we lack: taken, or it would be wasted and the
   * segment would wait for the next one's copy */
  if (id_in (t->asked, id))
    return TRUE;
  if (e == t->stopped)
    return FALSE;
  if (!t->source)
    return transfer_has_contributor (t, id);
  if (e->slow_until_us > now
      || (t->pushed ? now - t->last_progress_us <= PUSH_TAKEOVER_US :
          t->n_got > 0))
    return FALSE;
  GST_DEBUG_OBJECT (t->session, "%s of %" G_GUINT64_FORMAT " from %s taken over by %s",
      t->pushed ? "stalled push" : "request", t->seq,
      swarm_peer_get_remote_id (t->source->peer), id);
  if (!t->pushed) {
    swarm_peer_cancel (t->source->peer, t->seq);
    t->stopped = t->source;
  }
  transfer_detach (t);
  /* no mixing with what the one before sent */
  if (!transfer_has_contributor (t, id))
    transfer_clear_chunks (t);
  transfer_set_source (t, e);
  t->pushed = TRUE;
  t->asked_whole = FALSE;
  t->last_progress_us = now;
  return TRUE;
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
  t->session->counters.chunks_rebuilt++;
  g_mutex_unlock (&t->session->lock);
  GST_LOG_OBJECT (t->session, "rebuilt chunk %u of %" G_GUINT64_FORMAT " from parity", missing,
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
  Transfer *t = session_find_transfer (s, msg->data.seq);
  guint group = msg->data.chunk_index;
  guint64 seq;

  g_mutex_lock (&s->lock);
  s->counters.parity_received++;
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
  e->parity_seen_us = swarm_clock_now_us (s->clock);
  seq = t->seq;
  transfer_try_rebuild (t, e, group);
  if (session_find_transfer (s, seq) == t && t->source == e)
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
    t->first_chunk_us = swarm_clock_now_us (s->clock);
  if (e == t->source && t->source_got++ == 0)
    t->source_first_us = swarm_clock_now_us (s->clock);
  transfer_note_contributor (t, swarm_peer_get_remote_id (e->peer));
  t->last_progress_us = e->last_data_us = swarm_clock_now_us (s->clock);
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

/* A chunk nothing takes (or, @duplicate, one we had): counted, and its
 * bytes as wasted. */
static void
session_count_waste (SwarmSession * s, gboolean duplicate, gsize len)
{
  g_mutex_lock (&s->lock);
  if (duplicate)
    s->counters.chunks_duplicate++;
  else
    s->counters.chunks_unwanted++;
  s->counters.bytes_wasted += len;
  g_mutex_unlock (&s->lock);
}

void
on_peer_data (SwarmPeer * p, const SwarmMessage * msg, gpointer user_data)
{
  PeerEntry *e = user_data;
  SwarmSession *s = e->session;
  Transfer *t;
  guint idx = msg->data.chunk_index;

  /* it waits for its ACK (swarm_peer_flush_acks) */
  session_housekeeping_soon (s);
  if (msg->type == SWARM_MSG_PARITY) {
    session_take_parity (s, e, msg);
    return;
  }

  g_mutex_lock (&s->lock);
  s->counters.bytes_received += msg->data.payload_len;
  if (swarm_peer_get_remote_role (p) == SWARM_PEER_ROLE_ORIGIN)
    s->counters.bytes_from_origin += msg->data.payload_len;
  else
    s->counters.bytes_from_peers += msg->data.payload_len;
  g_mutex_unlock (&s->lock);

  t = session_find_transfer (s, msg->data.seq);
  if (!t && !session_accept_push (s, e, msg->data.seq)) {
    /* late duplicate, a replay, or nothing we want */
    GST_LOG_OBJECT (s, "chunk %u of %" G_GUINT64_FORMAT " from %s wasted: %s",
        idx, msg->data.seq, swarm_peer_get_remote_id (p),
        swarm_store_has (s->store, msg->data.seq) ? "had it already" :
        "a push not taken");
    session_count_waste (s, FALSE, msg->data.payload_len);
    if (e->late_copies > 0 && swarm_store_has (s->store, msg->data.seq))
      e->late_copies--;
    else
      swarm_peer_note_waste (p);
    return;
  }
  if (!t)
    t = session_find_transfer (s, msg->data.seq);
  if (!transfer_accepts_from (t, e)) {
    GST_LOG_OBJECT (s, "chunk %u of %" G_GUINT64_FORMAT " from %s wasted: the "
        "transfer is %s's (%s %" G_GINT64_FORMAT " ms ago, %u chunks in)", idx,
        msg->data.seq, swarm_peer_get_remote_id (p), t->source ?
        swarm_peer_get_remote_id (t->source->peer) : "nobody", t->pushed ?
        "pushed" : "asked", (swarm_clock_now_us (s->clock) - t->created_us) / 1000,
        t->n_got);
    session_count_waste (s, FALSE, msg->data.payload_len);
    swarm_peer_note_waste (p);
    return;
  }
  if (t->chunk_count != 0 && (t->chunk_count != msg->data.chunk_count
          || t->size != msg->data.segment_size)) {
    /* Its own source changed its mind, or the chunks so far came from a
     * partner that lied about the size: start over with this one's. */
    GST_DEBUG_OBJECT (s, "chunk of %" G_GUINT64_FORMAT " disagrees on size: restarting",
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
    GST_DEBUG_OBJECT (s, "no room for a segment of %u bytes", msg->data.segment_size);
    if (t->pushed) {
      /* a push we cannot hold is as unwanted as one we refuse outright */
      session_count_waste (s, FALSE, msg->data.payload_len);
      transfer_detach (t);
      g_hash_table_remove (s->transfers, &t->seq);
    }
    return;
  }
  if (swarm_wire_bit_get (t->got, idx)) {
    GST_LOG_OBJECT (s, "chunk %u of %" G_GUINT64_FORMAT " from %s wasted: "
        "came twice", idx, msg->data.seq, swarm_peer_get_remote_id (p));
    session_count_waste (s, TRUE, msg->data.payload_len);
    /* A chunk we asked for again may come twice: the first copy was late,
     * not lost.  Thousands of them after repairs of a big segment are our
     * doing, not a flood from the partner. */
    if (t->asks[idx] <= 1)
      swarm_peer_note_waste (p);
    return;
  }
  transfer_take_chunk (t, e, idx, msg->data.payload, msg->data.payload_len);
}

void
transfer_detach (Transfer * t)
{
  if (t->source) {
    SwarmPeer *p = t->source->peer;
    guint n = swarm_peer_get_in_flight (p);
    swarm_peer_set_in_flight (p, n ? n - 1 : 0);
    t->source = NULL;
  }
}

void
on_peer_absent (SwarmPeer * p, guint64 seq, gpointer user_data)
{
  PeerEntry *e = user_data;
  Transfer *t = session_find_transfer (e->session, seq);

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
      && swarm_clock_now_us (t->session->clock) - t->source->parity_seen_us <
      PARITY_EXPECTED_US;
}

/* Asks the source again for @lost (@n_lost chunks of @t). */
static void
transfer_ask_again (Transfer * t, guint8 * lost, guint n_lost,
    const gchar * why)
{
  GST_LOG_OBJECT (t->session, "%s of %" G_GUINT64_FORMAT ": %u chunks lost, asking %s again",
      why, t->seq, n_lost, swarm_peer_get_remote_id (t->source->peer));
  swarm_peer_request (t->source->peer, t->seq, 0, t->chunk_count, lost);
  g_mutex_lock (&t->session->lock);
  t->session->counters.chunks_repaired += n_lost;
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
void
transfer_request (SwarmSession * s, Transfer * t, PeerEntry * e)
{
  /* chunks from the previous source are not mixed in */
  if (t->single_source)
    transfer_clear_chunks (t);
  else
    ids_note (&t->asked, swarm_peer_get_remote_id (e->peer));
  transfer_set_source (t, e);
  t->last_progress_us = swarm_clock_now_us (s->clock);
  t->request_resent = FALSE;
  /* parity follows whole segments only */
  t->asked_whole = t->chunk_count == 0;
  if (t->chunk_count == 0) {
    GST_LOG_OBJECT (s, "requesting %" G_GUINT64_FORMAT " from %s (%u in flight)",
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
    GST_DEBUG_OBJECT (s, "re-requesting %u of %u chunks of %" G_GUINT64_FORMAT
        " from %s", t->chunk_count - t->n_got, t->chunk_count, t->seq,
        swarm_peer_get_remote_id (e->peer));
  }
}

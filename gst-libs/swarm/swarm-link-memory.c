/* The in-memory link and the network model it runs on (see
 * swarm-link-memory.h).
 *
 * Everything that happens later (a datagram arriving, a link connecting or
 * hearing its partner close) is an event in one queue ordered by time, then
 * by the order it was queued (a heap: thousands of datagrams are in flight
 * in a big swarm), served by one deadline source on the net's
 * clock: deterministic for a seed however many links there are.  Events
 * name their endpoint by number, so a link that is gone meanwhile simply
 * misses them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <stdio.h>

#include "swarm-link-memory.h"
#include "swarm-link-private.h"
#include "swarm-wire.h"
#include "swarm-private.h"

#define GST_CAT_DEFAULT swarm_link_debug

#define DESCRIPTION_PREFIX "swarm-memory/1 "
#define DEFAULT_QUEUE_MS 250
/* datagrams held for a link still handshaking (DTLS keeps a few too) */
#define EARLY_MAX 64
#define SECRET_LEN 32

struct _SwarmMemoryHost {
  SwarmMemoryNet *net;
  guint index;
  gchar *address;
  SwarmMemoryHostConfig config;
  SwarmLinkFactory factory;
  gint64 upload_free_us;         /* when the upload queue is empty */
  guint next_port;
  guint64 bytes_sent;
  guint64 bytes_received;
  gboolean down;
  GHashTable *received_from;     /* sender host index -> guint64* bytes */
};

/* A datagram's bytes in flight.  The net keeps those delivered for the
 * next ones, the last freed first: a buffer still in the cache, where
 * malloc's bins for their size (past its per-thread cache) went through
 * its free lists at each one, and handed out memory long cold.  Two
 * sizes: most datagrams that are not chunks (HAVE, ACK, REQUEST) fit in
 * a small one. */
typedef struct _Datagram Datagram;
struct _Datagram {
  Datagram *next_spare;
  gsize len;
  guint8 data[];
};

#define DATAGRAM_SMALL (256 - sizeof (Datagram))

typedef enum {
  EVENT_DESCRIPTION,             /* local description ready */
  EVENT_CONNECTED,
  EVENT_DATAGRAM,
  EVENT_REMOTE_CLOSED,
} EventKind;

/* Held in the heap itself: an event is made and served with no
 * allocation of its own, and ordering thousands of them in flight (upload
 * queues of thin links hold seconds of datagrams) reads nothing outside
 * the array.  32 bytes: a node's four children are two cache lines. */
typedef struct {
  gint64 at_us;
  guint64 order;
  Datagram *datagram;            /* EVENT_DATAGRAM, owned */
  guint32 endpoint;              /* ids are handed out from 1, in order */
  EventKind kind;
} Event;

struct _SwarmMemoryNet {
  SwarmClock *clock;
  GMainContext *context;
  GRand *rand;
  GPtrArray *hosts;              /* SwarmMemoryHost, owned */
  /* MemoryLink (borrowed) by endpoint id - 1, NULL once gone: ids are
   * handed out in order, and every datagram looks its endpoint up */
  GPtrArray *endpoints;
  guint n_endpoints;             /* not NULL there */
  guint64 next_endpoint;
  /* Event, a min-heap on time, order (EVENTS_ARITY children a node, as
   * many as fill two cache lines, and laid out so that they do) */
  Event *events;
  guint n_events;
  guint events_size;
  gpointer events_block;         /* what holds them */
  guint64 next_order;
  GSource *deliver_source;
  Datagram *spare;               /* delivered, to be used again */
  Datagram *spare_small;         /* the same, of DATAGRAM_SMALL bytes */
  SwarmMemoryNetStats stats;
};

typedef struct {
  SwarmLink base;
  /* what a delivery reads, beside the base's stats */
  SwarmMemoryHost *host;
  gboolean closed;
  guint64 *received_from;        /* our host's count for the remote host */
  guint64 id;
  guint port;
  gboolean started;
  gboolean connect_scheduled;
  guint64 remote_id;             /* 0 until paired */
  SwarmMemoryHost *remote_host;
  guint remote_port;
  guint8 secret[SECRET_LEN];     /* shared by both ends once paired */
  GQueue early;                  /* Datagram* that came before we connected */
  GSource *timeout;
  guint timeout_ms;
} MemoryLink;

static const SwarmLinkClass memory_link_class;

/* ---- the event queue --------------------------------------------------- */

#define EVENTS_ARITY 4
#define EVENT_AT(net, i) ((net)->events[i])
#define EVENTS_ALIGN (EVENTS_ARITY * sizeof (Event))

G_STATIC_ASSERT (EVENTS_ALIGN == 128);

/* Room for @size events, the children of each node (from index 1, four at
 * a time) on a boundary of theirs. */
static void
events_grow (SwarmMemoryNet * net, guint size)
{
  gpointer block = g_aligned_alloc (size + EVENTS_ARITY, sizeof (Event),
      EVENTS_ALIGN);
  Event *events = (Event *) block + EVENTS_ARITY - 1;

  if (net->n_events)
    memcpy (events, net->events, net->n_events * sizeof (Event));
  g_aligned_free (net->events_block);
  net->events_block = block;
  net->events = events;
  net->events_size = size;
}

static gboolean
event_before (const Event * x, const Event * y)
{
  if (x->at_us != y->at_us)
    return x->at_us < y->at_us;
  return x->order < y->order;
}

/* When the first event is due, or -1 if none is queued. */
static gint64
events_first_at (SwarmMemoryNet * net)
{
  return net->n_events ? EVENT_AT (net, 0).at_us : -1;
}

static void
events_push (SwarmMemoryNet * net, const Event * ev)
{
  guint i = net->n_events;

  if (i == net->events_size)
    events_grow (net, MAX (1024, 2 * net->events_size));
  net->n_events++;
  while (i > 0 && event_before (ev, &EVENT_AT (net, (i - 1) / EVENTS_ARITY))) {
    EVENT_AT (net, i) = EVENT_AT (net, (i - 1) / EVENTS_ARITY);
    i = (i - 1) / EVENTS_ARITY;
  }
  EVENT_AT (net, i) = *ev;
}

/* Takes the first event out into @first. */
static void
events_pop (SwarmMemoryNet * net, Event * first)
{
  Event last = EVENT_AT (net, net->n_events - 1);
  guint n = net->n_events - 1, i = 0;

  *first = EVENT_AT (net, 0);
  net->n_events = n;
  if (n == 0)
    return;
  for (;;) {
    guint child = EVENTS_ARITY * i + 1, k, best;

    if (child >= n)
      break;
    best = child;
    for (k = child + 1; k < child + EVENTS_ARITY && k < n; k++)
      if (event_before (&EVENT_AT (net, k), &EVENT_AT (net, best)))
        best = k;
    if (!event_before (&EVENT_AT (net, best), &last))
      break;
    EVENT_AT (net, i) = EVENT_AT (net, best);
    i = best;
  }
  EVENT_AT (net, i) = last;
}

static void
net_arm (SwarmMemoryNet * net)
{
  swarm_clock_source_set_deadline (net->clock, net->deliver_source,
      events_first_at (net));
}

static void
net_queue (SwarmMemoryNet * net, gint64 at_us, EventKind kind,
    guint32 endpoint, Datagram * datagram)
{
  Event ev = { at_us, net->next_order++, datagram, endpoint, kind };
  gboolean first = net->n_events == 0 || event_before (&ev, &EVENT_AT (net, 0));

  events_push (net, &ev);
  /* the deadline moves only for a new first */
  if (first)
    net_arm (net);
}

static Datagram **
net_spares (SwarmMemoryNet * net, gsize len)
{
  return len <= DATAGRAM_SMALL ? &net->spare_small : &net->spare;
}

static Datagram *
net_datagram_new (SwarmMemoryNet * net, const guint8 * data, gsize len)
{
  Datagram **spares = net_spares (net, len);
  Datagram *d = *spares;

  if (d)
    *spares = d->next_spare;
  else
    d = g_malloc (sizeof (Datagram) + (len <= DATAGRAM_SMALL ?
            DATAGRAM_SMALL : SWARM_WIRE_MAX_DATAGRAM));
  d->len = len;
  memcpy (d->data, data, len);
  return d;
}

static void
net_datagram_free (SwarmMemoryNet * net, Datagram * d)
{
  Datagram **spares = net_spares (net, d->len);

  d->next_spare = *spares;
  *spares = d;
}

static MemoryLink *
net_endpoint (SwarmMemoryNet * net, guint64 id)
{
  if (id == 0 || id > net->endpoints->len)
    return NULL;
  return g_ptr_array_index (net->endpoints, id - 1);
}

/* Asks for the cache lines a delivery to the first event's endpoint
 * reads (see MemoryLink), while the handlers of the one before run or the
 * heap is sifted: they are misses, one link among thousands. */
static void
net_prefetch_first (SwarmMemoryNet * net)
{
  MemoryLink *link;

  if (!net->n_events)
    return;
  link = net_endpoint (net, EVENT_AT (net, 0).endpoint);
  if (link) {
    __builtin_prefetch (link);
    __builtin_prefetch ((guint8 *) link + 64);
    __builtin_prefetch ((guint8 *) link + 128);
    __builtin_prefetch (&link->received_from);
  }
}

static void link_connected (MemoryLink * link);
static void link_deliver (MemoryLink * link, Datagram * d);
static void link_close (MemoryLink * link, GError * error, gboolean notify);

static gboolean
net_deliver_due (gpointer data)
{
  SwarmMemoryNet *net = data;
  gint64 now = swarm_clock_now_us (net->clock);

  for (;;) {
    gint64 first_at = events_first_at (net);
    Event event, *ev = &event;
    MemoryLink *link;

    if (first_at < 0 || first_at > now)
      break;
    net_prefetch_first (net);
    /* out of the queue before anything runs: handlers queue more */
    events_pop (net, &event);
    /* and where the next one's link is, while this one's handlers run */
    if (net->n_events && EVENT_AT (net, 0).endpoint <= net->endpoints->len)
      __builtin_prefetch (&g_ptr_array_index (net->endpoints,
              EVENT_AT (net, 0).endpoint - 1));
    net->stats.events++;
    link = net_endpoint (net, ev->endpoint);
    if (link && !link->closed) {
      swarm_link_ref (&link->base);
      switch (ev->kind) {
        case EVENT_DESCRIPTION:{
          gchar *text = g_strdup_printf (DESCRIPTION_PREFIX "%"
              G_GUINT64_FORMAT, link->id);

          if (link->base.callbacks.description)
            link->base.callbacks.description (&link->base, text,
                link->base.user_data);
          g_free (text);
          break;
        }
        case EVENT_CONNECTED:
          /* a handshake with a machine that vanished never ends */
          if (!link->host->down && !link->remote_host->down)
            link_connected (link);
          break;
        case EVENT_DATAGRAM:
          if (!link->host->down) {
            link_deliver (link, ev->datagram);
            ev->datagram = NULL;
          }
          break;
        case EVENT_REMOTE_CLOSED:
          link_close (link, g_error_new_literal (SWARM_LINK_ERROR,
                  SWARM_LINK_ERROR_CLOSED, _("The peer closed the link")),
              TRUE);
          break;
      }
      swarm_link_unref (&link->base);
    }
    if (ev->datagram)
      net_datagram_free (net, ev->datagram);
  }
  net_arm (net);
  return G_SOURCE_CONTINUE;
}

void
swarm_memory_net_dispatch (SwarmMemoryNet * net)
{
  /* the deliveries' source stays armed while they run, as nothing looks
   * at it meanwhile, and net_arm moves it once they are done */
  net_deliver_due (net);
}

/* One way from @from to @to, µs. */
static gint64
net_one_way_us (SwarmMemoryHost * from, SwarmMemoryHost * to)
{
  gint64 ms = from->config.delay_ms + to->config.delay_ms;

  if (from->config.relayed)
    ms += from->config.relay_delay_ms;
  if (to->config.relayed)
    ms += to->config.relay_delay_ms;
  return ms * 1000;
}

/* ---- the link ---------------------------------------------------------- */

/* Where @host counts the bytes it receives from @from. */
static guint64 *
host_received_from (SwarmMemoryHost * host, SwarmMemoryHost * from)
{
  guint64 *count = g_hash_table_lookup (host->received_from,
      GUINT_TO_POINTER (from->index));

  if (!count) {
    count = g_new0 (guint64, 1);
    g_hash_table_insert (host->received_from, GUINT_TO_POINTER (from->index),
        count);
  }
  return count;
}

static void
link_set_state (MemoryLink * link, SwarmLinkState state)
{
  if (link->base.state != state)
    GST_LOG ("memory link %" G_GUINT64_FORMAT ": state %d -> %d", link->id,
        link->base.state, state);
  link->base.state = state;
}

static void
link_close (MemoryLink * link, GError * error, gboolean notify)
{
  SwarmMemoryNet *net = link->host->net;

  if (link->closed) {
    g_clear_error (&error);
    return;
  }
  link->closed = TRUE;
  link_set_state (link, SWARM_LINK_STATE_CLOSED);
  if (link->timeout) {
    g_source_destroy (link->timeout);
    g_clear_pointer (&link->timeout, g_source_unref);
  }
  while (!g_queue_is_empty (&link->early))
    net_datagram_free (net, g_queue_pop_head (&link->early));
  /* the partner hears it as DTLS's close_notify, unless it closed first
   * (or our machine is gone) */
  if (link->remote_id && !error && !link->host->down)
    net_queue (net, swarm_clock_now_us (net->clock) +
        net_one_way_us (link->host, link->remote_host),
        EVENT_REMOTE_CLOSED, link->remote_id, NULL);
  if (notify && link->base.callbacks.closed)
    link->base.callbacks.closed (&link->base, error, link->base.user_data);
  g_clear_error (&error);
}

static void
link_connected (MemoryLink * link)
{
  link->base.ice_ready_us = link->base.connected_us =
      swarm_clock_now_us (link->base.clock);
  if (link->timeout) {
    g_source_destroy (link->timeout);
    g_clear_pointer (&link->timeout, g_source_unref);
  }
  link_set_state (link, SWARM_LINK_STATE_CONNECTED);
  if (link->base.callbacks.connected)
    link->base.callbacks.connected (&link->base, link->base.user_data);
  /* what the partner sent while we were still handshaking */
  while (!link->closed && link->base.state == SWARM_LINK_STATE_CONNECTED
      && !g_queue_is_empty (&link->early)) {
    link_deliver (link, g_queue_pop_head (&link->early));
  }
}

/* Takes @d: handed to the link's owner, or kept until the link is up. */
static void
link_deliver (MemoryLink * link, Datagram * d)
{
  SwarmMemoryNet *net = link->host->net;
  gsize len = d->len;
  const guint8 *data = d->data;

  if (link->base.state != SWARM_LINK_STATE_CONNECTED) {
    if (g_queue_get_length (&link->early) < EARLY_MAX)
      g_queue_push_tail (&link->early, d);
    else
      net_datagram_free (net, d);
    return;
  }
  link->base.stats.datagrams_received++;
  link->base.stats.bytes_received += len;
  /* who fed it: the stream's chunks (DATA, PARITY), not the talk */
  if (link->received_from && len >= 2 && (data[1] == SWARM_MSG_DATA
          || data[1] == SWARM_MSG_PARITY))
    *link->received_from += len;
  link->host->bytes_received += len;
  net->stats.delivered++;
  net->stats.bytes_delivered += len;
  if (link->base.callbacks.datagram)
    link->base.callbacks.datagram (&link->base, data, len,
        link->base.user_data);
  net_datagram_free (net, d);
}

static gboolean
link_on_timeout (gpointer data)
{
  MemoryLink *link = data;

  g_clear_pointer (&link->timeout, g_source_unref);
  GST_INFO ("memory link %" G_GUINT64_FORMAT ": not connected in time",
      link->id);
  swarm_link_ref (&link->base);
  link_close (link, g_error_new (SWARM_LINK_ERROR, SWARM_LINK_ERROR_TIMEOUT,
          _("No connection to the peer within %u ms"), link->timeout_ms),
      TRUE);
  swarm_link_unref (&link->base);
  return G_SOURCE_REMOVE;
}

/* What setting a link up costs, as measured in the NAT lab
 * (docs/lab.md's pairing table; docs/sim.md, "Calibration"). */
#define ICE_DTLS_ONE_WAY_DELAYS 9     /* the answerer; the offerer one more */
/* what libnice and GnuTLS take with no delay on the path (host/host on
 * one LAN: gathering 20 ms, connected 62-66 ms after the start) */
#define GATHERING_FIXED_US (20 * 1000)
#define ICE_DTLS_FIXED_US (40 * 1000)
#define DTLS_FLIGHTS 4
#define DTLS_RETRANSMIT_US (400 * 1000)

/* Both ends know each other: ICE and DTLS take their round trips, and a
 * lost handshake flight its retransmission timeout.  The offerer learns
 * of the pairing last (it applies the answer), so it schedules both ends. */
static void
link_schedule_connect (MemoryLink * link)
{
  SwarmMemoryNet *net = link->host->net;
  gint64 now = swarm_clock_now_us (net->clock);
  gint64 owd = net_one_way_us (link->host, link->remote_host);
  gint64 at = now + ICE_DTLS_FIXED_US + ICE_DTLS_ONE_WAY_DELAYS * owd;
  guint i;

  for (i = 0; i < DTLS_FLIGHTS; i++)
    if (g_rand_double (net->rand) * 100.0 < link->host->config.loss_pct
        || g_rand_double (net->rand) * 100.0 <
        link->remote_host->config.loss_pct)
      at += DTLS_RETRANSMIT_US;
  link->base.checks_us = now;
  link->connect_scheduled = TRUE;
  net_queue (net, at, EVENT_CONNECTED, link->remote_id, NULL);
  net_queue (net, at + owd, EVENT_CONNECTED, link->id, NULL);
}

/* Gathering: a round trip to a STUN server on the Internet (past the
 * host's access delay, both ways); a relayed host also allocates on its
 * TURN server, a second round trip (with the relay's own delay). */
static gint64
link_gathering_us (MemoryLink * link)
{
  const SwarmMemoryHostConfig *c = &link->host->config;
  gint64 rtt_us = 2 * (gint64) c->delay_ms * 1000;

  if (c->relayed)
    return GATHERING_FIXED_US + 2 * rtt_us +
        2 * (gint64) c->relay_delay_ms * 1000;
  return GATHERING_FIXED_US + rtt_us;
}

static gboolean
memory_link_start (SwarmLink * base, GError ** error)
{
  MemoryLink *link = (MemoryLink *) base;
  SwarmMemoryNet *net = link->host->net;

  g_return_val_if_fail (!link->started, FALSE);
  link->started = TRUE;
  link->base.started_us = swarm_clock_now_us (net->clock);
  link_set_state (link, link->remote_id ? SWARM_LINK_STATE_CONNECTING :
      SWARM_LINK_STATE_GATHERING);
  /* the description comes once gathered, as it does from libnice */
  net_queue (net, link->base.started_us + link_gathering_us (link),
      EVENT_DESCRIPTION, link->id, NULL);
  return TRUE;
}

static gboolean
memory_link_set_remote_description (SwarmLink * base, const gchar * sdp,
    GError ** error)
{
  MemoryLink *link = (MemoryLink *) base;
  SwarmMemoryNet *net = link->host->net;
  MemoryLink *remote;
  guint64 id = 0;
  gchar *end = NULL;

  if (link->remote_id) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The peer's connection description was already given"));
    return FALSE;
  }
  if (g_str_has_prefix (sdp, DESCRIPTION_PREFIX))
    id = g_ascii_strtoull (sdp + strlen (DESCRIPTION_PREFIX), &end, 10);
  remote = net_endpoint (net, id);
  if (!remote || !end || *end || remote == link || remote->closed
      || (remote->remote_id != 0 && remote->remote_id != link->id)) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The peer's connection description is malformed (%s)"),
        _("no such endpoint"));
    return FALSE;
  }
  link->remote_id = remote->id;
  link->remote_host = remote->host;
  link->remote_port = remote->port;
  link->received_from = host_received_from (link->host, remote->host);
  if (link->base.role == SWARM_LINK_ANSWERER) {
    /* the offer: share its secret (a DTLS handshake would agree one) */
    memcpy (link->secret, remote->secret, SECRET_LEN);
    if (link->started)
      link_set_state (link, SWARM_LINK_STATE_CONNECTING);
  } else {
    link_set_state (link, SWARM_LINK_STATE_CONNECTING);
    link_schedule_connect (link);
  }
  return TRUE;
}

static gboolean
memory_link_send (SwarmLink * base, const guint8 * data, gsize len)
{
  MemoryLink *link = (MemoryLink *) base;
  SwarmMemoryHost *host = link->host;
  SwarmMemoryNet *net = host->net;
  SwarmMemoryHost *to = link->remote_host;
  gint64 now, leave_us;
  guint queue_ms;

  if (link->base.state != SWARM_LINK_STATE_CONNECTED
      || len > SWARM_WIRE_MAX_DATAGRAM)
    return FALSE;
  if (host->down)
    return TRUE;                 /* a machine that is gone sends nothing */
  now = swarm_clock_now_us (net->clock);
  net->stats.datagrams++;
  /* the upload queue: drained at the host's rate, tail-dropped */
  leave_us = MAX (now, host->upload_free_us);
  if (host->config.upload_kbps) {
    queue_ms = host->config.queue_ms ? host->config.queue_ms :
        DEFAULT_QUEUE_MS;
    if (leave_us - now > (gint64) queue_ms * 1000) {
      net->stats.queue_drops++;
      link->base.stats.records_dropped++;
      return TRUE;               /* gone, as a datagram the NIC took */
    }
    leave_us += (gint64) len *8 * 1000 / host->config.upload_kbps;
    host->upload_free_us = leave_us;
  }
  link->base.stats.datagrams_sent++;
  link->base.stats.bytes_sent += len;
  host->bytes_sent += len;
  if (g_rand_double (net->rand) * 100.0 < host->config.loss_pct
      || g_rand_double (net->rand) * 100.0 < to->config.loss_pct) {
    net->stats.lost++;
    return TRUE;
  }
  net_queue (net, leave_us + net_one_way_us (host, to), EVENT_DATAGRAM,
      link->remote_id, net_datagram_new (net, data, len));
  return TRUE;
}

static void
memory_link_close (SwarmLink * base)
{
  link_close ((MemoryLink *) base, NULL, TRUE);
}

static void
memory_link_finalize (SwarmLink * base)
{
  MemoryLink *link = (MemoryLink *) base;

  link_close (link, NULL, FALSE);
  g_ptr_array_index (link->host->net->endpoints, link->id - 1) = NULL;
  link->host->net->n_endpoints--;
}

static const gchar *
candidate_type (SwarmMemoryHost * host)
{
  return host->config.relayed ? "relay" : "host";
}

static const gchar *
memory_link_get_local_candidate_type (SwarmLink * base)
{
  MemoryLink *link = (MemoryLink *) base;

  return link->base.state == SWARM_LINK_STATE_CONNECTED ?
      candidate_type (link->host) : NULL;
}

static const gchar *
memory_link_get_remote_candidate_type (SwarmLink * base)
{
  MemoryLink *link = (MemoryLink *) base;

  return link->base.state == SWARM_LINK_STATE_CONNECTED ?
      candidate_type (link->remote_host) : NULL;
}

static gchar *
memory_link_get_remote_address (SwarmLink * base)
{
  MemoryLink *link = (MemoryLink *) base;

  if (link->base.state != SWARM_LINK_STATE_CONNECTED)
    return NULL;
  return g_strdup_printf ("%s:%u", link->remote_host->address,
      link->remote_port);
}

/* Both ends derive the same bytes for a label from their shared secret,
 * as RFC 5705 exporters do from a DTLS session. */
static gboolean
memory_link_export_keying_material (SwarmLink * base, const gchar * label,
    guint8 * out, gsize len)
{
  MemoryLink *link = (MemoryLink *) base;
  gsize done = 0;
  guint8 counter = 0;

  if (link->closed || link->base.state != SWARM_LINK_STATE_CONNECTED)
    return FALSE;
  while (done < len) {
    GHmac *hmac = g_hmac_new (G_CHECKSUM_SHA256, link->secret, SECRET_LEN);
    guint8 block[32];
    gsize block_len = sizeof block;

    g_hmac_update (hmac, (const guchar *) label, strlen (label));
    g_hmac_update (hmac, &counter, 1);
    g_hmac_get_digest (hmac, block, &block_len);
    g_hmac_unref (hmac);
    memcpy (out + done, block, MIN (block_len, len - done));
    done += MIN (block_len, len - done);
    counter++;
  }
  return TRUE;
}

static const SwarmLinkClass memory_link_class = {
  .name = "memory",
  .start = memory_link_start,
  .set_remote_description = memory_link_set_remote_description,
  .send = memory_link_send,
  .close = memory_link_close,
  .finalize = memory_link_finalize,
  .get_local_candidate_type = memory_link_get_local_candidate_type,
  .get_remote_candidate_type = memory_link_get_remote_candidate_type,
  .get_remote_address = memory_link_get_remote_address,
  .export_keying_material = memory_link_export_keying_material,
};

static SwarmLink *
memory_link_new (GMainContext * context, SwarmLinkRole role,
    const SwarmLinkConfig * config, SwarmDtlsCredentials * credentials,
    const SwarmLinkCallbacks * callbacks, gpointer user_data,
    gpointer factory_data)
{
  SwarmMemoryHost *host = factory_data;
  SwarmMemoryNet *net = host->net;
  MemoryLink *link = g_new0 (MemoryLink, 1);
  guint i;

  swarm_link_init_base (&link->base, &memory_link_class,
      context ? context : net->context, role, config, callbacks, user_data);
  if (link->base.clock != net->clock) {
    swarm_clock_unref (link->base.clock);
    link->base.clock = swarm_clock_ref (net->clock);
  }
  link->host = host;
  link->id = ++net->next_endpoint;
  /* events name it in 32 bits */
  g_assert (link->id <= G_MAXUINT32);
  link->port = host->next_port++;
  if (host->next_port > 65535)
    host->next_port = 1024;
  for (i = 0; i < SECRET_LEN; i++)
    link->secret[i] = (guint8) g_rand_int (net->rand);
  g_queue_init (&link->early);
  g_ptr_array_add (net->endpoints, link);
  net->n_endpoints++;
  link->timeout_ms = swarm_link_config_connect_timeout_ms (config);
  link->timeout = swarm_clock_timeout_source_new (net->clock,
      link->timeout_ms);
  swarm_clock_source_set_callback (net->clock, link->timeout, link_on_timeout,
      link);
  g_source_attach (link->timeout, link->base.context);
  return &link->base;
}

/* ---- the net ----------------------------------------------------------- */

SwarmMemoryNet *
swarm_memory_net_new (SwarmClock * clock, GMainContext * context,
    guint32 seed)
{
  SwarmMemoryNet *net = g_new0 (SwarmMemoryNet, 1);

  net->clock = swarm_clock_ref (clock);
  net->context = g_main_context_ref (context);
  net->rand = g_rand_new_with_seed (seed);
  net->hosts = g_ptr_array_new ();
  net->endpoints = g_ptr_array_new ();
  net->deliver_source = swarm_clock_deadline_source_new (clock);
  g_source_set_callback (net->deliver_source, net_deliver_due, net, NULL);
  g_source_attach (net->deliver_source, context);
  return net;
}

void
swarm_memory_net_free (SwarmMemoryNet * net)
{
  guint i;

  if (!net)
    return;
  /* links outliving the net would deliver into freed memory */
  g_warn_if_fail (net->n_endpoints == 0);
  g_source_destroy (net->deliver_source);
  g_source_unref (net->deliver_source);
  for (i = 0; i < net->n_events; i++)
    g_free (EVENT_AT (net, i).datagram);
  while (net->spare) {
    Datagram *d = net->spare;

    net->spare = d->next_spare;
    g_free (d);
  }
  while (net->spare_small) {
    Datagram *d = net->spare_small;

    net->spare_small = d->next_spare;
    g_free (d);
  }
  g_aligned_free (net->events_block);
  g_ptr_array_unref (net->endpoints);
  for (i = 0; i < net->hosts->len; i++) {
    SwarmMemoryHost *host = g_ptr_array_index (net->hosts, i);

    g_free (host->address);
    g_hash_table_destroy (host->received_from);
    g_free (host);
  }
  g_ptr_array_unref (net->hosts);
  g_rand_free (net->rand);
  g_main_context_unref (net->context);
  swarm_clock_unref (net->clock);
  g_free (net);
}

SwarmMemoryHost *
swarm_memory_net_add_host (SwarmMemoryNet * net,
    const SwarmMemoryHostConfig * config)
{
  SwarmMemoryHost *host = g_new0 (SwarmMemoryHost, 1);
  guint n = net->hosts->len + 1;

  host->net = net;
  host->index = net->hosts->len;
  if (config)
    host->config = *config;
  host->address = g_strdup_printf ("10.%u.%u.%u", (n >> 16) & 0xff,
      (n >> 8) & 0xff, n & 0xff);
  host->next_port = 40000;
  host->factory.new_link = memory_link_new;
  host->factory.data = host;
  host->factory.without_dtls = TRUE;
  host->received_from = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_ptr_array_add (net->hosts, host);
  return host;
}

const SwarmLinkFactory *
swarm_memory_host_get_factory (SwarmMemoryHost * host)
{
  return &host->factory;
}

const gchar *
swarm_memory_host_get_address (SwarmMemoryHost * host)
{
  return host->address;
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

guint64
swarm_memory_host_get_bytes_sent (SwarmMemoryHost * host)
{
  return host->bytes_sent;
}

guint64
swarm_memory_host_get_bytes_received (SwarmMemoryHost * host)
{
  return host->bytes_received;
}

guint
swarm_memory_host_get_index (SwarmMemoryHost * host)
{
  return host->index;
}

void
swarm_memory_host_foreach_sender (SwarmMemoryHost * host,
    SwarmMemorySenderFunc func, gpointer data)
{
  GHashTableIter iter;
  gpointer key, value;
  GArray *senders = g_array_new (FALSE, FALSE, sizeof (guint));
  guint i;

  /* by host index, not in hash order: the same every run */
  g_hash_table_iter_init (&iter, host->received_from);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    guint index = GPOINTER_TO_UINT (key);

    g_array_append_val (senders, index);
  }
  g_array_sort (senders, (GCompareFunc) compare_uint);
  for (i = 0; i < senders->len; i++) {
    guint index = g_array_index (senders, guint, i);

    value = g_hash_table_lookup (host->received_from,
        GUINT_TO_POINTER (index));
    func (g_ptr_array_index (host->net->hosts, index), *(guint64 *) value,
        data);
  }
  g_array_unref (senders);
}

void
swarm_memory_host_set_down (SwarmMemoryHost * host)
{
  host->down = TRUE;
}

void
swarm_memory_net_get_stats (SwarmMemoryNet * net, SwarmMemoryNetStats * stats)
{
  *stats = net->stats;
}

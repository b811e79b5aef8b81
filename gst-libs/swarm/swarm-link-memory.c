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

typedef struct _NetShard NetShard;

struct _SwarmMemoryHost {
  SwarmMemoryNet *net;
  NetShard *shard;               /* the part of the net it lives in */
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
  guint32 len;
  guint32 shard;                 /* whose spares it goes back to */
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

/* A part of the net, with its own clock: the simulator may run the
 * participants in parts (shards), each through windows of virtual time
 * shorter than the least one-way delay between two hosts, so that what a
 * shard sends another within a window cannot be due before the window's
 * end.  Every event is served by the shard of the endpoint it goes to;
 * one bound for another shard waits in that shard's inbox until
 * swarm_memory_net_exchange, between two windows.  A shard's state is
 * touched by its own participants' thread only. */
struct _NetShard {
  SwarmMemoryNet *net;
  guint index;
  SwarmClock *clock;
  GMainContext *context;
  GRand *rand;
  /* MemoryLink (borrowed) by local number, NULL once gone: ids are handed
   * out in order (id - 1 = number * shards + shard), and every datagram
   * looks its endpoint up */
  GPtrArray *endpoints;
  guint n_endpoints;             /* not NULL there */
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
  /* other shards' datagrams delivered here, by shard and the window's
   * parity, taken back by their shard at the start of the next window: a
   * shard that receives more than it sends would keep a growing pile of
   * spares, and its sender make new ones */
  Datagram **returns;
  SwarmMemoryNetStats stats;
  /* Event bound here from shard i in a window of parity p, at 2 i + p:
   * written by shard i's thread during that window, taken in by this
   * shard's at the start of the next (its order set then), while the
   * other parity fills */
  GArray **inbox;
};

struct _SwarmMemoryNet {
  GPtrArray *hosts;              /* SwarmMemoryHost, owned */
  NetShard *shards;
  guint n_shards;
  /* the two least one-way access delays (µs) of any host: their sum is
   * the least delay of any path */
  gint64 least_access_us[2];
  guint64 window;                /* swarm_memory_net_next_window's count */
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
#define EVENT_AT(sh, i) ((sh)->events[i])
#define EVENTS_ALIGN (EVENTS_ARITY * sizeof (Event))

G_STATIC_ASSERT (EVENTS_ALIGN == 128);

/* Room for @size events, the children of each node (from index 1, four at
 * a time) on a boundary of theirs. */
static void
events_grow (NetShard * sh, guint size)
{
  gpointer block = g_aligned_alloc (size + EVENTS_ARITY, sizeof (Event),
      EVENTS_ALIGN);
  Event *events = (Event *) block + EVENTS_ARITY - 1;

  if (sh->n_events)
    memcpy (events, sh->events, sh->n_events * sizeof (Event));
  g_aligned_free (sh->events_block);
  sh->events_block = block;
  sh->events = events;
  sh->events_size = size;
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
events_first_at (NetShard * sh)
{
  return sh->n_events ? EVENT_AT (sh, 0).at_us : -1;
}

static void
events_push (NetShard * sh, const Event * ev)
{
  guint i = sh->n_events;

  if (i == sh->events_size)
    events_grow (sh, MAX (1024, 2 * sh->events_size));
  sh->n_events++;
  while (i > 0 && event_before (ev, &EVENT_AT (sh, (i - 1) / EVENTS_ARITY))) {
    EVENT_AT (sh, i) = EVENT_AT (sh, (i - 1) / EVENTS_ARITY);
    i = (i - 1) / EVENTS_ARITY;
  }
  EVENT_AT (sh, i) = *ev;
}

/* Takes the first event out into @first. */
static void
events_pop (NetShard * sh, Event * first)
{
  Event last = EVENT_AT (sh, sh->n_events - 1);
  guint n = sh->n_events - 1, i = 0;

  *first = EVENT_AT (sh, 0);
  sh->n_events = n;
  if (n == 0)
    return;
  for (;;) {
    guint child = EVENTS_ARITY * i + 1, k, best;

    if (child >= n)
      break;
    best = child;
    for (k = child + 1; k < child + EVENTS_ARITY && k < n; k++)
      if (event_before (&EVENT_AT (sh, k), &EVENT_AT (sh, best)))
        best = k;
    if (!event_before (&EVENT_AT (sh, best), &last))
      break;
    EVENT_AT (sh, i) = EVENT_AT (sh, best);
    i = best;
  }
  EVENT_AT (sh, i) = last;
}

static void
net_arm (NetShard * sh)
{
  swarm_clock_source_set_deadline (sh->clock, sh->deliver_source,
      events_first_at (sh));
}

/* The shard an endpoint id lives in. */
static guint
endpoint_shard (SwarmMemoryNet * net, guint64 id)
{
  return (id - 1) % net->n_shards;
}

/* Queues an event for @endpoint, from a participant of shard @sh: in
 * @sh's own queue, or in the inbox of the endpoint's shard (the caller
 * vouches that it is due after the window, see NetShard). */
static void
net_queue (NetShard * sh, gint64 at_us, EventKind kind,
    guint32 endpoint, Datagram * datagram)
{
  SwarmMemoryNet *net = sh->net;
  Event ev = { at_us, 0, datagram, endpoint, kind };
  gboolean first;
  guint to = endpoint_shard (net, endpoint);

  if (to != sh->index) {
    g_array_append_val (net->shards[to].inbox[2 * sh->index +
            (net->window & 1)], ev);
    return;
  }
  ev.order = sh->next_order++;
  first = sh->n_events == 0 || event_before (&ev, &EVENT_AT (sh, 0));

  events_push (sh, &ev);
  /* the deadline moves only for a new first */
  if (first)
    net_arm (sh);
}

static Datagram **
net_spares (NetShard * sh, gsize len)
{
  return len <= DATAGRAM_SMALL ? &sh->spare_small : &sh->spare;
}

static Datagram *
net_datagram_new (NetShard * sh, const guint8 * data, gsize len)
{
  Datagram **spares = net_spares (sh, len);
  Datagram *d = *spares;

  if (d)
    *spares = d->next_spare;
  else
    d = g_malloc (sizeof (Datagram) + (len <= DATAGRAM_SMALL ?
            DATAGRAM_SMALL : SWARM_WIRE_MAX_DATAGRAM));
  d->len = len;
  d->shard = sh->index;
  memcpy (d->data, data, len);
  return d;
}

static void
net_datagram_free (NetShard * sh, Datagram * d)
{
  Datagram **spares = d->shard == sh->index ? net_spares (sh, d->len) :
      &sh->returns[2 * d->shard + (sh->net->window & 1)];

  d->next_spare = *spares;
  *spares = d;
}

/* Endpoint @id if it is one of @sh's and still there. */
static MemoryLink *
net_endpoint (NetShard * sh, guint64 id)
{
  guint64 number;

  if (id == 0 || endpoint_shard (sh->net, id) != sh->index)
    return NULL;
  number = (id - 1) / sh->net->n_shards;
  if (number >= sh->endpoints->len)
    return NULL;
  return g_ptr_array_index (sh->endpoints, number);
}

/* Asks for the cache lines a delivery to the first event's endpoint
 * reads (see MemoryLink), while the handlers of the one before run or the
 * heap is sifted: they are misses, one link among thousands. */
static void
net_prefetch_first (NetShard * sh)
{
  MemoryLink *link;

  if (!sh->n_events)
    return;
  link = net_endpoint (sh, EVENT_AT (sh, 0).endpoint);
  if (link) {
    __builtin_prefetch (link);
    __builtin_prefetch ((guint8 *) link + 64);
    __builtin_prefetch ((guint8 *) link + 128);
    __builtin_prefetch (&link->received_from);
  }
}

static void link_connected (MemoryLink * link);
static gchar *link_description (MemoryLink * link);
static void link_deliver (MemoryLink * link, Datagram * d);
static void link_close (MemoryLink * link, GError * error, gboolean notify);

static gboolean
net_deliver_due (gpointer data)
{
  NetShard *sh = data;
  gint64 now = swarm_clock_now_us (sh->clock);

  for (;;) {
    gint64 first_at = events_first_at (sh);
    Event event, *ev = &event;
    MemoryLink *link;

    if (first_at < 0 || first_at > now)
      break;
    net_prefetch_first (sh);
    /* out of the queue before anything runs: handlers queue more */
    events_pop (sh, &event);
    /* and where the next one's link is, while this one's handlers run */
    if (sh->n_events) {
      guint64 number = (EVENT_AT (sh, 0).endpoint - 1) / sh->net->n_shards;

      if (number < sh->endpoints->len)
        __builtin_prefetch (&g_ptr_array_index (sh->endpoints, number));
    }
    sh->stats.events++;
    link = net_endpoint (sh, ev->endpoint);
    if (link && !link->closed) {
      swarm_link_ref (&link->base);
      switch (ev->kind) {
        case EVENT_DESCRIPTION:{
          gchar *text = link_description (link);

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
      net_datagram_free (sh, ev->datagram);
  }
  net_arm (sh);
  return G_SOURCE_CONTINUE;
}

void
swarm_memory_net_dispatch (SwarmMemoryNet * net)
{
  swarm_memory_net_dispatch_shard (net, 0);
}

void
swarm_memory_net_dispatch_shard (SwarmMemoryNet * net, guint shard)
{
  g_return_if_fail (shard < net->n_shards);
  /* the deliveries' source stays armed while they run, as nothing looks
   * at it meanwhile, and net_arm moves it once they are done */
  net_deliver_due (&net->shards[shard]);
}

void
swarm_memory_net_next_window (SwarmMemoryNet * net)
{
  net->window++;
}

void
swarm_memory_net_take_in (SwarmMemoryNet * net, guint shard)
{
  NetShard *sh = &net->shards[shard];
  /* what was queued in the window before this one */
  guint last = (net->window + 1) & 1;
  gint64 first_before = events_first_at (sh);
  guint from, i;

  g_return_if_fail (shard < net->n_shards);
  /* in the order of the shards, then as queued: the same every run */
  for (from = 0; from < net->n_shards; from++) {
    GArray *inbox = sh->inbox[2 * from + last];

    for (i = 0; i < inbox->len; i++) {
      Event *ev = &g_array_index (inbox, Event, i);

      ev->order = sh->next_order++;
      events_push (sh, ev);
    }
    g_array_set_size (inbox, 0);
  }
  if (events_first_at (sh) != first_before)
    net_arm (sh);
  /* our datagrams the others delivered then */
  for (from = 0; from < net->n_shards; from++) {
    Datagram **returned = &net->shards[from].returns[2 * shard + last];

    while (*returned) {
      Datagram *d = *returned;

      *returned = d->next_spare;
      net_datagram_free (sh, d);
    }
  }
}

void
swarm_memory_net_exchange (SwarmMemoryNet * net)
{
  guint i;

  swarm_memory_net_next_window (net);
  for (i = 0; i < net->n_shards; i++)
    swarm_memory_net_take_in (net, i);
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
  NetShard *sh = link->host->shard;

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
    net_datagram_free (sh, g_queue_pop_head (&link->early));
  /* the partner hears it as DTLS's close_notify, unless it closed first
   * (or our machine is gone) */
  if (link->remote_id && !error && !link->host->down)
    net_queue (sh, swarm_clock_now_us (sh->clock) +
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
  NetShard *sh = link->host->shard;
  gsize len = d->len;
  const guint8 *data = d->data;

  if (link->base.state != SWARM_LINK_STATE_CONNECTED) {
    if (g_queue_get_length (&link->early) < EARLY_MAX)
      g_queue_push_tail (&link->early, d);
    else
      net_datagram_free (sh, d);
    return;
  }
  link->base.stats.datagrams_received++;
  link->base.stats.bytes_received += len;
  /* who fed it: the stream's chunks (DATA, PARITY), not the talk */
  if (link->received_from && len >= 2 && (data[1] == SWARM_MSG_DATA
          || data[1] == SWARM_MSG_PARITY))
    *link->received_from += len;
  link->host->bytes_received += len;
  sh->stats.delivered++;
  sh->stats.bytes_delivered += len;
  sh->stats.delivered_by_type[len >= 2 && data[1] < SWARM_MEMORY_NET_TYPES ?
          data[1] : 0]++;
  if (link->base.callbacks.datagram)
    link->base.callbacks.datagram (&link->base, data, len,
        link->base.user_data);
  net_datagram_free (sh, d);
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
  NetShard *sh = link->host->shard;
  gint64 now = swarm_clock_now_us (sh->clock);
  gint64 owd = net_one_way_us (link->host, link->remote_host);
  gint64 at = now + ICE_DTLS_FIXED_US + ICE_DTLS_ONE_WAY_DELAYS * owd;
  guint i;

  for (i = 0; i < DTLS_FLIGHTS; i++)
    if (g_rand_double (sh->rand) * 100.0 < link->host->config.loss_pct
        || g_rand_double (sh->rand) * 100.0 <
        link->remote_host->config.loss_pct)
      at += DTLS_RETRANSMIT_US;
  link->base.checks_us = now;
  link->connect_scheduled = TRUE;
  net_queue (sh, at, EVENT_CONNECTED, link->remote_id, NULL);
  net_queue (sh, at + owd, EVENT_CONNECTED, link->id, NULL);
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
  NetShard *sh = link->host->shard;

  g_return_val_if_fail (!link->started, FALSE);
  link->started = TRUE;
  link->base.started_us = swarm_clock_now_us (sh->clock);
  link_set_state (link, link->remote_id ? SWARM_LINK_STATE_CONNECTING :
      SWARM_LINK_STATE_GATHERING);
  /* the description comes once gathered, as it does from libnice */
  net_queue (sh, link->base.started_us + link_gathering_us (link),
      EVENT_DESCRIPTION, link->id, NULL);
  return TRUE;
}

/* A link's description: "swarm-memory/1 ID" and, where the net has
 * several shards, " HOST PORT SECRET" (the host's index, the port, the
 * secret in hex): a partner in another shard pairs with what it reads
 * there, since it may not look at our link from its thread. */
static gchar *
link_description (MemoryLink * link)
{
  GString *text = g_string_new (NULL);
  guint i;

  g_string_printf (text, DESCRIPTION_PREFIX "%" G_GUINT64_FORMAT, link->id);
  if (link->host->net->n_shards > 1) {
    g_string_append_printf (text, " %u %u ", link->host->index, link->port);
    for (i = 0; i < SECRET_LEN; i++)
      g_string_append_printf (text, "%02x", link->secret[i]);
  }
  return g_string_free (text, FALSE);
}

/* What a description tells of its endpoint. */
typedef struct {
  guint64 id;
  SwarmMemoryHost *host;         /* NULL: the description has only the id */
  guint port;
  guint8 secret[SECRET_LEN];
} Pairing;

static gboolean
parse_description (SwarmMemoryNet * net, const gchar * sdp, Pairing * out)
{
  const gchar *p;
  gchar *end;
  guint64 host, port;
  guint i;

  memset (out, 0, sizeof *out);
  if (!g_str_has_prefix (sdp, DESCRIPTION_PREFIX))
    return FALSE;
  p = sdp + strlen (DESCRIPTION_PREFIX);
  if (!g_ascii_isdigit (*p))
    return FALSE;
  out->id = g_ascii_strtoull (p, &end, 10);
  if (out->id == 0 || out->id > G_MAXUINT32)
    return FALSE;
  if (*end == '\0')
    return TRUE;
  if (*end != ' ' || !g_ascii_isdigit (end[1]))
    return FALSE;
  host = g_ascii_strtoull (end + 1, &end, 10);
  if (*end != ' ' || !g_ascii_isdigit (end[1]) || host >= net->hosts->len)
    return FALSE;
  port = g_ascii_strtoull (end + 1, &end, 10);
  if (*end != ' ' || port > 65535 || strlen (end + 1) != 2 * SECRET_LEN)
    return FALSE;
  for (i = 0; i < SECRET_LEN; i++) {
    gint hi = g_ascii_xdigit_value (end[1 + 2 * i]);
    gint lo = g_ascii_xdigit_value (end[2 + 2 * i]);

    if (hi < 0 || lo < 0)
      return FALSE;
    out->secret[i] = (guint8) (hi << 4 | lo);
  }
  out->host = g_ptr_array_index (net->hosts, host);
  out->port = (guint) port;
  return TRUE;
}

static gboolean
memory_link_set_remote_description (SwarmLink * base, const gchar * sdp,
    GError ** error)
{
  MemoryLink *link = (MemoryLink *) base;
  NetShard *sh = link->host->shard;
  Pairing pairing;
  gboolean found;

  if (link->remote_id) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The peer's connection description was already given"));
    return FALSE;
  }
  found = parse_description (sh->net, sdp, &pairing);
  if (found && endpoint_shard (sh->net, pairing.id) == sh->index) {
    MemoryLink *remote = net_endpoint (sh, pairing.id);

    /* one of ours: as it is now */
    found = remote && remote != link && !remote->closed
        && (remote->remote_id == 0 || remote->remote_id == link->id);
    if (found) {
      pairing.host = remote->host;
      pairing.port = remote->port;
      memcpy (pairing.secret, remote->secret, SECRET_LEN);
    }
  } else if (found) {
    /* another shard's, as its description says: whether it is still
     * there shows as a real link's would, by connecting or not */
    found = pairing.host != NULL;
  }
  if (!found) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The peer's connection description is malformed (%s)"),
        _("no such endpoint"));
    return FALSE;
  }
  link->remote_id = pairing.id;
  link->remote_host = pairing.host;
  link->remote_port = pairing.port;
  link->received_from = host_received_from (link->host, pairing.host);
  if (link->base.role == SWARM_LINK_ANSWERER) {
    /* the offer: share its secret (a DTLS handshake would agree one) */
    memcpy (link->secret, pairing.secret, SECRET_LEN);
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
  NetShard *sh = host->shard;
  SwarmMemoryHost *to = link->remote_host;
  gint64 now, leave_us;
  guint queue_ms;

  if (link->base.state != SWARM_LINK_STATE_CONNECTED
      || len > SWARM_WIRE_MAX_DATAGRAM)
    return FALSE;
  if (host->down)
    return TRUE;                 /* a machine that is gone sends nothing */
  now = swarm_clock_now_us (sh->clock);
  sh->stats.datagrams++;
  /* the upload queue: drained at the host's rate, tail-dropped */
  leave_us = MAX (now, host->upload_free_us);
  if (host->config.upload_kbps) {
    queue_ms = host->config.queue_ms ? host->config.queue_ms :
        DEFAULT_QUEUE_MS;
    if (leave_us - now > (gint64) queue_ms * 1000) {
      sh->stats.queue_drops++;
      link->base.stats.records_dropped++;
      return TRUE;               /* gone, as a datagram the NIC took */
    }
    leave_us += (gint64) len *8 * 1000 / host->config.upload_kbps;
    host->upload_free_us = leave_us;
  }
  link->base.stats.datagrams_sent++;
  link->base.stats.bytes_sent += len;
  host->bytes_sent += len;
  if (g_rand_double (sh->rand) * 100.0 < host->config.loss_pct
      || g_rand_double (sh->rand) * 100.0 < to->config.loss_pct) {
    sh->stats.lost++;
    return TRUE;
  }
  net_queue (sh, leave_us + net_one_way_us (host, to), EVENT_DATAGRAM,
      link->remote_id, net_datagram_new (sh, data, len));
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
  NetShard *sh = link->host->shard;

  link_close (link, NULL, FALSE);
  g_ptr_array_index (sh->endpoints, (link->id - 1) / sh->net->n_shards) =
      NULL;
  sh->n_endpoints--;
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
  NetShard *sh = host->shard;
  MemoryLink *link = g_new0 (MemoryLink, 1);
  guint i;

  swarm_link_init_base (&link->base, &memory_link_class,
      context ? context : sh->context, role, config, callbacks, user_data);
  if (link->base.clock != sh->clock) {
    swarm_clock_unref (link->base.clock);
    link->base.clock = swarm_clock_ref (sh->clock);
  }
  link->host = host;
  link->id = (guint64) sh->endpoints->len * sh->net->n_shards + sh->index + 1;
  /* events name it in 32 bits */
  g_assert (link->id <= G_MAXUINT32);
  link->port = host->next_port++;
  if (host->next_port > 65535)
    host->next_port = 1024;
  for (i = 0; i < SECRET_LEN; i++)
    link->secret[i] = (guint8) g_rand_int (sh->rand);
  g_queue_init (&link->early);
  g_ptr_array_add (sh->endpoints, link);
  sh->n_endpoints++;
  link->timeout_ms = swarm_link_config_connect_timeout_ms (config);
  link->timeout = swarm_clock_timeout_source_new (sh->clock,
      link->timeout_ms);
  swarm_clock_source_set_callback (sh->clock, link->timeout, link_on_timeout,
      link);
  g_source_attach (link->timeout, link->base.context);
  return &link->base;
}

/* ---- the net ----------------------------------------------------------- */

SwarmMemoryNet *
swarm_memory_net_new (SwarmClock * clock, GMainContext * context,
    guint32 seed)
{
  return swarm_memory_net_new_sharded (&clock, &context, 1, seed);
}

SwarmMemoryNet *
swarm_memory_net_new_sharded (SwarmClock ** clocks, GMainContext ** contexts,
    guint n_shards, guint32 seed)
{
  SwarmMemoryNet *net = g_new0 (SwarmMemoryNet, 1);
  guint i, j;

  g_return_val_if_fail (n_shards >= 1, NULL);
  net->hosts = g_ptr_array_new ();
  net->n_shards = n_shards;
  net->shards = g_new0 (NetShard, n_shards);
  net->least_access_us[0] = net->least_access_us[1] = G_MAXINT64;
  for (i = 0; i < n_shards; i++) {
    NetShard *sh = &net->shards[i];
    /* shard 0 draws as the net of one shard always has */
    guint32 shard_seed[] = { seed, i };

    sh->net = net;
    sh->index = i;
    sh->clock = swarm_clock_ref (clocks[i]);
    sh->context = g_main_context_ref (contexts[i]);
    sh->rand = i == 0 ? g_rand_new_with_seed (seed) :
        g_rand_new_with_seed_array (shard_seed, G_N_ELEMENTS (shard_seed));
    sh->endpoints = g_ptr_array_new ();
    sh->inbox = g_new0 (GArray *, 2 * n_shards);
    sh->returns = g_new0 (Datagram *, 2 * n_shards);
    for (j = 0; j < 2 * n_shards; j++)
      sh->inbox[j] = g_array_new (FALSE, FALSE, sizeof (Event));
    sh->deliver_source = swarm_clock_deadline_source_new (sh->clock);
    g_source_set_callback (sh->deliver_source, net_deliver_due, sh, NULL);
    g_source_attach (sh->deliver_source, sh->context);
  }
  return net;
}

static void
free_datagrams (Datagram * d)
{
  while (d) {
    Datagram *next = d->next_spare;

    g_free (d);
    d = next;
  }
}

void
swarm_memory_net_free (SwarmMemoryNet * net)
{
  guint i, j, k;

  if (!net)
    return;
  for (i = 0; i < net->n_shards; i++) {
    NetShard *sh = &net->shards[i];

    /* links outliving the net would deliver into freed memory */
    g_warn_if_fail (sh->n_endpoints == 0);
    g_source_destroy (sh->deliver_source);
    g_source_unref (sh->deliver_source);
    for (j = 0; j < sh->n_events; j++)
      g_free (EVENT_AT (sh, j).datagram);
    for (j = 0; j < 2 * net->n_shards; j++) {
      for (k = 0; k < sh->inbox[j]->len; k++)
        g_free (g_array_index (sh->inbox[j], Event, k).datagram);
      g_array_unref (sh->inbox[j]);
    }
    g_free (sh->inbox);
    for (j = 0; j < 2 * net->n_shards; j++)
      free_datagrams (sh->returns[j]);
    g_free (sh->returns);
    free_datagrams (sh->spare);
    free_datagrams (sh->spare_small);
    g_aligned_free (sh->events_block);
    g_ptr_array_unref (sh->endpoints);
    g_rand_free (sh->rand);
    g_main_context_unref (sh->context);
    swarm_clock_unref (sh->clock);
  }
  g_free (net->shards);
  for (i = 0; i < net->hosts->len; i++) {
    SwarmMemoryHost *host = g_ptr_array_index (net->hosts, i);

    g_free (host->address);
    g_hash_table_destroy (host->received_from);
    g_free (host);
  }
  g_ptr_array_unref (net->hosts);
  g_free (net);
}

guint
swarm_memory_net_get_n_shards (SwarmMemoryNet * net)
{
  return net->n_shards;
}

SwarmMemoryHost *
swarm_memory_net_add_host (SwarmMemoryNet * net,
    const SwarmMemoryHostConfig * config)
{
  return swarm_memory_net_add_host_to_shard (net, 0, config);
}

SwarmMemoryHost *
swarm_memory_net_add_host_to_shard (SwarmMemoryNet * net, guint shard,
    const SwarmMemoryHostConfig * config)
{
  SwarmMemoryHost *host;
  guint n = net->hosts->len + 1;
  gint64 access_us;

  g_return_val_if_fail (shard < net->n_shards, NULL);
  host = g_new0 (SwarmMemoryHost, 1);
  host->net = net;
  host->shard = &net->shards[shard];
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
  access_us = ((gint64) host->config.delay_ms + (host->config.relayed ?
          host->config.relay_delay_ms : 0)) * 1000;
  if (access_us < net->least_access_us[0]) {
    net->least_access_us[1] = net->least_access_us[0];
    net->least_access_us[0] = access_us;
  } else if (access_us < net->least_access_us[1]) {
    net->least_access_us[1] = access_us;
  }
  return host;
}

gint64
swarm_memory_net_get_least_delay_us (SwarmMemoryNet * net)
{
  if (net->least_access_us[1] == G_MAXINT64)
    return G_MAXINT64;
  return net->least_access_us[0] + net->least_access_us[1];
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
  guint i;

  memset (stats, 0, sizeof *stats);
  for (i = 0; i < net->n_shards; i++) {
    const SwarmMemoryNetStats *s = &net->shards[i].stats;

    stats->datagrams += s->datagrams;
    stats->delivered += s->delivered;
    stats->lost += s->lost;
    stats->queue_drops += s->queue_drops;
    stats->bytes_delivered += s->bytes_delivered;
    stats->events += s->events;
    for (guint t = 0; t < SWARM_MEMORY_NET_TYPES; t++)
      stats->delivered_by_type[t] += s->delivered_by_type[t];
  }
}

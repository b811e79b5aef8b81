/* The embedded tracker's connections: TCP accepted and counted by us,
 * WebSocket spoken by us (swarm-ws.h) on non-blocking sockets, or an
 * in-memory pipe; the sweep that closes the silent; listening on a port or
 * in memory.  What the messages mean is in swarm-tracker-server.c.
 *
 * All sockets are watched through one epoll descriptor, itself one source
 * of the context: a wakeup costs what happened, not what is connected.
 * With a GSource per connection (libsoup's way), GLib walked every source
 * at every wakeup: 10,000 viewers pinging every 20 s kept a core busy
 * (docs/tracker-load.md).  Without epoll, a source per socket.
 *
 * A connection that must go mid-call (a limit passed while a message to
 * it was being relayed, say) is only marked dead and taken off the poller;
 * the reaper frees it once the call is over.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* accept4 */
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <glib-unix.h>
#include "swarm-tracker-server-private.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

#define SERVER_NAME "gst-p2p-tracker"
/* Read at most this much from one connection per wakeup. */
#define READ_CHUNK 16384
#define POLL_BATCH 256

static void conn_kill (Conn * conn);
static void conn_flush (Conn * conn);
static void accept_batch (SwarmTrackerServer * s);

/* Trackers listening in memory, by name: process-wide, as ports are. */
static GMutex memory_lock;
static GHashTable *memory_servers;

/* ---- the poller ------------------------------------------------------ */

#ifdef HAVE_EPOLL
static void
poller_set (SwarmTrackerServer * s, gint fd, gpointer ptr, guint32 events,
    gint op)
{
  struct epoll_event ev = {.events = events,.data.ptr = ptr };

  if (epoll_ctl (s->epfd, op, fd, &ev) < 0)
    GST_WARNING ("epoll_ctl: %s", g_strerror (errno));
}
#endif

static void conn_on_events (Conn * conn, guint32 events);

#ifndef HAVE_EPOLL
static gboolean
on_conn_fd (gint fd, GIOCondition condition, gpointer user_data)
{
  Conn *conn = user_data;

  conn_on_events (conn, condition);
  return G_SOURCE_CONTINUE;
}
#endif

/* Watches @conn for reading, and writing while it has something queued. */
static void
conn_watch (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  guint32 events = SWARM_POLL_IN | (conn->out->len ? SWARM_POLL_OUT : 0);

  if (conn->dead || events == conn->events)
    return;
#ifdef HAVE_EPOLL
  poller_set (s, conn->fd, conn, events, conn->events ? EPOLL_CTL_MOD :
      EPOLL_CTL_ADD);
#else
  /* (only when its queue fills or empties) */
  if (conn->source)
    g_source_destroy (conn->source);
  g_clear_pointer (&conn->source, g_source_unref);
  conn->source = g_unix_fd_source_new (conn->fd, events);
  g_source_set_callback (conn->source, G_SOURCE_FUNC (on_conn_fd), conn,
      NULL);
  g_source_attach (conn->source, s->context);
#endif
  conn->events = events;
}

static void
conn_unwatch (Conn * conn)
{
  if (conn->events == 0)
    return;
#ifdef HAVE_EPOLL
  poller_set (conn->server, conn->fd, NULL, 0, EPOLL_CTL_DEL);
#else
  g_source_destroy (conn->source);
  g_clear_pointer (&conn->source, g_source_unref);
#endif
  conn->events = 0;
}

/* ---- messages, however they came ----------------------------------- */

/* One text message from @conn. */
void
conn_on_text (Conn * conn, const char *data, gsize len)
{
  g_autoptr (SwarmTrackerMessage) m = NULL;
  g_autoptr (GError) error = NULL;

  if (conn->flooded)
    return;
  if (swarm_rate_limiter_take (conn->budget,
          swarm_clock_now_us (conn->server->clock), 1) == 0) {
    GST_INFO ("closing connection from %s: message flood", conn->host);
    conn->flooded = TRUE;
    conn->server->stats.connections_closed_flood++;
    conn_fail (conn, "too many messages");
    conn_hang_up (conn);
    return;
  }
  m = swarm_tracker_message_parse (data, len, &error);
  if (m == NULL) {
    conn_fail (conn, error->message);
    return;
  }

  switch (m->action) {
    case SWARM_TRACKER_ACTION_ANNOUNCE:
      if (m->failure_reason == NULL) {
        handle_announce (conn, m);
        return;
      }
      break;
    case SWARM_TRACKER_ACTION_SCRAPE:
      if (m->failure_reason == NULL) {
        handle_scrape (conn, m);
        return;
      }
      break;
    case SWARM_TRACKER_ACTION_NONE:
      break;
  }
  conn_fail (conn, "unexpected \"failure reason\" from a peer");
}

static void
on_pipe_message (SwarmTrackerPipe * pipe, const gchar * data, gsize len,
    gpointer user_data)
{
  Conn *conn = user_data;

  /* what the reader bounds on a socket */
  if (len > SWARM_TRACKER_MAX_MESSAGE) {
    conn_fail (conn, "message too large");
    conn_hang_up (conn);
    return;
  }
  conn->last_read_us = swarm_clock_now_us (conn->server->clock);
  conn_on_text (conn, data, len);
}

/* ---- addresses: what one host opens ------------------------------ */

/* An IPv4 address, or an IPv6 /64: one host is given a /64 (and may
 * make up addresses in it at will), a v4-mapped IPv6 address is IPv4. */
static gchar *
address_key (GInetAddress * inet)
{
  const guint8 *b = g_inet_address_to_bytes (inet);
  static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff
  };
  g_autoptr (GInetAddress) prefix = NULL;
  g_autofree gchar *text = NULL;
  guint8 bytes[16] = { 0 };

  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4)
    return g_inet_address_to_string (inet);
  if (memcmp (b, v4_mapped, 12) == 0)
    return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
  memcpy (bytes, b, 8);
  prefix = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (prefix);
  return g_strdup_printf ("%s/64", text);
}

void
address_free (Address * a)
{
  if (a->rate)
    swarm_rate_limiter_free (a->rate);
  g_free (a->key);
  g_free (a);
}

/* An address with no connection and a full budget is as good as new. */
static void
address_forget_if_idle (SwarmTrackerServer * s, Address * a, gint64 now)
{
  if (a->conns == 0 && (a->rate == NULL
          || swarm_rate_limiter_get_available (a->rate, now) >=
          swarm_rate_limiter_get_burst (a->rate)))
    g_hash_table_remove (s->addresses, a->key);
}

/* Connections that count: not dead, not closing. */
guint
conns_open (SwarmTrackerServer * s)
{
  return g_hash_table_size (s->conns) - s->dead->len - s->n_closing;
}

/* ---- what waits to be sent -------------------------------------------- */

static void
conn_set_queued (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  gsize queued = conn->dead ? 0 : conn->out->len;

  s->bytes_queued = s->bytes_queued - conn->queued + queued;
  conn->queued = queued;
  s->stats.bytes_queued_max = MAX (s->stats.bytes_queued_max,
      s->bytes_queued);
}

/* The connection holding most, of those still alive. */
static Conn *
conn_most_queued (SwarmTrackerServer * s)
{
  GHashTableIter iter;
  gpointer key;
  Conn *most = NULL;

  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Conn *c = key;

    if (!c->dead && (most == NULL || c->queued > most->queued))
      most = c;
  }
  return most;
}

static void
conn_cut_slow (Conn * conn, const gchar * why)
{
  GST_INFO ("closing connection from %s: %s (%" G_GSIZE_FORMAT " bytes "
      "queued)", conn->host, why, conn->queued);
  conn->server->stats.connections_closed_slow++;
  conn_kill (conn);
}

/* Sends what it can of @frame to @conn at once and queues the rest; a
 * client that does not read is cut before its queue passes its bound,
 * and when all queues together pass theirs, the one holding most is. */
static void
conn_queue (Conn * conn, const guint8 * bytes, gsize len)
{
  SwarmTrackerServer *s = conn->server;

  if (conn->dead)
    return;
  g_byte_array_append (conn->out, bytes, len);
  conn_flush (conn);
  if (conn->dead)
    return;
  if (conn->queued > s->limits.max_queued_per_connection) {
    conn_cut_slow (conn, "not reading what it is sent");
  } else if (s->bytes_queued > s->limits.max_queued) {
    Conn *most = conn_most_queued (s);

    if (most)
      conn_cut_slow (most, "holds the most of what all connections do "
          "not read");
  }
}

static void
conn_queue_frame (Conn * conn, guint opcode, const void *payload, gsize len)
{
  g_autoptr (GByteArray) frame = g_byte_array_sized_new
      (swarm_ws_frame_size (len));

  swarm_ws_write_frame (frame, opcode, payload, len);
  conn_queue (conn, frame->data, frame->len);
}

/* A text message to @conn's WebSocket (nothing once it is closing). */
void
conn_send_ws (Conn * conn, const gchar * text)
{
  if (conn->dead || conn->closing_us || !conn->upgraded)
    return;
  conn_queue_frame (conn, SWARM_WS_OPCODE_TEXT, text, strlen (text));
}

/* Writes what the socket takes.  Once a closing connection's last bytes
 * are out, its write side is shut: the client reads them, then the end. */
static void
conn_flush (Conn * conn)
{
  while (conn->out->len > 0) {
    gssize n = send (conn->fd, conn->out->data, conn->out->len,
        MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      break;
    if (n < 0) {
      GST_DEBUG ("connection from %s: send: %s", conn->host,
          g_strerror (errno));
      conn_kill (conn);
      return;
    }
    g_byte_array_remove_range (conn->out, 0, n);
  }
  if (conn->out->len == 0 && conn->closing_us && !conn->shut_down) {
    shutdown (conn->fd, SHUT_WR);
    conn->shut_down = TRUE;
  }
  conn_set_queued (conn);
  conn_watch (conn);
}

/* ---- a connection's life ----------------------------------------------- */

/* A connection's budgets and clocks, whatever carries it (@host: owned). */
static Conn *
conn_new (SwarmTrackerServer * s, gchar * host)
{
  Conn *conn = g_new0 (Conn, 1);

  conn->server = s;
  conn->fd = -1;
  conn->host = host;
  conn->out = g_byte_array_new ();
  conn->joined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  conn->budget = swarm_rate_limiter_new (MESSAGES_PER_S, MESSAGES_BURST);
  conn->byte_budget = swarm_rate_limiter_new (BYTES_PER_S, BYTES_BURST);
  conn->accepted_us = conn->last_read_us = swarm_clock_now_us (s->clock);
  swarm_ws_reader_init (&conn->reader, MAX_REQUEST_HEAD,
      SWARM_TRACKER_MAX_MESSAGE);
  return conn;
}

/* Frees @conn and gives back its slot (the set's destroy function). */
void
conn_free (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, conn->joined);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Swarm *swarm = get_swarm (s, key, FALSE);

    /* remove_peer() with the owning conn leaves conn->joined alone. */
    if (swarm)
      remove_peer (s, swarm, value, conn);
  }
  g_hash_table_unref (conn->joined);

  if (conn->closing_us && !conn->dead)
    s->n_closing--;
  if (conn->address) {
    conn->address->conns--;
    address_forget_if_idle (s, conn->address,
        swarm_clock_now_us (s->clock));
  }
  s->bytes_held -= conn->held;
  s->bytes_queued -= conn->queued;
  if (conn->pipe)
    swarm_tracker_pipe_free (conn->pipe);
  if (conn->fd >= 0) {
    conn_unwatch (conn);
    close (conn->fd);
  }
  swarm_ws_reader_clear (&conn->reader);
  g_byte_array_unref (conn->out);
  swarm_rate_limiter_free (conn->budget);
  swarm_rate_limiter_free (conn->byte_budget);
  g_free (conn->host);
  g_free (conn);
}

static gboolean
on_reap (gpointer user_data)
{
  SwarmTrackerServer *s = user_data;

  g_clear_pointer (&s->reaper, g_source_unref);
  while (s->dead->len) {
    Conn *conn = g_ptr_array_steal_index_fast (s->dead, s->dead->len - 1);

    g_hash_table_remove (s->conns, conn);
  }
  return G_SOURCE_REMOVE;
}

/* @conn is on its way out: it no longer counts as open (against
 * max_connections), its lingering bounded by CLOSE_GRACE_US. */
static void
conn_set_closing (Conn * conn)
{
  if (conn->closing_us)
    return;
  conn->closing_us = swarm_clock_now_us (conn->server->clock);
  if (!conn->dead)
    conn->server->n_closing++;
}

/* Takes @conn off the poller and out of every count at once; the reaper
 * frees it (and its peers leave their swarms) once the current call is
 * over. */
static void
conn_kill (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;

  if (conn->dead)
    return;
  conn_unwatch (conn);
  conn->dead = TRUE;
  if (conn->closing_us)
    s->n_closing--;
  s->bytes_held -= conn->held;
  conn->held = 0;
  conn_set_queued (conn);
  g_ptr_array_add (s->dead, conn);
  if (s->reaper == NULL) {
    s->reaper = g_idle_source_new ();
    g_source_set_priority (s->reaper, G_PRIORITY_HIGH);
    g_source_set_callback (s->reaper, on_reap, s, NULL);
    g_source_attach (s->reaper, s->context);
  }
}

/* Closes @conn for @why: a WebSocket is told why (the failure reason, a
 * close frame), its write side shut once that is out, and the rest it
 * sends read and dropped until it hangs up or CLOSE_GRACE_US passes; a
 * connection not upgraded, or past its grace, is cut. */
static void
conn_close (Conn * conn, const gchar * why, gint64 now)
{
  GST_INFO ("closing connection from %s: %s", conn->host, why);
  if (conn->pipe) {
    if (conn->closing_us == 0 && swarm_tracker_pipe_is_open (conn->pipe)) {
      conn_fail (conn, why);
      swarm_tracker_pipe_close (conn->pipe);
      conn_set_closing (conn);
    } else {
      g_hash_table_remove (conn->server->conns, conn);
    }
    return;
  }
  if (conn->upgraded && conn->closing_us == 0 && !conn->dead) {
    g_autoptr (GByteArray) frame = g_byte_array_new ();

    conn_fail (conn, why);
    swarm_ws_write_close (frame, SWARM_WS_CLOSE_POLICY_VIOLATION, why);
    conn_set_closing (conn);
    conn_queue (conn, frame->data, frame->len);
    return;
  }
  conn_kill (conn);
}

/* Closes at once for a protocol violation (the failure is already
 * sent). */
void
conn_hang_up (Conn * conn)
{
  g_autoptr (GByteArray) frame = NULL;

  if (conn->pipe) {
    swarm_tracker_pipe_close (conn->pipe);
    return;
  }
  if (conn->dead || conn->closing_us)
    return;
  frame = g_byte_array_new ();
  swarm_ws_write_close (frame, SWARM_WS_CLOSE_POLICY_VIOLATION, NULL);
  conn_set_closing (conn);
  conn_queue (conn, frame->data, frame->len);
}

/* The client's upgrade request: answered at once, with the 101 or why
 * not (and then closed). */
static void
conn_on_head (Conn * conn, const guint8 * head, gsize len)
{
  g_autoptr (GByteArray) response = g_byte_array_new ();

  if (swarm_ws_respond_upgrade (head, len, SERVER_NAME, response)) {
    GST_DEBUG ("connection from %s upgraded", conn->host);
    conn->upgraded = TRUE;
  } else {
    GST_INFO ("closing connection from %s: not a WebSocket upgrade",
        conn->host);
    conn_set_closing (conn);
  }
  conn_queue (conn, response->data, response->len);
}

static void
conn_on_close_frame (Conn * conn, const guint8 * payload, gsize len)
{
  g_autoptr (GByteArray) frame = g_byte_array_new ();

  GST_DEBUG ("connection from %s closes", conn->host);
  if (conn->closing_us)
    return;
  /* the echo RFC 6455 asks for: its code, or a normal close */
  swarm_ws_write_close (frame, len >= 2 ? (payload[0] << 8) | payload[1] :
      SWARM_WS_CLOSE_NORMAL, NULL);
  conn_set_closing (conn);
  conn_queue (conn, frame->data, frame->len);
}

/* What the reader has complete, in order. */
static void
conn_take_events (Conn * conn)
{
  for (;;) {
    g_autoptr (GError) error = NULL;
    const guint8 *data;
    gsize len;
    SwarmWsEvent ev = swarm_ws_reader_next (&conn->reader, &data, &len,
        &error);

    if (conn->dead || conn->closing_us)
      return;
    switch (ev) {
      case SWARM_WS_NEED_MORE:
        return;
      case SWARM_WS_HEAD:
        conn_on_head (conn, data, len);
        break;
      case SWARM_WS_TEXT:
        conn_on_text (conn, (const gchar *) data, len);
        break;
      case SWARM_WS_BINARY:
        conn_fail (conn, "binary frames are not part of the protocol");
        break;
      case SWARM_WS_PING:
        conn_queue_frame (conn, SWARM_WS_OPCODE_PONG, data, len);
        break;
      case SWARM_WS_PONG:
        break;
      case SWARM_WS_CLOSE:
        conn_on_close_frame (conn, data, len);
        return;
      case SWARM_WS_ERROR:
        GST_INFO ("closing connection from %s: %s", conn->host,
            error->message);
        conn->server->stats.connections_closed_oversize++;
        conn_kill (conn);
        return;
    }
  }
}

/* Reads one chunk: bounded by the byte budget and the reader's bounds
 * before anything is kept. */
static void
conn_read (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  gsize room = swarm_ws_reader_get_room (&conn->reader, READ_CHUNK);
  g_autoptr (GError) error = NULL;
  gint64 now;
  gssize n;

  n = recv (conn->fd, s->chunk, conn->closing_us ? READ_CHUNK : room, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0) {
    GST_DEBUG ("connection from %s %s", conn->host, n == 0 ? "closed" :
        g_strerror (errno));
    conn_kill (conn);
    return;
  }
  /* closing: what it still sends is dropped, until it hangs up */
  if (conn->closing_us)
    return;

  now = swarm_clock_now_us (s->clock);
  conn->last_read_us = now;
  if (swarm_rate_limiter_take (conn->byte_budget, now, n) < (gsize) n) {
    GST_INFO ("closing connection from %s: byte flood", conn->host);
    s->stats.connections_closed_flood++;
    conn_kill (conn);
    return;
  }
  if (!swarm_ws_reader_feed (&conn->reader, s->chunk, n, &error)) {
    GST_INFO ("closing connection from %s: %s", conn->host, error->message);
    s->stats.connections_closed_oversize++;
    conn_kill (conn);
    return;
  }
  conn_take_events (conn);
}

/* What the reader holds now, in the tracker's count and against its
 * bound. */
static void
conn_count_held (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  gsize held = swarm_ws_reader_get_held (&conn->reader);

  s->bytes_held = s->bytes_held - conn->held + held;
  conn->held = held;
  s->stats.bytes_held_max = MAX (s->stats.bytes_held_max, s->bytes_held);
  if (s->bytes_held > MAX_BYTES_HELD) {
    GST_INFO ("closing connection from %s: unfinished messages over the "
        "tracker's bound", conn->host);
    s->stats.connections_closed_oversize++;
    conn_kill (conn);
  }
}

static void
conn_on_events (Conn * conn, guint32 events)
{
  if (conn->dead)
    return;
  if (events & SWARM_POLL_OUT)
    conn_flush (conn);
  if (!conn->dead && (events & (SWARM_POLL_IN | SWARM_POLL_HUP |
              SWARM_POLL_ERR)))
    conn_read (conn);
  if (!conn->dead)
    conn_count_held (conn);
}

/* ---- the sweep -------------------------------------------------------- */

/* Closes connections that have not announced in time, went silent, or
 * did not finish closing. */
gboolean
sweep (gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  gint64 now = swarm_clock_now_us (s->clock);
  g_autoptr (GPtrArray) stale = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;
  guint i;

  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (stale, key);

  for (i = 0; i < stale->len; i++) {
    Conn *conn = g_ptr_array_index (stale, i);
    gboolean open = conn->upgraded || conn->pipe;

    if (conn->dead)
      continue;
    if (conn->closing_us) {
      if (now - conn->closing_us > CLOSE_GRACE_US)
        conn_close (conn, "did not close in time", now);
    } else if (!conn->announced && now - conn->accepted_us >
        (gint64) s->limits.unannounced_timeout_ms * 1000) {
      if (open)
        s->stats.connections_closed_unannounced++;
      else
        s->stats.connections_closed_half_open++;
      conn_close (conn, open ? "no announce in time" :
          "HTTP request not finished in time", now);
    } else if (now - conn->last_read_us >
        (gint64) s->limits.idle_timeout_ms * 1000) {
      s->stats.connections_closed_idle++;
      conn_close (conn, "idle for too long", now);
    }
  }

  /* addresses whose budget has filled up again since their last
   * connection closed */
  g_ptr_array_set_size (stale, 0);
  g_hash_table_iter_init (&iter, s->addresses);
  while (g_hash_table_iter_next (&iter, NULL, &key))
    if (((Address *) key)->conns == 0)
      g_ptr_array_add (stale, key);
  for (i = 0; i < stale->len; i++)
    address_forget_if_idle (s, g_ptr_array_index (stale, i), now);
  return G_SOURCE_CONTINUE;
}

/* ---- in-memory pipes --------------------------------------------------- */

static void
on_pipe_closed (SwarmTrackerPipe * pipe, gpointer user_data)
{
  Conn *conn = user_data;

  GST_DEBUG ("connection from %s closed", conn->host);
  g_hash_table_remove (conn->server->conns, conn);
}

/* ---- accepting ----------------------------------------------------------- */

static gchar *
refusal_text (const gchar * why)
{
  g_autofree gchar *body = swarm_tracker_message_write_failure (why);

  return g_strdup_printf ("HTTP/1.1 503 %s\r\nServer: " SERVER_NAME "\r\n"
      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n%s", why, strlen (body), body);
}

/* A connection over a limit costs no more than this: answered at once,
 * what it sent so far read and dropped (closing with unread bytes would
 * reset the connection, and the reset could take the answer with it),
 * and closed. */
static void
refuse_fd (gint fd, const gchar * why)
{
  g_autofree gchar *text = refusal_text (why);
  gchar drain[4096];

  if (send (fd, text, strlen (text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    GST_DEBUG ("could not tell a refused connection: %s", g_strerror (errno));
  while (recv (fd, drain, sizeof (drain), MSG_DONTWAIT) > 0);
  close (fd);
}

/* Every TCP connection is counted from here, before a byte of HTTP: a
 * half-open request holds a slot and its timeout like a WebSocket. */
static void
accept_one (SwarmTrackerServer * s, gint fd, const struct sockaddr *sa,
    socklen_t sa_len)
{
  const SwarmTrackerServerLimits *lim = &s->limits;
  g_autoptr (GSocketAddress) remote = g_socket_address_new_from_native
      ((gpointer) sa, sa_len);
  g_autofree gchar *host = NULL, *key = NULL;
  gint64 now = swarm_clock_now_us (s->clock);
  const gchar *why = NULL;
  GInetAddress *inet;
  Address *a;
  Conn *conn;
  gint one = 1, sndbuf = SEND_BUFFER;

  if (!G_IS_INET_SOCKET_ADDRESS (remote)) {
    close (fd);
    return;
  }
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  host = g_inet_address_to_string (inet);
  key = address_key (inet);
  a = g_hash_table_lookup (s->addresses, key);

  if (conns_open (s) >= lim->max_connections) {
    why = "tracker full: too many connections";
    s->stats.refused_full++;
  } else if (lim->max_connections_per_address && a
      && a->conns >= lim->max_connections_per_address) {
    why = "too many connections from this address";
    s->stats.refused_address++;
  } else {
    if (a == NULL) {
      a = g_new0 (Address, 1);
      a->key = g_steal_pointer (&key);
      if (lim->connection_rate)
        a->rate = swarm_rate_limiter_new (lim->connection_rate,
            lim->connection_burst);
      g_hash_table_insert (s->addresses, a->key, a);
    }
    if (a->rate && swarm_rate_limiter_take (a->rate, now, 1) == 0) {
      why = "too many new connections from this address";
      s->stats.refused_rate++;
    }
  }
  if (why) {
    GST_INFO ("refusing connection from %s: %s (%u from its address, %u in "
        "all)", host, why, a ? a->conns : 0, g_hash_table_size (s->conns));
    s->stats.connections_refused++;
    refuse_fd (fd, why);
    if (a)
      address_forget_if_idle (s, a, now);
    return;
  }

  /* Small messages, at once; and what the kernel holds for a client that
   * does not read bounded (autotuned, Linux let it grow to megabytes). */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof (sndbuf));
  conn = conn_new (s, g_steal_pointer (&host));
  conn->fd = fd;
  conn->address = a;
  a->conns++;
  g_hash_table_add (s->conns, conn);
  conn_watch (conn);
}

/* ---- file descriptors --------------------------------------------------- */

guint64
swarm_tracker_server_raise_fd_limit (void)
{
  struct rlimit rl;

  /* Each connection is a descriptor, and the usual soft limit is 1024:
   * raised to the hard limit, where the tracker runs.  Children inherit
   * it (one using select() would not cope); GLib, libsoup and libnice
   * poll. */
  if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t was = rl.rlim_cur;

    rl.rlim_cur = rl.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &rl) == 0) {
      GST_INFO ("file descriptor limit raised from %" G_GUINT64_FORMAT
          " to %" G_GUINT64_FORMAT, (guint64) was, (guint64) rl.rlim_cur);
    } else {
      GST_WARNING ("could not raise the file descriptor limit from %"
          G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ": %s", (guint64) was,
          (guint64) rl.rlim_max, g_strerror (errno));
      rl.rlim_cur = was;
    }
  }
  return rl.rlim_cur == RLIM_INFINITY ? G_MAXUINT64 : rl.rlim_cur;
}

typedef enum {
  FDS_REFUSED,                  /* one connection told why and closed */
  FDS_NONE_PENDING,             /* (accept fails out of fds, queue or not) */
  FDS_STUCK,                    /* not even the spare descriptor helped */
} FdsOutcome;

/* Out of descriptors, a connection waits in the kernel's queue and the
 * listening socket stays readable: accept would fail at once, again and
 * again.  So a spare descriptor is kept, given up to take the connection
 * and tell it why, and taken back. */
static FdsOutcome
refuse_out_of_fds (SwarmTrackerServer * s)
{
  gint64 now = g_get_monotonic_time ();
  gint fd, accept_errno;

  if (s->spare_fd < 0)
    return FDS_STUCK;
  close (s->spare_fd);
  fd = accept (s->listen_fd, NULL, NULL);
  accept_errno = errno;
  s->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return accept_errno == EAGAIN || accept_errno == EWOULDBLOCK ?
        FDS_NONE_PENDING : FDS_STUCK;

  refuse_fd (fd, "tracker out of file descriptors");
  s->stats.connections_refused++;
  s->stats.refused_fds++;
  if (s->fds_warned_us == 0 || now - s->fds_warned_us > 60 * G_USEC_PER_SEC) {
    struct rlimit rl = { 0 };

    getrlimit (RLIMIT_NOFILE, &rl);
    GST_ERROR ("The tracker cannot accept connections: this process is out "
        "of file descriptors (limit %" G_GUINT64_FORMAT ", %u tracker "
        "connections open).  Raise the limit (ulimit -n, LimitNOFILE= in a "
        "systemd unit) or lower tracker-max-connections (%u); until then "
        "new viewers are refused.", (guint64) rl.rlim_cur,
        g_hash_table_size (s->conns), s->limits.max_connections);
    s->fds_warned_us = now;
  }
  return s->spare_fd >= 0 ? FDS_REFUSED : FDS_STUCK;
}

/* ---- listening ------------------------------------------------------------ */

static void
listener_watch (SwarmTrackerServer * s, gboolean on);

static gboolean
on_accept_resume (gpointer user_data)
{
  SwarmTrackerServer *s = user_data;

  g_clear_pointer (&s->accept_resume, g_source_unref);
  if (s->spare_fd < 0)
    s->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  listener_watch (s, TRUE);
  return G_SOURCE_REMOVE;
}

/* Stops accepting for @ms: an error that would repeat at once. */
static void
accept_pause (SwarmTrackerServer * s, guint ms)
{
  listener_watch (s, FALSE);
  s->accept_resume = g_timeout_source_new (ms);
  g_source_set_callback (s->accept_resume, on_accept_resume, s, NULL);
  g_source_attach (s->accept_resume, s->context);
}

static void
accept_batch (SwarmTrackerServer * s)
{
  guint i;

  for (i = 0; i < ACCEPT_BATCH; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof (ss);
    gint fd = accept4 (s->listen_fd, (struct sockaddr *) &ss, &len,
        SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd >= 0) {
      accept_one (s, fd, (struct sockaddr *) &ss, len);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno == EMFILE || errno == ENFILE) {
      FdsOutcome outcome = refuse_out_of_fds (s);

      if (outcome == FDS_NONE_PENDING)
        return;
      if (outcome == FDS_STUCK) {
        accept_pause (s, 100);
        return;
      }
    } else if (errno != ECONNABORTED && errno != EINTR && errno != EPROTO) {
      /* ENOBUFS, ENOMEM...: not worth a busy loop */
      GST_WARNING ("tracker could not accept a connection: %s",
          g_strerror (errno));
      accept_pause (s, 100);
      return;
    }
  }
}

#ifdef HAVE_EPOLL
static gboolean
on_poll (gint fd, GIOCondition condition, gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  struct epoll_event events[POLL_BATCH];
  gint n, i;

  n = epoll_wait (s->epfd, events, POLL_BATCH, 0);
  for (i = 0; i < n; i++) {
    if (events[i].data.ptr == NULL)
      accept_batch (s);
    else
      conn_on_events (events[i].data.ptr, events[i].events);
  }
  /* (the reaper runs next, before anything else) */
  return G_SOURCE_CONTINUE;
}
#else
static gboolean
on_listener (gint fd, GIOCondition condition, gpointer user_data)
{
  accept_batch (user_data);
  return G_SOURCE_CONTINUE;
}
#endif

static void
listener_watch (SwarmTrackerServer * s, gboolean on)
{
#ifdef HAVE_EPOLL
  poller_set (s, s->listen_fd, NULL, EPOLLIN, on ? EPOLL_CTL_ADD :
      EPOLL_CTL_DEL);
#else
  if (on) {
    s->listen_source = g_unix_fd_source_new (s->listen_fd, G_IO_IN);
    g_source_set_callback (s->listen_source, G_SOURCE_FUNC (on_listener), s,
        NULL);
    g_source_attach (s->listen_source, s->context);
  } else {
    g_source_destroy (s->listen_source);
    g_clear_pointer (&s->listen_source, g_source_unref);
  }
#endif
  s->listening = on;
}

void
listener_close (SwarmTrackerServer * s)
{
  if (s->accept_resume) {
    g_source_destroy (s->accept_resume);
    g_clear_pointer (&s->accept_resume, g_source_unref);
  }
  if (s->listening)
    listener_watch (s, FALSE);
  if (s->listener) {
    g_socket_close (s->listener, NULL);
    g_clear_object (&s->listener);
    s->listen_fd = -1;
  }
  if (s->spare_fd >= 0) {
    close (s->spare_fd);
    s->spare_fd = -1;
  }
}

/* After every connection is gone. */
void
poller_free (SwarmTrackerServer * s)
{
  if (s->reaper) {
    g_source_destroy (s->reaper);
    g_clear_pointer (&s->reaper, g_source_unref);
  }
#ifdef HAVE_EPOLL
  if (s->poll_source) {
    g_source_destroy (s->poll_source);
    g_clear_pointer (&s->poll_source, g_source_unref);
  }
  if (s->epfd >= 0) {
    close (s->epfd);
    s->epfd = -1;
  }
#endif
  g_clear_pointer (&s->context, g_main_context_unref);
}

/* Tells every WebSocket we are going (so its client reconnects elsewhere
 * or later instead of waiting for a keep-alive to time out), as far as
 * its socket takes it now. */
void
conns_say_goodbye (SwarmTrackerServer * s)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Conn *conn = key;
    g_autoptr (GByteArray) frame = NULL;

    if (conn->dead || conn->pipe || !conn->upgraded || conn->closing_us)
      continue;
    frame = g_byte_array_new ();
    swarm_ws_write_close (frame, SWARM_WS_CLOSE_GOING_AWAY, NULL);
    g_byte_array_append (conn->out, frame->data, frame->len);
    conn_set_closing (conn);
    conn_flush (conn);
  }
}

/* Listening (on a port or in memory): closes what does not announce in
 * time or goes silent, on the thread-default context. */
static void
start_sweeper (SwarmTrackerServer * s)
{
  guint period = CLAMP (MIN (s->limits.unannounced_timeout_ms,
          s->limits.idle_timeout_ms) / 4, 10, 1000);

  s->sweeper = swarm_clock_timeout_source_new (s->clock, period);
  g_source_set_callback (s->sweeper, sweep, s, NULL);
  g_source_attach (s->sweeper, s->context);
}

gboolean
swarm_tracker_server_listen (SwarmTrackerServer * s, const gchar * address,
    guint port, GError ** error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) sockaddr = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GSocket) sock = NULL;
  guint64 fd_limit;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (s->listener == NULL && s->memory_name == NULL,
      FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        _("Invalid tracker listen address \"%s\""), address);
    return FALSE;
  }
  sockaddr = g_inet_socket_address_new (inet, port);
  sock = g_socket_new (g_inet_address_get_family (inet),
      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return FALSE;
  g_socket_set_blocking (sock, FALSE);
  /* GLib's default of 10 would leave a crowd joining at once (or a burst
   * of attackers' SYNs) waiting for retransmits before we even count them:
   * accepted, they are counted and refused at once if over a limit. */
  g_socket_set_listen_backlog (sock, LISTEN_BACKLOG);
  if (!g_socket_bind (sock, sockaddr, TRUE, error)
      || !g_socket_listen (sock, error))
    return FALSE;
  effective = g_socket_get_local_address (sock, error);
  if (effective == NULL)
    return FALSE;
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
      (effective));
  s->listener = g_steal_pointer (&sock);
  s->listen_fd = g_socket_get_fd (s->listener);

  fd_limit = swarm_tracker_server_raise_fd_limit ();
  /* a few for the rest of the process */
  if (fd_limit < (guint64) s->limits.max_connections + 64)
    GST_WARNING ("tracker-max-connections is %u but this process may open "
        "%" G_GUINT64_FORMAT " file descriptors: past about %"
        G_GUINT64_FORMAT " connections, viewers will be refused (raise the "
        "hard limit: ulimit -Hn, LimitNOFILE=)", s->limits.max_connections,
        fd_limit, fd_limit > 64 ? fd_limit - 64 : 0);
  s->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  /* Everything on the thread-default context. */
  s->context = g_main_context_ref_thread_default ();
#ifdef HAVE_EPOLL
  s->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (s->epfd < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
        "epoll_create1: %s", g_strerror (errno));
    return FALSE;
  }
  s->poll_source = g_unix_fd_source_new (s->epfd, G_IO_IN);
  g_source_set_callback (s->poll_source, G_SOURCE_FUNC (on_poll), s, NULL);
  g_source_attach (s->poll_source, s->context);
#endif
  listener_watch (s, TRUE);

  start_sweeper (s);
  GST_INFO ("tracker listening on %s port %u", address, s->port);
  return TRUE;
}

void
memory_registry_remove (const gchar * name, SwarmTrackerServer * s)
{
  g_mutex_lock (&memory_lock);
  if (memory_servers && g_hash_table_lookup (memory_servers, name) == s)
    g_hash_table_remove (memory_servers, name);
  g_mutex_unlock (&memory_lock);
}

gboolean
swarm_tracker_server_listen_memory (SwarmTrackerServer * s,
    const gchar * name, guint delay_ms, GError ** error)
{

  g_return_val_if_fail (s != NULL && name != NULL, FALSE);
  g_return_val_if_fail (s->listener == NULL && s->memory_name == NULL, FALSE);
  g_mutex_lock (&memory_lock);
  if (!memory_servers)
    memory_servers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
  if (g_hash_table_contains (memory_servers, name)) {
    g_mutex_unlock (&memory_lock);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
        _("A tracker named \"%s\" already listens in memory"), name);
    return FALSE;
  }
  g_hash_table_insert (memory_servers, g_strdup (name), s);
  g_mutex_unlock (&memory_lock);
  s->memory_name = g_strdup (name);
  s->memory_delay_ms = delay_ms;
  s->context = g_main_context_ref_thread_default ();
  start_sweeper (s);
  GST_INFO ("tracker listening in memory as %s", name);
  return TRUE;
}

static const SwarmTrackerPipeCallbacks memory_pipe_callbacks = {
  .message = on_pipe_message,
  .closed = on_pipe_closed,
};

/* The server end of a new in-memory connection: a Conn, or a refusal. */
static gboolean
accept_memory (SwarmTrackerServer * s, SwarmTrackerPipe * ours)
{
  Conn *conn;

  if (conns_open (s) >= s->limits.max_connections) {
    s->stats.connections_refused++;
    s->stats.refused_full++;
    return FALSE;
  }
  /* every in-memory client is a host of its own */
  conn = conn_new (s, g_strdup_printf ("memory-%u", ++s->memory_conns));
  conn->pipe = ours;
  conn->upgraded = TRUE;
  swarm_tracker_pipe_set_callbacks (ours, &memory_pipe_callbacks, conn);
  g_hash_table_add (s->conns, conn);
  return TRUE;
}

typedef struct {
  SwarmTrackerServer *s;
  SwarmTrackerPipe *ours;
} Knock;

/* A client on another clock's thread knocked: on ours now. */
static gboolean
on_knock (gpointer data)
{
  Knock *k = data;

  if (!accept_memory (k->s, k->ours))
    swarm_tracker_pipe_free (k->ours);    /* the client hears it closed */
  k->ours = NULL;
  return G_SOURCE_REMOVE;
}

static void
knock_free (gpointer data)
{
  Knock *k = data;

  /* never served: the server went first */
  if (k->ours)
    swarm_tracker_pipe_free (k->ours);
  g_free (k);
}

SwarmTrackerPipe *
swarm_tracker_server_connect_memory (const gchar * url, SwarmClock * clock,
    GMainContext * context, GError ** error)
{
  const gchar *name_start = url + strlen (SWARM_TRACKER_MEMORY_SCHEME);
  g_autofree gchar *name = g_strndup (name_start, strcspn (name_start, "/"));
  SwarmTrackerServer *s = NULL;
  SwarmTrackerPipe *ours, *theirs;

  g_mutex_lock (&memory_lock);
  if (memory_servers)
    s = g_hash_table_lookup (memory_servers, name);
  g_mutex_unlock (&memory_lock);
  if (!s) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        _("No tracker named \"%s\" in this process"), name);
    return NULL;
  }
  if (clock != s->clock) {
    /* a client run by another thread on a clock of its own (a sharded
     * simulation): it may not touch the server, which takes the
     * connection on its own time when the first packet arrives */
    Knock *k = g_new0 (Knock, 1);

    swarm_tracker_pipe_new_pair_across (clock, context, s->clock, s->context,
        s->memory_delay_ms, &theirs, &ours);
    k->s = s;
    k->ours = ours;
    swarm_clock_post (s->clock, clock, swarm_clock_now_us (clock) +
        (gint64) s->memory_delay_ms * 1000, s->context, on_knock, k,
        knock_free);
    return theirs;
  }
  swarm_tracker_pipe_new_pair (clock, context, s->memory_delay_ms, &ours,
      &theirs);
  if (!accept_memory (s, ours)) {
    swarm_tracker_pipe_free (ours);
    swarm_tracker_pipe_free (theirs);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        "tracker full: too many connections");
    return NULL;
  }
  return theirs;
}

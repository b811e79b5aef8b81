/* The embedded tracker's connections: TCP accepted and counted before
 * libsoup, the guard stream's scanner, WebSocket or in-memory pipe as the
 * transport, the sweep that closes the silent, listening on a port or in
 * memory.  What the messages mean is in swarm-tracker-server.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "swarm-tracker-server-private.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

static void conn_hang_up (Conn * conn);
static void accept_arm (SwarmTrackerServer * s);

/* Trackers listening in memory, by name: process-wide, as ports are. */
static GMutex memory_lock;
static GHashTable *memory_servers;

/* One text message from @conn, however it came. */
void
conn_on_text (Conn * conn, const char *data, gsize len)
{
  g_autoptr (SwarmTrackerMessage) m = NULL;
  g_autoptr (GError) error = NULL;

  if (conn->flooded)
    return;
  if (swarm_rate_limiter_take (conn->budget, swarm_clock_now_us (conn->server->clock), 1) == 0) {
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
on_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer user_data)
{
  Conn *conn = user_data;
  gconstpointer data;
  gsize len;

  if (type != SOUP_WEBSOCKET_DATA_TEXT && !conn->flooded) {
    conn_fail (conn, "binary frames are not part of the protocol");
    return;
  }
  data = g_bytes_get_data (message, &len);
  conn_on_text (conn, data, len);
}

static void
on_pipe_message (SwarmTrackerPipe * pipe, const gchar * data, gsize len,
    gpointer user_data)
{
  Conn *conn = user_data;

  /* what the scanner counts on a socket */
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
  guint8 bytes[16] = { 0 };

  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4)
    return g_inet_address_to_string (inet);
  if (memcmp (b, v4_mapped, 12) == 0)
    return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
  memcpy (bytes, b, 8);
  prefix = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  return g_strdup_printf ("%s/64", g_inet_address_to_string (prefix));
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

/* ---- what waits in libsoup's queue ---------------------------------- */

static void
conn_update_queued (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  guint64 expected = conn->out_handed +
      swarm_ws_scan_get_reply_bytes (&conn->scan);
  gsize queued = expected > conn->out_written ?
      expected - conn->out_written : 0;

  if (conn->slow)
    return;
  s->bytes_queued = s->bytes_queued - conn->queued + queued;
  conn->queued = queued;
  s->stats.bytes_queued_max = MAX (s->stats.bytes_queued_max,
      s->bytes_queued);
}

/* Stops sending to @conn and cuts it: it does not read.  Safe while a
 * caller still uses @conn (the cut is seen on a later iteration), and
 * what it holds no longer counts. */
static void
conn_cut_slow (Conn * conn, const gchar * why)
{
  SwarmTrackerServer *s = conn->server;

  GST_INFO ("closing connection from %s: %s (%" G_GSIZE_FORMAT " bytes "
      "queued)", conn->host, why, conn->queued);
  s->stats.connections_closed_slow++;
  s->bytes_queued -= conn->queued;
  conn->queued = 0;
  conn->slow = TRUE;
  conn->flooded = TRUE;         /* what it sends is not read either */
  if (conn->closing_us == 0)
    conn->closing_us = swarm_clock_now_us (s->clock);
  swarm_guard_input_stream_kill (conn->guard);
}

/* The connection holding most, of those still sent to. */
static Conn *
conn_most_queued (SwarmTrackerServer * s)
{
  GHashTableIter iter;
  gpointer key;
  Conn *most = NULL;

  g_hash_table_iter_init (&iter, s->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Conn *c = key;

    if (!c->slow && (most == NULL || c->queued > most->queued))
      most = c;
  }
  return most;
}

/* After @conn's queue grew: our frames, or pongs it asked for. */
static void
conn_check_queued (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;

  conn_update_queued (conn);
  if (conn->slow)
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

/* @payload bytes went to @conn's WebSocket as one text frame (the
 * server's frames are not masked). */
void
conn_handed (Conn * conn, gsize payload)
{
  conn->out_handed += payload + (payload < 126 ? 2 : payload < 65536 ? 4 :
      10);
  conn_check_queued (conn);
}

/* Its socket took @len bytes (the HTTP response before the upgrade is
 * not counted: nothing was handed for it). */
static void
conn_wrote (gpointer user_data, gsize len)
{
  Conn *conn = user_data;

  if (conn->ws == NULL)
    return;
  conn->out_written += len;
  conn_update_queued (conn);
}

/* Frees @conn and gives back its slot; libsoup keeps what it holds of the
 * connection and closes it in its own time. */
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

  if (conn->address) {
    conn->address->conns--;
    address_forget_if_idle (s, conn->address,
        swarm_clock_now_us (s->clock));
  }
  s->bytes_held -= conn->held;
  s->bytes_queued -= conn->queued;
  if (conn->pipe) {
    swarm_tracker_pipe_free (conn->pipe);
  } else {
    g_hash_table_remove (s->conns_by_remote, conn->remote);
    swarm_guard_input_stream_detach (conn->guard);
    if (conn->ws) {
      g_signal_handlers_disconnect_by_data (conn->ws, conn);
      g_object_unref (conn->ws);
    } else if (!g_input_stream_is_closed (G_INPUT_STREAM (conn->guard))) {
      /* Not upgraded: wake libsoup's reader so it lets go. */
      swarm_guard_input_stream_kill (conn->guard);
    }
    g_object_unref (conn->guard);
    g_object_unref (conn->tcp);
    g_object_unref (conn->remote);
  }
  swarm_rate_limiter_free (conn->budget);
  swarm_rate_limiter_free (conn->byte_budget);
  g_free (conn->host);
  g_free (conn);
}

/* Sees each chunk @conn sends before libsoup does (swarm-guard-stream.h);
 * FALSE fails libsoup's read, which closes the connection. */
static gboolean
conn_check_read (gpointer user_data, const guint8 * data, gsize len,
    GError ** error)
{
  Conn *conn = user_data;
  SwarmTrackerServer *s = conn->server;
  gint64 now = swarm_clock_now_us (s->clock);
  const gchar *why = NULL;
  gsize held;

  if (len == 0)
    return TRUE;
  conn->last_read_us = now;
  if (swarm_rate_limiter_take (conn->byte_budget, now, len) < len) {
    why = "byte flood";
    s->stats.connections_closed_flood++;
  } else if (!swarm_ws_scan_feed (&conn->scan, data, len, error)) {
    GST_INFO ("closing connection from %s: %s", conn->host,
        (*error)->message);
    s->stats.connections_closed_oversize++;
    return FALSE;
  } else {
    if (swarm_ws_scan_get_reply_bytes (&conn->scan) != conn->out_replies) {
      /* pings: libsoup queues a pong for each, read or not */
      conn->out_replies = swarm_ws_scan_get_reply_bytes (&conn->scan);
      conn_check_queued (conn);
    }
    held = swarm_ws_scan_get_held (&conn->scan);
    s->bytes_held = s->bytes_held - conn->held + held;
    conn->held = held;
    s->stats.bytes_held_max = MAX (s->stats.bytes_held_max, s->bytes_held);
    if (s->bytes_held > MAX_BYTES_HELD) {
      why = "unfinished messages over the tracker's bound";
      s->stats.connections_closed_oversize++;
    }
  }
  if (why) {
    GST_INFO ("closing connection from %s: %s", conn->host, why);
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
        why);
    return FALSE;
  }
  return TRUE;
}

/* Closes @conn for @why: a WebSocket is told why and given CLOSE_GRACE_US
 * to close; a connection not yet upgraded, or past its grace, is cut. */
static void
conn_close (Conn * conn, const gchar * why, gint64 now)
{
  GST_INFO ("closing connection from %s: %s", conn->host, why);
  if (conn->pipe) {
    if (conn->closing_us == 0 && swarm_tracker_pipe_is_open (conn->pipe)) {
      conn_fail (conn, why);
      swarm_tracker_pipe_close (conn->pipe);
      conn->closing_us = now;
    } else {
      g_hash_table_remove (conn->server->conns, conn);
    }
    return;
  }
  if (conn->ws && conn->closing_us == 0 &&
      soup_websocket_connection_get_state (conn->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN) {
    conn_fail (conn, why);
    soup_websocket_connection_close (conn->ws,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
    conn->closing_us = now;
    return;
  }
  /* Cut: libsoup's reader fails and closes what it holds. */
  swarm_guard_input_stream_kill (conn->guard);
  g_hash_table_remove (conn->server->conns, conn);
}

/* Closes connections that have not announced in time, went silent, or
 * did not finish closing; forgets those libsoup closed before upgrading. */
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

    if (conn->closing_us) {
      if (now - conn->closing_us > CLOSE_GRACE_US)
        conn_close (conn, "did not close in time", now);
    } else if (!conn->ws && !conn->pipe
        && g_input_stream_is_closed (G_INPUT_STREAM (conn->guard))) {
      GST_DEBUG ("connection from %s closed before upgrading", conn->host);
      g_hash_table_remove (s->conns, conn);
    } else if (!conn->announced && now - conn->accepted_us >
        (gint64) s->limits.unannounced_timeout_ms * 1000) {
      if (conn->ws || conn->pipe)
        s->stats.connections_closed_unannounced++;
      else
        s->stats.connections_closed_half_open++;
      conn_close (conn, conn->ws || conn->pipe ? "no announce in time" :
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

/* Closes at once for a protocol violation (the failure is already
 * sent). */
static void
conn_hang_up (Conn * conn)
{
  if (conn->pipe)
    swarm_tracker_pipe_close (conn->pipe);
  else if (conn->ws)
    soup_websocket_connection_close (conn->ws,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
}

static void
on_pipe_closed (SwarmTrackerPipe * pipe, gpointer user_data)
{
  Conn *conn = user_data;

  GST_DEBUG ("connection from %s closed", conn->host);
  g_hash_table_remove (conn->server->conns, conn);
}

static void
on_closed (SoupWebsocketConnection * ws, gpointer user_data)
{
  Conn *conn = user_data;

  GST_DEBUG ("connection from %s closed", conn->host);
  /* The set's destroy function frees the conn. */
  g_hash_table_remove (conn->server->conns, conn);
}

void
on_websocket (SoupServer * soup, SoupServerMessage * msg, const char *path,
    SoupWebsocketConnection * ws, gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  Conn *conn = g_hash_table_lookup (s->conns_by_remote,
      soup_server_message_get_remote_address (msg));

  if (conn == NULL || conn->ws) {
    /* Cut by a limit while libsoup was upgrading it: nothing it sends is
     * read. */
    GST_DEBUG ("upgrade of a connection already closed");
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
        NULL);
    return;
  }
  conn->ws = g_object_ref (ws);
  soup_websocket_connection_set_max_incoming_payload_size (ws,
      SWARM_TRACKER_MAX_MESSAGE);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), conn);
  GST_DEBUG ("connection from %s on %s", conn->host, path);
}

/* A connection's budgets and clocks, whatever carries it (@host: owned). */
static Conn *
conn_new (SwarmTrackerServer * s, gchar * host)
{
  Conn *conn = g_new0 (Conn, 1);

  conn->server = s;
  conn->host = host;
  conn->joined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  conn->budget = swarm_rate_limiter_new (MESSAGES_PER_S, MESSAGES_BURST);
  conn->byte_budget = swarm_rate_limiter_new (BYTES_PER_S, BYTES_BURST);
  conn->accepted_us = conn->last_read_us = swarm_clock_now_us (s->clock);
  return conn;
}

/* A connection over a limit costs no more than this: answered at once
 * (before its request, which is never read) and closed. */
static void
refuse (GSocketConnection * tcp, const gchar * why)
{
  g_autofree gchar *body = swarm_tracker_message_write_failure (why);
  g_autofree gchar *text = g_strdup_printf ("HTTP/1.1 503 %s\r\n"
      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n%s", why, strlen (body), body);
  GSocket *sock = g_socket_connection_get_socket (tcp);

  g_socket_send_with_blocking (sock, text, strlen (text), FALSE, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (tcp), NULL, NULL);
}

/* Every TCP connection is counted from here, before a byte of HTTP: a
 * half-open request holds a slot and its timeout like a WebSocket. */
static void
accept_one (SwarmTrackerServer * s, GSocketConnection * tcp)
{
  const SwarmTrackerServerLimits *lim = &s->limits;
  g_autoptr (GSocketAddress) remote = NULL, local = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) guarded = NULL;
  g_autofree gchar *host = NULL, *key = NULL;
  gint64 now = swarm_clock_now_us (s->clock);
  const gchar *why = NULL;
  GInetAddress *inet;
  Address *a;
  Conn *conn;

  remote = g_socket_connection_get_remote_address (tcp, NULL);
  local = g_socket_connection_get_local_address (tcp, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (remote) || local == NULL) {
    g_io_stream_close (G_IO_STREAM (tcp), NULL, NULL);
    return;
  }
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  host = g_inet_address_to_string (inet);
  key = address_key (inet);
  a = g_hash_table_lookup (s->addresses, key);

  if (g_hash_table_size (s->conns) >= lim->max_connections) {
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
    refuse (tcp, why);
    if (a)
      address_forget_if_idle (s, a, now);
    return;
  }

  /* What the kernel holds for a client that does not read: autotuned on
   * loopback or a fast path, it grew to megabytes before libsoup's queue
   * (which we bound) held a byte.  Offers and answers need little. */
  if (!g_socket_set_option (g_socket_connection_get_socket (tcp), SOL_SOCKET,
          SO_SNDBUF, SEND_BUFFER, &error)) {
    GST_DEBUG ("SO_SNDBUF: %s", error->message);
    g_clear_error (&error);
  }
  conn = conn_new (s, g_steal_pointer (&host));
  conn->address = a;
  a->conns++;
  conn->tcp = g_object_ref (tcp);
  conn->remote = g_object_ref (remote);
  swarm_ws_scan_init (&conn->scan, MAX_REQUEST_HEAD,
      SWARM_TRACKER_MAX_MESSAGE);
  guarded = swarm_guard_stream_new (G_IO_STREAM (tcp), conn_check_read,
      conn_wrote, conn, &conn->guard);
  g_object_ref (conn->guard);
  g_hash_table_add (s->conns, conn);
  g_hash_table_insert (s->conns_by_remote, conn->remote, conn);

  if (!soup_server_accept_iostream (s->soup, guarded, local, remote, &error)) {
    GST_WARNING ("tracker could not take a connection: %s", error->message);
    g_hash_table_remove (s->conns, conn);
  }
}

/* ---- file descriptors --------------------------------------------- */

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
  static const gchar why[] = "tracker out of file descriptors";
  g_autofree gchar *body = swarm_tracker_message_write_failure (why);
  g_autofree gchar *text = g_strdup_printf ("HTTP/1.1 503 %s\r\n"
      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n%s", why, strlen (body), body);
  gint64 now = g_get_monotonic_time ();
  gint fd, accept_errno;

  if (s->spare_fd < 0)
    return FDS_STUCK;
  close (s->spare_fd);
  fd = accept (g_socket_get_fd (s->listener), NULL, NULL);
  accept_errno = errno;
  s->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return accept_errno == EAGAIN || accept_errno == EWOULDBLOCK ?
        FDS_NONE_PENDING : FDS_STUCK;

  if (send (fd, text, strlen (text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    GST_DEBUG ("could not tell the refused connection: %s",
        g_strerror (errno));
  close (fd);
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

/* ---- listening ------------------------------------------------------ */

static gboolean
on_accept_resume (gpointer user_data)
{
  SwarmTrackerServer *s = user_data;

  g_clear_pointer (&s->accept_resume, g_source_unref);
  if (s->spare_fd < 0)
    s->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  accept_arm (s);
  return G_SOURCE_REMOVE;
}

/* Stops accepting for @ms: an error that would repeat at once. */
static void
accept_pause (SwarmTrackerServer * s, guint ms)
{
  g_source_destroy (s->accept_source);
  g_clear_pointer (&s->accept_source, g_source_unref);
  s->accept_resume = g_timeout_source_new (ms);
  g_source_set_callback (s->accept_resume, on_accept_resume, s, NULL);
  g_source_attach (s->accept_resume, s->context);
}

static gboolean
on_acceptable (GSocket * listener, GIOCondition condition,
    gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  guint i;

  for (i = 0; i < ACCEPT_BATCH; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GSocket) sock = g_socket_accept (listener, NULL, &error);
    g_autoptr (GSocketConnection) tcp = NULL;

    if (sock) {
      tcp = g_socket_connection_factory_create_connection (sock);
      accept_one (s, tcp);
    } else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      break;
    } else if (g_error_matches (error, G_IO_ERROR,
            G_IO_ERROR_TOO_MANY_OPEN_FILES)) {
      FdsOutcome outcome = refuse_out_of_fds (s);

      if (outcome == FDS_NONE_PENDING)
        break;
      if (outcome == FDS_STUCK) {
        accept_pause (s, 100);
        return G_SOURCE_REMOVE;
      }
    } else if (!g_error_matches (error, G_IO_ERROR,
            G_IO_ERROR_CONNECTION_CLOSED)) {
      /* ENOBUFS, ENOMEM...: not worth a busy loop */
      GST_WARNING ("tracker could not accept a connection: %s",
          error->message);
      accept_pause (s, 100);
      return G_SOURCE_REMOVE;
    }
  }
  return G_SOURCE_CONTINUE;
}

static void
accept_arm (SwarmTrackerServer * s)
{
  s->accept_source = g_socket_create_source (s->listener, G_IO_IN, NULL);
  g_source_set_callback (s->accept_source, G_SOURCE_FUNC (on_acceptable),
      s, NULL);
  g_source_attach (s->accept_source, s->context);
}

void
listener_close (SwarmTrackerServer * s)
{
  if (s->accept_source) {
    g_source_destroy (s->accept_source);
    g_clear_pointer (&s->accept_source, g_source_unref);
  }
  if (s->accept_resume) {
    g_source_destroy (s->accept_resume);
    g_clear_pointer (&s->accept_resume, g_source_unref);
  }
  if (s->listener) {
    g_socket_close (s->listener, NULL);
    g_clear_object (&s->listener);
  }
  if (s->spare_fd >= 0) {
    close (s->spare_fd);
    s->spare_fd = -1;
  }
  g_clear_pointer (&s->context, g_main_context_unref);
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
  g_source_attach (s->sweeper, g_main_context_get_thread_default ());
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
  g_return_val_if_fail (s->listener == NULL, FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        _("Invalid tracker listen address \"%s\""), address);
    return FALSE;
  }
  sockaddr = g_inet_socket_address_new (inet, port);
  /* We accept, count and time out every TCP connection ourselves and hand
   * libsoup only those within the limits (soup_server_accept_iostream). */
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

  fd_limit = swarm_tracker_server_raise_fd_limit ();
  /* a few for the rest of the process */
  if (fd_limit < (guint64) s->limits.max_connections + 64)
    GST_WARNING ("tracker-max-connections is %u but this process may open "
        "%" G_GUINT64_FORMAT " file descriptors: past about %"
        G_GUINT64_FORMAT " connections, viewers will be refused (raise the "
        "hard limit: ulimit -Hn, LimitNOFILE=)", s->limits.max_connections,
        fd_limit, fd_limit > 64 ? fd_limit - 64 : 0);
  s->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  /* Accepts on the thread-default context, as libsoup's IO does. */
  s->context = g_main_context_ref_thread_default ();
  accept_arm (s);

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
  start_sweeper (s);
  GST_INFO ("tracker listening in memory as %s", name);
  return TRUE;
}

SwarmTrackerPipe *
swarm_tracker_server_connect_memory (const gchar * url, SwarmClock * clock,
    GMainContext * context, GError ** error)
{
  static const SwarmTrackerPipeCallbacks pipe_callbacks = {
    .message = on_pipe_message,
    .closed = on_pipe_closed,
  };
  const gchar *name_start = url + strlen (SWARM_TRACKER_MEMORY_SCHEME);
  g_autofree gchar *name = g_strndup (name_start, strcspn (name_start, "/"));
  SwarmTrackerServer *s = NULL;
  SwarmTrackerPipe *ours, *theirs;
  Conn *conn;

  g_mutex_lock (&memory_lock);
  if (memory_servers)
    s = g_hash_table_lookup (memory_servers, name);
  g_mutex_unlock (&memory_lock);
  if (!s) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        _("No tracker named \"%s\" in this process"), name);
    return NULL;
  }
  if (g_hash_table_size (s->conns) >= s->limits.max_connections) {
    s->stats.connections_refused++;
    s->stats.refused_full++;
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        "tracker full: too many connections");
    return NULL;
  }
  swarm_tracker_pipe_new_pair (clock, context, s->memory_delay_ms, &ours,
      &theirs);
  /* every in-memory client is a host of its own */
  conn = conn_new (s, g_strdup_printf ("memory-%u", ++s->memory_conns));
  conn->pipe = ours;
  swarm_tracker_pipe_set_callbacks (ours, &pipe_callbacks, conn);
  g_hash_table_add (s->conns, conn);
  return theirs;
}

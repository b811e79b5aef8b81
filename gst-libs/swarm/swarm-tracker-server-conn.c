/* The embedded tracker's connections: TCP accepted and counted before
 * libsoup, the guard stream's scanner, WebSocket or in-memory pipe as the
 * transport, the sweep that closes the silent, listening on a port or in
 * memory.  What the messages mean is in swarm-tracker-server.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-tracker-server-private.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

static void conn_hang_up (Conn * conn);

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

/* Frees @conn and gives back its slot; libsoup keeps what it holds of the
 * connection and closes it in its own time. */
void
conn_free (Conn * conn)
{
  SwarmTrackerServer *s = conn->server;
  GHashTableIter iter;
  gpointer key, value;
  guint n;

  g_hash_table_iter_init (&iter, conn->joined);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Swarm *swarm = get_swarm (s, key, FALSE);

    /* remove_peer() with the owning conn leaves conn->joined alone. */
    if (swarm)
      remove_peer (s, swarm, value, conn);
  }
  g_hash_table_unref (conn->joined);

  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->conns_per_host, conn->host));
  if (n <= 1)
    g_hash_table_remove (s->conns_per_host, conn->host);
  else
    g_hash_table_insert (s->conns_per_host, g_strdup (conn->host),
        GUINT_TO_POINTER (n - 1));
  s->bytes_held -= conn->held;
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
        (gint64) s->unannounced_timeout_ms * 1000) {
      if (conn->ws || conn->pipe)
        s->stats.connections_closed_unannounced++;
      else
        s->stats.connections_closed_half_open++;
      conn_close (conn, conn->ws || conn->pipe ? "no announce in time" :
          "HTTP request not finished in time", now);
    } else if (now - conn->last_read_us >
        (gint64) s->idle_timeout_ms * 1000) {
      s->stats.connections_closed_idle++;
      conn_close (conn, "idle for too long", now);
    }
  }
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
static gboolean
on_incoming (GSocketService * service, GSocketConnection * tcp,
    GObject * source, gpointer user_data)
{
  SwarmTrackerServer *s = user_data;
  g_autoptr (GSocketAddress) remote = NULL, local = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) guarded = NULL;
  g_autofree gchar *host = NULL;
  Conn *conn;
  guint n;

  remote = g_socket_connection_get_remote_address (tcp, NULL);
  local = g_socket_connection_get_local_address (tcp, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (remote) || local == NULL) {
    g_io_stream_close (G_IO_STREAM (tcp), NULL, NULL);
    return TRUE;
  }
  host = g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (remote)));

  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->conns_per_host, host));
  if (n >= MAX_CONNS_PER_ADDRESS
      || g_hash_table_size (s->conns) >= s->max_connections) {
    GST_INFO ("refusing connection: %u already from %s, %u in all", n, host,
        g_hash_table_size (s->conns));
    s->stats.connections_refused++;
    refuse (tcp, n >= MAX_CONNS_PER_ADDRESS ?
        "too many connections from this address" :
        "tracker full: too many connections");
    return TRUE;
  }

  conn = conn_new (s, g_steal_pointer (&host));
  conn->tcp = g_object_ref (tcp);
  conn->remote = g_object_ref (remote);
  swarm_ws_scan_init (&conn->scan, MAX_REQUEST_HEAD,
      SWARM_TRACKER_MAX_MESSAGE);
  guarded = swarm_guard_stream_new (G_IO_STREAM (tcp), conn_check_read, conn,
      &conn->guard);
  g_object_ref (conn->guard);
  g_hash_table_add (s->conns, conn);
  g_hash_table_insert (s->conns_by_remote, conn->remote, conn);
  g_hash_table_insert (s->conns_per_host, g_strdup (conn->host),
      GUINT_TO_POINTER (n + 1));

  if (!soup_server_accept_iostream (s->soup, guarded, local, remote, &error)) {
    GST_WARNING ("tracker could not take a connection: %s", error->message);
    g_hash_table_remove (s->conns, conn);
  }
  return TRUE;
}

/* Listening (on a port or in memory): closes what does not announce in
 * time or goes silent, on the thread-default context. */
static void
start_sweeper (SwarmTrackerServer * s)
{
  guint period = CLAMP (MIN (s->unannounced_timeout_ms,
          s->idle_timeout_ms) / 4, 10, 1000);

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

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (s->service == NULL, FALSE);
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
  s->service = g_socket_service_new ();
  /* GLib's default of 10 would leave a crowd joining at once (or a burst
   * of attackers' SYNs) waiting for retransmits before we even count them:
   * accepted, they are counted and refused at once if over a limit. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (s->service), LISTEN_BACKLOG);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (s->service),
          sockaddr, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
          &effective, error)) {
    g_clear_object (&s->service);
    return FALSE;
  }
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
      (effective));
  g_signal_connect (s->service, "incoming", G_CALLBACK (on_incoming), s);
  /* Accepts on the thread-default context, as libsoup's IO does. */
  g_socket_service_start (s->service);

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
  g_return_val_if_fail (s->service == NULL && s->memory_name == NULL, FALSE);
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
  if (g_hash_table_size (s->conns) >= s->max_connections) {
    s->stats.connections_refused++;
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

/* WebTorrent tracker client over a libsoup 3 WebSocket.
 *
 * The client owns one connection and keeps it up: every failure or loss is
 * reported through the error callback and followed by a reconnect after a
 * backoff (0.5 s doubling to 8 s, reset once connected), until freed.
 *
 * Callbacks may free the client; a private reference held across each
 * dispatch keeps the object valid until the dispatch unwinds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <libsoup/soup.h>

#include "swarm.h"
#include "swarm-private.h"
#include "swarm-tracker-message.h"
#include "swarm-tracker-pipe.h"

#define GST_CAT_DEFAULT swarm_tracker_debug

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 8000
/* Pings keep NAT and proxy mappings open between announces (120 s). */
#define KEEPALIVE_S 20
/* Re-announce period when the tracker names none, and the bounds we hold
 * a tracker's "interval" to (aquatic forgets a peer after 180 s). */
#define REANNOUNCE_DEFAULT_S 120
#define REANNOUNCE_MIN_S 10
#define REANNOUNCE_MAX_S 1800
/* How long a goodbye may wait for the tracker's half of the close
 * handshake before the connection is dropped. */
#define GOODBYE_MS 1000

struct _SwarmTrackerClient {
  gint ref_count;
  gboolean started;
  gboolean stopped;             /* freed by the user: no more callbacks */

  GMainContext *context;
  SwarmClock *clock;             /* timers: backoff, re-announce, goodbye */
  SoupSession *session;
  gchar *url;
  gchar *info_hash;
  gchar *peer_id;
  SwarmTrackerClientCallbacks cb;
  gpointer user_data;

  SoupWebsocketConnection *ws;  /* NULL unless open */
  SwarmTrackerPipe *pipe;        /* a memory:// tracker instead of ws */
  GCancellable *cancellable;    /* of the connect in progress */
  SoupMessage *connect_msg;     /* its request: a refusal's status */
  GSource *retry_source;
  guint backoff_ms;
  guint failures;               /* connect failures and losses since open */
  gchar *refusal;               /* what the tracker said, turning us away */
  gint64 last_left;

  /* Trackers forget silent peers: announce again every interval. */
  GSource *reannounce_source;
  guint interval_s;

  /* After free: the closing connection, and who waits for it to end. */
  GSource *goodbye_source;
  GDestroyNotify goodbye_done;
  gpointer goodbye_data;
};

static void client_connect (SwarmTrackerClient * c);
static void schedule_reannounce (SwarmTrackerClient * c);

static SwarmTrackerClient *
client_ref (SwarmTrackerClient * c)
{
  c->ref_count++;
  return c;
}

static void
client_unref (SwarmTrackerClient * c)
{
  if (--c->ref_count > 0)
    return;

  g_assert (c->ws == NULL && c->pipe == NULL && c->retry_source == NULL
      && c->reannounce_source == NULL);
  g_clear_object (&c->cancellable);
  g_clear_object (&c->connect_msg);
  g_object_unref (c->session);
  g_main_context_unref (c->context);
  swarm_clock_unref (c->clock);
  g_free (c->url);
  g_free (c->refusal);
  g_free (c->info_hash);
  g_free (c->peer_id);
  g_free (c);
}

static void
report_error (SwarmTrackerClient * c, SwarmTrackerError code,
    const gchar * format, ...) G_GNUC_PRINTF (3, 4);

static void
report_error (SwarmTrackerClient * c, SwarmTrackerError code,
    const gchar * format, ...)
{
  g_autoptr (GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (SWARM_TRACKER_ERROR, code, format, args);
  va_end (args);
  if (code == SWARM_TRACKER_ERROR_CONNECT || code == SWARM_TRACKER_ERROR_CLOSED
      || code == SWARM_TRACKER_ERROR_REFUSED)
    c->failures++;

  GST_INFO ("tracker %s: %s", c->url, error->message);
  if (!c->stopped && c->cb.error)
    c->cb.error (c, error, c->user_data);
}

static gboolean
on_retry (gpointer user_data)
{
  SwarmTrackerClient *c = user_data;

  g_source_unref (c->retry_source);
  c->retry_source = NULL;
  client_connect (c);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (SwarmTrackerClient * c)
{
  if (c->stopped || c->retry_source)
    return;

  GST_DEBUG ("reconnecting to %s in %u ms", c->url, c->backoff_ms);
  c->retry_source = swarm_clock_timeout_source_new (c->clock, c->backoff_ms);
  swarm_clock_source_set_callback (c->clock, c->retry_source, on_retry, c);
  g_source_attach (c->retry_source, c->context);
  c->backoff_ms = MIN (c->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void
cancel_reannounce (SwarmTrackerClient * c)
{
  if (c->reannounce_source) {
    g_source_destroy (c->reannounce_source);
    g_source_unref (c->reannounce_source);
    c->reannounce_source = NULL;
  }
}

static void
drop_connection (SwarmTrackerClient * c)
{
  cancel_reannounce (c);
  g_clear_pointer (&c->pipe, swarm_tracker_pipe_free);
  if (c->ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data (c->ws, c);
  if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&c->ws);
}

static void
handle_message (SwarmTrackerClient * c, const SwarmTrackerMessage * m)
{
  if (m->failure_reason) {
    g_free (c->refusal);
    c->refusal = g_strdup (m->failure_reason);
    report_error (c, SWARM_TRACKER_ERROR_FAILURE,
        _("Tracker %s refused the request: %s"), c->url, m->failure_reason);
    return;
  }
  if (m->action != SWARM_TRACKER_ACTION_ANNOUNCE)
    return;
  if (strcmp (m->info_hash, c->info_hash) != 0) {
    GST_DEBUG ("ignoring message for another info_hash");
    return;
  }

  if (m->offer_sdp) {
    if (c->cb.offer)
      c->cb.offer (c, m->peer_id, m->offer_id, m->offer_sdp, c->user_data);
  } else if (m->answer_sdp) {
    if (c->cb.answer)
      c->cb.answer (c, m->peer_id, m->offer_id, m->answer_sdp, c->user_data);
  } else if (m->interval >= 0 || m->complete >= 0 || m->incomplete >= 0) {
    if (m->interval > 0) {
      guint interval = CLAMP (m->interval, REANNOUNCE_MIN_S,
          REANNOUNCE_MAX_S);

      /* the timer started with the announce, before the tracker said */
      if (interval != c->interval_s) {
        c->interval_s = interval;
        schedule_reannounce (c);
      }
    }
    if (c->cb.announce_reply)
      c->cb.announce_reply (c, MAX (m->complete, 0), MAX (m->incomplete, 0),
          MAX (m->interval, 0), c->user_data);
  }
}

static void
on_text (SwarmTrackerClient * c, const gchar * data, gsize len)
{
  g_autoptr (SwarmTrackerMessage) m = NULL;
  g_autoptr (GError) error = NULL;

  m = swarm_tracker_message_parse (data, len, &error);
  if (m == NULL) {
    /* One bad message from a tracker does not make the others wrong. */
    GST_WARNING ("ignoring message from tracker %s: %s", c->url,
        error->message);
    return;
  }

  client_ref (c);
  handle_message (c, m);
  client_unref (c);
}

static void
on_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer user_data)
{
  SwarmTrackerClient *c = user_data;
  gconstpointer data;
  gsize len;

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    GST_WARNING ("tracker %s sent a binary frame; ignored", c->url);
    return;
  }
  data = g_bytes_get_data (message, &len);
  on_text (c, data, len);
}

static void
on_pipe_message (SwarmTrackerPipe * pipe, const gchar * data, gsize len,
    gpointer user_data)
{
  on_text (user_data, data, len);
}

static void
tracker_closed (SwarmTrackerClient * c, gushort code)
{
  client_ref (c);
  drop_connection (c);
  report_error (c, SWARM_TRACKER_ERROR_CLOSED,
      _("Tracker %s closed the connection (code %u)"), c->url, code);
  schedule_retry (c);
  client_unref (c);
}

static void
on_closed (SoupWebsocketConnection * ws, gpointer user_data)
{
  tracker_closed (user_data, soup_websocket_connection_get_close_code (ws));
}

static void
on_pipe_closed (SwarmTrackerPipe * pipe, gpointer user_data)
{
  tracker_closed (user_data, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
}

/* "memory://NAME/announce": a tracker in this process
 * (swarm_tracker_server_listen_memory), over an in-memory pipe. */
static void
client_connect_memory (SwarmTrackerClient * c)
{
  static const SwarmTrackerPipeCallbacks pipe_callbacks = {
    .message = on_pipe_message,
    .closed = on_pipe_closed,
  };
  g_autoptr (GError) error = NULL;

  client_ref (c);
  c->pipe = swarm_tracker_server_connect_memory (c->url, c->clock,
      c->context, &error);
  if (!c->pipe) {
    report_error (c, SWARM_TRACKER_ERROR_CONNECT,
        _("Could not connect to tracker %s: %s"), c->url, error->message);
    schedule_retry (c);
  } else {
    GST_INFO ("connected to tracker %s", c->url);
    swarm_tracker_pipe_set_callbacks (c->pipe, &pipe_callbacks, c);
    c->backoff_ms = BACKOFF_MIN_MS;
    c->failures = 0;
    if (c->cb.connected)
      c->cb.connected (c, c->user_data);
  }
  client_unref (c);
}

static void
on_connected (GObject * source, GAsyncResult * result, gpointer user_data)
{
  SwarmTrackerClient *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *reason = NULL;
  SoupWebsocketConnection *ws;
  guint status;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
      &error);
  g_clear_object (&c->cancellable);
  status = soup_message_get_status (c->connect_msg);
  reason = g_strdup (soup_message_get_reason_phrase (c->connect_msg));
  g_clear_object (&c->connect_msg);

  if (c->stopped) {
    if (ws) {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
          NULL);
      g_object_unref (ws);
    }
  } else if (ws == NULL && status == SOUP_STATUS_SERVICE_UNAVAILABLE
      && reason && *reason) {
    /* Our tracker refuses over its limits before the upgrade, with the
     * reason as the status text. */
    g_free (c->refusal);
    c->refusal = g_strdup (reason);
    report_error (c, SWARM_TRACKER_ERROR_REFUSED,
        _("Tracker %s refused the connection: %s"), c->url, reason);
    schedule_retry (c);
  } else if (ws == NULL) {
    report_error (c, SWARM_TRACKER_ERROR_CONNECT,
        _("Could not connect to tracker %s: %s"), c->url, error->message);
    schedule_retry (c);
  } else {
    GST_INFO ("connected to tracker %s", c->url);
    c->ws = ws;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->failures = 0;
    soup_websocket_connection_set_keepalive_interval (ws, KEEPALIVE_S);
    soup_websocket_connection_set_max_incoming_payload_size (ws,
        SWARM_TRACKER_MAX_MESSAGE);
    g_signal_connect (ws, "message", G_CALLBACK (on_message), c);
    g_signal_connect (ws, "closed", G_CALLBACK (on_closed), c);
    if (c->cb.connected)
      c->cb.connected (c, c->user_data);
  }
  client_unref (c);             /* the connect's reference */
}

static void
client_connect (SwarmTrackerClient * c)
{
  g_autoptr (SoupMessage) msg = NULL;

  if (c->stopped || c->ws || c->pipe || c->cancellable)
    return;
  if (g_str_has_prefix (c->url, SWARM_TRACKER_MEMORY_SCHEME)) {
    client_connect_memory (c);
    return;
  }

  msg = soup_message_new (SOUP_METHOD_GET, c->url);
  if (msg == NULL) {
    client_ref (c);
    report_error (c, SWARM_TRACKER_ERROR_CONNECT,
        _("Invalid tracker URL \"%s\""), c->url);
    schedule_retry (c);
    client_unref (c);
    return;
  }

  c->cancellable = g_cancellable_new ();
  c->connect_msg = g_object_ref (msg);
  /* libsoup completes on the thread-default context of the caller; timers
   * may fire while the owner iterates our context without pushing it. */
  g_main_context_push_thread_default (c->context);
  soup_session_websocket_connect_async (c->session, msg, NULL, NULL,
      G_PRIORITY_DEFAULT, c->cancellable, on_connected, client_ref (c));
  g_main_context_pop_thread_default (c->context);
}

/* ---- public API --------------------------------------------------- */

SwarmTrackerClient *
swarm_tracker_client_new (const gchar * url, const gchar * info_hash,
    const gchar * peer_id, const SwarmTrackerClientCallbacks * callbacks,
    gpointer user_data)
{
  SwarmTrackerClient *c;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (swarm_tracker_id_is_valid (info_hash), NULL);
  g_return_val_if_fail (swarm_tracker_id_is_valid (peer_id), NULL);

  swarm_init ();

  c = g_new0 (SwarmTrackerClient, 1);
  c->ref_count = 1;
  c->context = g_main_context_ref_thread_default ();
  c->clock = swarm_clock_get_system ();
  c->session = soup_session_new ();
  c->url = g_strdup (url);
  c->info_hash = g_strdup (info_hash);
  c->peer_id = g_strdup (peer_id);
  if (callbacks)
    c->cb = *callbacks;
  c->user_data = user_data;
  c->backoff_ms = BACKOFF_MIN_MS;
  c->interval_s = REANNOUNCE_DEFAULT_S;
  return c;
}

void
swarm_tracker_client_set_clock (SwarmTrackerClient * c, SwarmClock * clock)
{
  swarm_clock_replace (&c->clock, clock);
}

void
swarm_tracker_client_start (SwarmTrackerClient * c)
{
  g_return_if_fail (c != NULL);

  if (c->started)
    return;
  c->started = TRUE;
  client_connect (c);
}

gboolean
swarm_tracker_client_is_connected (SwarmTrackerClient * c)
{
  g_return_val_if_fail (c != NULL, FALSE);

  return c->ws != NULL || c->pipe != NULL;
}

const gchar *
swarm_tracker_client_get_url (SwarmTrackerClient * c)
{
  g_return_val_if_fail (c != NULL, NULL);

  return c->url;
}

const gchar *
swarm_tracker_client_get_refusal (SwarmTrackerClient * c)
{
  return c->refusal;
}

guint
swarm_tracker_client_get_failures (SwarmTrackerClient * c)
{
  g_return_val_if_fail (c != NULL, 0);

  return c->failures;
}

static gboolean
send_frame (SwarmTrackerClient * c, gchar * text, GError ** error)
{
  if (text == NULL)
    return FALSE;
  /* closing (the tracker went away and its close is on its way to us):
   * as good as not connected */
  if (c->pipe && swarm_tracker_pipe_send (c->pipe, text)) {
    g_free (text);
    return TRUE;
  }
  if (c->ws == NULL || soup_websocket_connection_get_state (c->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN) {
    g_set_error (error, SWARM_TRACKER_ERROR, SWARM_TRACKER_ERROR_CONNECT,
        _("Not connected to tracker %s"), c->url);
    g_free (text);
    return FALSE;
  }
  soup_websocket_connection_send_text (c->ws, text);
  g_free (text);
  return TRUE;
}

static gboolean
on_reannounce (gpointer user_data)
{
  SwarmTrackerClient *c = user_data;

  g_source_unref (c->reannounce_source);
  c->reannounce_source = NULL;
  GST_DEBUG ("announcing again to %s", c->url);
  swarm_tracker_client_announce (c, NULL, c->last_left, 0, NULL, 0, NULL);
  return G_SOURCE_REMOVE;
}

/* Every announce restarts the period. */
static void
schedule_reannounce (SwarmTrackerClient * c)
{
  cancel_reannounce (c);
  if (c->stopped || c->ws == NULL)
    return;
  c->reannounce_source = swarm_clock_timeout_source_new (c->clock,
      c->interval_s * 1000);
  swarm_clock_source_set_callback (c->clock, c->reannounce_source,
      on_reannounce, c);
  g_source_attach (c->reannounce_source, c->context);
}

gboolean
swarm_tracker_client_announce (SwarmTrackerClient * c, const gchar * event,
    gint64 left, guint numwant, const SwarmTrackerOffer * offers,
    guint n_offers, GError ** error)
{
  gchar *text;
  guint i;

  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (n_offers <= SWARM_TRACKER_MAX_OFFERS, FALSE);
  g_return_val_if_fail (n_offers == 0 || offers != NULL, FALSE);
  for (i = 0; i < n_offers; i++) {
    g_return_val_if_fail (swarm_tracker_id_is_valid (offers[i].offer_id),
        FALSE);
    g_return_val_if_fail (offers[i].sdp != NULL, FALSE);
  }

  /* Size first, so an oversized offer is reported as such even offline. */
  text = swarm_tracker_message_write_announce (c->info_hash, c->peer_id,
      event, left, numwant, offers, n_offers, error);
  if (text && c->ws)
    c->last_left = left;
  if (!send_frame (c, text, error))
    return FALSE;
  schedule_reannounce (c);
  return TRUE;
}

gboolean
swarm_tracker_client_answer (SwarmTrackerClient * c, const gchar * to_peer_id,
    const gchar * offer_id, const gchar * sdp, GError ** error)
{
  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (swarm_tracker_id_is_valid (to_peer_id), FALSE);
  g_return_val_if_fail (swarm_tracker_id_is_valid (offer_id), FALSE);
  g_return_val_if_fail (sdp != NULL, FALSE);

  return send_frame (c, swarm_tracker_message_write_answer (c->info_hash,
          c->peer_id, c->last_left, to_peer_id, offer_id, sdp, error), error);
}

/* The goodbye is over: the tracker closed its half, or took too long. */
static void
goodbye_finish (SwarmTrackerClient * c)
{
  GDestroyNotify done = c->goodbye_done;

  if (c->goodbye_source) {
    g_source_destroy (c->goodbye_source);
    g_clear_pointer (&c->goodbye_source, g_source_unref);
  }
  if (c->ws) {
    g_signal_handlers_disconnect_by_data (c->ws, c);
    g_clear_object (&c->ws);
  }
  g_clear_pointer (&c->pipe, swarm_tracker_pipe_free);
  c->goodbye_done = NULL;
  if (done)
    done (c->goodbye_data);
  client_unref (c);             /* the goodbye's reference */
}

static void
on_goodbye_closed (SoupWebsocketConnection * ws, gpointer user_data)
{
  goodbye_finish (user_data);
}

static gboolean
on_goodbye_timeout (gpointer user_data)
{
  SwarmTrackerClient *c = user_data;

  GST_DEBUG ("tracker %s did not finish closing in %u ms", c->url,
      GOODBYE_MS);
  goodbye_finish (c);
  return G_SOURCE_REMOVE;
}

/* "stopped", then a close handshake that reads whatever the tracker still
 * sends, so that our socket never closes on unread data. */
/* The goodbye ends when the tracker closes its half, or GOODBYE_MS. */
static void
arm_goodbye_timeout (SwarmTrackerClient * c)
{
  c->goodbye_source = swarm_clock_timeout_source_new (c->clock, GOODBYE_MS);
  g_source_set_callback (c->goodbye_source, on_goodbye_timeout, c, NULL);
  g_source_attach (c->goodbye_source, c->context);
}

static void
on_pipe_goodbye_closed (SwarmTrackerPipe * pipe, gpointer user_data)
{
  goodbye_finish (user_data);
}

static gboolean
say_goodbye_memory (SwarmTrackerClient * c)
{
  static const SwarmTrackerPipeCallbacks goodbye_callbacks = {
    .closed = on_pipe_goodbye_closed,
  };

  if (!swarm_tracker_pipe_is_open (c->pipe))
    return FALSE;
  send_frame (c, swarm_tracker_message_write_announce (c->info_hash,
          c->peer_id, "stopped", c->last_left, 0, NULL, 0, NULL), NULL);
  cancel_reannounce (c);
  swarm_tracker_pipe_set_callbacks (c->pipe, &goodbye_callbacks, c);
  arm_goodbye_timeout (c);
  swarm_tracker_pipe_close (c->pipe);
  return TRUE;
}

static gboolean
say_goodbye (SwarmTrackerClient * c)
{
  gchar *text;

  if (c->pipe)
    return say_goodbye_memory (c);
  if (c->ws == NULL
      || soup_websocket_connection_get_state (c->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  text = swarm_tracker_message_write_announce (c->info_hash, c->peer_id,
      "stopped", c->last_left, 0, NULL, 0, NULL);
  send_frame (c, text, NULL);
  cancel_reannounce (c);
  g_signal_handlers_disconnect_by_data (c->ws, c);
  g_signal_connect (c->ws, "closed", G_CALLBACK (on_goodbye_closed), c);
  arm_goodbye_timeout (c);
  /* may finish (and free @c) at once */
  soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
      NULL);
  return TRUE;
}

void
swarm_tracker_client_free (SwarmTrackerClient * c)
{
  swarm_tracker_client_free_full (c, NULL, NULL);
}

void
swarm_tracker_client_free_full (SwarmTrackerClient * c, GDestroyNotify done,
    gpointer user_data)
{
  if (c == NULL || c->stopped)
    return;

  c->stopped = TRUE;
  c->goodbye_done = done;
  c->goodbye_data = user_data;
  /* the user's reference now belongs to the goodbye */
  if (say_goodbye (c))
    return;
  drop_connection (c);
  cancel_reannounce (c);
  if (c->cancellable)
    g_cancellable_cancel (c->cancellable);
  if (c->retry_source) {
    g_source_destroy (c->retry_source);
    g_source_unref (c->retry_source);
    c->retry_source = NULL;
  }
  goodbye_finish (c);
}

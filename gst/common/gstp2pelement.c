/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>
#include "gstp2pelement.h"

/* Ranges of the numeric properties.  Their GParamSpecs take any guint:
 * GObject would drop a value out of range with a warning on stderr and
 * keep the old one, which an application watching the bus never learns.
 * set_property clamps it and start() posts a warning naming the property,
 * the value and the one used (swarm-settings.h). */
#define MAX_PEERS_MIN 1
#define MAX_PEERS_MAX 1000
#define DEFAULT_STATS_INTERVAL 1000

#define PARAM_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_READY)

void
gst_p2p_element_install_properties (GObjectClass * klass,
    const GstP2pPropertyText * text)
{
  g_object_class_install_property (klass, GST_P2P_PROP_MAX_PEERS,
      g_param_spec_uint ("max-peers", "Max peers", text->max_peers_blurb, 0,
          G_MAXUINT, text->max_peers_default, PARAM_FLAGS));
  g_object_class_install_property (klass, GST_P2P_PROP_STUN_SERVER,
      g_param_spec_string ("stun-server", "STUN server",
          "STUN server for NAT traversal, stun://host:port", NULL,
          PARAM_FLAGS));
  g_object_class_install_property (klass, GST_P2P_PROP_TURN_SERVER,
      g_param_spec_string ("turn-server", "TURN server",
          "TURN relay for peers that cannot connect directly, "
          "turn://user:password@host:port[?transport=tcp]", NULL,
          PARAM_FLAGS));
  /* The session (GstSwarm.Session), from start (READY to PAUSED) until
   * stop; NULL otherwise.  Its "peer-added" and "peer-removed" signals
   * tell of partners as they come and go: connect to them in a
   * notify::session handler to miss none. */
  g_object_class_install_property (klass, GST_P2P_PROP_SESSION,
      g_param_spec_object ("session", "Session",
          "The swarm session while the element runs (GstSwarm.Session)",
          SWARM_TYPE_SESSION, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (klass, GST_P2P_PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", text->stats_blurb,
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (klass, GST_P2P_PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Stats interval",
          "Post a p2p-stats element message every this many milliseconds "
          "(0 = never)", 0, G_MAXUINT, DEFAULT_STATS_INTERVAL, PARAM_FLAGS));
  g_object_class_install_property (klass, GST_P2P_PROP_UPLOAD_LIMIT,
      g_param_spec_uint ("upload-limit", "Upload limit",
          text->upload_limit_blurb, 0, G_MAXUINT, 0, PARAM_FLAGS));
  /* write-only: the secret is never shown */
  g_object_class_install_property (klass, GST_P2P_PROP_SECRET,
      g_param_spec_string ("secret", "Secret", text->secret_blurb, NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /* Path of a file holding the private swarm's secret (one trailing
   * newline is dropped), read at start: keeps the secret off the command
   * line and out of GStreamer's logs.  Used when the secret property
   * gives none; without either, the environment variable P2P_SECRET. */
  g_object_class_install_property (klass, GST_P2P_PROP_SECRET_FILE,
      g_param_spec_string ("secret-file", "Secret file",
          text->secret_file_blurb, NULL, PARAM_FLAGS));
}

void
gst_p2p_settings_init (GstP2pSettings * settings,
    const GstP2pPropertyText * text, GstElement * element, gboolean viewer,
    void (*add_stats) (GstElement * element, GstStructure * stats))
{
  *settings = (GstP2pSettings) {
  0};
  settings->element = element;
  settings->viewer = viewer;
  settings->add_stats = add_stats;
  settings->max_peers = text->max_peers_default;
  settings->stats_interval = DEFAULT_STATS_INTERVAL;
  settings->setting_warnings = g_ptr_array_new_with_free_func (g_free);
}

void
gst_p2p_settings_clear (GstP2pSettings * settings)
{
  g_clear_pointer (&settings->stun_server, g_free);
  g_clear_pointer (&settings->turn_server, g_free);
  g_clear_pointer (&settings->secret_file, g_free);
  swarm_secret_clear_string (&settings->secret);
  g_clear_pointer (&settings->setting_warnings, g_ptr_array_unref);
  g_clear_object (&settings->session);
}

static void
replace_string (gchar ** slot, const GValue * value)
{
  g_free (*slot);
  *slot = g_value_dup_string (value);
}

gboolean
gst_p2p_element_set_property (GstElement * element,
    GstP2pSettings * settings, guint prop_id, const GValue * value)
{
  gboolean known = TRUE;

  GST_OBJECT_LOCK (element);
  switch (prop_id) {
    case GST_P2P_PROP_MAX_PEERS:
      settings->max_peers = swarm_settings_clamp (element,
          settings->setting_warnings, "max-peers", g_value_get_uint (value),
          MAX_PEERS_MIN, MAX_PEERS_MAX);
      break;
    case GST_P2P_PROP_STUN_SERVER:
      replace_string (&settings->stun_server, value);
      break;
    case GST_P2P_PROP_TURN_SERVER:
      replace_string (&settings->turn_server, value);
      break;
    case GST_P2P_PROP_STATS_INTERVAL:
      settings->stats_interval = g_value_get_uint (value);
      break;
    case GST_P2P_PROP_UPLOAD_LIMIT:
      settings->upload_limit = g_value_get_uint (value);
      break;
    case GST_P2P_PROP_SECRET:
      swarm_secret_clear_string (&settings->secret);
      settings->secret = g_value_dup_string (value);
      break;
    case GST_P2P_PROP_SECRET_FILE:
      replace_string (&settings->secret_file, value);
      break;
    default:
      known = FALSE;
      break;
  }
  GST_OBJECT_UNLOCK (element);
  return known;
}

gboolean
gst_p2p_element_get_property (GstElement * element,
    GstP2pSettings * settings, guint prop_id, GValue * value)
{
  gboolean known = TRUE;

  GST_OBJECT_LOCK (element);
  switch (prop_id) {
    case GST_P2P_PROP_MAX_PEERS:
      g_value_set_uint (value, settings->max_peers);
      break;
    case GST_P2P_PROP_STUN_SERVER:
      g_value_set_string (value, settings->stun_server);
      break;
    case GST_P2P_PROP_TURN_SERVER:
      g_value_set_string (value, settings->turn_server);
      break;
    case GST_P2P_PROP_STATS_INTERVAL:
      g_value_set_uint (value, settings->stats_interval);
      break;
    case GST_P2P_PROP_UPLOAD_LIMIT:
      g_value_set_uint (value, settings->upload_limit);
      break;
    case GST_P2P_PROP_SECRET_FILE:
      g_value_set_string (value, settings->secret_file);
      break;
    case GST_P2P_PROP_SESSION:
      g_value_set_object (value, settings->session);
      break;
    default:
      known = FALSE;
      break;
  }
  GST_OBJECT_UNLOCK (element);
  return known;
}

gboolean
gst_p2p_element_prepare (GstElement * element, GstP2pSettings * settings,
    GstP2pSessionParams * params)
{
  g_autofree gchar *stun_text = NULL, *turn_text = NULL, *file = NULL;
  gchar *given;
  GError *error = NULL;

  *params = (GstP2pSessionParams) {
  0};
  swarm_settings_post_warnings (element, &settings->setting_warnings);
  GST_OBJECT_LOCK (element);
  stun_text = g_strdup (settings->stun_server);
  turn_text = g_strdup (settings->turn_server);
  given = g_strdup (settings->secret);
  file = g_strdup (settings->secret_file);
  params->max_peers = settings->max_peers;
  params->upload_limit = settings->upload_limit;
  params->stats_interval = settings->stats_interval;
  GST_OBJECT_UNLOCK (element);

  /* the secret property (or secret= in a viewer's URI), secret-file,
   * P2P_SECRET */
  if (!swarm_secret_lookup (given, file, &params->secret, &error)) {
    swarm_secret_clear_string (&given);
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        (_("Could not read the swarm secret.")), ("%s", error->message));
    goto failed;
  }
  swarm_secret_clear_string (&given);
  if (params->secret && !*params->secret)
    swarm_secret_clear_string (&params->secret);
  /* weak secrets are refused before anything goes on the network (see
   * swarm-secret.h): the message names the minimum and p2p-key */
  if (params->secret && !swarm_secret_check (params->secret, &error)) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    goto failed;
  }
  if ((stun_text && *stun_text && !(params->stun =
              swarm_ice_server_parse (stun_text, FALSE, &error)))
      || (turn_text && *turn_text && !(params->turn =
              swarm_ice_server_parse (turn_text, TRUE, &error)))) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        (_("Invalid STUN or TURN server setting.")), ("%s", error->message));
    goto failed;
  }
  return TRUE;

failed:
  g_error_free (error);
  gst_p2p_session_params_clear (params);
  return FALSE;
}

void
gst_p2p_session_params_fill (const GstP2pSessionParams * params,
    SwarmSessionConfig * config)
{
  config->max_peers = params->max_peers;
  config->stun = params->stun;
  config->turn = params->turn;
  config->stats_interval_ms = params->stats_interval;
  config->stats_name = "p2p-stats";
  config->upload_limit_kbps = params->upload_limit;
  config->secret = params->secret;
}

void
gst_p2p_session_params_clear (GstP2pSessionParams * params)
{
  g_clear_pointer (&params->stun, swarm_ice_server_free);
  g_clear_pointer (&params->turn, swarm_ice_server_free);
  swarm_secret_clear_string (&params->secret);
}

void
gst_p2p_element_expose_session (GstElement * element,
    GstP2pSettings * settings, SwarmSession * session)
{
  SwarmSession *old;

  GST_OBJECT_LOCK (element);
  old = settings->session;
  settings->session = session ? g_object_ref (session) : NULL;
  GST_OBJECT_UNLOCK (element);
  g_clear_object (&old);
  g_object_notify (G_OBJECT (element), "session");
}

void
gst_p2p_element_stop_session (GstElement * element, GstP2pSettings * settings)
{
  SwarmSession *session;

  GST_OBJECT_LOCK (element);
  session = settings->session ? g_object_ref (settings->session) : NULL;
  GST_OBJECT_UNLOCK (element);
  if (session)
    swarm_session_stop (session);
  gst_p2p_element_expose_session (element, settings, NULL);
  g_clear_object (&session);
}

/* ---- the session's callbacks (network thread) ---- */

static void
on_session_error (SwarmSession * s, const GError * error, gpointer user_data)
{
  GstP2pSettings *settings = user_data;

  gst_p2p_element_post_session_error (settings->element, error,
      settings->viewer, &settings->error_posted);
}

static void
on_session_warning (SwarmSession * s, const GError * error, gpointer user_data)
{
  GstP2pSettings *settings = user_data;

  gst_p2p_element_post_session_warning (settings->element, error,
      settings->viewer);
}

static void
on_session_stats (SwarmSession * s, const GstStructure * stats,
    gpointer user_data)
{
  GstP2pSettings *settings = user_data;
  GstStructure *copy = gst_structure_copy (stats);

  GST_OBJECT_LOCK (settings->element);
  settings->add_stats (settings->element, copy);
  GST_OBJECT_UNLOCK (settings->element);
  gst_element_post_message (settings->element,
      gst_message_new_element (GST_OBJECT (settings->element), copy));
}

SwarmSession *
gst_p2p_element_start_session (GstP2pSettings * settings,
    const SwarmSessionConfig * config, guint ready_timeout_ms,
    GError ** error)
{
  static const SwarmSessionCallbacks callbacks = {
    .error = on_session_error,
    .warning = on_session_warning,
    .stats = on_session_stats,
  };
  GstElement *element = settings->element;
  SwarmSession *session;

  g_atomic_int_set (&settings->error_posted, 0);
  session = swarm_session_new (config, &callbacks, settings);

  gst_p2p_element_expose_session (element, settings, session);
  if (!swarm_session_start (session, error) || (ready_timeout_ms &&
          !swarm_session_wait_ready (session, ready_timeout_ms, error))) {
    swarm_session_stop (session);
    gst_p2p_element_expose_session (element, settings, NULL);
    swarm_session_free (session);
    return NULL;
  }
  /* settings->session holds it from here */
  g_object_unref (session);
  return session;
}

GstStructure *
gst_p2p_element_get_stats (GstP2pSettings * settings,
    const gchar * first_field, ...)
{
  GstStructure *stats;
  va_list args;

  GST_OBJECT_LOCK (settings->element);
  if (settings->session) {
    stats = swarm_session_get_stats (settings->session);
  } else {
    va_start (args, first_field);
    stats = gst_structure_new_valist ("p2p-stats", first_field, args);
    va_end (args);
  }
  settings->add_stats (settings->element, stats);
  GST_OBJECT_UNLOCK (settings->element);
  return stats;
}

GstClockTime
gst_p2p_element_running_time (GstElement * element)
{
  GstClock *clock = gst_element_get_clock (element);
  GstClockTime now, base;

  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  gst_object_unref (clock);
  base = gst_element_get_base_time (element);
  return now > base ? now - base : 0;
}

static gint
session_error_code (const GError * error, gboolean viewer)
{
  if (error->domain != SWARM_SESSION_ERROR)
    return GST_RESOURCE_ERROR_FAILED;
  switch (error->code) {
    case SWARM_SESSION_ERROR_TRACKER:
      return viewer ? GST_RESOURCE_ERROR_OPEN_READ :
          GST_RESOURCE_ERROR_OPEN_WRITE;
    case SWARM_SESSION_ERROR_SECRET:
      return GST_RESOURCE_ERROR_NOT_AUTHORIZED;
    case SWARM_SESSION_ERROR_SETTINGS:
      return GST_RESOURCE_ERROR_SETTINGS;
    case SWARM_SESSION_ERROR_JOIN_TIMEOUT:
    case SWARM_SESSION_ERROR_FAILED:
    default:
      /* a viewer that found no swarm to play in time, whatever the cause
       * the session could tell (documented on p2psrc) */
      return viewer ? GST_RESOURCE_ERROR_NOT_FOUND : GST_RESOURCE_ERROR_WRITE;
  }
}

void
gst_p2p_element_post_session_error (GstElement * element,
    const GError * error, gboolean viewer, gint * once)
{
  if (once && !g_atomic_int_compare_and_exchange (once, 0, 1))
    return;
  gst_element_message_full (element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      session_error_code (error, viewer), g_strdup (error->message), NULL,
      __FILE__, GST_FUNCTION, __LINE__);
}

void
gst_p2p_element_post_session_warning (GstElement * element,
    const GError * error, gboolean viewer)
{
  gst_element_message_full (element, GST_MESSAGE_WARNING, GST_RESOURCE_ERROR,
      viewer ? GST_RESOURCE_ERROR_READ : GST_RESOURCE_ERROR_WRITE,
      g_strdup (error->message), NULL, __FILE__, GST_FUNCTION, __LINE__);
}

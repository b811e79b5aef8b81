/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SwarmSession as a GObject: its configuration as construct-only
 * properties, its signals, construction and finalization.  The rest of
 * the session (the network thread, partners, transfers) is in
 * swarm-session.c and the files swarm-session-private.h lists.
 *
 * Every setting is a property, so bindings make a session with
 * g_object_new() alone:
 *
 *   GstSwarm.Session (role = GstSwarm.SessionRole.VIEWER,
 *                     uri = "p2p://tracker.example:8000/ID")
 *
 * swarm_session_new() is the C shorthand that fills them from a
 * SwarmSessionConfig.  A constructor cannot fail, so what is wrong with
 * the properties (an unparsable URI, no identity, an origin without its
 * private key) is kept and reported by swarm_session_start().
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-session-private.h"
#include "swarm-enumtypes.h"

#define GST_CAT_DEFAULT swarm_session_debug

G_DEFINE_TYPE (SwarmSession, swarm_session, G_TYPE_OBJECT);

enum
{
  SIGNAL_PEER_ADDED,
  SIGNAL_PEER_REMOVED,
  SIGNAL_ERROR,
  SIGNAL_WARNING,
  SIGNAL_STATS,
  N_SIGNALS
};

static guint session_signals[N_SIGNALS];

enum
{
  PROP_0,
  /* configuration, construct-only */
  PROP_ROLE,
  PROP_IDENTITY,
  PROP_URI,
  PROP_TRACKERS,
  PROP_TRACKER_ADDRESS,
  PROP_TRACKER_PORT,
  PROP_TRACKER_MAX_CONNECTIONS,
  PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS,
  PROP_TRACKER_CONNECTION_RATE,
  PROP_MAX_PEERS,
  PROP_STUN,
  PROP_TURN,
  PROP_JOIN_TIMEOUT,
  PROP_STATS_INTERVAL,
  PROP_STATS_NAME,
  PROP_CONSUME_ONLY,
  PROP_UPLOAD_LIMIT,
  PROP_SECRET,
  PROP_CLOCK_TOLERANCE,
  PROP_CLOCK,
  PROP_NETWORK_CONTEXT,
  PROP_LINK_FACTORY,
  PROP_SCHEDULER,
  /* read-only */
  PROP_PEER_ID,
  PROP_SWARM_ID,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *session_props[N_PROPS];

#define DEFAULT_ROLE SWARM_SESSION_VIEWER
#define DEFAULT_TRACKER_ADDRESS "0.0.0.0"
#define DEFAULT_MAX_PEERS 8
#define MAX_MAX_PEERS 1000
#define DEFAULT_STATS_NAME "swarm-stats"

/* ---- the signals, each after the matching C callback ---- */

void
session_emit_peer_added (SwarmSession * s, SwarmPeerInfo * info)
{
  g_signal_emit (s, session_signals[SIGNAL_PEER_ADDED], 0, info);
}

void
session_emit_peer_removed (SwarmSession * s, SwarmPeerInfo * info)
{
  g_signal_emit (s, session_signals[SIGNAL_PEER_REMOVED], 0, info);
}

void
session_emit_error (SwarmSession * s, const GError * error)
{
  if (s->callbacks.error)
    s->callbacks.error (s, error, s->user_data);
  g_signal_emit (s, session_signals[SIGNAL_ERROR], 0, error);
}

void
session_emit_warning (SwarmSession * s, const GError * error)
{
  if (s->callbacks.warning)
    s->callbacks.warning (s, error, s->user_data);
  g_signal_emit (s, session_signals[SIGNAL_WARNING], 0, error);
}

void
session_emit_stats (SwarmSession * s, const GstStructure * stats)
{
  if (s->callbacks.stats)
    s->callbacks.stats (s, stats, s->user_data);
  g_signal_emit (s, session_signals[SIGNAL_STATS], 0, stats);
}

/* ---- construction ---- */

SwarmSession *
swarm_session_new (const SwarmSessionConfig * config,
    const SwarmSessionCallbacks * callbacks, gpointer user_data)
{
  SwarmSession *s;

  s = g_object_new (SWARM_TYPE_SESSION,
      "role", config->role,
      "identity", config->identity,
      "trackers", config->trackers,
      "tracker-address", config->tracker_address ?
      config->tracker_address : DEFAULT_TRACKER_ADDRESS,
      "tracker-port", config->tracker_port,
      "tracker-max-connections", config->tracker_max_connections ?
      config->tracker_max_connections : SWARM_TRACKER_DEFAULT_MAX_CONNECTIONS,
      "tracker-max-connections-per-address",
      config->tracker_max_connections_per_address,
      "tracker-connection-rate", config->tracker_connection_rate == 0 ?
      SWARM_TRACKER_DEFAULT_CONNECTION_RATE :
      (guint) MAX (config->tracker_connection_rate, 0),
      "max-peers", CLAMP (config->max_peers, 1, MAX_MAX_PEERS),
      "stun", config->stun,
      "turn", config->turn,
      "join-timeout", config->join_timeout_ms,
      "stats-interval", config->stats_interval_ms,
      "stats-name", config->stats_name ? config->stats_name :
      DEFAULT_STATS_NAME,
      "consume-only", config->consume_only,
      "upload-limit", config->upload_limit_kbps,
      "secret", config->secret,
      "clock-tolerance", config->clock_tolerance_ms,
      "clock", config->clock,
      "network-context", config->network_context,
      "link-factory", config->link_factory,
      "scheduler", config->scheduler, NULL);
  if (callbacks)
    s->callbacks = *callbacks;
  s->user_data = user_data;
  return s;
}

static void
session_config_fail (SwarmSession * s, const gchar * message)
{
  if (!s->config_error)
    s->config_error = g_error_new_literal (SWARM_SESSION_ERROR,
        SWARM_SESSION_ERROR_SETTINGS, message);
}

/* The "uri" property fills what was not given otherwise: the swarm's
 * key, its trackers, its secret, STUN and TURN. */
static void
session_apply_uri (SwarmSession * s)
{
  GError *error = NULL;
  SwarmUri *uri = swarm_uri_parse (s->uri_text, &error);

  /* it may hold the secret */
  swarm_secret_clear_string (&s->uri_text);
  if (!uri) {
    session_config_fail (s, error->message);
    g_error_free (error);
    return;
  }
  if (!s->identity)
    s->identity = swarm_identity_new_from_public_key (uri->swarm_key);
  if (!s->tracker_urls || !s->tracker_urls[0]) {
    g_strfreev (s->tracker_urls);
    s->tracker_urls = swarm_uri_get_tracker_urls (uri);
  }
  if (!s->secret_text && uri->secret)
    s->secret_text = g_strdup (uri->secret);
  if ((!s->stun && uri->stun_server && !(s->stun =
              swarm_ice_server_parse (uri->stun_server, FALSE, &error)))
      || (!s->turn && uri->turn_server && !(s->turn =
              swarm_ice_server_parse (uri->turn_server, TRUE, &error)))) {
    session_config_fail (s, error->message);
    g_error_free (error);
  }
  swarm_uri_free (uri);
}

static void
swarm_session_constructed (GObject * object)
{
  SwarmSession *s = SWARM_SESSION (object);
  gchar *peer_id;

  G_OBJECT_CLASS (swarm_session_parent_class)->constructed (object);
  swarm_init ();
  if (s->uri_text)
    session_apply_uri (s);
  if (!s->tracker_urls)
    s->tracker_urls = g_new0 (gchar *, 1);
  if (!s->identity)
    session_config_fail (s, _("The session has no swarm: set its identity "
            "or its URI."));
  else if (s->role == SWARM_SESSION_ORIGIN
      && !swarm_identity_has_private_key (s->identity))
    session_config_fail (s, _("A publishing session needs the swarm's "
            "private key."));
  if (!s->scheduler_class)
    s->scheduler_class = swarm_scheduler_default_get_class ();
  if (!s->clock)
    s->clock = swarm_clock_ref (swarm_clock_get_system ());

  peer_id = swarm_peer_id_generate_with (s->clock);
  g_strlcpy (s->local.peer_id, peer_id, sizeof s->local.peer_id);
  g_free (peer_id);
  s->local.role = s->role == SWARM_SESSION_ORIGIN ? SWARM_PEER_ROLE_ORIGIN :
      SWARM_PEER_ROLE_VIEWER;
  s->local.serve = !(s->role == SWARM_SESSION_VIEWER && s->consume_only);
  if (s->identity) {
    memcpy (s->local.swarm_key, swarm_identity_get_public_key (s->identity),
        SWARM_WIRE_KEY_LEN);
    s->local.publisher = s->identity;
    swarm_edge_state_init (&s->edge, s->identity, s->clock_tolerance_ms);
    s->swarm_id = swarm_identity_get_swarm_id (s->identity);
    s->info_hash = swarm_id_to_info_hash (s->local.swarm_key);
  }
  if (s->upload_limit_kbps > 0) {
    guint64 rate = (guint64) s->upload_limit_kbps * 125;
    /* bursts of 20 ms, at least a few datagrams */
    s->upload_limiter = swarm_rate_limiter_new (rate,
        MAX (4 * SWARM_WIRE_MAX_DATAGRAM, rate / 50));
  }
  s->store = swarm_store_new (STORE_MAX_SEGMENTS, STORE_MAX_BYTES);
  swarm_store_set_clock (s->store, s->clock);
  s->own_thread = s->context == NULL;
  if (s->own_thread)
    s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  session_pex_init (s);
  session_signalling_init (s);
  s->bans = swarm_bans_new (s->clock);
}

static void
swarm_session_init (SwarmSession * s)
{
  s->peers = g_ptr_array_new ();
  s->transfers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      (GDestroyNotify) transfer_free);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->startup_ms = -1;
  g_value_init (&s->peer_stats, GST_TYPE_ARRAY);
}

static void
swarm_session_finalize (GObject * object)
{
  SwarmSession *s = SWARM_SESSION (object);

  /* The owner stops it; a session whose last reference went without a
   * stop (an application's binding, say) is stopped here, never from its
   * own thread (handlers there run with a reference held by the emission). */
  if (s->started)
    swarm_session_stop (s);
  if (s->scheduler)
    s->scheduler_class->destroy (s->scheduler);
  g_clear_pointer (&s->sched_wanted, g_array_unref);
  g_clear_pointer (&s->sched_peers, g_array_unref);
  g_clear_pointer (&s->sched_entries, g_array_unref);
  g_clear_pointer (&s->sched_requests, g_array_unref);
  g_ptr_array_unref (s->peers);
  g_hash_table_destroy (s->transfers);
  session_pex_clear (s);
  session_signalling_clear (s);
  swarm_bans_free (s->bans);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  swarm_clock_unref (s->clock);
  swarm_store_free (s->store);
  g_clear_pointer (&s->upload_limiter, swarm_rate_limiter_free);
  g_clear_pointer (&s->credentials, swarm_dtls_credentials_unref);
  g_clear_pointer (&s->identity, swarm_identity_unref);
  g_strfreev (s->tracker_urls);
  g_free (s->tracker_address);
  g_clear_pointer (&s->stun, swarm_ice_server_free);
  g_clear_pointer (&s->turn, swarm_ice_server_free);
  g_free (s->stats_name);
  g_free (s->swarm_id);
  g_free (s->info_hash);
  swarm_secret_clear_string (&s->secret_text);
  swarm_secret_clear_string (&s->uri_text);
  swarm_secret_free (s->secret);
  g_clear_error (&s->config_error);
  g_value_unset (&s->peer_stats);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  G_OBJECT_CLASS (swarm_session_parent_class)->finalize (object);
}

/* ---- properties ---- */

static void
swarm_session_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  SwarmSession *s = SWARM_SESSION (object);

  /* all construct-only: set once, before constructed() */
  switch (prop_id) {
    case PROP_ROLE:
      s->role = g_value_get_enum (value);
      break;
    case PROP_IDENTITY:
      s->identity = g_value_dup_boxed (value);
      break;
    case PROP_URI:
      s->uri_text = g_value_dup_string (value);
      break;
    case PROP_TRACKERS:
      s->tracker_urls = g_value_dup_boxed (value);
      break;
    case PROP_TRACKER_ADDRESS:
      s->tracker_address = g_value_dup_string (value);
      if (!s->tracker_address)
        s->tracker_address = g_strdup (DEFAULT_TRACKER_ADDRESS);
      break;
    case PROP_TRACKER_PORT:
      s->tracker_port_wanted = g_value_get_uint (value);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS:
      s->tracker_max_connections = g_value_get_uint (value);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS:
      s->tracker_max_connections_per_address = g_value_get_uint (value);
      break;
    case PROP_TRACKER_CONNECTION_RATE:
      s->tracker_connection_rate = g_value_get_uint (value);
      break;
    case PROP_MAX_PEERS:
      s->max_peers = g_value_get_uint (value);
      break;
    case PROP_STUN:
      s->stun = g_value_dup_boxed (value);
      break;
    case PROP_TURN:
      s->turn = g_value_dup_boxed (value);
      break;
    case PROP_JOIN_TIMEOUT:
      s->join_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_STATS_INTERVAL:
      s->stats_interval_ms = g_value_get_uint (value);
      break;
    case PROP_STATS_NAME:
      s->stats_name = g_value_dup_string (value);
      if (!s->stats_name)
        s->stats_name = g_strdup (DEFAULT_STATS_NAME);
      break;
    case PROP_CONSUME_ONLY:
      s->consume_only = g_value_get_boolean (value);
      break;
    case PROP_UPLOAD_LIMIT:
      s->upload_limit_kbps = g_value_get_uint (value);
      break;
    case PROP_SECRET:
      swarm_secret_clear_string (&s->secret_text);
      s->secret_text = g_value_dup_string (value);
      break;
    case PROP_CLOCK_TOLERANCE:
      s->clock_tolerance_ms = g_value_get_uint (value);
      break;
    case PROP_CLOCK:
      s->clock = g_value_dup_boxed (value);
      break;
    case PROP_NETWORK_CONTEXT:
      s->context = g_value_dup_boxed (value);
      break;
    case PROP_LINK_FACTORY:
      s->link_factory = g_value_get_pointer (value);
      break;
    case PROP_SCHEDULER:
      s->scheduler_class = g_value_get_pointer (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
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
    case PROP_IDENTITY:
      g_value_set_boxed (value, s->identity);
      break;
    case PROP_TRACKERS:
      g_value_set_boxed (value, s->tracker_urls);
      break;
    case PROP_TRACKER_ADDRESS:
      g_value_set_string (value, s->tracker_address);
      break;
    case PROP_TRACKER_PORT:{
      guint bound = swarm_session_get_tracker_port (s);

      g_value_set_uint (value, bound ? bound : s->tracker_port_wanted);
      break;
    }
    case PROP_TRACKER_MAX_CONNECTIONS:
      g_value_set_uint (value, s->tracker_max_connections);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS:
      g_value_set_uint (value, s->tracker_max_connections_per_address);
      break;
    case PROP_TRACKER_CONNECTION_RATE:
      g_value_set_uint (value, s->tracker_connection_rate);
      break;
    case PROP_MAX_PEERS:
      g_value_set_uint (value, s->max_peers);
      break;
    case PROP_STUN:
      g_value_set_boxed (value, s->stun);
      break;
    case PROP_TURN:
      g_value_set_boxed (value, s->turn);
      break;
    case PROP_JOIN_TIMEOUT:
      g_value_set_uint (value, s->join_timeout_ms);
      break;
    case PROP_STATS_INTERVAL:
      g_value_set_uint (value, s->stats_interval_ms);
      break;
    case PROP_STATS_NAME:
      g_value_set_string (value, s->stats_name);
      break;
    case PROP_CONSUME_ONLY:
      g_value_set_boolean (value, s->consume_only);
      break;
    case PROP_UPLOAD_LIMIT:
      g_value_set_uint (value, s->upload_limit_kbps);
      break;
    case PROP_CLOCK_TOLERANCE:
      g_value_set_uint (value, s->clock_tolerance_ms);
      break;
    case PROP_CLOCK:
      g_value_set_boxed (value, s->clock);
      break;
    case PROP_NETWORK_CONTEXT:
      /* ours when the session runs its own thread: not the caller's to
       * iterate */
      g_value_set_boxed (value, s->own_thread ? NULL : s->context);
      break;
    case PROP_LINK_FACTORY:
      g_value_set_pointer (value, (gpointer) s->link_factory);
      break;
    case PROP_SCHEDULER:
      g_value_set_pointer (value, (gpointer) s->scheduler_class);
      break;
    case PROP_PEER_ID:
      g_value_set_string (value, s->local.peer_id);
      break;
    case PROP_SWARM_ID:
      g_value_set_string (value, s->swarm_id);
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
install_properties (GObjectClass * gobject_class)
{
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  const GParamFlags config = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
      G_PARAM_STATIC_STRINGS;
  const GParamFlags config_wo = G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY |
      G_PARAM_STATIC_STRINGS;

  session_props[PROP_ROLE] = g_param_spec_enum ("role", "Role",
      "Publisher (origin) or viewer", SWARM_TYPE_SESSION_ROLE,
      DEFAULT_ROLE, config);
  session_props[PROP_IDENTITY] = g_param_spec_boxed ("identity", "Identity",
      "The swarm's key: with its private half on an origin, the public "
      "half on a viewer (or give \"uri\")", SWARM_TYPE_IDENTITY, config);
  session_props[PROP_URI] = g_param_spec_string ("uri", "URI",
      "A p2p:// URI (viewer): the swarm, its trackers and, for a private "
      "swarm, its secret; fills what is not set otherwise", NULL, config_wo);
  session_props[PROP_TRACKERS] = g_param_spec_boxed ("trackers", "Trackers",
      "Tracker URLs (ws:// or wss://); none on an origin: run the embedded "
      "tracker", G_TYPE_STRV, config);
  session_props[PROP_TRACKER_ADDRESS] = g_param_spec_string
      ("tracker-address", "Tracker address",
      "Address the embedded tracker listens on (origin)",
      DEFAULT_TRACKER_ADDRESS, config);
  session_props[PROP_TRACKER_PORT] = g_param_spec_uint ("tracker-port",
      "Tracker port", "Port the embedded tracker listens on (0: any free "
      "port); once started, the port it got (0 if there is none)", 0,
      G_MAXUINT16, 0, config);
  session_props[PROP_TRACKER_MAX_CONNECTIONS] = g_param_spec_uint
      ("tracker-max-connections", "Tracker max connections",
      "Connections the embedded tracker holds at once, half-open HTTP "
      "requests included (origin); each is a file descriptor", 1, G_MAXINT,
      SWARM_TRACKER_DEFAULT_MAX_CONNECTIONS, config);
  session_props[PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS] = g_param_spec_uint
      ("tracker-max-connections-per-address",
      "Tracker max connections per address",
      "Connections the embedded tracker holds from one address (an IPv4 "
      "address, an IPv6 /64) (origin); 0: no bound, a crowd behind one NAT "
      "is one address", 0, G_MAXINT, 0, config);
  session_props[PROP_TRACKER_CONNECTION_RATE] = g_param_spec_uint
      ("tracker-connection-rate", "Tracker connection rate",
      "New connections a second the embedded tracker takes from one address "
      "(origin), after a burst of ten seconds' worth; 0: no bound", 0,
      G_MAXINT / SWARM_TRACKER_CONNECTION_BURST_S,
      SWARM_TRACKER_DEFAULT_CONNECTION_RATE, config);
  session_props[PROP_MAX_PEERS] = g_param_spec_uint ("max-peers",
      "Max peers", "Partners at most at a time", 1, MAX_MAX_PEERS,
      DEFAULT_MAX_PEERS, config);
  session_props[PROP_STUN] = g_param_spec_boxed ("stun", "STUN server",
      "STUN server for server-reflexive candidates (swarm_ice_server_parse)",
      SWARM_TYPE_ICE_SERVER, config);
  session_props[PROP_TURN] = g_param_spec_boxed ("turn", "TURN server",
      "TURN server for relayed candidates (swarm_ice_server_parse)",
      SWARM_TYPE_ICE_SERVER, config);
  session_props[PROP_JOIN_TIMEOUT] = g_param_spec_uint ("join-timeout",
      "Join timeout", "Viewer: no segment within this many ms is an error "
      "(0: wait for ever)", 0, G_MAXUINT, 0, config);
  session_props[PROP_STATS_INTERVAL] = g_param_spec_uint ("stats-interval",
      "Stats interval", "Milliseconds between \"stats-updated\" signals (0: none)",
      0, G_MAXUINT, 0, config);
  session_props[PROP_STATS_NAME] = g_param_spec_string ("stats-name",
      "Stats name", "Name of the stats structure", DEFAULT_STATS_NAME,
      config);
  session_props[PROP_CONSUME_ONLY] = g_param_spec_boolean ("consume-only",
      "Consume only", "Viewer: never announce or serve segments", FALSE,
      config);
  session_props[PROP_UPLOAD_LIMIT] = g_param_spec_uint ("upload-limit",
      "Upload limit", "kbit/s to all partners together (0: no limit)", 0,
      G_MAXUINT / 125, 0, config);
  session_props[PROP_SECRET] = g_param_spec_string ("secret", "Secret",
      "A private swarm's secret (swarm-secret.h); write-only", NULL,
      config_wo);
  session_props[PROP_CLOCK_TOLERANCE] = g_param_spec_uint ("clock-tolerance",
      "Clock tolerance", "Viewer: ms the publisher's clock may be off ours "
      "before its live edge is refused (0: the default)", 0, G_MAXUINT, 0,
      config);
  session_props[PROP_CLOCK] = g_param_spec_boxed ("clock", "Clock",
      "Where the session reads the time and makes its timers (NULL: the "
      "system clock)", SWARM_TYPE_CLOCK, config);
  session_props[PROP_NETWORK_CONTEXT] = g_param_spec_boxed ("network-context",
      "Network context", "NULL: the session runs its own network thread; "
      "given: its sources go on this context, which the caller iterates",
      G_TYPE_MAIN_CONTEXT, config);
  session_props[PROP_LINK_FACTORY] = g_param_spec_pointer ("link-factory",
      "Link factory", "A SwarmLinkFactory (NULL: libnice + DTLS); it must "
      "outlive the session", config);
  session_props[PROP_SCHEDULER] = g_param_spec_pointer ("scheduler",
      "Scheduler", "A SwarmSchedulerClass (NULL: the default)", config);

  session_props[PROP_PEER_ID] = g_param_spec_string ("peer-id", "Peer id",
      "Our peer id on trackers and links (20 characters)", NULL, ro);
  session_props[PROP_SWARM_ID] = g_param_spec_string ("swarm-id", "Swarm id",
      "The swarm's id, derived from the publisher's public key", NULL, ro);
  session_props[PROP_STATS] = g_param_spec_boxed ("stats", "Stats",
      "The session's stats (fields in docs/stats.md)",
      gst_structure_get_type (), ro);
  g_object_class_install_properties (gobject_class, N_PROPS, session_props);
}

static void
swarm_session_class_init (SwarmSessionClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->constructed = swarm_session_constructed;
  gobject_class->finalize = swarm_session_finalize;
  gobject_class->set_property = swarm_session_set_property;
  gobject_class->get_property = swarm_session_get_property;
  install_properties (gobject_class);

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
  /**
   * SwarmSession::error:
   * @session: the session
   * @error: what went wrong (#SWARM_SESSION_ERROR)
   *
   * Fatal: the session cannot go on (the tracker is gone, no publisher in
   * time, a wrong secret).  Emitted once, on the network thread.
   */
  session_signals[SIGNAL_ERROR] = g_signal_new ("error",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * SwarmSession::warning:
   * @session: the session
   * @error: what went wrong; it is being retried
   *
   * Emitted on the network thread.
   */
  session_signals[SIGNAL_WARNING] = g_signal_new ("warning",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * SwarmSession::stats-updated:
   * @session: the session
   * @stats: the session's figures (fields in docs/stats.md)
   *
   * Every #SwarmSession:stats-interval ms, on the network thread.
   */
  session_signals[SIGNAL_STATS] = g_signal_new ("stats-updated",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, gst_structure_get_type () | G_SIGNAL_TYPE_STATIC_SCOPE);
}

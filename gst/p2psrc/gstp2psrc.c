/* GStreamer peer-to-peer live streaming: viewer source
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-p2psrc
 * @title: p2psrc
 * @see_also: p2psink
 *
 * Joins a peer-to-peer swarm published by p2psink and plays it out as a
 * live source: the original buffers, flags and caps, with their PTS/DTS
 * spacing rebased onto this pipeline's running time.  Segments come from the
 * publisher and from other viewers; this viewer re-shares what it holds.
 *
 * The URI is `p2p://HOST:PORT/SWARM-ID` as posted by p2psink (HOST:PORT is
 * the tracker at `ws://HOST:PORT/announce`, SWARM-ID the publisher's public
 * key: only segments signed by that key are played).  Each `tracker=URL`
 * parameter (percent-encoded, repeatable) names one more WebTorrent tracker,
 * `ws://` or `wss://`; with such parameters the authority may be empty:
 * `p2p:///SWARM-ID?tracker=wss%3A%2F%2Ftracker.example.org%2F`.  The viewer
 * announces to every tracker and keeps playing while some or all of them are
 * down, as long as it has partners.  Query parameters `stun-server`,
 * `turn-server` and `secret` map onto the properties of the same name; a
 * secret taken from the URI is removed from the readable #GstP2pSrc:uri.
 * The secret of a private swarm is better kept off the command line, where
 * GStreamer logs it at GST_DEBUG level 4: #GstP2pSrc:secret-file or the
 * `P2P_SECRET` environment variable.  A private swarm's members meet where
 * only the secret leads, so a viewer with no or the wrong secret finds
 * nobody, gets no segment and fails after #GstP2pSrc:join-timeout (RESOURCE
 * NOT_FOUND without a secret, NOT_AUTHORIZED with a wrong one).
 *
 * A viewer starts on the newest segment that begins with a keyframe, after
 * the caps' stream headers.  Playout then follows the arrivals: half of
 * #GstP2pSrc:latency is kept in hand for late segments, and what segments
 * bring beyond it is caught up by playing up to 20 % faster (timestamps
 * closer together, within each segment; slower, likewise, when the margin
 * runs short).  A segment that does not arrive before its
 * playout deadline (#GstP2pSrc:latency) is skipped: the next buffer is
 * flagged DISCONT and a GAP event covers the hole, so playback never stalls
 * on one missing piece.
 *
 * Every #GstP2pSrc:stats-interval milliseconds it posts a `p2p-stats`
 * element message holding the #GstP2pSrc:stats structure: what arrived and
 * from whom, what played and what was missed (`continuity`), `startup-ms`,
 * how playout moved (`drift-correction-ms`, `catch-up-ms`), what hostile
 * peers cost, where live is, and `peer-stats`, a `peer` structure per
 * partner.  Every field, with its type and unit, is in docs/stats.md (the
 * one reference, checked by a test).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 p2psrc uri=p2p://192.0.2.1:8800/SWARM-ID ! jpegdec ! autovideosink
 * ]| Plays the stream published by the p2psink example.
 * |[
 * gst-play-1.0 p2p://192.0.2.1:8800/SWARM-ID
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>
#include "gstp2psrc.h"

GST_DEBUG_CATEGORY_STATIC (gst_p2p_src_debug);
#define GST_CAT_DEFAULT gst_p2p_src_debug

#define DEFAULT_URI NULL
#define DEFAULT_LATENCY 500
/* While the start segment is missing, playout moves to a newer keyframe
 * every latency (at least START_MOVE_MIN_MS), at most this many times. */
#define START_MOVES_MAX 4
#define START_MOVE_MIN_MS 250
/* Playout control (swarm-playout.h): the quantile of slack it holds may
 * wander this much (at most a tenth of the latency) before playout moves,
 * by at most this share of a segment at a time. */
#define PLAYOUT_TOLERANCE_US (50 * 1000)
#define PLAYOUT_MAX_RATE 0.2
/* While far behind live a segment may play in half its time (twice as
 * fast), as low-latency players catch up; otherwise in 80 % of it. */
#define PLAYOUT_FAST_RATE 0.5

/* How much longer than the latency downstream may hold playout back
 * (the LATENCY query's maximum): what is not played yet waits in the
 * session's store, which keeps its newest 600 segments and 96 MB.  At the
 * shortest segments p2psink cuts (10 ms) and ~100 Mbit/s that is still
 * 6 s, so a pipeline asking for 5 s more never reads past what the store
 * lets go. */
#define HOLD_MAX_MS 5000

#define DEFAULT_MAX_PEERS 8
#define DEFAULT_STATS_INTERVAL 1000
#define DEFAULT_JOIN_TIMEOUT 10000
#define DEFAULT_CLOCK_TOLERANCE SWARM_EDGE_DEFAULT_TOLERANCE_MS

/* Ranges of the numeric properties.  Their GParamSpecs take any guint:
 * GObject would drop a value out of range with a warning on stderr and
 * keep the old one, which an application watching the bus never learns
 * (gst-launch latency=70000 played with 500).  set_property clamps it and
 * start() posts a warning naming the property, the value and the one used. */
#define LATENCY_MAX 60000
#define MAX_PEERS_MIN 1
#define MAX_PEERS_MAX 1000
#define JOIN_TIMEOUT_MIN 100
#define JOIN_TIMEOUT_MAX 600000
#define CLOCK_TOLERANCE_MIN 1000
#define CLOCK_TOLERANCE_MAX 3600000

enum
{
  PROP_0,
  PROP_URI,
  PROP_LATENCY,
  PROP_MAX_PEERS,
  PROP_STUN_SERVER,
  PROP_TURN_SERVER,
  PROP_STATS,
  PROP_STATS_INTERVAL,
  PROP_JOIN_TIMEOUT,
  PROP_CONSUME_ONLY,
  PROP_UPLOAD_LIMIT,
  PROP_SECRET,
  PROP_CLOCK_TOLERANCE,
  PROP_SECRET_FILE,
  PROP_SESSION,
};

struct _GstP2pSrc
{
  GstPushSrc parent;

  /* properties, under the object lock */
  gchar *uri;                    /* without its secret, if it had one */
  gchar *uri_error;              /* why uri did not parse; uri is redacted */
  gchar *secret;
  gchar *secret_file;
  guint latency;
  guint max_peers;
  gchar *stun_server;
  gchar *turn_server;
  guint stats_interval;
  guint join_timeout;
  guint clock_tolerance;
  gboolean consume_only;
  guint upload_limit;
  GPtrArray *setting_warnings;  /* gchar*: values clamped, for start() */

  SwarmSession *session;
  gint error_posted;            /* atomic: one ELEMENT_ERROR per run */

  /* streaming thread only */
  gint64 start_us;
  gboolean started;             /* a start segment was chosen */
  guint64 next_seq;
  GQueue pending;               /* GstBuffer* ready to push */
  GstCaps *caps;
  gboolean have_offset;
  guint start_moves;            /* times the start moved to a newer keyframe */
  guint start_checks;           /* times a start segment was checked for staleness */
  guint64 restarts_seen;        /* publisher restarts followed */
  gint64 rejoin_us;             /* the last restart followed, 0 if none */
  GstClockTimeDiff ts_offset;   /* output = stream time + offset */
  GstClockTime next_rt;         /* expected running time of the next segment */
  GstClockTime avg_segment;     /* running average of segment duration */
  gboolean discont;
  gboolean eos;
  gint64 last_segment_us;       /* when the last segment was taken */
  gint64 playing_since_us;      /* when the first segment was taken */
  SwarmPlayout playout;         /* holds arrival-to-playout slack at a floor */
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void gst_p2p_src_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

#define gst_p2p_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstP2pSrc, gst_p2p_src, GST_TYPE_PUSH_SRC,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_p2p_src_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE (p2psrc, "p2psrc", GST_RANK_PRIMARY,
    GST_TYPE_P2P_SRC);

static void
gst_p2p_src_init (GstP2pSrc * self)
{
  self->latency = DEFAULT_LATENCY;
  self->max_peers = DEFAULT_MAX_PEERS;
  self->stats_interval = DEFAULT_STATS_INTERVAL;
  self->join_timeout = DEFAULT_JOIN_TIMEOUT;
  self->clock_tolerance = DEFAULT_CLOCK_TOLERANCE;
  self->setting_warnings = g_ptr_array_new_with_free_func (g_free);
  g_queue_init (&self->pending);
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void
gst_p2p_src_finalize (GObject * object)
{
  GstP2pSrc *self = GST_P2P_SRC (object);

  g_free (self->uri);
  g_free (self->uri_error);
  g_free (self->stun_server);
  g_free (self->turn_server);
  g_free (self->secret_file);
  swarm_secret_clear_string (&self->secret);
  g_ptr_array_unref (self->setting_warnings);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Takes the URI's query parameters over into the properties.  A secret
 * moves to the secret property: the uri property (readable, shown by
 * gst-launch -v and in logs) keeps the rest. */
static gboolean
gst_p2p_src_set_uri_internal (GstP2pSrc * self, const gchar * uri,
    GError ** error)
{
  SwarmUri *parsed = NULL;

  if (uri && !(parsed = swarm_uri_parse (uri, error)))
    return FALSE;
  GST_OBJECT_LOCK (self);
  g_free (self->uri);
  g_clear_pointer (&self->uri_error, g_free);
  if (parsed && parsed->secret) {
    self->uri = swarm_uri_to_public_string (parsed);
    swarm_secret_clear_string (&self->secret);
    self->secret = g_strdup (parsed->secret);
  } else {
    self->uri = g_strdup (uri);
  }
  if (parsed && parsed->stun_server) {
    g_free (self->stun_server);
    self->stun_server = g_strdup (parsed->stun_server);
  }
  if (parsed && parsed->turn_server) {
    g_free (self->turn_server);
    self->turn_server = g_strdup (parsed->turn_server);
  }
  GST_OBJECT_UNLOCK (self);
  if (parsed)
    swarm_uri_free (parsed);
  return TRUE;
}

/* Element-side fields on top of the session's. */
static void
gst_p2p_src_add_stats (GstP2pSrc * self, GstStructure * stats)
{
  gst_structure_set (stats, "drift-correction-ms", G_TYPE_DOUBLE,
      self->playout.total_us / 1000.0, "catch-up-ms", G_TYPE_DOUBLE,
      -self->playout.earlier_us / 1000.0, NULL);
}

static GstStructure *
gst_p2p_src_get_stats (GstP2pSrc * self)
{
  GstStructure *stats;

  GST_OBJECT_LOCK (self);
  if (self->session)
    stats = swarm_session_get_stats (self->session);
  else
    stats = gst_structure_new ("p2p-stats",
        "peers", G_TYPE_UINT, 0,
        "bytes-sent", G_TYPE_UINT64, (guint64) 0,
        "bytes-received", G_TYPE_UINT64, (guint64) 0,
        "bytes-from-origin", G_TYPE_UINT64, (guint64) 0,
        "bytes-from-peers", G_TYPE_UINT64, (guint64) 0,
        "segments-received", G_TYPE_UINT64, (guint64) 0,
        "segments-played", G_TYPE_UINT64, (guint64) 0,
        "segments-missed", G_TYPE_UINT64, (guint64) 0,
        "segments-rejected", G_TYPE_UINT64, (guint64) 0,
        "startup-ms", G_TYPE_INT64, (gint64) - 1, NULL);
  gst_p2p_src_add_stats (self, stats);
  GST_OBJECT_UNLOCK (self);
  return stats;
}

static void
gst_p2p_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstP2pSrc *self = GST_P2P_SRC (object);

  switch (prop_id) {
    case PROP_URI:{
      GError *error = NULL;

      /* Keep a malformed URI too, for start() to report as an element
       * error; but only what may be shown of it: it cannot be taken apart
       * to move a secret out, and the property is readable. */
      if (!gst_p2p_src_set_uri_internal (self, g_value_get_string (value),
              &error)) {
        gchar *shown = swarm_uri_redact (g_value_get_string (value));

        /* the parser quotes what it did not understand: maybe the secret */
        if (!g_str_equal (shown, g_value_get_string (value))) {
          g_free (error->message);
          error->message = g_strdup ("the URI's query is not shown: it may "
              "hold a secret");
        }
        GST_WARNING_OBJECT (self, "invalid URI %s: %s", shown,
            error->message);
        GST_OBJECT_LOCK (self);
        g_free (self->uri);
        self->uri = shown;
        g_free (self->uri_error);
        self->uri_error = g_strdup (error->message);
        GST_OBJECT_UNLOCK (self);
        g_error_free (error);
      }
      return;
    }
    default:
      break;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LATENCY:
      self->latency = swarm_settings_clamp (GST_ELEMENT (self), self->setting_warnings, "latency",
          g_value_get_uint (value), 0, LATENCY_MAX);
      break;
    case PROP_MAX_PEERS:
      self->max_peers = swarm_settings_clamp (GST_ELEMENT (self), self->setting_warnings, "max-peers",
          g_value_get_uint (value), MAX_PEERS_MIN, MAX_PEERS_MAX);
      break;
    case PROP_STUN_SERVER:
      g_free (self->stun_server);
      self->stun_server = g_value_dup_string (value);
      break;
    case PROP_TURN_SERVER:
      g_free (self->turn_server);
      self->turn_server = g_value_dup_string (value);
      break;
    case PROP_STATS_INTERVAL:
      self->stats_interval = g_value_get_uint (value);
      break;
    case PROP_CLOCK_TOLERANCE:
      self->clock_tolerance = swarm_settings_clamp (GST_ELEMENT (self), self->setting_warnings, "clock-tolerance",
          g_value_get_uint (value), CLOCK_TOLERANCE_MIN, CLOCK_TOLERANCE_MAX);
      break;
    case PROP_JOIN_TIMEOUT:
      self->join_timeout = swarm_settings_clamp (GST_ELEMENT (self), self->setting_warnings, "join-timeout",
          g_value_get_uint (value), JOIN_TIMEOUT_MIN, JOIN_TIMEOUT_MAX);
      break;
    case PROP_CONSUME_ONLY:
      self->consume_only = g_value_get_boolean (value);
      break;
    case PROP_UPLOAD_LIMIT:
      self->upload_limit = g_value_get_uint (value);
      break;
    case PROP_SECRET:
      swarm_secret_clear_string (&self->secret);
      self->secret = g_value_dup_string (value);
      break;
    case PROP_SECRET_FILE:
      g_free (self->secret_file);
      self->secret_file = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_p2p_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstP2pSrc *self = GST_P2P_SRC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_p2p_src_get_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_SECRET_FILE:
      g_value_set_string (value, self->secret_file);
      break;
    case PROP_LATENCY:
      g_value_set_uint (value, self->latency);
      break;
    case PROP_MAX_PEERS:
      g_value_set_uint (value, self->max_peers);
      break;
    case PROP_STUN_SERVER:
      g_value_set_string (value, self->stun_server);
      break;
    case PROP_TURN_SERVER:
      g_value_set_string (value, self->turn_server);
      break;
    case PROP_STATS_INTERVAL:
      g_value_set_uint (value, self->stats_interval);
      break;
    case PROP_CLOCK_TOLERANCE:
      g_value_set_uint (value, self->clock_tolerance);
      break;
    case PROP_JOIN_TIMEOUT:
      g_value_set_uint (value, self->join_timeout);
      break;
    case PROP_CONSUME_ONLY:
      g_value_set_boolean (value, self->consume_only);
      break;
    case PROP_UPLOAD_LIMIT:
      g_value_set_uint (value, self->upload_limit);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- session callbacks (network thread) -------------------------------- */

static void
gst_p2p_src_post_error (GstP2pSrc * self, const GError * error)
{
  if (!g_atomic_int_compare_and_exchange (&self->error_posted, 0, 1))
    return;
  if (error->domain == SWARM_SESSION_ERROR
      && error->code == SWARM_SESSION_ERROR_TRACKER)
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", error->message),
        (NULL));
  else if (error->domain == SWARM_SESSION_ERROR
      && error->code == SWARM_SESSION_ERROR_SECRET)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_AUTHORIZED, ("%s",
            error->message), (NULL));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", error->message),
        (NULL));
}

static void
on_session_error (SwarmSession * s, const GError * error, gpointer user_data)
{
  gst_p2p_src_post_error (user_data, error);
}

static void
on_session_warning (SwarmSession * s, const GError * error, gpointer user_data)
{
  GstP2pSrc *self = user_data;

  GST_ELEMENT_WARNING (self, RESOURCE, READ, ("%s", error->message), (NULL));
}

static void
on_session_stats (SwarmSession * s, const GstStructure * stats,
    gpointer user_data)
{
  GstP2pSrc *self = user_data;
  GstStructure *copy = gst_structure_copy (stats);

  gst_p2p_src_add_stats (self, copy);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), copy));
}

/* ---- start / stop ------------------------------------------------------- */

/* Sets the "session" property (a new session before it starts, so that
 * handlers connected in notify::session miss no partner; NULL at stop). */
static void
gst_p2p_src_expose_session (GstP2pSrc * self, SwarmSession * session)
{
  SwarmSession *old;

  GST_OBJECT_LOCK (self);
  old = self->session;
  self->session = session ? g_object_ref (session) : NULL;
  GST_OBJECT_UNLOCK (self);
  g_clear_object (&old);
  g_object_notify (G_OBJECT (self), "session");
}

static gboolean
gst_p2p_src_start (GstBaseSrc * bsrc)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);
  static const SwarmSessionCallbacks callbacks = {
    .error = on_session_error,
    .warning = on_session_warning,
    .stats = on_session_stats,
  };
  SwarmSessionConfig config = { 0 };
  g_autoptr (SwarmUri) uri = NULL;
  g_autoptr (SwarmIceServer) stun = NULL;
  g_autoptr (SwarmIceServer) turn = NULL;
  g_autoptr (SwarmIdentity) publisher = NULL;
  g_autofree gchar *uri_text = NULL, *stun_text = NULL, *turn_text = NULL;
  g_autofree gchar *uri_error = NULL, *secret_file = NULL;
  gchar *given, *secret = NULL;
  gchar **trackers = NULL;
  GError *error = NULL;
  SwarmSession *session;
  guint max_peers, stats_interval, join_timeout, upload_limit, tolerance;
  gboolean consume_only;

  swarm_settings_post_warnings (GST_ELEMENT (self), &self->setting_warnings);
  GST_OBJECT_LOCK (self);
  tolerance = self->clock_tolerance;
  uri_text = g_strdup (self->uri);
  uri_error = g_strdup (self->uri_error);
  stun_text = g_strdup (self->stun_server);
  turn_text = g_strdup (self->turn_server);
  max_peers = self->max_peers;
  stats_interval = self->stats_interval;
  join_timeout = self->join_timeout;
  consume_only = self->consume_only;
  upload_limit = self->upload_limit;
  given = g_strdup (self->secret);
  secret_file = g_strdup (self->secret_file);
  GST_OBJECT_UNLOCK (self);

  if (!uri_text) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        (_("No URI set: give p2psrc the p2p:// URI posted by p2psink.")),
        (NULL));
    swarm_secret_clear_string (&given);
    return FALSE;
  }
  /* uri_text is then what may be shown of it (swarm_uri_redact) */
  if (uri_error || !(uri = swarm_uri_parse (uri_text, &error))) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        (_("Invalid swarm URI \"%s\"."), uri_text), ("%s",
            uri_error ? uri_error : error->message));
    g_clear_error (&error);
    swarm_secret_clear_string (&given);
    return FALSE;
  }
  /* the secret property (or secret= in the URI), secret-file, P2P_SECRET */
  if (!swarm_secret_lookup (given, secret_file, &secret, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        (_("Could not read the swarm secret.")), ("%s", error->message));
    g_error_free (error);
    swarm_secret_clear_string (&given);
    return FALSE;
  }
  swarm_secret_clear_string (&given);
  /* weak secrets are refused before anything goes on the network (see
   * swarm-secret.h): the message names the minimum and p2p-key */
  if (secret && *secret && !swarm_secret_check (secret, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    g_error_free (error);
    swarm_secret_clear_string (&secret);
    return FALSE;
  }
  if ((stun_text && *stun_text
          && !(stun = swarm_ice_server_parse (stun_text, FALSE, &error)))
      || (turn_text && *turn_text
          && !(turn = swarm_ice_server_parse (turn_text, TRUE, &error)))) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("Invalid STUN or TURN server setting.")), ("%s", error->message));
    g_error_free (error);
    swarm_secret_clear_string (&secret);
    return FALSE;
  }

  publisher = swarm_identity_new_from_public_key (uri->swarm_key);
  trackers = swarm_uri_get_tracker_urls (uri);
  config.role = SWARM_SESSION_VIEWER;
  config.identity = publisher;
  config.trackers = trackers;
  config.max_peers = max_peers;
  config.stun = stun;
  config.turn = turn;
  config.join_timeout_ms = join_timeout;
  config.clock_tolerance_ms = tolerance;
  config.stats_interval_ms = stats_interval;
  config.stats_name = "p2p-stats";
  /* upload-limit=1 is the documented shorthand for consume-only */
  config.consume_only = consume_only || upload_limit == 1;
  config.upload_limit_kbps = upload_limit;
  config.secret = secret && *secret ? secret : NULL;

  g_atomic_int_set (&self->error_posted, 0);
  session = swarm_session_new (&config, &callbacks, self);
  g_strfreev (trackers);
  swarm_secret_clear_string (&secret);
  gst_p2p_src_expose_session (self, session);
  if (!swarm_session_start (session, &error)) {
    gst_p2p_src_expose_session (self, NULL);
    swarm_session_free (session);
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        (_("Could not join the swarm.")), ("%s", error->message));
    g_error_free (error);
    return FALSE;
  }

  self->start_us = g_get_monotonic_time ();
  self->started = FALSE;
  self->have_offset = FALSE;
  self->start_moves = 0;
  self->start_checks = 0;
  self->restarts_seen = 0;
  self->rejoin_us = 0;
  self->next_rt = GST_CLOCK_TIME_NONE;
  self->avg_segment = 0;
  self->discont = TRUE;
  self->eos = FALSE;
  /* Half the latency is kept in hand for late arrivals; the rest of
   * what segments bring beyond it is caught up, a segment playing in no
   * less than 80 % of its time, or in half of it while more than twice
   * that is in hand (a joiner behind live). */
  swarm_playout_init (&self->playout, (gint64) self->latency * 1000 / 2,
      MIN ((gint64) self->latency * 1000 / 10, PLAYOUT_TOLERANCE_US),
      PLAYOUT_MAX_RATE);
  swarm_playout_set_fast_catch_up (&self->playout, PLAYOUT_FAST_RATE,
      (gint64) self->latency * 1000 / 2);
  /* self->session holds it from here */
  g_object_unref (session);
  return TRUE;
}

static gboolean
gst_p2p_src_stop (GstBaseSrc * bsrc)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);
  SwarmSession *session;

  GST_OBJECT_LOCK (self);
  session = self->session ? g_object_ref (self->session) : NULL;
  GST_OBJECT_UNLOCK (self);
  /* stopped while still exposed: its partners' peer-removed come first */
  if (session)
    swarm_session_stop (session);
  gst_p2p_src_expose_session (self, NULL);
  g_clear_object (&session);
  g_queue_clear_full (&self->pending, (GDestroyNotify) gst_buffer_unref);
  gst_clear_caps (&self->caps);
  return TRUE;
}

static gboolean
gst_p2p_src_unlock (GstBaseSrc * bsrc)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);

  GST_OBJECT_LOCK (self);
  if (self->session)
    swarm_session_set_flushing (self->session, TRUE);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_p2p_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);

  GST_OBJECT_LOCK (self);
  if (self->session)
    swarm_session_set_flushing (self->session, FALSE);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_p2p_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime latency;

    GST_OBJECT_LOCK (self);
    latency = (GstClockTime) self->latency * GST_MSECOND;
    GST_OBJECT_UNLOCK (self);
    /* Segments wait in the store, so downstream may add latency of its
     * own: max == min made every sink's processing deadline "invalid". */
    gst_query_set_latency (query, TRUE, latency,
        latency + HOLD_MAX_MS * GST_MSECOND);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

/* ---- playout ------------------------------------------------------------ */

/* Running time now, or NONE before the pipeline has a clock. */
static GstClockTime
gst_p2p_src_running_time (GstP2pSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now, base;

  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  gst_object_unref (clock);
  base = gst_element_get_base_time (GST_ELEMENT (self));
  return now > base ? now - base : 0;
}

/* Monotonic deadline by which the next segment must be in hand to be
 * played on time: its expected running time plus the latency, less a
 * margin for the pipeline downstream. */
static gint64
gst_p2p_src_deadline (GstP2pSrc * self)
{
  GstClockTime latency = (GstClockTime) self->latency * GST_MSECOND;
  GstClockTime margin = MIN (latency / 4, 100 * GST_MSECOND);
  GstClockTime now = gst_p2p_src_running_time (self);
  gint64 now_us = g_get_monotonic_time ();

  gint64 deadline;

  if (!GST_CLOCK_TIME_IS_VALID (self->next_rt) || !GST_CLOCK_TIME_IS_VALID (now))
    return now_us + (gint64) (latency / GST_USECOND);
  deadline = now_us + (GST_CLOCK_DIFF (now, self->next_rt + latency - margin))
      / 1000;
  /* Already late: still give the swarm a moment rather than spin. */
  return MAX (deadline, now_us + 20 * 1000);
}

static GstClockTime
rebase (GstP2pSrc * self, GstClockTime ts)
{
  GstClockTimeDiff out;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return ts;
  out = (GstClockTimeDiff) ts + self->ts_offset;
  return out > 0 ? (GstClockTime) out : 0;
}

/* Caps first, then, for a joiner, the stream headers the caps carry. */
static void
gst_p2p_src_apply_caps (GstP2pSrc * self, GstCaps * caps)
{
  const GstStructure *st;
  const GValue *headers;
  guint i;

  if (!caps || (self->caps && gst_caps_is_equal (self->caps, caps)))
    return;
  gst_caps_replace (&self->caps, caps);
  gst_base_src_set_caps (GST_BASE_SRC (self), caps);

  st = gst_caps_get_structure (caps, 0);
  headers = gst_structure_get_value (st, "streamheader");
  if (!headers || !GST_VALUE_HOLDS_ARRAY (headers))
    return;
  for (i = 0; i < gst_value_array_get_size (headers); i++) {
    const GValue *v = gst_value_array_get_value (headers, i);
    GstBuffer *header;

    if (!GST_VALUE_HOLDS_BUFFER (v))
      continue;
    header = gst_buffer_copy (gst_value_get_buffer (v));
    GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_HEADER);
    GST_BUFFER_PTS (header) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DTS (header) = GST_CLOCK_TIME_NONE;
    g_queue_push_tail (&self->pending, header);
  }
}

/* How long before its playout a segment spanning @first_ts..@end_ts
 * arrived, fed to the playout controller.  Returns the shift to spread
 * over this segment's buffers (positive: later). */
static GstClockTimeDiff
gst_p2p_src_track_slack (GstP2pSrc * self, GstClockTime first_ts,
    GstClockTime end_ts, gint64 arrival_us)
{
  GstClockTime now = gst_p2p_src_running_time (self);
  gint64 now_us = g_get_monotonic_time ();
  GstClockTimeDiff arrival_rt, playout_rt, shift;

  if (!GST_CLOCK_TIME_IS_VALID (now) || !GST_CLOCK_TIME_IS_VALID (first_ts)
      || !GST_CLOCK_TIME_IS_VALID (end_ts) || end_ts <= first_ts)
    return 0;
  /* Segments fetched in the join burst say nothing about the path; what
   * the start left behind live is caught up through them. */
  if (arrival_us <= self->playing_since_us) {
    shift = swarm_playout_take_behind (&self->playout,
        (gint64) (end_ts - first_ts) / GST_USECOND) * GST_USECOND;
    if (shift)
      GST_DEBUG_OBJECT (self, "playout moves earlier by %" G_GINT64_FORMAT
          " ms, through a segment in hand (in all %" G_GINT64_FORMAT " ms)",
          ABS (shift) / GST_MSECOND, self->playout.total_us / 1000);
    return shift;
  }
  arrival_rt = (GstClockTimeDiff) now - (now_us - arrival_us) * GST_USECOND;
  playout_rt = (GstClockTimeDiff) rebase (self, first_ts) +
      (GstClockTimeDiff) self->latency * GST_MSECOND;
  GST_LOG_OBJECT (self, "slack %" G_GINT64_FORMAT " us",
      (gint64) ((playout_rt - arrival_rt) / GST_USECOND));
  shift = swarm_playout_update (&self->playout,
      (playout_rt - arrival_rt) / GST_USECOND,
      (gint64) (end_ts - first_ts) / GST_USECOND) * GST_USECOND;
  if (shift)
    GST_DEBUG_OBJECT (self, "playout moves %s by %" G_GINT64_FORMAT
        " ms (in all %" G_GINT64_FORMAT " ms)", shift < 0 ? "earlier" :
        "later", ABS (shift) / GST_MSECOND, self->playout.total_us / 1000);
  return shift;
}

/* @ts rebased, with @shift spread over @first..@end: the segment plays
 * that much faster (or slower) and ends shifted, with no jump. */
static GstClockTime
rebase_spread (GstP2pSrc * self, GstClockTime ts, GstClockTime first,
    GstClockTime end, GstClockTimeDiff shift)
{
  GstClockTimeDiff part;

  if (!GST_CLOCK_TIME_IS_VALID (ts) || shift == 0)
    return rebase (self, ts);
  if (ts <= first)
    part = 0;
  else if (ts >= end)
    part = shift;
  else
    part = (GstClockTimeDiff) gst_util_uint64_scale (ABS (shift),
        ts - first, end - first) * (shift < 0 ? -1 : 1);
  part += (GstClockTimeDiff) ts;
  return rebase (self, part < 0 ? 0 : (GstClockTime) part);
}

/* First and end (last timestamp plus duration) of @seg's buffers, in
 * stream time. */
static void
segment_span (SwarmSegment * seg, GstClockTime * first, GstClockTime * end)
{
  guint i;

  *first = *end = GST_CLOCK_TIME_NONE;
  for (i = 0; i < seg->buffers->len; i++) {
    GstBuffer *b = g_ptr_array_index (seg->buffers, i);
    GstClockTime ts = GST_BUFFER_DTS_IS_VALID (b) ? GST_BUFFER_DTS (b) :
        GST_BUFFER_PTS (b);

    if (!GST_CLOCK_TIME_IS_VALID (ts))
      continue;
    if (!GST_CLOCK_TIME_IS_VALID (*first))
      *first = ts;
    *end = ts + (GST_BUFFER_DURATION_IS_VALID (b) ?
        GST_BUFFER_DURATION (b) : 0);
  }
}

/* Where segment @seq begins and ends in stream time (first timestamp;
 * last timestamp plus its duration), waiting for it until @deadline_us.
 * FALSE if it is not there in time or carries no timestamps. */
static gboolean
gst_p2p_src_peek_span (GstP2pSrc * self, guint64 seq, gint64 deadline_us,
    GstClockTime * first, GstClockTime * end)
{
  GBytes *bytes = NULL;
  SwarmSegment *seg;

  *first = *end = GST_CLOCK_TIME_NONE;
  if (swarm_session_wait_segment (self->session, seq, deadline_us, &bytes,
          NULL) != SWARM_WAIT_OK)
    return FALSE;
  seg = swarm_segment_parse (bytes, NULL);
  g_bytes_unref (bytes);
  if (!seg)
    return FALSE;
  segment_span (seg, first, end);
  swarm_segment_free (seg);
  return GST_CLOCK_TIME_IS_VALID (*first);
}

/* The newest segment in hand after @after, and where it ends in stream
 * time; FALSE if none. */
static gboolean
gst_p2p_src_newest_in_hand (GstP2pSrc * self, guint64 after,
    GstClockTime * end)
{
  GstClockTime first;
  guint64 seq;

  /* looked up among what is held, never walked seq by seq: a partner's
   * word can put "newest" anywhere */
  return swarm_session_find_in_hand (self->session, after, FALSE, &seq)
      && gst_p2p_src_peek_span (self, seq, 0, &first, end);
}

/* The stream time to map onto "now" when playback starts.  A joiner starts
 * on the newest keyframe segment, which may be most of a GOP old; mapping
 * that onto now would leave the viewer that far behind live for good.  So
 * the end of the newest segment the swarm has (what was captured just
 * before now) is mapped onto now, and the older ones play out quickly, but
 * never so late that the sink would drop them: the catch-up stays within
 * three quarters of the latency. */
static GstClockTime
gst_p2p_src_start_anchor (GstP2pSrc * self, GstClockTime first_ts)
{
  GstClockTime latency = (GstClockTime) self->latency * GST_MSECOND;
  GstClockTime live_first, live_ts, now, catch_up;
  guint64 newest;

  swarm_playout_set_behind (&self->playout, 0);
  if (!swarm_session_get_newest_seq (self->session, &newest))
    return first_ts;
  /* the newest announced, or else the newest in hand by then */
  if (!gst_p2p_src_peek_span (self, newest, g_get_monotonic_time () +
          MIN (latency / 2, 300 * GST_MSECOND) / 1000, &live_first, &live_ts)
      && !gst_p2p_src_newest_in_hand (self, self->next_seq, &live_ts))
    return first_ts;
  if (!GST_CLOCK_TIME_IS_VALID (live_ts) || live_ts <= first_ts)
    return first_ts;
  /* never map anything before running time 0 either */
  now = gst_p2p_src_running_time (self);
  catch_up = MIN (live_ts - first_ts, MIN (latency * 3 / 4,
          GST_CLOCK_TIME_IS_VALID (now) ? now : 0));
  GST_DEBUG_OBJECT (self, "start segment is %" GST_TIME_FORMAT " behind live, "
      "catching up %" GST_TIME_FORMAT, GST_TIME_ARGS (live_ts - first_ts),
      GST_TIME_ARGS (catch_up));
  /* the rest is played through faster, starting with what is in hand */
  swarm_playout_set_behind (&self->playout,
      (gint64) (live_ts - first_ts - catch_up) / GST_USECOND);
  return first_ts + catch_up;
}

static gboolean
gst_p2p_src_take_segment (GstP2pSrc * self, GBytes * bytes, gint64 arrival_us)
{
  g_autoptr (SwarmSegment) seg = NULL;
  GError *error = NULL;
  GstClockTime first, end;
  GstClockTimeDiff shift = 0;
  guint i;

  if (!(seg = swarm_segment_parse (bytes, &error))) {
    GST_WARNING_OBJECT (self, "unplayable segment: %s", error->message);
    g_error_free (error);
    return FALSE;
  }
  gst_p2p_src_apply_caps (self, seg->caps);
  segment_span (seg, &first, &end);

  if (GST_CLOCK_TIME_IS_VALID (first) && !self->have_offset) {
    /* The live edge lands on the running time now; the sink adds the
     * latency. */
    GstClockTime anchor = gst_p2p_src_start_anchor (self, first);
    GstClockTime now = gst_p2p_src_running_time (self);
    self->ts_offset = GST_CLOCK_DIFF (anchor, GST_CLOCK_TIME_IS_VALID (now) ?
        now : 0);
    self->have_offset = TRUE;
    self->playing_since_us = g_get_monotonic_time ();
  } else if (GST_CLOCK_TIME_IS_VALID (first)) {
    shift = gst_p2p_src_track_slack (self, first, end, arrival_us);
  }

  for (i = 0; i < seg->buffers->len; i++) {
    GstBuffer *in = g_ptr_array_index (seg->buffers, i);
    GstBuffer *out;

    out = gst_buffer_ref (in);
    out = gst_buffer_make_writable (out);
    GST_BUFFER_PTS (out) = rebase_spread (self, GST_BUFFER_PTS (in), first,
        end, shift);
    GST_BUFFER_DTS (out) = rebase_spread (self, GST_BUFFER_DTS (in), first,
        end, shift);
    if (self->discont) {
      GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
      self->discont = FALSE;
    }
    g_queue_push_tail (&self->pending, out);
  }
  self->ts_offset += shift;

  if (GST_CLOCK_TIME_IS_VALID (first) && end > first) {
    GstClockTime d = end - first;
    self->avg_segment = self->avg_segment ? (3 * self->avg_segment + d) / 4 : d;
  }
  if (GST_CLOCK_TIME_IS_VALID (end))
    self->next_rt = rebase (self, end);
  if (seg->flags & SWARM_SEGMENT_FLAG_EOS)
    self->eos = TRUE;
  return TRUE;
}

/* A segment missed its deadline while later ones exist: skip it. */
static void
gst_p2p_src_skip (GstP2pSrc * self, guint64 newest)
{
  guint64 key;

  GST_INFO_OBJECT (self, "segment %" G_GUINT64_FORMAT " missed its deadline",
      self->next_seq);
  swarm_session_note_missed (self->session, self->next_seq);
  swarm_playout_note_miss (&self->playout);
  if (GST_CLOCK_TIME_IS_VALID (self->next_rt) && self->avg_segment) {
    gst_pad_push_event (GST_BASE_SRC_PAD (self),
        gst_event_new_gap (self->next_rt, self->avg_segment));
    self->next_rt += self->avg_segment;
  }
  self->discont = TRUE;
  self->next_seq++;
  /* Far behind: jump to the newest keyframe rather than chase the past. */
  if (newest > self->next_seq + 8
      && swarm_session_get_newest_keyframe_seq (self->session, &key)
      && key > self->next_seq) {
    swarm_session_note_missed_n (self->session, key - self->next_seq);
    self->next_seq = key;
  }
  swarm_session_set_playout (self->session, self->next_seq);
}

/* The newest keyframe segment may be most of a GOP behind live.  If it is
 * more than half the latency behind, a newer one is usually close: wait for
 * it (at most the latency), trading a little startup for a viewer that
 * stays that much closer to live for good. */
static void
gst_p2p_src_choose_start (GstP2pSrc * self)
{
  GstClockTime latency = (GstClockTime) self->latency * GST_MSECOND;
  gint64 now_us = g_get_monotonic_time ();
  gint64 peek_deadline = now_us + MIN (latency / 2, 300 * GST_MSECOND) / 1000;
  GstClockTime start_ts, start_end, live_first, live_ts;
  guint64 newest, newer, key;

  /* The first keyframe announced woke us; by now the partners' maps may
   * name newer ones, which some partner holds: start at the newest. */
  if (swarm_session_get_newest_keyframe_seq (self->session, &key)
      && key > self->next_seq) {
    GST_DEBUG_OBJECT (self, "a newer keyframe is known: starting at %"
        G_GUINT64_FORMAT " rather than %" G_GUINT64_FORMAT, key,
        self->next_seq);
    self->next_seq = key;
    swarm_session_set_playout (self->session, key);
  }
  if (!swarm_session_get_newest_seq (self->session, &newest)
      || newest <= self->next_seq
      || !gst_p2p_src_peek_span (self, self->next_seq, peek_deadline,
          &start_ts, &start_end)
      || !gst_p2p_src_peek_span (self, newest, peek_deadline, &live_first,
          &live_ts)
      || live_ts <= start_ts + latency / 2)
    return;
  if (swarm_session_wait_keyframe_after (self->session, self->next_seq,
          g_get_monotonic_time () + latency / 1000, &newer) == SWARM_WAIT_OK) {
    GST_DEBUG_OBJECT (self, "start keyframe was %" GST_TIME_FORMAT " behind "
        "live: waited for a newer one", GST_TIME_ARGS (live_ts - start_ts));
    self->next_seq = newer;
    swarm_session_set_playout (self->session, newer);
  }
}

/* The start segment arrived.  In a swarm that is itself catching up (a
 * crowd joining at once) it is often stale: the partners held nothing
 * newer when we chose it, and newer segments follow it within a few
 * hundred milliseconds (in the lab, starts 1.2-1.6 s old followed by
 * segments 0.7 s old 300 ms later).  So wait until the newest segment any
 * partner announced is in hand, at most half the latency (300 ms at most),
 * and start at the newest keyframe segment in hand by then.  Nothing has
 * played yet, so the jump skips nothing anyone sees, and playout starts
 * that much closer to live instead of catching up for seconds.  Asked
 * again after each move (a few times at most): in a swarm still catching
 * up, newer keyframe segments keep arriving while we wait, and the first
 * look, taken with two or three segments in hand, left joiners starting
 * 1.5 s behind the newest in hand 200 ms later. */
static gboolean
gst_p2p_src_start_is_stale (GstP2pSrc * self, guint64 * key)
{
  GstClockTime latency = (GstClockTime) self->latency * GST_MSECOND;
  gint64 deadline = g_get_monotonic_time () +
      MIN (latency / 2, 300 * GST_MSECOND) / 1000;
  GstClockTime start_ts, end_ts;
  guint64 newest, seq;

  if (self->start_checks++ >= START_MOVES_MAX)
    return FALSE;
  /* what the partners announce meanwhile counts too */
  while (swarm_session_get_newest_seq (self->session, &newest)
      && newest > self->next_seq) {
    GBytes *bytes = NULL;
    SwarmWaitResult r = swarm_session_wait_segment (self->session, newest,
        MIN (deadline, g_get_monotonic_time () + 20 * 1000), &bytes, NULL);

    if (bytes)
      g_bytes_unref (bytes);
    if ((r == SWARM_WAIT_OK && swarm_session_get_newest_seq (self->session,
                &seq) && seq == newest) || g_get_monotonic_time () >= deadline)
      break;
  }
  /* The newest keyframe segment announced is often still on its way (a
   * keyframe segment is the biggest): within the same bound it beats an
   * older one in hand by up to a GOP.  In the lab, a joiner that started
   * without it began 1.5 s behind live and spent two seconds over 1.5 s
   * of latency catching up. */
  if (swarm_session_get_newest_keyframe_seq (self->session, &seq)
      && seq > self->next_seq && g_get_monotonic_time () < deadline) {
    GBytes *bytes = NULL;

    if (swarm_session_wait_segment (self->session, seq, deadline, &bytes,
            NULL) == SWARM_WAIT_OK)
      g_bytes_unref (bytes);
  }
  if (swarm_session_find_in_hand (self->session, self->next_seq, TRUE, &seq)) {
    GST_DEBUG_OBJECT (self, "starting at %" G_GUINT64_FORMAT ", the newest "
        "keyframe segment in hand, rather than %" G_GUINT64_FORMAT, seq,
        self->next_seq);
    *key = seq;
    return TRUE;
  }
  /* Nothing newer to start at yet, but what is in hand runs more than the
   * latency past the start and a newer keyframe segment is announced:
   * look again (the caller bounds how often) rather than start that far
   * behind.  Waiting is not latency; playing seconds of debt off at twice
   * the speed is (in the lab, a joiner whose one partner was slow started
   * 1.2 s behind the newest in hand, itself a keyframe segment that had
   * come 10 ms before). */
  if (swarm_session_get_newest_keyframe_seq (self->session, &seq)
      && seq > self->next_seq
      && gst_p2p_src_peek_span (self, self->next_seq, 0, &start_ts, &end_ts)
      && gst_p2p_src_newest_in_hand (self, self->next_seq, &end_ts)
      && end_ts > start_ts + latency) {
    GST_DEBUG_OBJECT (self, "start segment %" G_GUINT64_FORMAT " is %"
        GST_TIME_FORMAT " behind the newest in hand: looking again",
        self->next_seq, GST_TIME_ARGS (end_ts - start_ts));
    *key = self->next_seq;
    return TRUE;
  }
  return FALSE;
}

/* The publisher restarted (same key, a new run: swarm-edge.h): what we
 * wait for will never come.  Start again at the new run, as a joiner
 * would, with timestamps anchored afresh (the new run's have nothing to do
 * with the old one's) and a DISCONT. */
static gboolean
gst_p2p_src_follow_restart (GstP2pSrc * self)
{
  guint64 epoch_seq, restarts = 0, key;

  if (!swarm_session_get_epoch (self->session, &epoch_seq, &restarts)
      || restarts == self->restarts_seen)
    return FALSE;
  self->restarts_seen = restarts;
  if (self->next_seq >= epoch_seq)
    return FALSE;
  GST_INFO_OBJECT (self, "the publisher restarted: following it from "
      "segment %" G_GUINT64_FORMAT " to its new run at %" G_GUINT64_FORMAT,
      self->next_seq, epoch_seq);
  self->next_seq = epoch_seq;
  if (swarm_session_get_newest_keyframe_seq (self->session, &key)
      && key > epoch_seq)
    self->next_seq = key;
  swarm_session_set_playout (self->session, self->next_seq);
  self->have_offset = FALSE;
  self->discont = TRUE;
  self->start_moves = 0;
  self->start_checks = 0;
  self->rejoin_us = g_get_monotonic_time ();
  return TRUE;
}

static GstFlowReturn
gst_p2p_src_wait_result (GstP2pSrc * self, SwarmWaitResult r)
{
  if (r == SWARM_WAIT_CANCELLED)
    return GST_FLOW_FLUSHING;
  return GST_FLOW_ERROR;        /* the session posted the error */
}

static GstFlowReturn
gst_p2p_src_fill (GstP2pSrc * self)
{
  gint64 join_deadline = MAX (self->start_us, self->rejoin_us) +
      (gint64) self->join_timeout * 1000 + 2 * G_USEC_PER_SEC;
  SwarmWaitResult r;

  if (!self->started) {
    r = swarm_session_wait_start (self->session, join_deadline,
        &self->next_seq);
    if (r == SWARM_WAIT_TIMEOUT) {
      GError *e = g_error_new (SWARM_SESSION_ERROR,
          SWARM_SESSION_ERROR_JOIN_TIMEOUT,
          _("Could not join the swarm within %u ms."), self->join_timeout);
      gst_p2p_src_post_error (self, e);
      g_error_free (e);
      return GST_FLOW_ERROR;
    }
    if (r != SWARM_WAIT_OK)
      return gst_p2p_src_wait_result (self, r);
    self->started = TRUE;
    gst_p2p_src_choose_start (self);
    {
      guint64 newest = 0;

      swarm_session_get_newest_seq (self->session, &newest);
      GST_INFO_OBJECT (self, "starting at segment %" G_GUINT64_FORMAT
          " (newest known %" G_GUINT64_FORMAT ")", self->next_seq, newest);
    }
  }

  while (g_queue_is_empty (&self->pending) && !self->eos) {
    GBytes *bytes = NULL;
    gint64 arrival_us = 0;
    gboolean first, rejoin;
    gint64 deadline;
    guint64 newest, key;

    if (gst_p2p_src_follow_restart (self))
      join_deadline = self->rejoin_us + (gint64) self->join_timeout * 1000 +
          2 * G_USEC_PER_SEC;
    first = !self->have_offset;
    rejoin = self->rejoin_us != 0;
    deadline = first ? join_deadline : gst_p2p_src_deadline (self);

    /* A start segment slow to arrive is stale when it does, and playout
     * anchored on it stays that far behind live for good: while it is
     * missing, follow the newest keyframe the partners announce (which
     * the scheduler then fetches first), a few times at most so that a
     * slow swarm still starts. */
    if (first && self->start_moves < START_MOVES_MAX)
      deadline = MIN (deadline, g_get_monotonic_time () +
          (gint64) MAX (self->latency, START_MOVE_MIN_MS) * 1000);
    r = swarm_session_wait_segment (self->session, self->next_seq, deadline,
        &bytes, &arrival_us);
    if (first && r == SWARM_WAIT_TIMEOUT
        && self->start_moves < START_MOVES_MAX
        && g_get_monotonic_time () < join_deadline) {
      self->start_moves++;
      if (swarm_session_get_newest_keyframe_seq (self->session, &key)
          && key > self->next_seq) {
        GST_DEBUG_OBJECT (self, "start segment %" G_GUINT64_FORMAT " still "
            "missing: starting at the newer keyframe %" G_GUINT64_FORMAT,
            self->next_seq, key);
        self->next_seq = key;
        swarm_session_set_playout (self->session, key);
      }
      continue;
    }
    if (r == SWARM_WAIT_OK && first && self->start_moves < START_MOVES_MAX
        && gst_p2p_src_start_is_stale (self, &key)) {
      g_bytes_unref (bytes);
      self->start_moves++;
      self->next_seq = key;
      swarm_session_set_playout (self->session, key);
      continue;
    }
    if (r == SWARM_WAIT_OK) {
      gboolean ok = gst_p2p_src_take_segment (self, bytes, arrival_us);

      g_bytes_unref (bytes);
      self->last_segment_us = g_get_monotonic_time ();
      if (ok) {
        swarm_session_note_played (self->session, self->next_seq);
        if (first && !rejoin)
          swarm_session_note_startup (self->session,
              (g_get_monotonic_time () - self->start_us) / 1000);
      } else {
        swarm_session_note_missed (self->session, self->next_seq);
        self->discont = TRUE;
      }
      self->next_seq++;
      swarm_session_set_playout (self->session, self->next_seq);
      continue;
    }
    if (r != SWARM_WAIT_TIMEOUT)
      return gst_p2p_src_wait_result (self, r);
    if (first) {
      GError *e = g_error_new (SWARM_SESSION_ERROR,
          SWARM_SESSION_ERROR_JOIN_TIMEOUT,
          _("Joined the swarm but received no segment within %u ms."),
          self->join_timeout);
      gst_p2p_src_post_error (self, e);
      g_error_free (e);
      return GST_FLOW_ERROR;
    }
    /* Skip only what the swarm has moved past; if nothing newer exists the
     * publisher is quiet, and we wait, up to join-timeout. */
    if (gst_p2p_src_follow_restart (self))
      continue;
    if (swarm_session_get_newest_seq (self->session, &newest)
        && newest > self->next_seq) {
      gst_p2p_src_skip (self, newest);
    } else if (g_get_monotonic_time () - self->last_segment_us >
        (gint64) self->join_timeout * 1000) {
      GError *e = g_error_new (SWARM_SESSION_ERROR,
          SWARM_SESSION_ERROR_JOIN_TIMEOUT,
          _("No data from the swarm for %u ms: the publisher has stopped or "
              "is unreachable."), self->join_timeout);
      gst_p2p_src_post_error (self, e);
      g_error_free (e);
      return GST_FLOW_ERROR;
    }
  }
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_p2p_src_create (GstPushSrc * psrc, GstBuffer ** buf)
{
  GstP2pSrc *self = GST_P2P_SRC (psrc);
  GstFlowReturn ret;

  if (g_queue_is_empty (&self->pending)) {
    if (self->eos)
      return GST_FLOW_EOS;
    ret = gst_p2p_src_fill (self);
    if (ret != GST_FLOW_OK)
      return ret;
    if (g_queue_is_empty (&self->pending))
      return GST_FLOW_EOS;
  }
  *buf = g_queue_pop_head (&self->pending);
  return GST_FLOW_OK;
}

/* ---- URI handler -------------------------------------------------------- */

static GstURIType
gst_p2p_src_uri_get_type (GType type)
{
  return GST_URI_SRC;
}

static const gchar *const *
gst_p2p_src_uri_get_protocols (GType type)
{
  static const gchar *protocols[] = { "p2p", NULL };
  return protocols;
}

static gchar *
gst_p2p_src_uri_get_uri (GstURIHandler * handler)
{
  GstP2pSrc *self = GST_P2P_SRC (handler);
  gchar *uri;

  GST_OBJECT_LOCK (self);
  uri = g_strdup (self->uri);
  GST_OBJECT_UNLOCK (self);
  return uri;
}

static gboolean
gst_p2p_src_uri_set_uri (GstURIHandler * handler, const gchar * uri,
    GError ** error)
{
  GstP2pSrc *self = GST_P2P_SRC (handler);
  GError *parse_error = NULL;

  if (GST_STATE (self) > GST_STATE_READY) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        _("The URI can only be changed in the NULL or READY state."));
    return FALSE;
  }
  if (!gst_p2p_src_set_uri_internal (self, uri, &parse_error)) {
    g_set_error_literal (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        parse_error->message);
    g_error_free (parse_error);
    return FALSE;
  }
  return TRUE;
}

static void
gst_p2p_src_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  iface->get_type = gst_p2p_src_uri_get_type;
  iface->get_protocols = gst_p2p_src_uri_get_protocols;
  iface->get_uri = gst_p2p_src_uri_get_uri;
  iface->set_uri = gst_p2p_src_uri_set_uri;
}

static void
gst_p2p_src_class_init (GstP2pSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->set_property = gst_p2p_src_set_property;
  gobject_class->get_property = gst_p2p_src_get_property;
  gobject_class->finalize = gst_p2p_src_finalize;

  g_object_class_install_property (gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI",
          "Swarm to join: p2p://HOST:PORT/SWARM-ID[?tracker=URL…] (trackers "
          "and the publisher's key), as posted by p2psink", DEFAULT_URI,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "Playout delay in milliseconds: how long a segment may take to "
          "arrive before it is skipped (reported in the LATENCY query); "
          "0-60000, a value beyond is clamped with a warning",
          0, G_MAXUINT, DEFAULT_LATENCY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_PEERS,
      g_param_spec_uint ("max-peers", "Max peers",
          "Most partners this viewer exchanges segments with (1-1000, a "
          "value beyond is clamped with a warning)", 0, G_MAXUINT,
          DEFAULT_MAX_PEERS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STUN_SERVER,
      g_param_spec_string ("stun-server", "STUN server",
          "STUN server for NAT traversal, stun://host:port", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TURN_SERVER,
      g_param_spec_string ("turn-server", "TURN server",
          "TURN relay for peers that cannot connect directly, "
          "turn://user:password@host:port[?transport=tcp]", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstP2pSrc:session:
   *
   * The swarm session (GstSwarm.Session), from start (READY to PAUSED)
   * until stop; NULL otherwise.  Its "peer-added" and "peer-removed"
   * signals tell of partners as they come and go: connect to them in a
   * notify::session handler to miss none.
   */
  g_object_class_install_property (gobject_class, PROP_SESSION,
      g_param_spec_object ("session", "Session",
          "The swarm session while the element runs (GstSwarm.Session)",
          SWARM_TYPE_SESSION, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Swarm statistics, a p2p-stats structure (fields in docs/stats.md)",
          GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Stats interval",
          "Post a p2p-stats element message every this many milliseconds "
          "(0 = never)", 0, G_MAXUINT, DEFAULT_STATS_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_JOIN_TIMEOUT,
      g_param_spec_uint ("join-timeout", "Join timeout",
          "Fail with an error if no segment arrives within this many "
          "milliseconds of starting (tracker unreachable, unknown swarm, no "
          "publisher); 100-600000, a value beyond is clamped with a warning",
          0, G_MAXUINT, DEFAULT_JOIN_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstP2pSrc:clock-tolerance:
   *
   * Where live is comes from the publisher's signed word (an EDGE: its
   * newest segment and its wall-clock time then), never from what a
   * partner announces.  An EDGE whose time is further than this from our
   * clock is refused: an old recording never passes for live.  Keep
   * clocks in step (NTP); raise it only for a publisher whose clock you
   * cannot fix.
   */
  g_object_class_install_property (gobject_class, PROP_CLOCK_TOLERANCE,
      g_param_spec_uint ("clock-tolerance", "Clock tolerance",
          "How far (ms) the publisher's clock may be from ours before its "
          "word on where live is counts as an old recording; 1000-3600000, "
          "a value beyond is clamped with a warning", 0, G_MAXUINT,
          DEFAULT_CLOCK_TOLERANCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstP2pSrc:consume-only:
   *
   * For metered links: this viewer takes segments but never announces or
   * serves any, so it uploads nothing but control messages.
   */
  g_object_class_install_property (gobject_class, PROP_CONSUME_ONLY,
      g_param_spec_boolean ("consume-only", "Consume only",
          "Never upload segments to other viewers (for metered links)", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_UPLOAD_LIMIT,
      g_param_spec_uint ("upload-limit", "Upload limit",
          "Most kbit/s this viewer uploads to other viewers, all together "
          "(0 = no limit, 1 = consume only)", 0, G_MAXUINT, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_SECRET,
      g_param_spec_string ("secret", "Secret",
          "Shared secret of a private swarm, as given to p2psink (also "
          "secret= in the URI; write-only, never logged by us, but "
          "GStreamer logs launch lines: prefer secret-file or P2P_SECRET)",
          NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstP2pSrc:secret-file:
   *
   * Path of a file holding the private swarm's secret (one trailing
   * newline is dropped), read at start: keeps the secret off the command
   * line and out of GStreamer's logs.  Used when neither
   * #GstP2pSrc:secret nor `secret=` in the URI gives one; without any of
   * them the environment variable `P2P_SECRET` is used if set.
   */
  g_object_class_install_property (gobject_class, PROP_SECRET_FILE,
      g_param_spec_string ("secret-file", "Secret file",
          "File holding the private swarm's secret (used when secret and "
          "the URI give none; else the P2P_SECRET environment variable)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Peer-to-peer swarm viewer", "Source/Network",
      "Plays a live stream from a peer-to-peer swarm, re-sharing it with "
      "other viewers", "gst-p2p developers");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_p2p_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_p2p_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_p2p_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_p2p_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_p2p_src_query);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_p2p_src_create);

  GST_DEBUG_CATEGORY_INIT (gst_p2p_src_debug, "p2psrc", 0,
      "peer-to-peer swarm viewer");
  swarm_init ();
}

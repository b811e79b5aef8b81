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
#include "gstp2pelement.h"

GST_DEBUG_CATEGORY_STATIC (gst_p2p_src_debug);
#define GST_CAT_DEFAULT gst_p2p_src_debug

#define DEFAULT_URI NULL
#define DEFAULT_LATENCY 500

/* How much longer than the latency downstream may hold playout back
 * (the LATENCY query's maximum): what is not played yet waits in the
 * session's store, which keeps its newest 600 segments and 96 MB.  At the
 * shortest segments p2psink cuts (10 ms) and ~100 Mbit/s that is still
 * 6 s, so a pipeline asking for 5 s more never reads past what the store
 * lets go. */
#define HOLD_MAX_MS 5000

#define DEFAULT_JOIN_TIMEOUT 10000
#define DEFAULT_CLOCK_TOLERANCE SWARM_EDGE_DEFAULT_TOLERANCE_MS

/* Ranges of the numeric properties: set_property clamps a value beyond,
 * start() warns of it (swarm-settings.h: gst-launch latency=70000 played
 * with 500 and nothing on the bus said so). */
#define LATENCY_MAX 60000
#define JOIN_TIMEOUT_MIN 100
#define JOIN_TIMEOUT_MAX 600000
#define CLOCK_TOLERANCE_MIN 1000
#define CLOCK_TOLERANCE_MAX 3600000

/* after the common ones (gstp2pelement.h) */
enum
{
  PROP_URI = GST_P2P_PROP_LAST,
  PROP_LATENCY,
  PROP_JOIN_TIMEOUT,
  PROP_CONSUME_ONLY,
  PROP_CLOCK_TOLERANCE,
};

static const GstP2pPropertyText property_text = {
  .max_peers_default = 8,
  .max_peers_blurb = "Most partners this viewer exchanges segments with "
      "(1-1000, a value beyond is clamped with a warning)",
  /* For metered links: upload-limit=1 is consume-only */
  .upload_limit_blurb = "Most kbit/s this viewer uploads to other viewers, "
      "all together (0 = no limit, 1 = consume only)",
  .secret_blurb = "Shared secret of a private swarm, as given to p2psink "
      "(also secret= in the URI; write-only, never logged by us, but "
      "GStreamer logs launch lines: prefer secret-file or P2P_SECRET)",
  /* read at start: used when neither the secret property nor secret= in
   * the URI gives one; without any of them, P2P_SECRET if set */
  .secret_file_blurb = "File holding the private swarm's secret (used when "
      "secret and the URI give none; else the P2P_SECRET environment "
      "variable)",
  .stats_blurb = "Swarm statistics, a p2p-stats structure (fields in "
      "docs/stats.md)",
};

struct _GstP2pSrc
{
  GstPushSrc parent;

  /* properties, under the object lock; the common ones and the session
   * in settings */
  GstP2pSettings settings;
  gchar *uri;                    /* without its secret, if it had one */
  gchar *uri_error;              /* why uri did not parse; uri is redacted */
  guint latency;
  guint join_timeout;
  guint clock_tolerance;
  gboolean consume_only;

  /* from start to stop: where segments come from (the session, or one
   * given under SWARM_FEED_DATA_KEY) and the policy that plays them; the
   * pointers under the object lock */
  SwarmFeed *feed;
  gboolean own_feed;
  SwarmViewer *viewer;

  /* streaming thread only */
  GQueue pending;               /* GstBuffer* ready to push */
  GstCaps *caps;
  gboolean eos;
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

/* The viewer's fields on top of the session's; object lock held. */
static void
gst_p2p_src_add_stats (GstElement * element, GstStructure * stats)
{
  GstP2pSrc *self = GST_P2P_SRC (element);
  gdouble drift = 0, catch_up = 0;

  if (self->viewer)
    swarm_viewer_get_playout (self->viewer, &drift, &catch_up);
  gst_structure_set (stats, "drift-correction-ms", G_TYPE_DOUBLE, drift,
      "catch-up-ms", G_TYPE_DOUBLE, catch_up, NULL);
}

static void
gst_p2p_src_init (GstP2pSrc * self)
{
  gst_p2p_settings_init (&self->settings, &property_text, GST_ELEMENT (self),
      TRUE, gst_p2p_src_add_stats);
  self->latency = DEFAULT_LATENCY;
  self->join_timeout = DEFAULT_JOIN_TIMEOUT;
  self->clock_tolerance = DEFAULT_CLOCK_TOLERANCE;
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
  gst_p2p_settings_clear (&self->settings);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Takes the URI's query parameters over into the properties.  A secret
 * moves to the secret property: the uri property (readable, shown by
 * gst-launch -v and in logs) keeps the rest.  With @keep_invalid (the
 * property) a malformed URI is kept too, for start() to report as an
 * element error; but only what may be shown of it: it cannot be taken
 * apart to move a secret out. */
static gboolean
gst_p2p_src_set_uri_internal (GstP2pSrc * self, const gchar * uri,
    gboolean keep_invalid, GError ** error)
{
  g_autoptr (SwarmUri) parsed = NULL;
  GError *invalid = NULL;
  gchar *shown, *why = NULL;

  if (uri && !(parsed = swarm_uri_parse (uri, &invalid))) {
    if (!keep_invalid) {
      g_propagate_error (error, invalid);
      return FALSE;
    }
    shown = swarm_uri_redact (uri);
    /* the parser quotes what it did not understand: maybe the secret */
    why = g_str_equal (shown, uri) ? g_strdup (invalid->message) :
        g_strdup ("the URI's query is not shown: it may hold a secret");
    GST_WARNING_OBJECT (self, "invalid URI %s: %s", shown, why);
    g_error_free (invalid);
  } else {
    shown = parsed && parsed->secret ? swarm_uri_to_public_string (parsed) :
        g_strdup (uri);
  }
  GST_OBJECT_LOCK (self);
  g_free (self->uri);
  self->uri = shown;
  g_free (self->uri_error);
  self->uri_error = why;
  if (parsed && parsed->secret) {
    swarm_secret_clear_string (&self->settings.secret);
    self->settings.secret = g_strdup (parsed->secret);
  }
  if (parsed && parsed->stun_server) {
    g_free (self->settings.stun_server);
    self->settings.stun_server = g_strdup (parsed->stun_server);
  }
  if (parsed && parsed->turn_server) {
    g_free (self->settings.turn_server);
    self->settings.turn_server = g_strdup (parsed->turn_server);
  }
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static GstStructure *
gst_p2p_src_get_stats (GstP2pSrc * self)
{
  return gst_p2p_element_get_stats (&self->settings,
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
}

static void
gst_p2p_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstP2pSrc *self = GST_P2P_SRC (object);

  if (prop_id == PROP_URI) {
    gst_p2p_src_set_uri_internal (self, g_value_get_string (value), TRUE,
        NULL);
    return;
  }
  if (gst_p2p_element_set_property (GST_ELEMENT (self), &self->settings,
          prop_id, value))
    return;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LATENCY:
      self->latency = swarm_settings_clamp (GST_ELEMENT (self),
          self->settings.setting_warnings, "latency",
          g_value_get_uint (value), 0, LATENCY_MAX);
      break;
    case PROP_CLOCK_TOLERANCE:
      self->clock_tolerance = swarm_settings_clamp (GST_ELEMENT (self),
          self->settings.setting_warnings, "clock-tolerance",
          g_value_get_uint (value), CLOCK_TOLERANCE_MIN, CLOCK_TOLERANCE_MAX);
      break;
    case PROP_JOIN_TIMEOUT:
      self->join_timeout = swarm_settings_clamp (GST_ELEMENT (self),
          self->settings.setting_warnings, "join-timeout",
          g_value_get_uint (value), JOIN_TIMEOUT_MIN, JOIN_TIMEOUT_MAX);
      break;
    case PROP_CONSUME_ONLY:
      self->consume_only = g_value_get_boolean (value);
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

  if (prop_id == GST_P2P_PROP_STATS) {
    g_value_take_boxed (value, gst_p2p_src_get_stats (self));
    return;
  }
  if (gst_p2p_element_get_property (GST_ELEMENT (self), &self->settings,
          prop_id, value))
    return;
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_LATENCY:
      g_value_set_uint (value, self->latency);
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- errors ------------------------------------------------------------ */

static void
gst_p2p_src_post_error (GstP2pSrc * self, const GError * error)
{
  gst_p2p_element_post_session_error (GST_ELEMENT (self), error, TRUE,
      &self->settings.error_posted);
}

/* ---- start / stop ------------------------------------------------------- */

/* Joins the swarm the properties name; the session as a feed, or NULL
 * with the error posted. */
static SwarmFeed *
gst_p2p_src_join (GstP2pSrc * self)
{
  SwarmSessionConfig config = { 0 };
  GstP2pSessionParams params;
  g_autoptr (SwarmUri) uri = NULL;
  g_autoptr (SwarmIdentity) publisher = NULL;
  g_autofree gchar *uri_text = NULL, *uri_error = NULL;
  gchar **trackers = NULL;
  GError *error = NULL;
  SwarmSession *session;
  guint join_timeout, tolerance;
  gboolean consume_only;

  GST_OBJECT_LOCK (self);
  tolerance = self->clock_tolerance;
  uri_text = g_strdup (self->uri);
  uri_error = g_strdup (self->uri_error);
  join_timeout = self->join_timeout;
  consume_only = self->consume_only;
  GST_OBJECT_UNLOCK (self);

  if (!uri_text) {
    swarm_settings_post_warnings (GST_ELEMENT (self),
        &self->settings.setting_warnings);
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        (_("No URI set: give p2psrc the p2p:// URI posted by p2psink.")),
        (NULL));
    return NULL;
  }
  /* uri_text is then what may be shown of it (swarm_uri_redact) */
  if (uri_error || !(uri = swarm_uri_parse (uri_text, &error))) {
    swarm_settings_post_warnings (GST_ELEMENT (self),
        &self->settings.setting_warnings);
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        (_("Invalid swarm URI \"%s\"."), uri_text), ("%s",
            uri_error ? uri_error : error->message));
    g_clear_error (&error);
    return NULL;
  }
  /* the clamped-value warnings, the secret, STUN and TURN */
  if (!gst_p2p_element_prepare (GST_ELEMENT (self), &self->settings,
          &params))
    return NULL;

  publisher = swarm_identity_new_from_public_key (uri->swarm_key);
  trackers = swarm_uri_get_tracker_urls (uri);
  gst_p2p_session_params_fill (&params, &config);
  config.role = SWARM_SESSION_VIEWER;
  config.identity = publisher;
  config.trackers = trackers;
  config.join_timeout_ms = join_timeout;
  config.clock_tolerance_ms = tolerance;
  /* upload-limit=1 is the documented shorthand for consume-only */
  config.consume_only = consume_only || params.upload_limit == 1;

  session = gst_p2p_element_start_session (&self->settings, &config, 0,
      &error);
  g_strfreev (trackers);
  gst_p2p_session_params_clear (&params);
  if (!session) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        (_("Could not join the swarm.")), ("%s", error->message));
    g_error_free (error);
    return NULL;
  }
  return swarm_feed_new_for_session (session);
}

static gboolean
gst_p2p_src_start (GstBaseSrc * bsrc)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);
  SwarmFeed *feed = g_object_get_data (G_OBJECT (self), SWARM_FEED_DATA_KEY);
  SwarmViewerConfig config = {
    .running_time = (GstClockTime (*)(gpointer))
        gst_p2p_element_running_time,
    .user_data = self,
    .log_object = GST_OBJECT (self),
  };
  SwarmViewer *viewer;
  gboolean own_feed = FALSE;

  g_atomic_int_set (&self->settings.error_posted, 0);
  if (feed) {
    GST_INFO_OBJECT (self, "playing from the feed given under \"%s\"",
        SWARM_FEED_DATA_KEY);
    swarm_settings_post_warnings (GST_ELEMENT (self),
        &self->settings.setting_warnings);
  } else if ((feed = gst_p2p_src_join (self))) {
    own_feed = TRUE;
  } else {
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  config.latency_ms = self->latency;
  config.join_timeout_ms = self->join_timeout;
  GST_OBJECT_UNLOCK (self);
  viewer = swarm_viewer_new (feed, &config);
  GST_OBJECT_LOCK (self);
  self->feed = feed;
  self->own_feed = own_feed;
  self->viewer = viewer;
  GST_OBJECT_UNLOCK (self);
  self->eos = FALSE;
  return TRUE;
}

static gboolean
gst_p2p_src_stop (GstBaseSrc * bsrc)
{
  GstP2pSrc *self = GST_P2P_SRC (bsrc);
  SwarmViewer *viewer;
  SwarmFeed *feed;
  gboolean own_feed;

  gst_p2p_element_stop_session (GST_ELEMENT (self), &self->settings);
  GST_OBJECT_LOCK (self);
  viewer = g_steal_pointer (&self->viewer);
  feed = g_steal_pointer (&self->feed);
  own_feed = self->own_feed;
  GST_OBJECT_UNLOCK (self);
  swarm_viewer_free (viewer);
  if (own_feed)
    swarm_feed_free (feed);
  g_queue_clear_full (&self->pending, (GDestroyNotify) gst_buffer_unref);
  gst_clear_caps (&self->caps);
  return TRUE;
}

/* unlock and unlock_stop: a wait on the feed returns (CANCELLED) */
static gboolean
gst_p2p_src_set_flushing (GstP2pSrc * self, gboolean flushing)
{
  GST_OBJECT_LOCK (self);
  if (self->feed)
    self->feed->klass->set_flushing (self->feed, flushing);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_p2p_src_unlock (GstBaseSrc * bsrc)
{
  return gst_p2p_src_set_flushing (GST_P2P_SRC (bsrc), TRUE);
}

static gboolean
gst_p2p_src_unlock_stop (GstBaseSrc * bsrc)
{
  return gst_p2p_src_set_flushing (GST_P2P_SRC (bsrc), FALSE);
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

/* ---- streaming ---------------------------------------------------------- */

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

/* The viewer's segment as buffers: the publisher's bytes, flags and
 * durations, timestamps in running time, DISCONT after a hole. */
static void
gst_p2p_src_queue_segment (GstP2pSrc * self, const SwarmViewerStep * step)
{
  gboolean discont = step->discont;
  guint i;

  gst_p2p_src_apply_caps (self, step->segment->caps);
  for (i = 0; i < step->segment->buffers->len; i++) {
    GstBuffer *out = gst_buffer_ref (g_ptr_array_index
        (step->segment->buffers, i));

    out = gst_buffer_make_writable (out);
    GST_BUFFER_PTS (out) = swarm_viewer_step_time (step, GST_BUFFER_PTS (out));
    GST_BUFFER_DTS (out) = swarm_viewer_step_time (step, GST_BUFFER_DTS (out));
    if (discont) {
      GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
      discont = FALSE;
    }
    g_queue_push_tail (&self->pending, out);
  }
  if (step->eos)
    self->eos = TRUE;
}

static GstFlowReturn
gst_p2p_src_fill (GstP2pSrc * self)
{
  GstFlowReturn ret = GST_FLOW_OK;

  while (ret == GST_FLOW_OK && g_queue_is_empty (&self->pending)
      && !self->eos) {
    SwarmViewerStep step;

    switch (swarm_viewer_next (self->viewer, &step)) {
      case SWARM_VIEWER_PLAY:
        gst_p2p_src_queue_segment (self, &step);
        break;
      case SWARM_VIEWER_GAP:
        /* a segment given up: nothing plays here; DISCONT follows */
        gst_pad_push_event (GST_BASE_SRC_PAD (self),
            gst_event_new_gap (step.gap_start, step.gap_duration));
        break;
      case SWARM_VIEWER_FLUSHING:
        ret = GST_FLOW_FLUSHING;
        break;
      case SWARM_VIEWER_ERROR:
        /* without an error of its own, the session posted one */
        if (step.error)
          gst_p2p_src_post_error (self, step.error);
        ret = GST_FLOW_ERROR;
        break;
    }
    swarm_viewer_step_clear (&step);
  }
  return ret;
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
  if (!gst_p2p_src_set_uri_internal (self, uri, FALSE, &parse_error)) {
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

  /* max-peers, stun-server, turn-server, session, stats, stats-interval,
   * upload-limit, secret (write-only), secret-file */
  gst_p2p_element_install_properties (gobject_class, &property_text);

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

/* GStreamer peer-to-peer live streaming: publisher sink
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-p2psink
 * @title: p2psink
 * @see_also: p2psrc
 *
 * Publishes a live stream of encoded buffers (any caps) into a
 * peer-to-peer swarm.  Buffers are cut into small segments (about
 * #GstP2pSink:segment-duration, a new one at each keyframe), signed with the
 * publisher's Ed25519 key, and served to at most #GstP2pSink:max-peers
 * viewers directly; viewers pass them on to each other.  A segment is cut
 * at 2.4 MB; a bigger buffer (a 4K intra frame) travels alone in a segment
 * of up to 18.4 MiB (16384 chunks).  A buffer bigger still is dropped with
 * a STREAM ENCODE warning and counted in `frames-dropped`; viewers see a
 * DISCONT.
 *
 * Unless #GstP2pSink:tracker names external WebTorrent trackers, the sink
 * runs the swarm's tracker itself on #GstP2pSink:address and
 * #GstP2pSink:port, so one pipeline is a complete deployment.  It holds a
 * crowd: #GstP2pSink:tracker-max-connections (16384) connections in all,
 * none counted per address by default
 * (#GstP2pSink:tracker-max-connections-per-address: an office or a
 * carrier-grade NAT puts thousands of viewers behind one address), new
 * ones from one address at #GstP2pSink:tracker-connection-rate (200 a
 * second after a burst of 2000).  A viewer refused over one of these is
 * told why (its error says "the tracker refused the connection: …"), and
 * the refusal is counted in the stats (`tracker-connections-refused-*`);
 * docs/tracker-load.md has what 10,000 viewers cost it.  Once the swarm
 * is ready, the element posts an element message `p2p-published` with a
 * string field `uri` (also readable from #GstP2pSink:uri) for viewers.
 * With external trackers (`ws://` or `wss://`, comma separated) the URI
 * names every one: `p2p://HOST:PORT/SWARM-ID` when the only tracker is
 * `ws://HOST:PORT/announce`, the others in `tracker=` parameters, and
 * `p2p:///SWARM-ID?tracker=…` when the first has another form.  The swarm
 * keeps going while some or all trackers are down; each outage is posted as
 * one warning.
 *
 * With #GstP2pSink:secret set the swarm is private: descriptions are sealed
 * with a key derived from the secret and partners prove they know it, so
 * only viewers given the same secret (p2psrc `secret`, `secret-file`,
 * `P2P_SECRET` or `secret=` in the URI) can join, and members announce on
 * a tracker info_hash derived from the secret: knowing the swarm id is not
 * enough to find them.  Secrets weaker than an estimated 80 bits are
 * refused; `p2p-key --new-secret` makes a good one.  We never log the
 * secret nor show it in `uri` or `p2p-published` (which then carries
 * `private=true`), but GStreamer logs launch lines at GST_DEBUG level 4:
 * give it with #GstP2pSink:secret-file or `P2P_SECRET` rather than
 * `secret=` on a command line.
 *
 * Every #GstP2pSink:stats-interval milliseconds it posts a `p2p-stats`
 * element message holding the #GstP2pSink:stats structure: what was
 * published and uploaded, what hostile peers and tracker clients cost,
 * `frames-dropped` (buffers larger than a segment can carry) and
 * `peer-stats`, a `peer` structure per partner.  Every field, with its type
 * and unit, is in docs/stats.md (the one reference, checked by a test).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m videotestsrc is-live=true ! jpegenc ! p2psink port=0 max-peers=2
 * ]| Publishes a test stream; the `p2p-published` message gives the URI to
 * open with p2psrc.
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=30 ! \
 *     h264parse config-interval=-1 ! mpegtsmux ! p2psink key-file=publisher.key port=8800
 * ]| An MPEG-TS stream with a publisher key kept across restarts, so the URI
 * stays the same.
 * |[
 * gst-launch-1.0 -m videotestsrc is-live=true ! jpegenc ! \
 *     p2psink tracker=ws://tracker-a:8000/announce,wss://tracker-b.example.org/
 * ]| Announces on two existing trackers (npm bittorrent-tracker,
 * aquatic_ws); viewers open the posted URI and use both.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <glib/gi18n-lib.h>
#include "gstp2psink.h"
#include "gstp2pelement.h"

GST_DEBUG_CATEGORY_STATIC (gst_p2p_sink_debug);
#define GST_CAT_DEFAULT gst_p2p_sink_debug

#define DEFAULT_TRACKER NULL
#define DEFAULT_ADDRESS "0.0.0.0"
#define DEFAULT_PORT 8800
#define DEFAULT_KEY_FILE NULL
#define DEFAULT_SEGMENT_DURATION 200
/* the embedded tracker's own defaults (swarm-tracker.h, with their
 * reasons) */
#define DEFAULT_TRACKER_MAX_CONNECTIONS SWARM_TRACKER_DEFAULT_MAX_CONNECTIONS
#define DEFAULT_TRACKER_MAX_CONNECTIONS_PER_ADDRESS 0
#define DEFAULT_TRACKER_CONNECTION_RATE SWARM_TRACKER_DEFAULT_CONNECTION_RATE
#define READY_TIMEOUT_MS 10000

/* Ranges of the numeric properties.  Their GParamSpecs take any guint:
 * GObject would drop a value out of range with a warning on stderr and
 * keep the old one, which an application watching the bus never learns.
 * set_property clamps it and start() posts a warning naming the property,
 * the value and the one used. */
#define PORT_MAX 65535
#define SEGMENT_DURATION_MIN 10
#define SEGMENT_DURATION_MAX 10000
/* what one process can hold: Linux's default fs.nr_open */
#define TRACKER_CONNECTIONS_MAX 1048576
#define TRACKER_CONNECTION_RATE_MAX 1000000

/* after the common ones (gstp2pelement.h) */
enum
{
  PROP_TRACKER = GST_P2P_PROP_LAST,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_KEY_FILE,
  PROP_SEGMENT_DURATION,
  PROP_TRACKER_MAX_CONNECTIONS,
  PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS,
  PROP_TRACKER_CONNECTION_RATE,
  PROP_URI,
};

static const GstP2pPropertyText property_text = {
  .max_peers_default = 4,
  .max_peers_blurb = "Most viewers the publisher serves directly; the others "
      "get the stream from viewers (1-1000, a value beyond is clamped with a "
      "warning)",
  .upload_limit_blurb = "Most kbit/s the publisher uploads to its viewers, "
      "all together (0 = no limit); below the stream's bitrate viewers will "
      "miss segments",
  .secret_blurb = "Shared secret of a private swarm: only viewers given the "
      "same secret can join (write-only, never logged by us, but GStreamer "
      "logs launch lines: prefer secret-file or P2P_SECRET; NULL = public "
      "swarm)",
  /* read at start, used when secret is not set */
  .secret_file_blurb = "File holding the private swarm's secret (used when "
      "secret is not set; else the P2P_SECRET environment variable)",
  .stats_blurb = "Swarm statistics, a p2p-stats structure (fields in "
      "docs/stats.md)",
};

struct _GstP2pSink
{
  GstBaseSink parent;

  /* properties, under the object lock; the common ones and the session
   * in settings */
  GstP2pSettings settings;
  gchar *tracker;
  gchar *address;
  guint port;
  gchar *key_file;
  guint segment_duration;
  guint tracker_max_connections;
  guint tracker_max_connections_per_address;
  guint tracker_connection_rate;
  gchar *uri;

  /* streaming state */
  guint64 frames_dropped;       /* too large for a segment; object lock */
  SwarmIdentity *identity;
  SwarmSegmenter *segmenter;
  SwarmSequence *sequence;      /* numbers never reused (swarm-sequence.h) */
  gboolean sequence_warned;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define gst_p2p_sink_parent_class parent_class
G_DEFINE_TYPE (GstP2pSink, gst_p2p_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (p2psink, "p2psink", GST_RANK_NONE,
    GST_TYPE_P2P_SINK);

/* frames-dropped on top of the session's fields; object lock held */
static void
gst_p2p_sink_add_stats (GstElement * element, GstStructure * stats)
{
  gst_structure_set (stats, "frames-dropped", G_TYPE_UINT64,
      GST_P2P_SINK (element)->frames_dropped, NULL);
}

static void
gst_p2p_sink_init (GstP2pSink * self)
{
  gst_p2p_settings_init (&self->settings, &property_text, GST_ELEMENT (self),
      FALSE, gst_p2p_sink_add_stats);
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->port = DEFAULT_PORT;
  self->segment_duration = DEFAULT_SEGMENT_DURATION;
  self->tracker_max_connections = DEFAULT_TRACKER_MAX_CONNECTIONS;
  self->tracker_max_connections_per_address =
      DEFAULT_TRACKER_MAX_CONNECTIONS_PER_ADDRESS;
  self->tracker_connection_rate = DEFAULT_TRACKER_CONNECTION_RATE;
}

static void
gst_p2p_sink_finalize (GObject * object)
{
  GstP2pSink *self = GST_P2P_SINK (object);

  g_free (self->tracker);
  g_free (self->address);
  g_free (self->key_file);
  g_free (self->uri);
  gst_p2p_settings_clear (&self->settings);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_p2p_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstP2pSink *self = GST_P2P_SINK (object);

  if (gst_p2p_element_set_property (GST_ELEMENT (self), &self->settings,
          prop_id, value))
    return;
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TRACKER:
      g_free (self->tracker);
      self->tracker = g_value_dup_string (value);
      break;
    case PROP_ADDRESS:
      g_free (self->address);
      self->address = g_value_dup_string (value);
      if (!self->address)
        self->address = g_strdup (DEFAULT_ADDRESS);
      break;
    case PROP_PORT:
      self->port = swarm_settings_clamp (GST_ELEMENT (self),
          self->settings.setting_warnings, "port", g_value_get_uint (value),
          0, PORT_MAX);
      break;
    case PROP_KEY_FILE:
      g_free (self->key_file);
      self->key_file = g_value_dup_string (value);
      break;
    case PROP_SEGMENT_DURATION:
      self->segment_duration = swarm_settings_clamp (GST_ELEMENT (self),
          self->settings.setting_warnings, "segment-duration",
          g_value_get_uint (value), SEGMENT_DURATION_MIN,
          SEGMENT_DURATION_MAX);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS:
      self->tracker_max_connections = swarm_settings_clamp (GST_ELEMENT
          (self), self->settings.setting_warnings, "tracker-max-connections",
          g_value_get_uint (value), 1, TRACKER_CONNECTIONS_MAX);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS:
      self->tracker_max_connections_per_address = swarm_settings_clamp
          (GST_ELEMENT (self), self->settings.setting_warnings,
          "tracker-max-connections-per-address", g_value_get_uint (value), 0,
          TRACKER_CONNECTIONS_MAX);
      break;
    case PROP_TRACKER_CONNECTION_RATE:
      self->tracker_connection_rate = swarm_settings_clamp (GST_ELEMENT
          (self), self->settings.setting_warnings, "tracker-connection-rate",
          g_value_get_uint (value), 0, TRACKER_CONNECTION_RATE_MAX);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStructure *
gst_p2p_sink_get_stats (GstP2pSink * self)
{
  return gst_p2p_element_get_stats (&self->settings,
        "peers", G_TYPE_UINT, 0,
        "bytes-sent", G_TYPE_UINT64, (guint64) 0,
        "bytes-received", G_TYPE_UINT64, (guint64) 0,
        "segments-published", G_TYPE_UINT64, (guint64) 0, NULL);
}

static void
gst_p2p_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstP2pSink *self = GST_P2P_SINK (object);

  if (prop_id == GST_P2P_PROP_STATS) {
    g_value_take_boxed (value, gst_p2p_sink_get_stats (self));
    return;
  }
  if (gst_p2p_element_get_property (GST_ELEMENT (self), &self->settings,
          prop_id, value))
    return;
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TRACKER:
      g_value_set_string (value, self->tracker);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_KEY_FILE:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_SEGMENT_DURATION:
      g_value_set_uint (value, self->segment_duration);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS:
      g_value_set_uint (value, self->tracker_max_connections);
      break;
    case PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS:
      g_value_set_uint (value, self->tracker_max_connections_per_address);
      break;
    case PROP_TRACKER_CONNECTION_RATE:
      g_value_set_uint (value, self->tracker_connection_rate);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- start / stop ------------------------------------------------------- */

/* The address viewers should use for a tracker bound to every interface:
 * the first non-loopback IPv4 address, else loopback. */
static gchar *
guess_public_host (void)
{
  struct ifaddrs *ifs, *i;
  gchar *host = NULL;

  if (getifaddrs (&ifs) == 0) {
    for (i = ifs; i && !host; i = i->ifa_next) {
      char buf[INET_ADDRSTRLEN];
      struct sockaddr_in *sin = (struct sockaddr_in *) i->ifa_addr;

      if (!sin || sin->sin_family != AF_INET)
        continue;
      if ((ntohl (sin->sin_addr.s_addr) >> 24) == 127)
        continue;
      if (inet_ntop (AF_INET, &sin->sin_addr, buf, sizeof buf))
        host = g_strdup (buf);
    }
    freeifaddrs (ifs);
  }
  return host ? host : g_strdup ("127.0.0.1");
}

/* The tracker property as a list ("a, b" and "a,b": empty pieces
 * dropped), each URL checked now: the URI for viewers will name them.
 * NULL with an empty list; FALSE, with the error posted, on a bad URL. */
static gboolean
gst_p2p_sink_parse_trackers (GstP2pSink * self, const gchar * tracker,
    gchar *** trackers)
{
  g_auto (GStrv) pieces = NULL;
  GPtrArray *list;
  GError *error = NULL;

  *trackers = NULL;
  if (!tracker || !*tracker)
    return TRUE;
  pieces = g_strsplit_set (tracker, ", ", -1);
  list = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; pieces[i]; i++) {
    if (!*pieces[i])
      continue;
    if (!swarm_uri_check_tracker_url (pieces[i], &error)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Invalid tracker setting.")), ("%s", error->message));
      g_error_free (error);
      g_ptr_array_unref (list);
      return FALSE;
    }
    g_ptr_array_add (list, g_strdup (pieces[i]));
  }
  if (list->len > 0) {
    g_ptr_array_add (list, NULL);
    g_ptr_array_set_free_func (list, NULL);
    *trackers = (gchar **) g_ptr_array_free (list, FALSE);
  } else {
    g_ptr_array_unref (list);
  }
  return TRUE;
}

static gboolean
gst_p2p_sink_start (GstBaseSink * bsink)
{
  GstP2pSink *self = GST_P2P_SINK (bsink);
  SwarmSessionConfig config = { 0 };
  GstP2pSessionParams params;
  g_auto (GStrv) trackers = NULL;
  g_autofree gchar *key_file = NULL, *address = NULL, *host = NULL;
  g_autofree gchar *swarm_id = NULL, *tracker = NULL;
  guint port, segment_duration, tracker_port;
  guint max_connections, max_per_address, connection_rate;
  gboolean is_private;
  GError *error = NULL;
  SwarmSession *session;
  gchar *uri;

  /* the clamped-value warnings, the secret, STUN and TURN */
  if (!gst_p2p_element_prepare (GST_ELEMENT (self), &self->settings,
          &params))
    return FALSE;
  GST_OBJECT_LOCK (self);
  key_file = g_strdup (self->key_file);
  address = g_strdup (self->address);
  port = self->port;
  segment_duration = self->segment_duration;
  tracker = g_strdup (self->tracker);
  max_connections = self->tracker_max_connections;
  max_per_address = self->tracker_max_connections_per_address;
  connection_rate = self->tracker_connection_rate;
  GST_OBJECT_UNLOCK (self);

  if (!gst_p2p_sink_parse_trackers (self, tracker, &trackers)) {
    gst_p2p_session_params_clear (&params);
    return FALSE;
  }
  if (key_file && *key_file)
    self->identity = swarm_identity_load_or_create (key_file, &error);
  else
    self->identity = swarm_identity_generate (&error);
  if (!self->identity) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
        (_("Could not load or create the publisher key.")), ("%s",
            error->message));
    g_error_free (error);
    gst_p2p_session_params_clear (&params);
    return FALSE;
  }

  gst_p2p_session_params_fill (&params, &config);
  config.role = SWARM_SESSION_ORIGIN;
  config.identity = self->identity;
  config.trackers = trackers;
  config.tracker_address = address;
  config.tracker_port = port;
  config.tracker_max_connections = max_connections;
  config.tracker_max_connections_per_address = max_per_address;
  /* the config's 0 is the default, a property's 0 no bound */
  config.tracker_connection_rate = connection_rate ? (gint) connection_rate :
      -1;
  is_private = config.secret != NULL;

  session = gst_p2p_element_start_session (&self->settings, &config,
      READY_TIMEOUT_MS, &error);
  gst_p2p_session_params_clear (&params);
  if (!session) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        (_("Could not start publishing the swarm.")), ("%s", error->message));
    g_error_free (error);
    g_clear_pointer (&self->identity, swarm_identity_unref);
    return FALSE;
  }

  swarm_id = swarm_identity_get_swarm_id (self->identity);
  tracker_port = swarm_session_get_tracker_port (session);
  if (tracker_port) {
    host = g_str_equal (address, "0.0.0.0") || g_str_equal (address, "::")
        ? guess_public_host () : g_strdup (address);
    uri = g_strdup_printf (strchr (host, ':') ? "p2p://[%s]:%u/%s" :
        "p2p://%s:%u/%s", host, tracker_port, swarm_id);
  } else {
    /* external trackers, all named: the URI is all a viewer needs */
    g_autoptr (SwarmUri) parsed = swarm_uri_new_for_trackers
        (swarm_identity_get_public_key (self->identity),
        (const gchar * const *) trackers, NULL);

    g_assert (parsed != NULL);  /* every URL was checked above */
    uri = swarm_uri_to_public_string (parsed);
    tracker_port = parsed->port;
  }

  GST_OBJECT_LOCK (self);
  self->frames_dropped = 0;
  GST_OBJECT_UNLOCK (self);
  self->segmenter = swarm_segmenter_new (self->identity,
      (GstClockTime) segment_duration * GST_MSECOND, 0);
  /* With a key file, a restart on the same key is the same swarm: number
   * past whatever the last run reserved, whatever the clock says. */
  {
    g_autofree gchar *seq_path = key_file && *key_file ?
        g_strconcat (key_file, ".seq", NULL) : NULL;

    self->sequence = swarm_sequence_new (seq_path, g_get_real_time (), &error);
    if (!self->sequence) {
      GST_ELEMENT_WARNING (self, RESOURCE, READ,
          (_("Could not read the sequence reservation beside the key file; "
                  "numbering from the clock.")), ("%s", error->message));
      g_clear_error (&error);
      self->sequence = swarm_sequence_new (NULL, g_get_real_time (), NULL);
    }
    swarm_segmenter_set_next_seq (self->segmenter,
        swarm_sequence_first (self->sequence));
  }
  GST_OBJECT_LOCK (self);
  g_free (self->uri);
  self->uri = uri;
  GST_OBJECT_UNLOCK (self);
  g_object_notify (G_OBJECT (self), "uri");

  GST_INFO_OBJECT (self, "publishing %s", uri);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("p2p-published",
              "uri", G_TYPE_STRING, uri,
              "swarm-id", G_TYPE_STRING, swarm_id,
              "tracker-port", G_TYPE_UINT, tracker_port,
              "private", G_TYPE_BOOLEAN, is_private, NULL)));
  return TRUE;
}

static gboolean
gst_p2p_sink_stop (GstBaseSink * bsink)
{
  GstP2pSink *self = GST_P2P_SINK (bsink);

  gst_p2p_element_stop_session (GST_ELEMENT (self), &self->settings);
  g_clear_pointer (&self->segmenter, swarm_segmenter_free);
  g_clear_pointer (&self->sequence, swarm_sequence_free);
  g_clear_pointer (&self->identity, swarm_identity_unref);
  return TRUE;
}

/* ---- streaming ---------------------------------------------------------- */

static GstFlowReturn
gst_p2p_sink_publish (GstP2pSink * self, GPtrArray * out)
{
  GError *error = NULL;
  guint i;

  for (i = 0; i < out->len; i++) {
    SwarmSegmenterOutput *o = g_ptr_array_index (out, i);

    GST_LOG_OBJECT (self, "segment %" G_GUINT64_FORMAT ": %u buffers, %"
        G_GSIZE_FORMAT " bytes", o->seq, o->n_buffers,
        g_bytes_get_size (o->bytes));
    if (self->sequence && !swarm_sequence_use (self->sequence, o->seq,
            &error)) {
      if (!self->sequence_warned)
        GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
            (_("Could not write the sequence reservation beside the key "
                    "file: a restart may reuse sequence numbers.")), ("%s",
                error->message));
      self->sequence_warned = TRUE;
      g_clear_error (&error);
    }
    swarm_session_publish (self->settings.session, o->seq, o->flags, o->bytes);
  }
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_p2p_sink_segmenter_failed (GstP2pSink * self, GError * error)
{
  GST_ELEMENT_ERROR (self, STREAM, ENCODE,
      (_("Could not package the stream into segments.")), ("%s",
          error->message));
  g_error_free (error);
  return GST_FLOW_ERROR;
}

static GstFlowReturn
gst_p2p_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstP2pSink *self = GST_P2P_SINK (bsink);
  g_autoptr (GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify)
      swarm_segmenter_output_free);
  GError *error = NULL;

  if (!swarm_segmenter_push (self->segmenter, buf, out, &error)) {
    if (!g_error_matches (error, SWARM_SEGMENT_ERROR,
            SWARM_SEGMENT_ERROR_FRAME_TOO_LARGE))
      return gst_p2p_sink_segmenter_failed (self, error);
    /* One frame lost, not the stream: viewers see a DISCONT. */
    GST_OBJECT_LOCK (self);
    self->frames_dropped++;
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_WARNING (self, STREAM, ENCODE,
        (_("A frame too large for the swarm was dropped.")), ("%s",
            error->message));
    g_error_free (error);
  }
  return gst_p2p_sink_publish (self, out);
}

static gboolean
gst_p2p_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstP2pSink *self = GST_P2P_SINK (bsink);
  g_autoptr (GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify)
      swarm_segmenter_output_free);
  GError *error = NULL;

  if (!self->segmenter)
    return TRUE;
  if (!swarm_segmenter_set_caps (self->segmenter, caps, out, &error)) {
    gst_p2p_sink_segmenter_failed (self, error);
    return FALSE;
  }
  gst_p2p_sink_publish (self, out);
  return TRUE;
}

static gboolean
gst_p2p_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstP2pSink *self = GST_P2P_SINK (bsink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->segmenter) {
    g_autoptr (GPtrArray) out =
        g_ptr_array_new_with_free_func ((GDestroyNotify)
        swarm_segmenter_output_free);
    GError *error = NULL;

    /* The last segment carries EOS so viewers end cleanly too. */
    if (swarm_segmenter_flush (self->segmenter, TRUE, out, &error))
      gst_p2p_sink_publish (self, out);
    else
      gst_p2p_sink_segmenter_failed (self, error);
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

static void
gst_p2p_sink_class_init (GstP2pSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_p2p_sink_set_property;
  gobject_class->get_property = gst_p2p_sink_get_property;
  gobject_class->finalize = gst_p2p_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_TRACKER,
      g_param_spec_string ("tracker", "Tracker",
          "WebTorrent tracker URL(s) to announce the swarm on, comma separated "
          "(ws://host:port/announce, wss://host/path); the uri then names "
          "them all; unset = run an embedded tracker on address:port", DEFAULT_TRACKER,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "Address the embedded tracker listens on", DEFAULT_ADDRESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_uint ("port", "Port",
          "Port the embedded tracker listens on (0 = any free port; read the "
          "result from the uri property); 0-65535, a value beyond is clamped "
          "with a warning", 0, G_MAXUINT, DEFAULT_PORT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_KEY_FILE,
      g_param_spec_string ("key-file", "Key file",
          "Publisher's Ed25519 private key (PEM), created with mode 0600 if "
          "missing; keeps the swarm id and URI across restarts (unset = a new "
          "key every start)", DEFAULT_KEY_FILE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_SEGMENT_DURATION,
      g_param_spec_uint ("segment-duration", "Segment duration",
          "Target duration of a segment in milliseconds (a new segment also "
          "starts at each keyframe); smaller = lower latency, more overhead; "
          "10-10000, a value beyond is clamped with a warning",
          0, G_MAXUINT, DEFAULT_SEGMENT_DURATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class,
      PROP_TRACKER_MAX_CONNECTIONS, g_param_spec_uint
      ("tracker-max-connections", "Tracker max connections",
          "Connections the embedded tracker holds at once, all viewers "
          "together, half-open requests included (about 2 kB each); one "
          "more is refused with the reason, which the viewer reports.  Each "
          "is a file descriptor: the tracker raises the process's soft "
          "limit to the hard one, and warns if that is still too low; "
          "1-1048576, a value beyond is clamped with a warning", 0, G_MAXUINT,
          DEFAULT_TRACKER_MAX_CONNECTIONS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class,
      PROP_TRACKER_MAX_CONNECTIONS_PER_ADDRESS, g_param_spec_uint
      ("tracker-max-connections-per-address",
          "Tracker max connections per address",
          "Connections the embedded tracker holds from one address (an IPv4 "
          "address, an IPv6 /64); 0 = no bound, the default: an office or a "
          "carrier-grade NAT puts thousands of viewers behind one address "
          "(tracker-connection-rate bounds how fast one address comes in); "
          "0-1048576, a value beyond is clamped with a warning", 0, G_MAXUINT,
          DEFAULT_TRACKER_MAX_CONNECTIONS_PER_ADDRESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class,
      PROP_TRACKER_CONNECTION_RATE, g_param_spec_uint
      ("tracker-connection-rate", "Tracker connection rate",
          "New connections a second the embedded tracker takes from one "
          "address, on average, after a burst of ten seconds' worth; one "
          "faster is refused (with the reason) and comes back later; 0 = no "
          "bound; 0-1000000, a value beyond is clamped with a warning", 0,
          G_MAXUINT, DEFAULT_TRACKER_CONNECTION_RATE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI",
          "p2p:// URI viewers open (p2psrc uri=...), set once the swarm is up",
          NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /* max-peers, stun-server, turn-server, session, stats, stats-interval,
   * upload-limit, secret (write-only), secret-file: read at start, used
   * when secret is not set; without either, the environment variable
   * P2P_SECRET is used if set */
  gst_p2p_element_install_properties (gobject_class, &property_text);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Peer-to-peer swarm publisher", "Sink/Network",
      "Publishes a live stream into a peer-to-peer swarm of viewers",
      "gst-p2p developers");

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_p2p_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_p2p_sink_stop);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_p2p_sink_render);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_p2p_sink_set_caps);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_p2p_sink_event);

  GST_DEBUG_CATEGORY_INIT (gst_p2p_sink_debug, "p2psink", 0,
      "peer-to-peer swarm publisher");
  swarm_init ();
}

/* What p2psink and p2psrc have in common: the properties both offer
 * (stun-server, turn-server, secret, secret-file, upload-limit, max-peers,
 * stats, stats-interval, session), turning them into a SwarmSessionConfig,
 * and telling of session errors and warnings on the bus with the GStreamer
 * error codes an application can act on.  In the manner of
 * gst-plugins-bad's ext/srt/gstsrtobject.c; compiled into both plugins,
 * exported by neither.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <swarm/swarm-internal.h>

G_BEGIN_DECLS

/* Property ids the common properties take: an element numbers its own
 * from GST_P2P_PROP_LAST on. */
enum
{
  GST_P2P_PROP_0,
  GST_P2P_PROP_MAX_PEERS,
  GST_P2P_PROP_STUN_SERVER,
  GST_P2P_PROP_TURN_SERVER,
  GST_P2P_PROP_STATS,
  GST_P2P_PROP_STATS_INTERVAL,
  GST_P2P_PROP_UPLOAD_LIMIT,
  GST_P2P_PROP_SECRET,
  GST_P2P_PROP_SECRET_FILE,
  GST_P2P_PROP_SESSION,
  GST_P2P_PROP_LAST,
};

/* What differs between the elements' common properties: the role words
 * in their blurbs, and max-peers' default. */
typedef struct
{
  guint max_peers_default;
  const gchar *max_peers_blurb;
  const gchar *upload_limit_blurb;
  const gchar *secret_blurb;
  const gchar *secret_file_blurb;
  const gchar *stats_blurb;
} GstP2pPropertyText;

/* The common properties' values, under the element's object lock, and
 * what the session's callbacks need. */
typedef struct
{
  GstElement *element;
  gboolean viewer;              /* error codes: see post_session_error */
  gint error_posted;            /* atomic: one ELEMENT_ERROR per run */
  /* the element's own stats fields, object lock held */
  void (*add_stats) (GstElement * element, GstStructure * stats);
  gchar *stun_server;
  gchar *turn_server;
  gchar *secret;                /* wiped when replaced or freed */
  gchar *secret_file;
  guint max_peers;
  guint upload_limit;
  guint stats_interval;
  GPtrArray *setting_warnings;  /* gchar*: values clamped, for start() */
  SwarmSession *session;        /* while the element runs */
} GstP2pSettings;

void gst_p2p_element_install_properties (GObjectClass * klass,
    const GstP2pPropertyText * text);
void gst_p2p_settings_init (GstP2pSettings * settings,
    const GstP2pPropertyText * text, GstElement * element, gboolean viewer,
    void (*add_stats) (GstElement * element, GstStructure * stats));
void gst_p2p_settings_clear (GstP2pSettings * settings);

/* set_property / get_property for the common ids (with the object lock
 * taken inside); FALSE for any other id.  "stats" is the element's own. */
gboolean gst_p2p_element_set_property (GstElement * element,
    GstP2pSettings * settings, guint prop_id, const GValue * value);
gboolean gst_p2p_element_get_property (GstElement * element,
    GstP2pSettings * settings, guint prop_id, GValue * value);

/* The settings turned into what a session needs, at start. */
typedef struct
{
  SwarmIceServer *stun;
  SwarmIceServer *turn;
  gchar *secret;                /* NULL: a public swarm; wiped at clear */
  guint max_peers;
  guint upload_limit;
  guint stats_interval;
} GstP2pSessionParams;

/* Posts the clamped-value warnings, then reads the secret (property,
 * secret-file, P2P_SECRET), refuses a weak one and parses the STUN and
 * TURN servers.  On failure posts the element error and returns FALSE. */
gboolean gst_p2p_element_prepare (GstElement * element,
    GstP2pSettings * settings, GstP2pSessionParams * params);
/* Fills the common fields of @config; they borrow from @params. */
void gst_p2p_session_params_fill (const GstP2pSessionParams * params,
    SwarmSessionConfig * config);
void gst_p2p_session_params_clear (GstP2pSessionParams * params);

/* Sets settings->session (a new session before it starts, so handlers
 * connected in notify::session miss no partner; NULL at stop) and
 * notifies "session". */
void gst_p2p_element_expose_session (GstElement * element,
    GstP2pSettings * settings, SwarmSession * session);
/* Creates the session for @config, with callbacks posting its errors
 * (gst_p2p_element_post_session_error, once a run), warnings and stats
 * (a "p2p-stats" element message with the element's fields added) on the
 * bus; exposes it, starts it and, with
 * @ready_timeout_ms, waits until a tracker knows of it.  On failure
 * unexposes it and returns NULL with @error set (nothing posted). */
SwarmSession *gst_p2p_element_start_session (GstP2pSettings * settings,
    const SwarmSessionConfig * config, guint ready_timeout_ms,
    GError ** error);
/* Stops the running session, if any, while it is still exposed (its
 * partners' "peer-removed" come first), then unexposes it. */
void gst_p2p_element_stop_session (GstElement * element,
    GstP2pSettings * settings);

/* The session's stats, or while there is none a structure of the same
 * name with @first_field and the following (name, GType, value, NULL
 * terminated) of an idle one; the element's fields added. */
GstStructure *gst_p2p_element_get_stats (GstP2pSettings * settings,
    const gchar * first_field, ...) G_GNUC_NULL_TERMINATED;
/* The element's running time now, GST_CLOCK_TIME_NONE before it has a
 * clock. */
GstClockTime gst_p2p_element_running_time (GstElement * element);

/* A SwarmSessionError as an element ERROR: tracker failures are
 * RESOURCE OPEN_READ (viewer) or OPEN_WRITE (publisher), a missing or
 * wrong secret NOT_AUTHORIZED, bad settings SETTINGS, and the rest
 * NOT_FOUND for a viewer (no swarm to be found in time) and WRITE for a
 * publisher.  Other domains are RESOURCE FAILED.  With @once (nullable,
 * atomic), only the first error of a run is posted. */
void gst_p2p_element_post_session_error (GstElement * element,
    const GError * error, gboolean viewer, gint * once);
/* Something going wrong and being retried: RESOURCE READ or WRITE. */
void gst_p2p_element_post_session_warning (GstElement * element,
    const GError * error, gboolean viewer);

G_END_DECLS

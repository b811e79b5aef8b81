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
#include <swarm/swarm.h>

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

/* The common properties' values, under the element's object lock. */
typedef struct
{
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
    const GstP2pPropertyText * text);
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
/* Stops the running session, if any, while it is still exposed (its
 * partners' "peer-removed" come first), then unexposes it. */
void gst_p2p_element_stop_session (GstElement * element,
    GstP2pSettings * settings);

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

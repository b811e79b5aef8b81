/* p2p:// URIs and ICE server settings.
 *
 *   p2p://HOST:PORT/SWARM-ID[?tracker=URL&tracker=URL…
 *                             &stun-server=stun://h:p&turn-server=turn://u:p@h:p
 *                             &secret=S]
 *   p2p:///SWARM-ID?tracker=URL[&tracker=URL…]
 *
 * HOST:PORT is a tracker at ws://HOST:PORT/announce (what p2psink's
 * embedded tracker serves); SWARM-ID the publisher's public key (see
 * swarm-identity.h).  IPv6 hosts are bracketed.  Each tracker= names one
 * more WebTorrent tracker (ws:// or wss://, percent-encoded; one value may
 * also hold several, comma separated); a viewer announces to all of them.
 * With tracker= the authority may be empty (p2p:///SWARM-ID), for swarms
 * whose trackers have another path or use wss://.
 * secret makes the swarm private (see swarm-secret.h); it is a credential,
 * so logs and messages show swarm_uri_to_public_string (without it).
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-identity.h"

G_BEGIN_DECLS

#define SWARM_URI_ERROR (swarm_uri_error_quark ())
typedef enum {
  SWARM_URI_ERROR_SCHEME,
  SWARM_URI_ERROR_HOST,
  SWARM_URI_ERROR_PORT,
  SWARM_URI_ERROR_SWARM_ID,
  SWARM_URI_ERROR_PARAMETER,
  SWARM_URI_ERROR_TRACKER,       /* a tracker URL is wrong, or none given */
} SwarmUriError;

SWARM_API GQuark swarm_uri_error_quark (void);

/* Same bound as SWARM_SECRET_MAX_LEN. */
#define SWARM_URI_MAX_SECRET_LEN 1024
/* Most tracker URLs one URI may name (each is a WebSocket kept open). */
#define SWARM_URI_MAX_TRACKERS 16

typedef struct {
  gchar *host;                   /* without brackets; NULL in p2p:///ID */
  guint16 port;                  /* 1..65535; 0 without host */
  gchar *swarm_id;               /* canonical text */
  guint8 swarm_key[SWARM_PUBLIC_KEY_LEN];
  gchar *stun_server;            /* "stun://host:port" or NULL */
  gchar *turn_server;            /* "turn://user:pass@host:port" or NULL */
  gchar *secret;                 /* private swarm's secret or NULL */
  gchar **trackers;              /* tracker= URLs in order, or NULL */
} SwarmUri;

/**
 * swarm_uri_parse: (skip)
 */
SWARM_API SwarmUri *swarm_uri_parse (const gchar * uri, GError ** error);
/* The URI of swarm @swarm_key announced on @tracker_urls (at least one):
 * the first goes into HOST:PORT if it is ws://HOST:PORT/announce, the
 * others into tracker= parameters.  Each URL must pass
 * swarm_uri_check_tracker_url. */
/**
 * swarm_uri_new_for_trackers: (skip)
 */
SWARM_API SwarmUri *swarm_uri_new_for_trackers (
    const guint8 swarm_key[SWARM_PUBLIC_KEY_LEN],
    const gchar * const *tracker_urls, GError ** error);
SWARM_API gchar *swarm_uri_to_string (const SwarmUri * uri);
/* The same without the secret: safe to log or post on a bus. */
SWARM_API gchar *swarm_uri_to_public_string (const SwarmUri * uri);
/* What may be shown of @text, a URI that did not parse: it cannot be
 * taken apart, so everything from its query on (the first ?, & or #) is
 * cut, and from any "secret" before that, and "…" marks the cut. */
SWARM_API gchar *swarm_uri_redact (const gchar * text);
/* The first tracker: "ws://HOST:PORT/announce", or the first tracker=. */
SWARM_API gchar *swarm_uri_get_tracker_url (const SwarmUri * uri);
/**
 * swarm_uri_get_tracker_urls:
 * Returns: (transfer full): every tracker the URI names, HOST:PORT first,
 * each once (NULL-terminated).
 */
SWARM_API gchar **swarm_uri_get_tracker_urls (const SwarmUri * uri);
/* A WebTorrent tracker URL we can use: ws:// or wss://, a host, no user
 * name or fragment.  wss:// needs TLS support in GIO (glib-networking). */
SWARM_API gboolean swarm_uri_check_tracker_url (const gchar * url,
    GError ** error);
SWARM_API void swarm_uri_free (SwarmUri * uri);

/* An ICE server: stun://host:port or turn://user:pass@host:port[?transport=tcp] */
typedef struct {
  gchar *host;
  guint16 port;
  gchar *username;               /* TURN only */
  gchar *password;               /* TURN only */
  gboolean tcp;                  /* TURN over TCP */
} SwarmIceServer;

SWARM_API SwarmIceServer *swarm_ice_server_parse (const gchar * text,
    gboolean turn, GError ** error);
SWARM_API SwarmIceServer *swarm_ice_server_copy (const SwarmIceServer * server);
SWARM_API void swarm_ice_server_free (SwarmIceServer * server);
/* A boxed type (copied), for properties and bindings. */
#define SWARM_TYPE_ICE_SERVER (swarm_ice_server_get_type ())
SWARM_API GType swarm_ice_server_get_type (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmUri, swarm_uri_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmIceServer, swarm_ice_server_free)

G_END_DECLS

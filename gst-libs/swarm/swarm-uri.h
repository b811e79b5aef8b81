/* p2p:// URIs and ICE server settings.
 *
 *   p2p://HOST:PORT/SWARM-ID[?stun-server=stun://h:p&turn-server=turn://u:p@h:p
 *                             &secret=S]
 *
 * HOST:PORT is the tracker (ws://HOST:PORT/announce); SWARM-ID the
 * publisher's public key (see swarm-identity.h).  IPv6 hosts are bracketed.
 * secret makes the swarm private (see swarm-secret.h); it is a credential,
 * so logs and messages show swarm_uri_to_public_string (without it).
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
} SwarmUriError;

SWARM_API GQuark swarm_uri_error_quark (void);

/* Same bound as SWARM_SECRET_MAX_LEN. */
#define SWARM_URI_MAX_SECRET_LEN 1024

typedef struct {
  gchar *host;                   /* without brackets */
  guint16 port;                  /* 1..65535 */
  gchar *swarm_id;               /* canonical text */
  guint8 swarm_key[SWARM_PUBLIC_KEY_LEN];
  gchar *stun_server;            /* "stun://host:port" or NULL */
  gchar *turn_server;            /* "turn://user:pass@host:port" or NULL */
  gchar *secret;                 /* private swarm's secret or NULL */
} SwarmUri;

SWARM_API SwarmUri *swarm_uri_parse (const gchar * uri, GError ** error);
SWARM_API gchar *swarm_uri_to_string (const SwarmUri * uri);
/* The same without the secret: safe to log or post on a bus. */
SWARM_API gchar *swarm_uri_to_public_string (const SwarmUri * uri);
/* "ws://HOST:PORT/announce" */
SWARM_API gchar *swarm_uri_get_tracker_url (const SwarmUri * uri);
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
SWARM_API void swarm_ice_server_free (SwarmIceServer * server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmUri, swarm_uri_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmIceServer, swarm_ice_server_free)

G_END_DECLS

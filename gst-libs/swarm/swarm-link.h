/* A link to one peer, as the swarm sees it: "send a datagram / a datagram
 * arrived / connected / closed", plus offer/answer descriptions.  The real
 * one is one unreliable libnice agent (one stream, one component) with DTLS
 * on top (swarm-link-nice.c); an in-memory one runs whole swarms in one
 * process (swarm-link-memory.h); WebRTC data channels can be a third
 * (swarm-link-private.h says what an implementation provides).
 *
 * Offer/answer: the offerer gathers and produces a description (libnice SDP
 * plus "a=fingerprint:sha-256 ..."); the answerer takes it, gathers, and
 * produces its own; the offerer takes that.  ICE then connects, the offerer
 * is the ICE-controlling side and the DTLS client.
 *
 * Threading: every function must be called, and every callback is invoked,
 * on the GMainContext given at creation (the swarm's network thread).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include "swarm-prelude.h"
#include "swarm-dtls.h"
#include "swarm-uri.h"
#include "swarm-clock.h"

G_BEGIN_DECLS

typedef struct _SwarmLink SwarmLink;

typedef enum {
  SWARM_LINK_OFFERER,
  SWARM_LINK_ANSWERER,
} SwarmLinkRole;

typedef enum {
  SWARM_LINK_STATE_NEW,
  SWARM_LINK_STATE_GATHERING,
  SWARM_LINK_STATE_CONNECTING,   /* ICE checks */
  SWARM_LINK_STATE_HANDSHAKING,  /* DTLS */
  SWARM_LINK_STATE_CONNECTED,
  SWARM_LINK_STATE_CLOSED,
} SwarmLinkState;

#define SWARM_LINK_ERROR (swarm_link_error_quark ())
typedef enum {
  SWARM_LINK_ERROR_DESCRIPTION,  /* malformed remote description */
  SWARM_LINK_ERROR_ICE,          /* ICE failed or gathering failed */
  SWARM_LINK_ERROR_DTLS,         /* handshake failure or fingerprint mismatch */
  SWARM_LINK_ERROR_TIMEOUT,      /* not connected within the connect timeout */
  SWARM_LINK_ERROR_CLOSED,       /* the peer closed the link (DTLS close_notify) */
} SwarmLinkError;

GQuark swarm_link_error_quark (void);

typedef struct {
  /* Local description ready (after gathering): send it through signalling. */
  void (*description) (SwarmLink * link, const gchar * sdp, gpointer user_data);
  void (*connected) (SwarmLink * link, gpointer user_data);
  void (*datagram) (SwarmLink * link, const guint8 * data, gsize len,
      gpointer user_data);
  /* Called at most once; the link is dead afterwards (still needs unref). */
  void (*closed) (SwarmLink * link, const GError * error, gpointer user_data);
} SwarmLinkCallbacks;

typedef struct _SwarmLinkConfig SwarmLinkConfig;

/* Makes the links of a session: the default (NULL) is libnice + DTLS;
 * swarm-link-memory.h makes in-memory ones. */
typedef struct _SwarmLinkFactory {
  SwarmLink *(*new_link) (GMainContext * context, SwarmLinkRole role,
      const SwarmLinkConfig * config, SwarmDtlsCredentials * credentials,
      const SwarmLinkCallbacks * callbacks, gpointer user_data,
      gpointer factory_data);
  gpointer data;
  /* its links run no DTLS: the session makes no certificate for them
   * (credentials NULL) */
  gboolean without_dtls;
} SwarmLinkFactory;

struct _SwarmLinkConfig {
  SwarmIceServer *stun;          /* nullable, borrowed */
  SwarmIceServer *turn;          /* nullable, borrowed */
  guint connect_timeout_ms;      /* 0 = 10000 */
  SwarmClock *clock;             /* NULL = the system clock (swarm-clock.h) */
  const SwarmLinkFactory *factory; /* NULL = libnice + DTLS; borrowed */
};

SWARM_TEST_API SwarmLink *swarm_link_new (GMainContext * context, SwarmLinkRole role,
    const SwarmLinkConfig * config, SwarmDtlsCredentials * credentials,
    const SwarmLinkCallbacks * callbacks, gpointer user_data);
SwarmLink *swarm_link_ref (SwarmLink * link);
/* Dropping the last ref closes the link without invoking callbacks. */
SWARM_TEST_API void swarm_link_unref (SwarmLink * link);

/* Starts gathering; "description" follows. */
SWARM_TEST_API gboolean swarm_link_start (SwarmLink * link, GError ** error);
SWARM_TEST_API gboolean swarm_link_set_remote_description (SwarmLink * link,
    const gchar * sdp, GError ** error);
/* One datagram (<= SWARM_WIRE_MAX_DATAGRAM bytes).  FALSE if not connected
 * or the socket would block: the datagram is dropped. */
SWARM_TEST_API gboolean swarm_link_send (SwarmLink * link, const guint8 * data,
    gsize len);
/* Between begin and end, sends are collected and flushed with one
 * nice_agent_send_messages_nonblocking (sendmmsg) call. */
SWARM_TEST_API void swarm_link_begin_batch (SwarmLink * link);
SWARM_TEST_API void swarm_link_end_batch (SwarmLink * link);
/* Closes now; "closed" is invoked (with a NULL error). */
SWARM_TEST_API void swarm_link_close (SwarmLink * link);

SwarmLinkState swarm_link_get_state (SwarmLink * link);
/* Selected local candidate type: "host", "srflx", "prflx", "relay", or NULL. */
const gchar *swarm_link_get_local_candidate_type (SwarmLink * link);
const gchar *swarm_link_get_remote_candidate_type (SwarmLink * link);
/* "ip:port" of the selected remote candidate, or NULL. */
gchar *swarm_link_get_remote_address (SwarmLink * link);

/* RFC 5705 keying material of the link's DTLS session (once connected):
 * binds a proof to this very link.  FALSE if not connected. */
gboolean swarm_link_export_keying_material (SwarmLink * link,
    const gchar * label, guint8 * out, gsize len);

/* How long the link took, in ms, or -1 if not there yet.  @ice_ms: from
 * ICE checks starting (both descriptions in place) to ICE ready;
 * @connect_ms: from swarm_link_start to DTLS connected (gathering,
 * signalling, ICE and the handshake). */
void swarm_link_get_timing (SwarmLink * link, gint64 * ice_ms,
    gint64 * connect_ms);

/* Counters since creation. */
typedef struct {
  guint64 datagrams_sent;        /* accepted by swarm_link_send */
  guint64 bytes_sent;            /* their plaintext bytes */
  guint64 datagrams_received;
  guint64 bytes_received;
  guint64 records_dropped;       /* DTLS records the socket refused */
  guint64 batches;               /* sendmmsg flushes from end_batch */
} SwarmLinkStats;

void swarm_link_get_stats (SwarmLink * link, SwarmLinkStats * stats);

G_END_DECLS

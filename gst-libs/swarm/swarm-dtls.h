/* DTLS 1.2 over a datagram transport, with GnuTLS, non-blocking.
 *
 * Each endpoint has a self-signed certificate; its SHA-256 fingerprint
 * travels in the signalled SDP ("a=fingerprint:sha-256 AA:BB:..."), and the
 * handshake fails unless the peer's certificate matches the fingerprint
 * learnt from signalling (as in WebRTC).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"

G_BEGIN_DECLS

typedef struct _SwarmDtlsCredentials SwarmDtlsCredentials;

/* Generates an ECDSA P-256 key and a self-signed certificate. */
SWARM_TEST_API SwarmDtlsCredentials *swarm_dtls_credentials_new (GError ** error);
SwarmDtlsCredentials *swarm_dtls_credentials_ref (SwarmDtlsCredentials * c);
SWARM_TEST_API void swarm_dtls_credentials_unref (SwarmDtlsCredentials * c);
/* "AA:BB:...": SHA-256 of the DER certificate, upper-case hex. */
const gchar *swarm_dtls_credentials_get_fingerprint (SwarmDtlsCredentials * c);

typedef struct _SwarmDtls SwarmDtls;

typedef struct {
  /* Sends one encrypted record on the transport.  Return FALSE if it could
   * not be sent (dropped: DTLS copes). */
  gboolean (*send) (const guint8 * data, gsize len, gpointer user_data);
  /* Handshake finished and the peer fingerprint matched. */
  void (*established) (gpointer user_data);
  /* One decrypted datagram. */
  void (*received) (const guint8 * data, gsize len, gpointer user_data);
  /* Fatal: handshake failure, bad fingerprint, alert.  Called once. */
  void (*failed) (const GError * error, gpointer user_data);
} SwarmDtlsCallbacks;

/* @client: TRUE for the side that starts the handshake.  All functions and
 * callbacks run on @context (the handshake retransmit timer is attached
 * there).  @remote_fingerprint as from swarm_dtls_credentials_get_fingerprint. */
SwarmDtls *swarm_dtls_new (GMainContext * context, gboolean client,
    SwarmDtlsCredentials * local, const gchar * remote_fingerprint,
    const SwarmDtlsCallbacks * callbacks, gpointer user_data);
void swarm_dtls_start (SwarmDtls * dtls);
/* Feed one datagram received from the transport. */
void swarm_dtls_receive (SwarmDtls * dtls, const guint8 * data,
    gsize len);
/* Encrypt and send one datagram (after "established"). */
gboolean swarm_dtls_send (SwarmDtls * dtls, const guint8 * data,
    gsize len);
gboolean swarm_dtls_is_established (SwarmDtls * dtls);
/* What the established session negotiated, in GnuTLS's words, e.g.
 * "(DTLS1.2)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)"; NULL before. */
gchar *swarm_dtls_get_description (SwarmDtls * dtls);
/* The GnuTLS priority string every link uses. */
const gchar *swarm_dtls_get_priority (void);
/* RFC 5705 keying material exported from the established session (no
 * context): both ends get the same bytes, nobody else can. */
gboolean swarm_dtls_export_keying_material (SwarmDtls * dtls,
    const gchar * label, guint8 * out, gsize len);
/* Sends close_notify if established; stops timers; no callbacks after. */
void swarm_dtls_free (SwarmDtls * dtls);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmDtlsCredentials, swarm_dtls_credentials_unref)

G_END_DECLS

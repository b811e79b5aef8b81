/* Private swarms: what a shared secret turns into.
 *
 * A private swarm is a swarm whose members share a secret string (the
 * `secret` property, or `secret=` in the p2p:// URI).  The secret itself
 * never leaves the process; from it (stretched with PBKDF2, salted with the
 * swarm's public key so one secret gives unrelated keys in two swarms) we
 * derive two keys:
 *
 *  - the description key seals every offer/answer we signal (AES-256-GCM):
 *    trackers and relaying partners see neither our addresses nor our DTLS
 *    fingerprint, and a description that does not open is never used, so
 *    nobody without the secret can even start a handshake with us;
 *  - the HELLO key proves, inside the DTLS session, that the partner knows
 *    the secret: HMAC over keying material exported from that very session
 *    and the sender's peer id, so a proof cannot be replayed on another
 *    link or reflected back.
 *
 * A member that receives a description it cannot use answers with a bare
 * refusal marker (it tells nothing but "this swarm is private"), so a
 * viewer with no or the wrong secret can say so clearly instead of timing
 * out in silence.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-identity.h"

G_BEGIN_DECLS

#define SWARM_SECRET_ERROR (swarm_secret_error_quark ())
typedef enum {
  SWARM_SECRET_ERROR_INVALID,    /* empty or too long secret */
  SWARM_SECRET_ERROR_NOT_SEALED, /* a plain description in a private swarm */
  SWARM_SECRET_ERROR_MALFORMED,  /* sealed text that is not well formed */
  SWARM_SECRET_ERROR_WRONG_KEY,  /* sealed with another secret, or altered */
} SwarmSecretError;

SWARM_API GQuark swarm_secret_error_quark (void);

/* Longest secret accepted, in bytes. */
#define SWARM_SECRET_MAX_LEN 1024
/* Length of the HELLO proof. */
#define SWARM_SECRET_PROOF_LEN 32
/* DTLS exporter label (RFC 5705) for the HELLO proof. */
#define SWARM_SECRET_EXPORTER_LABEL "EXPORTER-gst-p2p-hello"
#define SWARM_SECRET_EXPORTER_LEN 32
/* What a private-swarm member answers to a description it cannot use. */
#define SWARM_SECRET_REFUSAL "p2p-private"
/* Longest sealed description we try to open (tracker frames are < 16 KiB). */
#define SWARM_SECRET_MAX_SEALED_LEN 16384

typedef struct _SwarmSecret SwarmSecret;

/* Derives the keys; takes tens of milliseconds on purpose (PBKDF2). */
SWARM_API SwarmSecret *swarm_secret_new (const gchar * secret,
    const guint8 swarm_key[SWARM_PUBLIC_KEY_LEN], GError ** error);
SWARM_API void swarm_secret_free (SwarmSecret * secret);

/* "p2p-sealed-1:" + base64 (nonce || AES-256-GCM (sdp) || tag). */
SWARM_API gchar *swarm_secret_seal (const SwarmSecret * secret,
    const gchar * description);
/* The description inside @sealed, or NULL with an error. */
SWARM_API gchar *swarm_secret_open (const SwarmSecret * secret,
    const gchar * sealed, GError ** error);
/* Does @text look sealed (whatever the key)? */
SWARM_API gboolean swarm_secret_is_sealed (const gchar * text);
SWARM_API gboolean swarm_secret_is_refusal (const gchar * text);

/* HMAC (HELLO key, @exported || @peer_id): what the partner with @peer_id
 * sends in its HELLO on the DTLS session @exported came from. */
SWARM_API void swarm_secret_hello_proof (const SwarmSecret * secret,
    const guint8 exported[SWARM_SECRET_EXPORTER_LEN], const gchar * peer_id,
    gsize peer_id_len, guint8 proof[SWARM_SECRET_PROOF_LEN]);
/* Constant-time check of a received proof. */
SWARM_API gboolean swarm_secret_check_hello_proof (const SwarmSecret * secret,
    const guint8 exported[SWARM_SECRET_EXPORTER_LEN], const gchar * peer_id,
    gsize peer_id_len, const guint8 proof[SWARM_SECRET_PROOF_LEN]);

/* Overwrites and frees a secret string, then sets it to NULL. */
SWARM_API void swarm_secret_clear_string (gchar ** text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmSecret, swarm_secret_free)

G_END_DECLS

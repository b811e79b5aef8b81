/* Private swarms: what a shared secret turns into.
 *
 * A private swarm is a swarm whose members share a secret string (the
 * `secret` or `secret-file` property, `secret=` in the p2p:// URI, or the
 * P2P_SECRET environment variable: see swarm_secret_lookup).  The secret
 * itself
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
 * refusal marker (it tells nothing but "this swarm is private").
 *
 * Who may collect sealed descriptions at all.  A WebTorrent tracker hands
 * an offer to whoever announces on the same info_hash and cannot check a
 * secret.  A private swarm therefore does not meet on the public info_hash
 * (the one anyone computes from the swarm id) but on a rendezvous
 * info_hash derived from the secret, like the keys: someone who knows only
 * the swarm id announces into an empty swarm and collects nothing, not
 * even a sealed offer to guess against offline.  The cost: a viewer with
 * no or the wrong secret meets nobody, so it can only say "no member
 * answered; the swarm is private or not live" rather than "wrong secret".
 *
 * What is left: whoever sees the tracker's traffic (its operator) sees
 * the rendezvous info_hash and sealed offers and can guess the secret
 * offline, at one PBKDF2 per guess.  No stretching makes a five-letter
 * secret safe from that, so secrets below an estimated
 * SWARM_SECRET_MIN_BITS are refused; `p2p-key --new-secret` makes one of
 * 128 random bits, the documented way.
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
  SWARM_SECRET_ERROR_WEAK,       /* guessable: below SWARM_SECRET_MIN_BITS */
} SwarmSecretError;

GQuark swarm_secret_error_quark (void);

/* Longest secret accepted, in bytes. */
#define SWARM_SECRET_MAX_LEN 1024
/* Least estimated strength of a secret, in bits (see
 * swarm_secret_estimate_bits).  The estimate is generous to mixed short
 * secrets ("Summer2024!" scores 65), so the bar sits above what 2^64
 * PBKDF2 guesses would need; `p2p-key --new-secret` scores about 150. */
#define SWARM_SECRET_MIN_BITS 80
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

/* A rough, deliberately stingy estimate of how many bits of guessing
 * @secret takes: each character counts log2 of the alphabet the secret
 * draws from (lower case, upper case, digits, anything else), except one
 * that repeats or continues a run from the one before (aaa, abc, 321).
 * It stops the obviously guessable ("weak1", "password123"); it cannot
 * see that words come from a dictionary. */
guint swarm_secret_estimate_bits (const gchar * secret);
/* Is @secret 1 to SWARM_SECRET_MAX_LEN bytes and at least
 * SWARM_SECRET_MIN_BITS strong?  The error names the minimum and the way
 * to make a good one. */
SWARM_PRIVATE_API gboolean swarm_secret_check (const gchar * secret,
    GError ** error);

/* Derives the keys; takes tens of milliseconds on purpose (PBKDF2).
 * Refuses what swarm_secret_check refuses. */
SWARM_TEST_API SwarmSecret *swarm_secret_new (const gchar * secret,
    const guint8 swarm_key[SWARM_PUBLIC_KEY_LEN], GError ** error);
SWARM_TEST_API void swarm_secret_free (SwarmSecret * secret);

/* The info_hash members of this private swarm announce on (see above):
 * SWARM_INFO_HASH_LEN lower-case hex characters, never the swarm id's. */
SWARM_TEST_API gchar *swarm_secret_info_hash (const SwarmSecret * secret);

/* "p2p-sealed-1:" + base64 (nonce || AES-256-GCM (sdp) || tag). */
gchar *swarm_secret_seal (const SwarmSecret * secret,
    const gchar * description);
/* The description inside @sealed, or NULL with an error. */
gchar *swarm_secret_open (const SwarmSecret * secret,
    const gchar * sealed, GError ** error);
/* Does @text look sealed (whatever the key)? */
SWARM_TEST_API gboolean swarm_secret_is_sealed (const gchar * text);
gboolean swarm_secret_is_refusal (const gchar * text);

/* HMAC (HELLO key, @exported || @peer_id): what the partner with @peer_id
 * sends in its HELLO on the DTLS session @exported came from. */
void swarm_secret_hello_proof (const SwarmSecret * secret,
    const guint8 exported[SWARM_SECRET_EXPORTER_LEN], const gchar * peer_id,
    gsize peer_id_len, guint8 proof[SWARM_SECRET_PROOF_LEN]);
/* Constant-time check of a received proof. */
gboolean swarm_secret_check_hello_proof (const SwarmSecret * secret,
    const guint8 exported[SWARM_SECRET_EXPORTER_LEN], const gchar * peer_id,
    gsize peer_id_len, const guint8 proof[SWARM_SECRET_PROOF_LEN]);

/* Where an element looks for the secret when neither its `secret`
 * property nor secret= in the URI gives one. */
#define SWARM_SECRET_ENV "P2P_SECRET"

/* The secret an element was given, by precedence: @given (the `secret`
 * property or secret= in the URI), else the file @path (`secret-file`:
 * its content, one trailing newline dropped), else the environment
 * variable SWARM_SECRET_ENV.  Empty values count as none.  TRUE with
 * *@secret NULL: no secret, a public swarm.  Errors name the file, never
 * its content.  Free *@secret with swarm_secret_clear_string. */
SWARM_PRIVATE_API gboolean swarm_secret_lookup (const gchar * given,
    const gchar * path, gchar ** secret, GError ** error);

/* Overwrites and frees a secret string, then sets it to NULL. */
SWARM_PRIVATE_API void swarm_secret_clear_string (gchar ** text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmSecret, swarm_secret_free)

G_END_DECLS

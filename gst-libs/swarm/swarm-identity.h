/* Publisher identity: an Ed25519 key pair (GnuTLS).  The swarm id is the
 * public key, so a URI pins who may publish into a swarm.
 *
 * This API is unstable: define GST_USE_UNSTABLE_API to use it and expect
 * changes before 1.0.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-prelude.h"
#include "swarm-clock.h"

G_BEGIN_DECLS

#define SWARM_PUBLIC_KEY_LEN 32
#define SWARM_SIGNATURE_LEN 64
/* Swarm id text: RFC 4648 base32 of the public key, lower case, no padding. */
#define SWARM_ID_LEN 52
/* WebTorrent info_hash and peer_id: 20 ASCII characters. */
#define SWARM_INFO_HASH_LEN 20

typedef struct _SwarmIdentity SwarmIdentity;

#define SWARM_IDENTITY_ERROR (swarm_identity_error_quark ())
typedef enum {
  SWARM_IDENTITY_ERROR_FAILED,
  SWARM_IDENTITY_ERROR_KEY_FILE,   /* unreadable, malformed, or unsafe key file */
  SWARM_IDENTITY_ERROR_SWARM_ID,   /* malformed swarm id text */
  SWARM_IDENTITY_ERROR_NO_PRIVATE_KEY,
} SwarmIdentityError;

SWARM_API GQuark swarm_identity_error_quark (void);

/* A fresh key pair, never stored. */
SWARM_API SwarmIdentity *swarm_identity_generate (GError ** error);
/* Loads a PEM (PKCS#8) Ed25519 private key from @path, or creates one there
 * with mode 0600 if the file does not exist. */
SWARM_API SwarmIdentity *swarm_identity_load_or_create (const gchar * path,
    GError ** error);
/**
 * swarm_identity_new_from_public_key:
 * @key: (array fixed-size=32): the swarm's public key
 *
 * Returns: (transfer full): a verify-only identity
 */
SWARM_API SwarmIdentity *swarm_identity_new_from_public_key (const guint8
    key[SWARM_PUBLIC_KEY_LEN]);

/* A boxed type (reference counted), for properties and bindings. */
#define SWARM_TYPE_IDENTITY (swarm_identity_get_type ())
SWARM_API GType swarm_identity_get_type (void);
SWARM_API SwarmIdentity *swarm_identity_ref (SwarmIdentity * id);
SWARM_API void swarm_identity_unref (SwarmIdentity * id);

/**
 * swarm_identity_get_public_key:
 *
 * Returns: (array fixed-size=32) (transfer none): the public key
 */
SWARM_API const guint8 *swarm_identity_get_public_key (SwarmIdentity * id);
SWARM_API gboolean swarm_identity_has_private_key (SwarmIdentity * id);
/* Newly allocated swarm id text (SWARM_ID_LEN chars). */
SWARM_API gchar *swarm_identity_get_swarm_id (SwarmIdentity * id);

/**
 * swarm_identity_sign: (skip)
 */
SWARM_API gboolean swarm_identity_sign (SwarmIdentity * id,
    const guint8 * data, gsize len, guint8 signature[SWARM_SIGNATURE_LEN],
    GError ** error);
/**
 * swarm_identity_verify: (skip)
 */
SWARM_API gboolean swarm_identity_verify (SwarmIdentity * id,
    const guint8 * data, gsize len,
    const guint8 signature[SWARM_SIGNATURE_LEN]);

/* Swarm id text <-> public key. */
/**
 * swarm_id_decode: (skip)
 */
SWARM_API gboolean swarm_id_decode (const gchar * swarm_id,
    guint8 key[SWARM_PUBLIC_KEY_LEN], GError ** error);
/**
 * swarm_id_encode:
 * @key: (array fixed-size=32): a public key
 *
 * Returns: (transfer full): the swarm id text
 */
SWARM_API gchar *swarm_id_encode (const guint8 key[SWARM_PUBLIC_KEY_LEN]);
/* The tracker's info_hash for a swarm: 20 lower-case hex characters of
 * SHA-256(public key).  ASCII, so every WebTorrent tracker accepts it. */
/**
 * swarm_id_to_info_hash:
 * @key: (array fixed-size=32): a public key
 *
 * Returns: (transfer full): the info_hash
 */
SWARM_API gchar *swarm_id_to_info_hash (const guint8 key[SWARM_PUBLIC_KEY_LEN]);
/* A random tracker peer id: "-GP0100-" plus 12 letters/digits. */
SWARM_API gchar *swarm_peer_id_generate (void);
/* The same, drawing from @clock's chance (swarm-clock.h). */
SWARM_API gchar *swarm_peer_id_generate_with (SwarmClock * clock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmIdentity, swarm_identity_unref)

G_END_DECLS

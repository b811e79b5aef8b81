/* Publisher identity: Ed25519 keys through GnuTLS, key files, swarm ids.
 *
 * The private key is the publisher's whole authority over a swarm: anyone
 * holding it can publish segments every viewer accepts.  So key files are
 * created with mode 0600 and never overwritten, and a key file that other
 * users can read is refused rather than silently used.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "swarm-identity.h"
#include "swarm-private.h"

/* A PKCS#8 PEM Ed25519 key is about 120 bytes; anything much larger is
 * not a key file and is not worth reading into memory. */
#define MAX_KEY_FILE_SIZE (64 * 1024)

#define PEER_ID_PREFIX "-GP0100-"
#define PEER_ID_RANDOM_LEN 12

static const gchar base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
static const gchar peer_id_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

G_STATIC_ASSERT (SWARM_ID_LEN == (SWARM_PUBLIC_KEY_LEN * 8 + 4) / 5);

/* Signatures this identity has verified, remembered with the SHA-256 of
 * what they signed: the same message verified again (an EDGE relayed by
 * several partners; in a simulator, every viewer sharing one identity
 * verifying the same segment) costs a hash instead of an Ed25519 check,
 * about 15 times less.  Sound: a hit needs the very signature and the very
 * bytes (a collision of SHA-256 otherwise); only signatures that passed
 * the real check get in.  Bounded: a ring of VERIFIED_CACHE_SIZE. */
#define VERIFIED_CACHE_SIZE 256

typedef struct
{
  guint8 signature[SWARM_SIGNATURE_LEN];
  guint8 digest[32];
} VerifiedEntry;

struct _SwarmIdentity
{
  gatomicrefcount refcount;
  guint8 public_key[SWARM_PUBLIC_KEY_LEN];
  gnutls_pubkey_t pubkey;       /* NULL if the public key was unusable */
  gnutls_privkey_t privkey;     /* NULL for a verify-only identity */
  /* shared by every session holding the identity, on any thread */
  GMutex verified_lock;
  VerifiedEntry *verified;      /* VERIFIED_CACHE_SIZE, made on first use */
  guint n_verified;
  guint verified_next;
  gint full_checks;             /* Ed25519 checks actually run */
};

G_DEFINE_QUARK (swarm-identity-error-quark, swarm_identity_error);

static SwarmIdentity *
identity_new (void)
{
  SwarmIdentity *id = g_new0 (SwarmIdentity, 1);

  g_atomic_ref_count_init (&id->refcount);
  g_mutex_init (&id->verified_lock);
  return id;
}

static gnutls_pubkey_t
pubkey_from_raw (const guint8 key[SWARM_PUBLIC_KEY_LEN])
{
  gnutls_pubkey_t pub;
  gnutls_datum_t x = { (unsigned char *) key, SWARM_PUBLIC_KEY_LEN };
  int ret;

  if (gnutls_pubkey_init (&pub) < 0)
    return NULL;
  ret = gnutls_pubkey_import_ecc_raw (pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL);
  if (ret < 0) {
    GST_CAT_DEBUG (swarm_debug, "unusable public key: %s",
        gnutls_strerror (ret));
    gnutls_pubkey_deinit (pub);
    return NULL;
  }
  return pub;
}

/* Takes ownership of @privkey. */
static SwarmIdentity *
identity_new_from_privkey (gnutls_privkey_t privkey, GError ** error)
{
  SwarmIdentity *id;
  gnutls_ecc_curve_t curve;
  gnutls_datum_t x = { NULL, 0 };
  int ret;

  ret = gnutls_privkey_export_ecc_raw2 (privkey, &curve, &x, NULL, NULL,
      GNUTLS_EXPORT_FLAG_NO_LZ);
  if (ret < 0 || curve != GNUTLS_ECC_CURVE_ED25519
      || x.size != SWARM_PUBLIC_KEY_LEN) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_FAILED,
        _("Could not read the public half of an Ed25519 key: %s"),
        ret < 0 ? gnutls_strerror (ret) : _("unexpected key format"));
    gnutls_free (x.data);
    gnutls_privkey_deinit (privkey);
    return NULL;
  }

  id = identity_new ();
  memcpy (id->public_key, x.data, SWARM_PUBLIC_KEY_LEN);
  gnutls_free (x.data);
  id->privkey = privkey;
  id->pubkey = pubkey_from_raw (id->public_key);
  if (id->pubkey == NULL) {
    g_set_error_literal (error, SWARM_IDENTITY_ERROR,
        SWARM_IDENTITY_ERROR_FAILED,
        _("Could not use the public half of an Ed25519 key"));
    swarm_identity_unref (id);
    return NULL;
  }
  return id;
}

static gnutls_privkey_t
generate_privkey (GError ** error)
{
  gnutls_privkey_t privkey;
  int ret;

  ret = gnutls_privkey_init (&privkey);
  if (ret >= 0) {
    ret = gnutls_privkey_generate2 (privkey, GNUTLS_PK_EDDSA_ED25519, 0, 0,
        NULL, 0);
    if (ret < 0)
      gnutls_privkey_deinit (privkey);
  }
  if (ret < 0) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_FAILED,
        _("Could not generate an Ed25519 key: %s"), gnutls_strerror (ret));
    return NULL;
  }
  return privkey;
}

SwarmIdentity *
swarm_identity_generate (GError ** error)
{
  gnutls_privkey_t privkey = generate_privkey (error);

  if (privkey == NULL)
    return NULL;
  return identity_new_from_privkey (privkey, error);
}

SwarmIdentity *
swarm_identity_new_from_public_key (const guint8 key[SWARM_PUBLIC_KEY_LEN])
{
  SwarmIdentity *id;

  g_return_val_if_fail (key != NULL, NULL);

  id = identity_new ();
  memcpy (id->public_key, key, SWARM_PUBLIC_KEY_LEN);
  /* A key that GnuTLS refuses leaves pubkey NULL: such an identity
   * verifies nothing, which is the right answer for a bogus swarm id. */
  id->pubkey = pubkey_from_raw (key);
  return id;
}

SwarmIdentity *
swarm_identity_ref (SwarmIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);

  g_atomic_ref_count_inc (&id->refcount);
  return id;
}

void
swarm_identity_unref (SwarmIdentity * id)
{
  g_return_if_fail (id != NULL);

  if (!g_atomic_ref_count_dec (&id->refcount))
    return;
  if (id->privkey)
    gnutls_privkey_deinit (id->privkey);
  if (id->pubkey)
    gnutls_pubkey_deinit (id->pubkey);
  g_free (id->verified);
  g_mutex_clear (&id->verified_lock);
  g_free (id);
}

const guint8 *
swarm_identity_get_public_key (SwarmIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);

  return id->public_key;
}

gboolean
swarm_identity_has_private_key (SwarmIdentity * id)
{
  g_return_val_if_fail (id != NULL, FALSE);

  return id->privkey != NULL;
}

gchar *
swarm_identity_get_swarm_id (SwarmIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);

  return swarm_id_encode (id->public_key);
}

gboolean
swarm_identity_sign (SwarmIdentity * id, const guint8 * data, gsize len,
    guint8 signature[SWARM_SIGNATURE_LEN], GError ** error)
{
  gnutls_datum_t in = { (unsigned char *) data, len };
  gnutls_datum_t sig = { NULL, 0 };
  int ret;

  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (signature != NULL, FALSE);
  g_return_val_if_fail (len <= G_MAXUINT, FALSE);

  if (id->privkey == NULL) {
    g_set_error_literal (error, SWARM_IDENTITY_ERROR,
        SWARM_IDENTITY_ERROR_NO_PRIVATE_KEY,
        _("Cannot sign: this identity has no private key"));
    return FALSE;
  }

  ret = gnutls_privkey_sign_data2 (id->privkey, GNUTLS_SIGN_EDDSA_ED25519, 0,
      &in, &sig);
  if (ret < 0 || sig.size != SWARM_SIGNATURE_LEN) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_FAILED,
        _("Could not sign: %s"),
        ret < 0 ? gnutls_strerror (ret) : _("unexpected signature length"));
    gnutls_free (sig.data);
    return FALSE;
  }
  memcpy (signature, sig.data, SWARM_SIGNATURE_LEN);
  gnutls_free (sig.data);
  return TRUE;
}

static gboolean
verified_lookup (SwarmIdentity * id, const guint8 * signature,
    const guint8 * digest)
{
  gboolean found = FALSE;
  guint i;

  g_mutex_lock (&id->verified_lock);
  for (i = 0; i < id->n_verified && !found; i++) {
    const VerifiedEntry *e = &id->verified[i];

    found = memcmp (e->signature, signature, SWARM_SIGNATURE_LEN) == 0
        && memcmp (e->digest, digest, sizeof e->digest) == 0;
  }
  g_mutex_unlock (&id->verified_lock);
  return found;
}

static void
verified_remember (SwarmIdentity * id, const guint8 * signature,
    const guint8 * digest)
{
  VerifiedEntry *e;

  g_mutex_lock (&id->verified_lock);
  if (!id->verified)
    id->verified = g_new (VerifiedEntry, VERIFIED_CACHE_SIZE);
  e = &id->verified[id->verified_next];
  memcpy (e->signature, signature, SWARM_SIGNATURE_LEN);
  memcpy (e->digest, digest, sizeof e->digest);
  id->verified_next = (id->verified_next + 1) % VERIFIED_CACHE_SIZE;
  id->n_verified = MIN (id->n_verified + 1, VERIFIED_CACHE_SIZE);
  g_mutex_unlock (&id->verified_lock);
}

guint
swarm_identity_get_full_checks (SwarmIdentity * id)
{
  return (guint) g_atomic_int_get (&id->full_checks);
}

gboolean
swarm_identity_verify (SwarmIdentity * id, const guint8 * data, gsize len,
    const guint8 signature[SWARM_SIGNATURE_LEN])
{
  gnutls_datum_t in = { (unsigned char *) data, len };
  gnutls_datum_t sig = { (unsigned char *) signature, SWARM_SIGNATURE_LEN };
  guint8 digest[32];

  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (signature != NULL, FALSE);

  if (id->pubkey == NULL || len > G_MAXUINT)
    return FALSE;
  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, data, len, digest) < 0)
    return gnutls_pubkey_verify_data2 (id->pubkey, GNUTLS_SIGN_EDDSA_ED25519,
        0, &in, &sig) >= 0;
  if (verified_lookup (id, signature, digest))
    return TRUE;
  g_atomic_int_inc (&id->full_checks);
  if (gnutls_pubkey_verify_data2 (id->pubkey, GNUTLS_SIGN_EDDSA_ED25519,
          0, &in, &sig) < 0)
    return FALSE;
  verified_remember (id, signature, digest);
  return TRUE;
}

/* Key files */

static gboolean
privkey_to_pem (gnutls_privkey_t privkey, gnutls_datum_t * pem,
    GError ** error)
{
  gnutls_x509_privkey_t x509 = NULL;
  int ret;

  ret = gnutls_privkey_export_x509 (privkey, &x509);
  if (ret >= 0) {
    ret = gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_PEM, NULL,
        GNUTLS_PKCS_PLAIN, pem);
    gnutls_x509_privkey_deinit (x509);
  }
  if (ret < 0) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_FAILED,
        _("Could not encode the private key: %s"), gnutls_strerror (ret));
    return FALSE;
  }
  return TRUE;
}

static gnutls_privkey_t
privkey_from_pem (const gchar * path, const guint8 * contents, gsize len,
    GError ** error)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_privkey_t privkey = NULL;
  gnutls_datum_t in = { (unsigned char *) contents, len };
  int ret;

  ret = gnutls_x509_privkey_init (&x509);
  if (ret >= 0)
    ret = gnutls_x509_privkey_import_pkcs8 (x509, &in, GNUTLS_X509_FMT_PEM,
        NULL, GNUTLS_PKCS_PLAIN);
  if (ret < 0) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Key file “%s” does not hold an unencrypted PEM (PKCS#8) "
            "private key: %s"), path, gnutls_strerror (ret));
    goto fail;
  }
  if (gnutls_x509_privkey_get_pk_algorithm2 (x509, NULL) !=
      GNUTLS_PK_EDDSA_ED25519) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Key file “%s” holds a private key that is not Ed25519"), path);
    goto fail;
  }
  ret = gnutls_privkey_init (&privkey);
  if (ret >= 0)
    ret = gnutls_privkey_import_x509 (privkey, x509,
        GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
  if (ret < 0) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Could not use the key in key file “%s”: %s"), path,
        gnutls_strerror (ret));
    goto fail;
  }
  return privkey;

fail:
  if (privkey)
    gnutls_privkey_deinit (privkey);
  if (x509)
    gnutls_x509_privkey_deinit (x509);
  return NULL;
}

/* Reads an open key file after checking nobody else could have read it. */
static guint8 *
read_key_file (int fd, const gchar * path, gsize * len, GError ** error)
{
  struct stat st;
  guint8 *buf;
  gsize got = 0;

  if (fstat (fd, &st) < 0) {
    int errsv = errno;

    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Could not read key file “%s”: %s"), path, g_strerror (errsv));
    return NULL;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Key file “%s” is not a regular file"), path);
    return NULL;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Key file “%s” is accessible by other users (mode %04o), so "
            "anyone on this machine could publish as you; refusing to use "
            "it. Run “chmod 600 %s” to fix this."),
        path, (guint) (st.st_mode & 0777), path);
    return NULL;
  }
  if (st.st_size <= 0 || st.st_size > MAX_KEY_FILE_SIZE) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Key file “%s” has an implausible size (%lld bytes) for an "
            "Ed25519 private key"), path, (long long) st.st_size);
    return NULL;
  }

  buf = g_malloc (st.st_size);
  while (got < (gsize) st.st_size) {
    gssize n = read (fd, buf + got, st.st_size - got);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int errsv = errno;

      g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
          _("Could not read key file “%s”: %s"), path,
          n < 0 ? g_strerror (errsv) : _("file shrank while reading"));
      g_free (buf);
      return NULL;
    }
    got += n;
  }
  *len = got;
  return buf;
}

static SwarmIdentity *
load_key_file (int fd, const gchar * path, GError ** error)
{
  gnutls_privkey_t privkey;
  guint8 *contents;
  gsize len = 0;

  contents = read_key_file (fd, path, &len, error);
  if (contents == NULL)
    return NULL;
  privkey = privkey_from_pem (path, contents, len, error);
  /* The buffer held the secret key; do not leave it in freed memory. */
  memset (contents, 0, len);
  g_free (contents);
  if (privkey == NULL)
    return NULL;
  return identity_new_from_privkey (privkey, error);
}

static gboolean
write_all (int fd, const guint8 * data, gsize len)
{
  while (len > 0) {
    gssize n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}

/* Creates @path with a new key.  Returns NULL with *exists set if another
 * process created the file first; the caller then loads that one. */
static SwarmIdentity *
create_key_file (const gchar * path, gboolean * exists, GError ** error)
{
  gnutls_privkey_t privkey;
  gnutls_datum_t pem = { NULL, 0 };
  SwarmIdentity *id;
  int fd, errsv;

  *exists = FALSE;

  privkey = generate_privkey (error);
  if (privkey == NULL)
    return NULL;
  if (!privkey_to_pem (privkey, &pem, error)) {
    gnutls_privkey_deinit (privkey);
    return NULL;
  }

  /* O_EXCL: never replace a key someone else just created, and the file
   * is 0600 from its first byte, never briefly readable by others. */
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    errsv = errno;
    if (errsv == EEXIST) {
      *exists = TRUE;
    } else {
      g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
          _("Could not create key file “%s”: %s"), path, g_strerror (errsv));
    }
    goto fail;
  }
  if (!write_all (fd, pem.data, pem.size) || fsync (fd) < 0) {
    errsv = errno;
    close (fd);
    g_unlink (path);
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Could not write key file “%s”: %s"), path, g_strerror (errsv));
    goto fail;
  }
  if (close (fd) < 0) {
    errsv = errno;
    g_unlink (path);
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
        _("Could not write key file “%s”: %s"), path, g_strerror (errsv));
    goto fail;
  }

  gnutls_memset (pem.data, 0, pem.size);
  gnutls_free (pem.data);
  id = identity_new_from_privkey (privkey, error);
  if (id)
    GST_CAT_INFO (swarm_debug, "created key file %s", path);
  return id;

fail:
  gnutls_memset (pem.data, 0, pem.size);
  gnutls_free (pem.data);
  gnutls_privkey_deinit (privkey);
  return NULL;
}

SwarmIdentity *
swarm_identity_load_or_create (const gchar * path, GError ** error)
{
  /* Two tries: a concurrent creator can win the O_EXCL race once. */
  for (int attempt = 0; attempt < 2; attempt++) {
    gboolean exists = FALSE;
    SwarmIdentity *id;
    int fd, errsv;

    fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
    if (fd >= 0) {
      id = load_key_file (fd, path, error);
      close (fd);
      return id;
    }
    errsv = errno;
    if (errsv != ENOENT) {
      g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
          _("Could not open key file “%s”: %s"), path, g_strerror (errsv));
      return NULL;
    }

    id = create_key_file (path, &exists, error);
    if (id || !exists)
      return id;
  }

  g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_KEY_FILE,
      _("Could not open key file “%s”: it keeps appearing and disappearing"),
      path);
  return NULL;
}

/* Swarm ids: RFC 4648 base32, lower case, no padding */

gchar *
swarm_id_encode (const guint8 key[SWARM_PUBLIC_KEY_LEN])
{
  gchar *out;
  guint32 acc = 0;
  guint bits = 0, o = 0;

  g_return_val_if_fail (key != NULL, NULL);

  out = g_malloc (SWARM_ID_LEN + 1);
  for (guint i = 0; i < SWARM_PUBLIC_KEY_LEN; i++) {
    acc = (acc << 8) | key[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[o++] = base32_alphabet[(acc >> bits) & 31];
    }
  }
  if (bits > 0)
    out[o++] = base32_alphabet[(acc << (5 - bits)) & 31];
  g_assert (o == SWARM_ID_LEN);
  out[o] = '\0';
  return out;
}

static gint
base32_value (gchar c)
{
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

gboolean
swarm_id_decode (const gchar * swarm_id, guint8 key[SWARM_PUBLIC_KEY_LEN],
    GError ** error)
{
  guint8 out[SWARM_PUBLIC_KEY_LEN];
  guint32 acc = 0;
  guint bits = 0, o = 0;
  gsize len;

  g_return_val_if_fail (swarm_id != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  len = strlen (swarm_id);
  if (len != SWARM_ID_LEN) {
    gchar *shown = g_utf8_make_valid (swarm_id, MIN (len, 80));

    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_SWARM_ID,
        _("Swarm id “%s%s” is %u characters long; a swarm "
            "id is %d base32 characters (a-z, 2-7)"), shown,
        len > 80 ? "…" : "", (guint) MIN (len, G_MAXUINT), SWARM_ID_LEN);
    g_free (shown);
    return FALSE;
  }

  for (guint i = 0; i < SWARM_ID_LEN; i++) {
    gint v = base32_value (swarm_id[i]);

    if (v < 0) {
      gchar *shown = g_utf8_make_valid (swarm_id, len);

      g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_SWARM_ID,
          _("Swarm id “%s” contains an invalid character at position %u; "
              "a swarm id uses only base32 characters (a-z, 2-7)"), shown,
          i + 1);
      g_free (shown);
      return FALSE;
    }
    acc = (acc << 5) | (guint) v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  /* 52 characters carry 260 bits; the 4 spare bits must be zero, else two
   * different texts would name the same swarm. */
  if ((acc & ((1u << bits) - 1)) != 0) {
    g_set_error (error, SWARM_IDENTITY_ERROR, SWARM_IDENTITY_ERROR_SWARM_ID,
        _("Swarm id “%s” is not a canonical encoding of a public key "
            "(its last character is wrong)"), swarm_id);
    return FALSE;
  }
  g_assert (o == SWARM_PUBLIC_KEY_LEN);
  memcpy (key, out, SWARM_PUBLIC_KEY_LEN);
  return TRUE;
}

gchar *
swarm_id_to_info_hash (const guint8 key[SWARM_PUBLIC_KEY_LEN])
{
  guint8 digest[32];
  gchar *out;

  g_return_val_if_fail (key != NULL, NULL);

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, key, SWARM_PUBLIC_KEY_LEN,
          digest) < 0)
    g_error ("SHA-256 unavailable in GnuTLS");

  out = g_malloc (SWARM_INFO_HASH_LEN + 1);
  for (guint i = 0; i < SWARM_INFO_HASH_LEN / 2; i++) {
    out[2 * i] = "0123456789abcdef"[digest[i] >> 4];
    out[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
  }
  out[SWARM_INFO_HASH_LEN] = '\0';
  return out;
}

gchar *
swarm_peer_id_generate (void)
{
  return swarm_peer_id_generate_with (swarm_clock_get_system ());
}

gchar *
swarm_peer_id_generate_with (SwarmClock * clock)
{
  const guint n_symbols = sizeof (peer_id_alphabet) - 1;
  /* Largest multiple of 62 that fits a byte: bytes at or above it are
   * thrown away so every symbol is equally likely. */
  const guint limit = 256 - 256 % n_symbols;
  GString *out = g_string_new (PEER_ID_PREFIX);

  while (out->len < strlen (PEER_ID_PREFIX) + PEER_ID_RANDOM_LEN) {
    guint8 rnd[16];

    swarm_clock_random_bytes (clock, rnd, sizeof rnd);
    for (guint i = 0; i < sizeof (rnd)
        && out->len < strlen (PEER_ID_PREFIX) + PEER_ID_RANDOM_LEN; i++) {
      if (rnd[i] < limit)
        g_string_append_c (out, peer_id_alphabet[rnd[i] % n_symbols]);
    }
  }
  return g_string_free (out, FALSE);
}

G_DEFINE_BOXED_TYPE (SwarmIdentity, swarm_identity, swarm_identity_ref, swarm_identity_unref);

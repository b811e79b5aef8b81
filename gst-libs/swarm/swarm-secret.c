/* Private swarms: key derivation, sealed descriptions, HELLO proofs.
 * See swarm-secret.h for the design.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "swarm-secret.h"
#include "swarm-private.h"

G_DEFINE_QUARK (swarm-secret-error-quark, swarm_secret_error);

/* PBKDF2-SHA256 rounds: ~50 ms once per session here, so a tracker
 * operator grinding guesses against a sealed description pays the same
 * per guess. */
#define STRETCH_ROUNDS 100000
#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define SEALED_PREFIX "p2p-sealed-1:"
/* Binds the ciphertext to its purpose (and version). */
#define SEAL_AAD "gst-p2p sealed description v1"

struct _SwarmSecret {
  guint8 description_key[KEY_LEN];
  guint8 hello_key[KEY_LEN];
  guint8 rendezvous[SWARM_INFO_HASH_LEN / 2];
};

/* Alphabet sizes for the strength estimate: what a guesser who knows
 * which kinds of characters a secret uses must try per character. */
#define ALPHABET_LOWER 26
#define ALPHABET_UPPER 26
#define ALPHABET_DIGIT 10
#define ALPHABET_OTHER 33       /* ASCII punctuation and space; more for UTF-8 */

enum {
  CLASS_LOWER = 1 << 0,
  CLASS_UPPER = 1 << 1,
  CLASS_DIGIT = 1 << 2,
  CLASS_OTHER = 1 << 3,
};

static guint
char_class (gunichar c)
{
  if (c < 128 && g_ascii_islower (c))
    return CLASS_LOWER;
  if (c < 128 && g_ascii_isupper (c))
    return CLASS_UPPER;
  if (c < 128 && g_ascii_isdigit (c))
    return CLASS_DIGIT;
  return CLASS_OTHER;
}

guint
swarm_secret_estimate_bits (const gchar * secret)
{
  guint classes = 0, alphabet = 0, counted = 0;
  gunichar prev = 0;
  gboolean utf8;
  const gchar *p;

  g_return_val_if_fail (secret != NULL, 0);

  /* Not UTF-8: count bytes, each as one character. */
  utf8 = g_utf8_validate (secret, -1, NULL);
  for (p = secret; *p; p = utf8 ? g_utf8_next_char (p) : p + 1) {
    gunichar c = utf8 ? g_utf8_get_char (p) : (guchar) * p;

    classes |= char_class (c);
    /* aaa, abc, cba, 123: a guesser tries runs first */
    if (p == secret || (c != prev && c != prev + 1 && c + 1 != prev))
      counted++;
    prev = c;
  }
  if (classes & CLASS_LOWER)
    alphabet += ALPHABET_LOWER;
  if (classes & CLASS_UPPER)
    alphabet += ALPHABET_UPPER;
  if (classes & CLASS_DIGIT)
    alphabet += ALPHABET_DIGIT;
  if (classes & CLASS_OTHER)
    alphabet += ALPHABET_OTHER;
  if (alphabet < 2)
    return 0;
  return (guint) MIN (counted * log2 (alphabet), (double) G_MAXUINT);
}

gboolean
swarm_secret_check (const gchar * secret, GError ** error)
{
  gsize len;
  guint bits;

  g_return_val_if_fail (secret != NULL, FALSE);

  len = strlen (secret);
  if (len == 0 || len > SWARM_SECRET_MAX_LEN) {
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_INVALID,
        _("The swarm secret must be 1 to %u bytes long."),
        SWARM_SECRET_MAX_LEN);
    return FALSE;
  }
  bits = swarm_secret_estimate_bits (secret);
  if (bits < SWARM_SECRET_MIN_BITS) {
    /* Anyone who sees the tracker's traffic can guess it offline. */
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_WEAK,
        _("The swarm secret is too weak to keep the swarm private (about "
            "%u bits, at least %u needed): make one with "
            "\"p2p-key --new-secret\" (128 random bits), or use a longer "
            "one mixing letters, digits and other characters."), bits,
        SWARM_SECRET_MIN_BITS);
    return FALSE;
  }
  return TRUE;
}

static void
derive (const guint8 master[KEY_LEN], const gchar * info, guint8 out[KEY_LEN])
{
  gnutls_datum_t key = { (guint8 *) master, KEY_LEN };
  gnutls_datum_t label = { (guint8 *) info, strlen (info) };

  if (gnutls_hkdf_expand (GNUTLS_MAC_SHA256, &key, &label, out, KEY_LEN) < 0)
    g_error ("HKDF-SHA256 unavailable in GnuTLS");
}

SwarmSecret *
swarm_secret_new (const gchar * secret,
    const guint8 swarm_key[SWARM_PUBLIC_KEY_LEN], GError ** error)
{
  static const gchar salt_label[] = "gst-p2p private swarm";
  guint8 salt_bytes[sizeof (salt_label) - 1 + SWARM_PUBLIC_KEY_LEN];
  guint8 master[KEY_LEN];
  guint8 rendezvous[KEY_LEN];
  gnutls_datum_t key, salt;
  SwarmSecret *s;

  g_return_val_if_fail (secret != NULL && swarm_key != NULL, NULL);

  if (!swarm_secret_check (secret, error))
    return NULL;

  memcpy (salt_bytes, salt_label, sizeof (salt_label) - 1);
  memcpy (salt_bytes + sizeof (salt_label) - 1, swarm_key,
      SWARM_PUBLIC_KEY_LEN);
  key.data = (guint8 *) secret;
  key.size = strlen (secret);
  salt.data = salt_bytes;
  salt.size = sizeof (salt_bytes);
  if (gnutls_pbkdf2 (GNUTLS_MAC_SHA256, &key, &salt, STRETCH_ROUNDS, master,
          KEY_LEN) < 0)
    g_error ("PBKDF2-SHA256 unavailable in GnuTLS");

  s = g_new0 (SwarmSecret, 1);
  derive (master, "gst-p2p description key", s->description_key);
  derive (master, "gst-p2p hello key", s->hello_key);
  derive (master, "gst-p2p rendezvous", rendezvous);
  memcpy (s->rendezvous, rendezvous, sizeof (s->rendezvous));
  gnutls_memset (rendezvous, 0, sizeof (rendezvous));
  gnutls_memset (master, 0, sizeof (master));
  return s;
}

gchar *
swarm_secret_info_hash (const SwarmSecret * s)
{
  gchar *out;

  g_return_val_if_fail (s != NULL, NULL);

  /* same form as swarm_id_to_info_hash: every tracker takes it */
  out = g_malloc (SWARM_INFO_HASH_LEN + 1);
  for (guint i = 0; i < SWARM_INFO_HASH_LEN / 2; i++) {
    out[2 * i] = "0123456789abcdef"[s->rendezvous[i] >> 4];
    out[2 * i + 1] = "0123456789abcdef"[s->rendezvous[i] & 15];
  }
  out[SWARM_INFO_HASH_LEN] = '\0';
  return out;
}

void
swarm_secret_free (SwarmSecret * s)
{
  if (!s)
    return;
  gnutls_memset (s, 0, sizeof (*s));
  g_free (s);
}

static gnutls_aead_cipher_hd_t
aead_new (const SwarmSecret * s)
{
  gnutls_aead_cipher_hd_t h;
  gnutls_datum_t key = { (guint8 *) s->description_key, KEY_LEN };

  if (gnutls_aead_cipher_init (&h, GNUTLS_CIPHER_AES_256_GCM, &key) < 0)
    g_error ("AES-256-GCM unavailable in GnuTLS");
  return h;
}

gchar *
swarm_secret_seal (const SwarmSecret * s, const gchar * description)
{
  gsize plain_len, sealed_len;
  size_t out_len;
  guint8 *buf;
  gnutls_aead_cipher_hd_t h;
  gchar *b64, *out;

  g_return_val_if_fail (s != NULL && description != NULL, NULL);

  plain_len = strlen (description);
  sealed_len = NONCE_LEN + plain_len + TAG_LEN;
  buf = g_malloc (sealed_len);
  /* Random nonces: 96 bits leave collisions out of reach for the few
   * thousand descriptions a session seals. */
  if (gnutls_rnd (GNUTLS_RND_NONCE, buf, NONCE_LEN) < 0)
    g_error ("GnuTLS random generator failed");
  h = aead_new (s);
  out_len = plain_len + TAG_LEN;
  if (gnutls_aead_cipher_encrypt (h, buf, NONCE_LEN, SEAL_AAD,
          strlen (SEAL_AAD), TAG_LEN, description, plain_len,
          buf + NONCE_LEN, &out_len) < 0)
    g_error ("AES-256-GCM encryption failed");
  gnutls_aead_cipher_deinit (h);

  b64 = g_base64_encode (buf, NONCE_LEN + out_len);
  out = g_strconcat (SEALED_PREFIX, b64, NULL);
  g_free (b64);
  g_free (buf);
  return out;
}

gboolean
swarm_secret_is_sealed (const gchar * text)
{
  return text && g_str_has_prefix (text, SEALED_PREFIX);
}

gboolean
swarm_secret_is_refusal (const gchar * text)
{
  return g_strcmp0 (text, SWARM_SECRET_REFUSAL) == 0;
}

/* Strict base64: only the alphabet and trailing padding, so that garbage
 * is reported as malformed rather than silently skipped by GLib. */
static gboolean
is_base64 (const gchar * text, gsize len)
{
  gsize i, pad = 0;

  if (len == 0 || len % 4 != 0)
    return FALSE;
  for (i = 0; i < len; i++) {
    gchar c = text[i];

    if (c == '=') {
      pad++;
      continue;
    }
    if (pad > 0)
      return FALSE;
    if (!g_ascii_isalnum (c) && c != '+' && c != '/')
      return FALSE;
  }
  return pad <= 2;
}

gchar *
swarm_secret_open (const SwarmSecret * s, const gchar * sealed,
    GError ** error)
{
  const gchar *b64;
  gsize b64_len, raw_len;
  size_t plain_len;
  guint8 *raw;
  gchar *plain;
  gnutls_aead_cipher_hd_t h;
  int ret;

  g_return_val_if_fail (s != NULL && sealed != NULL, NULL);

  if (!swarm_secret_is_sealed (sealed)) {
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_NOT_SEALED,
        "a plain description in a private swarm");
    return NULL;
  }
  b64 = sealed + strlen (SEALED_PREFIX);
  b64_len = strlen (b64);
  if (b64_len > SWARM_SECRET_MAX_SEALED_LEN || !is_base64 (b64, b64_len)) {
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_MALFORMED,
        "sealed description is not well formed");
    return NULL;
  }
  raw = g_base64_decode (b64, &raw_len);
  if (raw_len < NONCE_LEN + TAG_LEN) {
    g_free (raw);
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_MALFORMED,
        "sealed description is too short");
    return NULL;
  }

  /* one spare byte for the terminating NUL */
  plain_len = raw_len - NONCE_LEN - TAG_LEN;
  plain = g_malloc (plain_len + 1);
  h = aead_new (s);
  ret = gnutls_aead_cipher_decrypt (h, raw, NONCE_LEN, SEAL_AAD,
      strlen (SEAL_AAD), TAG_LEN, raw + NONCE_LEN, raw_len - NONCE_LEN, plain,
      &plain_len);
  gnutls_aead_cipher_deinit (h);
  g_free (raw);
  if (ret < 0) {
    g_free (plain);
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_WRONG_KEY,
        "sealed description does not open with our secret");
    return NULL;
  }
  plain[plain_len] = '\0';
  /* The text goes on to an SDP parser: no embedded NULs or invalid UTF-8. */
  if (strlen (plain) != plain_len || !g_utf8_validate (plain, plain_len, NULL)) {
    g_free (plain);
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_MALFORMED,
        "sealed description holds binary data");
    return NULL;
  }
  return plain;
}

void
swarm_secret_hello_proof (const SwarmSecret * s,
    const guint8 exported[SWARM_SECRET_EXPORTER_LEN], const gchar * peer_id,
    gsize peer_id_len, guint8 proof[SWARM_SECRET_PROOF_LEN])
{
  gnutls_hmac_hd_t h;

  g_return_if_fail (s != NULL && exported != NULL && peer_id != NULL);

  if (gnutls_hmac_init (&h, GNUTLS_MAC_SHA256, s->hello_key, KEY_LEN) < 0)
    g_error ("HMAC-SHA256 unavailable in GnuTLS");
  gnutls_hmac (h, exported, SWARM_SECRET_EXPORTER_LEN);
  gnutls_hmac (h, peer_id, peer_id_len);
  gnutls_hmac_deinit (h, proof);
}

gboolean
swarm_secret_check_hello_proof (const SwarmSecret * s,
    const guint8 exported[SWARM_SECRET_EXPORTER_LEN], const gchar * peer_id,
    gsize peer_id_len, const guint8 proof[SWARM_SECRET_PROOF_LEN])
{
  guint8 expected[SWARM_SECRET_PROOF_LEN];
  gboolean ok;

  swarm_secret_hello_proof (s, exported, peer_id, peer_id_len, expected);
  ok = gnutls_memcmp (expected, proof, SWARM_SECRET_PROOF_LEN) == 0;
  gnutls_memset (expected, 0, sizeof (expected));
  return ok;
}

/* The secret in the file @path, without one trailing line end. */
static gchar *
read_secret_file (const gchar * path, GError ** error)
{
  gchar *contents = NULL;
  gsize len = 0;
  GError *read_error = NULL;

  if (!g_file_get_contents (path, &contents, &len, &read_error)) {
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_INVALID,
        _("Could not read the swarm secret file: %s"), read_error->message);
    g_error_free (read_error);
    return NULL;
  }
  if (len > 0 && contents[len - 1] == '\n')
    contents[--len] = '\0';
  if (len > 0 && contents[len - 1] == '\r')
    contents[--len] = '\0';
  if (len == 0 || len > SWARM_SECRET_MAX_LEN || strlen (contents) != len) {
    gnutls_memset (contents, 0, len);
    g_free (contents);
    g_set_error (error, SWARM_SECRET_ERROR, SWARM_SECRET_ERROR_INVALID,
        _("The swarm secret file %s must hold one secret of 1 to %u bytes "
            "(no NUL bytes)."), path, SWARM_SECRET_MAX_LEN);
    return NULL;
  }
  return contents;
}

gboolean
swarm_secret_lookup (const gchar * given, const gchar * path,
    gchar ** secret, GError ** error)
{
  const gchar *env;

  g_return_val_if_fail (secret != NULL, FALSE);

  *secret = NULL;
  if (given && *given) {
    *secret = g_strdup (given);
  } else if (path && *path) {
    if (!(*secret = read_secret_file (path, error)))
      return FALSE;
  } else if ((env = g_getenv (SWARM_SECRET_ENV)) && *env) {
    *secret = g_strdup (env);
  }
  return TRUE;
}

void
swarm_secret_clear_string (gchar ** text)
{
  g_return_if_fail (text != NULL);

  if (*text) {
    gnutls_memset (*text, 0, strlen (*text));
    g_free (*text);
    *text = NULL;
  }
}

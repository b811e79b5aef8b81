/* Tests for publisher identities, key files and swarm ids.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

static gchar *tmpdir;

static void
setup (void)
{
  GError *err = NULL;

  tmpdir = g_dir_make_tmp ("swarm-identity-XXXXXX", &err);
  fail_unless (tmpdir != NULL, "%s", err ? err->message : "");
}

static void
teardown (void)
{
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir))) {
    gchar *p = g_build_filename (tmpdir, name, NULL);

    g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  fail_unless_equals_int (g_rmdir (tmpdir), 0);
  g_clear_pointer (&tmpdir, g_free);
}

GST_START_TEST (test_generate_sign_verify)
{
  GError *err = NULL;
  SwarmIdentity *id = swarm_identity_generate (&err);
  SwarmIdentity *other, *pub;
  guint8 sig[SWARM_SIGNATURE_LEN], sig2[SWARM_SIGNATURE_LEN];
  guint8 msg[300];
  gchar *text;

  fail_unless (id != NULL, "%s", err ? err->message : "");
  fail_unless (swarm_identity_has_private_key (id));
  for (guint i = 0; i < sizeof (msg); i++)
    msg[i] = (guint8) i;

  fail_unless (swarm_identity_sign (id, msg, sizeof (msg), sig, &err));
  fail_unless (swarm_identity_verify (id, msg, sizeof (msg), sig));
  /* Ed25519 is deterministic */
  fail_unless (swarm_identity_sign (id, msg, sizeof (msg), sig2, NULL));
  fail_unless_equals_int (memcmp (sig, sig2, sizeof (sig)), 0);

  /* a verify-only identity made from the public key agrees */
  pub = swarm_identity_new_from_public_key (swarm_identity_get_public_key (id));
  fail_if (swarm_identity_has_private_key (pub));
  fail_unless (swarm_identity_verify (pub, msg, sizeof (msg), sig));
  text = swarm_identity_get_swarm_id (pub);
  fail_unless_equals_int (strlen (text), SWARM_ID_LEN);
  g_free (text);

  /* any change to message or signature fails */
  msg[17] ^= 1;
  fail_if (swarm_identity_verify (pub, msg, sizeof (msg), sig));
  msg[17] ^= 1;
  sig[63] ^= 0x80;
  fail_if (swarm_identity_verify (pub, msg, sizeof (msg), sig));
  sig[63] ^= 0x80;
  fail_if (swarm_identity_verify (pub, msg, sizeof (msg) - 1, sig));

  /* a different key does not verify */
  other = swarm_identity_generate (NULL);
  fail_unless (other != NULL);
  fail_if (memcmp (swarm_identity_get_public_key (other),
          swarm_identity_get_public_key (id), SWARM_PUBLIC_KEY_LEN) == 0);
  fail_if (swarm_identity_verify (other, msg, sizeof (msg), sig));

  /* a verify-only identity cannot sign */
  fail_if (swarm_identity_sign (pub, msg, sizeof (msg), sig, &err));
  fail_unless (g_error_matches (err, SWARM_IDENTITY_ERROR,
          SWARM_IDENTITY_ERROR_NO_PRIVATE_KEY));
  g_clear_error (&err);

  /* empty messages can be signed */
  fail_unless (swarm_identity_sign (id, msg, 0, sig, NULL));
  fail_unless (swarm_identity_verify (pub, msg, 0, sig));

  fail_unless (swarm_identity_ref (id) == id);
  swarm_identity_unref (id);
  swarm_identity_unref (id);
  swarm_identity_unref (other);
  swarm_identity_unref (pub);
}

GST_END_TEST;

/* The cache of verified signatures (swarm-identity.c) answers only for
 * the very bytes and signature that passed: a hostile peer that replays a
 * good signature over other bytes, or a changed signature over good bytes,
 * is checked in full and refused. */
GST_START_TEST (test_verified_cache)
{
  SwarmIdentity *id = swarm_identity_generate (NULL);
  SwarmIdentity *pub = swarm_identity_new_from_public_key
      (swarm_identity_get_public_key (id));
  guint8 sig[SWARM_SIGNATURE_LEN], bad_sig[SWARM_SIGNATURE_LEN];
  guint8 msg[1500], forged[1500];
  guint i;

  for (i = 0; i < sizeof msg; i++)
    msg[i] = (guint8) (i * 7);
  fail_unless (swarm_identity_sign (id, msg, sizeof msg, sig, NULL));
  fail_unless (swarm_identity_verify (pub, msg, sizeof msg, sig));
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 1);
  /* the same message again: from the cache */
  fail_unless (swarm_identity_verify (pub, msg, sizeof msg, sig));
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 1);

  /* the good signature over other bytes: one byte, or one byte fewer */
  memcpy (forged, msg, sizeof msg);
  forged[700] ^= 1;
  fail_if (swarm_identity_verify (pub, forged, sizeof forged, sig));
  fail_if (swarm_identity_verify (pub, msg, sizeof msg - 1, sig));
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 3);
  /* a changed signature over the good bytes */
  memcpy (bad_sig, sig, sizeof sig);
  bad_sig[SWARM_SIGNATURE_LEN - 1] ^= 0x40;
  fail_if (swarm_identity_verify (pub, msg, sizeof msg, bad_sig));
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 4);
  /* refused ones are not remembered */
  fail_if (swarm_identity_verify (pub, forged, sizeof forged, sig));
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 5);

  /* bounded: 300 more messages push the first out; it is checked in full
   * again, and still passes */
  for (i = 0; i < 300; i++) {
    guint8 other_sig[SWARM_SIGNATURE_LEN];

    memcpy (forged, msg, sizeof msg);
    memcpy (forged, &i, sizeof i);
    fail_unless (swarm_identity_sign (id, forged, sizeof forged, other_sig,
            NULL));
    fail_unless (swarm_identity_verify (pub, forged, sizeof forged,
            other_sig));
  }
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 305);
  fail_unless (swarm_identity_verify (pub, msg, sizeof msg, sig));
  fail_unless_equals_int (swarm_identity_get_full_checks (pub), 306);

  swarm_identity_unref (pub);
  swarm_identity_unref (id);
}

GST_END_TEST;

GST_START_TEST (test_rfc8032_vector)
{
  /* RFC 8032 section 7.1, TEST 1: empty message */
  static const guint8 pk[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3,
    0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
    0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a
  };
  static const guint8 sig[64] = {
    0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc,
    0x80, 0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74,
    0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55, 0x5f, 0xb8, 0x82, 0x15,
    0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
    0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43,
    0x8e, 0x7a, 0x10, 0x0b
  };
  SwarmIdentity *id = swarm_identity_new_from_public_key (pk);
  guint8 bad[64];

  fail_unless (swarm_identity_verify (id, (const guint8 *) "", 0, sig));
  memcpy (bad, sig, 64);
  bad[0] ^= 1;
  fail_if (swarm_identity_verify (id, (const guint8 *) "", 0, bad));
  fail_if (swarm_identity_verify (id, (const guint8 *) "x", 1, sig));
  swarm_identity_unref (id);
}

GST_END_TEST;

GST_START_TEST (test_key_file_create_reload)
{
  gchar *path = g_build_filename (tmpdir, "publisher.key", NULL);
  GError *err = NULL;
  SwarmIdentity *a, *b;
  gchar *ida, *idb, *contents = NULL;
  GStatBuf st;
  guint8 sig[SWARM_SIGNATURE_LEN];

  fail_if (g_file_test (path, G_FILE_TEST_EXISTS));
  a = swarm_identity_load_or_create (path, &err);
  fail_unless (a != NULL, "%s", err ? err->message : "");
  fail_unless (swarm_identity_has_private_key (a));

  fail_unless_equals_int (g_stat (path, &st), 0);
  fail_unless_equals_int (st.st_mode & 0777, 0600);
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless (g_str_has_prefix (contents, "-----BEGIN PRIVATE KEY-----\n"));
  fail_unless (strstr (contents, "-----END PRIVATE KEY-----") != NULL);
  g_free (contents);

  b = swarm_identity_load_or_create (path, &err);
  fail_unless (b != NULL, "%s", err ? err->message : "");
  ida = swarm_identity_get_swarm_id (a);
  idb = swarm_identity_get_swarm_id (b);
  fail_unless_equals_string (ida, idb);
  fail_unless_equals_int (memcmp (swarm_identity_get_public_key (a),
          swarm_identity_get_public_key (b), SWARM_PUBLIC_KEY_LEN), 0);

  /* the reloaded key signs what the first verifies */
  fail_unless (swarm_identity_sign (b, (const guint8 *) "hello", 5, sig,
          NULL));
  fail_unless (swarm_identity_verify (a, (const guint8 *) "hello", 5, sig));

  g_free (ida);
  g_free (idb);
  swarm_identity_unref (a);
  swarm_identity_unref (b);
  g_free (path);
}

GST_END_TEST;

static void
assert_key_file_error (const gchar * path, const gchar * needle)
{
  GError *err = NULL;
  SwarmIdentity *id = swarm_identity_load_or_create (path, &err);

  fail_unless (id == NULL);
  fail_unless (g_error_matches (err, SWARM_IDENTITY_ERROR,
          SWARM_IDENTITY_ERROR_KEY_FILE), "%s", err ? err->message : "");
  fail_unless (strstr (err->message, path) != NULL, "%s", err->message);
  if (needle)
    fail_unless (strstr (err->message, needle) != NULL, "%s", err->message);
  GST_INFO ("expected error: %s", err->message);
  g_clear_error (&err);
}

GST_START_TEST (test_key_file_unsafe_mode)
{
  gchar *path = g_build_filename (tmpdir, "shared.key", NULL);
  gchar *before, *after;
  SwarmIdentity *id = swarm_identity_load_or_create (path, NULL);

  fail_unless (id != NULL);
  swarm_identity_unref (id);
  fail_unless (g_file_get_contents (path, &before, NULL, NULL));

  fail_unless_equals_int (g_chmod (path, 0640), 0);
  assert_key_file_error (path, "chmod 600");
  fail_unless_equals_int (g_chmod (path, 0604), 0);
  assert_key_file_error (path, "chmod 600");
  fail_unless_equals_int (g_chmod (path, 0620), 0);
  assert_key_file_error (path, "chmod 600");

  /* the refused file was left alone, and works once fixed */
  fail_unless (g_file_get_contents (path, &after, NULL, NULL));
  fail_unless_equals_string (before, after);
  fail_unless_equals_int (g_chmod (path, 0600), 0);
  id = swarm_identity_load_or_create (path, NULL);
  fail_unless (id != NULL);
  swarm_identity_unref (id);

  g_free (before);
  g_free (after);
  g_free (path);
}

GST_END_TEST;

static void
write_private (const gchar * path, const gchar * contents, gssize len)
{
  fail_unless (g_file_set_contents_full (path, contents, len,
          G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  fail_unless_equals_int (g_chmod (path, 0600), 0);
}

GST_START_TEST (test_key_file_garbage)
{
  gchar *path = g_build_filename (tmpdir, "garbage.key", NULL);
  gchar *big = g_malloc0 (100 * 1024);
  gchar *rsa = NULL, *truncated;
  gchar *good_path = g_build_filename (tmpdir, "good.key", NULL);
  gsize good_len;
  SwarmIdentity *id;

  write_private (path, "this is not a key\n", -1);
  assert_key_file_error (path, NULL);

  write_private (path, "", 0);
  assert_key_file_error (path, NULL);

  memset (big, 'A', 100 * 1024 - 1);
  write_private (path, big, 100 * 1024);
  assert_key_file_error (path, NULL);

  /* a valid key file cut short */
  id = swarm_identity_load_or_create (good_path, NULL);
  fail_unless (id != NULL);
  swarm_identity_unref (id);
  fail_unless (g_file_get_contents (good_path, &rsa, &good_len, NULL));
  truncated = g_strndup (rsa, good_len / 2);
  write_private (path, truncated, -1);
  assert_key_file_error (path, NULL);

  /* a PEM of the wrong kind */
  write_private (path, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
      "-----END PRIVATE KEY-----\n", -1);
  assert_key_file_error (path, NULL);

  /* a directory is not a key file */
  assert_key_file_error (tmpdir, NULL);

  g_free (truncated);
  g_free (rsa);
  g_free (big);
  g_free (path);
  g_free (good_path);
}

GST_END_TEST;

GST_START_TEST (test_key_file_unwritable_dir)
{
  gchar *path = g_build_filename (tmpdir, "no-such-dir", "x.key", NULL);
  GError *err = NULL;

  fail_unless (swarm_identity_load_or_create (path, &err) == NULL);
  fail_unless (g_error_matches (err, SWARM_IDENTITY_ERROR,
          SWARM_IDENTITY_ERROR_KEY_FILE));
  fail_unless (strstr (err->message, path) != NULL);
  g_clear_error (&err);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_swarm_id_round_trip)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN], back[SWARM_PUBLIC_KEY_LEN];
  gchar *text, *upper;
  GError *err = NULL;

  /* all zeros and all ones have known encodings */
  memset (key, 0, sizeof (key));
  text = swarm_id_encode (key);
  fail_unless_equals_string (text,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  g_free (text);
  memset (key, 0xff, sizeof (key));
  text = swarm_id_encode (key);
  fail_unless_equals_string (text,
      "777777777777777777777777777777777777777777777777777q");
  g_free (text);

  /* RFC 4648 test vector "foobar" -> MZXW6YTBOI, in a key's first bytes */
  memset (key, 0, sizeof (key));
  memcpy (key, "foobar", 6);
  text = swarm_id_encode (key);
  fail_unless (g_str_has_prefix (text, "mzxw6ytboi"), "%s", text);
  g_free (text);

  for (guint round = 0; round < 50; round++) {
    for (guint i = 0; i < SWARM_PUBLIC_KEY_LEN; i++)
      key[i] = (guint8) g_random_int ();
    text = swarm_id_encode (key);
    fail_unless_equals_int (strlen (text), SWARM_ID_LEN);
    for (guint i = 0; i < SWARM_ID_LEN; i++)
      fail_unless (strchr ("abcdefghijklmnopqrstuvwxyz234567", text[i]));
    memset (back, 0, sizeof (back));
    fail_unless (swarm_id_decode (text, back, &err), "%s", err->message);
    fail_unless_equals_int (memcmp (key, back, sizeof (key)), 0);
    upper = g_ascii_strup (text, -1);
    memset (back, 0, sizeof (back));
    fail_unless (swarm_id_decode (upper, back, NULL));
    fail_unless_equals_int (memcmp (key, back, sizeof (key)), 0);
    g_free (upper);
    g_free (text);
  }
}

GST_END_TEST;

static void
assert_bad_swarm_id (const gchar * text)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  GError *err = NULL;

  fail_if (swarm_id_decode (text, key, &err), "accepted %s", text);
  fail_unless (g_error_matches (err, SWARM_IDENTITY_ERROR,
          SWARM_IDENTITY_ERROR_SWARM_ID));
  GST_INFO ("expected error: %s", err->message);
  g_clear_error (&err);
}

GST_START_TEST (test_swarm_id_rejects)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  gchar *good, *bad;
  GError *err = NULL;

  for (guint i = 0; i < SWARM_PUBLIC_KEY_LEN; i++)
    key[i] = (guint8) (i * 13 + 1);
  good = swarm_id_encode (key);

  assert_bad_swarm_id ("");
  assert_bad_swarm_id ("abc");
  bad = g_strndup (good, SWARM_ID_LEN - 1);
  assert_bad_swarm_id (bad);
  g_free (bad);
  bad = g_strconcat (good, "a", NULL);
  assert_bad_swarm_id (bad);
  g_free (bad);
  bad = g_strconcat (good, "=", NULL);
  assert_bad_swarm_id (bad);
  g_free (bad);

  /* characters outside the alphabet, at the start, middle and end */
  {
    static const gchar bad_chars[] = { '0', '1', '8', '9', '=', ' ', '-', '/',
      '@', '\xc3'
    };
    static const guint positions[] = { 0, 25, SWARM_ID_LEN - 1 };

    for (guint c = 0; c < G_N_ELEMENTS (bad_chars); c++) {
      for (guint p = 0; p < G_N_ELEMENTS (positions); p++) {
        bad = g_strdup (good);
        bad[positions[p]] = bad_chars[c];
        assert_bad_swarm_id (bad);
        g_free (bad);
      }
    }
  }

  /* the last character carries one key bit and four spare zero bits, so
   * only 'a' and 'q' can end a swarm id; 'b' sets a spare bit */
  fail_unless (good[SWARM_ID_LEN - 1] == 'a' || good[SWARM_ID_LEN - 1] == 'q');
  bad = g_strdup (good);
  bad[SWARM_ID_LEN - 1] = 'b';
  assert_bad_swarm_id (bad);
  g_free (bad);

  /* the error quotes the input */
  fail_if (swarm_id_decode ("not-a-swarm-id", key, &err));
  fail_unless (strstr (err->message, "not-a-swarm-id") != NULL);
  g_clear_error (&err);
  g_free (good);
}

GST_END_TEST;

GST_START_TEST (test_info_hash_and_peer_id)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  gchar *hash, *hash2, *peer, *peer2;

  /* SHA-256 of 32 zero bytes starts 66687aadf862bd776c8f */
  memset (key, 0, sizeof (key));
  hash = swarm_id_to_info_hash (key);
  fail_unless_equals_string (hash, "66687aadf862bd776c8f");
  g_free (hash);

  key[0] = 1;
  hash = swarm_id_to_info_hash (key);
  hash2 = swarm_id_to_info_hash (key);
  fail_unless_equals_int (strlen (hash), SWARM_INFO_HASH_LEN);
  for (guint i = 0; i < SWARM_INFO_HASH_LEN; i++)
    fail_unless (g_ascii_isxdigit (hash[i]) && !g_ascii_isupper (hash[i]));
  fail_unless_equals_string (hash, hash2);
  fail_if (strcmp (hash, "66687aadf862bd776c8f") == 0);
  g_free (hash);
  g_free (hash2);

  peer = swarm_peer_id_generate ();
  peer2 = swarm_peer_id_generate ();
  fail_unless_equals_int (strlen (peer), 20);
  fail_unless (g_str_has_prefix (peer, "-GP0100-"));
  for (guint i = 8; i < 20; i++)
    fail_unless (g_ascii_isalnum (peer[i]), "%s", peer);
  fail_if (strcmp (peer, peer2) == 0);
  g_free (peer);
  g_free (peer2);
}

GST_END_TEST;

static Suite *
identity_suite (void)
{
  Suite *s = suite_create ("swarm-identity");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_generate_sign_verify);
  tcase_add_test (tc, test_verified_cache);
  tcase_add_test (tc, test_rfc8032_vector);
  tcase_add_test (tc, test_key_file_create_reload);
  tcase_add_test (tc, test_key_file_unsafe_mode);
  tcase_add_test (tc, test_key_file_garbage);
  tcase_add_test (tc, test_key_file_unwritable_dir);
  tcase_add_test (tc, test_swarm_id_round_trip);
  tcase_add_test (tc, test_swarm_id_rejects);
  tcase_add_test (tc, test_info_hash_and_peer_id);
  return s;
}

GST_CHECK_MAIN (identity);

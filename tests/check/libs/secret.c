/* Private-swarm keys: sealed descriptions open only with the same secret in
 * the same swarm, hide what they carry and resist tampering; HELLO proofs
 * are bound to the session, the sender and the secret.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <swarm/swarm-internal.h>

#define DESCRIPTION \
  "v=0\r\nm=application 0 ICE/SDP\r\nc=IN IP4 192.0.2.7\r\n" \
  "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n" \
  "a=candidate:1 1 UDP 2013266431 192.0.2.7 40000 typ host\r\n" \
  "a=fingerprint:sha-256 AA:BB:CC:DD\r\n"

/* what `p2p-key --new-secret` makes: 128 random bits in hex */
#define STRONG "3f9c1a7e5b2d8064c1e9a7f3b5d20846"
#define STRONG_OTHER "3f9c1a7e5b2d8064c1e9a7f3b5d20847"

static void
fill_key (guint8 key[SWARM_PUBLIC_KEY_LEN], guint8 seed)
{
  for (guint i = 0; i < SWARM_PUBLIC_KEY_LEN; i++)
    key[i] = seed + i;
}

static SwarmSecret *
secret_new (const gchar * text, guint8 seed)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  GError *error = NULL;
  SwarmSecret *s;

  fill_key (key, seed);
  s = swarm_secret_new (text, key, &error);
  fail_unless (s != NULL, "%s", error ? error->message : "?");
  return s;
}

GST_START_TEST (test_seal_round_trip)
{
  SwarmSecret *a = secret_new (STRONG, 1), *b = secret_new (STRONG, 1);
  gchar *sealed = swarm_secret_seal (a, DESCRIPTION);
  gchar *again = swarm_secret_seal (a, DESCRIPTION);
  gchar *opened;
  GError *error = NULL;

  fail_unless (swarm_secret_is_sealed (sealed));
  fail_if (swarm_secret_is_sealed (DESCRIPTION));
  /* nothing of the description shows through */
  fail_if (strstr (sealed, "192.0.2.7"));
  fail_if (strstr (sealed, "fingerprint"));
  fail_if (strstr (sealed, "candidate"));
  /* fresh nonce each time */
  fail_if (g_str_equal (sealed, again));
  /* the same secret and swarm, derived separately, opens it */
  opened = swarm_secret_open (b, sealed, &error);
  fail_unless (opened != NULL, "%s", error ? error->message : "?");
  fail_unless_equals_string (opened, DESCRIPTION);
  g_free (opened);
  opened = swarm_secret_open (b, again, NULL);
  fail_unless_equals_string (opened, DESCRIPTION);
  g_free (opened);

  g_free (sealed);
  g_free (again);
  swarm_secret_free (a);
  swarm_secret_free (b);
}

GST_END_TEST;

GST_START_TEST (test_wrong_secret_or_swarm)
{
  SwarmSecret *a = secret_new (STRONG, 1);
  SwarmSecret *other_secret = secret_new (STRONG_OTHER, 1);
  SwarmSecret *other_swarm = secret_new (STRONG, 2);
  gchar *sealed = swarm_secret_seal (a, DESCRIPTION);
  GError *error = NULL;

  fail_if (swarm_secret_open (other_secret, sealed, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_WRONG_KEY));
  g_clear_error (&error);
  fail_if (swarm_secret_open (other_swarm, sealed, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_WRONG_KEY));
  g_clear_error (&error);

  g_free (sealed);
  swarm_secret_free (a);
  swarm_secret_free (other_secret);
  swarm_secret_free (other_swarm);
}

GST_END_TEST;

/* Every single-character change of the base64 body is caught. */
GST_START_TEST (test_tampering_detected)
{
  SwarmSecret *a = secret_new (STRONG, 1);
  gchar *sealed = swarm_secret_seal (a, DESCRIPTION);
  gsize prefix = strlen ("p2p-sealed-1:"), len = strlen (sealed), i;
  guint caught = 0, tried = 0;

  for (i = prefix; i < len; i++) {
    gchar *copy = g_strdup (sealed);
    gchar *opened;

    if (copy[i] == '=') {
      g_free (copy);
      continue;
    }
    copy[i] = copy[i] == 'A' ? 'B' : 'A';
    opened = swarm_secret_open (a, copy, NULL);
    tried++;
    if (!opened)
      caught++;
    g_free (opened);
    g_free (copy);
  }
  /* the last base64 symbol before padding may carry only padding bits */
  fail_unless (caught >= tried - 1, "%u of %u changes caught", caught, tried);
  fail_unless (tried > 100);

  g_free (sealed);
  swarm_secret_free (a);
}

GST_END_TEST;

GST_START_TEST (test_malformed_sealed)
{
  SwarmSecret *a = secret_new (STRONG, 1);
  const gchar *bad[] = {
    "p2p-sealed-1:",
    "p2p-sealed-1:AAAA",        /* shorter than nonce + tag */
    "p2p-sealed-1:!!!!",
    "p2p-sealed-1:AAA",         /* not a multiple of 4 */
    "p2p-sealed-1:AA=A",        /* padding in the middle */
    "p2p-sealed-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  };
  GError *error = NULL;
  GString *huge;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    fail_if (swarm_secret_open (a, bad[i], &error), "%s opened", bad[i]);
    fail_unless (error != NULL);
    g_clear_error (&error);
  }
  fail_if (swarm_secret_open (a, DESCRIPTION, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_NOT_SEALED));
  g_clear_error (&error);

  huge = g_string_new ("p2p-sealed-1:");
  while (huge->len < 2 * SWARM_SECRET_MAX_SEALED_LEN)
    g_string_append (huge, "AAAA");
  fail_if (swarm_secret_open (a, huge->str, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_MALFORMED));
  g_clear_error (&error);
  g_string_free (huge, TRUE);

  fail_unless (swarm_secret_is_refusal (SWARM_SECRET_REFUSAL));
  fail_if (swarm_secret_is_refusal (DESCRIPTION));
  fail_if (swarm_secret_is_sealed (SWARM_SECRET_REFUSAL));
  swarm_secret_free (a);
}

GST_END_TEST;

GST_START_TEST (test_invalid_secrets)
{
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  gchar *long_secret = g_strnfill (SWARM_SECRET_MAX_LEN + 1, 'x');
  GError *error = NULL;

  fill_key (key, 1);
  fail_if (swarm_secret_new ("", key, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_INVALID));
  g_clear_error (&error);
  fail_if (swarm_secret_new (long_secret, key, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_INVALID));
  g_clear_error (&error);
  g_free (long_secret);
}

GST_END_TEST;

/* The secrets the review guessed offline, and their kin, are refused with
 * an error naming the minimum and the way to a good one. */
GST_START_TEST (test_weak_secrets_refused)
{
  static const gchar *weak[] = { "weak1", "hunter2", "conformance",
    "password123", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abcdefghijklmnopqrstuvwxyz", "0123456789876543210123456789",
    "Summer2024!", NULL
  };
  static const gchar *strong[] = { STRONG, "correct horse battery staple",
    "Tr0ub4dor&3-xq7!Lm9#", "00000000000000000000000000000001"
        "9c8e4f1a2b3d5e6f", NULL
  };
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  GError *error = NULL;
  gchar *bound = g_strdup_printf ("%u", SWARM_SECRET_MIN_BITS);

  fill_key (key, 1);
  for (guint i = 0; weak[i]; i++) {
    GST_INFO ("%s: %u bits", weak[i], swarm_secret_estimate_bits (weak[i]));
    fail_if (swarm_secret_check (weak[i], NULL), "%s accepted", weak[i]);
    fail_if (swarm_secret_new (weak[i], key, &error), "%s accepted", weak[i]);
    fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
            SWARM_SECRET_ERROR_WEAK), "%s", weak[i]);
    fail_unless (strstr (error->message, "p2p-key --new-secret") != NULL,
        "%s", error->message);
    fail_unless (strstr (error->message, bound) != NULL, "%s",
        error->message);
    fail_if (strstr (error->message, weak[i]), "%s", error->message);
    g_clear_error (&error);
  }
  for (guint i = 0; strong[i]; i++) {
    SwarmSecret *s;

    GST_INFO ("%s: %u bits", strong[i],
        swarm_secret_estimate_bits (strong[i]));
    fail_unless (swarm_secret_check (strong[i], &error), "%s: %s", strong[i],
        error ? error->message : "?");
    s = secret_new (strong[i], 1);
    swarm_secret_free (s);
  }
  /* 128 random bits in hex are worth more than the minimum twice over */
  fail_unless (swarm_secret_estimate_bits (STRONG) >= 2 * SWARM_SECRET_MIN_BITS);
  /* runs count once, whatever their length */
  fail_unless_equals_int (swarm_secret_estimate_bits ("aaaaaaaaaaaaaaaa"),
      swarm_secret_estimate_bits ("a"));
  /* not UTF-8: counted byte by byte, still estimated */
  fail_unless (swarm_secret_estimate_bits ("\xff\xfe\x80") > 0);
  g_free (bound);
}

GST_END_TEST;

/* A private swarm meets on an info_hash only the secret leads to: not the
 * one anyone computes from the swarm id, another per secret and per
 * swarm, the same for every member. */
GST_START_TEST (test_rendezvous_info_hash)
{
  SwarmSecret *a = secret_new (STRONG, 1), *b = secret_new (STRONG, 1);
  SwarmSecret *other_secret = secret_new (STRONG_OTHER, 1);
  SwarmSecret *other_swarm = secret_new (STRONG, 2);
  guint8 key[SWARM_PUBLIC_KEY_LEN];
  gchar *public_hash, *ha, *hb, *hs, *hw;

  fill_key (key, 1);
  public_hash = swarm_id_to_info_hash (key);
  ha = swarm_secret_info_hash (a);
  hb = swarm_secret_info_hash (b);
  hs = swarm_secret_info_hash (other_secret);
  hw = swarm_secret_info_hash (other_swarm);

  fail_unless_equals_int (strlen (ha), SWARM_INFO_HASH_LEN);
  for (guint i = 0; ha[i]; i++)
    fail_unless (g_ascii_isxdigit (ha[i]) && !g_ascii_isupper (ha[i]));
  fail_unless_equals_string (ha, hb);
  fail_if (g_str_equal (ha, public_hash));
  fail_if (g_str_equal (ha, hs));
  fail_if (g_str_equal (ha, hw));

  g_free (public_hash);
  g_free (ha);
  g_free (hb);
  g_free (hs);
  g_free (hw);
  swarm_secret_free (a);
  swarm_secret_free (b);
  swarm_secret_free (other_secret);
  swarm_secret_free (other_swarm);
}

GST_END_TEST;

/* Where elements find the secret: the property first, then the file (one
 * line end dropped), then P2P_SECRET; empty values count as none; a file
 * that is missing, empty or binary is an error that does not quote it. */
GST_START_TEST (test_lookup)
{
  gchar *path = NULL, *secret = NULL;
  GError *error = NULL;
  gint fd = g_file_open_tmp ("p2p-secret-XXXXXX", &path, &error);

  fail_unless (fd >= 0, "%s", error ? error->message : "?");
  close (fd);
  g_unsetenv (SWARM_SECRET_ENV);

  /* nothing anywhere: a public swarm */
  fail_unless (swarm_secret_lookup (NULL, NULL, &secret, &error));
  fail_unless (secret == NULL);
  fail_unless (swarm_secret_lookup ("", "", &secret, &error));
  fail_unless (secret == NULL);

  fail_unless (g_file_set_contents (path, STRONG_OTHER "\r\n", -1, NULL));
  g_setenv (SWARM_SECRET_ENV, "from the environment", TRUE);
  fail_unless (swarm_secret_lookup (STRONG, path, &secret, &error));
  fail_unless_equals_string (secret, STRONG);
  swarm_secret_clear_string (&secret);
  fail_unless (swarm_secret_lookup (NULL, path, &secret, &error));
  fail_unless_equals_string (secret, STRONG_OTHER);
  swarm_secret_clear_string (&secret);
  fail_unless (swarm_secret_lookup ("", NULL, &secret, &error));
  fail_unless_equals_string (secret, "from the environment");
  swarm_secret_clear_string (&secret);
  g_setenv (SWARM_SECRET_ENV, "", TRUE);
  fail_unless (swarm_secret_lookup (NULL, NULL, &secret, &error));
  fail_unless (secret == NULL);
  g_unsetenv (SWARM_SECRET_ENV);

  /* only one line end goes: a secret may end in spaces or newlines */
  fail_unless (g_file_set_contents (path, STRONG "\n\n", -1, NULL));
  fail_unless (swarm_secret_lookup (NULL, path, &secret, &error));
  fail_unless_equals_string (secret, STRONG "\n");
  swarm_secret_clear_string (&secret);

  /* empty, binary, missing: errors that name the file, not its content */
  fail_unless (g_file_set_contents (path, "\n", -1, NULL));
  fail_if (swarm_secret_lookup (NULL, path, &secret, &error));
  fail_unless (secret == NULL);
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_INVALID));
  fail_unless (strstr (error->message, path) != NULL, "%s", error->message);
  g_clear_error (&error);
  fail_unless (g_file_set_contents (path, "abc\0" STRONG, 4 + 32, NULL));
  fail_if (swarm_secret_lookup (NULL, path, &secret, &error));
  fail_if (strstr (error->message, STRONG), "%s", error->message);
  g_clear_error (&error);
  g_unlink (path);
  fail_if (swarm_secret_lookup (NULL, path, &secret, &error));
  fail_unless (g_error_matches (error, SWARM_SECRET_ERROR,
          SWARM_SECRET_ERROR_INVALID));
  g_clear_error (&error);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_hello_proof)
{
  SwarmSecret *a = secret_new (STRONG, 1), *b = secret_new (STRONG, 1);
  SwarmSecret *wrong = secret_new (STRONG_OTHER, 1);
  guint8 exported[SWARM_SECRET_EXPORTER_LEN], other[SWARM_SECRET_EXPORTER_LEN];
  guint8 proof[SWARM_SECRET_PROOF_LEN];
  const gchar *id = "-GP0100-abcdefghijkl", *id2 = "-GP0100-abcdefghijkm";

  memset (exported, 7, sizeof exported);
  memset (other, 7, sizeof other);
  other[31] ^= 1;
  swarm_secret_hello_proof (a, exported, id, 20, proof);
  fail_unless (swarm_secret_check_hello_proof (b, exported, id, 20, proof));
  /* another session, another sender, another secret: refused */
  fail_if (swarm_secret_check_hello_proof (b, other, id, 20, proof));
  fail_if (swarm_secret_check_hello_proof (b, exported, id2, 20, proof));
  fail_if (swarm_secret_check_hello_proof (wrong, exported, id, 20, proof));
  proof[0] ^= 0x80;
  fail_if (swarm_secret_check_hello_proof (b, exported, id, 20, proof));

  swarm_secret_free (a);
  swarm_secret_free (b);
  swarm_secret_free (wrong);
}

GST_END_TEST;

GST_START_TEST (test_clear_string)
{
  gchar *text = g_strdup ("hunter2");

  swarm_secret_clear_string (&text);
  fail_unless (text == NULL);
  swarm_secret_clear_string (&text);
}

GST_END_TEST;

static Suite *
secret_suite (void)
{
  Suite *s = suite_create ("secret");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_seal_round_trip);
  tcase_add_test (tc, test_wrong_secret_or_swarm);
  tcase_add_test (tc, test_tampering_detected);
  tcase_add_test (tc, test_malformed_sealed);
  tcase_add_test (tc, test_invalid_secrets);
  tcase_add_test (tc, test_weak_secrets_refused);
  tcase_add_test (tc, test_rendezvous_info_hash);
  tcase_add_test (tc, test_lookup);
  tcase_add_test (tc, test_hello_proof);
  tcase_add_test (tc, test_clear_string);
  return s;
}

GST_CHECK_MAIN (secret);

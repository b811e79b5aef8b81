/* Private-swarm keys: sealed descriptions open only with the same secret in
 * the same swarm, hide what they carry and resist tampering; HELLO proofs
 * are bound to the session, the sender and the secret.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <string.h>
#include <swarm/swarm.h>

#define DESCRIPTION \
  "v=0\r\nm=application 0 ICE/SDP\r\nc=IN IP4 192.0.2.7\r\n" \
  "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n" \
  "a=candidate:1 1 UDP 2013266431 192.0.2.7 40000 typ host\r\n" \
  "a=fingerprint:sha-256 AA:BB:CC:DD\r\n"

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
  SwarmSecret *a = secret_new ("hunter2", 1), *b = secret_new ("hunter2", 1);
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
  SwarmSecret *a = secret_new ("hunter2", 1);
  SwarmSecret *other_secret = secret_new ("hunter3", 1);
  SwarmSecret *other_swarm = secret_new ("hunter2", 2);
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
  SwarmSecret *a = secret_new ("hunter2", 1);
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
  SwarmSecret *a = secret_new ("hunter2", 1);
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

GST_START_TEST (test_hello_proof)
{
  SwarmSecret *a = secret_new ("hunter2", 1), *b = secret_new ("hunter2", 1);
  SwarmSecret *wrong = secret_new ("hunter3", 1);
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
  tcase_add_test (tc, test_hello_proof);
  tcase_add_test (tc, test_clear_string);
  return s;
}

GST_CHECK_MAIN (secret);

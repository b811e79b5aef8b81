/* Two SwarmDtls endpoints wired back to back through an in-memory
 * datagram transport that can drop, replay and corrupt records.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <gnutls/gnutls.h>
#include <swarm/swarm-internal.h>

/* Generous: a loaded 2-core CI machine, and retransmissions back off. */
#define DEADLINE_US (20 * G_TIME_SPAN_SECOND)

typedef struct _Endpoint Endpoint;

struct _Endpoint
{
  const gchar *name;
  SwarmDtls *dtls;
  SwarmDtlsCredentials *creds;
  Endpoint *peer;
  GQueue inbox;                 /* GBytes, records sent to us */

  guint64 drop_mask;            /* bit n: the "network" loses our record n */
  guint records_sent;
  GPtrArray *sent_log;          /* GBytes, every record we sent */

  gboolean established;
  guint n_established;
  GError *error;
  guint n_failed;
  GPtrArray *received;          /* GBytes */
  gboolean free_on_receive;
};

static gboolean
ep_send (const guint8 * data, gsize len, gpointer user_data)
{
  Endpoint *ep = user_data;

  g_ptr_array_add (ep->sent_log, g_bytes_new (data, len));
  if (ep->records_sent < 64 && (ep->drop_mask & (G_GUINT64_CONSTANT (1) <<
              ep->records_sent))) {
    ep->records_sent++;
    return TRUE;
  }
  ep->records_sent++;
  g_queue_push_tail (&ep->peer->inbox, g_bytes_new (data, len));
  return TRUE;
}

static void
ep_established (gpointer user_data)
{
  Endpoint *ep = user_data;

  ep->established = TRUE;
  ep->n_established++;
}

static void
ep_received (const guint8 * data, gsize len, gpointer user_data)
{
  Endpoint *ep = user_data;

  g_ptr_array_add (ep->received, g_bytes_new (data, len));
  if (ep->free_on_receive) {
    swarm_dtls_free (ep->dtls);
    ep->dtls = NULL;
  }
}

static void
ep_failed (const GError * error, gpointer user_data)
{
  Endpoint *ep = user_data;

  ep->n_failed++;
  g_clear_error (&ep->error);
  ep->error = g_error_copy (error);
}

static const SwarmDtlsCallbacks ep_callbacks = {
  ep_send, ep_established, ep_received, ep_failed
};

typedef struct
{
  GMainContext *context;
  Endpoint client;
  Endpoint server;
} Pair;

static void
ep_init (Endpoint * ep, const gchar * name, Endpoint * peer)
{
  GError *error = NULL;

  memset (ep, 0, sizeof (*ep));
  ep->name = name;
  ep->peer = peer;
  g_queue_init (&ep->inbox);
  ep->sent_log = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  ep->received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  ep->creds = swarm_dtls_credentials_new (&error);
  fail_unless (ep->creds != NULL, "credentials: %s",
      error ? error->message : "?");
}

static void
ep_clear (Endpoint * ep)
{
  if (ep->dtls)
    swarm_dtls_free (ep->dtls);
  g_queue_clear_full (&ep->inbox, (GDestroyNotify) g_bytes_unref);
  g_ptr_array_unref (ep->sent_log);
  g_ptr_array_unref (ep->received);
  g_clear_error (&ep->error);
  swarm_dtls_credentials_unref (ep->creds);
}

/* @client_expects / @server_expects: fingerprints each side is told,
 * NULL for the right one. */
static void
pair_init (Pair * p, const gchar * client_expects, const gchar * server_expects)
{
  p->context = g_main_context_new ();
  ep_init (&p->client, "client", &p->server);
  ep_init (&p->server, "server", &p->client);

  p->client.dtls = swarm_dtls_new (p->context, TRUE, p->client.creds,
      client_expects ? client_expects :
      swarm_dtls_credentials_get_fingerprint (p->server.creds),
      &ep_callbacks, &p->client);
  p->server.dtls = swarm_dtls_new (p->context, FALSE, p->server.creds,
      server_expects ? server_expects :
      swarm_dtls_credentials_get_fingerprint (p->client.creds),
      &ep_callbacks, &p->server);
  fail_unless (p->client.dtls != NULL);
  fail_unless (p->server.dtls != NULL);
}

static void
pair_clear (Pair * p)
{
  /* both sessions first: each one's close_notify lands in the other's inbox */
  g_clear_pointer (&p->client.dtls, swarm_dtls_free);
  g_clear_pointer (&p->server.dtls, swarm_dtls_free);
  ep_clear (&p->client);
  ep_clear (&p->server);
  while (g_main_context_iteration (p->context, FALSE));
  g_main_context_unref (p->context);
}

static gboolean
deliver_one (Endpoint * ep)
{
  GBytes *b = g_queue_pop_head (&ep->inbox);
  gsize len;
  const guint8 *data;

  if (b == NULL)
    return FALSE;
  data = g_bytes_get_data (b, &len);
  if (ep->dtls)
    swarm_dtls_receive (ep->dtls, data, len);
  g_bytes_unref (b);
  return TRUE;
}

typedef gboolean (*PairCondition) (Pair * p);

/* Runs the fake network and the context until @cond holds or the deadline
 * passes; returns the condition. */
static gboolean
pair_run (Pair * p, PairCondition cond)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  while (!cond (p)) {
    gboolean busy;

    if (g_get_monotonic_time () > deadline)
      return FALSE;
    busy = deliver_one (&p->client);
    busy |= deliver_one (&p->server);
    busy |= g_main_context_iteration (p->context, FALSE);
    if (!busy)
      g_usleep (1000);
  }
  return TRUE;
}

static gboolean
both_established (Pair * p)
{
  return p->client.established && p->server.established;
}

static gboolean
both_failed (Pair * p)
{
  return p->client.n_failed > 0 && p->server.n_failed > 0;
}

static gboolean
inboxes_empty (Pair * p)
{
  return g_queue_is_empty (&p->client.inbox) &&
      g_queue_is_empty (&p->server.inbox);
}

static void
fill_pattern (guint8 * buf, gsize len, guint seed)
{
  gsize i;

  for (i = 0; i < len; i++)
    buf[i] = (guint8) (seed * 31 + i * 7 + (i >> 8));
}

static void
assert_received (Endpoint * ep, guint index, gsize len, guint seed)
{
  guint8 expected[1200];
  GBytes *b;

  fail_unless (index < ep->received->len, "%s has %u datagrams, wanted #%u",
      ep->name, ep->received->len, index);
  b = g_ptr_array_index (ep->received, index);
  fill_pattern (expected, len, seed);
  fail_unless_equals_int (g_bytes_get_size (b), len);
  fail_unless (memcmp (g_bytes_get_data (b, NULL), expected, len) == 0,
      "%s datagram #%u differs", ep->name, index);
}

GST_START_TEST (test_credentials)
{
  SwarmDtlsCredentials *a, *b;
  const gchar *fp;
  guint i;

  a = swarm_dtls_credentials_new (NULL);
  b = swarm_dtls_credentials_new (NULL);
  fail_unless (a != NULL && b != NULL);
  fp = swarm_dtls_credentials_get_fingerprint (a);
  /* 32 bytes as "AA:" * 31 + "AA" */
  fail_unless_equals_int (strlen (fp), 95);
  for (i = 0; i < 95; i++) {
    if (i % 3 == 2)
      fail_unless (fp[i] == ':', "%s", fp);
    else
      fail_unless (g_ascii_isxdigit (fp[i]) && !g_ascii_islower (fp[i]),
          "%s", fp);
  }
  fail_if (g_str_equal (fp, swarm_dtls_credentials_get_fingerprint (b)));
  fail_unless (swarm_dtls_credentials_ref (a) == a);
  swarm_dtls_credentials_unref (a);
  swarm_dtls_credentials_unref (a);
  swarm_dtls_credentials_unref (b);
}

GST_END_TEST;

static void
exchange_datagrams (Pair * p)
{
  static const gsize sizes[] = { 1, 2, 17, 100, 512, 1000, 1199, 1200 };
  guint8 buf[1200];
  guint i;

  g_ptr_array_set_size (p->client.received, 0);
  g_ptr_array_set_size (p->server.received, 0);
  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    fill_pattern (buf, sizes[i], i);
    fail_unless (swarm_dtls_send (p->client.dtls, buf, sizes[i]));
    fill_pattern (buf, sizes[i], 100 + i);
    fail_unless (swarm_dtls_send (p->server.dtls, buf, sizes[i]));
  }
  fail_unless (pair_run (p, inboxes_empty));
  fail_unless_equals_int (p->server.received->len, G_N_ELEMENTS (sizes));
  fail_unless_equals_int (p->client.received->len, G_N_ELEMENTS (sizes));
  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    assert_received (&p->server, i, sizes[i], i);
    assert_received (&p->client, i, sizes[i], 100 + i);
  }
}

GST_START_TEST (test_handshake_and_data)
{
  Pair p;
  guint8 buf[1200] = { 0 };
  guint64 t0;

  pair_init (&p, NULL, NULL);
  fail_if (swarm_dtls_is_established (p.client.dtls));
  fail_if (swarm_dtls_send (p.client.dtls, buf, 10));

  t0 = g_get_monotonic_time ();
  swarm_dtls_start (p.server.dtls);
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established), "handshake did not finish");
  GST_INFO ("in-memory handshake took %" G_GUINT64_FORMAT " us",
      g_get_monotonic_time () - t0);

  fail_unless (swarm_dtls_is_established (p.client.dtls));
  fail_unless (swarm_dtls_is_established (p.server.dtls));
  fail_unless_equals_int (p.client.n_established, 1);
  fail_unless_equals_int (p.server.n_established, 1);
  fail_unless_equals_int (p.client.n_failed, 0);
  fail_unless_equals_int (p.server.n_failed, 0);

  /* Both ends agree on what the priority string puts first. */
  {
    gchar *client_desc = swarm_dtls_get_description (p.client.dtls);
    gchar *server_desc = swarm_dtls_get_description (p.server.dtls);

    fail_unless_equals_string (client_desc, server_desc);
    fail_unless_equals_string (client_desc,
        "(DTLS1.2)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)");
    g_free (client_desc);
    g_free (server_desc);
  }

  exchange_datagrams (&p);

  /* Every 1200-byte datagram travels in one record that fits the link. */
  {
    GBytes *last = g_ptr_array_index (p.client.sent_log,
        p.client.sent_log->len - 1);
    fail_unless (g_bytes_get_size (last) > 1200);
    fail_unless (g_bytes_get_size (last) <= 1200 + 64);
  }

  /* Nothing more happens by itself: no stray timers failing the link. */
  g_usleep (50 * 1000);
  while (g_main_context_iteration (p.context, FALSE));
  fail_unless_equals_int (p.client.n_failed, 0);
  fail_unless_equals_int (p.server.n_failed, 0);

  pair_clear (&p);
}

GST_END_TEST;

/* The priority string offers nothing a link can never use: both ends
 * hold an ECDSA P-256 certificate and speak DTLS 1.2 with AEAD ciphers. */
GST_START_TEST (test_priority_only_usable)
{
  gnutls_priority_t prio;
  const gchar *err_pos = NULL;
  const guint *list;
  guint n_suites = 0, idx;
  gint n, i, ret;

  ret = gnutls_priority_init2 (&prio, swarm_dtls_get_priority (), &err_pos, 0);
  fail_unless (ret >= 0, "priority rejected at %s", GST_STR_NULL (err_pos));

  for (i = 0;; i++) {
    guint8 id[2];
    gnutls_kx_algorithm_t kx;
    gnutls_cipher_algorithm_t cipher;
    gnutls_mac_algorithm_t mac;
    gnutls_protocol_t min_version;
    const gchar *name;

    ret = gnutls_priority_get_cipher_suite_index (prio, i, &idx);
    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
      break;
    if (ret < 0)
      continue;
    name = gnutls_cipher_suite_info (idx, id, &kx, &cipher, &mac,
        &min_version);
    /* an ECDSA key only authenticates ECDHE-ECDSA */
    fail_unless (kx == GNUTLS_KX_ECDHE_ECDSA, "suite %s", name);
    fail_unless (mac == GNUTLS_MAC_AEAD, "suite %s", name);
    fail_unless (min_version <= GNUTLS_DTLS1_2, "suite %s", name);
    n_suites++;
  }
  fail_unless (n_suites > 0);

  n = gnutls_priority_kx_list (prio, &list);
  fail_unless (n > 0);
  for (i = 0; i < n; i++)
    fail_unless (list[i] == GNUTLS_KX_ECDHE_ECDSA, "kx %s",
        gnutls_kx_get_name (list[i]));
  n = gnutls_priority_sign_list (prio, &list);
  fail_unless (n > 0);
  for (i = 0; i < n; i++) {
    fail_unless (gnutls_sign_get_pk_algorithm (list[i]) == GNUTLS_PK_ECDSA,
        "signature %s", gnutls_sign_get_name (list[i]));
    fail_unless (gnutls_sign_is_secure2 (list[i], 0), "signature %s",
        gnutls_sign_get_name (list[i]));
  }
  /* ECDHE groups only: finite-field groups serve DHE, which we never use */
  n = gnutls_priority_group_list (prio, &list);
  fail_unless (n > 0);
  for (i = 0; i < n; i++)
    fail_unless (gnutls_ecc_curve_get_id (gnutls_group_get_name (list[i])) !=
        GNUTLS_ECC_CURVE_INVALID, "group %s", gnutls_group_get_name (list[i]));
  n = gnutls_priority_protocol_list (prio, &list);
  fail_unless_equals_int (n, 1);
  fail_unless_equals_int (list[0], GNUTLS_DTLS1_2);
  n = gnutls_priority_mac_list (prio, &list);
  fail_unless_equals_int (n, 1);
  fail_unless_equals_int (list[0], GNUTLS_MAC_AEAD);
  n = gnutls_priority_certificate_type_list2 (prio, &list,
      GNUTLS_CTYPE_CLIENT);
  for (i = 0; i < n; i++)
    fail_unless_equals_int (list[i], GNUTLS_CRT_X509);

  gnutls_priority_deinit (prio);
}

GST_END_TEST;

static void
check_mismatch (gboolean client_wrong)
{
  Pair p;
  const gchar *bogus =
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

  pair_init (&p, client_wrong ? bogus : NULL, client_wrong ? NULL : bogus);
  swarm_dtls_start (p.server.dtls);
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_failed), "mismatch not detected on both");

  fail_if (p.client.established && p.server.established);
  fail_unless_equals_int (p.client.n_failed, 1);
  fail_unless_equals_int (p.server.n_failed, 1);
  fail_unless (g_error_matches (p.client.error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_DTLS), "%s", p.client.error->message);
  fail_unless (g_error_matches (p.server.error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_DTLS), "%s", p.server.error->message);
  /* The side that checked says why, in words. */
  fail_unless (strstr ((client_wrong ? p.client : p.server).error->message,
          "fingerprint") != NULL);
  fail_if (swarm_dtls_is_established (p.client.dtls));
  fail_if (swarm_dtls_is_established (p.server.dtls));

  /* Failed sessions ignore further input and refuse to send. */
  swarm_dtls_receive (p.client.dtls, (const guint8 *) "x", 1);
  fail_if (swarm_dtls_send (p.client.dtls, (const guint8 *) "x", 1));
  fail_unless_equals_int (p.client.n_failed, 1);

  pair_clear (&p);
}

GST_START_TEST (test_fingerprint_mismatch_client)
{
  check_mismatch (TRUE);
}

GST_END_TEST;

GST_START_TEST (test_fingerprint_mismatch_server)
{
  check_mismatch (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_fingerprint_case_insensitive)
{
  Pair p;
  gchar *lower;

  /* Build the pair, then replace the client with one told the server's
   * fingerprint in lower case. */
  pair_init (&p, NULL, NULL);
  lower = g_ascii_strdown (swarm_dtls_credentials_get_fingerprint
      (p.server.creds), -1);
  swarm_dtls_free (p.client.dtls);
  p.client.dtls = swarm_dtls_new (p.context, TRUE, p.client.creds, lower,
      &ep_callbacks, &p.client);
  g_free (lower);

  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established));
  pair_clear (&p);
}

GST_END_TEST;

GST_START_TEST (test_garbage_and_replay)
{
  Pair p;
  guint8 junk[1500];
  guint8 buf[1200];
  guint i, n_before;
  GBytes *record;

  pair_init (&p, NULL, NULL);

  /* Garbage before any handshake. */
  for (i = 0; i < 50; i++) {
    gsize len = 1 + g_random_int_range (0, sizeof (junk));
    guint j;

    for (j = 0; j < len; j++)
      junk[j] = g_random_int ();
    swarm_dtls_receive (p.server.dtls, junk, len);
  }

  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established));

  fill_pattern (buf, 1200, 7);
  fail_unless (swarm_dtls_send (p.client.dtls, buf, 1200));
  record = g_bytes_ref (g_ptr_array_index (p.client.sent_log,
          p.client.sent_log->len - 1));
  fail_unless (pair_run (&p, inboxes_empty));
  fail_unless_equals_int (p.server.received->len, 1);
  assert_received (&p.server, 0, 1200, 7);

  /* A replayed record is dropped by the anti-replay window. */
  n_before = p.server.received->len;
  for (i = 0; i < 5; i++)
    swarm_dtls_receive (p.server.dtls, g_bytes_get_data (record, NULL),
        g_bytes_get_size (record));
  fail_unless_equals_int (p.server.received->len, n_before);

  /* Corrupted copies, truncated copies, random bytes, DTLS-looking
   * headers with nonsense bodies: all dropped, nothing delivered. */
  for (i = 0; i < 500; i++) {
    gsize len = g_bytes_get_size (record);
    guint j;

    memcpy (junk, g_bytes_get_data (record, NULL), len);
    switch (i % 4) {
      case 0:
        junk[13 + g_random_int_range (0, len - 13)] ^= 1 + (i & 0x7f);
        break;
      case 1:
        len = g_random_int_range (1, len);
        break;
      case 2:
        for (j = 0; j < len; j++)
          junk[j] = g_random_int ();
        break;
      default:
        /* plausible header, new epoch/sequence, random body */
        junk[3] = g_random_int ();
        junk[10] = g_random_int ();
        for (j = 13; j < len; j++)
          junk[j] = g_random_int ();
        break;
    }
    swarm_dtls_receive (p.server.dtls, junk, len);
  }
  swarm_dtls_receive (p.server.dtls, junk, 0);
  fail_unless_equals_int (p.server.received->len, n_before);
  fail_unless_equals_int (p.server.n_failed, 0);
  g_bytes_unref (record);

  /* And the link still works afterwards. */
  exchange_datagrams (&p);
  pair_clear (&p);
}

GST_END_TEST;

/* A datagram whose last record is cut short (a truncating middlebox, or a
 * stranger's forgery) loses that record only: GnuTLS on its own read the
 * next datagrams as the rest of it, and every record after one such
 * datagram was lost. */
GST_START_TEST (test_truncated_record)
{
  Pair p;
  guint8 buf[1200];
  guint8 two[2 * 1300];
  gsize cut, first_len, second_len;
  GBytes *first, *second;

  pair_init (&p, NULL, NULL);
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established));

  for (cut = 1; cut < 1200; cut += 97) {
    fill_pattern (buf, 1200, cut);
    fail_unless (swarm_dtls_send (p.client.dtls, buf, 1200));
    first = g_queue_pop_tail (&p.server.inbox);
    fail_unless (first != NULL);
    swarm_dtls_receive (p.server.dtls, g_bytes_get_data (first, NULL), cut);
    g_bytes_unref (first);
    exchange_datagrams (&p);
  }

  /* Two records in one datagram, the second cut short: the first one
   * arrives. */
  fill_pattern (buf, 300, 1);
  fail_unless (swarm_dtls_send (p.client.dtls, buf, 300));
  fill_pattern (buf, 400, 2);
  fail_unless (swarm_dtls_send (p.client.dtls, buf, 400));
  second = g_queue_pop_tail (&p.server.inbox);
  first = g_queue_pop_tail (&p.server.inbox);
  first_len = g_bytes_get_size (first);
  second_len = g_bytes_get_size (second);
  memcpy (two, g_bytes_get_data (first, NULL), first_len);
  memcpy (two + first_len, g_bytes_get_data (second, NULL), second_len);
  g_ptr_array_set_size (p.server.received, 0);
  swarm_dtls_receive (p.server.dtls, two, first_len + second_len / 2);
  fail_unless_equals_int (p.server.received->len, 1);
  assert_received (&p.server, 0, 300, 1);
  g_bytes_unref (first);
  g_bytes_unref (second);

  exchange_datagrams (&p);
  fail_unless_equals_int (p.server.n_failed, 0);
  fail_unless_equals_int (p.client.n_failed, 0);
  pair_clear (&p);
}

GST_END_TEST;

static void
check_dropped_records (guint64 client_mask, guint64 server_mask)
{
  Pair p;
  gint64 t0;

  pair_init (&p, NULL, NULL);
  p.client.drop_mask = client_mask;
  p.server.drop_mask = server_mask;

  t0 = g_get_monotonic_time ();
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established),
      "handshake not completed despite retransmission");
  GST_INFO ("handshake with records %" G_GINT64_MODIFIER "x/%"
      G_GINT64_MODIFIER "x lost took %" G_GINT64_FORMAT " ms", client_mask,
      server_mask, (g_get_monotonic_time () - t0) / 1000);
  /* Something was lost, so something was sent again. */
  fail_unless (p.client.records_sent + p.server.records_sent >
      (guint) g_bit_nth_msf (client_mask | server_mask, -1) + 1);
  exchange_datagrams (&p);
  pair_clear (&p);
}

/* Record numbering in a full DTLS 1.2 handshake with a cookie exchange:
 * client 0 ClientHello, 1 ClientHello + cookie, 2..6 Certificate,
 * ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished;
 * server 0 HelloVerifyRequest, then its certificate flight, then
 * ChangeCipherSpec + Finished. */

GST_START_TEST (test_dropped_client_hello)
{
  /* ClientHello lost, then its first retransmission too. */
  check_dropped_records (0x3, 0);
}

GST_END_TEST;

GST_START_TEST (test_dropped_server_flight)
{
  /* HelloVerifyRequest and part of the certificate flight lost. */
  check_dropped_records (0, 0x5);
}

GST_END_TEST;

GST_START_TEST (test_dropped_client_final_flight)
{
  check_dropped_records (0x7c, 0);
}

GST_END_TEST;

GST_START_TEST (test_dropped_server_final_flight)
{
  /* The server is done when it sends its last flight; when that is lost
   * the client's retransmission must make the server resend it. */
  Pair p;
  guint server_records;

  /* Count the server's records in a clean handshake first. */
  pair_init (&p, NULL, NULL);
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established));
  server_records = p.server.records_sent;
  pair_clear (&p);
  fail_unless (server_records >= 3 && server_records < 60);

  /* The last two are ChangeCipherSpec and Finished. */
  check_dropped_records (0, G_GUINT64_CONSTANT (3) << (server_records - 2));
}

GST_END_TEST;

static gboolean
server_failed (Pair * p)
{
  return p->server.n_failed > 0;
}

GST_START_TEST (test_close_notify)
{
  Pair p;

  pair_init (&p, NULL, NULL);
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established));

  swarm_dtls_free (p.client.dtls);
  p.client.dtls = NULL;
  fail_unless (pair_run (&p, server_failed));
  fail_unless (g_error_matches (p.server.error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_CLOSED), "%s", p.server.error->message);
  fail_unless_equals_int (p.server.n_failed, 1);
  pair_clear (&p);
}

GST_END_TEST;

static gboolean
server_got_one (Pair * p)
{
  return p->server.received->len > 0;
}

GST_START_TEST (test_free_in_callback)
{
  Pair p;
  guint8 buf[100];

  pair_init (&p, NULL, NULL);
  swarm_dtls_start (p.client.dtls);
  fail_unless (pair_run (&p, both_established));

  /* Two records in flight; the server frees itself on the first. */
  p.server.free_on_receive = TRUE;
  fill_pattern (buf, sizeof (buf), 1);
  fail_unless (swarm_dtls_send (p.client.dtls, buf, sizeof (buf)));
  fail_unless (swarm_dtls_send (p.client.dtls, buf, sizeof (buf)));
  fail_unless (pair_run (&p, server_got_one));
  fail_unless (pair_run (&p, inboxes_empty));
  fail_unless_equals_int (p.server.received->len, 1);
  fail_unless (p.server.dtls == NULL);
  pair_clear (&p);
}

GST_END_TEST;

GST_START_TEST (test_free_during_handshake)
{
  Pair p;

  /* Freed with a retransmit timer pending: the timer must not fire. */
  pair_init (&p, NULL, NULL);
  p.client.drop_mask = G_MAXUINT64;
  swarm_dtls_start (p.client.dtls);
  while (g_main_context_iteration (p.context, FALSE));
  swarm_dtls_free (p.client.dtls);
  p.client.dtls = NULL;
  g_usleep (500 * 1000);
  while (g_main_context_iteration (p.context, FALSE));
  fail_unless_equals_int (p.client.n_failed, 0);
  pair_clear (&p);
}

GST_END_TEST;

static Suite *
dtls_suite (void)
{
  Suite *s = suite_create ("swarm-dtls");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_credentials);
  tcase_add_test (tc, test_handshake_and_data);
  tcase_add_test (tc, test_priority_only_usable);
  tcase_add_test (tc, test_fingerprint_mismatch_client);
  tcase_add_test (tc, test_fingerprint_mismatch_server);
  tcase_add_test (tc, test_fingerprint_case_insensitive);
  tcase_add_test (tc, test_garbage_and_replay);
  tcase_add_test (tc, test_truncated_record);
  tcase_add_test (tc, test_dropped_client_hello);
  tcase_add_test (tc, test_dropped_server_flight);
  tcase_add_test (tc, test_dropped_client_final_flight);
  tcase_add_test (tc, test_dropped_server_final_flight);
  tcase_add_test (tc, test_close_notify);
  tcase_add_test (tc, test_free_in_callback);
  tcase_add_test (tc, test_free_during_handshake);
  return s;
}

GST_CHECK_MAIN (dtls);

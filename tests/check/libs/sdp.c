/* Tests for the peer's connection description (swarm-sdp.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-sdp.h>

#define FP "8D:2E:74:BC:43:C0:73:C4:23:F9:4B:94:AF:D8:F3:31:" \
  "BA:33:8C:00:09:D8:48:8A:3C:71:C7:FB:49:11:58:FE"

/* As libnice 0.1.21 writes it (captured from the link test). */
#define ICE \
  "m=application 37696 ICE/SDP\n" \
  "c=IN IP4 192.0.2.2\n" \
  "a=ice-ufrag:qwFg\n" \
  "a=ice-pwd:EycNyJkgnT2D7yZTzbTdDn\n" \
  "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\n" \
  "a=candidate:2 1 UDP 2015363583 fd00::2 45451 typ host\n" \
  "a=candidate:3 1 UDP 2015363839 fe80::fc:ff:fe00:1 48599 typ host\n"
#define FP_LINE "a=fingerprint:sha-256 " FP "\n"

static GMainContext *context;
static NiceAgent *agent;

static void
setup (void)
{
  context = g_main_context_new ();
  agent = nice_agent_new (context, NICE_COMPATIBILITY_RFC5245);
}

static void
teardown (void)
{
  g_clear_object (&agent);
  while (g_main_context_iteration (context, FALSE));
  g_clear_pointer (&context, g_main_context_unref);
}

static SwarmSdp *
parse_ok (const gchar * text)
{
  GError *err = NULL;
  SwarmSdp *sdp = swarm_sdp_parse (agent, text, -1, &err);

  fail_unless (sdp != NULL, "%s: %s", text, err ? err->message : "");
  fail_unless (err == NULL);
  return sdp;
}

static void
parse_fails_len (const gchar * text, gssize len, gint code,
    const gchar * message)
{
  GError *err = NULL;
  SwarmSdp *sdp = swarm_sdp_parse (agent, text, len, &err);

  fail_unless (sdp == NULL, "accepted %s", text);
  fail_unless (g_error_matches (err, SWARM_SDP_ERROR, code),
      "%s: expected code %d, got %s", text, code, err ? err->message : "-");
  fail_unless_equals_string (err->message, message);
  g_error_free (err);
}

static void
parse_fails (const gchar * text, gint code, const gchar * message)
{
  parse_fails_len (text, -1, code, message);
}

GST_START_TEST (test_libnice_description)
{
  SwarmSdp *sdp = parse_ok (ICE FP_LINE);

  fail_unless_equals_string (sdp->ice, ICE);
  fail_unless_equals_string (sdp->fingerprint, FP);
  fail_unless_equals_int (sdp->n_candidates, 3);
  swarm_sdp_free (sdp);
}

GST_END_TEST;

/* What the parser lets through is what an agent with one stream takes. */
GST_START_TEST (test_output_applies)
{
  SwarmSdp *sdp = parse_ok (ICE FP_LINE);
  guint stream = nice_agent_add_stream (agent, 1);
  GSList *remote;

  fail_unless (stream > 0);
  fail_unless_equals_int (nice_agent_parse_remote_sdp (agent, sdp->ice), 3);
  remote = nice_agent_get_remote_candidates (agent, stream, 1);
  fail_unless_equals_int (g_slist_length (remote), 3);
  g_slist_free_full (remote, (GDestroyNotify) nice_candidate_free);
  nice_agent_remove_stream (agent, stream);
  swarm_sdp_free (sdp);
}

GST_END_TEST;

GST_START_TEST (test_write_round_trip)
{
  /* With and without the final newline of libnice's text. */
  gchar *cut = g_strndup (ICE, strlen (ICE) - 1);
  gchar *full = swarm_sdp_write (ICE, FP);
  gchar *joined = swarm_sdp_write (cut, FP);
  SwarmSdp *sdp;

  fail_unless_equals_string (full, ICE FP_LINE);
  fail_unless_equals_string (joined, ICE FP_LINE);
  sdp = parse_ok (full);
  fail_unless_equals_string (sdp->fingerprint, FP);
  swarm_sdp_free (sdp);
  g_free (cut);
  g_free (full);
  g_free (joined);
}

GST_END_TEST;

GST_START_TEST (test_accepted_variants)
{
  SwarmSdp *sdp;

  /* CRLF line ends, fingerprint first, lower case, algorithm in capitals. */
  sdp = parse_ok ("a=fingerprint:SHA-256 8d:2e:74:bc:43:c0:73:c4:23:f9:4b:"
      "94:af:d8:f3:31:ba:33:8c:00:09:d8:48:8a:3c:71:c7:fb:49:11:58:fe\r\n"
      "m=application 9 ICE/SDP\r\n"
      "a=ice-ufrag:u\r\n" "a=ice-pwd:p\r\n"
      "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\r\n");
  fail_unless_equals_string (sdp->fingerprint, FP);
  fail_unless_equals_string (sdp->ice, "m=application 9 ICE/SDP\n"
      "a=ice-ufrag:u\n" "a=ice-pwd:p\n"
      "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\n");
  swarm_sdp_free (sdp);

  /* Server-reflexive and relayed candidates, IPv6, blank lines, no
   * final newline. */
  sdp = parse_ok ("m=application 50000 ICE/SDP\n\n"
      "c=IN IP6 2001:db8::7\n"
      "a=ice-ufrag:abcd\n" "a=ice-pwd:0123456789abcdefghijkl\n"
      "a=candidate:1 1 UDP 2015363327 2001:db8::7 50000 typ host\n"
      "a=candidate:2 1 UDP 1677721855 203.0.113.7 50001 typ srflx "
      "raddr 192.0.2.2 rport 50000\n"
      "a=candidate:3 1 UDP 16777215 198.51.100.9 49152 typ relay "
      "raddr 203.0.113.7 rport 50001\n" FP_LINE "\n");
  fail_unless_equals_int (sdp->n_candidates, 3);
  swarm_sdp_free (sdp);

  sdp = parse_ok (ICE "a=fingerprint:sha-256 " FP);
  swarm_sdp_free (sdp);
}

GST_END_TEST;

GST_START_TEST (test_bad_fingerprint)
{
  parse_fails (ICE, SWARM_SDP_ERROR_FINGERPRINT, "no fingerprint");
  parse_fails (ICE FP_LINE FP_LINE, SWARM_SDP_ERROR_FINGERPRINT,
      "bad fingerprint");
  parse_fails (ICE "a=fingerprint:sha-1 " FP "\n",
      SWARM_SDP_ERROR_FINGERPRINT, "bad fingerprint");
  parse_fails (ICE "a=fingerprint:sha-256 " FP ":00\n",
      SWARM_SDP_ERROR_FINGERPRINT, "bad fingerprint");
  parse_fails (ICE "a=fingerprint:sha-256 8D:2E\n",
      SWARM_SDP_ERROR_FINGERPRINT, "bad fingerprint");
  parse_fails (ICE "a=fingerprint:sha-256 " "XD:2E:74:BC:43:C0:73:C4:23:F9:"
      "4B:94:AF:D8:F3:31:BA:33:8C:00:09:D8:48:8A:3C:71:C7:FB:49:11:58:FE\n",
      SWARM_SDP_ERROR_FINGERPRINT, "bad fingerprint");
  parse_fails (ICE "a=fingerprint:sha-256 " "8D-2E:74:BC:43:C0:73:C4:23:F9:"
      "4B:94:AF:D8:F3:31:BA:33:8C:00:09:D8:48:8A:3C:71:C7:FB:49:11:58:FE\n",
      SWARM_SDP_ERROR_FINGERPRINT, "bad fingerprint");
  parse_fails (ICE "a=fingerprint:\n", SWARM_SDP_ERROR_FINGERPRINT,
      "bad fingerprint");
}

GST_END_TEST;

GST_START_TEST (test_bad_media)
{
  parse_fails ("a=ice-ufrag:u\n" "a=ice-pwd:p\n" FP_LINE,
      SWARM_SDP_ERROR_MEDIA, "not exactly one media section");
  /* libnice aborts on a second media line for a one-stream agent. */
  parse_fails (ICE "m=application 9 ICE/SDP\n" FP_LINE,
      SWARM_SDP_ERROR_MEDIA, "not exactly one media section");
  /* A candidate before any media line belongs to no stream. */
  parse_fails ("a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\n"
      ICE FP_LINE, SWARM_SDP_ERROR_CANDIDATE, "bad candidate");
}

GST_END_TEST;

GST_START_TEST (test_bad_credentials)
{
  parse_fails ("m=application 9 ICE/SDP\n" "a=ice-pwd:p\n"
      "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\n" FP_LINE,
      SWARM_SDP_ERROR_CREDENTIALS, "no ICE credentials");
  parse_fails ("m=application 9 ICE/SDP\n" "a=ice-ufrag:\n" "a=ice-pwd:p\n"
      "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\n" FP_LINE,
      SWARM_SDP_ERROR_CREDENTIALS, "no ICE credentials");
  parse_fails ("m=application 9 ICE/SDP\n" "a=ice-ufrag:u\n"
      "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ host\n" FP_LINE,
      SWARM_SDP_ERROR_CREDENTIALS, "no ICE credentials");
  /* Stated twice, even with the same value. */
  parse_fails (ICE "a=ice-ufrag:qwFg\n" FP_LINE,
      SWARM_SDP_ERROR_CREDENTIALS, "repeated ICE credentials");
  parse_fails (ICE "a=ice-pwd:EycNyJkgnT2D7yZTzbTdDn\n" FP_LINE,
      SWARM_SDP_ERROR_CREDENTIALS, "repeated ICE credentials");
}

GST_END_TEST;

GST_START_TEST (test_bad_candidates)
{
  static const gchar *bad[] = {
    "a=candidate:1 2 UDP 2015363327 192.0.2.2 37696 typ host",  /* component */
    "a=candidate:1 1 UDP 2015363327 peer.example 37696 typ host",
    "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696 typ foo",
    "a=candidate:1 1 UDP 2015363327 192.0.2.2 37696",
    "a=candidate:1 1 SCTP 2015363327 192.0.2.2 37696 typ host",
    "a=candidate:1 1 UDP 1677721855 203.0.113.7 50001 typ srflx "
        "raddr nowhere rport 50000",
    "a=candidate:",
    /* TCP: our agents have no ICE-TCP, and libnice criticals without a
     * tcptype. */
    "a=candidate:1 1 TCP 1015363327 192.0.2.2 9 typ host",
    "a=candidate:1 1 tcp 1015363327 192.0.2.2 9 typ host tcptype active",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *text = g_strconcat (ICE, bad[i], "\n", FP_LINE, NULL);

    parse_fails (text, SWARM_SDP_ERROR_CANDIDATE, "bad candidate");
    g_free (text);
  }
  parse_fails ("m=application 9 ICE/SDP\n" "a=ice-ufrag:u\n" "a=ice-pwd:p\n"
      FP_LINE, SWARM_SDP_ERROR_CANDIDATE, "no candidates");
}

GST_END_TEST;

GST_START_TEST (test_bounds)
{
  GString *text = g_string_new (ICE FP_LINE);
  guint lines = 8;
  SwarmSdp *sdp;

  /* Exactly the line limit passes, one more line does not. */
  while (lines < SWARM_SDP_MAX_LINES) {
    g_string_append (text, "a=x\n");
    lines++;
  }
  sdp = parse_ok (text->str);
  swarm_sdp_free (sdp);
  g_string_append (text, "a=x");
  parse_fails (text->str, SWARM_SDP_ERROR_TOO_LARGE, "too many lines");

  /* The size limit, with long lines. */
  g_string_assign (text, ICE FP_LINE);
  while (text->len + 1001 <= SWARM_SDP_MAX_SIZE) {
    g_string_append_c (text, 'a');
    g_string_append (text, "=");
    g_string_append_printf (text, "%0998d\n", 0);
  }
  while (text->len < SWARM_SDP_MAX_SIZE)
    g_string_append_c (text, 'x');
  fail_unless_equals_int (text->len, SWARM_SDP_MAX_SIZE);
  sdp = parse_ok (text->str);
  swarm_sdp_free (sdp);
  g_string_append_c (text, 'x');
  parse_fails (text->str, SWARM_SDP_ERROR_TOO_LARGE, "too large");

  /* A NUL byte within the given length. */
  g_string_assign (text, ICE FP_LINE);
  parse_fails_len (text->str, text->len + 1, SWARM_SDP_ERROR_TOO_LARGE,
      "NUL byte");
  /* The length given is the text: a cut description is not read past. */
  parse_fails_len (text->str, strlen (ICE), SWARM_SDP_ERROR_FINGERPRINT,
      "no fingerprint");
  parse_fails ("", SWARM_SDP_ERROR_FINGERPRINT, "no fingerprint");
  g_string_free (text, TRUE);
}

GST_END_TEST;

static Suite *
sdp_suite (void)
{
  Suite *s = suite_create ("sdp");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_libnice_description);
  tcase_add_test (tc, test_output_applies);
  tcase_add_test (tc, test_write_round_trip);
  tcase_add_test (tc, test_accepted_variants);
  tcase_add_test (tc, test_bad_fingerprint);
  tcase_add_test (tc, test_bad_media);
  tcase_add_test (tc, test_bad_credentials);
  tcase_add_test (tc, test_bad_candidates);
  tcase_add_test (tc, test_bounds);
  return s;
}

GST_CHECK_MAIN (sdp);

/* One end of a lab test, started by lab-test.sh inside a lab namespace.
 * A gst-check program (run with CK_FORK=no) so the element-test helpers and
 * their assertions work unchanged; its settings come from the environment.
 *
 * LAB_ROLE=origin: appsrc ! p2psink publishing the known test stream
 *   (p2p-test-util.h) with its tracker on LAB_ADDRESS and LAB_SINK_PROPS.
 *   Prints "LAB-URI <uri>", runs until SIGTERM or SIGINT, then prints a
 *   LAB-PEER line per partner and checks it served someone.
 *
 * LAB_ROLE=viewer: p2psrc uri=LAB_URI LAB_SRC_PROPS ! appsink.  Waits for
 *   LAB_BUFFERS buffers (default 300, 3 s of stream), checks each byte for
 *   byte against the original and the share of segments played on time
 *   (LAB_MIN_CONTINUITY, default 0.95), then waits until its partners match
 *   LAB_EXPECT and prints a LAB-PEER line per partner and a LAB-VIEWER
 *   summary, then "LAB-DONE", and keeps serving its partners until SIGTERM.
 *   LAB_TIMEOUT_S (default 60) bounds each wait.  LAB_MIN_STATS, a
 *   space-separated list of STAT=N, wants each of those p2psrc stats
 *   (unsigned counters) at least N by then.
 *
 * LAB_EXPECT is a space-separated list of ROLE=PATH[:TYPES][?]:
 *   ROLE   origin or viewer: the partners with that role;
 *   PATH   direct (neither end relayed) or relay (either end relayed);
 *   TYPES  the remote candidate types allowed, e.g. srflx|prflx;
 *   ?      no such partner is fine, but one that exists must match.
 * e.g. "origin=direct:host viewer=relay".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../check/elements/p2p-test-util.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal (int sig)
{
  stop_requested = 1;
}

static const gchar *
env_or (const gchar * name, const gchar * fallback)
{
  const gchar *v = g_getenv (name);

  return v && *v ? v : fallback;
}

static guint
env_uint (const gchar * name, guint fallback)
{
  const gchar *v = g_getenv (name);

  return v && *v ? (guint) g_ascii_strtoull (v, NULL, 10) : fallback;
}

static const gchar *
peer_string (const GstStructure * p, const gchar * field)
{
  const gchar *v = gst_structure_get_string (p, field);

  return v ? v : "";
}

static gboolean
peer_is_relayed (const GstStructure * p)
{
  return g_str_equal (peer_string (p, "local-candidate-type"), "relay")
      || g_str_equal (peer_string (p, "remote-candidate-type"), "relay");
}

static void
print_peers (const gchar * who, const GstStructure * stats)
{
  const GValue *list = gst_structure_get_value (stats, "peer-stats");
  guint i, n = list ? gst_value_array_get_size (list) : 0;

  for (i = 0; i < n; i++) {
    const GstStructure *p =
        gst_value_get_structure (gst_value_array_get_value (list, i));
    gint64 ice_ms = -1, connect_ms = -1;
    guint64 in = 0, out = 0;

    gst_structure_get_int64 (p, "ice-ms", &ice_ms);
    gst_structure_get_int64 (p, "connect-ms", &connect_ms);
    gst_structure_get_uint64 (p, "bytes-received", &in);
    gst_structure_get_uint64 (p, "bytes-sent", &out);
    g_print ("LAB-PEER %s role=%s local=%s remote=%s address=%s ice-ms=%"
        G_GINT64_FORMAT " connect-ms=%" G_GINT64_FORMAT " bytes-in=%"
        G_GUINT64_FORMAT " bytes-out=%" G_GUINT64_FORMAT "\n", who,
        peer_string (p, "role"), peer_string (p, "local-candidate-type"),
        peer_string (p, "remote-candidate-type"), peer_string (p, "address"),
        ice_ms, connect_ms, in, out);
  }
}

/* NULL if the partners in @stats satisfy @expect, else why not. */
static gchar *
partners_mismatch (const GstStructure * stats, const gchar * expect)
{
  const GValue *list = gst_structure_get_value (stats, "peer-stats");
  guint n = list ? gst_value_array_get_size (list) : 0;
  gchar **rules = g_strsplit (expect, " ", -1);
  gchar *problem = NULL;
  guint r, i;

  for (r = 0; rules[r] && !problem; r++) {
    gchar *rule = rules[r], *eq, *types;
    gboolean optional, want_relay;
    guint found = 0;

    if (*rule == '\0')
      continue;
    optional = g_str_has_suffix (rule, "?");
    if (optional)
      rule[strlen (rule) - 1] = '\0';
    eq = strchr (rule, '=');
    fail_unless (eq != NULL, "bad LAB_EXPECT rule %s", rule);
    *eq++ = '\0';
    types = strchr (eq, ':');
    if (types)
      *types++ = '\0';
    fail_unless (g_str_equal (eq, "direct") || g_str_equal (eq, "relay"),
        "bad path '%s' in LAB_EXPECT", eq);
    want_relay = g_str_equal (eq, "relay");

    for (i = 0; i < n && !problem; i++) {
      const GstStructure *p =
          gst_value_get_structure (gst_value_array_get_value (list, i));
      const gchar *remote = peer_string (p, "remote-candidate-type");

      if (!g_str_equal (peer_string (p, "role"), rule))
        continue;
      found++;
      if (peer_is_relayed (p) != want_relay)
        problem = g_strdup_printf ("%s partner %s is %s (%s/%s), expected "
            "%s", rule, peer_string (p, "address"),
            peer_is_relayed (p) ? "relayed" : "direct",
            peer_string (p, "local-candidate-type"), remote, eq);
      else if (types) {
        gchar **allowed = g_strsplit (types, "|", -1);

        if (!g_strv_contains ((const gchar * const *) allowed, remote))
          problem = g_strdup_printf ("%s partner %s has remote candidate "
              "type %s, expected %s", rule, peer_string (p, "address"),
              remote, types);
        g_strfreev (allowed);
      }
    }
    if (!problem && found == 0 && !optional)
      problem = g_strdup_printf ("no %s partner", rule);
  }
  g_strfreev (rules);
  return problem;
}

GST_START_TEST (lab_origin)
{
  TestOrigin *o;
  GstStructure *stats;
  guint64 sent = 0;
  struct sigaction sa = { 0 };

  /* Here, not before: check's runner installs its own handlers, which
   * pass SIGTERM on to the whole process group. */
  sa.sa_handler = on_stop_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);

  o = test_origin_start_at (env_or ("LAB_ADDRESS", "127.0.0.1"),
      env_or ("LAB_SINK_PROPS", ""));
  g_print ("LAB-URI %s\n", o->uri);

  while (!stop_requested)
    g_usleep (50 * 1000);

  g_object_get (o->sink, "stats", &stats, NULL);
  print_peers ("origin", stats);
  gst_structure_get_uint64 (stats, "bytes-sent", &sent);
  g_print ("LAB-ORIGIN pushed=%u bytes-sent=%" G_GUINT64_FORMAT "\n",
      o->pushed, sent);
  gst_structure_free (stats);
  test_origin_stop (o);
  fail_unless (sent > 0, "the origin served nobody");
}

GST_END_TEST;

/* LAB_MIN_STATS: "STAT=N …", each counter at least N. */
static void
check_min_stats (TestViewer * v, const gchar * wanted)
{
  g_auto (GStrv) items = g_strsplit (wanted, " ", -1);
  GstStructure *stats = test_viewer_stats (v);
  GString *short_of = g_string_new (NULL);
  guint i;

  /* all printed first, then judged */
  for (i = 0; items[i]; i++) {
    gchar **kv;
    guint64 min, got;

    if (!*items[i])
      continue;
    kv = g_strsplit (items[i], "=", 2);
    fail_unless (kv[0] && kv[1], "LAB_MIN_STATS item '%s' is not STAT=N",
        items[i]);
    min = g_ascii_strtoull (kv[1], NULL, 10);
    got = test_stat_u64 (stats, kv[0]);
    g_print ("LAB-STAT %s=%" G_GUINT64_FORMAT "\n", kv[0], got);
    if (got < min)
      g_string_append_printf (short_of, " %s is %" G_GUINT64_FORMAT
          ", want >= %" G_GUINT64_FORMAT ";", kv[0], got, min);
    g_strfreev (kv);
  }
  gst_structure_free (stats);
  fail_unless (short_of->len == 0, "stats:%s", short_of->str);
  g_string_free (short_of, TRUE);
}

GST_START_TEST (lab_viewer)
{
  const gchar *uri = g_getenv ("LAB_URI");
  const gchar *expect = env_or ("LAB_EXPECT", "");
  guint want = env_uint ("LAB_BUFFERS", 300);
  guint timeout_ms = env_uint ("LAB_TIMEOUT_S", 60) * 1000;
  gdouble min_continuity = g_ascii_strtod (env_or ("LAB_MIN_CONTINUITY",
          "0.95"), NULL);
  gint64 t0 = g_get_monotonic_time (), deadline;
  gint64 startup_ms = -1;
  gdouble continuity = 0;
  gchar *problem = NULL;
  GstStructure *stats;
  TestViewer *v;
  guint checked;

  struct sigaction sa = { 0 };

  sa.sa_handler = on_stop_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  fail_unless (uri != NULL, "LAB_URI not set");
  v = test_viewer_start (uri, env_or ("LAB_SRC_PROPS", ""));
  fail_unless (test_viewer_wait (v, want, timeout_ms),
      "joined with only %u of %u buffers after %u ms", test_viewer_count (v),
      want, timeout_ms);
  checked = test_viewer_verify (v);
  fail_unless (checked >= want - 1, "only %u buffers checked", checked);

  /* A partner may still be connecting: wait for the expected set. */
  deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;) {
    stats = test_viewer_stats (v);
    problem = partners_mismatch (stats, expect);
    if (!problem || g_get_monotonic_time () > deadline)
      break;
    g_free (problem);
    gst_structure_free (stats);
    g_usleep (200 * 1000);
  }

  print_peers ("viewer", stats);
  gst_structure_get_int64 (stats, "startup-ms", &startup_ms);
  gst_structure_get_double (stats, "continuity", &continuity);
  g_print ("LAB-VIEWER buffers=%u checked=%u startup-ms=%" G_GINT64_FORMAT
      " continuity=%.3f missed=%" G_GUINT64_FORMAT " from-origin=%"
      G_GUINT64_FORMAT " from-peers=%" G_GUINT64_FORMAT " elapsed-ms=%"
      G_GINT64_FORMAT "\n", test_viewer_count (v), checked, startup_ms,
      continuity, test_stat_u64 (stats, "segments-missed"),
      test_stat_u64 (stats, "bytes-from-origin"),
      test_stat_u64 (stats, "bytes-from-peers"),
      (g_get_monotonic_time () - t0) / 1000);
  /* Everything the element counted, for the log of a failed run. */
  {
    gchar *all = gst_structure_to_string (stats);

    g_print ("LAB-STATS %s\n", all);
    g_free (all);
  }
  gst_structure_free (stats);

  fail_unless (problem == NULL, "partners: %s", problem);
  check_min_stats (v, env_or ("LAB_MIN_STATS", ""));
  fail_unless (continuity >= min_continuity, "continuity %.3f < %.3f",
      continuity, min_continuity);

  /* Other viewers may still need us as their partner. */
  g_print ("LAB-DONE\n");
  while (!stop_requested)
    g_usleep (50 * 1000);

  test_viewer_stop (v);
  test_viewer_free (v);
}

GST_END_TEST;

static Suite *
lab_peer_suite (void)
{
  Suite *s = suite_create ("lab-peer");
  TCase *tc = tcase_create ("general");
  const gchar *role = env_or ("LAB_ROLE", "");

  tcase_set_timeout (tc, 0);
  if (g_str_equal (role, "origin")) {
    tcase_add_test (tc, lab_origin);
  } else if (g_str_equal (role, "viewer")) {
    tcase_add_test (tc, lab_viewer);
  } else {
    g_printerr ("LAB_ROLE must be origin or viewer\n");
    exit (2);
  }
  suite_add_tcase (s, tc);
  return s;
}

int
main (int argc, char **argv)
{
  SRunner *runner;
  int failed;

  gst_check_init (&argc, &argv);
  runner = srunner_create (lab_peer_suite ());
  srunner_run_all (runner, CK_NORMAL);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  /* After a failed check the pipeline is still running (CK_FORK=no jumps
   * out of the test): leave without waiting for its threads. */
  fflush (stdout);
  fflush (stderr);
  _exit (failed == 0 ? 0 : 1);
}

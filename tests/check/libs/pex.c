/* Peer exchange: with the tracker gone, a viewer that lost its link to the
 * origin gets it back through a common partner.  Real sessions, links and
 * tracker on loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

/* The tracker runs on a thread of its own with its own context. */
typedef struct {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SwarmTrackerServer *server;
  guint port;
  GMutex lock;
  GCond cond;
  gboolean up;
} Tracker;

static gpointer
tracker_thread (gpointer data)
{
  Tracker *t = data;

  g_main_context_push_thread_default (t->context);
  t->server = swarm_tracker_server_new ();
  fail_unless (swarm_tracker_server_listen (t->server, "127.0.0.1", 0, NULL));
  g_mutex_lock (&t->lock);
  t->port = swarm_tracker_server_get_port (t->server);
  t->up = TRUE;
  g_cond_signal (&t->cond);
  g_mutex_unlock (&t->lock);
  g_main_loop_run (t->loop);
  swarm_tracker_server_free (t->server);
  while (g_main_context_iteration (t->context, FALSE));
  g_main_context_pop_thread_default (t->context);
  return NULL;
}

static void
tracker_start (Tracker * t)
{
  g_mutex_init (&t->lock);
  g_cond_init (&t->cond);
  t->context = g_main_context_new ();
  t->loop = g_main_loop_new (t->context, FALSE);
  t->thread = g_thread_new ("tracker", tracker_thread, t);
  g_mutex_lock (&t->lock);
  while (!t->up)
    g_cond_wait (&t->cond, &t->lock);
  g_mutex_unlock (&t->lock);
}

static void
tracker_stop (Tracker * t)
{
  g_main_loop_quit (t->loop);
  g_thread_join (t->thread);
  g_main_loop_unref (t->loop);
  g_main_context_unref (t->context);
}

static SwarmSession *
session_start (SwarmSessionRole role, SwarmIdentity * id, const gchar * url)
{
  gchar *trackers[] = { (gchar *) url, NULL };
  SwarmSessionConfig config = { 0 };
  SwarmSession *s;

  config.role = role;
  config.identity = id;
  config.trackers = trackers;
  config.max_peers = 4;
  s = swarm_session_new (&config, NULL, NULL);
  fail_unless (swarm_session_start (s, NULL));
  return s;
}

/* Number of ready partners, and whether one is the origin. */
static guint
partners (SwarmSession * s, gboolean * has_origin)
{
  GstStructure *st = swarm_session_get_stats (s);
  const GValue *list = gst_structure_get_value (st, "peer-stats");
  guint i, n = gst_value_array_get_size (list);

  *has_origin = FALSE;
  for (i = 0; i < n; i++) {
    const GstStructure *p =
        gst_value_get_structure (gst_value_array_get_value (list, i));
    if (g_str_equal (gst_structure_get_string (p, "role"), "origin"))
      *has_origin = TRUE;
  }
  gst_structure_free (st);
  return n;
}

static gboolean
wait_partners (SwarmSession * s, guint n, gboolean origin, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean has_origin;

  while (g_get_monotonic_time () < deadline) {
    if (partners (s, &has_origin) >= n && (!origin || has_origin))
      return TRUE;
    g_usleep (50 * 1000);
  }
  return FALSE;
}

GST_START_TEST (test_relink_through_partner_without_tracker)
{
  Tracker t = { 0 };
  SwarmIdentity *key = swarm_identity_generate (NULL);
  SwarmIdentity *pub = swarm_identity_new_from_public_key
      (swarm_identity_get_public_key (key));
  SwarmSession *origin, *a, *b;
  gboolean has_origin;
  guint64 pex_before = 0;
  gchar *url;

  tracker_start (&t);
  url = g_strdup_printf ("ws://127.0.0.1:%u/announce", t.port);
  origin = session_start (SWARM_SESSION_ORIGIN, key, url);
  fail_unless (swarm_session_wait_ready (origin, 10000, NULL));
  a = session_start (SWARM_SESSION_VIEWER, pub, url);
  fail_unless (wait_partners (a, 1, TRUE, 15000));
  b = session_start (SWARM_SESSION_VIEWER, pub, url);
  fail_unless (wait_partners (b, 2, TRUE, 15000), "b never met everyone");
  fail_unless (wait_partners (a, 2, TRUE, 15000));

  /* the tracker goes away for good, then b loses its origin link */
  {
    GstStructure *st = swarm_session_get_stats (b);
    fail_unless (gst_structure_get_uint64 (st, "pex-links", &pex_before));
    gst_structure_free (st);
  }
  tracker_stop (&t);
  swarm_session_disconnect_peer (origin, swarm_session_get_peer_id (b));

  /* b learnt from a that a talks to the origin: it offers through a */
  {
    gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
    guint64 pex_links = 0;

    while (g_get_monotonic_time () < deadline) {
      GstStructure *st = swarm_session_get_stats (b);
      fail_unless (gst_structure_get_uint64 (st, "pex-links", &pex_links));
      gst_structure_free (st);
      if (pex_links > pex_before && partners (b, &has_origin) == 2
          && has_origin)
        break;
      g_usleep (50 * 1000);
    }
    fail_unless (pex_links > pex_before, "no link through a partner");
    fail_unless (partners (b, &has_origin) == 2 && has_origin,
        "b did not get back to the origin without a tracker");
  }

  swarm_session_free (b);
  swarm_session_free (a);
  swarm_session_free (origin);
  swarm_identity_unref (pub);
  swarm_identity_unref (key);
  g_free (url);
}

GST_END_TEST;

static Suite *
pex_suite (void)
{
  Suite *s = suite_create ("pex");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 90);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_relink_through_partner_without_tracker);
  return s;
}

GST_CHECK_MAIN (pex);

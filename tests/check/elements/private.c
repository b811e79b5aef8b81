/* Private swarms: a publisher with a secret; viewers with the right one
 * (property, URI, secret-file or P2P_SECRET) play byte-exact, viewers with
 * none or a wrong one get no segment byte and a clear error, someone with
 * only the swarm id finds nobody to collect offers from, weak secrets are
 * refused, and the secret shows up in no log line, property or message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <unistd.h>
#include <glib/gstdio.h>
#include <swarm/swarm-internal.h>
#include "p2p-test-util.h"

#define SECRET "correct horse battery staple"

/* ---- a log sink that looks for the secret ----------------------------- */

static gint log_lines;
static gint log_leaks;

static void
log_watch (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);

  g_atomic_int_inc (&log_lines);
  /* decoded, or percent-encoded as in a URI */
  if (text && (strstr (text, SECRET) || strstr (text, "horse%20battery")))
    g_atomic_int_inc (&log_leaks);
}

static void
log_watch_start (void)
{
  static gsize installed;

  g_atomic_int_set (&log_lines, 0);
  g_atomic_int_set (&log_leaks, 0);
  /* debug level for our own categories: everything we say about links,
   * descriptions and URIs goes through the watch */
  gst_debug_set_threshold_for_name ("swarm*", GST_LEVEL_DEBUG);
  gst_debug_set_threshold_for_name ("p2p*", GST_LEVEL_DEBUG);
  /* installed once and never removed: GStreamer leaks the old list on
   * every removal, on purpose (another thread may be walking it) */
  if (g_once_init_enter (&installed)) {
    gst_debug_add_log_function (log_watch, NULL, NULL);
    g_once_init_leave (&installed, 1);
  }
}

static void
log_watch_stop (void)
{
  gint lines, leaks;

  gst_debug_unset_threshold_for_name ("swarm*");
  gst_debug_unset_threshold_for_name ("p2p*");
  lines = g_atomic_int_get (&log_lines);
  leaks = g_atomic_int_get (&log_leaks);
  GST_INFO ("%d log lines watched, %d held the secret", lines, leaks);
  fail_unless (lines > 100, "the log watch saw almost nothing (%d lines)",
      lines);
  fail_unless_equals_int (leaks, 0);
}

/* ---- an eavesdropper on a tracker --------------------------------------- */

/* Announces on @info_hash like any peer and keeps what the tracker hands
 * it: the attack of someone who knows the swarm id (the public info_hash)
 * collecting sealed offers to guess the secret against offline. */
typedef struct {
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SwarmTrackerClient *client;
  gchar *url;
  gchar *info_hash;
  gchar *peer_id;
  gint connected;
  gint offers;                  /* offers the tracker handed us */
  gint sealed;                  /* ...that were sealed */
  gint complete;                /* most publishers the tracker counted */
  GMutex lock;
  GCond cond;
  gboolean running;
} Eavesdropper;

static void
eavesdropper_connected (SwarmTrackerClient * c, gpointer user_data)
{
  Eavesdropper *e = user_data;
  GError *error = NULL;

  g_atomic_int_set (&e->connected, 1);
  /* a viewer wanting the stream, with no offers of its own */
  if (!swarm_tracker_client_announce (c, "started", 1, 10, NULL, 0, &error)) {
    GST_INFO ("eavesdropper announce failed: %s", error->message);
    g_error_free (error);
  }
}

static void
eavesdropper_reply (SwarmTrackerClient * c, guint complete, guint incomplete,
    guint interval_s, gpointer user_data)
{
  Eavesdropper *e = user_data;

  if ((gint) complete > g_atomic_int_get (&e->complete))
    g_atomic_int_set (&e->complete, complete);
}

static void
eavesdropper_offer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  Eavesdropper *e = user_data;

  GST_INFO ("eavesdropper on %s got an offer from %s", e->info_hash, peer_id);
  g_atomic_int_inc (&e->offers);
  if (swarm_secret_is_sealed (sdp))
    g_atomic_int_inc (&e->sealed);
}

static const SwarmTrackerClientCallbacks eavesdropper_callbacks = {
  .connected = eavesdropper_connected,
  .announce_reply = eavesdropper_reply,
  .offer = eavesdropper_offer,
};

static gpointer
eavesdropper_thread (gpointer data)
{
  Eavesdropper *e = data;

  g_main_context_push_thread_default (e->context);
  e->client = swarm_tracker_client_new (e->url, e->info_hash, e->peer_id,
      &eavesdropper_callbacks, e);
  swarm_tracker_client_start (e->client);
  g_mutex_lock (&e->lock);
  e->running = TRUE;
  g_cond_signal (&e->cond);
  g_mutex_unlock (&e->lock);
  g_main_loop_run (e->loop);
  g_main_context_pop_thread_default (e->context);
  return NULL;
}

/* Takes the tracker from @uri, and the info_hash given. */
static Eavesdropper *
eavesdropper_start (const gchar * uri, const gchar * info_hash)
{
  Eavesdropper *e = g_new0 (Eavesdropper, 1);
  SwarmUri *parsed = swarm_uri_parse (uri, NULL);

  fail_unless (parsed != NULL);
  e->url = swarm_uri_get_tracker_url (parsed);
  swarm_uri_free (parsed);
  e->info_hash = g_strdup (info_hash);
  e->peer_id = swarm_peer_id_generate ();
  e->context = g_main_context_new ();
  e->loop = g_main_loop_new (e->context, FALSE);
  g_mutex_init (&e->lock);
  g_cond_init (&e->cond);
  e->thread = g_thread_new ("eavesdropper", eavesdropper_thread, e);
  g_mutex_lock (&e->lock);
  while (!e->running)
    g_cond_wait (&e->cond, &e->lock);
  g_mutex_unlock (&e->lock);
  return e;
}

static gboolean
eavesdropper_teardown (gpointer data)
{
  Eavesdropper *e = data;

  swarm_tracker_client_free (e->client);
  g_main_loop_quit (e->loop);
  return G_SOURCE_REMOVE;
}

static void
eavesdropper_stop (Eavesdropper * e)
{
  g_main_context_invoke (e->context, eavesdropper_teardown, e);
  g_thread_join (e->thread);
  /* the tracker goodbye runs while the context is iterated */
  for (guint i = 0; i < 64 && g_main_context_iteration (e->context, FALSE);
      i++);
  g_main_loop_unref (e->loop);
  g_main_context_unref (e->context);
  g_mutex_clear (&e->lock);
  g_cond_clear (&e->cond);
  g_free (e->url);
  g_free (e->info_hash);
  g_free (e->peer_id);
  g_free (e);
}

/* Waits until *@counter reaches @n; FALSE after @timeout_ms. */
static gboolean
wait_counter (gint * counter, gint n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_atomic_int_get (counter) < n) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (20 * 1000);
  }
  return TRUE;
}

/* ---- helpers ------------------------------------------------------------ */

static TestOrigin *
private_origin_start (void)
{
  return test_origin_start ("max-peers=4 secret=\"" SECRET "\"");
}

/* Expects @pipeline to fail with RESOURCE @code within @timeout_ms;
 * returns the error text. */
static gchar *
expect_resource_error (GstElement * pipeline, GstResourceError code,
    guint timeout_ms)
{
  GstMessage *msg = test_wait_message (pipeline, GST_MESSAGE_ERROR, NULL,
      timeout_ms);
  GError *error = NULL;
  gchar *debug = NULL, *text;

  fail_unless (msg != NULL, "no error within %u ms", timeout_ms);
  gst_message_parse_error (msg, &error, &debug);
  GST_INFO ("error: %s (%s)", error->message, debug);
  fail_unless (g_error_matches (error, GST_RESOURCE_ERROR, code),
      "error %s:%d %s", g_quark_to_string (error->domain), error->code,
      error->message);
  fail_if (strstr (error->message, SECRET));
  fail_if (debug && strstr (debug, SECRET));
  text = g_strdup (error->message);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  return text;
}

static gchar *
expect_not_authorized (TestViewer * v, guint timeout_ms)
{
  return expect_resource_error (v->pipeline, GST_RESOURCE_ERROR_NOT_AUTHORIZED,
      timeout_ms);
}

/* The info_hash a private swarm with @secret meets on, from its URI. */
static gchar *
rendezvous_info_hash (const gchar * uri, const gchar * secret)
{
  SwarmUri *parsed = swarm_uri_parse (uri, NULL);
  SwarmSecret *s;
  gchar *hash;

  fail_unless (parsed != NULL);
  s = swarm_secret_new (secret, parsed->swarm_key, NULL);
  fail_unless (s != NULL);
  hash = swarm_secret_info_hash (s);
  swarm_secret_free (s);
  swarm_uri_free (parsed);
  return hash;
}

static gchar *
public_info_hash (const gchar * uri)
{
  SwarmUri *parsed = swarm_uri_parse (uri, NULL);
  gchar *hash;

  fail_unless (parsed != NULL);
  hash = swarm_id_to_info_hash (parsed->swarm_key);
  swarm_uri_free (parsed);
  return hash;
}

/* Not one segment byte reached @v. */
static void
assert_received_nothing (TestViewer * v)
{
  GstStructure *stats = test_viewer_stats (v);

  GST_INFO ("outsider stats: %" GST_PTR_FORMAT, stats);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "bytes-received"), 0);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-received"), 0);
  fail_unless_equals_int (test_viewer_count (v), 0);
  gst_structure_free (stats);
}

/* ---- tests ---------------------------------------------------------------- */

GST_START_TEST (test_right_secret_plays)
{
  TestOrigin *origin;
  TestViewer *by_uri, *by_property;
  gchar *uri, *shown = NULL;
  GstStructure *stats;

  log_watch_start ();
  origin = private_origin_start ();
  fail_if (strstr (origin->uri, SECRET));
  fail_if (strstr (origin->uri, "secret"));

  /* the secret in the URI (percent-encoded spaces) ... */
  uri = g_strdup_printf ("\"%s?secret=correct%%20horse%%20battery%%20staple\"",
      origin->uri);
  by_uri = test_viewer_start (uri, "join-timeout=10000");
  g_free (uri);
  /* ... or as a property */
  by_property = test_viewer_start (origin->uri,
      "join-timeout=10000 secret=\"" SECRET "\"");

  fail_unless (test_viewer_wait (by_uri, 60, 20000));
  fail_unless (test_viewer_wait (by_property, 60, 20000));
  fail_unless (test_viewer_verify (by_uri) >= 60);
  fail_unless (test_viewer_verify (by_property) >= 60);

  /* the readable uri property lost the secret, the element kept it */
  g_object_get (by_uri->src, "uri", &shown, NULL);
  fail_unless_equals_string (shown, origin->uri);
  g_free (shown);
  stats = test_viewer_stats (by_uri);
  fail_unless (test_stat_u64 (stats, "bytes-received") > 0);
  gst_structure_free (stats);

  g_object_get (origin->sink, "uri", &shown, NULL);
  fail_if (strstr (shown, SECRET));
  g_free (shown);
  g_object_get (origin->sink, "stats", &stats, NULL);
  fail_unless (gst_structure_has_field (stats, "descriptions-refused"));
  fail_unless_equals_uint64 (test_stat_u64 (stats, "descriptions-refused"), 0);
  gst_structure_free (stats);

  test_viewer_stop (by_uri);
  test_viewer_free (by_uri);
  test_viewer_stop (by_property);
  test_viewer_free (by_property);
  test_origin_stop (origin);
  log_watch_stop ();
}

GST_END_TEST;

GST_START_TEST (test_no_secret_refused)
{
  TestOrigin *origin;
  TestViewer *insider, *outsider;
  GstStructure *stats;
  gchar *text;

  log_watch_start ();
  origin = private_origin_start ();
  /* a member, so the outsider meets more than the origin */
  insider = test_viewer_start (origin->uri, "secret=\"" SECRET "\"");
  fail_unless (test_viewer_wait (insider, 30, 20000));

  /* it announces where anyone with the swarm id would, and finds nobody
   * there: the members meet where only the secret leads */
  outsider = test_viewer_start (origin->uri, "join-timeout=3000");
  text = expect_resource_error (outsider->pipeline,
      GST_RESOURCE_ERROR_NOT_FOUND, TEST_MS (15000));
  fail_unless (strstr (text, "private") != NULL, "unclear error: %s", text);
  fail_unless (strstr (text, "secret") != NULL, "unclear error: %s", text);
  g_free (text);
  assert_received_nothing (outsider);

  /* the origin never even saw its offers, and kept streaming */
  g_object_get (origin->sink, "stats", &stats, NULL);
  GST_INFO ("origin stats: %" GST_PTR_FORMAT, stats);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "descriptions-refused"), 0);
  gst_structure_free (stats);
  fail_unless (test_viewer_wait (insider, test_viewer_count (insider) + 30,
          10000));
  fail_unless (test_viewer_verify (insider) >= 60);

  test_viewer_stop (outsider);
  test_viewer_free (outsider);
  test_viewer_stop (insider);
  test_viewer_free (insider);
  test_origin_stop (origin);
  log_watch_stop ();
}

GST_END_TEST;

GST_START_TEST (test_wrong_secret_refused)
{
  TestOrigin *origin;
  TestViewer *outsider;
  GstStructure *stats;
  gchar *text;

  log_watch_start ();
  origin = private_origin_start ();
  outsider = test_viewer_start (origin->uri,
      "join-timeout=3000 secret=\"correct horse battery stapler\"");
  text = expect_not_authorized (outsider, TEST_MS (15000));
  fail_unless (strstr (text, "does not match") != NULL, "unclear error: %s",
      text);
  g_free (text);
  assert_received_nothing (outsider);

  /* another secret leads to another meeting place: nobody there */
  g_object_get (origin->sink, "stats", &stats, NULL);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "descriptions-refused"), 0);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "bytes-sent"), 0);
  gst_structure_free (stats);

  test_viewer_stop (outsider);
  test_viewer_free (outsider);
  test_origin_stop (origin);
  log_watch_stop ();
}

GST_END_TEST;

/* A secret given to a public swarm's viewer: it looks for the members
 * where the secret leads, finds nobody, and says the secret is wrong. */
GST_START_TEST (test_secret_on_public_swarm_refused)
{
  TestOrigin *origin = test_origin_start (NULL);
  TestViewer *v = test_viewer_start (origin->uri,
      "join-timeout=3000 secret=\"" SECRET "\"");
  gchar *text = expect_not_authorized (v, 15000);

  g_free (text);
  assert_received_nothing (v);
  test_viewer_stop (v);
  test_viewer_free (v);
  test_origin_stop (origin);
}

GST_END_TEST;

/* The review's attack: knowing only the swarm id, announce on its
 * info_hash at the swarm's own (embedded) tracker and collect the sealed
 * offers members send, to guess the secret offline.  Nothing arrives, and
 * the tracker counts no publisher there; the same eavesdropper where the
 * secret leads (what the tracker's operator sees) does get the member's
 * offers, sealed: the harness works, and what is left is a strong
 * secret's job. */
GST_START_TEST (test_swarm_id_alone_collects_no_offer)
{
  TestOrigin *origin;
  TestViewer *member;
  Eavesdropper *outsider, *operator_view;
  gchar *public_hash, *hidden_hash;

  origin = private_origin_start ();
  public_hash = public_info_hash (origin->uri);
  hidden_hash = rendezvous_info_hash (origin->uri, SECRET);
  fail_if (g_str_equal (public_hash, hidden_hash));
  outsider = eavesdropper_start (origin->uri, public_hash);
  operator_view = eavesdropper_start (origin->uri, hidden_hash);
  fail_unless (wait_counter (&outsider->connected, 1, TEST_MS (10000)));
  fail_unless (wait_counter (&operator_view->connected, 1, TEST_MS (10000)));

  /* a member joins after them: its first offers go to whoever is listed */
  member = test_viewer_start (origin->uri, "secret=\"" SECRET "\"");
  fail_unless (test_viewer_wait (member, 30, TEST_MS (20000)));
  /* the control: offers do reach an announcer at the members' info_hash */
  wait_counter (&operator_view->offers, 1, TEST_MS (10000));

  GST_INFO ("public info_hash: %d offers (%d sealed), %d publishers; "
      "rendezvous: %d offers (%d sealed), %d publishers",
      g_atomic_int_get (&outsider->offers),
      g_atomic_int_get (&outsider->sealed),
      g_atomic_int_get (&outsider->complete),
      g_atomic_int_get (&operator_view->offers),
      g_atomic_int_get (&operator_view->sealed),
      g_atomic_int_get (&operator_view->complete));
  fail_unless_equals_int (g_atomic_int_get (&outsider->offers), 0);
  fail_unless_equals_int (g_atomic_int_get (&outsider->complete), 0);
  fail_unless (g_atomic_int_get (&operator_view->offers) > 0);
  fail_unless_equals_int (g_atomic_int_get (&operator_view->sealed),
      g_atomic_int_get (&operator_view->offers));
  fail_unless (g_atomic_int_get (&operator_view->complete) > 0);

  eavesdropper_stop (outsider);
  eavesdropper_stop (operator_view);
  test_viewer_stop (member);
  test_viewer_free (member);
  test_origin_stop (origin);
  g_free (public_hash);
  g_free (hidden_hash);
}

GST_END_TEST;

/* "weak1" (seven guesses offline) is refused by both elements before they
 * go on the network, with an error naming the minimum and p2p-key; the
 * secret itself is not in it. */
GST_START_TEST (test_weak_secret_refused)
{
  static const gchar *descs[] = {
    "appsrc ! p2psink port=0 address=127.0.0.1 secret=weak1",
    "p2psrc uri=p2p://127.0.0.1:1/"
        "rmcjjjg5tresf4u5vbn72z4p44hbxmqxgks2w2t2mupdvm7mjlha "
        "secret=weak1 ! fakesink",
    "p2psrc uri=p2p://127.0.0.1:1/"
        "rmcjjjg5tresf4u5vbn72z4p44hbxmqxgks2w2t2mupdvm7mjlha?secret=weak1 "
        "! fakesink",
    NULL
  };

  for (guint i = 0; descs[i]; i++) {
    GstElement *pipeline = gst_parse_launch (descs[i], NULL);
    gchar *text;

    fail_unless (pipeline != NULL);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    text = expect_resource_error (pipeline, GST_RESOURCE_ERROR_SETTINGS,
        TEST_MS (5000));
    fail_unless (strstr (text, "too weak") != NULL, "%s", text);
    fail_unless (strstr (text, "p2p-key --new-secret") != NULL, "%s", text);
    fail_unless (strstr (text, "80") != NULL, "%s", text);
    fail_if (strstr (text, "weak1"), "%s", text);
    g_free (text);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
  }
}

GST_END_TEST;

/* A URI that does not parse cannot be taken apart to move its secret out:
 * the readable uri property (what gst-launch -v and gst-inspect show)
 * keeps only what comes before the query, and start fails saying the URI
 * is invalid, without the secret either. */
GST_START_TEST (test_malformed_uri_hides_secret)
{
  static const gchar *uris[] = {
    /* an unknown parameter next to the secret */
    "p2p://127.0.0.1:1/rmcjjjg5tresf4u5vbn72z4p44hbxmqxgks2w2t2mupdvm7mjlha"
        "?bogus=1&secret=" "correct%20horse%20battery%20staple",
    /* a bad swarm id */
    "p2p://127.0.0.1:1/nope?secret=correct%20horse%20battery%20staple",
    /* the secret badly percent-encoded */
    "p2p://127.0.0.1:1/rmcjjjg5tresf4u5vbn72z4p44hbxmqxgks2w2t2mupdvm7mjlha"
        "?secret=correct%20horse%20battery%20staple%zz",
    /* the query run on without its "?" */
    "p2p://127.0.0.1:1/rmcjjjg5tresf4u5vbn72z4p44hbxmqxgks2w2t2mupdvm7mjlha"
        "&secret=correct%20horse%20battery%20staple",
    /* a parameter name in capitals is another, unknown, parameter */
    "p2p://127.0.0.1:1/rmcjjjg5tresf4u5vbn72z4p44hbxmqxgks2w2t2mupdvm7mjlha"
        "?SECRET=correct%20horse%20battery%20staple",
    NULL
  };

  log_watch_start ();
  for (guint i = 0; uris[i]; i++) {
    GstElement *pipeline = gst_pipeline_new (NULL);
    GstElement *src = gst_element_factory_make ("p2psrc", NULL);
    GstElement *sink = gst_element_factory_make ("fakesink", NULL);
    gchar *shown = NULL, *text;

    gst_bin_add_many (GST_BIN (pipeline), src, sink, NULL);
    fail_unless (gst_element_link (src, sink));
    g_object_set (src, "uri", uris[i], NULL);
    g_object_get (src, "uri", &shown, NULL);
    GST_INFO ("%s reads back as %s", uris[i], shown);
    fail_unless (shown != NULL);
    fail_if (strstr (shown, "horse"), "%s", shown);
    fail_unless (g_str_has_prefix (shown, "p2p://127.0.0.1:"), "%s", shown);
    g_free (shown);
    shown = gst_uri_handler_get_uri (GST_URI_HANDLER (src));
    fail_if (strstr (shown, "horse"), "%s", shown);
    g_free (shown);

    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    text = expect_resource_error (pipeline, GST_RESOURCE_ERROR_NOT_FOUND,
        TEST_MS (5000));
    fail_unless (strstr (text, "Invalid swarm URI") != NULL, "%s", text);
    fail_if (strstr (text, "horse"), "%s", text);
    g_free (text);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
  }
  /* the warnings about the bad URIs did not quote it either */
  fail_unless_equals_int (g_atomic_int_get (&log_leaks), 0);
  gst_debug_unset_threshold_for_name ("swarm*");
  gst_debug_unset_threshold_for_name ("p2p*");
}

GST_END_TEST;

/* A file holding SECRET and a newline, as `echo SECRET > file` makes. */
static gchar *
secret_file_new (const gchar * contents)
{
  GError *error = NULL;
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("p2p-secret-XXXXXX", &path, &error);

  fail_unless (fd >= 0, "%s", error ? error->message : "?");
  close (fd);
  fail_unless (g_file_set_contents (path, contents, -1, &error), "%s",
      error ? error->message : "?");
  return path;
}

static void
child_exited (GObject * source, GAsyncResult * result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  g_atomic_int_set ((gint *) user_data, 1);
}

/* Waits for @p to exit, killing it after @timeout_ms; TRUE if it exited
 * on its own with status 0. */
static gboolean
child_wait (GSubprocess * p, guint timeout_ms)
{
  GMainContext *context = g_main_context_new ();
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint done = 0;
  gboolean in_time = TRUE;

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (p, NULL, child_exited, &done);
  while (!g_atomic_int_get (&done)) {
    if (in_time && g_get_monotonic_time () > deadline) {
      in_time = FALSE;
      g_subprocess_force_exit (p);
    }
    g_main_context_iteration (context, FALSE);
    g_usleep (10 * 1000);
  }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return in_time && g_subprocess_get_if_exited (p)
      && g_subprocess_get_exit_status (p) == 0;
}

/* The ways to keep the secret off command lines and out of GStreamer's
 * logs work end to end: the publisher reads it from secret-file, one
 * viewer from secret-file, and a gst-launch-1.0 viewer (another process,
 * logging at GST_DEBUG=*:4, where GStreamer prints launch lines) from
 * P2P_SECRET; that viewer plays and its whole log holds no secret. */
GST_START_TEST (test_secret_file_and_environment)
{
  gchar *path = secret_file_new (SECRET "\n");
  gchar *log_path = NULL, *props, *uri_arg, *log = NULL;
  TestOrigin *origin;
  TestViewer *by_file;
  GSubprocessLauncher *launcher;
  GSubprocess *child;
  GError *error = NULL;
  gint fd;

  log_watch_start ();
  props = g_strdup_printf ("max-peers=4 secret-file=\"%s\"", path);
  origin = test_origin_start (props);
  g_free (props);
  fail_if (strstr (origin->uri, "secret"));

  props = g_strdup_printf ("secret-file=\"%s\"", path);
  by_file = test_viewer_start (origin->uri, props);
  g_free (props);
  fail_unless (test_viewer_wait (by_file, 30, TEST_MS (20000)));
  fail_unless (test_viewer_verify (by_file) >= 30);

  fd = g_file_open_tmp ("p2p-child-log-XXXXXX", &log_path, &error);
  fail_unless (fd >= 0, "%s", error ? error->message : "?");
  close (fd);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv (launcher, "P2P_SECRET", SECRET, TRUE);
  g_subprocess_launcher_setenv (launcher, "GST_DEBUG", "*:4", TRUE);
  /* loopback needs no proxy; and libproxy, loaded late by GIO, throws C++
   * exceptions the ASan runtime (preloaded by --setup sanitizers) cannot
   * intercept in an uninstrumented gst-launch-1.0 */
  g_subprocess_launcher_setenv (launcher, "GIO_USE_PROXY_RESOLVER", "dummy",
      TRUE);
  g_subprocess_launcher_set_stdout_file_path (launcher, log_path);
  props = g_strdup_printf ("join-timeout=%u", TEST_MS (10000));
  uri_arg = g_strdup_printf ("uri=%s", origin->uri);
  child = g_subprocess_launcher_spawn (launcher, &error, "gst-launch-1.0",
      "p2psrc", uri_arg, props, "!", "identity", "eos-after=20", "!",
      "fakesink", NULL);
  g_free (props);
  g_free (uri_arg);
  fail_unless (child != NULL, "cannot start gst-launch-1.0: %s",
      error ? error->message : "?");
  fail_unless (child_wait (child, TEST_MS (30000)),
      "the P2P_SECRET viewer did not play to its end");
  fail_unless (g_file_get_contents (log_path, &log, NULL, NULL));
  GST_INFO ("child log: %" G_GSIZE_FORMAT " bytes", strlen (log));
  fail_unless (strstr (log, "parsing pipeline description") != NULL,
      "the child did not log at *:4");
  fail_if (strstr (log, SECRET), "the child's log holds the secret");

  g_free (log);
  g_unlink (log_path);
  g_free (log_path);
  g_object_unref (child);
  g_object_unref (launcher);
  test_viewer_stop (by_file);
  test_viewer_free (by_file);
  test_origin_stop (origin);
  g_unlink (path);
  g_free (path);
  log_watch_stop ();
}

GST_END_TEST;

/* A secret file that cannot be read, or holds nothing, stops the element
 * with an error naming the file; a weak secret in a file is refused like
 * any other. */
GST_START_TEST (test_secret_file_errors)
{
  gchar *empty = secret_file_new ("\n"), *weak = secret_file_new ("weak1\n");
  gchar *missing = g_build_filename (g_get_tmp_dir (), "p2p-no-such-secret",
      NULL);
  struct {
    const gchar *path;
    GstResourceError code;
    const gchar *says;
  } cases[] = {
    {missing, GST_RESOURCE_ERROR_OPEN_READ, "Could not read the swarm secret"},
    {empty, GST_RESOURCE_ERROR_OPEN_READ, "Could not read the swarm secret"},
    {weak, GST_RESOURCE_ERROR_SETTINGS, "too weak"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("appsrc ! p2psink name=sink port=0 "
        "address=127.0.0.1 secret-file=\"%s\"", cases[i].path);
    GstElement *pipeline = gst_parse_launch (desc, NULL);
    GstElement *sink;
    gchar *text, *shown = NULL;

    fail_unless (pipeline != NULL);
    sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    /* the path is readable (it is no secret) */
    g_object_get (sink, "secret-file", &shown, NULL);
    fail_unless_equals_string (shown, cases[i].path);
    g_free (shown);
    gst_object_unref (sink);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    text = expect_resource_error (pipeline, cases[i].code, TEST_MS (5000));
    fail_unless (strstr (text, cases[i].says) != NULL, "%s", text);
    g_free (text);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
    g_free (desc);
  }
  g_unlink (empty);
  g_unlink (weak);
  g_free (empty);
  g_free (weak);
  g_free (missing);
}

GST_END_TEST;

static Suite *
private_suite (void)
{
  Suite *s = suite_create ("private");
  TCase *tc = test_tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_right_secret_plays);
  tcase_add_test (tc, test_no_secret_refused);
  tcase_add_test (tc, test_wrong_secret_refused);
  tcase_add_test (tc, test_secret_on_public_swarm_refused);
  tcase_add_test (tc, test_swarm_id_alone_collects_no_offer);
  tcase_add_test (tc, test_weak_secret_refused);
  tcase_add_test (tc, test_malformed_uri_hides_secret);
  tcase_add_test (tc, test_secret_file_and_environment);
  tcase_add_test (tc, test_secret_file_errors);
  return s;
}

TEST_CHECK_MAIN (private);

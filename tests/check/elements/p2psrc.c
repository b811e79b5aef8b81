/* p2psrc: properties, URI handling, latency, stats, and the failures a
 * viewer meets (bad URI, unreachable tracker, unknown swarm, publisher gone),
 * each of which must end in a clear error within a bounded time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>
#include <swarm/swarm.h>
#include <string.h>
#include "p2p-test-util.h"

/* A valid swarm id nobody publishes. */
static gchar *
unknown_swarm_id (void)
{
  SwarmIdentity *id = swarm_identity_generate (NULL);
  gchar *text = swarm_identity_get_swarm_id (id);

  swarm_identity_unref (id);
  return text;
}

/* A TCP port on 127.0.0.1 with nobody listening. */
static guint
closed_port (void)
{
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new (lo, 0), *bound;
  guint port;

  fail_unless (g_socket_bind (sock, addr, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (addr);
  g_object_unref (lo);
  g_object_unref (sock);        /* closes: the port is now refused */
  return port;
}

/* Runs @pipeline and expects an ERROR within @timeout_ms; returns its text. */
static gchar *
expect_error (GstElement * pipeline, guint timeout_ms, GQuark domain)
{
  GstMessage *msg;
  GError *error = NULL;
  gchar *text;
  gint64 t0 = g_get_monotonic_time ();

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = test_wait_message (pipeline, GST_MESSAGE_ERROR, NULL, timeout_ms);
  fail_unless (msg != NULL, "no error within %u ms", timeout_ms);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (error->domain == domain, "error domain %s",
      g_quark_to_string (error->domain));
  text = g_strdup (error->message);
  GST_INFO ("error after %" G_GINT64_FORMAT " ms: %s",
      (g_get_monotonic_time () - t0) / 1000, text);
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return text;
}

GST_START_TEST (test_properties)
{
  GstElement *src = gst_element_factory_make ("p2psrc", NULL);
  guint latency, max_peers, join_timeout, interval;
  gchar *uri;
  GstStructure *stats;

  fail_unless (src != NULL);
  g_object_get (src, "latency", &latency, "max-peers", &max_peers,
      "join-timeout", &join_timeout, "stats-interval", &interval, "uri", &uri,
      "stats", &stats, NULL);
  fail_unless_equals_int (latency, 500);
  fail_unless_equals_int (max_peers, 8);
  fail_unless_equals_int (join_timeout, 10000);
  fail_unless_equals_int (interval, 1000);
  fail_unless (uri == NULL);
  fail_unless (gst_structure_has_name (stats, "p2p-stats"));
  fail_unless_equals_uint64 (test_stat_u64 (stats, "bytes-from-peers"), 0);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-missed"), 0);
  gst_structure_free (stats);

  g_object_set (src, "latency", 250, "max-peers", 3, "stun-server",
      "stun://127.0.0.1:3478", NULL);
  g_object_get (src, "latency", &latency, "max-peers", &max_peers, NULL);
  fail_unless_equals_int (latency, 250);
  fail_unless_equals_int (max_peers, 3);
  gst_object_unref (src);
}

GST_END_TEST;

/* Values out of range (gst-launch, gst_util_set_object_arg, g_object_set)
 * are clamped and said so on the bus, not dropped with a note on stderr. */
GST_START_TEST (test_out_of_range_settings_warn)
{
  const gchar *const expected[] = {
    "“latency” set to 70000, out of its range 0-60000: using 60000",
    "“max-peers” set to 0, out of its range 1-1000: using 1",
    "“join-timeout” set to 5, out of its range 100-600000: using 100",
    NULL
  };
  GstElement *src = gst_element_factory_make ("p2psrc", NULL);
  guint latency, max_peers, join_timeout;

  gst_util_set_object_arg (G_OBJECT (src), "latency", "70000");
  g_object_set (src, "max-peers", 0, "join-timeout", 5, NULL);
  g_object_get (src, "latency", &latency, "max-peers", &max_peers,
      "join-timeout", &join_timeout, NULL);
  fail_unless_equals_int (latency, 60000);
  fail_unless_equals_int (max_peers, 1);
  fail_unless_equals_int (join_timeout, 100);
  /* in range: as set */
  g_object_set (src, "latency", 60000, "max-peers", 1000, NULL);
  g_object_get (src, "latency", &latency, "max-peers", &max_peers, NULL);
  fail_unless_equals_int (latency, 60000);
  fail_unless_equals_int (max_peers, 1000);
  gst_object_unref (src);

  /* posted when the element starts (here: without a URI, so it fails) */
  test_expect_setting_warnings ("p2psrc latency=70000 max-peers=0 "
      "join-timeout=5 ! fakesink", expected);
}

GST_END_TEST;

GST_START_TEST (test_uri_handler)
{
  gchar *id = unknown_swarm_id ();
  gchar *uri = g_strdup_printf ("p2p://127.0.0.1:8800/%s?stun-server=%s", id,
      "stun%3A%2F%2F10.0.0.1%3A3478");
  GstElement *src = gst_element_make_from_uri (GST_URI_SRC, uri, NULL, NULL);
  gchar *stun, *got;
  GError *error = NULL;

  fail_unless (src != NULL, "p2p:// does not open p2psrc");
  fail_unless (g_str_has_prefix (GST_OBJECT_NAME (gst_element_get_factory
              (src)), "p2psrc"));
  g_object_get (src, "stun-server", &stun, NULL);
  fail_unless_equals_string (stun, "stun://10.0.0.1:3478");
  got = gst_uri_handler_get_uri (GST_URI_HANDLER (src));
  fail_unless_equals_string (got, uri);

  fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (src),
          "p2p://127.0.0.1/not-a-swarm-id", &error));
  fail_unless (g_error_matches (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI));
  g_clear_error (&error);
  fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (src),
          "http://127.0.0.1:8800/x", &error));
  g_clear_error (&error);

  g_free (stun);
  g_free (got);
  g_free (uri);
  g_free (id);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_malformed_uri_error)
{
  GstElement *pipeline =
      gst_parse_launch ("p2psrc uri=p2p://nohost ! fakesink", NULL);
  gchar *text = expect_error (pipeline, 3000, GST_RESOURCE_ERROR);

  fail_unless (strstr (text, "p2p://nohost") != NULL, "%s", text);
  g_free (text);
  gst_object_unref (pipeline);
}

GST_END_TEST;

GST_START_TEST (test_unreachable_tracker_error)
{
  gchar *id = unknown_swarm_id ();
  gchar *desc = g_strdup_printf ("p2psrc uri=p2p://127.0.0.1:%u/%s "
      "join-timeout=1500 ! fakesink", closed_port (), id);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  gchar *text = expect_error (pipeline, 8000, GST_RESOURCE_ERROR);

  fail_unless (strstr (text, "tracker") != NULL, "%s", text);
  g_free (text);
  g_free (desc);
  g_free (id);
  gst_object_unref (pipeline);
}

GST_END_TEST;

GST_START_TEST (test_unknown_swarm_error)
{
  TestOrigin *origin = test_origin_start (NULL);
  gchar *id = unknown_swarm_id ();
  /* same tracker, somebody else's key */
  gchar *prefix = g_strndup (origin->uri, strrchr (origin->uri, '/') -
      origin->uri);
  gchar *desc = g_strdup_printf ("p2psrc uri=%s/%s join-timeout=2000 ! "
      "fakesink", prefix, id);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  gchar *text = expect_error (pipeline, 8000, GST_RESOURCE_ERROR);

  /* the publisher's tracker serves its own swarm only, and says so */
  fail_unless (strstr (text, "serves only its publisher's swarm") != NULL,
      "%s", text);
  g_free (text);
  g_free (desc);
  g_free (prefix);
  g_free (id);
  gst_object_unref (pipeline);
  test_origin_stop (origin);
}

GST_END_TEST;

/* A viewer the publisher's tracker turns away is told why, and the
 * origin counts it: here the tracker's one connection is the origin's own
 * (tracker-max-connections=1). */
GST_START_TEST (test_tracker_refusal_error)
{
  TestOrigin *origin = test_origin_start ("tracker-max-connections=1");
  gchar *desc = g_strdup_printf ("p2psrc uri=%s join-timeout=2000 ! "
      "fakesink", origin->uri);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  gchar *text = expect_error (pipeline, 8000, GST_RESOURCE_ERROR);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  GstStructure *stats = NULL;

  fail_unless (strstr (text, "the tracker refused the connection: tracker "
          "full: too many connections") != NULL, "%s", text);
  fail_if (strstr (text, "No publisher") != NULL, "%s", text);
  /* the origin's stats are refreshed every second */
  do {
    if (stats)
      gst_structure_free (stats);
    g_usleep (100 * 1000);
    g_object_get (origin->sink, "stats", &stats, NULL);
  } while (test_stat_u64 (stats, "tracker-connections-refused-full") == 0
      && g_get_monotonic_time () < deadline);
  fail_unless (test_stat_u64 (stats, "tracker-connections-refused-full") >= 1);
  fail_unless_equals_uint64 (test_stat_u64 (stats,
          "tracker-connections-refused"), test_stat_u64 (stats,
          "tracker-connections-refused-full"));
  fail_unless_equals_uint64 (test_stat_u64 (stats,
          "tracker-connections-refused-rate"), 0);
  gst_structure_free (stats);
  g_free (text);
  g_free (desc);
  gst_object_unref (pipeline);
  test_origin_stop (origin);
}

GST_END_TEST;

GST_START_TEST (test_publisher_gone_error)
{
  TestOrigin *origin = test_origin_start (NULL);
  TestViewer *v = test_viewer_start (origin->uri, "join-timeout=3000");
  GstMessage *msg;
  gint64 t0;

  fail_unless (test_viewer_wait (v, 50, 20000));
  /* the publisher and its embedded tracker go away */
  test_origin_stop (origin);
  t0 = g_get_monotonic_time ();
  msg = test_wait_message (v->pipeline, GST_MESSAGE_ERROR, NULL, 10000);
  fail_unless (msg != NULL, "viewer did not report the lost publisher");
  GST_INFO ("error %" G_GINT64_FORMAT " ms after the publisher left",
      (g_get_monotonic_time () - t0) / 1000);
  gst_message_unref (msg);
  fail_unless (test_viewer_verify (v) >= 49);
  test_viewer_stop (v);
  test_viewer_free (v);
}

GST_END_TEST;

GST_START_TEST (test_latency_and_stats_messages)
{
  TestOrigin *origin = test_origin_start (NULL);
  TestViewer *v = test_viewer_start (origin->uri,
      "latency=300 stats-interval=200");
  GstQuery *query = gst_query_new_latency ();
  GstMessage *msg;
  gboolean live;
  GstClockTime min, max;

  fail_unless (test_viewer_wait (v, 20, 20000));
  fail_unless (gst_element_query (v->src, query));
  gst_query_parse_latency (query, &live, &min, &max);
  fail_unless (live);
  fail_unless_equals_uint64 (min, 300 * GST_MSECOND);
  fail_unless (max > min);
  gst_query_unref (query);

  msg = test_wait_message (v->pipeline, GST_MESSAGE_ELEMENT, "p2p-stats", 3000);
  fail_unless (msg != NULL);
  fail_unless (test_stat_u64 (gst_message_get_structure (msg),
          "bytes-received") > 0);
  fail_unless (gst_structure_has_field (gst_message_get_structure (msg),
          "peer-stats"));
  gst_message_unref (msg);

  test_viewer_stop (v);
  test_viewer_free (v);
  test_origin_stop (origin);
}

GST_END_TEST;

static void
count_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

/* A syncing sink adds its processing deadline to the minimum latency: with
 * max == min the pipeline warned "please add queues" for every viewer. */
GST_START_TEST (test_latency_range_no_queue_warning)
{
  TestOrigin *origin = test_origin_start (NULL);
  gchar *desc = g_strdup_printf ("p2psrc name=src join-timeout=%u uri=%s "
      "latency=300 ! fakesink name=out sync=true signal-handoffs=true",
      TEST_MS (10000), origin->uri);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GstQuery *query = gst_query_new_latency ();
  gint64 deadline = g_get_monotonic_time () + TEST_MS (20000) * 1000LL;
  gint handoffs = 0;
  GstMessage *msg;
  gboolean live;
  GstClockTime min, max;

  g_free (desc);
  g_signal_connect (out, "handoff", G_CALLBACK (count_handoff), &handoffs);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  /* the pipeline configures its latency on the way to PLAYING; buffers
   * played in sync show it is done */
  while (g_atomic_int_get (&handoffs) < 20) {
    msg = test_wait_message (pipeline, GST_MESSAGE_WARNING |
        GST_MESSAGE_ERROR, NULL, 50);
    if (msg) {
      GError *e;
      gchar *dbg;

      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
        gst_message_parse_warning (msg, &e, &dbg);
      else
        gst_message_parse_error (msg, &e, &dbg);
      fail ("unexpected %s from %s: %s (%s)",
          GST_MESSAGE_TYPE_NAME (msg), GST_MESSAGE_SRC_NAME (msg),
          e->message, GST_STR_NULL (dbg));
    }
    fail_unless (g_get_monotonic_time () < deadline, "no buffer played");
  }
  fail_unless (gst_element_query (pipeline, query));
  gst_query_parse_latency (query, &live, &min, &max);
  fail_unless (live);
  fail_unless (min >= 300 * GST_MSECOND);
  fail_unless (GST_CLOCK_TIME_IS_VALID (max) && max > min,
      "latency min %" GST_TIME_FORMAT " max %" GST_TIME_FORMAT,
      GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  gst_query_unref (query);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_signal_handlers_disconnect_by_func (out, count_handoff, &handoffs);
  gst_object_unref (out);
  gst_object_unref (pipeline);
  test_origin_stop (origin);
}

GST_END_TEST;

/* An origin driven through the library, so a test can leave a hole in the
 * sequence: segment k holds stream buffers 10k..10k+9. */
typedef struct {
  SwarmIdentity *identity;
  SwarmSession *session;
  GThread *thread;
  gint stop;
  guint64 hole;                 /* never published; G_MAXUINT64 = none */
  gint64 period_us;             /* publishing interval; 0 = real time */
  SwarmIdentity *forger;        /* signs instead of the publisher if set */
} HoleOrigin;

static gpointer
hole_origin_run (gpointer data)
{
  HoleOrigin *o = data;
  GstCaps *caps = test_caps_new ();
  gint64 next = g_get_monotonic_time ();
  guint64 seq;

  for (seq = 0; !g_atomic_int_get (&o->stop); seq++) {
    SwarmSegmentBuilder *b = swarm_segment_builder_new (seq, caps,
        SWARM_SEGMENT_FLAG_KEYFRAME);
    GBytes *bytes;
    guint i;

    for (i = 0; i < TEST_KEYFRAME_EVERY; i++) {
      GstBuffer *buf = test_buffer_new (seq * TEST_KEYFRAME_EVERY + i);
      swarm_segment_builder_add (b, buf);
      gst_buffer_unref (buf);
    }
    bytes = swarm_segment_builder_finish (b, o->forger ? o->forger :
        o->identity, g_get_real_time (), NULL);
    fail_unless (bytes != NULL);
    if (seq != o->hole)
      swarm_session_publish (o->session, seq, SWARM_SEGMENT_FLAG_KEYFRAME,
          bytes);
    g_bytes_unref (bytes);
    /* absolute schedule, so the publishing rate is exactly the one asked */
    next += o->period_us ? o->period_us :
        TEST_KEYFRAME_EVERY * TEST_BUFFER_INTERVAL / GST_USECOND;
    test_sleep_until (next);
  }
  gst_caps_unref (caps);
  return NULL;
}

static gchar *
hole_origin_start (HoleOrigin * o)
{
  SwarmSessionConfig config = { 0 };
  gchar *id, *uri;

  o->identity = swarm_identity_generate (NULL);
  config.role = SWARM_SESSION_ORIGIN;
  config.identity = o->identity;
  config.tracker_address = "127.0.0.1";
  config.max_peers = 4;
  o->session = swarm_session_new (&config, NULL, NULL);
  fail_unless (swarm_session_start (o->session, NULL));
  fail_unless (swarm_session_wait_ready (o->session, 10000, NULL));
  id = swarm_identity_get_swarm_id (o->identity);
  uri = g_strdup_printf ("p2p://127.0.0.1:%u/%s",
      swarm_session_get_tracker_port (o->session), id);
  g_free (id);
  o->thread = g_thread_new ("hole-origin", hole_origin_run, o);
  return uri;
}

static void
hole_origin_stop (HoleOrigin * o)
{
  g_atomic_int_set (&o->stop, 1);
  g_thread_join (o->thread);
  swarm_session_free (o->session);
  swarm_identity_unref (o->identity);
}

static GstPadProbeReturn
count_gaps (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_GAP)
    g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_missed_segment_discont_gap)
{
  HoleOrigin o = { 0 };
  TestViewer *v;
  GstElement *sink;
  GstPad *pad;
  GstStructure *stats;
  gchar *uri;
  gint gaps = 0;
  guint i;
  gboolean saw_jump = FALSE;

  o.hole = 25;
  uri = hole_origin_start (&o);

  v = test_viewer_start (uri, "latency=300");
  sink = gst_bin_get_by_name (GST_BIN (v->pipeline), "out");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, count_gaps,
      &gaps, NULL);
  /* well past the hole: the viewer must skip it, not stall on it */
  fail_unless (test_viewer_wait (v, 1, 20000));
  {
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
    guint last = 0;
    while (last < (o.hole + 5) * TEST_KEYFRAME_EVERY
        && g_get_monotonic_time () < deadline) {
      GstMapInfo map;
      GstBuffer *b;
      g_usleep (50 * 1000);
      g_mutex_lock (&v->lock);
      b = g_ptr_array_index (v->buffers, v->buffers->len - 1);
      gst_buffer_map (b, &map, GST_MAP_READ);
      if (map.size >= 4 && !GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_HEADER))
        last = GST_READ_UINT32_BE (map.data);
      gst_buffer_unmap (b, &map);
      g_mutex_unlock (&v->lock);
    }
    fail_unless (last >= (o.hole + 5) * TEST_KEYFRAME_EVERY,
        "viewer stalled at buffer %u", last);
  }

  test_viewer_verify (v);
  g_mutex_lock (&v->lock);
  for (i = 1; i < v->buffers->len; i++) {
    GstBuffer *b = g_ptr_array_index (v->buffers, i);
    GstMapInfo map;
    guint idx;

    gst_buffer_map (b, &map, GST_MAP_READ);
    idx = GST_READ_UINT32_BE (map.data);
    gst_buffer_unmap (b, &map);
    fail_if (idx / TEST_KEYFRAME_EVERY == o.hole, "played a hole buffer");
    if (idx == (o.hole + 1) * TEST_KEYFRAME_EVERY) {
      fail_unless (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DISCONT));
      saw_jump = TRUE;
    }
  }
  g_mutex_unlock (&v->lock);
  fail_unless (saw_jump);
  fail_unless (g_atomic_int_get (&gaps) >= 1, "no GAP event");
  stats = test_viewer_stats (v);
  fail_unless (test_stat_u64 (stats, "segments-missed") >= 1);
  gst_structure_free (stats);

  gst_object_unref (pad);
  gst_object_unref (sink);
  test_viewer_stop (v);
  test_viewer_free (v);
  hole_origin_stop (&o);
  g_free (uri);
}

GST_END_TEST;

/* A peer in the swarm serves segments signed with the wrong key: the
 * viewer plays none of them, counts them, cuts that peer off and fails
 * cleanly instead of playing forged data. */
GST_START_TEST (test_forged_segments_rejected)
{
  HoleOrigin o = { 0 };
  TestViewer *v;
  GstMessage *msg;
  GstStructure *stats;
  gchar *uri;

  o.hole = G_MAXUINT64;
  o.forger = swarm_identity_generate (NULL);
  uri = hole_origin_start (&o);
  v = test_viewer_start (uri, "join-timeout=3000");
  msg = test_wait_message (v->pipeline, GST_MESSAGE_ERROR, NULL, 15000);
  fail_unless (msg != NULL, "a viewer fed only forged segments must fail");
  gst_message_unref (msg);

  stats = test_viewer_stats (v);
  fail_unless (test_stat_u64 (stats, "segments-rejected") >= 1);
  fail_unless (test_stat_u64 (stats, "peers-banned") >= 1);
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-played"), 0);
  gst_structure_free (stats);
  /* not one forged byte reached the pipeline */
  fail_unless_equals_int (test_viewer_count (v), 0);

  test_viewer_stop (v);
  test_viewer_free (v);
  hole_origin_stop (&o);
  swarm_identity_unref (o.forger);
  g_free (uri);
}

GST_END_TEST;

/* A publisher whose clock runs @ppm fast (or slow, negative) against ours:
 * the viewer must shift playout to keep its slack, and miss nothing.
 * Returns the shift (ms, + = later) between a first look, once the start's
 * catch-up with live has settled (3 s in), and @seconds later: what drift
 * did, not what a busy machine's start jitter did.  *later gets the sum of
 * the steps later over the whole run (net shift plus what was caught up). */
static gdouble
run_drifting_publisher (gint ppm, guint seconds, gdouble * later)
{
  HoleOrigin o = { 0 };
  TestViewer *v;
  GstStructure *stats;
  gchar *uri;
  gdouble settled = 0, correction = 0, caught_up = 0;

  o.hole = G_MAXUINT64;
  o.period_us = (gint64) (TEST_KEYFRAME_EVERY * TEST_BUFFER_INTERVAL /
      GST_USECOND) * 1000000 / (1000000 + ppm);
  uri = hole_origin_start (&o);
  v = test_viewer_start (uri, "latency=400");
  fail_unless (test_viewer_wait (v, 1, 20000));
  g_usleep (3 * G_USEC_PER_SEC);
  stats = test_viewer_stats (v);
  fail_unless (gst_structure_get_double (stats, "drift-correction-ms",
          &settled));
  gst_structure_free (stats);
  g_usleep ((gulong) seconds * G_USEC_PER_SEC);

  stats = test_viewer_stats (v);
  fail_unless (gst_structure_get_double (stats, "drift-correction-ms",
          &correction));
  fail_unless (gst_structure_get_double (stats, "catch-up-ms", &caught_up));
  fail_unless (caught_up >= 0);
  *later = correction + caught_up;
  fail_unless_equals_uint64 (test_stat_u64 (stats, "segments-missed"), 0);
  gst_structure_free (stats);
  g_print ("%d ppm: playout shifted %.1f ms in %u s after settling (%.1f ms "
      "in all, caught up %.1f ms)\n", ppm, correction - settled, seconds,
      correction, caught_up);

  test_viewer_stop (v);
  test_viewer_free (v);
  hole_origin_stop (&o);
  g_free (uri);
  return correction - settled;
}

GST_START_TEST (test_clock_drift_absorbed)
{
  /* 5000 ppm: 100 ms in 20 s, the size an hour of real drift reaches.
   * Both viewers first catch up with live, as far as loopback's jitter
   * lets them; after that, drift pulls them apart (up to 200 ms in 20 s,
   * less the controller's tolerance). */
  gdouble fast_later, slow_later;
  gdouble fast = run_drifting_publisher (5000, 20, &fast_later);
  gdouble slow = run_drifting_publisher (-5000, 20, &slow_later);

  fail_unless (fast < slow - 50, "fast publisher: shifted %.1f ms, slow "
      "one %.1f ms", fast, slow);
  fail_unless (slow_later > 0, "slow publisher: %.1f ms later", slow_later);
}

GST_END_TEST;

/* ---- the session as a GObject --------------------------------------- */

typedef struct
{
  GMutex lock;
  GPtrArray *added;             /* SwarmPeerInfo, refs */
  GPtrArray *removed;           /* SwarmPeerInfo, refs */
  gboolean removed_was_connected;
} PeerLog;

static void
peer_log_added (SwarmSession * session, SwarmPeerInfo * info, PeerLog * log)
{
  fail_unless (SWARM_IS_SESSION (session));
  g_mutex_lock (&log->lock);
  g_ptr_array_add (log->added, g_object_ref (info));
  g_mutex_unlock (&log->lock);
}

static void
peer_log_removed (SwarmSession * session, SwarmPeerInfo * info, PeerLog * log)
{
  g_mutex_lock (&log->lock);
  g_ptr_array_add (log->removed, g_object_ref (info));
  log->removed_was_connected |= swarm_peer_info_is_connected (info);
  g_mutex_unlock (&log->lock);
}

static void
peer_log_init (PeerLog * log)
{
  memset (log, 0, sizeof (*log));
  g_mutex_init (&log->lock);
  log->added = g_ptr_array_new_with_free_func (g_object_unref);
  log->removed = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
peer_log_clear (PeerLog * log)
{
  g_ptr_array_unref (log->added);
  g_ptr_array_unref (log->removed);
  g_mutex_clear (&log->lock);
}

/* The peer info in @list with id @id, or NULL. */
static SwarmPeerInfo *
peer_log_find (PeerLog * log, GPtrArray * list, const gchar * id)
{
  SwarmPeerInfo *found = NULL;
  guint i;

  g_mutex_lock (&log->lock);
  for (i = 0; i < list->len && !found; i++)
    if (g_strcmp0 (swarm_peer_info_get_id (g_ptr_array_index (list, i)),
            id) == 0)
      found = g_ptr_array_index (list, i);
  g_mutex_unlock (&log->lock);
  return found;
}

static SwarmPeerInfo *
peer_log_wait (PeerLog * log, GPtrArray * list, const gchar * id,
    guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  SwarmPeerInfo *info;

  while (!(info = peer_log_find (log, list, id))
      && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  return info;
}

static void
viewer_session_set (GstElement * src, GParamSpec * pspec, PeerLog * log)
{
  SwarmSession *session = NULL;

  g_object_get (src, "session", &session, NULL);
  if (!session)
    return;
  g_signal_connect (session, "peer-added", G_CALLBACK (peer_log_added), log);
  g_signal_connect (session, "peer-removed", G_CALLBACK (peer_log_removed),
      log);
  g_object_unref (session);
}

/* Both elements expose their session: the publisher's tells of the viewer
 * coming and going, the viewer's (connected to in notify::session, before
 * it has any partner) of the publisher, each with a peer info whose
 * properties describe the partner. */
GST_START_TEST (test_session_peer_signals)
{
  TestOrigin *origin = test_origin_start (NULL);
  PeerLog at_origin, at_viewer;
  SwarmSession *session = NULL, *viewer_session = NULL;
  SwarmPeerInfo *info, *gone;
  GstElement *pipeline, *src;
  gchar *desc, *viewer_id = NULL, *origin_id = NULL, *role = NULL;
  gchar *kind = NULL;
  guint64 sent = 0, received = 0;
  SwarmSessionRole session_role;
  GstStructure *stats;

  peer_log_init (&at_origin);
  peer_log_init (&at_viewer);
  g_object_get (origin->sink, "session", &session, NULL);
  fail_unless (SWARM_IS_SESSION (session));
  g_object_get (session, "role", &session_role, "peer-id", &origin_id, NULL);
  fail_unless_equals_int (session_role, SWARM_SESSION_ORIGIN);
  fail_unless_equals_int (strlen (origin_id), 20);
  g_signal_connect (session, "peer-added", G_CALLBACK (peer_log_added),
      &at_origin);
  g_signal_connect (session, "peer-removed", G_CALLBACK (peer_log_removed),
      &at_origin);

  desc = g_strdup_printf ("p2psrc name=src join-timeout=%u uri=%s ! "
      "fakesink", TEST_MS (10000), origin->uri);
  pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_object_get (src, "session", &viewer_session, NULL);
  fail_unless (viewer_session == NULL, "a session before start");
  g_signal_connect (src, "notify::session", G_CALLBACK (viewer_session_set),
      &at_viewer);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  g_object_get (src, "session", &viewer_session, NULL);
  fail_unless (SWARM_IS_SESSION (viewer_session));
  g_object_get (viewer_session, "peer-id", &viewer_id, NULL);

  /* the viewer, seen by the publisher */
  info = peer_log_wait (&at_origin, at_origin.added, viewer_id,
      TEST_MS (10000));
  fail_unless (info != NULL, "no peer-added for the viewer");
  g_object_get (info, "role", &role, "address-kind", &kind, NULL);
  fail_unless_equals_string (role, "viewer");
  fail_unless (kind && *kind, "no address kind");
  g_clear_pointer (&role, g_free);
  g_clear_pointer (&kind, g_free);
  fail_unless (swarm_peer_info_is_connected (info));
  /* the publisher, seen by the viewer (connected before it started) */
  info = peer_log_wait (&at_viewer, at_viewer.added, origin_id,
      TEST_MS (10000));
  fail_unless (info != NULL, "no peer-added for the origin");
  g_object_get (info, "role", &role, NULL);
  fail_unless_equals_string (role, "origin");
  g_clear_pointer (&role, g_free);

  /* bytes flow, and the peer info follows them (refreshed every 100 ms) */
  {
    gint64 deadline = g_get_monotonic_time () + TEST_MS (10000) * 1000;

    while (received < 20000 && g_get_monotonic_time () < deadline) {
      g_usleep (50 * 1000);
      g_object_get (info, "bytes-received", &received, NULL);
    }
    fail_unless (received >= 20000, "viewer's peer info: %" G_GUINT64_FORMAT
        " bytes from the origin", received);
  }
  stats = swarm_peer_info_get_stats (info);
  fail_unless_equals_string (gst_structure_get_string (stats, "id"),
      origin_id);
  gst_structure_free (stats);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  {
    SwarmSession *after_stop = NULL;

    g_object_get (src, "session", &after_stop, NULL);
    fail_unless (after_stop == NULL, "the element keeps its session");
  }
  /* the viewer's own session told of the origin leaving, before stop
   * returned */
  fail_unless (peer_log_find (&at_viewer, at_viewer.removed, origin_id));
  gone = peer_log_wait (&at_origin, at_origin.removed, viewer_id,
      TEST_MS (10000));
  fail_unless (gone != NULL, "no peer-removed for the viewer");
  fail_unless (gone == peer_log_find (&at_origin, at_origin.added, viewer_id),
      "peer-removed passed another object than peer-added");
  fail_if (at_origin.removed_was_connected);
  fail_unless (!swarm_peer_info_is_connected (gone));
  g_object_get (gone, "bytes-sent", &sent, NULL);
  fail_unless (sent >= 20000, "%" G_GUINT64_FORMAT " bytes sent", sent);
  /* the viewer's session stays readable while referenced */
  stats = NULL;
  g_object_get (viewer_session, "stats", &stats, NULL);
  fail_unless (stats != NULL);
  fail_unless (test_stat_u64 (stats, "bytes-received") >= 20000);
  gst_structure_free (stats);

  g_object_unref (viewer_session);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_signal_handlers_disconnect_by_data (session, &at_origin);
  g_object_unref (session);
  test_origin_stop (origin);
  peer_log_clear (&at_origin);
  peer_log_clear (&at_viewer);
  g_free (viewer_id);
  g_free (origin_id);
}

GST_END_TEST;

static Suite *
p2psrc_suite (void)
{
  Suite *s = suite_create ("p2psrc");
  TCase *tc = test_tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_uri_handler);
  tcase_add_test (tc, test_out_of_range_settings_warn);
  tcase_add_test (tc, test_malformed_uri_error);
  tcase_add_test (tc, test_unreachable_tracker_error);
  tcase_add_test (tc, test_unknown_swarm_error);
  tcase_add_test (tc, test_tracker_refusal_error);
  tcase_add_test (tc, test_publisher_gone_error);
  tcase_add_test (tc, test_latency_and_stats_messages);
  tcase_add_test (tc, test_session_peer_signals);
  tcase_add_test (tc, test_latency_range_no_queue_warning);
  tcase_add_test (tc, test_missed_segment_discont_gap);
  tcase_add_test (tc, test_clock_drift_absorbed);
  tcase_add_test (tc, test_forged_segments_rejected);
  return s;
}

TEST_CHECK_MAIN (p2psrc);

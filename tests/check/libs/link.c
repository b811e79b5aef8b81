/* Two real SwarmLinks in one process, on one context driven by the test,
 * exchanging descriptions directly.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

/* Loopback connects in tens of ms; a loaded 2-core CI machine may take
 * far longer, so deadlines are generous and tests never sleep fixed times
 * to get a result. */
#define DEADLINE_MS 20000

typedef struct
{
  const gchar *name;
  SwarmLink *link;
  gchar *description;
  guint n_descriptions;
  gboolean connected;
  guint n_closed;
  GError *close_error;

  /* datagrams: [seq u32 BE][pattern...]; checked on arrival */
  guint n_received;
  guint n_corrupt;
  guint n_out_of_order;
  gint64 last_seq;

  gboolean unref_on_closed;
  gboolean unref_on_datagram;
} Peer;

static GMainContext *context;
static SwarmDtlsCredentials *creds_a, *creds_b;

static void
fill_pattern (guint8 * buf, gsize len, guint32 seq)
{
  gsize i;

  buf[0] = seq >> 24;
  buf[1] = seq >> 16;
  buf[2] = seq >> 8;
  buf[3] = seq;
  for (i = 4; i < len; i++)
    buf[i] = (guint8) (seq * 13 + i * 7 + len);
}

static gsize
size_for (guint32 seq)
{
  /* 4..1200, with the extremes included */
  if (seq % 50 == 0)
    return SWARM_WIRE_MAX_DATAGRAM;
  return 4 + (seq * 389) % (SWARM_WIRE_MAX_DATAGRAM - 3);
}

static void
on_description (SwarmLink * link, const gchar * sdp, gpointer user_data)
{
  Peer *p = user_data;

  g_free (p->description);
  p->description = g_strdup (sdp);
  p->n_descriptions++;
}

static void
on_connected (SwarmLink * link, gpointer user_data)
{
  Peer *p = user_data;

  p->connected = TRUE;
}

static void
on_datagram (SwarmLink * link, const guint8 * data, gsize len,
    gpointer user_data)
{
  Peer *p = user_data;
  guint8 expected[SWARM_WIRE_MAX_DATAGRAM];
  guint32 seq;

  p->n_received++;
  if (len < 4 || len > SWARM_WIRE_MAX_DATAGRAM) {
    p->n_corrupt++;
    return;
  }
  seq = GST_READ_UINT32_BE (data);
  fill_pattern (expected, len, seq);
  if (len != size_for (seq) || memcmp (data, expected, len) != 0)
    p->n_corrupt++;
  if ((gint64) seq <= p->last_seq)
    p->n_out_of_order++;
  p->last_seq = seq;
  if (p->unref_on_datagram)
    g_clear_pointer (&p->link, swarm_link_unref);
}

static void
on_closed (SwarmLink * link, const GError * error, gpointer user_data)
{
  Peer *p = user_data;

  p->n_closed++;
  g_clear_error (&p->close_error);
  if (error)
    p->close_error = g_error_copy (error);
  if (p->unref_on_closed)
    g_clear_pointer (&p->link, swarm_link_unref);
}

static const SwarmLinkCallbacks callbacks = {
  on_description, on_connected, on_datagram, on_closed
};

static void
peer_init_full (Peer * p, const gchar * name, SwarmLinkRole role,
    SwarmDtlsCredentials * creds, const SwarmLinkConfig * config)
{
  memset (p, 0, sizeof (*p));
  p->name = name;
  p->last_seq = -1;
  p->link = swarm_link_new (context, role, config, creds, &callbacks, p);
  fail_unless (p->link != NULL);
  fail_unless_equals_int (swarm_link_get_state (p->link),
      SWARM_LINK_STATE_NEW);
}

static void
peer_init (Peer * p, const gchar * name, SwarmLinkRole role,
    SwarmDtlsCredentials * creds, guint timeout_ms)
{
  SwarmLinkConfig config = { NULL, NULL, timeout_ms };

  peer_init_full (p, name, role, creds, &config);
}

static void
peer_clear (Peer * p)
{
  g_clear_pointer (&p->link, swarm_link_unref);
  g_clear_pointer (&p->description, g_free);
  g_clear_error (&p->close_error);
}

typedef gboolean (*Condition) (gpointer data);

static gboolean
run_until (Condition cond, gpointer data, guint deadline_ms)
{
  gint64 deadline = g_get_monotonic_time () + deadline_ms * G_TIME_SPAN_MILLISECOND;

  while (!cond (data)) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (500);
  }
  return TRUE;
}

/* Runs the context for a while, whatever happens. */
static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end) {
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (500);
  }
}

static gboolean
has_description (gpointer data)
{
  return ((Peer *) data)->description != NULL;
}

static gboolean
is_closed (gpointer data)
{
  return ((Peer *) data)->n_closed > 0;
}

typedef struct
{
  Peer a, b;                    /* offerer, answerer */
} Pair;

static gboolean
pair_connected (gpointer data)
{
  Pair *p = data;

  return p->a.connected && p->b.connected;
}

static gboolean
pair_closed (gpointer data)
{
  Pair *p = data;

  return p->a.n_closed > 0 && p->b.n_closed > 0;
}

/* Offer, answer; @answer_first: the answerer gets the offer before it
 * starts gathering. */
static void
pair_negotiate (Pair * p, gboolean answer_first, guint timeout_ms)
{
  GError *error = NULL;

  peer_init (&p->a, "offerer", SWARM_LINK_OFFERER, creds_a, timeout_ms);
  peer_init (&p->b, "answerer", SWARM_LINK_ANSWERER, creds_b, timeout_ms);

  fail_unless (swarm_link_start (p->a.link, &error), "%s",
      error ? error->message : "");
  fail_unless (run_until (has_description, &p->a, DEADLINE_MS));
  fail_unless (strstr (p->a.description, "a=fingerprint:sha-256 ") != NULL);
  fail_unless (strstr (p->a.description,
          swarm_dtls_credentials_get_fingerprint (creds_a)) != NULL);

  if (answer_first) {
    fail_unless (swarm_link_set_remote_description (p->b.link,
            p->a.description, &error), "%s", error ? error->message : "");
    fail_unless (swarm_link_start (p->b.link, &error));
  } else {
    fail_unless (swarm_link_start (p->b.link, &error));
    fail_unless (swarm_link_set_remote_description (p->b.link,
            p->a.description, &error), "%s", error ? error->message : "");
  }
  fail_unless (run_until (has_description, &p->b, DEADLINE_MS));
}

static void
pair_connect (Pair * p, gboolean answer_first)
{
  GError *error = NULL;
  gint64 t0;

  pair_negotiate (p, answer_first, 0);
  t0 = g_get_monotonic_time ();
  fail_unless (swarm_link_set_remote_description (p->a.link,
          p->b.description, &error), "%s", error ? error->message : "");
  fail_unless (run_until (pair_connected, p, DEADLINE_MS), "not connected");
  GST_INFO ("connected %" G_GINT64_FORMAT " ms after the answer",
      (g_get_monotonic_time () - t0) / 1000);

  fail_unless_equals_int (p->a.n_descriptions, 1);
  fail_unless_equals_int (p->b.n_descriptions, 1);
  fail_unless_equals_int (p->a.n_closed, 0);
  fail_unless_equals_int (p->b.n_closed, 0);
  fail_unless_equals_int (swarm_link_get_state (p->a.link),
      SWARM_LINK_STATE_CONNECTED);
  fail_unless_equals_int (swarm_link_get_state (p->b.link),
      SWARM_LINK_STATE_CONNECTED);
}

static void
pair_clear (Pair * p)
{
  peer_clear (&p->a);
  peer_clear (&p->b);
  /* let deferred releases run */
  while (g_main_context_iteration (context, FALSE));
}

GST_START_TEST (test_connect)
{
  Pair p;
  gchar *addr;

  pair_connect (&p, FALSE);

  fail_unless_equals_string (swarm_link_get_local_candidate_type (p.a.link),
      "host");
  fail_unless_equals_string (swarm_link_get_remote_candidate_type (p.a.link),
      "host");
  fail_unless_equals_string (swarm_link_get_local_candidate_type (p.b.link),
      "host");
  fail_unless_equals_string (swarm_link_get_remote_candidate_type (p.b.link),
      "host");
  addr = swarm_link_get_remote_address (p.a.link);
  fail_unless (addr != NULL && strrchr (addr, ':') != NULL);
  GST_INFO ("offerer talks to %s", addr);
  g_free (addr);

  /* unref without close: silent */
  pair_clear (&p);
}

GST_END_TEST;

GST_START_TEST (test_connect_answer_first)
{
  Pair p;

  pair_connect (&p, TRUE);
  pair_clear (&p);
}

GST_END_TEST;

typedef struct
{
  Peer *peer;
  guint expected;
} Count;

static gboolean
received_all (gpointer data)
{
  Count *c = data;

  return c->peer->n_received >= c->expected;
}

GST_START_TEST (test_datagrams)
{
  const guint n = 2000, burst = 32;
  Pair p;
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];
  guint32 seq;
  Count ca, cb;
  SwarmLinkStats sa, sb;

  pair_connect (&p, FALSE);

  /* Not larger than a datagram. */
  fail_if (swarm_link_send (p.a.link, buf, SWARM_WIRE_MAX_DATAGRAM + 200));

  /* offerer -> answerer through batches, the other way one by one; bursts
   * with the context run in between, since both ends share this thread. */
  for (seq = 0; seq < n; seq += burst) {
    guint32 i;

    swarm_link_begin_batch (p.a.link);
    for (i = seq; i < seq + burst && i < n; i++) {
      fill_pattern (buf, size_for (i), i);
      fail_unless (swarm_link_send (p.a.link, buf, size_for (i)));
    }
    swarm_link_end_batch (p.a.link);

    for (i = seq; i < seq + burst && i < n; i++) {
      fill_pattern (buf, size_for (i), i);
      swarm_link_send (p.b.link, buf, size_for (i));
    }
    while (g_main_context_iteration (context, FALSE));
  }

  ca.peer = &p.a;
  ca.expected = n;
  cb.peer = &p.b;
  cb.expected = n;
  /* Wait for everything, or for stragglers to stop coming. */
  run_until (received_all, &ca, 5000);
  run_until (received_all, &cb, 5000);

  GST_INFO ("offerer received %u/%u, answerer %u/%u", p.a.n_received, n,
      p.b.n_received, n);
  fail_unless (p.b.n_received * 100 >= n * 99, "answerer got %u of %u",
      p.b.n_received, n);
  fail_unless (p.a.n_received * 100 >= n * 99, "offerer got %u of %u",
      p.a.n_received, n);
  fail_unless (p.a.n_received <= n && p.b.n_received <= n);
  fail_unless_equals_int (p.a.n_corrupt, 0);
  fail_unless_equals_int (p.b.n_corrupt, 0);
  fail_unless_equals_int (p.a.n_out_of_order, 0);
  fail_unless_equals_int (p.b.n_out_of_order, 0);

  swarm_link_get_stats (p.a.link, &sa);
  swarm_link_get_stats (p.b.link, &sb);
  fail_unless_equals_int (sa.datagrams_sent, n);
  fail_unless_equals_int (sa.batches, (n + burst - 1) / burst);
  fail_unless_equals_int (sb.batches, 0);
  fail_unless_equals_int (sb.datagrams_received, p.b.n_received);
  fail_unless_equals_int (sa.datagrams_received, p.a.n_received);
  fail_unless (sa.bytes_sent > n * 500);
  fail_unless (sb.datagrams_sent + sb.records_dropped >= n);

  pair_clear (&p);
}

GST_END_TEST;

static gchar *
replace_fingerprint (const gchar * sdp, const gchar * fingerprint)
{
  const gchar *line = strstr (sdp, "a=fingerprint:sha-256 ");
  const gchar *end;

  fail_unless (line != NULL);
  end = strchr (line, '\n');
  return g_strdup_printf ("%.*sa=fingerprint:sha-256 %s%s",
      (int) (line - sdp), sdp, fingerprint, end ? end : "");
}

GST_START_TEST (test_wrong_fingerprint)
{
  Pair p;
  SwarmDtlsCredentials *other = swarm_dtls_credentials_new (NULL);
  gchar *forged;
  GError *error = NULL;

  pair_negotiate (&p, FALSE, 0);
  /* Someone on the signalling path swapped the answerer's fingerprint. */
  forged = replace_fingerprint (p.b.description,
      swarm_dtls_credentials_get_fingerprint (other));
  fail_unless (swarm_link_set_remote_description (p.a.link, forged, &error));
  g_free (forged);

  fail_unless (run_until (pair_closed, &p, DEADLINE_MS),
      "not closed on both sides");
  fail_if (p.a.connected);
  fail_if (p.b.connected);
  fail_unless (g_error_matches (p.a.close_error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_DTLS), "%s",
      p.a.close_error ? p.a.close_error->message : "no error");
  fail_unless (g_error_matches (p.b.close_error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_DTLS), "%s",
      p.b.close_error ? p.b.close_error->message : "no error");
  fail_unless_equals_int (p.a.n_closed, 1);
  fail_unless_equals_int (p.b.n_closed, 1);
  fail_unless_equals_int (swarm_link_get_state (p.a.link),
      SWARM_LINK_STATE_CLOSED);

  swarm_dtls_credentials_unref (other);
  pair_clear (&p);
}

GST_END_TEST;

static void
assert_rejected (SwarmLink * link, const gchar * sdp)
{
  GError *error = NULL;

  fail_if (swarm_link_set_remote_description (link, sdp, &error),
      "accepted:\n%s", sdp);
  fail_unless (g_error_matches (error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_DESCRIPTION));
  GST_DEBUG ("rejected: %s", error->message);
  g_error_free (error);
}

GST_START_TEST (test_malformed_description)
{
  Pair p;
  gchar *bad, *no_fp;
  const gchar *fp_line;
  GError *error = NULL;

  pair_negotiate (&p, FALSE, 0);

  assert_rejected (p.a.link, "");
  assert_rejected (p.a.link, "garbage\nmore garbage");
  assert_rejected (p.a.link, "a=fingerprint:sha-256 00:11\n");

  /* no fingerprint */
  fp_line = strstr (p.b.description, "a=fingerprint:");
  no_fp = g_strndup (p.b.description, fp_line - p.b.description);
  assert_rejected (p.a.link, no_fp);

  /* fingerprints of the wrong shape or algorithm */
  bad = g_strconcat (no_fp, "a=fingerprint:sha-256 zz\n", NULL);
  assert_rejected (p.a.link, bad);
  g_free (bad);
  bad = g_strconcat (no_fp, "a=fingerprint:sha-1 ",
      swarm_dtls_credentials_get_fingerprint (creds_b), "\n", NULL);
  assert_rejected (p.a.link, bad);
  g_free (bad);
  bad = g_strconcat (no_fp, "a=fingerprint:sha-256 ",
      swarm_dtls_credentials_get_fingerprint (creds_b), "\n",
      "a=fingerprint:sha-256 ",
      swarm_dtls_credentials_get_fingerprint (creds_b), "\n", NULL);
  assert_rejected (p.a.link, bad);
  g_free (bad);

  /* two media sections (libnice would abort on it) */
  bad = g_strconcat (p.b.description, "m=application 9 ICE/SDP\n", NULL);
  assert_rejected (p.a.link, bad);
  g_free (bad);

  /* a broken candidate */
  bad = g_strconcat (p.b.description, "a=candidate:1 1 UDP nonsense\n", NULL);
  assert_rejected (p.a.link, bad);
  g_free (bad);

  /* no candidates at all */
  {
    GString *s = g_string_new (NULL);
    gchar **lines = g_strsplit (p.b.description, "\n", -1);
    guint i;

    for (i = 0; lines[i]; i++) {
      if (!g_str_has_prefix (lines[i], "a=candidate:"))
        g_string_append_printf (s, "%s\n", lines[i]);
    }
    g_strfreev (lines);
    bad = g_string_free (s, FALSE);
    assert_rejected (p.a.link, bad);
    g_free (bad);
  }
  g_free (no_fp);

  /* The link is untouched by all that: the real answer still works. */
  fail_unless_equals_int (p.a.n_closed, 0);
  fail_unless (swarm_link_set_remote_description (p.a.link,
          p.b.description, &error));
  fail_unless (run_until (pair_connected, &p, DEADLINE_MS));
  /* ... and only once */
  assert_rejected (p.a.link, p.b.description);
  pair_clear (&p);
}

GST_END_TEST;

GST_START_TEST (test_close)
{
  Pair p;
  guint8 buf[10] = { 0 };

  pair_connect (&p, FALSE);

  swarm_link_close (p.a.link);
  fail_unless_equals_int (p.a.n_closed, 1);
  fail_unless (p.a.close_error == NULL);
  fail_unless_equals_int (swarm_link_get_state (p.a.link),
      SWARM_LINK_STATE_CLOSED);
  fail_if (swarm_link_send (p.a.link, buf, sizeof (buf)));
  fail_unless (swarm_link_get_local_candidate_type (p.a.link) == NULL);
  fail_unless (swarm_link_get_remote_address (p.a.link) == NULL);
  swarm_link_close (p.a.link);
  fail_unless_equals_int (p.a.n_closed, 1);

  /* The close_notify reaches the other side over loopback. */
  fail_unless (run_until (is_closed, &p.b, DEADLINE_MS));
  fail_unless (g_error_matches (p.b.close_error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_CLOSED));
  fail_unless_equals_int (p.a.n_closed, 1);
  pair_clear (&p);
}

GST_END_TEST;

GST_START_TEST (test_connect_timeout)
{
  Pair p;
  gint64 t0 = g_get_monotonic_time (), elapsed;

  /* The answer never reaches the offerer. */
  pair_negotiate (&p, FALSE, 700);
  fail_unless (run_until (pair_closed, &p, DEADLINE_MS));
  elapsed = (g_get_monotonic_time () - t0) / 1000;
  fail_unless (elapsed >= 650, "closed after %" G_GINT64_FORMAT " ms",
      elapsed);
  fail_unless (g_error_matches (p.a.close_error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_TIMEOUT));
  /* The answerer, whose checks go unanswered, times out too. */
  fail_unless (g_error_matches (p.b.close_error, SWARM_LINK_ERROR,
          SWARM_LINK_ERROR_TIMEOUT) || g_error_matches (p.b.close_error,
          SWARM_LINK_ERROR, SWARM_LINK_ERROR_ICE));
  fail_unless_equals_int (p.a.n_closed, 1);
  fail_unless_equals_int (p.b.n_closed, 1);
  pair_clear (&p);
}

GST_END_TEST;

static guint
count_fds (void)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  fail_unless (dir != NULL);
  while (g_dir_read_name (dir))
    n++;
  g_dir_close (dir);
  return n;
}

GST_START_TEST (test_no_fd_leak)
{
  guint before, after, i;
  Pair warmup;

  /* First use opens a few process-wide things (netlink monitor...). */
  pair_connect (&warmup, FALSE);
  pair_clear (&warmup);
  before = count_fds ();

  for (i = 0; i < 50; i++) {
    Pair p;

    pair_connect (&p, i % 2);
    if (i % 3 == 0)
      swarm_link_close (p.a.link);
    pair_clear (&p);
  }
  after = count_fds ();
  GST_INFO ("fds before %u, after 50 connected pairs %u", before, after);
  fail_unless (after <= before, "fds %u -> %u", before, after);

  /* Links dropped in every other state. */
  for (i = 0; i < 200; i++) {
    Peer peer;

    peer_init (&peer, "short-lived", i % 2 ? SWARM_LINK_OFFERER :
        SWARM_LINK_ANSWERER, creds_a, 0);
    if (i % 4 != 0)
      fail_unless (swarm_link_start (peer.link, NULL));
    if (i % 4 == 2)
      fail_unless (run_until (has_description, &peer, DEADLINE_MS));
    peer_clear (&peer);
  }
  while (g_main_context_iteration (context, FALSE));
  after = count_fds ();
  GST_INFO ("after 200 more links %u", after);
  fail_unless (after <= before, "fds %u -> %u", before, after);
}

GST_END_TEST;

static gboolean
has_received (gpointer data)
{
  return ((Peer *) data)->n_received > 0;
}

GST_START_TEST (test_unref_in_callback)
{
  Pair p;
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM];

  /* The answerer's last ref goes from inside its closed callback, itself
   * called from the DTLS alert handling inside libnice's receive. */
  pair_connect (&p, FALSE);
  p.b.unref_on_closed = TRUE;
  swarm_link_close (p.a.link);
  fail_unless (run_until (is_closed, &p.b, DEADLINE_MS));
  fail_unless (p.b.link == NULL);
  run_for (50);
  pair_clear (&p);

  /* Same from the datagram callback, with more datagrams queued behind. */
  pair_connect (&p, FALSE);
  p.b.unref_on_datagram = TRUE;
  fill_pattern (buf, size_for (0), 0);
  fail_unless (swarm_link_send (p.a.link, buf, size_for (0)));
  fill_pattern (buf, size_for (1), 1);
  fail_unless (swarm_link_send (p.a.link, buf, size_for (1)));
  fail_unless (run_until (has_received, &p.b, DEADLINE_MS));
  fail_unless (p.b.link == NULL);
  run_for (50);
  fail_unless_equals_int (p.b.n_received, 1);
  fail_unless_equals_int (p.b.n_closed, 0);
  pair_clear (&p);
}

GST_END_TEST;

GST_START_TEST (test_unreachable_stun_server)
{
  /* A STUN server given by name, which answers nothing: gathering ends
   * anyway with host candidates, and the links still connect. */
  SwarmIceServer stun = { (gchar *) "localhost", 9, NULL, NULL, FALSE };
  SwarmLinkConfig config = { &stun, NULL, 0 };
  GError *error = NULL;
  Pair pair;
  gint64 t0 = g_get_monotonic_time ();

  peer_init_full (&pair.a, "offerer", SWARM_LINK_OFFERER, creds_a, &config);
  peer_init_full (&pair.b, "answerer", SWARM_LINK_ANSWERER, creds_b, &config);

  fail_unless (swarm_link_start (pair.a.link, &error));
  fail_unless (swarm_link_start (pair.b.link, &error));
  fail_unless (run_until (has_description, &pair.a, DEADLINE_MS));
  fail_unless (run_until (has_description, &pair.b, DEADLINE_MS));
  GST_INFO ("gathering with a silent STUN server took %" G_GINT64_FORMAT
      " ms", (g_get_monotonic_time () - t0) / 1000);
  fail_unless (strstr (pair.a.description, "typ host") != NULL);
  fail_unless (swarm_link_set_remote_description (pair.b.link,
          pair.a.description, &error));
  fail_unless (swarm_link_set_remote_description (pair.a.link,
          pair.b.description, &error));
  fail_unless (run_until (pair_connected, &pair, DEADLINE_MS));
  pair_clear (&pair);
}

GST_END_TEST;

static void
setup (void)
{
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  creds_a = swarm_dtls_credentials_new (NULL);
  creds_b = swarm_dtls_credentials_new (NULL);
  fail_unless (creds_a && creds_b);
}

static void
teardown (void)
{
  swarm_dtls_credentials_unref (creds_a);
  swarm_dtls_credentials_unref (creds_b);
  while (g_main_context_iteration (context, FALSE));
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

static Suite *
link_suite (void)
{
  Suite *s = suite_create ("swarm-link");
  TCase *tc = tcase_create ("general");

  swarm_init ();
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_connect);
  tcase_add_test (tc, test_connect_answer_first);
  tcase_add_test (tc, test_datagrams);
  tcase_add_test (tc, test_wrong_fingerprint);
  tcase_add_test (tc, test_malformed_description);
  tcase_add_test (tc, test_close);
  tcase_add_test (tc, test_connect_timeout);
  tcase_add_test (tc, test_no_fd_leak);
  tcase_add_test (tc, test_unref_in_callback);
  tcase_add_test (tc, test_unreachable_stun_server);
  return s;
}

GST_CHECK_MAIN (link);

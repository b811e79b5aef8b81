/* Tracker client and embedded server, end to end over loopback.
 *
 * Every test runs on its own GMainContext pushed as thread-default (not the
 * global default), as the swarm's network thread does, and waits with
 * bounded deadlines so a lost message fails instead of hanging.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "swarm/swarm-internal.h"

#define IH1 "swarm-info-hash-0001"
#define IH2 "swarm-info-hash-0002"

static GMainContext *ctx;
static GSource *ticker;

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
setup (void)
{
  swarm_init ();
  ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  /* Wakes blocking iterations so deadlines are checked at least every 10 ms. */
  ticker = g_timeout_source_new (10);
  g_source_set_callback (ticker, tick, NULL, NULL);
  g_source_attach (ticker, ctx);
}

static void
teardown (void)
{
  /* Let closing sockets finish before the context goes: libsoup closes
   * streams asynchronously and holds its connections until then. */
  gint64 end = g_get_monotonic_time () + 200 * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (ticker);
  g_source_unref (ticker);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  ctx = NULL;
}

/* Iterates until @cond holds or @ms elapse; evaluates to @cond. */
#define WAIT_FOR(cond, ms) ({ \
      gint64 _end = g_get_monotonic_time () + (gint64) (ms) * 1000; \
      while (!(cond) && g_get_monotonic_time () < _end) \
        g_main_context_iteration (ctx, TRUE); \
      (cond); })

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms *1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (ctx, TRUE);
}

/* ---- a peer driven through the public client API ----------------- */

typedef struct {
  gchar *peer_id;
  gchar *offer_id;
  gchar *sdp;
} Signal;

static void
signal_free (Signal * s)
{
  g_free (s->peer_id);
  g_free (s->offer_id);
  g_free (s->sdp);
  g_free (s);
}

typedef struct {
  SwarmTrackerClient *client;
  gchar peer_id[SWARM_TRACKER_ID_LEN + 1];
  guint n_connected;
  guint n_replies;
  guint n_errors;
  guint complete, incomplete, interval;
  GError *last_error;
  GPtrArray *offers;
  GPtrArray *answers;
} TestPeer;

static Signal *
signal_new (const gchar * peer_id, const gchar * offer_id, const gchar * sdp)
{
  Signal *s = g_new0 (Signal, 1);

  s->peer_id = g_strdup (peer_id);
  s->offer_id = g_strdup (offer_id);
  s->sdp = g_strdup (sdp);
  return s;
}

static void
on_connected (SwarmTrackerClient * c, gpointer user_data)
{
  TestPeer *p = user_data;

  p->n_connected++;
}

static void
on_announce_reply (SwarmTrackerClient * c, guint complete, guint incomplete,
    guint interval_s, gpointer user_data)
{
  TestPeer *p = user_data;

  p->n_replies++;
  p->complete = complete;
  p->incomplete = incomplete;
  p->interval = interval_s;
}

static void
on_offer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  TestPeer *p = user_data;

  g_ptr_array_add (p->offers, signal_new (peer_id, offer_id, sdp));
}

static void
on_answer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  TestPeer *p = user_data;

  g_ptr_array_add (p->answers, signal_new (peer_id, offer_id, sdp));
}

static void
on_error (SwarmTrackerClient * c, const GError * error, gpointer user_data)
{
  TestPeer *p = user_data;

  GST_INFO ("peer %s: %s", p->peer_id, error->message);
  p->n_errors++;
  g_clear_error (&p->last_error);
  p->last_error = g_error_copy (error);
}

static const SwarmTrackerClientCallbacks callbacks = {
  on_connected, on_announce_reply, on_offer, on_answer, on_error
};

static TestPeer *
peer_new (const gchar * url, const gchar * info_hash, guint n)
{
  TestPeer *p = g_new0 (TestPeer, 1);

  g_snprintf (p->peer_id, sizeof (p->peer_id), "-GP0001-test%08u", n);
  p->offers = g_ptr_array_new_with_free_func ((GDestroyNotify) signal_free);
  p->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) signal_free);
  p->client = swarm_tracker_client_new (url, info_hash, p->peer_id,
      &callbacks, p);
  fail_unless (p->client != NULL);
  return p;
}

static void
peer_free (TestPeer * p)
{
  swarm_tracker_client_free (p->client);
  g_ptr_array_unref (p->offers);
  g_ptr_array_unref (p->answers);
  g_clear_error (&p->last_error);
  g_free (p);
}

static void
peer_start (TestPeer * p)
{
  swarm_tracker_client_start (p->client);
  fail_unless (WAIT_FOR (p->n_connected > 0, 5000), "peer did not connect");
  fail_unless (swarm_tracker_client_is_connected (p->client));
}

/* Announces and waits for the tracker's reply to it. */
static void
peer_announce (TestPeer * p, const gchar * event, gint64 left, guint numwant,
    const SwarmTrackerOffer * offers, guint n_offers)
{
  GError *error = NULL;
  guint before = p->n_replies;

  fail_unless (swarm_tracker_client_announce (p->client, event, left, numwant,
          offers, n_offers, &error), "announce: %s",
      error ? error->message : "?");
  fail_unless (WAIT_FOR (p->n_replies > before, 5000), "no announce reply");
  fail_unless_equals_int (p->interval, 120);
}

static SwarmTrackerServer *
server_start (guint port)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  GError *error = NULL;

  fail_unless (swarm_tracker_server_listen (s, "127.0.0.1", port, &error),
      "listen: %s", error ? error->message : "?");
  fail_unless (swarm_tracker_server_get_port (s) != 0);
  if (port != 0)
    fail_unless_equals_int (swarm_tracker_server_get_port (s), port);
  return s;
}

static gchar *
server_url (SwarmTrackerServer * s)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/announce",
      swarm_tracker_server_get_port (s));
}

/* SDP-like text with CR LF, quotes, backslashes and non-ASCII, which must
 * all arrive byte for byte. */
static const gchar *offer_sdp =
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "a=ice-ufrag:\"q\\u\"\r\na=candidate:1 1 UDP 2013266431 10.0.0.1 "
    "50000 typ host\r\ns=\xc3\xa9t\xc3\xa9\r\n";
static const gchar *answer_sdp = "v=0\r\na=ice-pwd:answer-secret\r\n";

/* ---- tests -------------------------------------------------------- */

GST_START_TEST (test_offer_answer)
{
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  TestPeer *a = peer_new (url, IH1, 1);
  TestPeer *b = peer_new (url, IH1, 2);
  TestPeer *c = peer_new (url, IH1, 3);
  SwarmTrackerOffer offer = { "offer-id-00000000001", offer_sdp };
  SwarmTrackerOffer two[2] = {
    {"offer-id-00000000002", "v=0\r\nsecond\r\n"},
    {"offer-id-00000000003", "v=0\r\nthird\r\n"},
  };
  TestPeer *got, *other;
  Signal *sig;
  GError *error = NULL;

  peer_start (a);
  peer_start (b);
  peer_start (c);

  /* A leeches (left > 0), B and C seed (left == 0). */
  peer_announce (a, "started", 1000, 0, NULL, 0);
  fail_unless_equals_int (a->complete, 0);
  fail_unless_equals_int (a->incomplete, 1);
  peer_announce (b, "started", 0, 0, NULL, 0);
  fail_unless_equals_int (b->complete, 1);
  fail_unless_equals_int (b->incomplete, 1);
  peer_announce (c, "started", 0, 0, NULL, 0);
  fail_unless_equals_int (c->complete, 2);
  fail_unless_equals_int (c->incomplete, 1);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 3);

  /* One offer reaches exactly one other peer, text intact. */
  peer_announce (a, NULL, 1000, 5, &offer, 1);
  fail_unless_equals_int (a->complete, 2);
  fail_unless_equals_int (a->incomplete, 1);
  fail_unless (WAIT_FOR (b->offers->len + c->offers->len >= 1, 5000));
  spin (200);
  fail_unless_equals_int (b->offers->len + c->offers->len, 1);
  fail_unless_equals_int (a->offers->len, 0);
  got = b->offers->len ? b : c;
  sig = g_ptr_array_index (got->offers, 0);
  fail_unless_equals_string (sig->peer_id, a->peer_id);
  fail_unless_equals_string (sig->offer_id, offer.offer_id);
  fail_unless_equals_string (sig->sdp, offer_sdp);

  /* The answer goes back to A, naming the answerer. */
  fail_unless (swarm_tracker_client_answer (got->client, a->peer_id,
          sig->offer_id, answer_sdp, &error));
  fail_unless (WAIT_FOR (a->answers->len >= 1, 5000));
  spin (100);
  fail_unless_equals_int (a->answers->len, 1);
  sig = g_ptr_array_index (a->answers, 0);
  fail_unless_equals_string (sig->peer_id, got->peer_id);
  fail_unless_equals_string (sig->offer_id, offer.offer_id);
  fail_unless_equals_string (sig->sdp, answer_sdp);
  other = got == b ? c : b;
  fail_unless_equals_int (other->answers->len, 0);

  /* Two offers go to two distinct peers. */
  g_ptr_array_set_size (b->offers, 0);
  g_ptr_array_set_size (c->offers, 0);
  peer_announce (a, NULL, 1000, 0, two, 2);
  fail_unless (WAIT_FOR (b->offers->len == 1 && c->offers->len == 1, 5000));
  spin (200);
  fail_unless_equals_int (b->offers->len, 1);
  fail_unless_equals_int (c->offers->len, 1);
  fail_unless (strcmp (((Signal *) g_ptr_array_index (b->offers, 0))->offer_id,
          ((Signal *) g_ptr_array_index (c->offers, 0))->offer_id) != 0);

  /* numwant bounds the offers handed out. */
  g_ptr_array_set_size (b->offers, 0);
  g_ptr_array_set_size (c->offers, 0);
  peer_announce (a, NULL, 1000, 1, two, 2);
  spin (300);
  fail_unless_equals_int (b->offers->len + c->offers->len, 1);

  /* A finishing turns it into a seeder. */
  peer_announce (a, "completed", 0, 0, NULL, 0);
  fail_unless_equals_int (a->complete, 3);
  fail_unless_equals_int (a->incomplete, 0);
  fail_unless_equals_int (a->n_errors, 0);
  fail_unless_equals_int (b->n_errors, 0);

  peer_free (a);
  peer_free (b);
  peer_free (c);
  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

GST_START_TEST (test_info_hash_isolated)
{
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  TestPeer *a = peer_new (url, IH1, 1);
  TestPeer *b = peer_new (url, IH1, 2);
  TestPeer *d = peer_new (url, IH2, 4);
  SwarmTrackerOffer offers[3] = {
    {"offer-id-00000000011", "v=0\r\n1\r\n"},
    {"offer-id-00000000012", "v=0\r\n2\r\n"},
    {"offer-id-00000000013", "v=0\r\n3\r\n"},
  };

  peer_start (a);
  peer_start (b);
  peer_start (d);
  peer_announce (d, "started", 0, 0, NULL, 0);
  fail_unless_equals_int (d->complete, 1);
  fail_unless_equals_int (d->incomplete, 0);
  peer_announce (b, "started", 5, 0, NULL, 0);
  fail_unless_equals_int (b->complete, 0);
  fail_unless_equals_int (b->incomplete, 1);

  /* Three offers, one other peer in the swarm: one is used, D gets none. */
  peer_announce (a, "started", 5, 10, offers, 3);
  fail_unless_equals_int (a->complete, 0);
  fail_unless_equals_int (a->incomplete, 2);
  fail_unless (WAIT_FOR (b->offers->len >= 1, 5000));
  spin (300);
  fail_unless_equals_int (b->offers->len, 1);
  fail_unless_equals_int (d->offers->len, 0);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 3);

  peer_announce (d, NULL, 0, 0, NULL, 0);
  fail_unless_equals_int (d->complete, 1);
  fail_unless_equals_int (d->incomplete, 0);

  peer_free (a);
  peer_free (b);
  peer_free (d);
  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

/* ---- raw WebSocket, for what the client API never sends ------------ */

typedef struct {
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GPtrArray *texts;
  gboolean done;
  gboolean closed;
  gboolean may_fail;            /* a refusal is expected: keep it */
  GError *error;
  guint status;
  gchar *reason;
} Raw;

static void
raw_on_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer user_data)
{
  Raw *r = user_data;
  gsize len;
  const gchar *data = g_bytes_get_data (message, &len);

  g_ptr_array_add (r->texts, g_strndup (data, len));
}

static void
raw_on_closed (SoupWebsocketConnection * ws, gpointer user_data)
{
  Raw *r = user_data;

  r->closed = TRUE;
}

static void
raw_on_connected (GObject * source, GAsyncResult * res, gpointer user_data)
{
  Raw *r = user_data;
  GError *error = NULL;

  r->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), res,
      &error);
  if (r->ws == NULL && r->may_fail) {
    r->error = error;
    r->done = TRUE;
    return;
  }
  fail_unless (r->ws != NULL, "raw connect: %s",
      error ? error->message : "?");
  g_signal_connect (r->ws, "message", G_CALLBACK (raw_on_message), r);
  g_signal_connect (r->ws, "closed", G_CALLBACK (raw_on_closed), r);
  r->done = TRUE;
}

static Raw *
raw_connect_full (const gchar * url, gboolean may_fail)
{
  Raw *r = g_new0 (Raw, 1);
  SoupMessage *msg = soup_message_new ("GET", url);

  r->session = soup_session_new ();
  r->texts = g_ptr_array_new_with_free_func (g_free);
  r->may_fail = may_fail;
  soup_session_websocket_connect_async (r->session, msg, NULL, NULL,
      G_PRIORITY_DEFAULT, NULL, raw_on_connected, r);
  fail_unless (WAIT_FOR (r->done, 5000), "raw connect timed out");
  r->status = soup_message_get_status (msg);
  r->reason = g_strdup (soup_message_get_reason_phrase (msg));
  g_object_unref (msg);
  return r;
}

static Raw *
raw_connect (const gchar * url)
{
  return raw_connect_full (url, FALSE);
}

static void
raw_free (Raw * r)
{
  if (r->ws) {
    g_signal_handlers_disconnect_by_data (r->ws, r);
    if (soup_websocket_connection_get_state (r->ws) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (r->ws, SOUP_WEBSOCKET_CLOSE_NORMAL,
          NULL);
    g_object_unref (r->ws);
  }
  g_object_unref (r->session);
  g_ptr_array_unref (r->texts);
  g_clear_error (&r->error);
  g_free (r->reason);
  g_free (r);
}

/* Sends @text and returns the one reply, parsed. */
static JsonObject *
raw_request (Raw * r, const gchar * text)
{
  guint before = r->texts->len;
  JsonNode *node;
  JsonObject *obj;

  soup_websocket_connection_send_text (r->ws, text);
  fail_unless (WAIT_FOR (r->texts->len > before, 5000), "no reply to %s",
      text);
  node = json_from_string (g_ptr_array_index (r->texts, before), NULL);
  fail_unless (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  obj = json_object_ref (json_node_get_object (node));
  json_node_unref (node);
  return obj;
}

static void
assert_failure (Raw * r, const gchar * text)
{
  JsonObject *reply = raw_request (r, text);

  fail_unless (json_object_has_member (reply, "failure reason"),
      "no failure reason for %s", text);
  fail_unless (strlen (json_object_get_string_member (reply,
              "failure reason")) > 0);
  json_object_unref (reply);
}

static const gchar *announce_json =
    "{\"action\":\"announce\",\"info_hash\":\"" IH1 "\","
    "\"peer_id\":\"-RAW0001-abcdefghijk\",\"left\":0,\"event\":\"started\"}";

GST_START_TEST (test_malformed)
{
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  Raw *r = raw_connect (url);
  JsonObject *reply;
  gchar *huge;
  const gchar *bad[] = {
    "not json",
    "",
    "[1,2,3]",
    "{}",
    "{\"action\":\"announce\"}",
    "{\"action\":\"fly\",\"info_hash\":\"" IH1 "\"}",
    "{\"action\":\"announce\",\"info_hash\":\"short\",\"peer_id\":"
        "\"-RAW0001-abcdefghijk\"}",
    "{\"action\":\"announce\",\"info_hash\":\"" IH1 "\"}",
    "{\"action\":\"announce\",\"info_hash\":\"\\u0100nfo-hash-0000000001\","
        "\"peer_id\":\"-RAW0001-abcdefghijk\"}",
    "{\"action\":\"announce\",\"info_hash\":\"" IH1 "\",\"peer_id\":"
        "\"-RAW0001-abcdefghijk\",\"offers\":[{\"offer_id\":"
        "\"offer-id-00000000001\",\"offer\":{\"type\":\"answer\","
        "\"sdp\":\"x\"}}]}",
    "{\"action\":\"announce\",\"info_hash\":\"" IH1 "\",\"peer_id\":"
        "\"-RAW0001-abcdefghijk\",\"offers\":[{\"offer_id\":"
        "\"offer-id-00000000001\",\"offer\":\"v=0\"}]}",
    "{\"action\":\"announce\",\"info_hash\":\"" IH1 "\",\"peer_id\":"
        "\"-RAW0001-abcdefghijk\",\"left\":-1}",
    "{\"action\":\"announce\",\"info_hash\":\"" IH1 "\",\"peer_id\":"
        "\"-RAW0001-abcdefghijk\",\"to_peer_id\":\"-RAW0001-zzzzzzzzzzz\","
        "\"offer_id\":\"offer-id-00000000001\",\"answer\":{\"type\":"
        "\"answer\"}}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_failure (r, bad[i]);

  {
    guint before = r->texts->len;

    soup_websocket_connection_send_binary (r->ws, "\x01\x02", 2);
    fail_unless (WAIT_FOR (r->texts->len > before, 5000));
    fail_unless (strstr (g_ptr_array_index (r->texts, before),
            "\"failure reason\"") != NULL);
  }
  assert_failure (r, "{}");

  /* The connection survived all of it and still works. */
  fail_if (r->closed);
  reply = raw_request (r, announce_json);
  fail_if (json_object_has_member (reply, "failure reason"));
  fail_unless_equals_string (json_object_get_string_member (reply, "action"),
      "announce");
  fail_unless_equals_int (json_object_get_int_member (reply, "complete"), 1);
  fail_unless_equals_int (json_object_get_int_member (reply, "incomplete"),
      0);
  fail_unless_equals_int (json_object_get_int_member (reply, "interval"),
      120);
  json_object_unref (reply);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 1);

  /* Scrape, single and list, known and unknown info_hash. */
  reply = raw_request (r, "{\"action\":\"scrape\",\"info_hash\":\"" IH1 "\"}");
  {
    JsonObject *files = json_object_get_object_member (reply, "files");
    JsonObject *f = json_object_get_object_member (files, IH1);

    fail_unless_equals_int (json_object_get_int_member (f, "complete"), 1);
    fail_unless_equals_int (json_object_get_int_member (f, "incomplete"), 0);
  }
  json_object_unref (reply);
  reply = raw_request (r, "{\"action\":\"scrape\",\"info_hash\":[\"" IH1
      "\",\"" IH2 "\"]}");
  {
    JsonObject *files = json_object_get_object_member (reply, "files");
    JsonObject *f = json_object_get_object_member (files, IH2);

    fail_unless_equals_int (json_object_get_size (files), 2);
    fail_unless_equals_int (json_object_get_int_member (f, "complete"), 0);
  }
  json_object_unref (reply);

  /* A frame above 64 KiB is refused by closing that connection only. */
  huge = g_malloc (70 * 1024 + 1);
  memset (huge, ' ', 70 * 1024);
  huge[70 * 1024] = '\0';
  huge[0] = '{';
  huge[70 * 1024 - 1] = '}';
  soup_websocket_connection_send_text (r->ws, huge);
  g_free (huge);
  fail_unless (WAIT_FOR (r->closed, 5000), "oversized frame not refused");
  fail_unless (WAIT_FOR (swarm_tracker_server_get_n_peers (s) == 0, 5000));
  raw_free (r);

  r = raw_connect (url);
  reply = raw_request (r, announce_json);
  fail_unless_equals_int (json_object_get_int_member (reply, "complete"), 1);
  json_object_unref (reply);
  raw_free (r);

  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

GST_START_TEST (test_stopped_and_close)
{
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  TestPeer *a = peer_new (url, IH1, 1);
  TestPeer *b = peer_new (url, IH1, 2);
  TestPeer *c = peer_new (url, IH1, 3);
  JsonObject *reply;
  Raw *r;

  peer_start (a);
  peer_start (b);
  peer_start (c);
  peer_announce (a, "started", 0, 0, NULL, 0);
  peer_announce (b, "started", 0, 0, NULL, 0);
  peer_announce (c, "started", 0, 0, NULL, 0);
  r = raw_connect (url);
  reply = raw_request (r, announce_json);
  json_object_unref (reply);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 4);

  /* "stopped" removes the peer but keeps the connection. */
  fail_unless (swarm_tracker_client_announce (a->client, "stopped", 0, 0,
          NULL, 0, NULL));
  fail_unless (WAIT_FOR (swarm_tracker_server_get_n_peers (s) == 3, 5000));
  fail_unless (swarm_tracker_client_is_connected (a->client));
  peer_announce (b, NULL, 0, 0, NULL, 0);
  fail_unless_equals_int (b->complete, 3);

  /* Freeing a client says "stopped" and closes. */
  peer_free (c);
  fail_unless (WAIT_FOR (swarm_tracker_server_get_n_peers (s) == 2, 5000));

  /* Closing the socket without a word counts as "stopped" too. */
  soup_websocket_connection_close (r->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  fail_unless (WAIT_FOR (swarm_tracker_server_get_n_peers (s) == 1, 5000));
  raw_free (r);

  peer_announce (b, NULL, 0, 0, NULL, 0);
  fail_unless_equals_int (b->complete, 1);
  fail_unless_equals_int (b->incomplete, 0);

  peer_free (a);
  peer_free (b);
  fail_unless (WAIT_FOR (swarm_tracker_server_get_n_peers (s) == 0, 5000));
  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

/* The per-address bound, when set (none by default: a crowd behind one
 * NAT is one address). */
GST_START_TEST (test_connections_per_address)
{
  SwarmTrackerServer *s = swarm_tracker_server_new ();
  SwarmTrackerServerLimits limits;
  GPtrArray *raws = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_free);
  JsonObject *reply;
  gchar *url;
  Raw *extra;
  guint i;

  swarm_tracker_server_limits_init (&limits);
  fail_unless_equals_int (limits.max_connections_per_address, 0);
  limits.max_connections_per_address = 64;
  swarm_tracker_server_set_limits (s, &limits);
  fail_unless (swarm_tracker_server_listen (s, "127.0.0.1", 0, NULL));
  url = server_url (s);

  for (i = 0; i < 64; i++)
    g_ptr_array_add (raws, raw_connect (url));
  /* Refused before the upgrade, and told why. */
  extra = raw_connect_full (url, TRUE);
  fail_unless (extra->ws == NULL, "connection over the limit not refused");
  fail_unless_equals_int (extra->status, 503);
  fail_unless_equals_string (extra->reason,
      "too many connections from this address");
  raw_free (extra);

  /* Those within the limit still work, and a freed slot can be reused. */
  reply = raw_request (g_ptr_array_index (raws, 63), announce_json);
  fail_if (json_object_has_member (reply, "failure reason"));
  json_object_unref (reply);
  g_ptr_array_remove_index (raws, 0);
  spin (200);
  extra = raw_connect (url);
  spin (200);
  fail_if (extra->closed);
  fail_unless_equals_int (extra->texts->len, 0);
  raw_free (extra);

  g_ptr_array_unref (raws);
  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

static guint
closed_port (void)
{
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new (lo, 0);
  GSocketAddress *local;
  guint port;

  fail_unless (g_socket_bind (sock, addr, FALSE, NULL));
  local = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_object_unref (local);
  g_object_unref (addr);
  g_object_unref (lo);
  g_object_unref (sock);        /* bound, never listened: connects fail */
  return port;
}

GST_START_TEST (test_connect_error_retries)
{
  gchar *url = g_strdup_printf ("ws://127.0.0.1:%u/", closed_port ());
  TestPeer *p = peer_new (url, IH1, 1);
  gint64 start = g_get_monotonic_time ();
  GError *error = NULL;

  swarm_tracker_client_start (p->client);
  /* Errors at about 0 s, 0.5 s, 1.5 s, 3.5 s. */
  fail_unless (WAIT_FOR (p->n_errors >= 3, 4000), "only %u errors",
      p->n_errors);
  fail_unless (g_get_monotonic_time () - start >= 1400 * 1000,
      "retries faster than the backoff");
  fail_unless (g_error_matches (p->last_error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_CONNECT));
  fail_unless (strstr (p->last_error->message, url) != NULL);
  fail_if (swarm_tracker_client_is_connected (p->client));
  fail_unless_equals_int (p->n_connected, 0);
  /* the session warns on the first failure only */
  fail_unless (swarm_tracker_client_get_failures (p->client) >= 3);
  fail_unless_equals_string (swarm_tracker_client_get_url (p->client), url);

  fail_if (swarm_tracker_client_announce (p->client, "started", 0, 0, NULL,
          0, &error));
  fail_unless (g_error_matches (error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_CONNECT));
  g_clear_error (&error);

  /* No callbacks once freed, even with a retry pending. */
  peer_free (p);
  spin (1200);
  g_free (url);
}

GST_END_TEST;

static gboolean
on_plain_incoming (GSocketService * service, GSocketConnection * conn,
    GObject * source, gpointer user_data)
{
  static const gchar reply[] = "HTTP/1.1 400 Bad Request\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n";

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM
          (conn)), reply, sizeof reply - 1, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  return TRUE;
}

/* wss:// goes through TLS: against a plain-text server the handshake
 * fails with a TLS error, not an unsupported-scheme one. */
GST_START_TEST (test_wss_uses_tls)
{
  GSocketService *service = g_socket_service_new ();
  guint16 port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER
      (service), NULL, NULL);
  gchar *url = g_strdup_printf ("wss://127.0.0.1:%u/announce", port);
  TestPeer *p;

  fail_unless (port != 0);
  g_signal_connect (service, "incoming", G_CALLBACK (on_plain_incoming),
      NULL);
  g_socket_service_start (service);
  fail_unless (swarm_uri_check_tracker_url (url, NULL));
  p = peer_new (url, IH1, 1);
  swarm_tracker_client_start (p->client);
  fail_unless (WAIT_FOR (p->n_errors >= 1, 5000), "no error");
  GST_INFO ("wss to a plain server: %s", p->last_error->message);
  fail_unless (g_error_matches (p->last_error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_CONNECT));
  fail_unless (strstr (p->last_error->message, "TLS") != NULL, "%s",
      p->last_error->message);
  fail_unless_equals_int (p->n_connected, 0);

  peer_free (p);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
  g_free (url);
}

GST_END_TEST;

GST_START_TEST (test_server_restart)
{
  SwarmTrackerServer *s = server_start (0);
  guint port = swarm_tracker_server_get_port (s);
  gchar *url = server_url (s);
  TestPeer *a = peer_new (url, IH1, 1);
  TestPeer *b = peer_new (url, IH1, 2);

  peer_start (a);
  peer_start (b);
  peer_announce (a, "started", 0, 0, NULL, 0);
  peer_announce (b, "started", 0, 0, NULL, 0);
  fail_unless_equals_int (b->complete, 2);

  swarm_tracker_server_free (s);
  fail_unless (WAIT_FOR (a->n_errors >= 1 && b->n_errors >= 1, 5000),
      "clients did not notice the tracker going away");
  fail_unless (a->last_error->domain == SWARM_TRACKER_ERROR);
  fail_if (swarm_tracker_client_is_connected (a->client));
  fail_unless (swarm_tracker_client_get_failures (a->client) >= 1);

  /* A new tracker on the same port: both come back on their own. */
  s = server_start (port);
  fail_unless (WAIT_FOR (a->n_connected == 2 && b->n_connected == 2, 10000),
      "clients did not reconnect");
  fail_unless_equals_int (swarm_tracker_client_get_failures (a->client), 0);
  peer_announce (a, "started", 0, 0, NULL, 0);
  peer_announce (b, "started", 0, 0, NULL, 0);
  fail_unless_equals_int (b->complete, 2);
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 2);

  peer_free (a);
  peer_free (b);
  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

GST_START_TEST (test_too_large)
{
  TestPeer *p = peer_new ("ws://127.0.0.1:9/", IH1, 1);
  gchar *sdp = g_malloc (17 * 1024 + 1);
  gchar *part = g_malloc (1700 + 1);
  SwarmTrackerOffer offers[SWARM_TRACKER_MAX_OFFERS];
  GError *error = NULL;
  guint i;

  memset (sdp, 'a', 17 * 1024);
  sdp[17 * 1024] = '\0';
  offers[0].offer_id = "offer-id-00000000001";
  offers[0].sdp = sdp;
  fail_if (swarm_tracker_client_announce (p->client, NULL, 0, 0, offers, 1,
          &error));
  fail_unless (g_error_matches (error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_TOO_LARGE));
  g_clear_error (&error);

  fail_if (swarm_tracker_client_answer (p->client, "-GP0001-test00000002",
          "offer-id-00000000001", sdp, &error));
  fail_unless (g_error_matches (error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_TOO_LARGE));
  g_clear_error (&error);

  /* Ten offers small enough alone, too large together. */
  memset (part, 'b', 1700);
  part[1700] = '\0';
  for (i = 0; i < SWARM_TRACKER_MAX_OFFERS; i++) {
    offers[i].offer_id = "offer-id-00000000001";
    offers[i].sdp = part;
  }
  fail_if (swarm_tracker_client_announce (p->client, NULL, 0, 0, offers,
          SWARM_TRACKER_MAX_OFFERS, &error));
  fail_unless (g_error_matches (error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_TOO_LARGE));
  g_clear_error (&error);

  /* JSON escaping counts: 3000 CR LF pairs are 12000 bytes once escaped. */
  g_free (sdp);
  sdp = g_strnfill (6000, '\r');
  for (i = 1; i < 6000; i += 2)
    sdp[i] = '\n';
  offers[0].sdp = sdp;
  fail_if (swarm_tracker_client_announce (p->client, NULL, 0, 0, offers, 1,
          &error));
  fail_unless (g_error_matches (error, SWARM_TRACKER_ERROR,
          SWARM_TRACKER_ERROR_CONNECT), "a 12 KB frame is within the limit");
  g_clear_error (&error);

  peer_free (p);
  g_free (sdp);
  g_free (part);
}

GST_END_TEST;

GST_START_TEST (test_default_context_untouched)
{
  /* The tests above already run on a non-default context; here the global
   * default context must stay untouched by the client's sources. */
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  TestPeer *a = peer_new (url, IH1, 1);

  peer_start (a);
  peer_announce (a, "started", 0, 0, NULL, 0);
  fail_if (g_main_context_pending (g_main_context_default ()));
  peer_free (a);
  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

/* The swarm runs its networking on a private thread with its own
 * thread-default context; the main thread here never iterates it. */
typedef struct {
  gboolean offer_delivered;
  gboolean answer_delivered;
  gboolean default_context_idle;
} ThreadResult;

static gboolean
thread_wait (GMainContext * tctx, gboolean * flag, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms *1000;

  while (!*flag && g_get_monotonic_time () < end) {
    if (!g_main_context_iteration (tctx, FALSE))
      g_usleep (1000);
  }
  return *flag;
}

typedef struct {
  gboolean connected, replied, offered, answered;
  gchar *offer_id;
} ThreadPeer;

static void
tp_connected (SwarmTrackerClient * c, gpointer user_data)
{
  ((ThreadPeer *) user_data)->connected = TRUE;
}

static void
tp_reply (SwarmTrackerClient * c, guint complete, guint incomplete,
    guint interval_s, gpointer user_data)
{
  ((ThreadPeer *) user_data)->replied = TRUE;
}

static void
tp_offer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  ThreadPeer *p = user_data;

  p->offered = strcmp (sdp, offer_sdp) == 0;
  g_free (p->offer_id);
  p->offer_id = g_strdup (offer_id);
  swarm_tracker_client_answer (c, peer_id, offer_id, answer_sdp, NULL);
}

static void
tp_answer (SwarmTrackerClient * c, const gchar * peer_id,
    const gchar * offer_id, const gchar * sdp, gpointer user_data)
{
  ((ThreadPeer *) user_data)->answered = strcmp (sdp, answer_sdp) == 0;
}

static gpointer
tracker_thread (gpointer data)
{
  static const SwarmTrackerClientCallbacks tcb = {
    tp_connected, tp_reply, tp_offer, tp_answer, NULL
  };
  ThreadResult *res = data;
  GMainContext *tctx = g_main_context_new ();
  SwarmTrackerServer *s;
  SwarmTrackerClient *a, *b;
  ThreadPeer pa = { 0 }, pb = { 0 };
  SwarmTrackerOffer offer = { "offer-id-00000000099", offer_sdp };
  gchar *url;

  g_main_context_push_thread_default (tctx);
  s = swarm_tracker_server_new ();
  if (swarm_tracker_server_listen (s, "127.0.0.1", 0, NULL)) {
    url = g_strdup_printf ("ws://127.0.0.1:%u/",
        swarm_tracker_server_get_port (s));
    a = swarm_tracker_client_new (url, IH1, "-GP0001-thread000001", &tcb, &pa);
    b = swarm_tracker_client_new (url, IH1, "-GP0001-thread000002", &tcb, &pb);
    swarm_tracker_client_start (a);
    swarm_tracker_client_start (b);
    if (thread_wait (tctx, &pa.connected, 5000)
        && thread_wait (tctx, &pb.connected, 5000)
        && swarm_tracker_client_announce (b, "started", 0, 0, NULL, 0, NULL)
        && thread_wait (tctx, &pb.replied, 5000)
        && swarm_tracker_client_announce (a, "started", 0, 0, &offer, 1,
            NULL)) {
      res->offer_delivered = thread_wait (tctx, &pb.offered, 5000)
          && g_strcmp0 (pb.offer_id, offer.offer_id) == 0;
      res->answer_delivered = thread_wait (tctx, &pa.answered, 5000);
    }
    swarm_tracker_client_free (a);
    swarm_tracker_client_free (b);
    g_free (url);
  }
  swarm_tracker_server_free (s);
  res->default_context_idle =
      !g_main_context_pending (g_main_context_default ());
  g_free (pb.offer_id);
  g_main_context_pop_thread_default (tctx);
  g_main_context_unref (tctx);
  return NULL;
}

GST_START_TEST (test_private_thread)
{
  ThreadResult res = { 0 };
  GThread *thread = g_thread_new ("tracker", tracker_thread, &res);

  g_thread_join (thread);
  fail_unless (res.offer_delivered, "offer lost on the private thread");
  fail_unless (res.answer_delivered, "answer lost on the private thread");
  fail_unless (res.default_context_idle);
}

GST_END_TEST;

/* A connection flooding messages is closed, and counted; others are not
 * affected. */
GST_START_TEST (test_message_flood)
{
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  Raw *r = raw_connect (url), *other;
  SwarmTrackerServerStats st;
  JsonObject *reply;
  guint i;

  /* well past the burst the server allows one connection */
  for (i = 0; i < 400 && !r->closed; i++)
    soup_websocket_connection_send_text (r->ws, announce_json);
  fail_unless (WAIT_FOR (r->closed, 5000), "flooding connection not closed");
  /* it was answered until it flooded, then told why */
  fail_unless (r->texts->len >= 32 && r->texts->len < 400, "%u replies",
      r->texts->len);
  fail_unless (strstr (g_ptr_array_index (r->texts, r->texts->len - 1),
          "too many messages") != NULL);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_uint64 (st.connections_closed_flood, 1);
  fail_unless (WAIT_FOR (swarm_tracker_server_get_n_peers (s) == 0, 5000));
  raw_free (r);

  other = raw_connect (url);
  reply = raw_request (other, announce_json);
  fail_if (json_object_has_member (reply, "failure reason"));
  json_object_unref (reply);
  raw_free (other);

  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

/* One connection cannot join more than 16 swarms. */
GST_START_TEST (test_swarms_per_connection)
{
  SwarmTrackerServer *s = server_start (0);
  gchar *url = server_url (s);
  Raw *r = raw_connect (url);
  SwarmTrackerServerStats st;
  guint i;

  for (i = 0; i < 20; i++) {
    gchar *text = g_strdup_printf ("{\"action\":\"announce\",\"info_hash\":"
        "\"swarm-info-hash-%04u\",\"peer_id\":\"-RAW0001-abcdefghijk\","
        "\"left\":0}", i);
    JsonObject *reply = raw_request (r, text);

    fail_unless_equals_int (json_object_has_member (reply, "failure reason"),
        i >= 16);
    json_object_unref (reply);
    g_free (text);
  }
  fail_unless_equals_int (swarm_tracker_server_get_n_peers (s), 16);
  swarm_tracker_server_get_stats (s, &st);
  fail_unless_equals_uint64 (st.messages_refused, 4);
  fail_unless_equals_int (st.connections, 1);
  raw_free (r);

  swarm_tracker_server_free (s);
  g_free (url);
}

GST_END_TEST;

static Suite *
tracker_suite (void)
{
  Suite *s = suite_create ("swarm-tracker");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_offer_answer);
  tcase_add_test (tc, test_info_hash_isolated);
  tcase_add_test (tc, test_malformed);
  tcase_add_test (tc, test_stopped_and_close);
  tcase_add_test (tc, test_connections_per_address);
  tcase_add_test (tc, test_message_flood);
  tcase_add_test (tc, test_swarms_per_connection);
  tcase_add_test (tc, test_connect_error_retries);
  tcase_add_test (tc, test_wss_uses_tls);
  tcase_add_test (tc, test_server_restart);
  tcase_add_test (tc, test_too_large);
  tcase_add_test (tc, test_default_context_untouched);
  tcase_add_test (tc, test_private_thread);
  return s;
}

GST_CHECK_MAIN (tracker);

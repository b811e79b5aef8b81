/* A swarm run in shards: several virtual clocks, each driven (by its own
 * thread, in the simulator) through windows of virtual time shorter than
 * the least one-way delay between them, with what crosses from one to
 * another taken in between two windows.
 *
 * Checked: mail between clocks (swarm_clock_post) waits in the mailbox
 * until swarm_clock_take_mail, then runs at its time, ties in the order of
 * the senders' shards and then as each posted, and every item's data is
 * freed once, mail never taken included; the sharded in-memory net
 * (swarm_memory_net_new_sharded) pairs two links in two shards through
 * their descriptions (which carry host, port and secret), connects them
 * when a net of one shard would, and delivers a datagram at exactly its
 * time in the other shard once swarm_memory_net_exchange took it in, and
 * never before; and a tracker pipe with its ends on two clocks carries a
 * message and the close by mail, at exactly their time.  Why: a sharded
 * run must be the same run however its shards are run (one thread or
 * two), so a test can hold it to exact times and counts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>
#include <swarm/swarm-tracker-pipe.h>

#define START (1000 * G_USEC_PER_SEC)
#define MS 1000

/* ---- driving shards through windows ------------------------------------ */

typedef struct {
  guint index;
  SwarmClock *clock;
  /* the net's deliveries alone (NULL: no net), served with
   * swarm_memory_net_dispatch_shard as the simulator does */
  GMainContext *net_context;
  /* everything else of the shard: links' timers, mail, our own timers */
  GMainContext *context;
} Shard;

static void
shard_init (Shard * sh, guint index, gboolean with_net)
{
  sh->index = index;
  sh->clock = swarm_clock_new_virtual (START, 0);
  swarm_clock_set_shard (sh->clock, index);
  sh->net_context = with_net ? g_main_context_new () : NULL;
  sh->context = g_main_context_new ();
}

static void
shard_clear (Shard * sh)
{
  if (sh->net_context)
    g_main_context_unref (sh->net_context);
  g_main_context_unref (sh->context);
  swarm_clock_unref (sh->clock);
}

/* Runs every timer of @sh's clock due before @end_us (not at it), in
 * deadline order, each in its own context; the clock is left at the last
 * one's time. */
static void
run_shard (Shard * sh, SwarmMemoryNet * net, gint64 end_us)
{
  gint64 deadline;
  GMainContext *where;
  guint steps = 0;

  while (swarm_clock_next_timer (sh->clock, &deadline, &where)
      && deadline < end_us) {
    swarm_clock_advance_to (sh->clock, deadline);
    if (net && where == sh->net_context)
      swarm_memory_net_dispatch_shard (net, sh->index);
    else
      g_main_context_iteration (where, FALSE);
    fail_unless (++steps < 10000, "shard %u does not settle", sh->index);
  }
}

/* Between two windows, no shard running: what crossed is taken in. */
static void
between_windows (Shard * shards, guint n, SwarmMemoryNet * net)
{
  guint i;

  if (net)
    swarm_memory_net_exchange (net);
  for (i = 0; i < n; i++)
    swarm_clock_take_mail (shards[i].clock);
}

/* One window ending at @end_us for every shard, then the exchange. */
static void
run_window (Shard * shards, guint n, SwarmMemoryNet * net, gint64 end_us)
{
  guint i;

  for (i = 0; i < n; i++)
    run_shard (&shards[i], net, end_us);
  for (i = 0; i < n; i++)
    swarm_clock_advance_to (shards[i].clock, end_us);
  between_windows (shards, n, net);
}

/* ---- mail between clocks ----------------------------------------------- */

typedef struct {
  gint64 at_us;
  const gchar *label;
} Arrival;

typedef struct {
  SwarmClock *clock;             /* the receiver's */
  GArray *arrivals;              /* Arrival */
  guint notified;                /* data freed */
} MailLog;

typedef struct {
  MailLog *log;
  const gchar *label;
} Letter;

static gboolean
letter_arrive (gpointer data)
{
  Letter *letter = data;
  Arrival arrival = { swarm_clock_now_us (letter->log->clock),
    letter->label
  };

  g_array_append_val (letter->log->arrivals, arrival);
  return G_SOURCE_REMOVE;
}

static void
letter_free (gpointer data)
{
  Letter *letter = data;

  letter->log->notified++;
  g_free (letter);
}

static void
post_letter (SwarmClock * to, SwarmClock * from, gint64 at_us,
    GMainContext * context, MailLog * log, const gchar * label)
{
  Letter *letter = g_new (Letter, 1);

  letter->log = log;
  letter->label = label;
  swarm_clock_post (to, from, at_us, context, letter_arrive, letter,
      letter_free);
}

GST_START_TEST (test_mail_arrives_in_sender_order_at_its_time)
{
  SwarmClock *a = swarm_clock_new_virtual (START, 0);
  SwarmClock *b = swarm_clock_new_virtual (START, 0);
  SwarmClock *c = swarm_clock_new_virtual (START, 0);
  GMainContext *context = g_main_context_new ();
  MailLog log = { b, g_array_new (FALSE, FALSE, sizeof (Arrival)), 0 };
  static const Arrival expected[] = {
    {START + 3 * MS, "a at 3"},
    /* a tie: shard 0's before shard 2's, though shard 2 posted first */
    {START + 5 * MS, "a at 5"},
    {START + 5 * MS, "c first"},
    {START + 5 * MS, "c second"},
  };
  gint64 deadline;
  GMainContext *where;
  guint i, steps = 0;

  swarm_clock_set_shard (a, 0);
  swarm_clock_set_shard (b, 1);
  swarm_clock_set_shard (c, 2);

  post_letter (b, c, START + 5 * MS, context, &log, "c first");
  post_letter (b, c, START + 5 * MS, context, &log, "c second");
  post_letter (b, a, START + 5 * MS, context, &log, "a at 5");
  post_letter (b, a, START + 3 * MS, context, &log, "a at 3");

  /* in the mailbox: nothing is due on b, nothing runs */
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (b), -1);
  fail_if (swarm_clock_next_timer (b, &deadline, &where));
  fail_if (g_main_context_iteration (context, FALSE));
  fail_unless_equals_int (log.arrivals->len, 0);
  fail_unless_equals_int (log.notified, 0);

  swarm_clock_take_mail (b);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (b), START + 3 * MS);
  while (swarm_clock_next_timer (b, &deadline, &where)
      && deadline <= START + 10 * MS) {
    fail_unless (where == context);
    swarm_clock_advance_to (b, deadline);
    fail_unless (g_main_context_iteration (context, FALSE));
    fail_unless (++steps < 100);
  }
  swarm_clock_advance_to (b, START + 10 * MS);

  fail_unless_equals_int (log.arrivals->len, G_N_ELEMENTS (expected));
  for (i = 0; i < G_N_ELEMENTS (expected); i++) {
    const Arrival *got = &g_array_index (log.arrivals, Arrival, i);

    fail_unless_equals_int64 (got->at_us, expected[i].at_us);
    fail_unless_equals_string (got->label, expected[i].label);
  }
  /* each item's data freed once it ran */
  fail_unless_equals_int (log.notified, 4);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (b), -1);
  /* the mailbox was emptied: taking again brings nothing */
  swarm_clock_take_mail (b);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (b), -1);

  /* mail never taken is freed with the clock, and never runs */
  post_letter (b, c, START + 20 * MS, context, &log, "never taken");
  fail_unless_equals_int (log.notified, 4);
  swarm_clock_unref (b);
  fail_unless_equals_int (log.notified, 5);
  fail_unless_equals_int (log.arrivals->len, G_N_ELEMENTS (expected));

  swarm_clock_unref (a);
  swarm_clock_unref (c);
  g_main_context_unref (context);
  g_array_unref (log.arrivals);
}

GST_END_TEST;

/* ---- a link between two shards of the memory net ----------------------- */

typedef struct {
  SwarmClock *clock;
  SwarmLink *link;
  gchar *description;
  gint64 description_us;
  guint descriptions;
  gint64 connected_us;
  guint connected;
  gint64 closed_us;
  guint closed;
  gint closed_code;              /* -1: no error */
  GArray *arrival_us;            /* gint64, a datagram each */
  GByteArray *received;          /* all their bytes, in order */
} Peer;

static void
peer_description (SwarmLink * link, const gchar * sdp, gpointer user_data)
{
  Peer *p = user_data;

  p->descriptions++;
  g_free (p->description);
  p->description = g_strdup (sdp);
  p->description_us = swarm_clock_now_us (p->clock);
}

static void
peer_connected (SwarmLink * link, gpointer user_data)
{
  Peer *p = user_data;

  p->connected++;
  p->connected_us = swarm_clock_now_us (p->clock);
}

static void
peer_datagram (SwarmLink * link, const guint8 * data, gsize len,
    gpointer user_data)
{
  Peer *p = user_data;
  gint64 now = swarm_clock_now_us (p->clock);

  g_array_append_val (p->arrival_us, now);
  g_byte_array_append (p->received, data, len);
}

static void
peer_closed (SwarmLink * link, const GError * error, gpointer user_data)
{
  Peer *p = user_data;

  p->closed++;
  p->closed_us = swarm_clock_now_us (p->clock);
  p->closed_code = error ? error->code : -1;
}

static const SwarmLinkCallbacks peer_callbacks = {
  peer_description, peer_connected, peer_datagram, peer_closed,
};

static void
peer_init (Peer * p, Shard * sh, SwarmMemoryHost * host, SwarmLinkRole role)
{
  const SwarmLinkFactory *factory = swarm_memory_host_get_factory (host);
  SwarmLinkConfig config = { NULL, NULL, 0, sh->clock, factory };

  memset (p, 0, sizeof *p);
  p->clock = sh->clock;
  p->connected_us = p->closed_us = p->description_us = -1;
  p->arrival_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  p->received = g_byte_array_new ();
  p->link = factory->new_link (sh->context, role, &config, NULL,
      &peer_callbacks, p, factory->data);
  fail_unless (p->link != NULL);
}

static void
peer_clear (Peer * p)
{
  g_clear_pointer (&p->link, swarm_link_unref);
  g_free (p->description);
  g_array_unref (p->arrival_us);
  g_byte_array_unref (p->received);
}

/* Checks @sdp is "swarm-memory/1 ID HOST PORT SECRET" (a net of several
 * shards) and that it names @id on host @host, port @port. */
static void
check_description (const gchar * sdp, const gchar * id, const gchar * host,
    const gchar * port)
{
  gchar **fields = g_strsplit (sdp, " ", -1);
  guint i;

  fail_unless_equals_int (g_strv_length (fields), 5);
  fail_unless_equals_string (fields[0], "swarm-memory/1");
  fail_unless_equals_string (fields[1], id);
  fail_unless_equals_string (fields[2], host);
  fail_unless_equals_string (fields[3], port);
  fail_unless_equals_int (strlen (fields[4]), 64);
  for (i = 0; i < 64; i++)
    fail_unless (g_ascii_isxdigit (fields[4][i]), "%s", sdp);
  g_strfreev (fields);
}

/* The signalling, between two windows, as the real flow goes: the
 * answerer takes the offer once it came, the offerer the answerer's
 * description made after that (it carries the offer's secret). */
typedef struct {
  Peer *offerer, *answerer;
  gint64 offer_given_us;
  gint64 answer_given_us;
  guint answerer_descriptions_before;   /* made before it had the offer */
} Signalling;

static void
signal_between_windows (Signalling * s)
{
  GError *error = NULL;

  if (s->offer_given_us < 0 && s->offerer->description) {
    s->answerer_descriptions_before = s->answerer->descriptions;
    if (!swarm_link_set_remote_description (s->answerer->link,
            s->offerer->description, &error))
      fail ("the offer: %s", error->message);
    s->offer_given_us = swarm_clock_now_us (s->answerer->clock);
  }
  if (s->offer_given_us >= 0 && s->answer_given_us < 0
      && s->answerer->descriptions > s->answerer_descriptions_before) {
    if (!swarm_link_set_remote_description (s->offerer->link,
            s->answerer->description, &error))
      fail ("the answer: %s", error->message);
    s->answer_given_us = swarm_clock_now_us (s->offerer->clock);
  }
}

typedef struct {
  SwarmLink *link;
  SwarmClock *clock;
  const guint8 *data;
  gsize len;
  gboolean sent;
  gint64 sent_us;
} Send;

static gboolean
send_fire (gpointer data)
{
  Send *s = data;

  s->sent = swarm_link_send (s->link, s->data, s->len);
  s->sent_us = swarm_clock_now_us (s->clock);
  return G_SOURCE_REMOVE;
}

#define WINDOW (7 * MS)

GST_START_TEST (test_shards_hold_what_crosses_until_the_exchange)
{
  Shard shards[2];
  GMainContext *net_contexts[2];
  SwarmClock *clocks[2];
  SwarmMemoryNet *net;
  SwarmMemoryHostConfig config_a = { 3, 0, 0, 0.0, FALSE, 0 };
  SwarmMemoryHostConfig config_b = { 4, 0, 0, 0.0, FALSE, 0 };
  SwarmMemoryHost *host_a, *host_b;
  Peer a, b;
  Signalling signalling;
  SwarmMemoryNetStats stats;
  SwarmLinkStats link_stats;
  guint8 big[SWARM_WIRE_MAX_DATAGRAM + 1], small[100];
  static const guint8 tiny[] = { 'a', 'b', 'c' };
  guint8 key_a[32], key_b[32];
  Send send = { 0 };
  GSource *timer;
  GError *error = NULL;
  gchar *address;
  gint64 end, t0, t1, t2, tc;
  guint i;

  for (i = 0; i < 2; i++) {
    shard_init (&shards[i], i, TRUE);
    clocks[i] = shards[i].clock;
    net_contexts[i] = shards[i].net_context;
  }
  net = swarm_memory_net_new_sharded (clocks, net_contexts, 2, 7);
  fail_unless_equals_int (swarm_memory_net_get_n_shards (net), 2);
  fail_unless_equals_int64 (swarm_memory_net_get_least_delay_us (net),
      G_MAXINT64);
  host_a = swarm_memory_net_add_host_to_shard (net, 0, &config_a);
  fail_unless_equals_int64 (swarm_memory_net_get_least_delay_us (net),
      G_MAXINT64);
  host_b = swarm_memory_net_add_host_to_shard (net, 1, &config_b);
  /* 3 ms + 4 ms: the longest window */
  fail_unless_equals_int64 (swarm_memory_net_get_least_delay_us (net),
      WINDOW);

  peer_init (&a, &shards[0], host_a, SWARM_LINK_OFFERER);
  peer_init (&b, &shards[1], host_b, SWARM_LINK_ANSWERER);
  fail_unless (swarm_link_start (a.link, &error));
  fail_unless (swarm_link_start (b.link, &error));
  memset (&signalling, 0, sizeof signalling);
  signalling.offerer = &a;
  signalling.answerer = &b;
  signalling.offer_given_us = signalling.answer_given_us = -1;

  /* gathering, signalling, ICE and DTLS as modelled, window by window */
  end = START;
  while (!(a.connected && b.connected)) {
    end += WINDOW;
    fail_unless (end < START + G_USEC_PER_SEC, "not connected in a second");
    run_window (shards, 2, net, end);
    signal_between_windows (&signalling);
    if (signalling.answer_given_us < 0)
      fail_unless (!swarm_link_send (a.link, tiny, sizeof tiny));
  }
  /* gathering: 20 ms and a round trip to STUN from each host */
  fail_unless_equals_int (a.descriptions, 1);
  fail_unless_equals_int (b.descriptions, 1);
  fail_unless_equals_int64 (a.description_us, START + 26 * MS);
  fail_unless_equals_int64 (b.description_us, START + 28 * MS);
  /* with two shards, the endpoint says where it is and its secret */
  check_description (a.description, "1", "0", "40000");
  check_description (b.description, "2", "1", "40000");
  /* the windows after each description came */
  fail_unless_equals_int64 (signalling.offer_given_us, START + 28 * MS);
  fail_unless_equals_int64 (signalling.answer_given_us, START + 35 * MS);
  /* from the answer: 40 ms and 9 one-way delays of 7 ms to the answerer,
   * one more to the offerer */
  fail_unless_equals_int64 (b.connected_us, START + 138 * MS);
  fail_unless_equals_int64 (a.connected_us, START + 145 * MS);
  fail_unless_equals_int (a.connected, 1);
  fail_unless_equals_int (b.connected, 1);
  fail_unless_equals_int64 (end, START + 147 * MS);
  fail_unless_equals_int (swarm_link_get_state (a.link),
      SWARM_LINK_STATE_CONNECTED);
  fail_unless_equals_int (swarm_link_get_state (b.link),
      SWARM_LINK_STATE_CONNECTED);
  /* what the descriptions carried: the other's address, a shared secret */
  address = swarm_link_get_remote_address (a.link);
  fail_unless_equals_string (address, "10.0.0.2:40000");
  g_free (address);
  address = swarm_link_get_remote_address (b.link);
  fail_unless_equals_string (address, "10.0.0.1:40000");
  g_free (address);
  fail_unless (swarm_link_export_keying_material (a.link, "EXPORTER-test",
          key_a, sizeof key_a));
  fail_unless (swarm_link_export_keying_material (b.link, "EXPORTER-test",
          key_b, sizeof key_b));
  fail_unless (memcmp (key_a, key_b, sizeof key_a) == 0);

  /* one datagram from a timer of shard 0, within a window: there at
   * exactly 7 ms later in shard 1, driven window by window */
  for (i = 0; i < sizeof big; i++)
    big[i] = (guint8) (i * 7 + 1);
  fail_if (swarm_link_send (a.link, big, sizeof big));
  t0 = end + 2500;
  send.link = a.link;
  send.clock = a.clock;
  send.data = big;
  send.len = SWARM_WIRE_MAX_DATAGRAM;
  send.sent_us = -1;
  timer = swarm_clock_deadline_source_new (a.clock);
  g_source_set_callback (timer, send_fire, &send, NULL);
  g_source_attach (timer, shards[0].context);
  swarm_clock_source_set_deadline (a.clock, timer, t0);
  g_source_unref (timer);
  end += WINDOW;
  run_window (shards, 2, net, end);
  fail_unless (send.sent);
  fail_unless_equals_int64 (send.sent_us, t0);
  fail_unless_equals_int (b.arrival_us->len, 0);
  end += WINDOW;
  run_window (shards, 2, net, end);
  fail_unless_equals_int (b.arrival_us->len, 1);
  fail_unless_equals_int64 (g_array_index (b.arrival_us, gint64, 0),
      t0 + WINDOW);
  fail_unless_equals_int (b.received->len, SWARM_WIRE_MAX_DATAGRAM);
  fail_unless (memcmp (b.received->data, big, SWARM_WIRE_MAX_DATAGRAM) == 0);

  /* one sent between two windows: shard 1 run alone to just before it is
   * due has nothing queued for it; the exchange brings it, on time */
  t1 = end;
  for (i = 0; i < sizeof small; i++)
    small[i] = (guint8) (200 - i);
  fail_unless (swarm_link_send (a.link, small, sizeof small));
  run_shard (&shards[1], net, t1 + WINDOW - 1);
  swarm_clock_advance_to (b.clock, t1 + WINDOW - 1);
  fail_unless_equals_int (b.arrival_us->len, 1);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (b.clock), -1);
  between_windows (shards, 2, net);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (b.clock),
      t1 + WINDOW);
  /* up to and with t1 + 7 ms */
  run_shard (&shards[1], net, t1 + WINDOW + 1);
  fail_unless_equals_int (b.arrival_us->len, 2);
  fail_unless_equals_int64 (g_array_index (b.arrival_us, gint64, 1),
      t1 + WINDOW);
  fail_unless_equals_int (b.received->len,
      SWARM_WIRE_MAX_DATAGRAM + sizeof small);
  fail_unless (memcmp (b.received->data + SWARM_WIRE_MAX_DATAGRAM, small,
          sizeof small) == 0);

  /* a driver that runs shard 1 past the datagram's time without the
   * exchange breaks the window's rule: still nothing arrives until the
   * exchange, then at once */
  end = t1 + 2 * WINDOW;
  run_window (shards, 2, net, end);
  t2 = end;
  fail_unless (swarm_link_send (a.link, tiny, sizeof tiny));
  run_shard (&shards[1], net, t2 + 10 * MS);
  swarm_clock_advance_to (b.clock, t2 + 10 * MS);
  fail_unless_equals_int (b.arrival_us->len, 2);
  between_windows (shards, 2, net);
  run_shard (&shards[1], net, t2 + 10 * MS + 1);
  fail_unless_equals_int (b.arrival_us->len, 3);
  fail_unless_equals_int64 (g_array_index (b.arrival_us, gint64, 2),
      t2 + 10 * MS);
  fail_unless (memcmp (b.received->data + SWARM_WIRE_MAX_DATAGRAM +
          sizeof small, tiny, sizeof tiny) == 0);

  /* the counters of both shards add up */
  swarm_memory_net_get_stats (net, &stats);
  fail_unless_equals_uint64 (stats.datagrams, 3);
  fail_unless_equals_uint64 (stats.delivered, 3);
  fail_unless_equals_uint64 (stats.lost, 0);
  fail_unless_equals_uint64 (stats.queue_drops, 0);
  fail_unless_equals_uint64 (stats.bytes_delivered,
      SWARM_WIRE_MAX_DATAGRAM + sizeof small + sizeof tiny);
  /* two descriptions, two connections, three datagrams */
  fail_unless_equals_uint64 (stats.events, 7);
  fail_unless_equals_uint64 (swarm_memory_host_get_bytes_sent (host_a),
      SWARM_WIRE_MAX_DATAGRAM + sizeof small + sizeof tiny);
  fail_unless_equals_uint64 (swarm_memory_host_get_bytes_received (host_b),
      SWARM_WIRE_MAX_DATAGRAM + sizeof small + sizeof tiny);
  fail_unless_equals_uint64 (swarm_memory_host_get_bytes_sent (host_b), 0);
  swarm_link_get_stats (a.link, &link_stats);
  fail_unless_equals_uint64 (link_stats.datagrams_sent, 3);
  swarm_link_get_stats (b.link, &link_stats);
  fail_unless_equals_uint64 (link_stats.datagrams_received, 3);

  /* a closes between two windows: b hears it one way later, after the
   * exchange */
  end = t2 + 2 * WINDOW;
  run_window (shards, 2, net, end);
  tc = end;
  swarm_link_close (a.link);
  fail_unless_equals_int (a.closed, 1);
  fail_unless_equals_int (a.closed_code, -1);
  fail_unless_equals_int64 (a.closed_us, tc);
  run_shard (&shards[1], net, tc + WINDOW);
  fail_unless_equals_int (b.closed, 0);
  for (end = tc + WINDOW; end <= tc + 3 * WINDOW; end += WINDOW)
    run_window (shards, 2, net, end);
  fail_unless_equals_int (b.closed, 1);
  fail_unless_equals_int64 (b.closed_us, tc + WINDOW);
  fail_unless_equals_int (b.closed_code, SWARM_LINK_ERROR_CLOSED);
  fail_unless_equals_int (a.closed, 1);
  swarm_memory_net_get_stats (net, &stats);
  fail_unless_equals_uint64 (stats.events, 8);

  peer_clear (&a);
  peer_clear (&b);
  swarm_memory_net_free (net);
  for (i = 0; i < 2; i++)
    shard_clear (&shards[i]);
}

GST_END_TEST;

/* ---- a tracker pipe across two clocks ---------------------------------- */

typedef struct {
  SwarmClock *clock;
  GArray *message_us;            /* gint64 */
  GPtrArray *messages;           /* gchar* */
  guint closed;
  gint64 closed_us;
} PipeLog;

static void
pipe_message (SwarmTrackerPipe * pipe, const gchar * data, gsize len,
    gpointer user_data)
{
  PipeLog *log = user_data;
  gint64 now = swarm_clock_now_us (log->clock);

  g_array_append_val (log->message_us, now);
  g_ptr_array_add (log->messages, g_strndup (data, len));
}

static void
pipe_closed (SwarmTrackerPipe * pipe, gpointer user_data)
{
  PipeLog *log = user_data;

  log->closed++;
  log->closed_us = swarm_clock_now_us (log->clock);
}

static const SwarmTrackerPipeCallbacks pipe_callbacks = {
  pipe_message, pipe_closed,
};

static void
pipe_log_init (PipeLog * log, SwarmClock * clock)
{
  log->clock = clock;
  log->message_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  log->messages = g_ptr_array_new_with_free_func (g_free);
  log->closed = 0;
  log->closed_us = -1;
}

static void
pipe_log_clear (PipeLog * log)
{
  g_array_unref (log->message_us);
  g_ptr_array_unref (log->messages);
}

#define PIPE_DELAY (10 * MS)

GST_START_TEST (test_pipe_across_clocks_delivers_after_the_mail)
{
  Shard shards[2];
  SwarmTrackerPipe *a, *b;
  PipeLog log_a, log_b;
  MailLog left = { NULL, g_array_new (FALSE, FALSE, sizeof (Arrival)), 0 };
  gint64 open_us = START + 4 * PIPE_DELAY, sent_us, reply_us, close_us;
  guint i;

  for (i = 0; i < 2; i++)
    shard_init (&shards[i], i, FALSE);
  pipe_log_init (&log_a, shards[0].clock);
  pipe_log_init (&log_b, shards[1].clock);
  swarm_tracker_pipe_new_pair_across (shards[0].clock, shards[0].context,
      shards[1].clock, shards[1].context, PIPE_DELAY / MS, &a, &b);
  swarm_tracker_pipe_set_callbacks (a, &pipe_callbacks, &log_a);
  swarm_tracker_pipe_set_callbacks (b, &pipe_callbacks, &log_b);
  fail_unless (swarm_tracker_pipe_is_open (a));
  fail_unless (swarm_tracker_pipe_is_open (b));

  /* TCP and the WebSocket upgrade: two round trips */
  run_window (shards, 2, NULL, open_us);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[0].clock),
      -1);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[1].clock),
      -1);
  sent_us = swarm_clock_now_us (shards[0].clock);
  fail_unless_equals_int64 (sent_us, open_us);
  fail_unless (swarm_tracker_pipe_send (a, "hello"));

  /* in b's mailbox: b's clock has nothing due until it takes its mail */
  run_shard (&shards[1], NULL, sent_us + PIPE_DELAY);
  swarm_clock_advance_to (shards[1].clock, sent_us + PIPE_DELAY - 1);
  fail_unless_equals_int (log_b.messages->len, 0);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[1].clock),
      -1);
  swarm_clock_take_mail (shards[1].clock);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[1].clock),
      sent_us + PIPE_DELAY);
  /* up to and with its time */
  run_shard (&shards[1], NULL, sent_us + PIPE_DELAY + 1);
  fail_unless_equals_int (log_b.messages->len, 1);
  fail_unless_equals_string (g_ptr_array_index (log_b.messages, 0), "hello");
  fail_unless_equals_int64 (g_array_index (log_b.message_us, gint64, 0),
      sent_us + PIPE_DELAY);
  fail_unless_equals_int (log_a.messages->len, 0);

  /* b answers at once, then closes 5 ms later: a hears both by mail, one
   * delay after each, in order */
  reply_us = sent_us + PIPE_DELAY;
  fail_unless (swarm_tracker_pipe_send (b, "reply"));
  close_us = reply_us + 5 * MS;
  swarm_clock_advance_to (shards[1].clock, close_us);
  swarm_tracker_pipe_close (b);
  fail_if (swarm_tracker_pipe_is_open (b));
  fail_if (swarm_tracker_pipe_send (b, "too late"));
  fail_unless_equals_int (log_b.closed, 0);

  run_shard (&shards[0], NULL, close_us + PIPE_DELAY + 1);
  fail_unless_equals_int (log_a.messages->len, 0);
  fail_unless_equals_int (log_a.closed, 0);
  fail_unless (swarm_tracker_pipe_is_open (a));
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[0].clock),
      -1);
  swarm_clock_take_mail (shards[0].clock);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[0].clock),
      reply_us + PIPE_DELAY);
  run_shard (&shards[0], NULL, close_us + PIPE_DELAY + 1);
  fail_unless_equals_int (log_a.messages->len, 1);
  fail_unless_equals_string (g_ptr_array_index (log_a.messages, 0), "reply");
  fail_unless_equals_int64 (g_array_index (log_a.message_us, gint64, 0),
      reply_us + PIPE_DELAY);
  fail_unless_equals_int (log_a.closed, 1);
  fail_unless_equals_int64 (log_a.closed_us, close_us + PIPE_DELAY);
  fail_if (swarm_tracker_pipe_is_open (a));
  fail_if (swarm_tracker_pipe_send (a, "gone"));

  /* the closing end hears the close's reply a round trip after it,
   * locally: no mail */
  run_shard (&shards[1], NULL, close_us + 2 * PIPE_DELAY);
  fail_unless_equals_int (log_b.closed, 0);
  run_shard (&shards[1], NULL, close_us + 2 * PIPE_DELAY + 1);
  fail_unless_equals_int (log_b.closed, 1);
  fail_unless_equals_int64 (log_b.closed_us, close_us + 2 * PIPE_DELAY);
  fail_unless_equals_int (log_b.messages->len, 1);
  /* nothing more crosses either way */
  between_windows (shards, 2, NULL);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[0].clock),
      -1);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[1].clock),
      -1);
  fail_unless_equals_int (log_a.closed, 1);

  swarm_tracker_pipe_free (a);
  swarm_tracker_pipe_free (b);

  /* ends freed while open, a message in flight: each end's close goes
   * to the other by mail, and what arrives for an end that is gone is
   * dropped once the mail is taken and run, no callback invoked */
  swarm_tracker_pipe_new_pair_across (shards[0].clock, shards[0].context,
      shards[1].clock, shards[1].context, PIPE_DELAY / MS, &a, &b);
  swarm_tracker_pipe_set_callbacks (a, &pipe_callbacks, &log_a);
  swarm_tracker_pipe_set_callbacks (b, &pipe_callbacks, &log_b);
  fail_unless (swarm_tracker_pipe_send (a, "lost"));
  swarm_tracker_pipe_free (a);
  swarm_tracker_pipe_free (b);
  between_windows (shards, 2, NULL);
  fail_unless (swarm_clock_next_deadline_us (shards[0].clock) > 0);
  fail_unless (swarm_clock_next_deadline_us (shards[1].clock) > 0);
  for (i = 0; i < 2; i++)
    run_shard (&shards[i], NULL, G_MAXINT64);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[0].clock),
      -1);
  fail_unless_equals_int64 (swarm_clock_next_deadline_us (shards[1].clock),
      -1);
  fail_unless_equals_int (log_a.messages->len, 1);
  fail_unless_equals_int (log_b.messages->len, 1);
  fail_unless_equals_int (log_a.closed, 1);
  fail_unless_equals_int (log_b.closed, 1);

  pipe_log_clear (&log_a);
  pipe_log_clear (&log_b);
  /* the pipes let go of the clocks: a letter left in each mailbox is
   * freed with its clock */
  post_letter (shards[0].clock, shards[1].clock, START + G_USEC_PER_SEC,
      shards[0].context, &left, "left in a's mailbox");
  post_letter (shards[1].clock, shards[0].clock, START + G_USEC_PER_SEC,
      shards[1].context, &left, "left in b's mailbox");
  for (i = 0; i < 2; i++)
    shard_clear (&shards[i]);
  fail_unless_equals_int (left.notified, 2);
  fail_unless_equals_int (left.arrivals->len, 0);
  g_array_unref (left.arrivals);
}

GST_END_TEST;

static Suite *
memory_shards_suite (void)
{
  Suite *s = suite_create ("memory-shards");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_mail_arrives_in_sender_order_at_its_time);
  tcase_add_test (tc, test_shards_hold_what_crosses_until_the_exchange);
  tcase_add_test (tc, test_pipe_across_clocks_delivers_after_the_mail);
  return s;
}

GST_CHECK_MAIN (memory_shards);

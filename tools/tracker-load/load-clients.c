/* p2p-tracker-load: N WebSocket tracker clients in one thread.
 *
 * Each client is a small hand-written WebSocket client on a non-blocking
 * socket (RFC 6455: an HTTP upgrade, then masked frames out, plain frames
 * in), so that it can bind its socket to a source address of its own in
 * 127.0.0.0/8 before connecting (--spread-addresses), which libsoup does
 * not offer.  The messages are the library's (swarm-tracker-message.h):
 * what our viewers send, parsed as our viewers parse replies.  epoll
 * watches the sockets: a GMainContext would walk every socket at every
 * wakeup.  Timers (connect, announce, retry) are kept in a GSequence
 * ordered by due time.
 *
 * A client connects at its turn in the ramp, announces "started", then
 * announces again every interval the tracker names (or --interval), and
 * pings every --keepalive seconds in between (ours: 20 s).
 * Whatever goes wrong is counted by kind, and the client retries the way
 * ours does: after 0.5 s, doubling to 8 s.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "load.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "swarm/swarm-internal.h"
#include "swarm/swarm-tracker-message.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 8000
/* TCP connect and HTTP upgrade together. */
#define CONNECT_TIMEOUT_MS 10000
/* Until the tracker names its interval (both reference trackers: 120). */
#define DEFAULT_INTERVAL_S 120
#define READ_CHUNK 16384
/* A message from the tracker: offers are the largest (under 16 KiB). */
#define MAX_INCOMING (256 * 1024)
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

const gchar *const load_error_names[LOAD_N_ERRORS] = {
  "connect", "refused", "handshake", "timeout", "closed", "failure",
  "protocol",
};

typedef enum {
  PEER_WAITING,                  /* for its turn, or to retry */
  PEER_CONNECTING,
  PEER_UPGRADING,
  PEER_OPEN,
} PeerState;

typedef struct {
  LoadClients *lc;
  guint index;
  gint fd;
  PeerState state;
  gchar peer_id[SWARM_TRACKER_ID_LEN + 1];
  const gchar *info_hash;
  gchar accept_key[32];          /* the Sec-WebSocket-Accept we expect */
  GByteArray *in;
  GByteArray *out;
  guint32 events;                /* what epoll watches */
  gint64 due_us;
  GSequenceIter *timer;
  gint64 connect_us;
  gint64 announce_sent_us;       /* awaiting a reply since; 0 = none */
  gint64 next_announce_us, next_ping_us;
  guint backoff_ms;
  gboolean answered;             /* a reply on this connection */
  gboolean started;              /* announced "started" on it */
} Peer;

struct _LoadClients {
  const LoadOptions *opts;
  gint epfd;
  GSequence *timers;
  Peer *peers;
  guint n_peers;
  gchar **info_hashes;
  struct sockaddr_storage server;
  socklen_t server_len;
  gchar *request;                /* the upgrade request, %s for the key */
  GRand *rand;
  LoadCounters counters;
  GArray *latency_ms, *connect_ms;      /* gdouble */
  GHashTable *reasons;           /* "kind: text" -> guint64 * */
  guint8 *chunk;
};

static void peer_close (Peer * p, LoadErrorKind kind, const gchar * reason);

static gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

/* ---- timers ------------------------------------------------------- */

static gint
timer_cmp (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Peer *pa = a, *pb = b;

  if (pa->due_us != pb->due_us)
    return pa->due_us < pb->due_us ? -1 : 1;
  return pa->index < pb->index ? -1 : pa->index > pb->index;
}

static void
peer_schedule (Peer * p, gint64 due_us)
{
  if (p->timer)
    g_sequence_remove (p->timer);
  p->due_us = due_us;
  p->timer = g_sequence_insert_sorted (p->lc->timers, p, timer_cmp, NULL);
}

/* ---- errors ------------------------------------------------------- */

static void
count_error (LoadClients * lc, LoadErrorKind kind, const gchar * reason)
{
  gchar *key = g_strdup_printf ("%s: %s", load_error_names[kind],
      reason ? reason : "");
  guint64 *n = g_hash_table_lookup (lc->reasons, key);

  lc->counters.errors[kind]++;
  if (n == NULL) {
    n = g_new0 (guint64, 1);
    g_hash_table_insert (lc->reasons, key, n);
  } else {
    g_free (key);
  }
  (*n)++;
}

/* ---- output ------------------------------------------------------- */

static void
peer_watch (Peer * p, guint32 events)
{
  struct epoll_event ev = {.events = events,.data.ptr = p };

  if (events == p->events)
    return;
  epoll_ctl (p->lc->epfd, EPOLL_CTL_MOD, p->fd, &ev);
  p->events = events;
}

/* Sends what is queued; FALSE if the connection failed (and is closed). */
static gboolean
peer_flush (Peer * p)
{
  while (p->out->len > 0) {
    gssize n = send (p->fd, p->out->data, p->out->len, MSG_NOSIGNAL);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      peer_watch (p, EPOLLIN | EPOLLOUT);
      return TRUE;
    }
    if (n < 0) {
      peer_close (p, p->state == PEER_OPEN ? LOAD_ERROR_CLOSED :
          LOAD_ERROR_CONNECT, g_strerror (errno));
      return FALSE;
    }
    g_byte_array_remove_range (p->out, 0, n);
  }
  peer_watch (p, EPOLLIN);
  return TRUE;
}

/* A client frame: masked, as RFC 6455 requires of clients. */
static gboolean
peer_send_frame (Peer * p, guint opcode, const void *payload, gsize len)
{
  guint8 h[14];
  gsize hl = 2, i;
  guint32 mask = g_rand_int (p->lc->rand);
  guint8 *m = (guint8 *) & mask;
  guint start;

  h[0] = 0x80 | opcode;
  if (len < 126) {
    h[1] = 0x80 | len;
  } else if (len < 65536) {
    h[1] = 0x80 | 126;
    h[2] = len >> 8;
    h[3] = len & 0xff;
    hl = 4;
  } else {
    h[1] = 0x80 | 127;
    for (i = 0; i < 8; i++)
      h[2 + i] = ((guint64) len >> (56 - 8 * i)) & 0xff;
    hl = 10;
  }
  memcpy (h + hl, m, 4);
  hl += 4;
  g_byte_array_append (p->out, h, hl);
  start = p->out->len;
  g_byte_array_append (p->out, payload, len);
  for (i = 0; i < len; i++)
    p->out->data[start + i] ^= m[i % 4];
  return peer_flush (p);
}

static void
random_id (GRand * rand, gchar * out, gsize len)
{
  static const gchar alnum[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  gsize i;

  for (i = 0; i < len; i++)
    out[i] = alnum[g_rand_int_range (rand, 0, sizeof (alnum) - 1)];
  out[len] = '\0';
}

/* The next announce or ping, whichever comes first. */
static void
peer_schedule_next (Peer * p)
{
  gint64 due = p->next_announce_us;

  if (p->lc->opts->keepalive_s > 0)
    due = MIN (due, p->next_ping_us);
  peer_schedule (p, due);
}

static guint
peer_interval_s (LoadClients * lc)
{
  if (lc->opts->interval_s > 0)
    return lc->opts->interval_s;
  return lc->counters.interval_s ? lc->counters.interval_s :
      DEFAULT_INTERVAL_S;
}

static void
peer_announce (Peer * p)
{
  LoadClients *lc = p->lc;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  SwarmTrackerOffer offers[SWARM_TRACKER_MAX_OFFERS];
  gchar ids[SWARM_TRACKER_MAX_OFFERS][SWARM_TRACKER_ID_LEN + 1];
  guint n = MIN ((guint) lc->opts->offers, SWARM_TRACKER_MAX_OFFERS), i;

  for (i = 0; i < n; i++) {
    random_id (lc->rand, ids[i], SWARM_TRACKER_ID_LEN);
    offers[i].offer_id = ids[i];
    /* the size of a real one, roughly: ICE and DTLS lines */
    offers[i].sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        "c=IN IP4 0.0.0.0\r\na=ice-ufrag:load\r\n"
        "a=ice-pwd:loadloadloadloadloadload\r\n"
        "a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
        "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n"
        "a=candidate:1 1 UDP 2130706431 127.0.0.1 9 typ host\r\n";
  }
  text = swarm_tracker_message_write_announce (p->info_hash, p->peer_id,
      p->started ? NULL : "started", -1, n, offers, n, &error);
  if (text == NULL) {
    g_printerr ("p2p-tracker-load: %s\n", error->message);
    return;
  }
  if (p->announce_sent_us)
    count_error (lc, LOAD_ERROR_TIMEOUT, "no reply to an announce within "
        "the interval");
  p->started = TRUE;
  p->announce_sent_us = now_us ();
  lc->counters.announces_sent++;
  lc->counters.offers_sent += n;
  if (!peer_send_frame (p, 0x1, text, strlen (text)))
    return;
  p->next_announce_us = now_us () + (gint64) peer_interval_s (lc) *
      G_USEC_PER_SEC;
  peer_schedule_next (p);
}

/* ---- connections -------------------------------------------------- */

static void
peer_close (Peer * p, LoadErrorKind kind, const gchar * reason)
{
  LoadClients *lc = p->lc;

  count_error (lc, kind, reason);
  epoll_ctl (lc->epfd, EPOLL_CTL_DEL, p->fd, NULL);
  close (p->fd);
  p->fd = -1;
  if (p->state == PEER_OPEN)
    lc->counters.open--;
  if (p->answered)
    lc->counters.connected--;
  p->state = PEER_WAITING;
  p->answered = p->started = FALSE;
  p->announce_sent_us = 0;
  g_byte_array_set_size (p->in, 0);
  g_byte_array_set_size (p->out, 0);
  peer_schedule (p, now_us () + (gint64) p->backoff_ms * 1000);
  p->backoff_ms = MIN (p->backoff_ms * 2, BACKOFF_MAX_MS);
}

/* Source address @i of 127.0.0.0/8, past 127.0.0.x: 127.1.0.1 ... */
static void
spread_address (guint i, struct sockaddr_in *sin)
{
  guint x = 1 + i / (254 * 256), y = (i / 254) % 256, z = 1 + i % 254;

  memset (sin, 0, sizeof (*sin));
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl ((127u << 24) | (x << 16) | (y << 8) | z);
}

static void
peer_connect (Peer * p)
{
  LoadClients *lc = p->lc;
  struct epoll_event ev = {.events = EPOLLOUT,.data.ptr = p };
  gint one = 1;

  p->fd = socket (lc->server.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
      SOCK_CLOEXEC, 0);
  if (p->fd < 0) {
    count_error (lc, LOAD_ERROR_CONNECT, g_strerror (errno));
    peer_schedule (p, now_us () + (gint64) p->backoff_ms * 1000);
    p->backoff_ms = MIN (p->backoff_ms * 2, BACKOFF_MAX_MS);
    return;
  }
  setsockopt (p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
  if (lc->opts->spread) {
    struct sockaddr_in local;

    /* the port is chosen at connect, for the pair: no port runs out */
    setsockopt (p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
        sizeof (one));
    spread_address (p->index, &local);
    if (bind (p->fd, (struct sockaddr *) &local, sizeof (local)) < 0) {
      p->state = PEER_CONNECTING;
      epoll_ctl (lc->epfd, EPOLL_CTL_ADD, p->fd, &ev);
      peer_close (p, LOAD_ERROR_CONNECT, g_strerror (errno));
      return;
    }
  }
  p->state = PEER_CONNECTING;
  p->events = EPOLLOUT;
  epoll_ctl (lc->epfd, EPOLL_CTL_ADD, p->fd, &ev);
  p->connect_us = now_us ();
  peer_schedule (p, p->connect_us + CONNECT_TIMEOUT_MS * 1000);
  if (connect (p->fd, (struct sockaddr *) &lc->server, lc->server_len) < 0
      && errno != EINPROGRESS)
    peer_close (p, LOAD_ERROR_CONNECT, g_strerror (errno));
}

static void
peer_upgrade (Peer * p)
{
  guint8 nonce[16];
  g_autofree gchar *key = NULL, *accept = NULL, *request = NULL;
  g_autofree gchar *concat = NULL;
  GChecksum *sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof (digest), i;

  for (i = 0; i < sizeof (nonce); i++)
    nonce[i] = g_rand_int_range (p->lc->rand, 0, 256);
  key = g_base64_encode (nonce, sizeof (nonce));
  concat = g_strconcat (key, WS_GUID, NULL);
  g_checksum_update (sha1, (const guchar *) concat, strlen (concat));
  g_checksum_get_digest (sha1, digest, &digest_len);
  g_checksum_free (sha1);
  accept = g_base64_encode (digest, digest_len);
  g_strlcpy (p->accept_key, accept, sizeof (p->accept_key));

  request = g_strdup_printf (p->lc->request, key);
  g_byte_array_append (p->out, (const guint8 *) request, strlen (request));
  p->state = PEER_UPGRADING;
  peer_flush (p);
}

/* The value of header @name in @head, or NULL. */
static gchar *
head_value (const gchar * head, const gchar * name)
{
  g_auto (GStrv) lines = g_strsplit (head, "\r\n", -1);
  gsize n = strlen (name);
  guint i;

  for (i = 1; lines[i]; i++)
    if (g_ascii_strncasecmp (lines[i], name, n) == 0 && lines[i][n] == ':')
      return g_strstrip (g_strdup (lines[i] + n + 1));
  return NULL;
}

/* The tracker's answer to the upgrade; FALSE if the peer was closed. */
static gboolean
peer_read_head (Peer * p, gboolean * done)
{
  LoadClients *lc = p->lc;
  gchar *end = g_strstr_len ((const gchar *) p->in->data, p->in->len,
      "\r\n\r\n");
  g_autofree gchar *head = NULL, *accept = NULL;
  gdouble connect_ms;
  guint code;

  *done = FALSE;
  if (end == NULL) {
    if (p->in->len > 16384) {
      peer_close (p, LOAD_ERROR_HANDSHAKE, "response head too long");
      return FALSE;
    }
    return TRUE;
  }
  head = g_strndup ((const gchar *) p->in->data,
      end - (const gchar *) p->in->data);
  g_byte_array_remove_range (p->in, 0, end + 4 - (gchar *) p->in->data);
  code = g_str_has_prefix (head, "HTTP/1.1 ") ? atoi (head + 9) : 0;
  if (code != 101) {
    /* the status text is the reason: "HTTP/1.1 503 tracker full: ..." */
    g_autofree gchar *status = g_strndup (head, strcspn (head, "\r"));
    const gchar *reason = strlen (status) > 13 ? status + 13 : status;

    peer_close (p, code >= 400 && code < 600 ? LOAD_ERROR_REFUSED :
        LOAD_ERROR_HANDSHAKE, code ? reason : "not HTTP");
    return FALSE;
  }
  accept = head_value (head, "Sec-WebSocket-Accept");
  if (accept == NULL || strcmp (accept, p->accept_key) != 0) {
    peer_close (p, LOAD_ERROR_HANDSHAKE, "wrong Sec-WebSocket-Accept");
    return FALSE;
  }
  p->state = PEER_OPEN;
  p->next_ping_us = now_us () + (gint64) lc->opts->keepalive_s *
      G_USEC_PER_SEC;
  lc->counters.open++;
  lc->counters.connects++;
  connect_ms = (now_us () - p->connect_us) / 1000.0;
  g_array_append_val (lc->connect_ms, connect_ms);
  *done = TRUE;
  peer_announce (p);
  return p->fd >= 0;
}

static void
peer_on_text (Peer * p, const gchar * text, gsize len)
{
  LoadClients *lc = p->lc;
  g_autoptr (GError) error = NULL;
  g_autoptr (SwarmTrackerMessage) m = swarm_tracker_message_parse (text, len,
      &error);

  if (m == NULL) {
    count_error (lc, LOAD_ERROR_PROTOCOL, error->message);
    return;
  }
  if (m->failure_reason) {
    count_error (lc, LOAD_ERROR_FAILURE, m->failure_reason);
    p->announce_sent_us = 0;
    return;
  }
  if (m->action != SWARM_TRACKER_ACTION_ANNOUNCE)
    return;
  if (m->offer_sdp) {
    lc->counters.offers_received++;
  } else if (m->answer_sdp) {
    /* nobody here answers */
  } else if (p->announce_sent_us) {
    gdouble ms = (now_us () - p->announce_sent_us) / 1000.0;

    g_array_append_val (lc->latency_ms, ms);
    p->announce_sent_us = 0;
    lc->counters.announces++;
    if (m->interval > 0)
      lc->counters.interval_s = m->interval;
    if (!p->answered) {
      p->answered = TRUE;
      p->backoff_ms = BACKOFF_MIN_MS;
      lc->counters.connected++;
      /* the first reply names the interval: the next announce by it */
      if (lc->opts->interval_s == 0 && m->interval > 0) {
        p->next_announce_us = now_us () + m->interval * G_USEC_PER_SEC;
        peer_schedule_next (p);
      }
    }
  }
}

/* Frames from the tracker (not masked); FALSE if the peer was closed. */
static gboolean
peer_read_frames (Peer * p)
{
  for (;;) {
    const guint8 *d = p->in->data;
    guint64 len;
    gsize hl = 2;
    guint opcode;

    if (p->in->len < 2)
      return TRUE;
    len = d[1] & 0x7f;
    if (d[1] & 0x80) {
      peer_close (p, LOAD_ERROR_PROTOCOL, "masked frame from the tracker");
      return FALSE;
    }
    if (len == 126) {
      if (p->in->len < 4)
        return TRUE;
      len = (d[2] << 8) | d[3];
      hl = 4;
    } else if (len == 127) {
      guint i;

      if (p->in->len < 10)
        return TRUE;
      for (len = 0, i = 0; i < 8; i++)
        len = (len << 8) | d[2 + i];
      hl = 10;
    }
    if (len > MAX_INCOMING) {
      peer_close (p, LOAD_ERROR_PROTOCOL, "frame too large");
      return FALSE;
    }
    if (p->in->len < hl + len)
      return TRUE;
    opcode = d[0] & 0x0f;
    if (!(d[0] & 0x80)) {
      peer_close (p, LOAD_ERROR_PROTOCOL, "fragmented message");
      return FALSE;
    }
    switch (opcode) {
      case 0x1:
        peer_on_text (p, (const gchar *) d + hl, len);
        break;
      case 0x8:{
        guint code = len >= 2 ? (d[hl] << 8) | d[hl + 1] : 0;
        g_autofree gchar *reason = g_strdup_printf ("close %u%s%.*s", code,
            len > 2 ? " " : "", (gint) (len > 2 ? len - 2 : 0),
            (const gchar *) d + hl + 2);

        peer_close (p, LOAD_ERROR_CLOSED, reason);
        return FALSE;
      }
      case 0x9:{
        g_autofree guint8 *payload = g_memdup2 (d + hl, len);

        g_byte_array_remove_range (p->in, 0, hl + len);
        if (!peer_send_frame (p, 0xa, payload, len))
          return FALSE;
        continue;
      }
      default:
        break;
    }
    if (p->fd < 0)
      return FALSE;
    g_byte_array_remove_range (p->in, 0, hl + len);
  }
}

static void
peer_on_io (Peer * p, guint32 events)
{
  LoadClients *lc = p->lc;
  gboolean eof = FALSE;

  if (p->state == PEER_CONNECTING) {
    gint err = 0;
    socklen_t len = sizeof (err);

    if (getsockopt (p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
      err = errno;
    if (err) {
      peer_close (p, LOAD_ERROR_CONNECT, g_strerror (err));
      return;
    }
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    peer_upgrade (p);
    return;
  }
  if ((events & EPOLLOUT) && !peer_flush (p))
    return;
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    return;

  for (;;) {
    gssize n = recv (p->fd, lc->chunk, READ_CHUNK, 0);

    if (n > 0) {
      g_byte_array_append (p->in, lc->chunk, n);
      if (n < READ_CHUNK)
        break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    eof = TRUE;
    break;
  }

  if (p->state == PEER_UPGRADING) {
    gboolean upgraded;

    if (!peer_read_head (p, &upgraded))
      return;
    if (!upgraded) {
      if (eof)
        peer_close (p, LOAD_ERROR_HANDSHAKE, "closed during the upgrade");
      return;
    }
  }
  if (p->state == PEER_OPEN && !peer_read_frames (p))
    return;
  if (eof)
    peer_close (p, LOAD_ERROR_CLOSED, "connection closed by the tracker");
}

static void
peer_on_due (Peer * p)
{
  p->timer = NULL;
  switch (p->state) {
    case PEER_WAITING:
      peer_connect (p);
      break;
    case PEER_CONNECTING:
    case PEER_UPGRADING:
      peer_close (p, LOAD_ERROR_TIMEOUT, "connect and upgrade");
      break;
    case PEER_OPEN:{
      gint64 now = now_us ();

      if (now >= p->next_announce_us) {
        peer_announce (p);
      } else {
        p->next_ping_us = now + (gint64) p->lc->opts->keepalive_s *
            G_USEC_PER_SEC;
        p->lc->counters.pings++;
        if (peer_send_frame (p, 0x9, NULL, 0))
          peer_schedule_next (p);
      }
      break;
    }
  }
}

/* ---- the set ------------------------------------------------------ */

static gboolean
resolve (const gchar * host, guint port, struct sockaddr_storage *out,
    socklen_t * out_len, GError ** error)
{
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM }, *res = NULL;
  g_autofree gchar *service = g_strdup_printf ("%u", port);
  gint rc = getaddrinfo (host, service, &hints, &res);

  if (rc != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "cannot resolve %s: %s", host, gai_strerror (rc));
    return FALSE;
  }
  memcpy (out, res->ai_addr, res->ai_addrlen);
  *out_len = res->ai_addrlen;
  freeaddrinfo (res);
  return TRUE;
}

LoadClients *
load_clients_new (const LoadOptions * opts, const gchar * url,
    GError ** error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, error);
  g_autofree gchar *run_id = NULL;
  LoadClients *lc;
  const gchar *host;
  gint port;
  guint i;

  if (uri == NULL)
    return NULL;
  if (g_strcmp0 (g_uri_get_scheme (uri), "ws") != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "only ws:// trackers (not %s)", url);
    return NULL;
  }
  host = g_uri_get_host (uri);
  port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 80;

  lc = g_new0 (LoadClients, 1);
  lc->opts = opts;
  lc->epfd = -1;
  if (!resolve (host, port, &lc->server, &lc->server_len, error)) {
    load_clients_free (lc);
    return NULL;
  }
  if (opts->spread && lc->server.ss_family != AF_INET) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "--spread-addresses takes an IPv4 loopback tracker (127.0.0.0/8)");
    load_clients_free (lc);
    return NULL;
  }
  lc->request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: %%s\r\nSec-WebSocket-Version: 13\r\n\r\n",
      *g_uri_get_path (uri) ? g_uri_get_path (uri) : "/", host, port);
  lc->epfd = epoll_create1 (EPOLL_CLOEXEC);
  lc->timers = g_sequence_new (NULL);
  lc->rand = g_rand_new ();
  lc->latency_ms = g_array_new (FALSE, FALSE, sizeof (gdouble));
  lc->connect_ms = g_array_new (FALSE, FALSE, sizeof (gdouble));
  lc->reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  lc->chunk = g_malloc (READ_CHUNK);

  lc->info_hashes = g_new0 (gchar *, opts->swarms + 1);
  for (i = 0; i < (guint) opts->swarms; i++)
    lc->info_hashes[i] = g_strdup_printf ("load-info-hash-%05u", i);
  /* peer ids of this run only: an external tracker keeps those of the
   * last one for a while */
  run_id = g_malloc (6);
  random_id (lc->rand, run_id, 5);
  lc->n_peers = opts->peers;
  lc->peers = g_new0 (Peer, lc->n_peers);
  for (i = 0; i < lc->n_peers; i++) {
    Peer *p = &lc->peers[i];

    p->lc = lc;
    p->index = i;
    p->fd = -1;
    p->backoff_ms = BACKOFF_MIN_MS;
    p->info_hash = lc->info_hashes[i % opts->swarms];
    g_snprintf (p->peer_id, sizeof (p->peer_id), "-LD%s%012u", run_id, i);
    p->in = g_byte_array_new ();
    p->out = g_byte_array_new ();
  }
  return lc;
}

void
load_clients_start (LoadClients * lc)
{
  gint64 start = now_us ();
  guint i;

  /* each at its turn in the ramp */
  for (i = 0; i < lc->n_peers; i++)
    peer_schedule (&lc->peers[i], start + (gint64) lc->opts->ramp_s *
        G_USEC_PER_SEC * i / lc->n_peers);
}

void
load_clients_run (LoadClients * lc, gint64 end_us,
    void (*progress) (LoadClients * lc, gpointer user_data),
    gpointer user_data)
{
  struct epoll_event events[256];
  gint64 next_progress = now_us () + G_USEC_PER_SEC;
  guint i;

  while (now_us () < end_us) {
    GSequenceIter *first = g_sequence_get_begin_iter (lc->timers);
    gint64 now = now_us (), wake = MIN (end_us, next_progress);
    gint n, timeout_ms;

    if (!g_sequence_iter_is_end (first))
      wake = MIN (wake, ((Peer *) g_sequence_get (first))->due_us);
    timeout_ms = wake > now ? (gint) ((wake - now + 999) / 1000) : 0;
    n = epoll_wait (lc->epfd, events, G_N_ELEMENTS (events), timeout_ms);
    for (i = 0; i < (guint) MAX (n, 0); i++) {
      Peer *p = events[i].data.ptr;

      /* an earlier event of this batch may have closed it */
      if (p->fd >= 0)
        peer_on_io (p, events[i].events);
    }

    now = now_us ();
    for (;;) {
      GSequenceIter *it = g_sequence_get_begin_iter (lc->timers);
      Peer *p;

      if (g_sequence_iter_is_end (it))
        break;
      p = g_sequence_get (it);
      if (p->due_us > now)
        break;
      g_sequence_remove (it);
      peer_on_due (p);
    }
    if (now >= next_progress) {
      if (progress)
        progress (lc, user_data);
      next_progress += G_USEC_PER_SEC;
    }
  }
}

const LoadCounters *
load_clients_get_counters (LoadClients * lc)
{
  return &lc->counters;
}

static gint
cmp_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
quantile (GArray * samples, gdouble q)
{
  guint i;

  if (samples->len == 0)
    return NAN;
  g_array_sort (samples, cmp_double);
  i = MIN ((guint) ceil (q * samples->len), samples->len) - (q > 0);
  return g_array_index (samples, gdouble, MIN (i, samples->len - 1));
}

gdouble
load_clients_latency_ms (LoadClients * lc, gdouble q)
{
  return quantile (lc->latency_ms, q);
}

gdouble
load_clients_connect_ms (LoadClients * lc, gdouble q)
{
  return quantile (lc->connect_ms, q);
}

guint64
load_clients_errors (LoadClients * lc)
{
  guint64 n = 0;
  guint i;

  for (i = 0; i < LOAD_N_ERRORS; i++)
    n += lc->counters.errors[i];
  return n;
}

void
load_clients_add_reasons (LoadClients * lc, JsonBuilder * b)
{
  GHashTableIter iter;
  gpointer key, value;

  json_builder_begin_object (b);
  g_hash_table_iter_init (&iter, lc->reasons);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    json_builder_set_member_name (b, key);
    json_builder_add_int_value (b, *(guint64 *) value);
  }
  json_builder_end_object (b);
}

void
load_clients_free (LoadClients * lc)
{
  guint i;

  if (lc == NULL)
    return;
  for (i = 0; i < lc->n_peers; i++) {
    if (lc->peers[i].fd >= 0)
      close (lc->peers[i].fd);
    g_byte_array_unref (lc->peers[i].in);
    g_byte_array_unref (lc->peers[i].out);
  }
  g_free (lc->peers);
  if (lc->epfd >= 0)
    close (lc->epfd);
  if (lc->timers)
    g_sequence_free (lc->timers);
  if (lc->rand)
    g_rand_free (lc->rand);
  if (lc->latency_ms)
    g_array_unref (lc->latency_ms);
  if (lc->connect_ms)
    g_array_unref (lc->connect_ms);
  if (lc->reasons)
    g_hash_table_unref (lc->reasons);
  g_strfreev (lc->info_hashes);
  g_free (lc->request);
  g_free (lc->chunk);
  g_free (lc);
}

/* lab-delay: a delay line for the NAT lab, since this kernel has no netem.
 *
 *   lab-delay --queue N --delay-ms D [--jitter-ms J] [--limit P]
 *
 * iptables sends packets to NFQUEUE queue N (in this network namespace);
 * the kernel keeps each one until we give a verdict.  We note its id and
 * when it is due, and accept it then: the real packet goes on unchanged,
 * D ms late (plus up to ±J ms, never reordered).  Memory is bounded: at
 * most P packets wait, in the kernel and in our ring of ids; one more is
 * dropped, like a full router queue.  SIGTERM or SIGINT lets every waiting
 * packet go and exits.  Prints its counters on exit.
 *
 * Packets are queued in copy-meta mode: no payload crosses to user space.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define DEFAULT_LIMIT 4096
#define SOCKET_BUFFER (4 * 1024 * 1024)

typedef struct
{
  uint32_t id;
  int64_t due_us;
} Held;

typedef struct
{
  struct nfq_q_handle *qh;
  Held *ring;
  unsigned limit, head, count;
  int64_t delay_us, jitter_us, last_due_us;
  unsigned long long queued, released, dropped, max_held;
} Line;

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

static int64_t
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
on_packet (struct nfq_q_handle *qh, struct nfgenmsg *msg,
    struct nfq_data *nfa, void *data)
{
  Line *line = data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr (nfa);
  Held *slot;
  int64_t due;

  (void) msg;
  if (ph == NULL)
    return 0;
  if (line->count == line->limit) {
    line->dropped++;
    return nfq_set_verdict (qh, ntohl (ph->packet_id), NF_DROP, 0, NULL);
  }

  due = now_us () + line->delay_us;
  if (line->jitter_us > 0)
    due += (int64_t) (random () % (2 * line->jitter_us + 1)) - line->jitter_us;
  /* FIFO: jitter never lets a packet overtake the one before it */
  if (due < line->last_due_us)
    due = line->last_due_us;
  line->last_due_us = due;

  slot = &line->ring[(line->head + line->count) % line->limit];
  slot->id = ntohl (ph->packet_id);
  slot->due_us = due;
  line->count++;
  line->queued++;
  if (line->count > line->max_held)
    line->max_held = line->count;
  return 0;
}

/* Accepts every packet due by @until; returns µs until the next is due, or
 * -1 if none waits. */
static int64_t
release_due (Line * line, int64_t until)
{
  while (line->count > 0) {
    Held *h = &line->ring[line->head];

    if (h->due_us > until)
      return h->due_us - until;
    nfq_set_verdict (line->qh, h->id, NF_ACCEPT, 0, NULL);
    line->head = (line->head + 1) % line->limit;
    line->count--;
    line->released++;
  }
  return -1;
}

static void
usage (const char *prog)
{
  fprintf (stderr, "usage: %s --queue N --delay-ms D [--jitter-ms J] "
      "[--limit PACKETS]\n", prog);
  exit (2);
}

int
main (int argc, char **argv)
{
  static const struct option options[] = {
    {"queue", required_argument, NULL, 'q'},
    {"delay-ms", required_argument, NULL, 'd'},
    {"jitter-ms", required_argument, NULL, 'j'},
    {"limit", required_argument, NULL, 'l'},
    {NULL, 0, NULL, 0}
  };
  Line line = { 0 };
  struct nfq_handle *h;
  struct sigaction sa = { 0 };
  char buf[65536] __attribute__ ((aligned));
  long queue_num = -1, delay_ms = -1, jitter_ms = 0, limit = DEFAULT_LIMIT;
  int opt, fd;

  while ((opt = getopt_long (argc, argv, "q:d:j:l:", options, NULL)) != -1) {
    switch (opt) {
      case 'q':
        queue_num = strtol (optarg, NULL, 10);
        break;
      case 'd':
        delay_ms = strtol (optarg, NULL, 10);
        break;
      case 'j':
        jitter_ms = strtol (optarg, NULL, 10);
        break;
      case 'l':
        limit = strtol (optarg, NULL, 10);
        break;
      default:
        usage (argv[0]);
    }
  }
  if (queue_num < 0 || queue_num > 65535 || delay_ms < 0 || jitter_ms < 0
      || jitter_ms > delay_ms || limit < 1 || limit > 1000000)
    usage (argv[0]);

  line.limit = (unsigned) limit;
  line.ring = calloc (line.limit, sizeof (Held));
  line.delay_us = delay_ms * 1000;
  line.jitter_us = jitter_ms * 1000;
  if (line.ring == NULL) {
    perror ("lab-delay: calloc");
    return 1;
  }

  h = nfq_open ();
  if (h == NULL) {
    perror ("lab-delay: nfq_open");
    return 1;
  }
  line.qh = nfq_create_queue (h, (uint16_t) queue_num, on_packet, &line);
  if (line.qh == NULL) {
    fprintf (stderr, "lab-delay: cannot bind queue %ld (in use?)\n",
        queue_num);
    nfq_close (h);
    return 1;
  }
  if (nfq_set_mode (line.qh, NFQNL_COPY_META, 0) < 0
      || nfq_set_queue_maxlen (line.qh, line.limit + 64) < 0) {
    perror ("lab-delay: queue setup");
    return 1;
  }
  nfnl_rcvbufsiz (nfq_nfnlh (h), SOCKET_BUFFER);
  fd = nfq_fd (h);

  sa.sa_handler = on_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  fprintf (stderr, "lab-delay: queue %ld, %ld ms ± %ld ms, at most %ld "
      "packets\n", queue_num, delay_ms, jitter_ms, limit);

  while (!stop) {
    int64_t wait_us = release_due (&line, now_us ());
    struct pollfd pfd = { fd, POLLIN, 0 };
    struct timespec ts, *tsp = NULL;
    int n;

    if (wait_us >= 0) {
      ts.tv_sec = wait_us / 1000000;
      ts.tv_nsec = (wait_us % 1000000) * 1000;
      tsp = &ts;
    }
    n = ppoll (&pfd, 1, tsp, NULL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror ("lab-delay: poll");
      break;
    }
    if (n == 0)
      continue;
    /* drain what is there without blocking */
    for (;;) {
      ssize_t len = recv (fd, buf, sizeof (buf), MSG_DONTWAIT);

      if (len < 0) {
        /* ENOBUFS: the kernel lost messages for us; they fail open or
         * are dropped by the kernel, nothing to undo here */
        if (errno == ENOBUFS)
          continue;
        break;
      }
      nfq_handle_packet (h, buf, (int) len);
    }
  }

  /* let every waiting packet go before the queue disappears */
  release_due (&line, INT64_MAX);
  nfq_destroy_queue (line.qh);
  nfq_close (h);
  free (line.ring);
  fprintf (stderr, "lab-delay: queued %llu, released %llu, dropped %llu, "
      "most waiting %llu\n", line.queued, line.released, line.dropped,
      line.max_held);
  return 0;
}

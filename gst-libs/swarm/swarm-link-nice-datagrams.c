/* The libnice link's datagram path: DTLS records to the agent, one by one
 * or in batches (sendmmsg) between begin_batch and end_batch, or held
 * until ICE has a pair to send them on; the selected socket's buffers;
 * datagrams from the agent into DTLS, and DTLS's plaintext out to the
 * user.  Part of the libnice link: swarm-link-nice.c has the link's life
 * (agent, descriptions, ICE, closing), swarm-link-nice-private.h the state
 * they share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <sys/socket.h>

#include "swarm-link-nice-private.h"
#include "swarm-wire.h"

#define GST_CAT_DEFAULT swarm_link_debug

/* Socket buffers on the selected socket, so that bursts do not overflow
 * the receive buffer (see docs/link-measurements.md, "Cost per packet, and
 * where loopback loses packets"). */
#define SOCKET_BUFFER_SIZE (4 * 1024 * 1024)

/* A batch slot holds one DTLS record of a full datagram. */
#define BATCH_SLOT_SIZE (SWARM_WIRE_MAX_DATAGRAM + 100)

/* Sending */

static gboolean
link_flush_batch (NiceLink * link)
{
  GError *error = NULL;
  gint sent;
  guint n = link->batch_len;

  if (n == 0)
    return TRUE;
  link->batch_len = 0;
  if (link->agent == NULL)
    return FALSE;

  link->base.stats.batches++;
  sent = nice_agent_send_messages_nonblocking (link->agent, link->stream_id,
      1, link->batch_msgs, n, NULL, &error);
  if (sent < 0) {
    GST_LOG ("link %p: batch of %u not sent: %s", link, n, error->message);
    g_error_free (error);
    link->base.stats.records_dropped += n;
    return FALSE;
  }
  /* What did not fit in the socket buffer is lost, like any datagram. */
  if ((guint) sent < n) {
    GST_LOG ("link %p: %d of %u sent in batch", link, sent, n);
    link->base.stats.records_dropped += n - sent;
  }
  return TRUE;
}

/* The DTLS server may answer the client's first flight, which can come
 * the moment the client's ICE check succeeded, before our own side of ICE
 * has a selected pair: libnice would drop the answer and the client would
 * retransmit only 400 ms later.  Hold those few records until then. */
#define EARLY_RECORDS_MAX 16

void
link_flush_early_records (NiceLink * link)
{
  GBytes *record;

  while ((record = g_queue_pop_head (&link->early_records))) {
    gsize len;
    const gchar *data = g_bytes_get_data (record, &len);

    if (link->agent && nice_agent_send (link->agent, link->stream_id, 1, len,
            data) != (gint) len)
      link->base.stats.records_dropped++;
    g_bytes_unref (record);
  }
}

gboolean
link_transport_send (const guint8 * data, gsize len, gpointer user_data)
{
  NiceLink *link = user_data;
  guint8 *slot;

  if (link->agent == NULL)
    return FALSE;

  if (!link->ice_ready) {
    if (link->early_records.length >= EARLY_RECORDS_MAX)
      return FALSE;
    g_queue_push_tail (&link->early_records, g_bytes_new (data, len));
    return TRUE;
  }

  if (link->batch_depth == 0 || len > BATCH_SLOT_SIZE) {
    if (nice_agent_send (link->agent, link->stream_id, 1, len,
            (const gchar *) data) == (gint) len)
      return TRUE;
    link->base.stats.records_dropped++;
    link->send_refused = TRUE;
    return FALSE;
  }

  if (link->batch_len == BATCH_MAX)
    link_flush_batch (link);
  if (link->batch_buf == NULL)
    link->batch_buf = g_malloc (BATCH_MAX * BATCH_SLOT_SIZE);

  slot = link->batch_buf + link->batch_len * BATCH_SLOT_SIZE;
  memcpy (slot, data, len);
  link->batch_vecs[link->batch_len].buffer = slot;
  link->batch_vecs[link->batch_len].size = len;
  link->batch_msgs[link->batch_len].buffers = &link->batch_vecs[link->batch_len];
  link->batch_msgs[link->batch_len].n_buffers = 1;
  link->batch_len++;
  return TRUE;
}

gboolean
nice_link_send (SwarmLink * base, const guint8 * data, gsize len)
{
  NiceLink *link = (NiceLink *) base;

  if (link->base.state != SWARM_LINK_STATE_CONNECTED || link->dtls == NULL)
    return FALSE;
  link->send_refused = FALSE;
  if (!swarm_dtls_send (link->dtls, data, len) || link->send_refused)
    return FALSE;
  link->base.stats.datagrams_sent++;
  link->base.stats.bytes_sent += len;
  return TRUE;
}

void
nice_link_begin_batch (SwarmLink * base)
{
  NiceLink *link = (NiceLink *) base;

  link->batch_depth++;
}

void
nice_link_end_batch (SwarmLink * base)
{
  NiceLink *link = (NiceLink *) base;

  if (link->batch_depth == 0 || --link->batch_depth > 0)
    return;
  link_flush_batch (link);
}

/* The selected socket */

void
link_raise_socket_buffers (NiceLink * link)
{
  GSocket *socket;
  gint fd, size = SOCKET_BUFFER_SIZE;

  socket = nice_agent_get_selected_socket (link->agent, link->stream_id, 1);
  if (socket == NULL)
    return;
  fd = g_socket_get_fd (socket);

  /* FORCE ignores rmem_max/wmem_max but needs CAP_NET_ADMIN. */
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof (size)) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof (size));
  if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof (size)) < 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof (size));

  if (gst_debug_category_get_threshold (GST_CAT_DEFAULT) >= GST_LEVEL_DEBUG) {
    gint rcv = 0;
    socklen_t optlen = sizeof (rcv);

    getsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcv, &optlen);
    GST_DEBUG ("link %p: selected socket fd %d receive buffer %d", link, fd,
        rcv);
  }
  g_object_unref (socket);
}

/* Receiving */

void
link_dtls_received (const guint8 * data, gsize len, gpointer user_data)
{
  NiceLink *link = user_data;

  if (link->closed)
    return;
  link->base.stats.datagrams_received++;
  link->base.stats.bytes_received += len;
  if (link->base.callbacks.datagram)
    link->base.callbacks.datagram (&link->base, data, len, link->base.user_data);
}

void
link_on_recv (NiceAgent * agent, guint stream_id, guint component_id,
    guint len, gchar * buf, gpointer user_data)
{
  NiceLink *link = ((LinkWeak *) user_data)->link;

  if (link == NULL || link->closed || link->dtls == NULL)
    return;

  /* The datagram callback may drop the user's last ref or close. */
  swarm_link_ref (&link->base);
  link->in_agent++;
  swarm_dtls_receive (link->dtls, (const guint8 *) buf, len);
  link->in_agent--;
  swarm_link_unref (&link->base);
}

/* Closing */

/* Records batched and not yet flushed are dropped, and what follows goes
 * out at once: the DTLS goodbye must not wait in a batch nobody flushes. */
void
link_drop_batch (NiceLink * link)
{
  link->batch_depth = 0;
  link->batch_len = 0;
}

void
link_drop_early_records (NiceLink * link)
{
  g_queue_clear_full (&link->early_records, (GDestroyNotify) g_bytes_unref);
}

void
link_free_batch_buffer (NiceLink * link)
{
  g_free (link->batch_buf);
  link->batch_buf = NULL;
}

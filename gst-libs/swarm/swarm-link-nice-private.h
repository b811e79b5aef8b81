/* The libnice link's state, shared by its two files:
 *   swarm-link-nice.c            the link's life: the agent, servers and
 *                                gathering, descriptions, ICE events, the
 *                                connect timeout, closing; the class
 *   swarm-link-nice-datagrams.c  the datagram path: records to the agent
 *                                (batched, or held until ICE has a pair),
 *                                the socket buffers, datagrams received
 *                                into DTLS and out to the user
 * Internal to the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <agent.h>

#include "swarm-link-private.h"
#include "swarm-private.h"

G_BEGIN_DECLS

/* Records collected between begin_batch and end_batch; a full batch is
 * flushed early. */
#define BATCH_MAX 64

typedef struct _NiceLink NiceLink;

/* Shared between the link and the events posted for it: the link pointer
 * is cleared (on the context thread) when the link is freed. */
typedef struct
{
  gint refcount;
  GMainContext *context;
  NiceLink *link;
} LinkWeak;

typedef struct
{
  gchar *host;
  guint16 port;
  gchar *username;
  gchar *password;
  gboolean tcp;
  gchar *ip;                    /* resolved */
} IceServer;

struct _NiceLink
{
  SwarmLink base;
  SwarmDtlsCredentials *credentials;
  guint connect_timeout_ms;
  IceServer *stun;
  IceServer *turn;
  gboolean turn_in_use;         /* relay info given to the agent */

  LinkWeak *weak;
  NiceAgent *agent;
  guint stream_id;
  gulong gathering_done_id;
  gulong state_changed_id;

  gboolean started;
  gboolean closed;
  guint pending_resolves;
  GCancellable *cancellable;
  gboolean gathered;
  gboolean description_sent;
  gchar *remote_sdp;            /* fingerprint line stripped */
  gboolean remote_applied;
  gboolean ice_ready;

  GSource *timeout;
  SwarmDtls *dtls;

  /* > 0 while libnice is calling us: the agent must then outlive the call */
  guint in_agent;

  /* The datagram path's own (swarm-link-nice-datagrams.c); the rest of
   * the link reaches it only through the functions below. */

  /* DTLS records written before ICE had a pair to send them on */
  GQueue early_records;
  /* set when the socket refused a record (DTLS itself never reports it) */
  gboolean send_refused;

  guint batch_depth;
  guint batch_len;
  guint8 *batch_buf;
  GOutputVector batch_vecs[BATCH_MAX];
  NiceOutputMessage batch_msgs[BATCH_MAX];
};

/* swarm-link-nice-datagrams.c */

/* DTLS's transport and its plaintext out (SwarmDtlsCallbacks) */
gboolean link_transport_send (const guint8 * data, gsize len,
    gpointer user_data);
void link_dtls_received (const guint8 * data, gsize len, gpointer user_data);
/* the agent's receive callback; user_data is the link's LinkWeak */
void link_on_recv (NiceAgent * agent, guint stream_id, guint component_id,
    guint len, gchar * buf, gpointer user_data);

/* once ICE has a pair, before DTLS starts */
void link_raise_socket_buffers (NiceLink * link);
void link_flush_early_records (NiceLink * link);

/* closing: the batch before the DTLS goodbye, the held records after it */
void link_drop_batch (NiceLink * link);
void link_drop_early_records (NiceLink * link);
/* finalizing */
void link_free_batch_buffer (NiceLink * link);

/* SwarmLinkClass methods */
gboolean nice_link_send (SwarmLink * base, const guint8 * data, gsize len);
void nice_link_begin_batch (SwarmLink * base);
void nice_link_end_batch (SwarmLink * base);

G_END_DECLS

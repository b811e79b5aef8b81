/* What a link implementation is made of (swarm-link.h is what its users
 * see).  Two implementations: swarm-link-nice.c with
 * swarm-link-nice-datagrams.c (libnice + DTLS, the real network) and
 * swarm-link-memory.c (datagrams between links in one process, with
 * delay, rate and loss on the swarm's clock).
 *
 * An implementation embeds SwarmLink first, fills it with
 * swarm_link_init_base, keeps base.state, base.stats and the base.*_us
 * timings current (state CLOSED once closed), and invokes base.callbacks;
 * the base does reference counting, the getters, and refuses start and
 * descriptions on a closed link.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-link.h"

G_BEGIN_DECLS

#define SWARM_LINK_DEFAULT_CONNECT_TIMEOUT_MS 10000

typedef struct {
  const gchar *name;
  gboolean (*start) (SwarmLink * link, GError ** error);
  gboolean (*set_remote_description) (SwarmLink * link, const gchar * sdp,
      GError ** error);
  gboolean (*send) (SwarmLink * link, const guint8 * data, gsize len);
  /* optional */
  void (*begin_batch) (SwarmLink * link);
  void (*end_batch) (SwarmLink * link);
  /* closes now and invokes "closed" (the base holds a reference) */
  void (*close) (SwarmLink * link);
  /* the last reference went: close silently, free what is not the base */
  void (*finalize) (SwarmLink * link);
  const gchar *(*get_local_candidate_type) (SwarmLink * link);
  const gchar *(*get_remote_candidate_type) (SwarmLink * link);
  gchar *(*get_remote_address) (SwarmLink * link);
  gboolean (*export_keying_material) (SwarmLink * link, const gchar * label,
      guint8 * out, gsize len);
} SwarmLinkClass;

struct _SwarmLink {
  const SwarmLinkClass *klass;
  gint refcount;
  GMainContext *context;
  SwarmClock *clock;             /* owned ref */
  SwarmLinkRole role;
  SwarmLinkCallbacks callbacks;
  gpointer user_data;
  SwarmLinkState state;
  SwarmLinkStats stats;
  /* clock µs: start, both descriptions in place, ICE ready, connected */
  gint64 started_us;
  gint64 checks_us;
  gint64 ice_ready_us;
  gint64 connected_us;
};

void swarm_link_init_base (SwarmLink * link, const SwarmLinkClass * klass,
    GMainContext * context, SwarmLinkRole role, const SwarmLinkConfig * config,
    const SwarmLinkCallbacks * callbacks, gpointer user_data);
guint swarm_link_config_connect_timeout_ms (const SwarmLinkConfig * config);

SwarmLink *swarm_link_nice_new (GMainContext * context, SwarmLinkRole role,
    const SwarmLinkConfig * config, SwarmDtlsCredentials * credentials,
    const SwarmLinkCallbacks * callbacks, gpointer user_data);

G_END_DECLS

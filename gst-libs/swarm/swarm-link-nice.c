/* The libnice + DTLS link (swarm-link.h's real transport): an unreliable
 * libnice agent with DTLS on top.  This file has the link's life: the
 * agent, STUN/TURN servers and gathering, the descriptions, ICE events,
 * the connect timeout, closing.  The datagrams themselves (sending in
 * batches, records held until ICE has a pair, the socket buffers,
 * receiving) are in swarm-link-nice-datagrams.c; the state both share is
 * in swarm-link-nice-private.h.
 *
 * Everything runs on the link's context.  libnice may emit its signals on
 * whichever thread made the call that caused them, and sometimes from
 * inside our own calls into it, so its signal handlers only post an event
 * to the context; the event holds a weak handle, not the link, so a link
 * that was closed or dropped meanwhile simply ignores it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <interfaces.h>

#include "swarm-link-nice-private.h"
#include "swarm-sdp.h"

#define GST_CAT_DEFAULT swarm_link_debug

typedef enum
{
  EVENT_GATHERING_DONE,
  EVENT_STATE_CHANGED,
} LinkEventKind;

typedef struct
{
  LinkWeak *weak;
  LinkEventKind kind;
  guint stream_id;
  guint state;
} LinkEvent;

static void link_close (NiceLink * link, GError * error, gboolean notify);

static LinkWeak *
link_weak_ref (LinkWeak * weak)
{
  g_atomic_int_inc (&weak->refcount);
  return weak;
}

static void
link_weak_unref (LinkWeak * weak)
{
  if (g_atomic_int_dec_and_test (&weak->refcount)) {
    g_main_context_unref (weak->context);
    g_free (weak);
  }
}

static void
link_weak_closure_notify (gpointer data, GClosure * closure)
{
  link_weak_unref (data);
}

static IceServer *
ice_server_copy (const SwarmIceServer * s)
{
  IceServer *copy;

  if (s == NULL || s->host == NULL)
    return NULL;
  copy = g_new0 (IceServer, 1);
  copy->host = g_strdup (s->host);
  copy->port = s->port;
  copy->username = g_strdup (s->username);
  copy->password = g_strdup (s->password);
  copy->tcp = s->tcp;
  if (g_hostname_is_ip_address (s->host))
    copy->ip = g_strdup (s->host);
  return copy;
}

static void
ice_server_free (IceServer * s)
{
  if (s == NULL)
    return;
  g_free (s->host);
  g_free (s->username);
  g_free (s->password);
  g_free (s->ip);
  g_free (s);
}

/* Events from libnice */

static gboolean
link_event_dispatch (gpointer user_data);

static void
link_event_free (gpointer user_data)
{
  LinkEvent *ev = user_data;

  link_weak_unref (ev->weak);
  g_free (ev);
}

/* Any thread. */
static void
link_post_event (LinkWeak * weak, LinkEventKind kind, guint stream_id,
    guint state)
{
  LinkEvent *ev = g_new0 (LinkEvent, 1);
  GSource *source;

  ev->weak = link_weak_ref (weak);
  ev->kind = kind;
  ev->stream_id = stream_id;
  ev->state = state;

  /* Always through the context, never synchronously: libnice may be
   * calling from inside one of our own calls into it. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, link_event_dispatch, ev, link_event_free);
  g_source_attach (source, weak->context);
  g_source_unref (source);
}

static void
on_gathering_done (NiceAgent * agent, guint stream_id, gpointer user_data)
{
  link_post_event (user_data, EVENT_GATHERING_DONE, stream_id, 0);
}

static void
on_state_changed (NiceAgent * agent, guint stream_id, guint component_id,
    guint state, gpointer user_data)
{
  link_post_event (user_data, EVENT_STATE_CHANGED, stream_id, state);
}

static void
link_set_state (NiceLink * link, SwarmLinkState state)
{
  if (link->base.state == state)
    return;
  GST_DEBUG ("link %p: state %d -> %d", link, link->base.state, state);
  link->base.state = state;
}

static void
link_fail (NiceLink * link, SwarmLinkError code, const gchar * message)
{
  link_close (link, g_error_new_literal (SWARM_LINK_ERROR, code, message),
      TRUE);
}

/* DTLS: what its handshake means for the link (its records travel in
 * swarm-link-nice-datagrams.c) */

static void
link_dtls_established (gpointer user_data)
{
  NiceLink *link = user_data;

  if (link->closed)
    return;
  if (link->timeout) {
    g_source_destroy (link->timeout);
    g_source_unref (link->timeout);
    link->timeout = NULL;
  }
  link_set_state (link, SWARM_LINK_STATE_CONNECTED);
  link->base.connected_us = swarm_clock_now_us (link->base.clock);
  if (GST_LEVEL_INFO <= gst_debug_category_get_threshold (GST_CAT_DEFAULT)) {
    gint64 ice_ms, connect_ms;

    swarm_link_get_timing (&link->base, &ice_ms, &connect_ms);
    GST_INFO ("link %p connected (%s/%s): ICE %" G_GINT64_FORMAT " ms, "
        "all %" G_GINT64_FORMAT " ms", link,
        GST_STR_NULL (swarm_link_get_local_candidate_type (&link->base)),
        GST_STR_NULL (swarm_link_get_remote_candidate_type (&link->base)),
        ice_ms, connect_ms);
  }
  if (link->base.callbacks.connected)
    link->base.callbacks.connected (&link->base, link->base.user_data);
}

static void
link_dtls_failed (const GError * error, gpointer user_data)
{
  NiceLink *link = user_data;

  link_close (link, g_error_copy (error), TRUE);
}

static const SwarmDtlsCallbacks link_dtls_callbacks = {
  link_transport_send,
  link_dtls_established,
  link_dtls_received,
  link_dtls_failed,
};

/* ICE */

static void
link_on_ice_ready (NiceLink * link)
{
  if (link->ice_ready)
    return;
  link->ice_ready = TRUE;
  link->base.ice_ready_us = swarm_clock_now_us (link->base.clock);

  link_raise_socket_buffers (link);
  /* The peer's DTLS client may have finished with us already. */
  if (link->base.state < SWARM_LINK_STATE_HANDSHAKING)
    link_set_state (link, SWARM_LINK_STATE_HANDSHAKING);

  /* The DTLS server needs no kick: it answers the client's first flight,
   * which may even have arrived before our own checks finished; its
   * answer waited in early_records. */
  link_flush_early_records (link);
  if (link->dtls && link->base.role == SWARM_LINK_OFFERER)
    swarm_dtls_start (link->dtls);
}

/* Hands the remote candidates to libnice once both descriptions exist.
 * FALSE if libnice could use none of them. */
static gboolean
link_apply_remote (NiceLink * link)
{
  gint n;

  if (!link->gathered || link->remote_sdp == NULL || link->remote_applied)
    return TRUE;
  link->remote_applied = TRUE;

  link->base.checks_us = swarm_clock_now_us (link->base.clock);
  n = nice_agent_parse_remote_sdp (link->agent, link->remote_sdp);
  GST_DEBUG ("link %p: %d remote candidates", link, n);
  if (n <= 0)
    return FALSE;
  if (link->base.state < SWARM_LINK_STATE_CONNECTING)
    link_set_state (link, SWARM_LINK_STATE_CONNECTING);
  return TRUE;
}

#define NO_USABLE_ADDRESS \
    _("The peer's connection description has no usable address")

static void
link_on_gathering_done (NiceLink * link)
{
  gchar *sdp, *description;

  if (link->gathered)
    return;
  link->gathered = TRUE;

  sdp = nice_agent_generate_local_sdp (link->agent);
  description = swarm_sdp_write (sdp,
      swarm_dtls_credentials_get_fingerprint (link->credentials));
  g_free (sdp);

  link_set_state (link, link->remote_sdp ? SWARM_LINK_STATE_CONNECTING :
      SWARM_LINK_STATE_GATHERING);

  /* Gathering-done comes once, so the description does too. */
  if (!link->description_sent) {
    link->description_sent = TRUE;
    GST_DEBUG ("link %p: local description\n%s", link, description);
    if (link->base.callbacks.description)
      link->base.callbacks.description (&link->base, description, link->base.user_data);
  }
  g_free (description);

  if (!link->closed && !link_apply_remote (link))
    link_fail (link, SWARM_LINK_ERROR_DESCRIPTION, NO_USABLE_ADDRESS);
}

static gboolean
link_event_dispatch (gpointer user_data)
{
  LinkEvent *ev = user_data;
  NiceLink *link = ev->weak->link;

  if (link == NULL || link->closed || ev->stream_id != link->stream_id)
    return G_SOURCE_REMOVE;

  swarm_link_ref (&link->base);
  switch (ev->kind) {
    case EVENT_GATHERING_DONE:
      link_on_gathering_done (link);
      break;
    case EVENT_STATE_CHANGED:
      GST_DEBUG ("link %p: ICE %s", link,
          nice_component_state_to_string (ev->state));
      /* CONNECTED already has a selected pair to send on.  READY comes
       * only once every higher-priority pair has failed too: seconds
       * later when one leads nowhere (a link-local IPv6 pair, a host
       * address behind a NAT), which is no reason to wait. */
      if (ev->state == NICE_COMPONENT_STATE_CONNECTED
          || ev->state == NICE_COMPONENT_STATE_READY)
        link_on_ice_ready (link);
      else if (ev->state == NICE_COMPONENT_STATE_FAILED)
        link_fail (link, SWARM_LINK_ERROR_ICE,
            _("Could not establish a network path to the peer"));
      break;
  }
  swarm_link_unref (&link->base);
  return G_SOURCE_REMOVE;
}

static gboolean
link_on_timeout (gpointer user_data)
{
  NiceLink *link = user_data;

  g_source_unref (link->timeout);
  link->timeout = NULL;
  GST_INFO ("link %p: not connected after %u ms (state %d)", link,
      link->connect_timeout_ms, link->base.state);
  swarm_link_ref (&link->base);
  link_fail (link, SWARM_LINK_ERROR_TIMEOUT,
      _("Timed out connecting to the peer"));
  swarm_link_unref (&link->base);
  return G_SOURCE_REMOVE;
}

/* Closing */

typedef struct
{
  NiceAgent *agent;
  guint stream_id;
  gboolean turn;
  LinkWeak *weak;
} AgentRelease;

static void
agent_release_finish (AgentRelease * release)
{
  g_object_unref (release->agent);
  /* Only now: the receive callback's data is the weak handle. */
  link_weak_unref (release->weak);
  g_free (release);
}

static void
agent_closed (GObject * source, GAsyncResult * result, gpointer data)
{
  agent_release_finish (data);
}

static void
agent_release (gpointer data)
{
  AgentRelease *release = data;

  /* A TURN allocation outlives a dropped agent on the server until its
   * lifetime ends (ten minutes), holding a relay port: give it back
   * first.  The answer comes on the context, as long as it runs. */
  if (release->turn) {
    nice_agent_close_async (release->agent, agent_closed, release);
    return;
  }
  nice_agent_remove_stream (release->agent, release->stream_id);
  agent_release_finish (release);
}

static gboolean
agent_release_idle (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Closes the agent's sockets now, or right after libnice returns if it is
 * calling us.  The receive callback is left attached until then: detached
 * from inside it, libnice keeps polling a socket nobody reads, and spins. */
static void
link_release_agent (NiceLink * link)
{
  AgentRelease *release;

  if (link->agent == NULL)
    return;

  release = g_new0 (AgentRelease, 1);
  release->agent = link->agent;
  release->stream_id = link->stream_id;
  release->turn = link->turn_in_use;
  release->weak = link_weak_ref (link->weak);
  link->agent = NULL;

  g_signal_handler_disconnect (release->agent, link->gathering_done_id);
  g_signal_handler_disconnect (release->agent, link->state_changed_id);

  if (link->in_agent > 0) {
    GSource *source = g_idle_source_new ();

    /* Ahead of the agent's own sources, which may be busy. */
    g_source_set_priority (source, G_PRIORITY_HIGH);
    g_source_set_callback (source, agent_release_idle, release,
        agent_release);
    g_source_attach (source, link->base.context);
    g_source_unref (source);
  } else {
    agent_release (release);
  }
}

static void
link_close (NiceLink * link, GError * error, gboolean notify)
{
  if (link->closed) {
    g_clear_error (&error);
    return;
  }
  link->closed = TRUE;
  link_set_state (link, SWARM_LINK_STATE_CLOSED);

  if (error)
    GST_INFO ("link %p closed: %s", link, error->message);
  else
    GST_DEBUG ("link %p closed", link);

  if (link->timeout) {
    g_source_destroy (link->timeout);
    g_source_unref (link->timeout);
    link->timeout = NULL;
  }
  g_cancellable_cancel (link->cancellable);

  /* close_notify goes out through the agent, so before it is gone. */
  link_drop_batch (link);
  if (link->dtls) {
    swarm_dtls_free (link->dtls);
    link->dtls = NULL;
  }
  link_release_agent (link);
  /* after the DTLS goodbye, which may have joined them */
  link_drop_early_records (link);

  if (notify && link->base.callbacks.closed)
    link->base.callbacks.closed (&link->base, error, link->base.user_data);
  g_clear_error (&error);
}

static const SwarmLinkClass nice_link_class;

SwarmLink *
swarm_link_nice_new (GMainContext * context, SwarmLinkRole role,
    const SwarmLinkConfig * config, SwarmDtlsCredentials * credentials,
    const SwarmLinkCallbacks * callbacks, gpointer user_data)
{
  NiceLink *link;

  g_return_val_if_fail (credentials != NULL, NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);

  link = g_new0 (NiceLink, 1);
  swarm_link_init_base (&link->base, &nice_link_class, context, role, config,
      callbacks, user_data);
  link->credentials = swarm_dtls_credentials_ref (credentials);
  link->connect_timeout_ms = swarm_link_config_connect_timeout_ms (config);
  if (config) {
    link->stun = ice_server_copy (config->stun);
    link->turn = ice_server_copy (config->turn);
  }
  link->cancellable = g_cancellable_new ();

  link->weak = g_new0 (LinkWeak, 1);
  link->weak->refcount = 1;
  link->weak->context = g_main_context_ref (link->base.context);
  link->weak->link = link;

  /* No trickle: the tracker carries one description each way, so
   * everything is gathered first.  Consent freshness notices a vanished
   * peer in seconds rather than never. */
  link->agent = nice_agent_new_full (link->base.context,
      NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_CONSENT_FRESHNESS);
  g_object_set (link->agent,
      "upnp", FALSE,
      "ice-tcp", FALSE,
      "controlling-mode", role == SWARM_LINK_OFFERER, NULL);

  link->stream_id = nice_agent_add_stream (link->agent, 1);
  nice_agent_set_stream_name (link->agent, link->stream_id, "application");

  link->gathering_done_id = g_signal_connect_data (link->agent,
      "candidate-gathering-done", G_CALLBACK (on_gathering_done),
      link_weak_ref (link->weak), link_weak_closure_notify, 0);
  link->state_changed_id = g_signal_connect_data (link->agent,
      "component-state-changed", G_CALLBACK (on_state_changed),
      link_weak_ref (link->weak), link_weak_closure_notify, 0);

  /* Attached from the start so a DTLS flight racing ahead of our own ICE
   * checks is not lost. */
  nice_agent_attach_recv (link->agent, link->stream_id, 1, link->base.context,
      link_on_recv, link->weak);

  return &link->base;
}

/* The last reference went: close without telling anyone, free our part. */
static void
nice_link_finalize (SwarmLink * base)
{
  NiceLink *link = (NiceLink *) base;

  link_close (link, NULL, FALSE);
  link->weak->link = NULL;
  link_weak_unref (link->weak);
  g_object_unref (link->cancellable);
  ice_server_free (link->stun);
  ice_server_free (link->turn);
  g_free (link->remote_sdp);
  link_free_batch_buffer (link);
  swarm_dtls_credentials_unref (link->credentials);
}

/* Host candidates on every address except link-local ones.  Those reach
 * only the local link, yet each adds candidate pairs, and the controlling
 * agent's checks on them delay READY until they time out.  With no other
 * address libnice picks its own (loopback, for tests). */
static void
link_add_local_addresses (NiceLink * link)
{
  GList *ips = nice_interfaces_get_local_ips (FALSE), *l;

  for (l = ips; l; l = l->next) {
    GInetAddress *inet = g_inet_address_new_from_string (l->data);
    NiceAddress addr;

    if (inet && !g_inet_address_get_is_link_local (inet)
        && nice_address_set_from_string (&addr, l->data))
      nice_agent_add_local_address (link->agent, &addr);
    g_clear_object (&inet);
  }
  g_list_free_full (ips, g_free);
}

/* The same server for STUN and for TURN over UDP: its Allocate answer
 * already tells our reflexive address, and libnice drops a binding
 * answer from its TURN server ("incorrectly multiplexed"), so asking it
 * would only hold up gathering until the request times out. */
static gboolean
link_stun_is_turn (NiceLink * link)
{
  return link->turn && link->turn->ip && !link->turn->tcp
      && g_strcmp0 (link->stun->ip, link->turn->ip) == 0
      && (link->stun->port ? link->stun->port : 3478) ==
      (link->turn->port ? link->turn->port : 3478);
}

static gboolean
link_gather (NiceLink * link, GError ** error)
{
  link_add_local_addresses (link);
  if (link->stun && link->stun->ip && !link_stun_is_turn (link)) {
    g_object_set (link->agent, "stun-server", link->stun->ip,
        "stun-server-port", (guint) (link->stun->port ? link->stun->port :
            3478), NULL);
  }
  if (link->turn && link->turn->ip) {
    link->turn_in_use = TRUE;
    nice_agent_set_relay_info (link->agent, link->stream_id, 1,
        link->turn->ip, link->turn->port ? link->turn->port : 3478,
        link->turn->username ? link->turn->username : "",
        link->turn->password ? link->turn->password : "",
        link->turn->tcp ? NICE_RELAY_TYPE_TURN_TCP : NICE_RELAY_TYPE_TURN_UDP);
  }

  link->in_agent++;
  if (!nice_agent_gather_candidates (link->agent, link->stream_id)) {
    link->in_agent--;
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_ICE,
        _("Could not find a network address to use"));
    return FALSE;
  }
  link->in_agent--;
  return TRUE;
}

typedef struct
{
  LinkWeak *weak;
  IceServer *server;
} ResolveData;

static void
on_resolved (GObject * source, GAsyncResult * result, gpointer user_data)
{
  ResolveData *data = user_data;
  NiceLink *link = data->weak->link;
  GError *error = NULL;
  GList *addresses;

  addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result,
      &error);
  if (link && !link->closed) {
    if (addresses) {
      data->server->ip = g_inet_address_to_string (addresses->data);
      GST_DEBUG ("link %p: %s is %s", link, data->server->host,
          data->server->ip);
    } else {
      GST_WARNING ("link %p: could not resolve %s: %s", link,
          data->server->host, error->message);
    }
    if (--link->pending_resolves == 0) {
      GError *gather_error = NULL;

      swarm_link_ref (&link->base);
      if (!link_gather (link, &gather_error))
        link_close (link, gather_error, TRUE);
      swarm_link_unref (&link->base);
    }
  }
  g_resolver_free_addresses (addresses);
  g_clear_error (&error);
  link_weak_unref (data->weak);
  g_free (data);
}

static void
link_resolve (NiceLink * link, IceServer * server)
{
  ResolveData *data;
  GResolver *resolver;

  if (server == NULL || server->ip != NULL)
    return;

  data = g_new0 (ResolveData, 1);
  data->weak = link_weak_ref (link->weak);
  data->server = server;
  link->pending_resolves++;

  /* The result must come back on the link's context. */
  g_main_context_push_thread_default (link->base.context);
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, server->host, link->cancellable,
      on_resolved, data);
  g_object_unref (resolver);
  g_main_context_pop_thread_default (link->base.context);
}

static gboolean
nice_link_start (SwarmLink * base, GError ** error)
{
  NiceLink *link = (NiceLink *) base;

  g_return_val_if_fail (!link->started, FALSE);

  link->started = TRUE;
  link->base.started_us = swarm_clock_now_us (link->base.clock);
  link_set_state (link, SWARM_LINK_STATE_GATHERING);

  link->timeout = swarm_clock_timeout_source_new (link->base.clock,
      link->connect_timeout_ms);
  g_source_set_callback (link->timeout, link_on_timeout, link, NULL);
  g_source_attach (link->timeout, link->base.context);

  /* libnice wants IP addresses for its servers. */
  link_resolve (link, link->stun);
  link_resolve (link, link->turn);
  if (link->pending_resolves > 0)
    return TRUE;

  if (!link_gather (link, error)) {
    link_close (link, NULL, FALSE);
    return FALSE;
  }
  return TRUE;
}

static gboolean
nice_link_set_remote_description (SwarmLink * base, const gchar * sdp,
    GError ** error)
{
  NiceLink *link = (NiceLink *) base;
  SwarmSdp *parsed;
  GError *problem = NULL;

  if (link->remote_sdp) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The peer's connection description was already given"));
    return FALSE;
  }
  parsed = swarm_sdp_parse (link->agent, sdp, -1, &problem);
  if (parsed == NULL) {
    GST_INFO ("link %p: rejected description (%s)", link, problem->message);
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The peer's connection description is malformed (%s)"),
        problem->message);
    g_error_free (problem);
    return FALSE;
  }

  link->remote_sdp = g_steal_pointer (&parsed->ice);
  link->dtls = swarm_dtls_new (link->base.context, link->base.role == SWARM_LINK_OFFERER,
      link->credentials, parsed->fingerprint, &link_dtls_callbacks, link);
  swarm_sdp_free (parsed);
  if (link->dtls == NULL) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DTLS,
        _("Could not set up a secure connection"));
    return FALSE;
  }

  if (!link_apply_remote (link)) {
    g_set_error_literal (error, SWARM_LINK_ERROR,
        SWARM_LINK_ERROR_DESCRIPTION, NO_USABLE_ADDRESS);
    return FALSE;
  }
  return TRUE;
}

static gboolean
nice_link_export_keying_material (SwarmLink * base, const gchar * label,
    guint8 * out, gsize len)
{
  NiceLink *link = (NiceLink *) base;

  if (link->closed || link->dtls == NULL)
    return FALSE;
  return swarm_dtls_export_keying_material (link->dtls, label, out, len);
}

static void
nice_link_close (SwarmLink * base)
{
  link_close ((NiceLink *) base, NULL, TRUE);
}

static gboolean
link_get_selected_pair (NiceLink * link, NiceCandidate ** local,
    NiceCandidate ** remote)
{
  if (link->agent == NULL || !link->ice_ready)
    return FALSE;
  return nice_agent_get_selected_pair (link->agent, link->stream_id, 1,
      local, remote);
}

static const gchar *
candidate_type_name (NiceCandidateType type)
{
  switch (type) {
    case NICE_CANDIDATE_TYPE_HOST:
      return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED:
      return "relay";
  }
  return NULL;
}

static const gchar *
nice_link_get_local_candidate_type (SwarmLink * base)
{
  NiceLink *link = (NiceLink *) base;
  NiceCandidate *local, *remote;

  if (!link_get_selected_pair (link, &local, &remote))
    return NULL;
  return candidate_type_name (local->type);
}

static const gchar *
nice_link_get_remote_candidate_type (SwarmLink * base)
{
  NiceLink *link = (NiceLink *) base;
  NiceCandidate *local, *remote;

  if (!link_get_selected_pair (link, &local, &remote))
    return NULL;
  return candidate_type_name (remote->type);
}

static gchar *
nice_link_get_remote_address (SwarmLink * base)
{
  NiceLink *link = (NiceLink *) base;
  NiceCandidate *local, *remote;
  gchar ip[NICE_ADDRESS_STRING_LEN];
  guint port;

  if (!link_get_selected_pair (link, &local, &remote))
    return NULL;
  nice_address_to_string (&remote->addr, ip);
  port = nice_address_get_port (&remote->addr);
  if (nice_address_ip_version (&remote->addr) == 6)
    return g_strdup_printf ("[%s]:%u", ip, port);
  return g_strdup_printf ("%s:%u", ip, port);
}

static const SwarmLinkClass nice_link_class = {
  .name = "nice",
  .start = nice_link_start,
  .set_remote_description = nice_link_set_remote_description,
  .send = nice_link_send,
  .begin_batch = nice_link_begin_batch,
  .end_batch = nice_link_end_batch,
  .close = nice_link_close,
  .finalize = nice_link_finalize,
  .get_local_candidate_type = nice_link_get_local_candidate_type,
  .get_remote_candidate_type = nice_link_get_remote_candidate_type,
  .get_remote_address = nice_link_get_remote_address,
  .export_keying_material = nice_link_export_keying_material,
};

/* The link interface: what the swarm calls, dispatched to the
 * implementation the link was made by (see swarm-link-private.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-link-private.h"
#include "swarm-private.h"

G_DEFINE_QUARK (swarm-link-error-quark, swarm_link_error)

SwarmLink *
swarm_link_new (GMainContext * context, SwarmLinkRole role,
    const SwarmLinkConfig * config, SwarmDtlsCredentials * credentials,
    const SwarmLinkCallbacks * callbacks, gpointer user_data)
{
  if (config && config->factory)
    return config->factory->new_link (context, role, config, credentials,
        callbacks, user_data, config->factory->data);
  return swarm_link_nice_new (context, role, config, credentials, callbacks,
      user_data);
}

void
swarm_link_init_base (SwarmLink * link, const SwarmLinkClass * klass,
    GMainContext * context, SwarmLinkRole role, const SwarmLinkConfig * config,
    const SwarmLinkCallbacks * callbacks, gpointer user_data)
{
  link->klass = klass;
  link->refcount = 1;
  link->context = context ? g_main_context_ref (context) :
      g_main_context_ref_thread_default ();
  link->clock = swarm_clock_ref (config && config->clock ? config->clock :
      swarm_clock_get_system ());
  link->role = role;
  link->callbacks = *callbacks;
  link->user_data = user_data;
  link->state = SWARM_LINK_STATE_NEW;
}

guint
swarm_link_config_connect_timeout_ms (const SwarmLinkConfig * config)
{
  return config && config->connect_timeout_ms ? config->connect_timeout_ms :
      SWARM_LINK_DEFAULT_CONNECT_TIMEOUT_MS;
}

SwarmLink *
swarm_link_ref (SwarmLink * link)
{
  g_return_val_if_fail (link != NULL, NULL);
  g_atomic_int_inc (&link->refcount);
  return link;
}

void
swarm_link_unref (SwarmLink * link)
{
  if (link == NULL || !g_atomic_int_dec_and_test (&link->refcount))
    return;
  link->klass->finalize (link);
  g_main_context_unref (link->context);
  swarm_clock_unref (link->clock);
  g_free (link);
}

gboolean
swarm_link_start (SwarmLink * link, GError ** error)
{
  g_return_val_if_fail (link != NULL, FALSE);
  if (link->state == SWARM_LINK_STATE_CLOSED) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_ICE,
        _("The link is closed"));
    return FALSE;
  }
  return link->klass->start (link, error);
}

gboolean
swarm_link_set_remote_description (SwarmLink * link, const gchar * sdp,
    GError ** error)
{
  g_return_val_if_fail (link != NULL, FALSE);
  g_return_val_if_fail (sdp != NULL, FALSE);
  if (link->state == SWARM_LINK_STATE_CLOSED) {
    g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DESCRIPTION,
        _("The link is closed"));
    return FALSE;
  }
  return link->klass->set_remote_description (link, sdp, error);
}

gboolean
swarm_link_send (SwarmLink * link, const guint8 * data, gsize len)
{
  g_return_val_if_fail (link != NULL, FALSE);
  return link->klass->send (link, data, len);
}

void
swarm_link_begin_batch (SwarmLink * link)
{
  g_return_if_fail (link != NULL);
  if (link->klass->begin_batch)
    link->klass->begin_batch (link);
}

void
swarm_link_end_batch (SwarmLink * link)
{
  g_return_if_fail (link != NULL);
  if (link->klass->end_batch)
    link->klass->end_batch (link);
}

void
swarm_link_close (SwarmLink * link)
{
  g_return_if_fail (link != NULL);
  /* "closed" may drop the caller's last reference */
  swarm_link_ref (link);
  link->klass->close (link);
  swarm_link_unref (link);
}

SwarmLinkState
swarm_link_get_state (SwarmLink * link)
{
  g_return_val_if_fail (link != NULL, SWARM_LINK_STATE_CLOSED);
  return link->state;
}

const gchar *
swarm_link_get_local_candidate_type (SwarmLink * link)
{
  g_return_val_if_fail (link != NULL, NULL);
  return link->klass->get_local_candidate_type (link);
}

const gchar *
swarm_link_get_remote_candidate_type (SwarmLink * link)
{
  g_return_val_if_fail (link != NULL, NULL);
  return link->klass->get_remote_candidate_type (link);
}

gchar *
swarm_link_get_remote_address (SwarmLink * link)
{
  g_return_val_if_fail (link != NULL, NULL);
  return link->klass->get_remote_address (link);
}

gboolean
swarm_link_export_keying_material (SwarmLink * link, const gchar * label,
    guint8 * out, gsize len)
{
  g_return_val_if_fail (link != NULL, FALSE);
  return link->klass->export_keying_material (link, label, out, len);
}

void
swarm_link_get_timing (SwarmLink * link, gint64 * ice_ms, gint64 * connect_ms)
{
  g_return_if_fail (link != NULL);

  if (ice_ms)
    *ice_ms = link->ice_ready_us && link->checks_us ?
        (link->ice_ready_us - link->checks_us) / 1000 : -1;
  if (connect_ms)
    *connect_ms = link->connected_us && link->started_us ?
        (link->connected_us - link->started_us) / 1000 : -1;
}

void
swarm_link_get_stats (SwarmLink * link, SwarmLinkStats * stats)
{
  g_return_if_fail (link != NULL);
  g_return_if_fail (stats != NULL);
  *stats = link->stats;
}

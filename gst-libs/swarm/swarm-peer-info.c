/* SwarmPeerInfo: see swarm-peer-info.h.
 *
 * The object is a window on one "peer" stats structure: every property is
 * read from the newest structure the session handed over, so the property
 * values and the session's "peer-stats" never disagree.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-peer-info.h"

struct _SwarmPeerInfo
{
  GObject parent_instance;

  gchar *id;                    /* immutable */
  GMutex lock;
  GstStructure *stats;          /* under lock */
  gboolean connected;           /* under lock */
};

G_DEFINE_TYPE (SwarmPeerInfo, swarm_peer_info, G_TYPE_OBJECT);

enum
{
  PROP_0,
  PROP_ID,
  PROP_ROLE,
  PROP_ADDRESS,
  PROP_ADDRESS_KIND,
  PROP_LOCAL_CANDIDATE_TYPE,
  PROP_RTT_MS,
  PROP_RATE_IN_KBPS,
  PROP_RATE_OUT_KBPS,
  PROP_BYTES_SENT,
  PROP_BYTES_RECEIVED,
  PROP_CONNECTED,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* property id -> field of the "peer" structure it reads */
static const gchar *const field_of[N_PROPS] = {
  [PROP_ROLE] = "role",
  [PROP_ADDRESS] = "address",
  [PROP_ADDRESS_KIND] = "address-kind",
  [PROP_LOCAL_CANDIDATE_TYPE] = "local-candidate-type",
  [PROP_RTT_MS] = "rtt-ms",
  [PROP_RATE_IN_KBPS] = "rate-in-kbps",
  [PROP_RATE_OUT_KBPS] = "rate-out-kbps",
  [PROP_BYTES_SENT] = "bytes-sent",
  [PROP_BYTES_RECEIVED] = "bytes-received",
};

static void
swarm_peer_info_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  SwarmPeerInfo *info = SWARM_PEER_INFO (object);

  switch (prop_id) {
    case PROP_ID:
      g_value_set_string (value, info->id);
      return;
    case PROP_CONNECTED:
      g_value_set_boolean (value, swarm_peer_info_is_connected (info));
      return;
    case PROP_STATS:
      g_value_take_boxed (value, swarm_peer_info_get_stats (info));
      return;
    default:
      break;
  }
  if (prop_id >= N_PROPS || field_of[prop_id] == NULL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  g_mutex_lock (&info->lock);
  {
    const GValue *v = info->stats ?
        gst_structure_get_value (info->stats, field_of[prop_id]) : NULL;

    /* a field missing or of another type leaves the default */
    if (v && G_VALUE_TYPE (v) == G_VALUE_TYPE (value))
      g_value_copy (v, value);
    else
      g_param_value_set_default (pspec, value);
  }
  g_mutex_unlock (&info->lock);
}

static void
swarm_peer_info_finalize (GObject * object)
{
  SwarmPeerInfo *info = SWARM_PEER_INFO (object);

  g_free (info->id);
  g_clear_pointer (&info->stats, gst_structure_free);
  g_mutex_clear (&info->lock);
  G_OBJECT_CLASS (swarm_peer_info_parent_class)->finalize (object);
}

static void
swarm_peer_info_class_init (SwarmPeerInfoClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  gobject_class->get_property = swarm_peer_info_get_property;
  gobject_class->finalize = swarm_peer_info_finalize;

  props[PROP_ID] = g_param_spec_string ("id", "Peer id",
      "The partner's peer id on trackers and links", NULL, ro);
  props[PROP_ROLE] = g_param_spec_string ("role", "Role",
      "\"origin\" (the publisher) or \"viewer\"", NULL, ro);
  props[PROP_ADDRESS] = g_param_spec_string ("address", "Address",
      "The partner's address on the link (host:port)", NULL, ro);
  props[PROP_ADDRESS_KIND] = g_param_spec_string ("address-kind",
      "Address kind", "How the partner is reached: ICE candidate type of "
      "its end (host, srflx, prflx, relay)", NULL, ro);
  props[PROP_LOCAL_CANDIDATE_TYPE] = g_param_spec_string
      ("local-candidate-type", "Local candidate type",
      "ICE candidate type of our end of the link", NULL, ro);
  props[PROP_RTT_MS] = g_param_spec_double ("rtt-ms", "RTT",
      "Smoothed round-trip time in milliseconds", 0, G_MAXDOUBLE, 0, ro);
  props[PROP_RATE_IN_KBPS] = g_param_spec_double ("rate-in-kbps",
      "Rate in", "What the partner sends us, kbit/s (smoothed over ~1 s)",
      0, G_MAXDOUBLE, 0, ro);
  props[PROP_RATE_OUT_KBPS] = g_param_spec_double ("rate-out-kbps",
      "Rate out", "What we send the partner, kbit/s (smoothed over ~1 s)",
      0, G_MAXDOUBLE, 0, ro);
  props[PROP_BYTES_SENT] = g_param_spec_uint64 ("bytes-sent", "Bytes sent",
      "Bytes sent to the partner", 0, G_MAXUINT64, 0, ro);
  props[PROP_BYTES_RECEIVED] = g_param_spec_uint64 ("bytes-received",
      "Bytes received", "Bytes received from the partner", 0, G_MAXUINT64,
      0, ro);
  props[PROP_CONNECTED] = g_param_spec_boolean ("connected", "Connected",
      "FALSE once the partner is gone", TRUE, ro);
  props[PROP_STATS] = g_param_spec_boxed ("stats", "Stats",
      "The partner's \"peer\" stats structure", gst_structure_get_type (), ro);
  g_object_class_install_properties (gobject_class, N_PROPS, props);
}

static void
swarm_peer_info_init (SwarmPeerInfo * info)
{
  g_mutex_init (&info->lock);
  info->connected = TRUE;
}

SwarmPeerInfo *
swarm_peer_info_new (const gchar * id, const GstStructure * stats)
{
  SwarmPeerInfo *info;

  g_return_val_if_fail (id != NULL, NULL);
  info = g_object_new (SWARM_TYPE_PEER_INFO, NULL);
  info->id = g_strdup (id);
  if (stats)
    info->stats = gst_structure_copy (stats);
  return info;
}

void
swarm_peer_info_update (SwarmPeerInfo * info, const GstStructure * stats)
{
  GstStructure *copy;

  g_return_if_fail (SWARM_IS_PEER_INFO (info));
  g_return_if_fail (stats != NULL);
  copy = gst_structure_copy (stats);
  g_mutex_lock (&info->lock);
  g_clear_pointer (&info->stats, gst_structure_free);
  info->stats = copy;
  g_mutex_unlock (&info->lock);
}

void
swarm_peer_info_set_disconnected (SwarmPeerInfo * info)
{
  g_return_if_fail (SWARM_IS_PEER_INFO (info));
  g_mutex_lock (&info->lock);
  info->connected = FALSE;
  g_mutex_unlock (&info->lock);
}

const gchar *
swarm_peer_info_get_id (SwarmPeerInfo * info)
{
  g_return_val_if_fail (SWARM_IS_PEER_INFO (info), NULL);
  return info->id;
}

GstStructure *
swarm_peer_info_get_stats (SwarmPeerInfo * info)
{
  GstStructure *copy;

  g_return_val_if_fail (SWARM_IS_PEER_INFO (info), NULL);
  g_mutex_lock (&info->lock);
  copy = info->stats ? gst_structure_copy (info->stats) :
      gst_structure_new_empty ("peer");
  g_mutex_unlock (&info->lock);
  return copy;
}

gboolean
swarm_peer_info_is_connected (SwarmPeerInfo * info)
{
  gboolean connected;

  g_return_val_if_fail (SWARM_IS_PEER_INFO (info), FALSE);
  g_mutex_lock (&info->lock);
  connected = info->connected;
  g_mutex_unlock (&info->lock);
  return connected;
}

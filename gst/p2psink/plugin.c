/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstp2psink.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  swarm_init ();
  return GST_ELEMENT_REGISTER (p2psink, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, p2psink,
    "Publish a live stream into a peer-to-peer swarm",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

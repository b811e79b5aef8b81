/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>
#include "swarm.h"
#include "swarm-private.h"

GST_DEBUG_CATEGORY (swarm_debug);

void
swarm_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised)) {
#if ENABLE_NLS
    bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
#endif
    gnutls_global_init ();
    GST_DEBUG_CATEGORY_INIT (swarm_debug, "swarm", 0, "gst-p2p swarm library");
    g_once_init_leave (&initialised, 1);
  }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>
#include "swarm.h"
#include "swarm-private.h"

GST_DEBUG_CATEGORY (swarm_debug);
GST_DEBUG_CATEGORY (swarm_link_debug);
GST_DEBUG_CATEGORY (swarm_dtls_debug);
GST_DEBUG_CATEGORY (swarm_peer_debug);
GST_DEBUG_CATEGORY (swarm_session_debug);
GST_DEBUG_CATEGORY (swarm_tracker_debug);

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
    GST_DEBUG_CATEGORY_INIT (swarm_link_debug, "swarm-link", 0,
        "gst-p2p swarm: ICE links (libnice agents)");
    GST_DEBUG_CATEGORY_INIT (swarm_dtls_debug, "swarm-dtls", 0,
        "gst-p2p swarm: DTLS over the links (GnuTLS)");
    GST_DEBUG_CATEGORY_INIT (swarm_peer_debug, "swarm-peer", 0,
        "gst-p2p swarm: the protocol with one partner: requests, chunks, pacing");
    GST_DEBUG_CATEGORY_INIT (swarm_session_debug, "swarm-session", 0,
        "gst-p2p swarm: the session: partners, transfers, fetching, PEX, playout");
    GST_DEBUG_CATEGORY_INIT (swarm_tracker_debug, "swarm-tracker", 0,
        "gst-p2p swarm: trackers: the client, the embedded server, offers and answers");
    g_once_init_leave (&initialised, 1);
  }
}

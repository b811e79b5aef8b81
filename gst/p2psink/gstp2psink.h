/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>
#include <swarm/swarm-internal.h>

G_BEGIN_DECLS

#define GST_TYPE_P2P_SINK (gst_p2p_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstP2pSink, gst_p2p_sink, GST, P2P_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (p2psink);

G_END_DECLS

/* The peer's connection description: what a remote SDP must hold before
 * any of it reaches the ICE agent.
 *
 * A description is libnice's SDP for our one stream (one "m=" line, ICE
 * credentials, candidates of component 1) plus the DTLS certificate's
 * "a=fingerprint:sha-256 XX:XX:…" line.  It comes from other peers through
 * the tracker or a relay, so it is untrusted; tests/fuzz/fuzz-sdp.c fuzzes
 * this parser together with the libnice calls that take its output.
 *
 * Private to the library (not installed); exported for the tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <agent.h>
#include "swarm-prelude.h"

G_BEGIN_DECLS

/* Hard bounds, far above what libnice writes for a host with many
 * interfaces (a candidate line is under 100 bytes). */
#define SWARM_SDP_MAX_SIZE (16 * 1024)
#define SWARM_SDP_MAX_LINES 256

#define SWARM_SDP_ERROR (swarm_sdp_error_quark ())
typedef enum {
  SWARM_SDP_ERROR_TOO_LARGE,     /* over SWARM_SDP_MAX_SIZE or _MAX_LINES, or a NUL byte */
  SWARM_SDP_ERROR_FINGERPRINT,   /* missing, repeated or malformed */
  SWARM_SDP_ERROR_MEDIA,         /* not exactly one media section */
  SWARM_SDP_ERROR_CREDENTIALS,   /* no or repeated ICE username fragment or password */
  SWARM_SDP_ERROR_CANDIDATE,     /* a candidate libnice cannot take, or none */
} SwarmSdpError;

GQuark swarm_sdp_error_quark (void);

typedef struct {
  /* The description without the fingerprint line, lines ending in "\n":
   * for nice_agent_parse_remote_sdp(). */
  gchar *ice;
  /* The SHA-256 certificate fingerprint, "AB:01:…" (upper case). */
  gchar *fingerprint;
  guint n_candidates;
} SwarmSdp;

/* Parses and checks @text (@len bytes, or up to a NUL if @len is -1).
 * @agent is only used to parse candidates the way it will later, so any
 * agent will do.  Returns NULL with @error set when the description is
 * malformed; the message is a short phrase for a log line. */
SwarmSdp *swarm_sdp_parse (NiceAgent * agent, const gchar * text,
    gssize len, GError ** error);
void swarm_sdp_free (SwarmSdp * sdp);

/* Our description: libnice's local SDP @ice with the line for
 * @fingerprint ("AB:01:…") appended. */
gchar *swarm_sdp_write (const gchar * ice,
    const gchar * fingerprint);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmSdp, swarm_sdp_free)

G_END_DECLS

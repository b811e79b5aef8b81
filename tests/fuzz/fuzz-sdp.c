/* libFuzzer target for the peer's connection description (swarm-sdp.h)
 * and the libnice calls that take what it accepts.
 *
 * A remote description is untrusted text: our parser must reject anything
 * libnice would half-apply or choke on, and what it accepts goes to
 * nice_agent_parse_remote_sdp() exactly as swarm-link-nice.c passes it.  The
 * agent is set up like a link's (unreliable, no TCP, no UPnP) on a context
 * of our own; each input gets a fresh stream, removed afterwards, so no
 * state carries over from one input to the next.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <string.h>

#include "fuzz-log.h"

#include "swarm/swarm-sdp.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static GMainContext *context;
static NiceAgent *agent;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_log_set_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  context = g_main_context_new ();
  agent = nice_agent_new_full (context, NICE_COMPATIBILITY_RFC5245,
      NICE_AGENT_OPTION_CONSENT_FRESHNESS);
  g_object_set (agent, "upnp", FALSE, "ice-tcp", FALSE, NULL);
  return 0;
}

static void
check_accepted (const SwarmSdp * sdp, size_t size)
{
  gchar **lines;
  guint i;

  g_assert_cmpuint (strlen (sdp->fingerprint), ==, 32 * 3 - 1);
  for (i = 0; sdp->fingerprint[i]; i++) {
    gchar c = sdp->fingerprint[i];

    g_assert_true (i % 3 == 2 ? c == ':' : g_ascii_isxdigit (c)
        && !g_ascii_islower (c));
  }
  g_assert_cmpuint (sdp->n_candidates, >, 0);
  g_assert_cmpuint (strlen (sdp->ice), <=, size);
  g_assert_true (g_str_has_suffix (sdp->ice, "\n"));
  /* The fingerprint line is taken out (the text may appear inside others). */
  lines = g_strsplit (sdp->ice, "\n", -1);
  for (i = 0; lines[i]; i++)
    g_assert_false (g_str_has_prefix (lines[i], "a=fingerprint:"));
  g_strfreev (lines);
}

/* What swarm-link-nice.c does with an accepted description, plus the per-stream
 * parser, on a stream that lives for this input only. */
static void
apply (const SwarmSdp * sdp)
{
  guint stream = nice_agent_add_stream (agent, 1);
  gchar *ufrag = NULL, *pwd = NULL;
  GSList *candidates;
  gint n;

  g_assert_cmpuint (stream, >, 0);
  nice_agent_set_stream_name (agent, stream, "application");

  n = nice_agent_parse_remote_sdp (agent, sdp->ice);
  g_assert_cmpint (n, <=, (gint) sdp->n_candidates);

  /* The same lines reach libnice's candidate parser as ours checked. */
  candidates = nice_agent_parse_remote_stream_sdp (agent, stream, sdp->ice,
      &ufrag, &pwd);
  g_assert_cmpuint (g_slist_length (candidates), ==, sdp->n_candidates);
  g_assert_nonnull (ufrag);
  g_assert_nonnull (pwd);
  g_slist_free_full (candidates, (GDestroyNotify) nice_candidate_free);
  g_free (ufrag);
  g_free (pwd);

  nice_agent_remove_stream (agent, stream);
  while (g_main_context_iteration (context, FALSE));
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *error = NULL;
  SwarmSdp *sdp = swarm_sdp_parse (agent, (const gchar *) data, size, &error);

  if (sdp == NULL) {
    g_assert_true (error != NULL && error->domain == SWARM_SDP_ERROR);
    g_error_free (error);
    return 0;
  }
  g_assert_null (error);
  check_accepted (sdp, size);
  apply (sdp);
  swarm_sdp_free (sdp);
  return 0;
}

/* The peer's connection description, checked in full before anything
 * touches the agent: libnice would apply half of a broken one, or abort on
 * a second media line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "swarm-sdp.h"

#define FINGERPRINT_PREFIX "a=fingerprint:"
#define FINGERPRINT_ALGORITHM "sha-256"
#define FINGERPRINT_TEXT_LEN (32 * 3 - 1)

G_DEFINE_QUARK (swarm-sdp-error-quark, swarm_sdp_error);

/* "a=fingerprint:sha-256 AB:CD:…": 32 hex pairs separated by colons. */
static gchar *
parse_fingerprint (const gchar * line)
{
  const gchar *p = line + strlen (FINGERPRINT_PREFIX);
  guint i;

  if (g_ascii_strncasecmp (p, FINGERPRINT_ALGORITHM " ",
          strlen (FINGERPRINT_ALGORITHM) + 1) != 0)
    return NULL;
  p += strlen (FINGERPRINT_ALGORITHM) + 1;
  if (strlen (p) != FINGERPRINT_TEXT_LEN)
    return NULL;
  for (i = 0; i < FINGERPRINT_TEXT_LEN; i++) {
    if (i % 3 == 2 ? p[i] != ':' : !g_ascii_isxdigit (p[i]))
      return NULL;
  }
  return g_ascii_strup (p, -1);
}

/* Our agents speak UDP only (no ICE-TCP), and libnice 0.1.21 reads a TCP
 * candidate without "tcptype" through g_ascii_strcasecmp (NULL, …): a
 * g_critical, fatal where criticals are, so it must not see one.  The
 * transport is the third field, split the way libnice splits it. */
static gboolean
candidate_is_udp (const gchar * line)
{
  gchar **fields = g_strsplit (line + strlen ("a=candidate:"), " ", 4);
  gboolean udp = g_strv_length (fields) >= 3
      && g_ascii_strcasecmp (fields[2], "UDP") == 0;

  g_strfreev (fields);
  return udp;
}

/* The bounds come first, so a huge or binary text costs one scan. */
static gboolean
check_bounds (const gchar * text, gsize len, GError ** error)
{
  guint lines = 0;
  gsize i;

  if (len > SWARM_SDP_MAX_SIZE) {
    g_set_error_literal (error, SWARM_SDP_ERROR, SWARM_SDP_ERROR_TOO_LARGE,
        "too large");
    return FALSE;
  }
  if (memchr (text, '\0', len) != NULL) {
    g_set_error_literal (error, SWARM_SDP_ERROR, SWARM_SDP_ERROR_TOO_LARGE,
        "NUL byte");
    return FALSE;
  }
  for (i = 0; i < len; i++) {
    if (text[i] == '\n' || i + 1 == len)
      lines++;
  }
  if (lines > SWARM_SDP_MAX_LINES) {
    g_set_error_literal (error, SWARM_SDP_ERROR, SWARM_SDP_ERROR_TOO_LARGE,
        "too many lines");
    return FALSE;
  }
  return TRUE;
}

SwarmSdp *
swarm_sdp_parse (NiceAgent * agent, const gchar * text, gssize len,
    GError ** error)
{
  gsize size = len < 0 ? strlen (text) : (gsize) len;
  gchar *copy, **lines;
  GString *ice;
  gchar *fingerprint = NULL;
  guint i, n_media = 0, n_candidates = 0, n_ufrag = 0, n_pwd = 0;
  gboolean ufrag = FALSE, pwd = FALSE;
  gint code = -1;
  const gchar *problem = NULL;
  SwarmSdp *sdp;

  g_return_val_if_fail (NICE_IS_AGENT (agent), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if (!check_bounds (text, size, error))
    return NULL;

  copy = g_strndup (text, size);
  lines = g_strsplit (copy, "\n", -1);
  g_free (copy);
  ice = g_string_new (NULL);

  for (i = 0; lines[i] && problem == NULL; i++) {
    gchar *line = lines[i];
    gsize n = strlen (line);

    if (n > 0 && line[n - 1] == '\r')
      line[--n] = '\0';
    if (n == 0)
      continue;

    if (g_str_has_prefix (line, FINGERPRINT_PREFIX)) {
      if (fingerprint || !(fingerprint = parse_fingerprint (line))) {
        code = SWARM_SDP_ERROR_FINGERPRINT;
        problem = "bad fingerprint";
      }
      continue;
    }

    if (g_str_has_prefix (line, "m=")) {
      n_media++;
    } else if (g_str_has_prefix (line, "a=ice-ufrag:")) {
      /* Said once: libnice keeps the last of several (and leaks the others
       * in nice_agent_parse_remote_stream_sdp). */
      if (n_ufrag++ > 0) {
        code = SWARM_SDP_ERROR_CREDENTIALS;
        problem = "repeated ICE credentials";
      }
      ufrag = n > strlen ("a=ice-ufrag:");
    } else if (g_str_has_prefix (line, "a=ice-pwd:")) {
      if (n_pwd++ > 0) {
        code = SWARM_SDP_ERROR_CREDENTIALS;
        problem = "repeated ICE credentials";
      }
      pwd = n > strlen ("a=ice-pwd:");
    } else if (g_str_has_prefix (line, "a=candidate:")) {
      /* libnice's own parser, so what passes here is what it will take;
       * the candidate must follow the media line it belongs to. */
      NiceCandidate *c = candidate_is_udp (line) ?
          nice_agent_parse_remote_candidate_sdp (agent, 1, line) : NULL;

      if (c == NULL || c->component_id != 1 || n_media == 0) {
        code = SWARM_SDP_ERROR_CANDIDATE;
        problem = "bad candidate";
      } else {
        n_candidates++;
      }
      if (c)
        nice_candidate_free (c);
    }
    g_string_append (ice, line);
    g_string_append_c (ice, '\n');
  }
  g_strfreev (lines);

  if (problem == NULL) {
    if (fingerprint == NULL) {
      code = SWARM_SDP_ERROR_FINGERPRINT;
      problem = "no fingerprint";
    } else if (n_media != 1) {
      code = SWARM_SDP_ERROR_MEDIA;
      problem = "not exactly one media section";
    } else if (!ufrag || !pwd) {
      code = SWARM_SDP_ERROR_CREDENTIALS;
      problem = "no ICE credentials";
    } else if (n_candidates == 0) {
      code = SWARM_SDP_ERROR_CANDIDATE;
      problem = "no candidates";
    }
  }

  if (problem) {
    g_set_error_literal (error, SWARM_SDP_ERROR, code, problem);
    g_free (fingerprint);
    g_string_free (ice, TRUE);
    return NULL;
  }

  sdp = g_new0 (SwarmSdp, 1);
  sdp->ice = g_string_free (ice, FALSE);
  sdp->fingerprint = fingerprint;
  sdp->n_candidates = n_candidates;
  return sdp;
}

gchar *
swarm_sdp_write (const gchar * ice, const gchar * fingerprint)
{
  g_return_val_if_fail (ice != NULL, NULL);
  g_return_val_if_fail (fingerprint != NULL, NULL);

  return g_strdup_printf ("%s%s" FINGERPRINT_PREFIX FINGERPRINT_ALGORITHM
      " %s\n", ice, g_str_has_suffix (ice, "\n") ? "" : "\n", fingerprint);
}

void
swarm_sdp_free (SwarmSdp * sdp)
{
  if (sdp == NULL)
    return;
  g_free (sdp->ice);
  g_free (sdp->fingerprint);
  g_free (sdp);
}

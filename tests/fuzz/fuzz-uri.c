/* libFuzzer target for p2p:// URIs and ICE server strings: what parses
 * must print and parse back to the same values.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <swarm/swarm.h>

#include "fuzz-log.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (NULL, NULL);
  swarm_init ();
  fuzz_log_set_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  gchar *text = g_strndup ((const gchar *) data, size);
  SwarmUri *uri, *again;
  SwarmIceServer *ice;
  gchar *s, *s2;

  ice = swarm_ice_server_parse (text, FALSE, NULL);
  swarm_ice_server_free (ice);
  ice = swarm_ice_server_parse (text, TRUE, NULL);
  swarm_ice_server_free (ice);

  uri = swarm_uri_parse (text, NULL);
  if (uri) {
    s = swarm_uri_to_string (uri);
    again = swarm_uri_parse (s, NULL);
    g_assert_nonnull (again);
    g_assert_cmpstr (again->host, ==, uri->host);
    g_assert_cmpuint (again->port, ==, uri->port);
    g_assert_cmpstr (again->swarm_id, ==, uri->swarm_id);
    g_assert_true (memcmp (again->swarm_key, uri->swarm_key,
            SWARM_PUBLIC_KEY_LEN) == 0);
    g_assert_cmpstr (again->stun_server, ==, uri->stun_server);
    g_assert_cmpstr (again->turn_server, ==, uri->turn_server);
    g_assert_cmpstr (again->secret, ==, uri->secret);
    g_assert_cmpuint (again->trackers ? g_strv_length (again->trackers) : 0,
        ==, uri->trackers ? g_strv_length (uri->trackers) : 0);
    for (guint i = 0; uri->trackers && uri->trackers[i]; i++) {
      g_assert_cmpstr (again->trackers[i], ==, uri->trackers[i]);
      g_assert_true (swarm_uri_check_tracker_url (uri->trackers[i], NULL));
    }
    s2 = swarm_uri_to_string (again);
    g_assert_cmpstr (s, ==, s2);
    g_free (s2);
    s2 = swarm_uri_get_tracker_url (uri);
    g_assert_nonnull (s2);
    g_free (s2);
    {
      /* every URL listed once, the first being the one above */
      gchar **urls = swarm_uri_get_tracker_urls (uri);
      g_assert_nonnull (urls[0]);
      for (guint i = 0; urls[i]; i++)
        for (guint j = i + 1; urls[j]; j++)
          g_assert_cmpstr (urls[i], !=, urls[j]);
      g_strfreev (urls);
    }
    swarm_uri_free (again);
    /* the loggable form parses, without the secret */
    s2 = swarm_uri_to_public_string (uri);
    again = swarm_uri_parse (s2, NULL);
    g_assert_nonnull (again);
    g_assert_null (again->secret);
    swarm_uri_free (again);
    g_free (s2);
    g_free (s);
    swarm_uri_free (uri);
  } else {
    /* what the element shows of a URI that did not parse: a prefix of
     * it, cut before any query and any "secret", "…" marking a cut */
    s = swarm_uri_redact (text);
    if (!g_str_equal (s, text)) {
      gsize kept = strlen (s) - strlen ("…");

      g_assert_true (g_str_has_suffix (s, "…"));
      g_assert_true (strncmp (s, text, kept) == 0);
      g_assert_null (memchr (s, '?', kept));
      s2 = g_ascii_strdown (s, kept);
      g_assert_null (strstr (s2, "secret"));
      g_free (s2);
    } else {
      g_assert_null (strpbrk (text, "?&#"));
    }
    g_free (s);
  }
  g_free (text);
  return 0;
}

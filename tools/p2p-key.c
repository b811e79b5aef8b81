/* p2p-key: the publisher key behind a swarm, before going live.
 *
 *   p2p-key [--create] [--host HOST] [--port PORT] [--tracker URL …]
 *           [--secret SECRET | --new-secret] KEY-FILE
 *
 * Prints the swarm id of KEY-FILE (a p2psink key-file) and the p2p:// URI
 * viewers will open, so operators can publish the link ahead of the stream.
 * Refuses a key file that others can read or that is malformed, exactly as
 * p2psink does.  With --create, makes the key (mode 0600) if it is missing.
 * For a private swarm, --secret (or --new-secret, 128 random bits) also
 * prints the URI with the secret in it: the link members open.  A secret
 * p2psink would refuse as too weak (swarm_secret_check) is refused here
 * too; --new-secret is the way to a good one, and keeps it off the command
 * line (print it into a 0600 file for `secret-file`).
 * --tracker (repeatable) names the external trackers p2psink's `tracker`
 * will announce on, in the same order; the URI is then the one p2psink
 * posts for them, and --host / --port are not used.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <glib/gstdio.h>
#include <swarm/swarm.h>
/* swarm_secret_check (): exported for our plugins and tools, not installed */
#include <swarm/swarm-secret.h>

/* 128 bits from the kernel's generator, as 32 hex digits: easy to paste
 * into a URI or a shell command without quoting. */
static gchar *
new_secret (void)
{
  guint8 bytes[16];
  GString *s = g_string_new (NULL);

  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    g_error ("getrandom failed");
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (s, "%02x", bytes[i]);
  return g_string_free (s, FALSE);
}

int
main (int argc, char **argv)
{
  gboolean create = FALSE, make_secret = FALSE;
  gchar *host = NULL, *secret = NULL;
  gchar **trackers = NULL;
  gint port = 8800;
  GOptionEntry entries[] = {
    {"create", 'c', 0, G_OPTION_ARG_NONE, &create,
        "Create the key file (mode 0600) if it does not exist", NULL},
    {"host", 'H', 0, G_OPTION_ARG_STRING, &host,
        "Tracker host viewers reach (default: this machine's address)", "HOST"},
    {"port", 'p', 0, G_OPTION_ARG_INT, &port,
        "Tracker port (p2psink's port property; 8800)", "PORT"},
    {"tracker", 't', 0, G_OPTION_ARG_STRING_ARRAY, &trackers,
        "External tracker p2psink announces on (repeat for several, in "
        "p2psink's order)", "URL"},
    {"secret", 's', 0, G_OPTION_ARG_STRING, &secret,
        "Private swarm: also print the URI carrying this secret (it must "
        "be strong; --new-secret makes one)", "SECRET"},
    {"new-secret", 'n', 0, G_OPTION_ARG_NONE, &make_secret,
        "Private swarm: make up a random secret and print it", NULL},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("KEY-FILE - print the swarm "
      "id and p2p:// URI of a publisher key");
  GError *error = NULL;
  SwarmIdentity *id = NULL;
  SwarmUri *uri = NULL;
  gchar *swarm_id, *text;
  int rc = 1;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || port < 1 || port > 65535 || (secret && make_secret)
      || (secret && !swarm_secret_check (secret, &error))) {
    g_printerr ("%s\n", error ? error->message :
        "usage: p2p-key [--create] [--host HOST] [--port PORT] "
        "[--tracker URL …] [--secret SECRET | --new-secret] KEY-FILE");
    rc = 2;
    goto out;
  }
  swarm_init ();

  if (!create && !g_file_test (argv[1], G_FILE_TEST_EXISTS)) {
    g_printerr ("%s does not exist (use --create to make a new key)\n",
        argv[1]);
    goto out;
  }
  id = swarm_identity_load_or_create (argv[1], &error);
  if (!id) {
    g_printerr ("%s\n", error->message);
    goto out;
  }
  swarm_id = swarm_identity_get_swarm_id (id);
  if (trackers) {
    uri = swarm_uri_new_for_trackers (swarm_identity_get_public_key (id),
        (const gchar * const *) trackers, &error);
  } else {
    gboolean v6 = host && strchr (host, ':') && host[0] != '[';
    gchar *text = g_strdup_printf (v6 ? "p2p://[%s]:%d/%s" : "p2p://%s:%d/%s",
        host ? host : "HOST", port, swarm_id);

    uri = swarm_uri_parse (text, &error);
    g_free (text);
  }
  if (!uri) {
    g_printerr ("%s\n", error->message);
    g_free (swarm_id);
    goto out;
  }
  text = swarm_uri_to_public_string (uri);
  g_print ("swarm-id %s\n", swarm_id);
  g_print ("uri %s\n", text);
  g_free (text);
  if (make_secret) {
    secret = new_secret ();
    g_print ("secret %s\n", secret);
  }
  if (secret) {
    uri->secret = g_strdup (secret);
    text = swarm_uri_to_string (uri);
    g_print ("private-uri %s\n", text);
    g_free (text);
  }
  g_free (swarm_id);
  rc = 0;

out:
  g_clear_error (&error);
  g_option_context_free (ctx);
  g_clear_pointer (&id, swarm_identity_unref);
  swarm_uri_free (uri);
  swarm_secret_clear_string (&secret);
  g_strfreev (trackers);
  g_free (host);
  return rc;
}

/* The npm bittorrent-tracker server as a test fixture: a real, independent
 * WebTorrent tracker (tools/bittorrent-tracker.mjs) in a node process that
 * the test starts, kills and restarts.
 *
 * Call bt_tracker_prepare() from main(): it installs the package once per
 * build tree (tools/install-npm-deps.sh into $P2P_NPM_PREFIX) and returns
 * 77, meson's "skipped", only when node or npm is missing.  A tracker exits
 * by itself when its stdin closes, so a crashed test leaves none behind.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

typedef struct {
  GSubprocess *proc;
  guint port;
  gchar *record;                /* every message peers sent, or NULL */
} BtTracker;

static inline const gchar *
bt_tracker_env (const gchar * name)
{
  const gchar *v = g_getenv (name);

  if (v == NULL || *v == '\0') {
    g_printerr ("%s is not set: run this test through meson test\n", name);
    exit (1);
  }
  return v;
}

/* 0 = ready, 77 = skip (no node/npm), anything else = failed. */
static inline gint
bt_tracker_prepare (void)
{
  const gchar *root = bt_tracker_env ("P2P_SOURCE_ROOT");
  const gchar *prefix = bt_tracker_env ("P2P_NPM_PREFIX");
  gchar *script = g_build_filename (root, "tools", "install-npm-deps.sh",
      NULL);
  const gchar *argv[] = { script, prefix, NULL };
  /* the sanitizer setup preloads ASan for our children; npm is not ours */
  gchar **envp = g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  GError *error = NULL;
  gint status = 0;
  gboolean spawned;

  spawned = g_spawn_sync (NULL, (gchar **) argv, envp,
      G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL, &status, &error);
  g_strfreev (envp);
  if (!spawned) {
    g_printerr ("cannot run %s: %s\n", script, error->message);
    g_error_free (error);
    g_free (script);
    return 1;
  }
  g_free (script);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77) {
    g_print ("SKIP: node and npm are needed to run the bittorrent-tracker "
        "server\n");
    return 77;
  }
  if (!g_spawn_check_wait_status (status, &error)) {
    g_printerr ("installing bittorrent-tracker failed: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  return 0;
}

/* Starts a tracker on 127.0.0.1:@port (0 = any free port) with an interval
 * option of @interval_s seconds (0 = its default, 10 min): it asks
 * WebSocket peers to announce every fifth of it, and ours announce no more
 * often than every 10 s. */
static inline BtTracker *
bt_tracker_start_full (guint port, const gchar * record, guint interval_s)
{
  BtTracker *t = g_new0 (BtTracker, 1);
  gchar *script = g_build_filename (bt_tracker_env ("P2P_SOURCE_ROOT"),
      "tools", "bittorrent-tracker.mjs", NULL);
  gchar *modules = g_build_filename (bt_tracker_env ("P2P_NPM_PREFIX"),
      "node_modules", NULL);
  gchar *port_text = g_strdup_printf ("%u", port);
  gchar *interval_text = g_strdup_printf ("%u", interval_s ? interval_s : 600);
  GError *error = NULL;
  GDataInputStream *out;
  gchar *line;

  GSubprocessLauncher *launcher = g_subprocess_launcher_new
      (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);

  /* the sanitizer setup preloads ASan for our children; node is not ours */
  g_subprocess_launcher_unsetenv (launcher, "LD_PRELOAD");
  t->record = g_strdup (record);
  t->proc = g_subprocess_launcher_spawn (launcher, &error, "node", script,
      modules, "--port", port_text, "--interval", interval_text,
      record ? "--record" : NULL, record, NULL);
  g_object_unref (launcher);
  fail_unless (t->proc != NULL, "cannot start node: %s",
      error ? error->message : "?");
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (t->proc));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  fail_unless (line != NULL, "bittorrent-tracker did not start%s%s",
      error ? ": " : " (see its output above)", error ? error->message : "");
  t->port = (guint) g_ascii_strtoull (line, NULL, 10);
  fail_unless (t->port > 0 && (port == 0 || t->port == port),
      "bittorrent-tracker said “%s”", line);
  GST_INFO ("bittorrent-tracker on port %u", t->port);
  g_free (line);
  g_object_unref (out);
  g_free (port_text);
  g_free (interval_text);
  g_free (modules);
  g_free (script);
  return t;
}

static inline BtTracker *
bt_tracker_start (guint port, const gchar * record)
{
  return bt_tracker_start_full (port, record, 0);
}

static inline gchar *
bt_tracker_url (BtTracker * t)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/announce", t->port);
}

/* Waits until the record has stopped growing for half a second: the
 * tracker reads what peers sent in its own time, and a kill would cut off
 * the last goodbyes. */
static inline void
bt_tracker_settle (BtTracker * t)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  goffset last = -1;
  guint quiet = 0;

  fail_unless (t->record != NULL);
  while (quiet < 5 && g_get_monotonic_time () < deadline) {
    GStatBuf st;
    goffset size = g_stat (t->record, &st) == 0 ? st.st_size : 0;

    quiet = size == last ? quiet + 1 : 0;
    last = size;
    g_usleep (100 * 1000);
  }
}

/* Kills the tracker at once (SIGKILL: no goodbye to its peers) and waits
 * for it; @t may be started again on the same port. */
static inline void
bt_tracker_kill (BtTracker * t)
{
  if (t->proc == NULL)
    return;
  g_subprocess_force_exit (t->proc);
  fail_unless (g_subprocess_wait (t->proc, NULL, NULL));
  g_clear_object (&t->proc);
}

/* Starts a killed tracker again, same port, same record. */
static inline void
bt_tracker_restart (BtTracker * t)
{
  BtTracker *again;

  fail_unless (t->proc == NULL);
  again = bt_tracker_start (t->port, t->record);
  t->proc = again->proc;
  g_free (again->record);
  g_free (again);
}

static inline void
bt_tracker_free (BtTracker * t)
{
  bt_tracker_kill (t);
  g_free (t->record);
  g_free (t);
}

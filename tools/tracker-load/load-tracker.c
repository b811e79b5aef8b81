/* p2p-tracker-load: our embedded tracker in a process of its own, and what
 * /proc says a tracker process costs.
 *
 * The child is this program again (/proc/self/exe --role=tracker): the
 * library's SwarmTrackerServer with p2psink's defaults, serving any swarm,
 * on 127.0.0.1 and a free port, which it prints on its first line.  It
 * dies with its parent (PR_SET_PDEATHSIG), and when its stdin closes it
 * prints its stats as one JSON line and exits.  Its own process, so that
 * its CPU time and memory are its own, and so that neither side runs out
 * of descriptors first (10,000 connections are 20,000 sockets in all).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "load.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include "swarm/swarm-internal.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000

struct _LoadTracker {
  GPid pid;
  gint in_fd, out_fd;
  gchar *url;
};

/* ---- /proc -------------------------------------------------------- */

static guint64
status_kb (const gchar * status, const gchar * field)
{
  const gchar *line = strstr (status, field);

  return line ? g_ascii_strtoull (line + strlen (field), NULL, 10) : 0;
}

gboolean
load_proc_figures (gint pid, LoadProcFigures * f)
{
  g_autofree gchar *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *status_path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree gchar *stat = NULL, *status = NULL;
  g_auto (GStrv) fields = NULL;
  const gchar *after;

  memset (f, 0, sizeof (*f));
  if (!g_file_get_contents (stat_path, &stat, NULL, NULL)
      || !g_file_get_contents (status_path, &status, NULL, NULL))
    return FALSE;
  /* "pid (comm) state ...": utime and stime are fields 14 and 15, the
   * 12th and 13th after the command's closing parenthesis */
  after = strrchr (stat, ')');
  if (after == NULL)
    return FALSE;
  fields = g_strsplit (after + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return FALSE;
  f->cpu_seconds = (g_ascii_strtoull (fields[11], NULL, 10) +
      g_ascii_strtoull (fields[12], NULL, 10)) / (gdouble) sysconf
      (_SC_CLK_TCK);
  f->rss_kb = status_kb (status, "VmRSS:");
  f->rss_kb_max = status_kb (status, "VmHWM:");
  f->ok = TRUE;
  return TRUE;
}

/* ---- the parent's side -------------------------------------------- */

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* A line from @fd within @timeout_ms (NULL: none). */
static gchar *
read_line (gint fd, guint timeout_ms)
{
  GString *line = g_string_new (NULL);
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    struct pollfd pfd = {.fd = fd,.events = POLLIN };
    gint64 left = end - g_get_monotonic_time ();
    gchar c;
    gssize n;

    if (left <= 0 || poll (&pfd, 1, (gint) (left / 1000) + 1) <= 0)
      break;
    n = read (fd, &c, 1);
    if (n <= 0)
      break;
    if (c == '\n')
      return g_string_free (line, FALSE);
    g_string_append_c (line, c);
  }
  g_string_free (line, TRUE);
  return NULL;
}

LoadTracker *
load_tracker_spawn (const LoadOptions * opts, GError ** error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *port = NULL;
  LoadTracker *t = g_new0 (LoadTracker, 1);

  /* /proc/self/exe is resolved by the child's exec: this program */
  g_ptr_array_add (argv, g_strdup ("/proc/self/exe"));
  g_ptr_array_add (argv, g_strdup ("--role=tracker"));
  g_ptr_array_add (argv, g_strdup_printf ("--parent-pid=%d", getpid ()));
  g_ptr_array_add (argv, g_strdup_printf ("--tracker-max-connections=%d",
          opts->max_connections));
  g_ptr_array_add (argv,
      g_strdup_printf ("--tracker-max-connections-per-address=%d",
          opts->max_connections_per_address));
  g_ptr_array_add (argv, g_strdup_printf ("--tracker-connection-rate=%d",
          opts->connection_rate));
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_async_with_pipes (NULL, (gchar **) argv->pdata, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL, &t->pid, &t->in_fd,
          &t->out_fd, NULL, error)) {
    g_free (t);
    return NULL;
  }
  port = read_line (t->out_fd, START_TIMEOUT_MS);
  if (port == NULL || atoi (port) <= 0) {
    g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
        "the tracker did not start within %d ms", START_TIMEOUT_MS);
    load_tracker_free (t);
    return NULL;
  }
  t->url = g_strdup_printf ("ws://127.0.0.1:%d/announce", atoi (port));
  return t;
}

const gchar *
load_tracker_get_url (LoadTracker * t)
{
  return t->url;
}

gint
load_tracker_get_pid (LoadTracker * t)
{
  return t->pid;
}

JsonNode *
load_tracker_stop (LoadTracker * t)
{
  g_autofree gchar *line = NULL;
  JsonNode *stats = NULL;
  gint status, i;

  close (t->in_fd);
  t->in_fd = -1;
  line = read_line (t->out_fd, STOP_TIMEOUT_MS);
  if (line)
    stats = json_from_string (line, NULL);
  for (i = 0; i < STOP_TIMEOUT_MS / 10; i++) {
    if (waitpid (t->pid, &status, WNOHANG) == t->pid) {
      t->pid = 0;
      break;
    }
    g_usleep (10000);
  }
  return stats;
}

void
load_tracker_free (LoadTracker * t)
{
  if (t == NULL)
    return;
  if (t->pid > 0) {
    kill (t->pid, SIGKILL);
    waitpid (t->pid, NULL, 0);
  }
  if (t->in_fd >= 0)
    close (t->in_fd);
  if (t->out_fd >= 0)
    close (t->out_fd);
  g_free (t->url);
  g_free (t);
}

/* ---- the child's side --------------------------------------------- */

static gboolean
on_stdin (gint fd, GIOCondition condition, gpointer user_data)
{
  gchar buf[256];

  if ((condition & G_IO_IN) && read (fd, buf, sizeof (buf)) > 0)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
print_stats (SwarmTrackerServer * s)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  SwarmTrackerServerStats st;

  swarm_tracker_server_get_stats (s, &st);
#define FIELD(name) \
  json_builder_set_member_name (b, #name); \
  json_builder_add_int_value (b, st.name)
  json_builder_begin_object (b);
  FIELD (connections);
  FIELD (connections_refused);
  FIELD (refused_full);
  FIELD (refused_address);
  FIELD (refused_rate);
  FIELD (refused_fds);
  FIELD (connections_closed_flood);
  FIELD (connections_closed_unannounced);
  FIELD (connections_closed_half_open);
  FIELD (connections_closed_idle);
  FIELD (connections_closed_oversize);
  FIELD (connections_closed_slow);
  FIELD (announces);
  FIELD (bytes_held_max);
  FIELD (bytes_queued_max);
  json_builder_set_member_name (b, "peers");
  json_builder_add_int_value (b, swarm_tracker_server_get_n_peers (s));
  json_builder_end_object (b);
#undef FIELD
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

int
load_tracker_main (const LoadOptions * opts)
{
  GMainLoop *loop;
  SwarmTrackerServer *s;
  SwarmTrackerServerLimits limits;
  GError *error = NULL;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (opts->parent_pid > 0 && getppid () != opts->parent_pid)
    return 3;
  gst_init (NULL, NULL);
  swarm_init ();

  loop = g_main_loop_new (NULL, FALSE);
  s = swarm_tracker_server_new ();
  /* p2psink's properties do the same */
  swarm_tracker_server_get_limits (s, &limits);
  if (opts->max_connections >= 0)
    limits.max_connections = MAX (opts->max_connections, 1);
  if (opts->max_connections_per_address >= 0)
    limits.max_connections_per_address = opts->max_connections_per_address;
  if (opts->connection_rate >= 0) {
    limits.connection_rate = opts->connection_rate;
    limits.connection_burst = opts->connection_rate *
        SWARM_TRACKER_CONNECTION_BURST_S;
  }
  swarm_tracker_server_set_limits (s, &limits);
  if (!swarm_tracker_server_listen (s, "127.0.0.1", 0, &error)) {
    g_printerr ("p2p-tracker-load tracker: %s\n", error->message);
    return 1;
  }
  printf ("%u\n", swarm_tracker_server_get_port (s));
  fflush (stdout);
  g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin,
      loop);
  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  g_main_loop_run (loop);

  print_stats (s);
  swarm_tracker_server_free (s);
  g_main_loop_unref (loop);
  return 0;
}

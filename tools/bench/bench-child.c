/* p2p-bench: what every child process shares — dying with the controller,
 * reporting JSON lines on stdout, measuring its own CPU time and peak RSS
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* The controller also sets the death signal between fork and exec; doing it
 * again here and checking the parent covers a controller that died before
 * either took effect. */
void
bench_child_init (gint parent_pid)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (parent_pid > 0 && getppid () != parent_pid)
    _exit (3);
}

/* One JSON object per line; the controller reads them as they come. */
void
bench_child_report (JsonBuilder * b)
{
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  gchar *text;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_free (text);
  json_node_unref (root);
  g_object_unref (gen);
}

static guint64
read_vm_hwm_kb (const gchar * status_path)
{
  gchar *text = NULL, *line;
  guint64 kb = 0;

  if (!g_file_get_contents (status_path, &text, NULL, NULL))
    return 0;
  line = strstr (text, "VmHWM:");
  if (line)
    kb = g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
  g_free (text);
  return kb;
}

void
bench_child_add_usage (JsonBuilder * b)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  json_builder_set_member_name (b, "cpu_s");
  json_builder_add_double_value (b, ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
      + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  json_builder_set_member_name (b, "rss_kb");
  json_builder_add_int_value (b, read_vm_hwm_kb ("/proc/self/status"));
}

/* For a child about to be killed: it will not report its usage itself. */
gboolean
bench_read_proc_usage (GPid pid, gdouble * cpu_s, guint64 * rss_kb)
{
  gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  gchar *text = NULL, *p;
  gchar **fields;
  gboolean ok = FALSE;

  if (g_file_get_contents (path, &text, NULL, NULL)
      && (p = strrchr (text, ')'))) {
    /* after "pid (comm)": state is field 3, utime 14, stime 15 */
    fields = g_strsplit (p + 2, " ", 0);
    if (g_strv_length (fields) > 13) {
      *cpu_s = (g_ascii_strtoull (fields[11], NULL, 10)
          + g_ascii_strtoull (fields[12], NULL, 10))
          / (gdouble) sysconf (_SC_CLK_TCK);
      ok = TRUE;
    }
    g_strfreev (fields);
  }
  g_free (text);
  g_free (path);
  path = g_strdup_printf ("/proc/%d/status", pid);
  *rss_kb = read_vm_hwm_kb (path);
  g_free (path);
  return ok;
}

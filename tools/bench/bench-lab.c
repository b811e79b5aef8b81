/* p2p-bench: running the peers in the NAT lab instead of on loopback
 *
 * With --lab (or any of --sites, --loss, --rtt, --rate) the controller
 * builds a lab with tests/lab/lab.sh (docs/lab.md): the origin runs on the
 * lab's public host, viewers are spread over NATed sites, one site each
 * by default (--viewers-per-site), their NAT modes cycling through
 * --sites (cone,cone,cone,symmetric: most viewers sit behind cone NATs,
 * some behind symmetric ones that need the relay).  coturn serves STUN and
 * TURN on the lab's "Internet", given to every viewer.
 *
 * The impairments are split over the two ends of every path, so that each
 * path a viewer uses (to the origin, to another viewer, through the relay)
 * has --rtt and --loss end to end, as the figures claim: every site's
 * access link (its NAT router's uplink) and the origin's link each add
 * RTT/4 each way and drop 1 − sqrt(1 − PCT/100) of the packets each way.
 * --rate KBIT is a tbf both ways on every site's access link (the origin's
 * is not limited: it serves several viewers).  Viewers on one site reach
 * each other over their LAN, unimpaired.
 *
 * The lab belongs to the controller (LAB_OWNER): lab.sh down removes it at
 * the end, and a controller that dies without that leaves a lab the next
 * lab.sh run reaps.  The controller itself stays in the root namespace and
 * runs each child through `ip netns exec`, which execs it in place, so the
 * child keeps its pid, pipes and parent-death signal.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 10.0.N.0/24 behind 198.51.100.(10 + N); the public host is .100 */
#define LAB_MAX_SITES 89
#define LAB_PUBHOST_ADDRESS "198.51.100.100"

struct _BenchLab
{
  gchar *script;
  gchar *delay_bin;
  gchar *dir;
  gchar *prefix;
  GPtrArray *modes;             /* gchar*, site N at index N - 1 */
  gint viewers_per_site;
  gchar *stun_uri, *turn_uri;
  gboolean up;
};

static const gchar *
lab_script (void)
{
  const gchar *env = g_getenv ("P2P_LAB_SCRIPT");

  return env && *env ? env : P2P_LAB_SCRIPT;
}

static const gchar *
lab_delay_bin (void)
{
  const gchar *env = g_getenv ("LAB_DELAY_BIN");

  return env && *env ? env : P2P_LAB_DELAY;
}

gboolean
bench_lab_wanted (const BenchOptions * opts)
{
  return opts->lab || opts->sites || opts->loss_pct > 0 || opts->rtt_ms > 0
      || opts->rate_kbps > 0;
}

/* Runs lab.sh with ARGS (NULL-terminated); its stdout in *out if wanted,
 * its stderr passed on as our own so a failing step explains itself. */
static gboolean
lab_run (BenchLab * lab, const gchar * const *args, gchar ** out,
    GError ** error)
{
  GPtrArray *argv = g_ptr_array_new ();
  GSubprocessLauncher *launcher;
  GSubprocess *proc;
  gchar *owner = g_strdup_printf ("%d", getpid ());
  gboolean ok = FALSE;
  guint i;

  g_ptr_array_add (argv, (gpointer) "bash");
  g_ptr_array_add (argv, lab->script);
  for (i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (out ? G_SUBPROCESS_FLAGS_STDOUT_PIPE :
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "LAB_DIR", lab->dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "LAB_OWNER", owner, TRUE);
  g_subprocess_launcher_setenv (launcher, "LAB_DELAY_BIN", lab->delay_bin,
      TRUE);
  /* a sanitizer run preloads its runtime for our programs; the lab's
   * (ip, iptables, coturn) are not built with it */
  g_subprocess_launcher_unsetenv (launcher, "LD_PRELOAD");
  proc = g_subprocess_launcher_spawnv (launcher,
      (const gchar * const *) argv->pdata, error);
  if (proc && g_subprocess_communicate_utf8 (proc, NULL, NULL, out, NULL,
          error)) {
    gint status = g_subprocess_get_if_exited (proc) ?
        g_subprocess_get_exit_status (proc) : -1;

    if (status == 0)
      ok = TRUE;
    else if (status == 77)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
          "the NAT lab is not available here (see above: it needs root, "
          "network namespaces and the tools tools/install-deps.sh "
          "installs)");
    else
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
          "lab.sh %s failed (see above)", args[0]);
  }
  g_clear_object (&proc);
  g_object_unref (launcher);
  g_ptr_array_unref (argv);
  g_free (owner);
  return ok;
}

static gboolean
lab_command (BenchLab * lab, gchar ** out, GError ** error,
    const gchar * first, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  const gchar *arg;
  gboolean ok;
  va_list ap;

  va_start (ap, first);
  for (arg = first; arg; arg = va_arg (ap, const gchar *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  ok = lab_run (lab, (const gchar * const *) args->pdata, out, error);
  g_ptr_array_unref (args);
  return ok;
}

static gboolean
parse_sites (BenchLab * lab, const BenchOptions * opts, GError ** error)
{
  gchar **pattern = g_strsplit (opts->sites ? opts->sites :
      "cone,cone,cone,symmetric", ",", -1);
  guint n_pattern = g_strv_length (pattern);
  gint n_sites, i;

  for (i = 0; i < (gint) n_pattern; i++) {
    g_strstrip (pattern[i]);
    if (g_strcmp0 (pattern[i], "cone") && g_strcmp0 (pattern[i], "symmetric")
        && g_strcmp0 (pattern[i], "open")) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "--sites takes a comma-separated list of cone, symmetric and "
          "open, not \"%s\"", pattern[i]);
      g_strfreev (pattern);
      return FALSE;
    }
  }
  if (n_pattern == 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--sites is empty");
    g_strfreev (pattern);
    return FALSE;
  }
  n_sites = (opts->viewers + opts->viewers_per_site - 1)
      / opts->viewers_per_site;
  if (n_sites > LAB_MAX_SITES) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "the lab has room for %d sites: raise --viewers-per-site",
        LAB_MAX_SITES);
    g_strfreev (pattern);
    return FALSE;
  }
  for (i = 0; i < n_sites; i++)
    g_ptr_array_add (lab->modes, g_strdup (pattern[i % n_pattern]));
  g_strfreev (pattern);
  return TRUE;
}

/* NODE's link: its half of every path's loss and delay, both ways, and
 * (sites only) the rate. */
static gboolean
impair_node (BenchLab * lab, const BenchOptions * opts, const gchar * node,
    gboolean limit_rate, GError ** error)
{
  gboolean ok = TRUE;

  if (opts->loss_pct > 0) {
    gchar pct[G_ASCII_DTOSTR_BUF_SIZE];
    gdouble half = 100.0 * (1.0 - sqrt (1.0 - opts->loss_pct / 100.0));

    g_ascii_formatd (pct, sizeof pct, "%.4f", half);
    ok = lab_command (lab, NULL, error, "loss", node, pct, NULL);
  }
  if (ok && opts->rtt_ms > 0) {
    gchar *ms = g_strdup_printf ("%d", opts->rtt_ms / 4);

    ok = lab_command (lab, NULL, error, "delay", node, ms, NULL);
    g_free (ms);
  }
  if (ok && limit_rate && opts->rate_kbps > 0) {
    gchar *rate = g_strdup_printf ("%dkbit", opts->rate_kbps);

    ok = lab_command (lab, NULL, error, "rate", node, rate, "both", NULL);
    g_free (rate);
  }
  return ok;
}

BenchLab *
bench_lab_new (const BenchOptions * opts, GError ** error)
{
  BenchLab *lab = g_new0 (BenchLab, 1);
  GPtrArray *up = g_ptr_array_new ();
  gchar *servers = NULL, *prefix_path, **words;
  gint64 t0 = g_get_monotonic_time ();
  guint i;

  lab->script = g_strdup (lab_script ());
  lab->delay_bin = g_strdup (lab_delay_bin ());
  lab->modes = g_ptr_array_new_with_free_func (g_free);
  lab->viewers_per_site = opts->viewers_per_site;
  if (!parse_sites (lab, opts, error))
    goto fail;
  if (!g_file_test (lab->script, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "lab script %s not found (set P2P_LAB_SCRIPT)", lab->script);
    goto fail;
  }
  if (opts->rtt_ms > 0 && !g_file_test (lab->delay_bin,
          G_FILE_TEST_IS_EXECUTABLE)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "--rtt needs lab-delay, not found at %s (build it with "
        "libnetfilter-queue-dev installed, or set LAB_DELAY_BIN)",
        lab->delay_bin);
    goto fail;
  }
  lab->dir = g_dir_make_tmp ("p2p-bench-lab-XXXXXX", error);
  if (!lab->dir)
    goto fail;

  if (!opts->quiet)
    g_print ("lab: building %u sites in %s\n", lab->modes->len, lab->dir);
  g_ptr_array_add (up, (gpointer) "up");
  for (i = 0; i < lab->modes->len; i++)
    g_ptr_array_add (up, g_ptr_array_index (lab->modes, i));
  g_ptr_array_add (up, NULL);
  /* from here on the lab may exist, even half built: tear it down */
  lab->up = TRUE;
  if (!lab_run (lab, (const gchar * const *) up->pdata, NULL, error))
    goto fail;

  prefix_path = g_build_filename (lab->dir, "prefix", NULL);
  if (g_file_get_contents (prefix_path, &lab->prefix, NULL, NULL))
    g_strstrip (lab->prefix);
  g_free (prefix_path);
  if (!lab->prefix || !*lab->prefix) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "lab.sh up left no prefix in %s", lab->dir);
    goto fail;
  }

  if (!lab_command (lab, &servers, error, "turn", NULL))
    goto fail;
  words = g_strsplit (g_strstrip (servers), " ", -1);
  if (g_strv_length (words) == 2) {
    lab->stun_uri = g_strdup (words[0]);
    lab->turn_uri = g_strdup (words[1]);
  }
  g_strfreev (words);
  g_free (servers);
  if (!lab->turn_uri) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "lab.sh turn printed no STUN and TURN URIs");
    goto fail;
  }

  if (!impair_node (lab, opts, "pubhost", FALSE, error))
    goto fail;
  for (i = 0; i < lab->modes->len; i++) {
    gchar *node = g_strdup_printf ("n%u", i + 1);
    gboolean ok = impair_node (lab, opts, node, TRUE, error);

    g_free (node);
    if (!ok)
      goto fail;
  }
  if (!opts->quiet)
    g_print ("lab: %s up in %.1f s (%s, %s)\n", lab->prefix,
        (g_get_monotonic_time () - t0) / 1e6, lab->stun_uri, lab->turn_uri);
  g_ptr_array_unref (up);
  return lab;

fail:
  g_ptr_array_unref (up);
  bench_lab_free (lab);
  return NULL;
}

void
bench_lab_free (BenchLab * lab)
{
  if (!lab)
    return;
  if (lab->up) {
    GError *error = NULL;

    if (!lab_command (lab, NULL, &error, "down", NULL)) {
      g_printerr ("p2p-bench: tearing the lab down: %s\n", error->message);
      g_error_free (error);
    }
  }
  if (lab->dir && !g_getenv ("P2P_BENCH_KEEP_LAB")) {
    gchar *argv[] = { (gchar *) "rm", (gchar *) "-rf", lab->dir, NULL };

    g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
        NULL, NULL, NULL);
  }
  g_free (lab->script);
  g_free (lab->delay_bin);
  g_free (lab->dir);
  g_free (lab->prefix);
  g_ptr_array_unref (lab->modes);
  g_free (lab->stun_uri);
  g_free (lab->turn_uri);
  g_free (lab);
}

guint
bench_lab_n_sites (const BenchLab * lab)
{
  return lab->modes->len;
}

/* Viewer ID (1, 2, ...; replacements after churn go on counting) lives on
 * site 1 + ((ID - 1) / viewers-per-site) mod sites. */
gint
bench_lab_site_of (const BenchLab * lab, gint id)
{
  return 1 + ((MAX (id, 1) - 1) / lab->viewers_per_site) % lab->modes->len;
}

const gchar *
bench_lab_site_mode (const BenchLab * lab, gint site)
{
  return g_ptr_array_index (lab->modes, site - 1);
}

const gchar *
bench_lab_origin_address (const BenchLab * lab)
{
  return LAB_PUBHOST_ADDRESS;
}

const gchar *
bench_lab_stun_uri (const BenchLab * lab)
{
  return lab->stun_uri;
}

const gchar *
bench_lab_turn_uri (const BenchLab * lab)
{
  return lab->turn_uri;
}

/* ARGV gets `ip netns exec NAMESPACE` in front: the origin (ID 0) on the
 * public host, viewers on their site's host. */
void
bench_lab_wrap_argv (const BenchLab * lab, gint id, GPtrArray * argv)
{
  gchar *ns = id ? g_strdup_printf ("%sh%d", lab->prefix,
      bench_lab_site_of (lab, id)) : g_strdup_printf ("%spubhost",
      lab->prefix);

  g_ptr_array_insert (argv, 0, g_strdup ("ip"));
  g_ptr_array_insert (argv, 1, g_strdup ("netns"));
  g_ptr_array_insert (argv, 2, g_strdup ("exec"));
  g_ptr_array_insert (argv, 3, ns);
}

/* In the run's JSON: where the peers ran, "lab": {sites, viewers_per_site,
 * loss_pct, rtt_ms, rate_kbps, stun, turn}; absent on loopback. */
void
bench_lab_add_run_json (const BenchRun * run, JsonBuilder * b)
{
  const BenchLab *lab = run->lab;
  const BenchOptions *o = run->opts;
  guint i;

  json_builder_set_member_name (b, "lab");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "sites");
  json_builder_begin_array (b);
  for (i = 1; i <= bench_lab_n_sites (lab); i++)
    json_builder_add_string_value (b, bench_lab_site_mode (lab, i));
  json_builder_end_array (b);
  bench_json_add_int (b, "viewers_per_site", o->viewers_per_site);
  bench_json_add_num (b, "loss_pct", o->loss_pct);
  bench_json_add_int (b, "rtt_ms", o->rtt_ms);
  bench_json_add_int (b, "rate_kbps", o->rate_kbps);
  json_builder_set_member_name (b, "stun");
  json_builder_add_string_value (b, bench_lab_stun_uri (lab));
  json_builder_set_member_name (b, "turn");
  json_builder_add_string_value (b, bench_lab_turn_uri (lab));
  json_builder_end_object (b);
}

/* In each viewer's JSON: its site and that site's NAT. */
void
bench_lab_add_viewer_json (const BenchRun * run, const BenchPeer * v,
    JsonBuilder * b)
{
  gint site = bench_lab_site_of (run->lab, v->id);

  bench_json_add_int (b, "site", site);
  json_builder_set_member_name (b, "nat");
  json_builder_add_string_value (b, bench_lab_site_mode (run->lab, site));
}

/* docs/stats.md is the one reference for the stats structures: this keeps
 * it true.  An origin and a viewer run on loopback; the fields of their
 * `stats` property and of their posted p2p-stats messages, and of every
 * `peer` structure in `peer-stats`, are compared with the tables of
 * docs/stats.md (found through P2P_SOURCE_ROOT): a field emitted but not
 * documented, documented but not emitted by a role that should, of another
 * type, or emitted by a role the document does not give it, fails.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "p2p-test-util.h"

typedef struct {
  gchar *type;                  /* GType name */
  gchar *role;                  /* "both", "origin" or "viewer" */
} DocField;

typedef struct {
  GHashTable *stats;            /* field name -> DocField: p2p-stats */
  GHashTable *peer;             /* the same: peer */
  gchar *path;
} StatsDoc;

static void
doc_field_free (DocField * f)
{
  g_free (f->type);
  g_free (f->role);
  g_free (f);
}

static gchar *
doc_cell (const gchar * cell)
{
  gchar *text = g_strstrip (g_strdup (cell));
  gsize len = strlen (text);

  /* `name` -> name */
  if (len >= 2 && text[0] == '`' && text[len - 1] == '`') {
    memmove (text, text + 1, len - 2);
    text[len - 2] = '\0';
  }
  return text;
}

/* The rows "| `field` | type | role | ..." under the headings naming
 * `p2p-stats` and `peer`. */
static StatsDoc *
stats_doc_load (void)
{
  const gchar *root = g_getenv ("P2P_SOURCE_ROOT");
  StatsDoc *doc = g_new0 (StatsDoc, 1);
  GHashTable *section = NULL;
  GError *error = NULL;
  gchar *text, **lines, **l;

  fail_unless (root != NULL, "P2P_SOURCE_ROOT is not set");
  doc->path = g_build_filename (root, "docs", "stats.md", NULL);
  doc->stats = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) doc_field_free);
  doc->peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) doc_field_free);
  fail_unless (g_file_get_contents (doc->path, &text, NULL, &error),
      "%s", error ? error->message : doc->path);
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  for (l = lines; *l; l++) {
    gchar **cells;
    DocField *f;
    gchar *name;

    if (g_str_has_prefix (*l, "## ")) {
      section = strstr (*l, "`p2p-stats`") ? doc->stats :
          strstr (*l, "`peer`") ? doc->peer : NULL;
      continue;
    }
    if (!section || !g_str_has_prefix (*l, "| `"))
      continue;
    cells = g_strsplit (*l, "|", -1);
    fail_unless (g_strv_length (cells) >= 5, "%s: short row: %s", doc->path,
        *l);
    name = doc_cell (cells[1]);
    f = g_new0 (DocField, 1);
    f->type = doc_cell (cells[2]);
    f->role = doc_cell (cells[3]);
    fail_unless (!strcmp (f->role, "both") || !strcmp (f->role, "origin")
        || !strcmp (f->role, "viewer"), "%s: role '%s' of %s", doc->path,
        f->role, name);
    fail_if (g_hash_table_contains (section, name), "%s: %s twice",
        doc->path, name);
    g_hash_table_insert (section, name, f);
    g_strfreev (cells);
  }
  g_strfreev (lines);
  fail_unless (g_hash_table_size (doc->stats) > 0, "%s: no p2p-stats table",
      doc->path);
  fail_unless (g_hash_table_size (doc->peer) > 0, "%s: no peer table",
      doc->path);
  return doc;
}

static void
stats_doc_free (StatsDoc * doc)
{
  g_hash_table_unref (doc->stats);
  g_hash_table_unref (doc->peer);
  g_free (doc->path);
  g_free (doc);
}

typedef struct {
  GHashTable *table;
  const gchar *role;
  const gchar *what;
  GString *problems;
} CheckCtx;

static gboolean
check_emitted_field (GQuark field, const GValue * value, gpointer data)
{
  CheckCtx *c = data;
  const gchar *name = g_quark_to_string (field);
  const gchar *type = G_VALUE_TYPE_NAME (value);
  DocField *f = g_hash_table_lookup (c->table, name);

  if (!f)
    g_string_append_printf (c->problems, "\n  %s: %s (%s) is not in "
        "docs/stats.md", c->what, name, type);
  else if (strcmp (f->type, type))
    g_string_append_printf (c->problems, "\n  %s: %s is a %s, docs/stats.md "
        "says %s", c->what, name, type, f->type);
  else if (strcmp (f->role, "both") && strcmp (f->role, c->role))
    g_string_append_printf (c->problems, "\n  %s: %s is there, docs/stats.md "
        "gives it to the %s only", c->what, name, f->role);
  return TRUE;
}

/* Every field of @st documented, with its type and for @role; with
 * @complete, every field documented for @role present. */
static void
check_fields (const GstStructure * st, GHashTable * table, const gchar * role,
    const gchar * what, gboolean complete, GString * problems)
{
  CheckCtx c = { table, role, what, problems };
  GHashTableIter it;
  gpointer name, f;

  gst_structure_foreach (st, check_emitted_field, &c);
  if (!complete)
    return;
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &name, &f)) {
    const gchar *r = ((DocField *) f)->role;

    if ((!strcmp (r, "both") || !strcmp (r, role))
        && !gst_structure_has_field (st, name))
      g_string_append_printf (problems, "\n  %s: %s is in docs/stats.md "
          "(%s) but not emitted", what, (const gchar *) name, r);
  }
}

/* A p2p-stats structure and each of its peer structures; returns how many
 * peer structures there were. */
static guint
check_stats (StatsDoc * doc, const GstStructure * st, const gchar * role,
    const gchar * what, gboolean complete, GString * problems)
{
  const GValue *peers;
  guint i, n = 0;

  fail_unless (gst_structure_has_name (st, "p2p-stats"), "%s: named %s",
      what, gst_structure_get_name (st));
  check_fields (st, doc->stats, role, what, complete, problems);
  peers = gst_structure_get_value (st, "peer-stats");
  if (!peers || !GST_VALUE_HOLDS_ARRAY (peers))
    return 0;
  n = gst_value_array_get_size (peers);
  for (i = 0; i < n; i++) {
    const GValue *v = gst_value_array_get_value (peers, i);
    const GstStructure *p;
    gchar *pwhat;

    fail_unless (GST_VALUE_HOLDS_STRUCTURE (v), "%s: peer-stats[%u] is a %s",
        what, i, G_VALUE_TYPE_NAME (v));
    p = gst_value_get_structure (v);
    fail_unless (gst_structure_has_name (p, "peer"), "%s: peer-stats[%u] "
        "named %s", what, i, gst_structure_get_name (p));
    pwhat = g_strdup_printf ("%s peer-stats[%u]", what, i);
    check_fields (p, doc->peer, role, pwhat, TRUE, problems);
    g_free (pwhat);
  }
  return n;
}

static GstStructure *
element_stats (GstElement * el)
{
  GstStructure *st;

  g_object_get (el, "stats", &st, NULL);
  return st;
}

/* Before start an element has no session: what it reports then must be
 * documented too (a subset, so not checked for completeness). */
GST_START_TEST (test_stats_before_start_documented)
{
  StatsDoc *doc = stats_doc_load ();
  GString *problems = g_string_new (NULL);
  const gchar *factories[][2] = { {"p2psink", "origin"}, {"p2psrc", "viewer"} };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (factories); i++) {
    GstElement *el = gst_element_factory_make (factories[i][0], NULL);
    GstStructure *st;
    gchar *what = g_strdup_printf ("%s stats before start", factories[i][0]);

    fail_unless (el != NULL);
    st = element_stats (el);
    check_stats (doc, st, factories[i][1], what, FALSE, problems);
    gst_structure_free (st);
    gst_object_unref (el);
    g_free (what);
  }
  fail_unless (problems->len == 0, "stats and docs/stats.md disagree:%s",
      problems->str);
  g_string_free (problems, TRUE);
  stats_doc_free (doc);
}

GST_END_TEST;

/* The first posted p2p-stats message that lists a partner. */
static GstStructure *
wait_stats_message_with_peer (GstElement * pipeline, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline) {
    GstMessage *msg = test_wait_message (pipeline, GST_MESSAGE_ELEMENT,
        "p2p-stats", 500);
    const GstStructure *st;
    const GValue *peers;
    GstStructure *copy = NULL;

    if (!msg)
      continue;
    st = gst_message_get_structure (msg);
    peers = gst_structure_get_value (st, "peer-stats");
    if (peers && gst_value_array_get_size (peers) > 0)
      copy = gst_structure_copy (st);
    gst_message_unref (msg);
    if (copy)
      return copy;
  }
  return NULL;
}

/* Waits until @el's stats list at least one partner. */
static GstStructure *
wait_stats_with_peer (GstElement * el, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    GstStructure *st = element_stats (el);
    const GValue *peers = gst_structure_get_value (st, "peer-stats");

    if (peers && gst_value_array_get_size (peers) > 0)
      return st;
    gst_structure_free (st);
    if (g_get_monotonic_time () > deadline)
      return NULL;
    g_usleep (50 * 1000);
  }
}

GST_START_TEST (test_stats_match_doc)
{
  StatsDoc *doc = stats_doc_load ();
  GString *problems = g_string_new (NULL);
  TestOrigin *origin = test_origin_start ("stats-interval=200");
  TestViewer *v = test_viewer_start (origin->uri, "stats-interval=200");
  GstStructure *st;

  fail_unless (test_viewer_wait (v, 20, TEST_MS (20000)),
      "the viewer played nothing");

  st = wait_stats_with_peer (origin->sink, TEST_MS (5000));
  fail_unless (st != NULL, "the origin's stats list no partner");
  check_stats (doc, st, "origin", "p2psink stats", TRUE, problems);
  gst_structure_free (st);
  st = wait_stats_with_peer (v->src, TEST_MS (5000));
  fail_unless (st != NULL, "the viewer's stats list no partner");
  check_stats (doc, st, "viewer", "p2psrc stats", TRUE, problems);
  gst_structure_free (st);

  st = wait_stats_message_with_peer (origin->pipeline, TEST_MS (5000));
  fail_unless (st != NULL, "no p2p-stats message with a partner from p2psink");
  check_stats (doc, st, "origin", "p2psink message", TRUE, problems);
  gst_structure_free (st);
  st = wait_stats_message_with_peer (v->pipeline, TEST_MS (5000));
  fail_unless (st != NULL, "no p2p-stats message with a partner from p2psrc");
  check_stats (doc, st, "viewer", "p2psrc message", TRUE, problems);
  gst_structure_free (st);

  test_viewer_stop (v);
  test_viewer_free (v);
  test_origin_stop (origin);
  fail_unless (problems->len == 0, "stats and docs/stats.md disagree:%s",
      problems->str);
  g_string_free (problems, TRUE);
  stats_doc_free (doc);
}

GST_END_TEST;

static Suite *
stats_doc_suite (void)
{
  Suite *s = suite_create ("stats-doc");
  TCase *tc = test_tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_stats_before_start_documented);
  tcase_add_test (tc, test_stats_match_doc);
  return s;
}

TEST_CHECK_MAIN (stats_doc);

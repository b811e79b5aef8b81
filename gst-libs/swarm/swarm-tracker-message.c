/* Tracker JSON messages: parsing and writing, nowhere else.
 *
 * The parser is strict about what it keeps (ids, offer/answer shapes,
 * numbers) so that the client and the server can trust every field, and
 * lenient about fields it does not use (uploaded, downloaded, unknown keys)
 * so that browser peers and other trackers interoperate.
 *
 * Parse errors stay in English on purpose: the embedded tracker sends them
 * to remote peers as "failure reason", where the server's locale means
 * nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <json-glib/json-glib.h>

#include "swarm-private.h"
#include "swarm-tracker-message.h"

G_DEFINE_QUARK (swarm-tracker-error-quark, swarm_tracker_error);

/* json-glib's parser recurses per nesting level; a 64 KiB message of
 * brackets would otherwise be 32k frames deep.  Our messages nest 3 deep. */
#define MAX_DEPTH 16

/* Failure reasons are free text from a tracker; keep them short enough for
 * logs and for the frame limit. */
#define MAX_FAILURE_REASON 1024

gboolean
swarm_tracker_id_is_valid (const gchar * id)
{
  const gchar *p;
  guint n = 0;

  if (id == NULL || !g_utf8_validate (id, -1, NULL))
    return FALSE;

  for (p = id; *p; p = g_utf8_next_char (p)) {
    if (g_utf8_get_char (p) > 0xff)
      return FALSE;
    if (++n > SWARM_TRACKER_ID_LEN)
      return FALSE;
  }
  return n == SWARM_TRACKER_ID_LEN;
}

void
swarm_tracker_message_free (SwarmTrackerMessage * msg)
{
  guint i;

  if (msg == NULL)
    return;

  g_free (msg->failure_reason);
  g_free (msg->info_hash);
  g_strfreev (msg->info_hashes);
  g_free (msg->peer_id);
  g_free (msg->to_peer_id);
  for (i = 0; i < msg->n_offers; i++) {
    g_free (msg->offers[i].offer_id);
    g_free (msg->offers[i].sdp);
  }
  g_free (msg->offer_sdp);
  g_free (msg->answer_sdp);
  g_free (msg->offer_id);
  for (i = 0; i < msg->n_files; i++)
    g_free (msg->files[i].info_hash);
  g_free (msg->files);
  g_free (msg);
}

static gboolean
protocol_error (GError ** error, const gchar * format, ...) G_GNUC_PRINTF (2,
    3);

static gboolean
protocol_error (GError ** error, const gchar * format, ...)
{
  va_list args;
  gchar *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SWARM_TRACKER_ERROR,
      SWARM_TRACKER_ERROR_PROTOCOL, text);
  g_free (text);
  return FALSE;
}

/* Rejects nesting deeper than MAX_DEPTH before json-glib sees the text.
 * Brackets inside strings do not count; escapes are skipped. */
static gboolean
check_depth (const char *data, gsize len)
{
  gboolean in_string = FALSE;
  guint depth = 0;
  gsize i;

  for (i = 0; i < len; i++) {
    char ch = data[i];

    if (in_string) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_string = FALSE;
    } else if (ch == '"') {
      in_string = TRUE;
    } else if (ch == '{' || ch == '[') {
      if (++depth > MAX_DEPTH)
        return FALSE;
    } else if ((ch == '}' || ch == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

/* Optional string member: TRUE and *out = NULL when absent. */
static gboolean
get_string (JsonObject * obj, const gchar * name, const gchar ** out,
    GError ** error)
{
  JsonNode *node = json_object_get_member (obj, name);

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return protocol_error (error, "\"%s\" must be a string", name);
  /* json-glib decodes malformed \u escapes into invalid UTF-8 (found by
   * the fuzzer); nothing invalid may reach the writer or a relay. */
  if (!g_utf8_validate (json_node_get_string (node), -1, NULL))
    return protocol_error (error, "\"%s\" is not valid UTF-8", name);
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
get_id (JsonObject * obj, const gchar * name, gchar ** out, GError ** error)
{
  const gchar *s;

  if (!get_string (obj, name, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  if (!swarm_tracker_id_is_valid (s))
    return protocol_error (error,
        "\"%s\" must be %d characters in U+0001..U+00FF", name,
        SWARM_TRACKER_ID_LEN);
  *out = g_strdup (s);
  return TRUE;
}

/* Whole numbers only; JSON writers may emit 5.0 for 5, so integral doubles
 * pass.  @null_ok lets null through as absent (-1). */
static gboolean
get_count (JsonObject * obj, const gchar * name, gboolean null_ok,
    gint64 * out, GError ** error)
{
  JsonNode *node = json_object_get_member (obj, name);
  GType type;

  *out = -1;
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (node) && null_ok)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return protocol_error (error, "\"%s\" must be a number", name);

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64) {
    *out = json_node_get_int (node);
  } else if (type == G_TYPE_DOUBLE) {
    gdouble d = json_node_get_double (node);

    /* 2^53: beyond it doubles are no longer exact integers. */
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (gdouble) (gint64) d)
      return protocol_error (error, "\"%s\" must be a whole number", name);
    *out = (gint64) d;
  } else {
    return protocol_error (error, "\"%s\" must be a number", name);
  }
  if (*out < 0)
    return protocol_error (error, "\"%s\" must not be negative", name);
  return TRUE;
}

/* {"type": @type, "sdp": "..."}; other members are ignored. */
static gboolean
get_sdp_object (JsonNode * node, const gchar * name, const gchar * type,
    gchar ** sdp, GError ** error)
{
  JsonObject *obj;
  const gchar *t, *s;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return protocol_error (error, "\"%s\" must be an object", name);
  obj = json_node_get_object (node);
  if (!get_string (obj, "type", &t, error) || !get_string (obj, "sdp", &s,
          error))
    return FALSE;
  if (g_strcmp0 (t, type) != 0)
    return protocol_error (error, "\"%s\" must have \"type\": \"%s\"", name,
        type);
  if (s == NULL)
    return protocol_error (error, "\"%s\" must have a string \"sdp\"", name);
  *sdp = g_strdup (s);
  return TRUE;
}

static gboolean
parse_event (JsonObject * obj, SwarmTrackerMessage * msg, GError ** error)
{
  static const struct {
    const gchar *name;
    SwarmTrackerEvent event;
  } events[] = {
    {"started", SWARM_TRACKER_EVENT_STARTED},
    {"stopped", SWARM_TRACKER_EVENT_STOPPED},
    {"completed", SWARM_TRACKER_EVENT_COMPLETED},
    {"update", SWARM_TRACKER_EVENT_UPDATE},
    {"paused", SWARM_TRACKER_EVENT_PAUSED},
  };
  const gchar *s;
  guint i;

  if (!get_string (obj, "event", &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  for (i = 0; i < G_N_ELEMENTS (events); i++) {
    if (strcmp (s, events[i].name) == 0) {
      msg->event = events[i].event;
      return TRUE;
    }
  }
  return protocol_error (error, "unknown \"event\"");
}

static gboolean
parse_offers (JsonObject * obj, SwarmTrackerMessage * msg, GError ** error)
{
  JsonNode *node = json_object_get_member (obj, "offers");
  JsonArray *arr;
  guint i, n;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return protocol_error (error, "\"offers\" must be an array");
  arr = json_node_get_array (node);

  /* Offers beyond the limit are dropped unread, as the trackers do. */
  n = MIN (json_array_get_length (arr), SWARM_TRACKER_MAX_OFFERS);
  for (i = 0; i < n; i++) {
    JsonNode *el = json_array_get_element (arr, i);
    JsonObject *o;
    JsonNode *offer;
    gchar *offer_id = NULL, *sdp = NULL;

    if (!JSON_NODE_HOLDS_OBJECT (el))
      return protocol_error (error, "\"offers\" entries must be objects");
    o = json_node_get_object (el);
    if (!get_id (o, "offer_id", &offer_id, error))
      return FALSE;
    if (offer_id == NULL)
      return protocol_error (error, "offer without \"offer_id\"");
    offer = json_object_get_member (o, "offer");
    if (offer == NULL) {
      g_free (offer_id);
      return protocol_error (error, "offer without \"offer\"");
    }
    if (!get_sdp_object (offer, "offer", "offer", &sdp, error)) {
      g_free (offer_id);
      return FALSE;
    }
    msg->offers[msg->n_offers].offer_id = offer_id;
    msg->offers[msg->n_offers].sdp = sdp;
    msg->n_offers++;
  }
  return TRUE;
}

static gboolean
parse_announce (JsonObject * obj, SwarmTrackerMessage * msg, GError ** error)
{
  JsonNode *offer, *answer;

  if (!get_id (obj, "info_hash", &msg->info_hash, error)
      || !get_id (obj, "peer_id", &msg->peer_id, error)
      || !get_id (obj, "to_peer_id", &msg->to_peer_id, error)
      || !get_id (obj, "offer_id", &msg->offer_id, error)
      || !get_count (obj, "numwant", TRUE, &msg->numwant, error)
      || !get_count (obj, "left", TRUE, &msg->left, error)
      || !get_count (obj, "interval", FALSE, &msg->interval, error)
      || !get_count (obj, "complete", FALSE, &msg->complete, error)
      || !get_count (obj, "incomplete", FALSE, &msg->incomplete, error)
      || !parse_event (obj, msg, error)
      || !parse_offers (obj, msg, error))
    return FALSE;

  /* aquatic counts an unknown "left" as a leecher; so do we. */
  msg->left_known = msg->left >= 0;

  if (msg->info_hash == NULL)
    return protocol_error (error, "announce without \"info_hash\"");

  offer = json_object_get_member (obj, "offer");
  answer = json_object_get_member (obj, "answer");
  if (offer && answer)
    return protocol_error (error, "both \"offer\" and \"answer\"");
  if (offer && !get_sdp_object (offer, "offer", "offer", &msg->offer_sdp,
          error))
    return FALSE;
  if (answer && !get_sdp_object (answer, "answer", "answer",
          &msg->answer_sdp, error))
    return FALSE;
  if ((offer || answer) && (msg->offer_id == NULL || msg->peer_id == NULL))
    return protocol_error (error,
        "\"offer\" or \"answer\" without \"offer_id\" and \"peer_id\"");
  return TRUE;
}

static gboolean
parse_scrape (JsonObject * obj, SwarmTrackerMessage * msg, GError ** error)
{
  JsonNode *node = json_object_get_member (obj, "info_hash");

  if (node && JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *arr = json_node_get_array (node);
    guint i, n = json_array_get_length (arr);

    msg->info_hashes = g_new0 (gchar *, n + 1);
    for (i = 0; i < n; i++) {
      JsonNode *el = json_array_get_element (arr, i);
      const gchar *s = NULL;

      if (JSON_NODE_HOLDS_VALUE (el)
          && json_node_get_value_type (el) == G_TYPE_STRING)
        s = json_node_get_string (el);
      if (!swarm_tracker_id_is_valid (s))
        return protocol_error (error, "bad \"info_hash\" in scrape");
      msg->info_hashes[i] = g_strdup (s);
    }
  } else if (node) {
    gchar *ih = NULL;

    if (!get_id (obj, "info_hash", &ih, error))
      return FALSE;
    msg->info_hashes = g_new0 (gchar *, 2);
    msg->info_hashes[0] = ih;
  }

  node = json_object_get_member (obj, "files");
  if (node) {
    JsonObject *files;
    GList *names, *l;

    if (!JSON_NODE_HOLDS_OBJECT (node))
      return protocol_error (error, "\"files\" must be an object");
    files = json_node_get_object (node);
    names = json_object_get_members (files);
    msg->files = g_new0 (SwarmTrackerScrapeFile, g_list_length (names));
    for (l = names; l; l = l->next) {
      const gchar *name = l->data;
      JsonNode *f = json_object_get_member (files, name);
      SwarmTrackerScrapeFile *file = &msg->files[msg->n_files];
      JsonObject *fo;

      if (!swarm_tracker_id_is_valid (name) || !JSON_NODE_HOLDS_OBJECT (f)) {
        g_list_free (names);
        return protocol_error (error, "bad entry in \"files\"");
      }
      fo = json_node_get_object (f);
      file->info_hash = g_strdup (name);
      msg->n_files++;
      if (!get_count (fo, "complete", FALSE, &file->complete, error)
          || !get_count (fo, "incomplete", FALSE, &file->incomplete, error)
          || !get_count (fo, "downloaded", FALSE, &file->downloaded, error)) {
        g_list_free (names);
        return FALSE;
      }
    }
    g_list_free (names);
  }
  return TRUE;
}

SwarmTrackerMessage *
swarm_tracker_message_parse (const char *data, gsize len, GError ** error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (SwarmTrackerMessage) msg = NULL;
  g_autoptr (GError) json_error = NULL;
  JsonNode *root;
  JsonObject *obj;
  const gchar *action, *reason;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len == 0) {
    protocol_error (error, "empty message");
    return NULL;
  }
  if (len > SWARM_TRACKER_MAX_MESSAGE) {
    protocol_error (error, "message too large (%" G_GSIZE_FORMAT " bytes)",
        len);
    return NULL;
  }
  /* WebSocket text is UTF-8; checking here also rules out NUL bytes,
   * which json-glib would otherwise cut strings at. */
  if (!g_utf8_validate_len (data, len, NULL)) {
    protocol_error (error, "message is not valid UTF-8");
    return NULL;
  }
  if (!check_depth (data, len)) {
    protocol_error (error, "message nested too deeply");
    return NULL;
  }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, &json_error)) {
    protocol_error (error, "invalid JSON: %s", json_error->message);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    protocol_error (error, "message is not a JSON object");
    return NULL;
  }
  obj = json_node_get_object (root);

  msg = g_new0 (SwarmTrackerMessage, 1);
  msg->numwant = msg->left = msg->interval = msg->complete =
      msg->incomplete = -1;

  if (!get_string (obj, "failure reason", &reason, error)
      || !get_string (obj, "action", &action, error))
    return NULL;

  if (reason != NULL) {
    msg->failure_reason = g_utf8_substring (reason, 0,
        MIN (g_utf8_strlen (reason, -1), MAX_FAILURE_REASON));
  }

  if (action == NULL) {
    if (reason == NULL) {
      protocol_error (error, "message without \"action\"");
      return NULL;
    }
    msg->action = SWARM_TRACKER_ACTION_NONE;
  } else if (strcmp (action, "announce") == 0) {
    msg->action = SWARM_TRACKER_ACTION_ANNOUNCE;
    /* A failure reply may echo the action without the rest. */
    if (reason == NULL && !parse_announce (obj, msg, error))
      return NULL;
  } else if (strcmp (action, "scrape") == 0) {
    msg->action = SWARM_TRACKER_ACTION_SCRAPE;
    if (reason == NULL && !parse_scrape (obj, msg, error))
      return NULL;
  } else {
    protocol_error (error, "unknown \"action\"");
    return NULL;
  }

  return g_steal_pointer (&msg);
}

/* ---- writers ------------------------------------------------------- */

static gchar *
finish (JsonBuilder * builder, GError ** error)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  gsize len;
  gchar *text;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  if (len > SWARM_TRACKER_MAX_FRAME) {
    g_set_error (error, SWARM_TRACKER_ERROR, SWARM_TRACKER_ERROR_TOO_LARGE,
        _("Tracker message of %u bytes exceeds the limit of %d bytes"),
        (guint) MIN (len, G_MAXUINT),
        SWARM_TRACKER_MAX_FRAME);
    g_free (text);
    return NULL;
  }
  return text;
}

static void
add_string (JsonBuilder * b, const gchar * name, const gchar * value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_int (JsonBuilder * b, const gchar * name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_sdp_object (JsonBuilder * b, const gchar * type, const gchar * sdp)
{
  json_builder_set_member_name (b, type);
  json_builder_begin_object (b);
  add_string (b, "type", type);
  add_string (b, "sdp", sdp);
  json_builder_end_object (b);
}

gchar *
swarm_tracker_message_write_announce (const gchar * info_hash,
    const gchar * peer_id, const gchar * event, gint64 left, guint numwant,
    const SwarmTrackerOffer * offers, guint n_offers, GError ** error)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  guint i;

  g_return_val_if_fail (info_hash && peer_id, NULL);
  g_return_val_if_fail (n_offers <= SWARM_TRACKER_MAX_OFFERS, NULL);
  g_return_val_if_fail (n_offers == 0 || offers != NULL, NULL);

  json_builder_begin_object (b);
  add_string (b, "action", "announce");
  add_string (b, "info_hash", info_hash);
  add_string (b, "peer_id", peer_id);
  if (numwant > 0)
    add_int (b, "numwant", numwant);
  add_int (b, "uploaded", 0);
  add_int (b, "downloaded", 0);
  /* Unknown stays a leecher on every tracker: bittorrent-tracker's own
   * client sends Infinity (null), which aquatic and bittorrent-tracker
   * disagree on, so we send the largest integer JavaScript keeps exact. */
  add_int (b, "left", left >= 0 ? left : G_GINT64_CONSTANT (9007199254740991));
  if (event)
    add_string (b, "event", event);
  if (n_offers > 0) {
    json_builder_set_member_name (b, "offers");
    json_builder_begin_array (b);
    for (i = 0; i < n_offers; i++) {
      json_builder_begin_object (b);
      add_string (b, "offer_id", offers[i].offer_id);
      add_sdp_object (b, "offer", offers[i].sdp);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  return finish (b, error);
}

gchar *
swarm_tracker_message_write_answer (const gchar * info_hash,
    const gchar * peer_id, gint64 left, const gchar * to_peer_id,
    const gchar * offer_id, const gchar * sdp, GError ** error)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  g_return_val_if_fail (info_hash && peer_id && to_peer_id && offer_id
      && sdp, NULL);

  json_builder_begin_object (b);
  add_string (b, "action", "announce");
  add_string (b, "info_hash", info_hash);
  add_string (b, "peer_id", peer_id);
  /* an answer is an announce too: "left" always a number (see above) */
  add_int (b, "left", left >= 0 ? left : G_GINT64_CONSTANT (9007199254740991));
  add_string (b, "to_peer_id", to_peer_id);
  add_string (b, "offer_id", offer_id);
  add_sdp_object (b, "answer", sdp);
  json_builder_end_object (b);
  return finish (b, error);
}

gchar *
swarm_tracker_message_write_scrape (const gchar * const *info_hashes,
    GError ** error)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  add_string (b, "action", "scrape");
  if (info_hashes) {
    json_builder_set_member_name (b, "info_hash");
    json_builder_begin_array (b);
    for (; *info_hashes; info_hashes++)
      json_builder_add_string_value (b, *info_hashes);
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  return finish (b, error);
}

gchar *
swarm_tracker_message_write_announce_reply (const gchar * info_hash,
    guint interval, guint complete, guint incomplete, GError ** error)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  add_string (b, "action", "announce");
  add_int (b, "interval", interval);
  add_string (b, "info_hash", info_hash);
  add_int (b, "complete", complete);
  add_int (b, "incomplete", incomplete);
  json_builder_end_object (b);
  return finish (b, error);
}

gchar *
swarm_tracker_message_write_relay (const gchar * info_hash,
    const gchar * peer_id, const gchar * offer_id, const gchar * type,
    const gchar * sdp, GError ** error)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();

  g_return_val_if_fail (g_strcmp0 (type, "offer") == 0
      || g_strcmp0 (type, "answer") == 0, NULL);

  json_builder_begin_object (b);
  add_string (b, "action", "announce");
  add_string (b, "info_hash", info_hash);
  add_string (b, "peer_id", peer_id);
  add_string (b, "offer_id", offer_id);
  add_sdp_object (b, type, sdp);
  json_builder_end_object (b);
  return finish (b, error);
}

gchar *
swarm_tracker_message_write_scrape_reply (const SwarmTrackerScrapeFile *
    files, guint n_files, GError ** error)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  guint i;

  json_builder_begin_object (b);
  add_string (b, "action", "scrape");
  json_builder_set_member_name (b, "files");
  json_builder_begin_object (b);
  for (i = 0; i < n_files; i++) {
    json_builder_set_member_name (b, files[i].info_hash);
    json_builder_begin_object (b);
    add_int (b, "complete", files[i].complete);
    add_int (b, "incomplete", files[i].incomplete);
    add_int (b, "downloaded", files[i].downloaded);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
  return finish (b, error);
}

gchar *
swarm_tracker_message_write_failure (const gchar * reason)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_autofree gchar *cut = NULL;
  gchar *text;

  /* Escaping can at most sextuple a character (\u00XX); this keeps any
   * reason below the frame limit. */
  if (!g_utf8_validate (reason, -1, NULL))
    reason = "invalid failure reason";
  cut = g_utf8_substring (reason, 0, MIN (g_utf8_strlen (reason, -1),
          MAX_FAILURE_REASON));

  json_builder_begin_object (b);
  add_string (b, "failure reason", cut);
  json_builder_end_object (b);
  text = finish (b, NULL);
  g_assert (text != NULL);
  return text;
}

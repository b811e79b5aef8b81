/* The server side of WebSocket: see swarm-ws.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gio/gio.h>

#include "swarm-ws.h"

#define OPCODE_CONTINUATION 0x0
#define OPCODE_BINARY 0x2
/* RFC 6455 5.5: control frames carry at most 125 bytes, unfragmented. */
#define MAX_CONTROL_PAYLOAD 125
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
swarm_ws_reader_init (SwarmWsReader * r, gsize max_head, gsize max_message)
{
  memset (r, 0, sizeof (*r));
  r->max_head = max_head;
  r->max_message = max_message;
  r->buf = g_byte_array_new ();
  r->message = g_byte_array_new ();
}

void
swarm_ws_reader_clear (SwarmWsReader * r)
{
  g_clear_pointer (&r->buf, g_byte_array_unref);
  g_clear_pointer (&r->message, g_byte_array_unref);
}

static SwarmWsEvent
fail (SwarmWsReader * r, GError ** error, const gchar * what)
{
  r->failed = TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, what);
  return SWARM_WS_ERROR;
}

/* Where the head ends ("\r\n\r\n" included), or 0. */
static gsize
head_end (const SwarmWsReader * r)
{
  const guint8 *d = r->buf->data;
  gsize i;

  for (i = 0; i + 4 <= r->buf->len; i++)
    if (d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '\r'
        && d[i + 3] == '\n')
      return i + 4;
  return 0;
}

gsize
swarm_ws_reader_get_room (const SwarmWsReader * r, gsize chunk)
{
  if (r->in_frames || r->failed)
    return chunk;
  /* one byte past the bound tells a head that does not end in time */
  return MIN (chunk, r->max_head + 1 - MIN (r->buf->len, r->max_head));
}

gboolean
swarm_ws_reader_feed (SwarmWsReader * r, const guint8 * data, gsize len,
    GError ** error)
{
  gsize end;

  if (r->failed) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "WebSocket reader already failed");
    return FALSE;
  }
  g_byte_array_append (r->buf, data, len);
  if (r->in_frames)
    return TRUE;
  end = head_end (r);
  if ((end == 0 && r->buf->len >= r->max_head) || end > r->max_head) {
    fail (r, error, "HTTP request head too long");
    return FALSE;
  }
  return TRUE;
}

/* Parses the header at the front of buf, once it is all there, and checks
 * it against the bounds before any of its payload counts. */
static SwarmWsEvent
read_header (SwarmWsReader * r, GError ** error)
{
  const guint8 *h = r->buf->data;
  gsize have = r->buf->len, hl;
  guint opcode, len7, i;
  guint64 len;

  if (have < 2)
    return SWARM_WS_NEED_MORE;
  len7 = h[1] & 0x7f;
  hl = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
  if (have < hl)
    return SWARM_WS_NEED_MORE;

  opcode = h[0] & 0x0f;
  if (len7 == 126) {
    len = ((guint64) h[2] << 8) | h[3];
  } else if (len7 == 127) {
    for (len = 0, i = 0; i < 8; i++)
      len = (len << 8) | h[2 + i];
  } else {
    len = len7;
  }
  /* The tracker negotiates no extension. */
  if (h[0] & 0x70)
    return fail (r, error, "reserved bits set in a WebSocket frame");
  if (!(h[1] & 0x80))
    return fail (r, error, "unmasked WebSocket frame from a client");
  if (opcode >= SWARM_WS_OPCODE_CLOSE) {
    if (opcode > SWARM_WS_OPCODE_PONG)
      return fail (r, error, "unknown WebSocket control opcode");
    if (!(h[0] & 0x80) || len > MAX_CONTROL_PAYLOAD)
      return fail (r, error, "fragmented or oversized WebSocket control "
          "frame");
  } else {
    gboolean in_message = r->message_opcode != 0;

    if (opcode > OPCODE_BINARY)
      return fail (r, error, "unknown WebSocket data opcode");
    if (opcode == OPCODE_CONTINUATION && !in_message)
      return fail (r, error, "WebSocket continuation without a message");
    if (opcode != OPCODE_CONTINUATION && in_message)
      return fail (r, error, "WebSocket message inside an unfinished one");
    if (len > r->max_message || r->message->len > r->max_message - len)
      return fail (r, error, "WebSocket message too large");
  }
  r->header_len = hl;
  r->payload_len = len;
  return SWARM_WS_NEED_MORE;
}

SwarmWsEvent
swarm_ws_reader_next (SwarmWsReader * r, const guint8 ** data, gsize * len,
    GError ** error)
{
  if (r->consume) {
    g_byte_array_remove_range (r->buf, 0, r->consume);
    r->consume = 0;
  }
  if (r->message_done) {
    g_byte_array_set_size (r->message, 0);
    r->message_opcode = 0;
    r->message_done = FALSE;
  }
  if (r->failed)
    return fail (r, error, "WebSocket reader already failed");

  if (!r->in_frames) {
    gsize end = head_end (r);

    if (end == 0)
      return SWARM_WS_NEED_MORE;
    r->in_frames = TRUE;
    *data = r->buf->data;
    *len = end;
    r->consume = end;
    return SWARM_WS_HEAD;
  }

  for (;;) {
    guint8 *payload;
    const guint8 *mask;
    guint opcode;
    gboolean fin;
    gsize i, n;

    if (r->header_len == 0) {
      SwarmWsEvent ev = read_header (r, error);

      if (ev == SWARM_WS_ERROR || r->header_len == 0)
        return ev;
    }
    n = r->header_len + r->payload_len;
    if (r->buf->len < n)
      return SWARM_WS_NEED_MORE;

    payload = r->buf->data + r->header_len;
    mask = payload - 4;
    for (i = 0; i < r->payload_len; i++)
      payload[i] ^= mask[i % 4];
    opcode = r->buf->data[0] & 0x0f;
    fin = (r->buf->data[0] & 0x80) != 0;
    r->header_len = 0;

    if (opcode >= SWARM_WS_OPCODE_CLOSE) {
      *data = payload;
      *len = r->payload_len;
      r->consume = n;
      return opcode == SWARM_WS_OPCODE_CLOSE ? SWARM_WS_CLOSE :
          opcode == SWARM_WS_OPCODE_PING ? SWARM_WS_PING : SWARM_WS_PONG;
    }
    if (opcode != OPCODE_CONTINUATION)
      r->message_opcode = opcode;
    if (fin && r->message->len == 0) {
      /* unfragmented, the usual case: no copy */
      *data = payload;
      *len = r->payload_len;
      r->consume = n;
      r->message_done = TRUE;
    } else {
      g_byte_array_append (r->message, payload, r->payload_len);
      g_byte_array_remove_range (r->buf, 0, n);
      if (!fin)
        continue;
      *data = r->message->data;
      *len = r->message->len;
      r->message_done = TRUE;
    }
    return r->message_opcode == OPCODE_BINARY ? SWARM_WS_BINARY :
        SWARM_WS_TEXT;
  }
}

gsize
swarm_ws_reader_get_held (const SwarmWsReader * r)
{
  gsize frame = 0;

  if (!r->in_frames)
    return r->buf->len;
  if (r->header_len)
    frame = MIN (r->buf->len - r->header_len, r->payload_len);
  return r->message->len + frame;
}

gboolean
swarm_ws_reader_in_frames (const SwarmWsReader * r)
{
  return r->in_frames;
}

/* ---- the upgrade ------------------------------------------------------ */

gchar *
swarm_ws_accept_key (const gchar * key)
{
  GChecksum *sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof (digest);

  g_checksum_update (sha1, (const guchar *) key, strlen (key));
  g_checksum_update (sha1, (const guchar *) WS_GUID, strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &digest_len);
  g_checksum_free (sha1);
  return g_base64_encode (digest, digest_len);
}

/* Whether the comma-separated @value holds @token (case aside). */
static gboolean
has_token (const gchar * value, const gchar * token)
{
  g_auto (GStrv) tokens = g_strsplit (value, ",", -1);
  guint i;

  for (i = 0; tokens[i]; i++)
    if (g_ascii_strcasecmp (g_strstrip (tokens[i]), token) == 0)
      return TRUE;
  return FALSE;
}

static void
respond_error (GByteArray * out, const gchar * status, const gchar * extra,
    const gchar * server)
{
  static const gchar body[] = "This is a WebTorrent tracker: WebSocket "
      "upgrades only.\n";
  g_autofree gchar *text = g_strdup_printf ("HTTP/1.1 %s\r\nServer: %s\r\n"
      "%sContent-Type: text/plain\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n%s", status, server, extra, strlen (body),
      body);

  g_byte_array_append (out, (const guint8 *) text, strlen (text));
}

gboolean
swarm_ws_respond_upgrade (const guint8 * head, gsize len,
    const gchar * server, GByteArray * out)
{
  g_autofree gchar *text = g_strndup ((const gchar *) head, len);
  g_auto (GStrv) lines = g_strsplit (text, "\r\n", -1);
  g_auto (GStrv) request = NULL;
  g_autofree gchar *accept = NULL, *response = NULL;
  gboolean upgrade = FALSE, connection = FALSE, version = FALSE;
  const gchar *key = NULL;
  gsize key_len = 0;
  guint i;

  request = g_strsplit (lines[0], " ", -1);
  if (g_strv_length (request) != 3 || strcmp (request[0], "GET") != 0
      || strcmp (request[2], "HTTP/1.1") != 0) {
    respond_error (out, "400 Bad Request", "", server);
    return FALSE;
  }
  for (i = 1; lines[i] && *lines[i]; i++) {
    gchar *colon = strchr (lines[i], ':');
    const gchar *value;

    if (colon == NULL)
      continue;
    *colon = '\0';
    value = g_strstrip (colon + 1);
    if (g_ascii_strcasecmp (lines[i], "Upgrade") == 0)
      upgrade = upgrade || has_token (value, "websocket");
    else if (g_ascii_strcasecmp (lines[i], "Connection") == 0)
      connection = connection || has_token (value, "upgrade");
    else if (g_ascii_strcasecmp (lines[i], "Sec-WebSocket-Version") == 0)
      version = strcmp (value, "13") == 0;
    else if (g_ascii_strcasecmp (lines[i], "Sec-WebSocket-Key") == 0)
      key = value;
  }
  if (key && strlen (key) == 24) {
    g_free (g_base64_decode (key, &key_len));
  }
  if (!upgrade || !connection || key_len != 16) {
    respond_error (out, "400 Bad Request", "", server);
    return FALSE;
  }
  if (!version) {
    respond_error (out, "426 Upgrade Required",
        "Sec-WebSocket-Version: 13\r\n", server);
    return FALSE;
  }
  accept = swarm_ws_accept_key (key);
  response = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
      "Server: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: %s\r\n\r\n", server, accept);
  g_byte_array_append (out, (const guint8 *) response, strlen (response));
  return TRUE;
}

/* ---- writing ------------------------------------------------------------ */

gsize
swarm_ws_frame_size (gsize payload_len)
{
  return payload_len + (payload_len < 126 ? 2 : payload_len < 65536 ? 4 :
      10);
}

void
swarm_ws_write_frame (GByteArray * out, guint opcode, const void *payload,
    gsize len)
{
  guint8 h[10];
  gsize hl = 2, i;

  h[0] = 0x80 | opcode;
  if (len < 126) {
    h[1] = len;
  } else if (len < 65536) {
    h[1] = 126;
    h[2] = len >> 8;
    h[3] = len & 0xff;
    hl = 4;
  } else {
    h[1] = 127;
    for (i = 0; i < 8; i++)
      h[2 + i] = ((guint64) len >> (56 - 8 * i)) & 0xff;
    hl = 10;
  }
  g_byte_array_append (out, h, hl);
  if (len)
    g_byte_array_append (out, payload, len);
}

void
swarm_ws_write_close (GByteArray * out, guint16 code, const gchar * reason)
{
  guint8 payload[MAX_CONTROL_PAYLOAD];
  gsize n = 0;

  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  if (reason) {
    const gchar *end = reason;

    /* whole characters only, within the control frame's 123 bytes */
    while (*end && (gsize) (g_utf8_next_char (end) - reason) <=
        sizeof (payload) - 2)
      end = g_utf8_next_char (end);
    n = end - reason;
    memcpy (payload + 2, reason, n);
  }
  swarm_ws_write_frame (out, SWARM_WS_OPCODE_CLOSE, payload, 2 + n);
}

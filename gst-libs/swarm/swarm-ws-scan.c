/* Request-head and WebSocket frame-header scanner: see swarm-ws-scan.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gio/gio.h>

#include "swarm-ws-scan.h"

enum {
  PHASE_HEAD,                   /* the HTTP request, up to "\r\n\r\n" */
  PHASE_FRAME_HEADER,
  PHASE_PAYLOAD,
};

#define OPCODE_CONTINUATION 0x0
#define OPCODE_TEXT 0x1
#define OPCODE_BINARY 0x2
#define OPCODE_CLOSE 0x8
#define OPCODE_PING 0x9
#define OPCODE_PONG 0xa
/* RFC 6455 5.5: control frames carry at most 125 bytes, unfragmented. */
#define MAX_CONTROL_PAYLOAD 125

void
swarm_ws_scan_init (SwarmWsScan * scan, gsize max_head, gsize max_message)
{
  memset (scan, 0, sizeof (*scan));
  scan->phase = PHASE_HEAD;
  scan->max_head = max_head;
  scan->max_message = max_message;
}

static gboolean
fail (GError ** error, const gchar * what)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, what);
  return FALSE;
}

/* A frame's payload is over: a final data frame ends its message. */
static void
frame_done (SwarmWsScan * scan)
{
  if (scan->frame_data && scan->frame_fin) {
    scan->in_message = FALSE;
    scan->message_declared = 0;
    scan->held = 0;
    scan->n_messages++;
  }
  scan->phase = PHASE_FRAME_HEADER;
  scan->header_have = 0;
}

/* The header is complete in scan->header: checks it against the bounds
 * before any of its payload is read. */
static gboolean
header_done (SwarmWsScan * scan, GError ** error)
{
  const guint8 *h = scan->header;
  guint opcode = h[0] & 0x0f;
  guint len7 = h[1] & 0x7f;
  guint64 len;
  guint i;

  if (len7 == 126) {
    len = ((guint64) h[2] << 8) | h[3];
  } else if (len7 == 127) {
    len = 0;
    for (i = 0; i < 8; i++)
      len = (len << 8) | h[2 + i];
  } else {
    len = len7;
  }
  /* The tracker negotiates no extension, so no reserved bit may be set. */
  if (h[0] & 0x70)
    return fail (error, "reserved bits set in a WebSocket frame");

  scan->frame_fin = (h[0] & 0x80) != 0;
  if (opcode >= OPCODE_CLOSE) {
    if (opcode > OPCODE_PONG)
      return fail (error, "unknown WebSocket control opcode");
    if (!scan->frame_fin || len > MAX_CONTROL_PAYLOAD)
      return fail (error, "fragmented or oversized WebSocket control frame");
    scan->frame_data = FALSE;
    /* an unmasked server frame of the same payload */
    if (opcode == OPCODE_PING || opcode == OPCODE_CLOSE)
      scan->reply_bytes += 2 + len;
  } else {
    if (opcode > OPCODE_BINARY)
      return fail (error, "unknown WebSocket data opcode");
    if (opcode == OPCODE_CONTINUATION && !scan->in_message)
      return fail (error, "WebSocket continuation without a message");
    if (opcode != OPCODE_CONTINUATION && scan->in_message)
      return fail (error, "WebSocket message inside an unfinished one");
    if (len > scan->max_message
        || scan->message_declared > scan->max_message - len)
      return fail (error, "WebSocket message too large");
    scan->message_declared += len;
    scan->in_message = TRUE;
    scan->frame_data = TRUE;
  }

  scan->payload_left = len;
  scan->phase = PHASE_PAYLOAD;
  if (len == 0)
    frame_done (scan);
  return TRUE;
}

gboolean
swarm_ws_scan_feed (SwarmWsScan * scan, const guint8 * data, gsize len,
    GError ** error)
{
  static const guint8 head_end[] = "\r\n\r\n";
  gsize i = 0;

  while (i < len) {
    switch (scan->phase) {
      case PHASE_HEAD:
        if (scan->held >= scan->max_head)
          return fail (error, "HTTP request head too long");
        scan->held++;
        if (data[i] == head_end[scan->head_match])
          scan->head_match++;
        else
          scan->head_match = data[i] == '\r' ? 1 : 0;
        i++;
        if (scan->head_match == 4) {
          scan->held = 0;
          scan->phase = PHASE_FRAME_HEADER;
          scan->header_have = 0;
        }
        break;
      case PHASE_FRAME_HEADER:
        scan->header[scan->header_have++] = data[i++];
        if (scan->header_have == 2) {
          guint len7 = scan->header[1] & 0x7f;

          scan->header_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0)
              + ((scan->header[1] & 0x80) ? 4 : 0);
        }
        if (scan->header_have >= 2 && scan->header_have == scan->header_need
            && !header_done (scan, error))
          return FALSE;
        break;
      case PHASE_PAYLOAD:{
        gsize n = MIN ((guint64) (len - i), scan->payload_left);

        scan->payload_left -= n;
        if (scan->frame_data)
          scan->held += n;
        i += n;
        if (scan->payload_left == 0)
          frame_done (scan);
        break;
      }
      default:
        g_assert_not_reached ();
    }
  }
  return TRUE;
}

gsize
swarm_ws_scan_get_held (const SwarmWsScan * scan)
{
  return scan->held;
}

gboolean
swarm_ws_scan_in_frames (const SwarmWsScan * scan)
{
  return scan->phase != PHASE_HEAD;
}

guint64
swarm_ws_scan_get_n_messages (const SwarmWsScan * scan)
{
  return scan->n_messages;
}

guint64
swarm_ws_scan_get_reply_bytes (const SwarmWsScan * scan)
{
  return scan->reply_bytes;
}

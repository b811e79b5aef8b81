/* Counts what a client sends the embedded tracker, before libsoup sees it.
 *
 * libsoup-3 (3.2) bounds each WebSocket frame by max-incoming-payload-size
 * but appends continuation frames to the message it reassembles without
 * any bound, so one connection sending unfinished fragments grows the
 * process without end.  The tracker cannot reach into libsoup's reader, so
 * it owns each TCP connection's input stream and runs this scanner over
 * the bytes as they pass: it follows the request head and then the frame
 * headers (lengths, opcodes, FIN), never the payloads, and fails as soon
 * as a head or a reassembled data message would pass its bound, before
 * the bytes are read.  It also tells how many bytes an unfinished head or
 * message holds, so the server can bound all connections together.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  /*< private >*/
  guint phase;
  guint8 header[14];
  guint header_have, header_need;
  guint64 payload_left;
  gboolean frame_data, frame_fin;
  gboolean in_message;
  guint64 message_declared;     /* sum of the message's frame lengths */
  gsize held;                   /* head or message bytes received so far */
  guint head_match;             /* of "\r\n\r\n" */
  gsize max_head, max_message;
  guint64 n_messages;
  guint64 reply_bytes;
} SwarmWsScan;

/* @max_head: bytes of the HTTP request head (up to the empty line);
 * @max_message: bytes of one reassembled data message. */
void swarm_ws_scan_init (SwarmWsScan * scan, gsize max_head,
    gsize max_message);
/* Feeds the next @len bytes the client sent.  FALSE (and @error) on a head
 * too long, a message too large or frames RFC 6455 forbids; the connection
 * must then be closed, the scanner is not to be fed again. */
gboolean swarm_ws_scan_feed (SwarmWsScan * scan, const guint8 * data,
    gsize len, GError ** error);
/* Bytes of the request head or of the data message not yet complete. */
gsize swarm_ws_scan_get_held (const SwarmWsScan * scan);
/* Whether the request head has ended (the WebSocket frames begun). */
gboolean swarm_ws_scan_in_frames (const SwarmWsScan * scan);
/* Complete data messages seen. */
guint64 swarm_ws_scan_get_n_messages (const SwarmWsScan * scan);
/* Bytes the server writes back for the control frames seen so far (a pong
 * for each ping, the echo of a close), whether the client reads them or
 * not. */
guint64 swarm_ws_scan_get_reply_bytes (const SwarmWsScan * scan);

G_END_DECLS

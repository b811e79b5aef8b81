/* The server side of WebSocket (RFC 6455) as the embedded tracker speaks
 * it: the client's upgrade request, its frames read into messages, our
 * frames written.  No sockets here: the tracker's connections
 * (swarm-tracker-server-conn.c) feed what they read and send what this
 * writes, so the parser is fuzzed alone (tests/fuzz/fuzz-ws.c).
 *
 * Every byte a client sends is bounded as it arrives: the request head
 * (max_head), a message reassembled from its fragments (max_message: a
 * frame header announcing more is refused before its payload is read),
 * control frames (125 bytes, unfragmented); frames must be masked, and no
 * extension is negotiated, so no reserved bit may be set.  What the reader
 * holds (a head not yet complete, a message's payload so far) is what
 * get_held() says.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SWARM_WS_NEED_MORE,            /* nothing complete: feed more */
  SWARM_WS_HEAD,                 /* the request head (its bytes, "\r\n\r\n" included) */
  SWARM_WS_TEXT,                 /* a whole data message */
  SWARM_WS_BINARY,
  SWARM_WS_PING,                 /* control frames: their payload */
  SWARM_WS_PONG,
  SWARM_WS_CLOSE,
  SWARM_WS_ERROR,                /* the connection must be closed */
} SwarmWsEvent;

typedef struct {
  /*< private >*/
  gsize max_head, max_message;
  gboolean in_frames;
  GByteArray *buf;               /* received, not yet taken */
  GByteArray *message;           /* fragments of the data message so far */
  guint message_opcode;
  gsize consume;                 /* of buf, once the caller is done */
  gboolean message_done;
  gboolean failed;
  gsize header_len;              /* of the frame at the front; 0 = unknown */
  guint64 payload_len;
} SwarmWsReader;

void swarm_ws_reader_init (SwarmWsReader * r, gsize max_head,
    gsize max_message);
void swarm_ws_reader_clear (SwarmWsReader * r);
/* How many bytes the reader takes at most now: a head is read no further
 * than its bound, so a read never takes more than the bound allows. */
gsize swarm_ws_reader_get_room (const SwarmWsReader * r, gsize chunk);
/* Appends @len bytes the client sent.  FALSE (and @error) when the head
 * passes its bound. */
gboolean swarm_ws_reader_feed (SwarmWsReader * r, const guint8 * data,
    gsize len, GError ** error);
/* The next complete thing the client sent: its bytes in @data / @len
 * (unmasked), valid until the next call.  SWARM_WS_ERROR sets @error and
 * is final. */
SwarmWsEvent swarm_ws_reader_next (SwarmWsReader * r, const guint8 ** data,
    gsize * len, GError ** error);
/* Bytes of the head, or of the data message (its fragments and the frame
 * arriving), held now. */
gsize swarm_ws_reader_get_held (const SwarmWsReader * r);
gboolean swarm_ws_reader_in_frames (const SwarmWsReader * r);

/* The response to @head: a "101 Switching Protocols" for an upgrade
 * request RFC 6455 allows (a GET with Upgrade: websocket, Connection:
 * Upgrade, a 16-byte Sec-WebSocket-Key and version 13), else an error
 * response (400, or 426 for another version) and FALSE. */
gboolean swarm_ws_respond_upgrade (const guint8 * head, gsize len,
    const gchar * server, GByteArray * out);
/* The Sec-WebSocket-Accept value for @key. */
gchar *swarm_ws_accept_key (const gchar * key);

/* Appends a server frame (not masked, final) of @opcode. */
#define SWARM_WS_OPCODE_TEXT 0x1
#define SWARM_WS_OPCODE_CLOSE 0x8
#define SWARM_WS_OPCODE_PING 0x9
#define SWARM_WS_OPCODE_PONG 0xa
void swarm_ws_write_frame (GByteArray * out, guint opcode,
    const void *payload, gsize len);
/* A close frame: @code and a reason cut to fit a control frame. */
void swarm_ws_write_close (GByteArray * out, guint16 code,
    const gchar * reason);
/* The bytes of a frame of @payload_len. */
gsize swarm_ws_frame_size (gsize payload_len);

#define SWARM_WS_CLOSE_NORMAL 1000
#define SWARM_WS_CLOSE_GOING_AWAY 1001
#define SWARM_WS_CLOSE_PROTOCOL_ERROR 1002
#define SWARM_WS_CLOSE_POLICY_VIOLATION 1008
#define SWARM_WS_CLOSE_TOO_BIG 1009

G_END_DECLS

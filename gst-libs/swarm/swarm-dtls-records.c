/* DTLS record framing of one datagram: see swarm-dtls-records.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm-dtls-records.h"

gsize
swarm_dtls_whole_records (const guint8 * data, gsize len)
{
  gsize off = 0;

  g_return_val_if_fail (data != NULL || len == 0, 0);

  while (len - off >= SWARM_DTLS_RECORD_HEADER_LEN) {
    gsize body = ((gsize) data[off + 11] << 8) | data[off + 12];

    if (body > len - off - SWARM_DTLS_RECORD_HEADER_LEN)
      break;
    off += SWARM_DTLS_RECORD_HEADER_LEN + body;
  }
  return off;
}

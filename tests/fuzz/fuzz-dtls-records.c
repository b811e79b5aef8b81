/* libFuzzer target for the DTLS record framing check (swarm-dtls-records.c)
 * that every datagram from a partner passes before GnuTLS sees it.  Beyond
 * not crashing: what it keeps is whole records, tiled end to end, and what
 * it drops does not start with a whole record.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "swarm/swarm-dtls-records.h"

int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  gsize whole = swarm_dtls_whole_records (data, size);
  gsize off = 0;

  g_assert (whole <= size);
  /* the kept prefix is whole records, each found at the previous one's end */
  while (off < whole) {
    gsize body;

    g_assert (whole - off >= SWARM_DTLS_RECORD_HEADER_LEN);
    body = ((gsize) data[off + 11] << 8) | data[off + 12];
    off += SWARM_DTLS_RECORD_HEADER_LEN + body;
    g_assert (off <= whole);
  }
  g_assert (off == whole);
  /* the prefix alone is all kept; the dropped tail has no whole record */
  g_assert (swarm_dtls_whole_records (data, whole) == whole);
  g_assert (swarm_dtls_whole_records (data + whole, size - whole) == 0);
  return 0;
}

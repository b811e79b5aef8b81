/* Where the whole DTLS records in a datagram end.
 *
 * GnuTLS (3.7) keeps the start of a record whose declared length runs past
 * the end of its datagram and reads the next datagram as its continuation:
 * one truncated or forged datagram then costs the link every record until
 * the stream happens to line up again (see docs/link-measurements.md,
 * "Pitfalls met on the way").  RFC 6347 section 4.1.1 says a record never
 * spans datagrams, so the link hands GnuTLS only the whole records at the
 * front of each datagram and drops the rest.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* type (1), version (2), epoch (2), sequence number (6), length (2) */
#define SWARM_DTLS_RECORD_HEADER_LEN 13

/* The length of the longest prefix of @data made of whole records: 0 when
 * the first record is already cut short or the datagram is too short for
 * a header. */
gsize swarm_dtls_whole_records (const guint8 * data, gsize len);

G_END_DECLS

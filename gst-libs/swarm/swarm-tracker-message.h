/* Tracker JSON messages: the one parser and the one writer.
 * Private to the library (not installed).  See swarm-tracker.h and
 * docs/tracker-protocol.md for the protocol.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "swarm-tracker.h"

G_BEGIN_DECLS

/* aquatic_ws refuses larger messages; nothing we exchange needs more. */
#define SWARM_TRACKER_MAX_MESSAGE (64 * 1024)

typedef enum {
  SWARM_TRACKER_ACTION_NONE,     /* only a "failure reason" */
  SWARM_TRACKER_ACTION_ANNOUNCE,
  SWARM_TRACKER_ACTION_SCRAPE,
} SwarmTrackerAction;

typedef enum {
  SWARM_TRACKER_EVENT_NONE,
  SWARM_TRACKER_EVENT_STARTED,
  SWARM_TRACKER_EVENT_STOPPED,
  SWARM_TRACKER_EVENT_COMPLETED,
  SWARM_TRACKER_EVENT_UPDATE,
  SWARM_TRACKER_EVENT_PAUSED,
} SwarmTrackerEvent;

typedef struct {
  gchar *offer_id;
  gchar *sdp;
} SwarmTrackerMessageOffer;

typedef struct {
  gchar *info_hash;
  gint64 complete;
  gint64 incomplete;
  gint64 downloaded;
} SwarmTrackerScrapeFile;

/* A validated message.  Ids are UTF-8 strings of exactly
 * SWARM_TRACKER_ID_LEN characters, each U+0001..U+00FF; absent strings are
 * NULL and absent numbers -1. */
typedef struct {
  SwarmTrackerAction action;
  gchar *failure_reason;

  gchar *info_hash;             /* announce */
  gchar **info_hashes;          /* scrape request (NULL-terminated, or NULL = all) */
  gchar *peer_id;
  gchar *to_peer_id;
  gint64 numwant;
  SwarmTrackerEvent event;
  gboolean left_known;          /* FALSE when absent or null */
  gint64 left;

  /* "offers" of an announce, at most SWARM_TRACKER_MAX_OFFERS kept */
  SwarmTrackerMessageOffer offers[SWARM_TRACKER_MAX_OFFERS];
  guint n_offers;

  /* a single forwarded "offer" or an "answer" (never both) */
  gchar *offer_sdp;
  gchar *answer_sdp;
  gchar *offer_id;

  gint64 interval;
  gint64 complete;
  gint64 incomplete;

  /* scrape reply */
  SwarmTrackerScrapeFile *files;
  guint n_files;
} SwarmTrackerMessage;

G_GNUC_INTERNAL
SwarmTrackerMessage *swarm_tracker_message_parse (const char *data, gsize len,
    GError ** error);
G_GNUC_INTERNAL
void swarm_tracker_message_free (SwarmTrackerMessage * msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SwarmTrackerMessage, swarm_tracker_message_free)

G_GNUC_INTERNAL
gboolean swarm_tracker_id_is_valid (const gchar * id);

/* Writers: each returns a newly allocated JSON text frame, or NULL with
 * SWARM_TRACKER_ERROR_TOO_LARGE when it would not fit in
 * SWARM_TRACKER_MAX_FRAME bytes. */

/* peer -> tracker.  @event may be NULL; @left < 0 means unknown and is
 * written as 2^53 - 1 (a leecher; a number is always sent, see the notes);
 * @numwant 0 omits the field. */
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_announce (const gchar * info_hash,
    const gchar * peer_id, const gchar * event, gint64 left, guint numwant,
    const SwarmTrackerOffer * offers, guint n_offers, GError ** error);
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_answer (const gchar * info_hash,
    const gchar * peer_id, gint64 left, const gchar * to_peer_id,
    const gchar * offer_id, const gchar * sdp, GError ** error);
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_scrape (const gchar * const *info_hashes,
    GError ** error);

/* tracker -> peer */
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_announce_reply (const gchar * info_hash,
    guint interval, guint complete, guint incomplete, GError ** error);
/* @type is "offer" or "answer" */
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_relay (const gchar * info_hash,
    const gchar * peer_id, const gchar * offer_id, const gchar * type,
    const gchar * sdp, GError ** error);
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_scrape_reply (const
    SwarmTrackerScrapeFile * files, guint n_files, GError ** error);
/* Never fails: an over-long reason is cut short. */
G_GNUC_INTERNAL
gchar *swarm_tracker_message_write_failure (const gchar * reason);

G_END_DECLS

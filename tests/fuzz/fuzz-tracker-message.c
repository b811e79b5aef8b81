/* libFuzzer target for the tracker JSON parser.
 *
 * Anything the parser accepts must survive being written back and parsed
 * again with the same ids and SDP text: the embedded tracker relays what it
 * parsed, so a field the writer cannot reproduce would be a relay bug.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <string.h>

#include "swarm/swarm-tracker-message.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static void
check_announce_round_trip (const SwarmTrackerMessage * msg)
{
  SwarmTrackerOffer offers[SWARM_TRACKER_MAX_OFFERS];
  SwarmTrackerMessage *again;
  gchar *text;
  guint i;

  for (i = 0; i < msg->n_offers; i++) {
    offers[i].offer_id = msg->offers[i].offer_id;
    offers[i].sdp = msg->offers[i].sdp;
  }
  text = swarm_tracker_message_write_announce (msg->info_hash, msg->peer_id,
      NULL, msg->left, 0, offers, msg->n_offers, NULL);
  if (text == NULL)             /* too large for a frame: allowed */
    return;
  again = swarm_tracker_message_parse (text, strlen (text), NULL);
  g_assert (again != NULL);
  g_assert_cmpstr (again->info_hash, ==, msg->info_hash);
  g_assert_cmpstr (again->peer_id, ==, msg->peer_id);
  g_assert_cmpuint (again->n_offers, ==, msg->n_offers);
  for (i = 0; i < msg->n_offers; i++) {
    g_assert_cmpstr (again->offers[i].offer_id, ==, msg->offers[i].offer_id);
    g_assert_cmpstr (again->offers[i].sdp, ==, msg->offers[i].sdp);
  }
  swarm_tracker_message_free (again);
  g_free (text);
}

static void
check_relay_round_trip (const SwarmTrackerMessage * msg)
{
  const gchar *type = msg->offer_sdp ? "offer" : "answer";
  const gchar *sdp = msg->offer_sdp ? msg->offer_sdp : msg->answer_sdp;
  SwarmTrackerMessage *again;
  gchar *text;

  text = swarm_tracker_message_write_relay (msg->info_hash, msg->peer_id,
      msg->offer_id, type, sdp, NULL);
  if (text == NULL)
    return;
  again = swarm_tracker_message_parse (text, strlen (text), NULL);
  g_assert (again != NULL);
  g_assert_cmpstr (again->peer_id, ==, msg->peer_id);
  g_assert_cmpstr (again->offer_id, ==, msg->offer_id);
  g_assert_cmpstr (msg->offer_sdp ? again->offer_sdp : again->answer_sdp, ==,
      sdp);
  swarm_tracker_message_free (again);
  g_free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  SwarmTrackerMessage *msg;
  GError *error = NULL;

  msg = swarm_tracker_message_parse ((const char *) data, size, &error);
  if (msg == NULL) {
    g_assert (error != NULL);
    g_assert (error->domain == SWARM_TRACKER_ERROR);
    g_error_free (error);
    return 0;
  }
  g_assert (error == NULL);

  if (msg->action == SWARM_TRACKER_ACTION_ANNOUNCE && msg->failure_reason == NULL) {
    g_assert (swarm_tracker_id_is_valid (msg->info_hash));
    g_assert (msg->n_offers <= SWARM_TRACKER_MAX_OFFERS);
    if (msg->peer_id)
      check_announce_round_trip (msg);
    if (msg->offer_sdp || msg->answer_sdp)
      check_relay_round_trip (msg);
  }
  if (msg->failure_reason) {
    gchar *text = swarm_tracker_message_write_failure (msg->failure_reason);

    g_assert (strlen (text) <= SWARM_TRACKER_MAX_FRAME);
    g_free (text);
  }

  swarm_tracker_message_free (msg);
  return 0;
}

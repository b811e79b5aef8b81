/* The live edge on evidence a stranger cannot fake (swarm-edge.h), and
 * sequence numbers a publisher never reuses (swarm-sequence.h).  Time is
 * passed in: these run on made-up clocks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <swarm/swarm-internal.h>

#define NOW_REAL G_GINT64_CONSTANT (1765000000000000)
#define NOW 1000000

static SwarmMessage
signed_edge (SwarmIdentity * publisher, guint64 seq, guint64 epoch_seq,
    gint64 publish_time_us)
{
  SwarmMessage m = {.type = SWARM_MSG_EDGE };

  m.edge.seq = seq;
  m.edge.epoch_seq = epoch_seq;
  m.edge.publish_time_us = publish_time_us;
  m.edge.flags = SWARM_SEGMENT_FLAG_KEYFRAME;
  fail_unless (swarm_edge_sign (publisher, &m, NULL));
  return m;
}

GST_START_TEST (test_edge_accepts_only_the_publishers_newer_word)
{
  SwarmIdentity *publisher = swarm_identity_generate (NULL);
  SwarmIdentity *viewer_key = swarm_identity_new_from_public_key
      (swarm_identity_get_public_key (publisher));
  SwarmIdentity *other = swarm_identity_generate (NULL);
  SwarmEdgeState st;
  SwarmMessage e;

  swarm_edge_state_init (&st, viewer_key, 0);
  fail_unless_equals_int64 (st.tolerance_us,
      (gint64) SWARM_EDGE_DEFAULT_TOLERANCE_MS * 1000);
  /* nothing is believed before the seq0 EDGE */
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5, NOW),
      SWARM_EDGE_SEQ_NO_EDGE);

  e = signed_edge (publisher, 1000, 900, NOW_REAL - 200000);
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_ACCEPTED);
  fail_unless_equals_int64 (st.clock_offset_us, -200000);
  /* the same again, or older: not news, and not even checked */
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_NOT_NEWER);
  e.edge.signature[0] ^= 1;
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_NOT_NEWER);

  /* a newer one altered, or signed by another key: forged */
  e = signed_edge (publisher, 1001, 900, NOW_REAL);
  e.edge.seq = 1002;
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_FORGED);
  e = signed_edge (other, 1001, 900, NOW_REAL);
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_FORGED);
  fail_unless_equals_uint64 (st.forged, 2);
  fail_unless_equals_uint64 (st.current.edge.seq, 1000);

  /* genuine but old: a recording is never live; nor is a clock far ahead */
  e = signed_edge (publisher, 1001, 900, NOW_REAL -
      (gint64) SWARM_EDGE_DEFAULT_TOLERANCE_MS * 1000 - 1);
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_CLOCK);
  e = signed_edge (publisher, 1001, 900, NOW_REAL +
      (gint64) SWARM_EDGE_DEFAULT_TOLERANCE_MS * 1000 + 1);
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_CLOCK);
  fail_unless_equals_uint64 (st.refused_clock, 2);

  /* a restart: a newer run, with a newer number */
  e = signed_edge (publisher, 700000, 600000, NOW_REAL);
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW + 5),
      SWARM_EDGE_NEW_EPOCH);
  fail_unless_equals_uint64 (st.epochs, 1);
  fail_unless_equals_int64 (st.received_us, NOW + 5);

  swarm_identity_unref (publisher);
  swarm_identity_unref (viewer_key);
  swarm_identity_unref (other);
}

GST_END_TEST;

GST_START_TEST (test_edge_bounds_announcements)
{
  SwarmIdentity *publisher = swarm_identity_generate (NULL);
  SwarmEdgeState st;
  SwarmMessage e = signed_edge (publisher, 5000, 4000, NOW_REAL);
  guint64 ahead;

  swarm_edge_state_init (&st, publisher, 1000);
  fail_unless_equals_int (swarm_edge_state_offer (&st, &e, NOW_REAL, NOW),
      SWARM_EDGE_ACCEPTED);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 3999, NOW),
      SWARM_EDGE_SEQ_OLD_EPOCH);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 4000, NOW),
      SWARM_EDGE_SEQ_OK);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5000 +
          SWARM_EDGE_AHEAD_SLACK, NOW), SWARM_EDGE_SEQ_OK);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5000 +
          SWARM_EDGE_AHEAD_SLACK + 1, NOW), SWARM_EDGE_SEQ_AHEAD);
  /* a second on, a stream could have made SWARM_EDGE_MAX_RATE_PER_S more */
  ahead = 5000 + SWARM_EDGE_AHEAD_SLACK + SWARM_EDGE_MAX_RATE_PER_S;
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, ahead,
          NOW + G_USEC_PER_SEC), SWARM_EDGE_SEQ_OK);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, ahead + 1,
          NOW + G_USEC_PER_SEC), SWARM_EDGE_SEQ_AHEAD);
  /* no step of a ratchet moves the bound: only a signed EDGE does */
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5096, NOW),
      SWARM_EDGE_SEQ_AHEAD);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5000 + 20000000,
          NOW), SWARM_EDGE_SEQ_LIE);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5000 +
          SWARM_EDGE_AHEAD_SLACK + SWARM_EDGE_LIE_MARGIN, NOW),
      SWARM_EDGE_SEQ_AHEAD);
  fail_unless_equals_int (swarm_edge_state_check_seq (&st, 5000 +
          SWARM_EDGE_AHEAD_SLACK + SWARM_EDGE_LIE_MARGIN + 1, NOW),
      SWARM_EDGE_SEQ_LIE);
  swarm_identity_unref (publisher);
}

GST_END_TEST;

GST_START_TEST (test_origin_proof)
{
  SwarmIdentity *publisher = swarm_identity_generate (NULL);
  SwarmIdentity *other = swarm_identity_generate (NULL);
  guint8 ekm[32], ekm2[32], proof[SWARM_WIRE_SIGNATURE_LEN];

  memset (ekm, 7, sizeof ekm);
  memset (ekm2, 8, sizeof ekm2);
  fail_unless (swarm_edge_sign_origin_proof (publisher, ekm, sizeof ekm,
          proof));
  fail_unless (swarm_edge_verify_origin_proof (publisher, ekm, sizeof ekm,
          proof));
  /* not on another link, nor for another publisher */
  fail_if (swarm_edge_verify_origin_proof (publisher, ekm2, sizeof ekm2,
          proof));
  fail_if (swarm_edge_verify_origin_proof (other, ekm, sizeof ekm, proof));
  swarm_identity_unref (publisher);
  swarm_identity_unref (other);
}

GST_END_TEST;

GST_START_TEST (test_sequence_never_reused)
{
  gchar *dir = g_dir_make_tmp ("p2p-seq-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "publisher.key.seq", NULL);
  SwarmSequence *sq;
  GError *error = NULL;
  guint64 seq0, last;

  /* no file: from the clock in milliseconds */
  sq = swarm_sequence_new (path, NOW_REAL, &error);
  fail_unless (sq != NULL, "%s", error ? error->message : "");
  seq0 = swarm_sequence_first (sq);
  fail_unless_equals_uint64 (seq0, NOW_REAL / 1000);
  for (last = seq0; last < seq0 + 25; last++)
    fail_unless (swarm_sequence_use (sq, last, NULL));
  swarm_sequence_free (sq);

  /* restarted with the clock stepped back an hour: after what was
   * reserved, never before */
  sq = swarm_sequence_new (path, NOW_REAL - G_GINT64_CONSTANT (3600000000), NULL);
  fail_unless (swarm_sequence_first (sq) > last);
  fail_unless_equals_uint64 (swarm_sequence_first (sq),
      seq0 + SWARM_SEQUENCE_BLOCK + 1);
  swarm_sequence_free (sq);

  /* clock far ahead of the reservation: the clock */
  sq = swarm_sequence_new (path, NOW_REAL + G_GINT64_CONSTANT (3600000000), NULL);
  fail_unless_equals_uint64 (swarm_sequence_first (sq),
      (NOW_REAL + G_GINT64_CONSTANT (3600000000)) / 1000);
  swarm_sequence_free (sq);

  /* a corrupt reservation is an error, not a guess */
  fail_unless (g_file_set_contents (path, "12ab\n", -1, NULL));
  fail_unless (swarm_sequence_new (path, NOW_REAL, &error) == NULL);
  fail_unless (error != NULL);
  g_clear_error (&error);

  /* no path: the clock alone, nothing written */
  sq = swarm_sequence_new (NULL, NOW_REAL, NULL);
  fail_unless (swarm_sequence_use (sq, NOW_REAL / 1000, NULL));
  swarm_sequence_free (sq);

  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

static Suite *
edge_suite (void)
{
  Suite *s = suite_create ("edge");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_edge_accepts_only_the_publishers_newer_word);
  tcase_add_test (tc, test_edge_bounds_announcements);
  tcase_add_test (tc, test_origin_proof);
  tcase_add_test (tc, test_sequence_never_reused);
  return s;
}

GST_CHECK_MAIN (edge);

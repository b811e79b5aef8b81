/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-relay.h"

gboolean
swarm_relay_split (const gchar * to, const gchar * from,
    const gchar * offer_id, SwarmSignalKind kind, const gchar * text,
    void (*send) (const SwarmMessage * msg, gpointer user_data),
    gpointer user_data)
{
  gsize len = strlen (text), off;
  guint fragments = (len + SWARM_WIRE_MAX_SIGNAL_PAYLOAD - 1) /
      SWARM_WIRE_MAX_SIGNAL_PAYLOAD, i;
  SwarmMessage msg = {.type = SWARM_MSG_SIGNAL };

  if (len == 0 || fragments > SWARM_WIRE_MAX_SIGNAL_FRAGMENTS)
    return FALSE;
  memcpy (msg.signal.to, to, SWARM_WIRE_PEER_ID_LEN);
  memcpy (msg.signal.from, from, SWARM_WIRE_PEER_ID_LEN);
  memcpy (msg.signal.offer_id, offer_id, SWARM_WIRE_PEER_ID_LEN);
  msg.signal.kind = kind;
  msg.signal.fragments = fragments;
  for (i = 0, off = 0; i < fragments; i++, off += SWARM_WIRE_MAX_SIGNAL_PAYLOAD) {
    msg.signal.fragment = i;
    msg.signal.payload = (const guint8 *) text + off;
    msg.signal.payload_len = MIN (SWARM_WIRE_MAX_SIGNAL_PAYLOAD, len - off);
    send (&msg, user_data);
  }
  return TRUE;
}

typedef struct {
  gchar key[3 * SWARM_WIRE_PEER_ID_LEN + 1];
  guint fragments;
  guint received;               /* bitmask */
  GBytes *parts[SWARM_WIRE_MAX_SIGNAL_FRAGMENTS];
  gint64 started_us;
} Pending;

struct _SwarmRelayAssembler {
  GPtrArray *pending;           /* Pending*, oldest first */
  guint max_pending;
  gint64 timeout_us;
};

static void
pending_free (Pending * p)
{
  guint i;

  for (i = 0; i < SWARM_WIRE_MAX_SIGNAL_FRAGMENTS; i++)
    if (p->parts[i])
      g_bytes_unref (p->parts[i]);
  g_free (p);
}

SwarmRelayAssembler *
swarm_relay_assembler_new (guint max_pending, gint64 timeout_us)
{
  SwarmRelayAssembler *a = g_new0 (SwarmRelayAssembler, 1);

  a->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_free);
  a->max_pending = MAX (max_pending, 1);
  a->timeout_us = timeout_us;
  return a;
}

void
swarm_relay_assembler_free (SwarmRelayAssembler * a)
{
  if (!a)
    return;
  g_ptr_array_unref (a->pending);
  g_free (a);
}

void
swarm_relay_assembler_expire (SwarmRelayAssembler * a, gint64 now_us)
{
  guint i = 0;

  while (i < a->pending->len) {
    Pending *p = g_ptr_array_index (a->pending, i);
    if (now_us - p->started_us > a->timeout_us)
      g_ptr_array_remove_index (a->pending, i);
    else
      i++;
  }
}

gchar *
swarm_relay_assembler_add (SwarmRelayAssembler * a, const SwarmMessage * msg,
    gint64 now_us)
{
  gchar key[3 * SWARM_WIRE_PEER_ID_LEN + 1];
  Pending *p = NULL;
  GString *text;
  guint i;

  /* one description per (sender, offer id, kind) */
  memcpy (key, msg->signal.from, SWARM_WIRE_PEER_ID_LEN);
  memcpy (key + SWARM_WIRE_PEER_ID_LEN, msg->signal.offer_id,
      SWARM_WIRE_PEER_ID_LEN);
  key[2 * SWARM_WIRE_PEER_ID_LEN] = '0' + msg->signal.kind;
  key[2 * SWARM_WIRE_PEER_ID_LEN + 1] = '\0';

  swarm_relay_assembler_expire (a, now_us);
  for (i = 0; i < a->pending->len && !p; i++) {
    Pending *q = g_ptr_array_index (a->pending, i);
    if (memcmp (q->key, key, 2 * SWARM_WIRE_PEER_ID_LEN + 1) == 0)
      p = q;
  }
  if (p && p->fragments != msg->signal.fragments)
    return NULL;                /* inconsistent sender: ignore the stray */
  if (!p) {
    if (a->pending->len >= a->max_pending)
      g_ptr_array_remove_index (a->pending, 0);
    p = g_new0 (Pending, 1);
    memcpy (p->key, key, sizeof key);
    p->fragments = msg->signal.fragments;
    p->started_us = now_us;
    g_ptr_array_add (a->pending, p);
  }
  if (!(p->received & (1u << msg->signal.fragment))) {
    p->parts[msg->signal.fragment] = g_bytes_new (msg->signal.payload,
        msg->signal.payload_len);
    p->received |= 1u << msg->signal.fragment;
  }
  if (p->received != (1u << p->fragments) - 1)
    return NULL;

  text = g_string_new (NULL);
  for (i = 0; i < p->fragments; i++) {
    gsize n;
    const gchar *d = g_bytes_get_data (p->parts[i], &n);
    g_string_append_len (text, d, n);
  }
  g_ptr_array_remove (a->pending, p);
  /* a description is text: an embedded NUL would truncate it silently */
  if (memchr (text->str, '\0', text->len)) {
    g_string_free (text, TRUE);
    return NULL;
  }
  return g_string_free (text, FALSE);
}

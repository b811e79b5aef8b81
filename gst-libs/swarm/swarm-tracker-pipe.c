/* The in-memory tracker pipe (swarm-tracker-pipe.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "swarm-tracker-pipe.h"

typedef struct _Pair Pair;

typedef struct {
  gint64 at_us;
  gchar *text;                   /* NULL: the close */
} Item;

struct _SwarmTrackerPipe {
  Pair *pair;
  /* its owner's clock and context: the two ends may be on two clocks
   * run by two threads (a sharded simulation), each touching its own end
   * alone; what one sends the other goes by mail then (swarm_clock_post) */
  SwarmClock *clock;
  GMainContext *context;
  gboolean open;                 /* may still send */
  gboolean gone;                 /* freed by its owner */
  SwarmTrackerPipeCallbacks callbacks;
  gpointer user_data;
  GQueue incoming;               /* Item, by arrival time */
  GSource *deliver;
};

struct _Pair {
  gint refcount;                 /* atomic: the two ends, mail in flight */
  gint64 delay_us;
  gint64 open_us;                /* TCP and the WebSocket upgrade done */
  SwarmTrackerPipe ends[2];
};

static void
item_free (Item * item)
{
  g_free (item->text);
  g_free (item);
}

/* Each end's queue and source went with the end (swarm_tracker_pipe_free,
 * on its owner's thread): only the memory is left. */
static void
pair_unref (Pair * pair)
{
  guint i;

  if (!g_atomic_int_dec_and_test (&pair->refcount))
    return;
  for (i = 0; i < 2; i++) {
    g_source_unref (pair->ends[i].deliver);
    swarm_clock_unref (pair->ends[i].clock);
    g_main_context_unref (pair->ends[i].context);
  }
  g_free (pair);
}

static SwarmTrackerPipe *
other_end (SwarmTrackerPipe * pipe)
{
  return pipe == &pipe->pair->ends[0] ? &pipe->pair->ends[1] :
      &pipe->pair->ends[0];
}

static void
arm (SwarmTrackerPipe * pipe)
{
  Item *head = g_queue_peek_head (&pipe->incoming);

  swarm_clock_source_set_deadline (pipe->clock, pipe->deliver,
      head ? head->at_us : -1);
}

static gint
item_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Item *x = a, *y = b;

  /* g_queue_insert_sorted walks past x while this is < 0: an equal time
   * goes after what was queued before it */
  return x->at_us <= y->at_us ? -1 : 1;
}

static void
push_here (SwarmTrackerPipe * to, gint64 at_us, gchar * text)
{
  Item *item;

  if (to->gone) {
    g_free (text);
    return;
  }
  item = g_new0 (Item, 1);
  item->at_us = at_us;
  item->text = text;
  g_queue_insert_sorted (&to->incoming, item, item_compare, NULL);
  arm (to);
}

/* A message (or the close) for an end on another clock, in its mail. */
typedef struct {
  SwarmTrackerPipe *to;
  gint64 at_us;
  gchar *text;
} Crossing;

static gboolean
crossing_arrive (gpointer data)
{
  Crossing *c = data;

  push_here (c->to, c->at_us, g_steal_pointer (&c->text));
  return G_SOURCE_REMOVE;
}

static void
crossing_free (gpointer data)
{
  Crossing *c = data;

  g_free (c->text);
  pair_unref (c->to->pair);
  g_free (c);
}

/* From @from's owner: @text (NULL: the close) to arrive at @to at @at_us. */
static void
push (SwarmTrackerPipe * from, SwarmTrackerPipe * to, gint64 at_us,
    gchar * text)
{
  Crossing *c;

  if (from->clock == to->clock) {
    push_here (to, at_us, text);
    return;
  }
  c = g_new (Crossing, 1);
  c->to = to;
  c->at_us = at_us;
  c->text = text;
  g_atomic_int_inc (&to->pair->refcount);
  swarm_clock_post (to->clock, from->clock, at_us, to->context,
      crossing_arrive, c, crossing_free);
}

static gboolean
deliver_due (gpointer data)
{
  SwarmTrackerPipe *pipe = data;
  Pair *pair = pipe->pair;
  gint64 now = swarm_clock_now_us (pipe->clock);

  g_atomic_int_inc (&pair->refcount);
  while (!pipe->gone) {
    Item *item = g_queue_peek_head (&pipe->incoming);

    if (!item || item->at_us > now)
      break;
    g_queue_pop_head (&pipe->incoming);
    if (item->text) {
      if (pipe->callbacks.message)
        pipe->callbacks.message (pipe, item->text, strlen (item->text),
            pipe->user_data);
    } else {
      pipe->open = FALSE;
      g_queue_clear_full (&pipe->incoming, (GDestroyNotify) item_free);
      if (pipe->callbacks.closed)
        pipe->callbacks.closed (pipe, pipe->user_data);
    }
    item_free (item);
  }
  if (!pipe->gone)
    arm (pipe);
  pair_unref (pair);
  return G_SOURCE_CONTINUE;
}

void
swarm_tracker_pipe_new_pair (SwarmClock * clock, GMainContext * context,
    guint delay_ms, SwarmTrackerPipe ** a, SwarmTrackerPipe ** b)
{
  swarm_tracker_pipe_new_pair_across (clock, context, clock, context,
      delay_ms, a, b);
}

void
swarm_tracker_pipe_new_pair_across (SwarmClock * clock_a,
    GMainContext * context_a, SwarmClock * clock_b, GMainContext * context_b,
    guint delay_ms, SwarmTrackerPipe ** a, SwarmTrackerPipe ** b)
{
  Pair *pair = g_new0 (Pair, 1);
  SwarmClock *clocks[2] = { clock_a, clock_b };
  GMainContext *contexts[2] = { context_a, context_b };
  guint i;

  pair->refcount = 2;
  pair->delay_us = (gint64) delay_ms * 1000;
  /* made on a's owner's thread, on its time */
  pair->open_us = swarm_clock_now_us (clock_a) + 4 * pair->delay_us;
  for (i = 0; i < 2; i++) {
    SwarmTrackerPipe *end = &pair->ends[i];

    end->pair = pair;
    end->clock = swarm_clock_ref (clocks[i]);
    end->context = g_main_context_ref (contexts[i]);
    end->open = TRUE;
    g_queue_init (&end->incoming);
    end->deliver = swarm_clock_deadline_source_new (end->clock);
    swarm_clock_source_set_callback (end->clock, end->deliver, deliver_due,
        end);
    g_source_attach (end->deliver, end->context);
  }
  *a = &pair->ends[0];
  *b = &pair->ends[1];
}

void
swarm_tracker_pipe_set_callbacks (SwarmTrackerPipe * pipe,
    const SwarmTrackerPipeCallbacks * callbacks, gpointer user_data)
{
  pipe->callbacks = *callbacks;
  pipe->user_data = user_data;
}

gboolean
swarm_tracker_pipe_is_open (SwarmTrackerPipe * pipe)
{
  return pipe->open;
}

gboolean
swarm_tracker_pipe_send (SwarmTrackerPipe * pipe, const gchar * text)
{
  if (!pipe->open)
    return FALSE;
  push (pipe, other_end (pipe), MAX (swarm_clock_now_us (pipe->clock),
          pipe->pair->open_us) + pipe->pair->delay_us, g_strdup (text));
  return TRUE;
}

void
swarm_tracker_pipe_close (SwarmTrackerPipe * pipe)
{
  gint64 now = swarm_clock_now_us (pipe->clock);

  if (!pipe->open)
    return;
  pipe->open = FALSE;
  push (pipe, other_end (pipe), now + pipe->pair->delay_us, NULL);
  /* the other end's reply to our close */
  push_here (pipe, now + 2 * pipe->pair->delay_us, NULL);
}

void
swarm_tracker_pipe_free (SwarmTrackerPipe * pipe)
{
  if (!pipe)
    return;
  swarm_tracker_pipe_close (pipe);
  pipe->gone = TRUE;
  memset (&pipe->callbacks, 0, sizeof pipe->callbacks);
  g_queue_clear_full (&pipe->incoming, (GDestroyNotify) item_free);
  g_source_destroy (pipe->deliver);
  pair_unref (pipe->pair);
}

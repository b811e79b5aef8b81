/* p2p-tracker-load: what the parts share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  gint peers;
  gint swarms;
  gint duration_s;
  gint ramp_s;
  gint interval_s;               /* 0: the tracker's */
  gint offers;                   /* per announce */
  gint keepalive_s;              /* a ping every; 0 = none */
  gchar *tracker;                /* NULL: start our own */
  gint tracker_pid;              /* measure an external tracker */
  gboolean spread;
  gchar *json_path;
  gboolean quiet;
  /* our tracker's limits, as p2psink's properties (-1: its default) */
  gint max_connections, max_connections_per_address, connection_rate;
  /* the child's side */
  gchar *role;
  gint parent_pid;
} LoadOptions;

/* ---- load-clients.c: the WebSocket tracker clients ----------------- */

typedef enum {
  LOAD_ERROR_CONNECT,            /* the TCP connect failed */
  LOAD_ERROR_REFUSED,            /* an HTTP refusal (our tracker: 503) */
  LOAD_ERROR_HANDSHAKE,          /* any other answer to the upgrade */
  LOAD_ERROR_TIMEOUT,            /* connect, upgrade or announce reply */
  LOAD_ERROR_CLOSED,             /* the tracker closed an open WebSocket */
  LOAD_ERROR_FAILURE,            /* a "failure reason" */
  LOAD_ERROR_PROTOCOL,           /* a frame or message we cannot read */
  LOAD_N_ERRORS
} LoadErrorKind;

extern const gchar *const load_error_names[LOAD_N_ERRORS];

typedef struct {
  /* now */
  guint open;                    /* WebSockets open */
  guint connected;               /* open and answered an announce on it */
  /* since the start */
  guint64 connects;              /* upgrades completed */
  guint64 announces_sent;
  guint64 announces;             /* replies */
  guint64 offers_sent, offers_received;
  guint64 pings;
  guint64 errors[LOAD_N_ERRORS];
  guint interval_s;              /* the tracker's, as it said */
} LoadCounters;

typedef struct _LoadClients LoadClients;

LoadClients *load_clients_new (const LoadOptions * opts, const gchar * url,
    GError ** error);
/* Schedules each client's connect over the ramp, from now. */
void load_clients_start (LoadClients * lc);
/* Runs until @end_us (monotonic), calling @progress about once a second. */
void load_clients_run (LoadClients * lc, gint64 end_us,
    void (*progress) (LoadClients * lc, gpointer user_data),
    gpointer user_data);
const LoadCounters *load_clients_get_counters (LoadClients * lc);
/* Announce reply latency and connect-to-upgrade time, in ms. */
gdouble load_clients_latency_ms (LoadClients * lc, gdouble q);
gdouble load_clients_connect_ms (LoadClients * lc, gdouble q);
guint64 load_clients_errors (LoadClients * lc);
/* reason -> count (guint64 in a pointer-sized slot, see the .c) */
void load_clients_add_reasons (LoadClients * lc, JsonBuilder * b);
void load_clients_free (LoadClients * lc);

/* ---- load-tracker.c: our tracker in a child, /proc figures --------- */

typedef struct _LoadTracker LoadTracker;

/* Re-executes this program as --role=tracker with @opts' limits; the URL
 * it listens on. */
LoadTracker *load_tracker_spawn (const LoadOptions * opts, GError ** error);
const gchar *load_tracker_get_url (LoadTracker * t);
gint load_tracker_get_pid (LoadTracker * t);
/* Its stats (JSON from the child) and exit. */
JsonNode *load_tracker_stop (LoadTracker * t);
void load_tracker_free (LoadTracker * t);
/* The child's side. */
int load_tracker_main (const LoadOptions * opts);

typedef struct {
  gboolean ok;
  gdouble cpu_seconds;           /* user + system */
  guint64 rss_kb, rss_kb_max;    /* VmRSS, VmHWM */
} LoadProcFigures;

gboolean load_proc_figures (gint pid, LoadProcFigures * f);

G_END_DECLS

/* DTLS 1.2 over a datagram transport, with GnuTLS, non-blocking.
 *
 * GnuTLS never touches a socket here: its push function hands each record
 * to the owner's send callback, and its pull function reads the one
 * datagram currently being fed through swarm_dtls_receive (EAGAIN when
 * there is none).  Retransmission of lost handshake flights is driven by a
 * timer on the owner's context, re-armed from gnutls_dtls_get_timeout().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/dtls.h>

#include "swarm-dtls.h"
#include "swarm-dtls-records.h"
#include "swarm-link.h"
#include "swarm-wire.h"
#include "swarm-private.h"

#define GST_CAT_DEFAULT swarm_dtls_debug

/* Exactly what a link can use, nothing offered that could never be
 * chosen: DTLS 1.2; both ends hold a self-signed ECDSA P-256 certificate
 * (swarm_dtls_credentials_new), so ECDHE-ECDSA key exchange signed with
 * ECDSA-SHA256 (no RSA, DHE or other curves' signatures); ephemeral
 * X25519 or P-256; only AEAD ciphers, which cost fewer bytes per record
 * than CBC + HMAC and are the only ones WebRTC stacks still negotiate. */
#define SWARM_DTLS_PRIORITY \
  "NONE:+VERS-DTLS1.2:+CTYPE-X509:+COMP-NULL:" \
  "+ECDHE-ECDSA:+SIGN-ECDSA-SHA256:+GROUP-X25519:+GROUP-SECP256R1:" \
  "+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AEAD"

/* Handshake records are fragmented to this size, which fits any path
 * (IPv6 minimum MTU minus IP/UDP and TURN overhead). */
#define SWARM_DTLS_HANDSHAKE_MTU 1200

/* First retransmission after 400 ms, doubling; the link gives up on its
 * own connect timeout long before GnuTLS's total timeout. */
#define SWARM_DTLS_RETRANS_TIMEOUT_MS 400
#define SWARM_DTLS_TOTAL_TIMEOUT_MS 60000

/* A datagram carries at most this many records we bother to read: a
 * bound so a hostile peer cannot keep us in the receive loop. */
#define SWARM_DTLS_MAX_RECORDS_PER_DATAGRAM 64

#define SWARM_DTLS_FINGERPRINT_LEN 32

struct _SwarmDtlsCredentials
{
  gint refcount;
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_certificate_credentials_t cred;
  gchar *fingerprint;
};

struct _SwarmDtls
{
  GMainContext *context;
  gboolean client;
  SwarmDtlsCredentials *local;
  gchar *remote_fingerprint;
  SwarmDtlsCallbacks callbacks;
  gpointer user_data;

  gnutls_session_t session;
  GSource *timer;

  /* The datagram being fed to GnuTLS by swarm_dtls_receive(). */
  const guint8 *pending;
  gsize pending_len;

  gboolean started;
  gboolean established;
  gboolean failed;
  gboolean fingerprint_mismatch;

  /* swarm_dtls_free() may be called from inside one of our callbacks: the
   * memory is released only once the outermost call has unwound. */
  guint busy;
  gboolean freed;
};

static void
format_fingerprint (const guint8 * digest, gsize len, gchar * out)
{
  static const gchar hex[] = "0123456789ABCDEF";
  gsize i;

  for (i = 0; i < len; i++) {
    out[i * 3] = hex[digest[i] >> 4];
    out[i * 3 + 1] = hex[digest[i] & 0xf];
    out[i * 3 + 2] = (i + 1 < len) ? ':' : '\0';
  }
}

static gchar *
fingerprint_of_der (const guint8 * der, gsize len)
{
  guint8 digest[SWARM_DTLS_FINGERPRINT_LEN];
  gchar *out;

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, der, len, digest) < 0)
    return NULL;
  out = g_malloc (SWARM_DTLS_FINGERPRINT_LEN * 3);
  format_fingerprint (digest, SWARM_DTLS_FINGERPRINT_LEN, out);
  return out;
}

static void
set_gnutls_error (GError ** error, const gchar * what, int ret)
{
  g_set_error (error, SWARM_LINK_ERROR, SWARM_LINK_ERROR_DTLS,
      _("Could not set up DTLS: %s (%s)"), what, gnutls_strerror (ret));
}

SwarmDtlsCredentials *
swarm_dtls_credentials_new (GError ** error)
{
  SwarmDtlsCredentials *c = g_new0 (SwarmDtlsCredentials, 1);
  guint8 serial[8];
  gnutls_datum_t der = { NULL, 0 };
  time_t now = time (NULL);
  int ret;

  c->refcount = 1;

  if ((ret = gnutls_x509_privkey_init (&c->key)) < 0 ||
      (ret = gnutls_x509_privkey_generate (c->key, GNUTLS_PK_ECDSA,
              GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
    set_gnutls_error (error, "key generation", ret);
    goto fail;
  }

  if ((ret = gnutls_x509_crt_init (&c->crt)) < 0) {
    set_gnutls_error (error, "certificate", ret);
    goto fail;
  }
  gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof (serial));
  /* A serial number is a positive integer. */
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  /* Backdated a day so peers with a slightly wrong clock accept it; nobody
   * checks the dates anyway, the fingerprint is what is trusted. */
  if ((ret = gnutls_x509_crt_set_version (c->crt, 3)) < 0 ||
      (ret = gnutls_x509_crt_set_serial (c->crt, serial,
              sizeof (serial))) < 0 ||
      (ret = gnutls_x509_crt_set_activation_time (c->crt,
              now - 24 * 3600)) < 0 ||
      (ret = gnutls_x509_crt_set_expiration_time (c->crt,
              now + 30 * 24 * 3600)) < 0 ||
      (ret = gnutls_x509_crt_set_dn (c->crt, "CN=gst-p2p", NULL)) < 0 ||
      (ret = gnutls_x509_crt_set_key (c->crt, c->key)) < 0 ||
      (ret = gnutls_x509_crt_sign2 (c->crt, c->crt, c->key,
              GNUTLS_DIG_SHA256, 0)) < 0) {
    set_gnutls_error (error, "certificate", ret);
    goto fail;
  }

  if ((ret = gnutls_x509_crt_export2 (c->crt, GNUTLS_X509_FMT_DER, &der)) < 0) {
    set_gnutls_error (error, "certificate export", ret);
    goto fail;
  }
  c->fingerprint = fingerprint_of_der (der.data, der.size);
  gnutls_free (der.data);
  if (c->fingerprint == NULL) {
    set_gnutls_error (error, "fingerprint", GNUTLS_E_HASH_FAILED);
    goto fail;
  }

  if ((ret = gnutls_certificate_allocate_credentials (&c->cred)) < 0 ||
      (ret = gnutls_certificate_set_x509_key (c->cred, &c->crt, 1,
              c->key)) < 0) {
    set_gnutls_error (error, "credentials", ret);
    goto fail;
  }

  GST_DEBUG ("new DTLS certificate %s", c->fingerprint);
  return c;

fail:
  swarm_dtls_credentials_unref (c);
  return NULL;
}

SwarmDtlsCredentials *
swarm_dtls_credentials_ref (SwarmDtlsCredentials * c)
{
  g_return_val_if_fail (c != NULL, NULL);
  g_atomic_int_inc (&c->refcount);
  return c;
}

void
swarm_dtls_credentials_unref (SwarmDtlsCredentials * c)
{
  if (c == NULL || !g_atomic_int_dec_and_test (&c->refcount))
    return;
  if (c->cred)
    gnutls_certificate_free_credentials (c->cred);
  if (c->crt)
    gnutls_x509_crt_deinit (c->crt);
  if (c->key)
    gnutls_x509_privkey_deinit (c->key);
  g_free (c->fingerprint);
  g_free (c);
}

const gchar *
swarm_dtls_credentials_get_fingerprint (SwarmDtlsCredentials * c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->fingerprint;
}

/* GnuTLS transport */

static ssize_t
dtls_push (gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
  SwarmDtls *dtls = ptr;

  /* A record the transport could not take is simply lost, as on the
   * network: DTLS retransmits handshake flights, and the protocol above
   * recovers application data.  Telling GnuTLS it was sent keeps it from
   * retrying the same record in a loop. */
  if (!dtls->freed)
    dtls->callbacks.send (data, len, dtls->user_data);
  return len;
}

static ssize_t
dtls_pull (gnutls_transport_ptr_t ptr, void *data, size_t size)
{
  SwarmDtls *dtls = ptr;
  gsize n;

  if (dtls->pending == NULL) {
    gnutls_transport_set_errno (dtls->session, EAGAIN);
    return -1;
  }

  /* A datagram is read whole or truncated, never split across reads. */
  n = MIN (size, dtls->pending_len);
  memcpy (data, dtls->pending, n);
  dtls->pending = NULL;
  dtls->pending_len = 0;
  return n;
}

static int
dtls_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  SwarmDtls *dtls = ptr;

  /* Never wait: everything is driven by the context's events. */
  return dtls->pending != NULL ? 1 : 0;
}

static int
dtls_verify (gnutls_session_t session)
{
  SwarmDtls *dtls = gnutls_session_get_ptr (session);
  const gnutls_datum_t *certs;
  unsigned int n_certs = 0;
  gchar *fingerprint;
  gboolean ok;

  if (gnutls_certificate_type_get (session) != GNUTLS_CRT_X509) {
    dtls->fingerprint_mismatch = TRUE;
    return -1;
  }

  certs = gnutls_certificate_get_peers (session, &n_certs);
  if (certs == NULL || n_certs == 0) {
    GST_INFO ("DTLS peer sent no certificate");
    dtls->fingerprint_mismatch = TRUE;
    return -1;
  }

  fingerprint = fingerprint_of_der (certs[0].data, certs[0].size);
  ok = fingerprint != NULL &&
      g_ascii_strcasecmp (fingerprint, dtls->remote_fingerprint) == 0;
  if (!ok) {
    GST_INFO ("DTLS peer certificate %s, expected %s",
        GST_STR_NULL (fingerprint), dtls->remote_fingerprint);
    dtls->fingerprint_mismatch = TRUE;
  }
  g_free (fingerprint);

  /* Non-zero makes GnuTLS abort the handshake and send bad_certificate. */
  return ok ? 0 : -1;
}

/* State machine */

static void
dtls_stop_timer (SwarmDtls * dtls)
{
  if (dtls->timer) {
    g_source_destroy (dtls->timer);
    g_source_unref (dtls->timer);
    dtls->timer = NULL;
  }
}

static void
dtls_release (SwarmDtls * dtls)
{
  dtls_stop_timer (dtls);
  if (dtls->session)
    gnutls_deinit (dtls->session);
  swarm_dtls_credentials_unref (dtls->local);
  g_main_context_unref (dtls->context);
  g_free (dtls->remote_fingerprint);
  g_free (dtls);
}

static void
dtls_enter (SwarmDtls * dtls)
{
  dtls->busy++;
}

/* Returns FALSE if @dtls was freed meanwhile and must not be touched. */
static gboolean
dtls_leave (SwarmDtls * dtls)
{
  if (--dtls->busy == 0 && dtls->freed) {
    dtls_release (dtls);
    return FALSE;
  }
  return !dtls->freed;
}

static void
dtls_fail (SwarmDtls * dtls, int ret)
{
  GError *error;

  if (dtls->failed || dtls->freed)
    return;
  dtls->failed = TRUE;
  dtls_stop_timer (dtls);

  /* GnuTLS leaves alerts to the application: without one the peer would
   * only find out from its own connect timeout. */
  if (dtls->fingerprint_mismatch)
    gnutls_alert_send (dtls->session, GNUTLS_AL_FATAL,
        GNUTLS_A_BAD_CERTIFICATE);
  else if (ret < 0 && ret != GNUTLS_E_FATAL_ALERT_RECEIVED)
    gnutls_alert_send_appropriate (dtls->session, ret);

  if (dtls->fingerprint_mismatch) {
    error = g_error_new (SWARM_LINK_ERROR, SWARM_LINK_ERROR_DTLS,
        _("The peer's certificate does not match its signalled fingerprint"));
  } else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
    gnutls_alert_description_t alert = gnutls_alert_get (dtls->session);
    const gchar *name = gnutls_alert_get_name (alert);

    /* bad_certificate is what the peer sends when our fingerprint does
     * not match what it was told. */
    error = g_error_new (SWARM_LINK_ERROR, SWARM_LINK_ERROR_DTLS,
        _("The peer aborted the secure connection: %s"),
        name ? name : "unknown alert");
  } else if (ret == 0) {
    error = g_error_new (SWARM_LINK_ERROR, SWARM_LINK_ERROR_CLOSED,
        _("The peer closed the connection"));
  } else {
    error = g_error_new (SWARM_LINK_ERROR, SWARM_LINK_ERROR_DTLS,
        _("Secure connection failed: %s"), gnutls_strerror (ret));
  }

  GST_INFO ("DTLS %s failed: %s", dtls->client ? "client" : "server",
      error->message);
  dtls->callbacks.failed (error, dtls->user_data);
  g_error_free (error);
}

static void dtls_handshake (SwarmDtls * dtls);

static gboolean
dtls_on_timer (gpointer user_data)
{
  SwarmDtls *dtls = user_data;

  g_source_unref (dtls->timer);
  dtls->timer = NULL;

  dtls_enter (dtls);
  dtls_handshake (dtls);
  dtls_leave (dtls);
  return G_SOURCE_REMOVE;
}

static void
dtls_arm_timer (SwarmDtls * dtls)
{
  guint ms = gnutls_dtls_get_timeout (dtls->session);

  dtls_stop_timer (dtls);
  /* Wake up at least once a few ms later so a just-expired timeout still
   * moves the handshake forward.  GnuTLS counts its retransmission time on
   * the real clock, so this timer is real too (not the swarm's clock): DTLS
   * runs only over the real network; the in-memory link has none. */
  dtls->timer = g_timeout_source_new (MAX (ms, 1));
  g_source_set_callback (dtls->timer, dtls_on_timer, dtls, NULL);
  g_source_attach (dtls->timer, dtls->context);
}

static void
dtls_handshake (SwarmDtls * dtls)
{
  int ret;
  unsigned int data_mtu;

  if (dtls->established || dtls->failed || dtls->freed)
    return;

  ret = gnutls_handshake (dtls->session);
  if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
    dtls_arm_timer (dtls);
    return;
  }
  if (ret < 0) {
    if (gnutls_error_is_fatal (ret)) {
      dtls_fail (dtls, ret);
    } else {
      GST_DEBUG ("DTLS handshake: %s", gnutls_strerror (ret));
      dtls_arm_timer (dtls);
    }
    return;
  }

  dtls_stop_timer (dtls);

  /* Size records so a full datagram of ours always fits in one, whatever
   * the overhead of the cipher just negotiated. */
  gnutls_dtls_set_data_mtu (dtls->session, SWARM_WIRE_MAX_DATAGRAM);
  data_mtu = gnutls_dtls_get_data_mtu (dtls->session);
  if (data_mtu < SWARM_WIRE_MAX_DATAGRAM) {
    GST_WARNING ("DTLS data MTU %u < %u", data_mtu, SWARM_WIRE_MAX_DATAGRAM);
    dtls_fail (dtls, GNUTLS_E_LARGE_PACKET);
    return;
  }

  dtls->established = TRUE;
  {
    gchar *desc = gnutls_session_get_desc (dtls->session);
    GST_INFO ("DTLS %s established: %s (data MTU %u)",
        dtls->client ? "client" : "server", desc, data_mtu);
    gnutls_free (desc);
  }
  dtls->callbacks.established (dtls->user_data);
}

static void
dtls_read_records (SwarmDtls * dtls)
{
  guint8 buf[SWARM_WIRE_MAX_DATAGRAM + 512];
  guint i;

  for (i = 0; i < SWARM_DTLS_MAX_RECORDS_PER_DATAGRAM; i++) {
    ssize_t ret = gnutls_record_recv (dtls->session, buf, sizeof (buf));

    if (ret > 0) {
      dtls->callbacks.received (buf, ret, dtls->user_data);
      if (dtls->freed || dtls->failed)
        return;
    } else if (ret == 0) {
      /* close_notify */
      dtls_fail (dtls, 0);
      return;
    } else if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
      return;
    } else if (gnutls_error_is_fatal (ret)) {
      dtls_fail (dtls, ret);
      return;
    } else {
      /* Renegotiation requests, warning alerts, records too large for our
       * buffer: skipped (the loop is bounded). */
      GST_DEBUG ("DTLS record: %s", gnutls_strerror (ret));
    }
  }
}

/* Public API */

SwarmDtls *
swarm_dtls_new (GMainContext * context, gboolean client,
    SwarmDtlsCredentials * local, const gchar * remote_fingerprint,
    const SwarmDtlsCallbacks * callbacks, gpointer user_data)
{
  SwarmDtls *dtls;
  const char *err_pos = NULL;
  int ret;

  g_return_val_if_fail (local != NULL, NULL);
  g_return_val_if_fail (remote_fingerprint != NULL, NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);

  dtls = g_new0 (SwarmDtls, 1);
  dtls->context = context ? g_main_context_ref (context) :
      g_main_context_ref_thread_default ();
  dtls->client = client;
  dtls->local = swarm_dtls_credentials_ref (local);
  dtls->remote_fingerprint = g_strdup (remote_fingerprint);
  dtls->callbacks = *callbacks;
  dtls->user_data = user_data;

  ret = gnutls_init (&dtls->session,
      (client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_DATAGRAM |
      GNUTLS_NONBLOCK);
  if (ret < 0)
    goto fail;

  ret = gnutls_priority_set_direct (dtls->session, SWARM_DTLS_PRIORITY,
      &err_pos);
  if (ret < 0) {
    GST_ERROR ("DTLS priority rejected at \"%s\"", GST_STR_NULL (err_pos));
    goto fail;
  }
  ret = gnutls_credentials_set (dtls->session, GNUTLS_CRD_CERTIFICATE,
      local->cred);
  if (ret < 0)
    goto fail;
  if (!client)
    gnutls_certificate_server_set_request (dtls->session, GNUTLS_CERT_REQUIRE);

  gnutls_session_set_ptr (dtls->session, dtls);
  gnutls_session_set_verify_function (dtls->session, dtls_verify);

  gnutls_transport_set_ptr (dtls->session, dtls);
  gnutls_transport_set_push_function (dtls->session, dtls_push);
  gnutls_transport_set_pull_function (dtls->session, dtls_pull);
  gnutls_transport_set_pull_timeout_function (dtls->session,
      dtls_pull_timeout);

  gnutls_dtls_set_mtu (dtls->session, SWARM_DTLS_HANDSHAKE_MTU);
  gnutls_dtls_set_timeouts (dtls->session, SWARM_DTLS_RETRANS_TIMEOUT_MS,
      SWARM_DTLS_TOTAL_TIMEOUT_MS);

  return dtls;

fail:
  GST_ERROR ("DTLS session setup failed: %s", gnutls_strerror (ret));
  if (dtls->session)
    gnutls_deinit (dtls->session);
  dtls->session = NULL;
  dtls_release (dtls);
  return NULL;
}

void
swarm_dtls_start (SwarmDtls * dtls)
{
  g_return_if_fail (dtls != NULL);

  if (dtls->started)
    return;
  dtls->started = TRUE;

  dtls_enter (dtls);
  dtls_handshake (dtls);
  dtls_leave (dtls);
}

void
swarm_dtls_receive (SwarmDtls * dtls, const guint8 * data, gsize len)
{
  gsize whole;

  g_return_if_fail (dtls != NULL);

  if (dtls->failed || dtls->freed)
    return;
  /* Only whole records: GnuTLS would read a cut-off one on into the next
   * datagram and lose the records there (swarm-dtls-records.h). */
  whole = swarm_dtls_whole_records (data, len);
  if (whole < len)
    GST_LOG ("DTLS datagram of %" G_GSIZE_FORMAT " bytes: %" G_GSIZE_FORMAT
        " after its whole records dropped", len, len - whole);
  len = whole;
  if (len == 0)
    return;

  dtls_enter (dtls);
  dtls->pending = data;
  dtls->pending_len = len;

  if (!dtls->established) {
    /* A server learns of its client from its first flight. */
    dtls->started = TRUE;
    dtls_handshake (dtls);
  }
  /* The datagram may hold application data right behind the last
   * handshake records (or the handshake just ended): read it too. */
  if (dtls->established && !dtls->failed && !dtls->freed)
    dtls_read_records (dtls);

  if (!dtls->freed) {
    dtls->pending = NULL;
    dtls->pending_len = 0;
  }
  dtls_leave (dtls);
}

gboolean
swarm_dtls_send (SwarmDtls * dtls, const guint8 * data, gsize len)
{
  ssize_t ret;

  g_return_val_if_fail (dtls != NULL, FALSE);

  if (!dtls->established || dtls->failed || dtls->freed)
    return FALSE;

  ret = gnutls_record_send (dtls->session, data, len);
  if (ret < 0) {
    GST_LOG ("DTLS send of %" G_GSIZE_FORMAT " bytes: %s", len,
        gnutls_strerror (ret));
    if (gnutls_error_is_fatal (ret) && ret != GNUTLS_E_LARGE_PACKET) {
      dtls_enter (dtls);
      dtls_fail (dtls, ret);
      dtls_leave (dtls);
    }
    return FALSE;
  }
  return TRUE;
}

const gchar *
swarm_dtls_get_priority (void)
{
  return SWARM_DTLS_PRIORITY;
}

gchar *
swarm_dtls_get_description (SwarmDtls * dtls)
{
  gchar *gdesc, *desc;

  g_return_val_if_fail (dtls != NULL, NULL);
  if (!dtls->established || dtls->failed)
    return NULL;
  gdesc = gnutls_session_get_desc (dtls->session);
  desc = g_strdup (gdesc);
  gnutls_free (gdesc);
  return desc;
}

gboolean
swarm_dtls_is_established (SwarmDtls * dtls)
{
  g_return_val_if_fail (dtls != NULL, FALSE);
  return dtls->established && !dtls->failed;
}

gboolean
swarm_dtls_export_keying_material (SwarmDtls * dtls, const gchar * label,
    guint8 * out, gsize len)
{
  g_return_val_if_fail (dtls != NULL && label != NULL && out != NULL, FALSE);

  if (!swarm_dtls_is_established (dtls))
    return FALSE;
  return gnutls_prf_rfc5705 (dtls->session, strlen (label), label, 0, NULL,
      len, (char *) out) == GNUTLS_E_SUCCESS;
}

void
swarm_dtls_free (SwarmDtls * dtls)
{
  if (dtls == NULL || dtls->freed)
    return;

  /* Best effort: one close_notify, never waited for. */
  if (dtls->established && !dtls->failed)
    gnutls_bye (dtls->session, GNUTLS_SHUT_WR);

  dtls->freed = TRUE;
  dtls_stop_timer (dtls);
  if (dtls->busy == 0)
    dtls_release (dtls);
}

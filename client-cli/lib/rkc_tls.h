/*
 * rkc_tls — a TLS client stream over a non-blocking TCP socket, with
 * deadlines: the transport under rkc.c (WebSocket) and rkc_https.c.
 *
 * Verification is never optional: the peer certificate must chain to the
 * given CA file and match the URL's host (a DNS name via SSL_set1_host,
 * which also sends SNI; an IP literal via X509_VERIFY_PARAM_set1_ip_asc).
 * TLS 1.2 is the minimum.
 *
 * Reads try SSL first and poll() only when OpenSSL asks for it, so bytes
 * already decrypted and buffered inside SSL (SSL_pending) are never left
 * waiting for the socket to become readable.
 *
 * A write to a socket the peer has reset raises SIGPIPE, which would kill
 * a process that has not ignored it. The library may not change process
 * state, so around each SSL call it blocks SIGPIPE in the calling thread
 * only and discards a SIGPIPE that call raised (as libpq does).
 *
 * Internal to client-cli/lib. One struct rkc_tls per thread at a time.
 */
#ifndef RKC_TLS_H
#define RKC_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "rkc_url.h"

/* Returns of rkc_tls_read / rkc_tls_write besides byte counts. */
enum {
	RKC_IO_EOF = 0,
	RKC_IO_ERROR = -1,
	RKC_IO_TIMEOUT = -2,
};

struct rkc_tls {
	int fd;          /* -1 when not connected */
	SSL_CTX *ctx;
	SSL *ssl;
	int eof;         /* the peer ended the stream */
	int eof_unclean; /* ... without a TLS close_notify */
	int fatal;       /* a fatal TLS error: no shutdown may be sent */
};

/* Make t an unconnected stream (fd -1, no SSL); rkc_tls_close is safe on
 * it. */
void rkc_tls_init(struct rkc_tls *t);

/* Connect TCP to u->host:u->port (every address it resolves to, in
 * order) and complete the TLS handshake before deadline (rkc_util.h).
 * ca_file: PEM file of trusted CAs (required). tls_max_version: 0, or a
 * TLS1_x_VERSION cap (tests). cert_file / key_file: a client (device)
 * certificate and its key (PEM; key_file NULL: in cert_file), or NULL
 * for none. Returns 0, or -1 with a reason in err; t
 * is then closed. */
int rkc_tls_connect(struct rkc_tls *t, const struct rkc_url *u, const char *ca_file,
                    int tls_max_version, const char *source, const char *cert_file,
                    const char *key_file, int64_t deadline, char *err,
                    size_t errlen);

/* Read up to len bytes. Returns the count (> 0), RKC_IO_EOF at the end of
 * the stream (t->eof_unclean says whether it ended without close_notify),
 * RKC_IO_TIMEOUT when deadline passed with nothing read, or RKC_IO_ERROR
 * with a reason in err. */
long rkc_tls_read(struct rkc_tls *t, void *buf, size_t len, int64_t deadline,
                  char *err, size_t errlen);

/* Write all len bytes. Returns 0, RKC_IO_TIMEOUT (some bytes may have
 * been written: the stream is then unusable) or RKC_IO_ERROR. */
int rkc_tls_write(struct rkc_tls *t, const void *buf, size_t len, int64_t deadline,
                  char *err, size_t errlen);

/* Send close_notify when `graceful` and the stream is healthy (without
 * waiting for the peer's), close the socket and free everything. Leaves
 * t as after rkc_tls_init. */
void rkc_tls_close(struct rkc_tls *t, int graceful);

#endif

/* TLS client stream with deadlines; see rkc_tls.h. */
#include "rkc_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rkc_util.h"

/* ---- SIGPIPE, per thread (see the header) */

struct pipe_guard {
	sigset_t old;
	int pending_before;
	int active;
};

static void
pipe_block(struct pipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	g->active = pthread_sigmask(SIG_BLOCK, &set, &g->old) == 0;
	g->pending_before = g->active && sigpending(&pend) == 0 &&
	                    sigismember(&pend, SIGPIPE) == 1;
}

static void
pipe_unblock(struct pipe_guard *g)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set, pend;
	int saved = errno;

	if (!g->active)
		return;
	if (!g->pending_before && sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE) == 1) {
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}

/* ---- sockets */

/* 1 when fd is ready for events (or in error: the next call will say),
 * 0 when deadline passed, -1 on a poll failure. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, rkc_remaining_ms(deadline));
		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Bind fd to the local address `source` (numeric, of ai's family)
 * before connecting: tests and benchmarks on loopback speak from
 * 127.0.0.x to be seen as separate addresses. */
static int
bind_source(int fd, const struct addrinfo *ai, const char *source, char *why,
            size_t whylen)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = ai->ai_family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	rc = getaddrinfo(source, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(why, whylen, "bad source address %s: %s", source,
		         gai_strerror(rc));
		return -1;
	}
	rc = bind(fd, res->ai_addr, res->ai_addrlen);
	if (rc != 0)
		snprintf(why, whylen, "cannot bind to %s: %s", source, strerror(errno));
	freeaddrinfo(res);
	return rc;
}

static int
tcp_connect(const struct rkc_url *u, const char *source, int64_t deadline,
            char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char why[128] = "no usable address";
	int fd = -1, rc, soerr, one = 1, flags;
	socklen_t sl;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (u->host_is_ip ? AI_NUMERICHOST : 0);
	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0) {
		rkc_seterr(err, errlen, "cannot resolve %s: %s", u->host,
		           rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	/* Try every address in turn: "localhost" often gives ::1 first
	 * while the server listens on 127.0.0.1 only. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, sizeof why, "%s", strerror(errno));
			continue;
		}
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
			snprintf(why, sizeof why, "%s", strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		if (source != NULL && *source != '\0' &&
		    bind_source(fd, ai, source, why, sizeof why) != 0) {
			close(fd);
			fd = -1;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 0) {
				snprintf(why, sizeof why, "timed out");
				close(fd);
				fd = -1;
				break;
			}
			sl = sizeof soerr;
			if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0) {
				if (soerr == 0)
					break;
				errno = soerr;
			}
		}
		snprintf(why, sizeof why, "%s", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rkc_seterr(err, errlen, "cannot connect to %s port %s: %s", u->host,
		           u->port, why);
		return -1;
	}
	/* requests and answers are small: do not let Nagle hold them back */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
		rkc_seterr(err, errlen, "setsockopt(TCP_NODELAY): %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- TLS */

void
rkc_tls_init(struct rkc_tls *t)
{
	memset(t, 0, sizeof *t);
	t->fd = -1;
}

void
rkc_tls_close(struct rkc_tls *t, int graceful)
{
	struct pipe_guard g;

	if (t->ssl != NULL) {
		if (graceful && !t->fatal && t->fd >= 0) {
			/* Best effort, without waiting for the peer's reply:
			 * the result does not change what we do next. */
			pipe_block(&g);
			(void)SSL_shutdown(t->ssl);
			pipe_unblock(&g);
		}
		SSL_free(t->ssl);
	}
	ERR_clear_error();
	SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	rkc_tls_init(t);
}

/* Describe an SSL_ERROR_SYSCALL / SSL_ERROR_SSL failure into err. */
static void
describe_failure(int e, int saved_errno, const char *what, char *err, size_t errlen)
{
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		if (saved_errno == 0)
			rkc_seterr(err, errlen, "%s: connection closed by the peer", what);
		else if (saved_errno == EPIPE || saved_errno == ECONNRESET)
			rkc_seterr(err, errlen, "%s: connection closed by the peer (%s)",
			           what, strerror(saved_errno));
		else
			rkc_seterr(err, errlen, "%s: %s", what, strerror(saved_errno));
		return;
	}
	rkc_seterr(err, errlen, "%s failed", what);
	rkc_ssl_err_append(err, errlen);
}

int
rkc_tls_connect(struct rkc_tls *t, const struct rkc_url *u, const char *ca_file,
                int tls_max_version, const char *source, const char *cert_file,
                const char *key_file, int64_t deadline, char *err, size_t errlen)
{
	struct pipe_guard g;
	int r, e, w, saved;
	long vr;

	rkc_tls_init(t);
	ERR_clear_error();
	if (ca_file == NULL || *ca_file == '\0') {
		rkc_seterr(err, errlen, "no CA file given to verify the server");
		return -1;
	}
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL) {
		rkc_seterr(err, errlen, "SSL_CTX_new failed");
		goto fail_ssl;
	}
	if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
		rkc_seterr(err, errlen, "cannot require TLS 1.2");
		goto fail_ssl;
	}
	if (tls_max_version != 0 &&
	    SSL_CTX_set_max_proto_version(t->ctx, tls_max_version) != 1) {
		rkc_seterr(err, errlen, "cannot cap the TLS version at 0x%x", tls_max_version);
		goto fail_ssl;
	}
	if (SSL_CTX_load_verify_file(t->ctx, ca_file) != 1) {
		rkc_seterr(err, errlen, "cannot load CA file %s", ca_file);
		goto fail_ssl;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* A device certificate, for servers that ask (client_cert). */
	if (cert_file != NULL && *cert_file != '\0') {
		if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
			rkc_seterr(err, errlen, "cannot load certificate %s", cert_file);
			goto fail_ssl;
		}
		if (SSL_CTX_use_PrivateKey_file(t->ctx,
		                                key_file != NULL && *key_file != '\0'
		                                        ? key_file
		                                        : cert_file,
		                                SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(t->ctx) != 1) {
			rkc_seterr(err, errlen, "cannot load the key of certificate %s",
			           cert_file);
			goto fail_ssl;
		}
	}
	/* a write retried after WANT_WRITE may come from a moved buffer */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	t->ssl = SSL_new(t->ctx);
	if (t->ssl == NULL) {
		rkc_seterr(err, errlen, "SSL_new failed");
		goto fail_ssl;
	}
	if (u->host_is_ip) {
		/* RFC 6066: no SNI for address literals; match the IP SAN */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), u->host) != 1) {
			rkc_seterr(err, errlen, "cannot verify against address %s", u->host);
			goto fail_ssl;
		}
	} else {
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(t->ssl, u->host) != 1) {
			rkc_seterr(err, errlen, "cannot verify against host name %s", u->host);
			goto fail_ssl;
		}
		if (SSL_set_tlsext_host_name(t->ssl, u->host) != 1) {
			rkc_seterr(err, errlen, "cannot set SNI host name %s", u->host);
			goto fail_ssl;
		}
	}

	t->fd = tcp_connect(u, source, deadline, err, errlen);
	if (t->fd < 0)
		goto fail;
	if (SSL_set_fd(t->ssl, t->fd) != 1) {
		rkc_seterr(err, errlen, "SSL_set_fd failed");
		goto fail_ssl;
	}

	for (;;) {
		ERR_clear_error();
		pipe_block(&g);
		r = SSL_connect(t->ssl);
		e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
		saved = errno;
		pipe_unblock(&g);
		if (r == 1)
			break;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (w > 0)
				continue;
			if (w == 0)
				rkc_seterr(err, errlen, "TLS handshake with %s timed out", u->host);
			else
				rkc_seterr(err, errlen, "poll: %s", strerror(errno));
			goto fail;
		}
		t->fatal = 1;
		vr = SSL_get_verify_result(t->ssl);
		if (vr != X509_V_OK) {
			rkc_seterr(err, errlen, "the certificate of %s is not trusted: %s",
			           u->host, X509_verify_cert_error_string(vr));
			goto fail;
		}
		describe_failure(e, saved, "TLS handshake", err, errlen);
		goto fail;
	}
	/* SSL_VERIFY_PEER already failed the handshake otherwise; check
	 * again so that a mistake above can never leave us unverified. */
	vr = SSL_get_verify_result(t->ssl);
	if (vr != X509_V_OK || SSL_get0_peer_certificate(t->ssl) == NULL) {
		rkc_seterr(err, errlen, "the certificate of %s is not trusted", u->host);
		goto fail;
	}
	return 0;

fail_ssl:
	rkc_ssl_err_append(err, errlen);
fail:
	rkc_tls_close(t, 0);
	return -1;
}

long
rkc_tls_read(struct rkc_tls *t, void *buf, size_t len, int64_t deadline, char *err,
             size_t errlen)
{
	struct pipe_guard g;
	size_t n = 0;
	int ok, e, w, saved;

	if (t->eof)
		return RKC_IO_EOF;
	if (t->ssl == NULL || t->fatal) {
		rkc_seterr(err, errlen, "connection is closed");
		return RKC_IO_ERROR;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	for (;;) {
		ERR_clear_error();
		pipe_block(&g);
		ok = SSL_read_ex(t->ssl, buf, len, &n);
		e = ok ? SSL_ERROR_NONE : SSL_get_error(t->ssl, ok);
		saved = errno;
		pipe_unblock(&g);
		if (ok)
			return (long)n;
		switch (e) {
		case SSL_ERROR_ZERO_RETURN:
			t->eof = 1;
			return RKC_IO_EOF;
		case SSL_ERROR_WANT_READ:
			w = wait_fd(t->fd, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			w = wait_fd(t->fd, POLLOUT, deadline);
			break;
		default:
			t->fatal = 1;
			/* A peer that just closes TCP without close_notify is an
			 * end of stream too, only an unverified one. */
			if ((e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
			                               SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
			    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && saved == 0)) {
				ERR_clear_error();
				t->eof = 1;
				t->eof_unclean = 1;
				return RKC_IO_EOF;
			}
			describe_failure(e, saved, "TLS read", err, errlen);
			return RKC_IO_ERROR;
		}
		if (w == 0)
			return RKC_IO_TIMEOUT;
		if (w < 0) {
			rkc_seterr(err, errlen, "poll: %s", strerror(errno));
			return RKC_IO_ERROR;
		}
	}
}

int
rkc_tls_write(struct rkc_tls *t, const void *buf, size_t len, int64_t deadline,
              char *err, size_t errlen)
{
	const unsigned char *p = buf;
	struct pipe_guard g;
	size_t off = 0, n;
	int ok, e, w, saved;

	if (t->ssl == NULL || t->fatal) {
		rkc_seterr(err, errlen, "connection is closed");
		return RKC_IO_ERROR;
	}
	while (off < len) {
		n = 0;
		ERR_clear_error();
		pipe_block(&g);
		ok = SSL_write_ex(t->ssl, p + off, len - off, &n);
		e = ok ? SSL_ERROR_NONE : SSL_get_error(t->ssl, ok);
		saved = errno;
		pipe_unblock(&g);
		if (ok) {
			off += n;
			continue;
		}
		if (e == SSL_ERROR_WANT_WRITE)
			w = wait_fd(t->fd, POLLOUT, deadline);
		else if (e == SSL_ERROR_WANT_READ)
			w = wait_fd(t->fd, POLLIN, deadline);
		else {
			t->fatal = 1;
			describe_failure(e, saved, "TLS write", err, errlen);
			return RKC_IO_ERROR;
		}
		if (w == 0) {
			/* part of a record may be out: the stream is unusable */
			t->fatal = 1;
			rkc_seterr(err, errlen, "timeout");
			return RKC_IO_TIMEOUT;
		}
		if (w < 0) {
			rkc_seterr(err, errlen, "poll: %s", strerror(errno));
			return RKC_IO_ERROR;
		}
	}
	return 0;
}

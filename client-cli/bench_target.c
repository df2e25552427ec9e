/*
 * Where the bench connects: the server URL resolved once, to a loopback
 * address only (a load generator must never be pointed at someone
 * else's server), and one SSL_CTX for every connection, so that the CA
 * file is read and parsed once rather than per handshake.
 */
#include "bench.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rkc_url.h"

#define PROBE_MS 3000

static int
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

/* 0 if a TCP connection to sa can be made within PROBE_MS. */
static int
probe(const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p;
	int fd, rc = -1, soerr = 0;
	socklen_t sl = sizeof soerr;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, len) == 0)
		rc = 0;
	else if (errno == EINPROGRESS) {
		p.fd = fd;
		p.events = POLLOUT;
		if (poll(&p, 1, PROBE_MS) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			rc = 0;
	}
	close(fd);
	return rc;
}

int
bench_target_init(struct bench_target *t, const char *url, const char *ca, char *err,
                  size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct rkc_url u;
	const char *desc = NULL;
	int rc, remote = 0;

	memset(t, 0, sizeof *t);
	if (rkc_url_parse(url, &u, &desc) != 0) {
		snprintf(err, errlen, "bad server URL %s: %s", url, desc ? desc : "?");
		return -1;
	}
	snprintf(t->url, sizeof t->url, "%s", url);
	snprintf(t->ca, sizeof t->ca, "%s", ca);
	snprintf(t->host, sizeof t->host, "%s", u.host);
	snprintf(t->path, sizeof t->path, "%s", u.path);
	t->host_is_ip = u.host_is_ip;
	if (rkc_url_host_header(&u, t->host_header, sizeof t->host_header) != 0) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (u.host_is_ip ? AI_NUMERICHOST : 0);
	rc = getaddrinfo(u.host, u.port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u.host, gai_strerror(rc));
		return -1;
	}
	/* loopback only; of those, the first that accepts a connection
	 * ("localhost" often gives ::1 first, the server listens on one) */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr)) {
			remote = 1;
			continue;
		}
		if (probe(ai->ai_addr, ai->ai_addrlen) == 0) {
			memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
			t->addrlen = ai->ai_addrlen;
			break;
		}
	}
	freeaddrinfo(res);
	if (t->addrlen == 0) {
		if (remote)
			snprintf(err, errlen, "%s is not a loopback address: the bench only runs "
			         "against a server on this machine", u.host);
		else
			snprintf(err, errlen, "cannot connect to %s port %s", u.host, u.port);
		return -1;
	}
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL || SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_file(t->ctx, ca) != 1) {
		snprintf(err, errlen, "cannot set up TLS with CA file %s", ca);
		bench_target_fini(t);
		return -1;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One key for the run: the bench is one device. */
	t->device = rkc_device_generate(err, errlen);
	if (t->device == NULL) {
		SSL_CTX_free(t->ctx);
		t->ctx = NULL;
		return -1;
	}
	return 0;
}

void
bench_target_fini(struct bench_target *t)
{
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	rkc_device_free(t->device);
	t->device = NULL;
}

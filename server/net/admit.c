/*
 * Admission at accept: at most max_connections sockets in all and
 * max_connections_per_address from one peer address, counted from the TCP
 * accept (before TLS) to the socket's end, so that a flood of connections
 * is turned away before it costs a handshake.
 *
 * libwebsockets tells us of an accepted socket (FILTER_NETWORK_CONNECTION,
 * with its fd), then of the connection made of it
 * (SERVER_NEW_CLIENT_INSTANTIATED), and of that connection's end
 * (WSI_DESTROY, to whichever protocol it ended in). The fd ties the
 * first two; the connection carries its address key from then on as its
 * opaque user data. Addresses are counted by a 64-bit hash of their text:
 * two addresses sharing a hash would share a limit, which is harmless.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/internal.h"
#include "util/log.h"

static uint64_t
address_key(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char text[INET6_ADDRSTRLEN] = "";
	const char *s = text;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return 1;
	if (sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, text,
		          sizeof(text));
	else if (sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, text,
		          sizeof(text));
	/* An IPv4 peer on a dual-stack socket is the same peer. */
	if (strncmp(s, "::ffff:", 7) == 0 && strchr(s + 7, ':') == NULL)
		s += 7;
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h | 1; /* never 0: 0 means "not counted" */
}

static void
drop(struct net *n, uint64_t key)
{
	uintptr_t c = (uintptr_t)idmap_get(&n->per_address, key);

	n->admitted--;
	if (c <= 1)
		idmap_del(&n->per_address, key);
	else
		idmap_set(&n->per_address, key, (void *)(c - 1));
}

int
net_admit(struct net *n, int fd)
{
	uint64_t key = address_key(fd);
	uintptr_t c = (uintptr_t)idmap_get(&n->per_address, key);
	uint64_t stale;

	/* A socket admitted on this fd that never became a connection
	 * (lws could not adopt it): its place is free again. */
	if ((stale = (uint64_t)(uintptr_t)idmap_del(&n->admit_fd, (uint64_t)fd + 1)) != 0) {
		drop(n, stale);
		c = (uintptr_t)idmap_get(&n->per_address, key);
	}
	if (n->admitted >= n->conf->max_connections) {
		n->stats.refused_total++;
		LOG_D("NET-REFUSED", "reason=max_connections");
		return -1;
	}
	if ((int)c >= n->conf->max_connections_per_address) {
		n->stats.refused_address++;
		LOG_D("NET-REFUSED", "reason=max_connections_per_address");
		return -1;
	}
	n->admitted++;
	idmap_set(&n->per_address, key, (void *)(c + 1));
	idmap_set(&n->admit_fd, (uint64_t)fd + 1, (void *)(uintptr_t)key);
	return 0;
}

void
net_admit_bind(struct net *n, struct lws *wsi)
{
	int fd = (int)lws_get_socket_fd(wsi);
	uint64_t key = fd >= 0 ? (uint64_t)(uintptr_t)idmap_del(&n->admit_fd,
	                                                       (uint64_t)fd + 1)
	                       : 0;

	if (key != 0)
		lws_set_opaque_user_data(wsi, (void *)(uintptr_t)key);
}

void
net_admit_release(struct net *n, struct lws *wsi)
{
	uint64_t key = (uint64_t)(uintptr_t)lws_get_opaque_user_data(wsi);

	if (key == 0)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	drop(n, key);
}

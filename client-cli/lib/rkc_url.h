/*
 * rkc_url — parse the server URL the rkc client is given:
 *
 *     wss://host[:port][/path]     (https:// is accepted too, for rkc_https_get)
 *
 * host is a DNS name, an IPv4 literal or a bracketed IPv6 literal
 * ("[::1]"). The port defaults to 443. The path (query included) defaults
 * to "/". User info ("user@host") and fragments are refused, as is any
 * byte that could not be written into an HTTP request line or header as
 * is (controls, spaces), so that a parsed URL can never inject headers.
 *
 * Pure: no I/O, no allocation. Internal to client-cli/lib (rkc.c, the
 * HTTPS helper and the unit tests).
 */
#ifndef RKC_URL_H
#define RKC_URL_H

#include <stddef.h>

#define RKC_URL_HOST_MAX 256
#define RKC_URL_PATH_MAX 2048

struct rkc_url {
	char host[RKC_URL_HOST_MAX]; /* without brackets: "::1", "localhost" */
	char port[6];                /* decimal, 1..65535 */
	char path[RKC_URL_PATH_MAX]; /* starts with '/' */
	int host_is_ip;              /* 4 or 6 for a literal address, else 0 */
};

/* Parse url into *u. Returns 0, or -1 with a static reason in *err_desc
 * (if err_desc is not NULL). */
int rkc_url_parse(const char *url, struct rkc_url *u, const char **err_desc);

/* Write the value of the Host header ("localhost:8443", "[::1]:8443")
 * into out. Returns 0, or -1 if outlen is too small. */
int rkc_url_host_header(const struct rkc_url *u, char *out, size_t outlen);

#endif

/* Server URL parsing; see rkc_url.h. */
#include "rkc_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
fail(const char **err_desc, const char *why)
{
	if (err_desc != NULL)
		*err_desc = why;
	return -1;
}

/* Letters, digits, '-', '.', '_' : enough for DNS names and IPv4. */
static int
is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

int
rkc_url_parse(const char *url, struct rkc_url *u, const char **err_desc)
{
	const char *p, *host, *host_end, *port = NULL, *port_end = NULL;
	unsigned long portnum = 0;
	unsigned char addr[16];
	size_t hlen, plen;
	int bracketed = 0;

	memset(u, 0, sizeof *u);
	if (url == NULL || *url == '\0')
		return fail(err_desc, "empty URL");
	if (strncasecmp(url, "wss://", 6) == 0)
		p = url + 6;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncasecmp(url, "ws://", 5) == 0 ||
	         strncasecmp(url, "http://", 7) == 0)
		return fail(err_desc, "plain ws:// and http:// are not allowed; use wss://");
	else
		return fail(err_desc, "URL must start with wss://");

	/* authority */
	if (*p == '[') {
		bracketed = 1;
		host = p + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL)
			return fail(err_desc, "missing ']' after IPv6 address");
		p = host_end + 1;
	} else {
		host = p;
		while (*p != '\0' && *p != ':' && *p != '/' && *p != '?' &&
		       *p != '#') {
			if (*p == '@')
				return fail(err_desc, "user names in the URL are not allowed");
			if (!is_name_char(*p))
				return fail(err_desc, "invalid character in host name");
			p++;
		}
		host_end = p;
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0)
		return fail(err_desc, "missing host");
	if (hlen >= sizeof u->host)
		return fail(err_desc, "host name too long");
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';

	if (bracketed) {
		if (inet_pton(AF_INET6, u->host, addr) != 1)
			return fail(err_desc, "invalid IPv6 address");
		u->host_is_ip = 6;
	} else if (inet_pton(AF_INET, u->host, addr) == 1) {
		u->host_is_ip = 4;
	} else if (u->host[0] == '.' || u->host[0] == '-' ||
	           strstr(u->host, "..") != NULL) {
		return fail(err_desc, "invalid host name");
	}

	if (*p == ':') {
		port = ++p;
		while (*p >= '0' && *p <= '9') {
			portnum = portnum * 10 + (unsigned long)(*p - '0');
			if (portnum > 65535)
				return fail(err_desc, "port out of range");
			p++;
		}
		port_end = p;
		if (port_end == port)
			return fail(err_desc, "missing port number after ':'");
		if (portnum == 0)
			return fail(err_desc, "port out of range");
	}
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		return fail(err_desc, "unexpected character after host");
	if (port != NULL)
		snprintf(u->port, sizeof u->port, "%lu", portnum);
	else
		strcpy(u->port, "443");

	/* path and query; a fragment is never sent, so refuse it rather than
	 * silently dropping part of what the user typed */
	if (*p == '?')
		u->path[0] = '/';
	plen = strlen(u->path);
	for (; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '#')
			return fail(err_desc, "fragments (#...) are not allowed in the URL");
		if (ch <= 0x20 || ch >= 0x7f)
			return fail(err_desc, "spaces, controls and non-ASCII bytes must be percent-encoded in the path");
		if (plen + 1 >= sizeof u->path)
			return fail(err_desc, "path too long");
		u->path[plen++] = (char)ch;
	}
	if (plen == 0)
		u->path[plen++] = '/';
	u->path[plen] = '\0';
	return 0;
}

int
rkc_url_host_header(const struct rkc_url *u, char *out, size_t outlen)
{
	int n;

	if (u->host_is_ip == 6)
		n = snprintf(out, outlen, "[%s]:%s", u->host, u->port);
	else
		n = snprintf(out, outlen, "%s:%s", u->host, u->port);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

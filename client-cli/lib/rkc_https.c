/*
 * rkc_https_get: one plain HTTPS GET on its own TLS connection (health
 * checks, metrics), with the same verification as the WebSocket client.
 * "Connection: close" keeps it simple: the body is whatever Content-Length
 * says, the decoded chunks, or everything up to the end of the stream.
 */
#include "rkc.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rkc_http.h"
#include "rkc_tls.h"
#include "rkc_url.h"
#include "rkc_util.h"

#define HTTPS_DEFAULT_TIMEOUT_MS 10000

int
rkc_https_get(const struct rkc_opts *opts, const char *path, const char *headers,
              char **body, size_t *body_len, char *err, size_t errlen)
{
	char hosthdr[RKC_URL_HOST_MAX + 16];
	const char *why = "invalid URL", *p;
	struct rkc_url u;
	struct rkc_tls t;
	char *req = NULL, *buf = NULL;
	size_t reqcap, cap = 0, len = 0, boff = 0, blen = 0;
	int64_t deadline;
	int n, status = -1, timeout;
	long got;

	if (body != NULL)
		*body = NULL;
	if (body_len != NULL)
		*body_len = 0;
	rkc_tls_init(&t);
	if (opts == NULL || opts->url == NULL || path == NULL || path[0] != '/') {
		rkc_seterr(err, errlen, "need a server URL and a path starting with '/'");
		return -1;
	}
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			rkc_seterr(err, errlen, "invalid character in path");
			return -1;
		}
	if (rkc_url_parse(opts->url, &u, &why) != 0) {
		rkc_seterr(err, errlen, "invalid server URL '%s': %s", opts->url, why);
		return -1;
	}
	if (rkc_url_host_header(&u, hosthdr, sizeof hosthdr) != 0) {
		rkc_seterr(err, errlen, "host name too long");
		return -1;
	}
	timeout = opts->timeout_ms > 0 ? opts->timeout_ms : HTTPS_DEFAULT_TIMEOUT_MS;
	deadline = rkc_deadline(timeout);
	if (rkc_tls_connect(&t, &u, opts->ca_file, opts->tls_max_version,
	                    opts->source_addr, opts->cert_file, opts->key_file, deadline, err,
	                    errlen) != 0)
		return -1;

	if (headers == NULL)
		headers = "";
	reqcap = strlen(path) + strlen(headers) + strlen(hosthdr) + 128;
	req = rkc_xmalloc(reqcap);
	n = snprintf(req, reqcap,
	             "GET %s HTTP/1.1\r\n"
	             "Host: %s\r\n"
	             "User-Agent: renkei-rkc/1\r\n"
	             "Accept: */*\r\n"
	             "Connection: close\r\n"
	             "%s"
	             "\r\n",
	             path, hosthdr, headers);
	if (n < 0 || (size_t)n >= reqcap) {
		rkc_seterr(err, errlen, "cannot format the request");
		goto out;
	}
	if (rkc_tls_write(&t, req, (size_t)n, deadline, err, errlen) != 0)
		goto out;

	/* a fresh deadline for the answer, so that a slow handshake does not
	 * eat the server's time to respond */
	deadline = rkc_deadline(timeout);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = rkc_xrealloc(buf, cap + 1);
		}
		got = rkc_tls_read(&t, buf + len, cap - len, deadline, err, errlen);
		if (got == RKC_IO_EOF)
			break;
		if (got == RKC_IO_TIMEOUT) {
			rkc_seterr(err, errlen, "timed out waiting for the HTTP response");
			goto out;
		}
		if (got < 0)
			goto out;
		len += (size_t)got;
		if (len > RKC_HTTP_MAX_RESPONSE) {
			rkc_seterr(err, errlen, "HTTP response larger than 64 MiB");
			goto out;
		}
		if (rkc_http_complete(buf, len))
			break;
	}
	status = rkc_http_response(buf, len, &boff, &blen, err, errlen);
	if (status < 0)
		goto out;
	if (body != NULL) {
		*body = rkc_xmalloc(blen + 1);
		memcpy(*body, buf + boff, blen);
		(*body)[blen] = '\0';
	}
	if (body_len != NULL)
		*body_len = blen;

out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap + 1);
		free(buf);
	}
	if (req != NULL) {
		OPENSSL_cleanse(req, reqcap);
		free(req);
	}
	rkc_tls_close(&t, 1);
	return status;
}

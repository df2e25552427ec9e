/* Minimal HTTP/1.1 response parsing for the rkc client; see rkc_http.h. */
#include "rkc_http.h"

#include <string.h>
#include <strings.h>

#include "rkc_util.h"

size_t
rkc_http_head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return i + 4;
	return 0;
}

int
rkc_http_status(const char *head, size_t len)
{
	int status = 0, i;

	/* "HTTP/1.1 101 Switching Protocols" */
	if (len < 12 || strncmp(head, "HTTP/1.", 7) != 0 ||
	    (head[7] != '0' && head[7] != '1') || head[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return -1;
		status = status * 10 + (head[i] - '0');
	}
	if (len > 12 && head[12] != ' ' && head[12] != '\r')
		return -1;
	return status;
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int
rkc_http_header(const char *head, size_t len, const char *name, char *out,
                size_t outlen)
{
	size_t nlen = strlen(name), pos = 0, eol, vs, ve;

	/* skip the status line */
	while (pos + 1 < len && !(head[pos] == '\r' && head[pos + 1] == '\n'))
		pos++;
	pos += 2;
	while (pos + 1 < len) {
		eol = pos;
		while (eol + 1 < len && !(head[eol] == '\r' && head[eol + 1] == '\n'))
			eol++;
		if (eol + 1 >= len || eol == pos)
			break; /* cut short, or the blank line ending the head */
		if (eol - pos > nlen && head[pos + nlen] == ':' &&
		    strncasecmp(head + pos, name, nlen) == 0) {
			vs = pos + nlen + 1;
			ve = eol;
			while (vs < ve && is_blank(head[vs]))
				vs++;
			while (ve > vs && is_blank(head[ve - 1]))
				ve--;
			/* A NUL would cut the C string short of the value
			 * ("accept-key\0junk" would pass for "accept-key"). */
			if (ve - vs + 1 > outlen || memchr(head + vs, '\0', ve - vs) != NULL)
				return -1;
			memcpy(out, head + vs, ve - vs);
			out[ve - vs] = '\0';
			return 1;
		}
		pos = eol + 2;
	}
	return 0;
}

int
rkc_http_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = value, *end;

	while (*p != '\0') {
		while (*p == ',' || is_blank(*p))
			p++;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		/* trim the element's trailing blanks */
		while (end > p && is_blank(end[-1]))
			end--;
		if ((size_t)(end - p) == tlen && strncasecmp(p, token, tlen) == 0)
			return 1;
		while (*end != '\0' && *end != ',')
			end++;
		p = end;
	}
	return 0;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
bad(const char **err_desc, const char *why)
{
	if (err_desc != NULL)
		*err_desc = why;
	return -1;
}

int
rkc_http_dechunk(char *buf, size_t len, size_t *out_len, const char **err_desc)
{
	size_t in = 0, out = 0, size;
	int digits, v;

	for (;;) {
		size = 0;
		digits = 0;
		while (in < len && (v = hexval(buf[in])) >= 0) {
			if (size > (((size_t)-1) >> 4))
				return bad(err_desc, "chunk size too large");
			size = (size << 4) | (size_t)v;
			in++;
			digits++;
		}
		if (digits == 0)
			return bad(err_desc, in < len ? "invalid chunk size" : "body cut short");
		/* skip chunk extensions up to the line end */
		while (in < len && buf[in] != '\r')
			in++;
		if (in + 1 >= len || buf[in + 1] != '\n')
			return bad(err_desc, "body cut short");
		in += 2;
		if (size == 0)
			break; /* last chunk; trailers (if any) are ignored */
		if (size > len - in || len - in - size < 2)
			return bad(err_desc, "body cut short");
		memmove(buf + out, buf + in, size);
		out += size;
		in += size;
		if (buf[in] != '\r' || buf[in + 1] != '\n')
			return bad(err_desc, "missing CRLF after chunk data");
		in += 2;
	}
	*out_len = out;
	return 0;
}

/* Parse a Content-Length value strictly (digits only). */
static int
parse_length(const char *s, size_t *out)
{
	size_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (RKC_HTTP_MAX_RESPONSE / 10))
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
rkc_http_complete(const char *buf, size_t len)
{
	size_t head_len = rkc_http_head_end(buf, len), cl;
	char val[64];

	if (head_len == 0)
		return 0;
	if (rkc_http_header(buf, head_len, "Transfer-Encoding", val, sizeof val) != 0)
		return 0;
	if (rkc_http_header(buf, head_len, "Content-Length", val, sizeof val) != 1 ||
	    parse_length(val, &cl) != 0)
		return 0;
	return len - head_len >= cl;
}

int
rkc_http_response(char *buf, size_t len, size_t *body_off, size_t *body_len,
                  char *err, size_t errlen)
{
	const char *why = "malformed";
	char val[256];
	size_t head_len, blen, cl;
	int status, te, cl_found;

	if (buf == NULL || (head_len = rkc_http_head_end(buf, len)) == 0) {
		rkc_seterr(err, errlen, "incomplete HTTP response");
		return -1;
	}
	status = rkc_http_status(buf, head_len);
	if (status < 0) {
		rkc_seterr(err, errlen, "not an HTTP response");
		return -1;
	}
	blen = len - head_len;
	/* A header that is there but unusable (too long, a NUL) leaves val
	 * unset: the response is refused, never read by what val held. */
	te = rkc_http_header(buf, head_len, "Transfer-Encoding", val, sizeof val);
	cl_found = te == 0 ? rkc_http_header(buf, head_len, "Content-Length", val, sizeof val) : 0;
	if (te < 0 || cl_found < 0) {
		rkc_seterr(err, errlen, "bad %s in the HTTP response",
		           te < 0 ? "Transfer-Encoding" : "Content-Length");
		return -1;
	}
	if (te == 1) {
		if (!rkc_http_has_token(val, "chunked") ||
		    rkc_http_dechunk(buf + head_len, blen, &blen, &why) != 0) {
			rkc_seterr(err, errlen, "bad chunked HTTP body: %s",
			           rkc_http_has_token(val, "chunked") ? why : "unsupported encoding");
			return -1;
		}
	} else if (cl_found == 1) {
		if (parse_length(val, &cl) != 0) {
			rkc_seterr(err, errlen, "bad Content-Length in the HTTP response");
			return -1;
		}
		if (blen < cl) {
			rkc_seterr(err, errlen, "HTTP response cut short");
			return -1;
		}
		blen = cl;
	}
	*body_off = head_len;
	*body_len = blen;
	return status;
}

int
rkc_http_upgrade_check(const char *head, size_t head_len, const char *accept,
                       const char *subprotocol, char *err, size_t errlen)
{
	char val[256];
	int status, found;

	status = rkc_http_status(head, head_len);
	if (status < 0) {
		rkc_seterr(err, errlen, "the server's answer to the WebSocket upgrade is not HTTP");
		return -1;
	}
	if (status != 101) {
		rkc_seterr(err, errlen, "the server refused the WebSocket upgrade: HTTP %d", status);
		return -1;
	}
	if (rkc_http_header(head, head_len, "Upgrade", val, sizeof val) != 1 ||
	    !rkc_http_has_token(val, "websocket")) {
		rkc_seterr(err, errlen, "WebSocket upgrade: missing 'Upgrade: websocket'");
		return -1;
	}
	if (rkc_http_header(head, head_len, "Connection", val, sizeof val) != 1 ||
	    !rkc_http_has_token(val, "upgrade")) {
		rkc_seterr(err, errlen, "WebSocket upgrade: missing 'Connection: Upgrade'");
		return -1;
	}
	if (rkc_http_header(head, head_len, "Sec-WebSocket-Accept", val, sizeof val) != 1 ||
	    strcmp(val, accept) != 0) {
		rkc_seterr(err, errlen, "WebSocket upgrade: wrong or missing Sec-WebSocket-Accept");
		return -1;
	}
	found = rkc_http_header(head, head_len, "Sec-WebSocket-Protocol", val, sizeof val);
	if (subprotocol != NULL && (found != 1 || strcmp(val, subprotocol) != 0)) {
		rkc_seterr(err, errlen, "the server did not accept subprotocol %s", subprotocol);
		return -1;
	}
	if (subprotocol == NULL && found != 0) {
		rkc_seterr(err, errlen, "the server chose a subprotocol that was not offered");
		return -1;
	}
	if (rkc_http_header(head, head_len, "Sec-WebSocket-Extensions", val, sizeof val) != 0) {
		rkc_seterr(err, errlen, "the server chose a WebSocket extension that was not offered");
		return -1;
	}
	return 0;
}

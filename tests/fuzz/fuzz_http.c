/*
 * Fuzz target: the server's own handling of an HTTPS request: which
 * answer a method, path and peer get (net_http_route: 405, /healthz,
 * /metrics or forbidden, or api), what api makes of the rest
 * (api_http_parse: /attachments/ID, ?thumb=1, "Authorization: Bearer
 * TOKEN"), and the extra header lines api hands back with its answers
 * (net_http_extra_next). libwebsockets parses the request itself; that
 * is not ours to fuzz, and needs a socket.
 *
 * Input: an HTTP/1.1 request as a client sends it. The harness splits it
 * as lws would hand it over: the method, the path (percent-decoded, up
 * to '?'), the query string, the Authorization header (each "" when
 * longer than the server's 512-byte buffers), and the peer address, taken
 * from a header "x-peer:" (the socket's, which a request cannot carry)
 * or 192.0.2.7. Every request is routed under each metrics_access
 * (loopback, any, off). The whole input is also read as api's extra
 * header lines.
 *
 * Invariants:
 *  - only GET and HEAD are served; /healthz and /metrics are themselves;
 *    /metrics is never served with metrics_access off, always with any,
 *    and with loopback exactly to 127.0.0.0/8 and ::1;
 *  - api serves only /attachments/N with N > 0, and only to a bearer
 *    token of exactly AUTH_TOKEN_LEN bytes, which it copies whole;
 *  - an extra header's name is lowercase and ends in ':', its value
 *    lies within its line;
 *  - "/", "/app" and everything under "/app/" go to the web client
 *    (webapp_path), nothing else does; a name it would look up is
 *    exactly the path after "/app/" (or index.html for "/app/"), flat
 *    ([A-Za-z0-9._-], no '/', not starting with '.', so never ".."),
 *    shorter than WEBAPP_NAME_MAX and of a known type;
 *  - a Host header named in the CSP holds no byte that could end the
 *    header or the directive (no space, ';', ',', quote or control).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "fuzz.h"
#include "net/internal.h"
#include "net/webapp.h"
#include "util/conf.h"

static struct conf confs[3];
static const char *const modes[3] = {"loopback", "any", "off"};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[128];

	(void)argc, (void)argv;
	fuzz_keep_stderr();
	for (int i = 0; i < 3; i++) {
		conf_init(&confs[i]);
		CHECK(conf_set(&confs[i], "metrics_access", modes[i], err,
		               sizeof(err)) == 0);
	}
	return 0;
}

/* The value of header `name` in the request's header lines, or NULL. */
static const char *
header(const char *req, const char *name, size_t *len)
{
	size_t n = strlen(name);
	const char *line = strchr(req, '\n');

	while (line != NULL && line[1] != '\0') {
		const char *eol;
		line++;
		eol = strchr(line, '\n');
		if (eol == NULL)
			eol = line + strlen(line);
		if ((size_t)(eol - line) > n && strncasecmp(line, name, n) == 0 &&
		    line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			*len = (size_t)(eol - v);
			if (*len > 0 && v[*len - 1] == '\r')
				(*len)--;
			return v;
		}
		line = *eol != '\0' ? eol : NULL;
	}
	return NULL;
}

/* Copy at most cap - 1 bytes, as lws_hdr_copy: too long gives "". */
static void
copy_capped(char *out, size_t cap, const char *s, size_t n)
{
	if (s == NULL || n >= cap)
		n = 0;
	memcpy(out, s ? s : "", n);
	out[n] = '\0';
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

static void
check_extra(const char *text)
{
	const char *cur = text, *val;
	char name[NET_HTTP_NAME_MAX];
	size_t vlen;
	int n = 0;

	while (net_http_extra_next(&cur, name, &val, &vlen)) {
		size_t l = strlen(name);
		CHECK(l >= 1 && l < NET_HTTP_NAME_MAX && name[l - 1] == ':');
		for (size_t i = 0; i < l; i++)
			CHECK(!(name[i] >= 'A' && name[i] <= 'Z') && name[i] != '\n');
		CHECK(val >= text && val + vlen <= text + strlen(text));
		CHECK(memchr(val, '\n', vlen) == NULL);
		CHECK(++n <= 100000);
	}
	CHECK(*cur == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *req = fuzz_cstr(data, size);
	char method[16], path[1024], query[512], auth[512], peer[64];
	const char *sp1, *sp2, *eol, *q, *v;
	size_t n, vlen = 0;
	bool get, head;

	check_extra(req);

	/* The request line. */
	eol = strchr(req, '\n');
	n = eol ? (size_t)(eol - req) : strlen(req);
	sp1 = memchr(req, ' ', n);
	if (sp1 == NULL || (size_t)(sp1 - req) >= sizeof(method))
		goto out;
	memcpy(method, req, (size_t)(sp1 - req));
	method[sp1 - req] = '\0';
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - req));
	if (sp2 == NULL)
		sp2 = req + n;
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	/* The path, percent-decoded; what lws hands over is a C string. */
	n = 0;
	for (const char *p = sp1 + 1; p < (q ? q : sp2) && n < sizeof(path) - 1; p++) {
		if (*p == '%' && p + 2 < sp2 && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			path[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			path[n++] = *p;
		}
	}
	path[n] = '\0';
	copy_capped(query, sizeof(query), q ? q + 1 : "",
	            q ? (size_t)(sp2 - q - 1) : 0);
	v = header(req, "authorization", &vlen);
	copy_capped(auth, sizeof(auth), v, vlen);
	v = header(req, "x-peer", &vlen);
	if (v != NULL)
		copy_capped(peer, sizeof(peer), v, vlen);
	else
		strcpy(peer, "192.0.2.7");
	/* The web client's paths. */
	{
		char name[WEBAPP_NAME_MAX];
		enum webapp_path w = webapp_path(path, name);
		bool mine = strcmp(path, "/") == 0 || strcmp(path, "/app") == 0 ||
		            strncmp(path, "/app/", 5) == 0;
		CHECK((w != WEBAPP_NOT_MINE) == mine);
		CHECK((w == WEBAPP_REDIRECT) ==
		      (strcmp(path, "/") == 0 || strcmp(path, "/app") == 0));
		if (w == WEBAPP_FILE) {
			size_t l = strlen(name);
			CHECK(l > 0 && l < WEBAPP_NAME_MAX && name[0] != '.');
			CHECK(strchr(name, '/') == NULL); /* flat: ".." cannot climb */
			for (size_t i = 0; i < l; i++)
				CHECK(isalnum((unsigned char)name[i]) || name[i] == '.' ||
				      name[i] == '_' || name[i] == '-');
			CHECK(webapp_ctype(name) != NULL);
			CHECK(strcmp(path, "/app/") == 0 ? strcmp(name, "index.html") == 0
			                                 : strcmp(path + 5, name) == 0);
		}
		v = header(req, "host", &vlen);
		if (v != NULL) {
			char host[NET_HTTP_HOST_MAX + 8];
			copy_capped(host, sizeof(host), v, vlen);
			if (net_http_host_ok(host)) {
				CHECK(strlen(host) < NET_HTTP_HOST_MAX);
				CHECK(strpbrk(host, " ;,'\"\r\n\t\\") == NULL);
				for (const char *c = host; *c; c++)
					CHECK(*c > 0x20 && *c < 0x7f);
			}
		}
	}
	get = strcmp(method, "GET") == 0;
	head = strcmp(method, "HEAD") == 0;

	for (int i = 0; i < 3; i++) {
		enum net_http_route r = net_http_route(&confs[i], get, head, path, peer);
		bool local = strncmp(peer, "127.", 4) == 0 || strcmp(peer, "::1") == 0 ||
		             strncmp(peer, "::ffff:127.", 11) == 0;

		if (!get && !head) {
			CHECK(r == NET_HTTP_NOT_ALLOWED);
			continue;
		}
		CHECK(r != NET_HTTP_NOT_ALLOWED);
		CHECK((r == NET_HTTP_HEALTHZ) == (strcmp(path, "/healthz") == 0));
		if (strcmp(path, "/metrics") == 0) {
			bool served = i == 1 || (i == 0 && local);
			CHECK(r == (served ? NET_HTTP_METRICS : NET_HTTP_FORBIDDEN));
		} else {
			CHECK(r != NET_HTTP_METRICS && r != NET_HTTP_FORBIDDEN);
		}
		if (r == NET_HTTP_API && i == 0) {
			struct api_http_target t;
			int st = api_http_parse(path, query, auth, &t);
			CHECK(st == 0 || st == 404 || st == 401);
			if (st == 0) {
				CHECK(strncmp(path, "/attachments/", 13) == 0 && t.id > 0);
				CHECK(strncmp(auth, "Bearer ", 7) == 0);
				CHECK(strlen(t.token) == AUTH_TOKEN_LEN);
				CHECK(strcmp(t.token, auth + 7) == 0);
				CHECK(t.thumbnail == (strstr(query, "thumb=1") != NULL));
			} else if (st == 401) {
				CHECK(strncmp(auth, "Bearer ", 7) != 0 ||
				      strlen(auth) != 7 + AUTH_TOKEN_LEN);
			}
		}
	}
out:
	free(req);
	return 0;
}

/*
 * 67-webapp: the web client's files under /app/ (server/net/webapp.h):
 * what is served, with which headers (CSP with no inline script and no
 * other origin, HSTS, nosniff, referrer policy, caching by content hash),
 * and what is refused (paths out of the folder, names it does not hold,
 * (lws itself folds "//" and resolves "/./" and "/../" in the path
 * before we see it: what it hands over is then checked as a flat name),
 * dot files, links, huge paths, methods other than GET and HEAD).
 *
 * The folder is made here (web_dir), so the test does not depend on the
 * bundle being built; web/test/e2e.mjs drives the real bundle.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"

static char webdir[256];

static void
put(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", webdir, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char link[400];
	const char *args[] = {"--web-dir", webdir, NULL};

	snprintf(webdir, sizeof(webdir), "%s/rk-web-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(webdir) == NULL)
		return -1;
	put("index.html", "<!doctype html><title>renkei</title>"
	                  "<script src=\"app-5XQ7ZK2B.js\"></script>\n");
	put("app-5XQ7ZK2B.js", "console.log('renkei');\n");
	put("sw.js", "self.addEventListener('fetch', () => {});\n");
	put("manifest.webmanifest", "{\"name\":\"renkei\"}\n");
	put(".secret.js", "dot files are never served\n");
	put("notes.exe", "unknown types are never served\n");
	snprintf(link, sizeof(link), "%s/passwd.txt", webdir);
	if (symlink("/etc/passwd", link) != 0)
		return -1;
	*state = h_server_up(args);
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	const char *names[] = {"index.html", "app-5XQ7ZK2B.js", "sw.js",
	                       "manifest.webmanifest", ".secret.js", "notes.exe",
	                       "passwd.txt"};
	char path[400];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", webdir, names[i]);
		unlink(path);
	}
	rmdir(webdir);
	return h_server_free(*state);
}

static void
lowercase(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

/* The value of header name (lowercase, with ':') in a lowercased head. */
static void
header(const char *head, const char *name, char *out, size_t cap)
{
	const char *p = strstr(head, name);
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	while (p[n] != '\r' && p[n] != '\n' && p[n] != '\0' && n + 1 < cap)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* GET (or another method) path with a Host header; the head, lowercased,
 * in head; returns the status. */
static int
ask(struct h_server *s, const char *method, const char *path, char *head,
    size_t cap)
{
	char *req = malloc(strlen(path) + 256);
	int status = -1, closed;

	sprintf(req,
	        "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
	        method, path, s->port);
	if (h_tls_exchange_eof(s, req, head, cap, 5000, &closed) > 0) {
		lowercase(head);
		if (strncmp(head, "http/1.1 ", 9) == 0)
			status = atoi(head + 9);
	}
	free(req);
	return status;
}

static void
test_index_headers(void **state)
{
	struct h_server *s = *state;
	char head[8192], v[1024], want[128];

	assert_int_equal(ask(s, "GET", "/app/", head, sizeof(head)), 200);
	header(head, "content-type:", v, sizeof(v));
	assert_string_equal(v, "text/html; charset=utf-8");
	header(head, "cache-control:", v, sizeof(v));
	assert_string_equal(v, "no-cache");
	assert_int_equal(count(head, "content-security-policy:"), 1);
	header(head, "content-security-policy:", v, sizeof(v));
	assert_non_null(strstr(v, "default-src 'self'"));
	assert_non_null(strstr(v, "script-src 'self';"));
	assert_non_null(strstr(v, "frame-ancestors 'none'"));
	assert_non_null(strstr(v, "object-src 'none'"));
	/* No inline script, no eval, no other origin anywhere. */
	assert_null(strstr(v, "unsafe"));
	assert_null(strstr(v, "*"));
	assert_null(strstr(v, "http:"));
	assert_null(strstr(v, "https:"));
	assert_null(strstr(v, "ws:"));
	snprintf(want, sizeof(want), "connect-src 'self' wss://127.0.0.1:%d;",
	         s->port);
	assert_non_null(strstr(v, want));
	header(head, "strict-transport-security:", v, sizeof(v));
	assert_string_equal(v, "max-age=31536000");
	header(head, "x-content-type-options:", v, sizeof(v));
	assert_string_equal(v, "nosniff");
	header(head, "referrer-policy:", v, sizeof(v));
	assert_string_equal(v, "no-referrer");
	header(head, "x-frame-options:", v, sizeof(v));
	assert_string_equal(v, "deny");
	assert_int_equal(count(head, "x-content-type-options:"), 1);
	assert_int_equal(count(head, "strict-transport-security:"), 1);
	assert_non_null(strstr(head, "\r\n\r\n<!doctype html>"));
}

static void
test_hashed_cached_long(void **state)
{
	struct h_server *s = *state;
	char head[8192], v[256];

	assert_int_equal(ask(s, "GET", "/app/app-5XQ7ZK2B.js", head, sizeof(head)),
	                 200);
	header(head, "content-type:", v, sizeof(v));
	assert_string_equal(v, "text/javascript; charset=utf-8");
	header(head, "cache-control:", v, sizeof(v));
	assert_string_equal(v, "public, max-age=31536000, immutable");
	assert_non_null(strstr(head, "content-security-policy:"));
	/* Not hashed: revalidated every time, so a new build is seen. */
	assert_int_equal(ask(s, "GET", "/app/sw.js", head, sizeof(head)), 200);
	header(head, "cache-control:", v, sizeof(v));
	assert_string_equal(v, "no-cache");
	assert_int_equal(ask(s, "GET", "/app/manifest.webmanifest", head,
	                     sizeof(head)), 200);
	header(head, "content-type:", v, sizeof(v));
	assert_string_equal(v, "application/manifest+json");
	/* HEAD: the same head, no body. */
	assert_int_equal(ask(s, "HEAD", "/app/", head, sizeof(head)), 200);
	assert_null(strstr(head, "<!doctype"));
	assert_non_null(strstr(head, "content-security-policy:"));
}

static void
test_redirect(void **state)
{
	struct h_server *s = *state;
	char head[8192], v[256];

	assert_int_equal(ask(s, "GET", "/", head, sizeof(head)), 302);
	header(head, "location:", v, sizeof(v));
	assert_string_equal(v, "/app/");
	assert_int_equal(ask(s, "GET", "/app", head, sizeof(head)), 302);
}

static void
test_refused(void **state)
{
	struct h_server *s = *state;
	char head[8192], *huge;
	const char *paths[] = {
		"/app/../care.db",        "/app/%2e%2e/care.db",
		"/app/..%2fcare.db",      "/app/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/app/.secret.js",        "/app/passwd.txt", /* a link */
		"/app/notes.exe",         "/app/missing.js",
		"/app/sub/index.html",    "/app/sub/../../care.db",
		"/app/index.html%00.js",  "/app/index.html/",
		"/app/%69ndex.html%20",   "/appindex.html",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int st = ask(s, "GET", paths[i], head, sizeof(head));
		if (st == 200)
			fail_msg("%s was served", paths[i]);
		/* -1: lws closed the connection unanswered (a NUL in the path) */
		if (st != 404 && st != 400 && st != 403 && st != -1)
			fail_msg("%s: %d", paths[i], st);
		assert_null(strstr(head, "root:"));
	}
	/* Methods other than GET and HEAD. */
	assert_int_equal(ask(s, "POST", "/app/", head, sizeof(head)), 405);
	assert_int_equal(ask(s, "PUT", "/app/index.html", head, sizeof(head)), 405);
	assert_int_equal(ask(s, "DELETE", "/app/index.html", head, sizeof(head)),
	                 405);
	/* A huge path: refused (by lws or by us), and the server lives on. */
	huge = malloc(20000);
	strcpy(huge, "/app/");
	memset(huge + 5, 'a', 19000);
	strcpy(huge + 19005, ".js");
	assert_int_not_equal(ask(s, "GET", huge, head, sizeof(head)), 200);
	memset(huge + 5, 'b', 200);
	strcpy(huge + 205, ".js");
	assert_int_equal(ask(s, "GET", huge, head, sizeof(head)), 404);
	free(huge);
	assert_int_equal(ask(s, "GET", "/app/", head, sizeof(head)), 200);
	/* Nothing of the refused ones was read into memory at start. */
	assert_int_equal(h_server_log_has(s, "WEBAPP-LOADED"), 1);
	assert_int_equal(h_server_log_has(s, "files=4 "), 1);
}

/* A Host header that would add a CSP source is not named in it. */
static void
test_host_not_reflected(void **state)
{
	struct h_server *s = *state;
	char head[8192], v[1024];
	const char *req = "GET /app/ HTTP/1.1\r\nHost: x; script-src *\r\n"
	                  "Connection: close\r\n\r\n";

	assert_true(h_tls_exchange(s, req, head, sizeof(head), 5000) > 0);
	lowercase(head);
	header(head, "content-security-policy:", v, sizeof(v));
	assert_non_null(strstr(v, "connect-src 'self'; worker-src"));
	assert_null(strstr(v, "*"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_headers),
	    cmocka_unit_test(test_hashed_cached_long),
	    cmocka_unit_test(test_redirect),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_host_not_reflected),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

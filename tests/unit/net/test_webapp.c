/* Unit tests: net/webapp — which request paths name a file of the web
 * client, which names count as content-hashed, which types are served,
 * and what webapp_load takes from a folder (regular files with served
 * names only: no dot files, links, sub-folders, unknown types or files
 * over WEBAPP_FILE_MAX). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/webapp.h"
#include "util/conf.h"

static void
test_path(void **state)
{
	char name[WEBAPP_NAME_MAX], big[400];

	(void)state;
	assert_int_equal(webapp_path("/", name), WEBAPP_REDIRECT);
	assert_int_equal(webapp_path("/app", name), WEBAPP_REDIRECT);
	assert_int_equal(webapp_path("/app/", name), WEBAPP_FILE);
	assert_string_equal(name, "index.html");
	assert_int_equal(webapp_path("/app/app-5XQ7ZK2B.js", name), WEBAPP_FILE);
	assert_string_equal(name, "app-5XQ7ZK2B.js");
	assert_int_equal(webapp_path("/healthz", name), WEBAPP_NOT_MINE);
	assert_int_equal(webapp_path("/attachments/1", name), WEBAPP_NOT_MINE);
	assert_int_equal(webapp_path("/apps", name), WEBAPP_NOT_MINE);
	assert_int_equal(webapp_path("/app/../care.db", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/..", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/.hidden.js", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/a/b.js", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/a b.js", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/a.exe", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/noext", name), WEBAPP_BAD);
	assert_int_equal(webapp_path("/app/%2e%2e.js", name), WEBAPP_BAD);
	/* The longest name taken, and one byte more. */
	strcpy(big, "/app/");
	memset(big + 5, 'a', WEBAPP_NAME_MAX - 1 - 3);
	strcpy(big + 5 + WEBAPP_NAME_MAX - 1 - 3, ".js");
	assert_int_equal(webapp_path(big, name), WEBAPP_FILE);
	assert_int_equal(strlen(name), WEBAPP_NAME_MAX - 1);
	memset(big + 5, 'a', WEBAPP_NAME_MAX - 3);
	strcpy(big + 5 + WEBAPP_NAME_MAX - 3, ".js");
	assert_int_equal(webapp_path(big, name), WEBAPP_BAD);
}

static void
test_hashed_and_types(void **state)
{
	(void)state;
	assert_true(webapp_name_hashed("app-5XQ7ZK2B.js"));
	assert_true(webapp_name_hashed("style-NE7XL2IW.css"));
	assert_true(webapp_name_hashed("chunk-ABCDEFGHIJ.js"));
	assert_false(webapp_name_hashed("index.html"));
	assert_false(webapp_name_hashed("sw.js"));
	assert_false(webapp_name_hashed("icon-192.png"));   /* 3 characters */
	assert_false(webapp_name_hashed("app-5xq7zk2b.js")); /* lower case */
	assert_false(webapp_name_hashed("app-5XQ7ZK2B"));    /* no '.' after */
	assert_string_equal(webapp_ctype("index.html"), "text/html; charset=utf-8");
	assert_string_equal(webapp_ctype("a.js"), "text/javascript; charset=utf-8");
	assert_string_equal(webapp_ctype("manifest.webmanifest"),
	                    "application/manifest+json");
	assert_string_equal(webapp_ctype("i.png"), "image/png");
	assert_null(webapp_ctype("a.exe"));
	assert_null(webapp_ctype("a.HTML"));
	assert_null(webapp_ctype(".js"));
	assert_null(webapp_ctype("js"));
}

static void
put(const char *dir, const char *name, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < len; i++)
		fputc('x', f);
	fclose(f);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/rk-webapp-XXXXXX", path[512], cmd[600];
	struct conf c;
	struct webapp w;
	const struct webapp_file *f;
	char err[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	put(dir, "index.html", 10);
	put(dir, "app-5XQ7ZK2B.js", 20);
	put(dir, ".env.js", 5);
	put(dir, "notes.exe", 5);
	put(dir, "big.js", WEBAPP_FILE_MAX + 1);
	snprintf(path, sizeof(path), "%s/sub.js", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/passwd.txt", dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);

	conf_init(&c);
	assert_int_equal(conf_set(&c, "web_dir", dir, err, sizeof(err)), 0);
	assert_int_equal(webapp_load(&w, &c), 2);
	f = webapp_find(&w, "index.html");
	assert_non_null(f);
	assert_int_equal(f->len, 10);
	assert_false(f->immutable);
	f = webapp_find(&w, "app-5XQ7ZK2B.js");
	assert_non_null(f);
	assert_true(f->immutable);
	assert_string_equal(f->ctype, "text/javascript; charset=utf-8");
	assert_null(webapp_find(&w, ".env.js"));
	assert_null(webapp_find(&w, "passwd.txt"));
	assert_null(webapp_find(&w, "big.js"));
	assert_null(webapp_find(&w, "sub.js"));
	webapp_fini(&w);

	/* off: nothing, whatever the folder holds; a missing folder: nothing. */
	assert_int_equal(conf_set(&c, "web_dir", "off", err, sizeof(err)), 0);
	assert_int_equal(webapp_load(&w, &c), 0);
	webapp_fini(&w);
	assert_int_equal(conf_set(&c, "web_dir", "/nonexistent/web", err, sizeof(err)), 0);
	assert_int_equal(webapp_load(&w, &c), 0);
	assert_null(webapp_find(&w, "index.html"));
	webapp_fini(&w);
	conf_fini(&c);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path),
	    cmocka_unit_test(test_hashed_and_types),
	    cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

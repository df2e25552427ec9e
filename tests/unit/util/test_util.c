/* Unit tests: util/ (errors, UTF-8, hex, idmap, settings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renkei.pb-c.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/idmap.h"
#include "util/text.h"

static void
test_every_error_has_a_string(void **state)
{
	(void)state;
	for (int e = 0; e < RK_ERR__COUNT; e++) {
		const char *s = rk_strerror(e);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
	}
	assert_string_equal(rk_strerror(RK_ERR__COUNT), "unknown error");
	assert_string_equal(rk_strerror(-1), "unknown error");
	/* One mapping to wire codes, and the wire enum agrees with it. */
	assert_string_equal(rk_err_grpc_name(RK_OK), "OK");
	assert_string_equal(rk_err_grpc_name(RK_ERR_DENIED), "PERMISSION_DENIED");
	assert_int_equal(rk_err_grpc_code(RK_ERR_DENIED), RENKEI__V1__CODE__PERMISSION_DENIED);
	assert_int_equal(rk_err_grpc_code(RK_ERR_UNAUTHENTICATED), RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(rk_err_grpc_code(RK_ERR_EXHAUSTED), RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
	assert_int_equal(rk_err_grpc_code(RK_ERR_PRECONDITION), RENKEI__V1__CODE__FAILED_PRECONDITION);
	for (int e = 1; e < RK_ERR__COUNT; e++)
		assert_int_not_equal(rk_err_grpc_code(e), 0);
}

static void
test_utf8(void **state)
{
	(void)state;
	const char *good[] = {"", "abc", "山田 太郎", "line\nnext\ttab", "\xf0\x9f\x98\x80"};
	const char *bad[] = {"\xc3\x28", "\xa0\xa1", "\xe2\x28\xa1", "\xf0\x28\x8c\xbc",
	                     "\xc0\xaf" /* overlong */, "\xed\xa0\x80" /* surrogate */,
	                     "\xf4\x90\x80\x80" /* > U+10FFFF */, "\x01", "\xe6\x97"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(rk_utf8_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(rk_utf8_valid(bad[i], strlen(bad[i])));
	assert_false(rk_utf8_valid("a\0b", 3));
	assert_int_equal(rk_utf8_len("山田", strlen("山田")), 2);
}

/* A reason is measured without its white space. */
static void
test_visible_len(void **state)
{
	(void)state;
	assert_int_equal(rk_text_visible_len("", 0), 0);
	assert_int_equal(rk_text_visible_len("          ", 10), 0);
	assert_int_equal(rk_text_visible_len(" \t\r\n", 4), 0);
	assert_int_equal(rk_text_visible_len("\xe3\x80\x80\xc2\xa0", 5), 0);
	assert_int_equal(rk_text_visible_len("a b", 3), 2);
	assert_int_equal(rk_text_visible_len("急変\xe3\x80\x80のため", 18), 5);
	/* Other characters that start with the same bytes count. */
	assert_int_equal(rk_text_visible_len("\xe3\x80\x81", 3), 1); /* 、 */
	assert_int_equal(rk_text_visible_len("\xc2\xa9", 2), 1);     /* © */
}

static void
test_hex(void **state)
{
	uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
	char hex[9];
	(void)state;
	rk_hex_encode(in, 4, hex);
	assert_string_equal(hex, "00ab7fff");
	assert_int_equal(rk_hex_decode("00AB7fff", 8, out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(rk_hex_decode("00ab7ff", 7, out, 4), -1);
	assert_int_equal(rk_hex_decode("00ab7ffg", 8, out, 4), -1);
}

static void
test_idmap(void **state)
{
	struct idmap m;
	(void)state;
	idmap_init(&m);
	for (uint64_t i = 1; i <= 5000; i++)
		idmap_set(&m, i * 7919, (void *)(uintptr_t)i);
	assert_int_equal(m.im_count, 5000);
	for (uint64_t i = 1; i <= 5000; i++)
		assert_int_equal((uintptr_t)idmap_get(&m, i * 7919), i);
	/* Delete every other one; the rest must still be found (backward
	 * shift keeps probe runs whole). */
	for (uint64_t i = 1; i <= 5000; i += 2)
		assert_int_equal((uintptr_t)idmap_del(&m, i * 7919), i);
	for (uint64_t i = 1; i <= 5000; i++)
		assert_int_equal((uintptr_t)idmap_get(&m, i * 7919), i % 2 ? 0 : i);
	assert_null(idmap_del(&m, 12345678));
	assert_null(idmap_get(&m, 0));
	size_t pos = 0, seen = 0;
	uint64_t id;
	void *v;
	while (idmap_next(&m, &pos, &id, &v))
		seen++;
	assert_int_equal(seen, 2500);
	idmap_fini(&m);
}

/* OWASP's floor for argon2id password hashes: refused below it, unless
 * a test run says RENKEI_ARGON2_TEST_COST=1 (and then still not below
 * t 1, m 8 KiB). */
static void
test_conf_argon2_floor(void **state)
{
	struct conf c;
	char err[256];

	(void)state;
	unsetenv("RENKEI_ARGON2_TEST_COST");
	conf_init(&c);
	assert_int_equal(c.argon2_t, 2);
	assert_int_equal(c.argon2_m_kib, 19456);
	assert_int_equal(conf_argon2_below_floor(&c), 0);
	assert_int_equal(conf_set(&c, "argon2_t", "1", err, sizeof(err)), -1);
	assert_string_equal(err, "argon2_t: 1 is below 2, OWASP's floor for argon2id "
	                         "password hashes");
	assert_int_equal(conf_set(&c, "argon2-m-kib", "19455", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "below 19456, OWASP's floor"));
	assert_int_equal(conf_set(&c, "argon2_m_kib", "65536", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "argon2_t", "3", err, sizeof(err)), 0);
	/* Anything but "1" is not the test switch. */
	setenv("RENKEI_ARGON2_TEST_COST", "yes", 1);
	assert_int_equal(conf_argon2_test_cost(), 0);
	assert_int_equal(conf_set(&c, "argon2_t", "1", err, sizeof(err)), -1);
	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
	assert_int_equal(conf_argon2_test_cost(), 1);
	assert_int_equal(conf_set(&c, "argon2_t", "1", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "argon2_m_kib", "8", err, sizeof(err)), 0);
	assert_int_equal(conf_argon2_below_floor(&c), 1);
	assert_int_equal(conf_set(&c, "argon2_m_kib", "7", err, sizeof(err)), -1);
	assert_int_equal(conf_set(&c, "argon2_t", "0", err, sizeof(err)), -1);
	unsetenv("RENKEI_ARGON2_TEST_COST");
	conf_fini(&c);
}

static void
test_conf(void **state)
{
	struct conf c;
	char err[256];
	(void)state;
	conf_init(&c);
	assert_int_equal(c.port, 8443);
	assert_int_equal(conf_set(&c, "port", "9000", err, sizeof(err)), 0);
	assert_int_equal(c.port, 9000);
	assert_int_equal(conf_set(&c, "max-message-bytes", "65536", err, sizeof(err)), 0);
	assert_int_equal(c.max_message_bytes, 65536);
	assert_int_equal(conf_set(&c, "port", "70000", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(conf_set(&c, "port", "12x", err, sizeof(err)), -1);
	assert_int_equal(conf_set(&c, "no_such", "1", err, sizeof(err)), -1);
	assert_int_equal(conf_set(&c, "log_level", "loud", err, sizeof(err)), -1);
	/* The second factor: staff by default; staff, all or off. */
	assert_string_equal(c.totp_required, "staff");
	assert_int_equal(conf_set(&c, "totp-required", "all", err, sizeof(err)), 0);
	assert_string_equal(c.totp_required, "all");
	assert_int_equal(conf_set(&c, "totp_required", "some", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "staff, all or off"));
	conf_resolve_paths(&c);
	/* Keys (the TLS key too) beside the data folder, never in it. */
	assert_string_equal(c.keys_dir, "renkei-keys");
	assert_string_equal(c.tls_cert, "renkei-keys/certs/server.pem");
	assert_string_equal(c.tls_key, "renkei-keys/certs/server.key");
	conf_fini(&c);
	const char *const cases[][2] = {
		{"/var/lib/renkei", "/var/lib/renkei-keys"},
		{"/srv/ward-data/", "/srv/ward-keys"},
		{"data", "data-keys"},
		{"/x/-data", "/x/-data-keys"},
		{"rk", "rk-keys"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf_init(&c);
		assert_int_equal(conf_set(&c, "data_dir", cases[i][0], err, sizeof(err)), 0);
		conf_resolve_paths(&c);
		assert_string_equal(c.keys_dir, cases[i][1]);
		conf_fini(&c);
	}
	/* An explicit key folder stands. */
	conf_init(&c);
	assert_int_equal(conf_set(&c, "keys_dir", "/etc/renkei/keys", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "kek_source", "tpm", err, sizeof(err)), -1);
	assert_int_equal(conf_set(&c, "kek_source", "credential", err, sizeof(err)), 0);
	conf_resolve_paths(&c);
	assert_string_equal(c.keys_dir, "/etc/renkei/keys");
	assert_string_equal(c.tls_key, "/etc/renkei/keys/certs/server.key");
	conf_fini(&c);
}

/* The watch counts a step of the wall clock back, beyond the threshold,
 * against the monotonic clock; forward steps and small drift do not. */
static void
test_clock_watch(void **state)
{
	struct rk_clock_watch w = {0};
	int st = rk_clock_sync_state();

	(void)state;
	assert_true(st == RK_CLOCK_SYNCED || st == RK_CLOCK_UNSYNCED ||
	            st == RK_CLOCK_UNKNOWN);
	assert_non_null(rk_clock_sync_name(st));
	assert_int_equal(rk_clock_watch_step(&w, 1000000, 500, 2000), 0); /* first */
	assert_int_equal(rk_clock_watch_step(&w, 1001000, 1500, 2000), 0);
	assert_int_equal(rk_clock_watch_step(&w, 1001990, 2500, 2000), 0); /* drift */
	assert_int_equal(rk_clock_watch_step(&w, 1090000, 3500, 2000), 0); /* forward */
	/* back 1 s in 1 s: 2 s behind, not more than the threshold */
	assert_int_equal(rk_clock_watch_step(&w, 1089000, 4500, 2000), 0);
	/* back 6 s in 1 s: 7 s behind */
	assert_int_equal(rk_clock_watch_step(&w, 1083000, 5500, 2000), 7000);
	assert_int_equal(rk_clock_watch_step(&w, 1084000, 6500, 2000), 0);
}

/* Every bound an operator may set is in --help with its default and its
 * range: "  --name   help [default D, LO..HI]". */
static void
test_help_lists_every_bound(void **state)
{
	static const char *const bounds[] = {
		"max-message-bytes", "prelogin-max-message-bytes", "prelogin-max-requests",
		"out-queue-frames", "out-queue-bytes", "ping-hangup-s", "close-grace-s",
		"login-timeout-s", "max-connections", "max-connections-per-address",
		"max-inflight", "rate-read-per-s", "rate-write-per-s", "rate-bulk-per-s",
		"store-queue-max", "login-max-failures", "upload-max-bytes",
		"upload-max-per-user", "upload-quota-mb", "upload-max-total-mb",
		"export-max-mb", "export-max-per-user", "export-max-concurrent",
		"export-idle-s",
	};
	char *text = NULL, want[64];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	conf_print_help(f);
	assert_int_equal(fclose(f), 0);
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		const char *line, *end;
		snprintf(want, sizeof(want), "  --%s ", bounds[i]);
		line = strstr(text, want);
		if (line == NULL)
			fail_msg("--help does not list --%s", bounds[i]);
		end = strchr(line, '\n');
		assert_non_null(end);
		const char *d = strstr(line, " [default ");
		if (d == NULL || d > end || strstr(d, "..") > end)
			fail_msg("--%s has no default and range: %.*s", bounds[i],
			         (int)(end - line), line);
		assert_true(conf_known(bounds[i]));
	}
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_error_has_a_string),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_visible_len),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_idmap),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_conf_argon2_floor),
		cmocka_unit_test(test_clock_watch),
		cmocka_unit_test(test_help_lists_every_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

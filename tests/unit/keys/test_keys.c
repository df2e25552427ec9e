/* Unit tests: keys/ — wrapping and unwrapping under the KEK, the checks a
 * key file passes before it is read, the key folder, and where the KEK
 * comes from (environment, systemd credential, passphrase by fd). */
#include <fcntl.h>
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

#include "unit_store.h"

#include "keys/keys.h"
#include "util/text.h"

struct fx {
	char tmp[64], data[96], keys[96], path[1024];
	struct keys_kek kek;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	unit_tmpdir(f->tmp, "keys");
	snprintf(f->data, sizeof(f->data), "%s/data", f->tmp);
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->tmp);
	assert_int_equal(mkdir(f->data, 0700), 0);
	assert_int_equal(mkdir(f->keys, 0700), 0);
	rk_random(f->kek.bytes, sizeof(f->kek.bytes));
	snprintf(f->kek.source, sizeof(f->kek.source), "the unit test's KEK");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	unit_rm_rf(f->tmp);
	free(f);
	return 0;
}

/* A copy of a path that must fit. */
static void
put(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	assert_true(n < cap);
	memcpy(dst, src, n + 1);
}

static const char *
in(struct fx *f, const char *dir, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
	return f->path;
}

static void
test_wrap_round_trip(void **state)
{
	struct fx *f = *state;
	uint8_t key[32], out[32];
	char line[KEYS_LINE_MAX], line2[KEYS_LINE_MAX], hex[65];
	struct keys_kek wrong = f->kek;

	rk_random(key, sizeof(key));
	assert_int_equal(keys_wrap("care", &f->kek, key, line), 0);
	assert_true(strncmp(line, "renkei-key 1 care aes-256-gcm ", 30) == 0);
	assert_int_equal(strlen(line), 30 + 24 + 1 + 64 + 1 + 32 + 1);
	rk_hex_encode(key, 32, hex);
	assert_null(strstr(line, hex)); /* not in the clear */
	assert_int_equal(keys_unwrap(line, strlen(line), "care", &f->kek, out), 0);
	assert_memory_equal(key, out, 32);
	/* a fresh IV each time */
	assert_int_equal(keys_wrap("care", &f->kek, key, line2), 0);
	assert_string_not_equal(line, line2);
	/* a wrong KEK fails the tag (-2); another name, or damage, too */
	wrong.bytes[5] ^= 1;
	assert_int_equal(keys_unwrap(line, strlen(line), "care", &wrong, out), -2);
	assert_int_equal(keys_unwrap(line, strlen(line), "audit", &f->kek, out), -1);
	line[40] = line[40] == '0' ? '1' : '0'; /* a bit of the IV */
	assert_int_equal(keys_unwrap(line, strlen(line), "care", &f->kek, out), -2);
	assert_int_equal(keys_unwrap("renkei-key 1 care aes-256-gcm 00", 32, "care",
	                             &f->kek, out),
	                 -1);
	/* the file named for another key does not unwrap as this one */
	char forged[KEYS_LINE_MAX];
	assert_int_equal(keys_wrap("audit", &f->kek, key, line), 0);
	snprintf(forged, sizeof(forged), "renkei-key 1 care%s", line + 18);
	assert_int_equal(keys_unwrap(forged, strlen(forged), "care", &f->kek, out), -2);
	/* ids: short, stable, not the key */
	char id1[17], id2[17];
	keys_id(key, id1);
	keys_id(key, id2);
	assert_string_equal(id1, id2);
	assert_int_equal(strlen(id1), 16);
	assert_null(strstr(hex, id1));
}

static void
test_wrap_file_and_checks(void **state)
{
	struct fx *f = *state;
	uint8_t key[32], out[32];
	char err[1024], p[400], q[400];
	bool missing;

	rk_random(key, sizeof(key));
	put(p, sizeof(p), in(f, f->keys, "care.key"));
	assert_int_equal(keys_wrap_file(p, "care", &f->kek, key, false, err,
	                                sizeof(err)),
	                 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(in(f, f->keys, "care.key.tmp"), F_OK), -1);
	assert_int_equal(keys_wrap_file(p, "care", &f->kek, key, false, err,
	                                sizeof(err)),
	                 -1); /* never replaced unless asked */
	assert_non_null(strstr(err, "refusing to replace"));
	assert_int_equal(keys_unwrap_file(p, "care", f->data, &f->kek, out, err,
	                                  sizeof(err)),
	                 0);
	assert_memory_equal(key, out, 32);

	/* readable by others, or by the group */
	chmod(p, 0644);
	assert_int_equal(keys_unwrap_file(p, "care", f->data, &f->kek, out, err,
	                                  sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "(mode 0644): chmod 600"));
	chmod(p, 0640);
	assert_int_equal(keys_file_check(p, f->data, true, NULL, err, sizeof(err)), -1);
	assert_int_equal(keys_file_check(p, f->data, false, NULL, err, sizeof(err)), 0);
	chmod(p, 0600);
	/* another owner (tests run as root; skipped otherwise) */
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 4242, 0), 0);
		assert_int_equal(keys_file_check(p, f->data, true, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "owned by uid 4242"));
		assert_int_equal(chown(p, 0, 0), 0);
	}
	/* a second name */
	put(q, sizeof(q), in(f, f->data, "stolen"));
	assert_int_equal(link(p, q), 0);
	assert_int_equal(keys_file_check(p, f->data, true, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 names"));
	unlink(q);
	/* a symbolic link */
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(keys_file_check(p, f->data, true, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a symbolic link"));
	/* a key file inside the data folder, named directly */
	assert_int_equal(keys_file_check(q, f->data, true, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inside the data folder"));
	assert_int_equal(keys_outside_data(q, f->data, err, sizeof(err)), -1);
	assert_int_equal(keys_outside_data(p, f->data, err, sizeof(err)), 0);
	/* missing */
	assert_int_equal(keys_file_check(in(f, f->keys, "none"), f->data, true,
	                                 &missing, err, sizeof(err)),
	                 -1);
	assert_true(missing);
	/* a wrong KEK names its source */
	unlink(p);
	assert_int_equal(rename(q, p), 0);
	struct keys_kek wrong = f->kek;
	wrong.bytes[0] ^= 1;
	assert_int_equal(keys_unwrap_file(p, "care", f->data, &wrong, out, err,
	                                  sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "the unit test's KEK"));
	assert_non_null(strstr(err, "GCM tag check failed"));
}

static void
test_key_folder(void **state)
{
	struct fx *f = *state;
	char err[1024], p[400];

	assert_int_equal(keys_dir_check(f->keys, f->data, err, sizeof(err)), 0);
	assert_int_equal(keys_dir_check(in(f, f->tmp, "nope"), f->data, err,
	                                sizeof(err)),
	                 -1);
	/* inside the data folder, the data folder itself, or holding it */
	put(p, sizeof(p), in(f, f->data, "keys"));
	assert_int_equal(keys_dir_make(p, f->data, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is inside the data folder"));
	assert_int_equal(keys_dir_check(f->data, f->data, err, sizeof(err)), -1);
	assert_int_equal(keys_dir_check(f->tmp, f->data, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "holds the data folder"));
	/* through a symbolic link */
	put(p, sizeof(p), in(f, f->tmp, "link"));
	assert_int_equal(symlink(f->data, p), 0);
	assert_int_equal(keys_dir_check(p, f->data, err, sizeof(err)), -1);
	/* writable by others */
	chmod(f->keys, 0777);
	assert_int_equal(keys_dir_check(f->keys, f->data, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group or others"));
	chmod(f->keys, 0700);
}

static void
test_kek_sources(void **state)
{
	struct fx *f = *state;
	struct keys_kek kek;
	struct keys_kek_opts o = {.keys_dir = f->keys, .source = "auto",
	                          .passphrase_fd = -1};
	char err[1024], hex[65], cred[400];
	int fds[2];

	/* none */
	unsetenv("RENKEI_KEK");
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no key-encryption key"));
	/* the environment, wiped once read */
	keys_random_hex(hex);
	setenv("RENKEI_KEK", hex, 1);
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), 0);
	assert_null(getenv("RENKEI_KEK"));
	assert_non_null(strstr(kek.source, "for development only"));
	uint8_t raw[32];
	assert_int_equal(rk_hex_decode(hex, 64, raw, 32), 0);
	assert_memory_equal(kek.bytes, raw, 32);
	setenv("RENKEI_KEK", "xyz", 1);
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "64 hex digits"));
	/* a systemd credential wins over the environment */
	snprintf(cred, sizeof(cred), "%s/cred", f->tmp);
	assert_int_equal(mkdir(cred, 0700), 0);
	FILE *c = fopen(in(f, cred, "renkei-kek"), "w");
	assert_non_null(c);
	fwrite(raw, 1, 32, c); /* raw bytes are fine too */
	fclose(c);
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	setenv("RENKEI_KEK", "ignored", 1);
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), 0);
	assert_memory_equal(kek.bytes, raw, 32);
	assert_non_null(strstr(kek.source, "systemd credential"));
	o.source = "env"; /* unless told otherwise */
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), -1);
	unsetenv("CREDENTIALS_DIRECTORY");
	o.source = "credential";
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CREDENTIALS_DIRECTORY"));
	o.source = "tpm";
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), -1);

	/* a passphrase by fd: made once (salt and costs kept), the same
	 * passphrase the same KEK, another one another */
	struct keys_kek first;
	o.source = "auto";
	o.create = true;
	o.argon2_t = 1;
	o.argon2_m_kib = 1024;
	for (int i = 0; i < 3; i++) {
		const char *pw = i < 2 ? "correct horse battery\n" : "wrong horse battery\n";
		assert_int_equal(pipe(fds), 0);
		assert_int_equal(write(fds[1], pw, strlen(pw)), (ssize_t)strlen(pw));
		close(fds[1]);
		o.passphrase_fd = fds[0];
		assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), 0);
		close(fds[0]);
		if (i == 0)
			first = kek;
		else if (i == 1)
			assert_memory_equal(kek.bytes, first.bytes, 32);
		else
			assert_memory_not_equal(kek.bytes, first.bytes, 32);
		o.create = false;
	}
	char *params = NULL;
	FILE *pf = fopen(in(f, f->keys, "kek.params"), "r");
	assert_non_null(pf);
	size_t cap = 0;
	assert_true(getline(&params, &cap, pf) > 0);
	fclose(pf);
	assert_true(strncmp(params, "renkei-kek 1 argon2id t=1 m=1024 p=1 salt=", 42) == 0);
	free(params);
	/* too short */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "short\n", 6), 6);
	close(fds[1]);
	o.passphrase_fd = fds[0];
	assert_int_equal(keys_kek_load(&kek, &o, err, sizeof(err)), -1);
	close(fds[0]);
	assert_non_null(strstr(err, "at least 12"));
	keys_kek_wipe(&kek);
	keys_kek_wipe(&first);
	unsetenv("RENKEI_KEK");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrap_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_file_and_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kek_sources, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

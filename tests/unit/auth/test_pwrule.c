/*
 * Password rules (auth/pwrule.h) and the argon2id floor of stored hashes
 * (auth_hash_params): lengths in characters with and without a second
 * factor, libpwquality's dictionary, common-word and user-name checks,
 * the display name, and the explanations handed to the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/pwrule.h"

static char why[256];

static bool
ok(const char *pw, bool second_factor)
{
	why[0] = '\0';
	return pwrule_check(pw, NULL, "dr.tanaka", "田中 誠", second_factor, why,
	                    sizeof(why));
}

/* Refused, and the explanation holds `words`. */
static void
refused(const char *pw, bool second_factor, const char *words)
{
	bool allowed = ok(pw, second_factor);

	if (allowed || strstr(why, words) == NULL)
		fail_msg("\"%s\": allowed=%d why=\"%s\" (want \"%s\")", pw, allowed,
		         why, words);
}

static void
test_ready(void **state)
{
	char err[512];

	(void)state;
	if (!pwrule_ready(err, sizeof(err)))
		fail_msg("%s", err);
}

/* 8 characters with a second factor, 13 without; characters, not bytes. */
static void
test_length(void **state)
{
	(void)state;
	assert_int_equal(pwrule_min_chars(true), 8);
	assert_int_equal(pwrule_min_chars(false), 13);
	refused("Zq8#mW2", true, "shorter than 8 characters");
	assert_true(ok("Zq8#mW2!", true));
	/* 12 characters: enough with a second factor, not without. */
	assert_true(ok("kq7v-m2xp-rt", true));
	refused("kq7v-m2xp-rt", false, "shorter than 13 characters");
	assert_true(ok("kq7v-m2xp-rt9", false));
	/* 7 kanji are 21 bytes but 7 characters. */
	refused("梅桜椿藤菊萩蓮", true, "shorter than 8 characters");
	refused("", true, "shorter than 8 characters");
	/* Longer than a login accepts. */
	{
		char big[PWRULE_MAX_BYTES + 2];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		refused(big, true, "longer than 1024 bytes");
		/* The longest allowed goes through cracklib unharmed. */
		for (size_t i = 0; i < PWRULE_MAX_BYTES; i++)
			big[i] = "kq7v-m2xp-rt9w-zb4h-Lj3"[(i * 7 + i / 23) % 23];
		big[PWRULE_MAX_BYTES] = '\0';
		(void)ok(big, false);
		assert_true(why[0] != '\0' || ok(big, false));
	}
}

/* Weak, dictionary and common passwords, in libpwquality's words. */
static void
test_dictionary(void **state)
{
	(void)state;
	refused("sunflowers", true, "dictionary check");
	refused("monkey1", true, "shorter than 8 characters");
	/* Common passwords: their bases, in any case or direction, also with
	 * the usual swaps of letters for digits and signs. */
	refused("password1", true, "forbidden words");
	refused("Password123!", true, "forbidden words");
	refused("P@ssw0rd2026", true, "forbidden words");
	refused("drowssap-2026", true, "forbidden words");
	refused("1l0v3y0u-2026", true, "forbidden words");
	refused("xxQwErTy-2026", true, "forbidden words");
	refused("renkei-kq7v-2026", true, "forbidden words");
	refused("Sunfl0wers", true, "dictionary check");
	/* Digits in a strong password are no swap to undo. */
	assert_true(ok("kq7v-m2xp-rt9w", false));
	assert_true(ok("4711-zbqx-3vwk", false));
	refused("abcdefghijklm", false, "dictionary check");
	refused("aaaaaaaaaaaaaaaa", false, "palindrome");
	refused("monkey123", true, "forbidden words");
}

/* The login (or four of its characters in a row) and the display name. */
static void
test_login_and_name(void **state)
{
	(void)state;
	refused("dr.tanaka-2026!", true, "user name");
	refused("tanaka-rocks-99", true, "user name");
	refused("Tanaka-Rocks-99", true, "user name");
	refused("akanat.rd-2026", true, "user name"); /* reversed */
	/* Either part of "田中 誠" that is long enough, or all of it. */
	refused("田中のパスワード2026", true, "real name");
	refused("xx田中誠xx-9q7w", true, "real name");
	/* A one-character part alone is too common to refuse. */
	assert_true(ok("誠実な看護-k7q9w", true));
	/* Latin names, case-insensitively. */
	assert_false(pwrule_check("my-Hanako-2026-kq", NULL, "family.sato",
	                          "Sato Hanako", false, why, sizeof(why)));
	assert_non_null(strstr(why, "real name"));
	assert_true(pwrule_check("kq7v-m2xp-rt9w", NULL, "family.sato",
	                         "Sato Hanako", false, why, sizeof(why)));
}

/* The old password again, or one too like it. */
static void
test_old_password(void **state)
{
	(void)state;
	assert_false(pwrule_check("kq7v-m2xp-rt9w", "kq7v-m2xp-rt9w", "dr.tanaka",
	                          "田中 誠", true, why, sizeof(why)));
	assert_non_null(strstr(why, "same as the old one"));
	assert_true(pwrule_check("kettle-orbit-27", "renkei-demo-1", "dr.tanaka",
	                         "田中 誠", true, why, sizeof(why)));
}

/* The argon2id parameters read from an encoded hash. */
static void
test_hash_params(void **state)
{
	char hash[160];
	int t = 0, m = 0;

	(void)state;
	assert_int_equal(auth_hash_params("$argon2id$v=19$m=19456,t=2,p=1$"
	                                  "c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE",
	                                  &t, &m),
	                 RK_OK);
	assert_int_equal(t, 2);
	assert_int_equal(m, 19456);
	assert_int_equal(auth_password_hash("pw", 1, 64, hash, sizeof(hash)), RK_OK);
	assert_int_equal(auth_hash_params(hash, &t, &m), RK_OK);
	assert_int_equal(t, 1);
	assert_int_equal(m, 64);
	/* Not argon2id, another version, malformed. */
	static const char *const bad[] = {
		"",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=19$m=19456,t=2$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=19$m=,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=19$m=-5,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=19$m=99999999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgn",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=19$m=19456,t=2,p=1$c2Fs$aOJaI7vUM9/qm6/8sgni9f",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aOJaI7vUM9 trailing",
		"renkei-demo-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (auth_hash_params(bad[i], &t, &m) != RK_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_dictionary),
		cmocka_unit_test(test_login_and_name),
		cmocka_unit_test(test_old_password),
		cmocka_unit_test(test_hash_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

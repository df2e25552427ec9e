/* Unit tests: the CLI's pure helpers for writing posts — the --vitals
 * parser and the vitals summary (rkc_vitals), UUIDv4 client ids and the
 * client_id check (rkc_uuid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rkc_uuid.h"
#include "rkc_vitals.h"

static void
test_parse_full(void **state)
{
	Renkei__V1__Vitals v;
	const char *why = NULL;

	(void)state;
	assert_int_equal(rkc_vitals_parse("bt=36.8,bp=112/68,p=88,spo2=95,rr=18", &v, &why), 0);
	assert_int_equal(v.temperature_dc, 368);
	assert_int_equal(v.bp_systolic, 112);
	assert_int_equal(v.bp_diastolic, 68);
	assert_int_equal(v.pulse, 88);
	assert_int_equal(v.spo2, 95);
	assert_int_equal(v.respiration, 18);
}

static void
test_parse_forms(void **state)
{
	Renkei__V1__Vitals v;

	(void)state;
	/* spaces, upper case, aliases, a % sign, a whole temperature */
	assert_int_equal(rkc_vitals_parse(" BT = 37 , Pulse=72, spo2=98% ", &v, NULL), 0);
	assert_int_equal(v.temperature_dc, 370);
	assert_int_equal(v.pulse, 72);
	assert_int_equal(v.spo2, 98);
	assert_int_equal(v.bp_systolic, 0);
	assert_int_equal(v.respiration, 0);
	assert_int_equal(rkc_vitals_parse("hr=60", &v, NULL), 0);
	assert_int_equal(v.pulse, 60);
	assert_int_equal(rkc_vitals_parse("bt=35.0", &v, NULL), 0);
	assert_int_equal(v.temperature_dc, 350);
	/* the parser checks form, the server plausibility */
	assert_int_equal(rkc_vitals_parse("spo2=150,bp=60/80", &v, NULL), 0);
	assert_int_equal(v.spo2, 150);
}

static void
test_parse_refused(void **state)
{
	static const char *const bad[] = {
		"",            "   ",         "bt",          "bt=",        "=36.8",
		"bt=36.85",    "bt=36.",      "bt=.5",       "bt=-36",     "bt=36,8",
		"bt=0",        "bp=112",      "bp=112/",     "bp=/68",     "bp=0/68",
		"bp=112/68/1", "p=88bpm",     "p=0",         "p=+88",      "spo2=95%%",
		"rr=1e3",      "foo=1",       "bt=36.8,",    ",bt=36.8",   "bt=36.8,,p=88",
		"bt=36.8,bt=37", "p=88,hr=90", "p=123456",   "p=4294967296",
		"bt=36.8;p=88",
	};
	Renkei__V1__Vitals v;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		if (rkc_vitals_parse(bad[i], &v, &why) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(why);
		assert_true(strlen(why) > 10);
		/* a failure leaves nothing half-parsed */
		assert_true(rkc_vitals_empty(&v));
	}
	assert_int_equal(rkc_vitals_parse(NULL, &v, &why), -1);
	/* the reasons say what to do */
	assert_int_equal(rkc_vitals_parse("bp=112", &v, &why), -1);
	assert_non_null(strstr(why, "SYSTOLIC/DIASTOLIC"));
	assert_int_equal(rkc_vitals_parse("xx=1", &v, &why), -1);
	assert_non_null(strstr(why, "bt, bp, p, spo2 and rr"));
}

static void
test_format(void **state)
{
	Renkei__V1__Vitals v = RENKEI__V1__VITALS__INIT;
	char buf[128], small[10];

	(void)state;
	assert_true(rkc_vitals_empty(NULL));
	assert_true(rkc_vitals_empty(&v));
	assert_int_equal(rkc_vitals_format(NULL, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	assert_int_equal(rkc_vitals_format(&v, buf, sizeof buf), 0);
	assert_string_equal(buf, "");

	assert_int_equal(rkc_vitals_parse("bt=36.8,bp=112/68,p=88,spo2=95,rr=18", &v, NULL), 0);
	assert_false(rkc_vitals_empty(&v));
	assert_int_equal(rkc_vitals_format(&v, buf, sizeof buf),
	                 strlen("BT 36.8 / BP 112/68 / P 88 / SpO2 95% / RR 18"));
	assert_string_equal(buf, "BT 36.8 / BP 112/68 / P 88 / SpO2 95% / RR 18");

	/* too small a buffer: cut, terminated, and the length needed told */
	assert_int_equal(rkc_vitals_format(&v, small, sizeof small), strlen(buf));
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_memory_equal(small, buf, sizeof small - 1);

	renkei__v1__vitals__init(&v);
	v.spo2 = 93;
	rkc_vitals_format(&v, buf, sizeof buf);
	assert_string_equal(buf, "SpO2 93%");
	v.temperature_dc = 370;
	v.bp_systolic = 120;
	rkc_vitals_format(&v, buf, sizeof buf);
	assert_string_equal(buf, "BT 37.0 / BP 120/? / SpO2 93%");
	v.bp_systolic = 0;
	v.bp_diastolic = 70;
	rkc_vitals_format(&v, buf, sizeof buf);
	assert_string_equal(buf, "BT 37.0 / BP ?/70 / SpO2 93%");
}

static void
test_uuid_format(void **state)
{
	uint8_t zero[16] = { 0 }, ones[16];
	char s[RKC_UUID_LEN + 1];

	(void)state;
	rkc_uuid_v4_format(zero, s);
	assert_string_equal(s, "00000000-0000-4000-8000-000000000000");
	memset(ones, 0xff, sizeof ones);
	rkc_uuid_v4_format(ones, s);
	assert_string_equal(s, "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

static void
test_uuid_random(void **state)
{
	char a[RKC_UUID_LEN + 1], b[RKC_UUID_LEN + 1];
	size_t i;

	(void)state;
	assert_int_equal(rkc_uuid_v4(a), 0);
	assert_int_equal(rkc_uuid_v4(b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), RKC_UUID_LEN);
	for (i = 0; i < RKC_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	/* what we generate, the server takes */
	assert_true(rkc_client_id_valid(a));
}

static void
test_client_id(void **state)
{
	char long_id[66];

	(void)state;
	assert_true(rkc_client_id_valid("x"));
	assert_true(rkc_client_id_valid("retry-2026-11-22#1~"));
	assert_false(rkc_client_id_valid(NULL));
	assert_false(rkc_client_id_valid(""));
	assert_false(rkc_client_id_valid("has space"));
	assert_false(rkc_client_id_valid("tab\there"));
	assert_false(rkc_client_id_valid("del\x7f"));
	assert_false(rkc_client_id_valid("日本語"));
	memset(long_id, 'a', 64);
	long_id[64] = '\0';
	assert_true(rkc_client_id_valid(long_id));
	long_id[64] = 'a';
	long_id[65] = '\0';
	assert_false(rkc_client_id_valid(long_id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),   cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refused), cmocka_unit_test(test_format),
		cmocka_unit_test(test_uuid_format),  cmocka_unit_test(test_uuid_random),
		cmocka_unit_test(test_client_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

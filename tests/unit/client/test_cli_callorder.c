/*
 * Unit tests: the call order syntax of `renkei sheet callorder`
 * (client-cli/oncall.c): commas between slots, '+' between the people of
 * one slot, "" for none; empty pieces and too many are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static int
parse(const char *text, char *logins[8][8], size_t per[8], size_t *n)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s", text);
	return cli_callorder_parse(buf, logins, per, n);
}

static void
test_good(void **state)
{
	char *l[8][8];
	size_t per[8], n;

	(void)state;
	assert_int_equal(parse("dr.tanaka,dr.kato+dr.ito,ns.24h", l, per, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(per[0], 1);
	assert_int_equal(per[1], 2);
	assert_string_equal(l[0][0], "dr.tanaka");
	assert_string_equal(l[1][0], "dr.kato");
	assert_string_equal(l[1][1], "dr.ito");
	assert_string_equal(l[2][0], "ns.24h");
	assert_int_equal(parse("", l, per, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("a,b,c,d,e,f,g,h", l, per, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(parse("a+b+c+d+e+f+g+h", l, per, &n), 0);
	assert_int_equal(per[0], 8);
}

static void
test_bad(void **state)
{
	char *l[8][8];
	size_t per[8], n;
	static const char *const bad[] = {
	    ",", "a,", ",a", "a,,b", "+", "a+", "+a", "a++b", "a,b+,c",
	    "a,b,c,d,e,f,g,h,i", "a+b+c+d+e+f+g+h+i",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], l, per, &n) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

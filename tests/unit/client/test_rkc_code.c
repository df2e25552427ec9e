/* Unit tests: rkc_code_name / rkc_code_text cover every renkei.v1 Code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rkc.h"

static void
test_every_code(void **state)
{
	const ProtobufCEnumValue *v;
	unsigned int i, j;

	(void)state;
	/* the generated descriptor is the list of codes: if one is added to
	 * the .proto, this test notices */
	assert_int_equal(renkei__v1__code__descriptor.n_values, 17);
	for (i = 0; i < renkei__v1__code__descriptor.n_values; i++) {
		v = &renkei__v1__code__descriptor.values[i];
		assert_string_equal(rkc_code_name((Renkei__V1__Code)v->value), v->name);
		assert_non_null(rkc_code_text((Renkei__V1__Code)v->value));
		assert_true(strlen(rkc_code_text((Renkei__V1__Code)v->value)) > 10);
		/* each text says something of its own */
		for (j = 0; j < i; j++)
			assert_string_not_equal(
				rkc_code_text((Renkei__V1__Code)v->value),
				rkc_code_text((Renkei__V1__Code)renkei__v1__code__descriptor.values[j].value));
	}
	for (i = 0; i <= 16; i++)
		assert_string_not_equal(rkc_code_name((Renkei__V1__Code)i), "UNKNOWN_CODE");
	assert_string_equal(rkc_code_name(RENKEI__V1__CODE__PERMISSION_DENIED), "PERMISSION_DENIED");
	assert_string_equal(rkc_code_text(RENKEI__V1__CODE__PERMISSION_DENIED),
	                    "you are not allowed to do that");
}

static void
test_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(rkc_code_name((Renkei__V1__Code)17), "UNKNOWN_CODE");
	assert_string_equal(rkc_code_name((Renkei__V1__Code)-1), "UNKNOWN_CODE");
	assert_non_null(rkc_code_text((Renkei__V1__Code)1000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code),
		cmocka_unit_test(test_unknown_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

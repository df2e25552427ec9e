/* Unit tests: rkc_text, the terminal width of UTF-8 text that lines up
 * the CLI's tables of Japanese names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rkc_text.h"

static void
test_ascii(void **state)
{
	(void)state;
	assert_int_equal(rkc_text_width(NULL), 0);
	assert_int_equal(rkc_text_width(""), 0);
	assert_int_equal(rkc_text_width("pt-yamada"), 9);
}

static void
test_japanese(void **state)
{
	(void)state;
	assert_int_equal(rkc_text_width("山田 太郎"), 9);          /* kanji, a space */
	assert_int_equal(rkc_text_width("ヤマダ タロウ"), 13);     /* katakana */
	assert_int_equal(rkc_text_width("主治医（在宅）"), 14);    /* full-width brackets */
	assert_int_equal(rkc_text_width("ｶﾅ"), 2);                 /* half-width katakana */
	assert_int_equal(rkc_text_width("가"), 2);                 /* hangul */
	assert_int_equal(rkc_text_width("𠮷"), 2);                 /* beyond the BMP */
	assert_int_equal(rkc_text_width("SpO2 95%（O2 2L）"), 17);
}

static void
test_zero_width(void **state)
{
	(void)state;
	assert_int_equal(rkc_text_width("e\xcc\x81"), 1);          /* e + combining acute */
	assert_int_equal(rkc_text_width("か\xe3\x82\x99"), 2);     /* か + combining dakuten */
	assert_int_equal(rkc_text_width("a\xe2\x80\x8b" "b"), 2);  /* zero-width space */
	assert_int_equal(rkc_cp_width(0xFE0F), 0);
}

static void
test_invalid(void **state)
{
	(void)state;
	/* one column per bad byte, and never a read past the end */
	assert_int_equal(rkc_text_width("\xff"), 1);
	assert_int_equal(rkc_text_width("a\xe3\x81"), 3);          /* cut short */
	assert_int_equal(rkc_text_width("\xc0\xaf"), 2);           /* overlong */
	assert_int_equal(rkc_text_width("\xed\xa0\x80"), 3);       /* surrogate */
	assert_int_equal(rkc_text_width("\xf4\x90\x80\x80"), 4);   /* beyond U+10FFFF */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_japanese),
		cmocka_unit_test(test_zero_width),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

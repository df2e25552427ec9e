/*
 * What a notice says (notify_text): fixed by the reason and a count,
 * nothing else; and quiet hours (notify_quiet_at), across midnight too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "notify/notify.h"

static const char *
text(unsigned post, unsigned urgent, unsigned addressed, unsigned overdue,
     unsigned escalation, unsigned test)
{
	static char out[256];
	unsigned c[NOTIFY_WHYS] = {0};
	c[NOTIFY_POST] = post;
	c[NOTIFY_ADDRESSED] = addressed;
	c[NOTIFY_OVERDUE] = overdue;
	c[NOTIFY_ESCALATION] = escalation;
	c[NOTIFY_TEST] = test;
	notify_text(c, urgent, out, sizeof(out));
	return out;
}

static void
texts_by_reason_and_count(void **state)
{
	(void)state;
	assert_string_equal(text(1, 0, 0, 0, 0, 0), "renkei: 1 new post");
	assert_string_equal(text(3, 0, 0, 0, 0, 0), "renkei: 3 new posts");
	assert_string_equal(text(1, 1, 0, 0, 0, 0), "renkei: 1 new urgent post");
	assert_string_equal(text(2, 2, 0, 0, 0, 0), "renkei: 2 new urgent posts");
	assert_string_equal(text(4, 1, 0, 0, 0, 0), "renkei: 4 new posts (1 urgent)");
	assert_string_equal(text(0, 0, 1, 0, 0, 0), "renkei: a post addressed to you");
	assert_string_equal(text(0, 0, 2, 0, 0, 0), "renkei: 2 posts addressed to you");
	assert_string_equal(text(0, 0, 0, 1, 0, 0), "renkei: a request you made is overdue");
	assert_string_equal(text(0, 0, 0, 0, 1, 0),
	                    "renkei: an urgent post is waiting for confirmation");
	assert_string_equal(text(0, 0, 0, 0, 3, 0),
	                    "renkei: 3 urgent posts are waiting for confirmation");
	assert_string_equal(text(0, 0, 0, 0, 0, 1), "renkei: a test notice");
	assert_string_equal(text(2, 0, 1, 0, 1, 0),
	                    "renkei: an urgent post is waiting for confirmation; a "
	                    "post addressed to you; 2 new posts");
}

static void
text_is_truncated_safely(void **state)
{
	unsigned c[NOTIFY_WHYS] = {1000000, 1000000, 1000000, 1000000, 1000000};
	char out[16];

	(void)state;
	assert_int_equal(notify_text(c, 5, out, sizeof(out)), 15);
	assert_int_equal(strlen(out), 15);
	assert_int_equal(notify_text(c, 5, out, 1), 0);
	assert_string_equal(out, "");
}

static void
quiet_hours(void **state)
{
	(void)state;
	assert_false(notify_quiet_at(-1, -1, 0));
	assert_false(notify_quiet_at(600, 600, 600));
	/* 12:00-13:00 */
	assert_true(notify_quiet_at(720, 780, 720));
	assert_true(notify_quiet_at(720, 780, 779));
	assert_false(notify_quiet_at(720, 780, 780));
	assert_false(notify_quiet_at(720, 780, 719));
	/* 22:00-07:00, over midnight */
	assert_true(notify_quiet_at(1320, 420, 1320));
	assert_true(notify_quiet_at(1320, 420, 1439));
	assert_true(notify_quiet_at(1320, 420, 0));
	assert_true(notify_quiet_at(1320, 420, 419));
	assert_false(notify_quiet_at(1320, 420, 420));
	assert_false(notify_quiet_at(1320, 420, 1319));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(texts_by_reason_and_count),
		cmocka_unit_test(text_is_truncated_safely),
		cmocka_unit_test(quiet_hours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

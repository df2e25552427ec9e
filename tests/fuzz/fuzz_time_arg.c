/*
 * Fuzz target: the time syntax of --since and --until
 * (client-cli/time_arg.c: dates, date-times with or without a zone, ages
 * such as 7d), in the zone Japan keeps (JST, no summer time).
 *
 * Input: byte 0 says whether it is an --until (end of day, bit 0) or a
 * --due (cli_due_parse, bit 1); the rest is the argument.
 *
 * Invariants of an accepted time:
 *  - "now" is now; an age is not after now, and within the parser's
 *    bound (it stops taking digits once past a million units, so at
 *    most 10,000,009 weeks: no overflow);
 *  - anything else is a date from 1970 (give or take a zone) on, and
 *    written back in UTC ("YYYY-MM-DDTHH:MM:SSZ") parses to the same;
 *  - a date alone as --until is exactly one day after it as --since;
 *  - a --due with "+" is not before now; any other is what --until
 *    gives for it, and never "now".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fuzz.h"

#define NOW_MS 1796287411000LL /* 2026-12-03T08:43:31Z */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	setenv("TZ", "JST-9", 1);
	tzset();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t ms = 0, again = 0, start = 0;
	int end_of_day;
	char *s, utc[64];
	struct tm tm;
	time_t t;

	if (size == 0)
		return 0;
	end_of_day = data[0] & 1;
	s = fuzz_cstr(data + 1, size - 1);
	if (data[0] & 2) {
		/* --due: ahead of now with "+", else what --until takes but an
		 * age or "now" */
		if (cli_due_parse(s, NOW_MS, &ms) == 0) {
			if (s[0] == '+') {
				CHECK(ms >= NOW_MS);
			} else {
				CHECK(strcmp(s, "now") != 0);
				CHECK(cli_time_parse(s, 1, NOW_MS, &again) == 0);
				CHECK(again == ms);
			}
		}
		free(s);
		return 0;
	}
	if (cli_time_parse(s, end_of_day, NOW_MS, &ms) != 0) {
		free(s);
		return 0;
	}
	if (strcmp(s, "now") == 0) {
		CHECK(ms == NOW_MS);
	} else if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL) {
		/* an age */
		CHECK(ms <= NOW_MS);
		CHECK(NOW_MS - ms <= (int64_t)10000009 * 7 * 86400 * 1000);
	} else {
		CHECK(ms >= -14 * 3600 * 1000LL && ms % 1000 == 0);
		t = (time_t)(ms / 1000);
		CHECK(gmtime_r(&t, &tm) != NULL);
		strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (tm.tm_year + 1900 <= 9999) {
			CHECK(cli_time_parse(utc, 0, NOW_MS, &again) == 0);
			CHECK(again == ms);
		}
		if (end_of_day && strlen(s) == 10) {
			CHECK(cli_time_parse(s, 0, NOW_MS, &start) == 0);
			CHECK(ms - start == 86400 * 1000LL);
		}
	}
	free(s);
	return 0;
}

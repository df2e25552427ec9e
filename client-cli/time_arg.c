/*
 * The time syntax of --since and --until (audit query, audit export).
 *
 * People think in local dates ("since the 15th") or in ages ("the last
 * 7 days"), the server in UTC milliseconds; cli_time_parse converts,
 * taking a time without a zone as local (as the table shows it).
 * --until is exclusive on the wire, but a date alone in --until means
 * the end of that day, so "--since 2026-11-01 --until 2026-11-30" is all
 * of November, as anyone would read it.
 *
 * Pure parsing: it calls nothing else of the CLI.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* "7d", "24h", "30m", "2w": 0 with the age in ms, or -1. */
static int
parse_age(const char *s, int64_t *age_ms)
{
	int64_t v = 0, unit;
	const char *p = s;

	while (isdigit((unsigned char)*p)) {
		if (v > 1000000)
			return -1; /* beyond any audit trail; avoids overflow */
		v = v * 10 + (*p++ - '0');
	}
	if (p == s || p[0] == '\0' || p[1] != '\0')
		return -1;
	switch (*p) {
	case 'm':
		unit = 60 * 1000;
		break;
	case 'h':
		unit = 3600 * 1000;
		break;
	case 'd':
		unit = 86400 * 1000;
		break;
	case 'w':
		unit = 7 * 86400 * 1000;
		break;
	default:
		return -1;
	}
	*age_ms = v * unit;
	return 0;
}

int
cli_time_parse(const char *s, int end_of_day, int64_t now_ms, int64_t *ms)
{
	int y, mo, d, hh = 0, mi = 0, ss = 0, zh = 0, zm = 0, sign = 0, zoned = 0, has_time = 0;
	const char *p = s;
	struct tm tm;
	int64_t age;
	time_t t;

	if (strcmp(s, "now") == 0) {
		*ms = now_ms;
		return 0;
	}
	if (parse_age(s, &age) == 0) {
		*ms = now_ms - age;
		return 0;
	}
	if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 || *p++ != '-' ||
	    digits(&p, 2, &d) != 0)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		has_time = 1;
		if (digits(&p, 2, &hh) != 0 || *p++ != ':' || digits(&p, 2, &mi) != 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &ss) != 0)
				return -1;
		}
		if (hh > 23 || mi > 59 || ss > 59)
			return -1;
	}
	if (*p == 'Z') {
		p++;
		zoned = 1;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &zh) != 0)
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &zm) != 0 || zh > 14 || zm > 59)
			return -1;
		zoned = 1;
	}
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d + (end_of_day && !has_time ? 1 : 0); /* normalised below */
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	if (zoned) {
		t = timegm(&tm);
		if (sign != 0)
			t -= (time_t)sign * (zh * 3600 + zm * 60);
	} else {
		tm.tm_isdst = -1; /* let the zone rules say whether DST applies */
		t = mktime(&tm);
	}
	if (t == (time_t)-1)
		return -1;
	*ms = (int64_t)t * 1000;
	return 0;
}

int
cli_due_parse(const char *s, int64_t now_ms, int64_t *ms)
{
	int64_t ahead;

	if (s[0] == '+') {
		if (parse_age(s + 1, &ahead) != 0)
			return -1;
		*ms = now_ms + ahead;
		return 0;
	}
	/* "2h" would be two hours ago, as in --since: not a due time. */
	if (strcmp(s, "now") == 0 || parse_age(s, &ahead) == 0)
		return -1;
	return cli_time_parse(s, 1, now_ms, ms);
}

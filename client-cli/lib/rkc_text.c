/*
 * rkc_text — terminal width of UTF-8 text; see rkc_text.h.
 */
#include "rkc_text.h"

struct range {
	uint32_t lo, hi;
};

/* Zero width: combining marks, zero-width spaces and joiners, variation
 * selectors. Checked before the wide ranges (U+3099..309A sits inside
 * the kana block). */
static const struct range zero[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x200B, 0x200F },
	{ 0x202A, 0x202E }, { 0x2060, 0x2064 }, { 0x20D0, 0x20FF }, { 0x3099, 0x309A },
	{ 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF },
};

/* East Asian Wide and Fullwidth (the blocks that matter here). */
static const struct range wide[] = {
	{ 0x1100, 0x115F },   { 0x2329, 0x232A },   { 0x2E80, 0x303E },
	{ 0x3041, 0x33FF },   { 0x3400, 0x4DBF },   { 0x4E00, 0x9FFF },
	{ 0xA000, 0xA4CF },   { 0xA960, 0xA97F },   { 0xAC00, 0xD7A3 },
	{ 0xF900, 0xFAFF },   { 0xFE10, 0xFE19 },   { 0xFE30, 0xFE6F },
	{ 0xFF00, 0xFF60 },   { 0xFFE0, 0xFFE6 },   { 0x1F300, 0x1F64F },
	{ 0x1F900, 0x1F9FF }, { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
};

static int
in(const struct range *r, size_t n, uint32_t cp)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return 1;
	return 0;
}

int
rkc_cp_width(uint32_t cp)
{
	if (in(zero, sizeof zero / sizeof zero[0], cp))
		return 0;
	if (in(wide, sizeof wide / sizeof wide[0], cp))
		return 2;
	return 1;
}

/* Decode the UTF-8 sequence at s: its length (1..4) and *cp, or 0 if it
 * is not valid (overlong forms and surrogates included). */
static size_t
decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

size_t
rkc_text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, n;
	uint32_t cp;

	if (s == NULL)
		return 0;
	while (*p != '\0') {
		n = decode(p, &cp);
		if (n == 0) {
			w++;
			p++;
			continue;
		}
		w += (size_t)rkc_cp_width(cp);
		p += n;
	}
	return w;
}

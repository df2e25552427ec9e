/*
 * rkc_vitals — parse and print vital signs; see rkc_vitals.h.
 */
#include "rkc_vitals.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ITEM_MAX 64     /* longer than any valid "key=value" */
#define NUMBER_DIGITS 5 /* bounds every number well below UINT32_MAX */

enum { K_BT, K_BP, K_P, K_SPO2, K_RR, K_COUNT };

static const struct {
	const char *name;
	int key;
} keys[] = {
	{ "bt", K_BT }, { "bp", K_BP }, { "p", K_P }, { "pulse", K_P },
	{ "hr", K_P },  { "spo2", K_SPO2 }, { "rr", K_RR },
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A whole number of 1..NUMBER_DIGITS digits spanning [s, s+n).
 * Returns 0 with *out, or -1. */
static int
whole(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > NUMBER_DIGITS)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "36" or "36.8" in tenths. */
static int
tenths(const char *s, size_t n, uint32_t *out)
{
	const char *dot = memchr(s, '.', n);
	uint32_t ip;

	if (dot == NULL) {
		if (whole(s, n, &ip) != 0)
			return -1;
		*out = ip * 10;
		return 0;
	}
	if (whole(s, (size_t)(dot - s), &ip) != 0)
		return -1;
	if ((size_t)(dot - s) != n - 2 || dot[1] < '0' || dot[1] > '9')
		return -1;
	*out = ip * 10 + (uint32_t)(dot[1] - '0');
	return 0;
}

static int
fail(const char **err_desc, const char *why)
{
	if (err_desc != NULL)
		*err_desc = why;
	return -1;
}

/* One "key=value" item, trimmed, NUL-terminated. */
static int
parse_item(char *item, Renkei__V1__Vitals *v, int seen[K_COUNT], const char **err_desc)
{
	char *eq = strchr(item, '='), *val, *end, *slash;
	size_t i, klen, vlen;
	int key = -1;
	uint32_t a, b;

	if (eq == NULL)
		return fail(err_desc, "each reading is KEY=VALUE, e.g. bt=36.8");
	klen = (size_t)(eq - item);
	while (klen > 0 && is_space(item[klen - 1]))
		klen--;
	item[klen] = '\0';
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcasecmp(item, keys[i].name) == 0)
			key = keys[i].key;
	if (key < 0)
		return fail(err_desc, "unknown reading: the keys are bt, bp, p, spo2 and rr");
	if (seen[key])
		return fail(err_desc, "a reading is given twice");
	seen[key] = 1;
	val = eq + 1;
	while (is_space(*val))
		val++;
	end = val + strlen(val);
	while (end > val && is_space(end[-1]))
		end--;
	vlen = (size_t)(end - val);

	switch (key) {
	case K_BT:
		if (tenths(val, vlen, &a) != 0 || a == 0)
			return fail(err_desc, "bt is the temperature in degrees C, e.g. bt=36.8");
		v->temperature_dc = a;
		return 0;
	case K_BP:
		slash = memchr(val, '/', vlen);
		if (slash == NULL || whole(val, (size_t)(slash - val), &a) != 0 ||
		    whole(slash + 1, (size_t)(end - slash - 1), &b) != 0 || a == 0 || b == 0)
			return fail(err_desc, "bp must be SYSTOLIC/DIASTOLIC, e.g. bp=112/68");
		v->bp_systolic = a;
		v->bp_diastolic = b;
		return 0;
	case K_P:
		if (whole(val, vlen, &a) != 0 || a == 0)
			return fail(err_desc, "p is the pulse in beats per minute, e.g. p=88");
		v->pulse = a;
		return 0;
	case K_SPO2:
		if (vlen > 0 && val[vlen - 1] == '%')
			vlen--;
		if (whole(val, vlen, &a) != 0 || a == 0)
			return fail(err_desc, "spo2 is the oxygen saturation in %, e.g. spo2=95");
		v->spo2 = a;
		return 0;
	default:
		if (whole(val, vlen, &a) != 0 || a == 0)
			return fail(err_desc, "rr is the breaths per minute, e.g. rr=18");
		v->respiration = a;
		return 0;
	}
}

int
rkc_vitals_parse(const char *s, Renkei__V1__Vitals *v, const char **err_desc)
{
	int seen[K_COUNT] = { 0 };
	char item[ITEM_MAX];
	const char *p, *comma, *b, *e, *why = NULL;
	size_t n;

	renkei__v1__vitals__init(v);
	if (s == NULL)
		return fail(err_desc, "no readings given");
	for (p = s;; p = comma + 1) {
		comma = strchr(p, ',');
		e = comma != NULL ? comma : p + strlen(p);
		for (b = p; b < e && is_space(*b); b++)
			;
		while (e > b && is_space(e[-1]))
			e--;
		n = (size_t)(e - b);
		if (n == 0) {
			why = *s == '\0' ? "no readings given" : "empty reading (a comma too many?)";
			break;
		}
		if (n >= sizeof item) {
			why = "a reading is too long";
			break;
		}
		memcpy(item, b, n);
		item[n] = '\0';
		if (parse_item(item, v, seen, &why) != 0)
			break;
		if (comma == NULL)
			return 0;
	}
	/* nothing half-parsed is left behind */
	renkei__v1__vitals__init(v);
	return fail(err_desc, why);
}

int
rkc_vitals_empty(const Renkei__V1__Vitals *v)
{
	return v == NULL || (v->temperature_dc == 0 && v->bp_systolic == 0 &&
	                     v->bp_diastolic == 0 && v->pulse == 0 && v->spo2 == 0 &&
	                     v->respiration == 0);
}

/* Append piece to buf (after " / " unless first) as snprintf would:
 * *used counts what the whole summary needs, even past len. */
static void
append(char *buf, size_t len, size_t *used, const char *piece)
{
	static const char sep[] = " / ";

	if (*used > 0) {
		if (*used < len)
			snprintf(buf + *used, len - *used, "%s", sep);
		*used += sizeof sep - 1;
	}
	if (*used < len)
		snprintf(buf + *used, len - *used, "%s", piece);
	*used += strlen(piece);
}

size_t
rkc_vitals_format(const Renkei__V1__Vitals *v, char *buf, size_t len)
{
	char piece[48];
	size_t used = 0;

	if (len > 0)
		buf[0] = '\0';
	if (rkc_vitals_empty(v))
		return 0;
	if (v->temperature_dc != 0) {
		snprintf(piece, sizeof piece, "BT %u.%u", (unsigned)(v->temperature_dc / 10),
		         (unsigned)(v->temperature_dc % 10));
		append(buf, len, &used, piece);
	}
	if (v->bp_systolic != 0 && v->bp_diastolic != 0)
		snprintf(piece, sizeof piece, "BP %u/%u", (unsigned)v->bp_systolic,
		         (unsigned)v->bp_diastolic);
	else if (v->bp_systolic != 0)
		snprintf(piece, sizeof piece, "BP %u/?", (unsigned)v->bp_systolic);
	else if (v->bp_diastolic != 0)
		snprintf(piece, sizeof piece, "BP ?/%u", (unsigned)v->bp_diastolic);
	if (v->bp_systolic != 0 || v->bp_diastolic != 0)
		append(buf, len, &used, piece);
	if (v->pulse != 0) {
		snprintf(piece, sizeof piece, "P %u", (unsigned)v->pulse);
		append(buf, len, &used, piece);
	}
	if (v->spo2 != 0) {
		snprintf(piece, sizeof piece, "SpO2 %u%%", (unsigned)v->spo2);
		append(buf, len, &used, piece);
	}
	if (v->respiration != 0) {
		snprintf(piece, sizeof piece, "RR %u", (unsigned)v->respiration);
		append(buf, len, &used, piece);
	}
	return used;
}

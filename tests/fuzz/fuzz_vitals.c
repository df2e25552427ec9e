/*
 * Fuzz target: vital signs as people type them for `renkei post
 * --vitals` (client-cli/lib/rkc_vitals.c), and the summary the CLI
 * prints of vitals received from the server.
 *
 * Input: the text to parse. The same bytes, read as six little-endian
 * 32-bit numbers, are also a Vitals message as it may come off the wire
 * (any values), for rkc_vitals_format.
 *
 * Invariants:
 *  - a refusal says why and leaves nothing half-parsed;
 *  - an accepted reading has no zero it was given (zero means "not
 *    measured") and every number within the parser's digits; written
 *    back as "bt=..,bp=../..,p=..,spo2=..,rr=.." it parses to the same;
 *  - the summary's length is what it reports (as snprintf), a shorter
 *    buffer holds a prefix of it, and it is empty exactly when nothing
 *    was measured.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rkc_vitals.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	return 0;
}

static int
same(const Renkei__V1__Vitals *a, const Renkei__V1__Vitals *b)
{
	return a->temperature_dc == b->temperature_dc &&
	       a->bp_systolic == b->bp_systolic &&
	       a->bp_diastolic == b->bp_diastolic && a->pulse == b->pulse &&
	       a->spo2 == b->spo2 && a->respiration == b->respiration;
}

static void
check_format(const Renkei__V1__Vitals *v)
{
	char full[256], part[16];
	size_t n = rkc_vitals_format(v, full, sizeof(full));

	CHECK(n < sizeof(full) && strlen(full) == n);
	CHECK((n == 0) == (rkc_vitals_empty(v) != 0));
	CHECK(rkc_vitals_format(v, part, sizeof(part)) == n);
	CHECK(strlen(part) < sizeof(part));
	CHECK(strncmp(part, full, strlen(part)) == 0);
	CHECK(rkc_vitals_format(v, NULL, 0) == n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	Renkei__V1__Vitals v, again, wire = RENKEI__V1__VITALS__INIT;
	const char *why = NULL;
	uint32_t w[6] = {0};
	char text[128];

	if (rkc_vitals_parse(s, &v, &why) != 0) {
		CHECK(why != NULL && rkc_vitals_empty(&v));
	} else {
		CHECK(!rkc_vitals_empty(&v));
		CHECK((v.bp_systolic == 0) == (v.bp_diastolic == 0));
		CHECK(v.temperature_dc <= 999999 && v.bp_systolic <= 99999 &&
		      v.pulse <= 99999 && v.spo2 <= 99999 && v.respiration <= 99999);
		text[0] = '\0';
		if (v.temperature_dc)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
			         "bt=%u.%u,", v.temperature_dc / 10, v.temperature_dc % 10);
		if (v.bp_systolic)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
			         "bp=%u/%u,", v.bp_systolic, v.bp_diastolic);
		if (v.pulse)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "p=%u,",
			         v.pulse);
		if (v.spo2)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
			         "spo2=%u%%,", v.spo2);
		if (v.respiration)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "rr=%u,",
			         v.respiration);
		text[strlen(text) - 1] = '\0'; /* the last comma */
		CHECK(rkc_vitals_parse(text, &again, &why) == 0);
		CHECK(same(&v, &again));
		check_format(&v);
	}

	memcpy(w, data, size < sizeof(w) ? size : sizeof(w));
	wire.temperature_dc = w[0];
	wire.bp_systolic = w[1];
	wire.bp_diastolic = w[2];
	wire.pulse = w[3];
	wire.spo2 = w[4];
	wire.respiration = w[5];
	check_format(&wire);
	free(s);
	return 0;
}

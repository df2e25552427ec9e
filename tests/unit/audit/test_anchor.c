/* Unit tests: audit/anchor.h — the anchor line reads back as written,
 * from inside a syslog line too; malformed lines are told apart from
 * lines without an anchor; the newest checkpoint is the one a signer
 * hands over; a file sink appends one line per anchor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/anchor.h"
#include "audit/audit.h"
#include "audit/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/text.h"

#include "audit_fixture.h"

static struct audit_anchor
sample(void)
{
	struct audit_anchor a = {.cp_id = 7, .record_id = 7000,
	                         .signed_ms = 1796290198564LL, .clock_sync = 1};
	for (int i = 0; i < 32; i++) {
		a.hash[i] = (uint8_t)i;
		a.key_id[i] = (uint8_t)(255 - i);
	}
	for (int i = 0; i < 64; i++)
		a.sig[i] = (uint8_t)(i * 3);
	return a;
}

static void
test_line_round_trip(void **state)
{
	struct audit_anchor a = sample(), b;
	char line[AUDIT_ANCHOR_LINE_MAX], prefixed[700];

	(void)state;
	audit_anchor_format(&a, line);
	assert_non_null(strstr(line, "renkei-anchor/1 cp=7 record=7000 hash=0001"));
	assert_non_null(strstr(line, " time=2026-12-03T09:29:58.564Z clock_sync=1 key=ff"));
	assert_int_equal(audit_anchor_parse(line, &b), 1);
	assert_memory_equal(&a, &b, sizeof(a));
	snprintf(prefixed, sizeof(prefixed), "Dec  3 09:29:58 host renkei-server[42]: %s\n", line);
	assert_int_equal(audit_anchor_parse(prefixed, &b), 1);
	assert_memory_equal(&a, &b, sizeof(a));
	a.clock_sync = -1; /* a checkpoint from before the clock was recorded */
	audit_anchor_format(&a, line);
	assert_non_null(strstr(line, " clock_sync=- "));
	assert_int_equal(audit_anchor_parse(line, &b), 1);
	assert_int_equal(b.clock_sync, -1);
}

static void
test_malformed_lines(void **state)
{
	struct audit_anchor a = sample(), b;
	char line[AUDIT_ANCHOR_LINE_MAX], bad[AUDIT_ANCHOR_LINE_MAX + 20];
	static const struct {
		const char *from, *to;
	} edits[] = {
		{"cp=7 ", "cp=x7 "},          {"record=7000", "record="},
		{"hash=00", "hash=0g"},        {"clock_sync=1", "clock_sync=3"},
		{" key=", " key=ab"},          {"cp=7 ", ""},
		{"record=7000", "record=-5"},  {"sig=", "sig=00"},
	};

	(void)state;
	assert_int_equal(audit_anchor_parse("an ordinary log line\n", &b), 0);
	assert_int_equal(audit_anchor_parse("", &b), 0);
	audit_anchor_format(&a, line);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *at = strstr(line, edits[i].from);
		assert_non_null(at);
		snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(at - line), line,
		         edits[i].to, at + strlen(edits[i].from));
		if (audit_anchor_parse(bad, &b) != -1)
			fail_msg("accepted: %s", bad);
	}
	/* A word a later version may add is no fault. */
	snprintf(bad, sizeof(bad), "%s tsa=abc", line);
	assert_int_equal(audit_anchor_parse(bad, &b), 1);
}

/* The newest checkpoint, read back, is what the signer hands over, and
 * its signature is the key's. */
static void
test_latest_is_what_was_signed(void **state)
{
	struct fx *f = *state;
	struct audit_anchor took, latest;
	uint8_t key_id[32];
	EVP_PKEY *pk;
	char err[200];

	assert_int_equal(audit_anchor_latest(f->sc, "audit", &latest), RK_OK);
	assert_int_equal(latest.cp_id, 0);
	fill(f, 25, 10);
	assert_true(audit_signer_take(f->signer, &took)); /* the newest only */
	assert_int_equal(took.cp_id, 2);
	assert_false(audit_signer_take(f->signer, &took)); /* taken once */
	assert_int_equal(audit_anchor_latest(f->sc, "audit", &latest), RK_OK);
	assert_int_equal(latest.cp_id, 2);
	assert_int_equal(latest.record_id, 20);
	assert_memory_equal(&latest, &took, sizeof(latest));
	pk = audit_pubkey_load(f->pub, key_id, err, sizeof(err));
	assert_non_null(pk);
	assert_true(audit_anchor_sig_ok(&latest, pk, key_id));
	latest.signed_ms++;
	assert_false(audit_anchor_sig_ok(&latest, pk, key_id));
	EVP_PKEY_free(pk);
}

static void
test_file_sink_appends(void **state)
{
	struct fx *f = *state;
	struct audit_anchor a = sample(), b;
	char spec[200], path[160], err[200], *line;
	struct audit_sink *s;
	FILE *in;
	int n = 0;

	assert_null(audit_sink_new("", err, sizeof(err)));
	assert_int_equal(err[0], '\0');
	assert_null(audit_sink_new("ftp://x", err, sizeof(err)));
	assert_int_not_equal(err[0], '\0');
	assert_null(audit_sink_new("exec:/nonexistent/ship", err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/anchors.log", f->dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	s = audit_sink_new(spec, err, sizeof(err));
	assert_non_null(s);
	for (int i = 1; i <= 5; i++) {
		a.cp_id = i;
		audit_sink_put(s, &a);
	}
	audit_sink_free(s); /* delivers what is queued */
	in = fopen(path, "r");
	assert_non_null(in);
	line = malloc(1024);
	while (fgets(line, 1024, in) != NULL) {
		assert_int_equal(audit_anchor_parse(line, &b), 1);
		assert_int_equal(b.cp_id, ++n);
	}
	free(line);
	fclose(in);
	assert_int_equal(n, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_round_trip),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test_setup_teardown(test_latest_is_what_was_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_sink_appends, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: audit/ — auditors' queries, JSON Lines and CSV export,
 * offline verification of an export (the chain itself is tested in
 * test_audit.c). Each test gets fresh encrypted databases and a fresh
 * signing key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "store/store.h"
#include "util/err.h"
#include "util/text.h"

#include "audit_fixture.h"
static size_t
query(struct fx *f, struct audit_query q, struct audit_record **recs, bool *more)
{
	size_t n;
	assert_int_equal(audit_query_run(f->sc, "audit", &q, recs, &n, more), RK_OK);
	for (size_t i = 1; i < n; i++)
		assert_true((*recs)[i].id > (*recs)[i - 1].id);
	return n;
}

static void
test_query_filters_and_paging(void **state)
{
	struct fx *f = *state;
	struct audit_record *r;
	bool more;
	size_t n;
	int64_t after = 0, total = 0;

	fill(f, 50, 10);

	/* patient: odd ids that are not logins */
	n = query(f, (struct audit_query){.patient = "pt-1", .outcome = -1}, &r, &more);
	assert_int_equal(n, 20);
	assert_false(more);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(r[i].ev.patient, "pt-1");
		assert_true(r[i].id % 2 == 1 && r[i].id % 5 != 0);
	}
	audit_records_free(r, n);

	/* user and failures: ns is id % 3 == 1, failures id % 7 == 0 */
	n = query(f, (struct audit_query){.user = "ns", .outcome = 1}, &r, &more);
	assert_int_equal(n, 3); /* 7, 28, 49 */
	assert_int_equal(r[0].id, 7);
	assert_int_equal(r[1].id, 28);
	assert_int_equal(r[2].id, 49);
	assert_int_equal(r[0].ev.outcome, RK_ERR_DENIED);
	assert_string_equal(r[0].ev.error_code, "PERMISSION_DENIED");
	audit_records_free(r, n);

	n = query(f, (struct audit_query){.user = "ns", .outcome = 0}, &r, &more);
	assert_int_equal(n, 17 - 3);
	audit_records_free(r, n);

	/* organisation: org-b is cm (id % 3 == 2) */
	n = query(f, (struct audit_query){.org = "org-b", .outcome = -1}, &r, &more);
	assert_int_equal(n, 17);
	audit_records_free(r, n);

	/* action */
	n = query(f, (struct audit_query){.action = "login", .outcome = -1}, &r, &more);
	assert_int_equal(n, 10);
	audit_records_free(r, n);
	n = query(f, (struct audit_query){.action = "break_glass.start", .outcome = -1},
	          &r, &more);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].ev.reason, break_glass_reason);
	assert_string_equal(r[0].ev.device, "iPad 訪問用");
	audit_records_free(r, n);

	/* time range alone, and with a patient: [TS(11), TS(21)) */
	n = query(f, (struct audit_query){.since_ms = TS(11), .until_ms = TS(21),
	                                  .outcome = -1},
	          &r, &more);
	assert_int_equal(n, 10);
	assert_int_equal(r[0].id, 11);
	assert_int_equal(r[9].id, 20);
	audit_records_free(r, n);
	n = query(f, (struct audit_query){.patient = "pt-2", .since_ms = TS(11),
	                                  .until_ms = TS(21), .outcome = -1},
	          &r, &more);
	assert_int_equal(n, 4); /* 12, 14, 16, 18 */
	audit_records_free(r, n);
	n = query(f, (struct audit_query){.since_ms = TS(99), .outcome = -1}, &r, &more);
	assert_int_equal(n, 0);
	audit_records_free(r, n);
	n = query(f, (struct audit_query){.patient = "nobody", .outcome = -1}, &r, &more);
	assert_int_equal(n, 0);
	audit_records_free(r, n);

	/* paging through everything, 7 at a time */
	do {
		n = query(f, (struct audit_query){.after_id = after, .limit = 7,
		                                  .outcome = -1},
		          &r, &more);
		assert_true(n <= 7);
		assert_true(n == 0 || r[0].id == after + 1);
		total += (int64_t)n;
		if (n)
			after = r[n - 1].id;
		assert_int_equal(more, total < 50);
		audit_records_free(r, n);
	} while (more);
	assert_int_equal(total, 50);

	/* paging a filtered query */
	n = query(f, (struct audit_query){.patient = "pt-1", .limit = 15, .outcome = -1},
	          &r, &more);
	assert_int_equal(n, 15);
	assert_true(more);
	after = r[14].id;
	audit_records_free(r, n);
	n = query(f, (struct audit_query){.patient = "pt-1", .after_id = after,
	                                  .limit = 15, .outcome = -1},
	          &r, &more);
	assert_int_equal(n, 5);
	assert_false(more);
	audit_records_free(r, n);
	store_conn_release(f->sc);
}
/* ---------------------------------------------------------------- export */

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const char *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static int64_t
export_to(struct fx *f, int64_t since, int64_t until, enum audit_format fmt)
{
	FILE *fp = fopen(f->out, "wb");
	int64_t n;
	assert_non_null(fp);
	n = audit_export(f->sc, "audit", since, until, fmt, fp);
	assert_int_equal(fclose(fp), 0);
	return n;
}

/* Edit the export's line that starts with `prefix`: replace the first
 * `from` in it with `to`, or drop the line when from is NULL. */
static void
edit_line(struct fx *f, const char *prefix, const char *from, const char *to)
{
	size_t len;
	char *buf = slurp(f->out, &len), *line, *eol, *at, *out;
	size_t o = 0;

	line = strstr(buf, prefix);
	assert_non_null(line);
	assert_true(line == buf || line[-1] == '\n');
	eol = strchr(line, '\n');
	assert_non_null(eol);
	out = calloc(1, len + (to ? strlen(to) : 0) + 1);
	memcpy(out, buf, (size_t)(line - buf));
	o = (size_t)(line - buf);
	if (from != NULL) {
		*eol = '\0';
		at = strstr(line, from);
		assert_non_null(at);
		*eol = '\n';
		memcpy(out + o, line, (size_t)(at - line));
		o += (size_t)(at - line);
		memcpy(out + o, to, strlen(to));
		o += strlen(to);
		memcpy(out + o, at + strlen(from), (size_t)(eol + 1 - at - strlen(from)));
		o += (size_t)(eol + 1 - at - strlen(from));
	}
	memcpy(out + o, eol + 1, len - (size_t)(eol + 1 - buf));
	o += len - (size_t)(eol + 1 - buf);
	spit(f->out, out, o);
	free(out);
	free(buf);
}

/* Insert, before the export's line that starts with `prefix`, a copy of
 * it with its first `from` replaced by `to`. */
static void
copy_line_before(struct fx *f, const char *prefix, const char *from, const char *to)
{
	size_t len, o;
	char *buf = slurp(f->out, &len), *line, *eol, *at, *out;

	line = strstr(buf, prefix);
	assert_non_null(line);
	eol = strchr(line, '\n');
	assert_non_null(eol);
	*eol = '\0';
	at = strstr(line, from);
	assert_non_null(at);
	*eol = '\n';
	out = calloc(1, 2 * len + strlen(to) + 1);
	o = (size_t)(line - buf);
	memcpy(out, buf, o);                                /* before the line */
	memcpy(out + o, line, (size_t)(at - line));          /* the copy, edited */
	o += (size_t)(at - line);
	memcpy(out + o, to, strlen(to));
	o += strlen(to);
	memcpy(out + o, at + strlen(from), (size_t)(eol + 1 - at - strlen(from)));
	o += (size_t)(eol + 1 - at - strlen(from));
	memcpy(out + o, line, len - (size_t)(line - buf)); /* the line and the rest */
	o += len - (size_t)(line - buf);
	spit(f->out, out, o);
	free(out);
	free(buf);
}

/* Does the line starting with `prefix` contain `needle`? */
static bool
line_has(const char *buf, const char *prefix, const char *needle)
{
	const char *line = strstr(buf, prefix), *eol, *at;
	assert_non_null(line);
	eol = strchr(line, '\n');
	assert_non_null(eol);
	at = strstr(line, needle);
	return at != NULL && at < eol;
}

static struct audit_verify_result
verify_export(struct fx *f)
{
	struct audit_verify_result r;
	assert_int_equal(audit_verify_export(f->out, f->pub, &r), RK_OK);
	return r;
}

static void
expect_export_bad(struct fx *f, int64_t first_bad, const char *what)
{
	struct audit_verify_result r = verify_export(f);
	if (r.ok || r.first_bad_id != first_bad)
		fail_msg("%s: ok=%d first_bad=%lld (want %lld): %s", what, r.ok,
		         (long long)r.first_bad_id, (long long)first_bad, r.why);
}

static void
test_export_jsonl_verifies_offline(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;
	char *buf;
	size_t len;

	fill(f, 50, 10);

	/* everything */
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	r = verify_export(f);
	if (!r.ok)
		fail_msg("%s", r.why);
	assert_int_equal(r.records, 50);
	assert_int_equal(r.checkpoints, 5);
	assert_int_equal(r.last_signed_id, 50);

	/* a range [TS(15), TS(28)): records 15..27, plus 28..30 as context up
	 * to the checkpoint at 30, anchored on record 14's hash */
	assert_int_equal(export_to(f, TS(15), TS(28), AUDIT_JSONL), 13);
	buf = slurp(f->out, &len);
	assert_non_null(strstr(buf, "\"anchor_id\":14,"));
	assert_false(line_has(buf, "{\"id\":27,", "\"context\""));
	assert_true(line_has(buf, "{\"id\":28,", "\"context\":true}"));
	assert_true(line_has(buf, "{\"checkpoint\":{\"id\":3,", "\"record_id\":30,"));
	assert_null(strstr(buf, "{\"id\":31,"));
	assert_null(strstr(buf, "{\"id\":14,"));
	assert_non_null(strstr(buf, "\"time\":\"2026-01-01T00:00:14.000Z\""));
	assert_null(strstr(buf, "救急搬送")); /* record 4: not in range */
	free(buf);
	r = verify_export(f);
	if (!r.ok)
		fail_msg("%s", r.why);
	assert_int_equal(r.records, 16);
	assert_int_equal(r.checkpoints, 2);

	/* a range with Japanese text and escapes in it round-trips */
	assert_int_equal(export_to(f, TS(1), TS(6), AUDIT_JSONL), 5);
	buf = slurp(f->out, &len);
	assert_non_null(strstr(buf, "\"reason\":\"救急搬送, \\\"意識レベル低下\\\"\\n要確認\""));
	free(buf);
	assert_true(verify_export(f).ok);

	/* an empty range is a valid, empty export */
	assert_int_equal(export_to(f, TS(100), 0, AUDIT_JSONL), 0);
	r = verify_export(f);
	assert_true(r.ok);
	assert_int_equal(r.records, 0);
	store_conn_release(f->sc);
}

/* Exports across a rotation verify from the root key alone: a range
 * after the rotation carries it as a rotation line after the header; a
 * range across it carries the rotation checkpoint itself. Without the
 * rotation line, nothing of the range is proven. */
static void
test_export_across_rotation(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;
	char *buf;
	size_t len;

	fill(f, 30, 10);
	fx_rotate(f, 31, fx_signer(NULL, NULL));
	fill_range(f, 32, 60, 10);
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 1, 0,
	                                        TS(61)),
	                 RK_OK);

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 60);
	buf = slurp(f->out, &len);
	assert_non_null(strstr(buf, "{\"renkei_audit_export\":2,"));
	assert_non_null(strstr(buf, "\"rotations\":0}\n"));
	assert_true(line_has(buf, "{\"checkpoint\":{\"id\":4,", "\"next_key\":\""));
	assert_true(line_has(buf, "{\"checkpoint\":{\"id\":4,", "\"rotate_sig\":\""));
	free(buf);
	r = verify_export(f);
	if (!r.ok)
		fail_msg("%s", r.why);
	assert_int_equal(r.records, 60);

	/* after the rotation: the header brings the rotation with it */
	assert_int_equal(export_to(f, TS(45), 0, AUDIT_JSONL), 16);
	buf = slurp(f->out, &len);
	assert_non_null(strstr(buf, "\"anchor_id\":44,"));
	assert_non_null(strstr(buf, "\"rotations\":1}\n{\"rotation\":{\"checkpoint_id\":4,"
	                            "\"record_id\":31,"));
	free(buf);
	r = verify_export(f);
	if (!r.ok)
		fail_msg("%s", r.why);
	assert_int_equal(r.records, 16);
	edit_line(f, "{\"rotation\":", NULL, NULL);
	expect_export_bad(f, 45, "the rotation line removed");
	/* ... or claiming another signer */
	assert_int_equal(export_to(f, TS(45), 0, AUDIT_JSONL), 16);
	edit_line(f, "{\"rotation\":", "\"record_id\":31,", "\"record_id\":30,");
	expect_export_bad(f, 45, "the rotation line altered");

	/* before it: nothing to bring */
	assert_int_equal(export_to(f, 0, TS(20), AUDIT_JSONL), 19);
	buf = slurp(f->out, &len);
	assert_non_null(strstr(buf, "\"rotations\":0}"));
	assert_null(strstr(buf, "next_key"));
	free(buf);
	assert_true(verify_export(f).ok);
	store_conn_release(f->sc);
}

/* A checkpoint signed by a key no rotation introduced fails offline too,
 * and so does one by the key a rotation replaced; a version 1 export
 * (before rotations) still verifies. */
static void
test_export_unknown_signer_fails(void **state)
{
	struct fx *f = *state;
	struct audit_signer *stranger = fx_signer(NULL, NULL), *old;
	struct audit_verify_result r;

	fill(f, 20, 10);
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 20);
	edit_line(f, "{\"renkei_audit_export\":2,", "\"renkei_audit_export\":2,",
	          "\"renkei_audit_export\":1,");
	edit_line(f, "{\"renkei_audit_export\":1,", ",\"rotations\":0}", "}");
	r = verify_export(f);
	if (!r.ok)
		fail_msg("version 1: %s", r.why);

	old = audit_signer_new(f->seed, (char[64]){0}, 64);
	fx_rotate(f, 21, fx_signer(NULL, NULL));
	fill_range(f, 22, 30, 10);
	fx_sign_with(f, 31, stranger);
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 31);
	r = verify_export(f);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 22); /* after the rotation at 21 */
	assert_non_null(strstr(r.why, "a key that no rotation introduced"));
	assert_int_equal(export_to(f, TS(25), 0, AUDIT_JSONL), 7);
	expect_export_bad(f, 25, "a range after the rotation");

	fx_sign_with(f, 32, old);
	assert_int_equal(export_to(f, TS(32), 0, AUDIT_JSONL), 1);
	r = verify_export(f);
	assert_false(r.ok);
	assert_non_null(strstr(r.why, "a rotation had already replaced"));
	audit_signer_free(stranger);
	audit_signer_free(old);
	store_conn_release(f->sc);
}

static void
test_export_tamper_detected(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;
	char wrong[128];

	fill(f, 50, 10);

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"id\":18,", "\"patient\":\"pt-2\"", "\"patient\":\"pt-1\"");
	expect_export_bad(f, 18, "a field changed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"id\":18,", "\"time\":\"2026-01-01T00:00:17.000Z\"",
	          "\"time\":\"2026-01-01T09:00:17.000Z\"");
	expect_export_bad(f, 18, "the derived time changed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"id\":18,", "\"outcome\":0,", "\"outcome\":0,\"note\":\"ok\",");
	expect_export_bad(f, 18, "a key added");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"id\":18,", NULL, NULL);
	expect_export_bad(f, 18, "a record line removed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"id\":20,", NULL, NULL);
	expect_export_bad(f, 20, "a signed record's line removed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"checkpoint\":{\"id\":5,", NULL, NULL);
	expect_export_bad(f, 41, "the last checkpoint line removed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"checkpoint\":{\"id\":3,", "\"signed_ms\":", "\"signed_ms\":1");
	expect_export_bad(f, 21, "a checkpoint changed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"end\":", NULL, NULL);
	expect_export_bad(f, 51, "the end line removed");

	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 50);
	edit_line(f, "{\"renkei_audit_export\":", "\"anchor_id\":0", "\"anchor_id\":1");
	expect_export_bad(f, 1, "the header changed");

	/* a record added after the last checkpoint, with a correct hash */
	{
		struct audit_event ev = {.action = "board.read", .patient = "pt-1",
		                         .ts_ms = TS(51)};
		assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
		store_conn_release(f->sc);
	}
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 51);
	r = verify_export(f);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 51);
	assert_int_equal(r.unsigned_tail, 1);
	/* signed now, it verifies */
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 1, 0, TS(52)),
	                 RK_OK);
	store_conn_release(f->sc);
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 51);
	assert_true(verify_export(f).ok);

	/* another public key: no checkpoint verifies, nothing is proven */
	snprintf(wrong, sizeof(wrong), "%s/other.pub", f->dir);
	audit_signer_free(fx_signer(wrong, NULL));
	assert_int_equal(audit_verify_export(f->out, wrong, &r), RK_OK);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 1);
	assert_int_equal(r.bad_checkpoint_id, 1);

	/* Found by fuzz_audit_verify (its corpus keeps the input): a record
	 * whose id names no record (0, or negative) was reported with that
	 * id as the first bad one, and 0 means "none": a forged line with
	 * "id":0 slipped into a signed export, and the export verified. */
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 51);
	copy_line_before(f, "{\"id\":18,", "{\"id\":18,", "{\"id\":0,");
	expect_export_bad(f, 18, "a record with id 0 added");
	r = verify_export(f);
	assert_non_null(strstr(r.why, "record 0 is out of place (expected record 18)"));
	assert_int_equal(export_to(f, 0, 0, AUDIT_JSONL), 51);
	copy_line_before(f, "{\"id\":18,", "{\"id\":18,", "{\"id\":-3,");
	expect_export_bad(f, 18, "a record with a negative id added");

	/* not an export at all */
	spit(f->out, "id,time\r\n", 9);
	expect_export_bad(f, 1, "a CSV file");
	assert_int_equal(audit_verify_export("/nonexistent", f->pub, &r), RK_ERR_IO);
}

static void
test_export_csv_for_excel(void **state)
{
	struct fx *f = *state;
	struct audit_event ev = {.action = "login", .actor_login = "=cmd|' /C calc'!A0",
	                         .address = "198.51.100.7", .outcome = RK_ERR_UNAUTHENTICATED,
	                         .error_code = "UNAUTHENTICATED", .ts_ms = TS(11)};
	char *buf;
	size_t len, rows = 0;
	bool quoted = false;

	fill(f, 10, 5);
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	assert_int_equal(export_to(f, TS(1), TS(12), AUDIT_CSV), 11);
	buf = slurp(f->out, &len);

	assert_true(len > 3);
	assert_memory_equal(buf, "\xef\xbb\xbf", 3);
	assert_memory_equal(buf + 3, "id,time_jst,time_utc,ts_ms,", 27);
	/* every line break outside quotes is CRLF */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '"')
			quoted = !quoted;
		if (buf[i] == '\n' && !quoted) {
			assert_true(i > 0 && buf[i - 1] == '\r');
			rows++;
		}
	}
	assert_false(quoted);
	/* header + 11 records + empty row + checkpoint header + 2 checkpoints */
	assert_int_equal(rows, 1 + 11 + 1 + 1 + 2);
	/* Japanese intact; comma, quotes and newline quoted RFC 4180 style */
	assert_non_null(strstr(buf, ",\"救急搬送, \"\"意識レベル低下\"\"\n要確認\","));
	assert_non_null(strstr(buf, ",iPad 訪問用,"));
	/* JST and UTC of record 1 */
	assert_non_null(strstr(buf, "\r\n1,2026-01-01 09:00:00.000,2026-01-01 00:00:00.000,"
	                            "1767225600000,"));
	/* a formula is shown, not run */
	assert_non_null(strstr(buf, ",'=cmd|' /C calc'!A0,"));
	assert_non_null(strstr(buf, "\r\n\r\ncheckpoint_id,record_id,"));
	free(buf);

	/* an empty range still has the BOM and both headers */
	assert_int_equal(export_to(f, TS(100), 0, AUDIT_CSV), 0);
	buf = slurp(f->out, &len);
	assert_memory_equal(buf, "\xef\xbb\xbf" "id,", 6);
	assert_non_null(strstr(buf, "\r\n\r\ncheckpoint_id,"));
	free(buf);
	store_conn_release(f->sc);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_query_filters_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_jsonl_verifies_offline, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_export_tamper_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_across_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_unknown_signer_fails, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_export_csv_for_excel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

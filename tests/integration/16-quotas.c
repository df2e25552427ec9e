/*
 * 16-quotas: per-user shares of the server that a request may not take
 * more of, each refused with RESOURCE_EXHAUSTED naming its setting, each
 * counted in /metrics, and none of them in the way of anyone else.
 *
 * Uploads (upload_max_per_user 3, upload_quota_mb 1, upload_max_total_mb
 * 2 here): uploads in progress per user; the photo bytes a user holds on
 * no post yet (uploads in progress at their declared size, finished
 * photos not yet on a post at their stored size); every user's uploads
 * in progress together. A resumed upload is never refused.
 *
 * Audit exports (export_max_mb 1, export_max_per_user 1,
 * export_max_concurrent 2, export_idle_s 10 here): the size of one
 * export, exports per user and in all being made or held, and a held
 * export nobody fetches from is dropped. Refusals are in the audit trail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "media_gen.h"

#define EXHAUSTED RENKEI__V1__CODE__RESOURCE_EXHAUSTED
#define QUOTA ((uint64_t)1 << 20)

static struct h_server *srv;

/* Two more auditors, for the exports in all. */
static int
write_ward(const char *path)
{
	json_t *root = json_object(), *orgs = json_array(), *users = json_array();
	int rc;

	json_array_append_new(orgs, json_pack("{s:s, s:s, s:s}", "id", "org-audit-q",
	                                      "name", "org-audit-q", "kind",
	                                      "ward_office"));
	json_array_append_new(users, h_ward_user("audit.two", "auditor", "org-audit-q"));
	json_array_append_new(users, h_ward_user("audit.three", "auditor", "org-audit-q"));
	json_object_set_new(root, "organisations", orgs);
	json_object_set_new(root, "users", users);
	json_object_set_new(root, "patients", json_array());
	rc = json_dump_file(root, path, JSON_INDENT(1));
	json_decref(root);
	return rc;
}

static int
group_setup(void **state)
{
	static const char *const args[] = {
	    "--upload-max-per-user", "3", "--upload-quota-mb", "1",
	    "--upload-max-total-mb", "2", "--export-max-mb", "1",
	    "--export-max-per-user", "1", "--export-max-concurrent", "2",
	    "--export-idle-s", "10", NULL};
	char path[512];

	(void)state;
	if ((srv = h_server_new()) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/auditors.json", srv->dir);
	if (write_ward(path) != 0 || h_import(srv, path) != 0 ||
	    h_server_start(srv, args) != 0) {
		h_server_free(srv);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

/* The value of a metric line "name value" in /metrics, or -1. */
static long
metric(const char *name)
{
	char *body = NULL, *at;
	long v = -1;

	if (h_https_get(srv, "/metrics", &body) == 200 && body != NULL &&
	    (at = strstr(body, name)) != NULL)
		v = strtol(at + strlen(name), NULL, 10);
	free(body);
	return v;
}

/* Fail unless r is RESOURCE_EXHAUSTED whose message names `setting`
 * (and whose field is `field`: NULL for none). Frees r. */
static void
assert_refused(Renkei__V1__Envelope *r, const char *setting, const char *field)
{
	h_assert_error(r, EXHAUSTED);
	print_message("refused: %s\n", r->error->message);
	if (strstr(r->error->message, setting) == NULL)
		fail_msg("\"%s\" does not name %s", r->error->message, setting);
	assert_string_equal(r->error->field, field ? field : "");
	assert_int_equal(r->error->retry_after_ms, 0);
	h_env_free(r);
}

static void
assert_status(Renkei__V1__Envelope *r)
{
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS);
	h_env_free(r);
}

/* Someone else is answered as usual. */
static void
others_served(void)
{
	struct rkc *c = h_connect_login(srv, "cm.nakamura", NULL);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_timeline_env(c, "pt-sato");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

/* ---------------------------------------------------------------- uploads */

static void
test_uploads_in_progress_per_user(void **state)
{
	struct rkc *c = h_connect_login(srv, "ns.kobayashi", NULL);
	uint8_t junk[1000], sha[32];
	char id[32];
	Renkei__V1__Envelope *r;

	(void)state;
	assert_non_null(c);
	memset(junk, 'x', sizeof(junk));
	h_sha256(junk, sizeof(junk), sha);
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "inflight-%d", i);
		assert_status(h_upload_begin_env(c, "pt-sato", id, "x.jpg", sizeof(junk), sha));
	}
	assert_refused(h_upload_begin_env(c, "pt-sato", "inflight-3", "x.jpg",
	                                  sizeof(junk), sha),
	               "upload_max_per_user", NULL);
	/* Resuming one in progress is not a new one. */
	assert_status(h_upload_begin_env(c, "pt-sato", "inflight-0", "x.jpg",
	                                 sizeof(junk), sha));
	others_served();
	/* One ends (refused at finish: nothing of it is kept): a place is free. */
	assert_null(h_upload_rest_env(c, "inflight-0", junk, sizeof(junk), 0,
	                              sizeof(junk), NULL));
	h_assert_error((r = h_upload_finish_env(c, "inflight-0")),
	               RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);
	assert_status(h_upload_begin_env(c, "pt-sato", "inflight-3", "x.jpg",
	                                 sizeof(junk), sha));
	assert_true(metric("\nrenkei_upload_refused_total{limit=\"upload_max_per_user\"} ") >= 1);
	rkc_close(c);
}

static Renkei__V1__Envelope *
post_with(struct rkc *c, uint64_t attachment)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	p.patient = "pt-sato";
	p.client_id = "quota-post";
	p.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	p.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	p.text = "仙骨部の発赤";
	p.attachment_ids = &attachment;
	p.n_attachment_ids = 1;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	return h_call(c, &req);
}

static void
test_upload_quota_counts_what_is_on_no_post(void **state)
{
	struct rkc *c = h_connect_login(srv, "pt.ito", NULL);
	struct buf photo = make_jpeg(320, 240, 3, 0);
	uint8_t sha[32] = {7};
	Renkei__V1__Envelope *r;
	uint64_t att, stored;

	(void)state;
	assert_non_null(c);
	/* A finished photo, on no post yet: it counts at its stored size. */
	r = h_upload_env(c, "pt-sato", "quota-photo", "wound.jpg", photo.p, photo.n);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE);
	att = r->upload_finish_response->attachment->id;
	stored = r->upload_finish_response->attachment->size;
	h_env_free(r);
	free(photo.p);
	assert_true(stored > 0 && stored < QUOTA / 2);

	/* With it, one byte over the quota is refused, the quota itself not. */
	assert_refused(h_upload_begin_env(c, "pt-sato", "quota-big", "a.jpg",
	                                  QUOTA - stored + 1, sha),
	               "upload_quota_mb", "size");
	assert_status(h_upload_begin_env(c, "pt-sato", "quota-big", "a.jpg",
	                                 QUOTA - stored, sha));
	/* Uploads in progress count at their declared size. */
	assert_refused(h_upload_begin_env(c, "pt-sato", "quota-one", "b.jpg", 1, sha),
	               "upload_quota_mb", "size");
	others_served();
	/* On a post, the photo is part of the record and counts no more. */
	r = post_with(c, att);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_status(h_upload_begin_env(c, "pt-sato", "quota-one", "b.jpg",
	                                 stored, sha));
	assert_refused(h_upload_begin_env(c, "pt-sato", "quota-two", "c.jpg", 1, sha),
	               "upload_quota_mb", "size");
	assert_true(metric("\nrenkei_upload_refused_total{limit=\"upload_quota_mb\"} ") >= 3);
	rkc_close(c);
}

/* Every user's uploads in progress (2 MiB here): pt.ito holds 1 MiB in
 * progress by now; another user's 1 MiB does not fit beside it. */
static void
test_uploads_in_progress_in_all(void **state)
{
	struct rkc *c = h_connect_login(srv, "dr.tanaka", NULL);
	uint8_t sha[32] = {9};

	(void)state;
	assert_non_null(c);
	assert_refused(h_upload_begin_env(c, "pt-sato", "all-big", "a.jpg", QUOTA, sha),
	               "upload_max_total_mb", NULL);
	assert_status(h_upload_begin_env(c, "pt-sato", "all-small", "a.jpg", 1000, sha));
	assert_true(metric("\nrenkei_upload_refused_total{limit=\"upload_max_total_mb\"} ") >= 1);
	rkc_close(c);
}

/* ---------------------------------------------------------------- exports */

/* Audit records: board reads, pipelined a hundred at a time. */
static void
many_reads(struct rkc *c, int n)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__TimelineRequest t = RENKEI__V1__TIMELINE_REQUEST__INIT;

	t.patient = "pt-sato";
	t.limit = 1;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	req.timeline_request = &t;
	for (int i = 0; i < n; i += 100) {
		for (int k = i; k < i + 100 && k < n; k++) {
			req.request_id = 100000 + (uint64_t)k;
			assert_int_equal(rkc_send(c, &req), 0);
		}
		for (int k = i; k < i + 100 && k < n;) {
			assert_int_equal(rkc_recv(c, H_TIMEOUT_MS, &e), 0);
			k += e->request_id >= 100000;
			h_env_free(e);
		}
	}
}

static Renkei__V1__Envelope *
export_env(struct rkc *c, int64_t since_ms, uint64_t offset)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AuditExportRequest q = RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;

	q.since_ms = since_ms;
	q.offset = offset;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST;
	req.audit_export_request = &q;
	return h_call(c, &req);
}

/* Start an export that is held for fetching (more than one chunk). */
static void
export_held(struct rkc *c, int64_t since_ms)
{
	Renkei__V1__Envelope *r = export_env(c, since_ms, 0);

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE);
	assert_true(r->audit_export_response->more);
	h_env_free(r);
}

/* Fetch the rest of the export c holds. */
static void
export_rest(struct rkc *c, int64_t since_ms)
{
	Renkei__V1__Envelope *r;
	uint64_t at = 256 * 1024;
	int more;

	do {
		r = export_env(c, since_ms, at);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE);
		at += r->audit_export_response->data.len;
		more = r->audit_export_response->more;
		h_env_free(r);
	} while (more);
}

static void
test_exports_bounded(void **state)
{
	struct rkc *reader = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *a1 = h_connect_login(srv, "audit.inoue", NULL);
	struct rkc *a2 = h_connect_login(srv, "audit.inoue", NULL);
	struct rkc *b = h_connect_login(srv, "audit.two", NULL);
	struct rkc *c = h_connect_login(srv, "audit.three", NULL);
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__AuditQueryRequest aq = RENKEI__V1__AUDIT_QUERY_REQUEST__INIT;
	int64_t mid;
	long refusals;

	(void)state;
	assert_non_null(reader);
	assert_non_null(a1);
	assert_non_null(a2);
	assert_non_null(b);
	assert_non_null(c);
	/* ~3,500 records: over 1 MiB in all; the last 1,000 about 400 KB. */
	many_reads(reader, 2500);
	h_sleep_ms(5);
	mid = h_now_ms();
	many_reads(reader, 1000);

	/* Too large: refused, asking for a shorter range. */
	assert_refused(export_env(a1, 0, 0), "export_max_mb", "until_ms");
	/* One per user: held on one connection, refused on another. */
	export_held(a1, mid);
	assert_refused(export_env(a2, mid, 0), "export_max_per_user", NULL);
	/* Two in all. */
	export_held(b, mid);
	assert_refused(export_env(c, mid, 0), "export_max_concurrent", NULL);
	others_served();
	/* A new export replaces its connection's own. */
	export_held(a1, mid);
	/* Fetched to the end, an export frees its place. */
	export_rest(b, mid);
	export_held(c, mid);
	assert_int_equal(metric("\nrenkei_exports "), 2);
	export_rest(c, mid);

	/* Each refusal is in the trail. */
	aq.action = "audit.export";
	aq.outcome = RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FAILURE;
	aq.limit = 1000;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST;
	req.audit_query_request = &aq;
	r = h_call(b, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE);
	refusals = 0;
	for (size_t i = 0; i < r->audit_query_response->n_records; i++)
		refusals += r->audit_query_response->records[i]->outcome == EXHAUSTED;
	h_env_free(r);
	assert_int_equal(refusals, 3);
	assert_true(metric("\nrenkei_export_refused_total{limit=\"export_max_mb\"} ") == 1);
	assert_true(metric("\nrenkei_export_refused_total{limit=\"export_max_per_user\"} ") == 1);
	assert_true(metric("\nrenkei_export_refused_total{limit=\"export_max_concurrent\"} ") == 1);

	/* Not fetched from for export_idle_s (10 s), a1's export goes. */
	for (int i = 0; i < 150 && metric("\nrenkei_exports_expired_total ") < 1; i++)
		h_sleep_ms(100);
	assert_int_equal(metric("\nrenkei_exports_expired_total "), 1);
	assert_int_equal(metric("\nrenkei_exports "), 0);
	h_assert_error((r = export_env(a1, mid, 256 * 1024)),
	               RENKEI__V1__CODE__FAILED_PRECONDITION);
	h_env_free(r);
	export_held(a2, mid);
	rkc_close(reader);
	rkc_close(a1);
	rkc_close(a2);
	rkc_close(b);
	rkc_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uploads_in_progress_per_user),
	    cmocka_unit_test(test_upload_quota_counts_what_is_on_no_post),
	    cmocka_unit_test(test_uploads_in_progress_in_all),
	    cmocka_unit_test(test_exports_bounded),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * HTTPS for web clients (photos), and what api and the store contribute
 * to /metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/internal.h"
#include "util/text.h"
#include "util/mem.h"

void
api_metrics(struct api *api, char **buf, size_t *len, size_t *cap)
{
	struct store_stats ss;
	const struct api_stats *a = &api->stats;
	static const char *const le[] = {"1", "3", "15", "63", "255", "1023", "+Inf"};
	uint64_t cum = 0;

	store_get_stats(api->store, &ss);
	rk_appendf(buf, len, cap,
	        "# HELP renkei_logins_total Login attempts by result.\n"
	        "# TYPE renkei_logins_total counter\n"
	        "renkei_logins_total{result=\"ok\"} %llu\n"
	        "renkei_logins_total{result=\"failed\"} %llu\n"
	        "# HELP renkei_requests_total Requests received.\n"
	        "# TYPE renkei_requests_total counter\n"
	        "renkei_requests_total %llu\n"
	        "# HELP renkei_errors_total Error answers sent.\n"
	        "# TYPE renkei_errors_total counter\n"
	        "renkei_errors_total %llu\n"
	        "# HELP renkei_posts_committed_total Posts committed.\n"
	        "# TYPE renkei_posts_committed_total counter\n"
	        "renkei_posts_committed_total %llu\n"
	        "# HELP renkei_deliveries_total Live events queued to watchers.\n"
	        "# TYPE renkei_deliveries_total counter\n"
	        "renkei_deliveries_total %llu\n"
	        "# HELP renkei_store_commits_total Group commits.\n"
	        "# TYPE renkei_store_commits_total counter\n"
	        "renkei_store_commits_total %llu\n"
	        "# HELP renkei_store_ops_committed_total Operations committed.\n"
	        "# TYPE renkei_store_ops_committed_total counter\n"
	        "renkei_store_ops_committed_total %llu\n"
	        "# HELP renkei_store_commit_seconds_total Time spent in group commits.\n"
	        "# TYPE renkei_store_commit_seconds_total counter\n"
	        "renkei_store_commit_seconds_total %.6f\n"
	        "# HELP renkei_store_journal_failures_total Batches refused because "
	        "the audit journal could not be written.\n"
	        "# TYPE renkei_store_journal_failures_total counter\n"
	        "renkei_store_journal_failures_total %llu\n"
	        "# HELP renkei_store_write_queue Operations waiting for the writer.\n"
	        "# TYPE renkei_store_write_queue gauge\n"
	        "renkei_store_write_queue %d\n"
	        "# HELP renkei_store_batch_size Operations per group commit.\n"
	        "# TYPE renkei_store_batch_size histogram\n",
	        (unsigned long long)a->logins_ok, (unsigned long long)a->logins_failed,
	        (unsigned long long)a->requests, (unsigned long long)a->errors,
	        (unsigned long long)a->posts, (unsigned long long)a->deliveries,
	        (unsigned long long)ss.commits, (unsigned long long)ss.ops_committed,
	        (double)ss.commit_us_total / 1e6,
	        (unsigned long long)ss.journal_failures, ss.write_queue);
	for (int i = 0; i < 7; i++) {
		cum += ss.batch_hist[i];
		rk_appendf(buf, len, cap, "renkei_store_batch_size_bucket{le=\"%s\"} %llu\n",
		        le[i], (unsigned long long)cum);
	}
	rk_appendf(buf, len, cap,
	        "renkei_store_batch_size_sum %llu\n"
	        "renkei_store_batch_size_count %llu\n",
	        (unsigned long long)ss.ops_committed, (unsigned long long)ss.commits);

	static const char *const ms[] = {"0.001", "0.002", "0.005", "0.01",
	                                 "0.025", "0.05",  "0.1",   "+Inf"};
	cum = 0;
	rk_appendf(buf, len, cap,
	           "# HELP renkei_store_commit_seconds Time per group commit (audit "
	           "journal and fsyncs included).\n"
	           "# TYPE renkei_store_commit_seconds histogram\n");
	for (int i = 0; i < 8; i++) {
		cum += ss.commit_hist[i];
		rk_appendf(buf, len, cap,
		           "renkei_store_commit_seconds_bucket{le=\"%s\"} %llu\n", ms[i],
		           (unsigned long long)cum);
	}
	rk_appendf(buf, len, cap,
	           "renkei_store_commit_seconds_sum %.6f\n"
	           "renkei_store_commit_seconds_count %llu\n",
	           (double)ss.commit_us_total / 1e6, (unsigned long long)cum);

	rk_appendf(buf, len, cap,
	           "# HELP renkei_requests_by_type_total Requests by type.\n"
	           "# TYPE renkei_requests_by_type_total counter\n");
	for (unsigned i = 0; i < renkei__v1__envelope__descriptor.n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &renkei__v1__envelope__descriptor.fields[i];
		if (f->id < 128 && a->by_type[f->id] > 0)
			rk_appendf(buf, len, cap,
			           "renkei_requests_by_type_total{type=\"%s\"} %llu\n",
			           f->name, (unsigned long long)a->by_type[f->id]);
	}
	rk_appendf(buf, len, cap,
	           "# HELP renkei_errors_by_code_total Error answers by code.\n"
	           "# TYPE renkei_errors_by_code_total counter\n");
	for (int i = 1; i < 17; i++)
		if (a->by_code[i] > 0)
			rk_appendf(buf, len, cap,
			           "renkei_errors_by_code_total{code=\"%s\"} %llu\n",
			           rk_err_grpc_name_of_code(i),
			           (unsigned long long)a->by_code[i]);
	rk_appendf(buf, len, cap,
	           "# HELP renkei_upload_bytes_total Photo bytes received.\n"
	           "# TYPE renkei_upload_bytes_total counter\n"
	           "renkei_upload_bytes_total %llu\n"
	           "# HELP renkei_audit_records_total Audit records written.\n"
	           "# TYPE renkei_audit_records_total counter\n"
	           "renkei_audit_records_total %llu\n",
	           (unsigned long long)a->upload_bytes,
	           (unsigned long long)(api->audit_appended
	                                        ? __atomic_load_n(api->audit_appended,
	                                                          __ATOMIC_RELAXED)
	                                        : 0));
}

/* ---- GET /attachments/ID[?thumb=1] with Authorization: Bearer TOKEN */

struct http_req {
	struct api_req r;
	uint64_t http_id;
	char token[AUTH_TOKEN_LEN + 1];
	char peer[64];
	int64_t id;
	bool thumbnail;
	struct auth_session s;
	struct care_attachment att;
	uint8_t *data;
	size_t len;
	int64_t total;
};

static int
http_get_run(struct store_conn *sc, struct store_op *op)
{
	struct http_req *q = (struct http_req *)op;
	struct policy_actor who;
	struct audit_event ev = {0};
	struct audit_entry *e;
	char obj[24];
	int rc;

	rc = auth_session_resume(sc, q->token, rk_now_ms(), &q->r.api->limits, &q->s);
	OPENSSL_cleanse(q->token, sizeof(q->token));
	if (rc != RK_OK)
		return rc;
	who.user_id = q->s.user.id;
	who.profession = q->s.user.profession;
	rc = care_attachment_read(sc, &who, q->id, q->thumbnail, 0, 0, rk_now_ms(),
	                          &q->att, &q->data, &q->len, &q->total, &q->r.st);
	/* The record: this thread knows the actor only now. */
	snprintf(obj, sizeof(obj), "%lld", (long long)q->id);
	ev.actor_user_id = q->s.user.id;
	ev.actor_login = q->s.user.login;
	ev.actor_profession = q->s.user.profession;
	ev.actor_org = q->s.user.org_code[0] ? q->s.user.org_code : NULL;
	ev.session_id = q->s.id;
	ev.address = q->peer;
	ev.device = "https";
	ev.action = "attachment.read";
	ev.patient = rc == RK_OK ? q->att.patient_code : NULL;
	ev.object = obj;
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
	return rc;
}

static void
http_get_reply(struct api_req *r, int rc)
{
	struct http_req *q = (struct http_req *)r;
	struct api *api = q->r.api;
	char extra[200];

	if (rc == RK_ERR_UNAUTHENTICATED) {
		api->tr.http_reply(api->tr.ctx, q->http_id, 401, "text/plain",
		                   "www-authenticate: Bearer\n",
		                   (const uint8_t *)"log in first\n", 13);
	} else if (rc == RK_ERR_NOT_FOUND || rc == RK_ERR_INVALID) {
		api->tr.http_reply(api->tr.ctx, q->http_id, 404, "text/plain", NULL,
		                   (const uint8_t *)"not found\n", 10);
	} else if (rc != RK_OK) {
		api->tr.http_reply(api->tr.ctx, q->http_id, 503, "text/plain", NULL,
		                   (const uint8_t *)"try again\n", 10);
	} else {
		/* A name of our own making: never the client's file name in a
		 * header. */
		snprintf(extra, sizeof(extra),
		         "content-disposition: attachment; filename=\"photo-%lld%s.%s\"\n",
		         (long long)q->id, q->thumbnail ? "-thumb" : "",
		         q->thumbnail || strcmp(q->att.mime, "image/jpeg") == 0 ? "jpg"
		                                                                : "png");
		api->tr.http_reply(api->tr.ctx, q->http_id, 200,
		                   q->thumbnail ? "image/jpeg" : q->att.mime, extra, q->data,
		                   q->len);
	}
	free(q->data);
	api_req_fini(&q->r);
	free(q);
}

void
api_http_get(struct api *api, uint64_t http_id, const char *path,
             const char *query, const char *auth, const char *peer)
{
	struct http_req *q;
	const char *num = path + strlen("/attachments/");
	char *end;
	long long id;

	if (strncmp(path, "/attachments/", 13) != 0) {
		api->tr.http_reply(api->tr.ctx, http_id, 404, "text/plain", NULL,
		                   (const uint8_t *)"not found\n", 10);
		return;
	}
	id = strtoll(num, &end, 10);
	if (*num == '\0' || *end != '\0' || id <= 0) {
		api->tr.http_reply(api->tr.ctx, http_id, 404, "text/plain", NULL,
		                   (const uint8_t *)"not found\n", 10);
		return;
	}
	if (strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != AUTH_TOKEN_LEN) {
		api->tr.http_reply(api->tr.ctx, http_id, 401, "text/plain",
		                   "www-authenticate: Bearer\n",
		                   (const uint8_t *)"log in first\n", 13);
		return;
	}
	q = rk_calloc(1, sizeof(*q));
	q->r.api = api;
	q->http_id = http_id;
	memcpy(q->token, auth + 7, AUTH_TOKEN_LEN);
	snprintf(q->peer, sizeof(q->peer), "%s", peer);
	q->id = id;
	q->thumbnail = strstr(query, "thumb=1") != NULL;
	q->r.op.run = http_get_run;
	q->r.reply = http_get_reply;
	q->r.op.done = api_read_done;
	if (store_submit_read(api->store, &q->r.op) != RK_OK) {
		api->tr.http_reply(api->tr.ctx, http_id, 503, "text/plain", NULL,
		                   (const uint8_t *)"shutting down\n", 14);
		free(q);
	}
}

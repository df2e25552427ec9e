/*
 * What api and the store contribute to /metrics (Prometheus text).
 */
#include <stdio.h>

#include "api/dispatch.h"
#include "notify/notify.h"
#include "util/mem.h"
#include "util/text.h"

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
	        "# HELP renkei_store_refused_full_total Requests answered "
	        "UNAVAILABLE because a store queue was at store_queue_max.\n"
	        "# TYPE renkei_store_refused_full_total counter\n"
	        "renkei_store_refused_full_total %llu\n"
	        "# HELP renkei_logins_refused_busy_total Logins answered "
	        "RESOURCE_EXHAUSTED because login_queue_max password checks were "
	        "waiting.\n"
	        "# TYPE renkei_logins_refused_busy_total counter\n"
	        "renkei_logins_refused_busy_total %llu\n"
	        "# HELP renkei_store_refused_disk_total Operations refused "
	        "because storage was full or into store_disk_reserve_mb.\n"
	        "# TYPE renkei_store_refused_disk_total counter\n"
	        "renkei_store_refused_disk_total %llu\n"
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
	        (unsigned long long)ss.journal_failures,
	        (unsigned long long)ss.refused_full,
	        (unsigned long long)ss.refused_hash_full,
	        (unsigned long long)ss.refused_disk, ss.write_queue);
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
		if (f->id < 160 && a->by_type[f->id] > 0)
			rk_appendf(buf, len, cap,
			           "renkei_requests_by_type_total{type=\"%s\"} %llu\n",
			           f->name, (unsigned long long)a->by_type[f->id]);
	}
	rk_appendf(buf, len, cap,
	           "# HELP renkei_requests_by_class_total Requests by rate class.\n"
	           "# TYPE renkei_requests_by_class_total counter\n");
	for (int i = 0; i < API_RATE_COUNT; i++)
		rk_appendf(buf, len, cap,
		           "renkei_requests_by_class_total{class=\"%s\"} %llu\n",
		           api_rate_name((enum api_rate)i),
		           (unsigned long long)a->by_rate[i]);
	rk_appendf(buf, len, cap,
	           "# HELP renkei_rate_limited_total Requests refused by the "
	           "per-session rate, by class.\n"
	           "# TYPE renkei_rate_limited_total counter\n");
	for (int i = 0; i < API_RATE_COUNT; i++)
		if (i == API_RATE_READ || i == API_RATE_WRITE || i == API_RATE_BULK)
			rk_appendf(buf, len, cap,
			           "renkei_rate_limited_total{class=\"%s\"} %llu\n",
			           api_rate_name((enum api_rate)i),
			           (unsigned long long)a->rate_limited[i]);
	rk_appendf(buf, len, cap,
	           "# HELP renkei_rx_paused_total Times a connection reached "
	           "max_inflight and its socket was not read for a while.\n"
	           "# TYPE renkei_rx_paused_total counter\n"
	           "renkei_rx_paused_total %llu\n",
	           (unsigned long long)a->rx_paused);
	rk_appendf(buf, len, cap,
	           "# HELP renkei_errors_by_code_total Error answers by code.\n"
	           "# TYPE renkei_errors_by_code_total counter\n");
	for (int i = 1; i < 17; i++)
		if (a->by_code[i] > 0)
			rk_appendf(buf, len, cap,
			           "renkei_errors_by_code_total{code=\"%s\"} %llu\n",
			           rk_err_grpc_name_of_code(i),
			           (unsigned long long)a->by_code[i]);
	static const char *const up_limit[] = {NULL, "upload_max_bytes",
	                                       "upload_max_per_user", "upload_quota_mb",
	                                       "upload_max_total_mb"};
	rk_appendf(buf, len, cap,
	           "# HELP renkei_upload_refused_total New photo uploads refused "
	           "RESOURCE_EXHAUSTED, by the setting that refused them.\n"
	           "# TYPE renkei_upload_refused_total counter\n");
	for (int i = 1; i < 5; i++)
		rk_appendf(buf, len, cap,
		           "renkei_upload_refused_total{limit=\"%s\"} %llu\n",
		           up_limit[i], (unsigned long long)a->upload_refused[i]);
	static const char *const ex_limit[API_EXPORT_LIMITS] = {
		[API_EXPORT_LIMIT_PER_USER] = "export_max_per_user",
		[API_EXPORT_LIMIT_CONCURRENT] = "export_max_concurrent",
		[API_EXPORT_LIMIT_SIZE] = "export_max_mb",
	};
	rk_appendf(buf, len, cap,
	           "# HELP renkei_export_refused_total Audit exports refused "
	           "RESOURCE_EXHAUSTED, by the setting that refused them.\n"
	           "# TYPE renkei_export_refused_total counter\n");
	for (int i = 0; i < API_EXPORT_LIMITS; i++)
		rk_appendf(buf, len, cap,
		           "renkei_export_refused_total{limit=\"%s\"} %llu\n",
		           ex_limit[i], (unsigned long long)a->export_refused[i]);
	rk_appendf(buf, len, cap,
	           "# HELP renkei_exports Audit exports being made or held for "
	           "fetching now.\n"
	           "# TYPE renkei_exports gauge\n"
	           "renkei_exports %d\n"
	           "# HELP renkei_exports_expired_total Audit exports dropped "
	           "because they were not fetched from for export_idle_s.\n"
	           "# TYPE renkei_exports_expired_total counter\n"
	           "renkei_exports_expired_total %llu\n",
	           api->exports, (unsigned long long)a->exports_expired);
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
	rk_appendf(buf, len, cap,
	           "# HELP renkei_auth_attacks_total Logins that reached many recent "
	           "failures from all addresses together (AUTH-ATTACK).\n"
	           "# TYPE renkei_auth_attacks_total counter\n"
	           "renkei_auth_attacks_total %llu\n",
	           (unsigned long long)a->auth_attacks);
	/* Notices: counts only, never who or what about. */
	static const char *const why[] = {"post", "addressed", "overdue",
	                                  "escalation"};
	rk_appendf(buf, len, cap,
	           "# HELP renkei_notices_requested_total Users to be told that "
	           "something is waiting, by reason.\n"
	           "# TYPE renkei_notices_requested_total counter\n");
	for (int i = 0; i < 4; i++)
		rk_appendf(buf, len, cap,
		           "renkei_notices_requested_total{reason=\"%s\"} %llu\n", why[i],
		           (unsigned long long)a->notices_requested[i]);
	struct notify_stats ns = {0};
	if (api->notify != NULL)
		notify_get_stats(api->notify, &ns);
	rk_appendf(buf, len, cap,
	           "# HELP renkei_notices_unresolved_total Notices dropped before "
	           "their recipients were looked up (store queue full).\n"
	           "# TYPE renkei_notices_unresolved_total counter\n"
	           "renkei_notices_unresolved_total %llu\n"
	           "# HELP renkei_notices_enqueued_total Device notices handed to "
	           "the notice thread.\n"
	           "# TYPE renkei_notices_enqueued_total counter\n"
	           "renkei_notices_enqueued_total %llu\n"
	           "# HELP renkei_notices_batched_total Of those, merged into a "
	           "notice already waiting for the same device.\n"
	           "# TYPE renkei_notices_batched_total counter\n"
	           "renkei_notices_batched_total %llu\n"
	           "# HELP renkei_notices_sent_total Notices delivered, by channel.\n"
	           "# TYPE renkei_notices_sent_total counter\n"
	           "renkei_notices_sent_total{channel=\"push\"} %llu\n"
	           "renkei_notices_sent_total{channel=\"email\"} %llu\n"
	           "# HELP renkei_notices_failed_total Notices given up, by "
	           "channel.\n"
	           "# TYPE renkei_notices_failed_total counter\n"
	           "renkei_notices_failed_total{channel=\"push\"} %llu\n"
	           "renkei_notices_failed_total{channel=\"email\"} %llu\n"
	           "# HELP renkei_notices_retries_total Deliveries tried again.\n"
	           "# TYPE renkei_notices_retries_total counter\n"
	           "renkei_notices_retries_total %llu\n"
	           "# HELP renkei_notices_dropped_total Notices dropped: "
	           "notice_queue_max were waiting.\n"
	           "# TYPE renkei_notices_dropped_total counter\n"
	           "renkei_notices_dropped_total %llu\n"
	           "# HELP renkei_notices_refused_private_total Deliveries refused "
	           "because the endpoint resolved to a private address.\n"
	           "# TYPE renkei_notices_refused_private_total counter\n"
	           "renkei_notices_refused_private_total %llu\n"
	           "# HELP renkei_notice_subscriptions_removed_total Push "
	           "subscriptions removed because the push service said they are "
	           "gone (404/410).\n"
	           "# TYPE renkei_notice_subscriptions_removed_total counter\n"
	           "renkei_notice_subscriptions_removed_total %llu\n",
	           (unsigned long long)a->notices_unresolved,
	           (unsigned long long)ns.enqueued, (unsigned long long)ns.batched,
	           (unsigned long long)ns.sent[1], (unsigned long long)ns.sent[2],
	           (unsigned long long)ns.failed[1], (unsigned long long)ns.failed[2],
	           (unsigned long long)ns.retries, (unsigned long long)ns.dropped,
	           (unsigned long long)ns.refused_private,
	           (unsigned long long)ns.removed);
}

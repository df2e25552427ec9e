/*
 * HTTPS for web clients (attachments) and the metrics api and the store
 * contribute to /metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "util/mem.h"

static void
appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int need;

	for (;;) {
		va_start(ap, fmt);
		need = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (need >= 0 && (size_t)need < *cap - *len) {
			*len += (size_t)need;
			return;
		}
		*cap = *cap * 2 + (size_t)(need > 0 ? need : 0);
		*buf = rk_realloc(*buf, *cap);
	}
}

void
api_metrics(struct api *api, char **buf, size_t *len, size_t *cap)
{
	struct store_stats ss;
	const struct api_stats *a = &api->stats;
	static const char *const le[] = {"1", "3", "15", "63", "255", "1023", "+Inf"};
	uint64_t cum = 0;

	store_get_stats(api->store, &ss);
	appendf(buf, len, cap,
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
		appendf(buf, len, cap, "renkei_store_batch_size_bucket{le=\"%s\"} %llu\n",
		        le[i], (unsigned long long)cum);
	}
	appendf(buf, len, cap,
	        "renkei_store_batch_size_sum %llu\n"
	        "renkei_store_batch_size_count %llu\n",
	        (unsigned long long)ss.ops_committed, (unsigned long long)ss.commits);
}

void
api_http_get(struct api *api, uint64_t http_id, const char *path,
             const char *query, const char *auth, const char *peer)
{
	(void)query;
	(void)auth;
	(void)peer;
	(void)path;
	api->tr.http_reply(api->tr.ctx, http_id, 404, "text/plain", NULL,
	                   (const uint8_t *)"not found\n", 10);
}

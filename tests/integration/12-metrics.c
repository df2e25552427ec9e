/*
 * GET /metrics: Prometheus text exposition format, checked line by line —
 * every line a comment (# HELP / # TYPE) or a valid sample, a # TYPE for
 * every family before its samples — and the counters move with traffic.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static struct h_server *srv;

static int
group_setup(void **state)
{
	(void)state;
	srv = h_server_up(NULL);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

static int
name_char(int c, int first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* Parse a metric name at *p; copy it to out. 0 or -1. */
static int
parse_name(const char **p, char *out, size_t cap)
{
	size_t n = 0;

	if (!name_char((unsigned char)**p, 1))
		return -1;
	while (name_char((unsigned char)**p, 0)) {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *(*p)++;
	}
	out[n] = '\0';
	return 0;
}

/* The family a sample belongs to: histograms add _bucket/_sum/_count. */
static void
family_of(const char *name, const char *types, char *fam, size_t cap)
{
	static const char *const suffix[] = {"_bucket", "_sum", "_count"};

	snprintf(fam, cap, "%s", name);
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(name), s = strlen(suffix[i]);
		if (n > s && strcmp(name + n - s, suffix[i]) == 0) {
			char base[128], key[160];
			snprintf(base, sizeof(base), "%.*s", (int)(n - s), name);
			snprintf(key, sizeof(key), "\n%s histogram\n", base);
			if (strstr(types, key) != NULL) {
				snprintf(fam, cap, "%s", base);
				return;
			}
		}
	}
}

/* Check one sample line; returns the metric name in name. */
static int
check_sample(const char *line, char *name, size_t cap)
{
	const char *p = line;
	char *end;

	if (parse_name(&p, name, cap) != 0)
		return -1;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			char label[128];
			if (parse_name(&p, label, sizeof(label)) != 0 || *p++ != '=' ||
			    *p++ != '"')
				return -1;
			while (*p != '"') {
				if (*p == '\0' || *p == '\n')
					return -1;
				if (*p == '\\')
					p++;
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return -1;
		}
		p++;
	}
	if (*p++ != ' ')
		return -1;
	if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 || strcmp(p, "NaN") == 0)
		return 0;
	strtod(p, &end);
	return end != p && *end == '\0' ? 0 : -1;
}

static double
sample_value(const char *body, const char *series)
{
	const char *at = strstr(body, series);
	return at != NULL ? strtod(at + strlen(series), NULL) : -1;
}

static void
test_metrics_parse_and_move(void **state)
{
	char *body = NULL, *copy, *line, *save = NULL;
	char types[8192] = "\n";
	int samples = 0, families = 0;
	struct rkc *c;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	(void)state;
	/* Some traffic first. */
	c = h_connect_login(srv, "ns.kobayashi", NULL);
	assert_non_null(c);
	p.patient = "pt-sato";
	p.client_id = "metrics-1";
	p.kind = RENKEI__V1__POST_KIND__GENERAL;
	p.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_ALL;
	p.text = "テスト";
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	r = h_call(c, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);

	assert_int_equal(h_https_get(srv, "/metrics", &body), 200);
	assert_non_null(body);
	copy = strdup(body);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], fam[128], key[160];
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			const char *q = line + 7;
			assert_int_equal(parse_name(&q, name, sizeof(name)), 0);
			assert_true(*q == ' ');
			q++;
			assert_true(strcmp(q, "counter") == 0 || strcmp(q, "gauge") == 0 ||
			            strcmp(q, "histogram") == 0 || strcmp(q, "summary") == 0 ||
			            strcmp(q, "untyped") == 0);
			snprintf(key, sizeof(key), "%s %s\n", name, q);
			assert_true(strlen(types) + strlen(key) < sizeof(types));
			strcat(types, key);
			families++;
			continue;
		}
		assert_true(line[0] != '#'); /* no other comments */
		if (check_sample(line, name, sizeof(name)) != 0)
			fail_msg("not a valid sample line: %s", line);
		/* Its family was typed before it. */
		family_of(name, types, fam, sizeof(fam));
		snprintf(key, sizeof(key), "\n%s ", fam);
		if (strstr(types, key) == NULL)
			fail_msg("sample before its # TYPE: %s", line);
		samples++;
	}
	printf("metrics: %d families, %d samples, all valid\n", families, samples);
	assert_true(families >= 10);
	assert_true(sample_value(body, "\nrenkei_logins_total{result=\"ok\"} ") >= 1);
	assert_true(sample_value(body, "\nrenkei_posts_committed_total ") >= 1);
	assert_true(sample_value(body, "\nrenkei_connections ") >= 1);
	assert_true(sample_value(body, "\nrenkei_audit_records_total ") >= 2);
	assert_true(sample_value(body,
	                         "\nrenkei_requests_by_type_total{type=\"create_post_request\"} ") >= 1);
	assert_non_null(strstr(body, "\nrenkei_store_commit_seconds_bucket{le=\"+Inf\"} "));
	free(copy);
	free(body);
	rkc_close(c);
}

static void
test_metrics_access_off(void **state)
{
	static const char *const args[] = {"--metrics-access", "off", NULL};
	struct h_server *s2 = h_server_up(args);
	char *body = NULL;

	(void)state;
	assert_non_null(s2);
	assert_int_equal(h_https_get(s2, "/metrics", &body), 403);
	free(body);
	assert_int_equal(h_server_free(s2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_parse_and_move),
		cmocka_unit_test(test_metrics_access_off),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * 15-bounds: sockets are counted from the TCP accept to their end, and
 * past max_connections_per_address (4 here) another from the same
 * address is closed at accept, before TLS; when one ends, its place is
 * free again. WebSocket connections and HTTPS requests count alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PER_ADDRESS 4

static int
setup(void **state)
{
	static const char *const args[] = {"--max-connections-per-address", "4",
	                                   NULL};
	struct h_server *s = h_server_up(args);

	*state = s;
	return s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return h_server_free(*state);
}

/* The value of a metric line "name value" in /metrics, or -1. */
static long
metric(struct h_server *s, const char *name)
{
	char *body = NULL, *at;
	long v = -1;

	if (h_https_get(s, "/metrics", &body) == 200 && body != NULL &&
	    (at = strstr(body, name)) != NULL)
		v = strtol(at + strlen(name), NULL, 10);
	free(body);
	return v;
}

static void
test_per_address_limit(void **state)
{
	struct h_server *s = *state;
	struct rkc *c[PER_ADDRESS], *extra = NULL;
	char *body = NULL;

	for (int i = 0; i < PER_ADDRESS; i++)
		assert_non_null(c[i] = h_connect_login(s, "ns.kobayashi", NULL));
	/* The fifth socket, WebSocket or HTTPS, is closed at accept. */
	extra = h_connect(s);
	assert_null(extra);
	assert_int_equal(h_https_get(s, "/healthz", &body), -1);
	free(body);
	/* The others are served all along. */
	for (int i = 0; i < PER_ADDRESS; i++) {
		Renkei__V1__Envelope *r = h_whoami_env(c[i]);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
		h_env_free(r);
	}
	/* One ends: its place is free again (the server counts the end of
	 * the socket, a moment after the client's close). */
	rkc_close(c[0]);
	for (int i = 0; i < 100 && extra == NULL; i++) {
		h_sleep_ms(50);
		extra = h_connect(s);
	}
	assert_non_null(extra);
	rkc_close(extra);
	for (int i = 1; i < PER_ADDRESS; i++)
		rkc_close(c[i]);
	/* All gone: /metrics can be read, and tells of the refusals. */
	long refused = -1;
	for (int i = 0; i < 100 && refused < 0; i++) {
		h_sleep_ms(50);
		refused = metric(s, "\nrenkei_refused_connections_total{reason=\"per_address\"} ");
	}
	assert_true(refused >= 2);
	assert_int_equal(metric(s, "\nrenkei_sockets "), 1); /* this request */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_per_address_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * A watcher that stops reading is culled when its bounded queue fills —
 * the server's memory stays bounded and everyone else keeps getting live
 * posts — and afterwards it resyncs from its cursor without losing a post.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"

#define NPOSTS 3000

static struct h_server *srv;

static int
group_setup(void **state)
{
	static const char *const args[] = {"--log-level", "debug", "--out-queue-frames", "64",
	                                   "--out-queue-bytes", "131072", NULL};
	(void)state;
	srv = h_server_up(args);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

static Renkei__V1__Envelope *
sync_env(struct rkc *c, uint64_t cursor, int live_only)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest s = RENKEI__V1__SYNC_REQUEST__INIT;
	char *patients[] = {"pt-sato"};

	s.patients = patients;
	s.n_patients = 1;
	s.cursor = cursor;
	s.live_only = live_only;
	s.limit = 1000;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	req.sync_request = &s;
	return h_call(c, &req);
}

static void
test_slow_watcher_culled_then_resyncs(void **state)
{
	char *token = NULL, text[1100];
	struct rkc *slow, *fast, *poster;
	Renkei__V1__Envelope *r;
	uint64_t cursor, first_id = 0;
	long rss_before, rss_after;
	int small = 4096, fast_got = 0, acked = 0;

	(void)state;
	slow = h_connect_login(srv, "ns.kobayashi", &token);
	fast = h_connect_login(srv, "cm.nakamura", NULL);
	poster = h_connect_login(srv, "dr.tanaka", NULL);
	assert_non_null(slow);
	assert_non_null(fast);
	assert_non_null(poster);
	r = sync_env(slow, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	cursor = r->sync_response->cursor;
	h_env_free(r);
	r = sync_env(fast, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	/* The slow one stops reading, with a small window so that the
	 * kernel's buffers do not hide it for long. */
	setsockopt(rkc_fd(slow), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	rss_before = h_server_rss_kib(srv);

	/* 3000 notes of ~1 KB, pipelined; the fast watcher reads along. */
	memset(text, 0, sizeof(text));
	for (int i = 0; i < 340; i++)
		memcpy(text + 3 * i, "記", 3); /* 1020 bytes of Japanese */
	for (int i = 0; i < NPOSTS; i++) {
		Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;
		char cid[32];
		snprintf(cid, sizeof(cid), "slow-%d", i);
		p.patient = "pt-sato";
		p.client_id = cid;
		p.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
		p.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
		p.text = text;
		req.request_id = (uint64_t)(10 + i);
		req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
		req.create_post_request = &p;
		assert_int_equal(rkc_send(poster, &req), 0);
		if (i % 20 == 19) {
			/* Keep the poster's answers and the fast watcher's events
			 * flowing: each has a 64-frame queue too. */
			Renkei__V1__Envelope *e = NULL;
			while (acked < i - 4 && rkc_recv(poster, 1000, &e) == 0) {
				if (e->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
					if (first_id == 0)
						first_id = e->post_response->post->id;
					acked++;
				}
				h_env_free(e);
			}
			while (fast_got < acked && (r = h_next_post_event(fast, 1000)) != NULL) {
				fast_got++;
				h_env_free(r);
			}
		}
	}
	while (acked < NPOSTS) {
		Renkei__V1__Envelope *e = NULL;
		assert_int_equal(rkc_recv(poster, H_TIMEOUT_MS, &e), 0);
		if (e->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
			if (first_id == 0)
				first_id = e->post_response->post->id;
			acked++;
		}
		h_env_free(e);
	}
	/* Everyone else got every post. */
	while (fast_got < NPOSTS && (r = h_next_post_event(fast, H_TIMEOUT_MS)) != NULL) {
		fast_got++;
		h_env_free(r);
	}
	assert_int_equal(fast_got, NPOSTS);

	/* The slow one was culled, with a reason, and memory stayed bounded. */
	assert_int_equal(h_server_wait_log(srv, "NET-CULL", H_TIMEOUT_MS), 0);
	rss_after = h_server_rss_kib(srv);
	printf("server RSS %ld KiB before, %ld KiB after %d posts to a stuck watcher\n",
	       rss_before, rss_after, NPOSTS);
	/* Bounded: the stuck watcher's queue is dropped, not grown. Under
	 * AddressSanitizer freed memory sits in a 256 MiB quarantine, so
	 * only the plain build can hold the server to a tight figure. */
#if defined(__SANITIZE_ADDRESS__)
	assert_true(rss_after - rss_before < 512 * 1024);
#else
	assert_true(rss_after - rss_before < 64 * 1024);
#endif
	/* The close frame (1008 and the reason) cannot get through to a
	 * client that stopped reading with megabytes in its socket buffers
	 * (06-slow-client checks the close code on a burst). What matters is
	 * that the server lets go at once: the connection is reset within
	 * close_grace_s (2 s) of the cull, not kept until the ping hang-up
	 * (75 s), and the culled client sees its end as soon as it reads. */
	assert_int_equal(h_server_wait_log(srv, "event=NET-CLOSE-RESET", H_TIMEOUT_MS),
	                 0);
	int64_t cull_ms = h_server_log_time_ms(srv, "event=NET-CULL");
	int64_t reset_ms = h_server_log_time_ms(srv, "event=NET-CLOSE-RESET");
	printf("culled at %lld, reset %lld ms later\n", (long long)cull_ms,
	       (long long)(reset_ms - cull_ms));
	assert_true(cull_ms > 0 && reset_ms >= cull_ms);
	assert_true(reset_ms - cull_ms <= 2000 + 1500);
	long dropped = 0;
	int64_t t0 = h_mono_ms();
	int code = h_wait_close(slow, 2 * H_TIMEOUT_MS, &dropped);
	int64_t took = h_mono_ms() - t0;
	printf("culled watcher: end (%s, close code %d) seen %lld ms after it "
	       "read again, after %ld buffered envelopes\n",
	       rkc_last_error(slow), code, (long long)took, dropped);
	assert_int_not_equal(code, -1);
	assert_true(took < 3000);
	rkc_abort(slow);

	/* It comes back with its cursor and gets every one, in order. */
	slow = h_connect(srv);
	assert_non_null(slow);
	r = h_resume_env(slow, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	int got = 0;
	uint64_t last = 0;
	for (;;) {
		r = sync_env(slow, cursor, 0);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
		for (size_t i = 0; i < r->sync_response->n_posts; i++) {
			Renkei__V1__Post *p = r->sync_response->posts[i];
			assert_true(p->id > last);
			last = p->id;
			if (strncmp(p->client_id, "slow-", 5) == 0)
				got++;
		}
		cursor = r->sync_response->cursor;
		int more = r->sync_response->more;
		h_env_free(r);
		if (!more)
			break;
	}
	assert_int_equal(got, NPOSTS);
	free(token);
	rkc_close(slow);
	rkc_close(fast);
	rkc_close(poster);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_watcher_culled_then_resyncs),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

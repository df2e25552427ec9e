/*
 * Care boards against the real server: live delivery to the team and
 * never to outsiders, resync of what a client missed, idempotent posts,
 * durability of acknowledged posts across SIGKILL, and bad input on every
 * board request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include <cmocka.h>

#include "harness.h"

#define NBOARDS 20

static struct h_server *srv;

/* ------------------------------------------------------------- helpers */

static Renkei__V1__Envelope *
post_env(struct rkc *c, const char *patient, const char *client_id,
         const char *text, Renkei__V1__Visibility vis)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	p.patient = (char *)patient;
	p.client_id = (char *)client_id;
	p.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	p.visibility = vis;
	p.text = (char *)text;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	return h_call(c, &req);
}

/* Post and return the stored post's id (fails the test otherwise). */
static uint64_t
post_ok(struct rkc *c, const char *patient, const char *client_id,
        const char *text)
{
	Renkei__V1__Envelope *r =
		post_env(c, patient, client_id, text, RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL);
	uint64_t id;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	return id;
}

static Renkei__V1__Envelope *
sync_env(struct rkc *c, const char *const *patients, size_t n, uint64_t cursor,
         int live_only, uint32_t limit)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest s = RENKEI__V1__SYNC_REQUEST__INIT;

	s.patients = (char **)patients;
	s.n_patients = n;
	s.cursor = cursor;
	s.live_only = live_only;
	s.limit = limit;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	req.sync_request = &s;
	return h_call(c, &req);
}

static Renkei__V1__Envelope *
timeline_env(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__TimelineRequest t = RENKEI__V1__TIMELINE_REQUEST__INIT;

	t.patient = (char *)patient;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	req.timeline_request = &t;
	return h_call(c, &req);
}

/* The next PostEvent within timeout_ms, or NULL. */
static Renkei__V1__Envelope *
next_post_event(struct rkc *c, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;

	for (;;) {
		Renkei__V1__Envelope *e = NULL;
		int64_t left = end - h_mono_ms();
		if (left <= 0 || rkc_next_event(c, (int)left, &e) != 0)
			return NULL;
		if (e->body_case == RENKEI__V1__ENVELOPE__BODY_EVENT &&
		    e->event->kind_case == RENKEI__V1__EVENT__KIND_POST)
			return e;
		h_env_free(e);
	}
}

/* ------------------------------------------------------------- setup */

static int
group_setup(void **state)
{
	char path[400], cmd[1200];
	FILE *f;

	(void)state;
	srv = h_server_new();
	if (srv == NULL)
		return -1;
	/* Twenty more boards with the nurse and the physician on them. */
	snprintf(path, sizeof(path), "%s/boards.json", srv->dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "{\"patients\": [");
	for (int i = 0; i < NBOARDS; i++)
		fprintf(f,
		        "%s{\"id\": \"pt-b%02d\", \"name\": \"テスト %02d\", \"sheet\": ["
		        "{\"login\": \"dr.tanaka\", \"team_role\": \"主治医\", \"primary\": true},"
		        "{\"login\": \"ns.kobayashi\", \"team_role\": \"訪問看護\"}]}",
		        i ? "," : "", i, i);
	fprintf(f, "]}\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s import --data %s %s", h_server_bin(), srv->dir,
	         path);
	if (h_sh(cmd, NULL) != 0)
		return -1;
	return h_server_start(srv, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

/* --------------------------------------------------------------- tests */

static void
test_live_to_team_never_to_outsider(void **state)
{
	const char *yamada[] = {"pt-yamada"};
	struct rkc *a = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *b = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *c = h_connect_login(srv, "dr.outsider", NULL);
	Renkei__V1__Envelope *r, *ev;
	uint64_t id;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	r = sync_env(b, yamada, 1, 0, 1, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	/* C may watch "all my boards" — it has none — and is refused this one. */
	r = sync_env(c, NULL, 0, 0, 1, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	assert_int_equal(r->sync_response->n_patients, 0);
	h_env_free(r);
	r = sync_env(c, yamada, 1, 0, 0, 0);
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);

	id = post_ok(a, "pt-yamada", "live-1", "夕方訪問。状態安定。");
	ev = next_post_event(b, H_TIMEOUT_MS);
	assert_non_null(ev);
	assert_int_equal(ev->event->post->post->id, id);
	assert_string_equal(ev->event->post->post->text, "夕方訪問。状態安定。");
	assert_string_equal(ev->event->post->post->patient, "pt-yamada");
	h_env_free(ev);

	r = timeline_env(c, "pt-yamada");
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	r = post_env(c, "pt-yamada", "out-1", "should not land",
	             RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	/* Nothing of that board ever reaches C. */
	post_ok(a, "pt-yamada", "live-2", "二回目");
	ev = next_post_event(c, 1000);
	assert_null(ev);
	/* And B did get the second one, so the wait above was long enough. */
	ev = next_post_event(b, H_TIMEOUT_MS);
	assert_non_null(ev);
	h_env_free(ev);
	rkc_close(a);
	rkc_close(b);
	rkc_close(c);
}

static void
test_resync_500_on_20_boards(void **state)
{
	const char *codes[NBOARDS];
	char names[NBOARDS][16];
	struct rkc *x, *w;
	Renkei__V1__Envelope *r;
	uint64_t cursor, last_seq[NBOARDS] = {0};
	uint64_t posted[500];
	int got = 0, pages = 0;
	char token_buf[64];
	char *token = NULL;

	(void)state;
	for (int i = 0; i < NBOARDS; i++) {
		snprintf(names[i], sizeof(names[i]), "pt-b%02d", i);
		codes[i] = names[i];
	}
	/* X watches every board, is live, then goes away with its cursor. */
	x = h_connect_login(srv, "dr.tanaka", &token);
	assert_non_null(x);
	r = sync_env(x, codes, NBOARDS, 0, 1, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	cursor = r->sync_response->cursor;
	h_env_free(r);
	rkc_abort(x);

	w = h_connect_login(srv, "ns.kobayashi", NULL);
	assert_non_null(w);
	for (int i = 0; i < 500; i++) {
		char cid[32], text[64];
		snprintf(cid, sizeof(cid), "missed-%d", i);
		snprintf(text, sizeof(text), "見逃し投稿 %d", i);
		posted[i] = post_ok(w, codes[i % NBOARDS], cid, text);
	}

	/* X comes back with its cursor: exactly those 500, in order per
	 * board, no duplicates, then live. */
	x = h_connect(srv);
	assert_non_null(x);
	r = h_resume_env(x, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	for (;;) {
		r = sync_env(x, codes, NBOARDS, cursor, 0, 200);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
		pages++;
		for (size_t i = 0; i < r->sync_response->n_posts; i++) {
			Renkei__V1__Post *p = r->sync_response->posts[i];
			int b = atoi(p->patient + 4);
			assert_true(got < 500);
			assert_int_equal(p->id, posted[got]); /* commit order */
			assert_true(p->seq > last_seq[b]);    /* in order per board */
			last_seq[b] = p->seq;
			got++;
		}
		cursor = r->sync_response->cursor;
		int more = r->sync_response->more;
		h_env_free(r);
		if (!more)
			break;
	}
	assert_int_equal(got, 500);
	assert_true(pages >= 3);
	uint64_t live = post_ok(w, codes[3], "after-resync", "その後");
	r = next_post_event(x, H_TIMEOUT_MS);
	assert_non_null(r);
	assert_int_equal(r->event->post->post->id, live);
	h_env_free(r);
	assert_null(next_post_event(x, 300)); /* nothing twice */
	(void)token_buf;
	free(token);
	rkc_close(x);
	rkc_close(w);
}

static void
test_same_client_id_three_times(void **state)
{
	char *token = NULL;
	struct rkc *a = h_connect_login(srv, "ns.kobayashi", &token);
	Renkei__V1__Envelope *r1, *r2, *r3, *t;
	size_t count = 0;

	(void)state;
	assert_non_null(a);
	r1 = post_env(a, "pt-sato", "dup-1", "一度だけ", RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	r2 = post_env(a, "pt-sato", "dup-1", "一度だけ", RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	rkc_abort(a);
	a = h_connect(srv);
	h_env_free(h_resume_env(a, token));
	r3 = post_env(a, "pt-sato", "dup-1", "一度だけ", RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	h_assert_body(r1, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_assert_body(r2, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_assert_body(r3, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_false(r1->post_response->duplicate);
	assert_true(r2->post_response->duplicate);
	assert_true(r3->post_response->duplicate);
	assert_int_equal(r1->post_response->post->id, r2->post_response->post->id);
	assert_int_equal(r1->post_response->post->id, r3->post_response->post->id);
	t = timeline_env(a, "pt-sato");
	h_assert_body(t, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < t->timeline_response->n_posts; i++)
		count += strcmp(t->timeline_response->posts[i]->client_id, "dup-1") == 0;
	assert_int_equal(count, 1);
	h_env_free(r1);
	h_env_free(r2);
	h_env_free(r3);
	h_env_free(t);
	free(token);
	rkc_close(a);
}

static void
test_bad_input_changes_nothing(void **state)
{
	struct rkc *a = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r, *t0, *t1;
	char big[16500];
	uint64_t drs;

	(void)state;
	assert_non_null(a);
	assert_non_null(d);
	t0 = timeline_env(a, "pt-sato");
	h_assert_body(t0, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);

	/* missing patient */
	r = post_env(a, "", "bad-1", "x", RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "patient");
	h_env_free(r);
	/* unknown patient: the same answer as a patient one is not on */
	r = post_env(a, "pt-nobody", "bad-2", "x", RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	/* invalid UTF-8 */
	r = post_env(a, "pt-sato", "bad-3", "\xc3\x28 broken", RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "text");
	h_env_free(r);
	/* oversize text */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = post_env(a, "pt-sato", "bad-4", big, RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "text");
	h_env_free(r);
	/* vitals out of range */
	{
		Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;
		Renkei__V1__Vitals v = RENKEI__V1__VITALS__INIT;
		v.spo2 = 130;
		p.patient = "pt-sato";
		p.client_id = "bad-5";
		p.kind = RENKEI__V1__POST_KIND__VITALS;
		p.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
		p.text = "SpO2 130?";
		p.vitals = &v;
		req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
		req.create_post_request = &p;
		r = h_call(a, &req);
		h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
		assert_string_equal(r->error->field, "vitals.spo2");
		h_env_free(r);
	}
	/* amending a post that is not yours */
	drs = post_ok(d, "pt-sato", "dr-own-1", "医師の記録");
	{
		Renkei__V1__AmendPostRequest am = RENKEI__V1__AMEND_POST_REQUEST__INIT;
		am.post_id = drs;
		am.client_id = "bad-6";
		am.text = "書き換え";
		req.body_case = RENKEI__V1__ENVELOPE__BODY_AMEND_POST_REQUEST;
		req.amend_post_request = &am;
		r = h_call(a, &req);
		h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
		h_env_free(r);
	}
	/* acknowledging a post you cannot see: as if it did not exist */
	{
		struct rkc *o = h_connect_login(srv, "dr.outsider", NULL);
		Renkei__V1__AckRequest ak = RENKEI__V1__ACK_REQUEST__INIT;
		ak.post_id = drs;
		req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST;
		req.ack_request = &ak;
		r = h_call(o, &req);
		h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
		h_env_free(r);
		ak.post_id = 987654321;
		r = h_call(o, &req);
		h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
		h_env_free(r);
		rkc_close(o);
	}
	/* Nothing changed but the physician's one real post. */
	t1 = timeline_env(a, "pt-sato");
	h_assert_body(t1, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	assert_int_equal(t1->timeline_response->last_seq,
	                 t0->timeline_response->last_seq + 1);
	h_env_free(t0);
	h_env_free(t1);
	rkc_close(a);
	rkc_close(d);
}

static void
test_ack_list(void **state)
{
	struct rkc *a = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__AckRequest ak = RENKEI__V1__ACK_REQUEST__INIT;
	Renkei__V1__AckListRequest al = RENKEI__V1__ACK_LIST_REQUEST__INIT;
	uint64_t id;
	int found = 0;

	(void)state;
	id = post_ok(a, "pt-sato", "urgent-1", "至急：転倒あり");
	ak.post_id = id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST;
	req.ack_request = &ak;
	r = h_call(d, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE);
	h_env_free(r);
	al.post_id = id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_LIST_REQUEST;
	req.ack_list_request = &al;
	r = h_call(a, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ACK_LIST_RESPONSE);
	assert_int_equal(r->ack_list_response->n_acked, 1);
	assert_string_equal(r->ack_list_response->acked[0]->user->login, "dr.tanaka");
	for (size_t i = 0; i < r->ack_list_response->n_pending; i++) {
		found |= strcmp(r->ack_list_response->pending[i]->login, "cm.nakamura") == 0;
		assert_string_not_equal(r->ack_list_response->pending[i]->login, "dr.tanaka");
		assert_string_not_equal(r->ack_list_response->pending[i]->login, "ns.kobayashi");
	}
	assert_true(found);
	h_env_free(r);
	rkc_close(a);
	rkc_close(d);
}

/* Posts acknowledged before a SIGKILL are there after the restart, and
 * each board's sequence has no gap and no repeat. */
static void
test_sigkill_keeps_acknowledged_posts(void **state)
{
	struct rkc *a = h_connect_login(srv, "ns.kobayashi", NULL);
	uint64_t acked[400];
	int n = 0;
	Renkei__V1__Envelope *t;

	(void)state;
	assert_non_null(a);
	/* Pipeline: send many, read answers, kill in the middle. */
	for (int i = 0; i < 400; i++) {
		Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;
		char cid[32];
		snprintf(cid, sizeof(cid), "kill-%d", i);
		p.patient = "pt-b07";
		p.client_id = cid;
		p.kind = RENKEI__V1__POST_KIND__GENERAL;
		p.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_ALL;
		p.text = "記録";
		req.request_id = (uint64_t)(1000 + i);
		req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
		req.create_post_request = &p;
		if (rkc_send(a, &req) != 0)
			break;
	}
	for (;;) {
		Renkei__V1__Envelope *e = NULL;
		if (rkc_recv(a, 2000, &e) != 0)
			break;
		if (e->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE)
			acked[n++] = e->post_response->post->id;
		h_env_free(e);
		if (n == 150)
			h_server_stop(srv, SIGKILL, 5000);
	}
	assert_true(n >= 150);
	rkc_abort(a);
	assert_int_equal(h_server_restart(srv), 0);

	a = h_connect_login(srv, "ns.kobayashi", NULL);
	assert_non_null(a);
	/* Page the whole board, oldest first, through sync. */
	const char *b7[] = {"pt-b07"};
	uint64_t cursor = 0, expect_seq = 1;
	int seen_acked = 0;
	for (;;) {
		Renkei__V1__Envelope *r = sync_env(a, b7, 1, cursor, 0, 1000);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
		for (size_t i = 0; i < r->sync_response->n_posts; i++) {
			Renkei__V1__Post *p = r->sync_response->posts[i];
			assert_int_equal(p->seq, expect_seq); /* no gap, no repeat */
			expect_seq++;
			for (int k = 0; k < n; k++)
				seen_acked += acked[k] == p->id;
		}
		cursor = r->sync_response->cursor;
		int more = r->sync_response->more;
		h_env_free(r);
		if (!more)
			break;
	}
	assert_int_equal(seen_acked, n); /* every acknowledged post survived */
	t = timeline_env(a, "pt-b07");
	h_assert_body(t, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	assert_int_equal(t->timeline_response->last_seq, expect_seq - 1);
	h_env_free(t);
	rkc_close(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_to_team_never_to_outsider),
		cmocka_unit_test(test_resync_500_on_20_boards),
		cmocka_unit_test(test_same_client_id_three_times),
		cmocka_unit_test(test_bad_input_changes_nothing),
		cmocka_unit_test(test_ack_list),
		cmocka_unit_test(test_sigkill_keeps_acknowledged_posts),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Escalation of urgent posts (docs/oncall.md) with escalate_after_s = 2.
 * pt-sato's call order is ns.kobayashi (first call), then dr.tanaka;
 * ns.mori is on duty for ns.kobayashi's station. An urgent post by the
 * care worker that no one confirms is escalated to dr.tanaka (a post of
 * kind ESCALATION on the board, live, and an "escalation.step" record),
 * then to the on-call nurse; a confirmation by someone who does not
 * count (the care manager, not in the call order) changes nothing; the
 * first that counts stops it ("escalation.stop", and a post saying so),
 * and nothing more happens after. The same across a server restart in
 * the middle: a step that fell due while the server was down runs right
 * after it starts.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define AFTER_S 2
#define VN "org-vn-shakujii"

static struct h_server *srv;
static const char *const sato[] = {"pt-sato"};

static int
group_setup(void **state)
{
	const char *args[] = {"--escalate-after-s", "2", NULL};
	struct rkc *dr, *ns;
	Renkei__V1__Envelope *r;
	int64_t now;

	(void)state;
	srv = h_server_up(args);
	if (srv == NULL)
		return -1;
	dr = h_connect_login(srv, "dr.tanaka", NULL);
	ns = h_connect_login(srv, "ns.kobayashi", NULL);
	if (dr == NULL || ns == NULL)
		return -1;
	r = h_callorder_env(dr, "pt-sato", "ns.kobayashi,dr.tanaka");
	if (h_env_code(r) != RENKEI__V1__CODE__OK)
		return -1;
	h_env_free(r);
	now = h_now_ms();
	r = h_oncall_set_env(ns, VN, "ns.mori", now - 1000, now + 3600 * 1000, 0);
	if (h_env_code(r) != RENKEI__V1__CODE__OK)
		return -1;
	h_env_free(r);
	rkc_close(dr);
	rkc_close(ns);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

static int64_t audit_count(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int64_t
audit_count(const char *fmt, ...)
{
	sqlite3 *db = h_db_open(srv);
	char where[400], sql[512];
	va_list ap;
	int64_t n;

	assert_non_null(db);
	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit.records WHERE %s", where);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

/* Users to be told of an escalation so far (api stats, /metrics). */
static long long
escalation_notices(void)
{
	static const char key[] = "renkei_notices_requested_total{reason=\"escalation\"} ";
	char *body = NULL, *at;
	long long n;

	assert_int_equal(h_https_get(srv, "/metrics", &body), 200);
	at = strstr(body, key);
	assert_non_null(at);
	n = atoll(at + sizeof(key) - 1);
	free(body);
	return n;
}

static uint64_t
urgent(struct rkc *c, const char *client_id)
{
	Renkei__V1__Envelope *r =
	    h_urgent_post_env(c, "pt-sato", client_id,
	                      RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	                      "SpO2 88%、呼吸苦あり。至急確認をお願いします");
	uint64_t id;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	return id;
}

/* The next ESCALATION post about post_id that c hears live, or NULL. */
static Renkei__V1__Envelope *
next_escalation(struct rkc *c, uint64_t post_id, int timeout_ms)
{
	char tag[40];
	int64_t until = h_now_ms() + timeout_ms;

	snprintf(tag, sizeof(tag), "#%llu ", (unsigned long long)post_id);
	for (;;) {
		int left = (int)(until - h_now_ms());
		Renkei__V1__Envelope *ev;
		if (left <= 0)
			return NULL;
		if ((ev = h_next_post_event(c, left)) == NULL)
			return NULL;
		Renkei__V1__Post *p = ev->event->post->post;
		if (p->kind == RENKEI__V1__POST_KIND__ESCALATION && strstr(p->text, tag))
			return ev;
		h_env_free(ev);
	}
}

/* ESCALATION posts about post_id on the board now. */
static size_t
escalations_on_board(struct rkc *c, uint64_t post_id)
{
	Renkei__V1__Envelope *r = h_timeline_env(c, "pt-sato");
	char tag[40];
	size_t n = 0;

	snprintf(tag, sizeof(tag), "#%llu ", (unsigned long long)post_id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++) {
		Renkei__V1__Post *p = r->timeline_response->posts[i];
		n += p->kind == RENKEI__V1__POST_KIND__ESCALATION &&
		     strstr(p->text, tag) != NULL;
	}
	h_env_free(r);
	return n;
}

static void
watch(struct rkc *c)
{
	Renkei__V1__Envelope *r = h_sync_env(c, sato, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
}

static void
ack(struct rkc *c, uint64_t post_id)
{
	Renkei__V1__Envelope *r = h_ack_env(c, post_id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE);
	h_env_free(r);
}

static void
test_second_slot_then_confirmation(void **state)
{
	struct rkc *cw = h_connect_login(srv, "cw.yamamoto", NULL);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *cm = h_connect_login(srv, "cm.nakamura", NULL);
	Renkei__V1__Envelope *ev;
	Renkei__V1__Post *p;
	int64_t t0;
	uint64_t id;
	long long notices0;

	(void)state;
	assert_non_null(cw);
	assert_non_null(dr);
	assert_non_null(cm);
	watch(dr);
	notices0 = escalation_notices();
	t0 = h_now_ms();
	id = urgent(cw, "esc-1");
	/* Confirmations that do not count: the author's, and the care
	 * manager's (not in the call order). */
	ack(cw, id);
	ack(cm, id);

	/* Not confirmed by the first slot in 2 s: the second is called. */
	ev = next_escalation(dr, id, (AFTER_S + 3) * 1000);
	assert_non_null(ev);
	p = ev->event->post->post;
	assert_true(h_now_ms() - t0 >= AFTER_S * 1000 - 100);
	assert_non_null(strstr(p->text, "slot 2: dr.tanaka"));
	assert_string_equal(p->author->login, "cw.yamamoto");
	assert_int_equal(p->visibility, RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL);
	h_env_free(ev);
	/* The second slot (dr.tanaka alone) is told. */
	assert_int_equal(escalation_notices() - notices0, 1);
	assert_int_equal(audit_count("action = 'escalation.step' AND object = '%llu' "
	                             "AND patient = 'pt-sato' AND reason LIKE "
	                             "'slot 2: dr.tanaka%%' AND outcome = 0",
	                             (unsigned long long)id),
	                 1);

	/* dr.tanaka confirms: it stops, on the board and in the trail. */
	ack(dr, id);
	ev = next_escalation(dr, id, H_TIMEOUT_MS);
	assert_non_null(ev);
	assert_non_null(strstr(ev->event->post->post->text, "stopped: confirmed by "
	                                                    "dr.tanaka"));
	h_env_free(ev);
	assert_int_equal(audit_count("action = 'escalation.stop' AND object = '%llu' "
	                             "AND actor_login = 'dr.tanaka' AND outcome = 0",
	                             (unsigned long long)id),
	                 1);
	/* ... and nothing more: no on-call step, nobody else told. */
	assert_null(next_escalation(dr, id, (AFTER_S + 2) * 1000));
	assert_int_equal(escalation_notices() - notices0, 1);
	assert_int_equal(escalations_on_board(dr, id), 2);
	assert_int_equal(audit_count("action = 'escalation.step' AND object = '%llu'",
	                             (unsigned long long)id),
	                 1);
	rkc_close(cw);
	rkc_close(dr);
	rkc_close(cm);
}

static void
test_down_to_the_oncall_nurse(void **state)
{
	struct rkc *cw = h_connect_login(srv, "cw.yamamoto", NULL);
	struct rkc *mori = h_connect_login(srv, "ns.mori", NULL);
	Renkei__V1__Envelope *ev;
	uint64_t id;
	long long n0;

	(void)state;
	assert_non_null(cw);
	assert_non_null(mori);
	watch(mori); /* on duty: she may watch pt-sato */
	id = urgent(cw, "esc-2");
	ev = next_escalation(mori, id, (AFTER_S + 3) * 1000);
	assert_non_null(ev);
	assert_non_null(strstr(ev->event->post->post->text, "slot 2: dr.tanaka"));
	h_env_free(ev);
	n0 = escalation_notices();
	ev = next_escalation(mori, id, (AFTER_S + 3) * 1000);
	assert_non_null(ev);
	assert_non_null(strstr(ev->event->post->post->text,
	                       "ns.mori (" VN ")"));
	h_env_free(ev);
	/* Both on duty for the sheet's organisations are told: dr.tanaka
	 * (his clinic, the demo ward's rota) and ns.mori. */
	assert_int_equal(escalation_notices() - n0, 2);
	assert_int_equal(audit_count("action = 'escalation.step' AND object = '%llu' "
	                             "AND reason LIKE 'on call: %%ns.mori (org-vn-shakujii)%%'",
	                             (unsigned long long)id),
	                 1);
	/* The on-call nurse's confirmation counts. */
	ack(mori, id);
	ev = next_escalation(mori, id, H_TIMEOUT_MS);
	assert_non_null(ev);
	assert_non_null(strstr(ev->event->post->post->text, "confirmed by ns.mori"));
	h_env_free(ev);
	assert_null(next_escalation(mori, id, (AFTER_S + 2) * 1000));
	assert_int_equal(audit_count("action = 'escalation.stop' AND object = '%llu' "
	                             "AND actor_login = 'ns.mori'",
	                             (unsigned long long)id),
	                 1);
	rkc_close(cw);
	rkc_close(mori);
}

static void
test_across_a_restart(void **state)
{
	struct rkc *cw = h_connect_login(srv, "cw.yamamoto", NULL);
	struct rkc *dr;
	Renkei__V1__Envelope *ev;
	int64_t started;
	uint64_t id;

	(void)state;
	assert_non_null(cw);
	id = urgent(cw, "esc-3");
	rkc_close(cw);
	/* Down past the deadline; the step runs right after the start. */
	h_server_stop(srv, SIGTERM, 10000);
	h_sleep_ms((AFTER_S + 1) * 1000);
	assert_int_equal(h_server_restart(srv), 0);
	started = h_now_ms();
	dr = h_connect_login(srv, "dr.tanaka", NULL);
	assert_non_null(dr);
	for (int i = 0; i < 40 && escalations_on_board(dr, id) == 0; i++)
		h_sleep_ms(100);
	assert_int_equal(escalations_on_board(dr, id), 1);
	assert_true(h_now_ms() - started < AFTER_S * 1000);
	assert_int_equal(audit_count("action = 'escalation.step' AND object = '%llu' "
	                             "AND reason LIKE 'slot 2: dr.tanaka%%'",
	                             (unsigned long long)id),
	                 1);
	/* It carries on after the restart: confirmed, it stops. */
	watch(dr);
	ack(dr, id);
	ev = next_escalation(dr, id, H_TIMEOUT_MS);
	assert_non_null(ev);
	assert_non_null(strstr(ev->event->post->post->text, "confirmed by dr.tanaka"));
	h_env_free(ev);
	assert_null(next_escalation(dr, id, (AFTER_S + 2) * 1000));
	assert_int_equal(escalations_on_board(dr, id), 2);
	assert_int_equal(audit_count("action = 'escalation.stop' AND object = '%llu'",
	                             (unsigned long long)id),
	                 1);
	rkc_close(dr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_second_slot_then_confirmation),
	    cmocka_unit_test(test_down_to_the_oncall_nurse),
	    cmocka_unit_test(test_across_a_restart),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

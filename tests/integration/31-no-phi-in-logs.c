/*
 * Operational logs hold no patient data. A server at --log-level debug
 * gets the integration suite's kinds of traffic — logins and failed
 * ones, timelines, patient lists, posts in Japanese, amendments, a
 * retraction, sync, acks, sheet changes, break-glass with a reason, a
 * hand-off for a new patient, a family invitation, photos (one accepted,
 * one refused), audit queries and an export, and bad input — and after
 * it stops, its log is searched for every patient name, kana, summary,
 * wishes and post text of data/demo-ward.json and every text this test
 * sent: there must be none. Session tokens and passwords are searched
 * for too.
 *
 * Only the log of the running server (server.log) is searched: the
 * import's console output (setup.log) is an administrator's tool, not
 * the operational log.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "media_gen.h"

static struct h_server *srv;

/* Strings that must not be in the log: the ward's and ours. */
struct strs {
	char *s[256];
	const char *what[256];
	int n;
};
static struct strs phi, secrets;

static void
add(int secret, const char *what, const char *s)
{
	struct strs *l = secret ? &secrets : &phi;

	if (s == NULL || s[0] == '\0' || l->n == 256)
		return;
	l->s[l->n] = strdup(s);
	l->what[l->n++] = what;
}

/* A name also without its space ("山田太郎"). */
static void
add_name(const char *what, const char *name)
{
	char tight[256];
	size_t k = 0;

	add(0, what, name);
	for (const char *p = name; *p != '\0' && k < sizeof(tight) - 1; p++)
		if (*p != ' ')
			tight[k++] = *p;
	tight[k] = '\0';
	if (strcmp(tight, name) != 0)
		add(0, what, tight);
}

static const char *const notes[] = {
    "夜間に38.2℃の発熱。解熱剤使用後37.4℃まで低下。",
    "右踵に褥瘡（d2）あり。エアマットへ変更を提案。",
    "ご家族より：最近食欲が落ちてきたとのこと。",
    "内服薬：オキシコドン徐放錠10mg 1日2回に増量。",
};
static const char *const amend_text = "訂正：解熱剤使用後37.0℃まで低下。";
static const char *const retract_reason =
    "別の利用者様の記録を誤って投稿しました";
static const char *const bg_reason =
    "深夜に救急搬送され意識レベル低下、服薬内容と既往歴の確認が必要";
static const char *const ho_summary =
    "退院時サマリー：大腿骨頸部骨折術後、歩行器で室内自立。独居のため"
    "訪問介護を毎日希望。";
static const char *const denied_text = "他院の医師による無断投稿：山本様の病状";
static const char *const photo_name = "山田太郎様_右踵褥瘡_1122.jpg";
static const char *const refused_text =
    "褥瘡の経過メモ：前回より発赤範囲が拡大、浸出液あり。\n";

/* ---------------------------------------------------------------- setup */

static int
group_setup(void **state)
{
	const char *args[] = {"--log-level", "debug", NULL};

	(void)state;
	srv = h_server_up(args);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < phi.n; i++)
		free(phi.s[i]);
	for (int i = 0; i < secrets.n; i++)
		free(secrets.s[i]);
	return h_server_free(srv);
}

/* ---------------------------------------------------------------- traffic */

#define expect(e, code) expect_at((e), (code), __LINE__)

static void
expect_at(Renkei__V1__Envelope *e, int code, int line)
{
	if (h_env_code(e) != code)
		fail_msg("line %d: got %s, want %s", line, h_env_outcome(e),
		         code == 0 ? "ok" : rkc_code_name(code));
	h_env_free(e);
}

static uint64_t
post(struct rkc *c, const char *patient, const char *cid, const char *text,
     Renkei__V1__Visibility vis)
{
	Renkei__V1__Envelope *e = h_post_env(c, patient, cid, vis, text);
	uint64_t id;

	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = e->post_response->post->id;
	h_env_free(e);
	add(0, "a note this test posted", text);
	return id;
}

static void
logins_and_failures(void)
{
	struct rkc *c = h_connect(srv);

	assert_non_null(c);
	expect(h_login_env(c, "dr.tanaka", "wrong-password-1", NULL),
	       RENKEI__V1__CODE__UNAUTHENTICATED);
	expect(h_login_env(c, "no.such.user", "wrong-password-2", NULL),
	       RENKEI__V1__CODE__UNAUTHENTICATED);
	/* A patient's name typed as a login. */
	expect(h_login_env(c, "山田 太郎", "wrong-password-3", NULL),
	       RENKEI__V1__CODE__UNAUTHENTICATED);
	add(1, "a wrong password", "wrong-password-1");
	add(1, "a wrong password", "wrong-password-2");
	add(1, "a wrong password", "wrong-password-3");
	add(1, "the demo password", H_DEMO_PASSWORD);
	rkc_close(c);
}

static void
boards_and_posts(struct rkc *ns, struct rkc *dr, struct rkc *cm,
                 struct rkc *out)
{
	static const char *const all[] = {"pt-yamada", "pt-sato", "pt-suzuki"};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__ListPatientsRequest lp =
	    RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	Renkei__V1__RetractPostRequest rr =
	    RENKEI__V1__RETRACT_POST_REQUEST__INIT;
	Renkei__V1__AckListRequest al = RENKEI__V1__ACK_LIST_REQUEST__INIT;
	uint64_t p[4], am;

	/* cm watches every board, live: posts are delivered to it. */
	expect(h_sync_env(cm, NULL, 0, 0, 0), 0);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST;
	req.list_patients_request = &lp;
	expect(h_call(dr, &req), 0);
	for (int i = 0; i < 3; i++) {
		expect(h_timeline_env(dr, all[i]), 0);
		expect(h_get_patient_env(dr, all[i]), 0);
	}
	p[0] = post(ns, "pt-yamada", "phi-1", notes[0],
	            RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL);
	p[1] = post(ns, "pt-yamada", "phi-2", notes[1],
	            RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	p[2] = post(dr, "pt-sato", "phi-3", notes[2],
	            RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL);
	p[3] = post(dr, "pt-suzuki", "phi-4", notes[3],
	            RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL);
	e = h_amend_env(ns, p[0], "phi-amend-1", amend_text);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	am = e->post_response->post->id;
	h_env_free(e);
	add(0, "an amendment", amend_text);
	rr.post_id = am;
	rr.client_id = "phi-retract-1";
	rr.reason = (char *)retract_reason;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST;
	req.retract_post_request = &rr;
	expect(h_call(ns, &req), 0);
	add(0, "a retraction's reason", retract_reason);
	expect(h_ack_env(cm, p[0]), 0);
	expect(h_ack_env(cm, p[1]), 0);
	expect(h_ack_env(ns, p[2]), 0); /* clinical: not the care manager's */
	al.post_id = p[0];
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_LIST_REQUEST;
	req.ack_list_request = &al;
	expect(h_call(ns, &req), 0);
	expect(h_timeline_env(ns, "pt-yamada"), 0);
	/* Refused: nothing of what was sent may be logged either. */
	expect(h_timeline_env(out, "pt-yamada"),
	       RENKEI__V1__CODE__PERMISSION_DENIED);
	expect(h_post_env(out, "pt-yamada", "phi-out-1",
	                  RENKEI__V1__VISIBILITY__VISIBILITY_ALL, denied_text),
	       RENKEI__V1__CODE__PERMISSION_DENIED);
	add(0, "a refused post", denied_text);
}

static void
sheet_breakglass_handoff(struct rkc *dr, struct rkc *out, struct rkc *msw)
{
	static const Renkei__V1__ProposedMember team[] = {
	    {PROTOBUF_C_MESSAGE_INIT(&renkei__v1__proposed_member__descriptor),
	     "dr.tanaka", "主治医（在宅）", 1}};
	Renkei__V1__Patient np = RENKEI__V1__PATIENT__INIT;
	Renkei__V1__Envelope *e;
	char until[11], day[11];

	h_jst_date(14, until);
	h_jst_date(5, day);
	expect(h_sheet_add_env(dr, "pt-sato", "ph.watanabe", "訪問薬剤管理指導",
	                       0, "", ""),
	       0);
	expect(h_sheet_until_env(dr, "pt-sato", "ph.watanabe", until), 0);
	expect(h_sheet_end_env(dr, "pt-sato", "ph.watanabe", "薬局変更のため"),
	       0);
	expect(h_sheet_history_env(dr, "pt-sato"), 0);
	expect(h_breakglass_env(out, "pt-suzuki", bg_reason), 0);
	add(0, "a break-glass reason", bg_reason);
	expect(h_timeline_env(out, "pt-suzuki"), 0);

	np.name = "木村 花子";
	np.kana = "キムラ ハナコ";
	np.birth_date = "1938-04-02";
	np.sex = "F";
	np.area = "光が丘";
	np.summary = "大腿骨頸部骨折で入院中。独居。長女が近隣在住。";
	np.wishes = "住み慣れた自宅で暮らし続けたい。";
	add_name("a new patient's name", np.name);
	add_name("a new patient's kana", np.kana);
	add(0, "a new patient's summary", np.summary);
	add(0, "a new patient's wishes", np.wishes);
	add(0, "a hand-off summary", ho_summary);
	expect(h_handoff_open_env(msw, "pt-kimura", &np, day, ho_summary,
	                          "phi-ho-1"),
	       0);
	expect(h_handoff_propose_env(msw, "pt-kimura", team, 1), 0);
	expect(h_handoff_conference_env(msw, "pt-kimura",
	                                "2026-12-01T14:00:00+09:00"),
	       0);
	expect(h_handoff_accept_env(dr, "pt-kimura"), 0);
	expect(h_timeline_env(dr, "pt-kimura"), 0);

	e = h_family_invite_env(dr, "pt-kimura", "family.kimura", "木村 一郎",
	                        "家族（長男）");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE);
	add(1, "a family member's invitation code",
	    e->family_invite_response->invitation_code);
	add_name("a family member's name", "木村 一郎");
	h_env_free(e);
}

static void
photos_and_audit(struct rkc *ns, struct rkc *aud)
{
	struct buf jpg = make_jpeg(40, 30, 3, 0);
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__AuditQueryRequest q = RENKEI__V1__AUDIT_QUERY_REQUEST__INIT;
	Renkei__V1__AuditExportRequest x =
	    RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;
	uint8_t *d;
	size_t n;
	char msg[128];

	add(0, "a photo's file name", photo_name);
	e = h_upload_env(ns, "pt-yamada", "phi-photo-1", photo_name, jpg.p,
	                 jpg.n);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE);
	assert_int_equal(
	    h_attachment_get(ns, e->upload_finish_response->attachment->id, 0,
	                     &d, &n, msg, sizeof(msg)),
	    0);
	free(d);
	h_env_free(e);
	free(jpg.p);
	/* A note sent as a photo is refused; its words are not logged. */
	add(0, "a text file sent as a photo", refused_text);
	expect(h_upload_env(ns, "pt-yamada", "phi-photo-2", "memo.jpg",
	                    refused_text, strlen(refused_text)),
	       RENKEI__V1__CODE__INVALID_ARGUMENT);

	q.patient = "pt-yamada";
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST;
	req.audit_query_request = &q;
	expect(h_call(aud, &req), 0);
	q.patient = "pt-suzuki";
	q.action = "breakglass.start";
	expect(h_call(aud, &req), 0); /* answers with the reason */
	expect(h_call(ns, &req), RENKEI__V1__CODE__PERMISSION_DENIED);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST;
	req.audit_export_request = &x;
	x.format = RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_CSV;
	expect(h_call(aud, &req), 0);
}

static void
bad_input(struct rkc *ns)
{
	char big[17000];
	Renkei__V1__Envelope *e;
	static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0x12, 0x34};

	/* Invalid UTF-8 and oversize text, both carrying patient data. */
	snprintf(big, sizeof(big), "%s", notes[1]);
	for (size_t k = strlen(big); k + 1 < sizeof(big); k++)
		big[k] = 'x';
	big[sizeof(big) - 1] = '\0';
	expect(h_post_env(ns, "pt-yamada", "phi-bad-1",
	                  RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	                  "山田様 \xc3\x28 体温38℃"),
	       RENKEI__V1__CODE__INVALID_ARGUMENT);
	add(0, "a note with broken UTF-8", "山田様 \xc3\x28 体温38℃");
	expect(h_post_env(ns, "pt-yamada", "phi-bad-2",
	                  RENKEI__V1__VISIBILITY__VISIBILITY_ALL, big),
	       RENKEI__V1__CODE__INVALID_ARGUMENT);
	/* Bytes that are no Envelope: an Error, the connection lives on. */
	assert_int_equal(
	    rkc_send_frame(ns, RKC_OP_BINARY, garbage, sizeof(garbage), 1), 0);
	e = NULL;
	assert_int_equal(rkc_recv(ns, H_TIMEOUT_MS, &e), 0);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_ERROR);
	h_env_free(e);
	expect(h_timeline_env(ns, ""), RENKEI__V1__CODE__INVALID_ARGUMENT);
}

/* -------------------------------------------------------------- checking */

static void
add_ward(void)
{
	char path[600];
	json_error_t err;
	json_t *w, *pts, *p, *posts, *q;
	size_t i, k;

	snprintf(path, sizeof(path), "%s/data/demo-ward.json", h_source_dir());
	w = json_load_file(path, 0, &err);
	if (w == NULL)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	pts = json_object_get(w, "patients");
	assert_true(json_array_size(pts) > 0);
	json_array_foreach(pts, i, p)
	{
		add_name("a patient's name",
		         json_string_value(json_object_get(p, "name")));
		add_name("a patient's kana",
		         json_string_value(json_object_get(p, "kana")));
		add(0, "a patient's summary",
		    json_string_value(json_object_get(p, "summary")));
		add(0, "a patient's wishes",
		    json_string_value(json_object_get(p, "wishes")));
		posts = json_object_get(p, "posts");
		json_array_foreach(posts, k, q)
		    add(0, "a ward post",
		        json_string_value(json_object_get(q, "text")));
	}
	json_decref(w);
}

static int
grep_all(const char *log, size_t len, const char *kind, struct strs *l)
{
	int hits = 0;

	for (int i = 0; i < l->n; i++) {
		const char *at = memmem(log, len, l->s[i], strlen(l->s[i]));
		if (at == NULL)
			continue;
		const char *bol = at, *eol = strchr(at, '\n');
		while (bol > log && bol[-1] != '\n')
			bol--;
		print_message("%s in the log (%s \"%s\"):\n  %.*s\n", kind,
		              l->what[i], l->s[i],
		              (int)((eol ? eol : log + len) - bol), bol);
		hits++;
	}
	return hits;
}

static void
test_logs_hold_no_patient_data(void **state)
{
	char *tokens[6] = {0};
	const char *who[6] = {"ns.kobayashi", "dr.tanaka",   "cm.nakamura",
	                      "dr.outsider",  "msw.yoshida", "audit.inoue"};
	struct rkc *c[6];
	char *log;
	size_t len;
	int hits, lines = 0;

	(void)state;
	for (int i = 0; i < 6; i++) {
		c[i] = h_connect_login(srv, who[i], &tokens[i]);
		assert_non_null(c[i]);
		add(1, "a session token", tokens[i]);
	}
	logins_and_failures();
	boards_and_posts(c[0], c[1], c[2], c[3]);
	sheet_breakglass_handoff(c[1], c[3], c[4]);
	photos_and_audit(c[0], c[5]);
	bad_input(c[0]);
	for (int i = 0; i < 6; i++) {
		expect(h_logout_env(c[i]), 0);
		rkc_close(c[i]);
		free(tokens[i]);
	}
	/* Stopped: everything it had to say is in the file. */
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));

	add_ward();
	log = h_read_file(srv->log_path, &len);
	assert_non_null(log);
	assert_non_null(strstr(log, "level=debug")); /* it did log at debug */
	for (size_t i = 0; i < len; i++)
		lines += log[i] == '\n';
	hits = grep_all(log, len, "patient data", &phi);
	hits += grep_all(log, len, "a secret", &secrets);
	print_message("searched %zu bytes of log (%d lines) for %d patient "
	              "strings and %d secrets: %d found\n",
	              len, lines, phi.n, secrets.n, hits);
	free(log);
	assert_int_equal(hits, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logs_hold_no_patient_data),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Writes the seed corpora of fuzz_envelope (tests/fuzz/corpus/envelope/)
 * and fuzz_wirecheck (tests/fuzz/corpus/wirecheck/): real renkei.v1
 * requests, encoded by protobuf-c as a client encodes them, with the
 * demo ward's patients, people and post ids, so that every handler is
 * reached from the first run:
 *
 *   build-fuzz/tests/fuzz/gen_envelope_corpus tests/fuzz/corpus
 *
 * An envelope seed is byte 0 (who sends it: see fuzz_envelope.c), then
 * the messages, separated by "#RKMSG#"; each message of a sequence is
 * also a seed of its own (NAME.N), so that most of the corpus is one
 * message an input (what costs a store round trip is the message: one
 * an input keeps the target fast, and its findings easy to replay), and
 * the sequences are there for what needs one (log in, then ask; upload,
 * then post). A wirecheck seed is one message.
 * The logins that fresh connections use (pt.ito, ph.watanabe, ...) are
 * not the ones the harness keeps logged in, so that the fuzzer's wrong
 * passwords lock out nobody the harness needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renkei.pb-c.h"
#include "util/text.h"

#define SEP "#RKMSG#"

enum who {
	FRESH = 0,
	DR_TANAKA = 1,
	NS_KOBAYASHI = 2,
	CM_NAKAMURA = 3,
	MSW_YOSHIDA = 4,
	FAMILY_YAMADA = 5,
	AUDIT_INOUE = 6,
	DR_OUTSIDER = 7,
	ADMIN = 8,
	PIPELINED = 0x80,
};

static const char *root;
static uint8_t seed[1 << 16];
static size_t seed_len;
static int nmsgs, failed;
static uint64_t rid;
static const char *seed_name;

static void
write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		failed = 1;
	}
}

static void
begin(const char *name, int who)
{
	seed_name = name;
	seed[0] = (uint8_t)who;
	seed_len = 1;
	nmsgs = 0;
	rid = 0;
}

/* Add env (its request id numbered here) to the seed; the first message
 * of each seed is also a wirecheck seed. */
static void
add(Renkei__V1__Envelope *env)
{
	size_t n;

	env->request_id = ++rid;
	n = renkei__v1__envelope__get_packed_size(env);
	if (nmsgs > 0) {
		memcpy(seed + seed_len, SEP, strlen(SEP));
		seed_len += strlen(SEP);
	}
	if (seed_len + n > sizeof(seed)) {
		fprintf(stderr, "%s: too big\n", seed_name);
		exit(1);
	}
	renkei__v1__envelope__pack(env, seed + seed_len);
	if (nmsgs == 0)
		write_file("wirecheck", seed_name, seed + seed_len, n);
	{
		uint8_t one[sizeof(seed)];
		char name[256];

		one[0] = seed[0];
		memcpy(one + 1, seed + seed_len, n);
		snprintf(name, sizeof(name), "%s.%d", seed_name, nmsgs + 1);
		write_file("envelope", name, one, n + 1);
	}
	seed_len += n;
	nmsgs++;
}

static void
add_raw(const void *p, size_t n)
{
	if (nmsgs > 0) {
		memcpy(seed + seed_len, SEP, strlen(SEP));
		seed_len += strlen(SEP);
	}
	memcpy(seed + seed_len, p, n);
	seed_len += n;
	nmsgs++;
}

static void
end(void)
{
	char name[256];

	/* a one-message seed is already written as NAME.1 */
	if (nmsgs > 1) {
		write_file("envelope", seed_name, seed, seed_len);
	} else {
		snprintf(name, sizeof(name), "%s.1", seed_name);
		write_file("envelope", name, seed, seed_len);
	}
}

/* One request: body field `field` of the Envelope set to msg. */
#define REQ(field, CASE, msg)                                                  \
	do {                                                                   \
		Renkei__V1__Envelope e_ = RENKEI__V1__ENVELOPE__INIT;           \
		e_.body_case = RENKEI__V1__ENVELOPE__BODY_##CASE;              \
		e_.field = (msg);                                              \
		add(&e_);                                                      \
	} while (0)

#define INIT(T, name, INITV) T name = INITV

static void
login(const char *who, const char *password)
{
	INIT(Renkei__V1__LoginRequest, m, RENKEI__V1__LOGIN_REQUEST__INIT);
	m.login = (char *)who;
	m.password = (char *)password;
	m.device = "iPhone 15 / renkei-web 1.4";
	REQ(login_request, LOGIN_REQUEST, &m);
}

static void
whoami(void)
{
	INIT(Renkei__V1__WhoAmIRequest, m, RENKEI__V1__WHO_AM_IREQUEST__INIT);
	REQ(whoami_request, WHOAMI_REQUEST, &m);
}

static void
list_patients(void)
{
	INIT(Renkei__V1__ListPatientsRequest, m, RENKEI__V1__LIST_PATIENTS_REQUEST__INIT);
	REQ(list_patients_request, LIST_PATIENTS_REQUEST, &m);
}

static void
get_patient(const char *code)
{
	INIT(Renkei__V1__GetPatientRequest, m, RENKEI__V1__GET_PATIENT_REQUEST__INIT);
	m.patient = (char *)code;
	REQ(get_patient_request, GET_PATIENT_REQUEST, &m);
}

static void
timeline(const char *code, uint64_t before, uint64_t after, uint32_t limit)
{
	INIT(Renkei__V1__TimelineRequest, m, RENKEI__V1__TIMELINE_REQUEST__INIT);
	m.patient = (char *)code;
	m.before_seq = before;
	m.after_seq = after;
	m.limit = limit;
	REQ(timeline_request, TIMELINE_REQUEST, &m);
}

static void
create_post(const char *code, const char *client_id, Renkei__V1__PostKind kind,
            Renkei__V1__Visibility vis, int urgent, const char *text,
            Renkei__V1__Vitals *vitals, uint64_t *att, size_t natt)
{
	INIT(Renkei__V1__CreatePostRequest, m, RENKEI__V1__CREATE_POST_REQUEST__INIT);
	m.patient = (char *)code;
	m.client_id = (char *)client_id;
	m.kind = kind;
	m.visibility = vis;
	m.urgent = urgent;
	m.text = (char *)text;
	m.vitals = vitals;
	m.attachment_ids = att;
	m.n_attachment_ids = natt;
	REQ(create_post_request, CREATE_POST_REQUEST, &m);
}

static void
ack(uint64_t post)
{
	INIT(Renkei__V1__AckRequest, m, RENKEI__V1__ACK_REQUEST__INIT);
	m.post_id = post;
	REQ(ack_request, ACK_REQUEST, &m);
}

static void
upload(const char *upload_id, const char *code, const uint8_t *img, size_t n,
       size_t piece)
{
	INIT(Renkei__V1__UploadBeginRequest, b, RENKEI__V1__UPLOAD_BEGIN_REQUEST__INIT);
	INIT(Renkei__V1__UploadFinishRequest, f, RENKEI__V1__UPLOAD_FINISH_REQUEST__INIT);
	uint8_t digest[32];

	rk_sha256(img, n, digest);
	b.upload_id = (char *)upload_id;
	b.patient = (char *)code;
	b.file_name = "IMG_0412.JPG";
	b.size = n;
	b.sha256.data = digest;
	b.sha256.len = 32;
	REQ(upload_begin_request, UPLOAD_BEGIN_REQUEST, &b);
	for (size_t off = 0; off < n; off += piece) {
		INIT(Renkei__V1__UploadChunkRequest, c, RENKEI__V1__UPLOAD_CHUNK_REQUEST__INIT);
		c.upload_id = (char *)upload_id;
		c.offset = off;
		c.data.data = (uint8_t *)img + off;
		c.data.len = n - off < piece ? n - off : piece;
		REQ(upload_chunk_request, UPLOAD_CHUNK_REQUEST, &c);
	}
	f.upload_id = (char *)upload_id;
	REQ(upload_finish_request, UPLOAD_FINISH_REQUEST, &f);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = malloc(1 << 20);

	if (f == NULL || p == NULL) {
		perror(path);
		exit(1);
	}
	*n = fread(p, 1, 1 << 20, f);
	fclose(f);
	return p;
}

int
main(int argc, char **argv)
{
	char path[4096];
	size_t imglen;
	uint8_t *img;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
		return 2;
	}
	root = argv[1];
	snprintf(path, sizeof(path), "%s/media/exif-gps-orient6.jpg", root);
	img = slurp(path, &imglen);

	/* ---- before login */
	begin("login-whoami-patients", FRESH);
	login("pt.ito", "renkei-demo-1");
	whoami();
	list_patients();
	end();

	begin("login-wrong-password", FRESH);
	login("ph.watanabe", "renkei-demo-2");
	login("ph.watanabe", "renkei-demo-1");
	end();

	begin("resume-unknown-token", FRESH);
	{
		INIT(Renkei__V1__ResumeRequest, m, RENKEI__V1__RESUME_REQUEST__INIT);
		m.token = "KJ0l7k0T7ntZbSe93VR5d1XF2QJTDzLk6CmytQhXZzI";
		m.device = "Pixel 8 / renkei-web 1.4";
		REQ(resume_request, RESUME_REQUEST, &m);
	}
	end();

	begin("resume-challenge-signed", FRESH);
	{
		static uint8_t sig[64] = {0x5a, 0x01, 0x02};
		INIT(Renkei__V1__ResumeChallengeRequest, c,
		     RENKEI__V1__RESUME_CHALLENGE_REQUEST__INIT);
		INIT(Renkei__V1__ResumeRequest, m, RENKEI__V1__RESUME_REQUEST__INIT);
		REQ(resume_challenge_request, RESUME_CHALLENGE_REQUEST, &c);
		m.token = "KJ0l7k0T7ntZbSe93VR5d1XF2QJTDzLk6CmytQhXZzI";
		m.device = "Pixel 8 / renkei-web 1.4";
		m.signature.data = sig;
		m.signature.len = sizeof(sig);
		REQ(resume_request, RESUME_REQUEST, &m);
		m.signature.len = 63; /* the wrong length */
		REQ(resume_request, RESUME_REQUEST, &m);
	}
	end();

	begin("login-device-key", FRESH);
	{
		static uint8_t key[32] = {0x3b, 0x6a, 0x27, 0xbc};
		INIT(Renkei__V1__LoginRequest, m, RENKEI__V1__LOGIN_REQUEST__INIT);
		m.login = "pt.ito";
		m.password = "renkei-demo-1";
		m.device = "renkei-cli/phone";
		m.device_key.data = key;
		m.device_key.len = sizeof(key);
		REQ(login_request, LOGIN_REQUEST, &m);
	}
	end();

	begin("prelogin-read-refused", FRESH);
	list_patients();
	timeline("pt-sato", 0, 0, 50);
	end();

	begin("prelogin-too-many", FRESH);
	for (int i = 0; i < 12; i++)
		whoami();
	end();

	begin("response-sent-to-server", FRESH);
	{
		INIT(Renkei__V1__LogoutResponse, m, RENKEI__V1__LOGOUT_RESPONSE__INIT);
		REQ(logout_response, LOGOUT_RESPONSE, &m);
	}
	add_raw("\x08\x05\x52\x03\xff\xfe\x00", 7); /* field 10, not UTF-8 */
	end();

	begin("login-post-logout", FRESH);
	login("cw.yamamoto", "renkei-demo-1");
	create_post("pt-sato", "2b9f3c1e-7d4a-4f0e-9a51-3c2d8e6f1a07",
	            RENKEI__V1__POST_KIND__CARE, RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	            0, "入浴介助実施。皮膚トラブルなし。", NULL, NULL, 0);
	{
		INIT(Renkei__V1__LogoutRequest, m, RENKEI__V1__LOGOUT_REQUEST__INIT);
		REQ(logout_request, LOGOUT_REQUEST, &m);
	}
	whoami();
	end();

	/* ---- the physician */
	begin("dr-patients-board", DR_TANAKA);
	list_patients();
	get_patient("pt-yamada");
	timeline("pt-yamada", 0, 0, 50);
	timeline("pt-sato", 3, 0, 2);
	timeline("pt-suzuki", 0, 1, 200);
	end();

	begin("dr-sessions-revoke", DR_TANAKA);
	{
		INIT(Renkei__V1__ListSessionsRequest, l,
		     RENKEI__V1__LIST_SESSIONS_REQUEST__INIT);
		INIT(Renkei__V1__RevokeSessionRequest, r,
		     RENKEI__V1__REVOKE_SESSION_REQUEST__INIT);
		REQ(list_sessions_request, LIST_SESSIONS_REQUEST, &l);
		r.session_id = 987654321; /* nobody's: NOT_FOUND */
		REQ(revoke_session_request, REVOKE_SESSION_REQUEST, &r);
	}
	end();

	begin("dr-notices", DR_TANAKA);
	{
		/* RFC 8291's example subscription key: a point on the curve. */
		static uint8_t p256dh[65] = {
			0x04, 0x25, 0x71, 0xb2, 0xbe, 0xcd, 0xfd, 0xe3, 0x60, 0x55, 0x1a,
			0xaf, 0x1e, 0xd0, 0xf4, 0xcd, 0x36, 0x6c, 0x11, 0xce, 0xbe, 0x55,
			0x5f, 0x89, 0xbc, 0xb7, 0xb1, 0x86, 0xa5, 0x33, 0x39, 0x17, 0x31,
			0x68, 0xec, 0xe2, 0xeb, 0xe0, 0x18, 0x59, 0x7b, 0xd3, 0x04, 0x79,
			0xb8, 0x6e, 0x3c, 0x8f, 0x8e, 0xce, 0xd5, 0x77, 0xca, 0x59, 0x18,
			0x7e, 0x92, 0x46, 0x99, 0x0d, 0xb6, 0x82, 0x00, 0x8b, 0x0e};
		static uint8_t auth[16] = {5, 48, 89, 50, 161, 199, 234, 190,
		                           19, 182, 206, 201, 253, 164, 136, 130};
		static char *boards[] = {"pt-yamada", "pt-sato"};
		INIT(Renkei__V1__WebPushSubscription, w,
		     RENKEI__V1__WEB_PUSH_SUBSCRIPTION__INIT);
		INIT(Renkei__V1__NoticePrefs, p, RENKEI__V1__NOTICE_PREFS__INIT);
		INIT(Renkei__V1__NoticeDeviceAddRequest, a,
		     RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT);
		INIT(Renkei__V1__NoticeDeviceAddRequest, m,
		     RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT);
		INIT(Renkei__V1__NoticeListRequest, l, RENKEI__V1__NOTICE_LIST_REQUEST__INIT);
		INIT(Renkei__V1__NoticePrefsRequest, pr,
		     RENKEI__V1__NOTICE_PREFS_REQUEST__INIT);
		INIT(Renkei__V1__NoticeTestRequest, t, RENKEI__V1__NOTICE_TEST_REQUEST__INIT);
		INIT(Renkei__V1__NoticeDeviceRemoveRequest, r,
		     RENKEI__V1__NOTICE_DEVICE_REMOVE_REQUEST__INIT);
		INIT(Renkei__V1__NoticeVapidKeyRequest, v,
		     RENKEI__V1__NOTICE_VAPID_KEY_REQUEST__INIT);
		w.endpoint = "https://push.example.net/wpush/v2/abc";
		w.p256dh.data = p256dh;
		w.p256dh.len = sizeof(p256dh);
		w.auth.data = auth;
		w.auth.len = sizeof(auth);
		p.quiet_from = "22:00";
		p.quiet_until = "07:00";
		p.n_boards = 2;
		p.boards = boards;
		a.push = &w;
		a.label = "phone";
		a.prefs = &p;
		REQ(notice_device_add_request, NOTICE_DEVICE_ADD_REQUEST, &a);
		m.email = "tanaka@clinic.example.jp";
		REQ(notice_device_add_request, NOTICE_DEVICE_ADD_REQUEST, &m);
		REQ(notice_list_request, NOTICE_LIST_REQUEST, &l);
		pr.prefs = &p;
		REQ(notice_prefs_request, NOTICE_PREFS_REQUEST, &pr);
		REQ(notice_test_request, NOTICE_TEST_REQUEST, &t);
		REQ(notice_vapid_key_request, NOTICE_VAPID_KEY_REQUEST, &v);
		r.device_id = 1;
		REQ(notice_device_remove_request, NOTICE_DEVICE_REMOVE_REQUEST, &r);
	}
	end();

	begin("dr-sync", DR_TANAKA);
	{
		INIT(Renkei__V1__SyncRequest, m, RENKEI__V1__SYNC_REQUEST__INIT);
		INIT(Renkei__V1__BoardCursor, b1, RENKEI__V1__BOARD_CURSOR__INIT);
		INIT(Renkei__V1__BoardCursor, b2, RENKEI__V1__BOARD_CURSOR__INIT);
		Renkei__V1__BoardCursor *boards[2] = {&b1, &b2};
		char *patients[2] = {"pt-yamada", "pt-sato"};

		REQ(sync_request, SYNC_REQUEST, &m); /* everything, from the start */
		b1.patient = "pt-yamada";
		b1.since_seq = 2;
		b2.patient = "pt-sato";
		b2.since_seq = 1;
		m.patients = patients;
		m.n_patients = 2;
		m.boards = boards;
		m.n_boards = 2;
		m.limit = 2;
		REQ(sync_request, SYNC_REQUEST, &m);
		m.live_only = 1;
		REQ(sync_request, SYNC_REQUEST, &m);
	}
	end();

	begin("dr-post-amend-retract-ack", DR_TANAKA);
	{
		INIT(Renkei__V1__Vitals, v, RENKEI__V1__VITALS__INIT);
		INIT(Renkei__V1__AmendPostRequest, a, RENKEI__V1__AMEND_POST_REQUEST__INIT);
		INIT(Renkei__V1__RetractPostRequest, r, RENKEI__V1__RETRACT_POST_REQUEST__INIT);
		INIT(Renkei__V1__AckListRequest, l, RENKEI__V1__ACK_LIST_REQUEST__INIT);

		v.temperature_dc = 368;
		v.bp_systolic = 112;
		v.bp_diastolic = 68;
		v.pulse = 88;
		v.spo2 = 95;
		v.respiration = 18;
		create_post("pt-yamada", "c0ffee00-1111-4222-8333-444455556666",
		            RENKEI__V1__POST_KIND__VISIT_NOTE,
		            RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL, 1,
		            "訪問診療。疼痛 NRS 3/10、オピオイド増量なし。\n家族の不安強く、訪看と共有。",
		            &v, NULL, 0);
		/* the same again: the first post comes back (idempotent) */
		create_post("pt-yamada", "c0ffee00-1111-4222-8333-444455556666",
		            RENKEI__V1__POST_KIND__VISIT_NOTE,
		            RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL, 1,
		            "訪問診療。疼痛 NRS 3/10、オピオイド増量なし。\n家族の不安強く、訪看と共有。",
		            &v, NULL, 0);
		a.post_id = 2;
		a.client_id = "c0ffee00-1111-4222-8333-444455556667";
		a.text = "訂正：疼痛 NRS 4/10。";
		a.vitals = &v;
		REQ(amend_post_request, AMEND_POST_REQUEST, &a);
		r.post_id = 3;
		r.client_id = "c0ffee00-1111-4222-8333-444455556668";
		r.reason = "別の患者の記録を誤って投稿したため";
		REQ(retract_post_request, RETRACT_POST_REQUEST, &r);
		ack(1);
		l.post_id = 1;
		REQ(ack_list_request, ACK_LIST_REQUEST, &l);
	}
	end();

	begin("dr-sheet-handoff-family", DR_TANAKA);
	{
		INIT(Renkei__V1__SheetHistoryRequest, s, RENKEI__V1__SHEET_HISTORY_REQUEST__INIT);
		INIT(Renkei__V1__HandoffGetRequest, g, RENKEI__V1__HANDOFF_GET_REQUEST__INIT);
		INIT(Renkei__V1__HandoffAcceptRequest, a, RENKEI__V1__HANDOFF_ACCEPT_REQUEST__INIT);
		INIT(Renkei__V1__FamilyInviteRequest, f, RENKEI__V1__FAMILY_INVITE_REQUEST__INIT);

		s.patient = "pt-sato";
		REQ(sheet_history_request, SHEET_HISTORY_REQUEST, &s);
		g.patient = "pt-yamada";
		REQ(handoff_get_request, HANDOFF_GET_REQUEST, &g);
		a.patient = "pt-yamada";
		REQ(handoff_accept_request, HANDOFF_ACCEPT_REQUEST, &a);
		f.patient = "pt-sato";
		f.login = "family.sato";
		f.display_name = "佐藤 花子";
		f.relation = "家族（妻）";
		REQ(family_invite_request, FAMILY_INVITE_REQUEST, &f);
	}
	end();

	begin("dr-photo-post", DR_TANAKA);
	{
		INIT(Renkei__V1__AttachmentGetRequest, g, RENKEI__V1__ATTACHMENT_GET_REQUEST__INIT);
		uint64_t att[1] = {1};

		upload("7f1d2c3b-0a9e-4d8c-b7a6-5f4e3d2c1b0a", "pt-suzuki", img, imglen, 400);
		create_post("pt-suzuki", "7f1d2c3b-0a9e-4d8c-b7a6-5f4e3d2c1b0b",
		            RENKEI__V1__POST_KIND__CARE,
		            RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, 0,
		            "仙骨部の褥瘡、DESIGN-R d2。写真添付。", NULL, att, 1);
		g.attachment_id = 1;
		REQ(attachment_get_request, ATTACHMENT_GET_REQUEST, &g);
		g.thumbnail = 1;
		g.length = 256;
		REQ(attachment_get_request, ATTACHMENT_GET_REQUEST, &g);
	}
	end();

	begin("dr-photo-pipelined", DR_TANAKA | PIPELINED);
	upload("0a0b0c0d-1111-4222-8333-444455556666", "pt-sato", img, imglen, 100);
	end();

	begin("dr-posts-pipelined", DR_TANAKA | PIPELINED);
	for (int i = 0; i < 8; i++) {
		char id[64];
		snprintf(id, sizeof(id), "5e5e5e5e-0000-4000-8000-00000000000%d", i);
		create_post("pt-sato", id, RENKEI__V1__POST_KIND__GENERAL,
		            RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 0, "服薬確認済み。", NULL,
		            NULL, 0);
	}
	end();

	/* ---- the nurse, the care manager, the hospital, the family */
	begin("ns-vitals-ack", NS_KOBAYASHI);
	{
		INIT(Renkei__V1__Vitals, v, RENKEI__V1__VITALS__INIT);
		v.temperature_dc = 381;
		v.pulse = 112;
		v.spo2 = 91;
		create_post("pt-sato", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
		            RENKEI__V1__POST_KIND__VITALS,
		            RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, 1,
		            "発熱あり。主治医に連絡済み。", &v, NULL, 0);
		ack(5);
		timeline("pt-sato", 0, 0, 0);
	}
	end();

	/* Addressed posts and requests: a request to the nurse with a due
	 * time, her inbox, done; and addressing the fuzzer can bend. */
	begin("dr-request-inbox-done", DR_TANAKA);
	{
		static const char *const to[] = {"ns.kobayashi", "cm.nakamura"};
		INIT(Renkei__V1__CreatePostRequest, m, RENKEI__V1__CREATE_POST_REQUEST__INIT);
		INIT(Renkei__V1__InboxRequest, ib, RENKEI__V1__INBOX_REQUEST__INIT);
		INIT(Renkei__V1__RequestDoneRequest, rd, RENKEI__V1__REQUEST_DONE_REQUEST__INIT);
		m.patient = (char *)"pt-yamada";
		m.client_id = (char *)"request-seed-1";
		m.kind = RENKEI__V1__POST_KIND__CARE;
		m.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
		m.text = (char *)"明日の訪問をお願いします";
		m.to = (char **)to;
		m.n_to = 2;
		m.request = 1;
		m.owner = (char *)"ns.kobayashi";
		m.due_at_ms = 4102444800000LL; /* 2100-01-01 */
		REQ(create_post_request, CREATE_POST_REQUEST, &m);
		ib.limit = 5;
		REQ(inbox_request, INBOX_REQUEST, &ib);
		rd.post_id = 6;
		REQ(request_done_request, REQUEST_DONE_REQUEST, &rd);
	}
	end();

	begin("ns-inbox-done", NS_KOBAYASHI);
	{
		INIT(Renkei__V1__InboxRequest, ib, RENKEI__V1__INBOX_REQUEST__INIT);
		INIT(Renkei__V1__RequestDoneRequest, rd, RENKEI__V1__REQUEST_DONE_REQUEST__INIT);
		REQ(inbox_request, INBOX_REQUEST, &ib);
		rd.post_id = 6;
		REQ(request_done_request, REQUEST_DONE_REQUEST, &rd);
		ack(6);
		REQ(inbox_request, INBOX_REQUEST, &ib);
	}
	end();

	begin("cm-sheet-edits", CM_NAKAMURA);
	{
		INIT(Renkei__V1__SheetAddRequest, a, RENKEI__V1__SHEET_ADD_REQUEST__INIT);
		INIT(Renkei__V1__SheetChangeRequest, c, RENKEI__V1__SHEET_CHANGE_REQUEST__INIT);
		INIT(Renkei__V1__SheetEndRequest, e, RENKEI__V1__SHEET_END_REQUEST__INIT);

		a.patient = "pt-sato";
		a.login = "ph.watanabe";
		a.team_role = "訪問薬剤管理";
		a.valid_from = "2026-12-01";
		a.valid_until = "2027-03-31";
		a.contact = "03-1234-5678（平日9-18時）";
		REQ(sheet_add_request, SHEET_ADD_REQUEST, &a);
		c.patient = "pt-sato";
		c.login = "ph.watanabe";
		c.team_role = "訪問薬剤管理指導";
		c.valid_until = "2027-06-30";
		REQ(sheet_change_request, SHEET_CHANGE_REQUEST, &c);
		e.patient = "pt-sato";
		e.login = "ph.watanabe";
		e.reason = "担当交代のため";
		REQ(sheet_end_request, SHEET_END_REQUEST, &e);
	}
	end();

	begin("msw-handoff", MSW_YOSHIDA);
	{
		INIT(Renkei__V1__HandoffOpenRequest, o, RENKEI__V1__HANDOFF_OPEN_REQUEST__INIT);
		INIT(Renkei__V1__HandoffProposeRequest, p, RENKEI__V1__HANDOFF_PROPOSE_REQUEST__INIT);
		INIT(Renkei__V1__HandoffConferenceRequest, c, RENKEI__V1__HANDOFF_CONFERENCE_REQUEST__INIT);
		INIT(Renkei__V1__ProposedMember, m1, RENKEI__V1__PROPOSED_MEMBER__INIT);
		INIT(Renkei__V1__ProposedMember, m2, RENKEI__V1__PROPOSED_MEMBER__INIT);
		Renkei__V1__ProposedMember *members[2] = {&m1, &m2};

		o.patient = "pt-yamada";
		o.discharge_date = "2026-11-25";
		o.summary = "入院中の経過：肺炎軽快。ADL 車椅子。在宅酸素 1L。";
		o.client_id = "4d3c2b1a-0000-4000-8000-000000000001";
		REQ(handoff_open_request, HANDOFF_OPEN_REQUEST, &o);
		m1.login = "dr.tanaka";
		m1.team_role = "主治医（在宅）";
		m1.primary = 1;
		m2.login = "pt.ito";
		m2.team_role = "訪問リハビリ";
		p.patient = "pt-yamada";
		p.members = members;
		p.n_members = 2;
		REQ(handoff_propose_request, HANDOFF_PROPOSE_REQUEST, &p);
		c.patient = "pt-yamada";
		c.conference_at = "2026-11-21T14:00:00+09:00";
		REQ(handoff_conference_request, HANDOFF_CONFERENCE_REQUEST, &c);
	}
	end();

	begin("msw-handoff-new-patient", MSW_YOSHIDA);
	{
		INIT(Renkei__V1__HandoffOpenRequest, o, RENKEI__V1__HANDOFF_OPEN_REQUEST__INIT);
		INIT(Renkei__V1__Patient, np, RENKEI__V1__PATIENT__INIT);

		np.code = "pt-kimura";
		np.name = "木村 和子";
		np.kana = "キムラ カズコ";
		np.birth_date = "1941-08-15";
		np.sex = "F";
		np.area = "大泉";
		np.summary = "大腿骨頸部骨折術後。独居。";
		np.wishes = "自宅で過ごしたい。";
		o.new_patient = &np;
		o.discharge_date = "2026-12-20";
		o.summary = "術後リハビリ中。退院後は訪問リハ希望。";
		o.client_id = "4d3c2b1a-0000-4000-8000-000000000002";
		REQ(handoff_open_request, HANDOFF_OPEN_REQUEST, &o);
	}
	end();

	/* What fuzz_envelope found: two boards opened with summaries under
	 * one client id (the second must be ALREADY_EXISTS, not INTERNAL). */
	begin("msw-handoff-reused-client-id", MSW_YOSHIDA);
	for (int i = 0; i < 2; i++) {
		INIT(Renkei__V1__HandoffOpenRequest, o, RENKEI__V1__HANDOFF_OPEN_REQUEST__INIT);
		INIT(Renkei__V1__Patient, np, RENKEI__V1__PATIENT__INIT);

		np.name = "木村 和子";
		o.patient = i == 0 ? "pt-kimura" : "pt-kimura2";
		o.new_patient = &np;
		o.summary = "術後リハビリ中。";
		o.client_id = "4d3c2b1a-0000-4000-8000-000000000003";
		REQ(handoff_open_request, HANDOFF_OPEN_REQUEST, &o);
	}
	end();

	begin("family-post", FAMILY_YAMADA);
	create_post("pt-yamada", "f00dcafe-0000-4000-8000-000000000001",
	            RENKEI__V1__POST_KIND__GENERAL, RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 0,
	            "昨夜はよく眠れたようです。", NULL, NULL, 0);
	timeline("pt-yamada", 0, 0, 20);
	/* family may not post clinical notes */
	create_post("pt-yamada", "f00dcafe-0000-4000-8000-000000000002",
	            RENKEI__V1__POST_KIND__VISIT_NOTE,
	            RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL, 0, "記録", NULL, NULL, 0);
	end();

	/* ---- the auditor */
	begin("audit-query-export", AUDIT_INOUE);
	{
		INIT(Renkei__V1__AuditQueryRequest, q, RENKEI__V1__AUDIT_QUERY_REQUEST__INIT);
		INIT(Renkei__V1__AuditExportRequest, x, RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT);
		INIT(Renkei__V1__AuditPublicKeyRequest, k, RENKEI__V1__AUDIT_PUBLIC_KEY_REQUEST__INIT);

		REQ(audit_query_request, AUDIT_QUERY_REQUEST, &q);
		q.patient = "pt-yamada";
		q.action = "board.read";
		q.outcome = RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SUCCESS;
		q.since_ms = 1767225600000LL;
		q.limit = 10;
		REQ(audit_query_request, AUDIT_QUERY_REQUEST, &q);
		q.patient = "";
		q.action = "";
		q.user = "dr.tanaka";
		q.outcome = RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FAILURE;
		q.after_id = 3;
		REQ(audit_query_request, AUDIT_QUERY_REQUEST, &q);
		REQ(audit_export_request, AUDIT_EXPORT_REQUEST, &x);
		x.offset = 512;
		REQ(audit_export_request, AUDIT_EXPORT_REQUEST, &x);
		x.offset = 0;
		x.format = RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_CSV;
		x.since_ms = 1767225600000LL;
		x.until_ms = 1893456000000LL;
		REQ(audit_export_request, AUDIT_EXPORT_REQUEST, &x);
		REQ(audit_public_key_request, AUDIT_PUBLIC_KEY_REQUEST, &k);
	}
	end();

	/* ---- break-glass, and someone who reads no boards */
	begin("outsider-breakglass", DR_OUTSIDER);
	{
		INIT(Renkei__V1__BreakGlassRequest, b, RENKEI__V1__BREAK_GLASS_REQUEST__INIT);

		INIT(Renkei__V1__SyncRequest, y, RENKEI__V1__SYNC_REQUEST__INIT);

		/* on no sheet, nothing to sync: what fuzz_envelope found (a
		 * sort of no posts) */
		REQ(sync_request, SYNC_REQUEST, &y);
		get_patient("pt-suzuki"); /* not on the sheet: not found */
		b.patient = "pt-suzuki";
		b.reason = "救急搬送、かかりつけ医と連絡つかず。服薬歴の確認のため。";
		REQ(break_glass_request, BREAK_GLASS_REQUEST, &b);
		get_patient("pt-suzuki");
		timeline("pt-suzuki", 0, 0, 50);
	}
	end();

	/* ---- on-call: the call order, the rota, an urgent post */
	begin("dr-callorder-urgent", DR_TANAKA);
	{
		INIT(Renkei__V1__SetCallOrderRequest, m,
		     RENKEI__V1__SET_CALL_ORDER_REQUEST__INIT);
		Renkei__V1__CallSlotInput s1 = RENKEI__V1__CALL_SLOT_INPUT__INIT;
		Renkei__V1__CallSlotInput s2 = RENKEI__V1__CALL_SLOT_INPUT__INIT;
		Renkei__V1__CallSlotInput *sp[] = {&s1, &s2};
		char *l1[] = {"dr.tanaka"}, *l2[] = {"ns.kobayashi", "pt.ito"};

		s1.logins = l1;
		s1.n_logins = 1;
		s2.logins = l2;
		s2.n_logins = 2;
		m.patient = "pt-sato";
		m.slots = sp;
		m.n_slots = 2;
		REQ(set_call_order_request, SET_CALL_ORDER_REQUEST, &m);
		get_patient("pt-sato");
		INIT(Renkei__V1__CreatePostRequest, u, RENKEI__V1__CREATE_POST_REQUEST__INIT);
		u.patient = "pt-sato";
		u.client_id = "fuzz-urgent-1";
		u.kind = RENKEI__V1__POST_KIND__VITALS;
		u.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
		u.urgent = 1;
		u.text = "SpO2 88%、至急";
		REQ(create_post_request, CREATE_POST_REQUEST, &u);
	}
	end();

	begin("ns-oncall-rota", NS_KOBAYASHI);
	{
		INIT(Renkei__V1__OnCallSetRequest, o, RENKEI__V1__ON_CALL_SET_REQUEST__INIT);
		INIT(Renkei__V1__OnCallShowRequest, w, RENKEI__V1__ON_CALL_SHOW_REQUEST__INIT);
		INIT(Renkei__V1__OnCallSetRequest, r, RENKEI__V1__ON_CALL_SET_REQUEST__INIT);

		o.org = "org-vn-shakujii";
		o.login = "ns.mori";
		o.start_at_ms = 1796287411000LL;
		o.end_at_ms = 1796287411000LL + 12 * 3600 * 1000LL;
		REQ(on_call_set_request, ON_CALL_SET_REQUEST, &o);
		w.org = "org-vn-shakujii";
		REQ(on_call_show_request, ON_CALL_SHOW_REQUEST, &w);
		r.org = "org-vn-shakujii";
		r.login = "";
		r.remove_id = 1;
		REQ(on_call_set_request, ON_CALL_SET_REQUEST, &r);
	}
	end();

	begin("admin-reads-nothing", ADMIN);
	list_patients();
	get_patient("pt-sato");
	{
		INIT(Renkei__V1__AuditQueryRequest, q, RENKEI__V1__AUDIT_QUERY_REQUEST__INIT);
		REQ(audit_query_request, AUDIT_QUERY_REQUEST, &q);
	}
	end();

	/* ---- account administration: every op, then one refused */
	begin("admin-accounts", ADMIN);
	{
		INIT(Renkei__V1__AdminOrgAddRequest, o, RENKEI__V1__ADMIN_ORG_ADD_REQUEST__INIT);
		INIT(Renkei__V1__AdminCreateUserRequest, c,
		     RENKEI__V1__ADMIN_CREATE_USER_REQUEST__INIT);
		INIT(Renkei__V1__AdminUserRequest, u, RENKEI__V1__ADMIN_USER_REQUEST__INIT);

		o.code = "org-fuzz";
		o.name = "ふぁず診療所";
		o.kind = "clinic";
		o.reason = "新規参加";
		REQ(admin_org_add_request, ADMIN_ORG_ADD_REQUEST, &o);
		c.login = "dr.fuzz";
		c.display_name = "不破 ず";
		c.profession = RENKEI__V1__PROFESSION__PHYSICIAN;
		c.org = "org-fuzz";
		c.reason = "新任";
		REQ(admin_create_user_request, ADMIN_CREATE_USER_REQUEST, &c);
		u.login = "ns.kobayashi";
		u.reason = "退職";
		REQ(admin_disable_user_request, ADMIN_DISABLE_USER_REQUEST, &u);
		u.reason = "復職";
		REQ(admin_enable_user_request, ADMIN_ENABLE_USER_REQUEST, &u);
		u.reason = "紛失";
		REQ(admin_reset_password_request, ADMIN_RESET_PASSWORD_REQUEST, &u);
		REQ(admin_reset_second_factor_request, ADMIN_RESET_SECOND_FACTOR_REQUEST,
		    &u);
		u.login = "family.yamada";
		u.reason = "本人確認済み";
		REQ(admin_unlock_user_request, ADMIN_UNLOCK_USER_REQUEST, &u);
		u.reason = "";
		REQ(admin_disable_user_request, ADMIN_DISABLE_USER_REQUEST, &u);
	}
	end();
	begin("nurse-not-admin", NS_KOBAYASHI);
	{
		INIT(Renkei__V1__AdminUserRequest, u, RENKEI__V1__ADMIN_USER_REQUEST__INIT);

		u.login = "dr.tanaka";
		u.reason = "いたずら";
		REQ(admin_disable_user_request, ADMIN_DISABLE_USER_REQUEST, &u);
	}
	end();

	free(img);
	return failed;
}

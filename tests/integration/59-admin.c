/*
 * 59-admin: account administration through the server, audited, with
 * live effect (issue 11; proto "administration"; docs/accounts.md).
 *
 * A user disabled (a) by an admin's request over the protocol, (b) by
 * `renkei-server user disable` beside the running server (the local
 * channel, DATA/admin.sock), (c) by the offline command with the server
 * stopped, while watching a board: (a) and (b) close the watcher with
 * SessionEnded + 4001 within a second and deliver no post made after the
 * disable; (c) refuses the login after the restart (and with --offline
 * beside the running server, 25-revocation and a password reset here,
 * the server's own look closes the watcher). The same for a
 * password reset and a second-factor reset, both ways. Create, enable,
 * unlock and organisation add work both ways too. A non-admin is refused
 * (and recorded); bad input gets a clear error and changes nothing,
 * also on the raw local socket (garbage, 1 MB, non-UTF-8, a request that
 * is not administration, a peer of another uid). Every op is in the
 * trail with actor, target and reason, a one-time password never is,
 * and `renkei audit query --action user.disable` finds the disables.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define B(name) RENKEI__V1__ENVELOPE__BODY_##name

static struct h_server *srv;
static struct rkc *adm; /* the admin's connection */
static const char *const yamada[] = {"pt-yamada"};
static const char *const sato[] = {"pt-sato"};
static const char *const suzuki[] = {"pt-suzuki"};
static char otp_seen[4][32]; /* one-time passwords handed out: never recorded */
static int notp;

static int
group_setup(void **state)
{
	/* After one failure a login waits (from that address): unlock has
	 * something to forget. */
	const char *args[] = {"--login-max-failures", "0", "--login-delay-s", "60",
	                      NULL};

	(void)state;
	srv = h_server_up(args);
	if (srv == NULL)
		return -1;
	adm = h_connect_login(srv, "admin", NULL);
	return adm != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	rkc_close(adm);
	return h_server_free(srv);
}

/* ------------------------------------------------------------ helpers */

static void
keep_otp(const char *otp)
{
	assert_int_equal(strlen(otp), 24); /* auth_one_time_password's shape */
	if (notp < 4)
		snprintf(otp_seen[notp++], sizeof(otp_seen[0]), "%s", otp);
}

/* An AdminUserRequest of kind `body` on c. */
static Renkei__V1__Envelope *
user_req(struct rkc *c, Renkei__V1__Envelope__BodyCase body, const char *login,
         const char *reason)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AdminUserRequest m = RENKEI__V1__ADMIN_USER_REQUEST__INIT;

	m.login = (char *)login;
	m.reason = (char *)reason;
	req.body_case = body;
	req.admin_disable_user_request = &m; /* the oneof: one offset */
	return h_call(c, &req);
}

static Renkei__V1__Envelope *
create_req(struct rkc *c, const char *login, const char *name,
           Renkei__V1__Profession prof, const char *org, const char *reason)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AdminCreateUserRequest m =
		RENKEI__V1__ADMIN_CREATE_USER_REQUEST__INIT;

	m.login = (char *)login;
	m.display_name = (char *)name;
	m.profession = prof;
	m.org = (char *)org;
	m.reason = (char *)reason;
	req.body_case = B(ADMIN_CREATE_USER_REQUEST);
	req.admin_create_user_request = &m;
	return h_call(c, &req);
}

static Renkei__V1__Envelope *
org_req(struct rkc *c, const char *code, const char *name, const char *reason)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AdminOrgAddRequest m = RENKEI__V1__ADMIN_ORG_ADD_REQUEST__INIT;

	m.code = (char *)code;
	m.name = (char *)name;
	m.kind = "clinic";
	m.reason = (char *)reason;
	req.body_case = B(ADMIN_ORG_ADD_REQUEST);
	req.admin_org_add_request = &m;
	return h_call(c, &req);
}

/* The AdminResponse of an answer, checked; freed by the caller. */
static Renkei__V1__AdminResponse *
admin_ok(Renkei__V1__Envelope *e)
{
	h_assert_body(e, B(ADMIN_RESPONSE));
	return e->admin_response;
}

/* `renkei-server ARGS --data DIR`: its exit code, output in *out. */
static int
server_cmd(const char *args, char **out)
{
	char cmd[1400];

	snprintf(cmd, sizeof(cmd), "%s %s --data %s", h_server_bin(), args,
	         srv->dir);
	return h_sh(cmd, out);
}

static struct rkc *
watcher(const char *login, const char *const *board)
{
	struct rkc *c = h_connect_login(srv, login, NULL);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_sync_env(c, board, 1, 0, 1);
	h_assert_body(r, B(SYNC_RESPONSE));
	h_env_free(r);
	return c;
}

/* The change has just been answered (t0): a post on `patient` right
 * after must not reach the watcher, which closes with 4001 within 1 s
 * with SessionEnded `reason`. */
static void
assert_closed_live(struct rkc *w, const char *patient, int64_t t0,
                   const char *reason, const char *client_id)
{
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope *r;
	uint64_t after;
	int code, ended, leaked;
	char why[128] = "";
	int64_t dt;

	assert_non_null(dr);
	r = h_post_env(dr, patient, client_id,
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "訪問：状態安定");
	h_assert_body(r, B(POST_RESPONSE));
	after = r->post_response->post->id;
	h_env_free(r);
	code = h_until_closed(w, 3000, after, &ended, &leaked, why, sizeof(why));
	dt = h_mono_ms() - t0;
	print_message("%s: closed with %d after %lld ms (\"%s\")\n", client_id,
	              code, (long long)dt, why);
	assert_int_equal(code, 4001);
	assert_true(ended);
	assert_string_equal(why, reason);
	assert_false(leaked);
	assert_true(dt <= 1000);
	rkc_close(dr);
}

/* The login's answer code with password pw, each from an address of
 * its own: a refused login slows that login from that address (the
 * throttle, set to wait after one failure here), not the next check. */
static int
login_code(const char *login, const char *pw)
{
	static int next = 20;
	char from[32];
	struct rkc *c;

	snprintf(from, sizeof(from), "127.0.%d.%d", next / 250, 1 + next % 250);
	next++;
	c = h_connect_from(srv, from);
	Renkei__V1__Envelope *r;
	int code;

	assert_non_null(c);
	r = h_login_env(c, login, pw, NULL);
	code = h_env_code(r);
	h_env_free(r);
	rkc_close(c);
	return code;
}

/* The newest record of action on object: its fields checked. */
static void
assert_recorded(const char *action, const char *object, const char *actor,
                const char *reason, int outcome)
{
	sqlite3 *db = h_db_open(srv);
	sqlite3_stmt *q;

	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT actor_login, reason, outcome,"
	                                    " device FROM audit.records WHERE"
	                                    " action = ?1 AND object = ?2 ORDER BY"
	                                    " id DESC LIMIT 1",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(q, 1, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, object, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		fail_msg("no %s record for %s", action, object);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), actor);
	assert_string_equal((const char *)sqlite3_column_text(q, 1), reason);
	assert_int_equal(sqlite3_column_int(q, 2), outcome);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* The operating-system user the local channel and offline commands
 * record (admin_trail_actor). */
static const char *
os_user(void)
{
	static char name[64];
	char *out = NULL;

	if (name[0] == '\0') {
		h_sh("id -un", &out);
		snprintf(name, sizeof(name), "%s", out != NULL ? out : "?");
		name[strcspn(name, "\n")] = '\0';
		free(out);
	}
	return name;
}

/* One frame to DATA/admin.sock and its answer (decoded; NULL if none). */
static Renkei__V1__Envelope *
local_raw(const void *data, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
	                  (uint8_t)(len >> 8), (uint8_t)len};
	uint8_t rh[4], *buf;
	size_t n, got = 0;
	Renkei__V1__Envelope *e;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock",
	                     srv->dir) >= sizeof(sa.sun_path))
		fail_msg("data folder path too long for a socket");
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* The server may refuse before reading it all: then the write
	 * fails, and the answer is there all the same. */
	if (send(fd, hdr, 4, MSG_NOSIGNAL) == 4)
		for (size_t put = 0; put < len;) {
			ssize_t k = send(fd, (const char *)data + put, len - put,
			                 MSG_NOSIGNAL);
			if (k <= 0)
				break;
			put += (size_t)k;
		}
	while (got < 4) {
		ssize_t k = recv(fd, rh + got, 4 - got, 0);
		if (k <= 0) {
			close(fd);
			return NULL;
		}
		got += (size_t)k;
	}
	n = (size_t)rh[0] << 24 | (size_t)rh[1] << 16 | (size_t)rh[2] << 8 | rh[3];
	assert_true(n > 0 && n <= 65536);
	buf = malloc(n);
	for (got = 0; got < n;) {
		ssize_t k = recv(fd, buf + got, n - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	e = got == n ? renkei__v1__envelope__unpack(NULL, n, buf) : NULL;
	free(buf);
	return e;
}

static int64_t
disabled(const char *login)
{
	char sql[200];
	sqlite3 *db = h_db_open(srv);
	int64_t v;

	snprintf(sql, sizeof(sql), "SELECT disabled FROM users WHERE login = '%s'",
	         login);
	v = h_db_int(db, sql);
	sqlite3_close(db);
	return v;
}

/* -------------------------------------------------------------- disable */

/* (a) over the protocol, then enabled again. */
static void
test_admin_disable_closes_the_watcher(void **state)
{
	struct rkc *ns = watcher("ns.kobayashi", yamada);
	Renkei__V1__Envelope *r;
	int64_t t0;

	(void)state;
	r = user_req(adm, B(ADMIN_DISABLE_USER_REQUEST), "ns.kobayashi",
	             "退職のため（2026-12-04 付）");
	t0 = h_mono_ms();
	assert_string_equal(admin_ok(r)->target, "ns.kobayashi");
	assert_int_equal(r->admin_response->sessions_closed, 1);
	assert_string_equal(r->admin_response->one_time_password, "");
	h_env_free(r);
	assert_closed_live(ns, "pt-yamada", t0, "account disabled", "after-admin");
	rkc_close(ns);
	assert_int_equal(login_code("ns.kobayashi", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_recorded("user.disable", "ns.kobayashi", "admin",
	                "退職のため（2026-12-04 付）", 0);

	/* Enabled again: the same password works. */
	r = user_req(adm, B(ADMIN_ENABLE_USER_REQUEST), "ns.kobayashi",
	             "復職");
	admin_ok(r);
	h_env_free(r);
	assert_int_equal(login_code("ns.kobayashi", H_DEMO_PASSWORD), 0);
	assert_recorded("user.enable", "ns.kobayashi", "admin", "復職", 0);
}

/* (b) `renkei-server user disable` beside the running server. */
static void
test_local_disable_closes_the_watcher(void **state)
{
	struct rkc *cm = watcher("cm.nakamura", yamada);
	char *out = NULL;
	int64_t t0;
	int rc;

	(void)state;
	rc = server_cmd("user disable cm.nakamura --reason '異動のため'", &out);
	t0 = h_mono_ms();
	print_message("local: %s", out);
	assert_int_equal(rc, 0);
	/* The server did it (it closed her session), not an offline write. */
	assert_non_null(strstr(out, "1 open session closed now"));
	free(out);
	assert_closed_live(cm, "pt-yamada", t0, "account disabled", "after-local");
	rkc_close(cm);
	assert_int_equal(login_code("cm.nakamura", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_true(h_server_log_has(srv, "ADMIN-LOCAL"));
	assert_recorded("user.disable", "cm.nakamura", os_user(), "異動のため", 0);

	rc = server_cmd("user enable cm.nakamura --reason '戻り'", &out);
	assert_int_equal(rc, 0);
	free(out);
	assert_int_equal(login_code("cm.nakamura", H_DEMO_PASSWORD), 0);
	assert_recorded("user.enable", "cm.nakamura", os_user(), "戻り", 0);
}

/* ------------------------------------------------------ password reset */

static void
test_admin_reset_password(void **state)
{
	struct rkc *pt = watcher("pt.ito", sato);
	Renkei__V1__Envelope *r;
	char otp[32];
	int64_t t0;

	(void)state;
	r = user_req(adm, B(ADMIN_RESET_PASSWORD_REQUEST), "pt.ito",
	             "本人より紛失の申告");
	t0 = h_mono_ms();
	snprintf(otp, sizeof(otp), "%s", admin_ok(r)->one_time_password);
	keep_otp(otp);
	h_env_free(r);
	assert_closed_live(pt, "pt-sato", t0, "password reset", "after-reset");
	rkc_close(pt);
	assert_int_equal(login_code("pt.ito", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(login_code("pt.ito", otp), 0);
	assert_recorded("user.reset_password", "pt.ito", "admin",
	                "本人より紛失の申告", 0);
	{
		sqlite3 *db = h_db_open(srv);
		assert_int_equal(h_db_int(db, "SELECT must_change_password FROM users"
		                              " WHERE login = 'pt.ito'"),
		                 1);
		sqlite3_close(db);
	}
}

static void
test_local_reset_password(void **state)
{
	struct rkc *cw = watcher("cw.yamamoto", sato);
	char *out = NULL, *p, otp[32] = "";
	int64_t t0;
	int rc;

	(void)state;
	rc = server_cmd("user reset-password cw.yamamoto --reason '初期化依頼'",
	                &out);
	t0 = h_mono_ms();
	assert_int_equal(rc, 0);
	p = strstr(out, "one-time password");
	assert_non_null(p);
	p = strstr(p, "): ");
	assert_non_null(p);
	snprintf(otp, sizeof(otp), "%.24s", p + 3);
	free(out);
	keep_otp(otp);
	assert_closed_live(cw, "pt-sato", t0, "password reset", "after-local-reset");
	rkc_close(cw);
	assert_int_equal(login_code("cw.yamamoto", otp), 0);
	assert_recorded("user.reset_password", "cw.yamamoto", os_user(),
	                "初期化依頼", 0);
}

/* The offline command run beside the server (--offline: behind its
 * back, as another process would write): the server's look and the
 * guard of the next write close the watcher all the same. */
static void
test_offline_flag_reset_password(void **state)
{
	struct rkc *msw = watcher("msw.yoshida", yamada);
	char *out = NULL;
	int64_t t0;
	int rc;

	(void)state;
	rc = server_cmd("user reset-password msw.yoshida --offline --reason "
	                "'オフラインで'",
	                &out);
	t0 = h_mono_ms();
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "closed now")); /* not the server's doing */
	free(out);
	/* Found by the server's look, with the session's own end reason. */
	assert_closed_live(msw, "pt-yamada", t0, "password reset",
	                   "after-offline-reset");
	rkc_close(msw);
	assert_int_equal(login_code("msw.yoshida", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_recorded("user.reset_password", "msw.yoshida", os_user(),
	                "オフラインで", 0);
}

/* ------------------------------------------------ second-factor reset */

static void
give_totp(const char *login)
{
	char sql[300];
	sqlite3 *db = h_db_open(srv);

	snprintf(sql, sizeof(sql),
	         "INSERT INTO totp(user_id, secret, created_ms, confirmed_ms,"
	         " last_step) SELECT id, randomblob(20), 1, 1, 0 FROM users WHERE"
	         " login = '%s'",
	         login);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t
totp_rows(const char *login)
{
	char sql[300];
	sqlite3 *db = h_db_open(srv);
	int64_t v;

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM totp t JOIN users u ON u.id = t.user_id"
	         " WHERE u.login = '%s'",
	         login);
	v = h_db_int(db, sql);
	sqlite3_close(db);
	return v;
}

static void
test_admin_reset_2fa(void **state)
{
	struct rkc *ph = watcher("ph.watanabe", suzuki);
	Renkei__V1__Envelope *r;
	int64_t t0;

	(void)state;
	give_totp("ph.watanabe");
	assert_int_equal(totp_rows("ph.watanabe"), 1);
	/* A confirmed factor: the password alone no longer signs in. */
	assert_int_equal(login_code("ph.watanabe", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	r = user_req(adm, B(ADMIN_RESET_SECOND_FACTOR_REQUEST), "ph.watanabe",
	             "端末紛失");
	t0 = h_mono_ms();
	admin_ok(r);
	h_env_free(r);
	assert_closed_live(ph, "pt-suzuki", t0, "second factor reset", "after-2fa");
	rkc_close(ph);
	assert_int_equal(totp_rows("ph.watanabe"), 0);
	/* Forgotten: the password signs in again (this server does not
	 * require a factor; one that does would ask them to enrol). */
	assert_int_equal(login_code("ph.watanabe", H_DEMO_PASSWORD), 0);
	assert_recorded("user.reset_2fa", "ph.watanabe", "admin", "端末紛失", 0);
}

static void
test_local_reset_2fa(void **state)
{
	struct rkc *dds = watcher("dds.kato", suzuki);
	char *out = NULL;
	int64_t t0;
	int rc;

	(void)state;
	give_totp("dds.kato");
	rc = server_cmd("user reset-2fa dds.kato --reason '機種変更'", &out);
	t0 = h_mono_ms();
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "1 open session closed now"));
	free(out);
	assert_closed_live(dds, "pt-suzuki", t0, "second factor reset",
	                   "after-local-2fa");
	rkc_close(dds);
	assert_int_equal(totp_rows("dds.kato"), 0);
	assert_recorded("user.reset_2fa", "dds.kato", os_user(), "機種変更", 0);
}

/* ---------------------------------------------- create, org add, unlock */

static void
test_create_user_and_org(void **state)
{
	Renkei__V1__Envelope *r;
	char otp[32], *out = NULL, *p;
	int rc;

	(void)state;
	r = org_req(adm, "org-clinic-new", "あおば診療所", "新規参加の診療所");
	assert_string_equal(admin_ok(r)->target, "org-clinic-new");
	h_env_free(r);
	r = create_req(adm, "dr.aoba", "青葉 一郎", RENKEI__V1__PROFESSION__PHYSICIAN,
	               "org-clinic-new", "新任の主治医");
	snprintf(otp, sizeof(otp), "%s", admin_ok(r)->one_time_password);
	keep_otp(otp);
	h_env_free(r);
	assert_int_equal(login_code("dr.aoba", otp), 0);
	{
		sqlite3 *db = h_db_open(srv);
		assert_int_equal(h_db_int(db, "SELECT must_change_password FROM users"
		                              " WHERE login = 'dr.aoba'"),
		                 1);
		sqlite3_close(db);
	}
	assert_recorded("org.add", "org-clinic-new", "admin", "新規参加の診療所", 0);
	assert_recorded("user.create", "dr.aoba", "admin", "新任の主治医", 0);

	/* Again: refused, recorded as refused. */
	r = create_req(adm, "dr.aoba", "青葉 一郎", RENKEI__V1__PROFESSION__PHYSICIAN,
	               "org-clinic-new", "二重登録");
	h_assert_error(r, RENKEI__V1__CODE__ALREADY_EXISTS);
	assert_string_equal(r->error->field, "login");
	h_env_free(r);
	assert_recorded("user.create", "dr.aoba", "admin", "二重登録", 5);
	r = create_req(adm, "ns.nowhere", "X", RENKEI__V1__PROFESSION__NURSE,
	               "org-nowhere", "所属不明");
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	assert_string_equal(r->error->field, "org");
	h_env_free(r);
	r = org_req(adm, "org-clinic-new", "あおば", "重複");
	h_assert_error(r, RENKEI__V1__CODE__ALREADY_EXISTS);
	h_env_free(r);

	/* The same on the host. */
	rc = server_cmd("org add org-vn-new 'みどり訪問看護' --kind visiting_nurse "
	                "--reason '新規'",
	                &out);
	assert_int_equal(rc, 0);
	free(out);
	rc = server_cmd("user add ns.midori --name '緑 花子' --profession nurse "
	                "--org org-vn-new --reason '新任'",
	                &out);
	assert_int_equal(rc, 0);
	p = strstr(out, "first login): ");
	assert_non_null(p);
	snprintf(otp, sizeof(otp), "%.24s", p + strlen("first login): "));
	free(out);
	keep_otp(otp);
	assert_int_equal(login_code("ns.midori", otp), 0);
	assert_recorded("org.add", "org-vn-new", os_user(), "新規", 0);
	assert_recorded("user.create", "ns.midori", os_user(), "新任", 0);
}

/* A failed login from 127.0.0.9 makes family.yamada wait there. */
static void
throttle_family(void)
{
	struct rkc *c = h_connect_from(srv, "127.0.0.9");
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_login_env(c, "family.yamada", "wrong-password", NULL);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	r = h_login_env(c, "family.yamada", H_DEMO_PASSWORD, NULL);
	h_assert_error(r, RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
	h_env_free(r);
	rkc_close(c);
}

static int
family_login_from_9(void)
{
	struct rkc *c = h_connect_from(srv, "127.0.0.9");
	Renkei__V1__Envelope *r;
	int code;

	assert_non_null(c);
	r = h_login_env(c, "family.yamada", H_DEMO_PASSWORD, NULL);
	code = h_env_code(r);
	h_env_free(r);
	rkc_close(c);
	return code;
}

static void
test_unlock(void **state)
{
	Renkei__V1__Envelope *r;
	char *out = NULL;

	(void)state;
	throttle_family();
	r = user_req(adm, B(ADMIN_UNLOCK_USER_REQUEST), "family.yamada",
	             "本人確認済み");
	admin_ok(r);
	assert_int_equal(r->admin_response->sessions_closed, 0);
	h_env_free(r);
	assert_int_equal(family_login_from_9(), 0);
	assert_recorded("user.unlock", "family.yamada", "admin", "本人確認済み", 0);

	throttle_family();
	assert_int_equal(server_cmd("user unlock family.yamada --reason '電話で確認'",
	                            &out),
	                 0);
	free(out);
	assert_int_equal(family_login_from_9(), 0);
	assert_recorded("user.unlock", "family.yamada", os_user(), "電話で確認", 0);
}

/* ------------------------------------------------------------ refusals */

static void
test_non_admin_refused(void **state)
{
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *aud = h_connect_login(srv, "audit.inoue", NULL);
	Renkei__V1__Envelope *r;

	(void)state;
	assert_non_null(ns);
	assert_non_null(aud);
	r = user_req(ns, B(ADMIN_DISABLE_USER_REQUEST), "dr.tanaka", "いたずら");
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	r = user_req(aud, B(ADMIN_RESET_PASSWORD_REQUEST), "dr.tanaka", "監査");
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	r = create_req(ns, "ns.fake", "偽", RENKEI__V1__PROFESSION__ADMIN,
	               "org-ward-office", "昇格");
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	assert_int_equal(disabled("dr.tanaka"), 0);
	assert_int_equal(login_code("dr.tanaka", H_DEMO_PASSWORD), 0);
	/* The attempts are recorded as refused, naming who and what. */
	assert_recorded("user.disable", "dr.tanaka", "ns.kobayashi", "いたずら", 3);
	assert_recorded("user.reset_password", "dr.tanaka", "audit.inoue", "監査", 3);
	assert_recorded("user.create", "ns.fake", "ns.kobayashi", "昇格", 3);
	rkc_close(ns);
	rkc_close(aud);
}

static void
test_bad_input(void **state)
{
	Renkei__V1__Envelope *r;
	char *big = malloc(3000), *out = NULL;
	sqlite3 *db;
	int64_t before;

	(void)state;
	db = h_db_open(srv);
	before = h_db_int(db, "SELECT count(*) FROM audit.records WHERE action LIKE"
	                      " 'user.%' OR action = 'org.add'");
	sqlite3_close(db);

	r = user_req(adm, B(ADMIN_DISABLE_USER_REQUEST), "dr.tanaka", "");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "reason");
	assert_string_equal(r->error->message, "give a reason for this change");
	h_env_free(r);
	r = user_req(adm, B(ADMIN_DISABLE_USER_REQUEST), "dr.tanaka",
	             "  \t \u3000\u00a0");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "reason");
	h_env_free(r);
	memset(big, 'x', 2001);
	big[2001] = '\0';
	r = user_req(adm, B(ADMIN_DISABLE_USER_REQUEST), "dr.tanaka", big);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "reason");
	h_env_free(r);
	free(big);
	r = user_req(adm, B(ADMIN_DISABLE_USER_REQUEST), "Dr Tanaka", "理由");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "login");
	h_env_free(r);
	r = user_req(adm, B(ADMIN_RESET_PASSWORD_REQUEST), "no.such.user", "理由");
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	assert_string_equal(r->error->message, "no such user");
	h_env_free(r);
	r = create_req(adm, "ns.x", "", RENKEI__V1__PROFESSION__NURSE,
	               "org-vn-shakujii", "理由");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "display_name");
	h_env_free(r);
	r = create_req(adm, "ns.x", "X", RENKEI__V1__PROFESSION__PROFESSION_UNSPECIFIED,
	               "org-vn-shakujii", "理由");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "profession");
	h_env_free(r);
	r = create_req(adm, "ns.x", "X", RENKEI__V1__PROFESSION__NURSE, "", "理由");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "org");
	h_env_free(r);

	/* The command line: no reason, no change. */
	assert_int_equal(server_cmd("user disable dr.tanaka", &out), 2);
	assert_non_null(strstr(out, "give a reason"));
	free(out);
	assert_int_equal(server_cmd("user disable no.such.user --reason x", &out), 1);
	assert_non_null(strstr(out, "no such user"));
	free(out);
	assert_int_equal(disabled("dr.tanaka"), 0);

	/* Only the not-found attempts were recorded (refused): a request
	 * refused for its form never reached the store. */
	db = h_db_open(srv);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.records WHERE"
	                              " action LIKE 'user.%' OR action = 'org.add'"),
	                 before + 3);
	sqlite3_close(db);
	assert_recorded("user.reset_password", "no.such.user", "admin", "理由", 4);
}

/* The raw local socket, as a hostile peer would use it. */
static void
test_local_socket_hostile(void **state)
{
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01, 0x02};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__AdminUserRequest m = RENKEI__V1__ADMIN_USER_REQUEST__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	struct stat st;
	char path[400], *big;
	uint8_t *buf;
	size_t n;

	(void)state;
	/* Only the owner may even reach it. */
	snprintf(path, sizeof(path), "%s/admin.sock", srv->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	r = local_raw(garbage, sizeof(garbage));
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);

	/* 1 MB: refused unread. */
	big = malloc(1 << 20);
	memset(big, 'x', 1 << 20);
	r = local_raw(big, 1 << 20);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_non_null(strstr(r->error->message, "longer than 65536"));
	h_env_free(r);

	/* A reason of 60000 bytes fits the frame, not the field. */
	big[60000] = '\0';
	m.login = "dr.tanaka";
	m.reason = big;
	req.request_id = 7;
	req.body_case = B(ADMIN_DISABLE_USER_REQUEST);
	req.admin_disable_user_request = &m;
	n = renkei__v1__envelope__get_packed_size(&req);
	buf = malloc(n);
	renkei__v1__envelope__pack(&req, buf);
	r = local_raw(buf, n);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_int_equal(r->request_id, 7);
	assert_string_equal(r->error->field, "reason");
	h_env_free(r);
	free(buf);

	/* Not UTF-8. */
	m.reason = "\xff\xfe reason";
	n = renkei__v1__envelope__get_packed_size(&req);
	buf = malloc(n);
	renkei__v1__envelope__pack(&req, buf);
	r = local_raw(buf, n);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);
	free(buf);

	/* Not administration. */
	lr.login = "dr.tanaka";
	lr.password = H_DEMO_PASSWORD;
	req.body_case = B(LOGIN_REQUEST);
	req.login_request = &lr;
	n = renkei__v1__envelope__get_packed_size(&req);
	buf = malloc(n);
	renkei__v1__envelope__pack(&req, buf);
	r = local_raw(buf, n);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "body");
	h_env_free(r);
	free(buf);
	free(big);

	/* A connection that sends nothing is dropped after 5 s; meanwhile
	 * the next one waits its turn, then is served. */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		char b[8];
		int64_t t0 = h_mono_ms();

		if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
		    sizeof(sa.sun_path))
			fail_msg("path too long");
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		r = local_raw(garbage, sizeof(garbage));
		h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
		h_env_free(r);
		assert_true(h_mono_ms() - t0 >= 4000);
		assert_int_equal(recv(fd, b, sizeof(b), 0), 0); /* closed */
		close(fd);
	}
	assert_int_equal(disabled("dr.tanaka"), 0);
}

/* A peer of another uid is refused by its credentials (root only: the
 * test runs the command as nobody, with the folder opened up for it). */
static void
test_local_socket_other_uid(void **state)
{
	char path[400], cmd[1400], *out = NULL;
	int rc;

	(void)state;
	if (geteuid() != 0 || h_sh("command -v setpriv", NULL) != 0) {
		print_message("skipped: needs root and setpriv to run a peer as "
		              "another user\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/admin.sock", srv->dir);
	assert_int_equal(chmod(srv->dir, 0711), 0);
	assert_int_equal(chmod(path, 0666), 0);
	snprintf(cmd, sizeof(cmd),
	         "setpriv --reuid=65534 --regid=65534 --clear-groups %s user disable "
	         "dr.tanaka --reason nobody --data %s",
	         h_server_bin(), srv->dir);
	rc = h_sh(cmd, &out);
	chmod(path, 0600);
	chmod(srv->dir, 0700);
	print_message("as nobody: exit %d: %s", rc, out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "the local channel is for root and the "
	                            "server's own user"));
	free(out);
	assert_int_equal(disabled("dr.tanaka"), 0);
	assert_true(h_server_log_has(srv, "LOCAL-REFUSED uid=65534") ||
	            h_server_log_has(srv, "LOCAL-REFUSED"));
}

/* ----------------------------------------------------------- the trail */

static void
test_no_one_time_password_recorded(void **state)
{
	sqlite3 *db = h_db_open(srv);
	sqlite3_stmt *q;

	(void)state;
	assert_true(notp >= 3);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT count(*) FROM audit.records WHERE"
	                                    " instr(coalesce(actor_login, '') ||"
	                                    " coalesce(object, '') || coalesce(reason,"
	                                    " '') || coalesce(device, '') ||"
	                                    " coalesce(address, ''), ?1) > 0",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < notp; i++) {
		sqlite3_bind_text(q, 1, otp_seen[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 0);
		sqlite3_reset(q);
		assert_false(h_server_log_has(srv, otp_seen[i]));
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* `renkei audit query --action user.disable` as the auditor. */
static void
test_cli_audit_query_finds_the_disable(void **state)
{
#ifdef RENKEI_CLI_BIN
	char cmd[2000], *out = NULL;
	int rc;

	(void)state;
	snprintf(cmd, sizeof(cmd),
	         "export RENKEI_CONFIG_DIR=%s/cli; mkdir -p %s/cli;"
	         " echo %s | %s --server %s --ca %s login --password-stdin"
	         " audit.inoue >/dev/null && %s --server %s --ca %s --json audit"
	         " query --action user.disable",
	         srv->dir, srv->dir, H_DEMO_PASSWORD, RENKEI_CLI_BIN, srv->url,
	         srv->ca, RENKEI_CLI_BIN, srv->url, srv->ca);
	/* h_sh gives the command /dev/null as stdin: the echo is inside. */
	rc = h_sh(cmd, &out);
	print_message("%s", out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"object\": \"ns.kobayashi\""));
	assert_non_null(strstr(out, "\"object\": \"cm.nakamura\""));
	assert_non_null(strstr(out, "退職のため"));
	assert_null(strstr(out, "\"action\": \"user.enable\""));
	free(out);
#else
	(void)state;
	skip();
#endif
}

/* `renkei admin ...`: the same requests from the command-line client. */
static void
test_cli_admin(void **state)
{
#ifdef RENKEI_CLI_BIN
	char cmd[2400], *out = NULL;
	int rc;

	(void)state;
#define CLI_AS(who, args)                                                     \
	snprintf(cmd, sizeof(cmd),                                            \
	         "export RENKEI_CONFIG_DIR=%s/cli-%s; mkdir -p %s/cli-%s;"    \
	         " echo %s | %s --server %s --ca %s login --password-stdin %s" \
	         " >/dev/null && %s --server %s --ca %s " args,               \
	         srv->dir, who, srv->dir, who, H_DEMO_PASSWORD, RENKEI_CLI_BIN, \
	         srv->url, srv->ca, who, RENKEI_CLI_BIN, srv->url, srv->ca)
	CLI_AS("admin", "admin add-org org-cli 'CLI 診療所' --kind clinic --reason 'CLIから'");
	rc = h_sh(cmd, &out);
	print_message("%s", out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "organisation org-cli added"));
	free(out);
	CLI_AS("admin", "admin add-user dr.cli --name 'CLI 医師' --profession physician"
	                " --org org-cli --reason 'CLIから'");
	rc = h_sh(cmd, &out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "first login): "));
	free(out);
	CLI_AS("admin", "admin disable dr.cli --reason '試験'");
	rc = h_sh(cmd, &out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "user dr.cli disabled"));
	free(out);
	assert_int_equal(disabled("dr.cli"), 1);
	assert_recorded("user.disable", "dr.cli", "admin", "試験", 0);
	CLI_AS("admin", "admin enable dr.cli");
	rc = h_sh(cmd, &out);
	assert_int_equal(rc, 2); /* no reason: usage, nothing sent */
	free(out);
	assert_int_equal(disabled("dr.cli"), 1);
	CLI_AS("ns.kobayashi", "admin enable dr.cli --reason 'だめ'");
	rc = h_sh(cmd, &out);
	assert_int_equal(rc, 4); /* PERMISSION_DENIED */
	free(out);
	assert_int_equal(disabled("dr.cli"), 1);
#undef CLI_AS
#else
	(void)state;
	skip();
#endif
}

/* ------------------------------------------------------ truly offline */

/* (c) with the server stopped: the offline path, recorded in the same
 * transaction and signed; after the restart the login is refused. */
static void
test_offline_disable(void **state)
{
	struct stat st;
	char path[400], *out = NULL;
	int rc;

	(void)state;
	rkc_close(adm);
	adm = NULL;
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 10000)));
	snprintf(path, sizeof(path), "%s/admin.sock", srv->dir);
	assert_int_equal(stat(path, &st), -1); /* removed at shutdown */
	assert_int_equal(errno, ENOENT);

	rc = server_cmd("user disable ccc.sasaki --reason '契約終了'", &out);
	print_message("offline: %s", out);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "closed now"));
	free(out);
	rc = server_cmd("user reset-password family.yamada --reason '再発行'", &out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "one-time password"));
	free(out);
	/* Recorded and signed: the chain verifies with the record in it. */
	rc = server_cmd("audit verify", &out);
	print_message("%s", out);
	assert_int_equal(rc, 0);
	free(out);
	assert_recorded("user.disable", "ccc.sasaki", os_user(), "契約終了", 0);
	{
		sqlite3 *db = h_db_open(srv);
		/* Out of the outbox, under a checkpoint. */
		assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.checkpoints"
		                              " WHERE record_id = (SELECT max(id) FROM"
		                              " audit.records)"),
		                 1);
		sqlite3_close(db);
	}

	assert_int_equal(h_server_restart(srv), 0);
	assert_int_equal(login_code("ccc.sasaki", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(login_code("family.yamada", H_DEMO_PASSWORD),
	                 RENKEI__V1__CODE__UNAUTHENTICATED);
	adm = h_connect_login(srv, "admin", NULL);
	assert_non_null(adm);
}

/* A disabled admin can do nothing more, even on a connection still
 * open when the account was disabled behind this server's back (as
 * another process would, without ending the session): the write guard
 * re-checks the actor in the op's own transaction. */
static void
test_disabled_admin_refused(void **state)
{
	Renkei__V1__Envelope *r;
	sqlite3 *db;

	(void)state;
	db = h_db_open(srv);
	assert_int_equal(sqlite3_exec(db, "UPDATE users SET disabled = 1 WHERE"
	                                  " login = 'admin'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	r = user_req(adm, B(ADMIN_DISABLE_USER_REQUEST), "dr.tanaka", "最後に");
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	assert_int_equal(disabled("dr.tanaka"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admin_disable_closes_the_watcher),
	    cmocka_unit_test(test_local_disable_closes_the_watcher),
	    cmocka_unit_test(test_admin_reset_password),
	    cmocka_unit_test(test_local_reset_password),
	    cmocka_unit_test(test_offline_flag_reset_password),
	    cmocka_unit_test(test_admin_reset_2fa),
	    cmocka_unit_test(test_local_reset_2fa),
	    cmocka_unit_test(test_create_user_and_org),
	    cmocka_unit_test(test_unlock),
	    cmocka_unit_test(test_non_admin_refused),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_local_socket_hostile),
	    cmocka_unit_test(test_local_socket_other_uid),
	    cmocka_unit_test(test_no_one_time_password_recorded),
	    cmocka_unit_test(test_cli_audit_query_finds_the_disable),
	    cmocka_unit_test(test_cli_admin),
	    cmocka_unit_test(test_offline_disable),
	    cmocka_unit_test(test_disabled_admin_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

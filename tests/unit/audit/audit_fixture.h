/*
 * The fixture both audit unit tests share: fresh encrypted databases and
 * a fresh signing key per test, and a deterministic stream of records.
 * Header-only (static functions) so that each test stays one executable.
 */
#ifndef RENKEI_TEST_AUDIT_FIXTURE_H
#define RENKEI_TEST_AUDIT_FIXTURE_H

#include "unit_store.h"

#define BASE_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define TS(i) (BASE_MS + ((int64_t)(i) - 1) * 1000)

static const char break_glass_reason[] = "救急搬送, \"意識レベル低下\"\n要確認";

struct fx {
	char dir[64];
	char care[96], audit[96], pub[100], out[96];
	uint8_t seed[32]; /* the signing key's secret */
	struct store_config cfg;
	struct store_conn *sc;
	struct audit_signer *signer;
};

/* A fresh random signing key; its public key (PEM) written to pub_path
 * if not NULL. */
static __attribute__((unused)) struct audit_signer *
fx_signer(const char *pub_path, uint8_t seed_out[32])
{
	uint8_t seed[32];
	char err[256];
	struct audit_signer *s;

	rk_random(seed, sizeof(seed));
	s = audit_signer_new(seed, err, sizeof(err));
	assert_non_null(s);
	if (pub_path != NULL)
		assert_int_equal(audit_signer_write_pub(s, pub_path, err, sizeof(err)),
		                 RK_OK);
	if (seed_out != NULL)
		memcpy(seed_out, seed, 32);
	return s;
}

static __attribute__((unused)) struct fx *
fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	unit_tmpdir(f->dir, "audit");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	snprintf(f->pub, sizeof(f->pub), "%s/audit-root.pub", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/export", f->dir);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	f->signer = fx_signer(f->pub, f->seed);
	return f;
}

static __attribute__((unused)) void
fx_free(struct fx *f)
{
	audit_signer_free(f->signer);
	store_conn_close(f->sc);
	unit_rm_rf(f->dir);
	free(f);
}

static __attribute__((unused)) int
setup(void **state)
{
	*state = fx_new();
	return 0;
}

static __attribute__((unused)) int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}
static __attribute__((unused)) void
sql(struct fx *f, const char *text)
{
	char *msg = NULL;
	int rc = sqlite3_exec(store_conn_db(f->sc), text, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", text, msg ? msg : "?");
}

static __attribute__((unused)) void
event_for(int i, struct audit_event *ev, char *obj, size_t objlen)
{
	static const char *const logins[] = {"dr", "ns", "cm"};
	static const char *const orgs[] = {"org-a", "org-a", "org-b"};
	static const int profs[] = {1, 3, 7};
	int u = i % 3;

	memset(ev, 0, sizeof(*ev));
	snprintf(obj, objlen, "post-%d", i);
	ev->ts_ms = TS(i);
	ev->actor_user_id = u + 1;
	ev->actor_login = logins[u];
	ev->actor_profession = profs[u];
	ev->actor_org = orgs[u];
	ev->session_id = 100 + u;
	ev->address = "192.0.2.10";
	ev->device = "iPad 訪問用";
	if (i % 5 == 0) {
		ev->action = "login";
	} else {
		ev->action = i == 4 ? "break_glass.start" : "board.read";
		ev->patient = i % 2 ? "pt-1" : "pt-2";
		ev->object = obj;
	}
	if (i == 4)
		ev->reason = break_glass_reason;
	if (i % 3 == 0) /* what a post.create carries: its content's digest */
		ev->content = "9f86d081884c7d659a2feaa0c55ad015"
		              "a3bf4f1b2b0b822cd15d6c15b0f00a08";
	if (i % 7 == 0) {
		ev->outcome = RK_ERR_DENIED;
		ev->error_code = "PERMISSION_DENIED";
	}
}

/* Append records from..to, signing a checkpoint every cp_every. */
static __attribute__((unused)) void
fill_range(struct fx *f, int from, int to, int cp_every)
{
	sql(f, "BEGIN");
	for (int i = from; i <= to; i++) {
		struct audit_event ev;
		char obj[32];
		event_for(i, &ev, obj, sizeof(obj));
		assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
		if (cp_every > 0)
			assert_int_equal(audit_checkpoint_maybe(f->sc, "audit",
			                                        f->signer, cp_every,
			                                        0, TS(i)),
			                 RK_OK);
	}
	store_conn_release(f->sc);
	sql(f, "COMMIT");
}

static __attribute__((unused)) void
fill(struct fx *f, int n, int cp_every)
{
	fill_range(f, 1, n, cp_every);
}

/* `audit rotate-key` in miniature: record `id` (the rotation's own
 * record) and the rotation checkpoint over it, signed by the signer in
 * use and naming `next`, which signs from then on (f->signer; the old
 * one is freed). One transaction. */
static __attribute__((unused)) void
fx_rotate(struct fx *f, int id, struct audit_signer *next)
{
	struct audit_event ev = {.actor_login = "os:root",
	                         .action = "audit.key.rotate",
	                         .device = "renkei-server audit rotate-key",
	                         .ts_ms = TS(id)};
	uint8_t pub[32];

	assert_int_equal(audit_signer_pub(next, pub, NULL), RK_OK);
	sql(f, "BEGIN");
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	assert_int_equal(audit_rotate_sign(f->sc, "audit", f->signer, pub, TS(id)),
	                 RK_OK);
	store_conn_release(f->sc);
	sql(f, "COMMIT");
	audit_signer_free(f->signer);
	f->signer = next;
}

/* Record `id`, and a checkpoint over it signed by `by` (not f->signer):
 * what someone holding another key could add. */
static __attribute__((unused)) void
fx_sign_with(struct fx *f, int id, struct audit_signer *by)
{
	struct audit_event ev = {.actor_user_id = 1, .actor_login = "dr",
	                         .action = "board.read", .ts_ms = TS(id)};

	sql(f, "BEGIN");
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", by, 1, 0, TS(id)),
	                 RK_OK);
	store_conn_release(f->sc);
	sql(f, "COMMIT");
}

#endif

/*
 * The account commands of renkei-server: org add, user add, user
 * disable, enable, unlock, reset-password, reset-2fa (admin.h;
 * docs/accounts.md "Administration").
 *
 * Each needs --reason. Where a server runs on the data folder, the
 * command is a request over its local channel (net/local.h): the server
 * makes the change, records it (the operating-system user as actor) and
 * closes the target's sessions at once. Where none runs, the command
 * makes the change itself, with its audit record staged in care.db's
 * outbox in the same transaction (docs/audit-commit.md: they commit
 * together or not at all), then forwards the outbox into the chain and
 * signs a checkpoint over it. A refused change (no such user) is
 * recorded as refused, straight into the chain, since nothing in
 * care.db changed. --offline takes the second way even beside a running
 * server (one that does not answer on its socket, say): SQLite's locks
 * make that safe, and the server's one-second look for ended sessions
 * (api/revoke.c) closes the target's connections.
 */
#include "admin/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/trail.h"
#include "audit/anchor.h"
#include "auth/auth.h"
#include "net/local.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

#include "renkei.pb-c.h"

#define B(name) RENKEI__V1__ENVELOPE__BODY_##name

/* One command: what the user typed, what it asks. */
struct acct {
	const char *command; /* "user disable" */
	const char *action;  /* "user.disable" */
	Renkei__V1__Envelope__BodyCase body;
	const char *target, *reason;
	const char *name, *org, *kind, *area; /* user add, org add */
	enum profession prof;
	bool pw_stdin;
	bool offline; /* --offline: straight to the databases, server or not */
	char one_time[1100]; /* made here when offline, or typed */
};

/* ------------------------------------------------- through the server */

/* The request as the server takes it (the strings are borrowed). */
static uint8_t *
encode(const struct acct *x, size_t *len)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AdminCreateUserRequest cu =
		RENKEI__V1__ADMIN_CREATE_USER_REQUEST__INIT;
	Renkei__V1__AdminOrgAddRequest oa = RENKEI__V1__ADMIN_ORG_ADD_REQUEST__INIT;
	Renkei__V1__AdminUserRequest ur = RENKEI__V1__ADMIN_USER_REQUEST__INIT;
	uint8_t *buf;

	env.request_id = 1;
	env.body_case = x->body;
	if (x->body == B(ADMIN_CREATE_USER_REQUEST)) {
		cu.login = (char *)x->target;
		cu.display_name = (char *)x->name;
		cu.profession = (Renkei__V1__Profession)x->prof;
		cu.org = (char *)(x->org ? x->org : "");
		cu.reason = (char *)x->reason;
		env.admin_create_user_request = &cu;
	} else if (x->body == B(ADMIN_ORG_ADD_REQUEST)) {
		oa.code = (char *)x->target;
		oa.name = (char *)x->name;
		oa.kind = (char *)(x->kind ? x->kind : "");
		oa.area = (char *)(x->area ? x->area : "");
		oa.reason = (char *)x->reason;
		env.admin_org_add_request = &oa;
	} else {
		ur.login = (char *)x->target;
		ur.reason = (char *)x->reason;
		/* The oneof: every AdminUserRequest member sits at one offset. */
		env.admin_disable_user_request = &ur;
	}
	*len = renkei__v1__envelope__get_packed_size(&env);
	buf = rk_malloc(*len);
	renkei__v1__envelope__pack(&env, buf);
	return buf;
}

static void
say_done(const struct acct *x, const char *one_time, unsigned closed)
{
	if (strcmp(x->action, "user.create") == 0 && x->pw_stdin)
		printf("user %s added; the password must be changed at first login\n",
		       x->target);
	else if (strcmp(x->action, "user.create") == 0)
		printf("user %s added; one-time password (shown once, to be changed "
		       "at first login): %s\n",
		       x->target, one_time);
	else if (strcmp(x->action, "user.reset_password") == 0)
		printf("user %s: new one-time password (shown once, to be changed at "
		       "next login): %s; their sessions are ended\n",
		       x->target, one_time);
	else if (strcmp(x->action, "user.disable") == 0)
		printf("user %s disabled; their sessions are ended\n", x->target);
	else if (strcmp(x->action, "user.enable") == 0)
		printf("user %s enabled\n", x->target);
	else if (strcmp(x->action, "user.reset_2fa") == 0)
		printf("user %s: second factor forgotten (they enrol again at next "
		       "login); their sessions are ended\n",
		       x->target);
	else if (strcmp(x->action, "user.unlock") == 0)
		printf("user %s: failed logins forgotten (from every address)\n",
		       x->target);
	else
		printf("organisation %s added\n", x->target);
	if (closed > 0)
		printf("%u open session%s closed now\n", closed, closed == 1 ? "" : "s");
}

/* 0 done, 1 refused, 2 usage; -2: no server runs here (go offline). */
static int
via_server(struct admin *a, const struct acct *x)
{
	uint8_t *req, *resp = NULL;
	size_t len, rlen;
	char err[512];
	Renkei__V1__Envelope *env;
	int rc;

	req = encode(x, &len);
	rc = local_call(a->conf->data_dir, req, len, &resp, &rlen, err, sizeof(err));
	free(req);
	if (rc == 1)
		return -2;
	if (rc != 0) {
		/* A server is there but not reachable: never go around it
		 * unasked. */
		fprintf(stderr, "renkei-server: %s: %s (nothing was changed; "
		                "--offline writes to the databases directly)\n",
		        x->command, err);
		return 1;
	}
	env = renkei__v1__envelope__unpack(NULL, rlen, resp);
	free(resp);
	if (env == NULL) {
		fprintf(stderr, "renkei-server: %s: the server's answer does not "
		                "decode\n",
		        x->command);
		return 1;
	}
	if (env->body_case == B(ADMIN_RESPONSE)) {
		say_done(x, env->admin_response->one_time_password,
		         env->admin_response->sessions_closed);
		rc = 0;
	} else if (env->body_case == B(ERROR)) {
		fprintf(stderr, "renkei-server: %s: %s%s%s%s (the server said)\n",
		        x->command, env->error->message,
		        env->error->field[0] ? " (field " : "", env->error->field,
		        env->error->field[0] ? ")" : "");
		rc = 1;
	} else {
		fprintf(stderr, "renkei-server: %s: unexpected answer\n", x->command);
		rc = 1;
	}
	if (env->body_case == B(ADMIN_RESPONSE) &&
	    env->admin_response->one_time_password[0] != '\0')
		OPENSSL_cleanse(env->admin_response->one_time_password,
		                strlen(env->admin_response->one_time_password));
	renkei__v1__envelope__free_unpacked(env, NULL);
	return rc;
}

/* ---------------------------------------------------------- offline */

int
admin_forward_sign(struct admin *a, struct store_conn *sc)
{
	struct audit_journal j = {0};
	char err[ADMIN_ERR];
	int rc;

	j.signer = admin_signer(a, err, sizeof(err));
	if (j.signer == NULL) {
		fprintf(stderr, "renkei-server: the record waits in care.db's outbox "
		                "(forwarded at the server's next start): %s\n",
		        err);
		return -1;
	}
	j.every_records = 1;
	rc = store_exec(sc, "BEGIN IMMEDIATE");
	if (rc == RK_OK)
		rc = audit_store_journal.forward(sc, &j);
	store_conn_release(sc);
	if (rc == RK_OK)
		rc = store_exec(sc, "COMMIT");
	if (rc != RK_OK) {
		struct audit_anchor dropped;
		if (!sqlite3_get_autocommit(store_conn_db(sc)))
			store_exec(sc, "ROLLBACK");
		audit_signer_take(j.signer, &dropped); /* never stored */
		fprintf(stderr, "renkei-server: the record waits in care.db's outbox "
		                "(forwarded at the server's next start): %s\n",
		        sqlite3_errmsg(store_conn_db(sc)));
	} else {
		admin_anchor(a, j.signer);
	}
	audit_signer_free(j.signer);
	return rc == RK_OK ? 0 : -1;
}

/* The change, in the caller's transaction. */
static int
change(struct admin *a, struct store_conn *sc, struct acct *x,
       struct rk_status *st)
{
	int64_t now = rk_now_ms(), id;
	struct auth_user u;
	char hash[160];
	int rc;

	if (strcmp(x->action, "org.add") == 0)
		return auth_org_add(sc, x->target, x->name, x->kind, x->area, st);
	if (strcmp(x->action, "user.create") == 0 ||
	    strcmp(x->action, "user.reset_password") == 0) {
		/* x->one_time is the password: typed (user add
		 * --password-stdin) or made here; changed at first login
		 * either way, since the admin knows it. */
		if (x->one_time[0] == '\0')
			auth_one_time_password(x->one_time);
		rc = auth_password_hash(x->one_time, a->conf->argon2_t,
		                        a->conf->argon2_m_kib, hash, sizeof(hash));
		if (rc != RK_OK)
			return rk_fail(st, RK_ERR_CRYPTO, "cannot hash the password", NULL);
		if (strcmp(x->action, "user.create") == 0) {
			rc = auth_user_create_one_time(sc, x->target, x->name, x->prof,
			                               x->org, hash, &id, st);
			OPENSSL_cleanse(hash, sizeof(hash));
			return rc;
		}
	}
	rc = auth_user_load(sc, x->target, 0, &u);
	if (rc == RK_OK) {
		if (strcmp(x->action, "user.disable") == 0)
			rc = auth_user_disable(sc, x->target, now, st);
		else if (strcmp(x->action, "user.enable") == 0)
			rc = auth_user_enable(sc, x->target, st);
		else if (strcmp(x->action, "user.reset_password") == 0)
			rc = auth_password_reset_hashed(sc, u.id, hash, now);
		else if (strcmp(x->action, "user.reset_2fa") == 0)
			rc = auth_totp_forget(sc, u.id, now);
		else
			rc = auth_login_unlock(sc, x->target);
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	if (rc != RK_OK && st->err == RK_OK)
		return rk_fail(st, rc, "database error", NULL);
	return rc;
}

static int
offline(struct admin *a, struct acct *x)
{
	struct store_conn *sc;
	struct audit_signer *signer;
	struct rk_status st = {0};
	struct audit_event ev = {0};
	char login[64], device[64], err[ADMIN_ERR];
	int rc;

	if (admin_open(a, &sc) != 0)
		return 1;
	admin_trail_actor(&ev, x->command, login, device);
	ev.action = x->action;
	ev.object = x->target;
	ev.reason = x->reason;
	rc = store_exec(sc, "BEGIN IMMEDIATE");
	if (rc != RK_OK)
		rk_fail(&st, RK_ERR_STORE, "the database is busy", NULL);
	else if ((rc = change(a, sc, x, &st)) == RK_OK &&
	         (rc = audit_stage(sc, &ev)) != RK_OK)
		rk_fail(&st, RK_ERR_STORE, "cannot write the audit record", NULL);
	store_conn_release(sc);
	if (rc == RK_OK && (rc = store_exec(sc, "COMMIT")) != RK_OK)
		rk_fail(&st, RK_ERR_STORE, "cannot commit", NULL);
	if (rc != RK_OK) {
		if (!sqlite3_get_autocommit(store_conn_db(sc)))
			store_exec(sc, "ROLLBACK");
		fprintf(stderr, "renkei-server: %s: %s\n", x->command,
		        st.msg ? st.msg : rk_strerror(rc));
		/* Refused, and said so in the trail (nothing else changed). */
		if (rc != RK_ERR_STORE &&
		    (signer = admin_signer(a, err, sizeof(err))) != NULL) {
			admin_record(a, sc, signer, x->command, x->action, x->target, rc,
			             x->reason);
			audit_signer_free(signer);
		}
		store_conn_close(sc);
		return 1;
	}
	/* Committed with its record: now into the chain, signed. */
	admin_forward_sign(a, sc);
	store_conn_close(sc);
	say_done(x, x->one_time, 0);
	return 0;
}

static int
run(struct admin *a, struct acct *x)
{
	int rc = -2;

	if (!x->pw_stdin && !x->offline)
		rc = via_server(a, x);
	if (rc == -2)
		rc = offline(a, x);
	OPENSSL_cleanse(x->one_time, sizeof(x->one_time));
	return rc;
}

/* ------------------------------------------------------------ parsing */

/* A reason an auditor can read, as the server takes it (api/admin.c):
 * given, 1 to 2000 bytes of UTF-8, not only white space. */
#define REASON_MAX 2000
static bool
reason_given(const char *r)
{
	size_t n = r != NULL ? strlen(r) : 0;

	return n > 0 && n <= REASON_MAX && rk_utf8_valid(r, n) &&
	       rk_text_visible_len(r, n) > 0;
}

static int
no_reason(const char *command)
{
	fprintf(stderr, "renkei-server: %s: give a reason (--reason WHY, up to "
	                "2000 bytes of text): it goes into the audit trail\n",
	        command);
	return 2;
}

int
admin_org_add(struct admin *a, int argc, char **argv)
{
	struct acct x = {.command = "org add", .action = "org.add",
	                 .body = B(ADMIN_ORG_ADD_REQUEST), .kind = "", .area = ""};

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			x.kind = argv[++i];
		else if (strcmp(argv[i], "--area") == 0 && i + 1 < argc)
			x.area = argv[++i];
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			x.reason = argv[++i];
		else if (strcmp(argv[i], "--offline") == 0)
			x.offline = true;
		else if (x.target == NULL)
			x.target = argv[i];
		else if (x.name == NULL)
			x.name = argv[i];
		else
			goto usage;
	}
	if (x.target == NULL || x.name == NULL)
		goto usage;
	if (!reason_given(x.reason))
		return no_reason(x.command);
	return run(a, &x);
usage:
	fprintf(stderr, "usage: renkei-server org add CODE NAME [--kind K] "
	                "[--area A] --reason WHY [--offline]\n");
	return 2;
}

/* Read a password: without echo from a terminal (asked twice), else one
 * line from stdin. Into out[cap]; 0, or -1. */
static int
read_password(char *out, size_t cap)
{
	char a[1100], b[1100];
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	int rc = -1;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		fprintf(stderr, "password: ");
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(a, sizeof(a), stdin) == NULL)
		goto out;
	a[strcspn(a, "\r\n")] = '\0';
	if (tty) {
		fprintf(stderr, "\nagain: ");
		if (fgets(b, sizeof(b), stdin) == NULL)
			goto out;
		b[strcspn(b, "\r\n")] = '\0';
		fprintf(stderr, "\n");
		if (strcmp(a, b) != 0) {
			fprintf(stderr, "renkei-server: the two passwords differ\n");
			goto out;
		}
	}
	if (strlen(a) < cap) {
		memcpy(out, a, strlen(a) + 1);
		rc = 0;
	}
out:
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

int
admin_user_add(struct admin *a, int argc, char **argv)
{
	struct acct x = {.command = "user add", .action = "user.create",
	                 .body = B(ADMIN_CREATE_USER_REQUEST)};
	const char *prof = NULL;
	char pw[1100];
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			x.name = argv[++i];
		else if (strcmp(argv[i], "--profession") == 0 && i + 1 < argc)
			prof = argv[++i];
		else if (strcmp(argv[i], "--org") == 0 && i + 1 < argc)
			x.org = argv[++i];
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			x.reason = argv[++i];
		else if (strcmp(argv[i], "--offline") == 0)
			x.offline = true;
		else if (strcmp(argv[i], "--password-stdin") == 0)
			x.pw_stdin = true;
		else if (x.target == NULL)
			x.target = argv[i];
		else
			goto usage;
	}
	if (x.target == NULL || x.name == NULL || prof == NULL)
		goto usage;
	x.prof = auth_profession_parse(prof);
	if (x.prof == PROF_NONE) {
		fprintf(stderr, "renkei-server: unknown profession \"%s\"\n", prof);
		return 2;
	}
	if (!reason_given(x.reason))
		return no_reason(x.command);
	if (x.pw_stdin) {
		/* A password the admin chose (scripts, demos): offline only,
		 * and still to be changed at first login. */
		if (read_password(pw, sizeof(pw)) != 0 || strlen(pw) < 8) {
			fprintf(stderr, "renkei-server: a password of at least 8 "
			                "characters is needed\n");
			OPENSSL_cleanse(pw, sizeof(pw));
			return 1;
		}
		memcpy(x.one_time, pw, strlen(pw) + 1);
		OPENSSL_cleanse(pw, sizeof(pw));
	}
	rc = run(a, &x);
	return rc;
usage:
	fprintf(stderr, "usage: renkei-server user add LOGIN --name NAME "
	                "--profession P [--org CODE] [--password-stdin] "
	                "--reason WHY [--offline]\n");
	return 2;
}

/* user disable | enable | unlock | reset-password | reset-2fa LOGIN
 * --reason WHY */
static int
user_op(struct admin *a, const char *command, const char *action,
        Renkei__V1__Envelope__BodyCase body, int argc, char **argv)
{
	struct acct x = {.command = command, .action = action, .body = body};

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			x.reason = argv[++i];
		else if (strcmp(argv[i], "--offline") == 0)
			x.offline = true;
		else if (x.target == NULL)
			x.target = argv[i];
		else
			goto usage;
	}
	if (x.target == NULL)
		goto usage;
	if (!reason_given(x.reason))
		return no_reason(command);
	return run(a, &x);
usage:
	fprintf(stderr, "usage: renkei-server %s LOGIN --reason WHY [--offline]\n",
	        command);
	return 2;
}

int
admin_user_disable(struct admin *a, int argc, char **argv)
{
	return user_op(a, "user disable", "user.disable",
	               B(ADMIN_DISABLE_USER_REQUEST), argc, argv);
}

int
admin_user_enable(struct admin *a, int argc, char **argv)
{
	return user_op(a, "user enable", "user.enable",
	               B(ADMIN_ENABLE_USER_REQUEST), argc, argv);
}

int
admin_user_unlock(struct admin *a, int argc, char **argv)
{
	return user_op(a, "user unlock", "user.unlock", B(ADMIN_UNLOCK_USER_REQUEST),
	               argc, argv);
}

int
admin_user_reset_password(struct admin *a, int argc, char **argv)
{
	return user_op(a, "user reset-password", "user.reset_password",
	               B(ADMIN_RESET_PASSWORD_REQUEST), argc, argv);
}

int
admin_user_reset_2fa(struct admin *a, int argc, char **argv)
{
	return user_op(a, "user reset-2fa", "user.reset_2fa",
	               B(ADMIN_RESET_SECOND_FACTOR_REQUEST), argc, argv);
}

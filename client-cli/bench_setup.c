/*
 * Bench accounts: made by importing a ward file into the server's data
 * folder with `renkei-server import` (the admin path: the protocol has
 * no way to create users), then logged in once each.
 *
 * Layout. For M members per board there is one independent set: patients
 * bench-m<M>-p0001.., each with a sheet of M nurses of its own
 * (bench-m<M>-u00001..), so that a board's M members are exactly the
 * watchers of that board. Growing the number of boards imports only the
 * new ones; another M is another set. What exists is recorded in
 * DATA/bench/state.json (mode 0600) with the one password of every bench
 * account (random, made at the first setup): the data folder already
 * holds the database keys, so it is no weaker a place.
 *
 * Hashing: the import runs with --argon2-t 1 --argon2-m-kib 64 so that
 * hundreds of accounts take a moment, not minutes; bench passwords are
 * random and never typed by a person. Those costs are below OWASP's
 * floor, which renkei-server accepts only with RENKEI_ARGON2_TEST_COST=1
 * in its environment (server/util/conf.h): set for the import child
 * alone, never for the server being measured, which makes every hash of
 * its own (the stand-in hash of an unknown login in login-flood) at its
 * configured cost.
 *
 * SQLite locking makes importing while the server runs safe; the import
 * is one transaction, so a failed one leaves nothing and state.json is
 * only updated after it succeeded.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define IMPORT_TIMEOUT_S 600
#define LOGIN_WINDOW 32 /* logins in flight: argon2 runs on the server's readers */

void
bench_user_name(char *buf, size_t len, int members, int board, int member)
{
	snprintf(buf, len, "bench-m%d-u%05d", members, board * members + member + 1);
}

void
bench_patient_code(char *buf, size_t len, int members, int board)
{
	snprintf(buf, len, "bench-m%d-p%04d", members, board + 1);
}

static void
state_path(const struct bench_opts *o, char *buf, size_t len, const char *leaf)
{
	snprintf(buf, len, "%s/bench%s%s", o->data, leaf ? "/" : "", leaf ? leaf : "");
}

/* The state, or a fresh one (with a new password) if there is none. */
static json_t *
state_load(struct bench_opts *o)
{
	char path[CLI_PATH_MAX + 16], pw[33];
	unsigned char rnd[16];
	json_error_t jerr;
	json_t *st;

	state_path(o, path, sizeof path, "state.json");
	st = json_load_file(path, 0, &jerr);
	if (st != NULL && json_is_string(json_object_get(st, "password")) &&
	    json_is_object(json_object_get(st, "sets")))
		return st;
	if (st != NULL || errno != ENOENT)
		fprintf(stderr, "%s: bench: ignoring %s (%s)\n", o->cli->prog, path, jerr.text);
	json_decref(st);
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		abort();
	for (int i = 0; i < 16; i++)
		snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
	return json_pack("{s:s,s:b,s:{}}", "password", pw, "org", 0, "sets");
}

/* Write doc to path, mode 0600, atomically. */
static int
write_json(const char *path, json_t *doc)
{
	char tmp[CLI_PATH_MAX + 8];
	int fd, rc;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	rc = json_dumpfd(doc, fd, JSON_INDENT(1));
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

static json_t *
make_ward(int from, int to, int members, const char *pw, int with_org)
{
	json_t *users = json_array(), *patients = json_array(), *orgs = json_array();
	char login[64], code[64], name[128];

	if (with_org)
		json_array_append_new(orgs, json_pack("{s:s,s:s,s:s,s:s}", "id", BENCH_ORG, "name",
		                                      "ベンチ訪問看護ステーション", "kind",
		                                      "visiting_nurse", "area", "bench"));
	for (int b = from; b < to; b++) {
		json_t *sheet = json_array();
		for (int m = 0; m < members; m++) {
			bench_user_name(login, sizeof login, members, b, m);
			snprintf(name, sizeof name, "ベンチ 看護師%05d", b * members + m + 1);
			json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:s}", "login", login, "name", name,
			                      "profession", "nurse", "org", BENCH_ORG,
			                      "demo_password", pw);
			json_array_append_new(users, u);
			json_array_append_new(sheet, json_pack("{s:s,s:s}", "login", login,
			                                       "team_role", "訪問看護"));
		}
		bench_patient_code(code, sizeof code, members, b);
		snprintf(name, sizeof name, "ベンチ 患者%04d", b + 1);
		json_array_append_new(patients,
		                      json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", code, "name", name,
		                                "kana", "ベンチ カンジャ", "summary",
		                                "renkei bench の患者（架空）", "sheet", sheet));
	}
	return json_pack("{s:s,s:o,s:o,s:o}", "ward", "renkei bench", "organisations", orgs,
	                 "users", users, "patients", patients);
}

/* renkei-server: --server-bin, else the one beside this renkei. */
static void
server_bin(const struct bench_opts *o, char *buf, size_t len)
{
	char self[CLI_PATH_MAX];
	ssize_t n;

	if (o->server_bin != NULL) {
		snprintf(buf, len, "%s", o->server_bin);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		snprintf(buf, len, "renkei-server");
		return;
	}
	self[n] = '\0';
	snprintf(buf, len, "%s/renkei-server", dirname(self));
}

/* Run renkei-server import; its output goes to stderr (stdout may be
 * --json). Returns 0 if it succeeded. */
static int
run_import(struct bench_opts *o, const char *bin, const char *file)
{
	char *const args[] = {(char *)bin, "import", "--data", (char *)o->data, "--argon2-t",
	                      "1", "--argon2-m-kib", "64", (char *)file, NULL};
	int64_t deadline = bench_now_ns() + (int64_t)IMPORT_TIMEOUT_S * 1000000000;
	pid_t pid, w;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(2, 1);
		setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
		execv(bin, args);
		fprintf(stderr, "%s: bench: cannot run %s: %s\n", o->cli->prog, bin,
		        strerror(errno));
		_exit(127);
	}
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (bench_now_ns() > deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			fprintf(stderr, "%s: bench: the import took over %d s\n", o->cli->prog,
			        IMPORT_TIMEOUT_S);
			return -1;
		}
		usleep(20000);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
bench_setup_ensure(struct bench_opts *o, int boards, int members, char *password,
                   size_t pwlen)
{
	char dir[CLI_PATH_MAX], path[CLI_PATH_MAX + 16], ward[CLI_PATH_MAX + 64],
		bin[CLI_PATH_MAX], key[16];
	struct stat sb;
	json_t *st, *doc;
	int have, rc;
	int64_t t0;

	if (stat(o->data, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_fail(o->cli, CLI_EXIT_USAGE,
		                "no data folder %s (--data: the server's data folder, where "
		                "the bench accounts are imported)",
		                o->data);
	state_path(o, dir, sizeof dir, NULL);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cli_fail(o->cli, CLI_EXIT_FAIL, "cannot create %s: %s", dir,
		                strerror(errno));
	st = state_load(o);
	snprintf(key, sizeof key, "%d", members);
	have = (int)json_integer_value(json_object_get(json_object_get(st, "sets"), key));
	snprintf(password, pwlen, "%s", json_string_value(json_object_get(st, "password")));
	if (have >= boards) {
		json_decref(st);
		return CLI_EXIT_OK;
	}
	if (o->no_setup) {
		json_decref(st);
		return cli_fail(o->cli, CLI_EXIT_FAIL,
		                "%d boards x %d members of bench accounts are not set up in %s "
		                "(there are %d): run renkei bench setup",
		                boards, members, o->data, have);
	}
	server_bin(o, bin, sizeof bin);
	if (access(bin, X_OK) != 0) {
		json_decref(st);
		return cli_fail(o->cli, CLI_EXIT_USAGE,
		                "cannot run %s to import the bench accounts (--server-bin)", bin);
	}
	snprintf(ward, sizeof ward, "%s/ward-m%d-%d-%d.json", dir, members, have + 1, boards);
	doc = make_ward(have, boards, members, password,
	                !json_is_true(json_object_get(st, "org")));
	rc = write_json(ward, doc);
	json_decref(doc);
	if (rc != 0) {
		json_decref(st);
		return cli_fail(o->cli, CLI_EXIT_FAIL, "cannot write %s: %s", ward,
		                strerror(errno));
	}
	fprintf(stderr, "%s: bench: importing boards %d..%d (%d members each) into %s\n",
	        o->cli->prog, have + 1, boards, members, o->data);
	t0 = bench_now_ns();
	rc = run_import(o, bin, ward);
	(void)unlink(ward); /* it holds the password */
	if (rc != 0) {
		json_decref(st);
		return cli_fail(o->cli, CLI_EXIT_FAIL,
		                "the import of the bench accounts failed (see above); if they "
		                "exist but %s/state.json was lost, use a fresh data folder",
		                dir);
	}
	fprintf(stderr, "%s: bench: imported %d users and %d patients in %.1f s\n",
	        o->cli->prog, (boards - have) * members, boards - have,
	        (double)(bench_now_ns() - t0) / 1e9);
	json_object_set_new(st, "org", json_true());
	json_object_set_new(json_object_get(st, "sets"), key, json_integer(boards));
	state_path(o, path, sizeof path, "state.json");
	rc = write_json(path, st);
	json_decref(st);
	if (rc != 0)
		return cli_fail(o->cli, CLI_EXIT_FAIL, "cannot write %s: %s", path,
		                strerror(errno));
	return CLI_EXIT_OK;
}

/* ---- logging in */

struct login_run {
	char **tokens;
	size_t done, failed;
	char why[200];
};

static void
login_ready(struct bconn *c, void *arg)
{
	struct login_run *r = arg;

	r->tokens[c->tag] = c->login_token;
	c->login_token = NULL;
	r->done++;
	bl_drop(c, 1);
}

static void
login_closed(struct bconn *c, void *arg)
{
	struct login_run *r = arg;

	if (r->failed++ == 0)
		snprintf(r->why, sizeof r->why, "%s", c->why);
}

void
bench_tokens_free(char **tokens, size_t n)
{
	if (tokens == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (tokens[i] != NULL)
			OPENSSL_cleanse(tokens[i], strlen(tokens[i]));
		free(tokens[i]);
	}
	free(tokens);
}

int
bench_login_all(struct bench_opts *o, struct bench_target *t, int boards, int members,
                const char *password, char ***tokens)
{
	struct bench_cbs cbs = {login_ready, NULL, login_closed, NULL};
	struct login_run r;
	struct bench_loop *l;
	size_t n = (size_t)boards * (size_t)members, i;
	char **logins = calloc(n, sizeof *logins);
	int64_t deadline = bench_now_ns() + (60 + (int64_t)n / 20) * 1000000000;
	char name[64];

	memset(&r, 0, sizeof r);
	r.tokens = calloc(n, sizeof *r.tokens);
	if (logins == NULL || r.tokens == NULL)
		abort();
	cbs.arg = &r;
	l = bl_new(t, &cbs, LOGIN_WINDOW);
	if (l == NULL)
		abort();
	for (i = 0; i < n; i++) {
		bench_user_name(name, sizeof name, members, (int)(i / (size_t)members),
		                (int)(i % (size_t)members));
		logins[i] = strdup(name);
		bl_open_login(l, logins[i], password, NULL)->tag = (int)i;
	}
	while (r.done + r.failed < n && r.failed == 0 && !bench_stopping() &&
	       bench_now_ns() < deadline)
		if (bl_poll(l, 50) != 0)
			break;
	bl_free(l);
	for (i = 0; i < n; i++)
		free(logins[i]);
	free(logins);
	if (r.done < n) {
		bench_tokens_free(r.tokens, n);
		if (strstr(r.why, "UNAUTHENTICATED") != NULL)
			return cli_fail(o->cli, CLI_EXIT_AUTH,
			                "the bench accounts cannot log in (%s): is %s the data "
			                "folder of the server at %s?",
			                r.why, o->data, t->url);
		return cli_fail(o->cli, CLI_EXIT_CONNECT, "logging in the bench accounts: %s",
		                r.failed ? r.why : "stopped or timed out");
	}
	*tokens = r.tokens;
	return CLI_EXIT_OK;
}

int
bench_env_open(struct bench_opts *o, struct bench_env *e)
{
	char pw[64], err[512];
	int rc;

	memset(e, 0, sizeof *e);
	/* the target first: nothing is imported for a server we will not load */
	if (bench_target_init(&e->target, o->url, o->ca, err, sizeof err) != 0)
		return cli_fail(o->cli, CLI_EXIT_CONNECT, "%s", err);
	rc = bench_setup_ensure(o, o->boards, o->members, pw, sizeof pw);
	if (rc != CLI_EXIT_OK) {
		bench_target_fini(&e->target);
		return rc;
	}
	rc = bench_login_all(o, &e->target, o->boards, o->members, pw, &e->tokens);
	memcpy(e->password, pw, sizeof e->password);
	OPENSSL_cleanse(pw, sizeof pw);
	if (rc != CLI_EXIT_OK) {
		bench_target_fini(&e->target);
		return rc;
	}
	e->ntokens = (size_t)o->boards * (size_t)o->members;
	return CLI_EXIT_OK;
}

void
bench_env_close(struct bench_env *e)
{
	bench_tokens_free(e->tokens, e->ntokens);
	bench_target_fini(&e->target);
	OPENSSL_cleanse(e->password, sizeof e->password);
	memset(e, 0, sizeof *e);
}

int
bench_cmd_setup(struct bench_opts *o)
{
	struct bench_report r;
	char pw[64], path[CLI_PATH_MAX + 16];
	int rc = bench_setup_ensure(o, o->boards, o->members, pw, sizeof pw);

	OPENSSL_cleanse(pw, sizeof pw);
	if (rc != CLI_EXIT_OK)
		return rc;
	state_path(o, path, sizeof path, "state.json");
	bench_report_init(&r, "setup");
	bench_describe(&r, "bench accounts in %s", o->data);
	bench_row(&r, "boards (patients)", "boards", o->boards, 0, "");
	bench_row(&r, "members per board", "members", o->members, 0, "");
	bench_row(&r, "users", "users", (double)o->boards * o->members, 0, "");
	bench_row_text(&r, "state (password)", "state", path);
	bench_report_print(o, &r);
	return CLI_EXIT_OK;
}

/*
 * Scenarios connections and reconnect.
 *
 * connections: N authenticated idle connections (each resumes one of the
 * bench sessions, round robin), the time to connect them all and what
 * they cost the server in memory (VmRSS after minus before, over N).
 * When N needs more descriptors than RLIMIT_NOFILE gives one process,
 * the connections are shared among forked workers: each connects its
 * share, sends its counts and latency samples to the parent over a pipe,
 * and holds its connections until the parent (having read the server's
 * RSS) writes a byte on its control pipe. The server's own descriptor
 * limit is the server's business: connections it cannot accept show up
 * as failures.
 *
 * reconnect: B x M clients live on their boards (cursor from the
 * SyncResponse) drop their connections at once, as phones do in a
 * tunnel; then one new connection per board posts K posts; then all
 * clients reconnect at once, resume their sessions and sync from their
 * cursors, page after page until more = false. Reported: the time until
 * the last one has caught up, each client's catch-up time, and whether
 * every client got exactly its board's K posts, in order, once each.
 */
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SETTLE_NS 1000000000LL /* let the server finish before reading RSS */
#define FD_SLACK 128            /* descriptors kept for everything else */
#define MAX_WORKERS 64

/* ---- connections */

struct share {
	uint64_t ok, failed, lost;
	int64_t t_first, t_last;
	char why[160];
};

struct share_run {
	struct share res;
	struct bench_samples lat;
	int connecting;
};

static void
sh_ready(struct bconn *c, void *arg)
{
	struct share_run *s = arg;

	s->res.ok++;
	bench_samples_add(&s->lat, c->t_ready - c->t_begin);
	if (c->t_ready > s->res.t_last)
		s->res.t_last = c->t_ready;
}

static void
sh_closed(struct bconn *c, void *arg)
{
	struct share_run *s = arg;

	if (s->connecting)
		s->res.failed++;
	else
		s->res.lost++;
	if (s->res.why[0] == '\0')
		snprintf(s->res.why, sizeof s->res.why, "%s", c->why);
}

/* Connect count connections (tokens from start on, round robin). */
static struct bench_loop *
connect_share(struct bench_opts *o, struct bench_env *e, size_t start, size_t count,
              struct share_run *s, struct bench_cbs *cbs)
{
	int64_t deadline;
	struct bench_loop *l;

	cbs->ready = sh_ready;
	cbs->message = NULL;
	cbs->closed = sh_closed;
	cbs->arg = s;
	l = bl_new(&e->target, cbs, o->window);
	if (l == NULL)
		abort();
	s->connecting = 1;
	s->res.t_first = bench_now_ns();
	for (size_t i = 0; i < count; i++)
		(void)bl_open(l, e->tokens[(start + i) % e->ntokens], NULL);
	/* bounded: a generous 20 ms per connection, at least a minute */
	deadline = s->res.t_first + (60 + (int64_t)count / 50) * 1000000000;
	while (s->res.ok + s->res.failed < count && !bench_stopping() &&
	       bench_now_ns() < deadline)
		if (bl_poll(l, 50) != 0)
			break;
	s->connecting = 0;
	if (s->res.ok + s->res.failed < count) {
		/* still queued or handshaking at the deadline: failures too */
		s->res.failed = count - s->res.ok;
		if (s->res.why[0] == '\0')
			snprintf(s->res.why, sizeof s->res.why,
			         "stopped or timed out while connecting");
	}
	return l;
}

/* Keep l's connections served (pings) for ns, or until fd is readable. */
static void
hold(struct bench_loop *l, int64_t ns, int fd)
{
	int64_t end = bench_now_ns() + ns;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (bench_now_ns() < end && !bench_stopping()) {
		if (fd >= 0 && poll(&p, 1, 0) != 0)
			return;
		if (bl_poll(l, 50) != 0)
			return;
	}
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t len, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char *q = buf;

	while (len > 0) {
		int64_t left = (deadline - bench_now_ns()) / 1000000;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		ssize_t n = read(fd, q, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		q += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A worker: connect, report, hold until told, close. Never returns. */
static void
worker(struct bench_opts *o, struct bench_env *e, size_t start, size_t count, int res_fd,
       int ctl_fd)
{
	struct share_run s;
	struct bench_cbs cbs;
	struct bench_loop *l;
	uint64_t n;

	memset(&s, 0, sizeof s);
	l = connect_share(o, e, start, count, &s, &cbs);
	n = s.lat.n;
	if (write_all(res_fd, &s.res, sizeof s.res) == 0 && write_all(res_fd, &n, sizeof n) == 0)
		(void)write_all(res_fd, s.lat.v, n * sizeof *s.lat.v);
	hold(l, (int64_t)(o->hold_s + 600) * 1000000000, ctl_fd);
	bl_free(l);
	_exit(0);
}

static void
conns_report(struct bench_opts *o, int workers, struct share_run *s, long rss0, long rss1,
             const struct bench_snapshot *a, const struct bench_snapshot *b,
             const char *pid_note, double client_cpu)
{
	struct bench_report r;
	double t = (double)(s->res.t_last - s->res.t_first) / 1e9;

	bench_report_init(&r, "connections");
	bench_describe(&r, "%d authenticated idle connections from %d process%s, %d handshakes "
	               "at a time per process",
	               o->conns, workers, workers == 1 ? "" : "es", o->window);
	bench_row(&r, "connections wanted", "connections", o->conns, 0, "");
	bench_row(&r, "connected", "connected", (double)s->res.ok, 0, "");
	bench_row(&r, "failed", "failed", (double)s->res.failed, 0, "");
	if (s->res.why[0])
		bench_row_text(&r, "  first failure", "first_failure", s->res.why);
	bench_row(&r, "time to connect all", "connect_s", t > 0 ? t : 0, 2, "s");
	bench_row(&r, "connections/s", "connections_per_s", t > 0 ? (double)s->res.ok / t : 0, 0,
	          "/s");
	bench_row_latency(&r, "connect + resume", "connect_latency", &s->lat);
	if (rss0 >= 0 && rss1 >= 0 && s->res.ok > 0) {
		bench_row(&r, "server RSS before", "server_rss_before_mib", rss0 / 1024.0, 1,
		          "MiB");
		bench_row(&r, "server RSS with them", "server_rss_after_mib", rss1 / 1024.0, 1,
		          "MiB");
		bench_row(&r, "server RSS per connection", "server_rss_per_conn_kib",
		          (double)(rss1 - rss0) / (double)s->res.ok, 1, "KiB");
	}
	if (b->m.ok)
		bench_row(&r, "renkei_connections (server)", "server_connections", b->m.connections,
		          0, "");
	if (a->cpu_ok && b->cpu_ok && s->res.ok > 0)
		bench_row(&r, "server CPU per connection", "server_cpu_ms_per_conn",
		          (b->cpu_s - a->cpu_s) * 1e3 / (double)s->res.ok, 2, "ms");
	bench_row(&r, "bench client CPU", "client_cpu_s", client_cpu, 2, "s");
	bench_server_rows(&r, a, b, pid_note);
	bench_report_print(o, &r);
}

int
bench_cmd_connections(struct bench_opts *o)
{
	struct bench_snapshot sa, sb;
	struct share_run s;
	struct bench_cbs cbs;
	struct bench_env e;
	struct bench_loop *l = NULL;
	struct rlimit rl;
	char pid_note[256] = "";
	int res[MAX_WORKERS], ctl[MAX_WORKERS], fds[2], fds2[2];
	pid_t kids[MAX_WORKERS];
	size_t budget, per, N = (size_t)o->conns;
	struct rusage ru;
	long rss0, rss1;
	double cpu0, cpu_kids = 0, cpu_kids0 = 0;
	int pid, rc, W = 1, i, started = 0;

	memset(&s, 0, sizeof s);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = 1024;
	budget = rl.rlim_cur > FD_SLACK * 2 ? (size_t)rl.rlim_cur - FD_SLACK : FD_SLACK;
	if (N > budget)
		W = (int)((N + budget - 1) / budget);
	if (W > MAX_WORKERS)
		return cli_fail(o->cli, CLI_EXIT_USAGE,
		                "%zu connections need more than %d processes of %zu descriptors",
		                N, MAX_WORKERS, budget);
	if ((rc = bench_env_open(o, &e)) != CLI_EXIT_OK)
		return rc;
	pid = bench_server_pid(o, &e.target, pid_note, sizeof pid_note);
	bench_snapshot_take(o, &e.target, pid, &sa);
	rss0 = sa.rss_kib;
	cpu0 = bench_self_cpu_s();
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0) /* the import, if any */
		cpu_kids0 = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (!o->cli->json)
		fprintf(stderr, "%s: bench: connecting %zu (%d process%s)\n", o->cli->prog, N, W,
		        W == 1 ? "" : "es");
	if (W == 1) {
		l = connect_share(o, &e, 0, N, &s, &cbs);
	} else {
		per = (N + (size_t)W - 1) / (size_t)W;
		fflush(stdout);
		fflush(stderr);
		s.res.t_first = INT64_MAX;
		for (i = 0; i < W; i++) {
			size_t from = per * (size_t)i, cnt = from + per > N ? N - from : per;
			if (pipe(fds) != 0 || pipe(fds2) != 0)
				break;
			kids[i] = fork();
			if (kids[i] == 0) {
				for (int k = 0; k < i; k++) {
					close(res[k]);
					close(ctl[k]);
				}
				close(fds[0]);
				close(fds2[1]);
				worker(o, &e, from, cnt, fds[1], fds2[0]);
			}
			close(fds[1]);
			close(fds2[0]);
			res[i] = fds[0];
			ctl[i] = fds2[1];
			if (kids[i] < 0) {
				close(res[i]);
				close(ctl[i]);
				break;
			}
			started++;
		}
		for (i = 0; i < started; i++) {
			struct share r1;
			uint64_t n = 0;
			int64_t dl = bench_now_ns() + (120 + (int64_t)per / 50) * 1000000000;
			if (read_all(res[i], &r1, sizeof r1, dl) != 0 ||
			    read_all(res[i], &n, sizeof n, dl) != 0) {
				s.res.failed += per;
				continue;
			}
			for (uint64_t k = 0; k < n; k++) {
				int64_t v;
				if (read_all(res[i], &v, sizeof v, dl) != 0)
					break;
				bench_samples_add(&s.lat, v);
			}
			s.res.ok += r1.ok;
			s.res.failed += r1.failed;
			if (r1.t_first < s.res.t_first)
				s.res.t_first = r1.t_first;
			if (r1.t_last > s.res.t_last)
				s.res.t_last = r1.t_last;
			if (s.res.why[0] == '\0' && r1.why[0] != '\0')
				memcpy(s.res.why, r1.why, sizeof s.res.why);
		}
		if (started < W && s.res.why[0] == '\0')
			snprintf(s.res.why, sizeof s.res.why, "could not start every worker");
	}
	/* the server has answered every resume; let it settle, then look */
	if (l != NULL)
		hold(l, SETTLE_NS, -1);
	else
		usleep(SETTLE_NS / 1000);
	bench_snapshot_take(o, &e.target, pid, &sb);
	rss1 = sb.rss_kib;
	if (l != NULL)
		hold(l, (int64_t)(o->hold_s * 1e9), -1);
	else
		usleep((useconds_t)(o->hold_s * 1e6));
	for (i = 0; i < started; i++) {
		(void)write_all(ctl[i], "x", 1);
		close(ctl[i]);
		close(res[i]);
	}
	for (i = 0; i < started; i++) {
		int st, k;
		for (k = 0; k < 600 && waitpid(kids[i], &st, WNOHANG) == 0; k++)
			usleep(50000);
		if (k == 600) {
			kill(kids[i], SIGKILL);
			(void)waitpid(kids[i], &st, 0);
		}
	}
	/* with workers, their CPU too (they have been waited for) */
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		cpu_kids = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	conns_report(o, W, &s, rss0, rss1, &sa, &sb, pid_note,
	             bench_self_cpu_s() - cpu0 + cpu_kids - cpu_kids0);
	rc = s.res.failed || s.res.ok < N ? CLI_EXIT_CONNECT : CLI_EXIT_OK;
	if (l != NULL) {
		bl_free(l);
	}
	bench_samples_free(&s.lat);
	bench_env_close(&e);
	return rc;
}

/* ---- reconnect */

#define PHASE_NS (300LL * 1000000000) /* bound on each phase */
#define POST_WINDOW 8                  /* posts in flight per board while away */

enum rphase { R_LIVE, R_AWAY, R_CATCHUP };

struct rclient {
	struct bconn *c;
	int board;
	uint64_t cursor;  /* where it was when it dropped */
	uint64_t last_id;
	int got, bad, pages, done;
};

struct rrun {
	struct bench_opts *o;
	int B, M, K;
	char **codes;
	struct rclient *cl;
	int *sent, *acked;  /* per board, while away */
	enum rphase phase;
	size_t live, done, failed, acks;
	uint64_t errors;
	int64_t t0, t_last;
	struct bench_samples lat;
	char why[200];
};

static void
r_sync(struct rrun *r, struct rclient *cl)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest sr = RENKEI__V1__SYNC_REQUEST__INIT;

	sr.n_patients = 1;
	sr.patients = &r->codes[cl->board];
	sr.live_only = r->phase == R_LIVE;
	sr.cursor = r->phase == R_LIVE ? 0 : cl->cursor;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	env.sync_request = &sr;
	(void)bl_send(cl->c, &env);
}

static void
r_post(struct rrun *r, struct bconn *c, int board)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	char id[64];

	snprintf(id, sizeof id, "r-%lld-%d-%d", (long long)bench_now_ns(), (int)getpid(),
	         r->sent[board]);
	cp.patient = r->codes[board];
	cp.client_id = id;
	cp.kind = RENKEI__V1__POST_KIND__GENERAL;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = "不在中の投稿（renkei bench reconnect）";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	if (bl_send(c, &env) != 0)
		r->sent[board]++;
}

static void
r_ready(struct bconn *c, void *arg)
{
	struct rrun *r = arg;

	if (c->user != NULL) {
		r_sync(r, c->user);
		return;
	}
	for (int i = 0; i < POST_WINDOW && r->sent[c->tag] < r->K; i++)
		r_post(r, c, c->tag);
}

static void
r_fail(struct rrun *r, const char *why)
{
	r->failed++;
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "%s", why);
}

static void
r_catchup(struct rrun *r, struct rclient *cl, const Renkei__V1__SyncResponse *sr, int64_t now)
{
	for (size_t i = 0; i < sr->n_posts; i++) {
		const Renkei__V1__Post *p = sr->posts[i];
		/* in order, once each, and only this board's */
		if (p->id <= cl->last_id || strcmp(p->patient, r->codes[cl->board]) != 0)
			cl->bad++;
		cl->last_id = p->id;
		cl->got++;
	}
	cl->pages++;
	cl->cursor = sr->cursor;
	if (sr->more) {
		r_sync(r, cl);
		return;
	}
	cl->done = 1;
	r->done++;
	bench_samples_add(&r->lat, now - cl->c->t_begin);
	r->t_last = now;
}

static void
r_message(struct bconn *c, Renkei__V1__Envelope *env, int64_t now, void *arg)
{
	struct rrun *r = arg;
	struct rclient *cl = c->user;
	char why[200];

	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
		r->errors++;
		snprintf(why, sizeof why, "%s (%s)", env->error->message,
		         rkc_code_name(env->error->code));
		r_fail(r, why);
		return;
	}
	if (cl == NULL && env->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
		r->acks++;
		r->acked[c->tag]++;
		if (r->sent[c->tag] < r->K)
			r_post(r, c, c->tag);
		return;
	}
	if (cl == NULL || env->body_case != RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE || cl->done)
		return;
	if (r->phase == R_LIVE) {
		cl->cursor = env->sync_response->cursor;
		cl->done = 1;
		r->live++;
	} else if (r->phase == R_CATCHUP) {
		r_catchup(r, cl, env->sync_response, now);
	}
}

static void
r_closed(struct bconn *c, void *arg)
{
	r_fail(arg, c->why);
}

/* Until *count reaches want; a failure stops it, except while catching
 * up, where every client is seen to its end. */
static int
r_pump(struct rrun *r, struct bench_loop *l, size_t *count, size_t want)
{
	int64_t end = bench_now_ns() + PHASE_NS;
	size_t failed = r->phase == R_CATCHUP ? 0 : 1;

	while (*count + r->failed * (1 - failed) < want && r->failed * failed == 0 &&
	       !bench_stopping() && bench_now_ns() < end)
		if (bl_poll(l, 20) != 0)
			return -1;
	return *count < want ? -1 : 0;
}

static void
r_report(struct rrun *r, const struct bench_snapshot *a, const struct bench_snapshot *b,
         const char *pid_note)
{
	struct bench_report rep;
	size_t N = (size_t)r->B * (size_t)r->M, exact = 0, pages = 0;

	for (size_t i = 0; i < N; i++) {
		exact += r->cl[i].done && r->cl[i].got == r->K && r->cl[i].bad == 0;
		pages += (size_t)r->cl[i].pages;
	}
	bench_report_init(&rep, "reconnect");
	bench_describe(&rep, "%zu clients (%d boards x %d members) drop, %d posts per board are "
	               "made, all reconnect and sync from their cursors",
	               N, r->B, r->M, r->K);
	bench_row(&rep, "clients", "clients", (double)N, 0, "");
	bench_row(&rep, "posts made while away", "posts_while_away", (double)r->acks, 0, "");
	bench_row(&rep, "time until all caught up", "catchup_s",
	          (double)(r->t_last - r->t0) / 1e9, 2, "s");
	bench_row_latency(&rep, "per client (connect to last page)", "client_catchup", &r->lat);
	bench_row(&rep, "sync pages", "sync_pages", (double)pages, 0, "");
	bench_row(&rep, "clients with exactly their posts", "clients_exact", (double)exact, 0, "");
	bench_row(&rep, "clients missing, repeating or foreign", "clients_wrong",
	          (double)(N - exact), 0, "");
	bench_row(&rep, "errors", "errors", (double)r->errors, 0, "");
	if (r->why[0])
		bench_row_text(&rep, "  first failure", "first_failure", r->why);
	bench_server_rows(&rep, a, b, pid_note);
	bench_report_print(r->o, &rep);
}

int
bench_cmd_reconnect(struct bench_opts *o)
{
	struct bench_cbs cbs = {r_ready, r_message, r_closed, NULL};
	struct bench_snapshot sa, sb;
	struct bench_env e;
	struct bench_loop *l;
	struct bconn **pc;
	struct rrun r;
	char code[64], pid_note[256] = "";
	size_t N = (size_t)o->boards * (size_t)o->members, want;
	int pid, rc = CLI_EXIT_OK;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.B = o->boards;
	r.M = o->members;
	r.K = o->posts_per_board;
	if ((rc = bench_env_open(o, &e)) != CLI_EXIT_OK)
		return rc;
	pid = bench_server_pid(o, &e.target, pid_note, sizeof pid_note);
	r.codes = calloc((size_t)r.B, sizeof *r.codes);
	r.cl = calloc(N, sizeof *r.cl);
	r.sent = calloc((size_t)r.B, sizeof *r.sent);
	r.acked = calloc((size_t)r.B, sizeof *r.acked);
	pc = calloc((size_t)r.B, sizeof *pc);
	if (r.codes == NULL || r.cl == NULL || r.sent == NULL || r.acked == NULL || pc == NULL)
		abort();
	cbs.arg = &r;
	l = bl_new(&e.target, &cbs, o->window);
	if (l == NULL)
		abort();
	for (int b = 0; b < r.B; b++) {
		bench_patient_code(code, sizeof code, r.M, b);
		r.codes[b] = strdup(code);
	}
	for (size_t i = 0; i < N; i++) {
		r.cl[i].board = (int)(i / (size_t)r.M);
		r.cl[i].c = bl_open(l, e.tokens[i], &r.cl[i]);
	}
	r.phase = R_LIVE;
	if (r_pump(&r, l, &r.live, N) != 0)
		goto failed;
	/* everyone loses the network at once */
	for (size_t i = 0; i < N; i++) {
		bl_drop(r.cl[i].c, 0);
		r.cl[i].done = 0;
	}
	r.phase = R_AWAY;
	for (int b = 0; b < r.B; b++) {
		pc[b] = bl_open(l, e.tokens[(size_t)b * (size_t)r.M], NULL);
		pc[b]->tag = b;
	}
	want = (size_t)r.B * (size_t)r.K;
	if (r_pump(&r, l, &r.acks, want) != 0)
		goto failed;
	for (int b = 0; b < r.B; b++)
		bl_drop(pc[b], 1);
	if (!o->cli->json)
		fprintf(stderr, "%s: bench: %zu posts made while %zu clients were away; "
		        "reconnecting\n", o->cli->prog, r.acks, N);

	bench_snapshot_take(o, &e.target, pid, &sa);
	r.phase = R_CATCHUP;
	r.t0 = bench_now_ns();
	for (size_t i = 0; i < N; i++)
		bl_reopen(r.cl[i].c, e.tokens[i]);
	(void)r_pump(&r, l, &r.done, N);
	bench_snapshot_take(o, &e.target, pid, &sb);
	r_report(&r, &sa, &sb, pid_note);
	if (r.done < N || r.failed > 0)
		rc = CLI_EXIT_SERVER;
	goto out;
failed:
	rc = cli_fail(o->cli, CLI_EXIT_CONNECT, "reconnect: %s",
	              r.why[0] ? r.why : "stopped or timed out");
out:
	bl_free(l);
	for (int b = 0; b < r.B; b++)
		free(r.codes[b]);
	free(r.codes);
	free(r.cl);
	free(r.sent);
	free(r.acked);
	free(pc);
	bench_samples_free(&r.lat);
	bench_env_close(&e);
	return rc;
}

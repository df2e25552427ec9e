/*
 * Scenario timeline (upload is bench_upload.c).
 *
 * timeline: one connection per board (its first member's session). Each
 * board is first filled up to --fill posts if it has fewer; then C
 * requests are kept in flight, each the latest page (--limit) of a
 * random board whose connection has nothing outstanding (reads go to the
 * server's reader threads and may be answered out of order, so one per
 * connection keeps the timing exact without a map of request ids).
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_WINDOW 8
#define CONNECT_NS (120LL * 1000000000)
#define DRAIN_NS (60LL * 1000000000)

enum tphase { T_CONNECT, T_FILL, T_WARMUP, T_MEASURE, T_DRAIN };

static uint64_t
rnd(uint64_t *s)
{
	/* xorshift64: only picks boards */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- timeline */

struct tboard {
	struct bconn *c;
	int board;
	int filling;  /* the board is being filled */
	int to_post, posting;
	int busy;
	int64_t sent;
};

struct trun {
	struct bench_opts *o;
	int B;
	char **codes;
	struct tboard *tb;
	int *idle;
	size_t nidle;
	enum tphase phase;
	size_t filled, failed;
	int outstanding;
	uint64_t reads, posts_read, errors, fill_posts, seed;
	int64_t t0, t1;
	struct bench_samples lat;
	char why[200];
};

static void
t_send_read(struct trun *r, struct tboard *b, uint32_t limit)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__TimelineRequest tr = RENKEI__V1__TIMELINE_REQUEST__INIT;

	tr.patient = r->codes[b->board];
	tr.limit = limit;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	env.timeline_request = &tr;
	b->sent = bench_now_ns();
	if (bl_send(b->c, &env) != 0)
		b->busy = 1;
}

static void
t_send_post(struct trun *r, struct tboard *b)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	char id[64];

	snprintf(id, sizeof id, "t-%lld-%d-%d", (long long)bench_now_ns(), (int)getpid(),
	         b->to_post);
	cp.patient = r->codes[b->board];
	cp.client_id = id;
	cp.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = "訪問時、血圧128/76、脈拍72、体温36.5℃。食事は全量摂取、水分1200ml。"
	          "夜間の咳嗽あり、痰は白色少量。次回訪問は木曜午前の予定です。";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	if (bl_send(b->c, &env) != 0) {
		b->to_post--;
		b->posting++;
	}
}

/* Keep C reads in flight on idle boards. */
static void
t_issue(struct trun *r)
{
	while (r->outstanding < r->o->concurrency && r->nidle > 0) {
		size_t j = (size_t)(rnd(&r->seed) % r->nidle);
		struct tboard *b = &r->tb[r->idle[j]];
		r->idle[j] = r->idle[--r->nidle];
		t_send_read(r, b, (uint32_t)r->o->limit);
		if (b->busy)
			r->outstanding++;
	}
}

static void
t_filled(struct trun *r, struct tboard *b)
{
	b->filling = 0;
	r->filled++;
	r->idle[r->nidle++] = b->board;
}

static void
t_ready(struct bconn *c, void *arg)
{
	struct trun *r = arg;
	struct tboard *b = c->user;

	b->filling = 1;
	t_send_read(r, b, 1); /* how many posts has it? */
}

static void
t_message(struct bconn *c, Renkei__V1__Envelope *env, int64_t now, void *arg)
{
	struct trun *r = arg;
	struct tboard *b = c->user;

	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
		if (r->errors++ == 0)
			snprintf(r->why, sizeof r->why, "%s (%s)", env->error->message,
			         rkc_code_name(env->error->code));
		if (b->filling) {
			r->failed++;
			return;
		}
	}
	if (b->filling) {
		if (env->body_case == RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE) {
			uint64_t have = env->timeline_response->last_seq;
			b->busy = 0;
			b->to_post = have < (uint64_t)r->o->fill ? r->o->fill - (int)have : 0;
		} else if (env->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
			b->posting--;
			r->fill_posts++;
		}
		while (b->to_post > 0 && b->posting < FILL_WINDOW)
			t_send_post(r, b);
		if (b->to_post == 0 && b->posting == 0 && !b->busy)
			t_filled(r, b);
		return;
	}
	if (!b->busy)
		return;
	b->busy = 0;
	r->outstanding--;
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE &&
	    (r->phase == T_MEASURE || (r->phase == T_DRAIN && now < r->t1))) {
		r->reads++;
		r->posts_read += env->timeline_response->n_posts;
		bench_samples_add(&r->lat, now - b->sent);
	}
	r->idle[r->nidle++] = b->board;
	if (r->phase == T_WARMUP || r->phase == T_MEASURE)
		t_issue(r);
}

static void
t_closed(struct bconn *c, void *arg)
{
	struct trun *r = arg;

	r->failed++;
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "%s", c->why);
}

static void
t_pump(struct trun *r, struct bench_loop *l, int64_t until, int fill)
{
	while (bench_now_ns() < until && !bench_stopping() && r->failed == 0) {
		if (fill && r->filled == (size_t)r->B)
			return;
		if (r->phase == T_DRAIN && r->outstanding == 0)
			return;
		if (bl_poll(l, 5) != 0)
			return;
	}
}

int
bench_cmd_timeline(struct bench_opts *o)
{
	struct bench_cbs cbs = {t_ready, t_message, t_closed, NULL};
	struct bench_snapshot sa, sb;
	struct bench_report rep;
	struct bench_env e;
	struct bench_loop *l;
	struct trun r;
	char code[64], pid_note[256] = "";
	double w, cpu0;
	int pid, rc = CLI_EXIT_OK;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.B = o->boards;
	r.seed = (uint64_t)bench_now_ns() | 1;
	if (o->concurrency == 0)
		o->concurrency = 32;
	if ((rc = bench_env_open(o, &e)) != CLI_EXIT_OK)
		return rc;
	pid = bench_server_pid(o, &e.target, pid_note, sizeof pid_note);
	r.codes = calloc((size_t)r.B, sizeof *r.codes);
	r.tb = calloc((size_t)r.B, sizeof *r.tb);
	r.idle = calloc((size_t)r.B, sizeof *r.idle);
	if (r.codes == NULL || r.tb == NULL || r.idle == NULL)
		abort();
	cbs.arg = &r;
	l = bl_new(&e.target, &cbs, o->window);
	if (l == NULL)
		abort();
	for (int b = 0; b < r.B; b++) {
		bench_patient_code(code, sizeof code, o->members, b);
		r.codes[b] = strdup(code);
		r.tb[b].board = b;
		r.tb[b].c = bl_open(l, e.tokens[(size_t)b * (size_t)o->members], &r.tb[b]);
	}
	r.phase = T_FILL;
	t_pump(&r, l, bench_now_ns() + CONNECT_NS, 1);
	if (r.filled < (size_t)r.B) {
		rc = cli_fail(o->cli, CLI_EXIT_CONNECT, "timeline: %s",
		              r.why[0] ? r.why : "stopped or timed out while filling the boards");
		goto out;
	}
	r.phase = T_WARMUP;
	t_issue(&r);
	t_pump(&r, l, bench_now_ns() + (int64_t)(o->warmup_s * 1e9), 0);
	bench_snapshot_take(o, &e.target, pid, &sa);
	cpu0 = bench_self_cpu_s();
	r.phase = T_MEASURE;
	r.t0 = bench_now_ns();
	t_pump(&r, l, r.t0 + (int64_t)(o->duration_s * 1e9), 0);
	r.t1 = bench_now_ns();
	cpu0 = bench_self_cpu_s() - cpu0;
	bench_snapshot_take(o, &e.target, pid, &sb);
	r.phase = T_DRAIN;
	t_pump(&r, l, r.t1 + DRAIN_NS, 0);

	w = (double)(r.t1 - r.t0) / 1e9;
	bench_report_init(&rep, "timeline");
	bench_describe(&rep, "latest page (%d posts) of random boards out of %d, %d requests in "
	               "flight, %.0f s",
	               o->limit, r.B, o->concurrency, w);
	bench_row(&rep, "posts added to fill the boards", "fill_posts", (double)r.fill_posts, 0,
	          "");
	bench_row(&rep, "reads/s", "reads_per_s", (double)r.reads / w, 0, "/s");
	bench_row_latency(&rep, "read latency", "read_latency", &r.lat);
	bench_row(&rep, "posts per page (mean)", "posts_per_page",
	          r.reads ? (double)r.posts_read / (double)r.reads : 0, 1, "");
	bench_row(&rep, "errors", "errors", (double)r.errors, 0, "");
	if (r.why[0])
		bench_row_text(&rep, "  first error", "first_error", r.why);
	bench_row(&rep, "bench client CPU", "client_cpu_percent", cpu0 / w * 100, 0,
	          "% of one core");
	bench_server_rows(&rep, &sa, &sb, pid_note);
	bench_report_print(o, &rep);
	rc = r.errors || r.failed ? CLI_EXIT_SERVER : CLI_EXIT_OK;
out:
	bl_free(l);
	for (int b = 0; b < r.B; b++)
		free(r.codes[b]);
	free(r.codes);
	free(r.tb);
	free(r.idle);
	bench_samples_free(&r.lat);
	bench_env_close(&e);
	return rc;
}


/*
 * The flood scenario's reader: the one well-behaved user, in a process of
 * its own (forked), as another user's device would be: the thousands of
 * handshakes the flood makes on the client side must not delay its reads
 * (measured on one thread beside them, a reader saw p50 60-100 ms during
 * (a) while a separate process saw 1 ms from the same server). What the
 * two share is one anonymous shared mapping: the phase, the stop flag,
 * the reader's state and its samples.
 *
 * It fills its board up to --fill posts, then reads the latest page at
 * --read-rate, at most READ_WINDOW in flight. Each read's latency runs
 * from the moment it was due, so a server that stalls is not hidden by a
 * reader that waits for it, and it counts for the phase that was current
 * at that moment (none: not counted).
 */
#include "bench.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_WINDOW 16 /* reads in flight at most */
#define RING 64        /* > READ_WINDOW: request id -> when it was due */
#define FILL_WINDOW 8
#define READY_NS (60LL * 1000000000)
#define SAMPLES_MAX ((size_t)1 << 20) /* per phase: ~3 h at 100 reads/s */

struct due {
	uint64_t rid;
	int64_t due_ns;
	int phase;
};

/* In the shared mapping: written by the reader, read by the scenario. */
struct shared {
	atomic_int phase; /* set by the scenario; -1: none */
	atomic_int stop;
	atomic_int state; /* 0 starting, 1 reading, -1 failed, 2 done */
	char why[200];
	uint64_t errors[FLOOD_PHASES];
	atomic_size_t n[FLOOD_PHASES];
	int64_t lat[FLOOD_PHASES][SAMPLES_MAX];
};

struct flood_reader {
	struct bench_opts *o;
	struct bench_target *t;
	const char *token;
	char board[64];
	pid_t pid;
	struct shared *sh;
	struct bench_samples lat[FLOOD_PHASES]; /* the scenario's copy */
	/* the reader process's own */
	struct bench_loop *l;
	struct bconn *c;
	int filling, to_post, posting, outstanding;
	int64_t next_read, period_ns;
	struct due ring[RING];
};

static void
send_read(struct flood_reader *r, int64_t due_ns, uint32_t limit)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__TimelineRequest tr = RENKEI__V1__TIMELINE_REQUEST__INIT;
	uint64_t rid;

	tr.patient = r->board;
	tr.limit = limit;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	env.timeline_request = &tr;
	rid = bl_send(r->c, &env);
	if (rid == 0)
		return;
	r->ring[rid % RING] = (struct due){rid, due_ns, atomic_load(&r->sh->phase)};
	r->outstanding++;
}

static void
send_post(struct flood_reader *r)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	char id[64];

	snprintf(id, sizeof id, "flood-%lld-%d-%d", (long long)bench_now_ns(), (int)getpid(),
	         r->to_post);
	cp.patient = r->board;
	cp.client_id = id;
	cp.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = "訪問。血圧118/70、SpO2 97%。食事は半量、水分よく摂れている。";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	if (bl_send(r->c, &env) != 0) {
		r->to_post--;
		r->posting++;
	}
}

static void
on_ready(struct bconn *c, void *arg)
{
	struct flood_reader *r = arg;

	(void)c;
	r->filling = 1;
	send_read(r, 0, 1); /* how many posts has the board? */
	r->outstanding = 0;
}

static void
fill_message(struct flood_reader *r, Renkei__V1__Envelope *env)
{
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE) {
		uint64_t have = env->timeline_response->last_seq;
		r->to_post = have < (uint64_t)r->o->fill ? r->o->fill - (int)have : 0;
	} else if (env->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
		r->posting--;
	} else {
		snprintf(r->sh->why, sizeof r->sh->why, "filling the board: %s",
		         env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR ? env->error->message
		                                                            : "unexpected answer");
		atomic_store(&r->sh->state, -1);
		return;
	}
	while (r->to_post > 0 && r->posting < FILL_WINDOW)
		send_post(r);
	if (r->to_post == 0 && r->posting == 0) {
		r->filling = 0;
		r->period_ns = (int64_t)(1e9 / r->o->read_rate);
		r->next_read = bench_now_ns();
		atomic_store(&r->sh->state, 1);
	}
}

static void
on_message(struct bconn *c, Renkei__V1__Envelope *env, int64_t now, void *arg)
{
	struct flood_reader *r = arg;
	struct due *d = &r->ring[env->request_id % RING];

	(void)c;
	if (r->filling)
		return fill_message(r, env);
	if (d->rid != env->request_id || d->rid == 0)
		return;
	r->outstanding--;
	d->rid = 0;
	if (d->phase < 0 || d->phase >= FLOOD_PHASES)
		return;
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE) {
		size_t n = atomic_load(&r->sh->n[d->phase]);
		if (n < SAMPLES_MAX) {
			r->sh->lat[d->phase][n] = now - d->due_ns;
			atomic_store(&r->sh->n[d->phase], n + 1);
		}
	} else {
		r->sh->errors[d->phase]++;
	}
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR && r->sh->why[0] == '\0')
		snprintf(r->sh->why, sizeof r->sh->why, "a read was refused: %s (%s)",
		         env->error->message, rkc_code_name(env->error->code));
}

static void
on_closed(struct bconn *c, void *arg)
{
	struct flood_reader *r = arg;

	snprintf(r->sh->why, sizeof r->sh->why, "the reader's connection: %s", c->why);
	atomic_store(&r->sh->state, -1);
}

/* The reader process. */
static void
run(struct flood_reader *r)
{
	struct bench_cbs cbs = {on_ready, on_message, on_closed, r};

	r->l = bl_new(r->t, &cbs, 1);
	if (r->l == NULL)
		abort();
	r->c = bl_open(r->l, r->token, NULL);
	while (!atomic_load(&r->sh->stop) && !bench_stopping() &&
	       atomic_load(&r->sh->state) >= 0 && getppid() != 1) {
		int64_t now;
		(void)bl_poll(r->l, 1);
		now = bench_now_ns();
		if (atomic_load(&r->sh->state) != 1 || r->c->state != BC_READY)
			continue;
		/* more than a second behind: skip ahead (the lateness it had
		 * is in the samples already) */
		if (now - r->next_read > 1000000000LL)
			r->next_read = now;
		while (r->next_read <= now && r->outstanding < READ_WINDOW) {
			send_read(r, r->next_read, (uint32_t)r->o->limit);
			r->next_read += r->period_ns;
		}
	}
	bl_free(r->l);
}

struct flood_reader *
flood_reader_start(struct bench_opts *o, struct bench_target *t, const char *token,
                   const char *board, char *why, size_t whylen)
{
	struct flood_reader *r = calloc(1, sizeof *r);
	int64_t end = bench_now_ns() + READY_NS;

	if (r == NULL)
		abort();
	r->o = o;
	r->t = t;
	r->token = token;
	snprintf(r->board, sizeof r->board, "%s", board);
	r->sh = mmap(NULL, sizeof *r->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	             -1, 0);
	if (r->sh == MAP_FAILED) {
		snprintf(why, whylen, "cannot map memory for the reader");
		free(r);
		return NULL;
	}
	atomic_init(&r->sh->phase, -1);
	atomic_init(&r->sh->stop, 0);
	atomic_init(&r->sh->state, 0);
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		snprintf(why, whylen, "cannot start the reader's process");
		munmap(r->sh, sizeof *r->sh);
		free(r);
		return NULL;
	}
	if (r->pid == 0) {
		run(r);
		_exit(0);
	}
	while (atomic_load(&r->sh->state) == 0 && bench_now_ns() < end && !bench_stopping())
		usleep(10000);
	if (atomic_load(&r->sh->state) != 1) {
		snprintf(why, whylen, "%s",
		         r->sh->why[0] ? r->sh->why : "the reader was not ready in 60 s");
		flood_reader_free(r);
		return NULL;
	}
	return r;
}

void
flood_reader_phase(struct flood_reader *r, int phase)
{
	atomic_store(&r->sh->phase, phase);
}

void
flood_reader_stop(struct flood_reader *r)
{
	if (r->pid <= 0)
		return;
	atomic_store(&r->sh->stop, 1);
	if (waitpid(r->pid, NULL, 0) < 0) {
		kill(r->pid, SIGKILL);
		(void)waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
	for (int i = 0; i < FLOOD_PHASES; i++) {
		size_t n = atomic_load(&r->sh->n[i]);
		bench_samples_free(&r->lat[i]);
		for (size_t k = 0; k < n; k++)
			bench_samples_add(&r->lat[i], r->sh->lat[i][k]);
	}
}

void
flood_reader_free(struct flood_reader *r)
{
	if (r == NULL)
		return;
	flood_reader_stop(r);
	for (int i = 0; i < FLOOD_PHASES; i++)
		bench_samples_free(&r->lat[i]);
	munmap(r->sh, sizeof *r->sh);
	free(r);
}

struct bench_samples *
flood_reader_samples(struct flood_reader *r, int phase, uint64_t *errors)
{
	*errors = r->sh->errors[phase];
	return &r->lat[phase];
}

const char *
flood_reader_why(const struct flood_reader *r)
{
	return r->sh->why;
}

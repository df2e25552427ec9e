/*
 * Scenario posts: B boards, M members each, all online and watching
 * their board (SyncRequest live_only); the first P members of each board
 * also post on it.
 *
 * Load: by default each poster keeps --inflight posts outstanding and
 * sends the next as soon as one is acknowledged (the most the server
 * will take); with --rate R the posters together send R posts/s on a
 * fixed schedule whatever the answers (open loop), and a poster that has
 * OPEN_LOOP_CAP posts outstanding skips its turn (counted as "behind").
 *
 * Timing: the send time (monotonic ns) travels in the post's client_id,
 * "b-<ns>-<pid>-<n>", so both the PostResponse (acknowledgement: the
 * post is committed) and every PostEvent (delivery) carry it back; all
 * the clocks are this process's. Only answers that arrive inside the
 * measured window count, for rates and latencies alike.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPEN_LOOP_CAP 64
#define CONNECT_LIMIT_NS (300LL * 1000000000) /* all connected and synced */
#define DRAIN_NS (5LL * 1000000000)           /* for answers after the window */
#define ERROR_LIMIT 1000                      /* errors before the run gives up */

enum phase { P_CONNECT, P_WARMUP, P_MEASURE, P_DRAIN };

struct member {
	struct bconn *c;
	int board;
	int poster;  /* index into run.post, or -1 */
	int synced;
};

struct poster {
	struct member *m;
	int outstanding;
	int64_t next_send;
	uint32_t n;
};

struct run {
	struct bench_opts *o;
	int B, M, P;
	char **codes;
	char *text;
	struct member *mem;
	struct poster *post;
	enum phase phase;
	int64_t t0, t1;       /* the measured window */
	int64_t interval_ns;  /* per poster, with --rate */
	size_t synced, failed;
	uint64_t sent, acks, deliveries, errors, behind, lost;
	uint64_t acks_all, deliveries_all;
	struct bench_samples ack_lat, del_lat;
	char first_error[200];
};

/* About text_bytes of UTF-8 Japanese, cut at a character boundary. */
static char *
make_text(int bytes)
{
	static const char *const phrases[] = {
		"訪問時、血圧128/76、脈拍72、体温36.5℃。", "食事は全量摂取、水分1200ml。",
		"夜間の咳嗽あり、痰は白色少量。", "仙骨部の発赤は改善傾向、体位変換継続。",
		"ご家族より不眠の訴えあり、主治医へ報告。", "服薬確認済み、残薬なし。",
		"リハビリで歩行器歩行10m実施、ふらつきなし。", "次回訪問は木曜午前の予定です。",
	};
	size_t cap = (size_t)bytes + 64, len = 0, i = 0;
	char *t = malloc(cap);

	if (t == NULL)
		abort();
	while (len < (size_t)bytes) {
		const char *p = phrases[i++ % (sizeof phrases / sizeof phrases[0])];
		size_t n = strlen(p);
		if (len + n > (size_t)bytes) {
			/* whole characters only: stop at a lead byte */
			n = (size_t)bytes - len;
			while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
				n--;
			if (n == 0)
				break;
		}
		memcpy(t + len, p, n);
		len += n;
	}
	while (len < (size_t)bytes)
		t[len++] = ' '; /* exactly `bytes`: pad the cut with spaces */
	t[len] = '\0';
	return t;
}

static void
send_post(struct run *r, struct poster *p, int64_t now)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	char id[64];

	snprintf(id, sizeof id, "b-%lld-%d-%u", (long long)now, (int)getpid(), ++p->n);
	cp.patient = r->codes[p->m->board];
	cp.client_id = id;
	cp.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = r->text;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	if (bl_send(p->m->c, &env) != 0) {
		p->outstanding++;
		r->sent++;
	}
}

/* The send time carried by a bench client_id, or 0. */
static int64_t
sent_at(const char *client_id)
{
	if (client_id == NULL || strncmp(client_id, "b-", 2) != 0)
		return 0;
	return strtoll(client_id + 2, NULL, 10);
}

static int
in_window(const struct run *r, int64_t now)
{
	return r->phase == P_MEASURE || (r->phase == P_DRAIN && now < r->t1);
}

static void
on_ready(struct bconn *c, void *arg)
{
	struct run *r = arg;
	struct member *m = c->user;
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest sr = RENKEI__V1__SYNC_REQUEST__INIT;

	sr.n_patients = 1;
	sr.patients = &r->codes[m->board];
	sr.live_only = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	env.sync_request = &sr;
	(void)bl_send(c, &env);
}

static void
note_error(struct run *r, const Renkei__V1__Error *e)
{
	if (r->errors++ == 0)
		snprintf(r->first_error, sizeof r->first_error, "%s (%s)", e->message,
		         rkc_code_name(e->code));
}

static void
on_message(struct bconn *c, Renkei__V1__Envelope *env, int64_t now, void *arg)
{
	struct run *r = arg;
	struct member *m = c->user;
	struct poster *p = m->poster >= 0 ? &r->post[m->poster] : NULL;
	int64_t t;

	switch (env->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE:
		if (!m->synced) {
			m->synced = 1;
			r->synced++;
		}
		break;
	case RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE:
		if (p != NULL)
			p->outstanding--;
		r->acks_all++;
		t = sent_at(env->post_response->post ? env->post_response->post->client_id : NULL);
		if (in_window(r, now) && t > 0) {
			r->acks++;
			bench_samples_add(&r->ack_lat, now - t);
		}
		if (p != NULL && r->o->rate == 0 && (r->phase == P_WARMUP || r->phase == P_MEASURE))
			send_post(r, p, now);
		break;
	case RENKEI__V1__ENVELOPE__BODY_EVENT:
		if (env->event->kind_case != RENKEI__V1__EVENT__KIND_POST ||
		    env->event->post->post == NULL)
			break;
		t = sent_at(env->event->post->post->client_id);
		if (t == 0)
			break;
		r->deliveries_all++;
		if (in_window(r, now)) {
			r->deliveries++;
			bench_samples_add(&r->del_lat, now - t);
		}
		break;
	case RENKEI__V1__ENVELOPE__BODY_ERROR:
		note_error(r, env->error);
		if (!m->synced) { /* the sync was refused: this run cannot work */
			r->failed++;
			break;
		}
		if (p != NULL && p->outstanding > 0)
			p->outstanding--;
		if (p != NULL && r->o->rate == 0 && (r->phase == P_WARMUP || r->phase == P_MEASURE))
			send_post(r, p, now);
		break;
	default:
		break;
	}
}

static void
on_closed(struct bconn *c, void *arg)
{
	struct run *r = arg;

	if (r->phase == P_CONNECT)
		r->failed++;
	else
		r->lost++;
	if (r->first_error[0] == '\0')
		snprintf(r->first_error, sizeof r->first_error, "%s", c->why);
}

/* Open-loop sends that are due; returns ms until the next one. */
static int
schedule(struct run *r, int64_t now)
{
	int64_t next = now + 5000000;

	for (int i = 0; i < r->B * r->P; i++) {
		struct poster *p = &r->post[i];
		while (p->next_send <= now) {
			if (p->outstanding < OPEN_LOOP_CAP)
				send_post(r, p, now);
			else
				r->behind++;
			p->next_send += r->interval_ns;
		}
		if (p->next_send < next)
			next = p->next_send;
	}
	return (int)((next - now + 999999) / 1000000); /* round up: never spin */
}

static void
start_posting(struct run *r, int64_t now)
{
	for (int i = 0; i < r->B * r->P; i++) {
		struct poster *p = &r->post[i];
		if (r->o->rate > 0) {
			/* spread the posters evenly over one interval */
			p->next_send = now + r->interval_ns * i / (r->B * r->P);
			continue;
		}
		for (int k = 0; k < r->o->inflight; k++)
			send_post(r, p, now);
	}
}

/* Run the loop until `until` (ns) or the phase's condition. */
static int
pump(struct run *r, struct bench_loop *l, int64_t until)
{
	int64_t now;
	int wait;

	while ((now = bench_now_ns()) < until && !bench_stopping() && r->errors < ERROR_LIMIT) {
		wait = 5;
		if (r->o->rate > 0 && (r->phase == P_WARMUP || r->phase == P_MEASURE))
			wait = schedule(r, now);
		if (r->phase == P_CONNECT && (r->synced + r->failed == (size_t)(r->B * r->M)))
			return 0;
		if (r->phase == P_DRAIN) {
			int busy = 0;
			for (int i = 0; i < r->B * r->P && !busy; i++)
				busy = r->post[i].outstanding > 0;
			if (!busy && now > r->t1 + 200000000)
				return 0; /* and 200 ms for the last deliveries */
		}
		if (bl_poll(l, wait < 0 ? 0 : wait) != 0)
			return -1;
	}
	return 0;
}

static void
report(struct run *r, double connect_s, double client_cpu, const struct bench_snapshot *a,
       const struct bench_snapshot *b, const char *pid_note)
{
	struct bench_report rep;
	double w = (double)(r->t1 - r->t0) / 1e9;
	char mode[64];

	if (r->o->rate > 0)
		snprintf(mode, sizeof mode, "open loop at %.0f posts/s", r->o->rate);
	else
		snprintf(mode, sizeof mode, "max (%d in flight per poster)", r->o->inflight);
	bench_report_init(&rep, "posts");
	bench_describe(&rep, "%d boards x %d members (%d connections), %d posters, %s, %d-byte "
	               "notes, %.0f s after %.0f s warm-up",
	               r->B, r->M, r->B * r->M, r->B * r->P, mode, (int)strlen(r->text),
	               w, r->o->warmup_s);
	json_object_set_new(rep.json, "boards", json_integer(r->B));
	json_object_set_new(rep.json, "members", json_integer(r->M));
	json_object_set_new(rep.json, "posters", json_integer(r->B * r->P));
	json_object_set_new(rep.json, "rate", json_real(r->o->rate));
	json_object_set_new(rep.json, "window_s", json_real(w));
	bench_row(&rep, "connect + sync all", "connect_s", connect_s, 2, "s");
	bench_row(&rep, "durable posts/s", "posts_per_s", (double)r->acks / w, 0, "/s");
	bench_row_latency(&rep, "ack latency", "ack_latency", &r->ack_lat);
	bench_row(&rep, "deliveries/s", "deliveries_per_s", (double)r->deliveries / w, 0, "/s");
	bench_row(&rep, "deliveries per post", "deliveries_per_post",
	          r->acks_all ? (double)r->deliveries_all / (double)r->acks_all : 0, 2, "");
	bench_row_latency(&rep, "post-to-delivery latency", "delivery_latency", &r->del_lat);
	bench_row(&rep, "errors", "errors", (double)r->errors, 0, "");
	if (r->first_error[0])
		bench_row_text(&rep, "  first error", "first_error", r->first_error);
	bench_row(&rep, "connections lost", "connections_lost", (double)r->lost, 0, "");
	if (r->o->rate > 0)
		bench_row(&rep, "sends skipped (poster behind)", "behind", (double)r->behind, 0,
		          "");
	bench_row(&rep, "bench client CPU", "client_cpu_percent", client_cpu / w * 100, 0,
	          "% of one core");
	bench_server_rows(&rep, a, b, pid_note);
	bench_report_print(r->o, &rep);
}

/* --notice-devices: every member registers an e-mail address for
 * notices (the same one again on a later run: no new device), so that
 * the server looks up and queues a notice for each of them per post. */
static int
notice_devices(struct bench_opts *o, struct bench_env *e)
{
	struct rkc_opts ro = {.url = e->target.url, .ca_file = e->target.ca};
	char err[256], addr[96];

	for (size_t i = 0; i < e->ntokens; i++) {
		Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
		Renkei__V1__NoticeDeviceAddRequest m =
			RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT;
		struct rkc *c = rkc_connect(&ro, err, sizeof err);
		int ok = 0;

		if (c == NULL)
			return cli_fail(o->cli, CLI_EXIT_CONNECT, "notice devices: %s", err);
		if (rkc_resume(c, e->target.device, e->tokens[i], "renkei-bench", 10000,
		               &resp) == 0 &&
		    resp->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE) {
			renkei__v1__envelope__free_unpacked(resp, NULL);
			resp = NULL;
			snprintf(addr, sizeof addr, "bench-%zu@bench.example.jp", i);
			m.email = addr;
			req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_ADD_REQUEST;
			req.notice_device_add_request = &m;
			ok = rkc_call(c, &req, 10000, &resp) == 0 &&
			     resp->body_case ==
			             RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE;
		}
		if (resp != NULL)
			renkei__v1__envelope__free_unpacked(resp, NULL);
		rkc_close(c);
		if (!ok)
			return cli_fail(o->cli, CLI_EXIT_SERVER,
			                "notice devices: member %zu could not register one", i);
	}
	if (!o->cli->json)
		fprintf(stderr, "%s: bench: %zu notice devices registered\n",
		        o->cli->prog, e->ntokens);
	return CLI_EXIT_OK;
}

int
bench_cmd_posts(struct bench_opts *o)
{
	struct bench_cbs cbs = {on_ready, on_message, on_closed, NULL};
	struct bench_snapshot sa, sb;
	struct bench_snap_async *aa, *ab;
	struct bench_env e;
	struct bench_loop *l = NULL;
	struct run r;
	char code[64], pid_note[256] = "";
	double cpu0, cpu1, connect_s;
	int pid, rc, i;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.B = o->boards;
	r.M = o->members;
	r.P = o->posters;
	if ((rc = bench_env_open(o, &e)) != CLI_EXIT_OK)
		return rc;
	if (o->notice_devices && (rc = notice_devices(o, &e)) != CLI_EXIT_OK) {
		bench_env_close(&e);
		return rc;
	}
	pid = bench_server_pid(o, &e.target, pid_note, sizeof pid_note);
	r.codes = calloc((size_t)r.B, sizeof *r.codes);
	r.mem = calloc((size_t)(r.B * r.M), sizeof *r.mem);
	r.post = calloc((size_t)(r.B * r.P), sizeof *r.post);
	if (r.codes == NULL || r.mem == NULL || r.post == NULL)
		abort();
	r.text = make_text(o->text_bytes);
	if (o->rate > 0)
		r.interval_ns = (int64_t)(1e9 * r.B * r.P / o->rate);
	cbs.arg = &r;
	l = bl_new(&e.target, &cbs, o->window);
	if (l == NULL)
		abort();
	for (int b = 0; b < r.B; b++) {
		bench_patient_code(code, sizeof code, r.M, b);
		r.codes[b] = strdup(code);
		for (int m = 0; m < r.M; m++) {
			struct member *mm = &r.mem[b * r.M + m];
			mm->board = b;
			mm->poster = m < r.P ? b * r.P + m : -1;
			if (m < r.P)
				r.post[b * r.P + m].m = mm;
			mm->c = bl_open(l, e.tokens[b * r.M + m], mm);
		}
	}

	/* everyone connected, authenticated and live on their board */
	r.phase = P_CONNECT;
	r.t0 = bench_now_ns();
	rc = pump(&r, l, r.t0 + CONNECT_LIMIT_NS);
	connect_s = (double)(bench_now_ns() - r.t0) / 1e9;
	if (rc != 0 || r.failed > 0 || r.synced < (size_t)(r.B * r.M)) {
		rc = cli_fail(o->cli, CLI_EXIT_CONNECT, "%zu of %d connections failed%s%s",
		              r.B * r.M - r.synced, r.B * r.M, r.first_error[0] ? ": " : "",
		              r.first_error);
		goto out;
	}
	if (!o->cli->json)
		fprintf(stderr, "%s: bench: %d connections live in %.2f s; posting\n",
		        o->cli->prog, r.B * r.M, connect_s);
	r.phase = P_WARMUP;
	start_posting(&r, bench_now_ns());
	(void)pump(&r, l, bench_now_ns() + (int64_t)(o->warmup_s * 1e9));

	aa = bench_snapshot_start(o, &e.target, pid, &sa);
	cpu0 = bench_self_cpu_s();
	r.phase = P_MEASURE;
	r.t0 = bench_now_ns();
	(void)pump(&r, l, r.t0 + (int64_t)(o->duration_s * 1e9));
	r.t1 = bench_now_ns();
	ab = bench_snapshot_start(o, &e.target, pid, &sb);
	cpu1 = bench_self_cpu_s();
	r.phase = P_DRAIN;
	(void)pump(&r, l, r.t1 + DRAIN_NS);
	bench_snapshot_wait(aa);
	bench_snapshot_wait(ab);
	if (bench_stopping())
		r.t1 = r.t1 > r.t0 ? r.t1 : bench_now_ns();
	report(&r, connect_s, cpu1 - cpu0, &sa, &sb, pid_note);
	rc = r.errors || r.lost ? CLI_EXIT_SERVER : CLI_EXIT_OK;
out:
	for (i = 0; l != NULL && i < r.B * r.M; i++)
		bl_drop(r.mem[i].c, 1);
	bl_free(l);
	for (i = 0; i < r.B; i++)
		free(r.codes[i]);
	free(r.codes);
	free(r.mem);
	free(r.post);
	free(r.text);
	bench_samples_free(&r.ack_lat);
	bench_samples_free(&r.del_lat);
	bench_env_close(&e);
	return rc;
}

/*
 * Scenario upload: C uploaders, each its own user and connection, upload
 * one photo after another: UploadBegin, chunks of 512 KiB (two in
 * flight), UploadFinish (the server decodes and re-encodes it; it refuses
 * with RESOURCE_EXHAUSTED while too many are being decoded: retried after
 * 100 ms), then a post that the photo goes on (as a nurse's app does;
 * a photo left on no post would count against the uploader's
 * upload_quota_mb until it is collected a day later, and repeated runs
 * would reach it). Only the upload itself is timed. The photo is --photo
 * FILE, or a generated 1600x1200 PNG (stored, uncompressed: no zlib
 * needed; the server re-encodes pixels whatever the container).
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#define CONNECT_NS (120LL * 1000000000)
#define DRAIN_NS (60LL * 1000000000)
#define CHUNK ((size_t)512 * 1024)
#define CHUNKS_IN_FLIGHT 2
#define RETRY_NS 100000000LL
#define ERROR_LIMIT 1000 /* errors before the scenario gives up */

enum tphase { T_CONNECT, T_WARMUP, T_MEASURE, T_DRAIN };

static uint64_t
rnd(uint64_t *s)
{
	/* xorshift64: only makes pixels */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint32_t
crc32_of(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* A PNG chunk: length, type, data (already at p + 8), CRC. */
static uint8_t *
png_chunk(uint8_t *p, const char *type, size_t len)
{
	put32(p, (uint32_t)len);
	memcpy(p + 4, type, 4);
	return put32(p + 8 + len, crc32_of(p + 4, len + 4, 0));
}

/* A w x h RGB PNG with stored deflate blocks: a gradient with noise, so
 * that the server's JPEG encoder has real work. */
static uint8_t *
make_png(int w, int h, size_t *out_len)
{
	size_t row = 1 + 3 * (size_t)w, raw = row * (size_t)h;
	size_t blocks = (raw + 65534) / 65535, zlen = 2 + raw + 5 * blocks + 4;
	uint8_t *png = malloc(8 + 25 + 12 + zlen + 12), *rawbuf = malloc(raw), *p, *z;
	uint32_t a = 1, b = 0;
	uint64_t seed = 0x9e3779b97f4a7c15u;

	if (png == NULL || rawbuf == NULL)
		abort();
	for (int y = 0; y < h; y++) {
		uint8_t *r = rawbuf + row * (size_t)y;
		r[0] = 0; /* filter: none */
		for (int x = 0; x < w; x++) {
			uint8_t n = (uint8_t)(rnd(&seed) & 15);
			r[1 + 3 * x] = (uint8_t)(x * 200 / w + n);
			r[2 + 3 * x] = (uint8_t)(y * 200 / h + n);
			r[3 + 3 * x] = (uint8_t)((x + y) * 100 / (w + h) + 60 + n);
		}
	}
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	p = png + 8;
	put32(p + 8, (uint32_t)w);
	put32(p + 12, (uint32_t)h);
	memcpy(p + 16, "\x08\x02\x00\x00\x00", 5); /* 8 bit, RGB */
	p = png_chunk(p, "IHDR", 13);
	z = p + 8;
	*z++ = 0x78;
	*z++ = 0x01;
	for (size_t off = 0; off < raw; off += 65535) {
		size_t n = raw - off < 65535 ? raw - off : 65535;
		*z++ = off + n == raw; /* BFINAL, BTYPE 00: stored */
		*z++ = (uint8_t)n;
		*z++ = (uint8_t)(n >> 8);
		*z++ = (uint8_t)~n;
		*z++ = (uint8_t)(~n >> 8);
		memcpy(z, rawbuf + off, n);
		z += n;
	}
	for (size_t i = 0; i < raw; i++) {
		a = (a + rawbuf[i]) % 65521;
		b = (b + a) % 65521;
	}
	z = put32(z, b << 16 | a);
	p = png_chunk(p, "IDAT", (size_t)(z - (p + 8)));
	p = png_chunk(p, "IEND", 0);
	free(rawbuf);
	*out_len = (size_t)(p - png);
	return png;
}

enum ustate { U_IDLE, U_BEGIN, U_CHUNKS, U_FINISH, U_POST };

struct uploader {
	struct bconn *c;
	int board, k;
	enum ustate state;
	char id[64];
	uint64_t next_off;
	int inflight;
	unsigned n;
	uint64_t first_rid; /* answers before it are for an abandoned upload */
	int64_t t_start, retry_at;
};

struct urun {
	struct bench_opts *o;
	uint8_t *photo;
	size_t size;
	uint8_t sha[32];
	const char *file_name;
	char **codes;
	struct uploader *up;
	enum tphase phase;
	int ready, failed;
	uint64_t done, errors, bytes, stored, thumb;
	uint32_t width, height;
	int64_t t0, t1;
	struct bench_samples lat;
	char why[200];
};

static void
u_send(struct uploader *u, Renkei__V1__Envelope *env)
{
	(void)bl_send(u->c, env);
}

static void
u_begin(struct urun *r, struct uploader *u)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadBeginRequest ub = RENKEI__V1__UPLOAD_BEGIN_REQUEST__INIT;

	snprintf(u->id, sizeof u->id, "bu-%d-%d-%u-%lld", (int)getpid(), u->k, ++u->n,
	         (long long)bench_now_ns());
	ub.upload_id = u->id;
	ub.patient = r->codes[u->board];
	ub.file_name = (char *)r->file_name;
	ub.size = r->size;
	ub.sha256.data = r->sha;
	ub.sha256.len = sizeof r->sha;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_BEGIN_REQUEST;
	env.upload_begin_request = &ub;
	u->state = U_BEGIN;
	u->inflight = 0;
	u->t_start = bench_now_ns();
	u->first_rid = bl_send(u->c, &env);
}

static void
u_finish(struct uploader *u)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadFinishRequest uf = RENKEI__V1__UPLOAD_FINISH_REQUEST__INIT;

	uf.upload_id = u->id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_REQUEST;
	env.upload_finish_request = &uf;
	u->state = U_FINISH;
	u->retry_at = 0;
	u_send(u, &env);
}

static void
u_chunks(struct urun *r, struct uploader *u)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadChunkRequest uc = RENKEI__V1__UPLOAD_CHUNK_REQUEST__INIT;

	while (u->inflight < CHUNKS_IN_FLIGHT && u->next_off < r->size) {
		size_t n = r->size - u->next_off < CHUNK ? r->size - u->next_off : CHUNK;
		uc.upload_id = u->id;
		uc.offset = u->next_off;
		uc.data.data = r->photo + u->next_off;
		uc.data.len = n;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST;
		env.upload_chunk_request = &uc;
		u_send(u, &env);
		u->next_off += n;
		u->inflight++;
	}
	if (u->next_off >= r->size && u->inflight == 0)
		u_finish(u);
}

/* The finished photo goes on a post of its own. */
static void
u_post(struct urun *r, struct uploader *u, uint64_t attachment)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	char cid[80];

	snprintf(cid, sizeof cid, "p-%s", u->id);
	cp.patient = r->codes[u->board];
	cp.client_id = cid;
	cp.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = "創部の写真";
	cp.attachment_ids = &attachment;
	cp.n_attachment_ids = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	u->state = U_POST;
	u_send(u, &env);
}

static void
u_next(struct urun *r, struct uploader *u)
{
	u->state = U_IDLE;
	if (r->phase == T_WARMUP || r->phase == T_MEASURE)
		u_begin(r, u);
}

static void
u_ready(struct bconn *c, void *arg)
{
	(void)c;
	((struct urun *)arg)->ready++;
}

static void
u_message(struct bconn *c, Renkei__V1__Envelope *env, int64_t now, void *arg)
{
	struct urun *r = arg;
	struct uploader *u = c->user;

	if (env->request_id < u->first_rid || u->state == U_IDLE)
		return;
	switch (env->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS:
		if (u->state == U_BEGIN) {
			u->state = U_CHUNKS;
			u->next_off = env->upload_status->received;
		} else if (u->state == U_CHUNKS) {
			u->inflight--;
		}
		u_chunks(r, u);
		break;
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE: {
		const Renkei__V1__Attachment *a = env->upload_finish_response->attachment;
		if (r->phase == T_MEASURE || (r->phase == T_DRAIN && now < r->t1)) {
			r->done++;
			r->bytes += r->size;
			bench_samples_add(&r->lat, now - u->t_start);
		}
		if (a != NULL) {
			r->stored = a->size;
			r->thumb = a->thumbnail_size;
			r->width = a->width;
			r->height = a->height;
			u_post(r, u, a->id);
		} else {
			u_next(r, u);
		}
		break;
	}
	case RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE:
		if (u->state == U_POST)
			u_next(r, u);
		break;
	case RENKEI__V1__ENVELOPE__BODY_ERROR:
		if (u->state == U_FINISH &&
		    env->error->code == RENKEI__V1__CODE__RESOURCE_EXHAUSTED) {
			u->retry_at = now + RETRY_NS; /* busy decoding others */
			break;
		}
		if (r->errors++ == 0)
			snprintf(r->why, sizeof r->why, "%s (%s)", env->error->message,
			         rkc_code_name(env->error->code));
		if (r->errors >= ERROR_LIMIT)
			r->failed++; /* something is wrong: stop rather than spin */
		u_next(r, u); /* abandoned: its late answers are ignored */
		break;
	default:
		break;
	}
}

static void
u_closed(struct bconn *c, void *arg)
{
	struct urun *r = arg;

	r->failed++;
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "%s", c->why);
}

static int
u_busy(const struct urun *r)
{
	for (int i = 0; i < r->o->concurrency; i++)
		if (r->up[i].state != U_IDLE)
			return 1;
	return 0;
}

static void
u_pump(struct urun *r, struct bench_loop *l, int64_t until)
{
	int64_t now;

	while ((now = bench_now_ns()) < until && !bench_stopping() && r->failed == 0) {
		if (r->phase == T_CONNECT && r->ready == r->o->concurrency)
			return;
		if (r->phase == T_DRAIN && !u_busy(r))
			return;
		for (int i = 0; i < r->o->concurrency; i++)
			if (r->up[i].retry_at != 0 && r->up[i].retry_at <= now)
				u_finish(&r->up[i]);
		if (bl_poll(l, 5) != 0)
			return;
	}
}

static int
load_photo(struct urun *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	r->size = (size_t)n;
	r->photo = malloc(r->size);
	if (r->photo == NULL || fread(r->photo, 1, r->size, f) != r->size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static void
u_report(struct urun *r, double cpu, const struct bench_snapshot *a,
         const struct bench_snapshot *b, const char *pid_note)
{
	struct bench_report rep;
	double w = (double)(r->t1 - r->t0) / 1e9;

	bench_report_init(&rep, "upload");
	bench_describe(&rep, "%s (%.2f MiB), %d uploaders, %.0f s after %.0f s warm-up",
	               r->o->photo ? r->o->photo : "generated 1600x1200 PNG",
	               (double)r->size / 1048576, r->o->concurrency, w, r->o->warmup_s);
	bench_row(&rep, "photo size", "photo_bytes", (double)r->size, 0, "bytes");
	bench_row(&rep, "uploads finished", "uploads", (double)r->done, 0, "");
	bench_row(&rep, "uploads/s", "uploads_per_s", (double)r->done / w, 2, "/s");
	bench_row(&rep, "upload throughput", "mib_per_s", (double)r->bytes / 1048576 / w, 2,
	          "MiB/s");
	bench_row_latency(&rep, "upload (begin to finished)", "upload_latency", &r->lat);
	if (r->width > 0) {
		char dim[64];
		snprintf(dim, sizeof dim, "%ux%u, %llu bytes (thumbnail %llu)", r->width,
		         r->height, (unsigned long long)r->stored, (unsigned long long)r->thumb);
		bench_row_text(&rep, "as stored", "stored", dim);
	}
	bench_row(&rep, "errors", "errors", (double)r->errors, 0, "");
	if (r->why[0])
		bench_row_text(&rep, "  first error", "first_error", r->why);
	bench_row(&rep, "bench client CPU", "client_cpu_percent", cpu / w * 100, 0,
	          "% of one core");
	bench_server_rows(&rep, a, b, pid_note);
	bench_report_print(r->o, &rep);
}

int
bench_cmd_upload(struct bench_opts *o)
{
	struct bench_cbs cbs = {u_ready, u_message, u_closed, NULL};
	struct bench_snapshot sa, sb;
	struct bench_env e;
	struct bench_loop *l;
	struct urun r;
	char code[64], pid_note[256] = "";
	double cpu;
	int pid, rc, C;

	memset(&r, 0, sizeof r);
	r.o = o;
	if (o->concurrency == 0)
		o->concurrency = 2;
	C = o->concurrency;
	if (C > o->boards)
		return cli_usage_error(o->cli, "--concurrency cannot exceed --boards for upload");
	if (o->photo != NULL) {
		if (load_photo(&r, o->photo) != 0)
			return cli_fail(o->cli, CLI_EXIT_USAGE, "cannot read %s", o->photo);
		r.file_name = strrchr(o->photo, '/') ? strrchr(o->photo, '/') + 1 : o->photo;
	} else {
		r.photo = make_png(1600, 1200, &r.size);
		r.file_name = "bench.png";
	}
	SHA256(r.photo, r.size, r.sha);
	if ((rc = bench_env_open(o, &e)) != CLI_EXIT_OK) {
		free(r.photo);
		return rc;
	}
	pid = bench_server_pid(o, &e.target, pid_note, sizeof pid_note);
	r.codes = calloc((size_t)C, sizeof *r.codes);
	r.up = calloc((size_t)C, sizeof *r.up);
	if (r.codes == NULL || r.up == NULL)
		abort();
	cbs.arg = &r;
	l = bl_new(&e.target, &cbs, o->window);
	if (l == NULL)
		abort();
	for (int i = 0; i < C; i++) {
		/* each uploader its own user: at most 4 uploads per user */
		bench_patient_code(code, sizeof code, o->members, i);
		r.codes[i] = strdup(code);
		r.up[i].board = i;
		r.up[i].k = i;
		r.up[i].c = bl_open(l, e.tokens[(size_t)i * (size_t)o->members], &r.up[i]);
	}
	r.phase = T_CONNECT;
	u_pump(&r, l, bench_now_ns() + CONNECT_NS);
	if (r.ready < C) {
		rc = cli_fail(o->cli, CLI_EXIT_CONNECT, "upload: %s",
		              r.why[0] ? r.why : "stopped or timed out while connecting");
		goto out;
	}
	r.phase = T_WARMUP;
	for (int i = 0; i < C; i++)
		u_begin(&r, &r.up[i]);
	u_pump(&r, l, bench_now_ns() + (int64_t)(o->warmup_s * 1e9));
	bench_snapshot_take(o, &e.target, pid, &sa);
	cpu = bench_self_cpu_s();
	r.phase = T_MEASURE;
	r.t0 = bench_now_ns();
	u_pump(&r, l, r.t0 + (int64_t)(o->duration_s * 1e9));
	r.t1 = bench_now_ns();
	cpu = bench_self_cpu_s() - cpu;
	bench_snapshot_take(o, &e.target, pid, &sb);
	r.phase = T_DRAIN;
	u_pump(&r, l, r.t1 + DRAIN_NS);
	u_report(&r, cpu, &sa, &sb, pid_note);
	rc = r.errors || r.failed ? CLI_EXIT_SERVER : CLI_EXIT_OK;
out:
	bl_free(l);
	for (int i = 0; i < C; i++)
		free(r.codes[i]);
	free(r.codes);
	free(r.up);
	free(r.photo);
	bench_samples_free(&r.lat);
	bench_env_close(&e);
	return rc;
}

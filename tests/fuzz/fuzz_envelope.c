/*
 * Fuzz target: renkei.v1 messages as the server receives them, decoded
 * and dispatched in-process to the real handlers, over real encrypted
 * databases holding the demo ward.
 *
 * The server, without its sockets. At start the harness does what
 * renkei-server does (main.c): settings, `init` and `import` of
 * data/demo-ward.json into a scratch data folder in memory (/dev/shm),
 * the store with its writer, reader and hasher threads and the audit
 * journal (signed checkpoints included), and the api, given a transport
 * of its own (struct api_transport: api knows nothing of sockets) that
 * keeps what api sends and notes the closes it asks for. Completions are
 * pumped as net/ does (store_complete when the store's wake fires).
 * Then it logs in, with real LoginRequests, as eight of the ward's people
 * and keeps those connections open (argon2 at its cheapest cost).
 *
 * Input: byte 0 chooses the connection, then come up to MAX_MSGS
 * messages separated by SEP ("#RKMSG#", also in the dictionary).
 *   (byte 0 & 0x7f) % 9   0: a fresh connection, not logged in (prelogin rules)
 *                1..8: a fresh connection of the session of dr.tanaka
 *                (physician, on every sheet), ns.kobayashi (nurse),
 *                cm.nakamura (care manager), msw.yoshida (hospital MSW,
 *                hand-off), family.yamada (family), audit.inoue
 *                (auditor), dr.outsider (physician on no sheet: break-
 *                glass), admin; attached as a resume attaches it
 *   byte 0 & 0x80  pipelined: every message is sent without waiting for
 *                the answers (held back only while api has paused
 *                reading, at max_inflight, as lws would); else each one
 *                is answered (and its writes committed) before the next
 * Each message goes to api_on_message in a buffer of exactly its size,
 * as a WebSocket message would. The connection is closed at the end.
 *
 * Invariants:
 *  - everything api sends decodes as an Envelope;
 *  - while the connection is open (api did not ask to close it), every
 *    message gets exactly one answer (an event is not an answer), with
 *    its request id (the id that decoded, or the one wirecheck could
 *    read from a message that did not decode, or 0);
 *  - a message whose strings wirecheck refused, or could not walk, is
 *    answered INVALID_ARGUMENT (nothing unchecked reaches a handler);
 *  - no answer is an Error INTERNAL: with a healthy store on tmpfs that
 *    is a bug (an error of OK, or input that reached SQL unchecked);
 *  - nothing stays pending in the store after the input;
 *  - nothing leaks. A server's memory grows with what it serves (caches,
 *    sessions, grants), so libFuzzer's per-input guess (more mallocs than
 *    frees: check) is switched off (envelope.options: -detect_leaks=0);
 *    instead LeakSanitizer looks for unreachable memory every
 *    LEAK_CHECK_EVERY inputs, right after a reset (when nothing of the
 *    last server should be left), and at exit. A leak it finds names its
 *    allocation's stack; the input saved with it is the last one run,
 *    not necessarily the one that leaked.
 *
 * RENKEI_FUZZ_VERBOSE=1 prints every answer (its body, or the error), to
 * see what a seed reaches: build-fuzz/tests/fuzz/fuzz_envelope FILE...
 *
 * State. The databases keep what inputs write (posts, sheets, sessions,
 * the audit trail), as a server does. Every RESET_EVERY inputs the store
 * and the api are closed, the databases are copied back from a template
 * (made once, right after the import and the eight logins) and opened
 * again, with the eight connections attached to their sessions anew: the
 * databases stay small (an audit export is of the whole trail: its cost
 * grows with it), the people stay on their sheets, and what an input
 * meets differs from a fresh start by at most RESET_EVERY inputs. A
 * finding is reproduced by running its input alone; one that depends on
 * earlier inputs shows up as one that does not reproduce.
 *
 * Speed: each message that reaches the store costs a reader or writer
 * round trip and a commit of its audit record (SQLCipher encrypts every
 * page it writes): about a millisecond with the sanitizers on. Messages
 * refused before the store cost microseconds.
 */
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sanitizer/lsan_interface.h>

#include "admin/admin.h"
#include "api/api.h"
#include "api/internal.h"
#include "api/live.h"
#include "api/wirecheck.h"
#include "audit/audit.h"
#include "fuzz.h"
#include "fuzz_store.h"
#include "renkei.pb-c.h"
#include "store/store.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/frame.h"
#include "util/log.h"
#include "util/text.h"

#define SEP "#RKMSG#"
#define MAX_MSGS 8
#define MAX_FRAMES 512
#define RESET_EVERY 100
#define LEAK_CHECK_EVERY (50 * RESET_EVERY)
#define NUSERS 8

static const char *const logins[NUSERS] = {
	"dr.tanaka",     "ns.kobayashi", "cm.nakamura", "msw.yoshida",
	"family.yamada", "audit.inoue",  "dr.outsider", "admin",
};
#define DEMO_PASSWORD "renkei-demo-1"

/* One connection as the transport sees it. */
struct peer {
	struct api_conn *c;
	struct frame *frames[MAX_FRAMES];
	int nframes;
	int close_code; /* api asked to close it (0: no) */
	bool culled;    /* a send was refused: the transport would cull it */
	bool rx_paused;
};

static struct {
	struct conf conf;
	struct admin adm; /* the keys, as main() holds them */
	struct audit_journal journal;
	struct store *store;
	struct api *api;
	struct peer holders[NUSERS]; /* the logged-in connections */
	bool logged_in[NUSERS];
	struct auth_session sessions[NUSERS]; /* their sessions in the template */
	char template_dir[200];
	uint64_t inputs;
	bool verbose;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool woken;
} h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* ---------------------------------------------------------- the transport */

static int
tr_send(void *handle, struct frame *f)
{
	struct peer *p = handle;

	if (p->nframes == MAX_FRAMES) {
		p->culled = true;
		return -1;
	}
	p->frames[p->nframes++] = frame_ref(f);
	return 0;
}

static void
tr_close(void *handle, int code, const char *reason)
{
	struct peer *p = handle;

	CHECK(code >= 1000 && code <= 4999 && strlen(reason) < 124);
	CHECK(p->close_code == 0); /* asked once */
	p->close_code = code;
}

static void
tr_http_reply(void *ctx, uint64_t http_id, int status, const char *ctype,
              const char *extra, const uint8_t *body, size_t len)
{
	(void)ctx, (void)http_id, (void)status, (void)ctype, (void)extra;
	(void)body, (void)len;
	CHECK(!"no HTTPS request was made");
}

static void
tr_rx_flow(void *handle, int allow)
{
	struct peer *p = handle;

	CHECK(p->rx_paused == !allow); /* a change each time */
	p->rx_paused = !allow;
}

static const struct api_transport transport = {
	.send = tr_send,
	.close = tr_close,
	.http_reply = tr_http_reply,
	.rx_flow = tr_rx_flow,
};

/* Any store thread: completions are waiting (net/ calls
 * lws_cancel_service; here the pump is woken). */
static void
on_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&h.mu);
	h.woken = true;
	pthread_cond_signal(&h.cond);
	pthread_mutex_unlock(&h.mu);
}

/* Run completions until nothing is pending, or while `p` is paused. */
static void
pump(const struct peer *p)
{
	while (store_pending(h.store) > 0 || (p != NULL && p->rx_paused &&
	                                      p->close_code == 0 && !p->culled)) {
		struct timespec until;

		CHECK(store_pending(h.store) > 0); /* paused with nothing pending */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&h.mu);
		while (!h.woken)
			if (pthread_cond_timedwait(&h.cond, &h.mu, &until) != 0)
				break;
		h.woken = false;
		pthread_mutex_unlock(&h.mu);
		store_complete(h.store);
	}
}

static void
peer_open(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->c = api_conn_open(h.api, p, "::ffff:192.0.2.7");
	CHECK(p->c != NULL);
}

static void
peer_drop_frames(struct peer *p)
{
	for (int i = 0; i < p->nframes; i++)
		frame_unref(&p->frames[i]);
	p->nframes = 0;
}

static void
peer_close(struct peer *p)
{
	api_conn_closed(h.api, &p->c);
	CHECK(p->c == NULL);
	peer_drop_frames(p);
}

static Renkei__V1__Envelope *
frame_decode(struct frame *f)
{
	Renkei__V1__Envelope *env =
		renkei__v1__envelope__unpack(NULL, f->len, frame_payload(f));

	CHECK(env != NULL); /* api only ever sends valid Envelopes */
	return env;
}

/* ASan as everywhere, but without filling every new block beyond 256
 * bytes (SQLCipher allocates a buffer for each page it codes: 4 KiB of
 * memset each) and with a smaller quarantine, so that freed pages are
 * reused sooner rather than faulted in fresh. ASAN_OPTIONS still win. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "max_malloc_fill_size=256:quarantine_size_mb=32";
}

/* ------------------------------------------------------------ the server */

static void
set(const char *name, const char *value)
{
	char err[256];

	int rc = conf_set(&h.conf, name, value, err, sizeof(err));

	if (rc != 0)
		dprintf(fuzz_report_fd, "fuzz_envelope: %s\n", err);
	CHECK(rc == 0);
}

/* Log user k in on a connection of its own, with a real LoginRequest. */
static void
login(int k)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *resp;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	struct peer *p = &h.holders[k];
	uint8_t *buf;
	size_t n;

	peer_open(p);
	lr.login = (char *)logins[k];
	lr.password = DEMO_PASSWORD;
	lr.device = "fuzz_envelope";
	env.request_id = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	n = renkei__v1__envelope__get_packed_size(&env);
	buf = malloc(n);
	CHECK(buf != NULL);
	renkei__v1__envelope__pack(&env, buf);
	api_on_message(h.api, p->c, buf, n);
	free(buf);
	pump(NULL);
	CHECK(p->nframes == 1);
	resp = frame_decode(p->frames[0]);
	/* Locked out after the fuzzer's wrong passwords: try again later. */
	h.logged_in[k] = resp->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE;
	CHECK(h.logged_in[k] || resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	peer_drop_frames(p);
	if (!h.logged_in[k])
		peer_close(p);
}

/* Copy file from to file to (on tmpfs: no process spawned per reset). */
static void
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n;

	CHECK(in != NULL && out != NULL);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK(fwrite(buf, 1, n, out) == n);
	CHECK(!ferror(in));
	fclose(in);
	CHECK(fclose(out) == 0);
}

/* The databases (care.db, audit.db; no WAL: they are closed) between
 * the data folder and the template. */
static void
copy_databases(const char *from, const char *to)
{
	static const char *const names[] = {"care.db", "audit.db"};
	char a[4200], b[4200];

	for (int i = 0; i < 2; i++) {
		snprintf(a, sizeof(a), "%s/%s", from, names[i]);
		snprintf(b, sizeof(b), "%s/%s", to, names[i]);
		copy_file(a, b);
		snprintf(b, sizeof(b), "%s/%s-wal", to, names[i]);
		unlink(b);
		snprintf(b, sizeof(b), "%s/%s-shm", to, names[i]);
		unlink(b);
	}
}

/* The store and the api over the data folder, as serve() makes them. */
static void
server_open(void)
{
	struct store_config cfg;
	char err[512];

	if (admin_store_config(&h.adm, &cfg, err, sizeof(err)) != 0)
		dprintf(fuzz_report_fd, "fuzz_envelope: %s\n", err);
	CHECK(cfg.care_path != NULL);
	cfg.wake = on_wake;
	h.journal.appended = 0;
	cfg.journal = &audit_store_journal;
	cfg.journal_arg = &h.journal;
	if (store_open(&h.store, &cfg, err, sizeof(err)) != RK_OK)
		dprintf(fuzz_report_fd, "fuzz_envelope: %s\n", err);
	CHECK(h.store != NULL);
	h.api = api_new(&h.conf, h.store, &transport);
	api_set_audit_counter(h.api, &h.journal.appended);
}

/* As the server stops: connections go, the store finishes its work (no
 * closing checkpoint: these databases are thrown away), then the api. */
static void
server_close(void)
{
	for (int k = 0; k < NUSERS; k++)
		if (h.logged_in[k]) {
			peer_close(&h.holders[k]);
			h.logged_in[k] = false;
		}
	api_shutdown(h.api);
	pump(NULL);
	store_close(h.store, NULL, NULL);
	h.store = NULL;
	api_free(h.api);
	h.api = NULL;
}

/* The databases as they were when the ward had been imported and the
 * eight people had logged in, and the server again over them, with the
 * people's connections attached to those same sessions. */
static void
server_restart(void)
{
	copy_databases(h.template_dir, h.conf.data_dir);
	server_open();
	for (int k = 0; k < NUSERS; k++) {
		peer_open(&h.holders[k]);
		api_session_attach(h.api, h.holders[k].c, &h.sessions[k], rk_now_ms());
		h.logged_in[k] = true;
	}
}

/* Once: the data folder as `init` and `import` make it, the eight
 * logins, and the template of it all. */
static void
server_first_start(void)
{
	char err[512], ward[4200];

	snprintf(ward, sizeof(ward), "%s/data/demo-ward.json", RENKEI_SOURCE_DIR);
	CHECK(admin_init(&h.adm) == 0);
	CHECK(admin_import(&h.adm, ward) == 0);
	h.journal.signer = admin_signer(&h.adm, err, sizeof(err));
	CHECK(h.journal.signer != NULL);
	h.journal.every_records = h.conf.audit_checkpoint_records;
	h.journal.every_ms = (int64_t)h.conf.audit_checkpoint_s * 1000;
	server_open();
	for (int k = 0; k < NUSERS; k++) {
		const struct live_session *ls;

		login(k);
		CHECK(h.logged_in[k]);
		ls = h.holders[k].c->sess;
		h.sessions[k] = (struct auth_session){.id = ls->id,
		                                      .expires_ms = ls->expires_ms,
		                                      .last_seen_ms = ls->touched_ms,
		                                      .user = ls->user};
	}
	server_close();
	CHECK(mkdir(h.template_dir, 0700) == 0);
	copy_databases(h.conf.data_dir, h.template_dir);
	server_restart();
}

static void
at_exit(void)
{
	if (h.api != NULL)
		server_close();
	audit_signer_free(h.journal.signer);
	h.journal.signer = NULL;
	admin_end(&h.adm);
	conf_fini(&h.conf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[200];

	(void)argc, (void)argv;
	fuzz_keep_stderr();
	h.verbose = getenv("RENKEI_FUZZ_VERBOSE") != NULL;
	log_threshold = LOG_WARN;
	unsetenv("RENKEI_CARE_KEY");
	unsetenv("RENKEI_AUDIT_KEY");
	/* A development KEK for the run's own key folder (DATA-keys). */
	setenv("RENKEI_KEK",
	       "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f", 1);
	conf_init(&h.conf);
	snprintf(h.template_dir, sizeof(h.template_dir), "%s/template",
	         fuzz_scratch("envelope"));
	snprintf(path, sizeof(path), "%s/data", fuzz_dir);
	set("data_dir", path);
	/* Cheap passwords; no lockout that outlives a moment. */
	/* Below OWASP's floor: a test run only (util/conf.h). */
	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
	set("argon2_t", "1");
	set("argon2_m_kib", "8");
	set("login_max_failures", "1000");
	set("login_delay_s", "1");
	set("login_max_failures_per_address", "100000");
	/* Sessions that last the run; rates that never refuse the harness
	 * (rate_take itself still runs for every request). */
	set("session_idle_s", "2592000");
	set("session_max_s", "7776000");
	set("rate_read_per_s", "1000000");
	set("rate_write_per_s", "1000000");
	set("rate_bulk_per_s", "100000");
	/* Pipelined inputs reach the cap; inputs of MAX_MSGS messages reach
	 * the limit before login. */
	set("max_inflight", "3");
	set("prelogin_max_requests", "5");
	/* One thread of each kind (the run is to use one core); a
	 * checkpoint now and then. */
	set("store_readers", "1");
	set("store_hashers", "1");
	set("audit_checkpoint_records", "500");
	set("log_level", "warn");
	conf_resolve_paths(&h.conf);
	admin_begin(&h.adm, &h.conf);
	server_first_start();
	atexit(at_exit);
	return 0;
}

/* ------------------------------------------------------------- one input */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The request id api must answer a message with, and whether the answer
 * must be INVALID_ARGUMENT (wirecheck did not pass it). */
static uint64_t
expected_rid(const uint8_t *m, size_t len, bool *refused)
{
	Renkei__V1__Envelope *env = renkei__v1__envelope__unpack(NULL, len, m);
	struct wirecheck w;
	uint64_t rid;

	api_wirecheck(m, len, &w);
	*refused = w.result != WIRECHECK_OK;
	if (env != NULL) {
		rid = env->request_id;
		renkei__v1__envelope__free_unpacked(env, NULL);
		return rid;
	}
	return w.has_request_id ? w.request_id : 0;
}

/* The next SEP in [m, end), or NULL. */
static const uint8_t *
find_sep(const uint8_t *m, const uint8_t *end)
{
	size_t n = strlen(SEP);

	for (; (size_t)(end - m) >= n; m++)
		if (*m == SEP[0] && memcmp(m, SEP, n) == 0)
			return m;
	return NULL;
}

static void
deliver(struct peer *p, const uint8_t *m, size_t len, uint64_t *rids,
        bool *refused, int *nrids)
{
	uint8_t *buf = malloc(len ? len : 1);

	CHECK(buf != NULL);
	memcpy(buf, m, len);
	/* api reads only while the transport would (not closing). */
	if (p->close_code == 0 && !p->culled && !p->c->closing) {
		rids[*nrids] = expected_rid(buf, len, &refused[*nrids]);
		(*nrids)++;
	}
	api_on_message(h.api, p->c, buf, len);
	free(buf);
}

/* Must the answer with request id rid be INVALID_ARGUMENT? Known only
 * when one message alone carries that id. */
static bool
must_refuse(uint64_t rid, const uint64_t *rids, const bool *refused, int nrids)
{
	int n = 0;
	bool r = false;

	for (int i = 0; i < nrids; i++)
		if (rids[i] == rid) {
			n++;
			r = refused[i];
		}
	return n == 1 && r;
}

static void
check_answers(struct peer *p, uint64_t *rids, const bool *refused, int nrids)
{
	uint64_t got[MAX_FRAMES];
	int ngot = 0;

	for (int i = 0; i < p->nframes; i++) {
		Renkei__V1__Envelope *env = frame_decode(p->frames[i]);

		if (env->body_case != RENKEI__V1__ENVELOPE__BODY_EVENT &&
		    must_refuse(env->request_id, rids, refused, nrids)) {
			CHECK(env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR);
			CHECK(env->error->code == RENKEI__V1__CODE__INVALID_ARGUMENT);
		}

		if (h.verbose) {
			const ProtobufCFieldDescriptor *f =
				protobuf_c_message_descriptor_get_field(
					&renkei__v1__envelope__descriptor,
					(unsigned)env->body_case);
			dprintf(fuzz_report_fd, "  rid %llu: %s",
			        (unsigned long long)env->request_id, f ? f->name : "(none)");
			if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
				dprintf(fuzz_report_fd, " %d \"%s\" field=%s", env->error->code,
				        env->error->message, env->error->field);
			dprintf(fuzz_report_fd, "\n");
		}
		if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
			CHECK(env->error != NULL);
			CHECK(env->error->code != RENKEI__V1__CODE__OK);
			if (env->error->code == RENKEI__V1__CODE__INTERNAL)
				dprintf(fuzz_report_fd, "INTERNAL for rid %llu: %s\n",
				        (unsigned long long)env->request_id,
				        env->error->message);
			CHECK(env->error->code != RENKEI__V1__CODE__INTERNAL);
			CHECK(env->error->message != NULL && env->error->message[0] != '\0');
		}
		if (env->body_case != RENKEI__V1__ENVELOPE__BODY_EVENT)
			got[ngot++] = env->request_id;
		else
			CHECK(env->request_id == 0);
		renkei__v1__envelope__free_unpacked(env, NULL);
	}
	if (h.verbose && (p->close_code != 0 || p->culled))
		dprintf(fuzz_report_fd, "  closed: %d%s\n", p->close_code,
		        p->culled ? " (culled)" : "");
	if (p->close_code != 0 || p->culled)
		return; /* answers to a closing connection are dropped */
	CHECK(ngot == nrids);
	qsort(got, (size_t)ngot, sizeof(got[0]), cmp_u64);
	qsort(rids, (size_t)nrids, sizeof(rids[0]), cmp_u64);
	CHECK(memcmp(got, rids, (size_t)ngot * sizeof(got[0])) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct peer p;
	uint64_t rids[MAX_MSGS];
	bool refused[MAX_MSGS];
	int nrids = 0, user, nmsgs = 0;
	bool pipelined;
	const uint8_t *m, *end;

	if (size == 0)
		return 0;
	if (++h.inputs % RESET_EVERY == 0) {
		server_close();
		/* Nothing of that server is left: any unreachable block is a
		 * leak. */
		if (h.inputs % LEAK_CHECK_EVERY == 0)
			CHECK(__lsan_do_recoverable_leak_check() == 0);
		server_restart();
	}
	user = (data[0] & 0x7f) % (NUSERS + 1) - 1; /* -1: not logged in */
	pipelined = (data[0] & 0x80) != 0;
	if (user >= 0 && !h.logged_in[user])
		login(user);
	if (user >= 0 && !h.logged_in[user])
		user = -1;

	peer_open(&p);
	if (user >= 0) {
		const struct live_session *ls = h.holders[user].c->sess;
		struct auth_session s = {.id = ls->id, .expires_ms = ls->expires_ms,
		                         .last_seen_ms = ls->touched_ms,
		                         .user = ls->user};
		api_session_attach(h.api, p.c, &s, rk_now_ms());
	}

	m = data + 1;
	end = data + size;
	while (m <= end && nmsgs < MAX_MSGS) {
		const uint8_t *sep = find_sep(m, end);
		const uint8_t *stop = sep != NULL ? sep : end;

		if (pipelined)
			pump(&p); /* only while api has paused reading */
		deliver(&p, m, (size_t)(stop - m), rids, refused, &nrids);
		nmsgs++;
		if (!pipelined)
			pump(NULL);
		if (sep == NULL)
			break;
		m = sep + strlen(SEP);
	}
	pump(NULL);
	api_tick(h.api, rk_now_ms());
	pump(NULL);
	check_answers(&p, rids, refused, nrids);
	peer_close(&p);
	pump(NULL);

	/* A logout ends the session everywhere: its holder was closed. */
	for (int k = 0; k < NUSERS; k++) {
		if (!h.logged_in[k])
			continue;
		if (h.holders[k].close_code != 0 || h.holders[k].culled) {
			peer_close(&h.holders[k]);
			h.logged_in[k] = false;
		} else {
			peer_drop_frames(&h.holders[k]);
		}
	}
	CHECK(store_pending(h.store) == 0);
	return 0;
}

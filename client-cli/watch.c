/*
 * watch: follow boards live, across dropped connections and restarts.
 *
 * The protocol does the hard part (renkei.proto, SyncRequest): a sync
 * answers what was missed after a cursor, page by page in commit order,
 * and the page with more = false makes the connection live, every later
 * post arriving as a PostEvent with nothing missed or repeated between
 * the two. So the client only has to keep one number, the cursor: the
 * highest SyncResponse.cursor / PostEvent.cursor seen. It lives in
 * memory and in the file `cursor` of the configuration folder (saved
 * after each post is printed: a crash in between shows that post again
 * on restart rather than never), keyed by server, login and the boards
 * watched, so that a restarted watch resumes too.
 *
 * When the connection drops (the server restarts: close 1001; a network
 * failure; a timeout), we reconnect with exponential backoff (0.5 s
 * doubling to 10 s), resume the session, sync again from the cursor and
 * carry on. As a belt-and-braces check against a server that repeats
 * itself, the ids of the last SEEN_MAX posts printed are kept and a post
 * seen before is not printed again (and said so on stderr).
 *
 * Acks (AckEvent) carry no cursor: those made while we were away are not
 * replayed (`renkei acks POST` shows them). The server announces a
 * repeated ack again, with the first time; the last ACKS_SEEN_MAX acks
 * are remembered so that each is shown once.
 *
 * Stopping: Ctrl-C (SIGINT) or SIGTERM sets a flag that the loop checks
 * at least every POLL_MS; the handler is then reset, so a second Ctrl-C
 * ends the process at once even in the middle of a connect. The end of
 * the session (Event session_ended, or close code 4001) ends the watch
 * with exit status 3.
 *
 * Output: posts as `board` prints them, with the patient code in front;
 * status lines (watching, reconnecting) on stderr. With --json, one JSON
 * object per line on stdout: {"type":"post","post":{...}} or
 * {"type":"ack",...}.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define POLL_MS 500          /* how often the stop flag is looked at */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 10000
#define SEEN_MAX 4096        /* recent post ids remembered */
#define ACKS_SEEN_MAX 256    /* recent acks remembered */
#define CLOSE_SESSION_ENDED 4001

/* The stop flag (see cli.h: the one global besides session.c's). */
static volatile sig_atomic_t stop_signal;

static void
on_stop(int sig)
{
	stop_signal = sig;
}

/* A ring of the ids of the posts printed lately. */
struct seen {
	uint64_t ids[SEEN_MAX];
	size_t next, n;
};

static int
seen_has(const struct seen *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return 1;
	return 0;
}

static void
seen_add(struct seen *s, uint64_t id)
{
	s->ids[s->next] = id;
	s->next = (s->next + 1) % SEEN_MAX;
	if (s->n < SEEN_MAX)
		s->n++;
}

/* A ring of the acks printed lately: who confirmed which post when. */
struct ack_key {
	uint64_t post_id;
	int64_t at_ms;
	char login[64];
};

struct acks_seen {
	struct ack_key keys[ACKS_SEEN_MAX];
	size_t next, n;
};

/* 1 if the ack was seen before; else remember it and return 0. */
static int
ack_seen(struct acks_seen *s, uint64_t post_id, int64_t at_ms, const char *login)
{
	struct ack_key *k;
	size_t i;

	for (i = 0; i < s->n; i++) {
		k = &s->keys[i];
		if (k->post_id == post_id && k->at_ms == at_ms && strcmp(k->login, login) == 0)
			return 1;
	}
	k = &s->keys[s->next];
	k->post_id = post_id;
	k->at_ms = at_ms;
	snprintf(k->login, sizeof k->login, "%s", login);
	s->next = (s->next + 1) % ACKS_SEEN_MAX;
	if (s->n < ACKS_SEEN_MAX)
		s->n++;
	return 0;
}

struct watch {
	struct cli *cli;
	char **patients;      /* the boards asked for (argv); none = all mine */
	size_t n_patients;
	char login[256];      /* whose session */
	char *key;            /* the cursor's key in the cursor file */
	uint64_t cursor;      /* resume point: everything up to it was printed */
	int save_warned;      /* the cursor file could not be written (said once) */
	int reconnecting;     /* the connection dropped since the last sync */
	struct seen seen;
	struct acks_seen acks;
};

/* Outcomes of a connection's life besides the exit statuses. */
enum { LOST = -2, STOPPED = -3 };

/* ---- the cursor */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "SERVER LOGIN BOARDS": the boards sorted, comma-separated, "*" for all.
 * Control characters (which the file format cannot hold) become '?'. */
static void
make_key(struct watch *w)
{
	struct cli *cli = w->cli;
	char **sorted = calloc(w->n_patients + 1, sizeof *sorted);
	size_t i, len;
	char *k, *p;

	if (sorted == NULL)
		abort();
	len = strlen(cli->session_server) + strlen(w->login) + 4;
	for (i = 0; i < w->n_patients; i++) {
		sorted[i] = w->patients[i];
		len += strlen(w->patients[i]) + 1;
	}
	qsort(sorted, w->n_patients, sizeof *sorted, cmp_str);
	k = malloc(len);
	if (k == NULL)
		abort();
	snprintf(k, len, "%s %s ", cli->session_server, w->login);
	if (w->n_patients == 0)
		strcat(k, "*");
	for (i = 0; i < w->n_patients; i++) {
		if (i > 0)
			strcat(k, ",");
		strcat(k, sorted[i]);
	}
	for (p = k; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	free(sorted);
	w->key = k;
}

static void
advance(struct watch *w, uint64_t cursor)
{
	char why[CLI_PATH_MAX + 128];

	if (cursor <= w->cursor)
		return;
	w->cursor = cursor;
	/* what is printed must be out before the cursor says so */
	fflush(stdout);
	if (cli_cursor_save(w->cli, w->key, cursor, why, sizeof why) != 0 && !w->save_warned) {
		fprintf(stderr, "%s: warning: %s; a restarted watch will repeat posts\n",
		        w->cli->prog, why);
		w->save_warned = 1;
	}
}

/* ---- output */

static void
emit_post(struct watch *w, const Renkei__V1__Post *p, const struct cli_post_ctx *ctx)
{
	if (p == NULL)
		return;
	if (seen_has(&w->seen, p->id)) {
		fprintf(stderr, "%s: note: the server sent post id %llu again; not shown twice\n",
		        w->cli->prog, (unsigned long long)p->id);
		return;
	}
	seen_add(&w->seen, p->id);
	if (w->cli->json) {
		cli_json_print(w->cli, json_pack("{s:s,s:o}", "type", "post", "post",
		                                 cli_json_post(p)));
	} else {
		cli_post_print(p, ctx);
		fputc('\n', stdout);
	}
	fflush(stdout);
}

static void
emit_ack(struct watch *w, const Renkei__V1__AckEvent *a)
{
	const Renkei__V1__User *u = a->ack != NULL ? a->ack->user : NULL;
	int64_t at = a->ack != NULL ? a->ack->acked_at_ms : 0;
	char when[64];

	if (ack_seen(&w->acks, a->post_id, at, u != NULL ? u->login : ""))
		return;
	if (w->cli->json) {
		cli_time_utc(at, when, sizeof when);
		cli_json_print(w->cli, json_pack("{s:s,s:o,s:I,s:o,s:s,s:I}", "type", "ack",
		                                 "patient", cli_json_str(a->patient), "post_id",
		                                 (json_int_t)a->post_id, "user", cli_json_user(u),
		                                 "acked_at", when, "acked_at_ms", (json_int_t)at));
	} else {
		cli_time_short(at, when, sizeof when);
		cli_print_scrubbed(stdout, a->patient);
		printf(" ✓ id %llu confirmed by ", (unsigned long long)a->post_id);
		if (u != NULL) {
			cli_print_scrubbed(stdout, *u->display_name ? u->display_name : u->login);
			printf(" (%s)", cli_profession_text(u->profession));
		} else {
			fputs("(unknown)", stdout);
		}
		printf(" at %s\n\n", when);
	}
	fflush(stdout);
}

static void
say_watching(struct watch *w, const Renkei__V1__SyncResponse *r)
{
	size_t i;

	fprintf(stderr, "%s: %s ", w->cli->prog, w->reconnecting ? "reconnected; watching"
	                                                         : "watching");
	if (r->n_patients == 0)
		fputs("no boards (you are on no patient's sheet)", stderr);
	for (i = 0; i < r->n_patients; i++) {
		if (i > 0)
			fputs(", ", stderr);
		cli_print_scrubbed(stderr, r->patients[i]);
	}
	fprintf(stderr, "; Ctrl-C to stop\n");
}

/* ---- one connection */

/* Catch up from w->cursor until the connection is live. Returns
 * CLI_EXIT_OK, LOST (why says why), or an exit status (reported). */
static int
catch_up(struct watch *w, struct rkc *c, char *why, size_t whylen)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__SyncRequest sr = RENKEI__V1__SYNC_REQUEST__INIT;
	Renkei__V1__SyncResponse *r;
	struct cli_post_ctx ctx;
	int rc, first = 1;
	size_t i;

	sr.patients = w->patients;
	sr.n_patients = w->n_patients;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	req.sync_request = &sr;
	for (;;) {
		if (stop_signal)
			return STOPPED;
		sr.cursor = w->cursor;
		if (cli_call_quiet(c, &req, &resp, why, whylen) != CLI_EXIT_OK)
			return LOST;
		if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
		    resp->error->code == RENKEI__V1__CODE__UNAVAILABLE) {
			snprintf(why, whylen, "the server is unavailable: %s", resp->error->message);
			renkei__v1__envelope__free_unpacked(resp, NULL);
			return LOST;
		}
		rc = cli_check_answer(w->cli, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE, &resp);
		if (rc != CLI_EXIT_OK)
			return rc;
		r = resp->sync_response;
		if (first)
			say_watching(w, r);
		first = 0;
		ctx.posts = r->posts;
		ctx.n = r->n_posts;
		ctx.show_patient = 1;
		for (i = 0; i < r->n_posts; i++)
			emit_post(w, r->posts[i], &ctx);
		advance(w, r->cursor);
		if (!r->more) {
			renkei__v1__envelope__free_unpacked(resp, NULL);
			return CLI_EXIT_OK;
		}
		renkei__v1__envelope__free_unpacked(resp, NULL);
		resp = NULL;
	}
}

static int
session_ended(struct watch *w, const char *reason)
{
	if (reason != NULL && *reason != '\0') {
		char *r = strdup(reason);

		if (r == NULL)
			abort();
		cli_scrub(r);
		cli_fail(w->cli, CLI_EXIT_AUTH, "session ended: log in again (%s)", r);
		free(r);
		return CLI_EXIT_AUTH;
	}
	return cli_fail(w->cli, CLI_EXIT_AUTH, "session ended: log in again");
}

/* Print events as they come. Returns STOPPED, LOST (why), or an exit
 * status (reported). */
static int
live(struct watch *w, struct rkc *c, char *why, size_t whylen)
{
	Renkei__V1__Envelope *env;
	Renkei__V1__Event *ev;
	struct cli_post_ctx ctx = { NULL, 0, 1 };
	int rc = CLI_EXIT_OK;

	for (;;) {
		if (stop_signal)
			return STOPPED;
		if (rkc_next_event(c, POLL_MS, &env) != 0) {
			if (strcmp(rkc_last_error(c), "timeout") == 0)
				continue;
			if (rkc_close_code(c) == CLOSE_SESSION_ENDED)
				return session_ended(w, rkc_close_reason(c));
			if (strncmp(rkc_last_error(c), "the server sent", 15) == 0) {
				/* one bad message; the connection is still good */
				fprintf(stderr, "%s: warning: %s\n", w->cli->prog, rkc_last_error(c));
				continue;
			}
			snprintf(why, whylen, "%s", rkc_last_error(c));
			return LOST;
		}
		ev = env->body_case == RENKEI__V1__ENVELOPE__BODY_EVENT ? env->event : NULL;
		if (ev != NULL && ev->kind_case == RENKEI__V1__EVENT__KIND_POST && ev->post != NULL) {
			emit_post(w, ev->post->post, &ctx);
			advance(w, ev->post->cursor);
		} else if (ev != NULL && ev->kind_case == RENKEI__V1__EVENT__KIND_ACK &&
		           ev->ack != NULL) {
			emit_ack(w, ev->ack);
		} else if (ev != NULL && ev->kind_case == RENKEI__V1__EVENT__KIND_SESSION_ENDED) {
			rc = session_ended(w, ev->session_ended != NULL ? ev->session_ended->reason
			                                                : NULL);
		}
		/* anything else is from a later protocol version: skip it */
		renkei__v1__envelope__free_unpacked(env, NULL);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
}

/* ---- the command */

static int
parse(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, i;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			return cli_command_help(cli);
		}
		return cli_unknown_option(cli, argv[optind - 1]);
	}
	for (i = optind; i < argc; i++)
		if (*argv[i] == '\0')
			return cli_usage_error(cli, "empty PATIENT");
	return -1;
}

/* Wait ms, unless asked to stop. */
static void
pause_ms(int ms)
{
	int left;

	for (left = ms; left > 0 && !stop_signal; left -= POLL_MS)
		cli_sleep_ms(left < POLL_MS ? left : POLL_MS);
}

int
cli_cmd_watch(struct cli *cli, int argc, char **argv)
{
	struct sigaction sa, old_int, old_term;
	char why[1024], lwhy[CLI_PATH_MAX + 128];
	struct watch *w;
	struct rkc *c = NULL;
	int rc, backoff = BACKOFF_FIRST_MS;

	if ((rc = parse(cli, argc, argv)) != -1)
		return rc;
	cli->ndjson = 1;
	w = calloc(1, sizeof *w); /* the rings take 50 KiB: not on the stack */
	if (w == NULL)
		abort();
	w->cli = cli;
	w->patients = argv + optind;
	w->n_patients = (size_t)(argc - optind);

	/* no SA_RESTART, so that a wait returns; SA_RESETHAND, so that a
	 * second Ctrl-C is not held up by a slow connect */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	for (;;) {
		if (stop_signal)
			break;
		rc = cli_open_session_quiet(cli, &c, w->login, sizeof w->login, why, sizeof why);
		if (rc == CLI_EXIT_OK && w->key == NULL) {
			make_key(w);
			if (cli_cursor_load(cli, w->key, &w->cursor, lwhy, sizeof lwhy) != 0)
				fprintf(stderr, "%s: warning: %s; starting from the beginning\n",
				        cli->prog, lwhy);
		}
		if (rc == CLI_EXIT_OK)
			rc = catch_up(w, c, why, sizeof why);
		if (rc == CLI_EXIT_OK) {
			backoff = BACKOFF_FIRST_MS; /* it worked: start over next time */
			w->reconnecting = 0;
			rc = live(w, c, why, sizeof why);
		}
		if (rc == LOST || rc == CLI_EXIT_CONNECT) {
			/* a connection that failed is not worth a close handshake */
			rkc_abort(c);
		} else {
			rkc_close(c);
		}
		c = NULL;
		if (rc == STOPPED || stop_signal)
			break;
		if (rc != LOST && rc != CLI_EXIT_CONNECT)
			goto out; /* reported */
		cli_scrub(why); /* it may quote the server's close reason */
		if (rc == LOST) /* we were connected */
			fprintf(stderr, "%s: connection lost (%s); reconnecting in %d.%d s\n",
			        cli->prog, why, backoff / 1000, backoff % 1000 / 100);
		else /* could not connect, or resume */
			fprintf(stderr, "%s: %s; trying again in %d.%d s\n", cli->prog, why,
			        backoff / 1000, backoff % 1000 / 100);
		w->reconnecting = 1;
		pause_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	rc = CLI_EXIT_OK;
	if (!cli->json)
		fprintf(stderr, "%s: stopped\n", cli->prog);
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	free(w->key);
	free(w);
	return rc;
}

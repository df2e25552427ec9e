/*
 * Board and post commands: board (read a board), post, amend, retract,
 * ack (confirm, 確認) and acks (who confirmed, who has not yet).
 *
 * Every write carries a client_id, the author's idempotency key: a fresh
 * random UUID unless --client-id gives one. That is what makes it safe
 * for cli_request() to send the same write again on a new connection
 * when the first one failed or timed out: the server stores it once and
 * answers the retry with the same post (duplicate = true). A duplicate
 * answer under a key we generated can only come from our own earlier
 * attempt, so it is reported as posted; under a key the user chose it
 * means the post existed before this run.
 *
 * Photos (--photo) are uploaded first (upload.c), on the connection the
 * post then goes out on; their upload ids derive from the client id, so
 * running the same command again with the same --client-id resumes the
 * uploads and, if the post made it, answers with it (duplicate).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rkc_uuid.h"
#include "rkc_vitals.h"

#define TEXT_MAX 16384 /* bytes, as the server allows (renkei.proto) */
#define LIMIT_MAX 200  /* posts per board page (renkei.proto) */

/* Options of the write commands. */
enum {
	OPT_TEXT = 't',
	OPT_KIND = 'k',
	OPT_VIS = 'v',
	OPT_URGENT = 'u',
	OPT_VITALS = 'V',
	OPT_CLIENT_ID = 'c',
	OPT_REASON = 'r',
	OPT_BEFORE = 'b',
	OPT_AFTER = 'a',
	OPT_LIMIT = 'l',
	OPT_HELP = 'h',
	OPT_PHOTO = 'p',
	OPT_STOP_AFTER = 'S',
	OPT_TO = 'T',
	OPT_REQUEST = 'R',
	OPT_OWNER = 'O',
	OPT_DUE = 'D',
};

struct args {
	const char *arg;          /* the one argument: PATIENT or POST */
	uint64_t post_id;         /* POST, parsed */
	const char *text;         /* --text (or what stdin gave) */
	char *text_buf;           /* owns the text read from stdin */
	const char *reason;       /* --reason */
	Renkei__V1__PostKind kind;
	Renkei__V1__Visibility visibility;
	int urgent;
	Renkei__V1__Vitals vitals;
	int has_vitals;
	char client_id[72];
	int own_client_id;        /* we generated client_id */
	uint64_t before, after;
	uint32_t limit;
	const char *photos[CLI_PHOTOS_MAX]; /* --photo, in order */
	size_t n_photos;
	uint64_t stop_after;      /* --upload-stop-after (tests) */
	char *to_buf[CLI_TO_MAX]; /* --to, split at commas (owned) */
	size_t n_to;
	int request;              /* --request */
	const char *owner;        /* --owner */
	int64_t due_ms;           /* --due; 0 = none */
};

/* A positive decimal number up to max. 0, or -1. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

/* All of stdin, for --text -: at most TEXT_MAX bytes, trailing line
 * breaks dropped. Returns CLI_EXIT_OK with a->text, or an exit status. */
static int
read_stdin_text(struct cli *cli, struct args *a)
{
	size_t len = 0;
	ssize_t n;

	a->text_buf = malloc(TEXT_MAX + 2);
	if (a->text_buf == NULL)
		abort();
	while (len < TEXT_MAX + 1) {
		n = read(STDIN_FILENO, a->text_buf + len, TEXT_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot read the text from stdin: %s",
			                strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TEXT_MAX)
		return cli_usage_error(cli, "the text is longer than %d bytes", TEXT_MAX);
	while (len > 0 && (a->text_buf[len - 1] == '\n' || a->text_buf[len - 1] == '\r'))
		len--;
	a->text_buf[len] = '\0';
	if (memchr(a->text_buf, '\0', len) != NULL)
		return cli_usage_error(cli, "the text on stdin contains a NUL byte");
	a->text = a->text_buf;
	return CLI_EXIT_OK;
}

/* Now, as a time of day (rkc_now_ms is monotonic). */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --to LOGIN,LOGIN,...: the addressees, in order (the server checks
 * them against the sheet). */
static int
add_to(struct cli *cli, struct args *a, const char *list)
{
	const char *p = list;

	for (;;) {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			return cli_usage_error(cli, "--to takes logins separated by commas");
		if (a->n_to == CLI_TO_MAX)
			return cli_usage_error(cli, "at most %d addressees", CLI_TO_MAX);
		a->to_buf[a->n_to] = strndup(p, n);
		if (a->to_buf[a->n_to] == NULL)
			abort();
		a->n_to++;
		if (e == NULL)
			return CLI_EXIT_OK;
		p = e + 1;
	}
}

/* Parse argv for a command taking the options in opts and one argument
 * (a patient code, or a post id when is_post). Returns -1 to go on, or
 * an exit status (reported, or --help done). */
static int
parse_args(struct cli *cli, int argc, char **argv, const struct option *opts, int is_post,
           struct args *a)
{
	const char *why = NULL;
	uint64_t v;
	int ch, rc;

	memset(a, 0, sizeof *a);
	a->kind = RENKEI__V1__POST_KIND__GENERAL;
	a->visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	renkei__v1__vitals__init(&a->vitals);
	optind = 0;
	opterr = 0;
	/* leading ':' tells a missing value (':') from an unknown option */
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_HELP:
			return cli_command_help(cli);
		case OPT_TEXT:
			a->text = optarg;
			break;
		case OPT_REASON:
			a->reason = optarg;
			break;
		case OPT_KIND:
			if (cli_kind_parse(optarg, &a->kind) != 0)
				return cli_usage_error(cli, "unknown --kind '%s': use visit_note, "
				                            "vitals, medication, care, handoff or general",
				                       optarg);
			break;
		case OPT_VIS:
			if (cli_visibility_parse(optarg, &a->visibility) != 0)
				return cli_usage_error(cli, "unknown --visibility '%s': use all, "
				                            "professional or clinical",
				                       optarg);
			break;
		case OPT_URGENT:
			a->urgent = 1;
			break;
		case OPT_VITALS:
			if (rkc_vitals_parse(optarg, &a->vitals, &why) != 0)
				return cli_usage_error(cli, "bad --vitals '%s': %s", optarg, why);
			a->has_vitals = 1;
			break;
		case OPT_CLIENT_ID:
			if (!rkc_client_id_valid(optarg))
				return cli_usage_error(cli, "--client-id must be 1-64 printable ASCII "
				                            "characters without spaces");
			snprintf(a->client_id, sizeof a->client_id, "%s", optarg);
			break;
		case OPT_BEFORE:
		case OPT_AFTER:
			if (parse_u64(optarg, INT64_MAX, &v) != 0)
				return cli_usage_error(cli, "--%s takes a post number (#seq), e.g. 12",
				                       ch == OPT_BEFORE ? "before" : "after");
			if (ch == OPT_BEFORE)
				a->before = v;
			else
				a->after = v;
			break;
		case OPT_LIMIT:
			if (parse_u64(optarg, LIMIT_MAX, &v) != 0)
				return cli_usage_error(cli, "--limit takes a number from 1 to %d",
				                       LIMIT_MAX);
			a->limit = (uint32_t)v;
			break;
		case OPT_PHOTO:
			if (a->n_photos >= CLI_PHOTOS_MAX)
				return cli_usage_error(cli, "at most %d photos per post",
				                       CLI_PHOTOS_MAX);
			if (*optarg == '\0')
				return cli_usage_error(cli, "--photo needs a file");
			a->photos[a->n_photos++] = optarg;
			break;
		case OPT_TO:
			if ((rc = add_to(cli, a, optarg)) != CLI_EXIT_OK)
				return rc;
			break;
		case OPT_REQUEST:
			a->request = 1;
			break;
		case OPT_OWNER:
			if (*optarg == '\0')
				return cli_usage_error(cli, "--owner needs a login");
			a->owner = optarg;
			break;
		case OPT_DUE:
			if (cli_due_parse(optarg, wall_ms(), &a->due_ms) != 0)
				return cli_usage_error(cli, "--due takes a time ahead: +2h, +1d, "
				                            "2026-12-05 or 2026-12-05T10:00, not "
				                            "'%s'",
				                       optarg);
			break;
		case OPT_STOP_AFTER:
			if (parse_u64(optarg, INT64_MAX, &a->stop_after) != 0)
				return cli_usage_error(cli, "--upload-stop-after takes a number of "
				                            "bytes");
			break;
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(cli, is_post ? "missing POST (a post id, as 'board' shows)"
		                                    : "missing PATIENT");
	if (argc - optind > 1)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 1]);
	a->arg = argv[optind];
	if (is_post && parse_u64(a->arg, INT64_MAX, &a->post_id) != 0)
		return cli_usage_error(cli, "POST is a post id (a number: the 'id N' that 'board' "
		                            "shows), not '%s'",
		                       a->arg);
	if (!is_post && *a->arg == '\0')
		return cli_usage_error(cli, "empty PATIENT");
	if (a->before != 0 && a->after != 0)
		return cli_usage_error(cli, "give --before or --after, not both");
	if ((a->owner != NULL || a->due_ms != 0) && !a->request)
		return cli_usage_error(cli, "--owner and --due are for a request: give --request");
	if (a->request && a->n_to == 0)
		return cli_usage_error(cli, "a request needs --to LOGIN (who it is for)");
	if (a->stop_after != 0 && a->n_photos == 0)
		return cli_usage_error(cli, "--upload-stop-after is for uploads: give --photo");
	if (a->text != NULL && strcmp(a->text, "-") == 0 &&
	    (rc = read_stdin_text(cli, a)) != CLI_EXIT_OK)
		return rc;
	if (a->text != NULL && *a->text == '\0')
		return cli_usage_error(cli, "the text is empty");
	if (a->text != NULL && strlen(a->text) > TEXT_MAX)
		return cli_usage_error(cli, "the text is longer than %d bytes", TEXT_MAX);
	if (a->client_id[0] == '\0') {
		if (rkc_uuid_v4(a->client_id) != 0)
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot make a client id: the random "
			                                    "number generator failed");
		a->own_client_id = 1;
	}
	return -1;
}

static void
args_free(struct args *a)
{
	free(a->text_buf);
	a->text_buf = NULL;
	for (size_t i = 0; i < a->n_to; i++)
		free(a->to_buf[i]);
	a->n_to = 0;
}

/* ---- board */

int
cli_cmd_board(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "before", required_argument, NULL, OPT_BEFORE },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__TimelineRequest tr = RENKEI__V1__TIMELINE_REQUEST__INIT;
	Renkei__V1__TimelineResponse *r;
	struct cli_post_ctx ctx;
	struct args a;
	json_t *list;
	uint64_t edge;
	size_t i;
	int rc;

	if ((rc = parse_args(cli, argc, argv, opts, 0, &a)) != -1)
		return rc;
	tr.patient = (char *)a.arg;
	tr.before_seq = a.before;
	tr.after_seq = a.after;
	tr.limit = a.limit;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	req.timeline_request = &tr;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	r = resp->timeline_response;
	/* the next page: older than the oldest here, or newer than the newest */
	edge = 0;
	for (i = 0; i < r->n_posts; i++)
		if (edge == 0 || (a.after != 0 ? r->posts[i]->seq > edge : r->posts[i]->seq < edge))
			edge = r->posts[i]->seq;
	if (cli->json) {
		list = json_array();
		for (i = 0; i < r->n_posts; i++)
			json_array_append_new(list, cli_json_post(r->posts[i]));
		cli_json_print(cli, json_pack("{s:o,s:o,s:b,s:I,s:o}", "patient",
		                              cli_json_str(a.arg), "posts", list, "more", r->more,
		                              "last_seq", (json_int_t)r->last_seq, "next",
		                              r->more && edge != 0
		                                      ? json_pack("{s:I}",
		                                                  a.after ? "after" : "before",
		                                                  (json_int_t)edge)
		                                      : json_null()));
		goto out;
	}
	if (r->n_posts == 0)
		printf(a.before || a.after ? "No posts there.\n" : "No posts yet.\n");
	ctx.posts = r->posts;
	ctx.n = r->n_posts;
	ctx.show_patient = 0;
	for (i = 0; i < r->n_posts; i++) {
		if (i > 0)
			fputc('\n', stdout);
		cli_post_print(r->posts[i], &ctx);
	}
	if (r->more && edge != 0) {
		printf("\nmore: %s board ", cli->prog);
		cli_print_scrubbed(stdout, a.arg);
		printf(" --%s %llu\n", a.after ? "after" : "before", (unsigned long long)edge);
	}
out:
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

/* ---- post, amend, retract */

enum write_kind { W_POST, W_AMEND, W_RETRACT };

/* Print the answer to a write:
 *   posted #12 (id 45)                  already posted (#12, id 45)
 *   amended id 45: new version #13 (id 47)
 *   retracted id 45 (retraction #14, id 48)
 * ("already " in front when the post existed before this run). */
static void
print_written(struct cli *cli, const struct args *a, const Renkei__V1__PostResponse *r,
              enum write_kind w)
{
	const Renkei__V1__Post *p = r->post;
	unsigned long long seq = (unsigned long long)p->seq, id = (unsigned long long)p->id;
	const char *already = r->duplicate && !a->own_client_id ? "already " : "";

	if (cli->json) {
		cli_json_print(cli, json_pack("{s:o,s:b}", "post", cli_json_post(p), "duplicate",
		                              r->duplicate));
		return;
	}
	switch (w) {
	case W_POST:
		if (*already)
			printf("already posted (#%llu, id %llu)\n", seq, id);
		else
			printf("posted #%llu (id %llu)\n", seq, id);
		cli_attachments_print(p, "    ");
		break;
	case W_AMEND:
		printf("%samended id %llu: new version #%llu (id %llu)\n", already,
		       (unsigned long long)p->amends_post_id, seq, id);
		break;
	case W_RETRACT:
		printf("%sretracted id %llu (retraction #%llu, id %llu)\n", already,
		       (unsigned long long)p->retracts_post_id, seq, id);
		break;
	}
}

/* Send a write and print its answer. *c: a connection to use (or NULL);
 * closed here. */
static int
write_post(struct cli *cli, struct args *a, Renkei__V1__Envelope *req, enum write_kind w,
           struct rkc **c)
{
	Renkei__V1__Envelope *resp = NULL;
	int rc;

	rc = cli_request_on(cli, c, req, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE, &resp,
	                    CLI_RETRIES);
	rkc_close(*c);
	*c = NULL;
	if (rc != CLI_EXIT_OK)
		return rc;
	if (resp->post_response->post == NULL)
		rc = cli_fail(cli, CLI_EXIT_SERVER, "the server answered without the post");
	else
		print_written(cli, a, resp->post_response, w);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return rc;
}

int
cli_cmd_post(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", required_argument, NULL, OPT_TEXT },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "visibility", required_argument, NULL, OPT_VIS },
		{ "urgent", no_argument, NULL, OPT_URGENT },
		{ "vitals", required_argument, NULL, OPT_VITALS },
		{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
		{ "photo", required_argument, NULL, OPT_PHOTO },
		{ "upload-stop-after", required_argument, NULL, OPT_STOP_AFTER },
		{ "to", required_argument, NULL, OPT_TO },
		{ "request", no_argument, NULL, OPT_REQUEST },
		{ "owner", required_argument, NULL, OPT_OWNER },
		{ "due", required_argument, NULL, OPT_DUE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cr = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	uint64_t ids[CLI_PHOTOS_MAX];
	struct cli_upload up;
	struct rkc *c = NULL;
	struct args a;
	int rc;

	if ((rc = parse_args(cli, argc, argv, opts, 0, &a)) != -1)
		goto out;
	if (a.text == NULL) {
		rc = cli_usage_error(cli, "missing --text TEXT (or --text - to read it from stdin)");
		goto out;
	}
	cr.patient = (char *)a.arg;
	cr.client_id = a.client_id;
	cr.kind = a.kind;
	cr.visibility = a.visibility;
	cr.urgent = a.urgent;
	cr.text = (char *)a.text;
	cr.vitals = a.has_vitals ? &a.vitals : NULL;
	cr.n_to = a.n_to;
	cr.to = a.to_buf;
	cr.request = a.request;
	cr.owner = (char *)(a.owner != NULL ? a.owner : "");
	cr.due_at_ms = a.due_ms;
	if (a.n_photos > 0) {
		/* photos first: the post goes out only with all of them */
		up.patient = a.arg;
		up.client_id = a.client_id;
		up.paths = a.photos;
		up.n = a.n_photos;
		up.stop_after = a.stop_after;
		rc = cli_upload_photos(cli, &up, &c, ids);
		if (rc != CLI_EXIT_OK) {
			rkc_close(c);
			goto out;
		}
		cr.attachment_ids = ids;
		cr.n_attachment_ids = a.n_photos;
	}
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &cr;
	rc = write_post(cli, &a, &req, W_POST, &c);
out:
	args_free(&a);
	return rc;
}

int
cli_cmd_amend(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", required_argument, NULL, OPT_TEXT },
		{ "urgent", no_argument, NULL, OPT_URGENT },
		{ "vitals", required_argument, NULL, OPT_VITALS },
		{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AmendPostRequest ar = RENKEI__V1__AMEND_POST_REQUEST__INIT;
	struct rkc *c = NULL;
	struct args a;
	int rc;

	if ((rc = parse_args(cli, argc, argv, opts, 1, &a)) != -1)
		goto out;
	if (a.text == NULL) {
		rc = cli_usage_error(cli, "missing --text TEXT: the corrected text, in full");
		goto out;
	}
	ar.post_id = a.post_id;
	ar.client_id = a.client_id;
	ar.text = (char *)a.text;
	ar.urgent = a.urgent;
	ar.vitals = a.has_vitals ? &a.vitals : NULL;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AMEND_POST_REQUEST;
	req.amend_post_request = &ar;
	rc = write_post(cli, &a, &req, W_AMEND, &c);
out:
	args_free(&a);
	return rc;
}

int
cli_cmd_retract(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__RetractPostRequest rr = RENKEI__V1__RETRACT_POST_REQUEST__INIT;
	struct rkc *c = NULL;
	struct args a;
	int rc;

	if ((rc = parse_args(cli, argc, argv, opts, 1, &a)) != -1)
		goto out;
	if (a.reason == NULL || *a.reason == '\0') {
		rc = cli_usage_error(cli, "missing --reason TEXT: say why the post is retracted");
		goto out;
	}
	rr.post_id = a.post_id;
	rr.client_id = a.client_id;
	rr.reason = (char *)a.reason;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST;
	req.retract_post_request = &rr;
	rc = write_post(cli, &a, &req, W_RETRACT, &c);
out:
	args_free(&a);
	return rc;
}

/* ---- acks */

static const struct option post_only_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

int
cli_cmd_ack(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__AckRequest ar = RENKEI__V1__ACK_REQUEST__INIT;
	int64_t at;
	char when[64], utc[64];
	struct args a;
	int rc;

	if ((rc = parse_args(cli, argc, argv, post_only_opts, 1, &a)) != -1)
		goto out;
	ar.post_id = a.post_id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST;
	req.ack_request = &ar;
	/* confirming twice keeps the first time: safe to repeat */
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE, &resp, CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		goto out;
	at = resp->ack_response->acked_at_ms;
	if (cli->json) {
		cli_time_utc(at, utc, sizeof utc);
		cli_json_print(cli, json_pack("{s:I,s:s,s:I}", "post_id", (json_int_t)a.post_id,
		                              "acked_at", utc, "acked_at_ms", (json_int_t)at));
	} else {
		cli_time_local(at, when, sizeof when);
		printf("confirmed id %llu (at %s)\n", (unsigned long long)a.post_id, when);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
out:
	args_free(&a);
	return rc;
}

static void
user_cells(const Renkei__V1__User *u, const char **row)
{
	row[0] = u != NULL ? u->display_name : "?";
	row[1] = u != NULL ? u->login : "?";
	row[2] = u != NULL ? cli_profession_text(u->profession) : "";
	row[3] = u != NULL && u->organisation != NULL ? u->organisation->name : "-";
}

int
cli_cmd_acks(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "NAME", "LOGIN", "PROFESSION", "ORGANISATION",
		                            "CONFIRMED AT" };
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__AckListRequest lr = RENKEI__V1__ACK_LIST_REQUEST__INIT;
	Renkei__V1__AckListResponse *r;
	struct cli_table *t;
	const char *row[5];
	char when[64], utc[64];
	json_t *acked, *pending;
	struct args a;
	size_t i;
	int rc;

	if ((rc = parse_args(cli, argc, argv, post_only_opts, 1, &a)) != -1)
		goto out;
	lr.post_id = a.post_id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_LIST_REQUEST;
	req.ack_list_request = &lr;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_ACK_LIST_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		goto out;
	r = resp->ack_list_response;
	if (cli->json) {
		acked = json_array();
		pending = json_array();
		for (i = 0; i < r->n_acked; i++) {
			cli_time_utc(r->acked[i]->acked_at_ms, utc, sizeof utc);
			json_array_append_new(acked, json_pack("{s:o,s:s,s:I}", "user",
			                                       cli_json_user(r->acked[i]->user),
			                                       "acked_at", utc, "acked_at_ms",
			                                       (json_int_t)r->acked[i]->acked_at_ms));
		}
		for (i = 0; i < r->n_pending; i++)
			json_array_append_new(pending, cli_json_user(r->pending[i]));
		cli_json_print(cli, json_pack("{s:I,s:o,s:o}", "post_id", (json_int_t)a.post_id,
		                              "acked", acked, "pending", pending));
		goto free_resp;
	}
	printf("Confirmed (%zu):\n", r->n_acked);
	if (r->n_acked > 0) {
		t = cli_table_new(5, head, NULL);
		for (i = 0; i < r->n_acked; i++) {
			user_cells(r->acked[i]->user, row);
			cli_time_short(r->acked[i]->acked_at_ms, when, sizeof when);
			row[4] = when;
			cli_table_add(t, row);
		}
		cli_table_print(t, stdout, "  ");
		cli_table_free(t);
	}
	printf("Pending (%zu):\n", r->n_pending);
	if (r->n_pending > 0) {
		t = cli_table_new(4, head, NULL);
		for (i = 0; i < r->n_pending; i++) {
			user_cells(r->pending[i], row);
			cli_table_add(t, row);
		}
		cli_table_print(t, stdout, "  ");
		cli_table_free(t);
	}
free_resp:
	renkei__v1__envelope__free_unpacked(resp, NULL);
out:
	args_free(&a);
	return rc;
}

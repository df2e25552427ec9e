/*
 * renkei inbox, renkei done: what is addressed to me (宛先), asked of me
 * (依頼), and my requests that are late; marking a request done.
 * Confirming (確認) an addressed post is `renkei ack POST`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
parse_limit(struct cli *cli, const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 500)
		return cli_usage_error(cli, "--limit takes a number from 1 to 500");
	*out = (uint32_t)v;
	return CLI_EXIT_OK;
}

static void
print_list(const char *title, const char *hint, const char *none, Renkei__V1__Post **posts,
           size_t n)
{
	struct cli_post_ctx ctx = { NULL, 0, 1 };

	printf("%s (%zu)%s%s:\n", title, n, n > 0 && hint != NULL ? " — " : "",
	       n > 0 && hint != NULL ? hint : "");
	if (n == 0)
		printf("  %s\n", none);
	for (size_t i = 0; i < n; i++)
		cli_post_print(posts[i], &ctx);
}

static json_t *
json_list(Renkei__V1__Post **posts, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cli_json_post(posts[i]));
	return a;
}

int
cli_cmd_inbox(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__InboxRequest ir = RENKEI__V1__INBOX_REQUEST__INIT;
	Renkei__V1__InboxResponse *r;
	int ch, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if ((rc = parse_limit(cli, optarg, &ir.limit)) != CLI_EXIT_OK)
				return rc;
			break;
		case 'h':
			return cli_command_help(cli);
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_INBOX_REQUEST;
	req.inbox_request = &ir;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_INBOX_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	r = resp->inbox_response;
	if (cli->json) {
		cli_json_print(cli, json_pack("{s:o,s:o,s:o,s:b}", "addressed",
		                              json_list(r->addressed, r->n_addressed),
		                              "requests", json_list(r->requests, r->n_requests),
		                              "overdue", json_list(r->overdue, r->n_overdue),
		                              "more", r->more));
	} else {
		print_list("Addressed to me, not yet confirmed", "renkei ack POST confirms one",
		           "nothing", r->addressed, r->n_addressed);
		print_list("Requests for me, open", "renkei done POST when one is done", "none",
		           r->requests, r->n_requests);
		print_list("My requests past their due time", NULL, "none", r->overdue,
		           r->n_overdue);
		if (r->more)
			printf("(more than %u in a list: --limit shows more)\n",
			       ir.limit ? ir.limit : 100);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

int
cli_cmd_done(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__RequestDoneRequest dr = RENKEI__V1__REQUEST_DONE_REQUEST__INIT;
	Renkei__V1__RequestDoneResponse *r;
	char when[64], utc[64], *end;
	unsigned long long id;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_command_help(cli);
	if (argc != 2)
		return cli_usage_error(cli, argc < 2 ? "missing POST (the request's id)"
		                                     : "give one POST");
	id = strtoull(argv[1], &end, 10);
	if (argv[1][0] < '1' || argv[1][0] > '9' || *end != '\0' || id > INT64_MAX)
		return cli_usage_error(cli, "POST is a post id (a number), not '%s'", argv[1]);
	dr.post_id = id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_REQUEST;
	req.request_done_request = &dr;
	/* done twice keeps the first time: safe to repeat */
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	r = resp->request_done_response;
	if (cli->json) {
		cli_time_utc(r->done_at_ms, utc, sizeof utc);
		cli_json_print(cli, json_pack("{s:I,s:s,s:I,s:b}", "post_id", (json_int_t)id,
		                              "done_at", utc, "done_at_ms",
		                              (json_int_t)r->done_at_ms, "already", r->already));
	} else {
		cli_time_local(r->done_at_ms, when, sizeof when);
		printf("request id %llu %s done (at %s)\n", id, r->already ? "was already" : "marked",
		       when);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

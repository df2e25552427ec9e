/*
 * `renkei sessions`: my open sessions (device, address, last use) and
 * `renkei sessions revoke ID`, which ends one of them at once on every
 * connection using it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
sessions_list(struct cli *cli)
{
	static const char *const head[] = {"ID",    "DEVICE",   "ADDRESS",
	                                   "SINCE", "LAST USE", ""};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__ListSessionsRequest lr =
	    RENKEI__V1__LIST_SESSIONS_REQUEST__INIT;
	Renkei__V1__ListSessionsResponse *r;
	struct cli_table *t;
	int rc;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_REQUEST;
	req.list_sessions_request = &lr;
	rc = cli_request(cli, &req,
	                 RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_RESPONSE,
	                 &resp, CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	r = resp->list_sessions_response;
	if (cli->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < r->n_sessions; i++) {
			const Renkei__V1__SessionInfo *s = r->sessions[i];
			json_array_append_new(
			    arr,
			    json_pack(
			        "{s:I,s:o,s:o,s:I,s:I,s:b,s:b}", "session_id",
			        (json_int_t)s->session_id, "device",
			        cli_json_str(s->device), "address",
			        cli_json_str(s->address), "created_at_ms",
			        (json_int_t)s->created_at_ms, "last_used_at_ms",
			        (json_int_t)s->last_used_at_ms, "current",
			        s->current, "device_key", s->device_key));
		}
		cli_json_print(cli, json_pack("{s:o}", "sessions", arr));
		goto out;
	}
	t = cli_table_new(6, head, "rlllll");
	for (size_t i = 0; i < r->n_sessions; i++) {
		const Renkei__V1__SessionInfo *s = r->sessions[i];
		char id[24], since[64], last[64];
		const char *cells[6];

		snprintf(id, sizeof id, "%" PRId64, s->session_id);
		cli_time_local(s->created_at_ms, since, sizeof since);
		cli_time_local(s->last_used_at_ms, last, sizeof last);
		cells[0] = id;
		cells[1] = s->device;
		cells[2] = s->address;
		cells[3] = since;
		cells[4] = last;
		cells[5] = s->current       ? "(this one)"
		           : !s->device_key ? "(no device key)"
		                            : "";
		cli_table_add(t, cells);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	printf("%zu open session%s. End one with '%s sessions revoke ID'.\n",
	       r->n_sessions, r->n_sessions == 1 ? "" : "s", cli->prog);
out:
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int
sessions_revoke(struct cli *cli, const char *arg)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__RevokeSessionRequest rr =
	    RENKEI__V1__REVOKE_SESSION_REQUEST__INIT;
	struct rkc *c = NULL;
	char *end;
	long long id;
	int rc;

	errno = 0;
	id = strtoll(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || id <= 0)
		return cli_usage_error(
		    cli, "session ID must be a positive number, not '%s'", arg);
	rr.session_id = id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_REQUEST;
	req.revoke_session_request = &rr;
	/* Not retried on a new connection: a second try after a lost answer
	 * would say NOT_FOUND for a session that was ended by the first. */
	rc = cli_open_session(cli, &c);
	if (rc == CLI_EXIT_OK)
		rc = cli_call(
		    cli, c, &req,
		    RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_RESPONSE, &resp);
	if (rc == CLI_EXIT_OK) {
		int current = resp->revoke_session_response->current;

		/* This configuration's own session: nothing left to cache. */
		if (current) {
			rc = cli_session_remove(cli);
			if (rc == -1)
				rc = CLI_EXIT_OK;
		}
		if (rc == CLI_EXIT_OK && cli->json)
			cli_json_print(cli,
			               json_pack("{s:I,s:b,s:b}", "session_id",
			                         (json_int_t)id, "revoked", 1,
			                         "current", current));
		else if (rc == CLI_EXIT_OK)
			printf("Session %lld ended; its connections were "
			       "closed.%s\n",
			       id,
			       current ? " It was this one: logged out." : "");
	}
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	return rc;
}

int
cli_cmd_sessions(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (ch == 'h')
			return cli_command_help(cli);
		return cli_unknown_option(cli, argv[optind - 1]);
	}
	if (argc - optind == 0)
		return sessions_list(cli);
	if (strcmp(argv[optind], "revoke") == 0) {
		if (argc - optind != 2)
			return cli_usage_error(cli, argc - optind < 2
			                                ? "missing session ID"
			                                : "too many arguments");
		return sessions_revoke(cli, argv[optind + 1]);
	}
	return cli_usage_error(cli, "unknown sessions command '%s'",
	                       argv[optind]);
}

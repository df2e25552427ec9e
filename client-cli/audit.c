/*
 * The auditors' commands (renkei.proto, "audit (auditors only)"):
 *
 *   renkei audit query [--patient CODE] [--user LOGIN] [--org CODE]
 *                      [--action NAME] [--outcome ok|failed] [--since T]
 *                      [--until T] [--limit N] [--after ID] [--all]
 *   renkei audit export ... / pubkey ... / verify ...   (audit_file.c)
 *
 * This file holds the dispatcher and `query`; the time syntax that
 * --since and --until share is in time_arg.c. The server decides who may
 * read the audit trail (auditors only) and records every query; the CLI
 * only passes its PERMISSION_DENIED on (exit 4).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define QUERY_LIMIT_MAX 1000 /* records per page (renkei.proto) */

/* ---- query */

struct query_args {
	Renkei__V1__AuditQueryRequest q;
	int all;
};

static int
parse_query(struct cli *cli, int argc, char **argv, struct query_args *a)
{
	static const struct option opts[] = {
		{ "patient", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "org", required_argument, NULL, 'g' },
		{ "action", required_argument, NULL, 'a' },
		{ "outcome", required_argument, NULL, 'O' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'U' },
		{ "limit", required_argument, NULL, 'l' },
		{ "after", required_argument, NULL, 'A' },
		{ "all", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct timespec now;
	int64_t now_ms, v;
	unsigned long long n;
	char *end;
	int ch;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return cli_command_help(cli);
		case 'p':
			a->q.patient = optarg;
			break;
		case 'u':
			a->q.user = optarg;
			break;
		case 'g':
			a->q.org = optarg;
			break;
		case 'a':
			a->q.action = optarg;
			break;
		case 'O':
			if (strcmp(optarg, "ok") == 0)
				a->q.outcome = RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SUCCESS;
			else if (strcmp(optarg, "failed") == 0)
				a->q.outcome = RENKEI__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FAILURE;
			else
				return cli_usage_error(cli, "--outcome is ok or failed, not '%s'",
				                       optarg);
			break;
		case 's':
		case 'U':
			if (cli_time_parse(optarg, ch == 'U', now_ms, &v) != 0)
				return cli_usage_error(cli, "bad --%s '%s': use e.g. 2026-11-15, "
				                            "2026-11-15T09:00, 7d, 24h or 30m",
				                       ch == 's' ? "since" : "until", optarg);
			if (ch == 's')
				a->q.since_ms = v;
			else
				a->q.until_ms = v;
			break;
		case 'l':
		case 'A':
			n = strtoull(optarg, &end, 10);
			if (!isdigit((unsigned char)*optarg) || *end != '\0' || n == 0 ||
			    (ch == 'l' && n > QUERY_LIMIT_MAX) || n > INT64_MAX)
				return ch == 'l' ? cli_usage_error(cli, "--limit takes a number from "
				                                        "1 to %d",
				                                   QUERY_LIMIT_MAX)
				                 : cli_usage_error(cli, "--after takes a record id");
			if (ch == 'l')
				a->q.limit = (uint32_t)n;
			else
				a->q.after_id = n;
			break;
		case 'x':
			a->all = 1;
			break;
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (a->q.since_ms != 0 && a->q.until_ms != 0 && a->q.until_ms <= a->q.since_ms)
		return cli_usage_error(cli, "--until must come after --since");
	return -1;
}

static const char *
outcome_text(Renkei__V1__Code code)
{
	return code == RENKEI__V1__CODE__OK ? "ok" : rkc_code_name(code);
}

static json_t *
json_record(const Renkei__V1__AuditRecord *r)
{
	char when[64];

	cli_time_utc(r->time_ms, when, sizeof when);
	return json_pack("{s:I,s:s,s:I,s:o,s:s,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o}", "id",
	                 (json_int_t)r->id, "time", when, "time_ms", (json_int_t)r->time_ms,
	                 "actor_login", cli_json_str(r->actor_login), "actor_profession",
	                 cli_profession_name(r->actor_profession), "actor_org",
	                 cli_json_str(r->actor_org), "session_id", (json_int_t)r->session_id,
	                 "address", cli_json_str(r->address), "device", cli_json_str(r->device),
	                 "action", cli_json_str(r->action), "patient", cli_json_str(r->patient),
	                 "object", cli_json_str(r->object), "outcome",
	                 rkc_code_name(r->outcome), "reason", cli_json_str(r->reason), "hash",
	                 cli_json_str(r->hash));
}

static void
table_record(struct cli_table *t, const Renkei__V1__AuditRecord *r)
{
	char id[24], when[64], actor[256];
	const char *row[11];
	time_t secs = (time_t)(r->time_ms / 1000);
	struct tm tm;

	snprintf(id, sizeof id, "%llu", (unsigned long long)r->id);
	/* seconds matter in an audit trail: cli_time_short has none */
	if (localtime_r(&secs, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof when, "%lld", (long long)r->time_ms);
	if (r->actor_profession != RENKEI__V1__PROFESSION__PROFESSION_UNSPECIFIED)
		snprintf(actor, sizeof actor, "%s (%s)", r->actor_login,
		         cli_profession_text(r->actor_profession));
	else
		snprintf(actor, sizeof actor, "%s", *r->actor_login ? r->actor_login : "-");
	row[0] = id;
	row[1] = when;
	row[2] = actor;
	row[3] = r->actor_org;
	row[4] = r->address;
	row[5] = r->device;
	row[6] = r->action;
	row[7] = r->patient;
	row[8] = r->object;
	row[9] = outcome_text(r->outcome);
	row[10] = r->reason;
	cli_table_add(t, row);
}

static int
audit_query(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "ID",      "TIME",    "ACTOR",  "ORG",
		                            "ADDRESS", "DEVICE",  "ACTION", "PATIENT",
		                            "OBJECT",  "OUTCOME", "REASON" };
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__AuditQueryResponse *r;
	struct query_args a;
	struct cli_table *t = NULL;
	struct rkc *c = NULL;
	json_t *list = NULL;
	uint64_t last = 0;
	size_t i, count = 0;
	int more = 0, rc;

	memset(&a, 0, sizeof a);
	renkei__v1__audit_query_request__init(&a.q);
	if ((rc = parse_query(cli, argc, argv, &a)) != -1)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST;
	req.audit_query_request = &a.q;
	if (cli->json)
		list = json_array();
	else
		t = cli_table_new(11, head, "rllllllllll");
	/* pages by after_id on one connection; each page is a read, so a
	 * lost connection is retried from the page it was on */
	do {
		rc = cli_request_on(cli, &c, &req, RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE,
		                    &resp, CLI_RETRIES);
		if (rc != CLI_EXIT_OK)
			goto out;
		r = resp->audit_query_response;
		for (i = 0; i < r->n_records; i++) {
			if (list != NULL)
				json_array_append_new(list, json_record(r->records[i]));
			else
				table_record(t, r->records[i]);
			last = r->records[i]->id;
		}
		count += r->n_records;
		/* a page without records cannot move after_id on */
		more = r->more && r->n_records > 0;
		a.q.after_id = last;
		renkei__v1__envelope__free_unpacked(resp, NULL);
	} while (a.all && more);
	if (list != NULL) {
		cli_json_print(cli, list);
		list = NULL;
		if (more)
			fprintf(stderr, "%s: more records: add --after %llu, or --all\n", cli->prog,
			        (unsigned long long)last);
	} else if (count == 0) {
		printf("No audit records match.\n");
	} else {
		cli_table_print(t, stdout, "");
		if (more)
			printf("\nmore: add --after %llu for the next page, or --all for every "
			       "page\n",
			       (unsigned long long)last);
	}
out:
	rkc_close(c);
	json_decref(list);
	if (t != NULL)
		cli_table_free(t);
	return rc;
}

/* ---- dispatch */

int
cli_cmd_audit(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(cli, "missing what to do: query, export, pubkey or verify");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_command_help(cli);
	if (strcmp(argv[1], "query") == 0)
		return audit_query(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cli_audit_export(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "pubkey") == 0)
		return cli_audit_pubkey(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cli_audit_verify(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown 'audit %s': use query, export, pubkey or verify",
	                       argv[1]);
}

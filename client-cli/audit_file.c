/*
 * Audit files: export a time range, fetch the public key, and verify an
 * export offline.
 *
 *   renkei audit export [--since T] [--until T] [--format jsonl|csv] -o FILE
 *   renkei audit pubkey [-o FILE]
 *   renkei audit verify FILE --pubkey KEY
 *
 * Export. The server makes the whole export at offset 0 and keeps it on
 * that connection only, handing it out in chunks by offset. So a lost
 * connection cannot resume half-way: the export starts again from
 * offset 0 on a new connection (the file is rewound), up to CLI_RETRIES
 * times. The file appears under its name only when complete.
 *
 * Verify. Runs with no server, no login and no configuration: only the
 * export and the public key. It is the server's own verifier (the
 * library renkei_auditfmt: server/audit/canon.c and verify_export.c,
 * linked into this program), so the CLI and the server can never
 * disagree on what a valid export is. Exit 0 when the export verifies,
 * 1 when it does not (or cannot be read).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/verify_export.h"
#include "cli.h"
#include "util/err.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One attempt at fetching the export into out. Exit status, reported
 * except CLI_EXIT_CONNECT (transport: why). */
static int
export_once(struct cli *cli, struct rkc *c, Renkei__V1__AuditExportRequest *er,
            struct cli_outfile *out, int64_t *records, char *why, size_t whylen)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__AuditExportResponse *r;
	struct cli_progress bar;
	uint64_t offset = 0, total = 0;
	const char *problem;
	int rc, more = 1;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST;
	req.audit_export_request = er;
	memset(&bar, 0, sizeof bar);
	while (more) {
		er->offset = offset;
		if (cli_call_quiet(c, &req, &resp, why, whylen) != CLI_EXIT_OK) {
			return CLI_EXIT_CONNECT;
		}
		if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
		    resp->error->code == RENKEI__V1__CODE__UNAVAILABLE) {
			snprintf(why, whylen, "the server is unavailable: %s", resp->error->message);
			renkei__v1__envelope__free_unpacked(resp, NULL);
			return CLI_EXIT_CONNECT;
		}
		if ((rc = cli_check_answer(cli, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE,
		                           &resp)) != CLI_EXIT_OK) {
			return rc;
		}
		r = resp->audit_export_response;
		if (offset == 0) {
			total = r->total;
			*records = r->records;
			cli_progress_start(cli, &bar, "audit export", total, 0);
		}
		problem = r->offset != offset                     ? "a chunk from the wrong offset"
		          : r->total != total                     ? "a different size half-way"
		          : r->data.len > total - offset          ? "more bytes than the export has"
		          : r->more && r->data.len == 0           ? "an empty chunk"
		          : !r->more && offset + r->data.len != total ? "fewer bytes than it said"
		                                                  : NULL;
		rc = problem != NULL
		             ? cli_fail(cli, CLI_EXIT_SERVER, "the server sent %s", problem)
		             : cli_outfile_write(cli, out, r->data.data, r->data.len);
		offset += r->data.len;
		more = r->more;
		renkei__v1__envelope__free_unpacked(resp, NULL);
		if (rc != CLI_EXIT_OK) {
			return rc;
		}
		cli_progress_update(&bar, offset);
	}
	cli_progress_end(&bar);
	return CLI_EXIT_OK;
}

static int
export_run(struct cli *cli, Renkei__V1__AuditExportRequest *er, const char *file)
{
	struct cli_outfile out;
	struct rkc *c = NULL;
	int64_t records = 0;
	char why[1024];
	int attempt, rc, pause_ms = CLI_RETRY_FIRST_MS;

	if ((rc = cli_outfile_open(cli, &out, file)) != CLI_EXIT_OK)
		return rc;
	for (attempt = 0;; attempt++) {
		if (attempt > 0 && (rc = cli_outfile_rewind(cli, &out)) != CLI_EXIT_OK)
			break;
		rc = cli_open_session_quiet(cli, &c, NULL, 0, why, sizeof why);
		if (rc == CLI_EXIT_OK)
			rc = export_once(cli, c, er, &out, &records, why, sizeof why);
		if (rc != CLI_EXIT_CONNECT)
			break;
		rkc_abort(c);
		c = NULL;
		if ((rc = cli_retry_wait(cli, why, attempt, CLI_RETRIES, &pause_ms)) != CLI_EXIT_OK)
			break;
	}
	rkc_close(c);
	if (rc == CLI_EXIT_OK)
		rc = cli_outfile_commit(cli, &out, 0600); /* who did what: not for everyone */
	if (rc != CLI_EXIT_OK) {
		cli_outfile_abort(&out);
		return rc;
	}
	if (cli->json) {
		cli_json_print(cli, json_pack("{s:o,s:s,s:I,s:I}", "file", cli_json_str(file),
		                              "format",
		                              er->format == RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_CSV
		                                      ? "csv"
		                                      : "jsonl",
		                              "records", (json_int_t)records, "bytes",
		                              (json_int_t)out.written));
		return CLI_EXIT_OK;
	}
	printf("exported %lld records (%llu bytes) to ", (long long)records,
	       (unsigned long long)out.written);
	cli_print_scrubbed(stdout, file);
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}

int
cli_audit_export(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'U' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "code", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__AuditExportRequest er = RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;
	const char *file = NULL, *given = NULL;
	char code[64];
	int64_t now = now_ms(), v;
	int ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return cli_command_help(cli);
		case 's':
		case 'U':
			if (cli_time_parse(optarg, ch == 'U', now, &v) != 0)
				return cli_usage_error(cli, "bad --%s '%s': use e.g. 2026-11-15, "
				                            "2026-11-15T09:00, 7d, 24h or 30m",
				                       ch == 's' ? "since" : "until", optarg);
			if (ch == 's')
				er.since_ms = v;
			else
				er.until_ms = v;
			break;
		case 'f':
			if (strcmp(optarg, "jsonl") == 0)
				er.format = RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_JSONL;
			else if (strcmp(optarg, "csv") == 0)
				er.format = RENKEI__V1__AUDIT_FORMAT__AUDIT_FORMAT_CSV;
			else
				return cli_usage_error(cli, "--format is jsonl or csv, not '%s'", optarg);
			break;
		case 'o':
			file = optarg;
			break;
		case 'c':
			given = optarg;
			break;
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (file == NULL)
		return cli_usage_error(cli, "missing -o FILE: where to write the export");
	if (er.since_ms != 0 && er.until_ms != 0 && er.until_ms <= er.since_ms)
		return cli_usage_error(cli, "--until must come after --since");
	/* A fresh second-factor code, if I have a factor (step-up). */
	rc = cli_step_up_code(cli, given, code, sizeof code);
	if (rc != CLI_EXIT_OK)
		return rc;
	er.totp_code = code;
	return export_run(cli, &er, file);
}

int
cli_audit_pubkey(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__AuditPublicKeyRequest pr = RENKEI__V1__AUDIT_PUBLIC_KEY_REQUEST__INIT;
	struct cli_outfile out;
	const char *file = NULL, *pem;
	int ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return cli_command_help(cli);
		case 'o':
			file = optarg;
			break;
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST;
	req.audit_public_key_request = &pr;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	pem = resp->audit_public_key_response->pem;
	if (pem == NULL || strstr(pem, "-----BEGIN PUBLIC KEY-----") == NULL) {
		rc = cli_fail(cli, CLI_EXIT_SERVER, "the server has no audit public key to give");
	} else if (file == NULL) {
		/* a public key is no secret: stdout is fine */
		if (cli->json)
			cli_json_print(cli, json_pack("{s:s}", "pem", pem));
		else
			fputs(pem, stdout);
	} else if ((rc = cli_outfile_open(cli, &out, file)) == CLI_EXIT_OK) {
		rc = cli_outfile_write(cli, &out, pem, strlen(pem));
		if (rc == CLI_EXIT_OK)
			rc = cli_outfile_commit(cli, &out, 0644);
		cli_outfile_abort(&out);
		if (rc == CLI_EXIT_OK && cli->json)
			cli_json_print(cli, json_pack("{s:o}", "file", cli_json_str(file)));
		else if (rc == CLI_EXIT_OK) {
			fputs("saved the audit public key to ", stdout);
			cli_print_scrubbed(stdout, file);
			fputc('\n', stdout);
		}
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return rc;
}

int
cli_audit_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit_verify_result res;
	const char *key = NULL, *file;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return cli_command_help(cli);
		case 'k':
			key = optarg;
			break;
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(cli, "missing FILE: the export (JSON Lines) to verify");
	if (argc - optind > 1)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (key == NULL)
		return cli_usage_error(cli, "missing --pubkey KEY: the audit public key (PEM; "
		                            "'audit pubkey' fetches it)");
	file = argv[optind];
	memset(&res, 0, sizeof res);
	if (audit_verify_export(file, key, &res) != RK_OK)
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot verify %s: %s", file,
		                res.why[0] ? res.why : "unknown error");
	if (cli->json) {
		cli_json_print(cli, json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:o}", "ok", res.ok,
		                              "records", (json_int_t)res.records, "checkpoints",
		                              (json_int_t)res.checkpoints, "first_bad_id",
		                              (json_int_t)res.first_bad_id, "bad_checkpoint_id",
		                              (json_int_t)res.bad_checkpoint_id, "last_signed_id",
		                              (json_int_t)res.last_signed_id, "why",
		                              cli_json_str(res.ok ? "" : res.why)));
		return res.ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	if (res.ok) {
		printf("OK: %lld records, %lld checkpoints verified\n", (long long)res.records,
		       (long long)res.checkpoints);
		return CLI_EXIT_OK;
	}
	cli_scrub(res.why); /* it may quote the file's bytes */
	if (res.first_bad_id > 0)
		printf("FAILED: first bad record %lld: %s\n", (long long)res.first_bad_id, res.why);
	else
		printf("FAILED: %s\n", res.why);
	return CLI_EXIT_FAIL;
}

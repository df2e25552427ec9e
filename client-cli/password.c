/*
 * renkei password: change my password (PasswordChangeRequest).
 *
 *   renkei password                  asks the current password, then the
 *                                    new one twice, without echo
 *   renkei password --password-stdin reads two lines: current, new
 *
 * Also the second half of `renkei login` when the server says the
 * password was a one-time one (an admin's, or a family invitation code):
 * cli_password_first asks for the user's own password right away.
 *
 * Passwords are read by secret.c into buffers on the stack, wiped as soon
 * as the request is sent. Never retried behind the user's back: a lost
 * connection may have changed it, and the user decides.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

#define PASSWORD_MAX 1025 /* 1024 bytes and the NUL */
#define FIRST_TRIES 3

static const char rules[] =
	"At least 8 characters for an account with a second factor (every\n"
	"professional), 13 without one; no dictionary word, common password,\n"
	"or your login or name in it.\n";

/* Ask for the new password twice on the terminal, or read one line of
 * stdin. Exit status (reported). */
static int
ask_new(struct cli *cli, int from_stdin, char *buf, size_t len)
{
	char again[PASSWORD_MAX];
	int rc = cli_read_secret(cli, from_stdin, "New password: ", "new password", buf, len);

	if (rc != CLI_EXIT_OK || !cli_secret_tty(from_stdin))
		return rc;
	rc = cli_read_secret(cli, from_stdin, "New password again: ", "new password", again,
	                     sizeof again);
	if (rc == CLI_EXIT_OK && strcmp(buf, again) != 0)
		rc = cli_fail(cli, CLI_EXIT_USAGE, "the two new passwords differ; nothing was changed");
	OPENSSL_cleanse(again, sizeof again);
	if (rc != CLI_EXIT_OK)
		OPENSSL_cleanse(buf, len);
	return rc;
}

/* Send the change on c: CLI_EXIT_OK with the answer in *resp (the
 * response or an Error; caller frees), or CLI_EXIT_CONNECT with the
 * reason in why (nothing reported). */
static int
change(struct rkc *c, const char *old_pw, const char *new_pw,
       Renkei__V1__Envelope **resp, char *why, size_t whylen)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__PasswordChangeRequest pc = RENKEI__V1__PASSWORD_CHANGE_REQUEST__INIT;

	pc.old_password = (char *)old_pw;
	pc.new_password = (char *)new_pw;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_REQUEST;
	req.password_change_request = &pc;
	return cli_call_quiet(c, &req, resp, why, whylen);
}

static void
report_changed(struct cli *cli, uint32_t ended)
{
	if (cli->json) {
		cli_json_print(cli, json_pack("{s:b,s:i}", "password_changed", 1,
		                              "sessions_ended", (int)ended));
		return;
	}
	if (ended == 0)
		printf("Password changed.\n");
	else
		printf("Password changed; %u other session%s of yours ended.\n", (unsigned)ended,
		       ended == 1 ? "" : "s");
}

int
cli_password_first(struct cli *cli, struct rkc *c, int from_stdin, const char *one_time)
{
	char new_pw[PASSWORD_MAX], why[256];
	Renkei__V1__Envelope *resp = NULL;
	int rc = CLI_EXIT_OK;

	if (cli->json || !cli_secret_tty(from_stdin)) {
		fprintf(stderr,
		        "%s: this was a one-time password: choose your own with '%s password'\n"
		        "before anything else (this session can do nothing until then).\n",
		        cli->prog, cli->prog);
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "This was a one-time password: choose your own now.\n%s", rules);
	for (int i = 0; i < FIRST_TRIES; i++) {
		rc = ask_new(cli, from_stdin, new_pw, sizeof new_pw);
		if (rc == CLI_EXIT_USAGE)
			continue; /* the two differed: ask again */
		if (rc != CLI_EXIT_OK)
			return rc;
		rc = change(c, one_time, new_pw, &resp, why, sizeof why);
		OPENSSL_cleanse(new_pw, sizeof new_pw);
		if (rc != CLI_EXIT_OK) {
			cli_scrub(why);
			return cli_fail(cli, rc, "%s", why);
		}
		if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE) {
			report_changed(cli, resp->password_change_response->sessions_ended);
			renkei__v1__envelope__free_unpacked(resp, NULL);
			return CLI_EXIT_OK;
		}
		rc = cli_check_answer(cli, RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE,
		                      &resp); /* reports the Error, frees resp */
		/* A rule broken: try another; anything else ends it. */
		if (rc != CLI_EXIT_SERVER && rc != CLI_EXIT_USAGE)
			break;
	}
	fprintf(stderr, "%s: your password is still the one-time one: run '%s password'\n",
	        cli->prog, cli->prog);
	return rc == CLI_EXIT_OK ? CLI_EXIT_FAIL : rc;
}

int
cli_cmd_password(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char old_pw[PASSWORD_MAX], new_pw[PASSWORD_MAX], why[256];
	Renkei__V1__Envelope *resp = NULL;
	struct cli_session s;
	struct rkc *c = NULL;
	int ch, from_stdin = 0, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			from_stdin = 1;
			break;
		case 'h':
			return cli_command_help(cli);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind != 0)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	/* Logged in at all? Say so before asking anything. */
	rc = cli_session_load(cli, &s);
	cli_session_wipe(&s);
	if (rc == -1)
		return cli_fail(cli, CLI_EXIT_FAIL, "not logged in (no cached session)");
	if (rc != CLI_EXIT_OK)
		return rc;

	/* Ask first, then connect: people type slowly. */
	rc = cli_read_secret(cli, from_stdin, "Current password: ", "current password", old_pw,
	                     sizeof old_pw);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli_secret_tty(from_stdin))
		fputs(rules, stderr);
	rc = ask_new(cli, from_stdin, new_pw, sizeof new_pw);
	if (rc == CLI_EXIT_OK)
		rc = cli_open_session(cli, &c);
	if (rc == CLI_EXIT_OK) {
		rc = change(c, old_pw, new_pw, &resp, why, sizeof why);
		if (rc != CLI_EXIT_OK) {
			cli_scrub(why);
			rc = cli_fail(cli, rc, "%s (the password may or may not have changed)", why);
		} else {
			rc = cli_check_answer(cli, RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE,
			                      &resp);
			if (rc == CLI_EXIT_OK)
				report_changed(cli, resp->password_change_response->sessions_ended);
		}
	}
	OPENSSL_cleanse(old_pw, sizeof old_pw);
	OPENSSL_cleanse(new_pw, sizeof new_pw);
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	return rc;
}

/*
 * Session commands: login, logout, whoami.
 *
 * The password is read by secret.c (no stdio, no echo) into one buffer
 * that is wiped as soon as the login request is sent — or, when it was a
 * one-time password the server asks to change (CHANGE_PASSWORD), once it
 * has served as the current password of that change (password.c).
 *
 * Second factor: when the server answers that a code is needed
 * (UNAUTHENTICATED, field "totp_code") and none was given with --code or
 * --recovery-code, the code is asked for: on a terminal with a prompt; with
 * --password-stdin, the next line of stdin (so a script pipes
 * "PASSWORD\nCODE\n"). What looks like xxxxx-xxxxx is sent as a recovery
 * code, anything else as a TOTP code. The login is then sent again on a
 * new connection (the first may have used up its time to log in).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

#define PASSWORD_MAX 1024

/* Read the password: from the terminal without echo, or one line of
 * stdin. Returns CLI_EXIT_OK, or an exit status (reported). */
static int
read_password(struct cli *cli, int from_stdin, const char *login, char *buf, size_t len)
{
	char prompt[200];

	snprintf(prompt, sizeof prompt, "Password for %s: ", login);
	return cli_read_secret(cli, from_stdin, prompt, "password", buf, len);
}

/* A sign-in step still to do, for JSON and for people. */
static const char *
pending_name(Renkei__V1__SignInStep step)
{
	switch (step) {
	case RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD:
		return "CHANGE_PASSWORD";
	case RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR:
		return "ENROL_SECOND_FACTOR";
	default:
		return "UNKNOWN";
	}
}

static const char *
pending_text(Renkei__V1__SignInStep step)
{
	switch (step) {
	case RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD:
		return "choose your own password (renkei password)";
	case RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR:
		return "enrol a second factor";
	default:
		return "a sign-in step this client does not know";
	}
}

/* A recovery code is two groups of five around a '-'. */
static int
looks_like_recovery(const char *s)
{
	return strlen(s) == 11 && s[5] == '-';
}

/* Ask for the second factor (the server said one is needed). */
static int
read_code(struct cli *cli, int from_stdin, const char *login, char *buf, size_t len)
{
	int n;

	if (!from_stdin && isatty(STDIN_FILENO)) {
		fprintf(stderr, "Code from your authenticator app for %s (or a recovery code): ",
		        login);
		fflush(stderr);
	}
	n = cli_read_line(buf, len);
	if (n == -2)
		return cli_usage_error(cli, "code too long");
	if (n <= 0)
		return cli_fail(cli, CLI_EXIT_AUTH,
		                "a second-factor code is needed for %s: give --code CODE (or "
		                "--recovery-code CODE), or type it when asked",
		                login);
	return CLI_EXIT_OK;
}

/* Is the answer "a code is needed"? */
static int
code_needed(const Renkei__V1__Envelope *e)
{
	return e->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
	       e->error->code == RENKEI__V1__CODE__UNAUTHENTICATED && e->error->field != NULL &&
	       strcmp(e->error->field, "totp_code") == 0 && e->error->message != NULL &&
	       strstr(e->error->message, "needed") != NULL;
}

/* Prove this device to the server on c, for its login throttle (a known
 * device is not made to wait by others' failures at its address): ask c
 * for a nonce and sign it with the login into sig, then point lr at it.
 * Best effort: if the nonce cannot be had the login goes without. */
static void
sign_login(struct rkc *c, const struct rkc_device *key, const char *login,
           Renkei__V1__LoginRequest *lr, uint8_t sig[RKC_SIGNATURE_LEN])
{
	Renkei__V1__Envelope *resp = NULL;
	uint8_t nonce[32];

	lr->device_signature.len = 0;
	if (rkc_resume_challenge(c, CLI_CALL_TIMEOUT_MS, nonce, &resp) != 0) {
		if (resp != NULL)
			renkei__v1__envelope__free_unpacked(resp, NULL);
		return;
	}
	if (rkc_device_sign_login(key, nonce, sizeof nonce, login, sig) == 0) {
		lr->device_signature.data = sig;
		lr->device_signature.len = RKC_SIGNATURE_LEN;
	}
}

/* "小林 由美 (nurse, 石神井たんぽぽ訪問看護ステーション)", scrubbed for the terminal. */
static void
print_user(FILE *f, Renkei__V1__User *u)
{
	if (u == NULL) {
		fputs("(unknown user)", f);
		return;
	}
	cli_scrub(u->display_name);
	cli_scrub(u->login);
	fprintf(f, "%s (%s", u->display_name && *u->display_name ? u->display_name : u->login,
	        cli_profession_text(u->profession));
	if (u->organisation != NULL && u->organisation->name != NULL &&
	    *u->organisation->name != '\0') {
		cli_scrub(u->organisation->name);
		fprintf(f, ", %s", u->organisation->name);
	}
	fputc(')', f);
}

/* Parse the options of a command that takes none but --help. Returns -1
 * to go on, or an exit status. */
static int
no_options(struct cli *cli, int argc, char **argv, int max_args)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			return cli_command_help(cli);
		}
		return cli_unknown_option(cli, argv[optind - 1]);
	}
	if (argc - optind > max_args)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + max_args]);
	return -1;
}

int
cli_cmd_login(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "code", required_argument, NULL, 'c' },
		{ "recovery-code", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	Renkei__V1__LoginResponse *r;
	char password[PASSWORD_MAX], device[300], until[64], *ca_abs = NULL;
	char code[64] = "", why[512];
	const char *url = cli_server_url(cli), *login, *opt_code = NULL, *opt_recovery = NULL;
	struct rkc *c = NULL;
	struct rkc_device *key = NULL;
	uint8_t pub[RKC_DEVICE_KEY_LEN], sig[RKC_SIGNATURE_LEN];
	int ch, from_stdin = 0, rc, enrol = 0, must_change = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			from_stdin = 1;
			break;
		case 'c':
			opt_code = optarg;
			break;
		case 'r':
			opt_recovery = optarg;
			break;
		case 'h':
			return cli_command_help(cli);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, argc - optind == 0 ? "missing LOGIN"
		                                               : "too many arguments");
	login = argv[optind];
	if (*login == '\0')
		return cli_usage_error(cli, "empty LOGIN");
	if (opt_code != NULL && opt_recovery != NULL)
		return cli_usage_error(cli, "give --code or --recovery-code, not both");
	if (cli->opt_ca != NULL) {
		/* saved in the config below: make it work from any folder */
		ca_abs = realpath(cli->opt_ca, NULL);
		if (ca_abs == NULL)
			return cli_usage_error(cli, "cannot read CA file %s: %s", cli->opt_ca,
			                       strerror(errno));
	}

	/* Check what can be checked, then ask, then connect: the server
	 * bounds the time a connection may take to log in, and people type
	 * slowly. */
	rc = cli_check_server(cli, url);
	if (rc == CLI_EXIT_OK) /* a key file others can read: before the password */
		rc = cli_device_key(cli, 1, &key);
	if (rc == CLI_EXIT_OK)
		rc = read_password(cli, from_stdin, login, password, sizeof password);
	if (rc != CLI_EXIT_OK)
		goto out;
	rkc_device_public_key(key, pub);
	rc = cli_connect(cli, url, &c);
	if (rc != CLI_EXIT_OK)
		goto out;
	sign_login(c, key, login, &lr, sig);

	cli_device(device, sizeof device);
	lr.device_key.data = pub;
	lr.device_key.len = sizeof pub;
	lr.login = (char *)login;
	lr.password = password;
	lr.device = device;
	lr.totp_code = (char *)(opt_code != NULL ? opt_code : "");
	lr.recovery_code = (char *)(opt_recovery != NULL ? opt_recovery : "");
	req.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	req.login_request = &lr;
	if (cli_call_quiet(c, &req, &resp, why, sizeof why) != CLI_EXIT_OK) {
		rc = cli_fail(cli, CLI_EXIT_CONNECT, "%s", why);
		goto out;
	}
	if (code_needed(resp) && opt_code == NULL && opt_recovery == NULL) {
		/* The password was right; the account has a second factor. */
		renkei__v1__envelope__free_unpacked(resp, NULL);
		resp = NULL;
		rkc_close(c);
		c = NULL;
		rc = read_code(cli, from_stdin, login, code, sizeof code);
		if (rc == CLI_EXIT_OK)
			rc = cli_connect(cli, url, &c);
		if (rc != CLI_EXIT_OK)
			goto out;
		sign_login(c, key, login, &lr, sig);
		if (looks_like_recovery(code))
			lr.recovery_code = code;
		else
			lr.totp_code = code;
		if (cli_call_quiet(c, &req, &resp, why, sizeof why) != CLI_EXIT_OK) {
			rc = cli_fail(cli, CLI_EXIT_CONNECT, "%s", why);
			goto out;
		}
	}
	OPENSSL_cleanse(code, sizeof code);
	rc = cli_check_answer(cli, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	r = resp->login_response;
	for (size_t i = 0; i < r->n_pending; i++)
		if (r->pending[i] == RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD)
			must_change = 1;
	/* Kept only to serve as the current password of that change. */
	if (!must_change)
		OPENSSL_cleanse(password, sizeof password);
	if (r->token == NULL || *r->token == '\0') {
		rc = cli_fail(cli, CLI_EXIT_SERVER, "the server sent no session token");
		goto out;
	}
	rc = cli_session_save(cli, url, r->token);
	OPENSSL_cleanse(r->token, strlen(r->token));
	if (rc != CLI_EXIT_OK)
		goto out;
	if (cli->opt_server != NULL || ca_abs != NULL) {
		rc = cli_config_save(cli, cli->opt_server, ca_abs);
		if (rc != CLI_EXIT_OK)
			goto out;
	}

	for (size_t i = 0; i < r->n_pending; i++)
		enrol |= r->pending[i] == RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR;
	if (cli->json) {
		json_t *doc = cli_json_session(r->user, r->expires_at_ms, r->idle_timeout_s);
		json_t *steps = json_array();

		json_object_set_new(doc, "server", cli_json_str(url));
		for (size_t i = 0; i < r->n_pending; i++)
			json_array_append_new(
			    steps, json_string(r->pending[i] ==
			                               RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR
			                           ? "enrol_second_factor"
			                       : r->pending[i] == RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD
			                           ? "change_password"
			                           : "unknown"));
		json_object_set_new(doc, "pending", steps);
		json_object_set_new(doc, "second_factor",
		                    json_string(r->second_factor ==
		                                        RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_TOTP
		                                    ? "totp"
		                                : r->second_factor ==
		                                        RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_RECOVERY
		                                    ? "recovery_code"
		                                    : "none"));
		if (r->second_factor == RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_RECOVERY)
			json_object_set_new(doc, "recovery_codes_left",
			                    json_integer(r->recovery_codes_left));
		cli_json_print(cli, doc);
	} else {
		cli_time_local(r->expires_at_ms, until, sizeof until);
		fputs("Logged in as ", stdout);
		print_user(stdout, r->user);
		printf(" until %s\n", until);
		if (r->second_factor == RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_RECOVERY)
			printf("Signed in with a recovery code: %u left. If your authenticator "
			       "app is lost, ask an administrator to reset your second factor.\n",
			       (unsigned)r->recovery_codes_left);
		if (enrol)
			printf("A second factor is required for this account and is not set "
			       "up yet:\nthis session can do nothing until you enrol. Run:\n\n"
			       "  %s 2fa enroll\n",
			       cli->prog);
		fflush(stdout);
	}
	if (must_change)
		rc = cli_password_first(cli, c, from_stdin, password);

out:
	OPENSSL_cleanse(password, sizeof password);
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	rkc_device_free(key);
	free(ca_abs);
	return rc;
}

int
cli_cmd_logout(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__LogoutRequest lo = RENKEI__V1__LOGOUT_REQUEST__INIT;
	struct cli_session s;
	struct rkc *c = NULL;
	int rc;

	if ((rc = no_options(cli, argc, argv, 0)) != -1)
		return rc;
	rc = cli_session_load(cli, &s);
	if (rc == -1)
		return cli_fail(cli, CLI_EXIT_FAIL, "not logged in (no cached session)");
	if (rc != CLI_EXIT_OK)
		return rc;

	/* If the server cannot be reached, keep the cached token: it is
	 * still valid there, and only it can end that session. */
	rc = cli_connect(cli, s.server, &c);
	if (rc == CLI_EXIT_OK)
		rc = cli_resume(cli, c, s.token, &resp);
	cli_session_wipe(&s);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
		if (resp->error->code != RENKEI__V1__CODE__UNAUTHENTICATED) {
			rc = cli_server_error(cli, resp->error);
			goto out;
		}
		/* the session already ended on the server: forget it here */
		rc = cli_session_remove(cli);
		if (rc != CLI_EXIT_OK && rc != -1)
			goto out;
		rc = CLI_EXIT_OK;
		if (cli->json)
			cli_json_print(cli, json_pack("{s:b,s:b}", "logged_out", 1,
			                              "already_ended", 1));
		else
			printf("The session had already ended; removed the cached session.\n");
		goto out;
	}
	if (resp->body_case != RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE) {
		rc = cli_fail(cli, CLI_EXIT_SERVER, "unexpected answer from the server to ResumeRequest");
		goto out;
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	resp = NULL;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST;
	req.logout_request = &lo;
	rc = cli_call(cli, c, &req, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	rc = cli_session_remove(cli);
	if (rc != CLI_EXIT_OK && rc != -1)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json)
		cli_json_print(cli, json_pack("{s:b}", "logged_out", 1));
	else
		printf("Logged out.\n");

out:
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	return rc;
}

int
cli_cmd_whoami(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__WhoAmIRequest wr = RENKEI__V1__WHO_AM_IREQUEST__INIT;
	Renkei__V1__WhoAmIResponse *w;
	Renkei__V1__User *u;
	char until[64];
	struct rkc *c = NULL;
	int rc;

	if ((rc = no_options(cli, argc, argv, 0)) != -1)
		return rc;
	rc = cli_open_session(cli, &c);
	if (rc != CLI_EXIT_OK)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	req.whoami_request = &wr;
	rc = cli_call(cli, c, &req, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	w = resp->whoami_response;
	u = w->user;
	if (cli->json) {
		json_t *doc = cli_json_session(u, w->expires_at_ms, w->idle_timeout_s);
		json_t *steps = json_array();

		for (size_t i = 0; i < w->n_pending; i++)
			json_array_append_new(steps, json_string(pending_name(w->pending[i])));
		json_object_set_new(doc, "pending", steps);
		json_object_set_new(doc, "server", cli_json_str(cli->session_server));
		cli_json_print(cli, doc);
		goto out;
	}
	cli_time_local(w->expires_at_ms, until, sizeof until);
	cli_scrub(cli->session_server);
	if (u != NULL) {
		cli_scrub(u->display_name);
		cli_scrub(u->login);
		printf("%s (%s)\n", *u->display_name ? u->display_name : u->login, u->login);
		printf("  profession:    %s\n", cli_profession_text(u->profession));
		if (u->organisation != NULL) {
			cli_scrub(u->organisation->name);
			cli_scrub(u->organisation->code);
			printf("  organisation:  %s (%s)\n", u->organisation->name,
			       u->organisation->code);
		}
	}
	printf("  session until: %s", until);
	if (w->idle_timeout_s > 0)
		printf(" (ends after %u min unused)", (unsigned)((w->idle_timeout_s + 59) / 60));
	printf("\n  server:        %s\n", cli->session_server);
	for (size_t i = 0; i < w->n_pending; i++)
		printf("  to do first:   %s\n", pending_text(w->pending[i]));

out:
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	return rc;
}

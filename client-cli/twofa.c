/*
 * 2fa: the second factor of the logged-in user.
 *
 *   renkei 2fa enroll   begin enrolment (the server makes the secret),
 *                       show it as an otpauth:// URI, a QR code in the
 *                       terminal (libqrencode, drawn with Unicode half
 *                       blocks) and base32, ask for the first code the
 *                       app shows, confirm, print the ten recovery codes
 *   renkei 2fa status   enrolled or not, since when, recovery codes left,
 *                       whether the server requires one of this user
 *
 * Enrolment works in a session that can do nothing else yet (signed in
 * with the password alone while a factor is required): it is what that
 * session is for. The code is read with read(2), like the password (one
 * line of stdin when it is not a terminal). A wrong code may be typed
 * again (three tries on a terminal); the secret stays the same meanwhile.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <qrencode.h>

#include "cli.h"

#define CODE_TRIES 3

int
cli_qr_print(FILE *f, const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	const int quiet = 2; /* modules of light margin round the code */
	int w, size;

	if (qr == NULL)
		return -1;
	w = qr->width;
	size = w + 2 * quiet;
	/* Light modules are drawn, dark ones left as the black background:
	 * white on black, set explicitly, reads the same on a dark or a
	 * light terminal. Each character is two rows: upper, lower. */
	for (int y = 0; y < size; y += 2) {
		fputs("\x1b[97;40m", f);
		for (int x = 0; x < size; x++) {
			int top = 0, bot = 0, mx = x - quiet, my = y - quiet;
			/* dark: inside the symbol and the module's bit 0 set */
			int top_dark = mx >= 0 && mx < w && my >= 0 && my < w &&
			               (qr->data[my * w + mx] & 1);
			int bot_dark = mx >= 0 && mx < w && my + 1 >= 0 &&
			               my + 1 < w &&
			               (qr->data[(my + 1) * w + mx] & 1);
			top = !top_dark;
			bot = y + 1 < size ? !bot_dark : 0;
			fputs(top && bot ? "\u2588"
			      : top      ? "\u2580"
			      : bot      ? "\u2584"
			                 : " ",
			      f);
		}
		fputs("\x1b[0m\n", f);
	}
	QRcode_free(qr);
	return 0;
}

static int
sub_usage(struct cli *cli)
{
	return cli_usage_error(cli, "expected 'enroll' or 'status'");
}

/* The first code, from the terminal or stdin. */
static int
ask_code(struct cli *cli, char *buf, size_t len)
{
	int n;

	if (isatty(STDIN_FILENO)) {
		fputs("Enter the 6-digit code the app shows now: ", stderr);
		fflush(stderr);
	}
	n = cli_read_line(buf, len);
	if (n == -2)
		return cli_usage_error(cli, "code too long");
	if (n <= 0)
		return cli_fail(
		    cli, CLI_EXIT_FAIL,
		    "no code given: enrolment is not confirmed (run '%s 2fa "
		    "enroll' again)",
		    cli->prog);
	return CLI_EXIT_OK;
}

/* Is the answer "wrong code" (worth another try)? */
static int
wrong_code(const Renkei__V1__Envelope *e)
{
	return e->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
	       (e->error->code == RENKEI__V1__CODE__UNAUTHENTICATED ||
	        e->error->code == RENKEI__V1__CODE__INVALID_ARGUMENT) &&
	       e->error->field != NULL && strcmp(e->error->field, "code") == 0;
}

static int
enroll(struct cli *cli, int no_qr)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__TotpEnrolBeginRequest br =
	    RENKEI__V1__TOTP_ENROL_BEGIN_REQUEST__INIT;
	Renkei__V1__TotpEnrolConfirmRequest cr =
	    RENKEI__V1__TOTP_ENROL_CONFIRM_REQUEST__INIT;
	Renkei__V1__TotpEnrolConfirmResponse *done;
	char code[64], why[512], uri[512], secret[64];
	struct rkc *c = NULL;
	int rc, tries = isatty(STDIN_FILENO) ? CODE_TRIES : 1;

	rc = cli_open_session(cli, &c);
	if (rc != CLI_EXIT_OK)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_BEGIN_REQUEST;
	req.totp_enrol_begin_request = &br;
	rc = cli_call(cli, c, &req,
	              RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_BEGIN_RESPONSE,
	              &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	snprintf(uri, sizeof uri, "%s",
	         resp->totp_enrol_begin_response->otpauth_uri);
	snprintf(secret, sizeof secret, "%s",
	         resp->totp_enrol_begin_response->secret);
	OPENSSL_cleanse(resp->totp_enrol_begin_response->secret,
	                strlen(resp->totp_enrol_begin_response->secret));
	renkei__v1__envelope__free_unpacked(resp, NULL);
	resp = NULL;
	cli_scrub(uri);
	cli_scrub(secret);

	/* What the app needs goes to stderr with --json, so that stdout
	 * stays one JSON document. */
	{
		FILE *o = cli->json ? stderr : stdout;
		fputs("Scan this QR code with your authenticator app (FreeOTP, "
		      "Google\n"
		      "Authenticator, Microsoft Authenticator, 1Password, "
		      "...):\n\n",
		      o);
		if (!no_qr && isatty(fileno(o)) && cli_qr_print(o, uri) == 0)
			fputc('\n', o);
		fprintf(o, "or open this link on the phone:\n  %s\n", uri);
		fputs("or type this key into the app (time-based, 6 digits, 30 "
		      "s):\n  ",
		      o);
		for (size_t i = 0; secret[i] != '\0'; i++) {
			if (i > 0 && i % 4 == 0)
				fputc(' ', o);
			fputc(secret[i], o);
		}
		fputs("\n\n", o);
		fflush(o);
	}

	req.body_case = RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_CONFIRM_REQUEST;
	req.totp_enrol_confirm_request = &cr;
	for (int t = 0;; t++) {
		rc = ask_code(cli, code, sizeof code);
		if (rc != CLI_EXIT_OK)
			goto out;
		cr.code = code;
		if (cli_call_quiet(c, &req, &resp, why, sizeof why) !=
		    CLI_EXIT_OK) {
			rc = cli_fail(cli, CLI_EXIT_CONNECT, "%s", why);
			goto out;
		}
		OPENSSL_cleanse(code, sizeof code);
		if (!wrong_code(resp) || t + 1 >= tries)
			break;
		cli_scrub(resp->error->message);
		fprintf(stderr, "%s: %s\n", cli->prog, resp->error->message);
		renkei__v1__envelope__free_unpacked(resp, NULL);
		resp = NULL;
	}
	rc = cli_check_answer(
	    cli, RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_CONFIRM_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	done = resp->totp_enrol_confirm_response;
	if (cli->json) {
		json_t *codes = json_array();
		for (size_t i = 0; i < done->n_recovery_codes; i++)
			json_array_append_new(
			    codes, cli_json_str(done->recovery_codes[i]));
		cli_json_print(cli, json_pack("{s:b,s:o}", "enrolled", 1,
		                              "recovery_codes", codes));
	} else {
		printf("Second factor enrolled: from now on every login asks "
		       "for a code.\n\n"
		       "Recovery codes: each signs in once in place of a code, "
		       "if the phone is\n"
		       "lost. Keep them somewhere safe; they are not shown "
		       "again.\n\n");
		for (size_t i = 0; i < done->n_recovery_codes; i++) {
			cli_scrub(done->recovery_codes[i]);
			printf("  %s\n", done->recovery_codes[i]);
		}
	}
	for (size_t i = 0; i < done->n_recovery_codes; i++)
		OPENSSL_cleanse(done->recovery_codes[i],
		                strlen(done->recovery_codes[i]));

out:
	OPENSSL_cleanse(code, sizeof code);
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(uri, sizeof uri);
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	return rc;
}

static int
status(struct cli *cli)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__TotpStatusRequest sr =
	    RENKEI__V1__TOTP_STATUS_REQUEST__INIT;
	Renkei__V1__TotpStatusResponse *s;
	char since[64];
	struct rkc *c = NULL;
	int rc;

	rc = cli_open_session(cli, &c);
	if (rc != CLI_EXIT_OK)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TOTP_STATUS_REQUEST;
	req.totp_status_request = &sr;
	rc = cli_call(cli, c, &req,
	              RENKEI__V1__ENVELOPE__BODY_TOTP_STATUS_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	s = resp->totp_status_response;
	if (cli->json) {
		json_t *o = json_pack(
		    "{s:b,s:b,s:b,s:i}", "enrolled", s->enrolled, "required",
		    s->required, "enrolment_begun", s->enrolment_begun,
		    "recovery_codes_left", (int)s->recovery_codes_left);
		if (s->enrolled) {
			cli_time_utc(s->enrolled_at_ms, since, sizeof since);
			json_object_set_new(o, "enrolled_at",
			                    json_string(since));
		}
		cli_json_print(cli, o);
		goto out;
	}
	if (s->enrolled) {
		cli_time_local(s->enrolled_at_ms, since, sizeof since);
		printf("Second factor: enrolled since %s\n", since);
		printf("  recovery codes left: %u of 10\n",
		       (unsigned)s->recovery_codes_left);
	} else {
		printf("Second factor: not enrolled%s\n",
		       s->enrolment_begun ? " (enrolment begun, not confirmed)"
		                          : "");
	}
	printf("  required for you:    %s\n", s->required ? "yes" : "no");
	if (!s->enrolled)
		printf("Enrol with '%s 2fa enroll'.\n", cli->prog);

out:
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	return rc;
}

int
cli_step_up_code(struct cli *cli, const char *given, char *buf, size_t len)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__TotpStatusRequest sr = RENKEI__V1__TOTP_STATUS_REQUEST__INIT;
	struct rkc *c = NULL;
	int rc, enrolled, n;

	buf[0] = '\0';
	if (given != NULL) {
		if (strlen(given) >= len)
			return cli_usage_error(cli, "--code is too long");
		snprintf(buf, len, "%s", given);
		return CLI_EXIT_OK;
	}
	rc = cli_open_session(cli, &c);
	if (rc != CLI_EXIT_OK)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TOTP_STATUS_REQUEST;
	req.totp_status_request = &sr;
	rc = cli_call(cli, c, &req, RENKEI__V1__ENVELOPE__BODY_TOTP_STATUS_RESPONSE, &resp);
	rkc_close(c);
	if (rc != CLI_EXIT_OK)
		return rc;
	enrolled = resp->totp_status_response->enrolled;
	renkei__v1__envelope__free_unpacked(resp, NULL);
	if (!enrolled)
		return CLI_EXIT_OK; /* nothing to step up with */
	if (!isatty(STDIN_FILENO))
		return cli_usage_error(cli, "this needs a fresh code from your authenticator "
		                            "app: give --code CODE");
	fputs("This needs a fresh code: enter the 6-digit code your app shows now: ", stderr);
	fflush(stderr);
	n = cli_read_line(buf, len);
	if (n <= 0) {
		buf[0] = '\0';
		return cli_usage_error(cli, "no code given");
	}
	return CLI_EXIT_OK;
}

int
cli_cmd_2fa(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"no-qr", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *sub;
	int ch, no_qr = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			no_qr = 1;
			break;
		case 'h':
			return cli_command_help(cli);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return sub_usage(cli);
	sub = argv[optind];
	if (strcmp(sub, "enroll") == 0 || strcmp(sub, "enrol") == 0)
		return enroll(cli, no_qr);
	if (strcmp(sub, "status") == 0) {
		if (no_qr)
			return cli_usage_error(cli, "--no-qr is for 'enroll'");
		return status(cli);
	}
	return sub_usage(cli);
}

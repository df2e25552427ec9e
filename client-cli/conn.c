/*
 * The CLI's side of a connection: connect with the configured CA, resume
 * the cached session, make calls, and map every way they can fail to one
 * reported message and one exit status.
 *
 * Retries (cli_request). A request that is safe to repeat is sent again
 * on a new connection when the transport fails — cannot connect, no
 * answer in time, connection lost — or when the server answers
 * UNAVAILABLE (shutting down, storage busy). Reads are safe by nature,
 * acks keep the first time, and every write carries a client_id that the
 * server stores once. The *_quiet variants exist for this: they describe
 * a transport failure instead of reporting it, so that only the last one
 * reaches the user (earlier ones are announced as retries on stderr).
 * cli_request_on does the same on a connection kept for the next call
 * (pages of a query, chunks of a download, the post after its photos),
 * so a run of calls costs one TLS handshake and one session resume.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "rkc_url.h"

void
cli_device(char *buf, size_t len)
{
	char host[256];

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	snprintf(buf, len, "renkei-cli/%s", host);
}

int
cli_check_server(struct cli *cli, const char *url)
{
	struct rkc_url u;
	const char *why = NULL, *ca = cli_ca_file(cli);

	/* a bad URL or a missing CA is the user's to fix: a usage error,
	 * not a connection failure */
	if (rkc_url_parse(url, &u, &why) != 0)
		return cli_usage_error(cli, "invalid server URL '%s': %s", url, why);
	if (ca == NULL)
		return cli_usage_error(cli, "no CA certificate to check the server with: pass "
		                            "--ca FILE (login saves it) or set 'ca' in %s/config",
		                       cli->dir);
	if (access(ca, R_OK) != 0)
		return cli_usage_error(cli, "cannot read CA file %s: %s", ca, strerror(errno));
	return CLI_EXIT_OK;
}

/* Connect to url without reporting a transport failure: returns
 * CLI_EXIT_CONNECT with its reason in why. Bad settings are reported. */
static int
connect_quiet(struct cli *cli, const char *url, struct rkc **out, char *why, size_t whylen)
{
	struct rkc_opts opts;
	char err[512];
	int rc;

	*out = NULL;
	if ((rc = cli_check_server(cli, url)) != CLI_EXIT_OK)
		return rc;
	memset(&opts, 0, sizeof opts);
	opts.url = url;
	opts.ca_file = cli_ca_file(cli);
	opts.cert_file = cli->cfg_cert;
	opts.key_file = cli->cfg_key;
	opts.timeout_ms = CLI_CONNECT_TIMEOUT_MS;
	*out = rkc_connect(&opts, err, sizeof err);
	if (*out == NULL) {
		snprintf(why, whylen, "cannot connect to %s: %s", url, err);
		return CLI_EXIT_CONNECT;
	}
	return CLI_EXIT_OK;
}

int
cli_connect(struct cli *cli, const char *url, struct rkc **out)
{
	char why[1024];
	int rc = connect_quiet(cli, url, out, why, sizeof why);

	if (rc == CLI_EXIT_CONNECT)
		return cli_fail(cli, rc, "%s", why);
	return rc;
}

void
cli_transport_reason(struct rkc *c, char *why, size_t whylen)
{
	if (strcmp(rkc_last_error(c), "timeout") == 0)
		snprintf(why, whylen, "the server did not answer within %d seconds",
		         CLI_CALL_TIMEOUT_MS / 1000);
	else
		snprintf(why, whylen, "connection to the server failed: %s", rkc_last_error(c));
}

int
cli_call_quiet(struct rkc *c, Renkei__V1__Envelope *req, Renkei__V1__Envelope **resp,
               char *why, size_t whylen)
{
	if (rkc_call(c, req, CLI_CALL_TIMEOUT_MS, resp) != 0) {
		cli_transport_reason(c, why, whylen);
		return CLI_EXIT_CONNECT;
	}
	return CLI_EXIT_OK;
}

/* Resume token's session on c, signed with this configuration's device
 * key (a nonce first, then ResumeRequest): cli_call_quiet's contract,
 * but a missing or unsafe key file is reported at once (CLI_EXIT_AUTH /
 * CLI_EXIT_FAIL, *resp NULL): trying again would not help. */
static int
resume_quiet(struct cli *cli, struct rkc *c, const char *token,
             Renkei__V1__Envelope **resp, char *why, size_t whylen)
{
	struct rkc_device *key = NULL;
	char device[300];
	int rc;

	*resp = NULL;
	rc = cli_device_key(cli, 0, &key);
	if (rc != CLI_EXIT_OK)
		return rc;
	cli_device(device, sizeof device);
	if (rkc_resume(c, key, token, device, CLI_CALL_TIMEOUT_MS, resp) != 0) {
		cli_transport_reason(c, why, whylen);
		rc = CLI_EXIT_CONNECT;
	}
	rkc_device_free(key);
	return rc;
}

int
cli_resume(struct cli *cli, struct rkc *c, const char *token, Renkei__V1__Envelope **resp)
{
	char why[512];
	int rc = resume_quiet(cli, c, token, resp, why, sizeof why);

	if (rc == CLI_EXIT_CONNECT)
		return cli_fail(cli, CLI_EXIT_CONNECT, "%s", why);
	return rc;
}

int
cli_open_session_quiet(struct cli *cli, struct rkc **out, char *login, size_t login_len,
                       char *why, size_t whylen)
{
	Renkei__V1__Envelope *resp = NULL;
	Renkei__V1__LoginResponse *lr;
	struct cli_session s;
	int rc;

	*out = NULL;
	rc = cli_session_load(cli, &s);
	if (rc == -1)
		return cli_fail(cli, CLI_EXIT_AUTH, "not logged in; run '%s login LOGIN' first",
		                cli->prog);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->opt_server != NULL && strcmp(cli->opt_server, s.server) != 0) {
		rc = cli_fail(cli, CLI_EXIT_AUTH,
		              "not logged in to %s (the cached session is for %s); run '%s "
		              "--server %s login LOGIN'",
		              cli->opt_server, s.server, cli->prog, cli->opt_server);
		cli_session_wipe(&s);
		return rc;
	}
	snprintf(cli->session_server, sizeof cli->session_server, "%s", s.server);
	rc = connect_quiet(cli, s.server, out, why, whylen);
	if (rc == CLI_EXIT_OK)
		rc = resume_quiet(cli, *out, s.token, &resp, why, whylen);
	cli_session_wipe(&s);
	if (rc == CLI_EXIT_OK) {
		if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
		    resp->error->code == RENKEI__V1__CODE__UNAVAILABLE) {
			/* shutting down: as good as no connection, try again later */
			snprintf(why, whylen, "the server is unavailable: %s", resp->error->message);
			rc = CLI_EXIT_CONNECT;
		} else if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
			rc = cli_server_error(cli, resp->error);
		} else if (resp->body_case != RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE) {
			rc = cli_fail(cli, CLI_EXIT_SERVER,
			              "unexpected answer from the server to ResumeRequest");
		} else if (login != NULL && login_len > 0) {
			lr = resp->login_response;
			snprintf(login, login_len, "%s",
			         lr->user != NULL && lr->user->login != NULL ? lr->user->login : "");
		}
	}
	if (resp != NULL)
		renkei__v1__envelope__free_unpacked(resp, NULL);
	if (rc != CLI_EXIT_OK) {
		rkc_close(*out);
		*out = NULL;
	}
	return rc;
}

int
cli_open_session(struct cli *cli, struct rkc **out)
{
	char why[1024];
	int rc = cli_open_session_quiet(cli, out, NULL, 0, why, sizeof why);

	if (rc == CLI_EXIT_CONNECT)
		return cli_fail(cli, rc, "%s", why);
	return rc;
}

int
cli_call(struct cli *cli, struct rkc *c, Renkei__V1__Envelope *req,
         Renkei__V1__Envelope__BodyCase want, Renkei__V1__Envelope **resp)
{
	char why[512];

	if (cli_call_quiet(c, req, resp, why, sizeof why) != CLI_EXIT_OK)
		return cli_fail(cli, CLI_EXIT_CONNECT, "%s", why);
	return cli_check_answer(cli, want, resp);
}

int
cli_check_answer(struct cli *cli, Renkei__V1__Envelope__BodyCase want,
                 Renkei__V1__Envelope **resp)
{
	int rc;

	if ((*resp)->body_case == want)
		return CLI_EXIT_OK;
	if ((*resp)->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
		rc = cli_server_error(cli, (*resp)->error);
	else
		rc = cli_fail(cli, CLI_EXIT_SERVER,
		              "unexpected answer from the server (body %d, expected %d)",
		              (int)(*resp)->body_case, (int)want);
	renkei__v1__envelope__free_unpacked(*resp, NULL);
	*resp = NULL;
	return rc;
}

/* Sleep ms milliseconds (signals may cut it short). */
void
cli_sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

int
cli_retry_wait(struct cli *cli, char *why, int attempt, int retries, int *pause_ms)
{
	cli_scrub(why); /* it may quote the server's close reason */
	if (attempt >= retries)
		return cli_fail(cli, CLI_EXIT_CONNECT, "%s", why);
	cli_progress_break(cli);
	fprintf(stderr, "%s: %s; trying again in %d.%d s (retry %d of %d)\n", cli->prog, why,
	        *pause_ms / 1000, *pause_ms % 1000 / 100, attempt + 1, retries);
	cli_sleep_ms(*pause_ms);
	*pause_ms *= 2;
	return CLI_EXIT_OK;
}

int
cli_request_on(struct cli *cli, struct rkc **c, Renkei__V1__Envelope *req,
               Renkei__V1__Envelope__BodyCase want, Renkei__V1__Envelope **resp, int retries)
{
	char why[1024];
	int attempt, rc, pause_ms = CLI_RETRY_FIRST_MS;

	*resp = NULL;
	for (attempt = 0;; attempt++) {
		rc = CLI_EXIT_OK;
		if (*c == NULL)
			rc = cli_open_session_quiet(cli, c, NULL, 0, why, sizeof why);
		if (rc == CLI_EXIT_OK) {
			rc = cli_call_quiet(*c, req, resp, why, sizeof why);
			/* no close handshake with a connection that failed */
			if (rc != CLI_EXIT_OK) {
				rkc_abort(*c);
				*c = NULL;
			}
		}
		/* UNAVAILABLE: the server could not do it now (shutting down,
		 * storage busy) and said to try again */
		if (rc == CLI_EXIT_OK && (*resp)->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
		    (*resp)->error->code == RENKEI__V1__CODE__UNAVAILABLE && attempt < retries) {
			snprintf(why, sizeof why, "the server is unavailable: %s",
			         (*resp)->error->message);
			renkei__v1__envelope__free_unpacked(*resp, NULL);
			*resp = NULL;
			/* a server shutting down closes this connection anyway */
			rkc_close(*c);
			*c = NULL;
			rc = CLI_EXIT_CONNECT;
		}
		if (rc != CLI_EXIT_CONNECT)
			break;
		if ((rc = cli_retry_wait(cli, why, attempt, retries, &pause_ms)) != CLI_EXIT_OK)
			return rc;
	}
	if (rc != CLI_EXIT_OK)
		return rc; /* reported */
	return cli_check_answer(cli, want, resp);
}

int
cli_request(struct cli *cli, Renkei__V1__Envelope *req, Renkei__V1__Envelope__BodyCase want,
            Renkei__V1__Envelope **resp, int retries)
{
	struct rkc *c = NULL;
	int rc = cli_request_on(cli, &c, req, want, resp, retries);

	rkc_close(c);
	return rc;
}

/*
 * The CLI's side of a connection: connect with the configured CA, resume
 * the cached session, make calls, and map every way they can fail to one
 * reported message and one exit status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "rkc_url.h"

int
cli_exit_for_code(Renkei__V1__Code code)
{
	switch (code) {
	case RENKEI__V1__CODE__OK:
		return CLI_EXIT_OK;
	case RENKEI__V1__CODE__UNAUTHENTICATED:
		return CLI_EXIT_AUTH;
	case RENKEI__V1__CODE__PERMISSION_DENIED:
	case RENKEI__V1__CODE__NOT_FOUND:
		return CLI_EXIT_DENIED;
	default:
		return CLI_EXIT_SERVER;
	}
}

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

int
cli_connect(struct cli *cli, const char *url, struct rkc **out)
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
	opts.timeout_ms = CLI_CONNECT_TIMEOUT_MS;
	*out = rkc_connect(&opts, err, sizeof err);
	if (*out == NULL)
		return cli_fail(cli, CLI_EXIT_CONNECT, "cannot connect to %s: %s", url, err);
	return CLI_EXIT_OK;
}

/* Report why a call on c failed at the transport level. */
static int
transport_failure(struct cli *cli, struct rkc *c)
{
	if (strcmp(rkc_last_error(c), "timeout") == 0)
		return cli_fail(cli, CLI_EXIT_CONNECT, "the server did not answer within %d seconds",
		                CLI_CALL_TIMEOUT_MS / 1000);
	return cli_fail(cli, CLI_EXIT_CONNECT, "connection to the server failed: %s",
	                rkc_last_error(c));
}

int
cli_resume(struct cli *cli, struct rkc *c, const char *token, Renkei__V1__Envelope **resp)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ResumeRequest rr = RENKEI__V1__RESUME_REQUEST__INIT;
	char device[300];

	cli_device(device, sizeof device);
	rr.token = (char *)token;
	rr.device = device;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST;
	req.resume_request = &rr;
	if (rkc_call(c, &req, CLI_CALL_TIMEOUT_MS, resp) != 0)
		return transport_failure(cli, c);
	return CLI_EXIT_OK;
}

int
cli_open_session(struct cli *cli, struct rkc **out)
{
	struct cli_session s;
	Renkei__V1__Envelope *resp = NULL;
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
	rc = cli_connect(cli, s.server, out);
	if (rc == CLI_EXIT_OK)
		rc = cli_resume(cli, *out, s.token, &resp);
	cli_session_wipe(&s);
	if (rc == CLI_EXIT_OK) {
		if (resp->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
			rc = cli_server_error(cli, resp->error);
		else if (resp->body_case != RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE)
			rc = cli_fail(cli, CLI_EXIT_SERVER,
			              "unexpected answer from the server to ResumeRequest");
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
cli_call(struct cli *cli, struct rkc *c, Renkei__V1__Envelope *req,
         Renkei__V1__Envelope__BodyCase want, Renkei__V1__Envelope **resp)
{
	int rc;

	if (rkc_call(c, req, CLI_CALL_TIMEOUT_MS, resp) != 0)
		return transport_failure(cli, c);
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

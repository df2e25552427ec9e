/*
 * Client helpers and assertions for the harness; see harness.h. Thin
 * wrappers over rkc that build the foundation's requests and print why
 * when something is not what a test expected.
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- clients */

struct rkc *
h_connect_from(const struct h_server *s, const char *source)
{
	struct rkc_opts o;
	struct rkc *c;
	char err[256];

	h_opts(s, &o);
	o.source_addr = source;
	c = rkc_connect(&o, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "harness: connect %s from %s: %s\n", s->url,
		        source ? source : "any", err);
	return c;
}

struct rkc *
h_connect(const struct h_server *s)
{
	return h_connect_from(s, NULL);
}

Renkei__V1__Envelope *
h_call(struct rkc *c, Renkei__V1__Envelope *req)
{
	Renkei__V1__Envelope *resp = NULL;

	if (c == NULL)
		return NULL;
	if (rkc_call(c, req, H_TIMEOUT_MS, &resp) != 0) {
		fprintf(stderr, "harness: %s: %s\n",
		        h_body_name(req->body_case), rkc_last_error(c));
		return NULL;
	}
	return resp;
}

static pthread_once_t device_once = PTHREAD_ONCE_INIT;
static struct rkc_device *device_key; /* the process's, made once */

static void
device_make(void)
{
	char err[256];

	device_key = rkc_device_generate(err, sizeof(err));
	if (device_key == NULL) {
		fprintf(stderr, "harness: %s\n", err);
		abort();
	}
}

const struct rkc_device *
h_device(void)
{
	pthread_once(&device_once, device_make);
	return device_key;
}

Renkei__V1__Envelope *
h_login_env(struct rkc *c, const char *login, const char *password,
            const char *device)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t pub[RKC_DEVICE_KEY_LEN];

	rkc_device_public_key(h_device(), pub);
	lr.device_key.data = pub;
	lr.device_key.len = sizeof(pub);
	lr.login = (char *)login;
	lr.password = (char *)password;
	lr.device =
	    (char *)(device != NULL ? device : "renkei-integration-test");
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	return h_call(c, &env);
}

Renkei__V1__Envelope *
h_resume_with(struct rkc *c, const char *token, const struct rkc_device *dev)
{
	Renkei__V1__Envelope *resp = NULL;

	if (c == NULL)
		return NULL;
	if (rkc_resume(c, dev, token, "renkei-integration-test", H_TIMEOUT_MS,
	               &resp) != 0) {
		fprintf(stderr, "harness: resume: %s\n", rkc_last_error(c));
		return NULL;
	}
	return resp;
}

Renkei__V1__Envelope *
h_resume_env(struct rkc *c, const char *token)
{
	return h_resume_with(c, token, h_device());
}

Renkei__V1__Envelope *
h_whoami_env(struct rkc *c)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__WhoAmIRequest w = RENKEI__V1__WHO_AM_IREQUEST__INIT;

	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	env.whoami_request = &w;
	return h_call(c, &env);
}

Renkei__V1__Envelope *
h_logout_env(struct rkc *c)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LogoutRequest lo = RENKEI__V1__LOGOUT_REQUEST__INIT;

	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST;
	env.logout_request = &lo;
	return h_call(c, &env);
}

Renkei__V1__Envelope *
h_password_change_env(struct rkc *c, const char *old_password,
                      const char *new_password)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__PasswordChangeRequest pc =
		RENKEI__V1__PASSWORD_CHANGE_REQUEST__INIT;

	pc.old_password = (char *)old_password;
	pc.new_password = (char *)new_password;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_REQUEST;
	env.password_change_request = &pc;
	return h_call(c, &env);
}

static void
print_env(const char *what, const Renkei__V1__Envelope *env)
{
	if (env == NULL)
		fprintf(stderr, "harness: %s: no answer\n", what);
	else if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
		fprintf(stderr, "harness: %s: Error %s \"%s\" field \"%s\"\n",
		        what, rkc_code_name(env->error->code),
		        env->error->message, env->error->field);
	else
		fprintf(stderr, "harness: %s: unexpected %s\n", what,
		        h_body_name(env->body_case));
}

char *
h_login(struct rkc *c, const char *login)
{
	Renkei__V1__Envelope *r = h_login_env(c, login, H_DEMO_PASSWORD, NULL);
	char *tok = NULL;

	if (r != NULL &&
	    r->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE)
		tok = strdup(r->login_response->token);
	else
		print_env(login, r);
	h_env_free(r);
	return tok;
}

struct rkc *
h_connect_login(const struct h_server *s, const char *login, char **token)
{
	struct rkc *c = h_connect(s);
	char *tok;

	if (token != NULL)
		*token = NULL;
	if (c == NULL)
		return NULL;
	if ((tok = h_login(c, login)) == NULL) {
		rkc_close(c);
		return NULL;
	}
	if (token != NULL)
		*token = tok;
	else
		free(tok);
	return c;
}

int
h_wait_close(struct rkc *c, int timeout_ms, long *dropped)
{
	int64_t end = h_mono_ms() + timeout_ms;
	Renkei__V1__Envelope *env;
	long n = 0;
	int rc;

	for (;;) {
		int64_t left = end - h_mono_ms();
		rc = rkc_recv(c, left > 0 ? (int)left : 0, &env);
		if (rc == 0) {
			n++;
			h_env_free(env);
			continue;
		}
		/* A message that does not decode leaves the connection open. */
		if (strncmp(rkc_last_error(c), "the server sent", 15) == 0) {
			n++;
			continue;
		}
		break;
	}
	if (dropped != NULL)
		*dropped = n;
	if (strcmp(rkc_last_error(c), "timeout") == 0)
		return -1;
	return rkc_close_code(c);
}

void
h_env_free(Renkei__V1__Envelope *env)
{
	if (env != NULL)
		renkei__v1__envelope__free_unpacked(env, NULL);
}

const char *
h_body_name(Renkei__V1__Envelope__BodyCase b)
{
	const ProtobufCFieldDescriptor *f;

	if (b == RENKEI__V1__ENVELOPE__BODY__NOT_SET)
		return "(no body)";
	f = protobuf_c_message_descriptor_get_field(
	    &renkei__v1__envelope__descriptor, (unsigned)b);
	return f != NULL ? f->name : "(unknown body)";
}

/* -------------------------------------------------------------- asserting */

void
h_check_body(const Renkei__V1__Envelope *env, Renkei__V1__Envelope__BodyCase b,
             const char *file, int line)
{
	if (env == NULL) {
		print_error("expected %s, got no answer\n", h_body_name(b));
		_fail(file, line);
	}
	if (env->body_case == b)
		return;
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
		print_error("expected %s, got Error %s \"%s\" (field \"%s\")\n",
		            h_body_name(b), rkc_code_name(env->error->code),
		            env->error->message, env->error->field);
	else
		print_error("expected %s, got %s\n", h_body_name(b),
		            h_body_name(env->body_case));
	_fail(file, line);
}

void
h_check_error(const Renkei__V1__Envelope *env, Renkei__V1__Code code,
              const char *file, int line)
{
	h_check_body(env, RENKEI__V1__ENVELOPE__BODY_ERROR, file, line);
	if (env->error->code == code)
		return;
	print_error("expected Error %s, got %s \"%s\" (field \"%s\")\n",
	            rkc_code_name(code), rkc_code_name(env->error->code),
	            env->error->message, env->error->field);
	_fail(file, line);
}

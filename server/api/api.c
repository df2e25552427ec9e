/*
 * Connections, dispatch and the encoding of answers.
 *
 * Rules every request follows, in this order:
 *  1. the bytes must decode as an Envelope (else INVALID_ARGUMENT, id 0);
 *  2. every string in it must be valid UTF-8 (else INVALID_ARGUMENT naming
 *     the field);
 *  3. the body must be a request this server knows (else INVALID_ARGUMENT
 *     naming the field "body": an unknown field number decodes as no body);
 *  4. before login only login and resume are allowed (else
 *     UNAUTHENTICATED), and only prelogin_max_requests of them;
 *  5. the handler checks its own fields, then hands work to the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

/* The one mapping lives in util/err.c; the wire enum is numbered as the
 * gRPC codes it names. */
Renkei__V1__Code
api_code_of(int err)
{
	if (err <= 0)
		return RENKEI__V1__CODE__INTERNAL; /* an "error" of OK is a bug */
	return (Renkei__V1__Code)rk_err_grpc_code(err);
}

/* Read a small text file (the public key) once, at start. */
static char *
read_small_file(const char *path, const char *suffix)
{
	char name[4200], *buf;
	FILE *f;
	size_t n;

	if (path == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s%s", path, suffix);
	f = fopen(name, "r");
	if (f == NULL)
		return NULL;
	buf = rk_malloc(8192);
	n = fread(buf, 1, 8191, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct api *
api_new(const struct conf *conf, struct store *store,
        const struct api_transport *transport)
{
	struct api *api = rk_calloc(1, sizeof(*api));

	api->conf = conf;
	api->store = store;
	api->tr = *transport;
	idmap_init(&api->conns);
	idmap_init(&api->sessions);
	idmap_init(&api->boards);
	api->limits.max_failures = conf->login_max_failures;
	api->limits.lockout_s = conf->login_lockout_s;
	api->limits.session_max_s = conf->session_max_s;
	api->limits.session_idle_s = conf->session_idle_s;
	api->audit_pubkey = read_small_file(conf->audit_signing_key, ".pub");
	return api;
}

void
api_free(struct api *api)
{
	size_t pos = 0;
	uint64_t id;
	void *v;

	if (api == NULL)
		return;
	/* Connections should all be closed by now; free what remains. */
	while (idmap_next(&api->conns, &pos, &id, &v))
		free(v);
	pos = 0;
	while (idmap_next(&api->sessions, &pos, &id, &v))
		free(v);
	idmap_fini(&api->conns);
	idmap_fini(&api->sessions);
	api_sub_free_all(api);
	while (api->grants != NULL) {
		struct api_grant *g = api->grants;
		api->grants = g->next;
		audit_entries_free(g->end);
		free(g);
	}
	free(api->audit_pubkey);
	free(api);
}

struct api_conn *
api_conn_open(struct api *api, void *handle, const char *address)
{
	struct api_conn *c = rk_calloc(1, sizeof(*c));

	c->id = ++api->next_conn_id;
	c->handle = handle;
	/* An IPv4 peer on a dual-stack socket reads "::ffff:a.b.c.d": record
	 * the address people know. */
	if (address != NULL && strncmp(address, "::ffff:", 7) == 0 &&
	    strchr(address + 7, ':') == NULL)
		address += 7;
	snprintf(c->address, sizeof(c->address), "%s", address ? address : "");
	c->opened_ms = rk_mono_ms();
	idmap_set(&api->conns, c->id, c);
	api->stats.connections++;
	return c;
}

void
api_conn_closed(struct api *api, struct api_conn **cp)
{
	struct api_conn *c = *cp;

	*cp = NULL;
	if (c == NULL)
		return;
	api_sub_clear(api, c);
	api_export_drop(c);
	api_session_detach(api, c);
	idmap_del(&api->conns, c->id);
	api->stats.connections--;
	free(c);
}

void
api_conn_close(struct api *api, struct api_conn *c, int code,
               const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	api->tr.close(c->handle, code, reason);
}

void
api_req_init(struct api_req *r, struct api *api, struct api_conn *c,
             uint64_t request_id)
{
	memset(r, 0, sizeof(*r));
	r->api = api;
	r->conn_id = c->id;
	r->request_id = request_id;
}

struct api_conn *
api_req_conn(struct api_req *r)
{
	struct api_conn *c = idmap_get(&r->api->conns, r->conn_id);
	return c != NULL && !c->closing ? c : NULL;
}

void
api_send(struct api *api, struct api_conn *c, const Renkei__V1__Envelope *env)
{
	size_t n = renkei__v1__envelope__get_packed_size(env);
	struct frame *f = frame_new(n);

	renkei__v1__envelope__pack(env, frame_payload(f));
	if (api->tr.send(c->handle, f) != 0)
		c->closing = true; /* the transport is culling it */
	frame_unref(&f);
}

void
api_send_error3(struct api *api, struct api_conn *c, uint64_t request_id,
                int err, const char *msg, const char *field)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Error e = RENKEI__V1__ERROR__INIT;

	e.code = api_code_of(err);
	api->stats.by_code[e.code < 17 ? e.code : 13]++;
	e.message = (char *)(msg ? msg : rk_strerror(err));
	e.field = (char *)(field ? field : "");
	env.request_id = request_id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	api->stats.errors++;
	api_send(api, c, &env);
}

void
api_send_error(struct api *api, struct api_conn *c, uint64_t request_id,
               const struct rk_status *st)
{
	/* No status: the op itself went well but its batch did not commit
	 * (or the audit record could not be written). Nothing was done. */
	if (st->err == RK_OK)
		return api_send_error3(api, c, request_id, RK_ERR_UNAVAILABLE,
		                       "could not be saved; nothing was done; try "
		                       "again",
		                       NULL);
	api_send_error3(api, c, request_id, st->err, st->msg, st->field);
}

void
api_user_to_wire(const struct auth_user *u, Renkei__V1__User *w,
                 Renkei__V1__Organisation *org)
{
	renkei__v1__user__init(w);
	w->login = (char *)u->login;
	w->display_name = (char *)u->display_name;
	w->profession = (Renkei__V1__Profession)u->profession;
	if (u->org_id != 0) {
		renkei__v1__organisation__init(org);
		org->code = (char *)u->org_code;
		org->name = (char *)u->org_name;
		org->kind = (char *)u->org_kind;
		w->organisation = org;
	}
}

/* ------------------------------------------------------------- validation */

bool
api_strings_valid(const ProtobufCMessage *m, const char **field)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const void *arr = *(void *const *)base;
			for (size_t k = 0; k < n; k++) {
				if (f->type == PROTOBUF_C_TYPE_STRING) {
					const char *s = ((char *const *)arr)[k];
					if (s && !rk_utf8_valid(s, strlen(s))) {
						*field = f->name;
						return false;
					}
				} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
					const ProtobufCMessage *sub =
						((ProtobufCMessage *const *)arr)[k];
					if (sub && !api_strings_valid(sub, field))
						return false;
				}
			}
			continue;
		}
		/* Members of a oneof that are not the chosen case hold other
		 * data at the same offset. */
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t chosen =
				*(const uint32_t *)((const char *)m + f->quantifier_offset);
			if (chosen != f->id)
				continue;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			const char *s = *(char *const *)base;
			/* protobuf-c copies strings NUL-terminated, so an embedded
			 * NUL truncates; what we check is what handlers will see. */
			if (s && !rk_utf8_valid(s, strlen(s))) {
				*field = f->name;
				return false;
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			const ProtobufCMessage *sub = *(ProtobufCMessage *const *)base;
			if (sub && !api_strings_valid(sub, field))
				return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- dispatch */

static bool
is_request(Renkei__V1__Envelope__BodyCase b)
{
	switch (b) {
	case RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_AMEND_POST_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_ACK_LIST_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_SHEET_ADD_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_SHEET_CHANGE_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_SHEET_END_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_OPEN_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_PROPOSE_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_CONFERENCE_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_ACCEPT_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_GET_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_BEGIN_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_GET_REQUEST:
		return true;
	default:
		return false;
	}
}

static void
dispatch(struct api *api, struct api_conn *c, Renkei__V1__Envelope *env)
{
	uint64_t rid = env->request_id;

	switch (env->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST:
		api_handle_login(api, c, rid, env->login_request);
		break;
	case RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST:
		api_handle_resume(api, c, rid, env->resume_request);
		break;
	case RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST:
		api_handle_logout(api, c, rid);
		break;
	case RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST:
		api_handle_whoami(api, c, rid);
		break;
	case RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST:
		api_handle_audit(api, c, env);
		break;
	default:
		api_handle_care(api, c, env);
		break;
	}
}

void
api_on_message(struct api *api, struct api_conn *c, const uint8_t *data,
               size_t len)
{
	Renkei__V1__Envelope *env;
	const char *field = NULL;

	if (c->closing)
		return;
	api->stats.requests++;
	env = renkei__v1__envelope__unpack(NULL, len, data);
	if (env == NULL) {
		LOG_D("API-BAD-ENVELOPE", "conn=%llu bytes=%zu",
		      (unsigned long long)c->id, len);
		api_send_error3(api, c, 0, RK_ERR_INVALID,
		                "the message is not a valid renkei.v1 Envelope", NULL);
		goto prelogin_count;
	}
	if (!api_strings_valid(&env->base, &field)) {
		api_send_error3(api, c, env->request_id, RK_ERR_INVALID,
		                "text is not valid UTF-8 or holds control characters",
		                field);
		goto done;
	}
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY__NOT_SET) {
		api_send_error3(api, c, env->request_id, RK_ERR_INVALID,
		                "the envelope has no request (unknown or missing body)",
		                "body");
		goto done;
	}
	if (!is_request(env->body_case)) {
		api_send_error3(api, c, env->request_id, RK_ERR_INVALID,
		                "this message type is not a request", "body");
		goto done;
	}
	if (api->shutting_down) {
		api_send_error3(api, c, env->request_id, RK_ERR_UNAVAILABLE,
		                "the server is shutting down; reconnect shortly", NULL);
		goto done;
	}
	if (c->sess == NULL &&
	    env->body_case != RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST &&
	    env->body_case != RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST) {
		api_send_error3(api, c, env->request_id, RK_ERR_UNAUTHENTICATED,
		                "log in first", NULL);
		goto done;
	}
	if (c->sess != NULL)
		api_session_used(api, c, rk_now_ms());
	if (env->body_case < 128)
		api->stats.by_type[env->body_case]++;
	dispatch(api, c, env);
done:
	renkei__v1__envelope__free_unpacked(env, NULL);
prelogin_count:
	if (c->sess == NULL && !c->closing &&
	    ++c->prelogin_requests > api->conf->prelogin_max_requests)
		api_conn_close(api, c, API_CLOSE_POLICY,
		               "too many requests before login");
}

/* ------------------------------------------------------------ housekeeping */

void
api_tick(struct api *api, int64_t now_ms)
{
	int64_t mono = rk_mono_ms();
	int64_t login_ms = (int64_t)api->conf->login_timeout_s * 1000;
	int64_t idle_ms = (int64_t)api->conf->session_idle_s * 1000;
	size_t pos = 0;
	uint64_t id;
	void *v;
	int64_t *expired = NULL;
	size_t nexp = 0, cap = 0;

	while (idmap_next(&api->conns, &pos, &id, &v)) {
		struct api_conn *c = v;
		if (c->sess == NULL && !c->closing && !c->login_busy &&
		    mono - c->opened_ms > login_ms)
			api_conn_close(api, c, API_CLOSE_LOGIN_TIMEOUT,
			               "not logged in in time");
	}
	pos = 0;
	while (idmap_next(&api->sessions, &pos, &id, &v)) {
		struct live_session *s = v;
		if (s->ended)
			continue;
		if (s->expires_ms <= now_ms || s->last_use_ms + idle_ms <= now_ms) {
			if (nexp == cap) {
				cap = cap ? cap * 2 : 16;
				expired = rk_realloc(expired, cap * sizeof(*expired));
			}
			expired[nexp++] = s->id;
		}
	}
	for (size_t i = 0; i < nexp; i++)
		api_session_kill(api, expired[i], "session expired");
	free(expired);
	api_grants_expire(api, now_ms);
	/* Abandoned uploads and orphaned photos, once a minute. */
	if (mono - api->last_gc_ms >= 60000) {
		api->last_gc_ms = mono;
		api_media_gc(api);
	}
}

void
api_set_audit_counter(struct api *api, const uint64_t *appended)
{
	api->audit_appended = appended;
}

void
api_shutdown(struct api *api)
{
	api->shutting_down = true;
	api_grants_expire(api, rk_now_ms());
}

void
api_get_stats(const struct api *api, struct api_stats *st)
{
	*st = api->stats;
}

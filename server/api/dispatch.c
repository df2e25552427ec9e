/*
 * The table of verbs, and the checks every message passes before its
 * handler runs, in this order:
 *  1. the bytes must decode as an Envelope (else INVALID_ARGUMENT, with
 *     the request id if field 1 could still be read);
 *  2. every string in it must be valid UTF-8 without NUL or control
 *     characters, and no longer than its maximum (wirecheck.c, on the
 *     bytes; bytes the walk cannot read are refused as not an Envelope
 *     even where the decoder reads them), and the request id must not be
 *     0 (else INVALID_ARGUMENT naming the field);
 *  3. the body must be a request this server knows (else INVALID_ARGUMENT
 *     naming the field "body": an unknown field number decodes as no body,
 *     and a response or event has no row in the table);
 *  4. before login only the rows marked before_login are allowed (else
 *     UNAUTHENTICATED), and only prelogin_max_requests requests at all;
 *     while a session has sign-in steps pending (a one-time password to
 *     change, a second factor to enrol), only the rows allowing them
 *     (else FAILED_PRECONDITION naming "password" or "totp");
 *  5. the handler checks its own fields, then hands work to the store.
 */
#include <stdio.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/live.h"
#include "api/reply.h"
#include "api/wirecheck.h"
#include "util/log.h"
#include "util/text.h"

#define B(name) RENKEI__V1__ENVELOPE__BODY_##name

/* Every request of renkei.v1, in the order of proto/renkei.proto. */
static const struct api_verb verbs[] = {
	{B(LOGIN_REQUEST), api_login, true, "login", API_RATE_AUTH, 0},
	{B(RESUME_REQUEST), api_resume, true, "session.resume", API_RATE_AUTH, 0},
	{B(LOGOUT_REQUEST), api_logout, false, "logout", API_RATE_WRITE,
	 API_PENDING_ALL},
	{B(WHOAMI_REQUEST), api_whoami, false, NULL, API_RATE_LOCAL,
	 API_PENDING_ALL},

	{B(LIST_PATIENTS_REQUEST), api_list_patients, false, "patient.list",
	 API_RATE_READ, 0},
	{B(GET_PATIENT_REQUEST), api_get_patient, false, "patient.read",
	 API_RATE_READ, 0},
	{B(CREATE_POST_REQUEST), api_create_post, false, "post.create",
	 API_RATE_WRITE, 0},
	{B(AMEND_POST_REQUEST), api_amend_post, false, "post.amend", API_RATE_WRITE, 0},
	{B(RETRACT_POST_REQUEST), api_retract_post, false, "post.retract",
	 API_RATE_WRITE, 0},
	{B(TIMELINE_REQUEST), api_timeline, false, "board.read", API_RATE_READ, 0},
	{B(SYNC_REQUEST), api_sync, false, "board.sync", API_RATE_READ, 0},
	{B(ACK_REQUEST), api_ack, false, "post.ack", API_RATE_WRITE, 0},
	{B(ACK_LIST_REQUEST), api_ack_list, false, "post.acks.read", API_RATE_READ, 0},

	{B(SHEET_ADD_REQUEST), api_sheet_add, false, "sheet.add", API_RATE_WRITE, 0},
	{B(SHEET_CHANGE_REQUEST), api_sheet_change, false, "sheet.change",
	 API_RATE_WRITE, 0},
	{B(SHEET_END_REQUEST), api_sheet_end, false, "sheet.end", API_RATE_WRITE, 0},
	{B(SHEET_HISTORY_REQUEST), api_sheet_history, false, "sheet.history.read",
	 API_RATE_READ, 0},
	{B(HANDOFF_OPEN_REQUEST), api_handoff_open, false, "handoff.open",
	 API_RATE_WRITE, 0},
	{B(HANDOFF_PROPOSE_REQUEST), api_handoff_propose, false, "handoff.propose",
	 API_RATE_WRITE, 0},
	{B(HANDOFF_CONFERENCE_REQUEST), api_handoff_conference, false,
	 "handoff.conference", API_RATE_WRITE, 0},
	{B(HANDOFF_ACCEPT_REQUEST), api_handoff_accept, false, "handoff.accept",
	 API_RATE_WRITE, 0},
	{B(HANDOFF_GET_REQUEST), api_handoff_get, false, "handoff.read",
	 API_RATE_READ, 0},
	{B(BREAK_GLASS_REQUEST), api_break_glass, false, "breakglass.start",
	 API_RATE_WRITE, 0},
	{B(FAMILY_INVITE_REQUEST), api_family_invite, false, "family.invite",
	 API_RATE_AUTH, 0},

	{B(AUDIT_QUERY_REQUEST), api_audit_query, false, "audit.query",
	 API_RATE_READ, 0},
	{B(AUDIT_EXPORT_REQUEST), api_audit_export, false, "audit.export",
	 API_RATE_BULK, 0},
	{B(AUDIT_PUBLIC_KEY_REQUEST), api_audit_public_key, false, NULL,
	 API_RATE_LOCAL, 0},

	{B(UPLOAD_BEGIN_REQUEST), api_upload_begin, false, "attachment.upload.begin",
	 API_RATE_WRITE, 0},
	{B(UPLOAD_CHUNK_REQUEST), api_upload_chunk, false, NULL, API_RATE_BULK, 0},
	{B(UPLOAD_FINISH_REQUEST), api_upload_finish, false, "attachment.upload",
	 API_RATE_BULK, 0},
	{B(ATTACHMENT_GET_REQUEST), api_attachment_get, false, "attachment.read",
	 API_RATE_BULK, 0},

	/* The second factor: what ENROL_SECOND_FACTOR is for. */
	{B(TOTP_ENROL_BEGIN_REQUEST), api_totp_enrol_begin, false,
	 "totp.enrol.begin", API_RATE_WRITE, API_PENDING_TOTP},
	{B(TOTP_ENROL_CONFIRM_REQUEST), api_totp_enrol_confirm, false,
	 "totp.enrol.confirm", API_RATE_WRITE, API_PENDING_TOTP},
	{B(TOTP_STATUS_REQUEST), api_totp_status, false, NULL, API_RATE_READ,
	 API_PENDING_ALL},

	/* Administration (admins only; also the local channel, admin.c):
	 * writes that end sessions, a hash first for the one-time ones. */
	{B(ADMIN_CREATE_USER_REQUEST), api_admin, false, "user.create",
	 API_RATE_WRITE, 0},
	{B(ADMIN_DISABLE_USER_REQUEST), api_admin, false, "user.disable",
	 API_RATE_WRITE, 0},
	{B(ADMIN_ENABLE_USER_REQUEST), api_admin, false, "user.enable",
	 API_RATE_WRITE, 0},
	{B(ADMIN_RESET_PASSWORD_REQUEST), api_admin, false, "user.reset_password",
	 API_RATE_WRITE, 0},
	{B(ADMIN_RESET_SECOND_FACTOR_REQUEST), api_admin, false, "user.reset_2fa",
	 API_RATE_WRITE, 0},
	{B(ADMIN_UNLOCK_USER_REQUEST), api_admin, false, "user.unlock",
	 API_RATE_WRITE, 0},
	{B(ADMIN_ORG_ADD_REQUEST), api_admin, false, "org.add", API_RATE_WRITE, 0},
	/* The one-time password's step is finished by this verb. */
	{B(PASSWORD_CHANGE_REQUEST), api_password_change, false,
	 "password.change", API_RATE_AUTH, API_PENDING_ALL},
	/* Sessions and devices: the resume nonce is handed out before login
	 * and discloses nothing, so it has no record (its resume has one). */
	{B(RESUME_CHALLENGE_REQUEST), api_resume_challenge, true, NULL,
	 API_RATE_LOCAL, 0},
	{B(LIST_SESSIONS_REQUEST), api_list_sessions, false, "session.list",
	 API_RATE_READ, 0},
	{B(REVOKE_SESSION_REQUEST), api_revoke_session, false, "session.revoke",
	 API_RATE_WRITE, 0},
	/* Notices (docs/notice.md): my own devices and preferences only.
	 * The VAPID key is public and answered on the spot: no record, as
	 * the audit public key. */
	{B(NOTICE_DEVICE_ADD_REQUEST), api_notice_device_add, false,
	 "notice.device.add", API_RATE_WRITE, 0},
	{B(NOTICE_DEVICE_REMOVE_REQUEST), api_notice_device_remove, false,
	 "notice.device.remove", API_RATE_WRITE, 0},
	{B(NOTICE_LIST_REQUEST), api_notice_list, false, "notice.devices.read",
	 API_RATE_READ, 0},
	{B(NOTICE_PREFS_REQUEST), api_notice_prefs, false, "notice.prefs.set",
	 API_RATE_WRITE, 0},
	{B(NOTICE_TEST_REQUEST), api_notice_test, false, "notice.test",
	 API_RATE_READ, 0},
	{B(NOTICE_VAPID_KEY_REQUEST), api_notice_vapid_key, false, NULL,
	 API_RATE_LOCAL, 0},
	{B(INBOX_REQUEST), api_inbox, false, "inbox.read", API_RATE_READ, 0},
	{B(REQUEST_DONE_REQUEST), api_request_done, false, "request.done",
	 API_RATE_WRITE, 0},
	/* On-call and escalation (oncall.c, docs/oncall.md). */
	{B(SET_CALL_ORDER_REQUEST), api_set_call_order, false, "callorder.set",
	 API_RATE_WRITE, 0},
	{B(ON_CALL_SHOW_REQUEST), api_oncall_show, false, "oncall.rota.read",
	 API_RATE_READ, 0},
	{B(ON_CALL_SET_REQUEST), api_oncall_set, false, "oncall.rota.set",
	 API_RATE_WRITE, 0},
};

#undef B

const struct api_verb *
api_verb_of(Renkei__V1__Envelope__BodyCase body)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].body == body)
			return &verbs[i];
	return NULL;
}

const char *
api_rate_name(enum api_rate rate)
{
	static const char *const names[API_RATE_COUNT] = {
		[API_RATE_AUTH] = "auth",   [API_RATE_READ] = "read",
		[API_RATE_WRITE] = "write", [API_RATE_BULK] = "bulk",
		[API_RATE_LOCAL] = "local",
	};
	return (unsigned)rate < API_RATE_COUNT ? names[rate] : "unknown";
}

/* ---------------------------------------------------------------- dispatch */

/* The checks before the handler (2-4 above); false if refused. */
static bool
admissible(struct api *api, struct api_conn *c, const Renkei__V1__Envelope *env,
           const struct api_verb *v, const struct wirecheck *w)
{
	const char *field = NULL;
	const char *msg = NULL;
	char toolong[160];
	int err = RK_ERR_INVALID;

	/* What the walk could not read was never checked (protobuf-c is
	 * more lenient: it skips a field numbered 0, where the walk stops),
	 * so it is not dispatched, whatever the decoder made of it. */
	if (w->result == WIRECHECK_MALFORMED) {
		msg = "the message is not a valid renkei.v1 Envelope";
	} else if (w->result == WIRECHECK_BAD_TEXT) {
		msg = "text is not valid UTF-8 or holds a NUL or control character";
		field = w->field;
	} else if (w->result == WIRECHECK_TOO_LONG) {
		snprintf(toolong, sizeof(toolong), "%s is longer than %zu bytes",
		         w->field, w->max);
		msg = toolong;
		field = w->field;
	} else if (env->request_id == 0)
		msg = "request_id 0 is for events: number requests from 1",
		field = "request_id";
	else if (env->body_case == RENKEI__V1__ENVELOPE__BODY__NOT_SET)
		msg = "the envelope has no request (unknown or missing body)",
		field = "body";
	else if (v == NULL)
		msg = "this message type is not a request", field = "body";
	else if (api->shutting_down)
		err = RK_ERR_UNAVAILABLE,
		msg = "the server is shutting down; reconnect shortly";
	else if (c->sess == NULL && !v->before_login)
		err = RK_ERR_UNAUTHENTICATED, msg = "log in first";
	else if (c->sess != NULL && (c->sess->pending & ~v->pending_ok) != 0) {
		/* Signing in is not finished: the one-time password first. */
		err = RK_ERR_PRECONDITION;
		if (c->sess->pending & API_PENDING_PASSWORD)
			msg = "change your one-time password first", field = "password";
		else
			msg = "enrol a second factor first", field = "totp";
	}
	if (msg == NULL)
		return true;
	api_reply_error(api, c, env->request_id, err, msg, field);
	return false;
}

/* The session's rate for a class, requests per second; 0: not limited
 * (logins have their own throttle; local answers cost nothing). */
static int
rate_of(const struct api *api, enum api_rate rate)
{
	switch (rate) {
	case API_RATE_READ:
		return api->conf->rate_read_per_s;
	case API_RATE_WRITE:
		return api->conf->rate_write_per_s;
	case API_RATE_BULK:
		return api->conf->rate_bulk_per_s;
	default:
		return 0;
	}
}

/* Take one token of the session's bucket for v's class (refilled at the
 * class's rate, holding up to two seconds of it). 0 if taken; else the
 * milliseconds until one is there. */
static uint32_t
rate_take(struct api *api, struct live_session *s, const struct api_verb *v)
{
	int per_s = rate_of(api, v->rate);
	int64_t now = rk_mono_us();
	double cap = 2.0 * per_s, *t = &s->tokens[v->rate];
	int64_t *at = &s->tokens_us[v->rate];

	_Static_assert(API_RATE_COUNT <= 8, "live_session.tokens holds 8 classes");
	if (per_s <= 0)
		return 0;
	/* A new bucket is full; a used one has refilled since its last use. */
	*t = *at == 0 ? cap : *t + (double)(now - *at) * per_s / 1e6;
	if (*t > cap)
		*t = cap;
	*at = now;
	if (*t >= 1.0) {
		*t -= 1.0;
		return 0;
	}
	return (uint32_t)((1.0 - *t) * 1000.0 / per_s) + 1;
}

void
api_on_message(struct api *api, struct api_conn *c, const uint8_t *data,
               size_t len)
{
	Renkei__V1__Envelope *env;
	struct wirecheck w;

	if (c->closing)
		return;
	api->stats.requests++;
	/* The strings are checked on the bytes, before protobuf-c copies
	 * them; the walk also finds the request id of a message that does
	 * not decode, so that its Error can carry it. */
	api_wirecheck(data, len, &w);
	env = renkei__v1__envelope__unpack(NULL, len, data);
	if (env == NULL) {
		LOG_D("API-BAD-ENVELOPE", "conn=%llu bytes=%zu",
		      (unsigned long long)c->id, len);
		api_reply_error(api, c, w.has_request_id ? w.request_id : 0,
		                RK_ERR_INVALID,
		                "the message is not a valid renkei.v1 Envelope", NULL);
	} else {
		const struct api_verb *v = api_verb_of(env->body_case);
		if (admissible(api, c, env, v, &w)) {
			const ProtobufCFieldDescriptor *f =
				protobuf_c_message_descriptor_get_field(
					&renkei__v1__envelope__descriptor,
					(unsigned)env->body_case);
			struct api_call call = {api, c, env->request_id, v};
			uint32_t wait_ms = 0;

			if (c->sess != NULL) {
				api_session_used(api, c, rk_now_ms());
				wait_ms = rate_take(api, c->sess, v);
			}
			if (env->body_case < 160)
				api->stats.by_type[env->body_case]++;
			api->stats.by_rate[v->rate]++;
			if (wait_ms > 0) {
				api->stats.rate_limited[v->rate]++;
				api_reply_error_retry(api, c, env->request_id,
				                      RK_ERR_EXHAUSTED,
				                      "too many requests: slow down and "
				                      "try again",
				                      wait_ms);
			} else {
				v->handle(&call,
				          *(void *const *)((const char *)env + f->offset));
			}
		}
		renkei__v1__envelope__free_unpacked(env, NULL);
	}
	if (c->sess == NULL && !c->closing &&
	    ++c->prelogin_requests > api->conf->prelogin_max_requests)
		api_conn_close(api, c, API_CLOSE_POLICY,
		               "too many requests before login");
	/* At the cap, stop reading this socket until half are answered
	 * (api_req_release): TCP then pushes back on the client. */
	if (!c->closing && !c->rx_paused && c->inflight >= api->conf->max_inflight &&
	    api->tr.rx_flow != NULL) {
		c->rx_paused = true;
		api->stats.rx_paused++;
		api->tr.rx_flow(c->handle, 0);
	}
}

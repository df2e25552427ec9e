/*
 * The verbs of renkei.v1: one table (dispatch.c) that says, for each
 * request body of the Envelope, which handler runs it, whether it is
 * allowed before login, which audit action its first record carries, and
 * its rate class. A body case with no row is not a request (a response or
 * an event sent to the server is refused).
 *
 * Adding a verb: a message in proto/renkei.proto, one row in the table,
 * one handler in the file of its family (or a new <family>.c).
 */
#ifndef RK_API_DISPATCH_H
#define RK_API_DISPATCH_H

#include <stdbool.h>

#include "api/req.h"
#include "auth/totp.h"

/* How costly a request is, for limits and for /metrics. */
enum api_rate {
	API_RATE_AUTH,   /* login, resume: a password hash or a token lookup */
	API_RATE_READ,   /* answered from a reader thread */
	API_RATE_WRITE,  /* one op through the writer */
	API_RATE_BULK,   /* photos, exports: large bodies */
	API_RATE_LOCAL,  /* answered on the service thread */
	API_RATE_COUNT
};

/* A handler: msg is the Envelope's body message of the row's type. */
typedef void api_handler(const struct api_call *call, const void *msg);

struct api_verb {
	Renkei__V1__Envelope__BodyCase body;
	api_handler *handle;
	bool before_login;    /* allowed without a session */
	const char *audit;    /* action of the request's first record, or NULL */
	enum api_rate rate;
	unsigned pending_ok;  /* enum api_pending: allowed while these are left */
};

/* The row for a body case, or NULL if it is not a request. */
const struct api_verb *api_verb_of(Renkei__V1__Envelope__BodyCase body);
/* The name of a rate class ("auth", "read", ...). */
const char *api_rate_name(enum api_rate rate);

/* ---- handlers, by family (the file that holds them) */

/* sessions.c */
api_handler api_login, api_resume, api_logout, api_whoami;
/* A failure of `login` (a password, a code, a step-up) just made it look
 * attacked (auth_login_failed's *attack): count it for /metrics and log
 * AUTH-ATTACK. The login keeps working from other addresses. */
void api_auth_attacked(struct api *api, const char *login);
/* devices.c */
api_handler api_resume_challenge, api_list_sessions, api_revoke_session;
/* patients.c */
api_handler api_list_patients, api_get_patient;
/* posts.c */
api_handler api_create_post, api_amend_post, api_retract_post;
/* acks.c */
api_handler api_ack, api_ack_list;
/* requests.c: the inbox, requests done, and the overdue scan */
api_handler api_inbox, api_request_done;
/* A request due at due_ms was just stored: look for it then. */
void api_requests_due(struct api *api, int64_t due_ms);
/* From api_tick: mark requests that fell due, tell their authors. */
void api_requests_tick(struct api *api, int64_t now_ms);
/* boards.c */
api_handler api_timeline, api_sync;
/* sheet.c */
api_handler api_sheet_add, api_sheet_change, api_sheet_end, api_sheet_history;
/* handoff.c */
api_handler api_handoff_open, api_handoff_propose, api_handoff_conference,
	api_handoff_accept, api_handoff_get;
/* breakglass.c */
api_handler api_break_glass;
/* family.c */
api_handler api_family_invite;
/* auditq.c */
api_handler api_audit_query, api_audit_export, api_audit_public_key;
/* admin.c: every administration row (the body says which op) */
api_handler api_admin;
/* upload.c */
api_handler api_upload_begin, api_upload_chunk, api_upload_finish;
/* attachment.c */
api_handler api_attachment_get;
/* totp.c */
api_handler api_totp_enrol_begin, api_totp_enrol_confirm, api_totp_status;

/* ---- the second factor for other families (totp.c) */

/* The totp_required setting (TOTP_OFF if unset). */
enum totp_mode api_totp_mode(const struct api *api);

/* Step-up (break-glass, audit export): before a verb's own op. A code
 * sent must be 6 digits, else the call is refused INVALID_ARGUMENT
 * (field "totp_code") and false returned: call before api_req_new. */
bool api_step_up_format_ok(const struct api_call *call, const char *code);
/* Check `code` on the writer (if the user has a confirmed factor: a
 * fresh code, counted by the login throttle when wrong), then call
 * then(r) on the service thread to carry on (it submits r's own op). On
 * a refusal r's records are written with the refusal's outcome and the
 * error answered; `then` is not called. r's journal is kept for `then`. */
void api_step_up(struct api_req *r, const char *code,
                 void (*then)(struct api_req *r));
/* Free r's step-up state (api_req_release). */
void api_step_up_free(struct api_req *r);
/* password.c */
api_handler api_password_change;
/* notices.c */
api_handler api_notice_device_add, api_notice_device_remove, api_notice_list,
	api_notice_prefs, api_notice_test, api_notice_vapid_key;
/* oncall.c */
api_handler api_set_call_order, api_oncall_show, api_oncall_set;

/* ---- housekeeping of those families, for api.c */

/* Drop c's audit export (auditq.c). */
void api_export_drop(struct api *api, struct api_conn *c);
/* Drop it if it has not been fetched from for export_idle_s. */
void api_export_expire(struct api *api, struct api_conn *c, int64_t mono_ms);
/* Record the end of every break-glass grant expired by now_ms, or of all
 * of them when shutting down (breakglass.c). */
void api_grants_expire(struct api *api, int64_t now_ms);
/* Delete abandoned uploads and orphaned photos (attachment.c). */
void api_media_gc(struct api *api);

#endif

/*
 * The notice verbs (proto/renkei.proto, "notices"; docs/notice.md): my
 * devices for notices (Web Push subscriptions, e-mail addresses), their
 * preferences and mine, a test notice, and the VAPID public key.
 *
 * Every field is checked here before anything reaches the store; a bad
 * one is INVALID_ARGUMENT naming it, and nothing changes. Board codes in
 * preferences are the one check that needs the store: a code of a board
 * the user may not read is refused inside the op, before it writes.
 * Everything a user changes is their own: no verb takes a user id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/dispatch.h"
#include "api/reply.h"
#include "notify/notify.h"
#include "util/mem.h"
#include "util/text.h"

#define NOTICES_OFF "notices are off on this server"
#define QUIET_BAD                                                              \
	"quiet hours are HH:MM from 00:00 to 23:59, both or neither, and not "  \
	"equal"
#define NOT_MINE "no such notice device of yours"

enum nkind { N_ADD, N_REMOVE, N_LIST, N_PREFS, N_TEST };

/* Preferences as asked for: boards by code until the op resolves them. */
struct prefs_in {
	bool given;
	struct notify_prefs p;
	char codes[NOTIFY_BOARDS_MAX][CARE_CODE_MAX + 1];
	size_t ncodes;
};

/* One set of preferences as answered: boards back as codes. */
struct prefs_out {
	struct notify_prefs p;
	char (*codes)[CARE_CODE_MAX + 1];
};

struct nreq {
	struct api_req r;
	enum nkind kind;
	struct policy_actor who;
	struct notify_target t; /* N_ADD */
	char label[NOTIFY_LABEL_MAX + 1];
	struct prefs_in in;
	int64_t device_id; /* N_REMOVE, N_PREFS, N_TEST */
	int64_t added_id;
	/* The state after the change (or the test's targets). */
	struct notify_device *devs;
	size_t ndevs;
	struct prefs_out mine;
	struct prefs_out *dev_prefs; /* [ndevs] */
	struct notify_target *targets;
	size_t ntargets;
};

/* ------------------------------------------------------------ checks */

/* "HH:MM" -> minutes; -1 if it is not exactly that. */
static int
hhmm(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	return h < 24 && m < 60 ? h * 60 + m : -1;
}

static bool
prefs_check(const struct api_call *call, const Renkei__V1__NoticePrefs *w,
            struct prefs_in *in)
{
	memset(in, 0, sizeof(*in));
	in->p.quiet_from = in->p.quiet_until = -1;
	if (w == NULL)
		return true;
	in->given = true;
	in->p.urgent_only = w->urgent_only;
	if (w->quiet_from[0] != '\0' || w->quiet_until[0] != '\0') {
		int f = hhmm(w->quiet_from), u = hhmm(w->quiet_until);
		if (f < 0 || (u >= 0 && f == u)) {
			api_refuse(call, RK_ERR_INVALID, QUIET_BAD, "prefs.quiet_from");
			return false;
		}
		if (u < 0) {
			api_refuse(call, RK_ERR_INVALID, QUIET_BAD, "prefs.quiet_until");
			return false;
		}
		in->p.quiet_from = f;
		in->p.quiet_until = u;
	}
	if (w->n_boards > NOTIFY_BOARDS_MAX) {
		api_refuse(call, RK_ERR_INVALID, "at most 50 boards", "prefs.boards");
		return false;
	}
	for (size_t i = 0; i < w->n_boards; i++) {
		if (!api_code_ok(w->boards[i])) {
			api_refuse(call, RK_ERR_INVALID,
			           "prefs.boards names a board you may not read (or no "
			           "such patient)",
			           "prefs.boards");
			return false;
		}
		snprintf(in->codes[i], sizeof(in->codes[i]), "%s", w->boards[i]);
	}
	in->ncodes = w->n_boards;
	return true;
}

static bool
email_ok(const char *s)
{
	static const char local[] = "!#$%&'*+/=?^_`{|}~.-";
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (n < 3 || n > NOTIFY_EMAIL_MAX || at == NULL || at == s ||
	    strchr(at + 1, '@') != NULL || at[1] == '\0')
		return false;
	for (const char *p = s; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(local, *p) != NULL))
			return false;
	for (const char *p = at + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	/* A domain with a dot, not at either end, no empty label. */
	const char *dom = at + 1;
	size_t dl = strlen(dom);
	return strchr(dom, '.') != NULL && dom[0] != '.' && dom[dl - 1] != '.' &&
	       strstr(dom, "..") == NULL;
}

static bool
push_check(const struct api_call *call, const Renkei__V1__WebPushSubscription *w,
           struct notify_target *t)
{
	char origin[WEBPUSH_ENDPOINT_MAX + 1], host[256];
	const char *why = NULL;

	if (webpush_url_origin(w->endpoint, origin, sizeof(origin), host,
	                       sizeof(host), &why) != 0) {
		api_refuse(call, RK_ERR_INVALID, why, "push.endpoint");
		return false;
	}
	if (!call->api->conf->push_allow_private && webpush_host_private(host)) {
		api_refuse(call, RK_ERR_INVALID,
		           "the endpoint is a private or loopback address",
		           "push.endpoint");
		return false;
	}
	if (w->p256dh.len != WEBPUSH_PUB_LEN ||
	    !webpush_point_ok(w->p256dh.data, w->p256dh.len)) {
		api_refuse(call, RK_ERR_INVALID,
		           "p256dh must be a P-256 public key: 65 bytes, an "
		           "uncompressed point on the curve",
		           "push.p256dh");
		return false;
	}
	if (w->auth.len != WEBPUSH_AUTH_LEN) {
		api_refuse(call, RK_ERR_INVALID, "auth must be 16 bytes", "push.auth");
		return false;
	}
	t->channel = NOTIFY_PUSH;
	snprintf(t->endpoint, sizeof(t->endpoint), "%s", w->endpoint);
	memcpy(t->p256dh, w->p256dh.data, WEBPUSH_PUB_LEN);
	memcpy(t->auth, w->auth.data, WEBPUSH_AUTH_LEN);
	return true;
}

/* ------------------------------------------------------------ the op */

static void
prefs_out_free(struct prefs_out *o)
{
	free(o->codes);
	o->codes = NULL;
}

static void
nreq_fini(struct api_req *r)
{
	struct nreq *q = (struct nreq *)r;

	prefs_out_free(&q->mine);
	for (size_t i = 0; q->dev_prefs != NULL && i < q->ndevs; i++)
		prefs_out_free(&q->dev_prefs[i]);
	free(q->dev_prefs);
	free(q->devs);
	free(q->targets);
	OPENSSL_cleanse(&q->t, sizeof(q->t));
}

/* Board codes -> ids, each a board the user may read now. */
static int
resolve(struct store_conn *sc, struct nreq *q)
{
	int64_t now = rk_now_ms();

	q->in.p.nboards = 0;
	for (size_t i = 0; i < q->in.ncodes; i++) {
		int64_t id;
		int rc = care_board_readable(sc, &q->who, q->in.codes[i], now, &id);
		if (rc == RK_ERR_STORE)
			return rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable",
			               NULL);
		if (rc != RK_OK)
			return rk_fail(&q->r.st, RK_ERR_INVALID,
			               "prefs.boards names a board you may not read (or "
			               "no such patient)",
			               "prefs.boards");
		q->in.p.boards[q->in.p.nboards++] = id;
	}
	return RK_OK;
}

static int
prefs_codes(struct store_conn *sc, const struct notify_prefs *p,
            struct prefs_out *o)
{
	o->p = *p;
	o->codes = rk_calloc(p->nboards ? p->nboards : 1, sizeof(*o->codes));
	for (size_t i = 0; i < p->nboards; i++)
		if (care_patient_code(sc, p->boards[i], o->codes[i],
		                      sizeof(o->codes[i])) != RK_OK)
			return RK_ERR_STORE;
	return RK_OK;
}

/* My devices and preferences as they are now. */
static int
load_state(struct store_conn *sc, struct nreq *q)
{
	struct notify_prefs up;

	if (notify_dev_list(sc, q->who.user_id, &q->devs, &q->ndevs, &up) != RK_OK ||
	    prefs_codes(sc, &up, &q->mine) != RK_OK)
		goto fail;
	q->dev_prefs = rk_calloc(q->ndevs ? q->ndevs : 1, sizeof(*q->dev_prefs));
	for (size_t i = 0; i < q->ndevs; i++)
		if (prefs_codes(sc, &q->devs[i].prefs, &q->dev_prefs[i]) != RK_OK)
			goto fail;
	return RK_OK;
fail:
	return rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

static int
nreq_run(struct store_conn *sc, struct store_op *op)
{
	struct nreq *q = (struct nreq *)op;
	int64_t uid = q->who.user_id;
	int rc = RK_OK;

	switch (q->kind) {
	case N_ADD:
		if ((rc = resolve(sc, q)) != RK_OK)
			return rc;
		rc = notify_dev_add(sc, uid, &q->t, q->label,
		                    q->r.api->conf->notice_max_devices, rk_now_ms(),
		                    &q->added_id, &q->r.st);
		if (rc == RK_OK)
			api_audit_object_id(q->r.au, (uint64_t)q->added_id);
		if (rc == RK_OK && q->in.given)
			rc = notify_prefs_set(sc, uid, q->added_id, &q->in.p, &q->r.st);
		break;
	case N_REMOVE:
		rc = notify_dev_remove(sc, uid, q->device_id, &q->r.st);
		break;
	case N_PREFS:
		if ((rc = resolve(sc, q)) != RK_OK)
			return rc;
		rc = notify_prefs_set(sc, uid, q->device_id, &q->in.p, &q->r.st);
		break;
	case N_LIST:
		break;
	case N_TEST: {
		struct notify_prefs up;
		if (notify_dev_list(sc, uid, &q->devs, &q->ndevs, &up) != RK_OK)
			return rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable",
			               NULL);
		q->targets = rk_calloc(q->ndevs ? q->ndevs : 1, sizeof(*q->targets));
		for (size_t i = 0; i < q->ndevs; i++)
			if (q->device_id == 0 || q->devs[i].t.device_id == q->device_id)
				q->targets[q->ntargets++] = q->devs[i].t;
		if (q->device_id != 0 && q->ntargets == 0)
			return rk_fail(&q->r.st, RK_ERR_NOT_FOUND, NOT_MINE, "device_id");
		return RK_OK;
	}
	}
	if (rc != RK_OK)
		return rc;
	return load_state(sc, q);
}

static void
wire_prefs(const struct prefs_out *o, Renkei__V1__NoticePrefs *w, char *from,
           char *until, char **codes)
{
	renkei__v1__notice_prefs__init(w);
	w->urgent_only = o->p.urgent_only;
	from[0] = until[0] = '\0';
	if (o->p.quiet_from >= 0 && o->p.quiet_until >= 0) {
		unsigned f = (unsigned)o->p.quiet_from % 1440,
		         u = (unsigned)o->p.quiet_until % 1440;
		snprintf(from, 8, "%02u:%02u", f / 60 % 24, f % 60 % 60);
		snprintf(until, 8, "%02u:%02u", u / 60 % 24, u % 60 % 60);
	}
	w->quiet_from = from;
	w->quiet_until = until;
	for (size_t i = 0; i < o->p.nboards; i++)
		codes[i] = o->codes[i];
	w->n_boards = o->p.nboards;
	w->boards = codes;
}

/* Strings of one answered NoticePrefs. */
struct wire_prefs_buf {
	char from[8], until[8];
	char *codes[NOTIFY_BOARDS_MAX];
};

static void
devices_ok(struct api_req *r, struct api_conn *c)
{
	struct nreq *q = (struct nreq *)r;
	Renkei__V1__NoticeDevicesResponse dr = RENKEI__V1__NOTICE_DEVICES_RESPONSE__INIT;
	Renkei__V1__NoticePrefs mine;
	struct wire_prefs_buf mb;
	size_t n = q->ndevs;
	Renkei__V1__NoticeDevice *d = rk_calloc(n + 1, sizeof(*d));
	Renkei__V1__NoticeDevice **dp = rk_calloc(n + 1, sizeof(*dp));
	Renkei__V1__NoticePrefs *wp = rk_calloc(n + 1, sizeof(*wp));
	struct wire_prefs_buf *pb = rk_calloc(n + 1, sizeof(*pb));
	char(*hosts)[256] = rk_calloc(n + 1, sizeof(*hosts));

	if (c == NULL)
		goto out;
	wire_prefs(&q->mine, &mine, mb.from, mb.until, mb.codes);
	for (size_t i = 0; i < n; i++) {
		const struct notify_device *v = &q->devs[i];
		char origin[WEBPUSH_ENDPOINT_MAX + 1];
		const char *why;
		renkei__v1__notice_device__init(&d[i]);
		d[i].id = v->t.device_id;
		d[i].channel = v->t.channel == NOTIFY_EMAIL
		                       ? RENKEI__V1__NOTICE_CHANNEL__EMAIL
		                       : RENKEI__V1__NOTICE_CHANNEL__WEB_PUSH;
		if (v->t.channel == NOTIFY_EMAIL)
			d[i].email = (char *)v->t.endpoint;
		else if (webpush_url_origin(v->t.endpoint, origin, sizeof(origin),
		                            hosts[i], sizeof(hosts[i]), &why) == 0)
			d[i].push_host = hosts[i];
		d[i].label = (char *)v->label;
		d[i].created_at_ms = v->created_ms;
		wire_prefs(&q->dev_prefs[i], &wp[i], pb[i].from, pb[i].until,
		           pb[i].codes);
		d[i].prefs = &wp[i];
		dp[i] = &d[i];
	}
	dr.n_devices = n;
	dr.devices = dp;
	dr.prefs = &mine;
	dr.added_id = q->added_id;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE, &dr);
out:
	free(d);
	free(dp);
	free(wp);
	free(pb);
	free(hosts);
}

static void
test_ok(struct api_req *r, struct api_conn *c)
{
	struct nreq *q = (struct nreq *)r;
	Renkei__V1__NoticeTestResponse tr = RENKEI__V1__NOTICE_TEST_RESPONSE__INIT;

	notify_enqueue(r->api->notify, q->targets, q->ntargets, NOTIFY_TEST, true,
	               1);
	if (c == NULL)
		return;
	tr.queued = (uint32_t)q->ntargets;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_NOTICE_TEST_RESPONSE, &tr);
}

static struct nreq *
nreq_new(const struct api_call *call, enum nkind kind)
{
	struct nreq *q = api_req_new(sizeof(*q), call);

	q->kind = kind;
	q->who = api_actor(call->c);
	q->r.op.run = nreq_run;
	q->r.ok = kind == N_TEST ? test_ok : devices_ok;
	q->r.fini = nreq_fini;
	return q;
}

/* ------------------------------------------------------------ verbs */

void
api_notice_device_add(const struct api_call *call, const void *msg)
{
	const Renkei__V1__NoticeDeviceAddRequest *m = msg;
	struct notify_target t;
	struct prefs_in in;
	struct nreq *q;

	memset(&t, 0, sizeof(t));
	if ((m->push != NULL) == (m->email[0] != '\0')) {
		api_refuse(call, RK_ERR_INVALID, "give either push or email", "push");
		return;
	}
	if (m->push != NULL && !push_check(call, m->push, &t))
		return;
	if (m->push == NULL) {
		if (!email_ok(m->email)) {
			api_refuse(call, RK_ERR_INVALID, "not an e-mail address", "email");
			return;
		}
		t.channel = NOTIFY_EMAIL;
		snprintf(t.endpoint, sizeof(t.endpoint), "%s", m->email);
	}
	if (strlen(m->label) > NOTIFY_LABEL_MAX) {
		api_refuse(call, RK_ERR_INVALID, "label is longer than 64 bytes", "label");
		return;
	}
	if (!prefs_check(call, m->prefs, &in))
		return;
	q = nreq_new(call, N_ADD);
	q->t = t;
	q->in = in;
	snprintf(q->label, sizeof(q->label), "%s", m->label);
	OPENSSL_cleanse(&t, sizeof(t));
	api_req_write(&q->r);
}

void
api_notice_device_remove(const struct api_call *call, const void *msg)
{
	const Renkei__V1__NoticeDeviceRemoveRequest *m = msg;
	struct nreq *q;

	if (m->device_id <= 0) {
		api_refuse(call, RK_ERR_NOT_FOUND, NOT_MINE, "device_id");
		return;
	}
	q = nreq_new(call, N_REMOVE);
	q->device_id = m->device_id;
	api_audit_object_id(q->r.au, (uint64_t)m->device_id);
	api_req_write(&q->r);
}

void
api_notice_list(const struct api_call *call, const void *msg)
{
	(void)msg;
	api_req_read(&nreq_new(call, N_LIST)->r);
}

void
api_notice_prefs(const struct api_call *call, const void *msg)
{
	const Renkei__V1__NoticePrefsRequest *m = msg;
	struct prefs_in in;
	struct nreq *q;

	if (m->device_id < 0) {
		api_refuse(call, RK_ERR_NOT_FOUND, NOT_MINE, "device_id");
		return;
	}
	if (m->prefs == NULL) {
		api_refuse(call, RK_ERR_INVALID, "give the preferences", "prefs");
		return;
	}
	if (!prefs_check(call, m->prefs, &in))
		return;
	q = nreq_new(call, N_PREFS);
	q->in = in;
	q->device_id = m->device_id;
	if (m->device_id == 0)
		audit_entry_set_object(q->r.au, "user");
	else
		api_audit_object_id(q->r.au, (uint64_t)m->device_id);
	api_req_write(&q->r);
}

void
api_notice_test(const struct api_call *call, const void *msg)
{
	const Renkei__V1__NoticeTestRequest *m = msg;
	struct nreq *q;

	if (call->api->notify == NULL || !call->api->conf->notice_enabled) {
		api_refuse(call, RK_ERR_PRECONDITION, NOTICES_OFF, NULL);
		return;
	}
	if (m->device_id < 0) {
		api_refuse(call, RK_ERR_NOT_FOUND, NOT_MINE, "device_id");
		return;
	}
	q = nreq_new(call, N_TEST);
	q->device_id = m->device_id;
	if (m->device_id > 0)
		api_audit_object_id(q->r.au, (uint64_t)m->device_id);
	api_req_read(&q->r);
}

void
api_notice_vapid_key(const struct api_call *call, const void *msg)
{
	Renkei__V1__NoticeVapidKeyResponse vr = RENKEI__V1__NOTICE_VAPID_KEY_RESPONSE__INIT;
	uint8_t pub[WEBPUSH_PUB_LEN];
	char b64[100];

	(void)msg;
	if (call->api->notify == NULL) {
		api_refuse(call, RK_ERR_PRECONDITION, NOTICES_OFF, NULL);
		return;
	}
	notify_vapid_public(call->api->notify, pub);
	webpush_b64url_encode(pub, sizeof(pub), b64);
	vr.public_key.data = pub;
	vr.public_key.len = sizeof(pub);
	vr.public_key_b64url = b64;
	api_reply(call->api, call->c, call->rid,
	          RENKEI__V1__ENVELOPE__BODY_NOTICE_VAPID_KEY_RESPONSE, &vr);
}

/*
 * Subscriptions and live delivery (sub.h). Connections also keep the list
 * of boards they watch, to leave them all when they close or re-sync.
 */
#include <stdlib.h>
#include <string.h>

#include "api/notice.h"
#include "api/record.h"
#include "api/sub.h"
#include "api/wire.h"
#include "util/frame.h"
#include "util/mem.h"
#include "util/text.h"

struct sub_entry {
	uint64_t conn_id;
	int max_vis;
	int64_t valid_until_ms;
};

struct board_subs {
	struct sub_entry *v;
	size_t n, cap;
	char *code; /* the patient code, for audit records */
};

void
api_sub_clear(struct api *api, struct api_conn *c)
{
	void *ends = NULL;

	/* The end of each live watch is recorded: with its start (the
	 * board.sync record) it gives how long the board was open. */
	for (size_t i = 0; i < c->nwatch && c->sess != NULL; i++) {
		struct board_subs *b = idmap_get(&api->boards, (uint64_t)c->watch[i]);
		if (b != NULL && b->code != NULL)
			api_audit_to(&ends, c, "board.watch.end", b->code, NULL, NULL);
	}
	api_audit_fire(api, ends);
	for (size_t i = 0; i < c->nwatch; i++) {
		struct board_subs *b = idmap_get(&api->boards, (uint64_t)c->watch[i]);
		if (b == NULL)
			continue;
		for (size_t k = 0; k < b->n; k++) {
			if (b->v[k].conn_id == c->id) {
				b->v[k] = b->v[--b->n];
				break;
			}
		}
		if (b->n == 0) {
			idmap_del(&api->boards, (uint64_t)c->watch[i]);
			free(b->v);
			free(b->code);
			free(b);
		}
	}
	free(c->watch);
	c->watch = NULL;
	c->nwatch = 0;
}

void
api_sub_set(struct api *api, struct api_conn *c, const struct care_board *boards,
            size_t n)
{
	api_sub_clear(api, c);
	c->watch = rk_calloc(n ? n : 1, sizeof(*c->watch));
	for (size_t i = 0; i < n; i++) {
		uint64_t key = (uint64_t)boards[i].patient_id;
		struct board_subs *b = idmap_get(&api->boards, key);
		if (b == NULL) {
			b = rk_calloc(1, sizeof(*b));
			b->code = rk_strdup(boards[i].code);
			idmap_set(&api->boards, key, b);
		}
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 4;
			b->v = rk_realloc(b->v, b->cap * sizeof(*b->v));
		}
		b->v[b->n].conn_id = c->id;
		b->v[b->n].max_vis = boards[i].max_visibility;
		b->v[b->n].valid_until_ms = boards[i].valid_until_ms;
		b->n++;
		c->watch[c->nwatch++] = boards[i].patient_id;
	}
}

/* Drop board `pid` from c's own list of watched boards. */
static void
watch_drop(struct api_conn *c, int64_t pid)
{
	for (size_t i = 0; i < c->nwatch; i++) {
		if (c->watch[i] == pid) {
			c->watch[i] = c->watch[--c->nwatch];
			return;
		}
	}
}

void
api_sub_access(struct api *api, const struct care_access_change *ch)
{
	struct board_subs *b = idmap_get(&api->boards, (uint64_t)ch->patient_id);

	if (b == NULL)
		return;
	for (size_t k = 0; k < b->n;) {
		struct api_conn *c = idmap_get(&api->conns, b->v[k].conn_id);
		if (c == NULL || c->sess == NULL || c->sess->user.id != ch->user_id) {
			k++;
			continue;
		}
		if (ch->max_visibility == VIS_NONE) {
			watch_drop(c, ch->patient_id);
			b->v[k] = b->v[--b->n];
			continue;
		}
		b->v[k].max_vis = ch->max_visibility;
		b->v[k].valid_until_ms = ch->until_ms;
		k++;
	}
	if (b->n == 0) {
		idmap_del(&api->boards, (uint64_t)ch->patient_id);
		free(b->v);
		free(b->code);
		free(b);
	}
}

void
api_sub_free_all(struct api *api)
{
	size_t pos = 0;
	uint64_t id;
	void *v;

	while (idmap_next(&api->boards, &pos, &id, &v)) {
		struct board_subs *b = v;
		free(b->v);
		free(b->code);
		free(b);
	}
	idmap_fini(&api->boards);
}

/* Queue env (encoded once) to every watcher of patient_id who may see
 * `visibility`. */
static void
publish(struct api *api, int64_t patient_id, int visibility,
        const Renkei__V1__Envelope *env)
{
	struct board_subs *b = idmap_get(&api->boards, (uint64_t)patient_id);
	struct frame *f;
	int64_t now;
	size_t len;

	if (b == NULL || b->n == 0)
		return;
	len = renkei__v1__envelope__get_packed_size(env);
	f = frame_new(len);
	renkei__v1__envelope__pack(env, frame_payload(f));
	now = rk_now_ms();
	for (size_t k = 0; k < b->n; k++) {
		struct sub_entry *e = &b->v[k];
		struct api_conn *c;
		if (visibility > e->max_vis ||
		    (e->valid_until_ms != 0 && e->valid_until_ms <= now))
			continue;
		c = idmap_get(&api->conns, e->conn_id);
		if (c == NULL || c->closing)
			continue;
		if (api->tr.send(c->handle, f) != 0)
			c->closing = true;
		else
			api->stats.deliveries++;
	}
	frame_unref(&f);
}

void
api_publish_post(struct api *api, const struct care_post *p)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Event ev = RENKEI__V1__EVENT__INIT;
	Renkei__V1__PostEvent pe = RENKEI__V1__POST_EVENT__INIT;
	struct api_post_wire w;

	api_post_to_wire(p, &w);
	pe.post = &w.post;
	pe.cursor = (uint64_t)p->id;
	ev.kind_case = RENKEI__V1__EVENT__KIND_POST;
	ev.post = &pe;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_EVENT;
	env.event = &ev;
	publish(api, p->patient_id, p->visibility, &env);
	api_post_wire_fini(&w);
	api_notice_post(api, p);
}

void
api_publish_ack(struct api *api, const struct care_post *p,
                const struct auth_user *u, int64_t acked_ms)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Event ev = RENKEI__V1__EVENT__INIT;
	Renkei__V1__AckEvent ae = RENKEI__V1__ACK_EVENT__INIT;
	Renkei__V1__Ack ack = RENKEI__V1__ACK__INIT;
	Renkei__V1__User wu;
	Renkei__V1__Organisation org;

	api_user_to_wire(u, &wu, &org);
	ack.user = &wu;
	ack.acked_at_ms = acked_ms;
	ae.patient = (char *)p->patient_code;
	ae.post_id = (uint64_t)p->id;
	ae.ack = &ack;
	ev.kind_case = RENKEI__V1__EVENT__KIND_ACK;
	ev.ack = &ae;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_EVENT;
	env.event = &ev;
	publish(api, p->patient_id, p->visibility, &env);
}

void
api_publish_request(struct api *api, const struct care_post *p,
                    const struct auth_user *u)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Event ev = RENKEI__V1__EVENT__INIT;
	Renkei__V1__RequestEvent re = RENKEI__V1__REQUEST_EVENT__INIT;
	Renkei__V1__User wu;
	Renkei__V1__Organisation org;

	re.patient = (char *)p->patient_code;
	re.post_id = (uint64_t)p->id;
	if (u != NULL) {
		api_user_to_wire(u, &wu, &org);
		re.done_by = &wu;
		re.done_at_ms = p->done_ms;
	} else {
		re.overdue = true;
	}
	ev.kind_case = RENKEI__V1__EVENT__KIND_REQUEST;
	ev.request = &re;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_EVENT;
	env.event = &ev;
	publish(api, p->patient_id, p->visibility, &env);
}

/*
 * Domain structs -> protobuf (wire.h).
 */
#include <stdlib.h>
#include <string.h>

#include "api/wire.h"
#include "util/mem.h"
#include "util/text.h"

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

void
api_member_to_wire(const struct care_member *m, Renkei__V1__User *u,
                   Renkei__V1__Organisation *o, bool with_org)
{
	renkei__v1__user__init(u);
	u->login = (char *)m->login;
	u->display_name = (char *)m->display_name;
	u->profession = (Renkei__V1__Profession)m->profession;
	if (with_org && m->org_code[0] != '\0') {
		renkei__v1__organisation__init(o);
		o->code = (char *)m->org_code;
		o->name = (char *)m->org_name;
		u->organisation = o;
	}
}

void
api_attachment_to_wire(const struct care_attachment *a, Renkei__V1__Attachment *w,
                       char hex[65])
{
	renkei__v1__attachment__init(w);
	rk_hex_encode(a->sha256, 32, hex);
	w->id = (uint64_t)a->id;
	w->mime = (char *)a->mime;
	w->size = (uint64_t)a->size;
	w->sha256 = hex;
	w->width = a->width;
	w->height = a->height;
	w->file_name = (char *)a->file_name;
	w->thumbnail_size = (uint64_t)a->thumb_size;
}

void
api_post_to_wire(const struct care_post *p, struct api_post_wire *w)
{
	size_t natt = p->natt < CARE_ATTACH_MAX ? p->natt : CARE_ATTACH_MAX;

	renkei__v1__post__init(&w->post);
	renkei__v1__user__init(&w->author);
	renkei__v1__vitals__init(&w->vitals);
	w->author.login = (char *)p->author_login;
	w->author.display_name = (char *)p->author_name;
	w->author.profession = (Renkei__V1__Profession)p->author_profession;
	w->vitals.temperature_dc = p->vitals.temperature_dc;
	w->vitals.bp_systolic = p->vitals.bp_systolic;
	w->vitals.bp_diastolic = p->vitals.bp_diastolic;
	w->vitals.pulse = p->vitals.pulse;
	w->vitals.spo2 = p->vitals.spo2;
	w->vitals.respiration = p->vitals.respiration;
	w->post.id = (uint64_t)p->id;
	w->post.patient = (char *)p->patient_code;
	w->post.seq = (uint64_t)p->seq;
	w->post.author = &w->author;
	w->post.kind = (Renkei__V1__PostKind)p->kind;
	w->post.visibility = (Renkei__V1__Visibility)p->visibility;
	w->post.urgent = p->urgent;
	w->post.text = p->text ? p->text : (char *)"";
	if (memcmp(&p->vitals, &(struct care_vitals){0}, sizeof(p->vitals)) != 0)
		w->post.vitals = &w->vitals;
	w->post.client_id = (char *)p->client_id;
	w->post.created_at_ms = p->created_ms;
	w->post.amends_post_id = (uint64_t)p->amends_id;
	w->post.amended_by_post_id = (uint64_t)p->amended_by;
	w->post.retracts_post_id = (uint64_t)p->retracts_id;
	w->post.retracted_by_post_id = (uint64_t)p->retracted_by;
	for (size_t i = 0; i < natt; i++) {
		api_attachment_to_wire(&p->att[i], &w->att[i], w->sha_hex[i]);
		w->attp[i] = &w->att[i];
	}
	w->post.n_attachments = natt;
	w->post.attachments = w->attp;
	w->to = NULL;
	w->top = NULL;
	w->owner = NULL;
	if (p->nto > 0) {
		w->to = rk_calloc(p->nto, sizeof(*w->to));
		w->top = rk_calloc(p->nto, sizeof(*w->top));
		for (size_t i = 0; i < p->nto; i++) {
			renkei__v1__user__init(&w->to[i]);
			w->to[i].login = (char *)p->to[i].login;
			w->to[i].display_name = (char *)p->to[i].name;
			w->to[i].profession = (Renkei__V1__Profession)p->to[i].profession;
			w->top[i] = &w->to[i];
			if (p->request && p->to[i].id == p->owner_id)
				w->owner = &w->to[i];
		}
		w->post.n_to = p->nto;
		w->post.to = w->top;
		w->post.request = p->request;
		w->post.owner = w->owner;
		w->post.due_at_ms = p->due_ms;
		w->post.done_at_ms = p->done_ms;
		w->post.overdue = p->request && p->done_ms == 0 && p->overdue_ms != 0;
	}
}

void
api_post_wire_fini(struct api_post_wire *w)
{
	free(w->to);
	free(w->top);
	w->to = w->owner = NULL;
	w->top = NULL;
}

void
api_posts_to_wire(const struct care_page *pg, struct api_posts_wire *w)
{
	w->n = pg->n;
	w->ptrs = rk_calloc(pg->n ? pg->n : 1, sizeof(*w->ptrs));
	w->w = rk_calloc(pg->n ? pg->n : 1, sizeof(*w->w));
	for (size_t i = 0; i < pg->n; i++) {
		api_post_to_wire(&pg->posts[i], &w->w[i]);
		w->ptrs[i] = &w->w[i].post;
	}
}

void
api_posts_wire_fini(struct api_posts_wire *w)
{
	for (size_t i = 0; i < w->n; i++)
		api_post_wire_fini(&w->w[i]);
	free(w->ptrs);
	free(w->w);
}

void
api_sheet_to_wire(const struct care_member *m, size_t n,
                  struct api_sheet_wire *w)
{
	w->n = n;
	w->ms = rk_calloc(n + 1, sizeof(*w->ms));
	w->ptrs = rk_calloc(n + 1, sizeof(*w->ptrs));
	w->users = rk_calloc(n + 1, sizeof(*w->users));
	w->orgs = rk_calloc(n + 1, sizeof(*w->orgs));
	w->dates = rk_calloc(n + 1, sizeof(*w->dates));
	for (size_t i = 0; i < n; i++) {
		renkei__v1__sheet_member__init(&w->ms[i]);
		api_member_to_wire(&m[i], &w->users[i], &w->orgs[i], true);
		w->ms[i].user = &w->users[i];
		w->ms[i].team_role = (char *)m[i].team_role;
		w->ms[i].primary = m[i].primary;
		w->ms[i].read_only = m[i].read_only;
		w->ms[i].contact = (char *)m[i].contact;
		w->ms[i].call_slot = (uint32_t)m[i].call_slot;
		w->ms[i].on_call = m[i].on_call;
		care_ms_to_date(m[i].valid_from_ms, w->dates[i][0]);
		care_ms_to_date(m[i].valid_until_ms ? m[i].valid_until_ms - 1 : 0,
		                w->dates[i][1]);
		w->ms[i].valid_from = w->dates[i][0];
		w->ms[i].valid_until = w->dates[i][1];
		w->ptrs[i] = &w->ms[i];
	}
}

void
api_sheet_wire_fini(struct api_sheet_wire *w)
{
	free(w->ms);
	free(w->ptrs);
	free(w->users);
	free(w->orgs);
	free(w->dates);
}

void
api_patient_to_wire(const struct care_patient *p, Renkei__V1__Patient *w)
{
	renkei__v1__patient__init(w);
	w->code = (char *)p->code;
	w->name = (char *)p->name;
	w->kana = (char *)p->kana;
	w->birth_date = (char *)p->birth_date;
	w->sex = (char *)p->sex;
	w->area = (char *)p->area;
	w->summary = p->summary;
	w->wishes = p->wishes;
	w->last_seq = (uint64_t)p->last_seq;
	w->my_role = (char *)p->my_role;
	w->unconfirmed = p->unconfirmed > UINT32_MAX ? UINT32_MAX : (uint32_t)p->unconfirmed;
}

void
api_vitals_from_wire(const Renkei__V1__Vitals *w, struct care_vitals *v)
{
	memset(v, 0, sizeof(*v));
	if (w == NULL)
		return;
	v->temperature_dc = w->temperature_dc;
	v->bp_systolic = w->bp_systolic;
	v->bp_diastolic = w->bp_diastolic;
	v->pulse = w->pulse;
	v->spo2 = w->spo2;
	v->respiration = w->respiration;
}

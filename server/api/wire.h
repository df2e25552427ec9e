/*
 * Domain structs -> protobuf messages, for answers and events. Nothing
 * here allocates wire strings: they are borrowed from the domain struct,
 * which must outlive the message. The lists that need arrays say so and
 * have a _fini.
 */
#ifndef RK_API_WIRE_H
#define RK_API_WIRE_H

#include "auth/auth.h"
#include "care/care.h"
#include "renkei.pb-c.h"

/* A wire User (and its organisation) from an account. */
void api_user_to_wire(const struct auth_user *u, Renkei__V1__User *w,
                      Renkei__V1__Organisation *org);

/* A wire User from a sheet member (organisation only if with_org). */
void api_member_to_wire(const struct care_member *m, Renkei__V1__User *u,
                        Renkei__V1__Organisation *o, bool with_org);

/* A wire Attachment; hex[65] holds the digest text. */
void api_attachment_to_wire(const struct care_attachment *a,
                            Renkei__V1__Attachment *w, char hex[65]);

/* A wire Post with the parts it points to. */
struct api_post_wire {
	Renkei__V1__Post post;
	Renkei__V1__User author;
	Renkei__V1__Vitals vitals;
	Renkei__V1__Attachment att[CARE_ATTACH_MAX];
	Renkei__V1__Attachment *attp[CARE_ATTACH_MAX];
	char sha_hex[CARE_ATTACH_MAX][65];
	Renkei__V1__User *to, **top, *owner; /* allocated only when addressed */
};
/* Free what api_post_to_wire allocated (the addressees), not w. */
void api_post_to_wire(const struct care_post *p, struct api_post_wire *w);
void api_post_wire_fini(struct api_post_wire *w);

/* A page of posts: the pointer array to put in a response, and the wire
 * posts behind it. Free both with api_posts_wire_fini. */
struct api_posts_wire {
	Renkei__V1__Post **ptrs;
	struct api_post_wire *w;
	size_t n;
};
void api_posts_to_wire(const struct care_page *pg, struct api_posts_wire *w);
void api_posts_wire_fini(struct api_posts_wire *w);

/* A sheet (SheetMember list) with what it points to. */
struct api_sheet_wire {
	size_t n;
	Renkei__V1__SheetMember *ms, **ptrs;
	Renkei__V1__User *users;
	Renkei__V1__Organisation *orgs;
	char (*dates)[2][11];
};
void api_sheet_to_wire(const struct care_member *m, size_t n,
                       struct api_sheet_wire *w);
void api_sheet_wire_fini(struct api_sheet_wire *w);

/* A patient's record. */
void api_patient_to_wire(const struct care_patient *p, Renkei__V1__Patient *w);

/* Wire vitals -> domain (NULL: none). */
void api_vitals_from_wire(const Renkei__V1__Vitals *w, struct care_vitals *v);

#endif

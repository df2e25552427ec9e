/*
 * Notices from api's point of view: who should hear that something is
 * waiting for them (issue 13). What a notice says is fixed by its reason
 * and a count, never anything of the patient or the post: the notify
 * module (server/notify/) batches, rate-limits and delivers it (Web Push,
 * e-mail) on a thread of its own.
 *
 * Called on the service thread, after the commit of what it is about.
 */
#ifndef RK_API_NOTICE_H
#define RK_API_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/internal.h"

enum api_notice_why {
	API_NOTICE_POST = 0,      /* a new post on a board I may read */
	API_NOTICE_ADDRESSED = 1, /* a post or request addressed to me */
	API_NOTICE_OVERDUE = 2,   /* a request I made is past its due time */
	API_NOTICE_ESCALATION = 3, /* an urgent post no one confirmed */
	API_NOTICE_WHYS
};

/* A post was committed (api_publish_post calls this): the members of its
 * board who may read it, but not its author, may hear of it. */
void api_notice_post(struct api *api, const struct care_post *p);

/* These users (ids) should hear of post_id on patient_id's board, for
 * `why`. urgent: quiet hours do not hold it back. */
void api_notice_users(struct api *api, int64_t patient_id, int64_t post_id,
                      const int64_t *user_ids, size_t n,
                      enum api_notice_why why, bool urgent);

/* Look up the posts gathered for notices (api_tick, about once a
 * second), and free what is gathered (api_free). */
void api_notice_tick(struct api *api);
void api_notice_free(struct api *api);

#endif

/*
 * Subscriptions: which connection watches which board, and live delivery.
 *
 * Each board with watchers has a list of (connection id, highest
 * visibility the watcher may see, end of their sheet membership). A post
 * committed on the board is encoded once into one frame, and that frame
 * is queued (by reference) to every watcher allowed to see it. Delivery
 * happens in done() order, which for writes is commit order, so each
 * board's events go out in sequence order.
 */
#ifndef RK_API_SUB_H
#define RK_API_SUB_H

#include "api/internal.h"

/* c now watches exactly these boards (replacing what it watched). */
void api_sub_set(struct api *api, struct api_conn *c,
                 const struct care_board *boards, size_t n);
/* c watches nothing; each watch's end is recorded. */
void api_sub_clear(struct api *api, struct api_conn *c);
void api_sub_free_all(struct api *api);
/* Apply a committed change of someone's access to live subscriptions:
 * update or drop that user's watch of that board, on every connection. */
void api_sub_access(struct api *api, const struct care_access_change *ch);
/* Live events for committed posts and first acknowledgements. */
void api_publish_post(struct api *api, const struct care_post *p);
void api_publish_ack(struct api *api, const struct care_post *p,
                     const struct auth_user *u, int64_t acked_ms);
/* A request was marked done (by u, at p->done_ms) or became overdue (u
 * NULL). */
void api_publish_request(struct api *api, const struct care_post *p,
                         const struct auth_user *u);

#endif

/*
 * Notices (notice.h). This first version only counts what would be
 * noticed; server/notify/ delivers them.
 */
#include "api/notice.h"

void
api_notice_post(struct api *api, const struct care_post *p)
{
	(void)p;
	api->stats.notices_requested[API_NOTICE_POST]++;
}

void
api_notice_users(struct api *api, int64_t patient_id, int64_t post_id,
                 const int64_t *user_ids, size_t n, enum api_notice_why why,
                 bool urgent)
{
	(void)patient_id;
	(void)post_id;
	(void)user_ids;
	(void)urgent;
	if ((unsigned)why < API_NOTICE_WHYS)
		api->stats.notices_requested[why] += n;
}

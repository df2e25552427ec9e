/*
 * Access from care's own files: the actor's membership asked of the
 * policy (policy.c), and a post loaded only for someone who may see it.
 */
#include "care/care.h"
#include "care/internal.h"

int
care_member_check(struct store_conn *sc, const struct policy_actor *who,
                  int64_t patient_id, int64_t now_ms, enum policy_op op,
                  int visibility, struct rk_status *st)
{
	struct policy_membership m;

	if (policy_membership_load(sc, who->user_id, patient_id, now_ms, &m) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return policy_check(who, &m, op, visibility, st);
}

/* Load a post the actor may read, or the same NOT_FOUND as for a post
 * that does not exist. */
int
care_post_readable(struct store_conn *sc, const struct policy_actor *who,
                   int64_t post_id, int64_t now_ms, enum policy_op op,
                   struct care_post *out, struct rk_status *st)
{
	int rc = care_post_load(sc, post_id, out);

	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such post", "post_id");
	if (rc != RK_OK)
		return rk_fail(st, rc, "temporarily unavailable", NULL);
	rc = care_member_check(sc, who, out->patient_id, now_ms, op, out->visibility, st);
	if (rc != RK_OK) {
		care_post_fini(out);
		/* Not on the sheet: the post is not there for them. */
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such post", "post_id");
	}
	return RK_OK;
}

/*
 * Who hears of a post (care.h, "who hears of a post"): the notice
 * module's questions to the care domain, answered by the policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"

int
care_post_readers(struct store_conn *sc, int64_t patient_id, int visibility,
                  int64_t author_id, int64_t now_ms, int64_t **users, size_t *n)
{
	struct care_member *team = NULL;
	size_t nteam = 0;

	*users = NULL;
	*n = 0;
	if (care_sheet_rows(sc, patient_id, now_ms, true, &team, &nteam) != RK_OK)
		return RK_ERR_STORE;
	*users = rk_calloc(nteam ? nteam : 1, sizeof(**users));
	for (size_t i = 0; i < nteam; i++) {
		bool skip = team[i].user_id == author_id ||
		            policy_max_visibility(team[i].profession) < visibility ||
		            visibility == VIS_NONE;
		for (size_t k = 0; k < *n && !skip; k++)
			skip = (*users)[k] == team[i].user_id;
		if (!skip)
			(*users)[(*n)++] = team[i].user_id;
	}
	free(team);
	return RK_OK;
}

int
care_board_readable(struct store_conn *sc, const struct policy_actor *who,
                    const char *code, int64_t now_ms, int64_t *patient_id)
{
	struct policy_membership m;
	struct rk_status st;
	int64_t pid = care_patient_id(sc, code);

	*patient_id = 0;
	if (pid < 0)
		return RK_ERR_STORE;
	if (pid == 0)
		return RK_ERR_DENIED;
	if (policy_membership_load(sc, who->user_id, pid, now_ms, &m) != RK_OK)
		return RK_ERR_STORE;
	if (policy_check(who, &m, POLICY_READ, 0, &st) != RK_OK)
		return RK_ERR_DENIED;
	*patient_id = pid;
	return RK_OK;
}

int
care_patient_code(struct store_conn *sc, int64_t patient_id, char *out,
                  size_t cap)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT code FROM patients WHERE id = ?");

	out[0] = '\0';
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	if (store_step(sc, q) == SQLITE_ROW)
		care_col(out, cap, q, 0);
	sqlite3_reset(q);
	return RK_OK;
}

/*
 * Notices (notice.h): who hears of what, handed to the notice thread.
 *
 * For a post, a reader op asks the care domain who may read it
 * (care_post_readers: the sheet valid now, the policy's visibility
 * table, not the author) and which of their devices want to hear of it
 * (notify_targets: boards, urgent only, quiet hours); its done() hands
 * the targets to the notice thread. The post's commit and its live
 * events are not held up: the op runs after them, on a reader. A reader
 * queue that is full drops the notice (counted as
 * renkei_notices_unresolved_total); the post is on the board anyway.
 */
#include <stdlib.h>

#include "api/notice.h"
#include "notify/notify.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

struct notice_op {
	struct store_op op;
	struct api *api;
	int64_t patient_id;
	int visibility;
	int64_t author_id;
	bool urgent;
	enum notify_why why;
	unsigned times; /* posts looked up together */
	int64_t *users; /* given (api_notice_users), or found (a post) */
	size_t nusers;
	/* A post's addressees: told by api_notice_users (ADDRESSED), so not
	 * twice for the same post. */
	int64_t skip[CARE_TO_MAX];
	size_t nskip;
	struct notify_target *targets;
	size_t ntargets;
};

static void
notice_op_free(struct notice_op *q)
{
	free(q->users);
	free(q->targets);
	free(q);
}

static int
notice_run(struct store_conn *sc, struct store_op *op)
{
	struct notice_op *q = (struct notice_op *)op;
	int64_t now = rk_now_ms();

	if (q->why == NOTIFY_POST) {
		size_t k = 0;
		if (care_post_readers(sc, q->patient_id, q->visibility, q->author_id,
		                      now, &q->users, &q->nusers) != RK_OK)
			return RK_ERR_STORE;
		for (size_t i = 0; i < q->nusers; i++) {
			bool addressee = false;
			for (size_t j = 0; j < q->nskip && !addressee; j++)
				addressee = q->skip[j] == q->users[i];
			if (!addressee)
				q->users[k++] = q->users[i];
		}
		q->nusers = k;
		return notify_targets_board(sc, q->patient_id, q->users, q->nusers,
		                            q->urgent, now, &q->targets, &q->ntargets);
	}
	return notify_targets(sc, q->users, q->nusers, q->patient_id, q->urgent,
	                      now, &q->targets, &q->ntargets);
}

static void
notice_done(struct store_op *op, int rc)
{
	struct notice_op *q = (struct notice_op *)op;

	if (rc == RK_OK && q->api->notify != NULL)
		notify_enqueue(q->api->notify, q->targets, q->ntargets, q->why,
		               q->urgent, q->times);
	else if (rc != RK_OK)
		q->api->stats.notices_unresolved++;
	notice_op_free(q);
}

static bool
notices_on(const struct api *api)
{
	return api->notify != NULL && api->conf->notice_enabled;
}

static void
submit(struct api *api, struct notice_op *q)
{
	q->api = api;
	q->op.run = notice_run;
	q->op.done = notice_done;
	if (store_submit_read(api->store, &q->op) != RK_OK) {
		api->stats.notices_unresolved++;
		notice_op_free(q);
	}
}

/* Posts waiting to be looked up together (see the top). */
#define NOTICE_GATHER_MS 250
#define NOTICE_GATHER_MAX 1024

struct notice_gather {
	int64_t patient_id, author_id;
	int visibility;
	unsigned times;
	int64_t first_ms; /* monotonic */
};

struct api_notice_batch {
	struct notice_gather g[NOTICE_GATHER_MAX];
	size_t n;
};

static void
gather_submit(struct api *api, const struct notice_gather *g)
{
	struct notice_op *q = rk_calloc(1, sizeof(*q));

	q->patient_id = g->patient_id;
	q->visibility = g->visibility;
	q->author_id = g->author_id;
	q->why = NOTIFY_POST;
	q->times = g->times;
	submit(api, q);
}

/* Look up what has waited since before `older_than` (monotonic ms; 0:
 * everything). */
static void
gather_flush(struct api *api, int64_t older_than)
{
	struct api_notice_batch *b = api->notice_batch;
	size_t k = 0;

	if (b == NULL)
		return;
	if (!notices_on(api)) { /* shutting down: the posts are on the board */
		b->n = 0;
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (older_than == 0 || b->g[i].first_ms <= older_than)
			gather_submit(api, &b->g[i]);
		else
			b->g[k++] = b->g[i];
	}
	b->n = k;
}

void
api_notice_tick(struct api *api)
{
	gather_flush(api, 0);
}

void
api_notice_free(struct api *api)
{
	free(api->notice_batch);
	api->notice_batch = NULL;
}

void
api_notice_post(struct api *api, const struct care_post *p)
{
	struct api_notice_batch *b;
	struct notice_op *q;
	int64_t now;

	api->stats.notices_requested[API_NOTICE_POST]++;
	/* A retraction is not news; an amendment is (a new version). */
	if (!notices_on(api) || p->retracts_id != 0)
		return;
	if (!p->urgent && !(p->addressed && p->nto > 0)) {
		if (api->notice_batch == NULL)
			api->notice_batch = rk_calloc(1, sizeof(*api->notice_batch));
		b = api->notice_batch;
		now = rk_mono_ms();
		gather_flush(api, now - NOTICE_GATHER_MS);
		for (size_t i = 0; i < b->n; i++) {
			struct notice_gather *g = &b->g[i];
			if (g->patient_id == p->patient_id && g->author_id == p->author_id &&
			    g->visibility == p->visibility) {
				g->times++;
				return;
			}
		}
		if (b->n == NOTICE_GATHER_MAX)
			gather_flush(api, 0);
		b->g[b->n++] = (struct notice_gather){p->patient_id, p->author_id,
		                                      p->visibility, 1, now};
		return;
	}
	q = rk_calloc(1, sizeof(*q));
	q->patient_id = p->patient_id;
	q->visibility = p->visibility;
	q->author_id = p->author_id;
	q->urgent = p->urgent;
	q->why = NOTIFY_POST;
	q->times = 1;
	for (size_t i = 0; p->addressed && i < p->nto && i < CARE_TO_MAX; i++)
		q->skip[q->nskip++] = p->to[i].id;
	submit(api, q);
}

void
api_notice_users(struct api *api, int64_t patient_id, int64_t post_id,
                 const int64_t *user_ids, size_t n, enum api_notice_why why,
                 bool urgent)
{
	struct notice_op *q;

	(void)post_id; /* a notice names no post: the text is reason + count */
	if ((unsigned)why >= API_NOTICE_WHYS)
		return;
	api->stats.notices_requested[why] += n;
	if (!notices_on(api) || n == 0)
		return;
	_Static_assert((int)API_NOTICE_ESCALATION == (int)NOTIFY_ESCALATION &&
	                       (int)API_NOTICE_ADDRESSED == (int)NOTIFY_ADDRESSED &&
	                       (int)API_NOTICE_OVERDUE == (int)NOTIFY_OVERDUE,
	               "api_notice_why and notify_why agree");
	q = rk_calloc(1, sizeof(*q));
	q->patient_id = patient_id;
	q->urgent = urgent;
	q->why = (enum notify_why)why;
	q->times = 1;
	q->users = rk_calloc(n, sizeof(*q->users));
	for (size_t i = 0; i < n; i++)
		q->users[i] = user_ids[i];
	q->nusers = n;
	submit(api, q);
}

/* ------------------------------------------------- gone subscriptions */

struct drop_op {
	struct store_op op;
	int64_t device_id;
};

static int
drop_run(struct store_conn *sc, struct store_op *op)
{
	return notify_dev_drop(sc, ((struct drop_op *)op)->device_id);
}

static void
drop_done(struct store_op *op, int rc)
{
	struct drop_op *d = (struct drop_op *)op;
	if (rc == RK_OK)
		LOG_I("NOTICE-DEVICE-GONE", "device=%lld removed=1",
		      (long long)d->device_id);
	else
		LOG_W("NOTICE-DEVICE-GONE", "device=%lld removed=0 error=%d",
		      (long long)d->device_id, rc);
	free(d);
}

void
api_set_notify(struct api *api, struct notify *n)
{
	api->notify = n;
}

void
api_notice_service(struct api *api)
{
	int64_t ids[32];
	size_t k;

	if (api->notify == NULL)
		return;
	while ((k = notify_take_removed(api->notify, ids, 32)) > 0) {
		for (size_t i = 0; i < k; i++) {
			struct drop_op *d = rk_calloc(1, sizeof(*d));
			d->device_id = ids[i];
			d->op.run = drop_run;
			d->op.done = drop_done;
			d->op.lean = true; /* two DELETEs of one device */
			if (store_submit_write(api->store, &d->op) != RK_OK) {
				/* Shutting down or full: the next 410 asks again. */
				free(d);
			}
		}
	}
}

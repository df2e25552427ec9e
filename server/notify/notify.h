/*
 * notify — content-free notices (docs/notice.md): "renkei: 1 new urgent
 * post", sent to a user's devices (Web Push, RFC 8030/8291/8292) and
 * e-mail addresses (SMTP with STARTTLS), never a patient name, code, text
 * or photo: the text is fixed by the reason and a count, the link is the
 * app's address (notice_link) and nothing else. The client fetches what
 * is waiting over its authenticated connection.
 *
 * Two halves:
 *
 *  1. The delivery thread (notify.c, send.c): notify_enqueue hands it
 *     targets (a device and what it should hear of); it batches them
 *     per device (every target of a device that arrives within
 *     notice_batch_ms of the first becomes one notice), rate-limits per
 *     user (non-urgent notices to a user at least notice_user_interval_ms
 *     apart; urgent ones wait only for the batch), and delivers them one
 *     at a time with libcurl, retrying 5xx, 429 and timeouts with
 *     exponential backoff up to notice_retries times. A push service that
 *     answers 404 or 410 has dropped the subscription: its id is queued
 *     for the owner, woken through `wake`, who takes it with
 *     notify_take_removed and deletes it through the store (the thread
 *     never touches the database, nor any wsi). Bounded: at most
 *     notice_queue_max devices wait; beyond that targets are dropped and
 *     counted.
 *
 *  2. Storage (devices.c): the notice_devices and notice_prefs tables,
 *     functions that run on a store thread (writer or reader, as each
 *     says), called by api's ops.
 *
 * Thread rules: notify_new, notify_free, notify_enqueue,
 * notify_take_removed, notify_get_stats and notify_vapid_public are
 * called from the service thread (any one thread); everything else the
 * thread does is its own. Nothing here logs a patient's data: there is
 * none to log; endpoints and e-mail addresses are not logged either
 * (device ids are).
 */
#ifndef RK_NOTIFY_NOTIFY_H
#define RK_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/webpush.h"
#include "store/store.h"
#include "util/conf.h"
#include "util/err.h"

/* Numbered as renkei.v1.NoticeChannel. */
enum notify_channel {
	NOTIFY_PUSH = 1,
	NOTIFY_EMAIL = 2,
};

/* Why a notice is sent: numbered as api's enum api_notice_why, plus the
 * test notice a user asks for. */
enum notify_why {
	NOTIFY_POST = 0,
	NOTIFY_ADDRESSED = 1,
	NOTIFY_OVERDUE = 2,
	NOTIFY_ESCALATION = 3,
	NOTIFY_TEST = 4,
	NOTIFY_WHYS
};

#define NOTIFY_EMAIL_MAX 254
#define NOTIFY_LABEL_MAX 64
#define NOTIFY_BOARDS_MAX 50

/* One device of a user: where a notice goes. */
struct notify_target {
	int64_t device_id;
	int64_t user_id;
	int channel; /* enum notify_channel */
	/* The push service's URL, or the e-mail address. */
	char endpoint[WEBPUSH_ENDPOINT_MAX + 1];
	uint8_t p256dh[WEBPUSH_PUB_LEN]; /* push only */
	uint8_t auth[WEBPUSH_AUTH_LEN];  /* push only */
};

/* ------------------------------------------------------ delivery thread */

struct notify;

/* Start the thread. vapid_priv: the server's VAPID key (copied; the
 * caller wipes its own). wake(arg) is called from the thread when a
 * subscription was removed. NULL with a reason in err if libcurl cannot
 * start. Borrows conf. */
struct notify *notify_new(const struct conf *conf,
                          const uint8_t vapid_priv[WEBPUSH_PRIV_LEN],
                          void (*wake)(void *arg), void *arg, char *err,
                          size_t errlen);
/* Stop the thread (what is waiting is dropped, one delivery in flight
 * finishes or times out) and free. NULL is fine. */
void notify_free(struct notify *n);

/* t[0..count) should hear of `times` things for `why` (copied; times
 * posts of a board, looked up together). urgent: quiet hours were
 * already applied by the caller; urgent ones do not wait for the user's
 * interval. Never blocks on I/O. */
void notify_enqueue(struct notify *n, const struct notify_target *t,
                    size_t count, enum notify_why why, bool urgent,
                    unsigned times);

/* Device ids the push services said are gone (404/410), to delete:
 * up to cap into ids; returns how many. */
size_t notify_take_removed(struct notify *n, int64_t *ids, size_t cap);

/* The VAPID public key browsers subscribe with. */
void notify_vapid_public(const struct notify *n, uint8_t pub[WEBPUSH_PUB_LEN]);

struct notify_stats {
	uint64_t enqueued;  /* targets handed to the thread */
	uint64_t batched;   /* of those, merged into a notice already waiting */
	uint64_t sent[3];   /* notices delivered, by channel (1 push, 2 e-mail) */
	uint64_t failed[3]; /* given up after the retries, by channel */
	uint64_t retries;   /* deliveries tried again */
	uint64_t removed;   /* subscriptions the push service said are gone */
	uint64_t dropped;   /* targets refused: notice_queue_max waiting */
	uint64_t refused_private; /* deliveries refused: a private address */
};
void notify_get_stats(struct notify *n, struct notify_stats *st);

/* The text of one notice (pure): counts[why] of each reason, urgent of
 * the NOTIFY_POST ones urgent. E.g. "renkei: 1 new urgent post",
 * "renkei: 3 new posts (1 urgent); a post addressed to you". Nothing
 * else goes into it. Returns the length (truncated to cap - 1). */
size_t notify_text(const unsigned counts[NOTIFY_WHYS], unsigned urgent,
                   char *out, size_t cap);

/* ------------------------------------------------------ storage */

/* Preferences, of a user (device 0) or of one device. A notice reaches a
 * device only if both the user's and the device's allow it. */
struct notify_prefs {
	bool urgent_only;    /* only urgent posts (and escalations, tests) */
	int quiet_from;      /* minutes after JST midnight, -1: no quiet hours */
	int quiet_until;     /* quiet from..until (may wrap past midnight) */
	int64_t boards[NOTIFY_BOARDS_MAX]; /* patient ids; none: every board */
	size_t nboards;
};

/* A device as its owner lists it. */
struct notify_device {
	struct notify_target t;
	char label[NOTIFY_LABEL_MAX + 1];
	int64_t created_ms;
	struct notify_prefs prefs;
};

/* Writer. Add (or, for the same endpoint, replace the keys and label
 * of) a device of user_id; a push endpoint registered by another user is
 * moved to this one (the browser is theirs now). A new device beyond
 * max_devices is refused RK_ERR_EXHAUSTED. *id: the device's id. */
int notify_dev_add(struct store_conn *sc, int64_t user_id,
                   const struct notify_target *t, const char *label,
                   int max_devices, int64_t now_ms, int64_t *id,
                   struct rk_status *st);
/* Writer. Remove user_id's device; RK_ERR_NOT_FOUND if it is not theirs. */
int notify_dev_remove(struct store_conn *sc, int64_t user_id,
                      int64_t device_id, struct rk_status *st);
/* Writer. Remove a device whatever its owner (the push service dropped
 * it). RK_OK also when it was already gone. */
int notify_dev_drop(struct store_conn *sc, int64_t device_id);
/* Writer. Replace the preferences of user_id (device_id 0) or of one of
 * their devices (else RK_ERR_NOT_FOUND). */
int notify_prefs_set(struct store_conn *sc, int64_t user_id, int64_t device_id,
                     const struct notify_prefs *p, struct rk_status *st);
/* Any store thread. user_id's devices (malloc'ed) and own preferences. */
int notify_dev_list(struct store_conn *sc, int64_t user_id,
                    struct notify_device **out, size_t *n,
                    struct notify_prefs *user_prefs);
/* Any store thread. The devices of users[0..nusers) that should hear of
 * a notice on patient_id's board (0: not about a board) now: their own
 * and the user's preferences allow it (boards, urgent only, quiet hours
 * at now_ms unless urgent); users disabled are skipped. *out malloc'ed. */
int notify_targets(struct store_conn *sc, const int64_t *users, size_t nusers,
                   int64_t patient_id, bool urgent, int64_t now_ms,
                   struct notify_target **out, size_t *n);

/* The same for the readers of a post on patient_id's board (users: what
 * care_post_readers found, all members of its sheet valid at now_ms), in
 * one query for the board. */
int notify_targets_board(struct store_conn *sc, int64_t patient_id,
                         const int64_t *users, size_t nusers, bool urgent,
                         int64_t now_ms, struct notify_target **out, size_t *n);

/* True if minute-of-day m (JST) is inside quiet hours from..until. */
bool notify_quiet_at(int quiet_from, int quiet_until, int m);

#endif

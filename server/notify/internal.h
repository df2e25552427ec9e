/*
 * What notify.c (the thread, batching, rate limit) and send.c (libcurl:
 * Web Push and SMTP) share. Not part of notify's API (notify.h).
 */
#ifndef RK_NOTIFY_INTERNAL_H
#define RK_NOTIFY_INTERNAL_H

#include <pthread.h>

#include <curl/curl.h>

#include "notify/notify.h"
#include "util/idmap.h"

/* What one delivery came to. */
enum notify_result {
	NOTIFY_SENT,
	NOTIFY_RETRY,   /* 5xx, 429, timeout, no connection: try again later */
	NOTIFY_GONE,    /* 404 / 410: the subscription no longer exists */
	NOTIFY_FAILED,  /* refused for good (another 4xx, a bad relay answer) */
	NOTIFY_PRIVATE, /* the endpoint resolved to a private address */
};

struct notify {
	const struct conf *conf;
	uint8_t vapid_priv[WEBPUSH_PRIV_LEN];
	uint8_t vapid_pub[WEBPUSH_PUB_LEN];
	void (*wake)(void *arg);
	void *wake_arg;
	pthread_t thread;
	bool started;
	/* Shared with the service thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct notify_item *in_head, *in_tail;
	size_t waiting; /* items queued plus devices with a notice pending */
	int64_t *removed;
	size_t nremoved, removed_cap;
	struct notify_stats stats;
	/* The thread's own. */
	struct idmap pend;      /* device id -> struct notify_pend */
	struct idmap last_sent; /* user id -> int64_t *, monotonic ms: one per
	                         * user ever sent to, bounded by the accounts */
	CURL *push, *mail;
	bool blocked; /* the last push connect was refused: a private address */
};

/* Deliver `text` to one target (send.c, on the thread). */
enum notify_result notify_send_push(struct notify *n,
                                    const struct notify_target *t,
                                    const char *text, bool urgent);
enum notify_result notify_send_mail(struct notify *n,
                                    const struct notify_target *t,
                                    const char *text);

#endif

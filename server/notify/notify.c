/*
 * The notice thread (notify.h): a queue in, a map of notices waiting per
 * device, deliveries one at a time.
 *
 * A target that arrives for a device with nothing pending starts a
 * notice, due notice_batch_ms later; targets arriving for it meanwhile
 * only add to its counts (that is the batching: a burst of posts is one
 * notice). A notice that is not urgent is also held until
 * notice_user_interval_ms after the user's last notice (the rate limit),
 * gathering what comes meanwhile. A delivery that should be tried again
 * is due notice_retry_ms << (attempt - 1) later, keeping its counts.
 *
 * So a burst of N posts over T ms gives each device at most
 * 1 + T / max(batch, interval) notices (urgent: 1 + T / batch), whatever N.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "notify/internal.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

struct notify_item {
	struct notify_target t;
	enum notify_why why;
	bool urgent;
	unsigned times;
	struct notify_item *next;
};

struct notify_pend {
	struct notify_target t;
	unsigned counts[NOTIFY_WHYS];
	unsigned urgent_posts;
	bool urgent;       /* something in it is urgent: no user interval */
	int64_t first_ms;  /* monotonic: when the first target came */
	int64_t retry_ms;  /* monotonic: when to try again; 0: not a retry */
	int attempts;
};

/* ------------------------------------------------------------ the text */

/* Append to out[cap] at *o (a literal format: checked by the compiler). */
#define PUTF(fmt, ...)                                                         \
	do {                                                                   \
		if (o < cap) {                                                 \
			int w_ = snprintf(out + o, cap - o, fmt, __VA_ARGS__);  \
			o = w_ < 0 ? o : o + (size_t)w_;                       \
		}                                                              \
	} while (0)
#define PUT(s) PUTF("%s", s)
#define SEP()                                                                  \
	do {                                                                   \
		if (o > start)                                                 \
			PUT("; ");                                             \
	} while (0)

size_t
notify_text(const unsigned counts[NOTIFY_WHYS], unsigned urgent, char *out,
            size_t cap)
{
	size_t o = 0, start;
	unsigned c;

	if (cap == 0)
		return 0;
	PUT("renkei: ");
	start = o;
	if ((c = counts[NOTIFY_ESCALATION]) > 0) {
		SEP();
		if (c == 1)
			PUT("an urgent post is waiting for confirmation");
		else
			PUTF("%u urgent posts are waiting for confirmation", c);
	}
	if ((c = counts[NOTIFY_ADDRESSED]) > 0) {
		SEP();
		if (c == 1)
			PUT("a post addressed to you");
		else
			PUTF("%u posts addressed to you", c);
	}
	if ((c = counts[NOTIFY_POST]) > 0) {
		SEP();
		if (urgent >= c)
			PUTF("%u new urgent post%s", c, c == 1 ? "" : "s");
		else if (urgent == 0)
			PUTF("%u new post%s", c, c == 1 ? "" : "s");
		else
			PUTF("%u new posts (%u urgent)", c, urgent);
	}
	if ((c = counts[NOTIFY_OVERDUE]) > 0) {
		SEP();
		if (c == 1)
			PUT("a request you made is overdue");
		else
			PUTF("%u requests you made are overdue", c);
	}
	if (counts[NOTIFY_TEST] > 0) {
		SEP();
		PUT("a test notice");
	}
	if (o >= cap)
		o = cap - 1;
	out[o] = '\0';
	return o;
}

#undef SEP
#undef PUT
#undef PUTF

/* ------------------------------------------------------------ the queue */

void
notify_enqueue(struct notify *n, const struct notify_target *t, size_t count,
               enum notify_why why, bool urgent, unsigned times)
{
	struct notify_item *head = NULL, *tail = NULL;
	size_t taken = 0;

	if (n == NULL || count == 0 || (unsigned)why >= NOTIFY_WHYS)
		return;
	pthread_mutex_lock(&n->mu);
	for (size_t i = 0; i < count; i++) {
		struct notify_item *it;
		if (n->waiting + taken >= (size_t)n->conf->notice_queue_max) {
			n->stats.dropped += count - i;
			break;
		}
		it = rk_calloc(1, sizeof(*it));
		it->t = t[i];
		it->why = why;
		it->urgent = urgent;
		it->times = times ? times : 1;
		if (tail)
			tail->next = it;
		else
			head = it;
		tail = it;
		taken++;
	}
	if (head != NULL) {
		if (n->in_tail)
			n->in_tail->next = head;
		else
			n->in_head = head;
		n->in_tail = tail;
		n->waiting += taken;
		n->stats.enqueued += taken;
		pthread_cond_signal(&n->cv);
	}
	pthread_mutex_unlock(&n->mu);
}

size_t
notify_take_removed(struct notify *n, int64_t *ids, size_t cap)
{
	size_t k;

	if (n == NULL)
		return 0;
	pthread_mutex_lock(&n->mu);
	k = n->nremoved < cap ? n->nremoved : cap;
	if (k > 0) {
		memcpy(ids, n->removed, k * sizeof(*ids));
		memmove(n->removed, n->removed + k, (n->nremoved - k) * sizeof(*ids));
		n->nremoved -= k;
	}
	pthread_mutex_unlock(&n->mu);
	return k;
}

void
notify_vapid_public(const struct notify *n, uint8_t pub[WEBPUSH_PUB_LEN])
{
	memcpy(pub, n->vapid_pub, WEBPUSH_PUB_LEN);
}

void
notify_get_stats(struct notify *n, struct notify_stats *st)
{
	pthread_mutex_lock(&n->mu);
	*st = n->stats;
	pthread_mutex_unlock(&n->mu);
}

/* ------------------------------------------------------------ the thread */

static int64_t
user_last(struct notify *n, int64_t user_id)
{
	int64_t *v = idmap_get(&n->last_sent, (uint64_t)user_id);
	return v ? *v : 0;
}

/* When p may go (monotonic ms). */
static int64_t
due_of(struct notify *n, const struct notify_pend *p)
{
	int64_t due = p->retry_ms ? p->retry_ms
	                          : p->first_ms + n->conf->notice_batch_ms;
	if (!p->urgent && p->retry_ms == 0) {
		int64_t last = user_last(n, p->t.user_id);
		if (last != 0 && last + n->conf->notice_user_interval_ms > due)
			due = last + n->conf->notice_user_interval_ms;
	}
	return due;
}

static void
merge(struct notify *n, struct notify_item *it, int64_t now)
{
	struct notify_pend *p = idmap_get(&n->pend, (uint64_t)it->t.device_id);
	bool fresh = p == NULL;

	if (fresh) {
		p = rk_calloc(1, sizeof(*p));
		p->first_ms = now;
		idmap_set(&n->pend, (uint64_t)it->t.device_id, p);
	}
	p->t = it->t; /* the newest keys of the device */
	p->counts[it->why] += it->times;
	if (it->why == NOTIFY_POST && it->urgent)
		p->urgent_posts += it->times;
	if (it->urgent || it->why == NOTIFY_ESCALATION || it->why == NOTIFY_TEST)
		p->urgent = true;
	pthread_mutex_lock(&n->mu);
	if (!fresh) {
		n->stats.batched++;
		n->waiting--; /* counted once, as its device's notice */
	}
	pthread_mutex_unlock(&n->mu);
}

static void
finish(struct notify *n, struct notify_pend *p, enum notify_result r, int64_t now)
{
	int ch = p->t.channel == NOTIFY_EMAIL ? 2 : 1;
	bool done = true;

	pthread_mutex_lock(&n->mu);
	switch (r) {
	case NOTIFY_SENT:
		n->stats.sent[ch]++;
		break;
	case NOTIFY_GONE:
		n->stats.removed++;
		if (n->nremoved == n->removed_cap) {
			n->removed_cap = n->removed_cap ? 2 * n->removed_cap : 16;
			n->removed = rk_realloc(n->removed,
			                        n->removed_cap * sizeof(*n->removed));
		}
		n->removed[n->nremoved++] = p->t.device_id;
		break;
	case NOTIFY_PRIVATE:
		n->stats.refused_private++;
		n->stats.failed[ch]++;
		break;
	case NOTIFY_RETRY:
		if (p->attempts <= n->conf->notice_retries) {
			int shift = p->attempts - 1 < 16 ? p->attempts - 1 : 16;
			p->retry_ms = now + ((int64_t)n->conf->notice_retry_ms << shift);
			n->stats.retries++;
			done = false;
			break;
		}
		/* out of retries */
		n->stats.failed[ch]++;
		break;
	case NOTIFY_FAILED:
		n->stats.failed[ch]++;
		break;
	}
	if (done)
		n->waiting--;
	pthread_mutex_unlock(&n->mu);
	if (r == NOTIFY_GONE && n->wake != NULL)
		n->wake(n->wake_arg);
	if (r == NOTIFY_SENT) {
		int64_t *v = idmap_get(&n->last_sent, (uint64_t)p->t.user_id);
		if (v == NULL) {
			v = rk_calloc(1, sizeof(*v));
			idmap_set(&n->last_sent, (uint64_t)p->t.user_id, v);
		}
		*v = now;
	}
	LOG_D("NOTICE-DELIVERY", "device=%lld channel=%d result=%d attempts=%d",
	      (long long)p->t.device_id, p->t.channel, (int)r, p->attempts);
	if (r == NOTIFY_FAILED || r == NOTIFY_PRIVATE ||
	    (r == NOTIFY_RETRY && done))
		LOG_W("NOTICE-FAILED", "device=%lld channel=%d attempts=%d%s",
		      (long long)p->t.device_id, p->t.channel, p->attempts,
		      r == NOTIFY_PRIVATE ? " reason=private-address" : "");
	if (done) {
		idmap_del(&n->pend, (uint64_t)p->t.device_id);
		free(p);
	}
}

static void
deliver(struct notify *n, struct notify_pend *p)
{
	char text[256];
	enum notify_result r;

	notify_text(p->counts, p->urgent_posts, text, sizeof(text));
	p->attempts++;
	if (p->t.channel == NOTIFY_EMAIL)
		r = notify_send_mail(n, &p->t, text);
	else
		r = notify_send_push(n, &p->t, text, p->urgent);
	/* Targets that come while this waits for a retry join it: the
	 * retry says everything that is waiting. */
	finish(n, p, r, rk_mono_ms());
}

/* Deliver everything due; the next due time (or now + 1 s). */
static int64_t
run_due(struct notify *n)
{
	int64_t now = rk_mono_ms(), next = now + 1000;
	uint64_t *ids = NULL, id;
	size_t nids = 0, cap = 0, pos = 0;
	void *v;

	while (idmap_next(&n->pend, &pos, &id, &v)) {
		int64_t due = due_of(n, v);
		if (due <= now) {
			if (nids == cap) {
				cap = cap ? 2 * cap : 16;
				ids = rk_realloc(ids, cap * sizeof(*ids));
			}
			ids[nids++] = id;
		} else if (due < next)
			next = due;
	}
	for (size_t i = 0; i < nids; i++) {
		struct notify_pend *p = idmap_get(&n->pend, ids[i]);
		bool stop;
		pthread_mutex_lock(&n->mu);
		stop = n->stop;
		pthread_mutex_unlock(&n->mu);
		if (stop)
			break;
		if (p != NULL)
			deliver(n, p);
	}
	free(ids);
	return nids > 0 ? rk_mono_ms() : next;
}

static void *
thread_main(void *arg)
{
	struct notify *n = arg;
	int64_t next = 0;

	pthread_mutex_lock(&n->mu);
	while (!n->stop) {
		struct notify_item *in = n->in_head;
		n->in_head = n->in_tail = NULL;
		pthread_mutex_unlock(&n->mu);
		int64_t now = rk_mono_ms();
		while (in != NULL) {
			struct notify_item *it = in;
			in = it->next;
			merge(n, it, now);
			OPENSSL_cleanse(it, sizeof(*it));
			free(it);
		}
		next = run_due(n);
		pthread_mutex_lock(&n->mu);
		if (n->in_head == NULL && !n->stop) {
			int64_t wait = next - rk_mono_ms();
			struct timespec ts;
			if (wait > 0) {
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += wait / 1000;
				ts.tv_nsec += (long)(wait % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&n->cv, &n->mu, &ts);
			}
		}
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

struct notify *
notify_new(const struct conf *conf, const uint8_t vapid_priv[WEBPUSH_PRIV_LEN],
           void (*wake)(void *arg), void *arg, char *err, size_t errlen)
{
	struct notify *n;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl could not start");
		return NULL;
	}
	n = rk_calloc(1, sizeof(*n));
	n->conf = conf;
	n->wake = wake;
	n->wake_arg = arg;
	memcpy(n->vapid_priv, vapid_priv, WEBPUSH_PRIV_LEN);
	if (webpush_public_of(n->vapid_priv, n->vapid_pub) != 0) {
		snprintf(err, errlen, "the VAPID key is not a valid P-256 key");
		goto fail;
	}
	n->push = curl_easy_init();
	n->mail = curl_easy_init();
	if (n->push == NULL || n->mail == NULL) {
		snprintf(err, errlen, "libcurl could not make a handle");
		goto fail;
	}
	idmap_init(&n->pend);
	idmap_init(&n->last_sent);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	if (pthread_create(&n->thread, NULL, thread_main, n) != 0) {
		snprintf(err, errlen, "cannot start the notice thread: %s",
		         strerror(errno));
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cv);
		idmap_fini(&n->pend);
		idmap_fini(&n->last_sent);
		goto fail;
	}
	n->started = true;
	return n;
fail:
	if (n->push)
		curl_easy_cleanup(n->push);
	if (n->mail)
		curl_easy_cleanup(n->mail);
	OPENSSL_cleanse(n->vapid_priv, sizeof(n->vapid_priv));
	free(n);
	curl_global_cleanup();
	return NULL;
}

void
notify_free(struct notify *n)
{
	size_t pos = 0;
	uint64_t id;
	void *v;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->thread, NULL);
	while (n->in_head != NULL) {
		struct notify_item *it = n->in_head;
		n->in_head = it->next;
		free(it);
	}
	while (idmap_next(&n->pend, &pos, &id, &v))
		free(v);
	pos = 0;
	while (idmap_next(&n->last_sent, &pos, &id, &v))
		free(v);
	idmap_fini(&n->pend);
	idmap_fini(&n->last_sent);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	curl_easy_cleanup(n->push);
	curl_easy_cleanup(n->mail);
	free(n->removed);
	OPENSSL_cleanse(n->vapid_priv, sizeof(n->vapid_priv));
	free(n);
	curl_global_cleanup();
}

/*
 * The api's life: made and freed with the server, connections opened and
 * closed by the transport, housekeeping once a second, shutdown. What a
 * message does is dispatch.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/live.h"
#include "api/notice.h"
#include "api/oncall.h"
#include "api/reply.h"
#include "api/sub.h"
#include "keys/keys.h"
#include "audit/canon.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

/* Read a small text file (a public key) of the key folder once, at
 * start. */
static char *
read_small_file(const char *dir, const char *file)
{
	char name[4200], *buf;
	FILE *f;
	size_t n;

	if (dir == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s/%s", dir, file);
	f = fopen(name, "r");
	if (f == NULL)
		return NULL;
	buf = rk_malloc(8192);
	n = fread(buf, 1, 8191, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct api *
api_new(const struct conf *conf, struct store *store,
        const struct api_transport *transport)
{
	struct api *api = rk_calloc(1, sizeof(*api));

	api->conf = conf;
	api->store = store;
	api->tr = *transport;
	idmap_init(&api->conns);
	idmap_init(&api->sessions);
	idmap_init(&api->boards);
	api->limits.max_failures = conf->login_max_failures;
	api->limits.max_failures_address = conf->login_max_failures_per_address;
	api->limits.delay_s = conf->login_delay_s;
	api->limits.delay_max_s = conf->login_delay_max_s;
	api->limits.quiet_s = conf->login_quiet_s;
	api->limits.session_max_s = conf->session_max_s;
	api->limits.session_idle_s = conf->session_idle_s;
	api->limits.argon2_t = conf->argon2_t;
	api->limits.argon2_m_kib = conf->argon2_m_kib;
	api->audit_pubkey = read_small_file(conf->keys_dir, KEYS_ROOT_PUB);
	api->audit_pubkey_current = read_small_file(conf->keys_dir, KEYS_SIGNING_PUB);
	api->requests_due_ms = 1; /* not known yet: the first tick looks */
	return api;
}

void
api_free(struct api *api)
{
	size_t pos = 0;
	uint64_t id;
	void *v;

	if (api == NULL)
		return;
	/* Connections should all be closed by now; free what remains. */
	while (idmap_next(&api->conns, &pos, &id, &v))
		free(v);
	pos = 0;
	while (idmap_next(&api->sessions, &pos, &id, &v))
		free(v);
	idmap_fini(&api->conns);
	idmap_fini(&api->sessions);
	api_sub_free_all(api);
	while (api->grants != NULL) {
		struct api_grant *g = api->grants;
		api->grants = g->next;
		audit_entries_free(g->end);
		free(g);
	}
	api_notice_free(api);
	free(api->audit_pubkey);
	free(api->audit_pubkey_current);
	free(api);
}

struct api_conn *
api_conn_open(struct api *api, void *handle, const char *address)
{
	struct api_conn *c = rk_calloc(1, sizeof(*c));

	c->id = ++api->next_conn_id;
	c->handle = handle;
	/* An IPv4 peer on a dual-stack socket reads "::ffff:a.b.c.d": record
	 * the address people know. */
	if (address != NULL && strncmp(address, "::ffff:", 7) == 0 &&
	    strchr(address + 7, ':') == NULL)
		address += 7;
	snprintf(c->address, sizeof(c->address), "%s", address ? address : "");
	c->opened_ms = rk_mono_ms();
	idmap_set(&api->conns, c->id, c);
	api->stats.connections++;
	return c;
}

size_t
api_conn_message_max(const struct api *api, const struct api_conn *c)
{
	int before = api->conf->prelogin_max_message_bytes;
	int after = api->conf->max_message_bytes;

	if (c != NULL && c->sess != NULL)
		return (size_t)after;
	return (size_t)(before < after ? before : after);
}

void
api_conn_closed(struct api *api, struct api_conn **cp)
{
	struct api_conn *c = *cp;

	*cp = NULL;
	if (c == NULL)
		return;
	api_sub_clear(api, c);
	api_export_drop(api, c);
	api_session_detach(api, c);
	idmap_del(&api->conns, c->id);
	api->stats.connections--;
	free(c);
}

/* ------------------------------------------------------------ housekeeping */

/* A wall clock stepped back makes every time recorded after it suspect
 * (records out of order, a checkpoint signed "before" the one it
 * follows): say so in the log and in the trail, and sign at once, so
 * that the checkpoint after the step carries the clock's state. */
static void
watch_clock(struct api *api, int64_t now_ms, int64_t mono)
{
	int64_t back = rk_clock_watch_step(&api->clock, now_ms, mono,
	                                   api->conf->clock_jump_ms);
	char reason[160], was[40], is[40];
	struct audit_event ev = {0};
	struct audit_entry *e;
	int sync;

	if (back == 0)
		return;
	sync = rk_clock_sync_state();
	audit_format_time(now_ms + back, 0, true, was, sizeof(was));
	audit_format_time(now_ms, 0, true, is, sizeof(is));
	LOG_W("CLOCK-JUMP", "back_ms=%lld expected=%s now=%s clock_sync=%d",
	      (long long)back, was, is, sync);
	snprintf(reason, sizeof(reason),
	         "the wall clock went back %lld ms (expected %s, read %s; %s)",
	         (long long)back, was, is, rk_clock_sync_name(sync));
	ev.ts_ms = now_ms;
	ev.action = "clock.jump";
	ev.device = "renkei-server";
	ev.reason = reason;
	e = audit_entry_new(&ev);
	e->checkpoint_after = true;
	api_audit_fire(api, e);
}

void
api_tick(struct api *api, int64_t now_ms)
{
	int64_t mono = rk_mono_ms();
	int64_t login_ms = (int64_t)api->conf->login_timeout_s * 1000;
	int64_t idle_ms = (int64_t)api->conf->session_idle_s * 1000;
	size_t pos = 0;
	uint64_t id;
	void *v;
	int64_t *expired = NULL;
	size_t nexp = 0, cap = 0;

	watch_clock(api, now_ms, mono);
	api_notice_tick(api);
	while (idmap_next(&api->conns, &pos, &id, &v)) {
		struct api_conn *c = v;
		api_export_expire(api, c, mono);
		if (c->sess == NULL && !c->closing && !c->login_busy &&
		    mono - c->opened_ms > login_ms)
			api_conn_close(api, c, API_CLOSE_LOGIN_TIMEOUT,
			               "not logged in in time");
	}
	pos = 0;
	while (idmap_next(&api->sessions, &pos, &id, &v)) {
		struct live_session *s = v;
		if (s->ended)
			continue;
		if (s->expires_ms <= now_ms || s->last_use_ms + idle_ms <= now_ms) {
			if (nexp == cap) {
				cap = cap ? cap * 2 : 16;
				expired = rk_realloc(expired, cap * sizeof(*expired));
			}
			expired[nexp++] = s->id;
		}
	}
	for (size_t i = 0; i < nexp; i++)
		api_session_kill(api, expired[i], "session expired");
	free(expired);
	api_grants_expire(api, now_ms);
	api_revoke_poll(api, now_ms);
	api_requests_tick(api, now_ms);
	api_escalate_tick(api, now_ms);
	/* Abandoned uploads and orphaned photos, once a minute. */
	if (mono - api->last_gc_ms >= 60000) {
		api->last_gc_ms = mono;
		api_media_gc(api);
	}
}

void
api_set_audit_counter(struct api *api, const uint64_t *appended)
{
	api->audit_appended = appended;
}

void
api_shutdown(struct api *api)
{
	api->shutting_down = true;
	api_grants_expire(api, rk_now_ms());
}

void
api_get_stats(const struct api *api, struct api_stats *st)
{
	*st = api->stats;
}

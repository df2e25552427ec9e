/*
 * Deliveries with libcurl, on the notice thread (notify.h): Web Push
 * (RFC 8030: one POST of the encrypted notice to the subscription's
 * endpoint) and e-mail (SMTP to the configured relay, STARTTLS
 * required). One easy handle per channel, reused, so that connections
 * and TLS sessions to the same push service or relay are kept.
 *
 * What leaves the server is the notice text (reason and count), the
 * link notice_link, the VAPID token (our origin-bound signature), and
 * for e-mail the From / To addresses: nothing of any patient.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>

#include "notify/internal.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

/* Answers are read and dropped, up to a bound. */
static size_t
discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

/* Refuse to connect to a private address (a push endpoint is chosen by
 * whoever registered it: without this, the server could be made to
 * POST into its own network), checked on each address curl is about to
 * connect to, after DNS, before any packet is sent. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct notify *n = arg;
	char ip[INET6_ADDRSTRLEN] = "";

	(void)purpose;
	if (!n->conf->push_allow_private) {
		if (a->family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr,
			          ip, sizeof(ip));
		else if (a->family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr, ip,
			          sizeof(ip));
		if (ip[0] == '\0' || webpush_addr_private(ip)) {
			n->blocked = true;
			return CURL_SOCKET_BAD;
		}
	}
	return socket(a->family, a->socktype, a->protocol);
}

static enum notify_result
result_of(struct notify *n, CURLcode rc, long status)
{
	if (n->blocked)
		return NOTIFY_PRIVATE;
	if (rc != CURLE_OK)
		return NOTIFY_RETRY; /* no connection, TLS, timeout: try again */
	if (status >= 200 && status < 300)
		return NOTIFY_SENT;
	if (status == 404 || status == 410)
		return NOTIFY_GONE;
	if (status == 429 || status >= 500)
		return NOTIFY_RETRY;
	return NOTIFY_FAILED;
}

enum notify_result
notify_send_push(struct notify *n, const struct notify_target *t,
                 const char *text, bool urgent)
{
	char payload[600], origin[WEBPUSH_ENDPOINT_MAX + 1], host[256];
	char auth[1600], hdr_auth[1700], ttl[32];
	uint8_t body[WEBPUSH_HEADER_LEN + sizeof(payload) + 17];
	const char *why;
	struct curl_slist *h = NULL;
	const struct conf *c = n->conf;
	long len, status = 0;
	int pl;
	CURLcode rc;
	CURL *e = n->push;

	if (webpush_url_origin(t->endpoint, origin, sizeof(origin), host,
	                       sizeof(host), &why) != 0)
		return NOTIFY_FAILED;
	/* What the service worker shows: JSON of ASCII we wrote ourselves
	 * (the text and notice_link, checked at start to need no escaping). */
	if (c->notice_link[0] != '\0')
		pl = snprintf(payload, sizeof(payload),
		              "{\"title\":\"renkei\",\"body\":\"%s\",\"url\":\"%s\","
		              "\"tag\":\"renkei\"}",
		              text, c->notice_link);
	else
		pl = snprintf(payload, sizeof(payload),
		              "{\"title\":\"renkei\",\"body\":\"%s\",\"tag\":\"renkei\"}",
		              text);
	if (pl < 0 || (size_t)pl >= sizeof(payload))
		return NOTIFY_FAILED;
	len = webpush_encrypt(t->p256dh, t->auth, (const uint8_t *)payload,
	                      (size_t)pl, NULL, NULL, body, sizeof(body));
	if (len < 0 ||
	    webpush_vapid_header(n->vapid_priv, origin, rk_now_ms() / 1000 + 12 * 3600,
	                         c->vapid_subject, auth, sizeof(auth)) != 0)
		return NOTIFY_FAILED;
	snprintf(hdr_auth, sizeof(hdr_auth), "Authorization: %s", auth);
	snprintf(ttl, sizeof(ttl), "TTL: %d", c->notice_ttl_s);
	h = curl_slist_append(h, hdr_auth);
	h = curl_slist_append(h, "Content-Encoding: aes128gcm");
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	h = curl_slist_append(h, ttl);
	/* RFC 8030 5.3 and 5.4: urgent notices wake a phone; a newer notice
	 * replaces one the push service still holds (same topic). */
	h = curl_slist_append(h, urgent ? "Urgency: high" : "Urgency: normal");
	h = curl_slist_append(h, "Topic: renkei");
	h = curl_slist_append(h, "Expect:");
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, t->endpoint);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->notice_timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->notice_timeout_ms);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->push_ca[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, c->push_ca);
	n->blocked = false;
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, n);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "renkei");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(e);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (rc != CURLE_OK)
		LOG_D("NOTICE-PUSH-ERROR", "device=%lld curl=%d",
		      (long long)t->device_id, (int)rc);
	return result_of(n, rc, status);
}

/* The message, read by curl in pieces. */
struct mail_src {
	char buf[2048];
	size_t len, off;
};

static size_t
mail_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mail_src *m = arg;
	size_t k = size * nmemb;
	if (k > m->len - m->off)
		k = m->len - m->off;
	memcpy(p, m->buf + m->off, k);
	m->off += k;
	return k;
}

enum notify_result
notify_send_mail(struct notify *n, const struct notify_target *t,
                 const char *text)
{
	const struct conf *c = n->conf;
	struct mail_src m = {.off = 0};
	struct curl_slist *rcpt = NULL;
	char from[NOTIFY_EMAIL_MAX + 3], to[WEBPUSH_ENDPOINT_MAX + 3], date[64];
	char msgid[40];
	uint8_t rnd[12];
	time_t now = time(NULL);
	struct tm tm;
	long status = 0;
	int w;
	CURLcode rc;
	CURL *e = n->mail;

	if (c->smtp_url[0] == '\0' || c->smtp_from[0] == '\0')
		return NOTIFY_FAILED; /* e-mail is not configured */
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	rk_random(rnd, sizeof(rnd));
	rk_hex_encode(rnd, sizeof(rnd), msgid);
	/* Addresses were checked (no CR, LF or spaces) when they were
	 * registered and at start: nothing can add a header. */
	w = snprintf(m.buf, sizeof(m.buf),
	             "From: renkei <%s>\r\n"
	             "To: <%s>\r\n"
	             "Subject: %s\r\n"
	             "Date: %s\r\n"
	             "Message-ID: <%s@renkei>\r\n"
	             "MIME-Version: 1.0\r\n"
	             "Content-Type: text/plain; charset=utf-8\r\n"
	             "Content-Transfer-Encoding: 7bit\r\n"
	             "Auto-Submitted: auto-generated\r\n"
	             "\r\n"
	             "%s\r\n"
	             "\r\n"
	             "Open renkei to read what is waiting%s%s.\r\n"
	             "This notice never carries patient details: they are shown\r\n"
	             "only after you sign in.\r\n",
	             c->smtp_from, t->endpoint, text, date, msgid, text,
	             c->notice_link[0] ? ": " : "", c->notice_link);
	if (w < 0 || (size_t)w >= sizeof(m.buf))
		return NOTIFY_FAILED;
	m.len = (size_t)w;
	snprintf(from, sizeof(from), "<%s>", c->smtp_from);
	snprintf(to, sizeof(to), "<%s>", t->endpoint);
	rcpt = curl_slist_append(rcpt, to);
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, c->smtp_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* STARTTLS or nothing: a relay that does not offer it gets no mail. */
	curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->smtp_ca[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, c->smtp_ca);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->notice_timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(e, CURLOPT_READDATA, &m);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	if (rc == CURLE_OK)
		return NOTIFY_SENT;
	LOG_D("NOTICE-MAIL-ERROR", "device=%lld curl=%d smtp=%ld",
	      (long long)t->device_id, (int)rc, status);
	/* SMTP 5xx is a refusal for good; 4xx and no answer are transient. */
	if (status >= 500)
		return NOTIFY_FAILED;
	return NOTIFY_RETRY;
}

/*
 * Password rules (pwrule.h): the length in characters and the display
 * name here, everything else through libpwquality.
 */
#include "auth/pwrule.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <pwquality.h>

#include "util/mem.h"
#include "util/text.h"

/* cracklib's FascistCheck keeps the dictionary it opened in static
 * variables: one check at a time, process-wide (the one lock that is
 * not ours to avoid). */
static pthread_mutex_t cracklib_lock = PTHREAD_MUTEX_INITIALIZER;

/* A substring of a user's login this long or longer may not appear in
 * the password ("dr.tanaka": "tana", "naka", ...). */
#define USER_SUBSTR 4

int
pwrule_min_chars(bool second_factor)
{
	return second_factor ? PWRULE_MIN_SECOND_FACTOR
	                     : PWRULE_MIN_PASSWORD_ONLY;
}

static void
ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Length of the separator at s (0: none): ASCII space and punctuation
 * that joins names, the ideographic space U+3000 and the katakana middle
 * dot U+30FB (ジョン・スミス). */
static size_t
separator_len(const char *s)
{
	if (*s == ' ' || *s == '\t' || *s == ',' || *s == '.' || *s == '-' ||
	    *s == '_' || *s == '(' || *s == ')')
		return 1;
	if (strncmp(s, "\xe3\x80\x80", 3) == 0 ||
	    strncmp(s, "\xe3\x83\xbb", 3) == 0)
		return 3;
	return 0;
}

/* A part of a name worth refusing in a password: two characters or more
 * and three bytes or more ("田中" yes, "誠" and "Li" no). */
static bool
name_part_counts(const char *p, size_t n)
{
	return n >= 3 && rk_utf8_len(p, n) >= 2;
}

/* True if the (lower-cased) password holds a part of the name, or the
 * whole name without its separators ("田中誠"). */
static bool
holds_name(const char *pw, const char *name)
{
	size_t n = strlen(name), joined_len = 0;
	char *lower = rk_strndup(name, n), *joined = rk_malloc(n + 1);
	bool found = false;
	const char *p = lower;

	ascii_lower(lower);
	while (*p != '\0' && !found) {
		size_t sep = separator_len(p), len = 0;
		if (sep > 0) {
			p += sep;
			continue;
		}
		while (p[len] != '\0' && separator_len(p + len) == 0)
			len++;
		memcpy(joined + joined_len, p, len);
		joined_len += len;
		if (name_part_counts(p, len)) {
			char part[256];
			if (len < sizeof(part)) {
				memcpy(part, p, len);
				part[len] = '\0';
				found = strstr(pw, part) != NULL;
			}
		}
		p += len;
	}
	joined[joined_len] = '\0';
	if (!found && name_part_counts(joined, joined_len))
		found = strstr(pw, joined) != NULL;
	free(lower);
	free(joined);
	return found;
}

/* The bases of the most common passwords in public breach lists (and
 * this service's own name), handed to libpwquality's own "badwords"
 * check: it refuses a password holding one, in either direction, in any
 * case ("Password123!", "drowssap-2026"). cracklib's dictionary knows
 * most of these words, but only a password that is little more than the
 * word itself. */
static const char bad_words[] =
    "password passwort passw0rd motdepasse qwerty qwertz azerty asdfgh "
    "zxcvbn iloveyou letmein welcome monkey dragon sunshine princess "
    "football baseball superman batman starwars trustno1 master shadow "
    "admin administrator changeme secret login renkei";

/* libpwquality's settings for a password of at least min characters. */
static pwquality_settings_t *
settings(int min)
{
	pwquality_settings_t *pwq = pwquality_default_settings();

	if (pwq == NULL)
		return NULL;
	/* Length is judged above, in characters; libpwquality counts bytes
	 * and gives credits for character classes, which the guideline does
	 * not: no credits, and its own floor at ours (bytes >= chars). */
	pwquality_set_int_value(pwq, PWQ_SETTING_MIN_LENGTH, min);
	pwquality_set_int_value(pwq, PWQ_SETTING_DIG_CREDIT, 0);
	pwquality_set_int_value(pwq, PWQ_SETTING_UP_CREDIT, 0);
	pwquality_set_int_value(pwq, PWQ_SETTING_LOW_CREDIT, 0);
	pwquality_set_int_value(pwq, PWQ_SETTING_OTH_CREDIT, 0);
	pwquality_set_int_value(pwq, PWQ_SETTING_DICT_CHECK, 1);
	pwquality_set_int_value(pwq, PWQ_SETTING_USER_CHECK, 1);
	pwquality_set_int_value(pwq, PWQ_SETTING_USER_SUBSTR, USER_SUBSTR);
	/* The login is not a local user: no getpwnam() for GECOS. */
	pwquality_set_int_value(pwq, PWQ_SETTING_GECOS_CHECK, 0);
	pwquality_set_int_value(pwq, PWQ_SETTING_LOCAL_USERS, 0);
	if (pwquality_set_str_value(pwq, PWQ_SETTING_BAD_WORDS, bad_words) !=
	    0) {
		pwquality_free_settings(pwq);
		return NULL;
	}
	return pwq;
}

/* Undo the usual swaps of letters for digits and signs, in place:
 * @ 4 -> a, 3 -> e, 1 ! -> i, 0 -> o, $ 5 -> s, 7 + -> t. */
static void
unleet(char *s)
{
	static const char from[] = "@431!0$57+", to[] = "aaeiiosstt";

	for (; *s; s++) {
		const char *f = strchr(from, *s);
		if (*s != '\0' && f != NULL)
			*s = to[f - from];
	}
}

static void
say(char *why, size_t whylen, int code, void *aux)
{
	char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
	const char *msg = pwquality_strerror(buf, sizeof(buf), code, aux);

	snprintf(why, whylen, "%s",
	         msg != NULL ? msg : "The password is not allowed");
}

bool
pwrule_check(const char *password, const char *old, const char *login,
             const char *name, bool second_factor, char *why, size_t whylen)
{
	size_t bytes = strlen(password);
	int min = pwrule_min_chars(second_factor), rc;
	pwquality_settings_t *pwq;
	void *aux = NULL;
	char *lower;
	bool named;

	if (bytes > PWRULE_MAX_BYTES) {
		snprintf(why, whylen, "The password is longer than %d bytes",
		         PWRULE_MAX_BYTES);
		return false;
	}
	if (rk_utf8_len(password, bytes) < (size_t)min) {
		say(why, whylen, PWQ_ERROR_MIN_LENGTH, (void *)(long)min);
		return false;
	}
	if (name != NULL && name[0] != '\0') {
		lower = rk_strndup(password, bytes);
		ascii_lower(lower);
		named = holds_name(lower, name);
		rk_free_secret(lower, bytes);
		if (named) {
			say(why, whylen, PWQ_ERROR_GECOS_CHECK, NULL);
			return false;
		}
	}

	pwq = settings(min);
	if (pwq == NULL) {
		say(why, whylen, PWQ_ERROR_MEM_ALLOC, NULL);
		return false;
	}
	pthread_mutex_lock(&cracklib_lock);
	rc = pwquality_check(pwq, password, old, login, &aux);
	if (rc >= 0) {
		/* "P@ssw0rd2026" is "password2026" to anyone guessing: the
		 * same dictionary and common words, looked for once more in
		 * the password with its usual character swaps undone. */
		char *plain = rk_strndup(password, bytes);
		unleet(plain);
		if (strcmp(plain, password) != 0) {
			void *aux2 = NULL;
			int rc2 =
			    pwquality_check(pwq, plain, NULL, NULL, &aux2);
			if (rc2 == PWQ_ERROR_BAD_WORDS ||
			    (rc2 == PWQ_ERROR_CRACKLIB_CHECK && aux2 != NULL &&
			     strstr((const char *)aux2, "dictionary word") !=
			         NULL)) {
				rc = rc2;
				aux = aux2;
			} else {
				char scrap[PWQ_MAX_ERROR_MESSAGE_LEN];
				if (rc2 < 0) /* frees what it holds */
					pwquality_strerror(scrap, sizeof(scrap),
					                   rc2, aux2);
			}
		}
		rk_free_secret(plain, bytes);
	}
	pthread_mutex_unlock(&cracklib_lock);
	pwquality_free_settings(pwq);
	if (rc >= 0)
		return true;
	say(why, whylen, rc, aux); /* frees aux */
	return false;
}

bool
pwrule_ready(char *err, size_t errlen)
{
	char why[256];

	/* A word every dictionary has is refused as one, and a strong
	 * password passes: then the dictionary was found and read. */
	if (pwrule_check("sunflower", NULL, NULL, NULL, true, why,
	                 sizeof(why)) ||
	    strstr(why, "dictionary word") == NULL) {
		snprintf(err, errlen,
		         "libpwquality cannot use cracklib's dictionary (%s); "
		         "install cracklib-runtime",
		         why);
		return false;
	}
	if (!pwrule_check("kq7v-m2xp-rt9w-zb4h", NULL, NULL, NULL, false, why,
	                  sizeof(why))) {
		snprintf(err, errlen,
		         "libpwquality refuses a strong password (%s)", why);
		return false;
	}
	return true;
}

/*
 * pwrule — what a new password must be (docs/accounts.md, "Passwords").
 *
 * The rules are those of Japan's MHLW guideline for medical information
 * systems, 6.0: at least 8 characters for an account that has, or must
 * have, a second factor, at least 13 without one; no weak, dictionary or
 * common password, none that holds the login or the person's name.
 * Judging "weak" and "dictionary" is Debian's libpwquality's job (with
 * cracklib's dictionary, package cracklib-runtime), not hand-written
 * rules here: this module only counts characters (code points, not
 * bytes: a Japanese password of 8 kanji is 8 characters), checks the
 * display name (libpwquality can look only at a local user's GECOS), and
 * hands the rest to pwquality_check with the login as the user name and
 * a short list of the most common password bases as its "badwords" (then
 * once more with the usual letter-for-digit swaps undone, "P@ssw0rd").
 * The explanations are libpwquality's own (pwquality_strerror), in
 * English.
 *
 * The host's /etc/security/pwquality.conf is not read: the server's rules
 * do not change with the PAM configuration of the machine it runs on.
 *
 * Thread rules: any thread. cracklib keeps the dictionary it opened in
 * static state, so checks are serialised inside (a mutex): they run on
 * the password-hash lane, beside argon2, and take about a millisecond.
 */
#ifndef RK_AUTH_PWRULE_H
#define RK_AUTH_PWRULE_H

#include <stdbool.h>
#include <stddef.h>

/* Shortest passwords, in characters. */
#define PWRULE_MIN_SECOND_FACTOR 8
#define PWRULE_MIN_PASSWORD_ONLY 13
/* Longest, in bytes (as a login's password: 1..1024). */
#define PWRULE_MAX_BYTES 1024

/* The shortest password allowed for an account with (true) or without a
 * second factor. */
int pwrule_min_chars(bool second_factor);

/* Judge `password` as a new password for `login` (display name `name`,
 * may be NULL or ""), replacing `old` (NULL: unknown). second_factor: the
 * account has or must have one (auth_account_has_second_factor). Returns
 * true if allowed; else false with a one-line English explanation in
 * why[whylen] ("The password is shorter than 13 characters", "The
 * password fails the dictionary check - it is based on a dictionary
 * word", ...). `password` must be valid UTF-8. */
bool pwrule_check(const char *password, const char *old, const char *login,
                  const char *name, bool second_factor, char *why,
                  size_t whylen);

/* Check once at start that the dictionary can be used (a missing
 * cracklib-runtime would otherwise refuse every new password). Returns
 * true, or false with the reason in err[errlen]. */
bool pwrule_ready(char *err, size_t errlen);

#endif

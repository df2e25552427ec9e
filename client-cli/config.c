/*
 * The CLI's files, in one folder (mode 0700 when we create it):
 *
 *   config   INI read with inih; root-section keys `server` and `ca`,
 *            and `cert` / `key`: a device certificate and its key (from
 *            `renkei-server device issue`) for a server with client_cert.
 *            Written by `login --server/--ca` line by line, so comments
 *            and keys we do not know survive.
 *   session  the cached session: "server=URL" and "token=TOKEN" lines.
 *            Always mode 0600 from its creation (mkstemp, then rename
 *            over the old one), refused if anyone else could read it,
 *            and wiped from memory after use.
 *   cursor   where `watch` stopped: "CURSOR KEY" lines, KEY being the
 *            server, the login and the boards watched; mode 0600,
 *            replaced atomically like the session, at most CURSOR_KEYS
 *            lines (the most recently saved first).
 *   device-key this configuration's device key (Ed25519, PEM PKCS#8),
 *            made at the first login, mode 0600 from its creation; its
 *            public half goes with each login and it signs each resume,
 *            so the session file alone resumes nothing. Refused, never
 *            used, if anyone else could read or change it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "cli.h"

#define SESSION_FILE "session"
#define DEVICE_KEY_FILE "device-key"
#define CONFIG_FILE "config"
#define CONFIG_MAX (64 * 1024)
#define CURSOR_FILE "cursor"
#define CURSOR_MAX (64 * 1024)
#define CURSOR_KEYS 50
#define CURSOR_KEY_MAX 2048

static int
path_join(struct cli *cli, char *out, size_t outlen, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", cli->dir, name);

	if (n < 0 || (size_t)n >= outlen)
		return cli_fail(cli, CLI_EXIT_FAIL, "path too long: %s/%s", cli->dir, name);
	return CLI_EXIT_OK;
}

static int
find_dir(struct cli *cli)
{
	const char *env = getenv("RENKEI_CONFIG_DIR");
	const char *home;
	struct passwd *pw;
	int n;

	if (env != NULL && *env != '\0') {
		n = snprintf(cli->dir, sizeof cli->dir, "%s", env);
	} else if ((env = getenv("XDG_CONFIG_HOME")) != NULL && env[0] == '/') {
		/* the XDG spec: a relative value is invalid and ignored */
		n = snprintf(cli->dir, sizeof cli->dir, "%s/renkei", env);
	} else {
		home = getenv("HOME");
		if (home == NULL || *home == '\0') {
			pw = getpwuid(getuid());
			home = pw != NULL ? pw->pw_dir : NULL;
		}
		if (home == NULL)
			return cli_fail(cli, CLI_EXIT_USAGE,
			                "cannot find your home folder; set RENKEI_CONFIG_DIR");
		n = snprintf(cli->dir, sizeof cli->dir, "%s/.config/renkei", home);
	}
	if (n < 0 || (size_t)n >= sizeof cli->dir)
		return cli_fail(cli, CLI_EXIT_USAGE, "configuration folder path too long");
	return CLI_EXIT_OK;
}

/* mkdir -p, mode 0700 for what we create. */
static int
ensure_dir(struct cli *cli)
{
	char path[CLI_PATH_MAX];
	struct stat st;
	size_t i;

	snprintf(path, sizeof path, "%s", cli->dir);
	for (i = 1; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot create %s: %s", path,
			                strerror(errno));
		path[i] = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot create %s: %s", path, strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_fail(cli, CLI_EXIT_FAIL, "%s is not a folder", path);
	return CLI_EXIT_OK;
}

static int
on_setting(void *user, const char *section, const char *name, const char *value)
{
	struct cli *cli = user;
	char **slot = NULL;

	if (section[0] != '\0')
		return 1; /* other sections belong to later versions */
	if (strcmp(name, "server") == 0)
		slot = &cli->cfg_server;
	else if (strcmp(name, "ca") == 0)
		slot = &cli->cfg_ca;
	else if (strcmp(name, "cert") == 0)
		slot = &cli->cfg_cert;
	else if (strcmp(name, "key") == 0)
		slot = &cli->cfg_key;
	if (slot != NULL) {
		free(*slot);
		*slot = strdup(value);
		if (*slot == NULL)
			abort();
	}
	return 1;
}

int
cli_config_load(struct cli *cli)
{
	char path[CLI_PATH_MAX];
	int rc;

	if ((rc = find_dir(cli)) != CLI_EXIT_OK)
		return rc;
	if ((rc = path_join(cli, path, sizeof path, CONFIG_FILE)) != CLI_EXIT_OK)
		return rc;
	rc = ini_parse(path, on_setting, cli);
	if (rc == -1) {
		if (errno == ENOENT)
			return CLI_EXIT_OK;
		return cli_fail(cli, CLI_EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
	}
	if (rc != 0)
		return cli_fail(cli, CLI_EXIT_USAGE, "%s, line %d: not a valid setting", path, rc);
	return CLI_EXIT_OK;
}

void
cli_config_free(struct cli *cli)
{
	free(cli->cfg_server);
	free(cli->cfg_ca);
	free(cli->cfg_cert);
	free(cli->cfg_key);
	cli->cfg_server = NULL;
	cli->cfg_ca = NULL;
	cli->cfg_cert = cli->cfg_key = NULL;
}

const char *
cli_server_url(const struct cli *cli)
{
	if (cli->opt_server != NULL)
		return cli->opt_server;
	if (cli->cfg_server != NULL && *cli->cfg_server != '\0')
		return cli->cfg_server;
	return CLI_DEFAULT_SERVER;
}

const char *
cli_ca_file(const struct cli *cli)
{
	if (cli->opt_ca != NULL)
		return cli->opt_ca;
	if (cli->cfg_ca != NULL && *cli->cfg_ca != '\0')
		return cli->cfg_ca;
	return NULL;
}

/* Write len bytes to a new file next to `path` and rename it over path:
 * readers see the old or the new file, never half of one. mkstemp
 * creates it mode 0600 with O_EXCL. Returns 0, or -1 with errno. */
static int
write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[CLI_PATH_MAX + 16];
	size_t off = 0;
	ssize_t n;
	int fd, e;

	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;

fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

static int
replace_file(struct cli *cli, const char *path, const char *data, size_t len)
{
	if (write_atomic(path, data, len) != 0)
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
	return CLI_EXIT_OK;
}

/* Past the blanks at s, as inih counts them (isspace: \v and \f too). */
static const char *
skip_blanks(const char *s)
{
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Is `line` a root-section setting of `key`? */
static int
line_sets(const char *line, const char *key)
{
	size_t klen = strlen(key);

	line = skip_blanks(line);
	if (strncmp(line, key, klen) != 0)
		return 0;
	line = skip_blanks(line + klen);
	return *line == '=' || *line == ':';
}

static void
append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			abort();
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

int
cli_config_save(struct cli *cli, const char *server, const char *ca)
{
	const char *keys[2] = { "server", "ca" }, *vals[2] = { server, ca };
	char path[CLI_PATH_MAX], *old = NULL, *out = NULL, *line, *next, set[CLI_PATH_MAX + 16];
	size_t olen = 0, len = 0, cap = 0;
	int rc, in_root = 1, done[2] = { 0, 0 }, i, n;
	int after_setting = 0, continues_ours = 0; /* as inih reads the file */
	FILE *f;

	for (i = 0; i < 2; i++) {
		if (vals[i] != NULL && strpbrk(vals[i], "\r\n") != NULL)
			return cli_fail(cli, CLI_EXIT_USAGE, "line breaks are not allowed in %s",
			                keys[i]);
		/* so that no snprintf into `set` below can be cut short */
		if (vals[i] != NULL && strlen(vals[i]) >= CLI_PATH_MAX)
			return cli_fail(cli, CLI_EXIT_USAGE, "%s is too long", keys[i]);
	}
	if ((rc = ensure_dir(cli)) != CLI_EXIT_OK ||
	    (rc = path_join(cli, path, sizeof path, CONFIG_FILE)) != CLI_EXIT_OK)
		return rc;

	f = fopen(path, "r");
	if (f != NULL) {
		old = malloc(CONFIG_MAX + 1);
		if (old == NULL)
			abort();
		olen = fread(old, 1, CONFIG_MAX, f);
		if (ferror(f) || !feof(f)) {
			fclose(f);
			free(old);
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot read %s (or it is over 64 KiB)",
			                path);
		}
		fclose(f);
		old[olen] = '\0';
	} else if (errno != ENOENT) {
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot read %s: %s", path, strerror(errno));
	}

	/* Copy line by line; in the root section, the first setting of a key
	 * we set gets the new value and later ones are dropped; keys never
	 * seen are added at the end of the root section. inih reads an
	 * indented line after a setting as more of that setting's value
	 * (a continuation), so those after a setting we replace go with it:
	 * else "server = NEW" would read back as whatever they hold. */
	for (line = old; line != NULL && *line != '\0'; line = next) {
		const char *start;
		int ours;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		start = skip_blanks(line);
		if (*start == '\0' || *start == ';' || *start == '#') {
			append(&out, &len, &cap, line, strlen(line));
			append(&out, &len, &cap, "\n", 1);
			continue; /* inih: no setting, and no change of setting */
		}
		if (start > line && after_setting) {
			if (!continues_ours) {
				append(&out, &len, &cap, line, strlen(line));
				append(&out, &len, &cap, "\n", 1);
			}
			continue; /* a continuation */
		}
		/* "[]" names the root section again: inih reports its
		 * settings in section "", which the loader takes as root. */
		if (*start == '[') {
			const char *text = line;

			if (in_root && start[1] != ']')
				for (i = 0; i < 2; i++)
					if (vals[i] != NULL && !done[i]) {
						n = snprintf(set, sizeof set, "%s = %s\n", keys[i],
						             vals[i]);
						append(&out, &len, &cap, set, (size_t)n);
						done[i] = 1;
						/* after a setting, an indented header would
						 * read as a continuation of it */
						text = start;
					}
			in_root = start[1] == ']';
			after_setting = continues_ours = 0;
			append(&out, &len, &cap, text, strlen(text));
			append(&out, &len, &cap, "\n", 1);
			continue;
		}
		for (i = 0; in_root && i < 2; i++)
			if (vals[i] != NULL && line_sets(line, keys[i]))
				break;
		ours = in_root && i < 2;
		/* inih continues only a setting with a name ("= x" has none) */
		after_setting = *start != '=' && *start != ':';
		continues_ours = ours;
		if (ours) {
			if (!done[i]) {
				n = snprintf(set, sizeof set, "%s = %s\n", keys[i], vals[i]);
				append(&out, &len, &cap, set, (size_t)n);
				done[i] = 1;
			}
			continue;
		}
		append(&out, &len, &cap, line, strlen(line));
		append(&out, &len, &cap, "\n", 1);
	}
	for (i = 0; i < 2; i++)
		if (vals[i] != NULL && !done[i]) {
			n = snprintf(set, sizeof set, "%s = %s\n", keys[i], vals[i]);
			append(&out, &len, &cap, set, (size_t)n);
		}
	rc = replace_file(cli, path, out != NULL ? out : "", len);
	free(old);
	free(out);
	return rc;
}

void
cli_session_wipe(struct cli_session *s)
{
	OPENSSL_cleanse(s, sizeof *s);
}

int
cli_session_load(struct cli *cli, struct cli_session *s)
{
	char path[CLI_PATH_MAX], buf[CLI_URL_MAX + CLI_TOKEN_MAX + 64], *line, *next;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	memset(s, 0, sizeof *s);
	if ((rc = path_join(cli, path, sizeof path, SESSION_FILE)) != CLI_EXIT_OK)
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cli_fail(cli, CLI_EXIT_FAIL, "%s is not a regular file", path);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		return cli_fail(cli, CLI_EXIT_FAIL,
		                "%s may be read by others; delete it and log in again", path);
	}
	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			OPENSSL_cleanse(buf, sizeof buf);
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot read %s: %s", path,
			                strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(line, "server=", 7) == 0)
			snprintf(s->server, sizeof s->server, "%s", line + 7);
		else if (strncmp(line, "token=", 6) == 0)
			snprintf(s->token, sizeof s->token, "%s", line + 6);
	}
	OPENSSL_cleanse(buf, sizeof buf);
	if (s->server[0] == '\0' || s->token[0] == '\0') {
		cli_session_wipe(s);
		return cli_fail(cli, CLI_EXIT_FAIL,
		                "%s is damaged; delete it and log in again", path);
	}
	return CLI_EXIT_OK;
}

int
cli_session_save(struct cli *cli, const char *server, const char *token)
{
	char path[CLI_PATH_MAX], buf[CLI_URL_MAX + CLI_TOKEN_MAX + 64];
	int rc, n;

	if (strlen(server) >= CLI_URL_MAX || strlen(token) >= CLI_TOKEN_MAX ||
	    strpbrk(server, "\r\n") != NULL || strpbrk(token, "\r\n") != NULL)
		return cli_fail(cli, CLI_EXIT_SERVER, "cannot cache this session (bad token)");
	if ((rc = ensure_dir(cli)) != CLI_EXIT_OK ||
	    (rc = path_join(cli, path, sizeof path, SESSION_FILE)) != CLI_EXIT_OK)
		return rc;
	n = snprintf(buf, sizeof buf, "server=%s\ntoken=%s\n", server, token);
	rc = replace_file(cli, path, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof buf);
	return rc;
}

int
cli_device_key(struct cli *cli, int create, struct rkc_device **out)
{
	char path[CLI_PATH_MAX], err[CLI_PATH_MAX + 200];
	struct rkc_device *d;
	int rc;

	*out = NULL;
	if ((rc = path_join(cli, path, sizeof path, DEVICE_KEY_FILE)) != CLI_EXIT_OK)
		return rc;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		if (!create)
			return cli_fail(cli, CLI_EXIT_AUTH,
			                "this device has no device key (%s); run '%s login "
			                "LOGIN' again",
			                path, cli->prog);
		if ((rc = ensure_dir(cli)) != CLI_EXIT_OK)
			return rc;
		d = rkc_device_generate(err, sizeof err);
		if (d == NULL)
			return cli_fail(cli, CLI_EXIT_FAIL, "%s", err);
		if (rkc_device_save(d, path, err, sizeof err) != 0) {
			rkc_device_free(d);
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot save the device key: %s",
			                err);
		}
		*out = d;
		return CLI_EXIT_OK;
	}
	/* An existing key is used as it is, or not at all: one others could
	 * read is not replaced behind the owner's back either. */
	d = rkc_device_load(path, err, sizeof err);
	if (d == NULL)
		return cli_fail(cli, CLI_EXIT_FAIL,
		                "%s; delete it and log in again (a new key is made)", err);
	*out = d;
	return CLI_EXIT_OK;
}

int
cli_session_remove(struct cli *cli)
{
	char path[CLI_PATH_MAX];
	int rc;

	if ((rc = path_join(cli, path, sizeof path, SESSION_FILE)) != CLI_EXIT_OK)
		return rc;
	if (unlink(path) == 0)
		return CLI_EXIT_OK;
	if (errno == ENOENT)
		return -1;
	return cli_fail(cli, CLI_EXIT_FAIL, "cannot delete %s: %s", path, strerror(errno));
}


/* Read the cursor file into a malloc'ed string (*buf, "" if there is
 * none). Returns 0, or -1 with errno. */
static int
cursor_read(const char *path, char **buf)
{
	size_t len;
	FILE *f;

	*buf = calloc(1, CURSOR_MAX + 1);
	if (*buf == NULL)
		abort();
	f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	len = fread(*buf, 1, CURSOR_MAX, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		errno = EFBIG;
		return -1;
	}
	fclose(f);
	(*buf)[len] = '\0';
	return 0;
}

/* Split the line "CURSOR KEY". 0 with *cursor and *key (inside line), or
 * -1 if it is not such a line. */
static int
cursor_line(char *line, uint64_t *cursor, const char **key)
{
	char *sp = strchr(line, ' '), *end;
	unsigned long long v;
	int bad;

	if (sp == NULL || sp == line || line[0] < '0' || line[0] > '9')
		return -1;
	*sp = '\0';
	errno = 0;
	v = strtoull(line, &end, 10);
	bad = errno != 0 || *end != '\0';
	*sp = ' ';
	if (bad)
		return -1;
	*cursor = (uint64_t)v;
	*key = sp + 1;
	return 0;
}

/* The next line of a buffer: NUL-terminates it and returns the one after. */
static char *
next_line(char *line)
{
	char *nl = strchr(line, '\n');

	if (nl == NULL)
		return line + strlen(line);
	*nl = '\0';
	return nl + 1;
}

int
cli_cursor_load(struct cli *cli, const char *key, uint64_t *cursor, char *why, size_t whylen)
{
	char path[CLI_PATH_MAX], *buf, *line, *next;
	const char *k;
	uint64_t v;
	int rc = 0;

	*cursor = 0;
	if (snprintf(path, sizeof path, "%s/%s", cli->dir, CURSOR_FILE) >= (int)sizeof path) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	if (cursor_read(path, &buf) != 0) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		rc = -1;
	} else {
		for (line = buf; *line != '\0'; line = next) {
			next = next_line(line);
			if (cursor_line(line, &v, &k) == 0 && strcmp(k, key) == 0) {
				*cursor = v;
				break;
			}
		}
	}
	free(buf);
	return rc;
}

int
cli_cursor_save(struct cli *cli, const char *key, uint64_t cursor, char *why, size_t whylen)
{
	char path[CLI_PATH_MAX], lock[CLI_PATH_MAX + 8], *old = NULL, *out = NULL, *line,
		*next, head[32], *lines[CURSOR_KEYS];
	const char *k;
	size_t len = 0, cap = 0, nlines, i;
	uint64_t v;
	int n, rc = -1, lfd;

	if (strpbrk(key, "\r\n") != NULL || strlen(key) > CURSOR_KEY_MAX) {
		snprintf(why, whylen, "bad cursor key");
		return -1;
	}
	if (snprintf(path, sizeof path, "%s/%s", cli->dir, CURSOR_FILE) >= (int)sizeof path) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	/* Several watches may save at once (other boards, other terminals):
	 * read-modify-write under a lock, or one would undo the other. */
	snprintf(lock, sizeof lock, "%s.lock", path);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0) {
		snprintf(why, whylen, "cannot open %s: %s", lock, strerror(errno));
		return -1;
	}
	while (flock(lfd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			snprintf(why, whylen, "cannot lock %s: %s", lock, strerror(errno));
			close(lfd);
			return -1;
		}
	}
	if (cursor_read(path, &old) != 0) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	/* Split the lines once; a cursor never goes back (another watch of
	 * the same boards may have printed further). */
	nlines = 0;
	for (line = old; *line != '\0'; line = next) {
		next = next_line(line);
		if (cursor_line(line, &v, &k) != 0)
			continue;
		if (strcmp(k, key) == 0) {
			if (v > cursor)
				cursor = v;
			continue;
		}
		if (nlines + 1 < CURSOR_KEYS)
			lines[nlines++] = line;
	}
	/* this key first, then the others it has room for */
	n = snprintf(head, sizeof head, "%llu ", (unsigned long long)cursor);
	append(&out, &len, &cap, head, (size_t)n);
	append(&out, &len, &cap, key, strlen(key));
	append(&out, &len, &cap, "\n", 1);
	for (i = 0; i < nlines; i++) {
		append(&out, &len, &cap, lines[i], strlen(lines[i]));
		append(&out, &len, &cap, "\n", 1);
	}
	if (write_atomic(path, out, len) != 0) {
		snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	flock(lfd, LOCK_UN);
	close(lfd);
	free(old);
	free(out);
	return rc;
}

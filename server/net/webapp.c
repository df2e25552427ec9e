/*
 * The web client's files, read once and served from memory (webapp.h).
 */
#include "net/webapp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

static int
name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* A flat file name we could serve: [A-Za-z0-9._-]{1,127}, not starting
 * with '.' (so never "." or ".."), with a known extension. */
static int
name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= WEBAPP_NAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return 0;
	return 1;
}

enum webapp_path
webapp_path(const char *path, char name[WEBAPP_NAME_MAX])
{
	size_t len;

	if (strcmp(path, "/") == 0 || strcmp(path, "/app") == 0)
		return WEBAPP_REDIRECT;
	if (strncmp(path, "/app/", 5) != 0)
		return WEBAPP_NOT_MINE;
	path += 5;
	if (*path == '\0') {
		strcpy(name, "index.html");
		return WEBAPP_FILE;
	}
	/* Bounded before anything else: a huge path costs one strnlen. */
	len = strnlen(path, WEBAPP_NAME_MAX);
	if (!name_ok(path, len) || path[len] != '\0' || webapp_ctype(path) == NULL)
		return WEBAPP_BAD;
	memcpy(name, path, len);
	name[len] = '\0';
	return WEBAPP_FILE;
}

const char *
webapp_ctype(const char *name)
{
	static const struct {
		const char *ext, *ctype;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".webmanifest", "application/manifest+json"},
		{".json", "application/json"},
		{".png", "image/png"},
		{".svg", "image/svg+xml"},
		{".ico", "image/x-icon"},
		{".txt", "text/plain; charset=utf-8"},
		{".woff2", "font/woff2"},
	};
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].ctype;
	return NULL;
}

int
webapp_name_hashed(const char *name)
{
	for (const char *p = strchr(name, '-'); p != NULL; p = strchr(p + 1, '-')) {
		size_t n = 0;
		while ((p[1 + n] >= 'A' && p[1 + n] <= 'Z') ||
		       (p[1 + n] >= '0' && p[1 + n] <= '9'))
			n++;
		if (n >= 8 && p[1 + n] == '.')
			return 1;
	}
	return 0;
}

/* The folder "web" beside the running binary (build/renkei-server ->
 * build/web), or "" if that cannot be told. */
static void
beside_binary(char *out, size_t cap)
{
	char exe[400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	out[0] = '\0';
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	snprintf(out, cap, "%s/web", exe);
}

/* Read one regular file of at most WEBAPP_FILE_MAX bytes, relative to
 * the folder's descriptor (no symbolic link followed). */
static int
read_file(int dfd, const char *name, uint8_t **data, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t off = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > WEBAPP_FILE_MAX) {
		close(fd);
		return -1;
	}
	buf = rk_malloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		ssize_t m = read(fd, buf + off, (size_t)st.st_size - off);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			break;
		off += (size_t)m;
	}
	close(fd);
	if (off != (size_t)st.st_size) {
		free(buf);
		return -1;
	}
	*data = buf;
	*len = off;
	return 0;
}

size_t
webapp_load(struct webapp *w, const struct conf *conf)
{
	const char *dir = conf->web_dir != NULL ? conf->web_dir : "";
	size_t total = 0;
	struct dirent *de;
	DIR *d;
	int dfd;

	memset(w, 0, sizeof(*w));
	if (strcmp(dir, "off") == 0)
		return 0;
	if (dir[0] == '\0')
		beside_binary(w->dir, sizeof(w->dir));
	else
		snprintf(w->dir, sizeof(w->dir), "%s", dir);
	d = w->dir[0] != '\0' ? opendir(w->dir) : NULL;
	if (d == NULL) {
		LOG_W("WEBAPP-NONE", "dir=\"%s\" msg=\"no web client folder: /app/ "
		      "answers 404 (build it with scripts/build.sh, or set web_dir)\"",
		      w->dir);
		return 0;
	}
	dfd = dirfd(d);
	w->files = rk_calloc(WEBAPP_FILES_MAX, sizeof(*w->files));
	while ((de = readdir(d)) != NULL) {
		struct webapp_file *f;
		size_t nl = strlen(de->d_name);

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!name_ok(de->d_name, nl) || webapp_ctype(de->d_name) == NULL) {
			LOG_W("WEBAPP-SKIP", "file=\"%.*s\" msg=\"not a name or type the "
			      "web client is made of\"", (int)(nl > 64 ? 64 : nl), de->d_name);
			continue;
		}
		if (w->n == WEBAPP_FILES_MAX) {
			LOG_W("WEBAPP-SKIP", "file=\"%s\" msg=\"more than %d files\"",
			      de->d_name, WEBAPP_FILES_MAX);
			continue;
		}
		f = &w->files[w->n];
		if (read_file(dfd, de->d_name, &f->data, &f->len) != 0) {
			LOG_W("WEBAPP-SKIP", "file=\"%s\" msg=\"not a regular file of at "
			      "most %u bytes, or unreadable\"", de->d_name, WEBAPP_FILE_MAX);
			continue;
		}
		if (total + f->len > WEBAPP_TOTAL_MAX) {
			LOG_W("WEBAPP-SKIP", "file=\"%s\" msg=\"the folder passes %u bytes\"",
			      de->d_name, WEBAPP_TOTAL_MAX);
			free(f->data);
			f->data = NULL;
			continue;
		}
		total += f->len;
		memcpy(f->name, de->d_name, nl + 1);
		f->ctype = webapp_ctype(f->name);
		f->immutable = webapp_name_hashed(f->name);
		w->n++;
	}
	closedir(d);
	LOG_I("WEBAPP-LOADED", "dir=\"%s\" files=%zu bytes=%zu", w->dir, w->n, total);
	return w->n;
}

void
webapp_fini(struct webapp *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->files[i].data);
	free(w->files);
	memset(w, 0, sizeof(*w));
}

const struct webapp_file *
webapp_find(const struct webapp *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->files[i].name, name) == 0)
			return &w->files[i];
	return NULL;
}

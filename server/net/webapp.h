/*
 * webapp — the web client's static files (web/, built into build/web/ by
 * scripts/build.sh), served under /app/ on the HTTPS port.
 *
 * The folder (conf web_dir) is read once, at start, into memory: a
 * request is answered from that table by exact name, so no request ever
 * reaches the file system and no path can escape the folder. The folder
 * is flat (the build makes it so): only regular files whose names are
 * [A-Za-z0-9._-], not starting with '.', with a known extension, are
 * taken; anything else in it is skipped with a warning. Rebuilding the
 * bundle needs a server restart.
 *
 * Caching: a name carrying a content hash ("app-5XQ7ZK2B.js": '-', 8 or
 * more of [A-Z0-9], then '.') never changes and is cached for a year,
 * immutable; every other name (index.html, sw.js, manifest) is
 * "no-cache" (revalidated each time), so a new build is picked up at the
 * next load.
 *
 * Thread rules: webapp_load before serving, then read-only on the
 * service thread; webapp_path is pure (fuzz_http drives it).
 */
#ifndef RK_NET_WEBAPP_H
#define RK_NET_WEBAPP_H

#include <stddef.h>
#include <stdint.h>

#include "util/conf.h"

#define WEBAPP_NAME_MAX 128        /* longest file name served */
#define WEBAPP_FILES_MAX 256       /* files taken from the folder */
#define WEBAPP_FILE_MAX (8u << 20) /* largest file taken (bytes) */
#define WEBAPP_TOTAL_MAX (64u << 20)

struct webapp_file {
	char name[WEBAPP_NAME_MAX];
	const char *ctype;
	int immutable; /* content-hashed name: cached for a year */
	uint8_t *data;
	size_t len;
};

struct webapp {
	struct webapp_file *files;
	size_t n;
	char dir[512]; /* the folder read ("" when none) */
};

/* What a request path (percent-decoded, without the query) asks of the
 * web client. */
enum webapp_path {
	WEBAPP_NOT_MINE, /* not under /app: someone else's */
	WEBAPP_REDIRECT, /* "/" or "/app": 308 to /app/ */
	WEBAPP_FILE,     /* a well-formed name, in name (may not exist) */
	WEBAPP_BAD,      /* under /app/ but not a name we could serve: 404 */
};

/* Classify path; on WEBAPP_FILE the file name ("index.html" for "/app/")
 * is written into name. Pure. */
enum webapp_path webapp_path(const char *path, char name[WEBAPP_NAME_MAX]);

/* Read conf->web_dir ("" = the folder "web" beside the running server
 * binary; "off" = no web client) into w. A missing folder is not an
 * error (w->n is 0 and /app/ answers 404): it logs WEBAPP-NONE. Returns
 * the number of files taken. Free with webapp_fini. */
size_t webapp_load(struct webapp *w, const struct conf *conf);
void webapp_fini(struct webapp *w);

/* The file called name, or NULL. */
const struct webapp_file *webapp_find(const struct webapp *w, const char *name);

/* The content type for a file name by its extension, or NULL when it is
 * not one the web client is made of. Pure. */
const char *webapp_ctype(const char *name);

/* Whether name carries a content hash (see above). Pure. */
int webapp_name_hashed(const char *name);

#endif

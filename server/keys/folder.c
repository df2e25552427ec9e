/*
 * The key folder and the checks every key file passes before it is read
 * (the list is at the top of keys.h). "Inside the data folder" is judged
 * on real paths: a key folder that is a symbolic link into the data
 * folder, or reached through one, is inside it.
 */
#include "keys/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The real path of `path`'s folder joined with its last name (which may
 * not exist, or be a symbolic link: it is not followed). */
static int
real_of(const char *path, char out[PATH_MAX])
{
	char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];
	int n;

	if (snprintf(a, sizeof(a), "%s", path) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s", path) >= (int)sizeof(b))
		return -1;
	if (realpath(dirname(a), dir) == NULL)
		return -1;
	n = snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
	             basename(b));
	return n > 0 && n < PATH_MAX ? 0 : -1;
}

/* 1 if the real path `p` is `dir` or under it. */
static int
under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Is `path` inside data_dir? 1 yes, 0 no (or no data folder yet). */
static int
inside_data(const char *path, const char *data_dir, char real[PATH_MAX])
{
	char data[PATH_MAX];

	if (data_dir == NULL || realpath(data_dir, data) == NULL)
		return 0;
	if (real_of(path, real) != 0)
		return 0;
	return under(real, data);
}

int
keys_dir_check(const char *keys_dir, const char *data_dir, char *err,
               size_t errlen)
{
	char real[PATH_MAX], data[PATH_MAX];
	struct stat st;

	if (keys_dir == NULL || keys_dir[0] == '\0') {
		snprintf(err, errlen, "no key folder (keys_dir) is set");
		return -1;
	}
	if (stat(keys_dir, &st) != 0) {
		snprintf(err, errlen, "key folder %s: %s (run renkei-server init)",
		         keys_dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "key folder %s is not a folder", keys_dir);
		return -1;
	}
	if (realpath(keys_dir, real) == NULL) {
		snprintf(err, errlen, "key folder %s: %s", keys_dir, strerror(errno));
		return -1;
	}
	if (data_dir != NULL && realpath(data_dir, data) != NULL &&
	    (under(real, data) || under(data, real))) {
		snprintf(err, errlen,
		         "key folder %s (%s) %s the data folder %s: keys must be "
		         "kept apart from the data (set keys_dir elsewhere)",
		         keys_dir, real, under(real, data) ? "is inside" : "holds",
		         data_dir);
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen,
		         "key folder %s is writable by group or others (mode %04o): "
		         "chmod 700 it",
		         keys_dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
keys_dir_make(const char *keys_dir, const char *data_dir, char *err,
              size_t errlen)
{
	if (keys_dir != NULL && keys_dir[0] != '\0' && mkdir(keys_dir, 0700) != 0 &&
	    errno != EEXIST) {
		snprintf(err, errlen, "cannot create the key folder %s: %s",
		         keys_dir, strerror(errno));
		return -1;
	}
	return keys_dir_check(keys_dir, data_dir, err, errlen);
}

int
keys_outside_data(const char *path, const char *data_dir, char *err,
                  size_t errlen)
{
	char real[PATH_MAX];

	if (!inside_data(path, data_dir, real))
		return 0;
	snprintf(err, errlen,
	         "key file %s is inside the data folder %s (as %s): keys must be "
	         "kept apart from the data (set keys_dir, or tls_key, elsewhere)",
	         path, data_dir, real);
	return -1;
}

int
keys_file_check(const char *path, const char *data_dir, bool secret,
                bool *missing, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat st;
	unsigned bad = secret ? 077 : 022;

	if (missing != NULL)
		*missing = false;
	if (inside_data(path, data_dir, real)) {
		snprintf(err, errlen,
		         "key file %s is inside the data folder %s (as %s): keys "
		         "must be kept apart from the data (set keys_dir elsewhere)",
		         path, data_dir, real);
		return -1;
	}
	if (lstat(path, &st) != 0) {
		if (missing != NULL)
			*missing = errno == ENOENT;
		snprintf(err, errlen, "cannot read key file %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		         "key file %s is not a regular file (%s): refusing it", path,
		         S_ISLNK(st.st_mode)  ? "a symbolic link"
		         : S_ISDIR(st.st_mode) ? "a folder"
		                               : "a device, socket or pipe");
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
		         "key file %s is owned by uid %u, not by the server's user "
		         "(uid %u): chown it",
		         path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & bad) != 0) {
		snprintf(err, errlen,
		         "key file %s is %s by group or others (mode %04o): chmod %s "
		         "it",
		         path, secret ? "readable or writable" : "writable",
		         (unsigned)(st.st_mode & 07777), secret ? "600" : "644");
		return -1;
	}
	if (st.st_nlink != 1) {
		snprintf(err, errlen,
		         "key file %s has %lu names (hard links): a key must have "
		         "one only, as another could be inside the data folder",
		         path, (unsigned long)st.st_nlink);
		return -1;
	}
	return 0;
}

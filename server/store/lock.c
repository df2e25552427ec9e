/*
 * The data folder's lock: DATA/renkei.lock, held with flock(LOCK_EX) by
 * the server for as long as it runs and by the offline commands that
 * must not run beside it (rekey, audit rotate-key, keys check). The
 * kernel drops it when its holder dies, SIGKILL included, so a crash
 * never leaves a stale lock. The file holds the holder's pid, for the
 * message that names it.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int
store_lock_data(const char *data_dir, const char *what, char *err,
                size_t errlen)
{
	char path[4096], pid[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/renkei.lock", data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
		         errno == ENOENT ? " (no data folder there: run renkei-server "
		                           "init)"
		                         : "");
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen,
		         "%s is held%s%s: the server (or another offline command) "
		         "is running on %s; %s cannot run beside it",
		         path, pid[0] ? " by pid " : "", pid, data_dir, what);
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* the lock holds; only the message would lack the pid */
	}
	return fd;
}

void
store_unlock_data(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

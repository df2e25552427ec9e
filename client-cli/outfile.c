/*
 * Files the CLI downloads (photos, audit exports, the audit public key)
 * are written whole or not at all: into a temporary file beside the
 * target, then renamed over it once everything arrived and is on disk.
 * A transfer that fails half-way never leaves half a photo or half an
 * export under the name the user asked for, and never clobbers an older
 * good copy. mkstemp creates the temporary file mode 0600 with O_EXCL,
 * so nobody else can read (or plant) it while it is being written;
 * photos and exports stay 0600, because they are patient data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int
cli_outfile_open(struct cli *cli, struct cli_outfile *f, const char *path)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	if (*path == '\0')
		return cli_usage_error(cli, "empty output file name");
	if (strlen(path) >= sizeof f->path)
		return cli_usage_error(cli, "output file name too long");
	snprintf(f->path, sizeof f->path, "%s", path);
	snprintf(f->tmp, sizeof f->tmp, "%s.XXXXXX", path);
	f->fd = mkstemp(f->tmp);
	if (f->fd < 0) {
		f->tmp[0] = '\0';
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
	}
	return CLI_EXIT_OK;
}

int
cli_outfile_write(struct cli *cli, struct cli_outfile *f, const void *p, size_t n)
{
	const char *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(f->fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot write %s: %s", f->path,
			                w < 0 ? strerror(errno) : "nothing written");
		b += w;
		n -= (size_t)w;
		f->written += (uint64_t)w;
	}
	return CLI_EXIT_OK;
}

int
cli_outfile_rewind(struct cli *cli, struct cli_outfile *f)
{
	if (ftruncate(f->fd, 0) != 0 || lseek(f->fd, 0, SEEK_SET) != 0)
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot write %s: %s", f->path,
		                strerror(errno));
	f->written = 0;
	return CLI_EXIT_OK;
}

int
cli_outfile_commit(struct cli *cli, struct cli_outfile *f, unsigned int mode)
{
	int e;

	/* fsync before rename: after a crash the name never points at a
	 * file whose bytes did not reach the disk */
	if (fchmod(f->fd, (mode_t)mode) != 0 || fsync(f->fd) != 0)
		goto fail;
	e = close(f->fd);
	f->fd = -1;
	if (e != 0 || rename(f->tmp, f->path) != 0)
		goto fail;
	f->tmp[0] = '\0';
	return CLI_EXIT_OK;
fail:
	e = errno;
	cli_outfile_abort(f);
	return cli_fail(cli, CLI_EXIT_FAIL, "cannot write %s: %s", f->path, strerror(e));
}

void
cli_outfile_abort(struct cli_outfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0] != '\0')
		unlink(f->tmp);
	f->tmp[0] = '\0';
}

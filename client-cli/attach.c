/*
 * `renkei attachment get ID -o FILE [--thumbnail]`: download a photo (or
 * its thumbnail) in chunks, by offset, into FILE.
 *
 * Each chunk is a read, safe to repeat, so a lost connection is retried
 * on a new one from the offset reached (cli_request_on): a download
 * resumes by itself within the run. The file appears under its name
 * only once complete (outfile.c), mode 0600: it is patient data.
 *
 * Nothing is verified here: the server re-encoded the photo from its
 * pixels when it was uploaded and serves exactly what it stored. The
 * dimensions shown are read from the file's own header (the chunks do
 * not carry them).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* A photo has at most a few dozen markers before its frame header;
 * give up on anything stranger. */
#define JPEG_MARKERS_MAX 256

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
read_exact(int fd, uint8_t *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

/* Width and height from a JPEG's frame header (SOFn) or a PNG's IHDR.
 * 0, or -1 when the file is neither or too odd. */
static int
image_size(int fd, uint32_t *w, uint32_t *h)
{
	uint8_t b[10];
	off_t at = 2;
	int i;

	if (read_exact(fd, b, 8, 0) != 0)
		return -1;
	if (memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
		uint8_t ihdr[8];

		if (read_exact(fd, ihdr, 8, 16) != 0)
			return -1;
		*w = be32(ihdr);
		*h = be32(ihdr + 4);
		return 0;
	}
	if (b[0] != 0xff || b[1] != 0xd8)
		return -1;
	for (i = 0; i < JPEG_MARKERS_MAX; i++) {
		if (read_exact(fd, b, 4, at) != 0 || b[0] != 0xff)
			return -1;
		if (b[1] == 0xff) { /* fill byte */
			at++;
			continue;
		}
		/* SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC) */
		if (b[1] >= 0xc0 && b[1] <= 0xcf && b[1] != 0xc4 && b[1] != 0xc8 && b[1] != 0xcc) {
			if (read_exact(fd, b, 5, at + 4) != 0)
				return -1;
			*h = be16(b + 1);
			*w = be16(b + 3);
			return 0;
		}
		if (b[1] == 0xd9 || b[1] == 0xda) /* end, or scan data before a frame */
			return -1;
		at += 2 + (off_t)be16(b + 2);
	}
	return -1;
}

/* Check a chunk against what came before. NULL, or what is wrong. */
static const char *
chunk_problem(const Renkei__V1__AttachmentChunk *ch, uint64_t offset, uint64_t total)
{
	if (ch->offset != offset)
		return "a chunk from the wrong offset";
	if (offset > 0 && ch->total != total)
		return "a different size half-way";
	if (ch->data.len > ch->total || ch->offset > ch->total - ch->data.len)
		return "more bytes than the photo has";
	if (ch->more && ch->data.len == 0)
		return "an empty chunk";
	if (!ch->more && ch->offset + ch->data.len != ch->total)
		return "fewer bytes than the photo has";
	return NULL;
}

static int
print_saved(struct cli *cli, const char *file, uint64_t id, int thumb, const char *mime,
            int64_t w, int64_t h, uint64_t bytes)
{
	if (cli->json) {
		cli_json_print(cli, json_pack("{s:o,s:I,s:b,s:o,s:o,s:o,s:I}", "file",
		                              cli_json_str(file), "attachment_id", (json_int_t)id,
		                              "thumbnail", thumb, "mime", cli_json_str(mime),
		                              "width", w >= 0 ? json_integer(w) : json_null(),
		                              "height", h >= 0 ? json_integer(h) : json_null(),
		                              "bytes", (json_int_t)bytes));
		return CLI_EXIT_OK;
	}
	fputs("saved ", stdout);
	cli_print_scrubbed(stdout, file);
	fputs(" (", stdout);
	cli_print_scrubbed(stdout, mime);
	if (w >= 0)
		printf(", %lld×%lld", (long long)w, (long long)h);
	printf(", %llu bytes)\n", (unsigned long long)bytes);
	return CLI_EXIT_OK;
}

static int
attachment_get(struct cli *cli, uint64_t id, int thumb, const char *file)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__AttachmentGetRequest gr = RENKEI__V1__ATTACHMENT_GET_REQUEST__INIT;
	Renkei__V1__AttachmentChunk *ch;
	struct cli_progress bar;
	struct cli_outfile out;
	struct rkc *c = NULL;
	uint64_t offset = 0, total = 0;
	uint32_t w = 0, h = 0;
	char mime[64] = "", label[64];
	const char *problem;
	int more = 1, rc, has_size;

	memset(&bar, 0, sizeof bar);
	if ((rc = cli_outfile_open(cli, &out, file)) != CLI_EXIT_OK)
		return rc;
	snprintf(label, sizeof label, "%s %llu", thumb ? "thumbnail of photo" : "photo",
	         (unsigned long long)id);
	gr.attachment_id = id;
	gr.thumbnail = thumb;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_GET_REQUEST;
	req.attachment_get_request = &gr;
	while (more) {
		gr.offset = offset;
		rc = cli_request_on(cli, &c, &req, RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_CHUNK, &resp,
		                    CLI_RETRIES);
		if (rc != CLI_EXIT_OK)
			goto fail;
		ch = resp->attachment_chunk;
		problem = chunk_problem(ch, offset, total);
		if (problem != NULL) {
			renkei__v1__envelope__free_unpacked(resp, NULL);
			rc = cli_fail(cli, CLI_EXIT_SERVER, "the server sent %s", problem);
			goto fail;
		}
		if (offset == 0) {
			total = ch->total;
			snprintf(mime, sizeof mime, "%s", ch->mime != NULL ? ch->mime : "");
			cli_progress_start(cli, &bar, label, total, 0);
		}
		rc = cli_outfile_write(cli, &out, ch->data.data, ch->data.len);
		offset += ch->data.len;
		more = ch->more;
		renkei__v1__envelope__free_unpacked(resp, NULL);
		if (rc != CLI_EXIT_OK) {
			goto fail;
		}
		cli_progress_update(&bar, offset);
	}
	rkc_close(c);
	c = NULL;
	cli_progress_end(&bar);
	has_size = image_size(out.fd, &w, &h) == 0;
	if ((rc = cli_outfile_commit(cli, &out, 0600)) != CLI_EXIT_OK)
		return rc;
	return print_saved(cli, file, id, thumb, mime, has_size ? (int64_t)w : -1,
	                   has_size ? (int64_t)h : -1, offset);
fail:
	rkc_close(c);
	cli_outfile_abort(&out);
	return rc;
}

int
cli_cmd_attachment(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "thumbnail", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	unsigned long long id;
	char *end;
	int ch, thumb = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return cli_command_help(cli);
		case 'o':
			file = optarg;
			break;
		case 't':
			thumb = 1;
			break;
		case ':':
			return cli_usage_error(cli, "%s needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(cli, "missing what to do: get");
	if (strcmp(argv[optind], "get") != 0)
		return cli_usage_error(cli, "unknown 'attachment %s': use 'attachment get'",
		                       argv[optind]);
	if (argc - optind < 2)
		return cli_usage_error(cli, "missing ID (a photo id, as 'board' shows)");
	if (argc - optind > 2)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 2]);
	errno = 0;
	id = strtoull(argv[optind + 1], &end, 10);
	if (errno != 0 || *end != '\0' || id == 0 || id > INT64_MAX ||
	    argv[optind + 1][0] < '0' || argv[optind + 1][0] > '9')
		return cli_usage_error(cli, "ID is a photo id (a number), not '%s'",
		                       argv[optind + 1]);
	if (file == NULL)
		return cli_usage_error(cli, "missing -o FILE: where to save the photo");
	return attachment_get(cli, (uint64_t)id, thumb, file);
}

/*
 * Text from the server (or from a file) on its way to a terminal: control
 * characters replaced, so that no string can move the cursor, retitle
 * the window or hide what came before it. cli_scrub works in place; the
 * printers scrub a copy.
 *
 * The lowest floor of the CLI's own files: it calls nothing else of the
 * CLI, and output.c, progress.c, conn.c and the commands call down to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void
cli_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;

	if (s == NULL)
		return;
	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls U+0080..U+009F (e.g. CSI) */
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		abort();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void
cli_print_scrubbed(FILE *f, const char *s)
{
	char *d, *p;

	if (s == NULL)
		return;
	d = xstrndup(s, strlen(s));
	for (p = d; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	cli_scrub(d);
	fputs(d, f);
	free(d);
}

void
cli_print_block(FILE *f, const char *s, const char *indent)
{
	const char *line = s, *nl;
	size_t n;
	char *d, *p;

	if (s == NULL)
		return;
	for (;;) {
		nl = strchr(line, '\n');
		n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		d = xstrndup(line, n);
		for (p = d; *p != '\0'; p++)
			if (*p == '\t')
				*p = ' ';
		cli_scrub(d);
		fprintf(f, "%s%s\n", indent, d);
		free(d);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

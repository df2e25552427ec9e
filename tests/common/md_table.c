/*
 * A Markdown table read from a document (md_table.h).
 */
#include "md_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file, NUL-terminated (malloc'ed); NULL if unreadable. */
static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 4096) {
			char *nb = realloc(buf, (cap = cap ? cap * 2 : 65536) + 1);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* "| --- | :-: |": only pipes, dashes, colons and blanks. */
static int
md_separator(const char *line)
{
	return strspn(line, "|-: \t") == strlen(line) &&
	       strchr(line, '-') != NULL;
}

/* The trimmed cells of "| a | b |" (malloc'ed); *n gets their number. */
static char **
md_split(const char *line, int *n)
{
	const char *p = strchr(line, '|'), *q;
	char **cells = NULL;

	*n = 0;
	while (p != NULL && (q = strchr(p + 1, '|')) != NULL) {
		const char *a = p + 1, *b = q;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		cells = realloc(cells, (size_t)(*n + 1) * sizeof(*cells));
		if (cells == NULL)
			abort();
		cells[(*n)++] = strndup(a, (size_t)(b - a));
		p = q;
	}
	return cells;
}

void
md_table_free(struct md_table *t)
{
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++)
			free(t->cell[r][c]);
		free(t->cell[r]);
	}
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

int
md_table_read(const char *path, const char *heading, struct md_table *t)
{
	char *doc = read_all(path), *line, *next;
	int in = 0;

	memset(t, 0, sizeof(*t));
	if (doc == NULL) {
		fprintf(stderr, "md_table: cannot read %s\n", path);
		return -1;
	}
	for (line = doc; line != NULL; line = next) {
		char **cells;
		int n;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (line[0] == '#' && t->nrows == 0) {
			in = strcmp(line, heading) == 0;
			continue;
		}
		if (!in || (line[0] != '|' && t->nrows == 0))
			continue;
		if (line[0] != '|')
			break; /* the end of the table */
		if (md_separator(line))
			continue;
		cells = md_split(line, &n);
		if (t->nrows > 0 && n != t->ncols) {
			fprintf(stderr, "md_table: %s: %d cells, not %d: %s\n",
			        path, n, t->ncols, line);
			for (int c = 0; c < n; c++)
				free(cells[c]);
			free(cells);
			free(doc);
			md_table_free(t);
			return -1;
		}
		t->ncols = n;
		t->cell =
		    realloc(t->cell, (size_t)(t->nrows + 1) * sizeof(*t->cell));
		if (t->cell == NULL)
			abort();
		t->cell[t->nrows++] = cells;
	}
	free(doc);
	if (t->nrows == 0) {
		fprintf(stderr, "md_table: %s: no table after \"%s\"\n", path,
		        heading);
		return -1;
	}
	return 0;
}

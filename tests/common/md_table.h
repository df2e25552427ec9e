/*
 * Tests driven by a table in the docs (docs/policy.md): shared by the
 * unit and the integration tests, so that both read the same cells.
 */
#ifndef RK_TEST_MD_TABLE_H
#define RK_TEST_MD_TABLE_H

/* A Markdown table (GitHub style: "| a | b |" lines, a "| --- |"
 * separator after the header) read from a document, for tests driven by
 * a table in the docs. cell[r][c] is trimmed text; row 0 is the header.
 * Escaped pipes (\|) are not supported. */
struct md_table {
	int nrows, ncols;
	char ***cell;
};

/* The first table after the line `heading` (e.g. "## The table") in the
 * file at path. Every row must have as many cells as the header.
 * 0, or -1 with the reason printed. */
int md_table_read(const char *path, const char *heading,
                  struct md_table *t);
void md_table_free(struct md_table *t);

#endif

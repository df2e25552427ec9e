/*
 * rkc_text — how wide UTF-8 text is on a terminal, so that the CLI can
 * line up tables of Japanese names: CJK ideographs, kana and full-width
 * forms take two columns, combining marks none, everything else one.
 * Invalid UTF-8 counts one column per byte (the CLI prints such bytes as
 * they are, or scrubbed).
 *
 * A small table of ranges rather than wcwidth(3), which depends on the
 * process locale (and gives -1 for all of this under LANG=C).
 *
 * Pure. Internal to client-cli (the CLI and the unit tests).
 */
#ifndef RKC_TEXT_H
#define RKC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Columns taken by code point cp: 0, 1 or 2. */
int rkc_cp_width(uint32_t cp);

/* Columns taken by the NUL-terminated UTF-8 string s (NULL gives 0). */
size_t rkc_text_width(const char *s);

#endif

/*
 * What every fuzz target shares.
 *
 * CHECK(cond): an invariant, checked whatever NDEBUG says; a violation
 * prints where and aborts, which libFuzzer reports as a crash and saves
 * the input. scripts/fuzz runs the targets with -close_fd_mask=3 (the
 * code under test may print on every input, which would slow it down and
 * bury the report), so the message goes to a copy of stderr taken in
 * LLVMFuzzerInitialize, before libFuzzer closes it: call
 * fuzz_keep_stderr() first there. libFuzzer's own report and the
 * sanitizers' keep stderr in any case.
 */
#ifndef RK_FUZZ_H
#define RK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int fuzz_report_fd = STDERR_FILENO;

static inline void
fuzz_keep_stderr(void)
{
	int fd = dup(STDERR_FILENO);

	if (fd >= 0)
		fuzz_report_fd = fd;
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			dprintf(fuzz_report_fd,                                \
			        "%s:%d: invariant failed: %s\n", __FILE__,     \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* A NUL-terminated copy of data[0..size) (free it); what a parser of C
 * strings is given. Embedded NULs stay: the string ends at the first. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

#endif

#include "util/frame.h"

#include <stdlib.h>

#include "util/mem.h"

struct frame *
frame_new(size_t len)
{
	struct frame *f = rk_malloc(sizeof(*f) + FRAME_HEADROOM + len);
	f->refs = 1;
	f->len = len;
	return f;
}

void
frame_unref(struct frame **fp)
{
	struct frame *f = *fp;

	*fp = NULL;
	if (f != NULL && --f->refs == 0)
		free(f);
}

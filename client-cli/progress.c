/*
 * A progress bar on stderr for long transfers (photo uploads and
 * downloads):
 *
 *   photo 1/2 wound.jpg  [#########...........] 47%  4.7/10.0 MiB  3.1 MiB/s
 *
 * Only when stderr is a terminal: piped or redirected, a command prints
 * nothing of it, so logs and scripts never see carriage returns. The
 * line is redrawn at most every 100 ms (drawing costs a write per call
 * and a terminal cannot show more anyway) and once more at the end,
 * followed by a line break. The rate counts only what this run moved,
 * not what a resumed transfer had before, and only until the last byte
 * moved (not the server's work after it), so it is the link's speed.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rkc_util.h"

#define BAR_WIDTH 20
#define REDRAW_MS 100

void
cli_progress_start(struct cli *cli, struct cli_progress *p, const char *label, uint64_t total,
                   uint64_t done)
{
	memset(p, 0, sizeof *p);
	p->cli = cli;
	p->on = isatty(STDERR_FILENO);
	snprintf(p->label, sizeof p->label, "%s", label);
	cli_scrub(p->label); /* a file name may hold control characters */
	p->total = total;
	p->base = done;
	p->done = done;
	p->start_ms = rkc_now_ms();
	p->moved_ms = p->start_ms;
	p->last_ms = -REDRAW_MS;
}

static void
draw(struct cli_progress *p, int64_t now)
{
	char bar[BAR_WIDTH + 1];
	double mib = 1024.0 * 1024.0, secs, rate;
	int filled, pct, i;

	pct = p->total > 0 ? (int)(p->done * 100 / p->total) : 100;
	filled = pct * BAR_WIDTH / 100;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	secs = (double)(p->moved_ms - p->start_ms) / 1000.0;
	rate = secs > 0.0 ? (double)(p->done - p->base) / mib / secs : 0.0;
	/* \r back to the start, \033[K to clear what a longer line left */
	fprintf(stderr, "\r%s  [%s] %3d%%  %.1f/%.1f MiB  %.1f MiB/s\033[K", p->label, bar, pct,
	        (double)p->done / mib, (double)p->total / mib, rate);
	fflush(stderr);
	p->cli->progress_line = 1;
	p->last_ms = now;
}

void
cli_progress_update(struct cli_progress *p, uint64_t done)
{
	int64_t now = rkc_now_ms();

	if (done != p->done)
		p->moved_ms = now;
	p->done = done;
	if (!p->on)
		return;
	if (now - p->last_ms >= REDRAW_MS)
		draw(p, now);
}

void
cli_progress_end(struct cli_progress *p)
{
	if (!p->on || p->ended)
		return;
	draw(p, rkc_now_ms());
	cli_progress_break(p->cli);
	p->ended = 1;
}

void
cli_progress_break(struct cli *cli)
{
	/* a message is about to go to stderr: start it on a line of its own
	 * (the bar redraws itself on the next line when it moves again) */
	if (cli->progress_line) {
		fputc('\n', stderr);
		cli->progress_line = 0;
	}
}

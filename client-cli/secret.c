/*
 * Secrets typed by the user: passwords (login, renkei password).
 *
 * A secret never touches stdio (whose buffers we could not wipe): it is
 * read with read(2) into the caller's buffer, which the caller wipes as
 * soon as it is sent. On a terminal, echo is off while it is typed; if
 * the user interrupts, the terminal is restored before we exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

/* The one piece of global state (see cli.h): set by the signal handler
 * while echo is off, so that we can restore the terminal. */
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Read one line from fd 0 into buf without stdio. Returns its length,
 * -1 on error or end of input before anything, -2 if too long, -3 when
 * interrupted by a signal. The newline is not kept. */
static int
read_line(char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR) {
			if (got_signal)
				return -3;
			continue;
		}
		if (r < 0)
			return -1;
		if (r == 0) {
			if (n == 0)
				return -1;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 >= len) {
			OPENSSL_cleanse(buf, len);
			return -2;
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (int)n;
}

int
cli_secret_tty(int from_stdin)
{
	return !from_stdin && isatty(STDIN_FILENO);
}

int
cli_read_secret(struct cli *cli, int from_stdin, const char *prompt, const char *what,
                char *buf, size_t len)
{
	struct termios old, quiet;
	struct sigaction sa, old_int, old_term, old_hup, old_quit;
	int n;

	if (!cli_secret_tty(from_stdin)) {
		n = read_line(buf, len);
	} else {
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return cli_fail(cli, CLI_EXIT_FAIL, "cannot read the terminal settings: %s",
			                strerror(errno));
		/* no SA_RESTART: a signal must interrupt read() so that we get
		 * the chance to restore echo */
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		got_signal = 0;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGHUP, &sa, &old_hup);
		sigaction(SIGQUIT, &sa, &old_quit);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		quiet.c_lflag |= ECHONL;
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
			n = -1;
		} else {
			n = read_line(buf, len);
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		}
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		if (n == -3) {
			fputc('\n', stderr);
			OPENSSL_cleanse(buf, len);
			/* now die of the signal as we would have, echo restored */
			raise(got_signal);
			return cli_fail(cli, CLI_EXIT_FAIL, "interrupted");
		}
	}
	if (n == -2)
		return cli_usage_error(cli, "%s longer than %zu bytes", what, len - 1);
	if (n < 0)
		return cli_usage_error(cli, "no %s given", what);
	if (n == 0)
		return cli_usage_error(cli, "empty %s", what);
	return CLI_EXIT_OK;
}

int
cli_read_line(char *buf, size_t len)
{
	return read_line(buf, len);
}

/*
 * Fuzz target: the CLI's own files (client-cli/config.c), as it reads
 * them back from its configuration folder: `config` (INI, inih),
 * `session` ("server=" and "token=" lines) and `cursor` ("CURSOR KEY"
 * lines). Each is also written back as the CLI writes it (login
 * --server, a new session, watch saving its place) and read again.
 *
 * Input: byte 0 % 3 picks the file (0 config, 1 session, 2 cursor), the
 * rest is its content, written into a scratch folder in memory
 * (RENKEI_CONFIG_DIR), mode 0600.
 *
 * Invariants:
 *  - config: a file that reads, once `server` and `ca` are set in it as
 *    `login --server --ca` sets them, reads back with those values (the
 *    rest of the file kept around them);
 *  - session: a session that reads has a server and a token, neither
 *    with a line break; saved again, it reads back the same;
 *  - cursor: a cursor saved for a key reads back at least as far as it
 *    was saved and as it was before (a cursor never goes back), and the
 *    file keeps at most 50 keys.
 */
#include <fcntl.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"
#include "fuzz_store.h"

#define SERVER "wss://renkei.nerima.example.jp:8443"
#define CA "/etc/renkei/ca.pem"
#define KEY "wss://localhost:8443 ns.kobayashi pt-sato pt-yamada"

static struct cli cli;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	setenv("RENKEI_CONFIG_DIR", fuzz_scratch("cli"), 1);
	cli.prog = "renkei";
	CHECK(cli_config_load(&cli) == CLI_EXIT_OK); /* sets cli.dir */
	cli_config_free(&cli);
	return 0;
}

static void
put(const char *name, const uint8_t *data, size_t size)
{
	char path[CLI_PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cli.dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	CHECK(close(fd) == 0);
}

static void
fuzz_config(const uint8_t *data, size_t size)
{
	put("config", data, size);
	if (cli_config_load(&cli) != CLI_EXIT_OK)
		goto out;
	cli_config_free(&cli);
	if (cli_config_save(&cli, SERVER, CA) != CLI_EXIT_OK)
		goto out; /* over 64 KiB */
	CHECK(cli_config_load(&cli) == CLI_EXIT_OK);
	CHECK(cli.cfg_server != NULL && strcmp(cli.cfg_server, SERVER) == 0);
	CHECK(cli.cfg_ca != NULL && strcmp(cli.cfg_ca, CA) == 0);
out:
	cli_config_free(&cli);
}

static void
fuzz_session(const uint8_t *data, size_t size)
{
	struct cli_session s, again;

	put("session", data, size);
	if (cli_session_load(&cli, &s) != CLI_EXIT_OK)
		return;
	CHECK(s.server[0] != '\0' && s.token[0] != '\0');
	CHECK(strchr(s.server, '\n') == NULL && strchr(s.token, '\n') == NULL);
	if (cli_session_save(&cli, s.server, s.token) == CLI_EXIT_OK) {
		CHECK(cli_session_load(&cli, &again) == CLI_EXIT_OK);
		CHECK(strcmp(again.server, s.server) == 0);
		CHECK(strcmp(again.token, s.token) == 0);
		cli_session_wipe(&again);
	}
	cli_session_wipe(&s);
}

static void
fuzz_cursor(const uint8_t *data, size_t size)
{
	char why[256], path[CLI_PATH_MAX + 16], line[4096];
	uint64_t before = 0, after = 0;
	int lines = 0;
	FILE *f;

	put("cursor", data, size);
	if (cli_cursor_load(&cli, KEY, &before, why, sizeof(why)) != 0)
		return; /* over 64 KiB */
	if (cli_cursor_save(&cli, KEY, 42, why, sizeof(why)) != 0)
		return;
	CHECK(cli_cursor_load(&cli, KEY, &after, why, sizeof(why)) == 0);
	CHECK(after >= 42 && after >= before);
	snprintf(path, sizeof(path), "%s/cursor", cli.dir);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strchr(line, '\n') != NULL)
			lines++;
	fclose(f);
	CHECK(lines <= 50);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_config(data + 1, size - 1);
		break;
	case 1:
		fuzz_session(data + 1, size - 1);
		break;
	default:
		fuzz_cursor(data + 1, size - 1);
		break;
	}
	return 0;
}

/* Unit tests: the CLI's configuration file (client-cli/config.c), as
 * `login --server --ca` rewrites it and the next command reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit_store.h"

#include "cli.h"

static void
write_config(const char *dir, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *
read_config(const char *dir)
{
	char path[128], *buf = calloc(1, 4096);
	FILE *f;

	snprintf(path, sizeof(path), "%s/config", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, 4095, f) > 0);
	fclose(f);
	return buf;
}

/* Found by fuzz_cli_files (its corpus keeps the input): inih reads an
 * indented line after a setting as more of that setting's value, so
 * "server = old" followed by " = /tmp/x" read as server "= /tmp/x"; the
 * line was kept when login --server replaced "server = old", and the
 * new server read back as "= /tmp/x". Such lines now go with the
 * setting they continue; the others' are kept. */
static void
test_save_drops_continuations(void **state)
{
	struct cli cli = {.prog = "renkei"};
	char dir[64], *text;

	(void)state;
	unit_tmpdir(dir, "cli-config");
	setenv("RENKEI_CONFIG_DIR", dir, 1);
	write_config(dir, "; mine\n"
	                  "server = wss://old.example\n"
	                  "\n"
	                  " = /tmp/x\n"
	                  "  ; an indented comment continues nothing\n"
	                  "other = 1\n"
	                  "  more of other\n"
	                  "[bench]\n"
	                  "server = wss://bench.example\n");
	assert_int_equal(cli_config_load(&cli), CLI_EXIT_OK);
	assert_string_equal(cli.cfg_server, "= /tmp/x"); /* what inih reads */
	cli_config_free(&cli);

	assert_int_equal(cli_config_save(&cli, "wss://new.example:8443", "/etc/renkei/ca.pem"),
	                 CLI_EXIT_OK);
	assert_int_equal(cli_config_load(&cli), CLI_EXIT_OK);
	assert_string_equal(cli.cfg_server, "wss://new.example:8443");
	assert_string_equal(cli.cfg_ca, "/etc/renkei/ca.pem");
	cli_config_free(&cli);
	text = read_config(dir);
	assert_string_equal(text, "; mine\n"
	                          "server = wss://new.example:8443\n"
	                          "\n"
	                          "  ; an indented comment continues nothing\n"
	                          "other = 1\n"
	                          "  more of other\n"
	                          "ca = /etc/renkei/ca.pem\n"
	                          "[bench]\n"
	                          "server = wss://bench.example\n");
	free(text);
	unit_rm_rf(dir);
}

/* Found by fuzz_cli_files too: inih counts \v and \f as blanks (isspace),
 * the rewrite counted only spaces and tabs, so "ca\v = /old" was a ca
 * setting to one and not to the other, and the old value won; and a
 * "[]" section is the root section to the loader (inih names it ""),
 * where the rewrite had stopped looking. */
static void
test_save_blanks_as_inih(void **state)
{
	struct cli cli = {.prog = "renkei"};
	char dir[64];

	(void)state;
	unit_tmpdir(dir, "cli-config");
	setenv("RENKEI_CONFIG_DIR", dir, 1);
	write_config(dir, "server = wss://old.example\nca\v\v = /old/ca.pem\n"
	                  "[bench]\nserver = wss://bench.example\n"
	                  "[]\nserver = wss://root-again.example\n");
	assert_int_equal(cli_config_load(&cli), CLI_EXIT_OK);
	assert_string_equal(cli.cfg_ca, "/old/ca.pem");
	assert_string_equal(cli.cfg_server, "wss://root-again.example"); /* "[]" is root */
	cli_config_free(&cli);
	assert_int_equal(cli_config_save(&cli, "wss://new.example", "/etc/renkei/ca.pem"),
	                 CLI_EXIT_OK);
	assert_int_equal(cli_config_load(&cli), CLI_EXIT_OK);
	assert_string_equal(cli.cfg_server, "wss://new.example");
	assert_string_equal(cli.cfg_ca, "/etc/renkei/ca.pem");
	cli_config_free(&cli);
	unit_rm_rf(dir);
}

/* ... and a section header indented by a blank (here a CR) is a header
 * to inih only while no setting comes before it: the settings the
 * rewrite adds before the first section must not turn it into more of
 * theirs. */
static void
test_save_before_indented_section(void **state)
{
	struct cli cli = {.prog = "renkei"};
	char dir[64];

	(void)state;
	unit_tmpdir(dir, "cli-config");
	setenv("RENKEI_CONFIG_DIR", dir, 1);
	write_config(dir, "; mine\n\r[bench]\nserver = wss://bench.example\n");
	assert_int_equal(cli_config_load(&cli), CLI_EXIT_OK);
	assert_null(cli.cfg_server);
	cli_config_free(&cli);
	assert_int_equal(cli_config_save(&cli, "wss://new.example", "/etc/renkei/ca.pem"),
	                 CLI_EXIT_OK);
	assert_int_equal(cli_config_load(&cli), CLI_EXIT_OK);
	assert_string_equal(cli.cfg_server, "wss://new.example");
	assert_string_equal(cli.cfg_ca, "/etc/renkei/ca.pem");
	cli_config_free(&cli);
	unit_rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_drops_continuations),
		cmocka_unit_test(test_save_blanks_as_inih),
		cmocka_unit_test(test_save_before_indented_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: net/local — the local channel's socket on its own (no api:
 * what reaches api is 59-admin's). Checked: the socket's place and mode,
 * one server per folder, a stale socket replaced, a file that is not a
 * socket refused, a path too long refused, removal at stop, local_call
 * without a server, and requests refused before api sees them (empty,
 * longer than LOCAL_MAX_BYTES). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/local.h"
#include "renkei.pb-c.h"

struct fx {
	char dir[64];
	char sock[100];
	int woken;
};

static void
wake(void *arg)
{
	((struct fx *)arg)->woken++;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/renkei-local-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/%s", f->dir, LOCAL_SOCKET);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->sock);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_listens_and_goes(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	struct local *l = local_new(f->dir, wake, f, err, sizeof(err));
	struct stat st;

	assert_non_null(l);
	assert_int_equal(stat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* One server per folder. */
	assert_null(local_new(f->dir, wake, f, err, sizeof(err)));
	assert_non_null(strstr(err, "another server is listening"));

	local_stop(l);
	assert_int_equal(stat(f->sock, &st), -1);
	assert_int_equal(errno, ENOENT);
	local_free(l);
	local_free(NULL);
	local_stop(NULL);
}

static void
test_stale_socket_replaced(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[512] = "";
	struct local *l;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket whose server died: bound, never listening now. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	l = local_new(f->dir, wake, f, err, sizeof(err));
	if (l == NULL)
		fail_msg("stale socket not replaced: %s", err);
	local_free(l);
}

static void
test_not_a_socket_refused(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	FILE *fp = fopen(f->sock, "w");

	assert_non_null(fp);
	fclose(fp);
	assert_null(local_new(f->dir, wake, f, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a socket"));
	/* ... and left alone. */
	assert_int_equal(access(f->sock, F_OK), 0);
}

static void
test_path_too_long(void **state)
{
	char dir[300], err[512] = "";

	(void)state;
	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_null(local_new(dir, wake, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "too long"));
}

static void
test_call_without_server(void **state)
{
	struct fx *f = *state;
	uint8_t req[4] = {8, 1, 0, 0}, *resp = (uint8_t *)"x";
	size_t n = 9;
	char err[512] = "";

	assert_int_equal(local_call(f->dir, req, sizeof(req), &resp, &n, err,
	                            sizeof(err)),
	                 1);
	assert_null(resp);
	assert_int_equal(n, 0);
}

/* The answer to a request the socket thread refuses itself. */
static Renkei__V1__Envelope *
refused(struct fx *f, const uint8_t *req, size_t len)
{
	uint8_t *resp = NULL;
	size_t n = 0;
	char err[512] = "";
	Renkei__V1__Envelope *e;

	if (local_call(f->dir, req, len, &resp, &n, err, sizeof(err)) != 0)
		fail_msg("local_call: %s", err);
	e = renkei__v1__envelope__unpack(NULL, n, resp);
	free(resp);
	assert_non_null(e);
	assert_int_equal(e->body_case, RENKEI__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(e->error->code, RENKEI__V1__CODE__INVALID_ARGUMENT);
	return e;
}

static void
test_refused_before_api(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	struct local *l = local_new(f->dir, wake, f, err, sizeof(err));
	uint8_t *big = calloc(1, LOCAL_MAX_BYTES + 1);
	Renkei__V1__Envelope *e;

	assert_non_null(l);
	e = refused(f, big, LOCAL_MAX_BYTES + 1);
	assert_non_null(strstr(e->error->message, "longer than 65536"));
	renkei__v1__envelope__free_unpacked(e, NULL);
	e = refused(f, big, 0);
	assert_string_equal(e->error->message, "the request is empty");
	renkei__v1__envelope__free_unpacked(e, NULL);
	/* Neither was handed to the service thread. */
	assert_int_equal(f->woken, 0);
	free(big);
	local_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_listens_and_goes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_socket_refused, setup,
	                                    teardown),
	    cmocka_unit_test(test_path_too_long),
	    cmocka_unit_test_setup_teardown(test_call_without_server, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_refused_before_api, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests: a page of a sync (care/board.c care_sync_page) over a real
 * store, at its edges: no boards at all, and boards without a post.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit_store.h"

#include "care/care.h"
#include "util/err.h"
#include "util/text.h"

/* Found by fuzz_envelope (a sync by someone on no sheet): with nothing to
 * page, the ids to sort were a NULL array, and qsort(NULL, 0, ...) is
 * undefined behaviour (its pointer is declared non-null): UBSan stops
 * the sanitizer build here. */
static void
test_sync_page_empty(void **state)
{
	struct care_patient_input a = {.code = "pt-a", .name = "山田 太郎"};
	struct care_board board = {.max_visibility = VIS_CLINICAL};
	struct store_config cfg = {0};
	struct store_conn *sc;
	struct care_page page;
	struct rk_status st = {0};
	char dir[64], care[96], audit[96], err[256];

	(void)state;
	unit_tmpdir(dir, "care-board");
	unit_store_config(&cfg, dir, care, audit);
	assert_int_equal(store_conn_open(&sc, &cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(care_patient_add(sc, &a, rk_now_ms(), &board.patient_id, &st), RK_OK);

	/* no boards: an empty page */
	assert_int_equal(care_sync_page(sc, NULL, 0, 0, 50, &page), RK_OK);
	assert_int_equal(page.n, 0);
	assert_false(page.more);
	care_page_fini(&page);
	/* a board without a post: an empty page too */
	assert_int_equal(care_sync_page(sc, &board, 1, 0, 50, &page), RK_OK);
	assert_int_equal(page.n, 0);
	care_page_fini(&page);

	store_conn_release(sc);
	store_conn_close(sc);
	unit_rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_page_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Fuzz target: offline verification of an audit export
 * (server/audit/verify_export.c, the same code `renkei audit verify` and
 * the server's tests run), on an export in memory.
 *
 * The public key is the one of the real server that wrote the seed
 * exports (tests/fuzz/audit_verify.pub), so that the seeds verify and
 * the fuzzer starts from real chains and real signatures
 * (tests/fuzz/make_server_corpus.sh made both).
 *
 * Invariants:
 *  - the check always runs (a memory stream does not fail to read);
 *  - the verdict is ok exactly when no record is named bad, and a bad
 *    verdict says why; counts are never negative, there are never more
 *    checkpoints than records, and an ok export has no unsigned tail and
 *    no signed record beyond the last good one.
 */
#include <string.h>

#include "audit/canon.h"
#include "audit/verify_export.h"
#include "fuzz.h"
#include "util/err.h"

static EVP_PKEY *pkey;
static uint8_t key_id[32];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc, (void)argv;
	fuzz_keep_stderr();
	pkey = audit_pubkey_load(RENKEI_SOURCE_DIR "/tests/fuzz/audit_verify.pub",
	                         key_id, err, sizeof(err));
	if (pkey == NULL)
		dprintf(fuzz_report_fd, "fuzz_audit_verify: %s\n", err);
	CHECK(pkey != NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_result res;
	FILE *f;
	int rc;

	if (size == 0)
		return 0; /* fmemopen wants a buffer; "empty" is a unit test */
	f = fmemopen((void *)data, size, "r");
	CHECK(f != NULL);
	rc = audit_verify_export_stream(f, pkey, key_id, &res);
	fclose(f);

	CHECK(rc == RK_OK);
	CHECK(memchr(res.why, '\0', sizeof(res.why)) != NULL);
	CHECK(res.ok == (res.first_bad_id == 0));
	CHECK(res.records >= 0 && res.checkpoints >= 0);
	CHECK(res.checkpoints <= res.records);
	CHECK(res.unsigned_tail >= 0);
	if (res.ok) {
		CHECK(res.unsigned_tail == 0);
		CHECK(res.bad_checkpoint_id == 0);
		CHECK(res.checkpoints == 0 || res.last_signed_id > 0);
	} else {
		CHECK(res.why[0] != '\0');
		CHECK(res.first_bad_id > 0);
	}
	return 0;
}

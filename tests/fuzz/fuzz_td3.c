/*
 * libFuzzer target for tapdisk3's statistics page (source/tapdisk3.h): any
 * bytes.  Checks, beyond ASan/UBSan: the page is accepted exactly when it
 * has 96 bytes or more, says version 1 and completes no more requests than
 * it submitted, and then every field is the little-endian number at its
 * offset in blktap's struct stats.
 * Build with -DRRDD_FUZZ=ON and CC=clang.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "source/tapdisk3.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static uint64_t at(const uint8_t *d, size_t off)
{
	uint64_t v;
	memcpy(&v, d + off, 8); /* the fuzzing hosts are little endian */
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td3_stats st;
	char why[200];
	int rc = td3_parse(data, size, &st, why, sizeof(why));
	CHECK(rc == 0 || rc < 0);
	CHECK(strlen(why) < sizeof(why) || rc == 0);
	if (size < TD3_STATS_BYTES) {
		CHECK(rc < 0);
		return 0;
	}
	uint32_t version;
	memcpy(&version, data, 4);
	bool ok = version == 1 && at(data, 24) <= at(data, 16) && at(data, 56) <= at(data, 48);
	CHECK((rc == 0) == ok);
	if (rc == 0) {
		CHECK(st.oo_reqs == at(data, 8));
		CHECK(st.rd_submitted == at(data, 16) && st.rd_completed == at(data, 24));
		CHECK(st.rd_sectors == at(data, 32) && st.rd_ticks_us == at(data, 40));
		CHECK(st.wr_submitted == at(data, 48) && st.wr_completed == at(data, 56));
		CHECK(st.wr_sectors == at(data, 64) && st.wr_ticks_us == at(data, 72));
		CHECK(st.io_errors == at(data, 80) && st.flags == at(data, 88));
	}
	return 0;
}

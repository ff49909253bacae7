/*
 * libFuzzer target for the v4 socket's messages: the input is split into
 * frames (a 2-byte length before each, so one input is a short session)
 * that are decoded (plugin/v4msg.c) and applied to one connection's state
 * (plugin/v4state.c) with small limits, after which the state's v3 page is
 * made and read back by the v3 reader.  Checks, beyond ASan/UBSan: a
 * refused message leaves a reason; the page the state makes is always
 * well-formed (it reads back, or is refused only for what the mapping
 * refuses: a payload it cannot name); the number of metrics never passes
 * the limit.  Build with -DRRDD_FUZZ=ON and CC=clang.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/proto.h"
#include "plugin/v4msg.h"
#include "plugin/v4state.h"
#include "util/arena.h"
#include "util/buf.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_FAM 8
#define MAX_MET 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct v4state *st = v4state_new(MAX_FAM, MAX_MET);
	size_t off = 0, total = 0;
	while (off + 2 <= size) {
		size_t l = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (l > size - off)
			l = size - off;
		struct v4_msg m;
		char err[200] = "";
		if (v4_msg_decode(data + off, l, &m, err, sizeof(err)) < 0) {
			CHECK(err[0] != 0);
		} else if (m.kind != V4_FETCH_METRICS) {
			long delta = 0;
			err[0] = 0;
			if (v4state_apply(st, &m, MAX_MET - total, &delta, err, sizeof(err)) < 0)
				CHECK(err[0] != 0 && delta == 0);
			total = (size_t)((long)total + delta);
			CHECK(total == v4state_metrics(st) && total <= MAX_MET);
		}
		off += l;
	}
	struct arena a;
	arena_init(&a, 64u << 20);
	struct buf page = {0};
	CHECK(v4state_page(st, 1700000000, &a, &page) == 0);
	struct plg_reader *r = plg_reader_new();
	const struct plg_page *pg;
	int rc = plg_read(r, page.p, page.len, &pg);
	CHECK(rc == PLG_OK || rc == PLG_E_PAYLOAD);
	if (rc == PLG_OK)
		CHECK(pg->n <= total);
	plg_reader_free(r);
	buf_free(&page);
	arena_free(&a);
	v4state_free(st);
	return 0;
}

/*
 * Unit tests: the remote-memory cache over the fake backend.  Random reads,
 * prefetches, replays and invalidations, over regions laid out so their
 * pages collide in the cache, must always return exactly the fake's bytes.
 */
#include <stdlib.h>

#include "errors.h"
#include "rmem.h"
#include "unit.h"

static unsigned char byte_at(uint64_t a)
{
	return (unsigned char)((a * 2654435761u) >> 13);
}

struct region {
	uint64_t addr;
	size_t len;
};

static bool mapped(const struct region *r, size_t n, uint64_t a, size_t len)
{
	for (uint64_t x = a; x < a + len; x++) {
		bool in = false;

		for (size_t i = 0; i < n && !in; i++)
			in = x >= r[i].addr && x < r[i].addr + r[i].len;
		if (!in)
			return false;
	}
	return true;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void add_region(struct rmem *m, struct region *r, uint64_t addr, size_t len)
{
	unsigned char *buf = malloc(len);

	for (size_t i = 0; i < len; i++)
		buf[i] = byte_at(addr + i);
	rmem_fake_add(m, addr, buf, len);
	free(buf);
	r->addr = addr;
	r->len = len;
}

static void random_reads(void)
{
	struct rmem *m = rmem_fake_new();
	struct region reg[40];
	size_t nreg = 0;
	uint64_t seed = 88172645463325252ull;
	unsigned char buf[1400];

	/* Whole pages 2 MiB apart (the cache's size: they share slots) ... */
	for (int i = 0; i < 24; i++)
		add_region(m, &reg[nreg++], 0x10000000ull + (uint64_t)i * RMEM_SLOTS * RMEM_PAGE, 3 * RMEM_PAGE);
	/* ... and regions that cover only part of a page. */
	for (int i = 0; i < 12; i++)
		add_region(m, &reg[nreg++], 0x7f0000000100ull + (uint64_t)i * 0x10000, 700 + 300 * (size_t)i);

	for (int step = 0; step < 20000; step++) {
		const struct region *r = &reg[rnd(&seed) % nreg];
		uint64_t a = r->addr + rnd(&seed) % (r->len + 64) - 32;
		size_t len = 1 + rnd(&seed) % sizeof(buf);
		unsigned action = (unsigned)(rnd(&seed) % 100);

		if (action < 3) {
			rmem_invalidate(m);
		} else if (action < 8) {
			uint64_t addrs[16];

			for (int k = 0; k < 16; k++)
				addrs[k] = reg[rnd(&seed) % nreg].addr + rnd(&seed) % RMEM_PAGE;
			rmem_prefetch(m, addrs, 16, 1 + rnd(&seed) % 600);
		} else if (action < 10) {
			rmem_set_recording(m, !m->recording);
		} else if (action < 11) {
			rmem_invalidate(m);
			rmem_replay(m);
		} else {
			int err = rmem_read(m, a, buf, len);
			bool ok = mapped(reg, nreg, a, len);

			CHECK_INT(err, ok ? 0 : -PS_E_BAD_READ);
			if (!err) {
				size_t bad = 0;

				for (size_t i = 0; i < len; i++)
					bad += buf[i] != byte_at(a + i);
				CHECK_INT(bad, 0);
			}
		}
	}
	CHECK(rmem_stats(m)->hits > 0);
	rmem_free(m);
}

static void strings(void)
{
	struct rmem *m = rmem_fake_new();
	char buf[32];
	bool trunc;

	rmem_fake_add(m, 0x5000, "hello\0world-without-nul", 24);
	CHECK_INT(rmem_read_cstr(m, 0x5000, buf, 16, &trunc), 5);
	CHECK_STR(buf, "hello");
	CHECK(!trunc);
	CHECK_INT(rmem_read_cstr(m, 0x5006, buf, 8, &trunc), 8);
	CHECK(trunc);
	CHECK_STR(buf, "world-wi");
	/* No NUL before the end of readable memory. */
	CHECK_INT(rmem_read_cstr(m, 0x5006, buf, 30, &trunc), -PS_E_BAD_READ);
	CHECK_INT(rmem_read(m, 0, buf, 1), -PS_E_BAD_READ);
	CHECK_INT(rmem_read(m, UINT64_MAX - 2, buf, 8), -PS_E_BAD_READ);
	rmem_free(m);
}

static void ranges(void)
{
	struct rmem *m = rmem_fake_new();
	char a[4] = "", b[4] = "";
	struct rmem_range r[3] = {
		{ .addr = 0x9000, .buf = a, .len = 4 },
		{ .addr = 0x1, .buf = b, .len = 4 },
		{ .addr = 0x9002, .buf = b, .len = 2 },
	};

	rmem_fake_add(m, 0x9000, "abcd", 4);
	CHECK_INT(rmem_read_ranges(m, r, 3), 0);
	CHECK_INT(r[0].err, 0);
	CHECK(!memcmp(a, "abcd", 4));
	CHECK_INT(r[1].err, -PS_E_BAD_READ);
	CHECK_INT(r[2].err, 0);
	CHECK(!memcmp(b, "cd", 2));
	rmem_free(m);
}

/* Deferred reads: noted while deferring, fetched together, then answered from the cache. */
static void deferred(void)
{
	struct rmem *m = rmem_fake_new();
	struct region r[3];
	uint64_t v[3], calls;

	/* Whole pages: a fill fetches whole blocks, which the fake knows only inside a region. */
	for (int i = 0; i < 3; i++)
		add_region(m, &r[i], 0x10000000 + (uint64_t)i * 0x100000, RMEM_PAGE);
	rmem_defer(m, true);
	for (int i = 0; i < 3; i++)
		CHECK_INT(rmem_read_u64(m, r[i].addr + 8, &v[i]), -PS_E_DEFERRED);
	CHECK_INT(rmem_read_u64(m, 0x50000000, &v[0]), -PS_E_DEFERRED);	/* unmapped */
	rmem_defer(m, false);
	calls = rmem_stats(m)->calls;
	CHECK(rmem_fetch_deferred(m));
	CHECK_INT(rmem_stats(m)->calls - calls, 1);	/* all in one read */
	CHECK(!rmem_fetch_deferred(m));			/* nothing left */
	rmem_defer(m, true);
	for (int i = 0; i < 3; i++) {
		uint64_t want = 0;

		for (int b = 7; b >= 0; b--)
			want = want << 8 | byte_at(r[i].addr + 8 + (uint64_t)b);
		CHECK_INT(rmem_read_u64(m, r[i].addr + 8, &v[i]), 0);
		CHECK(v[i] == want);
	}
	/* What could not be fetched stays unanswered while deferring, and fails after. */
	CHECK_INT(rmem_read_u64(m, 0x50000000, &v[0]), -PS_E_DEFERRED);
	rmem_defer(m, false);
	CHECK_INT(rmem_read_u64(m, 0x50000000, &v[0]), -PS_E_BAD_READ);
	rmem_free(m);
}

/*
 * Pages that share a set, read in turn without an invalidation, evict each
 * other and are filled again: the store runs out many times over, and every
 * read still returns the fake's bytes.
 */
static void store_used_up(void)
{
	struct rmem *m = rmem_fake_new();
	struct region reg[8];
	unsigned char buf[RMEM_PAGE];
	size_t bad = 0;

	for (int i = 0; i < 8; i++)
		add_region(m, &reg[i], 0x20000000ull + (uint64_t)i * RMEM_SLOTS * RMEM_PAGE, RMEM_PAGE);
	for (int step = 0; step < 3 * RMEM_STORE / RMEM_BLOCKS; step++) {
		const struct region *r = &reg[step % 8];
		size_t len = step % 3 ? RMEM_PAGE : 100;

		CHECK_INT(rmem_read(m, r->addr, buf, len), 0);
		for (size_t i = 0; i < len; i++)
			bad += buf[i] != byte_at(r->addr + i);
	}
	CHECK_INT(bad, 0);
	CHECK(m->nstore <= RMEM_STORE);
	rmem_free(m);
}

const struct unit_test rmem_tests[] = {
	{ "rmem: a store used up starts afresh", store_used_up },
	{ "rmem: deferred", deferred },
	{ "rmem: random reads against a model", random_reads },
	{ "rmem: strings", strings },
	{ "rmem: ranges", ranges },
	{ NULL, NULL },
};

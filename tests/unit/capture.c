/*
 * A hidden mode of the unit-test binary that captures a seed for the fuzz
 * target (tests/fuzz/fuzz_readers.c) from a live process; the pystack
 * binary has no such command.  tools/capture_seeds.sh runs it on every
 * interpreter installed.
 *
 *	unit-tests capture PID OUTFILE [ADDR...]
 *
 * The process is located as a session locates it, then read, without
 * stopping it (the targets sit still, blocked), by fuzz_read_all(): the
 * readers exactly as the fuzz target runs them, the ADDRs being the
 * image's roots.  Every byte they read goes into the image, and nothing
 * else, so a seed holds only what the readers need: the reads go through a
 * backend that refuses to fill the page cache (a fill fetches whole 256-byte
 * blocks) and notes each read that reaches it at its exact size, which the
 * cache falls back to.  The image is then read back through the fake
 * reader, as the fuzzer will read it, and must give the same text.
 *
 * The layout is the generated table of the version (the fuzz target's,
 * src/pyoffsets.c), not one imported from the process (3.13's
 * _Py_DebugOffsets): the capture says so if the two differ.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fuzz_readers.h"
#include "msg.h"
#include "proc.h"
#include "pyoffsets.h"
#include "pyruntime.h"
#include "rmem.h"
#include "unit.h"

/* Ranges closer than this are joined, the bytes between read too: a region costs 12 bytes. */
#define JOIN_GAP 16

struct noted {
	uint64_t addr;
	size_t len;
	unsigned char *data;
	size_t seq;		/* order of the read: a later one wins */
};

/* The capturing backend: exact reads passed to the live process, and noted. */
struct capture_mem {
	struct rmem base;	/* must be first */
	struct rmem *live;
	struct noted *v;
	size_t n, cap;
};

/* Whether the range fills a page of m's cache (its buffer is in the cache). */
static bool is_fill(const struct rmem *m, const struct rmem_range *r)
{
	uintptr_t lo = (uintptr_t)m->store, b = (uintptr_t)r->buf;

	return m->store && b >= lo && b - lo < (uintptr_t)RMEM_STORE * RMEM_BLOCK;
}

static int capture_readv(struct rmem *m, struct rmem_range *r, size_t n)
{
	struct capture_mem *c = (struct capture_mem *)m;

	for (size_t i = 0; i < n; i++) {
		struct noted *k;
		int err;

		if (is_fill(m, &r[i])) {
			r[i].err = -PS_E_BAD_READ;
			continue;
		}
		err = c->live->ops->readv(c->live, &r[i], 1);
		if (err)
			return err;
		if (r[i].err || !r[i].len)
			continue;
		xgrow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
		k = &c->v[c->n];
		*k = (struct noted){ .addr = r[i].addr, .len = r[i].len, .seq = c->n };
		k->data = xmalloc(r[i].len);
		memcpy(k->data, r[i].buf, r[i].len);
		c->n++;
	}
	return 0;
}

static void capture_destroy(struct rmem *m)
{
	struct capture_mem *c = (struct capture_mem *)m;

	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].data);
	free(c->v);
	rmem_free(c->live);
	free(c);
}

static const struct rmem_ops capture_ops = {
	.readv = capture_readv,
	.destroy = capture_destroy,
};

static int by_addr(const void *a, const void *b)
{
	const struct noted *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether the live process can be read at [addr, addr + len). */
static bool readable(struct capture_mem *c, uint64_t addr, size_t len, void *buf)
{
	struct rmem_range r = { .addr = addr, .buf = buf, .len = len };

	return !c->live->ops->readv(c->live, &r, 1) && !r.err;
}

/*
 * The noted reads as regions: sorted, overlapping and nearby ones joined
 * (a gap between them is read from the process; one that cannot be read
 * keeps them apart), each holding what its reads got, the later read
 * winning where two overlap.  Returns how many; *out and its data are
 * malloc'd.
 */
static size_t build_regions(struct capture_mem *c, struct fuzzimg_region **out)
{
	struct fuzzimg_region *reg = NULL;
	struct noted **by_seq = xmalloc((c->n ? c->n : 1) * sizeof(*by_seq));
	size_t nreg = 0, cap = 0;

	qsort(c->v, c->n, sizeof(*c->v), by_addr);
	for (size_t i = 0; i < c->n; i++)
		by_seq[c->v[i].seq] = &c->v[i];
	for (size_t i = 0; i < c->n;) {
		uint64_t start = c->v[i].addr, end = start + c->v[i].len;
		unsigned char gap[JOIN_GAP], *buf;

		for (i++; i < c->n && c->v[i].addr <= end + JOIN_GAP; i++) {
			if (c->v[i].addr > end && !readable(c, end, c->v[i].addr - end, gap))
				break;
			if (c->v[i].addr + c->v[i].len > end)
				end = c->v[i].addr + c->v[i].len;
		}
		buf = xmalloc(end - start);
		if (!readable(c, start, end - start, buf))
			memset(buf, 0, end - start);
		xgrow(&reg, &cap, nreg + 1, sizeof(*reg));
		reg[nreg++] = (struct fuzzimg_region){ .addr = start, .len = end - start, .data = buf };
	}
	/* What each read got, in the order of the reads: regions are sorted and apart. */
	for (size_t k = 0; k < c->n; k++) {
		const struct noted *r = by_seq[k];
		size_t lo = 0, hi = nreg;

		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (reg[mid].addr <= r->addr)
				lo = mid;
			else
				hi = mid;
		}
		memcpy((unsigned char *)reg[lo].data + (r->addr - reg[lo].addr), r->data, r->len);
	}
	free(by_seq);
	*out = reg;
	return nreg;
}

/* The text the readers give for m, into a malloc'd string. */
static char *read_text(struct rmem *m, const struct pyruntime *rt, const uint64_t *roots,
		       size_t nroots, struct fuzz_stats *st)
{
	char *text;
	size_t len;
	FILE *f = xopen_memstream(&text, &len);

	memset(st, 0, sizeof(*st));
	fuzz_read_all(m, rt, roots, nroots, f, st);
	xclose_memstream(f);
	return text;
}

static int capture(pid_t pid, const char *path, const uint64_t *roots, size_t nroots)
{
	const struct py_offsets_table *t;
	struct fuzzimg_region *reg = NULL;
	struct capture_mem *c;
	struct pyruntime rt;
	struct fuzz_stats st, st2;
	struct fuzzimg img;
	struct maps maps;
	char why[256], *live_text, *img_text, *buf;
	size_t nreg, bytes = 0, len;
	FILE *f;
	int err, status = 0;

	err = maps_read(pid, &maps);
	if (err) {
		fprintf(stderr, "unit-tests capture: pid %d: %s\n", (int)pid, ps_strerror(err));
		return 2;
	}
	c = xcalloc(1, sizeof(*c));
	rmem_init(&c->base, &capture_ops);
	c->live = rmem_live_new(pid);
	err = pyruntime_locate(pid, NULL, &maps, c->live, &rt, why, sizeof(why));
	maps_free(&maps);
	if (err) {
		fprintf(stderr, "unit-tests capture: pid %d: %s (%s)\n", (int)pid, ps_strerror(err),
			why);
		rmem_free(&c->base);
		return 2;
	}
	t = pyoffsets_for_version(rt.ver.major, rt.ver.minor, rt.free_threaded);
	if (memcmp(&t->off, &rt.off, sizeof(rt.off)))
		fprintf(stderr, "unit-tests capture: pid %d: the layout (%s) differs from the "
			"generated table of %u.%u, which the image uses\n", (int)pid, rt.layout,
			rt.ver.major, rt.ver.minor);
	rt.off = t->off;

	live_text = read_text(&c->base, &rt, roots, nroots, &st);
	nreg = build_regions(c, &reg);
	for (size_t i = 0; i < nreg; i++)
		bytes += reg[i].len;

	f = xopen_memstream(&buf, &len);
	err = fuzzimg_write(f, &rt, roots, nroots, reg, nreg);
	xclose_memstream(f);
	if (err || fuzzimg_parse((const uint8_t *)buf, len, &img)) {
		fprintf(stderr, "unit-tests capture: pid %d: the image cannot be written (%zu "
			"regions)\n", (int)pid, nreg);
		status = 1;
	} else {
		img_text = read_text(img.mem, &img.rt, img.roots, img.nroots, &st2);
		rmem_free(img.mem);
		if (strcmp(live_text, img_text)) {
			fprintf(stderr, "unit-tests capture: pid %d: the image reads differently from "
				"the process\n--- process\n%s--- image\n%s", (int)pid, live_text,
				img_text);
			status = 1;
		}
		free(img_text);
	}
	if (!status) {
		FILE *out = fopen(path, "wb");

		if (!out || fwrite(buf, 1, len, out) != len || fclose(out)) {
			fprintf(stderr, "unit-tests capture: %s: %s\n", path, strerror(errno));
			status = 2;
		} else {
			printf("%s: Python %s: %zu threads, %zu frames, %zu variables, %zu names, "
			       "%zu roots; %zu bytes in %zu regions, image %zu bytes\n", path,
			       rt.version, st.threads, st.frames, st.vars, st.names, nroots, bytes,
			       nreg, len);
		}
	}
	if (getenv("PYSTACK_CAPTURE_TEXT"))
		fputs(live_text, stderr);
	free(buf);
	free(live_text);
	for (size_t i = 0; i < nreg; i++)
		free((void *)reg[i].data);
	free(reg);
	pyruntime_free(&rt);
	rmem_free(&c->base);
	return status;
}

int capture_main(int argc, char **argv)
{
	uint64_t pid, roots[FUZZIMG_MAX_ROOTS];
	size_t nroots = 0;

	if (argc < 3 || !unit_parse_u64(argv[1], &pid) || !pid || pid > INT32_MAX ||
	    argc - 3 > FUZZIMG_MAX_ROOTS) {
		fprintf(stderr, "usage: unit-tests capture PID OUTFILE [ADDR...] (at most %d)\n",
			FUZZIMG_MAX_ROOTS);
		return 64;
	}
	for (int i = 3; i < argc; i++)
		if (!unit_parse_u64(argv[i], &roots[nroots++]))
			return 64;
	return capture((pid_t)pid, argv[2], roots, nroots);
}

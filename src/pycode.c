/*
 * Decoding code objects, with a cache that lives as long as the session
 * (see pycode.h).
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "msg.h"
#include "pycode.h"
#include "pyline.h"
#include "pyruntime.h"
#include "pystr.h"
#include "rmem.h"

/* A line table larger than this is corrupt (CPython's are far smaller). */
#define MAX_LINETABLE	(4u << 20)
/* Forget everything past this many entries (a target that makes code endlessly). */
#define MAX_ENTRIES	(1u << 16)
/* How many code objects one batch reads. */
#define BATCH		256

struct pycode_cache {
	struct pycode **slot;
	size_t cap, count;
};

struct pycode_cache *pycode_cache_new(void)
{
	struct pycode_cache *c = xcalloc(1, sizeof(*c));

	c->cap = 256;
	c->slot = xcalloc(c->cap, sizeof(*c->slot));
	return c;
}

static void entry_clear_linetable(struct pycode *e)
{
	free(e->linetable);
	e->linetable = NULL;
	e->linetable_len = 0;
}

static void entry_clear(struct pycode *e)
{
	free(e->name);
	free(e->qualname);
	free(e->file);
	e->name = e->qualname = e->file = NULL;
	entry_clear_linetable(e);
}

static void clear_all(struct pycode_cache *c)
{
	for (size_t i = 0; i < c->cap; i++) {
		if (c->slot[i]) {
			entry_clear(c->slot[i]);
			free(c->slot[i]);
			c->slot[i] = NULL;
		}
	}
	c->count = 0;
}

void pycode_cache_free(struct pycode_cache *c)
{
	if (!c)
		return;
	clear_all(c);
	free(c->slot);
	free(c);
}

static size_t hash(uint64_t a, size_t cap)
{
	return (size_t)((a >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

static struct pycode **find_slot(const struct pycode_cache *c, uint64_t addr)
{
	size_t i = hash(addr, c->cap);

	while (c->slot[i] && c->slot[i]->addr != addr)
		i = (i + 1) & (c->cap - 1);
	return &c->slot[i];
}

const struct pycode *pycode_get(const struct pycode_cache *c, uint64_t addr)
{
	return *find_slot(c, addr);
}

static struct pycode *insert(struct pycode_cache *c, uint64_t addr)
{
	struct pycode **s;

	if (2 * (c->count + 1) > c->cap) {
		struct pycode **old = c->slot;
		size_t oldcap = c->cap;

		c->cap *= 2;
		c->slot = xcalloc(c->cap, sizeof(*c->slot));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				*find_slot(c, old[i]->addr) = old[i];
		free(old);
	}
	s = find_slot(c, addr);
	if (!*s) {
		*s = xcalloc(1, sizeof(**s));
		(*s)->addr = addr;
		c->count++;
	}
	return *s;
}

/* The header words of a code object that must not change under a cached entry. */
struct header {
	uint64_t type, name, qualname, file, linetable;
	int32_t firstlineno, firsttraceable;
};

static int read_header(struct rmem *m, const struct pyruntime *rt, uint64_t addr, struct header *h)
{
	const struct py_offsets *o = &rt->off;
	int err;

	memset(h, 0, sizeof(*h));
	err = rmem_read_u64(m, addr + o->object_type, &h->type);
	if (!err && rt->type_code && h->type != rt->type_code)
		return -PS_E_BAD_DATA;
	if (!err)
		err = rmem_read_u64(m, addr + o->code_name, &h->name);
	if (!err)
		err = rmem_read_u64(m, addr + o->code_filename, &h->file);
	if (!err)
		err = rmem_read_u64(m, addr + o->code_linetable, &h->linetable);
	if (!err)
		err = rmem_read(m, addr + o->code_firstlineno, &h->firstlineno, 4);
	if (!err && o->code_qualname != PYO_NONE)
		err = rmem_read_u64(m, addr + o->code_qualname, &h->qualname);
	if (!err && o->code_firsttraceable != PYO_NONE)
		err = rmem_read(m, addr + o->code_firsttraceable, &h->firsttraceable, 4);
	return err;
}

static void header_check(const struct header *h, uint64_t check[5])
{
	check[0] = h->name;
	check[1] = h->file;
	check[2] = h->qualname;
	check[3] = h->linetable;
	check[4] = (uint64_t)(uint32_t)h->firstlineno << 32 | (uint32_t)h->firsttraceable;
}

static char *read_text(struct rmem *m, const struct pyruntime *rt, uint64_t addr, int *err)
{
	char buf[PYSTR_MAX];
	long n = pystr_read(m, rt, addr, buf, sizeof(buf));

	if (n < 0) {
		*err = (int)n;
		return NULL;
	}
	return xstrndup(buf, (size_t)n);
}

/*
 * Check the line table's bytes object and size it: on success e->linetable
 * is allocated and *range says where its contents are, to be read later.
 */
static int size_linetable(struct rmem *m, const struct pyruntime *rt, uint64_t addr,
			  struct pycode *e, struct rmem_range *range)
{
	uint64_t type;
	int64_t len;
	int err = rmem_read_u64(m, addr + rt->off.object_type, &type);

	if (!err && rt->type_bytes && type != rt->type_bytes)
		err = -PS_E_BAD_DATA;
	if (!err)
		err = rmem_read(m, addr + rt->off.varobject_size, &len, sizeof(len));
	if (err)
		return err;
	if (len < 0 || len > MAX_LINETABLE)
		return -PS_E_BAD_DATA;
	e->linetable = xmalloc((size_t)len + 1);
	e->linetable_len = (size_t)len;
	*range = (struct rmem_range){ .addr = addr + rt->off.bytes_sval, .buf = e->linetable,
				      .len = (size_t)len };
	return 0;
}

/* Decode a code object's strings and size its line table (read by the caller). */
static void decode(struct rmem *m, const struct pyruntime *rt, struct pycode *e,
		   const struct header *h, struct rmem_range *range)
{
	int err = 0;

	entry_clear(e);
	e->firstlineno = h->firstlineno;
	e->firsttraceable = h->firsttraceable;
	if (rt->off.code_adaptive != PYO_NONE)
		e->code_start = e->addr + rt->off.code_adaptive;
	e->name = read_text(m, rt, h->name, &err);
	if (!err)
		e->file = read_text(m, rt, h->file, &err);
	if (!err && h->qualname)
		e->qualname = read_text(m, rt, h->qualname, &err);
	*range = (struct rmem_range){ 0 };
	/* Without its line table a frame still has a name: the line is then unknown. */
	if (!err && size_linetable(m, rt, h->linetable, e, range))
		entry_clear_linetable(e);
	e->err = err;
	e->valid = !err;
	header_check(h, e->check);
}

/* Gather the pointers of the headers' strings, to fetch them in one go. */
static size_t string_addrs(const struct header *h, size_t n, uint64_t *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		out[k++] = h[i].name;
		out[k++] = h[i].file;
		out[k++] = h[i].linetable;
		if (h[i].qualname)
			out[k++] = h[i].qualname;
	}
	return k;
}

void pycode_load(struct pycode_cache *c, struct rmem *m, const struct pyruntime *rt,
		 const uint64_t *addrs, size_t n, uint64_t gen)
{
	for (size_t base = 0; base < n; base += BATCH) {
		size_t cnt = n - base < BATCH ? n - base : BATCH;
		uint64_t todo[BATCH], strs[BATCH * 4];
		struct header hdr[BATCH];
		struct pycode *ent[BATCH];
		struct rmem_range lt[BATCH];
		size_t ntodo = 0, nnew = 0;

		/* Entries stay put during a batch: make room before it, not in it. */
		if (c->count + cnt > MAX_ENTRIES)
			clear_all(c);
		for (size_t i = 0; i < cnt; i++) {
			const struct pycode *e = pycode_get(c, addrs[base + i]);

			if (!e || e->gen != gen)
				todo[ntodo++] = addrs[base + i];
		}
		if (!ntodo)
			continue;
		rmem_prefetch(m, todo, ntodo, rt->off.code_size);
		for (size_t i = 0; i < ntodo; i++) {
			struct pycode *e = insert(c, todo[i]);
			struct header h;
			uint64_t check[5];
			int err;

			if (e->gen == gen)
				continue;	/* listed twice in this batch */
			e->gen = gen;
			err = read_header(m, rt, todo[i], &h);
			if (err) {
				entry_clear(e);
				e->valid = false;
				e->err = err;
				memset(e->check, 0, sizeof(e->check));
				continue;
			}
			header_check(&h, check);
			if (e->valid && !memcmp(check, e->check, sizeof(check)))
				continue;	/* unchanged since it was decoded */
			hdr[nnew] = h;
			ent[nnew++] = e;
		}
		/* Strings are decoded once per code object: no need to note them for a replay. */
		bool rec = rmem_set_recording(m, false);

		rmem_prefetch(m, strs, string_addrs(hdr, nnew, strs), 64);
		for (size_t i = 0; i < nnew; i++)
			decode(m, rt, ent[i], &hdr[i], &lt[i]);
		/* All the line tables in one read; a table that fails is dropped. */
		if (rmem_read_ranges(m, lt, nnew))
			for (size_t i = 0; i < nnew; i++)
				lt[i].err = -PS_E_BAD_READ;
		for (size_t i = 0; i < nnew; i++)
			if (lt[i].len && lt[i].err)
				entry_clear_linetable(ent[i]);
		rmem_set_recording(m, rec);
	}
}

int pycode_line(const struct pycode *code, const struct pyruntime *rt, long addr)
{
	if (!code->linetable)
		return addr < 0 ? code->firstlineno : -1;
	return pyline_addr2line(rt->line_format, code->linetable, code->linetable_len,
				code->firstlineno, addr);
}

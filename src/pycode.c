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
/* Copies of a code object's bytecode beyond this many are not cached (one per thread). */
#define MAX_COPIES	4096

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

static void entry_clear_vars(struct pycode *e)
{
	for (size_t i = 0; i < e->nvars; i++)
		free(e->varnames[i]);
	free(e->varnames);
	free(e->varkinds);
	e->varnames = NULL;
	e->varkinds = NULL;
	e->nvars = 0;
	e->vars_loaded = false;
	e->vars_err = 0;
}

static void entry_clear_copies(struct pycode *e)
{
	free(e->copies);
	e->copies = NULL;
	e->ncopies = 0;
	e->tlbc_array = 0;
}

static void entry_clear(struct pycode *e)
{
	entry_clear_copies(e);
	free(e->name);
	free(e->qualname);
	free(e->file);
	e->name = e->qualname = e->file = NULL;
	entry_clear_linetable(e);
	entry_clear_vars(e);
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
	int64_t units;		/* 3.11+: code units */
	uint64_t tlbc;		/* free-threaded 3.14+: co_tlbc */
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
	if (!err && o->code_adaptive != PYO_NONE)
		err = rmem_read(m, addr + o->varobject_size, &h->units, sizeof(h->units));
	if (!err && o->code_tlbc != PYO_NONE)
		err = rmem_read_u64(m, addr + o->code_tlbc, &h->tlbc);
	return err;
}

static void header_check(const struct header *h, uint64_t check[6])
{
	check[0] = h->name;
	check[1] = h->file;
	check[2] = h->qualname;
	check[3] = h->linetable;
	check[4] = (uint64_t)(uint32_t)h->firstlineno << 32 | (uint32_t)h->firsttraceable;
	check[5] = (uint64_t)h->units;
}

/*
 * Read the list of copies of e's bytecode at array (free-threaded 3.14+),
 * not noted for a replay: the stopped read checks only that co_tlbc still
 * points at it, and pycode_bytecode() that a copy holds the frame's
 * instruction.
 */
static void load_copies(struct rmem *m, const struct pyruntime *rt, struct pycode *e,
			uint64_t array)
{
	const struct py_offsets *o = &rt->off;
	bool rec = rmem_set_recording(m, false);
	int64_t size;

	entry_clear_copies(e);
	e->tlbc_array = array;
	if (array && !rmem_read(m, array + o->codearray_size, &size, sizeof(size)) && size > 0 &&
	    size <= MAX_COPIES) {
		e->copies = xmalloc((size_t)size * sizeof(*e->copies));
		if (rmem_read(m, array + o->codearray_entries, e->copies, (size_t)size * 8)) {
			free(e->copies);
			e->copies = NULL;
		} else {
			e->ncopies = (size_t)size;
		}
	}
	rmem_set_recording(m, rec);
}

/* Whether instruction address pos lies in the code units of e starting at start. */
static bool holds(const struct pycode *e, uint64_t start, uint64_t pos)
{
	/* A frame that has not started points one code unit before the first (3.11-3.12). */
	return start && pos + 2 >= start && pos - start <= 2 * (uint64_t)e->code_units;
}

uint64_t pycode_bytecode(struct pycode_cache *c, struct rmem *m, const struct pyruntime *rt,
			 uint64_t addr, int32_t tlbc, uint64_t pos)
{
	struct pycode *e = *find_slot(c, addr);
	uint64_t start;

	if (!e || !e->valid)
		return 0;
	if (tlbc == 0 || rt->off.code_tlbc == PYO_NONE)
		return e->code_start;
	if (tlbc < 0 || tlbc >= MAX_COPIES)
		return 0;
	if ((size_t)tlbc < e->ncopies && holds(e, e->copies[tlbc], pos))
		return e->copies[tlbc];
	/* A copy made (or the list grown) since the list was read: read that entry now. */
	if (!e->tlbc_array ||
	    rmem_read_u64(m, e->tlbc_array + rt->off.codearray_entries + 8 * (uint64_t)tlbc, &start) ||
	    !holds(e, start, pos))
		return 0;
	if ((size_t)tlbc < e->ncopies)
		e->copies[tlbc] = start;
	return start;
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
	e->code_units = h->units;
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
			uint64_t check[6];
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
			if (e->valid && !memcmp(check, e->check, sizeof(check))) {
				/* Unchanged since it was decoded; its copies may have been replaced. */
				if (h.tlbc != e->tlbc_array)
					load_copies(m, rt, e, h.tlbc);
				continue;
			}
			hdr[nnew] = h;
			ent[nnew++] = e;
		}
		/* Strings are decoded once per code object: no need to note them for a replay. */
		bool rec = rmem_set_recording(m, false);

		rmem_prefetch(m, strs, string_addrs(hdr, nnew, strs), 64);
		for (size_t i = 0; i < nnew; i++) {
			decode(m, rt, ent[i], &hdr[i], &lt[i]);
			if (hdr[i].tlbc)
				load_copies(m, rt, ent[i], hdr[i].tlbc);
		}
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

/* Append the names in the tuple at tuple, with kind, to e's variables; 0 or an error. */
static int add_names(struct rmem *m, const struct pyruntime *rt, uint64_t tuple, unsigned char kind,
		     size_t max, struct pycode *e)
{
	const struct py_offsets *o = &rt->off;
	uint64_t items[PYCODE_MAX_VARS];
	int64_t n;
	int err;

	if (!tuple)
		return 0;
	err = rmem_read(m, tuple + o->varobject_size, &n, sizeof(n));
	if (err)
		return err;
	if (n < 0 || (uint64_t)n > max || e->nvars + (size_t)n > PYCODE_MAX_VARS)
		return -PS_E_BAD_DATA;
	err = rmem_read(m, tuple + o->tuple_item, items, (size_t)n * sizeof(items[0]));
	for (int64_t i = 0; !err && i < n; i++) {
		char buf[256];
		long len = pystr_read(m, rt, items[i], buf, sizeof(buf));

		if (len < 0)
			return (int)len;
		e->varnames[e->nvars] = xstrndup(buf, (size_t)len);
		e->varkinds[e->nvars++] = kind;
	}
	return err;
}

static int read_int32(struct rmem *m, uint64_t addr, int *out)
{
	int32_t v;
	int err = rmem_read(m, addr, &v, sizeof(v));

	*out = err ? 0 : v;
	return err;
}

/* The variables of e: names and kinds, in slot order. */
static int load_vars(struct rmem *m, const struct pyruntime *rt, struct pycode *e)
{
	const struct py_offsets *o = &rt->off;
	int argcount = 0, kwonly = 0, flags = 0, nlocals = 0;
	uint64_t names = 0, cells = 0, frees = 0, kinds = 0;
	size_t nargs;
	int err;

	e->varnames = xcalloc(PYCODE_MAX_VARS, sizeof(*e->varnames));
	e->varkinds = xcalloc(PYCODE_MAX_VARS, 1);
	err = read_int32(m, e->addr + o->code_argcount, &argcount);
	if (!err && o->code_kwonlyargcount != PYO_NONE)
		err = read_int32(m, e->addr + o->code_kwonlyargcount, &kwonly);
	if (!err)
		err = read_int32(m, e->addr + o->code_flags, &flags);
	if (err)
		return err;
	/* CO_VARARGS and CO_VARKEYWORDS: *args and **kwargs come after the named ones. */
	nargs = (size_t)(argcount < 0 ? 0 : argcount) + (size_t)(kwonly < 0 ? 0 : kwonly) +
		!!(flags & 0x4) + !!(flags & 0x8);
	if (o->code_localsplusnames != PYO_NONE) {
		unsigned char raw[PYCODE_MAX_VARS];
		int64_t nk;

		err = rmem_read_u64(m, e->addr + o->code_localsplusnames, &names);
		if (!err)
			err = rmem_read_u64(m, e->addr + o->code_localspluskinds, &kinds);
		if (!err)
			err = add_names(m, rt, names, 0, PYCODE_MAX_VARS, e);
		if (!err)
			err = rmem_read(m, kinds + o->varobject_size, &nk, sizeof(nk));
		if (!err && (nk < 0 || (uint64_t)nk != e->nvars))
			err = -PS_E_BAD_DATA;
		if (!err)
			err = rmem_read(m, kinds + o->bytes_sval, raw, e->nvars);
		/* CO_FAST_HIDDEN 0x10, CO_FAST_LOCAL 0x20, CO_FAST_CELL 0x40, CO_FAST_FREE 0x80 */
		for (size_t i = 0; !err && i < e->nvars; i++)
			e->varkinds[i] = (raw[i] & 0x40 ? PYCODE_VAR_CELL : 0) |
					 (raw[i] & 0x80 ? PYCODE_VAR_FREE : 0) |
					 (raw[i] & 0x10 ? PYCODE_VAR_HIDDEN : 0);
	} else {
		err = read_int32(m, e->addr + o->code_nlocals, &nlocals);
		if (!err)
			err = rmem_read_u64(m, e->addr + o->code_varnames, &names);
		if (!err)
			err = rmem_read_u64(m, e->addr + o->code_cellvars, &cells);
		if (!err)
			err = rmem_read_u64(m, e->addr + o->code_freevars, &frees);
		/* co_nlocals slots, named by co_varnames; then the cells, then the free variables. */
		if (!err && (nlocals < 0 || nlocals > PYCODE_MAX_VARS))
			err = -PS_E_BAD_DATA;
		if (!err)
			err = add_names(m, rt, names, 0, (size_t)nlocals, e);
		if (!err && e->nvars != (size_t)nlocals)
			err = -PS_E_BAD_DATA;
		if (!err)
			err = add_names(m, rt, cells, PYCODE_VAR_CELL, PYCODE_MAX_VARS, e);
		if (!err)
			err = add_names(m, rt, frees, PYCODE_VAR_FREE, PYCODE_MAX_VARS, e);
	}
	for (size_t i = 0; !err && i < e->nvars; i++) {
		/* An argument a closure captures lives in a cell of the same name (<=3.10). */
		bool arg = i < nargs;

		for (size_t k = 0; !arg && k < nargs && k < e->nvars; k++)
			arg = (e->varkinds[i] & PYCODE_VAR_CELL) && !strcmp(e->varnames[i], e->varnames[k]);
		if (arg)
			e->varkinds[i] |= PYCODE_VAR_ARG;
	}
	return err;
}

void pycode_load_vars(struct pycode_cache *c, struct rmem *m, const struct pyruntime *rt,
		      const uint64_t *addrs, size_t n)
{
	/* Names are read once per code object: no need to note them for a replay. */
	bool rec = rmem_set_recording(m, false);

	for (size_t i = 0; i < n; i++) {
		struct pycode *e = *find_slot(c, addrs[i]);

		if (!e || !e->valid || e->vars_loaded)
			continue;
		int err = load_vars(m, rt, e);

		if (err)
			entry_clear_vars(e);
		e->vars_err = err;
		e->vars_loaded = true;
	}
	rmem_set_recording(m, rec);
}

int pycode_line(const struct pycode *code, const struct pyruntime *rt, long addr)
{
	if (!code->linetable)
		return addr < 0 ? code->firstlineno : -1;
	return pyline_addr2line(rt->line_format, code->linetable, code->linetable_len,
				code->firstlineno, addr);
}

/*
 * The fuzz target over the CPython readers (make fuzz), and the image format
 * of its inputs (see fuzz_readers.h).
 *
 * An input that parses as an image becomes a fake reader, and everything a
 * session reads out of a process is read out of it.  Every input, image or
 * not, also goes through the pure decoders whole: each line-table format,
 * code-unit decoding, maps parsing and the escapers.  Each run starts from
 * nothing and frees all it made: no state crosses inputs.
 *
 * Built with clang's libFuzzer for `make fuzz`, and with the ordinary
 * compiler under tests/fuzz/replay.c for `make unit`, which feeds it the
 * committed seeds and crashes.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "escape.h"
#include "fuzz_readers.h"
#include "msg.h"
#include "proc.h"
#include "pycode.h"
#include "pyline.h"
#include "pyobj.h"
#include "pyoffsets.h"
#include "pyread.h"
#include "pystr.h"
#include "pythreading.h"
#include "snapshot.h"

/* Distinct interpreters whose thread names are read, at most. */
#define MAX_INTERPS	8
/* Items a root dict gives, at most. */
#define ROOT_ITEMS	16

#define RT_FIELD(f) offsetof(struct pyruntime, f)

const size_t fuzzimg_fields[FUZZIMG_NFIELDS] = {
	RT_FIELD(runtime), RT_FIELD(heads[0]), RT_FIELD(heads[1]), RT_FIELD(heads[2]),
	RT_FIELD(heads[3]), RT_FIELD(tstate_current), RT_FIELD(type_code), RT_FIELD(type_unicode),
	RT_FIELD(type_bytes), RT_FIELD(type_long), RT_FIELD(type_int), RT_FIELD(type_bool),
	RT_FIELD(type_float), RT_FIELD(type_tuple), RT_FIELD(type_list), RT_FIELD(type_dict),
	RT_FIELD(type_set), RT_FIELD(type_frozenset), RT_FIELD(type_cell), RT_FIELD(type_module),
	RT_FIELD(type_type), RT_FIELD(obj_none), RT_FIELD(obj_true), RT_FIELD(obj_false),
	RT_FIELD(obj_ellipsis), RT_FIELD(obj_notimplemented), RT_FIELD(hash_secret),
	RT_FIELD(type_frozendict),
};

/*
 * The image format.
 */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static bool take_u8(struct cursor *c, unsigned *v)
{
	uint8_t b;

	if (!take(c, &b, 1))
		return false;
	*v = b;
	return true;
}

/* The host is little-endian (x86-64), as the images are. */
static bool take_u16(struct cursor *c, uint16_t *v)
{
	return take(c, v, sizeof(*v));
}

static bool take_u32(struct cursor *c, uint32_t *v)
{
	return take(c, v, sizeof(*v));
}

static bool take_u64(struct cursor *c, uint64_t *v)
{
	return take(c, v, sizeof(*v));
}

int fuzzimg_parse(const uint8_t *data, size_t size, struct fuzzimg *img)
{
	struct cursor c = { data, size };
	const struct py_offsets_table *t;
	unsigned fmt, major, minor, micro, nheads, nroots;
	uint16_t flags;
	uint32_t nreg;
	char magic[4];
	size_t regions_at;

	memset(img, 0, sizeof(*img));
	if (!take(&c, magic, 4) || memcmp(magic, FUZZIMG_MAGIC, 4) || !take_u8(&c, &fmt) ||
	    fmt < 1 || fmt > FUZZIMG_VERSION || !take_u8(&c, &major) || !take_u8(&c, &minor) ||
	    !take_u8(&c, &micro) || !take_u8(&c, &nheads) || !take_u8(&c, &nroots) ||
	    !take_u16(&c, &flags) || !take_u32(&c, &nreg))
		return -EINVAL;
	if (nheads > PYRT_MAX_HEADS || nroots > FUZZIMG_MAX_ROOTS || (flags & ~FUZZIMG_FREE_THREADED) ||
	    nreg > FUZZIMG_MAX_REGIONS)
		return -EINVAL;
	t = pyoffsets_for_version(major, minor, flags & FUZZIMG_FREE_THREADED);
	if (!t)
		return -EINVAL;
	for (size_t i = 0; i < (fmt == 1 ? FUZZIMG_NFIELDS - 1 : FUZZIMG_NFIELDS); i++)
		if (!take_u64(&c, (uint64_t *)((char *)&img->rt + fuzzimg_fields[i])))
			return -EINVAL;
	for (size_t i = 0; i < nroots; i++)
		if (!take_u64(&c, &img->roots[i]))
			return -EINVAL;
	/* Check every region before allocating anything. */
	regions_at = size - c.left;
	for (uint32_t i = 0; i < nreg; i++) {
		uint64_t addr;
		uint32_t len;

		if (!take_u64(&c, &addr) || !take_u32(&c, &len) || c.left < len ||
		    (len && addr + len - 1 < addr))
			return -EINVAL;
		c.p += len;
		c.left -= len;
	}
	if (c.left)
		return -EINVAL;

	img->rt.ver = (struct py_version){ .major = major, .minor = minor, .micro = micro,
					   .level = 0xf };
	pyruntime_derive(&img->rt);
	img->rt.free_threaded = t->free_threaded;
	img->rt.off = t->off;
	img->rt.nheads = nheads;
	img->nroots = nroots;
	img->mem = rmem_fake_new();
	c = (struct cursor){ data + regions_at, size - regions_at };
	for (uint32_t i = 0; i < nreg; i++) {
		uint64_t addr = 0;
		uint32_t len = 0;

		take_u64(&c, &addr);
		take_u32(&c, &len);
		if (len)
			rmem_fake_add(img->mem, addr, c.p, len);
		c.p += len;
		c.left -= len;
	}
	return 0;
}

static void put_u8(FILE *f, unsigned v)
{
	fputc((int)(v & 0xff), f);
}

static void put_bytes(FILE *f, const void *p, size_t n)
{
	fwrite(p, 1, n, f);
}

int fuzzimg_write(FILE *f, const struct pyruntime *rt, const uint64_t *roots, size_t nroots,
		  const struct fuzzimg_region *reg, size_t nreg)
{
	uint16_t flags = rt->free_threaded ? FUZZIMG_FREE_THREADED : 0;
	uint32_t n = (uint32_t)nreg;

	if (nroots > FUZZIMG_MAX_ROOTS || nreg > FUZZIMG_MAX_REGIONS || rt->nheads > PYRT_MAX_HEADS ||
	    rt->ver.major > 255 || rt->ver.minor > 255 || rt->ver.micro > 255)
		return -EINVAL;
	put_bytes(f, FUZZIMG_MAGIC, 4);
	put_u8(f, FUZZIMG_VERSION);
	put_u8(f, rt->ver.major);
	put_u8(f, rt->ver.minor);
	put_u8(f, rt->ver.micro);
	put_u8(f, (unsigned)rt->nheads);
	put_u8(f, (unsigned)nroots);
	put_bytes(f, &flags, sizeof(flags));
	put_bytes(f, &n, sizeof(n));
	for (size_t i = 0; i < FUZZIMG_NFIELDS; i++)
		put_bytes(f, (const char *)rt + fuzzimg_fields[i], 8);
	put_bytes(f, roots, nroots * sizeof(*roots));
	for (size_t i = 0; i < nreg; i++) {
		uint32_t len = (uint32_t)reg[i].len;

		if (reg[i].len > UINT32_MAX)
			return -EINVAL;
		put_bytes(f, &reg[i].addr, 8);
		put_bytes(f, &len, 4);
		put_bytes(f, reg[i].data, reg[i].len);
	}
	return ferror(f) ? -EIO : 0;
}

/*
 * The readers.
 */

static void put_text(FILE *out, const char *key, const char *s)
{
	if (!s)
		return;
	fprintf(out, " %s=\"", key);
	escape_json(out, s);
	fputc('"', out);
}

static void put_frames(FILE *out, const struct thread *t, struct fuzz_stats *st)
{
	for (size_t k = 0; k < t->nframes; k++) {
		const struct frame *f = &t->frames[k];

		fprintf(out, "  #%zu line=%d entry=%d", k, f->line, f->entry);
		put_text(out, "fn", f->function);
		put_text(out, "qual", f->qualname);
		put_text(out, "file", f->file);
		fprintf(out, "%s\n", f->vars_missing ? " vars-missing" : "");
		for (size_t v = 0; v < f->nvars; v++) {
			fprintf(out, "    %s", f->vars[v].arg ? "arg " : "");
			escape_text(out, f->vars[v].name);
			fputs(" = ", out);
			escape_text(out, f->vars[v].repr);
			fputc('\n', out);
		}
		st->vars += f->nvars;
	}
	st->frames += t->nframes;
}

static void put_threads(FILE *out, const struct snapshot *snap, struct fuzz_stats *st)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct thread *t = &snap->threads[i];

		fprintf(out, "thread %zu ident=0x%" PRIx64 " tid=%d interp=%lld gil=%d gc=%d "
			"frames=%zu truncated=%d", i, t->thread_id, (int)t->tid, t->interp_id,
			t->holds_gil, t->gc, t->nframes, t->truncated);
		put_text(out, "error", t->error);
		fputc('\n', out);
		put_frames(out, t, st);
	}
	st->threads += snap->nthreads;
	st->partial += snap->partial;
}

static void put_repr(FILE *out, struct rmem *m, const struct pyruntime *rt, uint64_t obj)
{
	char buf[1024];

	pyobj_repr(m, rt, obj, buf, sizeof(buf));
	escape_text(out, buf);
}

/* Each distinct interpreter's registry of threads: its repr, then the names. */
static void put_names(FILE *out, struct rmem *m, const struct pyruntime *rt,
		      const struct snapshot *snap, struct fuzz_stats *st)
{
	uint64_t seen[MAX_INTERPS];
	size_t nseen = 0;

	for (size_t i = 0; i < snap->nthreads && nseen < MAX_INTERPS; i++) {
		uint64_t interp = snap->threads[i].interp, active = 0;
		struct pythread_name *names;
		bool dup = false;
		long n;
		int err;

		for (size_t k = 0; k < nseen && !dup; k++)
			dup = seen[k] == interp;
		if (dup)
			continue;
		seen[nseen++] = interp;
		err = pythreading_registry(m, rt, interp, &active);
		fprintf(out, "registry 0x%" PRIx64 ": %d ", interp, err);
		if (err) {
			fputc('\n', out);
			continue;
		}
		put_repr(out, m, rt, active);
		fputc('\n', out);
		n = pythreading_names(m, rt, active, &names);
		fprintf(out, "names: %ld\n", n);
		for (long k = 0; k < n; k++) {
			fprintf(out, "  0x%" PRIx64 " ", names[k].ident);
			escape_text(out, names[k].name);
			fputc('\n', out);
		}
		if (n > 0) {
			pythreading_free(names, (size_t)n);
			st->names += (size_t)n;
		} else if (names) {
			abort();	/* the contract: nothing to free without names */
		}
	}
}

static int count_item(uint64_t key, uint64_t value, void *arg)
{
	size_t *n = arg;

	(void)key;
	(void)value;
	++*n;
	return 0;
}

static void put_root(FILE *out, struct rmem *m, const struct pyruntime *rt, uint64_t obj)
{
	char name[128];
	uint64_t v;
	size_t items = 0;
	int err;

	fprintf(out, "root 0x%" PRIx64 ": ", obj);
	put_repr(out, m, rt, obj);
	err = pyobj_type_name(m, rt, obj, name, sizeof(name));
	fprintf(out, "\n  type %d ", err);
	escape_text(out, err ? "" : name);
	err = pyobj_u64(m, rt, obj, &v);
	fprintf(out, "\n  u64 %d %" PRIu64, err, err ? 0 : v);
	err = pyobj_cell_get(m, rt, obj, &v);
	fprintf(out, "\n  cell %d 0x%" PRIx64, err, err ? 0 : v);
	err = pyobj_getattr_str(m, rt, obj, "a", &v);
	fprintf(out, "\n  .a %d 0x%" PRIx64, err, err ? 0 : v);
	err = pyobj_dict_get_str(m, rt, obj, "a", &v);
	fprintf(out, "\n  ['a'] %d 0x%" PRIx64, err, err ? 0 : v);
	err = pyobj_dict_items(m, rt, obj, ROOT_ITEMS, count_item, &items);
	fprintf(out, "\n  items %d %zu\n", err, items);
}

void fuzz_read_all(struct rmem *m, const struct pyruntime *rt, const uint64_t *roots,
		   size_t nroots, FILE *out, struct fuzz_stats *st)
{
	struct pycode_cache *codes = pycode_cache_new();

	for (uint64_t gen = 1; gen <= 2; gen++) {
		/* pid 0: no thread states are looked up in this system's /proc. */
		struct pyread r = { .pid = 0, .mem = m, .rt = rt, .codes = codes, .gen = gen,
				    .locals = true };
		struct snapshot *snap = snapshot_new(0);
		int err;

		rmem_invalidate(m);
		err = pyread_snapshot(&r, snap);
		pyread_lines(&r, snap);
		fprintf(out, "snapshot %" PRIu64 ": %d, %zu threads, partial %u\n", gen, err,
			snap->nthreads, snap->partial);
		if (gen == 1) {
			st->err = err;
			put_threads(out, snap, st);
			put_names(out, m, rt, snap, st);
		}
		snapshot_free(snap);
	}
	pycode_cache_free(codes);
	for (size_t i = 0; i < nroots; i++)
		put_root(out, m, rt, roots[i]);
}

/*
 * The pure decoders, over the raw input.
 */

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void fuzz_lines(const uint8_t *data, size_t size)
{
	static const enum pyline_format formats[] = {
		PYLINE_LNOTAB_UNSIGNED, PYLINE_LNOTAB, PYLINE_LINETABLE_310, PYLINE_LOCATIONS,
	};
	int first = size >= 4 ? (int)get32(data) : 1;
	long addrs[] = { -1, 0, 1, 6, size >= 8 ? (long)(int32_t)get32(data + 4) : 40,
			 (long)size, LONG_MAX };

	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++)
		for (size_t a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++)
			pyline_addr2line(formats[f], data, size, first, addrs[a]);
}

static void fuzz_units(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 8, 64, PYSTR_MAX };
	char *buf = xmalloc(PYSTR_MAX);

	for (unsigned kind = 1; kind <= 4; kind *= 2) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t len = pystr_decode_units(data, size / kind, kind, buf, sizes[s]);

			/* The contract: NUL-terminated within the buffer. */
			if (len >= sizes[s] || buf[len])
				abort();
		}
	}
	free(buf);
}

static void fuzz_maps(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	struct maps maps;

	memcpy(text, data, size);
	text[size] = '\0';
	maps_parse(text, size, &maps);
	for (size_t i = 0; i < maps.n; i++) {
		const struct map *mp = &maps.v[i];

		if (mp->end < mp->start || mp->file >= (int)maps.nfiles)
			abort();
		maps_find(&maps, mp->start);
	}
	maps_free(&maps);
}

/* An escaper's output must hold no control character, whatever it was given. */
static void check_escaped(const char *s, size_t n, bool json)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (json && c == '"'))
			abort();
		if (json && c == '\\')
			i++;	/* the character it escapes */
	}
}

static void fuzz_escape(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1), *out, *fs;
	size_t len;
	FILE *f;

	memcpy(s, data, size);
	s[size] = '\0';
	f = xopen_memstream(&out, &len);
	escape_text(f, s);
	xclose_memstream(f);
	check_escaped(out, len, false);
	free(out);
	f = xopen_memstream(&out, &len);
	escape_json(f, s);
	xclose_memstream(f);
	check_escaped(out, len, true);
	free(out);
	fs = escape_fs_name(s);
	free(fs);
	free(s);
}

void fuzz_one(const uint8_t *data, size_t size, struct fuzz_stats *st)
{
	struct fuzzimg img;

	memset(st, 0, sizeof(*st));
	if (!fuzzimg_parse(data, size, &img)) {
		char *text;
		size_t len;
		FILE *out = xopen_memstream(&text, &len);

		st->image = true;
		fuzz_read_all(img.mem, &img.rt, img.roots, img.nroots, out, st);
		xclose_memstream(out);
		free(text);
		rmem_free(img.mem);
	}
	fuzz_lines(data, size);
	fuzz_units(data, size);
	fuzz_maps(data, size);
	fuzz_escape(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stats st;

	fuzz_one(data, size, &st);
	return 0;
}

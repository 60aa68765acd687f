/*
 * Building fake CPython objects (see fakepy.h).
 */
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "fakepy.h"
#include "msg.h"

#define IMAGE_SIZE (8u << 20)

uint64_t fakepy_alloc(struct fakepy *fp, size_t size)
{
	uint64_t addr;

	fp->used = (fp->used + 15) & ~(size_t)15;
	if (fp->used + size > fp->cap)
		abort();
	addr = FAKEPY_BASE + fp->used;
	fp->used += size;
	return addr;
}

void fakepy_put(struct fakepy *fp, uint64_t addr, const void *data, size_t len)
{
	if (addr < FAKEPY_BASE || addr - FAKEPY_BASE + len > fp->cap)
		abort();
	memcpy(fp->img + (addr - FAKEPY_BASE), data, len);
}

void fakepy_put64(struct fakepy *fp, uint64_t addr, uint64_t v)
{
	fakepy_put(fp, addr, &v, 8);
}

void fakepy_put32(struct fakepy *fp, uint64_t addr, uint32_t v)
{
	fakepy_put(fp, addr, &v, 4);
}

/* Room for every field that lies in offs, plus 8 bytes. */
static size_t span(const uint64_t *offs, size_t n)
{
	uint64_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (offs[i] != PYO_NONE && offs[i] > max)
			max = offs[i];
	return (size_t)max + 16;
}

/* Room for a PyHeapTypeObject of every build (3.15t's ht_cached_keys is at 904). */
#define TYPE_SIZE 1024

/* Bytes of a PyObject header: 16, or 32 in a free-threaded build (ob_tid and the rest first). */
static size_t head_size(const struct fakepy *fp)
{
	return (size_t)fp->rt.off.object_type + 8;
}

static void obj_head(struct fakepy *fp, uint64_t addr, uint64_t type)
{
	fakepy_put64(fp, addr, 1);	/* ob_refcnt */
	fakepy_put64(fp, addr + fp->rt.off.object_type, type);
}

static uint64_t fake_type(struct fakepy *fp, const char *name)
{
	uint64_t t = fakepy_alloc(fp, TYPE_SIZE), s = fakepy_alloc(fp, strlen(name) + 1);

	fakepy_put(fp, s, name, strlen(name) + 1);
	fakepy_put64(fp, t + fp->rt.off.type_name, s);
	if (fp->rt.type_type)
		obj_head(fp, t, fp->rt.type_type);
	return t;
}

static uint64_t read64(const struct fakepy *fp, uint64_t addr)
{
	uint64_t v;

	if (addr < FAKEPY_BASE || addr - FAKEPY_BASE + 8 > fp->cap)
		abort();
	memcpy(&v, fp->img + (addr - FAKEPY_BASE), 8);
	return v;
}

/* The types and singletons pyobj.c recognises, at fake addresses. */
static void fake_objects(struct fakepy *fp)
{
	const struct py_offsets *o = &fp->rt.off;
	bool py2 = fp->rt.ver.major == 2;
	uint64_t none_type;

	fp->rt.type_type = fake_type(fp, "type");
	obj_head(fp, fp->rt.type_type, fp->rt.type_type);
	fp->rt.type_long = fake_type(fp, py2 ? "long" : "int");
	fakepy_put64(fp, fp->rt.type_long + o->type_itemsize, o->long_digit_bits == 15 ? 2 : 4);
	if (py2)
		fp->rt.type_int = fake_type(fp, "int");
	fp->rt.type_bool = fake_type(fp, "bool");
	fp->rt.type_float = fake_type(fp, "float");
	fp->rt.type_tuple = fake_type(fp, "tuple");
	fp->rt.type_list = fake_type(fp, "list");
	fp->rt.type_dict = fake_type(fp, "dict");
	fp->rt.type_set = fake_type(fp, "set");
	fp->rt.type_frozenset = fake_type(fp, "frozenset");
	fp->rt.type_cell = fake_type(fp, "cell");
	fp->rt.type_module = fake_type(fp, "module");
	none_type = fake_type(fp, "NoneType");
	fp->rt.obj_none = fakepy_alloc(fp, head_size(fp));
	obj_head(fp, fp->rt.obj_none, none_type);
	fp->rt.obj_ellipsis = fakepy_alloc(fp, head_size(fp));
	obj_head(fp, fp->rt.obj_ellipsis, fake_type(fp, "ellipsis"));
	fp->rt.obj_notimplemented = fakepy_alloc(fp, head_size(fp));
	obj_head(fp, fp->rt.obj_notimplemented, fake_type(fp, "NotImplementedType"));
	for (int b = 0; b < 2; b++) {
		uint64_t v = fakepy_alloc(fp, (py2 ? o->int27_value : o->long_digits) + 8);

		obj_head(fp, v, fp->rt.type_bool);
		if (py2)
			fakepy_put64(fp, v + o->int27_value, (uint64_t)b);
		else if (o->long_tag != PYO_NONE)
			fakepy_put64(fp, v + o->long_tag, (b ? 1u << o->long_tag_shift : 1) |
				     (fp->rt.vkey >= PY_VER(3, 14) ? 4 : 0));	/* immortal, 3.14+ */
		else
			fakepy_put64(fp, v + o->varobject_size, (uint64_t)b);
		if (!py2)
			fakepy_put32(fp, v + o->long_digits, (uint32_t)b);
		*(b ? &fp->rt.obj_true : &fp->rt.obj_false) = v;
	}
}

void fakepy_init(struct fakepy *fp, unsigned major, unsigned minor)
{
	fakepy_init_build(fp, major, minor, false);
}

void fakepy_init_build(struct fakepy *fp, unsigned major, unsigned minor, bool free_threaded)
{
	const struct py_offsets_table *t = pyoffsets_for_version(major, minor, free_threaded);
	const struct py_offsets *o;

	memset(fp, 0, sizeof(*fp));
	if (!t)
		abort();
	fp->cap = IMAGE_SIZE;
	fp->img = xcalloc(1, fp->cap);
	fp->used = 0x100;
	fp->rt.off = t->off;
	fp->rt.free_threaded = free_threaded;
	fp->rt.ver = (struct py_version){ major, minor, 0, 0xf, 0 };
	pyruntime_derive(&fp->rt);
	o = &fp->rt.off;
	fake_objects(fp);
	fp->rt.type_code = fake_type(fp, "code");
	fp->rt.type_unicode = fake_type(fp, major == 2 ? "unicode" : "str");
	fp->rt.type_bytes = fake_type(fp, major == 2 ? "str" : "bytes");
	if (fp->rt.vkey >= PY_VER(3, 7)) {
		uint64_t gil = o->runtime_gil == PYO_NONE ? PYO_NONE : o->runtime_gil + o->gil_last_holder;
		uint64_t gc = o->runtime_gc == PYO_NONE ? PYO_NONE : o->runtime_gc + o->gc_collecting;
		uint64_t offs[] = { o->runtime_interpreters_head, o->runtime_interpreters_main, gil, gc };

		fp->rt.runtime = fakepy_alloc(fp, span(offs, 4));
		fp->rt.heads[fp->rt.nheads++] = fp->rt.runtime + o->runtime_interpreters_head;
	} else {
		fp->rt.heads[fp->rt.nheads++] = fakepy_alloc(fp, 8);
		fp->rt.tstate_current = fakepy_alloc(fp, 8);
	}
}

void fakepy_free(struct fakepy *fp)
{
	free(fp->img);
}

uint64_t fakepy_bytes(struct fakepy *fp, const void *data, size_t len)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t b = fakepy_alloc(fp, o->bytes_sval + len + 1);

	obj_head(fp, b, fp->rt.type_bytes);
	fakepy_put64(fp, b + o->varobject_size, len);
	fakepy_put(fp, b + o->bytes_sval, data, len);
	return b;
}

uint64_t fakepy_str(struct fakepy *fp, const char *utf8)
{
	const struct py_offsets *o = &fp->rt.off;
	size_t n = 0, len = strlen(utf8);
	uint32_t *cp = xcalloc(len + 1, sizeof(*cp)), max = 0, state;
	unsigned kind;
	uint64_t s, data;

	if (fp->rt.ver.major == 2) {
		free(cp);
		return fakepy_bytes(fp, utf8, len);
	}
	for (size_t i = 0; i < len;) {
		int k = utf8_decode((const unsigned char *)utf8 + i, len - i, &cp[n]);

		if (k <= 0)
			abort();
		if (cp[n] > max)
			max = cp[n];
		i += (size_t)k;
		n++;
	}
	kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
	data = max < 0x80 ? o->unicode_ascii_size : o->unicode_compact_size;
	s = fakepy_alloc(fp, data + (n + 1) * kind);
	obj_head(fp, s, fp->rt.type_unicode);
	fakepy_put64(fp, s + o->unicode_length, n);
	state = kind << o->unicode_kind_shift | 1u << o->unicode_compact_bit |
		(uint32_t)(max < 0x80) << o->unicode_ascii_bit;
	if (o->unicode_ready_bit != PYO_NONE)
		state |= 1u << o->unicode_ready_bit;
	fakepy_put32(fp, s + o->unicode_state, state);
	for (size_t i = 0; i < n; i++) {
		uint8_t c1 = (uint8_t)cp[i];
		uint16_t c2 = (uint16_t)cp[i];

		fakepy_put(fp, s + data + i * kind, kind == 1 ? (void *)&c1 : kind == 2 ? (void *)&c2 :
			   (void *)&cp[i], kind);
	}
	free(cp);
	return s;
}

uint64_t fakepy_code(struct fakepy *fp, const char *name, const char *qualname, const char *file,
		     int firstlineno, const void *linetable, size_t ltlen)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t c = fakepy_alloc(fp, o->code_size + 512);

	obj_head(fp, c, fp->rt.type_code);
	fakepy_put64(fp, c + o->code_name, fakepy_str(fp, name));
	fakepy_put64(fp, c + o->code_filename, fakepy_str(fp, file));
	if (o->code_qualname != PYO_NONE)
		fakepy_put64(fp, c + o->code_qualname, fakepy_str(fp, qualname));
	fakepy_put32(fp, c + o->code_firstlineno, (uint32_t)firstlineno);
	fakepy_put64(fp, c + o->code_linetable, fakepy_bytes(fp, linetable, ltlen));
	return c;
}

uint64_t fakepy_frame(struct fakepy *fp, uint64_t code, long addr, uint64_t back, int owner)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t f;

	if (fp->rt.vkey < PY_VER(3, 11)) {
		f = fakepy_alloc(fp, o->frame_size);
		fakepy_put64(fp, f + o->frame_back, back);
		fakepy_put64(fp, f + o->frame_code, code);
		fakepy_put32(fp, f + o->frame_lasti,
			     (uint32_t)(fp->rt.vkey >= PY_VER(3, 10) ? addr / 2 : addr));
		return f;
	}
	f = fakepy_alloc(fp, o->iframe_size + 16);
	fakepy_put64(fp, f + o->iframe_previous, back);
	fakepy_put64(fp, f + o->iframe_code, code);
	fakepy_put64(fp, f + o->iframe_instr, code + o->code_adaptive + (uint64_t)addr);
	fakepy_put(fp, f + o->iframe_owner, &(uint8_t){ (uint8_t)owner }, 1);
	return f;
}

uint64_t fakepy_interp(struct fakepy *fp)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t gc = o->interp_gc == PYO_NONE ? PYO_NONE : o->interp_gc + o->gc_collecting;
	uint64_t offs[] = { o->interp_next, o->interp_tstate_head, o->interp_id, o->interp_gil, gc,
			    o->interp_sysdict };
	uint64_t i = fakepy_alloc(fp, span(offs, 6));

	if (o->interp_gil != PYO_NONE)
		fakepy_put64(fp, i + o->interp_gil, fakepy_alloc(fp, 64));
	return i;
}

uint64_t fakepy_thread(struct fakepy *fp, uint64_t interp, uint64_t ident, uint64_t native,
		       uint64_t top_frame)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t offs[] = { o->tstate_next, o->tstate_interp, o->tstate_thread_id,
			    o->tstate_native_thread_id, o->tstate_frame, o->tstate_cframe };
	uint64_t t = fakepy_alloc(fp, span(offs, 6)), head;

	memcpy(&head, fp->img + (interp + o->interp_tstate_head - FAKEPY_BASE), 8);
	fakepy_put64(fp, t + o->tstate_next, head);
	fakepy_put64(fp, t + o->tstate_interp, interp);
	fakepy_put64(fp, t + o->tstate_thread_id, ident);
	if (o->tstate_native_thread_id != PYO_NONE)
		fakepy_put64(fp, t + o->tstate_native_thread_id, native);
	if (o->tstate_cframe != PYO_NONE) {
		uint64_t cf = fakepy_alloc(fp, o->cframe_current_frame + 16);

		fakepy_put64(fp, cf + o->cframe_current_frame, top_frame);
		fakepy_put64(fp, t + o->tstate_cframe, cf);
	} else {
		fakepy_put64(fp, t + o->tstate_frame, top_frame);
	}
	fakepy_put64(fp, interp + o->interp_tstate_head, t);
	return t;
}

void fakepy_set_head(struct fakepy *fp, uint64_t interp)
{
	fakepy_put64(fp, fp->rt.heads[0], interp);
	if (fp->rt.runtime)
		fakepy_put64(fp, fp->rt.runtime + fp->rt.off.runtime_interpreters_main, interp);
}

struct rmem *fakepy_map(const struct fakepy *fp)
{
	struct rmem *m = rmem_fake_new();

	rmem_fake_add(m, FAKEPY_BASE, fp->img, fp->used);
	return m;
}

uint64_t fakepy_int(struct fakepy *fp, int64_t v)
{
	uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
	uint32_t digits[3];
	size_t n = 0;
	uint64_t i;

	if (fp->rt.ver.major == 2) {
		i = fakepy_alloc(fp, fp->rt.off.int27_value + 8);
		obj_head(fp, i, fp->rt.type_int);
		fakepy_put64(fp, i + fp->rt.off.int27_value, (uint64_t)v);
		return i;
	}
	for (; mag; mag >>= 30)
		digits[n++] = (uint32_t)(mag & 0x3fffffff);
	i = fakepy_long(fp, v < 0, digits, n);
	/* 3.14+ mark the small ints, -5 to 256 (3.15: 1024), as immortal in their tag */
	if (fp->rt.vkey >= PY_VER(3, 14) && v >= -5 && v <= (fp->rt.vkey >= PY_VER(3, 15) ? 1024 : 256))
		fakepy_put64(fp, i + fp->rt.off.long_tag, read64(fp, i + fp->rt.off.long_tag) | 4);
	return i;
}

uint64_t fakepy_long(struct fakepy *fp, bool neg, const uint32_t *digits, size_t n)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t l = fakepy_alloc(fp, o->long_digits + 4 * (n ? n : 1));

	obj_head(fp, l, fp->rt.type_long);
	if (o->long_tag != PYO_NONE)
		fakepy_put64(fp, l + o->long_tag, (uint64_t)n << o->long_tag_shift |
			     (n == 0 ? 1 : neg ? 2 : 0));
	else
		fakepy_put64(fp, l + o->varobject_size, neg ? -(uint64_t)n : n);
	if (n)
		fakepy_put(fp, l + o->long_digits, digits, 4 * n);
	return l;
}

uint64_t fakepy_float(struct fakepy *fp, double v)
{
	uint64_t f = fakepy_alloc(fp, fp->rt.off.float_value + 8);

	obj_head(fp, f, fp->rt.type_float);
	fakepy_put(fp, f + fp->rt.off.float_value, &v, 8);
	return f;
}

uint64_t fakepy_unicode27(struct fakepy *fp, const uint32_t *units, size_t n)
{
	const struct py_offsets *o = &fp->rt.off;
	size_t size = o->unicode27_unicode_size;
	uint64_t u = fakepy_alloc(fp, o->unicode27_str + 16), data = fakepy_alloc(fp, (n + 1) * size);

	obj_head(fp, u, fp->rt.type_unicode);
	fakepy_put64(fp, u + o->unicode_length, n);
	fakepy_put64(fp, u + o->unicode27_str, data);
	for (size_t i = 0; i < n; i++) {
		uint16_t u16 = (uint16_t)units[i];

		fakepy_put(fp, data + i * size, size == 2 ? (const void *)&u16 : (const void *)&units[i],
			   size);
	}
	return u;
}

uint64_t fakepy_tuple(struct fakepy *fp, size_t n, const uint64_t *items)
{
	uint64_t t = fakepy_alloc(fp, fp->rt.off.tuple_item + 8 * (n ? n : 1));

	obj_head(fp, t, fp->rt.type_tuple);
	fakepy_put64(fp, t + fp->rt.off.varobject_size, n);
	if (n)
		fakepy_put(fp, t + fp->rt.off.tuple_item, items, 8 * n);
	return t;
}

uint64_t fakepy_list(struct fakepy *fp, size_t n, const uint64_t *items)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t l = fakepy_alloc(fp, o->list_allocated + 8), array = n ? fakepy_alloc(fp, 8 * n) : 0;

	obj_head(fp, l, fp->rt.type_list);
	fakepy_put64(fp, l + o->varobject_size, n);
	fakepy_put64(fp, l + o->list_item, array);
	fakepy_put64(fp, l + o->list_allocated, n);
	if (n)
		fakepy_put(fp, array, items, 8 * n);
	return l;
}

static uint64_t dict_object(struct fakepy *fp, uint64_t keys, uint64_t values, size_t used)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t offs[] = { o->dict_used, o->dict_keys, o->dict_values };
	uint64_t d = fakepy_alloc(fp, span(offs, 3));

	obj_head(fp, d, fp->rt.type_dict);
	fakepy_put64(fp, d + o->dict_used, used);
	fakepy_put64(fp, d + o->dict_keys, keys);
	fakepy_put64(fp, d + o->dict_values, values);
	return d;
}

static unsigned log2_table(size_t n)
{
	unsigned l = 3;

	while (((size_t)2 << l) / 3 < n)
		l++;
	return l;
}

/* A keys object (3.x) of n entries; general, str-only, or split (kind 0, 1, 2). */
static uint64_t keys_object(struct fakepy *fp, size_t n, const uint64_t *keys, const uint64_t *values,
			    int kind, unsigned log2)
{
	const struct py_offsets *o = &fp->rt.off;
	unsigned wl = log2 < 8 ? 0 : log2 < 16 ? 1 : log2 < 32 ? 2 : 3;
	bool general = kind == 0 || o->dict_keys_log2_size == PYO_NONE;
	size_t esize = general ? o->dict_entry_size : o->dict_uentry_size;
	uint64_t indices = (uint64_t)1 << (log2 + wl);
	uint64_t k = fakepy_alloc(fp, o->dict_keys_indices + indices + esize * (n ? n : 1));
	uint64_t entries = k + o->dict_keys_indices + indices;

	fakepy_put64(fp, k, 1);		/* dk_refcnt */
	if (o->dict_keys_log2_size != PYO_NONE) {
		uint8_t b[3] = { (uint8_t)log2, (uint8_t)(log2 + wl), (uint8_t)kind };

		fakepy_put(fp, k + o->dict_keys_log2_size, &b[0], 1);
		fakepy_put(fp, k + o->dict_keys_log2_index_bytes, &b[1], 1);
		fakepy_put(fp, k + o->dict_keys_kind, &b[2], 1);
	} else {
		fakepy_put64(fp, k + o->dict_keys_size, (uint64_t)1 << log2);
	}
	fakepy_put64(fp, k + o->dict_keys_nentries, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t e = entries + i * esize;
		bool live = values ? values[i] != 0 : true;

		if (general) {
			fakepy_put64(fp, e + o->dict_entry_hash, 1000 + i);
			fakepy_put64(fp, e + o->dict_entry_key, live ? keys[i] : 0);
			fakepy_put64(fp, e + o->dict_entry_value, values ? values[i] : 0);
		} else {
			fakepy_put64(fp, e + o->dict_uentry_key, live ? keys[i] : 0);
			fakepy_put64(fp, e + o->dict_uentry_value, values ? values[i] : 0);
		}
	}
	return k;
}

uint64_t fakepy_dict(struct fakepy *fp, size_t n, const uint64_t *keys, const uint64_t *values)
{
	const struct py_offsets *o = &fp->rt.off;
	size_t used = 0;
	int kind = 1;

	for (size_t i = 0; i < n; i++) {
		used += values[i] != 0;
		if (read64(fp, keys[i] + o->object_type) != fp->rt.type_unicode)
			kind = 0;
	}
	if (fp->rt.ver.major == 2) {
		/* the items in table order from slot 0; deleted ones keep a dummy key */
		unsigned log2 = log2_table(n);
		uint64_t table = fakepy_alloc(fp, o->dict_entry_size << log2);
		uint64_t dummy = fakepy_str(fp, "<dummy key>");
		uint64_t d = dict_object(fp, table, ((uint64_t)1 << log2) - 1, used);

		for (size_t i = 0; i < n; i++) {
			uint64_t e = table + i * o->dict_entry_size;

			fakepy_put64(fp, e + o->dict_entry_hash, 1000 + i);
			fakepy_put64(fp, e + o->dict_entry_key, values[i] ? keys[i] : dummy);
			fakepy_put64(fp, e + o->dict_entry_value, values[i]);
		}
		return d;
	}
	return dict_object(fp, keys_object(fp, n, keys, values, kind, log2_table(n)), 0, used);
}

uint64_t fakepy_empty_dict(struct fakepy *fp)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t k;

	if (fp->rt.ver.major == 2 || o->dict_keys_log2_size == PYO_NONE)
		return fakepy_dict(fp, 0, NULL, NULL);
	/* one slot of 8 index bytes, all empty, no entries; str keys */
	k = fakepy_alloc(fp, o->dict_keys_indices + 8);
	fakepy_put64(fp, k, 1);
	fakepy_put(fp, k + o->dict_keys_log2_size, &(uint8_t){ 0 }, 1);
	fakepy_put(fp, k + o->dict_keys_log2_index_bytes, &(uint8_t){ 3 }, 1);
	fakepy_put(fp, k + o->dict_keys_kind, &(uint8_t){ 1 }, 1);
	fakepy_put64(fp, k + o->dict_keys_indices, UINT64_MAX);
	return dict_object(fp, k, 0, 0);
}

uint64_t fakepy_shared_keys(struct fakepy *fp, size_t n, const uint64_t *keys)
{
	return keys_object(fp, n, keys, NULL, 2, log2_table(n));
}

uint64_t fakepy_values(struct fakepy *fp, size_t n, const uint64_t *values, size_t count,
		       const uint8_t *order)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t v;

	if (fp->rt.vkey < PY_VER(3, 11)) {
		v = fakepy_alloc(fp, 8 * (n ? n : 1));
		fakepy_put(fp, v, values, 8 * n);
		return v;
	}
	if (o->dictvalues_size != PYO_NONE) {
		/* 3.13: capacity, size, embedded, valid; the values; the order */
		uint8_t head[4] = { (uint8_t)n, (uint8_t)count, 0, 1 };

		v = fakepy_alloc(fp, o->dictvalues_values + 9 * n + 8);
		fakepy_put(fp, v + o->dictvalues_capacity, &head[0], 1);
		fakepy_put(fp, v + o->dictvalues_size, &head[1], 1);
		fakepy_put(fp, v + o->dictvalues_valid, &head[3], 1);
		fakepy_put(fp, v + o->dictvalues_values, values, 8 * n);
		fakepy_put(fp, v + o->dictvalues_values + 8 * n, order, count);
		return v;
	}
	/* 3.11, 3.12: the order bytes before the values, [-1] their size, [-2] the count */
	size_t prefix = (count + 2 + 7) & ~(size_t)7;
	uint64_t base = fakepy_alloc(fp, prefix + 8 * n + 8);
	uint8_t b;

	v = base + prefix;
	b = (uint8_t)prefix;
	fakepy_put(fp, v - 1, &b, 1);
	b = (uint8_t)count;
	fakepy_put(fp, v - 2, &b, 1);
	for (size_t i = 0; i < count; i++)
		fakepy_put(fp, v - 3 - i, &order[i], 1);
	fakepy_put(fp, v + o->dictvalues_values, values, 8 * n);
	return v;
}

uint64_t fakepy_split_dict(struct fakepy *fp, uint64_t keys, uint64_t values, size_t used)
{
	return dict_object(fp, keys, values, used);
}

uint64_t fakepy_set(struct fakepy *fp, bool frozen, size_t n, const uint64_t *items)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t offs[] = { o->set_fill, o->set_used, o->set_mask, o->set_table };
	uint64_t s = fakepy_alloc(fp, span(offs, 4));
	unsigned log2 = log2_table(n);
	uint64_t table = fakepy_alloc(fp, o->set_entry_size << log2);
	uint64_t dummy = fp->rt.ver.major == 2 ? fakepy_str(fp, "<dummy key>") :
			 fakepy_alloc(fp, head_size(fp));
	size_t used = 0;

	obj_head(fp, s, frozen ? fp->rt.type_frozenset : fp->rt.type_set);
	for (size_t i = 0; i < n; i++) {
		uint64_t e = table + i * o->set_entry_size;

		used += items[i] != 0;
		fakepy_put64(fp, e + o->set_entry_key, items[i] ? items[i] : dummy);
		fakepy_put64(fp, e + o->set_entry_hash, items[i] || fp->rt.ver.major == 2 ? 2000 + i :
			     (uint64_t)-1);
	}
	fakepy_put64(fp, s + o->set_fill, n);
	fakepy_put64(fp, s + o->set_used, used);
	fakepy_put64(fp, s + o->set_mask, ((uint64_t)1 << log2) - 1);
	fakepy_put64(fp, s + o->set_table, table);
	return s;
}

uint64_t fakepy_class(struct fakepy *fp, const char *qualname, const char *module, uint64_t cached_keys)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t t = fake_type(fp, qualname), flags = o->tpflags_heaptype, head = head_size(fp);
	uint64_t mkey = fakepy_str(fp, "__module__"), mod = fakepy_str(fp, module);

	fakepy_put64(fp, t + o->type_dict, fakepy_dict(fp, 1, &mkey, &mod));
	if (o->heaptype_qualname != PYO_NONE) {
		fakepy_put64(fp, t + o->heaptype_qualname, fakepy_str(fp, qualname));
		fakepy_put64(fp, t + o->heaptype_cached_keys, cached_keys);
	}
	if (o->tpflags_inline_values != PYO_NONE) {
		flags |= o->tpflags_inline_values | o->tpflags_managed_dict;
		fakepy_put64(fp, t + o->type_basicsize, head);
		fakepy_put64(fp, t + o->type_dictoffset, (uint64_t)-1);
	} else if (o->tpflags_managed_dict != PYO_NONE) {
		flags |= o->tpflags_managed_dict;
		fakepy_put64(fp, t + o->type_basicsize, head);
		fakepy_put64(fp, t + o->type_dictoffset, (uint64_t)-1);
	} else {
		fakepy_put64(fp, t + o->type_basicsize, head + 16);
		fakepy_put64(fp, t + o->type_dictoffset, head);
	}
	fakepy_put64(fp, t + o->type_flags, flags);
	return t;
}

uint64_t fakepy_instance(struct fakepy *fp, uint64_t cls, uint64_t dict, uint64_t values)
{
	const struct py_offsets *o = &fp->rt.off;
	size_t head = head_size(fp);
	uint64_t base, obj;

	if (o->tpflags_managed_dict == PYO_NONE) {
		obj = fakepy_alloc(fp, head + 16);
		obj_head(fp, obj, cls);
		fakepy_put64(fp, obj + head, dict);
		return obj;
	}
	/* the managed dict (and 3.11's values) in the words before the object */
	base = fakepy_alloc(fp, 32 + head + (o->tpflags_inline_values != PYO_NONE ?
					      o->dictvalues_values + 9 * 256 : 0));
	obj = base + 32;
	obj_head(fp, obj, cls);
	if (o->object_managed_values != PYO_NONE) {
		fakepy_put64(fp, obj - o->object_managed_values, values);
		fakepy_put64(fp, obj - o->object_managed_dict, dict);
	} else if (o->tpflags_inline_values == PYO_NONE) {
		fakepy_put64(fp, obj - o->object_managed_dict, values ? values - 1 : dict);
	} else {
		fakepy_put64(fp, obj - o->object_managed_dict, dict);
		if (values) {
			/* 3.13+: a copy of the values, inline after the object */
			uint8_t cap = fp->img[values + o->dictvalues_capacity - FAKEPY_BASE];
			size_t size = o->dictvalues_values + 9 * (size_t)cap;

			fakepy_put(fp, obj + head, fp->img + (values - FAKEPY_BASE), size);
		} else {
			uint8_t invalid = 0;

			fakepy_put(fp, obj + head + o->dictvalues_valid, &invalid, 1);
		}
	}
	return obj;
}

uint64_t fakepy_cell(struct fakepy *fp, uint64_t ref)
{
	uint64_t c = fakepy_alloc(fp, fp->rt.off.cell_ref + 8);

	obj_head(fp, c, fp->rt.type_cell);
	fakepy_put64(fp, c + fp->rt.off.cell_ref, ref);
	return c;
}

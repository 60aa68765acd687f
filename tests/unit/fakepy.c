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

static uint64_t fake_type(struct fakepy *fp, const char *name)
{
	uint64_t t = fakepy_alloc(fp, 512), s = fakepy_alloc(fp, strlen(name) + 1);

	fakepy_put(fp, s, name, strlen(name) + 1);
	fakepy_put64(fp, t + fp->rt.off.type_name, s);
	return t;
}

static void obj_head(struct fakepy *fp, uint64_t addr, uint64_t type)
{
	fakepy_put64(fp, addr, 1);	/* ob_refcnt */
	fakepy_put64(fp, addr + fp->rt.off.object_type, type);
}

void fakepy_init(struct fakepy *fp, unsigned major, unsigned minor)
{
	const struct py_offsets_table *t = pyoffsets_for_version(major, minor);
	const struct py_offsets *o;

	memset(fp, 0, sizeof(*fp));
	if (!t)
		abort();
	fp->cap = IMAGE_SIZE;
	fp->img = xcalloc(1, fp->cap);
	fp->used = 0x100;
	fp->rt.off = t->off;
	fp->rt.ver = (struct py_version){ major, minor, 0, 0xf, 0 };
	pyruntime_derive(&fp->rt);
	o = &fp->rt.off;
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

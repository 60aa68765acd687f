/*
 * Locating CPython in a process (see pyruntime.h).
 *
 * The interpreter lives either in the executable (static builds such as
 * Debian's python3) or in a mapped libpython (shared builds, embedding
 * applications).  Its version comes from data, never from running anything:
 * Py_Version (3.11+), _Py_DebugOffsets (3.13+), or the PY_VERSION string in
 * .rodata.  The interpreter list is reached through _PyRuntime (3.7+) or
 * interp_head (2.7, 3.6); when a stripped binary hides those symbols, the
 * binary's writable data is scanned for a word that points at something that
 * validates as an interpreter.  The scan reads a running process, whose
 * thread list may change under it, so what only looks like an interpreter
 * is kept, to be confirmed once the process is held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elffile.h"
#include "errors.h"
#include "msg.h"
#include "proc.h"
#include "pydebugoffsets.h"
#include "pyruntime.h"
#include "rmem.h"

int py_version_parse(const char *s, struct py_version *v)
{
	unsigned maj, min, mic, serial = 0;
	char lvl[3] = "";
	int n = 0;

	memset(v, 0, sizeof(*v));
	if (sscanf(s, "%u.%u.%u%n", &maj, &min, &mic, &n) != 3)
		return -EINVAL;
	s += n;
	v->level = 0xf;
	if (*s == 'a' || *s == 'b' || (s[0] == 'r' && s[1] == 'c')) {
		if (sscanf(s, "%2[abrc]%u", lvl, &serial) != 2)
			return -EINVAL;
		v->level = lvl[0] == 'a' ? 0xa : lvl[0] == 'b' ? 0xb : 0xc;
		v->serial = serial;
	}
	v->major = maj;
	v->minor = min;
	v->micro = mic;
	return maj < 256 && min < 256 && mic < 256 ? 0 : -EINVAL;
}

void py_version_format(const struct py_version *v, char *buf, size_t size)
{
	static const char *const lvl[] = { [0xa] = "a", [0xb] = "b", [0xc] = "rc" };

	if (v->level >= 0xa && v->level <= 0xc)
		snprintf(buf, size, "%u.%u.%u%s%u", v->major, v->minor, v->micro, lvl[v->level],
			 v->serial);
	else
		snprintf(buf, size, "%u.%u.%u", v->major, v->minor, v->micro);
}

static void version_from_hex(uint32_t hex, struct py_version *v)
{
	v->major = hex >> 24;
	v->minor = (hex >> 16) & 0xff;
	v->micro = (hex >> 8) & 0xff;
	v->level = (hex >> 4) & 0xf;
	v->serial = hex & 0xf;
}

/* Append the minors of tables t[0..n) of one build to buf, runs collapsed: "3.6-3.13". */
static size_t list_minors(const struct py_offsets_table *t, unsigned n, bool ft, char *buf,
			  size_t size, size_t len)
{
	bool first = true;

	for (unsigned i = 0; i < n; i++) {
		unsigned j = i, k;

		if (t[i].free_threaded != ft)
			continue;
		/* Collapse runs of consecutive minors of one major: 3.6-3.13. */
		for (k = i + 1; k < n; k++) {
			if (t[k].free_threaded != ft)
				continue;
			if (t[k].major != t[j].major || t[k].minor != t[j].minor + 1)
				break;
			j = k;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s%u.%u", first ? "" : ", ",
					t[i].major, t[i].minor);
		if (j > i)
			len += (size_t)snprintf(buf + len, size - len, "-%u.%u", t[j].major,
						t[j].minor);
		first = false;
		i = j;
	}
	return len;
}

const char *pyruntime_supported(void)
{
	static char buf[160];
	unsigned n;
	const struct py_offsets_table *t = pyoffsets_tables(&n);
	size_t len;

	if (buf[0])
		return buf;
	len = list_minors(t, n, false, buf, sizeof(buf), 0);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, " (free-threaded: ");
	len = list_minors(t, n, true, buf, sizeof(buf), len);
	snprintf(buf + len, sizeof(buf) - len, ")");
	return buf;
}

/* The symbols we look for in a candidate binary. */
enum {
	S_INIT,
	S_RUNTIME,
	S_INTERP_HEAD,
	S_VERSION,
	S_TSTATE_CURRENT,
	S_CODE_TYPE,
	S_UNICODE_TYPE,
	S_BYTES_TYPE,
	S_STRING_TYPE,
	/* for pyobj.c: types recognised by address, and singletons */
	S_LONG_TYPE,
	S_INT_TYPE,
	S_BOOL_TYPE,
	S_FLOAT_TYPE,
	S_TUPLE_TYPE,
	S_LIST_TYPE,
	S_DICT_TYPE,
	S_FROZENDICT_TYPE,
	S_SET_TYPE,
	S_FROZENSET_TYPE,
	S_CELL_TYPE,
	S_MODULE_TYPE,
	S_TYPE_TYPE,
	S_FUNCTION_TYPE,
	S_CFUNCTION_TYPE,
	S_CMETHOD_TYPE,
	S_METHOD_TYPE,
	S_CLASS27_TYPE,
	S_INSTANCE27_TYPE,
	S_STATICMETHOD_TYPE,
	S_CLASSMETHOD_TYPE,
	/* for pytasks.c: what a chain of awaits goes through */
	S_GEN_TYPE,
	S_CORO_TYPE,
	S_ASYNCGEN_TYPE,
	S_ASEND_TYPE,
	S_ATHROW_TYPE,
	S_COROWRAPPER_TYPE,
	S_WEAKREF_TYPE,
	S_NONE,
	S_TRUE,
	S_FALSE,
	S_ZERO,
	S_ELLIPSIS,
	S_NOTIMPLEMENTED,
	S_HASH_SECRET,
	S_COUNT
};

static void init_queries(struct elf_sym_query *q)
{
	static const char *const names[S_COUNT] = {
		[S_INIT] = "Py_Initialize",
		[S_RUNTIME] = "_PyRuntime",
		[S_INTERP_HEAD] = "interp_head",
		[S_VERSION] = "Py_Version",
		[S_TSTATE_CURRENT] = "_PyThreadState_Current",
		[S_CODE_TYPE] = "PyCode_Type",
		[S_UNICODE_TYPE] = "PyUnicode_Type",
		[S_BYTES_TYPE] = "PyBytes_Type",
		[S_STRING_TYPE] = "PyString_Type",
		[S_LONG_TYPE] = "PyLong_Type",
		[S_INT_TYPE] = "PyInt_Type",
		[S_BOOL_TYPE] = "PyBool_Type",
		[S_FLOAT_TYPE] = "PyFloat_Type",
		[S_TUPLE_TYPE] = "PyTuple_Type",
		[S_LIST_TYPE] = "PyList_Type",
		[S_DICT_TYPE] = "PyDict_Type",
		[S_FROZENDICT_TYPE] = "PyFrozenDict_Type",
		[S_SET_TYPE] = "PySet_Type",
		[S_FROZENSET_TYPE] = "PyFrozenSet_Type",
		[S_CELL_TYPE] = "PyCell_Type",
		[S_MODULE_TYPE] = "PyModule_Type",
		[S_TYPE_TYPE] = "PyType_Type",
		[S_FUNCTION_TYPE] = "PyFunction_Type",
		[S_CFUNCTION_TYPE] = "PyCFunction_Type",
		[S_CMETHOD_TYPE] = "PyCMethod_Type",
		[S_METHOD_TYPE] = "PyMethod_Type",
		[S_CLASS27_TYPE] = "PyClass_Type",
		[S_INSTANCE27_TYPE] = "PyInstance_Type",
		[S_STATICMETHOD_TYPE] = "PyStaticMethod_Type",
		[S_CLASSMETHOD_TYPE] = "PyClassMethod_Type",
		[S_GEN_TYPE] = "PyGen_Type",
		[S_CORO_TYPE] = "PyCoro_Type",
		[S_ASYNCGEN_TYPE] = "PyAsyncGen_Type",
		[S_ASEND_TYPE] = "_PyAsyncGenASend_Type",
		[S_ATHROW_TYPE] = "_PyAsyncGenAThrow_Type",
		[S_COROWRAPPER_TYPE] = "_PyCoroWrapper_Type",
		[S_WEAKREF_TYPE] = "_PyWeakref_RefType",
		[S_NONE] = "_Py_NoneStruct",
		[S_TRUE] = "_Py_TrueStruct",
		[S_FALSE] = "_Py_FalseStruct",
		[S_ZERO] = "_Py_ZeroStruct",
		[S_ELLIPSIS] = "_Py_EllipsisObject",
		[S_NOTIMPLEMENTED] = "_Py_NotImplementedStruct",
		[S_HASH_SECRET] = "_Py_HashSecret",
	};

	for (int i = 0; i < S_COUNT; i++)
		q[i] = (struct elf_sym_query){ .name = names[i] };
}

/*
 * The addresses pyobj.c recognises types and singletons by (never by
 * name: a class may call itself "int").  What is not found stays 0, which
 * turns that decoding off.  2.7 has PyInt_Type, and its False is
 * _Py_ZeroStruct; 3.x has neither.
 */
static void set_objects(struct pyruntime *rt, const struct elf_sym_query *q, uint64_t bias)
{
	bool py2 = rt->ver.major == 2;
	const struct {
		int sym;
		uint64_t *dst;
	} objects[] = {
		{ S_LONG_TYPE, &rt->type_long },
		{ S_INT_TYPE, py2 ? &rt->type_int : NULL },
		{ S_BOOL_TYPE, &rt->type_bool },
		{ S_FLOAT_TYPE, &rt->type_float },
		{ S_TUPLE_TYPE, &rt->type_tuple },
		{ S_LIST_TYPE, &rt->type_list },
		{ S_DICT_TYPE, &rt->type_dict },
		{ S_FROZENDICT_TYPE, &rt->type_frozendict },
		{ S_SET_TYPE, &rt->type_set },
		{ S_FROZENSET_TYPE, &rt->type_frozenset },
		{ S_CELL_TYPE, &rt->type_cell },
		{ S_MODULE_TYPE, &rt->type_module },
		{ S_TYPE_TYPE, &rt->type_type },
		{ S_FUNCTION_TYPE, &rt->type_function },
		{ S_CFUNCTION_TYPE, &rt->type_cfunction },
		{ S_CMETHOD_TYPE, &rt->type_cmethod },
		{ S_METHOD_TYPE, &rt->type_method },
		{ S_CLASS27_TYPE, py2 ? &rt->type_class27 : NULL },
		{ S_INSTANCE27_TYPE, py2 ? &rt->type_instance27 : NULL },
		{ S_STATICMETHOD_TYPE, &rt->type_staticmethod },
		{ S_CLASSMETHOD_TYPE, &rt->type_classmethod },
		{ S_GEN_TYPE, &rt->type_gen },
		{ S_CORO_TYPE, &rt->type_coro },
		{ S_ASYNCGEN_TYPE, &rt->type_asyncgen },
		{ S_ASEND_TYPE, &rt->type_asend },
		{ S_ATHROW_TYPE, &rt->type_athrow },
		{ S_COROWRAPPER_TYPE, &rt->type_corowrapper },
		{ S_WEAKREF_TYPE, &rt->type_weakref },
		{ S_NONE, &rt->obj_none },
		{ S_TRUE, &rt->obj_true },
		{ py2 ? S_ZERO : S_FALSE, &rt->obj_false },
		{ S_ELLIPSIS, &rt->obj_ellipsis },
		{ S_NOTIMPLEMENTED, &rt->obj_notimplemented },
		{ S_HASH_SECRET, &rt->hash_secret },
	};

	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (objects[i].dst && q[objects[i].sym].found)
			*objects[i].dst = bias + q[objects[i].sym].value;
}

/* "X.Y" from a file name such as libpython3.9.so.1.0 or python2.7; false if none. */
static bool version_hint(const char *path, unsigned *maj, unsigned *min)
{
	const char *base = strrchr(path, '/');
	const char *p;

	base = base ? base + 1 : path;
	p = strstr(base, "python");
	return p && sscanf(p + 6, "%u.%u", maj, min) == 2;
}

/* Whether s (within end) is a whole PY_VERSION string "X.Y.Z[lvlN][+]". */
static bool parse_version_at(const char *s, const char *end, const char *start,
			     struct py_version *v)
{
	const char *nul = memchr(s, '\0', (size_t)(end - s));
	char tmp[24];

	if (s > start && ((s[-1] >= '0' && s[-1] <= '9') || s[-1] == '.'))
		return false;
	if (!nul || nul - s >= (long)sizeof(tmp) || nul - s < 5)
		return false;
	memcpy(tmp, s, (size_t)(nul - s));
	tmp[nul - s] = '\0';
	if (tmp[nul - s - 1] == '+')
		tmp[nul - s - 1] = '\0';
	for (const char *c = tmp; *c; c++)
		if (!strchr("0123456789.abrc", *c))
			return false;
	return py_version_parse(tmp, v) == 0;
}

/*
 * Find PY_VERSION in .rodata.  With a hint from the file name only that
 * minor is searched; otherwise every supported minor, preferring the newest
 * (a static binary may hold other version-like strings, say "3.2.0").
 */
/* Search [ro, ro + size) for the PY_VERSION of a supported minor (or just hint). */
static bool find_version(const char *ro, uint64_t size, const unsigned *hint, struct py_version *v)
{
	unsigned n;
	const struct py_offsets_table *t = pyoffsets_tables(&n);

	for (unsigned i = n; i-- > 0;) {
		char needle[16];
		const char *s = ro, *end = ro + size;

		if (hint && (t[i].major != hint[0] || t[i].minor != hint[1]))
			continue;
		snprintf(needle, sizeof(needle), "%u.%u.", t[i].major, t[i].minor);
		while ((s = memmem(s, (size_t)(end - s), needle, strlen(needle)))) {
			if (parse_version_at(s, end, ro, v) && v->major == t[i].major &&
			    v->minor == t[i].minor)
				return true;
			s++;
		}
	}
	return false;
}

/*
 * Find PY_VERSION in .rodata (or, without section headers, in the read-only
 * segments).  With a hint from the file name only that minor is searched;
 * otherwise every supported minor, preferring the newest (a static binary
 * may hold other version-like strings, say "3.2.0").
 */
static int version_from_rodata(struct elffile *ef, const unsigned *hint, struct py_version *v)
{
	uint64_t addr, size;
	const char *ro;

	if (!elffile_section(ef, ".rodata", &addr, &size)) {
		ro = elffile_bytes(ef, addr, size);
		return ro && find_version(ro, size, hint, v) ? 0 : -ENOENT;
	}
	for (size_t i = 0; !elffile_ro_segment(ef, i, &addr, &size); i++) {
		ro = elffile_bytes(ef, addr, size);
		if (ro && find_version(ro, size, hint, v))
			return 0;
	}
	return -ENOENT;
}

/* Is p the address of a dict?  Checked by its type's name. */
static bool is_dict(struct rmem *m, const struct py_offsets *o, uint64_t p)
{
	uint64_t type, name;
	char buf[8];
	bool trunc;

	if (!p || rmem_read_u64(m, p + o->object_type, &type) ||
	    rmem_read_u64(m, type + o->type_name, &name))
		return false;
	return rmem_read_cstr(m, name, buf, 5, &trunc) == 4 && !strcmp(buf, "dict");
}

/* Whether p lies in writable memory of maps (always, without maps). */
static bool writable(const struct maps *maps, uint64_t p)
{
	const struct map *mp = maps ? maps_find(maps, p) : NULL;

	return !maps || (mp && mp->w);
}

/*
 * Does p look like a PyInterpreterState by the fields that stay put while
 * it lives: its sys and builtins dicts?  With maps, the dicts must lie in
 * its writable memory, which spares reading through most words that are
 * no interpreter's.
 */
static bool interp_shaped(struct rmem *m, const struct maps *maps, const struct py_offsets *o,
			  uint64_t p)
{
	uint64_t sysdict, builtins;

	return p && p % 8 == 0 && !rmem_read_u64(m, p + o->interp_sysdict, &sysdict) &&
	       writable(maps, sysdict) && !rmem_read_u64(m, p + o->interp_builtins, &builtins) &&
	       writable(maps, builtins) && is_dict(m, o, sysdict) && is_dict(m, o, builtins);
}

/*
 * Is interpreter p live: does its first thread state point back at it?
 * Read from a running process the answer may be a false no: the thread
 * state read first can be freed, or the head replaced, before the second
 * read (threads come and go all the time).
 */
static bool interp_live(struct rmem *m, const struct py_offsets *o, uint64_t p)
{
	uint64_t tstate, back;

	return !rmem_read_u64(m, p + o->interp_tstate_head, &tstate) && tstate &&
	       !rmem_read_u64(m, tstate + o->tstate_interp, &back) && back == p;
}

enum candidate { NOT_INTERP, SHAPED, LIVE };

/*
 * What the word at addr, holding p, points at: no interpreter, one by its
 * shape only, or a live one.  With a runtime (3.7+) the word must be
 * _PyRuntime.interpreters.head, and interpreters.main beside it is judged
 * too.
 */
static enum candidate judge(struct rmem *m, const struct maps *maps, const struct pyruntime *rt,
			    uint64_t addr, uint64_t p)
{
	const struct py_offsets *o = &rt->off;
	uint64_t main_interp;
	bool live;

	if (!interp_shaped(m, maps, o, p))
		return NOT_INTERP;
	live = interp_live(m, o, p);
	if (rt->vkey >= PY_VER(3, 7)) {
		if (rmem_read_u64(m, addr - o->runtime_interpreters_head + o->runtime_interpreters_main,
				  &main_interp) || !interp_shaped(m, maps, o, main_interp))
			return NOT_INTERP;
		live = live && interp_live(m, o, main_interp);
	}
	return live ? LIVE : SHAPED;
}

/* Take n words as rt's heads; with a runtime, _PyRuntime is where the first lies. */
static void set_heads(struct pyruntime *rt, const uint64_t *words, size_t n, bool unconfirmed)
{
	memcpy(rt->heads, words, n * sizeof(*words));
	rt->nheads = n;
	rt->heads_unconfirmed = unconfirmed;
	if (n && rt->vkey >= PY_VER(3, 7))
		rt->runtime = words[0] - rt->off.runtime_interpreters_head;
}

/*
 * Scan the binary's writable data for words pointing at an interpreter.
 * The live ones are the heads; without any, the ones of its shape are,
 * unconfirmed (see pyruntime_confirm()): the process runs while it is
 * scanned, and a live interpreter may have looked dead.
 */
static int scan_for_heads(struct rmem *m, const struct maps *maps, struct elffile *ef,
			  uint64_t bias, struct pyruntime *rt)
{
	uint64_t lo, hi, live[PYRT_MAX_HEADS], shaped[PYRT_MAX_HEADS];
	size_t nlive = 0, nshaped = 0, dropped = 0;
	enum { CHUNK = 64 * 1024 };
	uint64_t *buf;

	if (elffile_rw_range(ef, &lo, &hi))
		return -ENOENT;
	lo = (lo + bias + 7) & ~(uint64_t)7;
	hi += bias;
	buf = xmalloc(CHUNK);
	for (uint64_t a = lo; a < hi && nlive < PYRT_MAX_HEADS; a += CHUNK) {
		size_t len = hi - a < CHUNK ? (size_t)(hi - a) & ~(size_t)7 : CHUNK;

		if (rmem_read(m, a, buf, len))
			continue;
		for (size_t i = 0; i < len / 8 && nlive < PYRT_MAX_HEADS; i++) {
			uint64_t p = buf[i], word = a + 8 * i;
			const struct map *mp = maps_find(maps, p);
			enum candidate c;

			if (!mp || !mp->w || p % 8)
				continue;
			c = judge(m, maps, rt, word, p);
			/* The cache may hold the thread list as it was a while ago. */
			if (c == SHAPED) {
				rmem_invalidate(m);
				c = judge(m, maps, rt, word, p);
			}
			switch (c) {
			case LIVE:
				live[nlive++] = word;
				break;
			case SHAPED:
				if (nshaped < PYRT_MAX_HEADS)
					shaped[nshaped++] = word;
				else
					dropped++;
				break;
			case NOT_INTERP:
				break;
			}
		}
	}
	free(buf);
	if (nlive)
		set_heads(rt, live, nlive, false);
	else
		set_heads(rt, shaped, nshaped, true);
	if (dropped && !nlive)
		debug_msg("%s: %zu more words point at what looks like an interpreter; the first %d "
			  "are kept", rt->binary, dropped, PYRT_MAX_HEADS);
	return rt->nheads ? 0 : -ENOENT;
}

int pyruntime_confirm(struct rmem *m, struct pyruntime *rt)
{
	uint64_t live[PYRT_MAX_HEADS];
	size_t n = 0;

	for (size_t k = 0; k < rt->nheads; k++) {
		uint64_t p;
		int err = rmem_read_u64(m, rt->heads[k], &p);

		if (err == -PS_E_GONE || err == -EPERM)
			return err;
		if (!err && judge(m, NULL, rt, rt->heads[k], p) == LIVE)
			live[n++] = rt->heads[k];
	}
	if (!n)
		return -PS_E_NO_INTERP;
	debug_msg("%s: %zu of the %zu interpreter lists the scan found confirmed", rt->binary, n,
		  rt->nheads);
	set_heads(rt, live, n, false);
	return 0;
}

/*
 * Choose the layout for rt->ver: the generated table of its build, then,
 * from 3.13 on, every field the interpreter publishes of itself.  Which
 * build it is (free-threaded or not) only the interpreter says.
 */
static int choose_layout(struct rmem *m, struct pyruntime *rt, char *detail, size_t ndetail)
{
	const struct py_offsets_table *t;
	unsigned char dbg[PYDEBUG_MAX_BYTES];
	char why[200];
	unsigned hex, differ;
	bool have = false;
	int err = 0;

	if (rt->vkey >= PY_VER(3, 13) && rt->runtime) {
		err = rmem_read(m, rt->runtime, dbg, sizeof(dbg));
		if (err == -PS_E_GONE || err == -EPERM)
			return err;
		have = !err && !pydebug_peek(dbg, sizeof(dbg), &hex, &rt->free_threaded);
		if (!have)
			debug_msg("%s: no _Py_DebugOffsets at _PyRuntime (%s)", rt->binary,
				  err ? ps_strerror(err) : "no cookie");
	}
	t = pyoffsets_for_version(rt->ver.major, rt->ver.minor, rt->free_threaded);
	if (!t) {
		snprintf(detail, ndetail, "Python %s%s is not supported by this build of pystack, "
			 "which reads %s: use a newer pystack", rt->version,
			 rt->free_threaded ? " (free-threaded)" : "", pyruntime_supported());
		return -PS_E_UNSUPPORTED;
	}
	rt->off = t->off;
	snprintf(rt->layout, sizeof(rt->layout), "generated from %s", t->source);
	if (!have)
		return 0;
	err = pydebug_import(dbg, sizeof(dbg), &rt->ver, &rt->off, &differ, why, sizeof(why));
	if (err == -PS_E_UNSUPPORTED) {
		snprintf(detail, ndetail, "Python %s: %s; use a release of it, or a pystack that "
			 "knows it", rt->version, why);
		return err;
	}
	if (err) {
		debug_msg("%s; using the layout %s", why, rt->layout);
		return 0;
	}
	if (differ)
		debug_msg("%s: %u fields of its _Py_DebugOffsets differ from the table %s (the "
			  "interpreter's are used)", rt->binary, differ, rt->layout);
	snprintf(rt->layout, sizeof(rt->layout), "_Py_DebugOffsets of the target, then %s",
		 t->source);
	return 0;
}

void pyruntime_derive(struct pyruntime *rt)
{
	py_version_format(&rt->ver, rt->version, sizeof(rt->version));
	rt->vkey = PY_VER(rt->ver.major, rt->ver.minor);
	if (rt->vkey < PY_VER(3, 0))
		rt->line_format = PYLINE_LNOTAB_UNSIGNED;
	else if (rt->vkey < PY_VER(3, 10))
		rt->line_format = PYLINE_LNOTAB;
	else if (rt->vkey < PY_VER(3, 11))
		rt->line_format = PYLINE_LINETABLE_310;
	else
		rt->line_format = PYLINE_LOCATIONS;
}

/*
 * Examine one mapped binary.  Returns 1 when it holds the interpreter (rt
 * filled), 0 when it does not, or a negative error.
 */
static int examine(pid_t pid, const struct maps *maps, const struct map *mp, struct rmem *m,
		   struct pyruntime *rt, char *detail, size_t ndetail)
{
	struct elf_sym_query q[S_COUNT];
	struct elffile *ef;
	uint64_t bias, sec, secsize;
	unsigned hint[2];
	bool have_hint;
	int err;

	err = elffile_open_mapped(pid, maps, mp, m, &ef);
	if (err == -PS_E_GONE || err == -EPERM)
		return err;
	if (err)
		return 0;
	init_queries(q);
	elffile_lookup(ef, q, S_COUNT, false);
	if (!q[S_INIT].found && !q[S_RUNTIME].found) {
		elffile_free(ef);
		return 0;
	}
	/* interp_head (2.7, 3.6) is static: only .symtab has it, if anything. */
	if (!q[S_RUNTIME].found && !q[S_VERSION].found)
		elffile_lookup(ef, q, S_COUNT, true);

	if (elffile_bias(ef, mp->start, mp->offset, &bias)) {
		elffile_free(ef);
		return 0;
	}
	rt->binary = xstrdup(mp->path);
	rt->shared = elffile_is_library(ef);
	rt->stripped = !elffile_has_symtab(ef);
	if (elffile_from_memory(ef))
		debug_msg("%s cannot be opened (deleted or replaced?): read from memory", mp->path);

	have_hint = version_hint(mp->path, &hint[0], &hint[1]);
	if (q[S_VERSION].found && q[S_VERSION].size >= 4 && elffile_bytes(ef, q[S_VERSION].value, 4)) {
		uint32_t hex;

		memcpy(&hex, elffile_bytes(ef, q[S_VERSION].value, 4), 4);
		version_from_hex(hex, &rt->ver);
	} else if (version_from_rodata(ef, have_hint ? hint : NULL, &rt->ver) &&
		   (!have_hint || version_from_rodata(ef, NULL, &rt->ver))) {
		snprintf(detail, ndetail, "%s holds a Python interpreter of a version pystack "
			 "cannot tell (supported: %s)", mp->path, pyruntime_supported());
		elffile_free(ef);
		return -PS_E_UNSUPPORTED;
	}
	pyruntime_derive(rt);

	if (q[S_RUNTIME].found)
		rt->runtime = bias + q[S_RUNTIME].value;
	else if (rt->vkey >= PY_VER(3, 7) && !elffile_section(ef, ".PyRuntime", &sec, &secsize))
		rt->runtime = bias + sec;
	if (q[S_TSTATE_CURRENT].found)
		rt->tstate_current = bias + q[S_TSTATE_CURRENT].value;
	if (q[S_CODE_TYPE].found)
		rt->type_code = bias + q[S_CODE_TYPE].value;
	if (q[S_UNICODE_TYPE].found)
		rt->type_unicode = bias + q[S_UNICODE_TYPE].value;
	if (rt->ver.major == 2 ? q[S_STRING_TYPE].found : q[S_BYTES_TYPE].found)
		rt->type_bytes = bias + q[rt->ver.major == 2 ? S_STRING_TYPE : S_BYTES_TYPE].value;
	set_objects(rt, q, bias);

	err = choose_layout(m, rt, detail, ndetail);
	if (err) {
		elffile_free(ef);
		return err;
	}
	if (rt->runtime) {
		rt->heads[rt->nheads++] = rt->runtime + rt->off.runtime_interpreters_head;
		snprintf(rt->found_by, sizeof(rt->found_by), "%s",
			 q[S_RUNTIME].found ? "symbol _PyRuntime" : "section .PyRuntime");
	} else if (q[S_INTERP_HEAD].found) {
		rt->heads[rt->nheads++] = bias + q[S_INTERP_HEAD].value;
		snprintf(rt->found_by, sizeof(rt->found_by), "symbol interp_head");
	} else {
		err = scan_for_heads(m, maps, ef, bias, rt);
		if (err == -PS_E_GONE || err == -EPERM) {
			elffile_free(ef);
			return err;
		}
		if (err) {
			snprintf(detail, ndetail, "found Python %s in %s, but no initialised "
				 "interpreter in its data", rt->version, mp->path);
			elffile_free(ef);
			return -PS_E_NO_INTERP;
		}
		snprintf(rt->found_by, sizeof(rt->found_by), "scan of the writable data (%zu candidate%s%s)",
			 rt->nheads, rt->nheads == 1 ? "" : "s",
			 rt->heads_unconfirmed ? ", to be confirmed" : "");
	}
	elffile_free(ef);
	return 1;
}

/* Whether mapping i is the first of its file (one candidate per file). */
static bool first_of_file(const struct maps *maps, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (maps->v[k].inode == maps->v[i].inode && maps->v[k].path &&
		    !strcmp(maps->v[k].path, maps->v[i].path))
			return false;
	return true;
}

static bool is_libpython(const char *path)
{
	const char *base = strrchr(path, '/');

	return !strncmp(base ? base + 1 : path, "libpython", 9);
}

int pyruntime_locate(pid_t pid, const char *exe, const struct maps *maps, struct rmem *m,
		     struct pyruntime *out, char *detail, size_t ndetail)
{
	char *own = exe ? NULL : proc_exe(pid);
	int err = 0;

	if (!exe)
		exe = own;
	memset(out, 0, sizeof(*out));
	detail[0] = '\0';
	/*
	 * Pass 0: the executable (static builds); pass 1: libpython; pass 2:
	 * every other mapped file, for interpreters embedded under other names.
	 */
	for (int pass = 0; pass < 3 && err == 0; pass++) {
		for (size_t i = 0; i < maps->n && err == 0; i++) {
			const struct map *mp = &maps->v[i];
			bool exe_match, lib;

			if (!mp->path || mp->path[0] != '/' || !first_of_file(maps, i))
				continue;
			exe_match = exe && !strcmp(exe, mp->path);
			lib = is_libpython(mp->path);
			if ((pass == 0 && !exe_match) || (pass == 1 && !lib) ||
			    (pass == 2 && (exe_match || lib)))
				continue;
			err = examine(pid, maps, mp, m, out, detail, ndetail);
			if (err == 0)
				pyruntime_free(out);
		}
	}
	free(own);
	if (err == 1)
		return 0;
	if (err == 0) {
		snprintf(detail, ndetail, "no CPython interpreter found in its memory maps");
		return -PS_E_NOT_PYTHON;
	}
	pyruntime_free(out);
	return err;
}

void pyruntime_free(struct pyruntime *rt)
{
	free(rt->binary);
	memset(rt, 0, sizeof(*rt));
}

/*
 * Importing the layout a CPython 3.13+ interpreter publishes of itself
 * (see pydebugoffsets.h).
 *
 * Each _Py_DebugOffsets layout this build knows is a list of the names of
 * its 64-bit words, in order, as the interpreter's headers declare them;
 * the import table says which of those words pystack takes, into which
 * field of struct py_offsets, and which struct's size bounds it.  A new
 * layout is a new list (and the release it starts from), not new code.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "pydebugoffsets.h"
#include "pyoffsets.h"
#include "pyruntime.h"

#define COOKIE		"xdebugpy"
/* Sizes larger than these are not a real interpreter's. */
#define MAX_STRUCT	(16u << 20)

/* 3.13.15, Include/internal/pycore_runtime.h */
static const char *const layout_313[] = {
	"cookie", "version", "free_threaded", "runtime_state.size", "runtime_state.finalizing",
	"runtime_state.interpreters_head", "interpreter_state.size", "interpreter_state.id",
	"interpreter_state.next", "interpreter_state.threads_head", "interpreter_state.gc",
	"interpreter_state.imports_modules", "interpreter_state.sysdict",
	"interpreter_state.builtins", "interpreter_state.ceval_gil",
	"interpreter_state.gil_runtime_state", "interpreter_state.gil_runtime_state_enabled",
	"interpreter_state.gil_runtime_state_locked",
	"interpreter_state.gil_runtime_state_holder", "thread_state.size", "thread_state.prev",
	"thread_state.next", "thread_state.interp", "thread_state.current_frame",
	"thread_state.thread_id", "thread_state.native_thread_id",
	"thread_state.datastack_chunk", "thread_state.status", "interpreter_frame.size",
	"interpreter_frame.previous", "interpreter_frame.executable",
	"interpreter_frame.instr_ptr", "interpreter_frame.localsplus",
	"interpreter_frame.owner", "code_object.size", "code_object.filename",
	"code_object.name", "code_object.qualname", "code_object.linetable",
	"code_object.firstlineno", "code_object.argcount", "code_object.localsplusnames",
	"code_object.localspluskinds", "code_object.co_code_adaptive", "pyobject.size",
	"pyobject.ob_type", "type_object.size", "type_object.tp_name", "type_object.tp_repr",
	"type_object.tp_flags", "tuple_object.size", "tuple_object.ob_item",
	"tuple_object.ob_size", "list_object.size", "list_object.ob_item",
	"list_object.ob_size", "dict_object.size", "dict_object.ma_keys",
	"dict_object.ma_values", "float_object.size", "float_object.ob_fval",
	"long_object.size", "long_object.lv_tag", "long_object.ob_digit", "bytes_object.size",
	"bytes_object.ob_size", "bytes_object.ob_sval", "unicode_object.size",
	"unicode_object.state", "unicode_object.length", "unicode_object.asciiobject_size",
	"gc.size", "gc.collecting",
};

/* 3.14.7, Include/internal/pycore_debug_offsets.h */
static const char *const layout_314[] = {
	"cookie", "version", "free_threaded", "runtime_state.size", "runtime_state.finalizing",
	"runtime_state.interpreters_head", "interpreter_state.size", "interpreter_state.id",
	"interpreter_state.next", "interpreter_state.threads_head",
	"interpreter_state.threads_main", "interpreter_state.gc",
	"interpreter_state.imports_modules", "interpreter_state.sysdict",
	"interpreter_state.builtins", "interpreter_state.ceval_gil",
	"interpreter_state.gil_runtime_state", "interpreter_state.gil_runtime_state_enabled",
	"interpreter_state.gil_runtime_state_locked",
	"interpreter_state.gil_runtime_state_holder",
	"interpreter_state.code_object_generation", "interpreter_state.tlbc_generation",
	"thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
	"thread_state.current_frame", "thread_state.thread_id",
	"thread_state.native_thread_id", "thread_state.datastack_chunk", "thread_state.status",
	"interpreter_frame.size", "interpreter_frame.previous", "interpreter_frame.executable",
	"interpreter_frame.instr_ptr", "interpreter_frame.localsplus",
	"interpreter_frame.owner", "interpreter_frame.stackpointer",
	"interpreter_frame.tlbc_index", "code_object.size", "code_object.filename",
	"code_object.name", "code_object.qualname", "code_object.linetable",
	"code_object.firstlineno", "code_object.argcount", "code_object.localsplusnames",
	"code_object.localspluskinds", "code_object.co_code_adaptive", "code_object.co_tlbc",
	"pyobject.size", "pyobject.ob_type", "type_object.size", "type_object.tp_name",
	"type_object.tp_repr", "type_object.tp_flags", "tuple_object.size",
	"tuple_object.ob_item", "tuple_object.ob_size", "list_object.size",
	"list_object.ob_item", "list_object.ob_size", "set_object.size", "set_object.used",
	"set_object.table", "set_object.mask", "dict_object.size", "dict_object.ma_keys",
	"dict_object.ma_values", "float_object.size", "float_object.ob_fval",
	"long_object.size", "long_object.lv_tag", "long_object.ob_digit", "bytes_object.size",
	"bytes_object.ob_size", "bytes_object.ob_sval", "unicode_object.size",
	"unicode_object.state", "unicode_object.length", "unicode_object.asciiobject_size",
	"gc.size", "gc.collecting", "gen_object.size", "gen_object.gi_name",
	"gen_object.gi_iframe", "gen_object.gi_frame_state", "llist_node.next",
	"llist_node.prev", "debugger_support.eval_breaker",
	"debugger_support.remote_debugger_support",
	"debugger_support.remote_debugging_enabled", "debugger_support.debugger_pending_call",
	"debugger_support.debugger_script_path", "debugger_support.debugger_script_path_size",
};

/* 3.15.0rc1, Include/internal/pycore_debug_offsets.h */
static const char *const layout_315[] = {
	"cookie", "version", "free_threaded", "runtime_state.size", "runtime_state.finalizing",
	"runtime_state.interpreters_head", "interpreter_state.size", "interpreter_state.id",
	"interpreter_state.next", "interpreter_state.threads_head",
	"interpreter_state.threads_main", "interpreter_state.gc",
	"interpreter_state.imports_modules", "interpreter_state.sysdict",
	"interpreter_state.builtins", "interpreter_state.ceval_gil",
	"interpreter_state.gil_runtime_state", "interpreter_state.gil_runtime_state_enabled",
	"interpreter_state.gil_runtime_state_locked",
	"interpreter_state.gil_runtime_state_holder",
	"interpreter_state.code_object_generation", "interpreter_state.tlbc_generation",
	"thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
	"thread_state.current_frame", "thread_state.base_frame",
	"thread_state.last_profiled_frame", "thread_state.last_profiled_frame_seq",
	"thread_state.thread_id", "thread_state.native_thread_id",
	"thread_state.datastack_chunk", "thread_state.status", "thread_state.holds_gil",
	"thread_state.gil_requested", "thread_state.current_exception",
	"thread_state.exc_state", "err_stackitem.exc_value", "interpreter_frame.size",
	"interpreter_frame.previous", "interpreter_frame.executable",
	"interpreter_frame.instr_ptr", "interpreter_frame.localsplus",
	"interpreter_frame.owner", "interpreter_frame.stackpointer",
	"interpreter_frame.tlbc_index", "code_object.size", "code_object.filename",
	"code_object.name", "code_object.qualname", "code_object.linetable",
	"code_object.firstlineno", "code_object.argcount", "code_object.localsplusnames",
	"code_object.localspluskinds", "code_object.co_code_adaptive", "code_object.co_tlbc",
	"pyobject.size", "pyobject.ob_type", "type_object.size", "type_object.tp_name",
	"type_object.tp_repr", "type_object.tp_flags", "type_object.tp_basicsize",
	"type_object.tp_dictoffset", "heap_type_object.size",
	"heap_type_object.ht_cached_keys", "tuple_object.size", "tuple_object.ob_item",
	"tuple_object.ob_size", "list_object.size", "list_object.ob_item",
	"list_object.ob_size", "set_object.size", "set_object.used", "set_object.table",
	"set_object.mask", "dict_object.size", "dict_object.ma_keys", "dict_object.ma_values",
	"float_object.size", "float_object.ob_fval", "long_object.size", "long_object.lv_tag",
	"long_object.ob_digit", "bytes_object.size", "bytes_object.ob_size",
	"bytes_object.ob_sval", "unicode_object.size", "unicode_object.state",
	"unicode_object.length", "unicode_object.asciiobject_size",
	"unicode_object.compactunicodeobject_size", "gc.size", "gc.collecting", "gc.frame",
	"gc.generation_stats_size", "gc.generation_stats", "gen_object.size",
	"gen_object.gi_name", "gen_object.gi_iframe", "gen_object.gi_frame_state",
	"llist_node.next", "llist_node.prev", "debugger_support.eval_breaker",
	"debugger_support.remote_debugger_support",
	"debugger_support.remote_debugging_enabled", "debugger_support.debugger_pending_call",
	"debugger_support.debugger_script_path", "debugger_support.debugger_script_path_size",
};

/*
 * Which layout a version has, from the release it first appeared in.
 * Pre-releases before that had others, which this build does not know.
 */
static const struct layout {
	unsigned minor;
	unsigned since;			/* PY_VERSION_HEX of the first release with it */
	const char *since_text;
	const char *const *names;
	size_t count;
} layouts[] = {
#define L(minor, since, text, v) { minor, since, text, v, sizeof(v) / sizeof(v[0]) }
	L(13, 0x030d0000, "3.13.0a0", layout_313),
	L(14, 0x030e00c1, "3.14.0rc1", layout_314),
	L(15, 0x030f00c1, "3.15.0rc1", layout_315),
#undef L
};

enum kind {
	OFFSET,		/* an offset inside the struct whose size is named */
	SIZE,		/* the size of a struct */
	WITHIN,		/* a size no larger than the struct named (PyASCIIObject in a str) */
	THREADED,	/* an offset, only in a free-threaded build (0 in the others) */
};

/* The words pystack takes, and where they go. */
static const struct import {
	const char *name;
	size_t dst;
	enum kind kind;
	const char *bound;	/* the size word that bounds it */
} imports[] = {
#define O(name, field, bound) { name, offsetof(struct py_offsets, field), OFFSET, bound }
#define S(name, field) { name, offsetof(struct py_offsets, field), SIZE, NULL }
#define W(name, field, bound) { name, offsetof(struct py_offsets, field), WITHIN, bound }
#define T(name, field, bound) { name, offsetof(struct py_offsets, field), THREADED, bound }
	S("runtime_state.size", runtime_size),
	O("runtime_state.interpreters_head", runtime_interpreters_head, "runtime_state.size"),
	S("interpreter_state.size", interp_size),
	O("interpreter_state.id", interp_id, "interpreter_state.size"),
	O("interpreter_state.next", interp_next, "interpreter_state.size"),
	O("interpreter_state.threads_head", interp_tstate_head, "interpreter_state.size"),
	O("interpreter_state.gc", interp_gc, "interpreter_state.size"),
	O("interpreter_state.imports_modules", interp_modules, "interpreter_state.size"),
	O("interpreter_state.sysdict", interp_sysdict, "interpreter_state.size"),
	O("interpreter_state.builtins", interp_builtins, "interpreter_state.size"),
	O("interpreter_state.ceval_gil", interp_gil, "interpreter_state.size"),
	S("thread_state.size", tstate_size),
	O("thread_state.next", tstate_next, "thread_state.size"),
	O("thread_state.interp", tstate_interp, "thread_state.size"),
	O("thread_state.current_frame", tstate_frame, "thread_state.size"),
	O("thread_state.base_frame", tstate_base_frame, "thread_state.size"),
	O("thread_state.thread_id", tstate_thread_id, "thread_state.size"),
	O("thread_state.native_thread_id", tstate_native_thread_id, "thread_state.size"),
	S("interpreter_frame.size", iframe_size),
	O("interpreter_frame.previous", iframe_previous, "interpreter_frame.size"),
	O("interpreter_frame.executable", iframe_code, "interpreter_frame.size"),
	O("interpreter_frame.instr_ptr", iframe_instr, "interpreter_frame.size"),
	O("interpreter_frame.localsplus", iframe_localsplus, "interpreter_frame.size"),
	O("interpreter_frame.owner", iframe_owner, "interpreter_frame.size"),
	T("interpreter_frame.tlbc_index", iframe_tlbc_index, "interpreter_frame.size"),
	S("code_object.size", code_size),
	O("code_object.filename", code_filename, "code_object.size"),
	O("code_object.name", code_name, "code_object.size"),
	O("code_object.qualname", code_qualname, "code_object.size"),
	O("code_object.linetable", code_linetable, "code_object.size"),
	O("code_object.firstlineno", code_firstlineno, "code_object.size"),
	O("code_object.argcount", code_argcount, "code_object.size"),
	O("code_object.localsplusnames", code_localsplusnames, "code_object.size"),
	O("code_object.localspluskinds", code_localspluskinds, "code_object.size"),
	O("code_object.co_code_adaptive", code_adaptive, "code_object.size"),
	T("code_object.co_tlbc", code_tlbc, "code_object.size"),
	O("pyobject.ob_type", object_type, "pyobject.size"),
	O("type_object.tp_name", type_name, "type_object.size"),
	O("type_object.tp_flags", type_flags, "type_object.size"),
	O("type_object.tp_basicsize", type_basicsize, "type_object.size"),
	O("type_object.tp_dictoffset", type_dictoffset, "type_object.size"),
	O("heap_type_object.ht_cached_keys", heaptype_cached_keys, "heap_type_object.size"),
	O("tuple_object.ob_item", tuple_item, "tuple_object.size"),
	O("tuple_object.ob_size", varobject_size, "tuple_object.size"),
	O("list_object.ob_item", list_item, "list_object.size"),
	O("set_object.used", set_used, "set_object.size"),
	O("set_object.table", set_table, "set_object.size"),
	O("set_object.mask", set_mask, "set_object.size"),
	O("dict_object.ma_keys", dict_keys, "dict_object.size"),
	O("dict_object.ma_values", dict_values, "dict_object.size"),
	O("float_object.ob_fval", float_value, "float_object.size"),
	O("long_object.lv_tag", long_tag, "long_object.size"),
	O("long_object.ob_digit", long_digits, "long_object.size"),
	O("bytes_object.ob_sval", bytes_sval, "bytes_object.size"),
	O("unicode_object.state", unicode_state, "unicode_object.size"),
	O("unicode_object.length", unicode_length, "unicode_object.size"),
	W("unicode_object.asciiobject_size", unicode_ascii_size, "unicode_object.size"),
	W("unicode_object.compactunicodeobject_size", unicode_compact_size, "unicode_object.size"),
	O("gc.collecting", gc_collecting, "gc.size"),
#undef O
#undef S
#undef W
#undef T
};

static const struct layout *layout_of(unsigned hex)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == (hex >> 16 & 0xff) && hex >> 24 == 3)
			return &layouts[i];
	return NULL;
}

/* The index of name in layout l, or -1. */
static long index_of(const struct layout *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (!strcmp(l->names[i], name))
			return (long)i;
	return -1;
}

const char *const *pydebug_layout(unsigned hexversion, size_t *count)
{
	const struct layout *l = layout_of(hexversion);

	*count = l ? l->count : 0;
	return l && hexversion >= l->since ? l->names : NULL;
}

int pydebug_peek(const void *buf, size_t len, unsigned *hexversion, bool *free_threaded)
{
	uint64_t w[3];

	if (len < sizeof(w) || memcmp(buf, COOKIE, 8))
		return -PS_E_BAD_DATA;
	memcpy(w, buf, sizeof(w));
	if (w[1] > UINT32_MAX || w[2] > 1)
		return -PS_E_BAD_DATA;
	*hexversion = (unsigned)w[1];
	*free_threaded = w[2] != 0;
	return 0;
}

/* Word name of image v (laid out as l), or *ok = false when l has none. */
static uint64_t word(const struct layout *l, const uint64_t *v, const char *name, bool *ok)
{
	long i = index_of(l, name);

	*ok = i >= 0;
	return i >= 0 ? v[i] : 0;
}

/*
 * The GIL's locked and holder words are offsets in the interpreter; ours are
 * inside the GIL struct.  Its enabled word (free-threaded builds) is already
 * an offset inside the GIL struct.
 */
static int import_gil(const struct layout *l, const uint64_t *v, bool ft, struct py_offsets *out,
		      char *why, size_t nwhy)
{
	bool ok[5];
	uint64_t interp = word(l, v, "interpreter_state.size", &ok[0]);
	uint64_t gil = word(l, v, "interpreter_state.gil_runtime_state", &ok[1]);
	uint64_t locked = word(l, v, "interpreter_state.gil_runtime_state_locked", &ok[2]);
	uint64_t holder = word(l, v, "interpreter_state.gil_runtime_state_holder", &ok[3]);
	uint64_t enabled = word(l, v, "interpreter_state.gil_runtime_state_enabled", &ok[4]);

	if (!ok[0] || !ok[1] || !ok[2] || !ok[3])
		return 0;
	if (locked < gil || holder < gil || locked >= interp || holder >= interp ||
	    (ft && ok[4] && enabled >= interp - gil)) {
		snprintf(why, nwhy, "_Py_DebugOffsets GIL fields are out of bounds");
		return -PS_E_BAD_DATA;
	}
	out->gil_locked = locked - gil;
	out->gil_last_holder = holder - gil;
	if (ft && ok[4])
		out->gil_enabled = enabled;
	return 0;
}

int pydebug_import(const void *buf, size_t len, const struct py_version *expect,
		   struct py_offsets *off, unsigned *differ, char *why, size_t nwhy)
{
	uint64_t v[PYDEBUG_MAX_BYTES / 8];
	const struct layout *l;
	struct py_offsets out = *off;
	struct py_version got;
	unsigned hex, changed = 0;
	bool ft;
	int err;

	*differ = 0;
	if (pydebug_peek(buf, len, &hex, &ft)) {
		snprintf(why, nwhy, "no _Py_DebugOffsets at the start of _PyRuntime");
		return -PS_E_BAD_DATA;
	}
	got = (struct py_version){ hex >> 24, hex >> 16 & 0xff, hex >> 8 & 0xff, hex >> 4 & 0xf,
				   hex & 0xf };
	if (got.major != expect->major || got.minor != expect->minor) {
		snprintf(why, nwhy, "_Py_DebugOffsets says %u.%u, the binary says %u.%u",
			 got.major, got.minor, expect->major, expect->minor);
		return -PS_E_BAD_DATA;
	}
	l = layout_of(hex);
	if (!l) {
		snprintf(why, nwhy, "its _Py_DebugOffsets have a layout this build does not know");
		return -PS_E_UNSUPPORTED;
	}
	if (hex < l->since) {
		snprintf(why, nwhy, "a pre-release whose _Py_DebugOffsets layout this build does not "
			 "know (it reads 3.%u from %s on)", l->minor, l->since_text);
		return -PS_E_UNSUPPORTED;
	}
	if (len < l->count * 8 || l->count > sizeof(v) / 8) {
		snprintf(why, nwhy, "_Py_DebugOffsets cut short");
		return -PS_E_BAD_DATA;
	}
	memcpy(v, buf, l->count * 8);
	for (size_t i = 0; i < sizeof(imports) / sizeof(imports[0]); i++) {
		const struct import *im = &imports[i];
		bool ok, have_bound = true;
		uint64_t value = word(l, v, im->name, &ok);
		uint64_t bound = im->bound ? word(l, v, im->bound, &have_bound) : MAX_STRUCT;
		uint64_t old;

		if (!ok || (im->kind == THREADED && !ft))
			continue;	/* not published by this layout or build: the table's stays */
		if (!have_bound || bound == 0 || bound > MAX_STRUCT ||
		    (im->kind == SIZE && (value == 0 || value > MAX_STRUCT)) ||
		    ((im->kind == OFFSET || im->kind == THREADED) && value >= bound) ||
		    (im->kind == WITHIN && (value == 0 || value > bound))) {
			snprintf(why, nwhy, "_Py_DebugOffsets field %s is out of bounds", im->name);
			return -PS_E_BAD_DATA;
		}
		memcpy(&old, (char *)&out + im->dst, sizeof(old));
		changed += old != value;
		memcpy((char *)&out + im->dst, &value, sizeof(value));
	}
	err = import_gil(l, v, ft, &out, why, nwhy);
	if (err)
		return err;
	*off = out;
	*differ = changed;
	return 0;
}

/*
 * CPython struct layouts as data.
 *
 * One struct py_offsets describes, for one CPython minor version and build
 * (the default one, or the free-threaded one of 3.13 on: every object field
 * moves there), where the fields pystack reads live inside the
 * interpreter's structures.  Up to 3.12 it comes from a table generated from
 * that version's installed headers (tools/gen_offsets.c writes
 * src/offsets/pyXY.h, pyXYt.h); from 3.13 on it starts from the generated
 * table and every field the target publishes in its own _Py_DebugOffsets
 * is then taken from there (pyruntime.c).
 *
 * Every field is a byte offset or a size, as uint64_t.  A field a version
 * does not have is PYO_NONE; the readers decide from the version which
 * fields they use, and check against PYO_NONE where a field is optional.
 */
#ifndef PYSTACK_PYOFFSETS_H
#define PYSTACK_PYOFFSETS_H

#include <stdbool.h>
#include <stdint.h>

#define PYO_NONE UINT64_MAX

struct py_offsets {
	/* PyObject, PyVarObject, PyTypeObject */
	uint64_t object_type;		/* ob_type */
	uint64_t varobject_size;	/* ob_size */
	uint64_t type_name;		/* tp_name (char *) */
	uint64_t type_flags;		/* tp_flags */
	uint64_t type_basicsize;	/* tp_basicsize */
	uint64_t type_itemsize;		/* tp_itemsize */
	uint64_t type_dictoffset;	/* tp_dictoffset (signed) */
	uint64_t type_dict;		/* tp_dict */
	uint64_t heaptype_qualname;	/* PyHeapTypeObject.ht_qualname, 3.x */
	uint64_t heaptype_cached_keys;	/* PyHeapTypeObject.ht_cached_keys, 3.x */
	uint64_t tpflags_heaptype;	/* the bit Py_TPFLAGS_HEAPTYPE (a value, not an offset) */
	uint64_t tpflags_managed_dict;	/* the bit Py_TPFLAGS_MANAGED_DICT, 3.11+ */
	uint64_t tpflags_inline_values;	/* the bit Py_TPFLAGS_INLINE_VALUES, 3.13+ */
	uint64_t object_managed_dict;	/* bytes BEFORE an object with a managed dict to its dict
					 * pointer (3.11, 3.13) or dict-or-values word (3.12) */
	uint64_t object_managed_values;	/* bytes before it to its values pointer, 3.11 */

	/* _PyRuntimeState (3.7+) */
	uint64_t runtime_size;
	uint64_t runtime_interpreters_head;
	uint64_t runtime_interpreters_main;
	uint64_t runtime_tstate_current; /* gilstate.tstate_current, 3.7-3.11 */
	uint64_t runtime_gil;		/* ceval.gil (embedded struct), 3.7-3.11 */
	uint64_t runtime_gc;		/* gc (struct _gc_runtime_state), 3.7-3.8 */

	/* PyInterpreterState */
	uint64_t interp_size;
	uint64_t interp_next;
	uint64_t interp_tstate_head;	/* tstate_head, threads.head (3.12+) */
	uint64_t interp_id;		/* 3.7+ */
	uint64_t interp_modules;	/* modules, imports.modules (3.12+) */
	uint64_t interp_sysdict;
	uint64_t interp_builtins;
	uint64_t interp_gil;		/* ceval.gil, a pointer, 3.12+ */
	uint64_t interp_gc;		/* gc (struct _gc_runtime_state), 3.9+ */

	/* struct _gil_runtime_state (3.7+) */
	uint64_t gil_locked;
	uint64_t gil_last_holder;
	uint64_t gil_cond;		/* cond, a PyCOND_T */
	uint64_t gil_cond_size;		/* sizeof(PyCOND_T) */
	uint64_t gil_enabled;		/* enabled (int), free-threaded 3.13+: 0 while the GIL is off */

	/* struct _gc_runtime_state */
	uint64_t gc_collecting;

	/* PyThreadState */
	uint64_t tstate_size;
	uint64_t tstate_next;
	uint64_t tstate_interp;
	uint64_t tstate_frame;		/* frame (<=3.10), current_frame (3.13+) */
	uint64_t tstate_cframe;		/* cframe, 3.11-3.12 */
	uint64_t cframe_current_frame;	/* _PyCFrame.current_frame, 3.11-3.12 */
	uint64_t tstate_thread_id;
	uint64_t tstate_native_thread_id; /* 3.11+ */
	uint64_t tstate_state;		/* state (int): detached 0, attached 1, suspended 2 (3.13+) */
	uint64_t tstate_base_frame;	/* base_frame, the frame at the bottom of every stack (3.15+) */

	/* PyFrameObject (<=3.10) */
	uint64_t frame_size;
	uint64_t frame_back;
	uint64_t frame_code;
	uint64_t frame_lasti;		/* int */
	uint64_t frame_lineno;		/* int */
	uint64_t frame_localsplus;

	/* _PyInterpreterFrame (3.11+) */
	uint64_t iframe_size;
	uint64_t iframe_code;		/* f_code, f_executable (3.13+) */
	uint64_t iframe_previous;
	uint64_t iframe_instr;		/* prev_instr (3.11-3.12), instr_ptr (3.13+) */
	uint64_t iframe_owner;		/* char */
	uint64_t iframe_is_entry;	/* bool, 3.11 only */
	uint64_t iframe_localsplus;
	uint64_t iframe_tlbc_index;	/* int32, free-threaded 3.14+: which copy of the bytecode */

	/* PyCodeObject */
	uint64_t code_size;
	uint64_t code_argcount;		/* int */
	uint64_t code_kwonlyargcount;	/* int, 3.x */
	uint64_t code_nlocals;		/* int */
	uint64_t code_flags;		/* int */
	uint64_t code_firstlineno;	/* int */
	uint64_t code_filename;
	uint64_t code_name;
	uint64_t code_qualname;		/* 3.11+ */
	uint64_t code_linetable;	/* co_lnotab (<=3.9), co_linetable (3.10+) */
	uint64_t code_code;		/* co_code, a bytes object (<=3.10) */
	uint64_t code_adaptive;		/* co_code_adaptive, inline code units (3.11+) */
	uint64_t code_firsttraceable;	/* _co_firsttraceable, int (3.11+) */
	uint64_t code_varnames;		/* tuple (<=3.10) */
	uint64_t code_cellvars;		/* tuple (<=3.10) */
	uint64_t code_freevars;		/* tuple (<=3.10) */
	uint64_t code_localsplusnames;	/* tuple (3.11+) */
	uint64_t code_localspluskinds;	/* bytes (3.11+) */
	uint64_t code_tlbc;		/* co_tlbc, a _PyCodeArray * (free-threaded 3.14+) */
	uint64_t codearray_size;	/* _PyCodeArray.size */
	uint64_t codearray_entries;	/* _PyCodeArray.entries[]: each thread's copy of the bytecode */

	/* PyBytesObject (3.x), PyStringObject (2.7) */
	uint64_t bytes_sval;

	/* PyUnicodeObject (3.3+: PEP 393) */
	uint64_t unicode_length;
	uint64_t unicode_state;		/* the 32-bit state bit-field word */
	uint64_t unicode_hash;		/* the cached hash (3.x), -1 until computed */
	uint64_t unicode_ascii_size;	/* sizeof(PyASCIIObject) */
	uint64_t unicode_compact_size;	/* sizeof(PyCompactUnicodeObject) */
	uint64_t unicode_data;		/* PyUnicodeObject.data.any */
	uint64_t unicode_kind_shift;	/* bit positions inside state */
	uint64_t unicode_kind_mask;	/* mask after shifting */
	uint64_t unicode_compact_bit;
	uint64_t unicode_ascii_bit;
	uint64_t unicode_ready_bit;	/* <=3.11 */
	/* PyUnicodeObject (2.7: UCS4 array) */
	uint64_t unicode27_str;		/* Py_UNICODE *str */
	uint64_t unicode27_unicode_size; /* sizeof(Py_UNICODE) */

	/* containers and numbers, for --locals */
	uint64_t tuple_item;		/* ob_item[] (inline) */
	uint64_t list_item;		/* ob_item (pointer) */
	uint64_t list_allocated;	/* allocated */
	uint64_t dict_used;		/* ma_used */
	uint64_t dict_keys;		/* ma_keys (3.x), ma_table (2.7) */
	uint64_t dict_values;		/* ma_values (3.x), ma_mask (2.7) */
	/* PyDictKeysObject (3.x) */
	uint64_t dict_keys_size;	/* dk_size, 3.6-3.10 */
	uint64_t dict_keys_log2_size;	/* dk_log2_size (uint8), 3.11+ */
	uint64_t dict_keys_log2_index_bytes; /* dk_log2_index_bytes (uint8), 3.11+ */
	uint64_t dict_keys_kind;	/* dk_kind (uint8), 3.11+ */
	uint64_t dict_keys_nentries;	/* dk_nentries */
	uint64_t dict_keys_indices;	/* dk_indices[] */
	/* PyDictKeyEntry (3.x), PyDictEntry (2.7) */
	uint64_t dict_entry_size;
	uint64_t dict_entry_hash;
	uint64_t dict_entry_key;
	uint64_t dict_entry_value;
	/* PyDictUnicodeEntry, 3.11+ */
	uint64_t dict_uentry_size;
	uint64_t dict_uentry_key;
	uint64_t dict_uentry_value;
	/* PyDictValues, 3.11+ (3.11-3.12 keep the order bytes before it) */
	uint64_t dictvalues_values;	/* values[] */
	uint64_t dictvalues_capacity;	/* uint8, 3.13+ */
	uint64_t dictvalues_size;	/* uint8, 3.13+ */
	uint64_t dictvalues_valid;	/* uint8, 3.13+ */
	uint64_t set_fill;
	uint64_t set_used;
	uint64_t set_mask;
	uint64_t set_table;
	uint64_t set_entry_size;	/* setentry */
	uint64_t set_entry_key;
	uint64_t set_entry_hash;
	uint64_t float_value;		/* ob_fval */
	uint64_t long_digits;		/* ob_digit / long_value.ob_digit */
	uint64_t long_tag;		/* long_value.lv_tag (3.12+) */
	uint64_t long_tag_shift;	/* _PyLong_NON_SIZE_BITS: lv_tag >> it is the digit count (3.12+) */
	uint64_t long_digit_bits;	/* PyLong_SHIFT */
	uint64_t int27_value;		/* PyIntObject.ob_ival (2.7) */
	uint64_t cell_ref;		/* PyCellObject.ob_ref */
	uint64_t module_dict;		/* PyModuleObject.md_dict */

	/* functions, methods and 2.7's classic classes, for the reprs of --locals */
	uint64_t function_name;		/* PyFunctionObject.func_name */
	uint64_t function_qualname;	/* func_qualname, 3.x */
	uint64_t cfunction_ml;		/* PyCFunctionObject.m_ml, a PyMethodDef * */
	uint64_t cfunction_self;	/* m_self */
	uint64_t methoddef_name;	/* PyMethodDef.ml_name (char *) */
	uint64_t method_func;		/* PyMethodObject.im_func */
	uint64_t method_self;		/* im_self */
	uint64_t method_class;		/* im_class, 2.7 */
	uint64_t class27_dict;		/* PyClassObject.cl_dict, 2.7 */
	uint64_t class27_name;		/* cl_name */
	uint64_t instance27_class;	/* PyInstanceObject.in_class, 2.7 */
	uint64_t function_code;		/* PyFunctionObject.func_code */
	uint64_t code_consts;		/* PyCodeObject.co_consts, a tuple */
	uint64_t descr_callable;	/* staticmethod's sm_callable, and classmethod's cm_callable */
};

/* A generated table: which CPython it was read from, and the layout. */
struct py_offsets_table {
	unsigned major, minor;
	bool free_threaded;		/* built with --disable-gil (Py_GIL_DISABLED) */
	const char *source;		/* e.g. "3.12.1 headers" */
	struct py_offsets off;
};

/*
 * The generated table for a minor version and build, or NULL when pystack
 * has none.  The returned pointer is static.
 */
const struct py_offsets_table *pyoffsets_for_version(unsigned major, unsigned minor,
						     bool free_threaded);

/* All tables, oldest first, a default build before its free-threaded one. */
const struct py_offsets_table *pyoffsets_tables(unsigned *count);

#endif

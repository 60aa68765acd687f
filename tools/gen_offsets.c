/*
 * Offset-table generator: compiled against one CPython's headers, it prints
 * the complete src/offsets/pyXY.h for that version to stdout.
 *
 * Every number comes from offsetof/sizeof on the real structs (or a
 * flag's value from its macro) or, for the unicode state bit-field, from
 * poking the struct at run time.  The structs that older headers do not
 * declare, PyModuleObject (before 3.10) and the dict keys object and its
 * entries (3.6-3.10), are mirrored below; so are the two managed-dict
 * positions that 3.11 and 3.12 name no constant for.  tools/gen_offsets.sh
 * builds and runs this once per installed CPython, in effect:
 *
 *	gcc -I"$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
 *		tools/gen_offsets.c && ./a.out > src/offsets/pyXY.h
 *
 * The fields are listed in the declaration order of struct py_offsets, and
 * main() checks that against include/pyoffsets.h before printing anything.
 */

/* The interpreter itself is built with Py_BUILD_CORE; the internal headers require it. */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif

#include <Python.h>
#include <frameobject.h>

#define PY_AT_LEAST(major, minor) \
	(PY_VERSION_HEX >= ((major) << 24 | (minor) << 16))

#if !PY_AT_LEAST(3, 11)
#include <longintrepr.h>		/* Python.h includes it from 3.11 */
#endif
#if PY_AT_LEAST(3, 9)
#include <internal/pycore_gil.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#elif PY_AT_LEAST(3, 8)
#include <internal/pycore_pystate.h>
#elif PY_AT_LEAST(3, 7)
#include <internal/pystate.h>
#endif
#if PY_AT_LEAST(3, 10)
#include <internal/pycore_moduleobject.h>
#endif
#if PY_AT_LEAST(3, 11)
/* Some of these have inline functions with unused parameters (3.13). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_object.h>
#pragma GCC diagnostic pop
#endif

/* Free-threaded builds keep a copy of the bytecode per thread from 3.14 on. */
#if defined(Py_GIL_DISABLED) && PY_AT_LEAST(3, 14)
#define THREAD_LOCAL_BYTECODE 1
#else
#define THREAD_LOCAL_BYTECODE 0
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/pyoffsets.h"

/*
 * staticmethod and classmethod objects are private to Objects/funcobject.c
 * (2.7: funcobject.c too), each PyObject_HEAD followed by the callable it
 * wraps (sm_callable, cm_callable); only that prefix is mirrored here.
 */
struct callable_descr_prefix {
	PyObject ob_base;
	PyObject *callable;
};

#if !PY_AT_LEAST(3, 10)
/*
 * PyModuleObject is private to Objects/moduleobject.c before 3.10 (3.10
 * moved it to internal/pycore_moduleobject.h).  Since 2.x it has been
 * PyObject_HEAD followed by md_dict; only that prefix is mirrored here.
 */
struct module_prefix {
	PyObject ob_base;
	PyObject *md_dict;
};
#endif

#if PY_MAJOR_VERSION >= 3 && !PY_AT_LEAST(3, 11)
/*
 * The dict keys object and its entries are private to Objects/dict-common.h
 * from 3.6 to 3.10 (3.11 moved them to internal/pycore_dict.h).  Their
 * layout is the same in all five: refcount, table size, lookup function,
 * usable and used entry counts, then the index table (in 3.6 a union of
 * arrays at the same place), followed by the entries.
 */
struct dictkeys_mirror {
	Py_ssize_t dk_refcnt;
	Py_ssize_t dk_size;
	void *dk_lookup;
	Py_ssize_t dk_usable;
	Py_ssize_t dk_nentries;
	char dk_indices[];
};

struct dictentry_mirror {
	Py_hash_t me_hash;
	PyObject *me_key;
	PyObject *me_value;
};
#endif

#if PY_MAJOR_VERSION >= 3
/*
 * The PEP 393 state word of a zeroed PyASCIIObject after setting one
 * bit-field to all ones, read as the little-endian uint32 a reader of the
 * target sees.  Bit-fields have no offsetof, so this is how their positions
 * are found.
 */
#define STATE_WORD_WITH(field) ({					\
	PyASCIIObject o_;						\
	memset(&o_, 0, sizeof(o_));					\
	o_.state.field--;	/* unsigned bit-field: wraps to all ones */ \
	state_word(&o_);						\
})

static uint32_t state_word(const PyASCIIObject *o)
{
	const unsigned char *p = (const unsigned char *)o + offsetof(PyASCIIObject, state);

	return p[0] | p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Position of the lowest bit of a bit-field's mask, after checking that the mask is contiguous. */
static uint64_t state_shift(const char *field, uint32_t mask)
{
	unsigned shift;
	uint32_t ones;

	if (!mask) {
		fprintf(stderr, "gen_offsets: state.%s changes no bit of the state word\n", field);
		exit(1);
	}
	shift = __builtin_ctz(mask);
	ones = mask >> shift;
	if (ones & (ones + 1)) {	/* not of the form 0...01...1 */
		fprintf(stderr, "gen_offsets: state.%s has a split mask 0x%08x\n",
			field, (unsigned)mask);
		exit(1);
	}
	return shift;
}

/* Position of a one-bit flag. */
static uint64_t state_bit(const char *field, uint32_t mask)
{
	if (mask & (mask - 1)) {
		fprintf(stderr, "gen_offsets: state.%s is wider than one bit (mask 0x%08x)\n",
			field, (unsigned)mask);
		exit(1);
	}
	return state_shift(field, mask);
}
#endif

struct field {
	const char *name;
	size_t pos;		/* offsetof(struct py_offsets, name), to check the order */
	uint64_t value;
};

#ifdef Py_GIL_DISABLED
#define FREE_THREADED 1
#else
#define FREE_THREADED 0
#endif

#define F(name, value)	{ #name, offsetof(struct py_offsets, name), (value) }
#define NONE(name)	F(name, PYO_NONE)

int main(void)
{
#if PY_MAJOR_VERSION >= 3
	uint32_t kind_bits = STATE_WORD_WITH(kind);
	uint64_t kind_shift = state_shift("kind", kind_bits);
#endif
	const struct field fields[] = {
		F(object_type, offsetof(PyObject, ob_type)),
		F(varobject_size, offsetof(PyVarObject, ob_size)),
		F(type_name, offsetof(PyTypeObject, tp_name)),
		F(type_flags, offsetof(PyTypeObject, tp_flags)),
		F(type_basicsize, offsetof(PyTypeObject, tp_basicsize)),
		F(type_itemsize, offsetof(PyTypeObject, tp_itemsize)),
		F(type_dictoffset, offsetof(PyTypeObject, tp_dictoffset)),
		F(type_dict, offsetof(PyTypeObject, tp_dict)),
#if PY_MAJOR_VERSION >= 3
		F(heaptype_qualname, offsetof(PyHeapTypeObject, ht_qualname)),
		F(heaptype_cached_keys, offsetof(PyHeapTypeObject, ht_cached_keys)),
#else
		NONE(heaptype_qualname),
		NONE(heaptype_cached_keys),
#endif
		F(tpflags_heaptype, Py_TPFLAGS_HEAPTYPE),
#if PY_AT_LEAST(3, 11)
		F(tpflags_managed_dict, Py_TPFLAGS_MANAGED_DICT),
#else
		NONE(tpflags_managed_dict),
#endif
#if PY_AT_LEAST(3, 13)
		F(tpflags_inline_values, Py_TPFLAGS_INLINE_VALUES),
#else
		NONE(tpflags_inline_values),
#endif
#if PY_AT_LEAST(3, 13) || (PY_AT_LEAST(3, 11) && !PY_AT_LEAST(3, 12))
		F(object_managed_dict, -MANAGED_DICT_OFFSET),
#elif PY_AT_LEAST(3, 12)
		/* 3.12 has no MANAGED_DICT_OFFSET: _PyObject_DictOrValuesPointer() is obj - 3 words */
		F(object_managed_dict, 3 * sizeof(PyObject *)),
#else
		NONE(object_managed_dict),
#endif
#if PY_AT_LEAST(3, 11) && !PY_AT_LEAST(3, 12)
		/* _PyObject_ValuesPointer() is obj - 4 words; 3.11 names no constant for it */
		F(object_managed_values, 4 * sizeof(PyObject *)),
#else
		NONE(object_managed_values),
#endif

#if PY_AT_LEAST(3, 7)
		F(runtime_size, sizeof(_PyRuntimeState)),
		F(runtime_interpreters_head, offsetof(_PyRuntimeState, interpreters.head)),
		F(runtime_interpreters_main, offsetof(_PyRuntimeState, interpreters.main)),
#else
		NONE(runtime_size),
		NONE(runtime_interpreters_head),
		NONE(runtime_interpreters_main),
#endif
#if PY_AT_LEAST(3, 7) && !PY_AT_LEAST(3, 12)
		F(runtime_tstate_current, offsetof(_PyRuntimeState, gilstate.tstate_current)),
		F(runtime_gil, offsetof(_PyRuntimeState, ceval.gil)),
#else
		NONE(runtime_tstate_current),
		NONE(runtime_gil),
#endif
#if PY_AT_LEAST(3, 7) && !PY_AT_LEAST(3, 9)
		F(runtime_gc, offsetof(_PyRuntimeState, gc)),
#else
		NONE(runtime_gc),
#endif

		F(interp_size, sizeof(PyInterpreterState)),
		F(interp_next, offsetof(PyInterpreterState, next)),
#if PY_AT_LEAST(3, 11)
		F(interp_tstate_head, offsetof(PyInterpreterState, threads.head)),
#else
		F(interp_tstate_head, offsetof(PyInterpreterState, tstate_head)),
#endif
#if PY_AT_LEAST(3, 7)
		F(interp_id, offsetof(PyInterpreterState, id)),
#else
		NONE(interp_id),
#endif
#if PY_AT_LEAST(3, 12)
		F(interp_modules, offsetof(PyInterpreterState, imports.modules)),
#else
		F(interp_modules, offsetof(PyInterpreterState, modules)),
#endif
		F(interp_sysdict, offsetof(PyInterpreterState, sysdict)),
		F(interp_builtins, offsetof(PyInterpreterState, builtins)),
#if PY_AT_LEAST(3, 12)
		F(interp_gil, offsetof(PyInterpreterState, ceval.gil)),
#else
		NONE(interp_gil),
#endif
#if PY_AT_LEAST(3, 9)
		F(interp_gc, offsetof(PyInterpreterState, gc)),
#else
		NONE(interp_gc),
#endif

#if PY_AT_LEAST(3, 7)
		F(gil_locked, offsetof(struct _gil_runtime_state, locked)),
		F(gil_last_holder, offsetof(struct _gil_runtime_state, last_holder)),
		F(gil_cond, offsetof(struct _gil_runtime_state, cond)),
		F(gil_cond_size, sizeof(((struct _gil_runtime_state *)0)->cond)),
#else
		NONE(gil_locked),
		NONE(gil_last_holder),
		NONE(gil_cond),
		NONE(gil_cond_size),
#endif
#ifdef Py_GIL_DISABLED
		F(gil_enabled, offsetof(struct _gil_runtime_state, enabled)),
#else
		NONE(gil_enabled),
#endif
#if PY_AT_LEAST(3, 7)
		F(gc_collecting, offsetof(struct _gc_runtime_state, collecting)),
#else
		NONE(gc_collecting),
#endif

		F(tstate_size, sizeof(PyThreadState)),
		F(tstate_next, offsetof(PyThreadState, next)),
		F(tstate_interp, offsetof(PyThreadState, interp)),
#if PY_AT_LEAST(3, 13)
		F(tstate_frame, offsetof(PyThreadState, current_frame)),
		NONE(tstate_cframe),
		NONE(cframe_current_frame),
#elif PY_AT_LEAST(3, 11)
		NONE(tstate_frame),
		F(tstate_cframe, offsetof(PyThreadState, cframe)),
		F(cframe_current_frame, offsetof(_PyCFrame, current_frame)),
#else
		F(tstate_frame, offsetof(PyThreadState, frame)),
		NONE(tstate_cframe),
		NONE(cframe_current_frame),
#endif
		F(tstate_thread_id, offsetof(PyThreadState, thread_id)),
#if PY_AT_LEAST(3, 11)
		F(tstate_native_thread_id, offsetof(PyThreadState, native_thread_id)),
#else
		NONE(tstate_native_thread_id),
#endif
#if PY_AT_LEAST(3, 13)
		F(tstate_state, offsetof(PyThreadState, state)),
#else
		NONE(tstate_state),
#endif
#if PY_AT_LEAST(3, 15)
		F(tstate_base_frame, offsetof(PyThreadState, base_frame)),
#else
		NONE(tstate_base_frame),
#endif

#if PY_AT_LEAST(3, 11)
		NONE(frame_size),
		NONE(frame_back),
		NONE(frame_code),
		NONE(frame_lasti),
		NONE(frame_lineno),
		NONE(frame_localsplus),
#else
		F(frame_size, sizeof(PyFrameObject)),
		F(frame_back, offsetof(PyFrameObject, f_back)),
		F(frame_code, offsetof(PyFrameObject, f_code)),
		F(frame_lasti, offsetof(PyFrameObject, f_lasti)),
		F(frame_lineno, offsetof(PyFrameObject, f_lineno)),
		F(frame_localsplus, offsetof(PyFrameObject, f_localsplus)),
#endif

#if PY_AT_LEAST(3, 11)
		F(iframe_size, sizeof(_PyInterpreterFrame)),
#if PY_AT_LEAST(3, 13)
		F(iframe_code, offsetof(_PyInterpreterFrame, f_executable)),
#else
		F(iframe_code, offsetof(_PyInterpreterFrame, f_code)),
#endif
		F(iframe_previous, offsetof(_PyInterpreterFrame, previous)),
#if PY_AT_LEAST(3, 13)
		F(iframe_instr, offsetof(_PyInterpreterFrame, instr_ptr)),
#else
		F(iframe_instr, offsetof(_PyInterpreterFrame, prev_instr)),
#endif
		F(iframe_owner, offsetof(_PyInterpreterFrame, owner)),
#if PY_AT_LEAST(3, 12)
		NONE(iframe_is_entry),
#else
		F(iframe_is_entry, offsetof(_PyInterpreterFrame, is_entry)),
#endif
		F(iframe_localsplus, offsetof(_PyInterpreterFrame, localsplus)),
#else
		NONE(iframe_size),
		NONE(iframe_code),
		NONE(iframe_previous),
		NONE(iframe_instr),
		NONE(iframe_owner),
		NONE(iframe_is_entry),
		NONE(iframe_localsplus),
#endif
#if THREAD_LOCAL_BYTECODE
		F(iframe_tlbc_index, offsetof(_PyInterpreterFrame, tlbc_index)),
#else
		NONE(iframe_tlbc_index),
#endif

		F(code_size, sizeof(PyCodeObject)),
		F(code_argcount, offsetof(PyCodeObject, co_argcount)),
#if PY_MAJOR_VERSION >= 3
		F(code_kwonlyargcount, offsetof(PyCodeObject, co_kwonlyargcount)),
#else
		NONE(code_kwonlyargcount),
#endif
		F(code_nlocals, offsetof(PyCodeObject, co_nlocals)),
		F(code_flags, offsetof(PyCodeObject, co_flags)),
		F(code_firstlineno, offsetof(PyCodeObject, co_firstlineno)),
		F(code_filename, offsetof(PyCodeObject, co_filename)),
		F(code_name, offsetof(PyCodeObject, co_name)),
#if PY_AT_LEAST(3, 11)
		F(code_qualname, offsetof(PyCodeObject, co_qualname)),
#else
		NONE(code_qualname),
#endif
#if PY_AT_LEAST(3, 10)
		F(code_linetable, offsetof(PyCodeObject, co_linetable)),
#else
		F(code_linetable, offsetof(PyCodeObject, co_lnotab)),
#endif
#if PY_AT_LEAST(3, 11)
		NONE(code_code),
		F(code_adaptive, offsetof(PyCodeObject, co_code_adaptive)),
		F(code_firsttraceable, offsetof(PyCodeObject, _co_firsttraceable)),
		NONE(code_varnames),
		NONE(code_cellvars),
		NONE(code_freevars),
		F(code_localsplusnames, offsetof(PyCodeObject, co_localsplusnames)),
		F(code_localspluskinds, offsetof(PyCodeObject, co_localspluskinds)),
#else
		F(code_code, offsetof(PyCodeObject, co_code)),
		NONE(code_adaptive),
		NONE(code_firsttraceable),
		F(code_varnames, offsetof(PyCodeObject, co_varnames)),
		F(code_cellvars, offsetof(PyCodeObject, co_cellvars)),
		F(code_freevars, offsetof(PyCodeObject, co_freevars)),
		NONE(code_localsplusnames),
		NONE(code_localspluskinds),
#endif
#if THREAD_LOCAL_BYTECODE
		F(code_tlbc, offsetof(PyCodeObject, co_tlbc)),
		F(codearray_size, offsetof(_PyCodeArray, size)),
		F(codearray_entries, offsetof(_PyCodeArray, entries)),
#else
		NONE(code_tlbc),
		NONE(codearray_size),
		NONE(codearray_entries),
#endif

#if PY_MAJOR_VERSION >= 3
		F(bytes_sval, offsetof(PyBytesObject, ob_sval)),

		F(unicode_length, offsetof(PyASCIIObject, length)),
		F(unicode_state, offsetof(PyASCIIObject, state)),
		F(unicode_hash, offsetof(PyASCIIObject, hash)),
		F(unicode_ascii_size, sizeof(PyASCIIObject)),
		F(unicode_compact_size, sizeof(PyCompactUnicodeObject)),
		F(unicode_data, offsetof(PyUnicodeObject, data)),
		F(unicode_kind_shift, kind_shift),
		F(unicode_kind_mask, kind_bits >> kind_shift),
		F(unicode_compact_bit, state_bit("compact", STATE_WORD_WITH(compact))),
		F(unicode_ascii_bit, state_bit("ascii", STATE_WORD_WITH(ascii))),
#if PY_AT_LEAST(3, 12)
		NONE(unicode_ready_bit),
#else
		F(unicode_ready_bit, state_bit("ready", STATE_WORD_WITH(ready))),
#endif
		NONE(unicode27_str),
		NONE(unicode27_unicode_size),
#else
		F(bytes_sval, offsetof(PyStringObject, ob_sval)),

		/* 2.7 has a length too, with the same meaning (code points) */
		F(unicode_length, offsetof(PyUnicodeObject, length)),
		NONE(unicode_state),
		NONE(unicode_hash),
		NONE(unicode_ascii_size),
		NONE(unicode_compact_size),
		NONE(unicode_data),
		NONE(unicode_kind_shift),
		NONE(unicode_kind_mask),
		NONE(unicode_compact_bit),
		NONE(unicode_ascii_bit),
		NONE(unicode_ready_bit),
		F(unicode27_str, offsetof(PyUnicodeObject, str)),
		F(unicode27_unicode_size, sizeof(Py_UNICODE)),
#endif

		F(tuple_item, offsetof(PyTupleObject, ob_item)),
		F(list_item, offsetof(PyListObject, ob_item)),
		F(list_allocated, offsetof(PyListObject, allocated)),
		F(dict_used, offsetof(PyDictObject, ma_used)),
#if PY_MAJOR_VERSION >= 3
		F(dict_keys, offsetof(PyDictObject, ma_keys)),
		F(dict_values, offsetof(PyDictObject, ma_values)),
#else
		F(dict_keys, offsetof(PyDictObject, ma_table)),
		F(dict_values, offsetof(PyDictObject, ma_mask)),
#endif
#if PY_AT_LEAST(3, 11)
		NONE(dict_keys_size),
		F(dict_keys_log2_size, offsetof(PyDictKeysObject, dk_log2_size)),
		F(dict_keys_log2_index_bytes, offsetof(PyDictKeysObject, dk_log2_index_bytes)),
		F(dict_keys_kind, offsetof(PyDictKeysObject, dk_kind)),
		F(dict_keys_nentries, offsetof(PyDictKeysObject, dk_nentries)),
		F(dict_keys_indices, offsetof(PyDictKeysObject, dk_indices)),
		F(dict_entry_size, sizeof(PyDictKeyEntry)),
		F(dict_entry_hash, offsetof(PyDictKeyEntry, me_hash)),
		F(dict_entry_key, offsetof(PyDictKeyEntry, me_key)),
		F(dict_entry_value, offsetof(PyDictKeyEntry, me_value)),
		F(dict_uentry_size, sizeof(PyDictUnicodeEntry)),
		F(dict_uentry_key, offsetof(PyDictUnicodeEntry, me_key)),
		F(dict_uentry_value, offsetof(PyDictUnicodeEntry, me_value)),
		F(dictvalues_values, offsetof(PyDictValues, values)),
#elif PY_MAJOR_VERSION >= 3
		F(dict_keys_size, offsetof(struct dictkeys_mirror, dk_size)),
		NONE(dict_keys_log2_size),
		NONE(dict_keys_log2_index_bytes),
		NONE(dict_keys_kind),
		F(dict_keys_nentries, offsetof(struct dictkeys_mirror, dk_nentries)),
		F(dict_keys_indices, offsetof(struct dictkeys_mirror, dk_indices)),
		F(dict_entry_size, sizeof(struct dictentry_mirror)),
		F(dict_entry_hash, offsetof(struct dictentry_mirror, me_hash)),
		F(dict_entry_key, offsetof(struct dictentry_mirror, me_key)),
		F(dict_entry_value, offsetof(struct dictentry_mirror, me_value)),
		NONE(dict_uentry_size),
		NONE(dict_uentry_key),
		NONE(dict_uentry_value),
		NONE(dictvalues_values),
#else
		NONE(dict_keys_size),
		NONE(dict_keys_log2_size),
		NONE(dict_keys_log2_index_bytes),
		NONE(dict_keys_kind),
		NONE(dict_keys_nentries),
		NONE(dict_keys_indices),
		F(dict_entry_size, sizeof(PyDictEntry)),
		F(dict_entry_hash, offsetof(PyDictEntry, me_hash)),
		F(dict_entry_key, offsetof(PyDictEntry, me_key)),
		F(dict_entry_value, offsetof(PyDictEntry, me_value)),
		NONE(dict_uentry_size),
		NONE(dict_uentry_key),
		NONE(dict_uentry_value),
		NONE(dictvalues_values),
#endif
#if PY_AT_LEAST(3, 13)
		F(dictvalues_capacity, offsetof(PyDictValues, capacity)),
		F(dictvalues_size, offsetof(PyDictValues, size)),
		F(dictvalues_valid, offsetof(PyDictValues, valid)),
#else
		NONE(dictvalues_capacity),
		NONE(dictvalues_size),
		NONE(dictvalues_valid),
#endif
		F(set_fill, offsetof(PySetObject, fill)),
		F(set_used, offsetof(PySetObject, used)),
		F(set_mask, offsetof(PySetObject, mask)),
		F(set_table, offsetof(PySetObject, table)),
		F(set_entry_size, sizeof(setentry)),
		F(set_entry_key, offsetof(setentry, key)),
		F(set_entry_hash, offsetof(setentry, hash)),
		F(float_value, offsetof(PyFloatObject, ob_fval)),
#if PY_AT_LEAST(3, 12)
		F(long_digits, offsetof(PyLongObject, long_value.ob_digit)),
		F(long_tag, offsetof(PyLongObject, long_value.lv_tag)),
		F(long_tag_shift, _PyLong_NON_SIZE_BITS),
#else
		F(long_digits, offsetof(PyLongObject, ob_digit)),
		NONE(long_tag),
		NONE(long_tag_shift),
#endif
		F(long_digit_bits, PyLong_SHIFT),
#if PY_MAJOR_VERSION >= 3
		NONE(int27_value),
#else
		F(int27_value, offsetof(PyIntObject, ob_ival)),
#endif
		F(cell_ref, offsetof(PyCellObject, ob_ref)),
#if PY_AT_LEAST(3, 10)
		F(module_dict, offsetof(PyModuleObject, md_dict)),
#else
		F(module_dict, offsetof(struct module_prefix, md_dict)),
#endif
		F(function_name, offsetof(PyFunctionObject, func_name)),
#if PY_MAJOR_VERSION >= 3
		F(function_qualname, offsetof(PyFunctionObject, func_qualname)),
#else
		NONE(function_qualname),
#endif
		F(cfunction_ml, offsetof(PyCFunctionObject, m_ml)),
		F(cfunction_self, offsetof(PyCFunctionObject, m_self)),
		F(methoddef_name, offsetof(PyMethodDef, ml_name)),
		F(method_func, offsetof(PyMethodObject, im_func)),
		F(method_self, offsetof(PyMethodObject, im_self)),
#if PY_MAJOR_VERSION >= 3
		NONE(method_class),
		NONE(class27_dict),
		NONE(class27_name),
		NONE(instance27_class),
#else
		F(method_class, offsetof(PyMethodObject, im_class)),
		F(class27_dict, offsetof(PyClassObject, cl_dict)),
		F(class27_name, offsetof(PyClassObject, cl_name)),
		F(instance27_class, offsetof(PyInstanceObject, in_class)),
#endif
		F(function_code, offsetof(PyFunctionObject, func_code)),
		F(code_consts, offsetof(PyCodeObject, co_consts)),
		F(descr_callable, offsetof(struct callable_descr_prefix, callable)),
	};
	const size_t n = sizeof(fields) / sizeof(fields[0]);
	size_t i;

	/* Every field of struct py_offsets, once, in declaration order. */
	for (i = 0; i < n; i++) {
		if (fields[i].pos != i * sizeof(uint64_t)) {
			fprintf(stderr, "gen_offsets: %s is out of order\n", fields[i].name);
			return 1;
		}
	}
	if (n * sizeof(uint64_t) != sizeof(struct py_offsets)) {
		fprintf(stderr, "gen_offsets: %zu fields listed, struct py_offsets has %zu\n",
			n, sizeof(struct py_offsets) / sizeof(uint64_t));
		return 1;
	}

	printf("/* Generated by tools/gen_offsets.c from CPython %s%s headers; do not edit. */\n",
	       PY_VERSION, FREE_THREADED ? " free-threaded" : "");
	printf("#define PYOFFSETS_%d_%d%s { \\\n", PY_MAJOR_VERSION, PY_MINOR_VERSION,
	       FREE_THREADED ? "T" : "");
	printf("\t.major = %d, \\\n", PY_MAJOR_VERSION);
	printf("\t.minor = %d, \\\n", PY_MINOR_VERSION);
	printf("\t.free_threaded = %s, \\\n", FREE_THREADED ? "true" : "false");
	printf("\t.source = \"%s%s headers\", \\\n", PY_VERSION, FREE_THREADED ? " free-threaded" : "");
	printf("\t.off = { \\\n");
	for (i = 0; i < n; i++) {
		if (fields[i].value == PYO_NONE)
			printf("\t\t.%s = PYO_NONE, \\\n", fields[i].name);
		else
			printf("\t\t.%s = %llu, \\\n", fields[i].name,
			       (unsigned long long)fields[i].value);
	}
	printf("\t}, \\\n");
	printf("}\n");
	if (fflush(stdout) || ferror(stdout)) {
		perror("gen_offsets: stdout");
		return 1;
	}
	return 0;
}

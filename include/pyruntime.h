/*
 * Finding the CPython interpreter inside a process: which binary holds it,
 * which version it is, the struct layout to read it with, and the addresses
 * the readers start from.  Everything here is found once per process (and
 * again only when its maps change); nothing here needs the target stopped,
 * though what a scan of a running process found is confirmed once it is
 * (pyruntime_confirm()), and nothing from the target's filesystem is ever
 * executed.
 */
#ifndef PYSTACK_PYRUNTIME_H
#define PYSTACK_PYRUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyline.h"
#include "pyoffsets.h"

struct maps;
struct rmem;

struct py_version {
	unsigned major, minor, micro;
	unsigned level;		/* 0xA alpha, 0xB beta, 0xC candidate, 0xF final */
	unsigned serial;
};

#define PY_VER(maj, min) ((maj) << 8 | (min))
#define PYRT_MAX_HEADS 4

struct pyruntime {
	struct py_version ver;
	char version[32];		/* "3.12.1", "3.13.0rc2" */
	struct py_offsets off;
	char layout[96];		/* where off came from, for -v */
	char *binary;			/* the ELF holding the interpreter, as the target sees it */
	bool shared;			/* a libpython, not the executable */
	bool stripped;			/* no .symtab */
	bool free_threaded;		/* built without the GIL (--disable-gil), 3.13+ */
	char found_by[96];		/* how the interpreter list was found */

	/* Run-time addresses in the target. */
	uint64_t runtime;		/* &_PyRuntime (3.7+), 0 before */
	uint64_t heads[PYRT_MAX_HEADS];	/* words that may point at the interpreter list */
	size_t nheads;
	bool heads_unconfirmed;		/* by their interpreter's shape only: pyruntime_confirm() */
	uint64_t tstate_current;	/* &_PyThreadState_Current (2.7, 3.6), or 0 */
	uint64_t type_code;		/* &PyCode_Type; each type is 0 if unknown */
	uint64_t type_unicode;		/* &PyUnicode_Type */
	uint64_t type_bytes;		/* &PyBytes_Type (3.x), &PyString_Type (2.7) */
	uint64_t type_long;		/* &PyLong_Type */
	uint64_t type_int;		/* &PyInt_Type (2.7) */
	uint64_t type_bool;		/* &PyBool_Type */
	uint64_t type_float;		/* &PyFloat_Type */
	uint64_t type_tuple;		/* &PyTuple_Type */
	uint64_t type_list;		/* &PyList_Type */
	uint64_t type_dict;		/* &PyDict_Type */
	uint64_t type_frozendict;	/* &PyFrozenDict_Type (3.15+) */
	uint64_t type_set;		/* &PySet_Type */
	uint64_t type_frozenset;	/* &PyFrozenSet_Type */
	uint64_t type_cell;		/* &PyCell_Type */
	uint64_t type_module;		/* &PyModule_Type */
	uint64_t type_type;		/* &PyType_Type */
	uint64_t type_function;		/* &PyFunction_Type */
	uint64_t type_cfunction;	/* &PyCFunction_Type (builtin_function_or_method) */
	uint64_t type_cmethod;		/* &PyCMethod_Type, its subclass (3.9+) */
	uint64_t type_method;		/* &PyMethod_Type (a bound method; 2.7: instancemethod) */
	uint64_t type_class27;		/* &PyClass_Type, 2.7's classic classes */
	uint64_t type_instance27;	/* &PyInstance_Type, their instances */
	uint64_t type_staticmethod;	/* &PyStaticMethod_Type */
	uint64_t type_classmethod;	/* &PyClassMethod_Type */
	uint64_t type_gen;		/* &PyGen_Type */
	uint64_t type_coro;		/* &PyCoro_Type */
	uint64_t type_asyncgen;		/* &PyAsyncGen_Type */
	uint64_t type_asend;		/* &_PyAsyncGenASend_Type: what awaiting __anext__() gives */
	uint64_t type_athrow;		/* &_PyAsyncGenAThrow_Type: athrow(), aclose() */
	uint64_t type_corowrapper;	/* &_PyCoroWrapper_Type: a coroutine's __await__() */
	uint64_t type_weakref;		/* &_PyWeakref_RefType */
	uint64_t obj_none;		/* &_Py_NoneStruct; each object is 0 if unknown */
	uint64_t obj_true;		/* &_Py_TrueStruct */
	uint64_t obj_false;		/* &_Py_FalseStruct (3.x), &_Py_ZeroStruct (2.7) */
	uint64_t obj_ellipsis;		/* &_Py_EllipsisObject */
	uint64_t obj_notimplemented;	/* &_Py_NotImplementedStruct */
	uint64_t hash_secret;		/* &_Py_HashSecret, the key of str hashes */

	/* Derived from the version. */
	unsigned vkey;			/* PY_VER(major, minor) */
	enum pyline_format line_format;
};

/*
 * Find the interpreter in process pid, whose executable is exe (its path
 * as /proc/PID/exe gives it; NULL to ask /proc here).  Returns 0, -PS_E_NOT_PYTHON,
 * -PS_E_UNSUPPORTED (detail says which version and why), -PS_E_GONE,
 * -EPERM, or another negative error.  detail receives a human-readable
 * reason on failure.  Free with pyruntime_free().
 */
int pyruntime_locate(pid_t pid, const char *exe, const struct maps *maps, struct rmem *m,
		     struct pyruntime *out, char *detail, size_t ndetail);

void pyruntime_free(struct pyruntime *rt);

/*
 * Judge again the heads a scan of the running process could not confirm
 * (rt->heads_unconfirmed), best with the process held, when its thread list
 * cannot change under the reads: only the heads of a live interpreter stay.
 * Returns 0 (the flag cleared), -PS_E_NO_INTERP when none is live (the
 * heads are kept, for another try), -PS_E_GONE or -EPERM.
 */
int pyruntime_confirm(struct rmem *m, struct pyruntime *rt);

/* Fill what follows from rt->ver: version, vkey, line_format. */
void pyruntime_derive(struct pyruntime *rt);

/* "2.7, 3.6-3.15 (free-threaded: 3.13-3.15)": the versions this build reads. */
const char *pyruntime_supported(void);

/* Parse "3.12.1", "2.7.18", "3.13.0rc2+" into v; 0 or -EINVAL. */
int py_version_parse(const char *s, struct py_version *v);

/* Format v as "3.12.1" or "3.13.0rc2" into buf. */
void py_version_format(const struct py_version *v, char *buf, size_t size);

#endif

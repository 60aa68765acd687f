/*
 * The list of CPython's call machinery, per version (see machinery.h).
 *
 * Read off the symbol tables of CPython 2.7 to 3.13, and for the static
 * inline functions of its headers (shown as inlined frames) off the headers:
 * each name with the versions that have it in that role.  The eval loop's entry is not here
 * (its frames are replaced by the Python frames they run); opcode handlers
 * of a tail-calling interpreter neither (they are part of its eval-loop
 * call).  A later version keeps the names of the one before: the list is
 * open-ended where the name still exists in the newest version read.
 */
#include <string.h>

#include "machinery.h"
#include "pyruntime.h"

struct machinery {
	const char *name;
	unsigned since, until;	/* PY_VER range, until 0: still there */
};

#define ALL PY_VER(2, 7), 0

static const struct machinery table[] = {
	/* Running a code object or a frame. */
	{ "PyEval_EvalFrameEx", ALL },
	{ "PyEval_EvalFrame", ALL },
	{ "PyEval_EvalCodeEx", ALL },
	{ "PyEval_EvalCode", ALL },
	{ "_PyEval_EvalCodeWithName", PY_VER(3, 6), PY_VER(3, 9) },
	{ "_PyEval_EvalCode", PY_VER(3, 9), PY_VER(3, 9) },
	{ "_PyEval_Vector", PY_VER(3, 10), 0 },
	/* Calling a Python function. */
	{ "call_function", PY_VER(2, 7), PY_VER(3, 8) },
	{ "ext_do_call", PY_VER(2, 7), PY_VER(2, 7) },
	{ "function_call", PY_VER(2, 7), PY_VER(3, 8) },
	{ "function_code_fastcall", PY_VER(3, 7), PY_VER(3, 9) },
	{ "_PyFunction_FastCall", PY_VER(3, 6), PY_VER(3, 6) },
	{ "_PyFunction_FastCallDict", PY_VER(3, 6), PY_VER(3, 8) },
	{ "_PyFunction_FastCallKeywords", PY_VER(3, 6), PY_VER(3, 7) },
	{ "_PyFunction_Vectorcall", PY_VER(3, 8), 0 },
	/* Bound methods, descriptors and slots that call on. */
	{ "instancemethod_call", ALL },
	{ "method_call", PY_VER(3, 6), PY_VER(3, 8) },
	{ "method_vectorcall", PY_VER(3, 8), 0 },
	{ "method_vectorcall_O", PY_VER(3, 8), 0 },
	{ "method_vectorcall_NOARGS", PY_VER(3, 8), 0 },
	{ "method_vectorcall_FASTCALL", PY_VER(3, 8), 0 },
	{ "method_vectorcall_FASTCALL_KEYWORDS", PY_VER(3, 8), 0 },
	{ "method_vectorcall_FASTCALL_KEYWORDS_METHOD", PY_VER(3, 9), 0 },
	{ "method_vectorcall_VARARGS", PY_VER(3, 8), 0 },
	{ "method_vectorcall_VARARGS_KEYWORDS", PY_VER(3, 8), 0 },
	{ "methoddescr_call", PY_VER(2, 7), PY_VER(3, 7) },
	{ "classmethoddescr_call", ALL },
	{ "wrapperdescr_call", ALL },
	{ "wrapper_call", ALL },
	{ "slot_tp_call", ALL },
	{ "type_call", ALL },
	{ "type_vectorcall", PY_VER(3, 10), 0 },
	{ "wrap_call", ALL },
	{ "instance_call", PY_VER(2, 7), PY_VER(2, 7) },
	{ "sm_call", PY_VER(3, 10), 0 },
	{ "call_maybe", PY_VER(2, 7), PY_VER(3, 8) },
	{ "vectorcall_maybe", PY_VER(3, 9), 0 },
	{ "call_method", PY_VER(2, 7), PY_VER(3, 8) },
	{ "vectorcall_method", PY_VER(3, 9), 0 },
	{ "partial_call", PY_VER(3, 6), 0 },
	{ "partial_vectorcall", PY_VER(3, 9), 0 },
	{ "partial_vectorcall_fallback", PY_VER(3, 9), 0 },
	/* Calling a C function. */
	{ "PyCFunction_Call", ALL },
	{ "_PyCFunction_FastCallDict", PY_VER(3, 6), PY_VER(3, 8) },
	{ "_PyCFunction_FastCallKeywords", PY_VER(3, 6), PY_VER(3, 7) },
	{ "_PyMethodDef_RawFastCallDict", PY_VER(3, 7), PY_VER(3, 8) },
	{ "_PyMethodDef_RawFastCallKeywords", PY_VER(3, 7), PY_VER(3, 8) },
	{ "cfunction_call_varargs", PY_VER(3, 8), PY_VER(3, 8) },
	{ "cfunction_call", PY_VER(3, 9), 0 },
	{ "cfunction_vectorcall_O", PY_VER(3, 8), 0 },
	{ "cfunction_vectorcall_NOARGS", PY_VER(3, 8), 0 },
	{ "cfunction_vectorcall_FASTCALL", PY_VER(3, 8), 0 },
	{ "cfunction_vectorcall_FASTCALL_KEYWORDS", PY_VER(3, 8), 0 },
	{ "cfunction_vectorcall_FASTCALL_KEYWORDS_METHOD", PY_VER(3, 9), 0 },
	/* The generic ways to call any object. */
	{ "PyObject_Call", ALL },
	{ "_PyObject_Call", PY_VER(3, 9), 0 },
	{ "PyObject_CallObject", ALL },
	{ "PyEval_CallObjectWithKeywords", ALL },
	{ "PyObject_CallFunction", ALL },
	{ "_PyObject_CallFunction_SizeT", ALL },
	{ "PyObject_CallFunctionObjArgs", ALL },
	{ "PyObject_CallMethod", ALL },
	{ "PyObject_CallMethodObjArgs", ALL },
	{ "PyEval_CallFunction", ALL },
	{ "PyEval_CallMethod", ALL },
	{ "_PyObject_CallFunctionVa", PY_VER(3, 7), 0 },
	{ "_PyObject_CallMethod_SizeT", ALL },
	{ "_PyObject_CallMethodId_SizeT", PY_VER(3, 6), PY_VER(3, 12) },
	{ "_PyObject_CallMethodFormat", PY_VER(3, 11), 0 },
	{ "_PyObject_FastCallDictTstate", PY_VER(3, 9), 0 },
	{ "call_function_tail", PY_VER(2, 7), PY_VER(2, 7) },
	{ "_PyObject_CallMethod", PY_VER(3, 11), 0 },
	{ "_PyObject_CallMethodId", PY_VER(3, 6), 0 },
	{ "_PyObject_CallMethodIdObjArgs", PY_VER(3, 6), 0 },
	{ "PyObject_CallOneArg", PY_VER(3, 9), 0 },
	{ "_PyObject_CallOneArg", PY_VER(3, 8), PY_VER(3, 8) },
	{ "_PyObject_CallNoArg", PY_VER(3, 8), PY_VER(3, 12) },
	{ "_PyObject_CallNoArgs", PY_VER(3, 13), 0 },
	{ "_PyObject_CallNoArgTstate", PY_VER(3, 10), PY_VER(3, 12) },
	{ "PyObject_CallNoArgs", PY_VER(3, 9), 0 },
	{ "object_vacall", PY_VER(3, 7), 0 },
	{ "_PyObject_FastCall", PY_VER(3, 7), PY_VER(3, 12) },
	{ "_PyObject_FastCallTstate", PY_VER(3, 9), PY_VER(3, 12) },
	{ "_PyObject_FastCallDict", PY_VER(3, 6), PY_VER(3, 8) },
	{ "_PyObject_FastCallKeywords", PY_VER(3, 6), PY_VER(3, 7) },
	{ "_PyObject_FastCall_Prepend", PY_VER(3, 7), PY_VER(3, 8) },
	{ "_PyObject_Call_Prepend", PY_VER(3, 6), 0 },
	{ "_PyObject_MakeTpCall", PY_VER(3, 8), 0 },
	{ "_PyObject_Vectorcall", PY_VER(3, 8), PY_VER(3, 8) },
	{ "_PyObject_VectorcallTstate", PY_VER(3, 9), 0 },
	{ "PyObject_Vectorcall", PY_VER(3, 9), 0 },
	{ "PyObject_VectorcallDict", PY_VER(3, 9), 0 },
	{ "_PyObject_VectorcallDictTstate", PY_VER(3, 13), 0 },
	{ "_PyObject_CallMethodIdOneArg", PY_VER(3, 9), PY_VER(3, 12) },
	{ "PyObject_CallMethodOneArg", PY_VER(3, 9), 0 },
	{ "PyObject_CallMethodNoArgs", PY_VER(3, 9), 0 },
	{ "PyObject_VectorcallMethod", PY_VER(3, 9), 0 },
	{ "PyVectorcall_Call", PY_VER(3, 8), 0 },
	{ "_PyVectorcall_Call", PY_VER(3, 13), 0 },
	/* Calling a trace or profile function, or a monitoring callback. */
	{ "call_trace", PY_VER(3, 6), PY_VER(3, 11) },
	{ "call_trace_protected", PY_VER(2, 7), PY_VER(3, 11) },
	{ "call_exc_trace", PY_VER(3, 6), PY_VER(3, 11) },
	{ "trace_call_function", PY_VER(3, 9), PY_VER(3, 10) },
	{ "call_profile_func", PY_VER(3, 13), 0 },
	{ "profile_trampoline", ALL },
	{ "trace_trampoline", ALL },
	{ "_Py_call_instrumentation", PY_VER(3, 12), 0 },
	{ "_Py_call_instrumentation_2args", PY_VER(3, 12), 0 },
	{ "_Py_call_instrumentation_arg", PY_VER(3, 12), 0 },
	{ "call_instrumentation_vector", PY_VER(3, 12), 0 },
};

bool call_machinery(unsigned vkey, const char *name)
{
	size_t len;

	if (!name)
		return false;
	/* A compiler's clone keeps its function's name before a dot (.isra.0, .cold). */
	len = strcspn(name, ".");
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strncmp(table[i].name, name, len) && !table[i].name[len])
			return vkey >= table[i].since && (!table[i].until || vkey <= table[i].until);
	return false;
}

// A C extension for the --native tests, built by the tests themselves
// against each interpreter's headers (as C++, so a demangled name can be
// checked).  Each function gives a known native call chain:
//   call_through(fn)  C level_one -> level_two -> calls fn back in Python
//   sleep_in_c()      releases the GIL, then pystack_test::blocking_call(int)
//   start_c_thread()  a thread that never touches Python: c_thread_main
//   block_if(flag)    returns at once, or (flag true) releases the GIL and
//                     blocks in jit_blocked: called from a hot loop, which
//                     a JIT build runs as machine code of its own
// The lines marked CALL-* are what the tests expect as the source lines.
#include <Python.h>
#include <pthread.h>
#include <time.h>

#if PY_MAJOR_VERSION >= 3
#define INIT_NAME PyInit_pystack_native_test
#else
#define INIT_NAME initpystack_native_test
#endif

#define NOINLINE __attribute__((noinline))

extern "C" {
NOINLINE PyObject *level_two(PyObject *fn);
NOINLINE PyObject *level_one(PyObject *fn);
NOINLINE void *c_thread_main(void *arg);
NOINLINE void jit_blocked(void);
}

static volatile int keep_frames;

PyObject *level_two(PyObject *fn)
{
	PyObject *r = PyObject_CallObject(fn, NULL);  // CALL-TWO
	keep_frames++;
	return r;
}

PyObject *level_one(PyObject *fn)
{
	PyObject *r = level_two(fn);  // CALL-ONE
	keep_frames++;
	return r;
}

namespace pystack_test {
NOINLINE void blocking_call(int depth)
{
	if (depth > 0) {
		blocking_call(depth - 1);  // CALL-RECURSE
		keep_frames++;
		return;
	}
	for (;;) {
		struct timespec ts = { 1000, 0 };
		nanosleep(&ts, NULL);  // CALL-SLEEP
	}
}
}

void *c_thread_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 1000, 0 };
		nanosleep(&ts, NULL);  // CALL-CTHREAD
	}
	return NULL;
}

void jit_blocked(void)
{
	for (;;) {
		struct timespec ts = { 1000, 0 };
		nanosleep(&ts, NULL);  // CALL-JIT
	}
}

static PyObject *block_if(PyObject *self, PyObject *flag)
{
	int yes = PyObject_IsTrue(flag);

	(void)self;
	if (yes < 0)
		return NULL;
	if (yes) {
		Py_BEGIN_ALLOW_THREADS
		jit_blocked();
		Py_END_ALLOW_THREADS
	}
	Py_RETURN_NONE;
}

static PyObject *call_through(PyObject *self, PyObject *fn)
{
	(void)self;
	return level_one(fn);
}

static PyObject *sleep_in_c(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	Py_BEGIN_ALLOW_THREADS
	pystack_test::blocking_call(2);
	Py_END_ALLOW_THREADS
	Py_RETURN_NONE;
}

static PyObject *start_c_thread(PyObject *self, PyObject *unused)
{
	pthread_t t;

	(void)self, (void)unused;
	if (pthread_create(&t, NULL, c_thread_main, NULL))
		return PyErr_SetFromErrno(PyExc_OSError);
	return PyLong_FromLong((long)pthread_self() ? 1 : 0);
}

static PyMethodDef methods[] = {
	{ "call_through", call_through, METH_O, NULL },
	{ "sleep_in_c", sleep_in_c, METH_NOARGS, NULL },
	{ "start_c_thread", start_c_thread, METH_NOARGS, NULL },
	{ "block_if", block_if, METH_O, NULL },
	{ NULL, NULL, 0, NULL },
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "pystack_native_test", NULL, -1, methods,
	NULL, NULL, NULL, NULL,
};

extern "C" PyMODINIT_FUNC INIT_NAME(void)
{
	return PyModule_Create(&module);
}
#else
extern "C" PyMODINIT_FUNC INIT_NAME(void)
{
	Py_InitModule("pystack_native_test", methods);
}
#endif

/*
 * pystack's own error codes.
 *
 * Functions below the commands return 0 on success or a negative code: either
 * -errno, or -PS_E_xxx for the failures that have no errno of their own.  The
 * PS_E codes start well above any errno value so the two never collide.
 * ps_fail() also says why, in a caller's detail buffer.
 */
#ifndef PYSTACK_ERRORS_H
#define PYSTACK_ERRORS_H

#include <stddef.h>

#define PS_ERRORS \
	PS_ERROR(GONE,		"the process exited") \
	PS_ERROR(BAD_READ,	"remote memory could not be read (the process is changing, or the data is corrupt)") \
	PS_ERROR(NOT_PYTHON,	"no CPython interpreter found in the process") \
	PS_ERROR(UNSUPPORTED,	"unsupported CPython version or build") \
	PS_ERROR(NO_INTERP,	"the interpreter is not initialised (or is shutting down)") \
	PS_ERROR(BAD_DATA,	"interpreter data failed validation") \
	PS_ERROR(TRACED,	"the process is already traced by another program") \
	PS_ERROR(KTHREAD,	"kernel thread") \
	PS_ERROR(ZOMBIE,	"zombie process") \
	PS_ERROR(TIMEOUT,	"the process did not stop in time") \
	PS_ERROR(BAD_ELF,	"not a readable ELF file") \
	PS_ERROR(DEFERRED,	"not read yet: the read was deferred (see rmem_defer)") \
	PS_ERROR(NOT_CORE,	"not a core file of an x86-64 Linux process") \
	PS_ERROR(BAD_CORE,	"the core file is damaged") \
	PS_ERROR(MISMATCH,	"a file is not the one the process had mapped (another build ID)")

enum ps_error {
	PS_E_BASE = 4096,
#define PS_ERROR(name, text) PS_E_##name,
	PS_ERRORS
#undef PS_ERROR
};

/* A static description of err (negative -errno or -PS_E_xxx). */
const char *ps_strerror(int err);

/* Write the reason (printf-style) into detail (when it has room) and return err. */
int ps_fail(int err, char *detail, size_t ndetail, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif

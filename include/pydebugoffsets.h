/*
 * The layout an interpreter publishes of itself: _Py_DebugOffsets, at the
 * start of _PyRuntime from 3.13 on.  It starts with the cookie "xdebugpy",
 * the version (PY_VERSION_HEX) and whether the build is free-threaded,
 * then the size and field offsets of each struct an outside reader needs.
 * Its own layout changes between minor versions (and between
 * pre-releases), so each one this build knows is described by name, from
 * the release it first appeared in; an image of another is refused.
 */
#ifndef PYSTACK_PYDEBUGOFFSETS_H
#define PYSTACK_PYDEBUGOFFSETS_H

#include <stdbool.h>
#include <stddef.h>

struct py_offsets;
struct py_version;

/* How many bytes from the start of _PyRuntime hold the largest layout known. */
#define PYDEBUG_MAX_BYTES 1024

/*
 * The header of an image: 0 with *hexversion and *free_threaded set, or
 * -PS_E_BAD_DATA when buf does not start with the cookie.
 */
int pydebug_peek(const void *buf, size_t len, unsigned *hexversion, bool *free_threaded);

/*
 * Take every field the image publishes into off, which holds the generated
 * table of the same version and build (what the image does not publish
 * stays as it is).  Checks the cookie, the version against expect, that
 * the image's layout is one this build knows, and every offset against
 * the size of its struct.  Returns 0; -PS_E_UNSUPPORTED for a layout this
 * build does not know (a pre-release before it, a newer version); or
 * -PS_E_BAD_DATA; with why filled in.  On failure off is unchanged.
 * *differ receives how many fields differed from the table (0 on failure).
 */
int pydebug_import(const void *buf, size_t len, const struct py_version *expect,
		   struct py_offsets *off, unsigned *differ, char *why, size_t nwhy);

/*
 * The names of the 64-bit words of the layout for version hex ("cookie",
 * "version", "free_threaded", then "thread_state.native_thread_id" and so
 * on), or NULL when none is known; for tests and diagnostics.
 */
const char *const *pydebug_layout(unsigned hexversion, size_t *count);

#endif

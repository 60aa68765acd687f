/*
 * Fake CPython objects in fake memory, laid out with the real generated
 * tables: strings, bytes, code objects, both frame models, thread states and
 * interpreters.  The unit tests (and the fuzzer's seeds) read them back with
 * the real readers.
 */
#ifndef PYSTACK_FAKEPY_H
#define PYSTACK_FAKEPY_H

#include <stdint.h>

#include "pyruntime.h"
#include "rmem.h"

#define FAKEPY_BASE 0x100000000ull

struct fakepy {
	struct pyruntime rt;
	unsigned char *img;	/* the image, mapped at FAKEPY_BASE by fakepy_map() */
	size_t used, cap;
};

/* A layout for major.minor from the generated tables, with fake type objects. */
void fakepy_init(struct fakepy *fp, unsigned major, unsigned minor);
void fakepy_free(struct fakepy *fp);

/* Allocate size zeroed bytes (16-aligned) and return their address. */
uint64_t fakepy_alloc(struct fakepy *fp, size_t size);
void fakepy_put(struct fakepy *fp, uint64_t addr, const void *data, size_t len);
void fakepy_put64(struct fakepy *fp, uint64_t addr, uint64_t v);
void fakepy_put32(struct fakepy *fp, uint64_t addr, uint32_t v);

/* A str from UTF-8 (3.x: the narrowest PEP 393 kind; 2.7: a byte string). */
uint64_t fakepy_str(struct fakepy *fp, const char *utf8);
uint64_t fakepy_bytes(struct fakepy *fp, const void *data, size_t len);
/* A code object; qualname is ignored before 3.11. */
uint64_t fakepy_code(struct fakepy *fp, const char *name, const char *qualname, const char *file,
		     int firstlineno, const void *linetable, size_t ltlen);
/*
 * A frame running code at byte offset addr, called from back.  For 3.11+
 * owner is the _PyInterpreterFrame owner (3 for a C-stack shim).
 */
uint64_t fakepy_frame(struct fakepy *fp, uint64_t code, long addr, uint64_t back, int owner);
/* An interpreter with its threads (tstates newest first, as CPython links them). */
uint64_t fakepy_interp(struct fakepy *fp);
uint64_t fakepy_thread(struct fakepy *fp, uint64_t interp, uint64_t ident, uint64_t native,
		       uint64_t top_frame);
/* Point the runtime (or interp_head) at interp. */
void fakepy_set_head(struct fakepy *fp, uint64_t interp);

/* Map the image into a new fake reader. */
struct rmem *fakepy_map(const struct fakepy *fp);

#endif

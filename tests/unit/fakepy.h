/*
 * Fake CPython objects in fake memory, laid out with the real generated
 * tables: strings, bytes, code objects, both frame models, thread states and
 * interpreters, numbers, containers, classes and instances.  The unit tests (and the fuzzer's seeds) read them back with
 * the real readers.
 */
#ifndef PYSTACK_FAKEPY_H
#define PYSTACK_FAKEPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyruntime.h"
#include "rmem.h"

#define FAKEPY_BASE 0x100000000ull

struct fakepy {
	struct pyruntime rt;
	unsigned char *img;	/* the image, mapped at FAKEPY_BASE by fakepy_map() */
	size_t used, cap;
};

/*
 * A layout for major.minor from the generated tables, with fake type
 * objects: the default build, or (3.13+) the free-threaded one, whose
 * object header is 32 bytes.
 */
void fakepy_init(struct fakepy *fp, unsigned major, unsigned minor);
void fakepy_init_build(struct fakepy *fp, unsigned major, unsigned minor, bool free_threaded);
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

/*
 * For pyobj.c: numbers, containers, classes and their instances.  A 3.x
 * int from v, or 2.7's int; an int of any size from its digits (base 2^30,
 * least significant first); a 2.7 unicode from code units.
 */
uint64_t fakepy_int(struct fakepy *fp, int64_t v);
uint64_t fakepy_long(struct fakepy *fp, bool neg, const uint32_t *digits, size_t n);
uint64_t fakepy_float(struct fakepy *fp, double v);
uint64_t fakepy_unicode27(struct fakepy *fp, const uint32_t *units, size_t n);
uint64_t fakepy_tuple(struct fakepy *fp, size_t n, const uint64_t *items);
uint64_t fakepy_list(struct fakepy *fp, size_t n, const uint64_t *items);
/*
 * A dict of n entries in this order (2.7: table slots 0..n-1); a 0 value
 * is a deleted entry.  Its keys are str-only entries on 3.11+ when every
 * key is a str.
 */
uint64_t fakepy_dict(struct fakepy *fp, size_t n, const uint64_t *keys, const uint64_t *values);
/*
 * An empty dict over the keys every empty dict shares (Py_EMPTY_KEYS), laid
 * out as 3.11.14, 3.12.9 and 3.13.2 on do: one slot with 8 bytes of indices
 * (before 3.11: an empty dict of its own).
 */
uint64_t fakepy_empty_dict(struct fakepy *fp);
/* Split tables (3.6+): shared str keys, values for them (0 where unset) with
 * count of them in insertion order (3.11+), and a dict over both. */
uint64_t fakepy_shared_keys(struct fakepy *fp, size_t n, const uint64_t *keys);
uint64_t fakepy_values(struct fakepy *fp, size_t n, const uint64_t *values, size_t count,
		       const uint8_t *order);
uint64_t fakepy_split_dict(struct fakepy *fp, uint64_t keys, uint64_t values, size_t used);
/* A set (or frozenset) in this table order; a 0 item is a deleted entry. */
uint64_t fakepy_set(struct fakepy *fp, bool frozen, size_t n, const uint64_t *items);
/*
 * A class as the version makes one for instances with a __dict__: at
 * tp_dictoffset (<= 3.10), managed (3.11, 3.12), inline values (3.13);
 * cached_keys its ht_cached_keys (3.x).
 */
uint64_t fakepy_class(struct fakepy *fp, const char *qualname, const char *module,
		      uint64_t cached_keys);
/*
 * An instance of cls with its dict, or (3.11+) its split values from
 * fakepy_values() (3.13: copied inline; a 0 values marks them invalid).
 */
uint64_t fakepy_instance(struct fakepy *fp, uint64_t cls, uint64_t dict, uint64_t values);
uint64_t fakepy_cell(struct fakepy *fp, uint64_t ref);

/* Map the image into a new fake reader. */
struct rmem *fakepy_map(const struct fakepy *fp);

#endif

/*
 * The fuzz target over the CPython readers, and the memory images it reads.
 *
 * An image is what the readers would see of one process: which CPython it
 * runs, the addresses pyruntime_locate() found in its binary, a few objects
 * to look at, and the regions of its memory the readers read.  Seeds are
 * images of real processes (build/unit-tests capture, see
 * tools/capture_seeds.sh); the fuzzer mutates them.  The format, all
 * integers little-endian, nothing aligned:
 *
 *	"PSFZ"		magic
 *	u8		format version, 2 (1 is read too)
 *	u8 u8 u8	CPython major, minor, micro (the layout is the
 *			generated table of major.minor and the build,
 *			src/pyoffsets.c)
 *	u8		heads in use, at most PYRT_MAX_HEADS
 *	u8		roots, at most FUZZIMG_MAX_ROOTS
 *	u16		flags: FUZZIMG_FREE_THREADED, else 0
 *	u32		regions, at most FUZZIMG_MAX_REGIONS
 *	u64 x 28	struct pyruntime's addresses, in the order of
 *			fuzzimg_fields[] (runtime, heads[4], tstate_current,
 *			the types, the singletons, hash_secret,
 *			type_frozendict; format 1 stops before it)
 *	u64 x roots	objects to repr, look into, and look up in
 *	regions		each: u64 address, u32 length, length bytes
 *
 * Nothing may follow the last region.  Regions may overlap (the later
 * wins); none may wrap past the end of the address space.
 */
#ifndef PYSTACK_FUZZ_READERS_H
#define PYSTACK_FUZZ_READERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pyruntime.h"
#include "rmem.h"

#define FUZZIMG_MAGIC		"PSFZ"
#define FUZZIMG_VERSION		2	/* 1: without type_frozendict */
/* The image is of a free-threaded build. */
#define FUZZIMG_FREE_THREADED	1
#define FUZZIMG_MAX_ROOTS	64
#define FUZZIMG_MAX_REGIONS	4096
#define FUZZIMG_NFIELDS		28	/* format 1 has the first 27 */

/* The byte offsets in struct pyruntime of the 27 addresses, in image order. */
extern const size_t fuzzimg_fields[FUZZIMG_NFIELDS];

struct fuzzimg_region {
	uint64_t addr;
	size_t len;
	const unsigned char *data;
};

/* What an image holds, once parsed; the regions are in a fake reader. */
struct fuzzimg {
	struct pyruntime rt;
	uint64_t roots[FUZZIMG_MAX_ROOTS];
	size_t nroots;
	struct rmem *mem;	/* free with rmem_free() */
};

/* Parse an image: 0, or -EINVAL for anything malformed (nothing is then allocated). */
int fuzzimg_parse(const uint8_t *data, size_t size, struct fuzzimg *img);

/* Write an image of rt, roots and the regions to f: 0 or -EIO. */
int fuzzimg_write(FILE *f, const struct pyruntime *rt, const uint64_t *roots, size_t nroots,
		  const struct fuzzimg_region *reg, size_t nreg);

/* What one run of the readers found, for the seed checks. */
struct fuzz_stats {
	bool image;		/* the input parsed as an image */
	int err;		/* of the first pyread_snapshot() */
	size_t threads, frames, vars, names, partial;
};

/*
 * The readers, as a session runs them over one process: two snapshots with
 * --locals through one code cache (the second revalidates what the first
 * decoded), each interpreter's thread names, and for each root its repr,
 * type name, int value, cell contents, an attribute and a dict entry.  What
 * they found is written to out as escaped text; a capture compares the text
 * of the live process with that of its image.
 */
void fuzz_read_all(struct rmem *m, const struct pyruntime *rt, const uint64_t *roots,
		   size_t nroots, FILE *out, struct fuzz_stats *st);

/* One input: an image through the readers, and the whole input through the pure decoders. */
void fuzz_one(const uint8_t *data, size_t size, struct fuzz_stats *st);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

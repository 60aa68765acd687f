/*
 * The fuzz target over the core-file reader (src/corefile.c): each input is
 * a whole core file.  Seeds are small synthetic cores and cut or damaged
 * copies of them (tests/fuzz/seeds-core, made by tools/gen_core_seeds.py).
 */
#ifndef PYSTACK_FUZZ_CORE_H
#define PYSTACK_FUZZ_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one run found, for the seed checks. */
struct fuzz_core_stats {
	int err;		/* of corefile_open() */
	size_t threads, maps;
	size_t reads, good;	/* reads tried, and those that read */
};

/*
 * One input: opened as a core from a memfd; its accessors, its maps, and
 * reads through rmem_core_new() at the maps' edges and middles, at the
 * threads' registers, at the fault address, at pointers found there and
 * at a few addresses taken from the input.  Files its NT_FILE note names
 * are looked for under a directory made for the run (see fuzz_core_root),
 * never in the system.
 */
void fuzz_core_one(const uint8_t *data, size_t size, struct fuzz_core_stats *st);

#endif

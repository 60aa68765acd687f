/*
 * Code objects: what a frame's code says about it (name, qualified name,
 * file, line table), decoded once and kept for the life of a session.
 *
 * A cached entry is trusted for a later snapshot only after its header has
 * been read again and found unchanged, so a code object freed and replaced
 * at the same address is decoded afresh.  Loads are batched: the headers
 * of all new code objects in one read, then all their strings.
 */
#ifndef PYSTACK_PYCODE_H
#define PYSTACK_PYCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyruntime;
struct rmem;

struct pycode {
	uint64_t addr;
	bool valid;		/* a readable code object */
	int err;		/* why not, when !valid */
	char *name;
	char *qualname;		/* NULL before 3.11 */
	char *file;
	int firstlineno;
	int firsttraceable;	/* 3.11+: first instruction of the body, in code units */
	unsigned char *linetable;
	size_t linetable_len;
	uint64_t code_start;	/* 3.11+: address of the first code unit */
	int64_t code_units;	/* 3.11+: how many there are (the object's ob_size) */
	/* Free-threaded 3.14+: each thread's copy of the bytecode (co_tlbc), as last read. */
	uint64_t tlbc_array;	/* the _PyCodeArray, 0 if none */
	uint64_t *copies;	/* its entries, copies[0] the code object's own */
	size_t ncopies;
	uint64_t check[6];	/* the header words a revalidation compares */
	uint64_t gen;		/* the snapshot that last validated it */
	/* The frame's variables, loaded on demand (pycode_load_vars). */
	bool vars_loaded;
	int vars_err;		/* why they could not be read, or 0 */
	size_t nvars;		/* slots: localsplus (3.11+), or f_localsplus (<=3.10) */
	char **varnames;	/* one per slot */
	unsigned char *varkinds; /* one per slot: PYCODE_VAR_* bits */
};

/* What a frame's variable slot holds. */
#define PYCODE_VAR_ARG		0x01	/* an argument */
#define PYCODE_VAR_CELL		0x02	/* a cell object (a variable closures capture) */
#define PYCODE_VAR_FREE		0x04	/* a cell from an enclosing scope */
#define PYCODE_VAR_HIDDEN	0x08	/* not a variable Python shows (3.12+ inlined comprehensions) */

/* At most this many variable slots per code object are read. */
#define PYCODE_MAX_VARS 1024

struct pycode_cache;

struct pycode_cache *pycode_cache_new(void);
void pycode_cache_free(struct pycode_cache *c);

/*
 * Make sure every code object in addrs is decoded and valid for snapshot
 * generation gen, reading what is new or changed.
 */
void pycode_load(struct pycode_cache *c, struct rmem *m, const struct pyruntime *rt,
		 const uint64_t *addrs, size_t n, uint64_t gen);

/*
 * Load the variable names and kinds of the code objects in addrs (already
 * loaded and valid); what was loaded before is kept.
 */
void pycode_load_vars(struct pycode_cache *c, struct rmem *m, const struct pyruntime *rt,
		      const uint64_t *addrs, size_t n);

/* The entry for addr after pycode_load(), or NULL.  Owned by the cache. */
const struct pycode *pycode_get(const struct pycode_cache *c, uint64_t addr);

/*
 * Where the bytecode a frame at instruction address pos runs starts, for a
 * frame that runs copy tlbc of it (free-threaded 3.14+; 0 elsewhere).  The
 * copies are read with the code object, outside the stop; one that does
 * not hold pos (made or replaced since) is read again.  0 if none holds it.
 */
uint64_t pycode_bytecode(struct pycode_cache *c, struct rmem *m, const struct pyruntime *rt,
			 uint64_t addr, int32_t tlbc, uint64_t pos);

/*
 * The line for an instruction at byte offset addr of code (negative: not
 * started), or -1 where the table has none.
 */
int pycode_line(const struct pycode *code, const struct pyruntime *rt, long addr);

#endif

/*
 * Reading another process's memory.
 *
 * struct rmem is the one way every CPython reader touches the target.  A
 * backend (the live process, or an in-memory fake for tests and fuzzing)
 * supplies a vectored read; this layer adds a page cache, so the many small
 * reads of a stack walk cost few system calls, and a prefetch that fetches
 * the pages behind many independent addresses in one call.
 *
 * Errors: 0, or -PS_E_BAD_READ (address not mapped), -PS_E_GONE (process
 * exited), -EPERM (no permission), or another -errno.
 */
#ifndef PYSTACK_RMEM_H
#define PYSTACK_RMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rmem;

/* One range of a vectored read; the backend sets err (0 or negative). */
struct rmem_range {
	uint64_t addr;
	void *buf;
	size_t len;
	int err;
};

struct rmem_ops {
	/*
	 * Fill every range, setting each range's err.  Returns 0, or a
	 * negative error that applies to the whole call (process gone,
	 * permission denied); then the ranges' err are undefined.
	 */
	int (*readv)(struct rmem *m, struct rmem_range *r, size_t n);
	void (*destroy)(struct rmem *m);
};

struct rmem_stats {
	uint64_t calls;		/* backend calls (system calls for a live process) */
	uint64_t bytes;		/* bytes fetched from the backend */
	uint64_t hits;		/* reads answered from the cache */
};

/*
 * The cache holds pages of RMEM_PAGE bytes, each filled in blocks of
 * RMEM_BLOCK.  Cold target memory costs per byte copied as well as per page
 * pinned, so a first miss on a page fetches only the blocks asked for; a
 * miss in a later fill fetches the rest of the page, which is what walking
 * a dense region (a frame stack) needs.  Within one fill, several ranges on
 * a page are independent objects and fetch only their blocks.  Each fill
 * is one range per page.  The bytes of a page's blocks are kept in a store
 * of blocks, taken in the order fills need them, not in a page-sized
 * buffer per slot: a dump touches a few hundred bytes of each of hundreds
 * of pages, and every page of memory this process touches the first time
 * costs it a page fault.
 */
#define RMEM_BLOCK	256
#define RMEM_PAGE	4096
#define RMEM_BLOCKS	(RMEM_PAGE / RMEM_BLOCK)	/* at most 64: one bit each in a mask */

/* A set of a page's blocks, one bit each. */
typedef uint64_t rmem_blocks;
/*
 * No process has memory at or above this address (x86-64 user space ends
 * below 2^47, or 2^56 with five-level paging): a read reaching it fails at
 * once, so no range arithmetic near 2^64 can wrap.
 */
#define RMEM_ADDR_END	(1ULL << 57)
#define RMEM_SLOTS	2048
#define RMEM_WAYS	4	/* a page may sit in any slot of its set of four */
#define RMEM_STORE	(RMEM_SLOTS * RMEM_BLOCKS)	/* blocks of the store (8 MB) */

/*
 * The common part of every backend, which embeds it as its first member.
 * Only backends look inside; everyone else uses the functions below.
 */
struct rmem {
	const struct rmem_ops *ops;
	uint64_t gen;			/* a slot is valid when its gen matches */
	/*
	 * The ways of every set: 0 for a way never used, else 1 + the index
	 * of its slot.  Slots are taken in the order ways first need them, so
	 * a dump that caches a hundred pages touches a few pages of this
	 * structure, not all of it (each page of memory first touched is a
	 * page fault, and on a virtual machine a costly one).
	 */
	uint16_t way[RMEM_SLOTS];
	uint32_t nslots;		/* slots taken */
	struct rmem_slot {
		uint64_t page;
		uint64_t gen;
		rmem_blocks valid;	/* one bit per block */
		rmem_blocks used;	/* blocks reads took data from while recording */
		rmem_blocks pending;	/* blocks asked for in the batch that claimed it */
		uint16_t misses;
		uint32_t batch;		/* the fill batch that last claimed it */
		uint32_t tick;		/* when it was last claimed, for eviction */
		uint16_t at[RMEM_BLOCKS];	/* where each valid block is in the store */
	} slot[RMEM_SLOTS];
	uint32_t batches;		/* fill batches started */
	uint32_t ticks;
	unsigned char (*store)[RMEM_BLOCK];	/* RMEM_STORE blocks, lazily allocated */
	uint32_t nstore;		/* blocks of the store taken in this generation */
	uint32_t nready;		/* blocks of the store populated ahead of use */
	struct rmem_stats stats;
	bool recording;			/* mark what reads use (see rmem_replay) */
	bool replayed;			/* the cache holds a replay: prefetch only unseen pages */
	struct rmem_range *rec;		/* used blocks of pages no longer cached */
	size_t nrec, caprec;
	bool deferring;			/* misses are noted in deferred, not read */
	struct rmem_range *deferred;
	size_t ndeferred, capdeferred;
};

/*
 * For backends: set up the common part, which must be zeroed (allocated
 * with calloc: the pages of a large zeroed allocation are not touched
 * until used).
 */
void rmem_init(struct rmem *m, const struct rmem_ops *ops);

/* A live process, read with process_vm_readv (or /proc/PID/mem). */
struct rmem *rmem_live_new(pid_t pid);

/*
 * An empty fake address space; add regions with rmem_fake_add() (the data
 * is copied).  Reads outside every region fail with -PS_E_BAD_READ.
 */
struct rmem *rmem_fake_new(void);
void rmem_fake_add(struct rmem *m, uint64_t addr, const void *data, size_t len);

void rmem_free(struct rmem *m);

/* Read len bytes at addr into buf; all or nothing. */
int rmem_read(struct rmem *m, uint64_t addr, void *buf, size_t len);

/* Read a pointer-sized (8-byte) little-endian value. */
int rmem_read_u64(struct rmem *m, uint64_t addr, uint64_t *out);

/*
 * Read a NUL-terminated string of at most max bytes (not counting the NUL)
 * into buf (of max + 1 bytes).  Returns the length, or a negative error;
 * a string without a NUL within max bytes is cut at max and *truncated set.
 */
long rmem_read_cstr(struct rmem *m, uint64_t addr, char *buf, size_t max,
		    bool *truncated);

/*
 * Fetch into the cache the blocks that hold [addrs[i], addrs[i] + len) for
 * every i, in one backend call.  Failures are silent: a later rmem_read()
 * of a bad address reports its own error.
 */
void rmem_prefetch(struct rmem *m, const uint64_t *addrs, size_t n, size_t len);

/*
 * Fetch into the cache the blocks that hold each range (buf unused), and no
 * more of their pages, in as few backend calls as the ranges allow: for a
 * reader that knows how much it will need (a walk down a stack of frames
 * laid end to end).  After a replay, only ranges on pages never seen.
 */
void rmem_prefetch_ranges(struct rmem *m, const struct rmem_range *r, size_t n);

/*
 * Read several ranges straight into their buffers, bypassing the cache, in
 * as few backend calls as possible; each range's err tells how it went.
 * Returns 0, or an error that applies to all (process gone, no permission).
 */
int rmem_read_ranges(struct rmem *m, struct rmem_range *r, size_t n);

/* Forget every cached page (the target ran, or a new snapshot starts). */
void rmem_invalidate(struct rmem *m);

/*
 * Recording: while on, the blocks that reads take their data from are
 * marked.  rmem_replay() fetches every marked block again, in as few
 * vectored reads as the ranges allow, and forgets the marks.  A read of a
 * running process, recorded, tells what a read of the stopped process will
 * need, so the stopped read can be served by one system call: only what
 * was used, not what was fetched around it (whole pages, prefetches).
 * rmem_set_recording() returns the previous setting, so a reader can leave
 * out reads it will not repeat.
 */
bool rmem_set_recording(struct rmem *m, bool on);
void rmem_replay(struct rmem *m);

/*
 * Deferring: while on, a read that the cache cannot answer fails with
 * -PS_E_DEFERRED and is noted; rmem_fetch_deferred() then fetches all that
 * was noted with one vectored read.  Many independent pointer chases (the
 * name of every thread) run as rounds: each round runs every chase that is
 * not finished, from its start, until it needs memory not yet fetched.
 * Reads too large for the cache are done at once, as ever.
 */
void rmem_defer(struct rmem *m, bool on);
/* Fetch what deferred reads noted; true when there was something to fetch. */
bool rmem_fetch_deferred(struct rmem *m);

const struct rmem_stats *rmem_stats(const struct rmem *m);

#endif

/*
 * Reading a snapshot out of the interpreter: interpreters, thread states and
 * their frame chains, into the snapshot model.
 *
 * There are two frame walkers, one per frame model: PyFrameObject chains
 * (2.7-3.10) and _PyInterpreterFrame chains (3.11+).  All threads are walked
 * in lockstep, so each step of every chain is fetched in one batched read.
 * Every chain is bounded and checked for loops.
 */
#ifndef PYSTACK_PYREAD_H
#define PYSTACK_PYREAD_H

#include <stdint.h>
#include <sys/types.h>

struct frame;
struct pycode_cache;
struct pyruntime;
struct rmem;
struct snapshot;
struct target;
struct tidmap;

/* Frames per thread beyond which a chain is cut (and marked truncated). */
#define PYREAD_MAX_FRAMES 250000

struct pyread {
	pid_t pid;
	struct rmem *mem;
	const struct pyruntime *rt;
	struct pycode_cache *codes;
	uint64_t gen;			/* snapshot generation, for the code cache */
	struct target *target;		/* the stopped target, or NULL (--nonblocking) */
	bool prepass;			/* only learning what to read: skip matching threads */
	bool locals;			/* read each Python frame's variables (--locals) */
	bool verify;			/* not stopped: read every chain twice, keep what agrees */
	/* For a process in another PID namespace: its thread ids there, and here. */
	const struct tidmap *tids;
};

/* Variables shown in one snapshot, at most (the rest of the frames say so). */
#define PYREAD_MAX_VARS 20000

/*
 * Read every interpreter's threads and frames into snap.  Returns 0 (parts
 * that could not be read are counted in snap->partial and described on the
 * threads), or a negative error when nothing could be read: -PS_E_NO_INTERP,
 * -PS_E_GONE, -EPERM, -PS_E_BAD_DATA.
 */
int pyread_snapshot(const struct pyread *r, struct snapshot *snap);

/* A Python frame on no thread's chain: a suspended coroutine's or generator's. */
struct pyread_frame {
	uint64_t frame;		/* the PyFrameObject (<=3.10) or the _PyInterpreterFrame (3.11+) */
	uint64_t code;		/* the code object it runs */
	int64_t pos;		/* f_lasti (<=3.10) or the instruction pointer (3.11+) */
};

/*
 * Such frames as snapshot frames, as a thread's are made (their variables with --locals),
 * into out (n of them); a frame whose code could not be read is left zeroed
 * (kind FRAME_PYTHON, code 0).  Returns how many were.  pyread_lines() gives them
 * their lines once they are the snapshot's tasks' frames.
 */
size_t pyread_frames(const struct pyread *r, struct snapshot *snap, const struct pyread_frame *v,
		     size_t n, struct frame *out);

/*
 * Each Python frame's line, from the instruction it is at: pure work over
 * the decoded code objects (of the threads' frames and the tasks'), left
 * out of pyread_snapshot() so that it is done after the threads run again.  Call it after every pyread_snapshot()
 * whose frames are kept.
 */
void pyread_lines(const struct pyread *r, struct snapshot *snap);

#endif

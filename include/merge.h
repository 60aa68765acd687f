/*
 * Merging a thread's Python frames into its native stack.
 *
 * Each call of the eval loop in the native stack stands for the Python
 * frames it was running: one frame up to 3.10; from 3.11 on, the run of
 * frames from the innermost one down to the next entry frame (the first
 * frame of that call into the interpreter).  A call of the eval loop is
 * one native frame of its entry function, or, in a tail-calling
 * interpreter (3.14+, built by clang), the entry frame and the opcode
 * handler it called, which stand for the same Python frames.  Other native
 * frames are kept or hidden by mode: --native hides the interpreter's call
 * machinery (machinery.h) wherever it is, and the interpreter's frames it
 * has no name for once a Python frame has been seen (between or outer of
 * Python frames, where they are most likely machinery; inner of the
 * innermost Python frame they are what it called), and keeps everything
 * else; --native-all keeps everything.  Pure code over plain arrays.
 */
#ifndef PYSTACK_MERGE_H
#define PYSTACK_MERGE_H

#include <stdbool.h>
#include <stddef.h>

enum native_mode {
	NATIVE_OFF,
	NATIVE_ON,
	NATIVE_ALL,
};

/* A physical native frame, as the merge sees it. */
struct merge_native {
	bool eval;		/* the eval loop's entry function (_PyEval_EvalFrameDefault) */
	bool eval_part;		/* more of the eval loop, called by its entry: an opcode handler */
	bool interp;		/* in the interpreter's binary */
	bool machinery;		/* the interpreter's call machinery, by its name */
	bool unnamed;		/* the interpreter's, with no name (a stripped binary) */
};

/* One frame of the merged stack: Python frame or native frame number index. */
struct merge_item {
	bool python;
	size_t index;
};

/*
 * Merge, innermost first.  entry[i] says Python frame i is an entry frame
 * (only read when grouped, 3.11+).  A run of eval_part frames and the
 * eval frame right after it (outer) are one call of the eval loop; a run
 * with no eval frame after it is a call too (its entry was not unwound).
 *
 * open_end says the native stack stops short of the thread's first frame
 * (the unwinding lost its way): then fewer calls of the eval loop than
 * runs of Python frames is no misfit, and the Python frames left over go
 * after the last native frame.  out needs room for npy + nnative items.
 * Returns the number of items, or -1 when the stacks do not fit together
 * (then why says how, and the caller shows both stacks unmerged).
 */
long merge_stacks(size_t npy, const bool *entry, bool grouped, const struct merge_native *native,
		  size_t nnative, enum native_mode mode, bool open_end, struct merge_item *out,
		  char *why, size_t nwhy);

#endif

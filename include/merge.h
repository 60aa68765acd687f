/*
 * Merging a thread's Python frames into its native stack.
 *
 * Each native frame of the eval loop stands for the Python frames it was
 * running: one frame up to 3.10; from 3.11 on, the run of frames from the
 * innermost one down to the next entry frame (the first frame of that call
 * into the interpreter).  Other native frames are kept or hidden by mode:
 * --native hides the interpreter's own frames once a Python frame has been
 * seen (its call machinery between and below Python frames) and keeps
 * everything else; --native-all keeps everything.  Pure code over plain
 * arrays.
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
	bool eval;		/* in the eval loop */
	bool interp;		/* in the interpreter's binary */
};

/* One frame of the merged stack: Python frame or native frame number index. */
struct merge_item {
	bool python;
	size_t index;
};

/*
 * Merge, innermost first.  entry[i] says Python frame i is an entry frame
 * (only read when grouped, 3.11+).  out needs room for npy + nnative items.
 * Returns the number of items, or -1 when the stacks do not fit together
 * (then why says how, and the caller shows both stacks unmerged).
 */
long merge_stacks(size_t npy, const bool *entry, bool grouped, const struct merge_native *native,
		  size_t nnative, enum native_mode mode, struct merge_item *out, char *why,
		  size_t nwhy);

#endif

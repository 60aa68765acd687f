/*
 * asyncio's tasks, read out of the target (--tasks): every pending task of
 * every event loop, its coroutine chain down the awaits, who awaits whom,
 * which thread runs its loop and which task each loop runs now.
 *
 * CPython 3.7-3.13 keep their tasks in registries of Python objects in the
 * asyncio.tasks module (a WeakSet of every task, 3.12+ a set of eager tasks
 * beside it, and a dict of the task each loop is running); the C Task and
 * Future have a layout of their own per version, read off the DWARF of
 * each version's _asyncio module.  Every walk is bounded.
 */
#ifndef PYSTACK_PYTASKS_H
#define PYSTACK_PYTASKS_H

struct pyread;
struct snapshot;

/* Tasks read, at most; awaits followed in one task's chain, at most. */
#define PYTASKS_MAX_TASKS	1000000
#define PYTASKS_MAX_AWAITS	10000

/*
 * Read the tasks of every interpreter of snap (whose threads pyread_snapshot()
 * has read) into snap->tasks, with their frames (lines after pyread_lines()).
 * A version whose tasks cannot be read, or registries that do not validate,
 * set snap->tasks_error; parts not read count in snap->partial.  A process
 * that never imported asyncio has no tasks.
 */
void pytasks_read(const struct pyread *r, struct snapshot *snap);

#endif

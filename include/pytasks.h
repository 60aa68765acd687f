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

struct pytasks;

/*
 * Read the tasks of every interpreter of snap (whose threads pyread_snapshot()
 * has read), with the target held: the registries, each task's fields, its
 * chain of awaits, its done-callbacks and its name.  What needs no more of
 * the target's moving state (the frames from the code objects, the graph of
 * who awaits whom, its rings) is left for pytasks_finish(), after the detach.
 * A version or build whose tasks are not read, or registries that do not
 * validate, set snap->tasks_error (counted in snap->partial).  A process that
 * never imported asyncio has no tasks.  Returns what pytasks_finish() needs,
 * or NULL when there is nothing more to do.
 */
struct pytasks *pytasks_read(const struct pyread *r, struct snapshot *snap);

/* Fill snap->tasks from t (frames' lines come with pyread_lines()), and free t; NULL is nothing. */
void pytasks_finish(struct pytasks *t, const struct pyread *r, struct snapshot *snap);

#endif

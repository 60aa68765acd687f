/*
 * Following threads across the snapshots of a watch: whether each thread's
 * stack changed since the previous snapshot, and how long it has stayed
 * the same.  A stack is the same when every frame is: the same code object
 * at the same line for a Python frame, the same function (or address, when
 * unknown) for a native one.  Threads are matched by OS thread id and
 * Python thread ident; asyncio tasks (--tasks), by their address.
 */
#ifndef PYSTACK_TRACK_H
#define PYSTACK_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct snapshot;
struct tracker;

struct tracker *tracker_new(void);
void tracker_free(struct tracker *tr);

/*
 * Compare s with the previous snapshot, taken now_ns on a monotonic clock:
 * set each thread's and each task's changed and unchanged_s.  A thread seen for the first
 * time counts as changed, except in the first snapshot.
 */
void tracker_update(struct tracker *tr, struct snapshot *s, uint64_t now_ns);

/*
 * The threads of the last snapshot whose stack has not changed since the
 * first: their count, and up to max of their thread ids in tids.
 */
size_t tracker_unchanged_throughout(const struct tracker *tr, pid_t *tids, size_t max);

#endif

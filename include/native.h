/*
 * Native frames for a snapshot: unwind every thread while the process is
 * stopped (only addresses, which is fast), then, after the detach,
 * symbolize the addresses and merge them with the Python frames.  A session
 * keeps one of these, so the libraries, the symbol tables and libunwind's
 * caches are set up once.
 */
#ifndef PYSTACK_NATIVE_H
#define PYSTACK_NATIVE_H

#include <stddef.h>
#include <sys/types.h>

#include "merge.h"

struct maps;
struct native;
struct pyruntime;
struct rmem;
struct snapshot;
struct target;

/*
 * Returns 0, or a negative error with why filled in (libunwind or libdw
 * missing).  maps, mem and rt must outlive it.
 */
int native_new(pid_t pid, const struct maps *maps, struct rmem *mem, const struct pyruntime *rt,
	       struct native **out, char *why, size_t nwhy);
void native_free(struct native *n);

/* While t is stopped: unwind each of its stopped threads. */
void native_unwind(struct native *n, struct target *t);

/*
 * After the detach: give the snapshot's threads their native frames, merged
 * with their Python frames (or beside them, with a note, when they do not
 * fit), and with NATIVE_ALL add the threads that run no Python.
 */
void native_merge(struct native *n, struct snapshot *snap, enum native_mode mode);

#endif

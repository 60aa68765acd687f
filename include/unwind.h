/*
 * Native stacks: unwinding the threads of a stopped process with libunwind.
 *
 * libunwind-ptrace's accessors are the base, as strace does it, with three
 * replaced: memory is read through the session's cached reader (not one
 * PTRACE_PEEKDATA per word), registers come from one PTRACE_GETREGS per
 * thread, and unwind tables are found in each module's .eh_frame_hdr and
 * served from the module's file image, so the read-only parts cost no
 * system call at all.  libunwind is loaded only when native frames are
 * asked for.
 */
#ifndef PYSTACK_UNWIND_H
#define PYSTACK_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct maps;
struct rmem;
struct unwinder;

/* Where a thread's native frames end, at the latest. */
#define UNWIND_MAX_FRAMES 512

struct native_ip {
	uint64_t ip;
	bool exact;		/* the innermost frame, or one interrupted by a signal */
};

/*
 * Prepare to unwind process pid (its maps and memory reader stay owned by
 * the caller and must outlive the unwinder).  Returns 0, or a negative
 * error with why filled in (libunwind missing, say).
 */
int unwinder_new(pid_t pid, const struct maps *maps, struct rmem *mem, struct unwinder **out,
		 char *why, size_t nwhy);
void unwinder_free(struct unwinder *u);

/*
 * Unwind thread tid, which must be in a ptrace stop, into ips (at most
 * max).  Returns the number of frames, or a negative error; *cut is set
 * when the stack went on past max.
 */
long unwinder_unwind(struct unwinder *u, pid_t tid, struct native_ip *ips, size_t max, bool *cut);

#endif

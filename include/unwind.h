/*
 * Native stacks: unwinding the threads of a stopped process with libunwind.
 *
 * libunwind-ptrace's accessors are the base, as strace does it, with three
 * replaced: memory is read through the session's reader (cached for a
 * live process, not one PTRACE_PEEKDATA per word; a core's bytes for a
 * core), registers are given by the caller (one PTRACE_GETREGS per thread,
 * or a core's NT_PRSTATUS), and unwind tables are found in each module's .eh_frame_hdr and
 * served from the module's file image, so the read-only parts cost no
 * system call at all.  libunwind is loaded only when native frames are
 * asked for.
 *
 * Where a mapped file's code has no unwind table (hand-written assembly,
 * such as OpenBLAS's kernels), the caller's return address is looked for
 * instead: at the frame pointer when it has kept one, else by a bounded
 * scan of the thread's stack for a value that returns just after a call
 * instruction into code that has a table, from which the table unwind
 * leads on through further such returns.  The unwind then goes on from
 * there, and the frame says how it was found.
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

/* How many bytes of stack a recovery looks through, and how often a stack may need one. */
#define UNWIND_SCAN_BYTES	(64 * 1024)
#define UNWIND_MAX_RECOVERIES	8

/* How a frame's address was found. */
enum unwind_how {
	UNWIND_TABLE,		/* by the unwind tables (or as the innermost frame) */
	UNWIND_FRAME_POINTER,	/* its callee had no table: at the callee's frame pointer */
	UNWIND_STACK_SCAN,	/* its callee had no table: found by a scan of the stack */
};

struct native_ip {
	uint64_t ip;
	bool exact;		/* the innermost frame, or one interrupted by a signal */
	enum unwind_how how;
};

/* Why a native stack ends where it does. */
struct unwind_end {
	bool cut;		/* it went on past the frames asked for */
	uint64_t no_info;	/* the address of code without unwind table it ended in
				 * (no caller found past it), or 0 */
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
 * Unwind the thread whose registers are start (stopped, or in a core) into
 * ips (at most max).  Returns the number of frames, or a negative error;
 * *end says why the stack ends there.
 */
struct user_regs_struct;
long unwinder_unwind(struct unwinder *u, const struct user_regs_struct *start,
		     struct native_ip *ips, size_t max, struct unwind_end *end);

#endif

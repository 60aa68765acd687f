/*
 * The attach layer: stopping every thread of a process for a consistent
 * read, and letting it go exactly as it was found.
 *
 * Threads are seized (PTRACE_SEIZE, which injects no signal) and then
 * interrupted (PTRACE_INTERRUPT); /proc/PID/task is rescanned until a
 * listing holds only threads already held (and a dead leader): the
 * kernel's listing stops short at a thread that dies under it, and only
 * held threads cannot die.  A signal that arrives meanwhile is held and
 * given back at detach; a process in group-stop (SIGSTOP) re-enters it
 * when detached.  While threads are stopped, SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT and SIGTSTP are blocked in pystack and delivered after the
 * detach.  If pystack dies the kernel detaches, and since SEIZE leaves no
 * pending SIGSTOP the target simply runs on.
 */
#ifndef PYSTACK_TARGET_H
#define PYSTACK_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct target_thread {
	pid_t tid;
	char state;		/* as a kernel state letter, what it was doing when stopped:
				 * 'R' running, 'S' blocked in a system call, 'T' stopped */
	bool stopped;		/* held in a ptrace stop by us */
};

struct target;

/*
 * Stop every thread of pid.  On success *out holds the stopped target; the
 * caller must call target_resume() (on every path) and then target_free().
 * Returns 0, -PS_E_GONE, -PS_E_TRACED, -EPERM, -PS_E_TIMEOUT or -errno.
 * Threads that could not be stopped (a zombie thread, one that exited) are
 * simply not listed; one that would not stop in time is listed with
 * stopped false.
 */
int target_stop(pid_t pid, struct target **out);

/*
 * The threads of a core dump as a stopped target: their ids and registers
 * as the core holds them, nothing to stop or release (target_resume() does
 * nothing to a process that is gone).
 */
struct corefile;
struct target *target_of_core(const struct corefile *c);

/*
 * Whether the last listing of the process's threads held none that is not
 * held here (false when threads kept appearing or dying through every
 * rescan: then a thread may have run on while the others were read).
 */
bool target_settled(const struct target *t);
size_t target_nthreads(const struct target *t);
const struct target_thread *target_thread(const struct target *t, size_t i);

/* The index of tid among the threads, or -1. */
long target_find(const struct target *t, pid_t tid);

/*
 * The thread pointer (x86-64 fs_base) of stopped thread i, which glibc
 * uses as pthread_self().  Returns 0 or a negative error.
 */
int target_thread_pointer(struct target *t, size_t i, uint64_t *out);

/*
 * The system call stopped thread i was in when it was stopped (its number,
 * -1 when it was not in one) and the call's first argument, which for a
 * futex wait is the address waited on.  Returns 0 or a negative error.
 */
int target_thread_syscall(struct target *t, size_t i, long *nr, uint64_t *arg0);

/* The registers of stopped thread i (read once), or NULL when they cannot be read. */
struct user_regs_struct;
const struct user_regs_struct *target_thread_regs(struct target *t, size_t i);

/* Detach every thread, restoring its state; idempotent. */
void target_resume(struct target *t);

/* How long the threads were held, from the first interrupt to the last detach. */
uint64_t target_stopped_ns(const struct target *t);

/* The three parts of that: stopping the threads, holding them, detaching. */
void target_phases(const struct target *t, uint64_t *stopping, uint64_t *held,
		   uint64_t *detaching);

/* Whether the whole process was in group-stop (SIGSTOP) when we came. */
bool target_was_group_stopped(const struct target *t);

void target_free(struct target *t);

/*
 * Why pystack may not trace pid: the owner, CAP_SYS_PTRACE, Yama's
 * ptrace_scope, containers.  Writes one line (no newline) into buf.
 */
void target_explain_eperm(pid_t pid, char *buf, size_t size);

#endif

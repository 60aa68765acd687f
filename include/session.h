/*
 * A session with one target process: everything that does not change
 * between snapshots (its maps, the located interpreter and layout, the
 * decoded code objects) is found once and kept; each snapshot then stops
 * the target, reads, and lets it go.
 */
#ifndef PYSTACK_SESSION_H
#define PYSTACK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "merge.h"

struct pyruntime;
struct snapshot;
struct session;

struct session_opts {
	bool nonblocking;	/* read without stopping the target */
	bool source_lines;	/* read the source line of each Python frame */
	bool locals;		/* and its arguments and local variables */
	bool tasks;		/* asyncio's tasks too (see pytasks.h) */
	enum native_mode native; /* native frames too (needs the target stopped) */
};

/*
 * Open a session with pid (a thread id stands for its process): check the
 * process, read its maps, locate the interpreter.  Returns 0, or a negative error with a one-line explanation
 * in detail: -ESRCH, -PS_E_KTHREAD, -PS_E_ZOMBIE, -PS_E_NOT_PYTHON,
 * -PS_E_UNSUPPORTED, -PS_E_NO_INTERP, -EPERM, -PS_E_GONE.
 */
int session_open(pid_t pid, struct session **out, char *detail, size_t ndetail);

/*
 * Open a session with the process a core dump holds: its threads, maps and
 * memory come from the core (and the files it names, under sysroot, or as
 * they are here when sysroot is NULL).  exe, when not NULL, names the
 * executable instead of the core's own record of it.  Errors as session_open(), and
 * -PS_E_NOT_CORE, -PS_E_BAD_CORE, -errno for the core file itself.
 * The files are checked against the core by build ID first: each that
 * differs gets a warning on stderr and is not read; -PS_E_MISMATCH when
 * it is exe, or the file that holds the interpreter (-errno when exe
 * cannot be opened).
 */
int session_open_core(const char *path, const char *exe, const char *sysroot,
		      struct session **out, char *detail, size_t ndetail);

/*
 * Take one snapshot.  Returns 0 with *out set (its partial count says
 * whether everything was read), or a negative error with detail filled.
 */
int session_snapshot(struct session *s, const struct session_opts *opts, struct snapshot **out,
		     char *detail, size_t ndetail);

const struct pyruntime *session_runtime(const struct session *s);

/* The process read: the pid given, or the process of the thread id given. */
pid_t session_pid(const struct session *s);

void session_close(struct session *s);

#endif

/*
 * The snapshot model: what one read of a process found, independent of any
 * output format.  Readers fill it, renderers print it, and neither knows
 * about the other.  Every string in a snapshot lives in the snapshot's own
 * arena and is freed with it; strings from the target are raw (see
 * pystr.h) and must be escaped by whoever prints them.
 */
#ifndef PYSTACK_SNAPSHOT_H
#define PYSTACK_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum frame_kind {
	FRAME_PYTHON,
	FRAME_NATIVE,
};

/* A variable of a Python frame (with --locals). */
struct variable {
	const char *name;
	const char *repr;	/* bounded; raw text from the target, escape it */
	bool arg;		/* an argument of the function */
};

struct frame {
	enum frame_kind kind;
	const char *function;	/* co_name, or the native symbol; NULL if unknown */
	const char *qualname;	/* co_qualname (3.11+), else NULL */
	const char *file;	/* co_filename, or the native source file; may be NULL */
	int line;		/* 0 when unknown */
	const char *source;	/* the source line, when read (see source.h) */
	uint64_t code;		/* the code object (Python), for telling frames apart */
	bool entry;		/* Python, 3.11+: the first frame of a call into the eval loop */
	struct variable *vars;	/* Python, with --locals: arguments first, then locals */
	size_t nvars;
	bool vars_missing;	/* --locals asked, but the variables could not be read */
	/* Native frames. */
	const char *module;	/* the mapped file */
	uint64_t address;	/* the instruction pointer; Python: the instruction's byte offset in its code */
	uint64_t offset;	/* from the symbol */
	bool inlined;
	/* How its address was found when the code it called has no unwind
	 * table ("frame pointer", "stack scan"); NULL when by the tables. */
	const char *found_by;
};

enum thread_status {
	THREAD_UNKNOWN,
	THREAD_RUNNING,
	THREAD_IDLE,
	THREAD_EXITED,		/* a thread state whose OS thread is gone (at exit, shutdown) */
};

/* Where a thread is with the interpreter (PyThreadState.state, 3.13+). */
enum thread_attach {
	ATTACH_UNKNOWN,		/* before 3.13, or unreadable */
	ATTACH_DETACHED,	/* not running Python: in C code that let go of the interpreter */
	ATTACH_ATTACHED,	/* running Python (or C code holding on to the interpreter) */
	ATTACH_SUSPENDED,	/* stopped by the interpreter (a stop-the-world pause) */
};

struct thread {
	pid_t tid;		/* OS thread id, 0 when not matched */
	uint64_t thread_id;	/* Python's thread ident (pthread_t) */
	const char *name;	/* NULL when unknown */
	long long interp_id;	/* interpreter id, -1 when the version has none */
	uint64_t interp;	/* the address of its interpreter state, for later readers */
	uint64_t tstate;	/* the address of its thread state, for later readers */
	bool main;
	bool no_gil;		/* its interpreter runs without a GIL (free-threaded): no GIL claim */
	bool holds_gil;
	bool waits_for_gil;	/* blocked waiting for the GIL (3.7+) */
	enum thread_attach attach;
	bool gc;		/* its interpreter is collecting garbage */
	enum thread_status status;
	struct frame *frames;	/* innermost first */
	size_t nframes;
	bool truncated;		/* the frame chain was cut: see error */
	const char *error;	/* why not everything was read, or NULL */
	int signo;		/* from a core: the signal that ended the process, taken here */
	/* With native frames: a native stack that could not be merged, and why. */
	struct frame *native;	/* innermost first */
	size_t nnative;
	size_t native_leaf;	/* how many of native ran inner of every Python frame */
	const char *note;
	/* Set by watch: how long the stack has stayed the same (-1: not watched). */
	double unchanged_s;
	bool changed;		/* different from the previous snapshot */
};

/* An asyncio task (with --tasks). */
enum task_state {
	TASK_PENDING,
	TASK_CANCELLED,
	TASK_FINISHED,
};

struct task {
	uint64_t id;		/* the Task object's address */
	uint64_t loop;		/* its event loop's address */
	const char *name;	/* raw (escape it); NULL when the version has no names */
	enum task_state state;
	pid_t tid;		/* the OS thread running its loop, 0 when none runs it */
	bool current;		/* the task its loop is running right now */
	struct frame *frames;	/* its coroutine chain down the awaits, innermost first */
	size_t nframes;
	const char *error;	/* why its chain is not all there, or NULL */
	/* Who waits for whom, as indices into the snapshot's tasks. */
	size_t *awaiting, nawaiting;
	size_t *awaited_by, nawaited_by;
	const char *waits_on;	/* repr of the future it awaits when that is no task (raw), or NULL */
	/* Set by watch, as for threads. */
	double unchanged_s;
	bool changed;
};

/* Tasks that await each other in a ring: indices into the snapshot's tasks, in ring order. */
struct task_cycle {
	size_t *v, n;
};

/* Watch with --subprocesses: how a descendant joined or left the watch. */
enum family_change {
	FAMILY_STARTED,		/* read for the first time, after the first snapshot */
	FAMILY_ENDED,		/* exited, or its interpreter shut down, or it ran exec */
	FAMILY_UNREADABLE,	/* could no longer be read: left out from then on */
};

struct family_event {
	enum family_change change;
	pid_t pid;
	pid_t ppid;		/* FAMILY_STARTED: its parent when it was found; else 0 */
	const char *cmdline;	/* raw (escape it), or NULL */
};

struct snapshot {
	pid_t pid;
	bool native;		/* native frames were asked for */
	struct timespec when;	/* CLOCK_REALTIME at the read */
	uint64_t stopped_ns;	/* how long the target was held stopped */
	const char *python;	/* "3.12.1" */
	const char *executable;
	const char *cmdline;
	const char *binary;	/* the ELF holding the interpreter */
	bool shared;		/* ... a libpython */
	bool free_threaded;	/* a build without the GIL (3.13+ --disable-gil) */
	bool gil_waits_known;	/* the threads' waits_for_gil could be read */
	struct thread *threads;
	size_t nthreads, cap;
	unsigned partial;	/* how many things could not be read */
	/* With --tasks: asyncio's tasks, and the loops they are on. */
	bool tasks_read;	/* --tasks was asked */
	bool asyncio;		/* ... and an interpreter had imported asyncio */
	const char *tasks_error;	/* why they could not be read (one of partial), or NULL */
	struct task *tasks;
	size_t ntasks;
	size_t nloops;		/* distinct event loops among the tasks */
	struct task_cycle *deadlocks;
	size_t ndeadlocks;
	/* Watch: the snapshot's number (from 1; 0 outside a watch), and how many
	 * intervals were skipped before it because a read overran. */
	unsigned long seq, skipped;
	/* Watch, on the named process's snapshot: the descendants that joined
	 * or left the watch since the snapshot before. */
	const struct family_event *events;
	size_t nevents;
	/* Read from a core dump (core_file set): what the core says of the process's end. */
	const struct core_info {
		const char *file;	/* the core's path */
		struct timespec written;	/* the core's modification time */
		int signo;		/* the signal that ended it, 0 if none is recorded */
		pid_t signal_tid;	/* the thread that took it, 0 if unknown */
		uint64_t fault_addr;	/* for a fault the kernel raised (has_addr) */
		bool has_addr;
		bool truncated;		/* the core ends before all it describes */
	} *core;
	struct snapshot_chunk *arena;
};

struct snapshot *snapshot_new(pid_t pid);
void snapshot_free(struct snapshot *s);

/* Allocate from the snapshot's arena (zeroed, aligned). */
void *snapshot_alloc(struct snapshot *s, size_t size);
const char *snapshot_strdup(struct snapshot *s, const char *str);
const char *snapshot_strndup(struct snapshot *s, const char *str, size_t n);
const char *snapshot_printf(struct snapshot *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append a zeroed thread; the pointer is valid until the next append. */
struct thread *snapshot_add_thread(struct snapshot *s);

/* Copy n frames into the arena as thread t's frames. */
void snapshot_set_frames(struct snapshot *s, struct thread *t, const struct frame *f, size_t n);

#endif

/*
 * pystack dump: one snapshot of each process named (and, with
 * --subprocesses, of the processes descended from each), printed, then exit.
 */
#include <argp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "render.h"
#include "session.h"
#include "snapshot.h"

struct dump_args {
	struct common_opts common;
	pid_t *pids;
	size_t npids, cap;
};

static error_t dump_parse(int key, char *arg, struct argp_state *state)
{
	struct dump_args *a = state->input;
	pid_t pid;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->common;
		return 0;
	case ARGP_KEY_ARG:
		pid = argp_parse_pid(state, arg);
		xgrow(&a->pids, &a->cap, a->npids + 1, sizeof(*a->pids));
		a->pids[a->npids++] = pid;
		return 0;
	case ARGP_KEY_END:
		if (!a->npids)
			argp_error(state, "no PID given");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* What became of one process. */
enum outcome {
	READ_ALL,	/* shown, completely */
	READ_PARTIAL,	/* shown, with parts missing */
	FAILED,		/* not shown, and reported */
	PASSED_OVER,	/* not shown, and not counted: read already, or a descendant to skip */
};

struct tally {
	unsigned shown, partial, failed;
};

static void tally_add(struct tally *t, enum outcome o)
{
	switch (o) {
	case READ_ALL:
		t->shown++;
		break;
	case READ_PARTIAL:
		t->shown++;
		t->partial++;
		break;
	case FAILED:
		t->failed++;
		break;
	case PASSED_OVER:
		break;
	default:
		abort();
	}
}

/*
 * Whether a descendant that failed with err is passed over rather than
 * reported: it is no Python process (a shell, a helper program, a kernel
 * thread), or none any more (it exited, is a zombie, or its interpreter is
 * starting or shutting down).  The user asked for the Python processes of
 * a tree, and these have none to show.
 */
static bool passed_over(int err)
{
	switch (-err) {
	case ESRCH:
	case PS_E_GONE:
	case PS_E_ZOMBIE:
	case PS_E_KTHREAD:
	case PS_E_NOT_PYTHON:
	case PS_E_NO_INTERP:
		return true;
	default:
		return false;
	}
}

/*
 * One process: pid given on the command line (ancestor 0), or descended
 * from ancestor.  A process in done is not read again.
 */
static enum outcome dump_one(pid_t pid, pid_t ancestor, const struct dump_args *a,
			     const struct renderer *r, const struct render_opts *ro,
			     struct pidset *done)
{
	struct session_opts so = {
		.nonblocking = a->common.nonblocking,
		.locals = a->common.locals,
		.tasks = a->common.tasks,
		.source_lines = r == &render_text,
		.native = a->common.native,
	};
	struct session *s;
	struct snapshot *snap;
	char detail[1024];
	enum outcome o;
	int err;

	if (!pidset_add(done, pid)) {
		debug_msg("process %d: read already", (int)pid);
		return PASSED_OVER;
	}
	err = session_open(pid, &s, detail, sizeof(detail));
	if (!err && session_pid(s) != pid && !pidset_add(done, session_pid(s))) {
		/* A thread id of a process read already. */
		debug_msg("process %d (of thread %d): read already", (int)session_pid(s), (int)pid);
		session_close(s);
		return PASSED_OVER;
	}
	if (!err) {
		err = session_snapshot(s, &so, &snap, detail, sizeof(detail));
		if (err)
			session_close(s);
	}
	if (err && ancestor && passed_over(err)) {
		debug_msg("passing over process %d, descended from %d: %s", (int)pid, (int)ancestor,
			  detail);
		return PASSED_OVER;
	}
	if (err) {
		error_msg("%s", detail);
		return FAILED;
	}
	r->snapshot(snap, ro);
	if (snap->tasks_error)
		error_msg("process %d: %s", (int)pid, snap->tasks_error);
	if (snap->partial > (snap->tasks_error != NULL))
		error_msg("process %d: %u part%s could not be read (marked in the output); "
			  "run again, or use -v for details", (int)pid,
			  snap->partial - (snap->tasks_error != NULL),
			  snap->partial - (snap->tasks_error != NULL) == 1 ? "" : "s");
	o = snap->partial ? READ_PARTIAL : READ_ALL;
	snapshot_free(snap);
	session_close(s);
	return o;
}

/* Every process descended from root, in ascending PID order. */
static void dump_descendants(pid_t root, const struct dump_args *a, const struct renderer *r,
			     const struct render_opts *ro, struct pidset *done, struct tally *t)
{
	pid_t *kids = NULL;
	size_t cap = 0;
	long total = proc_descendants(root, PROC_MAX_DESCENDANTS, &kids, &cap);
	size_t n;

	if (total < 0) {
		error_msg("process %d: cannot list /proc to find its descendants: %s", (int)root,
			  strerror((int)-total));
		t->failed++;
		return;
	}
	n = (size_t)total < PROC_MAX_DESCENDANTS ? (size_t)total : PROC_MAX_DESCENDANTS;
	debug_msg("process %d: %ld descendant%s", (int)root, total, total == 1 ? "" : "s");
	if ((size_t)total > n) {
		error_msg("process %d has %ld descendants: only the %zu nearest are read",
			  (int)root, total, n);
		t->failed++;
	}
	for (size_t i = 0; i < n; i++) {
		/* pystack itself, under the tree it reads, is no Python process. */
		if (kids[i] == getpid())
			continue;
		tally_add(t, dump_one(kids[i], root, a, r, ro, done));
		fflush(stdout);
	}
	free(kids);
}

int cmd_dump(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &common_argp, 0, NULL, 0 }, { &live_argp, 0, NULL, 0 }, { 0 }
	};
	static const struct argp dump_argp = {
		.parser = dump_parse,
		.args_doc = "PID...",
		.doc = "Print every thread's Python stack in each process, most recent call last.\v"
		       "Examples:\n"
		       "  pystack dump 4242             the stacks of process 4242\n"
		       "  pystack dump --json 4242      the same, as one JSON object\n"
		       "  pystack dump 4242 4243        two processes\n"
		       "  pystack dump --subprocesses 4242\n"
		       "                                4242, then the Python processes it started\n\n"
		       "Exit status: 0 every process read; 1 something shown but not everything; "
		       "2 nothing shown (no such process, permission denied, not Python, "
		       "unsupported version); 64 usage error.  With --subprocesses, descendants "
		       "that are not Python, or are gone, are passed over and do not count.",
		.children = children,
	};
	struct dump_args a = { .common = COMMON_OPTS_DEFAULT };
	struct render_opts ro = { .out = stdout };
	const struct renderer *r;
	struct pidset done = { 0 };
	struct tally t = { 0 };

	if (reject_negative_pid(&dump_argp, argc, argv))
		return EXIT_USAGE;
	argp_parse(&dump_argp, argc, argv, 0, NULL, &a);
	r = renderer_find(a.common.format);
	ro.color = r == &render_text && color_enabled(a.common.color, STDOUT_FILENO);
	for (size_t i = 0; i < a.npids; i++) {
		tally_add(&t, dump_one(a.pids[i], 0, &a, r, &ro, &done));
		fflush(stdout);
		if (a.common.subprocesses)
			dump_descendants(a.pids[i], &a, r, &ro, &done, &t);
	}
	free(a.pids);
	free(done.v);
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			error_msg("writing the output failed: %s", strerror(errno));
		return EXIT_NOTHING;
	}
	if (!t.shown)
		return EXIT_NOTHING;
	return t.failed || t.partial ? EXIT_PARTIAL : EXIT_ALL;
}

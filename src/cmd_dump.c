/*
 * pystack dump: one snapshot of each process named, printed, then exit.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "options.h"
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
		return 0;
	case ARGP_KEY_ARG:
		switch (parse_pid(arg, &pid)) {
		case 0:
			break;
		case -ERANGE:
			argp_error(state, "invalid PID '%s': out of range", arg);
			break;
		default:
			argp_error(state, "invalid PID '%s' (a process id is a positive number)", arg);
		}
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

/* One process: returns 0 (all read), 1 (partly) or 2 (nothing shown). */
static int dump_one(pid_t pid, const struct dump_args *a, const struct renderer *r,
		    const struct render_opts *ro)
{
	struct session_opts so = {
		.nonblocking = a->common.nonblocking,
		.source_lines = r == &render_text,
		.native = a->common.native,
	};
	struct session *s;
	struct snapshot *snap;
	char detail[1024];
	int err = session_open(pid, &s, detail, sizeof(detail));

	if (err) {
		error_msg("%s", detail);
		return EXIT_NOTHING;
	}
	err = session_snapshot(s, &so, &snap, detail, sizeof(detail));
	if (err) {
		error_msg("%s", detail);
		session_close(s);
		return EXIT_NOTHING;
	}
	r->snapshot(snap, ro);
	if (snap->partial)
		error_msg("process %d: %u part%s could not be read (marked in the output); "
			  "run again, or use -v for details", (int)pid, snap->partial,
			  snap->partial == 1 ? "" : "s");
	err = snap->partial ? EXIT_PARTIAL : EXIT_ALL;
	snapshot_free(snap);
	session_close(s);
	return err;
}

int cmd_dump(int argc, char **argv)
{
	static const struct argp_child children[] = { { &common_argp, 0, NULL, 0 }, { 0 } };
	static const struct argp dump_argp = {
		.parser = dump_parse,
		.args_doc = "PID...",
		.doc = "Print every thread's Python stack in each process, most recent call last.\v"
		       "Examples:\n"
		       "  pystack dump 4242             the stacks of process 4242\n"
		       "  pystack dump --json 4242      the same, as one JSON object\n"
		       "  pystack dump 4242 4243        two processes\n\n"
		       "Exit status: 0 every process read; 1 something shown but not everything; "
		       "2 nothing shown (no such process, permission denied, not Python, "
		       "unsupported version); 64 usage error.",
		.children = children,
	};
	struct dump_args a = { .common = COMMON_OPTS_DEFAULT };
	struct render_opts ro = { .out = stdout };
	const struct renderer *r;
	int shown = 0, failed = 0, partial = 0;

	if (reject_negative_pid(argc, argv))
		return EXIT_USAGE;
	argp_parse(&dump_argp, argc, argv, 0, NULL, &a);
	r = renderer_find(a.common.format);
	ro.color = r == &render_text && color_enabled(a.common.color, STDOUT_FILENO);
	for (size_t i = 0; i < a.npids; i++) {
		switch (dump_one(a.pids[i], &a, r, &ro)) {
		case EXIT_ALL:
			shown++;
			break;
		case EXIT_PARTIAL:
			shown++;
			partial++;
			break;
		default:
			failed++;
			break;
		}
		fflush(stdout);
	}
	free(a.pids);
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			error_msg("writing the output failed: %s", strerror(errno));
		return EXIT_NOTHING;
	}
	if (!shown)
		return EXIT_NOTHING;
	return failed || partial ? EXIT_PARTIAL : EXIT_ALL;
}

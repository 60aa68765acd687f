/*
 * pystack core: the stacks of a process from its core dump, after it is
 * gone, printed as dump prints a live one.
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

enum { OPT_SYSROOT = 0x200 };

struct core_args {
	struct common_opts common;
	const char *core, *exe, *sysroot;
};

static const struct argp_option core_options[] = {
	{ "sysroot", OPT_SYSROOT, "DIR", 0,
	  "open the files the process had mapped under DIR (a core brought from another "
	  "machine, with its files copied there)", 3 },
	{ 0 }
};

static error_t core_parse(int key, char *arg, struct argp_state *state)
{
	struct core_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		return 0;
	case OPT_SYSROOT:
		a->sysroot = arg;
		return 0;
	case ARGP_KEY_ARG:
		if (!a->core)
			a->core = arg;
		else if (!a->exe)
			a->exe = arg;
		else
			argp_error(state, "too many arguments: COREFILE [EXECUTABLE]");
		return 0;
	case ARGP_KEY_END:
		if (!a->core)
			argp_error(state, "no core file given");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int cmd_core(int argc, char **argv)
{
	static const struct argp_child children[] = { { &common_argp, 0, NULL, 0 }, { 0 } };
	static const struct argp core_argp = {
		.options = core_options,
		.parser = core_parse,
		.args_doc = "COREFILE [EXECUTABLE]",
		.doc = "Print every thread's Python stack in the process a core dump holds, most "
		       "recent call last.\v"
		       "Examples:\n"
		       "  pystack core core.4242        the stacks of process 4242 when it dumped\n"
		       "  pystack core --json core.4242 the same, as one JSON object\n"
		       "  gcore -o /tmp/hung 4242 && pystack core /tmp/hung.4242\n"
		       "  pystack core --native core.zst  a compressed core (zstd, xz, gzip, lz4), as "
		       "systemd-coredump keeps it\n\n"
		       "Exit status: 0 everything read; 1 something shown but not everything (a "
		       "truncated core); 2 nothing shown (not a core, not Python, unsupported "
		       "version, an EXECUTABLE or interpreter file with another build ID than "
		       "the core's); 64 usage error.",
		.children = children,
	};
	struct core_args a = { .common = COMMON_OPTS_DEFAULT };
	struct session_opts so;
	struct render_opts ro = { .out = stdout };
	const struct renderer *r;
	struct session *s;
	struct snapshot *snap;
	char detail[1024];
	int err, status;

	argp_parse(&core_argp, argc, argv, 0, NULL, &a);
	r = renderer_find(a.common.format);
	ro.color = r == &render_text && color_enabled(a.common.color, STDOUT_FILENO);
	so = (struct session_opts){
		.locals = a.common.locals,
		.tasks = a.common.tasks,
		.source_lines = r == &render_text,
		.native = a.common.native,
	};
	err = session_open_core(a.core, a.exe, a.sysroot, &s, detail, sizeof(detail));
	if (!err) {
		err = session_snapshot(s, &so, &snap, detail, sizeof(detail));
		if (err)
			session_close(s);
	}
	if (err) {
		error_msg("%s", detail);
		return EXIT_NOTHING;
	}
	r->snapshot(snap, &ro);
	if (snap->tasks_error)
		error_msg("%s: %s", a.core, snap->tasks_error);
	if (snap->partial > (snap->tasks_error != NULL))
		error_msg("%s: %u part%s could not be read (marked in the output)", a.core,
			  snap->partial - (snap->tasks_error != NULL),
			  snap->partial - (snap->tasks_error != NULL) == 1 ? "" : "s");
	status = snap->partial ? EXIT_PARTIAL : EXIT_ALL;
	snapshot_free(snap);
	session_close(s);
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			error_msg("writing the output failed: %s", strerror(errno));
		return EXIT_NOTHING;
	}
	return status;
}

/*
 * pystack's entry point: the root argp parser, which takes the command word
 * and hands the rest of the command line to that command's own parser.
 */
#include <argp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "pyruntime.h"

#ifndef PYSTACK_VERSION
#define PYSTACK_VERSION "0.0"
#endif

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "dump", cmd_dump, "one snapshot of each process, then exit" },
	{ "core", cmd_core, "the stacks of a process from its core dump" },
	{ "watch", cmd_watch, "a snapshot every interval, showing what moves and what is stuck" },
};

struct root_args {
	const struct command *cmd;
	int cmd_argi;
};

static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "pystack %s\nreads CPython %s\n", PYSTACK_VERSION, pyruntime_supported());
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;
const char *argp_program_bug_address = NULL;

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static error_t root_parse(int key, char *arg, struct argp_state *state)
{
	struct root_args *a = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		a->cmd = find_command(arg);
		if (!a->cmd)
			argp_error(state, "unknown command '%s' (try 'pystack --help')", arg);
		a->cmd_argi = state->next - 1;
		/* The rest of the command line belongs to the command. */
		state->next = state->argc;
		return 0;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no command given (try 'pystack dump PID')");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static char *root_help(int key, const char *text, void *input)
{
	(void)input;
	if (key == ARGP_KEY_HELP_POST_DOC) {
		size_t len = 0, size = 1024;
		char *s = malloc(size);

		if (!s)
			return (char *)text;
		len += (size_t)snprintf(s + len, size - len, "Commands:\n");
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			len += (size_t)snprintf(s + len, size - len, "  %-8s %s\n", commands[i].name,
						commands[i].summary);
		snprintf(s + len, size - len,
			 "\n'pystack COMMAND --help' describes a command's options.\n"
			 "Reads CPython %s.\n"
			 "Exit status: 0 all read, 1 partly read, 2 nothing read, 64 usage error.",
			 pyruntime_supported());
		return s;
	}
	return (char *)text;
}

int main(int argc, char **argv)
{
	static const struct argp root_argp = {
		.parser = root_parse,
		.args_doc = "COMMAND [ARG...]",
		.doc = "Show where a running Python process is, thread by thread, from the "
		       "outside: no debugger, no code run in the process, which is stopped only "
		       "for the instant of the read.\v",
		.help_filter = root_help,
	};
	struct root_args a = { 0 };
	char *name;
	int status;

	/*
	 * Memory given back is kept for the next use, not returned to the
	 * system: a snapshot's buffers freed and taken again by the next (the
	 * read before the stop, then the stopped read; every tick of watch)
	 * cost no page faults the second time, and a page fault is what a
	 * dump of a deep stack spends most in.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);

	/* Messages say "pystack", however the binary was invoked. */
	if (argc > 0)
		argv[0] = (char *)"pystack";
	argp_parse(&root_argp, argc, argv, ARGP_IN_ORDER, NULL, &a);
	/* argp names the program after argv[0]: make it "pystack dump". */
	name = malloc(strlen("pystack ") + strlen(a.cmd->name) + 1);
	if (!name)
		return EXIT_NOTHING;
	sprintf(name, "pystack %s", a.cmd->name);
	argv[a.cmd_argi] = name;
	status = a.cmd->fn(argc - a.cmd_argi, argv + a.cmd_argi);
	free(name);
	return status;
}

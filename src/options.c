/*
 * The options every command shares, and strict parsing of PIDs and
 * durations (see options.h).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "options.h"

enum {
	OPT_FORMAT = 'f',
	OPT_JSON = 'j',
	OPT_VERBOSE = 'v',
	OPT_NONBLOCKING = 0x100,
	OPT_COLOR,
	OPT_NATIVE,
	OPT_NATIVE_ALL,
	OPT_LOCALS,
	OPT_SUBPROCESSES,
	OPT_TASKS,
};

static const struct argp_option common_options[] = {
	{ NULL, 0, NULL, 0, "Output:", 1 },
	{ "json", OPT_JSON, NULL, 0, "JSON Lines: one object per process per snapshot", 1 },
	{ "format", OPT_FORMAT, "FORMAT", 0,
	  "text (default), json, or collapsed: the folded stacks flame graph tools read "
	  "(\"process;thread;outer;...;inner count\")", 1 },
	{ "color", OPT_COLOR, "WHEN", OPTION_ARG_OPTIONAL,
	  "colour the text: auto (default: only on a terminal, and not with NO_COLOR), always, never", 1 },
	{ "colour", OPT_COLOR, "WHEN", OPTION_ALIAS | OPTION_ARG_OPTIONAL, NULL, 1 },
	{ NULL, 0, NULL, 0, "Reading:", 2 },
	{ "native", OPT_NATIVE, NULL, 0,
	  "also the native (C, C++) frames, merged with the Python frames in call order; the "
	  "interpreter's own call machinery is left out", 2 },
	{ "native-all", OPT_NATIVE_ALL, NULL, 0,
	  "as --native, keeping the interpreter's frames, and showing threads that run no Python", 2 },
	{ "locals", OPT_LOCALS, NULL, 0,
	  "also the arguments and local variables of each Python frame, as bounded reprs", 2 },
	{ "tasks", OPT_TASKS, NULL, 0,
	  "also every pending asyncio task (CPython 3.7-3.13): its coroutine stack down the "
	  "awaits, who awaits whom, which thread runs its loop; rings of tasks awaiting each "
	  "other are named as deadlocks", 2 },
	{ "verbose", OPT_VERBOSE, NULL, 0,
	  "diagnostics on stderr: what was found where, how long the process was stopped", 2 },
	{ 0 }
};

/* Only for a live process (dump, watch). */
static const struct argp_option live_options[] = {
	{ "subprocesses", OPT_SUBPROCESSES, NULL, 0,
	  "also the Python processes descended from the process named (for dump, from every one named)", 2 },
	{ "nonblocking", OPT_NONBLOCKING, NULL, 0,
	  "read without stopping the process (the stacks may be inconsistent: torn reads are retried)", 2 },
	{ 0 }
};

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	struct common_opts *o = state->input;

	switch (key) {
	case OPT_JSON:
		o->format = "json";
		return 0;
	case OPT_FORMAT:
		if (strcmp(arg, "text") && strcmp(arg, "json") && strcmp(arg, "collapsed"))
			argp_error(state, "unknown format '%s' (text, json or collapsed)", arg);
		o->format = arg;
		return 0;
	case OPT_COLOR:
		if (!arg || !strcmp(arg, "always"))
			o->color = COLOR_ALWAYS;
		else if (!strcmp(arg, "auto"))
			o->color = COLOR_AUTO;
		else if (!strcmp(arg, "never"))
			o->color = COLOR_NEVER;
		else
			argp_error(state, "--color takes auto, always or never, not '%s'", arg);
		return 0;
	case OPT_NONBLOCKING:
		o->nonblocking = true;
		return 0;
	case OPT_NATIVE:
		if (o->native != NATIVE_ALL)
			o->native = NATIVE_ON;
		return 0;
	case OPT_NATIVE_ALL:
		o->native = NATIVE_ALL;
		return 0;
	case OPT_LOCALS:
		o->locals = true;
		return 0;
	case OPT_TASKS:
		o->tasks = true;
		return 0;
	case OPT_SUBPROCESSES:
		o->subprocesses = true;
		return 0;
	case ARGP_KEY_END:
		if (o->native && o->nonblocking)
			argp_error(state, "--native reads registers, which needs the process stopped: "
				   "it cannot go with --nonblocking");
		return 0;
	case OPT_VERBOSE:
		msg_verbose = 1;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp common_argp = {
	.options = common_options,
	.parser = common_parse,
};

const struct argp live_argp = {
	.options = live_options,
	.parser = common_parse,
};

int parse_pid(const char *s, pid_t *out)
{
	char *end;
	long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || v == 0)
		return -EINVAL;
	if (errno == ERANGE || v > INT_MAX)
		return -ERANGE;
	*out = (pid_t)v;
	return 0;
}

int parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || v == 0)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

pid_t argp_parse_pid(struct argp_state *state, const char *arg)
{
	pid_t pid = 0;

	switch (parse_pid(arg, &pid)) {
	case 0:
		break;
	case -ERANGE:
		argp_error(state, "invalid PID '%s': out of range", arg);
		break;
	default:
		argp_error(state, "invalid PID '%s' (a process id is a positive number)", arg);
	}
	return pid;
}

/*
 * The option of argp (or of its children) that arg names and that takes a
 * value in the next argument: "--name" or an unambiguous prefix of it, or
 * "-k" (the last of a cluster of short options).  NULL when arg is not one.
 */
static const struct argp_option *option_taking_next(const struct argp *argp, const char *arg)
{
	const struct argp_option *found = NULL, *opt, *owner = NULL;

	for (opt = argp->options; opt && (opt->name || opt->key || opt->doc); opt++) {
		if (!(opt->flags & OPTION_ALIAS))
			owner = opt;	/* an alias takes the value its option takes */
		if (!owner || !owner->arg || (owner->flags & OPTION_ARG_OPTIONAL))
			continue;
		if (arg[1] == '-') {
			if (opt->name && !strncmp(opt->name, arg + 2, strlen(arg + 2)) && arg[2])
				return owner;
		} else if (opt->key > 0 && opt->key < 0x100 && arg[strlen(arg) - 1] == opt->key) {
			found = owner;
		}
	}
	for (const struct argp_child *c = argp->children; !found && c && c->argp; c++)
		found = option_taking_next(c->argp, arg);
	return found;
}

bool reject_negative_pid(const struct argp *argp, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (argv[i][0] != '-')
			continue;
		if (argv[i][1] >= '0' && argv[i][1] <= '9') {
			fprintf(stderr, "%s: invalid PID '%s' (a process id is a positive number)\n"
				"Try `%s --help' for more information.\n", argv[0], argv[i], argv[0]);
			return true;
		}
		if (!strchr(argv[i], '=') && option_taking_next(argp, argv[i]))
			i++;	/* its value, which the option's own check judges */
	}
	return false;
}

int parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "", 1e9 },
	};
	size_t digits = strspn(s, "0123456789."), dots = 0;
	char *end;
	double v;

	for (size_t i = 0; i < digits; i++)
		dots += s[i] == '.';
	/* Only plain decimals: strtod alone would take "1e3", "0x10", "inf". */
	if (!digits || dots > 1 || s[0] == '.' || s[digits - 1] == '.')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end != s + digits)
		return -EINVAL;
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		v *= units[i].scale;
		if (v > (double)UINT64_MAX / 2)
			return -ERANGE;
		*ns = (uint64_t)(v + 0.5);	/* v >= 0: rounded to nearest */
		return 0;
	}
	return -EINVAL;
}

bool color_enabled(enum color_mode mode, int fd)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	if (mode != COLOR_AUTO)
		return mode == COLOR_ALWAYS;
	if (no_color && *no_color)
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fd);
}

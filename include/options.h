/*
 * Command-line pieces shared by the commands: the common options (an argp
 * child), and strict parsers for PIDs and durations.
 */
#ifndef PYSTACK_OPTIONS_H
#define PYSTACK_OPTIONS_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "merge.h"

enum color_mode {
	COLOR_AUTO,
	COLOR_ALWAYS,
	COLOR_NEVER,
};

struct common_opts {
	const char *format;	/* "text", "json" or "collapsed" */
	bool nonblocking;
	bool locals;		/* arguments and locals of every Python frame */
	bool tasks;		/* asyncio's tasks too */
	bool subprocesses;	/* the Python processes descended from each PID too */
	enum native_mode native;
	enum color_mode color;
};

#define COMMON_OPTS_DEFAULT { .format = "text", .color = COLOR_AUTO }

/*
 * The common options, and those only for a live process (--subprocesses,
 * --nonblocking: dump and watch); the parent sets each child's input to
 * its struct common_opts.
 */
extern const struct argp common_argp;
extern const struct argp live_argp;

/* A PID: digits only, 1 to the kernel's maximum.  0 or -EINVAL / -ERANGE. */
int parse_pid(const char *s, pid_t *out);

/* A PID argument of a command: parsed, or reported with argp_error() (which exits). */
pid_t argp_parse_pid(struct argp_state *state, const char *arg);

/* A count: digits only, 1 to max.  0 or -EINVAL / -ERANGE. */
int parse_count(const char *s, unsigned long max, unsigned long *out);

/*
 * argp would read "-5" as an unknown option: say instead that it is not a
 * PID (on stderr, as argp does).  True when argv holds one.  A value of an
 * option of argp ("--interval -1") is left to that option to judge.
 */
bool reject_negative_pid(const struct argp *argp, int argc, char **argv);

/*
 * A duration: a number with an optional ns, us, ms, s or m suffix (a bare
 * number is seconds; fractions allowed, "1.5s").  0 or -EINVAL / -ERANGE.
 */
int parse_duration(const char *s, uint64_t *ns);

/* Whether to colour output written to fd under mode (NO_COLOR, TERM=dumb). */
bool color_enabled(enum color_mode mode, int fd);

#endif

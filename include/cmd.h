/*
 * The commands.  Each takes its own argv (argv[0] names the command, as in
 * "pystack dump") and returns the process exit status.
 */
#ifndef PYSTACK_CMD_H
#define PYSTACK_CMD_H

/* Exit statuses (the contract in man/pystack.1, EXIT STATUS). */
enum {
	EXIT_ALL = 0,		/* every requested process was read */
	EXIT_PARTIAL = 1,	/* something shown, not everything */
	EXIT_NOTHING = 2,	/* nothing could be shown */
	EXIT_USAGE = 64,	/* the command line was wrong */
};

int cmd_dump(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_core(int argc, char **argv);

#endif

/*
 * "unit-tests stop PID N": stop a live process N times with the attach
 * layer and, while it is held, list its threads again: every live thread
 * must be one the layer holds, in a ptrace stop.  Prints what it found and
 * exits 1 when a thread ran free (see tests/integration/test_trust.py).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "proc.h"
#include "target.h"
#include "unit.h"

/* Live threads of pid, listed now, that t does not hold stopped. */
static int unheld(pid_t pid, struct target *t)
{
	pid_t *tids = NULL;
	size_t cap = 0;
	long n = proc_tasks(pid, &tids, &cap);
	int free_running = 0;

	for (long i = 0; i < n; i++) {
		long k = target_find(t, tids[i]);
		char state;

		if (k >= 0 && target_thread(t, (size_t)k)->stopped)
			continue;
		if (proc_task_state(pid, tids[i], &state) < 0 || state == 'Z' || state == 'X')
			continue;	/* died meanwhile */
		printf("tid %d is %s (state %c)\n", (int)tids[i],
		       k >= 0 ? "held but did not stop" : "not held", state);
		free_running++;
	}
	free(tids);
	return free_running;
}

int stop_live(int argc, char **argv)
{
	uint64_t pid, rounds;
	int failures = 0, unsettled = 0;

	if (argc != 3 || !unit_parse_u64(argv[1], &pid) || !pid || pid > INT32_MAX ||
	    !unit_parse_u64(argv[2], &rounds)) {
		fprintf(stderr, "usage: unit-tests stop PID N\n");
		return 64;
	}
	for (uint64_t r = 0; r < rounds; r++) {
		struct target *t;
		int err = target_stop((pid_t)pid, &t);

		if (err) {
			fprintf(stderr, "unit-tests stop: pid %" PRIu64 ": %s\n", pid, ps_strerror(err));
			return 2;
		}
		failures += unheld((pid_t)pid, t) > 0;
		unsettled += !target_settled(t);
		target_free(t);
	}
	printf("%" PRIu64 " stops, %d with a thread running free, %d unsettled\n", rounds,
	       failures, unsettled);
	return failures ? 1 : 0;
}

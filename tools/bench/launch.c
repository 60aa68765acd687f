/*
 * make bench's launcher: runs a command N times, each time from this small
 * process (a command forked from a big one, such as a Python interpreter,
 * would be charged that process's memory as its own maximum RSS), and
 * prints one line per run: wall nanoseconds from fork to exit, the
 * command's maximum RSS in KB, and its exit status.  The command's own
 * output goes to /dev/null.
 *
 *	launch N COMMAND [ARG...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long runs = argc > 2 ? strtol(argv[1], NULL, 10) : 0;

	if (runs <= 0) {
		fprintf(stderr, "usage: launch N COMMAND [ARG...]\n");
		return 64;
	}
	for (long i = 0; i < runs; i++) {
		struct timespec a, b;
		struct rusage ru;
		int status;
		pid_t pid;

		clock_gettime(CLOCK_MONOTONIC, &a);
		pid = fork();
		if (pid < 0) {
			perror("launch: fork");
			return 1;
		}
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			/* Only the figures go to our standard output. */
			if (null >= 0) {
				dup2(null, STDOUT_FILENO);
				dup2(null, STDERR_FILENO);
			}
			execv(argv[2], argv + 2);
			perror("launch: exec");
			_exit(127);
		}
		if (wait4(pid, &status, 0, &ru) < 0) {
			perror("launch: wait4");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%lld %ld %d\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec),
		       ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	return 0;
}

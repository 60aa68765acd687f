/*
 * The unit-test runner: every suite over pure code and the fake memory
 * reader.  With "lines", it instead checks line-table cases read from
 * stdin (written by real interpreters, see tests/integration/test_lines.py);
 * with "repr", "getattr" and the like it reads objects of a live process
 * (see live_pyobj.c and tests/integration/test_pyobj.py); with "capture" it
 * writes a seed for the fuzz target from a live process (see capture.c);
 * with "stop" it checks the attach layer holds every thread (live_stop.c);
 * with "core" it reads a real core file (test_corefile.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int unit_failures;
int unit_checks;

static const struct unit_test *const suites[] = {
	options_tests, maps_tests, pyline_tests, escape_tests, rmem_tests, pystr_tests,
	pyruntime_tests, pyread_tests, merge_tests, render_tests, flamegraph_tests, track_tests,
	pyobj_tests, pythreading_tests, source_tests, corefile_tests, corecompress_tests,
};

bool unit_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && end != s && !*end;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	if (argc > 1 && !strcmp(argv[1], "lines"))
		return pyline_check_cases(stdin);
	if (argc > 1 && !strcmp(argv[1], "capture"))
		return capture_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "core"))
		return core_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "stop"))
		return stop_live(argc - 1, argv + 1);
	if (argc > 3 && pyobj_live_mode(argv[1]))
		return pyobj_live(argc - 1, argv + 1);
	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		for (const struct unit_test *t = suites[s]; t->name; t++) {
			int before = unit_failures;

			if (argc > 1 && !strstr(t->name, argv[1]))
				continue;
			t->fn();
			if (unit_failures == before) {
				passed++;
			} else {
				failed++;
				fprintf(stderr, "FAIL %s\n", t->name);
			}
		}
	}
	printf("unit tests: %d checks; %d passed, %d failed\n", unit_checks, passed, failed);
	return failed ? 1 : 0;
}

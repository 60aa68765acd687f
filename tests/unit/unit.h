/*
 * A small unit-test harness: CHECK macros that count and report failures,
 * and the list of suites the runner (main.c) calls.
 */
#ifndef PYSTACK_UNIT_H
#define PYSTACK_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int unit_failures;
extern int unit_checks;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		unit_checks++;                                                         \
		if (!(cond)) {                                                         \
			unit_failures++;                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                      \
	} while (0)

#define CHECK_INT(a, b)                                                                \
	do {                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                    \
		unit_checks++;                                                         \
		if (a_ != b_) {                                                        \
			unit_failures++;                                               \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, \
				#a, a_, b_);                                           \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *a_ = (a), *b_ = (b);                                       \
		unit_checks++;                                                         \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                    \
			unit_failures++;                                               \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
				#a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
		}                                                                      \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Each suite file defines one of these arrays, ended by { NULL, NULL }. */
extern const struct unit_test options_tests[];
extern const struct unit_test maps_tests[];
extern const struct unit_test pyline_tests[];
extern const struct unit_test escape_tests[];
extern const struct unit_test rmem_tests[];
extern const struct unit_test pystr_tests[];
extern const struct unit_test pyruntime_tests[];
extern const struct unit_test pyread_tests[];
extern const struct unit_test merge_tests[];
extern const struct unit_test render_tests[];
extern const struct unit_test flamegraph_tests[];
extern const struct unit_test track_tests[];
extern const struct unit_test pythreading_tests[];
extern const struct unit_test pyobj_tests[];
extern const struct unit_test source_tests[];
extern const struct unit_test corefile_tests[];
extern const struct unit_test corecompress_tests[];

/* For the line-table cases that real interpreters produce (see main.c). */
int pyline_check_cases(FILE *in);

/* Objects of a live process (see live_pyobj.c): whether mode is one, and the mode's main. */
bool pyobj_live_mode(const char *mode);
int pyobj_live(int argc, char **argv);

/* A whole number (decimal, or 0x hex) that fits 64 bits, for the live modes. */
bool unit_parse_u64(const char *s, uint64_t *v);

/* Stop a live process again and again (see live_stop.c): stop PID N. */
int stop_live(int argc, char **argv);

/* What a real core file says (see test_corefile.c): core COREFILE SYSROOT|- ADDR:LEN... */
int core_main(int argc, char **argv);

/* A seed for the fuzz target from a live process (see capture.c): capture PID OUTFILE [ADDR...]. */
int capture_main(int argc, char **argv);

#endif

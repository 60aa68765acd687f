/*
 * Unit tests: PID and duration parsing, which must refuse what is not
 * exactly a number (with a suffix, for durations).
 */
#include <errno.h>

#include "options.h"
#include "unit.h"

static void pids(void)
{
	pid_t p = 0;

	CHECK_INT(parse_pid("4242", &p), 0);
	CHECK_INT(p, 4242);
	CHECK_INT(parse_pid("1", &p), 0);
	CHECK_INT(parse_pid("0", &p), -EINVAL);
	CHECK_INT(parse_pid("-5", &p), -EINVAL);
	CHECK_INT(parse_pid("+5", &p), -EINVAL);
	CHECK_INT(parse_pid(" 5", &p), -EINVAL);
	CHECK_INT(parse_pid("5 ", &p), -EINVAL);
	CHECK_INT(parse_pid("12abc", &p), -EINVAL);
	CHECK_INT(parse_pid("", &p), -EINVAL);
	CHECK_INT(parse_pid("0x10", &p), -EINVAL);
	CHECK_INT(parse_pid("99999999999999999999", &p), -ERANGE);
	CHECK_INT(parse_pid("2147483648", &p), -ERANGE);
}

static void durations(void)
{
	uint64_t ns = 0;

	CHECK_INT(parse_duration("1", &ns), 0);
	CHECK_INT(ns, 1000000000);
	CHECK_INT(parse_duration("500ms", &ns), 0);
	CHECK_INT(ns, 500000000);
	CHECK_INT(parse_duration("1.5s", &ns), 0);
	CHECK_INT(ns, 1500000000);
	CHECK_INT(parse_duration("2m", &ns), 0);
	CHECK_INT(ns, 120000000000ll);
	CHECK_INT(parse_duration("250us", &ns), 0);
	CHECK_INT(ns, 250000);
	CHECK_INT(parse_duration("10ns", &ns), 0);
	CHECK_INT(ns, 10);
	CHECK_INT(parse_duration("0", &ns), 0);
	CHECK_INT(ns, 0);
	CHECK_INT(parse_duration("1h", &ns), -EINVAL);
	CHECK_INT(parse_duration("ms", &ns), -EINVAL);
	CHECK_INT(parse_duration("-1s", &ns), -EINVAL);
	CHECK_INT(parse_duration("1e3", &ns), -EINVAL);
	CHECK_INT(parse_duration("0x10", &ns), -EINVAL);
	CHECK_INT(parse_duration("inf", &ns), -EINVAL);
	CHECK_INT(parse_duration(".5s", &ns), -EINVAL);
	CHECK_INT(parse_duration("1.s", &ns), -EINVAL);
	CHECK_INT(parse_duration("1..2s", &ns), -EINVAL);
	CHECK_INT(parse_duration("1 s", &ns), -EINVAL);
	CHECK_INT(parse_duration("99999999999999999999999m", &ns), -ERANGE);
}

static void counts(void)
{
	unsigned long n = 0;

	CHECK_INT(parse_count("10", 1000, &n), 0);
	CHECK_INT(n, 10);
	CHECK_INT(parse_count("1000", 1000, &n), 0);
	CHECK_INT(parse_count("1001", 1000, &n), -ERANGE);
	CHECK_INT(parse_count("99999999999999999999999", 1000, &n), -ERANGE);
	CHECK_INT(parse_count("0", 1000, &n), -EINVAL);
	CHECK_INT(parse_count("-1", 1000, &n), -EINVAL);
	CHECK_INT(parse_count("1.5", 1000, &n), -EINVAL);
	CHECK_INT(parse_count("", 1000, &n), -EINVAL);
	CHECK_INT(parse_count("7x", 1000, &n), -EINVAL);
	CHECK_INT(n, 1000);
}

const struct unit_test options_tests[] = {
	{ "options: pids", pids },
	{ "options: counts", counts },
	{ "options: durations", durations },
	{ NULL, NULL },
};

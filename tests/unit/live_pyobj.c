/*
 * Hidden modes of the unit-test binary that read objects of a live process
 * with pyobj.c, for tests/integration/test_pyobj.py (the pystack binary has
 * no such command).  The process is located as a session locates it
 * (/proc/PID/maps, then pyruntime_locate) and read without stopping it: the
 * test's target waits on stdin, so its objects hold still.
 *
 *	unit-tests repr PID ADDR...		pyobj_repr of each object
 *	unit-tests getattr PID ADDR NAME	pyobj_getattr_str, then the value's repr
 *	unit-tests dictget PID ADDR KEY		pyobj_dict_get_str, then the value's repr
 *	unit-tests dictcalls PID ADDR KEY	the same from a cold cache, as {"value": repr,
 *						"calls": system calls it took}
 *	unit-tests items PID ADDR		pyobj_dict_items: [key repr, value repr] each
 *	unit-tests u64 PID ADDR			pyobj_u64
 *	unit-tests typename PID ADDR		pyobj_type_name
 *
 * Each answer is one line of JSON: a string (a repr or a name), a number,
 * a list, or {"error": "ENOENT"} and the like.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "escape.h"
#include "proc.h"
#include "pyobj.h"
#include "pyruntime.h"
#include "rmem.h"
#include "unit.h"

#define REPR_SIZE 4096

static void print_json_string(const char *s)
{
	putchar('"');
	escape_json(stdout, s);
	putchar('"');
}

static void print_error(int err)
{
	const char *name = err == -ENOENT ? "ENOENT" : err == -ERANGE ? "ERANGE" :
			   err == -PS_E_BAD_DATA ? "BAD_DATA" : err == -PS_E_BAD_READ ? "BAD_READ" :
			   NULL;

	if (name)
		printf("{\"error\": \"%s\"}\n", name);
	else
		printf("{\"error\": \"%d\"}\n", err);
}

static void print_repr(struct rmem *m, const struct pyruntime *rt, uint64_t obj)
{
	char buf[REPR_SIZE];

	pyobj_repr(m, rt, obj, buf, sizeof(buf));
	print_json_string(buf);
}

struct items {
	struct rmem *m;
	const struct pyruntime *rt;
	size_t n;
};

static int print_item(uint64_t key, uint64_t value, void *arg)
{
	struct items *a = arg;

	printf("%s[", a->n++ ? ", " : "");
	print_repr(a->m, a->rt, key);
	printf(", ");
	print_repr(a->m, a->rt, value);
	printf("]");
	return 0;
}

static int run(const char *mode, struct rmem *m, const struct pyruntime *rt, int argc, char **argv)
{
	uint64_t obj, value;
	char name[256];
	int err;

	if (argc < 1 || !unit_parse_u64(argv[0], &obj))
		return 64;
	if (!strcmp(mode, "repr")) {
		for (int i = 0; i < argc; i++) {
			if (!unit_parse_u64(argv[i], &obj))
				return 64;
			print_repr(m, rt, obj);
			putchar('\n');
		}
		return 0;
	}
	if (!strcmp(mode, "getattr") || !strcmp(mode, "dictget")) {
		if (argc != 2)
			return 64;
		err = mode[0] == 'g' ? pyobj_getattr_str(m, rt, obj, argv[1], &value) :
				       pyobj_dict_get_str(m, rt, obj, argv[1], &value);
		if (err) {
			print_error(err);
		} else {
			print_repr(m, rt, value);
			putchar('\n');
		}
		return 0;
	}
	if (!strcmp(mode, "dictcalls")) {
		uint64_t before = rmem_stats(m)->calls;

		if (argc != 2)
			return 64;
		rmem_invalidate(m);
		err = pyobj_dict_get_str(m, rt, obj, argv[1], &value);
		if (err) {
			print_error(err);
			return 0;
		}
		printf("{\"calls\": %llu, \"value\": ", (unsigned long long)(rmem_stats(m)->calls - before));
		print_repr(m, rt, value);
		printf("}\n");
		return 0;
	}
	if (!strcmp(mode, "items")) {
		struct items a = { .m = m, .rt = rt };

		printf("[");
		err = pyobj_dict_items(m, rt, obj, PYOBJ_MAX_ITEMS, print_item, &a);
		printf("]\n");
		if (err)
			print_error(err);
		return 0;
	}
	if (!strcmp(mode, "u64")) {
		err = pyobj_u64(m, rt, obj, &value);
		if (err)
			print_error(err);
		else
			printf("%" PRIu64 "\n", value);
		return 0;
	}
	if (!strcmp(mode, "typename")) {
		for (int i = 0; i < argc; i++) {
			if (!unit_parse_u64(argv[i], &obj))
				return 64;
			err = pyobj_type_name(m, rt, obj, name, sizeof(name));
			if (err) {
				print_error(err);
			} else {
				print_json_string(name);
				putchar('\n');
			}
		}
		return 0;
	}
	return 64;
}

bool pyobj_live_mode(const char *mode)
{
	static const char *const modes[] = {
		"repr", "getattr", "dictget", "dictcalls", "items", "u64", "typename",
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(mode, modes[i]))
			return true;
	return false;
}

int pyobj_live(int argc, char **argv)
{
	struct pyruntime rt;
	struct maps maps;
	struct rmem *m;
	char why[256];
	uint64_t pid;
	int err, status;

	if (argc < 3 || !unit_parse_u64(argv[1], &pid) || !pid || pid > INT32_MAX) {
		fprintf(stderr, "usage: unit-tests repr|getattr|dictget|items|u64|typename PID ADDR [NAME]\n");
		return 64;
	}
	err = maps_read((pid_t)pid, &maps);
	if (err) {
		fprintf(stderr, "unit-tests: pid %" PRIu64 ": %s\n", pid, ps_strerror(err));
		return 2;
	}
	m = rmem_live_new((pid_t)pid);
	err = pyruntime_locate((pid_t)pid, NULL, &maps, m, &rt, why, sizeof(why));
	if (err) {
		fprintf(stderr, "unit-tests: pid %" PRIu64 ": %s (%s)\n", pid, ps_strerror(err), why);
		rmem_free(m);
		maps_free(&maps);
		return 2;
	}
	status = run(argv[0], m, &rt, argc - 2, argv + 2);
	if (status == 64)
		fprintf(stderr, "unit-tests %s: bad arguments\n", argv[0]);
	pyruntime_free(&rt);
	rmem_free(m);
	maps_free(&maps);
	return fflush(stdout) ? 1 : status;
}

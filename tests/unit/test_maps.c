/*
 * Unit tests: parsing /proc/PID/maps text, including file names with
 * spaces, deleted files and malformed lines; and the kernel's count of a
 * process's threads against a listing of them.
 */
#include <stdlib.h>
#include <unistd.h>

#include "msg.h"
#include "proc.h"
#include "unit.h"

static void parse(void)
{
	const char *text =
		"55d0c8a00000-55d0c8a01000 r--p 00000000 fe:01 1234567                    /usr/bin/python3.11\n"
		"55d0c8a01000-55d0c8c00000 r-xp 00001000 fe:01 1234567                    /usr/bin/python3.11\n"
		"55d0ca000000-55d0ca100000 rw-p 00000000 00:00 0                          [heap]\n"
		"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
		"7f1000000000-7f1000001000 r-xp 00002000 08:02 42                         /opt/my app/lib python.so (deleted)\n"
		"garbage line\n"
		"7ffd00000000-7ffc00000000 rw-p 00000000 00:00 0                          [bad: end before start]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
	struct maps m;
	char *copy = xstrdup(text);

	CHECK_INT(maps_parse(copy, strlen(copy), &m), 0);
	CHECK_INT(m.n, 6);
	CHECK_INT(m.v[0].start, 0x55d0c8a00000ull);
	CHECK_INT(m.v[0].end, 0x55d0c8a01000ull);
	CHECK(m.v[0].r && !m.v[0].w && !m.v[0].x);
	CHECK_STR(m.v[0].path, "/usr/bin/python3.11");
	CHECK_INT(m.v[0].inode, 1234567);
	CHECK_INT(m.v[1].offset, 0x1000);
	CHECK(m.v[1].x);
	CHECK_STR(m.v[2].path, "[heap]");
	CHECK(m.v[2].w);
	CHECK(m.v[3].path == NULL);
	CHECK_STR(m.v[4].path, "/opt/my app/lib python.so (deleted)");
	CHECK_INT(m.v[4].offset, 0x2000);
	CHECK_STR(m.v[5].path, "[vsyscall]");
	CHECK_INT(m.v[5].start, 0xffffffffff600000ull);

	CHECK(maps_find(&m, 0x55d0c8a00000ull) == &m.v[0]);
	CHECK(maps_find(&m, 0x55d0c8a00fffull) == &m.v[0]);
	CHECK(maps_find(&m, 0x55d0c8a01000ull) == &m.v[1]);
	CHECK(maps_find(&m, 0x55d0ca0fffffull) == &m.v[2]);
	CHECK(maps_find(&m, 0x55d0ca100000ull) == NULL);
	CHECK(maps_find(&m, 0) == NULL);
	maps_free(&m);
}

static void empty(void)
{
	struct maps m;

	CHECK_INT(maps_parse(xstrdup(""), 0, &m), 0);
	CHECK_INT(m.n, 0);
	CHECK(maps_find(&m, 0x1000) == NULL);
	maps_free(&m);
}

static void parse_text(const char *text, struct maps *m)
{
	char *copy = xstrdup(text);

	CHECK_INT(maps_parse(copy, strlen(copy), m), 0);
}

/* Anonymous mappings come and go; only a change of files makes a rebuild. */
static void same_files(void)
{
	const char *lib =
		"7f1000000000-7f1000001000 r--p 00000000 08:02 42   /usr/lib/libpython3.12.so.1.0\n"
		"7f1000001000-7f1000090000 r-xp 00001000 08:02 42   /usr/lib/libpython3.12.so.1.0\n";
	char *a_text = xasprintf("%s", lib);
	char *b_text = xasprintf("7e0000000000-7e0000100000 rw-p 00000000 00:00 0\n%s"
				 "7f2000000000-7f2000100000 rw-p 00000000 00:00 0\n", lib);
	char *c_text = xasprintf("%s7f3000000000-7f3000001000 r-xp 00000000 08:02 77   /opt/ext.so\n", lib);
	char *d_text = xasprintf("7f1000000000-7f1000001000 r--p 00000000 08:02 43   /usr/lib/libpython3.12.so.1.0\n"
				 "7f1000001000-7f1000090000 r-xp 00001000 08:02 43   /usr/lib/libpython3.12.so.1.0\n");
	struct maps a, b, c, d;

	parse_text(a_text, &a);
	parse_text(b_text, &b);
	parse_text(c_text, &c);
	parse_text(d_text, &d);
	CHECK_INT(a.nfiles, 1);
	CHECK(maps_same_files(&a, &b));
	CHECK(!maps_same_files(&a, &c));	/* a library loaded */
	CHECK(!maps_same_files(&a, &d));	/* the file replaced (another inode) */
	maps_free(&a);
	maps_free(&b);
	maps_free(&c);
	maps_free(&d);
	free(a_text);
	free(b_text);
	free(c_text);
	free(d_text);
}

static void thread_count(void)
{
	pid_t *tids = NULL;
	size_t cap = 0;
	long listed = proc_tasks(getpid(), &tids, &cap);

	CHECK(listed >= 1);
	CHECK_INT(proc_thread_count(getpid()), listed);
	CHECK(proc_thread_count(0x7fffffff) < 0);	/* no such process */
	free(tids);
}

const struct unit_test maps_tests[] = {
	{ "maps: parse", parse },
	{ "maps: empty", empty },
	{ "maps: same files", same_files },
	{ "proc: thread count", thread_count },
	{ NULL, NULL },
};

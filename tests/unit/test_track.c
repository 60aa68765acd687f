/*
 * Unit tests: following threads across snapshots (track.h) and folding
 * their stacks (folded.h), over hand-made snapshots.
 */
#include <stdlib.h>

#include "folded.h"
#include "snapshot.h"
#include "track.h"
#include "unit.h"

#define MS 1000000ull

/* A snapshot of threads 1 and 2 (pthreads 0x10, 0x20), each at the given line of one frame. */
static struct snapshot *two_threads(int line1, int line2)
{
	struct snapshot *s = snapshot_new(7);
	int lines[2] = { line1, line2 };

	s->cmdline = "/usr/bin/python3 app.py --flag";
	for (int i = 0; i < 2; i++) {
		struct thread *t = snapshot_add_thread(s);
		struct frame f[2] = {
			{ .kind = FRAME_PYTHON, .function = "work", .qualname = "Job.work",
			  .file = "/app/job.py", .line = lines[i], .code = 0x1000 },
			{ .kind = FRAME_PYTHON, .function = "<module>", .file = "/app/app.py",
			  .line = 3, .code = 0x2000 },
		};

		t->tid = i + 1;
		t->thread_id = 0x10 * (uint64_t)(i + 1);
		snapshot_set_frames(s, t, f, 2);
	}
	return s;
}

static void unchanged_and_changed(void)
{
	struct tracker *tr = tracker_new();
	struct snapshot *s;
	pid_t tids[4];

	s = two_threads(10, 20);
	tracker_update(tr, s, 1000 * MS);
	CHECK(!s->threads[0].changed && !s->threads[1].changed);
	CHECK(s->threads[0].unchanged_s == 0 && s->threads[1].unchanged_s == 0);
	snapshot_free(s);

	s = two_threads(10, 21);		/* thread 2 moved on a line */
	tracker_update(tr, s, 1500 * MS);
	CHECK(!s->threads[0].changed);
	CHECK(s->threads[0].unchanged_s > 0.499 && s->threads[0].unchanged_s < 0.501);
	CHECK(s->threads[1].changed);
	CHECK(s->threads[1].unchanged_s == 0);
	snapshot_free(s);

	s = two_threads(10, 21);
	tracker_update(tr, s, 2250 * MS);
	CHECK(s->threads[0].unchanged_s > 1.249 && s->threads[0].unchanged_s < 1.251);
	CHECK(!s->threads[1].changed);
	CHECK(s->threads[1].unchanged_s > 0.749 && s->threads[1].unchanged_s < 0.751);
	CHECK_INT(tracker_unchanged_throughout(tr, tids, 4), 1);
	CHECK_INT(tids[0], 1);
	snapshot_free(s);
	tracker_free(tr);
}

static void threads_come_and_go(void)
{
	struct tracker *tr = tracker_new();
	struct snapshot *s = two_threads(10, 20), *t;
	pid_t tids[1];

	tracker_update(tr, s, 0);
	/* The same threads listed the other way round, and thread 1 replaced by thread 3. */
	t = two_threads(20, 10);
	t->threads[0].tid = 2;
	t->threads[0].thread_id = 0x20;
	t->threads[1].tid = 3;
	t->threads[1].thread_id = 0x30;
	tracker_update(tr, t, 100 * MS);
	CHECK(!t->threads[0].changed);
	CHECK(t->threads[0].unchanged_s > 0.099);
	CHECK(t->threads[1].changed);		/* new since the last snapshot */
	CHECK(t->threads[1].unchanged_s == 0);
	CHECK_INT(tracker_unchanged_throughout(tr, tids, 1), 1);
	CHECK_INT(tids[0], 2);
	snapshot_free(s);
	snapshot_free(t);
	tracker_free(tr);
}

static void native_frames_by_function(void)
{
	struct tracker *tr = tracker_new();
	struct frame a = { .kind = FRAME_NATIVE, .function = "poll", .address = 0x7000, .offset = 4 };
	struct frame b = a;
	struct snapshot *s = two_threads(1, 1), *t = two_threads(1, 1);

	/* Another address in the same function is the same frame; another function is not. */
	b.address = 0x7008;
	b.offset = 12;
	snapshot_set_frames(s, &s->threads[0], &a, 1);
	snapshot_set_frames(t, &t->threads[0], &b, 1);
	tracker_update(tr, s, 0);
	tracker_update(tr, t, MS);
	CHECK(!t->threads[0].changed);
	b.function = "select";
	snapshot_set_frames(s, &s->threads[0], &b, 1);
	tracker_update(tr, s, 2 * MS);
	CHECK(s->threads[0].changed);
	snapshot_free(s);
	snapshot_free(t);
	tracker_free(tr);
}

static void folding(void)
{
	struct snapshot *s = two_threads(10, 20);
	struct frame n = { .kind = FRAME_NATIVE, .module = "/lib/libc.so.6", .address = 0x7f00 };
	struct folded *f = folded_new();
	const struct folded_entry *v;
	size_t count;
	char *stack;

	s->threads[1].name = "worker;1\x1b";
	stack = folded_stack(s, &s->threads[0]);
	CHECK_STR(stack, "python3 (7);Thread 1;<module> (/app/app.py:3);Job.work (/app/job.py:10)");
	free(stack);
	/* A ';' in a name would split a frame, and an escape must not reach a terminal. */
	stack = folded_stack(s, &s->threads[1]);
	CHECK_STR(stack, "python3 (7);Thread 2 worker:1\\x1b;<module> (/app/app.py:3);"
			 "Job.work (/app/job.py:20)");
	free(stack);
	snapshot_set_frames(s, &s->threads[1], &n, 1);
	stack = folded_stack(s, &s->threads[1]);
	CHECK_STR(stack, "python3 (7);Thread 2 worker:1\\x1b;0x7f00 [libc.so.6]");
	free(stack);

	folded_add_snapshot(f, s);
	folded_add_snapshot(f, s);
	s->threads[0].frames[0].line = 11;
	folded_add_snapshot(f, s);
	v = folded_entries(f, &count);
	CHECK_INT(count, 3);
	CHECK_INT(folded_count(f), 3);
	CHECK_STR(v[0].stack, "python3 (7);Thread 1;<module> (/app/app.py:3);Job.work (/app/job.py:10)");
	CHECK_INT(v[0].count, 2);
	CHECK_STR(v[1].stack, "python3 (7);Thread 1;<module> (/app/app.py:3);Job.work (/app/job.py:11)");
	CHECK_INT(v[1].count, 1);
	CHECK_INT(v[2].count, 3);
	folded_free(f);
	snapshot_free(s);
}

/* Enough distinct stacks to make the table grow several times. */
static void folding_many(void)
{
	struct folded *f = folded_new();
	struct snapshot *s = two_threads(1, 1);
	const struct folded_entry *v;
	size_t count;
	uint64_t total = 0;

	for (int i = 0; i < 1000; i++) {
		s->threads[0].frames[0].line = i;
		s->threads[1].frames[0].line = i % 10;
		folded_add_snapshot(f, s);
	}
	v = folded_entries(f, &count);
	CHECK_INT(count, 1000 + 10);
	for (size_t i = 0; i < count; i++)
		total += v[i].count;
	CHECK_INT(total, 2000);
	folded_free(f);
	snapshot_free(s);
}

const struct unit_test track_tests[] = {
	{ "track: unchanged and changed", unchanged_and_changed },
	{ "track: threads come and go", threads_come_and_go },
	{ "track: native frames by function", native_frames_by_function },
	{ "folded: stacks and counts", folding },
	{ "folded: many stacks", folding_many },
	{ NULL, NULL },
};

/*
 * Unit tests: merging Python frames into native stacks, for both frame
 * models, both modes, tail-calling interpreters, native stacks that end
 * early, and stacks that do not fit together; and the list of the
 * interpreter's call machinery they hide.
 */
#include "machinery.h"
#include "merge.h"
#include "pyruntime.h"
#include "unit.h"

#define E { .eval = true, .interp = true }	/* the eval loop's entry */
#define H { .eval_part = true, .interp = true }	/* a tail-calling interpreter's handler */
#define I { .interp = true, .unnamed = true }	/* the interpreter's code, stripped */
#define M { .interp = true, .machinery = true }	/* the interpreter's call machinery */
#define C { .interp = true }			/* the interpreter's C code Python called */
#define L { .interp = false }			/* a library or extension */

static long run_open(size_t npy, const bool *entry, bool grouped, const struct merge_native *n,
		     size_t nn, enum native_mode mode, bool open_end, struct merge_item *out)
{
	char why[128];

	return merge_stacks(npy, entry, grouped, n, nn, mode, open_end, out, why, sizeof(why));
}

static long run(size_t npy, const bool *entry, bool grouped, const struct merge_native *n,
		size_t nn, enum native_mode mode, struct merge_item *out)
{
	return run_open(npy, entry, grouped, n, nn, mode, false, out);
}

/* "p0" for Python frame 0, "n3" for native frame 3, joined by spaces. */
static void render(const struct merge_item *v, long n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (long i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%c%zu", i ? " " : "",
					v[i].python ? 'p' : 'n', v[i].index);
}

/* Check the merge of npy ungrouped Python frames with native frames n in both modes. */
#define CHECK_BOTH_MODES(npy, n, on, all)                                          \
	do {                                                                       \
		struct merge_item out_[32];                                        \
		char s_[160];                                                      \
		size_t nn_ = sizeof(n) / sizeof((n)[0]);                           \
		long k_ = run(npy, NULL, false, n, nn_, NATIVE_ON, out_);          \
                                                                                   \
		render(out_, k_, s_, sizeof(s_));                                  \
		CHECK_STR(s_, on);                                                 \
		k_ = run(npy, NULL, false, n, nn_, NATIVE_ALL, out_);              \
		render(out_, k_, s_, sizeof(s_));                                  \
		CHECK_STR(s_, all);                                                \
	} while (0)

static void one_frame_per_eval(void)
{
	/* libc sleep, interp leaf, eval(p0), interp, extension, interp, eval(p1), libc start */
	static const struct merge_native n[] = { L, I, E, I, L, I, E, L };

	CHECK_BOTH_MODES(2, n, "n0 n1 p0 n4 p1 n7", "n0 n1 p0 n3 n4 n5 p1 n7");
}

static void call_machinery_hidden_called_code_kept(void)
{
	/*
	 * time.sleep's C code under a trampoline, eval(p0: the key function),
	 * trampolines, sorted()'s C code, a trampoline, eval(p1), the thread's
	 * start in the interpreter, libc.
	 */
	static const struct merge_native n[] = { C, M, E, M, M, C, C, M, E, C, L };

	CHECK_BOTH_MODES(2, n, "n0 p0 n5 n6 p1 n9 n10", "n0 n1 p0 n3 n4 n5 n6 n7 p1 n9 n10");
}

static void grouped_by_entry_frames(void)
{
	/* Python: p0 p1 (entry) | p2 (entry) | p3 p4 p5 (last: entry by rule) */
	static const bool entry[] = { false, true, true, false, false, true };
	static const struct merge_native n[] = { L, E, I, L, E, I, E, L };
	struct merge_item out[16];
	char s[128];
	long k = run(6, entry, true, n, 8, NATIVE_ON, out);

	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 p0 p1 n3 p2 p3 p4 p5 n7");
}

static void last_group_without_entry_mark(void)
{
	static const bool entry[] = { false, false, false };
	static const struct merge_native n[] = { E, L };
	struct merge_item out[8];
	char s[64];
	long k = run(3, entry, true, n, 2, NATIVE_ON, out);

	render(out, k, s, sizeof(s));
	CHECK_STR(s, "p0 p1 p2 n1");
}

static void no_python_keeps_everything(void)
{
	static const struct merge_native n[] = { L, I, I, L };
	struct merge_item out[8];
	char s[64];
	long k = run(0, NULL, true, n, 4, NATIVE_ON, out);

	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 n1 n2 n3");
}

static void stacks_that_do_not_fit(void)
{
	static const bool entry[] = { true, true, true };
	static const struct merge_native n[] = { L, E, E, L };
	struct merge_item out[8];
	char why[128];

	CHECK_INT(merge_stacks(3, entry, true, n, 4, NATIVE_ON, false, out, why, sizeof(why)), -1);
	CHECK(strstr(why, "enters Python 2 times") && strstr(why, "Python stack 3 times"));
	CHECK_INT(merge_stacks(1, NULL, false, n, 4, NATIVE_ALL, false, out, why, sizeof(why)), -1);
	CHECK_INT(merge_stacks(2, NULL, false, n, 4, NATIVE_ALL, false, out, why, sizeof(why)), 4);
	/* A stack that ends early may lack calls, never have too many. */
	CHECK_INT(merge_stacks(1, NULL, false, n, 4, NATIVE_ALL, true, out, why, sizeof(why)), -1);
	CHECK(strstr(why, "enters Python 2 times") && strstr(why, "Python stack 1 time"));
}

static void tail_calling_handlers(void)
{
	/*
	 * libc, a C callee, handler + entry (p0 p1), the extension, handler +
	 * entry (p2), thread start: the handlers are part of their call and
	 * are never shown, in either mode.
	 */
	static const bool entry[] = { false, true, true };
	static const struct merge_native n[] = { L, I, H, E, I, L, I, H, E, L };
	struct merge_item out[16];
	char s[128];
	long k;

	k = run(3, entry, true, n, 10, NATIVE_ON, out);
	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 n1 p0 p1 n5 p2 n9");
	k = run(3, entry, true, n, 10, NATIVE_ALL, out);
	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 n1 p0 p1 n4 n5 n6 p2 n9");
}

static void entry_frames_in_a_row(void)
{
	/* An entry called straight from a handler, or from another entry: each is a call. */
	static const bool entry[] = { true, true, true };
	static const struct merge_native n[] = { H, E, E, H, E, L };
	struct merge_item out[16];
	char s[128];
	long k = run(3, entry, true, n, 6, NATIVE_ON, out);

	render(out, k, s, sizeof(s));
	CHECK_STR(s, "p0 p1 p2 n5");
}

static void handlers_without_their_entry(void)
{
	/* Handlers the unwinding left without their entry still stand for their frames. */
	static const bool entry[] = { true, true };
	static const struct merge_native n[] = { L, H, H, L, H, E, L };
	struct merge_item out[16];
	char s[128];
	long k = run(2, entry, true, n, 7, NATIVE_ON, out);

	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 p0 n3 p1 n6");
}

static void native_stack_ending_early(void)
{
	/* Cut after JIT code (L: a bare address): the outer Python frames follow it. */
	static const bool entry[] = { true, false, true, true };
	static const struct merge_native n[] = { L, I, E, I, L, L };
	struct merge_item out[16];
	char s[128];
	long k;

	k = run_open(4, entry, true, n, 6, NATIVE_ON, true, out);
	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 n1 p0 n4 n5 p1 p2 p3");
	k = run_open(4, entry, true, n, 6, NATIVE_ALL, true, out);
	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 n1 p0 n3 n4 n5 p1 p2 p3");
	/* No eval-loop call at all before the cut: every Python frame comes after it. */
	k = run_open(4, entry, true, n, 2, NATIVE_ON, true, out);
	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 n1 p0 p1 p2 p3");
	/* Complete stacks merge the same whether or not the end is said to be open. */
	k = run_open(2, NULL, false, (const struct merge_native[]){ L, E, I, E }, 4, NATIVE_ON, true,
		     out);
	render(out, k, s, sizeof(s));
	CHECK_STR(s, "n0 p0 p1");
}

static void machinery_by_name_and_version(void)
{
	CHECK(call_machinery(PY_VER(3, 12), "_PyFunction_Vectorcall"));
	CHECK(call_machinery(PY_VER(3, 8), "call_function.isra.0"));
	CHECK(!call_machinery(PY_VER(3, 9), "call_function"));	/* gone into the eval loop */
	CHECK(!call_machinery(PY_VER(3, 7), "_PyFunction_Vectorcall"));	/* not yet there */
	CHECK(call_machinery(PY_VER(3, 15), "PyObject_Vectorcall"));	/* still there */
	CHECK(!call_machinery(PY_VER(3, 12), "builtin_sorted"));
	CHECK(!call_machinery(PY_VER(3, 12), "PyObject_Vectorcall_"));
	CHECK(!call_machinery(PY_VER(3, 12), NULL));
}

const struct unit_test merge_tests[] = {
	{ "merge: the call machinery, by name and version", machinery_by_name_and_version },
	{ "merge: one frame per eval (<=3.10)", one_frame_per_eval },
	{ "merge: call machinery hidden, the C code Python called kept", call_machinery_hidden_called_code_kept },
	{ "merge: grouped by entry frames (3.11+)", grouped_by_entry_frames },
	{ "merge: last group", last_group_without_entry_mark },
	{ "merge: no Python", no_python_keeps_everything },
	{ "merge: stacks that do not fit", stacks_that_do_not_fit },
	{ "merge: tail-calling handlers (3.14+)", tail_calling_handlers },
	{ "merge: entry frames in a row", entry_frames_in_a_row },
	{ "merge: handlers without their entry", handlers_without_their_entry },
	{ "merge: native stack ending early", native_stack_ending_early },
	{ NULL, NULL },
};

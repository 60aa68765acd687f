/*
 * Unit tests: reading whole fake processes, for each frame model and line
 * table format: threads in order, frames innermost first, lines, qualified
 * names, the GIL holder; and the bounds: loops in frame chains and thread
 * lists, code objects that are not code, unreadable frames.
 */
#include <stdlib.h>

#include "errors.h"
#include "fakepy.h"
#include "pycode.h"
#include "pyread.h"
#include "snapshot.h"
#include "unit.h"

/* A line table in which byte offset a is on line firstlineno + a / 2. */
static size_t table_for(enum pyline_format fmt, unsigned char *t, int units)
{
	size_t n = 0;

	for (int u = 0; u < units; u++) {
		if (fmt == PYLINE_LOCATIONS) {
			t[n++] = 0x80 | 13 << 3;	/* no columns, one unit */
			t[n++] = u ? 2 : 0;		/* svarint +1 (or +0) */
		} else if (fmt == PYLINE_LINETABLE_310) {
			t[n++] = 2;
			t[n++] = u ? 1 : 0;
		} else if (u) {
			t[n++] = 2;
			t[n++] = 1;
		}
	}
	return n;
}

struct world {
	struct fakepy fp;
	uint64_t interp, t1, t2, t3;
	uint64_t handle, serve, main_code, worker;
};

static uint64_t code(struct world *w, const char *name, const char *qual, int first)
{
	unsigned char t[128];
	size_t n = table_for(w->fp.rt.line_format, t, 32);

	return fakepy_code(&w->fp, name, qual, "/srv/app/server.py", first, t, n);
}

/* Three threads: a three-frame stack, one with a C-stack shim, one empty. */
static void build(struct world *w, unsigned major, unsigned minor)
{
	struct fakepy *fp = &w->fp;
	const struct py_offsets *o;
	uint64_t f, gil = 0;

	fakepy_init(fp, major, minor);
	o = &fp->rt.off;
	w->main_code = code(w, "<module>", "<module>", 1);
	w->serve = code(w, "serve", "Server.serve", 80);
	w->handle = code(w, "handle", "Server.handle", 110);
	w->worker = code(w, "work", "Pool.work", 200);
	w->interp = fakepy_interp(fp);
	f = fakepy_frame(fp, w->main_code, 20, 0, 0);
	f = fakepy_frame(fp, w->serve, 16, f, 0);
	f = fakepy_frame(fp, w->handle, 20, f, 0);
	w->t1 = fakepy_thread(fp, w->interp, 0x1000, 101, f);
	f = fakepy_frame(fp, w->worker, 4, 0, 0);
	if (fp->rt.vkey >= PY_VER(3, 12))
		f = fakepy_frame(fp, 0, 0, f, 3);
	f = fakepy_frame(fp, w->worker, 8, f, 0);
	w->t2 = fakepy_thread(fp, w->interp, 0x2000, 102, f);
	w->t3 = fakepy_thread(fp, w->interp, 0x3000, 103, 0);
	fakepy_set_head(fp, w->interp);
	/* The GIL: held by the second thread. */
	if (fp->rt.vkey < PY_VER(3, 7)) {
		fakepy_put64(fp, fp->rt.tstate_current, w->t2);
		return;
	}
	if (o->interp_gil != PYO_NONE)
		memcpy(&gil, fp->img + (w->interp + o->interp_gil - FAKEPY_BASE), 8);
	else
		gil = fp->rt.runtime + o->runtime_gil;
	fakepy_put32(fp, gil + o->gil_locked, 1);
	fakepy_put64(fp, gil + o->gil_last_holder, w->t2);
}

static int read_world(struct world *w, struct snapshot **out)
{
	struct rmem *m = fakepy_map(&w->fp);
	struct pycode_cache *codes = pycode_cache_new();
	struct pyread r = { .pid = 0, .mem = m, .rt = &w->fp.rt, .codes = codes, .gen = 1 };
	struct snapshot *snap = snapshot_new(1);
	int err = pyread_snapshot(&r, snap);

	pyread_lines(&r, snap);
	pycode_cache_free(codes);
	rmem_free(m);
	*out = snap;
	return err;
}

static void check_frame(const struct frame *f, const char *name, const char *qual, int line,
			const struct pyruntime *rt)
{
	CHECK(f->kind == FRAME_PYTHON);
	CHECK_STR(f->function, name);
	CHECK_STR(f->file, "/srv/app/server.py");
	CHECK_INT(f->line, line);
	if (rt->vkey >= PY_VER(3, 11))
		CHECK_STR(f->qualname, qual);
	else
		CHECK(f->qualname == NULL);
}

static void every_version(void)
{
	static const unsigned versions[][2] = {
		{ 2, 7 }, { 3, 6 }, { 3, 7 }, { 3, 8 }, { 3, 9 }, { 3, 10 }, { 3, 11 }, { 3, 12 }, { 3, 13 },
	};

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		struct world w;
		struct snapshot *s;
		const struct pyruntime *rt = &w.fp.rt;

		build(&w, versions[v][0], versions[v][1]);
		CHECK_INT(read_world(&w, &s), 0);
		CHECK_INT(s->partial, 0);
		CHECK_INT(s->nthreads, 3);
		if (s->nthreads == 3) {
			const struct thread *t = s->threads;

			CHECK_INT(t[0].thread_id, 0x1000);
			CHECK_INT(t[1].thread_id, 0x2000);
			CHECK_INT(t[2].thread_id, 0x3000);
			CHECK_INT(t[0].nframes, 3);
			if (t[0].nframes == 3) {
				check_frame(&t[0].frames[0], "handle", "Server.handle", 120, rt);
				check_frame(&t[0].frames[1], "serve", "Server.serve", 88, rt);
				check_frame(&t[0].frames[2], "<module>", "<module>", 11, rt);
			}
			CHECK_INT(t[1].nframes, 2);
			if (t[1].nframes == 2) {
				check_frame(&t[1].frames[0], "work", "Pool.work", 204, rt);
				check_frame(&t[1].frames[1], "work", "Pool.work", 202, rt);
			}
			CHECK_INT(t[2].nframes, 0);
			CHECK(!t[0].holds_gil && t[1].holds_gil && !t[2].holds_gil);
			if (rt->vkey >= PY_VER(3, 11))
				CHECK_INT(t[1].tid, 102);
			CHECK(t[0].error == NULL && t[1].error == NULL);
		}
		snapshot_free(s);
		fakepy_free(&w.fp);
	}
}

/* The top frame of the first thread, to corrupt. */
static uint64_t top_frame(struct world *w, uint64_t tstate)
{
	const struct py_offsets *o = &w->fp.rt.off;
	uint64_t f;

	memcpy(&f, w->fp.img + (tstate + o->tstate_frame - FAKEPY_BASE), 8);
	return f;
}

static void frame_loop(void)
{
	static const unsigned versions[][2] = { { 3, 9 }, { 3, 13 } };

	for (size_t v = 0; v < 2; v++) {
		struct world w;
		struct snapshot *s;
		uint64_t f;

		build(&w, versions[v][0], versions[v][1]);
		f = top_frame(&w, w.t1);
		/* handle's frame -> serve's frame -> back to handle's. */
		{
			uint64_t serve_frame;
			uint64_t back = w.fp.rt.vkey < PY_VER(3, 11) ? w.fp.rt.off.frame_back :
									  w.fp.rt.off.iframe_previous;

			memcpy(&serve_frame, w.fp.img + (f + back - FAKEPY_BASE), 8);
			fakepy_put64(&w.fp, serve_frame + back, f);
		}
		CHECK_INT(read_world(&w, &s), 0);
		CHECK(s->partial >= 1);
		CHECK(s->threads[0].truncated);
		CHECK(s->threads[0].error && strstr(s->threads[0].error, "loops"));
		CHECK_INT(s->threads[0].nframes, 2);
		CHECK(s->threads[1].error == NULL);
		snapshot_free(s);
		fakepy_free(&w.fp);
	}
}

static void bad_code_and_frames(void)
{
	struct world w;
	struct snapshot *s;
	const struct py_offsets *o;
	uint64_t f;

	build(&w, 3, 12);
	o = &w.fp.rt.off;
	/* The first thread's top frame names a str, not a code object. */
	fakepy_put64(&w.fp, w.handle + o->object_type, w.fp.rt.type_unicode);
	/* The second thread's frame chain runs into unmapped memory. */
	f = fakepy_frame(&w.fp, w.worker, 0, 0xdead0000, 0);
	fakepy_put64(&w.fp, w.t2 + o->tstate_cframe, fakepy_alloc(&w.fp, 64));
	{
		uint64_t cf;

		memcpy(&cf, w.fp.img + (w.t2 + o->tstate_cframe - FAKEPY_BASE), 8);
		fakepy_put64(&w.fp, cf + o->cframe_current_frame, f);
	}
	CHECK_INT(read_world(&w, &s), 0);
	CHECK_INT(s->partial, 2);
	CHECK_INT(s->threads[0].nframes, 2);
	CHECK(s->threads[0].error && strstr(s->threads[0].error, "left out"));
	CHECK_INT(s->threads[1].nframes, 1);
	CHECK(s->threads[1].error && strstr(s->threads[1].error, "0xdead0000"));
	snapshot_free(s);
	fakepy_free(&w.fp);
}

/* A frame that names no code object is left out in words, not as "0x0". */
static void frame_without_code(void)
{
	struct world w;
	struct snapshot *s;

	build(&w, 3, 10);
	fakepy_put64(&w.fp, w.t3 + w.fp.rt.off.tstate_frame,
		     fakepy_frame(&w.fp, 0, 0, fakepy_frame(&w.fp, w.worker, 4, 0, 0), 0));
	CHECK_INT(read_world(&w, &s), 0);
	CHECK_INT(s->threads[2].nframes, 1);
	CHECK(s->threads[2].truncated);
	CHECK(s->threads[2].error && strstr(s->threads[2].error, "1 frame left out: it named no "
						  "code object"));
	CHECK(s->threads[2].error && !strstr(s->threads[2].error, "0x0"));
	snapshot_free(s);
	fakepy_free(&w.fp);
}

static void thread_list_loop(void)
{
	struct world w;
	struct snapshot *s;

	build(&w, 3, 10);
	/* The last thread state links back to the first. */
	fakepy_put64(&w.fp, w.t1 + w.fp.rt.off.tstate_next, w.t3);
	CHECK_INT(read_world(&w, &s), 0);
	CHECK_INT(s->nthreads, 3);
	CHECK(s->partial >= 1);
	snapshot_free(s);
	fakepy_free(&w.fp);
}

static void no_interpreter(void)
{
	struct world w;
	struct snapshot *s;

	build(&w, 3, 11);
	fakepy_set_head(&w.fp, 0);
	CHECK_INT(read_world(&w, &s), -PS_E_NO_INTERP);
	snapshot_free(s);
	fakepy_free(&w.fp);
}

const struct unit_test pyread_tests[] = {
	{ "pyread: every version", every_version },
	{ "pyread: frame loop", frame_loop },
	{ "pyread: bad code objects and frames", bad_code_and_frames },
	{ "pyread: a frame without a code object", frame_without_code },
	{ "pyread: thread list loop", thread_list_loop },
	{ "pyread: no interpreter", no_interpreter },
	{ NULL, NULL },
};

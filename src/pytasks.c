/*
 * Reading asyncio's tasks (see pytasks.h): the registries, each task's
 * fields and coroutine chain, the graph of who awaits whom, its cycles.
 *
 * The chases of all tasks (the task, each step down its chain of awaits,
 * its done-callbacks) run in rounds of deferred reads, so each step of
 * thousands of tasks is one vectored read, not one read each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "msg.h"
#include "pyobj.h"
#include "pyread.h"
#include "pyruntime.h"
#include "pystr.h"
#include "pytasks.h"
#include "rmem.h"
#include "snapshot.h"

/*
 * Where the fields of _asyncio's FutureObj and TaskObj, and of the objects
 * a chain of awaits goes through, are in each version: from `ptype /o` of
 * the DWARF of each version's _asyncio module and libpython (x86-64).
 * 0 is a field the version does not have.
 */
struct aio_layout {
	unsigned vkey;
	uint16_t fut_state;		/* fut_state (an enum, int) */
	uint16_t task_fut_waiter, task_coro, task_name;
	uint16_t func_closure;		/* PyFunctionObject.func_closure */
	uint16_t tstate_dict;		/* PyThreadState.dict (3.7-3.12: the running loop is in it) */
	uint16_t tstate_running_loop;	/* _PyThreadStateImpl.asyncio_running_loop (3.13) */
	uint16_t gen_frame;		/* PyGenObject.gi_frame, a PyFrameObject * (<=3.10) */
	uint16_t gen_iframe;		/* gi_iframe, the frame inside the generator (3.11+) */
	uint16_t gen_frame_state;	/* gi_frame_state, int8 (3.11+) */
	uint16_t frame_stacktop;	/* PyFrameObject.f_stacktop (3.7-3.9) */
	uint16_t frame_valuestack;	/* f_valuestack (3.10) */
	uint16_t frame_stackdepth;	/* f_stackdepth, int (3.10) */
	uint16_t iframe_stacktop;	/* _PyInterpreterFrame.stacktop, int: slots of localsplus used */
};

static const struct aio_layout layouts[] = {
	{ .vkey = PY_VER(3, 7), .fut_state = 72, .task_fut_waiter = 104, .task_coro = 112,
	  .func_closure = 48, .tstate_dict = 152, .gen_frame = 16, .frame_stacktop = 72 },
	{ .vkey = PY_VER(3, 8), .fut_state = 72, .task_fut_waiter = 104, .task_coro = 112,
	  .task_name = 120, .func_closure = 48, .tstate_dict = 152, .gen_frame = 16,
	  .frame_stacktop = 72 },
	{ .vkey = PY_VER(3, 9), .fut_state = 80, .task_fut_waiter = 144, .task_coro = 152,
	  .task_name = 160, .func_closure = 48, .tstate_dict = 152, .gen_frame = 16,
	  .frame_stacktop = 72 },
	{ .vkey = PY_VER(3, 10), .fut_state = 88, .task_fut_waiter = 152, .task_coro = 160,
	  .task_name = 168, .func_closure = 72, .tstate_dict = 152, .gen_frame = 16,
	  .frame_valuestack = 64, .frame_stackdepth = 80 },
	{ .vkey = PY_VER(3, 11), .fut_state = 88, .task_fut_waiter = 128, .task_coro = 136,
	  .task_name = 144, .func_closure = 72, .tstate_dict = 128, .gen_iframe = 80,
	  .gen_frame_state = 75, .iframe_stacktop = 64 },
	{ .vkey = PY_VER(3, 12), .fut_state = 88, .task_fut_waiter = 128, .task_coro = 136,
	  .task_name = 144, .func_closure = 72, .tstate_dict = 112, .gen_iframe = 72,
	  .gen_frame_state = 67, .iframe_stacktop = 64 },
	{ .vkey = PY_VER(3, 13), .fut_state = 96, .task_fut_waiter = 112, .task_coro = 120,
	  .task_name = 128, .func_closure = 72, .tstate_running_loop = 304, .gen_iframe = 72,
	  .gen_frame_state = 67, .iframe_stacktop = 64 },
};

/* The same in every version: the head of a future, and objects of one reference. */
#define FUT_LOOP	16
#define FUT_CALLBACK0	24
#define FUT_CALLBACKS	40
/* The first field after PyObject_HEAD: weakref's wr_object, an asend's or athrow's
 * generator, a coroutine wrapper's coroutine, the running-loop holder's loop
 * (3.7-3.11), functools.partial's fn. */
#define FIRST_FIELD	16
#define PARTIAL_ARGS	24

#define STATE_PENDING	0	/* fut_state: STATE_PENDING, STATE_CANCELLED, STATE_FINISHED */
#define YIELD_FROM	72	/* the opcode a generator is suspended in, 3.7-3.10 */

/* Bounds of what one task's done-callbacks lead to. */
#define MAX_CALLBACKS	64
#define MAX_REFS	128
#define MAX_CELLS	32
#define MAX_CHILDREN	100000	/* of a gather */
#define MAX_FRONTIER	64	/* futures a wait leads through: nested gathers */
#define ROUNDS		64	/* deferred rounds, then the rest read one by one */

enum stage {
	ST_TASK,
	ST_CHAIN,
	ST_CALLBACKS,
	ST_WAITER,
	ST_NAME,
	ST_DONE,
};

struct tk {
	uint64_t obj;
	enum stage stage;
	bool keep;		/* a pending task */
	bool py;		/* the pure-Python Task: fields are attributes */
	uint64_t loop, coro, waiter, name, cb0, cbs;
	/* The chain: the next object, and its frames outermost first. */
	uint64_t cur, mark;
	size_t steps, pow;
	struct pyread_frame *fr;
	size_t nfr, capfr;
	const char *error;	/* static text */
	uint64_t *refs;		/* what its done-callbacks hold */
	size_t nrefs;
	bool waits_gather;	/* its waiter is a gather's future */
	char *waits_on;		/* repr of its waiter when that is no task, or NULL */
	char *name_text;	/* its name, or NULL */
	size_t rank;		/* where its loop's thread is among the snapshot's (SIZE_MAX: none) */
};

#define MEMO 16
#define MAX_LOOPS 1024	/* running loops of the threads, at most */

struct type_memo {
	uint64_t type, base;
	bool yes;
};

struct repr_memo {
	uint64_t type;
	char prefix[160];	/* "<asyncio.Future" */
};

#define CB_MEMO	64
#define CB_REFS	40

struct cb_memo {
	uint64_t cb;
	size_t n;
	uint64_t refs[CB_REFS];
};

struct ctx {
	const struct pyread *r;
	struct cb_memo *cbs;	/* CB_MEMO callbacks' references */
	struct type_memo *memo;	/* MEMO answers of derives() */
	struct repr_memo *reprs;	/* MEMO forms of waiters' reprs */
	struct rmem *m;
	const struct pyruntime *rt;
	const struct aio_layout *l;
	uint64_t ctask, gathering, partial;	/* _asyncio.Task, gather's future, functools.partial */
	const uint64_t *candidates;	/* every object of the registries, sorted */
	size_t ncandidates;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int type_of(const struct ctx *c, uint64_t obj, uint64_t *type)
{
	int err = obj ? rmem_read_u64(c->m, obj + c->rt->off.object_type, type) : -PS_E_BAD_DATA;

	return !err && !*type ? -PS_E_BAD_DATA : err;
}

/*
 * Whether type is base or derives from it (1 or 0), or a negative error: tp_base, which
 * sits just before tp_dict in 3.x.  Answers are remembered: a process has few types of
 * task and future, and thousands of each.
 */
static int derives(const struct ctx *c, uint64_t type, uint64_t base)
{
	struct type_memo *memo = &c->memo[(type >> 4 ^ base >> 6) % MEMO];
	uint64_t t = type;
	int err;

	if (memo->type == type && memo->base == base)
		return memo->yes;
	for (int depth = 0; t && base && depth < 32; depth++) {
		if (t == base)
			break;
		err = rmem_read_u64(c->m, t + c->rt->off.type_dict - 8, &t);
		if (err)
			return err == -PS_E_DEFERRED ? err : 0;
	}
	*memo = (struct type_memo){ type, base, t && t == base };
	return memo->yes;
}

/* An attribute of a pure-Python Task; absent is 0. */
static int attr(const struct ctx *c, uint64_t obj, const char *name, uint64_t *v)
{
	int err = pyobj_getattr_str(c->m, c->rt, obj, name, v);

	if (err == -ENOENT) {
		*v = 0;
		return 0;
	}
	return err;
}

static uint64_t none_to_0(const struct ctx *c, uint64_t v)
{
	return v == c->rt->obj_none ? 0 : v;
}

static int read_task(const struct ctx *c, struct tk *t)
{
	const struct aio_layout *l = c->l;
	uint64_t type, state = 0;
	int err = type_of(c, t->obj, &type);

	if (err)
		return err;
	err = derives(c, type, c->ctask);
	if (err < 0)
		return err;
	t->py = !err;
	if (!t->py) {
		unsigned char buf[256];
		size_t len = (size_t)(l->task_name ? l->task_name : l->task_coro) + 8;
		int32_t st;

		err = rmem_read(c->m, t->obj, buf, len);
		if (err)
			return err;
		memcpy(&st, buf + l->fut_state, 4);
		memcpy(&t->loop, buf + FUT_LOOP, 8);
		memcpy(&t->cb0, buf + FUT_CALLBACK0, 8);
		memcpy(&t->cbs, buf + FUT_CALLBACKS, 8);
		memcpy(&t->waiter, buf + l->task_fut_waiter, 8);
		memcpy(&t->coro, buf + l->task_coro, 8);
		if (l->task_name)
			memcpy(&t->name, buf + l->task_name, 8);
		t->keep = st == STATE_PENDING && t->coro;
	} else {
		char s[16];

		/* Anything else in the registry must at least have the fields of a Task. */
		err = attr(c, t->obj, "_coro", &t->coro);
		if (!err)
			err = attr(c, t->obj, "_state", &state);
		if (!err)
			err = attr(c, t->obj, "_loop", &t->loop);
		if (!err)
			err = attr(c, t->obj, "_fut_waiter", &t->waiter);
		if (!err)
			err = attr(c, t->obj, "_callbacks", &t->cbs);
		if (!err && c->rt->vkey >= PY_VER(3, 8))
			err = attr(c, t->obj, "_name", &t->name);
		if (err)
			return err;
		/* Future._state is a class attribute until the future is done: absent is pending. */
		t->keep = t->coro && (!state || (pystr_read(c->m, c->rt, state, s, sizeof(s)) > 0 &&
						 !strcmp(s, "PENDING")));
	}
	t->waiter = none_to_0(c, t->waiter);
	t->cbs = none_to_0(c, t->cbs);
	t->cb0 = none_to_0(c, t->cb0);
	t->name = none_to_0(c, t->name);
	return 0;
}

/*
 * Of the generator, coroutine or async generator gen: its frame (*has), and what it
 * is suspended awaiting (*yf, 0 for nothing), as Python's own gi_yieldfrom finds it.
 */
static int gen_step(const struct ctx *c, uint64_t gen, struct pyread_frame *f, bool *has,
		    uint64_t *yf)
{
	const struct py_offsets *o = &c->rt->off;
	const struct aio_layout *l = c->l;
	int err;

	*has = false;
	*yf = 0;
	if (c->rt->vkey < PY_VER(3, 11)) {
		/* The frame's fields, from its code object to its last instruction, in one read. */
		unsigned char buf[128];
		uint64_t frame, bytes = 0, top = 0, from = o->frame_code;
		uint64_t len = o->frame_lasti + 4 - from;
		int32_t lasti;
		unsigned char op = 0;

		if (o->frame_lasti < from || len > sizeof(buf) ||
		    (l->frame_stacktop && (l->frame_stacktop < from ||
					   l->frame_stacktop + 8u > from + len)) ||
		    (l->frame_valuestack && (l->frame_valuestack < from ||
					     l->frame_stackdepth + 4u > from + len)))
			return -PS_E_BAD_DATA;
		err = rmem_read_u64(c->m, gen + l->gen_frame, &frame);
		if (err || !frame)
			return err;	/* no frame: finished */
		err = rmem_read(c->m, frame + from, buf, (size_t)len);
		if (err)
			return err;
		memcpy(&f->code, buf, 8);
		memcpy(&lasti, buf + o->frame_lasti - from, 4);
		f->frame = frame;
		f->pos = lasti;
		*has = true;
		if (lasti < 0 || lasti > (1 << 28))
			return 0;	/* not started */
		err = rmem_read_u64(c->m, f->code + o->code_code, &bytes);
		if (!err) {
			uint64_t at = c->rt->vkey >= PY_VER(3, 10) ? (uint64_t)(lasti + 1) * 2 :
								      (uint64_t)lasti + 2;

			err = rmem_read(c->m, bytes + o->bytes_sval + at, &op, 1);
		}
		if (err || op != YIELD_FROM)
			return err == -PS_E_DEFERRED ? err : 0;
		if (l->frame_stacktop) {
			memcpy(&top, buf + l->frame_stacktop - from, 8);
			if (top)
				err = rmem_read_u64(c->m, top - 8, yf);
		} else {
			int32_t depth;

			memcpy(&depth, buf + l->frame_stackdepth - from, 4);
			memcpy(&top, buf + l->frame_valuestack - from, 8);
			if (top && depth > 0 && depth < (1 << 20))
				err = rmem_read_u64(c->m, top + (uint64_t)(depth - 1) * 8, yf);
		}
		return err == -PS_E_DEFERRED ? err : 0;
	}
	{
		uint64_t frame = gen + l->gen_iframe, code, instr;
		int8_t state;
		int32_t top = 0;
		bool yielding_from;

		/* The state and the frame's fields (all before its variables), in one read. */
		unsigned char buf[256];
		uint64_t from = l->gen_frame_state, len = l->gen_iframe + o->iframe_localsplus - from;

		if (len > sizeof(buf) || o->iframe_code + 8 > o->iframe_localsplus ||
		    o->iframe_instr + 8 > o->iframe_localsplus ||
		    l->iframe_stacktop + 4u > o->iframe_localsplus)
			return -PS_E_BAD_DATA;
		err = rmem_read(c->m, gen + from, buf, (size_t)len);
		if (err)
			return err;
		state = (int8_t)buf[0];
		if (state > 0)
			return 0;	/* completed or cleared: no frame */
		memcpy(&code, buf + l->gen_iframe - from + o->iframe_code, 8);
		memcpy(&instr, buf + l->gen_iframe - from + o->iframe_instr, 8);
		memcpy(&top, buf + l->gen_iframe - from + l->iframe_stacktop, 4);
		/* 3.13's f_executable may carry the tag bit of a stack reference. */
		f->code = c->rt->vkey >= PY_VER(3, 13) ? code & ~(uint64_t)1 : code;
		f->frame = frame;
		f->pos = (int64_t)instr;
		*has = true;
		if (c->rt->vkey >= PY_VER(3, 13)) {
			yielding_from = state == -1;	/* FRAME_SUSPENDED_YIELD_FROM */
		} else {
			uint16_t next = 0;
			unsigned op, arg;

			/* Suspended (-1) after a yield that is the RESUME's "after yield from / await". */
			if (state != -1)
				return 0;
			err = rmem_read(c->m, instr + 2, &next, 2);
			if (err)
				return err == -PS_E_DEFERRED ? err : 0;
			op = next & 0xff;
			arg = next >> 8;
			/* RESUME 151; 3.11's RESUME_QUICK 150; 3.12's INSTRUMENTED_RESUME 240 */
			yielding_from = (op == 151 || (c->rt->vkey == PY_VER(3, 11) && op == 150) ||
					 (c->rt->vkey == PY_VER(3, 12) && op == 240)) && arg >= 2;
		}
		if (!yielding_from)
			return 0;
		if (top > 0 && top < (1 << 20))
			err = rmem_read_u64(c->m, frame + o->iframe_localsplus + (uint64_t)(top - 1) * 8,
					    yf);
		return err == -PS_E_DEFERRED ? err : 0;
	}
}

/*
 * A chain found to loop is cut where it first comes back, so that nothing is shown
 * twice.  Brent's detection finds a loop within twice its length and the part before
 * it, so the frames compared are few.
 */
static void cut_repeat(struct tk *t)
{
	for (size_t i = 1; i < t->nfr; i++)
		for (size_t k = 0; k < i; k++)
			if (t->fr[k].frame == t->fr[i].frame) {
				t->nfr = i;
				return;
			}
}

/*
 * Whether type is one of the wrappers that 3.13 made private (so no dynamic symbol
 * gives their address): a static type (no heap type can pass for it) named
 * coroutine_wrapper or async_generator_athrow, remembered.  1, 0 or a negative error.
 */
static int hidden_wrapper(const struct ctx *c, uint64_t type)
{
	struct type_memo *memo = &c->memo[(type >> 4) % MEMO];
	uint64_t flags = 0, name = 0;
	char buf[32];
	bool trunc;
	int err;

	if (c->rt->type_corowrapper && c->rt->type_athrow)
		return 0;
	/* Remembered with base 1, which no type is at (derives() has real bases). */
	if (memo->type == type && memo->base == 1)
		return memo->yes;
	err = rmem_read_u64(c->m, type + c->rt->off.type_flags, &flags);
	if (!err)
		err = rmem_read_u64(c->m, type + c->rt->off.type_name, &name);
	if (err)
		return err == -PS_E_DEFERRED ? err : 0;
	buf[0] = '\0';
	if (!(flags & c->rt->off.tpflags_heaptype)) {
		long len = rmem_read_cstr(c->m, name, buf, sizeof(buf) - 1, &trunc);

		if (len == -PS_E_DEFERRED)
			return (int)len;
		if (len < 0)
			buf[0] = '\0';
	}
	*memo = (struct type_memo){ type, 1, (!c->rt->type_corowrapper &&
					      !strcmp(buf, "coroutine_wrapper")) ||
					     (!c->rt->type_athrow &&
					      !strcmp(buf, "async_generator_athrow")) };
	return memo->yes;
}

/* One step down t's chain of awaits; ST_CALLBACKS once it ends. */
static int chain_step(const struct ctx *c, struct tk *t)
{
	const struct pyruntime *rt = c->rt;
	struct pyread_frame f;
	uint64_t type, next = 0;
	bool has = false;
	int err;

	if (!t->cur) {
		t->stage = ST_CALLBACKS;
		return 0;
	}
	if (t->cur == t->mark || t->steps >= PYTASKS_MAX_AWAITS) {
		t->error = t->cur == t->mark ? "its chain of awaits loops" :
					       "more than 10000 awaits: the rest are not shown";
		if (t->cur == t->mark)
			cut_repeat(t);
		t->stage = ST_CALLBACKS;
		return 0;
	}
	err = type_of(c, t->cur, &type);
	if (err == -PS_E_DEFERRED)
		return err;
	if (err) {
		t->error = "an object of its chain of awaits could not be read";
		t->stage = ST_CALLBACKS;
		return 0;
	}
	if (type == rt->type_coro || type == rt->type_gen || type == rt->type_asyncgen) {
		err = gen_step(c, t->cur, &f, &has, &next);
	} else if (type == rt->type_asend || type == rt->type_athrow ||
		   type == rt->type_corowrapper || (err = hidden_wrapper(c, type)) > 0) {
		err = rmem_read_u64(c->m, t->cur + FIRST_FIELD, &next);
	}
	/* Anything else (a future's iterator, a coroutine of another kind) ends the chain. */
	if (err == -PS_E_DEFERRED)
		return err;
	if (err) {
		t->error = "an object of its chain of awaits could not be read";
		next = 0;
	}
	if (has) {
		xgrow(&t->fr, &t->capfr, t->nfr + 1, sizeof(*t->fr));
		t->fr[t->nfr++] = f;
	}
	/* Brent: a chain that comes back to the marked object loops. */
	if (++t->steps == t->pow) {
		t->mark = t->cur;
		t->pow *= 2;
	}
	t->cur = none_to_0(c, next);
	return 0;
}

static void add_ref(uint64_t *refs, size_t *n, uint64_t v)
{
	if (v && *n < MAX_REFS)
		refs[(*n)++] = v;
}

/*
 * What the callback cb holds that a waiter may be: a bound method's object (and a
 * TaskGroup's parent task), a built-in method's, a partial's function and arguments,
 * the cells a function closes over.
 */
static int callback_refs(const struct ctx *c, uint64_t cb, uint64_t *refs, size_t *n)
{
	const struct py_offsets *o = &c->rt->off;
	uint64_t type, v = 0, items[MAX_CELLS];
	size_t k = 0;
	int err = type_of(c, cb, &type);

	if (err)
		return err;
	add_ref(refs, n, cb);
	if (type == c->rt->type_method) {
		err = rmem_read_u64(c->m, cb + o->method_self, &v);
		add_ref(refs, n, v);
		if (!err && v)
			err = attr(c, v, "_parent_task", &v);
		if (!err)
			add_ref(refs, n, none_to_0(c, v));
	} else if (type == c->rt->type_cfunction || type == c->rt->type_cmethod) {
		err = rmem_read_u64(c->m, cb + o->cfunction_self, &v);
		add_ref(refs, n, v);
	} else if (c->partial && type == c->partial) {
		err = rmem_read_u64(c->m, cb + FIRST_FIELD, &v);
		add_ref(refs, n, v);
		if (!err)
			err = rmem_read_u64(c->m, cb + PARTIAL_ARGS, &v);
		if (!err && v)
			err = pyobj_seq_items(c->m, c->rt, v, items, MAX_CELLS, &k);
		for (size_t i = 0; !err && i < k; i++)
			add_ref(refs, n, items[i]);
	} else if (type == c->rt->type_function) {
		err = rmem_read_u64(c->m, cb + c->l->func_closure, &v);
		if (!err && v && v != c->rt->obj_none)
			err = pyobj_seq_items(c->m, c->rt, v, items, MAX_CELLS, &k);
		for (size_t i = 0; !err && i < k; i++) {
			err = pyobj_cell_get(c->m, c->rt, items[i], &v);
			if (!err)
				add_ref(refs, n, v);
			else if (err != -PS_E_DEFERRED)
				err = 0;	/* an empty cell */
		}
	}
	return err == -PS_E_DEFERRED ? err : 0;
}

/*
 * callback_refs(), remembered: the children of one gather share one callback, and the
 * tasks of one TaskGroup one bound method's object.
 */
static int callback_refs_memo(const struct ctx *c, uint64_t cb, uint64_t *refs, size_t *n)
{
	struct cb_memo *memo = &c->cbs[(cb >> 4) % CB_MEMO];
	size_t before = *n;
	int err;

	if (memo->cb == cb) {
		for (size_t i = 0; i < memo->n; i++)
			add_ref(refs, n, memo->refs[i]);
		return 0;
	}
	err = callback_refs(c, cb, refs, n);
	if (!err && *n - before <= CB_REFS) {
		memo->cb = cb;
		memo->n = *n - before;
		memcpy(memo->refs, refs + before, memo->n * sizeof(*refs));
	}
	return err;
}

/* What t's done-callbacks hold (the whole step, again from its start after a deferral). */
static int callbacks_step(const struct ctx *c, struct tk *t)
{
	uint64_t refs[MAX_REFS], items[MAX_CALLBACKS], pair[2];
	size_t n = 0, k = 0, two;
	int err = 0;

	if (t->cb0)
		err = callback_refs_memo(c, t->cb0, refs, &n);
	if (!err && t->cbs)
		err = pyobj_seq_items(c->m, c->rt, t->cbs, items, MAX_CALLBACKS, &k);
	/* Each further callback is a (callback, context) tuple. */
	for (size_t i = 0; !err && i < k; i++) {
		err = pyobj_seq_items(c->m, c->rt, items[i], pair, 2, &two);
		if (!err && two)
			err = callback_refs_memo(c, pair[0], refs, &n);
		else if (err != -PS_E_DEFERRED)
			err = 0;
	}
	if (err == -PS_E_DEFERRED)
		return err;
	if (n) {
		t->refs = xmalloc(n * sizeof(*t->refs));
		memcpy(t->refs, refs, n * sizeof(*refs));
		t->nrefs = n;
	}
	t->stage = ST_WAITER;
	return 0;
}

static bool candidate(const struct ctx *c, uint64_t obj)
{
	return c->ncandidates &&
	       bsearch(&obj, c->candidates, c->ncandidates, sizeof(obj), cmp_u64) != NULL;
}

/* Whether t's waiter, when it is no task, is a gather's (read what its repr needs too). */
static int waiter_step(const struct ctx *c, struct tk *t)
{
	uint64_t type;
	int err;

	if (t->waiter && !candidate(c, t->waiter)) {
		err = type_of(c, t->waiter, &type);
		if (!err)
			err = derives(c, type, c->gathering);
		if (err == -PS_E_DEFERRED)
			return err;
		t->waits_gather = err > 0;
	}
	t->stage = ST_NAME;
	return 0;
}

/* A task's name: a str, or (3.12+, until asked for) the number of "Task-N". */
static int name_step(const struct ctx *c, struct tk *t)
{
	char buf[PYSTR_MAX];
	uint64_t type, num;
	long len = 0;
	int err = 0;

	if (t->name) {
		err = type_of(c, t->name, &type);
		if (!err && type == c->rt->type_long) {
			err = pyobj_u64(c->m, c->rt, t->name, &num);
			if (!err)
				len = snprintf(buf, sizeof(buf), "Task-%llu", (unsigned long long)num);
		} else if (!err) {
			len = pystr_read(c->m, c->rt, t->name, buf, sizeof(buf));
			err = len < 0 ? (int)len : 0;
		}
		if (err == -PS_E_DEFERRED)
			return err;
		t->name_text = xstrdup(err ? "<unreadable name>" : buf);
	}
	(void)len;
	t->stage = ST_DONE;
	return 0;
}

/* Run t's chase as far as memory already read allows (all of it, when not deferring). */
static int chase(const struct ctx *c, struct tk *t)
{
	int err = 0;

	while (!err && t->stage != ST_DONE) {
		switch (t->stage) {
		case ST_TASK:
			err = read_task(c, t);
			if (err == -PS_E_DEFERRED)
				return err;
			if (err || !t->keep) {
				t->keep = false;
				t->stage = ST_DONE;
				return 0;
			}
			t->cur = t->coro;
			t->pow = 1;
			t->stage = ST_CHAIN;
			break;
		case ST_CHAIN:
			err = chain_step(c, t);
			break;
		case ST_CALLBACKS:
			err = callbacks_step(c, t);
			break;
		case ST_WAITER:
			err = waiter_step(c, t);
			break;
		case ST_NAME:
			err = name_step(c, t);
			break;
		case ST_DONE:
			break;
		}
	}
	return err;
}

/*
 * repr() of a future a task waits on.  The futures of a type all have the same form,
 * "<asyncio.Future object at 0x...>": once one has given it, the others of its type
 * are written from it, not decoded again.
 */
static void waiter_repr(const struct ctx *c, uint64_t obj, char *buf, size_t size)
{
	struct repr_memo *memo;
	char tail[48];
	uint64_t type;
	size_t len, n;

	if (type_of(c, obj, &type)) {
		pyobj_repr(c->m, c->rt, obj, buf, size);
		return;
	}
	memo = &c->reprs[(type >> 4) % MEMO];
	if (memo->type == type) {
		snprintf(buf, size, "%s object at 0x%llx>", memo->prefix, (unsigned long long)obj);
		return;
	}
	len = pyobj_repr(c->m, c->rt, obj, buf, size);
	n = (size_t)snprintf(tail, sizeof(tail), " object at 0x%llx>", (unsigned long long)obj);
	if (len > n && len - n < sizeof(memo->prefix) && !strcmp(buf + len - n, tail)) {
		memo->type = type;
		memcpy(memo->prefix, buf, len - n);
		memo->prefix[len - n] = '\0';
	}
}

/*
 * Tasks chased together, at most: what a batch reads (a few blocks on a few pages
 * each) must stay in the cache between its rounds.
 */
#define BATCH 256

static void chase_all(const struct ctx *c, struct tk *all, size_t nall)
{
	for (size_t start = 0; start < nall; start += BATCH) {
		struct tk *v = all + start;
		size_t n = nall - start < BATCH ? nall - start : BATCH;

		/*
		 * Each batch starts the cache afresh: it reuses the memory the one before
		 * filled, where taking more would cost a page fault for every page of it.
		 */
		if (start)
			rmem_invalidate(c->m);

		for (int round = 0; round <= ROUNDS; round++) {
			bool pending = false;

			rmem_defer(c->m, round < ROUNDS);
			for (size_t i = 0; i < n; i++)
				if (v[i].stage != ST_DONE)
					pending |= chase(c, &v[i]) == -PS_E_DEFERRED;
			rmem_defer(c->m, false);
			if (!pending || !rmem_fetch_deferred(c->m))
				break;
		}
		/* What is left (memory that failed to arrive) is chased the ordinary way; the
		 * reprs of the waiters, while what they read is at hand. */
		for (size_t i = 0; i < n; i++) {
			char repr[256];

			if (v[i].stage != ST_DONE)
				chase(c, &v[i]);
			if (v[i].keep && v[i].waiter && !candidate(c, v[i].waiter)) {
				waiter_repr(c, v[i].waiter, repr, sizeof(repr));
				v[i].waits_on = xstrdup(repr);
			}
		}
	}
}

struct gather {
	uint64_t *v;
	size_t n, cap;
};

static int gather_key(uint64_t key, void *arg)
{
	struct gather *g = arg;

	if (g->n >= PYTASKS_MAX_TASKS)
		return 1;
	xgrow(&g->v, &g->cap, g->n + 1, sizeof(*g->v));
	g->v[g->n++] = key;
	return 0;
}

/* The tasks of one interpreter's registries, their addresses appended to g. */
static int registries(const struct ctx *c, uint64_t md, struct gather *g)
{
	uint64_t set = 0, data = 0;
	struct gather refs = { 0 };
	int err;

	err = pyobj_dict_get_str(c->m, c->rt, md,
				 c->rt->vkey >= PY_VER(3, 12) ? "_scheduled_tasks" : "_all_tasks", &set);
	if (!err)
		err = pyobj_getattr_str(c->m, c->rt, set, "data", &data);
	if (!err)
		err = pyobj_set_items(c->m, c->rt, data, PYTASKS_MAX_TASKS, gather_key, &refs);
	if (err) {
		free(refs.v);
		return err;
	}
	/* A WeakSet holds weak references: each one's object, fetched together. */
	rmem_prefetch(c->m, refs.v, refs.n, FIRST_FIELD + 8);
	for (size_t i = 0; i < refs.n && g->n < PYTASKS_MAX_TASKS; i++) {
		uint64_t obj;

		if (!rmem_read_u64(c->m, refs.v[i] + FIRST_FIELD, &obj) && none_to_0(c, obj))
			gather_key(obj, g);
	}
	free(refs.v);
	/* 3.12+: tasks running their first step eagerly are in a set of their own. */
	if (c->rt->vkey >= PY_VER(3, 12) &&
	    !pyobj_dict_get_str(c->m, c->rt, md, "_eager_tasks", &set))
		pyobj_set_items(c->m, c->rt, set, PYTASKS_MAX_TASKS, gather_key, g);
	return 0;
}

/* A module's dict, from the interpreter's sys.modules; -ENOENT when not imported. */
static int module_dict(const struct ctx *c, uint64_t modules, const char *name, uint64_t *md)
{
	uint64_t mod = 0;
	int err = pyobj_dict_get_str(c->m, c->rt, modules, name, &mod);

	if (!err)
		err = rmem_read_u64(c->m, mod + c->rt->off.module_dict, md);
	return err;
}

static uint64_t global(const struct ctx *c, uint64_t modules, const char *module,
		       const char *name)
{
	uint64_t md = 0, v = 0;

	if (module_dict(c, modules, module, &md) || pyobj_dict_get_str(c->m, c->rt, md, name, &v))
		return 0;
	return v;
}

/* The loop thread state ts runs now (0 for none). */
static uint64_t running_loop(const struct ctx *c, uint64_t ts)
{
	uint64_t dict = 0, v = 0;

	if (c->l->tstate_running_loop) {
		rmem_read_u64(c->m, ts + c->l->tstate_running_loop, &v);
		return none_to_0(c, v);
	}
	if (rmem_read_u64(c->m, ts + c->l->tstate_dict, &dict) || !dict ||
	    pyobj_dict_get_str(c->m, c->rt, dict, "__asyncio_running_event_loop__", &v))
		return 0;
	/* 3.7-3.11 keep it in a holder object (with the pid that set it); 3.12 the loop itself. */
	if (c->rt->vkey < PY_VER(3, 12) && rmem_read_u64(c->m, v + FIRST_FIELD, &v))
		return 0;
	return none_to_0(c, v);
}

/* Sorted (address, index) pairs, for finding a task or a reference by address. */
struct addr_ix {
	uint64_t addr;
	size_t ix;
};

static int by_addr(const void *a, const void *b)
{
	const struct addr_ix *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->ix < y->ix ? -1 : x->ix > y->ix;
}

/* The first pair of v (n, sorted) with addr, or n. */
static size_t lower(const struct addr_ix *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static long find(const struct addr_ix *v, size_t n, uint64_t addr)
{
	size_t i = lower(v, n, addr);

	return i < n && v[i].addr == addr ? (long)v[i].ix : -1;
}

struct edges {
	size_t *v;
	size_t n, cap;
};

static void add_edge(struct edges *e, size_t to)
{
	xgrow(&e->v, &e->cap, e->n + 1, sizeof(*e->v));
	e->v[e->n++] = to;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Who task i awaits: the task it waits on, or the tasks whose done-callbacks lead to
 * the future it waits on (shield, wait_for before 3.12, wait, gather: through the
 * children of gathers nested in it), or to the task itself (a TaskGroup's children).
 */
static void awaits(const struct ctx *c, const struct tk *t, size_t i, const struct addr_ix *tasks,
		   size_t ntasks, const struct addr_ix *refs, size_t nrefs, uint64_t *items,
		   struct edges *e)
{
	uint64_t frontier[MAX_FRONTIER + 1];
	size_t nf = 0;
	long k;

	if (t->waiter) {
		k = find(tasks, ntasks, t->waiter);
		if (k >= 0)
			add_edge(e, (size_t)k);
		else
			frontier[nf++] = t->waiter;
	}
	/* Gathers: their children, tasks or further gathers. */
	for (size_t f = 0; f < nf && c->gathering; f++) {
		uint64_t type, children = 0;
		size_t n = 0;

		if (f ? type_of(c, frontier[f], &type) || derives(c, type, c->gathering) <= 0 :
			!t->waits_gather)
			continue;
		if (attr(c, frontier[f], "_children", &children) || !children)
			continue;
		if (!pyobj_seq_items(c->m, c->rt, children, items, MAX_CHILDREN, &n)) {
			for (size_t j = 0; j < n; j++) {
				k = find(tasks, ntasks, items[j]);
				if (k >= 0)
					add_edge(e, (size_t)k);
				else if (nf < MAX_FRONTIER)
					frontier[nf++] = items[j];
			}
		}
	}
	frontier[nf++] = t->obj;
	for (size_t f = 0; f < nf; f++)
		for (size_t j = lower(refs, nrefs, frontier[f]); j < nrefs && refs[j].addr == frontier[f];
		     j++)
			if (refs[j].ix != i)
				add_edge(e, refs[j].ix);
	if (e->n > 1) {
		size_t u = 1;

		qsort(e->v, e->n, sizeof(*e->v), cmp_size);
		for (size_t j = 1; j < e->n; j++)
			if (e->v[j] != e->v[u - 1])
				e->v[u++] = e->v[j];
		e->n = u;
	}
}

/*
 * What a wait can lead to, sorted: the tasks, the futures they wait on, and the futures
 * gathered by those that are gathers.  A callback holding none of them leads nowhere.
 */
static uint64_t *wanted_refs(const struct ctx *c, struct tk *const *keep, size_t nk,
			     uint64_t *items, size_t *n)
{
	uint64_t *v = NULL;
	size_t cap = 0, k = 0;

	for (size_t i = 0; i < nk; i++) {
		uint64_t children = 0;
		size_t nc = 0;

		xgrow(&v, &cap, k + 2, sizeof(*v));
		v[k++] = keep[i]->obj;
		if (!keep[i]->waiter)
			continue;
		v[k++] = keep[i]->waiter;
		if (!keep[i]->waits_gather || attr(c, keep[i]->waiter, "_children", &children) ||
		    !children)
			continue;
		if (pyobj_seq_items(c->m, c->rt, children, items, MAX_CHILDREN, &nc))
			continue;
		xgrow(&v, &cap, k + nc, sizeof(*v));
		memcpy(v + k, items, nc * sizeof(*items));
		k += nc;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_u64);
	*n = k;
	return v ? v : xmalloc(sizeof(*v));
}

/* Tarjan's strongly connected components, without recursion: each of two or more is a ring. */
static void find_cycles(struct snapshot *snap)
{
	size_t n = snap->ntasks, counter = 0, sp = 0, cs = 0, cap = 0;
	size_t *index = xmalloc((n ? n : 1) * sizeof(*index));
	size_t *low = xmalloc((n ? n : 1) * sizeof(*low));
	bool *on = xcalloc(n ? n : 1, sizeof(*on));
	size_t *stack = xmalloc((n ? n : 1) * sizeof(*stack));
	struct { size_t node, edge; } *call = xmalloc((n ? n : 1) * sizeof(*call));
	struct task_cycle *cycles = NULL;

	for (size_t i = 0; i < n; i++)
		index[i] = SIZE_MAX;
	for (size_t root = 0; root < n; root++) {
		if (index[root] != SIZE_MAX)
			continue;
		call[cs].node = root;
		call[cs++].edge = 0;
		index[root] = low[root] = counter++;
		stack[sp++] = root;
		on[root] = true;
		while (cs) {
			size_t u = call[cs - 1].node;
			const struct task *t = &snap->tasks[u];

			if (call[cs - 1].edge < t->nawaiting) {
				size_t w = t->awaiting[call[cs - 1].edge++];

				if (index[w] == SIZE_MAX) {
					index[w] = low[w] = counter++;
					stack[sp++] = w;
					on[w] = true;
					call[cs].node = w;
					call[cs++].edge = 0;
				} else if (on[w] && index[w] < low[u]) {
					low[u] = index[w];
				}
				continue;
			}
			cs--;
			if (cs && low[u] < low[call[cs - 1].node])
				low[call[cs - 1].node] = low[u];
			if (low[u] != index[u])
				continue;
			{
				size_t start = sp;

				while (stack[start - 1] != u)
					start--;
				start--;
				for (size_t j = start; j < sp; j++)
					on[stack[j]] = false;
				if (sp - start >= 2) {
					struct task_cycle *cy;

					xgrow(&cycles, &cap, snap->ndeadlocks + 1, sizeof(*cycles));
					cy = &cycles[snap->ndeadlocks++];
					cy->n = sp - start;
					cy->v = snapshot_alloc(snap, cy->n * sizeof(*cy->v));
					memcpy(cy->v, stack + start, cy->n * sizeof(*cy->v));
				}
				sp = start;
			}
		}
	}
	if (snap->ndeadlocks) {
		snap->deadlocks = snapshot_alloc(snap, snap->ndeadlocks * sizeof(*snap->deadlocks));
		memcpy(snap->deadlocks, cycles, snap->ndeadlocks * sizeof(*cycles));
	}
	free(cycles);
	free(call);
	free(stack);
	free(on);
	free(low);
	free(index);
}

struct current {
	uint64_t *loops, *tasks;
	size_t n, cap, cap2;
};

static int add_current(uint64_t loop, uint64_t task, void *arg)
{
	struct current *cur = arg;

	xgrow(&cur->loops, &cur->cap, cur->n + 1, sizeof(*cur->loops));
	xgrow(&cur->tasks, &cur->cap2, cur->n + 1, sizeof(*cur->tasks));
	cur->loops[cur->n] = loop;
	cur->tasks[cur->n++] = task;
	return 0;
}

/* The tasks of each thread's loop in the order of the threads, then those of no thread. */
static int by_thread(const void *a, const void *b)
{
	const struct tk *x = *(const struct tk *const *)a, *y = *(const struct tk *const *)b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

/* Everything of snap's tasks once the chases are done (after the detach): frames, the graph. */
static void build(const struct ctx *c, struct snapshot *snap, struct tk *v, size_t n,
		  const struct current *cur, const uint64_t *loops, const pid_t *loop_tids,
		  const size_t *loop_ranks, size_t nloops)
{
	struct tk **keep = xmalloc((n ? n : 1) * sizeof(*keep));
	struct addr_ix *tasks, *refs = NULL;
	struct pyread_frame *all;
	struct frame *frames;
	size_t nk = 0, nall = 0, nrefs = 0, caprefs = 0, at = 0, nwanted;
	uint64_t *task_loops, *wanted, *items;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].keep)
			continue;
		v[i].rank = SIZE_MAX;
		for (size_t l = 0; l < nloops; l++)
			if (loops[l] == v[i].loop)
				v[i].rank = loop_ranks[l];
		keep[nk++] = &v[i];
	}
	if (nk > 1)
		qsort(keep, nk, sizeof(*keep), by_thread);
	snap->tasks = nk ? snapshot_alloc(snap, nk * sizeof(*snap->tasks)) : NULL;
	snap->ntasks = nk;
	/* Every frame of every chain, innermost first, read in one batch. */
	for (size_t i = 0; i < nk; i++)
		nall += keep[i]->nfr;
	all = xmalloc((nall ? nall : 1) * sizeof(*all));
	for (size_t i = 0; i < nk; i++)
		for (size_t f = keep[i]->nfr; f-- > 0;)
			all[at++] = keep[i]->fr[f];
	frames = nall ? snapshot_alloc(snap, nall * sizeof(*frames)) : NULL;
	pyread_frames(c->r, snap, all, nall, frames);
	free(all);
	tasks = xmalloc((nk ? nk : 1) * sizeof(*tasks));
	task_loops = xmalloc((nk ? nk : 1) * sizeof(*task_loops));
	at = 0;
	for (size_t i = 0; i < nk; i++) {
		struct task *t = &snap->tasks[i];
		size_t bad = 0;

		t->id = keep[i]->obj;
		t->loop = keep[i]->loop;
		t->state = TASK_PENDING;
		t->unchanged_s = -1;
		t->name = keep[i]->name_text ? snapshot_strdup(snap, keep[i]->name_text) : NULL;
		t->frames = frames + at;
		for (size_t f = 0; f < keep[i]->nfr; f++) {
			if (frames[at + f].code)
				t->frames[t->nframes++] = frames[at + f];
			else
				bad++;
		}
		at += keep[i]->nfr;
		if (keep[i]->error)
			t->error = keep[i]->error;
		else if (bad)
			t->error = snapshot_printf(snap, "%zu frame%s left out: code unreadable", bad,
						   bad == 1 ? "" : "s");
		if (t->error)
			snap->partial++;
		for (size_t l = 0; l < nloops; l++)
			if (loops[l] == t->loop)
				t->tid = loop_tids[l];
		for (size_t k = 0; k < cur->n; k++)
			if (cur->tasks[k] == t->id && cur->loops[k] == t->loop)
				t->current = true;
		tasks[i] = (struct addr_ix){ t->id, i };
		task_loops[i] = t->loop;
	}
	/* Of what the callbacks hold, only what a wait can lead to is looked up. */
	items = xmalloc(MAX_CHILDREN * sizeof(*items));	/* a gather's children */
	wanted = wanted_refs(c, keep, nk, items, &nwanted);
	for (size_t i = 0; i < nk; i++)
		for (size_t r = 0; r < keep[i]->nrefs; r++) {
			if (!bsearch(&keep[i]->refs[r], wanted, nwanted, sizeof(*wanted), cmp_u64))
				continue;
			xgrow(&refs, &caprefs, nrefs + 1, sizeof(*refs));
			refs[nrefs++] = (struct addr_ix){ keep[i]->refs[r], i };
		}
	free(wanted);
	/* (qsort() is given no null array, even of no elements.) */
	if (nk > 1) {
		qsort(tasks, nk, sizeof(*tasks), by_addr);
		qsort(task_loops, nk, sizeof(*task_loops), cmp_u64);
	}
	if (nrefs > 1)
		qsort(refs, nrefs, sizeof(*refs), by_addr);
	for (size_t i = 0; i < nk; i++)
		snap->nloops += !i || task_loops[i] != task_loops[i - 1];
	/* Who awaits whom, and the other way round. */
	{
		size_t *count = xcalloc(nk ? nk : 1, sizeof(*count));

		for (size_t i = 0; i < nk; i++) {
			struct edges e = { 0 };
			struct task *t = &snap->tasks[i];

			/* Task i of the snapshot is keep[i]; the edges name the snapshot's tasks. */
			awaits(c, keep[i], i, tasks, nk, refs, nrefs, items, &e);
			t->awaiting = e.n ? snapshot_alloc(snap, e.n * sizeof(*t->awaiting)) : NULL;
			for (size_t j = 0; j < e.n; j++)
				if (e.v[j] != i)
					t->awaiting[t->nawaiting++] = e.v[j];
			for (size_t j = 0; j < t->nawaiting; j++)
				count[t->awaiting[j]]++;
			free(e.v);
			if (keep[i]->waits_on)
				t->waits_on = snapshot_strdup(snap, keep[i]->waits_on);
		}
		for (size_t i = 0; i < nk; i++)
			if (count[i])
				snap->tasks[i].awaited_by =
					snapshot_alloc(snap, count[i] * sizeof(size_t));
		for (size_t i = 0; i < nk; i++)
			for (size_t j = 0; j < snap->tasks[i].nawaiting; j++) {
				struct task *w = &snap->tasks[snap->tasks[i].awaiting[j]];

				w->awaited_by[w->nawaited_by++] = i;
			}
		free(count);
	}
	find_cycles(snap);
	free(items);
	free(task_loops);
	free(refs);
	free(tasks);
	free(keep);
}

/* What the stopped read leaves for after the detach. */
struct pytasks {
	struct ctx c;
	struct type_memo memo[MEMO];
	struct repr_memo reprs[MEMO];
	struct cb_memo cbs[CB_MEMO];
	struct gather g;		/* every object of the registries, sorted */
	struct current cur;
	uint64_t loops[MAX_LOOPS];	/* each thread's running loop */
	pid_t loop_tids[MAX_LOOPS];
	size_t loop_ranks[MAX_LOOPS];
	size_t nloops;
	struct tk *v;			/* the chases, one for each of g */
};

/* Whether this version and build are read; if not, snap says why. */
static const struct aio_layout *layout_for(const struct pyruntime *rt, struct snapshot *snap)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].vkey == rt->vkey && !rt->free_threaded)
			return &layouts[i];
	if (rt->free_threaded)
		/* Every object's fields move in such a build: no layout here was read off one. */
		snap->tasks_error = snapshot_printf(snap, "--tasks does not read a free-threaded "
						    "build's asyncio (%s): the threads alone are "
						    "shown", rt->version);
	else
		snap->tasks_error = snapshot_printf(snap, "--tasks reads the asyncio of CPython 3.7 "
						    "to 3.13, not of %s: the threads alone are "
						    "shown%s", rt->version, rt->vkey >= PY_VER(3, 14) ?
						    " (there, python -m asyncio pstree PID shows "
						    "them)" : "");
	snap->partial++;
	return NULL;
}

struct pytasks *pytasks_read(const struct pyread *r, struct snapshot *snap)
{
	const struct aio_layout *l = layout_for(r->rt, snap);
	const struct py_offsets *o = &r->rt->off;
	uint64_t interps[64];
	size_t ninterps = 0, n = 0;
	struct pytasks *pt;
	struct ctx *c;

	snap->tasks_read = true;
	if (!l || o->interp_modules == PYO_NONE || o->module_dict == PYO_NONE)
		return NULL;
	pt = xcalloc(1, sizeof(*pt));
	c = &pt->c;
	*c = (struct ctx){ .r = r, .cbs = pt->cbs, .memo = pt->memo, .reprs = pt->reprs,
			   .m = r->mem, .rt = r->rt, .l = l };
	for (size_t i = 0; i < snap->nthreads; i++) {
		bool seen = false;

		for (size_t k = 0; k < ninterps; k++)
			seen |= interps[k] == snap->threads[i].interp;
		if (!seen && ninterps < sizeof(interps) / sizeof(interps[0]))
			interps[ninterps++] = snap->threads[i].interp;
	}
	for (size_t k = 0; k < ninterps; k++) {
		uint64_t modules = 0, md = 0, current = 0;
		int err;

		if (rmem_read_u64(c->m, interps[k] + o->interp_modules, &modules) || !modules ||
		    module_dict(c, modules, "asyncio.tasks", &md))
			continue;	/* asyncio not imported there */
		snap->asyncio = true;
		c->ctask = global(c, modules, "_asyncio", "Task");
		c->gathering = global(c, modules, "asyncio.tasks", "_GatheringFuture");
		c->partial = global(c, modules, "_functools", "partial");
		err = registries(c, md, &pt->g);
		if (err) {
			snap->tasks_error = snapshot_printf(snap, "asyncio's registry of tasks could "
							    "not be read: %s", ps_strerror(err));
			snap->partial++;
		}
		if (!pyobj_dict_get_str(c->m, c->rt, md, "_current_tasks", &current))
			pyobj_dict_items(c->m, c->rt, current, PYTASKS_MAX_TASKS, add_current,
					 &pt->cur);
		for (size_t i = 0; i < snap->nthreads && pt->nloops < MAX_LOOPS; i++) {
			uint64_t loop;

			if (snap->threads[i].interp != interps[k] || !snap->threads[i].tstate)
				continue;
			loop = running_loop(c, snap->threads[i].tstate);
			if (loop) {
				pt->loops[pt->nloops] = loop;
				pt->loop_ranks[pt->nloops] = i;
				pt->loop_tids[pt->nloops++] = snap->threads[i].tid;
			}
		}
	}
	/* A task in two registries (moving from one to the other) is one task. */
	if (pt->g.n > 1)
		qsort(pt->g.v, pt->g.n, sizeof(*pt->g.v), cmp_u64);
	for (size_t i = 0; i < pt->g.n; i++)
		if (!i || pt->g.v[i] != pt->g.v[i - 1])
			pt->g.v[n++] = pt->g.v[i];
	pt->g.n = n;
	pt->v = xcalloc(n ? n : 1, sizeof(*pt->v));
	for (size_t i = 0; i < n; i++)
		pt->v[i].obj = pt->g.v[i];
	c->candidates = pt->g.v;
	c->ncandidates = n;
	chase_all(c, pt->v, n);
	return pt;
}

void pytasks_finish(struct pytasks *pt, const struct pyread *r, struct snapshot *snap)
{
	if (!pt)
		return;
	pt->c.r = r;
	build(&pt->c, snap, pt->v, pt->g.n, &pt->cur, pt->loops, pt->loop_tids, pt->loop_ranks,
	      pt->nloops);
	for (size_t i = 0; i < pt->g.n; i++) {
		free(pt->v[i].fr);
		free(pt->v[i].refs);
		free(pt->v[i].waits_on);
		free(pt->v[i].name_text);
	}
	free(pt->v);
	free(pt->g.v);
	free(pt->cur.loops);
	free(pt->cur.tasks);
	free(pt);
}

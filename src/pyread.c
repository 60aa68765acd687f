/*
 * Reading interpreters, thread states and frame chains into a snapshot
 * (see pyread.h).
 *
 * The work is done in passes so that reads batch well: the thread states
 * (a linked list, read one by one), then the top frame of every thread,
 * then every frame chain one step at a time for all threads together, then
 * every code object the frames name, in one batch.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "msg.h"
#include "proc.h"
#include "pycode.h"
#include "pyobj.h"
#include "pyread.h"
#include "pyruntime.h"
#include "rmem.h"
#include "snapshot.h"
#include "target.h"

#define MAX_INTERPS	1024
#define MAX_THREADS	100000
/*
 * _PyInterpreterFrame.owner from which a frame is no Python frame: the
 * entry frame each call into the eval loop pushes, owned by the C stack in
 * 3.12-3.13 (3) and by the interpreter in 3.14+ (3; 4 is the C stack's),
 * and 3.15's base frame at the bottom of every thread.
 */
#define FRAME_OWNED_BY_INTERPRETER 3

struct tinfo {
	uint64_t interp, tstate;
	uint64_t thread_id;
	uint64_t native_id;	/* 3.11+, else 0 */
	uint64_t top;		/* the first frame (or, 3.11-3.12, the cframe) */
	uint64_t base;		/* 3.15+: the frame at the bottom, which is never shown */
	long long interp_id;
	uint64_t gil;		/* its interpreter's GIL (3.7+), or 0 */
	int32_t state;		/* PyThreadState.state (3.13+), or -1 */
	bool holds_gil, gc, no_gil;
};

struct rawframe {
	uint64_t frame;
	uint64_t code;
	int64_t pos;		/* f_lasti (<=3.10) or the instruction pointer (3.11+) */
	int32_t tlbc;		/* free-threaded 3.14+: the thread's copy of the bytecode */
	bool entry;		/* 3.11+: the first frame of a call into the eval loop */
};

struct walk {
	uint64_t cur;		/* next frame to read, 0 when done */
	uint64_t base;		/* where to stop without reading (3.15+'s base frame), or 0 */
	struct rawframe *v;
	size_t n, cap;
	size_t steps, pow;	/* Brent's loop detection */
	uint64_t mark;
	int err;
	uint64_t err_addr;
	bool looped, cut;
	size_t torn;		/* --nonblocking: inner frames a second read did not confirm */
};

struct addr_index {
	uint64_t addr;
	size_t index;
};

static int by_addr(const void *a, const void *b)
{
	const struct addr_index *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The index of the first element of v that repeats an earlier one (n when
 * none): where a chain found to loop must be cut, so nothing is shown
 * twice.
 */
static size_t first_repeat(const uint64_t *v, size_t n)
{
	struct addr_index *s = xmalloc((n ? n : 1) * sizeof(*s));
	size_t cut = n;

	for (size_t i = 0; i < n; i++)
		s[i] = (struct addr_index){ v[i], i };
	qsort(s, n, sizeof(*s), by_addr);
	for (size_t i = 1; i < n; i++)
		if (s[i].addr == s[i - 1].addr && s[i].index < cut)
			cut = s[i].index;
	free(s);
	return cut;
}

static bool interp_frames(const struct pyruntime *rt)
{
	return rt->vkey >= PY_VER(3, 11);
}

static int read_int(struct rmem *m, uint64_t addr, int *out)
{
	int32_t v;
	int err = rmem_read(m, addr, &v, sizeof(v));

	*out = v;
	return err;
}

/* Of the words that may point at the interpreter list, the one with the longest list. */
static int pick_head(const struct pyread *r, uint64_t *head)
{
	size_t best = 0;

	*head = 0;
	for (size_t k = 0; k < r->rt->nheads; k++) {
		uint64_t h, p;
		size_t len = 0;
		int err = rmem_read_u64(r->mem, r->rt->heads[k], &h);

		if (err == -PS_E_GONE || err == -EPERM)
			return err;
		for (p = h; !err && p && len < MAX_INTERPS; len++)
			err = rmem_read_u64(r->mem, p + r->rt->off.interp_next, &p);
		if (len > best) {
			best = len;
			*head = h;
		}
	}
	return *head ? 0 : -PS_E_NO_INTERP;
}

/*
 * Which thread state holds the GIL of interp, or 0; where that GIL is (3.7+)
 * in *where.  A free-threaded build runs without one unless something
 * turned it on (PYTHON_GIL=1, an extension that needs it): then *no_gil.
 */
static uint64_t gil_holder(const struct pyread *r, uint64_t interp, uint64_t *where, bool *no_gil)
{
	const struct pyruntime *rt = r->rt;
	const struct py_offsets *o = &rt->off;
	uint64_t gil = 0, holder = 0;
	int locked = 0, enabled = 0;

	*where = 0;
	*no_gil = false;
	if (rt->vkey < PY_VER(3, 7)) {
		if (rt->tstate_current && !rmem_read_u64(r->mem, rt->tstate_current, &holder))
			return holder;
		return 0;
	}
	if (o->interp_gil != PYO_NONE)
		rmem_read_u64(r->mem, interp + o->interp_gil, &gil);
	else if (o->runtime_gil != PYO_NONE)
		gil = rt->runtime + o->runtime_gil;
	if (rt->free_threaded) {
		*no_gil = !gil || o->gil_enabled == PYO_NONE ||
			  read_int(r->mem, gil + o->gil_enabled, &enabled) || enabled <= 0;
		if (*no_gil)
			return 0;
	}
	*where = gil;
	if (!gil || read_int(r->mem, gil + o->gil_locked, &locked) || locked <= 0 ||
	    rmem_read_u64(r->mem, gil + o->gil_last_holder, &holder))
		return 0;
	return holder;
}

static bool gc_collecting(const struct pyread *r, uint64_t interp)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t gc;
	int collecting = 0;

	if (o->gc_collecting == PYO_NONE)
		return false;
	if (o->interp_gc != PYO_NONE)
		gc = interp + o->interp_gc;
	else if (o->runtime_gc != PYO_NONE && r->rt->runtime)
		gc = r->rt->runtime + o->runtime_gc;
	else
		return false;
	return !read_int(r->mem, gc + o->gc_collecting, &collecting) && collecting > 0;
}

static int read_tstate(const struct pyread *r, uint64_t interp, uint64_t ts, struct tinfo *ti,
		       uint64_t *next)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t fields[] = { o->tstate_interp, o->tstate_next, o->tstate_thread_id,
			      o->tstate_native_thread_id, o->tstate_state, o->tstate_base_frame,
			      o->tstate_cframe != PYO_NONE ? o->tstate_cframe : o->tstate_frame };
	uint64_t back, len = 0;
	int err;

	memset(ti, 0, sizeof(*ti));
	ti->interp = interp;
	ti->tstate = ts;
	ti->state = -1;
	/* The fields below, in one fetch rather than one per block they fall in. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] != PYO_NONE && fields[i] + 8 > len)
			len = fields[i] + 8;
	rmem_prefetch(r->mem, &ts, 1, (size_t)len);
	err = rmem_read_u64(r->mem, ts + o->tstate_interp, &back);
	if (!err && back != interp)
		return -PS_E_BAD_DATA;
	if (!err)
		err = rmem_read_u64(r->mem, ts + o->tstate_next, next);
	if (!err)
		err = rmem_read_u64(r->mem, ts + o->tstate_thread_id, &ti->thread_id);
	if (!err && o->tstate_native_thread_id != PYO_NONE)
		err = rmem_read_u64(r->mem, ts + o->tstate_native_thread_id, &ti->native_id);
	if (!err && o->tstate_state != PYO_NONE)
		err = read_int(r->mem, ts + o->tstate_state, &ti->state);
	if (!err && o->tstate_base_frame != PYO_NONE)
		err = rmem_read_u64(r->mem, ts + o->tstate_base_frame, &ti->base);
	if (!err)
		err = rmem_read_u64(r->mem, ts + (o->tstate_cframe != PYO_NONE ? o->tstate_cframe :
						  o->tstate_frame), &ti->top);
	return err;
}

/* Every thread state of every interpreter, oldest interpreter and thread first. */
static int read_threads(const struct pyread *r, unsigned *partial, struct tinfo **out,
			size_t *nout)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t interp, interps[MAX_INTERPS];
	size_t ninterps = 0, n = 0, cap = 0;
	struct tinfo *ti = NULL;
	int err = pick_head(r, &interp);

	if (err)
		return err;
	while (interp && ninterps < MAX_INTERPS) {
		bool seen = false;

		/* A chain that comes back on itself is corrupt: stop at the repeat. */
		for (size_t k = 0; k < ninterps && !seen; k++)
			seen = interps[k] == interp;
		if (seen) {
			(*partial)++;
			break;
		}
		interps[ninterps++] = interp;
		if (rmem_read_u64(r->mem, interp + o->interp_next, &interp))
			break;
	}
	for (size_t k = ninterps; k-- > 0;) {
		bool no_gil;
		uint64_t ts = 0, gil, holder = gil_holder(r, interps[k], &gil, &no_gil);
		bool gc = gc_collecting(r, interps[k]);
		long long id = -1;
		size_t first = n, count = 0;

		if (o->interp_id != PYO_NONE)
			rmem_read(r->mem, interps[k] + o->interp_id, &id, sizeof(id));
		err = rmem_read_u64(r->mem, interps[k] + o->interp_tstate_head, &ts);
		if (err == -PS_E_GONE || err == -EPERM)
			break;
		uint64_t mark = 0;
		size_t pow = 1;

		while (!err && ts && count < MAX_THREADS) {
			uint64_t next = 0;

			/* Brent: a list that comes back to the marked thread state loops. */
			if (ts == mark) {
				err = -PS_E_BAD_DATA;
				break;
			}
			if (count + 1 == pow) {
				mark = ts;
				pow *= 2;
			}

			xgrow(&ti, &cap, n + 1, sizeof(*ti));
			err = read_tstate(r, interps[k], ts, &ti[n], &next);
			if (err)
				break;
			ti[n].holds_gil = holder == ts;
			ti[n].gil = gil;
			ti[n].gc = gc;
			ti[n].no_gil = no_gil;
			ti[n].interp_id = id;
			n++;
			count++;
			ts = next;
		}
		if (err == -PS_E_GONE || err == -EPERM)
			break;
		if (err == -PS_E_BAD_DATA && ts == mark) {
			uint64_t *addrs = xmalloc((count ? count : 1) * sizeof(*addrs));

			for (size_t i = 0; i < count; i++)
				addrs[i] = ti[first + i].tstate;
			n = first + first_repeat(addrs, count);
			free(addrs);
		}
		if (err || count == MAX_THREADS) {
			(*partial)++;
			debug_msg("pid %d: thread list of interpreter %lld cut short: %s",
				  (int)r->pid, id, err ? ps_strerror(err) : "too many threads");
			err = 0;
		}
		/* The list is newest first: show threads in the order they started. */
		for (size_t a = first, b = n; a + 1 < b; a++, b--) {
			struct tinfo tmp = ti[a];

			ti[a] = ti[b - 1];
			ti[b - 1] = tmp;
		}
	}
	if (err) {
		free(ti);
		return err;
	}
	*out = ti;
	*nout = n;
	return 0;
}

/* 3.11-3.12 keep the top frame in the thread's _PyCFrame: follow it, batched. */
static void resolve_cframes(const struct pyread *r, struct tinfo *ti, size_t n)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t *addrs;

	if (o->tstate_cframe == PYO_NONE || !n)
		return;
	addrs = xmalloc(n * sizeof(*addrs));
	for (size_t i = 0; i < n; i++)
		addrs[i] = ti[i].top;
	rmem_prefetch(r->mem, addrs, n, o->cframe_current_frame + 8);
	for (size_t i = 0; i < n; i++) {
		uint64_t frame = 0;

		if (ti[i].top)
			rmem_read_u64(r->mem, ti[i].top + o->cframe_current_frame, &frame);
		ti[i].top = frame;
	}
	free(addrs);
}

/* How many bytes of a frame the walkers read. */
static size_t frame_read_len(const struct py_offsets *o, bool iframes)
{
	uint64_t fields[] = { o->frame_back, o->frame_code, o->frame_lasti };
	uint64_t ifields[] = { o->iframe_previous, o->iframe_code, o->iframe_instr, o->iframe_owner,
			       o->iframe_is_entry, o->iframe_tlbc_index };
	uint64_t *f = iframes ? ifields : fields;
	size_t nf = iframes ? 6 : 3, len = 0;

	for (size_t i = 0; i < nf; i++)
		if (f[i] != PYO_NONE && f[i] + 8 > len)
			len = (size_t)f[i] + 8;
	return len;
}

static void push(struct walk *w, uint64_t code, int64_t pos, int32_t tlbc, bool entry)
{
	xgrow(&w->v, &w->cap, w->n + 1, sizeof(*w->v));
	w->v[w->n++] = (struct rawframe){ w->cur, code, pos, tlbc, entry };
}

/*
 * The object a frame's _PyStackRef (3.13+: f_executable from 3.14, the
 * variables) refers to, or 0 for none.  The lowest bit tags how the
 * reference is counted; from 3.14 a word whose two lowest bits are set is
 * an int held in the word itself (*tagged_int), not an object
 * (Include/internal/pycore_stackref.h).
 */
static uint64_t stackref_object(const struct pyruntime *rt, uint64_t bits, bool *tagged_int)
{
	*tagged_int = rt->vkey >= PY_VER(3, 14) && (bits & 3) == 3;
	if (*tagged_int || rt->vkey < PY_VER(3, 13))
		return *tagged_int ? 0 : bits;
	return bits & ~(uint64_t)1;
}

/* Read the frame at w->cur and step to the one below it. */
static void step(const struct pyread *r, struct walk *w, size_t len, bool iframes)
{
	const struct py_offsets *o = &r->rt->off;
	unsigned char buf[512];
	uint64_t code, next, instr;
	int32_t lasti;
	int err;

	if (w->n >= PYREAD_MAX_FRAMES) {
		w->cut = true;
		w->cur = 0;
		return;
	}
	/* The bottom of the stack, known without a read: it holds nothing to show. */
	if (w->cur == w->base) {
		if (w->n)
			w->v[w->n - 1].entry = true;
		w->cur = 0;
		return;
	}
	/* Brent: a chain that comes back to the marked frame is a loop. */
	if (w->cur == w->mark) {
		uint64_t *addrs = xmalloc((w->n ? w->n : 1) * sizeof(*addrs));

		for (size_t i = 0; i < w->n; i++)
			addrs[i] = w->v[i].frame;
		w->n = first_repeat(addrs, w->n);
		free(addrs);
		w->looped = true;
		w->cur = 0;
		return;
	}
	if (++w->steps == w->pow) {
		w->mark = w->cur;
		w->pow *= 2;
	}
	err = rmem_read(r->mem, w->cur, buf, len);
	if (err) {
		w->err = err;
		w->err_addr = w->cur;
		w->cur = 0;
		return;
	}
	if (!iframes) {
		memcpy(&code, buf + o->frame_code, 8);
		memcpy(&next, buf + o->frame_back, 8);
		memcpy(&lasti, buf + o->frame_lasti, 4);
		push(w, code, lasti, 0, false);
	} else {
		int32_t tlbc = 0;
		bool tagged;

		memcpy(&code, buf + o->iframe_code, 8);
		code = stackref_object(r->rt, code, &tagged);
		memcpy(&next, buf + o->iframe_previous, 8);
		memcpy(&instr, buf + o->iframe_instr, 8);
		if (o->iframe_tlbc_index != PYO_NONE)
			memcpy(&tlbc, buf + o->iframe_tlbc_index, 4);
		if (r->rt->vkey < PY_VER(3, 12))
			push(w, code, (int64_t)instr, 0, buf[o->iframe_is_entry] != 0);
		else if ((unsigned char)buf[o->iframe_owner] < FRAME_OWNED_BY_INTERPRETER)
			push(w, code, (int64_t)instr, tlbc, false);
		else if (w->n)
			w->v[w->n - 1].entry = true;	/* the frame an entry frame calls */
	}
	w->cur = next;
	/* The bottom frame of a thread is always where its outermost call began. */
	if (!next && w->n && iframes)
		w->v[w->n - 1].entry = true;
}

/* Whether a walk is at its base frame (3.15+), which ends it without a read. */
static bool any_base(const struct walk *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].cur && w[i].cur == w[i].base)
			return true;
	return false;
}

/*
 * What to fetch for a walk's next step.  3.11+ keeps a thread's frames end
 * to end in its data stack, each older one below: a walk that has gone
 * some frames deep fetches, with the frame it is at, the frames below it on
 * the same page, more the deeper it is (at most the page).  A shallow walk,
 * and every walk of frame objects (scattered on the heap), fetches the
 * frame alone: a dump of many threads a few frames deep then fetches what
 * it reads, not their pages.
 */
static struct rmem_range walk_fetch(const struct walk *w, size_t len, bool iframes)
{
	uint64_t end = w->cur + len, lo = w->cur, page = w->cur & ~((uint64_t)RMEM_PAGE - 1);
	unsigned shift = w->n / 4 < 6 ? (unsigned)(w->n / 4) : 6;

	if (iframes && shift) {
		uint64_t win = (uint64_t)len << shift;

		lo = end - page > win ? end - win : page;
	}
	return (struct rmem_range){ .addr = lo, .len = (size_t)(end - lo) };
}

static void walk_all(const struct pyread *r, struct walk *w, size_t n)
{
	bool iframes = interp_frames(r->rt);
	size_t len = frame_read_len(&r->rt->off, iframes);
	struct rmem_range *want = xmalloc((n ? n : 1) * sizeof(*want));

	for (;;) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (w[i].cur && w[i].cur != w[i].base)
				want[k++] = walk_fetch(&w[i], len, iframes);
		if (!k && !any_base(w, n))
			break;
		rmem_prefetch_ranges(r->mem, want, k);
		for (size_t i = 0; i < n; i++)
			if (w[i].cur)
				step(r, &w[i], len, iframes);
	}
	free(want);
}

/* Where the instruction of a frame whose bytecode could not be found is. */
#define ADDR_UNKNOWN LONG_MIN

/* The byte offset of the instruction a frame is at, for the line table. */
static long frame_addr(const struct pyread *r, const struct pycode *code, const struct rawframe *f)
{
	const struct pyruntime *rt = r->rt;
	int64_t pos = f->pos;

	if (rt->vkey >= PY_VER(3, 11)) {
		/* Free-threaded 3.14+: the thread may run its own copy of the bytecode. */
		uint64_t start = pycode_bytecode(r->codes, r->mem, rt, code->addr, f->tlbc,
						 (uint64_t)pos);

		return start ? (long)((int64_t)((uint64_t)pos - start)) : ADDR_UNKNOWN;
	}
	if (rt->vkey >= PY_VER(3, 10))
		return (long)(pos * 2);
	return (long)pos;
}

/* Snapshot copies of a code object's strings, shared by its frames. */
struct codestr {
	uint64_t addr;
	const char *name, *qualname, *file;
};

/* Where a code address starts its search in a table of cap (a power of two) slots. */
static size_t code_hash(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ull >> 24) & (cap - 1);
}

struct codestrs {
	struct codestr *v;
	size_t cap;
};

static const struct codestr *codestr_get(struct codestrs *cs, struct snapshot *snap,
					 const struct pycode *code)
{
	size_t i = code_hash(code->addr, cs->cap);

	while (cs->v[i].addr && cs->v[i].addr != code->addr)
		i = (i + 1) & (cs->cap - 1);
	if (!cs->v[i].addr) {
		cs->v[i].addr = code->addr;
		cs->v[i].name = snapshot_strdup(snap, code->name);
		cs->v[i].qualname = snapshot_strdup(snap, code->qualname);
		cs->v[i].file = snapshot_strdup(snap, code->file);
	}
	return &cs->v[i];
}

/* Put a (nonzero) code address in an open-addressed set of cap (a power of two) slots. */
static bool code_set_add(uint64_t *set, size_t cap, uint64_t a)
{
	size_t h = code_hash(a, cap);

	while (set[h] && set[h] != a)
		h = (h + 1) & (cap - 1);
	if (set[h])
		return false;
	set[h] = a;
	return true;
}

/*
 * Every distinct code object named by the walks, and (in *cap_pow2) a
 * table size at least twice their number.  The set grows with the distinct
 * codes, not with the frames: a 10,000-frame recursion names a few.
 */
static uint64_t *collect_codes(const struct walk *w, size_t n, size_t *count, size_t *cap_pow2)
{
	size_t cap = 64, k = 0, capl = 0;
	uint64_t *set = xcalloc(cap, sizeof(*set)), *list = NULL;

	for (size_t i = 0; i < n; i++) {
		for (size_t f = 0; f < w[i].n; f++) {
			uint64_t a = w[i].v[f].code;

			if (!a || !code_set_add(set, cap, a))
				continue;
			xgrow(&list, &capl, k + 1, sizeof(*list));
			list[k++] = a;
			if (2 * k > cap) {
				free(set);
				cap *= 2;
				set = xcalloc(cap, sizeof(*set));
				for (size_t j = 0; j < k; j++)
					code_set_add(set, cap, list[j]);
			}
		}
	}
	free(set);
	*count = k;
	*cap_pow2 = cap;
	return list ? list : xmalloc(sizeof(*list));
}

/* What a variable slot holds: a cell is looked through, to the value it holds (0: unbound). */
static uint64_t slot_value(const struct pyread *r, uint64_t v, unsigned char kind)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t type = 0;

	if (!v || !(kind & (PYCODE_VAR_CELL | PYCODE_VAR_FREE)))
		return v;
	/* Before the frame's first instruction makes the cell, the slot holds the argument itself. */
	if (rmem_read_u64(r->mem, v + o->object_type, &type) || !r->rt->type_cell ||
	    type != r->rt->type_cell)
		return v;
	return rmem_read_u64(r->mem, v + o->cell_ref, &v) ? 0 : v;
}

/* With --locals: the frame's arguments, then its other variables, as bounded reprs. */
static void read_vars(const struct pyread *r, struct snapshot *snap, struct frame *f,
		      const struct pycode *code, uint64_t frame, size_t *budget)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t base = frame + (interp_frames(r->rt) ? o->iframe_localsplus : o->frame_localsplus);
	uint64_t slots[PYCODE_MAX_VARS];
	size_t n = 0;

	if (!code->vars_loaded || code->vars_err || code->nvars > *budget ||
	    rmem_read(r->mem, base, slots, code->nvars * sizeof(slots[0]))) {
		f->vars_missing = code->nvars > 0 || code->vars_err || !code->vars_loaded;
		return;
	}
	f->vars = code->nvars ? snapshot_alloc(snap, code->nvars * sizeof(*f->vars)) : NULL;
	for (int args = 1; args >= 0; args--) {
		for (size_t i = 0; i < code->nvars; i++) {
			unsigned char kind = code->varkinds[i];
			char repr[512];
			uint64_t v;

			bool tagged_int;

			if (!!(kind & PYCODE_VAR_ARG) != args || (kind & PYCODE_VAR_HIDDEN))
				continue;
			v = stackref_object(r->rt, slots[i], &tagged_int);
			if (tagged_int)
				snprintf(repr, sizeof(repr), "%lld", (long long)((int64_t)slots[i] >> 2));
			else if (!(v = slot_value(r, v, kind)))
				continue;	/* unbound, as Python's locals() leaves it out */
			else
				pyobj_repr(r->mem, r->rt, v, repr, sizeof(repr));
			f->vars[n++] = (struct variable){
				.name = snapshot_strdup(snap, code->varnames[i]),
				.repr = snapshot_strdup(snap, repr),
				.arg = args,
			};
		}
	}
	f->nvars = n;
	*budget -= code->nvars;
}

/*
 * The snapshot frame of raw frame v into f: the code object it runs (NULL or not valid
 * when it could not be read, and f is left alone).
 */
static const struct pycode *fill_frame(const struct pyread *r, struct snapshot *snap,
				       struct codestrs *cs, const struct rawframe *v,
				       struct frame *f, size_t *var_budget)
{
	const struct pycode *code = v->code ? pycode_get(r->codes, v->code) : NULL;
	const struct codestr *s;

	if (!code || !code->valid)
		return code;
	s = codestr_get(cs, snap, code);
	f->kind = FRAME_PYTHON;
	f->function = s->name;
	f->qualname = s->qualname;
	f->file = s->file;
	f->code = code->addr;
	/* The line is worked out from this after the detach (pyread_lines). */
	f->address = (uint64_t)frame_addr(r, code, v);
	f->entry = v->entry;
	if (r->locals)
		read_vars(r, snap, f, code, v->frame, var_budget);
	return code;
}

static void fill_thread(const struct pyread *r, struct snapshot *snap, struct thread *t,
			const struct walk *w, struct codestrs *cs, size_t *var_budget)
{
	const struct pycode *first_bad = NULL;
	/* Straight into the snapshot (zeroed): frames left out leave their room unused. */
	struct frame *frames = w->n ? snapshot_alloc(snap, w->n * sizeof(*frames)) : NULL;
	size_t nf = 0;
	unsigned bad = 0;

	for (size_t i = 0; i < w->n; i++) {
		const struct pycode *code = fill_frame(r, snap, cs, &w->v[i], &frames[nf], var_budget);

		if (code && code->valid) {
			nf++;
		} else if (!bad++) {
			first_bad = code;
		}
	}
	t->frames = nf ? frames : NULL;
	t->nframes = nf;
	if (w->err) {
		t->truncated = true;
		t->error = snapshot_printf(snap, "frame at 0x%llx unreadable: %s",
					   (unsigned long long)w->err_addr, ps_strerror(w->err));
	} else if (w->looped) {
		t->truncated = true;
		t->error = snapshot_strdup(snap, "the frame chain loops (memory changing under the read?)");
	} else if (w->torn) {
		t->truncated = true;
		t->error = snapshot_printf(snap, "the thread ran on while it was read without stopping "
					   "it: %zu inner frame%s changed between two reads and %s left "
					   "out (read without --nonblocking for one instant)", w->torn,
					   w->torn == 1 ? "" : "s", w->torn == 1 ? "is" : "are");
	} else if (w->cut) {
		t->truncated = true;
		t->error = snapshot_printf(snap, "more than %d frames: the rest are not shown",
					   PYREAD_MAX_FRAMES);
	} else if (bad) {
		t->truncated = true;
		if (first_bad)
			t->error = snapshot_printf(snap, "%u frame%s left out: the code object at "
						   "0x%llx could not be read (%s)", bad,
						   bad == 1 ? "" : "s",
						   (unsigned long long)first_bad->addr,
						   ps_strerror(first_bad->err));
		else
			t->error = snapshot_printf(snap, "%u frame%s left out: %s no code "
						   "object (%s being set up or changing as %s read)",
						   bad, bad == 1 ? "" : "s",
						   bad == 1 ? "it named" : "they named",
						   bad == 1 ? "a call" : "calls",
						   bad == 1 ? "it was" : "they were");
	}
	if (t->truncated)
		snap->partial++;
}

/*
 * Whether stopped thread k is blocked waiting for the GIL at gil: in a futex
 * wait on the GIL's condition variable, where take_gil() waits.
 */
static bool waits_for_gil(const struct pyread *r, size_t k, uint64_t gil)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t addr;
	long nr;

	if (!gil || o->gil_cond == PYO_NONE ||
	    target_thread_syscall(r->target, k, &nr, &addr) || nr != SYS_futex)
		return false;
	return addr - (gil + o->gil_cond) < o->gil_cond_size;
}

/* OS thread ids: native_thread_id (3.11+), or the thread pointer of a stopped thread. */
static void match_tids(const struct pyread *r, struct snapshot *snap, const struct tinfo *ti)
{
	size_t nt = r->target ? target_nthreads(r->target) : 0;
	uint64_t *tp = NULL;
	bool all_known = nt > 0;	/* every live thread's thread pointer was read */

	if (r->rt->vkey < PY_VER(3, 11) && nt) {
		tp = xcalloc(nt, sizeof(*tp));
		for (size_t k = 0; k < nt; k++)
			if (target_thread_pointer(r->target, k, &tp[k]))
				all_known = false;
	}
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct thread *t = &snap->threads[i];
		char state = 0;
		long k;

		if (ti[i].native_id) {
			/* Python knows its threads by the ids of its own PID namespace. */
			t->tid = r->tids ? tidmap_here(r->tids, (pid_t)ti[i].native_id) :
					   (pid_t)ti[i].native_id;
		} else if (tp) {
			for (size_t j = 0; j < nt; j++)
				if (tp[j] && tp[j] == ti[i].thread_id)
					t->tid = target_thread(r->target, j)->tid;
		}
		k = r->target && t->tid ? target_find(r->target, t->tid) : -1;
		/*
		 * The process is held with all its threads: a thread state that
		 * is none of them outlived its OS thread (at exit, or shutdown).
		 */
		if (k < 0 && all_known && (ti[i].native_id || tp)) {
			t->tid = 0;
			t->status = THREAD_EXITED;
			continue;
		}
		if (!t->tid)
			continue;
		if (k >= 0) {
			state = target_thread(r->target, (size_t)k)->state;
			t->waits_for_gil = !t->holds_gil && waits_for_gil(r, (size_t)k, ti[i].gil);
		}
		else if (proc_task_state(r->pid, t->tid, &state) < 0)
			state = 0;
		t->status = !state ? THREAD_UNKNOWN : state == 'R' ? THREAD_RUNNING : THREAD_IDLE;
		t->main = t->tid == r->pid;
	}
	free(tp);
}

/* Whether two reads of a frame agree; the innermost frame may have moved on in its code. */
static bool same_frame(const struct rawframe *a, const struct rawframe *b, bool innermost)
{
	return a->frame == b->frame && a->code == b->code && a->tlbc == b->tlbc &&
	       (innermost || a->pos == b->pos);
}

/*
 * --nonblocking: a thread that runs on while its chain is read can yield a
 * stack it never had (a frame read before a call returned, the next one
 * after another was pushed in its place).  So every chain is read a second
 * time, afresh, and of each thread only what both reads agree on is kept:
 * the outer frames that are the same (same frame, code and instruction,
 * the innermost aside) in both.  w[i].torn counts the inner frames left
 * out.  A thread gone by the second read is kept as first read.
 */
static void verify_walks(const struct pyread *r, struct walk *w, const struct tinfo *ti, size_t n)
{
	struct tinfo *t2 = NULL;
	struct walk *w2;
	size_t n2 = 0, *match;
	unsigned partial = 0;

	rmem_invalidate(r->mem);
	if (read_threads(r, &partial, &t2, &n2))
		return;
	resolve_cframes(r, t2, n2);
	w2 = xcalloc(n2 ? n2 : 1, sizeof(*w2));
	match = xmalloc((n ? n : 1) * sizeof(*match));
	for (size_t i = 0; i < n; i++) {
		match[i] = n2;
		if (i < n2 && t2[i].tstate == ti[i].tstate)
			match[i] = i;
		for (size_t k = 0; k < n2 && match[i] == n2; k++)
			if (t2[k].tstate == ti[i].tstate)
				match[i] = k;
		if (match[i] < n2) {
			w2[match[i]].cur = t2[match[i]].top;
			w2[match[i]].base = t2[match[i]].base;
			w2[match[i]].pow = 1;
		}
	}
	walk_all(r, w2, n2);
	for (size_t i = 0; i < n; i++) {
		const struct walk *b;
		size_t na = w[i].n, nb, same = 0;

		if (match[i] == n2)
			continue;
		b = &w2[match[i]];
		nb = b->n;
		if (na == nb && !w[i].err && !b->err) {
			bool all = true;

			for (size_t k = 0; k < na && all; k++)
				all = same_frame(&w[i].v[k], &b->v[k], k == 0);
			if (all)
				same = na;
		}
		/* The common outer part, from the bottom of both chains. */
		while (same < na && same < nb &&
		       same_frame(&w[i].v[na - 1 - same], &b->v[nb - 1 - same], false))
			same++;
		/*
		 * A frame without a code object is one being made or torn down
		 * as it was read, twice alike: what is above it is no stack.
		 */
		for (size_t k = 0; k < same; k++)
			if (!w[i].v[na - 1 - k].code)
				same = k;
		if (same == na)
			continue;
		w[i].torn = na - same;
		memmove(w[i].v, w[i].v + w[i].torn, same * sizeof(*w[i].v));
		w[i].n = same;
	}
	for (size_t k = 0; k < n2; k++)
		free(w2[k].v);
	free(w2);
	free(match);
	free(t2);
}

/*
 * Whether thread state i belongs to a thread that has not started running:
 * Thread.start() makes the new thread's state before the thread runs, and
 * until it does, 3.12+ leave its idents 0, while earlier versions give it
 * those of the thread that started it.  The new thread then sets its own
 * idents one after the other, so a read in between finds one new and one
 * old (3.12+: the thread ident without the native one).  Such a state has
 * no frames; before 3.12 it is told from its starter, with which it shares
 * an ident in one interpreter, by being the newer (the list runs newest
 * first) or the one without frames.  It is no thread of its own yet: it is
 * not shown.
 */
static bool not_started(const struct pyread *r, const struct tinfo *ti, const struct walk *w,
			size_t n, size_t i)
{
	if (w[i].n)
		return false;
	if (r->rt->vkey >= PY_VER(3, 12))
		return !ti[i].native_id;
	for (size_t j = 0; j < n; j++)
		if (j != i && ti[j].interp == ti[i].interp && (w[j].n || j > i) &&
		    (ti[j].thread_id == ti[i].thread_id ||
		     (ti[i].native_id && ti[j].native_id == ti[i].native_id)))
			return true;
	return false;
}

size_t pyread_frames(const struct pyread *r, struct snapshot *snap, const struct pyread_frame *v,
		     size_t n, struct frame *out)
{
	struct rawframe *raw = xmalloc((n ? n : 1) * sizeof(*raw));
	struct walk w = { .v = raw, .n = n };
	struct codestrs cs;
	uint64_t *codes;
	size_t ncodes, budget = PYREAD_MAX_VARS, bad = 0;

	for (size_t i = 0; i < n; i++)
		raw[i] = (struct rawframe){ .frame = v[i].frame, .code = v[i].code, .pos = v[i].pos };
	codes = collect_codes(&w, 1, &ncodes, &cs.cap);
	pycode_load(r->codes, r->mem, r->rt, codes, ncodes, r->gen);
	if (r->locals)
		pycode_load_vars(r->codes, r->mem, r->rt, codes, ncodes);
	cs.v = xcalloc(cs.cap, sizeof(*cs.v));
	for (size_t i = 0; i < n; i++) {
		const struct pycode *code = fill_frame(r, snap, &cs, &raw[i], &out[i], &budget);

		if (!code || !code->valid) {
			out[i] = (struct frame){ 0 };
			bad++;
		}
	}
	free(cs.v);
	free(codes);
	free(raw);
	return bad;
}

int pyread_snapshot(const struct pyread *r, struct snapshot *snap)
{
	struct tinfo *ti = NULL;
	struct walk *w;
	struct codestrs cs;
	uint64_t *codes;
	size_t n = 0, ncodes, var_budget = PYREAD_MAX_VARS, kept = 0;
	int err = read_threads(r, &snap->partial, &ti, &n);
	bool *skip;

	if (err)
		return err;
	resolve_cframes(r, ti, n);
	w = xcalloc(n ? n : 1, sizeof(*w));
	skip = xcalloc(n ? n : 1, sizeof(*skip));
	for (size_t i = 0; i < n; i++) {
		w[i].cur = ti[i].top;
		w[i].base = ti[i].base;
		w[i].pow = 1;
	}
	walk_all(r, w, n);
	if (r->verify)
		verify_walks(r, w, ti, n);

	codes = collect_codes(w, n, &ncodes, &cs.cap);
	pycode_load(r->codes, r->mem, r->rt, codes, ncodes, r->gen);
	if (r->locals)
		pycode_load_vars(r->codes, r->mem, r->rt, codes, ncodes);
	cs.v = xcalloc(cs.cap, sizeof(*cs.v));

	for (size_t i = 0; i < n; i++)
		skip[i] = not_started(r, ti, w, n, i);
	for (size_t i = 0; i < n; i++) {
		struct thread *t;

		if (skip[i]) {
			free(w[i].v);
			continue;
		}
		ti[kept++] = ti[i];	/* ti[k] stays the state of snap's thread k */
		t = snapshot_add_thread(snap);
		t->thread_id = ti[i].thread_id;
		t->interp = ti[i].interp;
		t->tstate = ti[i].tstate;
		t->interp_id = ti[i].interp_id;
		t->holds_gil = ti[i].holds_gil;
		t->no_gil = ti[i].no_gil;
		t->gc = ti[i].gc;
		/* _Py_THREAD_DETACHED 0, ATTACHED 1, SUSPENDED 2 (3.14: SHUTTING_DOWN 3, detached) */
		t->attach = ti[i].state == 1 ? ATTACH_ATTACHED : ti[i].state == 2 ? ATTACH_SUSPENDED :
			    ti[i].state == 0 || ti[i].state == 3 ? ATTACH_DETACHED : ATTACH_UNKNOWN;
		fill_thread(r, snap, t, &w[i], &cs, &var_budget);
		free(w[i].v);
	}
	if (!r->prepass) {
		snap->gil_waits_known = r->target && r->rt->off.gil_cond != PYO_NONE;
		match_tids(r, snap, ti);
	}
	free(cs.v);
	free(codes);
	free(skip);
	free(w);
	free(ti);
	return 0;
}

/* Lines worked out, by code and instruction: thousands of tasks suspended at one await share one. */
#define LINE_MEMO 64

struct line_memo {
	uint64_t code, address;
	int line;
};

static void frame_lines(const struct pyread *r, struct frame *frames, size_t n,
			struct line_memo *memo)
{
	for (size_t k = 0; k < n; k++) {
		struct frame *f = &frames[k];
		const struct pycode *code;
		int line;

		if (f->kind != FRAME_PYTHON || f->line)
			continue;
		struct line_memo *m = &memo[(f->code >> 4 ^ f->address * 0x9e3779b97f4a7c15ull >> 58) %
					    LINE_MEMO];

		if (m->code == f->code && m->address == f->address) {
			f->line = m->line;
			continue;
		}
		code = pycode_get(r->codes, f->code);
		line = code && (long)f->address != ADDR_UNKNOWN ?
			       pycode_line(code, r->rt, (long)f->address) : 0;
		f->line = line > 0 ? line : 0;
		*m = (struct line_memo){ f->code, f->address, f->line };
	}
}

void pyread_lines(const struct pyread *r, struct snapshot *snap)
{
	struct line_memo memo[LINE_MEMO] = { 0 };

	for (size_t i = 0; i < snap->nthreads; i++)
		frame_lines(r, snap->threads[i].frames, snap->threads[i].nframes, memo);
	for (size_t i = 0; i < snap->ntasks; i++)
		frame_lines(r, snap->tasks[i].frames, snap->tasks[i].nframes, memo);
}

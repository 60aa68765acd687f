/*
 * Native frames for a snapshot (see native.h): the eval loop's address
 * ranges, the raw stacks taken while stopped, and turning them into frames
 * of the snapshot model.
 *
 * Two kinds of interpreter make the eval loop look different in a native
 * stack.  A tail-calling interpreter (3.14+ built by clang with
 * --with-tail-call-interp) runs each opcode in a handler function of its
 * own (_TAIL_CALL_LOAD_FAST, ...); handlers jump to each other by tail
 * calls, so one of them sits between _PyEval_EvalFrameDefault, which
 * called the first, and whatever the opcode calls.  The handlers are
 * static: a stripped build has no names for them, but it still has the
 * exported entry, and the handler is then the unnamed frame the entry
 * called.  The JIT (3.13+, --enable-experimental-jit) runs traces of
 * machine code from anonymous mappings, called by the eval loop: that code
 * has no symbols and no unwind tables, and in 3.14 its entry keeps no frame
 * pointer either, so libunwind's guess past it (the frame-pointer chain)
 * goes astray.  Such frames are kept as bare addresses, and when the
 * stacks then fail to fit, the native stack is cut after them and merged
 * as far as it goes, the outer Python frames following it.  A stack whose
 * unwind ended in a file's code without unwind tables (no caller found
 * for it, see unwind.h) is merged as far as it goes in the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elffile.h"
#include "machinery.h"
#include "msg.h"
#include "native.h"
#include "proc.h"
#include "pyruntime.h"
#include "snapshot.h"
#include "symbolize.h"
#include "target.h"
#include "unwind.h"

#define MAX_EVAL_RANGES 4

/*
 * An eval loop's entry function smaller than this only dispatches to the
 * handlers of a tail-calling interpreter: the loop itself (switch or
 * computed gotos) is tens of kilobytes in every CPython.
 */
#define TAILCALL_ENTRY_MAX 4096

/* The prefix of a tail-calling interpreter's opcode handlers (Python/ceval_macros.h). */
#define TAILCALL_PREFIX "_TAIL_CALL_"

struct raw_stack {
	pid_t tid;
	char state;
	struct native_ip *ips;
	size_t n;
	struct unwind_end end;
	int err;
};

struct native {
	pid_t pid;
	const struct maps *maps;
	const struct pyruntime *rt;
	struct unwinder *unw;
	struct symbolizer *sym;
	uint64_t eval_lo[MAX_EVAL_RANGES], eval_hi[MAX_EVAL_RANGES];
	size_t neval;
	bool tailcall;			/* a tail-calling interpreter (see the top) */
	int interp_file;		/* maps->files index of the interpreter's binary */
	struct raw_stack *raw;
	size_t nraw, capraw;
	struct native_ip *scratch;
};

/*
 * The eval loop's address ranges: the function (exported, so even a
 * stripped binary has it) and, where .symtab tells, its cold part.  And
 * whether the interpreter calls tail-calling handlers: its first handler's
 * name in .symtab, or else an entry function too small to hold the loop.
 */
static void find_eval(struct native *n, struct rmem *mem)
{
	const char *name = n->rt->vkey < PY_VER(3, 0) ? "PyEval_EvalFrameEx" : "_PyEval_EvalFrameDefault";
	char cold[64];
	struct elf_sym_query q[3];
	struct elffile *ef;
	uint64_t bias;
	const struct mapped_file *file;

	n->interp_file = -1;
	for (size_t i = 0; i < n->maps->nfiles; i++)
		if (!strcmp(n->maps->files[i].first->path, n->rt->binary))
			n->interp_file = (int)i;
	if (n->interp_file < 0)
		return;
	file = &n->maps->files[n->interp_file];
	if (elffile_open_mapped(n->pid, n->maps, file->first, mem, &ef))
		return;
	snprintf(cold, sizeof(cold), "%s.cold", name);
	q[0] = (struct elf_sym_query){ .name = name };
	q[1] = (struct elf_sym_query){ .name = cold };
	q[2] = (struct elf_sym_query){ .name = TAILCALL_PREFIX "start_frame" };
	elffile_lookup(ef, q, 3, elffile_has_symtab(ef));
	if (n->rt->vkey >= PY_VER(3, 14) && q[0].found &&
	    (q[2].found || (q[0].size && q[0].size < TAILCALL_ENTRY_MAX))) {
		n->tailcall = true;
		debug_msg("pid %d: a tail-calling interpreter (%s of %llu bytes%s)", (int)n->pid,
			  name, (unsigned long long)q[0].size,
			  q[2].found ? ", handlers named in .symtab" : "");
	}
	if (!elffile_bias(ef, file->first->start, file->first->offset, &bias)) {
		for (size_t i = 0; i < 2; i++) {
			if (!q[i].found || !q[i].size)
				continue;
			n->eval_lo[n->neval] = bias + q[i].value;
			n->eval_hi[n->neval] = bias + q[i].value + q[i].size;
			n->neval++;
		}
	}
	elffile_free(ef);
}

int native_new(pid_t pid, const struct maps *maps, struct rmem *mem, const struct pyruntime *rt,
	       struct native **out, char *why, size_t nwhy)
{
	struct native *n = xcalloc(1, sizeof(*n));
	int err;

	n->pid = pid;
	n->maps = maps;
	n->rt = rt;
	err = unwinder_new(pid, maps, mem, &n->unw, why, nwhy);
	if (!err)
		err = symbolizer_new(pid, maps, mem, &n->sym, why, nwhy);
	if (err) {
		native_free(n);
		return err;
	}
	find_eval(n, mem);
	if (!n->neval)
		debug_msg("pid %d: the eval loop's address is unknown: native and Python frames "
			  "will be shown apart", (int)pid);
	n->scratch = xmalloc(UNWIND_MAX_FRAMES * sizeof(*n->scratch));
	*out = n;
	return 0;
}

static void clear_raw(struct native *n)
{
	for (size_t i = 0; i < n->nraw; i++)
		free(n->raw[i].ips);
	n->nraw = 0;
}

void native_free(struct native *n)
{
	if (!n)
		return;
	clear_raw(n);
	free(n->raw);
	free(n->scratch);
	unwinder_free(n->unw);
	symbolizer_free(n->sym);
	free(n);
}

void native_unwind(struct native *n, struct target *t)
{
	clear_raw(n);
	for (size_t i = 0; i < target_nthreads(t); i++) {
		const struct target_thread *th = target_thread(t, i);
		const struct user_regs_struct *regs;
		struct raw_stack *r;
		long got;

		if (!th->stopped)
			continue;
		xgrow(&n->raw, &n->capraw, n->nraw + 1, sizeof(*n->raw));
		r = &n->raw[n->nraw++];
		memset(r, 0, sizeof(*r));
		r->tid = th->tid;
		r->state = th->state;
		regs = target_thread_regs(t, i);
		if (!regs) {
			r->err = -ESRCH;
			continue;
		}
		got = unwinder_unwind(n->unw, regs, n->scratch, UNWIND_MAX_FRAMES, &r->end);
		if (got < 0) {
			r->err = (int)got;
			continue;
		}
		r->n = (size_t)got;
		r->ips = xmalloc((got ? got : 1) * sizeof(*r->ips));
		memcpy(r->ips, n->scratch, got * sizeof(*r->ips));
	}
}

/* The address to classify a frame by: a return address belongs to the call before it. */
static uint64_t pc_of(const struct native_ip *ip)
{
	return ip->exact ? ip->ip : ip->ip - 1;
}

static bool in_eval(const struct native *n, uint64_t pc)
{
	for (size_t i = 0; i < n->neval; i++)
		if (pc >= n->eval_lo[i] && pc < n->eval_hi[i])
			return true;
	return false;
}

/*
 * Append the frames (inlined ones first) at one native address to v; with
 * hide_machinery, without the interpreter's call machinery inlined there
 * (the static inline trampolines of CPython's headers).
 */
static void add_native(struct native *n, struct snapshot *snap, const struct native_ip *ip,
		       bool hide_machinery, struct frame **v, size_t *len, size_t *cap)
{
	const struct native_sym *sym;
	size_t k = symbolizer_lookup(n->sym, ip->ip, ip->exact, &sym);

	for (size_t i = 0; i < k; i++) {
		struct frame *f;

		if (hide_machinery && sym[i].inlined && call_machinery(n->rt->vkey, sym[i].function))
			continue;
		xgrow(v, cap, *len + 1, sizeof(**v));
		f = &(*v)[(*len)++];
		memset(f, 0, sizeof(*f));
		f->kind = FRAME_NATIVE;
		f->function = snapshot_strdup(snap, sym[i].function);
		f->offset = sym[i].offset;
		f->module = snapshot_strdup(snap, sym[i].module);
		f->file = snapshot_strdup(snap, sym[i].file);
		f->line = sym[i].line;
		f->inlined = sym[i].inlined;
		f->address = ip->ip;
	}
	/* The physical frame, after its inlined calls, is the one found. */
	if (k && ip->how != UNWIND_TABLE)
		(*v)[*len - 1].found_by = ip->how == UNWIND_FRAME_POINTER ? "frame pointer" : "stack scan";
}

static const struct raw_stack *raw_of(const struct native *n, pid_t tid)
{
	for (size_t i = 0; i < n->nraw; i++)
		if (n->raw[i].tid == tid)
			return &n->raw[i];
	return NULL;
}

/* The function at one native address, as the symbol table names it (NULL if unnamed). */
static const char *function_at(struct native *n, const struct native_ip *ip)
{
	const struct native_sym *sym;
	size_t k = symbolizer_lookup(n->sym, ip->ip, ip->exact, &sym);

	return sym[k - 1].function;
}

/* The code at one native address in words: "function in module", or its address. */
static const char *describe_code(struct native *n, struct snapshot *snap, const struct native_ip *ip)
{
	const struct native_sym *sym;
	size_t k = symbolizer_lookup(n->sym, ip->ip, ip->exact, &sym);
	const char *module = k ? sym[k - 1].module : NULL;
	const char *base = module && strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	const char *where = base ? base : "an unknown file";

	if (k && sym[k - 1].function)
		return snapshot_printf(snap, "%s in %s", sym[k - 1].function, where);
	return snapshot_printf(snap, "0x%llx in %s", (unsigned long long)ip->ip, where);
}

/*
 * The native frames inner of every Python frame: those before the first
 * one of the interpreter (its eval loop and call machinery).
 */
static size_t leaf_len(const struct raw_stack *r, const struct merge_native *flags)
{
	size_t i = 0;

	while (i < r->n && !flags[i].eval && !flags[i].eval_part && !flags[i].interp)
		i++;
	return i;
}

/* How each native frame of r counts in the merge (flags has r->n entries). */
static void classify(struct native *n, const struct raw_stack *r, struct merge_native *flags)
{
	for (size_t i = 0; i < r->n; i++) {
		uint64_t pc = pc_of(&r->ips[i]);

		const char *name;

		flags[i].eval = in_eval(n, pc);
		flags[i].interp = n->interp_file >= 0 && maps_file_at(n->maps, pc) == n->interp_file;
		if (!flags[i].interp || flags[i].eval)
			continue;
		name = function_at(n, &r->ips[i]);
		flags[i].machinery = call_machinery(n->rt->vkey, name);
		flags[i].unnamed = !name;
	}
	/*
	 * A handler of a tail-calling interpreter: by its name, or, stripped,
	 * as the unnamed function of the interpreter that the entry called
	 * (handlers are static; the entry's other callees, which return before
	 * the first handler runs, are caught there only by a running thread).
	 */
	for (size_t i = 0; n->tailcall && i < r->n; i++) {
		const char *name;

		if (!flags[i].interp || flags[i].eval)
			continue;
		name = function_at(n, &r->ips[i]);
		flags[i].eval_part = name ? !strncmp(name, TAILCALL_PREFIX, strlen(TAILCALL_PREFIX))
					  : i + 1 < r->n && flags[i + 1].eval;
	}
}

/*
 * Where to cut a native stack that did not fit: after its first run of
 * frames in executable memory outside any mapped file (JIT code, most
 * likely), which libunwind steps out of by guesswork.  Returns the number
 * of frames to keep, with *at the address of the last one, or r->n when
 * there is no such code.
 */
static size_t trusted_part(const struct native *n, const struct raw_stack *r, uint64_t *at)
{
	size_t i = 0, keep = r->n;

	while (i < r->n && maps_file_at(n->maps, pc_of(&r->ips[i])) >= 0)
		i++;
	for (; i < r->n && maps_file_at(n->maps, pc_of(&r->ips[i])) < 0; i++) {
		const struct map *m = maps_find(n->maps, pc_of(&r->ips[i]));

		if (!m || !m->x)
			break;
		*at = r->ips[i].ip;
		keep = i + 1;
	}
	return keep;
}

static void merge_thread(struct native *n, struct snapshot *snap, struct thread *t,
			 const struct raw_stack *r, enum native_mode mode)
{
	struct merge_native *flags = xcalloc(r->n ? r->n : 1, sizeof(*flags));
	struct merge_item *items = xcalloc(r->n + t->nframes + 1, sizeof(*items));
	bool *entry = xcalloc(t->nframes ? t->nframes : 1, sizeof(*entry));
	bool grouped = n->rt->vkey >= PY_VER(3, 11);
	/* Unwound as far as the code allowed: what it has is right, but it ends early. */
	bool open_end = r->end.cut || (r->end.no_info && r->n);
	const char *stopped_in = NULL;
	struct frame *v = NULL;
	size_t len = 0, cap = 0, keep = r->n, leaf = 0;
	uint64_t jit_at = 0;
	char why[160];
	long nitems = -1;

	classify(n, r, flags);
	if (r->end.no_info && r->n)
		stopped_in = describe_code(n, snap, &r->ips[r->n - 1]);
	for (size_t i = 0; i < t->nframes; i++)
		entry[i] = t->frames[i].entry;
	if (!n->neval) {
		snprintf(why, sizeof(why), "the eval loop's address is unknown");
	} else {
		nitems = merge_stacks(t->nframes, entry, grouped, flags, r->n, mode, open_end, items,
				      why, sizeof(why));
		if (nitems < 0 && (keep = trusted_part(n, r, &jit_at)) < r->n)
			nitems = merge_stacks(t->nframes, entry, grouped, flags, keep, mode, true,
					      items, why, sizeof(why));
	}
	if (nitems < 0) {
		size_t nleaf = leaf_len(r, flags);

		/* Both stacks, side by side: nothing is dropped. */
		for (size_t i = 0; i < r->n; i++) {
			add_native(n, snap, &r->ips[i], false, &v, &len, &cap);
			if (i + 1 == nleaf)
				leaf = len;
		}
		t->native = len ? snapshot_alloc(snap, len * sizeof(*v)) : NULL;
		if (len)
			memcpy(t->native, v, len * sizeof(*v));
		t->nnative = len;
		t->native_leaf = leaf;
		if (stopped_in)
			t->note = snapshot_printf(snap, "native frames could not be placed among the "
						  "Python frames: the unwind stopped in code without "
						  "unwind information (%s); both are shown apart",
						  stopped_in);
		else
			t->note = snapshot_printf(snap, "native frames could not be placed among the "
						  "Python frames (%s); both are shown apart", why);
	} else {
		for (long i = 0; i < nitems; i++) {
			if (items[i].python) {
				xgrow(&v, &cap, len + 1, sizeof(*v));
				v[len++] = t->frames[items[i].index];
			} else {
				add_native(n, snap, &r->ips[items[i].index], mode != NATIVE_ALL, &v,
					   &len, &cap);
			}
		}
		snapshot_set_frames(snap, t, v, len);
		if (keep < r->n)
			t->note = snapshot_printf(snap, "native stack cut after 0x%llx: code outside any "
						  "file (JIT code?), with no unwind information; the "
						  "Python frames after it are shown without their "
						  "native frames", (unsigned long long)jit_at);
		else if (stopped_in)
			t->note = snapshot_printf(snap, "native stack ends in code without unwind "
						  "information (%s), whose caller was not found on the "
						  "stack; the Python frames after it are shown without "
						  "their native frames", stopped_in);
	}
	if (r->end.cut)
		t->note = snapshot_printf(snap, "%s%snative stack cut at %d frames",
					  t->note ? t->note : "", t->note ? "; " : "", UNWIND_MAX_FRAMES);
	free(v);
	free(flags);
	free(items);
	free(entry);
}

void native_merge(struct native *n, struct snapshot *snap, enum native_mode mode)
{
	bool *used = xcalloc(n->nraw ? n->nraw : 1, sizeof(*used));

	snap->native = true;
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct thread *t = &snap->threads[i];
		const struct raw_stack *r = t->tid ? raw_of(n, t->tid) : NULL;

		if (!r) {
			t->note = snapshot_strdup(snap, "no native stack: the thread was not stopped");
			continue;
		}
		used[r - n->raw] = true;
		if (r->err) {
			t->note = snapshot_printf(snap, "no native stack: %s", strerror(-r->err));
			continue;
		}
		merge_thread(n, snap, t, r, mode);
	}
	/* Threads that never ran Python: only when everything is asked for. */
	for (size_t i = 0; mode == NATIVE_ALL && i < n->nraw; i++) {
		const struct raw_stack *r = &n->raw[i];
		struct frame *v = NULL;
		size_t len = 0, cap = 0;
		struct thread *t;

		if (used[i] || r->err)
			continue;
		t = snapshot_add_thread(snap);
		t->tid = r->tid;
		t->main = r->tid == snap->pid;
		t->status = r->state == 'R' ? THREAD_RUNNING : THREAD_IDLE;
		for (size_t k = 0; k < r->n; k++)
			add_native(n, snap, &r->ips[k], false, &v, &len, &cap);
		snapshot_set_frames(snap, t, v, len);
		free(v);
	}
	free(used);
}

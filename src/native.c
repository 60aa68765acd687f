/*
 * Native frames for a snapshot (see native.h): the eval loop's address
 * ranges, the raw stacks taken while stopped, and turning them into frames
 * of the snapshot model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elffile.h"
#include "msg.h"
#include "native.h"
#include "proc.h"
#include "pyruntime.h"
#include "snapshot.h"
#include "symbolize.h"
#include "target.h"
#include "unwind.h"

#define MAX_EVAL_RANGES 4

struct raw_stack {
	pid_t tid;
	char state;
	struct native_ip *ips;
	size_t n;
	bool cut;
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
	int interp_file;		/* maps->files index of the interpreter's binary */
	struct raw_stack *raw;
	size_t nraw, capraw;
	struct native_ip *scratch;
};

/*
 * The eval loop's address ranges: the function (exported, so even a
 * stripped binary has it) and, where .symtab tells, its cold part.
 */
static void find_eval(struct native *n, struct rmem *mem)
{
	const char *name = n->rt->vkey < PY_VER(3, 0) ? "PyEval_EvalFrameEx" : "_PyEval_EvalFrameDefault";
	char cold[64];
	struct elf_sym_query q[2];
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
	elffile_lookup(ef, q, 2, elffile_has_symtab(ef));
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
		struct raw_stack *r;
		long got;

		if (!th->stopped)
			continue;
		xgrow(&n->raw, &n->capraw, n->nraw + 1, sizeof(*n->raw));
		r = &n->raw[n->nraw++];
		memset(r, 0, sizeof(*r));
		r->tid = th->tid;
		r->state = th->state;
		got = unwinder_unwind(n->unw, th->tid, n->scratch, UNWIND_MAX_FRAMES, &r->cut);
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

/* Append the frames (inlined ones first) at one native address to v. */
static void add_native(struct native *n, struct snapshot *snap, const struct native_ip *ip,
		       struct frame **v, size_t *len, size_t *cap)
{
	const struct native_sym *sym;
	size_t k = symbolizer_lookup(n->sym, ip->ip, ip->exact, &sym);

	for (size_t i = 0; i < k; i++) {
		struct frame *f;

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
}

static const struct raw_stack *raw_of(const struct native *n, pid_t tid)
{
	for (size_t i = 0; i < n->nraw; i++)
		if (n->raw[i].tid == tid)
			return &n->raw[i];
	return NULL;
}

static void merge_thread(struct native *n, struct snapshot *snap, struct thread *t,
			 const struct raw_stack *r, enum native_mode mode)
{
	struct merge_native *flags = xcalloc(r->n ? r->n : 1, sizeof(*flags));
	struct merge_item *items = xcalloc(r->n + t->nframes + 1, sizeof(*items));
	bool *entry = xcalloc(t->nframes ? t->nframes : 1, sizeof(*entry));
	struct frame *v = NULL;
	size_t len = 0, cap = 0;
	char why[160];
	long nitems;

	for (size_t i = 0; i < r->n; i++) {
		uint64_t pc = pc_of(&r->ips[i]);

		flags[i].eval = in_eval(n, pc);
		flags[i].interp = n->interp_file >= 0 && maps_file_at(n->maps, pc) == n->interp_file;
	}
	for (size_t i = 0; i < t->nframes; i++)
		entry[i] = t->frames[i].entry;
	nitems = n->neval ? merge_stacks(t->nframes, entry, n->rt->vkey >= PY_VER(3, 11), flags,
					  r->n, mode, items, why, sizeof(why)) : -1;
	if (!n->neval)
		snprintf(why, sizeof(why), "the eval loop's address is unknown");
	if (nitems < 0) {
		/* Both stacks, side by side: nothing is dropped. */
		for (size_t i = 0; i < r->n; i++)
			add_native(n, snap, &r->ips[i], &v, &len, &cap);
		t->native = len ? snapshot_alloc(snap, len * sizeof(*v)) : NULL;
		if (len)
			memcpy(t->native, v, len * sizeof(*v));
		t->nnative = len;
		t->note = snapshot_printf(snap, "native and Python frames shown apart: %s", why);
	} else {
		for (long i = 0; i < nitems; i++) {
			if (items[i].python) {
				xgrow(&v, &cap, len + 1, sizeof(*v));
				v[len++] = t->frames[items[i].index];
			} else {
				add_native(n, snap, &r->ips[items[i].index], &v, &len, &cap);
			}
		}
		snapshot_set_frames(snap, t, v, len);
	}
	if (r->cut)
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
			add_native(n, snap, &r->ips[k], &v, &len, &cap);
		snapshot_set_frames(snap, t, v, len);
		free(v);
	}
	free(used);
}

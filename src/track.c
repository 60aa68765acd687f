/*
 * Stack change tracking across the snapshots of a watch (see track.h), of
 * threads and of asyncio tasks.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "snapshot.h"
#include "track.h"

struct tracked {
	pid_t tid;
	uint64_t thread_id;
	uint64_t sig;		/* hash of the stack */
	uint64_t since_ns;	/* when the stack became what it is */
};

/* An asyncio task of the last snapshot, by its address. */
struct tracked_task {
	uint64_t id;
	uint64_t sig;
	uint64_t since_ns;
};

struct tracker {
	struct tracked *v;	/* in the order of the last snapshot */
	size_t n;
	struct tracked_task *tasks;	/* sorted by id */
	size_t ntasks;
	uint64_t first_ns;	/* the first snapshot */
	unsigned long updates;
};

struct tracker *tracker_new(void)
{
	return xcalloc(1, sizeof(struct tracker));
}

void tracker_free(struct tracker *tr)
{
	if (!tr)
		return;
	free(tr->v);
	free(tr->tasks);
	free(tr);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return mix(h, 0x5f);
}

static uint64_t frames_sig(uint64_t h, const struct frame *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct frame *f = &v[i];

		h = mix(h, f->kind);
		if (f->kind == FRAME_PYTHON)
			h = mix(mix(h, f->code), (uint64_t)(unsigned)f->line);
		else if (f->function)
			h = mix_str(h, f->function);
		else
			h = mix(h, f->address);
	}
	return mix(h, n);
}

static uint64_t stack_sig(const struct thread *t)
{
	return frames_sig(frames_sig(1, t->frames, t->nframes), t->native, t->nnative);
}

/* The entry for t in the previous snapshot (hint: at the same position), or NULL. */
static struct tracked *find(struct tracker *tr, const struct thread *t, size_t hint)
{
	if (hint < tr->n && tr->v[hint].tid == t->tid && tr->v[hint].thread_id == t->thread_id)
		return &tr->v[hint];
	for (size_t i = 0; i < tr->n; i++)
		if (tr->v[i].tid == t->tid && tr->v[i].thread_id == t->thread_id)
			return &tr->v[i];
	return NULL;
}

static int by_id(const void *a, const void *b)
{
	const struct tracked_task *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* As threads, the tasks: matched by address, the same while their coroutine stack is. */
static void update_tasks(struct tracker *tr, struct snapshot *s, uint64_t now_ns, bool first)
{
	struct tracked_task *next = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*next));

	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		struct tracked_task key = { .id = t->id }, *old;

		old = tr->ntasks ? bsearch(&key, tr->tasks, tr->ntasks, sizeof(key), by_id) : NULL;
		next[i] = (struct tracked_task){ t->id, frames_sig(1, t->frames, t->nframes), now_ns };
		if (old && old->sig == next[i].sig) {
			next[i].since_ns = old->since_ns;
			t->changed = false;
		} else {
			t->changed = !first;
		}
		t->unchanged_s = (double)(now_ns - next[i].since_ns) / 1e9;
	}
	qsort(next, s->ntasks, sizeof(*next), by_id);
	free(tr->tasks);
	tr->tasks = next;
	tr->ntasks = s->ntasks;
}

void tracker_update(struct tracker *tr, struct snapshot *s, uint64_t now_ns)
{
	struct tracked *next = xcalloc(s->nthreads ? s->nthreads : 1, sizeof(*next));
	bool first = tr->updates++ == 0;

	if (first)
		tr->first_ns = now_ns;
	for (size_t i = 0; i < s->nthreads; i++) {
		struct thread *t = &s->threads[i];
		struct tracked *old = find(tr, t, i), *e = &next[i];

		e->tid = t->tid;
		e->thread_id = t->thread_id;
		e->sig = stack_sig(t);
		if (old && old->sig == e->sig) {
			e->since_ns = old->since_ns;
			t->changed = false;
		} else {
			e->since_ns = now_ns;
			t->changed = !first;
		}
		t->unchanged_s = (double)(now_ns - e->since_ns) / 1e9;
	}
	free(tr->v);
	tr->v = next;
	tr->n = s->nthreads;
	update_tasks(tr, s, now_ns, first);
}

size_t tracker_unchanged_throughout(const struct tracker *tr, pid_t *tids, size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < tr->n; i++) {
		if (tr->v[i].since_ns != tr->first_ns)
			continue;
		if (count < max)
			tids[count] = tr->v[i].tid;
		count++;
	}
	return count;
}

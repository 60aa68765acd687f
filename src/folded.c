/*
 * Folded stacks and their aggregation (see folded.h), and the "collapsed"
 * renderer that writes one snapshot in that format.  A thread whose native
 * frames could not be merged keeps the innermost of them, those that ran
 * inner of every Python frame, on top of its Python frames.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "folded.h"
#include "msg.h"
#include "render.h"
#include "snapshot.h"

struct folded {
	struct folded_entry *v;		/* open addressing by stack */
	size_t cap, count;
	struct folded_entry *sorted;
	bool dirty;
};

/*
 * One component of a stack, escaped as for a terminal; a ';' would split
 * the component, so it becomes ':' (no escape sequence or UTF-8 byte is ';').
 */
static void component(FILE *f, char **buf, const char *s)
{
	long from = ftell(f);

	escape_text(f, s);
	fflush(f);
	for (char *p = *buf + from; *p; p++)
		if (*p == ';')
			*p = ':';
}

static const char *base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void frame_component(FILE *f, char **buf, const struct frame *fr)
{
	fputc(';', f);
	if (fr->kind == FRAME_PYTHON) {
		component(f, buf, fr->qualname ? fr->qualname : fr->function ? fr->function : "???");
		fputs(" (", f);
		component(f, buf, fr->file ? fr->file : "???");
		fprintf(f, ":%d)", fr->line);
	} else {
		if (fr->function)
			component(f, buf, fr->function);
		else
			fprintf(f, "0x%llx", (unsigned long long)fr->address);
		fputs(" [", f);
		component(f, buf, fr->module ? base(fr->module) : "???");
		fputc(']', f);
	}
}

char *folded_stack(const struct snapshot *s, const struct thread *t)
{
	const char *cmd = s->cmdline ? s->cmdline : s->executable ? s->executable : "?";
	size_t proglen = strcspn(cmd, " ");
	char *buf = NULL, *prog = xstrndup(cmd, proglen);
	size_t len = 0;
	FILE *f = xopen_memstream(&buf, &len);

	component(f, &buf, base(prog));
	free(prog);
	fprintf(f, " (%d);Thread %d", (int)s->pid, (int)t->tid);
	if (t->name) {
		fputc(' ', f);
		component(f, &buf, t->name);
	}
	for (size_t i = t->nframes; i-- > 0;)
		frame_component(f, &buf, &t->frames[i]);
	/* A native stack that could not be merged: its leaf still ran on top of the Python frames. */
	for (size_t i = t->native_leaf; i-- > 0;)
		frame_component(f, &buf, &t->native[i]);
	xclose_memstream(f);
	return buf;
}

struct folded *folded_new(void)
{
	struct folded *f = xcalloc(1, sizeof(*f));

	f->cap = 64;
	f->v = xcalloc(f->cap, sizeof(*f->v));
	return f;
}

void folded_free(struct folded *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->cap; i++)
		free((char *)f->v[i].stack);
	free(f->v);
	free(f->sorted);
	free(f);
}

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct folded_entry *slot(struct folded_entry *v, size_t cap, const char *stack)
{
	size_t i = hash(stack) & (cap - 1);

	while (v[i].stack && strcmp(v[i].stack, stack))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* Count stack (taken over) n times. */
static void add(struct folded *f, char *stack, uint64_t n)
{
	struct folded_entry *e;

	if (2 * (f->count + 1) > f->cap) {
		struct folded_entry *old = f->v;
		size_t oldcap = f->cap;

		f->cap *= 2;
		f->v = xcalloc(f->cap, sizeof(*f->v));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].stack)
				*slot(f->v, f->cap, old[i].stack) = old[i];
		free(old);
	}
	e = slot(f->v, f->cap, stack);
	if (e->stack) {
		free(stack);
	} else {
		e->stack = stack;
		f->count++;
	}
	e->count += n;
	f->dirty = true;
}

void folded_add_snapshot(struct folded *f, const struct snapshot *s)
{
	for (size_t i = 0; i < s->nthreads; i++)
		add(f, folded_stack(s, &s->threads[i]), 1);
}

size_t folded_count(const struct folded *f)
{
	return f->count;
}

static int by_stack(const void *a, const void *b)
{
	return strcmp(((const struct folded_entry *)a)->stack, ((const struct folded_entry *)b)->stack);
}

const struct folded_entry *folded_entries(struct folded *f, size_t *n)
{
	if (f->dirty || !f->sorted) {
		size_t k = 0;

		free(f->sorted);
		f->sorted = xmalloc((f->count ? f->count : 1) * sizeof(*f->sorted));
		for (size_t i = 0; i < f->cap; i++)
			if (f->v[i].stack)
				f->sorted[k++] = f->v[i];
		qsort(f->sorted, k, sizeof(*f->sorted), by_stack);
		f->dirty = false;
	}
	*n = f->count;
	return f->sorted;
}

void folded_write(struct folded *f, FILE *out)
{
	size_t n;
	const struct folded_entry *v = folded_entries(f, &n);

	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %llu\n", v[i].stack, (unsigned long long)v[i].count);
}

static void collapsed_snapshot(const struct snapshot *s, const struct render_opts *o)
{
	struct folded *f = folded_new();

	folded_add_snapshot(f, s);
	folded_write(f, o->out);
	folded_free(f);
}

const struct renderer render_collapsed = {
	.name = "collapsed",
	.snapshot = collapsed_snapshot,
};

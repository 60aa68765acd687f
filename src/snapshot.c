/*
 * The snapshot model's storage: an arena of chunks for strings and frame
 * arrays, freed all at once with the snapshot.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "snapshot.h"

#define CHUNK_MIN (64 * 1024)

struct snapshot_chunk {
	struct snapshot_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct snapshot *snapshot_new(pid_t pid)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));

	s->pid = pid;
	return s;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	while (s->arena) {
		struct snapshot_chunk *next = s->arena->next;

		free(s->arena);
		s->arena = next;
	}
	free(s->threads);
	free(s);
}

void *snapshot_alloc(struct snapshot *s, size_t size)
{
	struct snapshot_chunk *c = s->arena;
	size_t align = sizeof(max_align_t);
	void *p;

	size = (size + align - 1) / align * align;
	if (!c || c->size - c->used < size) {
		size_t n = size > CHUNK_MIN ? size : CHUNK_MIN;

		c = xmalloc(sizeof(*c) + n);
		c->size = n;
		c->used = 0;
		c->next = s->arena;
		s->arena = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

const char *snapshot_strndup(struct snapshot *s, const char *str, size_t n)
{
	char *p = snapshot_alloc(s, n + 1);

	memcpy(p, str, n);
	p[n] = '\0';
	return p;
}

const char *snapshot_strdup(struct snapshot *s, const char *str)
{
	return str ? snapshot_strndup(s, str, strlen(str)) : NULL;
}

const char *snapshot_printf(struct snapshot *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return snapshot_strdup(s, buf);
}

struct thread *snapshot_add_thread(struct snapshot *s)
{
	struct thread *t;

	xgrow(&s->threads, &s->cap, s->nthreads + 1, sizeof(*s->threads));
	t = &s->threads[s->nthreads++];
	memset(t, 0, sizeof(*t));
	t->interp_id = -1;
	t->unchanged_s = -1;
	return t;
}

void snapshot_set_frames(struct snapshot *s, struct thread *t, const struct frame *f, size_t n)
{
	t->frames = n ? snapshot_alloc(s, n * sizeof(*f)) : NULL;
	if (n)
		memcpy(t->frames, f, n * sizeof(*f));
	t->nframes = n;
}

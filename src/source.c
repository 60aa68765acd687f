/*
 * Source lines of Python frames (see source.h).  Each file is read whole
 * (up to a bound) the first time a frame needs it; its line starts are
 * indexed so every later line is a lookup.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "msg.h"
#include "snapshot.h"
#include "source.h"

/* Larger files are not read: no sane source file is this big. */
#define MAX_SOURCE	(16u << 20)
/* Longer lines are cut, as everything shown is bounded. */
#define MAX_LINE	400

struct source_file {
	char *name;		/* co_filename */
	char *text;		/* NULL when unreadable */
	size_t *line_start;	/* offsets of the lines, 0-based */
	size_t nlines;
};

struct source_cache {
	pid_t pid;
	struct source_file *v;
	size_t n, cap;
};

struct source_cache *source_cache_new(pid_t pid)
{
	struct source_cache *c = xcalloc(1, sizeof(*c));

	c->pid = pid;
	return c;
}

void source_cache_free(struct source_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].text);
		free(c->v[i].line_start);
	}
	free(c->v);
	free(c);
}

static char *read_source(pid_t pid, const char *name, size_t *len)
{
	char *path, *fsname, *text = NULL;
	struct stat st;
	int fd;

	/* Names such as "<string>" or "<frozen importlib._bootstrap>" are not files. */
	if (!name[0] || name[0] == '<')
		return NULL;
	fsname = escape_fs_name(name);
	path = name[0] == '/' ? xasprintf("/proc/%d/root%s", (int)pid, fsname)
			      : xasprintf("/proc/%d/cwd/%s", (int)pid, fsname);
	free(fsname);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	free(path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_SOURCE) {
		size_t got = 0, size = (size_t)st.st_size;
		ssize_t r = 1;

		text = xmalloc(size + 1);
		while (got < size && (r = read(fd, text + got, size - got)) > 0)
			got += (size_t)r;
		text[got] = '\0';
		*len = got;
	}
	close(fd);
	return text;
}

static struct source_file *get_file(struct source_cache *c, const char *name)
{
	struct source_file *f;
	size_t len = 0, cap = 0;

	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name))
			return &c->v[i];
	xgrow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	f = &c->v[c->n++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->text = read_source(c->pid, name, &len);
	if (!f->text)
		return f;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(f->text + pos, '\n', len - pos);

		xgrow(&f->line_start, &cap, f->nlines + 1, sizeof(*f->line_start));
		f->line_start[f->nlines++] = pos;
		pos = nl ? (size_t)(nl - f->text) + 1 : len;
	}
	return f;
}

/* Line n (1-based) without its indentation and trailing space, in snap's arena. */
static const char *line_of(struct snapshot *snap, const struct source_file *f, int n)
{
	const char *s, *e;

	if (!f->text || n < 1 || (size_t)n > f->nlines)
		return NULL;
	s = f->text + f->line_start[n - 1];
	e = strchr(s, '\n');
	if (!e)
		e = s + strlen(s);
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (s == e)
		return NULL;
	return snapshot_strndup(snap, s, (size_t)(e - s) < MAX_LINE ? (size_t)(e - s) : MAX_LINE);
}

void source_annotate(struct source_cache *c, struct snapshot *snap)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct thread *t = &snap->threads[i];

		for (size_t k = 0; k < t->nframes; k++) {
			struct frame *f = &t->frames[k];

			if (f->kind == FRAME_PYTHON && f->file && f->line > 0)
				f->source = line_of(snap, get_file(c, f->file), f->line);
		}
	}
}

/*
 * Source lines of Python frames (see source.h).  A file is not read whole:
 * a line is found by reading from the nearest known line start, every
 * MARK_EVERY-th of which is noted as the reads pass it, and the lines
 * shown are remembered, so a deep recursion or a watch asks the file
 * again for none of them.  A dump reads a few kilobytes of a file, not all
 * of it (every page of memory it would fill first is a page fault).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "msg.h"
#include "proc.h"
#include "snapshot.h"
#include "source.h"

/* Larger files are not read: no sane source file is this big. */
#define MAX_SOURCE	(16u << 20)
/* Longer lines are cut, as everything shown is bounded. */
#define MAX_LINE	400
/* The start of every MARK_EVERY-th line is noted. */
#define MARK_EVERY	64
/* Lines remembered per file (by line number modulo this). */
#define MEMO		64
#define CHUNK		4096

struct source_line {
	int line;		/* 0: the slot is empty */
	char *text;		/* stripped; NULL for a blank line or one past the end */
};

struct source_file {
	char *name;		/* co_filename */
	int fd;			/* open through one annotation, else -1 */
	bool unreadable;	/* not a regular file of a sane size, or not there */
	off_t size;
	off_t *marks;		/* marks[k]: where line k * MARK_EVERY + 1 starts */
	size_t nmarks, capmarks;
	bool marks_done;	/* the last mark before the end is known */
	struct source_line memo[MEMO];
};

/*
 * Buffered reading of a file from an offset.  One buffer serves every
 * lookup of an annotation: lines near each other cost one read between
 * them.
 */
struct reader {
	int fd;			/* of the file whose bytes buf holds, or -1 */
	off_t off;		/* of buf[0] */
	size_t len, pos;
	unsigned char buf[CHUNK];
};

struct source_cache {
	pid_t pid;
	struct source_file *v;
	size_t n, cap;
	struct reader rd;
};

struct source_cache *source_cache_new(pid_t pid)
{
	struct source_cache *c = xcalloc(1, sizeof(*c));

	c->pid = pid;
	c->rd.fd = -1;
	return c;
}

void source_cache_free(struct source_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].marks);
		for (size_t k = 0; k < MEMO; k++)
			free(c->v[i].memo[k].text);
	}
	free(c->v);
	free(c);
}

/* Position rd at off of f, keeping what it holds when off is in it. */
static void reader_at(struct reader *rd, const struct source_file *f, off_t off)
{
	if (rd->fd == f->fd && off >= rd->off && off <= rd->off + (off_t)rd->len) {
		rd->pos = (size_t)(off - rd->off);
		return;
	}
	rd->fd = f->fd;
	rd->off = off;
	rd->len = rd->pos = 0;
}

/* Make unread bytes available; false at the end of the file (or on an error). */
static bool reader_fill(struct reader *rd)
{
	ssize_t got;

	if (rd->pos < rd->len)
		return true;
	rd->off += (off_t)rd->len;
	rd->len = rd->pos = 0;
	got = pread(rd->fd, rd->buf, sizeof(rd->buf), rd->off);
	if (got <= 0)
		return false;
	rd->len = (size_t)got;
	return true;
}

/* The next byte, or -1 at the end. */
static int reader_next(struct reader *rd)
{
	return reader_fill(rd) ? rd->buf[rd->pos++] : -1;
}

/* Pass the next newline; false when the file ends first. */
static bool reader_skip_line(struct reader *rd)
{
	while (reader_fill(rd)) {
		unsigned char *nl = memchr(rd->buf + rd->pos, '\n', rd->len - rd->pos);

		if (nl) {
			rd->pos = (size_t)(nl - rd->buf) + 1;
			return true;
		}
		rd->pos = rd->len;
	}
	return false;
}

static off_t reader_offset(const struct reader *rd)
{
	return rd->off + (off_t)rd->pos;
}

/* Open f for this annotation; false when it cannot be read. */
static bool open_file(struct source_cache *c, struct source_file *f)
{
	char *path, *fsname;
	struct stat st;

	if (f->unreadable)
		return false;
	if (f->fd >= 0)
		return true;
	fsname = escape_fs_name(f->name);
	/* A core's process is gone, and its working directory unknown. */
	path = f->name[0] == '/' ? proc_root_path(c->pid, fsname)
	       : c->pid > 0	 ? xasprintf("/proc/%d/cwd/%s", (int)c->pid, fsname)
				 : NULL;
	free(fsname);
	f->fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
	free(path);
	if (f->fd >= 0 && fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_SOURCE) {
		f->size = st.st_size;
		return true;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->unreadable = true;
	return false;
}

/* Note line starts from the last mark on, until mark k is known or the file ends. */
static void find_mark(struct reader *rd, struct source_file *f, size_t k)
{
	if (!f->nmarks) {
		xgrow(&f->marks, &f->capmarks, 1, sizeof(*f->marks));
		f->marks[f->nmarks++] = 0;
	}
	if (f->marks_done || k < f->nmarks)
		return;
	reader_at(rd, f, f->marks[f->nmarks - 1]);
	while (k >= f->nmarks) {
		size_t left = MARK_EVERY;

		while (left && reader_skip_line(rd))
			left--;
		/* A newline at the very end starts no line. */
		if (left || reader_offset(rd) >= f->size)
			break;
		xgrow(&f->marks, &f->capmarks, f->nmarks + 1, sizeof(*f->marks));
		f->marks[f->nmarks++] = reader_offset(rd);
	}
	if (k >= f->nmarks)
		f->marks_done = true;
}

/* Line n (1-based) of f, stripped of its indentation and trailing space; NULL if blank. */
static char *read_line(struct reader *rd, struct source_file *f, int n)
{
	size_t k = (size_t)(n - 1) / MARK_EVERY, skip = (size_t)(n - 1) % MARK_EVERY, len = 0;
	char text[MAX_LINE];
	int ch = 0;

	find_mark(rd, f, k);
	if (k >= f->nmarks)
		return NULL;
	reader_at(rd, f, f->marks[k]);
	while (skip && reader_skip_line(rd))
		skip--;
	if (skip)
		return NULL;
	/* Leading space is passed over, within the bound of one line's worth. */
	for (size_t lead = 0; (ch = reader_next(rd)) >= 0 && ch != '\n' && lead < 16 * MAX_LINE;
	     lead++)
		if (!isspace(ch))
			break;
	while (ch >= 0 && ch != '\n' && len < MAX_LINE) {
		text[len++] = (char)ch;
		ch = reader_next(rd);
	}
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	return len && !isspace((unsigned char)text[0]) ? xstrndup(text, len) : NULL;
}

static struct source_file *get_file(struct source_cache *c, const char *name)
{
	struct source_file *f;

	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name))
			return &c->v[i];
	xgrow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	f = &c->v[c->n++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->fd = -1;
	/* Names such as "<string>" or "<frozen importlib._bootstrap>" are not files. */
	f->unreadable = !name[0] || name[0] == '<';
	return f;
}

/* Line n of f, in snap's arena; NULL when blank or unreadable. */
static const char *line_of(struct source_cache *c, struct snapshot *snap, struct source_file *f,
			   int n)
{
	struct source_line *m = &f->memo[(size_t)n % MEMO];

	if (m->line != n) {
		if (!open_file(c, f))
			return NULL;
		free(m->text);
		m->text = read_line(&c->rd, f, n);
		m->line = n;
	}
	return m->text ? snapshot_strdup(snap, m->text) : NULL;
}

static void annotate(struct source_cache *c, struct snapshot *snap, struct frame *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct frame *f = &v[k];

		if (f->kind == FRAME_PYTHON && f->file && f->line > 0)
			f->source = line_of(c, snap, get_file(c, f->file), f->line);
	}
}

void source_annotate(struct source_cache *c, struct snapshot *snap)
{
	for (size_t i = 0; i < snap->nthreads; i++)
		annotate(c, snap, snap->threads[i].frames, snap->threads[i].nframes);
	for (size_t i = 0; i < snap->ntasks; i++)
		annotate(c, snap, snap->tasks[i].frames, snap->tasks[i].nframes);
	/* The files are read again only for lines not yet shown: none is held open. */
	c->rd.fd = -1;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].fd >= 0)
			close(c->v[i].fd);
		c->v[i].fd = -1;
	}
}

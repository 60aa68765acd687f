/*
 * Unit tests: source lines (source.h), read from a file of this process
 * the way a target's are, against the lines a plain reading of it gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"
#include "source.h"
#include "unit.h"

/* A snapshot of one thread with a frame at each of the lines, in file. */
static struct snapshot *frames_at(const char *file, const int *lines, size_t n)
{
	struct snapshot *s = snapshot_new(getpid());
	struct thread *t = snapshot_add_thread(s);
	struct frame *f = calloc(n, sizeof(*f));

	for (size_t i = 0; i < n; i++)
		f[i] = (struct frame){ .kind = FRAME_PYTHON, .function = "f", .file = file,
				       .line = lines[i] };
	snapshot_set_frames(s, t, f, n);
	free(f);
	return s;
}

/* What line n of text shows: stripped, cut at 400 bytes, NULL when blank or absent. */
static char *expected(const char *text, int n, char *buf)
{
	const char *s = text, *e;

	for (int i = 1; i < n; i++) {
		s = strchr(s, '\n');
		if (!s)
			return NULL;
		s++;
	}
	if (!*s)
		return NULL;
	e = strchr(s, '\n');
	if (!e)
		e = s + strlen(s);
	while (s < e && strchr(" \t\r\f\v", *s))
		s++;
	if (e - s > 400)
		e = s + 400;
	while (e > s && strchr(" \t\r\f\v", e[-1]))
		e--;
	if (s == e)
		return NULL;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return buf;
}

static void lines_as_written(void)
{
	char path[] = "/tmp/pystack-unit-source-XXXXXX";
	int fd = mkstemp(path);
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap), want[512];
	int lines[600];
	struct source_cache *c = source_cache_new(getpid());

	/* Lines of every length, blank ones, indented ones, CRLF, one longer than the cut,
	 * line starts on both sides of the reader's 4 KB chunks, and no newline at the end. */
	srand(7);
	for (int i = 1; i <= 500; i++) {
		int kind = rand() % 9;

		if (kind == 0)
			len += (size_t)sprintf(text + len, "\n");
		else if (kind == 1)
			len += (size_t)sprintf(text + len, "   \t \n");
		else if (kind == 2)
			len += (size_t)sprintf(text + len, "\t\tindented(%d)  \r\n", i);
		else if (kind == 3 && i % 50 == 3) {
			len += (size_t)sprintf(text + len, "    long = '");
			for (int k = 0; k < 900; k++)
				text[len++] = (char)('a' + k % 26);
			len += (size_t)sprintf(text + len, "'\n");
		} else {
			len += (size_t)sprintf(text + len, "%*sline_%d = %d\n", rand() % 12, "", i,
					       rand());
		}
	}
	len += (size_t)sprintf(text + len, "last_line_without_newline()");
	text[len] = '\0';
	CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
	close(fd);

	/* Out of order, again and again, and past the end. */
	for (int i = 0; i < 600; i++)
		lines[i] = i < 510 ? 510 - i : 1 + rand() % 505;
	for (int round = 0; round < 2; round++) {
		struct snapshot *s = frames_at(path, lines, 600);

		source_annotate(c, s);
		for (int i = 0; i < 600; i++) {
			const char *got = s->threads[0].frames[i].source;
			char *exp = expected(text, lines[i], want);

			if (exp)
				CHECK_STR(got, exp);
			else
				CHECK(got == NULL);
		}
		snapshot_free(s);
	}
	unlink(path);

	/* Not files, or gone: no line, and no harm. */
	{
		int one = 1;
		struct snapshot *s = frames_at("<string>", &one, 1);

		source_annotate(c, s);
		CHECK(s->threads[0].frames[0].source == NULL);
		snapshot_free(s);
		s = frames_at(path, &one, 1);
		source_annotate(c, s);	/* the lines shown stay known... */
		CHECK(s->threads[0].frames[0].source != NULL || expected(text, 1, want) == NULL);
		snapshot_free(s);
		s = frames_at("/nonexistent/pystack/unit.py", &one, 1);
		source_annotate(c, s);	/* ...a file never there has none */
		CHECK(s->threads[0].frames[0].source == NULL);
		snapshot_free(s);
	}
	source_cache_free(c);
	free(text);
}

const struct unit_test source_tests[] = {
	{ "lines read as written, in any order", lines_as_written },
	{ NULL, NULL },
};

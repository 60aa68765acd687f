/*
 * Unit tests: the text and JSON renderers over hand-made snapshots, with
 * native frames merged and apart, notes and errors, and hostile strings.
 */
#include <stdlib.h>

#include "render.h"
#include "snapshot.h"
#include "unit.h"

static char *render(const struct renderer *r, const struct snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	struct render_opts o = { .color = false };

	o.out = open_memstream(&buf, &len);
	r->snapshot(s, &o);
	fclose(o.out);
	return buf;
}

static struct snapshot *sample(void)
{
	struct snapshot *s = snapshot_new(4242);
	struct thread *t = snapshot_add_thread(s);
	struct frame f[2] = {
		{ .kind = FRAME_PYTHON, .function = "handle", .qualname = "Server.handle",
		  .file = "/srv/app/\x1b[2Jserver.py", .line = 120, .source = "with self.lock:" },
		{ .kind = FRAME_PYTHON, .function = "<module>", .file = "/srv/app/main.py", .line = 3 },
	};
	struct frame n[2] = {
		{ .kind = FRAME_NATIVE, .function = "pthread_cond_wait", .offset = 0x1a1,
		  .module = "/usr/lib/x86_64-linux-gnu/libc.so.6", .address = 0x7f0000001234 },
		{ .kind = FRAME_NATIVE, .module = "/opt/libx.so", .address = 0x7f0000005678,
		  .file = "x.c", .line = 9, .inlined = true },
	};

	s->python = "3.12.1";
	s->cmdline = "python3 server.py \x07";
	s->binary = "/usr/lib/libpython3.12.so.1.0";
	s->shared = true;
	s->stopped_ns = 180000;
	t->tid = 4242;
	t->thread_id = 0x7f3a2b1c4740;
	t->main = true;
	t->status = THREAD_IDLE;
	snapshot_set_frames(s, t, f, 2);
	t->native = snapshot_alloc(s, sizeof(n));
	memcpy(t->native, n, sizeof(n));
	t->nnative = 2;
	t->note = "native and Python frames shown apart: 1 eval-loop frame for 2 Python calls";
	t = snapshot_add_thread(s);
	t->tid = 4250;
	t->status = THREAD_RUNNING;	/* no Python: thread_id 0 */
	snapshot_set_frames(s, t, n, 1);
	return s;
}

static void text(void)
{
	struct snapshot *s = sample();
	char *out = render(&render_text, s);

	CHECK(strstr(out, "Process 4242: python3 server.py \\x07\n"));
	CHECK(strstr(out, "Python 3.12.1 (shared libpython, /usr/lib/libpython3.12.so.1.0)\n"));
	CHECK(strstr(out, "Thread 4242 (idle) [pthread 0x7f3a2b1c4740]\n"));
	/* Outermost first; escapes; the source line under its frame. */
	CHECK(strstr(out, "  File \"/srv/app/main.py\", line 3, in <module>\n"
			  "  File \"/srv/app/\\x1b[2Jserver.py\", line 120, in Server.handle\n"
			  "    with self.lock:\n"));
	CHECK(strstr(out, "  Native stack:\n"
			  "  Native 0x7f0000005678 (libx.so) at x.c:9\n"
			  "  Native pthread_cond_wait+0x1a1 (libc.so.6)\n"));
	CHECK(strstr(out, "  (native and Python frames shown apart: 1 eval-loop frame"));
	CHECK(strstr(out, "Thread 4250 (running, no Python)\n"));
	CHECK(!strchr(out, '\x1b') && !strchr(out, '\x07'));
	free(out);
	snapshot_free(s);
}

static void json(void)
{
	struct snapshot *s = sample();
	char *out = render(&render_json, s);

	/* One line, ending in a newline. */
	CHECK(strchr(out, '\n') == out + strlen(out) - 1);
	CHECK(strstr(out, "\"pid\": 4242"));
	CHECK(strstr(out, "\"stopped_us\": 180"));
	CHECK(strstr(out, "\"cmdline\": \"python3 server.py \\u0007\""));
	CHECK(strstr(out, "\"file\": \"/srv/app/\\u001b[2Jserver.py\""));
	CHECK(strstr(out, "\"thread_id\": 139887808104256"));
	CHECK(strstr(out, "\"thread_id\": null"));
	CHECK(strstr(out, "\"native_frames\": [{\"kind\": \"native\", \"function\": \"pthread_cond_wait\", "
			  "\"offset\": 417, \"module\": \"/usr/lib/x86_64-linux-gnu/libc.so.6\", "
			  "\"address\": \"0x7f0000001234\", \"file\": null, \"line\": null, \"inlined\": false}"));
	CHECK(strstr(out, "\"note\": \"native and Python frames shown apart"));
	CHECK(strstr(out, "\"qualname\": \"Server.handle\""));
	CHECK(strstr(out, "{\"kind\": \"python\", \"function\": \"<module>\", \"qualname\": null"));
	free(out);
	snapshot_free(s);
}

static char *render_with(const struct snapshot *s, struct render_opts o)
{
	char *buf = NULL;
	size_t len = 0;

	o.out = open_memstream(&buf, &len);
	render_text.snapshot(s, &o);
	fclose(o.out);
	return buf;
}

/* What a watch adds: how long a stack stayed, the stuck flag, the snapshot's number. */
static void watched(void)
{
	struct snapshot *s = sample();
	char *out;

	s->threads[0].unchanged_s = 12.34;
	s->threads[1].unchanged_s = 0;
	s->threads[1].changed = true;
	s->threads[1].thread_id = 0x10;
	s->seq = 7;
	s->skipped = 2;
	out = render_with(s, (struct render_opts){ .stuck_after = 10 });
	CHECK(strstr(out, "Thread 4242 (idle, unchanged for 12.3s, STUCK) [pthread 0x7f3a2b1c4740]\n"));
	CHECK(strstr(out, "Thread 4250 (running, changed) [pthread 0x10]\n"));
	free(out);
	out = render_with(s, (struct render_opts){ .stuck_after = 0 });
	CHECK(strstr(out, "(idle, unchanged for 12.3s) "));
	free(out);
	out = render(&render_json, s);
	CHECK(strstr(out, "\"snapshot\": 7, \"skipped\": 2"));
	CHECK(strstr(out, "\"unchanged_s\": 12.340, \"changed\": false"));
	CHECK(strstr(out, "\"unchanged_s\": 0.000, \"changed\": true"));
	free(out);
	snapshot_free(s);
}

/* Fitting a screen: the innermost frames only, no source lines. */
static void compact(void)
{
	struct snapshot *s = sample();
	char *out = render_with(s, (struct render_opts){ .max_frames = 1, .hide_source = true });

	CHECK(strstr(out, "  ... 1 outer frame\n"
			  "  File \"/srv/app/\\x1b[2Jserver.py\", line 120, in Server.handle\n"
			  "  Native stack:\n"
			  "  ... 1 outer frame\n"
			  "  Native pthread_cond_wait+0x1a1 (libc.so.6)\n"));
	CHECK(!strstr(out, "with self.lock"));
	CHECK(!strstr(out, "\"unchanged_s\""));
	free(out);
	out = render(&render_json, s);
	CHECK(!strstr(out, "unchanged_s") && !strstr(out, "\"snapshot\""));
	free(out);
	snapshot_free(s);
}

const struct unit_test render_tests[] = {
	{ "render: text", text },
	{ "render: json", json },
	{ "render: watched", watched },
	{ "render: compact", compact },
	{ NULL, NULL },
};

/*
 * The text renderer: each thread reads like a Python traceback, most recent
 * call last, with the source line where it could be read.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "msg.h"
#include "render.h"
#include "snapshot.h"

#define BOLD	"\033[1m"
#define DIM	"\033[2m"
#define RED	"\033[31m"
#define GREEN	"\033[32m"
#define YELLOW	"\033[33m"
#define CYAN	"\033[36m"
#define RESET	"\033[0m"

static void paint(const struct render_opts *o, const char *code)
{
	if (o->color)
		fputs(code, o->out);
}

static const char *status_word(enum thread_status s)
{
	switch (s) {
	case THREAD_RUNNING:
		return "running";
	case THREAD_IDLE:
		return "idle";
	case THREAD_EXITED:
		return "exited: its OS thread is gone";
	case THREAD_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Without a GIL, what is true instead: whether the thread is running Python. */
static const char *attach_words(enum thread_attach a)
{
	switch (a) {
	case ATTACH_ATTACHED:
		return ", attached";
	case ATTACH_DETACHED:
		return ", detached";
	case ATTACH_SUSPENDED:
		return ", suspended";
	case ATTACH_UNKNOWN:
		break;
	}
	return "";
}

/* The build, as the process line says it: "free-threaded, " and whether the GIL came back on. */
static const char *build_words(const struct snapshot *s)
{
	if (!s->free_threaded)
		return "";
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].thread_id && !s->threads[i].no_gil)
			return "free-threaded, GIL enabled at run time, ";
	return "free-threaded, ";
}

static void print_thread_header(const struct thread *t, const struct render_opts *o)
{
	FILE *f = o->out;

	paint(o, BOLD);
	if (t->tid)
		fprintf(f, "Thread %d", (int)t->tid);
	else
		fputs("Thread ?", f);
	if (!t->thread_id) {
		fprintf(f, " (%s, no Python)", status_word(t->status));
		paint(o, RESET);
		fputc('\n', f);
		return;
	}
	if (t->name) {
		fputs(" \"", f);
		escape_text(f, t->name);
		fputc('"', f);
	}
	fprintf(f, " (%s", status_word(t->status));
	if (t->no_gil)
		fprintf(f, "%s", attach_words(t->attach));
	else
		fprintf(f, "%s%s", t->holds_gil ? ", holds GIL" : "",
			t->waits_for_gil ? ", waiting for the GIL" : "");
	fprintf(f, "%s", t->gc ? ", collecting garbage" : "");
	if (t->signo) {
		paint(o, RED);
		fprintf(f, ", took SIG%s", signal_name(t->signo));
		paint(o, RESET);
		paint(o, BOLD);
	}
	if (t->changed) {
		paint(o, GREEN);
		fputs(", changed", f);
		paint(o, RESET);
		paint(o, BOLD);
	}
	else if (t->unchanged_s >= 0)
		fprintf(f, ", unchanged for %.1fs", t->unchanged_s);
	if (o->stuck_after > 0 && t->unchanged_s >= o->stuck_after) {
		paint(o, RED);
		fputs(", STUCK", f);
		paint(o, RESET);
		paint(o, BOLD);
	}
	fputc(')', f);
	fprintf(f, " [pthread 0x%llx]", (unsigned long long)t->thread_id);
	if (t->interp_id > 0)
		fprintf(f, " [interpreter %lld]", t->interp_id);
	paint(o, RESET);
	fputc('\n', f);
}

static const char *basename_of(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* The indent of the lines of a task nested under the task that awaits it. */
static void pad(const struct render_opts *o)
{
	fprintf(o->out, "%*s", (int)o->indent, "");
}

static void print_native(const struct frame *fr, const struct render_opts *o)
{
	FILE *f = o->out;

	pad(o);
	fputs("  Native ", f);
	paint(o, YELLOW);
	if (fr->function) {
		escape_text(f, fr->function);
		if (fr->inlined)
			fputs(" (inlined)", f);
		else if (fr->offset)
			fprintf(f, "+0x%llx", (unsigned long long)fr->offset);
	} else {
		fprintf(f, "0x%llx", (unsigned long long)fr->address);
	}
	paint(o, RESET);
	fputs(" (", f);
	escape_text(f, fr->module ? basename_of(fr->module) : "???");
	fputc(')', f);
	if (fr->file) {
		fputs(" at ", f);
		escape_text(f, fr->file);
		if (fr->line > 0)
			fprintf(f, ":%d", fr->line);
	}
	if (fr->found_by)
		fprintf(f, " (from %s)", fr->found_by);
	fputc('\n', f);
}

/* With --locals: the arguments, then the other variables, one per line. */
static void print_vars(const struct frame *fr, const struct render_opts *o)
{
	FILE *f = o->out;

	if (fr->vars_missing) {
		pad(o);
		paint(o, DIM);
		fputs("    (variables unreadable)\n", f);
		paint(o, RESET);
		return;
	}
	for (int args = 1; args >= 0; args--) {
		bool header = false;

		for (size_t i = 0; i < fr->nvars; i++) {
			const struct variable *v = &fr->vars[i];

			if (v->arg != args)
				continue;
			if (!header) {
				pad(o);
				paint(o, DIM);
				fputs(args ? "    Arguments:\n" : "    Locals:\n", f);
				paint(o, RESET);
				header = true;
			}
			pad(o);
			fputs("      ", f);
			escape_text(f, v->name);
			fputs(" = ", f);
			escape_text(f, v->repr);
			fputc('\n', f);
		}
	}
}

static void print_frame(const struct frame *fr, const struct render_opts *o)
{
	FILE *f = o->out;

	if (fr->kind == FRAME_NATIVE) {
		print_native(fr, o);
		return;
	}

	pad(o);
	fputs("  File ", f);
	paint(o, CYAN);
	fputc('"', f);
	escape_text(f, fr->file ? fr->file : "???");
	fputc('"', f);
	paint(o, RESET);
	if (fr->line > 0)
		fprintf(f, ", line %d, in ", fr->line);
	else
		fputs(", line ???, in ", f);
	paint(o, YELLOW);
	escape_text(f, fr->qualname ? fr->qualname : fr->function ? fr->function : "???");
	paint(o, RESET);
	fputc('\n', f);
	if (fr->source && !o->hide_source) {
		pad(o);
		fputs("    ", f);
		escape_text(f, fr->source);
		fputc('\n', f);
	}
	print_vars(fr, o);
}

/*
 * Whether a frame is the program's own code: a Python frame outside the
 * standard library, installed packages and the import machinery.
 */
static bool program_frame(const struct frame *fr)
{
	const char *file = fr->file;

	return fr->kind == FRAME_PYTHON && file && strncmp(file, "<frozen", 7) &&
	       !strstr(file, "/lib/python") && !strstr(file, "/site-packages/") &&
	       !strstr(file, "/dist-packages/");
}

static void print_left_out(const struct render_opts *o, size_t run, bool outer)
{
	pad(o);
	paint(o, DIM);
	fprintf(o->out, "  ... %zu %sframe%s\n", run, outer ? "outer " : "", run == 1 ? "" : "s");
	paint(o, RESET);
}

/*
 * Frames v[n-1] (outermost) to v[0]; with o->max_frames, only that many:
 * the innermost (where the thread is), then the program's own frames from
 * the innermost out, then the rest, each run of frames left out said.
 */
static void print_frames(const struct frame *v, size_t n, const struct render_opts *o)
{
	size_t budget = o->max_frames && o->max_frames < n ? o->max_frames : n, kept = 1;
	bool *keep;

	if (budget == n) {
		for (size_t k = n; k-- > 0;)
			print_frame(&v[k], o);
		return;
	}
	keep = xcalloc(n, sizeof(*keep));
	keep[0] = true;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 1; k < n && kept < budget; k++)
			if (!keep[k] && (pass || program_frame(&v[k]))) {
				keep[k] = true;
				kept++;
			}
	for (size_t k = n; k-- > 0;) {
		size_t top = k;

		if (keep[k]) {
			print_frame(&v[k], o);
			continue;
		}
		while (k > 0 && !keep[k - 1])
			k--;
		print_left_out(o, top - k + 1, top == n - 1);
	}
	free(keep);
}

/*
 * A watch's word on each descendant that joined or left it since the
 * snapshot before: "process 1234 (python3 worker.py) started, a child of 4242".
 */
static void print_family_events(const struct snapshot *s, FILE *f)
{
	for (size_t i = 0; i < s->nevents; i++) {
		const struct family_event *e = &s->events[i];

		fprintf(f, "process %d (", (int)e->pid);
		escape_text(f, e->cmdline ? e->cmdline : "?");
		if (e->change == FAMILY_STARTED)
			fprintf(f, ") started, a child of %d\n", (int)e->ppid);
		else if (e->change == FAMILY_ENDED)
			fputs(") ended\n", f);
		else
			fputs(") could not be read: no longer watched\n", f);
	}
	if (s->nevents)
		fputc('\n', f);
}

/* What a core says of the process's end. */
static void print_core(const struct core_info *c, FILE *f)
{
	struct tm tm;
	char when[32];

	gmtime_r(&c->written.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs("Core ", f);
	escape_text(f, c->file);
	fprintf(f, ", written %s", when);
	if (c->signo) {
		fprintf(f, "; killed by SIG%s", signal_name(c->signo));
		if (c->signal_tid)
			fprintf(f, " in thread %d", (int)c->signal_tid);
		if (c->has_addr)
			fprintf(f, " at address 0x%llx", (unsigned long long)c->fault_addr);
	}
	fputc('\n', f);
	if (c->truncated)
		fputs("The core is truncated: what it lost is not shown\n", f);
}

/* Tasks nested deeper than this under the tasks awaiting them are not shown. */
#define MAX_TASK_DEPTH 32

/* A task by its name, or (3.7, which has none) by its address. */
static void print_task_name(const struct task *t, FILE *f)
{
	if (!t->name) {
		fprintf(f, "0x%llx", (unsigned long long)t->id);
		return;
	}
	fputc('"', f);
	escape_text(f, t->name);
	fputc('"', f);
}

/*
 * Task i at depth (under the tasks awaiting it), then the tasks it awaits under it.
 * A task already shown (awaited by several, or in a ring) is named, not shown again.
 */
static void print_task(const struct snapshot *s, size_t i, unsigned depth, bool *shown,
		       const struct render_opts *o)
{
	const struct task *t = &s->tasks[i];
	struct render_opts in = *o;
	FILE *f = o->out;

	in.indent = 4 * depth;
	pad(&in);
	paint(o, BOLD);
	fprintf(f, "Task 0x%llx", (unsigned long long)t->id);
	if (t->name) {
		fputc(' ', f);
		print_task_name(t, f);
	}
	paint(o, RESET);
	if (shown[i]) {
		fputs(": shown above\n", f);
		return;
	}
	shown[i] = true;
	fputs(" (pending", f);
	if (t->tid)
		fprintf(f, ", thread %d", (int)t->tid);
	else
		fputs(", its loop runs on no thread", f);
	if (t->current) {
		paint(o, GREEN);
		fputs(", running", f);
		paint(o, RESET);
	}
	if (t->nawaited_by > 1)
		fprintf(f, ", awaited by %zu tasks", t->nawaited_by);
	if (t->unchanged_s >= 0 && o->stuck_after > 0 && t->unchanged_s >= o->stuck_after) {
		paint(o, RED);
		fprintf(f, ", unchanged for %.1fs", t->unchanged_s);
		paint(o, RESET);
	} else if (t->unchanged_s >= 0) {
		fprintf(f, ", unchanged for %.1fs", t->unchanged_s);
	}
	fputs(")\n", f);
	if (!t->nframes && !t->error) {
		pad(&in);
		paint(o, DIM);
		fputs("  (no Python frames)\n", f);
		paint(o, RESET);
	}
	print_frames(t->frames, t->nframes, &in);
	if (t->error) {
		pad(&in);
		paint(o, RED);
		fputs("  (incomplete: ", f);
		escape_text(f, t->error);
		fputs(")\n", f);
		paint(o, RESET);
	}
	if (t->waits_on && !t->nawaiting) {
		pad(&in);
		paint(o, DIM);
		fputs("  Awaiting ", f);
		escape_text(f, t->waits_on);
		fputc('\n', f);
		paint(o, RESET);
	}
	if (depth + 1 >= MAX_TASK_DEPTH && t->nawaiting) {
		pad(&in);
		fprintf(f, "    ... %zu awaited task%s nested deeper\n", t->nawaiting,
			t->nawaiting == 1 ? "" : "s");
		return;
	}
	for (size_t k = 0; k < t->nawaiting; k++)
		print_task(s, t->awaiting[k], depth + 1, shown, o);
}

static void print_tasks(const struct snapshot *s, const struct render_opts *o)
{
	FILE *f = o->out;
	bool *shown = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*shown));

	fputc('\n', f);
	paint(o, BOLD);
	if (!s->asyncio && !s->tasks_error)
		fputs("Asyncio: not imported, no tasks", f);
	else if (s->asyncio)
		fprintf(f, "Asyncio: %zu pending task%s", s->ntasks, s->ntasks == 1 ? "" : "s");
	else
		fputs("Asyncio: not read", f);
	if (s->nloops)
		fprintf(f, " in %zu event loop%s", s->nloops, s->nloops == 1 ? "" : "s");
	paint(o, RESET);
	fputc('\n', f);
	if (s->tasks_error) {
		paint(o, RED);
		fputs("  (", f);
		escape_text(f, s->tasks_error);
		fputs(")\n", f);
		paint(o, RESET);
	}
	for (size_t i = 0; i < s->ndeadlocks; i++) {
		const struct task_cycle *c = &s->deadlocks[i];

		paint(o, RED);
		fputs("Deadlock: ", f);
		for (size_t k = 0; k < c->n; k++) {
			fputs(!k ? "" : k + 1 < c->n ? ", " : " and ", f);
			print_task_name(&s->tasks[c->v[k]], f);
		}
		fputs(" await each other: none of them can finish\n", f);
		paint(o, RESET);
	}
	/* The tasks nobody awaits, each with what it awaits under it; then any left (rings). */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->ntasks; i++)
			if (!shown[i] && (pass || !s->tasks[i].nawaited_by)) {
				fputc('\n', f);
				print_task(s, i, 0, shown, o);
			}
	free(shown);
}

static void text_snapshot(const struct snapshot *s, const struct render_opts *o)
{
	FILE *f = o->out;

	print_family_events(s, f);
	paint(o, BOLD);
	fprintf(f, "Process %d: ", (int)s->pid);
	paint(o, RESET);
	escape_text(f, s->cmdline ? s->cmdline : s->executable ? s->executable : "?");
	fputc('\n', f);
	fprintf(f, "Python %s (%s%s, ", s->python, build_words(s),
		s->shared ? "shared libpython" : "static");
	escape_text(f, s->binary ? s->binary : "?");
	fputs(")\n", f);
	if (s->core)
		print_core(s->core, f);
	if (!s->nthreads)
		fputs("\n(no Python threads)\n", f);
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread *t = &s->threads[i];

		fputc('\n', f);
		print_thread_header(t, o);
		if (!t->nframes && !t->truncated && t->thread_id) {
			paint(o, DIM);
			fputs("  (no Python frames)\n", f);
			paint(o, RESET);
		}
		print_frames(t->frames, t->nframes, o);
		if (t->nnative) {
			paint(o, DIM);
			fputs("  Native stack:\n", f);
			paint(o, RESET);
			print_frames(t->native, t->nnative, o);
		}
		if (t->note) {
			paint(o, DIM);
			fputs("  (", f);
			escape_text(f, t->note);
			fputs(")\n", f);
			paint(o, RESET);
		}
		if (t->error) {
			paint(o, RED);
			fputs("  (incomplete: ", f);
			escape_text(f, t->error);
			fputs(")\n", f);
			paint(o, RESET);
		}
	}
	if (s->tasks_read)
		print_tasks(s, o);
	fputc('\n', f);
}

const struct renderer render_text = {
	.name = "text",
	.snapshot = text_snapshot,
};

const struct renderer *renderer_find(const char *name)
{
	static const struct renderer *const all[] = { &render_text, &render_json, &render_collapsed };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

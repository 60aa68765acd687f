/*
 * The JSON Lines renderer: one object per process per snapshot, on one
 * line, frames innermost first (the schema is in man/pystack.1).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <time.h>

#include "escape.h"
#include "render.h"
#include "snapshot.h"

static void str(FILE *f, const char *key, const char *value)
{
	fprintf(f, "\"%s\": ", key);
	if (!value) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	escape_json(f, value);
	fputc('"', f);
}

/* "locals": every variable by name; "arguments": the names of those that are arguments. */
static void variables(FILE *f, const struct frame *fr)
{
	bool first = true;

	fputs(", \"locals\": {", f);
	for (size_t i = 0; i < fr->nvars; i++) {
		fputs(i ? ", \"" : "\"", f);
		escape_json(f, fr->vars[i].name);
		fputs("\": \"", f);
		escape_json(f, fr->vars[i].repr);
		fputc('"', f);
	}
	fputs("}, \"arguments\": [", f);
	for (size_t i = 0; i < fr->nvars; i++) {
		if (!fr->vars[i].arg)
			continue;
		fputs(first ? "\"" : ", \"", f);
		escape_json(f, fr->vars[i].name);
		fputc('"', f);
		first = false;
	}
	fputc(']', f);
}

static void frame(FILE *f, const struct frame *fr)
{
	fputs(fr->kind == FRAME_PYTHON ? "{\"kind\": \"python\", " : "{\"kind\": \"native\", ", f);
	str(f, "function", fr->function);
	fputs(", ", f);
	if (fr->kind == FRAME_PYTHON) {
		str(f, "qualname", fr->qualname);
		fputs(", ", f);
	} else {
		fprintf(f, "\"offset\": %" PRIu64 ", ", fr->offset);
		str(f, "module", fr->module);
		fprintf(f, ", \"address\": \"0x%" PRIx64 "\", ", fr->address);
	}
	str(f, "file", fr->file);
	if (fr->line > 0)
		fprintf(f, ", \"line\": %d", fr->line);
	else
		fputs(", \"line\": null", f);
	if (fr->kind == FRAME_NATIVE)
		fprintf(f, ", \"inlined\": %s", fr->inlined ? "true" : "false");
	if (fr->found_by)
		fprintf(f, ", \"found_by\": \"%s\"", fr->found_by);
	if (fr->vars_missing)
		fputs(", \"locals\": null", f);
	else if (fr->nvars)
		variables(f, fr);
	fputc('}', f);
}

static const char *status_word(enum thread_status s)
{
	return s == THREAD_RUNNING ? "running" : s == THREAD_IDLE ? "idle" :
	       s == THREAD_EXITED ? "exited" : "unknown";
}

static void frames(FILE *f, const char *key, const struct frame *v, size_t n)
{
	fprintf(f, ", \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		frame(f, &v[i]);
	}
	fputc(']', f);
}

static void thread(FILE *f, const struct thread *t, bool gil_waits_known)
{
	fprintf(f, "{\"tid\": %d, ", (int)t->tid);
	if (t->thread_id)
		fprintf(f, "\"thread_id\": %" PRIu64 ", ", t->thread_id);
	else
		fputs("\"thread_id\": null, ", f);
	str(f, "name", t->name);
	fprintf(f, ", \"main\": %s", t->main ? "true" : "false");
	/* Without a GIL there is nothing to hold or wait for: no claim either way. */
	if (!t->no_gil)
		fprintf(f, ", \"holds_gil\": %s", t->holds_gil ? "true" : "false");
	fprintf(f, ", \"gc\": %s, \"status\": \"%s\"", t->gc ? "true" : "false",
		status_word(t->status));
	if (gil_waits_known && !t->no_gil)
		fprintf(f, ", \"waits_for_gil\": %s", t->waits_for_gil ? "true" : "false");
	if (t->attach != ATTACH_UNKNOWN)
		fprintf(f, ", \"attached\": %s%s", t->attach == ATTACH_ATTACHED ? "true" : "false",
			t->attach == ATTACH_SUSPENDED ? ", \"suspended\": true" : "");
	if (t->interp_id >= 0)
		fprintf(f, ", \"interpreter\": %lld", t->interp_id);
	if (t->unchanged_s >= 0)
		fprintf(f, ", \"unchanged_s\": %.3f, \"changed\": %s", t->unchanged_s,
			t->changed ? "true" : "false");
	if (t->signo)
		fprintf(f, ", \"signal\": \"SIG%s\"", signal_name(t->signo));
	if (t->error) {
		fputs(", ", f);
		str(f, "error", t->error);
	}
	if (t->note) {
		fputs(", ", f);
		str(f, "note", t->note);
	}
	frames(f, "frames", t->frames, t->nframes);
	if (t->nnative)
		frames(f, "native_frames", t->native, t->nnative);
	fputc('}', f);
}

static void ids(FILE *f, const char *key, const struct snapshot *s, const size_t *v, size_t n)
{
	fprintf(f, ", \"%s\": [", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRIu64, i ? ", " : "", s->tasks[v[i]].id);
	fputc(']', f);
}

static void task(FILE *f, const struct snapshot *s, const struct task *t)
{
	static const char *const state[] = {
		[TASK_PENDING] = "pending",
		[TASK_CANCELLED] = "cancelled",
		[TASK_FINISHED] = "finished",
	};

	fprintf(f, "{\"id\": %" PRIu64 ", ", t->id);
	str(f, "name", t->name);
	fprintf(f, ", \"state\": \"%s\", \"loop\": %" PRIu64, state[t->state], t->loop);
	if (t->tid)
		fprintf(f, ", \"thread\": %d", (int)t->tid);
	else
		fputs(", \"thread\": null", f);
	fprintf(f, ", \"current\": %s", t->current ? "true" : "false");
	if (t->unchanged_s >= 0)
		fprintf(f, ", \"unchanged_s\": %.3f, \"changed\": %s", t->unchanged_s,
			t->changed ? "true" : "false");
	fputs(", ", f);
	str(f, "waits_on", t->waits_on);
	if (t->error) {
		fputs(", ", f);
		str(f, "error", t->error);
	}
	ids(f, "awaiting", s, t->awaiting, t->nawaiting);
	ids(f, "awaited_by", s, t->awaited_by, t->nawaited_by);
	frames(f, "frames", t->frames, t->nframes);
	fputc('}', f);
}

/* "tasks" and "deadlocks" (with --tasks). */
static void tasks(FILE *f, const struct snapshot *s)
{
	if (s->tasks_error) {
		fputs(", ", f);
		str(f, "tasks_error", s->tasks_error);
	}
	fputs(", \"tasks\": [", f);
	for (size_t i = 0; i < s->ntasks; i++) {
		if (i)
			fputs(", ", f);
		task(f, s, &s->tasks[i]);
	}
	fputs("], \"deadlocks\": [", f);
	for (size_t i = 0; i < s->ndeadlocks; i++) {
		fputs(i ? ", [" : "[", f);
		for (size_t k = 0; k < s->deadlocks[i].n; k++)
			fprintf(f, "%s%" PRIu64, k ? ", " : "", s->tasks[s->deadlocks[i].v[k]].id);
		fputc(']', f);
	}
	fputc(']', f);
}

/* "events": the descendants that joined or left a watch since the snapshot before. */
static void family_events(FILE *f, const struct snapshot *s)
{
	static const char *const change[] = {
		[FAMILY_STARTED] = "started",
		[FAMILY_ENDED] = "ended",
		[FAMILY_UNREADABLE] = "unreadable",
	};

	fputs(", \"events\": [", f);
	for (size_t i = 0; i < s->nevents; i++) {
		const struct family_event *e = &s->events[i];

		fprintf(f, "%s{\"event\": \"%s\", \"pid\": %d, ", i ? ", " : "", change[e->change],
			(int)e->pid);
		if (e->change == FAMILY_STARTED)
			fprintf(f, "\"ppid\": %d, ", (int)e->ppid);
		str(f, "cmdline", e->cmdline);
		fputc('}', f);
	}
	fputc(']', f);
}

static void json_snapshot(const struct snapshot *s, const struct render_opts *o)
{
	FILE *f = o->out;
	struct tm tm;
	char when[32];

	gmtime_r(&s->when.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "{\"pid\": %d, \"time\": \"%s.%06ldZ\", ", (int)s->pid, when,
		s->when.tv_nsec / 1000);
	str(f, "python", s->python);
	fputs(", ", f);
	str(f, "executable", s->executable);
	fputs(", ", f);
	str(f, "cmdline", s->cmdline);
	fputs(", ", f);
	str(f, "binary", s->binary);
	fprintf(f, ", \"free_threaded\": %s", s->free_threaded ? "true" : "false");
	fprintf(f, ", \"stopped_us\": %" PRIu64 ", \"partial\": %s", s->stopped_ns / 1000,
		s->partial ? "true" : "false");
	if (s->core) {
		gmtime_r(&s->core->written.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fputs(", \"core\": {", f);
		str(f, "file", s->core->file);
		fprintf(f, ", \"written\": \"%sZ\", \"truncated\": %s", when,
			s->core->truncated ? "true" : "false");
		if (s->core->signo)
			fprintf(f, ", \"signal\": \"SIG%s\"", signal_name(s->core->signo));
		if (s->core->signal_tid)
			fprintf(f, ", \"signal_tid\": %d", (int)s->core->signal_tid);
		if (s->core->has_addr)
			fprintf(f, ", \"fault_address\": %" PRIu64, s->core->fault_addr);
		fputc('}', f);
	}
	if (s->seq)
		fprintf(f, ", \"snapshot\": %lu, \"skipped\": %lu", s->seq, s->skipped);
	if (s->nevents)
		family_events(f, s);
	fputs(", \"threads\": [", f);
	for (size_t i = 0; i < s->nthreads; i++) {
		if (i)
			fputs(", ", f);
		thread(f, &s->threads[i], s->gil_waits_known);
	}
	fputc(']', f);
	if (s->tasks_read)
		tasks(f, s);
	fputs("}\n", f);
}

const struct renderer render_json = {
	.name = "json",
	.snapshot = json_snapshot,
};

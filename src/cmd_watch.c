/*
 * pystack watch: a snapshot of one process (and, with --subprocesses, of
 * the Python processes descended from it, each one that starts or ends
 * announced on the named process's snapshot) every interval, on absolute
 * deadlines, until a count or a duration is reached, a signal or the q key
 * arrives, or the process ends.  Each thread's stack is compared with the
 * last one (track.h); snapshots are shown live on a terminal (screen.h) or
 * appended, and aggregated for flame graphs (folded.h, flamegraph.h).
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "flamegraph.h"
#include "folded.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "render.h"
#include "screen.h"
#include "session.h"
#include "snapshot.h"
#include "track.h"

#define NS 1000000000ull
#define DEFAULT_INTERVAL_NS NS
#define DEFAULT_STUCK_NS (10 * NS)
#define MAX_COUNT 1000000000ul
/* Stop times are kept as a histogram in microseconds, the last bucket for the rest. */
#define HIST_US 10000
/* With --subprocesses: how often the process tree is looked at again, and how much of it is read. */
#define FAMILY_NS NS
#define MAX_WATCHED 256

enum {
	OPT_INTERVAL = 'i',
	OPT_COUNT = 'c',
	OPT_DURATION = 'd',
	OPT_FLAMEGRAPH = 0x200,
	OPT_STUCK,
};

struct watch_args {
	struct common_opts common;
	pid_t pid;
	uint64_t interval_ns, duration_ns, stuck_ns;
	unsigned long count;		/* 0: no limit */
	const char *flamegraph;
};

enum output {
	OUT_LIVE,		/* redrawn in place on a terminal */
	OUT_APPEND,		/* text snapshots one after another, with a header */
	OUT_JSON,		/* one line per snapshot */
	OUT_COLLAPSED,		/* the folded stacks of the whole watch, at the end */
};

/* How a watch ended. */
enum ending {
	END_NONE,
	END_DONE,		/* the count or the duration was reached */
	END_SIGNAL,
	END_QUIT,		/* the q key */
	END_EXITED,		/* the process exited */
	END_UNREADABLE,		/* reading failed: the message was printed */
	END_OUTPUT,		/* standard output was closed */
};

/* One process watched: the one named, or one descended from it. */
struct watched {
	pid_t pid;
	pid_t ppid;			/* a descendant's parent when it was found */
	struct session *session;
	struct tracker *tracker;
	struct snapshot *last;		/* its latest snapshot, or NULL */
};

struct watch {
	const struct watch_args *a;
	struct session_opts so;
	enum output out;
	struct render_opts ro;
	struct screen *screen;
	struct watched *procs;		/* procs[0] is the process named */
	size_t nprocs, capprocs;
	struct pidset passed;		/* descendants passed over, while they live */
	uint64_t family_ns;		/* when the descendants were last looked for */
	struct family_event *events;	/* this tick's, for the named process's snapshot */
	size_t nevents, capevents;
	unsigned long family_read;	/* descendants read at least once */
	unsigned long family_started, family_ended;
	struct folded *folded;		/* with --format=collapsed or --flamegraph */
	uint64_t start_ns;		/* the first snapshot, CLOCK_MONOTONIC */
	unsigned long taken, skipped, partial;
	unsigned long lost;		/* descendants that could not be read */
	uint32_t stop_hist[HIST_US + 1];
	uint64_t stop_max_ns;
	sigset_t wait_mask;		/* the signal mask while waiting */
	bool write_failed;		/* standard output failed, not by EPIPE */
	bool progress;			/* a progress line on standard error (a terminal) */
	int fg_fd;			/* the flame graph's temporary file, or -1 */
	char *fg_tmp;
};

static volatile sig_atomic_t stop_signal, resized, suspended;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else if (sig == SIGTSTP)
		suspended = 1;
	else
		stop_signal = sig;
}

static error_t watch_parse(int key, char *arg, struct argp_state *state)
{
	struct watch_args *a = state->input;
	int err;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->common;
		return 0;
	case OPT_INTERVAL:
	case OPT_DURATION:
	case OPT_STUCK:
		err = parse_duration(arg, key == OPT_INTERVAL ? &a->interval_ns :
				     key == OPT_DURATION ? &a->duration_ns : &a->stuck_ns);
		if (err)
			argp_error(state, "invalid duration '%s' for --%s (a number with ns, us, ms, "
				   "s or m: 500ms, 1s, 2m)%s", arg, key == OPT_INTERVAL ? "interval" :
				   key == OPT_DURATION ? "duration" : "stuck",
				   err == -ERANGE ? ": out of range" : "");
		if (key == OPT_DURATION && !a->duration_ns)
			argp_error(state, "--duration must be more than 0");
		return 0;
	case OPT_COUNT:
		err = parse_count(arg, MAX_COUNT, &a->count);
		if (err)
			argp_error(state, "invalid count '%s' for --count (1 to %lu)", arg, MAX_COUNT);
		return 0;
	case OPT_FLAMEGRAPH:
		if (!*arg)
			argp_error(state, "--flamegraph needs a file name");
		a->flamegraph = arg;
		return 0;
	case ARGP_KEY_ARG:
		if (a->pid)
			argp_error(state, "watch reads one process (and with --subprocesses, those below it); "
				   "run one watch per process");
		a->pid = argp_parse_pid(state, arg);
		return 0;
	case ARGP_KEY_END:
		if (!a->pid)
			argp_error(state, "no PID given");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* "1s", "250ms", "1.5s": a duration as the options take it. */
static void format_duration(char *buf, size_t n, uint64_t ns)
{
	if (ns == 0)
		snprintf(buf, n, "0s (back to back)");
	else if (ns % NS == 0)
		snprintf(buf, n, "%llus", (unsigned long long)(ns / NS));
	else if (ns >= NS)
		snprintf(buf, n, "%.3gs", (double)ns / 1e9);
	else if (ns % 1000000 == 0)
		snprintf(buf, n, "%llums", (unsigned long long)(ns / 1000000));
	else
		snprintf(buf, n, "%.3gms", (double)ns / 1e6);
}

static uint64_t stop_median_us(const struct watch *w)
{
	unsigned long seen = 0;

	for (size_t i = 0; i <= HIST_US; i++) {
		seen += w->stop_hist[i];
		if (2 * seen >= w->taken)
			return i;
	}
	return 0;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The descendants watched now: those read at least once. */
static size_t family_now(const struct watch *w)
{
	size_t n = 0;

	for (size_t i = 1; i < w->nprocs; i++)
		n += w->procs[i].last != NULL;
	return n;
}

/* With --subprocesses, " and 13 subprocesses": how many were read over the watch. */
static void family_words(const struct watch *w, char *buf, size_t n)
{
	*buf = '\0';
	if (w->a->common.subprocesses)
		snprintf(buf, n, " and %lu subprocess%s", w->family_read,
			 w->family_read == 1 ? "" : "es");
}

/* The latest snapshot of every process watched, one after the other. */
static char *render_all(const struct watch *w, const struct render_opts *ro)
{
	struct render_opts o = *ro;
	char *buf = NULL;
	size_t len = 0;

	o.out = xopen_memstream(&buf, &len);
	for (size_t i = 0; i < w->nprocs; i++)
		if (w->procs[i].last)
			render_text.snapshot(w->procs[i].last, &o);
	xclose_memstream(o.out);
	return buf;
}

/* The most frames of any thread of the latest snapshots. */
static size_t deepest(const struct watch *w)
{
	size_t most = 1;

	for (size_t i = 0; i < w->nprocs; i++)
		for (size_t k = 0; w->procs[i].last && k < w->procs[i].last->nthreads; k++) {
			const struct thread *t = &w->procs[i].last->threads[k];

			most = t->nframes > most ? t->nframes : most;
			most = t->nnative > most ? t->nnative : most;
		}
	return most;
}

/* A line's text after the escape sequences that paint it. */
static const char *unpainted(const char *line)
{
	while (line[0] == '\033' && line[1] == '[') {
		line += 2;
		while (*line && !(*line >= '@' && *line <= '~'))
			line++;
		if (*line)
			line++;
	}
	return line;
}

/*
 * Keep the first rows - 1 lines of body and say, on the last row, what the
 * rest held: the lines, and the threads and processes that begin in them.
 */
static char *cut_to(char *body, size_t rows)
{
	size_t lines = 0, threads = 0, procs = 0;
	char *p = body, *cut = NULL, *out = NULL;
	size_t len = 0;
	FILE *f;

	for (; *p; lines++) {
		char *eol = strchr(p, '\n');

		if (lines + 1 == rows)
			cut = p;
		if (cut) {
			threads += !strncmp(unpainted(p), "Thread ", 7);
			procs += !strncmp(unpainted(p), "Process ", 8);
		}
		p = eol ? eol + 1 : p + strlen(p);
	}
	if (!cut)
		return body;
	f = xopen_memstream(&out, &len);
	fwrite(body, 1, (size_t)(cut - body), f);
	fprintf(f, "... %zu more line%s", lines - (rows - 1), lines - (rows - 1) == 1 ? "" : "s");
	if (threads || procs) {
		fputs(" (", f);
		if (procs)
			fprintf(f, "%zu process%s%s", procs, procs == 1 ? "" : "es", threads ? ", " : "");
		if (threads)
			fprintf(f, "%zu thread%s", threads, threads == 1 ? "" : "s");
		fputc(')', f);
	}
	fputs(" do not fit: a taller terminal shows them\n", f);
	xclose_memstream(f);
	free(body);
	return out;
}

/*
 * The latest snapshots, made to fit rows: as they are; else without source
 * lines; else with as many frames of each thread as fit (the innermost and
 * the program's own first, see render_text), found by halving; and when
 * not even one frame each fits, cut, with a last line saying what is not
 * shown.
 */
static char *render_fitting(const struct watch *w, size_t rows)
{
	struct render_opts o = w->ro;
	size_t lo = 1, hi;
	char *body = render_all(w, &o), *best = NULL;

	if (count_lines(body) <= rows)
		return body;
	free(body);
	o.hide_source = true;
	body = render_all(w, &o);
	if (count_lines(body) <= rows)
		return body;
	free(body);
	for (hi = deepest(w); lo <= hi;) {
		size_t mid = lo + (hi - lo) / 2;

		o.max_frames = mid;
		body = render_all(w, &o);
		if (count_lines(body) <= rows) {
			free(best);
			best = body;
			lo = mid + 1;
		} else {
			free(body);
			hi = mid - 1;
		}
	}
	if (best)
		return best;
	o.max_frames = 1;
	return cut_to(render_all(w, &o), rows);
}

static void draw(struct watch *w)
{
	char status[512], every[32];
	int rows, cols;
	char *body;

	const struct snapshot *last = w->nprocs ? w->procs[0].last : NULL;
	char others[128] = "";
	size_t now = family_now(w);

	if (!w->screen || !last)
		return;
	screen_size(w->screen, &rows, &cols);
	format_duration(every, sizeof(every), w->a->interval_ns);
	if (now || w->family_read)
		snprintf(others, sizeof(others), " and %zu subprocess%s", now, now == 1 ? "" : "es");
	if (w->family_started || w->family_ended)
		snprintf(others + strlen(others), sizeof(others) - strlen(others),
			 " (%lu started, %lu ended)", w->family_started, w->family_ended);
	snprintf(status, sizeof(status),
		 " pystack watch %d%s, every %s: snapshot %lu, %.1fs, stopped %llu us%s   q: quit",
		 (int)w->a->pid, others, every, w->taken,
		 (double)(monotonic_ns() - w->start_ns) / 1e9,
		 (unsigned long long)(last->stopped_ns / 1000), last->skipped ? " (late)" : "");
	body = render_fitting(w, rows > 1 ? (size_t)rows - 1 : 1);
	screen_draw(w->screen, status, body);
	free(body);
}

/* The line above each appended text snapshot. */
static void print_header(const struct watch *w, const struct snapshot *s, uint64_t at_ns)
{
	struct tm tm;
	char when[64], zone[16];

	localtime_r(&s->when.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	if (w->ro.color)
		fputs("\033[1m", stdout);
	printf("--- snapshot %lu at %s.%03ld %s (+%.3fs", s->seq, when, s->when.tv_nsec / 1000000,
	       zone, (double)(at_ns - w->start_ns) / 1e9);
	if (s->skipped)
		printf("; late: %lu interval%s skipped", s->skipped, s->skipped == 1 ? "" : "s");
	printf(") ---%s\n", w->ro.color ? "\033[0m" : "");
}

/*
 * Show snapshot s (the first of its tick when first), taken at at_ns;
 * false when standard output is gone.  The live view is drawn once the
 * tick's snapshots are all shown.
 */
static bool show(struct watch *w, const struct snapshot *s, uint64_t at_ns, bool first)
{
	switch (w->out) {
	case OUT_LIVE:
		return true;
	case OUT_APPEND:
		if (first)
			print_header(w, s, at_ns);
		render_text.snapshot(s, &w->ro);
		break;
	case OUT_JSON:
		render_json.snapshot(s, &w->ro);
		break;
	case OUT_COLLAPSED:
		/* Nothing to show until the end: say how far the watch is, on a terminal. */
		if (w->progress && first)
			fprintf(stderr, "\rpystack watch %d: %lu snapshot%s, %.1fs (Ctrl-C ends the watch)\033[K",
				(int)w->a->pid, w->taken, w->taken == 1 ? "" : "s",
				(double)(at_ns - w->start_ns) / 1e9);
		return true;
	}
	return fflush(stdout) == 0 && !ferror(stdout);
}

/* Between snapshots: give the terminal back for Ctrl-Z, and redraw after it and on resizes. */
static void handle_terminal(struct watch *w)
{
	if (suspended) {
		suspended = 0;
		if (w->screen) {
			screen_suspend(w->screen);
			kill(getpid(), SIGSTOP);
			screen_resume(w->screen);
			resized = 1;
		}
	}
	if (resized) {
		resized = 0;
		draw(w);
	}
}

/*
 * Wait until deadline (CLOCK_MONOTONIC), or less if the watch is to end.
 * Signals are blocked but while waiting here, so one that arrives during a
 * read is acted on when it is over.
 */
static enum ending wait_until(struct watch *w, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = w->screen ? screen_key_fd(w->screen) : -1, .events = POLLIN };
		uint64_t now = monotonic_ns(), left = deadline > now ? deadline - now : 0;
		struct timespec ts = { .tv_sec = (time_t)(left / NS), .tv_nsec = (long)(left % NS) };

		/* Even with no time left, this takes the signals that arrived meanwhile. */
		if (ppoll(&pfd, pfd.fd >= 0, &ts, &w->wait_mask) > 0 && pfd.revents) {
			int key = screen_key(w->screen);

			if (key == 'q' || key == 'Q')
				return END_QUIT;
		}
		handle_terminal(w);
		if (stop_signal)
			return END_SIGNAL;
		if (monotonic_ns() >= deadline)
			return END_NONE;
	}
}

/* The temporary file the flame graph goes to, made now so a bad path fails early. */
static int flamegraph_prepare(struct watch *w)
{
	mode_t mask = umask(0);

	umask(mask);
	w->fg_tmp = xasprintf("%s.XXXXXX", w->a->flamegraph);
	w->fg_fd = mkstemp(w->fg_tmp);
	if (w->fg_fd < 0) {
		error_msg("cannot write the flame graph %s: %s", w->a->flamegraph, strerror(errno));
		return -1;
	}
	fchmod(w->fg_fd, 0666 & ~mask);
	return 0;
}

static int flamegraph_finish(struct watch *w)
{
	char *title, every[32], family[64];
	const struct folded_entry *v;
	size_t n;
	FILE *f;
	int err;

	if (w->fg_fd < 0)
		return 0;
	f = fdopen(w->fg_fd, "w");
	if (!f) {
		err = -errno;
		close(w->fg_fd);
	} else {
		format_duration(every, sizeof(every), w->a->interval_ns);
		family_words(w, family, sizeof(family));
		title = xasprintf("pystack watch %d%s: %lu snapshot%s, every %s", (int)w->a->pid,
				  family, w->taken, w->taken == 1 ? "" : "s", every);
		v = folded_entries(w->folded, &n);
		err = flamegraph_write(f, v, n, title);
		free(title);
		if (fflush(f) && !err)
			err = -errno;
		if (fclose(f) && !err)
			err = -errno;
	}
	if (!err && rename(w->fg_tmp, w->a->flamegraph))
		err = -errno;
	if (err) {
		unlink(w->fg_tmp);
		error_msg("cannot write the flame graph %s: %s", w->a->flamegraph, strerror(-err));
	}
	w->fg_fd = -1;
	return err;
}

static void watched_add(struct watch *w, pid_t pid, pid_t ppid, struct session *session)
{
	xgrow(&w->procs, &w->capprocs, w->nprocs + 1, sizeof(*w->procs));
	w->procs[w->nprocs++] = (struct watched){
		.pid = pid, .ppid = ppid, .session = session, .tracker = tracker_new(),
	};
}

static void watched_drop(struct watch *w, size_t i)
{
	struct watched *p = &w->procs[i];

	snapshot_free(p->last);
	tracker_free(p->tracker);
	session_close(p->session);
	memmove(p, p + 1, (w->nprocs - i - 1) * sizeof(*p));
	w->nprocs--;
}

static bool watching(const struct watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid == pid)
			return true;
	return false;
}

/*
 * With --subprocesses, at most once a FAMILY_NS: watch the Python
 * processes that are new among the descendants.  One that is no Python
 * process (or is gone, or a zombie) is passed over, and not tried again
 * while it lives; one whose interpreter is not running yet is tried again
 * the next time; one that cannot be read is reported and counts against
 * the exit status.
 */
static void find_family(struct watch *w)
{
	uint64_t now = monotonic_ns();
	struct pidset passed = { 0 };	/* those of w->passed still there */
	pid_t *pids = NULL;
	size_t cap = 0;
	long n;

	if (!w->a->common.subprocesses || (w->family_ns && now - w->family_ns < FAMILY_NS))
		return;
	w->family_ns = now;
	n = proc_descendants(w->a->pid, MAX_WATCHED, &pids, &cap);
	for (long i = 0; i < n && i < MAX_WATCHED; i++) {
		struct session *session;
		struct proc_info info;
		char detail[1024];
		int err;

		if (pids[i] == getpid() || watching(w, pids[i]))
			continue;
		if (pidset_has(&w->passed, pids[i])) {
			pidset_add(&passed, pids[i]);
			continue;
		}
		if (w->nprocs >= MAX_WATCHED)
			continue;
		err = session_open(pids[i], &session, detail, sizeof(detail));
		if (!err) {
			watched_add(w, pids[i], proc_info_read(pids[i], &info) ? 0 : info.ppid, session);
			debug_msg("watching process %d, descended from %d", (int)pids[i], (int)w->a->pid);
			continue;
		}
		if (err == -PS_E_NO_INTERP) {
			debug_msg("process %d, descended from %d, is tried again later: %s",
				  (int)pids[i], (int)w->a->pid, detail);
			continue;
		}
		pidset_add(&passed, pids[i]);
		if (err == -ESRCH || err == -PS_E_GONE || err == -PS_E_ZOMBIE ||
		    err == -PS_E_KTHREAD || err == -PS_E_NOT_PYTHON) {
			debug_msg("passing over process %d, descended from %d: %s", (int)pids[i],
				  (int)w->a->pid, detail);
		} else {
			error_msg("%s", detail);
			w->lost++;
		}
	}
	if (n >= 0) {
		free(w->passed.v);
		w->passed = passed;
	} else {
		free(passed.v);
	}
	free(pids);
}

/* Say, on this tick's snapshot of the named process, that descendant p joined or left the watch. */
static void family_event(struct watch *w, enum family_change change, const struct watched *p)
{
	struct snapshot *named = w->procs[0].last;

	xgrow(&w->events, &w->capevents, w->nevents + 1, sizeof(*w->events));
	w->events[w->nevents++] = (struct family_event){
		.change = change,
		.pid = p->pid,
		.ppid = change == FAMILY_STARTED ? p->ppid : 0,
		.cmdline = snapshot_strdup(named, p->last->cmdline),
	};
}

/* Take one snapshot of process i; the ending, or END_NONE to go on. */
static enum ending take_one(struct watch *w, size_t i, unsigned long skipped, uint64_t at)
{
	struct watched *p = &w->procs[i];
	struct snapshot *snap;
	char detail[1024];
	bool first;
	int err;

	err = session_snapshot(p->session, &w->so, &snap, detail, sizeof(detail));
	if (err == -PS_E_GONE || err == -ESRCH)
		return END_EXITED;
	if ((err == -PS_E_NO_INTERP || err == -PS_E_NOT_PYTHON) && i > 0) {
		/* A subprocess finalised its interpreter (it is ending), or ran exec. */
		debug_msg("%s", detail);
		return END_EXITED;
	}
	if (err) {
		error_msg("%s", detail);
		return END_UNREADABLE;
	}
	snap->seq = w->taken;
	snap->skipped = skipped;
	w->partial += snap->partial > 0;
	w->stop_hist[snap->stopped_ns / 1000 < HIST_US ? snap->stopped_ns / 1000 : HIST_US]++;
	if (snap->stopped_ns > w->stop_max_ns)
		w->stop_max_ns = snap->stopped_ns;
	tracker_update(p->tracker, snap, at);
	if (w->folded)
		folded_add_snapshot(w->folded, snap);
	first = i > 0 && !p->last;
	snapshot_free(p->last);
	p->last = snap;
	if (first) {
		w->family_read++;
		if (w->taken > 1) {
			w->family_started++;
			family_event(w, FAMILY_STARTED, p);
		}
	}
	return END_NONE;
}

/*
 * Descendant i ended (END_EXITED) or became unreadable (then it is not
 * tried again while it lives): it leaves the watch, and the named
 * process's snapshot says so if it was ever shown.  One that ended may be
 * found again, running another program.
 */
static void family_leave(struct watch *w, size_t i, enum ending e)
{
	const struct watched *p = &w->procs[i];

	if (e == END_UNREADABLE) {
		w->lost++;
		pidset_add(&w->passed, p->pid);
	} else {
		debug_msg("process %d ended", (int)p->pid);
	}
	if (p->last) {
		w->family_ended += e != END_UNREADABLE;
		family_event(w, e == END_UNREADABLE ? FAMILY_UNREADABLE : FAMILY_ENDED, p);
	}
	watched_drop(w, i);
}

/*
 * One tick: a snapshot of every process watched, the one named first, then
 * all of them shown.  Its end ends the watch; a descendant that ends or
 * becomes unreadable is dropped (the latter counting against the exit
 * status).
 */
static enum ending take(struct watch *w, unsigned long skipped)
{
	uint64_t at = monotonic_ns();
	struct snapshot *named;
	enum ending e;

	if (!w->taken)
		w->start_ns = at;
	find_family(w);
	w->taken++;
	w->skipped += skipped;
	w->nevents = 0;
	for (size_t i = 0; i < w->nprocs;) {
		e = take_one(w, i, skipped, at);
		if (e == END_NONE) {
			i++;
		} else if (i == 0) {
			w->taken--;	/* nothing of this tick was shown */
			return e;
		} else {
			family_leave(w, i, e);
		}
	}
	named = w->procs[0].last;
	if (w->nevents) {
		struct family_event *v = snapshot_alloc(named, w->nevents * sizeof(*v));

		memcpy(v, w->events, w->nevents * sizeof(*v));
		named->events = v;
		named->nevents = w->nevents;
	}
	for (size_t i = 0; i < w->nprocs; i++) {
		if (show(w, w->procs[i].last, at, i == 0))
			continue;
		/* A reader that has seen enough (head) is no failure. */
		if (errno != EPIPE) {
			error_msg("writing the output failed: %s", strerror(errno));
			w->write_failed = true;
		}
		return END_OUTPUT;
	}
	if (w->out == OUT_LIVE)
		draw(w);
	return END_NONE;
}

static enum ending run(struct watch *w)
{
	const struct watch_args *a = w->a;
	uint64_t k = 0;		/* the deadline of the next snapshot: start + k * interval */
	unsigned long skipped = 0;

	for (;;) {
		enum ending e;
		uint64_t now;

		if (w->taken && (e = wait_until(w, w->start_ns + k * a->interval_ns)) != END_NONE)
			return e;
		e = take(w, skipped);
		if (e != END_NONE)
			return e;
		if (a->count && w->taken >= a->count)
			return END_DONE;
		if (stop_signal)
			return END_SIGNAL;
		now = monotonic_ns() - w->start_ns;
		skipped = 0;
		if (a->interval_ns) {
			/* Late: the deadlines already past are skipped, not caught up with. */
			uint64_t next = now / a->interval_ns + 1;

			if (next > k + 1)
				skipped = (unsigned long)(next - k - 1);
			k = next > k + 1 ? next : k + 1;
		}
		if (a->duration_ns && (a->interval_ns ? k * a->interval_ns : now) >= a->duration_ns) {
			e = wait_until(w, w->start_ns + a->duration_ns);
			return e != END_NONE ? e : END_DONE;
		}
	}
}

static void summary(const struct watch *w, enum ending e)
{
	pid_t tids[4];
	size_t unchanged = 0;
	char how[64], every[32], buf[1024], family[64] = "";
	size_t len = 0;

	for (size_t i = 0; i < w->nprocs && w->taken > 1; i++) {
		size_t have = unchanged < 4 ? unchanged : 4;

		unchanged += tracker_unchanged_throughout(w->procs[i].tracker, tids + have, 4 - have);
	}
	family_words(w, family, sizeof(family));
	switch (e) {
	case END_SIGNAL:
		snprintf(how, sizeof(how), "stopped by SIG%s", sigabbrev_np(stop_signal));
		break;
	case END_QUIT:
		snprintf(how, sizeof(how), "stopped");
		break;
	case END_EXITED:
		snprintf(how, sizeof(how), "process %d exited", (int)w->a->pid);
		break;
	case END_UNREADABLE:
		snprintf(how, sizeof(how), "gave up");
		break;
	default:
		snprintf(how, sizeof(how), "done");
		break;
	}
	format_duration(every, sizeof(every), w->a->interval_ns);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"%s: %lu snapshot%s of process %d%s over %.1fs (every %s", how, w->taken,
				w->taken == 1 ? "" : "s", (int)w->a->pid, family,
				(double)(monotonic_ns() - w->start_ns) / 1e9, every);
	if (w->family_started || w->family_ended)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"; subprocesses: %lu started, %lu ended, %zu at the end",
					w->family_started, w->family_ended, family_now(w));
	if (w->skipped)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "; %lu skipped: reads overran",
					w->skipped);
	if (w->partial)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "; %lu incomplete", w->partial);
	if (w->lost)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "; %lu subprocess%s unreadable",
					w->lost, w->lost == 1 ? "" : "es");
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"); stopped %llu us median, %llu us max",
				(unsigned long long)stop_median_us(w),
				(unsigned long long)(w->stop_max_ns / 1000));
	if (unchanged) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "; unchanged throughout: %s",
					unchanged == 1 ? "thread" : "threads");
		for (size_t i = 0; i < unchanged && i < 4 && len < sizeof(buf); i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %d", i ? "," : "",
						(int)tids[i]);
		if (unchanged > 4 && len < sizeof(buf))
			snprintf(buf + len, sizeof(buf) - len, " and %zu more", unchanged - 4);
	}
	error_msg("%s", buf);
}

static void setup_signals(struct watch *w)
{
	static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		/* Ctrl-Z keeps its usual effect unless the terminal must be given back first. */
		if (handled[i] == SIGTSTP && w->out != OUT_LIVE)
			continue;
		sigaction(handled[i], &sa, NULL);
		sigaddset(&block, handled[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, &w->wait_mask);
}

int cmd_watch(int argc, char **argv)
{
	static const struct argp_option options[] = {
		{ NULL, 0, NULL, 0, "Watching:", 3 },
		{ "interval", OPT_INTERVAL, "DURATION", 0,
		  "time between snapshots (default 1s; 0: as fast as possible)", 3 },
		{ "count", OPT_COUNT, "N", 0, "stop after N snapshots", 3 },
		{ "duration", OPT_DURATION, "DURATION", 0, "stop after this long", 3 },
		{ "stuck", OPT_STUCK, "DURATION", 0,
		  "flag threads whose stack has not changed for this long (default 10s; 0: never)", 3 },
		{ "flamegraph", OPT_FLAMEGRAPH, "FILE", 0,
		  "at the end, write an interactive SVG flame graph of every snapshot to FILE", 3 },
		{ 0 }
	};
	static const struct argp_child children[] = {
		{ &common_argp, 0, NULL, 0 }, { &live_argp, 0, NULL, 0 }, { 0 }
	};
	static const struct argp watch_argp = {
		.options = options,
		.parser = watch_parse,
		.args_doc = "PID",
		.doc = "Take a snapshot of a Python process every interval, and show how long each "
		       "thread's stack has stayed the same.  On a terminal the view is redrawn in "
		       "place (q or Ctrl-C to stop); otherwise snapshots are appended.\v"
		       "Durations: a number with ns, us, ms, s or m (500ms, 1s, 2m); a bare number "
		       "is seconds.\n\n"
		       "Examples:\n"
		       "  pystack watch 4242                         every second, until Ctrl-C\n"
		       "  pystack watch -i 100ms -d 30s --flamegraph out.svg 4242\n"
		       "  pystack watch --json -c 10 4242 > snaps.jsonl\n"
		       "  pystack watch --format=collapsed -i 10ms -d 1m 4242 | flamegraph.pl > fg.svg\n\n"
		       "Exit status: 0 the watch ran to its end (count, duration, Ctrl-C, SIGTERM, "
		       "SIGHUP, q, or the process exited) and every snapshot was complete; 1 some "
		       "snapshot was incomplete, the process became unreadable, or the flame graph "
		       "could not be written; 2 nothing shown; 64 usage error.",
		.children = children,
	};
	struct watch_args a = {
		.common = COMMON_OPTS_DEFAULT,
		.interval_ns = DEFAULT_INTERVAL_NS,
		.stuck_ns = DEFAULT_STUCK_NS,
	};
	struct watch w = { .a = &a, .fg_fd = -1 };
	struct session *session;
	const struct renderer *r;
	char detail[1024];
	enum ending e;
	int status;

	if (reject_negative_pid(&watch_argp, argc, argv))
		return EXIT_USAGE;
	argp_parse(&watch_argp, argc, argv, 0, NULL, &a);
	r = renderer_find(a.common.format);
	if (r == &render_json)
		w.out = OUT_JSON;
	else if (r == &render_collapsed)
		w.out = OUT_COLLAPSED;
	else if (isatty(STDOUT_FILENO) && !(getenv("TERM") && !strcmp(getenv("TERM"), "dumb")))
		w.out = OUT_LIVE;
	else
		w.out = OUT_APPEND;
	w.ro = (struct render_opts){
		.out = stdout,
		.color = r == &render_text && color_enabled(a.common.color, STDOUT_FILENO),
		.stuck_after = (double)a.stuck_ns / 1e9,
	};
	w.so = (struct session_opts){
		.nonblocking = a.common.nonblocking,
		.source_lines = r == &render_text,
		.locals = a.common.locals,
		.tasks = a.common.tasks,
		.native = a.common.native,
	};
	/* From here a signal waits for the watch's next pause: the first snapshot is always taken. */
	setup_signals(&w);
	if (session_open(a.pid, &session, detail, sizeof(detail))) {
		error_msg("%s", detail);
		return EXIT_NOTHING;
	}
	watched_add(&w, session_pid(session), 0, session);
	if (a.flamegraph && flamegraph_prepare(&w)) {
		free(w.fg_tmp);
		watched_drop(&w, 0);
		free(w.procs);
		return EXIT_NOTHING;
	}
	if (w.out == OUT_COLLAPSED || a.flamegraph)
		w.folded = folded_new();
	if (w.out == OUT_LIVE)
		w.screen = screen_open(stdout, true);
	w.progress = w.out == OUT_COLLAPSED && isatty(STDERR_FILENO) &&
		     !(getenv("TERM") && !strcmp(getenv("TERM"), "dumb"));

	e = run(&w);

	if (w.progress && w.taken)
		fputs("\r\033[K", stderr);
	if (w.screen) {
		screen_close(w.screen);
		w.screen = NULL;
		/* The last view stays on the terminal, in full. */
		for (size_t i = 0; i < w.nprocs; i++)
			if (w.procs[i].last)
				render_text.snapshot(w.procs[i].last, &w.ro);
	}
	if (w.out == OUT_COLLAPSED && w.taken)
		folded_write(w.folded, stdout);
	if ((fflush(stdout) || ferror(stdout)) && e != END_OUTPUT) {
		if (errno != EPIPE) {
			error_msg("writing the output failed: %s", strerror(errno));
			w.write_failed = true;
		}
		e = END_OUTPUT;
	}
	status = w.partial || w.lost || w.write_failed || e == END_UNREADABLE ? EXIT_PARTIAL : EXIT_ALL;
	if (!w.taken) {
		if (e == END_EXITED)
			error_msg("process %d exited before the first snapshot", (int)a.pid);
		status = EXIT_NOTHING;
		if (w.fg_fd >= 0) {
			close(w.fg_fd);
			unlink(w.fg_tmp);
			w.fg_fd = -1;
		}
	} else if (e != END_OUTPUT) {
		summary(&w, e);
	}
	if (flamegraph_finish(&w))
		status = EXIT_PARTIAL;
	free(w.fg_tmp);
	while (w.nprocs)
		watched_drop(&w, w.nprocs - 1);
	free(w.procs);
	free(w.passed.v);
	free(w.events);
	folded_free(w.folded);
	return status;
}

/*
 * Sessions: the state kept between snapshots of one process, and the
 * sequence of one snapshot: stop, read, resume (see session.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "corefile.h"
#include "errors.h"
#include "msg.h"
#include "native.h"
#include "proc.h"
#include "pycode.h"
#include "pyread.h"
#include "pytasks.h"
#include "pyruntime.h"
#include "pythreading.h"
#include "rmem.h"
#include "session.h"
#include "snapshot.h"
#include "source.h"
#include "target.h"

/* Attempts at a consistent read without stopping the target. */
#define NONBLOCKING_TRIES 3

struct session {
	pid_t pid;		/* the process */
	pid_t io;		/* a live thread of it, for /proc and memory */
	bool other_pidns;	/* it lives in another PID namespace (a container) */
	struct maps maps;
	struct rmem *mem;
	struct pyruntime rt;
	struct pycode_cache *codes;
	uint64_t gen;
	char *exe, *cmdline;
	char comm[64];			/* the process's name as the kernel keeps it */
	struct source_cache *sources;
	struct native *native;		/* set up on the first native snapshot */
	struct registry {		/* each interpreter's threading._active, once found */
		uint64_t interp, active;
	} *registries;
	size_t nregistries, capregistries;
	unsigned long snapshots;	/* taken so far */
	struct corefile *core;		/* read from a core dump, not a live process */
	char *core_path;
};

/* Whether pid has exited (or is exiting) by now: then that explains any failure. */
static bool exited(pid_t pid)
{
	struct proc_info info;

	if (proc_info_read(pid, &info) || info.exiting)
		return true;
	return (info.state == 'Z' || info.state == 'X') && !proc_live_thread(pid);
}

/* Translate a failure of the process checks or the locate step into words. */
static int explain(pid_t pid, int err, const struct proc_info *info, char *detail, size_t n)
{
	if (err != -ESRCH && err != -PS_E_KTHREAD && err != -PS_E_ZOMBIE && exited(pid)) {
		snprintf(detail, n, "process %d exited while it was being read", (int)pid);
		return -PS_E_GONE;
	}
	switch (-err) {
	case ESRCH:
	case PS_E_GONE:
		snprintf(detail, n, "no process with PID %d (it may have exited; check with ps)",
			 (int)pid);
		return -ESRCH;
	case EPERM:
	case EACCES:
		target_explain_eperm(pid, detail, n);
		return -EPERM;
	case PS_E_KTHREAD:
		snprintf(detail, n, "PID %d is a kernel thread (%s), not a Python process",
			 (int)pid, info->comm);
		return err;
	case PS_E_ZOMBIE:
		snprintf(detail, n, "process %d (%s) has exited and is a zombie waiting for its "
			 "parent (PID %d) to reap it: there is nothing left to read",
			 (int)pid, info->comm, (int)info->ppid);
		return err;
	default:
		if (!detail[0])
			snprintf(detail, n, "process %d: %s", (int)pid, ps_strerror(err));
		return err;
	}
}

int session_open(pid_t pid, struct session **out, char *detail, size_t ndetail)
{
	struct session *s;
	struct proc_info info;
	char why[512];
	pid_t io = pid;
	int err;

	detail[0] = '\0';
	err = proc_info_read(pid, &info);
	if (!err && info.tgid > 0 && info.tgid != pid) {
		debug_msg("%d is a thread of process %d: reading the whole process", (int)pid,
			  (int)info.tgid);
		pid = io = info.tgid;
		err = proc_info_read(pid, &info);
	}
	if (!err && info.kthread)
		err = -PS_E_KTHREAD;
	else if (!err && (info.state == 'Z' || info.state == 'X')) {
		/* The main thread may have exited while the others run on. */
		io = proc_live_thread(pid);
		if (!io)
			err = -PS_E_ZOMBIE;
		else
			debug_msg("pid %d: the main thread has exited; reading through thread %d",
				  (int)pid, (int)io);
	}
	if (err)
		return explain(pid, err, &info, detail, ndetail);

	s = xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->io = io;
	err = maps_read(io, &s->maps);
	if (!err && s->maps.n == 0)
		err = -PS_E_NOT_PYTHON;
	if (err) {
		session_close(s);
		if (err == -PS_E_NOT_PYTHON && !exited(pid)) {
			snprintf(detail, ndetail, "process %d (%s) is not a Python process: it maps "
				 "no files", (int)pid, info.comm);
			return err;
		}
		return explain(pid, err, &info, detail, ndetail);
	}
	s->mem = rmem_live_new(io);
	s->exe = proc_exe(io);
	err = pyruntime_locate(io, s->exe, &s->maps, s->mem, &s->rt, why, sizeof(why));
	if (err) {
		session_close(s);
		if (err == -PS_E_NOT_PYTHON)
			snprintf(detail, ndetail, "process %d (%s) is not a Python process: %s",
				 (int)pid, info.comm, why);
		else if (err != -EPERM && err != -PS_E_GONE)
			snprintf(detail, ndetail, "process %d (%s): %s", (int)pid, info.comm, why);
		return explain(pid, err, &info, detail, ndetail);
	}
	s->codes = pycode_cache_new();
	s->sources = source_cache_new(io);
	s->other_pidns = proc_other_pidns(io);
	snprintf(s->comm, sizeof(s->comm), "%s", info.comm);
	s->cmdline = proc_cmdline(io);
	debug_msg("pid %d: Python %s in %s (%s, %s); layout %s; interpreters found by %s",
		  (int)pid, s->rt.version, s->rt.binary, s->rt.shared ? "shared" : "static",
		  s->rt.stripped ? "stripped" : "with .symtab", s->rt.layout, s->rt.found_by);
	*out = s;
	return 0;
}

/* A build ID for a message: "none" when there is none, "none (not ELF)" for another kind of file. */
static const char *shown_id(const char *id, bool not_elf)
{
	return id[0] ? id : not_elf ? "none (not an ELF file)" : "none";
}

/*
 * Check the files the core's process had mapped against those here (under
 * sysroot): the reader then leaves out those that differ (core_warn_files()
 * says which); an error when exe (the EXECUTABLE argument) is not the
 * program the process ran.
 */
static int core_check_files(struct session *s, const char *path, const char *exe,
			    const char *sysroot, char *detail, size_t ndetail)
{
	struct core_file_check own;
	const struct core_file_check *chk;
	size_t i;

	corefile_check_files(s->core, sysroot);
	if (!exe)
		return 0;
	/* A path the core names was checked as such; another file stands for its executable. */
	i = corefile_path_index(s->core, exe);
	if (i != SIZE_MAX) {
		chk = corefile_check(s->core, i);
	} else {
		int err = corefile_check_file(s->core, NULL, exe, &own);

		if (err) {
			snprintf(detail, ndetail, "%s: %s: cannot open it: %s", path, exe,
				 strerror(-err));
			return err;
		}
		chk = &own;
	}
	if (chk->state != CORE_FILE_DIFFERENT)
		return 0;
	snprintf(detail, ndetail, "%s: %s does not match the core (build ID %s in the core, %s in "
		 "%s%s): name the program the process ran", path, exe, chk->core_id,
		 shown_id(chk->file_id, chk->not_elf), i != SIZE_MAX && sysroot ? sysroot : "", exe);
	return -PS_E_MISMATCH;
}

/* A warning for each file that differs from the one the core's process had mapped. */
static void core_warn_files(struct session *s, const char *sysroot)
{
	for (size_t i = 0; i < corefile_npaths(s->core); i++) {
		const struct core_file_check *chk = corefile_check(s->core, i);

		if (chk->state == CORE_FILE_DIFFERENT)
			error_msg("warning: %s%s is not the file the process had mapped (build ID %s "
				  "in the core, %s here): its bytes are not used; %s",
				  sysroot ? sysroot : "", corefile_path(s->core, i), chk->core_id,
				  shown_id(chk->file_id, chk->not_elf),
				  sysroot ? "copy there the one from the machine the core came from"
					  : "use --sysroot with the files from the machine the core "
					    "came from");
	}
}

/*
 * Whether the file that holds the interpreter (binary, NULL when none was
 * found: then the executable or a libpython) is not the one the process
 * had mapped: then its symbols say nothing about the core, and detail says so.
 */
static bool core_interpreter_differs(struct session *s, const char *binary, const char *path,
				     const char *sysroot, char *detail, size_t ndetail)
{
	for (size_t i = 0; i < corefile_npaths(s->core); i++) {
		const struct core_file_check *chk = corefile_check(s->core, i);
		const char *name = corefile_path(s->core, i), *base = strrchr(name, '/');
		bool holds = binary ? !strcmp(binary, name) :
			     (s->exe && !strcmp(s->exe, name)) ||
			     !strncmp(base ? base + 1 : name, "libpython", 9);

		if (chk->state != CORE_FILE_DIFFERENT || !holds)
			continue;
		snprintf(detail, ndetail, "%s: %s%s, which holds the interpreter, does not match the "
			 "core (build ID %s in the core, %s here): %s", path, sysroot ? sysroot : "",
			 name, chk->core_id, shown_id(chk->file_id, chk->not_elf),
			 sysroot ? "copy there the one from the machine the core came from"
				    : "use --sysroot with the files from the machine the core came from");
		return true;
	}
	return false;
}

int session_open_core(const char *path, const char *exe, const char *sysroot,
		      struct session **out, char *detail, size_t ndetail)
{
	struct session *s;
	char why[512];
	int err;

	s = xcalloc(1, sizeof(*s));
	err = corefile_open(path, &s->core, why, sizeof(why));
	if (err) {
		snprintf(detail, ndetail, "%s: %s", path, why);
		session_close(s);
		return err;
	}
	s->core_path = xstrdup(path);
	s->pid = corefile_pid(s->core);
	proc_set_sysroot(sysroot);
	err = corefile_maps(s->core, &s->maps);
	if (err) {
		snprintf(detail, ndetail, "%s: the maps it records cannot be read: %s", path,
			 ps_strerror(err));
		session_close(s);
		return err;
	}
	s->mem = rmem_core_new(s->core, sysroot);
	err = core_check_files(s, path, exe, sysroot, detail, ndetail);
	if (err) {
		session_close(s);
		return err;
	}
	if (!exe)
		exe = corefile_exe(s->core);
	s->exe = exe ? xstrdup(exe) : NULL;
	snprintf(s->comm, sizeof(s->comm), "%s", corefile_comm(s->core));
	s->cmdline = corefile_command(s->core)[0] ? xstrdup(corefile_command(s->core)) : NULL;
	/* pid 0: the files are opened as they are here (or under sysroot), not through /proc. */
	err = pyruntime_locate(0, s->exe, &s->maps, s->mem, &s->rt, why, sizeof(why));
	if (core_interpreter_differs(s, err ? NULL : s->rt.binary, path, sysroot, detail, ndetail)) {
		session_close(s);
		return -PS_E_MISMATCH;
	}
	core_warn_files(s, sysroot);
	if (err) {
		if (err == -PS_E_NOT_PYTHON)
			snprintf(detail, ndetail, "%s: a core of process %d (%s), which was not a "
				 "Python process: %s", path, (int)s->pid, s->comm, why);
		else
			snprintf(detail, ndetail, "%s: a core of process %d (%s): %s", path,
				 (int)s->pid, s->comm, why[0] ? why : ps_strerror(err));
		session_close(s);
		return err == -PS_E_GONE ? -PS_E_BAD_READ : err;
	}
	s->codes = pycode_cache_new();
	s->sources = source_cache_new(0);
	debug_msg("%s: a core of pid %d: Python %s in %s (%s, %s); layout %s; interpreters found "
		  "by %s", path, (int)s->pid, s->rt.version, s->rt.binary,
		  s->rt.shared ? "shared" : "static", s->rt.stripped ? "stripped" : "with .symtab",
		  s->rt.layout, s->rt.found_by);
	*out = s;
	return 0;
}

/* Whether a signal's default action ends the process with a core (signal(7)). */
static bool dumps_core(int signo)
{
	switch (signo) {
	case SIGABRT:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGQUIT:
	case SIGSEGV:
	case SIGSYS:
	case SIGXCPU:
	case SIGXFSZ:
		return true;
	default:
		return false;
	}
}

/* A snapshot of the process a core holds: its threads are as the core left them. */
static int snapshot_core(struct session *s, const struct session_opts *opts,
			 struct snapshot *snap, char *detail, size_t n)
{
	struct pyread r = {
		.pid = s->pid, .mem = s->mem, .rt = &s->rt, .codes = s->codes, .gen = ++s->gen,
		.locals = opts->locals,
	};
	struct core_info *ci = snapshot_alloc(snap, sizeof(*ci));
	struct stat st;
	int err;

	ci->file = snapshot_strdup(snap, s->core_path);
	if (stat(s->core_path, &st) == 0)
		ci->written = st.st_mtim;
	/* gcore records the stop it made (SIGSTOP, SIGTRAP): only a signal that dumps core ended it. */
	if (corefile_siginfo(s->core, &ci->signo, &ci->fault_addr) && dumps_core(ci->signo))
		ci->has_addr = ci->fault_addr != 0;
	else
		ci->signo = 0;
	for (size_t i = 0; i < corefile_nthreads(s->core); i++)
		if (ci->signo && corefile_thread(s->core, i)->cursig == ci->signo && !ci->signal_tid)
			ci->signal_tid = corefile_thread(s->core, i)->tid;
	ci->truncated = corefile_truncated(s->core);
	if (ci->truncated)
		snap->partial++;
	snap->core = ci;
	snap->when = ci->written;
	r.target = target_of_core(s->core);
	err = s->rt.heads_unconfirmed ? pyruntime_confirm(s->mem, &s->rt) : 0;
	if (!err)
		err = pyread_snapshot(&r, snap);
	if (!err && opts->tasks)
		pytasks_finish(pytasks_read(&r, snap), &r, snap);
	if (!err && opts->native)
		native_unwind(s->native, r.target);
	pyread_lines(&r, snap);
	if (!err && opts->native)
		native_merge(s->native, snap, opts->native);
	target_resume(r.target);
	target_free(r.target);
	for (size_t i = 0; i < snap->nthreads; i++)
		if (ci->signal_tid && snap->threads[i].tid == ci->signal_tid)
			snap->threads[i].signo = ci->signo;
	if (err == -PS_E_GONE)
		err = -PS_E_BAD_READ;	/* a core does not exit: what is missing is unreadable */
	if (err == -PS_E_NO_INTERP)
		snprintf(detail, n, "%s: Python %s had no interpreter to read when the core was "
			 "written (starting up, or shutting down)", s->core_path, s->rt.version);
	else if (err)
		snprintf(detail, n, "%s: reading Python %s failed: %s", s->core_path, s->rt.version,
			 ps_strerror(err));
	return err;
}

const struct pyruntime *session_runtime(const struct session *s)
{
	return &s->rt;
}

pid_t session_pid(const struct session *s)
{
	return s->pid;
}

static struct snapshot *new_snapshot(const struct session *s)
{
	struct snapshot *snap = snapshot_new(s->pid);

	snap->python = snapshot_strdup(snap, s->rt.version);
	snap->executable = snapshot_strdup(snap, s->exe);
	snap->cmdline = snapshot_strdup(snap, s->cmdline);
	snap->binary = snapshot_strdup(snap, s->rt.binary);
	snap->shared = s->rt.shared;
	snap->free_threaded = s->rt.free_threaded;
	return snap;
}

/* Explain a failed read; returns the error to report. */
static int read_failed(const struct session *s, int err, char *detail, size_t n)
{
	if (err == -PS_E_GONE || exited(s->pid)) {
		snprintf(detail, n, "process %d exited while it was being read", (int)s->pid);
		return -PS_E_GONE;
	}
	if (err == -EPERM)
		target_explain_eperm(s->pid, detail, n);
	else if (err == -PS_E_NO_INTERP)
		snprintf(detail, n, "process %d: Python %s is not initialised yet, or is shutting "
			 "down: no interpreter to read", (int)s->pid, s->rt.version);
	else
		snprintf(detail, n, "process %d: reading Python %s failed: %s", (int)s->pid,
			 s->rt.version, ps_strerror(err));
	return err;
}

/* Where the interpreter's binary starts in maps, or 0. */
static uint64_t binary_start(const struct maps *maps, const char *binary)
{
	for (size_t i = 0; i < maps->nfiles; i++)
		if (!strcmp(maps->files[i].first->path, binary))
			return maps->files[i].first->start;
	return 0;
}

/*
 * The top of the main thread's stack, or 0: fixed for the life of a
 * program (the stack grows down from it), placed anew by exec (at random,
 * where address space layout randomisation is on, as it is by default).
 */
static uint64_t stack_top(const struct maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].path && !strcmp(maps->v[i].path, "[stack]"))
			return maps->v[i].end;
	return 0;
}

/*
 * Between snapshots, follow changes to the maps.  Anonymous mappings come
 * and go all the time (the allocator's arenas): the new maps replace the
 * old in place, and all that was learnt of the files holds.  When files
 * came or went (a library loaded), the native state is rebuilt on the next
 * native snapshot.  When the interpreter's own binary or the top of the
 * stack moved, the process runs another program now (it called exec: a
 * static interpreter that is no position-independent executable is mapped
 * where it was, its new stack is not).
 */
static int refresh(struct session *s, char *detail, size_t n)
{
	struct maps fresh;
	int err = maps_reread(s->io, &s->maps, &fresh);

	if (err <= 0)
		return err ? read_failed(s, err, detail, n) : 0;
	if (binary_start(&fresh, s->rt.binary) != binary_start(&s->maps, s->rt.binary) ||
	    stack_top(&fresh) != stack_top(&s->maps)) {
		maps_free(&fresh);
		/* An exiting process unmaps everything. */
		if (exited(s->pid))
			return read_failed(s, -PS_E_GONE, detail, n);
		snprintf(detail, n, "process %d no longer runs the Python it ran (it called exec, "
			 "or unloaded %s): start again to read the new program", (int)s->pid,
			 s->rt.binary);
		return -PS_E_NOT_PYTHON;
	}
	if (!maps_same_files(&s->maps, &fresh) && s->native) {
		debug_msg("pid %d: mapped files changed; native state rebuilt", (int)s->pid);
		native_free(s->native);
		s->native = NULL;
	}
	maps_free(&s->maps);
	s->maps = fresh;
	return 0;
}

static void prepass(struct session *s, const struct session_opts *opts)
{
	struct pyread r = {
		.pid = s->pid, .mem = s->mem, .rt = &s->rt, .codes = s->codes, .gen = s->gen++,
		.prepass = true, .locals = opts->locals,
	};
	struct snapshot *scratch = snapshot_new(s->pid);

	rmem_set_recording(s->mem, true);
	pyread_snapshot(&r, scratch);
	rmem_set_recording(s->mem, false);
	snapshot_free(scratch);
}

static int snapshot_stopped(struct session *s, const struct session_opts *opts,
			    struct snapshot *snap, char *detail, size_t n)
{
	struct pyread r = {
		.pid = s->pid, .mem = s->mem, .rt = &s->rt, .codes = s->codes, .locals = opts->locals,
	};
	uint64_t stopping, held, detaching;
	struct rmem_stats before, held_reads;
	struct pytasks *tasks = NULL;
	struct tidmap tids = { 0 };
	struct proc_info info;
	struct target *t;
	int err;

	if (s->other_pidns && !proc_tid_map(s->pid, &tids))
		r.tids = &tids;
	/*
	 * Read the running process first, noting what the walk fetches; once
	 * stopped, all of it comes back in one vectored read and the stopped
	 * walk is served from the cache.  Only the stopped walk is kept.
	 */
	prepass(s, opts);
	err = target_stop(s->pid, &t);
	if (err == -EPERM && proc_info_read(s->pid, &info) == 0 && info.tracer)
		err = -PS_E_TRACED;
	if (err == -EPERM || err == -PS_E_TRACED) {
		free(tids.v);
		target_explain_eperm(s->pid, detail, n);
		return err;
	}
	if (err) {
		free(tids.v);
		return read_failed(s, err, detail, n);
	}
	clock_gettime(CLOCK_REALTIME, &snap->when);
	before = *rmem_stats(s->mem);
	rmem_invalidate(s->mem);
	rmem_replay(s->mem);
	r.target = t;
	r.gen = s->gen;
	/* Threads the map (made before the stop, to keep it short) missed: born since, or unlisted. */
	for (size_t i = 0; r.tids && i < target_nthreads(t); i++)
		if (!tidmap_knows(&tids, target_thread(t, i)->tid))
			proc_tid_map_add(s->pid, target_thread(t, i)->tid, &tids);
	if (!target_settled(t)) {
		snap->partial++;
		debug_msg("pid %d: threads kept appearing or dying through every rescan; "
			  "one may have run on during the read", (int)s->pid);
	}
	for (size_t i = 0; i < target_nthreads(t); i++)
		if (!target_thread(t, i)->stopped)
			debug_msg("pid %d tid %d did not stop in time (state %c); read anyway",
				  (int)s->pid, (int)target_thread(t, i)->tid, target_thread(t, i)->state);
	/* Held, the thread list cannot change under the reads: a dead-looking
	 * interpreter that the scan found is judged for good now. */
	err = s->rt.heads_unconfirmed ? pyruntime_confirm(s->mem, &s->rt) : 0;
	if (!err)
		err = pyread_snapshot(&r, snap);
	if (!err && opts->tasks)
		tasks = pytasks_read(&r, snap);
	if (!err && opts->native)
		native_unwind(s->native, t);
	target_resume(t);
	held_reads = *rmem_stats(s->mem);
	snap->stopped_ns = target_stopped_ns(t);
	/* The code objects of the tasks' frames, and who awaits whom: after the detach. */
	pytasks_finish(tasks, &r, snap);
	pyread_lines(&r, snap);
	if (!err && opts->native)
		native_merge(s->native, snap, opts->native);
	if (target_was_group_stopped(t))
		debug_msg("pid %d was stopped (SIGSTOP) before the read, and stays stopped", (int)s->pid);
	target_phases(t, &stopping, &held, &detaching);
	debug_msg("pid %d: %zu threads stopped for %llu us (stopping %llu, reading %llu, "
		  "detaching %llu); while stopped %llu reads, %llu bytes, %llu cache hits",
		  (int)s->pid, target_nthreads(t), (unsigned long long)(snap->stopped_ns / 1000),
		  (unsigned long long)(stopping / 1000), (unsigned long long)(held / 1000),
		  (unsigned long long)(detaching / 1000),
		  (unsigned long long)(held_reads.calls - before.calls),
		  (unsigned long long)(held_reads.bytes - before.bytes),
		  (unsigned long long)(held_reads.hits - before.hits));
	target_free(t);
	free(tids.v);
	return err ? read_failed(s, err, detail, n) : 0;
}

/* Interpreter interp's registry of threads: found once, then kept.  0 if none (yet). */
static uint64_t registry_of(struct session *s, uint64_t interp)
{
	uint64_t active = 0;
	int err;

	for (size_t i = 0; i < s->nregistries; i++)
		if (s->registries[i].interp == interp)
			return s->registries[i].active;
	err = pythreading_registry(s->mem, &s->rt, interp, &active);
	if (err) {
		if (err != -ENOENT)
			debug_msg("pid %d: threading's registry unreadable: %s", (int)s->pid,
				  ps_strerror(err));
		return 0;	/* threading not imported yet: look again next time */
	}
	xgrow(&s->registries, &s->capregistries, s->nregistries + 1, sizeof(*s->registries));
	s->registries[s->nregistries++] = (struct registry){ interp, active };
	return active;
}

static void forget_registry(struct session *s, uint64_t interp)
{
	for (size_t i = 0; i < s->nregistries; i++)
		if (s->registries[i].interp == interp)
			s->registries[i] = s->registries[--s->nregistries];
}

/* The names in interp's registry: how many, into *out. */
static size_t registry_names(struct session *s, uint64_t interp, struct pythread_name **out)
{
	uint64_t active = registry_of(s, interp);
	long n = active ? pythreading_names(s->mem, &s->rt, active, out) : 0;

	if (n < 0) {
		/* Replaced, or corrupt: find it afresh next time. */
		forget_registry(s, interp);
		n = 0;
	}
	return (size_t)n;
}

static const char *find_name(const struct pythread_name *v, size_t n, uint64_t ident)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].ident == ident)
			return v[i].name;
	return NULL;
}

/*
 * Each thread's name from its interpreter's threading module, or else the
 * main interpreter's (a thread that entered a subinterpreter is known
 * there; the main interpreter's threads come first).  Read after the
 * detach: a name is no part of a stack, and it rarely changes.
 */
static void name_threads(struct session *s, struct snapshot *snap)
{
	struct pythread_name *names[2] = { NULL, NULL };
	size_t counts[2] = { 0, 0 };
	uint64_t main = snap->nthreads ? snap->threads[0].interp : 0, other = 0;

	if (!main)
		return;
	rmem_invalidate(s->mem);
	counts[0] = registry_names(s, main, &names[0]);
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct thread *t = &snap->threads[i];
		const char *name = NULL;

		if (t->interp != main && t->interp != other) {
			pythreading_free(names[1], counts[1]);
			names[1] = NULL;
			other = t->interp;
			counts[1] = registry_names(s, other, &names[1]);
		}
		if (t->interp == other)
			name = find_name(names[1], counts[1], t->thread_id);
		if (!name)
			name = find_name(names[0], counts[0], t->thread_id);
		if (name)
			t->name = snapshot_strdup(snap, name);
	}
	for (int k = 0; k < 2; k++)
		pythreading_free(names[k], counts[k]);
}

/*
 * A thread Python has no name for (not started by threading, or started
 * from C) keeps the name the OS has for it, when it was given one: a name
 * inherited from the process (every thread starts with it) says nothing.
 */
static void name_from_os(const struct session *s, struct snapshot *snap)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct thread *t = &snap->threads[i];
		char comm[64];

		if (t->name || !t->tid || proc_task_comm(s->pid, t->tid, comm, sizeof(comm)) ||
		    !strcmp(comm, s->comm))
			continue;
		t->name = snapshot_strdup(snap, comm);
	}
}

/* Loading libunwind and libdw is slow: done once, never while the process is stopped. */
static int native_setup(struct session *s, char *detail, size_t ndetail)
{
	char why[256];
	int err;

	if (s->native)
		return 0;
	err = native_new(s->io, &s->maps, s->mem, &s->rt, &s->native, why, sizeof(why));
	if (err)
		snprintf(detail, ndetail, "native frames are not available: %s", why);
	return err;
}

int session_snapshot(struct session *s, const struct session_opts *opts, struct snapshot **out,
		     char *detail, size_t ndetail)
{
	struct snapshot *snap = NULL;
	int err = 0;

	detail[0] = '\0';
	if (s->core) {
		err = opts->native ? native_setup(s, detail, ndetail) : 0;
		if (err)
			return err;
		snap = new_snapshot(s);
		err = snapshot_core(s, opts, snap, detail, ndetail);
		if (err) {
			snapshot_free(snap);
			return err;
		}
		name_threads(s, snap);
		if (opts->source_lines)
			source_annotate(s->sources, snap);
		*out = snap;
		return 0;
	}
	if (s->snapshots++) {
		err = refresh(s, detail, ndetail);
		if (err)
			return err;
	}
	err = opts->native ? native_setup(s, detail, ndetail) : 0;
	if (err)
		return err;
	for (int attempt = 0; attempt < (opts->nonblocking ? NONBLOCKING_TRIES : 1); attempt++) {
		snapshot_free(snap);
		snap = new_snapshot(s);
		s->gen++;
		rmem_invalidate(s->mem);
		if (!opts->nonblocking) {
			err = snapshot_stopped(s, opts, snap, detail, ndetail);
			break;
		}
		/* Without stopping, a torn read shows as a chain that breaks or that a second
		 * read does not confirm: try again. */
		struct pyread r = {
			.pid = s->pid, .mem = s->mem, .rt = &s->rt, .codes = s->codes, .gen = s->gen,
			.locals = opts->locals, .verify = true,
		};
		struct tidmap tids = { 0 };

		if (s->other_pidns && !proc_tid_map(s->pid, &tids))
			r.tids = &tids;
		clock_gettime(CLOCK_REALTIME, &snap->when);
		err = s->rt.heads_unconfirmed ? pyruntime_confirm(s->mem, &s->rt) : 0;
		if (!err)
			err = pyread_snapshot(&r, snap);
		if (!err && opts->tasks)
			pytasks_finish(pytasks_read(&r, snap), &r, snap);
		pyread_lines(&r, snap);
		free(tids.v);
		if (err)
			err = read_failed(s, err, detail, ndetail);
		/* Unconfirmed, the interpreter may have looked dead for a changing thread list. */
		if (err == -PS_E_NO_INTERP && s->rt.heads_unconfirmed)
			continue;
		if (err || !snap->partial)
			break;
	}
	if (err) {
		snapshot_free(snap);
		return err;
	}
	name_threads(s, snap);
	name_from_os(s, snap);
	if (opts->source_lines)
		source_annotate(s->sources, snap);
	*out = snap;
	return 0;
}

void session_close(struct session *s)
{
	if (!s)
		return;
	native_free(s->native);
	free(s->registries);
	pycode_cache_free(s->codes);
	source_cache_free(s->sources);
	rmem_free(s->mem);
	pyruntime_free(&s->rt);
	maps_free(&s->maps);
	free(s->exe);
	free(s->cmdline);
	free(s->core_path);
	corefile_free(s->core);
	free(s);
}

/*
 * The attach layer: seize, interrupt and hold every thread of a process,
 * then detach each exactly as it was found.  See target.h for the rules.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corefile.h"
#include "errors.h"
#include "msg.h"
#include "proc.h"
#include "target.h"

/* How long stopping may take before the threads still running are left be. */
#define STOP_TIMEOUT_MS	1000
/* Rescans of /proc/PID/task before giving up on threads that keep appearing. */
#define MAX_ROUNDS	64

struct tthread {
	struct target_thread pub;
	bool seized;
	int inject_sig;		/* signal caught while stopping, given back at detach */
	bool group_stop;	/* it was in a group-stop (SIGSTOP): it stays stopped */
	bool late;		/* the detach did not take it (see release_late) */
	bool have_regs;
	struct user_regs_struct regs;
};

struct target {
	pid_t pid;
	struct tthread *th;
	size_t n, cap;
	bool settled;		/* a listing showed no thread we did not hold */
	bool leader_dead;	/* the main thread exited, the others run on */
	struct timespec t0, tstopped, tdetach, t1;
	bool started;		/* t0 is set: an interrupt was sent */
	bool resumed;
	bool group_stopped;
	sigset_t oldmask;
};

static volatile sig_atomic_t watchdog_fired;

static void on_watchdog(int sig)
{
	(void)sig;
	watchdog_fired = 1;
}

/*
 * SIGALRM without SA_RESTART makes a blocked waitpid() return EINTR.  The
 * timer repeats, so an alarm that lands between the flag check and the
 * waitpid() is followed by another.
 */
static void watchdog_arm(void)
{
	struct sigaction sa = { .sa_handler = on_watchdog };
	struct itimerval it = {
		.it_value = { STOP_TIMEOUT_MS / 1000, (STOP_TIMEOUT_MS % 1000) * 1000 },
		.it_interval = { 0, 100 * 1000 },
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	watchdog_fired = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void watchdog_disarm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void block_signals(struct target *t)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_BLOCK, &set, &t->oldmask);
}

static long find(const struct target *t, pid_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->th[i].pub.tid == tid)
			return (long)i;
	return -1;
}

long target_find(const struct target *t, pid_t tid)
{
	return find(t, tid);
}

/* Wait until the seized, interrupted thread reports a stop. */
static int wait_stop(struct target *t, struct tthread *th)
{
	for (;;) {
		int status;
		pid_t r;

		if (watchdog_fired)
			return -PS_E_TIMEOUT;
		r = waitpid(th->pub.tid, &status, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECHILD ? -PS_E_GONE : -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -PS_E_GONE;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16 == PTRACE_EVENT_STOP) {
			/* Our interrupt reports SIGTRAP; a group-stop its stop signal. */
			if (WSTOPSIG(status) != SIGTRAP)
				t->group_stopped = th->group_stop = true;
			return 0;
		}
		/* A signal on its way in: hold it, and give it back at detach. */
		th->inject_sig = WSTOPSIG(status);
		return 0;
	}
}

static void drop(struct target *t, size_t i)
{
	memmove(&t->th[i], &t->th[i + 1], (t->n - i - 1) * sizeof(*t->th));
	t->n--;
}

/*
 * Seize the threads not yet known; returns how many were added, or an
 * error.  *strangers counts the listed threads that are neither held nor
 * the dead leader: ones that died (or were dying) while listed.
 */
static long seize_new(struct target *t, const pid_t *tids, size_t ntids, size_t *strangers)
{
	long added = 0;

	*strangers = 0;
	for (size_t k = 0; k < ntids; k++) {
		struct tthread *th;
		char state;

		if (find(t, tids[k]) >= 0 || (tids[k] == t->pid && t->leader_dead))
			continue;
		if (ptrace(PTRACE_SEIZE, tids[k], 0, 0) < 0) {
			/*
			 * Gone already; or dead, which the kernel refuses: a
			 * zombie leader stays so while its threads live.
			 */
			if (errno == ESRCH ||
			    (errno == EPERM && (proc_task_state(t->pid, tids[k], &state) < 0 ||
						state == 'Z' || state == 'X'))) {
				if (tids[k] == t->pid && errno == EPERM)
					t->leader_dead = true;
				else
					++*strangers;
				continue;
			}
			return -errno;
		}
		xgrow(&t->th, &t->cap, t->n + 1, sizeof(*t->th));
		th = &t->th[t->n++];
		memset(th, 0, sizeof(*th));
		th->pub.tid = tids[k];
		th->seized = true;
		added++;
	}
	return added;
}

/* Whether a stopped thread's registers show it blocked in a system call: one our stop interrupted. */
static bool blocked_in_syscall(const struct user_regs_struct *regs)
{
	long ret = (long)regs->rax;

	/* -EINTR, and the kernel's restart codes -ERESTARTSYS ... -ERESTART_RESTARTBLOCK. */
	return (long)regs->orig_rax >= 0 && (ret == -EINTR || ret == -512 || ret == -513 ||
					     ret == -514 || ret == -516);
}

/*
 * What each new thread was doing when stopped, as the kernel's state
 * letter: 'S' blocked in a system call, 'R' running (in user space, or
 * finishing a system call), 'T' stopped by a signal; a thread that never
 * reported its stop is asked /proc.  Read from the registers while the
 * thread is held: one ptrace call each, where /proc costs an open and a read.
 */
static void classify(struct target *t, size_t first)
{
	for (size_t i = first; i < t->n; i++) {
		struct tthread *th = &t->th[i];
		const struct user_regs_struct *regs;

		if (th->group_stop)
			th->pub.state = 'T';
		else if (th->pub.stopped && (regs = target_thread_regs(t, i)))
			th->pub.state = blocked_in_syscall(regs) ? 'S' : 'R';
		else if (proc_task_state(t->pid, th->pub.tid, &th->pub.state) < 0)
			th->pub.state = '?';
	}
}

/*
 * Whether every thread of the process is held: the kernel's count of its
 * threads (one figure, taken under its lock) is the threads held and the
 * dead leader.  A listing has been seen, under a busy machine's thread
 * churn, to leave out a live thread; the count does not.
 */
static bool settled(struct target *t)
{
	long count = proc_thread_count(t->pid);

	if (count < 0 || (size_t)count <= t->n + t->leader_dead) {
		t->settled = true;
		return true;
	}
	debug_msg("pid %d: %ld threads, %zu held: listing again", (int)t->pid, count, t->n);
	return false;
}

struct target *target_of_core(const struct corefile *c)
{
	struct target *t = xcalloc(1, sizeof(*t));

	t->pid = corefile_pid(c);
	sigprocmask(SIG_SETMASK, NULL, &t->oldmask);
	for (size_t i = 0; i < corefile_nthreads(c); i++) {
		const struct core_thread *ct = corefile_thread(c, i);
		struct tthread *th;

		xgrow(&t->th, &t->cap, t->n + 1, sizeof(*t->th));
		th = &t->th[t->n++];
		memset(th, 0, sizeof(*th));
		th->pub.tid = ct->tid;
		th->pub.stopped = true;
		th->regs = ct->regs;
		th->have_regs = true;
	}
	classify(t, 0);
	t->settled = true;
	return t;
}

int target_stop(pid_t pid, struct target **out)
{
	struct target *t = xcalloc(1, sizeof(*t));
	pid_t *tids = NULL;
	size_t cap = 0;
	int err = 0;

	t->pid = pid;
	block_signals(t);
	watchdog_arm();
	/*
	 * A listing of /proc/PID/task ends early when a thread it has just
	 * listed dies (the kernel cannot step past it), and leaves out every
	 * newer thread; and a thread may start after the listing, before its
	 * creator is held.  So the stop is done when the kernel's own count
	 * of the threads (taken once all held threads have stopped: they
	 * start no new ones) is the threads held and the dead leader, and no
	 * thread listed was missing (died) when seized or stopped.  Then
	 * every live thread is held.  Otherwise it lists again.
	 */
	for (int round = 0; round < MAX_ROUNDS; round++) {
		long ntids = proc_tasks(pid, &tids, &cap);
		size_t first = t->n, strangers;
		long added;

		if (ntids < 0) {
			err = ntids == -ESRCH ? -PS_E_GONE : (int)ntids;
			break;
		}
		added = seize_new(t, tids, (size_t)ntids, &strangers);
		if (added < 0) {
			err = (int)added;
			break;
		}
		if (added == 0 && strangers == 0 && settled(t))
			break;
		if (added == 0)
			continue;
		if (!t->started) {
			clock_gettime(CLOCK_MONOTONIC, &t->t0);
			t->started = true;
		}
		/* Every interrupt first, then every wait: the threads stop in parallel. */
		for (size_t i = first; i < t->n; i++)
			if (ptrace(PTRACE_INTERRUPT, t->th[i].pub.tid, 0, 0) < 0 && errno == ESRCH)
				t->th[i].seized = false;
		for (size_t i = first; i < t->n; i++) {
			struct tthread *th = &t->th[i];
			int e = th->seized ? wait_stop(t, th) : -PS_E_GONE;

			if (e == 0) {
				th->pub.stopped = true;
			} else if (e == -PS_E_GONE) {
				th->seized = false;
			} else if (e != -PS_E_TIMEOUT) {
				debug_msg("pid %d tid %d: waiting for the stop: %s",
					  (int)pid, (int)th->pub.tid, ps_strerror(e));
			}
		}
		/* Forget the threads that exited while we stopped them. */
		for (size_t i = t->n; i-- > first;)
			if (!t->th[i].seized) {
				drop(t, i);
				strangers++;
			}
		classify(t, first);
		if (strangers == 0 && settled(t))
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t->tstopped);
	watchdog_disarm();
	free(tids);
	if (!err && t->n == 0)
		err = -PS_E_GONE;
	if (err) {
		target_resume(t);
		target_free(t);
		return err;
	}
	*out = t;
	return 0;
}

bool target_settled(const struct target *t)
{
	return t->settled;
}

size_t target_nthreads(const struct target *t)
{
	return t->n;
}

const struct target_thread *target_thread(const struct target *t, size_t i)
{
	return &t->th[i].pub;
}

const struct user_regs_struct *target_thread_regs(struct target *t, size_t i)
{
	struct tthread *th = &t->th[i];

	if (!th->have_regs) {
		if (!th->pub.stopped || ptrace(PTRACE_GETREGS, th->pub.tid, 0, &th->regs) < 0)
			return NULL;
		th->have_regs = true;
	}
	return &th->regs;
}

int target_thread_pointer(struct target *t, size_t i, uint64_t *out)
{
	const struct user_regs_struct *regs = target_thread_regs(t, i);

	if (!regs)
		return -ESRCH;
	*out = regs->fs_base;
	return 0;
}

int target_thread_syscall(struct target *t, size_t i, long *nr, uint64_t *arg0)
{
	const struct user_regs_struct *regs = target_thread_regs(t, i);

	if (!regs)
		return -ESRCH;
	/* Stopped inside a system call, orig_rax holds its number; elsewhere -1. */
	*nr = (long)regs->orig_rax;
	*arg0 = regs->rdi;
	return 0;
}

/* How long a release waits for a thread it could not detach to stop or to be gone. */
#define RELEASE_WAIT_MS	20

/*
 * A held thread that PTRACE_DETACH did not take: it died while held (killed:
 * SIGKILL ends a stopped thread too), or it had not stopped yet.  A tracee's
 * death is reported to its tracer first, and its parent's wait() sees it
 * only once the tracer has collected it: so collect it, or a parent that
 * killed its child while pystack read it would wait for as long as pystack
 * runs.  A thread that stops late is detached then.  Whether gone, detached
 * or still running (the kernel detaches it when pystack exits), true once
 * nothing more can be done.
 */
static bool release_late(struct tthread *th)
{
	int status;
	pid_t r = waitpid(th->pub.tid, &status, __WALL | WNOHANG);

	if (r < 0)
		return true;		/* ECHILD: not traced by us any more */
	if (r == 0)
		return false;		/* dying, or not stopped yet */
	if (WIFSTOPPED(status))
		return ptrace(PTRACE_DETACH, th->pub.tid, 0, th->inject_sig) == 0 || errno != ESRCH;
	return true;			/* exited: collected, so its parent will see it */
}

void target_resume(struct target *t)
{
	int saved_errno = errno;

	size_t late = 0;

	if (!t || t->resumed)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t->tdetach);
	/* The threads that were running first: theirs is the work the hold delays. */
	for (int running = 1; running >= 0; running--) {
		for (size_t i = 0; i < t->n; i++) {
			struct tthread *th = &t->th[i];

			if ((th->pub.state == 'R') != running)
				continue;
			if (th->seized && ptrace(PTRACE_DETACH, th->pub.tid, 0, th->inject_sig) < 0) {
				if (errno == ESRCH)
					late++;
				else
					debug_msg("pid %d tid %d: detach: %s", (int)t->pid,
						  (int)th->pub.tid, strerror(errno));
				th->late = errno == ESRCH;
			}
			th->seized = false;
			th->pub.stopped = false;
		}
	}
	for (int ms = 0; late && ms <= RELEASE_WAIT_MS; ms++) {
		if (ms)
			usleep(1000);
		for (size_t i = 0; i < t->n; i++)
			if (t->th[i].late && release_late(&t->th[i])) {
				t->th[i].late = false;
				late--;
			}
	}
	for (size_t i = 0; late && i < t->n; i++)
		if (t->th[i].late)
			debug_msg("pid %d tid %d: neither stopped nor gone by the release; the kernel "
				  "lets it go when pystack exits", (int)t->pid, (int)t->th[i].pub.tid);
	clock_gettime(CLOCK_MONOTONIC, &t->t1);
	t->resumed = true;
	sigprocmask(SIG_SETMASK, &t->oldmask, NULL);
	errno = saved_errno;
}

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u + (uint64_t)(b->tv_nsec - a->tv_nsec);
}

uint64_t target_stopped_ns(const struct target *t)
{
	return t->started && t->resumed ? ns_between(&t->t0, &t->t1) : 0;
}

void target_phases(const struct target *t, uint64_t *stopping, uint64_t *held, uint64_t *detaching)
{
	*stopping = *held = *detaching = 0;
	if (!t->started || !t->resumed)
		return;
	*stopping = ns_between(&t->t0, &t->tstopped);
	*held = ns_between(&t->tstopped, &t->tdetach);
	*detaching = ns_between(&t->tdetach, &t->t1);
}

bool target_was_group_stopped(const struct target *t)
{
	return t->group_stopped;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	target_resume(t);
	free(t->th);
	free(t);
}

/* Whether the effective capability set holds CAP_SYS_PTRACE (bit 19). */
static bool have_cap_sys_ptrace(void)
{
	char *status;
	unsigned long long caps = 0;
	bool found = false;

	if (proc_read_file("/proc/self/status", &status, NULL))
		return false;
	for (char *line = strtok(status, "\n"); line; line = strtok(NULL, "\n"))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			found = true;
	free(status);
	return found && (caps >> 19 & 1);
}

static int yama_scope(void)
{
	char *text;
	int scope = -1;

	if (proc_read_file("/proc/sys/kernel/yama/ptrace_scope", &text, NULL))
		return -1;
	scope = atoi(text);
	free(text);
	return scope;
}

void target_explain_eperm(pid_t pid, char *buf, size_t size)
{
	struct proc_info info;
	uid_t me = geteuid();
	int scope = yama_scope();
	bool cap = have_cap_sys_ptrace();

	if (proc_info_read(pid, &info) != 0 || info.exiting || info.state == 'Z' || info.state == 'X') {
		snprintf(buf, size, "process %d exited while it was being read", (int)pid);
		return;
	}
	if (info.tracer) {
		snprintf(buf, size, "process %d is already traced by process %d; detach that "
			 "debugger, or use --nonblocking", (int)pid, (int)info.tracer);
		return;
	}
	if (info.uid != me && !cap) {
		snprintf(buf, size, "permission denied: process %d belongs to uid %u and you are "
			 "uid %u; run pystack as that user or as root, or grant it CAP_SYS_PTRACE "
			 "(in a container: --cap-add=SYS_PTRACE)", (int)pid, (unsigned)info.uid,
			 (unsigned)me);
		return;
	}
	if (!info.dumpable && !cap) {
		snprintf(buf, size, "permission denied: process %d is not dumpable (it runs a setuid "
			 "or setcap program, or called prctl(PR_SET_DUMPABLE, 0)), so even its owner "
			 "cannot read it; run pystack as root or grant it CAP_SYS_PTRACE", (int)pid);
		return;
	}
	if (scope >= 1 && !cap) {
		snprintf(buf, size, "permission denied: kernel.yama.ptrace_scope is %d, which lets "
			 "only a parent process (1) or only root (2, 3) trace; run as root, grant "
			 "CAP_SYS_PTRACE, or set the sysctl kernel.yama.ptrace_scope=0", scope);
		return;
	}
	if (cap) {
		snprintf(buf, size, "permission denied tracing process %d even with CAP_SYS_PTRACE: "
			 "a security module (SELinux, AppArmor, seccomp) or the kernel protects it%s",
			 (int)pid, info.dumpable ? "" : " (it is not dumpable)");
		return;
	}
	snprintf(buf, size, "permission denied tracing process %d; run as root, grant "
		 "CAP_SYS_PTRACE (in a container: --cap-add=SYS_PTRACE), and check "
		 "kernel.yama.ptrace_scope and any security module policy", (int)pid);
}

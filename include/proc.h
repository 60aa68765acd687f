/*
 * What the kernel tells about a process through /proc: its state, owner,
 * tracer, threads, descendants, command line and memory maps.  Nothing
 * here stops or reads the memory of the process.
 */
#ifndef PYSTACK_PROC_H
#define PYSTACK_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_info {
	pid_t pid;
	pid_t tgid;		/* the process a thread id belongs to */
	char state;		/* R, S, D, T, t, Z, X, ... from /proc/PID/stat */
	pid_t ppid;
	bool kthread;		/* a kernel thread (PF_KTHREAD) */
	bool exiting;		/* on its way out (PF_EXITING) */
	bool dumpable;		/* /proc/PID/status belongs to the owner, not to root */
	char comm[64];		/* as the kernel keeps it, at most 15 bytes */
	uid_t uid;		/* real uid of the owner */
	pid_t tracer;		/* TracerPid, 0 when not traced */
};

/* Returns 0, -ESRCH (no such process), or another -errno. */
int proc_info_read(pid_t pid, struct proc_info *out);

/* The state letter of one thread, or a negative error (-ESRCH: gone). */
int proc_task_state(pid_t pid, pid_t tid, char *state);

/*
 * How many threads the kernel counts in pid (num_threads of /proc/PID/stat:
 * one count under the kernel's lock, where a listing of /proc/PID/task is
 * walked piece by piece), or a negative error.
 */
long proc_thread_count(pid_t pid);

/* The name the kernel keeps for one thread (comm, at most 15 bytes), or a negative error. */
int proc_task_comm(pid_t pid, pid_t tid, char *comm, size_t size);

/*
 * A thread of pid that is alive (not a zombie): pid itself, or another
 * when the main thread has exited but the process runs on.  0 if none.
 */
pid_t proc_live_thread(pid_t pid);

/*
 * The thread ids of pid, in /proc order, appended to *tids (grown with
 * xgrow; *cap is its capacity).  Returns the new count or a negative error.
 */
long proc_tasks(pid_t pid, pid_t **tids, size_t *cap);

/* How many descendants of one process pystack will read at most. */
#define PROC_MAX_DESCENDANTS 4096

/*
 * The processes descended from root (children, grandchildren, ...), from
 * one scan of the parent ids in /proc/N/stat; root itself is not among
 * them, and a thread id as root stands for its process.  At most max are
 * stored into *pids (grown with xgrow; *cap is its capacity), the nearest
 * generations first when there are more, sorted by ascending PID.
 *
 * Returns how many descendants there are in all, which is more than max
 * when some were left out (as snprintf does), or a negative error when
 * /proc cannot be listed.  A root that does not exist has none (0).  The
 * scan is not atomic: a process may exit, or start, while it runs.
 */
long proc_descendants(pid_t root, size_t max, pid_t **pids, size_t *cap);

/* Whether pid lives in another PID namespace than pystack (a container). */
bool proc_other_pidns(pid_t pid);

/* The threads of a process in another PID namespace: their ids there, and here. */
struct tidmap {
	struct {
		pid_t inner;	/* in the process's own namespace (what gettid() says there) */
		pid_t here;	/* in pystack's */
	} *v;
	size_t n, cap;
};

/*
 * Build the map from /proc/PID/task/TID/status (NSpid); free m->v.  A
 * listing can miss threads (see target.h): proc_tid_map_add() adds one.
 */
int proc_tid_map(pid_t pid, struct tidmap *m);
int proc_tid_map_add(pid_t pid, pid_t tid, struct tidmap *m);
/* Whether the map has the thread whose id here is here. */
bool tidmap_knows(const struct tidmap *m, pid_t here);

/* The id here of the thread whose id in the process's namespace is inner, or 0. */
pid_t tidmap_here(const struct tidmap *m, pid_t inner);

/* A set of PIDs (sorted; free v), for reading each process once. */
struct pidset {
	pid_t *v;
	size_t n, cap;
};

/* Add pid to s: false when it was there already. */
bool pidset_add(struct pidset *s, pid_t pid);
bool pidset_has(const struct pidset *s, pid_t pid);

/*
 * The command line, arguments joined by spaces, as raw bytes (escape before
 * printing).  Malloc'd; NULL when unreadable or empty (kernel threads).
 */
char *proc_cmdline(pid_t pid);

/* The path of the executable as the target sees it; malloc'd, or NULL. */
char *proc_exe(pid_t pid);

/*
 * Where to open a file the process named by an absolute path: for a live
 * process (pid > 0) through /proc/PID/root, so a process in another mount
 * namespace shows its own files; for a core (pid 0), under the directory
 * proc_set_sysroot() gave (the files as they are here, by default).
 * Malloc'd.
 */
char *proc_root_path(pid_t pid, const char *path);

/*
 * Open path read-only if it is a regular file: a FIFO or a device put at
 * the path a process (or a core) names is neither waited on nor read.
 * Returns the descriptor, or -1 with errno set (EINVAL: not a regular file).
 */
int open_regular(const char *path);
void proc_set_sysroot(const char *dir);

struct map {
	uint64_t start, end, offset;
	uint64_t inode;
	bool r, w, x;
	const char *path;	/* NULL for anonymous; points into maps->text */
	int file;		/* index in maps->files, or -1 */
};

/* A mapped ELF file (or the vDSO): all its mappings share an index. */
struct mapped_file {
	const struct map *first;	/* its first mapping */
	uint64_t text_start, text_end;	/* its executable range (empty if none) */
};

struct maps {
	struct map *v;
	size_t n;
	struct mapped_file *files;
	size_t nfiles;
	char *text;		/* the raw file, also what paths point into */
	size_t len;
	uint64_t hash;		/* of the raw file, as maps_read() found it */
};

/* Read /proc/PID/maps.  Free with maps_free(). */
int maps_read(pid_t pid, struct maps *out);

/*
 * Read /proc/PID/maps again: 0 when it is as old was (out untouched), 1
 * with out filled when it changed, or a negative error.
 */
int maps_reread(pid_t pid, const struct maps *old, struct maps *out);

/* Parse the text of a maps file (taken over by out, which frees it). */
int maps_parse(char *text, size_t len, struct maps *out);

void maps_free(struct maps *m);

/*
 * Whether a and b map the same files at the same places (the anonymous
 * mappings may differ): then what was learnt from a's files holds for b,
 * file index for file index.
 */
bool maps_same_files(const struct maps *a, const struct maps *b);

/* The mapping that contains addr, or NULL. */
const struct map *maps_find(const struct maps *m, uint64_t addr);

/* The index of the mapped file that contains addr, or -1. */
int maps_file_at(const struct maps *m, uint64_t addr);

/* Read a whole small /proc file into a malloc'd NUL-terminated buffer. */
int proc_read_file(const char *path, char **out, size_t *len);

#endif

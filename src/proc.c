/*
 * Reading /proc: process and thread state, owner and tracer, descendants,
 * command line, executable, and the memory maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"
#include "proc.h"

#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000

int proc_read_file(const char *path, char **out, size_t *len)
{
	/*
	 * Room for a whole /proc/PID/maps (10-20 KB) at once: the kernel
	 * writes each read() afresh from the mappings, so every extra call is
	 * a walk and a lock more.  Untouched pages of the buffer cost nothing.
	 */
	size_t cap = 64 * 1024, n = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t got;

		if (n + 1 >= cap)
			xgrow(&buf, &cap, n + 64 * 1024, 1);
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			int err = -errno;

			if (errno == EINTR)
				continue;
			close(fd);
			free(buf);
			return err;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

/* /proc/PID/... or /proc/PID/task/TID/... into a buffer. */
static int read_small(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int read_small(char *buf, size_t size, const char *fmt, ...)
{
	char path[96];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int err = errno == ESRCH ? -ESRCH : -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	return (int)n;
}

/*
 * Parse "pid (comm) S ppid ..." from a stat line.  comm may hold spaces and
 * parentheses, so the state follows the last ')'.
 */
static int parse_stat(const char *buf, char *state, pid_t *ppid, unsigned long *flags,
		      char *comm, size_t commsize)
{
	const char *open = strchr(buf, '(');
	const char *close = strrchr(buf, ')');
	unsigned long f = 0;
	int pp = 0;
	char st;

	if (!open || !close || close < open)
		return -EINVAL;
	if (comm) {
		size_t n = (size_t)(close - open - 1);

		if (n >= commsize)
			n = commsize - 1;
		memcpy(comm, open + 1, n);
		comm[n] = '\0';
	}
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(close + 1, " %c %d %*d %*d %*d %*d %lu", &st, &pp, &f) != 3)
		return -EINVAL;
	*state = st;
	if (ppid)
		*ppid = pp;
	if (flags)
		*flags = f;
	return 0;
}

int proc_info_read(pid_t pid, struct proc_info *out)
{
	char buf[4096];
	unsigned long flags;
	struct stat st;
	int n;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	n = read_small(buf, sizeof(buf), "/proc/%d/stat", (int)pid);
	if (n < 0)
		return n;
	if (parse_stat(buf, &out->state, &out->ppid, &flags, out->comm, sizeof(out->comm)))
		return -EINVAL;
	out->kthread = flags & PF_KTHREAD;
	out->exiting = flags & PF_EXITING;

	/* The kernel hands the files of a process that is not dumpable to root. */
	snprintf(buf, sizeof(buf), "/proc/%d/status", (int)pid);
	out->dumpable = stat(buf, &st) != 0 || st.st_uid != 0;
	n = read_small(buf, sizeof(buf), "/proc/%d/status", (int)pid);
	if (n < 0)
		return n;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "Uid:", 4)) {
			out->uid = (uid_t)strtoul(line + 4, NULL, 10);
			out->dumpable = out->dumpable || out->uid == 0;
		}
		else if (!strncmp(line, "Tgid:", 5))
			out->tgid = (pid_t)strtol(line + 5, NULL, 10);
		else if (!strncmp(line, "TracerPid:", 10))
			out->tracer = (pid_t)strtol(line + 10, NULL, 10);
	}
	return 0;
}

int proc_task_state(pid_t pid, pid_t tid, char *state)
{
	char buf[1024];
	int n = read_small(buf, sizeof(buf), "/proc/%d/task/%d/stat", (int)pid, (int)tid);

	if (n < 0)
		return n;
	return parse_stat(buf, state, NULL, NULL, NULL, 0);
}

long proc_thread_count(pid_t pid)
{
	char buf[4096];
	const char *close;
	long count;
	int n = read_small(buf, sizeof(buf), "/proc/%d/stat", (int)pid);

	if (n < 0)
		return n;
	/* After the name: state, 16 fields (ppid ... nice), then num_threads. */
	close = strrchr(buf, ')');
	if (!close || sscanf(close + 1, " %*c%*d%*d%*d%*d%*d%*u%*u%*u%*u%*u%*u%*u%*d%*d%*d%*d %ld",
			     &count) != 1 || count < 0)
		return -EINVAL;
	return count;
}

int proc_task_comm(pid_t pid, pid_t tid, char *comm, size_t size)
{
	char buf[1024];
	char state;
	int n = read_small(buf, sizeof(buf), "/proc/%d/task/%d/stat", (int)pid, (int)tid);

	if (n < 0)
		return n;
	return parse_stat(buf, &state, NULL, NULL, comm, size);
}

pid_t proc_live_thread(pid_t pid)
{
	pid_t *tids = NULL, found = 0;
	size_t cap = 0;
	long n = proc_tasks(pid, &tids, &cap);

	for (long i = 0; i < n && !found; i++) {
		char state;

		if (proc_task_state(pid, tids[i], &state) == 0 && state != 'Z' && state != 'X')
			found = tids[i];
	}
	free(tids);
	return found;
}

long proc_tasks(pid_t pid, pid_t **tids, size_t *cap)
{
	char path[64];
	struct dirent *d;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((d = readdir(dir))) {
		char *end;
		long t = strtol(d->d_name, &end, 10);

		if (*end || t <= 0)
			continue;
		xgrow(tids, cap, n + 1, sizeof(**tids));
		(*tids)[n++] = (pid_t)t;
	}
	closedir(dir);
	return (long)n;
}

/* A process and its parent, as one scan of /proc found them. */
struct proc_edge {
	pid_t ppid, pid;
	bool taken;		/* already counted as a descendant */
};

static int by_parent(const void *a, const void *b)
{
	const struct proc_edge *x = a, *y = b;

	if (x->ppid != y->ppid)
		return x->ppid < y->ppid ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The first of the n edges (sorted by parent) whose parent is ppid, or n. */
static size_t first_child(const struct proc_edge *e, size_t n, pid_t ppid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long proc_descendants(pid_t root, size_t max, pid_t **pids, size_t *cap)
{
	struct proc_edge *e = NULL;
	size_t n = 0, ecap = 0, head = 0, tail = 0, qcap = 0, keep;
	pid_t *queue = NULL;
	struct proc_info info;
	struct dirent *d;
	DIR *dir;

	/* Children name the process (the thread group) as their parent. */
	if (proc_info_read(root, &info) == 0 && info.tgid > 0)
		root = info.tgid;
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	for (;;) {
		char *end, buf[1024], state;
		pid_t ppid;
		long pid;

		errno = 0;
		d = readdir(dir);
		if (!d)
			break;
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		/* One that exited since the directory was listed has no children now. */
		if (read_small(buf, sizeof(buf), "/proc/%ld/stat", pid) < 0 ||
		    parse_stat(buf, &state, &ppid, NULL, NULL, 0) || ppid <= 0)
			continue;
		xgrow(&e, &ecap, n + 1, sizeof(*e));
		e[n++] = (struct proc_edge){ .ppid = ppid, .pid = (pid_t)pid };
	}
	if (errno) {
		int err = -errno;

		closedir(dir);
		free(e);
		return err;
	}
	closedir(dir);

	/*
	 * Breadth first, so that the nearest generations come first when there
	 * are more than max.  The scan is not atomic, so the parent links need
	 * not form a tree (a PID reused during the scan can make a cycle): each
	 * process is taken once at most, which bounds the walk.
	 */
	qsort(e, n, sizeof(*e), by_parent);
	xgrow(&queue, &qcap, 1, sizeof(*queue));
	queue[tail++] = root;
	while (head < tail) {
		pid_t parent = queue[head++];

		for (size_t i = first_child(e, n, parent); i < n && e[i].ppid == parent; i++) {
			if (e[i].taken || e[i].pid == root)
				continue;
			e[i].taken = true;
			xgrow(&queue, &qcap, tail + 1, sizeof(*queue));
			queue[tail++] = e[i].pid;
		}
	}
	free(e);
	keep = tail - 1 < max ? tail - 1 : max;
	if (keep) {
		xgrow(pids, cap, keep, sizeof(**pids));
		memcpy(*pids, queue + 1, keep * sizeof(**pids));
		qsort(*pids, keep, sizeof(**pids), by_pid);
	}
	free(queue);
	return (long)(tail - 1);
}

char *proc_cmdline(pid_t pid)
{
	char path[64], *buf;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (proc_read_file(path, &buf, &len))
		return NULL;
	if (len == 0) {
		free(buf);
		return NULL;
	}
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return buf;
}

static const char *sysroot = "";

void proc_set_sysroot(const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	/* "/" and "" alike are the files as they are; a trailing slash is not doubled. */
	while (n && dir[n - 1] == '/')
		n--;
	sysroot = n ? xstrndup(dir, n) : "";
}

int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = S_ISREG(st.st_mode) ? errno : EINVAL;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

char *proc_root_path(pid_t pid, const char *path)
{
	if (pid > 0)
		return xasprintf("/proc/%d/root%s", (int)pid, path);
	return xasprintf("%s%s", sysroot, path);
}

char *proc_exe(pid_t pid)
{
	char path[64], target[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return xstrdup(target);
}

/* Parse a hexadecimal field ending at a character in stop; NULL if malformed. */
static char *parse_hex(char *p, const char *stop, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	for (;; p++, digits++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			break;
		if (digits == 16)
			return NULL;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits || !*p || !strchr(stop, *p))
		return NULL;
	*out = v;
	return p + 1;
}

/* One line: "start-end perms offset dev inode   path". */
static bool parse_map_line(char *line, struct map *m)
{
	uint64_t dev;
	char *p = line, *perms;

	if (!(p = parse_hex(p, "-", &m->start)) || !(p = parse_hex(p, " ", &m->end)) ||
	    m->end < m->start || strlen(p) < 5)
		return false;
	perms = p;
	p += 4;
	if (*p++ != ' ' || !(p = parse_hex(p, " ", &m->offset)) || !(p = parse_hex(p, ":", &dev)) ||
	    !(p = parse_hex(p, " ", &dev)))
		return false;
	m->inode = strtoull(p, &p, 10);
	while (*p == ' ')
		p++;
	m->r = perms[0] == 'r';
	m->w = perms[1] == 'w';
	m->x = perms[2] == 'x';
	m->path = *p ? p : NULL;
	return true;
}

/* Group the mappings by file: same path and inode, a real file or the vDSO. */
static void group_files(struct maps *m)
{
	size_t cap = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct map *mp = &m->v[i];
		struct mapped_file *f = NULL;

		mp->file = -1;
		if (!mp->path || (mp->path[0] != '/' && strcmp(mp->path, "[vdso]")))
			continue;
		for (size_t k = m->nfiles; k-- > 0 && !f;) {
			const struct map *o = m->files[k].first;

			if (o->inode == mp->inode && !strcmp(o->path, mp->path))
				f = &m->files[k];
		}
		if (!f) {
			xgrow(&m->files, &cap, m->nfiles + 1, sizeof(*m->files));
			f = &m->files[m->nfiles++];
			f->first = mp;
			f->text_start = f->text_end = 0;
		}
		mp->file = (int)(f - m->files);
		if (mp->x) {
			if (f->text_start == f->text_end || mp->start < f->text_start)
				f->text_start = mp->start;
			if (mp->end > f->text_end)
				f->text_end = mp->end;
		}
	}
}

int maps_parse(char *text, size_t len, struct maps *out)
{
	size_t cap = 0;
	char *line = text, *end = text + len;

	memset(out, 0, sizeof(*out));
	out->text = text;
	out->len = len;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));

		if (!nl)
			nl = end;
		*nl = '\0';
		xgrow(&out->v, &cap, out->n + 1, sizeof(*out->v));
		if (parse_map_line(line, &out->v[out->n]))
			out->n++;
		line = nl + 1;
	}
	group_files(out);
	return 0;
}

/* A hash of the maps text, eight bytes at a time (the text is 10-20 KB). */
static uint64_t text_hash(const char *text, size_t len)
{
	uint64_t h = 1469598103934665603ull, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, text + i, 8);
		h = (h ^ w) * 1099511628211ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
	return h ^ len;
}

int maps_read(pid_t pid, struct maps *out)
{
	int err = maps_reread(pid, NULL, out);

	return err < 0 ? err : 0;
}

int maps_reread(pid_t pid, const struct maps *old, struct maps *out)
{
	char path[64], *text;
	size_t len;
	uint64_t hash;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	err = proc_read_file(path, &text, &len);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	hash = text_hash(text, len);
	if (old && old->hash == hash && old->len == len) {
		free(text);
		return 0;
	}
	maps_parse(text, len, out);
	out->hash = hash;
	return 1;
}

void maps_free(struct maps *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->files);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

bool maps_same_files(const struct maps *a, const struct maps *b)
{
	if (a->nfiles != b->nfiles)
		return false;
	for (size_t i = 0; i < a->nfiles; i++) {
		const struct mapped_file *x = &a->files[i], *y = &b->files[i];

		if (x->first->start != y->first->start || x->first->offset != y->first->offset ||
		    x->first->inode != y->first->inode || strcmp(x->first->path, y->first->path) ||
		    x->text_start != y->text_start || x->text_end != y->text_end)
			return false;
	}
	return true;
}

const struct map *maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/* The kernel lists mappings in address order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

int maps_file_at(const struct maps *m, uint64_t addr)
{
	const struct map *mp = maps_find(m, addr);

	return mp ? mp->file : -1;
}

/* Where pid is in s, or would go. */
static size_t pidset_find(const struct pidset *s, pid_t pid)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool pidset_has(const struct pidset *s, pid_t pid)
{
	size_t i = pidset_find(s, pid);

	return i < s->n && s->v[i] == pid;
}

bool pidset_add(struct pidset *s, pid_t pid)
{
	size_t lo = pidset_find(s, pid);

	if (lo < s->n && s->v[lo] == pid)
		return false;
	xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
	s->v[lo] = pid;
	s->n++;
	return true;
}

bool proc_other_pidns(pid_t pid)
{
	char path[64], theirs[64], ours[64];
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	a = readlink(path, theirs, sizeof(theirs) - 1);
	b = readlink("/proc/self/ns/pid", ours, sizeof(ours) - 1);
	return a > 0 && b > 0 && (a != b || memcmp(theirs, ours, (size_t)a));
}

int proc_tid_map_add(pid_t pid, pid_t tid, struct tidmap *m)
{
	char buf[4096], *line, *end, *last = NULL;
	int len = read_small(buf, sizeof(buf), "/proc/%d/task/%d/status", (int)pid, (int)tid);

	if (len < 0)
		return len;
	line = strstr(buf, "\nNSpid:");
	if (!line)
		return -ENOENT;
	/* "NSpid:\t<here>\t...\t<innermost>": the thread's id in each namespace, ours first. */
	end = strchr(line + 1, '\n');
	if (end)
		*end = '\0';
	for (char *p = line + 7; *p; p++)
		if (*p == '\t' || *p == ' ')
			last = p + 1;
	if (!last || !*last)
		return -ENOENT;
	xgrow(&m->v, &m->cap, m->n + 1, sizeof(*m->v));
	m->v[m->n].here = tid;
	m->v[m->n].inner = (pid_t)strtol(last, NULL, 10);
	m->n++;
	return 0;
}

int proc_tid_map(pid_t pid, struct tidmap *out)
{
	pid_t *tids = NULL;
	size_t cap = 0;
	long n = proc_tasks(pid, &tids, &cap);

	memset(out, 0, sizeof(*out));
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n; i++)
		proc_tid_map_add(pid, tids[i], out);
	free(tids);
	return 0;
}

bool tidmap_knows(const struct tidmap *m, pid_t here)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].here == here)
			return true;
	return false;
}

pid_t tidmap_here(const struct tidmap *m, pid_t inner)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].inner == inner)
			return m->v[i].here;
	return 0;
}

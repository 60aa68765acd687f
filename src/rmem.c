/*
 * The remote-memory reader: a page cache over a vectored-read backend, and
 * the live-process backend (process_vm_readv, falling back to
 * /proc/PID/mem where the system call is unavailable).
 *
 * The cache is direct-mapped by page.  A read that falls on a page the
 * backend cannot fetch whole is retried once at its exact size, so a
 * backend that knows only part of a page (the fake) still answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errors.h"
#include "msg.h"
#include "rmem.h"

#define PAGE_MASK	((uint64_t)RMEM_PAGE - 1)
#define MAX_IOV		1024	/* IOV_MAX on Linux */

void rmem_init(struct rmem *m, const struct rmem_ops *ops)
{
	memset(m, 0, sizeof(*m));
	m->ops = ops;
	m->gen = 1;
}

void rmem_free(struct rmem *m)
{
	if (!m)
		return;
	free(m->data);
	m->ops->destroy(m);
}

void rmem_invalidate(struct rmem *m)
{
	m->gen++;
}

const struct rmem_stats *rmem_stats(const struct rmem *m)
{
	return &m->stats;
}

static unsigned slot_of(uint64_t page)
{
	uint64_t n = page / RMEM_PAGE;

	return (unsigned)((n ^ (n >> 9) ^ (n >> 18)) % RMEM_SLOTS);
}

static int backend_read(struct rmem *m, struct rmem_range *r, size_t n)
{
	int err;

	m->stats.calls++;
	err = m->ops->readv(m, r, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (!r[i].err)
			m->stats.bytes += r[i].len;
	return 0;
}

static int read_direct(struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	struct rmem_range r = { .addr = addr, .buf = buf, .len = len };
	int err = backend_read(m, &r, 1);

	return err ? err : r.err;
}

/* The cached copy of page, fetching it if needed; NULL if unreadable. */
static const unsigned char *page_get(struct rmem *m, uint64_t page, int *err)
{
	unsigned s = slot_of(page);

	if (m->slot[s].gen == m->gen && m->slot[s].page == page) {
		m->stats.hits++;
		return m->data[s];
	}
	if (!m->data)
		m->data = xmalloc(sizeof(*m->data) * RMEM_SLOTS);
	*err = read_direct(m, page, m->data[s], RMEM_PAGE);
	if (*err) {
		m->slot[s].gen = 0;
		return NULL;
	}
	m->slot[s].page = page;
	m->slot[s].gen = m->gen;
	return m->data[s];
}

int rmem_read(struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;
	uint64_t a = addr;
	size_t left = len;

	if (len == 0)
		return 0;
	if (addr + len < addr || addr < RMEM_PAGE)
		return -PS_E_BAD_READ;
	if (len > 2 * RMEM_PAGE)
		return read_direct(m, addr, buf, len);
	while (left) {
		uint64_t page = a & ~PAGE_MASK;
		size_t off = a - page;
		size_t n = RMEM_PAGE - off < left ? RMEM_PAGE - off : left;
		int err = 0;
		const unsigned char *p = page_get(m, page, &err);

		if (!p) {
			if (err == -PS_E_GONE || err == -EPERM)
				return err;
			return read_direct(m, addr, buf, len);
		}
		memcpy(out, p + off, n);
		out += n;
		a += n;
		left -= n;
	}
	return 0;
}

int rmem_read_u64(struct rmem *m, uint64_t addr, uint64_t *out)
{
	return rmem_read(m, addr, out, sizeof(*out));
}

long rmem_read_cstr(struct rmem *m, uint64_t addr, char *buf, size_t max,
		    bool *truncated)
{
	size_t got = 0;

	*truncated = false;
	while (got < max) {
		size_t chunk = RMEM_PAGE - ((addr + got) & PAGE_MASK);
		char *nul;
		int err;

		if (chunk > max - got)
			chunk = max - got;
		err = rmem_read(m, addr + got, buf + got, chunk);
		if (err)
			return err;
		nul = memchr(buf + got, '\0', chunk);
		if (nul)
			return nul - buf;
		got += chunk;
	}
	buf[max] = '\0';
	*truncated = true;
	return (long)max;
}

void rmem_prefetch(struct rmem *m, const uint64_t *addrs, size_t n, size_t len)
{
	struct rmem_range r[MAX_IOV];
	unsigned slot[MAX_IOV];
	size_t nr = 0;

	if (!m->data)
		m->data = xmalloc(sizeof(*m->data) * RMEM_SLOTS);
	for (size_t i = 0; i < n; i++) {
		uint64_t a = addrs[i];

		if (a < RMEM_PAGE || a + len < a)
			continue;
		for (uint64_t page = a & ~PAGE_MASK; page < a + len; page += RMEM_PAGE) {
			unsigned s = slot_of(page);

			if (m->slot[s].gen == m->gen && m->slot[s].page == page)
				continue;
			if (nr == MAX_IOV)
				goto full;
			/* Claim the slot now so a second address on this page is skipped. */
			m->slot[s].page = page;
			m->slot[s].gen = m->gen;
			slot[nr] = s;
			r[nr] = (struct rmem_range){ .addr = page, .buf = m->data[s], .len = RMEM_PAGE };
			nr++;
		}
	}
full:
	if (!nr)
		return;
	if (backend_read(m, r, nr)) {
		for (size_t i = 0; i < nr; i++)
			m->slot[slot[i]].gen = 0;
		return;
	}
	for (size_t i = 0; i < nr; i++)
		if (r[i].err || m->slot[slot[i]].page != r[i].addr)
			m->slot[slot[i]].gen = 0;
}

/* The live backend. */

struct rmem_live {
	struct rmem base;		/* must be first */
	pid_t pid;
	int memfd;			/* /proc/PID/mem, opened on first need */
	bool no_vm_readv;		/* process_vm_readv is not available */
};

static int errno_to_err(int e)
{
	switch (e) {
	case ESRCH:
		return -PS_E_GONE;
	case EFAULT:
	case EIO:
		return -PS_E_BAD_READ;
	default:
		return -e;
	}
}

static int live_readv_mem(struct rmem_live *l, struct rmem_range *r, size_t n)
{
	if (l->memfd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", (int)l->pid);
		l->memfd = open(path, O_RDONLY | O_CLOEXEC);
		if (l->memfd < 0)
			return errno == ENOENT ? -PS_E_GONE : -errno;
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t got = pread(l->memfd, r[i].buf, r[i].len, (off_t)r[i].addr);

		if (got == (ssize_t)r[i].len)
			r[i].err = 0;
		else if (got >= 0)
			r[i].err = -PS_E_BAD_READ;
		else if (errno == ESRCH || errno == EPERM || errno == EACCES)
			return errno_to_err(errno);
		else
			r[i].err = errno_to_err(errno);
	}
	return 0;
}

static int live_readv(struct rmem *m, struct rmem_range *r, size_t n)
{
	struct rmem_live *l = (struct rmem_live *)m;
	struct iovec local[MAX_IOV], remote[MAX_IOV];
	size_t i = 0;

	if (l->no_vm_readv)
		return live_readv_mem(l, r, n);
	while (i < n) {
		size_t cnt = n - i < MAX_IOV ? n - i : MAX_IOV;
		size_t end = i + cnt;
		ssize_t got;

		for (size_t k = 0; k < cnt; k++) {
			local[k] = (struct iovec){ r[i + k].buf, r[i + k].len };
			remote[k] = (struct iovec){ (void *)(uintptr_t)r[i + k].addr, r[i + k].len };
		}
		got = process_vm_readv(l->pid, local, cnt, remote, cnt, 0);
		if (got < 0) {
			if (errno == ENOSYS) {
				l->no_vm_readv = true;
				return live_readv_mem(l, r + i, n - i);
			}
			if (errno != EFAULT)
				return errno_to_err(errno);
			got = 0;
		}
		/* Whole ranges succeed in order until the first that fails. */
		while (i < end && got >= (ssize_t)r[i].len) {
			r[i].err = 0;
			got -= (ssize_t)r[i].len;
			i++;
		}
		if (i < end)
			r[i++].err = -PS_E_BAD_READ;
	}
	return 0;
}

static void live_destroy(struct rmem *m)
{
	struct rmem_live *l = (struct rmem_live *)m;

	if (l->memfd >= 0)
		close(l->memfd);
	free(l);
}

static const struct rmem_ops live_ops = {
	.readv = live_readv,
	.destroy = live_destroy,
};

struct rmem *rmem_live_new(pid_t pid)
{
	struct rmem_live *l = xmalloc(sizeof(*l));

	rmem_init(&l->base, &live_ops);
	l->pid = pid;
	l->memfd = -1;
	l->no_vm_readv = false;
	return &l->base;
}

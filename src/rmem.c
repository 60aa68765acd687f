/*
 * The remote-memory reader: a page cache over a vectored-read backend, and
 * the live-process backend (process_vm_readv, falling back to
 * /proc/PID/mem where the system call is unavailable).
 *
 * The cache is set-associative by page (a hash picks a set of RMEM_WAYS
 * slots; the least recently claimed one is evicted).  A read that falls on a page the
 * backend cannot fetch whole is retried once at its exact size, so a
 * backend that knows only part of a page (the fake) still answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errors.h"
#include "msg.h"
#include "rmem.h"

#define PAGE_MASK	((uint64_t)RMEM_PAGE - 1)
#define MAX_IOV		1024	/* IOV_MAX on Linux */
/* Reads larger than this bypass the cache. */
#define MAX_CACHED	(4 * RMEM_BLOCK)

void rmem_init(struct rmem *m, const struct rmem_ops *ops)
{
	m->ops = ops;
	m->gen = 1;
}

void rmem_free(struct rmem *m)
{
	if (!m)
		return;
	pages_free(m->store, sizeof(*m->store) * RMEM_STORE);
	free(m->rec);
	free(m->deferred);
	m->ops->destroy(m);
}

void rmem_invalidate(struct rmem *m)
{
	m->gen++;
	m->nstore = 0;
	m->replayed = false;
}

const struct rmem_stats *rmem_stats(const struct rmem *m)
{
	return &m->stats;
}

/* The first of the RMEM_WAYS ways of the set page belongs to. */
static uint16_t *set_of(struct rmem *m, uint64_t page)
{
	uint64_t h = (page / RMEM_PAGE) * 0x9e3779b97f4a7c15ull;

	return &m->way[(h >> 40) % (RMEM_SLOTS / RMEM_WAYS) * RMEM_WAYS];
}

/* The slot holding page in this generation, or NULL. */
static struct rmem_slot *find(struct rmem *m, uint64_t page)
{
	const uint16_t *set = set_of(m, page);

	for (unsigned w = 0; w < RMEM_WAYS && set[w]; w++) {
		struct rmem_slot *s = &m->slot[set[w] - 1];

		if (s->page == page && s->gen == m->gen)
			return s;
	}
	return NULL;
}

/* Copy len bytes at offset off of the slot's page (all in valid blocks) to out. */
static void copy_out(const struct rmem *m, const struct rmem_slot *s, size_t off, size_t len,
		     unsigned char *out)
{
	while (len) {
		size_t b = off / RMEM_BLOCK, in = off % RMEM_BLOCK;
		size_t n = RMEM_BLOCK - in < len ? RMEM_BLOCK - in : len;

		memcpy(out, m->store[s->at[b]] + in, n);
		out += n;
		off += n;
		len -= n;
	}
}

/* Whether [addr, addr + len) could be a process's memory at all. */
static bool plausible(uint64_t addr, size_t len)
{
	return addr >= RMEM_PAGE && addr <= RMEM_ADDR_END && len <= RMEM_ADDR_END - addr;
}

/* Blocks first to last (inclusive). */
static rmem_blocks span(unsigned first, unsigned last)
{
	rmem_blocks upto = last + 1 >= 64 ? ~(rmem_blocks)0 : ((rmem_blocks)1 << (last + 1)) - 1;

	return upto & ~(((rmem_blocks)1 << first) - 1);
}

/* The blocks of a page that [addr, addr + len) covers, as a mask. */
static rmem_blocks block_mask(uint64_t page, uint64_t addr, size_t len)
{
	uint64_t lo = addr > page ? addr : page;
	uint64_t hi = addr + len < page + RMEM_PAGE ? addr + len : page + RMEM_PAGE;
	unsigned first = (unsigned)((lo - page) / RMEM_BLOCK);
	unsigned last = (unsigned)((hi - 1 - page) / RMEM_BLOCK);

	return span(first, last);
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

int rmem_read_ranges(struct rmem *m, struct rmem_range *r, size_t n)
{
	for (size_t i = 0; i < n; i += MAX_IOV) {
		int err = backend_read(m, r + i, n - i < MAX_IOV ? n - i : MAX_IOV);

		if (err)
			return err;
	}
	return 0;
}

static int read_direct(struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	struct rmem_range r = { .addr = addr, .buf = buf, .len = len };
	int err = backend_read(m, &r, 1);

	return err ? err : r.err;
}

/* A batch of page fills, one range each, fetched with one backend call. */
struct fill {
	struct rmem_range r[MAX_IOV];
	struct rmem_slot *slot[MAX_IOV];
	rmem_blocks mask[MAX_IOV];
	size_t n;
	uint32_t id;
};

static void fill_begin(struct rmem *m, struct fill *f)
{
	f->n = 0;
	f->id = ++m->batches;
}

static void note(struct rmem *m, uint64_t addr, size_t len)
{
	xgrow(&m->rec, &m->caprec, m->nrec + 1, sizeof(*m->rec));
	m->rec[m->nrec++] = (struct rmem_range){ .addr = addr, .len = len };
}

/* Note the runs of blocks that reads used of the slot's page, and clear them. */
static void note_used(struct rmem *m, struct rmem_slot *s)
{
	rmem_blocks used = s->used;

	while (used) {
		unsigned first = (unsigned)__builtin_ctzll(used), end = first;

		while (end < RMEM_BLOCKS && (used >> end & 1))
			end++;
		note(m, s->page + first * RMEM_BLOCK, (end - first) * RMEM_BLOCK);
		used &= ~span(first, end - 1);
	}
	s->used = 0;
}

/*
 * The slot for page in this generation: the one holding it, or else the
 * set's least recently claimed slot, emptied.  NULL when every slot of the
 * set was claimed by other pages in this batch (whose data is on its way
 * into them: those win, this page is read another way).
 */
static struct rmem_slot *claim(struct rmem *m, struct fill *f, uint64_t page)
{
	uint16_t *set = set_of(m, page);
	struct rmem_slot *s = find(m, page);

	for (unsigned w = 0; !s && w < RMEM_WAYS; w++) {
		if (!set[w]) {		/* never used: a new slot (a set's ways fill in order) */
			set[w] = (uint16_t)++m->nslots;
			s = &m->slot[set[w] - 1];
		} else if (m->slot[set[w] - 1].gen != m->gen && m->slot[set[w] - 1].batch != f->id) {
			s = &m->slot[set[w] - 1];	/* stale: the best victim */
		}
	}
	if (!s) {		/* every way holds a page of this generation: the least recent */
		struct rmem_slot *lru = NULL;

		for (unsigned w = 0; w < RMEM_WAYS; w++) {
			struct rmem_slot *c = &m->slot[set[w] - 1];

			if (c->batch != f->id && (!lru || c->tick < lru->tick))
				lru = c;
		}
		s = lru;
	}
	if (!s)
		return NULL;
	if (s->batch != f->id)
		s->pending = 0;
	s->batch = f->id;
	s->tick = ++m->ticks;
	if (s->gen != m->gen || s->page != page) {
		if (s->used)
			note_used(m, s);
		s->page = page;
		s->gen = m->gen;
		s->valid = 0;
		s->misses = 0;
	}
	return s;
}

/*
 * Populate the store's pages ahead of the reads that fill them, in chunks
 * that double: the kernel then writes into pages that are there, where a
 * page it first touches in the read costs a fault twice as dear (on a
 * virtual machine, 10 us a page against 5).  Without MADV_POPULATE_WRITE
 * (Linux 5.14) the pages are faulted in by the reads, as ever.
 */
static void populate(struct rmem *m)
{
	uint32_t chunk = m->nready ? m->nready : 64 * 1024 / RMEM_BLOCK;
	uint32_t upto = m->nready + chunk;

	while (upto < m->nstore)
		upto += chunk;
	if (upto > RMEM_STORE)
		upto = RMEM_STORE;
#ifdef MADV_POPULATE_WRITE
	madvise(m->store[m->nready], (size_t)(upto - m->nready) * RMEM_BLOCK, MADV_POPULATE_WRITE);
#endif
	m->nready = upto;
}

/*
 * List what is missing of [addr, addr + len), and not already on its way in
 * this batch: on a page's first miss the blocks asked for, on a miss in a
 * later batch (when whole is set) everything still missing of the page.
 */
static void fill_range(struct rmem *m, struct fill *f, uint64_t addr, size_t len, bool whole)
{
	for (uint64_t page = addr & ~PAGE_MASK; page < addr + len; page += RMEM_PAGE) {
		struct rmem_slot *s;
		rmem_blocks want = block_mask(page, addr, len), have;
		unsigned first, last;

		/*
		 * A store used up by pages evicted and filled again starts
		 * afresh, with the whole cache, between batches; within one,
		 * the rest of the batch is read around the cache.
		 */
		if (!f->n && m->nstore + RMEM_BLOCKS > RMEM_STORE) {
			m->gen++;
			m->nstore = 0;
		}
		s = f->n < MAX_IOV ? claim(m, f, page) : NULL;
		if (!s)
			continue;
		have = s->valid | s->pending;
		if (!(want & ~have))
			continue;
		/* Escalate on a miss in a later batch; within one, ranges are independent objects. */
		if (!s->pending && s->misses++ && whole)
			want = ~have & span(0, RMEM_BLOCKS - 1);
		want &= ~have;
		first = (unsigned)__builtin_ctzll(want);
		last = 63 - (unsigned)__builtin_clzll(want);
		if (m->nstore + (last - first + 1) > RMEM_STORE)
			continue;
		for (unsigned b = first; b <= last; b++)
			s->at[b] = (uint16_t)(m->nstore + b - first);
		f->slot[f->n] = s;
		f->mask[f->n] = span(first, last);
		s->pending |= f->mask[f->n];
		f->r[f->n++] = (struct rmem_range){
			.addr = page + first * RMEM_BLOCK,
			.buf = m->store[m->nstore],
			.len = (last - first + 1) * RMEM_BLOCK,
		};
		m->nstore += last - first + 1;
		if (m->nstore > m->nready)
			populate(m);
	}
}

static void ensure_data(struct rmem *m)
{
	if (!m->store)
		m->store = xpages(sizeof(*m->store) * RMEM_STORE);
}

/* Fetch the listed ranges; a range that fails leaves its blocks invalid. */
static int fill_run(struct rmem *m, struct fill *f)
{
	int err;

	if (!f->n)
		return 0;
	err = backend_read(m, f->r, f->n);
	for (size_t i = 0; i < f->n; i++) {
		if (f->slot[i]->gen != m->gen || f->slot[i]->page != (f->r[i].addr & ~PAGE_MASK))
			continue;
		/* The range's blocks now point at its part of the store: valid only if it came. */
		if (err || f->r[i].err)
			f->slot[i]->valid &= ~f->mask[i];
		else
			f->slot[i]->valid |= f->mask[i];
	}
	f->n = 0;
	return err;
}

/*
 * Fetch just the blocks of a list of ranges (a replay, the deferred reads):
 * as few backend calls as the ranges allow, each range whole in one fill.
 */
static void fill_list(struct rmem *m, const struct rmem_range *r, size_t n)
{
	struct fill f;

	fill_begin(m, &f);
	for (size_t i = 0; i < n; i++) {
		size_t pages = (size_t)((r[i].addr + r[i].len - 1) / RMEM_PAGE - r[i].addr / RMEM_PAGE) + 1;

		if (!r[i].len || !plausible(r[i].addr, r[i].len))
			continue;
		if (f.n + pages > MAX_IOV) {
			fill_run(m, &f);
			fill_begin(m, &f);
		}
		fill_range(m, &f, r[i].addr, r[i].len, false);
	}
	fill_run(m, &f);
}

bool rmem_set_recording(struct rmem *m, bool on)
{
	bool was = m->recording;

	m->recording = on;
	return was;
}

void rmem_replay(struct rmem *m)
{
	bool was = rmem_set_recording(m, false);

	ensure_data(m);
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slot[i].used)
			note_used(m, &m->slot[i]);
	fill_list(m, m->rec, m->nrec);
	m->nrec = 0;
	m->replayed = true;
	rmem_set_recording(m, was);
}

/* Whether all of [addr, addr + len) is in the cache. */
static bool cached(struct rmem *m, uint64_t addr, size_t len)
{
	for (uint64_t page = addr & ~PAGE_MASK; page < addr + len; page += RMEM_PAGE) {
		const struct rmem_slot *s = find(m, page);

		if (!s || (block_mask(page, addr, len) & ~s->valid))
			return false;
	}
	return true;
}

void rmem_defer(struct rmem *m, bool on)
{
	m->deferring = on;
}

bool rmem_fetch_deferred(struct rmem *m)
{
	bool any = m->ndeferred > 0;

	ensure_data(m);
	/* Independent chases land on scattered objects: only the blocks asked for. */
	fill_list(m, m->deferred, m->ndeferred);
	m->ndeferred = 0;
	return any;
}

int rmem_read(struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;
	struct fill f;
	bool hit;
	int err;

	if (len == 0)
		return 0;
	if (!plausible(addr, len))
		return -PS_E_BAD_READ;
	if (len > MAX_CACHED)
		return read_direct(m, addr, buf, len);
	ensure_data(m);
	/* Most reads: within one page, already cached. */
	if ((addr & PAGE_MASK) + len <= RMEM_PAGE) {
		uint64_t page = addr & ~PAGE_MASK;
		struct rmem_slot *s = find(m, page);
		rmem_blocks want = block_mask(page, addr, len);

		if (s && !(want & ~s->valid)) {
			copy_out(m, s, addr - page, len, buf);
			if (m->recording)
				s->used |= want;
			m->stats.hits++;
			return 0;
		}
	}
	if (m->deferring && !cached(m, addr, len)) {
		xgrow(&m->deferred, &m->capdeferred, m->ndeferred + 1, sizeof(*m->deferred));
		m->deferred[m->ndeferred++] = (struct rmem_range){ .addr = addr, .len = len };
		return -PS_E_DEFERRED;
	}
	fill_begin(m, &f);
	fill_range(m, &f, addr, len, true);
	hit = f.n == 0;
	err = fill_run(m, &f);
	if (err)
		return err;
	for (uint64_t a = addr; a < addr + len;) {
		uint64_t page = a & ~PAGE_MASK;
		size_t n = page + RMEM_PAGE - a < addr + len - a ? page + RMEM_PAGE - a : addr + len - a;
		struct rmem_slot *s = find(m, page);
		rmem_blocks want = block_mask(page, a, n);

		/* Not all there (evicted, or a backend that knows part of a page): ask exactly. */
		if (!s || (want & ~s->valid)) {
			if (m->recording)
				note(m, addr, len);
			return read_direct(m, addr, buf, len);
		}
		if (m->recording)
			s->used |= want;
		copy_out(m, s, a - page, n, out);
		out += n;
		a += n;
	}
	m->stats.hits += hit;
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
		size_t chunk = RMEM_BLOCK - ((addr + got) % RMEM_BLOCK);
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
	struct fill f;

	if (!len || len > MAX_CACHED)
		return;
	ensure_data(m);
	fill_begin(m, &f);
	for (size_t i = 0; i < n && f.n < MAX_IOV; i++) {
		if (!plausible(addrs[i], len))
			continue;
		/* After a replay, what a page lacks was not used before: fetch only pages never seen. */
		if (m->replayed && find(m, addrs[i] & ~PAGE_MASK))
			continue;
		fill_range(m, &f, addrs[i], len, true);
	}
	fill_run(m, &f);
}

void rmem_prefetch_ranges(struct rmem *m, const struct rmem_range *r, size_t n)
{
	struct rmem_range *unseen = NULL;
	size_t k = 0;

	ensure_data(m);
	if (m->replayed) {
		unseen = xmalloc((n ? n : 1) * sizeof(*unseen));
		for (size_t i = 0; i < n; i++)
			if (!find(m, r[i].addr & ~PAGE_MASK))
				unseen[k++] = r[i];
		r = unseen;
		n = k;
	}
	fill_list(m, r, n);
	free(unseen);
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

/*
 * Ranges closer than this are fetched as one remote range, the bytes between them
 * dropped: less than a page, so those bytes lie on the pages of the two ranges, mapped.
 * The kernel's cost is per remote range as well as per page, and the objects of many
 * independent chases (thousands of tasks) lie close together in the allocator's pools.
 */
#define MAX_GAP		2048

static int by_range_addr(const void *a, const void *b)
{
	const struct rmem_range *x = *(const struct rmem_range *const *)a;
	const struct rmem_range *y = *(const struct rmem_range *const *)b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int live_readv(struct rmem *m, struct rmem_range *r, size_t n)
{
	static unsigned char gap_sink[MAX_GAP];
	struct rmem_live *l = (struct rmem_live *)m;
	struct iovec local[MAX_IOV], remote[MAX_IOV];
	struct rmem_range **v;
	size_t i = 0;

	if (l->no_vm_readv)
		return live_readv_mem(l, r, n);
	v = xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t k = 0; k < n; k++)
		v[k] = &r[k];
	qsort(v, n, sizeof(*v), by_range_addr);
	while (i < n) {
		size_t nl = 0, nr = 0, end = i;
		uint64_t run_end = 0;
		ssize_t got;

		/* Each range, and a gap before it, is a local buffer: at most two each. */
		while (end < n && nl + 2 <= MAX_IOV) {
			uint64_t a = v[end]->addr;

			if (nr && a >= run_end && a - run_end <= MAX_GAP) {
				if (a > run_end)
					local[nl++] = (struct iovec){ gap_sink, (size_t)(a - run_end) };
				remote[nr - 1].iov_len += (size_t)(a - run_end) + v[end]->len;
			} else {
				remote[nr++] = (struct iovec){ (void *)(uintptr_t)a, v[end]->len };
			}
			local[nl++] = (struct iovec){ v[end]->buf, v[end]->len };
			run_end = a + v[end]->len;
			end++;
		}
		got = process_vm_readv(l->pid, local, nl, remote, nr, 0);
		if (got < 0) {
			if (errno == ENOSYS) {
				free(v);
				l->no_vm_readv = true;
				return live_readv_mem(l, r, n);
			}
			if (errno != EFAULT) {
				free(v);
				return errno_to_err(errno);
			}
			got = 0;
		}
		/* Whole ranges succeed in address order until the first that fails. */
		for (size_t k = i, nk = 0; k < end; k++) {
			uint64_t need = v[k]->len;

			/* The gap before a range of the same remote range is read with it. */
			if (k > i && nk < nl && local[nk].iov_base == gap_sink)
				need += local[nk++].iov_len;
			nk++;
			if (got < (ssize_t)need) {
				v[k]->err = -PS_E_BAD_READ;
				end = k + 1;
				break;
			}
			v[k]->err = 0;
			got -= (ssize_t)need;
		}
		i = end;
	}
	free(v);
	return 0;
}

static void live_destroy(struct rmem *m)
{
	struct rmem_live *l = (struct rmem_live *)m;

	if (l->memfd >= 0)
		close(l->memfd);
	pages_free(l, sizeof(*l));
}

static const struct rmem_ops live_ops = {
	.readv = live_readv,
	.destroy = live_destroy,
};

struct rmem *rmem_live_new(pid_t pid)
{
	struct rmem_live *l = xpages(sizeof(*l));

	rmem_init(&l->base, &live_ops);
	l->pid = pid;
	l->memfd = -1;
	return &l->base;
}

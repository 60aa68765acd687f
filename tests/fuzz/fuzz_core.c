/*
 * The fuzz target over the core-file reader (make fuzz, FUZZ_TARGET=core).
 *
 * Each input is written to a memfd and opened as a core through
 * /proc/self/fd/N, as `pystack core` opens a file: then every accessor,
 * the maps, and reads through the core's memory reader at the places a
 * session reads (the threads' stacks and instruction pointers, the pages
 * of each mapping, pointers found there) and at addresses the input
 * gives.  The files an NT_FILE note names are looked for under a directory
 * of two small files ("/lib" and "/exe", which the seeds name) made once
 * per process, so no input reads the system's files and every run reads
 * the same bytes.  Each input starts from nothing and frees all it made.
 *
 * Built with clang's libFuzzer for `make fuzz` (FUZZ_CORE_MAIN gives it
 * its entry point), and with the ordinary compiler under
 * tests/fuzz/replay.c for `make unit`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corefile.h"
#include "fuzz_core.h"
#include "msg.h"
#include "proc.h"
#include "rmem.h"

/* Mappings read, at most; reads at addresses from the input, at most. */
#define MAX_MAPS	64
#define INPUT_ADDRS	4
/* The size of each file of the root (longer than some mappings, shorter than others). */
#define ROOT_FILE	0x3000

static char *root;

static void remove_root(void)
{
	static const char *const names[] = { "lib", "exe" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = xasprintf("%s/%s", root, names[i]);

		unlink(p);
		free(p);
	}
	rmdir(root);
	free(root);
	root = NULL;
}

/* The directory the files of NT_FILE are looked for in: made on first use, removed at exit. */
static const char *fuzz_core_root(void)
{
	static const char *const names[] = { "lib", "exe" };
	unsigned char data[ROOT_FILE];

	if (root)
		return root;
	root = xstrdup("/tmp/pystack-fuzzcore-XXXXXX");
	if (!mkdtemp(root)) {
		fprintf(stderr, "fuzz_core: mkdtemp: %s\n", strerror(errno));
		abort();
	}
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		char *p = xasprintf("%s/%s", root, names[n]);
		FILE *f = fopen(p, "w");

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (unsigned char)((i + (i >> 8) * 31) * 13 + 5 + n);
		if (!f || fwrite(data, 1, sizeof(data), f) != sizeof(data) || fclose(f)) {
			fprintf(stderr, "fuzz_core: %s: %s\n", p, strerror(errno));
			abort();
		}
		free(p);
	}
	atexit(remove_root);
	return root;
}

/* Write the input to a memfd: its descriptor, or -1 (reported). */
static int input_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-core", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0) {
		fprintf(stderr, "fuzz_core: memfd_create: %s\n", strerror(errno));
		abort();
	}
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			fprintf(stderr, "fuzz_core: write: %s\n", strerror(errno));
			abort();
		}
		done += (size_t)n;
	}
	return fd;
}

static void read_at(struct rmem *m, uint64_t addr, size_t len, struct fuzz_core_stats *st)
{
	unsigned char buf[64];

	st->reads++;
	if (!rmem_read(m, addr, buf, len < sizeof(buf) ? len : sizeof(buf)))
		st->good++;
}

/* Read at addr, and at the pointer found there (one step of a stack walk). */
static void chase(struct rmem *m, uint64_t addr, struct fuzz_core_stats *st)
{
	uint64_t v;

	st->reads++;
	if (rmem_read_u64(m, addr, &v))
		return;
	st->good++;
	read_at(m, v, 16, st);
}

/* The ways a session reads one mapping: its edges, across them, its middle, a page of it. */
static void read_map(struct rmem *m, const struct map *mp, struct fuzz_core_stats *st)
{
	uint64_t len = mp->end - mp->start, mid = mp->start + len / 2;
	unsigned char page[RMEM_PAGE];
	struct rmem_range r[2] = {
		{ .addr = mp->start, .buf = page, .len = len < sizeof(page) ? len : sizeof(page) },
		{ .addr = mp->end - 8, .buf = page, .len = 16 },
	};
	char s[32];
	bool cut;

	read_at(m, mp->start, 16, st);
	read_at(m, mp->end - 8, 8, st);
	read_at(m, mp->end - 4, 8, st);		/* past the end */
	read_at(m, mp->start - 4, 8, st);	/* from before it */
	chase(m, mid & ~7ull, st);
	rmem_read_cstr(m, mp->start, s, sizeof(s) - 1, &cut);
	st->reads += 2;
	rmem_read_ranges(m, r, 2);
	st->good += !r[0].err + !r[1].err;
	/* What the cache holds must not be read twice wrongly: again, through it. */
	read_at(m, mp->start + 8, 16, st);
}

static void read_core(struct corefile *c, const uint8_t *data, size_t size,
		      struct fuzz_core_stats *st)
{
	struct rmem *m = rmem_core_new(c, fuzz_core_root());
	struct maps maps;
	int signo;
	uint64_t addr;

	if (!corefile_maps(c, &maps)) {
		st->maps = maps.n;
		for (size_t i = 0; i < maps.n && i < MAX_MAPS; i++)
			read_map(m, &maps.v[i], st);
		for (size_t i = 0; i < maps.nfiles; i++)
			read_at(m, maps.files[i].first->start, 64, st);
		maps_free(&maps);
	}
	for (size_t i = 0; i < corefile_nthreads(c) && i < MAX_MAPS; i++) {
		const struct core_thread *t = corefile_thread(c, i);

		chase(m, t->regs.rsp, st);
		chase(m, t->regs.rbp, st);
		read_at(m, t->regs.rip, 16, st);
	}
	if (corefile_siginfo(c, &signo, &addr))
		read_at(m, addr, 8, st);
	/* The input's last words as addresses: what the fuzzer can aim. */
	for (size_t i = 1; i <= INPUT_ADDRS && i * 8 <= size; i++) {
		memcpy(&addr, data + size - i * 8, 8);
		read_at(m, addr, 8 * i, st);
	}
	rmem_invalidate(m);
	if (corefile_nthreads(c))
		chase(m, corefile_thread(c, 0)->regs.rsp, st);
	rmem_free(m);
}

void fuzz_core_one(const uint8_t *data, size_t size, struct fuzz_core_stats *st)
{
	struct corefile *c;
	char path[64], detail[256];
	int fd = input_fd(data, size);
	const char *exe;
	size_t sum = 0;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	st->err = corefile_open(path, &c, detail, sizeof(detail));
	close(fd);
	if (st->err) {
		/* The reason is one line, and always given. */
		if (!detail[0] || strchr(detail, '\n'))
			abort();
		return;
	}
	/* Read every byte of what the accessors return. */
	sum += (size_t)corefile_pid(c) + strlen(corefile_command(c)) + strlen(corefile_comm(c));
	exe = corefile_exe(c);
	if (exe)
		sum += strlen(exe);
	st->threads = corefile_nthreads(c);
	for (size_t i = 0; i < st->threads; i++) {
		const struct core_thread *t = corefile_thread(c, i);

		sum += (size_t)t->tid + (size_t)t->cursig + t->regs.rip;
	}
	if (corefile_thread(c, st->threads))
		abort();
	sum += corefile_truncated(c);
	read_core(c, data, size, st);
	corefile_free(c);
	/* Keep sum alive, so the reads above are not optimised away. */
	__asm__ volatile("" : : "r"(sum));
}

#ifdef FUZZ_CORE_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_core_stats st;

	fuzz_core_one(data, size, &st);
	return 0;
}
#endif

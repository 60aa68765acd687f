/*
 * Inflating separate debug files for libdw (see debuginfo.h).
 *
 * The copy lives in a memfd: the ELF header and the uncompressed sections
 * at their original offsets, the inflated sections appended, and a new
 * section header table after them.  Sections no symbolizer needs become
 * empty (SHT_NOBITS).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"
#include "dlib.h"
#include "elffile.h"
#include "msg.h"
#include "proc.h"

/* The sections libdw reads for names, source lines and inlined calls. */
static bool wanted(const char *name)
{
	static const char *const keep[] = {
		".debug_info", ".debug_abbrev", ".debug_line", ".debug_line_str", ".debug_str",
		".debug_str_offsets", ".debug_aranges", ".debug_ranges", ".debug_rnglists",
		".debug_addr", ".debug_types",
	};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (!strcmp(name, keep[i]))
			return true;
	return false;
}

/* One section to inflate. */
struct job {
	const unsigned char *src;
	size_t srclen;
	unsigned char *dst;
	size_t dstlen;
	bool ok;
};

/* libdeflate when installed (about twice as fast), else zlib. */
static struct {
	bool tried;
	void *(*alloc)(void);
	int (*zlib)(void *, const void *, size_t, void *, size_t, size_t *);
	void (*release)(void *);
	int (*uncompress)(unsigned char *, unsigned long *, const unsigned char *, unsigned long);
} z;

static void load_inflaters(void)
{
	static const char *const deflate[] = { "libdeflate.so.0", NULL };
	static const char *const zlib[] = { "libz.so.1", NULL };
	const struct dlib_sym deflate_syms[] = {
		{ "libdeflate_alloc_decompressor", (void **)&z.alloc },
		{ "libdeflate_zlib_decompress", (void **)&z.zlib },
		{ "libdeflate_free_decompressor", (void **)&z.release },
	};
	const struct dlib_sym zlib_sym = { "uncompress", (void **)&z.uncompress };
	char why[128];

	if (z.tried)
		return;
	z.tried = true;
	if (!dlib_load(NULL, deflate, deflate_syms, sizeof(deflate_syms) / sizeof(deflate_syms[0]),
		       "libdeflate0", why, sizeof(why)))
		z.alloc = NULL;
	if (!dlib_load(NULL, zlib, &zlib_sym, 1, "zlib1g", why, sizeof(why)))
		z.uncompress = NULL;
}

static void *run(void *arg)
{
	struct job *j = arg;

	if (z.alloc) {
		void *d = z.alloc();
		size_t got = 0;

		j->ok = d && z.zlib(d, j->src, j->srclen, j->dst, j->dstlen, &got) == 0 &&
			got == j->dstlen;
		if (d)
			z.release(d);
	} else if (z.uncompress) {
		unsigned long got = j->dstlen;

		j->ok = z.uncompress(j->dst, &got, j->src, j->srclen) == 0 && got == j->dstlen;
	}
	return NULL;
}

static int by_size(const void *a, const void *b)
{
	const struct job *x = a, *y = b;

	return x->dstlen < y->dstlen ? 1 : x->dstlen > y->dstlen ? -1 : 0;
}

/* Inflate every job: the largest on a second thread, the rest on this one. */
static bool run_all(struct job *jobs, size_t n)
{
	pthread_t th;
	bool threaded = false, ok = true;

	qsort(jobs, n, sizeof(*jobs), by_size);
	if (n > 1)
		threaded = pthread_create(&th, NULL, run, &jobs[0]) == 0;
	for (size_t i = threaded ? 1 : 0; i < n; i++)
		run(&jobs[i]);
	if (threaded)
		pthread_join(th, NULL);
	for (size_t i = 0; i < n; i++)
		ok = ok && jobs[i].ok;
	return ok;
}

static uint64_t align16(uint64_t v)
{
	return (v + 15) & ~(uint64_t)15;
}

/*
 * A file to write the copy into: a fresh file in the cache directory (to be
 * renamed to cache_path when complete), or, without one, a memfd.
 */
static int open_output(const char *cache_path, char **tmp)
{
	int fd;

	*tmp = NULL;
	if (cache_path) {
		*tmp = xasprintf("%s.%d.tmp", cache_path, (int)getpid());
		fd = open(*tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		free(*tmp);
		*tmp = NULL;
	}
	return memfd_create("pystack-debuginfo", MFD_CLOEXEC);
}

static int inflate_to(int fd, const char *cache_path)
{
	struct stat st;
	const unsigned char *in;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	Elf64_Shdr *osh = NULL;
	struct job *jobs = NULL;
	size_t size, njobs = 0, changed = 0;
	uint64_t pos;
	unsigned char *out = MAP_FAILED;
	char *tmp = NULL;
	int mfd = -1;

	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return -1;
	size = (size_t)st.st_size;
	in = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (in == MAP_FAILED)
		return -1;
	eh = (const Elf64_Ehdr *)in;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shstrndx >= eh->e_shnum || eh->e_shoff > size ||
	    (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		goto out;
	sh = (const Elf64_Shdr *)(in + eh->e_shoff);
	if (sh[eh->e_shstrndx].sh_offset > size ||
	    sh[eh->e_shstrndx].sh_size > size - sh[eh->e_shstrndx].sh_offset)
		goto out;
	osh = xmalloc(eh->e_shnum * sizeof(*osh));
	memcpy(osh, sh, eh->e_shnum * sizeof(*osh));
	jobs = xcalloc(eh->e_shnum, sizeof(*jobs));
	pos = align16(size);
	for (size_t i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
		const char *name;
		Elf64_Chdr ch;

		if (!(sh[i].sh_flags & SHF_COMPRESSED) || sh[i].sh_type == SHT_NOBITS)
			continue;
		if (sh[i].sh_name >= strs->sh_size || sh[i].sh_offset > size ||
		    sh[i].sh_size > size - sh[i].sh_offset || sh[i].sh_size < sizeof(ch))
			goto out;
		name = (const char *)in + strs->sh_offset + sh[i].sh_name;
		if (!memchr(name, '\0', strs->sh_size - sh[i].sh_name))
			goto out;
		changed++;
		osh[i].sh_flags &= ~(uint64_t)SHF_COMPRESSED;
		if (!wanted(name)) {
			osh[i].sh_type = SHT_NOBITS;
			osh[i].sh_size = 0;
			continue;
		}
		memcpy(&ch, in + sh[i].sh_offset, sizeof(ch));
		if (ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size > (1ull << 31))
			goto out;	/* zstd, say: let libdw deal with it */
		osh[i].sh_offset = pos;
		osh[i].sh_size = ch.ch_size;
		osh[i].sh_addralign = ch.ch_addralign;
		jobs[njobs++] = (struct job){
			.src = in + sh[i].sh_offset + sizeof(ch), .srclen = sh[i].sh_size - sizeof(ch),
			.dstlen = ch.ch_size,
		};
		jobs[njobs - 1].dst = (unsigned char *)(uintptr_t)pos;	/* an offset until mapped */
		pos = align16(pos + ch.ch_size);
	}
	load_inflaters();
	if (!changed || (!z.alloc && !z.uncompress))
		goto out;
	mfd = open_output(cache_path, &tmp);
	if (mfd < 0 || ftruncate(mfd, (off_t)(pos + eh->e_shnum * sizeof(*osh))))
		goto fail;
	out = mmap(NULL, pos + eh->e_shnum * sizeof(*osh), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (out == MAP_FAILED)
		goto fail;
	/* The headers and the sections kept as they are, at their own offsets. */
	memcpy(out, in, sizeof(*eh));
	((Elf64_Ehdr *)out)->e_shoff = pos;
	if (eh->e_phoff && eh->e_phoff <= size &&
	    (size_t)eh->e_phnum * eh->e_phentsize <= size - eh->e_phoff)
		memcpy(out + eh->e_phoff, in + eh->e_phoff, (size_t)eh->e_phnum * eh->e_phentsize);
	for (size_t i = 0; i < eh->e_shnum; i++)
		if (!(sh[i].sh_flags & SHF_COMPRESSED) && sh[i].sh_type != SHT_NOBITS &&
		    sh[i].sh_offset <= size && sh[i].sh_size <= size - sh[i].sh_offset)
			memcpy(out + sh[i].sh_offset, in + sh[i].sh_offset, sh[i].sh_size);
	memcpy(out + pos, osh, eh->e_shnum * sizeof(*osh));
	for (size_t i = 0; i < njobs; i++)
		jobs[i].dst = out + (uintptr_t)jobs[i].dst;
	if (!run_all(jobs, njobs))
		goto fail;
	munmap(out, pos + eh->e_shnum * sizeof(*osh));
	/* Complete: publish it under its cache name (a failed rename just forgoes the cache). */
	if (tmp && rename(tmp, cache_path))
		unlink(tmp);
	goto out;
fail:
	if (out != MAP_FAILED)
		munmap(out, pos + eh->e_shnum * sizeof(*osh));
	if (mfd >= 0)
		close(mfd);
	if (tmp)
		unlink(tmp);
	mfd = -1;
out:
	free(tmp);
	free(osh);
	free(jobs);
	munmap((void *)in, size);
	return mfd;
}

int debuginfo_inflated(int fd)
{
	return inflate_to(fd, NULL);
}

/*
 * Where the inflated copy of a debug file is kept between runs:
 * $XDG_CACHE_HOME/pystack (or ~/.cache/pystack), by build ID.  NULL when
 * there is no such directory and it cannot be made.
 */
static char *cache_path(const unsigned char *id, int id_len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char hex[2 * 64 + 1], *dir, *path;

	if (id_len < 8 || getenv("PYSTACK_NO_CACHE"))
		return NULL;
	if (xdg && xdg[0] == '/')
		dir = xasprintf("%s/pystack", xdg);
	else if (home && home[0] == '/')
		dir = xasprintf("%s/.cache/pystack", home);
	else
		return NULL;
	for (int i = 0; i < id_len && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	path = xasprintf("%s/%s.debug", dir, hex);
	/* The parent (~/.cache) may be missing too: make both, privately. */
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0700);
	dir[strlen(dir)] = '/';
	if (mkdir(dir, 0700) && errno != EEXIST) {
		free(path);
		path = NULL;
	}
	free(dir);
	return path;
}

/* Whether the ELF file on fd has a GNU build ID note equal to id. */
static bool build_id_matches(int fd, const unsigned char *id, int id_len)
{
	Elf64_Ehdr eh;
	bool match = false;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_shnum > 4096)
		return false;
	for (unsigned i = 0; i < eh.e_shnum && !match; i++) {
		Elf64_Shdr sh;
		unsigned char note[256];
		const unsigned char *found;

		if (pread(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + i * sizeof(sh))) != sizeof(sh) ||
		    sh.sh_type != SHT_NOTE || sh.sh_size > sizeof(note) ||
		    pread(fd, note, sh.sh_size, (off_t)sh.sh_offset) != (ssize_t)sh.sh_size)
			continue;
		match = id_len > 0 &&
			elf_note_build_id(note, sh.sh_size, sh.sh_addralign, &found) == (size_t)id_len &&
			!memcmp(found, id, (size_t)id_len);
	}
	return match;
}

int debuginfo_find(const char *path, const unsigned char *id, int id_len, const char *debuglink,
		   char **found)
{
	char *cand[4] = { NULL }, *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd = -1;
	size_t n = 0;

	if (slash)
		*slash = '\0';
	if (id_len > 1) {
		char hex[2 * 64 + 1];

		for (int i = 1; i < id_len && i < 64; i++)
			snprintf(hex + 2 * (i - 1), 3, "%02x", id[i]);
		cand[n++] = xasprintf("/usr/lib/debug/.build-id/%02x/%s.debug", id[0], hex);
	}
	if (debuglink && !strchr(debuglink, '/')) {
		cand[n++] = xasprintf("%s/%s", dir, debuglink);
		cand[n++] = xasprintf("%s/.debug/%s", dir, debuglink);
		cand[n++] = xasprintf("/usr/lib/debug%s/%s", dir, debuglink);
	}
	for (size_t i = 0; i < n && fd < 0; i++) {
		/* A debug file beside the file could be the file itself: never take that. */
		if (!strcmp(cand[i], path))
			continue;
		fd = open_regular(cand[i]);
		if (fd >= 0 && id_len > 0 && !build_id_matches(fd, id, id_len)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0) {
			char *cached = cache_path(id, id_len);
			int copy = -1;

			/* An earlier run's copy, if it is sound; else make one. */
			if (cached && (copy = open(cached, O_RDONLY | O_CLOEXEC)) >= 0 &&
			    !build_id_matches(copy, id, id_len)) {
				close(copy);
				unlink(cached);
				copy = -1;
			}
			if (copy < 0)
				copy = inflate_to(fd, cached);
			free(cached);
			if (copy >= 0) {
				close(fd);
				fd = copy;
			}
			*found = cand[i];
			cand[i] = NULL;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(cand[i]);
	free(dir);
	return fd;
}

/*
 * The core-file reader: an ELF core of an x86-64 Linux process, mapped
 * read-only and never read whole.  Its program headers give the memory
 * (PT_LOAD) and the notes (PT_NOTE); the notes named "CORE" give the
 * threads (NT_PRSTATUS), the process (NT_PRPSINFO), the fatal signal
 * (NT_SIGINFO), the auxiliary vector (NT_AUXV) and the mapped files
 * (NT_FILE).  Layouts: elf.h, sys/procfs.h, the kernel's fs/binfmt_elf.c and
 * core(5).  Every size and offset the file gives is checked against the
 * mapping before it is used; a file cut short keeps what it holds.
 *
 * The memory reader (rmem_core_new) serves the bytes the core holds and
 * reads those it left out from the mapped files: the kernel leaves out
 * file mappings never written (p_filesz < p_memsz), gdb leaves them out
 * altogether (no PT_LOAD, only the NT_FILE entry).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corecompress.h"
#include "corefile.h"
#include "elffile.h"
#include "errors.h"
#include "msg.h"
#include "proc.h"
#include "rmem.h"

_Static_assert(sizeof(elf_gregset_t) == sizeof(struct user_regs_struct),
	       "pr_reg is a struct user_regs_struct");

/* A PT_LOAD segment. */
struct core_load {
	uint64_t start, end;	/* [p_vaddr, p_vaddr + p_memsz) */
	uint64_t off;		/* p_offset */
	uint64_t filesz;	/* p_filesz: the bytes the core holds */
	uint64_t avail;		/* bytes of p_filesz inside the file (fewer when cut short) */
	uint32_t flags;		/* PF_R, PF_W, PF_X */
};

/* An NT_FILE entry: [start, end) mapped from path at byte offset off. */
struct core_fmap {
	uint64_t start, end, off;
	const char *path;	/* NUL-terminated inside the mapped core */
	size_t pathno;		/* index among the distinct paths */
};

struct corefile {
	const unsigned char *data;
	size_t size;
	struct core_load *load;		/* sorted by start */
	size_t nload;
	struct core_fmap *fmap;		/* sorted by start */
	size_t nfmap;
	size_t npaths;
	size_t *head;			/* per path: its entry at file offset 0, or SIZE_MAX */
	struct core_file_check *checks;	/* per path, once corefile_check_files() ran */
	struct core_thread *thread;
	size_t nthread, capthread;
	pid_t pid;
	char comm[sizeof(((struct elf_prpsinfo *)0)->pr_fname) + 1];
	char args[ELF_PRARGSZ + 1];
	bool have_psinfo, have_siginfo, have_auxv, have_files;
	int signo;
	uint64_t sigaddr;
	uint64_t at_phdr, at_entry, at_vdso;
	const char *exe;
	bool truncated;
};

static const char *machine_name(unsigned machine)
{
	switch (machine) {
	case EM_386: return "i386";
	case EM_ARM: return "ARM";
	case EM_AARCH64: return "AArch64";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_RISCV: return "RISC-V";
	case EM_X86_64: return "x86-64";
	default: return NULL;
	}
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case ET_REL: return "a relocatable object";
	case ET_EXEC: return "an executable";
	case ET_DYN: return "a shared object or PIE";
	default: return "an ELF file of unknown type";
	}
}

/* The ELF identification and header: a core of an x86-64 process? */
static int check_header(const unsigned char *d, size_t size, char *detail, size_t nd)
{
	unsigned type, machine;
	bool big;

	/* The caller saw at least EI_NIDENT + 4 bytes. */
	if (memcmp(d, ELFMAG, SELFMAG))
		return ps_fail(-PS_E_NOT_CORE, detail, nd, "not an ELF file");
	big = d[EI_DATA] == ELFDATA2MSB;
	/* e_type and e_machine lie at the same place in every class. */
	type = big ? (unsigned)d[16] << 8 | d[17] : (unsigned)d[17] << 8 | d[16];
	machine = big ? (unsigned)d[18] << 8 | d[19] : (unsigned)d[19] << 8 | d[18];
	if (type != ET_CORE)
		return ps_fail(-PS_E_NOT_CORE, detail, nd, "not a core file: %s", type_name(type));
	if (d[EI_CLASS] != ELFCLASS64 || d[EI_DATA] != ELFDATA2LSB || machine != EM_X86_64) {
		const char *name = machine_name(machine);
		char num[32];

		if (!name) {
			snprintf(num, sizeof(num), "machine %u", machine);
			name = num;
		}
		return ps_fail(-PS_E_NOT_CORE, detail, nd, "a core of another architecture: %s, %s, %s "
			       "(this pystack reads x86-64 cores: read it with a pystack built for that "
			       "machine)", name, d[EI_CLASS] == ELFCLASS64 ? "64-bit" : "32-bit",
			       big ? "big-endian" : "little-endian");
	}
	if (size < sizeof(Elf64_Ehdr))
		return ps_fail(-PS_E_BAD_CORE, detail, nd, "truncated inside its ELF header");
	return 0;
}

static void note_prstatus(struct corefile *c, const unsigned char *desc)
{
	struct elf_prstatus st;
	struct core_thread *t;

	memcpy(&st, desc, sizeof(st));
	xgrow(&c->thread, &c->capthread, c->nthread + 1, sizeof(*c->thread));
	t = &c->thread[c->nthread++];
	t->tid = st.pr_pid;
	t->cursig = st.pr_cursig;
	memcpy(&t->regs, &st.pr_reg, sizeof(t->regs));
}

/* Copy a fixed-size field that need not end with a NUL, without trailing blanks. */
static void copy_field(char *out, const char *in, size_t len)
{
	size_t n = strnlen(in, len);

	while (n && in[n - 1] == ' ')
		n--;
	memcpy(out, in, n);
	out[n] = '\0';
}

static void note_prpsinfo(struct corefile *c, const unsigned char *desc)
{
	struct elf_prpsinfo ps;

	memcpy(&ps, desc, sizeof(ps));
	c->have_psinfo = true;
	c->pid = ps.pr_pid;
	copy_field(c->comm, ps.pr_fname, sizeof(ps.pr_fname));
	copy_field(c->args, ps.pr_psargs, sizeof(ps.pr_psargs));
}

static void note_siginfo(struct corefile *c, const unsigned char *desc)
{
	siginfo_t si;

	memcpy(&si, desc, sizeof(si));
	c->have_siginfo = true;
	c->signo = si.si_signo;
	/* A fault's address; a signal sent by kill() (si_code <= 0) has none. */
	switch (si.si_signo) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
		c->sigaddr = si.si_code > 0 ? (uint64_t)(uintptr_t)si.si_addr : 0;
		break;
	default:
		c->sigaddr = 0;
	}
}

static void note_auxv(struct corefile *c, const unsigned char *desc, size_t len)
{
	c->have_auxv = true;
	for (size_t i = 0; i + sizeof(Elf64_auxv_t) <= len; i += sizeof(Elf64_auxv_t)) {
		Elf64_auxv_t a;

		memcpy(&a, desc + i, sizeof(a));
		if (a.a_type == AT_NULL)
			break;
		if (a.a_type == AT_PHDR)
			c->at_phdr = a.a_un.a_val;
		else if (a.a_type == AT_ENTRY)
			c->at_entry = a.a_un.a_val;
		else if (a.a_type == AT_SYSINFO_EHDR)
			c->at_vdso = a.a_un.a_val;
	}
}

static int cmp_fmap(const void *a, const void *b)
{
	const struct core_fmap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_path(const void *a, const void *b)
{
	const struct core_fmap *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/*
 * Number the distinct paths, so that a reader opens each file once, and
 * note where each file's start is mapped (see file_flags).
 */
static void number_paths(struct corefile *c)
{
	struct core_fmap **by = xmalloc((c->nfmap ? c->nfmap : 1) * sizeof(*by));

	for (size_t i = 0; i < c->nfmap; i++)
		by[i] = &c->fmap[i];
	qsort(by, c->nfmap, sizeof(*by), cmp_path);
	for (size_t i = 0; i < c->nfmap; i++) {
		if (i && strcmp(by[i - 1]->path, by[i]->path))
			c->npaths++;
		by[i]->pathno = c->npaths;
	}
	if (c->nfmap)
		c->npaths++;
	free(by);
	c->head = xmalloc((c->npaths ? c->npaths : 1) * sizeof(*c->head));
	for (size_t i = 0; i < c->npaths; i++)
		c->head[i] = SIZE_MAX;
	for (size_t i = 0; i < c->nfmap; i++)
		if (c->fmap[i].off == 0 && c->head[c->fmap[i].pathno] == SIZE_MAX)
			c->head[c->fmap[i].pathno] = i;
}

/*
 * NT_FILE: count and page size, count (start, end, page offset) triples,
 * then count NUL-terminated paths.
 */
static int note_file(struct corefile *c, const unsigned char *desc, size_t len,
		     char *detail, size_t nd)
{
	uint64_t count, page, tri[3];
	const char *s, *end = (const char *)desc + len;

	if (len < 16)
		return ps_fail(-PS_E_BAD_CORE, detail, nd, "NT_FILE of %zu bytes", len);
	memcpy(&count, desc, 8);
	memcpy(&page, desc + 8, 8);
	if (count > (len - 16) / 24)
		return ps_fail(-PS_E_BAD_CORE, detail, nd,
			       "NT_FILE: %llu entries do not fit in %zu bytes",
			       (unsigned long long)count, len);
	c->fmap = xcalloc(count ? count : 1, sizeof(*c->fmap));
	s = (const char *)desc + 16 + count * 24;
	for (size_t i = 0; i < count; i++) {
		struct core_fmap *f = &c->fmap[i];
		const char *nul = memchr(s, '\0', (size_t)(end - s));

		memcpy(tri, desc + 16 + i * 24, sizeof(tri));
		if (!nul)
			return ps_fail(-PS_E_BAD_CORE, detail, nd, "NT_FILE: path %zu not terminated", i);
		if (tri[1] <= tri[0] || __builtin_mul_overflow(tri[2], page, &f->off))
			return ps_fail(-PS_E_BAD_CORE, detail, nd, "NT_FILE: entry %zu is not a range", i);
		f->start = tri[0];
		f->end = tri[1];
		f->path = s;
		s = nul + 1;
	}
	c->nfmap = count;
	c->have_files = true;
	qsort(c->fmap, c->nfmap, sizeof(*c->fmap), cmp_fmap);
	number_paths(c);
	return 0;
}

/*
 * The notes of one PT_NOTE segment of seglen bytes, of which have are in
 * the file.  A note larger than its segment is damage; one that runs past
 * the end of the file is where the file was cut.
 */
static int parse_notes(struct corefile *c, const unsigned char *p, uint64_t seglen, uint64_t have,
		       char *detail, size_t nd)
{
	uint64_t pos = 0;

	while (pos < seglen) {
		Elf64_Nhdr h;
		uint64_t name, desc, next;
		int err = 0;

		if (seglen - pos < sizeof(h))
			break;		/* padding, no room for a note */
		/* The padding of the last note kept may lie past the cut. */
		if (have < pos || have - pos < sizeof(h)) {
			c->truncated = true;
			return 0;
		}
		memcpy(&h, p + pos, sizeof(h));
		/* Core notes are aligned on 4 bytes, in 64-bit cores too. */
		name = pos + sizeof(h);
		desc = name + (((uint64_t)h.n_namesz + 3) & ~3ull);
		next = desc + (((uint64_t)h.n_descsz + 3) & ~3ull);
		if (desc + h.n_descsz > seglen)
			return ps_fail(-PS_E_BAD_CORE, detail, nd,
				       "note at +0x%llx (type %u): name %u, desc %u bytes exceed its segment",
				       (unsigned long long)pos, h.n_type, h.n_namesz, h.n_descsz);
		if (desc + h.n_descsz > have) {
			c->truncated = true;
			return 0;
		}
		pos = next < seglen ? next : seglen;
		if (h.n_namesz != sizeof("CORE") || memcmp(p + name, "CORE", sizeof("CORE")))
			continue;
		switch (h.n_type) {
		case NT_PRSTATUS:
			if (h.n_descsz < sizeof(struct elf_prstatus))
				err = -1;
			else
				note_prstatus(c, p + desc);
			break;
		case NT_PRPSINFO:
			if (h.n_descsz < sizeof(struct elf_prpsinfo))
				err = -1;
			else if (!c->have_psinfo)
				note_prpsinfo(c, p + desc);
			break;
		case NT_SIGINFO:
			if (h.n_descsz < sizeof(siginfo_t))
				err = -1;
			else if (!c->have_siginfo)
				note_siginfo(c, p + desc);
			break;
		case NT_AUXV:
			if (!c->have_auxv)
				note_auxv(c, p + desc, h.n_descsz);
			break;
		case NT_FILE:
			if (!c->have_files && (err = note_file(c, p + desc, h.n_descsz, detail, nd)))
				return err;
			break;
		}
		if (err)
			return ps_fail(-PS_E_BAD_CORE, detail, nd, "note type %u of %u bytes: too short",
				       h.n_type, h.n_descsz);
	}
	return 0;
}

static int cmp_load(const void *a, const void *b)
{
	const struct core_load *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int parse_phdrs(struct corefile *c, char *detail, size_t nd)
{
	Elf64_Ehdr eh;
	uint64_t phnum;
	size_t cap = 0;

	memcpy(&eh, c->data, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return ps_fail(-PS_E_BAD_CORE, detail, nd, "program headers of %u bytes", eh.e_phentsize);
	phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		/* More than 65534 segments: the count is in section header 0. */
		Elf64_Shdr sh;

		if (eh.e_shoff > c->size || c->size - eh.e_shoff < sizeof(sh))
			return ps_fail(-PS_E_BAD_CORE, detail, nd, "section header 0 beyond the end");
		memcpy(&sh, c->data + eh.e_shoff, sizeof(sh));
		phnum = sh.sh_info;
	}
	if (eh.e_phoff > c->size || (c->size - eh.e_phoff) / sizeof(Elf64_Phdr) < phnum)
		return ps_fail(-PS_E_BAD_CORE, detail, nd,
			       "%llu program headers at 0x%llx beyond the end of the file (%zu bytes)",
			       (unsigned long long)phnum, (unsigned long long)eh.e_phoff, c->size);
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		uint64_t end, have;
		int err;

		memcpy(&ph, c->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end) ||
		    (ph.p_type == PT_LOAD && (__builtin_add_overflow(ph.p_vaddr, ph.p_memsz, &end) ||
					      ph.p_filesz > ph.p_memsz)))
			return ps_fail(-PS_E_BAD_CORE, detail, nd, "segment %llu is not a range",
				       (unsigned long long)i);
		have = ph.p_offset >= c->size ? 0 : c->size - ph.p_offset;
		if (have < ph.p_filesz)
			c->truncated = true;
		else
			have = ph.p_filesz;
		if (ph.p_type == PT_NOTE) {
			/* Of a segment wholly past the end, no byte is read (have is 0). */
			err = parse_notes(c, c->data + (have ? ph.p_offset : 0), ph.p_filesz, have,
					  detail, nd);
			if (err)
				return err;
			continue;
		}
		if (!ph.p_memsz)
			continue;
		xgrow(&c->load, &cap, c->nload + 1, sizeof(*c->load));
		c->load[c->nload++] = (struct core_load){
			.start = ph.p_vaddr, .end = ph.p_vaddr + ph.p_memsz,
			.off = ph.p_offset, .filesz = ph.p_filesz, .avail = have, .flags = ph.p_flags,
		};
	}
	if (c->nload)
		qsort(c->load, c->nload, sizeof(*c->load), cmp_load);
	return 0;
}

/*
 * How many of n entries (of size bytes each, sorted by start, which each
 * begins with) start at or below addr: the one before that index is the
 * only one that can hold addr.
 */
static size_t starting_by(const void *v, size_t n, size_t size, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (*(const uint64_t *)((const char *)v + mid * size) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The NT_FILE entry that maps addr, or NULL. */
static const struct core_fmap *find_fmap(const struct corefile *c, uint64_t addr)
{
	size_t lo = starting_by(c->fmap, c->nfmap, sizeof(*c->fmap), addr);

	return lo && addr < c->fmap[lo - 1].end ? &c->fmap[lo - 1] : NULL;
}

/*
 * The PT_LOAD that holds addr, or NULL; *next (when not NULL) is where the
 * next one after addr begins (UINT64_MAX: none).
 */
static const struct core_load *find_load(const struct corefile *c, uint64_t addr, uint64_t *next)
{
	size_t lo = starting_by(c->load, c->nload, sizeof(*c->load), addr);

	if (next)
		*next = lo < c->nload ? c->load[lo].start : UINT64_MAX;
	return lo && addr < c->load[lo - 1].end ? &c->load[lo - 1] : NULL;
}

static void find_exe(struct corefile *c)
{
	const struct core_fmap *f = NULL;

	if (c->at_phdr)
		f = find_fmap(c, c->at_phdr & ~0xfffull);
	if (!f && c->at_entry)
		f = find_fmap(c, c->at_entry);
	if (!f && c->nfmap)
		f = &c->fmap[0];
	c->exe = f ? f->path : NULL;
}

int corefile_open(const char *path, struct corefile **out, char *detail, size_t ndetail)
{
	struct corefile *c;
	struct stat st;
	void *data;
	int fd, err;

	*out = NULL;
	if (detail && ndetail)
		detail[0] = '\0';
	/* Not blocking: a FIFO is refused below, not waited on. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return ps_fail(err, detail, ndetail, "cannot open it: %s", strerror(-err));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ps_fail(-PS_E_NOT_CORE, detail, ndetail, "not a regular file");
	}
	/* A compressed core is read from a decompressed copy (corecompress.h). */
	err = corecompress_unpack(path, &fd, &st, CORECOMPRESS_MAX, detail, ndetail);
	if (err) {
		close(fd);
		return err;
	}
	if (st.st_size < EI_NIDENT + 4) {
		close(fd);
		return ps_fail(-PS_E_NOT_CORE, detail, ndetail, "not an ELF file (%lld bytes)",
			       (long long)st.st_size);
	}
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		err = -errno;
		close(fd);
		return ps_fail(err, detail, ndetail, "cannot map it: %s", strerror(-err));
	}
	close(fd);
	c = xcalloc(1, sizeof(*c));
	c->data = data;
	c->size = (size_t)st.st_size;
	err = check_header(c->data, c->size, detail, ndetail);
	if (!err)
		err = parse_phdrs(c, detail, ndetail);
	if (err) {
		corefile_free(c);
		return err;
	}
	if (!c->have_psinfo && c->nthread)
		c->pid = c->thread[0].tid;
	find_exe(c);
	*out = c;
	return 0;
}

void corefile_free(struct corefile *c)
{
	if (!c)
		return;
	munmap((void *)c->data, c->size);
	free(c->load);
	free(c->fmap);
	free(c->head);
	free(c->checks);
	free(c->thread);
	free(c);
}

pid_t corefile_pid(const struct corefile *c)
{
	return c->pid;
}

const char *corefile_command(const struct corefile *c)
{
	return c->args[0] ? c->args : c->comm;
}

const char *corefile_comm(const struct corefile *c)
{
	return c->comm;
}

const char *corefile_exe(const struct corefile *c)
{
	return c->exe;
}

size_t corefile_nthreads(const struct corefile *c)
{
	return c->nthread;
}

const struct core_thread *corefile_thread(const struct corefile *c, size_t i)
{
	return i < c->nthread ? &c->thread[i] : NULL;
}

bool corefile_siginfo(const struct corefile *c, int *signo, uint64_t *addr)
{
	if (!c->have_siginfo)
		return false;
	*signo = c->signo;
	*addr = c->sigaddr;
	return true;
}

bool corefile_truncated(const struct corefile *c)
{
	return c->truncated;
}

/* One maps line; a newline in a path is written \012, as the kernel does. */
static void map_line(FILE *f, uint64_t start, uint64_t end, uint32_t flags, uint64_t off,
		     const char *path)
{
	fprintf(f, "%llx-%llx %c%c%cp %08llx 00:00 0", (unsigned long long)start,
		(unsigned long long)end, flags & PF_R ? 'r' : '-', flags & PF_W ? 'w' : '-',
		flags & PF_X ? 'x' : '-', (unsigned long long)off);
	if (path) {
		fputs("                          ", f);
		for (const char *s = path; *s; s++) {
			if (*s == '\n')
				fputs("\\012", f);
			else
				fputc(*s, f);
		}
	}
	fputc('\n', f);
}

/* len bytes at addr as the core holds them, or NULL. */
static const unsigned char *core_bytes(const struct corefile *c, uint64_t addr, uint64_t len)
{
	const struct core_load *l = find_load(c, addr, NULL);

	if (!l || l->avail < addr - l->start || l->avail - (addr - l->start) < len)
		return NULL;
	return c->data + l->off + (addr - l->start);
}

/*
 * The permissions of a file range no PT_LOAD covers (gdb leaves out file
 * mappings never written): those of the file's segment at that offset, as
 * its program headers say where the core holds them (in its mapping at
 * offset 0, which both the kernel and gdb keep); PF_R when unknown.
 */
static uint32_t file_flags(const struct corefile *c, const struct core_fmap *m, uint64_t off)
{
	const struct core_fmap *head;
	const unsigned char *p;
	Elf64_Ehdr eh;

	if (c->head[m->pathno] == SIZE_MAX)
		return PF_R;
	head = &c->fmap[c->head[m->pathno]];
	if (!(p = core_bytes(c, head->start, sizeof(eh))))
		return PF_R;
	memcpy(&eh, p, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !(p = core_bytes(c, head->start + eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))))
		return PF_R;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, p + i * sizeof(ph), sizeof(ph));
		/* A segment is mapped from the page its p_offset lies in. */
		if (ph.p_type == PT_LOAD && (ph.p_offset & ~0xfffull) <= off &&
		    off - (ph.p_offset & ~0xfffull) < ph.p_filesz + (ph.p_offset & 0xfff))
			return ph.p_flags & (PF_R | PF_W | PF_X);
	}
	return PF_R;
}

/*
 * Walk the address space in order: each PT_LOAD, cut where NT_FILE entries
 * begin and end, and each NT_FILE range no PT_LOAD covers.
 */
int corefile_maps(const struct corefile *c, struct maps *out)
{
	char *text;
	size_t len, li = 0, fi = 0;
	uint64_t cur = 0;
	FILE *f = xopen_memstream(&text, &len);

	while (li < c->nload || fi < c->nfmap) {
		const struct core_load *l = li < c->nload ? &c->load[li] : NULL;
		const struct core_fmap *m = fi < c->nfmap ? &c->fmap[fi] : NULL;
		uint64_t lstart = l ? (l->start > cur ? l->start : cur) : UINT64_MAX;
		uint64_t mstart = m ? (m->start > cur ? m->start : cur) : UINT64_MAX;
		uint64_t start = lstart < mstart ? lstart : mstart, end, off;
		bool in_load = l && lstart <= start, in_file = m && mstart <= start;

		if (l && cur >= l->end) {
			li++;
			continue;
		}
		if (m && cur >= m->end) {
			fi++;
			continue;
		}
		/* The piece ends where the next load or file range begins or ends. */
		end = in_load ? l->end : lstart;
		if (in_file && m->end < end)
			end = m->end;
		if (!in_file && mstart < end)
			end = mstart;
		off = in_file ? m->off + (start - m->start) : 0;
		map_line(f, start, end, in_load ? l->flags : file_flags(c, m, off), off,
			 in_file ? m->path : start == c->at_vdso && c->at_vdso ? "[vdso]" : NULL);
		cur = end;
	}
	xclose_memstream(f);
	return maps_parse(text, len, out);
}

/*
 * The build IDs of the files the process had mapped.  The same walk reads
 * the core's copy of a file's first pages and the file itself: its ELF
 * header, its program headers, its PT_NOTE segments, each through a
 * function that reads at a file offset and may return fewer bytes (the
 * core may hold only the first page).  Sizes are bounded before anything
 * is allocated: no real file has more than a few dozen segments, nor notes
 * of more than a few hundred bytes.
 */
#define PHDRS_MAX	1024
#define NOTES_MAX	0x10000
#define BUILD_ID_MAX	((CORE_BUILD_ID_HEX - 1) / 2)

/* Up to len bytes at file offset off into buf: how many were read (0: none). */
typedef size_t (*file_reader)(void *ctx, void *buf, size_t len, uint64_t off);

/*
 * The GNU build ID of the file rd reads: its length (the first
 * BUILD_ID_MAX bytes copied to id), 0 when it has none that can be read,
 * -1 when it is not a 64-bit little-endian ELF file with readable program
 * headers.
 */
static int elf_build_id(file_reader rd, void *ctx, unsigned char *id)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	size_t len = 0, phsize;

	if (rd(ctx, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > PHDRS_MAX)
		return -1;
	phsize = (size_t)eh.e_phnum * sizeof(*ph);
	ph = xmalloc(phsize);
	if (rd(ctx, ph, phsize, eh.e_phoff) != phsize) {
		free(ph);
		return -1;
	}
	for (size_t i = 0; i < eh.e_phnum && !len; i++) {
		const unsigned char *found;
		unsigned char *notes;
		size_t got;

		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > NOTES_MAX)
			continue;
		notes = xmalloc((size_t)ph[i].p_filesz);
		got = rd(ctx, notes, (size_t)ph[i].p_filesz, ph[i].p_offset);
		len = elf_note_build_id(notes, got, ph[i].p_align, &found);
		if (len)
			memcpy(id, found, len < BUILD_ID_MAX ? len : BUILD_ID_MAX);
		free(notes);
	}
	free(ph);
	return (int)(len < BUILD_ID_MAX ? len : BUILD_ID_MAX);
}

/* The core's copy of one mapped file: its bytes the core holds, in any mapping of it. */
struct core_copy {
	const struct corefile *c;
	size_t pathno;
};

static size_t read_core_copy(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct core_copy *cc = ctx;
	const struct corefile *c = cc->c;

	for (size_t i = 0; i < c->nfmap; i++) {
		const struct core_fmap *f = &c->fmap[i];
		uint64_t in = off - f->off, addr, n;
		const struct core_load *l;

		if (f->pathno != cc->pathno || off < f->off || in >= f->end - f->start)
			continue;
		addr = f->start + in;
		l = find_load(c, addr, NULL);
		if (!l || addr - l->start >= l->avail)
			continue;
		n = l->avail - (addr - l->start);
		if (f->end - addr < n)
			n = f->end - addr;
		if (len < n)
			n = len;
		memcpy(buf, c->data + l->off + (addr - l->start), (size_t)n);
		return (size_t)n;
	}
	return 0;
}

static size_t read_fd(void *ctx, void *buf, size_t len, uint64_t off)
{
	ssize_t got;

	if (off > INT64_MAX)
		return 0;
	got = pread(*(const int *)ctx, buf, len, (off_t)off);
	return got > 0 ? (size_t)got : 0;
}

static void hex(char *out, const unsigned char *id, int len)
{
	out[0] = '\0';
	for (int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/*
 * Compare path (opened as it is) with the core's copy of path number
 * pathno.  Returns 0 with *out filled, 1 when the core holds no ELF header
 * of it (*out unchecked), or -errno when path cannot be opened or is not
 * a regular file.
 */
static int check_one(const struct corefile *c, size_t pathno, const char *path,
		     struct core_file_check *out)
{
	struct core_copy cc = { .c = c, .pathno = pathno };
	unsigned char core_id[BUILD_ID_MAX], file_id[BUILD_ID_MAX];
	int core_len, file_len, fd;

	memset(out, 0, sizeof(*out));
	core_len = elf_build_id(read_core_copy, &cc, core_id);
	if (core_len < 0)
		return 1;
	fd = open_regular(path);
	if (fd < 0)
		return -errno;
	file_len = elf_build_id(read_fd, &fd, file_id);
	close(fd);
	hex(out->core_id, core_id, core_len);
	hex(out->file_id, file_id, file_len > 0 ? file_len : 0);
	/* An ELF file mapped, something else here: whatever the core says, not the same. */
	out->not_elf = file_len < 0;
	if (out->not_elf)
		out->state = CORE_FILE_DIFFERENT;
	else if (core_len == 0 || file_len == 0)
		out->state = CORE_FILE_UNVERIFIABLE;
	else if (core_len == file_len && !memcmp(core_id, file_id, (size_t)core_len))
		out->state = CORE_FILE_SAME;
	else
		out->state = CORE_FILE_DIFFERENT;
	return 0;
}

size_t corefile_npaths(const struct corefile *c)
{
	return c->npaths;
}

const char *corefile_path(const struct corefile *c, size_t i)
{
	for (size_t k = 0; k < c->nfmap; k++)
		if (c->fmap[k].pathno == i)
			return c->fmap[k].path;
	return NULL;
}

size_t corefile_path_index(const struct corefile *c, const char *path)
{
	for (size_t k = 0; path && k < c->nfmap; k++)
		if (!strcmp(c->fmap[k].path, path))
			return c->fmap[k].pathno;
	return SIZE_MAX;
}

const struct core_file_check *corefile_check(const struct corefile *c, size_t i)
{
	static const struct core_file_check unchecked;

	if (i >= c->npaths)
		return NULL;
	return c->checks ? &c->checks[i] : &unchecked;
}

size_t corefile_check_files(struct corefile *c, const char *sysroot)
{
	struct timespec t0, t1;
	size_t ndiff = 0, nchecked = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	free(c->checks);
	c->checks = xcalloc(c->npaths ? c->npaths : 1, sizeof(*c->checks));
	for (size_t i = 0; i < c->npaths; i++) {
		const char *name = corefile_path(c, i);
		char *path;
		int err;

		/* A file whose start the core does not hold has no copy to compare (check_one). */
		if (name[0] != '/')
			continue;
		path = sysroot ? xasprintf("%s%s", sysroot, name) : xstrdup(name);
		err = check_one(c, i, path, &c->checks[i]);
		if (err < 0)
			debug_msg("core: %s not checked: %s", path, strerror(-err));
		else if (err == 0 && c->checks[i].state == CORE_FILE_UNVERIFIABLE)
			debug_msg("core: %s cannot be checked (build ID %s in the core, %s here): "
				  "used as it is", path,
				  c->checks[i].core_id[0] ? c->checks[i].core_id : "none",
				  c->checks[i].file_id[0] ? c->checks[i].file_id : "none");
		nchecked += err == 0;
		ndiff += c->checks[i].state == CORE_FILE_DIFFERENT;
		free(path);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	debug_msg("core: checked the build IDs of %zu of %zu files in %.3f ms; %zu differ", nchecked,
		  c->npaths, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		  ndiff);
	return ndiff;
}

int corefile_check_file(const struct corefile *c, const char *core_path, const char *file,
			struct core_file_check *out)
{
	size_t i = corefile_path_index(c, core_path ? core_path : c->exe);
	int err;

	memset(out, 0, sizeof(*out));
	if (i == SIZE_MAX)
		return 0;
	err = check_one(c, i, file, out);
	return err < 0 ? err : 0;
}

/* The reader: the core's bytes, and the mapped files for those it left out. */
struct rmem_core {
	struct rmem base;		/* must be first */
	struct corefile *core;
	char *sysroot;
	int *fd;			/* per distinct path: -2 not tried, -1 cannot open */
};

static int core_file_fd(struct rmem_core *r, const struct core_fmap *f)
{
	int *fd = &r->fd[f->pathno];

	/* A file known not to be the one mapped: its bytes would be wrong ones. */
	if (*fd == -2 && r->core->checks && r->core->checks[f->pathno].state == CORE_FILE_DIFFERENT)
		*fd = -1;
	if (*fd == -2) {
		char *path = r->sysroot ? xasprintf("%s%s", r->sysroot, f->path) : xstrdup(f->path);

		*fd = open_regular(path);
		if (*fd < 0) {
			debug_msg("core: cannot open %s: %s", path, strerror(errno));
			*fd = -1;
		}
		free(path);
	}
	return *fd;
}

/*
 * Read [addr, addr + len) from the first source that has addr: how many
 * bytes were read (at least 1), or 0 when no source has it.
 */
static size_t core_read_some(struct rmem_core *r, uint64_t addr, unsigned char *buf, size_t len)
{
	const struct corefile *c = r->core;
	uint64_t limit;
	const struct core_load *l = find_load(c, addr, &limit);
	const struct core_fmap *f;
	ssize_t got;
	int fd;

	if (l) {
		uint64_t in = addr - l->start;

		if (in < l->avail) {
			size_t n = l->avail - in < len ? (size_t)(l->avail - in) : len;

			memcpy(buf, c->data + l->off + in, n);
			return n;
		}
		/*
		 * Bytes the core held but lost when it was cut short may have
		 * been written in memory: the file would not have them.
		 */
		if (in < l->filesz)
			return 0;
		limit = l->end;
	}
	/* From the file up to where it ends or the core's bytes begin again (limit). */
	f = find_fmap(c, addr);
	if (!f || (fd = core_file_fd(r, f)) < 0)
		return 0;
	if (f->end < limit)
		limit = f->end;
	if (limit - addr < len)
		len = (size_t)(limit - addr);
	got = pread(fd, buf, len, (off_t)(f->off + (addr - f->start)));
	return got > 0 ? (size_t)got : 0;
}

static int core_readv(struct rmem *m, struct rmem_range *r, size_t n)
{
	struct rmem_core *rc = (struct rmem_core *)m;

	for (size_t i = 0; i < n; i++) {
		unsigned char *buf = r[i].buf;
		uint64_t addr = r[i].addr;
		size_t len = r[i].len;

		r[i].err = 0;
		if (addr >= RMEM_ADDR_END || RMEM_ADDR_END - addr < len) {
			r[i].err = -PS_E_BAD_READ;
			continue;
		}
		while (len) {
			size_t got = core_read_some(rc, addr, buf, len);

			if (!got) {
				r[i].err = -PS_E_BAD_READ;
				break;
			}
			buf += got;
			addr += got;
			len -= got;
		}
	}
	return 0;
}

static void core_destroy(struct rmem *m)
{
	struct rmem_core *r = (struct rmem_core *)m;

	for (size_t i = 0; i < r->core->npaths; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	free(r->fd);
	free(r->sysroot);
	pages_free(r, sizeof(*r));
}

static const struct rmem_ops core_ops = {
	.readv = core_readv,
	.destroy = core_destroy,
};

struct rmem *rmem_core_new(struct corefile *c, const char *sysroot)
{
	struct rmem_core *r = xpages(sizeof(*r));

	rmem_init(&r->base, &core_ops);
	r->core = c;
	r->sysroot = sysroot ? xstrdup(sysroot) : NULL;
	r->fd = xmalloc((c->npaths ? c->npaths : 1) * sizeof(*r->fd));
	for (size_t i = 0; i < c->npaths; i++)
		r->fd[i] = -2;
	return &r->base;
}

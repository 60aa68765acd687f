/*
 * Unit tests: the core-file reader over small synthetic cores written to
 * temporary files (two threads, the process, its signal, its files and
 * auxiliary vector; a segment held whole, one partly left to a "library"
 * file, an executable whose text only NT_FILE tells, as gdb writes it),
 * then the same cores made wrong: another file type, another
 * architecture, cut short, and damaged in every byte of their headers and
 * notes.
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corefile.h"
#include "elffile.h"
#include "errors.h"
#include "msg.h"
#include "proc.h"
#include "rmem.h"
#include "unit.h"

#define LOAD1		0x400000ull	/* anonymous, 2 pages, all in the core */
#define LOAD2		0x7f0000000000ull	/* the library: 3 pages, the first in the core */
#define EXE		0x7f1000000000ull	/* the executable, not the first file: its ELF header
						   in the core, its text in NT_FILE only */
#define LIB_OFF		0x1000ull	/* where in the library LOAD2 begins */
#define NPHDR		4		/* PT_NOTE, LOAD2, LOAD1, the executable's header */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static size_t put(struct buf *b, const void *data, size_t len)
{
	size_t at = b->len;

	xgrow(&b->p, &b->cap, b->len + len, 1);
	if (data)
		memcpy(b->p + b->len, data, len);
	else
		memset(b->p + b->len, 0, len);
	b->len += len;
	return at;
}

static void pad4(struct buf *b)
{
	while (b->len % 4)
		put(b, "", 1);
}

/* A note; returns the offset of its header. */
static size_t note(struct buf *b, const char *name, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr h = { .n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = (uint32_t)len,
			 .n_type = type };
	size_t at = put(b, &h, sizeof(h));

	put(b, name, h.n_namesz);
	pad4(b);
	put(b, desc, len);
	pad4(b);
	return at;
}

static unsigned char lib_byte(uint64_t off)
{
	return (unsigned char)((off + (off >> 8) * 31) * 13 + 5);
}

static unsigned char anon_byte(uint64_t addr)
{
	return (unsigned char)(addr * 7 + (addr >> 8));
}

/* Where the parts of the synthetic core are. */
struct layout {
	size_t prstatus;	/* the first NT_PRSTATUS header */
	size_t file_note;	/* the NT_FILE header */
	size_t notes_end;
	size_t load1;		/* LOAD1's bytes */
};

static void thread_note(struct buf *b, pid_t tid, int sig, uint64_t rip, uint64_t rsp)
{
	struct elf_prstatus st = { .pr_cursig = (short)sig, .pr_pid = tid };
	struct user_regs_struct regs = { .rip = rip, .rsp = rsp };

	memcpy(&st.pr_reg, &regs, sizeof(regs));
	note(b, "CORE", NT_PRSTATUS, &st, sizeof(st));
}

/*
 * Build IDs.  The executable's header page, in the core at lay.notes_end,
 * gets a PT_NOTE with an ABI tag and a build ID note at 0x200; the file
 * the sysroot holds for it is another small ELF file with a build ID of
 * its own, or none.
 */
#define NOTE_AT		0x200

static const unsigned char id_a[20] = { 0xab, 0xcd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					11, 12, 13, 14, 15, 16, 17, 0xef };
static const unsigned char id_b[20] = { 0xab, 0xcd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					11, 12, 13, 14, 15, 16, 17, 0xee };
#define ID_A_HEX	"abcd0102030405060708090a0b0c0d0e0f1011ef"
#define ID_B_HEX	"abcd0102030405060708090a0b0c0d0e0f1011ee"

/*
 * An ELF header page at p with a PT_NOTE of an ABI tag and, when id, a
 * build ID (align: the segment's p_align); the notes' length.
 */
static size_t elf_page(unsigned char *p, const unsigned char *id, size_t idlen, uint64_t align)
{
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_phoff = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 3,
	};
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 0, .p_filesz = 0x1000 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000, .p_filesz = 0x1800 },
		{ .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = NOTE_AT, .p_align = align },
	};
	struct buf n = { 0 };
	uint32_t abi[4] = { 0, 3, 2, 0 };

	note(&n, "GNU", NT_GNU_ABI_TAG, abi, sizeof(abi));
	if (align == 8)
		while (n.len % 8)
			put(&n, "", 1);
	if (id)
		note(&n, "GNU", NT_GNU_BUILD_ID, id, idlen);
	ph[2].p_filesz = n.len;
	memcpy(p, &eh, sizeof(eh));
	memcpy(p + sizeof(eh), ph, sizeof(ph));
	memcpy(p + NOTE_AT, n.p, n.len);
	free(n.p);
	return ph[2].p_filesz;
}

static struct buf make_core(struct layout *lay)
{
	struct buf b = { 0 }, n = { 0 };
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = NPHDR,
	};
	struct elf_prpsinfo ps = { .pr_pid = 4242, .pr_fname = "python3",
				   .pr_psargs = "python3 -c pass " };
	siginfo_t si = { .si_signo = SIGSEGV, .si_code = SEGV_MAPERR };
	Elf64_auxv_t auxv[] = {
		{ AT_PAGESZ, { 4096 } }, { AT_PHDR, { EXE + 0x40 } }, { AT_ENTRY, { EXE + 0x100 } },
		{ AT_NULL, { 0 } },
	};
	uint64_t files[] = {
		3, 0x1000,
		LOAD2, LOAD2 + 0x3000, LIB_OFF / 0x1000,
		EXE, EXE + 0x1000, 0,
		EXE + 0x1000, EXE + 0x3000, 1,
	};
	unsigned char xstate[64] = { 0 };
	size_t notes_off = sizeof(eh) + NPHDR * sizeof(Elf64_Phdr), at;

	si.si_addr = (void *)0xdead000;
	note(&n, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
	lay->prstatus = notes_off + n.len;
	thread_note(&n, 4242, SIGSEGV, LOAD2 + 0x1234, LOAD1 + 0x100);
	note(&n, "LINUX", NT_X86_XSTATE, xstate, sizeof(xstate));
	note(&n, "CORE", NT_SIGINFO, &si, sizeof(si));
	note(&n, "CORE", NT_AUXV, auxv, sizeof(auxv));
	{
		struct buf fd = { 0 };

		put(&fd, files, sizeof(files));
		put(&fd, "/libfake.so", sizeof("/libfake.so"));
		put(&fd, "/usr/bin/fakeexe", sizeof("/usr/bin/fakeexe"));
		put(&fd, "/usr/bin/fakeexe", sizeof("/usr/bin/fakeexe"));
		lay->file_note = notes_off + note(&n, "CORE", NT_FILE, fd.p, fd.len);
		free(fd.p);
	}
	thread_note(&n, 4243, 0, LOAD2 + 0x2000, LOAD1 + 0x800);

	Elf64_Phdr ph[NPHDR] = {
		{ .p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = n.len },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_vaddr = LOAD2,
		  .p_filesz = 0x1000, .p_memsz = 0x3000 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_vaddr = LOAD1,
		  .p_filesz = 0x2000, .p_memsz = 0x2000 },
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_vaddr = EXE,
		  .p_filesz = 0x1000, .p_memsz = 0x1000 },
	};

	lay->notes_end = notes_off + n.len;
	ph[3].p_offset = lay->notes_end;
	lay->load1 = lay->notes_end + 0x1000;
	ph[2].p_offset = lay->load1;
	ph[1].p_offset = lay->load1 + 0x2000;
	put(&b, &eh, sizeof(eh));
	put(&b, ph, sizeof(ph));
	put(&b, n.p, n.len);
	free(n.p);
	at = put(&b, NULL, 0x1000);
	/* The executable's own header: its text is the segment at file offset 0x1000. */
	elf_page(b.p + at, NULL, 0, 4);
	at = put(&b, NULL, 0x2000);
	for (uint64_t i = 0; i < 0x2000; i++)
		b.p[at + i] = anon_byte(LOAD1 + i);
	at = put(&b, NULL, 0x1000);
	memset(b.p + at, 0xaa, 0x1000);	/* not what the library has, to tell the sources apart */
	return b;
}

static char *write_temp(const void *data, size_t len)
{
	char *path = xstrdup("/tmp/pystack-core-XXXXXX");
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, data, len) == (ssize_t)len);
		close(fd);
	}
	return path;
}

static void drop(char *path)
{
	unlink(path);
	free(path);
}

/* Open data as a core; the error, with c set on success. */
static int open_bytes(const void *data, size_t len, struct corefile **c, char *detail, size_t nd)
{
	char *path = write_temp(data, len);
	int err = corefile_open(path, c, detail, nd);

	drop(path);
	return err;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(data, 1, len, f) == len);
		fclose(f);
	}
}

/* A directory with the library as /libfake.so in it (a sysroot); free the path. */
static char *make_sysroot(void)
{
	char *dir = xstrdup("/tmp/pystack-root-XXXXXX");
	char *lib;
	unsigned char data[0x5000];	/* longer than the mapping */

	CHECK(mkdtemp(dir) != NULL);
	for (uint64_t i = 0; i < sizeof(data); i++)
		data[i] = lib_byte(i);
	lib = xasprintf("%s/libfake.so", dir);
	write_file(lib, data, sizeof(data));
	free(lib);
	return dir;
}

static void drop_sysroot(char *dir)
{
	char *lib = xasprintf("%s/libfake.so", dir);

	unlink(lib);
	rmdir(dir);
	free(lib);
	free(dir);
}

static void accessors(void)
{
	struct layout lay;
	struct buf b = make_core(&lay);
	struct corefile *c;
	char detail[256];
	int signo = 0;
	uint64_t addr = 0;

	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), 0);
	free(b.p);
	if (!c)
		return;
	CHECK_INT(corefile_pid(c), 4242);
	CHECK_STR(corefile_command(c), "python3 -c pass");
	CHECK_STR(corefile_comm(c), "python3");
	CHECK_STR(corefile_exe(c), "/usr/bin/fakeexe");
	CHECK_INT(corefile_nthreads(c), 2);
	CHECK_INT(corefile_thread(c, 0)->tid, 4242);
	CHECK_INT(corefile_thread(c, 0)->cursig, SIGSEGV);
	CHECK_INT(corefile_thread(c, 0)->regs.rip, LOAD2 + 0x1234);
	CHECK_INT(corefile_thread(c, 0)->regs.rsp, LOAD1 + 0x100);
	CHECK_INT(corefile_thread(c, 1)->tid, 4243);
	CHECK_INT(corefile_thread(c, 1)->cursig, 0);
	CHECK_INT(corefile_thread(c, 1)->regs.rip, LOAD2 + 0x2000);
	CHECK(corefile_thread(c, 2) == NULL);
	CHECK(corefile_siginfo(c, &signo, &addr));
	CHECK_INT(signo, SIGSEGV);
	CHECK_INT(addr, 0xdead000);
	CHECK(!corefile_truncated(c));
	corefile_free(c);
}

static void maps(void)
{
	struct layout lay;
	struct buf b = make_core(&lay);
	struct corefile *c;
	struct maps m;

	CHECK_INT(open_bytes(b.p, b.len, &c, NULL, 0), 0);
	free(b.p);
	if (!c)
		return;
	CHECK_INT(corefile_maps(c, &m), 0);
	CHECK_INT(m.n, 4);
	if (m.n == 4) {
		CHECK_INT(m.v[0].start, LOAD1);
		CHECK_INT(m.v[0].end, LOAD1 + 0x2000);
		CHECK(m.v[0].r && m.v[0].w && !m.v[0].x);
		CHECK(m.v[0].path == NULL);
		CHECK_INT(m.v[1].start, LOAD2);
		CHECK_INT(m.v[1].end, LOAD2 + 0x3000);
		CHECK_INT(m.v[1].offset, LIB_OFF);
		CHECK(m.v[1].r && !m.v[1].w && m.v[1].x);
		CHECK_STR(m.v[1].path, "/libfake.so");
		CHECK_INT(m.v[2].start, EXE);
		CHECK_INT(m.v[2].end, EXE + 0x1000);
		CHECK(m.v[2].r && !m.v[2].w && !m.v[2].x);
		CHECK_STR(m.v[2].path, "/usr/bin/fakeexe");
		/* Not in the core: its permissions from the executable's program headers. */
		CHECK_INT(m.v[3].start, EXE + 0x1000);
		CHECK_INT(m.v[3].end, EXE + 0x3000);
		CHECK_INT(m.v[3].offset, 0x1000);
		CHECK(m.v[3].r && !m.v[3].w && m.v[3].x);
		CHECK_STR(m.v[3].path, "/usr/bin/fakeexe");
		CHECK_INT(m.nfiles, 2);
	}
	maps_free(&m);
	corefile_free(c);
}

static bool bytes_are(const unsigned char *got, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t a = addr + i;
		unsigned char want = a < LOAD2 ? anon_byte(a) : a < LOAD2 + 0x1000 ? 0xaa :
				     lib_byte(LIB_OFF + a - LOAD2);

		if (got[i] != want)
			return false;
	}
	return true;
}

static void reads(void)
{
	struct layout lay;
	struct buf b = make_core(&lay);
	struct corefile *c;
	char *root = make_sysroot();
	unsigned char a[64], d[16], e[8], f[8], g[0x2000], h[8];
	struct rmem_range r[] = {
		{ .addr = LOAD1 + 0x10, .buf = a, .len = sizeof(a) },		/* in the core */
		{ .addr = LOAD2 + 0x1000 - 8, .buf = d, .len = sizeof(d) },	/* core, then file */
		{ .addr = 0x600000, .buf = e, .len = sizeof(e) },		/* nothing there */
		{ .addr = EXE + 0x1040, .buf = f, .len = sizeof(f) },		/* a file not found */
		{ .addr = LOAD2 + 0x1000, .buf = g, .len = sizeof(g) },	/* the file, to the end */
		{ .addr = LOAD2 + 0x3000 - 4, .buf = h, .len = sizeof(h) },	/* past its end */
	};
	struct rmem *m;

	CHECK_INT(open_bytes(b.p, b.len, &c, NULL, 0), 0);
	free(b.p);
	if (!c) {
		drop_sysroot(root);
		return;
	}
	m = rmem_core_new(c, root);
	CHECK_INT(rmem_read_ranges(m, r, sizeof(r) / sizeof(r[0])), 0);
	CHECK_INT(r[0].err, 0);
	CHECK(bytes_are(a, r[0].addr, sizeof(a)));
	CHECK_INT(r[1].err, 0);
	CHECK(bytes_are(d, r[1].addr, sizeof(d)));
	CHECK_INT(r[2].err, -PS_E_BAD_READ);
	CHECK_INT(r[3].err, -PS_E_BAD_READ);
	CHECK_INT(r[4].err, 0);
	CHECK(bytes_are(g, r[4].addr, sizeof(g)));
	CHECK_INT(r[5].err, -PS_E_BAD_READ);
	/* Through the cache too, and a pointer read from the file. */
	uint64_t v = 0, want = 0;

	CHECK_INT(rmem_read_u64(m, LOAD2 + 0x2010, &v), 0);
	for (int i = 7; i >= 0; i--)
		want = want << 8 | lib_byte(LIB_OFF + 0x2010 + (uint64_t)i);
	CHECK_INT(v, want);
	CHECK_INT(rmem_read(m, LOAD1 + 0x1ff8, a, 8), 0);
	CHECK(bytes_are(a, LOAD1 + 0x1ff8, 8));
	CHECK_INT(rmem_read(m, LOAD1 + 0x1ff8, a, 16), -PS_E_BAD_READ);
	rmem_free(m);

	/* Without the sysroot the library is not found: only the core's page reads. */
	m = rmem_core_new(c, NULL);
	CHECK_INT(rmem_read(m, LOAD2 + 0x10, a, 8), 0);
	CHECK(bytes_are(a, LOAD2 + 0x10, 8));
	CHECK_INT(rmem_read(m, LOAD2 + 0x1010, a, 8), -PS_E_BAD_READ);
	rmem_free(m);
	corefile_free(c);
	drop_sysroot(root);
}

static void not_core(void)
{
	struct layout lay;
	struct buf b = make_core(&lay);
	struct corefile *c = (struct corefile *)&lay;
	char detail[256], noise[4096];
	char *dir;

	((Elf64_Ehdr *)b.p)->e_type = ET_DYN;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_NOT_CORE);
	CHECK(c == NULL);
	CHECK(strstr(detail, "not a core file") != NULL);

	((Elf64_Ehdr *)b.p)->e_type = ET_CORE;
	((Elf64_Ehdr *)b.p)->e_machine = EM_AARCH64;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_NOT_CORE);
	CHECK(strstr(detail, "another architecture") && strstr(detail, "AArch64"));

	((Elf64_Ehdr *)b.p)->e_machine = EM_X86_64;
	b.p[EI_CLASS] = ELFCLASS32;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_NOT_CORE);
	CHECK(strstr(detail, "another architecture") && strstr(detail, "32-bit"));
	free(b.p);

	srand(12);
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (char)rand();
	CHECK_INT(open_bytes(noise, sizeof(noise), &c, detail, sizeof(detail)), -PS_E_NOT_CORE);
	CHECK_STR(detail, "not an ELF file");
	CHECK_INT(open_bytes("", 0, &c, detail, sizeof(detail)), -PS_E_NOT_CORE);

	dir = xstrdup("/tmp/pystack-dir-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(corefile_open(dir, &c, detail, sizeof(detail)), -PS_E_NOT_CORE);
	rmdir(dir);
	CHECK_INT(corefile_open(dir, &c, detail, sizeof(detail)), -ENOENT);
	CHECK(strstr(detail, "cannot open") != NULL);
	free(dir);
}

static void truncated(void)
{
	struct layout lay;
	struct buf b = make_core(&lay);
	struct corefile *c;
	struct rmem *m;
	unsigned char a[8];
	char detail[256];
	char *root = make_sysroot();

	/*
	 * Cut in LOAD2's page, the core's last: the rest of that page is lost
	 * (memory may differ from the library there), the pages after it the
	 * core never held still read from the library.
	 */
	CHECK_INT(open_bytes(b.p, lay.load1 + 0x2000 + 0x800, &c, detail, sizeof(detail)), 0);
	if (c) {
		CHECK(corefile_truncated(c));
		m = rmem_core_new(c, root);
		CHECK_INT(rmem_read(m, LOAD2 + 0x7f8, a, 8), 0);
		CHECK(bytes_are(a, LOAD2 + 0x7f8, 8));
		CHECK_INT(rmem_read(m, LOAD2 + 0x800, a, 8), -PS_E_BAD_READ);
		CHECK_INT(rmem_read(m, LOAD2 + 0x1000, a, 8), 0);
		CHECK(bytes_are(a, LOAD2 + 0x1000, 8));
		rmem_free(m);
		corefile_free(c);
	}
	drop_sysroot(root);
	/* Cut in LOAD1's second page: its first page and all the notes are there. */
	CHECK_INT(open_bytes(b.p, lay.load1 + 0x1010, &c, detail, sizeof(detail)), 0);
	if (c) {
		CHECK(corefile_truncated(c));
		CHECK_INT(corefile_nthreads(c), 2);
		m = rmem_core_new(c, NULL);
		CHECK_INT(rmem_read(m, LOAD1 + 0x1008, a, 8), 0);
		CHECK(bytes_are(a, LOAD1 + 0x1008, 8));
		CHECK_INT(rmem_read(m, LOAD1 + 0x1010, a, 8), -PS_E_BAD_READ);
		CHECK_INT(rmem_read(m, LOAD2, a, 8), -PS_E_BAD_READ);
		rmem_free(m);
		corefile_free(c);
	}
	/* Cut in the NT_FILE note: what came before it is kept. */
	CHECK_INT(open_bytes(b.p, lay.file_note + 30, &c, detail, sizeof(detail)), 0);
	if (c) {
		CHECK(corefile_truncated(c));
		CHECK_INT(corefile_nthreads(c), 1);
		CHECK_INT(corefile_pid(c), 4242);
		CHECK(corefile_exe(c) == NULL);
		corefile_free(c);
	}
	/* Cut inside the program headers: nothing to go on. */
	CHECK_INT(open_bytes(b.p, sizeof(Elf64_Ehdr) + 10, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	free(b.p);
}

static void damaged(void)
{
	struct layout lay;
	struct buf b = make_core(&lay);
	struct corefile *c;
	char detail[256];
	Elf64_Nhdr *h = (Elf64_Nhdr *)(b.p + lay.prstatus);
	uint64_t *count = (uint64_t *)(b.p + lay.file_note + sizeof(Elf64_Nhdr) + 8), entries = *count;

	h->n_namesz = 0xffffffffu;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	CHECK(strstr(detail, "exceed its segment") != NULL);
	h->n_namesz = 5;
	h->n_descsz = 0xfffffff0u;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	h->n_descsz = 16;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	CHECK(strstr(detail, "too short") != NULL);
	h->n_descsz = sizeof(struct elf_prstatus);
	*count = 1ull << 60;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	CHECK(strstr(detail, "NT_FILE") != NULL);
	*count = entries;
	((Elf64_Ehdr *)b.p)->e_phoff = ~0ull - 8;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	((Elf64_Ehdr *)b.p)->e_phoff = sizeof(Elf64_Ehdr);
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), 0);
	corefile_free(c);

	/* More than 65534 segments: the count is in section header 0, here past the end. */
	((Elf64_Ehdr *)b.p)->e_phnum = PN_XNUM;
	((Elf64_Ehdr *)b.p)->e_shoff = b.len;
	CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), -PS_E_BAD_CORE);
	{
		Elf64_Shdr sh = { .sh_info = NPHDR };
		size_t len = b.len;

		put(&b, &sh, sizeof(sh));
		CHECK_INT(open_bytes(b.p, b.len, &c, detail, sizeof(detail)), 0);
		if (c)
			CHECK_INT(corefile_nthreads(c), 2);
		corefile_free(c);
		b.len = len;
	}
	((Elf64_Ehdr *)b.p)->e_phnum = NPHDR;
	((Elf64_Ehdr *)b.p)->e_shoff = 0;

	/* Every byte of the headers and notes changed in turn: an error or a core, never a crash. */
	for (size_t i = 0; i < lay.notes_end; i++) {
		for (int x = 0x80; x <= 0xff; x += 0x7f) {
			struct maps m;
			struct rmem *r;
			unsigned char a[16];

			b.p[i] ^= (unsigned char)x;
			if (!open_bytes(b.p, b.len, &c, detail, sizeof(detail))) {
				if (!corefile_maps(c, &m))
					maps_free(&m);
				r = rmem_core_new(c, "/nonexistent");
				rmem_read(r, LOAD1, a, sizeof(a));
				rmem_read(r, LOAD2 + 0x1000 - 8, a, sizeof(a));
				rmem_free(r);
				corefile_free(c);
			}
			b.p[i] ^= (unsigned char)x;
		}
	}
	free(b.p);
}

/* The synthetic core with the executable's header page given a build ID (or none). */
static struct buf core_with_id(struct layout *lay, const unsigned char *id, size_t idlen)
{
	struct buf b = make_core(lay);

	memset(b.p + lay->notes_end, 0, 0x1000);
	elf_page(b.p + lay->notes_end, id, idlen, 4);
	return b;
}

/*
 * A sysroot with /usr/bin/fakeexe in it: an ELF file with a build ID of
 * idlen bytes of id (none: NULL), or not ELF.
 */
static char *exe_sysroot(const unsigned char *id, size_t idlen, bool elf)
{
	char *dir = xstrdup("/tmp/pystack-root-XXXXXX"), *path;
	unsigned char data[0x3000];

	CHECK(mkdtemp(dir) != NULL);
	for (uint64_t i = 0; i < sizeof(data); i++)
		data[i] = lib_byte(i);
	if (elf) {
		memset(data, 0, 0x1000);
		elf_page(data, id, idlen, 8);
	}
	path = xasprintf("%s/usr", dir);
	mkdir(path, 0700);
	free(path);
	path = xasprintf("%s/usr/bin", dir);
	mkdir(path, 0700);
	free(path);
	path = xasprintf("%s/usr/bin/fakeexe", dir);
	write_file(path, data, sizeof(data));
	free(path);
	return dir;
}

static void drop_exe_sysroot(char *dir)
{
	static const char *const parts[] = { "/usr/bin/fakeexe", "/usr/bin", "/usr", "" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *p = xasprintf("%s%s", dir, parts[i]);

		if (remove(p))
			CHECK(errno == 0);
		free(p);
	}
	free(dir);
}

/* The check of /usr/bin/fakeexe against root; reads the executable's text after it. */
static const struct core_file_check *check_exe(struct corefile *c, const char *root,
					       size_t ndiff, int text_err)
{
	size_t i = corefile_path_index(c, "/usr/bin/fakeexe");
	struct rmem *m;
	unsigned char a[8];

	CHECK_INT(corefile_check_files(c, root), ndiff);
	CHECK(i != SIZE_MAX);
	CHECK_STR(corefile_path(c, i), "/usr/bin/fakeexe");
	/* The library has no mapping at offset 0 in the core: nothing to compare it with. */
	CHECK_INT(corefile_check(c, corefile_path_index(c, "/libfake.so"))->state,
		  CORE_FILE_UNCHECKED);
	m = rmem_core_new(c, root);
	CHECK_INT(rmem_read(m, EXE + 0x1040, a, sizeof(a)), text_err);
	if (!text_err)
		CHECK(a[0] == lib_byte(0x1040) && a[7] == lib_byte(0x1047));
	/* The core's own bytes of it are the process's, whatever the file. */
	CHECK_INT(rmem_read(m, EXE, a, 4), 0);
	CHECK(!memcmp(a, ELFMAG, SELFMAG));
	rmem_free(m);
	return i == SIZE_MAX ? corefile_check(c, 0) : corefile_check(c, i);
}

/* The core in data (len bytes) checked against root: the executable's state is want, no file differs. */
static void expect_state(const void *data, size_t len, const char *root, enum core_file_state want)
{
	struct corefile *c;

	CHECK_INT(open_bytes(data, len, &c, NULL, 0), 0);
	if (!c)
		return;
	CHECK_INT(corefile_check_files(c, root), 0);
	CHECK_INT(corefile_check(c, corefile_path_index(c, "/usr/bin/fakeexe"))->state, want);
	corefile_free(c);
}

static void build_ids(void)
{
	struct layout lay;
	struct buf b = core_with_id(&lay, id_a, 20), none = core_with_id(&lay, NULL, 0);
	struct buf shorter = core_with_id(&lay, id_a, 16);
	char *same = exe_sysroot(id_a, 20, true), *other = exe_sysroot(id_b, 20, true);
	char *noid = exe_sysroot(NULL, 0, true), *notelf = exe_sysroot(NULL, 0, false);
	char *prefix = exe_sysroot(id_a, 16, true);	/* the same first 16 bytes */
	const struct core_file_check *k;
	struct core_file_check own;
	struct corefile *c;

	CHECK_INT(open_bytes(b.p, b.len, &c, NULL, 0), 0);
	if (c) {
		/* Before any check: everything unchecked, and read. */
		CHECK_INT(corefile_npaths(c), 2);
		CHECK_INT(corefile_check(c, 0)->state, CORE_FILE_UNCHECKED);
		CHECK(corefile_check(c, 2) == NULL);
		CHECK(corefile_path_index(c, "/nowhere") == SIZE_MAX);

		k = check_exe(c, same, 0, 0);
		CHECK_INT(k->state, CORE_FILE_SAME);
		CHECK_STR(k->core_id, ID_A_HEX);
		CHECK_STR(k->file_id, ID_A_HEX);

		k = check_exe(c, other, 1, -PS_E_BAD_READ);
		CHECK_INT(k->state, CORE_FILE_DIFFERENT);
		CHECK(!k->not_elf);
		CHECK_STR(k->core_id, ID_A_HEX);
		CHECK_STR(k->file_id, ID_B_HEX);

		k = check_exe(c, noid, 0, 0);
		CHECK_INT(k->state, CORE_FILE_UNVERIFIABLE);
		CHECK_STR(k->file_id, "");

		k = check_exe(c, notelf, 1, -PS_E_BAD_READ);
		CHECK_INT(k->state, CORE_FILE_DIFFERENT);
		CHECK(k->not_elf);

		k = check_exe(c, prefix, 1, -PS_E_BAD_READ);
		CHECK_INT(k->state, CORE_FILE_DIFFERENT);
		CHECK_STR(k->file_id, "abcd0102030405060708090a0b0c0d0e");

		/* Not there at all: unchecked, and (as before) unreadable. */
		k = check_exe(c, "/nonexistent", 0, -PS_E_BAD_READ);
		CHECK_INT(k->state, CORE_FILE_UNCHECKED);

		/* A file named for the executable (the EXECUTABLE argument). */
		char *path = xasprintf("%s/usr/bin/fakeexe", other);

		CHECK_INT(corefile_check_file(c, NULL, path, &own), 0);
		CHECK_INT(own.state, CORE_FILE_DIFFERENT);
		CHECK_STR(own.file_id, ID_B_HEX);
		free(path);
		path = xasprintf("%s/usr/bin/fakeexe", same);
		CHECK_INT(corefile_check_file(c, "/usr/bin/fakeexe", path, &own), 0);
		CHECK_INT(own.state, CORE_FILE_SAME);
		free(path);
		CHECK_INT(corefile_check_file(c, NULL, "/nonexistent", &own), -ENOENT);
		CHECK_INT(corefile_check_file(c, NULL, same, &own), -EINVAL);	/* a directory */
		CHECK_INT(corefile_check_file(c, "/nowhere", same, &own), 0);
		CHECK_INT(own.state, CORE_FILE_UNCHECKED);
		corefile_free(c);
	}

	/* No build ID in the core's copy: the file is used as it is. */
	CHECK_INT(open_bytes(none.p, none.len, &c, NULL, 0), 0);
	if (c) {
		k = check_exe(c, other, 0, 0);
		CHECK_INT(k->state, CORE_FILE_UNVERIFIABLE);
		CHECK_STR(k->core_id, "");
		CHECK_STR(k->file_id, ID_B_HEX);
		corefile_free(c);
	}

	/* The core's ID the first 16 bytes of the file's: not the same. */
	CHECK_INT(open_bytes(shorter.p, shorter.len, &c, NULL, 0), 0);
	if (c) {
		k = check_exe(c, same, 1, -PS_E_BAD_READ);
		CHECK_INT(k->state, CORE_FILE_DIFFERENT);
		CHECK_STR(k->core_id, "abcd0102030405060708090a0b0c0d0e");
		corefile_free(c);
	}
	free(shorter.p);

	/*
	 * The core cut inside the header page: past the program headers
	 * but before the notes end (no ID in the core), then inside the ELF
	 * header (no copy to compare).
	 */
	expect_state(b.p, lay.notes_end + NOTE_AT + 24, other, CORE_FILE_UNVERIFIABLE);
	expect_state(b.p, lay.notes_end + 0x30, other, CORE_FILE_UNCHECKED);

	/*
	 * The core holds only the first 0x100 bytes of the page (its
	 * p_filesz), or the file's mapping ends at 0x210, inside the build
	 * ID: the bytes after them in the core are not the file's.
	 */
	{
		Elf64_Phdr *exe_ph = (Elf64_Phdr *)(b.p + sizeof(Elf64_Ehdr)) + 3;
		unsigned char *end = b.p + lay.file_note + sizeof(Elf64_Nhdr) + 8 + 16 + 24 + 8;
		uint64_t saved, cut = EXE + NOTE_AT + 0x10;

		exe_ph->p_filesz = 0x100;
		expect_state(b.p, b.len, other, CORE_FILE_UNVERIFIABLE);
		exe_ph->p_filesz = 0x1000;
		memcpy(&saved, end, 8);
		CHECK_INT(saved, EXE + 0x1000);
		memcpy(end, &cut, 8);
		expect_state(b.p, b.len, other, CORE_FILE_UNVERIFIABLE);
		memcpy(end, &saved, 8);
	}

	/* Bogus sizes in the core's copy: no ID found, nothing read out of bounds. */
	{
		/* The page lies at no particular alignment in the core: fields by their offsets. */
		unsigned char *page = b.p + lay.notes_end;
		unsigned char *note_ph = page + sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
		unsigned char *abi = page + NOTE_AT, *bid = abi + 32;	/* after the ABI tag */
		struct {
			unsigned char *field;
			size_t size;
			uint64_t value;
			enum core_file_state state;
		} bogus[] = {
#define NH(at, f) at + offsetof(Elf64_Nhdr, f), 4
#define PH(f) note_ph + offsetof(Elf64_Phdr, f), 8
#define EH(f) page + offsetof(Elf64_Ehdr, f), sizeof(((Elf64_Ehdr *)0)->f)
			{ NH(abi, n_descsz), 0xffffffffu, CORE_FILE_UNVERIFIABLE },
			{ NH(abi, n_namesz), 0xfffffff0u, CORE_FILE_UNVERIFIABLE },
			{ NH(abi, n_descsz), 0x1000, CORE_FILE_UNVERIFIABLE },
			{ NH(bid, n_descsz), 21, CORE_FILE_UNVERIFIABLE },
			{ NH(bid, n_descsz), 0xffffffffu, CORE_FILE_UNVERIFIABLE },
			{ NH(bid, n_namesz), 0xffffffffu, CORE_FILE_UNVERIFIABLE },
			{ PH(p_filesz), 1ull << 40, CORE_FILE_UNVERIFIABLE },
			{ PH(p_filesz), 0x100000, CORE_FILE_UNVERIFIABLE },
			{ PH(p_offset), ~0ull - 4, CORE_FILE_UNVERIFIABLE },
			{ PH(p_offset), 0xff0, CORE_FILE_UNVERIFIABLE },
			{ EH(e_phnum), 0xffff, CORE_FILE_UNCHECKED },
			{ EH(e_phoff), 0xfc0, CORE_FILE_UNCHECKED },
			{ EH(e_phoff), ~0ull - 16, CORE_FILE_UNCHECKED },
			{ EH(e_phentsize), 32, CORE_FILE_UNCHECKED },
#undef NH
#undef PH
#undef EH
		};

		for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
			uint64_t saved = 0;

			memcpy(&saved, bogus[i].field, bogus[i].size);
			memcpy(bogus[i].field, &bogus[i].value, bogus[i].size);
			expect_state(b.p, b.len, other, bogus[i].state);
			memcpy(bogus[i].field, &saved, bogus[i].size);
		}
		/* Every byte of the header page changed in turn: never a crash. */
		for (size_t i = 0; i < NOTE_AT + 0x40; i++) {
			page[i] ^= 0xa5;
			if (!open_bytes(b.p, b.len, &c, NULL, 0)) {
				corefile_check_files(c, other);
				corefile_free(c);
			}
			page[i] ^= 0xa5;
		}
	}
	free(b.p);
	free(none.p);
	drop_exe_sysroot(same);
	drop_exe_sysroot(other);
	drop_exe_sysroot(noid);
	drop_exe_sysroot(prefix);
	drop_exe_sysroot(notelf);
}

/* The note walk itself: alignment, notes of other owners, notes cut short. */
static void note_walk(void)
{
	struct buf n = { 0 };
	const unsigned char *id = NULL;
	uint32_t prop[4] = { 0xc0000002, 4, 3, 0 };

	note(&n, "GNU", NT_GNU_PROPERTY_TYPE_0, prop, sizeof(prop));
	note(&n, "XYZ", NT_GNU_BUILD_ID, id_b, 8);		/* another owner */
	{
		/* "GNU" with a NUL more: another owner too. */
		Elf64_Nhdr h = { .n_namesz = 5, .n_descsz = 8, .n_type = NT_GNU_BUILD_ID };

		put(&n, &h, sizeof(h));
		put(&n, "GNU\0\0\0\0\0", 8);
		put(&n, id_b, 8);
	}
	note(&n, "GNU", NT_GNU_BUILD_ID, id_a, 20);
	CHECK_INT(elf_note_build_id(n.p, n.len, 4, &id), 20);
	CHECK(id && !memcmp(id, id_a, 20));
	CHECK_INT(elf_note_build_id(n.p, n.len - 1, 4, &id), 0);	/* the ID cut short */
	CHECK_INT(elf_note_build_id(n.p, 11, 4, &id), 0);
	CHECK_INT(elf_note_build_id(n.p, 0, 4, &id), 0);
	free(n.p);

	/*
	 * 8-byte alignment, of offsets in the segment (as elfutils'
	 * gelf_getnote reads it): the description after a name that ends at
	 * 18 starts at 24, not 20, and the next note at 32.
	 */
	n = (struct buf){ 0 };
	{
		Elf64_Nhdr h = { .n_namesz = 6, .n_descsz = 4, .n_type = 1 };

		put(&n, &h, sizeof(h));
		put(&n, "LINUX\0", 6);
		put(&n, NULL, 6);
		put(&n, "abcd", 4);
		put(&n, NULL, 4);
		note(&n, "GNU", NT_GNU_BUILD_ID, id_b, 20);
	}
	CHECK_INT(elf_note_build_id(n.p, n.len, 8, &id), 20);
	CHECK(id && !memcmp(id, id_b, 20));
	CHECK_INT(elf_note_build_id(n.p, n.len, 4, &id), 0);
	free(n.p);
}

const struct unit_test corefile_tests[] = {
	{ "corefile_build_ids", build_ids },
	{ "corefile_note_walk", note_walk },
	{ "corefile_accessors", accessors },
	{ "corefile_maps", maps },
	{ "corefile_reads", reads },
	{ "corefile_not_core", not_core },
	{ "corefile_truncated", truncated },
	{ "corefile_damaged", damaged },
	{ NULL, NULL },
};

/* s as a JSON string (bytes above 0x7f as they are: the test's paths are ASCII). */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/*
 * A real core (see tests/integration/test_corefile_unit.py): core COREFILE
 * SYSROOT|- ADDR:LEN...  prints one JSON line of what the core says (its
 * maps among it), then per range the bytes read in hex, or the error.
 */
int core_main(int argc, char **argv)
{
	struct corefile *c;
	struct maps m;
	struct rmem *r;
	char detail[256];
	int err, signo;
	uint64_t sigaddr = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: core COREFILE SYSROOT|- ADDR:LEN...\n");
		return 2;
	}
	err = corefile_open(argv[1], &c, detail, sizeof(detail));
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", argv[1], ps_strerror(err), detail);
		return 1;
	}
	if (corefile_maps(c, &m))
		m.n = 0;
	if (!corefile_siginfo(c, &signo, &sigaddr))
		signo = -1;
	printf("{\"pid\": %d, \"exe\": ", corefile_pid(c));
	json_string(corefile_exe(c) ? corefile_exe(c) : "");
	printf(", \"command\": ");
	json_string(corefile_command(c));
	printf(", \"truncated\": %s, \"maps\": %zu, \"signal\": %d, \"addr\": %llu, \"threads\": [",
	       corefile_truncated(c) ? "true" : "false", m.n, signo, (unsigned long long)sigaddr);
	for (size_t i = 0; i < corefile_nthreads(c); i++)
		printf("%s%d", i ? ", " : "", corefile_thread(c, i)->tid);
	printf("], \"map\": [");
	for (size_t i = 0; i < m.n; i++) {
		const struct map *mp = &m.v[i];

		printf("%s[%llu, %llu, %llu, \"%c%c%c\", ", i ? ", " : "", (unsigned long long)mp->start,
		       (unsigned long long)mp->end, (unsigned long long)mp->offset, mp->r ? 'r' : '-',
		       mp->w ? 'w' : '-', mp->x ? 'x' : '-');
		json_string(mp->path ? mp->path : "");
		printf("]");
	}
	printf("]}\n");
	maps_free(&m);
	r = rmem_core_new(c, strcmp(argv[2], "-") ? argv[2] : NULL);
	for (int i = 3; i < argc; i++) {
		uint64_t addr, len;
		char *colon = strchr(argv[i], ':');
		unsigned char buf[4096];

		if (!colon || (*colon = '\0', !unit_parse_u64(argv[i], &addr)) ||
		    !unit_parse_u64(colon + 1, &len) || len > sizeof(buf)) {
			fprintf(stderr, "bad range %s\n", argv[i]);
			err = 2;
			break;
		}
		err = rmem_read(r, addr, buf, len);
		if (err) {
			printf("error %s\n", ps_strerror(err));
			err = 0;
			continue;
		}
		for (uint64_t k = 0; k < len; k++)
			printf("%02x", buf[k]);
		printf("\n");
	}
	rmem_free(r);
	corefile_free(c);
	return err;
}

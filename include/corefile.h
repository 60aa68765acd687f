/*
 * An ELF core dump of an x86-64 Linux process (as the kernel's core_pattern
 * or gdb's gcore writes it), read through a read-only mapping of the file:
 * its threads and their registers, what the process was and why it died,
 * its maps, and a memory reader over its contents, so that a dead process
 * is read the way a live one is.
 */
#ifndef PYSTACK_COREFILE_H
#define PYSTACK_COREFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct corefile;
struct maps;
struct rmem;

/* One thread, from its NT_PRSTATUS note. */
struct core_thread {
	pid_t tid;
	struct user_regs_struct regs;
	int cursig;		/* the signal it was stopped by (0: none) */
};

/*
 * Open and check a core file.  Returns 0 with *out set (free with
 * corefile_free()), or a negative error with a one-line reason in detail:
 * -PS_E_NOT_CORE (not a regular file, not ELF, not a core, or another
 * architecture: the detail says which), -PS_E_BAD_CORE (headers or notes
 * damaged), or -errno (cannot open or map it).  The detail does not name
 * the file.  A core cut short opens: what is there is kept and
 * corefile_truncated() says so.  The file stays mapped until corefile_free().
 */
int corefile_open(const char *path, struct corefile **out, char *detail, size_t ndetail);
void corefile_free(struct corefile *c);

/* The process id (NT_PRPSINFO, or the first thread's), 0 if unknown. */
pid_t corefile_pid(const struct corefile *c);

/* The command line as NT_PRPSINFO keeps it (at most 80 bytes), else its name; "" if none. */
const char *corefile_command(const struct corefile *c);

/* The name the kernel kept for the process (pr_fname, at most 15 bytes); "" if none. */
const char *corefile_comm(const struct corefile *c);

/*
 * The path of the executable: the NT_FILE entry that maps AT_PHDR (or else
 * AT_ENTRY) of NT_AUXV, else the first NT_FILE entry; NULL without NT_FILE.
 * Valid until corefile_free().
 */
const char *corefile_exe(const struct corefile *c);

/*
 * The threads, in the order of their notes (the one that got the signal
 * first); valid until corefile_free().
 */
size_t corefile_nthreads(const struct corefile *c);
const struct core_thread *corefile_thread(const struct corefile *c, size_t i);

/*
 * The signal that killed the process (NT_SIGINFO): false without one.  addr
 * is the faulting address for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP
 * raised by the kernel, else 0 (another signal, or one sent with kill()).
 */
bool corefile_siginfo(const struct corefile *c, int *signo, uint64_t *addr);

/* Whether the file ends before a segment or note it announces. */
bool corefile_truncated(const struct corefile *c);

/*
 * The process's maps, built as /proc/PID/maps text from the PT_LOAD
 * segments and the NT_FILE note and parsed with maps_parse(); free with
 * maps_free().  A file-backed range with no PT_LOAD (gdb leaves read-only
 * file mappings out) has the permissions of the file's segment there, as
 * the ELF header the core holds (its first page) says, else "r--p".  All
 * are shown private; inodes and devices are 0.
 */
int corefile_maps(const struct corefile *c, struct maps *out);

/*
 * Whether a file the process had mapped is the file here, by their GNU
 * build IDs: the one in the core's copy of the file's first pages (ELF
 * header, program headers, PT_NOTE) and the one in the file's own.
 */
enum core_file_state {
	CORE_FILE_UNCHECKED,	/* not ELF, its first pages not in the core, or not opened */
	CORE_FILE_SAME,		/* the same build ID */
	CORE_FILE_UNVERIFIABLE,	/* one of the two has no build ID: taken as it is */
	CORE_FILE_DIFFERENT,	/* different build IDs: its bytes are not used */
};

#define CORE_BUILD_ID_HEX 129	/* a build ID of up to 64 bytes in hex, and a NUL */

struct core_file_check {
	enum core_file_state state;
	bool not_elf;				/* DIFFERENT: the file here is not ELF */
	char core_id[CORE_BUILD_ID_HEX];	/* hex; "" when none */
	char file_id[CORE_BUILD_ID_HEX];
};

/*
 * Check every file NT_FILE names whose first page the core holds against
 * the file at that path (under sysroot when not NULL): a few small reads
 * of its headers and notes, once per file.  A file found
 * CORE_FILE_DIFFERENT is never read by rmem_core_new()'s reader.  Returns
 * how many differ; corefile_check() tells each.  Up front rather than on
 * a file's first read, so that every file that differs is named: a gcore
 * of a Python 3.12 with 46 files mapped checks 44 in 0.65 ms of a 9 ms
 * run, where checking on first read would check the 2 the reader opens.
 */
size_t corefile_check_files(struct corefile *c, const char *sysroot);

/* The number of distinct paths NT_FILE names, and the i-th (sorted by name). */
size_t corefile_npaths(const struct corefile *c);
const char *corefile_path(const struct corefile *c, size_t i);

/*
 * The check of the i-th path (all CORE_FILE_UNCHECKED before
 * corefile_check_files()); NULL past the last.
 */
const struct core_file_check *corefile_check(const struct corefile *c, size_t i);

/* The index of the NT_FILE path path, or SIZE_MAX when NT_FILE does not name it. */
size_t corefile_path_index(const struct corefile *c, const char *path);

/*
 * Compare the ELF file at file with the core's copy of the mapped path
 * core_path (corefile_exe() when NULL), filling *out.  Returns 0, or
 * -errno when file cannot be opened.
 */
int corefile_check_file(const struct corefile *c, const char *core_path, const char *file,
			struct core_file_check *out);

/*
 * A memory reader over the core: bytes the core holds come from it; bytes
 * it left out (p_filesz < p_memsz, or a file mapping with no PT_LOAD) come
 * from the file NT_FILE says was mapped there (under sysroot when it is
 * not NULL), opened on first need.  Anything else fails with
 * -PS_E_BAD_READ (a file that cannot be opened is noted with debug_msg()
 * once, and a file corefile_check_files() found different is never read).  c must outlive the reader; free with rmem_free().
 */
struct rmem *rmem_core_new(struct corefile *c, const char *sysroot);

#endif

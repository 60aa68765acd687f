/*
 * ELF files mapped by the target, read with libelf: symbols (.dynsym, then
 * .symtab when present), sections, segments, and the file bytes behind an
 * address.  Files are opened through /proc/PID/root (or
 * /proc/PID/map_files), so a target in another mount namespace, or one whose
 * file was replaced on disk, is read from the file it actually mapped.  When
 * neither can be opened (a deleted file, read without the privilege
 * map_files needs), the file is rebuilt from the process's memory: its
 * mapped parts at their file offsets, with symbols found through the
 * dynamic segment, since section headers are not loaded.
 */
#ifndef PYSTACK_ELFFILE_H
#define PYSTACK_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct map;
struct maps;
struct rmem;
struct elffile;

/*
 * Open the file behind mapping m of process pid (maps are its mappings, mem
 * reads its memory).  Returns 0, -PS_E_BAD_ELF, or -errno.  Free with
 * elffile_free().
 */
int elffile_open_mapped(pid_t pid, const struct maps *maps, const struct map *m,
			struct rmem *mem, struct elffile **out);

/* Open a file by path (tests, tools). */
int elffile_open(const char *path, struct elffile **out);

void elffile_free(struct elffile *f);

struct elf_sym_query {
	const char *name;	/* in */
	bool found;		/* out: defined in this file */
	uint64_t value;		/* out: st_value (link-time address) */
	uint64_t size;		/* out: st_size */
};

/*
 * Look up every query in .dynsym, then, for those still missing and when
 * use_symtab, in .symtab.  Undefined symbols never match.
 */
void elffile_lookup(struct elffile *f, struct elf_sym_query *q, size_t n, bool use_symtab);

bool elffile_has_symtab(const struct elffile *f);

/* The address and size of a section by name; 0 or -ENOENT. */
int elffile_section(struct elffile *f, const char *name, uint64_t *addr, uint64_t *size);

/*
 * The file's bytes for link-time addresses [vaddr, vaddr + len), when they
 * are stored in the file (not .bss).  Valid until elffile_free(); NULL if not.
 */
const void *elffile_bytes(struct elffile *f, uint64_t vaddr, size_t len);

/*
 * As elffile_bytes(), but only from segments that are not writable: their
 * bytes in memory are the file's.  (RELRO data is read-only at run time but
 * relocated, so it never qualifies.)
 */
const void *elffile_readonly_bytes(struct elffile *f, uint64_t vaddr, size_t len);

/* The link-time address and size of PT_GNU_EH_FRAME (.eh_frame_hdr); 0 or -ENOENT. */
int elffile_eh_frame_hdr(struct elffile *f, uint64_t *vaddr, uint64_t *size);

/*
 * The load bias of the file in a process: the difference between run-time
 * and link-time addresses, from one mapping of it (start and file offset).
 */
int elffile_bias(struct elffile *f, uint64_t map_start, uint64_t map_offset, uint64_t *bias);

/* The link-time range of the writable PT_LOAD segments (data and bss). */
int elffile_rw_range(struct elffile *f, uint64_t *start, uint64_t *end);

/*
 * The i-th read-only data segment (PT_LOAD, neither writable nor
 * executable), where .rodata lives; 0, or -ENOENT past the last.
 */
int elffile_ro_segment(struct elffile *f, size_t i, uint64_t *vaddr, uint64_t *size);

/* Whether the file was rebuilt from the process's memory. */
bool elffile_from_memory(const struct elffile *f);

/* The whole file image (as mapped, or as rebuilt); valid until elffile_free(). */
const void *elffile_image(const struct elffile *f, size_t *size);

/* Whether the file is a shared object (ET_DYN without an interpreter). */
bool elffile_is_library(const struct elffile *f);

/* The path the file was opened by (for messages). */
const char *elffile_path(const struct elffile *f);

/*
 * The GNU build ID (NT_GNU_BUILD_ID, owner "GNU") among the notes of a
 * PT_NOTE segment or SHT_NOTE section, len bytes at notes whose entries are
 * padded to align bytes (4, or 8 where the segment's p_align says so):
 * its length with *id pointing into notes, or 0 when none is found before
 * a note that does not fit in len.
 */
size_t elf_note_build_id(const void *notes, size_t len, size_t align, const unsigned char **id);

#endif

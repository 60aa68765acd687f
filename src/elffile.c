/*
 * ELF files of the target, read with libelf (see elffile.h).
 *
 * Only 64-bit little-endian files are accepted, the kind a target on this
 * architecture maps.  Symbol and string tables are read straight from the
 * mapped file image, with every index checked against its table's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elffile.h"
#include "errors.h"
#include "msg.h"
#include "proc.h"

struct symtab {
	const Elf64_Sym *sym;
	size_t count;
	const char *str;
	size_t strsize;
};

struct elffile {
	int fd;
	Elf *elf;
	char *path;
	const unsigned char *raw;
	size_t rawsize;
	uint16_t type;
	GElf_Phdr *phdr;
	size_t phnum;
	bool has_interp;
	struct symtab dynsym, symtab;
};

/* Point tab at the symbols of section scn and their string table. */
static void symtab_load(struct elffile *f, const GElf_Shdr *sh, struct symtab *tab)
{
	Elf_Scn *strscn = elf_getscn(f->elf, sh->sh_link);
	GElf_Shdr strsh;

	if (!strscn || !gelf_getshdr(strscn, &strsh) || sh->sh_entsize != sizeof(Elf64_Sym))
		return;
	if (sh->sh_offset > f->rawsize || sh->sh_size > f->rawsize - sh->sh_offset ||
	    strsh.sh_offset > f->rawsize || strsh.sh_size > f->rawsize - strsh.sh_offset)
		return;
	tab->sym = (const Elf64_Sym *)(f->raw + sh->sh_offset);
	tab->count = sh->sh_size / sizeof(Elf64_Sym);
	tab->str = (const char *)(f->raw + strsh.sh_offset);
	tab->strsize = strsh.sh_size;
}

static int load(struct elffile *f)
{
	size_t phnum;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &eh) ||
	    gelf_getclass(f->elf) != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -PS_E_BAD_ELF;
	f->raw = (const unsigned char *)elf_rawfile(f->elf, &f->rawsize);
	if (!f->raw || elf_getphdrnum(f->elf, &phnum))
		return -PS_E_BAD_ELF;
	f->type = eh.e_type;
	f->phdr = xcalloc(phnum, sizeof(*f->phdr));
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &f->phdr[f->phnum]))
			continue;
		if (f->phdr[f->phnum].p_type == PT_INTERP)
			f->has_interp = true;
		f->phnum++;
	}
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			symtab_load(f, &sh, &f->dynsym);
		else if (sh.sh_type == SHT_SYMTAB)
			symtab_load(f, &sh, &f->symtab);
	}
	return 0;
}

int elffile_open(const char *path, struct elffile **out)
{
	struct elffile *f;
	int err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->path = xstrdup(path);
	err = load(f);
	if (err) {
		elffile_free(f);
		return err;
	}
	*out = f;
	return 0;
}

int elffile_open_mapped(pid_t pid, const struct map *m, struct elffile **out)
{
	char *path;
	struct stat st;
	int err = -ENOENT;

	/* The file as the target sees it, if it is still the one mapped ... */
	if (m->path && m->path[0] == '/') {
		path = xasprintf("/proc/%d/root%s", (int)pid, m->path);
		if (stat(path, &st) == 0 && st.st_ino == m->inode)
			err = elffile_open(path, out);
		free(path);
		if (err == 0)
			return 0;
	}
	/* ... else the mapping itself (deleted or replaced files). */
	path = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start, m->end);
	err = elffile_open(path, out);
	free(path);
	return err;
}

void elffile_free(struct elffile *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->phdr);
	free(f->path);
	free(f);
}

static void lookup_in(const struct symtab *tab, struct elf_sym_query *q, size_t n)
{
	size_t missing = 0;

	for (size_t k = 0; k < n; k++)
		missing += !q[k].found;
	for (size_t i = 0; i < tab->count && missing; i++) {
		const Elf64_Sym *s = &tab->sym[i];
		const char *name;
		size_t room;

		if (s->st_shndx == SHN_UNDEF || s->st_name >= tab->strsize)
			continue;
		name = tab->str + s->st_name;
		room = tab->strsize - s->st_name;
		for (size_t k = 0; k < n; k++) {
			if (q[k].found || name[0] != q[k].name[0] ||
			    strnlen(name, room) == room || strcmp(name, q[k].name))
				continue;
			q[k].found = true;
			q[k].value = s->st_value;
			q[k].size = s->st_size;
			missing--;
		}
	}
}

void elffile_lookup(struct elffile *f, struct elf_sym_query *q, size_t n, bool use_symtab)
{
	lookup_in(&f->dynsym, q, n);
	if (use_symtab)
		lookup_in(&f->symtab, q, n);
}

bool elffile_has_symtab(const struct elffile *f)
{
	return f->symtab.count > 0;
}

int elffile_section(struct elffile *f, const char *name, uint64_t *addr, uint64_t *size)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(f->elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(f->elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			return 0;
		}
	}
	return -ENOENT;
}

const void *elffile_bytes(struct elffile *f, uint64_t vaddr, size_t len)
{
	for (size_t i = 0; i < f->phnum; i++) {
		const GElf_Phdr *p = &f->phdr[i];

		if (p->p_type != PT_LOAD || vaddr < p->p_vaddr ||
		    vaddr - p->p_vaddr > p->p_filesz || len > p->p_filesz - (vaddr - p->p_vaddr))
			continue;
		if (p->p_offset > f->rawsize || p->p_offset + p->p_filesz > f->rawsize)
			return NULL;
		return f->raw + p->p_offset + (vaddr - p->p_vaddr);
	}
	return NULL;
}

int elffile_bias(struct elffile *f, uint64_t map_start, uint64_t map_offset, uint64_t *bias)
{
	for (size_t i = 0; i < f->phnum; i++) {
		const GElf_Phdr *p = &f->phdr[i];
		uint64_t page_off = p->p_offset & ~(uint64_t)0xfff;

		if (p->p_type != PT_LOAD || map_offset < page_off ||
		    map_offset >= p->p_offset + p->p_filesz)
			continue;
		*bias = map_start - (p->p_vaddr - p->p_offset + map_offset);
		return 0;
	}
	return -ENOENT;
}

int elffile_rw_range(struct elffile *f, uint64_t *start, uint64_t *end)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t i = 0; i < f->phnum; i++) {
		const GElf_Phdr *p = &f->phdr[i];

		if (p->p_type != PT_LOAD || !(p->p_flags & PF_W))
			continue;
		if (p->p_vaddr < lo)
			lo = p->p_vaddr;
		if (p->p_vaddr + p->p_memsz > hi)
			hi = p->p_vaddr + p->p_memsz;
	}
	if (lo >= hi)
		return -ENOENT;
	*start = lo;
	*end = hi;
	return 0;
}

bool elffile_is_library(const struct elffile *f)
{
	return f->type == ET_DYN && !f->has_interp;
}

const char *elffile_path(const struct elffile *f)
{
	return f->path;
}

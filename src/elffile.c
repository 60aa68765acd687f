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
#include "rmem.h"

struct symtab {
	const Elf64_Sym *sym;
	size_t count;
	const char *str;
	size_t strsize;
};

/* A .gnu.hash table over .dynsym, checked for size when loaded. */
struct gnuhash {
	uint32_t nbuckets, symoffset, bloom_size, bloom_shift;
	const uint64_t *bloom;
	const uint32_t *buckets;
	const uint32_t *chain;
	size_t nchain;
};

/* A file rebuilt from memory is refused past this size. */
#define MAX_IMAGE	(512u << 20)

struct elffile {
	int fd;
	Elf *elf;
	unsigned char *image;		/* the rebuilt file, when read from memory */
	char *path;
	const unsigned char *raw;
	size_t rawsize;
	uint16_t type;
	GElf_Phdr *phdr;
	size_t phnum;
	bool has_interp;
	struct symtab dynsym, symtab;
	struct gnuhash gnuhash;		/* nbuckets 0: none */
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

/* A .gnu.hash table of words 32-bit words at w, checked for size. */
static bool gnuhash_init(struct gnuhash *g, const uint32_t *w, size_t words)
{
	size_t need;

	if (words < 4)
		return false;
	/* Header, then the bloom words (two uint32 each), buckets, chain. */
	need = 4 + 2 * (size_t)w[2] + w[0];
	if (!w[0] || !w[2] || w[2] > words || w[0] > words || need > words)
		return false;
	g->nbuckets = w[0];
	g->symoffset = w[1];
	g->bloom_size = w[2];
	g->bloom_shift = w[3];
	g->bloom = (const uint64_t *)(w + 4);
	g->buckets = w + 4 + 2 * g->bloom_size;
	g->chain = g->buckets + g->nbuckets;
	g->nchain = words - need;
	return true;
}

static void gnuhash_load(struct elffile *f, const GElf_Shdr *sh)
{
	if (sh->sh_offset > f->rawsize || sh->sh_size > f->rawsize - sh->sh_offset ||
	    sh->sh_offset % 8)
		return;
	gnuhash_init(&f->gnuhash, (const uint32_t *)(f->raw + sh->sh_offset), sh->sh_size / 4);
}

/* The file offset of link-time address v, or (uint64_t)-1. */
static uint64_t vaddr_offset(const struct elffile *f, uint64_t v)
{
	for (size_t i = 0; i < f->phnum; i++) {
		const GElf_Phdr *p = &f->phdr[i];

		if (p->p_type == PT_LOAD && v >= p->p_vaddr && v - p->p_vaddr < p->p_filesz)
			return p->p_offset + (v - p->p_vaddr);
	}
	return (uint64_t)-1;
}

/* How many symbols a .gnu.hash table covers: one past the last chain's end. */
static size_t gnuhash_symbols(const struct gnuhash *g)
{
	size_t last = 0;

	for (uint32_t b = 0; b < g->nbuckets; b++)
		if (g->buckets[b] > last)
			last = g->buckets[b];
	if (last < g->symoffset)
		return g->symoffset;
	while (last - g->symoffset < g->nchain && !(g->chain[last - g->symoffset] & 1))
		last++;
	return last + 1;
}

/*
 * Find .dynsym, its strings and .gnu.hash through PT_DYNAMIC, for a file
 * without section headers.  In a rebuilt image the loader may have turned
 * the addresses into run-time ones: then reloc (the load bias) is taken off.
 */
static void dynamic_load(struct elffile *f, uint64_t reloc)
{
	uint64_t symtab = 0, strtab = 0, strsz = 0, gnuhash = 0, syment = sizeof(Elf64_Sym);

	for (size_t i = 0; i < f->phnum; i++) {
		const GElf_Phdr *p = &f->phdr[i];
		const Elf64_Dyn *d;
		size_t n;

		if (p->p_type != PT_DYNAMIC || p->p_offset > f->rawsize ||
		    p->p_filesz > f->rawsize - p->p_offset || p->p_offset % 8)
			continue;
		d = (const Elf64_Dyn *)(f->raw + p->p_offset);
		n = p->p_filesz / sizeof(*d);
		for (size_t k = 0; k < n && d[k].d_tag != DT_NULL; k++) {
			uint64_t v = d[k].d_un.d_ptr;

			switch (d[k].d_tag) {
			case DT_SYMTAB:
				symtab = v;
				break;
			case DT_STRTAB:
				strtab = v;
				break;
			case DT_STRSZ:
				strsz = v;
				break;
			case DT_SYMENT:
				syment = v;
				break;
			case DT_GNU_HASH:
				gnuhash = v;
				break;
			default:
				break;
			}
		}
	}
	if (!symtab || !strtab || !gnuhash || syment != sizeof(Elf64_Sym))
		return;
	uint64_t *addrs[] = { &symtab, &strtab, &gnuhash };

	for (size_t i = 0; i < 3; i++) {
		uint64_t off = vaddr_offset(f, *addrs[i]);

		if (off == (uint64_t)-1 && reloc && *addrs[i] >= reloc)
			off = vaddr_offset(f, *addrs[i] - reloc);
		if (off == (uint64_t)-1 || off >= f->rawsize)
			return;
		*addrs[i] = off;
	}
	if (gnuhash % 4 || !gnuhash_init(&f->gnuhash, (const uint32_t *)(f->raw + gnuhash),
					 (f->rawsize - gnuhash) / 4))
		return;
	f->dynsym.sym = (const Elf64_Sym *)(f->raw + symtab);
	f->dynsym.count = gnuhash_symbols(&f->gnuhash);
	if (symtab % 8 || f->dynsym.count > (f->rawsize - symtab) / sizeof(Elf64_Sym))
		f->dynsym.count = 0;
	f->dynsym.str = (const char *)(f->raw + strtab);
	f->dynsym.strsize = strsz < f->rawsize - strtab ? strsz : f->rawsize - strtab;
}

static int load(struct elffile *f)
{
	size_t phnum;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

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
		else if (sh.sh_type == SHT_GNU_HASH)
			gnuhash_load(f, &sh);
	}
	return 0;
}

int elffile_open(const char *path, struct elffile **out)
{
	struct elffile *f;
	int err;
	int fd = open_regular(path);

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->path = xstrdup(path);
	f->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = load(f);
	if (!err && !f->dynsym.count)
		dynamic_load(f, 0);	/* no section headers (sstrip) */
	if (err) {
		elffile_free(f);
		return err;
	}
	*out = f;
	return 0;
}

/* Rebuild the file behind mapping m from every mapping of it in memory. */
static int open_memory(const struct maps *maps, const struct map *m, struct rmem *mem,
		       struct elffile **out)
{
	struct elffile *f;
	uint64_t size = 0, bias;
	Elf64_Ehdr *eh;
	int err;

	for (size_t i = 0; i < maps->n; i++) {
		const struct map *o = &maps->v[i];

		if (o->inode == m->inode && o->path && !strcmp(o->path, m->path) && o->r &&
		    o->offset + (o->end - o->start) > size)
			size = o->offset + (o->end - o->start);
	}
	if (size < sizeof(Elf64_Ehdr) || size > MAX_IMAGE)
		return -PS_E_BAD_ELF;
	f = xcalloc(1, sizeof(*f));
	f->fd = -1;
	f->path = xstrdup(m->path);
	f->image = xcalloc(1, size);
	for (size_t i = 0; i < maps->n; i++) {
		const struct map *o = &maps->v[i];

		if (o->inode != m->inode || !o->path || strcmp(o->path, m->path) || !o->r)
			continue;
		err = rmem_read(mem, o->start, f->image + o->offset, o->end - o->start);
		if (err && (err == -PS_E_GONE || err == -EPERM)) {
			elffile_free(f);
			return err;
		}
	}
	/* Section headers are never loaded: tell libelf there are none. */
	eh = (Elf64_Ehdr *)f->image;
	eh->e_shoff = 0;
	eh->e_shnum = 0;
	eh->e_shstrndx = 0;
	f->elf = elf_memory((char *)f->image, size);
	err = load(f);
	if (!err && !f->dynsym.count && !elffile_bias(f, m->start, m->offset, &bias))
		dynamic_load(f, bias);
	if (!err && !f->dynsym.count)
		err = -PS_E_BAD_ELF;
	if (err) {
		elffile_free(f);
		return err;
	}
	*out = f;
	return 0;
}

int elffile_open_mapped(pid_t pid, const struct maps *maps, const struct map *m,
			struct rmem *mem, struct elffile **out)
{
	char *path;
	struct stat st;
	int err = -ENOENT;

	/* The file as the target sees it, if it is still the one mapped ... */
	if (m->path && m->path[0] == '/') {
		path = proc_root_path(pid, m->path);
		/* A core names no inodes (0): its files are taken as they are now. */
		if (stat(path, &st) == 0 && (st.st_ino == m->inode || !m->inode))
			err = elffile_open(path, out);
		free(path);
		if (err == 0)
			return 0;
	}
	if (pid <= 0)
		return m->path ? open_memory(maps, m, mem, out) : err;
	/* ... else the mapping itself (deleted or replaced files) ... */
	path = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start, m->end);
	err = elffile_open(path, out);
	free(path);
	if (err == 0 || !m->path)
		return err;
	/* ... else what the process has of it in memory. */
	return open_memory(maps, m, mem, out);
}

void elffile_free(struct elffile *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->image);
	free(f->phdr);
	free(f->path);
	free(f);
}

/* Whether symbol i of tab is defined and called name. */
static bool sym_is(const struct symtab *tab, size_t i, const char *name)
{
	const Elf64_Sym *s = &tab->sym[i];
	size_t room;

	if (s->st_shndx == SHN_UNDEF || s->st_name >= tab->strsize)
		return false;
	room = tab->strsize - s->st_name;
	return strnlen(tab->str + s->st_name, room) < room && !strcmp(tab->str + s->st_name, name);
}

static void found(struct elf_sym_query *q, const Elf64_Sym *s)
{
	q->found = true;
	q->value = s->st_value;
	q->size = s->st_size;
}

/* A lookup in .dynsym through .gnu.hash; false when absent. */
static bool gnuhash_lookup(const struct elffile *f, struct elf_sym_query *q)
{
	const struct gnuhash *g = &f->gnuhash;
	uint32_t h = 5381;
	uint64_t word, mask;

	for (const unsigned char *c = (const unsigned char *)q->name; *c; c++)
		h = h * 33 + *c;
	word = g->bloom[(h / 64) % g->bloom_size];
	mask = (uint64_t)1 << (h % 64) | (uint64_t)1 << ((h >> g->bloom_shift) % 64);
	if ((word & mask) != mask)
		return false;
	for (uint32_t i = g->buckets[h % g->nbuckets]; i >= g->symoffset; i++) {
		uint32_t ch;

		if (i - g->symoffset >= g->nchain || i >= f->dynsym.count)
			return false;
		ch = g->chain[i - g->symoffset];
		if ((ch | 1) == (h | 1) && sym_is(&f->dynsym, i, q->name)) {
			found(q, &f->dynsym.sym[i]);
			return true;
		}
		if (ch & 1)
			return false;
	}
	return false;
}

static void lookup_linear(const struct symtab *tab, struct elf_sym_query *q, size_t n)
{
	size_t missing = 0;

	for (size_t k = 0; k < n; k++)
		missing += !q[k].found;
	for (size_t i = 0; i < tab->count && missing; i++) {
		const Elf64_Sym *s = &tab->sym[i];

		if (s->st_shndx == SHN_UNDEF || s->st_name >= tab->strsize)
			continue;
		for (size_t k = 0; k < n; k++) {
			/* The first letter rules out nearly every symbol cheaply. */
			if (q[k].found || tab->str[s->st_name] != q[k].name[0] ||
			    !sym_is(tab, i, q[k].name))
				continue;
			found(&q[k], &tab->sym[i]);
			missing--;
		}
	}
}

void elffile_lookup(struct elffile *f, struct elf_sym_query *q, size_t n, bool use_symtab)
{
	if (f->gnuhash.nbuckets && f->dynsym.count) {
		for (size_t k = 0; k < n; k++)
			if (!q[k].found)
				gnuhash_lookup(f, &q[k]);
	} else {
		lookup_linear(&f->dynsym, q, n);
	}
	if (use_symtab)
		lookup_linear(&f->symtab, q, n);
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

const void *elffile_readonly_bytes(struct elffile *f, uint64_t vaddr, size_t len)
{
	for (size_t i = 0; i < f->phnum; i++) {
		const GElf_Phdr *p = &f->phdr[i];

		if (p->p_type != PT_LOAD || (p->p_flags & PF_W) || vaddr < p->p_vaddr ||
		    vaddr - p->p_vaddr > p->p_filesz || len > p->p_filesz - (vaddr - p->p_vaddr))
			continue;
		if (p->p_offset > f->rawsize || p->p_offset + p->p_filesz > f->rawsize)
			return NULL;
		return f->raw + p->p_offset + (vaddr - p->p_vaddr);
	}
	return NULL;
}

int elffile_eh_frame_hdr(struct elffile *f, uint64_t *vaddr, uint64_t *size)
{
	for (size_t i = 0; i < f->phnum; i++) {
		if (f->phdr[i].p_type == PT_GNU_EH_FRAME) {
			*vaddr = f->phdr[i].p_vaddr;
			*size = f->phdr[i].p_memsz;
			return 0;
		}
	}
	return -ENOENT;
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

int elffile_ro_segment(struct elffile *f, size_t i, uint64_t *vaddr, uint64_t *size)
{
	for (size_t k = 0; k < f->phnum; k++) {
		const GElf_Phdr *p = &f->phdr[k];

		if (p->p_type != PT_LOAD || (p->p_flags & (PF_W | PF_X)))
			continue;
		if (i-- == 0) {
			*vaddr = p->p_vaddr;
			*size = p->p_filesz;
			return 0;
		}
	}
	return -ENOENT;
}

bool elffile_from_memory(const struct elffile *f)
{
	return f->image != NULL;
}

const void *elffile_image(const struct elffile *f, size_t *size)
{
	*size = f->rawsize;
	return f->raw;
}

bool elffile_is_library(const struct elffile *f)
{
	return f->type == ET_DYN && !f->has_interp;
}

const char *elffile_path(const struct elffile *f)
{
	return f->path;
}

size_t elf_note_build_id(const void *notes, size_t len, size_t align, const unsigned char **id)
{
	const unsigned char *p = notes;
	uint64_t pos = 0, a = align == 8 ? 8 : 4;

	/* 64-bit sums of 32-bit sizes: nothing here can wrap. */
	while (len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr h;
		uint64_t name, desc;

		memcpy(&h, p + pos, sizeof(h));
		name = pos + sizeof(h);
		/* Aligned in the segment, as gelf_getnote() does: not the same as padding the sizes. */
		desc = (name + h.n_namesz + a - 1) & ~(a - 1);
		if (desc > len || len - desc < h.n_descsz)
			break;
		if (h.n_type == NT_GNU_BUILD_ID && h.n_namesz == sizeof("GNU") &&
		    !memcmp(p + name, "GNU", sizeof("GNU")) && h.n_descsz) {
			*id = p + desc;
			return h.n_descsz;
		}
		pos = (desc + h.n_descsz + a - 1) & ~(a - 1);
		if (pos >= len)
			break;
	}
	return 0;
}

/*
 * Native symbols with libdw (see symbolize.h).
 *
 * Modules are reported to libdwfl one by one, the first time an address in
 * them is looked up, so a process with hundreds of libraries costs only the
 * ones its stacks pass through.  A module whose file cannot be opened (a
 * deleted library, the vDSO) is rebuilt from memory and handed over as an
 * anonymous file.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
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
#include "rmem.h"
#include "symbolize.h"

/* Most frames a single address expands into (inlining depth). */
#define MAX_INLINE 32

struct dw_fns {
	__typeof__(&dwfl_begin) begin;
	__typeof__(&dwfl_end) end;
	__typeof__(&dwfl_report_begin_add) report_begin_add;
	__typeof__(&dwfl_report_elf) report_elf;
	__typeof__(&dwfl_report_end) report_end;
	__typeof__(&dwfl_addrmodule) addrmodule;
	__typeof__(&dwfl_module_addrinfo) addrinfo;
	__typeof__(&dwfl_module_getsrc) getsrc;
	__typeof__(&dwfl_lineinfo) lineinfo;
	__typeof__(&dwfl_module_addrdie) addrdie;
	__typeof__(&dwfl_build_id_find_elf) find_elf;
	__typeof__(&dwfl_module_build_id) build_id;
	__typeof__(&dwarf_getscopes) getscopes;
	__typeof__(&dwarf_getscopes_die) getscopes_die;
	__typeof__(&dwarf_tag) tag;
	__typeof__(&dwarf_attr_integrate) attr_integrate;
	__typeof__(&dwarf_formstring) formstring;
	__typeof__(&dwarf_formudata) formudata;
	__typeof__(&dwarf_getsrcfiles) getsrcfiles;
	__typeof__(&dwarf_filesrc) filesrc;
};

/* One looked-up address: its frames, in the symbolizer's string storage. */
struct sym_entry {
	uint64_t key;			/* ip << 1 | exact */
	struct native_sym *v;
	size_t n;
};

struct symbolizer {
	pid_t pid;
	const struct maps *maps;
	struct rmem *mem;
	void *lib;
	struct dw_fns fn;
	Dwfl_Callbacks callbacks;
	Dwfl *dwfl;
	bool *reported;			/* per mapped file */
	struct sym_entry *cache;
	size_t cap, count;
	char *(*demangle)(const char *, char *, size_t *, int *);
	bool demangle_tried;
};

/* libdwfl's build ID of a module (its callbacks carry no context of ours). */
static __typeof__(&dwfl_module_build_id) module_build_id;

/*
 * Find a module's separate debug file ourselves: libdwfl's standard search
 * keeps the file it validated open, so a copy could not be handed over.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	int len = module_build_id(mod, &id, &vaddr);

	(void)userdata, (void)base, (void)file_name, (void)debuglink_crc;
	return debuginfo_find(modname, id, len > 0 ? len : 0, debuglink_file, debuginfo_file_name);
}

static const char *keep(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* C++ names through libstdc++'s demangler, loaded when the first one appears. */
static char *demangled(struct symbolizer *s, const char *name)
{
	int status = -1;
	char *out;

	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	if (!s->demangle_tried) {
		static const char *const libs[] = { "libstdc++.so.6", NULL };
		const struct dlib_sym sym = { "__cxa_demangle", (void **)&s->demangle };
		char why[128];

		s->demangle_tried = true;
		if (!dlib_load(NULL, libs, &sym, 1, "libstdc++6", why, sizeof(why)))
			s->demangle = NULL;
	}
	if (!s->demangle)
		return NULL;
	out = s->demangle(name, NULL, NULL, &status);
	if (status) {
		free(out);
		return NULL;
	}
	return out;
}

/* A function's name for people: demangled, without a symbol version (@GLIBC_2.2.5). */
static const char *name_of(struct symbolizer *s, const char *raw)
{
	char *d = demangled(s, raw), *at;

	if (d)
		return d;
	if (raw && (at = strchr(raw, '@')) && at > raw)
		return xstrndup(raw, (size_t)(at - raw));
	return keep(raw);
}

/* Hand libdwfl the file behind mapped file i, once. */
static void report(struct symbolizer *s, int i)
{
	const struct mapped_file *file = &s->maps->files[i];
	const struct map *first = file->first;
	char *path = NULL;
	int fd = -1;
	struct stat st;

	s->reported[i] = true;
	if (first->offset != 0)
		return;		/* the ELF header is not mapped: nowhere to start */
	if (first->path[0] == '/') {
		/* A core's files are as they are here (or under the sysroot): it records no inodes. */
		path = proc_root_path(s->pid, first->path);
		if (s->pid && (stat(path, &st) || st.st_ino != first->inode)) {
			free(path);
			path = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)s->pid,
					 first->start, first->end);
		}
		fd = open_regular(path);
	}
	if (fd < 0) {
		/* Gone from disk, or the vDSO: give libdw the image from memory. */
		struct elffile *ef;
		const void *img;
		size_t size;

		if (elffile_open_mapped(s->pid, s->maps, first, s->mem, &ef)) {
			free(path);
			return;
		}
		img = elffile_image(ef, &size);
		fd = memfd_create("pystack-module", MFD_CLOEXEC);
		if (fd >= 0 && write(fd, img, size) != (ssize_t)size) {
			close(fd);
			fd = -1;
		}
		elffile_free(ef);
		if (fd < 0) {
			free(path);
			return;
		}
	}
	s->fn.report_begin_add(s->dwfl);
	/* libdwfl takes the descriptor over. */
	if (!s->fn.report_elf(s->dwfl, first->path, path ? path : first->path, fd, first->start,
			      false))
		close(fd);
	s->fn.report_end(s->dwfl, NULL, NULL);
	free(path);
}

static const char *die_name(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name;

	if (s->fn.attr_integrate(die, DW_AT_linkage_name, &a) &&
	    (name = s->fn.formstring(&a)))
		return name;
	if (s->fn.attr_integrate(die, DW_AT_name, &a))
		return s->fn.formstring(&a);
	return NULL;
}

/*
 * The inlined calls at pc: each DW_TAG_inlined_subroutine scope is a frame
 * whose caller's position is the scope's DW_AT_call_file/line.  The scopes
 * dwarf_getscopes() gives past an inlined scope are those of the inlined
 * function's own definition, so the chain goes on from the scopes around
 * the inlined instance (dwarf_getscopes_die()).  Fills out (innermost
 * first) and returns how many frames, the last being the function the code
 * belongs to.
 */
static size_t inlined(struct symbolizer *s, Dwfl_Module *mod, uint64_t pc, const char *file,
		      int line, struct native_sym *out, size_t max)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = s->fn.addrdie(mod, pc, &bias), *scopes = NULL;
	Dwarf_Files *files = NULL;
	size_t nfiles = 0, n = 0;
	int nscopes, i = 0;

	if (!cu)
		return 0;
	nscopes = s->fn.getscopes(cu, pc - bias, &scopes);
	s->fn.getsrcfiles(cu, &files, &nfiles);
	while (i < nscopes && n < max) {
		Dwarf_Die die = scopes[i];
		int tag = s->fn.tag(&die);
		Dwarf_Attribute a;
		Dwarf_Word idx, l;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) {
			i++;
			continue;
		}
		out[n] = (struct native_sym){
			.function = name_of(s, die_name(s, &die)),
			.file = keep(file),
			.line = line,
			.inlined = tag == DW_TAG_inlined_subroutine,
		};
		n++;
		if (tag == DW_TAG_subprogram)
			break;
		/* The caller's position is where this call was inlined. */
		file = NULL;
		line = 0;
		if (s->fn.attr_integrate(&die, DW_AT_call_file, &a) && !s->fn.formudata(&a, &idx) &&
		    files && idx < nfiles)
			file = s->fn.filesrc(files, idx, NULL, NULL);
		if (s->fn.attr_integrate(&die, DW_AT_call_line, &a) && !s->fn.formudata(&a, &l))
			line = (int)l;
		free(scopes);
		scopes = NULL;
		nscopes = s->fn.getscopes_die(&die, &scopes);
		i = 1;		/* [0] is the inlined instance itself */
	}
	free(scopes);
	return n;
}

static size_t lookup(struct symbolizer *s, uint64_t ip, bool exact, struct native_sym *out)
{
	/* A return address points after the call: look up the call itself. */
	uint64_t pc = exact ? ip : ip - 1;
	int i = maps_file_at(s->maps, pc);
	const char *module = i >= 0 ? s->maps->files[i].first->path : NULL;
	const char *sym, *file = NULL;
	Dwfl_Module *mod = NULL;
	Dwfl_Line *dl;
	GElf_Off off = 0;
	GElf_Sym esym;
	int line = 0;
	size_t n;

	if (i >= 0 && !s->reported[i])
		report(s, i);
	if (i >= 0)
		mod = s->fn.addrmodule(s->dwfl, pc);
	if (!mod) {
		out[0] = (struct native_sym){ .module = keep(module) };
		return 1;
	}
	sym = s->fn.addrinfo(mod, pc, &off, &esym, NULL, NULL, NULL);
	if ((dl = s->fn.getsrc(mod, pc)))
		file = s->fn.lineinfo(dl, NULL, &line, NULL, NULL, NULL);
	n = inlined(s, mod, pc, file, line, out, MAX_INLINE);
	if (n == 0) {
		out[0] = (struct native_sym){ .file = keep(file), .line = line };
		n = 1;
	}
	/* The outermost is the function the symbol table names: prefer its name. */
	if (sym) {
		free((char *)out[n - 1].function);
		out[n - 1].function = name_of(s, sym);
		out[n - 1].offset = off + (exact ? 0 : 1);
	}
	for (size_t k = 0; k < n; k++)
		out[k].module = keep(module);
	return n;
}

static size_t slot(const struct symbolizer *s, uint64_t key)
{
	size_t i = (size_t)((key >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (s->cap - 1);

	while (s->cache[i].v && s->cache[i].key != key)
		i = (i + 1) & (s->cap - 1);
	return i;
}

size_t symbolizer_lookup(struct symbolizer *s, uint64_t ip, bool exact,
			 const struct native_sym **out)
{
	uint64_t key = ip << 1 | exact;
	struct native_sym tmp[MAX_INLINE];
	size_t i, n;

	if (2 * (s->count + 1) > s->cap) {
		struct sym_entry *old = s->cache;
		size_t oldcap = s->cap;

		s->cap = oldcap ? oldcap * 2 : 256;
		s->cache = xcalloc(s->cap, sizeof(*s->cache));
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].v)
				s->cache[slot(s, old[k].key)] = old[k];
		free(old);
	}
	i = slot(s, key);
	if (!s->cache[i].v) {
		n = lookup(s, ip, exact, tmp);
		s->cache[i].key = key;
		s->cache[i].v = xmalloc(n * sizeof(*tmp));
		memcpy(s->cache[i].v, tmp, n * sizeof(*tmp));
		s->cache[i].n = n;
		s->count++;
	}
	*out = s->cache[i].v;
	return s->cache[i].n;
}

int symbolizer_new(pid_t pid, const struct maps *maps, struct rmem *mem, struct symbolizer **out,
		   char *why, size_t nwhy)
{
	static const char *const libs[] = { "libdw.so.1", NULL };
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	const struct dlib_sym syms[] = {
		{ "dwfl_begin", (void **)&s->fn.begin },
		{ "dwfl_end", (void **)&s->fn.end },
		{ "dwfl_report_begin_add", (void **)&s->fn.report_begin_add },
		{ "dwfl_report_elf", (void **)&s->fn.report_elf },
		{ "dwfl_report_end", (void **)&s->fn.report_end },
		{ "dwfl_addrmodule", (void **)&s->fn.addrmodule },
		{ "dwfl_module_addrinfo", (void **)&s->fn.addrinfo },
		{ "dwfl_module_getsrc", (void **)&s->fn.getsrc },
		{ "dwfl_lineinfo", (void **)&s->fn.lineinfo },
		{ "dwfl_module_addrdie", (void **)&s->fn.addrdie },
		{ "dwfl_build_id_find_elf", (void **)&s->fn.find_elf },
		{ "dwfl_module_build_id", (void **)&s->fn.build_id },
		{ "dwarf_getscopes", (void **)&s->fn.getscopes },
		{ "dwarf_getscopes_die", (void **)&s->fn.getscopes_die },
		{ "dwarf_tag", (void **)&s->fn.tag },
		{ "dwarf_attr_integrate", (void **)&s->fn.attr_integrate },
		{ "dwarf_formstring", (void **)&s->fn.formstring },
		{ "dwarf_formudata", (void **)&s->fn.formudata },
		{ "dwarf_getsrcfiles", (void **)&s->fn.getsrcfiles },
		{ "dwarf_filesrc", (void **)&s->fn.filesrc },
	};

	s->lib = dlib_load(NULL, libs, syms, sizeof(syms) / sizeof(syms[0]), "libdw1", why, nwhy);
	if (!s->lib) {
		free(s);
		return -ENOENT;
	}
	s->pid = pid;
	s->maps = maps;
	s->mem = mem;
	s->callbacks.find_elf = s->fn.find_elf;
	module_build_id = s->fn.build_id;
	s->callbacks.find_debuginfo = find_debuginfo;
	s->dwfl = s->fn.begin(&s->callbacks);
	if (!s->dwfl) {
		snprintf(why, nwhy, "libdw could not start a session");
		free(s);
		return -ENOMEM;
	}
	s->reported = xcalloc(maps->nfiles ? maps->nfiles : 1, sizeof(*s->reported));
	*out = s;
	return 0;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		for (size_t k = 0; k < s->cache[i].n; k++) {
			free((char *)s->cache[i].v[k].function);
			free((char *)s->cache[i].v[k].module);
			free((char *)s->cache[i].v[k].file);
		}
		free(s->cache[i].v);
	}
	free(s->cache);
	free(s->reported);
	s->fn.end(s->dwfl);
	free(s);
}

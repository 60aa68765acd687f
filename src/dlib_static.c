/*
 * The libraries of dlib.h linked in, for the static build (make static):
 * dlib_load() finds each symbol in a table of the functions this binary
 * carries, and never calls dlopen(), which a statically linked glibc can
 * do only with the same glibc's shared libraries present at run time.
 * Every name a caller of dlib_load() asks for is listed here; one that is
 * not (libdeflate: zlib stands in) reads as a library that is not there.
 */
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libunwind-ptrace.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "dlib.h"

/* Declared by no C header: libstdc++'s demangler, and libunwind's table search. */
char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);
int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
				       unw_proc_info_t *pi, int need_unwind_info, void *arg);

#define SYM(fn) { #fn, (void *)&(fn) }

static const struct {
	const char *name;
	void *addr;
} linked[] = {
	/* libdw: symbols and lines of native frames */
	SYM(dwfl_begin), SYM(dwfl_end), SYM(dwfl_report_begin_add), SYM(dwfl_report_elf),
	SYM(dwfl_report_end), SYM(dwfl_addrmodule), SYM(dwfl_module_addrinfo),
	SYM(dwfl_module_getsrc), SYM(dwfl_lineinfo), SYM(dwfl_module_addrdie),
	SYM(dwfl_build_id_find_elf), SYM(dwfl_module_build_id), SYM(dwarf_getscopes),
	SYM(dwarf_getscopes_die), SYM(dwarf_tag), SYM(dwarf_attr_integrate), SYM(dwarf_formstring),
	SYM(dwarf_formudata), SYM(dwarf_getsrcfiles), SYM(dwarf_filesrc),
	/* libunwind-ptrace: native frames (the _U names its macros expand to) */
	SYM(_Ux86_64_create_addr_space), SYM(_Ux86_64_destroy_addr_space),
	SYM(_Ux86_64_set_caching_policy), SYM(_Ux86_64_init_remote), SYM(_Ux86_64_step),
	SYM(_Ux86_64_get_reg), SYM(_Ux86_64_is_signal_frame),
	SYM(_Ux86_64_dwarf_search_unwind_table), SYM(_UPT_put_unwind_info), SYM(_UPT_accessors),
	/* compressed cores and debug sections */
	SYM(ZSTD_createDCtx), SYM(ZSTD_freeDCtx), SYM(ZSTD_decompressStream), SYM(ZSTD_isError),
	SYM(ZSTD_getErrorName), SYM(lzma_stream_decoder), SYM(lzma_code), SYM(lzma_end),
	SYM(inflateInit2_), SYM(inflate), SYM(inflateReset), SYM(inflateEnd), SYM(uncompress),
	SYM(LZ4F_createDecompressionContext), SYM(LZ4F_freeDecompressionContext),
	SYM(LZ4F_decompress), SYM(LZ4F_isError), SYM(LZ4F_getErrorName),
	/* C++ names */
	SYM(__cxa_demangle),
};

static void *find(const char *name)
{
	for (size_t i = 0; i < sizeof(linked) / sizeof(linked[0]); i++)
		if (strcmp(linked[i].name, name) == 0)
			return linked[i].addr;
	return NULL;
}

void *dlib_load(const char *const *deps, const char *const *libs, const struct dlib_sym *syms,
		size_t n, const char *package, char *why, size_t nwhy)
{
	(void)deps;
	(void)package;
	for (size_t i = 0; i < n; i++) {
		*syms[i].slot = find(syms[i].name);
		if (!*syms[i].slot) {
			snprintf(why, nwhy, "this static pystack has no %s built in", libs[0]);
			return NULL;
		}
	}
	return (void *)linked;
}

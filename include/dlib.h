/*
 * Loading optional libraries at run time.  libunwind and libdw are needed
 * only for native frames; loading them with dlopen() keeps the Python-only
 * path from paying for them at every start.
 */
#ifndef PYSTACK_DLIB_H
#define PYSTACK_DLIB_H

#include <stddef.h>

struct dlib_sym {
	const char *name;
	void **slot;		/* where the address goes */
};

/*
 * dlopen the first library of libs (a NULL-terminated list of sonames) that
 * loads, after loading deps (also NULL-terminated, may be NULL) globally
 * for it: some libraries leave their dependencies undeclared.  Resolve
 * every symbol into its slot.  Returns the handle, or NULL with why filled
 * in (what is missing and which package has it).
 */
void *dlib_load(const char *const *deps, const char *const *libs, const struct dlib_sym *syms,
		size_t n, const char *package, char *why, size_t nwhy);

#endif

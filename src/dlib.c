/*
 * Loading optional libraries at run time (see dlib.h).
 */
#include <dlfcn.h>
#include <stdio.h>

#include "dlib.h"

void *dlib_load(const char *const *deps, const char *const *libs, const struct dlib_sym *syms,
		size_t n, const char *package, char *why, size_t nwhy)
{
	void *h = NULL;

	for (const char *const *d = deps; d && *d; d++) {
		if (!dlopen(*d, RTLD_NOW | RTLD_GLOBAL)) {
			snprintf(why, nwhy, "%s cannot be loaded (install the %s package)", *d, package);
			return NULL;
		}
	}
	for (const char *const *l = libs; *l && !h; l++)
		h = dlopen(*l, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, nwhy, "%s cannot be loaded (install the %s package)", libs[0], package);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		/* The library's own scope, then the dependencies loaded globally for it. */
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot)
			*syms[i].slot = dlsym(RTLD_DEFAULT, syms[i].name);
		if (!*syms[i].slot) {
			snprintf(why, nwhy, "%s lacks %s (too old? install a current %s)", libs[0],
				 syms[i].name, package);
			dlclose(h);
			return NULL;
		}
	}
	return h;
}

/*
 * Thread names as Python knows them: the threading module's registry of
 * live threads (threading._active, ident -> Thread) and each Thread's name,
 * read out of one interpreter.  Threads started without the threading
 * module (_thread.start_new_thread, threads from C) are not in it.
 *
 * Finding the registry means looking through sys.modules, so a session
 * does it once per interpreter and keeps the address; names are read again
 * for each snapshot (a thread may be renamed).
 */
#ifndef PYSTACK_PYTHREADING_H
#define PYSTACK_PYTHREADING_H

#include <stddef.h>
#include <stdint.h>

struct pyruntime;
struct rmem;

/* Names read, at most, from one registry. */
#define PYTHREADING_MAX 4096

struct pythread_name {
	uint64_t ident;		/* threading.get_ident() */
	char *name;		/* malloc'd raw text (see pystr.h) */
};

/*
 * The registry (threading._active) of interpreter interp into *active.
 * Returns 0, -ENOENT when threading was never imported, or another
 * negative error.
 */
int pythreading_registry(struct rmem *m, const struct pyruntime *rt, uint64_t interp,
			 uint64_t *active);

/*
 * The names in the registry at active: how many (into *out, malloc'd; free
 * with pythreading_free; NULL when none), or a negative error
 * (-PS_E_BAD_DATA when active is no dict any more).
 */
long pythreading_names(struct rmem *m, const struct pyruntime *rt, uint64_t active,
		       struct pythread_name **out);

void pythreading_free(struct pythread_name *v, size_t n);

#endif

/*
 * Diagnostics and allocation helpers shared by every module.
 *
 * error_msg() prints "pystack: ..." on stderr, debug_msg() only with -v.
 * The x*alloc() family aborts the program on allocation failure, the one
 * place below the commands where exiting is allowed.
 */
#ifndef PYSTACK_MSG_H
#define PYSTACK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

extern int msg_verbose;

void error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debug_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/*
 * Zeroed memory in whole pages straight from the system, none of it touched
 * until used (calloc may clear recycled memory page by page); freed with
 * pages_free(p, size).
 */
void *xpages(size_t size);
void pages_free(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A stream writing into a growing malloc'd buffer (open_memstream), checked. */
FILE *xopen_memstream(char **buf, size_t *len);
void xclose_memstream(FILE *f);

/*
 * Grow *array (of *cap elements of elsize bytes) so that it holds at least
 * need elements.  Doubles the capacity; aborts on overflow.
 */
void xgrow(void *array, size_t *cap, size_t need, size_t elsize);

#endif

/*
 * Diagnostics on stderr and checked allocation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "msg.h"

int msg_verbose;

static void vmsg(const char *fmt, va_list ap)
{
	int saved_errno = errno;

	fputs("pystack: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	errno = saved_errno;
}

void error_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void debug_msg(const char *fmt, ...)
{
	va_list ap;

	if (!msg_verbose)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

static void *check(void *p)
{
	if (!p) {
		fputs("pystack: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t size)
{
	return check(malloc(size ? size : 1));
}

void *xcalloc(size_t nmemb, size_t size)
{
	return check(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *xpages(size_t size)
{
	void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return check(p == MAP_FAILED ? NULL : p);
}

void pages_free(void *p, size_t size)
{
	if (p)
		munmap(p, size ? size : 1);
}

void *xrealloc(void *ptr, size_t size)
{
	return check(realloc(ptr, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		check(NULL);
	return s;
}

void xgrow(void *array, size_t *cap, size_t need, size_t elsize)
{
	void **p = array;
	size_t ncap = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			check(NULL);
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elsize)
		check(NULL);
	*p = xrealloc(*p, ncap * elsize);
	*cap = ncap;
}

FILE *xopen_memstream(char **buf, size_t *len)
{
	return check(open_memstream(buf, len));
}

void xclose_memstream(FILE *f)
{
	if (fclose(f))
		check(NULL);
}

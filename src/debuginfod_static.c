/*
 * The static build's stand-in for libdw's debuginfod client (make static).
 *
 * libdw asks its debuginfod client, when a file is not found on disk, to
 * fetch it from the servers DEBUGINFOD_URLS names; the client is a shared
 * library it dlopen()s, which a statically linked glibc cannot do soundly.
 * These three definitions of the client's entry points into libdwfl
 * (elfutils' libdwfl/libdwflP.h, 0.179 on) keep the archive's own client
 * out of the link: nothing is fetched, and a file that is not on disk is
 * not found.  Were elfutils to rename them, its client would come back and
 * the link (warnings are errors there) would fail rather than go wrong.
 */
#include <stddef.h>

struct Dwfl;
struct debuginfod_client;

int __libdwfl_debuginfod_find_executable(struct Dwfl *dwfl, const unsigned char *id, size_t len);
int __libdwfl_debuginfod_find_debuginfo(struct Dwfl *dwfl, const unsigned char *id, size_t len);
void __libdwfl_debuginfod_end(struct debuginfod_client *c);

int __libdwfl_debuginfod_find_executable(struct Dwfl *dwfl, const unsigned char *id, size_t len)
{
	(void)dwfl, (void)id, (void)len;
	return -1;
}

int __libdwfl_debuginfod_find_debuginfo(struct Dwfl *dwfl, const unsigned char *id, size_t len)
{
	(void)dwfl, (void)id, (void)len;
	return -1;
}

void __libdwfl_debuginfod_end(struct debuginfod_client *c)
{
	(void)c;
}

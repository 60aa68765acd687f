/*
 * Compressed core files: systemd-coredump's (zstd by default, xz or lz4 in
 * older releases) and the copies users compress themselves (gzip, xz, zstd,
 * lz4).  The format is told by the file's first bytes, never by its name;
 * it is decompressed, with the library made for it loaded at run time, into
 * an unlinked sparse temporary file that the core reader then maps as if it
 * were the core itself.
 */
#ifndef PYSTACK_CORECOMPRESS_H
#define PYSTACK_CORECOMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * The most a compressed core may decompress to: twice the largest core
 * systemd-coredump keeps on a 64-bit system (ProcessSizeMax= and
 * ExternalSizeMax= default to 32G, coredump.conf(5)).  The temporary file is
 * sparse, so the zero pages of a core cost no room; this bounds the time a
 * decompression bomb can take and the address space the reader maps.
 */
#define CORECOMPRESS_MAX (64ull << 30)

/*
 * If the regular file open on *fd is compressed, decompress it (at most
 * limit bytes) into an unlinked temporary file in $TMPDIR, else /var/tmp,
 * else /tmp, and put that in its place: the old *fd is closed, *fd is the
 * new file (read-write, close-on-exec) and *st describes it.  A file that is
 * not compressed is left as it is.  path is only for the -v messages.
 *
 * Returns 0, or a negative error with a one-line reason in detail (which does
 * not name the file), *fd and *st untouched and still the caller's:
 *   -ENOPKG         a format no library here reads (the reason names the
 *                   Debian package to install), or one pystack does not read
 *   -PS_E_BAD_CORE  corrupt or cut short (the reason says how far it got),
 *                   or more than limit bytes once decompressed
 *   -ENOSPC, -EDQUOT, -errno   the temporary file could not be made or written
 */
int corecompress_unpack(const char *path, int *fd, struct stat *st, uint64_t limit,
			char *detail, size_t ndetail);

#endif

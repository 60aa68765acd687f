/*
 * Separate debug files, made quick for libdw.
 *
 * Distributions compress the sections of their detached debug files
 * (/usr/lib/debug/.build-id/...), and libdw inflates every one of them the
 * moment it opens the file, including the large ones a symbolizer never
 * reads (location lists).  This makes a copy in memory in which the
 * sections libdw needs for names, lines and inlined calls are inflated
 * (with libdeflate when it is installed, else zlib; the largest on a second
 * thread) and the others are left out.
 */
#ifndef PYSTACK_DEBUGINFO_H
#define PYSTACK_DEBUGINFO_H

/*
 * A descriptor for a copy of the debug file open on fd with its compressed
 * sections inflated, or -1 when fd should be used as it is (nothing
 * compressed, an unknown compression, or any failure).  fd stays open.
 */
int debuginfo_inflated(int fd);

/*
 * Find the separate debug file of the module mapped from path (as the
 * process sees it) with this build ID (id_len bytes, may be 0) and
 * .gnu_debuglink name (may be NULL): under /usr/lib/debug/.build-id/ first,
 * then beside the file, in its .debug/ and under /usr/lib/debug/.  A
 * candidate must carry the same build ID.  Returns a descriptor (of the
 * inflated copy when the file is compressed) and sets *found to its path
 * (malloc'd), or -1.
 */
int debuginfo_find(const char *path, const unsigned char *id, int id_len, const char *debuglink,
		   char **found);

#endif

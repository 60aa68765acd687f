/*
 * Python strings out of the target's memory, as UTF-8.
 *
 * str (PEP 393, any kind), 2.7's str (bytes) and unicode, and bytes are
 * decoded into a caller's buffer.  Lone surrogates come out as their
 * three-byte (WTF-8) encodings and 2.7 byte strings as their raw bytes, so
 * the output may not be valid UTF-8: renderers escape what is not.  A NUL
 * in the string comes out as C0 80 (as in modified UTF-8), so that the
 * result is a C string holding all of it; the escapers show it.  Every
 * length read from the target is bounded; a string longer than the buffer
 * is cut and ends in "...", the single character U+2026.
 */
#ifndef PYSTACK_PYSTR_H
#define PYSTACK_PYSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyruntime;
struct rmem;

/* A comfortable bound for names and file names. */
#define PYSTR_MAX 4096

/*
 * Read the text object at addr (a str, or a 2.7 str/unicode) into buf of
 * size bytes (size >= 8).  Returns the length written (buf is also
 * NUL-terminated), or a negative error: -PS_E_BAD_DATA when the object is
 * not a string or is malformed.
 */
long pystr_read(struct rmem *m, const struct pyruntime *rt, uint64_t addr, char *buf, size_t size);

/* Where a str's (PEP 393) characters are, and how they are stored. */
struct pystr_layout {
	uint64_t length;	/* in code points */
	unsigned kind;		/* bytes per code point: 1, 2 or 4 */
	uint64_t data;		/* the first code unit */
};

/* The layout of the 3.x str at addr, checked (its type is not).  0 or a negative error. */
int pystr_layout(struct rmem *m, const struct pyruntime *rt, uint64_t addr, struct pystr_layout *out);

/*
 * Append code point cp as UTF-8 (surrogates as WTF-8, NUL as C0 80,
 * out-of-range values as U+FFFD) to buf at *len, if it fits in size - 1 bytes.  Returns false
 * when it does not fit.
 */
bool pystr_put_utf8(char *buf, size_t size, size_t *len, uint32_t cp);

/*
 * Decode n code units of width kind (1, 2 or 4 bytes) from data into buf,
 * cutting with U+2026 when it does not fit.  Returns the length written.
 */
size_t pystr_decode_units(const void *data, size_t n, unsigned kind, char *buf, size_t size);

#endif

/*
 * Escaping strings that came from the target before they reach a terminal
 * or a JSON parser.  Input is the snapshot's raw text (UTF-8 that may hold
 * WTF-8 surrogates or invalid bytes, see pystr.h).
 */
#ifndef PYSTACK_ESCAPE_H
#define PYSTACK_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * For a terminal: printable UTF-8 passes; control characters (C0, DEL,
 * C1), bidirectional and line-separator format characters, surrogates and
 * invalid bytes are written as \n, \t, \r, \xNN, \uNNNN.  A surrogate
 * escaping a byte (U+DC80..U+DCFF) is shown as that byte, \xNN, as a
 * Python 2 byte string with the same name would be.
 */
void escape_text(FILE *f, const char *s);

/*
 * The inside of a JSON string: quote, backslash, control characters (C0,
 * DEL, C1) and the format characters escape_text escapes written as
 * escapes, surrogates as \uDXXX, and each invalid byte b as \uDCbb (the
 * surrogateescape convention, which Python's os.fsdecode also uses).  The
 * output is plain text a terminal cannot be driven by.
 */
void escape_json(FILE *f, const char *s);

/*
 * A file name back as the file system has it: Python 3 keeps bytes that are
 * not UTF-8 as the surrogates U+DC80..U+DCFF (the surrogateescape error
 * handler); those become the bytes again.  Returns a malloc'd string.
 */
char *escape_fs_name(const char *s);

/*
 * Decode one UTF-8 sequence (accepting encoded surrogates, and C0 80 as
 * NUL: see pystr.h) at p, of at most n bytes.  Returns its length and sets
 * *cp, or 0 for an invalid byte.
 */
int utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

#endif

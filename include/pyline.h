/*
 * CPython line tables: from an instruction offset to a source line, for
 * each format the interpreter has used.  Pure functions over the table's
 * bytes, bounded by its length, whatever the bytes hold.
 */
#ifndef PYSTACK_PYLINE_H
#define PYSTACK_PYLINE_H

#include <stddef.h>

enum pyline_format {
	PYLINE_LNOTAB_UNSIGNED,	/* 2.7 co_lnotab: line increments 0..255 */
	PYLINE_LNOTAB,		/* 3.6-3.9 co_lnotab: signed line increments */
	PYLINE_LINETABLE_310,	/* 3.10 co_linetable: (bytes, line delta or -128) */
	PYLINE_LOCATIONS,	/* 3.11+ co_linetable: location entries */
};

/*
 * The line of the instruction at byte offset addr (negative: the frame has
 * not started, which reports firstlineno), as PyCode_Addr2Line() computes
 * it.  Returns -1 where the table records no line.
 */
int pyline_addr2line(enum pyline_format fmt, const unsigned char *tab, size_t len,
		     int firstlineno, long addr);

#endif

/*
 * Line-table decoding for every CPython format (see pyline.h).
 *
 * The formats are described in CPython's Objects/lnotab_notes.txt (up to
 * 3.10) and InternalDocs/locations.md (3.11 on).  Each decoder walks the
 * table once from the start, so its cost is bounded by the table's length.
 */
#include <limits.h>
#include <stdint.h>

#include "pyline.h"

/*
 * Lines are summed in a long: a hostile table can push them far past an
 * int (every delta is bounded, so a long cannot overflow within a bounded
 * table); a result no int can hold means "no line".
 */
static int as_line(long line)
{
	return line >= INT_MIN && line <= INT_MAX ? (int)line : -1;
}

/* <=3.9: pairs of (byte increment, line increment). */
static int lnotab(const unsigned char *t, size_t len, long line, long addr, int is_signed)
{
	long a = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		a += t[i];
		if (a > addr)
			break;
		line += is_signed ? (signed char)t[i + 1] : t[i + 1];
	}
	return as_line(line);
}

/* 3.10: pairs of (bytes covered, line delta); a delta of -128 means no line. */
static int linetable310(const unsigned char *t, size_t len, long line, long addr)
{
	long start = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		long end = start + t[i];
		int delta = (signed char)t[i + 1];
		int here = -1;

		if (delta != -128) {
			line += delta;
			here = as_line(line);
		}
		if (addr >= start && addr < end)
			return here;
		start = end;
	}
	return -1;
}

/* 3.11+: a varint is 6-bit chunks, least significant first, 0x40 = more. */
static unsigned read_varint(const unsigned char *t, size_t len, size_t *i)
{
	unsigned v = 0, shift = 0;

	while (*i < len) {
		unsigned char b = t[(*i)++];

		if (shift < 32)
			v |= (unsigned)(b & 0x3f) << shift;
		shift += 6;
		if (!(b & 0x40))
			break;
	}
	return v;
}

static int read_svarint(const unsigned char *t, size_t len, size_t *i)
{
	unsigned v = read_varint(t, len, i);

	return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

enum {
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

/*
 * 3.11+: entries whose first byte has bit 7 set, code in bits 3-6 and the
 * number of code units covered, minus one, in bits 0-2.  Only a first byte
 * has bit 7 set, which is how the rest of an entry is skipped.
 */
static int locations(const unsigned char *t, size_t len, long line, long addr)
{
	long unit = addr / 2, start = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char first = t[i++];
		int code = (first >> 3) & 15;
		long end = start + (first & 7) + 1;
		int here;

		if (!(first & 0x80))
			continue;	/* not an entry start: corrupt, resynchronise */
		if (code == LOC_NONE) {
			here = -1;
		} else {
			if (code == LOC_LONG || code == LOC_NO_COLUMNS)
				line += read_svarint(t, len, &i);
			else if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2)
				line += code - LOC_ONE_LINE0;
			here = as_line(line);
		}
		if (unit >= start && unit < end)
			return here;
		while (i < len && !(t[i] & 0x80))
			i++;
		start = end;
	}
	return -1;
}

int pyline_addr2line(enum pyline_format fmt, const unsigned char *tab, size_t len,
		     int firstlineno, long addr)
{
	if (addr < 0)
		return firstlineno;
	switch (fmt) {
	case PYLINE_LNOTAB_UNSIGNED:
		return lnotab(tab, len, firstlineno, addr, 0);
	case PYLINE_LNOTAB:
		return lnotab(tab, len, firstlineno, addr, 1);
	case PYLINE_LINETABLE_310:
		return linetable310(tab, len, firstlineno, addr);
	case PYLINE_LOCATIONS:
		return locations(tab, len, firstlineno, addr);
	}
	return -1;
}

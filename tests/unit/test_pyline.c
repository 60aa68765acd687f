/*
 * Unit tests: line tables in every format, from hand-built tables that
 * follow CPython's documented encodings, and a checker for cases that
 * real interpreters write (pyline_check_cases).
 */
#include <stdlib.h>
#include <string.h>

#include "pyline.h"
#include "unit.h"

#define LINE(fmt, tab, first, addr) \
	pyline_addr2line(fmt, (const unsigned char *)(tab), sizeof(tab) - 1, first, addr)

static void lnotab27(void)
{
	/* 6 bytes at line 10, then +1, then 8 bytes, +200 (unsigned). */
	static const char t[] = "\x06\x01\x08\xc8";

	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, 0), 10);
	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, 5), 10);
	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, 6), 11);
	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, 13), 11);
	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, 14), 211);
	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, 9999), 211);
	CHECK_INT(LINE(PYLINE_LNOTAB_UNSIGNED, t, 10, -1), 10);
}

static void lnotab36(void)
{
	/* Signed increments: +2 at byte 4, -1 at byte 10. */
	static const char t[] = "\x04\x02\x06\xff";

	CHECK_INT(LINE(PYLINE_LNOTAB, t, 5, 3), 5);
	CHECK_INT(LINE(PYLINE_LNOTAB, t, 5, 4), 7);
	CHECK_INT(LINE(PYLINE_LNOTAB, t, 5, 9), 7);
	CHECK_INT(LINE(PYLINE_LNOTAB, t, 5, 10), 6);
	/* An odd trailing byte is ignored. */
	CHECK_INT(pyline_addr2line(PYLINE_LNOTAB, (const unsigned char *)"\x04\x02\x06", 3, 5, 9), 7);
	CHECK_INT(pyline_addr2line(PYLINE_LNOTAB, NULL, 0, 5, 100), 5);
}

static void linetable310(void)
{
	/* [0,6) +0; [6,10) +1; [10,12) no line; [12,20) +2; then nothing. */
	static const char t[] = "\x06\x00\x04\x01\x02\x80\x08\x02";
	/* A zero-length entry still moves the line: [0,0) +3, [0,4) +0. */
	static const char z[] = "\x00\x03\x04\x00";

	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 0), 1);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 5), 1);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 6), 2);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 9), 2);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 10), -1);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 12), 4);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 19), 4);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, 20), -1);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, t, 1, -2), 1);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, z, 1, 0), 4);
	CHECK_INT(LINE(PYLINE_LINETABLE_310, z, 1, 3), 4);
}

static void locations(void)
{
	/*
	 * Entries: first byte 0x80 | code << 3 | (units - 1).
	 * [0,2) no-columns +1; [2,3) one-line+0; [3,6) one-line+2; [6,7) none;
	 * [7,9) long -3; [9,10) short (same line); [10,11) no-columns +100.
	 */
	static const char t[] =
		"\xe9\x02"		/* code 13, 2 units, svarint +1 */
		"\xd0\x01\x02"		/* code 10, 1 unit, columns */
		"\xe2\x00\x01"		/* code 12, 3 units */
		"\xf8"			/* code 15, 1 unit: no location */
		"\xf1\x07\x00\x05\x06"	/* code 14, 2 units, svarint -3, end line, columns */
		"\x80\x12"		/* code 0, 1 unit, short form */
		"\xe8\x48\x03";		/* code 13, 1 unit, svarint +100 in two chunks */

	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 0), 101);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 2), 101);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 4), 101);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 6), 103);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 11), 103);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 12), -1);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 14), 100);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 17), 100);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 18), 100);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 20), 200);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, 22), -1);
	CHECK_INT(LINE(PYLINE_LOCATIONS, t, 100, -2), 100);
}

static void hostile_tables(void)
{
	unsigned char junk[4096];
	unsigned seed = 12345;

	/* Whatever the bytes, every format answers and stays in bounds. */
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(seed % sizeof(junk));

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (unsigned char)(seed >> 16);
		}
		/* Byte-pair formats move the line at most 255 per pair. */
		for (int fmt = PYLINE_LNOTAB_UNSIGNED; fmt <= PYLINE_LINETABLE_310; fmt++) {
			int line = pyline_addr2line(fmt, junk, len, 1, (long)(seed % 10000));

			CHECK(line == -1 || (line >= 1 - 128 * (int)len && line <= 1 + 255 * (int)len));
		}
		pyline_addr2line(PYLINE_LOCATIONS, junk, len, 1, (long)(seed % 10000));
		pyline_addr2line(PYLINE_LOCATIONS, junk, len, 1, 1L << 40);
	}
	/* A varint that runs to the end of the table (ASan builds check the bounds). */
	memset(junk, 0x7f, sizeof(junk));
	junk[0] = 0xe8;
	pyline_addr2line(PYLINE_LOCATIONS, junk, sizeof(junk), 1, 0);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Cases from an interpreter, one table then its addresses:
 *   T FORMAT FIRSTLINENO HEXTABLE      (HEXTABLE "-" when empty)
 *   A ADDR EXPECTED                    (as many as wanted)
 * Reports every address where pyline disagrees with the interpreter.
 */
int pyline_check_cases(FILE *in)
{
	static const char *const names[] = { "lnotab27", "lnotab", "linetable310", "locations" };
	size_t hexcap = 1 << 22;
	char fmtname[32], kind[4], *hex = malloc(hexcap);
	unsigned char *tab = malloc(hexcap / 2);
	long cases = 0, bad = 0, tables = 0;
	int first = 0, fmt = -1;
	size_t len = 0;

	while (fscanf(in, "%3s", kind) == 1) {
		long addr;
		int expected, got;

		if (kind[0] == 'T') {
			if (fscanf(in, "%31s %d %4194303s", fmtname, &first, hex) != 3)
				break;
			fmt = -1;
			for (int i = 0; i < 4; i++)
				if (!strcmp(fmtname, names[i]))
					fmt = i;
			len = 0;
			for (const char *h = strcmp(hex, "-") ? hex : ""; h[0] && h[1]; h += 2)
				tab[len++] = (unsigned char)(hexval(h[0]) << 4 | hexval(h[1]));
			tables++;
			continue;
		}
		if (fscanf(in, "%ld %d", &addr, &expected) != 2)
			break;
		got = fmt < 0 ? -2 : pyline_addr2line((enum pyline_format)fmt, tab, len, first, addr);
		cases++;
		if (got != expected && bad++ < 10)
			printf("mismatch: %s first %d addr %ld: pystack %d, Python %d\n", fmtname, first,
			       addr, got, expected);
	}
	printf("%ld tables, %ld addresses, %ld mismatches\n", tables, cases, bad);
	free(hex);
	free(tab);
	return bad || !cases;
}

const struct unit_test pyline_tests[] = {
	{ "pyline: 2.7 lnotab", lnotab27 },
	{ "pyline: 3.6 lnotab", lnotab36 },
	{ "pyline: 3.10 linetable", linetable310 },
	{ "pyline: 3.11 locations", locations },
	{ "pyline: hostile tables", hostile_tables },
	{ NULL, NULL },
};

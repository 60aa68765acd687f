/*
 * Unit tests: escaping target strings for a terminal and for JSON.
 */
#include <stdlib.h>

#include "escape.h"
#include "unit.h"

static char *run(void (*fn)(FILE *, const char *), const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, s);
	fclose(f);
	return buf;
}

#define CHECK_ESC(fn, in, out)                \
	do {                                  \
		char *r_ = run(fn, in);       \
		CHECK_STR(r_, out);           \
		free(r_);                     \
	} while (0)

static void text(void)
{
	CHECK_ESC(escape_text, "plain ascii", "plain ascii");
	CHECK_ESC(escape_text, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	/* Terminal control: ESC, BEL, DEL, C1 (CSI), newline, tab. */
	CHECK_ESC(escape_text, "\x1b[31mred\x07", "\\x1b[31mred\\x07");
	CHECK_ESC(escape_text, "a\x7f" "b\xc2\x9b" "c", "a\\x7fb\\x9bc");
	CHECK_ESC(escape_text, "a\nb\tc\rd", "a\\nb\\tc\\rd");
	/* Bidirectional overrides and line separators. */
	CHECK_ESC(escape_text, "x\xe2\x80\xaey", "x\\u202ey");
	CHECK_ESC(escape_text, "x\xe2\x80\xa8y", "x\\u2028y");
	/* Invalid UTF-8, and WTF-8 surrogates. */
	CHECK_ESC(escape_text, "a\xff\xfe" "b", "a\\xff\\xfeb");
	CHECK_ESC(escape_text, "\xed\xb2\x80", "\\x80");		/* an escaped byte */
	CHECK_ESC(escape_text, "\xed\xa0\x80", "\\ud800");
	CHECK_ESC(escape_text, "a\xc0\x80" "b", "a\\x00b");	/* a NUL read from a process */
	CHECK_ESC(escape_text, "\xc0\xaf", "\\xc0\\xaf");	/* any other overlong form */
	CHECK_ESC(escape_text, "\xe6\x97", "\\xe6\\x97");	/* cut short */
	CHECK_ESC(escape_text, "", "");
}

static void json(void)
{
	CHECK_ESC(escape_json, "plain", "plain");
	CHECK_ESC(escape_json, "q\"b\\s", "q\\\"b\\\\s");
	CHECK_ESC(escape_json, "\x1b\x07\n\x7f", "\\u001b\\u0007\\n\\u007f");
	CHECK_ESC(escape_json, "caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80");
	CHECK_ESC(escape_json, "a\xff" "b", "a\\udcffb");
	CHECK_ESC(escape_json, "\xed\xa0\x80", "\\ud800");
	CHECK_ESC(escape_json, "\xe2\x80\xa8", "\\u2028");
	CHECK_ESC(escape_json, "a\xc0\x80" "b", "a\\u0000b");
	CHECK_ESC(escape_json, "\xc2\x9b[0m\xe2\x80\xae", "\\u009b[0m\\u202e");
}

static void utf8(void)
{
	uint32_t c = 0;

	CHECK_INT(utf8_decode((const unsigned char *)"A", 1, &c), 1);
	CHECK_INT(c, 'A');
	CHECK_INT(utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &c), 4);
	CHECK_INT(c, 0x10ffff);
	CHECK_INT(utf8_decode((const unsigned char *)"\xf4\x90\x80\x80", 4, &c), 0);
	CHECK_INT(utf8_decode((const unsigned char *)"\xe0\x80\x80", 3, &c), 0);
	CHECK_INT(utf8_decode((const unsigned char *)"\x80", 1, &c), 0);
	CHECK_INT(utf8_decode((const unsigned char *)"\xe6\x97\xa5", 2, &c), 0);
}

static void fs_names(void)
{
	char *s = escape_fs_name("/tmp/bad\xed\xb3\xbf_\xed\xb3\xbe.py");

	CHECK_STR(s, "/tmp/bad\xff_\xfe.py");
	free(s);
	s = escape_fs_name("caf\xc3\xa9 \xed\xa0\x80");	/* a lone high surrogate stays */
	CHECK_STR(s, "caf\xc3\xa9 \xed\xa0\x80");
	free(s);
}

const struct unit_test escape_tests[] = {
	{ "escape: file names", fs_names },
	{ "escape: text", text },
	{ "escape: json", json },
	{ "escape: utf8", utf8 },
	{ NULL, NULL },
};

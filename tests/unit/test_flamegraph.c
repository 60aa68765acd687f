/*
 * Unit tests: the SVG flame graph over small sets of folded stacks: one box
 * per prefix, shared prefixes merged, frame-by-frame order, counts and
 * shares, labels, colours, hostile names, no samples, write errors.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "flamegraph.h"
#include "folded.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *graph(const struct folded_entry *v, size_t n, const char *title)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK_INT(flamegraph_write(f, v, n, title), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (s = strstr(s, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* The one box whose data-name is name (as escaped in the SVG), malloc'd; or NULL. */
static char *frame(const char *svg, const char *name)
{
	char key[256];
	const char *p, *end;

	snprintf(key, sizeof(key), "<g class=\"frame\" data-name=\"%s\"", name);
	p = strstr(svg, key);
	if (!p || strstr(p + 1, key))
		return NULL;
	end = strstr(p, "</g>");
	return end ? strndup(p, (size_t)(end - p)) : NULL;
}

/* Where the box named name starts in svg, for order checks. */
static long position(const char *svg, const char *name)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "data-name=\"%s\"", name);
	p = strstr(svg, key);
	return p ? p - svg : -1;
}

/*
 * Valid UTF-8 with no character a flame graph must not carry: what XML 1.0
 * forbids (C0 but tab and newlines, surrogates, U+FFFE, U+FFFF), DEL and C1.
 */
static bool clean_utf8(const char *s)
{
	static const uint32_t shortest[] = { 0, 0, 0x80, 0x800, 0x10000 };
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t c;
		int n;

		if (*p < 0x80) {
			c = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			n = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			n = 4;
		} else {
			return false;
		}
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (p[i] & 0x3f);
		}
		if (c < shortest[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe ||
		    c == 0xffff || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    (c >= 0x7f && c < 0xa0))
			return false;
		p += n;
	}
	return true;
}

static void frames(void)
{
	const struct folded_entry v[] = {
		{ "p;t1;a (x.py:1);b (x.py:2)", 2 },
		{ "p;t1;a (x.py:1);c [libc.so.6]", 1 },
		{ "p;t2;a (x.py:1)", 1 },
		{ "p;t1", 4 },
	};
	char *out = graph(v, N(v), "CPU");
	char *f;

	/* p, p;t1, p;t1;a, p;t1;a;b, p;t1;a;c, p;t2, p;t2;a and the root. */
	CHECK_INT(count(out, "<g class=\"frame\""), 8);
	CHECK(!strncmp(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"", 36));
	CHECK(strstr(out, "</svg>\n") == out + strlen(out) - 7);
	CHECK(strstr(out, ">CPU</text>"));
	CHECK(strstr(out, "<title>all (8 samples, 100.00%)</title>"));
	/* Depth 4: 5 rows of boxes, 3 above, 2 below; the root on the lowest row. */
	CHECK(strstr(out, " width=\"1200\" height=\"160\" "));
	f = frame(out, "all");
	CHECK(f && strstr(f, "data-x=\"0\" data-w=\"8\" data-d=\"0\""));
	CHECK(f && strstr(f, "<rect x=\"10.00\" y=\"112\" width=\"1180.00\" height=\"15\""));
	free(f);
	f = frame(out, "t1");
	CHECK(f && strstr(f, "<title>t1 (7 samples, 87.50%)</title>"));
	CHECK(f && strstr(f, "data-x=\"0\" data-w=\"7\" data-d=\"2\""));
	free(f);
	f = frame(out, "t2");
	CHECK(f && strstr(f, "<title>t2 (1 sample, 12.50%)</title>"));
	CHECK(f && strstr(f, "data-x=\"7\" data-w=\"1\" data-d=\"2\""));
	CHECK(f && strstr(f, "<rect x=\"1042.50\" y=\"80\" width=\"147.50\""));
	free(f);
	/* Children start at their parent's left edge; its own samples are on the right. */
	f = frame(out, "b (x.py:2)");
	CHECK(f && strstr(f, "<title>b (x.py:2) (2 samples, 25.00%)</title>"));
	CHECK(f && strstr(f, "data-x=\"0\" data-w=\"2\" data-d=\"4\""));
	CHECK(f && strstr(f, "<rect x=\"10.00\" y=\"48\" width=\"295.00\""));
	free(f);
	f = frame(out, "c [libc.so.6]");
	CHECK(f && strstr(f, "data-x=\"2\" data-w=\"1\" data-d=\"4\""));
	free(f);
	CHECK_INT(count(out, "<script"), 1);
	CHECK(clean_utf8(out));
	free(out);
}

static void merge(void)
{
	const struct folded_entry v[] = {
		{ "p;t;a;c", 1 },
		{ "p;t;a;b", 2 },
		{ "p;t;a;b", 1 },	/* the same stack twice counts twice */
	};
	char *out = graph(v, N(v), NULL);
	char *f;

	CHECK_INT(count(out, "<g class=\"frame\""), 6);
	CHECK_INT(count(out, "data-name=\"a\""), 1);
	CHECK(strstr(out, ">Flame Graph</text>"));
	f = frame(out, "a");
	CHECK(f && strstr(f, "<title>a (4 samples, 100.00%)</title>"));
	free(f);
	f = frame(out, "b");
	CHECK(f && strstr(f, "<title>b (3 samples, 75.00%)</title>"));
	CHECK(f && strstr(f, "data-x=\"0\" data-w=\"3\""));
	free(f);
	f = frame(out, "c");
	CHECK(f && strstr(f, "<title>c (1 sample, 25.00%)</title>"));
	CHECK(f && strstr(f, "data-x=\"3\" data-w=\"1\""));
	free(f);
	CHECK(position(out, "b") >= 0 && position(out, "b") < position(out, "c"));
	free(out);
}

/* Siblings are ordered by name; "a" before "a b", though ' ' sorts before ';'. */
static void order(void)
{
	const struct folded_entry v[] = {
		{ "p;t;b", 1 },
		{ "p;t;a b", 2 },
		{ "p;t;a;z", 4 },
		{ "p;t;a", 8 },
	};
	char *out = graph(v, N(v), NULL);
	char *again = graph(v, N(v), NULL);
	char *f;

	CHECK_INT(count(out, "<g class=\"frame\""), 7);
	CHECK(position(out, "a") >= 0);
	CHECK(position(out, "a") < position(out, "z"));
	CHECK(position(out, "z") < position(out, "a b"));
	CHECK(position(out, "a b") < position(out, "b"));
	f = frame(out, "a b");
	CHECK(f && strstr(f, "data-x=\"12\" data-w=\"2\" data-d=\"3\""));
	free(f);
	f = frame(out, "b");
	CHECK(f && strstr(f, "data-x=\"14\" data-w=\"1\" data-d=\"3\""));
	free(f);
	CHECK_STR(out, again);
	free(again);
	free(out);
}

static void labels(void)
{
	const struct folded_entry v[] = {
		{ "p;t;abcdefghijklmnopqrst", 100 },
		{ "p;t;\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 100 },
		{ "p;t;narrow", 10 },
		{ "p;t;short", 790 },
	};
	char *out = graph(v, N(v), NULL);
	char *f;

	/* 118 px: 15 characters of 7.2 px after 6 px of padding. */
	f = frame(out, "abcdefghijklmnopqrst");
	CHECK(f && strstr(f, "<title>abcdefghijklmnopqrst (100 samples, 10.00%)</title>"));
	CHECK(f && strstr(f, ">abcdefghijklm..</text>"));
	free(f);
	/* Characters, not bytes. */
	CHECK(strstr(out, ">\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9..</text>"));
	/* 11.8 px: too narrow for a label, but the box is there. */
	f = frame(out, "narrow");
	CHECK(f && strstr(f, "<title>narrow (10 samples, 1.00%)</title>"));
	CHECK(f && strstr(f, "\"></text>"));
	free(f);
	f = frame(out, "short");
	CHECK(f && strstr(f, ">short</text>"));
	free(f);
	CHECK(strstr(out, ">all</text>"));
	free(out);
}

/* The first fill after p, as r, g, b. */
static bool rgb_after(const char *p, unsigned rgb[3])
{
	p = p ? strstr(p, "fill=\"rgb(") : NULL;
	return p && sscanf(p, "fill=\"rgb(%u,%u,%u)\"", &rgb[0], &rgb[1], &rgb[2]) == 3;
}

/* The fill of the box named name. */
static bool fill(const char *svg, const char *name, unsigned rgb[3])
{
	char *f = frame(svg, name);
	bool ok = rgb_after(f, rgb);

	free(f);
	return ok;
}

static void colors(void)
{
	const struct folded_entry v[] = {
		{ "proc (1);Thread 1;run (app.py:12);memcpy [libc.so.6]", 1 },
		{ "proc (1);Thread 2;main (app.py:3);run (app.py:12)", 1 },
		{ "proc (1);Thread 2;main (app.py:3);helper", 1 },
	};
	char *out = graph(v, N(v), NULL);
	const char *run = strstr(out, "data-name=\"run (app.py:12)\"");
	const char *again = run ? strstr(run + 1, "data-name=\"run (app.py:12)\"") : NULL;
	unsigned c[3], d[3];

	CHECK(fill(out, "all", c) && c[0] == c[1] && c[1] == c[2]);
	CHECK(fill(out, "proc (1)", c) && c[0] == c[1] && c[1] == c[2]);
	CHECK(fill(out, "Thread 2", c) && c[0] == c[1] && c[1] == c[2]);
	CHECK(fill(out, "main (app.py:3)", c) && c[0] > c[1] && c[1] > c[2]);
	CHECK(fill(out, "memcpy [libc.so.6]", c) && c[2] > c[0] && c[1] > c[0]);
	CHECK(fill(out, "helper", c) && c[1] > c[0] && c[1] > c[2]);
	/* By name: the same function has the same colour wherever it is. */
	CHECK(rgb_after(run, c) && c[0] > c[1] && c[1] > c[2]);
	CHECK(rgb_after(again, d) && c[0] == d[0] && c[1] == d[1] && c[2] == d[2]);
	free(out);
}

static void hostile(void)
{
	const struct folded_entry v[] = {
		{ "p\x1b[2J;t\xff;<script>&\"';x\xed\xb2\x80y;\xef\xbf\xbe;\x7f\xc2\x85\xe0\x80 [m]", 3 },
		{ "p\x1b[2J;t\xff;</g>]]>", 1 },
	};
	char *out = graph(v, N(v), "<title>\x01&");

	/* The check has teeth: the input itself fails it. */
	CHECK(!clean_utf8(v[0].stack));
	CHECK(!clean_utf8("\xed\xb2\x80") && !clean_utf8("\xef\xbf\xbe") && !clean_utf8("\xc2\x85"));
	CHECK(clean_utf8(out));
	CHECK(!strchr(out, '\x1b') && !strchr(out, '\xff') && !strchr(out, '\x7f'));
	CHECK_INT(count(out, "<g class=\"frame\""), 8);
	CHECK_INT(count(out, "<script"), 1);
	CHECK_INT(count(out, "]]>"), 1);
	CHECK_INT(count(out, "</g>"), 8);
	CHECK(!strstr(out, "<title>\\x01"));
	CHECK(strstr(out, ">&lt;title&gt;\\x01&amp;</text>"));
	CHECK(strstr(out, "data-name=\"p\\x1b[2J\""));
	CHECK(strstr(out, "data-name=\"t\\xff\""));
	CHECK(strstr(out, "data-name=\"&lt;script&gt;&amp;&quot;&#39;\""));
	CHECK(strstr(out, "<title>&lt;script&gt;&amp;&quot;&#39; (3 samples, 75.00%)</title>"));
	CHECK(strstr(out, "data-name=\"x\\xed\\xb2\\x80y\""));
	CHECK(strstr(out, "data-name=\"\\xef\\xbf\\xbe\""));
	CHECK(strstr(out, "data-name=\"\\x7f\\x85\\xe0\\x80 [m]\""));
	CHECK(strstr(out, "data-name=\"&lt;/g&gt;]]&gt;\""));
	free(out);
}

static void empty(void)
{
	const struct folded_entry zero[] = { { "p;t;a", 0 } };
	char *out = graph(NULL, 0, NULL);
	char *again = graph(zero, N(zero), NULL);

	CHECK(strstr(out, "</svg>\n"));
	CHECK(strstr(out, ">no samples</text>"));
	CHECK_INT(count(out, "<g class=\"frame\""), 1);
	CHECK(strstr(out, "<title>all (0 samples, 0.00%)</title>"));
	CHECK(strstr(out, "<rect x=\"10.00\" y=\"48\" width=\"1180.00\""));
	CHECK(clean_utf8(out));
	/* Stacks without samples draw nothing. */
	CHECK_STR(again, out);
	free(again);
	free(out);
}

static void write_error(void)
{
	const struct folded_entry v[] = { { "p;t;a", 1 } };
	FILE *f = fopen("/dev/full", "w");

	CHECK(f);
	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	CHECK_INT(flamegraph_write(f, v, N(v), NULL), -ENOSPC);
	fclose(f);
}

const struct unit_test flamegraph_tests[] = {
	{ "flamegraph: frames", frames },
	{ "flamegraph: merge", merge },
	{ "flamegraph: order", order },
	{ "flamegraph: labels", labels },
	{ "flamegraph: colors", colors },
	{ "flamegraph: hostile", hostile },
	{ "flamegraph: empty", empty },
	{ "flamegraph: write error", write_error },
	{ NULL, NULL },
};

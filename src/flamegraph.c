/*
 * The SVG flame graph (see flamegraph.h): a prefix tree built from the
 * folded stacks, laid out with the root at the bottom and widths in
 * proportion to samples, written with a small script for hover details and
 * click-to-zoom.  Every string from the stacks is made valid XML here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "flamegraph.h"
#include "folded.h"
#include "msg.h"

/*
 * Geometry in pixels.  Labels use a monospace font, whose advance is about
 * 0.6 em: CHAR_W at FONT_PX.  The script gets the same numbers, so a label
 * cut by the script after a zoom matches one cut here.
 */
#define IMAGE_W		1200
#define PAD		10		/* left and right of the boxes */
#define PLOT_W		(IMAGE_W - 2 * PAD)
#define FRAME_H		16
#define TOP_ROWS	3		/* title and Reset Zoom */
#define BOTTOM_ROWS	2		/* the details line */
#define FONT_PX		12
#define CHAR_W		7.2
#define TEXT_PAD	3		/* between a box's left edge and its label */
#define MIN_CHARS	3		/* fewer fit: no label */

/* A box: one distinct stack prefix. */
struct node {
	const char *name;		/* the last frame, in the caller's string */
	size_t len;
	size_t depth;			/* 0 for the root */
	uint64_t value;			/* samples of this prefix and longer stacks */
	uint64_t x;			/* samples left of the box */
	uint64_t children;		/* samples of the children added so far */
};

struct tree {
	struct node *v;			/* in pre-order, children alphabetical; v[0] is the root */
	size_t n, cap;
	size_t *path;			/* node by depth, along the last stack added */
	size_t npath, cappath;
	size_t max_depth;
};

/* Counts are summed saturating: a wrapped sum would draw nonsense. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A byte's rank when stacks are compared frame by frame: end, then ';', then the rest. */
static int rank(unsigned char c)
{
	return c == '\0' ? 0 : c == ';' ? 1 : c + 1;
}

/*
 * With ';' ranked below every other byte, stacks sort frame by frame, each
 * frame name compared as strcmp does: stacks that share a prefix are
 * adjacent, and siblings come in alphabetical order.
 */
static int by_frames(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)(*(const struct folded_entry *const *)a)->stack;
	const unsigned char *q = (const unsigned char *)(*(const struct folded_entry *const *)b)->stack;

	while (*p && *p == *q) {
		p++;
		q++;
	}
	return rank(*p) - rank(*q);
}

/* Make name the child of parent at depth, and the path's end. */
static void add_child(struct tree *t, size_t parent, const char *name, size_t len, size_t depth)
{
	xgrow(&t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n] = (struct node){
		.name = name,
		.len = len,
		.depth = depth,
		.x = add_sat(t->v[parent].x, t->v[parent].children),
	};
	xgrow(&t->path, &t->cappath, depth + 1, sizeof(*t->path));
	t->path[depth] = t->n++;
	t->npath = depth + 1;
	if (depth > t->max_depth)
		t->max_depth = depth;
}

/*
 * Add a stack, in sorted order: a prefix seen before is then on the path
 * of the previous stack, and a child's left edge is where the samples of
 * its earlier siblings end.  The empty stack counts for the root alone.
 */
static void tree_add(struct tree *t, const char *stack, uint64_t count)
{
	const char *s = stack, *end;
	size_t depth = 0;

	t->v[0].value = add_sat(t->v[0].value, count);
	if (!*stack)
		return;
	do {
		size_t parent = t->path[depth++], len;
		struct node *nd;

		end = strchrnul(s, ';');
		len = (size_t)(end - s);
		if (depth >= t->npath || t->v[t->path[depth]].len != len ||
		    memcmp(t->v[t->path[depth]].name, s, len))
			add_child(t, parent, s, len, depth);
		t->v[parent].children = add_sat(t->v[parent].children, count);
		nd = &t->v[t->path[depth]];
		nd->value = add_sat(nd->value, count);
		s = end + 1;
	} while (*end);
}

/*
 * A name as text XML can carry: valid UTF-8 without control characters
 * (C0, DEL, C1), surrogates (which WTF-8 encodes) or U+FFFE and U+FFFF.
 * Each byte of anything else becomes \xNN.  Returns a malloc'd string.
 */
static char *clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(4 * len + 1), *o = out;

	while (len) {
		uint32_t c;
		int k = utf8_decode(p, len, &c);

		if (k == 0 || c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c <= 0xdfff) ||
		    c == 0xfffe || c == 0xffff) {
			if (k && c < 0xa0) {
				o += sprintf(o, "\\x%02x", (unsigned)c);	/* a control, or NUL (C0 80) */
			} else {
				k = k ? k : 1;
				for (int i = 0; i < k; i++)
					o += sprintf(o, "\\x%02x", p[i]);
			}
		} else {
			memcpy(o, p, (size_t)k);
			o += k;
		}
		p += k;
		len -= (size_t)k;
	}
	*o = '\0';
	return out;
}

/* Characters, not bytes, in a valid UTF-8 string. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The length in bytes of the first chars characters of a valid UTF-8 string. */
static size_t utf8_bytes(const char *s, size_t chars)
{
	const char *p = s;

	for (; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80 && chars-- == 0)
			break;
	return (size_t)(p - s);
}

/* Text or an attribute value: the five characters XML reserves, as references. */
static void put_xml(FILE *out, const char *s, size_t n)
{
	for (; n; s++, n--) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* A number v >= 0 with two decimals and a '.', whatever the locale. */
static void put_fixed(FILE *out, double v)
{
	unsigned long long c = (unsigned long long)(v * 100 + 0.5);

	fprintf(out, "%llu.%02llu", c / 100, c % 100);
}

/* The label of a box width px wide: name, cut with ".." when it does not fit. */
static void put_label(FILE *out, const char *name, double width)
{
	double room = (width - 2 * TEXT_PAD) / CHAR_W;
	size_t fit;

	if (room < MIN_CHARS)
		return;
	fit = (size_t)room;
	if (utf8_chars(name) <= fit) {
		put_xml(out, name, strlen(name));
	} else {
		put_xml(out, name, utf8_bytes(name, fit - 2));
		fputs("..", out);
	}
}

/* A Python frame: "func (file.py:12)". */
static bool is_python(const char *s, size_t n)
{
	size_t i;

	if (n < 4 || s[n - 1] != ')')
		return false;
	for (i = n - 1; i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'; i--)
		;
	return i < n - 1 && i > 0 && s[i - 1] == ':';
}

/*
 * A colour that depends only on the name, so a function keeps it across
 * graphs: warm for Python frames, aqua for native ones ("memcpy [libc.so.6]"),
 * green for anything else, grey for the root, process and thread.
 */
static void put_color(FILE *out, const struct node *nd)
{
	uint32_t h = 2166136261u;
	unsigned a, b, c;

	for (size_t i = 0; i < nd->len; i++)
		h = (h ^ (unsigned char)nd->name[i]) * 16777619u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	a = h & 0xff;
	b = (h >> 8) & 0xff;
	c = (h >> 16) & 0xff;
	if (nd->depth <= 2) {
		a = 190 + a * 40 / 255;
		fprintf(out, "rgb(%u,%u,%u)", a, a, a);
	} else if (is_python(nd->name, nd->len)) {
		fprintf(out, "rgb(%u,%u,%u)", 225 + a * 30 / 255, 90 + b * 130 / 255, 30 + c * 50 / 255);
	} else if (nd->len && nd->name[nd->len - 1] == ']') {
		fprintf(out, "rgb(%u,%u,%u)", 60 + a * 60 / 255, 170 + b * 50 / 255, 205 + c * 45 / 255);
	} else {
		fprintf(out, "rgb(%u,%u,%u)", 120 + a * 40 / 255, 190 + b * 40 / 255, 90 + c * 40 / 255);
	}
}

/* One box: a g.frame holding its tooltip, rectangle and label. */
static void put_frame(FILE *out, const struct tree *t, const struct node *nd, uint64_t total)
{
	char *name = clean(nd->name, nd->len);
	unsigned long long top = (unsigned long long)(TOP_ROWS + t->max_depth - nd->depth) * FRAME_H;
	double left = PAD, width = PLOT_W;

	if (total) {
		left += (double)nd->x / (double)total * PLOT_W;
		width = (double)nd->value / (double)total * PLOT_W;
	}
	fputs("<g class=\"frame\" data-name=\"", out);
	put_xml(out, name, strlen(name));
	fprintf(out, "\" data-x=\"%llu\" data-w=\"%llu\" data-d=\"%zu\">\n<title>",
		(unsigned long long)nd->x, (unsigned long long)nd->value, nd->depth);
	put_xml(out, name, strlen(name));
	fprintf(out, " (%llu sample%s, ", (unsigned long long)nd->value, nd->value == 1 ? "" : "s");
	put_fixed(out, total ? (double)nd->value / (double)total * 100 : 0);
	fputs("%)</title>\n<rect x=\"", out);
	put_fixed(out, left);
	fprintf(out, "\" y=\"%llu\" width=\"", top);
	put_fixed(out, width);
	fprintf(out, "\" height=\"%d\" fill=\"", FRAME_H - 1);
	put_color(out, nd);
	fputs("\"/>\n<text x=\"", out);
	put_fixed(out, left + TEXT_PAD);
	fprintf(out, "\" y=\"%llu\">", top + FRAME_H - 4);
	put_label(out, name, width);
	fputs("</text>\n</g>\n", out);
	free(name);
}

/*
 * Hover shows a box's tooltip in the details line; a click makes a box and
 * its ancestors span the width, scales its descendants and hides the rest.
 * Boxes are told apart by their sample intervals (data-x, data-w) and
 * depth: a descendant lies deeper, inside the interval.
 */
static const char script[] =
	"var frames = document.querySelectorAll(\"g.frame\");\n"
	"var details = document.getElementById(\"details\");\n"
	"var unzoom = document.getElementById(\"unzoom\");\n"
	"\n"
	"function num(g, key) {\n"
	"\treturn Number(g.getAttribute(\"data-\" + key));\n"
	"}\n"
	"\n"
	"/* As put_label() in flamegraph.c: whole characters, \"..\" when cut. */\n"
	"function label(name, width) {\n"
	"\tvar chars = Array.from(name), fit = Math.floor((width - 2 * TEXT_PAD) / CHAR_W);\n"
	"\n"
	"\tif (fit < MIN_CHARS)\n"
	"\t\treturn \"\";\n"
	"\tif (chars.length <= fit)\n"
	"\t\treturn name;\n"
	"\treturn chars.slice(0, fit - 2).join(\"\") + \"..\";\n"
	"}\n"
	"\n"
	"function place(g, left, width) {\n"
	"\tvar rect = g.querySelector(\"rect\"), text = g.querySelector(\"text\");\n"
	"\n"
	"\tg.removeAttribute(\"display\");\n"
	"\trect.setAttribute(\"x\", left.toFixed(2));\n"
	"\trect.setAttribute(\"width\", width.toFixed(2));\n"
	"\ttext.setAttribute(\"x\", (left + TEXT_PAD).toFixed(2));\n"
	"\ttext.textContent = label(g.getAttribute(\"data-name\"), width);\n"
	"}\n"
	"\n"
	"function zoom(target) {\n"
	"\tvar x0 = num(target, \"x\"), w0 = num(target, \"w\"), d0 = num(target, \"d\");\n"
	"\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar g = frames[i], x = num(g, \"x\"), w = num(g, \"w\"), d = num(g, \"d\");\n"
	"\n"
	"\t\tif (d <= d0 && x <= x0 && x + w >= x0 + w0)\n"
	"\t\t\tplace(g, PAD, WIDTH);\n"
	"\t\telse if (d > d0 && x >= x0 && x + w <= x0 + w0)\n"
	"\t\t\tplace(g, PAD + (x - x0) / w0 * WIDTH, w / w0 * WIDTH);\n"
	"\t\telse\n"
	"\t\t\tg.setAttribute(\"display\", \"none\");\n"
	"\t}\n"
	"\tunzoom.setAttribute(\"visibility\", d0 > 0 ? \"visible\" : \"hidden\");\n"
	"}\n"
	"\n"
	"function frameOf(event) {\n"
	"\treturn event.target.closest(\"g.frame\");\n"
	"}\n"
	"\n"
	"document.documentElement.addEventListener(\"click\", function (event) {\n"
	"\tvar g = frameOf(event);\n"
	"\n"
	"\tif (g)\n"
	"\t\tzoom(g);\n"
	"});\n"
	"document.documentElement.addEventListener(\"mouseover\", function (event) {\n"
	"\tvar g = frameOf(event);\n"
	"\n"
	"\tdetails.textContent = g ? g.querySelector(\"title\").textContent : \"\";\n"
	"});\n"
	"/* The root is the first box written; zooming to it is the full view. */\n"
	"unzoom.addEventListener(\"click\", function () {\n"
	"\tzoom(frames[0]);\n"
	"});\n";

/* The tree of the stacks v[0..n) with samples: free t->v and t->path. */
static void tree_build(struct tree *t, const struct folded_entry *v, size_t n)
{
	const struct folded_entry **sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
	size_t k = 0;

	/* Stacks without samples would be boxes of no width: leave them out. */
	for (size_t i = 0; i < n; i++)
		if (v[i].count)
			sorted[k++] = &v[i];
	qsort(sorted, k, sizeof(*sorted), by_frames);
	*t = (struct tree){ .n = 1, .npath = 1 };
	xgrow(&t->v, &t->cap, 1, sizeof(*t->v));
	t->v[0] = (struct node){ .name = "all", .len = strlen("all") };
	xgrow(&t->path, &t->cappath, 1, sizeof(*t->path));
	t->path[0] = 0;
	for (size_t i = 0; i < k; i++)
		tree_add(t, sorted[i]->stack, sorted[i]->count);
	free(sorted);
}

/* Everything above the boxes: style, background, title, Reset Zoom, details line. */
static void put_head(FILE *out, const char *title, unsigned long long height, uint64_t total)
{
	char *head = clean(title, strlen(title));

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%llu\" "
		"viewBox=\"0 0 %d %llu\">\n", IMAGE_W, height, IMAGE_W, height);
	fprintf(out, "<style>\n"
		"text { font-family: monospace; font-size: %dpx; fill: #000; }\n"
		"#title { font-size: %dpx; }\n"
		"#unzoom { cursor: pointer; fill: #1a4f9c; }\n"
		".frame { cursor: pointer; }\n"
		".frame:hover rect { stroke: #000; stroke-width: 0.5; }\n"
		"</style>\n", FONT_PX, FONT_PX + 4);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%llu\" fill=\"#f7f7f2\"/>\n",
		IMAGE_W, height);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", IMAGE_W / 2,
		FRAME_H * 3 / 2);
	put_xml(out, head, strlen(head));
	fprintf(out, "</text>\n<text id=\"unzoom\" x=\"%d\" y=\"%d\" visibility=\"hidden\">Reset Zoom</text>\n",
		PAD, FRAME_H * 3 / 2);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%llu\"></text>\n", PAD, height - FRAME_H / 2);
	if (!total)
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no samples</text>\n",
			IMAGE_W / 2, TOP_ROWS * FRAME_H - 4);
	free(head);
}

/* The script, with the geometry it shares with this file. */
static void put_script(FILE *out)
{
	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n"
		"(function () {\n"
		"\"use strict\";\n"
		"var PAD = %d, WIDTH = %d, TEXT_PAD = %d, MIN_CHARS = %d, CHAR_W = ",
		PAD, PLOT_W, TEXT_PAD, MIN_CHARS);
	put_fixed(out, CHAR_W);
	fputs(";\n", out);
	fputs(script, out);
	fputs("})();\n]]></script>\n", out);
}

int flamegraph_write(FILE *out, const struct folded_entry *v, size_t n, const char *title)
{
	struct tree t;
	unsigned long long height;

	tree_build(&t, v, n);
	height = (unsigned long long)(t.max_depth + 1 + TOP_ROWS + BOTTOM_ROWS) * FRAME_H;
	errno = 0;
	put_head(out, title ? title : "Flame Graph", height, t.v[0].value);
	for (size_t i = 0; i < t.n; i++)
		put_frame(out, &t, &t.v[i], t.v[0].value);
	put_script(out);
	fputs("</svg>\n", out);
	free(t.v);
	free(t.path);
	if (ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}

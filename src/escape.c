/*
 * Terminal and JSON escaping of target strings (see escape.h).
 */
#include <stdbool.h>
#include <string.h>

#include "escape.h"
#include "msg.h"

int utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	int len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	/* NUL in its two-byte (modified UTF-8) form: how a string read from a process holds one. */
	if (p[0] == 0xc0 && n >= 2 && p[1] == 0x80) {
		*cp = 0;
		return 2;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms and values past Unicode are invalid. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

static bool is_surrogate(uint32_t c)
{
	return c >= 0xd800 && c <= 0xdfff;
}

/* Characters that could mislead on a terminal even though they are printable. */
static bool is_format(uint32_t c)
{
	return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029 || c == 0xfeff;
}

/* Write the pending run of bytes that need no escaping. */
static const unsigned char *flush_run(FILE *f, const unsigned char *run, const unsigned char *p)
{
	if (p > run)
		fwrite(run, 1, (size_t)(p - run), f);
	return p;
}

void escape_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n = strlen(s);

	while (n) {
		uint32_t c;
		int len;

		/* Printable ASCII, the common case, is passed through in runs. */
		if (*p >= 0x20 && *p < 0x7f) {
			p++;
			n--;
			continue;
		}
		len = utf8_decode(p, n, &c);
		if (len > 1 && c >= 0xa0 && !is_surrogate(c) && !is_format(c)) {
			p += len;
			n -= (size_t)len;
			continue;
		}
		run = flush_run(f, run, p);
		if (len == 0) {
			fprintf(f, "\\x%02x", p[0]);
			len = 1;
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c < 0xa0) {
			fprintf(f, "\\x%02x", (unsigned)c);
		} else if (c >= 0xdc80 && c <= 0xdcff) {
			fprintf(f, "\\x%02x", (unsigned)(c - 0xdc00));
		} else {
			fprintf(f, "\\u%04x", (unsigned)c);
		}
		p += len;
		n -= (size_t)len;
		run = p;
	}
	flush_run(f, run, p);
}

void escape_json(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n = strlen(s);

	while (n) {
		uint32_t c;
		int len;

		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			p++;
			n--;
			continue;
		}
		len = utf8_decode(p, n, &c);
		/* Valid JSON either way; escaped, C1 controls and bidi overrides cannot mislead a terminal. */
		if (len > 1 && c >= 0xa0 && !is_surrogate(c) && !is_format(c)) {
			p += len;
			n -= (size_t)len;
			continue;
		}
		run = flush_run(f, run, p);
		if (len == 0) {
			fprintf(f, "\\udc%02x", p[0]);
			len = 1;
		} else if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else {
			fprintf(f, "\\u%04x", (unsigned)c);
		}
		p += len;
		n -= (size_t)len;
		run = p;
	}
	flush_run(f, run, p);
}

char *escape_fs_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len = 0;
	char *out = xmalloc(n + 1);

	while (n) {
		uint32_t c;
		int k = utf8_decode(p, n, &c);

		if (k == 3 && c >= 0xdc80 && c <= 0xdcff) {
			out[len++] = (char)(c - 0xdc00);
		} else {
			k = k ? k : 1;
			memcpy(out + len, p, (size_t)k);
			len += (size_t)k;
		}
		p += k;
		n -= (size_t)k;
	}
	out[len] = '\0';
	return out;
}

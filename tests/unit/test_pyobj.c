/*
 * Unit tests: pyobj.c over fake objects laid out with every version's
 * table: reprs of each kind, dict iteration order and lookups, attributes
 * wherever each version keeps them, and hostile objects (huge claims,
 * negative sizes, loops, reads that fail) that must cost little and never
 * crash.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "errors.h"
#include "escape.h"
#include "fakepy.h"
#include "pyobj.h"
#include "unit.h"

/* Every build with a table: each version's default build, and the free-threaded ones (3.13+). */
static const struct build {
	unsigned major, minor;
	bool free_threaded;
} versions[] = {
	{ 2, 7, false }, { 3, 6, false }, { 3, 7, false }, { 3, 8, false }, { 3, 9, false },
	{ 3, 10, false }, { 3, 11, false }, { 3, 12, false }, { 3, 13, false }, { 3, 13, true },
	{ 3, 14, false }, { 3, 14, true }, { 3, 15, false }, { 3, 15, true },
};
#define N_VERSIONS (sizeof(versions) / sizeof(versions[0]))

static void init(struct fakepy *fp, size_t v)
{
	fakepy_init_build(fp, versions[v].major, versions[v].minor, versions[v].free_threaded);
}

static char out[8192];

static const char *repr(struct fakepy *fp, struct rmem *m, uint64_t obj)
{
	size_t n = pyobj_repr(m, &fp->rt, obj, out, sizeof(out));

	CHECK_INT(n, strlen(out));
	return out;
}

__attribute__((format(printf, 1, 2)))
static const char *addr_fmt(const char *fmt, ...)
{
	static char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* Python's 'u' prefix on 2.7 unicode; fakepy_str makes 2.7 byte strings, which have none. */
static bool py2(const struct fakepy *fp)
{
	return fp->rt.ver.major == 2;
}

/* 10^k as base-2^30 digits; returns their count. */
static size_t pow10_digits(unsigned k, uint32_t *d)
{
	size_t n = 1;

	d[0] = 1;
	while (k--) {
		uint64_t carry = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t v = (uint64_t)d[i] * 10 + carry;

			d[i] = (uint32_t)(v & 0x3fffffff);
			carry = v >> 30;
		}
		if (carry)
			d[n++] = (uint32_t)carry;
	}
	return n;
}

static void singletons_and_ints(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint32_t d[100], two100[4] = { 0, 0, 0, 1u << 10 }, bad[2] = { 5, 1u << 30 };
		uint64_t o[16], nines;
		char want[400];
		struct rmem *m;
		size_t n;

		init(&fp, v);
		o[0] = fakepy_int(&fp, 0);
		o[1] = fakepy_int(&fp, -5);
		o[2] = fakepy_long(&fp, false, two100, 4);	/* 2^100 */
		o[3] = fakepy_long(&fp, true, two100, 4);
		n = pow10_digits(299, d);
		o[4] = fakepy_long(&fp, false, d, n);		/* 300 digits: shown */
		n = pow10_digits(300, d);
		o[5] = fakepy_long(&fp, true, d, n);		/* 301: too many */
		o[6] = fakepy_int(&fp, INT64_MAX);
		o[7] = fakepy_long(&fp, false, NULL, 0);
		o[8] = fakepy_long(&fp, false, bad, 2);		/* a digit out of range */
		o[9] = fakepy_long(&fp, false, two100, 4);
		/* claims 2^39 digits: only the top one is read, and it is not there */
		if (fp.rt.off.long_tag != PYO_NONE)
			fakepy_put64(&fp, o[9] + fp.rt.off.long_tag, (1ull << 39) << fp.rt.off.long_tag_shift);
		else
			fakepy_put64(&fp, o[9] + fp.rt.off.varobject_size, 1ull << 39);
		nines = fakepy_long(&fp, false, (uint32_t[]){ 0x3fffffff, 0x3fffffff, 0x3fffffff }, 3);
		m = fakepy_map(&fp);

		CHECK_STR(repr(&fp, m, fp.rt.obj_none), "None");
		CHECK_STR(repr(&fp, m, fp.rt.obj_true), "True");
		CHECK_STR(repr(&fp, m, fp.rt.obj_false), "False");
		CHECK_STR(repr(&fp, m, fp.rt.obj_ellipsis), "Ellipsis");
		CHECK_STR(repr(&fp, m, fp.rt.obj_notimplemented), "NotImplemented");
		CHECK_STR(repr(&fp, m, 0), "<NULL>");
		CHECK_STR(repr(&fp, m, o[0]), "0");
		CHECK_STR(repr(&fp, m, o[1]), "-5");
		CHECK_STR(repr(&fp, m, o[2]), py2(&fp) ? "1267650600228229401496703205376L" :
			  "1267650600228229401496703205376");
		CHECK_STR(repr(&fp, m, o[3]), py2(&fp) ? "-1267650600228229401496703205376L" :
			  "-1267650600228229401496703205376");
		memset(want, '0', 300);
		want[0] = '1';
		snprintf(want + 300, sizeof(want) - 300, "%s", py2(&fp) ? "L" : "");
		CHECK_STR(repr(&fp, m, o[4]), want);
		CHECK_STR(repr(&fp, m, o[5]), py2(&fp) ? "<negative long of 997 bits>" :
			  "<negative int of 997 bits>");
		CHECK_STR(repr(&fp, m, o[6]), "9223372036854775807");
		CHECK_STR(repr(&fp, m, o[7]), py2(&fp) ? "0L" : "0");
		CHECK_STR(repr(&fp, m, o[8]), addr_fmt("<unreadable object at 0x%" PRIx64 ">", o[8]));
		CHECK_STR(repr(&fp, m, o[9]), addr_fmt("<unreadable object at 0x%" PRIx64 ">", o[9]));
		CHECK_STR(repr(&fp, m, nines), py2(&fp) ? "1237940039285380274899124223L" :
			  "1237940039285380274899124223");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void floats(void)
{
	static const struct {
		double x;
		const char *repr;
	} cases[] = {
		{ 0.1, "0.1" }, { 1e16, "1e+16" }, { 1e-5, "1e-05" }, { 1e-4, "0.0001" },
		{ 1e15, "1000000000000000.0" }, { -0.0, "-0.0" }, { 0.0, "0.0" }, { 1.0 / 3, "0.3333333333333333" },
		{ 5e-324, "5e-324" }, { DBL_MAX, "1.7976931348623157e+308" }, { 1e22, "1e+22" },
		{ 1e23, "1e+23" }, { 100.0, "100.0" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 2.675, "2.675" }, { -2.5, "-2.5" }, { 123456789012345680.0, "1.2345678901234568e+17" },
		{ 1.5e300, "1.5e+300" }, { 9007199254740992.0, "9007199254740992.0" },
		{ 0x1p-1022, "2.2250738585072014e-308" }, { 0x1p-1074 * 3, "1.5e-323" },
		{ 12345.678, "12345.678" }, { 0.000123, "0.000123" }, { 1.2e-7, "1.2e-07" },
	};
	struct fakepy fp;
	uint64_t f[4];
	struct rmem *m;
	char buf[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(pyobj_format_float(cases[i].x, buf, sizeof(buf)), strlen(cases[i].repr));
		CHECK_STR(buf, cases[i].repr);
	}
	pyobj_format_float(INFINITY, buf, sizeof(buf));
	CHECK_STR(buf, "inf");
	pyobj_format_float(-INFINITY, buf, sizeof(buf));
	CHECK_STR(buf, "-inf");
	pyobj_format_float(NAN, buf, sizeof(buf));
	CHECK_STR(buf, "nan");
	pyobj_format_float(-NAN, buf, sizeof(buf));
	CHECK_STR(buf, "nan");
	pyobj_format_float(0.1, buf, 3);	/* cut, not overrun */
	CHECK_STR(buf, "0.");

	for (size_t v = 0; v < N_VERSIONS; v++) {
		init(&fp, v);
		f[0] = fakepy_float(&fp, 0.1);
		f[1] = fakepy_float(&fp, -INFINITY);
		f[2] = fakepy_float(&fp, 1e16);
		m = fakepy_map(&fp);
		CHECK_STR(repr(&fp, m, f[0]), "0.1");
		CHECK_STR(repr(&fp, m, f[1]), "-inf");
		CHECK_STR(repr(&fp, m, f[2]), "1e+16");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void strings(void)
{
	static const struct {
		const char *utf8, *py3, *py2;
	} cases[] = {
		{ "plain", "'plain'", "'plain'" },
		{ "it's", "\"it's\"", "\"it's\"" },
		{ "both ' and \"", "'both \\' and \"'", "'both \\' and \"'" },
		{ "say \"hi\"", "'say \"hi\"'", "'say \"hi\"'" },
		{ "h\xc3\xa9llo", "'h\xc3\xa9llo'", "'h\\xc3\\xa9llo'" },
		{ "\xe6\x97\xa5\xe6\x9c\xac", "'\xe6\x97\xa5\xe6\x9c\xac'", "'\\xe6\\x97\\xa5\\xe6\\x9c\\xac'" },
		{ "emoji \xf0\x9f\x98\x80", "'emoji \xf0\x9f\x98\x80'", "'emoji \\xf0\\x9f\\x98\\x80'" },
		{ "a\\b\tc\nd\re\x1b\x7f", "'a\\\\b\\tc\\nd\\re\\x1b\\x7f'", "'a\\\\b\\tc\\nd\\re\\x1b\\x7f'" },
		{ "\xc2\xa0\xc2\xad\xe2\x80\xa8\xe2\x80\x8b\xe2\x80\xae", "'\\xa0\\xad\\u2028\\u200b\\u202e'", NULL },
		{ "\xee\x80\x80\xf4\x8f\xbf\xbf\xcd\xb8", "'\\ue000\\U0010ffff\\u0378'", NULL },
		{ "", "''", "''" },
	};

	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t s[sizeof(cases) / sizeof(cases[0])], lone, lng, b[3], ctl, ages;
		uint16_t surrogate = 0xdc80;
		char longtext[1001], want[300];
		struct rmem *m;

		init(&fp, v);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			s[i] = fakepy_str(&fp, cases[i].utf8);
		lone = fakepy_str(&fp, "\xe6\x97\xa5");
		if (!py2(&fp))
			fakepy_put(&fp, lone + fp.rt.off.unicode_compact_size, &surrogate, 2);
		memset(longtext, 'x', 1000);
		longtext[1000] = '\0';
		lng = fakepy_str(&fp, longtext);
		b[0] = fakepy_bytes(&fp, "bytes\0\xff", 7);
		b[1] = fakepy_bytes(&fp, "it's", 4);
		b[2] = fakepy_bytes(&fp, longtext, 300);
		ctl = fakepy_str(&fp, "\x01");
		ages = fakepy_str(&fp, "\xf0\x9f\xa5\xba\xf0\x9f\xa9\xb0\xf0\x9f\xab\x90\xf0\x9f\xab\xa0"
				  "\xf0\x9f\xab\xa8\xf0\xae\xaf\xb0\xf0\x9f\xab\xa9\xf0\x9f\x9b\x98");
		m = fakepy_map(&fp);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (!py2(&fp) || cases[i].py2)
				CHECK_STR(repr(&fp, m, s[i]), py2(&fp) ? cases[i].py2 : cases[i].py3);
		if (!py2(&fp))
			CHECK_STR(repr(&fp, m, lone), "'\\udc80'");
		snprintf(want, sizeof(want), "'%.200s'...", longtext);
		CHECK_STR(repr(&fp, m, lng), want);
		CHECK_STR(repr(&fp, m, b[0]), py2(&fp) ? "'bytes\\x00\\xff'" : "b'bytes\\x00\\xff'");
		CHECK_STR(repr(&fp, m, b[1]), py2(&fp) ? "\"it's\"" : "b\"it's\"");
		snprintf(want, sizeof(want), "%s'%.200s'...", py2(&fp) ? "" : "b", longtext);
		CHECK_STR(repr(&fp, m, b[2]), want);
		CHECK_STR(repr(&fp, m, ctl), "'\\x01'");
		if (!py2(&fp)) {
			/* each printable from the minor version whose Unicode database has it */
			static const struct {
				unsigned minor;
				const char *utf8, *escaped;
			} age[] = {
				{ 7, "\xf0\x9f\xa5\xba", "\\U0001f97a" },	/* 11.0 */
				{ 8, "\xf0\x9f\xa9\xb0", "\\U0001fa70" },	/* 12.0 */
				{ 9, "\xf0\x9f\xab\x90", "\\U0001fad0" },	/* 13.0 */
				{ 11, "\xf0\x9f\xab\xa0", "\\U0001fae0" },	/* 14.0 */
				{ 12, "\xf0\x9f\xab\xa8", "\\U0001fae8" },	/* 15.0 */
				{ 13, "\xf0\xae\xaf\xb0", "\\U0002ebf0" },	/* 15.1 */
				{ 14, "\xf0\x9f\xab\xa9", "\\U0001fae9" },	/* 16.0 */
				{ 15, "\xf0\x9f\x9b\x98", "\\U0001f6d8" },	/* 17.0 */
			};
			char want_ages[128] = "'";

			for (size_t i = 0; i < sizeof(age) / sizeof(age[0]); i++)
				strcat(want_ages, fp.rt.ver.minor >= age[i].minor ? age[i].utf8 :
				       age[i].escaped);
			strcat(want_ages, "'");
			CHECK_STR(repr(&fp, m, ages), want_ages);
		}
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void unicode27(void)
{
	static const uint32_t text[] = { 'h', 0xe9, 0x65e5, 0x1f600, '\'', 0xd83d, 0xde00, 0xdc80, 0x7f };
	static const uint32_t quote[] = { 'i', 't', '\'', 's' };
	struct fakepy fp;
	uint64_t wide, narrow, q;
	struct rmem *m;

	/* A UCS4 build: each unit on its own. */
	fakepy_init(&fp, 2, 7);
	fp.rt.off.unicode27_unicode_size = 4;
	wide = fakepy_unicode27(&fp, text, 9);
	q = fakepy_unicode27(&fp, quote, 4);
	m = fakepy_map(&fp);
	CHECK_STR(repr(&fp, m, wide), "u\"h\\xe9\\u65e5\\U0001f600'\\ud83d\\ude00\\udc80\\x7f\"");
	CHECK_STR(repr(&fp, m, q), "u\"it's\"");
	rmem_free(m);
	fakepy_free(&fp);

	/* A UCS2 build: surrogate pairs are one \U escape, lone ones stay. */
	fakepy_init(&fp, 2, 7);
	fp.rt.off.unicode27_unicode_size = 2;
	narrow = fakepy_unicode27(&fp, (const uint32_t[]){ 'a', 0xd83d, 0xde00, 0xdc80, 0xd83d }, 5);
	m = fakepy_map(&fp);
	CHECK_STR(repr(&fp, m, narrow), "u'a\\U0001f600\\udc80\\ud83d'");
	rmem_free(m);
	fakepy_free(&fp);
}

struct seen {
	uint64_t keys[16], values[16];
	size_t n, stop_at;
};

static int collect(uint64_t key, uint64_t value, void *arg)
{
	struct seen *s = arg;

	s->keys[s->n] = key;
	s->values[s->n] = value;
	return ++s->n == s->stop_at;
}

static void containers(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t one, two, three, x, a, items[100], t0, t1, nested, d, d0, s0, s3, f1, f0, big,
			 t9, deep, self, selfd, key, tup, lst, dk[3], dv[3], del, sdel, shared0, value;
		struct seen seen = { .stop_at = 0 };
		struct rmem *m;

		init(&fp, v);
		one = fakepy_int(&fp, 1);
		two = fakepy_int(&fp, 2);
		three = fakepy_int(&fp, 3);
		x = fakepy_str(&fp, "x");
		a = fakepy_str(&fp, "a");
		for (int i = 0; i < 100; i++)
			items[i] = fakepy_int(&fp, i);
		t0 = fakepy_tuple(&fp, 0, NULL);
		t1 = fakepy_tuple(&fp, 1, &one);
		nested = fakepy_list(&fp, 2, (uint64_t[]){ one, fakepy_list(&fp, 2, (uint64_t[]){
			two, fakepy_tuple(&fp, 2, (uint64_t[]){ three, x }) }) });
		d = fakepy_dict(&fp, 2, (uint64_t[]){ a, two }, (uint64_t[]){ one, fakepy_list(&fp, 1, &three) });
		d0 = fakepy_dict(&fp, 0, NULL, NULL);
		shared0 = fakepy_empty_dict(&fp);
		s0 = fakepy_set(&fp, false, 0, NULL);
		s3 = fakepy_set(&fp, false, 3, (uint64_t[]){ one, two, three });
		f1 = fakepy_set(&fp, true, 1, (uint64_t[]){ items[4] });
		f0 = fakepy_set(&fp, true, 0, NULL);
		big = fakepy_list(&fp, 100, items);
		t9 = fakepy_tuple(&fp, 9, items);
		deep = fakepy_list(&fp, 1, &one);
		for (int i = 0; i < 5; i++)
			deep = fakepy_list(&fp, 1, &deep);
		self = fakepy_list(&fp, 1, &one);
		key = fakepy_str(&fp, "self");
		selfd = fakepy_dict(&fp, 1, &key, &one);
		/* a tuple holding a list that holds the tuple */
		lst = fakepy_list(&fp, 2, (uint64_t[]){ one, one });
		tup = fakepy_tuple(&fp, 1, &lst);
		dk[0] = fakepy_str(&fp, "k0");
		dk[1] = fakepy_str(&fp, "k1");
		dk[2] = fakepy_str(&fp, "k2");
		dv[0] = one;
		dv[1] = 0;	/* deleted */
		dv[2] = three;
		del = fakepy_dict(&fp, 3, dk, dv);
		sdel = fakepy_set(&fp, false, 4, (uint64_t[]){ one, 0, two, 0 });
		{
			/* the self-references, now that the objects exist */
			uint64_t array;

			memcpy(&array, fp.img + (self + fp.rt.off.list_item - FAKEPY_BASE), 8);
			fakepy_put64(&fp, array, self);
			memcpy(&array, fp.img + (lst + fp.rt.off.list_item - FAKEPY_BASE), 8);
			fakepy_put64(&fp, array + 8, tup);
		}
		/* selfd's value becomes selfd itself */
		if (fp.rt.ver.major == 2) {
			uint64_t table;

			memcpy(&table, fp.img + (selfd + fp.rt.off.dict_keys - FAKEPY_BASE), 8);
			fakepy_put64(&fp, table + fp.rt.off.dict_entry_value, selfd);
		} else {
			uint64_t keys, entries;
			unsigned log2;

			memcpy(&keys, fp.img + (selfd + fp.rt.off.dict_keys - FAKEPY_BASE), 8);
			if (fp.rt.off.dict_keys_log2_size != PYO_NONE) {
				log2 = fp.img[keys + fp.rt.off.dict_keys_log2_index_bytes - FAKEPY_BASE];
				entries = keys + fp.rt.off.dict_keys_indices + (1u << log2);
				fakepy_put64(&fp, entries + fp.rt.off.dict_uentry_value, selfd);
			} else {
				entries = keys + fp.rt.off.dict_keys_indices + 8;
				fakepy_put64(&fp, entries + fp.rt.off.dict_entry_value, selfd);
			}
		}
		m = fakepy_map(&fp);

		CHECK_STR(repr(&fp, m, t0), "()");
		CHECK_STR(repr(&fp, m, t1), "(1,)");
		CHECK_STR(repr(&fp, m, nested), "[1, [2, (3, 'x')]]");
		CHECK_STR(repr(&fp, m, d), "{'a': 1, 2: [3]}");
		CHECK_STR(repr(&fp, m, d0), "{}");
		CHECK_STR(repr(&fp, m, shared0), "{}");
		CHECK_INT(pyobj_dict_items(m, &fp.rt, shared0, 16, collect, &seen), 0);
		CHECK_INT(seen.n, 0);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, shared0, "a", &value), -ENOENT);
		CHECK_STR(repr(&fp, m, s0), py2(&fp) ? "set([])" : "set()");
		CHECK_STR(repr(&fp, m, s3), py2(&fp) ? "set([1, 2, 3])" : "{1, 2, 3}");
		CHECK_STR(repr(&fp, m, f1), py2(&fp) ? "frozenset([4])" : "frozenset({4})");
		CHECK_STR(repr(&fp, m, f0), py2(&fp) ? "frozenset([])" : "frozenset()");
		CHECK_STR(repr(&fp, m, big), "[0, 1, 2, 3, 4, 5, 6, 7, ... 92 more]");
		CHECK_STR(repr(&fp, m, t9), "(0, 1, 2, 3, 4, 5, 6, 7, ... 1 more)");
		CHECK_STR(repr(&fp, m, deep), "[[[[[...1 item]]]]]");
		CHECK_STR(repr(&fp, m, self), "[[...]]");
		CHECK_STR(repr(&fp, m, selfd), "{'self': {...}}");
		CHECK_STR(repr(&fp, m, tup), "([1, (...)],)");
		CHECK_STR(repr(&fp, m, del), "{'k0': 1, 'k2': 3}");
		CHECK_STR(repr(&fp, m, sdel), py2(&fp) ? "set([1, 2])" : "{1, 2}");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void bounds_of_nesting(void)
{
	struct fakepy fp;
	uint64_t items[8], l, k[12], vals[12], d, inner, s;
	char name[8];
	struct rmem *m;

	fakepy_init(&fp, 3, 12);
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		k[i] = fakepy_str(&fp, name);
		vals[i] = fakepy_int(&fp, i);
	}
	d = fakepy_dict(&fp, 12, k, vals);
	inner = fakepy_dict(&fp, 2, k, vals);
	for (int i = 0; i < 3; i++)
		inner = fakepy_dict(&fp, 1, &k[i + 5], &inner);
	s = fakepy_set(&fp, false, 12, vals);
	/* a wide tree, 8 x 8 x 8 x 8, sharing each level: 4681 objects, past the budget */
	l = fakepy_list(&fp, 8, vals);
	for (int level = 0; level < 4; level++) {
		for (int i = 0; i < 8; i++)
			items[i] = l;
		l = fakepy_list(&fp, 8, items);
	}
	m = fakepy_map(&fp);
	CHECK_STR(repr(&fp, m, d),
		  "{'k0': 0, 'k1': 1, 'k2': 2, 'k3': 3, 'k4': 4, 'k5': 5, 'k6': 6, 'k7': 7, ... 4 more}");
	CHECK_STR(repr(&fp, m, inner), "{'k7': {'k6': {'k5': {'k0': 0, 'k1': 1}}}}");
	CHECK_STR(repr(&fp, m, s), "{0, 1, 2, 3, 4, 5, 6, 7, ... 4 more}");
	repr(&fp, m, l);
	CHECK(!strncmp(out, "[[[[[...8 items], [...8 items]", 30));
	CHECK(strlen(out) < sizeof(out) && !strcmp(out + strlen(out) - 3, "..."));
	rmem_free(m);
	fakepy_free(&fp);
}

/* Python's order for split dicts: insertion order, from the values (3.11+) or the keys. */
static void split_dicts(void)
{
	for (size_t v = 1; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t k[3], val[3], keys, values, d;
		struct rmem *m;

		init(&fp, v);
		k[0] = fakepy_str(&fp, "a");
		k[1] = fakepy_str(&fp, "b");
		k[2] = fakepy_str(&fp, "c");
		val[0] = fakepy_int(&fp, 1);
		val[1] = 0;
		val[2] = fakepy_int(&fp, 3);
		keys = fakepy_shared_keys(&fp, 3, k);
		values = fakepy_values(&fp, 3, val, 2, (const uint8_t[]){ 2, 0 });
		d = fakepy_split_dict(&fp, keys, values, 2);
		m = fakepy_map(&fp);
		/* before 3.11 the order is the keys', which insertion must follow */
		CHECK_STR(repr(&fp, m, d), fp.rt.vkey >= PY_VER(3, 11) ? "{'c': 3, 'a': 1}" :
			  "{'a': 1, 'c': 3}");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void dict_items_and_lookup(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t k[5], val[5], d, value, lst;
		struct seen s = { .stop_at = 0 };
		struct rmem *m;

		init(&fp, v);
		k[0] = fakepy_str(&fp, "name");
		k[1] = fakepy_int(&fp, 7);
		k[2] = fakepy_str(&fp, "gone");
		k[3] = fakepy_str(&fp, "\xc3\xa9t\xc3\xa9");
		k[4] = fakepy_str(&fp, "namf");
		for (int i = 0; i < 5; i++)
			val[i] = fakepy_int(&fp, 10 + i);
		val[2] = 0;
		d = fakepy_dict(&fp, 5, k, val);
		lst = fakepy_list(&fp, 0, NULL);
		m = fakepy_map(&fp);

		CHECK_INT(pyobj_dict_items(m, &fp.rt, d, 16, collect, &s), 0);
		CHECK_INT(s.n, 4);
		CHECK(s.keys[0] == k[0] && s.keys[1] == k[1] && s.keys[2] == k[3] && s.keys[3] == k[4]);
		CHECK(s.values[0] == val[0] && s.values[3] == val[4]);
		s = (struct seen){ .stop_at = 2 };
		CHECK_INT(pyobj_dict_items(m, &fp.rt, d, 16, collect, &s), 0);
		CHECK_INT(s.n, 2);
		s = (struct seen){ .stop_at = 0 };
		CHECK_INT(pyobj_dict_items(m, &fp.rt, d, 3, collect, &s), 0);
		CHECK_INT(s.n, 3);
		CHECK_INT(pyobj_dict_items(m, &fp.rt, lst, 3, collect, &s), -PS_E_BAD_DATA);

		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "name", &value), 0);
		CHECK(value == val[0]);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "namf", &value), 0);
		CHECK(value == val[4]);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "nam", &value), -ENOENT);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "gone", &value), -ENOENT);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "7", &value), -ENOENT);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "\xc3\xa9t\xc3\xa9", &value), 0);
		CHECK(value == val[3]);
		CHECK_INT(pyobj_dict_get_str(m, &fp.rt, lst, "name", &value), -PS_E_BAD_DATA);
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static int collect_key(uint64_t key, void *arg)
{
	return collect(key, 0, arg);
}

/* pyobj_set_items(), pyobj_seq_items(): the readers of asyncio's registries and callbacks. */
static void set_and_sequence_items(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t it[5], set, empty, frozen, tup, lst, got[8], str;
		struct seen s = { .stop_at = 0 };
		size_t n;
		struct rmem *m;

		if (versions[v].major < 3)
			continue;
		init(&fp, v);
		for (int i = 0; i < 5; i++)
			it[i] = fakepy_int(&fp, 100 + i);
		set = fakepy_set(&fp, false, 5, it);
		empty = fakepy_set(&fp, false, 0, NULL);
		frozen = fakepy_set(&fp, true, 2, it);
		tup = fakepy_tuple(&fp, 3, it);
		lst = fakepy_list(&fp, 5, it);
		str = fakepy_str(&fp, "not a container");
		m = fakepy_map(&fp);

		CHECK_INT(pyobj_set_items(m, &fp.rt, set, 16, collect_key, &s), 0);
		CHECK_INT(s.n, 5);
		for (int i = 0; i < 5; i++) {
			bool found = false;

			for (size_t k = 0; k < s.n; k++)
				found |= s.keys[k] == it[i];
			CHECK(found);
		}
		s = (struct seen){ .stop_at = 0 };
		CHECK_INT(pyobj_set_items(m, &fp.rt, set, 2, collect_key, &s), 0);
		CHECK_INT(s.n, 2);
		s = (struct seen){ .stop_at = 3 };
		CHECK_INT(pyobj_set_items(m, &fp.rt, set, 16, collect_key, &s), 0);
		CHECK_INT(s.n, 3);
		s = (struct seen){ .stop_at = 0 };
		CHECK_INT(pyobj_set_items(m, &fp.rt, empty, 16, collect_key, &s), 0);
		CHECK_INT(s.n, 0);
		CHECK_INT(pyobj_set_items(m, &fp.rt, frozen, 16, collect_key, &s), 0);
		CHECK_INT(s.n, 2);
		CHECK_INT(pyobj_set_items(m, &fp.rt, lst, 16, collect_key, &s), -PS_E_BAD_DATA);
		CHECK_INT(pyobj_set_items(m, &fp.rt, str, 16, collect_key, &s), -PS_E_BAD_DATA);

		CHECK_INT(pyobj_seq_items(m, &fp.rt, tup, got, 8, &n), 0);
		CHECK(n == 3 && got[0] == it[0] && got[2] == it[2]);
		CHECK_INT(pyobj_seq_items(m, &fp.rt, lst, got, 8, &n), 0);
		CHECK(n == 5 && got[4] == it[4]);
		CHECK_INT(pyobj_seq_items(m, &fp.rt, lst, got, 2, &n), 0);
		CHECK(n == 2 && got[1] == it[1]);
		CHECK_INT(pyobj_seq_items(m, &fp.rt, set, got, 8, &n), -PS_E_BAD_DATA);
		CHECK_INT(n, 0);
		CHECK_INT(pyobj_seq_items(m, &fp.rt, 0, got, 8, &n), -PS_E_BAD_DATA);
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void attributes(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t k[2], val[2], keys = 0, cls, inst_dict, inst_values = 0, inst_none, plain, value,
			 values = 0, dict, builtin_cls, bi;
		bool split = versions[v].major == 3 && versions[v].minor >= 11;
		struct rmem *m;

		init(&fp, v);
		k[0] = fakepy_str(&fp, "a");
		k[1] = fakepy_str(&fp, "b");
		val[0] = fakepy_int(&fp, 1);
		val[1] = fakepy_str(&fp, "two");
		if (!py2(&fp))
			keys = fakepy_shared_keys(&fp, 2, k);
		cls = fakepy_class(&fp, "C", "__main__", keys);
		builtin_cls = fakepy_class(&fp, "B", py2(&fp) ? "__builtin__" : "builtins", keys);
		dict = fakepy_dict(&fp, 2, k, val);
		inst_dict = fakepy_instance(&fp, cls, dict, 0);
		if (split) {
			values = fakepy_values(&fp, 2, val, 2, (const uint8_t[]){ 0, 1 });
			inst_values = fakepy_instance(&fp, cls, 0, values);
		}
		inst_none = fakepy_instance(&fp, cls, 0, 0);
		bi = fakepy_instance(&fp, builtin_cls, dict, 0);
		plain = fakepy_int(&fp, 5);
		m = fakepy_map(&fp);

		CHECK_INT(pyobj_getattr_str(m, &fp.rt, inst_dict, "a", &value), 0);
		CHECK(value == val[0]);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, inst_dict, "b", &value), 0);
		CHECK(value == val[1]);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, inst_dict, "c", &value), -ENOENT);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, inst_none, "a", &value), -ENOENT);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, plain, "a", &value), -ENOENT);
		if (split) {
			CHECK_INT(pyobj_getattr_str(m, &fp.rt, inst_values, "b", &value), 0);
			CHECK(value == val[1]);
			CHECK_INT(pyobj_getattr_str(m, &fp.rt, inst_values, "c", &value), -ENOENT);
		}
		CHECK_STR(repr(&fp, m, inst_dict), addr_fmt("<__main__.C object at 0x%" PRIx64 ">",
							     inst_dict));
		CHECK_STR(repr(&fp, m, bi), addr_fmt("<B object at 0x%" PRIx64 ">", bi));
		CHECK_STR(repr(&fp, m, cls), "<class '__main__.C'>");
		CHECK_STR(repr(&fp, m, fp.rt.type_long), py2(&fp) ? "<type 'long'>" : "<class 'int'>");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

/*
 * 3.13+'s values inline after the object (after 32 bytes of header in a
 * free-threaded build), and a dict that took them over.
 */
static void inline_values(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t k[2], val[2], keys, cls, values, valid, invalid, dict, value;
		struct rmem *m;

		if (versions[v].major < 3 || versions[v].minor < 13)
			continue;
		init(&fp, v);
		k[0] = fakepy_str(&fp, "a");
		k[1] = fakepy_str(&fp, "b");
		val[0] = fakepy_int(&fp, 1);
		val[1] = fakepy_int(&fp, 2);
		keys = fakepy_shared_keys(&fp, 2, k);
		cls = fakepy_class(&fp, "C", "m", keys);
		values = fakepy_values(&fp, 2, val, 2, (const uint8_t[]){ 1, 0 });
		valid = fakepy_instance(&fp, cls, 0, values);
		dict = fakepy_dict(&fp, 1, &k[0], &val[1]);
		invalid = fakepy_instance(&fp, cls, dict, 0);
		m = fakepy_map(&fp);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, valid, "a", &value), 0);
		CHECK(value == val[0]);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, valid, "b", &value), 0);
		CHECK(value == val[1]);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, invalid, "a", &value), 0);
		CHECK(value == val[1]);
		CHECK_INT(pyobj_getattr_str(m, &fp.rt, invalid, "b", &value), -ENOENT);
		CHECK_STR(repr(&fp, m, valid), addr_fmt("<m.C object at 0x%" PRIx64 ">", valid));
		rmem_free(m);
		/* the dict over inline values iterates in their insertion order */
		dict = fakepy_split_dict(&fp, keys, values, 2);
		m = fakepy_map(&fp);
		CHECK_STR(repr(&fp, m, dict), "{'b': 2, 'a': 1}");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void u64_and_cells(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint32_t two64[3] = { 0, 0, 1u << 4 }, max64[3] = { 0x3fffffff, 0x3fffffff, 0xf };
		uint64_t o[6], cell, empty, value;
		struct rmem *m;

		init(&fp, v);
		o[0] = fakepy_int(&fp, 12345);
		o[1] = fakepy_int(&fp, -1);
		o[2] = fakepy_long(&fp, false, two64, 3);
		o[3] = fakepy_long(&fp, false, max64, 3);
		o[4] = fakepy_float(&fp, 1.0);
		o[5] = fakepy_long(&fp, false, (uint32_t[]){ 7 }, 1);
		cell = fakepy_cell(&fp, o[0]);
		empty = fakepy_cell(&fp, 0);
		m = fakepy_map(&fp);
		CHECK_INT(pyobj_u64(m, &fp.rt, o[0], &value), 0);
		CHECK(value == 12345);
		CHECK_INT(pyobj_u64(m, &fp.rt, o[1], &value), -ERANGE);
		CHECK_INT(pyobj_u64(m, &fp.rt, o[2], &value), -ERANGE);
		CHECK_INT(pyobj_u64(m, &fp.rt, o[3], &value), 0);
		CHECK(value == UINT64_MAX);
		CHECK_INT(pyobj_u64(m, &fp.rt, o[4], &value), -PS_E_BAD_DATA);
		CHECK_INT(pyobj_u64(m, &fp.rt, o[5], &value), 0);
		CHECK(value == 7);
		CHECK_INT(pyobj_u64(m, &fp.rt, fp.rt.obj_true, &value), 0);
		CHECK(value == 1);
		CHECK_INT(pyobj_u64(m, &fp.rt, 0, &value), -PS_E_BAD_DATA);
		CHECK_INT(pyobj_cell_get(m, &fp.rt, cell, &value), 0);
		CHECK(value == o[0]);
		CHECK_INT(pyobj_cell_get(m, &fp.rt, empty, &value), -ENOENT);
		CHECK_INT(pyobj_cell_get(m, &fp.rt, o[0], &value), -PS_E_BAD_DATA);
		CHECK_STR(repr(&fp, m, cell), addr_fmt("<cell at 0x%" PRIx64 ": int object at 0x%" PRIx64 ">",
						       cell, o[0]));
		CHECK_STR(repr(&fp, m, empty), addr_fmt("<cell at 0x%" PRIx64 ": empty>", empty));
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void type_names(void)
{
	struct fakepy fp;
	uint64_t i, fake;
	char buf[8];
	struct rmem *m;

	fakepy_init(&fp, 3, 11);
	i = fakepy_int(&fp, 3);
	/* a class that calls itself int is not decoded as one */
	fake = fakepy_instance(&fp, fakepy_class(&fp, "int", "__main__", 0), 0, 0);
	m = fakepy_map(&fp);
	CHECK_INT(pyobj_type_name(m, &fp.rt, i, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "int");
	CHECK_INT(pyobj_type_name(m, &fp.rt, fp.rt.obj_none, buf, 5), 0);
	CHECK_STR(buf, "None");
	CHECK_INT(pyobj_type_name(m, &fp.rt, fake, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "int");
	CHECK_STR(repr(&fp, m, fake), addr_fmt("<__main__.int object at 0x%" PRIx64 ">", fake));
	CHECK_INT(pyobj_type_name(m, &fp.rt, 0x10, buf, sizeof(buf)), -PS_E_BAD_READ);
	rmem_free(m);
	fakepy_free(&fp);
}

/* A fake type object named name, with these tp_flags. */
static uint64_t new_type(struct fakepy *fp, const char *name, uint64_t flags)
{
	uint64_t t = fakepy_alloc(fp, 1024), s = fakepy_alloc(fp, strlen(name) + 1);

	fakepy_put(fp, s, name, strlen(name) + 1);
	fakepy_put64(fp, t, 1);
	fakepy_put64(fp, t + fp->rt.off.object_type, fp->rt.type_type);
	fakepy_put64(fp, t + fp->rt.off.type_name, s);
	fakepy_put64(fp, t + fp->rt.off.type_flags, flags);
	return t;
}

/* An object of type with room for 64 bytes of fields after its header. */
static uint64_t new_obj(struct fakepy *fp, uint64_t type)
{
	uint64_t obj = fakepy_alloc(fp, fp->rt.off.object_type + 8 + 64);

	fakepy_put64(fp, obj, 1);
	fakepy_put64(fp, obj + fp->rt.off.object_type, type);
	return obj;
}

static uint64_t new_cstr(struct fakepy *fp, const char *s)
{
	uint64_t a = fakepy_alloc(fp, strlen(s) + 1);

	fakepy_put(fp, a, s, strlen(s) + 1);
	return a;
}

static uint64_t new_dict(struct fakepy *fp, size_t n, const char *const *keys, const uint64_t *values)
{
	uint64_t k[8];

	for (size_t i = 0; i < n; i++)
		k[i] = fakepy_str(fp, keys[i]);
	return fakepy_dict(fp, n, k, values);
}

static uint64_t new_module(struct fakepy *fp, uint64_t dict)
{
	uint64_t mod = new_obj(fp, fp->rt.type_module);

	fakepy_put64(fp, mod + fp->rt.off.module_dict, dict);
	return mod;
}

/*
 * Classes of a metaclass, functions, built-in functions and methods, bound
 * methods, modules and 2.7's classic classes: as Python writes them.
 */
static void functions_modules_and_classes(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		const struct py_offsets *o;
		uint64_t meta, cls, c, inst, func, ml, len, append, list, method, chain, mod, old = 0, oldi = 0;
		uint64_t spec_cls, spec, loader_none, nodict = 0;
		struct rmem *m;
		char want[512];

		init(&fp, v);
		o = &fp.rt.off;
		fp.rt.type_function = new_type(&fp, "function", 0);
		fp.rt.type_cfunction = new_type(&fp, "builtin_function_or_method", 0);
		fp.rt.type_method = new_type(&fp, py2(&fp) ? "instancemethod" : "method", 0);
		if (py2(&fp)) {
			fp.rt.type_class27 = new_type(&fp, "classobj", 0);
			fp.rt.type_instance27 = new_type(&fp, "instance", 0);
		}
		/* a class whose metaclass is a subclass of type (Py_TPFLAGS_TYPE_SUBCLASS) */
		meta = fakepy_class(&fp, "ABCMeta", "abc", 0);
		fakepy_put64(&fp, meta + o->type_flags, o->tpflags_heaptype | 1ull << 31);
		cls = fakepy_class(&fp, "AccessLogger", "aiohttp.web_log", 0);
		fakepy_put64(&fp, cls + o->object_type, meta);
		/* a function, and a method bound to an instance */
		c = fakepy_class(&fp, "C", "__main__", 0);
		inst = fakepy_instance(&fp, c, 0, 0);
		func = new_obj(&fp, fp.rt.type_function);
		fakepy_put64(&fp, func + o->function_name, fakepy_str(&fp, "f"));
		if (!py2(&fp))
			fakepy_put64(&fp, func + o->function_qualname, fakepy_str(&fp, "C.f"));
		method = new_obj(&fp, fp.rt.type_method);
		fakepy_put64(&fp, method + o->method_func, func);
		fakepy_put64(&fp, method + o->method_self, inst);
		if (py2(&fp))
			fakepy_put64(&fp, method + o->method_class, c);
		/* methods bound to methods, ten deep: bounded as nested containers are */
		chain = method;
		for (int i = 0; i < 10; i++) {
			uint64_t outer = new_obj(&fp, fp.rt.type_method);

			fakepy_put64(&fp, outer + o->method_func, func);
			fakepy_put64(&fp, outer + o->method_self, chain);
			if (py2(&fp))
				fakepy_put64(&fp, outer + o->method_class, c);
			chain = outer;
		}
		/* built-in functions: of a module, and of a list */
		ml = fakepy_alloc(&fp, 32);
		fakepy_put64(&fp, ml + o->methoddef_name, new_cstr(&fp, "len"));
		mod = new_module(&fp, fakepy_dict(&fp, 0, NULL, NULL));
		len = new_obj(&fp, fp.rt.type_cfunction);
		fakepy_put64(&fp, len + o->cfunction_ml, ml);
		fakepy_put64(&fp, len + o->cfunction_self, mod);
		ml = fakepy_alloc(&fp, 32);
		fakepy_put64(&fp, ml + o->methoddef_name, new_cstr(&fp, "append"));
		list = fakepy_list(&fp, 0, NULL);
		append = new_obj(&fp, fp.rt.type_cfunction);
		fakepy_put64(&fp, append + o->cfunction_ml, ml);
		fakepy_put64(&fp, append + o->cfunction_self, list);
		/* a module's spec (3.x): ModuleSpec's instance attributes */
		spec_cls = fakepy_class(&fp, "ModuleSpec", "importlib._bootstrap", 0);
		spec = fakepy_instance(&fp, spec_cls, new_dict(&fp, 4,
			(const char *const[]){ "name", "loader", "origin", "_set_fileattr" },
			(uint64_t[]){ fakepy_str(&fp, "sys"), fp.rt.obj_none, fakepy_str(&fp, "built-in"),
				      fp.rt.obj_false }), 0);
		loader_none = fakepy_instance(&fp, spec_cls, new_dict(&fp, 3,
			(const char *const[]){ "name", "loader", "origin" },
			(uint64_t[]){ fakepy_str(&fp, "m"), fp.rt.obj_none, fp.rt.obj_none }), 0);
		if (py2(&fp)) {
			old = new_obj(&fp, fp.rt.type_class27);
			fakepy_put64(&fp, old + o->class27_dict, new_dict(&fp, 1, (const char *const[]){
				"__module__" }, (uint64_t[]){ fakepy_str(&fp, "__main__") }));
			fakepy_put64(&fp, old + o->class27_name, fakepy_str(&fp, "Old"));
			oldi = new_obj(&fp, fp.rt.type_instance27);
			fakepy_put64(&fp, oldi + o->instance27_class, old);
			nodict = new_module(&fp, 0);
		}
		m = fakepy_map(&fp);

		CHECK_STR(repr(&fp, m, cls), "<class 'aiohttp.web_log.AccessLogger'>");
		CHECK_STR(repr(&fp, m, func), addr_fmt("<function %s at 0x%" PRIx64 ">",
						      py2(&fp) ? "f" : "C.f", func));
		CHECK_STR(repr(&fp, m, method),
			  addr_fmt("<bound method C.f of <__main__.C object at 0x%" PRIx64 ">>", inst));
		/* as "[[[[[...1 item]]]]]": five levels, the innermost one's object left out */
		snprintf(want, sizeof(want), "%s", "<bound method C.f of <bound method C.f of "
			 "<bound method C.f of <bound method C.f of <bound method C.f of ...>>>>>");
		CHECK_STR(repr(&fp, m, chain), want);
		CHECK_STR(repr(&fp, m, len), "<built-in function len>");
		fakepy_put64(&fp, len + o->cfunction_self, 0);
		rmem_free(m);
		m = fakepy_map(&fp);
		CHECK_STR(repr(&fp, m, len), "<built-in function len>");
		CHECK_STR(repr(&fp, m, append),
			  addr_fmt("<built-in method append of list object at 0x%" PRIx64 ">", list));
		if (py2(&fp)) {
			CHECK_STR(repr(&fp, m, nodict), "<module '?' (built-in)>");
			CHECK_STR(repr(&fp, m, old), addr_fmt("<class __main__.Old at 0x%" PRIx64 ">", old));
			CHECK_STR(repr(&fp, m, oldi),
				  addr_fmt("<__main__.Old instance at 0x%" PRIx64 ">", oldi));
		}
		rmem_free(m);
		/* modules: 2.7 names them as they are; 3.x by their spec, or name and file */
		mod = new_module(&fp, new_dict(&fp, 2, (const char *const[]){ "__name__", "__file__" },
			(uint64_t[]){ fakepy_str(&fp, "it's"), fakepy_str(&fp, "/x/m.py") }));
		inst = new_module(&fp, new_dict(&fp, 2, (const char *const[]){ "__name__", "__spec__" },
			(uint64_t[]){ fakepy_str(&fp, "sys"), spec }));
		old = new_module(&fp, new_dict(&fp, 2, (const char *const[]){ "__name__", "__spec__" },
			(uint64_t[]){ fakepy_str(&fp, "m"), loader_none }));
		if (py2(&fp)) {	/* unbound */
			fakepy_put64(&fp, method + o->method_self, 0);
			fakepy_put64(&fp, inst + o->module_dict, new_dict(&fp, 1,
				(const char *const[]){ "__name__" }, (uint64_t[]){ fakepy_str(&fp, "sys") }));
		}
		m = fakepy_map(&fp);
		CHECK_STR(repr(&fp, m, mod), py2(&fp) ? "<module 'it's' from '/x/m.py'>" :
			  "<module \"it's\" from '/x/m.py'>");
		CHECK_STR(repr(&fp, m, inst), "<module 'sys' (built-in)>");
		if (py2(&fp))
			CHECK_STR(repr(&fp, m, method), "<unbound method C.f>");
		else
			CHECK_STR(repr(&fp, m, old), "<module 'm'>");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

/* Claims nothing should believe, and reads that fail: bounded work, no crash. */
static void hostile(void)
{
	for (size_t v = 0; v < N_VERSIONS; v++) {
		struct fakepy fp;
		uint64_t items[8], huge, neg, overfull, bigtuple, badstr, longstr, tail, d, keys, badset,
			 notype, sk, sv, wide, tagged;
		const struct py_offsets *o;
		struct rmem *m;
		char unread[64];

		init(&fp, v);
		o = &fp.rt.off;
		for (int i = 0; i < 8; i++)
			items[i] = fakepy_int(&fp, i);
		huge = fakepy_list(&fp, 8, items);	/* then claims 10^9 items */
		fakepy_put64(&fp, huge + o->varobject_size, 1000000000);
		fakepy_put64(&fp, huge + o->list_allocated, 1000000000);
		neg = fakepy_list(&fp, 2, items);
		fakepy_put64(&fp, neg + o->varobject_size, (uint64_t)-3);
		overfull = fakepy_list(&fp, 2, items);
		fakepy_put64(&fp, overfull + o->list_allocated, 1);
		bigtuple = fakepy_tuple(&fp, 8, items);
		fakepy_put64(&fp, bigtuple + o->varobject_size, 1ull << 40);
		badstr = fakepy_str(&fp, "abc");
		longstr = fakepy_str(&fp, "abc");
		fakepy_put64(&fp, longstr + (py2(&fp) ? o->varobject_size : o->unicode_length), 1ull << 50);
		if (!py2(&fp))
			fakepy_put32(&fp, badstr + o->unicode_state, 3u << o->unicode_kind_shift |
				     1u << o->unicode_compact_bit);
		else
			fakepy_put64(&fp, badstr + o->varobject_size, (uint64_t)-1);
		d = fakepy_dict(&fp, 2, items, items);
		memcpy(&keys, fp.img + (d + o->dict_keys - FAKEPY_BASE), 8);
		if (py2(&fp))
			fakepy_put64(&fp, d + o->dict_values, 6);	/* ma_mask not 2^n - 1 */
		else if (o->dict_keys_size != PYO_NONE)
			fakepy_put64(&fp, keys + o->dict_keys_size, 12);
		else
			fakepy_put(&fp, keys + o->dict_keys_log2_index_bytes, "\x09", 1);
		badset = fakepy_set(&fp, false, 2, items);
		fakepy_put64(&fp, badset + o->set_mask, (1ull << 40) - 1);	/* a table far too big */
		fakepy_put64(&fp, badset + o->set_fill, 2);
		notype = fakepy_alloc(&fp, 32);
		sk = fakepy_dict(&fp, 1, items, items);		/* used > entries */
		fakepy_put64(&fp, sk + o->dict_used, 5);
		sv = fakepy_list(&fp, 8, items);
		/* the last object in the image: a string whose text runs off its end */
		wide = fakepy_dict(&fp, 1, items, &sv);
		tail = fakepy_str(&fp, "abcdefgh");
		fakepy_put64(&fp, tail + (py2(&fp) ? o->varobject_size : o->unicode_length), 150);
		/* the bit between sign and count: small ints' immortality from 3.14, never set before */
		tagged = fakepy_int(&fp, 300);
		if (o->long_tag != PYO_NONE)
			fakepy_put64(&fp, tagged + o->long_tag, (1u << o->long_tag_shift) | 4);
		m = fakepy_map(&fp);

		CHECK_STR(repr(&fp, m, huge), "[0, 1, 2, 3, 4, 5, 6, 7, ... 999999992 more]");
#define UNREADABLE(obj)								\
		do {								\
			snprintf(unread, sizeof(unread), "<unreadable object at 0x%" PRIx64 ">", obj); \
			CHECK_STR(repr(&fp, m, obj), unread);			\
		} while (0)
		UNREADABLE(neg);
		UNREADABLE(overfull);
		UNREADABLE(badstr);
		UNREADABLE(longstr);
		UNREADABLE(d);
		UNREADABLE(notype);
		if (py2(&fp))
			CHECK_STR(repr(&fp, m, sk), "{0: 0, ... 4 more}");
		else
			UNREADABLE(sk);
		UNREADABLE(tail);
		UNREADABLE((uint64_t)0x10);
		if (o->long_tag == PYO_NONE || fp.rt.vkey >= PY_VER(3, 14))
			CHECK_STR(repr(&fp, m, tagged), "300");
		else
			UNREADABLE(tagged);
		CHECK_STR(repr(&fp, m, bigtuple), "(0, 1, 2, 3, 4, 5, 6, 7, ... 1099511627768 more)");
		/* a table claimed far too big: whatever its slots hold, bounded and whole */
		repr(&fp, m, badset);
		CHECK(strlen(out) < 2000);
		CHECK_STR(repr(&fp, m, wide), "{0: [0, 1, 2, 3, 4, 5, 6, 7]}");
		rmem_free(m);
		fakepy_free(&fp);
	}
}

/* A dict of many deleted entries is walked only so far. */
static void many_deleted(void)
{
	enum { N = 150000 };
	struct fakepy fp;
	uint64_t *k = calloc(N, 8), *val = calloc(N, 8), d, one, value;
	struct seen s = { .stop_at = 0 };
	struct rmem *m;

	fakepy_init(&fp, 3, 10);
	one = fakepy_int(&fp, 1);
	for (size_t i = 0; i < N; i++)
		k[i] = one;
	val[N - 1] = one;	/* only the last one is live */
	d = fakepy_dict(&fp, N, k, val);
	m = fakepy_map(&fp);
	CHECK_INT(pyobj_dict_items(m, &fp.rt, d, 16, collect, &s), 0);
	CHECK_INT(s.n, 0);
	CHECK_STR(repr(&fp, m, d), "{... 1 more}");
	CHECK_INT(pyobj_dict_get_str(m, &fp.rt, d, "x", &value), -ENOENT);
	rmem_free(m);
	fakepy_free(&fp);
	free(k);
	free(val);
}

/* The whole repr is cut to fit, ending in "...", never inside a UTF-8 sequence. */
static void cut_to_fit(void)
{
	struct fakepy fp;
	uint64_t items[100], l, s;
	char buf[64];
	struct rmem *m;
	size_t n;

	fakepy_init(&fp, 3, 12);
	for (int i = 0; i < 100; i++)
		items[i] = fakepy_int(&fp, 1000000 + i);
	l = fakepy_list(&fp, 100, items);
	s = fakepy_str(&fp, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	m = fakepy_map(&fp);
	n = pyobj_repr(m, &fp.rt, l, buf, 20);
	CHECK_INT(n, 19);
	CHECK_STR(buf, "[1000000, 100000...");
	for (size_t size = 0; size < 24; size++) {
		memset(buf, 'Z', sizeof(buf));
		n = pyobj_repr(m, &fp.rt, s, buf, size);
		CHECK(buf[size] == 'Z');
		if (size) {
			CHECK_INT(n, strlen(buf));
			CHECK(n < size);
			for (size_t i = 0; i < n; i++) {
				uint32_t cp;
				int k = utf8_decode((const unsigned char *)buf + i, n - i, &cp);

				CHECK(k > 0);
				if (k > 0)
					i += (size_t)k - 1;
			}
		}
	}
	pyobj_repr(m, &fp.rt, s, buf, 10);
	CHECK_STR(buf, "'\xc3\xa9\xc3\xa9...");
	rmem_free(m);
	fakepy_free(&fp);
}

const struct unit_test pyobj_tests[] = {
	{ "pyobj_singletons_and_ints", singletons_and_ints },
	{ "pyobj_floats", floats },
	{ "pyobj_strings", strings },
	{ "pyobj_unicode27", unicode27 },
	{ "pyobj_containers", containers },
	{ "pyobj_bounds_of_nesting", bounds_of_nesting },
	{ "pyobj_split_dicts", split_dicts },
	{ "pyobj_dict_items_and_lookup", dict_items_and_lookup },
	{ "pyobj_set_and_sequence_items", set_and_sequence_items },
	{ "pyobj_attributes", attributes },
	{ "pyobj_inline_values", inline_values },
	{ "pyobj_u64_and_cells", u64_and_cells },
	{ "pyobj_type_names", type_names },
	{ "pyobj_functions_modules_and_classes", functions_modules_and_classes },
	{ "pyobj_hostile", hostile },
	{ "pyobj_many_deleted", many_deleted },
	{ "pyobj_cut_to_fit", cut_to_fit },
	{ NULL, NULL },
};

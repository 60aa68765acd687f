/*
 * Unit tests: decoding Python strings of every kind from fake memory, and
 * refusing malformed ones.
 */
#include "errors.h"
#include "fakepy.h"
#include "pystr.h"
#include "unit.h"

static long read_back(struct fakepy *fp, struct rmem *m, uint64_t s, char *buf, size_t size)
{
	return pystr_read(m, &fp->rt, s, buf, size);
}

static void kinds(void)
{
	static const char *const samples[] = {
		"ascii_name", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		"\xf0\xa0\x80\x80\xf0\xa0\x80\x81", "mixed \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", "",
	};
	static const unsigned versions[][2] = { { 3, 6 }, { 3, 10 }, { 3, 12 }, { 3, 13 } };

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		struct fakepy fp;
		uint64_t s[6];
		struct rmem *m;
		char buf[PYSTR_MAX];

		fakepy_init(&fp, versions[v][0], versions[v][1]);
		for (size_t i = 0; i < 6; i++)
			s[i] = fakepy_str(&fp, samples[i]);
		m = fakepy_map(&fp);
		for (size_t i = 0; i < 6; i++) {
			CHECK_INT(read_back(&fp, m, s[i], buf, sizeof(buf)), strlen(samples[i]));
			CHECK_STR(buf, samples[i]);
		}
		rmem_free(m);
		fakepy_free(&fp);
	}
}

static void truncation(void)
{
	struct fakepy fp;
	char long_name[6000], buf[64];
	uint64_t s;
	struct rmem *m;
	long n;

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	fakepy_init(&fp, 3, 12);
	s = fakepy_str(&fp, long_name);
	m = fakepy_map(&fp);
	n = read_back(&fp, m, s, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n < sizeof(buf));
	CHECK(!strcmp(buf + n - 3, "\xe2\x80\xa6"));
	CHECK_INT(strspn(buf, "x"), n - 3);
	rmem_free(m);
	fakepy_free(&fp);
}

static void surrogates_and_py27(void)
{
	struct fakepy fp;
	uint16_t lone = 0xdc80;
	char buf[64];
	uint64_t s;
	struct rmem *m;

	/* A lone surrogate (kind 2) comes out as its WTF-8 bytes. */
	fakepy_init(&fp, 3, 11);
	s = fakepy_str(&fp, "\xe6\x97\xa5");
	fakepy_put(&fp, s + fp.rt.off.unicode_compact_size, &lone, 2);
	m = fakepy_map(&fp);
	CHECK_INT(read_back(&fp, m, s, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "\xed\xb2\x80");
	rmem_free(m);
	fakepy_free(&fp);

	/* 2.7: a str is bytes, passed through as they are. */
	fakepy_init(&fp, 2, 7);
	s = fakepy_bytes(&fp, "caf\xe9", 4);
	m = fakepy_map(&fp);
	CHECK_INT(read_back(&fp, m, s, buf, sizeof(buf)), 4);
	CHECK_STR(buf, "caf\xe9");
	rmem_free(m);
	fakepy_free(&fp);
}

/* A NUL inside a string comes out as C0 80: the C string holds all of it. */
static void nul_inside(void)
{
	struct fakepy fp;
	uint16_t nul = 0;
	char buf[64];
	uint64_t s;
	struct rmem *m;

	fakepy_init(&fp, 3, 12);
	s = fakepy_str(&fp, "a\xe6\x97\xa5" "b");	/* kind 2; its second unit becomes NUL */
	fakepy_put(&fp, s + fp.rt.off.unicode_compact_size + 2, &nul, 2);
	m = fakepy_map(&fp);
	CHECK_INT(read_back(&fp, m, s, buf, sizeof(buf)), 4);
	CHECK_STR(buf, "a\xc0\x80" "b");
	rmem_free(m);
	fakepy_free(&fp);

	fakepy_init(&fp, 2, 7);
	s = fakepy_bytes(&fp, "x\0y\0", 4);
	m = fakepy_map(&fp);
	CHECK_INT(read_back(&fp, m, s, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "x\xc0\x80y\xc0\x80");
	rmem_free(m);
	fakepy_free(&fp);

	/* Each NUL takes two bytes of the buffer: a full one is cut, never overrun. */
	fakepy_init(&fp, 2, 7);
	s = fakepy_bytes(&fp, "\0\0\0\0\0\0\0\0", 8);
	m = fakepy_map(&fp);
	CHECK_INT(read_back(&fp, m, s, buf, 12), 11);
	CHECK_STR(buf, "\xc0\x80\xc0\x80\xc0\x80\xc0\x80\xe2\x80\xa6");
	rmem_free(m);
	fakepy_free(&fp);
}

static void malformed(void)
{
	struct fakepy fp;
	char buf[64];
	uint64_t good, bad_kind, bad_len, bad_type, huge;
	struct rmem *m;
	const struct py_offsets *o;

	fakepy_init(&fp, 3, 12);
	o = &fp.rt.off;
	good = fakepy_str(&fp, "name");
	bad_kind = fakepy_str(&fp, "name");
	fakepy_put32(&fp, bad_kind + o->unicode_state, 3u << o->unicode_kind_shift);
	bad_len = fakepy_str(&fp, "name");
	fakepy_put64(&fp, bad_len + o->unicode_length, (uint64_t)-5);
	bad_type = fakepy_str(&fp, "name");
	fakepy_put64(&fp, bad_type + o->object_type, fp.rt.type_code);
	/* Last in the image: a huge claimed length runs off the end of memory. */
	huge = fakepy_str(&fp, "name");
	fakepy_put64(&fp, huge + o->unicode_length, 1u << 29);
	m = fakepy_map(&fp);
	CHECK_INT(read_back(&fp, m, good, buf, sizeof(buf)), 4);
	CHECK_INT(read_back(&fp, m, bad_kind, buf, sizeof(buf)), -PS_E_BAD_DATA);
	CHECK_INT(read_back(&fp, m, bad_len, buf, sizeof(buf)), -PS_E_BAD_DATA);
	CHECK_INT(read_back(&fp, m, bad_type, buf, sizeof(buf)), -PS_E_BAD_DATA);
	CHECK_INT(read_back(&fp, m, 0x10, buf, sizeof(buf)), -PS_E_BAD_READ);
	CHECK_INT(read_back(&fp, m, huge, buf, sizeof(buf)), -PS_E_BAD_READ);
	rmem_free(m);
	fakepy_free(&fp);
}

const struct unit_test pystr_tests[] = {
	{ "pystr: every kind", kinds },
	{ "pystr: truncation", truncation },
	{ "pystr: surrogates and 2.7", surrogates_and_py27 },
	{ "pystr: a NUL inside", nul_inside },
	{ "pystr: malformed", malformed },
	{ NULL, NULL },
};

/*
 * Unit tests: version strings, the supported list, the tables, and
 * importing a _Py_DebugOffsets image of every layout known, of both
 * builds, with every way it can be wrong.
 */
#include <string.h>

#include "errors.h"
#include "pydebugoffsets.h"
#include "pyruntime.h"
#include "unit.h"

static void versions(void)
{
	struct py_version v;
	char buf[32];

	CHECK_INT(py_version_parse("3.12.1", &v), 0);
	CHECK(v.major == 3 && v.minor == 12 && v.micro == 1 && v.level == 0xf);
	py_version_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "3.12.1");
	CHECK_INT(py_version_parse("3.13.0rc2", &v), 0);
	CHECK(v.level == 0xc && v.serial == 2);
	py_version_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "3.13.0rc2");
	CHECK_INT(py_version_parse("3.14.0a7", &v), 0);
	py_version_format(&v, buf, sizeof(buf));
	CHECK_STR(buf, "3.14.0a7");
	CHECK_INT(py_version_parse("2.7.18", &v), 0);
	CHECK_INT(py_version_parse("3.x.1", &v), -22);
	CHECK_INT(py_version_parse("3.12", &v), -22);
	CHECK_INT(py_version_parse("3.12.1zz", &v) == 0, 1);
	CHECK_STR(pyruntime_supported(), "2.7, 3.6-3.15 (free-threaded: 3.13-3.15)");
}

/* The index of name in a layout, or -1. */
static long word_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return (long)i;
	return -1;
}

/*
 * An image of the layout for hex: every size 1 MB, the GIL's state at 4096
 * in the interpreter, and every other word 8 times its index, so that each
 * imported field says which word it came from.
 */
static size_t build_image(uint64_t *img, unsigned hex, bool ft)
{
	size_t n;
	const char *const *names = pydebug_layout(hex, &n);

	memset(img, 0, PYDEBUG_MAX_BYTES);
	if (!names)
		return 0;
	for (size_t i = 3; i < n; i++) {
		const char *name = names[i], *dot = strrchr(name, '.');

		if (dot && !strcmp(dot, ".size"))
			img[i] = 1 << 20;
		else if (!strcmp(name, "interpreter_state.gil_runtime_state"))
			img[i] = 4096;
		else if (!strcmp(name, "interpreter_state.gil_runtime_state_locked"))
			img[i] = 4096 + 24;
		else if (!strcmp(name, "interpreter_state.gil_runtime_state_holder"))
			img[i] = 4096 + 16;
		else if (!strcmp(name, "interpreter_state.gil_runtime_state_enabled"))
			img[i] = ft ? 8 : 0;	/* CPython gives this one inside the GIL struct */
		else
			img[i] = 8 * i;
	}
	memcpy(img, "xdebugpy", 8);
	img[1] = hex;
	img[2] = ft;
	return n;
}

static void debug_offsets_of(unsigned hex, bool ft)
{
	struct py_version v = { 3, hex >> 16 & 0xff, hex >> 8 & 0xff, hex >> 4 & 0xf, hex & 0xf };
	struct py_version v312 = { 3, 12, 1, 0xf, 0 };
	const struct py_offsets_table *t = pyoffsets_for_version(3, v.minor, ft);
	uint64_t img[PYDEBUG_MAX_BYTES / 8];
	const char *const *names;
	struct py_offsets off;
	unsigned differ, got_hex;
	bool got_ft;
	char why[200];
	size_t n;
	long i;

	CHECK(t != NULL);
	if (!t)
		return;
	names = pydebug_layout(hex, &n);
	CHECK(names != NULL && n > 70 && n <= PYDEBUG_MAX_BYTES / 8);
	build_image(img, hex, ft);
	CHECK_INT(pydebug_peek(img, sizeof(img), &got_hex, &got_ft), 0);
	CHECK(got_hex == hex && got_ft == ft);

	off = t->off;
	CHECK_INT(pydebug_import(img, sizeof(img), &v, &off, &differ, why, sizeof(why)), 0);
	CHECK(differ > 20);
	i = word_index(names, n, "thread_state.native_thread_id");
	CHECK_INT(off.tstate_native_thread_id, 8 * i);
	i = word_index(names, n, "interpreter_frame.executable");
	CHECK_INT(off.iframe_code, 8 * i);
	i = word_index(names, n, "interpreter_state.ceval_gil");
	CHECK_INT(off.interp_gil, 8 * i);
	CHECK_INT(off.tstate_size, 1 << 20);
	CHECK_INT(off.gil_locked, 24);
	CHECK_INT(off.gil_last_holder, 16);
	/* What the image does not publish stays the table's. */
	CHECK_INT(off.dict_keys_kind, t->off.dict_keys_kind);
	CHECK_INT(off.runtime_interpreters_main, t->off.runtime_interpreters_main);
	/* Free-threaded words only in a free-threaded build. */
	CHECK_INT(off.gil_enabled, ft ? 8 : t->off.gil_enabled);
	i = word_index(names, n, "interpreter_frame.tlbc_index");
	if (i >= 0)
		CHECK_INT(off.iframe_tlbc_index, ft ? (uint64_t)(8 * i) : t->off.iframe_tlbc_index);

	/* Every way an image can be wrong leaves the layout alone. */
	off = t->off;
	CHECK_INT(pydebug_import(img, n * 8 - 8, &v, &off, &differ, why, sizeof(why)), -PS_E_BAD_DATA);
	CHECK_INT(pydebug_import(img, sizeof(img), &v312, &off, &differ, why, sizeof(why)),
		  -PS_E_BAD_DATA);
	CHECK(strstr(why, "3.12") != NULL);
	i = word_index(names, n, "thread_state.current_frame");
	img[i] = 1 << 20;	/* current_frame at the very end of the thread state */
	CHECK_INT(pydebug_import(img, sizeof(img), &v, &off, &differ, why, sizeof(why)), -PS_E_BAD_DATA);
	CHECK(strstr(why, "thread_state.current_frame") != NULL);
	build_image(img, hex, ft);
	img[word_index(names, n, "interpreter_state.size")] = 1ull << 40;	/* absurd */
	CHECK_INT(pydebug_import(img, sizeof(img), &v, &off, &differ, why, sizeof(why)), -PS_E_BAD_DATA);
	build_image(img, hex, ft);
	img[word_index(names, n, "interpreter_state.gil_runtime_state_locked")] = 8;	/* before the GIL */
	CHECK_INT(pydebug_import(img, sizeof(img), &v, &off, &differ, why, sizeof(why)), -PS_E_BAD_DATA);
	build_image(img, hex, ft);
	img[2] = 7;
	CHECK_INT(pydebug_import(img, sizeof(img), &v, &off, &differ, why, sizeof(why)), -PS_E_BAD_DATA);
	build_image(img, hex, ft);
	memcpy(img, "notdebug", 8);
	CHECK_INT(pydebug_peek(img, sizeof(img), &got_hex, &got_ft), -PS_E_BAD_DATA);
	CHECK_INT(pydebug_import(img, sizeof(img), &v, &off, &differ, why, sizeof(why)), -PS_E_BAD_DATA);
	CHECK(!memcmp(&off, &t->off, sizeof(off)));
	CHECK_INT(differ, 0);
}

static void debug_offsets(void)
{
	static const unsigned releases[] = { 0x030d00f0, 0x030e07f0, 0x030f00c1 };
	uint64_t img[PYDEBUG_MAX_BYTES / 8];
	struct py_offsets off;
	unsigned differ;
	char why[200];
	size_t n;

	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++) {
		debug_offsets_of(releases[i], false);
		debug_offsets_of(releases[i], true);
	}
	/* A pre-release before the layout it is read with, and a version not known at all. */
	CHECK(pydebug_layout(0x030e00b2, &n) == NULL);
	CHECK(pydebug_layout(0x031000f0, &n) == NULL);
	build_image(img, 0x030e00c1, false);
	img[1] = 0x030e00b2;
	off = pyoffsets_for_version(3, 14, false)->off;
	CHECK_INT(pydebug_import(img, sizeof(img), &(struct py_version){ 3, 14, 0, 0xb, 2 }, &off,
				 &differ, why, sizeof(why)), -PS_E_UNSUPPORTED);
	CHECK(strstr(why, "a pre-release") != NULL && strstr(why, "3.14.0rc1") != NULL);
	img[1] = 0x031000f0;
	CHECK_INT(pydebug_import(img, sizeof(img), &(struct py_version){ 3, 16, 0, 0xf, 0 }, &off,
				 &differ, why, sizeof(why)), -PS_E_UNSUPPORTED);
}

static void tables(void)
{
	unsigned n;
	const struct py_offsets_table *t = pyoffsets_tables(&n);

	CHECK_INT(n, 14);
	for (unsigned i = 1; i < n; i++)
		CHECK(t[i - 1].major < t[i].major ||
		      (t[i - 1].major == t[i].major && t[i - 1].minor < t[i].minor) ||
		      (t[i - 1].major == t[i].major && t[i - 1].minor == t[i].minor &&
		       !t[i - 1].free_threaded && t[i].free_threaded));
	for (unsigned i = 0; i < n; i++)
		CHECK(!t[i].free_threaded || (t[i].major == 3 && t[i].minor >= 13));
	CHECK(pyoffsets_for_version(3, 5, false) == NULL);
	CHECK(pyoffsets_for_version(3, 16, false) == NULL);
	CHECK(pyoffsets_for_version(3, 12, true) == NULL);
	CHECK(pyoffsets_for_version(2, 7, false) == &t[0]);
	CHECK(pyoffsets_for_version(3, 15, true) == &t[n - 1]);
	CHECK(pyoffsets_for_version(3, 15, false) == &t[n - 2]);
}

const struct unit_test pyruntime_tests[] = {
	{ "pyruntime: versions", versions },
	{ "pyruntime: debug offsets", debug_offsets },
	{ "pyruntime: tables", tables },
	{ NULL, NULL },
};

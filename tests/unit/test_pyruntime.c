/*
 * Unit tests: version strings, the supported list, and importing a 3.13
 * _Py_DebugOffsets image (built here from the generated 3.13 table) with
 * every way it can be wrong.
 */
#include "errors.h"
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
	CHECK_STR(pyruntime_supported(), "2.7, 3.6-3.13");
}

/* A 3.13 _Py_DebugOffsets image: cookie, version, free_threaded, then fields. */
static void build_313(uint64_t *img, const struct py_offsets *o)
{
	uint64_t interp_gil_state = 4096;

	memset(img, 0, 73 * 8);
	memcpy(img, "xdebugpy", 8);
	img[1] = 0x030d00f0;
	img[3] = o->runtime_size;
	img[5] = o->runtime_interpreters_head;
	img[6] = o->interp_size;
	img[7] = o->interp_id;
	img[8] = o->interp_next;
	img[9] = o->interp_tstate_head;
	img[10] = o->interp_gc;
	img[11] = o->interp_modules;
	img[12] = o->interp_sysdict;
	img[13] = o->interp_builtins;
	img[14] = o->interp_gil;
	img[15] = interp_gil_state;
	img[17] = interp_gil_state + o->gil_locked;
	img[18] = interp_gil_state + o->gil_last_holder;
	img[19] = o->tstate_size;
	img[21] = o->tstate_next;
	img[22] = o->tstate_interp;
	img[23] = o->tstate_frame;
	img[24] = o->tstate_thread_id;
	img[25] = o->tstate_native_thread_id;
	img[28] = o->iframe_size;
	img[29] = o->iframe_previous;
	img[30] = o->iframe_code;
	img[31] = o->iframe_instr;
	img[32] = o->iframe_localsplus;
	img[33] = o->iframe_owner;
	img[34] = o->code_size;
	img[35] = o->code_filename;
	img[36] = o->code_name;
	img[37] = o->code_qualname;
	img[38] = o->code_linetable;
	img[39] = o->code_firstlineno;
	img[40] = o->code_argcount;
	img[41] = o->code_localsplusnames;
	img[42] = o->code_localspluskinds;
	img[43] = o->code_adaptive;
	img[44] = 16;
	img[45] = o->object_type;
	img[46] = 400;
	img[47] = o->type_name;
	img[49] = o->type_flags;
	img[50] = 64;
	img[51] = o->tuple_item;
	img[53] = 64;
	img[54] = o->list_item;
	img[56] = 64;
	img[57] = o->dict_keys;
	img[58] = o->dict_values;
	img[59] = 64;
	img[60] = o->float_value;
	img[61] = 64;
	img[62] = o->long_tag;
	img[63] = o->long_digits;
	img[64] = 64;
	img[65] = o->varobject_size;
	img[66] = o->bytes_sval;
	img[67] = 80;
	img[68] = o->unicode_state;
	img[69] = o->unicode_length;
	img[70] = o->unicode_ascii_size;
	img[71] = 400;
	img[72] = o->gc_collecting;
}

static void debug_offsets(void)
{
	const struct py_offsets_table *t = pyoffsets_for_version(3, 13);
	struct py_version v313 = { 3, 13, 0, 0xf, 0 }, v312 = { 3, 12, 1, 0xf, 0 };
	uint64_t img[73];
	struct py_offsets off;
	char why[160];

	CHECK(t != NULL);
	if (!t)
		return;
	build_313(img, &t->off);
	off = t->off;
	off.tstate_thread_id = 0;	/* must come back from the image */
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v313, &off, why, sizeof(why)), 0);
	CHECK(!memcmp(&off, &t->off, sizeof(off)));

	/* The image wins over the table: a patch release moved a field. */
	img[24] += 8;
	off = t->off;
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v313, &off, why, sizeof(why)), 0);
	CHECK_INT(off.tstate_thread_id, t->off.tstate_thread_id + 8);
	img[24] -= 8;

	off = t->off;
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img) - 8, &v313, &off, why, sizeof(why)),
		  -PS_E_BAD_DATA);
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v312, &off, why, sizeof(why)),
		  -PS_E_BAD_DATA);
	CHECK(strstr(why, "3.12") != NULL);
	img[2] = 1;
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v313, &off, why, sizeof(why)),
		  -PS_E_UNSUPPORTED);
	CHECK(strstr(why, "free-threaded") != NULL);
	img[2] = 0;
	img[23] = img[19];	/* current_frame at the very end of the thread state */
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v313, &off, why, sizeof(why)),
		  -PS_E_BAD_DATA);
	build_313(img, &t->off);
	img[6] = 1ull << 40;	/* absurd interpreter size */
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v313, &off, why, sizeof(why)),
		  -PS_E_BAD_DATA);
	build_313(img, &t->off);
	memcpy(img, "notdebug", 8);
	CHECK_INT(pyruntime_import_debug_offsets(img, sizeof(img), &v313, &off, why, sizeof(why)),
		  -PS_E_BAD_DATA);
	/* A refused image leaves the layout alone. */
	CHECK(!memcmp(&off, &t->off, sizeof(off)));
}

static void tables(void)
{
	unsigned n;
	const struct py_offsets_table *t = pyoffsets_tables(&n);

	CHECK_INT(n, 9);
	for (unsigned i = 1; i < n; i++)
		CHECK(t[i - 1].major < t[i].major ||
		      (t[i - 1].major == t[i].major && t[i - 1].minor < t[i].minor));
	CHECK(pyoffsets_for_version(3, 5) == NULL);
	CHECK(pyoffsets_for_version(3, 14) == NULL);
	CHECK(pyoffsets_for_version(2, 7) == &t[0]);
	CHECK(pyoffsets_for_version(3, 13) == &t[n - 1]);
}

const struct unit_test pyruntime_tests[] = {
	{ "pyruntime: versions", versions },
	{ "pyruntime: debug offsets", debug_offsets },
	{ "pyruntime: tables", tables },
	{ NULL, NULL },
};

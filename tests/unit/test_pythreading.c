/*
 * Unit tests: thread names out of a fake interpreter's threading registry
 * (sys.modules["threading"]._active), on every layout of instance
 * attributes (a __dict__, 3.11-3.12 managed dicts, 3.13 inline values).
 */
#include <errno.h>
#include <stdlib.h>

#include "errors.h"
#include "fakepy.h"
#include "pythreading.h"
#include "unit.h"

/* A module object of the fake interpreter, with dict as its __dict__. */
static uint64_t module(struct fakepy *fp, uint64_t dict)
{
	const struct py_offsets *o = &fp->rt.off;
	uint64_t m = fakepy_alloc(fp, o->module_dict + 8);

	fakepy_put64(fp, m + o->object_type, fp->rt.type_module);
	fakepy_put64(fp, m + o->module_dict, dict);
	return m;
}

static void names_on(unsigned major, unsigned minor)
{
	struct fakepy fp;
	const char *attr = major == 2 ? "_Thread__name" : "_name";
	uint64_t interp, cls, active, keys[3], values[3], modules, mkeys[2], mvals[2], reg = 0;
	const char *names[2] = { "MainThread", "worker-\xce\xb1" };
	struct pythread_name *got;
	struct rmem *m;
	long n;

	fakepy_init(&fp, major, minor);
	interp = fakepy_interp(&fp);
	cls = fakepy_class(&fp, "Thread", "threading", 0);
	for (int i = 0; i < 2; i++) {
		uint64_t k = fakepy_str(&fp, attr), v = fakepy_str(&fp, names[i]);

		keys[i] = fakepy_int(&fp, 0x7f0000001000 + i);
		values[i] = fakepy_instance(&fp, cls, fakepy_dict(&fp, 1, &k, &v), 0);
	}
	active = fakepy_dict(&fp, 2, keys, values);
	mkeys[0] = fakepy_str(&fp, "_limbo");
	mvals[0] = fakepy_dict(&fp, 0, NULL, NULL);
	mkeys[1] = fakepy_str(&fp, "_active");
	mvals[1] = active;
	keys[0] = fakepy_str(&fp, "sys");
	values[0] = module(&fp, fakepy_dict(&fp, 0, NULL, NULL));
	keys[1] = fakepy_str(&fp, "threading");
	values[1] = module(&fp, fakepy_dict(&fp, 2, mkeys, mvals));
	modules = fakepy_dict(&fp, 2, keys, values);
	m = fakepy_map(&fp);

	/* Not imported yet: no registry. */
	CHECK_INT(pythreading_registry(m, &fp.rt, interp, &reg), -ENOENT);
	fakepy_put64(&fp, interp + fp.rt.off.interp_modules, modules);
	rmem_free(m);
	m = fakepy_map(&fp);
	CHECK_INT(pythreading_registry(m, &fp.rt, interp, &reg), 0);
	CHECK_INT(reg, active);
	n = pythreading_names(m, &fp.rt, reg, &got);
	CHECK_INT(n, 2);
	for (long i = 0; i < n && i < 2; i++) {
		CHECK_INT(got[i].ident, 0x7f0000001000 + i);
		CHECK_STR(got[i].name, names[i]);
	}
	pythreading_free(got, n > 0 ? (size_t)n : 0);
	/* A registry that is no dict any more says so. */
	CHECK_INT(pythreading_names(m, &fp.rt, keys[0], &got), -PS_E_BAD_DATA);
	rmem_free(m);
	fakepy_free(&fp);
}

static void names(void)
{
	static const unsigned versions[][2] = {
		{ 2, 7 }, { 3, 6 }, { 3, 9 }, { 3, 10 }, { 3, 11 }, { 3, 12 }, { 3, 13 },
	};

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		names_on(versions[i][0], versions[i][1]);
}

const struct unit_test pythreading_tests[] = {
	{ "pythreading: names", names },
	{ NULL, NULL },
};

/*
 * Thread names from the threading module's registry (see pythreading.h):
 * sys.modules["threading"]._active, then each Thread's _name attribute
 * (_Thread__name on 2.7, where the attribute is private).
 */
#include <errno.h>
#include <stdlib.h>

#include "errors.h"
#include "msg.h"
#include "pyobj.h"
#include "pyruntime.h"
#include "pystr.h"
#include "pythreading.h"
#include "rmem.h"

struct collect {
	struct rmem *m;
	const struct pyruntime *rt;
	struct pythread_name *v;
	size_t n, cap;
};

static int add_thread(uint64_t key, uint64_t thread, void *arg)
{
	struct collect *c = arg;
	const char *attr = c->rt->ver.major == 2 ? "_Thread__name" : "_name";
	char buf[256];
	uint64_t ident, name;
	long len;

	if (pyobj_u64(c->m, c->rt, key, &ident) || pyobj_getattr_str(c->m, c->rt, thread, attr, &name))
		return 0;
	len = pystr_read(c->m, c->rt, name, buf, sizeof(buf));
	if (len < 0)
		return 0;
	xgrow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = (struct pythread_name){ .ident = ident, .name = xstrndup(buf, (size_t)len) };
	return 0;
}

int pythreading_registry(struct rmem *m, const struct pyruntime *rt, uint64_t interp,
			 uint64_t *active)
{
	const struct py_offsets *o = &rt->off;
	uint64_t modules = 0, module = 0, dict = 0;
	int err;

	if (o->interp_modules == PYO_NONE || o->module_dict == PYO_NONE)
		return -PS_E_UNSUPPORTED;
	err = rmem_read_u64(m, interp + o->interp_modules, &modules);
	if (!err && !modules)
		return -ENOENT;		/* not initialised yet */
	if (!err)
		err = pyobj_dict_get_str(m, rt, modules, "threading", &module);
	if (!err)
		err = rmem_read_u64(m, module + o->module_dict, &dict);
	if (!err)
		err = pyobj_dict_get_str(m, rt, dict, "_active", active);
	return err;
}

long pythreading_names(struct rmem *m, const struct pyruntime *rt, uint64_t active,
		       struct pythread_name **out)
{
	struct collect c = { .m = m, .rt = rt };
	int err = pyobj_dict_items(m, rt, active, PYTHREADING_MAX, add_thread, &c);

	*out = NULL;
	if (err) {
		pythreading_free(c.v, c.n);
		return err;
	}
	*out = c.v;
	return (long)c.n;
}

void pythreading_free(struct pythread_name *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

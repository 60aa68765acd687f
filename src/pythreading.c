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

/* Rounds of deferred reads (see rmem_defer): a name is a chase of about four objects. */
#define ROUNDS 8

struct entry {
	uint64_t key, thread;	/* an ident (int) and its Thread */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static int add_entry(uint64_t key, uint64_t thread, void *arg)
{
	struct entries *e = arg;

	xgrow(&e->v, &e->cap, e->n + 1, sizeof(*e->v));
	e->v[e->n++] = (struct entry){ key, thread };
	return 0;
}

/* The ident and name of one registry entry into out: 0, or a negative error. */
static int name_of(struct rmem *m, const struct pyruntime *rt, const struct entry *e,
		   struct pythread_name *out)
{
	const char *attr = rt->ver.major == 2 ? "_Thread__name" : "_name";
	char buf[256];
	uint64_t name;
	long len;
	int err = pyobj_u64(m, rt, e->key, &out->ident);

	if (!err)
		err = pyobj_getattr_str(m, rt, e->thread, attr, &name);
	if (err)
		return err;
	len = pystr_read(m, rt, name, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	out->name = xstrndup(buf, (size_t)len);
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
	struct entries e = { 0 };
	struct pythread_name *v;
	int *status;
	size_t n = 0;
	int err = pyobj_dict_items(m, rt, active, PYTHREADING_MAX, add_entry, &e);

	*out = NULL;
	if (err) {
		free(e.v);
		return err;
	}
	v = xcalloc(e.n ? e.n : 1, sizeof(*v));
	status = xmalloc((e.n ? e.n : 1) * sizeof(*status));
	for (size_t i = 0; i < e.n; i++)
		status[i] = -PS_E_DEFERRED;
	/*
	 * Every thread's chase (the ident, the Thread, its attributes, the
	 * name) in rounds, so that each step of all of them is one read; a
	 * last round reads whatever is left the ordinary way.
	 */
	for (int round = 0; round <= ROUNDS; round++) {
		bool pending = false;

		rmem_defer(m, round < ROUNDS);
		for (size_t i = 0; i < e.n; i++) {
			if (status[i] != -PS_E_DEFERRED)
				continue;
			status[i] = name_of(m, rt, &e.v[i], &v[i]);
			pending |= status[i] == -PS_E_DEFERRED;
		}
		rmem_defer(m, false);
		if (!pending || !rmem_fetch_deferred(m))
			break;
	}
	/* Entries that could not be read are left out. */
	for (size_t i = 0; i < e.n; i++)
		if (!status[i])
			v[n++] = v[i];
	free(status);
	free(e.v);
	if (!n) {
		free(v);
		v = NULL;
	}
	*out = v;
	return (long)n;
}

void pythreading_free(struct pythread_name *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

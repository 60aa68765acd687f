/*
 * The generated CPython layout tables (src/offsets/pyXY.h, written by
 * tools/gen_offsets.sh) gathered into one array, and lookup by version.
 *
 * To add a version: install it with its headers (and its free-threaded
 * build, from 3.13 on), run tools/gen_offsets.sh, and add its headers and
 * macros below in version order, the default build first.
 */
#include <stdlib.h>

#include "pyoffsets.h"

#include "offsets/py27.h"
#include "offsets/py36.h"
#include "offsets/py37.h"
#include "offsets/py38.h"
#include "offsets/py39.h"
#include "offsets/py310.h"
#include "offsets/py311.h"
#include "offsets/py312.h"
#include "offsets/py313.h"
#include "offsets/py313t.h"
#include "offsets/py314.h"
#include "offsets/py314t.h"
#include "offsets/py315.h"
#include "offsets/py315t.h"

/* Oldest first: pyoffsets_for_version() searches it by bisection. */
static const struct py_offsets_table tables[] = {
	PYOFFSETS_2_7,
	PYOFFSETS_3_6,
	PYOFFSETS_3_7,
	PYOFFSETS_3_8,
	PYOFFSETS_3_9,
	PYOFFSETS_3_10,
	PYOFFSETS_3_11,
	PYOFFSETS_3_12,
	PYOFFSETS_3_13,
	PYOFFSETS_3_13T,
	PYOFFSETS_3_14,
	PYOFFSETS_3_14T,
	PYOFFSETS_3_15,
	PYOFFSETS_3_15T,
};

#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

static int version_cmp(const void *key, const void *elem)
{
	const struct py_offsets_table *a = key, *b = elem;

	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	return (int)a->free_threaded - (int)b->free_threaded;
}

const struct py_offsets_table *pyoffsets_for_version(unsigned major, unsigned minor,
						     bool free_threaded)
{
	const struct py_offsets_table key = { .major = major, .minor = minor,
					      .free_threaded = free_threaded };

	return bsearch(&key, tables, N_TABLES, sizeof(tables[0]), version_cmp);
}

const struct py_offsets_table *pyoffsets_tables(unsigned *count)
{
	*count = N_TABLES;
	return tables;
}

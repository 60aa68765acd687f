/*
 * The interpreter's call machinery: the C functions of CPython that only
 * pass a call on (from Python code to a callable, or from C back into the
 * eval loop), as opposed to the C code the Python program called
 * (sorted(), list.extend, map's next, a dict comparison), which --native
 * shows.  Known by name, per version.
 */
#ifndef PYSTACK_MACHINERY_H
#define PYSTACK_MACHINERY_H

#include <stdbool.h>

/* Whether the function named name is call machinery in CPython vkey (PY_VER). */
bool call_machinery(unsigned vkey, const char *name);

#endif

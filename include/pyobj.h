/*
 * Python objects read out of the target's memory: their types, the items
 * of dicts, instance attributes, small ints, and repr() as the target's own
 * Python would write it, bounded.
 *
 * Types are recognised by the address of their type object (struct
 * pyruntime's type_* fields), never by name, so a class that calls itself
 * "int" is not decoded as one.  Nothing read from the target is trusted:
 * every count, length and pointer is checked and bounded, so a corrupt or
 * changing object costs a bounded number of reads and gives an error (or,
 * in a repr, a placeholder), never a hang.
 */
#ifndef PYSTACK_PYOBJ_H
#define PYSTACK_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

struct pyruntime;
struct rmem;

/* Items visited in any one container, at most. */
#define PYOBJ_MAX_ITEMS 100000

/* The bounds of pyobj_repr(). */
#define PYOBJ_REPR_ITEMS	8	/* items shown of a container, then ", ... N more" */
#define PYOBJ_REPR_DEPTH	4	/* containers nested deeper show as "[...N items]" */
#define PYOBJ_REPR_CHARS	200	/* characters shown of a str or bytes, then "'..." */
#define PYOBJ_REPR_DIGITS	300	/* decimal digits of an int, else "<int of N bits>" */

/* The tp_name of obj's type into buf (NUL-terminated, cut to fit).  0 or a negative error. */
int pyobj_type_name(struct rmem *m, const struct pyruntime *rt, uint64_t obj, char *buf, size_t size);

/*
 * Each item of the dict at dict, in Python's iteration order: fn(key, value, arg), which
 * returns nonzero to stop.  At most max items.  0, or a negative error (-PS_E_BAD_DATA for
 * anything that does not validate as a dict).
 */
int pyobj_dict_items(struct rmem *m, const struct pyruntime *rt, uint64_t dict, size_t max,
		     int (*fn)(uint64_t key, uint64_t value, void *arg), void *arg);

/* The value under the str key (compared by content: 3.x str, 2.7 str) in *value; -ENOENT when absent. */
int pyobj_dict_get_str(struct rmem *m, const struct pyruntime *rt, uint64_t dict, const char *key,
		       uint64_t *value);

/*
 * The attribute name of the instance obj, from its instance dictionary: the __dict__ at
 * tp_dictoffset (2.7-3.10, and types without managed dicts), the managed dict or the
 * split-table values (3.11, 3.12: Py_TPFLAGS_MANAGED_DICT; 3.12's tagged dict-or-values
 * word), the inline values (3.13+: Py_TPFLAGS_INLINE_VALUES, keys from the heap type's
 * ht_cached_keys).  -ENOENT when absent.
 */
int pyobj_getattr_str(struct rmem *m, const struct pyruntime *rt, uint64_t obj, const char *name,
		      uint64_t *value);

/*
 * Each key of the set or frozenset (3.x) at set, in table order: fn(key, arg), which returns
 * nonzero to stop.  At most max keys.  0, or a negative error (-PS_E_BAD_DATA for anything
 * that does not validate as a set).
 */
int pyobj_set_items(struct rmem *m, const struct pyruntime *rt, uint64_t set, size_t max,
		    int (*fn)(uint64_t key, void *arg), void *arg);

/*
 * The first items (at most max) of the list or tuple at obj into items, how many in *n.
 * 0, or a negative error (-PS_E_BAD_DATA when obj is neither).
 */
int pyobj_seq_items(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *items,
		    size_t max, size_t *n);

/* An int (3.x int, 2.7 int or long) that fits in 0..UINT64_MAX; -ERANGE otherwise, -PS_E_BAD_DATA if not an int. */
int pyobj_u64(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *out);

/*
 * The object a cell (PyCell_Type) holds, in *value: 0, -ENOENT when the
 * cell is empty, -PS_E_BAD_DATA when obj is not a cell.
 */
int pyobj_cell_get(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *value);

/*
 * repr(obj) as the target's Python would write it, into buf (size bytes, NUL-terminated),
 * for None, bool, int (any size), float, str (every PEP 393 kind, escaped by the Unicode
 * database of the target's version; 2.7 str and unicode), bytes, cells, classes (of any
 * metaclass, as type.__repr__ writes them; 2.7's classic classes and their instances too),
 * functions, built-in functions and methods, bound methods, modules (as importlib
 * writes them, from the spec, or from the loader up to 3.9), and tuple, list, dict, set,
 * frozenset (nested, recursion shown as Python does: [...] and {...}); anything else as
 * "<TypeName object at 0x7f...>".  Bounded: see the PYOBJ_REPR_* limits above (a bound
 * method's object counts as a level of nesting, "..." beyond); the whole repr is cut to
 * fit buf, ending in "..." when cut.
 * Never fails: an object that cannot be read gives "<unreadable object at 0x...>".
 * Returns the length.
 */
size_t pyobj_repr(struct rmem *m, const struct pyruntime *rt, uint64_t obj, char *buf, size_t size);

/*
 * Python's repr() of the double x ("0.1", "1e+16", "-0.0", "nan") into buf
 * of at least 32 bytes.  Returns the length.
 */
size_t pyobj_format_float(double x, char *buf, size_t size);

#endif

/*
 * Python objects read out of the target's memory (see pyobj.h).
 *
 * Layouts come from struct py_offsets and types from the addresses in
 * struct pyruntime.  Dicts have three layouts: 2.7's open hash table of
 * {hash, key, value} entries; 3.6-3.10's compact dict, an index table (1,
 * 2, 4 or 8 bytes a slot, by its size) followed by the entries in insertion
 * order, whose split form keeps the values in an array of their own; and
 * 3.11+'s, whose keys object also says what its entries hold (a hash, or
 * only str keys) and whose split values carry their own insertion order
 * (in bytes before them up to 3.12, after them from 3.13).  A free-threaded
 * build (3.13+) lays them out alike, with every object field moved by its
 * longer header, and a mutex in the keys object that its offsets account for.
 *
 * repr() follows the rules of the target's version (2.7's u'' and L, its
 * "set([1])", the Unicode database that decides which characters a str
 * shows as they are), and is bounded: see the PYOBJ_REPR_* limits in pyobj.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "msg.h"
#include "pyobj.h"
#include "pyruntime.h"
#include "pystr.h"
#include "rmem.h"
#include "unicode_printable.h"

/* Claims beyond these are corrupt, whatever the object says. */
#define MAX_CLAIMED_LEN	((int64_t)1 << 48)	/* items of a sequence, units of a string */
#define MAX_LOG2_TABLE	40			/* slots of a dict or set table */
#define MAX_INT_DIGITS	((uint64_t)1 << 40)

/* Py_TPFLAGS_DICT_SUBCLASS: the same bit from 2.6 to 3.15 (Include/object.h). */
#define TPFLAGS_DICT_SUBCLASS	(1ull << 29)
/* Py_TPFLAGS_TYPE_SUBCLASS: the same bit from 2.6 to 3.15; set on type and every metaclass. */
#define TPFLAGS_TYPE_SUBCLASS	(1ull << 31)

/* Table entries read in one go. */
#define CHUNK		64
/* Bytes fetched ahead of each key and value object: a short str entire, a small object's header. */
#define PREFETCH_LEN	64
#define MAX_ENTRY	32
#define SET_CHUNK	4096		/* entries of a set table read at once by pyobj_set_items() */

/* A repr visits at most this many objects, and table slots. */
#define REPR_OBJECTS	4096
#define REPR_VISITS	((size_t)4 * PYOBJ_MAX_ITEMS)

/* Ints of more bits than this are not converted (10^300 has 997 bits). */
#define LIMIT_BITS	1100
#define MAX_SMALL_DIGITS (LIMIT_BITS / 15 + 1)

static bool has(uint64_t off)
{
	return off != PYO_NONE;
}

static int read_i64(struct rmem *m, uint64_t addr, int64_t *v)
{
	return rmem_read(m, addr, v, sizeof(*v));
}

static int read_u8(struct rmem *m, uint64_t addr, uint8_t *v)
{
	return rmem_read(m, addr, v, 1);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int type_of(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *type)
{
	int err;

	if (!obj)
		return -PS_E_BAD_DATA;
	err = rmem_read_u64(m, obj + rt->off.object_type, type);
	if (!err && !*type)
		err = -PS_E_BAD_DATA;
	return err;
}

int pyobj_type_name(struct rmem *m, const struct pyruntime *rt, uint64_t obj, char *buf, size_t size)
{
	uint64_t type, name;
	bool trunc;
	long n;
	int err;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	err = type_of(m, rt, obj, &type);
	if (!err)
		err = rmem_read_u64(m, type + rt->off.type_name, &name);
	if (err)
		return err;
	n = rmem_read_cstr(m, name, buf, size - 1, &trunc);
	return n < 0 ? (int)n : 0;
}

/*
 * Dicts.
 */

/* A 3.x keys object, read and checked. */
struct dkeys {
	uint64_t nentries;
	unsigned log2_size;		/* slots of the index table */
	uint64_t indices;		/* the index table: entry numbers, -1 empty, -2 deleted */
	uint64_t entries;		/* the address of entry 0 */
	uint64_t esize, ekey, evalue;	/* an entry's size, where its key and value are */
	bool general;			/* entries with a hash (any key), not str-only */
};

/* log2 of the bytes of one index for a table of 2^log2_size slots. */
static unsigned index_width_log2(unsigned log2_size)
{
	return log2_size < 8 ? 0 : log2_size < 16 ? 1 : log2_size < 32 ? 2 : 3;
}

static int read_keys(struct rmem *m, const struct pyruntime *rt, uint64_t keys, struct dkeys *k)
{
	const struct py_offsets *o = &rt->off;
	unsigned log2_size, index_bytes_log2;
	int64_t nentries;
	int err;

	if (!keys)
		return -PS_E_BAD_DATA;
	k->general = true;
	if (has(o->dict_keys_log2_size)) {
		uint8_t ls, lb, kind;

		err = read_u8(m, keys + o->dict_keys_log2_size, &ls);
		if (!err)
			err = read_u8(m, keys + o->dict_keys_log2_index_bytes, &lb);
		if (!err)
			err = read_u8(m, keys + o->dict_keys_kind, &kind);
		if (err)
			return err;
		/*
		 * kind: 0 general, 1 str keys, 2 split (str keys, values
		 * apart).  The index table takes 2^lb bytes: its slots times
		 * the width of one, except in the keys every empty dict
		 * shares (Py_EMPTY_KEYS), whose one slot is given 8 bytes
		 * from 3.11.14, 3.12.9 and 3.13.2 on (Objects/dictobject.c,
		 * empty_keys_struct); no other keys have fewer than 8 slots.
		 */
		if (ls > MAX_LOG2_TABLE || kind > 2 ||
		    (lb != ls + index_width_log2(ls) && (ls != 0 || lb != 3)))
			return -PS_E_BAD_DATA;
		log2_size = ls;
		index_bytes_log2 = lb;
		k->general = kind == 0;
	} else {
		int64_t size;

		err = read_i64(m, keys + o->dict_keys_size, &size);
		if (err)
			return err;
		if (size < 1 || size > (int64_t)1 << MAX_LOG2_TABLE || (size & (size - 1)))
			return -PS_E_BAD_DATA;
		log2_size = (unsigned)__builtin_ctzll((uint64_t)size);
		index_bytes_log2 = log2_size + index_width_log2(log2_size);
	}
	err = read_i64(m, keys + o->dict_keys_nentries, &nentries);
	if (err)
		return err;
	if (nentries < 0 || nentries > (int64_t)1 << log2_size)
		return -PS_E_BAD_DATA;
	k->nentries = (uint64_t)nentries;
	k->log2_size = log2_size;
	k->indices = keys + o->dict_keys_indices;
	k->entries = keys + o->dict_keys_indices + ((uint64_t)1 << index_bytes_log2);
	if (k->general) {
		k->esize = o->dict_entry_size;
		k->ekey = o->dict_entry_key;
		k->evalue = o->dict_entry_value;
	} else {
		k->esize = o->dict_uentry_size;
		k->ekey = o->dict_uentry_key;
		k->evalue = o->dict_uentry_value;
	}
	if (k->esize > MAX_ENTRY || k->ekey + 8 > k->esize || k->evalue + 8 > k->esize)
		return -PS_E_BAD_DATA;
	return 0;
}

/* One walk over a dict's items (or an instance's values). */
struct walk {
	struct rmem *m;
	const struct pyruntime *rt;
	size_t max;			/* items still to give */
	size_t visits;			/* slots still to look at */
	int (*fn)(uint64_t key, uint64_t value, void *arg);
	void *arg;
	bool done;			/* fn said stop, or max reached */
};

static void give(struct walk *w, uint64_t key, uint64_t value)
{
	if (w->done || !w->max) {
		w->done = true;
		return;
	}
	w->max--;
	if (w->fn(key, value, w->arg) || !w->max)
		w->done = true;
}

/* n slots of size bytes from table at index i, limited by the visits left. */
static size_t chunk(struct walk *w, uint64_t i, uint64_t n)
{
	uint64_t c = n - i < CHUNK ? n - i : CHUNK;

	return c < w->visits ? (size_t)c : w->visits;
}

/*
 * The keys and values of c entries in buf, fetched in one read: whoever is
 * given them looks into them (a lookup compares every key), and one read
 * each would cost a system call each.
 */
static void prefetch_items(struct walk *w, const unsigned char *buf, size_t c, uint64_t esize,
			   uint64_t ekey, uint64_t evalue)
{
	uint64_t addrs[2 * CHUNK];
	size_t n = 0;

	for (size_t j = 0; j < c; j++) {
		uint64_t key = get64(buf + j * esize + ekey), value = get64(buf + j * esize + evalue);

		if (key && value) {
			addrs[n++] = key;
			addrs[n++] = value;
		}
	}
	rmem_prefetch(w->m, addrs, n, PREFETCH_LEN);
}

/* Entries holding their value (combined tables, and 2.7's table). */
static int walk_entries(struct walk *w, uint64_t entries, uint64_t n, uint64_t esize,
			uint64_t ekey, uint64_t evalue)
{
	unsigned char buf[CHUNK * MAX_ENTRY];

	for (uint64_t i = 0; i < n && !w->done;) {
		size_t c = chunk(w, i, n);
		int err;

		if (!c)
			break;
		err = rmem_read(w->m, entries + i * esize, buf, c * esize);
		if (err)
			return err;
		prefetch_items(w, buf, c, esize, ekey, evalue);
		for (size_t j = 0; j < c && !w->done; j++) {
			uint64_t key = get64(buf + j * esize + ekey);
			uint64_t value = get64(buf + j * esize + evalue);

			if (key && value)
				give(w, key, value);
		}
		w->visits -= c;
		i += c;
	}
	return 0;
}

/* The insertion order of split values (3.11+): the entry indices, *n of them. */
static int values_order(struct walk *w, uint64_t values, uint8_t order[256], size_t *n)
{
	const struct py_offsets *o = &w->rt->off;
	uint8_t block[256], prefix, count, capacity;
	int err;

	*n = 0;
	if (has(o->dictvalues_size)) {
		/* 3.13+: capacity and count in a header, the order after the values */
		err = read_u8(w->m, values + o->dictvalues_capacity, &capacity);
		if (!err)
			err = read_u8(w->m, values + o->dictvalues_size, &count);
		if (!err && count > capacity)
			err = -PS_E_BAD_DATA;
		if (!err)
			err = rmem_read(w->m, values + o->dictvalues_values + 8 * (uint64_t)capacity,
					order, count);
		if (!err)
			*n = count;
		return err;
	}
	/* 3.11, 3.12: before the values, [-1] is the prefix size, [-2] the count, [-3 - i] the order */
	err = read_u8(w->m, values - 1, &prefix);
	if (!err)
		err = read_u8(w->m, values - 2, &count);
	if (!err && (size_t)count + 2 > prefix)
		err = -PS_E_BAD_DATA;
	if (!err)
		err = rmem_read(w->m, values - prefix, block, prefix);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++)
		order[i] = block[prefix - 3 - i];
	*n = count;
	return 0;
}

/* 3.6-3.10's split values: value i belongs to entry i, and insertion order is entry order. */
static int walk_split_by_entry(struct walk *w, const struct dkeys *k, uint64_t values, uint64_t used)
{
	uint64_t buf[CHUNK], key, given = 0;
	int err;

	for (uint64_t i = 0; i < k->nentries && !w->done && given < used;) {
		size_t c = chunk(w, i, k->nentries);

		if (!c)
			break;
		err = rmem_read(w->m, values + 8 * i, buf, 8 * c);
		if (err)
			return err;
		for (size_t j = 0; j < c && !w->done && given < used; j++) {
			if (!buf[j])
				continue;
			err = rmem_read_u64(w->m, k->entries + (i + j) * k->esize + k->ekey, &key);
			if (err)
				return err;
			if (!key)
				return -PS_E_BAD_DATA;
			give(w, key, buf[j]);
			given++;
		}
		w->visits -= c;
		i += c;
	}
	return 0;
}

/*
 * Split values: keys from k, values apart (a dict's ma_values, or an
 * instance's).  At most used items (ma_used; UINT64_MAX for an instance,
 * whose values say how many they hold).  3.11+ keep their own insertion
 * order, which may differ from the keys' (another instance of the class
 * may have set its attributes in another order).
 */
static int walk_split(struct walk *w, const struct dkeys *k, uint64_t values, uint64_t used)
{
	const struct py_offsets *o = &w->rt->off;
	uint64_t key, value;
	uint8_t order[256];
	size_t n;
	int err;

	if (w->rt->vkey < PY_VER(3, 11))
		return walk_split_by_entry(w, k, values, used);
	if (k->general)
		return -PS_E_BAD_DATA;
	err = values_order(w, values, order, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && i < used && !w->done && w->visits; i++, w->visits--) {
		if (order[i] >= k->nentries)
			return -PS_E_BAD_DATA;
		err = rmem_read_u64(w->m, values + o->dictvalues_values + 8 * (uint64_t)order[i], &value);
		if (err)
			return err;
		if (!value)
			continue;
		err = rmem_read_u64(w->m, k->entries + order[i] * k->esize + k->ekey, &key);
		if (err)
			return err;
		if (!key)
			return -PS_E_BAD_DATA;
		give(w, key, value);
	}
	return 0;
}

static int walk_dict(struct walk *w, uint64_t dict)
{
	const struct py_offsets *o = &w->rt->off;
	uint64_t keys, values;
	int64_t used;
	struct dkeys k;
	int err;

	err = read_i64(w->m, dict + o->dict_used, &used);
	if (err)
		return err;
	if (used < 0 || used > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	if (w->rt->ver.major == 2) {
		int64_t mask;

		err = read_i64(w->m, dict + o->dict_values, &mask);	/* ma_mask */
		if (!err)
			err = rmem_read_u64(w->m, dict + o->dict_keys, &keys);	/* ma_table */
		if (err)
			return err;
		if (mask < 0 || mask >= (int64_t)1 << MAX_LOG2_TABLE || (mask & (mask + 1)) ||
		    used > mask + 1 || !keys || o->dict_entry_size > MAX_ENTRY)
			return -PS_E_BAD_DATA;
		return walk_entries(w, keys, (uint64_t)mask + 1, o->dict_entry_size,
				    o->dict_entry_key, o->dict_entry_value);
	}
	err = rmem_read_u64(w->m, dict + o->dict_keys, &keys);
	if (!err)
		err = rmem_read_u64(w->m, dict + o->dict_values, &values);
	if (!err)
		err = read_keys(w->m, w->rt, keys, &k);
	if (err)
		return err;
	if ((uint64_t)used > k.nentries)
		return -PS_E_BAD_DATA;
	if (values)
		return walk_split(w, &k, values, (uint64_t)used);
	return walk_entries(w, k.entries, k.nentries, k.esize, k.ekey, k.evalue);
}

/* Whether dict is a dict (or an instance of a subclass). */
static int check_dict(struct rmem *m, const struct pyruntime *rt, uint64_t dict)
{
	uint64_t type, flags;
	int err = type_of(m, rt, dict, &type);

	if (err || !rt->type_dict || type == rt->type_dict)
		return err;
	err = rmem_read_u64(m, type + rt->off.type_flags, &flags);
	if (err)
		return err;
	return flags & TPFLAGS_DICT_SUBCLASS ? 0 : -PS_E_BAD_DATA;
}

int pyobj_dict_items(struct rmem *m, const struct pyruntime *rt, uint64_t dict, size_t max,
		     int (*fn)(uint64_t key, uint64_t value, void *arg), void *arg)
{
	struct walk w = { .m = m, .rt = rt, .max = max, .visits = PYOBJ_MAX_ITEMS, .fn = fn,
			  .arg = arg };
	int err = check_dict(m, rt, dict);

	if (err || !max)
		return err;
	return walk_dict(&w, dict);
}

/*
 * Looking up str keys.
 */

struct match {
	struct rmem *m;
	const struct pyruntime *rt;
	const char *s;
	size_t len;		/* bytes of s */
	size_t ncp;		/* code points of s */
	uint64_t value;
	bool found;
	int err;		/* a deferred read stopped the walk */
};

/*
 * Whether obj is a str (2.7: str or unicode) equal to a->s: 1 or 0, or a
 * negative error when obj could not be read (a deferred read among them:
 * the caller must pass that on, not take it for "not equal").
 */
static int str_equals(const struct match *a, uint64_t obj)
{
	const struct pyruntime *rt = a->rt;
	char small[256], *buf = small;
	uint64_t type;
	int64_t n;
	long got;
	int err = type_of(a->m, rt, obj, &type), eq;

	if (err)
		return err;
	if (rt->ver.major == 2 && type == rt->type_bytes) {
		err = read_i64(a->m, obj + rt->off.varobject_size, &n);
		if (err || n != (int64_t)a->len)
			return err;
		if (a->len > sizeof(small))
			buf = xmalloc(a->len);
		err = rmem_read(a->m, obj + rt->off.bytes_sval, buf, a->len);
		eq = err ? err : !memcmp(buf, a->s, a->len);
		if (buf != small)
			free(buf);
		return eq;
	}
	if (!rt->type_unicode || type != rt->type_unicode)
		return 0;
	/* the length in code points first: most keys differ there */
	err = read_i64(a->m, obj + rt->off.unicode_length, &n);
	if (err || n != (int64_t)a->ncp)
		return err;
	if (a->len + 8 > sizeof(small))
		buf = xmalloc(a->len + 8);
	got = pystr_read(a->m, rt, obj, buf, a->len + 8);
	eq = got < 0 ? (int)got : got == (long)a->len && !memcmp(buf, a->s, a->len);
	if (buf != small)
		free(buf);
	return eq;
}

static int match_item(uint64_t key, uint64_t value, void *arg)
{
	struct match *a = arg;
	int eq = str_equals(a, key);

	/* A key that could not be read ends the walk only when the read was deferred. */
	if (eq == -PS_E_DEFERRED) {
		a->err = eq;
		return 1;
	}
	if (eq <= 0)
		return 0;
	a->value = value;
	a->found = true;
	return 1;
}

static void match_init(struct match *a, struct rmem *m, const struct pyruntime *rt, const char *s)
{
	*a = (struct match){ .m = m, .rt = rt, .s = s, .len = strlen(s) };
	for (const char *p = s; *p; p++)
		a->ncp += ((unsigned char)*p & 0xc0) != 0x80;
}

/*
 * Hashes, for lookups that probe a dict as the interpreter does instead of
 * looking at every key: a str's hash is SipHash (2-4 up to 3.10, 1-3 from
 * 3.11) of its code units keyed by _Py_HashSecret, and 2.7's an FNV-like
 * sum salted by the same secret.  A build with another algorithm simply
 * finds nothing by probing, and the lookup then looks at every key.
 */
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *p, size_t n,
			int crounds, int drounds)
{
	uint64_t v[4] = { k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
			  k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull };
	uint64_t b = (uint64_t)n << 56, m;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&m, p + i, 8);
		v[3] ^= m;
		for (int r = 0; r < crounds; r++)
			sip_round(v);
		v[0] ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v[3] ^= b;
	for (int r = 0; r < crounds; r++)
		sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int r = 0; r < drounds; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* hash(s) in the target, for s given as UTF-8 of code points below 256. */
static bool str_hash(struct rmem *m, const struct pyruntime *rt, const char *s, size_t len,
		     int64_t *out)
{
	unsigned char units[256];
	uint64_t secret[2], h;
	size_t n = 0;

	if (!rt->hash_secret || rmem_read(m, rt->hash_secret, secret, sizeof(secret)))
		return false;
	/* The code units of a 1-byte-kind str (2.7: the bytes of a str). */
	for (size_t i = 0; i < len && n < sizeof(units); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80 && rt->ver.major != 2) {
			if ((c != 0xc2 && c != 0xc3) || i + 1 == len)
				return false;
			c = (unsigned char)(((c & 3) << 6) | ((unsigned char)s[++i] & 0x3f));
		}
		units[n++] = c;
	}
	if (!n) {
		*out = 0;
		return true;
	}
	if (rt->ver.major == 2) {
		h = secret[0] ^ (uint64_t)units[0] << 7;
		for (size_t i = 0; i < n; i++)
			h = (1000003 * h) ^ units[i];
		h ^= n;
		h ^= secret[1];
	} else {
		h = rt->vkey >= PY_VER(3, 11) ? siphash(secret[0], secret[1], units, n, 1, 3)
					      : siphash(secret[0], secret[1], units, n, 2, 4);
	}
	*out = (int64_t)h == -1 ? -2 : (int64_t)h;
	return true;
}

/* Entry number of index slot i of a 3.x keys table, or -1 (empty) / -2 (deleted). */
static int index_at(struct rmem *m, const struct dkeys *k, uint64_t i, int64_t *ix)
{
	unsigned w = 1u << index_width_log2(k->log2_size);
	unsigned char b[8];
	int err = rmem_read(m, k->indices + i * w, b, w);

	if (err)
		return err;
	*ix = w == 1 ? (int8_t)b[0] : w == 2 ? (int16_t)(b[0] | b[1] << 8) :
	      w == 4 ? (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
				 (uint32_t)b[3] << 24) : (int64_t)get64(b);
	return 0;
}

/*
 * The entry of a->s in the keys k (3.x), found by probing as the
 * interpreter does: 0 with *ix set, -ENOENT when the probe ends at an
 * empty slot, or another error.
 */
static int probe_keys(struct rmem *m, const struct pyruntime *rt, const struct dkeys *k,
		      int64_t hash, struct match *a, int64_t *ix)
{
	uint64_t mask = ((uint64_t)1 << k->log2_size) - 1, i = (uint64_t)hash & mask;
	uint64_t perturb = (uint64_t)hash;
	int64_t mhash;
	int err;

	/* Every slot is seen within size probes once the perturbation is spent. */
	for (uint64_t n = 0; n <= mask + 64; n++) {
		uint64_t e, key;

		err = index_at(m, k, i, ix);
		if (err)
			return err;
		if (*ix == -1)
			return -ENOENT;
		if (*ix >= 0) {
			if ((uint64_t)*ix >= k->nentries)
				return -PS_E_BAD_DATA;
			e = k->entries + (uint64_t)*ix * k->esize;
			err = rmem_read_u64(m, e + k->ekey, &key);
			if (!err)
				err = read_i64(m, k->general ? e + rt->off.dict_entry_hash :
					       key + rt->off.unicode_hash, &mhash);
			if (err)
				return err;
			if (mhash == hash && (err = str_equals(a, key)) != 0)
				return err < 0 ? err : 0;
		}
		perturb >>= 5;
		i = (i * 5 + perturb + 1) & mask;
	}
	return -PS_E_BAD_DATA;
}

/*
 * The value of entry ix among split values (value i belongs to entry i;
 * from 3.13 after a header): -ENOENT when this instance has none.
 */
static int split_value(struct rmem *m, const struct pyruntime *rt, uint64_t values, int64_t ix,
		       uint64_t *value)
{
	uint64_t at = has(rt->off.dictvalues_values) ? rt->off.dictvalues_values : 0;
	int err = rmem_read_u64(m, values + at + 8 * (uint64_t)ix, value);

	return err ? err : *value ? 0 : -ENOENT;
}

/*
 * Look key up by probing, as the interpreter does: 0 with a->value set,
 * -ENOENT when the probe ends at an empty slot, or another error (then the
 * caller looks at every key).
 */
static int probe(struct rmem *m, const struct pyruntime *rt, uint64_t dict, struct match *a)
{
	const struct py_offsets *o = &rt->off;
	uint64_t keys, values, mask, i, perturb;
	int64_t hash, ix, mhash;
	struct dkeys k;
	int err;

	if (!str_hash(m, rt, a->s, a->len, &hash))
		return -PS_E_UNSUPPORTED;
	if (rt->ver.major == 2) {
		int64_t m27;

		err = read_i64(m, dict + o->dict_values, &m27);	/* ma_mask */
		if (!err)
			err = rmem_read_u64(m, dict + o->dict_keys, &keys);	/* ma_table */
		if (err || m27 < 0 || m27 >= (int64_t)1 << MAX_LOG2_TABLE || (m27 & (m27 + 1)) || !keys)
			return err ? err : -PS_E_BAD_DATA;
		mask = (uint64_t)m27;
		i = (uint64_t)hash & mask;
		perturb = (uint64_t)hash;
		for (uint64_t n = 0; n <= mask + 64; n++) {
			uint64_t e = keys + (i & mask) * o->dict_entry_size, key = 0;

			err = rmem_read_u64(m, e + o->dict_entry_key, &key);
			if (!err)
				err = read_i64(m, e + o->dict_entry_hash, &mhash);
			if (err)
				return err;
			if (!key)
				return -ENOENT;
			if (mhash == hash && (err = str_equals(a, key)) != 0)
				return err < 0 ? err : rmem_read_u64(m, e + o->dict_entry_value, &a->value);
			/* 2.7 shifts the perturbation after using it. */
			i = (i << 2) + i + perturb + 1;
			perturb >>= 5;
		}
		return -PS_E_BAD_DATA;
	}
	err = rmem_read_u64(m, dict + o->dict_keys, &keys);
	if (!err)
		err = rmem_read_u64(m, dict + o->dict_values, &values);
	if (!err)
		err = read_keys(m, rt, keys, &k);
	if (!err)
		err = probe_keys(m, rt, &k, hash, a, &ix);
	if (err)
		return err;
	if (!values)
		return rmem_read_u64(m, k.entries + (uint64_t)ix * k.esize + k.evalue, &a->value);
	return split_value(m, rt, values, ix, &a->value);
}

/* The lookup, visiting at most *visits slots (and fewer left in it after). */
static int dict_lookup(struct rmem *m, const struct pyruntime *rt, uint64_t dict, const char *key,
		       uint64_t *value, size_t *visits)
{
	struct match a;
	struct walk w = { .m = m, .rt = rt, .max = PYOBJ_MAX_ITEMS, .fn = match_item, .arg = &a };
	size_t allowed = *visits < PYOBJ_MAX_ITEMS ? *visits : PYOBJ_MAX_ITEMS;
	int err;

	match_init(&a, m, rt, key);
	w.visits = allowed;
	err = check_dict(m, rt, dict);
	if (!err) {
		err = probe(m, rt, dict, &a);
		if (!err) {
			*value = a.value;
			return 0;
		}
		if (err == -PS_E_DEFERRED)
			return err;
		err = walk_dict(&w, dict);
	}
	*visits -= allowed - w.visits;
	if (!err)
		err = a.err;
	if (err)
		return err;
	if (!a.found)
		return -ENOENT;
	*value = a.value;
	return 0;
}

int pyobj_dict_get_str(struct rmem *m, const struct pyruntime *rt, uint64_t dict, const char *key,
		       uint64_t *value)
{
	size_t visits = PYOBJ_MAX_ITEMS;

	return dict_lookup(m, rt, dict, key, value, &visits);
}

/*
 * Attributes.
 */

/* name among the split values of an instance of type (3.11+), keyed by ht_cached_keys. */
static int values_get(struct rmem *m, const struct pyruntime *rt, uint64_t type, uint64_t values,
		      const char *name, uint64_t *value)
{
	struct match a;
	struct walk w = { .m = m, .rt = rt, .max = PYOBJ_MAX_ITEMS, .visits = PYOBJ_MAX_ITEMS,
			  .fn = match_item, .arg = &a };
	struct dkeys k;
	uint64_t keys;
	int64_t hash, ix;
	int err;

	match_init(&a, m, rt, name);
	err = rmem_read_u64(m, type + rt->off.heaptype_cached_keys, &keys);
	if (!err)
		err = read_keys(m, rt, keys, &k);
	if (!err && str_hash(m, rt, a.s, a.len, &hash)) {
		/* Probe the shared keys, as the interpreter does; look at every key if that fails. */
		err = probe_keys(m, rt, &k, hash, &a, &ix);
		if (!err)
			return split_value(m, rt, values, ix, value);
		if (err == -PS_E_DEFERRED)
			return err;
		err = 0;
	}
	if (!err)
		err = walk_split(&w, &k, values, UINT64_MAX);
	if (!err)
		err = a.err;
	if (err)
		return err;
	if (!a.found)
		return -ENOENT;
	*value = a.value;
	return 0;
}

/* The dict at tp_dictoffset (which counts from the end of a variable-size object when negative). */
static int dict_at_offset(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t type,
			  uint64_t *dict)
{
	const struct py_offsets *o = &rt->off;
	int64_t off, basic, item, n;
	int err;

	err = read_i64(m, type + o->type_dictoffset, &off);
	if (err)
		return err;
	if (!off)
		return -ENOENT;
	if (off < 0) {
		err = read_i64(m, type + o->type_basicsize, &basic);
		if (!err)
			err = read_i64(m, type + o->type_itemsize, &item);
		if (!err)
			err = read_i64(m, obj + o->varobject_size, &n);
		if (err)
			return err;
		if (n < -MAX_CLAIMED_LEN || n > MAX_CLAIMED_LEN || basic <= 0 || basic > 1 << 20 ||
		    item < 0 || item > 1 << 10)
			return -PS_E_BAD_DATA;
		if (n < 0)	/* an int's sign */
			n = -n;
		off += (basic + n * item + 7) & ~(int64_t)7;
		if (off < 0)
			return -PS_E_BAD_DATA;
	} else if (off > 1 << 20) {
		return -PS_E_BAD_DATA;
	}
	return rmem_read_u64(m, obj + (uint64_t)off, dict);
}

int pyobj_getattr_str(struct rmem *m, const struct pyruntime *rt, uint64_t obj, const char *name,
		      uint64_t *value)
{
	const struct py_offsets *o = &rt->off;
	uint64_t type, flags, dict = 0;
	int err;

	err = type_of(m, rt, obj, &type);
	if (!err)
		err = rmem_read_u64(m, type + o->type_flags, &flags);
	if (err)
		return err;
	if (has(o->tpflags_inline_values) && (flags & o->tpflags_inline_values)) {
		/*
		 * 3.13+: the values follow the object (tp_basicsize on:
		 * _PyObject_InlineValues), unless a dict took them over
		 */
		int64_t basic;
		uint8_t valid;

		err = read_i64(m, type + o->type_basicsize, &basic);
		if (err)
			return err;
		if (basic <= 0 || basic > 1 << 20)
			return -PS_E_BAD_DATA;
		err = read_u8(m, obj + (uint64_t)basic + o->dictvalues_valid, &valid);
		if (err)
			return err;
		if (valid)
			return values_get(m, rt, type, obj + (uint64_t)basic, name, value);
	}
	if (has(o->tpflags_managed_dict) && (flags & o->tpflags_managed_dict)) {
		if (has(o->object_managed_values)) {
			/* 3.11: values until the __dict__ is asked for, then a dict */
			uint64_t values;

			err = rmem_read_u64(m, obj - o->object_managed_values, &values);
			if (err)
				return err;
			if (values)
				return values_get(m, rt, type, values, name, value);
		}
		err = rmem_read_u64(m, obj - o->object_managed_dict, &dict);
		if (err)
			return err;
		if (rt->vkey == PY_VER(3, 12) && (dict & 1))
			/* 3.12: a tagged word, the values' address minus one */
			return values_get(m, rt, type, dict + 1, name, value);
	} else {
		err = dict_at_offset(m, rt, obj, type, &dict);
		if (err)
			return err;
	}
	if (!dict)
		return -ENOENT;
	return pyobj_dict_get_str(m, rt, dict, name, value);
}

/*
 * Ints.
 */

/* Bits per digit: from PyLong_Type's item size, else the table's. */
static unsigned digit_bits(struct rmem *m, const struct pyruntime *rt)
{
	int64_t itemsize;

	if (rt->type_long && !read_i64(m, rt->type_long + rt->off.type_itemsize, &itemsize)) {
		if (itemsize == 4)
			return 30;
		if (itemsize == 2)
			return 15;
	}
	return rt->off.long_digit_bits == 15 ? 15 : 30;
}

/* Sign and digit count of an int (3.x, or 2.7's long). */
static int long_header(struct rmem *m, const struct pyruntime *rt, uint64_t obj, bool *neg,
		       uint64_t *n)
{
	const struct py_offsets *o = &rt->off;
	int err;

	if (has(o->long_tag)) {
		/*
		 * 3.12+: the low two bits are 0 positive, 1 zero, 2 negative;
		 * the bits from long_tag_shift up the count.  The bit between
		 * is 0 up to 3.13, and from 3.14 marks the small ints
		 * (IMMORTALITY_BIT_MASK in Include/internal/pycore_long.h).
		 */
		uint64_t tag;

		err = rmem_read_u64(m, obj + o->long_tag, &tag);
		if (err)
			return err;
		if ((tag & 3) == 3 || o->long_tag_shift >= 64 || (rt->vkey < PY_VER(3, 14) && (tag & 4)))
			return -PS_E_BAD_DATA;
		*neg = (tag & 3) == 2;
		*n = (tag & 3) == 1 ? 0 : tag >> o->long_tag_shift;
	} else {
		int64_t size;

		err = read_i64(m, obj + o->varobject_size, &size);
		if (err)
			return err;
		*neg = size < 0;
		*n = size < 0 ? -(uint64_t)size : (uint64_t)size;
	}
	return *n > MAX_INT_DIGITS ? -PS_E_BAD_DATA : 0;
}

/* Digits [from, from + n) of an int, each below 2^bits. */
static int long_digits(struct rmem *m, const struct pyruntime *rt, uint64_t obj, unsigned bits,
		       uint64_t from, size_t n, uint32_t *d)
{
	size_t dsize = bits > 16 ? 4 : 2;
	unsigned char raw[MAX_SMALL_DIGITS * 4];
	int err;

	if (n > MAX_SMALL_DIGITS)
		return -PS_E_BAD_DATA;
	err = rmem_read(m, obj + rt->off.long_digits + from * dsize, raw, n * dsize);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (dsize == 4) {
			memcpy(&d[i], raw + 4 * i, 4);
		} else {
			uint16_t v;

			memcpy(&v, raw + 2 * i, 2);
			d[i] = v;
		}
		if (d[i] >> bits)
			return -PS_E_BAD_DATA;
	}
	return 0;
}

static unsigned bit_length(uint32_t v)
{
	return v ? 32 - (unsigned)__builtin_clz(v) : 0;
}

/*
 * The magnitude d[0..n) (base 2^bits, least significant first, n <=
 * MAX_SMALL_DIGITS) in decimal into out (of 400 bytes); d is consumed.
 */
static size_t to_decimal(uint32_t *d, size_t n, unsigned bits, char *out)
{
	uint32_t chunks[LIMIT_BITS / 29 + 2];
	size_t nc = 0, len;

	while (n > 0 && !d[n - 1])
		n--;
	if (!n)
		return (size_t)sprintf(out, "0");
	while (n > 0) {
		uint64_t rem = 0;

		for (size_t i = n; i-- > 0;) {
			uint64_t cur = rem << bits | d[i];

			d[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		chunks[nc++] = (uint32_t)rem;
		while (n > 0 && !d[n - 1])
			n--;
	}
	len = (size_t)sprintf(out, "%" PRIu32, chunks[--nc]);
	while (nc > 0)
		len += (size_t)sprintf(out + len, "%09" PRIu32, chunks[--nc]);
	return len;
}

/* A set's (or frozenset's) counts and table, checked for a table walk. */
static int set_header(struct rmem *m, const struct pyruntime *rt, uint64_t set, int64_t *fill,
		      int64_t *used, int64_t *mask, uint64_t *table)
{
	const struct py_offsets *o = &rt->off;
	uint64_t esize = o->set_entry_size;
	int err = read_i64(m, set + o->set_fill, fill);

	if (!err)
		err = read_i64(m, set + o->set_used, used);
	if (!err)
		err = read_i64(m, set + o->set_mask, mask);
	if (!err)
		err = rmem_read_u64(m, set + o->set_table, table);
	if (err)
		return err;
	if (*mask < 0 || *mask >= (int64_t)1 << MAX_LOG2_TABLE || (*mask & (*mask + 1)) ||
	    *used < 0 || *fill < *used || *fill > *mask + 1 || !*table || esize > MAX_ENTRY ||
	    o->set_entry_key + 8 > esize || o->set_entry_hash + 8 > esize)
		return -PS_E_BAD_DATA;
	return 0;
}

int pyobj_set_items(struct rmem *m, const struct pyruntime *rt, uint64_t set, size_t max,
		    int (*fn)(uint64_t key, void *arg), void *arg)
{
	const struct py_offsets *o = &rt->off;
	unsigned char *buf;
	uint64_t type, table, esize = o->set_entry_size, seen = 0;
	int64_t fill, used, mask;
	int err = type_of(m, rt, set, &type);

	if (err)
		return err;
	if ((type != rt->type_set && type != rt->type_frozenset) || rt->ver.major < 3)
		return -PS_E_BAD_DATA;
	err = set_header(m, rt, set, &fill, &used, &mask, &table);
	if (err)
		return err;
	/* A table of thousands of entries is read in large pieces, each one read. */
	buf = xmalloc(SET_CHUNK * MAX_ENTRY);
	for (uint64_t i = 0; i <= (uint64_t)mask && seen < (uint64_t)used && seen < max;) {
		size_t c = (uint64_t)mask + 1 - i < SET_CHUNK ? (size_t)((uint64_t)mask + 1 - i) :
								  SET_CHUNK;

		err = rmem_read(m, table + i * esize, buf, c * esize);
		if (err)
			break;
		for (size_t j = 0; j < c && seen < max; j++) {
			uint64_t key = get64(buf + j * esize + o->set_entry_key);
			int64_t hash = (int64_t)get64(buf + j * esize + o->set_entry_hash);

			/* An empty slot holds no key; a deleted one, the dummy with hash -1. */
			if (!key || hash == -1)
				continue;
			seen++;
			if (fn(key, arg)) {
				free(buf);
				return 0;
			}
		}
		i += c;
	}
	free(buf);
	return err;
}

int pyobj_seq_items(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *items,
		    size_t max, size_t *n)
{
	const struct py_offsets *o = &rt->off;
	uint64_t type, base;
	int64_t len, allocated;
	int err = type_of(m, rt, obj, &type);

	*n = 0;
	if (err)
		return err;
	if (type != rt->type_list && type != rt->type_tuple)
		return -PS_E_BAD_DATA;
	err = read_i64(m, obj + o->varobject_size, &len);
	if (err)
		return err;
	if (len < 0 || len > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	allocated = len;
	if (type == rt->type_tuple) {
		base = obj + o->tuple_item;
	} else {
		err = rmem_read_u64(m, obj + o->list_item, &base);
		if (!err && has(o->list_allocated))
			err = read_i64(m, obj + o->list_allocated, &allocated);
		if (err)
			return err;
		if (allocated < len || (len && !base))
			return -PS_E_BAD_DATA;
	}
	if ((uint64_t)len > max)
		len = (int64_t)max;
	if (len && (err = rmem_read(m, base, items, (size_t)len * sizeof(*items))))
		return err;
	*n = (size_t)len;
	return 0;
}

int pyobj_u64(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *out)
{
	uint32_t d[MAX_SMALL_DIGITS];
	uint64_t type, n, v = 0;
	unsigned bits;
	bool neg;
	int err;

	err = type_of(m, rt, obj, &type);
	if (err)
		return err;
	if ((rt->type_int && type == rt->type_int) ||
	    (rt->ver.major == 2 && rt->type_bool && type == rt->type_bool)) {
		/* 2.7's int, and its bool, which is one */
		int64_t ival;

		err = read_i64(m, obj + rt->off.int27_value, &ival);
		if (err)
			return err;
		if (ival < 0)
			return -ERANGE;
		*out = (uint64_t)ival;
		return 0;
	}
	if (!rt->type_long || (type != rt->type_long && type != rt->type_bool))
		return -PS_E_BAD_DATA;
	err = long_header(m, rt, obj, &neg, &n);
	if (err)
		return err;
	bits = digit_bits(m, rt);
	if (n > 64 / bits + 1)
		return -ERANGE;
	err = long_digits(m, rt, obj, bits, 0, (size_t)n, d);
	if (err)
		return err;
	for (size_t i = (size_t)n; i-- > 0;) {
		if (v >> (64 - bits))
			return -ERANGE;
		v = v << bits | d[i];
	}
	if (neg && v)
		return -ERANGE;
	*out = v;
	return 0;
}

int pyobj_cell_get(struct rmem *m, const struct pyruntime *rt, uint64_t obj, uint64_t *value)
{
	uint64_t type;
	int err = type_of(m, rt, obj, &type);

	if (err)
		return err;
	if (!rt->type_cell || type != rt->type_cell)
		return -PS_E_BAD_DATA;
	err = rmem_read_u64(m, obj + rt->off.cell_ref, value);
	if (err)
		return err;
	return *value ? 0 : -ENOENT;
}

/*
 * Floats: Python's repr is the shortest string that reads back as the same
 * double (David Gay's shortest mode), laid out by its own rules.
 */

/* Whether the decimal digits d (n of them, d[0] first) times 10^exp read back as x. */
static bool reads_back(const char *d, size_t n, int exp, double x)
{
	char s[48];
	size_t len = 0;

	s[len++] = d[0];
	s[len++] = '.';
	memcpy(s + len, d + 1, n - 1);
	len += n - 1;
	snprintf(s + len, sizeof(s) - len, "e%d", exp);
	return strtod(s, NULL) == x;
}

/* d (n digits) moved by one unit in its last place, up or down; exp follows. */
static void step(char *d, size_t n, int *exp, bool up)
{
	size_t i = n;

	if (up) {
		while (i-- > 0 && d[i] == '9')
			d[i] = '0';
		if (i == SIZE_MAX) {	/* 99..9 + 1 = 100..0, one place up */
			d[0] = '1';
			++*exp;
		} else {
			d[i]++;
		}
		return;
	}
	while (i-- > 0 && d[i] == '0')
		d[i] = '9';
	d[i]--;
	if (d[0] == '0') {		/* 100..0 - 1 = 99..9, one place down */
		memmove(d, d + 1, n - 1);
		d[n - 1] = '9';
		--*exp;
	}
}

/*
 * The shortest digits of x (finite, > 0) that read back as x: value =
 * 0.DIGITS * 10^decpt.  The correctly rounded n-digit value is the nearest,
 * but where the interval that reads back as x is lopsided (x a power of
 * two) only its neighbour on the other side of x may read back.
 */
static size_t shortest(double x, char *digits, int *decpt)
{
	char s[48];
	size_t n = 17;
	int exp = 0;

	for (int prec = 1; prec <= 17; prec++) {
		char d[24], *e;
		int ex;

		snprintf(s, sizeof(s), "%.*e", prec - 1, x);
		d[0] = s[0];
		if (prec > 1)
			memcpy(d + 1, s + 2, (size_t)prec - 1);
		e = strchr(s, 'e');
		ex = e ? atoi(e + 1) : 0;
		/* 17 digits always read back */
		if (prec == 17 || strtod(s, NULL) == x) {
			memcpy(digits, d, (size_t)prec);
			n = (size_t)prec;
			exp = ex;
			break;
		}
		for (int up = 0; up < 2; up++) {
			char c[24];
			int cex = ex;

			memcpy(c, d, (size_t)prec);
			step(c, (size_t)prec, &cex, up);
			if (reads_back(c, (size_t)prec, cex, x)) {
				memcpy(digits, c, (size_t)prec);
				n = (size_t)prec;
				exp = cex;
				prec = 18;
				break;
			}
		}
	}
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*decpt = exp + 1;
	return n;
}

size_t pyobj_format_float(double x, char *buf, size_t size)
{
	char digits[24], out[48];
	size_t n, len = 0;
	int decpt;

	if (isnan(x))
		return (size_t)snprintf(buf, size, "nan");
	if (isinf(x))
		return (size_t)snprintf(buf, size, "%s", x < 0 ? "-inf" : "inf");
	if (signbit(x))
		out[len++] = '-';
	if (x == 0) {
		memcpy(out + len, "0.0", 4);
		return (size_t)snprintf(buf, size, "%s", out);
	}
	n = shortest(fabs(x), digits, &decpt);
	if (decpt <= -4 || decpt > 16) {
		out[len++] = digits[0];
		if (n > 1) {
			out[len++] = '.';
			memcpy(out + len, digits + 1, n - 1);
			len += n - 1;
		}
		len += (size_t)sprintf(out + len, "e%c%02d", decpt - 1 < 0 ? '-' : '+',
				       abs(decpt - 1));
	} else if (decpt <= 0) {
		memcpy(out + len, "0.", 2);
		len += 2;
		memset(out + len, '0', (size_t)-decpt);
		len += (size_t)-decpt;
		memcpy(out + len, digits, n);
		len += n;
	} else if ((size_t)decpt >= n) {
		memcpy(out + len, digits, n);
		len += n;
		memset(out + len, '0', (size_t)decpt - n);
		len += (size_t)decpt - n;
		memcpy(out + len, ".0", 2);
		len += 2;
	} else {
		memcpy(out + len, digits, (size_t)decpt);
		len += (size_t)decpt;
		out[len++] = '.';
		memcpy(out + len, digits + decpt, n - (size_t)decpt);
		len += n - (size_t)decpt;
	}
	out[len] = '\0';
	return (size_t)snprintf(buf, size, "%s", out);
}

/*
 * repr.
 */

struct repr {
	struct rmem *m;
	const struct pyruntime *rt;
	char *buf;
	size_t size, len;
	bool full;			/* buf is full: cut it, end in "..." */
	bool stopped;			/* the object budget ran out: end in "..." */
	unsigned objects;		/* objects still allowed */
	size_t visits;			/* table slots still allowed */
	unsigned bits;			/* of an int digit, 0 until needed */
	unsigned depth;
	uint64_t open[PYOBJ_REPR_DEPTH];	/* the containers being written */
};

/* Append s[0..n), or what fits of it, never splitting a UTF-8 sequence. */
static void put(struct repr *r, const char *s, size_t n)
{
	size_t room;

	if (r->full || r->stopped)
		return;
	room = r->size - 1 - r->len;
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		r->full = true;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void put_str(struct repr *r, const char *s)
{
	put(r, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct repr *r, const char *fmt, ...)
{
	char tmp[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(r, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static size_t finish(struct repr *r)
{
	if (r->full || r->stopped) {
		size_t dots = r->size >= 4 ? 3 : 0;
		size_t keep = r->len < r->size - 1 - dots ? r->len : r->size - 1 - dots;

		while (keep > 0 && keep < r->len && ((unsigned char)r->buf[keep] & 0xc0) == 0x80)
			keep--;
		memcpy(r->buf + keep, "...", dots);
		r->len = keep + dots;
	}
	r->buf[r->len] = '\0';
	return r->len;
}

static void repr_obj(struct repr *r, uint64_t obj);

static bool is_open(const struct repr *r, uint64_t obj)
{
	for (unsigned i = 0; i < r->depth; i++)
		if (r->open[i] == obj)
			return true;
	return false;
}

/* A container too deep to show: "[...5 items]". */
static void put_count(struct repr *r, const char *open, uint64_t n, const char *close)
{
	putf(r, "%s...%" PRIu64 " item%s%s", open, n, n == 1 ? "" : "s", close);
}

static void put_more(struct repr *r, uint64_t shown, uint64_t n)
{
	if (n > shown)
		putf(r, "%s... %" PRIu64 " more", shown ? ", " : "", n - shown);
}

/*
 * The Unicode database of the target's Python, as a level of
 * unicode_printable.h (an index into unicode_databases): each minor
 * version keeps the database of its release, and one newer than the table
 * knows reads as the newest it knows.
 */
static unsigned unicode_level(const struct pyruntime *rt)
{
	unsigned level = 0;

	for (size_t i = 0; i < sizeof(unicode_python3) / sizeof(unicode_python3[0]); i++)
		if (rt->ver.major == 3 && unicode_python3[i].minor <= rt->ver.minor)
			level = unicode_python3[i].level;
	return level;
}

/* Whether str.isprintable() accepts cp in the Unicode database of this level. */
static bool printable(uint32_t cp, unsigned level)
{
	size_t lo = 0, hi = sizeof(unicode_nonprintable) / sizeof(unicode_nonprintable[0]);

	if (cp < 0x80)
		return cp >= 0x20 && cp < 0x7f;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unicode_nonprintable[mid].lo)
			hi = mid;
		else if (cp > unicode_nonprintable[mid].hi)
			lo = mid + 1;
		else
			return false;
	}
	/* printable in the newest database: since which one? */
	lo = 0;
	hi = sizeof(unicode_printable_since) / sizeof(unicode_printable_since[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unicode_printable_since[mid].lo)
			hi = mid;
		else if (cp > unicode_printable_since[mid].hi)
			lo = mid + 1;
		else
			return unicode_printable_since[mid].since <= level;
	}
	return true;
}

static size_t put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The escapes every string repr shares: quote, backslash, \t \n \r, and ASCII controls. */
static size_t escape_ascii(char *p, uint32_t c, uint32_t quote)
{
	if (c == quote || c == '\\') {
		p[0] = '\\';
		p[1] = (char)c;
		return 2;
	}
	if (c == '\t' || c == '\n' || c == '\r') {
		p[0] = '\\';
		p[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		return 2;
	}
	if (c < 0x20 || c == 0x7f)
		return (size_t)sprintf(p, "\\x%02x", (unsigned)c);
	p[0] = (char)c;
	return 1;
}

/* One code point of a 3.x str, as unicode_repr writes it (at most 10 bytes). */
static size_t escape_cp(char *p, uint32_t cp, uint32_t quote, unsigned level)
{
	if (cp < 0x80)
		return escape_ascii(p, cp, quote);
	if (printable(cp, level))
		return put_utf8(p, cp);
	if (cp <= 0xff)
		return (size_t)sprintf(p, "\\x%02x", (unsigned)cp);
	if (cp <= 0xffff)
		return (size_t)sprintf(p, "\\u%04x", (unsigned)cp);
	return (size_t)sprintf(p, "\\U%08x", (unsigned)cp);
}

/* ' unless the text has ' and no " (Python's choice, from what was read). */
static uint32_t choose_quote(const uint32_t *cp, size_t n)
{
	bool sq = false, dq = false;

	for (size_t i = 0; i < n; i++) {
		sq |= cp[i] == '\'';
		dq |= cp[i] == '"';
	}
	return sq && !dq ? '"' : '\'';
}

/* Decode n units of kind bytes from raw into cp. */
static void units_to_cp(const unsigned char *raw, size_t n, unsigned kind, uint32_t *cp)
{
	for (size_t i = 0; i < n; i++) {
		if (kind == 1) {
			cp[i] = raw[i];
		} else if (kind == 2) {
			uint16_t u;

			memcpy(&u, raw + 2 * i, 2);
			cp[i] = u;
		} else {
			memcpy(&cp[i], raw + 4 * i, 4);
		}
	}
}

/* The quoted text: prefix, quote, escaped code points, quote, and "..." when cut. */
static void put_quoted(struct repr *r, const char *prefix, const uint32_t *cp, size_t n,
		       bool cut, int flavour)
{
	char out[PYOBJ_REPR_CHARS * 10 + 16];
	uint32_t quote = choose_quote(cp, n);
	size_t len = strlen(prefix);
	unsigned level = flavour == 3 ? unicode_level(r->rt) : 0;

	memcpy(out, prefix, len);
	out[len++] = (char)quote;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = cp[i];

		if (flavour == 3) {		/* 3.x str */
			len += escape_cp(out + len, c, quote, level);
		} else if (flavour == 1 || c < 0x80) {	/* bytes, or ASCII of 2.7 unicode */
			len += c >= 0x80 ? (size_t)sprintf(out + len, "\\x%02x", (unsigned)c) :
			       escape_ascii(out + len, c, quote);
		} else {			/* 2.7 unicode: everything else escaped */
			if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && cp[i + 1] >= 0xdc00 &&
			    cp[i + 1] < 0xe000 && flavour == 2) {
				/* a narrow build's surrogate pair */
				c = 0x10000 + ((c - 0xd800) << 10) + (cp[i + 1] - 0xdc00);
				i++;
			}
			if (c >= 0x10000)
				len += (size_t)sprintf(out + len, "\\U%08x", (unsigned)c);
			else if (c >= 0x100)
				len += (size_t)sprintf(out + len, "\\u%04x", (unsigned)c);
			else
				len += (size_t)sprintf(out + len, "\\x%02x", (unsigned)c);
		}
	}
	out[len++] = (char)quote;
	if (cut) {
		memcpy(out + len, "...", 3);
		len += 3;
	}
	put(r, out, len);
}

/* A 3.x str (PEP 393). */
static int repr_str(struct repr *r, uint64_t obj)
{
	unsigned char raw[PYOBJ_REPR_CHARS * 4];
	uint32_t cp[PYOBJ_REPR_CHARS];
	struct pystr_layout l;
	size_t n;
	int err = pystr_layout(r->m, r->rt, obj, &l);

	if (err)
		return err;
	n = l.length < PYOBJ_REPR_CHARS ? (size_t)l.length : PYOBJ_REPR_CHARS;
	err = rmem_read(r->m, l.data, raw, n * l.kind);
	if (err)
		return err;
	units_to_cp(raw, n, l.kind, cp);
	put_quoted(r, "", cp, n, l.length > n, 3);
	return 0;
}

/* bytes (3.x) and 2.7's str. */
static int repr_bytes(struct repr *r, uint64_t obj)
{
	const struct py_offsets *o = &r->rt->off;
	unsigned char raw[PYOBJ_REPR_CHARS];
	uint32_t cp[PYOBJ_REPR_CHARS];
	int64_t length;
	size_t n;
	int err;

	err = read_i64(r->m, obj + o->varobject_size, &length);
	if (err)
		return err;
	if (length < 0 || length > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	n = length < PYOBJ_REPR_CHARS ? (size_t)length : PYOBJ_REPR_CHARS;
	err = rmem_read(r->m, obj + o->bytes_sval, raw, n);
	if (err)
		return err;
	units_to_cp(raw, n, 1, cp);
	put_quoted(r, r->rt->ver.major == 2 ? "" : "b", cp, n, (uint64_t)length > n, 1);
	return 0;
}

/* 2.7's unicode: u'...', everything outside printable ASCII escaped. */
static int repr_unicode27(struct repr *r, uint64_t obj)
{
	const struct py_offsets *o = &r->rt->off;
	unsigned char raw[PYOBJ_REPR_CHARS * 4];
	uint32_t cp[PYOBJ_REPR_CHARS];
	unsigned kind = (unsigned)o->unicode27_unicode_size;
	int64_t length;
	uint64_t data;
	size_t n;
	int err;

	if (kind != 2 && kind != 4)
		return -PS_E_BAD_DATA;
	err = read_i64(r->m, obj + o->unicode_length, &length);
	if (!err)
		err = rmem_read_u64(r->m, obj + o->unicode27_str, &data);
	if (err)
		return err;
	if (length < 0 || length > MAX_CLAIMED_LEN || (length && !data))
		return -PS_E_BAD_DATA;
	n = length < PYOBJ_REPR_CHARS ? (size_t)length : PYOBJ_REPR_CHARS;
	err = rmem_read(r->m, data, raw, n * kind);
	if (err)
		return err;
	units_to_cp(raw, n, kind, cp);
	put_quoted(r, "u", cp, n, (uint64_t)length > n, kind == 2 ? 2 : 4);
	return 0;
}

static int repr_long(struct repr *r, uint64_t obj, bool py2long)
{
	uint32_t d[MAX_SMALL_DIGITS];
	char dec[400];
	uint64_t n, nbits;
	const char *kind = py2long ? "long" : "int";
	bool neg;
	size_t len;
	int err;

	if (!r->bits)
		r->bits = digit_bits(r->m, r->rt);
	err = long_header(r->m, r->rt, obj, &neg, &n);
	if (err)
		return err;
	if (n * r->bits > LIMIT_BITS) {
		err = long_digits(r->m, r->rt, obj, r->bits, n - 1, 1, d);
		if (err)
			return err;
		if (!d[0])
			return -PS_E_BAD_DATA;	/* not normalised */
		nbits = (n - 1) * r->bits + bit_length(d[0]);
	} else {
		err = long_digits(r->m, r->rt, obj, r->bits, 0, (size_t)n, d);
		if (err)
			return err;
		while (n > 0 && !d[n - 1])
			n--;
		nbits = n ? (n - 1) * r->bits + bit_length(d[n - 1]) : 0;
		len = to_decimal(d, (size_t)n, r->bits, dec);
		if (len <= PYOBJ_REPR_DIGITS) {
			if (neg && n)
				put_str(r, "-");
			put(r, dec, len);
			if (py2long)
				put_str(r, "L");
			return 0;
		}
	}
	putf(r, "<%s%s of %" PRIu64 " bits>", neg ? "negative " : "", kind, nbits);
	return 0;
}

static int repr_bool(struct repr *r, uint64_t obj)
{
	uint64_t n;
	bool neg;
	int err;

	if (r->rt->ver.major == 2) {
		int64_t v;

		err = read_i64(r->m, obj + r->rt->off.int27_value, &v);
		n = (uint64_t)v;
	} else {
		err = long_header(r->m, r->rt, obj, &neg, &n);
	}
	if (!err)
		put_str(r, n ? "True" : "False");
	return err;
}

static int repr_float(struct repr *r, uint64_t obj)
{
	char s[48];
	double x;
	int err = rmem_read(r->m, obj + r->rt->off.float_value, &x, sizeof(x));

	if (err)
		return err;
	pyobj_format_float(x, s, sizeof(s));
	put_str(r, s);
	return 0;
}

/* tuple and list. */
static int repr_seq(struct repr *r, uint64_t obj, bool tuple)
{
	const struct py_offsets *o = &r->rt->off;
	const char *open = tuple ? "(" : "[", *close = tuple ? ")" : "]";
	uint64_t items[PYOBJ_REPR_ITEMS], base;
	int64_t n;
	size_t shown;
	int err;

	err = read_i64(r->m, obj + o->varobject_size, &n);
	if (err)
		return err;
	if (n < 0 || n > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	if (tuple) {
		base = obj + o->tuple_item;
	} else {
		int64_t allocated = n;

		err = rmem_read_u64(r->m, obj + o->list_item, &base);
		if (!err && has(o->list_allocated))
			err = read_i64(r->m, obj + o->list_allocated, &allocated);
		if (err)
			return err;
		if (allocated < n || (n && !base))
			return -PS_E_BAD_DATA;
	}
	if (!n) {
		putf(r, "%s%s", open, close);
		return 0;
	}
	if (is_open(r, obj)) {
		putf(r, "%s...%s", open, close);
		return 0;
	}
	if (r->depth >= PYOBJ_REPR_DEPTH) {
		put_count(r, open, (uint64_t)n, close);
		return 0;
	}
	shown = n < PYOBJ_REPR_ITEMS ? (size_t)n : PYOBJ_REPR_ITEMS;
	err = rmem_read(r->m, base, items, shown * sizeof(items[0]));
	if (err)
		return err;
	r->open[r->depth++] = obj;
	put_str(r, open);
	for (size_t i = 0; i < shown; i++) {
		if (i)
			put_str(r, ", ");
		repr_obj(r, items[i]);
	}
	put_more(r, shown, (uint64_t)n);
	if (tuple && n == 1)
		put_str(r, ",");
	put_str(r, close);
	r->depth--;
	return 0;
}

struct dict_repr {
	struct repr *r;
	size_t shown;
};

static int dict_repr_item(uint64_t key, uint64_t value, void *arg)
{
	struct dict_repr *a = arg;

	if (a->shown++)
		put_str(a->r, ", ");
	repr_obj(a->r, key);
	put_str(a->r, ": ");
	repr_obj(a->r, value);
	return a->r->full || a->r->stopped;
}

static int repr_dict(struct repr *r, uint64_t obj)
{
	struct dict_repr a = { .r = r };
	struct walk w = { .m = r->m, .rt = r->rt, .max = PYOBJ_REPR_ITEMS, .fn = dict_repr_item,
			  .arg = &a };
	int64_t used;
	int err;

	err = read_i64(r->m, obj + r->rt->off.dict_used, &used);
	if (err)
		return err;
	if (used < 0 || used > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	if (!used) {
		put_str(r, "{}");
		return 0;
	}
	if (is_open(r, obj)) {
		put_str(r, "{...}");
		return 0;
	}
	if (r->depth >= PYOBJ_REPR_DEPTH) {
		put_count(r, "{", (uint64_t)used, "}");
		return 0;
	}
	w.visits = r->visits < PYOBJ_MAX_ITEMS ? r->visits : PYOBJ_MAX_ITEMS;
	r->visits -= w.visits;
	r->open[r->depth++] = obj;
	put_str(r, "{");
	err = walk_dict(&w, obj);
	r->depth--;
	r->visits += w.visits;
	if (err)
		return err;
	put_more(r, a.shown, (uint64_t)used);
	put_str(r, "}");
	return 0;
}

/* 3.15's frozendict: a dict underneath, shown as frozendict({...}), or frozendict(). */
static int repr_frozendict(struct repr *r, uint64_t obj)
{
	int64_t used;
	int err = read_i64(r->m, obj + r->rt->off.dict_used, &used);

	if (err)
		return err;
	if (used == 0) {
		put_str(r, "frozendict()");
		return 0;
	}
	put_str(r, "frozendict(");
	err = repr_dict(r, obj);
	if (!err)
		put_str(r, ")");
	return err;
}

/*
 * 2.7 marks a deleted set entry with a shared str "<dummy key>" and leaves
 * its hash; 3.x's dummy has the hash -1, which no real key has.
 */
static bool is_dummy27(struct repr *r, uint64_t key)
{
	static const char dummy[] = "<dummy key>";
	char buf[sizeof(dummy) - 1];
	uint64_t type;
	int64_t n;

	return !type_of(r->m, r->rt, key, &type) && type == r->rt->type_bytes &&
	       !read_i64(r->m, key + r->rt->off.varobject_size, &n) && n == sizeof(buf) &&
	       !rmem_read(r->m, key + r->rt->off.bytes_sval, buf, sizeof(buf)) &&
	       !memcmp(buf, dummy, sizeof(buf));
}

static int repr_set(struct repr *r, uint64_t obj, bool frozen)
{
	const struct py_offsets *o = &r->rt->off;
	bool py2 = r->rt->ver.major == 2;
	const char *name = frozen ? "frozenset" : "set";
	char open[16], close[4];
	unsigned char buf[CHUNK * MAX_ENTRY];
	int64_t fill, used, mask;
	uint64_t table, dummies, shown = 0, esize = o->set_entry_size;
	int err;

	err = set_header(r->m, r->rt, obj, &fill, &used, &mask, &table);
	if (err)
		return err;
	if (!used) {
		putf(r, "%s(%s)", name, py2 ? "[]" : "");
		return 0;
	}
	if (is_open(r, obj)) {
		putf(r, "%s(...)", name);
		return 0;
	}
	if (py2)
		snprintf(open, sizeof(open), "%s([", name);
	else
		snprintf(open, sizeof(open), "%s{", frozen ? "frozenset(" : "");
	snprintf(close, sizeof(close), "%s", py2 ? "])" : frozen ? "})" : "}");
	if (r->depth >= PYOBJ_REPR_DEPTH) {
		put_count(r, open, (uint64_t)used, close);
		return 0;
	}
	dummies = (uint64_t)(fill - used);
	r->open[r->depth++] = obj;
	put_str(r, open);
	for (uint64_t i = 0; i <= (uint64_t)mask && shown < PYOBJ_REPR_ITEMS && r->visits &&
	     !r->full && !r->stopped;) {
		size_t c = (uint64_t)mask + 1 - i < CHUNK ? (size_t)((uint64_t)mask + 1 - i) : CHUNK;

		if (c > r->visits)
			c = r->visits;
		err = rmem_read(r->m, table + i * esize, buf, c * esize);
		if (err)
			break;
		for (size_t j = 0; j < c && shown < PYOBJ_REPR_ITEMS; j++) {
			uint64_t key = get64(buf + j * esize + o->set_entry_key);
			int64_t hash = (int64_t)get64(buf + j * esize + o->set_entry_hash);

			if (!key || (!py2 && hash == -1))
				continue;
			if (py2 && dummies && is_dummy27(r, key)) {
				dummies--;
				continue;
			}
			if (shown++)
				put_str(r, ", ");
			repr_obj(r, key);
		}
		r->visits -= c;
		i += c;
	}
	r->depth--;
	if (err)
		return err;
	put_more(r, shown, (uint64_t)used);
	put_str(r, close);
	return 0;
}

/* As Python: "<cell at 0x..: int object at 0x..>" or "<cell at 0x..: empty>". */
static int repr_cell(struct repr *r, uint64_t obj)
{
	char name[81];
	uint64_t ref;
	int err = rmem_read_u64(r->m, obj + r->rt->off.cell_ref, &ref);

	if (err)
		return err;
	if (!ref) {
		putf(r, "<cell at 0x%" PRIx64 ": empty>", obj);
		return 0;
	}
	err = pyobj_type_name(r->m, r->rt, ref, name, sizeof(name));
	if (err)
		return err;
	putf(r, "<cell at 0x%" PRIx64 ": %s object at 0x%" PRIx64 ">", obj, name, ref);
	return 0;
}

/*
 * The name object_repr() shows: a class's module and qualified name
 * (2.7: its name) unless the module is the builtins, else tp_name.
 */
static int type_display_name(struct repr *r, uint64_t type, char *name, size_t size)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t tp_name, flags, dict, mod, qual;
	char modname[128], qualname[256];
	bool trunc;
	long n;
	int err;

	err = rmem_read_u64(r->m, type + o->type_name, &tp_name);
	if (err)
		return err;
	n = rmem_read_cstr(r->m, tp_name, name, size - 1, &trunc);
	if (n < 0)
		return (int)n;
	if (rmem_read_u64(r->m, type + o->type_flags, &flags) || !(flags & o->tpflags_heaptype) ||
	    rmem_read_u64(r->m, type + o->type_dict, &dict) || !dict ||
	    dict_lookup(r->m, r->rt, dict, "__module__", &mod, &r->visits) ||
	    pystr_read(r->m, r->rt, mod, modname, sizeof(modname)) < 0 ||
	    !strcmp(modname, r->rt->ver.major == 2 ? "__builtin__" : "builtins"))
		return 0;
	if (!has(o->heaptype_qualname))
		snprintf(qualname, sizeof(qualname), "%s", name);
	else if (rmem_read_u64(r->m, type + o->heaptype_qualname, &qual) ||
		 pystr_read(r->m, r->rt, qual, qualname, sizeof(qualname)) < 0)
		return 0;
	snprintf(name, size, "%s.%s", modname, qualname);
	return 0;
}

/* A class: "<class 'int'>", "<class '__main__.C'>" (2.7: "<type 'int'>" for the built-in ones). */
static int repr_type(struct repr *r, uint64_t obj)
{
	char name[400];
	uint64_t flags;
	int err = type_display_name(r, obj, name, sizeof(name));

	if (!err)
		err = rmem_read_u64(r->m, obj + r->rt->off.type_flags, &flags);
	if (err)
		return err;
	put_str(r, r->rt->ver.major == 2 && !(flags & r->rt->off.tpflags_heaptype) ?
		"<type '" : "<class '");
	put_str(r, name);
	put_str(r, "'>");
	return 0;
}

/* Whether type is a metaclass: type itself or a subclass (ABCMeta), whose instances are classes. */
static bool is_metaclass(struct repr *r, uint64_t type)
{
	uint64_t flags;

	return type == r->rt->type_type ||
	       (!rmem_read_u64(r->m, type + r->rt->off.type_flags, &flags) &&
		(flags & TPFLAGS_TYPE_SUBCLASS));
}

static int repr_default(struct repr *r, uint64_t obj, uint64_t type)
{
	char name[400];
	int err = type_display_name(r, type, name, sizeof(name));

	if (err)
		return err;
	put_str(r, "<");
	put_str(r, name);
	putf(r, " object at 0x%" PRIx64 ">", obj);
	return 0;
}

/*
 * The text of obj into buf, cut to fit, when obj is a str (2.7: a byte
 * string, what PyString_Check accepts there): 0, or -PS_E_BAD_DATA when it
 * is something else.
 */
static int read_text(struct repr *r, uint64_t obj, char *buf, size_t size)
{
	uint64_t type;
	long n;
	int err = type_of(r->m, r->rt, obj, &type);

	if (err)
		return err;
	if (type != (r->rt->ver.major == 2 ? r->rt->type_bytes : r->rt->type_unicode))
		return -PS_E_BAD_DATA;
	n = pystr_read(r->m, r->rt, obj, buf, size);
	return n < 0 ? (int)n : 0;
}

/* d[key] of a dict read from the target, in *value; -ENOENT when absent. */
static int dict_get(struct repr *r, uint64_t dict, const char *key, uint64_t *value)
{
	return dict ? dict_lookup(r->m, r->rt, dict, key, value, &r->visits) : -ENOENT;
}

/*
 * repr(obj) for one that a repr shows inside its own (a bound method's
 * self, a module's loader): one level deeper, so that a chain of them
 * stays bounded as nested containers do.
 */
static void repr_inner(struct repr *r, uint64_t outer, uint64_t obj)
{
	if (r->depth >= PYOBJ_REPR_DEPTH) {
		put_str(r, "...");
		return;
	}
	r->open[r->depth++] = outer;
	repr_obj(r, obj);
	r->depth--;
}

/* A function: "<function C.f at 0x7f...>" (its qualified name; 2.7: its name). */
static int repr_function(struct repr *r, uint64_t obj)
{
	const struct py_offsets *o = &r->rt->off;
	char name[256];
	uint64_t s;
	int err = rmem_read_u64(r->m, obj + (has(o->function_qualname) ? o->function_qualname :
					     o->function_name), &s);

	if (!err)
		err = read_text(r, s, name, sizeof(name));
	if (err)
		return err;
	put_str(r, "<function ");
	put_str(r, name);
	putf(r, " at 0x%" PRIx64 ">", obj);
	return 0;
}

/*
 * A function written in C: "<built-in function len>" when it belongs to no
 * object or to a module, else "<built-in method append of list object at
 * 0x7f...>", with the type's tp_name.
 */
static int repr_cfunction(struct repr *r, uint64_t obj)
{
	const struct py_offsets *o = &r->rt->off;
	char name[256], tname[256];
	uint64_t ml, s, self, type = 0;
	bool trunc;
	long n;
	int err;

	err = rmem_read_u64(r->m, obj + o->cfunction_ml, &ml);
	if (!err)
		err = rmem_read_u64(r->m, obj + o->cfunction_self, &self);
	if (!err && !ml)
		err = -PS_E_BAD_DATA;
	if (!err)
		err = rmem_read_u64(r->m, ml + o->methoddef_name, &s);
	if (err)
		return err;
	n = rmem_read_cstr(r->m, s, name, sizeof(name) - 1, &trunc);
	if (n < 0)
		return (int)n;
	if (self)
		err = type_of(r->m, r->rt, self, &type);
	if (err)
		return err;
	if (!self || type == r->rt->type_module) {
		put_str(r, "<built-in function ");
		put_str(r, name);
		put_str(r, ">");
		return 0;
	}
	err = pyobj_type_name(r->m, r->rt, self, tname, sizeof(tname));
	if (err)
		return err;
	put_str(r, "<built-in method ");
	put_str(r, name);
	put_str(r, " of ");
	put_str(r, tname);
	putf(r, " object at 0x%" PRIx64 ">", self);
	return 0;
}

/*
 * A class's __name__, 2.7: a classic class's cl_name, a type's name (a
 * built-in one's tp_name after its last dot).
 */
static int class_name27(struct repr *r, uint64_t cls, char *name, size_t size)
{
	const struct py_offsets *o = &r->rt->off;
	uint64_t type, s, flags;
	const char *dot;
	bool trunc;
	long n;
	int err = type_of(r->m, r->rt, cls, &type);

	if (err)
		return err;
	if (type == r->rt->type_class27) {
		err = rmem_read_u64(r->m, cls + o->class27_name, &s);
		return err ? err : read_text(r, s, name, size);
	}
	if (!is_metaclass(r, type))
		return -PS_E_BAD_DATA;
	err = rmem_read_u64(r->m, cls + o->type_name, &s);
	if (!err)
		err = rmem_read_u64(r->m, cls + o->type_flags, &flags);
	if (err)
		return err;
	n = rmem_read_cstr(r->m, s, name, size - 1, &trunc);
	if (n < 0)
		return (int)n;
	dot = strrchr(name, '.');
	if (dot && !(flags & o->tpflags_heaptype))
		memmove(name, dot + 1, strlen(dot + 1) + 1);
	return 0;
}

/*
 * A bound method, as Python writes it: "<bound method C.f of <__main__.C
 * object at 0x7f...>>", with the function's qualified name and the repr of
 * the object it is bound to.  2.7 names the class the method was found on
 * (im_class) and the function, and has unbound methods: "<unbound method
 * C.f>".  A method over something other than a Python function shows as
 * an object.
 */
static int repr_method(struct repr *r, uint64_t obj, uint64_t type)
{
	const struct py_offsets *o = &r->rt->off;
	bool py2 = r->rt->ver.major == 2;
	char fname[256], cname[256] = "?";
	uint64_t func, self, ftype, s, cls = 0;
	int err;

	err = rmem_read_u64(r->m, obj + o->method_func, &func);
	if (!err)
		err = rmem_read_u64(r->m, obj + o->method_self, &self);
	if (!err && py2)
		err = rmem_read_u64(r->m, obj + o->method_class, &cls);
	if (!err)
		err = type_of(r->m, r->rt, func, &ftype);
	if (err)
		return err;
	if (ftype != r->rt->type_function)
		return repr_default(r, obj, type);
	err = rmem_read_u64(r->m, func + (py2 ? o->function_name : o->function_qualname), &s);
	if (!err)
		err = read_text(r, s, fname, sizeof(fname));
	if (err)
		return err;
	if (cls && class_name27(r, cls, cname, sizeof(cname)))
		snprintf(cname, sizeof(cname), "?");	/* as 2.7 does for a class without a str __name__ */
	if (!self) {
		if (!py2)
			return -PS_E_BAD_DATA;
		putf(r, "<unbound method %s.", cname);
		put_str(r, fname);
		put_str(r, ">");
		return 0;
	}
	put_str(r, "<bound method ");
	if (py2) {
		put_str(r, cname);
		put_str(r, ".");
	}
	put_str(r, fname);
	put_str(r, " of ");
	repr_inner(r, obj, self);
	put_str(r, ">");
	return 0;
}

/* The attribute name of a module's spec (an instance of ModuleSpec), or -ENOENT. */
static int spec_get(struct repr *r, uint64_t spec, const char *name, uint64_t *value)
{
	return pyobj_getattr_str(r->m, r->rt, spec, name, value);
}

/* "<module " and repr(name), or the str '?' for a name that is absent (0). */
static void put_module_name(struct repr *r, uint64_t name)
{
	put_str(r, "<module ");
	if (name)
		repr_obj(r, name);
	else
		put_str(r, "'?'");
}

/*
 * A module, from its spec, as importlib's _module_repr_from_spec() writes
 * it (3.x): "<module 'os' from '/usr/lib/python3.12/os.py'>", "<module
 * 'sys' (built-in)>", "<module 'os' (frozen)>", "<module 'm'>" (no
 * origin, no loader), "<module 'm' (<its loader's repr>)>", and from 3.12
 * a namespace package's "<module 'p' (namespace) from ['/dir/p']>" (its
 * loader's path).
 */
static int repr_module_spec(struct repr *r, uint64_t obj, uint64_t spec)
{
	const struct pyruntime *rt = r->rt;
	uint64_t name = 0, origin, loader, locations, fileattr, path;
	char text[256];
	int err;

	err = spec_get(r, spec, "origin", &origin);
	if (!err)
		err = spec_get(r, spec, "name", &name);
	if (err)
		return err;
	if (origin != rt->obj_none) {
		err = spec_get(r, spec, "_set_fileattr", &fileattr);
		if (err)
			return err;
		if (fileattr == rt->obj_true) {
			put_module_name(r, name == rt->obj_none ? 0 : name);
			put_str(r, " from ");
			repr_obj(r, origin);
			put_str(r, ">");
			return 0;
		}
		/* the origin as str() writes it, the name as it is, None too */
		err = read_text(r, origin, text, sizeof(text));
		if (err)
			return err;
		put_str(r, "<module ");
		repr_obj(r, name);
		put_str(r, " (");
		put_str(r, text);
		put_str(r, ")>");
		return 0;
	}
	err = spec_get(r, spec, "loader", &loader);
	if (err)
		return err;
	if (name == rt->obj_none)
		name = 0;
	if (loader == rt->obj_none) {
		put_module_name(r, name);
		put_str(r, ">");
		return 0;
	}
	err = spec_get(r, spec, "submodule_search_locations", &locations);
	if (err)
		return err;
	if (locations != rt->obj_none && rt->vkey >= PY_VER(3, 12)) {
		/* list(loader._path): a _NamespacePath, whose own _path is the list */
		err = pyobj_getattr_str(r->m, rt, loader, "_path", &path);
		if (!err)
			err = pyobj_getattr_str(r->m, rt, path, "_path", &path);
		if (!err)
			err = type_of(r->m, rt, path, &loader);
		if (!err && loader != rt->type_list)
			err = -PS_E_BAD_DATA;
		if (err)
			return err;
		put_module_name(r, name);
		put_str(r, " (namespace) from ");
		repr_obj(r, path);
		put_str(r, ">");
		return 0;
	}
	put_module_name(r, name);
	put_str(r, " (");
	repr_inner(r, obj, loader);
	put_str(r, ")>");
	return 0;
}

/*
 * Up to 3.9 a loader's own module_repr() writes a module's repr, and from
 * 3.10 to 3.11 that of a module without a spec.  The import system's three
 * (for built-in, frozen and namespace modules) each write "<module
 * {__name__!r} (WHAT)>", WHAT written out in the function's constants
 * ('<module {!r} (built-in)>') or, where it formats the loader class's
 * _ORIGIN instead, there.  1 when written; 0 when the module's __loader__
 * has no module_repr of its own (looked for in its class, not the bases),
 * or one that is not read this way.
 */
static int repr_module_by_loader(struct repr *r, uint64_t dict)
{
	static const char head[] = "<module {!r} (", tail[] = ")>";
	const size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
	const struct pyruntime *rt = r->rt;
	const struct py_offsets *o = &rt->off;
	uint64_t loader, type, cls, cdict, fn, code, consts, origin, name, items[16];
	char what[64] = "", text[128];
	int64_t n;
	size_t len;

	if (dict_get(r, dict, "__loader__", &loader) || loader == rt->obj_none ||
	    type_of(r->m, rt, loader, &type))
		return 0;
	cls = is_metaclass(r, type) ? loader : type;
	if (rmem_read_u64(r->m, cls + o->type_dict, &cdict) ||
	    dict_get(r, cdict, "module_repr", &fn) || type_of(r->m, rt, fn, &type))
		return 0;
	if (type == rt->type_staticmethod || type == rt->type_classmethod) {
		if (rmem_read_u64(r->m, fn + o->descr_callable, &fn) || type_of(r->m, rt, fn, &type))
			return 0;
	}
	if (type != rt->type_function || rmem_read_u64(r->m, fn + o->function_code, &code) ||
	    rmem_read_u64(r->m, code + o->code_consts, &consts) ||
	    type_of(r->m, rt, consts, &type) || type != rt->type_tuple ||
	    read_i64(r->m, consts + o->varobject_size, &n) || n < 0)
		return 0;
	if (n > (int64_t)(sizeof(items) / sizeof(items[0])))
		n = sizeof(items) / sizeof(items[0]);
	if (rmem_read(r->m, consts + o->tuple_item, items, (size_t)n * sizeof(items[0])))
		return 0;
	for (int64_t i = 0; i < n && !what[0]; i++) {
		if (read_text(r, items[i], text, sizeof(text)))
			continue;
		len = strlen(text);
		if (len > hl + tl && !strncmp(text, head, hl) && !strcmp(text + len - tl, tail) &&
		    !strpbrk(text + hl, "{}"))
			snprintf(what, sizeof(what), "%.*s", (int)(len - hl - tl), text + hl);
	}
	if (!what[0] && (cls != loader || dict_get(r, cdict, "_ORIGIN", &origin) ||
			 read_text(r, origin, what, sizeof(what)) || !what[0]))
		return 0;
	if (dict_get(r, dict, "__name__", &name))
		return 0;
	put_str(r, "<module ");
	repr_obj(r, name);
	put_str(r, " (");
	put_str(r, what);
	put_str(r, ")>");
	return 1;
}

/*
 * A module.  3.x: as its loader writes it (above), from its __spec__
 * (above), else (a module made by hand, the __main__ of a script) "<module
 * 'm' from '/path/m.py'>" with its __file__, "<module 'm'>", or "<module
 * 'm' (<its loader's repr>)>".
 * 2.7 writes name and file as they are: "<module 'os' from
 * '/usr/lib/python2.7/os.pyc'>", and "(built-in)" for any without a file.
 */
static int repr_module(struct repr *r, uint64_t obj)
{
	const struct pyruntime *rt = r->rt;
	uint64_t dict, spec, name = 0, file, loader;
	char text[256], path[1024];
	int err = rmem_read_u64(r->m, obj + rt->off.module_dict, &dict);

	if (err)
		return err;
	if (rt->ver.major == 2) {
		snprintf(text, sizeof(text), "?");
		if (dict_get(r, dict, "__name__", &name) || read_text(r, name, text, sizeof(text)))
			snprintf(text, sizeof(text), "?");
		put_str(r, "<module '");
		put_str(r, text);
		if (dict_get(r, dict, "__file__", &file) || read_text(r, file, path, sizeof(path))) {
			put_str(r, "' (built-in)>");
			return 0;
		}
		put_str(r, "' from '");
		put_str(r, path);
		put_str(r, "'>");
		return 0;
	}
	if (rt->vkey <= PY_VER(3, 9) && repr_module_by_loader(r, dict))
		return 0;
	err = dict_get(r, dict, "__spec__", &spec);
	if (err && err != -ENOENT)
		return err;
	if (!err && spec != rt->obj_none)
		return repr_module_spec(r, obj, spec);
	if (rt->vkey >= PY_VER(3, 10) && rt->vkey <= PY_VER(3, 11) && repr_module_by_loader(r, dict))
		return 0;
	err = dict_get(r, dict, "__name__", &name);
	if (err == -ENOENT)
		name = 0;
	else if (err)
		return err;
	err = dict_get(r, dict, "__file__", &file);
	if (!err) {
		put_module_name(r, name);
		put_str(r, " from ");
		repr_obj(r, file);
		put_str(r, ">");
		return 0;
	}
	if (err != -ENOENT)
		return err;
	err = dict_get(r, dict, "__loader__", &loader);
	if (err && err != -ENOENT)
		return err;
	put_module_name(r, name);
	if (!err && loader != rt->obj_none) {
		put_str(r, " (");
		repr_inner(r, obj, loader);
		put_str(r, ")");
	}
	put_str(r, ">");
	return 0;
}

/*
 * 2.7's classic class and its instance: "<class __main__.Old at 0x7f...>",
 * "<__main__.Old instance at 0x7f...>", with "?" for a module or a name
 * that is not a str.
 */
static int repr_class27(struct repr *r, uint64_t cls, uint64_t inst)
{
	const struct py_offsets *o = &r->rt->off;
	char mod[256] = "?", name[256] = "?";
	uint64_t dict, s;
	int err = rmem_read_u64(r->m, cls + o->class27_dict, &dict);

	if (!err)
		err = rmem_read_u64(r->m, cls + o->class27_name, &s);
	if (err)
		return err;
	if (read_text(r, s, name, sizeof(name)))
		snprintf(name, sizeof(name), "?");
	if (dict_get(r, dict, "__module__", &s) || read_text(r, s, mod, sizeof(mod)))
		snprintf(mod, sizeof(mod), "?");
	put_str(r, inst ? "<" : "<class ");
	put_str(r, mod);
	put_str(r, ".");
	put_str(r, name);
	putf(r, "%s at 0x%" PRIx64 ">", inst ? " instance" : "", inst ? inst : cls);
	return 0;
}

static int repr_dispatch(struct repr *r, uint64_t obj)
{
	const struct pyruntime *rt = r->rt;
	const struct {
		uint64_t addr;
		const char *repr;
	} singletons[] = {
		{ rt->obj_none, "None" }, { rt->obj_true, "True" }, { rt->obj_false, "False" },
		{ rt->obj_ellipsis, "Ellipsis" }, { rt->obj_notimplemented, "NotImplemented" },
	};
	uint64_t type;
	int err;

	for (size_t i = 0; i < sizeof(singletons) / sizeof(singletons[0]); i++) {
		if (obj == singletons[i].addr) {
			put_str(r, singletons[i].repr);
			return 0;
		}
	}
	err = type_of(r->m, rt, obj, &type);
	if (err)
		return err;
	if (type == rt->type_long)
		return repr_long(r, obj, rt->ver.major == 2);
	if (type == rt->type_bool)
		return repr_bool(r, obj);
	if (type == rt->type_int) {
		int64_t v;

		err = read_i64(r->m, obj + rt->off.int27_value, &v);
		if (!err)
			putf(r, "%" PRId64, v);
		return err;
	}
	if (type == rt->type_float)
		return repr_float(r, obj);
	if (type == rt->type_unicode)
		return rt->ver.major == 2 ? repr_unicode27(r, obj) : repr_str(r, obj);
	if (type == rt->type_bytes)
		return repr_bytes(r, obj);
	if (type == rt->type_tuple || type == rt->type_list)
		return repr_seq(r, obj, type == rt->type_tuple);
	if (type == rt->type_dict)
		return repr_dict(r, obj);
	if (rt->type_frozendict && type == rt->type_frozendict)
		return repr_frozendict(r, obj);
	if (type == rt->type_set || type == rt->type_frozenset)
		return repr_set(r, obj, type == rt->type_frozenset);
	if (type == rt->type_cell)
		return repr_cell(r, obj);
	if (type == rt->type_function)
		return repr_function(r, obj);
	if (type == rt->type_cfunction || type == rt->type_cmethod)
		return repr_cfunction(r, obj);
	if (type == rt->type_method)
		return repr_method(r, obj, type);
	if (type == rt->type_module)
		return repr_module(r, obj);
	if (type == rt->type_class27)
		return repr_class27(r, obj, 0);
	if (type == rt->type_instance27) {
		uint64_t cls;

		err = rmem_read_u64(r->m, obj + rt->off.instance27_class, &cls);
		if (!err)
			err = type_of(r->m, rt, cls, &type);
		if (!err && type != rt->type_class27)
			err = -PS_E_BAD_DATA;
		return err ? err : repr_class27(r, cls, obj);
	}
	if (is_metaclass(r, type))
		return repr_type(r, obj);
	return repr_default(r, obj, type);
}

static void repr_obj(struct repr *r, uint64_t obj)
{
	size_t start = r->len;
	int err;

	if (r->full || r->stopped)
		return;
	if (!r->objects) {
		r->stopped = true;
		return;
	}
	r->objects--;
	if (!obj) {
		put_str(r, "<NULL>");
		return;
	}
	err = repr_dispatch(r, obj);
	if (err && !r->full && !r->stopped) {
		r->len = start;
		putf(r, "<unreadable object at 0x%" PRIx64 ">", obj);
	}
}

size_t pyobj_repr(struct rmem *m, const struct pyruntime *rt, uint64_t obj, char *buf, size_t size)
{
	struct repr r = { .m = m, .rt = rt, .buf = buf, .size = size, .objects = REPR_OBJECTS,
			  .visits = REPR_VISITS };

	if (!size)
		return 0;
	repr_obj(&r, obj);
	return finish(&r);
}

/*
 * Python text objects read from the target and decoded to UTF-8
 * (see pystr.h for the conventions).
 */
#include <string.h>

#include "errors.h"
#include "pyruntime.h"
#include "pystr.h"
#include "rmem.h"

#define ELLIPSIS	"\xe2\x80\xa6"
#define ELLIPSIS_LEN	3
/* Lengths beyond this are corrupt, whatever the object claims. */
#define MAX_CLAIMED_LEN	((int64_t)1 << 48)

bool pystr_put_utf8(char *buf, size_t size, size_t *len, uint32_t cp)
{
	unsigned char t[4];
	size_t n;

	if (cp > 0x10ffff)
		cp = 0xfffd;
	if (cp == 0) {
		t[0] = 0xc0;	/* NUL as modified UTF-8 does: the string stays a C string */
		t[1] = 0x80;
		n = 2;
	} else if (cp < 0x80) {
		t[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (unsigned char)(0xc0 | cp >> 6);
		t[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (unsigned char)(0xe0 | cp >> 12);
		t[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (unsigned char)(0xf0 | cp >> 18);
		t[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + n > size - 1)
		return false;
	memcpy(buf + *len, t, n);
	*len += n;
	return true;
}

/* End buf with the ellipsis, which the callers always leave room for. */
static size_t cut(char *buf, size_t len)
{
	memcpy(buf + len, ELLIPSIS, ELLIPSIS_LEN);
	len += ELLIPSIS_LEN;
	buf[len] = '\0';
	return len;
}

size_t pystr_decode_units(const void *data, size_t n, unsigned kind, char *buf, size_t size)
{
	const unsigned char *p = data;
	size_t len = 0, room = size - ELLIPSIS_LEN;

	for (size_t i = 0; i < n; i++) {
		uint32_t cp;

		if (kind == 1) {
			cp = p[i];
		} else if (kind == 2) {
			uint16_t u;

			memcpy(&u, p + 2 * i, 2);
			cp = u;
		} else {
			memcpy(&cp, p + 4 * i, 4);
		}
		if (!pystr_put_utf8(buf, room, &len, cp))
			return cut(buf, len);
	}
	buf[len] = '\0';
	return len;
}

/*
 * Decode n units; when the string had more than n (partial), make sure it
 * ends in the ellipsis (decode_units always leaves room for one).
 */
static long decode_all(const void *units, size_t n, unsigned kind, bool partial,
		       char *buf, size_t size)
{
	size_t len = pystr_decode_units(units, n, kind, buf, size);

	if (partial && (len < ELLIPSIS_LEN || memcmp(buf + len - ELLIPSIS_LEN, ELLIPSIS, ELLIPSIS_LEN)))
		len = cut(buf, len);
	return (long)len;
}

/* The units to read so that size bytes of output are surely filled. */
static size_t units_for(int64_t length, size_t size)
{
	return (uint64_t)length < size ? (size_t)length : size;
}

static long read_bytes27(struct rmem *m, const struct pyruntime *rt, uint64_t addr,
			 char *buf, size_t size)
{
	unsigned char raw[PYSTR_MAX];
	int64_t length;
	size_t n, i, len = 0, room;
	int err = rmem_read(m, addr + rt->off.varobject_size, &length, sizeof(length));

	if (err)
		return err;
	if (length < 0 || length > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	if (size > PYSTR_MAX)
		size = PYSTR_MAX;
	room = size - 1 - ELLIPSIS_LEN;
	n = (uint64_t)length < room ? (size_t)length : room;
	err = rmem_read(m, addr + rt->off.bytes_sval, raw, n);
	if (err)
		return err;
	/* The raw bytes, but a NUL in its two-byte form (see pystr_put_utf8). */
	for (i = 0; i < n && len + 1 + !raw[i] <= room; i++) {
		if (raw[i]) {
			buf[len++] = (char)raw[i];
		} else {
			buf[len++] = (char)0xc0;
			buf[len++] = (char)0x80;
		}
	}
	if (i < n || (uint64_t)length > n)
		return (long)cut(buf, len);
	buf[len] = '\0';
	return (long)len;
}

int pystr_layout(struct rmem *m, const struct pyruntime *rt, uint64_t addr, struct pystr_layout *out)
{
	const struct py_offsets *o = &rt->off;
	uint32_t state;
	int64_t length;
	int err;

	/* Only the fields every string has: a small string ends soon after them. */
	err = rmem_read(m, addr + o->unicode_length, &length, sizeof(length));
	if (!err)
		err = rmem_read(m, addr + o->unicode_state, &state, sizeof(state));
	if (err)
		return err;
	if (length < 0 || length > MAX_CLAIMED_LEN || o->unicode_kind_shift >= 32)
		return -PS_E_BAD_DATA;
	out->length = (uint64_t)length;
	out->kind = (state >> o->unicode_kind_shift) & (unsigned)o->unicode_kind_mask;
	if (out->kind != 1 && out->kind != 2 && out->kind != 4)
		return -PS_E_BAD_DATA;
	/* A legacy string never made ready (<=3.11) has only wchar_t data. */
	if (o->unicode_ready_bit != PYO_NONE && !(state >> o->unicode_ready_bit & 1))
		return -PS_E_BAD_DATA;
	if (state >> o->unicode_compact_bit & 1) {
		bool ascii = state >> o->unicode_ascii_bit & 1;

		if (ascii && out->kind != 1)
			return -PS_E_BAD_DATA;
		out->data = addr + (ascii ? o->unicode_ascii_size : o->unicode_compact_size);
		return 0;
	}
	err = rmem_read_u64(m, addr + o->unicode_data, &out->data);
	return err ? err : out->data ? 0 : -PS_E_BAD_DATA;
}

static long read_unicode(struct rmem *m, const struct pyruntime *rt, uint64_t addr,
			 char *buf, size_t size)
{
	unsigned char units[PYSTR_MAX * 4];
	struct pystr_layout l;
	size_t n;
	int err = pystr_layout(m, rt, addr, &l);

	if (err)
		return err;
	if (size > PYSTR_MAX)
		size = PYSTR_MAX;
	n = units_for((int64_t)l.length, size);
	err = rmem_read(m, l.data, units, n * l.kind);
	if (err)
		return err;
	return decode_all(units, n, l.kind, l.length > n, buf, size);
}

static long read_unicode27(struct rmem *m, const struct pyruntime *rt, uint64_t addr,
			   char *buf, size_t size)
{
	unsigned char units[PYSTR_MAX * 4];
	unsigned kind = (unsigned)rt->off.unicode27_unicode_size;
	int64_t length;
	uint64_t data;
	size_t n;
	int err;

	if (kind != 2 && kind != 4)
		return -PS_E_BAD_DATA;
	err = rmem_read(m, addr + rt->off.unicode_length, &length, sizeof(length));
	if (!err)
		err = rmem_read_u64(m, addr + rt->off.unicode27_str, &data);
	if (err)
		return err;
	if (length < 0 || length > MAX_CLAIMED_LEN)
		return -PS_E_BAD_DATA;
	if (size > PYSTR_MAX)
		size = PYSTR_MAX;
	n = units_for(length, size);
	err = rmem_read(m, data, units, n * kind);
	if (err)
		return err;
	return decode_all(units, n, kind, (uint64_t)length > n, buf, size);
}

long pystr_read(struct rmem *m, const struct pyruntime *rt, uint64_t addr, char *buf, size_t size)
{
	uint64_t type;
	int err;

	if (size < 8)
		return -PS_E_BAD_DATA;
	buf[0] = '\0';
	err = rmem_read_u64(m, addr + rt->off.object_type, &type);
	if (err)
		return err;
	if (rt->ver.major == 2) {
		if (type == rt->type_bytes)
			return read_bytes27(m, rt, addr, buf, size);
		if (type == rt->type_unicode)
			return read_unicode27(m, rt, addr, buf, size);
		return -PS_E_BAD_DATA;
	}
	if (rt->type_unicode && type != rt->type_unicode)
		return -PS_E_BAD_DATA;
	return read_unicode(m, rt, addr, buf, size);
}

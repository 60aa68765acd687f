/*
 * An in-memory fake address space behind the rmem interface, for unit tests
 * and fuzzing: regions of bytes at chosen addresses, nothing else readable.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "msg.h"
#include "rmem.h"

struct fake_region {
	uint64_t addr;
	size_t len;
	unsigned char *data;
};

struct rmem_fake {
	struct rmem base;		/* must be first */
	struct fake_region *reg;
	size_t nreg, cap;
};

/* Copy [addr, addr + len) out of the regions; false if any byte is missing. */
static bool fake_copy(const struct rmem_fake *f, uint64_t addr, unsigned char *out, size_t len)
{
	while (len) {
		const struct fake_region *hit = NULL;

		/* Later regions win, so a test can overwrite part of an earlier one. */
		for (size_t i = f->nreg; i-- > 0;) {
			const struct fake_region *g = &f->reg[i];

			if (addr >= g->addr && addr - g->addr < g->len) {
				hit = g;
				break;
			}
		}
		if (!hit)
			return false;
		size_t off = addr - hit->addr;
		size_t n = hit->len - off < len ? hit->len - off : len;

		memcpy(out, hit->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return true;
}

static int fake_readv(struct rmem *m, struct rmem_range *r, size_t n)
{
	const struct rmem_fake *f = (const struct rmem_fake *)m;

	for (size_t i = 0; i < n; i++)
		r[i].err = fake_copy(f, r[i].addr, r[i].buf, r[i].len) ? 0 : -PS_E_BAD_READ;
	return 0;
}

static void fake_destroy(struct rmem *m)
{
	struct rmem_fake *f = (struct rmem_fake *)m;

	for (size_t i = 0; i < f->nreg; i++)
		free(f->reg[i].data);
	free(f->reg);
	free(f);
}

static const struct rmem_ops fake_ops = {
	.readv = fake_readv,
	.destroy = fake_destroy,
};

struct rmem *rmem_fake_new(void)
{
	struct rmem_fake *f = xcalloc(1, sizeof(*f));

	rmem_init(&f->base, &fake_ops);
	return &f->base;
}

void rmem_fake_add(struct rmem *m, uint64_t addr, const void *data, size_t len)
{
	struct rmem_fake *f = (struct rmem_fake *)m;
	struct fake_region *g;

	xgrow(&f->reg, &f->cap, f->nreg + 1, sizeof(*f->reg));
	g = &f->reg[f->nreg++];
	g->addr = addr;
	g->len = len;
	g->data = xmalloc(len);
	memcpy(g->data, data, len);
	rmem_invalidate(m);
}

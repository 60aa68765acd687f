/*
 * Unwinding stopped threads with libunwind (see unwind.h).
 *
 * One address space serves every thread of the process.  Each mapped file
 * (and the vDSO) is a module; its ELF image is opened the first time an
 * address needs it, and its .eh_frame_hdr search table is handed to
 * libunwind's own table search.  Reads of a module's read-only segments are
 * answered from the image; everything else (stacks, data) from the cached
 * remote reader.
 *
 * A frame in a mapped file whose code has no table is not left to
 * libunwind's guess (the frame-pointer chain, which such code rarely
 * keeps): its caller is recovered as unwind.h says, and the unwind starts
 * again from the caller's registers.  Nothing read from the stack is
 * believed alone: a candidate return address must follow a call
 * instruction and lie in code with a table, and the table steps from it
 * must hold together (see goes_on()).  Every recovery is bounded: the
 * bytes scanned, the candidates followed, and the steps taken to check
 * them, for the whole stack.  Only the stack pointer, the frame
 * pointer and the instruction pointer are known for the caller; its other
 * callee-saved registers keep the values the frame had, which the tables
 * rarely need to find a frame.
 */
#include <errno.h>
#include <stddef.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>

#include "dlib.h"
#include "elffile.h"
#include "errors.h"
#include "msg.h"
#include "proc.h"
#include "rmem.h"
#include "unwind.h"

/* libunwind's table search: exported by libunwind, but not declared in its headers. */
int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
				       unw_proc_info_t *pi, int need_unwind_info, void *arg);

/* DWARF pointer encodings used by .eh_frame_hdr. */
#define DW_EH_PE_FORMAT	0x0f
#define DW_EH_PE_udata2	0x02
#define DW_EH_PE_udata4	0x03
#define DW_EH_PE_udata8	0x04
#define DW_EH_PE_sdata2	0x0a
#define DW_EH_PE_sdata4	0x0b
#define DW_EH_PE_sdata8	0x0c
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_omit	0xff

struct unwind_fns {
	__typeof__(&_Ux86_64_create_addr_space) create_addr_space;
	__typeof__(&_Ux86_64_destroy_addr_space) destroy_addr_space;
	__typeof__(&_Ux86_64_set_caching_policy) set_caching_policy;
	__typeof__(&_Ux86_64_init_remote) init_remote;
	__typeof__(&_Ux86_64_step) step;
	__typeof__(&_Ux86_64_get_reg) get_reg;
	__typeof__(&_Ux86_64_is_signal_frame) is_signal_frame;
	__typeof__(&_Ux86_64_dwarf_search_unwind_table) search_table;
	__typeof__(&_UPT_put_unwind_info) upt_put_unwind_info;
	unw_accessors_t *upt_accessors;
};

/* What the unwinder knows of one mapped file (maps->files[i] is mods[i]). */
struct module {
	bool loaded, usable;
	struct elffile *elf;
	uint64_t bias;
	unw_dyn_info_t di;		/* the .eh_frame_hdr table, when there is one */
	bool has_table;
};

struct unwinder {
	pid_t pid;
	const struct maps *maps;
	struct rmem *mem;
	void *lib;
	struct unwind_fns fn;
	unw_accessors_t acc;
	unw_addr_space_t as;
	struct module *mods;		/* one per mapped file */
};

/* At most this many candidates of one recovery are checked by table steps. */
#define RECOVER_MAX_TRIES 256

/* How many table steps past a candidate caller must hold together. */
#define VERIFY_STEPS 64

/* How many such steps the recoveries of one stack may take in all. */
#define VERIFY_BUDGET 4096

/* What libunwind hands back to every accessor while one thread unwinds. */
struct unwind_ctx {
	struct unwinder *u;
	struct user_regs_struct regs;
	unsigned verify_left;		/* of VERIFY_BUDGET */
};

/* Size in bytes of a value with DWARF pointer encoding enc, or 0 if unsupported. */
static size_t enc_size(unsigned enc)
{
	switch (enc & DW_EH_PE_FORMAT) {
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		return 2;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case 0:	/* absptr */
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	default:
		return 0;
	}
}

static uint64_t read_uenc(const unsigned char *p, size_t size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

/*
 * Describe the module's .eh_frame_hdr search table to libunwind: a binary
 * search table of (start, FDE) pairs, 4-byte offsets from the header.
 */
static void load_table(struct module *m, const struct mapped_file *file)
{
	uint64_t vaddr, size, count;
	const unsigned char *h;
	size_t ptr_size, count_size;

	if (elffile_eh_frame_hdr(m->elf, &vaddr, &size) || size < 4)
		return;
	h = elffile_readonly_bytes(m->elf, vaddr, (size_t)size);
	if (!h || h[0] != 1 || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	ptr_size = enc_size(h[1]);
	count_size = enc_size(h[2]);
	if (!ptr_size || !count_size || h[2] == DW_EH_PE_omit || 4 + ptr_size + count_size > size)
		return;
	count = read_uenc(h + 4 + ptr_size, count_size);
	if (count == 0 || count > (size - 4 - ptr_size - count_size) / 8)
		return;
	memset(&m->di, 0, sizeof(m->di));
	m->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	m->di.start_ip = file->text_start;
	m->di.end_ip = file->text_end;
	m->di.u.rti.segbase = m->bias + vaddr;
	m->di.u.rti.table_data = m->bias + vaddr + 4 + ptr_size + count_size;
	m->di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
	m->has_table = true;
}

/* The module at addr, its file opened on first use; NULL if none or unusable. */
static struct module *module_loaded(struct unwinder *u, uint64_t addr)
{
	int i = maps_file_at(u->maps, addr);
	const struct mapped_file *file;
	struct module *m;

	if (i < 0)
		return NULL;
	m = &u->mods[i];
	file = &u->maps->files[i];
	if (!m->loaded) {
		m->loaded = true;
		if (!elffile_open_mapped(u->pid, u->maps, file->first, u->mem, &m->elf) &&
		    !elffile_bias(m->elf, file->first->start, file->first->offset, &m->bias)) {
			m->usable = true;
			load_table(m, file);
		}
	}
	return m->usable ? m : NULL;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct unwind_ctx *c = arg;
	struct module *m = module_loaded(c->u, ip);
	int ret = -UNW_ENOINFO;

	/*
	 * Without a table (no .eh_frame_hdr, or a file that cannot be read
	 * through /proc/PID/root), libunwind falls back to the frame pointers.
	 * libunwind-ptrace's own lookup is not used: it opens the file by its
	 * path in this mount namespace, which may be another file (a container,
	 * an upgraded library), and it calls back with its own argument.
	 */
	if (m && m->has_table)
		ret = c->u->fn.search_table(as, ip, &m->di, pi, need_unwind_info, arg);
	return ret;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	struct unwind_ctx *c = arg;

	/* libunwind-ptrace's own frees what the table search allocated; it needs no context. */
	c->u->fn.upt_put_unwind_info(as, pi, NULL);
}

/* Unwind information registered at run time (by a JIT): none is looked for. */
static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil_addr, void *arg)
{
	(void)as, (void)dil_addr, (void)arg;
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct unwind_ctx *c = arg;
	struct module *m;
	const void *local;

	(void)as;
	if (write)
		return -UNW_EINVAL;	/* pystack never writes to the process */
	m = module_loaded(c->u, addr);
	if (m && addr >= m->bias &&
	    (local = elffile_readonly_bytes(m->elf, addr - m->bias, sizeof(*val)))) {
		memcpy(val, local, sizeof(*val));
		return 0;
	}
	return rmem_read(c->u->mem, addr, val, sizeof(*val)) ? -UNW_EINVAL : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	const struct user_regs_struct *r = &((struct unwind_ctx *)arg)->regs;
	const unsigned long long *v;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	switch (reg) {
	case UNW_X86_64_RAX: v = &r->rax; break;
	case UNW_X86_64_RDX: v = &r->rdx; break;
	case UNW_X86_64_RCX: v = &r->rcx; break;
	case UNW_X86_64_RBX: v = &r->rbx; break;
	case UNW_X86_64_RSI: v = &r->rsi; break;
	case UNW_X86_64_RDI: v = &r->rdi; break;
	case UNW_X86_64_RBP: v = &r->rbp; break;
	case UNW_X86_64_RSP: v = &r->rsp; break;
	case UNW_X86_64_R8: v = &r->r8; break;
	case UNW_X86_64_R9: v = &r->r9; break;
	case UNW_X86_64_R10: v = &r->r10; break;
	case UNW_X86_64_R11: v = &r->r11; break;
	case UNW_X86_64_R12: v = &r->r12; break;
	case UNW_X86_64_R13: v = &r->r13; break;
	case UNW_X86_64_R14: v = &r->r14; break;
	case UNW_X86_64_R15: v = &r->r15; break;
	case UNW_X86_64_RIP: v = &r->rip; break;
	default:
		return -UNW_EBADREG;
	}
	*val = *v;
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	(void)as, (void)reg, (void)val, (void)write, (void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_ENOINFO;	/* names come from the symbolizer, after the detach */
}

/* Whether the unwind tables describe the code at pc. */
static bool has_table_entry(struct unwind_ctx *c, uint64_t pc)
{
	struct module *m = module_loaded(c->u, pc);
	unw_proc_info_t pi;

	return m && m->has_table && c->u->fn.search_table(c->u->as, pc, &m->di, &pi, 0, c) == 0;
}

/* Bytes of code at addr, from the module's image or else the process. */
static bool read_code(struct unwind_ctx *c, uint64_t addr, void *buf, size_t len)
{
	struct module *m = module_loaded(c->u, addr);
	const void *local;

	if (m && addr >= m->bias && (local = elffile_readonly_bytes(m->elf, addr - m->bias, len))) {
		memcpy(buf, local, len);
		return true;
	}
	return !rmem_read(c->u->mem, addr, buf, len);
}

/*
 * The length of a ModRM operand (ModRM byte, SIB, displacement) whose
 * first byte is p[0], with avail bytes there; 0 if it needs more.
 */
static size_t modrm_len(const unsigned char *p, size_t avail)
{
	unsigned mod = p[0] >> 6, rm = p[0] & 7;
	size_t n = 1;

	if (mod == 3)
		return 1;
	if (rm == 4) {
		if (avail < 2)
			return 0;
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4;		/* rip-relative */
	}
	n += mod == 1 ? 1 : mod == 2 ? 4 : 0;
	return n;
}

/*
 * Whether the instruction that ends at ra is a call: e8 with a 32-bit
 * displacement (then *target is where it goes), or ff /2 in any addressing
 * form, a REX prefix allowed (then *target is 0).
 */
static bool call_before(struct unwind_ctx *c, uint64_t ra, uint64_t *target)
{
	unsigned char b[8];
	const unsigned char *end = b + sizeof(b);
	int32_t rel;

	if (ra < sizeof(b) || !read_code(c, ra - sizeof(b), b, sizeof(b)))
		return false;
	if (end[-5] == 0xe8) {
		memcpy(&rel, end - 4, sizeof(rel));
		*target = ra + (int64_t)rel;
		return true;
	}
	*target = 0;
	for (size_t len = 2; len <= 7; len++) {
		const unsigned char *p = end - len;

		if ((p[0] & 0xf0) == 0x40)
			p++;
		if (p[0] == 0xff && ((p[1] >> 3) & 7) == 2 &&
		    modrm_len(p + 1, (size_t)(end - p - 1)) == (size_t)(end - p - 1))
			return true;
	}
	return false;
}

/* Whether addr is in executable memory. */
static bool executable(const struct unwinder *u, uint64_t addr)
{
	const struct map *m = maps_find(u->maps, addr);

	return m && m->x;
}

/*
 * Whether ra can be the return address of a call of the code at callee:
 * just after a call instruction, in a mapped file's code that has a
 * table.  A direct call must go to executable code, and within the
 * callee's own file to no address past the callee (a function starts
 * before its code).
 */
static bool plausible_return(struct unwind_ctx *c, uint64_t ra, uint64_t callee)
{
	const struct map *m = maps_find(c->u->maps, ra);
	uint64_t target;

	if (!m || !m->x || m->file < 0 || !call_before(c, ra, &target))
		return false;
	if (target && (!executable(c->u, target) ||
		       (maps_file_at(c->u->maps, target) == maps_file_at(c->u->maps, callee) &&
			target > callee)))
		return false;
	return has_table_entry(c, ra - 1);
}

/*
 * Whether the unwind goes on from a caller with registers regs: table
 * steps from it, up to VERIFY_STEPS of them, reach the stack's end, or
 * code without a table (to be recovered in turn) or in no file (JIT code),
 * every frame on the way at a return address just after a call, further
 * out than the last.  Stale return addresses on a stack often make a short
 * chain that holds together for a few calls; it ends in garbage.
 */
static bool goes_on(struct unwind_ctx *c, const struct user_regs_struct *regs)
{
	struct unwind_ctx probe = *c;
	unw_cursor_t cursor;
	uint64_t prev_sp = regs->rsp, target;

	probe.regs = *regs;
	if (c->u->fn.init_remote(&cursor, c->u->as, &probe) < 0)
		return false;
	for (int i = 0; i < VERIFY_STEPS; i++) {
		bool after_signal = c->u->fn.is_signal_frame(&cursor) > 0;
		unw_word_t ip = 0, sp = 0;
		int ret;

		if (!c->verify_left)
			return false;
		c->verify_left--;
		ret = c->u->fn.step(&cursor);

		if (ret == 0)
			return true;
		if (ret < 0 || c->u->fn.get_reg(&cursor, UNW_REG_IP, &ip) < 0 ||
		    c->u->fn.get_reg(&cursor, UNW_REG_SP, &sp) < 0)
			return false;
		if (sp <= prev_sp || !executable(c->u, ip) ||
		    (!after_signal && !call_before(&probe, ip, &target)))
			return false;
		if (maps_file_at(c->u->maps, ip - !after_signal) < 0 ||
		    !has_table_entry(&probe, ip - !after_signal))
			return true;
		prev_sp = sp;
	}
	return true;
}

/*
 * Try ra, read at slot of the stack, as the return address of the frame
 * with registers regs: on success regs become the caller's.
 */
static bool try_caller(struct unwind_ctx *c, struct user_regs_struct *regs, uint64_t slot,
		       uint64_t ra)
{
	struct user_regs_struct caller = *regs;
	uint64_t saved_fp;

	caller.rip = ra;
	caller.rsp = slot + 8;
	/* At the frame pointer, the caller's frame pointer sits just below the return address. */
	if (slot == regs->rbp + 8) {
		if (rmem_read_u64(c->u->mem, regs->rbp, &saved_fp))
			return false;
		caller.rbp = saved_fp;
	}
	if (!goes_on(c, &caller))
		return false;
	*regs = caller;
	return true;
}

/*
 * Whether ra, at the frame pointer of the frame with registers regs in
 * stack, returns into code without a table that keeps a frame pointer in
 * turn: just after a call, in a mapped file, with the saved frame pointer
 * further out in the stack (or 0, the chain's end).  On success regs
 * become the caller's; the unwind recovers its caller in turn.
 */
static bool frame_pointer_chain(struct unwind_ctx *c, const struct map *stack,
				struct user_regs_struct *regs, uint64_t ra)
{
	uint64_t saved_fp, target;

	if (maps_file_at(c->u->maps, ra) < 0 || !executable(c->u, ra) ||
	    !call_before(c, ra, &target) || has_table_entry(c, ra - 1) ||
	    rmem_read_u64(c->u->mem, regs->rbp, &saved_fp) ||
	    (saved_fp && (saved_fp <= regs->rbp || saved_fp >= stack->end)))
		return false;
	regs->rip = ra;
	regs->rsp = regs->rbp + 16;
	regs->rbp = saved_fp;
	return true;
}

/*
 * The caller of the frame with registers regs, whose code (at pc) has no
 * table: the first candidate return address on the stack, from the stack
 * pointer up to UNWIND_SCAN_BYTES further, that passes the checks at the
 * top, or at the frame pointer one into more code without a table that
 * keeps a frame pointer; past the scan, the frame pointer's.  Returns how
 * it was found, with regs made the caller's, or UNWIND_TABLE (regs
 * untouched) when none was.
 */
static enum unwind_how recover_caller(struct unwind_ctx *c, uint64_t pc,
				      struct user_regs_struct *regs)
{
	const struct map *stack = maps_find(c->u->maps, regs->rsp);
	uint64_t sp = regs->rsp, end, words[512], ra;
	unsigned tries = 0;

	if (!stack || !stack->w || sp % 8)
		return UNWIND_TABLE;
	end = stack->end - sp > UNWIND_SCAN_BYTES ? sp + UNWIND_SCAN_BYTES : stack->end;
	for (uint64_t at = sp; at < end; at += sizeof(words)) {
		size_t n = end - at < sizeof(words) ? (size_t)(end - at) : sizeof(words);

		if (rmem_read(c->u->mem, at, words, n))
			break;
		for (size_t i = 0; i < n / 8; i++) {
			uint64_t slot = at + 8 * i, fp = regs->rbp;

			if (slot == fp + 8 && frame_pointer_chain(c, stack, regs, words[i]))
				return UNWIND_FRAME_POINTER;
			if (!plausible_return(c, words[i], pc))
				continue;
			if (try_caller(c, regs, slot, words[i]))
				return slot == fp + 8 ? UNWIND_FRAME_POINTER : UNWIND_STACK_SCAN;
			if (++tries == RECOVER_MAX_TRIES)
				return UNWIND_TABLE;
		}
	}
	/* A frame larger than the scan: its frame pointer, if it kept one in the stack. */
	if (regs->rbp % 8 == 0 && regs->rbp + 8 >= end && regs->rbp < stack->end - 8 &&
	    !rmem_read_u64(c->u->mem, regs->rbp + 8, &ra) && plausible_return(c, ra, pc) &&
	    try_caller(c, regs, regs->rbp + 8, ra))
		return UNWIND_FRAME_POINTER;
	return UNWIND_TABLE;
}

/* The registers of the cursor's frame that a recovery reads or keeps. */
static void cursor_regs(struct unwinder *u, unw_cursor_t *cursor, struct user_regs_struct *r)
{
	static const struct { unw_regnum_t reg; size_t off; } regs[] = {
		{ UNW_X86_64_RIP, offsetof(struct user_regs_struct, rip) },
		{ UNW_X86_64_RSP, offsetof(struct user_regs_struct, rsp) },
		{ UNW_X86_64_RBP, offsetof(struct user_regs_struct, rbp) },
		{ UNW_X86_64_RBX, offsetof(struct user_regs_struct, rbx) },
		{ UNW_X86_64_R12, offsetof(struct user_regs_struct, r12) },
		{ UNW_X86_64_R13, offsetof(struct user_regs_struct, r13) },
		{ UNW_X86_64_R14, offsetof(struct user_regs_struct, r14) },
		{ UNW_X86_64_R15, offsetof(struct user_regs_struct, r15) },
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		unw_word_t v;

		if (u->fn.get_reg(cursor, regs[i].reg, &v) == 0)
			memcpy((char *)r + regs[i].off, &v, sizeof(v));
	}
}

int unwinder_new(pid_t pid, const struct maps *maps, struct rmem *mem, struct unwinder **out,
		 char *why, size_t nwhy)
{
	/* Debian's libunwind-ptrace does not declare its need for libunwind-x86_64. */
	static const char *const deps[] = { "libunwind-x86_64.so.8", NULL };
	static const char *const libs[] = { "libunwind-ptrace.so.0", NULL };
	struct unwinder *u = xcalloc(1, sizeof(*u));
	const struct dlib_sym syms[] = {
		{ "_Ux86_64_create_addr_space", (void **)&u->fn.create_addr_space },
		{ "_Ux86_64_destroy_addr_space", (void **)&u->fn.destroy_addr_space },
		{ "_Ux86_64_set_caching_policy", (void **)&u->fn.set_caching_policy },
		{ "_Ux86_64_init_remote", (void **)&u->fn.init_remote },
		{ "_Ux86_64_step", (void **)&u->fn.step },
		{ "_Ux86_64_get_reg", (void **)&u->fn.get_reg },
		{ "_Ux86_64_is_signal_frame", (void **)&u->fn.is_signal_frame },
		{ "_Ux86_64_dwarf_search_unwind_table", (void **)&u->fn.search_table },
		{ "_UPT_put_unwind_info", (void **)&u->fn.upt_put_unwind_info },
		{ "_UPT_accessors", (void **)&u->fn.upt_accessors },
	};

	u->lib = dlib_load(deps, libs, syms, sizeof(syms) / sizeof(syms[0]), "libunwind8", why, nwhy);
	if (!u->lib) {
		free(u);
		return -ENOENT;
	}
	u->pid = pid;
	u->maps = maps;
	u->mem = mem;
	/* libunwind-ptrace's accessors, with reading and lookup done our way. */
	u->acc = *u->fn.upt_accessors;
	u->acc.find_proc_info = find_proc_info;
	u->acc.put_unwind_info = put_unwind_info;
	u->acc.get_dyn_info_list_addr = get_dyn_info_list_addr;
	u->acc.access_mem = access_mem;
	u->acc.access_reg = access_reg;
	u->acc.access_fpreg = access_fpreg;
	u->acc.resume = resume;
	u->acc.get_proc_name = get_proc_name;
	u->as = u->fn.create_addr_space(&u->acc, 0);
	if (!u->as) {
		snprintf(why, nwhy, "libunwind could not create an address space");
		unwinder_free(u);
		return -ENOMEM;
	}
	u->fn.set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	u->mods = xcalloc(maps->nfiles ? maps->nfiles : 1, sizeof(*u->mods));
	*out = u;
	return 0;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->as)
		u->fn.destroy_addr_space(u->as);
	for (size_t i = 0; u->mods && i < u->maps->nfiles; i++)
		elffile_free(u->mods[i].elf);
	free(u->mods);
	/* The library stays loaded: libunwind keeps global state (its caches). */
	free(u);
}

long unwinder_unwind(struct unwinder *u, const struct user_regs_struct *start,
		     struct native_ip *ips, size_t max, struct unwind_end *end)
{
	struct unwind_ctx c = { .u = u, .regs = *start, .verify_left = VERIFY_BUDGET };
	unw_cursor_t cursor;
	uint64_t prev_sp = 0;
	bool after_signal = false;
	enum unwind_how how = UNWIND_TABLE;
	unsigned recoveries = 0;
	long n = 0;

	memset(end, 0, sizeof(*end));
	if (u->fn.init_remote(&cursor, u->as, &c) < 0)
		return -PS_E_BAD_DATA;
	for (;;) {
		unw_word_t ip = 0, sp = 0;
		uint64_t pc;

		if (u->fn.get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0 ||
		    u->fn.get_reg(&cursor, UNW_REG_SP, &sp) < 0)
			break;
		/* A stack that does not move on is corrupt or misunderstood: stop. */
		if (n > 0 && (sp < prev_sp || (sp == prev_sp && ip == ips[n - 1].ip)))
			break;
		if ((size_t)n == max) {
			end->cut = true;
			break;
		}
		ips[n].ip = ip;
		ips[n].exact = n == 0 || after_signal;
		ips[n].how = how;
		pc = ips[n].exact ? ip : ip - 1;
		n++;
		prev_sp = sp;
		after_signal = u->fn.is_signal_frame(&cursor) > 0;
		how = UNWIND_TABLE;
		/* Code of a mapped file with no table: find its caller, and start again there. */
		if (!after_signal && maps_file_at(u->maps, pc) >= 0 && !has_table_entry(&c, pc)) {
			struct user_regs_struct regs = c.regs;

			cursor_regs(u, &cursor, &regs);
			if (recoveries++ == UNWIND_MAX_RECOVERIES ||
			    (how = recover_caller(&c, pc, &regs)) == UNWIND_TABLE) {
				end->no_info = ip;
				break;
			}
			c.regs = regs;
			if (u->fn.init_remote(&cursor, u->as, &c) < 0)
				break;
			continue;
		}
		if (u->fn.step(&cursor) <= 0)
			break;
	}
	return n;
}

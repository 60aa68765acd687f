#!/usr/bin/env python3
"""Write the core reader's fuzz seeds: small synthetic x86-64 cores.

    tools/gen_core_seeds.py [DIR]        (default tests/fuzz/seeds-core)

Three whole cores (*.core: make unit checks that each still opens, with
threads, maps and memory that reads), each a few KB:

- kernel.core: laid out as the kernel writes one: the notes first (two
  threads, the process, a SIGSEGV with its address, the auxiliary vector,
  the mapped files, an xstate note named LINUX), then the memory: an
  anonymous mapping held whole, a library mapping of which the core holds
  the first bytes only (p_filesz < p_memsz), the executable's first page
  (its ELF header and program headers) whose text only NT_FILE names, and
  the vDSO.
- gdb.core: as gdb's gcore writes one: the memory first and the notes
  last, in two PT_NOTE segments, the segment count in section header 0
  (PN_XNUM), file mappings left out of PT_LOAD, a thread with no signal.
- tiny.core: one thread and one mapping, nothing else.

Then copies of kernel.core cut short (*.cut-WHERE) and changed in one
field (*.flip-WHAT), each of which opens or fails cleanly.  The files
NT_FILE names are "/lib" and "/exe", which the fuzz target makes under a
directory of its own (tests/fuzz/fuzz_core.c); "/missing" is never there.
Layouts: elf.h, sys/procfs.h (struct elf_prstatus is 336 bytes, pr_reg at
112; struct elf_prpsinfo 136 bytes), siginfo_t 128 bytes.
"""
import os
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_X86_XSTATE = 1, 3, 6, 0x202
NT_SIGINFO, NT_FILE = 0x53494749, 0x46494c45
AT_NULL, AT_PAGESZ, AT_PHDR, AT_ENTRY, AT_SYSINFO_EHDR = 0, 6, 3, 9, 33
SIGSEGV, SEGV_MAPERR = 11, 1
PN_XNUM = 0xffff

ANON = 0x400000
LIB = 0x7f0000000000
EXE = 0x555555554000
VDSO = 0x7ffff7fc1000
STACK = 0x7ffffffde000


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def note(name, ntype, desc):
    name = name.encode() + b"\0"
    return struct.pack("<III", len(name), len(desc), ntype) + pad4(name) + pad4(desc)


def regs(rip, rsp, rbp):
    """struct user_regs_struct: 27 registers, rbp 4th, rip 16th, rsp 19th."""
    r = [0] * 27
    r[4], r[16], r[19] = rbp, rip, rsp
    return struct.pack("<27Q", *r)


def prstatus(tid, sig, rip, rsp, rbp):
    head = struct.pack("<iiih", sig, 0, 0, sig).ljust(32, b"\0")
    head += struct.pack("<iiii", tid, 1, tid, tid)
    return head.ljust(112, b"\0") + regs(rip, rsp, rbp) + b"\0" * 8


def prpsinfo(pid, fname, args):
    head = struct.pack("<bbbb4xQIIiiii", 0, ord("S"), 0, 0, 0, 1000, 1000, pid, 1, pid, pid)
    return head + fname.encode().ljust(16, b"\0") + args.encode().ljust(80, b"\0")


def siginfo(signo, code, addr):
    return struct.pack("<iiiiQ", signo, 0, code, 0, addr).ljust(128, b"\0")


def auxv(pairs):
    return b"".join(struct.pack("<QQ", t, v) for t, v in pairs + [(AT_NULL, 0)])


def nt_file(entries, page=0x1000):
    """entries: (start, end, page offset, path)."""
    out = struct.pack("<QQ", len(entries), page)
    out += b"".join(struct.pack("<QQQ", s, e, o) for s, e, o, _ in entries)
    return out + b"".join(p.encode() + b"\0" for *_, p in entries)


def ehdr(etype, phoff, phnum, shoff=0, shnum=0):
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    return ident + struct.pack("<HHIQQQIHHHHHH", etype, 62, 1, 0, phoff, shoff, 0, 64, 56,
                               phnum, 64 if shnum else 0, shnum, 0)


def phdr(ptype, flags, off, vaddr, filesz, memsz):
    return struct.pack("<IIQQQQQQ", ptype, flags, off, vaddr, 0, filesz, memsz, 1)


def exe_page(size):
    """The executable's first bytes: its ELF header, then a PT_LOAD of its header page
    (r--) and one of its text (r-x) at file offset 0x1000."""
    b = ehdr(3, 64, 2) + phdr(PT_LOAD, PF_R, 0, 0, 0x1000, 0x1000)
    b += phdr(PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x1800, 0x1800)
    return b.ljust(size, b"\0")


def pattern(addr, n):
    """Memory that holds pointers: each word the address of the next one."""
    return b"".join(struct.pack("<Q", addr + i + 8) for i in range(0, n, 8))


def core(segments, notes_first, xnum=False):
    """A core of segments: (ptype, flags, vaddr, memsz, bytes held). PT_NOTE segments
    are ("note", bytes). Returns the file and the offset of each segment's bytes."""
    nph = len(segments)
    phoff = 64
    data_at = phoff + nph * 56
    order = sorted(range(nph), key=lambda i: (segments[i][0] != "note") == notes_first)
    offsets, body = {}, b""
    for i in order:
        held = segments[i][1] if segments[i][0] == "note" else segments[i][4]
        offsets[i] = data_at + len(body)
        body += held
    phs = b""
    for i, s in enumerate(segments):
        if s[0] == "note":
            phs += phdr(PT_NOTE, PF_R, offsets[i], 0, len(s[1]), 0)
        else:
            _, flags, vaddr, memsz, held = s
            phs += phdr(PT_LOAD, flags, offsets[i], vaddr, len(held), memsz)
    shoff = data_at + len(body)
    if xnum:
        head = ehdr(4, phoff, PN_XNUM, shoff, 1)
        tail = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, nph, 0, 0)
    else:
        head, tail = ehdr(4, phoff, nph), b""
    return head + phs + body + tail, offsets


def kernel_core():
    notes = (note("CORE", NT_PRSTATUS, prstatus(4242, SIGSEGV, LIB + 0x1234, ANON + 0x100,
                                                ANON + 0x200))
             + note("CORE", NT_PRPSINFO, prpsinfo(4242, "python3", "python3 -c pass"))
             + note("CORE", NT_SIGINFO, siginfo(SIGSEGV, SEGV_MAPERR, 0xdead000))
             + note("CORE", NT_AUXV, auxv([(AT_PAGESZ, 0x1000), (AT_PHDR, EXE + 64),
                                           (AT_ENTRY, EXE + 0x1100),
                                           (AT_SYSINFO_EHDR, VDSO)]))
             + note("CORE", NT_FILE, nt_file([(LIB, LIB + 0x3000, 1, "/lib"),
                                              (EXE, EXE + 0x1000, 0, "/exe"),
                                              (EXE + 0x1000, EXE + 0x3000, 1, "/exe"),
                                              (EXE + 0x3000, EXE + 0x4000, 3, "/missing")]))
             + note("LINUX", NT_X86_XSTATE, b"\0" * 64)
             + note("CORE", NT_PRSTATUS, prstatus(4243, 0, EXE + 0x1200, ANON + 0x300,
                                                  ANON + 0x380)))
    segs = [("note", notes),
            (PT_LOAD, PF_R | PF_W, ANON, 0x2000, pattern(ANON, 0x400)),
            (PT_LOAD, PF_R | PF_X, LIB, 0x3000, pattern(LIB, 0x100)),
            (PT_LOAD, PF_R, EXE, 0x1000, exe_page(0x200)),
            (PT_LOAD, PF_R | PF_X, VDSO, 0x2000, ehdr(3, 64, 0).ljust(0x100, b"\0"))]
    data, offsets = core(segs, notes_first=True)
    return data, offsets, len(notes)


def gdb_core():
    notes1 = (note("CORE", NT_PRPSINFO, prpsinfo(777, "sleep", "sleep 100"))
              + note("CORE", NT_PRSTATUS, prstatus(777, 0, EXE + 0x1010, STACK + 0x1f00,
                                                   STACK + 0x1f80))
              + note("LINUX", NT_X86_XSTATE, b"\0" * 32))
    notes2 = (note("CORE", NT_AUXV, auxv([(AT_PHDR, EXE + 64), (AT_ENTRY, EXE + 0x1100)]))
              + note("CORE", NT_FILE, nt_file([(EXE, EXE + 0x1000, 0, "/exe"),
                                               (EXE + 0x1000, EXE + 0x3000, 1, "/exe"),
                                               (LIB, LIB + 0x2000, 0, "/lib")]))
              + note("CORE", NT_SIGINFO, siginfo(0, 0, 0)))
    segs = [("note", notes1), ("note", notes2),
            (PT_LOAD, PF_R, EXE, 0x1000, exe_page(0x180)),
            (PT_LOAD, PF_R | PF_W, STACK + 0x1e00, 0x200, pattern(STACK + 0x1e00, 0x200)),
            (PT_LOAD, PF_R | PF_W, STACK + 0x2000, 0x1000, b"")]
    return core(segs, notes_first=False, xnum=True)[0]


def tiny_core():
    notes = note("CORE", NT_PRSTATUS, prstatus(1, 0, ANON + 8, ANON + 0x40, 0))
    return core([("note", notes), (PT_LOAD, PF_R | PF_W, ANON, 0x80, pattern(ANON, 0x80))],
                notes_first=True)[0]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "seeds-core")
    os.makedirs(out, exist_ok=True)
    kernel, offsets, notes_len = kernel_core()
    notes_at = offsets[0]
    seeds = {"kernel.core": kernel, "gdb.core": gdb_core(), "tiny.core": tiny_core()}

    # Cut short: in the program headers, in a thread's note, in NT_FILE, in the memory.
    nt_file_at = kernel.find(struct.pack("<I", NT_FILE), notes_at) - 8
    for name, at in (("phdrs", 64 + 56 + 20), ("prstatus", notes_at + 100),
                     ("ntfile", nt_file_at + 40), ("anon", offsets[1] + 0x204),
                     ("lib", offsets[2] + 0x10)):
        seeds["kernel.cut-" + name] = kernel[:at]

    def flip(at, value):
        b = bytearray(kernel)
        b[at:at + len(value)] = value
        return bytes(b)

    # One field wrong: too many segments, a note's size, NT_FILE's count and page
    # size, an entry that is not a range, a path not terminated, a load that wraps.
    ntf_desc = nt_file_at + 12 + 8
    seeds["kernel.flip-phnum"] = flip(56, struct.pack("<H", 9))
    seeds["kernel.flip-descsz"] = flip(notes_at + 4, struct.pack("<I", 0xfffffff0))
    seeds["kernel.flip-count"] = flip(ntf_desc, struct.pack("<Q", 1 << 60))
    seeds["kernel.flip-page"] = flip(ntf_desc + 8, struct.pack("<Q", 1 << 63))
    seeds["kernel.flip-range"] = flip(ntf_desc + 16 + 8, struct.pack("<Q", LIB))
    paths_end = kernel.index(b"/missing\0", notes_at) + 8
    seeds["kernel.flip-path"] = flip(paths_end, b"X")
    seeds["kernel.flip-vaddr"] = flip(64 + 56 + 16, struct.pack("<Q", (1 << 64) - 0x1000))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-22s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write tests/unit/compressed_blobs.h: a payload (a line of text, a zero
run, a run with no zero bytes, a zero run to the end) compressed whole and
in two frames by the zstd, xz, gzip and lz4 programs, for test_corecompress.c.
    tools: zstd, xz-utils, gzip, lz4 (tools/deps.sh installs them)
    run:   tests/unit/gen_compressed.py > tests/unit/compressed_blobs.h"""
import subprocess
import sys

SIZE = 400000
DATA_AT, DATA_LEN = 200000, 10000
SPLIT = SIZE // 2 + 4096


def payload():
    p = bytearray(SIZE)
    head = b"pystack corecompress test\n"
    p[:len(head)] = head
    for i in range(DATA_LEN):
        p[DATA_AT + i] = i % 251 + 1
    return bytes(p)


def array(name, b):
    rows = ["\t" + " ".join("0x%02x," % c for c in b[i:i + 12]) for i in range(0, len(b), 12)]
    return "static const unsigned char %s[] = {\n%s\n};\n" % (name, "\n".join(rows))


def main():
    p = payload()
    tools = (("zstd", ["zstd", "-q", "-c", "-3"]), ("xz", ["xz", "-c", "-T1"]),
             ("gzip", ["gzip", "-c", "-n"]), ("lz4", ["lz4", "-q", "-c"]))
    out = ["/* Written by tests/unit/gen_compressed.py: do not edit. */",
           "#define PAYLOAD_SIZE %d" % SIZE, "#define PAYLOAD_DATA_AT %d" % DATA_AT,
           "#define PAYLOAD_DATA_LEN %d" % DATA_LEN, ""]

    def run(cmd, data):
        return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout

    for name, cmd in tools:
        out.append(array("%s_one" % name, run(cmd, p)))
        out.append(array("%s_two" % name, run(cmd, p[:SPLIT]) + run(cmd, p[SPLIT:])))
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()

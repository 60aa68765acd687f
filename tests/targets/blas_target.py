# The main thread multiplies matrices in a loop, busy in OpenBLAS's
# hand-written kernels (code without unwind tables) under the Python calls
# multiply() <- spin() <- <module>.
#   blas_target.py N
# READY carries the chain of Python functions the interpreter sees around
# the product, innermost first, and the OpenBLAS library mapped.
import sys

import numpy

import oracle

n = int(sys.argv[1])
chain = []


def multiply(a, b):
    if not chain:
        f = sys._getframe()
        while f is not None:
            chain.append(f.f_code.co_name)
            f = f.f_back
    return a @ b


def spin(a, b, rounds=None):
    while rounds is None or rounds > 0:
        multiply(a, b)
        rounds = rounds and rounds - 1


def blas_library():
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "libopenblas" in path:
                return path
    return None


a = numpy.random.rand(n, n)
b = numpy.random.rand(n, n)
# Once before READY: OpenBLAS starts its threads and the chain is known.
spin(a, b, 1)
oracle.ready(chain=chain, blas=blas_library())
spin(a, b)

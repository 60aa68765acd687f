"""Asyncio tasks made wrong on purpose, for pystack's bounds (test_tasks_hostile.py).

    python tasks_corrupt.py MODE

loop    a coroutine's awaited object is overwritten with the coroutine
        awaiting it: the chain of awaits comes back on itself;
badcoro a task's coroutine pointer is overwritten with an unmapped address;
deep    a chain of 3000 coroutines awaiting each other, then a future.

The objects are found by the pointers they hold (ctypes), not by any layout
written here.  The garbage collector is off: it would follow the broken
pointers.  The program prints READY and the ids it corrupted, then waits for
ever; it is killed, never resumed.
"""
import asyncio
import ctypes
import gc
import sys

gc.disable()
sys.setrecursionlimit(20000)


def replace_pointer(holder_addr, size, old, new):
    """Overwrite the first aligned word equal to old in [holder_addr, +size)."""
    words = (ctypes.c_uint64 * (size // 8)).from_address(holder_addr)
    for i in range(size // 8):
        if words[i] == old:
            words[i] = new
            return i * 8
    raise SystemExit("pointer %#x not found in the object at %#x" % (old, holder_addr))


async def inner(fut):
    await fut


async def outer(fut):
    await inner(fut)


async def chain(n, fut):
    if n:
        await chain(n - 1, fut)
    else:
        await fut


async def main(mode):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    if mode == "deep":
        task = asyncio.ensure_future(chain(3000, fut))
        await asyncio.sleep(0.1)
    else:
        task = asyncio.ensure_future(outer(fut))
        await asyncio.sleep(0.1)
        out = task.get_coro() if sys.version_info >= (3, 8) else task._coro
        inn = out.cr_await
        if mode == "loop":
            # The awaited object sits on inner's value stack: in its own memory
            # (3.11+), or in its frame object's (3.7-3.10).
            where = inn if sys.version_info >= (3, 11) else inn.cr_frame
            replace_pointer(id(where), sys.getsizeof(where), id(inn.cr_await), id(out))
        elif mode == "badcoro":
            replace_pointer(id(task), sys.getsizeof(task), id(out), 0x10)
    print("READY %d" % id(task), flush=True)
    await loop.create_future()


asyncio.run(main(sys.argv[1]))

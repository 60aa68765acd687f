# Every shape of Python frame a stack can hold, each in its own thread:
# generators, methods and nested functions, lambdas, except and finally
# blocks, Python called back from C; on 3.x also coroutines and an asyncio
# task.  The main thread stays in module-level code.
import sys
import threading
import time

import oracle


def block():
    oracle.arrive()
    time.sleep(100000)


def generator():
    yield 1
    block()
    yield 2


def consume():
    for _ in generator():
        pass


class Service(object):
    def handle(self):
        def nested():
            block()
        nested()

    @classmethod
    def create(cls):
        cls().handle()

    @staticmethod
    def helper():
        block()


def in_except():
    try:
        raise ValueError("x")
    except ValueError:
        block()


def in_finally():
    try:
        pass
    finally:
        block()


def key(item):
    block()
    return item


def callback_from_c():
    return sorted([3, 1, 2], key=key)


def map_from_c():
    return list(map(lambda x: block(), [1]))


shapes = [consume, Service().handle, Service.create, Service.helper, in_except, in_finally,
          callback_from_c, map_from_c, lambda: block()]
if sys.version_info >= (3, 6):
    import shapes3
    shapes += shapes3.shapes(block)

for fn in shapes:
    threading.Thread(target=fn).start()
oracle.started(len(shapes))
time.sleep(0.1)
oracle.ready()
oracle.idle()

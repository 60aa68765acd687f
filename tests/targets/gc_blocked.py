# A thread stuck inside a garbage collection: gc.collect() finds a cycle
# whose object has a finalizer, and the finalizer blocks.  The interpreter
# is collecting garbage for as long as it blocks.
import gc
import threading

import oracle

block = threading.Event()
inside = threading.Event()


class Finalized(object):
    def __del__(self):
        inside.set()
        block.wait()


def collector():
    cycle = Finalized()
    cycle.me = cycle
    del cycle
    gc.collect()


gc.disable()
threading.Thread(target=collector, name="collector").start()
inside.wait()
oracle.ready(collector=[t.ident for t in threading.enumerate() if t.name == "collector"][0])
oracle.idle()

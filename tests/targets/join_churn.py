# Thread states created and freed without pause, from two threads at once.
#   join_churn.py [STARTERS] [BATCH] [BLOCK]
# STARTERS threads (default 2) each start BATCH (default 8) short threads,
# join them, and start again, for good: the interpreter's thread list changes
# all the time, its head most of all (a new thread state goes in front).
# The main thread parks in oracle.idle().  READY when every starter runs.
import sys
import threading

import oracle

starters = int(sys.argv[1]) if len(sys.argv) > 1 else 2
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 8
block = int(sys.argv[3]) if len(sys.argv) > 3 else 1200


def short():
    pass


def starter():
    oracle.arrive()
    while True:
        threads = [threading.Thread(target=short) for _ in range(batch)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Blocks a little smaller than a thread state, zeroed, from the
        # allocator that gave the thread states (the starter's arena), kept
        # through the next round: the memory of the thread states just
        # freed soon holds something else.
        junk = [bytearray(block + 64 * i) for i in range(batch)]


for k in range(starters):
    s = threading.Thread(target=starter, name="starter-%d" % k)
    s.daemon = True
    s.start()
oracle.started(starters)
oracle.ready()
oracle.idle()

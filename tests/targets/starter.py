# A main thread that starts and joins four threads at a time without end,
# each sleeping 1 ms: pystack keeps finding thread states that Thread.start()
# has made but whose threads have not run yet.
import threading
import time

import oracle


def nap():
    time.sleep(0.001)


oracle.ready()
while True:
    threads = [threading.Thread(target=nap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

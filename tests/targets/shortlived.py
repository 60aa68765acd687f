# A process that lives only a moment, for racing pystack against its exit.
#   shortlived.py SEED
# Two threads (one spinning, one asleep), then READY, then the process ends
# 0-20 ms later (mostly within the first 3, while pystack reads it), in one
# of three ways chosen by SEED: os._exit straight away,
# a normal interpreter shutdown with the daemon thread still spinning, or a
# shutdown that first waits for the sleeping (non-daemon) thread.
import os
import random
import sys
import threading
import time

rng = random.Random(int(sys.argv[1]))
style = rng.choice(["_exit", "shutdown", "join"])
delay = 0.020 * rng.random() ** 3     # 0-20 ms, most of them under 3 ms


def spin():
    x = 0
    while True:
        x += 1


def nap():
    time.sleep(delay)


spinner = threading.Thread(target=spin, name="spinner")
spinner.daemon = True
spinner.start()
napper = threading.Thread(target=nap, name="napper")
napper.start()
sys.stdout.write("READY %s %.4f\n" % (style, delay))
sys.stdout.flush()
time.sleep(delay)
if style == "_exit":
    os._exit(0)
if style == "join":
    napper.join()
# "shutdown" and "join": fall off the end; the interpreter finalises while
# the daemon spinner still runs.

# The asyncio process `make bench` reads for its --tasks rows.
#   tasks_target.py TASKS [GATHERS]
# One event loop, on the main thread, with TASKS pending tasks in all (3.7
# on; nothing newer than 3.7's asyncio is used): the main task, GATHERS
# tasks that each await an asyncio.gather() of 9 children (GATHERS * 10
# tasks), and the rest, each asleep for an hour on its own.  A control thread reads stdin.  READY on
# stdout once every task has started and is blocked in its await (the loop
# then idles in its selector); "quit" on stdin ends the process.
import asyncio
import os
import sys
import threading

tasks, gathers = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0
gathers = min(gathers, tasks // 10)


async def sleeper():
    await asyncio.sleep(3600)


async def gatherer():
    await asyncio.gather(*(sleeper() for _ in range(9)))


def control():
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    os._exit(0)


async def main():
    keep = [asyncio.ensure_future(gatherer()) for _ in range(gathers)]
    keep += [asyncio.ensure_future(sleeper()) for _ in range(tasks - 1 - gathers * 10)]
    for _ in range(3):          # every task (and every gathered child) into its await
        await asyncio.sleep(0)
    sys.stdout.write("READY %d\n" % len(asyncio.all_tasks() if hasattr(asyncio, "all_tasks")
                                        else asyncio.Task.all_tasks()))
    sys.stdout.flush()
    await asyncio.gather(*keep)


t = threading.Thread(target=control)
t.daemon = True
t.start()
asyncio.run(main())

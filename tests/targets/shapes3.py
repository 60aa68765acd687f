# The shapes only Python 3 can write: coroutines and an asyncio task.
import asyncio


def shapes(block):
    async def leaf():
        block()

    async def middle():
        await leaf()

    def drive_coroutine():
        coro = middle()
        try:
            coro.send(None)
        except StopIteration:
            pass

    async def worker():
        await asyncio.sleep(0)
        block()

    async def main():
        task = asyncio.ensure_future(worker())
        await task

    def run_loop():
        loop = asyncio.new_event_loop()
        loop.run_until_complete(main())

    async def agen():
        yield 1
        block()
        yield 2

    async def consume_agen():
        async for _ in agen():
            pass

    def drive_agen():
        coro = consume_agen()
        try:
            coro.send(None)
        except StopIteration:
            pass

    return [drive_coroutine, run_loop, drive_agen]

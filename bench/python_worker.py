"""The worker a user might write instead of observer-worker (make bench-worker, case `python`):
nats-py durable pull consumer, fetch 256, a redis-py pipelined SET NX per message as the dedup
check, then ack each message. Prints messages/s once COUNT messages are done.

    python3 python_worker.py NATS_URL STREAM CONSUMER REDIS_URL COUNT
"""
import asyncio
import json
import sys
import time

import nats
import redis.asyncio as redis


async def main():
    nats_url, stream, consumer, redis_url, count = sys.argv[1:6]
    count = int(count)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    r = redis.from_url(redis_url)
    sub = await js.pull_subscribe("", durable=consumer, stream=stream)
    done = 0
    start = None
    while done < count:
        try:
            msgs = await sub.fetch(256, timeout=5)
        except nats.errors.TimeoutError:
            if done:
                break
            continue
        if start is None:
            start = time.monotonic()
        pipe = r.pipeline(transaction=False)
        for msg in msgs:
            event = json.loads(msg.data)
            pipe.set(f"pybench:dedup:{event['id']}", 1, nx=True, ex=600)
        await pipe.execute()
        for msg in msgs:
            await msg.ack()
        done += len(msgs)
    elapsed = time.monotonic() - start
    print(f"{done / elapsed:.0f}")
    print(f"python: {done} messages in {elapsed:.3f} s", file=sys.stderr)
    await nc.close()
    await r.aclose()


asyncio.run(main())

#!/usr/bin/env python
"""Opening-shuffle benchmark: how long Redis is blocked, per call, with 1,000,000 visitors pre-queued.

    .venv/bin/python scripts/bench_shuffle.py [--visitors 1000000] [--batch 256]

Starts its own Redis (unless KEZEK_REDIS_URL is given; that Redis is FLUSHED), creates a room with
``queue_policy=shuffle_prequeue`` whose pre-queue is open, and drives the room's own scripts
(``WaitingRoom``, as the service calls them) through three phases:

* joining: ``--visitors`` pre-queue joins in batches of ``--batch`` (a worker's join batch);
* the opening: the first sweep after the window opens (it used to shuffle the whole pre-queue in one call);
* the first minutes: sweeps admitting, visits of random pre-queued visitors (their new place), releases.

Prints, per phase, the calls, Redis's longest script call and how many took 1 ms or more (SLOWLOG), and the longest PING round trip a concurrent client saw (a latency probe on its own
connection and thread), next to the probe's median.  Never asserts: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from contextlib import ExitStack
from multiprocessing.connection import Connection
from pathlib import Path

import redis
import redis.asyncio as aioredis

from admission.waiting_room import RoomSettings, WaitingRoom
from admission.waiting_room.keys import room_keys
from devservices import LocalRedis

ROOT = Path(__file__).resolve().parent.parent
REGION = "astana"
OPENS = dt.datetime(2026, 5, 27, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
CLOSES = OPENS + dt.timedelta(days=90)


def _probe(url: str, pipe: Connection) -> None:
    """In a process of its own: PING Redis every 0.5 ms; on request, send the round trips (µs) since the last."""
    client = redis.Redis.from_url(url)
    samples: list[float] = []
    while True:
        if pipe.poll():
            if pipe.recv() == "stop":
                return
            pipe.send(samples)
            samples = []
        started = time.perf_counter()
        client.ping()
        samples.append((time.perf_counter() - started) * 1e6)
        time.sleep(0.0005)


class Probe:
    """A concurrent latency probe on its own connection and process (the GIL of this one stays out of it)."""

    def __init__(self, url: str) -> None:
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_probe, args=(url, child), daemon=True)
        self.process.start()

    def take(self) -> list[float]:
        self.pipe.send("take")
        samples: list[float] = self.pipe.recv()
        return samples

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(5)


def ref() -> str:
    """An applicant reference as the service makes them (38 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(28)).rstrip(b"=").decode()


async def slowlog(client: aioredis.Redis) -> list[int]:
    """The time (µs) of every script call of 0.1 ms or more since the last look (SLOWLOG)."""
    entries = await client.slowlog_get(100_000)
    await client.slowlog_reset()
    scripts = [e for e in entries if str(e["command"]).upper().startswith(("EVAL", "B'EVAL"))]
    return [int(e["duration"]) for e in sorted(scripts, key=lambda e: int(e["id"]))]


def report(name: str, calls: int, durations: list[int], probe: list[float]) -> None:
    ordered = sorted(durations) or [0]
    over = sum(1 for d in durations if d >= 10_000)
    print(
        f"{name:<34} {calls:6,} calls  Redis: longest {ordered[-1] / 1000:6.2f} ms, median {ordered[len(ordered) // 2] / 1000:5.2f}"
        f" ms, {over:3} ≥ 10 ms | probe PING: longest {max(probe, default=0) / 1000:6.2f} ms, "
        f"median {statistics.median(probe or [0]):4.0f} µs"
    )
    if over:
        slow = [f"#{i}: {d / 1000:.1f} ms" for i, d in enumerate(durations) if d >= 10_000]
        print(f"    calls ≥ 10 ms (in order of the calls logged): {', '.join(slow[:12])}")


async def run(url: str, visitors: int, batch: int) -> None:
    client = aioredis.Redis.from_url(url, max_connections=16)
    await client.flushall()
    await client.config_set("slowlog-log-slower-than", 100)  # µs: every script call that could matter
    await client.config_set("slowlog-max-len", 100_000)
    room = WaitingRoom(client)
    before = OPENS - dt.timedelta(minutes=30)
    settings = RoomSettings(
        max_active=200, max_waiting=visitors * 2, queue_policy="shuffle_prequeue", abandon_after=7200
    )
    await room.ensure(REGION, OPENS, CLOSES, settings, now=before)
    await client.slowlog_reset()
    memory_before = int((await client.info("memory"))["used_memory"])
    probe = Probe(url)

    refs = [ref() for _ in range(visitors)]
    await slowlog(client)
    probe.take()
    started = time.monotonic()
    semaphore = asyncio.Semaphore(8)

    async def join(chunk: list[str]) -> None:
        async with semaphore:
            await room.join_many(REGION, chunk, before)

    await asyncio.gather(*(join(refs[i : i + batch]) for i in range(0, visitors, batch)))
    took = time.monotonic() - started
    joins = await slowlog(client)
    waiting = await client.zcard(room_keys(REGION)[5])
    memory = (int((await client.info("memory"))["used_memory"]) - memory_before) / max(waiting, 1)
    report(f"join ({visitors:,} pre-queued, {batch}/call)", -(-visitors // batch), joins, probe.take())
    print(f"    {took:.1f} s to pre-queue {waiting:,}; {memory:.0f} B of Redis per pre-queued visitor")

    opening = OPENS + dt.timedelta(milliseconds=1)
    sweep = await room.sweep(REGION, opening)
    report("the opening (first sweep)", 1, await slowlog(client), probe.take())
    print(f"    admitted {sweep.admitted}, waiting {sweep.waiting:,}")

    calls = 0
    now = opening
    picked = [refs[int(i)] for i in (secrets.randbelow(visitors) for _ in range(2000))]
    for i, who in enumerate(picked):
        now += dt.timedelta(milliseconds=50)
        place = await room.visit(REGION, who, now)
        calls += 1
        if place.status == "admitted":
            await room.release(REGION, who, place.jti, now)
            calls += 1
        if i % 20 == 0:
            await room.sweep(REGION, now)
            calls += 1
    report("first minutes (visits, sweeps)", calls, await slowlog(client), probe.take())
    probe.stop()
    print(
        "\nBefore (issue 11): one call shuffled the whole pre-queue at the opening: 467 ms at 100,000, "
        "9.5 s at 1,000,000.\nNow each visitor's random draw is fixed at the join (a sorted set); the opening "
        "moves nobody.  Target: every call < 10 ms."
    )
    await client.config_set("slowlog-log-slower-than", 10000)
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=256, help="joins per script call (a worker batches up to 256)")
    opts = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}\n")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kezek-bench-shuffle-")))
        url = os.environ.get("KEZEK_REDIS_URL") or stack.enter_context(LocalRedis(tmp / "redis")).url
        asyncio.run(run(url, opts.visitors, opts.batch))


if __name__ == "__main__":
    main()

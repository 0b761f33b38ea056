#!/usr/bin/env python
"""Waiting-room benchmark: the service as production runs it, measured in one run.

    .venv/bin/python scripts/bench_rooms.py [--duration 10] [--connections 64] [--visitors 100000]

Starts its own Redis and PostgreSQL (unless KEZEK_REDIS_URL / KEZEK_DATABASE_URL are
given; their Redis is FLUSHED), then the service with granian and 2 workers on a free
port, and measures with ``wrk`` (Debian's; a C load generator, its CPU share printed):

* ceiling: ``GET /health`` of the same app (plain JSON), with granian and with uvicorn;
* join: ``POST /v1/rooms/astana/visitors``, every request a new valid ИИН;
* poll: ``GET /v1/rooms/astana/visitors/me`` with random tickets of 100,000 waiting visitors;
* Redis bytes per waiting visitor (INFO used_memory delta; MEMORY USAGE of the room's keys);
* the cost of verifying a ticket vs a JWT, in this process.

Prints requests/s, p50/p99 and poll/ceiling, join/ceiling.  Never asserts: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import timeit
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import jwt
import redis.asyncio as aioredis

from admission import db as database
from admission import reference
from admission.iin import make_iin
from admission.signing_keys import KeySet
from admission.waiting_room import Place, WaitingRoom
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.keys import room_keys
from admission.waiting_room.tickets import TicketSigner
from devservices import LocalPostgres, LocalRedis, free_port

ROOT = Path(__file__).resolve().parent.parent
REGION = "astana"
TICKET_SECRET = "bench-ticket-secret-0123456789abcdef"

JOIN_LUA = r"""
local W1 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
local W2 = {3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
local counter = 0
local nthreads = 0
function setup(thread) thread:set("tid", nthreads); nthreads = nthreads + 1 end
local function check(first11)
  local s = 0
  for i = 1, 11 do s = s + W1[i] * tonumber(first11:sub(i, i)) end
  s = s % 11
  if s == 10 then
    s = 0
    for i = 1, 11 do s = s + W2[i] * tonumber(first11:sub(i, i)) end
    s = s % 11
    if s == 10 then return nil end
  end
  return s
end
local function iin(n)
  local days = math.floor(n / 9000)
  local serial = n % 9000 + 1000
  local y = 60 + math.floor(days / 336) % 40
  local m = math.floor(days / 28) % 12 + 1
  local d = days % 28 + 1
  for _, century in ipairs({3, 4}) do
    local first = string.format("%02d%02d%02d%d%04d", y, m, d, century, serial)
    local digit = check(first)
    if digit then return first .. digit end
  end
  return "850101300005"
end
function request()
  counter = counter + 1
  local body = '{"applicant_iin":"' .. iin(tid * 50000000 + 1000000 + counter) .. '"}'
  return wrk.format("POST", "/v1/rooms/astana/visitors", {["Content-Type"] = "application/json"}, body)
end
"""

POLL_LUA = r"""
local tickets = {}
function init(args)
  for line in io.lines(args[1]) do tickets[#tickets + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
function request()
  local t = tickets[math.random(#tickets)]
  return wrk.format("GET", "/v1/rooms/astana/visitors/me", {["Authorization"] = "Bearer " .. t})
end
"""


class Result:
    def __init__(self, name: str, rps: float, p50: float, p99: float, errors: int, total: int, cpu: float) -> None:
        self.name, self.rps, self.p50, self.p99 = name, rps, p50, p99
        self.errors, self.total, self.cpu = errors, total, cpu
        self.server_us = 0.0  # the service's CPU per request (all its processes), µs
        self.redis_us = 0.0  # Redis' CPU per request, µs

    def line(self, ceiling: float | None = None) -> str:
        ratio = f"  {self.rps / ceiling:5.2f} x ceiling" if ceiling else ""
        return (
            f"{self.name:<26} {self.rps:6.0f} req/s  p50 {self.p50:6.2f} ms  p99 {self.p99:6.2f} ms  "
            f"errors {self.errors}/{self.total}  CPU/req: service {self.server_us:4.0f} µs, Redis {self.redis_us:3.0f} µs  "
            f"wrk {self.cpu:3.0%} of machine{ratio}"
        )


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def redis_cpu(redis_url: str) -> float:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(redis_url)
    try:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    finally:
        client.close()


class Probe:
    """Measures the CPU the service and Redis spend during one wrk run."""

    def __init__(self, pgid: int, redis_url: str) -> None:
        self.pgid, self.redis_url = pgid, redis_url

    def run(self, *args: object) -> Result:
        service, store = process_group_cpu(self.pgid), redis_cpu(self.redis_url)
        result = wrk(*args)  # type: ignore[arg-type]
        result.server_us = (process_group_cpu(self.pgid) - service) / max(result.total, 1) * 1e6
        result.redis_us = (redis_cpu(self.redis_url) - store) / max(result.total, 1) * 1e6
        return result


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not found:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(name: str, url: str, duration: int, connections: int, script: Path | None = None, *args: str) -> Result:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Requests/sec" not in out or "50%" not in out:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall / (os.cpu_count() or 1)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return Result(name, rps, p50, p99, errors, total, cpu)


class Server:
    """``kezek serve`` in its own process group; stopped by its PID."""

    def __init__(self, env: dict[str, str], server: str, port: int, workers: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/kezek"), "serve", "--server", server, "--workers", str(workers)],
            env={**env, "KEZEK_PORT": str(port)},
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/v1/rooms/{REGION}", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server} did not start; see {log}")
            time.sleep(0.2)
        time.sleep(1.0)  # every worker up

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def ticket_costs() -> None:
    keys = KeySet.generate()
    signer = TicketSigner(TICKET_SECRET.encode())
    ticket = signer.mint(REGION, ApplicantRefs(TICKET_SECRET.encode()).ref("850101300005"), 12345, "91902049", 0)
    hs_secret = b"k" * 32
    hs = jwt.encode({"sub": "850101300005", "aud": REGION, "exp": 4_000_000_000}, hs_secret, algorithm="HS256")
    ed = keys.sign({"iss": "kezek", "sub": "850101300005", "aud": REGION, "exp": 4_000_000_000, "jti": "x"})
    n = 5000

    def cost(fn: object) -> float:
        return timeit.timeit(fn, number=n) / n * 1e6  # type: ignore[arg-type]

    fresh = cost(lambda: signer._verify_signature(ticket))
    cached = cost(lambda: signer.verify(ticket, REGION))
    hs_cost = cost(lambda: jwt.decode(hs, hs_secret, algorithms=["HS256"], audience=REGION))
    ed_cost = cost(lambda: keys.verify(ed, REGION))
    print("ticket verification, µs per call (this process, one core):")
    print(f"  ticket (itsdangerous HMAC-SHA256), first sight  {fresh:7.1f}")
    print(f"  ticket, cached after first verification          {cached:7.1f}")
    print(f"  JWT HS256 (PyJWT)                               {hs_cost:7.1f}")
    print(f"  JWT EdDSA (PyJWT, the access token)             {ed_cost:7.1f}")


async def prepare_database(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await database.migrate(conn)
        await reference.load_reference(conn)
        await reference.open_demo_window(conn, REGION, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), days=1)
    finally:
        await conn.close()


async def used_memory(client: aioredis.Redis) -> int:
    return int((await client.info("memory"))["used_memory"])


async def fill(redis_url: str, target: int, tickets_file: Path) -> tuple[int, int]:
    """Seat ``target`` more waiting visitors (on top of the join runs' ones) and write a ticket for each
    of them: the polls' tickets; return (waiting in all, key bytes).  (Topping the room up to ``target``
    wrote no ticket at all once the join runs alone seated more than ``target``.)"""
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=30)
    client = aioredis.Redis(connection_pool=pool)
    room = WaitingRoom(client)
    signer = TicketSigner(TICKET_SECRET.encode())
    refs = ApplicantRefs(TICKET_SECRET.encode())  # the server's (KEZEK_TICKET_SECRET)
    now = dt.datetime.now(dt.UTC)
    serial = 0
    lines: list[str] = []
    while len(lines) < target:
        batch = []
        for _ in range(min(2000, target - len(lines))):
            serial += 1
            batch.append(
                refs.ref(make_iin(dt.date(1970, 1, 1) + dt.timedelta(days=serial // 9000), True, serial % 9000))
            )
        places = await asyncio.gather(*(room.join(REGION, ref, now) for ref in batch))
        for ref, place in zip(batch, places, strict=True):
            if isinstance(place, Place) and place.status == "waiting":
                lines.append(signer.mint(REGION, ref, place.seq, place.epoch, place.gen))
    waiting = await client.llen(room_keys(REGION)[1])
    tickets_file.write_text("\n".join(lines) + "\n")  # noqa: ASYNC240 - once, before measuring
    key_bytes = 0
    for key in room_keys(REGION):
        key_bytes += int(await client.memory_usage(key, samples=0) or 0)
    await client.aclose()
    await pool.disconnect()
    return waiting, key_bytes


async def redis_call(redis_url: str, fn: str, *args: object) -> object:
    client = aioredis.Redis.from_url(redis_url)
    try:
        if fn == "memory":
            return await used_memory(client)
        if fn == "configure":
            await WaitingRoom(client).configure(REGION, args[0])  # type: ignore[arg-type]
            return None
        if fn == "flush":
            await client.flushall()
            return None
        if fn == "waiting":
            return await client.llen(room_keys(REGION)[1])
        raise ValueError(fn)
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--visitors", type=int, default=100_000, help="waiting visitors during the poll run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each measurement (medians reported)")
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kezek-bench-")))
        redis_url = os.environ.get("KEZEK_REDIS_URL") or stack.enter_context(LocalRedis(tmp / "redis")).url
        database_url = os.environ.get("KEZEK_DATABASE_URL")
        if not database_url:
            database_url = stack.enter_context(LocalPostgres(tmp / "postgres")).url
        asyncio.run(redis_call(redis_url, "flush"))
        asyncio.run(prepare_database(database_url))
        env = {
            **os.environ,
            "KEZEK_REDIS_URL": redis_url,
            "KEZEK_DATABASE_URL": database_url,
            "KEZEK_SIGNING_KEY_FILE": str(tmp / "signing-key.pem"),
            "KEZEK_TICKET_SECRET": TICKET_SECRET,
            "KEZEK_LOG_LEVEL": "WARNING",
            "KEZEK_DB_POOL_MIN": "1",
            "KEZEK_JOIN_RATE_PER_MINUTE": "0",  # scripts/bench door measures the join rate limit
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        print(
            f"machine: {os.cpu_count()} cores; service: {opts.workers} workers; wrk: 2 threads, "
            f"{opts.connections} connections, {opts.duration} s per run\n"
        )
        ticket_costs()
        print()

        uvicorn_server = Server(env, "uvicorn", free_port(), opts.workers, tmp / "uvicorn.log")
        try:
            uvicorn_ceiling = Probe(uvicorn_server.proc.pid, redis_url).run(
                "ceiling /health (uvicorn)", f"{uvicorn_server.url}/health", opts.duration, opts.connections
            )
        finally:
            uvicorn_server.stop()

        server = Server(env, "granian", free_port(), opts.workers, tmp / "granian.log")
        stack.callback(server.stop)
        probe = Probe(server.proc.pid, redis_url)
        asyncio.run(redis_call(redis_url, "configure", {"max_active": 0, "max_waiting": 10_000_000}))
        memory_before = asyncio.run(redis_call(redis_url, "memory"))
        join_lua = tmp / "join.lua"
        join_lua.write_text(JOIN_LUA)
        poll_lua = tmp / "poll.lua"
        poll_lua.write_text(POLL_LUA)
        tickets = tmp / "tickets.txt"

        # Rounds alternate the ceiling with the measured path, so a neighbour's load on a shared
        # machine hits both alike; the medians are compared.
        ceilings: list[Result] = []
        joins: list[Result] = []
        polls: list[Result] = []
        for _ in range(opts.rounds):
            ceilings.append(
                probe.run("ceiling /health (granian)", f"{server.url}/health", opts.duration, opts.connections)
            )
            joins.append(probe.run("join (new ИИН each)", server.url, opts.duration, opts.connections, join_lua))
        joined = asyncio.run(redis_call(redis_url, "waiting"))
        waiting, key_bytes = asyncio.run(fill(redis_url, opts.visitors, tickets))
        memory_after = asyncio.run(redis_call(redis_url, "memory"))
        for _ in range(opts.rounds):
            polls.append(
                probe.run(
                    f"poll ({waiting:,} waiting)", server.url, opts.duration, opts.connections, poll_lua, str(tickets)
                )
            )
            ceilings.append(
                probe.run("ceiling /health (granian)", f"{server.url}/health", opts.duration, opts.connections)
            )

        ceiling, join, poll = median(ceilings), median(joins), median(polls)
        print("every run:")
        for result in [uvicorn_ceiling, *ceilings, *joins, *polls]:
            print("  " + result.line())
        print("\nmedians:")
        print("  " + ceiling.line())
        print("  " + join.line(ceiling.rps))
        print("  " + poll.line(ceiling.rps))
        print()
        print(f"granian / uvicorn ceiling (2 workers each): {ceiling.rps / uvicorn_ceiling.rps:.2f}")
        print(f"joins accepted during the join runs: {joined:,}")
        # CPU per request is what a neighbour's load on a shared machine does not change: the
        # capacity ratio compares what one ceiling request costs with one join / poll (+ its Redis share)
        base = statistics.median(r.server_us + r.redis_us for r in ceilings)
        for label, runs in (("join", joins), ("poll", polls)):
            cost = statistics.median(r.server_us + r.redis_us for r in runs)
            print(
                f"{label}: CPU per request {cost:.0f} µs (service + Redis) vs ceiling {base:.0f} µs "
                f"-> capacity ratio {base / cost:.2f}"
            )
        per_visitor = (int(memory_after) - int(memory_before)) / max(waiting, 1)  # type: ignore[call-overload]
        print(
            f"Redis memory per waiting visitor: {per_visitor:.0f} B (used_memory delta over {waiting:,}); "
            f"room keys (MEMORY USAGE): {key_bytes / max(waiting, 1):.0f} B  (target <= 200)"
        )
        print(
            f"poll/ceiling = {poll.rps / ceiling.rps:.2f} (target >= 0.6); "
            f"join/ceiling = {join.rps / ceiling.rps:.2f} (target >= 0.4); "
            f"p99 poll {poll.p99:.1f} ms, join {join.p99:.1f} ms, ceiling {ceiling.p99:.1f} ms (target < 50)"
        )


def median(results: list[Result]) -> Result:
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


if __name__ == "__main__":
    main()

"""A wave's request mix at a fixed high rate: what the service's CPU per request is where the capacity model points.

``scripts/bench wave`` paces its waves as a real opening arrives (one connection per family, each
request mostly alone): ~1,100 requests/s at 8,000 families.  Its capacity model extrapolates that
cost to 100,000 families in 60 s, ~7,000 requests/s, where each worker wakes for several requests
at once and a request costs far less.  This generator measures that regime directly: the same
endpoints in a wave's proportions (joins of new families, polls of waiting ones round-robin --
each waiting family polled in turn, as the page polls every few seconds -- and for each admitted
family its schools, a heartbeat, its filing and its release), sent open-loop at ``rate``
requests/s over ``connections`` keep-alive connections; or ``GET /health`` the same way (``bare``),
the baseline.  A family's requests go over the connection of its join whenever that one is free, as
a family's browser keeps its connection, so the worker that minted its tokens checks them (the
report counts how many did: ``own_connection`` of ``family_requests``).

One process of it is ``python -m loadtest.at_rate '<json spec>'``; it writes a JSON file (``out``): what
it sent and got per kind, the rate it reached, how often no connection was free (the service
behind, or the generator), its own CPU seconds and its event loop's lag (so a saturated generator
shows instead of passing for a slow service).  A tiny HTTP/1.1 client on ``asyncio.Protocol``
(uvloop when installed): a generator in Python must stay cheap next to the service it measures.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import random
import resource
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from loadtest.common import people

KINDS = ("join", "poll", "schools", "heartbeat", "apply", "release", "health")
STEPS = ("schools", "heartbeat", "apply", "release")
"""What an admitted family does, in order (the locust Family's: schools, the open form's heartbeat, filing, release)."""


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to the service; one request at a time; answers framed by Content-Length.

    The lean client of both generators here (this module's mix at rate and :mod:`loadtest.lean_wave`'s families):
    ``send`` returns (status, head, body), the head lower-cased (:func:`header` reads it); ``alive`` turns false
    when the server closes the connection, so a caller opens a new one, as geventhttpclient's pool does.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.alive = True
        self.idle = True  # no request of ours in flight on it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = int(header(head, b"content-length") or 0)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((int(head[9:12]), head, body))

    def connection_lost(self, _exc: Exception | None) -> None:
        self.alive = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def send(self, raw: bytes, within: float | None = None) -> tuple[int, bytes, bytes]:
        """Send one request, wait for its answer; ``within`` seconds without it: the connection is closed and
        :class:`TimeoutError` raised (locust's ``network_timeout``; one timer, cheaper than ``asyncio.timeout``)."""
        assert self.transport is not None
        waiter: asyncio.Future[tuple[int, bytes, bytes]] = self.loop.create_future()
        self.waiter = waiter
        self.transport.write(raw)
        if within is None:
            return await waiter
        timer = self.loop.call_later(within, self._expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _expire(self, waiter: asyncio.Future[tuple[int, bytes, bytes]]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError("no answer"))
        self.alive = False
        if self.transport is not None:
            self.transport.abort()


# Linux's IP_BIND_ADDRESS_NO_PORT (socket.IP_BIND_ADDRESS_NO_PORT from Python 3.12)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


async def connect(port: int, source: str | None = None) -> Connection:
    """A new keep-alive connection to the service on 127.0.0.1, from ``source`` (another loopback address,
    e.g. 127.0.0.2: one source address has only the ~28,000 local ports of ``ip_local_port_range`` for
    connections to one server port).

    The local port is left to ``connect`` (``IP_BIND_ADDRESS_NO_PORT``), which picks one free for this
    (source, server) pair and may reuse one in TIME_WAIT.  Chosen by ``bind`` alone, the kernel looked for
    a port no socket holds at all: with a previous run's 9,000 connections in TIME_WAIT that took ~1.5 ms a
    connection, inside the event loop (a wave's generators stalled 10-14 s: measured, see the README).
    """
    loop = asyncio.get_running_loop()
    if not source:
        _, protocol = await loop.create_connection(lambda: Connection(loop), "127.0.0.1", port)
        return protocol
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as create_connection sets it
        sock.bind((source, 0))
        await loop.sock_connect(sock, ("127.0.0.1", port))
        _, protocol = await loop.create_connection(lambda: Connection(loop), sock=sock)
    except BaseException:
        sock.close()
        raise
    return protocol


def header(head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower case) in a lower-cased response head, or None."""
    at = head.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start : end if end >= 0 else None].strip()


def request(
    method: str, path: str, token: str | None = None, body: bytes | None = None, extra: tuple[str, ...] = ()
) -> bytes:
    """The bytes of one HTTP/1.1 request (``extra``: more header lines, e.g. what locust's client sends)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", *extra]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None or method in {"POST", "DELETE"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body or b'')}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class Family:
    __slots__ = ("applicant", "connection", "steps", "ticket", "token")

    def __init__(self, applicant: str) -> None:
        self.applicant = applicant
        self.ticket = ""
        self.token = ""
        self.steps: collections.deque[str] = collections.deque()
        self.connection: Connection | None = None  # the one its join went over


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.region: str = spec["region"]
        self.rng = random.Random(spec.get("seed", 0))
        self.people = people.People(self.rng)
        self.schools = people.reference_region(self.region).schools if spec["mode"] == "mix" else ()
        self.waiting: collections.deque[Family] = collections.deque()
        self.admitted: collections.deque[Family] = collections.deque()
        self.sent = dict.fromkeys(KINDS, 0)
        self.ok = dict.fromkeys(KINDS, 0)
        self.refused = dict.fromkeys(KINDS, 0)  # 4xx: counted, reported (a filing may be refused, a slot ended)
        self.failed = dict.fromkeys(KINDS, 0)  # 5xx or no answer
        self.latency: dict[str, list[float]] = {k: [] for k in KINDS}
        self.no_connection = 0
        self.lags: list[float] = []
        self.idle: collections.deque[Connection] = collections.deque()  # may hold taken ones: skipped
        self.free = 0  # connections idle
        self.own_connection = 0
        self.family_requests = 0

    def _kind(self) -> str:
        if self.spec["mode"] == "bare":
            return "health"
        weights = self.spec["weights"]
        pick = self.rng.random() * (weights["join"] + weights["poll"] + weights["steps"])
        if pick < weights["steps"]:
            if self.admitted:
                return "step"
        elif pick < weights["steps"] + weights["join"]:
            return "join"
        return "poll" if self.waiting else "join"  # nobody admitted yet: a poll (it finds the admitted)

    def _next(self) -> tuple[str, bytes, Family | None]:
        kind = self._kind()
        region = self.region
        if kind == "health":
            return kind, request("GET", "/health"), None
        if kind == "join":
            family = Family(self.people.applicant())
            body = json.dumps({"applicant_iin": family.applicant}).encode()
            return kind, request("POST", f"/v1/rooms/{region}/visitors", body=body), family
        if kind == "poll":
            family = self.waiting.popleft()
            return kind, request("GET", f"/v1/rooms/{region}/visitors/me", family.ticket), family
        family = self.admitted.popleft()
        step = family.steps.popleft()
        if step == "schools":
            return step, request("GET", f"/v1/regions/{region}/schools"), family
        if step == "heartbeat":
            return step, request("POST", f"/v1/rooms/{region}/sessions/heartbeat", family.token), family
        if step == "release":
            return step, request("DELETE", f"/v1/rooms/{region}/sessions/me", family.token), family
        school = self.schools[self.rng.randrange(len(self.schools))]
        form = {
            "applicant_iin": family.applicant, "child_iin": self.people.child(), "school_bin": school.bin,
            "language": school.languages[0], "consent": True,
        }  # fmt: skip
        return step, request("POST", "/v1/applications", family.token, json.dumps(form).encode()), family

    def _answered(self, kind: str, family: Family | None, status: int, body: bytes) -> None:
        if family is None:
            return
        if kind in {"join", "poll"} and status == 200:
            view = json.loads(body)
            family.ticket = view.get("ticket") or family.ticket
            if view.get("status") == "waiting":
                self.waiting.append(family)
            elif view.get("status") == "admitted":
                family.token = view["access_token"]
                family.steps.extend(STEPS)
                self.admitted.append(family)
            return
        if kind == "heartbeat" and status == 200:
            family.token = json.loads(body).get("access_token") or family.token
        if kind in STEPS and family.steps:
            self.admitted.append(family)  # a refused filing still releases its slot, as the portal does

    async def _one(self, connection: Connection, kind: str, raw: bytes, family: Family | None) -> None:
        self.sent[kind] += 1
        started = time.perf_counter()
        try:
            status, _, body = await connection.send(raw)
        except (ConnectionError, OSError):
            self.failed[kind] += 1
            return
        self.latency[kind].append(time.perf_counter() - started)
        if status >= 500:
            self.failed[kind] += 1
        elif status >= 400:
            self.refused[kind] += 1
        else:
            self.ok[kind] += 1
        self._answered(kind, family, status, body)
        if connection.alive:
            self._give_back(connection)

    def _give_back(self, connection: Connection) -> None:
        connection.idle = True
        self.free += 1
        self.idle.append(connection)

    def _take(self, family: Family | None) -> Connection:
        """The family's own connection when it is free, else the longest idle (one is: ``free`` > 0; the
        queue's entries of connections taken since are skipped)."""
        own = family.connection if family is not None else None
        if family is not None and own is not None:
            self.family_requests += 1
        if own is not None and own.idle and own.alive:
            self.own_connection += 1
            connection = own
        else:
            connection = self.idle.popleft()
            while not connection.idle:
                connection = self.idle.popleft()
            if family is not None and (own is None or not own.alive):
                family.connection = connection
        connection.idle = False
        self.free -= 1
        return connection

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        spec = self.spec
        self.opened = spec["connections"]  # opened once, never again: a closed one is dropped (and counted failed)
        for start in range(0, spec["connections"], 200):
            made = await asyncio.gather(
                *(connect(spec["port"]) for _ in range(start, min(start + 200, spec["connections"])))
            )
            for connection in made:
                self._give_back(connection)
        await asyncio.sleep(spec.get("start_at", 0) - time.time())  # the processes of one run start together
        rate, seconds = spec["rate"], spec["seconds"]
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        began = loop.time()
        issued = 0
        tick = 0.002
        pending: set[asyncio.Task[None]] = set()
        while (elapsed := loop.time() - began) < seconds:
            due = int(elapsed * rate) - issued
            for _ in range(due):
                issued += 1
                if not self.free:
                    self.no_connection += 1
                    continue
                kind, raw, family = self._next()
                task = loop.create_task(self._one(self._take(family), kind, raw, family))
                pending.add(task)
                task.add_done_callback(pending.discard)
            intended = loop.time() + tick
            await asyncio.sleep(tick)
            self.lags.append(loop.time() - intended)
        wall = loop.time() - began
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        if pending:
            await asyncio.wait(pending, timeout=10)
        lags = sorted(self.lags) or [0.0]
        return {
            "mode": spec["mode"], "wall": wall, "issued": issued, "no_connection": self.no_connection,
            "opened": self.opened,
            "sent": self.sent, "ok": self.ok, "refused": self.refused, "failed": self.failed,
            "latency": {k: sorted(v) for k, v in self.latency.items() if v},
            "cpu": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
            "lag_p99": lags[int(len(lags) * 0.99)], "lag_max": lags[-1],
            "waiting": len(self.waiting), "admitted": len(self.admitted),
            "own_connection": self.own_connection, "family_requests": self.family_requests,
        }  # fmt: skip


def run_spec(run: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """A generator process: the JSON spec in ``argv[1]``, ``run(spec)`` on uvloop when installed (else asyncio),
    its report written to ``spec["out"]`` (not stdout: the event loop may have left it non-blocking)."""
    spec = json.loads(sys.argv[1])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one connection per family: thousands of them
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    work = run(spec)  # builds the generator: its people, the region's schools, the arrivals
    gc.collect()
    gc.freeze()  # what lasts the whole run is never walked by a collection again (as a served worker's)
    report = runner(work)
    with open(spec["out"], "w") as f:
        json.dump(report, f)


def main() -> None:
    run_spec(lambda spec: Generator(spec).run())


if __name__ == "__main__":
    main()

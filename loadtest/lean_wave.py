"""An opening wave of families on the lean client: ``scripts/bench wave``'s default load generator.

locust (gevent, geventhttpclient) spends about as much CPU per request as the service it measures
(~350 µs): on this 2-core box a 25,000-family wave needed ~0.9 of a core of locust, and the load
generator, not the service, saturated.  This module runs the same families as the locust kit's
``opening_surge`` (:class:`loadtest.common.users.Family`) on :mod:`loadtest.at_rate`'s small HTTP/1.1
client on uvloop, so the machine's CPU goes to the service:

* the same arrivals: ``families`` within ``arrival_seconds``, started in locust's batches (its
  dispatcher adds floor(rate) users per batch, rate = families / arrival seconds) and each family at a
  random moment of its second (:func:`behaviour.arrival_delay`);
* one keep-alive connection per family, opened at its first request (process N from 127.0.0.N+1, so
  the ~28,000 local ports of one source address do not cap the wave), opened again only when the
  server closed it (a GET or DELETE cut on a kept connection is retried once on a new one, a POST
  is not: geventhttpclient's rule), locust's timeouts (10 s to connect, 30 s for an answer) and its
  request headers (``Accept-Encoding``: a large answer is compressed as for locust);
* the same requests in the same order, paced by the same decisions (:mod:`loadtest.common.behaviour`):
  join (again after "not now" or a 5xx), a second device for some, poll at the server's
  ``poll_after_seconds``, give up for some, join again when the ticket ended; when admitted the
  schools, the form's heartbeats, one filing per child, the release, a withdrawal for some;
* the same judgement of every answer, counted as locust counts it: each request is a success or a
  failure by the same rule as ``users.Family`` (a 5xx or no answer always fails; a 4xx where the
  family expects a 2xx fails; "not now" and a 409 on filing do not), its response time recorded
  either way;
* the same end: at ``run_seconds`` (locust's ``--run-time``) the families go on for ``stop_seconds``
  (its ``--stop-timeout``: a user finishes its task, and a family's task is its whole day), then stop
  where they are; a request under way then is not in the statistics (locust kills the user's greenlet
  and records nothing) but is counted apart (``cut``).

One process is ``python -m loadtest.lean_wave '<json spec>'``; ``scripts/bench wave --processes N``
runs N, each with every N-th family.  The report (JSON, ``spec["out"]``): per endpoint (locust's
names) the response times and failures, the failure messages, the connections opened, the
families' journeys (joined, admitted, abandoned, released, filed), the process's own CPU seconds and
its event loop's lag (a saturated generator shows instead of passing for a slow service).
"""

from __future__ import annotations

import asyncio
import collections
import random
import resource
import time
import zlib
from typing import Any

import msgspec

from loadtest import at_rate
from loadtest.common import api, behaviour, people

CONNECT_SECONDS = 10.0
"""locust's ``connection_timeout`` (``KezekUser``)."""
ANSWER_SECONDS = 30.0
"""locust's ``network_timeout`` (``KezekUser``)."""
HEADERS = ("User-Agent: kezek-lean-wave", "Accept-Encoding: gzip, deflate, br")
"""What locust's FastHttpUser sends besides the request's own headers (it asks for compressed answers)."""
LAG_TICK = 0.02
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class Stopped(Exception):
    """The run is over: the family sends nothing more."""


class Wave:
    """This process's families, the statistics of their requests, and the run's clock."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.port: int = spec["port"]
        self.region: str = spec["region"]
        # each process its own loopback source address: one address has ~28,000 local ports towards one server
        # port (ip_local_port_range), fewer than a large wave's families (the clients of a real wave are many);
        # the bench gives each run new ones, so a run never meets the last one's connections in TIME_WAIT
        self.source = spec.get("source") or f"127.0.0.{int(spec.get('process', 0)) + 1}"
        self.opts = behaviour.defaults(**spec.get("options", {}))
        self.rng = random.Random(spec.get("seed") or None)
        lane, lanes = int(spec.get("process", 0)), int(spec.get("processes", 1))
        self.who = people.People(random.Random(self.rng.random()), lane=lane, lanes=lanes)  # no parent in two families
        self.region_data = people.reference_region(self.region)
        self.latency: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        self.failures: collections.Counter[tuple[str, str]] = collections.Counter()
        self.messages: collections.Counter[str] = collections.Counter()
        self.journeys: collections.Counter[str] = collections.Counter()
        self.opened = 0
        self.cut = 0
        self.stopping = False
        self.first = self.last = 0.0
        self.lags: list[float] = []

    def record(self, method: str, name: str, started: float, failure: str | None) -> None:
        """One request, judged: its response time (ms) goes to its endpoint either way, as locust's does."""
        now = time.perf_counter()
        key = (method, name)
        self.latency[key].append((now - started) * 1e3)
        self.last = now
        if failure is not None:
            self.failures[key] += 1
            self.messages[failure] += 1

    def arrivals(self) -> list[float]:
        """Seconds after the start at which this process's families arrive (every ``processes``-th family)."""
        families = int(self.spec["families"])
        rate = max(families / max(float(self.spec["arrival_seconds"]), 0.001), 1.0)
        batch = max(int(rate), 1)  # locust's dispatcher: floor(rate) users every floor(rate) / rate seconds
        index, processes = int(self.spec.get("process", 0)), int(self.spec.get("processes", 1))
        return sorted(
            (i // batch) * batch / rate + behaviour.arrival_delay(self.rng) for i in range(index, families, processes)
        )

    async def _watch_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopping:
            intended = loop.time() + LAG_TICK
            await asyncio.sleep(LAG_TICK)
            self.lags.append(loop.time() - intended)

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        arrivals = self.arrivals()
        await asyncio.sleep(self.spec.get("start_at", 0) - time.time())  # the processes of one run start together
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        began = loop.time()
        self.first = time.perf_counter()
        watcher = loop.create_task(self._watch_lag())
        families: list[Family] = []
        tasks: set[asyncio.Task[None]] = set()
        run_seconds = float(self.spec["run_seconds"])
        for at in arrivals:
            if at >= run_seconds:
                break
            if (wait := at - (loop.time() - began)) > 0:
                await asyncio.sleep(wait)
            family = Family(self)
            families.append(family)
            task = loop.create_task(family.day())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        # locust's --run-time, then its --stop-timeout: the families go on meanwhile (the task is the whole day)
        await asyncio.sleep(max(run_seconds + float(self.spec.get("stop_seconds", 5)) - (loop.time() - began), 0))
        self.stopping = True
        for task in list(tasks):
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        wall = loop.time() - began
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        watcher.cancel()
        lags = sorted(self.lags) or [0.0]
        return {
            "families": len(families), "opened": self.opened, "cut": self.cut, "wall": wall,
            "duration": self.last - self.first,
            "endpoints": [
                {"method": method, "name": name, "latency_ms": sorted(values), "failures": self.failures[method, name]}
                for (method, name), values in sorted(self.latency.items())
            ],
            "messages": dict(self.messages.most_common()), "journeys": dict(self.journeys),
            "cpu": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
            "lag_p99": lags[int(len(lags) * 0.99)], "lag_max": lags[-1],
        }  # fmt: skip


class Family:
    """One family's opening day, as :class:`loadtest.common.users.Family` lives it (the same order and rules)."""

    __slots__ = ("applicant", "connection", "wave")

    def __init__(self, wave: Wave) -> None:
        self.wave = wave
        self.applicant = wave.who.applicant()
        self.connection: at_rate.Connection | None = None  # kept after the day, as a locust user keeps its own

    async def day(self) -> None:
        try:
            token = await self.wait_for_turn()
            if token is not None:
                await self.apply(token)
        except Stopped:
            return

    async def send(
        self, method: str, template: str, token: str | None = None, body: Any = None, **params: str
    ) -> tuple[int, bytes, Any, float]:
        """(status, head, decoded JSON body or None, when it was sent); status 0 when no answer came."""
        wave = self.wave
        if wave.stopping:
            raise Stopped
        raw = at_rate.request(
            method, template.format(region=wave.region, **params), token,
            None if body is None else _encode(body), HEADERS,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            for attempt in range(2):
                connection = self.connection
                kept = connection is not None and connection.alive
                try:
                    if connection is None or not kept:
                        async with asyncio.timeout(CONNECT_SECONDS):
                            connection = self.connection = await at_rate.connect(wave.port, wave.source)
                        wave.opened += 1
                    status, head, payload = await connection.send(raw, ANSWER_SECONDS)
                except TimeoutError:
                    self.connection = None
                    return 0, b"", None, started
                except OSError:  # refused, reset, or closed before the answer
                    self.connection = None
                    if kept and attempt == 0 and method in {"GET", "DELETE"}:
                        continue  # geventhttpclient retries an idempotent request once when a kept connection broke
                    return 0, b"", None, started
                return status, head, _json(head, payload), started
            return 0, b"", None, started
        except asyncio.CancelledError:
            wave.cut += 1  # under way when the run ended: not in the statistics, as locust records nothing
            raise

    def judge(self, method: str, template: str, started: float, status: int, failure: str | None = None) -> bool:
        """Record a request; a 5xx or no answer fails whatever the caller thought (locust's ``_judge_5xx``):
        True when it was one."""
        if status >= 500 or status == 0:
            self.wave.record(method, api.name(template), started, f"HTTP {status}")
            return True
        self.wave.record(method, api.name(template), started, failure)
        return False

    # -- the waiting room ---------------------------------------------------------------------------------------

    async def join(self) -> dict[str, Any] | None:
        wave, rng = self.wave, self.wave.rng
        while True:
            status, head, view, started = await self.send("POST", api.JOIN, body={"applicant_iin": self.applicant})
            if status >= 500 or status == 0:
                self.judge("POST", api.JOIN, started, status)
                await asyncio.sleep(behaviour.join_error_wait(rng))
                continue
            if 200 <= status < 300 and isinstance(view, dict) and view.get("ticket"):
                self.judge("POST", api.JOIN, started, status)
                return view
            code = api.problem_code(view)
            if code in behaviour.NOT_NOW_CODES or status in {429, 503}:
                self.judge("POST", api.JOIN, started, status)
                retry_after = at_rate.header(head, b"retry-after")
                await asyncio.sleep(behaviour.not_now_wait(retry_after, wave.opts.max_poll_seconds, rng))
                continue
            self.judge("POST", api.JOIN, started, status, f"join: HTTP {status} {code}")
            return None

    async def wait_for_turn(self) -> str | None:
        wave, rng, opts = self.wave, self.wave.rng, self.wave.opts
        visitor = await self.join()
        if visitor is None:
            return None
        wave.journeys["joined"] += 1
        if rng.random() < opts.second_device_share:
            await self.join()  # the same parent again from a phone
        abandon = rng.random() < opts.abandon_share
        abandon_after = rng.randrange(1, 4)
        polls = 0
        while visitor.get("status") != "admitted":
            if visitor.get("status") == "closed":
                return None
            if visitor.get("status") not in {"waiting", None}:  # expired, released…: join again, as a person would
                wave.journeys["joined again"] += 1
                visitor = await self.join() or {}
                if not visitor:
                    return None
                continue
            if abandon and polls >= abandon_after:
                wave.journeys["abandoned"] += 1
                return None
            await asyncio.sleep(behaviour.poll_wait(visitor, opts.max_poll_seconds))
            status, _, body, started = await self.send("GET", api.POLL, visitor["ticket"])
            polls += 1
            answered = status == 200 and isinstance(body, dict)
            failure = None if answered else f"poll: HTTP {status} {api.problem_code(body)}"
            if self.judge("GET", api.POLL, started, status, failure):
                continue
            if not answered:
                return None
            visitor = {**body, "ticket": body.get("ticket") or visitor["ticket"]}
        wave.journeys["admitted"] += 1
        token = visitor.get("access_token")
        return token if isinstance(token, str) else None

    # -- applying -----------------------------------------------------------------------------------------------

    async def apply(self, token: str) -> None:
        wave, rng, opts = self.wave, self.wave.rng, self.wave.opts
        status, _, body, started = await self.send("GET", api.SCHOOLS)
        offered = api.schools_in(body) if status == 200 else []
        self.judge("GET", api.SCHOOLS, started, status, None if status == 200 else f"schools: HTTP {status}")
        school, children = behaviour.choose(rng, wave.who, wave.region_data, offered, opts)
        for pause in behaviour.form_pauses(rng.expovariate(1 / max(opts.think_seconds, 0.01))):
            await asyncio.sleep(pause)
            token = await self.heartbeat(token)
        accepted: list[tuple[str, str]] = []
        for child, language, _roster in children:
            form = {
                "applicant_iin": self.applicant, "child_iin": child, "school_bin": school, "language": language,
                "consent": True,
            }  # fmt: skip
            status, _, answer, started = await self.send("POST", api.APPLY, token, form)
            if status in {200, 201} and isinstance(answer, dict) and answer.get("id"):
                self.judge("POST", api.APPLY, started, status)
                wave.journeys["filed"] += 1
                if answer.get("status") == "accepted" and answer.get("withdraw_token"):
                    accepted.append((answer["id"], answer["withdraw_token"]))
            elif status == 409:
                self.judge("POST", api.APPLY, started, status)  # the child already has a live application
            else:
                self.judge("POST", api.APPLY, started, status, f"apply: HTTP {status} {api.problem_code(answer)}")
        await self.release(token)
        for application_id, withdraw_token in accepted:
            if rng.random() < opts.withdraw_share:
                await asyncio.sleep(rng.expovariate(1 / max(opts.withdraw_after, 0.01)))
                status, _, answer, started = await self.send("POST", api.WITHDRAW, withdraw_token, id=application_id)
                failure = None if status == 200 else f"withdraw: HTTP {status} {api.problem_code(answer)}"
                self.judge("POST", api.WITHDRAW, started, status, failure)

    async def heartbeat(self, token: str) -> str:
        status, _, body, started = await self.send("POST", api.HEARTBEAT, token)
        failure = None if status == 200 else f"heartbeat: HTTP {status} {api.problem_code(body)}"
        if self.judge("POST", api.HEARTBEAT, started, status, failure) or status != 200:
            return token
        fresh = body.get("access_token") if isinstance(body, dict) else None
        return fresh if isinstance(fresh, str) else token

    async def release(self, token: str) -> None:
        status, _, _, started = await self.send("DELETE", api.RELEASE, token)
        released = 200 <= status < 300 or status in {404, 409, 410}  # idempotent: the lease may have ended it
        self.judge("DELETE", api.RELEASE, started, status, None if released else f"release: HTTP {status}")
        if released:
            self.wave.journeys["released"] += 1


def _json(head: bytes, payload: bytes) -> Any:
    if not payload:
        return None
    try:
        if at_rate.header(head, b"content-encoding") == b"gzip":
            payload = zlib.decompress(payload, zlib.MAX_WBITS | 16)
        return _decode(payload)
    except (msgspec.DecodeError, zlib.error):
        return None


def main() -> None:
    at_rate.run_spec(lambda spec: Wave(spec).run())


if __name__ == "__main__":
    main()

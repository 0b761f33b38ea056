"""After a run: are the day's promises kept?  Checked from PostgreSQL, Redis, /metrics and the journals.

* **capacity** — no school and language over capacity, and no general
  applicant in a seat held for the school's pre-school roster (pilot para 4);
* **one_live_per_child** — at most one live application per child;
* **decided_once** — every application decided exactly once, and exactly as
  the family was told (the journal's answers agree with PostgreSQL);
* **contingent_once** — every confirmed admission is in the contingent store
  exactly once, and nothing else is (waits ``settle_seconds`` for the outbox).
  Against a database where grade-1 pupils were also *transferred* (issue 6),
  a moved pupil shows as a mismatch: run it on a load-test database;
* **fifo_order** — under ``fifo``, the number of *definite* inversions: pairs
  where A's join was answered before B's was sent, yet A was still seen
  waiting after B was seen admitted (abandoned and expired visitors aside).
  Poll intervals blur the rest, so this is a lower bound, never a false alarm;
* **active_within_max** — never more slots held than the largest
  ``max_active`` seen (from the room state sampled during the run, and from the
  journal's admitted → released intervals);
* **second_device** — a second device got the same place, never a second one;
* **no_5xx** — zero 5xx, by the service's own ``/metrics`` and by the clients;
* **bad_actors** — every bad actor's request got a 4xx and none holds a seat.

``python -m loadtest.invariants --database-url … --journal-dir …`` runs them
on their own; ``scripts/loadtest`` runs them after every run.  A check that
could not run (no journal, no ``applications`` table yet) says so: ``ok`` is
``None``, never a silent pass.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as aioredis

from admission.db import parse_queries
from loadtest.common.journal import read_journals
from loadtest.common.people import BAD_APPLICANT_PREFIX, BAD_CHILD_PREFIX

QUERIES = parse_queries(resources.files("loadtest").joinpath("invariants.sql").read_text("utf-8"), "invariants.sql")
SAMPLE = 5  # offending rows quoted per check


class Check(msgspec.Struct, kw_only=True):
    name: str
    ok: bool | None
    """True: holds; False: broken; None: could not be checked (the summary says why)."""
    summary: str
    details: list[str] = msgspec.field(default_factory=list)
    figures: dict[str, Any] = msgspec.field(default_factory=dict)


class Facts(msgspec.Struct, kw_only=True):
    """What the journals say, folded per applicant."""

    joins: dict[str, tuple[float, float]] = msgspec.field(default_factory=dict)
    admitted: dict[str, tuple[float, float]] = msgspec.field(default_factory=dict)
    released: dict[str, float] = msgspec.field(default_factory=dict)
    excluded: set[str] = msgspec.field(default_factory=set)
    applied: list[dict[str, Any]] = msgspec.field(default_factory=list)
    withdrawn: dict[str, int] = msgspec.field(default_factory=dict)
    bad: list[dict[str, Any]] = msgspec.field(default_factory=list)
    rejoins: list[dict[str, Any]] = msgspec.field(default_factory=list)
    http5xx: list[dict[str, Any]] = msgspec.field(default_factory=list)
    connections: int = 0
    """Connections the load generator opened (every process's own count, added up)."""
    events: int = 0


def read_facts(journal_dir: str | Path) -> Facts:
    facts = Facts()
    for e in read_journals(journal_dir):
        facts.events += 1
        ev = e.get("ev")
        if ev == "join":
            facts.joins.setdefault(e["iin"], (e["t0"], e["t1"]))
        elif ev == "admitted":
            facts.admitted.setdefault(e["iin"], (e["t_wait"], e["t_seen"]))
        elif ev in {"abandoned", "expired"}:
            facts.excluded.add(e["iin"])
        elif ev == "released":
            facts.released.setdefault(e["iin"], e["t"])
        elif ev == "applied":
            facts.applied.append(e)
        elif ev == "withdrawn":
            facts.withdrawn[e["id"]] = e["http"]
        elif ev == "bad":
            facts.bad.append(e)
        elif ev == "rejoin":
            facts.rejoins.append(e)
        elif ev == "http5xx":
            facts.http5xx.append(e)
        elif ev == "connections":
            facts.connections += int(e.get("opened", 0))
    return facts


# -- pure checks over the journal ------------------------------------------------------------------------------


def definite_inversions(joins: dict[str, tuple[float, float]], admitted: dict[str, tuple[float, float]],
                        excluded: Iterable[str] = (), tolerance: float = 0.0) -> int:  # fmt: skip
    """Pairs (A, B): A's join answered before B's was sent, A still waiting after B was seen admitted.

    ``tolerance`` (seconds) forgives answers from a snapshot that old: A counts as still waiting
    only when seen so more than ``tolerance`` after B was seen admitted.

    ``joins[iin] = (sent, answered)``, ``admitted[iin] = (last seen waiting, first seen admitted)``.
    O(n log n): B in order of join sent; A enter a Fenwick tree over "last seen waiting" once answered.
    """
    skip = set(excluded)
    people = [i for i in admitted if i in joins and i not in skip]
    if len(people) < 2:
        return 0
    waits = sorted({admitted[i][0] for i in people})
    rank = {w: n + 1 for n, w in enumerate(waits)}
    tree = [0] * (len(waits) + 1)

    def add(pos: int) -> None:
        while pos <= len(waits):
            tree[pos] += 1
            pos += pos & -pos

    def upto(pos: int) -> int:
        total = 0
        while pos > 0:
            total += tree[pos]
            pos -= pos & -pos
        return total

    by_answer = sorted(people, key=lambda i: joins[i][1])
    by_sent = sorted(people, key=lambda i: joins[i][0])
    inserted = 0
    inversions = 0
    import bisect

    for b in by_sent:
        while inserted < len(by_answer) and joins[by_answer[inserted]][1] < joins[b][0]:
            add(rank[admitted[by_answer[inserted]][0]])
            inserted += 1
        seen_admitted = admitted[b][1] + tolerance
        # A with last-waiting strictly after B was seen admitted
        not_after = bisect.bisect_right(waits, seen_admitted)
        inversions += inserted - upto(not_after)
    return inversions


def max_concurrent(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one instant (ends before starts at equal times)."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    best = current = 0
    for _, step in points:
        current += step
        best = max(best, current)
    return best


def check_fifo(facts: Facts, policy: str | None, max_inversions: int, tolerance: float = 0.0) -> Check:
    if not facts.joins:
        return Check(name="fifo_order", ok=None, summary="no journal of joins: not checked")
    if policy not in {None, "fifo"}:
        return Check(name="fifo_order", ok=None, summary=f"queue_policy is {policy}: order is not FIFO by design")
    inversions = definite_inversions(facts.joins, facts.admitted, facts.excluded, tolerance)
    compared = len([i for i in facts.admitted if i in facts.joins and i not in facts.excluded])
    return Check(
        name="fifo_order",
        ok=inversions <= max_inversions,
        summary=f"{inversions} definite inversion(s) among {compared} admitted visitors "
        f"({len(facts.excluded)} abandoned/expired aside; snapshot tolerance {tolerance:g} s; "
        f"allowed {max_inversions})",
        figures={"inversions": inversions, "admitted": compared, "excluded": len(facts.excluded)},
    )


def check_active(facts: Facts, room_samples: Sequence[dict[str, Any]]) -> Check:
    maxima = [s["max_active"] for s in room_samples if isinstance(s.get("max_active"), int)]
    if not maxima:
        return Check(name="active_within_max", ok=None, summary="no room state with max_active was sampled")
    details: list[str] = []
    highest = 0
    for s in room_samples:
        if isinstance(s.get("max_active"), int):
            highest = max(highest, s["max_active"])
        active = s.get("active")
        if isinstance(active, int) and active > highest:
            details.append(f"t={s.get('t', 0):.1f}: active {active} > max_active {highest}")
    held = [(t_seen, facts.released[i]) for i, (_, t_seen) in facts.admitted.items() if i in facts.released]
    journal_peak = max_concurrent(held)
    if journal_peak > max(maxima):
        details.append(f"the journal shows {journal_peak} slots held at once > max_active {max(maxima)}")
    return Check(
        name="active_within_max",
        ok=not details,
        summary=f"peak active {max((s.get('active') or 0) for s in room_samples)} (sampled), "
        f"{journal_peak} (journal, lower bound); max_active up to {max(maxima)}",
        details=details[:SAMPLE],
        figures={"journal_peak": journal_peak, "max_active_max": max(maxima)},
    )


def check_second_device(facts: Facts) -> Check:
    if not facts.rejoins:
        return Check(name="second_device", ok=None, summary="no family rejoined from a second device")
    moved = [r for r in facts.rejoins if not r.get("same_place")]
    return Check(
        name="second_device",
        ok=not moved,
        summary=f"{len(facts.rejoins) - len(moved)} of {len(facts.rejoins)} second devices kept their place",
        details=[f"applicant {r['iin']} got a worse place" for r in moved[:SAMPLE]],
    )


def check_5xx(facts: Facts, server_5xx: int | None) -> Check:
    client = len(facts.http5xx)
    by_name = collections.Counter(f"{e.get('name')} → {e.get('http')}" for e in facts.http5xx)
    summary = f"clients saw {client} 5xx/no answer" + (
        f", the service counted {server_5xx} 5xx" if server_5xx is not None else " (service /metrics not read)"
    )
    return Check(
        name="no_5xx",
        ok=client == 0 and not server_5xx,
        summary=summary,
        details=[f"{n} × {what}" for what, n in by_name.most_common(SAMPLE)],
        figures={"client_5xx": client, "server_5xx": server_5xx},
    )


# -- checks against PostgreSQL ---------------------------------------------------------------------------------


async def _rows(conn: asyncpg.Connection, name: str, *args: Any) -> list[asyncpg.Record]:
    return list(await conn.fetch(QUERIES[name], *args))


async def check_database(conn: asyncpg.Connection, facts: Facts, settle_seconds: float) -> list[Check]:
    checks: list[Check] = []
    over = await _rows(conn, "over_capacity")
    checks.append(
        Check(
            name="capacity",
            ok=not over,
            summary=f"{len(over)} school/language over capacity" if over else "no school and language over capacity",
            details=[
                f"{r['school_bin']}/{r['language']}: {r['live']} live ({r['general']} general, "
                f"{r['roster']} seats held for the roster) > {r['capacity']} seats"
                for r in over[:SAMPLE]
            ],
        )
    )
    twice = await _rows(conn, "live_per_child")
    checks.append(
        Check(
            name="one_live_per_child",
            ok=not twice,
            summary=f"{len(twice)} child(ren) with several live applications"
            if twice
            else "one live application per child at most",
            details=[f"child {r['child_iin']}: {r['live']} live" for r in twice[:SAMPLE]],
        )
    )
    checks.append(await _check_decided(conn, facts))
    checks.append(await _check_contingent(conn, settle_seconds))
    checks.append(await _check_bad_actors(conn, facts))
    return checks


async def _check_decided(conn: asyncpg.Connection, facts: Facts) -> Check:
    problems = [f"application {r['id']}: status {r['status']}, ground {r['refusal_ground']}"
                for r in await _rows(conn, "undecided")]  # fmt: skip
    told = [a for a in facts.applied if a.get("id")]
    attempts = collections.Counter(a["child"] for a in facts.applied)
    rows = await _rows(conn, "applications_of_children", list(attempts))
    by_id = {r["id"]: r for r in rows}
    per_child = collections.Counter(r["child_iin"] for r in rows)
    for child, n in per_child.items():
        if n > attempts[child]:
            problems.append(f"child {child}: {n} applications in PostgreSQL for {attempts[child]} filed")
    for a in told:
        row = by_id.get(a["id"])
        if row is None:
            problems.append(f"application {a['id']} (told {a['status']}) is not in PostgreSQL")
            continue
        withdrew = facts.withdrawn.get(a["id"]) == 200
        expected = (
            {"refused"} if a["status"] == "refused" else ({"withdrawn"} if withdrew else {"accepted", "confirmed"})
        )
        if row["status"] not in expected:
            problems.append(f"application {a['id']}: told {a['status']}{' then withdrew' if withdrew else ''}, "
                            f"PostgreSQL says {row['status']}")  # fmt: skip
        if row["child_iin"] != a["child"] or row["school_bin"] != a["school"]:
            problems.append(f"application {a['id']}: child/school differ from what was filed")
    unacknowledged = len([r for r in rows if r["id"] not in {a["id"] for a in told}])
    return Check(
        name="decided_once",
        ok=not problems,
        summary=f"{len(told)} decisions told to families, all as recorded"
        if not problems
        else f"{len(problems)} decision(s) wrong, missing or twice",
        details=problems[:SAMPLE],
        figures={"told": len(told), "in_database": len(rows), "unacknowledged": unacknowledged},
    )


async def _check_contingent(conn: asyncpg.Connection, settle_seconds: float) -> Check:
    deadline = time.monotonic() + settle_seconds
    while True:
        mismatch = await _rows(conn, "contingent_mismatch")
        if not mismatch or time.monotonic() >= deadline:
            break
        await asyncio.sleep(1.0)
    confirmed = await conn.fetchval("SELECT count(*) FROM applications WHERE status = 'confirmed'")
    return Check(
        name="contingent_once",
        ok=not mismatch,
        summary=f"{confirmed} confirmed admission(s), each in the contingent store exactly once"
        if not mismatch
        else f"{len(mismatch)} child(ren) missing, doubled or extra in the contingent store",
        details=[
            f"child {r['child_iin']} at {r['school_bin']}: confirmed={r['confirmed']}, "
            f"current enrolments={r['enrolments']}"
            for r in mismatch[:SAMPLE]
        ],
        figures={"confirmed": confirmed},
    )


async def _check_bad_actors(conn: asyncpg.Connection, facts: Facts) -> Check:
    answered = [b for b in facts.bad if b.get("expected_4xx", True)]
    wrong = [b for b in answered if not 400 <= int(b.get("http") or 0) < 500]
    spam = [b for b in facts.bad if b.get("kind") == "join_spam" and int(b.get("places") or 0) > 1]
    seats = await _rows(conn, "bad_actor_applications", BAD_CHILD_PREFIX, BAD_APPLICANT_PREFIX)
    details = [f"{b['kind']} got HTTP {b['http']}" for b in wrong[:SAMPLE]]
    details += [f"join spam got {b['places']} different places" for b in spam[:SAMPLE]]
    details += [f"bad actor holds a seat: application {r['id']} ({r['status']})" for r in seats[:SAMPLE]]
    kinds = collections.Counter(b.get("kind") for b in facts.bad)
    return Check(
        name="bad_actors",
        ok=not (wrong or spam or seats),
        summary=f"{len(answered)} bad requests, {len(wrong)} not refused with a 4xx; {len(seats)} seat(s) taken"
        + ("" if facts.bad else " (no bad actor ran)"),
        details=details,
        figures={"by_kind": dict(kinds)},
    )


async def redis_figures(redis_url: str) -> Check:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.ping()
        info = await client.info("memory")
        keys = await client.dbsize()
    except (OSError, aioredis.RedisError) as exc:
        return Check(name="redis", ok=False, summary=f"Redis did not answer: {exc}")
    finally:
        await client.aclose()
    return Check(
        name="redis",
        ok=True,
        summary=f"Redis answers: {keys} keys, {info.get('used_memory_human')} used",
        figures={"keys": keys, "used_memory": info.get("used_memory")},
    )


async def check_all(
    *,
    database_url: str | None,
    redis_url: str | None,
    journal_dir: str | Path | None,
    queue_policy: str | None = "fifo",
    max_inversions: int = 0,
    fifo_tolerance: float = 1.0,
    settle_seconds: float = 30.0,
    room_samples: Sequence[dict[str, Any]] = (),
    server_5xx: int | None = None,
) -> list[Check]:
    facts = read_facts(journal_dir) if journal_dir else Facts()
    checks: list[Check] = []
    if database_url:
        try:
            conn = await asyncpg.connect(database_url)
        except (OSError, asyncpg.PostgresError) as exc:
            checks.append(Check(name="postgres", ok=False, summary=f"PostgreSQL did not answer: {exc}"))
        else:
            try:
                checks.extend(await check_database(conn, facts, settle_seconds))
            except asyncpg.UndefinedTableError as exc:
                checks.append(Check(name="postgres", ok=None, summary=f"not checked: {exc} (admission not merged?)"))
            finally:
                await conn.close()
    else:
        checks.append(Check(name="postgres", ok=None, summary="no database URL given: PostgreSQL checks skipped"))
    if redis_url:
        checks.append(await redis_figures(redis_url))
    checks.append(check_fifo(facts, queue_policy, max_inversions, fifo_tolerance))
    checks.append(check_active(facts, room_samples))
    checks.append(check_second_device(facts))
    checks.append(check_5xx(facts, server_5xx))
    return checks


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if c.ok is False]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--journal-dir", default=None)
    parser.add_argument("--queue-policy", default="fifo")
    parser.add_argument("--max-inversions", type=int, default=0)
    parser.add_argument("--fifo-tolerance", type=float, default=1.0, help="seconds of snapshot staleness forgiven")
    parser.add_argument("--settle-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    checks = asyncio.run(check_all(**vars(args)))  # the options are named as check_all's parameters
    for c in checks:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[c.ok]
        print(f"{mark} {c.name}: {c.summary}")
        for d in c.details:
            print(f"       {d}")
    print(json.dumps({"failed": [c.name for c in failed(checks)]}))
    return 1 if failed(checks) else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: grade-1 decisions per second with strict capacity, against this run's ceiling.

    .venv/bin/python scripts/bench_admission.py [--decisions 20000] [--concurrency 32]

The ceiling is a bare asyncpg transaction inserting one row (BEGIN, INSERT,
COMMIT) on the same server, pool size and concurrency.  The decisions go
through ``admission.applications.file_application`` (the same code as
``POST /v1/applications`` minus HTTP) against the 200 demo schools with every
window open; ``--hot`` of the traffic goes to 3 hot schools, whose seats run
out early (refusals on ground 7 are decisions too).  At the end every class
set is checked: accepted applications never exceed capacity (overbooking
must be 0).  Uses KEZEK_BENCH_DATABASE_URL when set (a throwaway database is
created there), else starts a throwaway PostgreSQL.  Prints figures; asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from admission import db as database
from admission import reference
from admission.access import AccessClaims
from admission.applications import AgeRule, ApplicationRequest, file_application
from admission.iin import make_iin
from devservices import LocalPostgres


async def _run_workers(total: int, concurrency: int, job: object) -> float:
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            await job(i)  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def ceiling(pool: asyncpg.Pool, total: int, concurrency: int) -> float:
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS bench_ceiling (id uuid PRIMARY KEY, child_iin text NOT NULL,"
        " school_bin text NOT NULL, at timestamptz NOT NULL)"
    )

    async def job(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bench_ceiling (id, child_iin, school_bin, at) VALUES ($1, $2, $3, now())",
                uuid.uuid4(),
                f"{i:012d}",
                "000000000000",
            )

    elapsed = await _run_workers(total, concurrency, job)
    return total / elapsed


async def decisions(pool: asyncpg.Pool, total: int, concurrency: int, hot_share: float) -> tuple[float, dict[str, int]]:
    schools = await pool.fetch(
        "SELECT s.bin, s.region_slug, c.language FROM schools s"
        " JOIN school_classes c ON c.school_bin = s.bin AND c.grade = 1 ORDER BY s.bin, c.language"
    )
    hot = schools[:3]
    rng = random.Random(7)
    children = [
        make_iin(dt.date(2018, 9, 2) + dt.timedelta(days=i % 730), i % 2 == 0, (i // 730) * 3) for i in range(total)
    ]
    applicant = make_iin(dt.date(1990, 1, 1), False, 1)
    now = dt.datetime.now(dt.UTC)
    rule = AgeRule()
    picks = [rng.choice(hot) if rng.random() < hot_share else rng.choice(schools) for _ in range(total)]
    outcome: dict[str, int] = {}

    async def job(i: int) -> None:
        school = picks[i]
        form = ApplicationRequest(
            applicant_iin=applicant, child_iin=children[i], school_bin=school["bin"], language=school["language"],
            consent=True,
        )  # fmt: skip
        claims = AccessClaims(region=school["region_slug"], applicant_iin=applicant, jti=str(i), expires_at=now)
        async with pool.acquire() as conn:
            filed = await file_application(conn, form, claims=claims, age_rule=rule, now=now)
        key = filed.application.status if filed.application.refusal is None else filed.application.refusal.code
        outcome[key] = outcome.get(key, 0) + 1

    elapsed = await _run_workers(total, concurrency, job)
    return total / elapsed, outcome


async def overbooking(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            """
            SELECT coalesce(sum(greatest(0, a.n - c.classes * c.seats_per_class)), 0)
                 + coalesce(sum(greatest(0, a.general - (c.classes * c.seats_per_class - c.roster_held))), 0)
            FROM school_classes c
            JOIN (SELECT school_bin, language, count(*) AS n, count(*) FILTER (WHERE NOT priority) AS general
                  FROM applications WHERE status IN ('accepted', 'confirmed') GROUP BY 1, 2) a
              ON a.school_bin = c.school_bin AND a.language = c.language AND c.grade = 1
            """
        )
    )


async def main_async(args: argparse.Namespace, url: str) -> None:
    admin = await asyncpg.connect(url)
    name = f"kezek_bench_{os.getpid()}"
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    bench_url = url.rsplit("/", 1)[0] + f"/{name}"
    try:
        conn = await asyncpg.connect(bench_url)
        await database.migrate(conn)
        await reference.load_reference(conn)
        now = dt.datetime.now(dt.UTC)
        for region in reference.regions_from_file():
            await reference.set_window(conn, region.slug, now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
        capacity = await conn.fetchval(
            "SELECT sum(classes * seats_per_class - roster_held) FROM school_classes WHERE grade = 1"
        )
        await conn.close()
        pool = await database.create_pool(bench_url, min_size=args.concurrency, max_size=args.concurrency)
        try:
            print(
                f"PostgreSQL {url.rsplit('@', maxsplit=1)[-1]}; pool {args.concurrency}, concurrency {args.concurrency}"
            )
            print(f"schools: 200, grade-1 general seats: {capacity}, hot share {args.hot:.0%} on 3 schools")
            # The machine may be shared: the ceiling is measured before and after, and their mean counts.
            before = await ceiling(pool, args.decisions // 2, args.concurrency)
            rate, outcome = await decisions(pool, args.decisions, args.concurrency, args.hot)
            after = await ceiling(pool, args.decisions // 2, args.concurrency)
            base = (before + after) / 2
            print(
                f"ceiling  (bare single-row insert transaction): {base:9.0f} tx/s  (before {before:.0f}, after {after:.0f})"
            )
            print(f"decisions (file_application, strict capacity): {rate:9.0f} /s")
            print(f"ratio: {rate / base:.2f} x ceiling (target >= 0.5)")
            print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.items())))
            print(f"overbooking: {await overbooking(pool)} (must be 0)")
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hot", type=float, default=0.3, help="share of the traffic aimed at 3 hot schools")
    args = parser.parse_args()
    given = os.environ.get("KEZEK_BENCH_DATABASE_URL")
    if given:
        asyncio.run(main_async(args, given))
        return
    with tempfile.TemporaryDirectory(prefix="kezek-bench-") as tmp, LocalPostgres(Path(tmp)) as server:
        asyncio.run(main_async(args, server.url))


if __name__ == "__main__":
    main()

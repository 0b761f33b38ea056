"""``scripts/loadtest`` end to end: a real service, a real locust run, the report, the exit code."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import asyncpg
import pytest
from loadtest_support import run_loadtest

from devservices import KezekServer, ServerFactory
from devservices.kezek import KEZEK
from loadtest import invariants
from loadtest.common.people import People


@pytest.fixture
def served(database_url: str, redis_url: str, kezek_server: ServerFactory) -> KezekServer:
    """A real ``kezek serve`` (granian, 2 workers) on a free port over the test's own database and Redis,
    Astana's window open now."""
    env = {"KEZEK_DATABASE_URL": database_url}
    subprocess.run([str(KEZEK), "demo-window", "astana"], env=env, check=True, capture_output=True)
    return kezek_server(database_url, redis_url)


def test_runner_serves_the_app_itself_and_fails_a_missed_objective(tmp_path: Path) -> None:
    """No --host: it starts Redis, PostgreSQL and `kezek serve` itself; an impossible p99 fails the run."""
    out = tmp_path / "report"
    result = run_loadtest("background", "--run-time", "8", "--slo-p99-ms", "0.001", "--report-dir", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# Load test: background — FAIL")
    assert "| slo | ❌ FAIL |" in summary
    assert (out / "locust.html").stat().st_size > 10_000
    samples = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any(s.get("requests") for s in samples), "/metrics of the running service was scraped"
    assert (out / "latency.png").read_bytes()[:4] == b"\x89PNG"


async def test_opening_surge_passes_and_the_checker_catches_a_corrupted_database(
    served: KezekServer, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A few hundred families against a real server pass every check; then each promise is broken by hand
    in PostgreSQL and the checker must say which one."""
    out = tmp_path / "report"
    result = run_loadtest(
        "opening_day", "--host", served.host, "--database-url", database_url, "--redis-url", redis_url,
        "--signing-key-file", served.env["KEZEK_SIGNING_KEY_FILE"], "--families", "250", "--arrival-seconds", "10",
        "--run-time", "40", "--max-active", "25",
        "--settle-seconds", "20", "--report-dir", str(out), "--slo-p95-ms", "3000", "--slo-p99-ms", "5000",
        "--", "--max-poll-seconds", "2", "--think-seconds", "0.5", "--withdraw-after", "3",
        "--admin-max-active", "20,60", "--abandon-share", "0.02",
    )  # fmt: skip
    summary = (out / "summary.md").read_text() if (out / "summary.md").exists() else "(no summary)\n"
    assert result.returncode == 0, summary + result.stdout[-3000:] + result.stderr[-3000:]
    facts = invariants.read_facts(out / "journal")
    assert len(facts.admitted) > 100
    assert any(a["status"] == "accepted" for a in facts.applied)
    checks = {
        c.name: c
        for c in await invariants.check_all(
            database_url=database_url, redis_url=redis_url, journal_dir=out / "journal", settle_seconds=20
        )
    }
    for name in ("capacity", "one_live_per_child", "decided_once", "contingent_once", "fifo_order", "bad_actors"):
        assert checks[name].ok is True, checks[name]

    conn = await asyncpg.connect(database_url)
    try:
        fullest = await conn.fetchrow(
            "SELECT a.school_bin, a.language, count(*) AS general, c.classes * c.seats_per_class AS capacity "
            "FROM applications a JOIN school_classes c USING (school_bin, grade, language) "
            "WHERE a.status IN ('accepted', 'confirmed') AND NOT a.priority "
            "GROUP BY 1, 2, 4 ORDER BY 3 DESC LIMIT 1"
        )
        who = People(random.Random(7))
        # over capacity: more roster children appear than the school kept seats for (triggers bypassed)
        await conn.execute("SET session_replication_role = replica")
        await conn.executemany(
            "INSERT INTO preschool_roster (school_bin, child_iin, language) VALUES ($1, $2, $3)",
            [(fullest["school_bin"], who.child(), fullest["language"])
             for _ in range(fullest["capacity"] - fullest["general"] + 1)],
        )  # fmt: skip
        await conn.execute("SET session_replication_role = origin")
        # an enrolment in the contingent store with no confirmed admission behind it
        await conn.execute(
            "INSERT INTO contingent.enrolments"
            " (child_iin, school_bin, grade, language, order_number, order_date, since)"
            " VALUES ($1, $2, 1, $3, 'X-1', current_date, current_date)",
            who.child(), fullest["school_bin"], fullest["language"],
        )  # fmt: skip
        # a bad actor's child holds a seat (and a family's decision vanished)
        await conn.execute(
            "UPDATE applications SET child_iin = '200229' || substr(child_iin, 7) WHERE id = "
            "(SELECT id FROM applications WHERE status = 'accepted' AND NOT priority LIMIT 1)"
        )
    finally:
        await conn.close()
    broken = {
        c.name: c
        for c in await invariants.check_all(
            database_url=database_url, redis_url=redis_url, journal_dir=out / "journal", settle_seconds=0
        )
    }
    assert broken["capacity"].ok is False
    assert broken["contingent_once"].ok is False
    assert broken["bad_actors"].ok is False
    assert broken["decided_once"].ok is False  # a family was told about another child

"""``scripts/loadtest`` end to end: a real service, a real locust run, the report, the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from loadtest_support import Served, run_loadtest, status_of

from loadtest import invariants


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
    served: Served, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A few hundred families against a real server pass every check; then each promise is broken by hand
    in PostgreSQL and the checker must say which one."""
    for path in ("/v1/rooms/astana", "/v1/regions/astana/schools"):
        if status_of(served.host + path) == 404:
            pytest.skip(f"{path} is not served yet: the waiting room (issue 3) / admission (issue 4) are not merged")
    out = tmp_path / "report"
    result = run_loadtest(
        "opening_day", "--host", served.host, "--database-url", database_url, "--redis-url", redis_url,
        "--signing-key-file", served.env["KEZEK_SIGNING_KEY_FILE"], "--families", "250", "--arrival-seconds", "10",
        "--run-time", "40", "--max-active", "25", "--settle-seconds", "20", "--report-dir", str(out),
        "--", "--max-poll-seconds", "2", "--think-seconds", "0.5", "--withdraw-after", "3",
    )  # fmt: skip
    summary = (out / "summary.md").read_text()
    assert result.returncode == 0, summary + result.stdout[-3000:] + result.stderr[-3000:]
    facts = invariants.read_facts(out / "journal")
    assert len(facts.admitted) > 150
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
        accepted = await conn.fetch(
            "SELECT id, child_iin, school_bin, language FROM applications "
            "WHERE status = 'accepted' AND NOT priority ORDER BY decided_at LIMIT 3"
        )
        assert len(accepted) == 3
        first, second, third = accepted
        # over capacity: the school of an accepted child loses its class sets
        await conn.execute(
            "UPDATE school_classes SET classes = 0 WHERE school_bin = $1 AND grade = 1 AND language = $2",
            first["school_bin"], first["language"],
        )  # fmt: skip
        # confirmed, but never pushed to the contingent store
        await conn.execute("UPDATE applications SET status = 'confirmed' WHERE id = $1", second["id"])
        # a bad actor's child holds a seat
        await conn.execute(
            "UPDATE applications SET child_iin = '200229' || substr(child_iin, 7) WHERE id = $1", third["id"]
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
    assert broken["decided_once"].ok is False  # the family of `third` was told about another child

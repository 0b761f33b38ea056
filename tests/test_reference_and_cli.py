"""Reference data loads idempotently and keeps admins' changes; the operator CLI works on a real database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from admission import reference
from admission.signing_keys import KeySet, verify_admin_token
from queue_service.cli import main as cli


async def test_loading_reference_twice_changes_nothing_and_keeps_admin_windows(db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        moved_open = dt.datetime(2026, 6, 1, tzinfo=reference.KZ)
        await reference.set_window(conn, "abai", moved_open, dt.datetime(2026, 9, 1, tzinfo=reference.KZ))
        await conn.execute("UPDATE school_classes SET classes = 9 WHERE grade = 1 AND language = 'kk'")
        before = await conn.fetchval("SELECT count(*) FROM schools") + await conn.fetchval(
            "SELECT count(*) FROM preschool_roster"
        )
        report = await reference.load_reference(conn)
        after = await conn.fetchval("SELECT count(*) FROM schools") + await conn.fetchval(
            "SELECT count(*) FROM preschool_roster"
        )
        assert (report.regions, report.schools) == (20, 200)
        assert before == after
        abai = await reference.get_region(conn, "abai")
        assert abai is not None
        assert abai.window_opens_at == moved_open
        assert await conn.fetchval("SELECT min(classes) FROM school_classes WHERE grade = 1 AND language = 'kk'") == 9


def test_cli_migrate_load_demo_window_and_mint(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEZEK_DATABASE_URL", database_url)
    monkeypatch.setenv("KEZEK_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    runner = CliRunner()

    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output  # the template database is already migrated

    result = runner.invoke(cli, ["load-reference"])
    assert result.exit_code == 0, result.output
    assert "regions: 20" in result.output

    result = runner.invoke(cli, ["demo-window", "kyzylorda", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "DEMO" in result.output

    result = runner.invoke(cli, ["demo-window", "atlantis"])
    assert result.exit_code != 0
    assert "No such region" in result.output

    result = runner.invoke(cli, ["mint-admin-token", "--subject", "aigerim", "--role", "region", "--region", "astana"])
    assert result.exit_code == 0, result.output
    principal = verify_admin_token(KeySet.load_or_create(tmp_path / "key.pem"), result.output.strip())
    assert (principal.role, principal.region) == ("region", "astana")

    result = runner.invoke(cli, ["mint-admin-token", "--subject", "x", "--role", "region"])
    assert result.exit_code != 0
    assert "needs a region" in result.output

    # Only real regions, and a school of the region given (issue 12).
    school_of_astana = "150645269256"  # admission/reference/schools.csv: №1 (Астана)
    refused = [
        (["--role", "region", "--region", "atlantis"], "No such region"),
        (["--role", "school", "--region", "abai", "--school", school_of_astana], "not abai"),
        (["--role", "school", "--region", "astana", "--school", "000000000000"], "No such school"),
        (["--role", "ministry", "--region", "astana"], "names no region"),
    ]
    for arguments, reason in refused:
        result = runner.invoke(cli, ["mint-admin-token", "--subject", "x", *arguments])
        assert result.exit_code != 0, arguments
        assert reason in result.output, result.output
    result = runner.invoke(
        cli,
        ["mint-admin-token", "--subject", "x", "--role", "school", "--region", "astana", "--school", school_of_astana],
    )
    assert result.exit_code == 0, result.output


async def test_demo_window_is_open_now_and_marked(db_pool: asyncpg.Pool) -> None:
    now = dt.datetime(2026, 11, 21, 10, 0, tzinfo=reference.KZ)
    async with db_pool.acquire() as conn:
        await reference.open_demo_window(conn, "astana", now)
        astana = await reference.get_region(conn, "astana")
    assert astana is not None
    assert astana.window_is_demo
    assert astana.window_opens_at <= now < astana.window_closes_at

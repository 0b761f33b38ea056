"""``kezek publish-outbox --once`` delivers what is due to the contingent store."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from admission_helpers import child_iin
from click.testing import CliRunner

from admission.contingent import Enrol, enqueue
from queue_service.cli import main as cli


def test_publish_outbox_once_delivers_pending_events(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    child = child_iin()

    async def pending() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await enqueue(
                    conn,
                    Enrol(child_iin=child, school_bin="150645269256", grade=1, language="kk", order_number="3",
                          order_date=dt.date(2026, 6, 1), since=dt.date(2026, 9, 1)),
                )  # fmt: skip
        finally:
            await conn.close()

    async def enrolled() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM contingent.enrolments WHERE child_iin = $1", child))
        finally:
            await conn.close()

    asyncio.run(pending())
    monkeypatch.setenv("KEZEK_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["publish-outbox", "--once"])
    assert result.exit_code == 0, result.output
    assert "delivered 1 contingent event(s)" in result.output
    assert asyncio.run(enrolled()) == 1
    again = CliRunner().invoke(cli, ["publish-outbox", "--once"])
    assert "delivered 0" in again.output

"""Against a real server process (2 workers): concurrent HTTP applications never overbook, and the
publisher running in the app's lifespan delivers confirmed admissions to the contingent store."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from admission_helpers import (
    APPLICANT,
    GENERAL_SEATS,
    ROSTER,
    SCHOOL,
    child_iin,
    slot_token,
)

from admission.reference import set_window
from admission.signing_keys import KeySet, mint_admin_token
from devservices import ServerFactory

pytestmark = pytest.mark.usefixtures("schools")


@pytest.fixture
def server(database_url: str, redis_url: str, kezek_server: ServerFactory) -> tuple[str, KeySet]:
    served = kezek_server(
        database_url, redis_url, server="uvicorn", workers=2,
        outbox_poll_seconds="0.1", db_pool_max="20", children_per_slot="1000",
    )  # fmt: skip
    return served.url, served.keys


async def test_concurrent_http_applications_against_a_real_server(
    server: tuple[str, KeySet], db_pool: asyncpg.Pool, redis_client: aioredis.Redis
) -> None:
    url, keys = server
    now = dt.datetime.now(dt.UTC)
    async with db_pool.acquire() as conn:
        await set_window(conn, "astana", now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
    # one slot filing for every child (the server allows 1,000 children per slot): this is about seats
    access = {"Authorization": f"Bearer {await slot_token(redis_client, keys)}"}

    async def file(client: httpx.AsyncClient, child: str) -> dict[str, object]:
        body = {"applicant_iin": APPLICANT, "child_iin": child, "school_bin": SCHOOL, "language": "kk", "consent": True}
        response = await client.post(f"{url}/v1/applications", json=body, headers=access)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        answers = await asyncio.gather(
            *(file(client, child_iin()) for _ in range(300)), *(file(client, c) for c in ROSTER)
        )
        accepted = [a for a in answers if a["status"] == "accepted"]
        assert len(accepted) == GENERAL_SEATS + len(ROSTER)
        assert {a["child_iin"] for a in accepted if a["priority"]} == set(ROSTER)

        first = next(a for a in accepted if not a["priority"])
        withdrawn = await client.post(
            f"{url}/v1/applications/{first['id']}/withdraw",
            headers={"Authorization": f"Bearer {first['withdraw_token']}"},
        )
        assert withdrawn.status_code == 200
        more = await asyncio.gather(*(file(client, child_iin()) for _ in range(40)))
        assert [a["status"] for a in more].count("accepted") == 1

        director = mint_admin_token(keys, "director-900", "school", region="astana", school=SCHOOL)
        admin = {"Authorization": f"Bearer {director}"}
        confirmed = await client.post(
            f"{url}/v1/admin/schools/{SCHOOL}/confirmations", json={"order_number": "15-Б", "order_date": "2026-06-20"},
            headers=admin,
        )  # fmt: skip
        assert confirmed.json()["count"] == GENERAL_SEATS + len(ROSTER)
        for _ in range(100):  # the server's own publisher delivers them
            enrolled = await db_pool.fetchval(
                "SELECT count(*) FROM contingent.enrolments WHERE school_bin = $1 AND ended_on IS NULL", SCHOOL
            )
            if enrolled == GENERAL_SEATS + len(ROSTER):
                break
            await asyncio.sleep(0.1)
        assert enrolled == GENERAL_SEATS + len(ROSTER)
        metrics = (await client.get(f"{url}/metrics")).text
        assert "kezek_contingent_outbox_lag_seconds" in metrics

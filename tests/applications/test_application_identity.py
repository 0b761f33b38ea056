"""Annex 1 para 2: only the child's parent or legal representative applies, as the portal vouches;
pilot para 6: the parent reads and withdraws the application by the same portal identity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
from admission_helpers import (
    APPLICANT,
    SCHOOL,
    child_iin,
)
from litestar.testing import AsyncTestClient
from portal_helpers import Portal

from admission import reference
from admission.iin import make_iin
from admission.signing_keys import KeySet
from queue_service.app import create_app
from queue_service.settings import Settings

OTHER_PARENT = make_iin(dt.date(1985, 7, 30), False, 777)


async def test_annex_1_para_2_applications_only_for_represented_children_read_and_withdrawn_by_identity(
    settings: Settings, keys: KeySet, tmp_path: Path, db_pool: asyncpg.Pool, schools: None
) -> None:
    async with db_pool.acquire() as conn:
        await reference.open_demo_window(conn, "astana", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    portal = Portal(tmp_path)
    mine, twin, strangers = child_iin(), child_iin(), child_iin()
    me = portal.headers(APPLICANT, [mine, twin])
    async with AsyncTestClient(app=create_app(portal.settings(settings), keys=keys)) as client:
        joined = await client.post("/v1/rooms/astana/visitors", json={"applicant_iin": APPLICANT}, headers=me)
        assert joined.json()["status"] == "admitted", joined.text
        access = {"Authorization": f"Bearer {joined.json()['access_token']}"}

        def form(child: str) -> dict[str, object]:
            return {"applicant_iin": APPLICANT, "child_iin": child, "school_bin": SCHOOL, "language": "kk",
                    "consent": True}  # fmt: skip

        anonymous = await client.post("/v1/applications", json=form(mine), headers=access)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "portal_assertion_invalid")
        bad = {**access, "X-Portal-Assertion": "a.b.c"}
        forged = await client.post("/v1/applications", json=form(mine), headers=bad)
        assert (forged.status_code, forged.json()["code"]) == (401, "portal_assertion_invalid")
        # another applicant the portal vouches for, even listing the child, files nothing in this parent's name
        someone = portal.headers(OTHER_PARENT, [mine])
        not_me = await client.post("/v1/applications", json=form(mine), headers={**access, **someone})
        assert (not_me.status_code, not_me.json()["code"]) == (403, "not_this_applicant")
        not_mine = await client.post("/v1/applications", json=form(strangers), headers={**access, **me})
        assert (not_mine.status_code, not_mine.json()["code"]) == (403, "child_not_represented")
        assert await db_pool.fetchval("SELECT count(*) FROM applications") == 0

        filed = await client.post("/v1/applications", json=form(mine), headers={**access, **me})
        assert filed.status_code == 201, filed.text
        url = f"/v1/applications/{filed.json()['id']}"

        # Read and withdraw with the portal identity alone (no withdraw token) ...
        read = await client.get(url, headers=me)
        assert (read.status_code, read.json()["status"]) == (200, "accepted")
        # ... which another parent's identity, or one no longer listing the child, does not give.
        for other in (portal.headers(OTHER_PARENT, [mine]), portal.headers(APPLICANT, [twin])):
            assert (await client.get(url, headers=other)).status_code == 403
            assert (await client.post(f"{url}/withdraw", headers=other)).status_code == 403
        assert (await client.get(url)).status_code == 401
        withdrawn = await client.post(f"{url}/withdraw", headers=me)
        assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")


async def test_demo_mode_cannot_know_the_family_link_so_only_the_withdraw_token_reads_an_application(
    settings: Settings, keys: KeySet, db_pool: asyncpg.Pool, schools: None
) -> None:
    async with db_pool.acquire() as conn:
        await reference.open_demo_window(conn, "astana", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    async with AsyncTestClient(app=create_app(settings, keys=keys)) as client:
        joined = await client.post("/v1/rooms/astana/visitors", json={"applicant_iin": APPLICANT})
        access = {"Authorization": f"Bearer {joined.json()['access_token']}"}
        form = {"applicant_iin": APPLICANT, "child_iin": child_iin(), "school_bin": SCHOOL, "language": "kk",
                "consent": True}  # fmt: skip
        filed = await client.post("/v1/applications", json=form, headers=access)
        assert filed.status_code == 201, filed.text  # any child: demo mode trusts the typed ИИН
        url = f"/v1/applications/{filed.json()['id']}"
        # A portal header proves nothing in demo mode: without the token, 401.
        unproven = await client.get(url, headers={"X-Portal-Assertion": "anything"})
        assert (unproven.status_code, unproven.json()["code"]) == (401, "application_token_required")
        token = {"Authorization": f"Bearer {filed.json()['withdraw_token']}"}
        assert (await client.get(url, headers=token)).status_code == 200

"""Who may request a transfer (annex 1 para 2: the child's parent or legal representative, as the
portal vouches for them), and a school's action at the wrong stage (a 409, never a 500)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from portal_helpers import Portal
from transfer_world import PARENT, World

from admission.iin import make_iin

STRANGER = make_iin(dt.date(1979, 11, 23), True, 4242)


async def test_annex_1_para_2_only_the_portal_vouched_parent_of_the_child_requests_a_transfer(
    world: World, portal: Portal, portal_client: AsyncTestClient[Litestar]
) -> None:
    school_from, school_to = world.schools["astana"][:2]
    child, sibling = await world.enrolled_child(school_from), await world.enrolled_child(school_from)
    body = world.portal_body(child, school_to, "bullying")
    anonymous = await portal_client.post("/v1/transfers", json=body)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "portal_assertion_invalid")
    forged = await portal_client.post("/v1/transfers", json=body, headers={"X-Portal-Assertion": "a.b.c"})
    assert (forged.status_code, forged.json()["code"]) == (401, "portal_assertion_invalid")
    # The stranger is vouched for -- as the stranger, not as the parent named in the body.
    stranger = await portal_client.post("/v1/transfers", json=body, headers=portal.headers(STRANGER, [child]))
    assert (stranger.status_code, stranger.json()["code"]) == (403, "not_this_applicant")
    # The parent, but the portal lists only their other child.
    not_theirs = await portal_client.post("/v1/transfers", json=body, headers=portal.headers(PARENT, [sibling]))
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (403, "child_not_represented")
    assert await world.pool.fetchval("SELECT count(*) FROM transfers") == 0
    mine = await portal_client.post("/v1/transfers", json=body, headers=portal.headers(PARENT, [child, sibling]))
    assert mine.status_code == 201, mine.text
    assert mine.json()["status"] == "pending"


async def test_every_school_action_at_the_wrong_stage_is_409_transfer_wrong_stage(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    child, school_from, school_to = await world.moving_pupil()
    created = await client.post("/v1/transfers", json=world.portal_body(child, school_to, "bullying"))
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    receiving, departing = world.bearer(world.school_admin(school_to)), world.bearer(world.school_admin(school_from))
    order = {"kind": "admission", "number": "17-П", "date": "2026-04-20"}
    too_early = [
        ("POST", "departure", {"arrival_talon_number": "T-1"}, departing),
        ("POST", "orders", order, receiving),
    ]
    for method, action, payload, who in too_early:
        response = await client.request(method, f"/v1/admin/transfers/{tid}/{action}", json=payload, headers=who)
        assert response.status_code == 409, f"{action}: {response.text}"
        problem = response.json()
        assert (problem["code"], problem["status"]) == ("transfer_wrong_stage", 409)
        assert response.headers["content-type"].startswith("application/problem+json")
    decision = {"accept": True}
    first = await client.post(f"/v1/admin/transfers/{tid}/decision", json=decision, headers=receiving)
    assert first.status_code == 200, first.text
    double_click = await client.post(f"/v1/admin/transfers/{tid}/decision", json=decision, headers=receiving)
    assert (double_click.status_code, double_click.json()["code"]) == (409, "transfer_wrong_stage")
    assert "accepted" in double_click.json()["title"]  # the stage it is at, in the parent's language

    async def wrong_stage(action: str, payload: dict[str, Any], who: dict[str, str]) -> None:
        response = await client.post(f"/v1/admin/transfers/{tid}/{action}", json=payload, headers=who)
        assert (response.status_code, response.json()["code"]) == (409, "transfer_wrong_stage"), response.text

    # a portal transfer has no talons: the departing school's departure step is not this one's
    await wrong_stage("departure", {"arrival_talon_number": "T-1"}, departing)
    expulsion = {"kind": "expulsion", "number": "18-П", "date": "2026-04-20"}
    assert (await client.post(f"/v1/admin/transfers/{tid}/orders", json=order, headers=receiving)).status_code == 200
    await wrong_stage("orders", order, receiving)  # the same order twice (a double click)
    done = await client.post(f"/v1/admin/transfers/{tid}/orders", json=expulsion, headers=departing)
    assert (done.status_code, done.json()["status"]) == (200, "completed"), done.text
    for action, payload, who in [
        ("orders", expulsion, departing), ("orders", order, receiving),
        ("decision", {"accept": False, "refusal_ground": 7, "reason": "-", "employee": None}, receiving),
    ]:  # fmt: skip
        await wrong_stage(action, payload, who)

    # a refused transfer takes no prevention-work reference
    other = await world.enrolled_child(school_from)
    no_consent = {**world.portal_body(other, school_to, "bullying"), "consent": False}
    refused = await client.post("/v1/transfers", json=no_consent)
    assert (refused.status_code, refused.json()["status"]) == (201, "refused"), refused.text
    attach = await client.put(
        f"/v1/admin/transfers/{refused.json()['id']}/prevention-ref", json={"reference": "PR-1"}, headers=departing
    )
    assert (attach.status_code, attach.json()["code"]) == (409, "transfer_wrong_stage"), attach.text


async def test_assertion_mode_the_parent_reads_their_transfer_and_its_stage_by_the_portal_identity_alone(
    world: World, portal: Portal, portal_client: AsyncTestClient[Litestar]
) -> None:
    school_from, school_to = world.schools["astana"][:2]
    child, sibling = await world.enrolled_child(school_from), await world.enrolled_child(school_from)
    paper, paper_child, _, _ = await world.accepted_paper_transfer("astana", dt.datetime.now(dt.UTC))
    family = [child, sibling, paper_child]
    body = world.portal_body(child, school_to, "bullying")
    created = await portal_client.post("/v1/transfers", json=body, headers=portal.headers(PARENT, family))
    assert created.status_code == 201, created.text
    tid, token = created.json()["id"], created.json()["transfer_token"]
    url = f"/v1/transfers/{tid}"

    nobody = await portal_client.get(url)
    assert (nobody.status_code, nobody.json()["code"]) == (401, "unauthenticated")
    forged = await portal_client.get(url, headers={"X-Portal-Assertion": "a.b.c"})
    assert (forged.status_code, forged.json()["code"]) == (401, "portal_assertion_invalid")
    expired = portal.headers(PARENT, family, exp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert (await portal_client.get(url, headers=expired)).status_code == 401
    # Someone else the portal vouches for, even one claiming the child, does not read it.
    stranger = await portal_client.get(url, headers=portal.headers(STRANGER, [child]))
    assert (stranger.status_code, stranger.json()["code"]) == (403, "not_this_applicant")
    # The parent, once the portal no longer lists the child (custody moved): not theirs to read.
    not_theirs = await portal_client.get(url, headers=portal.headers(PARENT, [sibling]))
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (403, "child_not_represented")

    mine = await portal_client.get(url, headers=portal.headers(PARENT, family))
    assert mine.status_code == 200, mine.text
    assert (mine.json()["id"], mine.json()["status"], mine.json()["child_iin"]) == (tid, "pending", child)
    assert mine.json()["transfer_token"] is None  # the token is shown once, when requested
    by_token = await portal_client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert (by_token.status_code, by_token.json()["status"]) == (200, "pending")

    # The stage moves on; the parent sees it by identity.
    receiving = world.bearer(world.school_admin(school_to))
    decided = await portal_client.post(f"/v1/admin/transfers/{tid}/decision", json={"accept": True}, headers=receiving)
    assert decided.status_code == 200, decided.text
    later = await portal_client.get(url, headers=portal.headers(PARENT, family))
    assert later.json()["status"] == "accepted"
    assert later.json()["notification_jws"]

    # A paper request the school registered gave the parent no token: the identity reads it.
    on_paper = await portal_client.get(f"/v1/transfers/{paper.id}", headers=portal.headers(PARENT, family))
    assert on_paper.status_code == 200, on_paper.text
    assert (on_paper.json()["path"], on_paper.json()["status"]) == ("paper", "accepted")
    # One transfer's token does not read another.
    other = await portal_client.get(f"/v1/transfers/{paper.id}", headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 401


async def test_demo_mode_a_transfer_is_read_with_its_token_only(
    world: World, client: AsyncTestClient[Litestar], portal: Portal
) -> None:
    child, _, school_to = await world.moving_pupil()
    created = await client.post("/v1/transfers", json=world.portal_body(child, school_to, "bullying"))
    assert created.status_code == 201, created.text
    url, token = f"/v1/transfers/{created.json()['id']}", created.json()["transfer_token"]
    assert (await client.get(url)).status_code == 401
    # Demo mode proves nobody: an assertion header, even a well-formed one, reads nothing.
    # ``portal``'s key is one Kezek does not know: demo mode ignores the header whatever signed it
    claimed = await client.get(url, headers={"X-Portal-Assertion": portal.assertion(PARENT, [child])})
    assert claimed.status_code == 401
    read = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert (read.status_code, read.json()["status"]) == (200, "pending")


async def test_a_nul_in_the_forms_free_text_is_a_4xx_problem_and_nothing_is_stored(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    """A form valid in every other way: the NUL reaches the store, which cannot hold it (issue 12)."""
    child, _, school_to = await world.moving_pupil()
    for field in ("child_full_name", "applicant_full_name", "registered_address"):
        body = {**world.portal_body(child, school_to, "bullying"), field: "Серікбаева\x00Аружан"}
        response = await client.post("/v1/transfers", json=body)
        assert 400 <= response.status_code < 500, f"{field}: {response.status_code} {response.text[:200]}"
        assert response.headers["content-type"].startswith("application/problem+json"), field
    assert await world.pool.fetchval("SELECT count(*) FROM transfers") == 0
    assert (await client.post("/v1/transfers", json=world.portal_body(child, school_to, "bullying"))).status_code == 201

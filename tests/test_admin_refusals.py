"""Every refused admin attempt (403) is in the audit log, with who tried what."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.signing_keys import KeySet, mint_admin_token


async def test_every_refused_admin_attempt_is_audited(client: AsyncTestClient[Litestar], keys: KeySet) -> None:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    abai = bearer(mint_admin_token(keys, "abai-officer", "region", region="abai"))
    school = bearer(mint_admin_token(keys, "school-clerk", "school", region="astana", school="150645269256"))
    ministry = bearer(mint_admin_token(keys, "minister", "ministry"))
    attempts = [
        ("PATCH", "/v1/admin/rooms/astana", {"max_active": 1}, abai),
        ("PUT", "/v1/admin/regions/astana/auto-confirm", {"enabled": True}, abai),
        ("GET", "/v1/admin/audit", None, school),
    ]
    for method, path, body, who in attempts:
        response = await client.request(method, path, json=body, headers=who)
        assert response.status_code == 403, f"{method} {path}: {response.text}"
    # A forged token is a 401, not an admin's act: nothing to audit.
    assert (await client.get("/v1/admin/audit", headers=bearer("forged.token.x"))).status_code == 401

    log = await client.get("/v1/admin/audit", headers=ministry)
    refused = [(e["actor"], e["actor_role"], e["target"]) for e in log.json() if e["action"] == "refused"]
    assert sorted(refused) == sorted([
        ("abai-officer", "region", "PATCH /v1/admin/rooms/astana"),
        ("abai-officer", "region", "PUT /v1/admin/regions/astana/auto-confirm"),
        ("school-clerk", "school", "GET /v1/admin/audit"),
    ])  # fmt: skip
    # The region's own admin sees its officer's refused attempts in its region's log.
    own = await client.get("/v1/admin/audit", headers=abai)
    assert {e["action"] for e in own.json()} == {"refused"}


async def test_an_admin_refused_in_the_console_is_audited_too(client: AsyncTestClient[Litestar], keys: KeySet) -> None:
    """The console's session holds the admin's token: a page or a form it refuses is in the log like an API call."""
    form = await client.get("/admin/sign-in")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    officer = mint_admin_token(keys, "abai-officer", "region", region="abai")
    signed = await client.post("/admin/sign-in", data={"token": officer, "_csrf_token": csrf.group(1)})
    assert signed.status_code == 200, signed.text
    page = await client.get("/admin/rooms/astana")
    assert page.status_code == 403
    token = re.search(r'name="_csrf_token" value="([^"]+)"', signed.text)
    assert token is not None
    save = await client.post("/admin/rooms/astana", data={"max_active": "1", "_csrf_token": token.group(1)})
    assert save.status_code == 403, save.text

    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    log = await client.get("/v1/admin/audit", headers=ministry)
    refused = [(e["actor"], e["actor_role"], e["target"]) for e in log.json() if e["action"] == "refused"]
    assert sorted(refused) == [
        ("abai-officer", "region", "GET /admin/rooms/astana"),
        ("abai-officer", "region", "POST /admin/rooms/astana"),
    ]


@pytest.mark.parametrize("path", ["/v1/admin/audit", "/v1/admin/monitoring/decisions", "/v1/admin/transfer-events"])
async def test_a_region_wide_list_is_the_ministrys_anywhere_a_region_admins_at_home_and_no_school_admins(
    client: AsyncTestClient[Litestar], keys: KeySet, path: str
) -> None:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    ministry = bearer(mint_admin_token(keys, "minister", "ministry"))
    astana = bearer(mint_admin_token(keys, "astana-office", "region", region="astana"))
    school = bearer(mint_admin_token(keys, "school-clerk", "school", region="astana", school="150645269256"))
    answers = [
        (await client.get(path, params=params, headers=who)).status_code
        for who, params in [
            (ministry, {}),
            (ministry, {"region": "abai"}),
            (astana, {}),
            (astana, {"region": "astana"}),
            (astana, {"region": "abai"}),
            (school, {}),
            (school, {"region": "astana"}),
        ]
    ]
    assert answers == [200, 200, 200, 200, 403, 403, 403]

"""Every refused admin attempt (403) is in the audit log, with who tried what."""

from __future__ import annotations

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

"""The para 19 notification: signed by the receiving school, verifiable by anyone with its published key."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from transfer_world import HEAD, World, kz

from admission.transfers import service

ACCEPTED_AT = kz(2026, 4, 15, 11)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(token: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """What an outside party does: a stock JOSE library and the school's published JWK."""
    key = jwt.PyJWK(jwk)
    payload: bytes = jwt.PyJWS().decode(token, key, algorithms=["EdDSA"])
    decoded: dict[str, Any] = json.loads(payload)
    return decoded


def _altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        return {k: _altered(v) for k, v in value.items()} or {"x": 1}
    if value is None:
        return "x"
    return [*value, "x"]


def _leaves(payload: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, value in payload.items():
        if isinstance(value, dict) and value:
            found.extend(_leaves(value, (*prefix, key)))
        else:
            found.append((*prefix, key))
    return found


def _with(payload: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = _altered(node[path[-1]])
    return copy


async def test_an_accepted_transfer_carries_a_notification_signed_by_the_receiving_school(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    child, school_from, school_to = await world.moving_pupil()
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, world.request(child, school_to), ACCEPTED_AT)
        t = await service.decide(conn, world.school_admin(school_to), t.id, ACCEPTED_AT, accept=True)
    assert t.notification_jws is not None

    published = (await client.get(f"/v1/schools/{school_to}/signing-key")).json()
    notification = _verify(t.notification_jws, published["jwk"])
    # Para 19: the pupil's full name, date of birth, grade, language; the school's name, phone, address, e-mail/site.
    assert notification["kind"] == "transfer_accepted"
    assert notification["pupil_full_name"] == "Серікбаев Әлихан Бауыржанұлы"
    assert notification["pupil_birth_date"] == "2015-03-01"
    assert (notification["grade"], notification["language"]) == (5, "kk")
    school = notification["school"]
    row = await world.pool.fetchrow("SELECT * FROM schools WHERE bin = $1", school_to)
    assert school["name_kk"] == row["name_kk"]
    assert school["phone"] == row["phone"]
    assert school["address"] == row["address"]
    assert school["email"] == row["email"]
    assert school["website"] == row["website"]

    header_b64, payload_b64, signature_b64 = t.notification_jws.split(".")
    for path in _leaves(notification):
        forged = f"{header_b64}.{_b64(json.dumps(_with(notification, path)).encode())}.{signature_b64}"
        with pytest.raises(jwt.InvalidSignatureError):
            _verify(forged, published["jwk"])
    # Byte-level changes too: anywhere in the payload, and in the signature.
    raw = bytearray(_unb64(payload_b64))
    for index in range(0, len(raw), 17):
        changed = bytearray(raw)
        changed[index] ^= 0x01
        with pytest.raises(jwt.InvalidSignatureError):
            _verify(f"{header_b64}.{_b64(bytes(changed))}.{signature_b64}", published["jwk"])
    signature = bytearray(_unb64(signature_b64))
    signature[0] ^= 0x80
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(f"{header_b64}.{payload_b64}.{_b64(bytes(signature))}", published["jwk"])

    # Another school's published key does not verify it.
    other = (await client.get(f"/v1/schools/{school_from}/signing-key")).json()
    assert other["kid"] != published["kid"]
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(t.notification_jws, other["jwk"])
    # The PEM form verifies just the same.
    pem_key = jwt.algorithms.OKPAlgorithm.from_jwk(json.dumps(published["jwk"]))
    assert jwt.PyJWS().decode(t.notification_jws, pem_key, algorithms=["EdDSA"])


async def test_a_refusal_is_a_signed_motivated_notification(world: World, client: AsyncTestClient[Litestar]) -> None:
    school_from, school_to = world.schools["abai"][:2]
    child = await world.enrolled_child(school_from)
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, world.request(child, school_to), ACCEPTED_AT)
        t = await service.decide(
            conn,
            world.school_admin(school_to),
            t.id,
            ACCEPTED_AT,
            accept=False,
            refusal_ground=1,
            reason="forged",
            employee=HEAD,
        )
    published = (await client.get(f"/v1/schools/{school_to}/signing-key")).json()
    notification = _verify(t.notification_jws or "", published["jwk"])
    assert notification["kind"] == "transfer_refused"
    assert notification["refusal"]["ground"] == 1
    assert notification["refusal"]["detail"] == "forged"
    assert "unreliable" in notification["refusal"]["reason_en"]


async def test_the_signing_key_of_an_unknown_school_is_not_found(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/schools/000000000000/signing-key")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_school"


async def test_a_transfer_id_that_is_not_a_uuid_is_a_404_problem(client: AsyncTestClient[Litestar]) -> None:
    """The path declares the id a UUID (OpenAPI ``format: uuid``); anything else names no transfer."""
    response = await client.get("/v1/transfers/not-a-uuid", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_found"

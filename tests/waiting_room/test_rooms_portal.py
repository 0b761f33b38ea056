"""Portal identity: in ``assertion`` mode nobody can join as someone else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from litestar.testing import AsyncTestClient
from room_helpers import iins

from admission.signing_keys import KeySet
from queue_service.app import create_app
from queue_service.settings import Settings

KEYS: dict[str, Callable[[], Any]] = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


def assertion(key: Any, algorithm: str, sub: str, **overrides: Any) -> str:
    claims = {"sub": sub, "aud": "kezek", "exp": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), **overrides}
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
async def test_assertion_mode_requires_a_portal_signed_assertion_for_that_iin(
    algorithm: str, settings: Settings, keys: KeySet, astana_open_now: None, tmp_path: Path
) -> None:
    portal_key = KEYS[algorithm]()
    public_file = tmp_path / "portal.pem"
    public_file.write_bytes(
        portal_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    app = create_app(
        msgspec.structs.replace(settings, portal_auth="assertion", portal_public_key_file=str(public_file)), keys=keys
    )
    me, other = iins(2)
    url = "/v1/rooms/astana/visitors"
    async with AsyncTestClient(app=app) as client:
        missing = await client.post(url, json={"applicant_iin": me})
        assert (missing.status_code, missing.json()["code"]) == (401, "portal_assertion_invalid")
        stranger = assertion(portal_key, algorithm, other)  # a valid assertion, for someone else's ИИН
        response = await client.post(url, json={"applicant_iin": me}, headers={"X-Portal-Assertion": stranger})
        assert (response.status_code, response.json()["code"]) == (403, "not_this_applicant")
        refusals = [
            assertion(KEYS[algorithm](), algorithm, me),  # not the portal's key
            assertion(portal_key, algorithm, me, exp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
            assertion(portal_key, algorithm, me, aud="another-service"),
            jwt.encode(
                {"sub": me, "aud": "kezek", "exp": 4_000_000_000},
                "a-shared-secret-guess-that-is-long-enough-for-hs256",
                algorithm="HS256",
            ),
        ]
        for bad in refusals:
            response = await client.post(url, json={"applicant_iin": me}, headers={"X-Portal-Assertion": bad})
            assert (response.status_code, response.json()["code"]) == (401, "portal_assertion_invalid")
        good = assertion(portal_key, algorithm, me)
        joined = await client.post(url, json={"applicant_iin": me}, headers={"X-Portal-Assertion": good})
        assert joined.status_code == 200
        assert joined.json()["status"] in ("waiting", "admitted")


async def test_demo_mode_trusts_the_typed_iin_but_validates_it(
    rooms: AsyncTestClient[Any],
) -> None:
    me = iins(1)[0]
    assert (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": me})).status_code == 200
    wrong_digit = me[:11] + str((int(me[11]) + 1) % 10)
    assert (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": wrong_digit})).status_code == 422

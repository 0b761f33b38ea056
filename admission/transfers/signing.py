"""Schools' signatures on transfer notifications (model rules para 19: signed with the provider's ЭЦҚ).

The stand-in for a school's ЭЦҚ is an Ed25519 key per school, created on first
use and kept in ``school_signing_keys``; its public half is published (JWK and
PEM at ``GET /v1/schools/{bin}/signing-key``).  A notification is a compact JWS
(RFC 7515, ``alg`` EdDSA per RFC 8037) whose payload is the notification's JSON:
anyone verifies it with the school's published key and any JOSE library, and any
change to the payload, header or signature breaks it.

In production the private half lives in the school's NCA token, not in our
database; this table is what the pilot's signing service would replace.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import jwt
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from admission.db import QUERIES, Connection
from admission.reference import school_region
from admission.transfers.errors import InvalidSignature

ALGORITHM = "EdDSA"
NOTIFICATION_TYPE = "kezek-transfer-notification"
_JWS = jwt.PyJWS()
T = TypeVar("T")


class SchoolKey:
    """One school's signing key pair and its key id."""

    def __init__(self, school_bin: str, kid: str, private_key: Ed25519PrivateKey) -> None:
        self.school_bin = school_bin
        self.kid = kid
        self.private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self.public_key))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def sign(self, payload: bytes) -> str:
        """A compact JWS over ``payload``."""
        return _JWS.encode(
            payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": NOTIFICATION_TYPE}
        )


async def school_key(conn: Connection, school_bin: str) -> SchoolKey:
    """The school's key, created (once, even under concurrent first use) when it has none."""
    row = await conn.fetchrow(QUERIES["get_school_signing_key"], school_bin)
    if row is None:
        await school_region(conn, school_bin)  # UnknownSchool when there is no such school
        fresh = Ed25519PrivateKey.generate()
        raw_private = fresh.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        raw_public = fresh.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        await conn.execute(
            QUERIES["insert_school_signing_key"],
            school_bin,
            f"{school_bin}-{raw_public.hex()[:12]}",
            raw_private,
            raw_public,
        )
        row = await conn.fetchrow(QUERIES["get_school_signing_key"], school_bin)
        assert row is not None
    return SchoolKey(row["school_bin"], row["kid"], Ed25519PrivateKey.from_private_bytes(row["private_key"]))


def verify(token: str, public_key: Ed25519PublicKey) -> bytes:
    """The payload of the JWS ``token`` when ``public_key`` verifies it; InvalidSignature otherwise."""
    try:
        payload: bytes = _JWS.decode(token, public_key, algorithms=[ALGORITHM])
    except (jwt.PyJWTError, CryptoInvalidSignature, ValueError) as exc:
        raise InvalidSignature(str(exc)) from exc
    return payload

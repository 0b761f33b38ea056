"""Kezek's signing key and the admin tokens it signs.

One Ed25519 key (a PEM file, created on first use) signs the waiting room's
access tokens and the admins' bearer tokens; its public half is published at
``/.well-known/jwks.json`` so the egov portal and other services verify them
without calling us.  Tokens are JWTs made and checked with PyJWT.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from admission.errors import Forbidden, InvalidInput, Unauthenticated

ISSUER = "kezek"
ADMIN_AUDIENCE = "kezek-admin"
ALGORITHM = "EdDSA"
AdminRole = Literal["ministry", "region", "school"]
SIGNATURES_KEPT = 50_000
"""Tokens whose signature this process made or checked, remembered (~20 MB): a family's tokens come back to
the worker that minted them (its keep-alive connection), so heartbeat, filing and release skip Ed25519."""
# every check PyJWT makes but the signature's (which the token passed here before); PyJWT turns them off
# with the signature unless told
_CLAIMS_ONLY = {
    "verify_signature": False, "verify_exp": True, "verify_nbf": True, "verify_iat": True, "verify_aud": True,
    "verify_iss": True, "verify_sub": True, "verify_jti": True,
}  # fmt: skip


class KeySet:
    """The private key, its key id and its public JWK."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.kid = raw.hex()[:16]
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self.public_key))
        self.public_jwk: dict[str, Any] = {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}
        self.raw_private = private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        self._signed: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first

    def _remember(self, token: str) -> None:
        """``token``'s signature is this key's (made or checked here): the next check of it skips Ed25519."""
        signed = self._signed
        while len(signed) >= SIGNATURES_KEPT:
            try:
                del signed[next(iter(signed))]
            except (KeyError, RuntimeError, StopIteration):  # another thread dropped it first
                continue
        signed[token] = None

    @classmethod
    def generate(cls) -> KeySet:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: str | Path) -> KeySet:
        """Read the PEM at ``path``; create it (mode 0600) when it does not exist."""
        file = Path(path)
        if not file.exists():
            key = Ed25519PrivateKey.generate()
            file.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        loaded = serialization.load_pem_private_key(file.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise InvalidInput(f"{file} is not an Ed25519 private key")
        return cls(loaded)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict[str, Any]) -> str:
        token = jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
        self._remember(token)
        return token

    def verify(
        self, token: str, audience: str, required: tuple[str, ...] = ("exp", "sub", "aud", "jti")
    ) -> dict[str, Any]:
        """The claims of ``token``; Unauthenticated when forged, expired or for another audience.

        A token whose signature was made or checked here before (the same text) is not checked with
        Ed25519 again (60 of the 90 µs): every other check PyJWT makes -- expiry, audience, issuer,
        required claims -- runs every time, by PyJWT itself.
        """
        known = token in self._signed
        options: dict[str, Any] = {**_CLAIMS_ONLY, "require": list(required)} if known else {"require": list(required)}
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.public_key, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
                options=options,  # type: ignore[arg-type]
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise Unauthenticated(str(exc)) from exc
        if not known:
            self._remember(token)
        return claims


class AdminPrincipal(msgspec.Struct, frozen=True, kw_only=True):
    """Who an admin token speaks for: a ministry admin, one region's, or one school's."""

    subject: str
    role: AdminRole
    region: str | None = None
    school: str | None = None

    def require_region(self, region: str) -> None:
        """Forbidden unless this admin may act in ``region``."""
        if self.role == "ministry" or (self.role == "region" and self.region == region):
            return
        raise Forbidden(f"{self.role} admin {self.subject} may not act in region {region}")

    def region_in_scope(self, region: str | None) -> str | None:
        """The region a list this ministry or region admin reads is scoped to: ``region`` (None: every
        region, for the ministry), which a region admin may leave out for its own; another is Forbidden.
        A school admin's lists are its school's: the caller scopes those, before asking this."""
        if self.role == "region":
            region = region or self.region
        if region is not None:
            self.require_region(region)
        return region

    def region_to_read(self, region: str | None) -> str | None:
        """The region a region-wide list (the audit log, the monitoring decisions, the transfer events)
        reads for this admin, as :meth:`region_in_scope`: the ministry any (None: every region), a
        region admin its own.  A school admin reads none of them (Forbidden): its lists are its school's."""
        if self.role == "school":
            raise Forbidden(f"school admin {self.subject} reads its school's records, not a region's lists")
        return self.region_in_scope(region)

    def require_school(self, school_bin: str, school_region: str) -> None:
        """Forbidden unless this admin may act for the school ``school_bin`` of ``school_region``."""
        if self.role == "school":
            if self.school == school_bin:
                return
            raise Forbidden(f"school admin {self.subject} may act only for school {self.school}")
        self.require_region(school_region)


def mint_admin_token(
    keys: KeySet,
    subject: str,
    role: AdminRole,
    *,
    region: str | None = None,
    school: str | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=12),
    now: dt.datetime | None = None,
) -> str:
    if role == "region" and not region:
        raise InvalidInput("a region admin token needs a region")
    if role == "school" and not (school and region):
        raise InvalidInput("a school admin token needs a school and its region")
    issued = now or dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": ADMIN_AUDIENCE,
        "sub": subject,
        "role": role,
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    if region:
        claims["region"] = region
    if school:
        claims["school"] = school
    return keys.sign(claims)


def verify_admin_token(keys: KeySet, token: str) -> AdminPrincipal:
    claims = keys.verify(token, ADMIN_AUDIENCE)
    try:
        return msgspec.convert(
            {
                "subject": claims["sub"],
                "role": claims.get("role"),
                "region": claims.get("region"),
                "school": claims.get("school"),
            },
            AdminPrincipal,
        )
    except msgspec.ValidationError as exc:
        raise Unauthenticated(f"admin token has bad claims: {exc}") from exc

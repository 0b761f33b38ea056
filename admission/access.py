"""Access tokens: the waiting room's "your turn, apply now" for one applicant in one region.

A JWT signed with Kezek's Ed25519 key (published at ``/.well-known/jwks.json``):
``aud`` = the region slug, ``sub`` = the applicant's ИИН, ``jti`` = the slot
it holds, ``exp``.  The egov portal and the admission API verify it without
calling the waiting room.
"""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import msgspec

from admission.errors import Unauthenticated
from admission.signing_keys import ISSUER, KeySet
from admission.waiting_room.errors import SessionEnded


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    applicant_iin: str
    jti: str
    expires_at: dt.datetime


def mint_access_token(
    keys: KeySet,
    region: str,
    applicant_iin: str,
    ttl: dt.timedelta,
    *,
    jti: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    issued = now or dt.datetime.now(dt.UTC)
    return keys.sign(
        {
            "iss": ISSUER,
            "aud": region,
            "sub": applicant_iin,
            "jti": jti or uuid.uuid4().hex,
            "iat": issued,
            "exp": issued + ttl,
        }
    )


def verify_access_token(keys: KeySet, token: str, region: str) -> AccessClaims:
    """The claims of an access token for ``region``; Unauthenticated when forged or another region's.

    A genuine token that expired is SessionEnded: it lives as long as its slot's lease.
    """
    try:
        claims = keys.verify(token, region)
    except Unauthenticated as exc:
        if isinstance(exc.__cause__, jwt.ExpiredSignatureError):
            raise SessionEnded("the slot's lease ended") from exc
        raise
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("jti"), str):
        raise Unauthenticated("access token lacks sub or jti")
    return AccessClaims(
        region=region,
        applicant_iin=claims["sub"],
        jti=claims["jti"],
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
    )

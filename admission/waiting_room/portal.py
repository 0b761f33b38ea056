"""Who is joining: the applicant's ИИН as the egov portal vouches for it.

``demo``: the body's ``applicant_iin`` is trusted (a person types it on the
waiting page).  ``assertion``: the portal, which has already authenticated
the parent, sends ``X-Portal-Assertion``: a JWT signed with the portal's key
(ES256 or EdDSA; public key at ``KEZEK_PORTAL_PUBLIC_KEY_FILE``) with
``aud`` = ``kezek``, ``exp`` and ``sub`` = the ИИН, which must equal the
body's -- so nobody can join as someone else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization

from admission.iin import validate_iin
from admission.waiting_room.errors import PortalAssertionInvalid

PORTAL_AUDIENCE = "kezek"
PORTAL_ALGORITHMS = ["ES256", "EdDSA"]


class PortalIdentity:
    def __init__(self, mode: Literal["demo", "assertion"], public_key: Any = None) -> None:
        if mode == "assertion" and public_key is None:
            raise ValueError("assertion mode needs the portal's public key (KEZEK_PORTAL_PUBLIC_KEY_FILE)")
        self.mode = mode
        self.public_key = public_key

    @classmethod
    def from_settings(cls, mode: Literal["demo", "assertion"], public_key_file: str) -> PortalIdentity:
        if mode == "demo":
            return cls("demo")
        key = serialization.load_pem_public_key(Path(public_key_file).read_bytes())
        return cls("assertion", key)

    def applicant(self, claimed_iin: str, assertion: str | None) -> str:
        """The ИИН the applicant may join as; InvalidIin or PortalAssertionInvalid otherwise."""
        iin = validate_iin(claimed_iin)
        if self.mode == "demo":
            return iin
        if not assertion:
            raise PortalAssertionInvalid("the X-Portal-Assertion header is required")
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=PORTAL_ALGORITHMS,
                audience=PORTAL_AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise PortalAssertionInvalid(str(exc)) from exc
        if claims.get("sub") != iin:
            raise PortalAssertionInvalid("the assertion is for another applicant")
        return iin

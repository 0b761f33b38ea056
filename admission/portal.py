"""Who the parent is: the applicant's ИИН, and the children they represent, as the egov portal
vouches for them.  Every parent-facing write (joining a waiting room, filing or withdrawing an
application, requesting a transfer) takes the applicant this one way.

``demo``: the typed ``applicant_iin`` is trusted (a person types it on the waiting page) and the
family link is unknown: Kezek cannot tell a parent from a stranger, so every child is accepted.
Demo mode is for trying Kezek out, never for a real admission.

``assertion``: the portal, which has already authenticated the parent, sends
``X-Portal-Assertion``, a JWT signed with the portal's key (ES256 or EdDSA; public key at
``KEZEK_PORTAL_PUBLIC_KEY_FILE``) with ``aud`` = ``kezek``, ``exp``, ``sub`` = the applicant's ИИН
and ``children`` = the ИИН of every child the applicant is the parent or legal representative of
(pilot annex 1 para 2; the portal knows the family link).  No assertion, or a forged or expired
one: 401.  An assertion for another applicant, or for a child it does not list: 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization

from admission.errors import Forbidden, Language
from admission.iin import validate_iin
from admission.waiting_room.errors import PortalAssertionInvalid

PORTAL_AUDIENCE = "kezek"
PORTAL_ALGORITHMS = ["ES256", "EdDSA"]
PORTAL_HEADER = "x-portal-assertion"
PortalMode = Literal["demo", "assertion"]


class NotThisApplicant(Forbidden):
    code = "not_this_applicant"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Портал сізді басқа өтініш беруші ретінде растады.",
        "ru": "Портал подтвердил вас как другого заявителя.",
        "en": "The portal vouches for another applicant.",
    }


class ChildNotRepresented(Forbidden):
    code = "child_not_represented"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Портал бойынша сіз бұл баланың ата-анасы немесе заңды өкілі емессіз.",
        "ru": "По данным портала вы не родитель и не законный представитель этого ребёнка.",
        "en": "Per the portal, you are not this child's parent or legal representative.",
    }


class _Claims(msgspec.Struct, frozen=True):
    sub: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]
    children: Annotated[list[Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]], msgspec.Meta(max_length=50)] = []


class Applicant(msgspec.Struct, frozen=True, kw_only=True):
    """The applicant the portal vouches for; ``children`` is None in demo mode (the link is unknown)."""

    iin: str
    children: frozenset[str] | None

    def require_child(self, child_iin: str) -> None:
        """ChildNotRepresented unless the portal says this applicant represents ``child_iin``."""
        if self.children is not None and child_iin not in self.children:
            raise ChildNotRepresented()

    def require_owner(self, applicant_iin: str, child_iin: str) -> None:
        """For a stored application or transfer: it must be this applicant's, for a child they represent."""
        if applicant_iin != self.iin:
            raise NotThisApplicant()
        self.require_child(child_iin)


class PortalIdentity:
    def __init__(self, mode: PortalMode, public_key: Any = None) -> None:
        if mode == "assertion" and public_key is None:
            raise ValueError("assertion mode needs the portal's public key (KEZEK_PORTAL_PUBLIC_KEY_FILE)")
        self.mode = mode
        self.public_key = public_key

    @classmethod
    def from_settings(cls, mode: PortalMode, public_key_file: str) -> PortalIdentity:
        if mode == "demo":
            return cls("demo")
        key = serialization.load_pem_public_key(Path(public_key_file).read_bytes())
        return cls("assertion", key)

    def verified(self, assertion: str | None) -> Applicant | None:
        """The applicant of a portal assertion; None in demo mode; PortalAssertionInvalid when
        missing, forged, expired or malformed."""
        if self.mode == "demo":
            return None
        if not assertion:
            raise PortalAssertionInvalid("the X-Portal-Assertion header is required")
        try:
            raw = jwt.decode(
                assertion,
                self.public_key,
                algorithms=PORTAL_ALGORITHMS,
                audience=PORTAL_AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
            claims = msgspec.convert(raw, _Claims)
        except (jwt.PyJWTError, msgspec.ValidationError) as exc:
            raise PortalAssertionInvalid(str(exc)) from exc
        return Applicant(iin=claims.sub, children=frozenset(claims.children))

    def vouch(self, claimed_iin: str, assertion: str | None) -> Applicant:
        """The applicant who may act as ``claimed_iin``: InvalidIin, PortalAssertionInvalid (401) or
        NotThisApplicant (403) otherwise."""
        iin = validate_iin(claimed_iin)
        applicant = self.verified(assertion)
        if applicant is None:
            return Applicant(iin=iin, children=None)
        if applicant.iin != iin:
            raise NotThisApplicant()
        return applicant

    def applicant(self, claimed_iin: str, assertion: str | None) -> str:
        """The ИИН the applicant may join as (the waiting room's call)."""
        return self.vouch(claimed_iin, assertion).iin

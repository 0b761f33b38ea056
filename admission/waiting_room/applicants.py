"""Applicant references: what the waiting room keeps and what tickets carry instead of the ИИН.

A reference is the ИИН sealed with AES-SIV (RFC 5297, ``cryptography``'s ``AESSIV``):
deterministic -- the same ИИН always gives the same reference, so a join stays
idempotent per applicant and the reference is the room's key in Redis -- and
opaque to anyone without the key, which is derived from the ticket secret (the
same on every worker).  The service opens a reference only when it needs the ИИН
itself: to mint the access token of a visitor admitted on a poll (the token goes
to the form, which shows the applicant).  Children filed for are kept as
references of their ИИН too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from admission.waiting_room.errors import InvalidTicket

REF_LENGTH = 38
"""Characters of a reference: 12 sealed bytes + the 16-byte synthetic IV, base64url without padding."""


class ApplicantRefs:
    def __init__(self, secret: bytes) -> None:
        self._siv = AESSIV(hashlib.blake2b(secret, key=b"kezek-applicant-ref", digest_size=32).digest())

    def ref(self, iin: str) -> str:
        """The reference of a (validated) ИИН (~2 µs)."""
        return base64.urlsafe_b64encode(self._siv.encrypt(iin.encode(), None)).rstrip(b"=").decode()

    def iin(self, ref: str) -> str:
        """The ИИН a reference seals; InvalidTicket when it was not sealed with this key."""
        try:
            return self._siv.decrypt(base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)), None).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise InvalidTicket("the ticket's applicant reference does not open") from exc

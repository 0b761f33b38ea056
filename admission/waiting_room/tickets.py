"""Tickets: a visitor's place in a room, presented on every poll.

Read only by Kezek, so a MAC is enough: an itsdangerous ``TimestampSigner``
(HMAC-SHA256) over ``region.ref.seq.epoch.gen``.  Verifying costs ~13 µs,
against ~150-180 µs for an EdDSA/ES256 JWT (``scripts/bench_rooms.py``
prints both), and verified tickets are cached per worker so a poll usually
pays a dictionary lookup.  The ticket names the applicant by its opaque
reference (``applicants.py``: not the ИИН), its region (a ticket of one room
is refused by another), the room's ``epoch`` and ``gen`` (bumped when the
shuffled pre-queue takes its places: the ticket's ``seq`` is then stale and
the poll goes to Redis for the new one).  A ticket whose epoch is not the
room's goes to Redis too: if it is from a room Redis lost, it re-seats its
holder at its ``seq`` (the place is signed, so it survives the loss).
"""

from __future__ import annotations

import hashlib
import time

import itsdangerous
import msgspec

from admission.waiting_room.applicants import REF_LENGTH
from admission.waiting_room.errors import InvalidTicket

TICKET_TTL_SECONDS = 12 * 3600
"""A ticket older than this is refused; polls re-issue tickets older than ``TICKET_REFRESH_SECONDS``."""
TICKET_REFRESH_SECONDS = 3600
_CACHE_LIMIT = 200_000


class Ticket(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    applicant: str
    """The applicant's reference (``ApplicantRefs``)."""
    seq: int
    epoch: str
    gen: int
    issued_at: int
    """Unix seconds."""


class _Signer(itsdangerous.TimestampSigner):
    """itsdangerous' signer, deriving its key once instead of on every call."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(secret, salt="kezek-ticket", digest_method=hashlib.sha256, key_derivation="hmac")
        self._key = super().derive_key()

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return self._key if secret_key is None or secret_key == self.secret_key else super().derive_key(secret_key)


class TicketSigner:
    """Signs and verifies tickets with one secret; keeps a bounded cache of verified tickets."""

    def __init__(self, secret: bytes) -> None:
        self._signer = _Signer(secret)
        self._cache: dict[str, Ticket] = {}

    def mint(self, region: str, applicant: str, seq: int, epoch: str, gen: int) -> str:
        return self._signer.sign(f"{region}.{applicant}.{seq}.{epoch}.{gen}").decode()

    def verify(self, token: str, region: str, now: float | None = None) -> Ticket:
        """The ticket's fields; InvalidTicket when forged, malformed, older than the TTL or another region's."""
        ticket = self._cache.get(token)
        if ticket is None:
            ticket = self._verify_signature(token)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = ticket
        if ticket.region != region:
            raise InvalidTicket("the ticket is for another region")
        if (now if now is not None else time.time()) - ticket.issued_at > TICKET_TTL_SECONDS:
            raise InvalidTicket("the ticket has expired")
        return ticket

    def _verify_signature(self, token: str) -> Ticket:
        try:
            payload, issued = self._signer.unsign(token, return_timestamp=True)
        except itsdangerous.BadData as exc:
            raise InvalidTicket("the ticket's signature does not verify") from exc
        parts = payload.decode().split(".")
        # the reference was made at the join that minted the ticket; the MAC vouches for the rest
        if len(parts) != 5 or len(parts[1]) != REF_LENGTH or not parts[2].isdigit() or not parts[4].isdigit():
            raise InvalidTicket("the ticket is malformed")
        return Ticket(
            region=parts[0],
            applicant=parts[1],
            seq=int(parts[2]),
            epoch=parts[3],
            gen=int(parts[4]),
            issued_at=int(issued.timestamp()),
        )


def derive_ticket_secret(configured: str, signing_key_raw: bytes) -> bytes:
    """``KEZEK_TICKET_SECRET`` when set, else a key derived from the signing key (same on every worker)."""
    if configured:
        return configured.encode()
    return hashlib.blake2b(signing_key_raw, key=b"kezek-ticket-secret", digest_size=32).digest()

"""The transfer's value objects: request, stored transfer, notification, receipt."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Ground = Literal["holidays", "court_decision", "relocation", "leaving_country", "bullying"]
TransferPath = Literal["portal", "paper"]
Status = Literal["pending", "accepted", "departed", "completed", "refused"]
InstructionLanguage = Literal["kk", "ru", "en", "uz", "ug", "tg"]
OrderKind = Literal["admission", "expulsion"]

# Grounds whose proof the parent must name (para 17): the court decision, the
# housing document, the proof of leaving.  Bullying needs none: a child is not
# made to prove what happened to them before the transfer is considered.
GROUNDS_NEEDING_DOCUMENT: frozenset[str] = frozenset({"court_decision", "relocation", "leaving_country"})
LIVE: tuple[Status, ...] = ("pending", "accepted", "departed")

Bin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]
Iin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]


class TransferRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A parent's request (portal) or the one a school registers from paper documents."""

    applicant_iin: Iin
    child_iin: Iin
    child_full_name: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    to_school_bin: Bin | None = None
    grade: Annotated[int, msgspec.Meta(ge=1, le=11)]
    language: InstructionLanguage
    ground: Ground
    document_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    path: TransferPath = "portal"


class Transfer(msgspec.Struct, frozen=True, kw_only=True):
    """A stored transfer (one row of ``transfers``)."""

    id: uuid.UUID
    applicant_iin: str
    child_iin: str
    child_full_name: str
    from_school_bin: str
    from_region: str
    to_school_bin: str | None
    to_region: str | None
    grade: int
    language: str
    ground: str
    document_ref: str | None
    path: str
    status: str
    requested_at: dt.datetime
    decision_due_at: dt.datetime
    decided_at: dt.datetime | None
    refusal_ground: int | None
    refusal_code: str | None
    refusal_reason: str | None
    notification_jws: str | None
    arrival_talon_number: str | None
    arrival_talon_valid_until: dt.datetime | None
    departure_talon_number: str | None
    departed_at: dt.datetime | None
    admission_order_number: str | None
    admission_order_date: dt.date | None
    expulsion_order_number: str | None
    expulsion_order_date: dt.date | None
    completed_at: dt.datetime | None
    prevention_ref: str | None

    @property
    def deciding_school(self) -> str:
        """The school that decides and signs: the receiving one, or the departing one when leaving the country."""
        return self.to_school_bin or self.from_school_bin

    @property
    def deciding_region(self) -> str:
        return self.to_region or self.from_region


class SchoolCard(msgspec.Struct, frozen=True, kw_only=True):
    bin: str
    name_kk: str
    name_ru: str
    address: str
    phone: str
    email: str
    website: str


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why: the annex 2 item 9 ground (None for a missed deadline, para 23) and a reason in three languages."""

    ground: int | None
    code: str
    reason_kk: str
    reason_ru: str
    reason_en: str
    detail: str | None = None


class ArrivalTalon(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    valid_until: dt.datetime


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """The para 19 notification (or the motivated refusal), the payload the school signs."""

    kind: Literal["transfer_accepted", "transfer_refused"]
    transfer_id: str
    issued_at: dt.datetime
    pupil_full_name: str
    pupil_birth_date: dt.date
    grade: int
    language: str
    ground: str
    from_school_bin: str
    to_school_bin: str | None
    school: SchoolCard
    arrival_talon: ArrivalTalon | None = None
    refusal: Refusal | None = None


class RefusalReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """The receipt of refusal to accept documents (model rules annex 2 form), issued in 2 copies."""

    form: str
    recipient_iin: str
    pupil_full_name: str
    pupil_iin: str
    documents: list[str]
    date: dt.date
    refusal: Refusal
    school: SchoolCard
    copies: int = 2


class TransferEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    transfer_id: uuid.UUID
    at: dt.datetime
    stage: str
    actor: str
    from_region: str
    to_region: str | None
    detail: dict[str, object]

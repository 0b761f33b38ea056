"""The transfer's value objects: request, stored transfer, notification, receipt."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from admission.bodies import Body
from admission.reference import SchoolCard

Ground = Literal["holidays", "court_decision", "relocation", "leaving_country", "bullying"]
TransferPath = Literal["portal", "paper"]
Status = Literal["pending", "accepted", "departed", "completed", "refused"]
InstructionLanguage = Literal["kk", "ru", "en", "uz", "ug", "tg"]
OrderKind = Literal["admission", "expulsion"]

# Grounds whose proof the parent must name (para 17): the court decision, the
# housing document, the proof of leaving.  Bullying needs none: a child is not
# made to prove what happened to them before the transfer is considered.
GROUNDS_NEEDING_DOCUMENT: frozenset[str] = frozenset({"court_decision", "relocation", "leaving_country"})

Bin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]
Iin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]


class TransferRequest(Body, frozen=True, kw_only=True):
    """A parent's request (portal) or the one a school registers from paper documents.

    The fields of the model rules' annex 2 form: the applicant's full name and
    phone, the child, the registered address, the school asked for, and the
    consent to use restricted personal data (without it: ground 6).
    """

    applicant_iin: Iin
    applicant_full_name: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    applicant_phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ()-]{5,20}$")]
    child_iin: Iin
    child_full_name: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    registered_address: Annotated[str, msgspec.Meta(min_length=3, max_length=300)]
    consent: bool
    to_school_bin: Bin | None = None
    grade: Annotated[int, msgspec.Meta(ge=1, le=12)]
    language: InstructionLanguage
    ground: Ground
    document_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    path: TransferPath = "portal"


class Transfer(msgspec.Struct, frozen=True, kw_only=True):
    """A stored transfer (one row of ``transfers``)."""

    id: uuid.UUID
    applicant_iin: str
    applicant_full_name: str | None
    applicant_phone: str | None
    child_iin: str
    child_full_name: str
    registered_address: str | None
    consent: bool | None
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
    refused_by_name: str | None
    refused_by_position: str | None

    @property
    def deciding_school(self) -> str:
        """The school that decides and signs: the receiving one, or the departing one when leaving the country."""
        return self.to_school_bin or self.from_school_bin

    @property
    def deciding_region(self) -> str:
        return self.to_region or self.from_region


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why: the annex 2 item 9 ground (None for a missed deadline, para 23), a reason in three languages
    and the legal basis; ``detail`` is the school's own motivation (para 19: a refusal is motivated)."""

    ground: int | None
    code: str
    reason_kk: str
    reason_ru: str
    reason_en: str
    legal_basis: str
    detail: str | None = None


class Employee(msgspec.Struct, frozen=True, kw_only=True):
    """The provider's employee who refused (annex 2 receipt form: full name and position)."""

    full_name: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    position: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]


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
    """The receipt of refusal to accept documents (model rules annex 2 form), issued in 2 copies.

    ``employee`` is the employee who refused; None when the rules refused
    automatically (``automatic``: the notification is signed with the school's key).
    """

    form: str
    recipient_full_name: str | None
    recipient_iin: str
    pupil_full_name: str
    pupil_iin: str
    documents: list[str]
    application_date: dt.date
    date: dt.date
    refusal: Refusal
    school: SchoolCard
    employee: Employee | None
    automatic: bool
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

"""Value objects of intra-school registration: what admins send, what is stored, what they read."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from admission.bodies import Body

CaseState = Literal["open", "registered", "refused", "removed"]
LIVE_STATES: tuple[CaseState, ...] = ("open", "registered")
Source = Literal["request", "outside"]
RequesterRole = Literal["class_teacher", "social_pedagogue", "subject_teacher", "other"]
OutsideBody = Literal["police", "health", "social_protection", "family_support", "religious_affairs", "other"]
RemovalReason = Literal["responsible_request", "positive_references", "relocation", "school_change"]
ReferralKind = Literal["parents_duties", "parents_measures", "minor_offence"]
CouncilRole = Literal["chair", "secretary", "member"]
ParticipantKind = Literal["member", "invited", "parent"]
DeadlineKind = Literal["registration", "initial_data", "report_back"]
DeadlineState = Literal["due", "overdue", "done", "done_late"]
RowState = Literal["due", "overdue", "done"]

Ground = Annotated[int, msgspec.Meta(ge=1, le=10, description="a ground of para 22, 1-10")]
Iin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]
Name = Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Instant = Annotated[dt.datetime, msgspec.Meta(tz=True)]


# ---------------------------------------------------------------- council and sittings


class Person(Body, frozen=True, kw_only=True):
    """Someone at a council's table, by name and post: a member of the council or a participant of a sitting."""

    full_name: Name
    post: Short


class CouncilMember(Person, frozen=True, kw_only=True):
    role: CouncilRole = "member"


class CouncilIn(Body, frozen=True, kw_only=True):
    """Paras 6-7: the composition approved by the head's order."""

    order_number: Short
    order_date: dt.date
    members: Annotated[list[CouncilMember], msgspec.Meta(max_length=60)]


class Council(msgspec.Struct, frozen=True, kw_only=True):
    school_bin: str
    order_number: str
    order_date: dt.date
    members: list[CouncilMember]
    updated_at: dt.datetime


class Participant(Person, frozen=True, kw_only=True):
    kind: ParticipantKind = "member"


class SittingIn(Body, frozen=True, kw_only=True):
    """Para 17: the minutes' date, participants (name, post), agenda and a short extract of what was heard."""

    number: Short
    held_on: dt.date
    agenda: Annotated[list[Text], msgspec.Meta(min_length=1, max_length=30)]
    participants: Annotated[list[Participant], msgspec.Meta(min_length=1, max_length=80)]
    heard: Text


class Sitting(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    school_bin: str
    number: str
    held_on: dt.date
    agenda: list[str]
    participants: list[Participant]
    heard: str
    chair_name: str
    secretary_name: str
    created_at: dt.datetime


class MinutesDecision(msgspec.Struct, frozen=True, kw_only=True):
    """One decision of a sitting.  A case since handed over to another school shows only that."""

    case_id: uuid.UUID | None
    kind: Literal["registered", "refused", "removed", "handed_over"]
    pupil_full_name: str | None = None
    grade: int | None = None
    grounds: list[int] = []
    removal_reason: str | None = None
    note: str | None = None


class Minutes(msgspec.Struct, frozen=True, kw_only=True):
    sitting: Sitting
    decisions: list[MinutesDecision]


# ---------------------------------------------------------------- cases


class CaseIn(Body, frozen=True, kw_only=True):
    """A case from a staff request (para 4) or from an outside body's information (para 11)."""

    source: Source
    pupil_iin: Iin
    pupil_full_name: Name
    situation: Text
    grade: Annotated[int, msgspec.Meta(ge=0, le=12)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    registered_address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    received_at: Instant | None = None
    """When the request or the information arrived (default: now); the deadlines count from it."""
    requested_by_role: RequesterRole | None = None
    requested_by_name: Name | None = None
    proposed_by_name: Name | None = None
    outside_body: OutsideBody | None = None
    outside_body_name: Short | None = None
    outside_reference: Short | None = None
    registration_number: Short | None = None


class RegistrationIn(Body, frozen=True, kw_only=True):
    number: Short


class FamilyMember(Body, frozen=True, kw_only=True):
    full_name: Name
    relation: Short


class InitialDataIn(Body, frozen=True, kw_only=True):
    """Para 12: the pupil and family members, where they are, the general description of the situation."""

    family: Annotated[list[FamilyMember], msgspec.Meta(max_length=30)]
    location: Text
    situation: Text


class HomeVisit(Body, frozen=True, kw_only=True):
    visited_on: dt.date
    findings: Text


class AssessmentIn(Body, frozen=True, kw_only=True):
    """Para 14: the initial assessment materials, handed to the deputy head before the decision."""

    class_teacher_reference: Text
    psychologist_conclusion: Text
    work_summary: Text
    submitted_to: Name
    submitted_on: dt.date
    home_visit: HomeVisit | None = None


class DecisionIn(Body, frozen=True, kw_only=True):
    """Para 15: register (on one or more grounds of para 22) or refuse, at a sitting."""

    sitting_id: uuid.UUID
    register: bool
    grounds: Annotated[list[Ground], msgspec.Meta(max_length=10)] = []  # noqa: RUF012 - msgspec copies it per instance
    note: Text | None = None


class ReportBackIn(Body, frozen=True, kw_only=True):
    """Para 20: the decision was reported to the outside body."""

    reported_at: Instant | None = None
    note: Text | None = None


class PlanRowIn(Body, frozen=True, kw_only=True):
    kind_of_help: Text
    responsible: Short
    period_volume: Short
    deadline: dt.date
    quality_indicator: Text
    done_on: dt.date | None = None
    result: Text | None = None


class PlanIn(Body, frozen=True, kw_only=True):
    """Annex 1: the individual prevention plan."""

    period_from: dt.date
    period_to: dt.date
    situation: Text
    approved_by: Name
    approved_on: dt.date
    rows: Annotated[list[PlanRowIn], msgspec.Meta(min_length=1, max_length=100)]
    parent_name: Name | None = None
    acknowledged_on: dt.date | None = None


class RemovalIn(Body, frozen=True, kw_only=True):
    """Para 23: removal at a sitting, with its reason."""

    sitting_id: uuid.UUID
    reason: RemovalReason
    note: Text | None = None


class ReferralIn(Body, frozen=True, kw_only=True):
    """Para 21: a proposal to the territorial commission for minors."""

    kind: ReferralKind
    sent_on: dt.date
    outgoing_number: Short
    note: Text


class Deadline(msgspec.Struct, frozen=True, kw_only=True):
    kind: DeadlineKind
    due_at: dt.datetime
    done_at: dt.datetime | None
    state: DeadlineState


class PlanRow(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    kind_of_help: str
    responsible: str
    period_volume: str
    deadline: dt.date
    quality_indicator: str
    done_on: dt.date | None
    result: str | None
    state: RowState


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    period_from: dt.date
    period_to: dt.date
    situation: str
    approved_by: str
    approved_on: dt.date
    parent_name: str | None
    acknowledged_on: dt.date | None
    updated_at: dt.datetime
    rows: list[PlanRow]


class Referral(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    sent_on: dt.date
    outgoing_number: str
    note: str
    created_at: dt.datetime


class CaseFields(msgspec.Struct, frozen=True, kw_only=True):
    """The stored fields of a case its school reads: what :class:`CaseRow` and :class:`Case` share."""

    id: uuid.UUID
    school_bin: str
    state: str
    source: str
    requested_by_role: str | None
    requested_by_name: str | None
    proposed_by_name: str | None
    outside_body: str | None
    outside_body_name: str | None
    outside_reference: str | None
    pupil_iin: str
    pupil_full_name: str
    grade: int | None
    address: str
    registered_address: str
    situation: str
    received_at: dt.datetime
    registration_number: str | None
    registered_at: dt.datetime | None
    initial_data: dict[str, object] | None
    initial_data_at: dt.datetime | None
    assessment: dict[str, object] | None
    assessment_at: dt.datetime | None
    decision_sitting_id: uuid.UUID | None
    decided_at: dt.datetime | None
    grounds: list[int]
    decision_note: str | None
    reported_at: dt.datetime | None
    removal_sitting_id: uuid.UUID | None
    removed_at: dt.datetime | None
    removal_reason: str | None
    removal_note: str | None
    arrived_at: dt.datetime | None


class CaseRow(CaseFields, frozen=True, kw_only=True):
    """One row of ``prevention.cases``: the fields the school reads and the service's own bookkeeping."""

    region_slug: str
    registration_due_at: dt.datetime | None
    initial_data_due_at: dt.datetime
    report_due_at: dt.datetime | None
    created_at: dt.datetime


class Case(CaseFields, frozen=True, kw_only=True):
    """A case as its school reads it: the stored fields, the deadlines, the plan and the referrals."""

    pupil_birth_date: dt.date
    incoming: bool
    """True when the case arrived with the pupil's transfer (para 24)."""
    deadlines: list[Deadline]
    plan: Plan | None
    referrals: list[Referral]


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    state: str
    source: str
    pupil_full_name: str
    grade: int | None
    received_at: dt.datetime
    grounds: list[int]
    incoming: bool
    deadlines: list[Deadline]


class OutgoingHandover(msgspec.Struct, frozen=True, kw_only=True):
    """What the departing school keeps: that it handed a case over, to whom, and when."""

    transfer_id: uuid.UUID
    to_school_bin: str
    at: dt.datetime


class IncomingHandover(msgspec.Struct, frozen=True, kw_only=True):
    case_id: uuid.UUID
    transfer_id: uuid.UUID
    from_school_bin: str
    at: dt.datetime


class Handovers(msgspec.Struct, frozen=True, kw_only=True):
    outgoing: list[OutgoingHandover]
    incoming: list[IncomingHandover]


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """Counts only, never names: what a region or the ministry may see."""

    open: int
    registered: int
    refused: int
    removed: int
    by_ground: dict[str, int]
    """Registered cases per ground of para 22 (a case may have several)."""


class RegionCounts(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    counts: Counts


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A systematic truant of the census enrolled at the school: a candidate for a council request (ground 5)."""

    iin: str
    surname: str
    name: str
    patronymic: str
    birth_date: dt.date
    grade: int | None
    live_case_id: uuid.UUID | None


class Candidates(msgspec.Struct, frozen=True, kw_only=True):
    period: dt.date | None
    """The census quarter the list comes from (None: the region has no census yet)."""
    suggested_ground: int
    candidates: list[Candidate]

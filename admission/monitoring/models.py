"""Monitoring of admission results: value objects, finding kinds, errors."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from admission.bodies import Body
from admission.errors import Conflict, InvalidInput, Language, NotFound

Affiliation = Literal["ministry", "office", "subordinate", "college", "school"]
CertificateLanguage = Literal["kk", "ru"]
Verdict = Literal["accepted", "rejected", "edited"]
DeadlineState = Literal["due", "met", "overdue", "not_required"]
VisitStatus = Literal["scheduled", "in_progress", "awaiting_certificate", "remediation", "closed"]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
OrderNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
"""An order's number: ``monitoring_decisions.order_number`` holds 1 to 100 characters."""
Bin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]

# Finding kinds computed from Kezek's records, and the commission's own ("other").
KINDS: dict[str, dict[Language, str]] = {
    "accepted_outside_window": {
        "kk": "Өтініш өңірдің қабылдау кезеңінен тыс қабылданған",
        "ru": "Заявление принято вне периода приёма региона",
        "en": "Application accepted outside the region's window",
    },
    "over_capacity": {
        "kk": "Орындар сынып жинақтарының сыйымдылығынан артық берілген",
        "ru": "Занято мест больше, чем позволяют классы-комплекты",
        "en": "More seats taken than the class sets allowed",
    },
    "refusal_without_ground": {
        "kk": "Заңды негізсіз бас тарту",
        "ru": "Отказ без законного основания",
        "en": "Refusal without a legal ground",
    },
    "class_full_while_seat_free": {
        "kk": "Осы тілде бос орын болғанда 7-негізбен (сыныптар толық) бас тарту",
        "ru": "Отказ по основанию 7 (укомплектованность) при свободном месте на этом языке",
        "en": "Refused on ground 7 (classes full) while a seat was free in that language",
    },
    "roster_child_refused": {
        "kk": "Мектепалды даярлықтан өткен балаға бас тартылған",
        "ru": "Отказано ребёнку, прошедшему предшкольную подготовку в школе",
        "en": "A pre-school roster child was refused",
    },
    "roster_child_not_prioritised": {
        "kk": "Мектепалды даярлықтан өткен балаға басымдық берілмеген",
        "ru": "Ребёнку, прошедшему предшкольную подготовку, не дан приоритет",
        "en": "A pre-school roster child was not given priority",
    },
    "withdrawn_seat_not_freed": {
        "kk": "Қайтарып алынған өтініштің орны босатылмаған",
        "ru": "Место по отозванному заявлению не освобождено",
        "en": "A withdrawn application's seat was not freed",
    },
    "confirmation_missing": {
        "kk": "Қабылдау туралы бұйрық жоқ",
        "ru": "Нет приказа о зачислении",
        "en": "Admission order (confirmation) missing",
    },
    "confirmation_late": {
        "kk": "Қабылдау туралы бұйрық кешіктірілген",
        "ru": "Приказ о зачислении издан с опозданием",
        "en": "Admission order (confirmation) late",
    },
    "contingent_missing": {
        "kk": "Бекітілген қабылдау контингентте (ҰБДҚ) жоқ",
        "ru": "Утверждённое зачисление отсутствует в контингенте (НОБД)",
        "en": "Confirmed admission missing from the contingent store",
    },
    "contingent_duplicated": {
        "kk": "Бекітілген қабылдау контингентте (ҰБДҚ) қайталанған",
        "ru": "Утверждённое зачисление задвоено в контингенте (НОБД)",
        "en": "Confirmed admission duplicated in the contingent store",
    },
    "transfer_decided_late": {
        "kk": "Ауысу туралы шешім 1 жұмыс күнінен кеш қабылданған",
        "ru": "Решение о переводе принято позже 1 рабочего дня",
        "en": "Transfer decided after the 1-working-day limit",
    },
    "transfer_into_full_class": {
        "kk": "Ауысу толық жасақталған сыныпқа қабылданған",
        "ru": "Перевод принят в укомплектованный класс",
        "en": "Transfer accepted into a full class set",
    },
    "other": {
        "kk": "Комиссия анықтаған сәйкессіздік",
        "ru": "Несоответствие, выявленное комиссией",
        "en": "Nonconformity found by the commission",
    },
}
COMPUTED_KINDS = tuple(k for k in KINDS if k != "other")


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What shows a finding: the records' ids, and one line (``items``) per record in question.

    ``items`` are flat ``{field: value}`` maps; the certificate prints them as its attachments.
    """

    application_ids: list[uuid.UUID] = []
    transfer_ids: list[uuid.UUID] = []
    audit_entry_ids: list[int] = []
    outbox_event_ids: list[int] = []
    enrolment_ids: list[int] = []
    counters: dict[str, int] = {}
    items: list[dict[str, Any]] = []


class Computed(msgspec.Struct, frozen=True, kw_only=True):
    """A finding as computed from the records; ``fingerprint`` keys it across recomputations."""

    kind: str
    fingerprint: str
    evidence: Evidence


class Member(Body, frozen=True, kw_only=True):
    full_name: Text
    post: Text
    organisation: Text
    affiliation: Affiliation
    is_chair: bool = False
    is_lead: bool = False


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    region_slug: str | None
    admission_year: int
    order_number: str
    order_date: dt.date
    decided_by: str
    created_at: dt.datetime


class Deadline(msgspec.Struct, frozen=True, kw_only=True):
    """A para 9 deadline: calendar days from the certificate, moved off a non-working last day."""

    due_on: dt.date | None
    done_on: dt.date | None
    state: DeadlineState


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    approved_on: dt.date
    measures: list[str]


class Report(msgspec.Struct, frozen=True, kw_only=True):
    submitted_on: dt.date
    summary: str


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    decision_id: uuid.UUID
    admission_year: int
    order_number: str
    order_date: dt.date
    school_bin: str
    school_name_kk: str
    school_name_ru: str
    region_slug: str
    starts_on: dt.date
    ends_on: dt.date
    working_days: int
    status: VisitStatus
    overdue: bool
    findings_computed_at: dt.datetime | None
    certificate_language: CertificateLanguage | None
    certificate_signed_on: dt.date | None
    remediation_required: bool | None
    plan: Plan | None
    plan_deadline: Deadline | None
    """None until the certificate is signed."""
    report: Report | None
    report_deadline: Deadline | None


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    visit_id: uuid.UUID
    kind: str
    title: dict[Language, str]
    origin: Literal["computed", "commission"]
    evidence: Evidence
    description: str | None
    verdict: Literal["pending", "accepted", "rejected", "edited"]
    note: str | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    stale: bool


class RegionCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many visits of a region are in each state (``overdue`` counts across states)."""

    region: str
    scheduled: int
    in_progress: int
    awaiting_certificate: int
    open_plans: int
    overdue: int
    closed: int


class RegionSummary(RegionCounts, frozen=True, kw_only=True):
    year: int | None
    visits: list[Visit]


# Errors


class OrderTooLate(InvalidInput):
    code = "monitoring_order_too_late"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мониторинг туралы шешім {year} жылғы 1 қарашаға дейін ресімделуі керек (бұйрық күні: {order_date}).",
        "ru": "Решение о мониторинге оформляется до 1 ноября {year} года (дата приказа: {order_date}).",
        "en": "A decision to monitor the {year} admission is made by 1 November {year} (order dated {order_date}).",
    }


class InvalidCommission(InvalidInput):
    code = "invalid_commission"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Комиссия құрамы дұрыс емес: {problem}.",
        "ru": "Неверный состав комиссии: {problem}.",
        "en": "The commission is not valid: {problem}.",
    }


class InvalidVisit(InvalidInput):
    code = "invalid_monitoring_visit"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мониторинг кестесі дұрыс емес: {problem}.",
        "ru": "Неверный график мониторинга: {problem}.",
        "en": "The monitoring visit is not valid: {problem}.",
    }


class InvalidMonitoringStep(InvalidInput):
    code = "invalid_monitoring_step"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мониторинг деректері дұрыс емес: {problem}.",
        "ru": "Неверные данные мониторинга: {problem}.",
        "en": "The monitoring data is not valid: {problem}.",
    }


class MonitoringConflict(Conflict):
    code = "monitoring_conflict"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мониторинг күйі бұл әрекетке мүмкіндік бермейді: {problem}.",
        "ru": "Состояние мониторинга не позволяет это действие: {problem}.",
        "en": "The monitoring's state does not allow this: {problem}.",
    }


class UnknownMonitoring(NotFound):
    code = "unknown_monitoring"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мұндай мониторинг жазбасы жоқ.",
        "ru": "Такой записи мониторинга нет.",
        "en": "No such monitoring record.",
    }

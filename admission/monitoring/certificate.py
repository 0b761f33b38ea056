"""The certificate of the monitoring's results (order No. 271, paras 7-8) as a printable HTML document.

In Kazakh or Russian, in two copies (one stays with the commission's lead, one
with the school), each with a signature line per commission member, the school
head's acknowledgement and the place of the stamp; the nonconformities the
commission stated, and their evidence as numbered attachments.  Printing it
(or "Save as PDF" in the browser) gives the paper the commission signs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from admission.db import QUERIES, Connection
from admission.monitoring import service
from admission.monitoring.models import (
    CertificateLanguage,
    Decision,
    Finding,
    Member,
    MonitoringConflict,
    Visit,
)
from admission.monitoring.service import PLAN_DAYS, REPORT_DAYS, due_after, included
from admission.signing_keys import AdminPrincipal

_ENV = Environment(
    loader=PackageLoader("admission.monitoring", "templates"), autoescape=select_autoescape(), trim_blocks=True
)

TEXT: dict[CertificateLanguage, dict[str, str]] = {
    "kk": {
        "title": "Мониторинг жүргізу қорытындылары туралы анықтама",
        "basis": "Орта білім беру ұйымдарына қабылдау қорытындылары бойынша мониторинг "
        "(Қазақстан Республикасы Оқу-ағарту министрінің 2023 жылғы 25 тамыздағы № 271 бұйрығы)",
        "order": "Мониторинг жүргізу туралы шешім: бұйрық",
        "dated": "күні",
        "year": "Қабылдау жылы",
        "school": "Білім беру ұйымы",
        "period": "Мониторинг мерзімі",
        "working_days": "жұмыс күні",
        "copy_mark": "{n}-дана (барлығы 2 дана)",
        "holder_lead": "комиссия жетекшісінде сақталады",
        "holder_school": "білім беру ұйымында сақталады",
        "commission": "Комиссия құрамы",
        "chair": "комиссия төрағасы",
        "lead": "комиссия жетекшісі",
        "member": "комиссия мүшесі",
        "findings": "Анықталған сәйкессіздіктер",
        "none": "Сәйкессіздіктер анықталған жоқ.",
        "commission_found": "комиссия анықтады",
        "evidence": "Қосымша",
        "attachments": "Қосымшалар: растайтын құжаттардың көшірмелері",
        "remediation": "Білім беру ұйымы күнтізбелік {plan_days} күн ішінде ({plan_due} дейін) ескертулерді жою "
        "жөніндегі іс-шаралар жоспарын бекітеді және білім басқармасына күнтізбелік {report_days} күн ішінде "
        "({report_due} дейін) ескертулерді жою туралы есеп ұсынады.",
        "signatures": "Комиссия мүшелерінің қолдары",
        "signature": "қолы",
        "head": "Анықтамамен таныстым: білім беру ұйымының басшысы",
        "stamp": "М.О.",
        "draft": "ЖОБА: анықтамаға әлі қол қойылған жоқ",
        "signed_on": "Анықтама жасалған күн",
        "records": "Kezek деректері бойынша дәлелдер",
    },
    "ru": {
        "title": "Справка о результатах проведения мониторинга",
        "basis": "Мониторинг по итогам приёма в организации среднего образования "
        "(приказ Министра просвещения Республики Казахстан от 25 августа 2023 года № 271)",
        "order": "Решение о проведении мониторинга: приказ",
        "dated": "от",
        "year": "Год приёма",
        "school": "Организация образования",
        "period": "Сроки мониторинга",
        "working_days": "рабочих дн.",
        "copy_mark": "Экземпляр {n} (всего 2 экземпляра)",
        "holder_lead": "хранится у руководителя комиссии",
        "holder_school": "хранится в организации образования",
        "commission": "Состав комиссии",
        "chair": "председатель комиссии",
        "lead": "руководитель комиссии",
        "member": "член комиссии",
        "findings": "Выявленные несоответствия",
        "none": "Несоответствия не выявлены.",
        "commission_found": "выявлено комиссией",
        "evidence": "Приложение",
        "attachments": "Приложения: копии подтверждающих документов",
        "remediation": "Организация образования в течение {plan_days} календарных дней (до {plan_due}) разрабатывает "
        "и утверждает план мероприятий по устранению замечаний и в течение {report_days} календарных дней "
        "(до {report_due}) представляет в управление образования отчёт об устранении замечаний.",
        "signatures": "Подписи членов комиссии",
        "signature": "подпись",
        "head": "Со справкой ознакомлен(а): руководитель организации образования",
        "stamp": "М.П.",
        "draft": "ПРОЕКТ: справка ещё не подписана",
        "signed_on": "Дата составления справки",
        "records": "Доказательства по данным Kezek",
    },
}

LABELS: dict[CertificateLanguage, dict[str, str]] = {
    "kk": {
        "application_id": "өтініш", "child_iin": "баланың ЖСН", "decided_at": "шешім уақыты",
        "window": "қабылдау кезеңі", "refusal_code": "бас тарту коды", "refusal_ground": "бас тарту негізі",
        "at": "уақыты", "capacity": "сыйымдылық", "taken": "бос емес орын", "language": "оқыту тілі",
        "held_for_roster": "мектепалды тізіміне сақталған", "free": "бос орын", "roster_language": "тізімдегі тілі",
        "withdrawn_at": "қайтарылған уақыты", "due_by": "мерзімі", "order_number": "бұйрық нөмірі",
        "order_date": "бұйрық күні", "confirmed_at": "бекітілген уақыты", "enrolments": "контингенттегі жазбалар",
        "outbox_events": "жіберілген оқиғалар", "outbox_undelivered": "жеткізілмеген оқиғалар",
        "transfer_id": "ауысу", "requested_at": "өтініш уақыты", "decision_due_at": "шешім мерзімі",
        "grade": "сынып", "occupied": "бос емес орын", "audit_entry_id": "аудит жазбасы",
        "most_seats_over_capacity": "сыйымдылықтан ең көп асуы", "general_taken": "жалпы негізде алынған",
        "roster_taken": "тізім бойынша алынған", "live_applications": "күшіндегі өтініштер",
        "seats_not_freed": "босатылмаған орын", "audit_entry_ids": "аудит жазбалары",
        "outbox_event_ids": "шығыс кезегінің оқиғалары", "enrolment_ids": "контингент жазбалары",
    },
    "ru": {
        "application_id": "заявление", "child_iin": "ИИН ребёнка", "decided_at": "время решения",
        "window": "период приёма", "refusal_code": "код отказа", "refusal_ground": "основание отказа",
        "at": "время", "capacity": "вместимость", "taken": "занято мест", "language": "язык обучения",
        "held_for_roster": "закреплено за предшкольным списком", "free": "свободно",
        "roster_language": "язык по списку",
        "withdrawn_at": "время отзыва", "due_by": "срок", "order_number": "номер приказа",
        "order_date": "дата приказа", "confirmed_at": "время утверждения", "enrolments": "записей в контингенте",
        "outbox_events": "отправленных событий", "outbox_undelivered": "недоставленных событий",
        "transfer_id": "перевод", "requested_at": "время заявки", "decision_due_at": "срок решения",
        "grade": "класс", "occupied": "занято мест", "audit_entry_id": "запись аудита",
        "most_seats_over_capacity": "наибольшее превышение вместимости", "general_taken": "занято на общих основаниях",
        "roster_taken": "занято по списку", "live_applications": "действующих заявлений",
        "seats_not_freed": "неосвобождённых мест", "audit_entry_ids": "записи аудита",
        "outbox_event_ids": "события исходящей очереди", "enrolment_ids": "записи контингента",
    },
}  # fmt: skip


def _date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def render(
    *,
    language: CertificateLanguage,
    visit: Visit,
    decision: Decision,
    members: list[Member],
    findings: list[Finding],
    school_address: str,
) -> str:
    """The certificate's HTML; a draft (marked so) until the certificate is signed."""
    text = TEXT[language]
    stated = included(findings)
    signed_on = visit.certificate_signed_on
    remediation = None
    if stated and signed_on is not None:
        remediation = text["remediation"].format(
            plan_days=PLAN_DAYS,
            report_days=REPORT_DAYS,
            plan_due=_date(due_after(signed_on, PLAN_DAYS)),
            report_due=_date(due_after(signed_on, REPORT_DAYS)),
        )
    ordered = sorted(members, key=lambda m: (not m.is_chair, not m.is_lead))
    copies = [(1, text["holder_lead"]), (2, text["holder_school"])]
    context: dict[str, Any] = {
        "lang": language,
        "text": text,
        "labels": LABELS[language],
        "visit": visit,
        "decision": decision,
        "school_name": visit.school_name_kk if language == "kk" else visit.school_name_ru,
        "school_address": school_address,
        "members": ordered,
        "findings": stated,
        "remediation": remediation,
        "copies": copies,
        "draft": signed_on is None,
        "fmt": _date,
    }
    return _ENV.get_template("certificate.html").render(**context)


async def certificate_html(
    conn: Connection,
    admin: AdminPrincipal,
    visit_id: uuid.UUID,
    language: CertificateLanguage | None,
    now: dt.datetime,
) -> tuple[str, CertificateLanguage]:
    """The visit's certificate as its school, region or the ministry reads it, and its language.

    A signed certificate is in the language it was signed in; a draft in ``language`` (Kazakh by default).
    """
    visit = await service.get_visit(conn, admin, visit_id, now)
    issued = visit.certificate_language
    if issued is not None and language is not None and language != issued:
        raise MonitoringConflict(problem=f"the certificate was signed in {issued}")
    chosen: CertificateLanguage = issued or language or "kk"
    decision = await service.get_decision(conn, visit.decision_id)
    school = await conn.fetchrow(QUERIES["mon_get_visit"], visit_id)
    assert school is not None
    html = render(
        language=chosen,
        visit=visit,
        decision=decision,
        members=await service.commission(conn, visit.decision_id),
        findings=await service.list_findings(conn, admin, visit_id),
        school_address=school["school_address"],
    )
    return html, chosen

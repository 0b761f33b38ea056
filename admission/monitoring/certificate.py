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

from admission import catalogues
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

# The certificate's words and the names of its evidence's fields (``certificate.toml``).
_CATALOGUE = catalogues.read("admission.monitoring", "certificate.toml")
TEXT: dict[CertificateLanguage, dict[str, str]] = catalogues.by_language(_CATALOGUE["text"], ("kk", "ru"))
LABELS: dict[CertificateLanguage, dict[str, str]] = catalogues.by_language(_CATALOGUE["labels"], ("kk", "ru"))


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

"""Print views of intra-school registration: the sitting's minutes (para 17) and the individual plan (annex 1).

HTML for the printer, in Kazakh or Russian (the languages the school's papers are
kept in: ``?lang=ru`` or ``Accept-Language``, Kazakh otherwise).  Served only by the
admin routes of :mod:`queue_service.controllers.prevention`, whose reads are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from admission import catalogues
from admission.prevention import labels
from admission.prevention.models import Case, Minutes
from admission.reference import KZ, SchoolCard
from queue_service.i18n import negotiate

PrintLanguage = Literal["kk", "ru"]

_ENV = Environment(loader=PackageLoader("queue_service.pages", "templates"), autoescape=select_autoescape())
_ENV.filters["d"] = lambda value: value.strftime("%d.%m.%Y") if isinstance(value, dt.date) else ""
_ENV.filters["dt"] = lambda value: value.astimezone(KZ).strftime("%d.%m.%Y %H:%M") if value else ""

TEXT: dict[PrintLanguage, dict[str, str]] = catalogues.by_language(
    catalogues.read("queue_service.pages", "prevention.toml"), ("kk", "ru")
)


def print_language(accept_language: str | None, explicit: str | None) -> PrintLanguage:
    """Russian when asked for, else Kazakh (English is not a language of the school's papers)."""
    return "ru" if negotiate(accept_language, explicit) == "ru" else "kk"


def _common(language: PrintLanguage, school: SchoolCard) -> dict[str, Any]:
    return {
        "lang": language,
        "text": TEXT[language],
        "school_name": school.name_kk if language == "kk" else school.name_ru,
        "labels": labels,
    }


def render_minutes(minutes: Minutes, school: SchoolCard, language: PrintLanguage) -> str:
    return _ENV.get_template("prevention_minutes.html").render(minutes=minutes, **_common(language, school))


def render_plan(case: Case, school: SchoolCard, language: PrintLanguage) -> str:
    return _ENV.get_template("prevention_plan.html").render(case=case, plan=case.plan, **_common(language, school))

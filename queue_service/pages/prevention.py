"""Print views of intra-school registration: the sitting's minutes (para 17) and the individual plan (annex 1).

HTML for the printer, in Kazakh or Russian (the languages the school's papers are
kept in: ``?lang=ru`` or ``Accept-Language``, Kazakh otherwise).  Served only by the
admin routes of :mod:`queue_service.controllers.prevention`, whose reads are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from admission.prevention import labels
from admission.prevention.models import Case, Minutes
from admission.reference import KZ, SchoolCard
from queue_service.i18n import negotiate

PrintLanguage = Literal["kk", "ru"]

_ENV = Environment(loader=PackageLoader("queue_service.pages", "templates"), autoescape=select_autoescape())
_ENV.filters["d"] = lambda value: value.strftime("%d.%m.%Y") if isinstance(value, dt.date) else ""
_ENV.filters["dt"] = lambda value: value.astimezone(KZ).strftime("%d.%m.%Y %H:%M") if value else ""

TEXT: dict[PrintLanguage, dict[str, str]] = {
    "kk": {
        "minutes": "Профилактикалық кеңес отырысының № {number} хаттамасы",
        "held_on": "Өткізілген күні",
        "participants": "Қатысқандар",
        "full_name": "Аты-жөні",
        "post": "Лауазымы",
        "as": "Қатысуы",
        "agenda": "Күн тәртібі",
        "heard": "Тыңдалды",
        "decided": "Шешілді",
        "register": "мектепішілік есепке қойылсын; негіздері (22-т.)",
        "refuse": "мектепішілік есепке қоюдан бас тартылсын",
        "remove": "мектепішілік есептен шығарылсын (23-т.)",
        "handed_over": "Іс оқушымен бірге басқа мектепке берілді (24-т.).",
        "grade": "сынып",
        "chair": "Төраға",
        "secretary": "Хатшы",
        "signature": "(қолы)",
        "approve": "БЕКІТЕМІН:",
        "head": "Білім беру ұйымы басшысының аты-жөні",
        "date": "(күні)",
        "plan": "Профилактикалық жеке жұмыс жоспары (ПЖЖЖ)",
        "pupil": "Оқушының тегі, аты, әкесінің аты (болған жағдайда)",
        "birth_date": "Туған күні, айы, жылы",
        "iin": "ЖСН",
        "address": "Мекенжайы",
        "registered_address": "Тіркелген мекенжайы",
        "situation": "Өмірлік қиын жағдай немесе әлеуметтік қауіпті жағдайдың сипаттамасы",
        "period": "ПЖЖЖ {start} ж. бастап {end} ж. дейінгі аралыққа жасалды.",
        "kind_of_help": "Көмек көрсету түрінің атауы",
        "responsible": "Жауапты",
        "period_volume": "Көмектің кезеңі / көлемі",
        "deadline": "Көмек көрсету мерзімі",
        "quality_indicator": "Сапаны бағалау индикаторы",
        "acknowledged": "ПЖЖЖ мазмұнымен таныстым және көрсетілген ұсынымдарды орындау бойынша "
        "міндеттемелерді өз мойныма алуға келісемін",
        "parent": "(оқушының ата-анасының немесе заңды өкілінің Т.А.Ә. (болған жағдайда) және қолы)",
    },
    "ru": {
        "minutes": "Протокол № {number} заседания Совета профилактики",
        "held_on": "Дата проведения",
        "participants": "Присутствовали",
        "full_name": "Ф.И.О.",
        "post": "Должность",
        "as": "Участие",
        "agenda": "Повестка дня",
        "heard": "Слушали",
        "decided": "Постановили",
        "register": "поставить на внутришкольный учёт; основания (п. 22)",
        "refuse": "отказать в постановке на внутришкольный учёт",
        "remove": "снять с внутришкольного учёта (п. 23)",
        "handed_over": "Дело передано вместе с обучающимся в другую школу (п. 24).",
        "grade": "класс",
        "chair": "Председатель",
        "secretary": "Секретарь",
        "signature": "(подпись)",
        "approve": "УТВЕРЖДАЮ:",
        "head": "Ф.И.О. руководителя организации образования",
        "date": "(дата)",
        "plan": "Индивидуальный план профилактической работы (ИППР)",
        "pupil": "Фамилия, имя, отчество (при наличии) обучающегося",
        "birth_date": "Дата, месяц, год рождения",
        "iin": "ИИН",
        "address": "Адрес",
        "registered_address": "Адрес регистрации",
        "situation": "Описание трудной жизненной ситуации или социально опасного положения",
        "period": "ИППР составлен на период с {start} г. по {end} г.",
        "kind_of_help": "Наименование вида помощи",
        "responsible": "Ответственный",
        "period_volume": "Период / объём помощи",
        "deadline": "Срок оказания помощи",
        "quality_indicator": "Индикатор оценки качества",
        "acknowledged": "С содержанием ИППР ознакомлен(а) и согласен(на) принять на себя обязательства "
        "по выполнению указанных рекомендаций",
        "parent": "(Ф.И.О. (при наличии) и подпись родителя или законного представителя обучающегося)",
    },
}


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

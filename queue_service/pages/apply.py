"""The demo application form: ``GET /apply/{region}``, where the waiting room redirects an admitted visitor.

In production the egov portal's own form is there (``KEZEK_APPLY_URL``); this
page stands in for it so that a newcomer can try the whole flow on one machine.
It only calls the public API: it takes the access token from the URL fragment,
lists the region's schools with free grade-1 seats, files the application
(``POST /v1/applications``), shows the decision — accepted, or refused with its
legal ground — keeps the slot's lease alive by heartbeat, and lets the parent
withdraw an accepted application (pilot para 6).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.params import FromPath

from admission.errors import Language
from queue_service.pages import render_region_page, script
from queue_service.resources import DbDep

_SCRIPT = script("apply.js")

TEXT: dict[Language, dict[str, str]] = {
    "kk": {
        "title": "1-сыныпқа өтініш",
        "standin": "Демо: мұнда өндірісте egov порталының өтініш формасы тұрады.",
        "no_token": "Кіру рұқсаты жоқ. Алдымен күту залында кезекке тұрыңыз.",
        "to_room": "Күту залына",
        "applicant": "Өтініш беруші (ЖСН)",
        "applicant_name": "Өтініш берушінің тегі, аты, әкесінің аты (қолхат үшін)",
        "child": "Баланың ЖСН",
        "school": "Мектеп",
        "language": "Оқыту тілі",
        "free": "бос орын",
        "consent": "Қолжетімділігі шектеулі дербес деректерді пайдалануға келісемін",
        "submit": "Өтініш беру",
        "accepted": "Өтініш қабылданды: орын сізге бекітілді.",
        "refused": "Өтініш қабылданбады.",
        "ground": "Негіз",
        "withdraw": "Өтінішті қайтарып алу",
        "withdrawn": "Өтініш қайтарылды, орын босатылды.",
        "another": "Тағы бір бала үшін өтініш (егіздер)",
        "error": "Қате:",
        "kk": "қазақ",
        "ru": "орыс",
    },
    "ru": {
        "title": "Заявление в 1 класс",
        "standin": "Демо: в рабочей системе здесь форма заявления портала egov.",
        "no_token": "Нет допуска. Сначала встаньте в очередь в зале ожидания.",
        "to_room": "В зал ожидания",
        "applicant": "Заявитель (ИИН)",
        "applicant_name": "ФИО заявителя (для расписки)",
        "child": "ИИН ребёнка",
        "school": "Школа",
        "language": "Язык обучения",
        "free": "свободно",
        "consent": "Согласен(на) на использование сведений, составляющих охраняемую законом тайну",
        "submit": "Подать заявление",
        "accepted": "Заявление принято: место за вами.",
        "refused": "В приёме заявления отказано.",
        "ground": "Основание",
        "withdraw": "Отозвать заявление",
        "withdrawn": "Заявление отозвано, место освобождено.",
        "another": "Заявление на ещё одного ребёнка (близнецы)",
        "error": "Ошибка:",
        "kk": "казахский",
        "ru": "русский",
    },
    "en": {
        "title": "Grade 1 application",
        "standin": "Demo: in production the egov portal's application form is here.",
        "no_token": "No access. Join the queue in the waiting room first.",
        "to_room": "To the waiting room",
        "applicant": "Applicant (IIN)",
        "applicant_name": "Your full name (for the receipt)",
        "child": "Child's IIN",
        "school": "School",
        "language": "Language of instruction",
        "free": "free",
        "consent": "I consent to the use of restricted personal data",
        "submit": "Apply",
        "accepted": "Application accepted: the seat is yours.",
        "refused": "Application refused.",
        "ground": "Ground",
        "withdraw": "Withdraw the application",
        "withdrawn": "Application withdrawn; the seat is free again.",
        "another": "Apply for another child (twins)",
        "error": "Error:",
        "kk": "Kazakh",
        "ru": "Russian",
    },
}


@get("/apply/{region:str}", media_type=MediaType.HTML, include_in_schema=False, cache=False)
async def apply_page(region: FromPath[str], db: DbDep, request: Request[Any, Any, Any]) -> Response[str]:
    return await render_region_page(request, db, region, template="apply.html", texts=TEXT, page_script=_SCRIPT)

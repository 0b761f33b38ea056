"""The demo application form: ``GET /apply/{region}``, where the waiting room redirects an admitted visitor.

In production the egov portal's own form is there (``KEZEK_APPLY_URL``); this
page stands in for it so that a newcomer can try the whole flow on one machine.
It only calls the public API: it takes the access token from the URL fragment,
lists the region's schools with free grade-1 seats, files the application
(``POST /v1/applications``), shows the decision — school, child, application
number and date; accepted, or refused with its legal ground — offers a printable
receipt (acceptance, or the annex 2 refusal receipt), keeps the slot's lease
alive by heartbeat, and lets the parent withdraw an accepted application after
confirming (pilot para 6).  The filed applications' withdraw tokens are kept in
session storage, so a reload shows the decisions again.
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
        "number": "Өтініш нөмірі",
        "date": "Шешім күні",
        "reason": "Себебі",
        "order": "Қабылдау бұйрығы",
        "status": "Мәртебесі",
        "print_receipt": "Қолхатты басып шығару",
        "print_refusal": "Бас тарту туралы қолхатты басып шығару",
        "receipt_service": "1-сыныпқа электрондық кезек · Kezek",
        "annex2": "Мемлекеттік көрсетілетін қызмет стандартының 2-қосымшасы",
        "receipt_title": "Өтініштің қабылданғаны туралы қолхат",
        "refusal_title": "Құжаттарды қабылдаудан бас тарту туралы қолхат",
        "documents": "Құжаттар",
        "full_name": "Тегі, аты, әкесінің аты",
        "legal_basis": "Құқықтық негіз",
        "application_date": "Өтініш берілген күн",
        "receipt_note": "Орын сізге бекітілді. Мектеп қабылдауды бұйрықпен растайды.",
        "issued_by": "Берген: Kezek электрондық қызметі",
        "confirm_title": "Өтінішті қайтарып аласыз ба?",
        "confirm_text": "{child} баласының орны босатылады және басқа балаға берілуі мүмкін. "
        "Мұны болдырмау мүмкін емес.",
        "confirm_yes": "Иә, қайтарып алу",
        "confirm_no": "Жоқ, қалдыру",
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
        "number": "Номер заявления",
        "date": "Дата решения",
        "reason": "Причина",
        "order": "Приказ о зачислении",
        "status": "Статус",
        "print_receipt": "Распечатать расписку",
        "print_refusal": "Распечатать расписку об отказе",
        "receipt_service": "Электронная очередь в 1 класс · Kezek",
        "annex2": "Приложение 2 к стандарту государственной услуги",
        "receipt_title": "Расписка о приёме заявления",
        "refusal_title": "Расписка об отказе в приёме документов",
        "documents": "Документы",
        "full_name": "ФИО заявителя",
        "legal_basis": "Правовое основание",
        "application_date": "Дата подачи заявления",
        "receipt_note": "Место закреплено за вами. Школа подтверждает зачисление приказом.",
        "issued_by": "Выдано: электронная услуга Kezek",
        "confirm_title": "Отозвать заявление?",
        "confirm_text": "Место ребёнка {child} освободится и может достаться другому ребёнку. Отменить это нельзя.",
        "confirm_yes": "Да, отозвать",
        "confirm_no": "Нет, оставить",
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
        "number": "Application number",
        "date": "Decided on",
        "reason": "Reason",
        "order": "Admission order",
        "status": "Status",
        "print_receipt": "Print the receipt",
        "print_refusal": "Print the refusal receipt",
        "receipt_service": "Grade 1 electronic queue · Kezek",
        "annex2": "Annex 2 to the public service standard",
        "receipt_title": "Receipt of the application",
        "refusal_title": "Receipt of refusal to accept the documents",
        "documents": "Documents",
        "full_name": "Full name",
        "legal_basis": "Legal basis",
        "application_date": "Date of the application",
        "receipt_note": "The seat is reserved for you. The school confirms the admission by an order.",
        "issued_by": "Issued by: the Kezek electronic service",
        "confirm_title": "Withdraw the application?",
        "confirm_text": "The seat of child {child} is freed and may go to another child. This cannot be undone.",
        "confirm_yes": "Yes, withdraw",
        "confirm_no": "No, keep it",
    },
}


@get("/apply/{region:str}", media_type=MediaType.HTML, include_in_schema=False, cache=False)
async def apply_page(region: FromPath[str], db: DbDep, request: Request[Any, Any, Any]) -> Response[str]:
    return await render_region_page(request, db, region, template="apply.html", texts=TEXT, page_script=_SCRIPT)

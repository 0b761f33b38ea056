"""Grade-1 applications: requests, decisions, refusal grounds, receipts, errors."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, ClassVar, Literal

import msgspec

from admission.bodies import Body
from admission.errors import Conflict, Forbidden, InvalidInput, Language, NotFound, Unauthenticated

Status = Literal["accepted", "refused", "withdrawn", "confirmed"]
TeachingLanguage = Literal["kk", "ru", "en", "uz", "ug", "tg"]
RefusalCode = Literal[
    "class_full", "age_out_of_range", "no_consent", "duplicate_application", "window_not_open", "window_closed"
]

# Annex 2 item 9 of the model rules (order No. 564): each refusal names one.
GROUNDS: dict[int, dict[Language, str]] = {
    1: {
        "kk": "құжаттардың және (немесе) деректердің анық еместігі анықталды",
        "ru": "установление недостоверности документов и (или) данных",
        "en": "the documents or data were found unreliable",
    },
    2: {
        "kk": "көрсетілетін қызметті алушының және (немесе) материалдардың белгіленген талаптарға сәйкес келмеуі",
        "ru": "несоответствие услугополучателя и (или) представленных материалов установленным требованиям",
        "en": "the recipient or the materials do not meet the legal requirements",
    },
    3: {
        "kk": "уәкілетті мемлекеттік органның теріс жауабы немесе сараптаманың теріс қорытындысы",
        "ru": "отрицательный ответ уполномоченного государственного органа или отрицательное заключение экспертизы",
        "en": "a negative answer of an authorised state body or a negative expertise",
    },
    4: {
        "kk": "қызметке тыйым салу туралы заңды күшіне енген сот шешімі",
        "ru": "вступившее в силу решение суда о запрещении деятельности",
        "en": "a court decision in force prohibiting the activity",
    },
    5: {
        "kk": "арнаулы құқықтан айыру туралы заңды күшіне енген сот үкімі",
        "ru": "вступивший в силу приговор суда о лишении специального права",
        "en": "a court verdict in force depriving the recipient of the special right",
    },
    6: {
        "kk": "қолжетімділігі шектеулі дербес деректерге қол жеткізуге келісімнің болмауы",
        "ru": "отсутствие согласия на доступ к персональным данным ограниченного доступа",
        "en": "no consent to access restricted personal data",
    },
    7: {
        "kk": "сыныптардың толық жасақталуы",
        "ru": "укомплектованность классов",
        "en": "the class sets are full",
    },
}

# What exactly happened, beside the legal ground (a window refusal has no annex-2 ground: pilot para 7).
REASONS: dict[RefusalCode, tuple[int | None, dict[Language, str]]] = {
    "class_full": (
        7,
        {
            "kk": "Таңдалған тілдегі 1-сыныптарда бос орын жоқ.",
            "ru": "В 1-х классах на выбранном языке обучения нет свободных мест.",
            "en": "No free grade-1 seat is left in the chosen language of instruction.",
        },
    ),
    "age_out_of_range": (
        2,
        {
            "kk": "Бала осы жылы 1-сыныпқа қабылдау жасына сәйкес келмейді.",
            "ru": "Возраст ребёнка в этом году не соответствует возрасту приёма в 1 класс.",
            "en": "This year the child is not of grade-1 admission age.",
        },
    ),
    "no_consent": (
        6,
        {
            "kk": "Дербес деректерді пайдалануға келісім берілмеді.",
            "ru": "Не дано согласие на использование персональных данных.",
            "en": "Consent to use personal data was not given.",
        },
    ),
    "duplicate_application": (
        2,
        {
            "kk": "Бұл балаға өтініш бұрыннан берілген.",
            "ru": "На этого ребёнка уже подано заявление.",
            "en": "An application for this child is already live.",
        },
    ),
    "window_not_open": (
        None,
        {
            "kk": "Өңірде құжаттар қабылдау әлі басталған жоқ.",
            "ru": "Приём документов в регионе ещё не начался.",
            "en": "The region's admission window has not opened yet.",
        },
    ),
    "window_closed": (
        None,
        {
            "kk": "Өңірде құжаттар қабылдау аяқталды.",
            "ru": "Приём документов в регионе завершён.",
            "en": "The region's admission window has closed.",
        },
    ),
}


# The legal basis a refusal receipt cites beside the reason (model rules annex 2 form: Law on state
# services art. 19-1 item 2, and the sanitary rules ҚР ДСМ-76 annex 2 for full class sets).
_ITEM_9 = "model rules No. 564, annex 2 item 9 (pilot para 3.2), ground {}; Law on state services, art. 19-1 item 2"
LEGAL_BASIS: dict[RefusalCode, str] = {
    "class_full": _ITEM_9.format(7) + "; sanitary rules ҚР ДСМ-76, annex 2",
    "age_out_of_range": _ITEM_9.format(2) + "; grade-1 age of the model rules (KEZEK_ADMISSION_* settings)",
    "no_consent": _ITEM_9.format(6) + "; Law on personal data and their protection, art. 8",
    "duplicate_application": _ITEM_9.format(2) + "; one application per child",
    "window_not_open": "pilot order No. 73-НҚ / 168/НҚ, para 7 and annex 2 (the region's schedule)",
    "window_closed": "pilot order No. 73-НҚ / 168/НҚ, para 1, para 7 and annex 2 (until 31 August)",
}


class ApplicationRequest(Body, frozen=True, kw_only=True):
    """The application form (pilot annex; model rules annex 2): who applies, for whom, where.

    ``applicant_full_name`` is printed on a refusal receipt (annex 2 form); the
    portal knows it from the applicant's identity, a demo client may type it.
    """

    applicant_iin: str
    applicant_full_name: Annotated[str, msgspec.Meta(min_length=3, max_length=200)] | None = None
    child_iin: str
    school_bin: str
    language: TeachingLanguage
    consent: bool


class AgeRule(msgspec.Struct, frozen=True, kw_only=True):
    """Who is of grade-1 age (not asked of pre-school roster children: pilot para 4 admits them automatically).

    The seeds state no grade-1 age.  The model rules' paras 1-16 (not in the
    seeds) are reported to admit "children who turn six in the current
    calendar year", with no upper limit: the defaults (issue 18, point 2).
    Settings ``KEZEK_ADMISSION_MIN_AGE``, ``KEZEK_ADMISSION_AGE_REACHED_BY``,
    ``KEZEK_ADMISSION_MAX_AGE``.
    """

    min_years: int = 6
    """The age to reach by ``reached_by`` of the admission year."""
    reached_by: Annotated[str, msgspec.Meta(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")] = "12-31"
    """``MM-DD`` of the admission year: ``12-31`` = turns six in the calendar year, ``09-01`` = six by 1 September."""
    max_years: int | None = None
    """Children must be younger than this on 1 September; None: no upper limit (no act states one)."""

    def admits(self, born: dt.date, admission_year: int) -> bool:
        month, day = (int(part) for part in self.reached_by.split("-"))
        if _age_on(born, dt.date(admission_year, month, day)) < self.min_years:
            return False
        return self.max_years is None or _age_on(born, dt.date(admission_year, 9, 1)) < self.max_years


def _age_on(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """The refusal receipt (model rules annex 2 form), 2 copies.

    The recipient's full name and ИИН, the documents, the date of the
    application, the reason with its legal basis, and who refused: grade-1
    refusals are given by the rules at once (``automatic``), so no employee
    signs them; the decision is the school's through the platform.
    """

    form: str
    applicant_full_name: str | None
    applicant_iin: str
    child_iin: str
    school_bin: str
    school_name_kk: str
    school_name_ru: str
    documents: list[str]
    application_date: dt.date
    date: dt.date
    ground: int | None
    reason: dict[Language, str]
    legal_basis: str
    employee_full_name: str | None = None
    employee_position: str | None = None
    automatic: bool = True
    copies: int = 2


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    ground: int | None
    code: str
    ground_text: dict[Language, str] | None
    reason: dict[Language, str]
    first_application_id: uuid.UUID | None
    receipt: Receipt


class Application(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: Status
    applicant_iin: str
    child_iin: str
    school_bin: str
    region: str
    grade: int
    language: str
    priority: bool
    decided_at: dt.datetime
    withdrawn_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    order_number: str | None
    order_date: dt.date | None
    refusal: Refusal | None


class Filed(msgspec.Struct, frozen=True, kw_only=True):
    """A decision and the token that lets its applicant read and withdraw it."""

    application: Application
    withdraw_token: str
    replayed: bool = False
    """The same filing came again (the same slot and child, or the same Idempotency-Key): the first decision."""


# Errors


class LanguageNotOffered(InvalidInput):
    code = "language_not_offered"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мектепте {language} тілінде 1-сынып жоқ.",
        "ru": "В школе нет 1-х классов с языком обучения {language}.",
        "en": "The school has no grade-1 classes taught in {language}.",
    }


class ApplicantMismatch(Forbidden):
    code = "applicant_mismatch"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Өтініш берушінің ЖСН-і кіру рұқсатындағы ЖСН-мен сәйкес емес.",
        "ru": "ИИН заявителя не совпадает с ИИН в пропуске.",
        "en": "The applicant's IIN is not the one the access token was issued to.",
    }


class ForeignRegion(Forbidden):
    code = "foreign_region"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Кіру рұқсаты басқа өңірге берілген.",
        "ru": "Пропуск выдан для другого региона.",
        "en": "The access token is for another region.",
    }


class UnknownApplication(NotFound):
    code = "unknown_application"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мұндай өтініш жоқ.",
        "ru": "Такого заявления нет.",
        "en": "No such application.",
    }


class WrongWithdrawToken(Forbidden):
    code = "wrong_application_token"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл токен осы өтінішке берілмеген.",
        "ru": "Этот токен выдан не для этого заявления.",
        "en": "This token was not issued for this application.",
    }


class MissingApplicationToken(Unauthenticated):
    code = "application_token_required"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Өтініш токені қажет (Authorization: Bearer).",
        "ru": "Нужен токен заявления (Authorization: Bearer).",
        "en": "The application's token is required (Authorization: Bearer).",
    }


class NotWithdrawable(Conflict):
    code = "not_withdrawable"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Тек оң шешім алған өтінішті қайтарып алуға болады.",
        "ru": "Отозвать можно только заявление с положительным результатом.",
        "en": "Only an application with a positive result can be withdrawn.",
    }


class NotConfirmable(Conflict):
    code = "not_confirmable"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Тек қабылданған өтінішті бекітуге болады (қазір: {status}).",
        "ru": "Утвердить можно только принятое заявление (сейчас: {status}).",
        "en": "Only an accepted application can be confirmed (it is {status}).",
    }


class CapacityBelowTaken(Conflict):
    code = "capacity_below_taken"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Сыйымдылық {requested} орын: бұл бос емес немесе сақталған {taken} орыннан аз.",
        "ru": "Вместимость {requested} мест меньше {taken} уже занятых или закреплённых мест.",
        "en": "A capacity of {requested} seats is below the {taken} seats already taken or held.",
    }


class RosterConflict(Conflict):
    code = "roster_conflict"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мектепалды тізімін өзгерту мүмкін емес: {why}.",
        "ru": "Нельзя изменить список предшкольной подготовки: {why}.",
        "en": "The pre-school roster cannot change: {why}.",
    }


class InvalidWindow(InvalidInput):
    code = "invalid_window"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Қабылдау кезеңі басталуы аяқталуынан бұрын болуы керек.",
        "ru": "Начало приёма должно быть раньше его окончания.",
        "en": "The window must open before it closes.",
    }


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл Idempotency-Key басқа өтінішпен жіберілген.",
        "ru": "Этот Idempotency-Key уже использован с другим заявлением.",
        "en": "This Idempotency-Key was already used with a different application.",
    }


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Осы Idempotency-Key бар өтініш әлі өңделуде. Сәлден соң қайталаңыз.",
        "ru": "Заявление с этим Idempotency-Key ещё обрабатывается. Повторите через мгновение.",
        "en": "An application with this Idempotency-Key is still being processed. Retry in a moment.",
    }


class AlreadyFiled(Conflict):
    code = "already_filed"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл өтініш бұрын берілген: {application_id}.",
        "ru": "Это заявление уже подано: {application_id}.",
        "en": "This application was already filed: {application_id}.",
    }

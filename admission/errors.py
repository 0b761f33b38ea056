"""The one domain error hierarchy.

Every error has a stable machine ``code`` and a human message in Kazakh,
Russian and English.  The HTTP edge maps classes to status codes in one table
(``queue_service.problems``); the domain never speaks HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Language = Literal["kk", "ru", "en"]
LANGUAGES: tuple[Language, ...] = ("kk", "ru", "en")


class KezekError(Exception):
    """Base of every domain error.  Subclasses set ``code`` and ``messages``."""

    code: ClassVar[str] = "error"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Қате орын алды.",
        "ru": "Произошла ошибка.",
        "en": "An error occurred.",
    }

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail
        self.extra = extra
        super().__init__(detail or self.messages["en"])

    def message(self, language: Language) -> str:
        """The human message in ``language``, with ``extra`` fields filled in."""
        template = self.messages.get(language) or self.messages["en"]
        try:
            return template.format(**self.extra)
        except (KeyError, IndexError, ValueError):
            return template


class InvalidInput(KezekError):
    """The request is well-formed but a value is not acceptable."""

    code = "invalid_input"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Деректер дұрыс емес.",
        "ru": "Неверные данные.",
        "en": "The data is not valid.",
    }


class InvalidIin(InvalidInput):
    code = "invalid_iin"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "ЖСН дұрыс емес: 12 цифр және дұрыс бақылау цифры қажет.",
        "ru": "Неверный ИИН: нужно 12 цифр и верная контрольная цифра.",
        "en": "Invalid IIN: 12 digits with a correct check digit are required.",
    }


class NotFound(KezekError):
    code = "not_found"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Табылмады.",
        "ru": "Не найдено.",
        "en": "Not found.",
    }


class UnknownRegion(NotFound):
    code = "unknown_region"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мұндай өңір жоқ: {region}.",
        "ru": "Такого региона нет: {region}.",
        "en": "No such region: {region}.",
    }


class UnknownSchool(NotFound):
    """No school with that BIN: one class and one code for every part that looks a school up."""

    code = "unknown_school"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мұндай мектеп жоқ: {school}.",
        "ru": "Такой школы нет: {school}.",
        "en": "No such school: {school}.",
    }


class Unauthenticated(KezekError):
    """No credential, or one that is forged, expired or meant for something else."""

    code = "unauthenticated"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Кіру деректері жоқ немесе жарамсыз.",
        "ru": "Учётные данные отсутствуют или недействительны.",
        "en": "Credentials are missing or not valid.",
    }


class Forbidden(KezekError):
    """A valid credential that does not cover this action."""

    code = "forbidden"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл әрекетке рұқсат жоқ.",
        "ru": "Нет прав на это действие.",
        "en": "You are not allowed to do this.",
    }


class Conflict(KezekError):
    """The action contradicts the current state."""

    code = "conflict"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Әрекет ағымдағы күйге сәйкес келмейді.",
        "ru": "Действие противоречит текущему состоянию.",
        "en": "The action conflicts with the current state.",
    }


class Overloaded(KezekError):
    """Refused for now to protect the service; ``retry_after`` (seconds) says when to try again."""

    code = "overloaded"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Сұраным тым көп. Кейінірек қайталаңыз.",
        "ru": "Слишком много запросов. Повторите позже.",
        "en": "Too many requests. Try again later.",
    }


class Unavailable(KezekError):
    """A dependency (Redis, PostgreSQL) does not answer."""

    code = "unavailable"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Қызмет уақытша қолжетімсіз. Кейінірек қайталаңыз.",
        "ru": "Сервис временно недоступен. Повторите позже.",
        "en": "The service is temporarily unavailable. Try again later.",
    }

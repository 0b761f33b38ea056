"""The waiting room's refusals, in Kazakh, Russian and English."""

from __future__ import annotations

from typing import ClassVar

from admission.errors import Conflict, Forbidden, Language, Overloaded, Unauthenticated, Unavailable


class WindowNotOpen(Conflict):
    """Too early: not even the pre-queue is open.  Carries ``opens_at`` and ``prequeue_opens_at``."""

    code = "window_not_open"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Өтініш қабылдау әлі басталмады. Кезек {prequeue_opens_at} ашылады, қабылдау {opens_at} басталады.",
        "ru": "Приём заявлений ещё не начался. Очередь откроется {prequeue_opens_at}, приём начнётся {opens_at}.",
        "en": "Applications are not open yet. The queue opens at {prequeue_opens_at}, admission at {opens_at}.",
    }


class WindowClosed(Conflict):
    code = "window_closed"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл өңірде өтініш қабылдау аяқталды ({closes_at}).",
        "ru": "Приём заявлений в этом регионе завершён ({closes_at}).",
        "en": "Applications in this region have closed ({closes_at}).",
    }


class QueueFull(Overloaded):
    """``max_waiting`` visitors are already waiting; ``retry_after`` says when to try again."""

    code = "queue_full"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Кезек толы. {retry_after} секундтан кейін қайталаңыз.",
        "ru": "Очередь заполнена. Повторите через {retry_after} с.",
        "en": "The queue is full. Try again in {retry_after} s.",
    }


class TooManyJoins(Overloaded):
    """One client joined this room more often than its allowance per window (flood defence);
    ``retry_after`` says when its window ends."""

    code = "too_many_requests"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Сұраным тым көп. {retry_after} секундтан кейін қайталаңыз.",
        "ru": "Слишком много запросов. Повторите через {retry_after} с.",
        "en": "Too many requests. Try again in {retry_after} s.",
    }


class ChallengeRequired(Forbidden):
    """The room asks a proof of work before a join, and this join carries none."""

    code = "challenge_required"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Тексеру әлі аяқталмады: бірнеше секунд күтіп, қайталаңыз.",
        "ru": "Проверка ещё не завершена: подождите несколько секунд и повторите.",
        "en": "The check has not finished yet: wait a few seconds and try again.",
    }


class ChallengeFailed(Forbidden):
    """A proof-of-work answer that is forged, expired, of another region or already used."""

    code = "challenge_failed"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Тексеру өтпеді: бетті жаңартып, қайталаңыз.",
        "ru": "Проверка не пройдена: обновите страницу и повторите.",
        "en": "The check failed: reload the page and try again.",
    }


class InvalidTicket(Unauthenticated):
    """A ticket that is forged, expired, malformed or for another region."""

    code = "invalid_ticket"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Кезек билеті жарамсыз. Кезекке қайта тұрыңыз.",
        "ru": "Талон очереди недействителен. Встаньте в очередь заново.",
        "en": "The queue ticket is not valid. Join the queue again.",
    }


class SessionEnded(Unauthenticated):
    """An access token whose slot was released or whose lease expired."""

    code = "session_ended"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Сессия аяқталды: орын босатылды немесе мерзімі өтті.",
        "ru": "Сессия завершена: место освобождено или срок истёк.",
        "en": "The session has ended: the slot was released or its lease expired.",
    }


class PortalAssertionInvalid(Unauthenticated):
    """``KEZEK_PORTAL_AUTH=assertion`` and the portal's assertion is missing, forged or for another ИИН."""

    code = "portal_assertion_invalid"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Порталдың растауы жоқ немесе жарамсыз.",
        "ru": "Подтверждение портала отсутствует или недействительно.",
        "en": "The portal's assertion is missing or not valid.",
    }


class QueuePaused(Unavailable):
    """The room's Redis does not answer, or a lost room is being rebuilt: places are kept, retry shortly."""

    code = "queue_paused"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Кезек бір сәтке тоқтады. Орныңыз сақталады, бет өзі қайталайды.",
        "ru": "Очередь ненадолго приостановлена. Ваше место сохраняется, страница повторит запрос сама.",
        "en": "The queue is paused for a moment. Your place is kept; the page retries by itself.",
    }


class RoomMissing(QueuePaused):
    """Redis has no room for this region (restarted empty): it is being rebuilt; retry shortly."""

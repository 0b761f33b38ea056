"""Errors out as RFC 9457 ``application/problem+json``.

One table maps domain errors to HTTP statuses; Litestar's own HTTP errors
(malformed JSON, unknown fields, wrong types, oversized bodies, unknown
routes) get a stable ``code`` too.  Only 5xx are logged with a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec
import redis.exceptions
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from admission import errors
from admission.waiting_room.errors import QueuePaused
from queue_service.headers import BASELINE
from queue_service.i18n import Language, negotiate

log = logging.getLogger("kezek.problems")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.KezekError], int] = {
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.Overloaded: 429,
    errors.Unavailable: 503,
}

_HTTP_CODES: dict[int, tuple[str, dict[Language, str]]] = {
    400: ("bad_request", {"kk": "Сұраным дұрыс емес.", "ru": "Неверный запрос.", "en": "The request is malformed."}),
    401: ("unauthenticated", errors.Unauthenticated.messages),
    403: ("forbidden", errors.Forbidden.messages),
    404: ("not_found", errors.NotFound.messages),
    405: (
        "method_not_allowed",
        {"kk": "Бұл әдіске рұқсат жоқ.", "ru": "Метод не разрешён.", "en": "Method not allowed."},
    ),
    413: (
        "body_too_large",
        {
            "kk": "Сұраным денесі тым үлкен.",
            "ru": "Тело запроса слишком велико.",
            "en": "The request body is too large.",
        },
    ),
    415: (
        "unsupported_media_type",
        {"kk": "Қолдау жоқ формат.", "ru": "Неподдерживаемый формат.", "en": "Unsupported media type."},
    ),
    429: ("too_many_requests", {"kk": "Сұраным тым көп.", "ru": "Слишком много запросов.", "en": "Too many requests."}),
}
_ENCODER = msgspec.json.Encoder()


def status_for(exc: errors.KezekError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


def _language(request: Request[Any, Any, Any]) -> Language:
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[bytes]:
    """The problem document; ``extra`` members never replace the standard ones (a domain error's
    ``status`` field, for one, is the transfer's stage, not the HTTP status)."""
    body: dict[str, Any] = {**(extra or {}), "type": f"urn:kezek:problem:{code}", "title": title}
    body.update(status=status, code=code)
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    headers = {**BASELINE, **headers} if headers else BASELINE
    return Response(_ENCODER.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: errors.KezekError) -> Response[bytes]:
    status = status_for(exc)
    if status >= 500:
        log.error("domain error %s", exc.code, exc_info=exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    retry_after = exc.extra.get("retry_after")
    if retry_after is not None:
        headers = {**(headers or {}), "Retry-After": str(int(retry_after))}
    extra = {k: v for k, v in exc.extra.items() if isinstance(v, str | int | float | bool | list | dict)}
    return problem(request, status, exc.code, exc.message(_language(request)), exc.detail, headers, extra)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    code, messages = _HTTP_CODES.get(status, ("http_error", {"kk": "Қате.", "ru": "Ошибка.", "en": "Error."}))
    if isinstance(exc, ValidationException):
        code = "validation_error" if exc.extra else "bad_request"
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, list) and exc.extra:
        extra["errors"] = exc.extra
    if status >= 500:
        log.error("http error %s", status, exc_info=exc)
    title = messages.get(_language(request)) or messages["en"]
    headers = exc.headers
    if status == 429 and headers and "RateLimit-Reset" in headers:  # Litestar's rate limit says when
        headers = {**headers, "Retry-After": str(max(1, int(headers["RateLimit-Reset"])))}
    return problem(request, status, code, title, exc.detail or None, headers, extra)


def malformed_body_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """msgspec raises these (not its DecodeError) for bytes that are not UTF-8 and for nesting
    deeper than it recurses: the client's body, not a fault of ours."""
    log.warning("malformed request body: %s", exc, exc_info=isinstance(exc, RecursionError))
    code, messages = _HTTP_CODES[400]
    detail = "the body is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "the body is nested too deep"
    return problem(request, 400, code, messages[_language(request)], detail)


def data_error_handler(request: Request[Any, Any, Any], exc: asyncpg.exceptions.DataError) -> Response[bytes]:
    """A value PostgreSQL cannot hold (a NUL character, a number out of its column's range) that no
    declared constraint caught first: the client's input, answered 422 like every invalid value."""
    log.warning("value refused by PostgreSQL: %s", exc)
    refused = errors.InvalidInput("a value cannot be stored (NUL character or out of range)")
    return domain_error_handler(request, refused)


def unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("a dependency did not answer", exc_info=exc)
    return domain_error_handler(request, errors.Unavailable(retry_after=5))


REDIS_TRANSIENT = (
    redis.exceptions.ConnectionError,  # also LOADING (a restarted Redis reading its append-only file)
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica being promoted
    redis.exceptions.ClusterDownError,  # also MASTERDOWN
    redis.exceptions.TryAgainError,
    redis.exceptions.OutOfMemoryError,
)
REDIS_RETRY_AFTER = 3


def redis_error_handler(request: Request[Any, Any, Any], exc: redis.exceptions.RedisError) -> Response[bytes]:
    """Redis unreachable, restarting, failing over or busy: 503 ``queue_paused`` with Retry-After; places are kept.

    Any other Redis error is a bug (a script error): 500.
    """
    if isinstance(exc, REDIS_TRANSIENT) or str(exc).startswith("BUSY"):
        log.warning("Redis did not answer %s %s: %r", request.method, request.url.path, exc)
        return domain_error_handler(request, QueuePaused(retry_after=REDIS_RETRY_AFTER))
    return internal_error_handler(request, exc)


def database_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """PostgreSQL went away under the request (failover, fast shutdown, a terminated or stale pooled
    connection, a read-only standby): 503 with Retry-After -- nothing was committed, the client retries.
    An ``InterfaceError`` other than a closed connection is a bug: 500.  (asyncpg's
    ``InternalClientError`` comes from handing back a connection that died mid-operation.)"""
    if isinstance(exc, asyncpg.InterfaceError) and "closed" not in str(exc):
        return internal_error_handler(request, exc)
    return unavailable_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unhandled error", exc_info=exc)
    messages = {"kk": "Ішкі қате.", "ru": "Внутренняя ошибка.", "en": "Internal error."}
    return problem(request, 500, "internal_error", messages[_language(request)])


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of the app: a NUL character in the path or the query is a 400 before any
    handler runs (PostgreSQL text cannot hold one, and no region, ИИН or id contains one).

    A coroutine function on purpose: Litestar runs a plain function hook in a worker thread, a
    thread hand-off on every request (measured: ~16 % of an event loop's time serving ``/health``)."""
    if "\x00" in request.scope["path"]:
        raise ValidationException("the path contains a NUL character")
    query = request.scope["query_string"]
    if b"%00" in query or b"\x00" in query:
        raise ValidationException("the query contains a NUL character")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.KezekError: domain_error_handler,
    HTTPException: http_error_handler,
    UnicodeDecodeError: malformed_body_handler,
    RecursionError: malformed_body_handler,
    asyncpg.exceptions.DataError: data_error_handler,
    redis.exceptions.RedisError: redis_error_handler,
    asyncpg.exceptions.CannotConnectNowError: unavailable_handler,
    asyncpg.exceptions.TooManyConnectionsError: unavailable_handler,
    asyncpg.PostgresConnectionError: database_error_handler,
    asyncpg.exceptions.OperatorInterventionError: database_error_handler,
    asyncpg.exceptions.InsufficientResourcesError: database_error_handler,
    asyncpg.exceptions.ReadOnlySQLTransactionError: database_error_handler,
    asyncpg.InterfaceError: database_error_handler,
    asyncpg.exceptions.InternalClientError: database_error_handler,
    ConnectionError: unavailable_handler,
    TimeoutError: unavailable_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem", "refuse_nul", "status_for"]

"""The OpenAPI document tells the truth about errors: every status an operation can answer is
declared, with the RFC 9457 problem schema as ``application/problem+json``, so a generated client
handles every answer.

Declared once, here, from what each route handler is (a write or a read, with credentials or
without, with path parameters or not, rate limited or not), never by hand per handler:
``declare_problems(app)`` gives every registered handler its error ``responses`` before Litestar
builds the document (lazily, on the first request for it).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from queue_service.problems import PROBLEM_JSON


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details: ``code`` is stable, ``title`` is in the negotiated language (kk/ru/en);
    some problems add members of their own (``opens_at``, ``retry_after``...)."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


DESCRIPTIONS = {
    400: "Malformed request: not JSON, not UTF-8, nested too deep, a NUL character, a parameter out of range",
    401: "No credential, or one forged, expired or meant for something else (assertion mode: no portal assertion)",
    403: "A valid credential that does not cover this (another region, school, applicant or child)",
    404: "Something the request names does not exist",
    409: "Not possible in the current state (window not open, wrong stage, already in progress...)",
    413: "The body is larger than KEZEK_MAX_BODY_BYTES",
    422: "A value is not acceptable (an invalid ИИН, dates out of order...)",
    429: "Too many requests: try again after Retry-After seconds",
    500: "A fault of Kezek's (logged)",
    503: "Redis or PostgreSQL does not answer: try again after Retry-After seconds",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALWAYS = frozenset({400, 422, 500, 503})


def statuses(handler: HTTPRouteHandler, path: str, rate_limited: bool) -> set[int]:
    """The error statuses ``handler`` (at ``path``) can answer, from what it is."""
    found = set(ALWAYS)
    writes = bool(handler.http_methods & WRITES)
    if handler.resolve_security() or writes:  # a write may need the portal's identity
        found |= {401, 403}
    if "{" in path or writes or handler.resolve_security():
        found.add(404)
    if writes:
        found |= {409, 413}
    if rate_limited:
        found.add(429)
    return found


def declare_problems(app: Litestar, rate_limited: frozenset[str] = frozenset()) -> None:
    """Give every handler of ``app`` in the schema its problem responses (a handler's own
    ``responses`` win, except Litestar's generic 400, which ours replaces).  ``rate_limited``:
    the handler names (``handler.handler_name``) a rate limit guards."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            problems = {
                status: ResponseSpec(
                    data_container=Problem, media_type=PROBLEM_JSON, description=DESCRIPTIONS[status],
                    generate_examples=False,
                )
                for status in statuses(handler, route.path_format, handler.handler_name in rate_limited)
            }  # fmt: skip
            handler.responses = {**problems, **(handler.responses or {})}

"""What the admin controllers share: the admin scope on every route, the request's clock, and the
routes that take a record through one step of its procedure.

The admin areas (census, monitoring, prevention, seats) each keep their own controller and path;
what makes a route an *admin* route (the admin principal as a dependency, the bearer scheme in
the OpenAPI document) lives here once, so an area cannot forget half of it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import msgspec
from litestar import Controller, Request
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody
from msgspec.structs import asdict

from admission.db import Connection
from admission.signing_keys import AdminPrincipal
from queue_service.auth import ADMIN_DEPENDENCY, ADMIN_SECURITY, AdminDep
from queue_service.resources import DbDep


def now() -> dt.datetime:
    """The instant a request acts at (UTC): deadlines and audit entries count from it."""
    return dt.datetime.now(dt.UTC)


class AdminScoped(Controller):
    """A controller whose every route takes ``admin: AdminDep`` and is documented as needing an admin token."""

    dependencies = ADMIN_DEPENDENCY
    security = ADMIN_SECURITY


F = TypeVar("F", bound=Callable[..., Any])


def named(handler: F, owner: str, name: str, **annotations: Any) -> F:
    """A handler made by a factory (one function serving several routes of a controller), named as
    if written in ``owner``'s class body as ``name``, with the ``annotations`` that differ per route
    (a request body's type, the return type).

    Litestar makes the OpenAPI operationId of the name and orders a controller's routes, and so the
    OpenAPI document, by qualified name; the annotations give the body's schema and the response's.
    """
    handler.__name__ = name
    handler.__qualname__ = f"{owner}.{name}"
    handler.__annotations__ = {**handler.__annotations__, **annotations}
    return handler


Present = Callable[[Connection, AdminPrincipal, Any], Awaitable[Any]]
"""How a step's result is shown to the admin who took it (``(conn, admin, result) -> answer``)."""


async def _as_is(_conn: Connection, _admin: AdminPrincipal, result: Any) -> Any:
    return result


def step_route(
    owner: str,
    name: str,
    route: HTTPRouteHandler,
    *,
    key: str,
    body: type[msgspec.Struct],
    act: Callable[..., Awaitable[Any]],
    returns: type,
    present: Present = _as_is,
) -> HTTPRouteHandler:
    """The handler of one step an admin takes a record through with a JSON body (a monitoring
    visit's finding, certificate, plan and report; a transfer's decision, departure, order and
    prevention reference): every one is the same call, ``act(conn, admin, record id, **the body's
    fields, now=...)``, whose result ``present`` turns into the answer, so it is written once and
    each step is a row of ``route``, the body's type, the domain function and what it answers.

    A body's fields are the domain function's keyword arguments of the same names.  The record's
    id is the route's path parameter ``key`` (``visit_id``, ``transfer_id``), read from the path
    Litestar has already parsed by its ``{key:uuid}`` template (which the OpenAPI document shows),
    so one handler serves paths whose parameter is named after what they step.
    """
    if not route.paths or not all(f"{{{key}:uuid}}" in path for path in route.paths):
        raise ValueError(f"{owner}.{name}: every path of a step route names its record {{{key}:uuid}}")

    async def handler(
        self: Controller,  # noqa: ARG001 - Litestar binds the controller
        admin: AdminDep,
        db: DbDep,
        request: Request[Any, Any, Any],
        data: Any,
    ) -> Any:
        record: uuid.UUID = request.path_params[key]
        async with db.acquire() as conn:
            result = await act(conn, admin, record, **asdict(data), now=now())
            return await present(conn, admin, result)

    return route(named(handler, owner, name, data=cast(Any, JSONBody)[body], **{"return": returns}))

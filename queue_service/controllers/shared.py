"""What the admin controllers share: the admin scope on every route, and the request's clock.

The admin areas (census, monitoring, prevention, seats) each keep their own controller and path;
what makes a route an *admin* route (the admin principal as a dependency, the bearer scheme in
the OpenAPI document) lives here once, so an area cannot forget half of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Controller

from queue_service.auth import ADMIN_DEPENDENCY, ADMIN_SECURITY


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

"""What the admin controllers share: the admin scope on every route, and the request's clock.

The admin areas (census, monitoring, prevention, seats) each keep their own controller and path;
what makes a route an *admin* route (the admin principal as a dependency, the bearer scheme in
the OpenAPI document) lives here once, so an area cannot forget half of it.
"""

from __future__ import annotations

import datetime as dt

from litestar import Controller

from queue_service.auth import ADMIN_DEPENDENCY, ADMIN_SECURITY


def now() -> dt.datetime:
    """The instant a request acts at (UTC): deadlines and audit entries count from it."""
    return dt.datetime.now(dt.UTC)


class AdminScoped(Controller):
    """A controller whose every route takes ``admin: AdminDep`` and is documented as needing an admin token."""

    dependencies = ADMIN_DEPENDENCY
    security = ADMIN_SECURITY

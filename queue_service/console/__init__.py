"""The admin console at ``/admin``: regional education offices' view of their rooms, seats and audit log.

Server-rendered Jinja2 pages plus one small script (live numbers and charts).
An admin signs in with the token ``kezek mint-admin-token`` printed; the token
is kept in Litestar's encrypted client-side session cookie (HttpOnly,
SameSite=Strict, path ``/admin``) and verified again on every request, so the
console's scope is exactly the API's (ministry / region / school) and ends when
the token does.  Every form carries Litestar's CSRF token.  Every action calls
the same domain function as the API handler for it.
"""

from __future__ import annotations

from queue_service.console.history import history_lifespan
from queue_service.console.views import console_router, template_config

__all__ = ["console_router", "history_lifespan", "template_config"]

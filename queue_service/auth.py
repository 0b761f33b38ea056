"""Bearer credentials at the edge: admin tokens (ministry / region / school)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from admission.errors import Unauthenticated
from admission.keys import AdminPrincipal, KeySet, verify_admin_token


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """The token of ``Authorization: Bearer <token>``; Unauthenticated when absent."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("an Authorization: Bearer token is required")
    return token.strip()


def provide_admin(request: Request[Any, Any, Any]) -> AdminPrincipal:
    keys: KeySet = request.app.state["keyset"]
    return verify_admin_token(keys, bearer_token(request))


# Put ``dependencies=ADMIN_DEPENDENCY`` on an admin controller or handler and take ``admin: AdminDep``.
ADMIN_DEPENDENCY = {"admin": Provide(provide_admin, sync_to_thread=False)}
AdminDep = NamedDependency[AdminPrincipal]

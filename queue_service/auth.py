"""Bearer credentials at the edge: admin tokens (ministry / region / school)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import SecurityRequirement, SecurityScheme

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


# The bearer credentials, as the OpenAPI schema declares them (``components.securitySchemes``).
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "admin": SecurityScheme(
        type="http", scheme="bearer", bearer_format="JWT",
        description="Admin token (EdDSA JWT from `kezek mint-admin-token`): role ministry, region or school",
    ),
    "ticket": SecurityScheme(
        type="http", scheme="bearer", description="Waiting-room ticket from POST /v1/rooms/{region}/visitors",
    ),
    "access": SecurityScheme(
        type="http", scheme="bearer", bearer_format="JWT",
        description="Access token (EdDSA JWT, aud = region) given when the waiting room admits the visitor",
    ),
    "withdraw": SecurityScheme(
        type="http", scheme="bearer", description="withdraw_token returned with the application's decision",
    ),
    "transfer": SecurityScheme(
        type="http", scheme="bearer", description="transfer_token returned when the transfer was requested",
    ),
}  # fmt: skip


def requires(scheme: str) -> list[SecurityRequirement]:
    """``security=requires("access")`` on a handler: the schema says which bearer credential it takes."""
    if scheme not in SECURITY_SCHEMES:
        raise KeyError(scheme)
    return [{scheme: []}]


ADMIN_SECURITY = requires("admin")

# Put ``dependencies=ADMIN_DEPENDENCY`` and ``security=ADMIN_SECURITY`` on an admin controller
# or handler and take ``admin: AdminDep``.
ADMIN_DEPENDENCY = {"admin": Provide(provide_admin, sync_to_thread=False)}
AdminDep = NamedDependency[AdminPrincipal]

"""Credentials at the edge: admin tokens (ministry / region / school) and the parent's portal identity."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated, Any

import asyncpg
from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.enums import ScopeType
from litestar.openapi.spec import SecurityRequirement, SecurityScheme
from litestar.params import HeaderParameter, QueryParameter
from litestar.types import Scope

from admission import audit
from admission.errors import Forbidden, KezekError, Unauthenticated
from admission.portal import PORTAL_HEADER, Applicant, PortalIdentity
from admission.signing_keys import AdminPrincipal, KeySet, verify_admin_token

log = logging.getLogger("kezek.auth")


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


async def audit_refusal(exc: Exception, scope: Scope) -> None:
    """``after_exception`` of the app: an admin refused (403) is in the audit log, action ``refused``,
    with what was attempted.  Anything else (a parent refused, a forged token) is not an admin's act."""
    if not isinstance(exc, Forbidden) or scope["type"] != ScopeType.HTTP:
        return
    request: Request[Any, Any, Any] = Request(scope)
    admin = _refused_admin(request)
    if admin is None:
        return
    attempted = f"{request.method} {request.url.path}"
    try:
        async with request.app.state["db"].acquire() as conn:
            await audit.record(
                conn, admin, "refused", attempted, region=admin.region, old=None,
                new={"code": exc.code, "detail": exc.detail},
            )  # fmt: skip
    except (OSError, asyncpg.PostgresError) as failure:  # the refusal itself is answered all the same
        log.warning("could not audit the refused %s by %s: %s", attempted, admin.subject, failure)


def _refused_admin(request: Request[Any, Any, Any]) -> AdminPrincipal | None:
    """The admin behind a refused request: the API's bearer token, or the console's session (which
    holds the token the admin signed in with); None when neither is a valid admin token."""
    keys: KeySet = request.app.state["keyset"]
    session = request.scope.get("session")
    tokens = [session.get("token")] if isinstance(session, dict) else []
    with contextlib.suppress(Unauthenticated):  # no bearer: perhaps the console's session
        tokens.insert(0, bearer_token(request))
    for token in tokens:
        if isinstance(token, str):
            try:
                return verify_admin_token(keys, token)
            except KezekError:
                continue
    return None


AdminDep = NamedDependency[AdminPrincipal]
RegionQuery = Annotated[
    str | None,
    QueryParameter(
        description="a region's slug; omitted: every region for a ministry admin, its own for a region admin",
    ),
]


def provide_region_to_read(admin: AdminDep, region: RegionQuery = None) -> str | None:
    """The region a region-wide list reads (None: every region), from its ``region`` query parameter
    and the admin's scope (:meth:`AdminPrincipal.region_to_read`): one rule, one documented parameter."""
    return admin.region_to_read(region)


# Put ``dependencies=ADMIN_DEPENDENCY`` and ``security=ADMIN_SECURITY`` on an admin controller
# or handler and take ``admin: AdminDep`` (and, for a region-wide list, ``region_to_read: RegionToRead``).
ADMIN_DEPENDENCY = {
    "admin": Provide(provide_admin, sync_to_thread=False),
    "region_to_read": Provide(provide_region_to_read, sync_to_thread=False),
}
RegionToRead = NamedDependency[str | None]


# ---------------------------------------------------------------- the parent: one portal identity


class PortalCredential:
    """The request's portal identity (``admission.portal``), checked when a handler asks for it.

    Join, filing, withdrawing and transfers all take the applicant through this one object:
    ``demo`` trusts the typed ИИН, ``assertion`` requires the portal's signed JWT.
    """

    def __init__(self, identity: PortalIdentity, assertion: str | None) -> None:
        self.identity = identity
        self.assertion = assertion

    def applicant(self, claimed_iin: str) -> Applicant:
        """The applicant who may act as ``claimed_iin`` (401 without a valid assertion, 403 for another)."""
        return self.identity.vouch(claimed_iin, self.assertion)

    def holder(self) -> Applicant | None:
        """The applicant the assertion names, when one is sent in ``assertion`` mode; None otherwise
        (demo mode proves nobody: there, only a withdraw or transfer token does)."""
        if self.identity.mode == "demo" or not self.assertion:
            return None
        return self.identity.verified(self.assertion)


def portal_credential(request: Request[Any, Any, Any]) -> PortalCredential:
    """For handlers without dependency injection (the join surge path)."""
    return PortalCredential(request.app.state["portal"], request.headers.get(PORTAL_HEADER))


AssertionHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Portal-Assertion",
        required=False,
        description="`assertion` portal mode: the portal's JWT (ES256/EdDSA, aud=kezek, sub=the applicant's ИИН, "
        "children=[ИИН of each child they represent]); ignored in `demo` mode",
    ),
]


def provide_portal(request: Request[Any, Any, Any], x_portal_assertion: AssertionHeader = None) -> PortalCredential:
    return PortalCredential(request.app.state["portal"], x_portal_assertion)


# ``dependencies=PORTAL_DEPENDENCY`` on a parent-facing handler, which takes ``portal: PortalDep``.
PORTAL_DEPENDENCY = {"portal": Provide(provide_portal, sync_to_thread=False)}
PortalDep = NamedDependency[PortalCredential]

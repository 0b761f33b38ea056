"""Grade-1 applications for parents: file (with the waiting room's access token), read, withdraw.

The access token (``admission.access``) names its region in ``aud``; the
token is verified for that region and the school must be in it.  The slot is
the right to file: one Redis call checks that the token's slot is held now and
counts the child (at most ``KEZEK_CHILDREN_PER_SLOT`` per slot; the same child
again passes uncounted, so a re-sent form reaches the idempotent filing); the
slot ends once its last child is filed.  The answer
carries a ``withdraw_token``, shown once: the applicant's proof for reading
and withdrawing this application (pilot para 6), so nobody else can.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Container
from typing import Annotated, Any

import jwt
import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from admission import applications
from admission.access import AccessClaims, verify_access_token
from admission.applications import admin as seats
from admission.applications.models import (
    ApplicantMismatch,
    Application,
    ApplicationRequest,
    MissingApplicationToken,
)
from admission.applications.service import withdraw_secret
from admission.db import Pool, stateless
from admission.errors import Unauthenticated
from admission.iin import validate_iin
from admission.portal import Applicant
from admission.signing_keys import KeySet
from admission.waiting_room.errors import SessionEnded
from queue_service.auth import PORTAL_DEPENDENCY, PortalDep, bearer_token, requires
from queue_service.resources import DbDep, provide_db, provide_keys, provide_settings
from queue_service.rooms_runtime import release_slot, use_slot, visitors_of
from queue_service.settings import Settings

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        pattern=r"^[ -~]{1,255}$",
        description="The same key with the same form answers the first decision again (IETF draft "
        "httpapi-idempotency-key-header); 1-255 printable ASCII characters, unique per applicant.",
    ),
]


class FiledApplication(Application, frozen=True, kw_only=True):
    withdraw_token: str
    """Keep it: it reads and withdraws this application (``Authorization: Bearer <withdraw_token>``)."""


def _state_of(request: Request[Any, Any, Any]) -> tuple[Pool, KeySet, Settings]:
    """What the surge's handlers need from the app's state (what ``provide_db``, ``provide_keys`` and
    ``provide_settings`` would inject)."""
    state = request.app.state
    return provide_db(state), provide_keys(state), provide_settings(state)


def access_claims(keyset: KeySet, token: str, regions: Container[str]) -> AccessClaims:
    """Verify a waiting-room access token for the region it names, one of ``regions`` (an admin's token, say,
    is signed by the same key but names the admins' audience: not an access token)."""
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError as exc:
        raise Unauthenticated(str(exc)) from exc
    if not isinstance(audience, str) or audience not in regions:
        raise Unauthenticated("not a waiting room's access token: it names no region")
    return verify_access_token(keyset, token, audience)


def application_proof(request: Request[Any, Any, Any], portal: PortalDep) -> str | Applicant:
    """The withdraw token, or (``assertion`` mode) the parent's portal identity: either reads and
    withdraws the parent's own application."""
    try:
        return bearer_token(request)
    except Unauthenticated as exc:
        holder = portal.holder()
        if holder is None:
            raise MissingApplicationToken() from exc
        return holder


@post(
    "/v1/applications",
    tags=["applications"],
    summary="File a grade-1 application; decided at once (accepted, or refused with its ground and receipt)",
    description="Idempotent: the same access token sending the same form again, or the same `Idempotency-Key` "
    "header with the same form, answers the first decision again with its withdraw token (the same key with "
    "another form: 422 `idempotency_key_reused`; while that key's request is still being decided: 409 "
    "`idempotency_in_progress`).",
    security=requires("access"),
    status_code=HTTP_201_CREATED,
    dependencies=PORTAL_DEPENDENCY,
)
async def file_application(
    request: Request[Any, Any, Any],
    data: JSONBody[ApplicationRequest],
    portal: PortalDep,
    idempotency_key: IdempotencyKey = None,
) -> FiledApplication:
    # The pool, the keys and the settings straight from the app's state, not injected: Litestar resolves two
    # or more dependencies of a request in an anyio task group (a task each), ~70 µs of a filing's CPU.
    db, keyset, settings = _state_of(request)
    claims = access_claims(keyset, bearer_token(request), visitors_of(request).regions)
    portal.applicant(data.applicant_iin).require_child(data.child_iin)
    # what would refuse the form anyway is checked before the child counts against the slot
    validate_iin(data.applicant_iin)
    validate_iin(data.child_iin)
    if data.applicant_iin != claims.applicant_iin:
        raise ApplicantMismatch()
    secret = withdraw_secret(keyset.raw_private)
    limit = settings.children_per_slot
    use = await use_slot(request, claims, data.child_iin, limit)
    if use.outcome == "ended":
        # no slot for a new filing; a repeat of one already decided (e.g. by Idempotency-Key) still gets its answer
        async with stateless(db) as conn:
            repeat = await applications.repeat_of(
                conn, data, applications.Filing.of(data, claims, idempotency_key, secret)
            )
        if repeat is None:
            raise SessionEnded()
        return FiledApplication(**msgspec.structs.asdict(repeat.application), withdraw_token=repeat.withdraw_token)
    try:
        async with stateless(db) as conn:
            filed = await applications.file_application(
                conn,
                data,
                claims=claims,
                age_rule=settings.age_rule(),
                now=dt.datetime.now(dt.UTC),
                readings=settings.readings(),
                idempotency_key=idempotency_key,
                token_secret=secret,
            )
    finally:
        if use.filed >= limit:
            await release_slot(request, claims)  # its last child: the slot goes to the next visitor
    return FiledApplication(**msgspec.structs.asdict(filed.application), withdraw_token=filed.withdraw_token)


# The routes of one filed application: its withdraw token (or the parent's portal identity) proves it.
_OWN_APPLICATION: dict[str, Any] = {
    "tags": ["applications"],
    "security": requires("withdraw"),
    "dependencies": {**PORTAL_DEPENDENCY, "proof": Provide(application_proof, sync_to_thread=False)},
}
ProofDep = NamedDependency[str | Applicant]


@get("/v1/applications/{application_id:uuid}", summary="An application and its decision", **_OWN_APPLICATION)
async def get_application(application_id: FromPath[uuid.UUID], db: DbDep, proof: ProofDep) -> Application:
    async with db.acquire() as conn:
        return await applications.get_application(conn, application_id, proof)


@post(
    "/v1/applications/{application_id:uuid}/withdraw",
    summary="Withdraw an accepted application (pilot para 6); the seat is free at once",
    status_code=HTTP_200_OK,
    **_OWN_APPLICATION,
)
async def withdraw_application(application_id: FromPath[uuid.UUID], db: DbDep, proof: ProofDep) -> Application:
    async with db.acquire() as conn:
        return await applications.withdraw(conn, application_id, proof, dt.datetime.now(dt.UTC))


@get(
    "/v1/regions/{slug:str}/schools",
    tags=["reference"],
    summary="A region's schools with free grade-1 seats per language of instruction",
)
async def region_schools(request: Request[Any, Any, Any], slug: FromPath[str]) -> list[seats.SchoolSeats]:
    """Cached per worker for ``KEZEK_SCHOOLS_CACHE_SECONDS``: parents poll this during the surge.

    The pool and the settings from the app's state, not injected (two dependencies cost a task group)."""
    db, _, settings = _state_of(request)
    cache: dict[str, tuple[float, list[seats.SchoolSeats]]] | None = request.app.state.get("schools_cache")
    if cache is None:
        cache = request.app.state["schools_cache"] = {}
    cached = cache.get(slug)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    async with db.acquire() as conn:
        schools = await seats.region_schools(conn, slug)
    if settings.schools_cache_seconds > 0:
        cache[slug] = (time.monotonic() + settings.schools_cache_seconds, schools)
    return schools

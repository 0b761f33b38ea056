"""Grade-1 applications for parents: file (with the waiting room's access token), read, withdraw.

The access token (``admission.access``) names its region in ``aud``; the
token is verified for that region and the school must be in it.  The answer
carries a ``withdraw_token``, shown once: the applicant's proof for reading
and withdrawing this application (pilot para 6), so nobody else can.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Annotated, Any

import jwt
import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from admission import applications
from admission.access import AccessClaims, verify_access_token
from admission.applications import admin as seats
from admission.applications.models import AgeRule, Application, ApplicationRequest, MissingApplicationToken
from admission.applications.service import withdraw_secret
from admission.errors import Unauthenticated
from admission.keys import KeySet
from queue_service.auth import bearer_token, requires
from queue_service.resources import DbDep, KeysDep, SettingsDep
from queue_service.rooms_runtime import release_slot

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


def access_claims(keyset: KeySet, token: str) -> AccessClaims:
    """Verify a waiting-room access token for the region it names."""
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError as exc:
        raise Unauthenticated(str(exc)) from exc
    if not isinstance(audience, str):
        raise Unauthenticated("access token names no region")
    return verify_access_token(keyset, token, audience)


def application_token(request: Request[Any, Any, Any]) -> str:
    try:
        return bearer_token(request)
    except Unauthenticated as exc:
        raise MissingApplicationToken() from exc


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
)
async def file_application(
    request: Request[Any, Any, Any],
    data: JSONBody[ApplicationRequest],
    db: DbDep,
    keyset: KeysDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> FiledApplication:
    claims = access_claims(keyset, bearer_token(request))
    rule = AgeRule(min_years=settings.admission_min_age, max_years=settings.admission_max_age)
    async with db.acquire() as conn:
        filed = await applications.file_application(
            conn,
            data,
            claims=claims,
            age_rule=rule,
            now=dt.datetime.now(dt.UTC),
            idempotency_key=idempotency_key,
            token_secret=withdraw_secret(keyset.raw_private),
        )
    await release_slot(request, claims)  # submitted: the waiting room's slot goes to the next visitor
    return FiledApplication(**msgspec.structs.asdict(filed.application), withdraw_token=filed.withdraw_token)


@get(
    "/v1/applications/{application_id:uuid}",
    tags=["applications"],
    summary="An application and its decision",
    security=requires("withdraw"),
)
async def get_application(
    request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID], db: DbDep
) -> Application:
    token = application_token(request)
    async with db.acquire() as conn:
        return await applications.get_application(conn, application_id, token)


@post(
    "/v1/applications/{application_id:uuid}/withdraw",
    tags=["applications"],
    summary="Withdraw an accepted application (pilot para 6); the seat is free at once",
    security=requires("withdraw"),
    status_code=HTTP_200_OK,
)
async def withdraw_application(
    request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID], db: DbDep
) -> Application:
    token = application_token(request)
    async with db.acquire() as conn:
        return await applications.withdraw(conn, application_id, token, dt.datetime.now(dt.UTC))


@get(
    "/v1/regions/{slug:str}/schools",
    tags=["reference"],
    summary="A region's schools with free grade-1 seats per language of instruction",
)
async def region_schools(
    request: Request[Any, Any, Any], slug: FromPath[str], db: DbDep, settings: SettingsDep
) -> list[seats.SchoolSeats]:
    """Cached per worker for ``KEZEK_SCHOOLS_CACHE_SECONDS``: parents poll this during the surge."""
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

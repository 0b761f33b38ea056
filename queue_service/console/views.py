"""The console's pages and forms; each action is the API's domain call (see the package docstring)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote, urlencode

import msgspec
from jinja2 import ChoiceLoader, Environment, PackageLoader, pass_context, select_autoescape
from litestar import MediaType, Request, Response, Router, get, post
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import UploadFile
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.params import FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp

from admission import applications, audit, reference
from admission.applications import admin as seats
from admission.applications import capacities
from admission.applications.models import TeachingLanguage
from admission.errors import Forbidden, InvalidInput, KezekError, Language, Unauthenticated
from admission.signing_keys import AdminPrincipal, KeySet, verify_admin_token
from admission.waiting_room.visitors import RoomView, Visitors
from queue_service import headers
from queue_service.console import charts, history
from queue_service.console.texts import TEXT
from queue_service.controllers.rooms import RoomSettingsPatch, change_room_settings
from queue_service.i18n import negotiate
from queue_service.params import OptionalRowId
from queue_service.problems import status_for
from queue_service.resources import DbDep
from queue_service.rooms_runtime import visitors_of
from queue_service.settings import Settings

SESSION_COOKIE = "kezek_admin"
CSRF_COOKIE = "kezek_admin_csrf"
# The console's own templates, then the parents' pages' (the shared state-service header).
_ENV = Environment(
    loader=ChoiceLoader([PackageLoader("queue_service.console", "templates"), PackageLoader("queue_service.pages")]),
    autoescape=select_autoescape(),
)


@pass_context
def _duration(context: Mapping[str, Any], seconds: int) -> str:
    """``12 s``, ``5 min``, ``1 h 20 min`` in the page's language."""
    t = context["t"]
    if seconds < 60:
        return f"{seconds} {t['seconds']}"
    if seconds < 3600:
        return f"{round(seconds / 60)} {t['minutes']}"
    return f"{seconds // 3600} {t['hours']} {round(seconds % 3600 / 60)} {t['minutes']}"


def _diff(old: Any, new: Any) -> tuple[str, str]:
    """An audit entry's change, only the fields that changed when both sides are objects."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in new if old.get(k) != new.get(k)] or list(new)
        old, new = {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}
    return _json(old), _json(new)


def _json(value: Any) -> str:
    return "" if value is None else msgspec.json.encode(value).decode()


_ENV.globals.update(
    duration=_duration,
    chart=lambda samples: charts.chart(samples, dt.datetime.now(dt.UTC)),
    diff=_diff,
    kz=reference.KZ,
)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(_ENV))


def _secret(keyset: KeySet, purpose: bytes) -> bytes:
    """A 32-byte key for ``purpose``, derived from the signing key (the same in every worker)."""
    return hashlib.blake2b(keyset.raw_private, key=b"kezek-console-" + purpose, digest_size=32).digest()


class SignInRequired(Exception):
    """No session, or its token expired: the page sends the admin to the sign-in form."""


# -- request helpers ----------------------------------------------------------------------


def _language(request: Request[Any, Any, Any]) -> Language:
    explicit = request.query_params.get("lang")
    if explicit in get_args(Language):
        request.session["lang"] = explicit
        return negotiate(None, explicit)
    stored = request.session.get("lang") if request.scope.get("session") is not None else None
    return negotiate(request.headers.get("accept-language"), stored)


def _admin(request: Request[Any, Any, Any]) -> AdminPrincipal:
    token = request.session.get("token")
    if not token:
        raise SignInRequired
    try:
        return verify_admin_token(request.app.state["keyset"], token)
    except Unauthenticated as exc:
        request.clear_session()
        raise SignInRequired from exc


def _page(request: Request[Any, Any, Any], name: str, status: int = 200, **context: Any) -> Template:
    language = _language(request)
    flash = request.session.pop("flash", None) if request.scope.get("session") is not None else None
    return Template(
        template_name=name,
        context={"lang": language, "t": TEXT[language], "flash": flash, "path": request.url.path, **context},
        status_code=status,
        headers={"Content-Language": language, "Cache-Control": "no-store"},
    )


def _flash(request: Request[Any, Any, Any], text: str, kind: str = "ok") -> None:
    request.session["flash"] = {"kind": kind, "text": text}


async def _regions(db: Any) -> dict[str, reference.Region]:
    async with db.acquire() as conn:
        return {r.slug: r for r in await reference.list_regions(conn)}


def _region_name(region: reference.Region, language: Language) -> str:
    return {"kk": region.name_kk, "ru": region.name_ru, "en": region.name_en}[language]


def _visible_rooms(admin: AdminPrincipal, visitors: Visitors) -> list[str]:
    if admin.role == "ministry":
        return sorted(visitors.regions)
    if admin.role == "region" and admin.region in visitors.regions:
        return [admin.region]
    return []


def _home(admin: AdminPrincipal) -> str:
    if admin.role == "school":
        return f"/admin/schools/{admin.school}"
    return "/admin/rooms"


# -- sign-in ------------------------------------------------------------------------------


@get("/", sync_to_thread=False)
def console_home(request: Request[Any, Any, Any]) -> Redirect:
    _language(request)  # a ?lang= given here is kept for the pages that follow
    try:
        return Redirect(_home(_admin(request)))
    except SignInRequired:
        return Redirect("/admin/sign-in")


@get("/sign-in", sync_to_thread=False)
def sign_in_form(request: Request[Any, Any, Any]) -> Template:
    return _page(request, "signin.html", admin=None)


@post("/sign-in", status_code=303)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    token = str(form.get("token", "")).strip()
    try:
        admin = verify_admin_token(request.app.state["keyset"], token)
    except Unauthenticated:
        language = _language(request)
        return _page(request, "signin.html", status=401, admin=None, error=TEXT[language]["bad_token"])
    lang = request.session.get("lang")
    request.clear_session()  # a fresh session: nothing of an earlier one survives a sign-in
    request.set_session({"token": token, **({"lang": lang} if lang else {})})
    return Redirect(_home(admin), status_code=303)


@post("/sign-out", status_code=303)
async def sign_out(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/admin/sign-in", status_code=303)


# -- rooms --------------------------------------------------------------------------------


class LiveRoom(msgspec.Struct, kw_only=True):
    region: str
    name: str
    room: RoomView
    per_minute: float
    history: list[history.Sample]


async def _live(request: Request[Any, Any, Any], db: Any, regions: list[str]) -> list[LiveRoom]:
    visitors = visitors_of(request)
    redis = request.app.state["redis"]
    names = await _regions(db)
    language = _language(request)
    now = dt.datetime.now(dt.UTC)
    out: list[LiveRoom] = []
    for region in regions:
        room = await visitors.room_view(region, now)
        state = await visitors.snapshot(region)
        points = await history.read(redis, region, now)
        now_point = history.Sample(now.timestamp(), room.waiting, room.active, room.max_active, state.head)
        out.append(
            LiveRoom(
                region=region,
                name=_region_name(names[region], language),
                room=room,
                per_minute=history.per_minute(points, state.head, now),
                history=[*points, now_point],
            )
        )
    return out


@get("/rooms")
async def rooms_page(request: Request[Any, Any, Any], db: DbDep) -> Template | Redirect:
    admin = _admin(request)
    if admin.role == "school":
        return Redirect(_home(admin))
    regions = _visible_rooms(admin, visitors_of(request))
    return _page(request, "rooms.html", admin=admin, rooms=await _live(request, db, regions))


@get("/rooms/live")
async def rooms_live(request: Request[Any, Any, Any], db: DbDep, region: FromQuery[str | None] = None) -> Template:
    """The live part of the rooms page (or of one room's page with ``?region=``), re-fetched every few seconds."""
    admin = _admin(request)
    if region is None:
        return _page(
            request,
            "_rooms_live.html",
            rooms=await _live(request, db, _visible_rooms(admin, visitors_of(request))),
        )
    admin.require_region(region)
    visitors_of(request).check_region(region)
    return _page(request, "_room_live.html", rooms=await _live(request, db, [region]))


@get("/rooms/{region:str}")
async def room_page(request: Request[Any, Any, Any], db: DbDep, region: FromPath[str]) -> Template:
    admin = _admin(request)
    admin.require_region(region)
    visitors = visitors_of(request)
    visitors.check_region(region)
    state = await visitors.room.state(region)
    live = (await _live(request, db, [region]))[0]
    return _page(request, "room.html", admin=admin, live=live, settings=state.settings, region=region)


_ROOM_NUMBERS = ("max_active", "session_ttl", "arrival_grace", "abandon_after", "max_waiting", "prequeue_minutes")


@post("/rooms/{region:str}", status_code=303)
async def room_save(request: Request[Any, Any, Any], db: DbDep, region: FromPath[str]) -> Response[Any]:
    admin = _admin(request)
    form = await request.form()
    raw: dict[str, Any] = {}
    try:
        for name in _ROOM_NUMBERS:
            value = str(form.get(name, "")).strip()
            if value:
                raw[name] = int(value)
    except ValueError as exc:
        raise InvalidInput("settings must be whole numbers") from exc
    raw["queue_policy"] = str(form.get("queue_policy", "")) or None
    raw["paused"] = form.get("paused") == "on"
    raw["challenge"] = form.get("challenge") == "on"
    raw["pause_message"] = str(form.get("pause_message", "")).strip()
    try:
        patch = msgspec.convert(raw, RoomSettingsPatch)
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc)) from exc
    await change_room_settings(visitors_of(request), admin, db, region, patch)
    _flash(request, TEXT[_language(request)]["saved"])
    return Redirect(f"/admin/rooms/{region}", status_code=303)


# -- schools and seats --------------------------------------------------------------------


def _school_name(school: seats.SchoolClassSets | seats.SchoolSeats, language: Language) -> str:
    return school.name_kk if language == "kk" else school.name_ru


@get("/regions/{region:str}/schools")
async def schools_page(request: Request[Any, Any, Any], db: DbDep, region: FromPath[str]) -> Template:
    admin = _admin(request)
    async with db.acquire() as conn:
        schools = await seats.region_class_sets(conn, admin, region)
    names = await _regions(db)
    language = _language(request)
    return _page(
        request,
        "schools.html",
        admin=admin,
        region=region,
        region_name=_region_name(names[region], language),
        schools=schools,
        school_name=lambda s: _school_name(s, language),
        all_regions=sorted(names),
    )


@post("/schools/{school_bin:str}/classes/{language:str}", status_code=303)
async def classes_save(
    request: Request[Any, Any, Any], db: DbDep, school_bin: FromPath[str], language: FromPath[str]
) -> Response[Any]:
    admin = _admin(request)
    form = await request.form()
    try:
        classes, per_class = int(str(form.get("classes", ""))), int(str(form.get("seats_per_class", "")))
        teaching: TeachingLanguage = msgspec.convert(language, TeachingLanguage)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInput("classes and seats per class must be whole numbers") from exc
    async with db.acquire() as conn:
        done = await seats.set_classes(conn, admin, school_bin, 1, teaching, classes=classes, seats_per_class=per_class)
        region = (await seats.get_school(conn, school_bin)).region_slug
    text = TEXT[_language(request)]
    _flash(request, f"{text['saved']} {school_bin} {language}: {text['capacity']} {done.capacity}")
    return Redirect(f"/admin/regions/{region}/schools#school-{school_bin}", status_code=303)


@get("/regions", sync_to_thread=False)
def regions_redirect(request: Request[Any, Any, Any], region: FromQuery[str]) -> Redirect:
    """The ministry's region picker on the schools page."""
    _admin(request)
    return Redirect(f"/admin/regions/{quote(region, safe='')}/schools")


@post("/regions/{region:str}/capacities")
async def capacities_upload(request: Request[Any, Any, Any], db: DbDep, region: FromPath[str]) -> Response[Any]:
    admin = _admin(request)
    if admin.role == "school":
        raise Forbidden("a school admin edits its own school's class sets one by one")
    admin.require_region(region)
    form = await request.form()
    apply = form.get("apply") == "1"
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        text = (await upload.read()).decode("utf-8-sig", errors="replace")
        filename = Path(upload.filename or "capacities.csv").name
    else:
        text = str(form.get("csv", ""))
        filename = str(form.get("filename", "capacities.csv"))
    language = _language(request)
    if not text.strip():
        _flash(request, TEXT[language]["no_file"], "error")
        return Redirect(f"/admin/regions/{region}/schools", status_code=303)
    rows, problem = capacities.parse(text)
    result = capacities.CapacityUpload(rows=rows, applied=False)
    if problem is None:
        async with db.acquire() as conn:
            result = await capacities.upload(conn, admin, rows, apply=apply)
    if result.applied:
        _flash(request, f"{TEXT[language]['upload_done']} {len(result.rows)} {TEXT[language]['rows']} ({filename})")
        return Redirect(f"/admin/regions/{region}/schools", status_code=303)
    return _page(
        request,
        "upload.html",
        status=422 if (problem or result.errors) else 200,
        admin=admin,
        region=region,
        filename=filename,
        csv=text,
        problem=problem[language] if problem else None,
        result=result,
        tried_apply=apply,
    )


# -- a school's applications --------------------------------------------------------------


@get("/schools/{school_bin:str}")
async def school_page(
    request: Request[Any, Any, Any], db: DbDep, school_bin: FromPath[str], status: FromQuery[str | None] = None
) -> Template:
    admin = _admin(request)
    if status not in (None, "", "accepted", "refused", "withdrawn", "confirmed"):
        raise InvalidInput("unknown status")
    async with db.acquire() as conn:
        listed = await seats.school_applications(conn, admin, school_bin, status or None)
        school = await seats.get_school(conn, school_bin)
    language = _language(request)
    return _page(
        request,
        "school.html",
        admin=admin,
        school_bin=school_bin,
        school_name=school.name_kk if language == "kk" else school.name_ru,
        region=school.region_slug,
        applications=listed,
        chosen_status=status or "",
        today=dt.datetime.now(reference.KZ).date().isoformat(),
    )


@post("/schools/{school_bin:str}/confirmations", status_code=303)
async def confirm(request: Request[Any, Any, Any], db: DbDep, school_bin: FromPath[str]) -> Response[Any]:
    admin = _admin(request)
    form = await request.form()
    number = str(form.get("order_number", "")).strip()
    chosen = str(form.get("application_id", "")).strip()
    try:
        order_date = dt.date.fromisoformat(str(form.get("order_date", "")))
        application_id = uuid.UUID(chosen) if chosen else None
    except ValueError as exc:
        raise InvalidInput("the order needs a date (YYYY-MM-DD)") from exc
    if not number:
        raise InvalidInput("the order needs a number")
    async with db.acquire() as conn:
        confirmed = await applications.confirm(
            conn,
            admin,
            school_bin,
            order_number=number,
            order_date=order_date,
            application_id=application_id,
            now=dt.datetime.now(dt.UTC),
        )
    _flash(request, f"{TEXT[_language(request)]['confirmed_n']} {len(confirmed)}")
    return Redirect(f"/admin/schools/{school_bin}", status_code=303)


# -- audit log ----------------------------------------------------------------------------


def _day(value: str | None) -> dt.date | None:
    """A form's date field (blank: none): the form sends it as text, so a bad one is the console's to answer."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("dates are YYYY-MM-DD") from exc


@get("/audit")
async def audit_page(
    request: Request[Any, Any, Any],
    db: DbDep,
    region: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    before: FromQuery[OptionalRowId] = None,
) -> Template:
    admin = _admin(request)
    region = admin.region_to_read(region)
    which = audit.AuditFilter.of_days(region, _day(since), _day(until), action, actor)
    async with db.acquire() as conn:
        entries = await audit.search(conn, which, 100, before)
    regions = await _regions(db)
    return _page(
        request,
        "audit.html",
        admin=admin,
        entries=entries,
        regions=sorted(regions) if admin.role == "ministry" else [admin.region],
        filters={"region": region or "", "action": action or "", "actor": actor or "", "since": since or "",
                 "until": until or ""},
        older=entries[-1].id if len(entries) == 100 else None,
        query=urlencode({k: v for k, v in request.query_params.items() if k != "before"}),
    )  # fmt: skip


# -- errors -------------------------------------------------------------------------------


def _sign_in_redirect(request: Request[Any, Any, Any], _exc: SignInRequired) -> Response[Any]:
    if request.url.path.endswith("/live"):
        return Response("", status_code=401, media_type=MediaType.TEXT)
    return Redirect("/admin/sign-in", status_code=303)


def _error_page(request: Request[Any, Any, Any], exc: KezekError) -> Response[Any]:
    status = status_for(exc)
    if request.url.path.endswith("/live"):
        return Response(exc.code, status_code=status, media_type=MediaType.TEXT)
    language = _language(request)
    try:
        admin: AdminPrincipal | None = _admin(request)
    except SignInRequired:
        admin = None
    title = TEXT[language]["forbidden"] if status == 403 else TEXT[language]["error"]
    return _page(request, "error.html", status=status, admin=admin, title=title, message=exc.message(language),
                 detail=exc.detail)  # fmt: skip


def _csrf_failed(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    return _error_page(request, Forbidden(exc.detail))


def _session_middleware(app: ASGIApp, config: CookieBackendConfig) -> SessionMiddleware[ClientSideSessionBackend]:
    """Litestar's session middleware, its backend (which holds an AES-GCM object) made when the app is built:
    Litestar copies a router when registering it, and that object cannot be copied."""
    return SessionMiddleware(app=app, backend=ClientSideSessionBackend(config=config))


def console_router(settings: Settings, keyset: KeySet) -> Router:
    secure = settings.public_url.startswith("https://")
    session = CookieBackendConfig(
        secret=_secret(keyset, b"session"),
        key=SESSION_COOKIE,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=secure,
        max_age=settings.admin_token_ttl_hours * 3600,
    )
    csrf = CSRFConfig(
        secret=_secret(keyset, b"csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_path="/admin",
        cookie_httponly=True,
        cookie_samesite="strict",
        cookie_secure=secure,
    )
    return Router(
        path="/admin",
        route_handlers=[
            console_home, sign_in_form, sign_in, sign_out, rooms_page, rooms_live, room_page, room_save,
            schools_page, classes_save, regions_redirect, capacities_upload, school_page, confirm, audit_page,
        ],
        middleware=[
            DefineMiddleware(_session_middleware, config=session), DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        exception_handlers={
            SignInRequired: _sign_in_redirect,
            KezekError: _error_page,
            PermissionDeniedException: _csrf_failed,
        },
        response_headers=headers.CONSOLE,
        include_in_schema=False,
    )  # fmt: skip


__all__ = ["console_router", "template_config"]

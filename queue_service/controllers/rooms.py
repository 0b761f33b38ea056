"""The waiting rooms' HTTP API (the egov portal integrates against these paths)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, MediaType, Request, delete, get, patch, post
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from admission import room_truth
from admission.bodies import Body
from admission.db import Pool
from admission.signing_keys import AdminPrincipal
from admission.waiting_room.errors import TooManyJoins
from admission.waiting_room.room import RoomSettings
from admission.waiting_room.visitors import RoomView, SessionView, Visitors, VisitorView
from queue_service.auth import ADMIN_DEPENDENCY, ADMIN_SECURITY, AdminDep, bearer_token, portal_credential, requires
from queue_service.fast_poll import JOIN_DECODER, JOIN_FAILED
from queue_service.flood import Door, door_of
from queue_service.resources import DbDep
from queue_service.rooms_runtime import ROOM_DEPENDENCIES, VisitorsDep, follow_truth, visitors_of

_ENCODER = msgspec.json.Encoder()


@dataclass
class _JoinOperation(Operation):
    """The join handler reads its body itself (the surge path); this documents it in the OpenAPI schema."""

    def __post_init__(self) -> None:
        body = Schema(
            type=OpenAPIType.OBJECT,
            properties={"applicant_iin": Schema(type=OpenAPIType.STRING, pattern="^[0-9]{12}$")},
            required=["applicant_iin"],
            additional_properties=False,
        )
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=body)}, required=True)
        assertion = Parameter(
            name="X-Portal-Assertion",
            param_in="header",
            schema=Schema(type=OpenAPIType.STRING),
            description="assertion mode: the portal's JWT (ES256/EdDSA, aud=kezek, sub=the ИИН)",
        )
        self.parameters = [*(self.parameters or []), assertion]


class RoomSettingsPatch(Body, frozen=True, kw_only=True):
    """Only the fields given change."""

    max_active: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None
    # The inactivity lease a heartbeat renews: at most a minute, so a slot whose holder is gone frees within it.
    session_ttl: Annotated[int, msgspec.Meta(ge=30, le=60)] | None = None
    # Both above the longest suggested poll interval (30 s + 20 % jitter), so that a visitor who
    # keeps polling is never skipped and always comes for its slot in time.
    arrival_grace: Annotated[int, msgspec.Meta(ge=45, le=3600)] | None = None
    abandon_after: Annotated[int, msgspec.Meta(ge=60, le=24 * 3600)] | None = None
    max_waiting: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] | None = None
    prequeue_minutes: Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 60)] | None = None
    queue_policy: Literal["fifo", "shuffle_prequeue"] | None = None
    paused: bool | None = None
    pause_message: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    challenge: bool | None = None


class RoomSettingsOut(msgspec.Struct, kw_only=True):
    region: str
    settings: RoomSettings
    room: RoomView


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def change_room_settings(
    visitors: Visitors, admin: AdminPrincipal, db: Pool, region: str, data: RoomSettingsPatch
) -> RoomSettingsOut:
    """What ``PATCH /v1/admin/rooms/{region}`` does; the admin console calls it too."""
    visitors.check_region(region)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    async with db.acquire() as conn:  # PostgreSQL is the truth (audited there); every worker's room follows it
        _, new = await room_truth.change_settings(conn, admin, region, changes)
    await follow_truth(visitors, region)
    return RoomSettingsOut(region=region, settings=new, room=await visitors.room_view(region, _now()))


async def _join(region: str, request: Request[Any, Any, Any], door: Door) -> VisitorView:
    """The join handler's work: the exception of a join the fast path already ran, or the whole join
    (the body decoded by a reused msgspec decoder, no dependency injection)."""
    failed: Exception | None = request.scope.get("state", {}).get(JOIN_FAILED)
    if failed is not None:
        raise failed
    try:
        data = JOIN_DECODER.decode(await request.body())
    except msgspec.ValidationError as exc:
        raise ValidationException(str(exc), extra=[{"message": str(exc), "source": "body"}]) from exc
    except msgspec.DecodeError as exc:
        raise ValidationException(str(exc)) from exc
    visitors = visitors_of(request)
    visitors.check_region(region)
    applicant = portal_credential(request).applicant(data.applicant_iin).iin
    return await visitors.join(region, applicant, _now(), await door.check(request.scope, region, visitors))


class RoomsController(Controller):
    path = "/v1/rooms"
    tags = ("waiting room",)
    dependencies = ROOM_DEPENDENCIES

    @post(
        "/{region:str}/visitors",
        status_code=HTTP_200_OK,
        summary="Join the region's waiting room (idempotent per applicant ИИН)",
        responses={200: ResponseSpec(VisitorView, description="The visitor's place")},
        description="Returns the visitor's place. In `assertion` portal mode the `X-Portal-Assertion` header "
        "(a JWT the portal signed, `sub` = the ИИН, `aud` = `kezek`) is required.",
        operation_class=_JoinOperation,
        media_type=MediaType.JSON,
    )
    async def join(self, region: FromPath[str], request: Request[Any, Any, Any]) -> bytes:
        # An ordinary join is answered before Litestar's routing (queue_service/fast_poll.py); this
        # handler answers the rest, and raises the exception of a join the fast path ran.
        door = door_of(request)  # flood defence: checked by the join's own Redis call
        try:
            view = await _join(region, request, door)
        except TooManyJoins as refused:
            raise door.too_many(refused) from None
        return _ENCODER.encode(view)

    @get(
        "/{region:str}/visitors/me",
        summary="Where the ticket's holder stands (Authorization: Bearer <ticket>)",
        security=requires("ticket"),
        cache=False,
        media_type=MediaType.JSON,
        responses={200: ResponseSpec(VisitorView, description="The visitor's place")},
    )
    async def poll(self, region: FromPath[str], request: Request[Any, Any, Any]) -> bytes:
        # The hottest path: an ordinary poll is answered before Litestar's routing (queue_service/fast_poll.py);
        # this handler answers the rest (errors, a query string…) and declares the route.
        view = await visitors_of(request).poll(region, bearer_token(request), _now())
        return _ENCODER.encode(view)

    @post(
        "/{region:str}/sessions/heartbeat",
        status_code=HTTP_200_OK,
        summary="Renew the slot's lease (Authorization: Bearer <access token>); returns a renewed token",
        security=requires("access"),
    )
    async def heartbeat(
        self, visitors: VisitorsDep, region: FromPath[str], request: Request[Any, Any, Any]
    ) -> SessionView:
        return await visitors.heartbeat(region, bearer_token(request), _now())

    @delete(
        "/{region:str}/sessions/me",
        status_code=HTTP_204_NO_CONTENT,
        summary="Release the slot (Authorization: Bearer <access token>); idempotent",
        security=requires("access"),
    )
    async def leave(self, visitors: VisitorsDep, region: FromPath[str], request: Request[Any, Any, Any]) -> None:
        await visitors.leave(region, bearer_token(request), _now())

    @get("/{region:str}", summary="A room's public state: window, waiting, active, ETA for a new joiner", cache=False)
    async def get_room(self, visitors: VisitorsDep, region: FromPath[str]) -> RoomView:
        return await visitors.room_view(region, _now())

    @get("/", summary="Every region's room", cache=False)
    async def list_rooms(self, visitors: VisitorsDep) -> list[RoomView]:
        now = _now()
        return list(await asyncio.gather(*(visitors.room_view(region, now) for region in sorted(visitors.regions))))


class AdminRoomsController(Controller):
    path = "/v1/admin/rooms"
    tags = ("admin",)
    dependencies = {**ROOM_DEPENDENCIES, **ADMIN_DEPENDENCY}  # noqa: RUF012 - read by Litestar
    security = ADMIN_SECURITY

    @patch(
        "/{region:str}",
        summary="Change a room's settings (ministry: any region; region admin: own region)",
        description="Raising `max_active` admits more at once; lowering it evicts no one. Audited.",
    )
    async def update(
        self,
        visitors: VisitorsDep,
        admin: AdminDep,
        db: DbDep,
        region: FromPath[str],
        data: JSONBody[RoomSettingsPatch],
    ) -> RoomSettingsOut:
        return await change_room_settings(visitors, admin, db, region, data)

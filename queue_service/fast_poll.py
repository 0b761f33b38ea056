"""The waiting room's hot paths answered in front of Litestar's stack: the poll
(``GET /v1/rooms/{region}/visitors/me``), the heartbeat (``POST .../sessions/heartbeat``), the
release (``DELETE .../sessions/me``) and the join (``POST .../visitors``).

Polls are most of an opening's requests (77 % in ``scripts/bench wave``) and the poll's own
work is a few µs: the ticket from the worker's cache, the position from the worker's snapshot of
the room, one encoding.  Through Litestar the same poll cost ~43 µs in-process (routing, two
exception-handler layers, five middleware layers, the before-request hook, the signature model,
building a ``Response`` then an ``ASGIResponse``), ~7 µs here; under a wave's one-by-one arrivals
the service's CPU per poll fell from ~300 to ~190 µs (``scripts/bench wave``'s figures in the
README).

Only the ordinary answer is served here: a well-formed poll (no query string, no body, a valid
``Host``, a bearer ticket) whose ``Visitors.poll`` returns.  Anything else -- and any exception --
goes to Litestar unchanged, which runs the poll again and answers it (a problem document, the
language negotiated, ``after_exception``): a poll is safe to run twice (it reads the room, and a
Redis ``visit`` answers the same place again).  The answer carries what Litestar's would: the
security headers, JSON, its length; it is counted in the request metrics under the route's template.
The route stays declared in Litestar (``RoomsController.poll``): the OpenAPI document, and the
fallback.

The heartbeat and the release of an admitted family's slot, the same way (each once per family in a
wave, with the join the rest of its requests): an ordinary one (no query string, no body, a bearer
token) is answered here, anything else and any exception by Litestar, which runs it again -- a
heartbeat renews the lease again, a release of a slot already freed answers the same 204.  Through
Litestar each cost ~25 µs more in-process (``scripts/bench wave``'s figures in the README).

The join (``POST /v1/rooms/{region}/visitors``), the surge's first request, the same way: an ordinary
one (no query string, a ``Content-Length`` body within ``KEZEK_MAX_BODY_BYTES``, a valid ``Host``)
has its body read here against the body timeout (408 as ``queue_service/timeouts.py`` answers it),
its ИИН vouched for by the portal identity, the door asked, and the room joined.  Anything this
path will not answer goes to Litestar with the body replayed, and the handler does all of it again
-- safe up to the room's join, which changes nothing before it.  The join itself is not run twice:
a join that raises (the door's refusal in the script, a full room, Redis down) hands its exception
to Litestar in the scope (``JOIN_FAILED``), and the handler raises that one instead of joining again
(a second join would count the client twice and find its challenge used).

Served (``queue_service.asgi``), the fast path sits in front of the whole app (``served``): what it answers
skips Litestar's entry too, and what it hands on enters Litestar as any request.  An app built by
``create_app`` alone (the tests' in-process clients) has it in front of the routing (``install``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import msgspec
from litestar import Litestar
from litestar._asgi.utils import is_valid_host  # the router's own Host check, so the two paths agree
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from admission.bodies import Body
from admission.portal import PortalIdentity
from admission.waiting_room.visitors import Visitors
from queue_service.flood import Door
from queue_service.headers import BASELINE
from queue_service.metrics import TALLY, Tally
from queue_service.timeouts import read_body, replaying, request_timeout

PREFIX = "/v1/rooms/"
SUFFIX = "/visitors/me"
TEMPLATE = PREFIX + "{region}" + SUFFIX
HEARTBEAT_SUFFIX = "/sessions/heartbeat"
HEARTBEAT = PREFIX + "{region}" + HEARTBEAT_SUFFIX
RELEASE_SUFFIX = "/sessions/me"
RELEASE = PREFIX + "{region}" + RELEASE_SUFFIX
JOIN_SUFFIX = "/visitors"
JOIN = PREFIX + "{region}" + JOIN_SUFFIX
JOIN_FAILED = "kezek.join_failed"
"""The key, in the scope's ``state``, of the exception of a join this path ran (the handler raises it)."""
PORTAL_HEADER = b"x-portal-assertion"
BASELINE_HEADERS = [*((name.lower().encode(), value.encode()) for name, value in BASELINE.items())]
HEADERS = [
    *((name.lower().encode(), value.encode()) for name, value in BASELINE.items()),
    (b"content-type", b"application/json"),
]
_ENCODER = msgspec.json.Encoder()


class JoinIn(Body, frozen=True, kw_only=True):
    applicant_iin: str
    """The applicant's (parent's) ИИН, as the portal authenticated it."""


JOIN_DECODER = msgspec.json.Decoder(JoinIn)


def _region(path: str, suffix: str) -> str | None:
    """The region of ``/v1/rooms/{region}<suffix>``; None for any other path."""
    if not (path.startswith(PREFIX) and path.endswith(suffix)):
        return None
    region = path[len(PREFIX) : -len(suffix)]
    return region if region and "/" not in region and "\x00" not in region else None


def _bearer_of(scope: Scope) -> str | None:
    """The bearer token (a poll's ticket, a slot's access token) of an ordinary request; None when
    Litestar should see the request."""
    ticket: str | None = None
    host_seen = False
    for raw_name, value in scope["headers"]:
        name = raw_name.lower()
        if name == b"authorization":
            if ticket is not None:
                return None  # two: let the framework decide
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            ticket = token.strip()
        elif name == b"host":
            if host_seen or not is_valid_host(value):
                return None
            host_seen = True
        elif name in (b"content-length", b"transfer-encoding") and value.strip() not in (b"0", b""):
            return None  # a body: the body timeout and size limit apply
    return ticket


class PollFastPath:
    """Wraps the app's ASGI handler (``app.asgi_handler``); see the module's docstring."""

    def __init__(self, handler: ASGIApp, app: Litestar, tally: Tally = TALLY) -> None:
        self.handler = handler
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and not scope["query_string"]:
            method, path = scope["method"], scope["path"]
            if method == "GET":
                region = _region(path, SUFFIX)
                if region is not None and await self._poll(scope, region, send):
                    return
            elif method == "POST":
                region = _region(path, JOIN_SUFFIX)
                if region is not None:
                    await self._join(scope, region, receive, send)
                    return
                region = _region(path, HEARTBEAT_SUFFIX)
                if region is not None and await self._session(scope, region, send, "POST", HEARTBEAT):
                    return
            elif method == "DELETE":
                region = _region(path, RELEASE_SUFFIX)
                if region is not None and await self._session(scope, region, send, "DELETE", RELEASE):
                    return
        await self.handler(scope, receive, send)

    async def _poll(self, scope: Scope, region: str, send: Send) -> bool:
        ticket = _bearer_of(scope)
        visitors: Visitors | None = self.app.state.get("visitors")
        return ticket is not None and visitors is not None and await self._answer(visitors, region, ticket, send)

    async def _session(self, scope: Scope, region: str, send: Send, method: str, template: str) -> bool:
        """A heartbeat (200, the renewed lease and token) or a release (204) of the slot a bearer token holds."""
        token = _bearer_of(scope)
        visitors: Visitors | None = self.app.state.get("visitors")
        if token is None or visitors is None:
            return False
        started = time.perf_counter()
        self.tally.started(method, template)
        try:
            if template == HEARTBEAT:
                body = _ENCODER.encode(await visitors.heartbeat(region, token, dt.datetime.now(dt.UTC)))
            else:
                await visitors.leave(region, token, dt.datetime.now(dt.UTC))
                body = b""
        except Exception:  # noqa: BLE001 - Litestar runs it again and answers the error as usual (and counts it)
            self.tally.handed_on(method, template)
            return False
        except BaseException:  # cancelled: the client left
            self.tally.handed_on(method, template)
            raise
        await self._respond(send, method, template, started, body)
        return True

    async def _answer(self, visitors: Visitors, region: str, ticket: str, send: Send) -> bool:
        started = time.perf_counter()
        self.tally.started("GET", TEMPLATE)
        try:
            view = await visitors.poll(region, ticket, dt.datetime.now(dt.UTC))
        except Exception:  # noqa: BLE001 - Litestar polls again and answers the error as usual (and counts it)
            self.tally.handed_on("GET", TEMPLATE)
            return False
        except BaseException:  # cancelled: the client left
            self.tally.handed_on("GET", TEMPLATE)
            raise
        await self._respond(send, "GET", TEMPLATE, started, _ENCODER.encode(view))
        return True

    async def _respond(self, send: Send, method: str, template: str, started: float, body: bytes) -> None:
        """A fast path's answer: 200 with a JSON ``body`` (204 without one), the baseline headers;
        counted in the request metrics under the route's ``template``."""
        status = 200 if body else 204
        headers: list[Any] = [*HEADERS, (b"content-length", str(len(body)).encode())] if body else BASELINE_HEADERS
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
        finally:
            self.tally.finished(method, template, status, time.perf_counter() - started)

    async def _join(self, scope: Scope, region: str, receive: Receive, send: Send) -> None:
        """A join answered here, or handed to Litestar with its body (and, once joined, its exception)."""
        assertion, size = _join_headers(scope)
        settings = self.app.state["settings"]
        if size is None or size > settings.max_body_bytes:
            await self.handler(scope, receive, send)  # no body, chunked, too large: Litestar's answers
            return
        try:
            read = await read_body(receive, settings.body_timeout_seconds, settings.max_body_bytes, size)
        except TimeoutError:
            await request_timeout(scope, send, BASELINE_HEADERS)  # Litestar's before_send adds them there
            return
        body = _whole(read, settings.max_body_bytes)
        replay = replaying(read, receive)
        visitors: Visitors | None = self.app.state.get("visitors")
        if body is None or visitors is None:
            await self.handler(scope, replay, send)
            return
        started = time.perf_counter()
        self.tally.started("POST", JOIN)
        try:
            iin = self._vouched(body, region, visitors, assertion)
            door: Door = self.app.state["door"]
            admission = await door.check(scope, region, visitors) if iin is not None else None
        except Exception:  # noqa: BLE001 - nothing changed yet: Litestar checks again and answers
            iin = admission = None
        if iin is None or admission is None:
            self.tally.handed_on("POST", JOIN)
            await self.handler(scope, replay, send)
            return
        try:
            view = await visitors.join(region, iin, dt.datetime.now(dt.UTC), admission)
        except Exception as exc:  # noqa: BLE001 - the handler raises it: Litestar answers (and counts) it
            self.tally.handed_on("POST", JOIN)
            scope.setdefault("state", {})[JOIN_FAILED] = exc
            await self.handler(scope, replay, send)
            return
        except BaseException:  # cancelled: the client left
            self.tally.handed_on("POST", JOIN)
            raise
        await self._respond(send, "POST", JOIN, started, _ENCODER.encode(view))

    def _vouched(self, body: bytes, region: str, visitors: Visitors, assertion: str | None) -> str | None:
        """The ИИН a well-formed join body claims, vouched for by the portal; None: Litestar's to answer."""
        try:
            data = JOIN_DECODER.decode(body)
        except msgspec.MsgspecError:
            return None
        visitors.check_region(region)
        portal: PortalIdentity = self.app.state["portal"]
        return portal.applicant(data.applicant_iin, assertion)


def _join_headers(scope: Scope) -> tuple[str | None, int | None]:
    """A join's portal assertion and body length; length None when Litestar should see the request
    (no or a malformed ``Content-Length``, ``Transfer-Encoding``, a bad ``Host``, repeated headers)."""
    assertion: str | None = None
    length: int | None = None
    host_seen = False
    for raw_name, value in scope["headers"]:
        name = raw_name.lower()
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None, None
            length = int(value)
        elif name == b"host":
            if host_seen or not is_valid_host(value):
                return None, None
            host_seen = True
        elif name == b"transfer-encoding":
            return None, None
        elif name == PORTAL_HEADER and assertion is None:
            assertion = value.decode("latin-1")
    return assertion, length


def _whole(read: list[ReceiveMessage], limit: int) -> bytes | None:
    """The body those messages carry; None when it is not whole (the client left) or larger than ``limit``."""
    last = read[-1]
    if last["type"] != "http.request" or last.get("more_body"):
        return None
    body = b"".join(message.get("body", b"") for message in read)  # type: ignore[misc]
    return body if len(body) <= limit else None


def install(app: Litestar) -> Litestar:
    """Put the poll's fast path in front of ``app``'s routing (``create_app`` does)."""
    app.asgi_handler = PollFastPath(app.asgi_handler, app)
    return app


def served(app: Litestar) -> ASGIApp:
    """What the server calls (``queue_service.asgi``): the fast path in front of the whole app, so an answer it
    gives skips Litestar's entry too (the scope's app and state set, ``send`` wrapped for the ``before_send``
    hook, which finds the baseline headers already there: ~2 µs of a poll's ~9 in-process).  What it hands on
    enters Litestar as any request does, whose routing no longer passes the fast path a second time."""
    fast = app.asgi_handler
    if not isinstance(fast, PollFastPath):
        raise TypeError("served() takes an app built by create_app (the fast path installed)")
    app.asgi_handler, fast.handler = fast.handler, app
    return fast

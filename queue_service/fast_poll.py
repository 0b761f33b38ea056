"""The waiting room's hot paths answered in front of Litestar's stack: the poll
(``GET /v1/rooms/{region}/visitors/me``), the heartbeat (``POST .../sessions/heartbeat``) and the
release (``DELETE .../sessions/me``).

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
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import msgspec
from litestar import Litestar
from litestar._asgi.utils import is_valid_host  # the router's own Host check, so the two paths agree
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from admission.waiting_room.visitors import Visitors
from queue_service.headers import BASELINE
from queue_service.metrics import TALLY, Tally

PREFIX = "/v1/rooms/"
SUFFIX = "/visitors/me"
TEMPLATE = PREFIX + "{region}" + SUFFIX
HEARTBEAT_SUFFIX = "/sessions/heartbeat"
HEARTBEAT = PREFIX + "{region}" + HEARTBEAT_SUFFIX
RELEASE_SUFFIX = "/sessions/me"
RELEASE = PREFIX + "{region}" + RELEASE_SUFFIX
BASELINE_HEADERS = [*((name.lower().encode(), value.encode()) for name, value in BASELINE.items())]
HEADERS = [
    *((name.lower().encode(), value.encode()) for name, value in BASELINE.items()),
    (b"content-type", b"application/json"),
]
_ENCODER = msgspec.json.Encoder()


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
        status = 200 if body else 204
        headers: list[Any] = [*HEADERS, (b"content-length", str(len(body)).encode())] if body else BASELINE_HEADERS
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
        finally:
            self.tally.finished(method, template, status, time.perf_counter() - started)
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
        body = _ENCODER.encode(view)
        headers: list[Any] = [*HEADERS, (b"content-length", str(len(body)).encode())]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
        finally:
            self.tally.finished("GET", TEMPLATE, 200, time.perf_counter() - started)
        return True


def install(app: Litestar) -> Litestar:
    """Put the poll's fast path in front of ``app``'s routing (``create_app`` does)."""
    app.asgi_handler = PollFastPath(app.asgi_handler, app)
    return app

"""A request body must arrive whole within ``KEZEK_BODY_TIMEOUT_SECONDS``: slow senders are cut.

The ASGI server (granian) cuts a client that is slow to send its request *headers*
and an idle keep-alive connection (``KEZEK_KEEP_ALIVE_MS``), but it hands a body to
the app chunk by chunk for as long as the client trickles it.  This pure ASGI
middleware reads the body first (it is small: at most ``KEZEK_MAX_BODY_BYTES``
before Litestar refuses it), against one deadline, then replays it to the app; a
body still incomplete at the deadline is answered ``408 request_timeout``
(problem+json) with ``Connection: close``, so the server drops the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, ReceiveMessage, Scope, Send

from queue_service.i18n import negotiate

TITLES = {
    "kk": "Сұраным денесі уақытында келмеді.",
    "ru": "Тело запроса не пришло вовремя.",
    "en": "The request body did not arrive in time.",
}


class BodyTimeout:
    """Reads a request's body against a deadline before the app sees the request."""

    def __init__(self, app: ASGIApp, seconds: float, max_body_bytes: int) -> None:
        self.app = app
        self.seconds = seconds
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or self.seconds <= 0 or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            read = await read_body(receive, self.seconds, self.max_body_bytes)
        except TimeoutError:
            await request_timeout(scope, send)
            return
        await self.app(scope, replaying(read, receive), send)


async def read_body(receive: Receive, seconds: float, max_body_bytes: int) -> list[ReceiveMessage]:
    """A request's body messages, read against one deadline (``seconds``; 0: none) until the body is
    whole, the client is gone, or more than ``max_body_bytes`` came (the app answers 413 as it reads
    on); TimeoutError when it is still incomplete at the deadline.  The join's fast path reads with it too."""
    read: list[ReceiveMessage] = []
    size = 0
    async with asyncio.timeout(seconds if seconds > 0 else None):
        while True:
            message = await receive()
            read.append(message)
            size += len(message.get("body", b""))  # type: ignore[arg-type]
            if message["type"] != "http.request" or not message.get("more_body") or size > max_body_bytes:
                return read


def replaying(read: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` for the app: the messages already ``read``, then the server's."""

    async def replay() -> ReceiveMessage:
        return read.pop(0) if read else await receive()

    return replay


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in {b"0", b""}
        if name == b"transfer-encoding":
            return True
    return False


async def request_timeout(scope: Scope, send: Send, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """408 ``request_timeout`` (problem+json, the language negotiated) with ``Connection: close``."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    query = dict(part.partition("=")[::2] for part in scope.get("query_string", b"").decode("latin-1").split("&"))
    language = negotiate(headers.get("accept-language"), query.get("lang") or None)
    body = msgspec.json.encode(
        {
            "type": "urn:kezek:problem:request_timeout",
            "title": TITLES[language],
            "status": 408,
            "code": "request_timeout",
            "instance": scope["path"],
        }
    )
    response_headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *extra,
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 408, "headers": response_headers}
    whole: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(whole)


def body_timeout(seconds: float, max_body_bytes: int) -> Any:
    """Litestar ``middleware=[...]`` entry: ``body_timeout(settings.body_timeout_seconds, settings.max_body_bytes)``."""

    def factory(app: ASGIApp) -> ASGIApp:
        return BodyTimeout(app, seconds, max_body_bytes)

    return factory

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
        declared = _declared_body(scope) if scope["type"] == ScopeType.HTTP else 0
        if self.seconds <= 0 or declared == 0:
            await self.app(scope, receive, send)
            return
        try:
            read = await read_body(receive, self.seconds, self.max_body_bytes, declared if declared > 0 else None)
        except TimeoutError:
            await request_timeout(scope, send)
            return
        await self.app(scope, replaying(read, receive), send)


async def read_body(
    receive: Receive, seconds: float, max_body_bytes: int, length: int | None = None
) -> list[ReceiveMessage]:
    """A request's body messages, read against one deadline (``seconds``; 0: none) until the body is
    whole, the client is gone, or more than ``max_body_bytes`` came (the app answers 413 as it reads
    on); TimeoutError when it is still incomplete at the deadline.  The join's fast path reads with it too.

    ``length``: the request's ``Content-Length``.  The body is whole once that many bytes came, and its
    last message then says so (``more_body`` false).  granian hands even a small body over with
    ``more_body`` set and says it ended only on a further ``receive``, which is another round trip
    between its I/O thread and the worker's event loop (a wake-up of each): a join or a filing saves it.
    The server sends no more than the declared length (hyper frames the body by it)."""
    read: list[ReceiveMessage] = []
    size = 0
    async with asyncio.timeout(seconds if seconds > 0 else None):
        while True:
            message = await receive()
            read.append(message)
            size += len(message.get("body", b""))  # type: ignore[arg-type]
            if message["type"] != "http.request" or not message.get("more_body") or size > max_body_bytes:
                return read
            if size == length:
                read[-1] = {"type": "http.request", "body": message.get("body", b""), "more_body": False}
                return read


def replaying(read: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` for the app: the messages already ``read``, then the server's."""

    async def replay() -> ReceiveMessage:
        return read.pop(0) if read else await receive()

    return replay


def _declared_body(scope: Scope) -> int:
    """The body a request declares: its ``Content-Length`` (0: none), -1 when its length is not known
    (chunked, or a length that is not a number: the server or Litestar answers it)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value.strip()
            return int(length) if length.isdigit() else (0 if not length else -1)
        if name == b"transfer-encoding":
            return -1
    return 0


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

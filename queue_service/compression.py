"""Response compression that costs nothing for the small answers most requests get.

Litestar's ``CompressionMiddleware`` builds its gzip compressor (a ``GzipFile`` and zlib's
state) for every request whose client accepts gzip, before it knows the body's size, and
closes it unused when the body is under ``minimum_size``: measured in-process at ~15 µs of a
~40 µs ``/health``.  A poll, a join or a heartbeat answers a few hundred bytes, so nearly every
request paid it.  This subclass holds the response start back until the first body part: a whole
body under ``minimum_size`` goes out as it is; anything else is handed, start first, to
Litestar's own compressing wrapper, so what is compressed and how is unchanged.
"""

from __future__ import annotations

from typing import Literal

from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Scope, Send


class LazyCompressionMiddleware(CompressionMiddleware):
    """``CompressionConfig(middleware_class=LazyCompressionMiddleware, ...)``."""

    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Literal[CompressionEncoding.BROTLI, CompressionEncoding.GZIP] | str,
        scope: Scope,
    ) -> Send:
        start: Message | None = None
        compressing: Send | None = None
        passing = False

        async def send_wrapper(message: Message) -> None:
            nonlocal start, compressing, passing
            if compressing is not None:
                await compressing(message)
            elif passing:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif (
                start is not None
                and message["type"] == "http.response.body"
                and not message.get("more_body")
                and len(message["body"]) < self.config.minimum_size
            ):
                passing = True  # small and whole: Litestar would send it uncompressed too
                await send(start)
                await send(message)
            elif start is None:
                await send(message)
            else:
                compressing = super(LazyCompressionMiddleware, self).create_compression_send_wrapper(
                    send, compression_encoding, scope
                )
                await compressing(start)
                await compressing(message)

        return send_wrapper

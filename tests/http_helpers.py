"""HTTP/1.1 over plain asyncio streams, for tests that hold their own keep-alive connections.

httpx's connection pool, not the server, becomes the bottleneck past a few dozen concurrent
requests, and a test of the server's connection limits must own each connection itself.
"""

from __future__ import annotations

import asyncio


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next response on a keep-alive connection: its status and its body (``Content-Length`` long)."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)

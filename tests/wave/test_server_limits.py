"""The server's connection limits (issue 13.1) and timeouts (issue 12.6), on a real ``kezek serve``.

Many open keep-alive connections never stall a newcomer; a client trickling its body, one slow to
send its headers and an idle keep-alive connection are cut after their configured timeouts.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from pathlib import Path

import msgspec
import psutil
from http_helpers import read_response
from wave_support import listen_queue

from devservices import ServerFactory

HELD = 1500  # more than granian's default allows at once (backpressure = backlog 1024 / workers, per worker)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str = "/health") -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: kezek\r\n\r\n".encode())
    await writer.drain()
    status, _ = await read_response(reader)
    return status


async def test_many_open_keep_alive_connections_never_stall_a_newcomer(
    database_url: str, redis_url: str, kezek_server: ServerFactory
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, HELD * 2 + 1024)), hard))
    with kezek_server(database_url, redis_url, backlog="4096") as server:
        # the listen socket has the configured accept queue (the kernel caps it at net.core.somaxconn)
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())  # noqa: ASYNC240
        assert listen_queue(server.port)[1] == min(4096, somaxconn)
        # every worker may open as many files as the system lets it (soft limit raised to the hard one)
        for pid in server.worker_pids():
            assert psutil.Process(pid).rlimit(psutil.RLIMIT_NOFILE)[0] == hard

        held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            for start in range(0, HELD, 250):
                batch = await asyncio.gather(
                    *(asyncio.open_connection("127.0.0.1", server.port) for _ in range(start, min(start + 250, HELD)))
                )
                held += batch
                answered = await asyncio.wait_for(asyncio.gather(*(_request(r, w) for r, w in batch)), 20)
                assert set(answered) == {200}
            # all of them open and idle; a newcomer is answered at once, not when a keep-alive ends
            newcomer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), 10)
            assert await asyncio.wait_for(_request(*newcomer), 10) == 200
            newcomer[1].close()
            # and every held connection is still the same live connection (nothing was dropped to make room)
            statuses = await asyncio.wait_for(asyncio.gather(*(_request(r, w) for r, w in held)), 60)
            assert set(statuses) == {200}
        finally:
            for _, writer in held:
                writer.close()


def _closed_by_server(sock: socket.socket, within: float) -> tuple[bool, bytes]:
    """(the server closed the connection within ``within`` s, what it sent before closing)."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return False, received
    except ConnectionResetError:
        return True, received
    return True, received


def test_slow_bodies_slow_headers_and_idle_connections_are_cut(
    database_url: str, redis_url: str, kezek_server: ServerFactory
) -> None:
    with kezek_server(database_url, redis_url, body_timeout_seconds="1.5", keep_alive_ms="1500", workers=1) as server:
        address = ("127.0.0.1", server.port)
        body = b'{"applicant_iin": "850101300011"}'
        head = (
            f"POST /v1/rooms/astana/visitors?lang=en HTTP/1.1\r\nHost: kezek\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()

        english = b"Host: kezek\r\nAccept-Language: en\r\n"
        fast_head = head.replace(b"?lang=en", b"").replace(b"Host: kezek\r\n", english)
        # a body sent at once is read and answered (by the waiting room: not a timeout); one sent in two parts
        # within the timeout is read whole too (the body ends at its Content-Length, not before) and answered
        # the same, whether the join goes through Litestar (a query string) or its fast path
        for request_head in (head, fast_head):
            with socket.create_connection(address) as sock:
                sock.sendall(request_head + body)
                sock.settimeout(10)
                at_once = sock.recv(4096).split(b"\r\n")[0]
                assert b" 408 " not in at_once
            with socket.create_connection(address) as sock:
                sock.sendall(request_head + body[:10])
                time.sleep(0.3)
                sock.sendall(body[10:])
                sock.settimeout(10)
                assert sock.recv(4096).split(b"\r\n")[0] == at_once

        # a trickled body (a byte every 0.4 s: it would take 13 s) is refused with 408 and the connection cut,
        # whether the join goes through Litestar (a query string) or its fast path (queue_service/fast_poll.py)
        for request_head in (head, fast_head):
            _refused_when_trickled(address, request_head, body)

        # headers trickled and never finished: cut
        with socket.create_connection(address) as sock:
            sock.sendall(b"GET /health HT")
            assert _closed_by_server(sock, 10)[0]

        # an idle keep-alive connection: kept while within the keep-alive, cut after it
        with socket.create_connection(address) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: kezek\r\n\r\n")
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(0.3)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: kezek\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200"), "reused within the keep-alive"
            assert _closed_by_server(sock, 10) == (True, b"")


def _refused_when_trickled(address: tuple[str, int], head: bytes, body: bytes) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(head)
        started = time.monotonic()
        refused = b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.4)
            try:
                refused += sock.recv(4096)
            except TimeoutError:
                continue
            if refused:
                break
        closed, rest = _closed_by_server(sock, 10)
        refused += rest
        assert time.monotonic() - started < len(body) * 0.4, "cut before the body was complete"
        status_line, _, payload = refused.partition(b"\r\n\r\n")
        assert status_line.startswith(b"HTTP/1.1 408"), refused
        assert b"application/problem+json" in status_line
        assert b"x-frame-options: deny" in status_line.lower()  # the security headers on every answer
        assert b"x-content-type-options: nosniff" in status_line.lower()
        problem = msgspec.json.decode(payload)
        assert (problem["code"], problem["status"]) == ("request_timeout", 408)
        assert problem["title"] == "The request body did not arrive in time."
        assert closed

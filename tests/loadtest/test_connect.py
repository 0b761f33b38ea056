"""The lean generators' connections: a run never pays for the last run's connections in TIME_WAIT."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from loadtest import at_rate

CONNECTIONS = 9_000  # past half the ~28,000 local ports: bind() alone looks for a free one in one half first


async def _open_and_close(port: int, source: str) -> float:
    """CPU seconds to open ``CONNECTIONS`` connections from ``source`` (then closed by us: TIME_WAIT is ours)."""
    started = time.process_time()
    opened = [await at_rate.connect(port, source) for _ in range(CONNECTIONS)]
    spent = time.process_time() - started
    for connection in opened:
        assert connection.transport is not None
        connection.transport.close()
    await asyncio.sleep(0.2)
    return spent


@pytest.mark.timeout(120)
async def test_a_second_run_from_the_same_address_connects_as_cheaply_as_the_first() -> None:
    # With the local port chosen by bind() alone, the second run's connects scanned past the first
    # run's TIME_WAIT ports: ~1.5 ms of CPU each inside the event loop (a generator stalled 10-14 s).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2 * CONNECTIONS + 500:
        pytest.skip(f"open-files hard limit {hard}: the test needs {2 * CONNECTIONS + 500}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    accepted: list[asyncio.StreamWriter] = []

    async def keep(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(keep, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    source = "127.0.251.7"  # an address no other test uses: its TIME_WAIT ports are this test's alone
    try:
        first = await _open_and_close(port, source)
        for writer in accepted:
            writer.close()
        accepted.clear()
        second = await _open_and_close(port, source)
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    # measured: ~3.7 x with the port chosen at connect (the TIME_WAIT ports are reused), ~50 x by bind() alone
    assert second < 10 * first + 0.05, f"first run {first:.2f} s of CPU, the second {second:.2f} s"

"""Request metrics on a real ``kezek serve`` with two workers: whichever worker a scrape reaches, its
``/metrics`` counts every worker's requests (each worker tallies in memory and writes its counts for
the others, ``queue_service/metrics.py``), under the names the load kit's report reads."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devservices import ServerFactory

REQUESTS = 300


def _samples(text: str, name: str, path: str) -> dict[str, float]:
    """``name``'s samples for ``path``, added up per status (per ``le`` for buckets)."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("path") == path:
                key = sample.labels.get("le") or sample.labels["status_code"]
                found[key] = found.get(key, 0.0) + sample.value
    return found


async def _one_request_per_connection(url: str) -> int:
    # a new connection each: granian's workers accept in turn, so both serve some of them
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as http:
        answers = await asyncio.gather(*(http.get(url) for _ in range(REQUESTS)))
    return sum(a.status_code == 200 for a in answers)


async def test_every_workers_requests_are_counted_in_one_scrape(
    database_url: str, redis_url: str, tmp_path: Path, kezek_server: ServerFactory
) -> None:
    with kezek_server(database_url, redis_url, workers=2) as server:
        ok = await _one_request_per_connection(f"{server.host}/v1/rooms/astana")
        missing = await _one_request_per_connection(f"{server.host}/v1/rooms/atlantis")
        assert (ok, missing) == (REQUESTS, 0)
        # both workers served requests: each wrote its own counts
        assert len(list((tmp_path / "serve" / "metrics").glob("http_*.json"))) == 2
        deadline = time.monotonic() + 10
        async with httpx.AsyncClient() as http:
            while True:  # another worker's counts are at most half a second old
                text = (await http.get(f"{server.host}/metrics")).text
                counted = _samples(text, "kezek_requests_total", "/v1/rooms/{region}")
                if counted == {"200": REQUESTS, "404": REQUESTS} or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
    assert counted == {"200": REQUESTS, "404": REQUESTS}
    # the latency histogram counts the same requests, cumulatively per bucket
    buckets = _samples(text, "kezek_request_duration_seconds_bucket", "/v1/rooms/{region}")
    assert buckets["+Inf"] == 2 * REQUESTS
    ordered = [buckets[le] for le in sorted(buckets, key=float)]
    assert ordered == sorted(ordered)
    # a 404 is not a server error; nothing is in progress once every answer is in
    assert _samples(text, "kezek_requests_error_total", "/v1/rooms/{region}") == {}
    assert set(_samples(text, "kezek_requests_in_progress", "/v1/rooms/{region}").values()) == {0.0}

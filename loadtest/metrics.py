"""Scrapes the service during a run: ``/metrics`` (Prometheus) and the room's public state.

One sample a second (``interval``) to ``metrics.jsonl`` in the report folder:
``{"t", "requests": {"<method> <path> <status>": count}, "hist": {"<method> <path>":
[[le, cumulative], ...]}, "gauges": {name{labels}: value}, "room": {...}}``.  The
report turns consecutive samples into rates and latency percentiles over time.

Plain ``urllib`` in a thread: the runner is not a locust process.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

INTERESTING_GAUGE_WORDS = ("waiting", "active", "admitted", "admission", "outbox", "lag", "room")


def _get(url: str, timeout: float = 5.0) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the URL is the service under test
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError, TimeoutError):
        return None


def parse_metrics(text: str) -> dict[str, Any]:
    """The parts of a Prometheus exposition the report needs."""
    requests: dict[str, float] = {}
    hist: dict[str, dict[float, float]] = {}
    gauges: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if family.name.endswith("_requests") and sample.name.endswith("_requests_total"):
                key = f"{labels.get('method', '')} {labels.get('path', '')} {labels.get('status_code', '')}"
                requests[key] = requests.get(key, 0.0) + sample.value
            elif family.type == "histogram" and "request_duration" in family.name and sample.name.endswith("_bucket"):
                key = f"{labels.get('method', '')} {labels.get('path', '')}"
                le = float(labels["le"])
                bucket = hist.setdefault(key, {})
                bucket[le] = bucket.get(le, 0.0) + sample.value
            elif family.type in {"gauge", "counter"} and any(w in family.name for w in INTERESTING_GAUGE_WORDS):
                if sample.name.endswith(("_created", "_bucket")):
                    continue
                label_text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in {"pid"})
                name = f"{sample.name}{{{label_text}}}"
                gauges[name] = gauges.get(name, 0.0) + sample.value
    return {
        "requests": requests,
        "hist": {k: sorted(v.items()) for k, v in hist.items()},
        "gauges": gauges,
    }


def room_state(body: Any) -> dict[str, Any]:
    """waiting / active / max_active (and whatever else is flat) from ``GET /v1/rooms/{region}``."""
    if not isinstance(body, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                flat.setdefault(inner, v)
        else:
            flat[key] = value
    return {k: v for k, v in flat.items() if isinstance(v, int | float | str | bool) or v is None}


class Scraper:
    """Samples ``host`` every ``interval`` seconds until stopped."""

    def __init__(self, host: str, region: str, out: Path, interval: float = 1.0) -> None:
        self.host = host.rstrip("/")
        self.region = region
        self.out = out
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-scraper", daemon=True)
        self.last: dict[str, Any] = {}

    def sample(self) -> dict[str, Any]:
        record: dict[str, Any] = {"t": time.time()}
        text = _get(f"{self.host}/metrics")
        if text is not None:
            record.update(parse_metrics(text.decode("utf-8", "replace")))
        room = _get(f"{self.host}/v1/rooms/{self.region}")
        if room is not None:
            try:
                record["room"] = room_state(json.loads(room))
            except json.JSONDecodeError:
                record["room"] = {}
        return record

    def _run(self) -> None:
        with self.out.open("a", encoding="utf-8") as out:
            while not self._stop.is_set():
                started = time.monotonic()
                self.last = self.sample()
                out.write(json.dumps(self.last) + "\n")
                out.flush()
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> Scraper:
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop, take one last sample (the final counters) and return it."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.last = self.sample()
        with self.out.open("a", encoding="utf-8") as out:
            out.write(json.dumps(self.last) + "\n")
        return self.last


def read_samples(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            samples.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return samples


def server_5xx(sample: dict[str, Any]) -> int | None:
    """5xx answers the service counted (None when /metrics was not read)."""
    if "requests" not in sample:
        return None
    return int(sum(v for k, v in sample["requests"].items() if k.rsplit(" ", 1)[-1].startswith("5")))


def quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile (seconds) of a cumulative histogram, interpolated within its bucket."""
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    previous_le, previous_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return previous_le
            width = count - previous_count
            fraction = (rank - previous_count) / width if width > 0 else 1.0
            return previous_le + (le - previous_le) * fraction
        previous_le, previous_count = le, count
    return previous_le


def interval_histograms(samples: Sequence[dict[str, Any]], keys: Sequence[str] | None = None) -> Iterator[
    tuple[float, list[tuple[float, float]]]
]:  # fmt: skip
    """(time, cumulative buckets of the requests answered since the previous sample), summed over ``keys``."""
    previous: dict[float, float] | None = None
    for s in samples:
        if "hist" not in s:
            continue
        merged: dict[float, float] = {}
        for key, buckets in s["hist"].items():
            if keys is not None and key not in keys:
                continue
            for le, count in buckets:
                merged[le] = merged.get(le, 0.0) + count
        if previous is not None:
            delta = sorted((le, merged.get(le, 0.0) - previous.get(le, 0.0)) for le in merged)
            yield s["t"], delta
        previous = merged

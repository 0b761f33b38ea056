"""The report folder of a run: PNG charts, SLO verdicts and a Markdown summary a QA lead reads at a glance.

Inputs are the run's files: ``metrics.jsonl`` (scraped ``/metrics`` and room
state), locust's ``locust_stats.csv``, the journals, the invariant checks and
the decisions per second from PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from loadtest.invariants import Check, Facts
from loadtest.metrics import interval_histograms, quantile


class Slo(msgspec.Struct, kw_only=True):
    """Latency limits (ms) per endpoint, and the failure ratio over all requests."""

    failure_ratio: float = 0.01
    p95_ms: float = 500.0
    p99_ms: float = 1000.0
    per_endpoint: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    """``{"GET /v1/rooms/[region]/visitors/me": {"p99": 250}}``"""

    def limits(self, endpoint: str) -> dict[str, float]:
        return {"p95": self.p95_ms, "p99": self.p99_ms, **self.per_endpoint.get(endpoint, {})}


def parse_slo(specs: Sequence[str], base: Slo) -> Slo:
    """``"GET /v1/rooms/[region]/visitors/me:p99=250,p95=100"`` → per-endpoint limits."""
    per: dict[str, dict[str, float]] = dict(base.per_endpoint)
    for spec in specs:
        endpoint, _, limits = spec.rpartition(":")
        if not endpoint or not limits:
            raise ValueError(f"--slo {spec!r}: expected 'METHOD NAME:p99=MS[,p95=MS]'")
        parsed = {}
        for part in limits.split(","):
            key, _, value = part.partition("=")
            if key.strip() not in {"p95", "p99"}:
                raise ValueError(f"--slo {spec!r}: only p95 and p99 limits are known")
            parsed[key.strip()] = float(value)
        per[endpoint.strip()] = {**per.get(endpoint.strip(), {}), **parsed}
    return msgspec.structs.replace(base, per_endpoint=per)


class SloResult(msgspec.Struct, kw_only=True):
    endpoint: str
    requests: int
    failures: int
    p95_ms: float | None
    p99_ms: float | None
    limits: dict[str, float]
    ok: bool


def read_locust_stats(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _ms(value: str | None) -> float | None:
    try:
        return float(value) if value not in {None, "", "N/A"} else None
    except ValueError:
        return None


def evaluate_slo(stats: list[dict[str, str]], slo: Slo) -> tuple[list[SloResult], Check]:
    """Per endpoint p95/p99 against the limits, and the overall failure ratio, from locust's stats."""
    results: list[SloResult] = []
    total_requests = total_failures = 0
    for row in stats:
        name = f"{row.get('Type', '')} {row.get('Name', '')}".strip()
        requests, failures = int(row.get("Request Count") or 0), int(row.get("Failure Count") or 0)
        if row.get("Name") == "Aggregated":
            total_requests, total_failures = requests, failures
            continue
        limits = slo.limits(name)
        p95, p99 = _ms(row.get("95%")), _ms(row.get("99%"))
        ok = (p95 is None or p95 <= limits["p95"]) and (p99 is None or p99 <= limits["p99"])
        results.append(
            SloResult(endpoint=name, requests=requests, failures=failures, p95_ms=p95, p99_ms=p99, limits=limits, ok=ok)
        )
    ratio = total_failures / total_requests if total_requests else 0.0
    slow = [r for r in results if not r.ok]
    ok = total_requests > 0 and ratio <= slo.failure_ratio and not slow
    summary = (
        f"{total_requests} requests, failure ratio {ratio:.4%} (limit {slo.failure_ratio:.2%}); "
        f"{len(slow)} endpoint(s) over their p95/p99 limits"
        if total_requests
        else "no request was made: the run did not happen"
    )
    details = [
        f"{r.endpoint}: p95 {r.p95_ms} ms / p99 {r.p99_ms} ms > {r.limits['p95']:.0f} / {r.limits['p99']:.0f} ms"
        for r in slow
    ]
    return results, Check(
        name="slo", ok=ok, summary=summary, details=details,
        figures={"requests": total_requests, "failures": total_failures, "failure_ratio": ratio},
    )  # fmt: skip


# -- charts ----------------------------------------------------------------------------------------------------


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, out: Path, legend: Any) -> Path:
    """Every chart's finish: a light grid and a legend on ``legend``'s axes, tight, 100 dpi PNG at ``out``."""
    legend.grid(alpha=0.3)
    legend.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def chart_visitors(samples: Sequence[dict[str, Any]], out: Path, start: float) -> Path | None:
    """Waiting and active visitors (and max_active) from the room state, over time."""
    rows = [(s["t"] - start, s.get("room", {})) for s in samples if s.get("room")]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    for key, style in (("waiting", "-"), ("active", "-"), ("max_active", "--")):
        points = [(t, room[key]) for t, room in rows if isinstance(room.get(key), int | float)]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=key)
    ax.set(title="Waiting room", xlabel="seconds since start", ylabel="visitors")
    return _save(plt, fig, out, ax)


def chart_admissions(facts: Facts, decisions: Sequence[tuple[int, str, int]], out: Path, start: float) -> Path | None:
    """Admissions per second: the waiting room's (journal) and the decisions by status (PostgreSQL)."""
    admitted = Counter(int(t_seen - start) for _, t_seen in facts.admitted.values())
    if not admitted and not decisions:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    if admitted:
        xs = list(range(min(admitted), max(admitted) + 1))
        ax.plot(xs, [admitted[x] for x in xs], label="admitted by the waiting room")
    by_status: dict[str, Counter[int]] = {}
    for second, status, n in decisions:
        by_status.setdefault(status, Counter())[int(second - start)] += n
    for status, counts in sorted(by_status.items()):
        xs = list(range(min(counts), max(counts) + 1))  # seconds without a decision are zeros, not gaps
        ax.plot(xs, [counts[x] for x in xs], label=f"applications {status}")
    ax.set(title="Admissions per second", xlabel="seconds since start", ylabel="per second")
    return _save(plt, fig, out, ax)


def chart_latency(samples: Sequence[dict[str, Any]], out: Path, start: float) -> Path | None:
    """p50/p95/p99 of all requests the service answered, per scrape interval (its own histogram)."""
    points = []
    for t, buckets in interval_histograms(samples):
        if buckets and buckets[-1][1] > 0:
            points.append((t - start, *(quantile(buckets, q) for q in (0.5, 0.95, 0.99)), buckets[-1][1]))
    if not points:
        return None
    plt = _plt()
    fig, (ax, rate) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for index, label in ((1, "p50"), (2, "p95"), (3, "p99")):
        ax.plot([p[0] for p in points], [1000 * (p[index] or 0) for p in points], label=label)
    ax.set(title="Latency (service side, /metrics)", ylabel="ms")
    rate.plot([p[0] for p in points], [p[4] for p in points], color="gray")
    rate.set(xlabel="seconds since start", ylabel="requests per interval")
    rate.grid(alpha=0.3)
    return _save(plt, fig, out, ax)


# -- the summary -----------------------------------------------------------------------------------------------

_MARK = {True: "✅ pass", False: "❌ FAIL", None: "⚪ not checked"}


def _fmt(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0f}"


def write_summary(
    out: Path,
    *,
    scenario: str,
    parameters: dict[str, Any],
    checks: Sequence[Check],
    slo_results: Sequence[SloResult],
    facts: Facts,
    charts: Sequence[Path],
    status_counts: dict[str, int],
) -> bool:
    """Write ``summary.md``; True when the day would have gone well (no check failed)."""
    good = all(c.ok is not False for c in checks)
    lines = [
        f"# Load test: {scenario} — {'PASS' if good else 'FAIL'}",
        "",
        ("The day would have gone well." if good else "The day would NOT have gone well: see the failed checks.")
        + f"  Run at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in parameters.items()),
        "",
        "## Invariants and objectives",
        "",
        "| check | result | summary |",
        "|---|---|---|",
        *(f"| {c.name} | {_MARK[c.ok]} | {c.summary} |" for c in checks),
        "",
    ]
    for c in checks:
        if c.details:
            lines += [f"**{c.name}**:", "", *(f"- {d}" for d in c.details), ""]
    outcome = Counter(a.get("status") for a in facts.applied)
    lines += [
        "## What happened",
        "",
        (
            f"- families that joined: {len(facts.joins)}; admitted by the waiting room: {len(facts.admitted)}; "
            f"abandoned or expired: {len(facts.excluded)}"
        ),
        f"- answers to applications: {dict(outcome) or 'none'}; withdrawals: {len(facts.withdrawn)}",
        f"- applications in PostgreSQL by status: {status_counts or 'none'}",
        (
            f"- connections the load generator opened: {facts.connections}"
            + (f" ({facts.connections / len(facts.joins):.2f} per family)" if facts.joins else "")
        ),
        "",
        "## Latency per endpoint (client side, locust)",
        "",
        "| endpoint | requests | failures | p95 ms | p99 ms | limit p95/p99 | |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r.endpoint} | {r.requests} | {r.failures} | {_fmt(r.p95_ms)} | {_fmt(r.p99_ms)} | "
            f"{r.limits['p95']:.0f}/{r.limits['p99']:.0f} | {'ok' if r.ok else '**over**'} |"
            for r in slo_results
        ),
        "",
        "## Charts",
        "",
        *(f"![{p.stem}]({p.name})" for p in charts),
        "",
        "Locust's own report: [locust.html](locust.html).",
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    return good

"""The invariant checker's own logic: it must count what it claims and fail when the run broke a promise."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from loadtest import invariants, report
from loadtest.metrics import parse_metrics, quantile, server_5xx


def brute_force_inversions(joins: dict[str, tuple[float, float]], admitted: dict[str, tuple[float, float]]) -> int:
    people = [i for i in admitted if i in joins]
    return sum(
        1 for a, b in itertools.permutations(people, 2) if joins[a][1] < joins[b][0] and admitted[a][0] > admitted[b][1]
    )


def test_inversions_match_brute_force_on_random_runs() -> None:
    rng = random.Random(5)
    for _ in range(30):
        joins, admitted = {}, {}
        for n in range(rng.randrange(2, 60)):
            sent = rng.uniform(0, 10)
            joins[f"p{n}"] = (sent, sent + rng.uniform(0, 0.5))
            last_wait = sent + rng.uniform(0, 20)
            admitted[f"p{n}"] = (last_wait, last_wait + rng.uniform(0, 3))
        assert invariants.definite_inversions(joins, admitted) == brute_force_inversions(joins, admitted)


def test_fifo_admissions_have_no_inversions_and_a_jump_is_counted() -> None:
    joins = {f"p{n}": (n * 1.0, n * 1.0 + 0.1) for n in range(10)}
    admitted = {f"p{n}": (20 + n * 2.0, 20 + n * 2.0 + 0.5) for n in range(10)}
    assert invariants.definite_inversions(joins, admitted) == 0
    # p9 (the last to join) is let in before everyone else: 9 people were still waiting behind it
    admitted["p9"] = (1.0, 10.0)
    assert invariants.definite_inversions(joins, admitted) == 9
    # ...unless they abandoned: abandoned visitors are set aside
    assert invariants.definite_inversions(joins, admitted, excluded=[f"p{n}" for n in range(9)]) == 0


def test_concurrent_slots_from_intervals() -> None:
    assert invariants.max_concurrent([(0, 2), (1, 3), (2, 4), (5, 6)]) == 2
    assert invariants.max_concurrent([]) == 0


def _journal(folder: Path, *events: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "journal-test-1.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events) + '{"ev": "torn')
    return folder


JOINS = ({"ev": "join", "iin": "a", "t0": 0.0, "t1": 0.1}, {"ev": "join", "iin": "b", "t0": 1.0, "t1": 1.1})
"""Two visitors, a then b, join a second apart: what the clean and the broken run of the next test share."""


def test_journal_checks_pass_on_a_clean_run_and_fail_on_broken_promises(tmp_path: Path) -> None:
    clean = _journal(
        tmp_path / "clean",
        *JOINS,
        {"ev": "admitted", "iin": "a", "t_wait": 2.0, "t_seen": 3.0},
        {"ev": "admitted", "iin": "b", "t_wait": 3.5, "t_seen": 4.0},
        {"ev": "released", "iin": "a", "t": 5.0},
        {"ev": "released", "iin": "b", "t": 6.0},
        {"ev": "rejoin", "iin": "b", "same_place": True},
        {"ev": "bad", "kind": "forged_token", "http": 401},
    )
    facts = invariants.read_facts(clean)
    rooms = [{"t": 1.0, "active": 1, "max_active": 1}, {"t": 4.5, "active": 1, "max_active": 1}]
    assert invariants.check_fifo(facts, "fifo", 0).ok is True
    assert invariants.check_active(facts, rooms).ok is False  # a and b both held a slot in [4, 5] with max_active 1
    assert invariants.check_active(facts, [{**r, "max_active": 2} for r in rooms]).ok is True
    assert invariants.check_second_device(facts).ok is True
    assert invariants.check_5xx(facts, 0).ok is True

    broken = _journal(
        tmp_path / "broken",
        *JOINS,
        {"ev": "admitted", "iin": "a", "t_wait": 9.0, "t_seen": 10.0},
        {"ev": "admitted", "iin": "b", "t_wait": 2.0, "t_seen": 3.0},
        {"ev": "rejoin", "iin": "b", "same_place": False},
        {"ev": "http5xx", "name": "/v1/applications", "http": 500},
    )
    facts = invariants.read_facts(broken)
    assert invariants.check_fifo(facts, "fifo", 0).ok is False
    assert invariants.check_fifo(facts, "fifo", 1).ok is True
    assert invariants.check_fifo(facts, "shuffle_prequeue", 0).ok is None
    assert invariants.check_second_device(facts).ok is False
    assert invariants.check_5xx(facts, 0).ok is False
    assert invariants.check_5xx(invariants.read_facts(clean), 3).ok is False  # the service's own count


def test_checks_that_cannot_run_say_so_instead_of_passing(tmp_path: Path) -> None:
    facts = invariants.read_facts(tmp_path)
    assert invariants.check_fifo(facts, "fifo", 0).ok is None
    assert invariants.check_active(facts, []).ok is None
    assert invariants.check_second_device(facts).ok is None


METRICS = """\
# HELP kezek_requests_total Total requests
# TYPE kezek_requests_total counter
kezek_requests_total{method="GET",path="/v1/rooms/{region}",status_code="200"} 90.0
kezek_requests_total{method="POST",path="/v1/applications",status_code="500"} 2.0
# TYPE kezek_request_duration_seconds histogram
kezek_request_duration_seconds_bucket{method="GET",path="/v1/rooms/{region}",status_code="200",le="0.01"} 50.0
kezek_request_duration_seconds_bucket{method="GET",path="/v1/rooms/{region}",status_code="200",le="0.1"} 90.0
kezek_request_duration_seconds_bucket{method="GET",path="/v1/rooms/{region}",status_code="200",le="+Inf"} 90.0
"""


def test_metrics_give_the_service_side_5xx_and_percentiles() -> None:
    sample = parse_metrics(METRICS)
    assert server_5xx(sample) == 2
    buckets = sample["hist"]["GET /v1/rooms/{region}"]
    assert quantile(buckets, 0.5) == pytest.approx(0.009)
    assert 0.01 < quantile(buckets, 0.99) <= 0.1


def test_slo_per_endpoint_and_failure_ratio(tmp_path: Path) -> None:
    stats = tmp_path / "locust_stats.csv"
    stats.write_text(
        "Type,Name,Request Count,Failure Count,95%,99%\n"
        "GET,/v1/rooms/[region]/visitors/me,1000,0,120,300\n"
        "POST,/v1/applications,100,0,200,400\n"
        ",Aggregated,1100,5,150,350\n"
    )
    rows = report.read_locust_stats(stats)
    slo = report.Slo(failure_ratio=0.01, p95_ms=500, p99_ms=1000)
    assert report.evaluate_slo(rows, slo)[1].ok is True
    strict = report.parse_slo(["GET /v1/rooms/[region]/visitors/me:p99=250"], slo)
    results, check = report.evaluate_slo(rows, strict)
    assert check.ok is False
    assert [r.endpoint for r in results if not r.ok] == ["GET /v1/rooms/[region]/visitors/me"]
    assert report.evaluate_slo(rows, report.Slo(failure_ratio=0.001))[1].ok is False
    assert report.evaluate_slo([], slo)[1].ok is False  # no statistics: the run did not happen
    assert report.evaluate_slo([{"Type": "", "Name": "Aggregated", "Request Count": "0"}], slo)[1].ok is False
    with pytest.raises(ValueError, match="p95 and p99"):
        report.parse_slo(["GET /x:median=3"], slo)

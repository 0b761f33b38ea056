"""Working-day deadlines: weekends, Kazakh public holidays (Nauryz, moved holidays), school hours."""

from __future__ import annotations

import datetime as dt

import pytest
from transfer_world import kz

from admission.transfers.workdays import add_working_days, is_working_day, working_start


def test_the_calendar_knows_nauryz_and_moves_weekend_holidays() -> None:
    assert not any(is_working_day(dt.date(2026, 3, d)) for d in (21, 22, 23))  # Nauryz
    # 21-22 March 2026 fall on a weekend: the days off move to 24-25 March.
    assert not is_working_day(dt.date(2026, 3, 24))
    assert not is_working_day(dt.date(2026, 3, 25))
    assert is_working_day(dt.date(2026, 3, 26))
    assert not is_working_day(dt.date(2026, 3, 9))  # 8 March 2026 is a Sunday


@pytest.mark.parametrize(
    ("arrives", "days", "due"),
    [
        pytest.param(kz(2026, 4, 15, 10), 1, kz(2026, 4, 16, 10), id="working hours: same time next working day"),
        pytest.param(kz(2026, 4, 17, 10), 1, kz(2026, 4, 20, 10), id="Friday morning: Monday morning"),
        pytest.param(kz(2026, 4, 17, 20), 1, kz(2026, 4, 20, 18, 30), id="Friday evening: end of Monday"),
        pytest.param(kz(2026, 4, 18, 11), 1, kz(2026, 4, 20, 18, 30), id="Saturday: end of Monday"),
        pytest.param(kz(2026, 4, 20, 7), 1, kz(2026, 4, 20, 18, 30), id="before opening: end of that day"),
        pytest.param(kz(2026, 4, 20, 18, 30), 1, kz(2026, 4, 21, 18, 30), id="at closing: counts from next day"),
        pytest.param(kz(2026, 3, 20, 12), 1, kz(2026, 3, 26, 12), id="Nauryz 21-25 March is skipped"),
        pytest.param(kz(2026, 3, 6, 15), 1, kz(2026, 3, 10, 15), id="8 March on Sunday: Monday 9 March off"),
        pytest.param(kz(2026, 5, 6, 10), 3, kz(2026, 5, 13, 10), id="talon across 7 and 9 May (moved to 11 May)"),
        pytest.param(kz(2026, 12, 31, 17), 3, kz(2027, 1, 8, 17), id="talon across New Year and Christmas"),
    ],
)
def test_deadlines_count_working_time_only(arrives: dt.datetime, days: int, due: dt.datetime) -> None:
    assert add_working_days(arrives, days) == due


def test_a_utc_instant_is_read_in_kazakhstan_time() -> None:
    # 04:30 UTC is 09:30 in Kazakhstan (UTC+5): inside school hours.
    assert working_start(dt.datetime(2026, 4, 15, 4, 30, tzinfo=dt.UTC)) == kz(2026, 4, 15, 9, 30)

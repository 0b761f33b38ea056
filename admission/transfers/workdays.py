"""Working days and working time of Kazakhstan's schools (model rules annex 2, items 3 and 7).

Schools work Monday to Friday, 09:00-18:30 Kazakhstan time, except public
holidays.  The holidays come from the ``holidays`` package (``country_holidays("KZ")``:
Nauryz 21-23 March, a holiday falling on a weekend moved to the next working day,
Kurban Ait, ...), never from a hand-kept list.

Deadlines are counted in *working time*: a working day is the 9 h 30 min between
09:00 and 18:30 (the lunch break 13:00-14:30 is inside the working day and does
not stop the clock).  What arrives after hours, on a weekend or a holiday counts
from 09:00 of the next working day (item 7).  So "1 working day" from
Friday 10:00 is Monday 10:00, and from Friday 20:00 it is Monday 18:30.

A *validity* of N working days (the arrival talon, para 20) is read as the
Civil Code reads a period: it begins the day after the issue (art. 183) and
ends when the organisation's working day ends on its last day (art. 185):
:func:`end_of_working_days`.  Item 7's next-working-day rule also fixes the
day a request is *accepted* on (:func:`acceptance_day`), the day the rules
judge it as of.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import holidays

from admission.reference import KZ

OPENS = dt.time(9, 0)
CLOSES = dt.time(18, 30)
DAY_LENGTH = dt.datetime.combine(dt.date.min, CLOSES) - dt.datetime.combine(dt.date.min, OPENS)


@functools.cache
def _kz_holidays() -> Any:
    # Built lazily (no work at import time); the object adds years as they are asked for.
    return holidays.country_holidays("KZ")


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _kz_holidays()


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after ``day``."""
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def _local(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("a working-time instant must be timezone-aware")
    return at.astimezone(KZ)


def working_start(at: dt.datetime) -> dt.datetime:
    """When processing of something arriving at ``at`` starts: ``at`` itself during hours, else the next opening."""
    local = _local(at)
    day = local.date()
    if is_working_day(day):
        opening = dt.datetime.combine(day, OPENS, KZ)
        closing = dt.datetime.combine(day, CLOSES, KZ)
        if local < opening:
            return opening
        if local < closing:
            return local
    return dt.datetime.combine(next_working_day(day), OPENS, KZ)


def acceptance_day(at: dt.datetime) -> dt.date:
    """The day a request arriving at ``at`` is accepted on (annex 2 item 7): that day during hours, else the next."""
    return working_start(at).date()


def end_of_working_days(at: dt.datetime, days: int) -> dt.datetime:
    """The end (18:30) of the ``days``-th working day after the day of ``at`` (a talon valid 3 working days)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    day = _local(at).date()
    for _ in range(days):
        day = next_working_day(day)
    return dt.datetime.combine(day, CLOSES, KZ)


def add_working_days(at: dt.datetime, days: int) -> dt.datetime:
    """The instant ``days`` working days of working time after ``at`` (counted from :func:`working_start`)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = working_start(at)
    remaining = DAY_LENGTH * days
    while True:
        closing = dt.datetime.combine(current.date(), CLOSES, KZ)
        left_today = closing - current
        if remaining <= left_today:
            return current + remaining
        remaining -= left_today
        current = dt.datetime.combine(next_working_day(current.date()), OPENS, KZ)

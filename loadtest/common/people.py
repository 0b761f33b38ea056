"""Who takes part in a load test: families, their children, bad actors, and the schools they want.

Every ИИН is valid (check digit, birth date), and the groups never collide:

* applicants (parents) are born 1975-1999, children 2019-09-02 .. 2020-08-31
  (6 by 1 September 2026, under 9), except on 29 February;
* bad actors are born in 1971 and their "children" on **2020-02-29**, a date no
  family uses, so the invariant checker can tell that no bad actor got a seat
  (``BAD_CHILD_PREFIX``) without any shared state.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from importlib import resources

import msgspec

from admission.iin import make_iin

BAD_APPLICANT_PREFIX = "71"
BAD_CHILD_PREFIX = "200229"
_CHILD_FIRST = dt.date(2019, 9, 2)
_CHILD_DAYS = (dt.date(2020, 8, 31) - _CHILD_FIRST).days + 1
_LEAP_DAY = dt.date(2020, 2, 29)


class School(msgspec.Struct, frozen=True, kw_only=True):
    bin: str
    languages: tuple[str, ...]
    """Grade-1 languages of instruction, the one with most seats first."""
    seats: int


class Region(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    schools: tuple[School, ...]
    roster: tuple[tuple[str, str, str], ...]
    """(school BIN, child ИИН, language) of the pre-school rosters of the region's schools."""


def _csv(name: str) -> list[dict[str, str]]:
    text = resources.files("admission.reference").joinpath(f"{name}.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def reference_region(slug: str) -> Region:
    """The region's schools, grade-1 languages and rosters from the shipped reference data."""
    bins = [row["bin"] for row in _csv("schools") if row["region_slug"] == slug]
    seats: dict[str, dict[str, int]] = {b: {} for b in bins}
    for row in _csv("school_classes"):
        if row["school_bin"] in seats and row["grade"] == "1":
            seats[row["school_bin"]][row["language"]] = int(row["classes"]) * int(row["seats_per_class"])
    schools = tuple(
        School(
            bin=b,
            languages=tuple(sorted(seats[b], key=lambda lang, b=b: -seats[b][lang])),  # type: ignore[misc]
            seats=sum(seats[b].values()),
        )
        for b in bins
        if seats[b]
    )
    roster = tuple(
        (row["school_bin"], row["child_iin"], row["language"])
        for row in _csv("preschool_roster")
        if row["school_bin"] in seats
    )
    return Region(slug=slug, schools=schools, roster=roster)


def popularity_weights(count: int, exponent: float) -> list[float]:
    """Zipf weights: the first school is asked ``2**exponent`` times as often as the second, and so on."""
    return [1.0 / (rank**exponent) for rank in range(1, count + 1)]


_PARENT_DATES = tuple(dt.date(y, m, d) for y in range(1975, 2000) for m in range(1, 13) for d in range(1, 29))
_CHILD_DATES = tuple(d for n in range(_CHILD_DAYS) if (d := _CHILD_FIRST + dt.timedelta(days=n)) != _LEAP_DAY)
_SERIALS = 10_000


class _Walk:
    """Distinct numbers of ``[0, space)``: this lane's block of it, from a random start, in order, wrapping.

    Drawing ИИНs at random would give two families one parent: among 25,000 parents drawn from 168
    million ИИНs two share one about twice a run (the birthday paradox), and the service rightly treats
    them as one person with one place, so one's release ends the other's session.  Lanes (one per
    generator process) never meet; without them two processes' walks of 25,000 parents meet about once in
    3,000 runs.
    """

    def __init__(self, rng: random.Random, space: int, lane: int, lanes: int) -> None:
        self.block = space // lanes
        self.base = lane * self.block
        self.at = rng.randrange(self.block)

    def next(self) -> int:
        self.at = (self.at + 1) % self.block
        return self.base + self.at


def _iin(dates: tuple[dt.date, ...], walk: _Walk, born: dt.date | None = None) -> str:
    """The walk's next ИИН of those born on ``dates`` (``born``: that date, the number's sex and serial).

    A serial without a check digit is passed over, not moved to the next one (as ``make_iin`` would):
    that one is the walk's next ИИН.
    """
    while True:
        number, serial = divmod(walk.next(), _SERIALS)
        day, male = divmod(number, 2)
        iin = make_iin(born or dates[day], male == 1, serial)
        if int(iin[7:11]) == serial:
            return iin


class People:
    """Hands out ИИНs for one generator process: never the same one twice, nor one of another lane's.

    ``lane`` of ``lanes``: this process's share (a wave's generator processes pass their index and
    count); the same random start twice (a seeded rerun) hands out the same people.
    """

    def __init__(self, rng: random.Random, lane: int = 0, lanes: int = 1) -> None:
        self.rng = rng
        self._parents = _Walk(rng, len(_PARENT_DATES) * 2 * _SERIALS, lane, lanes)
        self._children = _Walk(rng, len(_CHILD_DATES) * 2 * _SERIALS, lane, lanes)

    def applicant(self) -> str:
        return _iin(_PARENT_DATES, self._parents)

    def child(self, born: dt.date | None = None) -> str:
        """A fresh child ИИН; twins pass the first child's birth date."""
        return _iin(_CHILD_DATES, self._children, born)

    def bad_applicant(self) -> str:
        return make_iin(
            dt.date(1971, self.rng.randrange(1, 13), self.rng.randrange(1, 29)), True, self.rng.randrange(10_000)
        )

    def bad_child(self) -> str:
        return make_iin(_LEAP_DAY, self.rng.random() < 0.5, self.rng.randrange(10_000))


def invalid_iin(rng: random.Random) -> str:
    """A 12-digit number whose check digit is wrong (what a typo gives)."""
    valid = make_iin(dt.date(1985, rng.randrange(1, 13), rng.randrange(1, 29)), True, rng.randrange(10_000))
    return valid[:11] + str((int(valid[11]) + 1 + rng.randrange(9)) % 10)


def birth_date_of(iin: str) -> dt.date:
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}[iin[6]]
    return dt.date(century + int(iin[:2]), int(iin[2:4]), int(iin[4:6]))

"""The load kit's people: each generator process hands out parents and children no other family has."""

from __future__ import annotations

import datetime as dt
import random

from admission.iin import birth_date, validate_iin
from loadtest.common.people import People

SEPTEMBER_FIRST = dt.date(2026, 9, 1)


def test_two_generator_processes_never_give_two_families_one_parent_or_one_child() -> None:
    # Drawn at random, 60,000 parents out of 168 million ИИНs share one about 10 times: two families
    # would be one person to the service, and one's release would end the other's session.
    lanes = [People(random.Random(seed), lane=lane, lanes=2) for lane, seed in ((0, 1), (1, 1))]
    parents = [who.applicant() for who in lanes for _ in range(30_000)]
    children = [who.child() for who in lanes for _ in range(30_000)]
    assert len(set(parents)) == len(parents)
    assert len(set(children)) == len(children)
    for iin in parents[::997] + children[::997]:
        assert validate_iin(iin) == iin
    assert all(1975 <= birth_date(iin).year <= 1999 for iin in parents[::997])
    ages = {(SEPTEMBER_FIRST - birth_date(iin)).days // 365 for iin in children[::997]}
    assert ages == {6}  # 6 by 1 September, under 9: every child is of grade-1 age


def test_a_twin_shares_the_first_childs_birth_date_and_not_its_iin() -> None:
    who = People(random.Random(3))
    first = who.child()
    twin = who.child(born=birth_date(first))
    assert twin != first
    assert birth_date(twin) == birth_date(first)

"""Wide statements name their parameters; the numbering asyncpg needs is worked out once, and a
query and the Struct that carries its values cannot drift apart unnoticed."""

from __future__ import annotations

import msgspec
import pytest

from admission.applications.service import INSERT_REFUSED, RefusedApplication
from admission.db import NamedQuery, number_parameters


def test_names_become_numbers_in_order_of_first_use_and_casts_strings_comments_stay() -> None:
    sql, names = number_parameters(
        "-- :not_a_parameter\nSELECT :b::integer, ':c', :a, :b FROM t WHERE x::text = :a -- :d\n"
    )
    assert names == ("b", "a")
    assert sql == "-- :not_a_parameter\nSELECT $1::integer, ':c', $2, $1 FROM t WHERE x::text = $2 -- :d\n"


def test_a_query_mixing_numbers_and_names_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\$2"):
        number_parameters("SELECT :a, $2")


class _MissingOne(msgspec.Struct, kw_only=True):
    id: str


class _OneTooMany(RefusedApplication, frozen=True, kw_only=True):
    grade: int


@pytest.mark.parametrize("params", [_MissingOne, _OneTooMany])
def test_a_struct_that_does_not_name_exactly_the_querys_parameters_fails_at_import(
    params: type[msgspec.Struct],
) -> None:
    with pytest.raises(ValueError, match="insert_refused"):
        NamedQuery("insert_refused", params)


def test_values_go_to_the_columns_they_are_named_for() -> None:
    """The refusal's columns, each checked against its own named value (not its position)."""
    columns = INSERT_REFUSED.sql.split("(", 1)[1].split(")", 1)[0].replace("\n", " ").split(",")
    values = INSERT_REFUSED.sql.split("VALUES", 1)[1].strip().strip("();").replace("\n", " ").split(",")
    pairs = dict(zip([c.strip() for c in columns], [v.strip() for v in values], strict=True))
    numbered = {name: f"${i + 1}" for i, name in enumerate(INSERT_REFUSED.names)}
    assert pairs.pop("status") == "'refused'"
    assert pairs == numbered

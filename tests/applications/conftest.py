"""Fixtures of the admission tests: the test schools (``schools``) and a parent's access claims (``claims``)."""

from __future__ import annotations

import asyncpg
import pytest
from admission_helpers import ABAI_SCHOOL, GENERAL_SEATS, OTHER_SCHOOL, ROSTER, ROSTER_SIZE, SCHOOL, access

from admission.access import AccessClaims
from admission.signing_keys import KeySet


@pytest.fixture(name="schools")
async def schools_fixture(db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO schools (bin, region_slug, name_kk, name_ru, locality, address) VALUES"
            " ($1, 'astana', '№900 мектеп', 'Школа №900', 'Астана', 'Астана, Сынақ көшесі, 1'),"
            " ($2, 'astana', '№901 мектеп', 'Школа №901', 'Астана', 'Астана, Сынақ көшесі, 2'),"
            " ($3, 'abai', '№902 мектеп', 'Школа №902', 'Семей', 'Семей, Сынақ көшесі, 3')",
            SCHOOL,
            OTHER_SCHOOL,
            ABAI_SCHOOL,
        )
        await conn.execute(
            "INSERT INTO school_classes (school_bin, grade, language, classes, seats_per_class) VALUES"
            " ($1, 1, 'kk', 1, $4), ($2, 1, 'kk', 2, 20), ($2, 1, 'ru', 1, 20), ($3, 1, 'kk', 1, 25)",
            SCHOOL,
            OTHER_SCHOOL,
            ABAI_SCHOOL,
            GENERAL_SEATS + ROSTER_SIZE,
        )
        await conn.executemany(
            "INSERT INTO preschool_roster (school_bin, child_iin, language) VALUES ($1, $2, 'kk')",
            [(SCHOOL, iin) for iin in ROSTER],
        )


@pytest.fixture(name="claims")
def claims_fixture(keys: KeySet) -> AccessClaims:
    return access(keys)

"""Realistic synthetic extracts of one region, for demos, the benchmark and the operator's dry runs.

Deterministic for a seed.  Schools are the region's reference schools (so the
service territories and the contingent line up with the admission module);
preschools and colleges get made-up БСН.  The shares below are plausible
orders of magnitude, not statistics.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from importlib import resources
from pathlib import Path

import msgspec

from admission.census.formats import (
    ATTENDANCE_COLUMNS,
    BBAZH_COLUMNS,
    DELIMITER,
    PERSONS_COLUMNS,
    TERRITORY_COLUMNS,
)
from admission.census.importer import school_year_start
from admission.db import QUERIES, Connection
from admission.errors import InvalidInput, UnknownRegion
from admission.iin import check_digit, make_iin

CONTINGENT_COLUMNS = ("iin", "school_bin", "grade", "language")

_SURNAMES = (
    "Ахметов", "Серікбаев", "Жұмабеков", "Оспанов", "Нұрланов", "Әбдірахманов", "Қасымов", "Төлегенов",
    "Иванов", "Ким", "Смагулов", "Бекмұхамедов", "Есенов", "Сейітов", "Петров", "Мұқанов", "Байжанов",
)  # fmt: skip
_MALE = ("Нұрсұлтан", "Әлихан", "Ерлан", "Данияр", "Арман", "Тимур", "Алексей", "Айдос", "Нұрлан", "Ислам", "Бауыржан")
_FEMALE = ("Аружан", "Айым", "Дана", "Әйгерім", "Мадина", "Томирис", "Анна", "Жансая", "Амина", "Сезім", "Камила")
_FOREIGN = ("UZ", "RU", "KG", "CN", "TJ", "TR")


class GeneratedExtracts(msgspec.Struct, frozen=True, kw_only=True):
    persons: int
    bbazh: int
    attendance: int
    contingent: int
    territories: int
    bad_rows: int


def _female(name: str) -> str:
    if name.endswith(("ов", "ев", "ин")):
        return name + "а"
    return name


def _org_bin(rng: random.Random, prefix: str) -> str:
    while True:
        first11 = prefix + "".join(rng.choice("0123456789") for _ in range(11 - len(prefix)))
        digit = check_digit(first11)
        if digit is not None:
            return first11 + str(digit)


def region_schools(region: str) -> list[tuple[str, str]]:
    """``(bin, locality)`` of the region's shipped reference schools."""
    text = resources.files("admission.reference").joinpath("schools.csv").read_text("utf-8")
    found = [(r["bin"], r["locality"]) for r in csv.DictReader(text.splitlines()) if r["region_slug"] == region]
    if not found:
        raise UnknownRegion(region=region)
    return found


def generate(
    region: str,
    children: int,
    out: Path,
    *,
    as_of: dt.date,
    seed: int = 1,
    bad_rows: int = 0,
) -> GeneratedExtracts:
    """Write ``persons.csv``, ``bbazh.csv``, ``attendance.csv``, ``territories.csv`` and
    ``contingent.csv`` (who is enrolled where, a stand-in for ҰБДҚ) for ``children`` children to ``out``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    out.mkdir(parents=True, exist_ok=True)
    schools = region_schools(region)
    by_locality: dict[str, list[str]] = defaultdict(list)
    for school_bin, locality in schools:
        by_locality[locality].append(school_bin)
    districts: dict[str, list[tuple[str, str]]] = {}
    territory_rows: list[tuple[str, str, str]] = []
    for locality, bins in by_locality.items():
        areas = [(f"{n}-шағын аудан", bins[(n - 1) % len(bins)]) for n in range(1, 2 * len(bins) + 1)]
        districts[locality] = areas
        territory_rows.extend((school_bin, locality, district) for district, school_bin in areas)
    localities = list(districts)
    preschools = [_org_bin(rng, "1") for _ in range(max(4, children // 150))]
    colleges = [_org_bin(rng, "2") for _ in range(max(2, children // 5000))]
    sep1 = school_year_start(as_of)
    month = as_of.replace(day=1)
    serials: dict[tuple[dt.date, bool], int] = defaultdict(int)
    counts = {"persons": 0, "bbazh": 0, "attendance": 0, "contingent": 0}
    names = (out / "persons.csv", out / "bbazh.csv", out / "attendance.csv", out / "contingent.csv")
    with (
        names[0].open("w", encoding="utf-8-sig", newline="") as pf,
        names[1].open("w", encoding="utf-8-sig", newline="") as bf,
        names[2].open("w", encoding="utf-8-sig", newline="") as af,
        names[3].open("w", encoding="utf-8-sig", newline="") as cf,
    ):
        persons, bbazh, attendance, contingent = (csv.writer(f, delimiter=DELIMITER) for f in (pf, bf, af, cf))
        persons.writerow(PERSONS_COLUMNS)
        bbazh.writerow(BBAZH_COLUMNS)
        attendance.writerow(ATTENDANCE_COLUMNS)
        contingent.writerow(CONTINGENT_COLUMNS)
        span = (as_of - as_of.replace(year=as_of.year - 18)).days - 1
        for _ in range(children):
            born = as_of - dt.timedelta(days=rng.randint(0, span))
            male = rng.random() < 0.51
            key = (born, male)
            iin = make_iin(born, male, serials[key])
            serials[key] = int(iin[7:11]) + 1
            surname = rng.choice(_SURNAMES)
            given = rng.choice(_MALE if male else _FEMALE)
            father = rng.choice(_MALE)
            if not male:
                surname = _female(surname)
            patronymic = f"{father}{'ұлы' if male else 'қызы'}" if rng.random() < 0.6 else ""
            dmy = born.strftime("%d.%m.%Y")
            locality = rng.choice(localities)
            district, _school = rng.choice(districts[locality])
            roll = rng.random()
            citizenship = "KZ" if roll > 0.018 else ("XXA" if roll < 0.003 else rng.choice(_FOREIGN))
            if rng.random() < 0.99:
                persons.writerow((
                    iin, surname, given, patronymic, dmy, "M" if male else "F", citizenship,
                    "1" if rng.random() < 0.02 else "0", locality, district,
                    f"{locality}, {district}, {rng.randint(1, 60)}-үй, {rng.randint(1, 200)}-пәтер",
                    "1" if rng.random() < 0.88 else "0",
                ))  # fmt: skip
                counts["persons"] += 1
            age_sep1 = sep1.year - born.year - ((born.month, born.day) > (sep1.month, sep1.day))
            place = rng.random()
            org: tuple[str, str, str, str, str] | None = None
            if age_sep1 < 6:
                if age_sep1 >= 1 and place < 0.65:
                    private = rng.random() < 0.12
                    org = (rng.choice(preschools), "Балабақша", "preschool", "private" if private else "state", "")
            elif place < 0.004:
                bbazh.writerow((iin, surname, given, patronymic, dmy, "", "", "", "", "", "1"))
                counts["bbazh"] += 1
            elif (age_sep1 <= 15 and place < 0.96) or (age_sep1 > 15 and place < 0.65):
                school_bin, _ = rng.choice(schools)
                grade = str(min(11, max(1, age_sep1 - 5)))
                private = rng.random() < 0.06
                org = (school_bin, "Мектеп", "school", "private" if private else "state", grade)
                if rng.random() < 0.98:
                    contingent.writerow((iin, school_bin, grade, "kk" if rng.random() < 0.7 else "ru"))
                    counts["contingent"] += 1
                if rng.random() < 0.02:
                    attendance.writerow((iin, school_bin, month.strftime("%Y-%m"), rng.randint(1, 25)))
                    counts["attendance"] += 1
            elif age_sep1 > 15 and place < 0.93:
                org = (rng.choice(colleges), "Колледж", "tvet", "private" if rng.random() < 0.1 else "state", "")
            if org is not None:
                org_surname = f"{surname}-{rng.choice(_SURNAMES)}" if rng.random() < 0.001 else surname
                bbazh.writerow((iin, org_surname, given, patronymic, dmy, *org, "0"))
                counts["bbazh"] += 1
        for n in range(bad_rows):
            kind = n % 6
            born = as_of - dt.timedelta(days=rng.randint(400, 4000))
            iin = make_iin(born, True, 9000 + n)
            dmy = born.strftime("%d.%m.%Y")
            if kind == 0:  # wrong check digit
                iin = iin[:11] + str((int(iin[11]) + 1) % 10)
            elif kind == 1:  # a field missing
                persons.writerow((iin, "Қате", "Жол", "", dmy, "M", "KZ", "0", localities[0], "", ""))
                continue
            elif kind == 2:  # no such date
                dmy = "31.02." + str(born.year)
            elif kind == 3:  # the birth date is not the ИИН's
                dmy = (born + dt.timedelta(days=1)).strftime("%d.%m.%Y")
            elif kind == 4:  # an adult
                born = as_of.replace(year=as_of.year - 19)
                iin = make_iin(born, True, 9000 + n)
                dmy = born.strftime("%d.%m.%Y")
            persons.writerow((iin, "Қате", "Жол", "", dmy, "M", "KZ", "0", localities[0], "", "", "1"))
            if kind == 5:  # the same ИИН twice
                persons.writerow((iin, "Қате", "Жол", "", dmy, "M", "KZ", "0", localities[0], "", "", "1"))
    with (out / "territories.csv").open("w", encoding="utf-8-sig", newline="") as tf:
        writer = csv.writer(tf, delimiter=DELIMITER)
        writer.writerow(TERRITORY_COLUMNS)
        writer.writerows(territory_rows)
    return GeneratedExtracts(
        persons=counts["persons"],
        bbazh=counts["bbazh"],
        attendance=counts["attendance"],
        contingent=counts["contingent"],
        territories=len(territory_rows),
        bad_rows=bad_rows,
    )


class LoadedContingent(msgspec.Struct, frozen=True, kw_only=True):
    rows: int
    enrolled: int
    """Children newly enrolled; those already enrolled somewhere keep their enrolment."""


async def load_contingent(conn: Connection, path: Path, *, since: dt.date) -> LoadedContingent:
    """Enrol the children of a generated ``contingent.csv`` in the contingent store (a stand-in for ҰБДҚ).

    For demos and dry runs only: a real contingent store is fed by the outbox.  A child with a
    current enrolment keeps it, so loading the same file twice enrols nobody twice.
    """
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=DELIMITER)
        header = tuple(next(reader, ()))
        if header != CONTINGENT_COLUMNS:
            raise InvalidInput(f"{path.name}: the header must be {';'.join(CONTINGENT_COLUMNS)}")
        rows = [(iin, school_bin, int(grade), language) for iin, school_bin, grade, language in reader]
    if not rows:
        return LoadedContingent(rows=0, enrolled=0)
    async with conn.transaction():
        enrolled = await conn.fetchval(QUERIES["load_demo_contingent"], *map(list, zip(*rows, strict=True)), since)
    return LoadedContingent(rows=len(rows), enrolled=int(enrolled or 0))

"""Many grade-1 class sets at once, from a CSV: previewed, then applied all or nothing.

The file is ``school_bin;language;classes;seats_per_class`` (``;`` or ``,``
between fields, a header row, UTF-8 with or without a byte-order mark), one
row per school and language of instruction.  Every row goes through the same
:func:`admission.applications.admin.set_classes` as the API's
``PUT /v1/admin/schools/{bin}/classes/1/{language}`` (scope, sanitary limits,
never below the seats taken, audited).  All rows run in one transaction: a
preview rolls it back, an apply commits it only when no row failed, so a bad
row leaves every class set as it was.
"""

from __future__ import annotations

import csv
import io
from typing import get_args

import msgspec

from admission.applications.admin import set_classes
from admission.applications.models import TeachingLanguage
from admission.db import QUERIES, Connection
from admission.errors import KezekError, Language
from admission.signing_keys import AdminPrincipal

COLUMNS = ("school_bin", "language", "classes", "seats_per_class")
MAX_ROWS = 5000
_PROBLEMS: dict[str, dict[Language, str]] = {
    "header": {
        "kk": "Тақырып жолы мынадай болуы керек: school_bin;language;classes;seats_per_class",
        "ru": "Строка заголовка должна быть: school_bin;language;classes;seats_per_class",
        "en": "The header row must be: school_bin;language;classes;seats_per_class",
    },
    "fields": {
        "kk": "4 өріс қажет.",
        "ru": "Нужно 4 поля.",
        "en": "4 fields are needed.",
    },
    "number": {
        "kk": "Сыныптар мен орындар саны бүтін сан болуы керек.",
        "ru": "Число классов и мест должно быть целым числом.",
        "en": "Classes and seats must be whole numbers.",
    },
    "language": {
        "kk": "Оқыту тілі белгісіз (kk, ru, en, uz, ug, tg).",
        "ru": "Неизвестный язык обучения (kk, ru, en, uz, ug, tg).",
        "en": "Unknown language of instruction (kk, ru, en, uz, ug, tg).",
    },
    "too_many": {
        "kk": f"Бір файлда {MAX_ROWS} жолдан артық болмауы керек.",
        "ru": f"Не больше {MAX_ROWS} строк в одном файле.",
        "en": f"At most {MAX_ROWS} rows in one file.",
    },
    "twice": {
        "kk": "Бұл мектеп пен тіл файлда бұрын да бар.",
        "ru": "Эта школа и язык уже были в файле выше.",
        "en": "This school and language appear earlier in the file.",
    },
}


class CapacityRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the file as given, and what it would do (or why it cannot)."""

    line: int
    school_bin: str
    language: str
    classes: int | None = None
    seats_per_class: int | None = None
    old_capacity: int | None = None
    """The class set's capacity before (None: the school had no class set in that language)."""
    new_capacity: int | None = None
    error: dict[Language, str] | None = None
    """Why the row cannot be applied, in each language (None when it can)."""


class CapacityUpload(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[CapacityRow]
    applied: bool
    """True when the class sets were changed (an apply without a bad row)."""

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows if row.error is not None)


def _problem(key: str) -> dict[Language, str]:
    return _PROBLEMS[key]


def _from_error(exc: KezekError) -> dict[Language, str]:
    detail = f" ({exc.detail})" if exc.detail else ""
    return {language: exc.message(language) + detail for language in get_args(Language)}


def parse(text: str) -> tuple[list[CapacityRow], dict[Language, str] | None]:
    """The rows of a capacity CSV, each with its parse error if any; or a whole-file problem."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != COLUMNS:
        return [], _problem("header")
    rows: list[CapacityRow] = []
    seen: set[tuple[str, str]] = set()
    for fields in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in fields):
            continue
        if len(rows) >= MAX_ROWS:
            return [], _problem("too_many")
        if len(fields) != len(COLUMNS):
            rows.append(CapacityRow(line=line, school_bin=fields[0].strip(), language="", error=_problem("fields")))
            continue
        school_bin, language, classes, seats = (cell.strip() for cell in fields)
        row = CapacityRow(line=line, school_bin=school_bin, language=language)
        if language not in get_args(TeachingLanguage):
            rows.append(msgspec.structs.replace(row, error=_problem("language")))
        elif not (classes.isdigit() and seats.isdigit()):
            rows.append(msgspec.structs.replace(row, error=_problem("number")))
        elif (school_bin, language) in seen:
            rows.append(msgspec.structs.replace(row, error=_problem("twice")))
        else:
            rows.append(msgspec.structs.replace(row, classes=int(classes), seats_per_class=int(seats)))
        seen.add((school_bin, language))
    return rows, None


async def upload(conn: Connection, admin: AdminPrincipal, rows: list[CapacityRow], *, apply: bool) -> CapacityUpload:
    """Run every row through ``set_classes`` in one transaction; commit only for ``apply`` with no bad row."""
    judged: list[CapacityRow] = []
    transaction = conn.transaction()
    await transaction.start()
    try:
        for row in rows:
            if row.error is not None or row.classes is None or row.seats_per_class is None:
                judged.append(row)
                continue
            old = await conn.fetchrow(QUERIES["get_school_class"], row.school_bin, 1, row.language)
            old_capacity = None if old is None else old["classes"] * old["seats_per_class"]
            try:
                done = await set_classes(
                    conn,
                    admin,
                    row.school_bin,
                    1,
                    row.language,  # type: ignore[arg-type]  # checked by parse()
                    classes=row.classes,
                    seats_per_class=row.seats_per_class,
                )
            except KezekError as exc:
                judged.append(msgspec.structs.replace(row, old_capacity=old_capacity, error=_from_error(exc)))
            else:
                judged.append(msgspec.structs.replace(row, old_capacity=old_capacity, new_capacity=done.capacity))
    except BaseException:
        await transaction.rollback()
        raise
    applied = apply and all(row.error is None for row in judged)
    if applied:
        await transaction.commit()
    else:
        await transaction.rollback()
    return CapacityUpload(rows=judged, applied=applied)

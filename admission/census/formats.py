"""The census files: two extracts, the attendance feed and the service territories.

All are CSV as the source systems export them for spreadsheets in
Kazakhstan: UTF-8 (a byte-order mark is allowed), ``;`` between fields,
``"`` quoting, one header row with the column codes below (case and
surrounding spaces ignored), dates ``DD.MM.YYYY``.  The README documents each
column.  Rows are never judged in Python: they are read as text, numbered by
line and judged set-based in PostgreSQL (``admission/sql/census.sql``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

from admission.census.errors import BadExtractFile

DELIMITER = ";"

# МО АЖ: the persons register (Ministry of Justice "Individuals" database,
# kandas status from the Ministry of Labour's system), one row per child.
PERSONS_COLUMNS = (
    "iin", "surname", "name", "patronymic", "birth_date", "sex", "citizenship", "kandas",
    "locality", "district", "address", "registered",
)  # fmt: skip

# ББАЖ: the education system, one row per child and the organisation attended.
BBAZH_COLUMNS = (
    "iin", "surname", "name", "patronymic", "birth_date", "org_bin", "org_name", "org_kind",
    "ownership", "grade", "health_exempt",
)  # fmt: skip

# Schools' monthly attendance feed: unexcused calendar days missed.
ATTENDANCE_COLUMNS = ("iin", "org_bin", "month", "days_missed")

# Service territories set by the local authority: school → locality (→ district).
TERRITORY_COLUMNS = ("school_bin", "locality", "district")


def parse_month(value: str | None) -> dt.date | None:
    """A month as operators and admins write it, ``YYYY-MM`` (a census quarter, an attendance
    feed's month), as its first day; ``None`` (not given) stays ``None``.  ValueError names a
    value that is not ``YYYY-MM``: the API and the command line each say so in their own way."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise ValueError(f"{value!r} is not YYYY-MM") from exc


# NUL, and the delimiter and quote of the raw COPY (a file holding them is parsed in Python).
CONTROL_BYTES = (b"\x00", b"\x01", b"\x02")


def check_header(path: Path, columns: tuple[str, ...]) -> None:
    """BadExtractFile unless the first line of ``path`` names ``columns``."""
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8", "replace")
    names = tuple(
        h.strip().lstrip("\ufeff").strip().lower() for h in next(csv.reader([first], delimiter=DELIMITER), [])
    )
    if names != columns:
        raise BadExtractFile(
            f"{path.name}: the header must be {DELIMITER.join(columns)}", file=path.name, expected=list(columns)
        )


RawLine = tuple[int, str, bool]


def read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """``(line, fields)`` of a small file (the territories), header checked; blank lines skipped."""
    check_header(path, columns)
    text = path.read_text("utf-8-sig")
    reader = csv.reader(text.splitlines()[1:], delimiter=DELIMITER)
    return [(number, row) for number, row in enumerate(reader, start=2) if row]


def read_lines(
    path: Path, chunk_rows: int = 50_000, progress: Callable[[int], None] | None = None
) -> Iterator[list[RawLine]]:
    """Chunks of ``(line number, text, garbled)`` for every line after the header (the slow path).

    For a file PostgreSQL's COPY refused (see ``importer._copy``):
    undecodable bytes become U+FFFD and NULs are replaced, and the line is
    marked ``garbled`` so the checks reject it with its line number.
    """
    chunk: list[RawLine] = []
    reported = 0
    read = 0
    with path.open("rb") as handle:
        handle.readline()  # the header, checked by check_header
        for number, raw in enumerate(handle, start=2):
            read += len(raw)
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            garbled = "\ufffd" in text or "\x00" in text
            chunk.append((number, text.replace("\x00", "\ufffd") if garbled else text, garbled))
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
                if progress is not None:
                    progress(read - reported)
                    reported = read
    if chunk:
        yield chunk
    if progress is not None:
        progress(read - reported)

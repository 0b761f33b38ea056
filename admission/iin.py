"""ИИН/ЖСН (12-digit individual or business identification number).

Digits 1-6 are the birth date YYMMDD, digit 7 the century and sex
(1/2: 1800s, 3/4: 1900s, 5/6: 2000s; odd = male), digits 8-11 a serial and
digit 12 the check digit: weights 1..11 over digits 1-11, sum mod 11; when
that is 10, weights 3,4,5,6,7,8,9,10,11,1,2; when still 10 the number is
invalid.  A БСН (business number) uses the same check digit.
"""

from __future__ import annotations

import datetime as dt

from admission.errors import InvalidIin

_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_CENTURY = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


def check_digit(first11: str) -> int | None:
    """The 12th digit for ``first11``, or None when no digit makes the number valid."""
    digits = [int(c) for c in first11]
    value = sum(w * d for w, d in zip(_W1, digits, strict=True)) % 11
    if value == 10:
        value = sum(w * d for w, d in zip(_W2, digits, strict=True)) % 11
        if value == 10:
            return None
    return value


def has_valid_check_digit(number: str) -> bool:
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        return False
    return check_digit(number[:11]) == int(number[11])


def birth_date(iin: str) -> dt.date:
    """The birth date an individual's ИИН encodes; InvalidIin when it encodes none."""
    century = _CENTURY.get(iin[6:7])
    if century is None:
        raise InvalidIin(iin=iin)
    try:
        return dt.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError as exc:
        raise InvalidIin(iin=iin) from exc


def validate_iin(value: str) -> str:
    """``value`` when it is a valid individual ИИН (format, date, century, check digit)."""
    if not has_valid_check_digit(value):
        raise InvalidIin(iin=value)
    birth_date(value)
    return value


def make_iin(born: dt.date, male: bool, serial: int) -> str:
    """A valid ИИН for ``born``: the first serial at or after ``serial`` with a check digit.

    For demo data, tests and load generators.
    """
    century_digit = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100] + (0 if male else 1)
    for offset in range(10_000):
        first11 = f"{born:%y%m%d}{century_digit}{(serial + offset) % 10_000:04d}"
        digit = check_digit(first11)
        if digit is not None:
            return first11 + str(digit)
    raise ValueError("no valid ИИН for that date")  # unreachable: most serials are valid

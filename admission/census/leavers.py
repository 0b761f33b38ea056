"""Where the leavers of basic secondary education went (order No. 324, paras 14.8-14.13).

Para 14.8: by 20 September each school reports where its grade-9 (10) leavers
continue.  Para 14.13: the head of the admitting organisation sends the
leaving school a confirmation with its outgoing number and date and the
admission order's number and date, and it is accepted only when it carries
all four.  Paras 14.9-14.11: a leaver who continues nowhere is reported to the
local education office and the police, and counted as not studying.

A leaver is a pupil whose enrolment in the final grade of basic secondary
education (``Readings.basic_secondary_final_grade``) at the school ended in
the school year that closed, up to 20 September (the contingent store records
no promotions: a pupil who stays for grade 10 has not left).  Each leaver is

- ``confirmed``: the admitting organisation's confirmation is recorded (a
  college, another school);
- ``enrolled``: no confirmation yet, but the contingent store shows a
  current enrolment at another school on 20 September (its admission order is
  known; the confirmation letter is still owed);
- ``not_continuing``: neither (paras 14.9-14.11).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from admission import audit
from admission.bodies import Body
from admission.census.errors import NotALeaver
from admission.db import QUERIES, Connection, from_row
from admission.iin import validate_iin
from admission.readings import DEFAULT_READINGS, Readings
from admission.reference import school_region
from admission.signing_keys import AdminPrincipal

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LeaverStatus = Literal["confirmed", "enrolled", "not_continuing"]


class Confirmation(Body, frozen=True, kw_only=True):
    """The admitting organisation's confirmation (para 14.13): all four numbers and dates are required."""

    to_org_bin: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]
    to_org_name: Text
    confirmation_number: Text
    """The confirmation's outgoing number."""
    confirmation_date: dt.date
    order_number: Text
    """The admitting organisation's admission order."""
    order_date: dt.date


class Leaver(msgspec.Struct, frozen=True, kw_only=True):
    child_iin: str
    left_on: dt.date
    end_reason: str
    status: LeaverStatus
    confirmation: Confirmation | None
    enrolled_school_bin: str | None
    enrolled_order_number: str | None
    enrolled_order_date: dt.date | None


def census_day(year: int) -> dt.date:
    """Para 14.8: the day the leavers' destinations are reported as of."""
    return dt.date(year, 9, 20)


async def record_confirmation(
    conn: Connection,
    admin: AdminPrincipal,
    school_bin: str,
    child_iin: str,
    confirmation: Confirmation,
    now: dt.datetime,
) -> Confirmation:
    """The leaving school records the confirmation it received (its admins, its region's, the ministry); audited."""
    validate_iin(child_iin)
    region = await school_region(conn, school_bin)
    admin.require_school(school_bin, region)
    async with conn.transaction():
        if not await conn.fetchval(QUERIES["census_was_pupil_of"], child_iin, school_bin):
            raise NotALeaver()
        old = await conn.fetchrow(QUERIES["census_get_leaver_confirmation"], school_bin, child_iin)
        c = confirmation
        await conn.execute(
            QUERIES["census_put_leaver_confirmation"],
            child_iin,
            school_bin,
            c.to_org_bin,
            c.to_org_name.strip(),
            c.confirmation_number.strip(),
            c.confirmation_date,
            c.order_number.strip(),
            c.order_date,
            now,
            admin.subject,
        )
        await audit.record(
            conn,
            admin,
            "census.leaver_confirmation",
            f"school:{school_bin}/child:{child_iin}",
            region=region,
            old=None if old is None else msgspec.to_builtins(dict(old)),
            new=msgspec.to_builtins(confirmation),
        )
    return confirmation


async def leavers(
    conn: Connection, admin: AdminPrincipal, school_bin: str, year: int, readings: Readings = DEFAULT_READINGS
) -> list[Leaver]:
    """The school's leavers of the school year ending in ``year``, as of 20 September ``year`` (para 14.8)."""
    region = await school_region(conn, school_bin)
    admin.require_school(school_bin, region)
    rows = await conn.fetch(
        QUERIES["census_leavers"],
        school_bin,
        readings.basic_secondary_final_grade,
        dt.date(year - 1, 9, 1),
        census_day(year),
    )
    found = []
    for r in rows:
        confirmation = from_row(Confirmation, r) if r["confirmation_number"] is not None else None
        status: LeaverStatus = (
            "confirmed" if confirmation else "enrolled" if r["enrolled_school_bin"] else "not_continuing"
        )
        found.append(
            Leaver(
                child_iin=r["child_iin"],
                left_on=r["left_on"],
                end_reason=r["end_reason"],
                status=status,
                confirmation=confirmation,
                enrolled_school_bin=r["enrolled_school_bin"],
                enrolled_order_number=r["enrolled_order_number"],
                enrolled_order_date=r["enrolled_order_date"],
            )
        )
    return found

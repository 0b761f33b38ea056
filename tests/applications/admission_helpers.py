"""Helpers of the admission tests: test schools, children, access tokens, filing, the outbox drained.

The fixtures (``schools``, ``claims``) are in this folder's ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time

import asyncpg
import msgspec
import redis.asyncio as aioredis

from admission.access import AccessClaims, mint_access_token, verify_access_token
from admission.applications import AgeRule, ApplicationRequest, Filed, file_application
from admission.iin import make_iin
from admission.signing_keys import KeySet
from admission.waiting_room import Place, WaitingRoom
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.tickets import derive_ticket_secret

REGION = "astana"
SCHOOL = "990000000017"  # a test school in Astana: kk 1 class of 27 seats, 3 of them held for its roster
OTHER_SCHOOL = "990000000025"  # another Astana school: kk 2 × 20, ru 1 × 20
ABAI_SCHOOL = "990000000033"  # a school in another region
GENERAL_SEATS = 24
ROSTER_SIZE = 3
APPLICANT = make_iin(dt.date(1990, 4, 12), False, 100)
NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)  # inside Astana's annex-2 window (27 May - 31 Aug)
AGE_RULE = AgeRule()

_serials = itertools.count(1)


def child_iin(born: dt.date = dt.date(2020, 3, 1)) -> str:
    """A fresh valid ИИН of a child born on ``born`` (6 on 1 September 2026 by default)."""
    while True:
        iin = make_iin(born, male=True, serial=next(_serials) * 3)
        if iin not in _seen:
            _seen.add(iin)
            return iin


_seen: set[str] = set()
ROSTER = [child_iin(dt.date(2020, 5, day)) for day in (1, 2, 3)]


def access(keys: KeySet, applicant: str = APPLICANT, region: str = REGION) -> AccessClaims:
    return verify_access_token(keys, access_token(keys, applicant, region), region)


def access_token(
    keys: KeySet, applicant: str = APPLICANT, region: str = REGION, *, ttl: dt.timedelta = dt.timedelta(minutes=15)
) -> str:
    return mint_access_token(keys, region, applicant, ttl)


async def slot_token(
    redis: aioredis.Redis, keys: KeySet, applicant: str = APPLICANT, region: str = REGION, *, ticket_secret: str = ""
) -> str:
    """An access token backed by a fresh waiting-room slot (the slot is the right to file: 3 children).

    Opens the room's window in Redis around the real clock and takes a slot as the room gives it.
    """
    now = dt.datetime.now(dt.UTC)
    room = WaitingRoom(redis)
    await room.ensure(region, now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
    ref = ApplicantRefs(derive_ticket_secret(ticket_secret, keys.raw_private)).ref(applicant)
    place = await room.join(region, ref, now)
    if isinstance(place, Place) and place.status == "admitted":  # a fresh slot, not one already used
        await room.release(region, ref, place.jti, now)
        place = await room.join(region, ref, now)
    assert isinstance(place, Place)
    assert place.status == "admitted", place
    return mint_access_token(keys, region, applicant, dt.timedelta(minutes=15), jti=place.jti, now=now)


def form(child: str, *, school: str = SCHOOL, language: str = "kk", consent: bool = True, applicant: str = APPLICANT):
    return msgspec.convert(
        {
            "applicant_iin": applicant,
            "child_iin": child,
            "school_bin": school,
            "language": language,
            "consent": consent,
        },
        ApplicationRequest,
    )


async def apply(
    pool: asyncpg.Pool,
    claims: AccessClaims,
    child: str,
    *,
    now: dt.datetime = NOW,
    **kwargs: object,
) -> Filed:
    async with pool.acquire() as conn:
        kwargs.setdefault("applicant", claims.applicant_iin)
        return await file_application(conn, form(child, **kwargs), claims=claims, age_rule=AGE_RULE, now=now)


async def seat_counters(pool: asyncpg.Pool, school: str = SCHOOL, language: str = "kk") -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT classes * seats_per_class AS capacity, roster_held, roster_taken, general_taken FROM school_classes"
        " WHERE school_bin = $1 AND grade = 1 AND language = $2",
        school,
        language,
    )
    assert row is not None
    return row


async def until_delivered(pool: asyncpg.Pool, seconds: float) -> None:
    """Returns once every outbox event is delivered, or after ``seconds`` (the caller's checks say what is missing)."""
    deadline = time.monotonic() + seconds
    while await pool.fetchval("SELECT count(*) FROM contingent_outbox WHERE delivered_at IS NULL"):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.02)

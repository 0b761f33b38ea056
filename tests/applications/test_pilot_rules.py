"""Grade-1 rules as the pilot order (seed 004) writes them: roster children (para 4) and the age assumption."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg
import msgspec
import pytest
from admission_helpers import (
    NOW,
    OTHER_SCHOOL,
    apply,
    child_iin,
    form,
    seat_counters,
)
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission import reference
from admission.access import AccessClaims
from admission.applications import AgeRule, Filed, file_application, get_application, withdraw
from admission.applications.models import NotWithdrawable
from admission.readings import Readings
from admission.signing_keys import KeySet, mint_admin_token
from queue_service.settings import Settings

pytestmark = pytest.mark.usefixtures("schools")


async def _file(
    pool: asyncpg.Pool,
    claims: AccessClaims,
    child: str,
    *,
    rule: AgeRule | None = None,
    readings: Readings | None = None,
    **kwargs: object,
) -> Filed:
    name = kwargs.pop("applicant_full_name", None)
    request = form(child, applicant=claims.applicant_iin, **kwargs)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        return await file_application(
            conn,
            msgspec.structs.replace(request, applicant_full_name=name),
            claims=claims,
            age_rule=rule or AgeRule(),
            now=NOW,
            readings=readings or Readings(),
        )


async def _on_roster(pool: asyncpg.Pool, child: str, school: str = OTHER_SCHOOL, language: str = "kk") -> None:
    await pool.execute(
        "INSERT INTO preschool_roster (school_bin, child_iin, language) VALUES ($1, $2, $3)", school, child, language
    )


async def _roster_child_asking_for_a_full_language(pool: asyncpg.Pool) -> str:
    """A kk roster child of OTHER_SCHOOL, whose ru class sets are full on the general basis."""
    child = child_iin()
    await _on_roster(pool, child, language="kk")
    await pool.execute(
        "UPDATE school_classes SET general_taken = classes * seats_per_class"
        " WHERE school_bin = $1 AND grade = 1 AND language = 'ru'",
        OTHER_SCHOOL,
    )
    return child


@pytest.mark.parametrize(
    ("born", "status"),
    [
        (dt.date(2020, 12, 31), "accepted"),  # turns six on the last day of 2026
        (dt.date(2020, 9, 2), "accepted"),  # six after 1 September: admitted (the old rule refused a third of a cohort)
        (dt.date(2021, 1, 1), "refused"),  # turns six in 2027
        (dt.date(2016, 5, 1), "accepted"),  # ten: no act states an upper limit
    ],
)
async def test_assumption_grade1_age_turns_six_in_the_calendar_year_without_upper_limit(
    db_pool: asyncpg.Pool, claims: AccessClaims, born: dt.date, status: str
) -> None:
    filed = await apply(db_pool, claims, child_iin(born))
    assert filed.application.status == status
    if status == "refused":
        assert filed.application.refusal is not None
        assert (filed.application.refusal.ground, filed.application.refusal.code) == (2, "age_out_of_range")


async def test_assumption_grade1_age_is_a_setting_the_old_reading_included(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    settings = Settings.from_env({"KEZEK_ADMISSION_AGE_REACHED_BY": "09-01", "KEZEK_ADMISSION_MAX_AGE": "9"})
    rule = settings.age_rule()
    assert rule == AgeRule(min_years=6, reached_by="09-01", max_years=9)
    assert Settings.from_env({}).age_rule() == AgeRule()  # 6 in the calendar year, no upper limit
    late = await _file(db_pool, claims, child_iin(dt.date(2020, 9, 2)), rule=rule)
    nine = await _file(db_pool, claims, child_iin(dt.date(2017, 9, 1)), rule=rule)
    eight = await _file(db_pool, claims, child_iin(dt.date(2017, 9, 2)), rule=rule)
    assert [late.application.status, nine.application.status, eight.application.status] == [
        "refused",
        "refused",
        "accepted",
    ]


async def test_pilot_para_4_roster_child_is_admitted_without_an_age_check(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    young = child_iin(dt.date(2021, 4, 1))  # turns six only in 2027: refused on the general basis
    general = await _file(db_pool, claims, child_iin(dt.date(2021, 4, 1)), school=OTHER_SCHOOL)
    assert general.application.status == "refused"
    await _on_roster(db_pool, young)
    filed = await _file(db_pool, claims, young, school=OTHER_SCHOOL)
    assert (filed.application.status, filed.application.priority) == ("accepted", True)


async def test_pilot_para_4_roster_child_in_another_language_takes_its_held_seat_there(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    child = child_iin()
    await _on_roster(db_pool, child, language="kk")
    assert (await seat_counters(db_pool, OTHER_SCHOOL, "kk"))["roster_held"] == 1
    filed = await _file(db_pool, claims, child, school=OTHER_SCHOOL, language="ru")
    app = filed.application
    assert (app.status, app.priority, app.language) == ("accepted", True, "ru")
    kk, ru = [await seat_counters(db_pool, OTHER_SCHOOL, lang) for lang in ("kk", "ru")]
    # The held seat moved with the child: kk has it back for the general basis, ru counts it as taken.
    assert (kk["roster_held"], ru["roster_held"], ru["roster_taken"], ru["general_taken"]) == (0, 1, 1, 0)


async def test_pilot_para_4_roster_child_is_never_refused_while_its_seat_is_held(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    """The asked language is full (sanitary limit): admitted on the held seat, in the roster's language."""
    child = await _roster_child_asking_for_a_full_language(db_pool)
    general = await _file(db_pool, claims, child_iin(), school=OTHER_SCHOOL, language="ru")
    assert general.application.status == "refused"  # the general basis: ru is full
    filed = await _file(db_pool, claims, child, school=OTHER_SCHOOL, language="ru")
    assert (filed.application.status, filed.application.priority, filed.application.language) == (
        "accepted",
        True,
        "kk",
    )
    assert (await seat_counters(db_pool, OTHER_SCHOOL, "kk"))["roster_taken"] == 1


async def test_pilot_para_4_roster_language_full_refuse_is_the_other_reading(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    child = await _roster_child_asking_for_a_full_language(db_pool)
    readings = Settings.from_env({"KEZEK_ROSTER_LANGUAGE_FULL": "refuse"}).readings()
    filed = await _file(db_pool, claims, child, school=OTHER_SCHOOL, language="ru", readings=readings)
    assert filed.application.refusal is not None
    assert (filed.application.refusal.ground, filed.application.refusal.code) == (7, "class_full")
    assert (await seat_counters(db_pool, OTHER_SCHOOL, "kk"))["roster_held"] == 1  # still held for the child


async def test_annex_2_receipt_of_a_grade1_refusal_has_the_form_fields(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    """Model rules annex 2 form (cited by pilot para 3.2): name, ИИН, application date, reason and legal basis."""
    filed = await _file(db_pool, claims, child_iin(), consent=False, applicant_full_name="Серікбаева Айгүл Маратқызы")
    refusal = filed.application.refusal
    assert refusal is not None
    receipt = refusal.receipt
    assert (receipt.applicant_full_name, receipt.applicant_iin) == ("Серікбаева Айгүл Маратқызы", claims.applicant_iin)
    assert receipt.application_date == NOW.date()
    assert (receipt.ground, receipt.copies, receipt.automatic) == (6, 2, True)
    assert "ground 6" in receipt.legal_basis
    assert "art. 19-1" in receipt.legal_basis
    # Read again later with its token: the same receipt, from what was stored.
    async with db_pool.acquire() as conn:
        again = await get_application(conn, filed.application.id, filed.withdraw_token)
    assert again.refusal is not None
    assert again.refusal.receipt == receipt
    full = await _file(db_pool, claims, child_iin(), school=OTHER_SCHOOL, applicant_full_name="Ерланов Марат")
    assert full.application.status == "accepted"


def _window(opens: str, closes: str, reason: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"opens_at": opens, "closes_at": closes}
    if reason is not None:
        body["reason"] = reason
    return body


async def test_pilot_para_7_a_region_may_only_narrow_its_window_inside_annex_2(
    client: AsyncTestClient[Litestar], keys: KeySet, db_pool: asyncpg.Pool
) -> None:
    region = {"Authorization": f"Bearer {mint_admin_token(keys, 'astana-office', 'region', region='astana')}"}
    url = "/v1/admin/regions/astana/window"
    narrowed = await client.put(
        url, json=_window("2026-06-01T00:00:00+05:00", "2026-08-20T00:00:00+05:00"), headers=region
    )
    assert narrowed.status_code == 200, narrowed.text
    for early_or_late in (
        _window("2026-05-26T23:59:00+05:00", "2026-08-20T00:00:00+05:00"),  # before Astana's 27 May
        _window("2026-06-01T00:00:00+05:00", "2026-09-01T00:00:01+05:00"),  # past 31 August
        _window("2026-06-01T00:00:00+05:00", "2026-09-10T00:00:00+05:00", reason="we want more time"),
    ):
        refused = await client.put(url, json=early_or_late, headers=region)
        assert (refused.status_code, refused.json()["code"]) == (403, "window_outside_schedule"), refused.text
    # The end of 31 August (00:00 on 1 September, UTC+5) is still inside annex 2.
    whole = await client.put(
        url, json=_window("2026-05-27T00:00:00+05:00", "2026-09-01T00:00:00+05:00"), headers=region
    )
    assert whole.status_code == 200, whole.text


async def test_pilot_para_7_only_the_ministry_moves_a_window_outside_annex_2_with_a_reason_audited(
    client: AsyncTestClient[Litestar], keys: KeySet, db_pool: asyncpg.Pool
) -> None:
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    url = "/v1/admin/regions/astana/window"
    later = _window("2026-06-01T00:00:00+05:00", "2026-09-15T00:00:00+05:00")
    no_reason = await client.put(url, json=later, headers=ministry)
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "window_reason_required"), no_reason.text
    blank = await client.put(url, json={**later, "reason": "  "}, headers=ministry)
    assert blank.json()["code"] == "window_reason_required"
    reason = "order No. 99 of the minister: flood in the region"
    moved = await client.put(url, json={**later, "reason": reason}, headers=ministry)
    assert moved.status_code == 200, moved.text
    entry = await db_pool.fetchrow(
        "SELECT actor, new_value AS new FROM audit_log WHERE action = 'region.window' ORDER BY id DESC LIMIT 1"
    )
    assert entry is not None
    new = json.loads(entry["new"]) if isinstance(entry["new"], str) else entry["new"]
    assert (entry["actor"], new["outside_annex_2"], new["reason"]) == ("minister", True, reason)


ANNEX_2 = {
    "2026-05-27": {"astana", "abai", "zhetisu", "kyzylorda", "west-kazakhstan"},
    "2026-06-10": {"almaty-city", "akmola", "aktobe", "zhambyl", "east-kazakhstan"},
    "2026-06-18": {"almaty-region", "kostanay", "pavlodar", "atyrau", "shymkent"},
    "2026-06-29": {"turkistan", "mangystau", "karaganda", "north-kazakhstan", "ulytau"},
}


def test_pilot_para_1_and_annex_2_twenty_regions_open_on_their_day_and_close_with_31_august() -> None:
    regions = reference.regions_from_file()
    opens: dict[str, set[str]] = {}
    for r in regions:
        opens.setdefault(r.window_opens_at.astimezone(reference.KZ).date().isoformat(), set()).add(r.slug)
        assert r.window_opens_at.astimezone(reference.KZ).time() == dt.time(0, 0)
        assert r.window_closes_at == dt.datetime(2026, 9, 1, tzinfo=reference.KZ)  # the end of 31 August
    assert opens == ANNEX_2


async def test_pilot_para_7_an_application_outside_the_window_is_refused(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    async with db_pool.acquire() as conn:
        for at, code in (
            (dt.datetime(2026, 5, 26, 23, 59, tzinfo=reference.KZ), "window_not_open"),
            (dt.datetime(2026, 9, 1, 0, 0, tzinfo=reference.KZ), "window_closed"),
        ):
            filed = await file_application(conn, form(child_iin(), applicant=claims.applicant_iin), claims=claims,
                                           age_rule=AgeRule(), now=at)  # fmt: skip
            assert filed.application.refusal is not None
            assert filed.application.refusal.code == code
            assert "para 7" in filed.application.refusal.receipt.legal_basis


async def test_pilot_para_6_a_positive_result_is_withdrawn_electronically_and_its_seat_is_free(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    before = (await seat_counters(db_pool, OTHER_SCHOOL))["general_taken"]
    accepted = await _file(db_pool, claims, child_iin(), school=OTHER_SCHOOL)
    refused = await _file(db_pool, claims, child_iin(), school=OTHER_SCHOOL, consent=False)
    async with db_pool.acquire() as conn:
        gone = await withdraw(conn, accepted.application.id, accepted.withdraw_token, NOW)
        with pytest.raises(NotWithdrawable):  # only a positive result is withdrawn
            await withdraw(conn, refused.application.id, refused.withdraw_token, NOW)
    assert gone.status == "withdrawn"
    assert (await seat_counters(db_pool, OTHER_SCHOOL))["general_taken"] == before

"""Filing is idempotent (issue 11 point 7): a lost answer never turns into a refusal.

The same slot sending the same form again, or the same Idempotency-Key with the same form, gets
the first decision back with its withdraw token; the key with another form is refused (422); a
request while the key's first request is still being decided gets 409.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from admission_helpers import (
    APPLICANT,
    NOW,
    access,
    child_iin,
    form,
    seat_counters,
)

from admission.access import AccessClaims
from admission.applications import Filing, file_application, repeat_of, withdraw
from admission.applications.models import AgeRule, IdempotencyInProgress, IdempotencyKeyReused
from admission.applications.service import withdraw_secret
from admission.locks import IDEMPOTENCY_KEY
from admission.signing_keys import KeySet

pytestmark = pytest.mark.usefixtures("schools")
SECRET = withdraw_secret(b"k" * 32)
RULE = AgeRule()


async def file(pool: asyncpg.Pool, claims: AccessClaims, child: str, key: str | None = None, **kwargs: object):
    async with pool.acquire() as conn:
        return await file_application(
            conn, form(child, **kwargs), claims=claims, age_rule=RULE, now=NOW, idempotency_key=key, token_secret=SECRET
        )


async def test_the_same_slot_sending_the_same_form_again_gets_the_first_decision_and_its_token(
    db_pool: asyncpg.Pool, keys: KeySet
) -> None:
    claims = access(keys)
    child = child_iin()
    first = await file(db_pool, claims, child)
    again = await file(db_pool, claims, child)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.application == first.application
    assert again.application.status == "accepted"
    assert again.withdraw_token == first.withdraw_token
    assert (await seat_counters(db_pool))["general_taken"] == 1
    # the repeated token withdraws it
    async with db_pool.acquire() as conn:
        assert (await withdraw(conn, first.application.id, again.withdraw_token, NOW)).status == "withdrawn"
        # and a repeat after that still tells the truth: the first decision, now withdrawn
        repeat = await repeat_of(conn, form(child), Filing.of(form(child), claims, None, SECRET))
        assert repeat is not None
        assert repeat.application.status == "withdrawn"
    # a refusal is repeated as a refusal, not as another ground
    refused = await file(db_pool, claims, child_iin(), consent=False)
    repeated = await file(db_pool, claims, refused.application.child_iin, consent=False)
    assert repeated.application == refused.application
    # a corrected form is a new filing: consent ticked after the refusal is decided anew
    corrected = await file(db_pool, claims, refused.application.child_iin)
    assert (corrected.replayed, corrected.application.status) == (False, "accepted")


async def test_the_same_slot_sending_the_same_form_at_once_decides_once(db_pool: asyncpg.Pool, keys: KeySet) -> None:
    claims = access(keys)
    child = child_iin()
    answers = await asyncio.gather(*(file(db_pool, claims, child) for _ in range(12)))
    assert {a.application.id for a in answers} == {answers[0].application.id}
    assert {a.application.status for a in answers} == {"accepted"}
    assert {a.withdraw_token for a in answers} == {answers[0].withdraw_token}
    assert sum(not a.replayed for a in answers) == 1
    assert (await seat_counters(db_pool))["general_taken"] == 1
    count = await db_pool.fetchval("SELECT count(*) FROM applications WHERE child_iin = $1", child)
    assert count == 1


async def test_an_idempotency_key_repeats_across_slots_and_refuses_another_form(
    db_pool: asyncpg.Pool, keys: KeySet
) -> None:
    child = child_iin()
    first = await file(db_pool, access(keys), child, key="form-1")
    # the answer was lost; the parent queued again and sends the same form with the same key
    again = await file(db_pool, access(keys), child, key="form-1")
    assert again.replayed
    assert (again.application, again.withdraw_token) == (first.application, first.withdraw_token)
    # the same key with another form: 422, nothing decided
    with pytest.raises(IdempotencyKeyReused):
        await file(db_pool, access(keys), child_iin(), key="form-1")
    # another applicant's key of the same name is theirs
    other = access(keys, applicant="850101300005")
    assert not (await file(db_pool, other, child_iin(), key="form-1", applicant="850101300005")).replayed
    # without the key, a new slot filing the same child is a new filing: the duplicate ground
    duplicate = await file(db_pool, access(keys), child)
    assert duplicate.application.refusal is not None
    assert duplicate.application.refusal.code == "duplicate_application"


async def test_a_key_still_being_decided_answers_in_progress(db_pool: asyncpg.Pool, keys: KeySet) -> None:
    # The first request with the key is in flight: its transaction holds the key's lock.
    async with db_pool.acquire() as first, first.transaction():
        await first.execute(
            "SELECT pg_advisory_xact_lock($1::integer, hashtext($2 || ':' || $3))", IDEMPOTENCY_KEY, APPLICANT, "k-1"
        )
        with pytest.raises(IdempotencyInProgress) as caught:
            await file(db_pool, access(keys), child_iin(), key="k-1")
    assert caught.value.extra["retry_after"] == 1


async def test_concurrent_requests_with_one_key_decide_once(db_pool: asyncpg.Pool, keys: KeySet) -> None:
    child = child_iin()

    async def attempt() -> object:
        try:
            return await file(db_pool, access(keys), child, key="same")
        except IdempotencyInProgress as exc:
            return exc

    answers = await asyncio.gather(*(attempt() for _ in range(12)))
    decided = [a for a in answers if not isinstance(a, IdempotencyInProgress)]
    assert decided
    assert {a.application.id for a in decided} == {decided[0].application.id}  # type: ignore[attr-defined]
    assert await db_pool.fetchval("SELECT count(*) FROM applications WHERE child_iin = $1", child) == 1
    assert (await seat_counters(db_pool))["general_taken"] == 1

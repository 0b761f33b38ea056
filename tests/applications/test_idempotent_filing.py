"""Filing is idempotent (issue 11 point 7): a lost answer never turns into a refusal.

The same slot filing the same child again, or the same Idempotency-Key with the same form, gets
the first decision back with its withdraw token; the key with another form is refused (422); a
request while the key's first request is still being decided gets 409.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest
from admission_helpers import (  # noqa: F401 - fixtures
    APPLICANT,
    NOW,
    SCHOOL,
    access,
    access_token,
    apply,
    child_iin,
    form,
    schools_fixture,
    seat_counters,
)
from devservices import free_port

from admission.access import AccessClaims
from admission.applications import file_application, repeat_of, withdraw
from admission.applications.models import AgeRule, IdempotencyInProgress, IdempotencyKeyReused
from admission.applications.service import withdraw_secret
from admission.keys import KeySet
from admission.reference import set_window

pytestmark = pytest.mark.usefixtures("schools")
SECRET = withdraw_secret(b"k" * 32)
RULE = AgeRule()


async def file(pool: asyncpg.Pool, claims: AccessClaims, child: str, key: str | None = None, **kwargs: object):
    async with pool.acquire() as conn:
        return await file_application(
            conn, form(child, **kwargs), claims=claims, age_rule=RULE, now=NOW, idempotency_key=key, token_secret=SECRET
        )


async def test_the_same_slot_filing_the_same_child_again_gets_the_first_decision_and_its_token(
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
        assert (await repeat_of(conn, form(child), claims=claims, token_secret=SECRET)).application.status == (  # type: ignore[union-attr]
            "withdrawn"
        )
    # a refusal is repeated as a refusal, not as another ground
    refused = await file(db_pool, claims, child_iin(), consent=False)
    repeated = await file(db_pool, claims, refused.application.child_iin, consent=False)
    assert repeated.application == refused.application


async def test_the_same_slot_filing_the_same_child_at_once_decides_once(db_pool: asyncpg.Pool, keys: KeySet) -> None:
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
        await first.execute("SELECT pg_advisory_xact_lock(7314, hashtext($1 || ':' || $2))", APPLICANT, "k-1")
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


# -- over HTTP, against a served app: the answer is dropped on the way ---------------------------


@pytest.fixture
def served(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, KeySet]]:
    port = free_port()
    key_file = tmp_path / "key.pem"
    keys = KeySet.load_or_create(key_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEZEK_", "PROMETHEUS_"))}
    env |= {"KEZEK_PORT": str(port), "KEZEK_DATABASE_URL": database_url, "KEZEK_REDIS_URL": redis_url,
            "KEZEK_SIGNING_KEY_FILE": str(key_file), "KEZEK_DB_POOL_MIN": "1",
            "KEZEK_LOG_LEVEL": "WARNING"}  # fmt: skip
    kezek = Path(sys.executable).parent / "kezek"
    with (tmp_path / "server.log").open("wb") as log:
        proc = subprocess.Popen([str(kezek), "serve", "--workers", "1"], env=env, stdout=log, stderr=log,
                                start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        yield url, keys
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


async def test_the_same_form_refiled_after_a_dropped_answer_gets_the_original_decision(
    served: tuple[str, KeySet], db_pool: asyncpg.Pool
) -> None:
    url, keys = served
    now = dt.datetime.now(dt.UTC)
    async with db_pool.acquire() as conn:
        await set_window(conn, "astana", now - dt.timedelta(hours=1), now + dt.timedelta(days=1))
    token = access_token(keys)
    child = child_iin()
    body = msgspec.json.encode(
        {"applicant_iin": APPLICANT, "child_iin": child, "school_bin": SCHOOL, "language": "kk", "consent": True}
    )
    # The form goes out; the connection drops before the answer comes back.
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.shutdown(socket.SHUT_WR)
    for _ in range(100):
        decided = await db_pool.fetchrow("SELECT id, status FROM applications WHERE child_iin = $1", child)
        if decided is not None:
            break
        await asyncio.sleep(0.05)
    assert decided is not None, "the first filing was decided"
    assert decided["status"] == "accepted"

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        again = await client.post("/v1/applications", content=body, headers=headers)
        assert again.status_code == 201, again.text
        answer = again.json()
        assert (answer["id"], answer["status"]) == (str(decided["id"]), "accepted")
        assert answer["refusal"] is None
        # the repeated withdraw token is the application's own
        read = await client.get(
            f"/v1/applications/{answer['id']}", headers={"Authorization": f"Bearer {answer['withdraw_token']}"}
        )
        assert read.status_code == 200

        # with an Idempotency-Key, a new slot repeats it too; the key with another form is a 422
        keyed = {**headers, "Authorization": f"Bearer {access_token(keys)}", "Idempotency-Key": "abc"}
        other = msgspec.json.encode({**msgspec.json.decode(body), "child_iin": child_iin()})
        first = await client.post("/v1/applications", content=other, headers=keyed)
        assert first.status_code == 201
        repeat = await client.post(
            "/v1/applications", content=other, headers={**keyed, "Authorization": f"Bearer {access_token(keys)}"}
        )
        assert (repeat.status_code, repeat.json()["id"]) == (201, first.json()["id"])
        reused = await client.post("/v1/applications", content=body, headers=keyed)
        assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
        assert reused.headers["content-type"].startswith("application/problem+json")
        blank = await client.post("/v1/applications", content=body, headers={**keyed, "Idempotency-Key": ""})
        assert blank.status_code == 422
    assert await db_pool.fetchval("SELECT count(*) FROM applications WHERE child_iin = $1", child) == 1

"""Helpers of the monitoring tests: schools, admins, a commission, and the calls the tests make over HTTP.

The fixtures (``quiet_app``, ``api``, ``admins``, ``schools``) are in this folder's ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import asyncpg
import contingent_helpers
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.contingent import PostgresContingentStore, Publisher
from admission.iin import make_iin
from admission.monitoring.service import latest_end
from admission.reference import KZ
from admission.signing_keys import KeySet, mint_admin_token

Client = AsyncTestClient[Litestar]

REGION = "astana"
CLEAN = "990000000117"  # the school that did everything right
DIRTY = "990000000125"  # the school with one of each nonconformity
FROM = "990000000133"  # where transferring pupils study now
ABAI = "990000000141"  # a school in another region
APPLICANT = make_iin(dt.date(1990, 4, 12), False, 100)

_serials = itertools.count(1)


def child(born: dt.date | None = None) -> str:
    """A fresh child's ИИН; by default 7 on 1 September of this year (inside the admission age)."""
    year = today().year
    return make_iin(born or dt.date(year - 7, 3, 1), True, next(_serials) * 3)


def pupil() -> str:
    return make_iin(dt.date(today().year - 9, 5, 1), False, next(_serials) * 3)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return now().astimezone(KZ).date()


def workday() -> dt.date:
    """The first working day from today on (a visit needs one)."""
    return latest_end(today(), 1)


def year() -> int:
    return today().year


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Admins:
    """Bearer headers of the admins the tests speak as."""

    def __init__(self, keys: KeySet) -> None:
        self.keys = keys

    def ministry(self) -> dict[str, str]:
        return bearer(mint_admin_token(self.keys, "minister-aide", "ministry"))

    def region(self, region: str = REGION) -> dict[str, str]:
        return bearer(mint_admin_token(self.keys, f"office-{region}", "region", region=region))

    def school(self, school: str, region: str = REGION) -> dict[str, str]:
        return bearer(mint_admin_token(self.keys, f"head-{school}", "school", region=region, school=school))


def commission(size: int = 7) -> list[dict[str, Any]]:
    """A valid commission of ``size`` members: the chair (the office's deputy head) who also leads it."""
    chair = {
        "full_name": "Ахметова Айгүл Серікқызы",
        "post": "басшының орынбасары",
        "organisation": "Астана білім басқармасы",
        "affiliation": "office",
        "is_chair": True,
        "is_lead": True,
    }
    affiliations = ["office", "subordinate", "college", "school"]
    members = [
        {"full_name": f"Мүше {i} Тестов", "post": "маман", "organisation": f"Ұйым {i}",
         "affiliation": affiliations[i % len(affiliations)]}
        for i in range(1, size)
    ]  # fmt: skip
    return [chair, *members]


async def open_window(api: Client, admins: Admins, opens: dt.datetime, closes: dt.datetime) -> None:
    # a window around today lies outside annex 2: only the ministry moves it there, with a reason (pilot para 7)
    response = await api.put(
        f"/v1/admin/regions/{REGION}/window",
        json={"opens_at": opens.isoformat(), "closes_at": closes.isoformat(), "reason": "monitoring test year"},
        headers=admins.ministry(),
    )
    assert response.status_code == 200, response.text


async def set_classes(api: Client, admins: Admins, school: str, language: str, seats: int, grade: int = 1) -> None:
    response = await api.put(
        f"/v1/admin/schools/{school}/classes/{grade}/{language}",
        json={"classes": 1, "seats_per_class": seats},
        headers=admins.school(school),
    )
    assert response.status_code == 200, response.text


async def put_roster(api: Client, admins: Admins, school: str, iin: str, language: str = "kk") -> None:
    response = await api.put(
        f"/v1/admin/schools/{school}/roster/{iin}", json={"language": language}, headers=admins.school(school)
    )
    assert response.status_code == 200, response.text


async def apply(api: Client, school: str, iin: str, language: str = "kk") -> dict[str, Any]:
    """File an application as a family does: a slot of the waiting room, the form, the slot handed on."""
    joined = await api.post(f"/v1/rooms/{REGION}/visitors", json={"applicant_iin": APPLICANT})
    assert joined.status_code in (200, 201), joined.text
    view = joined.json()
    assert view["status"] == "admitted", view
    token = view["access_token"]
    response = await api.post(
        "/v1/applications",
        json={
            "applicant_iin": APPLICANT,
            "child_iin": iin,
            "school_bin": school,
            "language": language,
            "consent": True,
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    # one child at a time: the family hands its slot on (the slot would otherwise last its lease)
    handed = await api.delete(f"/v1/rooms/{REGION}/sessions/me", headers=bearer(token))
    assert handed.status_code == 204, handed.text
    filed: dict[str, Any] = response.json()
    return filed


async def withdraw(api: Client, filed: dict[str, Any]) -> None:
    response = await api.post(f"/v1/applications/{filed['id']}/withdraw", headers=bearer(filed["withdraw_token"]))
    assert response.status_code == 200, response.text


async def confirm(api: Client, admins: Admins, school: str, application_id: str | None = None) -> list[str]:
    body: dict[str, Any] = {"order_number": f"{school[-3:]}-1", "order_date": today().isoformat()}
    if application_id is not None:
        body["application_id"] = application_id
    response = await api.post(f"/v1/admin/schools/{school}/confirmations", json=body, headers=admins.school(school))
    assert response.status_code == 200, response.text
    confirmed: list[str] = response.json()["confirmed"]
    return confirmed


async def deliver_outbox(pool: asyncpg.Pool) -> None:
    """Deliver every pending contingent event (the publisher the service runs, run here on demand)."""
    publisher = Publisher(pool, PostgresContingentStore(pool))
    while await publisher.drain():
        pass
    assert await pool.fetchval("SELECT count(*) FROM contingent_outbox WHERE delivered_at IS NULL") == 0


async def enrol(pool: asyncpg.Pool, iin: str, school: str, grade: int, language: str = "kk") -> None:
    """A pupil already in the contingent store (the register the transfers start from)."""
    await contingent_helpers.enrol(pool, iin, school, grade, language=language, since=today() - dt.timedelta(days=200))


async def request_transfer(api: Client, iin: str, to_school: str, grade: int) -> dict[str, Any]:
    response = await api.post(
        "/v1/transfers",
        json={
            "applicant_iin": APPLICANT,
            "applicant_full_name": "Тестова Ата-Ана",  # the annex 2 form's fields (para 17)
            "applicant_phone": "+7 701 000 00 00",
            "registered_address": "Астана, Сынақ көшесі, 1",
            "consent": True,
            "child_iin": iin,
            "child_full_name": "Тестов Ауысушы",
            "to_school_bin": to_school,
            "grade": grade,
            "language": "kk",
            "ground": "relocation",
            "document_ref": "тұрғын үй шарты № 1",
        },
    )
    assert response.status_code == 201, response.text
    transfer: dict[str, Any] = response.json()
    assert transfer["status"] == "pending", transfer
    return transfer


async def accept_transfer(api: Client, admins: Admins, transfer: dict[str, Any], school: str) -> None:
    response = await api.post(
        f"/v1/admin/transfers/{transfer['id']}/decision", json={"accept": True}, headers=admins.school(school)
    )
    assert response.status_code == 200, response.text


async def insert_application(
    pool: asyncpg.Pool,
    *,
    school: str,
    iin: str,
    language: str,
    status: str,
    decided_at: dt.datetime,
    refusal_ground: int | None = None,
    refusal_code: str | None = None,
    priority: bool = False,
    withdrawn_at: dt.datetime | None = None,
) -> str:
    """An application written straight into the table: for what the API rightly never decides."""
    application_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO applications (id, applicant_iin, child_iin, school_bin, region_slug, language, consent, status,"
        " refusal_ground, refusal_code, priority, decided_at, withdrawn_at, withdraw_token_hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $9, $10, $11, $12, '\\x00')",
        application_id,
        APPLICANT,
        iin,
        school,
        REGION,
        language,
        status,
        refusal_ground,
        refusal_code,
        priority,
        decided_at,
        withdrawn_at,
    )
    return str(application_id)


async def decide_monitoring(api: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """A decision for this year's admission, ordered today (or on 1 November when that is past)."""
    order_date = min(today(), dt.date(year(), 11, 1))
    body = {"admission_year": year(), "order_number": "271-М", "order_date": order_date.isoformat()} | overrides
    response = await api.post("/v1/admin/monitoring/decisions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    decision: dict[str, Any] = response.json()
    return decision


async def schedule(
    api: Client, headers: dict[str, str], decision_id: str, school: str, starts_on: dt.date, ends_on: dt.date
) -> dict[str, Any]:
    response = await api.post(
        f"/v1/admin/monitoring/decisions/{decision_id}/visits",
        json={"school_bin": school, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    visit: dict[str, Any] = response.json()
    return visit

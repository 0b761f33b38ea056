"""The fast paths (``queue_service/fast_poll.py``: join, poll, heartbeat, release) answer as
Litestar's handlers do.

An ordinary poll is answered in front of the framework; a poll with a query string goes through
Litestar's routing and handler.  Both must give the visitor the same answer, with the same headers,
and be counted in the request metrics; a poll the fast path cannot answer (a bad ticket, no ticket,
an unknown room) gets the framework's problem document.
"""

from __future__ import annotations

import httpx
import jwt
import msgspec
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from room_helpers import iins

from admission.signing_keys import KeySet
from admission.waiting_room.keys import client_key
from queue_service.app import create_app
from queue_service.settings import Settings

Client = AsyncTestClient[Litestar]
POLL = "/v1/rooms/astana/visitors/me"
SAME_EVERY_TIME = ("ticket", "status", "position", "ahead", "eta_seconds")


def _slot(view: dict[str, str]) -> tuple[object, ...]:
    """The slot an admitted visitor's access token holds (its claims but the clock's: two polls may
    straddle a second), and where it is sent."""
    if "access_token" not in view:
        return ()
    claims = jwt.decode(view["access_token"], options={"verify_signature": False})
    return claims["sub"], claims["aud"], claims["jti"], view["redirect_url"].partition("#")[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "content-length"}


def _polls_counted(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "kezek_requests_total"
        and sample.labels["path"] == "/v1/rooms/{region}/visitors/me"
        and sample.labels["status_code"] == "200"
    )


async def test_an_ordinary_poll_answers_as_the_frameworks_handler(rooms: Client, ministry: dict[str, str]) -> None:
    assert (await rooms.patch("/v1/admin/rooms/astana", json={"max_active": 1}, headers=ministry)).status_code == 200
    first, second = iins(2, start=700)
    admitted = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": first})).json()
    waiting = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": second})).json()
    assert (admitted["status"], waiting["status"]) == ("admitted", "waiting")
    before = _polls_counted((await rooms.get("/metrics")).text)
    for visitor in (admitted, waiting):
        fast = await rooms.get(POLL, headers=bearer(visitor["ticket"]))
        framework = await rooms.get(f"{POLL}?lang=en", headers=bearer(visitor["ticket"]))
        assert fast.status_code == framework.status_code == 200
        # every header alike (the body's length aside): a header added to the route must be added there too
        assert _headers(fast) == _headers(framework)
        assert fast.headers["content-type"] == "application/json"
        assert fast.headers["content-length"] == str(len(fast.content))
        fast_body, framework_body = fast.json(), framework.json()
        assert {k: fast_body.get(k) for k in SAME_EVERY_TIME} == {k: framework_body.get(k) for k in SAME_EVERY_TIME}
        assert _slot(fast_body) == _slot(framework_body)
        assert set(fast_body) == set(framework_body)
    assert fast_body["position"] == 1  # the waiting visitor, last polled
    # both ways are counted under the route's template
    assert _polls_counted((await rooms.get("/metrics")).text) == before + 4


async def test_polls_the_fast_path_cannot_answer_get_the_frameworks_problems(rooms: Client) -> None:
    ticket = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": iins(1, start=720)[0]})).json()[
        "ticket"
    ]
    answers = {
        "forged": await rooms.get(POLL, headers=bearer(ticket[:-2] + "xx")),
        "none": await rooms.get(POLL),
        "not bearer": await rooms.get(POLL, headers={"Authorization": f"Basic {ticket}"}),
        "unknown room": await rooms.get("/v1/rooms/atlantis/visitors/me", headers=bearer(ticket)),
        "other room": await rooms.get("/v1/rooms/abai/visitors/me", headers=bearer(ticket)),
    }
    codes = {name: (r.status_code, r.json()["code"]) for name, r in answers.items()}
    assert codes == {
        "forged": (401, "invalid_ticket"),
        "none": (401, "unauthenticated"),
        "not bearer": (401, "unauthenticated"),
        "unknown room": (404, "unknown_region"),
        "other room": (401, "invalid_ticket"),
    }
    assert {r.headers["content-type"] for r in answers.values()} == {"application/problem+json"}
    # in the visitor's language, as the framework negotiates it
    russian = await rooms.get(POLL, headers={**bearer(ticket[:-2] + "xx"), "Accept-Language": "ru"})
    assert russian.json()["title"] != answers["forged"].json()["title"]


def _counted(text: str, method: str, path: str, status: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "kezek_requests_total"
        and (sample.labels["method"], sample.labels["path"], sample.labels["status_code"]) == (method, path, status)
    )


async def _admitted(rooms: Client, ministry: dict[str, str], start: int) -> list[str]:
    """Access tokens of two visitors admitted to astana."""
    assert (await rooms.patch("/v1/admin/rooms/astana", json={"max_active": 50}, headers=ministry)).status_code == 200
    tokens = []
    for iin in iins(2, start=start):
        view = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": iin})).json()
        assert view["status"] == "admitted"
        tokens.append(view["access_token"])
    return tokens


async def test_a_heartbeat_and_a_release_answer_as_the_frameworks_handlers(
    rooms: Client, ministry: dict[str, str]
) -> None:
    heartbeat, release = "/v1/rooms/astana/sessions/heartbeat", "/v1/rooms/astana/sessions/me"
    metrics_before = (await rooms.get("/metrics")).text
    fast_token, framework_token = await _admitted(rooms, ministry, 740)
    fast = await rooms.post(heartbeat, headers=bearer(fast_token))
    framework = await rooms.post(f"{heartbeat}?lang=en", headers=bearer(framework_token))
    assert fast.status_code == framework.status_code == 200
    assert _headers(fast) == _headers(framework)
    assert fast.headers["content-length"] == str(len(fast.content))
    fast_body, framework_body = fast.json(), framework.json()
    assert set(fast_body) == set(framework_body) == {"status", "lease_expires_at", "access_token"}
    assert fast_body["status"] == framework_body["status"] == "active"
    # the renewed tokens hold the slot: the next heartbeat with each passes, both ways
    assert (await rooms.post(heartbeat, headers=bearer(framework_body["access_token"]))).status_code == 200
    assert (await rooms.post(f"{heartbeat}?lang=en", headers=bearer(fast_body["access_token"]))).status_code == 200
    # releases: 204 without a body, the same headers; again (idempotent) the same answer both ways
    for _ in range(2):
        fast = await rooms.delete(release, headers=bearer(fast_token))
        framework = await rooms.delete(f"{release}?lang=en", headers=bearer(framework_token))
        assert fast.status_code == framework.status_code == 204
        assert fast.content == framework.content == b""
        assert dict(fast.headers) == dict(framework.headers)
    # a released slot's heartbeat is the framework's problem, whichever way it came
    ended = await rooms.post(heartbeat, headers=bearer(fast_token))
    framework = await rooms.post(f"{heartbeat}?lang=en", headers=bearer(framework_token))
    assert (ended.status_code, ended.json()["code"]) == (framework.status_code, framework.json()["code"])
    assert ended.headers["content-type"] == "application/problem+json"
    # every one counted under its route's template, whichever way it was answered
    after = (await rooms.get("/metrics")).text
    for method, path, status, count in (
        ("POST", "/v1/rooms/{region}/sessions/heartbeat", "200", 4),
        ("DELETE", "/v1/rooms/{region}/sessions/me", "204", 4),
    ):
        assert _counted(after, method, path, status) == _counted(metrics_before, method, path, status) + count


async def test_sessions_the_fast_path_cannot_answer_get_the_frameworks_problems(
    rooms: Client, ministry: dict[str, str]
) -> None:
    token, _ = await _admitted(rooms, ministry, 760)
    heartbeat, release = "/v1/rooms/astana/sessions/heartbeat", "/v1/rooms/astana/sessions/me"
    answers = {
        "forged": await rooms.post(heartbeat, headers=bearer(token[:-3] + "xyz")),
        "none": await rooms.post(heartbeat),
        "other room": await rooms.post("/v1/rooms/abai/sessions/heartbeat", headers=bearer(token)),
        "unknown room": await rooms.delete("/v1/rooms/atlantis/sessions/me", headers=bearer(token)),
        "release forged": await rooms.delete(release, headers=bearer(token[:-3] + "xyz")),
    }
    codes = {name: (r.status_code, r.json()["code"]) for name, r in answers.items()}
    framework = {
        "forged": await rooms.post(f"{heartbeat}?lang=en", headers=bearer(token[:-3] + "xyz")),
        "none": await rooms.post(f"{heartbeat}?lang=en"),
        "other room": await rooms.post("/v1/rooms/abai/sessions/heartbeat?lang=en", headers=bearer(token)),
        "unknown room": await rooms.delete("/v1/rooms/atlantis/sessions/me?lang=en", headers=bearer(token)),
        "release forged": await rooms.delete(f"{release}?lang=en", headers=bearer(token[:-3] + "xyz")),
    }
    assert codes == {name: (r.status_code, r.json()["code"]) for name, r in framework.items()}
    assert {status for status, _ in codes.values()} <= {401, 404}
    assert {r.headers["content-type"] for r in answers.values()} == {"application/problem+json"}


JOIN = "/v1/rooms/astana/visitors"
JOIN_TEMPLATE = "/v1/rooms/{region}/visitors"


async def test_an_ordinary_join_answers_as_the_frameworks_handler(rooms: Client, ministry: dict[str, str]) -> None:
    assert (await rooms.patch("/v1/admin/rooms/astana", json={"max_active": 1}, headers=ministry)).status_code == 200
    before = (await rooms.get("/metrics")).text
    for applicant in iins(2, start=780):  # the first is admitted, the second waits
        fast = await rooms.post(JOIN, json={"applicant_iin": applicant})
        framework = await rooms.post(f"{JOIN}?lang=en", json={"applicant_iin": applicant})  # the same place again
        assert fast.status_code == framework.status_code == 200
        assert _headers(fast) == _headers(framework)
        assert fast.headers["content-type"] == "application/json"
        assert fast.headers["content-length"] == str(len(fast.content))
        fast_body, framework_body = fast.json(), framework.json()
        assert set(fast_body) == set(framework_body)
        assert {k: fast_body[k] for k in ("status", "position", "ahead")} == {
            k: framework_body[k] for k in ("status", "position", "ahead")
        }
    assert (fast_body["status"], fast_body["position"]) == ("waiting", 1)
    after = (await rooms.get("/metrics")).text
    assert _counted(after, "POST", JOIN_TEMPLATE, "200") == _counted(before, "POST", JOIN_TEMPLATE, "200") + 4


async def test_joins_the_fast_path_cannot_answer_get_the_frameworks_problems(rooms: Client) -> None:
    """Bad bodies, identities and rooms are handed to Litestar with their body: the same problems both ways."""
    applicant = iins(1, start=800)[0]
    cases = {
        "not json": b"{", "unknown field": b'{"applicant_iin": "%s", "x": 1}' % applicant.encode(),
        "no iin": b"{}", "bad iin": b'{"applicant_iin": "123"}', "nul": b'{"applicant_iin": "\\u0000"}',
        "not utf-8": b'{"applicant_iin": "\xff"}',
    }  # fmt: skip
    for name, body in cases.items():
        fast = await rooms.post(JOIN, content=body, headers={"Content-Type": "application/json"})
        framework = await rooms.post(f"{JOIN}?lang=kk", content=body, headers={"Content-Type": "application/json"})
        assert (fast.status_code, fast.json()["code"]) == (framework.status_code, framework.json()["code"]), name
        assert 400 <= fast.status_code < 500, name
        assert fast.headers["content-type"] == "application/problem+json", name
    unknown = await rooms.post("/v1/rooms/atlantis/visitors", json={"applicant_iin": applicant})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_region")


async def test_a_join_refused_in_redis_is_run_once(
    settings: Settings, keys: KeySet, astana_open_now: None, redis_client: aioredis.Redis
) -> None:
    """A join whose script call refuses it is answered by Litestar from the fast path's exception, not
    joined again: the client's counter moves once per join, and the refusal carries its headers."""
    limited = msgspec.structs.replace(settings, join_rate_per_minute=2)
    async with AsyncTestClient(app=create_app(limited, keys=keys)) as client:
        answers = [await client.post(JOIN, json={"applicant_iin": iin}) for iin in iins(3, start=820)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert (refused.json()["code"], refused.headers["ratelimit-limit"]) == ("too_many_requests", "2")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # three joins counted, not four (a join run again by the framework would count the refused one twice)
    assert int(await redis_client.get(client_key("astana", "testclient")) or 0) == 3

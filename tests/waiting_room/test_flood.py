"""Flood defence on join (issue 12): a per-client rate limit (429 + Retry-After) and a room's
optional proof of work (ALTCHA), verified by the server: missing, forged, foreign, expired and
replayed answers are refused."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import time
from typing import Annotated, Any, Literal

import altcha
import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from altcha.v2 import _canonical_json as altcha_canonical_json
from browser_helpers import join_the_queue
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page
from room_helpers import iins

from admission.signing_keys import KeySet, mint_admin_token
from queue_service.app import create_app
from queue_service.flood import ALGORITHM, ChallengeFailed, Door, our_payload
from queue_service.settings import Settings

JOIN = "/v1/rooms/astana/visitors"


async def test_joins_beyond_the_configured_rate_from_one_client_get_429_with_retry_after(
    settings: Settings, keys: KeySet, astana_open_now: None
) -> None:
    limited = msgspec.structs.replace(settings, join_rate_per_minute=5, trusted_proxies="testclient")
    async with AsyncTestClient(app=create_app(limited, keys=keys)) as client:
        people = iins(8)
        for iin in people[:5]:
            assert (await client.post(JOIN, json={"applicant_iin": iin})).status_code == 200
        flooded = await client.post(JOIN, json={"applicant_iin": people[5]}, headers={"Accept-Language": "en"})
        assert flooded.status_code == 429
        assert flooded.headers["content-type"].startswith("application/problem+json")
        assert flooded.json()["code"] == "too_many_requests"
        assert 1 <= int(flooded.headers["retry-after"]) <= 60
        assert (flooded.headers["ratelimit-limit"], flooded.headers["ratelimit-remaining"]) == ("5", "0")
        # Another client behind our proxy has its own allowance; reading the room is never limited.
        other = {"X-Forwarded-For": "203.0.113.7"}
        assert (await client.post(JOIN, json={"applicant_iin": people[6]}, headers=other)).status_code == 200
        for _ in range(10):
            assert (await client.get("/v1/rooms/astana")).status_code == 200
        # The allowance is per room: the same client is not refused as a flood by another region's
        # room (Zhetisu's is not open yet, and says so).
        elsewhere = await client.post("/v1/rooms/zhetisu/visitors", json={"applicant_iin": people[7]})
        assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "window_not_open")


async def test_a_rate_of_zero_counts_no_join(
    settings: Settings, keys: KeySet, astana_open_now: None, redis_client: aioredis.Redis
) -> None:
    """``KEZEK_JOIN_RATE_PER_MINUTE=0`` switches the limit off: one client joins as often as it likes,
    and Redis keeps no counter for it."""
    unlimited = msgspec.structs.replace(settings, join_rate_per_minute=0)
    async with AsyncTestClient(app=create_app(unlimited, keys=keys)) as client:
        answers = [await client.post(JOIN, json={"applicant_iin": iin}) for iin in iins(40, start=900)]
    assert [a.status_code for a in answers] == [200] * 40
    assert [key async for key in redis_client.scan_iter(match="kezek:room:*:rate:*")] == []


async def test_the_limit_holds_for_concurrent_joins_across_two_apps(
    settings: Settings, keys: KeySet, astana_open_now: None
) -> None:
    """Two workers share the counter in Redis; of a burst of concurrent joins, exactly the allowance passes."""
    limited = msgspec.structs.replace(settings, join_rate_per_minute=10)
    async with (
        AsyncTestClient(app=create_app(limited, keys=keys)) as one,
        AsyncTestClient(app=create_app(limited, keys=keys)) as two,
    ):
        people = iins(60, start=100)
        answers = await asyncio.gather(
            *((one if i % 2 else two).post(JOIN, json={"applicant_iin": iin}) for i, iin in enumerate(people))
        )
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429}
    # One atomic count in Redis for every worker: exactly the allowance gets through.
    assert statuses.count(200) == 10, statuses


@pytest.fixture
async def guarded(rooms: AsyncTestClient[Litestar], ministry: dict[str, str]) -> AsyncTestClient[Any]:
    """Astana's room with its proof of work switched on by an admin."""
    switched = await rooms.patch("/v1/admin/rooms/astana", json={"challenge": True}, headers=ministry)
    assert switched.status_code == 200, switched.text
    return rooms


async def _solved(client: AsyncTestClient[Any], region: str = "astana") -> str:
    answer = await client.get(f"/v1/rooms/{region}/challenge")
    assert answer.status_code == 200, answer.text
    challenge = altcha.Challenge.from_dict(answer.json())
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def _tampered(payload: str, change: Any) -> str:
    document = json.loads(base64.b64decode(payload))
    change(document)
    return base64.b64encode(json.dumps(document).encode()).decode()


async def test_a_room_with_the_challenge_on_admits_only_solved_unused_challenges_of_its_own(
    guarded: AsyncTestClient[Any], ministry: dict[str, str]
) -> None:
    people = iins(8, start=300)
    missing = await guarded.post(JOIN, json={"applicant_iin": people[0]})
    assert (missing.status_code, missing.json()["code"]) == (403, "challenge_required")

    payload = await _solved(guarded)
    forgeries = {
        "wrong answer": _tampered(payload, lambda d: d["solution"].update(derivedKey="00" * 32)),
        "easier challenge": _tampered(payload, lambda d: d["challenge"]["parameters"].update(keyPrefix="00")),
        "no signature": _tampered(payload, lambda d: d["challenge"].pop("signature")),
        "not base64": "definitely-not-a-payload",
    }
    for label, forged in forgeries.items():
        refused = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": forged})
        assert (refused.status_code, refused.json().get("code")) == (403, "challenge_failed"), (label, refused.text)

    foreign = await _solved(guarded, "abai")
    refused = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": foreign})
    assert (refused.status_code, refused.json()["code"]) == (403, "challenge_failed")

    joined = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": payload})
    assert joined.status_code == 200, joined.text
    replayed = await guarded.post(JOIN, json={"applicant_iin": people[2]}, headers={"X-Altcha": payload})
    assert (replayed.status_code, replayed.json()["code"]) == (403, "challenge_failed")
    # The widget's way: the answer in the `altcha` cookie.
    guarded.cookies.set("altcha", await _solved(guarded))
    by_cookie = await guarded.post(JOIN, json={"applicant_iin": people[2]})
    assert by_cookie.status_code == 200, by_cookie.text

    # Switched off again: joining needs no challenge.
    assert (
        await guarded.patch("/v1/admin/rooms/astana", json={"challenge": False}, headers=ministry)
    ).status_code == 200
    await asyncio.sleep(0.05)
    guarded.cookies.clear()
    assert (await guarded.post(JOIN, json={"applicant_iin": people[3]})).status_code == 200


async def test_an_answer_used_once_is_refused_however_it_is_written(guarded: AsyncTestClient[Any]) -> None:
    """The same solved challenge sent again in another spelling the library accepts (the derived key in
    capitals, so not our shape: the library verifies it) is still the same challenge: replayed."""
    people = iins(2, start=700)
    payload = await _solved(guarded)
    joined = await guarded.post(JOIN, json={"applicant_iin": people[0]}, headers={"X-Altcha": payload})
    assert joined.status_code == 200, joined.text
    respelled = _tampered(payload, lambda d: d["solution"].update(derivedKey=d["solution"]["derivedKey"].upper()))
    assert our_payload(base64.b64decode(respelled)) is None
    again = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": respelled})
    assert (again.status_code, again.json()["code"]) == (403, "challenge_failed")
    assert "already used" in again.json()["detail"]


async def test_an_expired_challenge_is_refused(settings: Settings, keys: KeySet, astana_open_now: None) -> None:
    quick = msgspec.structs.replace(settings, challenge_ttl_seconds=1, room_snapshot_ms=0)
    async with AsyncTestClient(app=create_app(quick, keys=keys)) as client:
        ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'm', 'ministry')}"}
        assert (await client.patch("/v1/admin/rooms/astana", json={"challenge": True}, headers=ministry)).status_code
        payload = await _solved(client)
        await asyncio.sleep(2.1)
        late = await client.post(JOIN, json={"applicant_iin": iins(1, start=500)[0]}, headers={"X-Altcha": payload})
        assert (late.status_code, late.json()["code"]) == (403, "challenge_failed")
        assert "expired" in late.json()["detail"]


async def widget_verified(page: Page, within: float) -> bool:
    """Whether the page's ALTCHA widget solved its challenge within ``within`` seconds (polled from
    outside: the page's CSP forbids the eval ``wait_for_function`` needs)."""
    state = "document.querySelector('altcha-widget')?.getState?.()"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await page.evaluate(state) == "verified":
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.browser
async def test_a_real_browser_solves_the_challenge_under_the_page_csp_and_joins(
    live_server: str, keys: KeySet, browser: Browser
) -> None:
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    async with httpx.AsyncClient(base_url=live_server) as http:
        switched = await http.patch("/v1/admin/rooms/astana", json={"challenge": True}, headers=ministry)
        assert switched.status_code == 200
        await asyncio.sleep(0.3)  # the page reads the room from the worker's snapshot
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await page.goto(f"{live_server}/rooms/astana?lang=en")
    assert await widget_verified(page, 60.0)
    await join_the_queue(page, iins(1, start=800)[0])
    await page.wait_for_url("**/apply/astana?lang=en#access_token=*", timeout=15_000)
    assert [p for p in problems if "Content Security Policy" in p] == []


# The door's shortcut for answers to challenges of our own shape (queue_service/flood.py): the same
# bytes signed and the same verdict as the altcha library's, or the library decides.

SHAPE = ("algorithm", "cost", "keyLength", "keyPrefix", "nonce", "salt", "keySignature", "expiresAt")
HEX = st.from_regex(r"[0-9a-f]{1,64}", fullmatch=True)
SMALL = st.integers(1, 2**53)
OUR_SHAPE = st.fixed_dictionaries(
    {"algorithm": st.just("SHA-256"), "cost": SMALL, "keyLength": SMALL, "keyPrefix": HEX, "nonce": HEX,
     "salt": HEX, "keySignature": HEX, "expiresAt": SMALL}
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(["SHA-256", "\ud800", "ab\n"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=4,
)


@st.composite
def hostile_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """Our shape with members replaced by any JSON (big numbers, unicode, lone surrogates, nulls,
    floats, nesting), dropped, or joined by others (``data``, ``memoryCost``, ``__proto__``, anything)."""
    parameters = dict(draw(OUR_SHAPE))
    for key in draw(st.lists(st.sampled_from(SHAPE), max_size=3)):
        parameters[key] = draw(JSON_VALUES)
    for key in draw(st.lists(st.sampled_from(SHAPE), max_size=1)):
        parameters.pop(key, None)
    extra = st.sampled_from(["data", "memoryCost", "parallelism", "__proto__", "0", "keyprefix"]) | st.text()
    parameters.update(draw(st.dictionaries(extra, JSON_VALUES, max_size=2)))
    return parameters


def _answer(parameters: object, ensure_ascii: bool = True) -> bytes:
    document = {"challenge": {"parameters": parameters, "signature": "ab" * 32},
                "solution": {"counter": 1, "derivedKey": "cd" * 32}}  # fmt: skip
    return json.dumps(document, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def _library_canonical(answer: bytes) -> bytes:
    parameters = altcha.Payload.from_dict(json.loads(answer)).challenge.parameters
    return altcha_canonical_json(parameters.to_dict()).encode()


@hypothesis_settings(max_examples=400, deadline=None)
@given(OUR_SHAPE, st.booleans())
def test_the_shortcut_signs_our_shape_byte_for_byte_as_the_library(parameters: dict[str, Any], ascii_: bool) -> None:
    ours = our_payload(_answer(parameters, ascii_))
    assert ours is not None
    assert ours.challenge.parameters.canonical() == _library_canonical(_answer(parameters))


@hypothesis_settings(max_examples=600, deadline=None)
@given(hostile_parameters(), st.booleans())
def test_the_shortcut_takes_only_what_it_signs_as_the_library(parameters: dict[str, Any], ascii_: bool) -> None:
    """Whatever the shortcut accepts it signs byte for byte as the library; the rest is the library's."""
    answer = _answer(parameters, ascii_)
    ours = our_payload(answer)
    if ours is not None:
        assert ours.challenge.parameters.canonical() == _library_canonical(answer)


@pytest.mark.parametrize(
    "change",
    [
        {"keyPrefix": "AB"}, {"nonce": "é1"}, {"salt": "ab\n"}, {"salt": "\u2028"}, {"keySignature": None},
        {"cost": 2**53 + 1}, {"expiresAt": 2**64}, {"cost": 1.0}, {"cost": True}, {"keyLength": 0},
        {"algorithm": "SHA-512"}, {"data": {}}, {"memoryCost": None}, {"__proto__": 1}, {"extra": "x"},
    ],
)  # fmt: skip
def test_answers_off_our_shape_go_to_the_library(change: dict[str, Any]) -> None:
    parameters = {"algorithm": "SHA-256", "cost": 1, "keyLength": 32, "keyPrefix": "ab", "nonce": "cd", "salt": "ef",
                  "keySignature": "01", "expiresAt": 1_900_000_000}  # fmt: skip
    assert our_payload(_answer(parameters)) is not None
    assert our_payload(_answer({**parameters, **change})) is None


# The shape as the shortcut first declared it, each text checked by a regular expression: the
# shortcut's C-level checks must accept exactly this.
_HEX_PATTERN = msgspec.Meta(pattern=r"^[0-9a-f]+\Z")
_KEY_PATTERN = msgspec.Meta(pattern=r"^(?:[0-9a-f]{2})+\Z")


class _PatternParameters(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    algorithm: Literal["SHA-256"]
    cost: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    key_length: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    key_prefix: Annotated[str, _HEX_PATTERN]
    nonce: Annotated[str, _HEX_PATTERN]
    salt: Annotated[str, _HEX_PATTERN]
    key_signature: Annotated[str, _HEX_PATTERN]
    expires_at: Annotated[int, msgspec.Meta(ge=1, le=2**53)]


class _PatternChallenge(msgspec.Struct):
    parameters: _PatternParameters
    signature: Annotated[str, _HEX_PATTERN]


class _PatternSolution(msgspec.Struct, rename="camel"):
    counter: int
    derived_key: Annotated[str, _KEY_PATTERN]


class _PatternPayload(msgspec.Struct):
    challenge: _PatternChallenge
    solution: _PatternSolution


def _patterns_accept(answer: bytes) -> bool:
    try:
        msgspec.json.decode(answer, type=_PatternPayload)
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return False
    return True


# Near misses of lowercase hex: capitals, other letters, whitespace and a final newline (which ``$``
# would pass and ``\Z`` does not), NUL, non-ASCII digits and letters (Arabic-Indic three, fullwidth
# f, a Latin-1 byte's character), characters needing an escape, a lone surrogate, the empty text.
NEAR_HEX = st.text(
    st.sampled_from('0123456789abcdefABCDEFgz \t\n\r\x00\x85\xa0é\u0663\uff46\u2028\ud800"\\'), max_size=6
)
WHOLE_BYTES = st.from_regex(r"(?:[0-9a-f]{2}){1,32}", fullmatch=True)
TEXTS = ("keyPrefix", "nonce", "salt", "keySignature", "signature", "derivedKey")
MOSTLY_HEX = {name: HEX | HEX | HEX | NEAR_HEX | HEX.map(lambda h: h + "\n") for name in TEXTS}


def _with_texts(texts: dict[str, str], ensure_ascii: bool = True) -> bytes:
    """An answer of our shape but for its six texts."""
    parameters = {"algorithm": "SHA-256", "cost": 1, "keyLength": 32, "expiresAt": 1_900_000_000}
    parameters |= {name: texts[name] for name in TEXTS[:4]}
    document = {"challenge": {"parameters": parameters, "signature": texts["signature"]},
                "solution": {"counter": 1, "derivedKey": texts["derivedKey"]}}  # fmt: skip
    return json.dumps(document, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


@hypothesis_settings(max_examples=1500, deadline=None)
@given(st.fixed_dictionaries(MOSTLY_HEX | {"derivedKey": WHOLE_BYTES | MOSTLY_HEX["derivedKey"]}), st.booleans())
def test_the_shortcut_accepts_exactly_what_the_hex_patterns_accept(texts: dict[str, str], ascii_: bool) -> None:
    """The six texts of our shape checked in C (non-empty, pure ASCII, nothing but lowercase hex
    digits, the derived key of whole bytes) take exactly the answers the regular expressions took."""
    answer = _with_texts(texts, ascii_)
    assert (our_payload(answer) is not None) == _patterns_accept(answer)


@pytest.mark.parametrize(
    "change",
    [
        {"keyPrefix": ""}, {"nonce": "ab\n"}, {"salt": "\u0663"}, {"keySignature": "\uff46"}, {"nonce": "a b"},
        {"salt": "\x00"}, {"keyPrefix": "ab\u2028"}, {"nonce": "é"}, {"signature": ""}, {"signature": "AB"},
        {"derivedKey": "abc"}, {"derivedKey": ""}, {"derivedKey": "ab\n"}, {"derivedKey": "ab cd"},
    ],
)  # fmt: skip
def test_texts_that_are_not_lowercase_hex_are_not_our_shape(change: dict[str, str]) -> None:
    texts = {
        "keyPrefix": "ab",
        "nonce": "cd",
        "salt": "ef",
        "keySignature": "01",
        "signature": "ab",
        "derivedKey": "cd",
    }
    assert our_payload(_with_texts(texts)) is not None
    for ascii_ in (True, False):
        answer = _with_texts(texts | change, ascii_)
        assert our_payload(answer) is None
        assert not _patterns_accept(answer)


def _verdict(door: Door, payload: str, region: str) -> tuple[str, int] | str:
    try:
        return door.verify(payload, region)
    except ChallengeFailed:
        return "refused"


def _library_verdict(door: Door, payload: str, region: str) -> tuple[str, int] | str:
    try:
        parsed = altcha.Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError, RecursionError):
        return "refused"
    keys = door.secrets
    if not altcha.verify_solution(parsed, keys.challenge(region), hmac_key_secret=keys.key).verified:
        return "refused"
    return parsed.challenge.signature or "", int(parsed.challenge.parameters.expires_at or 0)


@pytest.fixture(scope="module")
def door() -> Door:
    return Door(Settings(), KeySet.generate())


def _issued(door: Door, region: str = "astana", **options: Any) -> dict[str, Any]:
    """A challenge the door issues (``options``: other ones the library signs with our secrets), solved."""
    keys = door.secrets
    options.setdefault("expires_at", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    challenge = altcha.create_challenge(
        ALGORITHM, cost=1, counter=3, hmac_secret=keys.challenge(region), hmac_key_secret=keys.key, **options
    )
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    document: dict[str, Any] = altcha.Payload(challenge, solution).to_dict()
    return document


def _encoded(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def _parameters(document: dict[str, Any]) -> dict[str, Any]:
    parameters: dict[str, Any] = document["challenge"]["parameters"]
    return parameters


MUTATIONS: list[tuple[str, Any]] = [
    ("as issued", lambda d: None),
    ("another derived key", lambda d: d["solution"].update(derivedKey="00" * 32)),
    ("a derived key in capitals", lambda d: d["solution"].update(derivedKey=d["solution"]["derivedKey"].upper())),
    ("an odd derived key", lambda d: d["solution"].update(derivedKey=d["solution"]["derivedKey"][:-1])),
    ("a derived key that is not hex", lambda d: d["solution"].update(derivedKey="zz" * 32)),
    ("no counter", lambda d: d["solution"].pop("counter")),
    ("an easier prefix", lambda d: d["challenge"]["parameters"].update(keyPrefix="00")),
    ("a later expiry", lambda d: _parameters(d).update(expiresAt=_parameters(d)["expiresAt"] + 1)),
    ("another key signature", lambda d: d["challenge"]["parameters"].update(keySignature="00" * 32)),
    ("no key signature", lambda d: d["challenge"]["parameters"].pop("keySignature")),
    ("a null key signature", lambda d: d["challenge"]["parameters"].update(keySignature=None)),
    ("no expiry", lambda d: d["challenge"]["parameters"].pop("expiresAt")),
    ("a data member", lambda d: d["challenge"]["parameters"].update(data={"region": "astana"})),
    ("no signature", lambda d: d["challenge"].pop("signature")),
    ("a signature in capitals", lambda d: d["challenge"].update(signature=d["challenge"]["signature"].upper())),
    ("another signature", lambda d: d["challenge"].update(signature="00" * 32)),
    ("members reordered", lambda d: d["challenge"].update(parameters=dict(reversed(_parameters(d).items())))),
]  # fmt: skip


@pytest.mark.parametrize(("label", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_the_door_gives_the_library_verdict(door: Door, label: str, mutate: Any) -> None:
    """Answers as issued, tampered, or signed by us off our shape: refused or accepted exactly when the
    library refuses or accepts them, for this region and for another one (its own secret)."""
    document = _issued(door)
    mutate(document)
    payload = _encoded(document)
    for region in ("astana", "abai"):
        assert _verdict(door, payload, region) == _library_verdict(door, payload, region), (label, region)
    if label == "as issued":
        assert _verdict(door, payload, "astana") != "refused"
        assert _verdict(door, payload, "abai") == "refused"


@pytest.mark.parametrize(
    "options",
    [
        {"data": {"region": "astana", "note": "é\u2028\ud800"}},
        {"expires_at": int(time.time()) - 5},
        {"expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=1)},
        {"key_length": 16},
        {"memory_cost": 8},
    ],
)
def test_challenges_we_sign_in_another_shape_get_the_library_verdict(door: Door, options: dict[str, Any]) -> None:
    payload = _encoded(_issued(door, **options))
    assert _verdict(door, payload, "astana") == _library_verdict(door, payload, "astana")


def test_an_expired_answer_of_our_shape_is_refused_as_expired(door: Door) -> None:
    payload = _encoded(_issued(door, expires_at=int(time.time()) - 1))
    assert our_payload(base64.b64decode(payload)) is not None
    with pytest.raises(ChallengeFailed, match="expired"):
        door.verify(payload, "astana")


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text() | st.binary().map(lambda b: base64.b64encode(b).decode()) | hostile_parameters().map(
    lambda p: base64.b64encode(_answer(p)).decode()))  # fmt: skip
def test_any_answer_gets_the_library_verdict(door: Door, payload: str) -> None:
    assert _verdict(door, payload, "astana") == _library_verdict(door, payload, "astana")


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    OUR_SHAPE,
    st.from_regex(r"(?:[0-9a-fA-F]{2}){1,40}", fullmatch=True),
    st.integers(-600, 600),
    st.sampled_from(["astana", "abai"]),
    st.booleans(),
)
def test_answers_we_signed_get_the_library_verdict(
    door: Door, parameters: dict[str, Any], derived: str, expires_in: int, region: str, key_signed: bool
) -> None:
    """Parameters of our shape (any hex, any small number), signed with astana's secret as the library
    signs them, their key signed or not: accepted, expired or refused as the library decides."""
    keys = door.secrets
    signed_key = hmac.digest(keys.key, bytes.fromhex(derived), "sha256").hex()
    parameters |= {"expiresAt": int(time.time()) + expires_in, "keySignature": signed_key if key_signed else "ab"}
    canonical = altcha_canonical_json(altcha.ChallengeParameters.from_dict(parameters).to_dict())
    signature = hmac.digest(keys.challenge("astana"), canonical.encode(), "sha256").hex()
    payload = _encoded({"challenge": {"parameters": parameters, "signature": signature},
                        "solution": {"counter": 7, "derivedKey": derived}})  # fmt: skip
    verdict = _verdict(door, payload, region)
    assert verdict == _library_verdict(door, payload, region)
    if region == "astana" and key_signed and expires_in > 1:
        assert verdict == (signature, parameters["expiresAt"])

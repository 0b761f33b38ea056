"""Flood defence on join (issue 12): a per-client rate limit, and an optional proof of work,
both checked by one middleware on the join route (``JoinDoorMiddleware``) in one Redis call.

**Rate limit**: configured with Litestar's ``RateLimitConfig`` and answered with its 429
``too_many_requests`` (RateLimit-* headers, and ``Retry-After`` added by ``problems``):
``KEZEK_JOIN_RATE_PER_MINUTE`` joins per client address per minute (0 = off), counted in Redis
and shared by every worker; a client behind ``KEZEK_TRUSTED_PROXIES`` is its last
``X-Forwarded-For`` entry.

**Proof of work** (a room's ``challenge`` setting, ``PATCH /v1/admin/rooms/{region}``): the
waiting page loads the ALTCHA widget (served from this origin, ``/static/altcha/``), which fetches
``GET /v1/rooms/{region}/challenge`` and searches, in Web Workers, the counter whose SHA-256
starts with the challenge's prefix; the widget puts its answer in the ``altcha`` cookie (or a
client sends it as ``X-Altcha``).  Join verifies it with the ``altcha`` library: signed by us
(HMAC), for this region, not expired, solved (the derived key's HMAC), and used once (a Redis
``SET NX`` until it expires).  Missing: 403 ``challenge_required``; forged, expired, another
region's or replayed: 403 ``challenge_failed``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar

import altcha
from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitConfig, RateLimitMiddleware
from litestar.params import FromPath
from litestar.types import Receive, Scope, Send

from admission.errors import Forbidden, Language
from admission.signing_keys import KeySet
from queue_service.settings import Settings

JOIN_HANDLER = "join"  # queue_service.controllers.rooms.RoomsController.join
CHALLENGE_COOKIE = "altcha"
CHALLENGE_HEADER = "x-altcha"
ALGORITHM = "SHA-256"


class ChallengeRequired(Forbidden):
    code = "challenge_required"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Тексеру әлі аяқталмады: бірнеше секунд күтіп, қайталаңыз.",
        "ru": "Проверка ещё не завершена: подождите несколько секунд и повторите.",
        "en": "The check has not finished yet: wait a few seconds and try again.",
    }


class ChallengeFailed(Forbidden):
    code = "challenge_failed"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Тексеру өтпеді: бетті жаңартып, қайталаңыз.",
        "ru": "Проверка не пройдена: обновите страницу и повторите.",
        "en": "The check failed: reload the page and try again.",
    }


def client_address(trusted_proxies: frozenset[str]) -> Callable[[Request[Any, Any, Any]], str]:
    """Who a request comes from: its peer, or (from one of our proxies) the client it forwards."""

    def address(request: Request[Any, Any, Any]) -> str:
        peer = request.client.host if request.client else "unknown"
        if peer in trusted_proxies:
            forwarded = request.headers.get("x-forwarded-for", "")
            return forwarded.rsplit(",", 1)[-1].strip() or peer
        return peer

    return address


# One Redis call per key of the door (each key alone, so the script runs on a Redis Cluster: the
# client's counter and a challenge's used-marker live in different slots).  KEYS[1]: the key;
# ARGV[1]: 'rate' (count a join in the window of ARGV[2] seconds) or 'used' (mark the challenge
# used until ARGV[2], unix seconds).  Returns {count, seconds left in the window, 1 if fresh}.
_DOOR = """
if ARGV[1] == 'rate' then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
  return {n, redis.call('TTL', KEYS[1]), 1}
end
if redis.call('SET', KEYS[1], 1, 'NX', 'EXAT', ARGV[2]) then return {0, 0, 1} end
return {0, 0, 0}
"""


class JoinDoorMiddleware(RateLimitMiddleware):
    """The join route's door: Litestar's rate limit (configured by ``RateLimitConfig``, answered with
    its 429 and RateLimit-* headers, Retry-After from ``problems``) and the room's proof of work,
    one Redis call each (one in all while the challenge is off); every other route passes straight through.

    Litestar's own middleware counts by reading the client's history and writing it back under a
    per-worker lock, on every route it wraps: measured (``scripts/bench door``) at 3.4 x the CPU of
    a join and +20 % on every other request.  Here: a fixed window counted by ``INCR`` in Redis,
    shared by every worker, no lock, and the used-challenge marker set in the same script.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if handler is None or handler.handler_name != JOIN_HANDLER:
            await self.app(scope, receive, send)
            return
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        counter = "kezek:rate:" + self.get_identifier_for_request(request) if self.max_requests > 0 else ""
        used, expires_at = await _solved_challenge(request)
        if not (counter or used):
            await self.app(scope, receive, send)
            return
        door = app.state.get("door_script")
        if door is None:  # redis-py's Script: EVALSHA, loading the script when Redis lacks it
            door = app.state["door_script"] = app.state["redis"].register_script(_DOOR)
        count, ttl, fresh = 0, 0, 1
        if counter:
            count, ttl, _ = await door(keys=[counter], args=["rate", DURATION_VALUES[self.unit]])
        if counter and count > self.max_requests:
            seen = CacheObject(history=[0] * (self.max_requests + 1), reset=int(time.time()) + max(int(ttl), 1))
            raise TooManyRequestsException(headers=self.create_response_headers(cache_object=seen))
        if used:
            _, _, fresh = await door(keys=[used], args=["used", expires_at])
        if not fresh:
            raise ChallengeFailed("this challenge was already used")
        await self.app(scope, receive, send)


def join_door(settings: Settings) -> DefineMiddleware:
    """The join route's door; ``KEZEK_JOIN_RATE_PER_MINUTE`` 0 counts nothing (the challenge stays)."""
    proxies = frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
    config = RateLimitConfig(
        rate_limit=("minute", max(settings.join_rate_per_minute, 0)),
        identifier_for_request=client_address(proxies),
        middleware_class=JoinDoorMiddleware,
    )
    return config.middleware


class ChallengeSecrets:
    """Two HMAC keys derived from Kezek's signing key: one signs challenges, one their answers."""

    def __init__(self, keyset: KeySet) -> None:
        self.challenge = hmac.new(keyset.raw_private, b"kezek altcha challenge", hashlib.sha256).hexdigest()
        self.key = hmac.new(keyset.raw_private, b"kezek altcha key", hashlib.sha256).hexdigest()


def _secrets(connection: ASGIConnection[Any, Any, Any, Any]) -> ChallengeSecrets:
    state = connection.app.state
    found: ChallengeSecrets | None = state.get("challenge_secrets")
    if found is None:
        found = state["challenge_secrets"] = ChallengeSecrets(state["keyset"])
    return found


@get(
    "/v1/rooms/{region:str}/challenge",
    tags=["waiting room"],
    summary="A proof-of-work challenge (ALTCHA v2, SHA-256) for joining a room whose `challenge` setting is on",
    cache=False,
)
async def new_challenge(request: Request[Any, Any, Any], region: FromPath[str]) -> dict[str, Any]:
    request.app.state["visitors"].check_region(region)
    settings: Settings = request.app.state["settings"]
    keys = _secrets(request)
    challenge = altcha.create_challenge(
        ALGORITHM,
        cost=1,
        counter=secrets.randbelow(settings.challenge_max_number) + 1,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.challenge_ttl_seconds),
        data={"region": region},
        hmac_secret=keys.challenge,
        hmac_key_secret=keys.key,
    )
    answer: dict[str, Any] = challenge.to_dict()
    # The widget keeps its answer in a cookie the waiting page's join request carries.
    answer["configuration"] = {"setCookie": {"name": CHALLENGE_COOKIE, "path": "/v1/rooms", "sameSite": "strict"}}
    return answer


async def _solved_challenge(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, int]:
    """When the room's ``challenge`` is on: the solved challenge of this region the join carries, as
    (its used-marker key, its expiry); ("", 0) when the room asks none.  Used once: the caller sets
    the marker."""
    region = connection.path_params["region"]
    visitors = connection.app.state["visitors"]
    if not (await visitors.snapshot(region)).settings.challenge:
        return "", 0
    payload = connection.headers.get(CHALLENGE_HEADER) or connection.cookies.get(CHALLENGE_COOKIE)
    if not payload:
        raise ChallengeRequired()
    keys = _secrets(connection)
    try:
        parsed = altcha.Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ChallengeFailed("not an ALTCHA payload") from exc
    result = altcha.verify_solution(parsed, keys.challenge, hmac_key_secret=keys.key)
    if not result.verified:
        raise ChallengeFailed("expired" if result.expired else (result.error or "not solved or not ours"))
    parameters = parsed.challenge.parameters
    if (parameters.data or {}).get("region") != region:
        raise ChallengeFailed("a challenge of another region")
    return f"kezek:altcha:used:{parsed.challenge.signature}", int(parameters.expires_at or 0)

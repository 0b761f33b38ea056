"""Flood defence on join (issue 12): a per-client rate limit, and an optional proof of work.

**Rate limit**: Litestar's own ``RateLimitMiddleware`` on a Redis store (shared by every worker),
for the join route only: ``KEZEK_JOIN_RATE_PER_MINUTE`` joins per client address per minute
(0 = off), then 429 ``too_many_requests`` with ``Retry-After`` until the window ends.

**Proof of work** (a room's ``challenge`` setting, ``PATCH /v1/admin/rooms/{region}``): the
waiting page loads the ALTCHA widget (served from this origin, ``/static/altcha/``), which fetches
``GET /v1/rooms/{region}/challenge`` and searches, in Web Workers, the counter whose iterated
SHA-256 starts with the challenge's prefix; the widget puts its answer in the ``altcha`` cookie
(or a client sends it as ``X-Altcha``).  Join verifies it with the ``altcha`` library: signed by
us (HMAC), for this region, not expired, solved (the derived key's HMAC), and used once (a Redis
``SET NX`` until it expires).  Missing: 403 ``challenge_required``; forged, expired, another
region's or replayed: 403 ``challenge_failed``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, ClassVar

import altcha
import redis.asyncio as aioredis
from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath
from litestar.stores.redis import RedisStore

from admission.errors import Forbidden, Language
from admission.keys import KeySet
from queue_service.settings import Settings

JOIN_HANDLER = "join"  # queue_service.controllers.rooms.RoomsController.join
RATE_STORE = "join_rate"
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


def _is_join(request: Request[Any, Any, Any]) -> bool:
    return request.scope["route_handler"].handler_name == JOIN_HANDLER


def client_address(trusted_proxies: frozenset[str]) -> Callable[[Request[Any, Any, Any]], str]:
    """Who a request comes from: its peer, or (from one of our proxies) the client it forwards."""

    def address(request: Request[Any, Any, Any]) -> str:
        peer = request.client.host if request.client else "unknown"
        if peer in trusted_proxies:
            forwarded = request.headers.get("x-forwarded-for", "")
            return forwarded.rsplit(",", 1)[-1].strip() or peer
        return peer

    return address


def join_rate_limit(settings: Settings) -> RateLimitConfig | None:
    """The join route's rate limit per client address, or None when switched off."""
    if settings.join_rate_per_minute <= 0:
        return None
    proxies = frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
    return RateLimitConfig(
        rate_limit=("minute", settings.join_rate_per_minute),
        store=RATE_STORE,
        check_throttle_handler=_is_join,
        identifier_for_request=client_address(proxies),
    )


def rate_store(settings: Settings) -> RedisStore:
    """The rate limit's counters, in the rooms' Redis (its own small connection pool)."""
    client = aioredis.Redis.from_url(settings.redis_url, max_connections=50, socket_timeout=5)
    return RedisStore(client, namespace="kezek:rate", handle_client_shutdown=True)


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


async def require_solved_challenge(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """App-wide guard, a no-op but for join: when the room's ``challenge`` is on, a solved, unused
    challenge of this region is required."""
    if handler.handler_name != JOIN_HANDLER:
        return
    region = connection.path_params["region"]
    visitors = connection.app.state["visitors"]
    if not (await visitors.snapshot(region)).settings.challenge:
        return
    payload = connection.headers.get(CHALLENGE_HEADER) or connection.cookies.get(CHALLENGE_COOKIE)
    if not payload:
        raise ChallengeRequired()
    keys = _secrets(connection)
    result = altcha.verify_solution(payload, keys.challenge, hmac_key_secret=keys.key)
    if not result.verified:
        raise ChallengeFailed("expired" if result.expired else (result.error or "not solved or not ours"))
    parsed = altcha.Payload.from_base64(payload)
    parameters = parsed.challenge.parameters
    if (parameters.data or {}).get("region") != region:
        raise ChallengeFailed("a challenge of another region")
    redis: aioredis.Redis = connection.app.state["redis"]
    expires_at = int(parameters.expires_at or 0)
    if not await redis.set(f"kezek:altcha:used:{parsed.challenge.signature}", 1, nx=True, exat=expires_at):
        raise ChallengeFailed("this challenge was already used")

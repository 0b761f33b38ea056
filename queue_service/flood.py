"""Flood defence on join (issue 12): a per-client rate limit, and an optional proof of work, both
checked inside the join's own Redis call (``admission/waiting_room/lua/join.lua``): the defence
costs no round trip of its own.

**Rate limit**: ``KEZEK_JOIN_RATE_PER_MINUTE`` joins per client address per minute in one room
(0 = off), counted in Redis by the join script and shared by every worker, then 429
``too_many_requests`` with ``Retry-After`` and RateLimit-* headers.  The counter is per room (its
key carries the room's hash tag, so the count and the join stay one script on one Redis Cluster
slot): a client joining two regions has an allowance in each.  A client behind
``KEZEK_TRUSTED_PROXIES`` is its last ``X-Forwarded-For`` entry (``Door.client``, the one place
that decides who a request comes from).

**Proof of work** (a room's ``challenge`` setting, ``PATCH /v1/admin/rooms/{region}``): the
waiting page loads the ALTCHA widget (served from this origin, ``/static/altcha/``), which fetches
``GET /v1/rooms/{region}/challenge`` and searches, in Web Workers, the counter whose SHA-256
starts with the challenge's prefix; the widget puts its answer in the ``altcha`` cookie (or a
client sends it as ``X-Altcha``).  Join verifies it here with the ``altcha`` library: signed by us
for this region (HMAC with the region's own secret), not expired, solved (the derived key's HMAC);
the join script then uses it once (a marker kept until the challenge expires).  Missing: 403
``challenge_required``; forged, expired, another region's or replayed: 403 ``challenge_failed``.

The library's verification re-serialises the challenge's parameters to check their HMAC, with a
pure-Python canonical JSON that is most of a join's cost of the challenge (21 of 28 µs).  An answer
to a challenge of ours carries parameters of one fixed shape (``OurParameters``: eight members,
lowercase hex and small integers), whose canonical JSON is one format string; such an answer is
verified here with the same checks in the same order (expiry, the parameters' signature, the
derived key's signature).  Anything else (another shape, a member the shape does not know, text
needing an escape, a big number) goes to the library, as every answer did before: the shortcut only
ever sees text the library would serialise as it is (its hex texts checked by C loops, not regular
expressions: ``our_payload``).  ``tests/waiting_room/test_flood.py`` proves both the bytes and the
verdicts equal to the library's over many generated answers, hostile ones too, and the shape's
acceptance equal to the regular expressions it replaced.  A join's whole verification takes about
6 µs in process (README, "The door").
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from typing import Annotated, Any, Literal

import altcha
import msgspec
from litestar import Request, get
from litestar._parsers import parse_cookie_string  # what request.cookies uses: both paths read the same cookie
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromPath
from litestar.types import Scope

from admission.signing_keys import KeySet
from admission.waiting_room.errors import ChallengeFailed, ChallengeRequired, TooManyJoins
from admission.waiting_room.room import NO_DOOR, JoinDoor
from admission.waiting_room.visitors import Visitors
from queue_service.settings import Settings

CHALLENGE_COOKIE = "altcha"
CHALLENGE_HEADER = b"x-altcha"
FORWARDED_FOR = b"x-forwarded-for"
ALGORITHM = "SHA-256"
RATE_WINDOW_SECONDS = 60


class ChallengeSecrets:
    """HMAC keys derived from Kezek's signing key, each once per worker: one per region signs that
    region's challenges (so a challenge is bound to its region by its signature alone, with no data
    member the library would serialise again on every verification), one signs the answers' keys.
    Kept as bytes (the hex text of the HMAC), which the library uses as they are."""

    def __init__(self, keyset: KeySet) -> None:
        self._raw = keyset.raw_private
        self.key = hmac.new(self._raw, b"kezek altcha key", hashlib.sha256).hexdigest().encode()
        self._challenge: dict[str, bytes] = {}
        self._signers: dict[str, hmac.HMAC] = {}
        self._key_signer = hmac.new(self.key, digestmod=hashlib.sha256)

    def signed(self, region: str, data: bytes) -> str:
        """HMAC-SHA-256 (hex) of ``data`` with ``region``'s challenge secret, from a keyed copy made once."""
        signer = self._signers.get(region)
        if signer is None:
            signer = self._signers[region] = hmac.new(self.challenge(region), digestmod=hashlib.sha256)
        mac = signer.copy()
        mac.update(data)
        return mac.hexdigest()

    def key_signed(self, derived_key: bytes) -> str:
        """HMAC-SHA-256 (hex) of an answer's derived key with the key secret."""
        mac = self._key_signer.copy()
        mac.update(derived_key)
        return mac.hexdigest()

    def challenge(self, region: str) -> bytes:
        """The secret that signs ``region``'s challenges (only real regions reach here: a bounded cache)."""
        found = self._challenge.get(region)
        if found is None:
            label = b"kezek altcha challenge " + region.encode()
            found = self._challenge[region] = hmac.new(self._raw, label, hashlib.sha256).hexdigest().encode()
        return found


_SMALL = msgspec.Meta(ge=1, le=2**53)  # JSON.stringify writes these as Python's int repr
_LOWER_HEX = b"0123456789abcdef"


class OurParameters(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel", gc=False):
    """A challenge's parameters in the one shape ``Door.new_challenge`` issues: text the canonical JSON
    writes as it is (non-empty lowercase hex, the algorithm's name; ``our_payload`` checks the hex) and
    integers it writes as Python does; any other member (``data``, ``memoryCost``, an explicit null…)
    is not this shape."""

    algorithm: Literal["SHA-256"]
    cost: Annotated[int, _SMALL]
    key_length: Annotated[int, _SMALL]
    key_prefix: str
    nonce: str
    salt: str
    key_signature: str
    expires_at: Annotated[int, _SMALL]

    def canonical(self) -> bytes:
        """altcha's ``_canonical_json(parameters.to_dict())`` (keys sorted, no spaces), as UTF-8."""
        return (
            f'{{"algorithm":"{self.algorithm}","cost":{self.cost},"expiresAt":{self.expires_at},'
            f'"keyLength":{self.key_length},"keyPrefix":"{self.key_prefix}","keySignature":"{self.key_signature}",'
            f'"nonce":"{self.nonce}","salt":"{self.salt}"}}'
        ).encode()


class _OurChallenge(msgspec.Struct, frozen=True, gc=False):
    parameters: OurParameters
    signature: str


class _OurSolution(msgspec.Struct, frozen=True, rename="camel", gc=False):
    counter: int  # the library requires it; the key's signature, not the counter, proves the work
    derived_key: str


class _OurPayload(msgspec.Struct, frozen=True, gc=False):
    challenge: _OurChallenge
    solution: _OurSolution


_OUR_PAYLOAD = msgspec.json.Decoder(_OurPayload)


def our_payload(decoded: bytes) -> _OurPayload | None:
    """The answer, if it is to a challenge of our shape (its base64 decoded); None: the library's to judge.

    Our shape's six texts (the four hex parameters, the signature, the derived key) are each non-empty
    lowercase hex, and the derived key whole bytes: what the patterns ``^[0-9a-f]+\\Z`` and
    ``^(?:[0-9a-f]{2})+\\Z`` accept, checked by C loops over the six joined (pure ASCII, then no byte
    left once the sixteen hex digits are deleted) instead of six regular-expression searches (2.5 µs
    of the 3 µs decoding took with them).  ``tests/waiting_room/test_flood.py`` proves the same
    acceptance as the patterns."""
    try:
        ours = _OUR_PAYLOAD.decode(decoded)
    except (msgspec.MsgspecError, UnicodeDecodeError):  # msgspec's own for text that is not UTF-8
        return None
    parameters, signature, key = ours.challenge.parameters, ours.challenge.signature, ours.solution.derived_key
    texts = (parameters.key_prefix, parameters.nonce, parameters.salt, parameters.key_signature, signature, key)
    joined = "".join(texts)
    if not all(texts) or len(key) % 2 or not joined.isascii() or joined.encode().translate(None, _LOWER_HEX):
        return None
    return ours


class Door:
    """The join route's door, one per app: what each join asks of the join script (``JoinDoor``).

    Built once from the settings, so a join pays for no configuration, secret or object of its own.
    """

    def __init__(self, settings: Settings, keyset: KeySet) -> None:
        self.proxies = frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
        self.per_window = max(settings.join_rate_per_minute, 0)
        self.secrets = ChallengeSecrets(keyset)
        self.challenge_max_number = settings.challenge_max_number
        self.challenge_ttl = dt.timedelta(seconds=settings.challenge_ttl_seconds)

    def client(self, scope: Scope) -> str:
        """Who a request comes from: its peer, or (from one of our proxies) the client it forwards."""
        address = scope.get("client")
        peer = address[0] if address else "unknown"
        if peer in self.proxies:
            forwarded = _header(scope, FORWARDED_FOR) or ""
            return forwarded.rsplit(",", 1)[-1].strip() or peer
        return peer

    async def check(self, scope: Scope, region: str, visitors: Visitors) -> JoinDoor:
        """The client to count and the verified challenge to use once (403 when the room asks one
        and the join carries no valid answer); both are applied by the join script.  Reads the
        request's ASGI scope: the join's fast path (``queue_service/fast_poll.py``) and its
        Litestar handler ask the same door."""
        challenge, expires = "", 0
        if (await visitors.snapshot(region)).settings.challenge:
            challenge, expires = self._solved(scope, region)
        if not (challenge or self.per_window):
            return NO_DOOR
        return JoinDoor(
            client=self.client(scope) if self.per_window else "",
            per_window=self.per_window,
            window_seconds=RATE_WINDOW_SECONDS,
            challenge=challenge,
            challenge_expires=expires,
        )

    def _solved(self, scope: Scope, region: str) -> tuple[str, int]:
        """The id (its signature) and expiry of the solved challenge of ``region`` the join carries."""
        payload = _header(scope, CHALLENGE_HEADER) or _cookie(scope, CHALLENGE_COOKIE)
        if not payload:
            raise ChallengeRequired()
        return self.verify(payload, region)

    def verify(self, payload: str, region: str) -> tuple[str, int]:
        """``_solved`` for an answer as sent (base64): our shape here, any other by the library."""
        try:
            # what base64.b64decode(payload) calls (the library's decoding, not validating), without its wrapper
            decoded = binascii.a2b_base64(payload)
        except (binascii.Error, ValueError) as exc:
            raise ChallengeFailed("not an ALTCHA payload") from exc
        ours = our_payload(decoded)
        if ours is None:
            return self._verified_by_library(decoded, region)
        parameters, keys = ours.challenge.parameters, self.secrets
        # altcha.verify_solution's checks, in its order, for parameters whose canonical JSON is known
        if parameters.expires_at < time.time():
            raise ChallengeFailed("expired")
        if not hmac.compare_digest(keys.signed(region, parameters.canonical()), ours.challenge.signature):
            raise ChallengeFailed("not ours for this region")
        if not hmac.compare_digest(keys.key_signed(bytes.fromhex(ours.solution.derived_key)), parameters.key_signature):
            raise ChallengeFailed("not solved")
        return ours.challenge.signature, parameters.expires_at

    def _verified_by_library(self, decoded: bytes, region: str) -> tuple[str, int]:
        try:
            parsed = altcha.Payload.from_dict(json.loads(decoded.decode()))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ChallengeFailed("not an ALTCHA payload") from exc
        keys = self.secrets
        result = altcha.verify_solution(parsed, keys.challenge(region), hmac_key_secret=keys.key)
        if not result.verified:
            raise ChallengeFailed(
                "expired" if result.expired else (result.error or "not solved, or not ours for this region")
            )
        return parsed.challenge.signature or "", int(parsed.challenge.parameters.expires_at or 0)

    def too_many(self, refused: TooManyJoins) -> TooManyRequestsException:
        """The 429 for a client over its allowance, with the RateLimit-* headers (IETF draft) Litestar's
        rate limit sends; ``problems`` adds ``Retry-After`` from ``RateLimit-Reset``."""
        reset = str(max(int(refused.extra.get("retry_after", 1)), 1))
        return TooManyRequestsException(
            headers={
                "RateLimit-Policy": f"{self.per_window}; w={RATE_WINDOW_SECONDS}",
                "RateLimit-Limit": str(self.per_window),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": reset,
            }
        )

    def new_challenge(self, region: str) -> dict[str, Any]:
        challenge = altcha.create_challenge(
            ALGORITHM,
            cost=1,
            counter=secrets.randbelow(self.challenge_max_number) + 1,
            expires_at=dt.datetime.now(dt.UTC) + self.challenge_ttl,
            hmac_secret=self.secrets.challenge(region),
            hmac_key_secret=self.secrets.key,
        )
        answer: dict[str, Any] = challenge.to_dict()
        # The widget keeps its answer in a cookie the waiting page's join request carries.
        answer["configuration"] = {"setCookie": {"name": CHALLENGE_COOKIE, "path": "/v1/rooms", "sameSite": "strict"}}
        return answer


def _header(scope: Scope, name: bytes) -> str | None:
    """The first ``name`` header's value (``name`` in lower case), as ``request.headers.get`` gives it,
    read from the ASGI scope: for one header a join asks, ``request.headers`` would build a
    case-insensitive multidict of them all (a few µs per join)."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    """The ``name`` cookie, parsed as ``request.cookies`` parses it (Litestar's own parser, first
    ``Cookie`` header)."""
    header = _header(scope, b"cookie")
    return parse_cookie_string(header).get(name) if header else None


def door_of(request: Request[Any, Any, Any]) -> Door:
    door: Door = request.app.state["door"]
    return door


@get(
    "/v1/rooms/{region:str}/challenge",
    tags=["waiting room"],
    summary="A proof-of-work challenge (ALTCHA v2, SHA-256) for joining a room whose `challenge` setting is on",
    cache=False,
)
async def new_challenge(request: Request[Any, Any, Any], region: FromPath[str]) -> dict[str, Any]:
    request.app.state["visitors"].check_region(region)
    return door_of(request).new_challenge(region)

"""The contingent store over HTTP: what the real ҰБДҚ integration sends.

Each event is POSTed as JSON (the event's tagged-union form, plus its id) to
``<base_url>/events`` with the outbox event id as the ``Idempotency-Key``
header, so the receiver applies a repeated delivery once.  Transient failures
(connection errors, timeouts, 408/425/429/5xx) are retried a few times with
jittered exponential backoff (tenacity) within one delivery; what still fails
raises :class:`ContingentStoreError` and the publisher retries it in a later
round, the child's later events waiting behind it.  Every request is bounded
by timeouts, so a hung receiver costs a delivery slot for at most
``timeout_seconds`` per attempt -- and never holds a database transaction: the
publisher calls the store outside any.
"""

from __future__ import annotations

import httpx
import msgspec
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from admission.contingent.events import ContingentEvent, kind
from admission.contingent.store import ContingentStoreError

RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Retryable(ContingentStoreError):
    """A failure worth another attempt now (the receiver or the network was briefly unwell)."""


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """The body the receiver gets."""

    event_id: int
    kind: str
    event: ContingentEvent


_ENCODER = msgspec.json.Encoder()


class HttpContingentStore:
    """A :class:`~admission.contingent.store.ContingentStore` speaking HTTP to the register."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        timeout_seconds: float = 5.0,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._attempts = attempts
        self._backoff = backoff_seconds

    async def apply(self, event_id: int, event: ContingentEvent) -> None:
        body = _ENCODER.encode(Delivery(event_id=event_id, kind=kind(event), event=event))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_random_exponential(multiplier=self._backoff, max=self._backoff * 10),
            retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._post(event_id, body)

    async def _post(self, event_id: int, body: bytes) -> None:
        try:
            response = await self._client.post(
                "/events",
                content=body,
                headers={"Idempotency-Key": str(event_id), "Content-Type": "application/json"},
            )
        except httpx.TransportError as exc:  # connection refused or reset, timeouts
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        detail = f"the register answered {response.status_code}: {response.text[:200]}"
        if response.status_code in RETRIED_STATUSES:
            raise _Retryable(detail)
        raise ContingentStoreError(detail)

    async def aclose(self) -> None:
        await self._client.aclose()

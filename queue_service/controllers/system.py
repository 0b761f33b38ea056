"""Liveness, readiness and the public signing keys."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from queue_service.resources import DbDep, KeysDep, RedisDep

READY_TIMEOUT = 2.0


@get("/health", tags=["system"], summary="The process is alive", cache=False)
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT)
    except (OSError, TimeoutError, ConnectionError) as exc:
        return name, f"down: {type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure of a dependency, it never raises
        return name, f"down: {type(exc).__name__}: {exc}"
    return name, "ok"


@get(
    "/ready",
    tags=["system"],
    summary="Redis and PostgreSQL answer",
    cache=False,
    responses={503: ResponseSpec(dict[str, Any], description="Redis or PostgreSQL does not answer")},
)
async def ready(redis: RedisDep, db: DbDep) -> Response[dict[str, Any]]:
    checks = dict(await asyncio.gather(_check("redis", redis.ping()), _check("postgres", db.fetchval("SELECT 1"))))
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE,
    )


@get("/.well-known/jwks.json", tags=["system"], summary="Public keys that verify Kezek's tokens")
async def jwks(keyset: KeysDep) -> dict[str, Any]:
    return keyset.jwks()

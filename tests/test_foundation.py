"""The foundation: health, readiness, reference data, JWKS, settings."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from queue_service.settings import Settings


async def test_health_answers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_redis_and_postgres_answer(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"redis": "ok", "postgres": "ok"}


async def test_not_ready_when_redis_is_down(settings: Settings, keys: object) -> None:
    from admission.signing_keys import KeySet
    from devservices import free_port
    from queue_service.app import create_app

    assert isinstance(keys, KeySet)
    broken = Settings(**{**_fields(settings), "redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with AsyncTestClient(app=create_app(broken, keys=keys)) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["postgres"] == "ok"
    assert body["checks"]["redis"].startswith("down")


def _fields(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


async def test_all_twenty_regions_with_annex2_windows_in_utc_plus_5(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/regions")
    assert response.status_code == 200
    regions = {r["slug"]: r for r in response.json()}
    assert len(regions) == 20
    astana = regions["astana"]
    assert dt.datetime.fromisoformat(astana["window_opens_at"]) == dt.datetime(
        2026, 5, 27, tzinfo=dt.timezone(dt.timedelta(hours=5))
    )
    assert dt.datetime.fromisoformat(astana["window_closes_at"]) == dt.datetime(
        2026, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))
    )
    opening_days = {slug: dt.datetime.fromisoformat(r["window_opens_at"]).astimezone(
        dt.timezone(dt.timedelta(hours=5))).date().isoformat() for slug, r in regions.items()}  # fmt: skip
    assert opening_days["almaty-city"] == "2026-06-10"
    assert opening_days["shymkent"] == "2026-06-18"
    assert opening_days["ulytau"] == "2026-06-29"
    assert not any(r["window_is_demo"] for r in regions.values())


async def test_unknown_region_is_a_localised_problem(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/regions/atlantis", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "unknown_region"
    assert body["title"] == "Такого региона нет: atlantis."


async def test_jwks_publishes_the_signing_key(client: AsyncTestClient[Litestar], keys: object) -> None:
    from admission.signing_keys import KeySet

    assert isinstance(keys, KeySet)
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kid"] == keys.kid
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert "d" not in key  # never the private half


async def test_metrics_are_prometheus_text(client: AsyncTestClient[Litestar]) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "kezek_requests_total" in response.text


async def test_large_answers_are_gzipped_and_small_ones_sent_as_they_are(client: AsyncTestClient[Litestar]) -> None:
    gzip = {"Accept-Encoding": "gzip"}
    plain = await client.get("/v1/regions/astana/schools", headers={"Accept-Encoding": "identity"})
    packed = await client.get("/v1/regions/astana/schools", headers=gzip)
    assert len(plain.content) >= 2048  # the schools list is over the compression threshold
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["vary"]
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.json() == plain.json()  # the client inflates it back to the same list
    small = await client.get("/health", headers=gzip)
    assert "content-encoding" not in small.headers
    assert small.headers["content-length"] == str(len(small.content))
    assert small.json() == {"status": "ok"}


async def test_openapi_schema_lists_the_routes(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/v1/regions" in paths
    assert "/ready" in paths


def test_settings_come_from_kezek_environment_variables() -> None:
    settings = Settings.from_env({"KEZEK_PORT": "9001", "KEZEK_DEMO": "true", "KEZEK_WORKERS": "4"})
    assert (settings.port, settings.demo, settings.workers) == (9001, True, 4)


def test_a_malformed_setting_fails_loudly() -> None:
    with pytest.raises(SystemExit, match="port"):
        Settings.from_env({"KEZEK_PORT": "eighty"})


async def test_openapi_declares_which_bearer_credential_each_protected_route_takes(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = (await client.get("/docs/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert {"admin", "ticket", "access", "withdraw", "transfer"} <= set(schemes)
    assert all(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/admin"):
                assert operation.get("security") == [{"admin": []}], f"{method} {path}"
    assert schema["paths"]["/v1/applications"]["post"]["security"] == [{"access": []}]
    assert schema["paths"]["/v1/rooms/{region}/visitors/me"]["get"]["security"] == [{"ticket": []}]
    assert "security" not in schema["paths"]["/v1/regions"]["get"]

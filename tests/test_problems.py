"""Garbage in gives a problem+json 4xx on every endpoint, never a 500."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.errors import KezekError
from queue_service.i18n import negotiate
from queue_service.problems import STATUS_BY_ERROR

GARBAGE_BODIES: list[tuple[str, bytes, str]] = [
    ("not json", b"{this is not json", "application/json"),
    (
        "wrong types",
        b'{"applicant_iin": 12, "school": [], "consent": "maybe", "max_active": "many"}',
        "application/json",
    ),
    ("unknown fields", b'{"definitely_not_a_field": true}', "application/json"),
    ("a bare list", b"[1, 2, 3]", "application/json"),
    ("binary", bytes(range(256)), "application/octet-stream"),
    ("empty", b"", "application/json"),
]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _endpoints(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            if route.path.startswith("/docs"):
                continue
            found.append((method, _concrete(route.path)))
    return found


async def test_every_endpoint_answers_garbage_with_a_problem(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    endpoints = _endpoints(app)
    assert len(endpoints) >= 5
    for method, path in endpoints:
        for label, body, content_type in GARBAGE_BODIES:
            response = await client.request(
                method,
                path,
                content=body if method in {"POST", "PUT", "PATCH", "DELETE"} else None,
                headers={"Content-Type": content_type, "Authorization": "Bearer garbage.garbage.garbage"},
                params={"lang": "x" * 5, "limit": "-1"},
            )
            where = f"{method} {path} with {label}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400 and not path.startswith("/admin"):  # the console answers with pages
                assert response.headers["content-type"].startswith("application/problem+json"), where
                problem = response.json()
                assert problem["status"] == response.status_code, where
                assert problem["code"], where
                assert problem["title"], where


async def test_an_oversized_body_is_refused_with_413(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/v1/regions", content=b"{" + b" " * (1024 * 1024) + b"}",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code in {405, 413}
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_unknown_route_is_a_problem(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/nothing-here", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["title"] == "Not found."


def test_every_domain_error_maps_to_a_4xx_or_503() -> None:
    for error in STATUS_BY_ERROR:
        assert issubclass(error, KezekError)
    assert set(STATUS_BY_ERROR.values()) <= {401, 403, 404, 409, 422, 429, 503}


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        (None, None, "kk"),
        ("ru-RU,ru;q=0.9,en;q=0.8", None, "ru"),
        ("en;q=0.3,kk;q=0.9", None, "kk"),
        ("de,fr", None, "kk"),
        ("ru", "en", "en"),
        ("en", "kz", "kk"),
        ("ru;q=0", None, "kk"),
    ],
)
def test_language_follows_lang_then_accept_language_then_kazakh(
    header: str | None, explicit: str | None, expected: str
) -> None:
    assert negotiate(header, explicit) == expected

"""Garbage in gives a problem+json 4xx on every endpoint, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.errors import KezekError
from admission.signing_keys import KeySet, mint_admin_token
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


INT64_PLUS_1 = str(2**63)
HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("invalid UTF-8", b'{"applicant_iin": "\xff\xfe\xfd", "reference": "\xc3\x28"}'),
    ("1,000-deep array", b"[" * 1000 + b"]" * 1000),
    ("1,000-deep object", b'{"a":' * 1000 + b"1" + b"}" * 1000),
]


def _operations(app: Litestar) -> list[tuple[str, str, dict[str, Any]]]:
    schema = app.openapi_schema.to_schema()
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if not path.startswith("/docs")
    ]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _hostile_value(schema: dict[str, Any], node: dict[str, Any], number: int, depth: int = 0) -> Any:
    """A value of ``node``'s shape with a NUL in every string and ``number`` in every integer, nested
    objects and lists included."""
    node = _resolve(schema, node)
    for choice in node.get("oneOf", node.get("anyOf", [])):
        option = _resolve(schema, choice)
        if option.get("type") not in (None, "null"):
            return _hostile_value(schema, option, number, depth + 1)
    kind = node.get("type")
    if kind == "integer":
        return number
    if kind == "object" and depth < 6:
        fields = node.get("properties", {})
        return {name: _hostile_value(schema, prop, number, depth + 1) for name, prop in fields.items()}
    if kind == "array" and depth < 6:
        return [_hostile_value(schema, node.get("items", {}), number, depth + 1)]
    return "a\x00b"


def _hostile_body(schema: dict[str, Any], operation: dict[str, Any], number: int) -> bytes | None:
    """The operation's body with a NUL in every string field and ``number`` in every integer field."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return json.dumps(_hostile_value(schema, content["application/json"]["schema"], number)).encode()


def _assert_problem(response: Any, where: str, operation: dict[str, Any] | None = None) -> None:
    """A 4xx problem; with ``operation``, one its OpenAPI entry declares, as problem+json (issue 12.4)."""
    assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), where
    assert response.json()["status"] == response.status_code, where
    if operation is not None:
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, f"{where}: {response.status_code} is not in the schema"
        assert "application/problem+json" in declared["content"], f"{where}: {response.status_code} not a problem"


async def test_nul_invalid_utf8_deep_json_and_int64_overflow_get_a_4xx_problem_everywhere(
    app: Litestar, client: AsyncTestClient[Litestar], keys: KeySet
) -> None:
    """As a fuzzer found them (issue 12): each of these answered 500 somewhere."""
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'qa', 'ministry')}"}
    schema = app.openapi_schema.to_schema()
    operations = _operations(app)
    assert len(operations) >= 40
    for method, path, operation in operations:
        query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        ints = [
            p["name"] for p in operation.get("parameters", [])
            if p["in"] == "query" and "integer" in json.dumps(p["schema"])
        ]  # fmt: skip
        int_paths = [
            p["name"] for p in operation.get("parameters", [])
            if p["in"] == "path" and "integer" in json.dumps(p["schema"])
        ]  # fmt: skip
        with_body = method in {"POST", "PUT", "PATCH"}
        if "{" in path:  # a NUL in every path parameter
            response = await client.request(method, re.sub(r"\{[^}]+\}", "%00", path), headers=ministry)
            _assert_problem(response, f"{method} {path} with NUL in the path", operation)
        concrete = _concrete(path)
        for name in query:
            response = await client.request(method, concrete, params={name: "a\x00"}, headers=ministry)
            _assert_problem(response, f"{method} {path} with NUL in ?{name}", operation)
        for name in ints:  # every integer parameter is bounded (a page, a year, a bigint id): all three are out
            for value in (INT64_PLUS_1, "-" + INT64_PLUS_1, "-127"):
                response = await client.request(method, concrete, params={name: value}, headers=ministry)
                _assert_problem(response, f"{method} {path} ?{name}={value}", operation)
        for name in int_paths:  # int64 + 1 in an integer path parameter, the others as a client would send them
            for value in (INT64_PLUS_1, "-" + INT64_PLUS_1):
                at = re.sub(r"\{" + name + r"\}", value, path)
                response = await client.request(method, _concrete(at), headers=ministry)
                _assert_problem(response, f"{method} {path} with {name}={value}", operation)
        if not with_body:
            continue
        hostile = [*HOSTILE_BODIES]
        for number in (2**63, 2**31):  # beyond a bigint, beyond an integer column (``classes: 2147483648``)
            hostile_body = _hostile_body(schema, operation, number)
            if hostile_body is not None:
                hostile.append((f"NUL in every string, {number} in every integer", hostile_body))
        for label, body in hostile:
            response = await client.request(
                method, concrete, content=body, headers={**ministry, "Content-Type": "application/json"}
            )
            _assert_problem(response, f"{method} {path} with {label}", operation)


async def test_the_consoles_pages_answer_nul_and_int64_overflow_with_a_4xx(
    app: Litestar, client: AsyncTestClient[Litestar], keys: KeySet
) -> None:
    """The console's pages (not in the schema) too: a NUL in every path parameter and query, and the
    audit page's cursor beyond int64, are refused before a handler or a query runs."""
    form = await client.get("/admin/sign-in")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    token = mint_admin_token(keys, "qa", "ministry")
    signed = await client.post("/admin/sign-in", data={"token": token, "_csrf_token": csrf.group(1)})
    assert signed.status_code == 200, signed.text  # the redirect, followed: the rooms page
    pages = [path for method, path in _endpoints(app) if method == "GET" and path.startswith("/admin")]
    assert len(pages) >= 6
    for path in pages:
        response = await client.get(path, params={"lang": "en", "region": "a\x00"})
        assert 400 <= response.status_code < 500, f"{path} with NUL in the query: {response.status_code}"
    for route in app.routes:
        if route.path.startswith("/admin") and "{" in route.path and "GET" in getattr(route, "methods", set()):
            response = await client.get(re.sub(r"\{[^}]+\}", "%00", route.path))
            assert 400 <= response.status_code < 500, f"{route.path} with NUL in the path: {response.status_code}"
    for value in (INT64_PLUS_1, "-" + INT64_PLUS_1, "-1"):
        response = await client.get("/admin/audit", params={"before": value})
        assert response.status_code == 400, f"/admin/audit?before={value}: {response.status_code}"


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


UNKNOWN_BIN = "990000000099"


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/admin/schools/{UNKNOWN_BIN}/applications",
        f"/v1/admin/schools/{UNKNOWN_BIN}/transfers",
        f"/v1/admin/census/schools/{UNKNOWN_BIN}/report",
        f"/v1/admin/schools/{UNKNOWN_BIN}/prevention/counts",
        f"/v1/schools/{UNKNOWN_BIN}/signing-key",
    ],
)
async def test_an_unknown_school_is_the_same_problem_in_every_part(
    client: AsyncTestClient[Litestar], keys: KeySet, path: str
) -> None:
    """Applications, transfers, census and prevention answer a school that is not there alike."""
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'qa', 'ministry')}", "Accept-Language": "en"}
    response = await client.get(path, headers=ministry)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["code"], problem["title"]) == ("unknown_school", f"No such school: {UNKNOWN_BIN}.")


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

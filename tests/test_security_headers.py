"""Every answer Kezek gives carries the security headers (issue 12.6): no page may be framed, no
response sniffed, every one under a Content-Security-Policy -- pages, the console (signed in or
not), static files, redirects and every kind of error included."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.signing_keys import KeySet, mint_admin_token


def _concrete(path: str) -> str:
    path = re.sub(r"\{file_path:path\}", "nothing-here.js", path)
    path = re.sub(r"\{region:str\}", "astana", path)
    path = re.sub(r"\{school_bin:str\}", "150645269256", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def _check(response: httpx.Response, where: str, seen: list[str]) -> None:
    headers = response.headers
    assert headers.get_list("x-content-type-options") == ["nosniff"], where
    assert headers.get_list("x-frame-options") == ["DENY"], where
    [policy] = headers.get_list("content-security-policy")
    assert "frame-ancestors 'none'" in policy, where
    seen.append(f"{response.status_code} {where}")


async def test_every_answer_carries_nosniff_deny_and_a_csp(
    app: Litestar, client: AsyncTestClient[Litestar], keys: KeySet
) -> None:
    seen: list[str] = []
    gets = sorted({_concrete(route.path) for route in app.routes if "GET" in getattr(route, "methods", set())})
    assert len(gets) >= 40
    for path in gets:  # anonymous: pages, JSON, the console's redirect to its sign-in, 401s, 404s
        _check(await client.get(path, follow_redirects=False), f"GET {path}", seen)
    errors = [
        ("GET", "/v1/regions/%00", None),  # 400 before any handler
        ("GET", "/v1/nothing-here", None),  # 404
        ("DELETE", "/v1/regions", None),  # 405
        ("POST", "/v1/rooms/astana/visitors", b"{" + b" " * (1024 * 1024) + b"}"),  # 413
        ("POST", "/v1/rooms/astana/visitors", b"[" * 1000 + b"]" * 1000),  # 400 deep JSON
        ("POST", "/admin/sign-in", b"token=x"),  # the console's CSRF refusal
    ]
    for method, path, body in errors:
        response = await client.request(method, path, content=body, headers={"Content-Type": "application/json"})
        _check(response, f"{method} {path}", seen)
    # signed in to the console as a region officer: its pages, and another region's refused page
    form = await client.get("/admin/sign-in")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    officer = mint_admin_token(keys, "abai-officer", "region", region="abai")
    signed = await client.post("/admin/sign-in", data={"token": officer, "_csrf_token": csrf.group(1)})
    assert signed.status_code == 200
    for path in ("/admin/rooms", "/admin/rooms/abai", "/admin/audit", "/admin/rooms/astana"):
        _check(await client.get(path), f"GET {path} (signed in)", seen)
    statuses = {entry.split()[0] for entry in seen}
    assert {"200", "303", "400", "401", "403", "404", "405", "413"} <= statuses, sorted(seen)
